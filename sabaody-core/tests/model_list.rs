//! Random list operations checked against a `VecDeque` reference.

use std::collections::VecDeque;

use sabaody_core::{Cache, Keyspace, ListEnd, ListOps, LposOptions};

fn elem(rng: &mut fastrand::Rng, same_len: bool) -> Vec<u8> {
    if same_len && rng.u8(..50) != 0 {
        // Equal lengths keep chunks unframed; the odd one out converts them.
        return format!("{:04}", rng.u32(..30)).into_bytes();
    }
    // Mostly short, a few over the 255-byte framing limit and some near the chunk size.
    match rng.u8(..100) {
        0..=84 => rng.u32(..40).to_string().into_bytes(),
        85..=97 => vec![b'a' + rng.u8(..3); rng.usize(200..700)],
        _ => vec![b'z'; rng.usize(7000..9000)],
    }
}

fn norm(len: usize, i: i64) -> i64 {
    if i < 0 { len as i64 + i } else { i }
}

#[test]
fn list_matches_vecdeque() {
    for seed in 0..8u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let same_len = seed % 2 == 1;
        let cache = Cache::builder().build();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        for step in 0..4000 {
            let len = model.len();
            let idx = rng.i64(-(len as i64) - 3..len as i64 + 3);
            match rng.u8(..14) {
                0 | 1 => {
                    let e = elem(&mut rng, same_len);
                    assert_eq!(cache.lpush("l", &[&e]).unwrap(), len + 1);
                    model.push_front(e);
                }
                2 | 3 => {
                    let e = elem(&mut rng, same_len);
                    assert_eq!(cache.rpush("l", &[&e]).unwrap(), len + 1);
                    model.push_back(e);
                }
                4 => {
                    let n = rng.usize(..5);
                    let got = cache.pop_count("l", ListEnd::Left, n).unwrap();
                    let want: Vec<Vec<u8>> =
                        (0..n.min(len)).filter_map(|_| model.pop_front()).collect();
                    if len == 0 {
                        assert_eq!(got, None);
                    } else {
                        let got: Vec<Vec<u8>> = got.unwrap().iter().map(|b| b.to_vec()).collect();
                        assert_eq!(got, want);
                    }
                }
                5 => {
                    let got = cache.rpop("l").unwrap().map(|b| b.to_vec());
                    assert_eq!(got, model.pop_back());
                }
                6 => {
                    let i = norm(len, idx);
                    let want = usize::try_from(i).ok().and_then(|i| model.get(i)).cloned();
                    assert_eq!(cache.lindex("l", idx).unwrap().map(|b| b.to_vec()), want);
                }
                7 => {
                    let e = elem(&mut rng, same_len);
                    let i = norm(len, idx);
                    let r = cache.lset("l", idx, &e);
                    if len == 0 {
                        assert!(r.is_err());
                    } else if i >= 0 && (i as usize) < len {
                        r.unwrap();
                        model[i as usize] = e;
                    } else {
                        assert_eq!(r, Err(sabaody_core::Error::IndexOutOfRange));
                    }
                }
                8 => {
                    let start = rng.i64(-(len as i64) - 2..len as i64 + 2);
                    let stop = rng.i64(-(len as i64) - 2..len as i64 + 2);
                    let got: Vec<Vec<u8>> = cache
                        .lrange("l", start, stop)
                        .unwrap()
                        .iter()
                        .map(|b| b.to_vec())
                        .collect();
                    let (s, e) = (norm(len, start).max(0), norm(len, stop).min(len as i64 - 1));
                    let want: Vec<Vec<u8>> = if s > e {
                        vec![]
                    } else {
                        model.range(s as usize..=e as usize).cloned().collect()
                    };
                    assert_eq!(got, want, "seed {seed} step {step} lrange {start} {stop}");
                }
                9 => {
                    let pivot = model
                        .get(rng.usize(..len.max(1)))
                        .cloned()
                        .unwrap_or_default();
                    let e = elem(&mut rng, same_len);
                    let after = rng.bool();
                    let r = cache.linsert("l", after, &pivot, &e).unwrap();
                    match model.iter().position(|x| *x == pivot) {
                        Some(p) => {
                            model.insert(if after { p + 1 } else { p }, e);
                            assert_eq!(r, model.len() as i64);
                        }
                        None => assert_eq!(r, if len == 0 { 0 } else { -1 }),
                    }
                }
                10 => {
                    let e = model
                        .get(rng.usize(..len.max(1)))
                        .cloned()
                        .unwrap_or_default();
                    let count = rng.i64(-3..4);
                    let n = cache.lrem("l", count, &e).unwrap();
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let mut removed = 0;
                    if count >= 0 {
                        let mut i = 0;
                        while i < model.len() {
                            if removed < limit && model[i] == e {
                                model.remove(i);
                                removed += 1;
                            } else {
                                i += 1;
                            }
                        }
                    } else {
                        let mut i = model.len();
                        while i > 0 {
                            i -= 1;
                            if removed < limit && model[i] == e {
                                model.remove(i);
                                removed += 1;
                            }
                        }
                    }
                    assert_eq!(n, removed);
                }
                11 if rng.u8(..4) == 0 => {
                    let start = rng.i64(-(len as i64) - 2..len as i64 + 2);
                    let stop = rng.i64(-(len as i64) - 2..len as i64 + 2);
                    cache.ltrim("l", start, stop).unwrap();
                    let (s, e) = (norm(len, start).max(0), norm(len, stop).min(len as i64 - 1));
                    model = if s > e || s >= len as i64 {
                        VecDeque::new()
                    } else {
                        model.range(s as usize..=e as usize).cloned().collect()
                    };
                }
                12 => {
                    let e = model
                        .get(rng.usize(..len.max(1)))
                        .cloned()
                        .unwrap_or_default();
                    let rank = [1, 2, -1, -2][rng.usize(..4)];
                    let count = [None, Some(0), Some(2)][rng.usize(..3)];
                    let maxlen = [0, 5][rng.usize(..2)];
                    let got = cache
                        .lpos(
                            "l",
                            &e,
                            &LposOptions {
                                rank,
                                count,
                                maxlen,
                            },
                        )
                        .unwrap();
                    let mut idxs: Vec<usize> = (0..len).collect();
                    if rank < 0 {
                        idxs.reverse();
                    }
                    if maxlen > 0 {
                        idxs.truncate(maxlen);
                    }
                    let mut want: Vec<usize> = idxs
                        .into_iter()
                        .filter(|&i| model[i] == e)
                        .skip(rank.unsigned_abs() as usize - 1)
                        .collect();
                    match count {
                        None => want.truncate(1),
                        Some(0) => {}
                        Some(n) => want.truncate(n),
                    }
                    assert_eq!(got, want);
                }
                _ => {
                    let to = if rng.bool() {
                        ListEnd::Left
                    } else {
                        ListEnd::Right
                    };
                    let got = cache.lmove("l", "l", ListEnd::Right, to).unwrap();
                    if let Some(e) = model.pop_back() {
                        assert_eq!(got.as_deref(), Some(&e[..]));
                        if to == ListEnd::Left {
                            model.push_front(e)
                        } else {
                            model.push_back(e)
                        }
                    } else {
                        assert_eq!(got, None);
                    }
                }
            }
            assert_eq!(
                cache.llen("l").unwrap(),
                model.len(),
                "seed {seed} step {step}"
            );
            assert_eq!(cache.exists(&["l"]), usize::from(!model.is_empty()));
        }
        let all: Vec<Vec<u8>> = cache
            .lrange("l", 0, -1)
            .unwrap()
            .iter()
            .map(|b| b.to_vec())
            .collect();
        assert_eq!(all, model.iter().cloned().collect::<Vec<_>>());
        cache.validate().unwrap();
    }
}

