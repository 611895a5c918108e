//! An application using Sabaody in-process: several worker threads share one `Cache`,
//! store sessions with TTLs, count page views atomically, and read each other's writes.
//! Expired sessions disappear on their own (lazy expiry plus the housekeeping thread).
//!
//! ```sh
//! cargo run --release --example embedded
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody::{Cache, ExpireCondition, Keyspace, SetExpiry, SetOptions};
use std::time::Duration;

fn main() {
    // 16 databases, the default shard count, a housekeeping thread for active expiry.
    let cache = Cache::builder().build();

    let workers: Vec<_> = (0..4)
        .map(|w| {
            let cache = cache.clone(); // cheap: all clones share the same store
            std::thread::spawn(move || {
                for i in 0..1000 {
                    let user = format!("user:{}", (w * 1000 + i) % 1500);
                    // A short-lived session: SET session:<user> <token> PX 200
                    let opts = SetOptions {
                        expiry: Some(SetExpiry::Px(200)),
                        ..SetOptions::default()
                    };
                    cache
                        .set_with(format!("session:{user}"), format!("token-{w}-{i}"), &opts)
                        .unwrap();
                    // Page views: INCR is atomic across threads.
                    cache.incr("views:home").unwrap();
                    cache.incr_by(format!("views:{user}"), 2).unwrap();
                    // Keep the per-user counters for an hour, but never shorten a longer TTL.
                    cache
                        .expire(format!("views:{user}"), 3600, ExpireCondition::Nx)
                        .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }

    let views = cache.get("views:home").unwrap().unwrap();
    println!("views:home = {}", String::from_utf8_lossy(&views));
    assert_eq!(&views[..], b"4000");
    println!(
        "sessions right after the burst: {}",
        cache.keys("session:*").len()
    );
    println!("ttl of views:user:7 = {} s", cache.ttl("views:user:7"));

    // Sessions expire after 200 ms; no one reads them, the housekeeping thread reclaims them.
    std::thread::sleep(Duration::from_millis(600));
    println!("sessions 600 ms later: {}", cache.keys("session:*").len());
    let info = cache.keyspace_info()[0];
    println!(
        "db0: keys={} expires={} used_memory={} B  stats={:?}",
        info.keys,
        info.expires,
        cache.used_memory(),
        cache.stats()
    );

    // A second database of the same store, as Redis's SELECT 1.
    let db1 = cache.db(1).unwrap();
    db1.set("config:mode", "embedded").unwrap();
    assert_eq!(cache.get("config:mode").unwrap(), None);

    // MULTI/EXEC-style atomic batch.
    let (a, b) = cache.transaction(|tx| {
        tx.set("balance:a", "100").unwrap();
        tx.set("balance:b", "0").unwrap();
        let a = tx.decr_by("balance:a", 30).unwrap();
        let b = tx.incr_by("balance:b", 30).unwrap();
        (a, b)
    });
    println!("after transfer: a={a} b={b}");
}
