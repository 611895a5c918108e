//! Connection layer + command table: arbitrary bytes, fed in arbitrary chunks, through the
//! server's request decoder, dispatch and keyspace (an in-process `Session`, no network).
//! Never panics; the bytes held back for an incomplete request never exceed what was fed; the
//! keyspace's invariants hold afterwards, and every value the commands built survives DUMP
//! and RESTORE (`Session::check_dumps`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sabaody_server::{Config, Session};

fuzz_target!(|data: &[u8]| {
    let Some((&pattern, input)) = data.split_first() else {
        return;
    };
    // A memory bound with eviction, so legitimately large values (SETBIT at a 4-billion bit
    // offset is a 512 MB string) cannot exhaust the fuzzer's memory limit.
    let mut config = Config::default();
    let _ = config.set("maxmemory", &["256mb"]);
    let _ = config.set("maxmemory-policy", &["allkeys-random"]);
    let mut session = Session::new(config);
    let mut fed = 0usize;
    let mut rest = input;
    let mut i = 0usize;
    while !rest.is_empty() {
        // Chunk sizes from the first byte: 1..=16, varying per step.
        let n = (((pattern as usize).wrapping_mul(i + 7) % 16) + 1).min(rest.len());
        let _ = session.feed(&rest[..n]);
        fed += n;
        rest = &rest[n..];
        i += 1;
        assert!(session.pending_input() <= fed);
        if session.is_closed() {
            break;
        }
    }
    if let Err(e) = session.validate() {
        panic!("keyspace invariant broken: {e}");
    }
    if let Err(e) = session.check_dumps() {
        panic!("DUMP/RESTORE: {e}");
    }
});
