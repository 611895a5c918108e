//! Several threads run mixed operations (single- and multi-key, TTLs, active expiry,
//! transactions) on one cache; afterwards every internal invariant must hold and the
//! per-thread counters must add up. Run with `cargo test --release -p sabaody-core`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_core::{Cache, ExpireCondition, Keyspace, ScanOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[test]
fn threads_mixed_ops_keep_invariants() {
    let cache = Cache::builder().shards(8).hz(50).build();
    let threads = 4;
    let iters = if cfg!(debug_assertions) {
        20_000
    } else {
        200_000
    };
    let stop = Arc::new(AtomicBool::new(false));
    let scanner = {
        let c = cache.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut scans = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut cur = 0;
                loop {
                    let (n, _) = c.scan(
                        cur,
                        &ScanOptions {
                            count: 50,
                            ..ScanOptions::default()
                        },
                    );
                    if n == 0 {
                        break;
                    }
                    cur = n;
                }
                c.active_expire_cycle(Duration::from_millis(1));
                // Invariants (including the global used_memory total) hold mid-flight too.
                c.validate().unwrap();
                scans += 1;
            }
            scans
        })
    };
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let c = cache.clone();
            std::thread::spawn(move || {
                let mut x: u64 = 0x1234_5678 + t;
                let own = format!("counter:{t}");
                let mut mine = 0i64;
                for i in 0..iters {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = format!("k{}", x % 2000);
                    let k2 = format!("k{}", (x >> 20) % 2000);
                    match x % 16 {
                        0..=4 => {
                            let _ = c.get(&k);
                        }
                        5 | 6 => c.set(&k, "x".repeat((x % 90) as usize)).unwrap(),
                        7 => {
                            let _ = c.incr(&k);
                        }
                        8 => {
                            c.del(&[&k, &k2]);
                        }
                        9 => {
                            let _ = c.rename(&k, &k2);
                        }
                        10 => {
                            let _ = c.pexpire(&k, (x % 5) as i64, ExpireCondition::Always);
                        }
                        11 => c.mset(&[(&k, "a"), (&k2, "b")]).unwrap(),
                        12 => {
                            let _ = c.append(&k, "yz");
                        }
                        13 => {
                            c.transaction(|tx| {
                                let _ = tx.incr(&k);
                                let _ = tx.get(&k2);
                            });
                        }
                        14 => {
                            c.psetex(&k, 1 + (x % 3) as i64, "t").unwrap();
                        }
                        _ => {
                            c.incr(&own).unwrap();
                            mine += 1;
                        }
                    }
                    if i % 5000 == 0 {
                        let _ = c.persist(&k);
                    }
                }
                mine
            })
        })
        .collect();
    let mut total = 0;
    for (t, h) in handles.into_iter().enumerate() {
        let mine = h.join().unwrap();
        total += mine;
        let got = cache.get(format!("counter:{t}")).unwrap();
        assert_eq!(got.as_deref(), Some(mine.to_string().as_bytes()));
    }
    stop.store(true, Ordering::Relaxed);
    assert!(scanner.join().unwrap() > 0);
    assert!(total > 0);
    cache.validate().unwrap();
    // The housekeeping thread (hz 50) may delete expired keys between the two readings:
    // they must agree once it has nothing left to delete between them.
    let agreed = (0..200).any(|_| {
        let keys = cache.keyspace_info()[0].keys;
        let same = keys == cache.dbsize();
        if !same {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        same
    });
    assert!(agreed, "keyspace_info and dbsize never agreed");
    cache.flush_all();
    assert_eq!(cache.used_memory(), 0);
    cache.validate().unwrap();
}

/// Transactions and multi-key operations are atomic: threads move amounts between
/// accounts inside `transaction` (and with MSET), while observers read all accounts with
/// one MGET; the total never changes.
#[test]
fn transactions_are_atomic_under_concurrency() {
    let cache = Cache::builder().shards(16).housekeeping(false).build();
    let accounts: Vec<String> = (0..10).map(|i| format!("acct:{i}")).collect();
    for a in &accounts {
        cache.set(a, "100").unwrap();
    }
    let iters = if cfg!(debug_assertions) {
        2_000
    } else {
        20_000
    };
    let stop = Arc::new(AtomicBool::new(false));
    let observers: Vec<_> = (0..2)
        .map(|_| {
            let (c, stop, accounts) = (cache.clone(), Arc::clone(&stop), accounts.clone());
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let total: i64 = c
                        .mget(&accounts)
                        .iter()
                        .map(|v| {
                            std::str::from_utf8(v.as_ref().unwrap())
                                .unwrap()
                                .parse::<i64>()
                                .unwrap()
                        })
                        .sum();
                    assert_eq!(total, 1000);
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let movers: Vec<_> = (0..3u64)
        .map(|t| {
            let (c, accounts) = (cache.clone(), accounts.clone());
            std::thread::spawn(move || {
                let mut x = 0x2545_F491_4F6C_DD1D ^ t;
                for _ in 0..iters {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let from = &accounts[(x % 10) as usize];
                    let to = &accounts[((x >> 8) % 10) as usize];
                    let amount = (x >> 16) as i64 % 7;
                    c.transaction(|tx| {
                        tx.decr_by(from, amount).unwrap();
                        tx.incr_by(to, amount).unwrap();
                    });
                }
            })
        })
        .collect();
    for m in movers {
        m.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for o in observers {
        assert!(o.join().unwrap() > 0);
    }
    let total: i64 = cache
        .mget(&accounts)
        .iter()
        .map(|v| {
            std::str::from_utf8(v.as_ref().unwrap())
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 1000);
    cache.validate().unwrap();
}
