//! Bitmaps and HyperLogLog through the typed API (no network): BITCOUNT over a 64 MiB bitmap,
//! BITOP AND of two 8 MiB strings, SETBIT into a 1 MiB bitmap, PFADD into a dense HLL, and
//! PFCOUNT of a dense HLL whose cached count is stale (a PFADD before each count).
//!
//! Run: `cargo bench --bench bits -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sabaody::{BitOp, BitOps, Cache, HllOps, Keyspace};
use std::hint::black_box;

/// Deterministic pseudo-random bytes (xorshift), so runs are comparable.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(n);
    v
}

fn bits_bench(c: &mut Criterion) {
    let cache = Cache::builder().build();
    let big = 64 << 20;
    cache.set("big", noise(big, 1)).unwrap();
    let mut g = c.benchmark_group("bitmap");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(big as u64));
    g.bench_function("bitcount_64MiB", |b| {
        b.iter(|| black_box(cache.bitcount("big", None).unwrap()));
    });
    let half = 8 << 20;
    cache.set("a", noise(half, 2)).unwrap();
    cache.set("b", noise(half, 3)).unwrap();
    g.throughput(Throughput::Bytes(2 * half as u64));
    g.bench_function("bitop_and_2x8MiB", |b| {
        b.iter(|| black_box(cache.bitop(BitOp::And, "d", &["a", "b"]).unwrap()));
    });
    g.finish();

    let mut g = c.benchmark_group("ops");
    g.throughput(Throughput::Elements(1));
    cache.setbit("bm", (8 << 20) - 1, true).unwrap();
    let mut i = 0u64;
    g.bench_function("setbit_1MiB", |b| {
        b.iter(|| {
            i = (i + 7_919) & ((8 << 20) - 1);
            black_box(cache.setbit("bm", i, true).unwrap())
        });
    });
    let items: Vec<String> = (0..20_000).map(|j| format!("seed:{j}")).collect();
    cache.pfadd("hll", &items).unwrap();
    let mut n = 0u64;
    g.bench_function("pfadd_dense", |b| {
        b.iter(|| {
            n += 1;
            black_box(cache.pfadd("hll", &[n.to_le_bytes()]).unwrap())
        });
    });
    g.bench_function("pfadd_then_pfcount_dense", |b| {
        b.iter(|| {
            n += 1;
            cache.pfadd("hll", &[n.to_le_bytes()]).unwrap();
            black_box(cache.pfcount(&["hll"]).unwrap())
        });
    });
    g.finish();
}

criterion_group!(benches, bits_bench);
criterion_main!(benches);
