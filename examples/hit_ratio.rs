//! Hit ratios of the same key streams replayed through Sabaody (allkeys-lru, allkeys-lfu), an
//! exact LRU, moka (TinyLFU) and quick_cache (S3-FIFO-like), each sized to hold 10% of the
//! distinct keys of the main key range (100,000 of 1,000,000).
//!
//! ```text
//! cargo run --release --example hit_ratio              # 5M requests per stream
//! REQUESTS=20000000 cargo run --release --example hit_ratio
//! ```
//!
//! Streams (seeded, identical for every cache):
//! - `zipf`: Zipf s=0.99 over 1M keys.
//! - `zipf+scan`: the same, and every 500k requests a sequential scan of 100k keys from a cold
//!   range nobody asks for otherwise (a backup job, a batch export).
//! - `shifting`: Zipf s=0.99 whose popular keys move every 500k requests (the rank→key
//!   mapping shifts by 100k keys).
//!
//! `SAMPLES` and `LFU_LOG_FACTOR` set Sabaody's `maxmemory-samples` (default 5) and
//! `lfu-log-factor` (default 10), `LFU_DECAY_TIME` its `lfu-decay-time` (minutes, default 1),
//! `RATE` the simulated requests per second (default 1,000,000: 5M requests last 5 seconds,
//! too short for any LFU decay). `SEED` changes the streams' seed; `STREAMS` and `CACHES`
//! (comma-separated parts of names, e.g. `CACHES=lfu,moka`) run a subset.
//!
//! Every request is a read; a miss inserts the key (read-through cache). Sabaody's caches are
//! `Cache`s with `maxmemory` set to exactly 100,000 keys' charge (keys and values of fixed
//! width, so every key costs the same) and a manual clock advanced 1 ms per 1,000 requests (a
//! steady 1M requests/s, see `RATE`), so LRU times have the resolution a live server would see.
//! Each line on stderr also shows how many entries the cache holds at the end (after moka's
//! pending maintenance), to check that every cache is held to the same 100,000 keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody::{Cache, EvictionPolicy, Keyspace, ManualClock};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const KEYS: u64 = 1_000_000;
const CAPACITY: usize = 100_000;
const PHASE: usize = 500_000;

/// Zipf(s) over ranks 0..n by inverse CDF.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += 1.0 / (k as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }
    fn sample(&self, rng: &mut fastrand::Rng) -> u64 {
        let u = rng.f64();
        self.cdf.partition_point(|&c| c < u) as u64
    }
}

fn stream(name: &str, requests: usize, seed: u64) -> Vec<u64> {
    let zipf = Zipf::new(KEYS, 0.99);
    let mut rng = fastrand::Rng::with_seed(seed);
    // A fixed random permutation so popular ranks are not neighbouring key numbers.
    let mut perm: Vec<u64> = (0..KEYS).collect();
    rng.shuffle(&mut perm);
    let mut out = Vec::with_capacity(requests + requests / 4);
    let mut cold = KEYS;
    while out.len() < requests {
        let i = out.len();
        match name {
            "zipf+scan" if i > 0 && i % PHASE == 0 => {
                for _ in 0..100_000 {
                    out.push(cold);
                    cold += 1;
                }
            }
            "shifting" => {
                let shift = (i / PHASE) as u64 * 100_000;
                out.push(perm[((zipf.sample(&mut rng) + shift) % KEYS) as usize]);
                continue;
            }
            _ => {}
        }
        out.push(perm[zipf.sample(&mut rng) as usize]);
    }
    out
}

trait Policy {
    fn name(&self) -> String;
    /// True on a hit; a miss inserts.
    fn access(&mut self, key: u64) -> bool;
    /// Entries held now (to check every cache holds the same number of keys).
    fn resident(&mut self) -> usize;
}

/// An exact LRU: a hash map into an intrusive doubly linked list.
struct ExactLru {
    map: HashMap<u64, usize>,
    nodes: Vec<(u64, usize, usize)>, // key, prev, next
    head: usize,
    tail: usize,
}

const NIL: usize = usize::MAX;

