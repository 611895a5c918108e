//! Sabaody's `Cache` side by side with `moka::sync::Cache` and `quick_cache::sync::Cache`:
//! 1M keys, 16-byte keys and values, Zipf(s = 1.0) key popularity, 90% get / 10% set,
//! at 1 and 2 threads. Each peer is pre-filled with all keys (no eviction in play) and is
//! used through byte-slice lookups returning `Bytes`, as Sabaody is.
//!
//! Run: `cargo bench --bench cache -- --warm-up-time 1 --measurement-time 3`
//! Criterion prints throughput per benchmark (elements = operations); the end of the run
//! prints ops/s for all three and the ratios.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sabaody::{Cache, Keyspace};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEYS: usize = 1_000_000;
const SEQ: usize = 1 << 22;

/// `key:` + 12 hex digits: 16 bytes, built with shifts so the harness stays cheap next to
/// the caches it measures.
fn key(i: usize) -> [u8; 16] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut k = *b"key:000000000000";
    for (j, b) in k[4..].iter_mut().enumerate() {
        *b = HEX[(i >> (4 * (11 - j))) & 15];
    }
    k
}

fn value(i: usize) -> [u8; 16] {
    let mut v = key(i.wrapping_mul(7919) % KEYS);
    v[..4].copy_from_slice(b"val:");
    v
}

/// Zipf(s = 1.0) ranks over `KEYS`, by inverse CDF on a precomputed table.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for i in 1..=n {
            sum += 1.0 / i as f64;
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }
    fn sample(&self, u: f64) -> usize {
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Per-thread operation streams: key index (rank scattered over the key space) and op kind.
fn streams(threads: usize) -> Vec<Arc<Vec<u32>>> {
    let zipf = Zipf::new(KEYS);
    (0..threads)
        .map(|t| {
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1);
            let seq = (0..SEQ)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                    // Scatter ranks so hot keys are not neighbours in key order.
                    ((zipf.sample(u) as u64 * 2_654_435_761) % KEYS as u64) as u32
                })
                .collect();
            Arc::new(seq)
        })
        .collect()
}

trait Peer: Send + Sync + Clone + 'static {
    fn get(&self, k: &[u8]) -> Option<Bytes>;
    fn set(&self, k: &[u8], v: &[u8]);
}

impl Peer for Cache {
    #[inline]
    fn get(&self, k: &[u8]) -> Option<Bytes> {
        Keyspace::get(self, k).unwrap()
    }
    #[inline]
    fn set(&self, k: &[u8], v: &[u8]) {
        Keyspace::set(self, k, v).unwrap();
    }
}

#[derive(Clone)]
struct Moka(moka::sync::Cache<Bytes, Bytes>);
impl Peer for Moka {
    #[inline]
    fn get(&self, k: &[u8]) -> Option<Bytes> {
        self.0.get(k)
    }
    #[inline]
    fn set(&self, k: &[u8], v: &[u8]) {
        self.0
            .insert(Bytes::copy_from_slice(k), Bytes::copy_from_slice(v));
    }
}

#[derive(Clone)]
struct Quick(Arc<quick_cache::sync::Cache<Bytes, Bytes>>);
impl Peer for Quick {
    #[inline]
    fn get(&self, k: &[u8]) -> Option<Bytes> {
        self.0.get(k)
    }
    #[inline]
    fn set(&self, k: &[u8], v: &[u8]) {
        self.0
            .insert(Bytes::copy_from_slice(k), Bytes::copy_from_slice(v));
    }
}

fn fill<P: Peer>(p: &P) {
    for i in 0..KEYS {
        p.set(&key(i), &value(i));
    }
}

