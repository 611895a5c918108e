//! Time source for TTLs: the system clock, or a manual clock that tests move by hand.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
///
/// Expire times are absolute Unix milliseconds (as in Redis), so the clock is wall-clock time.
/// The keyspace reads it only when an operation touches a key that carries a TTL or sets one,
/// so a key without TTL never pays for a clock read.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The operating system's clock (`SystemTime::now`, a vDSO call on Linux: no syscall).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to: TTL tests advance it instead of sleeping.
///
/// Clones share the same time.
///
/// ```
/// use sabaody_core::{Cache, Keyspace, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::new(1_000_000);
/// let cache = Cache::builder().clock(clock.clone()).housekeeping(false).build();
/// cache.setex("k", 10, "v").unwrap();
/// clock.advance(Duration::from_secs(11));
/// assert_eq!(cache.get("k").unwrap(), None);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock reading `start_ms` milliseconds since the Unix epoch.
    #[must_use]
    pub fn new(start_ms: i64) -> Self {
        ManualClock {
            ms: Arc::new(AtomicI64::new(start_ms)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `ms` milliseconds since the Unix epoch.
    pub fn set_ms(&self, ms: i64) {
        self.ms.store(ms, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    /// Starts at 2020-01-01T00:00:00Z.
    fn default() -> Self {
        ManualClock::new(1_577_836_800_000)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }
}

/// Wall-clock time read from an atomic that a ticker thread refreshes every `resolution`
/// (and [`CoarseClock::tick`] on demand): one relaxed load per read instead of a
/// `clock_gettime` (about 50 ns on this project's VM). Redis itself caches the time per
/// command. The ticker stops once every clone of the clock is dropped.
///
/// ```
/// use sabaody_core::{Cache, Clock, CoarseClock, SystemClock};
/// use std::time::Duration;
/// let clock = CoarseClock::new(Duration::from_millis(1));
/// assert!((clock.now_ms() - SystemClock.now_ms()).abs() < 1000);
/// let cache = Cache::builder().clock(clock).build();
/// # drop(cache);
/// ```
#[derive(Debug, Clone)]
pub struct CoarseClock {
    ms: Arc<AtomicI64>,
}

impl CoarseClock {
    /// Starts a ticker thread refreshing the time every `resolution` (at least 1 ms).
    /// If the thread cannot be spawned the clock still works, refreshed only by `tick`.
    #[must_use]
    pub fn new(resolution: Duration) -> Self {
        let ms = Arc::new(AtomicI64::new(SystemClock.now_ms()));
        let weak: Weak<AtomicI64> = Arc::downgrade(&ms);
        let every = resolution.max(Duration::from_millis(1));
        let _ = std::thread::Builder::new()
            .name("sabaody-clock".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    let Some(ms) = weak.upgrade() else { return };
                    ms.fetch_max(SystemClock.now_ms(), Ordering::Relaxed);
                }
            });
        CoarseClock { ms }
    }

    /// Refreshes the cached time now (an event loop may call this once per turn).
    pub fn tick(&self) {
        self.ms.fetch_max(SystemClock.now_ms(), Ordering::Relaxed);
    }
}

impl Clock for CoarseClock {
    #[inline]
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_clock_follows_the_system_clock() {
        let c = CoarseClock::new(Duration::from_millis(1));
        let a = c.now_ms();
        assert!((a - SystemClock.now_ms()).abs() < 1000);
        c.tick();
        assert!(c.now_ms() >= a);
        // The ticker moves it on its own (bounded wait on real time: this tests the ticker,
        // not a TTL).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while c.now_ms() == a && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(c.now_ms() > a);
    }
}