impl ExactLru {
    fn new() -> Self {
        ExactLru {
            map: HashMap::with_capacity(CAPACITY),
            nodes: Vec::with_capacity(CAPACITY),
            head: NIL,
            tail: NIL,
        }
    }
    fn unlink(&mut self, i: usize) {
        let (_, p, n) = self.nodes[i];
        if p == NIL {
            self.head = n;
        } else {
            self.nodes[p].2 = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.nodes[n].1 = p;
        }
    }
    fn push_front(&mut self, i: usize) {
        self.nodes[i].1 = NIL;
        self.nodes[i].2 = self.head;
        if self.head != NIL {
            self.nodes[self.head].1 = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }
}

impl Policy for ExactLru {
    fn name(&self) -> String {
        "exact LRU".into()
    }
    fn access(&mut self, key: u64) -> bool {
        if let Some(&i) = self.map.get(&key) {
            self.unlink(i);
            self.push_front(i);
            return true;
        }
        let i = if self.nodes.len() < CAPACITY {
            self.nodes.push((key, NIL, NIL));
            self.nodes.len() - 1
        } else {
            let victim = self.tail;
            self.unlink(victim);
            self.map.remove(&self.nodes[victim].0);
            self.nodes[victim].0 = key;
            victim
        };
        self.map.insert(key, i);
        self.push_front(i);
        false
    }
    fn resident(&mut self) -> usize {
        self.map.len()
    }
}

struct Sabaody {
    policy: EvictionPolicy,
    cache: Cache,
    clock: ManualClock,
    n: u64,
    /// Requests per simulated millisecond.
    per_ms: u64,
    buf: [u8; 8],
}

impl Sabaody {
    fn new(policy: EvictionPolicy) -> Self {
        let clock = ManualClock::new(1_700_000_000_000);
        let probe = Cache::builder().housekeeping(false).build();
        probe.set(b"00000000", b"value-00").unwrap();
        let per_key = probe.used_memory() as u64;
        let env = |name: &str, default: u32| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let cache = Cache::builder()
            .housekeeping(false)
            .clock(clock.clone())
            .eviction_policy(policy)
            .eviction_samples(env("SAMPLES", 5))
            .lfu_log_factor(env("LFU_LOG_FACTOR", 10))
            .lfu_decay_time(env("LFU_DECAY_TIME", 1))
            .max_memory(per_key * CAPACITY as u64)
            .build();
        Sabaody {
            policy,
            cache,
            clock,
            n: 0,
            per_ms: (u64::from(env("RATE", 1_000_000)) / 1000).max(1),
            buf: [0; 8],
        }
    }
}

impl Policy for Sabaody {
    fn name(&self) -> String {
        format!("sabaody {}", self.policy.as_str())
    }
    fn access(&mut self, key: u64) -> bool {
        self.n += 1;
        if self.n.is_multiple_of(self.per_ms) {
            self.clock.advance(Duration::from_millis(1));
        }
        // Fixed-width key: 8 bytes of the number, so every key is charged the same.
        self.buf = key.to_be_bytes();
        if self.cache.get_with(self.buf, |_| ()).unwrap().is_some() {
            return true;
        }
        self.cache.set(self.buf, b"value-00").unwrap();
        false
    }
    fn resident(&mut self) -> usize {
        self.cache.keyspace_info().iter().map(|d| d.keys).sum()
    }
}

struct Moka(moka::sync::Cache<u64, u64>);

impl Policy for Moka {
    fn name(&self) -> String {
        "moka (TinyLFU)".into()
    }
    fn access(&mut self, key: u64) -> bool {
        if self.0.get(&key).is_some() {
            return true;
        }
        self.0.insert(key, key);
        false
    }
    fn resident(&mut self) -> usize {
        self.0.run_pending_tasks();
        self.0.entry_count() as usize
    }
}

struct Quick(quick_cache::unsync::Cache<u64, u64>);

impl Policy for Quick {
    fn name(&self) -> String {
        "quick_cache (S3-FIFO)".into()
    }
    fn access(&mut self, key: u64) -> bool {
        if self.0.get(&key).is_some() {
            return true;
        }
        self.0.insert(key, key);
        false
    }
    fn resident(&mut self) -> usize {
        self.0.len()
    }
}

fn main() {
    let requests: usize = std::env::var("REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    // STREAMS / CACHES: comma-separated names (or parts of names) to run a subset.
    let wanted = |var: &str, name: &str| match std::env::var(var) {
        Ok(list) => list.split(',').any(|w| !w.is_empty() && name.contains(w)),
        Err(_) => true,
    };
    let names: Vec<&str> = ["zipf", "zipf+scan", "shifting"]
        .into_iter()
        .filter(|n| wanted("STREAMS", n))
        .collect();
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    for (si, sname) in names.iter().enumerate() {
        let keys = stream(sname, requests, seed);
        let caches: Vec<Box<dyn Policy>> = vec![
            Box::new(Sabaody::new(EvictionPolicy::AllKeysLru)),
            Box::new(Sabaody::new(EvictionPolicy::AllKeysLfu)),
            Box::new(ExactLru::new()),
            Box::new(Moka(moka::sync::Cache::new(CAPACITY as u64))),
            Box::new(Quick(quick_cache::unsync::Cache::new(CAPACITY))),
        ];
        let mut caches: Vec<Box<dyn Policy>> = caches
            .into_iter()
            .filter(|c| wanted("CACHES", &c.name()))
            .collect();
        for (ci, c) in caches.iter_mut().enumerate() {
            let t = Instant::now();
            let hits = keys.iter().filter(|&&k| c.access(k)).count();
            let ratio = hits as f64 / keys.len() as f64;
            let secs = t.elapsed().as_secs_f64();
            eprintln!(
                "{sname:10} {:24} hit ratio {:6.2}%  ({secs:.1} s, {} entries held)",
                c.name(),
                ratio * 100.0,
                c.resident()
            );
            if si == 0 {
                rows.push((c.name(), Vec::new()));
            }
            rows[ci].1.push(ratio);
        }
    }
    println!(
        "\nhit ratio, {requests} requests per stream, seed {seed}, capacity 100,000 keys (10% of 1M)\n"
    );
    println!("| cache | {} |", names.join(" | "));
    println!(
        "|---|{}|",
        names.iter().map(|_| "---:").collect::<Vec<_>>().join("|")
    );
    for (name, r) in rows {
        let cells: Vec<String> = r.iter().map(|x| format!("{:.2}%", x * 100.0)).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
}
