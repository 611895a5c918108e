//! Memory per key: inserts 1M keys (16-byte keys, 16-byte values) and reports the growth of
//! the process's resident set size per key, without and with a TTL on every key.
//! Each variant runs in a fresh child process so one does not inherit the other's heap.
//!
//! ```sh
//! cargo run --release --example memory_per_key
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody::{Cache, ExpireCondition, Keyspace};
use std::io::Write;

const N: usize = 1_000_000;

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn measure(ttl: bool) {
    let cache = Cache::builder().housekeeping(false).build();
    // Touch the empty store first so its fixed cost is not charged to the keys.
    cache.set("warmup", "x").unwrap();
    cache.del(&["warmup"]);
    let before = rss_bytes();
    let mut key = [0u8; 16];
    let mut val = [0u8; 16];
    for i in 0..N {
        write!(&mut key[..], "key:{i:012}").unwrap();
        write!(&mut val[..], "val:{:012}", i.wrapping_mul(7919)).unwrap();
        cache.set(key, val).unwrap();
        if ttl {
            cache.expire(key, 3600, ExpireCondition::Always).unwrap();
        }
    }
    let after = rss_bytes();
    assert_eq!(cache.dbsize(), N);
    println!(
        "{:<8} keys={N} rss_growth={:.1} MiB  rss/key={:.1} B  used_memory/key={:.1} B  allocated capacity/key={:.1} B (spare capacity is not resident)",
        if ttl { "ttl" } else { "no-ttl" },
        (after - before) as f64 / (1024.0 * 1024.0),
        (after - before) as f64 / N as f64,
        cache.used_memory() as f64 / N as f64,
        cache.heap_bytes() as f64 / N as f64,
    );
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("plain") => measure(false),
        Some("ttl") => measure(true),
        _ => {
            let exe = std::env::current_exe().unwrap();
            for mode in ["plain", "ttl"] {
                let status = std::process::Command::new(&exe).arg(mode).status().unwrap();
                assert!(status.success());
            }
        }
    }
}
