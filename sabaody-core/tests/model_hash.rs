//! Random hash operations checked against a `HashMap` reference.

use std::collections::HashMap;

use sabaody_core::{Cache, HashOps, Keyspace};

#[test]
fn hash_matches_hashmap() {
    for seed in 0..8u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let cache = Cache::builder().build();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        // Fields from a pool large enough to cross the 512-entry listpack limit sometimes.
        let pool = if seed % 2 == 0 { 60 } else { 900 };
        for step in 0..3000 {
            let f = format!("f{}", rng.u32(..pool)).into_bytes();
            match rng.u8(..9) {
                0..=2 => {
                    let v = if rng.u8(..20) == 0 {
                        vec![b'v'; 100]
                    } else {
                        rng.u32(..1000).to_string().into_bytes()
                    };
                    let new = cache.hset("h", &[(&f, &v)]).unwrap();
                    assert_eq!(new, usize::from(model.insert(f, v).is_none()));
                }
                3 => {
                    let n = cache.hdel("h", &[&f, b"nope".as_slice()]).unwrap();
                    assert_eq!(n, usize::from(model.remove(&f).is_some()));
                }
                4 => {
                    assert_eq!(
                        cache.hget("h", &f).unwrap().map(|b| b.to_vec()),
                        model.get(&f).cloned()
                    );
                    assert_eq!(cache.hexists("h", &f).unwrap(), model.contains_key(&f));
                    assert_eq!(
                        cache.hstrlen("h", &f).unwrap(),
                        model.get(&f).map_or(0, Vec::len)
                    );
                }
                5 => {
                    let cur = model.get(&f).map(|v| {
                        std::str::from_utf8(v)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                    });
                    let r = cache.hincr_by("h", &f, 7);
                    match cur {
                        Some(None) => assert_eq!(r, Err(sabaody_core::Error::HashNotInteger)),
                        Some(Some(n)) => {
                            assert_eq!(r.unwrap(), n + 7);
                            model.insert(f, (n + 7).to_string().into_bytes());
                        }
                        None => {
                            assert_eq!(r.unwrap(), 7);
                            model.insert(f, b"7".to_vec());
                        }
                    }
                }
                6 => {
                    let n = rng.i64(-5..6);
                    let got = cache.hrandfield_count("h", n).unwrap();
                    let want = if n >= 0 {
                        (n as usize).min(model.len())
                    } else if model.is_empty() {
                        0
                    } else {
                        n.unsigned_abs() as usize
                    };
                    assert_eq!(got.len(), want);
                    for (gf, gv) in &got {
                        assert_eq!(model.get(&gf[..]).map(Vec::as_slice), Some(&gv[..]));
                    }
                    if n > 0 {
                        let mut fs: Vec<_> = got.iter().map(|(f, _)| f.clone()).collect();
                        fs.sort();
                        fs.dedup();
                        assert_eq!(fs.len(), got.len());
                    }
                }
                7 => {
                    let mut seen = HashMap::new();
                    let mut cursor = 0;
                    loop {
                        let (next, page) = cache.hscan("h", cursor, None, 7).unwrap();
                        for (f, v) in page {
                            seen.insert(f.to_vec(), v.to_vec());
                        }
                        if next == 0 {
                            break;
                        }
                        cursor = next;
                    }
                    assert_eq!(seen, model);
                }
                _ => {
                    let mut all: Vec<(Vec<u8>, Vec<u8>)> = cache
                        .hgetall("h")
                        .unwrap()
                        .into_iter()
                        .map(|(f, v)| (f.to_vec(), v.to_vec()))
                        .collect();
                    all.sort();
                    let mut want: Vec<_> = model.clone().into_iter().collect();
                    want.sort();
                    assert_eq!(all, want);
                }
            }
            assert_eq!(
                cache.hlen("h").unwrap(),
                model.len(),
                "seed {seed} step {step}"
            );
            assert_eq!(cache.exists(&["h"]), usize::from(!model.is_empty()));
        }
        cache.validate().unwrap();
    }
}

#[test]
fn small_hash_keeps_insertion_order_and_encoding() {
    let cache = Cache::builder().build();
    cache
        .hset("h", &[("b", "1"), ("a", "2"), ("c", "3")])
        .unwrap();
    cache.hset("h", &[("a", "22")]).unwrap();
    cache.hdel("h", &["b"]).unwrap();
    let keys: Vec<_> = cache.hkeys("h").unwrap();
    assert_eq!(keys, vec!["a", "c"]);
    assert_eq!(cache.object_encoding("h"), Some("listpack"));
    let pairs: Vec<(String, String)> = (0..513)
        .map(|i| (format!("f{i}"), "v".to_string()))
        .collect();
    cache.hset("h", &pairs).unwrap();
    assert_eq!(cache.object_encoding("h"), Some("hashtable"));
    assert_eq!(
        &cache.hincr_by_float_text("h", "x", "10.5").unwrap()[..],
        b"10.5"
    );
    assert_eq!(
        cache.hincr_by_float_text("h", "x", "inf"),
        Err(sabaody_core::Error::ValueNanOrInfinity)
    );
    assert_eq!(
        cache.hincr_by_float_text("h", "f1", "1"),
        Err(sabaody_core::Error::HashNotFloat)
    );
    cache.set("s", "x").unwrap();
    assert_eq!(
        cache.hset("s", &[("a", "b")]),
        Err(sabaody_core::Error::WrongType)
    );
}
