//! Model test: random set operations over a few keys against `HashSet`s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use sabaody_core::{Cache, Keyspace, SetOps};
use std::collections::{BTreeSet, HashMap, HashSet};

type Model = HashMap<&'static str, HashSet<Vec<u8>>>;

const KEYS: [&str; 3] = ["a", "b", "c"];

fn member(rng: &mut fastrand::Rng) -> Vec<u8> {
    match rng.u8(..6) {
        0 => format!(
            "long-member-{}-{}",
            "y".repeat(rng.usize(..30)),
            rng.u8(..20)
        )
        .into_bytes(),
        1 => format!("s{}", rng.u16(..300)).into_bytes(),
        // integers: canonical ones go to an intset, "01" must not
        2 => format!("0{}", rng.u8(..5)).into_bytes(),
        _ => rng.i64(-600..600).to_string().into_bytes(),
    }
}

fn sorted(v: Vec<Bytes>) -> BTreeSet<Vec<u8>> {
    let n = v.len();
    let s: BTreeSet<Vec<u8>> = v.into_iter().map(|b| b.to_vec()).collect();
    assert_eq!(s.len(), n, "duplicates in a reply");
    s
}

fn of(model: &Model, k: &str) -> BTreeSet<Vec<u8>> {
    model
        .get(k)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn random_operations_match_the_model() {
    for seed in 0..4u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let cache = Cache::builder().build();
        let mut model: Model = HashMap::new();
        for step in 0..5_000 {
            let k = KEYS[rng.usize(..3)];
            let k2 = KEYS[rng.usize(..3)];
            match rng.u8(..10) {
                0..=3 => {
                    let ms: Vec<Vec<u8>> = (0..rng.usize(1..8)).map(|_| member(&mut rng)).collect();
                    let set = model.entry(k).or_default();
                    let want = ms.iter().filter(|m| set.insert((*m).clone())).count();
                    assert_eq!(cache.sadd(k, &ms).unwrap(), want);
                }
                4 | 5 => {
                    let ms: Vec<Vec<u8>> = (0..rng.usize(1..8)).map(|_| member(&mut rng)).collect();
                    let set = model.entry(k).or_default();
                    let want = ms.iter().filter(|m| set.remove(*m)).count();
                    assert_eq!(cache.srem(k, &ms).unwrap(), want);
                }
                6 => {
                    let n = rng.usize(..4);
                    let got = cache.spop_count(k, n).unwrap();
                    let set = model.entry(k).or_default();
                    assert_eq!(got.len(), n.min(set.len()));
                    for m in got {
                        assert!(set.remove(&m.to_vec()), "popped a non-member");
                    }
                }
                7 => {
                    let m = member(&mut rng);
                    let had = model.get(k).is_some_and(|s| s.contains(&m));
                    assert_eq!(cache.smove(k, k2, &m).unwrap(), had);
                    if had && k != k2 {
                        model.entry(k).or_default().remove(&m);
                        model.entry(k2).or_default().insert(m);
                    }
                }
                8 => {
                    let (x, y) = (of(&model, k), of(&model, k2));
                    assert_eq!(sorted(cache.sinter(&[k, k2]).unwrap()), &x & &y);
                    assert_eq!(sorted(cache.sunion(&[k, k2]).unwrap()), &x | &y);
                    assert_eq!(sorted(cache.sdiff(&[k, k2]).unwrap()), &x - &y);
                    assert_eq!(cache.sintercard(&[k, k2], 0).unwrap(), (&x & &y).len());
                }
                _ => {
                    let (x, y) = (of(&model, k), of(&model, k2));
                    let dst = KEYS[rng.usize(..3)];
                    let result = match rng.u8(..3) {
                        0 => {
                            cache.sinterstore(dst, &[k, k2]).unwrap();
                            &x & &y
                        }
                        1 => {
                            cache.sunionstore(dst, &[k, k2]).unwrap();
                            &x | &y
                        }
                        _ => {
                            cache.sdiffstore(dst, &[k, k2]).unwrap();
                            &x - &y
                        }
                    };
                    model.insert(dst, result.into_iter().collect());
                }
            }
            if step % 100 == 0 {
                for k in KEYS {
                    let want = of(&model, k);
                    assert_eq!(
                        sorted(cache.smembers(k).unwrap()),
                        want,
                        "step {step} key {k}"
                    );
                    assert_eq!(cache.scard(k).unwrap(), want.len());
                    assert_eq!(cache.exists(&[k]), usize::from(!want.is_empty()));
                }
            }
        }
    }
}

#[test]
fn sscan_returns_every_member_of_a_stable_set() {
    let cache = Cache::builder().build();
    let members: Vec<String> = (0..5000).map(|i| format!("member-{i}")).collect();
    cache.sadd("s", &members).unwrap();
    let mut seen = HashSet::new();
    let mut cursor = 0;
    loop {
        let (next, found) = cache.sscan("s", cursor, None, 37).unwrap();
        seen.extend(found.into_iter().map(|b| b.to_vec()));
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 5000);
}

#[test]
fn sscan_survives_growth_and_deletes_during_the_scan() {
    let cache = Cache::builder().build();
    let first: Vec<String> = (0..1000).map(|i| format!("keep-{i}")).collect();
    cache.sadd("s", &first).unwrap();
    cache.sadd("s", &["gone-1", "gone-2"]).unwrap();
    let mut seen = HashSet::new();
    let mut cursor = 0;
    let mut round = 0;
    loop {
        let (next, found) = cache.sscan("s", cursor, None, 10).unwrap();
        seen.extend(found.into_iter().map(|b| b.to_vec()));
        // The table grows past a rehash and loses members while the scan runs (new members
        // go to the end of the slab: adding faster than the scan advances would never end it).
        let more: Vec<String> = (0..5).map(|i| format!("new-{round}-{i}")).collect();
        cache.sadd("s", &more).unwrap();
        cache.srem("s", &["gone-1", "gone-2"]).unwrap();
        round += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    for m in &first {
        assert!(seen.contains(m.as_bytes()), "{m} missed");
    }
    assert!(cache.scard("s").unwrap() > 1800, "no rehash happened");
}
