//! Keyspace-level tests of the bitmap and HyperLogLog operations: encodings (inline, slab,
//! integer), TTLs, lazy expiry, WRONGTYPE, memory accounting and transactions. Exact replies
//! are checked against redis-server 7.0 by the differential scripts (`tests/diff/bits`, `hll`).

use super::*;
use crate::access::Access;
use crate::shard::Data;
use crate::value::Value;
use crate::{Cache, Keyspace, ManualClock};
use bytes::Bytes;

const T0: i64 = 1_700_000_000_000;

fn cache() -> (Cache, ManualClock) {
    let clock = ManualClock::new(T0);
    let c = Cache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .shards(4)
        .build();
    (c, clock)
}

fn put_list(c: &Cache, key: &str) {
    let (h, gid) = crate::ops::locate(c, key.as_bytes());
    c.write(gid, |s| {
        s.put(
            h,
            key.as_bytes(),
            Data::Value(Value::TestList(vec![1])),
            None,
        )
    })
    .unwrap();
}

fn u8_ty() -> BitfieldType {
    BitfieldType::new(false, 8).unwrap()
}

#[test]
fn setbit_grows_from_inline_to_slab_in_place() {
    let (c, _) = cache();
    assert!(!c.setbit("k", 7, true).unwrap());
    assert_eq!(c.get("k").unwrap(), Some(Bytes::from_static(b"\x01")));
    assert!(c.setbit("k", 7, true).unwrap());
    // Past the inline limit the value moves to the slab and keeps growing there.
    for off in [400u64, 4000, 40_000] {
        assert!(!c.setbit("k", off, true).unwrap());
        assert!(c.getbit("k", off).unwrap());
        assert_eq!(c.strlen("k").unwrap() as u64, off / 8 + 1);
        c.validate().unwrap();
    }
    assert_eq!(c.bitcount("k", None).unwrap(), 4);
    assert!(c.setbit("k", 4000, false).unwrap());
    assert_eq!(c.bitcount("k", None).unwrap(), 3);
    assert!(!c.getbit("k", 1 << 30).unwrap());
    assert_eq!(
        c.setbit("k", MAX_BIT_OFFSET + 1, true),
        Err(Error::BitOffsetOutOfRange)
    );
    assert_eq!(c.getbit("k", u64::MAX), Err(Error::BitOffsetOutOfRange));
    c.validate().unwrap();
}

#[test]
fn integers_are_their_decimal_text() {
    let (c, _) = cache();
    c.set("n", "7").unwrap();
    // "7" is 0x37 = 0011 0111.
    assert!(c.getbit("n", 2).unwrap());
    assert!(!c.getbit("n", 4).unwrap());
    assert_eq!(c.bitcount("n", None).unwrap(), 5);
    assert!(c.setbit("n", 7, false).unwrap());
    assert_eq!(c.get("n").unwrap(), Some(Bytes::from_static(b"6")));
    assert_eq!(c.incr_by("n", 1).unwrap(), 7);
    assert_eq!(c.pfadd("n", &["a"]), Err(Error::NotHyperLogLog));
    c.validate().unwrap();
}

#[test]
fn writes_keep_the_ttl_and_bitop_clears_it() {
    let (c, clock) = cache();
    c.set("t", "abc").unwrap();
    assert!(c.expire("t", 100, crate::ExpireCondition::Always).unwrap());
    c.setbit("t", 1000, true).unwrap();
    let f = BitfieldOp::Set {
        ty: u8_ty(),
        offset: 0,
        value: 65,
        overflow: Overflow::Wrap,
    };
    c.bitfield("t", &[f]).unwrap();
    assert_eq!(c.ttl("t"), 100);
    c.pfadd("h", &["x"]).unwrap();
    assert!(c.expire("h", 50, crate::ExpireCondition::Always).unwrap());
    c.pfadd("h", &["y"]).unwrap();
    assert_eq!(c.pfcount(&["h"]).unwrap(), 2);
    assert_eq!(c.ttl("h"), 50);
    c.bitop(BitOp::Or, "t", &["t"]).unwrap();
    assert_eq!(c.ttl("t"), -1);
    // An expired source is missing; an expired HLL counts nothing.
    clock.advance(std::time::Duration::from_secs(51));
    assert_eq!(c.pfcount(&["h"]).unwrap(), 0);
    assert_eq!(c.pfcount(&["h", "t"]), Err(Error::NotHyperLogLog));
    c.validate().unwrap();
}

