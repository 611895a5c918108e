//! Round trips through the writer and the loader, and bad files.

use super::*;
use crate::prelude::*;
use crate::shard::View;
use crate::value::Value;
use crate::{BloomConfig, Cache, ExpireCondition, ManualClock, ZAddOptions};
use std::collections::BTreeMap;

const NOW: i64 = 1_700_000_000_000;

fn cache() -> Cache {
    Cache::builder()
        .databases(4)
        .shards(8)
        .clock(ManualClock::new(NOW))
        .housekeeping(false)
        .build()
}

/// Writes every key of `c` (all databases) as the snapshot does: one chunk per shard.
pub(crate) fn dump(c: &Cache, opts: &SaveOptions) -> Vec<u8> {
    let store = &c.store;
    let mut chunks = Vec::new();
    let mut sizes = vec![(0u64, 0u64); store.databases];
    for (gid, slot) in store.slots.iter().enumerate() {
        let db = gid / store.shards_per_db;
        let s = slot.shard.read();
        let mut bytes = Vec::new();
        for b in 0..s.num_buckets() {
            if let Some(r) = s.bucket(b) {
                let ttl = s.expire_at(&r);
                write_entry(&mut bytes, s.key(&r), s.view(&r), ttl, opts);
                sizes[db].0 += 1;
                sizes[db].1 += u64::from(ttl.is_some());
            }
        }
        if !bytes.is_empty() {
            chunks.push(Chunk { db, bytes });
        }
    }
    let mut out = Vec::new();
    let n = write_file(
        &mut out,
        opts,
        &[("extra", b"yes")],
        &sizes,
        chunks.into_iter(),
    )
    .unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

/// A Bloom filter's persisted fields: expansion, items, then per sub-filter (capacity,
/// error bits, items, hashes, bits, words).
type BloomParts = (u32, u64, Vec<(u64, u64, u64, u32, u64, Vec<u64>)>);

#[derive(Debug, PartialEq)]
enum Norm {
    Str(Vec<u8>),
    Value(Value),
    Bloom(BloomParts),
}

type Contents = BTreeMap<(usize, Vec<u8>), (Norm, Option<i64>, &'static str)>;

/// Every key of every database: value, expire time and `OBJECT ENCODING`.
fn contents(c: &Cache) -> Contents {
    let store = &c.store;
    let mut m = BTreeMap::new();
    for (gid, slot) in store.slots.iter().enumerate() {
        let db = gid / store.shards_per_db;
        let s = slot.shard.read();
        for b in 0..s.num_buckets() {
            if let Some(r) = s.bucket(b) {
                let (v, enc) = match s.view(&r) {
                    View::Inline(x) => (Norm::Str(x.to_vec()), "embstr"),
                    View::Int(i) => (Norm::Str(i.to_string().into_bytes()), "int"),
                    View::Value(Value::Str(x)) => (Norm::Str(x.to_vec()), "raw"),
                    View::Value(Value::Bloom(b)) => {
                        let (e, items, subs) = b.parts();
                        let subs = subs
                            .iter()
                            .map(|f| {
                                let (c, err, i, h, n, w) = f.parts();
                                (c, err.to_bits(), i, h, n, w.to_vec())
                            })
                            .collect();
                        (Norm::Bloom((e, items, subs)), "bloom")
                    }
                    View::Value(v) => (Norm::Value(v.clone()), v.encoding()),
                };
                m.insert((db, s.key(&r).to_vec()), (v, s.expire_at(&r), enc));
            }
        }
    }
    m
}

fn reload(c: &Cache, opts: &SaveOptions) -> (Cache, LoadStats) {
    let bytes = dump(c, opts);
    let fresh = cache();
    let stats = fresh
        .load_rdb(&mut &bytes[..])
        .unwrap_or_else(|e| panic!("{e}"));
    (fresh, stats)
}

#[test]
fn strings_round_trip() {
    let c = cache();
    c.set("small", "v").unwrap();
    c.set("", "empty key").unwrap();
    c.set("empty", "").unwrap();
    c.set("int", "12345").unwrap();
    c.set("neg", "-7").unwrap();
    c.set("big-int", i64::MAX.to_string()).unwrap();
    c.set("min-int", i64::MIN.to_string()).unwrap();
    c.set("not-int", "007").unwrap();
    c.set("long", "abcdefghij".repeat(100)).unwrap();
    c.set(b"bin\0\r\n\xff".as_slice(), b"\0\x01\x02".as_slice())
        .unwrap();
    c.set("12", "key that is an integer").unwrap();
    c.set("x".repeat(300), "long key").unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    let noise: Vec<u8> = (0..3000).map(|_| rng.u8(..)).collect();
    c.set("noise", &noise).unwrap();
    for compression in [true, false] {
        for checksum in [true, false] {
            let opts = SaveOptions {
                compression,
                checksum,
            };
            let (d, stats) = reload(&c, &opts);
            assert_eq!(contents(&d), contents(&c));
            assert_eq!(stats.keys, 13);
            assert_eq!(stats.version, 10);
            assert!(stats.aux.iter().any(|(k, v)| k == b"extra" && v == b"yes"));
            assert!(
                stats
                    .aux
                    .iter()
                    .any(|(k, v)| k == b"redis-ver" && v == b"7.0.15")
            );
        }
    }
    // Compression shrinks the repetitive value.
    let plain = dump(
        &c,
        &SaveOptions {
            compression: false,
            checksum: true,
        },
    );
    let packed = dump(&c, &SaveOptions::default());
    assert!(
        packed.len() + 900 < plain.len(),
        "{} vs {}",
        packed.len(),
        plain.len()
    );
}

#[test]
fn string_encodings_byte_for_byte() {
    let o = SaveOptions::default();
    let mut out = Vec::new();
    write_entry(&mut out, b"k", View::Inline(b"v"), None, &o);
    assert_eq!(out, b"\x00\x01k\x01v");
    out.clear();
    write_entry(&mut out, b"k", View::Int(-2), None, &o);
    assert_eq!(out, b"\x00\x01k\xc0\xfe");
    out.clear();
    write_entry(&mut out, b"k", View::Int(300), Some(0x0102), &o);
    assert_eq!(out, b"\xfc\x02\x01\0\0\0\0\0\0\x00\x01k\xc1\x2c\x01");
    out.clear();
    write_entry(&mut out, b"k", View::Int(70000), None, &o);
    assert_eq!(out, b"\x00\x01k\xc2\x70\x11\x01\x00");
    out.clear();
    write_entry(&mut out, b"k", View::Int(1 << 40), None, &o);
    assert_eq!(out, b"\x00\x01k\x0d1099511627776");
}

#[test]
fn file_framing() {
    let c = cache();
    c.set("a", "1").unwrap();
    let bytes = dump(&c, &SaveOptions::default());
    assert_eq!(&bytes[..9], b"REDIS0010");
    let body = bytes.len() - 8;
    assert_eq!(bytes[body - 1], RDB_OPCODE_EOF);
    let stored = u64::from_le_bytes(bytes[body..].try_into().unwrap());
    assert_eq!(stored, crc64(0, &bytes[..body]));
    let off = dump(
        &c,
        &SaveOptions {
            compression: true,
            checksum: false,
        },
    );
    assert_eq!(&off[off.len() - 8..], &[0; 8]);
    let summary = check_rdb(&bytes).unwrap();
    assert_eq!(summary.keys(), 1);
    assert!(summary.checksum_verified);
    assert_eq!(summary.bytes, bytes.len() as u64);
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// Every type in its small and large encodings, TTLs, empty and huge values, binary keys,
/// three databases.
fn everything() -> Cache {
    let c = cache();
    let z = ZAddOptions::default();
    // strings
    c.set("s:small", "hello").unwrap();
    c.set("s:int", "42").unwrap();
    c.set("s:empty", "").unwrap();
    c.set(b"s:\x00bin\xff".as_slice(), b"\r\n\x00".as_slice())
        .unwrap();
    let mut rng = fastrand::Rng::with_seed(5);
    let huge: Vec<u8> = (0..5 * 1024 * 1024)
        .map(|i| {
            if i % 1000 < 600 {
                b'a' + (i % 7) as u8
            } else {
                rng.u8(..)
            }
        })
        .collect();
    c.set("s:huge", &huge).unwrap();
    // sets: intset (wide ints too), hashtable
    c.sadd("set:ints", &["1", "-5", "300"]).unwrap();
    c.sadd(
        "set:wide",
        &["1", "9223372036854775807", "-9223372036854775808"],
    )
    .unwrap();
    let many: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    c.sadd("set:many-ints", &many).unwrap();
    c.sadd("set:str", &["a", "b", "c"]).unwrap();
    let big: Vec<String> = (0..200).map(|i| format!("member-{i}")).collect();
    c.sadd("set:big", &big).unwrap();
    // sorted sets: listpack, skiplist, odd scores
    c.zadd(
        "z:small",
        &z,
        &[
            (1.0, "a"),
            (2.5, "b"),
            (-3.0, "c"),
            (0.1, "d"),
            (1e300, "e"),
        ],
    )
    .unwrap();
    c.zadd(
        "z:inf",
        &z,
        &[
            (f64::INFINITY, "up"),
            (f64::NEG_INFINITY, "down"),
            (-0.0, "zero"),
        ],
    )
    .unwrap();
    let zs: Vec<(f64, String)> = (0..200)
        .map(|i| (f64::from(i) / 7.0, format!("m{i}")))
        .collect();
    c.zadd("z:big", &z, &zs).unwrap();
    c.zadd(
        "z:long-member",
        &z,
        &[(1.0, "x".repeat(100)), (-0.0, "neg-zero".into())],
    )
    .unwrap();
    // hashes: listpack, table (many fields; one long value)
    c.hset("h:small", &[("f1", "v1"), ("f2", "2"), ("", "")])
        .unwrap();
    let hs: Vec<(String, String)> = (0..600)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    c.hset("h:big", &hs).unwrap();
    c.hset("h:long", &[("f", "y".repeat(100))]).unwrap();
    // lists: one node, many nodes, a big element, empty elements
    c.rpush("l:small", &["a", "1", "-1", ""]).unwrap();
    let ls: Vec<String> = (0..10_000).map(|i| format!("element-{i}")).collect();
    c.rpush("l:big", &ls).unwrap();
    c.rpush(
        "l:huge-elem",
        &["before".to_string(), "z".repeat(20_000), "after".into()],
    )
    .unwrap();
    // Bloom (scaling with three sub-filters, non-scaling) and CMS
    let cfg = BloomConfig {
        error_rate: 0.01,
        capacity: 10,
        expansion: 2,
    };
    c.bf_reserve("bf:scaling", &cfg).unwrap();
    for i in 0..60 {
        c.bf_add("bf:scaling", format!("item{i}")).unwrap();
    }
    let cfg = BloomConfig {
        error_rate: 0.001,
        capacity: 100,
        expansion: 0,
    };
    c.bf_reserve("bf:fixed", &cfg).unwrap();
    c.bf_add("bf:fixed", "x").unwrap();
    c.cms_init_by_dim("cms", 100, 5).unwrap();
    c.cms_incrby("cms", &[("a", 3), ("b", 70_000)]).unwrap();
    // TTLs
    c.set("ttl:s", "v").unwrap();
    c.pexpire_at("ttl:s", NOW + 10_000, ExpireCondition::Always)
        .unwrap();
    c.pexpire_at("set:str", NOW + 20_000, ExpireCondition::Always)
        .unwrap();
    c.pexpire_at("l:big", NOW + 1, ExpireCondition::Always)
        .unwrap();
    // other databases
    let d1 = c.db(1).unwrap();
    d1.set("s:small", "in db 1").unwrap();
    d1.rpush("l", &["x"]).unwrap();
    let d3 = c.db(3).unwrap();
    d3.hset("h", &[("k", "v")]).unwrap();
    d3.pexpire_at("h", NOW + 5, ExpireCondition::Always)
        .unwrap();
    c
}

#[test]
fn every_type_round_trips() {
    let c = everything();
    let before = contents(&c);
    let encodings: BTreeMap<&str, &str> = [
        ("s:int", "int"),
        ("set:ints", "intset"),
        ("set:wide", "intset"),
        ("set:many-ints", "hashtable"),
        ("set:big", "hashtable"),
        ("z:small", "listpack"),
        ("z:big", "skiplist"),
        ("z:long-member", "skiplist"),
        ("h:small", "listpack"),
        ("h:big", "hashtable"),
        ("h:long", "hashtable"),
    ]
    .into_iter()
    .collect();
    for (k, e) in &encodings {
        assert_eq!(before[&(0, b(k))].2, *e, "{k} before");
    }
    for compression in [true, false] {
        let opts = SaveOptions {
            compression,
            checksum: true,
        };
        let (d, stats) = reload(&c, &opts);
        assert_eq!(contents(&d), before, "compression {compression}");
        assert_eq!(stats.keys as usize, before.len());
        assert_eq!(stats.expired_skipped, 0);
        d.validate().unwrap();
        assert_eq!(d.get("s:small").unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(
            d.db(1).unwrap().get("s:small").unwrap().as_deref(),
            Some(&b"in db 1"[..])
        );
        assert!(d.bf_exists("bf:scaling", "item59").unwrap());
        assert_eq!(d.cms_query("cms", &["b"]).unwrap(), vec![70_000]);
        assert_eq!(d.pttl("ttl:s"), 10_000);
        let summary = check_rdb(&dump(&c, &opts)).unwrap();
        assert_eq!(summary.keys() as usize, before.len());
        assert_eq!(summary.keys_per_db.get(&3), Some(&1));
        assert_eq!(summary.keys_with_expiry, 4);
        assert_eq!(summary.types.get("module"), Some(&3));
        assert_eq!(summary.types.get("zset-listpack"), Some(&2));
        assert_eq!(summary.types.get("set-intset"), Some(&2));
        assert_eq!(summary.types.get("list-quicklist-2"), Some(&4));
    }
    // The 10k-element list takes several listpack nodes, the 20 KB element one of its own.
    let bytes = dump(
        &c,
        &SaveOptions {
            compression: false,
            checksum: true,
        },
    );
    assert!(bytes.len() > 5 * 1024 * 1024);
}

#[test]
fn expired_keys_are_skipped_on_load() {
    let c = everything();
    let bytes = dump(&c, &SaveOptions::default());
    let clock = ManualClock::new(NOW + 15_000);
    let later = Cache::builder()
        .databases(4)
        .clock(clock)
        .housekeeping(false)
        .build();
    let stats = later.load_rdb(&mut &bytes[..]).unwrap();
    // ttl:s (+10 s), l:big (+1 ms) and db 3's h (+5 ms) have passed; set:str (+20 s) has not.
    assert_eq!(stats.expired_skipped, 3);
    assert_eq!(later.exists(&["ttl:s", "l:big", "set:str"]), 1);
    assert_eq!(later.db(3).unwrap().dbsize(), 0);
}

#[test]
fn a_database_past_the_cache_is_an_error() {
    let c = everything();
    let bytes = dump(&c, &SaveOptions::default());
    let small = Cache::builder().databases(2).housekeeping(false).build();
    let e = small.load_rdb(&mut &bytes[..]).unwrap_err();
    assert!(
        e.reason().contains("database index 3 is out of range"),
        "{e}"
    );
    assert!(e.to_string().starts_with("Bad RDB file at offset "), "{e}");
    // Everything before database 3 was loaded.
    assert_eq!(small.db(1).unwrap().dbsize(), 2);
}

#[test]
fn checksum_is_verified_unless_zero_or_off() {
    let c = cache();
    c.set("k", "value").unwrap();
    let mut bytes = dump(&c, &SaveOptions::default());
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let e = check_rdb(&bytes).unwrap_err();
    assert!(e.reason().contains("wrong checksum"), "{e}");
    assert_eq!(e.offset() as usize, n - 8);
    let off = LoadOptions {
        verify_checksum: false,
    };
    assert_eq!(check_rdb_with(&bytes, &off).unwrap().keys(), 1);
    bytes[n - 8..].fill(0);
    let s = check_rdb(&bytes).unwrap();
    assert!(!s.checksum_verified);
    // A changed value byte is caught by the checksum.
    let mut bytes = dump(&c, &SaveOptions::default());
    let at = bytes.windows(5).position(|w| w == b"value").unwrap();
    bytes[at] = b'V';
    assert!(check_rdb(&bytes).is_err());
}

/// A small file with a record of every kind.
fn small_file() -> Vec<u8> {
    let c = cache();
    let z = ZAddOptions::default();
    c.set("s", "v").unwrap();
    c.set("i", "7").unwrap();
    c.set("l", "abcabcabcabcabcabcabcabcabcabc").unwrap();
    c.sadd("si", &["1", "2"]).unwrap();
    c.sadd("ss", &["a", "b"]).unwrap();
    c.zadd("z", &z, &[(1.5, "a")]).unwrap();
    c.zadd("zb", &z, &[(1.5, "a".repeat(70))]).unwrap();
    c.hset("h", &[("f", "v")]).unwrap();
    c.hset("hb", &[("f", "v".repeat(70))]).unwrap();
    c.rpush("q", &["a", "b"]).unwrap();
    c.bf_add("bf", "x").unwrap();
    c.cms_init_by_dim("c", 3, 2).unwrap();
    c.pexpire_at("s", NOW + 1000, ExpireCondition::Always)
        .unwrap();
    c.db(1).unwrap().set("one", "1").unwrap();
    dump(&c, &SaveOptions::default())
}

#[test]
fn truncated_files_are_refused_at_every_offset() {
    let bytes = small_file();
    assert!(check_rdb(&bytes).is_ok());
    for cut in 0..bytes.len() {
        let part = &bytes[..cut];
        let e = check_rdb(part).expect_err("a truncated file must be refused");
        assert!(e.last_good_offset() <= cut as u64, "{e}");
        let c = cache();
        assert!(c.load_rdb(&mut &part[..]).is_err());
        c.validate().unwrap();
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let bytes = small_file();
    let off = LoadOptions {
        verify_checksum: false,
    };
    let mut rng = fastrand::Rng::with_seed(11);
    for round in 0..4000 {
        let mut b = bytes.clone();
        for _ in 0..1 + round % 4 {
            let i = rng.usize(..b.len());
            b[i] = if round % 3 == 0 {
                rng.u8(..)
            } else {
                b[i] ^ (1 << rng.u8(..8))
            };
        }
        let _ = check_rdb_with(&b, &off);
        let c = cache();
        let _ = c.load_rdb_bytes(&b, &off);
        c.validate().unwrap();
    }
    // Every single byte set to each interesting value.
    for i in 9..bytes.len() {
        for v in [0x00, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xC0, 0xC3, 0xFE, 0xFF] {
            let mut b = bytes.clone();
            b[i] = v;
            let _ = check_rdb_with(&b, &off);
        }
    }
}
