//! Differential test: the same random string/key/TTL commands go to a real `redis-server`
//! (started here on a free loopback port) and to `sabaody-core`; every reply must agree.
//! Needs `redis-server` on PATH, so it is ignored by default:
//!
//! ```sh
//! cargo test --release -p sabaody-core --test redis_diff -- --ignored
//! ```
//! Times are chosen so nothing expires during the run (TTLs of 50+ s, or already past).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_core::*;
use sabaody_testkit::{RedisServer, Value as R};

/// A connection to redis-server: typed replies.
struct Redis(sabaody_testkit::Conn);
impl Redis {
    fn cmd(&mut self, args: &[Vec<u8>]) -> R {
        self.0.call(args).unwrap()
    }
}

struct Rng(u64);
impl Rng {
    fn n(&mut self, m: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % m
    }
}

fn e(err: Error) -> R {
    R::Error(err.redis_text())
}
fn bulk(b: Option<bytes::Bytes>) -> R {
    b.map_or(R::Nil, |b| R::Bulk(b.to_vec()))
}
fn res<T>(r: Result<T, Error>, f: impl FnOnce(T) -> R) -> R {
    match r {
        Ok(v) => f(v),
        Err(x) => e(x),
    }
}

#[test]
#[ignore = "needs redis-server on PATH"]
fn random_commands_match_redis_server() {
    let server = RedisServer::start(&["--appendonly", "no"]).unwrap_or_else(|e| panic!("{e}"));
    let mut redis = Redis(server.connect().unwrap());
    let a = |x: &str| x.as_bytes().to_vec();
    redis.cmd(&[a("SELECT"), a("9")]);
    redis.cmd(&[a("FLUSHALL")]);
    let c = Cache::builder().build();
    let seed = std::env::var("SABAODY_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let mut rng = Rng(seed.unwrap_or(0xDEADBEEF12345));
    let vals = [
        "0",
        "1",
        "-5",
        "10.5",
        "abc",
        "01",
        " 1",
        "+1",
        "9223372036854775807",
        "-9223372036854775808",
        "1e3",
        "0x10",
        "",
        "inf",
        "3.0",
        "hello world",
        "123456789012345678901234567890",
    ];
    let mut mismatches = 0;
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // SABAODY_DIFF_TRACE=k2 prints every command naming that key.
    let trace = std::env::var("SABAODY_DIFF_TRACE").ok();
    let steps: usize = std::env::var("SABAODY_DIFF_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    for step in 0..steps {
        let k = format!("k{}", rng.n(6));
        let k2 = format!("k{}", rng.n(6));
        let v = vals[rng.n(vals.len() as u64) as usize].to_string();
        let num = [-3i64, -1, 0, 1, 2, 7, 100, 1000, i64::MAX, i64::MIN][rng.n(10) as usize];
        let op = rng.n(29);
        let (args, ours): (Vec<String>, R) = match op {
            0 => (
                vec!["SET".into(), k.clone(), v.clone()],
                res(c.set(&k, &v), |_| R::Simple("OK".into())),
            ),
            1 => (vec!["GET".into(), k.clone()], res(c.get(&k), bulk)),
            2 => {
                let cond = rng.n(3);
                let get = rng.n(2) == 0;
                let ex = rng.n(6);
                let mut args = vec!["SET".into(), k.clone(), v.clone()];
                let condition = match cond {
                    0 => SetCondition::Always,
                    1 => {
                        args.push("NX".into());
                        SetCondition::IfAbsent
                    }
                    _ => {
                        args.push("XX".into());
                        SetCondition::IfExists
                    }
                };
                if get {
                    args.push("GET".into());
                }
                let t = [100i64, 0, -1, 5000, i64::MAX][rng.n(5) as usize];
                let expiry = match ex {
                    0 => {
                        args.extend(["EX".into(), t.to_string()]);
                        Some(SetExpiry::Ex(t))
                    }
                    1 => {
                        args.extend(["PX".into(), (t * 1000).to_string()]);
                        Some(SetExpiry::Px(t.saturating_mul(1000)))
                    }
                    2 => {
                        args.push("KEEPTTL".into());
                        Some(SetExpiry::KeepTtl)
                    }
                    3 => {
                        args.extend(["EXAT".into(), "1".into()]);
                        Some(SetExpiry::ExAt(1))
                    }
                    _ => None,
                };
                if let Some(SetExpiry::Px(p)) = expiry {
                    let n = args.len();
                    args[n - 1] = p.to_string();
                }
                let r = c.set_with(
                    &k,
                    &v,
                    &SetOptions {
                        condition,
                        get,
                        expiry,
                    },
                );
                (
                    args,
                    res(r, |o| {
                        if get {
                            bulk(o.previous)
                        } else if o.written {
                            R::Simple("OK".into())
                        } else {
                            R::Nil
                        }
                    }),
                )
            }
            3 => (vec!["GETDEL".into(), k.clone()], res(c.getdel(&k), bulk)),
            4 => (
                vec!["APPEND".into(), k.clone(), v.clone()],
                res(c.append(&k, &v), |n| R::Int(n as i64)),
            ),
            5 => (
                vec!["INCRBY".into(), k.clone(), num.to_string()],
                res(c.incr_by(&k, num), R::Int),
            ),
            6 => (
                vec!["DECRBY".into(), k.clone(), num.to_string()],
                res(c.decr_by(&k, num), R::Int),
            ),
            7 if rng.n(2) == 0 => {
                let f = [0.1f64, -5.0, 2.5e2, 1e-3, 1000.0, -0.1][rng.n(6) as usize];
                (
                    vec!["INCRBYFLOAT".into(), k.clone(), format!("{f}")],
                    res(c.incr_by_float(&k, f), |b| R::Bulk(b.to_vec())),
                )
            }
            7 => {
                let t = [
                    "0.1000000000000000055511151231257827",
                    "1e3",
                    "-2.5",
                    "0x1p-2",
                    "inf",
                    "abc",
                    "1e4000",
                    "-0.333333333333333333333",
                ][rng.n(8) as usize];
                (
                    vec!["INCRBYFLOAT".into(), k.clone(), t.into()],
                    res(c.incr_by_float_text(&k, t), |b| R::Bulk(b.to_vec())),
                )
            }
            8 => (
                vec![
                    "SETRANGE".into(),
                    k.clone(),
                    (num.rem_euclid(20) - 1).to_string(),
                    v.clone(),
                ],
                res(c.setrange(&k, num.rem_euclid(20) - 1, &v), |n| {
                    R::Int(n as i64)
                }),
            ),
            9 => {
                let (s, en) = (rng.n(10) as i64 - 5, rng.n(10) as i64 - 5);
                (
                    vec!["GETRANGE".into(), k.clone(), s.to_string(), en.to_string()],
                    res(c.getrange(&k, s, en), |b| R::Bulk(b.to_vec())),
                )
            }
            10 => (
                vec!["STRLEN".into(), k.clone()],
                res(c.strlen(&k), |n| R::Int(n as i64)),
            ),
            11 => (
                vec!["MSET".into(), k.clone(), v.clone(), k2.clone(), "x".into()],
                res(c.mset(&[(&k, v.as_str()), (&k2, "x")]), |_| {
                    R::Simple("OK".into())
                }),
            ),
            12 => (
                vec![
                    "MSETNX".into(),
                    k.clone(),
                    v.clone(),
                    k2.clone(),
                    "y".into(),
                ],
                res(c.msetnx(&[(&k, v.as_str()), (&k2, "y")]), |b| {
                    R::Int(b as i64)
                }),
            ),
            13 => (
                vec!["MGET".into(), k.clone(), k2.clone()],
                R::Array(c.mget(&[&k, &k2]).into_iter().map(bulk).collect()),
            ),
            14 => (
                vec!["DEL".into(), k.clone(), k2.clone()],
                R::Int(c.del(&[&k, &k2]) as i64),
            ),
            15 => (
                vec!["EXISTS".into(), k.clone(), k2.clone(), k.clone()],
                R::Int(c.exists(&[&k, &k2, &k]) as i64),
            ),
            16 => (
                vec!["RENAME".into(), k.clone(), k2.clone()],
                res(c.rename(&k, &k2), |_| R::Simple("OK".into())),
            ),
            17 => (
                vec!["RENAMENX".into(), k.clone(), k2.clone()],
                res(c.renamenx(&k, &k2), |b| R::Int(b as i64)),
            ),
            18 => {
                let rep = rng.n(2) == 0;
                let mut args = vec!["COPY".into(), k.clone(), k2.clone()];
                if rep {
                    args.push("REPLACE".into());
                }
                (
                    args,
                    res(
                        c.copy(
                            &k,
                            &k2,
                            &CopyOptions {
                                db: None,
                                replace: rep,
                            },
                        ),
                        |b| R::Int(b as i64),
                    ),
                )
            }
            19 => {
                let cond = rng.n(5);
                let t = [100i64, -1, 0, 200, 50][rng.n(5) as usize];
                // Relative times compared with GT/LT race the two clocks' millisecond ticks;
                // half the time use EXPIREAT with absolute times, which cannot race.
                let abs = rng.n(2) == 0;
                let (flag, ec) = [
                    ("", ExpireCondition::Always),
                    ("NX", ExpireCondition::Nx),
                    ("XX", ExpireCondition::Xx),
                    ("GT", ExpireCondition::Gt),
                    ("LT", ExpireCondition::Lt),
                ][cond as usize];
                let when = if t > 0 { base + t } else { 1 };
                let mut args = if abs {
                    vec!["EXPIREAT".into(), k.clone(), when.to_string()]
                } else {
                    vec!["EXPIRE".into(), k.clone(), t.to_string()]
                };
                if !flag.is_empty() {
                    args.push(flag.into());
                }
                let r = if abs {
                    c.expire_at(&k, when, ec)
                } else {
                    c.expire(&k, t, ec)
                };
                (args, res(r, |b| R::Int(b as i64)))
            }
            20 => (vec!["TTL".into(), k.clone()], R::Int(c.ttl(&k))),
            21 => (
                vec!["PERSIST".into(), k.clone()],
                R::Int(c.persist(&k) as i64),
            ),
            22 => (
                vec!["TYPE".into(), k.clone()],
                R::Simple(c.key_type(&k).map_or("none", KeyType::as_str).into()),
            ),
            23 => (
                vec!["SETNX".into(), k.clone(), v.clone()],
                res(c.setnx(&k, &v), |b| R::Int(b as i64)),
            ),
            24 => {
                let mut ks: Vec<Vec<u8>> = c.keys("*").into_iter().map(|b| b.to_vec()).collect();
                ks.sort();
                (
                    vec!["KEYS".into(), "*".into()],
                    R::Array(ks.into_iter().map(R::Bulk).collect()),
                )
            }
            // Our database 1 is Redis's database 10 (the run uses 9 as our 0).
            26 => (
                vec!["MOVE".into(), k.clone(), "10".into()],
                res(c.move_key(&k, 1), |b| R::Int(b as i64)),
            ),
            27 => (
                vec!["SWAPDB".into(), "9".into(), "10".into()],
                res(c.swap_db(0, 1), |_| R::Simple("OK".into())),
            ),
            28 => (
                vec![
                    "COPY".into(),
                    k.clone(),
                    k2.clone(),
                    "DB".into(),
                    "10".into(),
                ],
                res(
                    c.copy(
                        &k,
                        &k2,
                        &CopyOptions {
                            db: Some(1),
                            replace: false,
                        },
                    ),
                    |b| R::Int(b as i64),
                ),
            ),
            _ => {
                let t = [100i64, 0, -1][rng.n(3) as usize];
                (
                    vec!["GETEX".into(), k.clone(), "EX".into(), t.to_string()],
                    res(c.getex(&k, Some(GetExExpiry::Ex(t))), bulk),
                )
            }
        };
        let mut theirs = redis.cmd(
            &args
                .iter()
                .map(|x| x.as_bytes().to_vec())
                .collect::<Vec<_>>(),
        );
        if op == 24
            && let R::Array(v) = &mut theirs
        {
            v.sort_by(|a, b| match (a, b) {
                (R::Bulk(x), R::Bulk(y)) => x.cmp(y),
                _ => std::cmp::Ordering::Equal,
            });
        }
        if trace
            .as_deref()
            .is_some_and(|t| args.iter().any(|x| x == t || x == "SWAPDB"))
        {
            let t = trace.clone().unwrap_or_default();
            let after_redis = redis.cmd(&[b"GET".to_vec(), t.as_bytes().to_vec()]);
            let after_ours = res(c.get(&t), bulk);
            println!(
                "trace {step}: {args:?} -> redis {theirs:?} ours {ours:?}; then GET: \
                 redis {after_redis:?} ours {after_ours:?}"
            );
        }
        // TTL seconds are rounded from two clocks read microseconds apart: allow 1.
        let close = op == 20
            && matches!((&ours, &theirs), (R::Int(x), R::Int(y)) if (x - y).abs() <= 1 && *x >= 0);
        // A relative GT/LT on equal seconds depends on which clock ticked a millisecond.
        let racy = op == 19 && args[0] == "EXPIRE" && args.len() == 4;
        if ours != theirs && !close && !racy {
            mismatches += 1;
            if mismatches < 20 {
                println!(
                    "step {step}: {:?}\n   redis: {:?}\n   ours:  {:?}",
                    args, theirs, ours
                );
            }
        }
    }
    println!("{steps} steps, {mismatches} mismatches");
    assert_eq!(mismatches, 0);
}
