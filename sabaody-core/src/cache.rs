//! `Cache`: the user's handle, and its builder.

use crate::Error;
use crate::access::Transaction;
use crate::clock::{Clock, SystemClock};
use crate::expire::{self, ExpireCycleStats};
use crate::ops::keys::MAX_SHARDS_PER_DB;
use crate::store::{Housekeeper, StopSignal, Store};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A handle to a thread-safe, sharded, typed keyspace. Cheap to clone; all clones (and the
/// handles from [`Cache::db`]) share one store. The keyspace methods come from the
/// [`crate::Keyspace`] trait.
///
/// ```
/// use sabaody_core::{Cache, Keyspace};
/// let cache = Cache::builder().build();
/// cache.set("user:1", "ada").unwrap();
/// assert_eq!(cache.get("user:1").unwrap().as_deref(), Some(&b"ada"[..]));
/// assert_eq!(cache.incr("hits").unwrap(), 1);
/// ```
#[derive(Clone)]
pub struct Cache {
    pub(crate) store: Arc<Store>,
    pub(crate) db: usize,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("db", &self.db)
            .field("databases", &self.store.databases)
            .field("shards_per_db", &self.store.shards_per_db)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Cache`] (in the style of moka's `CacheBuilder`).
///
/// ```
/// use sabaody_core::{Cache, ManualClock};
/// let cache = Cache::builder()
///     .databases(16)
///     .shards(64)
///     .clock(ManualClock::default())
///     .housekeeping(false) // the application drives `active_expire_cycle` itself
///     .build();
/// assert_eq!(cache.databases(), 16);
/// ```
#[derive(Debug)]
pub struct CacheBuilder {
    databases: usize,
    shards: Option<usize>,
    clock: Arc<dyn Clock>,
    housekeeping: bool,
    hz: u32,
}

impl Default for CacheBuilder {
    fn default() -> Self {
        CacheBuilder {
            databases: 16,
            shards: None,
            clock: Arc::new(SystemClock),
            housekeeping: true,
            hz: 10,
        }
    }
}

impl CacheBuilder {
    /// Number of numbered databases (Redis `databases`, default 16; at least 1).
    #[must_use]
    pub fn databases(mut self, n: usize) -> Self {
        self.databases = n.max(1);
        self
    }

    /// Shards per database, rounded up to a power of two in `1..=4096`. Default: 16 per
    /// available core, at least 64.
    #[must_use]
    pub fn shards(mut self, n: usize) -> Self {
        self.shards = Some(n);
        self
    }

    /// The time source for TTLs (default [`SystemClock`]; tests use [`crate::ManualClock`]).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Whether a background thread runs the active expiry cycle (default true). A server
    /// that drives [`Cache::active_expire_cycle`] from its own loops turns it off.
    /// The thread stops when the last handle is dropped.
    #[must_use]
    pub fn housekeeping(mut self, on: bool) -> Self {
        self.housekeeping = on;
        self
    }

    /// How many times per second the housekeeping thread runs (Redis `hz`, default 10);
    /// each run may use a quarter of its period.
    #[must_use]
    pub fn hz(mut self, hz: u32) -> Self {
        self.hz = hz.clamp(1, 500);
        self
    }

    /// Creates the cache (and starts the housekeeping thread if enabled).
    #[must_use]
    pub fn build(self) -> Cache {
        let cores = std::thread::available_parallelism().map_or(4, std::num::NonZero::get);
        let shards = self
            .shards
            .unwrap_or((cores * 16).max(64))
            .clamp(1, MAX_SHARDS_PER_DB)
            .next_power_of_two();
        let store = Arc::new(Store::new(self.databases, shards, self.clock));
        if self.housekeeping {
            start_housekeeping(&store, self.hz);
        }
        Cache { store, db: 0 }
    }
}

fn start_housekeeping(store: &Arc<Store>, hz: u32) {
    let weak: Weak<Store> = Arc::downgrade(store);
    let signal = Arc::new(StopSignal::default());
    let sig = Arc::clone(&signal);
    let period = Duration::from_millis(u64::from(1000 / hz).max(1));
    let budget = period / 4;
    let spawned = std::thread::Builder::new()
        .name("sabaody-housekeeping".into())
        .spawn(move || {
            loop {
                {
                    let mut stop = sig.stop.lock();
                    if !*stop {
                        sig.cv.wait_for(&mut stop, period);
                    }
                    if *stop {
                        return;
                    }
                }
                let Some(store) = weak.upgrade() else { return };
                expire::cycle(&store, budget);
            }
        });
    // Without the thread, lazy expiry still holds; the owner may call active_expire_cycle.
    if let Ok(handle) = spawned {
        let id = handle.thread().id();
        *store.housekeeper.lock() = Some(Housekeeper {
            signal,
            thread: Some(handle),
            id,
        });
    }
}

/// Counters reported by `INFO stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Successful key lookups by read operations.
    pub keyspace_hits: u64,
    /// Failed key lookups by read operations.
    pub keyspace_misses: u64,
    /// Keys deleted because their TTL passed (lazily or by the active cycle).
    pub expired_keys: u64,
}

/// One database's line of `INFO keyspace`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbInfo {
    /// Keys in the database.
    pub keys: usize,
    /// Keys with a TTL.
    pub expires: usize,
}

