//! Save with `Cache::save_rdb` (the forkless snapshot + the RDB codec), load into a fresh
//! cache with `Cache::load_rdb`: the same keyspace, compared through the public API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_core::prelude::*;
use sabaody_core::{
    BloomConfig, ExpireCondition, KeyType, ManualClock, RangeBy, SaveOptions, ZAddOptions,
    ZRangeSpec,
};

const NOW: i64 = 1_700_000_000_000;

fn cache() -> Cache {
    Cache::builder()
        .databases(3)
        .clock(ManualClock::new(NOW))
        .housekeeping(false)
        .build()
}

/// Every key of every database as text: type, value (sorted where unordered), PTTL.
fn digest(c: &Cache) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..c.databases() {
        let d = c.db(db).unwrap();
        let mut keys = d.keys("*");
        keys.sort();
        for k in keys {
            let ty = d.key_type(&k).unwrap();
            let value = match ty {
                KeyType::String => format!("{:?}", d.get(&k).unwrap()),
                KeyType::List => format!("{:?}", d.lrange(&k, 0, -1).unwrap()),
                KeyType::Set => {
                    let mut m = d.smembers(&k).unwrap();
                    m.sort();
                    format!("{m:?}")
                }
                KeyType::ZSet => {
                    let spec = ZRangeSpec {
                        by: RangeBy::Rank(0, -1),
                        rev: false,
                        limit: None,
                    };
                    let z: Vec<_> = d
                        .zrange(&k, &spec)
                        .unwrap()
                        .into_iter()
                        .map(|(m, s)| (m, s.to_bits()))
                        .collect();
                    format!("{z:?}")
                }
                KeyType::Hash => {
                    let mut h = d.hgetall(&k).unwrap();
                    h.sort();
                    format!("{h:?}")
                }
                KeyType::Bloom => format!("{:?}", d.bf_info(&k).unwrap()),
                KeyType::Cms => format!("{:?}", d.cms_info(&k).unwrap()),
                other => format!("{other:?}"),
            };
            let enc = d.object_encoding(&k).unwrap_or("?");
            out.push(format!("{db} {k:?} {ty:?} {enc} {} {value}", d.pttl(&k)));
        }
    }
    out
}

/// Asserts equal digests, showing only the first differing entries, shortened.
fn same(got: &[String], want: &[String]) {
    let short = |s: &str| s.chars().take(160).collect::<String>();
    for (g, w) in got.iter().zip(want) {
        assert!(g == w, "loaded:\n{}\nsaved:\n{}", short(g), short(w));
    }
    let keys = |d: &[String]| {
        d.iter()
            .map(|l| short(l).chars().take(40).collect::<String>())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(got), keys(want));
}

#[test]
fn save_then_load_gives_the_same_keyspace() {
    let c = cache();
    let z = ZAddOptions::default();
    c.set("s", "v").unwrap();
    c.set("n", "-12345678901").unwrap();
    c.set("empty", "").unwrap();
    c.set(b"\x00\xff".as_slice(), "x".repeat(100_000)).unwrap();
    c.sadd("si", &["1", "2", "3"]).unwrap();
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    c.sadd("sh", &members).unwrap();
    c.zadd("zs", &z, &[(1.0, "a"), (f64::INFINITY, "b"), (-0.25, "c")])
        .unwrap();
    let scored: Vec<(f64, String)> = (0..300)
        .map(|i| (f64::from(i) * 0.5, format!("z{i}")))
        .collect();
    c.zadd("zb", &z, &scored).unwrap();
    c.hset("hs", &[("f", "v"), ("g", "1")]).unwrap();
    let fields: Vec<(String, String)> = (0..700)
        .map(|i| (format!("f{i}"), format!("{i}")))
        .collect();
    c.hset("hb", &fields).unwrap();
    let elems: Vec<String> = (0..20_000).map(|i| format!("e{i}")).collect();
    c.rpush("lb", &elems).unwrap();
    c.rpush("ls", &["1", "", "x"]).unwrap();
    let cfg = BloomConfig {
        error_rate: 0.01,
        capacity: 50,
        expansion: 2,
    };
    c.bf_reserve("bf", &cfg).unwrap();
    for i in 0..200 {
        c.bf_add("bf", format!("i{i}")).unwrap();
    }
    c.cms_init_by_prob("cms", 0.01, 0.01).unwrap();
    c.cms_incrby("cms", &[("a", 5)]).unwrap();
    c.pexpire_at("s", NOW + 60_000, ExpireCondition::Always)
        .unwrap();
    c.pexpire_at("lb", NOW + 1, ExpireCondition::Always)
        .unwrap();
    let d2 = c.db(2).unwrap();
    d2.set("two", "2").unwrap();
    d2.hset("h", &[("a", "b")]).unwrap();

    for opts in [
        SaveOptions::default(),
        SaveOptions {
            compression: false,
            checksum: false,
        },
    ] {
        let mut file = Vec::new();
        let saved = c.save_rdb(&mut file, opts).unwrap();
        assert_eq!(saved.bytes, file.len() as u64);
        let summary = sabaody_core::check_rdb(&file).unwrap();
        assert_eq!(summary.keys(), saved.keys);
        let fresh = cache();
        let stats = fresh.load_rdb(&mut &file[..]).unwrap();
        assert_eq!(stats.keys, saved.keys);
        same(&digest(&fresh), &digest(&c));
        assert!(fresh.bf_exists("bf", "i150").unwrap());
        fresh.validate().unwrap();
    }
}
