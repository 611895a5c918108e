//! Model test: random sorted-set operations against a simple reference (a `BTreeMap` of
//! member -> score, sorted on demand), with the structural `zset_validate()` after each batch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_core::{
    Cache, Keyspace, LexBound, RangeBy, ScoreBound, ZAddOptions, ZRangeSpec, ZSetOps,
};
use std::cmp::Ordering;
use std::collections::BTreeMap;

type Model = BTreeMap<Vec<u8>, f64>;

fn order(a: &(f64, Vec<u8>), b: &(f64, Vec<u8>)) -> Ordering {
    a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1))
}

fn sorted(m: &Model) -> Vec<(f64, Vec<u8>)> {
    let mut v: Vec<(f64, Vec<u8>)> = m.iter().map(|(k, s)| (*s, k.clone())).collect();
    v.sort_by(order);
    v
}

fn in_score(s: f64, min: ScoreBound, max: ScoreBound) -> bool {
    let lo = match min {
        ScoreBound::Inclusive(v) => s >= v,
        ScoreBound::Exclusive(v) => s > v,
    };
    let hi = match max {
        ScoreBound::Inclusive(v) => s <= v,
        ScoreBound::Exclusive(v) => s < v,
    };
    lo && hi
}

fn in_lex(m: &[u8], min: &LexBound, max: &LexBound) -> bool {
    let lo = match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Inclusive(v) => m >= &v[..],
        LexBound::Exclusive(v) => m > &v[..],
    };
    let hi = match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Inclusive(v) => m <= &v[..],
        LexBound::Exclusive(v) => m < &v[..],
    };
    lo && hi
}

/// The reference ZRANGE: filter, order, then LIMIT, written the obvious way.
fn reference_range(m: &Model, spec: &ZRangeSpec) -> Vec<(f64, Vec<u8>)> {
    let mut all = sorted(m);
    if spec.rev {
        all.reverse();
    }
    let picked: Vec<(f64, Vec<u8>)> = match &spec.by {
        RangeBy::Rank(s, e) => {
            let len = all.len() as i64;
            let (mut s, mut e) = (*s, *e);
            if s < 0 {
                s += len;
            }
            if e < 0 {
                e += len;
            }
            s = s.max(0);
            if s > e || s >= len {
                return Vec::new();
            }
            e = e.min(len - 1);
            all[s as usize..=e as usize].to_vec()
        }
        RangeBy::Score(min, max) => all
            .into_iter()
            .filter(|(s, _)| in_score(*s, *min, *max))
            .collect(),
        RangeBy::Lex(min, max) => all
            .into_iter()
            .filter(|(_, k)| in_lex(k, min, max))
            .collect(),
    };
    match spec.limit {
        Some((o, _)) if o < 0 => Vec::new(),
        Some((o, c)) => {
            let it = picked.into_iter().skip(o as usize);
            if c < 0 {
                it.collect()
            } else {
                it.take(c as usize).collect()
            }
        }
        None => picked,
    }
}

const SCORES: [f64; 9] = [
    -1.0,
    0.0,
    -0.0,
    1.0,
    2.5,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -7.25,
];

fn member(rng: &mut fastrand::Rng) -> Vec<u8> {
    match rng.u8(..10) {
        // long members: boxed (> 22 bytes) and past the listpack value limit (> 64)
        0 => format!("{}{}", "x".repeat(23 + rng.usize(..50)), rng.u16(..50)).into_bytes(),
        1 => vec![rng.u8(..4); rng.usize(..3)],
        _ => format!("m{}", rng.u16(..700)).into_bytes(),
    }
}

fn score(rng: &mut fastrand::Rng) -> f64 {
    if rng.bool() {
        SCORES[rng.usize(..SCORES.len())]
    } else {
        f64::from(rng.i32(-50..50)) / 4.0
    }
}

fn score_bound(rng: &mut fastrand::Rng) -> ScoreBound {
    if rng.bool() {
        ScoreBound::Inclusive(score(rng))
    } else {
        ScoreBound::Exclusive(score(rng))
    }
}

fn lex_bound(rng: &mut fastrand::Rng) -> LexBound {
    match rng.u8(..4) {
        0 => LexBound::NegInf,
        1 => LexBound::PosInf,
        2 => LexBound::Inclusive(member(rng)),
        _ => LexBound::Exclusive(member(rng)),
    }
}

