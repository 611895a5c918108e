//! RDB loader: any bytes are either loaded or refused with an `RdbError`, never a panic, and
//! the keyspace is consistent afterwards. The checksum is not verified (a fuzzer cannot
//! forge CRC64s); an input not starting with `REDIS` gets a version 10 header, so the
//! fuzzer spends its time on records.
//!
//! What loaded also survives the writer: it saves to a file that passes the checker with its
//! checksum and loads back to the same keys, of the same types and TTLs, and lists, strings
//! and sorted sets (whose encodings do not depend on a hash table's order) DUMP to the same
//! bytes from both keyspaces (the writer's quicklist node fill and packed scores).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sabaody_core::rdb::{LoadOptions, SaveOptions, check_rdb_with, dump};
use sabaody_core::{Cache, KeyType, Keyspace, ManualClock};

/// A fixed clock (2026-01-01): expiry is the same in both keyspaces.
const NOW_MS: i64 = 1_767_225_600_000;

fn new_cache() -> Cache {
    Cache::builder()
        .databases(4)
        .shards(4)
        .housekeeping(false)
        .clock(ManualClock::new(NOW_MS))
        .build()
}

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
    let cache = new_cache();
    let loaded = cache.load_rdb_bytes(bytes, &opts);
    // The checker and the loader agree on validity (the loader also refuses databases past
    // its 4).
    if loaded.is_ok() {
        assert!(checked.is_ok(), "loaded but the checker refused: {checked:?}");
    }
    if let Err(e) = cache.validate() {
        panic!("keyspace inconsistent after a load: {e}");
    }
    if loaded.is_err() {
        return;
    }
    let mut saved = Vec::new();
    if let Err(e) = cache.save_rdb(&mut saved, SaveOptions::default()) {
        panic!("saving what was loaded failed: {e}");
    }
    let strict = LoadOptions { verify_checksum: true };
    if let Err(e) = check_rdb_with(&saved, &strict) {
        panic!("the checker refuses the saved file: {e}");
    }
    let again = new_cache();
    if let Err(e) = again.load_rdb_bytes(&saved, &strict) {
        panic!("the saved file does not load: {e}");
    }
    if let Err(e) = again.validate() {
        panic!("keyspace inconsistent after reloading: {e}");
    }
    assert_eq!(cache.keyspace_info(), again.keyspace_info());
    for db in 0..4 {
        let (Ok(a), Ok(b)) = (cache.db(db), again.db(db)) else {
            continue;
        };
        for key in a.keys("*") {
            let ty = a.key_type(&key);
            assert_eq!(ty, b.key_type(&key), "type of {key:?}");
            assert_eq!(a.pttl(&key), b.pttl(&key), "ttl of {key:?}");
            if matches!(ty, Some(KeyType::List | KeyType::String | KeyType::ZSet)) {
                assert_eq!(
                    dump(&a, &key, true),
                    dump(&b, &key, true),
                    "DUMP of {key:?}"
                );
            }
        }
    }
});
