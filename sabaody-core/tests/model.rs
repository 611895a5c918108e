//! Randomized model test: thousands of random operations on `Cache` and on a simple
//! single-threaded reference model of Redis's semantics; every result must agree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use sabaody_core::{
    Cache, CopyOptions, Error, ExpireCondition, GetExExpiry, Keyspace, ManualClock, SetCondition,
    SetExpiry, SetOptions,
};
use std::collections::HashMap;
use std::time::Duration;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn i(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// The reference: a plain map of key -> (value, expire-at ms).
#[derive(Default)]
struct Model {
    map: HashMap<Vec<u8>, (Vec<u8>, Option<i64>)>,
    now: i64,
}

impl Model {
    fn purge(&mut self) {
        let now = self.now;
        self.map.retain(|_, (_, t)| t.is_none_or(|t| now <= t));
    }
    fn get(&mut self, k: &[u8]) -> Option<Vec<u8>> {
        self.purge();
        self.map.get(k).map(|(v, _)| v.clone())
    }
    fn ttl_of(&mut self, k: &[u8]) -> Option<Option<i64>> {
        self.purge();
        self.map.get(k).map(|(_, t)| *t)
    }
}

fn strict_int(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

fn key(r: &mut Rng) -> Vec<u8> {
    format!("k{}", r.below(12)).into_bytes()
}

fn value(r: &mut Rng) -> Vec<u8> {
    match r.below(6) {
        0 => r.i(-1000, 1000).to_string().into_bytes(),
        1 => format!("0{}", r.below(10)).into_bytes(),
        2 => vec![b'x'; r.below(120) as usize],
        3 => i64::MAX.to_string().into_bytes(),
        _ => format!("v{}", r.below(1000)).into_bytes(),
    }
}

fn bytes(v: Option<Vec<u8>>) -> Option<Bytes> {
    v.map(Bytes::from)
}

#[test]
fn random_ops_match_reference_model() {
    // SABAODY_MODEL_SEEDS / SABAODY_MODEL_STEPS make longer runs (fuzz-style) possible.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (seeds, steps) = (
        env("SABAODY_MODEL_SEEDS", 8),
        env("SABAODY_MODEL_STEPS", 4000),
    );
    for seed in 1..=seeds {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), steps as usize);
    }
}