/// Rank and score ranges (lex ranges are only meaningful when all scores are equal: they get
/// their own test below).
fn range_by(rng: &mut fastrand::Rng) -> RangeBy {
    match rng.u8(..2) {
        0 => RangeBy::Rank(rng.i64(-800..800), rng.i64(-800..800)),
        1 => RangeBy::Score(score_bound(rng), score_bound(rng)),
        _ => RangeBy::Lex(lex_bound(rng), lex_bound(rng)),
    }
}

fn check(cache: &Cache, model: &Model, step: usize) {
    cache
        .zset_validate("z")
        .unwrap_or_else(|e| panic!("step {step}: {e}"));
    let spec = ZRangeSpec {
        by: RangeBy::Rank(0, -1),
        rev: false,
        limit: None,
    };
    let got: Vec<(f64, Vec<u8>)> = cache
        .zrange("z", &spec)
        .unwrap()
        .into_iter()
        .map(|(m, s)| (s, m.to_vec()))
        .collect();
    assert_eq!(got, sorted(model), "step {step}");
    assert_eq!(cache.zcard("z").unwrap(), model.len());
    assert_eq!(cache.exists(&["z"]), usize::from(!model.is_empty()));
}

#[test]
fn random_operations_match_the_model() {
    for seed in 0..4u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let cache = Cache::builder().build();
        let mut model = Model::new();
        for step in 0..6_000 {
            match rng.u8(..12) {
                0..=3 => {
                    let o = ZAddOptions {
                        nx: rng.u8(..5) == 0,
                        xx: rng.u8(..5) == 0,
                        gt: rng.u8(..5) == 0,
                        lt: rng.u8(..5) == 0,
                        ch: rng.bool(),
                    };
                    let pairs: Vec<(f64, Vec<u8>)> = (0..rng.usize(1..6))
                        .map(|_| (score(&mut rng), member(&mut rng)))
                        .collect();
                    let r = cache.zadd("z", &o, &pairs);
                    if (o.nx && (o.xx || o.gt || o.lt)) || (o.gt && o.lt) {
                        assert!(r.is_err());
                        continue;
                    }
                    let (mut added, mut changed) = (0, 0);
                    for (s, m) in &pairs {
                        match model.get(m).copied() {
                            Some(cur) => {
                                let refused = o.nx || (o.lt && *s >= cur) || (o.gt && *s <= cur);
                                if !refused && *s != cur {
                                    model.insert(m.clone(), *s);
                                    changed += 1;
                                }
                            }
                            None if !o.xx => {
                                model.insert(m.clone(), *s);
                                added += 1;
                            }
                            None => {}
                        }
                    }
                    let want = if o.ch { added + changed } else { added };
                    assert_eq!(r.unwrap(), want, "step {step}");
                }
                4 => {
                    let m = member(&mut rng);
                    let by = score(&mut rng);
                    let r = cache.zincrby("z", by, &m);
                    let new = model.get(&m).copied().unwrap_or(0.0) + by;
                    if new.is_nan() {
                        assert!(r.is_err());
                    } else {
                        assert_eq!(r.unwrap(), new);
                        model.insert(m, new);
                    }
                }
                5 | 6 => {
                    let ms: Vec<Vec<u8>> = (0..rng.usize(1..4)).map(|_| member(&mut rng)).collect();
                    let mut want = 0;
                    for m in &ms {
                        if model.remove(m).is_some() {
                            want += 1;
                        }
                    }
                    assert_eq!(cache.zrem("z", &ms).unwrap(), want);
                }
                7 => {
                    let by = range_by(&mut rng);
                    let doomed = reference_range(
                        &model,
                        &ZRangeSpec {
                            by: by.clone(),
                            rev: false,
                            limit: None,
                        },
                    );
                    for (_, m) in &doomed {
                        model.remove(m);
                    }
                    assert_eq!(
                        cache.zremrange("z", &by).unwrap(),
                        doomed.len(),
                        "step {step}"
                    );
                }
                8 => {
                    let max = rng.bool();
                    let n = rng.usize(..4);
                    let mut all = sorted(&model);
                    if max {
                        all.reverse();
                    }
                    let want: Vec<(f64, Vec<u8>)> = all.into_iter().take(n).collect();
                    for (_, m) in &want {
                        model.remove(m);
                    }
                    let got: Vec<(f64, Vec<u8>)> = cache
                        .zpop("z", max, n)
                        .unwrap()
                        .into_iter()
                        .map(|(m, s)| (s, m.to_vec()))
                        .collect();
                    assert_eq!(got, want);
                }
                9 => {
                    let spec = ZRangeSpec {
                        by: range_by(&mut rng),
                        rev: rng.bool(),
                        limit: if rng.bool() {
                            Some((rng.i64(-2..20), rng.i64(-2..30)))
                        } else {
                            None
                        },
                    };
                    let spec = ZRangeSpec {
                        limit: if matches!(spec.by, RangeBy::Rank(..)) {
                            None
                        } else {
                            spec.limit
                        },
                        ..spec
                    };
                    let got: Vec<(f64, Vec<u8>)> = cache
                        .zrange("z", &spec)
                        .unwrap()
                        .into_iter()
                        .map(|(m, s)| (s, m.to_vec()))
                        .collect();
                    let want = reference_range(&model, &spec);
                    assert_eq!(got, want, "step {step}: {spec:?}");
                    if spec.limit.is_none() && !spec.rev {
                        assert_eq!(cache.zcount("z", &spec.by).unwrap(), want.len());
                    }
                }
                _ => {
                    let m = member(&mut rng);
                    let rev = rng.bool();
                    let all = sorted(&model);
                    let want = all.iter().position(|(_, k)| *k == m).map(|r| {
                        let r = if rev { all.len() - 1 - r } else { r };
                        (r, model[&m])
                    });
                    assert_eq!(cache.zrank("z", &m, rev).unwrap(), want);
                    assert_eq!(cache.zscore("z", &m).unwrap(), model.get(&m).copied());
                }
            }
            if step % 250 == 0 {
                check(&cache, &model, step);
            }
        }
        check(&cache, &model, usize::MAX);
    }
}

