//! Round trips through the writer and the loader, and bad files.

use super::*;
use super::{listpack, write};
use crate::prelude::*;
use crate::shard::View;
use crate::value::Value;
use crate::{BloomConfig, Cache, EvictionPolicy, ExpireCondition, ManualClock, ZAddOptions};
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
    let report = summary.to_string();
    assert!(
        report.starts_with(&format!(
            "RDB version 10, {} bytes, checksum OK\n",
            bytes.len()
        )),
        "{report}"
    );
    assert!(report.contains("AUX redis-ver = 7.0.15\n"), "{report}");
    assert!(report.contains("db 0: 1 keys\n"), "{report}");
    assert!(report.contains("type string: 1\n"), "{report}");
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

/// A ziplist of `items` (strings, or integers in every ziplist integer encoding).
fn ziplist(items: &[listpack::Item<'_>]) -> Vec<u8> {
    use listpack::Item;
    let mut body = Vec::new();
    let mut prev = 0usize;
    for it in items {
        let start = body.len();
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match *it {
            Item::Str(s) if s.len() < 64 => {
                body.push(s.len() as u8);
                body.extend_from_slice(s);
            }
            Item::Str(s) if s.len() < 16384 => {
                body.push(0x40 | (s.len() >> 8) as u8);
                body.push(s.len() as u8);
                body.extend_from_slice(s);
            }
            Item::Str(s) => {
                body.push(0x80);
                body.extend_from_slice(&(s.len() as u32).to_be_bytes());
                body.extend_from_slice(s);
            }
            Item::Int(v) if (0..=12).contains(&v) => body.push(0xF1 + v as u8),
            Item::Int(v) if i8::try_from(v).is_ok() => {
                body.push(0xFE);
                body.push(v as i8 as u8);
            }
            Item::Int(v) if i16::try_from(v).is_ok() => {
                body.push(0xC0);
                body.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Item::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                body.push(0xF0);
                body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Item::Int(v) if i32::try_from(v).is_ok() => {
                body.push(0xD0);
                body.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Item::Int(v) => {
                body.push(0xE0);
                body.extend_from_slice(&v.to_le_bytes());
            }
        }
        prev = body.len() - start;
    }
    let total = 10 + body.len() + 1;
    let mut z = Vec::new();
    z.extend_from_slice(&(total as u32).to_le_bytes());
    z.extend_from_slice(&((total - 1 - prev) as u32).to_le_bytes());
    z.extend_from_slice(&(items.len() as u16).to_le_bytes());
    z.extend_from_slice(&body);
    z.push(0xFF);
    z
}

struct Rdb(Vec<u8>);

impl Rdb {
    fn new(version: u32) -> Rdb {
        Rdb(format!("REDIS{version:04}").into_bytes())
    }
    fn key(&mut self, ty: u8, key: &str) -> &mut Self {
        self.0.push(ty);
        write::put_string(&mut self.0, key.as_bytes(), false);
        self
    }
    fn s(&mut self, s: &[u8]) -> &mut Self {
        write::put_string(&mut self.0, s, false);
        self
    }
    fn blob(&mut self, s: &[u8]) -> &mut Self {
        write::put_len(&mut self.0, s.len() as u64);
        self.0.extend_from_slice(s);
        self
    }
    fn len(&mut self, n: u64) -> &mut Self {
        write::put_len(&mut self.0, n);
        self
    }
    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn finish(&mut self, checksum: bool) -> Vec<u8> {
        self.0.push(RDB_OPCODE_EOF);
        let crc = if checksum { crc64(0, &self.0) } else { 0 };
        let mut out = std::mem::take(&mut self.0);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// A version 11 file with every older encoding and the skipped record kinds.
fn old_file() -> Vec<u8> {
    use listpack::Item::{Int, Str};
    let long = "q".repeat(100);
    let zl = ziplist(&[
        Int(2),
        Str(b"hello"),
        Int(-100),
        Int(-200),
        Int(70_000),
        Int(5_000_000),
        Int(1 << 40),
        Str(long.as_bytes()),
    ]);
    let mut lp = Vec::new();
    let mut w = listpack::Writer::new(&mut lp);
    w.push_str(b"m1");
    w.push_str(b"-5");
    w.finish();
    let mut r = Rdb::new(11);
    r.raw(&[RDB_OPCODE_AUX]).s(b"redis-ver").s(b"6.2.0");
    // A module AUX record and a function library: skipped.
    r.raw(&[RDB_OPCODE_MODULE_AUX])
        .len(12345)
        .len(RDB_MODULE_OPCODE_UINT)
        .len(2);
    r.len(RDB_MODULE_OPCODE_UINT)
        .len(7)
        .len(RDB_MODULE_OPCODE_STRING)
        .s(b"payload");
    r.len(RDB_MODULE_OPCODE_FLOAT)
        .raw(&[0; 4])
        .len(RDB_MODULE_OPCODE_DOUBLE)
        .raw(&[0; 8]);
    r.len(RDB_MODULE_OPCODE_SINT)
        .len(3)
        .len(RDB_MODULE_OPCODE_EOF);
    r.raw(&[RDB_OPCODE_FUNCTION2])
        .s(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)");
    r.raw(&[RDB_OPCODE_SELECTDB])
        .len(0)
        .raw(&[RDB_OPCODE_RESIZEDB])
        .len(20)
        .len(1);
    r.key(RDB_TYPE_LIST, "list1")
        .len(3)
        .s(b"a")
        .s(b"12")
        .s(b"c");
    r.key(RDB_TYPE_LIST_ZIPLIST, "listzl").blob(&zl);
    let node2 = ziplist(&[Str(b"x"), Int(7)]);
    r.key(RDB_TYPE_LIST_QUICKLIST, "listql")
        .len(2)
        .blob(&zl)
        .blob(&node2);
    r.key(RDB_TYPE_SET, "set").len(3).s(b"1").s(b"x").s(b"300");
    r.key(RDB_TYPE_ZSET, "zset")
        .len(4)
        .s(b"a")
        .raw(&[3])
        .raw(b"1.5");
    r.s(b"up")
        .raw(&[254])
        .s(b"down")
        .raw(&[255])
        .s(b"three")
        .raw(&[1])
        .raw(b"3");
    r.key(RDB_TYPE_HASH, "hash")
        .len(2)
        .s(b"f")
        .s(b"v")
        .s(b"n")
        .s(b"5");
    r.key(RDB_TYPE_HASH_ZIPMAP, "zipmap")
        .blob(b"\x02\x03foo\x03\x00bar\x05hello\x05\x02world!!\xff");
    r.key(RDB_TYPE_HASH_ZIPLIST, "hashzl").blob(&ziplist(&[
        Str(b"f1"),
        Str(b"v1"),
        Str(b"f2"),
        Int(2),
    ]));
    r.key(RDB_TYPE_ZSET_ZIPLIST, "zsetzl").blob(&ziplist(&[
        Str(b"a"),
        Str(b"1.5"),
        Str(b"b"),
        Int(3),
    ]));
    r.key(RDB_TYPE_SET_LISTPACK, "setlp").blob(&lp);
    // Expire in seconds, LRU and LFU hints before keys.
    r.raw(&[RDB_OPCODE_EXPIRETIME])
        .raw(&2_000_000_000i32.to_le_bytes());
    r.raw(&[RDB_OPCODE_IDLE])
        .len(100)
        .key(RDB_TYPE_STRING, "secs")
        .s(b"v");
    r.raw(&[RDB_OPCODE_FREQ, 5])
        .key(RDB_TYPE_STRING, "freq")
        .s(b"v");
    r.finish(true)
}

#[test]
fn older_encodings_load() {
    let long = "q".repeat(100);
    let bytes = old_file();
    let c = cache();
    let stats = c
        .load_rdb(&mut &bytes[..])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.keys, 12);
    assert_eq!(stats.functions_skipped, 1);
    assert_eq!(stats.module_aux_skipped, 1);
    assert_eq!(stats.version, 11);
    let strs = |v: Vec<bytes::Bytes>| v.into_iter().map(|b| b.to_vec()).collect::<Vec<_>>();
    assert_eq!(
        strs(c.lrange("list1", 0, -1).unwrap()),
        vec![b("a"), b("12"), b("c")]
    );
    let expect: Vec<Vec<u8>> = [
        "2",
        "hello",
        "-100",
        "-200",
        "70000",
        "5000000",
        "1099511627776",
        &long,
    ]
    .iter()
    .map(|s| b(s))
    .collect();
    assert_eq!(strs(c.lrange("listzl", 0, -1).unwrap()), expect);
    assert_eq!(c.llen("listql").unwrap(), 10);
    assert_eq!(
        strs(c.lrange("listql", -2, -1).unwrap()),
        vec![b("x"), b("7")]
    );
    assert_eq!(c.scard("set").unwrap(), 3);
    assert_eq!(c.zscore("zset", "up").unwrap(), Some(f64::INFINITY));
    assert_eq!(c.zscore("zset", "down").unwrap(), Some(f64::NEG_INFINITY));
    assert_eq!(c.zscore("zset", "a").unwrap(), Some(1.5));
    assert_eq!(c.zscore("zset", "three").unwrap(), Some(3.0));
    assert_eq!(c.hget("hash", "n").unwrap().as_deref(), Some(&b"5"[..]));
    assert_eq!(
        c.hget("zipmap", "hello").unwrap().as_deref(),
        Some(&b"world"[..])
    );
    assert_eq!(c.hget("hashzl", "f2").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(c.zscore("zsetzl", "a").unwrap(), Some(1.5));
    assert_eq!(c.zscore("zsetzl", "b").unwrap(), Some(3.0));
    assert!(c.sismember("setlp", "-5").unwrap());
    assert_eq!(c.pexpire_time("secs"), 2_000_000_000_000);
    assert_eq!(c.pexpire_time("freq"), -1);
    c.validate().unwrap();
    // Version 4: no checksum at all.
    let mut r = Rdb::new(4);
    r.raw(&[RDB_OPCODE_SELECTDB])
        .len(0)
        .key(RDB_TYPE_STRING, "k")
        .s(b"v");
    let mut old = r.finish(false);
    old.truncate(old.len() - 8);
    assert_eq!(check_rdb(&old).unwrap().keys(), 1);
}

#[test]
fn what_sabaody_cannot_hold_is_refused_clearly() {
    let refuse = |bytes: Vec<u8>, want: &str| {
        let e = check_rdb(&bytes).unwrap_err();
        assert!(e.reason().contains(want), "{e} (wanted {want})");
    };
    let mut r = Rdb::new(10);
    r.key(RDB_TYPE_STREAM_LISTPACKS, "s").len(0);
    refuse(r.finish(true), "stream values are not supported");
    let mut r = Rdb::new(10);
    // RedisBloom's MBbloom-- type id, encoding version 4.
    let id = (0..9).fold(0u64, |id, i| {
        let ch = b"MBbloom--"[i];
        let cs = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (id << 6) | cs.iter().position(|&x| x == ch).unwrap() as u64
    }) << 10
        | 4;
    r.key(RDB_TYPE_MODULE_2, "bf").len(id);
    refuse(r.finish(true), "module type 'MBbloom--'");
    let mut r = Rdb::new(10);
    r.key(99, "k");
    let bytes = r.finish(true);
    refuse(bytes.clone(), "unknown value type 99");
    assert_eq!(check_rdb(&bytes).unwrap_err().offset(), 9);
    refuse(
        Rdb::new(12).finish(true),
        "can't handle RDB format version 12",
    );
    refuse(b"RADIS0010\xff".to_vec(), "not an RDB file");
    let mut r = Rdb::new(10);
    r.key(RDB_TYPE_SET, "dup").len(2).s(b"a").s(b"a");
    refuse(r.finish(true), "duplicate set member");
    let mut r = Rdb::new(10);
    r.key(RDB_TYPE_ZSET_2, "nan")
        .len(1)
        .s(b"a")
        .raw(&f64::NAN.to_le_bytes());
    refuse(r.finish(true), "NaN");
    // A count far beyond the file does not allocate: it is refused.
    let mut r = Rdb::new(10);
    r.key(RDB_TYPE_LIST, "l").len(u64::from(u32::MAX));
    refuse(r.finish(true), "larger than the rest of the file");
    // An LZF string that claims a huge expansion.
    let mut r = Rdb::new(10);
    r.key(RDB_TYPE_STRING, "z")
        .raw(&[0xC3])
        .len(2)
        .len(1 << 40)
        .raw(&[0, b'a']);
    refuse(r.finish(true), "LZF string declares");
}

/// CPU time of this process so far (user + system), in ms: robust to waiting for a core on
/// a busy machine, unlike wall time.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime, in 1/100 s) are the 12th and 13th after
    // the ')' that ends the command name.
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) * 10.0
}

/// Write and load of 1M keys with 10-byte string values (best of 5; wall and CPU time):
/// `cargo test --release -p sabaody-core --lib rdb::tests::timing_1m_keys -- --ignored --nocapture`
/// `SABAODY_RDB_FILE=dump.rdb` also loads that file.
#[test]
#[ignore = "timing; run in release"]
fn timing_1m_keys() {
    use std::time::Instant;
    let c = Cache::builder().housekeeping(false).build();
    for i in 0..1_000_000u32 {
        c.set(format!("key:{i}"), format!("val:{i:06}")).unwrap();
    }
    let best = |f: &mut dyn FnMut()| {
        let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            let (t, c0) = (Instant::now(), cpu_ms());
            f();
            wall = wall.min(t.elapsed().as_secs_f64() * 1e3);
            cpu = cpu.min(cpu_ms() - c0);
        }
        format!("{wall:.0} ms wall, {cpu:.0} ms CPU")
    };
    let bytes = dump(&c, &SaveOptions::default());
    eprintln!("1M keys, {} bytes", bytes.len());
    eprintln!(
        "write_entry + write_file: {}",
        best(&mut || drop(dump(&c, &SaveOptions::default())))
    );
    eprintln!(
        "save_rdb (snapshot) into memory: {}",
        best(&mut || {
            let mut out = Vec::with_capacity(bytes.len());
            c.save_rdb(&mut out, SaveOptions::default()).unwrap();
        })
    );
    eprintln!(
        "check: {}",
        best(&mut || assert_eq!(check_rdb(&bytes).unwrap().keys(), 1_000_000))
    );
    let mut files = vec![("ours".to_string(), bytes)];
    if let Ok(path) = std::env::var("SABAODY_RDB_FILE") {
        files.push((path.clone(), std::fs::read(path).unwrap()));
    }
    for (name, file) in &files {
        for workers in [1, 2] {
            let r = best(&mut || {
                let fresh = Cache::builder().housekeeping(false).build();
                let st = fresh
                    .load_rdb_workers(file, &LoadOptions::default(), workers)
                    .unwrap();
                assert_eq!(st.keys, 1_000_000);
                // Dropping 1M keys is not part of the load.
                std::mem::forget(fresh);
            });
            eprintln!("load {name} with {workers} thread(s): {r}");
        }
    }
}

#[test]
fn parallel_load_matches_and_reports_the_first_error() {
    let c = everything();
    let before = contents(&c);
    let bytes = dump(&c, &SaveOptions::default());
    for workers in [2, 3, 5] {
        let d = cache();
        let stats = d
            .load_rdb_workers(&bytes, &LoadOptions::default(), workers)
            .unwrap();
        assert_eq!(stats.keys as usize, before.len());
        assert!(stats.aux.iter().any(|(k, _)| k == b"redis-ver"));
        assert_eq!(contents(&d), before, "{workers} workers");
        d.validate().unwrap();
    }
    let small = small_file();
    for cut in (0..small.len()).step_by(7) {
        let one = cache().load_rdb_workers(&small[..cut], &LoadOptions::default(), 1);
        let three = cache().load_rdb_workers(&small[..cut], &LoadOptions::default(), 3);
        assert_eq!(
            one.unwrap_err().offset(),
            three.unwrap_err().offset(),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_key_twice_in_a_file_keeps_its_last_value() {
    let mut r = Rdb::new(10);
    r.raw(&[RDB_OPCODE_SELECTDB]).len(0);
    r.key(RDB_TYPE_STRING, "k").s(b"first");
    r.key(RDB_TYPE_STRING, "other").s(b"x");
    r.key(RDB_TYPE_STRING, "k").s(b"second");
    let bytes = r.finish(true);
    let c = cache();
    let stats = c.load_rdb(&mut &bytes[..]).unwrap();
    assert_eq!((stats.keys, stats.replaced), (3, 1));
    assert_eq!(c.get("k").unwrap().as_deref(), Some(&b"second"[..]));
}

/// Seeds for `fuzz/fuzz_targets/rdb_load.rs`:
/// `SABAODY_FUZZ_SEEDS=fuzz/corpus/rdb_load cargo test -p sabaody-core --lib rdb::tests::write_fuzz_seeds -- --ignored`
#[test]
#[ignore = "writes files"]
fn write_fuzz_seeds() {
    let Ok(dir) = std::env::var("SABAODY_FUZZ_SEEDS") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let unchecked = |mut b: Vec<u8>| {
        let n = b.len();
        b[n - 8..].fill(0);
        b
    };
    std::fs::write(format!("{dir}/small.rdb"), unchecked(small_file())).unwrap();
    std::fs::write(format!("{dir}/old.rdb"), unchecked(old_file())).unwrap();
    let c = cache();
    c.set("k", "v").unwrap();
    std::fs::write(
        format!("{dir}/one.rdb"),
        unchecked(dump(&c, &SaveOptions::default())),
    )
    .unwrap();
}

#[test]
fn quicklist_plain_nodes_and_empty_nodes_load() {
    let mut lp = Vec::new();
    let mut w = listpack::Writer::new(&mut lp);
    w.push_str(b"a");
    w.push_int(-7);
    w.finish();
    let mut empty = Vec::new();
    listpack::Writer::new(&mut empty).finish();
    let mut r = Rdb::new(10);
    r.raw(&[RDB_OPCODE_SELECTDB]).len(0);
    r.key(RDB_TYPE_LIST_QUICKLIST_2, "l").len(4);
    r.len(QUICKLIST_NODE_CONTAINER_PACKED).blob(&lp);
    r.len(QUICKLIST_NODE_CONTAINER_PLAIN).s(&[b'p'; 3000]);
    // Redis skips empty listpack nodes silently.
    r.len(QUICKLIST_NODE_CONTAINER_PACKED).blob(&empty);
    r.len(QUICKLIST_NODE_CONTAINER_PLAIN).s(b"12");
    r.key(RDB_TYPE_LIST_QUICKLIST_2, "gone").len(1);
    r.len(QUICKLIST_NODE_CONTAINER_PACKED).blob(&empty);
    let bytes = r.finish(true);
    let c = cache();
    let stats = c.load_rdb(&mut &bytes[..]).unwrap();
    assert_eq!((stats.keys, stats.empty_skipped), (1, 1));
    let got: Vec<Vec<u8>> = c
        .lrange("l", 0, -1)
        .unwrap()
        .into_iter()
        .map(|b| b.to_vec())
        .collect();
    assert_eq!(got, vec![b("a"), b("-7"), vec![b'p'; 3000], b("12")]);
    // An unknown container is refused.
    let mut r = Rdb::new(10);
    r.key(RDB_TYPE_LIST_QUICKLIST_2, "l").len(1).len(3).s(b"x");
    let e = check_rdb(&r.finish(true)).unwrap_err();
    assert!(
        e.reason().contains("unknown quicklist node container 3"),
        "{e}"
    );
}

#[test]
fn eviction_hints_byte_for_byte() {
    let o = SaveOptions::default();
    let mut out = Vec::new();
    let k = b"k".as_slice();
    write_entry_hinted(&mut out, k, View::Inline(b"v"), None, AccessHint::None, &o);
    assert_eq!(out, b"\x00\x01k\x01v");
    out.clear();
    // Redis's order: expire time, then the hint, then the value type.
    let hint = AccessHint::IdleSecs(300);
    write_entry_hinted(&mut out, k, View::Inline(b"v"), Some(0x0102), hint, &o);
    assert_eq!(out, b"\xfc\x02\x01\0\0\0\0\0\0\xf8\x41\x2c\x00\x01k\x01v");
    out.clear();
    write_entry_hinted(&mut out, k, View::Int(7), None, AccessHint::Freq(200), &o);
    assert_eq!(out, b"\xf9\xc8\x00\x01k\xc0\x07");
}

/// A cache with `policy` on `clock`, LFU counters incremented on every access.
fn policy_cache(clock: &ManualClock, policy: EvictionPolicy) -> Cache {
    Cache::builder()
        .databases(2)
        .shards(8)
        .clock(clock.clone())
        .housekeeping(false)
        .eviction_policy(policy)
        .lfu_log_factor(0)
        .build()
}

fn saved(c: &Cache) -> Vec<u8> {
    let mut file = Vec::new();
    c.save_rdb(&mut file, SaveOptions::default()).unwrap();
    file
}

#[test]
fn lru_idle_times_survive_a_save_and_load() {
    use std::time::Duration;
    for policy in [EvictionPolicy::AllKeysLru, EvictionPolicy::VolatileLru] {
        let clock = ManualClock::new(NOW);
        let c = policy_cache(&clock, policy);
        c.set("old", "1").unwrap();
        c.set("read", "2").unwrap();
        c.sadd("set", &["a", "b"]).unwrap();
        c.db(1).unwrap().set("other-db", "x").unwrap();
        clock.advance(Duration::from_secs(100));
        c.get("read").unwrap();
        clock.advance(Duration::from_secs(30));
        let file = saved(&c);
        // One `IDLE` per key more than without hints: the opcode and a length of two bytes
        // for 130 s, of one for 30 s.
        c.set_eviction_policy(EvictionPolicy::NoEviction);
        assert_eq!(file.len(), saved(&c).len() + 3 * 3 + 2, "{policy:?}");

        // Loaded a minute later: the idle time goes on from the saved value (Redis: under
        // any policy but LFU).
        clock.advance(Duration::from_secs(60));
        for loader in [
            policy,
            EvictionPolicy::NoEviction,
            EvictionPolicy::AllKeysRandom,
        ] {
            let l = policy_cache(&clock, loader);
            l.load_rdb(&mut &file[..]).unwrap();
            assert_eq!(l.object_idletime("old").unwrap(), Some(130), "{loader:?}");
            assert_eq!(l.object_idletime("read").unwrap(), Some(30));
            clock.advance(Duration::from_secs(5));
            assert_eq!(l.object_idletime("old").unwrap(), Some(135));
            assert_eq!(l.object_idletime("read").unwrap(), Some(35));
            assert_eq!(l.object_idletime("set").unwrap(), Some(135));
            let db1 = l.db(1).unwrap();
            assert_eq!(db1.object_idletime("other-db").unwrap(), Some(135));
        }
        // An LFU cache ignores `IDLE`: keys start at the initial counter.
        let l = policy_cache(&clock, EvictionPolicy::AllKeysLfu);
        l.load_rdb(&mut &file[..]).unwrap();
        assert_eq!(l.object_freq("old").unwrap(), Some(5));
    }
}

#[test]
fn lfu_counters_survive_a_save_and_load() {
    use std::time::Duration;
    for policy in [EvictionPolicy::AllKeysLfu, EvictionPolicy::VolatileLfu] {
        let clock = ManualClock::new(NOW);
        let c = policy_cache(&clock, policy);
        c.set("cold", "1").unwrap();
        c.set("hot", "2").unwrap();
        c.hset("h", &[("f", "v")]).unwrap();
        for _ in 0..40 {
            c.get("hot").unwrap();
        }
        for _ in 0..3 {
            c.hget("h", "f").unwrap();
        }
        assert_eq!(c.object_freq("hot").unwrap(), Some(45));
        // Three minutes idle: the saved counter is the decayed one (`lfu-decay-time 1`).
        clock.advance(Duration::from_secs(180));
        let file = saved(&c);
        c.set_eviction_policy(EvictionPolicy::NoEviction);
        assert_eq!(file.len(), saved(&c).len() + 2 * 3, "{policy:?}");

        // Loaded an hour later: the counter is restored as read now, so no decay since.
        clock.advance(Duration::from_secs(3600));
        for loader in [policy, EvictionPolicy::AllKeysLfu] {
            let l = policy_cache(&clock, loader);
            l.load_rdb(&mut &file[..]).unwrap();
            assert_eq!(l.object_freq("hot").unwrap(), Some(42), "{loader:?}");
            assert_eq!(l.object_freq("cold").unwrap(), Some(2));
            assert_eq!(l.object_freq("h").unwrap(), Some(5));
            clock.advance(Duration::from_secs(60));
            assert_eq!(l.object_freq("hot").unwrap(), Some(41));
        }
        // A cache that is not LFU ignores `FREQ`: the keys were just loaded.
        let l = policy_cache(&clock, EvictionPolicy::AllKeysLru);
        l.load_rdb(&mut &file[..]).unwrap();
        assert_eq!(l.object_idletime("hot").unwrap(), Some(0));
    }
}

#[test]
fn hints_apply_to_the_next_key_only_and_on_every_loader_thread() {
    let mut r = Rdb::new(10);
    r.raw(&[RDB_OPCODE_SELECTDB]).len(0);
    for i in 0..200 {
        if i % 2 == 0 {
            r.raw(&[RDB_OPCODE_IDLE]).len(1000 + i);
            r.raw(&[RDB_OPCODE_FREQ, (i % 256) as u8]);
        }
        r.key(RDB_TYPE_STRING, &format!("k{i}")).s(b"v");
    }
    // A huge idle time (Redis's LRU clock would wrap it) is held as the longest we keep.
    r.raw(&[RDB_OPCODE_IDLE]).len(u64::MAX);
    r.key(RDB_TYPE_STRING, "ancient").s(b"v");
    let bytes = r.finish(true);
    for workers in [1, 3] {
        let clock = ManualClock::new(NOW);
        let c = policy_cache(&clock, EvictionPolicy::AllKeysLru);
        c.load_rdb_workers(&bytes, &LoadOptions::default(), workers)
            .unwrap();
        for i in 0..200u64 {
            let want = if i % 2 == 0 { 1000 + i } else { 0 };
            let got = c.object_idletime(format!("k{i}")).unwrap();
            assert_eq!(got, Some(want), "k{i} with {workers} workers");
        }
        let ancient = c.object_idletime("ancient").unwrap();
        assert_eq!(ancient, Some(u64::from(u32::MAX) / 1000));
        let c = policy_cache(&clock, EvictionPolicy::VolatileLfu);
        c.load_rdb_workers(&bytes, &LoadOptions::default(), workers)
            .unwrap();
        for i in 0..200u64 {
            let want = if i % 2 == 0 { (i % 256) as u8 } else { 5 };
            let got = c.object_freq(format!("k{i}")).unwrap();
            assert_eq!(got, Some(want), "k{i} with {workers} workers");
        }
    }
}

/// Loads of a 1M-key dump on one thread, with and without its `RESIZEDB` hint, interleaved,
/// `SABAODY_LOADS` times each (default 5):
/// `cargo test --release -p sabaody-core --lib rdb::tests::timing_load_1m_keys -- --ignored --nocapture`
#[test]
#[ignore = "timing; run in release"]
fn timing_load_1m_keys() {
    use std::time::Instant;
    let loads: usize = std::env::var("SABAODY_LOADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let c = Cache::builder().housekeeping(false).build();
    for i in 0..1_000_000u32 {
        c.set(format!("key:{i}"), format!("val:{i:06}")).unwrap();
    }
    let hinted = dump(&c, &SaveOptions::default());
    drop(c);
    // `SELECTDB 0`, then `RESIZEDB` 1000000 (a 32-bit length) and 0: cut the hint out.
    let at = hinted
        .windows(3)
        .position(|w| w == [RDB_OPCODE_SELECTDB, 0, RDB_OPCODE_RESIZEDB])
        .unwrap()
        + 2;
    let mut bare = [&hinted[..at], &hinted[at + 7..]].concat();
    let body = bare.len() - 8;
    let crc = crc64(0, &bare[..body]).to_le_bytes();
    bare[body..].copy_from_slice(&crc);
    let mut best = [(f64::MAX, f64::MAX); 2];
    for _ in 0..loads {
        for (file, b) in [&hinted, &bare].into_iter().zip(&mut best) {
            let fresh = Cache::builder().housekeeping(false).build();
            let (t, c0) = (Instant::now(), cpu_ms());
            let st = fresh
                .load_rdb_workers(file, &LoadOptions::default(), 1)
                .unwrap();
            b.0 = b.0.min(t.elapsed().as_secs_f64() * 1e3);
            b.1 = b.1.min(cpu_ms() - c0);
            assert_eq!(st.keys, 1_000_000);
        }
    }
    for (name, (wall, cpu)) in ["with RESIZEDB", "without"].iter().zip(best) {
        eprintln!(
            "load 1M keys on one thread {name}, best of {loads}: {wall:.0} ms wall, {cpu:.0} ms CPU"
        );
    }
}

#[test]
fn resizedb_sizes_the_tables_once_and_a_hostile_hint_is_bounded() {
    let c = cache();
    for i in 0..10_000 {
        c.set(format!("key:{i}"), "v").unwrap();
    }
    c.db(1).unwrap().set("one", "1").unwrap();
    let bytes = dump(&c, &SaveOptions::default());
    for workers in [1, 2] {
        let d = cache();
        d.load_rdb_workers(&bytes, &LoadOptions::default(), workers)
            .unwrap();
        // Each shard of db 0 was sized once, by the hint, and did not grow after.
        for gid in d.store.db_range(0) {
            let epoch = d.store.slots[gid].shard.read().epoch;
            assert_eq!(epoch, 1, "shard {gid} with {workers} workers");
        }
        assert_eq!(contents(&d), contents(&c));
    }

    // A file announcing millions of keys reserves no more than its bytes could hold.
    for claimed in [1 << 22, 1 << 60] {
        let mut r = Rdb::new(10);
        r.raw(&[RDB_OPCODE_SELECTDB]).len(0);
        r.raw(&[RDB_OPCODE_RESIZEDB]).len(claimed).len(claimed);
        for i in 0..100 {
            r.key(RDB_TYPE_STRING, &format!("k{i}")).s(b"v");
        }
        let bytes = r.finish(true);
        let d = cache();
        assert_eq!(d.load_rdb(&mut &bytes[..]).unwrap().keys, 100);
        let buckets: usize = d
            .store
            .db_range(0)
            .map(|g| d.store.slots[g].shard.read().num_buckets())
            .sum();
        assert!(
            buckets <= 8 * 256,
            "{buckets} buckets for a file of {} bytes",
            bytes.len()
        );
    }
}