fn run(seed: u64, steps: usize) {
    let clock = ManualClock::new(1_700_000_000_000);
    let c = Cache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .shards(4)
        .build();
    let mut m = Model {
        now: clock.now_ms_for_test(),
        ..Model::default()
    };
    let mut r = Rng(seed);
    for step in 0..steps {
        let op = r.below(22);
        let k = key(&mut r);
        let ctx = format!(
            "seed {seed} step {step} op {op} key {}",
            String::from_utf8_lossy(&k)
        );
        match op {
            0 => {
                let v = value(&mut r);
                c.set(&k, &v).unwrap();
                m.purge();
                m.map.insert(k, (v, None));
            }
            1 => assert_eq!(c.get(&k).unwrap(), bytes(m.get(&k)), "{ctx}"),
            2 => {
                let ks = [k.clone(), key(&mut r), k.clone()];
                m.purge();
                let want = ks.iter().filter(|x| m.map.contains_key(*x)).count();
                assert_eq!(c.exists(&ks), want, "{ctx}");
            }
            3 => {
                let ks = [k.clone(), key(&mut r)];
                m.purge();
                let mut n = 0;
                for x in &ks {
                    if m.map.remove(x).is_some() {
                        n += 1;
                    }
                }
                assert_eq!(c.del(&ks), n, "{ctx}");
            }
            4 => {
                let by = if r.below(10) == 0 {
                    r.i(-2, 2) * (i64::MAX / 2)
                } else {
                    r.i(-5, 5)
                };
                let want = match m.get(&k) {
                    None => Ok(by),
                    Some(v) => match strict_int(&v) {
                        None => Err(Error::NotInteger),
                        Some(cur) => cur.checked_add(by).ok_or(Error::Overflow),
                    },
                };
                assert_eq!(c.incr_by(&k, by), want, "{ctx}");
                if let Ok(n) = want {
                    let ttl = m.map.get(&k).and_then(|x| x.1);
                    m.map.insert(k, (n.to_string().into_bytes(), ttl));
                }
            }
            5 => {
                let v = value(&mut r);
                let want = match m.get(&k) {
                    None => {
                        m.map.insert(k.clone(), (v.clone(), None));
                        v.len()
                    }
                    Some(mut cur) => {
                        cur.extend_from_slice(&v);
                        let n = cur.len();
                        m.map.get_mut(&k).unwrap().0 = cur;
                        n
                    }
                };
                assert_eq!(c.append(&k, &v).unwrap(), want, "{ctx}");
            }
            6 => {
                let want = m.get(&k);
                m.map.remove(&k);
                assert_eq!(c.getdel(&k).unwrap(), bytes(want), "{ctx}");
            }
            7 => {
                let ms = r.i(-10, 3000);
                let cond = [
                    ExpireCondition::Always,
                    ExpireCondition::Nx,
                    ExpireCondition::Xx,
                    ExpireCondition::Gt,
                    ExpireCondition::Lt,
                ][r.below(5) as usize];
                let when = m.now + ms;
                let want = match m.ttl_of(&k) {
                    None => false,
                    Some(cur) => {
                        let ok = match cond {
                            ExpireCondition::Always => true,
                            ExpireCondition::Nx => cur.is_none(),
                            ExpireCondition::Xx => cur.is_some(),
                            ExpireCondition::Gt => cur.is_some_and(|c| when > c),
                            ExpireCondition::Lt => cur.is_none_or(|c| when < c),
                        };
                        if ok {
                            if when <= m.now {
                                m.map.remove(&k);
                            } else {
                                m.map.get_mut(&k).unwrap().1 = Some(when);
                            }
                        }
                        ok
                    }
                };
                assert_eq!(c.pexpire(&k, ms, cond).unwrap(), want, "{ctx}");
            }
            8 => {
                let want = match m.ttl_of(&k) {
                    None => -2,
                    Some(None) => -1,
                    Some(Some(t)) => t - m.now,
                };
                assert_eq!(c.pttl(&k), want, "{ctx}");
            }
            9 => {
                let want = matches!(m.ttl_of(&k), Some(Some(_)));
                if want {
                    m.map.get_mut(&k).unwrap().1 = None;
                }
                assert_eq!(c.persist(&k), want, "{ctx}");
            }
            10 => {
                let d = key(&mut r);
                let nx = r.below(2) == 0;
                m.purge();
                let want = match m.map.get(&k).cloned() {
                    None => Err(Error::NoSuchKey),
                    Some(_) if k == d => Ok(!nx),
                    Some(_) if nx && m.map.contains_key(&d) => Ok(false),
                    Some(e) => {
                        m.map.remove(&k);
                        m.map.insert(d.clone(), e);
                        Ok(true)
                    }
                };
                let got = if nx {
                    c.renamenx(&k, &d)
                } else {
                    c.rename(&k, &d).map(|()| true)
                };
                assert_eq!(got, want, "{ctx}");
            }
            11 => {
                let d = key(&mut r);
                let replace = r.below(2) == 0;
                m.purge();
                let want = if k == d {
                    Err(Error::SameObject)
                } else {
                    match m.map.get(&k).cloned() {
                        None => Ok(false),
                        Some(_) if m.map.contains_key(&d) && !replace => Ok(false),
                        Some(e) => {
                            m.map.insert(d.clone(), e);
                            Ok(true)
                        }
                    }
                };
                let opts = CopyOptions { db: None, replace };
                assert_eq!(c.copy(&k, &d, &opts), want, "{ctx}");
            }
            12 => {
                let off = r.i(0, 60);
                let v = value(&mut r);
                let want = match m.get(&k) {
                    None if v.is_empty() => 0,
                    cur => {
                        let mut s = cur.unwrap_or_default();
                        if !v.is_empty() {
                            let off = off as usize;
                            if s.len() < off + v.len() {
                                s.resize(off + v.len(), 0);
                            }
                            s[off..off + v.len()].copy_from_slice(&v);
                            let ttl = m.map.get(&k).and_then(|x| x.1);
                            m.map.insert(k.clone(), (s.clone(), ttl));
                        }
                        s.len()
                    }
                };
                assert_eq!(c.setrange(&k, off, &v).unwrap(), want, "{ctx}");
            }
            13 => {
                let (s, e) = (r.i(-20, 20), r.i(-20, 20));
                let want = m.get(&k).map_or_else(Vec::new, |v| {
                    let len = v.len() as i64;
                    if s < 0 && e < 0 && s > e {
                        return Vec::new();
                    }
                    let (mut s2, mut e2) = (
                        if s < 0 { s + len } else { s },
                        if e < 0 { e + len } else { e },
                    );
                    s2 = s2.max(0);
                    e2 = e2.max(0);
                    if e2 >= len {
                        e2 = len - 1;
                    }
                    if s2 > e2 || len == 0 {
                        Vec::new()
                    } else {
                        v[s2 as usize..=e2 as usize].to_vec()
                    }
                });
                assert_eq!(c.getrange(&k, s, e).unwrap(), Bytes::from(want), "{ctx}");
            }
            14 => {
                let want = m.get(&k).map_or(0, |v| v.len());
                assert_eq!(c.strlen(&k).unwrap(), want, "{ctx}");
            }
            15 => {
                let pairs = vec![(k.clone(), value(&mut r)), (key(&mut r), value(&mut r))];
                m.purge();
                let nx = r.below(2) == 0;
                let blocked = nx && pairs.iter().any(|(k, _)| m.map.contains_key(k));
                if !blocked {
                    for (k, v) in &pairs {
                        m.map.insert(k.clone(), (v.clone(), None));
                    }
                }
                if nx {
                    assert_eq!(c.msetnx(&pairs).unwrap(), !blocked, "{ctx}");
                } else {
                    c.mset(&pairs).unwrap();
                }
            }
            16 => {
                let ks = [k.clone(), key(&mut r)];
                let want: Vec<_> = ks.iter().map(|x| bytes(m.get(x))).collect();
                assert_eq!(c.mget(&ks), want, "{ctx}");
            }
            17 => {
                let ms = r.i(0, 1500);
                clock.advance(Duration::from_millis(ms as u64));
                m.now += ms;
            }
            18 => {
                let v = value(&mut r);
                let cond = [
                    SetCondition::Always,
                    SetCondition::IfAbsent,
                    SetCondition::IfExists,
                ][r.below(3) as usize];
                let expiry = match r.below(4) {
                    0 => None,
                    1 => Some(SetExpiry::Px(r.i(1, 2000))),
                    2 => Some(SetExpiry::KeepTtl),
                    _ => Some(SetExpiry::Ex(r.i(1, 3))),
                };
                let get = r.below(2) == 0;
                let old = m.get(&k);
                let old_ttl = m.map.get(&k).and_then(|x| x.1);
                let write = match cond {
                    SetCondition::Always => true,
                    SetCondition::IfAbsent => old.is_none(),
                    SetCondition::IfExists => old.is_some(),
                };
                if write {
                    let ttl = match expiry {
                        None => None,
                        Some(SetExpiry::KeepTtl) => old_ttl,
                        Some(SetExpiry::Px(p)) => Some(m.now + p),
                        Some(SetExpiry::Ex(s)) => Some(m.now + s * 1000),
                        Some(_) => unreachable!(),
                    };
                    m.map.insert(k.clone(), (v.clone(), ttl));
                }
                let o = c
                    .set_with(
                        &k,
                        &v,
                        &SetOptions {
                            condition: cond,
                            get,
                            expiry,
                        },
                    )
                    .unwrap();
                assert_eq!(o.written, write, "{ctx}");
                assert_eq!(o.previous, if get { bytes(old) } else { None }, "{ctx}");
            }
            19 => {
                let want = m.get(&k);
                let opt = match r.below(3) {
                    0 => None,
                    1 => Some(GetExExpiry::Persist),
                    _ => Some(GetExExpiry::Px(r.i(1, 2000))),
                };
                if want.is_some() {
                    match opt {
                        Some(GetExExpiry::Persist) => m.map.get_mut(&k).unwrap().1 = None,
                        Some(GetExExpiry::Px(p)) => m.map.get_mut(&k).unwrap().1 = Some(m.now + p),
                        _ => {}
                    }
                }
                assert_eq!(c.getex(&k, opt).unwrap(), bytes(want), "{ctx}");
            }
            20 => {
                m.purge();
                let mut want: Vec<Vec<u8>> = m.map.keys().cloned().collect();
                want.sort();
                let mut got: Vec<Vec<u8>> = c.keys("*").into_iter().map(|b| b.to_vec()).collect();
                got.sort();
                assert_eq!(got, want, "{ctx}");
            }
            _ => {
                if r.below(50) == 0 {
                    c.active_expire_cycle(Duration::from_secs(1));
                    m.purge();
                    assert!(c.dbsize() >= m.map.len(), "{ctx}");
                }
                c.validate().unwrap_or_else(|e| panic!("{ctx}: {e}"));
            }
        }
    }
    c.validate().unwrap();
}

trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}
impl NowForTest for ManualClock {
    fn now_ms_for_test(&self) -> i64 {
        use sabaody_core::Clock;
        self.now_ms()
    }
}