impl Cache {
    /// A builder with Redis-like defaults (16 databases, housekeeping on, system clock).
    #[must_use]
    pub fn builder() -> CacheBuilder {
        CacheBuilder::default()
    }

    /// A handle to database `index` of the same store (SELECT): same memory, clock and
    /// housekeeping.
    ///
    /// # Errors
    /// [`Error::DbIndexOutOfRange`] if `index >= databases`.
    pub fn db(&self, index: usize) -> Result<Cache, Error> {
        if index >= self.store.databases {
            return Err(Error::DbIndexOutOfRange);
        }
        Ok(Cache {
            store: Arc::clone(&self.store),
            db: index,
        })
    }

    /// Number of databases.
    #[must_use]
    pub fn databases(&self) -> usize {
        self.store.databases
    }

    /// Shards per database.
    #[must_use]
    pub fn shards_per_db(&self) -> usize {
        self.store.shards_per_db
    }

    /// Bytes charged to the whole store (all databases): each key's record (key, value,
    /// header) plus a per-key table share plus out-of-line values. O(1): one atomic load.
    #[must_use]
    pub fn used_memory(&self) -> usize {
        usize::try_from(self.store.used.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0)
    }

    /// Heap bytes the shards really hold (tables, arenas with their dead space and spare
    /// capacity, slabs) — the allocator-level view of [`Cache::used_memory`].
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.store
            .slots
            .iter()
            .map(|s| s.shard.read().heap_bytes())
            .sum()
    }

    /// Keys and keys-with-TTL per database (`INFO keyspace`).
    #[must_use]
    pub fn keyspace_info(&self) -> Vec<DbInfo> {
        (0..self.store.databases)
            .map(|db| {
                self.store.db_range(db).fold(DbInfo::default(), |acc, g| {
                    let s = self.store.slots[g].shard.read();
                    DbInfo {
                        keys: acc.keys + s.len(),
                        expires: acc.expires + s.volatile,
                    }
                })
            })
            .collect()
    }

    /// Hit/miss/expired counters over the whole store.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut st = Stats::default();
        for stripe in &self.store.stripes {
            st.keyspace_hits += stripe.hits.load(Ordering::Relaxed);
            st.keyspace_misses += stripe.misses.load(Ordering::Relaxed);
        }
        for slot in &self.store.slots {
            st.expired_keys += slot.shard.read().expired;
        }
        st
    }

    /// Runs the active expiry cycle over all databases for at most about `budget`.
    /// The housekeeping thread calls this `hz` times a second; a server with housekeeping
    /// off calls it from its event loops. Concurrent calls do not stack: a second caller
    /// returns at once.
    pub fn active_expire_cycle(&self, budget: Duration) -> ExpireCycleStats {
        expire::cycle(&self.store, budget)
    }

    /// Runs `f` with every shard of every database write-locked (in ascending order), so the
    /// operations `f` performs through the [`Transaction`] are atomic (MULTI/EXEC). `f`
    /// starts on this handle's database; [`Transaction::select`] switches.
    ///
    /// Calling a method of a `Cache` of the same store inside `f` deadlocks: use `tx`.
    ///
    /// ```
    /// use sabaody_core::{Cache, Keyspace};
    /// let cache = Cache::builder().build();
    /// cache.set("a", "10").unwrap();
    /// let watched = cache.key_version("a");
    /// let done = cache.transaction(|tx| {
    ///     // WATCH: abort if "a" (or a key of its shard) changed since it was watched.
    ///     if tx.key_version("a") != watched {
    ///         return false;
    ///     }
    ///     tx.decr_by("a", 3).unwrap();
    ///     tx.incr_by("b", 3).unwrap();
    ///     true
    /// });
    /// assert!(done);
    /// assert_eq!(cache.mget(&["a", "b"]), vec![Some("7".into()), Some("3".into())]);
    /// ```
    pub fn transaction<R>(&self, f: impl FnOnce(&Transaction<'_>) -> R) -> R {
        let guards = self.store.slots.iter().map(|s| s.shard.write()).collect();
        let tx = Transaction {
            store: &self.store,
            db: std::cell::Cell::new(self.db),
            guards: std::cell::RefCell::new(guards),
        };
        f(&tx)
    }

    /// The current time of the cache's clock, in Unix milliseconds.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.store.now()
    }

    /// Checks the internal invariants of every shard (tests, fuzzing).
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn validate(&self) -> Result<(), String> {
        // All shards read-locked (ascending) at once: writers update the global total while
        // they still hold their shard, so it is exact here even with writers around.
        let guards: Vec<_> = self.store.slots.iter().map(|s| s.shard.read()).collect();
        let mut total = 0;
        for (i, shard) in guards.iter().enumerate() {
            shard.validate().map_err(|e| format!("shard {i}: {e}"))?;
            total += shard.mem;
        }
        let used = self.used_memory();
        if used != total {
            return Err(format!("used_memory {used} != sum of shards {total}"));
        }
        Ok(())
    }
}
