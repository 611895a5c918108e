//! The memory bound: each policy evicts only what it may, OOM under noeviction, lowering the
//! bound evicts down to it, LFU counters grow and decay on the manual clock (by minute
//! boundaries, as Redis), idle times,
//! the eviction listener and counters, and the bound under two writer threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_core::{
    Cache, Error, EvictionPolicy, ExpireCondition, Keyspace, ManualClock, RemovalCause,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const START: i64 = 1_700_000_000_000;

/// What an eviction listener heard: (key, cause).
type Log = Vec<(Vec<u8>, RemovalCause)>;

fn cache(policy: EvictionPolicy) -> (Cache, ManualClock) {
    let clock = ManualClock::new(START);
    let c = Cache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .shards(16)
        .eviction_policy(policy)
        .build();
    (c, clock)
}

fn key(i: usize) -> String {
    format!("key:{i:05}")
}

fn live_keys(c: &Cache, n: usize) -> HashSet<usize> {
    (0..n).filter(|&i| c.exists(&[key(i)]) == 1).collect()
}

#[test]
fn noeviction_refuses_writes_but_serves_reads_and_deletes() {
    let (c, _) = cache(EvictionPolicy::NoEviction);
    for i in 0..100 {
        c.set(key(i), "value").unwrap();
    }
    assert_eq!(c.set_max_memory(1), 0, "noeviction evicts nothing");
    assert_eq!(c.set("new", "v"), Err(Error::OutOfMemory));
    assert_eq!(c.incr("counter"), Err(Error::OutOfMemory));
    assert_eq!(c.append(key(1), "x"), Err(Error::OutOfMemory));
    assert_eq!(
        Error::OutOfMemory.redis_text(),
        "OOM command not allowed when used memory > 'maxmemory'."
    );
    assert_eq!(c.get(key(3)).unwrap().as_deref(), Some(&b"value"[..]));
    assert_eq!(c.del(&[key(3)]), 1);
    assert_eq!(c.dbsize(), 99);
    c.set_max_memory(0);
    c.set("new", "v").unwrap();
    assert_eq!(c.stats().evicted_keys, 0);
}

#[test]
fn lowering_the_bound_evicts_down_to_it() {
    let (c, _) = cache(EvictionPolicy::AllKeysRandom);
    for i in 0..1000 {
        c.set(key(i), "some value").unwrap();
    }
    let used = c.used_memory();
    let evicted = c.set_max_memory((used / 2) as u64);
    assert!(
        c.used_memory() <= used / 2,
        "{} > {}",
        c.used_memory(),
        used / 2
    );
    assert!((400..=600).contains(&evicted), "evicted {evicted}");
    assert_eq!(c.stats().evicted_keys, evicted as u64);
    assert_eq!(c.dbsize() + evicted, 1000);
    c.validate().unwrap();
}

#[test]
fn allkeys_lru_keeps_recently_used_keys() {
    let (c, clock) = cache(EvictionPolicy::AllKeysLru);
    for i in 0..400 {
        c.set(key(i), "v").unwrap();
        clock.advance(Duration::from_millis(10));
    }
    // Read the upper half again, later: they are the recently used ones.
    for i in 200..400 {
        c.get(key(i)).unwrap();
        clock.advance(Duration::from_millis(10));
    }
    let used = c.used_memory();
    c.set_max_memory((used / 2) as u64);
    let live = live_keys(&c, 400);
    let recent = live.iter().filter(|&&i| i >= 200).count();
    assert!(
        recent * 100 >= live.len() * 80,
        "{recent} of {} survivors are recently used",
        live.len()
    );
    // OBJECT IDLETIME: seconds since the last access, without counting as one.
    let newest = key(399);
    assert_eq!(c.object_idletime(&newest).unwrap(), Some(0));
    clock.advance(Duration::from_secs(30));
    assert_eq!(c.object_idletime(&newest).unwrap(), Some(30));
    assert_eq!(c.object_idletime(&newest).unwrap(), Some(30));
    assert_eq!(c.touch(&[newest.as_str(), "missing"]), 1);
    assert_eq!(c.object_idletime(&newest).unwrap(), Some(0));
    assert_eq!(c.object_idletime("missing").unwrap(), None);
    assert_eq!(c.object_freq(&newest), Err(Error::LfuNotSelected));
}