#[test]
fn lmove_between_keys_and_lmpop() {
    let cache = Cache::builder().build();
    cache.rpush("a", &["1", "2", "3"]).unwrap();
    cache.set("s", "x").unwrap();
    assert!(cache.lmove("a", "s", ListEnd::Left, ListEnd::Left).is_err());
    assert_eq!(cache.llen("a").unwrap(), 3);
    assert_eq!(
        cache
            .lmove("a", "b", ListEnd::Left, ListEnd::Right)
            .unwrap()
            .as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(cache.rpoplpush("missing", "b").unwrap(), None);
    let (k, v) = cache
        .lmpop(&["missing", "b", "a"], ListEnd::Right, 5)
        .unwrap()
        .unwrap();
    assert_eq!((&k[..], v.len()), (&b"b"[..], 1));
    assert_eq!(cache.exists(&["b"]), 0);
    assert!(cache.lmpop(&["s", "a"], ListEnd::Left, 1).is_err());
}

#[test]
fn lindex_middle_of_a_million_is_fast() {
    let cache = Cache::builder().build();
    let batch: Vec<String> = (0..1000).map(|i| format!("element:{i:06}")).collect();
    for _ in 0..1000 {
        cache.rpush("big", &batch).unwrap();
    }
    assert_eq!(cache.llen("big").unwrap(), 1_000_000);
    let t = std::time::Instant::now();
    for i in 0..1000i64 {
        let v = cache.lindex("big", 500_000 + i).unwrap().unwrap();
        assert_eq!(v, format!("element:{:06}", i % 1000).as_bytes());
    }
    // 1000 lookups in the middle: a linear walk over 500k elements each would take seconds
    // even in release; chunk counts keep each to a few microseconds (debug build budget).
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}
