//! HyperLogLog accuracy: PFCOUNT of N distinct items must be within 2% of N (the standard
//! error of 16384 registers is 0.81%). Prints the observed error.
//!
//! ```text
//! cargo test -p sabaody-core --test hll_accuracy -- --nocapture
//! cargo test -p sabaody-core --release --test hll_accuracy -- --ignored --nocapture   # 10M
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_core::{Cache, HllOps, Keyspace};

/// Adds `n` distinct items (in batches, as a client pipelining PFADD would) to one key, and
/// also splits them over two keys to check PFCOUNT's union and PFMERGE.
fn check(n: u64) {
    let cache = Cache::builder().build();
    let batch = 1000;
    let mut items: Vec<String> = Vec::with_capacity(batch);
    let mut i = 0;
    while i < n {
        items.clear();
        let end = (i + batch as u64).min(n);
        items.extend((i..end).map(|j| format!("item:{j}")));
        cache.pfadd("all", &items).unwrap();
        cache
            .pfadd(if i % 2 == 0 { "even" } else { "odd" }, &items)
            .unwrap();
        i = end;
    }
    let est = cache.pfcount(&["all"]).unwrap();
    let err = (est as f64 - n as f64) / n as f64;
    println!(
        "PFCOUNT of {n} distinct items: {est} (error {:+.3}%)",
        err * 100.0
    );
    assert!(err.abs() < 0.02, "error {err} for {n}");
    // The union of the two halves has the same registers as the whole.
    assert_eq!(cache.pfcount(&["even", "odd"]).unwrap(), est);
    cache.pfmerge("merged", &["even", "odd"]).unwrap();
    assert_eq!(cache.pfcount(&["merged"]).unwrap(), est);
    assert_eq!(cache.get("merged").unwrap().map(|b| b.len()), Some(12304));
}

#[test]
fn one_million_within_two_percent() {
    check(1_000_000);
}

#[test]
#[ignore = "10M items: run with --release --ignored"]
fn ten_million_within_two_percent() {
    check(10_000_000);
}

#[test]
fn small_counts_are_close() {
    // Sparse range: the estimator is near exact for small sets.
    for n in [1u64, 10, 100, 1000] {
        let cache = Cache::builder().build();
        let items: Vec<String> = (0..n).map(|j| format!("x{j}")).collect();
        cache.pfadd("k", &items).unwrap();
        let est = cache.pfcount(&["k"]).unwrap();
        let err = (est as f64 - n as f64).abs() / n as f64;
        println!("PFCOUNT of {n}: {est}");
        assert!(err < 0.02, "{n}: {est}");
    }
}
