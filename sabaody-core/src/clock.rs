//! Time source for TTLs: the system clock, or a manual clock that tests move by hand.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
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
