//! Sorted-set operations at 10k, 100k and 1M members, through the embedded `Cache` API:
//!
//! - `zadd`: ZADD of an existing member with a new random score (a delete and an insert in
//!   the B+tree, plus the hash lookup): the leaderboard update;
//! - `zrank`: ZRANK of a random member (hash lookup + rank descent);
//! - `zrange`: ZRANGE of 10 members from a random rank (select descent + leaf walk).
//!
//! Members are 16 bytes (`member:%09d`), scores distinct floats. Each operation should grow
//! with log n: a 100x larger set costs a small constant factor more, mostly cache misses.
//!
//! Run: `cargo bench --bench zset -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sabaody::{Cache, RangeBy, ZAddOptions, ZRangeSpec, ZSetOps};
use std::hint::black_box;

/// xorshift64: the bench needs cheap, repeatable indices, not quality randomness.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn member(i: usize) -> String {
    format!("member:{i:09}")
}

fn filled(n: usize) -> Cache {
    let cache = Cache::builder().build();
    let opts = ZAddOptions::default();
    let mut pairs = Vec::with_capacity(1000);
    for i in 0..n {
        pairs.push((((i * 7919) % n) as f64 + 0.5, member(i)));
        if pairs.len() == 1000 {
            cache.zadd("z", &opts, &pairs).unwrap();
            pairs.clear();
        }
    }
    cache.zadd("z", &opts, &pairs).unwrap();
    assert_eq!(cache.zcard("z").unwrap(), n);
    cache
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset");
    for n in [10_000usize, 100_000, 1_000_000] {
        let cache = filled(n);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let names: Vec<String> = (0..4096).map(|_| member(rng.below(n))).collect();
        let opts = ZAddOptions::default();
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::new("zadd", n), &n, |b, &n| {
            b.iter(|| {
                i = (i + 1) & 4095;
                let score = rng.below(n) as f64 + 0.25;
                black_box(cache.zadd("z", &opts, &[(score, &names[i])]).unwrap())
            })
        });
        g.bench_with_input(BenchmarkId::new("zrank", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) & 4095;
                black_box(cache.zrank("z", &names[i], false).unwrap())
            })
        });
        g.bench_with_input(BenchmarkId::new("zrange10", n), &n, |b, &n| {
            b.iter(|| {
                let s = rng.below(n - 10) as i64;
                let spec = ZRangeSpec {
                    by: RangeBy::Rank(s, s + 9),
                    rev: false,
                    limit: None,
                };
                black_box(cache.zrange("z", &spec).unwrap())
            })
        });
        cache.zset_validate("z").unwrap();
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
