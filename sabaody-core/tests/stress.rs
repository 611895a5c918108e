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
    let info = cache.keyspace_info();
    assert_eq!(info[0].keys, cache.dbsize());
    cache.flush_all();
    assert_eq!(cache.used_memory(), 0);
    cache.validate().unwrap();
}
