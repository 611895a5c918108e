//! RDB loader: any bytes are either loaded or refused with an `RdbError`, never a panic, and
//! the keyspace is consistent afterwards. The checksum is not verified (a fuzzer cannot
//! forge CRC64s); an input not starting with `REDIS` gets a version 10 header, so the
//! fuzzer spends its time on records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sabaody_core::rdb::{LoadOptions, check_rdb_with};
use sabaody_core::Cache;

fuzz_target!(|data: &[u8]| {
    let mut file;
    let bytes = if data.starts_with(b"REDIS") {
        data
    } else {
        file = b"REDIS0010".to_vec();
        file.extend_from_slice(data);
        &file[..]
    };
    let opts = LoadOptions { verify_checksum: false };
    let checked = check_rdb_with(bytes, &opts);
    let cache = Cache::builder()
        .databases(4)
        .shards(4)
        .housekeeping(false)
        .build();
    let loaded = cache.load_rdb_bytes(bytes, &opts);
    // The checker and the loader agree on validity (the loader also refuses databases past
    // its 4).
    if loaded.is_ok() {
        assert!(checked.is_ok(), "loaded but the checker refused: {checked:?}");
    }
    if let Err(e) = cache.validate() {
        panic!("keyspace inconsistent after a load: {e}");
    }
});
