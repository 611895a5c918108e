//! `Cache`: the user's handle, and its builder.

use crate::Error;
use crate::access::Transaction;
use crate::clock::{Clock, SystemClock};
use crate::evict::{EvictionListener, EvictionPolicy, RemovalCause};
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
pub struct CacheBuilder {
    databases: usize,
    shards: Option<usize>,
    clock: Arc<dyn Clock>,
    housekeeping: bool,
    hz: u32,
    max_memory: u64,
    policy: EvictionPolicy,
    samples: u32,
    lfu_log_factor: u32,
    lfu_decay_time: u32,
    listener: Option<EvictionListener>,
}

impl std::fmt::Debug for CacheBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("databases", &self.databases)
            .field("shards", &self.shards)
            .field("housekeeping", &self.housekeeping)
            .field("hz", &self.hz)
            .field("max_memory", &self.max_memory)
            .field("policy", &self.policy)
            .field("listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for CacheBuilder {
    fn default() -> Self {
        CacheBuilder {
            databases: 16,
            shards: None,
            clock: Arc::new(SystemClock),
            housekeeping: true,
            hz: 10,
            max_memory: 0,
            policy: EvictionPolicy::NoEviction,
            samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            listener: None,
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

    /// The memory bound in bytes of [`Cache::used_memory`] (Redis `maxmemory`; 0, the default,
    /// means none). What happens at the bound is the [`CacheBuilder::eviction_policy`].
    #[must_use]
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = bytes;
        self
    }

    /// What to do at the memory bound (Redis `maxmemory-policy`; default
    /// [`EvictionPolicy::NoEviction`]: writes that need memory fail with
    /// [`Error::OutOfMemory`]).
    #[must_use]
    pub fn eviction_policy(mut self, policy: EvictionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Keys sampled per eviction round (Redis `maxmemory-samples`, default 5; more is closer
    /// to exact LRU/LFU and slower).
    #[must_use]
    pub fn eviction_samples(mut self, n: u32) -> Self {
        self.samples = n.max(1);
        self
    }

    /// Redis `lfu-log-factor` (default 10): how many accesses it takes to raise the LFU counter.
    #[must_use]
    pub fn lfu_log_factor(mut self, factor: u32) -> Self {
        self.lfu_log_factor = factor;
        self
    }

    /// Redis `lfu-decay-time` in minutes (default 1): the LFU counter drops by one per period
    /// without access; 0 = never.
    #[must_use]
    pub fn lfu_decay_time(mut self, minutes: u32) -> Self {
        self.lfu_decay_time = minutes;
        self
    }

    /// Calls `f(key, cause)` for every key that leaves the cache by expiry, eviction or an
    /// explicit delete (`del`, `unlink`, `getdel`; not `flushdb`/`flushall`, overwrites or
    /// renames). It runs on the thread that removed the key after the shard locks are
    /// released, so it may use the cache.
    ///
    /// ```
    /// use sabaody_core::{Cache, EvictionPolicy, Keyspace, RemovalCause};
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&seen);
    /// let cache = Cache::builder()
    ///     .eviction_listener(move |key: &[u8], cause| log.lock().unwrap().push((key.to_vec(), cause)))
    ///     .build();
    /// cache.set("k", "v").unwrap();
    /// cache.del(&["k"]);
    /// assert_eq!(*seen.lock().unwrap(), vec![(b"k".to_vec(), RemovalCause::Removed)]);
    /// ```
    #[must_use]
    pub fn eviction_listener(
        mut self,
        f: impl Fn(&[u8], RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(f));
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
        let store = Arc::new(Store::new(
            self.databases,
            shards,
            self.clock,
            self.listener,
        ));
        store.tracking.set_policy(self.policy);
        store
            .tracking
            .lfu_log_factor
            .store(self.lfu_log_factor, Ordering::Relaxed);
        store
            .tracking
            .lfu_decay_time
            .store(self.lfu_decay_time, Ordering::Relaxed);
        store.limits.samples.store(self.samples, Ordering::Relaxed);
        store
            .limits
            .maxmemory
            .store(self.max_memory, Ordering::Relaxed);
        if self.housekeeping {
            start_housekeeping(&store, self.hz);
        }
        Cache { store, db: 0 }
    }
}

fn start_housekeeping(store: &Arc<Store>, hz: u32) {
    store.tracking.refresh_clock();
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
                store.tracking.refresh_clock();
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
    /// Keys evicted to stay within the memory bound.
    pub evicted_keys: u64,
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
        st.evicted_keys = self.store.limits.evicted.load(Ordering::Relaxed);
        st
    }

    /// Zeroes the counters of [`Cache::stats`] (the server's CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for stripe in &self.store.stripes {
            stripe.hits.store(0, Ordering::Relaxed);
            stripe.misses.store(0, Ordering::Relaxed);
        }
        for slot in &self.store.slots {
            slot.shard.write().expired = 0;
        }
        self.store.limits.evicted.store(0, Ordering::Relaxed);
    }

    /// The memory bound in bytes (0 = none).
    #[must_use]
    pub fn max_memory(&self) -> u64 {
        self.store.limits.maxmemory.load(Ordering::Relaxed)
    }

    /// Changes the memory bound (CONFIG SET maxmemory). A bound below the current usage
    /// evicts down to it at once, as far as the policy allows; returns the keys evicted.
    pub fn set_max_memory(&self, bytes: u64) -> usize {
        self.store.limits.maxmemory.store(bytes, Ordering::Relaxed);
        self.store.evict_to_limit()
    }

    /// Changes the memory bound without evicting: the next write that needs room, or a call
    /// to [`Cache::evict_to_limit`], brings usage down to it. For a caller that holds this
    /// cache's locks (inside [`Cache::transaction`]), where evicting at once would wait on
    /// the caller's own locks.
    pub fn set_max_memory_deferred(&self, bytes: u64) {
        self.store.limits.maxmemory.store(bytes, Ordering::Relaxed);
    }

    /// Evicts until memory is within the bound or the policy allows no more; returns the
    /// number of keys evicted (0 with no bound, or within it). Must not be called from
    /// inside [`Cache::transaction`].
    pub fn evict_to_limit(&self) -> usize {
        self.store.evict_to_limit()
    }

    /// The eviction policy.
    #[must_use]
    pub fn eviction_policy(&self) -> EvictionPolicy {
        self.store.tracking.policy()
    }

    /// Changes the eviction policy. Switching between LRU and LFU reinterprets the keys'
    /// access stamps, as in Redis: the data takes a while to adjust.
    pub fn set_eviction_policy(&self, policy: EvictionPolicy) {
        self.store.tracking.set_policy(policy);
    }

    /// Keys sampled per eviction round.
    #[must_use]
    pub fn eviction_samples(&self) -> u32 {
        self.store.limits.samples.load(Ordering::Relaxed)
    }

    /// Changes the keys sampled per eviction round (at least 1).
    pub fn set_eviction_samples(&self, n: u32) {
        self.store.limits.samples.store(n.max(1), Ordering::Relaxed);
    }

    /// Redis `lfu-log-factor`.
    #[must_use]
    pub fn lfu_log_factor(&self) -> u32 {
        self.store.tracking.lfu_log_factor.load(Ordering::Relaxed)
    }

    /// Changes `lfu-log-factor`.
    pub fn set_lfu_log_factor(&self, factor: u32) {
        self.store
            .tracking
            .lfu_log_factor
            .store(factor, Ordering::Relaxed);
    }

    /// Redis `lfu-decay-time` (minutes).
    #[must_use]
    pub fn lfu_decay_time(&self) -> u32 {
        self.store.tracking.lfu_decay_time.load(Ordering::Relaxed)
    }

    /// Changes `lfu-decay-time`.
    pub fn set_lfu_decay_time(&self, minutes: u32) {
        self.store
            .tracking
            .lfu_decay_time
            .store(minutes, Ordering::Relaxed);
    }

    /// Evicts as the policy allows until [`Cache::used_memory`] is within the bound (at most
    /// a bounded number of keys per call, as before every write).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if memory is over the bound and nothing may be evicted.
    pub fn make_room(&self) -> Result<(), Error> {
        self.store.make_room()
    }

    /// The highest [`Cache::used_memory`] seen since the cache was built (`used_memory_peak`).
    #[must_use]
    pub fn peak_memory(&self) -> usize {
        usize::try_from(self.store.peak.load(Ordering::Relaxed)).unwrap_or(0)
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
            generation: self.store.snap_gen(),
            store: &self.store,
            db: std::cell::Cell::new(self.db),
            guards: std::cell::RefCell::new(guards),
        };
        let r = f(&tx);
        drop(tx);
        crate::evict::flush_notices(&self.store);
        r
    }

    /// Installs a hook told about every key that leaves the store (expired, evicted or
    /// deleted), with its database, on the thread that removed it, after the shard locks are
    /// released. One hook per store: returns false if one is already set.
    pub fn set_removal_hook(
        &self,
        f: impl Fn(usize, &[u8], RemovalCause) + Send + Sync + 'static,
    ) -> bool {
        self.store.limits.hook.set(Arc::new(f)).is_ok()
    }

    /// Installs a hook told about every read lookup that finds no key (the lookups counted as
    /// keyspace misses), with the key's database, on the calling thread, after the shard
    /// locks are released (inside a [`crate::Transaction`], while it holds them). One hook per
    /// store: returns false if one is already set.
    pub fn set_miss_hook(&self, f: impl Fn(usize, &[u8]) + Send + Sync + 'static) -> bool {
        self.store.limits.miss_hook.set(Arc::new(f)).is_ok()
    }

    /// Hints that `key` (in this handle's database) is about to be looked up: starts loading
    /// the memory of its hash-table probe into the CPU cache, so a batch of lookups (a client's
    /// pipeline) overlaps its cache misses instead of taking them one after another. Takes no
    /// lock and has no effect on the contents.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        let h = self.store.hash(key);
        let slot = &self.store.slots[self.store.gid(self.db, h)];
        let ctrl = slot.pf_ctrl.load(Ordering::Relaxed);
        if ctrl == 0 {
            return;
        }
        let pos = (h as usize) & slot.pf_mask.load(Ordering::Relaxed);
        crate::prefetch::line(ctrl.wrapping_add(pos));
        crate::prefetch::line(ctrl.wrapping_sub((pos + 1) * 8));
    }

    /// How many changes the whole cache has seen since it was built (every database),
    /// counted as Redis 7.0 counts its `server.dirty`: per element for the collection
    /// commands (`SADD s a b c` adds 3, or only the members that were new; `HSET` one per
    /// field written; `LPUSH`, `LREM`, `LTRIM`, `ZADD`, `ZREMRANGEBY*`, pops: the elements
    /// pushed, removed or updated), per key for `DEL` and `MSET` pairs, per key removed for
    /// a flush, and once for a `SET`, `INCR`, `APPEND`, `EXPIRE`, `RENAME`, a `*STORE`
    /// command (once per stored member for `SORT ... STORE` and `GEOSEARCHSTORE`), each
    /// Bloom/CMS write call. A write that changes nothing adds 0; keys removed by expiry or
    /// eviction, and keys loaded from a file, add nothing.
    ///
    /// Persistence uses the difference between two readings as Redis uses its counter
    /// (`rdb_changes_since_last_save`, `save <seconds> <changes>` points). Reading it sums one
    /// relaxed atomic per shard; writers keep their shard's count under its lock.
    #[must_use]
    pub fn change_count(&self) -> u64 {
        self.store
            .slots
            .iter()
            .map(|s| s.dirty.load(Ordering::Relaxed))
            .sum()
    }

    /// The change count of the shard that holds `key` (in this handle's database): it moves
    /// when a write changes that key, and when a write changes another key of its shard. A
    /// server compares two readings to learn that a write changed nothing (Redis then
    /// signals no modified key).
    #[must_use]
    pub fn changes_near(&self, key: impl AsRef<[u8]>) -> u64 {
        let h = self.store.hash(key.as_ref());
        self.store.slots[self.store.gid(self.db, h)]
            .dirty
            .load(Ordering::Relaxed)
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
