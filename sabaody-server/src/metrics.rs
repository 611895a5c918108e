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

/// Samples kept per latency-monitor event (Redis: 160).
const EVENT_SAMPLES: usize = 160;

/// One event class of the latency monitor: its samples (Unix seconds, milliseconds; one per
/// second at most, the worst of that second), and the worst ever seen.
#[derive(Debug, Default, Clone)]
pub(crate) struct EventSeries {
    pub samples: std::collections::VecDeque<(u64, u64)>,
    pub max: u64,
}

/// The latency monitor (`latency-monitor-threshold`, `LATENCY LATEST/HISTORY/RESET/...`):
/// events that took at least the threshold, by class (`command`, `fast-command`,
/// `expire-cycle`).
#[derive(Debug, Default)]
pub(crate) struct LatencyMonitor {
    /// The threshold in milliseconds; 0 turns the monitor off.
    pub threshold_ms: AtomicU64,
    events: Mutex<Vec<(&'static str, EventSeries)>>,
}

impl LatencyMonitor {
    /// Records `event` lasting `ms` now if the monitor is on and `ms` reaches the threshold.
    #[inline]
    pub fn observe(&self, event: &'static str, ms: u64) {
        if self.wants(ms) {
            self.add(event, ms, crate::server::unix_micros() / 1_000_000);
        }
    }

    /// Whether the monitor is on and `ms` reaches its threshold.
    #[inline]
    fn wants(&self, ms: u64) -> bool {
        let t = self.threshold_ms.load(Relaxed);
        t != 0 && ms >= t
    }

    /// [`observe`](Self::observe) at Unix second `now`.
    #[cfg(test)]
    pub fn observe_at(&self, event: &'static str, ms: u64, now: u64) {
        if self.wants(ms) {
            self.add(event, ms, now);
        }
    }

    #[cold]
    fn add(&self, event: &'static str, ms: u64, now: u64) {
        let mut events = self.events.lock();
        let i = match events.iter().position(|(e, _)| *e == event) {
            Some(i) => i,
            None => {
                events.push((event, EventSeries::default()));
                events.len() - 1
            }
        };
        let Some((_, s)) = events.get_mut(i) else {
            return;
        };
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some(last) if last.0 == now => last.1 = last.1.max(ms),
            _ => {
                if s.samples.len() == EVENT_SAMPLES {
                    s.samples.pop_front();
                }
                s.samples.push_back((now, ms));
            }
        }
    }

    /// Every event class with samples, in the order they first appeared.
    pub fn events(&self) -> Vec<(&'static str, EventSeries)> {
        self.events.lock().clone()
    }

    /// One event class's samples.
    pub fn series(&self, event: &[u8]) -> Option<EventSeries> {
        self.events
            .lock()
            .iter()
            .find(|(e, _)| e.as_bytes().eq_ignore_ascii_case(event))
            .map(|(_, s)| s.clone())
    }

    /// Forgets the named event classes (all of them with none named); returns how many had
    /// samples.
    pub fn reset(&self, names: &[&[u8]]) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        if names.is_empty() {
            events.clear();
        } else {
            events.retain(|(e, _)| !names.iter().any(|n| e.as_bytes().eq_ignore_ascii_case(n)));
        }
        before - events.len()
    }
}

/// `LATENCY HISTOGRAM`'s buckets from a latency histogram: cumulative counts at power-of-two
/// boundaries starting at 1024 ns, labelled in microseconds as Redis labels its buckets
/// (each boundary's highest equivalent value at two significant digits, over 1000), and
/// listed only where the count grows.
pub(crate) fn cumulative_buckets(counts: &[u64]) -> Vec<(u64, u64)> {
    let total: u64 = counts.iter().sum();
    let mut out = Vec::new();
    let (mut cum, mut b) = (0u64, 0usize);
    let mut boundary: u64 = 1024;
    while cum < total && boundary < (1 << MAX_EXP) {
        let high = boundary + boundary / 128 - 1;
        while b < counts.len() && bucket_high(b) <= high {
            cum += counts.get(b).copied().unwrap_or(0);
            b += 1;
        }
        if out.last().is_none_or(|&(_, c)| c < cum) && cum > 0 {
            out.push((high / 1000, cum));
        }
        boundary *= 2;
    }
    if cum < total {
        out.push((((1u64 << MAX_EXP) - 1) / 1000, total));
    }
    out
}

#[cfg(test)]
mod latency_tests {
    use super::*;

    #[test]
    fn monitor_keeps_one_sample_per_second_and_the_worst() {
        let m = LatencyMonitor::default();
        m.observe_at("command", 500, 1);
        assert!(m.events().is_empty(), "off by default");
        m.threshold_ms.store(100, Relaxed);
        m.observe_at("command", 99, 1);
        assert!(m.events().is_empty(), "below the threshold");
        m.observe_at("command", 150, 10);
        m.observe_at("command", 300, 10);
        m.observe_at("command", 120, 11);
        m.observe_at("expire-cycle", 100, 11);
        let s = m.series(b"COMMAND").unwrap();
        assert_eq!(s.samples, [(10, 300), (11, 120)]);
        assert_eq!(s.max, 300);
        for t in 0..200 {
            m.observe_at("command", 100, 100 + t);
        }
        assert_eq!(m.series(b"command").unwrap().samples.len(), EVENT_SAMPLES);
        assert_eq!(m.reset(&[b"command", b"nosuch"]), 1);
        assert_eq!(m.events().len(), 1);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.events().is_empty());
    }

    #[test]
    fn cumulative_buckets_as_redis_labels_them() {
        let mut c = vec![0u64; BUCKETS];
        assert!(cumulative_buckets(&c).is_empty());
        c[bucket_of(500)] += 10; // under 1 µs
        c[bucket_of(1_500)] += 5;
        c[bucket_of(40_000)] += 1;
        let b = cumulative_buckets(&c);
        assert_eq!(b, [(1, 10), (2, 15), (66, 16)]);
    }
}