#[test]
fn volatile_policies_never_touch_keys_without_ttl() {
    for policy in [
        EvictionPolicy::VolatileLru,
        EvictionPolicy::VolatileLfu,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
    ] {
        let (c, _) = cache(policy);
        for i in 0..200 {
            c.set(key(i), "value").unwrap();
            if i % 2 == 1 {
                c.expire(key(i), 1000, ExpireCondition::Always).unwrap();
            }
        }
        let used = c.used_memory();
        c.set_max_memory((used * 3 / 4) as u64);
        let live = live_keys(&c, 200);
        assert!(
            (0..200).step_by(2).all(|i| live.contains(&i)),
            "{policy:?} evicted a key without TTL"
        );
        assert!(live.len() < 200, "{policy:?} evicted nothing");
        // Below what the keys without TTL need: every volatile key goes, then OOM.
        c.set_max_memory((used / 4) as u64);
        assert_eq!(c.dbsize(), 100, "{policy:?}");
        assert_eq!(c.set("more", "v"), Err(Error::OutOfMemory), "{policy:?}");
        c.validate().unwrap();
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let (c, _) = cache(EvictionPolicy::VolatileTtl);
    c.set_eviction_samples(10);
    for i in 0..300 {
        c.set(key(i), "value").unwrap();
        c.expire(key(i), 1000 + i as i64, ExpireCondition::Always)
            .unwrap();
    }
    let used = c.used_memory();
    c.set_max_memory((used * 2 / 3) as u64);
    let evicted: Vec<usize> = (0..300).filter(|&i| c.exists(&[key(i)]) == 0).collect();
    assert!(evicted.len() >= 90, "{}", evicted.len());
    let near = evicted.iter().filter(|&&i| i < 150).count();
    assert!(
        near * 100 >= evicted.len() * 90,
        "only {near} of {} evicted keys had the nearer expiries",
        evicted.len()
    );
}

#[test]
fn lfu_counters_grow_logarithmically_and_decay() {
    let (c, clock) = cache(EvictionPolicy::AllKeysLfu);
    c.set("k", "v").unwrap();
    assert_eq!(c.object_freq("k").unwrap(), Some(5), "new keys start at 5");
    assert_eq!(c.object_idletime("k"), Err(Error::LfuSelected));
    // With lfu-log-factor 0 every access counts.
    c.set_lfu_log_factor(0);
    for _ in 0..10 {
        c.get("k").unwrap();
    }
    assert_eq!(c.object_freq("k").unwrap(), Some(15));
    // OBJECT FREQ itself is not an access.
    assert_eq!(c.object_freq("k").unwrap(), Some(15));
    // Default factor 10: growth slows down; 1,000 accesses stay far below 255.
    c.set_lfu_log_factor(10);
    for _ in 0..1000 {
        c.get("k").unwrap();
    }
    let f = c.object_freq("k").unwrap().unwrap();
    assert!((16..=40).contains(&f), "freq {f} after 1,000 accesses");
    // Decay: one per lfu-decay-time minutes without access.
    clock.advance(Duration::from_secs(3 * 60));
    assert_eq!(c.object_freq("k").unwrap(), Some(f - 3));
    c.set_lfu_decay_time(0);
    clock.advance(Duration::from_secs(60 * 60));
    assert_eq!(
        c.object_freq("k").unwrap(),
        Some(f),
        "decay-time 0: no decay"
    );
    c.set_lfu_decay_time(1);
    clock.advance(Duration::from_secs(24 * 60 * 60));
    assert_eq!(c.object_freq("k").unwrap(), Some(0));
    assert_eq!(c.object_freq("missing").unwrap(), None);
}

/// Redis keeps the last access in minutes, so decay counts minute boundaries crossed: a key
/// read 100 ms before a boundary has lost one period 200 ms later, and a key read every 30 s
/// still decays by one per minute.
#[test]
fn lfu_decay_counts_minute_boundaries() {
    let (c, clock) = cache(EvictionPolicy::AllKeysLfu);
    c.set_lfu_log_factor(0);
    // START is 20 s into a minute: 100 ms before the next boundary.
    clock.set_ms(START + 40_000 - 100);
    c.set("k", "v").unwrap();
    for _ in 0..10 {
        c.get("k").unwrap();
    }
    assert_eq!(c.object_freq("k").unwrap(), Some(15));
    clock.advance(Duration::from_millis(99));
    assert_eq!(c.object_freq("k").unwrap(), Some(15), "same minute");
    clock.advance(Duration::from_millis(2));
    assert_eq!(
        c.object_freq("k").unwrap(),
        Some(14),
        "one boundary crossed"
    );
    // Read every 30 s with increments all but off: one period lost per minute.
    c.set_lfu_log_factor(u32::MAX);
    c.get("k").unwrap(); // decays to 14, then +1 with probability ~1e-10
    for _ in 0..6 {
        clock.advance(Duration::from_secs(30));
        c.get("k").unwrap();
    }
    assert_eq!(
        c.object_freq("k").unwrap(),
        Some(11),
        "three minutes of reads every 30 s"
    );
}

#[test]
fn allkeys_lfu_keeps_frequently_used_keys() {
    let (c, _) = cache(EvictionPolicy::AllKeysLfu);
    c.set_lfu_log_factor(0);
    for i in 0..400 {
        c.set(key(i), "v").unwrap();
    }
    for _ in 0..5 {
        for i in (0..400).step_by(2) {
            c.get(key(i)).unwrap();
        }
    }
    let used = c.used_memory();
    c.set_max_memory((used / 2) as u64);
    let live = live_keys(&c, 400);
    let hot = live.iter().filter(|&&i| i % 2 == 0).count();
    assert!(
        hot * 100 >= live.len() * 80,
        "{hot} of {} survivors are frequently used",
        live.len()
    );
}

#[test]
fn writes_evict_as_they_go_and_the_listener_hears_every_cause() {
    let seen: Arc<Mutex<Log>> = Arc::default();
    let log = Arc::clone(&seen);
    let clock = ManualClock::new(START);
    let c = Cache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .shards(16)
        .eviction_policy(EvictionPolicy::AllKeysLru)
        .eviction_listener(move |k: &[u8], cause| {
            log.lock().unwrap().push((k.to_vec(), cause));
        })
        .build();
    c.set("gone", "v").unwrap();
    c.del(&["gone", "never-there"]);
    c.set("short", "v").unwrap();
    c.pexpire("short", 10, ExpireCondition::Always).unwrap();
    clock.advance(Duration::from_millis(20));
    assert_eq!(c.get("short").unwrap(), None);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            vec![
                (b"gone".to_vec(), RemovalCause::Removed),
                (b"short".to_vec(), RemovalCause::Expired)
            ]
        );
    }
    c.set_max_memory(20_000);
    for i in 0..2000 {
        c.set(key(i), "0123456789").unwrap();
        assert!(c.used_memory() <= 20_000 + 200, "{}", c.used_memory());
    }
    let evicted = c.stats().evicted_keys;
    assert!(evicted > 1000, "{evicted}");
    let seen = seen.lock().unwrap();
    let heard = seen
        .iter()
        .filter(|(_, cause)| *cause == RemovalCause::Evicted)
        .count();
    assert_eq!(heard as u64, evicted);
    // A listener may call back into the cache: it runs after the locks are released.
    drop(seen);
    let c2 = Cache::builder()
        .housekeeping(false)
        .eviction_policy(EvictionPolicy::AllKeysRandom)
        .max_memory(5_000)
        .build();
    let inner = c2.clone();
    let c3 = Cache::builder()
        .housekeeping(false)
        .eviction_policy(EvictionPolicy::AllKeysRandom)
        .eviction_listener(move |k: &[u8], _| {
            inner.set(k, "moved").unwrap();
        })
        .build();
    c3.set("a", "1").unwrap();
    c3.del(&["a"]);
    assert_eq!(c2.get("a").unwrap().as_deref(), Some(&b"moved"[..]));
}