#[test]
fn large_set_ranks_and_memory_charge() {
    let cache = Cache::builder().build();
    let pairs: Vec<(f64, String)> = (0..50_000)
        .map(|i| (f64::from(i % 997), format!("member:{i:08}")))
        .collect();
    for chunk in pairs.chunks(1000) {
        cache.zadd("big", &ZAddOptions::default(), chunk).unwrap();
    }
    cache.zset_validate("big").unwrap();
    assert_eq!(cache.zcard("big").unwrap(), 50_000);
    // member:00000997 has score 0 and is the second of the score-0 members.
    assert_eq!(
        cache.zrank("big", "member:00000997", false).unwrap(),
        Some((1, 0.0))
    );
    let per_member = cache.memory_usage("big").unwrap() as f64 / 50_000.0;
    // The charge follows the structure: ~67 B here (slab capacity rounds 50k up to 64k);
    // redis-server 7.0 spends ~133 B of RSS per 16-byte member (scripts/mem_vs_redis.py zset).
    assert!(per_member < 80.0, "{per_member} bytes per member");
    let half: Vec<String> = (0..25_000)
        .map(|i| format!("member:{:08}", i * 2))
        .collect();
    assert_eq!(cache.zrem("big", &half).unwrap(), 25_000);
    cache.zset_validate("big").unwrap();
    assert_eq!(cache.zcard("big").unwrap(), 25_000);
}

#[test]
fn lex_ranges_on_equal_scores_match_the_model() {
    let mut rng = fastrand::Rng::with_seed(11);
    let cache = Cache::builder().build();
    let mut model = Model::new();
    for step in 0..4_000 {
        match rng.u8(..4) {
            0 | 1 => {
                let m = member(&mut rng);
                model.insert(m.clone(), 0.0);
                cache
                    .zadd("z", &ZAddOptions::default(), &[(0.0, m)])
                    .unwrap();
            }
            2 => {
                let by = RangeBy::Lex(lex_bound(&mut rng), lex_bound(&mut rng));
                let spec = ZRangeSpec {
                    by: by.clone(),
                    rev: false,
                    limit: None,
                };
                let doomed = reference_range(&model, &spec);
                if rng.u8(..4) == 0 {
                    for (_, m) in &doomed {
                        model.remove(m);
                    }
                    assert_eq!(cache.zremrange("z", &by).unwrap(), doomed.len());
                } else {
                    assert_eq!(cache.zcount("z", &by).unwrap(), doomed.len());
                }
            }
            _ => {
                let spec = ZRangeSpec {
                    by: RangeBy::Lex(lex_bound(&mut rng), lex_bound(&mut rng)),
                    rev: rng.bool(),
                    limit: rng.bool().then(|| (rng.i64(-1..10), rng.i64(-1..20))),
                };
                let got: Vec<(f64, Vec<u8>)> = cache
                    .zrange("z", &spec)
                    .unwrap()
                    .into_iter()
                    .map(|(m, s)| (s, m.to_vec()))
                    .collect();
                assert_eq!(got, reference_range(&model, &spec), "step {step}: {spec:?}");
            }
        }
        if step % 200 == 0 {
            check(&cache, &model, step);
        }
    }
}
