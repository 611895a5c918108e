//! Server metrics behind INFO beyond plain counters: per-command latency histograms
//! (`INFO latencystats`), the instantaneous rates Redis samples ten times a second
//! (`instantaneous_ops_per_sec`, `instantaneous_input_kbps`, ...), and the active expiry
//! cycle's totals (`expired_stale_perc`, `expired_time_cap_reached_count`,
//! `expire_cycle_cpu_milliseconds`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// Sub-buckets per power of two: a bucket spans at most 1/16 of its value (6.25%).
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Durations are clamped below 2^40 ns (about 18 minutes).
const MAX_EXP: u32 = 40;
/// Buckets of one histogram: `SUB` exact ones below `SUB` ns, then `SUB` per power of two.
pub(crate) const BUCKETS: usize = ((MAX_EXP - SUB_BITS + 1) as usize + 1) * SUB as usize;

/// The bucket of a duration in nanoseconds (log-linear: exact below 16 ns, then 16
/// buckets per power of two).
#[inline]
pub(crate) fn bucket_of(ns: u64) -> usize {
    let v = ns.min((1 << MAX_EXP) - 1);
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let sub = (v >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The largest duration (ns) that falls in bucket `b`.
pub(crate) fn bucket_high(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        return b;
    }
    let exp = (b / SUB) as u32 + SUB_BITS - 1;
    let sub = b % SUB;
    let low = (SUB + sub) << (exp - SUB_BITS);
    low + (1 << (exp - SUB_BITS)) - 1
}

/// One command's latency histogram on one loop thread (allocated on its first call).
#[derive(Debug, Default)]
pub(crate) struct Histogram(OnceLock<Box<[AtomicU64]>>);

impl Histogram {
    /// Counts one call that took `ns`. Only the owning loop thread writes (load + store).
    #[inline]
    pub fn record(&self, ns: u64) {
        let buckets = self
            .0
            .get_or_init(|| (0..BUCKETS).map(|_| AtomicU64::new(0)).collect());
        if let Some(c) = buckets.get(bucket_of(ns)) {
            c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
        }
    }

    /// Adds this histogram's counts into `into` (`BUCKETS` long).
    pub fn add_to(&self, into: &mut [u64]) {
        if let Some(b) = self.0.get() {
            for (t, c) in into.iter_mut().zip(b.iter()) {
                *t += c.load(Relaxed);
            }
        }
    }

    pub fn reset(&self) {
        if let Some(b) = self.0.get() {
            for c in b.iter() {
                c.store(0, Relaxed);
            }
        }
    }
}

/// The value (ns) at or below which `pct` percent of the counted calls fall: the upper end
/// of the bucket where the running count reaches it. `None` without calls.
pub(crate) fn percentile(counts: &[u64], pct: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let want = ((pct / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= want {
            return Some(bucket_high(b));
        }
    }
    counts.iter().rposition(|&c| c > 0).map(bucket_high)
}

/// `latency-tracking-info-percentiles`: the percentiles INFO prints (Redis's default is
/// `50 99 99.9`); words that are not numbers in 0..=100 are skipped.
pub(crate) fn parse_percentiles(s: &str) -> Vec<f64> {
    s.split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok())
        .filter(|p| (0.0..=100.0).contains(p))
        .collect()
}

/// A percentile as Redis prints it (`%f` without trailing zeros): `50`, `99.9`, `50.000001`.
pub(crate) fn format_percentile(p: f64) -> String {
    let mut s = format!("{p:.6}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// A percentile's label in INFO: `p50`, `p99`, `p99.9`.
pub(crate) fn percentile_label(p: f64) -> String {
    format!("p{}", format_percentile(p))
}

/// Samples kept per rate (Redis: 16, one every 100 ms).
const SAMPLES: usize = 16;

#[derive(Debug, Default)]
struct Rate {
    last_value: u64,
    last_ms: u64,
    samples: [f64; SAMPLES],
    idx: usize,
}

impl Rate {
    /// Per-second rate since the previous sample, stored in the ring.
    fn sample(&mut self, value: u64, now_ms: u64) {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let per_sec = value.saturating_sub(self.last_value) as f64 * 1000.0
                / (now_ms - self.last_ms) as f64;
            self.samples[self.idx] = per_sec;
            self.idx = (self.idx + 1) % SAMPLES;
        }
        self.last_value = value;
        self.last_ms = now_ms;
    }

    fn average(&self) -> f64 {
        self.samples.iter().sum::<f64>() / SAMPLES as f64
    }
}

/// The instantaneous rates of INFO stats: commands, network input and output bytes.
#[derive(Debug, Default)]
pub(crate) struct Instantaneous {
    inner: Mutex<[Rate; 3]>,
}

impl Instantaneous {
    /// From loop 0's cron: samples the three totals when at least 100 ms passed since the
    /// last sample (Redis samples every 100 ms).
    pub fn sample(&self, now_ms: u64, commands: u64, net_in: u64, net_out: u64) {
        let mut r = self.inner.lock();
        if r[0].last_ms != 0 && now_ms < r[0].last_ms + 100 {
            return;
        }
        r[0].sample(commands, now_ms);
        r[1].sample(net_in, now_ms);
        r[2].sample(net_out, now_ms);
    }

    /// (ops per second, input KiB/s, output KiB/s), averaged over the last 16 samples.
    pub fn rates(&self) -> (f64, f64, f64) {
        let r = self.inner.lock();
        (
            r[0].average(),
            r[1].average() / 1024.0,
            r[2].average() / 1024.0,
        )
    }

    pub fn reset(&self) {
        *self.inner.lock() = Default::default();
    }
}

/// Totals of the active expiry cycle (INFO stats).
#[derive(Debug, Default)]
pub(crate) struct ExpiryTotals {
    /// Running estimate of the share of sampled keys that were expired, in percent, as
    /// `f64` bits (Redis: 5% weight to each cycle).
    stale_perc_bits: AtomicU64,
    /// Cycles that stopped on their time budget.
    pub cap_reached: AtomicU64,
    /// Time spent in cycles, microseconds.
    pub cpu_us: AtomicU64,
}

impl ExpiryTotals {
    /// One cycle that sampled `sampled` keys, expired `expired`, ran `us` microseconds.
    pub fn note(&self, sampled: usize, expired: usize, timed_out: bool, us: u64) {
        if sampled > 0 {
            let current = expired as f64 * 100.0 / sampled as f64;
            let old = f64::from_bits(self.stale_perc_bits.load(Relaxed));
            self.stale_perc_bits
                .store((current * 0.05 + old * 0.95).to_bits(), Relaxed);
        }
        if timed_out {
            self.cap_reached.fetch_add(1, Relaxed);
        }
        self.cpu_us.fetch_add(us, Relaxed);
    }

    pub fn stale_perc(&self) -> f64 {
        f64::from_bits(self.stale_perc_bits.load(Relaxed))
    }

    pub fn reset(&self) {
        self.stale_perc_bits.store(0, Relaxed);
        self.cap_reached.store(0, Relaxed);
        self.cpu_us.store(0, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut last = 0;
        for ns in (0..100_000u64).chain([1 << 20, 1 << 30, (1 << 40) - 1, u64::MAX]) {
            let b = bucket_of(ns);
            let v = ns.min((1 << MAX_EXP) - 1);
            assert!(b < BUCKETS, "{ns}");
            assert!(b >= last, "{ns}");
            assert!(bucket_high(b) >= v, "{ns} -> {b}");
            if b > 0 {
                assert!(bucket_high(b - 1) < v, "{ns}");
            }
            // A bucket spans at most 1/16 of its values.
            if v >= 16 {
                assert!(bucket_high(b) - v <= v / 16, "{ns} -> {}", bucket_high(b));
            }
            last = b;
        }
    }

    #[test]
    fn percentiles() {
        let mut c = vec![0u64; BUCKETS];
        assert_eq!(percentile(&c, 50.0), None);
        for ns in 1..=100u64 {
            c[bucket_of(ns * 1000)] += 1;
        }
        let p50 = percentile(&c, 50.0).unwrap();
        assert!((50_000..=53_200).contains(&p50), "{p50}");
        let p99 = percentile(&c, 99.0).unwrap();
        assert!((99_000..=102_400).contains(&p99), "{p99}");
        assert!(percentile(&c, 100.0).unwrap() >= 100_000);
        assert_eq!(percentile_label(50.0), "p50");
        assert_eq!(percentile_label(99.9), "p99.9");
        assert_eq!(
            parse_percentiles("50 99 99.9 x 101"),
            vec![50.0, 99.0, 99.9]
        );
    }

    #[test]
    fn instantaneous_rates_average_sixteen_samples() {
        let i = Instantaneous::default();
        for k in 0..=16u64 {
            // 1000 commands and 2048 bytes in per 100 ms.
            i.sample(1000 + k * 100, k * 1000, k * 2048, 0);
        }
        let (ops, kin, kout) = i.rates();
        assert!((ops - 10_000.0).abs() < 1e-6, "{ops}");
        assert!((kin - 20.0).abs() < 1e-6, "{kin}");
        assert_eq!(kout, 0.0);
        // Closer than 100 ms: not a sample.
        i.sample(1000 + 16 * 100 + 50, 0, 0, 0);
        assert!((i.rates().0 - 10_000.0).abs() < 1e-6);
    }

    #[test]
    fn expiry_totals() {
        let t = ExpiryTotals::default();
        t.note(20, 10, false, 300);
        assert!((t.stale_perc() - 2.5).abs() < 1e-9);
        t.note(0, 0, true, 200);
        assert_eq!(t.cap_reached.load(Relaxed), 1);
        assert_eq!(t.cpu_us.load(Relaxed), 500);
        t.reset();
        assert_eq!(t.stale_perc(), 0.0);
    }
}