/// Two threads write random keys with random values up to 4 KiB against a 16 MiB bound:
/// accounted memory (its peak included) never passes the bound by more than 1% + one value.
#[test]
fn the_bound_holds_under_two_writer_threads() {
    const MAX: u64 = 16 << 20;
    for policy in [EvictionPolicy::AllKeysLru, EvictionPolicy::AllKeysLfu] {
        let c = Cache::builder()
            .housekeeping(false)
            .eviction_policy(policy)
            .max_memory(MAX)
            .build();
        let value = vec![b'x'; 4096];
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let c = c.clone();
                let value = &value;
                s.spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(t);
                    for _ in 0..40_000 {
                        let k = format!("k:{}:{}", t, rng.u32(..200_000));
                        let len = rng.usize(1..=4096);
                        c.set(k.as_bytes(), &value[..len]).unwrap();
                    }
                });
            }
        });
        let bound = MAX + MAX / 100 + 4096 + 200;
        assert!(
            c.peak_memory() as u64 <= bound,
            "{policy:?}: peak {} > {bound}",
            c.peak_memory()
        );
        assert!(c.stats().evicted_keys > 0);
        c.validate().unwrap();
    }
}

/// Every family's creating writes evict (or are refused) like string writes do.
#[test]
fn collection_and_bitmap_writes_respect_the_bound() {
    use sabaody_core::{BitOps, HashOps, HllOps, ListOps, SetOps, ZAddOptions, ZSetOps};
    let (c, _) = cache(EvictionPolicy::NoEviction);
    for i in 0..100 {
        c.set(key(i), "value").unwrap();
    }
    c.set_max_memory(1);
    assert_eq!(c.sadd("s", &["a"]), Err(Error::OutOfMemory));
    assert_eq!(
        c.zadd("z", &ZAddOptions::default(), &[(1.0, "a")]),
        Err(Error::OutOfMemory)
    );
    assert_eq!(c.hset("h", &[("f", "v")]), Err(Error::OutOfMemory));
    assert_eq!(c.rpush("l", &["a"]), Err(Error::OutOfMemory));
    assert_eq!(c.setbit("b", 7, true), Err(Error::OutOfMemory));
    assert_eq!(c.pfadd("p", &["a"]), Err(Error::OutOfMemory));
    assert_eq!(c.dbsize(), 100);
    // With a policy that may evict, the same writes succeed and keep memory bounded.
    c.set_eviction_policy(EvictionPolicy::AllKeysRandom);
    let used = c.used_memory() as u64;
    c.set_max_memory(used);
    for i in 0..200 {
        c.sadd(format!("s{i}"), &["a", "b"]).unwrap();
        c.zadd(format!("z{i}"), &ZAddOptions::default(), &[(1.0, "a")])
            .unwrap();
        c.setbit(format!("b{i}"), 100, true).unwrap();
    }
    assert!(c.stats().evicted_keys > 0);
    assert!(c.used_memory() as u64 <= used + 2048, "{}", c.used_memory());
    c.validate().unwrap();
}