#[test]
fn other_types_are_wrongtype() {
    let (c, _) = cache();
    put_list(&c, "l");
    assert_eq!(c.setbit("l", 1, true), Err(Error::WrongType));
    assert_eq!(c.getbit("l", 1), Err(Error::WrongType));
    assert_eq!(c.bitcount("l", None), Err(Error::WrongType));
    assert_eq!(
        c.bitpos("l", true, None, None, BitUnit::Byte),
        Err(Error::WrongType)
    );
    assert_eq!(c.bitop(BitOp::And, "d", &["l"]), Err(Error::WrongType));
    assert_eq!(c.bitfield("l", &[]), Err(Error::WrongType));
    assert_eq!(c.pfadd("l", &["a"]), Err(Error::WrongType));
    assert_eq!(c.pfcount(&["l"]), Err(Error::WrongType));
    assert_eq!(c.pfmerge("d", &["l"]), Err(Error::WrongType));
    assert_eq!(c.exists(&["d"]), 0);
    assert_eq!(
        c.bitop(BitOp::Not, "d", &["a", "b"]),
        Err(Error::BitopNotSingleSource)
    );
    c.validate().unwrap();
}

#[test]
fn bitfield_overflow_policies() {
    let (c, _) = cache();
    let i8t = BitfieldType::new(true, 8).unwrap();
    let incr = |by, overflow| BitfieldOp::IncrBy {
        ty: i8t,
        offset: 0,
        incr: by,
        overflow,
    };
    assert_eq!(
        c.bitfield("f", &[incr(127, Overflow::Wrap)]).unwrap(),
        vec![Some(127)]
    );
    assert_eq!(
        c.bitfield("f", &[incr(1, Overflow::Wrap)]).unwrap(),
        vec![Some(-128)]
    );
    assert_eq!(
        c.bitfield("f", &[incr(-1, Overflow::Fail)]).unwrap(),
        vec![None]
    );
    assert_eq!(
        c.bitfield("f", &[incr(-1000, Overflow::Sat)]).unwrap(),
        vec![Some(-128)]
    );
    assert_eq!(
        c.bitfield("f", &[incr(1000, Overflow::Sat)]).unwrap(),
        vec![Some(127)]
    );
    let u63 = BitfieldType::new(false, 63).unwrap();
    let set = BitfieldOp::Set {
        ty: u63,
        offset: 3,
        value: -1,
        overflow: Overflow::Sat,
    };
    let get = BitfieldOp::Get { ty: u63, offset: 3 };
    assert_eq!(
        c.bitfield("g", &[set, get]).unwrap(),
        vec![Some(0), Some(i64::MAX)]
    );
    assert_eq!(c.bitfield_ro("g", &[get]).unwrap(), vec![Some(i64::MAX)]);
    assert_eq!(c.bitfield_ro("missing", &[get]).unwrap(), vec![Some(0)]);
    assert_eq!(c.exists(&["missing"]), 0);
    // A failed write still creates the string up to the farthest written bit, as Redis does.
    let fail = BitfieldOp::IncrBy {
        ty: u8_ty(),
        offset: 800,
        incr: 300,
        overflow: Overflow::Fail,
    };
    assert_eq!(c.bitfield("h", &[fail]).unwrap(), vec![None]);
    assert_eq!(c.strlen("h").unwrap(), 101);
    // Redis's wrapping limit arithmetic: far below i62's minimum saturates to its maximum.
    let i62 = BitfieldType::new(true, 62).unwrap();
    let far = BitfieldOp::Set {
        ty: i62,
        offset: 0,
        value: -8_972_857_116_730_946_293,
        overflow: Overflow::Sat,
    };
    let get = BitfieldOp::Get { ty: i62, offset: 0 };
    assert_eq!(
        c.bitfield("q", &[far, get]).unwrap(),
        vec![Some(0), Some((1 << 61) - 1)]
    );
    assert!(BitfieldType::new(false, 64).is_none());
    assert!(BitfieldType::new(true, 0).is_none());
    c.validate().unwrap();
}

