//! Round trips through the writer and the loader, and bad files.

use super::*;
use crate::prelude::*;
use crate::shard::View;
use crate::value::Value;
use crate::{Cache, ManualClock};
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

#[derive(Debug, PartialEq)]
enum Norm {
    Str(Vec<u8>),
    Value(Value),
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
