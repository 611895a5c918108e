//! Accuracy of the Bloom filter and the Count-Min sketch, measured.
//!
//! The quick versions run with the suite. The full measurements are `#[ignore]`d; run them
//! with optimizations, printing the figures:
//!
//! ```text
//! cargo test -p sabaody-core --release --test bloom_accuracy -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_core::{Bloom, Cms};

fn member(i: u64) -> Vec<u8> {
    format!("member:{i}").into_bytes()
}

fn stranger(i: u64) -> Vec<u8> {
    format!("stranger:{i}").into_bytes()
}

/// Inserts `inserted` distinct items, checks every one is found (no false negatives), then
/// returns the false-positive rate over `queries` items never inserted.
fn fp_rate(b: &mut Bloom, inserted: u64, queries: u64) -> f64 {
    for i in 0..inserted {
        b.add(&member(i)).unwrap();
    }
    for i in 0..inserted {
        assert!(b.exists(&member(i)), "false negative for item {i}");
    }
    let fp = (0..queries).filter(|&i| b.exists(&stranger(i))).count();
    fp as f64 / queries as f64
}

/// -ln(p) / ln(2)²
fn optimal_bits_per_item(p: f64) -> f64 {
    -p.ln() / (std::f64::consts::LN_2 * std::f64::consts::LN_2)
}

fn measure_fp(p: f64, n: u64, queries: u64) {
    // The default, scaling filter at its capacity.
    let mut b = Bloom::new(p, n, 2).unwrap();
    let at_capacity = fp_rate(&mut b, n, queries);
    println!(
        "scaling     p={p:<6} n={n:<8} inserted={n:<8} filters={} fp={at_capacity:.6} ({:.2}% of p) bits/item={:.2}",
        b.filters(),
        100.0 * at_capacity / p,
        b.bits() as f64 / n as f64
    );
    // The bound, plus 4 standard deviations of sampling noise for the small runs.
    let sigma = (p / queries as f64).sqrt();
    assert!(at_capacity <= p + 4.0 * sigma, "fp {at_capacity} > {p}");
    assert_eq!(b.filters(), 1);

    // Grown to 4× its capacity: sub-filters n, 2n, 4n (the last partly filled).
    let mut b = Bloom::new(p, n, 2).unwrap();
    let grown = fp_rate(&mut b, 4 * n, queries);
    println!(
        "scaling     p={p:<6} n={n:<8} inserted={:<8} filters={} fp={grown:.6} ({:.2}% of p) bits/item={:.2}",
        4 * n,
        b.filters(),
        100.0 * grown / p,
        b.bits() as f64 / (4 * n) as f64
    );
    assert!(grown <= p + 4.0 * sigma, "fp after growth {grown} > {p}");
    assert_eq!(b.filters(), 3);

    // NONSCALING: a single filter sized at p itself.
    let mut b = Bloom::new(p, n, 0).unwrap();
    let single = fp_rate(&mut b, n, queries);
    println!(
        "nonscaling  p={p:<6} n={n:<8} inserted={n:<8} filters=1 fp={single:.6} ({:.2}% of p) bits/item={:.3} (optimum {:.3})",
        100.0 * single / p,
        b.bits() as f64 / n as f64,
        optimal_bits_per_item(p)
    );
    // Sized at 0.9·p: expected ~0.9·p. Allow 4 standard deviations of sampling noise.
    assert!(
        single <= p + 4.0 * sigma,
        "nonscaling fp {single} above {p}"
    );
}

#[test]
fn fp_rate_small() {
    measure_fp(0.01, 10_000, 50_000);
    measure_fp(0.001, 10_000, 50_000);
}

#[test]
#[ignore = "full measurement: run with --release -- --ignored --nocapture"]
fn fp_rate_100k_and_1m() {
    for p in [0.01, 0.001] {
        for n in [100_000, 1_000_000] {
            measure_fp(p, n, 1_000_000);
        }
    }
}

#[test]
fn bits_per_item_at_one_percent() {
    let n = 1_000_000;
    let opt = optimal_bits_per_item(0.01);
    let b = Bloom::new(0.01, n, 0).unwrap();
    let nonscaling = b.bits() as f64 / n as f64;
    let s = Bloom::new(0.01, n, 2).unwrap();
    let scaling = s.bits() as f64 / n as f64;
    println!(
        "bits/item at capacity, 1%: nonscaling {nonscaling:.3} (optimum {opt:.3}, {:+.2}%), \
         scaling {scaling:.3} (first sub-filter at 0.5%: {:.3})",
        100.0 * (nonscaling - opt) / opt,
        optimal_bits_per_item(0.005)
    );
    assert!((nonscaling - 9.59).abs() / 9.59 <= 0.05, "{nonscaling}");
    // The charged bytes are the bits plus a few dozen bytes of bookkeeping.
    let charged = b.charge() as f64 * 8.0 / n as f64;
    assert!((charged - 9.59).abs() / 9.59 <= 0.05, "{charged}");
}

/// Zipf(s) ranks 0..n by inverse CDF over a precomputed table.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for i in 1..=n {
            sum += 1.0 / (i as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        let u = rng.f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Streams `total` Zipf-distributed increments over `universe` items into a sketch sized
/// by (ε, δ); checks every estimate is ≥ the true count and that the share within
/// `true + ε·N` is at least 1 − δ.
fn measure_cms(universe: usize, total: u64, eps: f64, delta: f64, seed: u64) {
    let zipf = Zipf::new(universe, 1.0);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut c = Cms::with_error(eps, delta).unwrap();
    let mut truth = vec![0u64; universe];
    let item = |i: usize| format!("item:{i}").into_bytes();
    for _ in 0..total {
        let i = zipf.sample(&mut rng);
        truth[i] += 1;
        c.incr_by(&item(i), 1).unwrap();
    }
    assert_eq!(c.count(), total);
    let bound = eps * total as f64;
    let mut within = 0usize;
    let mut max_over = 0u64;
    let mut seen = 0usize;
    for (i, &t) in truth.iter().enumerate() {
        let est = c.query(&item(i));
        assert!(est >= t, "item {i}: estimate {est} below true count {t}");
        let over = est - t;
        max_over = max_over.max(over);
        if (over as f64) <= bound {
            within += 1;
        }
        seen += 1;
    }
    let share = within as f64 / seen as f64;
    println!(
        "cms ε={eps} δ={delta} {}×{} N={total} universe={universe}: all estimates ≥ true; \
         within true+εN ({bound:.0}): {:.5} (need ≥ {:.5}; {} of {seen} items beyond); \
         max overestimate {max_over}",
        c.width(),
        c.depth(),
        share,
        1.0 - delta,
        seen - within,
    );
    assert!(share >= 1.0 - delta, "share {share}");
}

#[test]
fn cms_zipf_small() {
    measure_cms(10_000, 200_000, 0.001, 0.01, 7);
}

#[test]
#[ignore = "full measurement: run with --release -- --ignored --nocapture"]
fn cms_zipf_10m() {
    measure_cms(1_000_000, 10_000_000, 0.001, 0.01, 42);
    measure_cms(1_000_000, 10_000_000, 0.0001, 0.001, 43);
}