#[test]
fn bitop_and_bitpos_over_long_values() {
    let (c, _) = cache();
    let a: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    c.set("a", &a).unwrap();
    c.setbit("b", 39_999, true).unwrap();
    assert_eq!(c.bitop(BitOp::Xor, "x", &["a", "b"]).unwrap(), 5000);
    let x = c.get("x").unwrap().unwrap();
    assert_eq!(x[..4999], a[..4999]);
    assert_eq!(x[4999], a[4999] ^ 1);
    assert_eq!(c.bitop(BitOp::And, "x", &["a", "missing"]).unwrap(), 5000);
    assert_eq!(c.bitcount("x", None).unwrap(), 0);
    assert_eq!(c.bitpos("x", true, None, None, BitUnit::Byte).unwrap(), -1);
    assert_eq!(c.bitpos("x", false, None, None, BitUnit::Byte).unwrap(), 0);
    assert_eq!(
        c.bitpos("b", true, Some(2), None, BitUnit::Byte).unwrap(),
        39_999
    );
    assert_eq!(
        c.bitpos("b", true, Some(2), Some(-2), BitUnit::Byte)
            .unwrap(),
        -1
    );
    assert_eq!(c.bitop(BitOp::And, "x", &["m1", "m2"]).unwrap(), 0);
    assert_eq!(c.exists(&["x"]), 0);
    let r = BitRange {
        start: -8,
        end: -1,
        unit: BitUnit::Bit,
    };
    assert_eq!(c.bitcount("b", Some(r)).unwrap(), 1);
    c.validate().unwrap();
}

#[test]
fn hll_inline_slab_and_transactions() {
    let (c, _) = cache();
    // A new HLL is 18 bytes (inline); it moves to the slab as it grows.
    assert!(c.pfadd("h", &[] as &[&str]).unwrap());
    assert_eq!(c.strlen("h").unwrap(), 18);
    let items: Vec<String> = (0..5000).map(|i| format!("e{i}")).collect();
    for chunk in items.chunks(7) {
        c.pfadd("h", chunk).unwrap();
        c.validate().unwrap();
    }
    assert_eq!(c.strlen("h").unwrap(), 12304);
    let n = c.pfcount(&["h"]).unwrap();
    assert!((4900..5100).contains(&n), "{n}");
    // A copy made with GET/SET is the same HLL.
    c.set("copy", c.get("h").unwrap().unwrap()).unwrap();
    assert_eq!(c.pfcount(&["copy"]).unwrap(), n);
    c.transaction(|tx| {
        assert!(!tx.pfadd("h", &["e1"]).unwrap());
        tx.pfmerge("m", &["h", "missing"]).unwrap();
        assert_eq!(tx.pfcount(&["m"]).unwrap(), n);
        assert!(!tx.setbit("bm", 3, true).unwrap());
    });
    assert_eq!(c.pfcount(&["m", "h"]).unwrap(), n);
    assert!(c.getbit("bm", 3).unwrap());
    c.validate().unwrap();
}

#[test]
fn pfadd_leaves_a_dense_hll_alone_unless_it_expired() {
    let (c, clock) = cache();
    let items: Vec<String> = (0..5000).map(|i| format!("e{i}")).collect();
    c.pfadd("h", &items).unwrap();
    assert_eq!(c.strlen("h").unwrap(), 12304);
    let n = c.pfcount(&["h"]).unwrap();
    let bytes = c.get("h").unwrap().unwrap();
    assert!(c.expire("h", 10, crate::ExpireCondition::Always).unwrap());
    // Elements already counted raise no register: same bytes (cached count kept), same TTL.
    assert!(!c.pfadd("h", &items[..100]).unwrap());
    assert_eq!(c.get("h").unwrap().unwrap(), bytes);
    assert_eq!(c.ttl("h"), 10);
    // One new element that raises a register: the count goes stale, the TTL stays.
    let raiser = (0..)
        .map(|i| format!("new{i}"))
        .find(|e| hll::would_raise(&bytes, e.as_bytes()))
        .unwrap();
    assert!(c.pfadd("h", &[&items[0], &raiser]).unwrap());
    assert_ne!(c.get("h").unwrap().unwrap(), bytes);
    assert_eq!(c.ttl("h"), 10);
    assert!(c.pfcount(&["h"]).unwrap() >= n);
    // Expired: the same elements go into a new, sparse HLL without a TTL.
    clock.advance(std::time::Duration::from_secs(11));
    assert!(c.pfadd("h", &items[..3]).unwrap());
    assert_eq!(c.pfcount(&["h"]).unwrap(), 3);
    assert_eq!(c.ttl("h"), -1);
    assert!(c.strlen("h").unwrap() < 100);
    c.validate().unwrap();
}
