//! AOF loading: arbitrary bytes as an append-only file, parsed and replayed through the
//! command executor into a fresh server state. Never panics (a damaged file is reported, not
//! crashed on), allocates nothing a header merely claims, and leaves the keyspace's
//! invariants intact.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = sabaody_server::fuzz_aof_load(data) {
        panic!("{e}");
    }
});