/// CPU time this thread has run, in ns (Linux `schedstat`); 0 where unavailable.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Runs `iters` operations on each of `threads` threads; returns the wall time and the CPU
/// time the worker threads used (on a busy machine the second shows the cost per operation
/// when the threads did not get a core each).
fn run<P: Peer>(p: &P, streams: &[Arc<Vec<u32>>], iters: u64) -> (Duration, Duration) {
    let barrier = Arc::new(std::sync::Barrier::new(streams.len() + 1));
    let handles: Vec<_> = streams
        .iter()
        .enumerate()
        .map(|(t, s)| {
            let (p, s, barrier) = (p.clone(), Arc::clone(s), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let start = (t * 7919) % SEQ;
                barrier.wait();
                let cpu0 = thread_cpu_ns();
                let mut hits = 0u64;
                for i in 0..iters as usize {
                    let idx = s[(start + i) % SEQ] as usize;
                    let k = key(idx);
                    if i % 10 == 9 {
                        p.set(&k, &value(idx ^ i));
                    } else if p.get(&k).is_some() {
                        hits += 1;
                    }
                }
                black_box(hits);
                thread_cpu_ns() - cpu0
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    let cpu: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    (t0.elapsed(), Duration::from_nanos(cpu))
}

/// (threads, peer) -> (ops/s of wall time, ops per CPU-second).
type Results = Arc<Mutex<BTreeMap<(usize, &'static str), (f64, f64)>>>;

fn bench_one<P: Peer>(
    c: &mut Criterion,
    name: &'static str,
    p: &P,
    all: &[Arc<Vec<u32>>],
    res: &Results,
) {
    for threads in [1usize, 2] {
        let streams = &all[..threads];
        let mut g = c.benchmark_group(format!("zipf_90get_10set_{threads}t"));
        g.throughput(Throughput::Elements(threads as u64));
        g.sample_size(10);
        let mut total_ops = 0u64;
        let mut total_time = Duration::ZERO;
        let mut total_cpu = Duration::ZERO;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let (d, cpu) = run(p, streams, iters);
                total_ops += iters * threads as u64;
                total_time += d;
                total_cpu += cpu;
                d
            });
        });
        g.finish();
        let per_cpu = total_ops as f64 / total_cpu.as_secs_f64().max(1e-9);
        res.lock().unwrap().insert(
            (threads, name),
            (total_ops as f64 / total_time.as_secs_f64(), per_cpu),
        );
    }
}

fn cache_bench(c: &mut Criterion) {
    let all = streams(2);
    let res: Results = Arc::new(Mutex::new(BTreeMap::new()));

    let sabaody = Cache::builder().housekeeping(false).build();
    fill(&sabaody);
    bench_one(c, "sabaody", &sabaody, &all, &res);
    drop(sabaody);

    let quick = Quick(Arc::new(quick_cache::sync::Cache::new(KEYS * 5 / 4)));
    fill(&quick);
    bench_one(c, "quick_cache", &quick, &all, &res);
    drop(quick);

    let moka = Moka(moka::sync::Cache::new((KEYS * 5 / 4) as u64));
    fill(&moka);
    moka.0.run_pending_tasks();
    bench_one(c, "moka", &moka, &all, &res);
    drop(moka);

    let r = res.lock().unwrap();
    let get = |t: usize, n: &str| r.get(&(t, n)).copied().unwrap_or((f64::NAN, f64::NAN));
    for (label, pick) in [("wall-clock ops/s", 0usize), ("ops per CPU-second", 1)] {
        println!("\n== {label} ==");
        for threads in [1usize, 2] {
            let v = |n: &str| {
                if pick == 0 {
                    get(threads, n).0
                } else {
                    get(threads, n).1
                }
            };
            let (s, q, m) = (v("sabaody"), v("quick_cache"), v("moka"));
            println!(
                "{threads} thread(s): sabaody {:.2} M  quick_cache {:.2} M  moka {:.2} M  | sabaody/quick_cache {:.2}x  sabaody/moka {:.2}x",
                s / 1e6,
                q / 1e6,
                m / 1e6,
                s / q,
                s / m
            );
        }
    }
    println!();
    for name in ["sabaody", "quick_cache", "moka"] {
        let (one, two) = (get(1, name), get(2, name));
        println!(
            "{name}: 2 threads / 1 thread: wall {:.2}x; CPU efficiency kept at 2 threads {:.0}% \
             (2 x this = scaling with two free cores)",
            two.0 / one.0,
            100.0 * two.1 / one.1
        );
    }
}

criterion_group!(benches, cache_bench);
criterion_main!(benches);
