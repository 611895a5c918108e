//! The memory bound: access tracking (LRU time or LFU counter per key), Redis's eviction
//! policies approximated by sampling, and removal notifications.
//!
//! # Access stamps
//!
//! Every table slot carries a 32-bit stamp next to the record offset (see `shard.rs`). Reads
//! update it with a relaxed atomic store under the shard's shared lock, and only when it
//! changes, so a hot key read by several threads does not bounce its cache line on every read.
//!
//! * LRU policies (and every non-LFU policy, as Redis tracks LRU unless LFU is selected): the
//!   stamp is the access time in milliseconds, modulo 2^32 (idle times are computed with
//!   wrapping arithmetic, exact up to 49 days).
//! * LFU policies: `(time << 9) | (returning << 8) | counter`: Redis's 8-bit logarithmic
//!   counter, a flag, and the time of the last access in 32 ms ticks (23 bits, wrapping after
//!   74 hours) where Redis keeps minutes (16 bits). An access first decays the counter by one
//!   per `lfu-decay-time` minutes elapsed, then increments it with probability
//!   `1 / ((counter - 5) * lfu-log-factor + 1)` (and clears the flag); new keys start at 5 so
//!   they are not evicted before they had a chance to be read. The flag marks a key created
//!   while the ghost table (below) remembered it as recently evicted. Among keys of equal
//!   counter, which Redis leaves in sampling order, keys not flagged go first, then the one
//!   idle longer (the finer time: of two keys read equally often, the one idle longer).
//!
//! # What LFU adds to Redis's sampling
//!
//! Redis's LFU forgets a key when it evicts it, and finds the keys created and never read
//! since (counter 5) only as often as the sample holds them, so those settle at about
//! `1 / maxmemory-samples` of the cache and leave in random order. Two additions, neither
//! visible in a counter or in `OBJECT FREQ`, and neither changing that a lower counter is
//! evicted first:
//! * a ghost table ([`Ghost`]): one-byte fingerprints of recently evicted keys (two entries
//!   per key held at the first eviction); a key created while its fingerprint is there is
//!   flagged, and evicted after unflagged keys of equal counter;
//! * a per-shard ring of the keys created most recently ([`Recent`], an eighth of the keys):
//!   each sampling also offers the oldest one, so unread keys are evicted in creation order
//!   after a bounded probation.
//!
//! Both are made at the first eviction under an LFU policy (about 3 bytes per key then, not
//! charged to `used_memory`, like Redis's eviction pool); writes record into the ring only
//! from then on, and an eviction computes the evicted key's hash for the ghost table.
//! Measured with `examples/hit_ratio.rs` (5M requests, 100,000 keys of 1M, defaults):
//! Zipf 78.86% → 79.47%, Zipf with scans 63.79% → 64.62% (moka: 79.1–79.3%, 64.25–64.35%), at
//! a cost on the shifting hot set: 68.69% → 65.16% (moka 62.6%); the ghost table alone gives
//! 79.06%, 64.12%, 68.67%. The shifting figure of Redis's own scheme owes to its imprecision:
//! without these additions, `maxmemory-samples` 10 and 20 give 66.99% and 65.42% there.
//!
//! # Eviction
//!
//! Before a write that may grow memory ([`Store::make_room`]) and while `used_memory` is above
//! `maxmemory`, keys are evicted one at a time. For LRU/LFU/TTL policies each round samples
//! `maxmemory-samples` keys from one random non-empty shard (keys are spread over shards by hash,
//! so this is a uniform sample), merges them into a pool of the 16 best candidates seen so far
//! (highest idle time, lowest decayed frequency, or nearest expiry), and evicts the best pool
//! entry that still exists, as Redis's `evictionPoolPopulate` does. A sample is a run of
//! consecutive table buckets (as Redis's `dictGetSomeKeys` takes), scored from the slots' access
//! stamps alone, and a pool entry is a bucket, not a copy of the key: sampling reads one or two
//! cache lines of the table and no record, and allocates nothing. A pool entry read since it
//! was sampled goes back into the pool with its new score instead of being evicted on its old
//! one. Random policies evict a random key. One call evicts at most [`MAX_EVICTIONS_PER_CALL`]
//! keys, so a write never pays for an unbounded amount of eviction; the next write continues.

use crate::Error;
use crate::clock::Clock;
use crate::shard::Shard;
use crate::store::Store;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};

/// Redis's `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum EvictionPolicy {
    /// Refuse writes that need memory once the bound is reached (the default).
    #[default]
    NoEviction,
    /// Evict the least recently used key, among all keys.
    AllKeysLru,
    /// Evict the least frequently used key, among all keys.
    AllKeysLfu,
    /// Evict a random key.
    AllKeysRandom,
    /// Evict the least recently used key among keys with a TTL.
    VolatileLru,
    /// Evict the least frequently used key among keys with a TTL.
    VolatileLfu,
    /// Evict a random key among keys with a TTL.
    VolatileRandom,
    /// Evict the key with the nearest expiry.
    VolatileTtl,
}

const POLICIES: [EvictionPolicy; 8] = [
    EvictionPolicy::NoEviction,
    EvictionPolicy::AllKeysLru,
    EvictionPolicy::AllKeysLfu,
    EvictionPolicy::AllKeysRandom,
    EvictionPolicy::VolatileLru,
    EvictionPolicy::VolatileLfu,
    EvictionPolicy::VolatileRandom,
    EvictionPolicy::VolatileTtl,
];

impl EvictionPolicy {
    /// The name Redis uses (`allkeys-lru`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::AllKeysLru => "allkeys-lru",
            EvictionPolicy::AllKeysLfu => "allkeys-lfu",
            EvictionPolicy::AllKeysRandom => "allkeys-random",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
        }
    }

    /// Parses a Redis policy name, case-insensitively.
    #[must_use]
    pub fn from_name(name: &[u8]) -> Option<EvictionPolicy> {
        POLICIES
            .into_iter()
            .find(|p| p.as_str().as_bytes().eq_ignore_ascii_case(name))
    }

    /// True for the LFU policies (keys then carry frequency counters, not access times).
    #[must_use]
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
    }

    fn is_volatile(self) -> bool {
        matches!(
            self,
            EvictionPolicy::VolatileLru
                | EvictionPolicy::VolatileLfu
                | EvictionPolicy::VolatileRandom
                | EvictionPolicy::VolatileTtl
        )
    }

    fn index(self) -> u8 {
        POLICIES.iter().position(|&p| p == self).unwrap_or(0) as u8
    }
}

/// Why a key left the cache, as told to an eviction listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalCause {
    /// Its TTL passed (found by a lookup or by the active expiry cycle).
    Expired,
    /// Evicted to stay within `maxmemory`.
    Evicted,
    /// Deleted by a command (`DEL`, `UNLINK`, `GETDEL`).
    Removed,
}

/// A callback told about keys leaving the cache: called after the shard locks are released,
/// on the thread that removed the key, so it may use the cache itself.
pub type EvictionListener = Arc<dyn Fn(&[u8], RemovalCause) + Send + Sync>;

/// The LFU clock's tick.
const LFU_TICK_MS: i64 = 32;
/// The LFU clock's range: 23 bits of ticks (wrapping after 74 hours).
const LFU_TICK_MASK: u32 = 0x7F_FFFF;
/// LFU stamp flag: the key was created while the ghost table remembered it as recently
/// evicted (see [`Ghost`]).
const LFU_RETURNING: u32 = 1 << 8;
/// Redis's initial LFU counter for new keys.
pub(crate) const LFU_INIT: u8 = 5;
/// Most keys one [`Store::make_room`] call evicts.
pub const MAX_EVICTIONS_PER_CALL: usize = 128;
/// A shard's [`Recent`] ring holds this fraction of its keys (when LFU eviction starts).
const RECENT_DIVISOR: usize = 8;
/// Size of the candidate pool (Redis's `EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;
/// Largest `maxmemory-samples` honoured (Redis accepts 1 to 64).
const MAX_SAMPLES: usize = 64;
/// Random shard probes before falling back to a scan of every shard.
const SHARD_PROBES: usize = 64;

/// The settings access tracking needs, shared by every shard of a store.
#[derive(Debug)]
pub(crate) struct Tracking {
    policy: AtomicU8,
    pub(crate) lfu_log_factor: AtomicU32,
    pub(crate) lfu_decay_time: AtomicU32,
    /// See [`Tracking::now_ms`]; 0 while no housekeeping thread keeps it.
    cached_ms: AtomicI64,
    clock: Arc<dyn Clock>,
    /// Recently evicted keys, for LFU policies; made at the first LFU eviction.
    ghost: std::sync::OnceLock<Ghost>,
}

/// Keys a shard created most recently, while LFU eviction runs: each sampling of the shard
/// also offers the oldest one to the pool, so a key created and never read since is evicted
/// once about an eighth of the keys have been created after it (a probation window), while
/// keys the ghost table flagged as returning keep their place. Without it, sampling finds
/// such keys only as often as they make up the sample, so the unread keys settle at about
/// `1 / maxmemory-samples` of the cache and are evicted in random order.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    /// Ring of `(epoch << 32) | bucket`; empty until the first LFU eviction sizes it.
    entries: Box<[u64]>,
    /// Entries ever pushed (changed under the shard's exclusive lock).
    pushed: u64,
    /// Entries ever taken or skipped (taken under the shared lock by evicting threads).
    taken: AtomicU64,
}

impl Recent {
    /// Records a created key's bucket (under the shard's exclusive lock): overwrites the
    /// oldest entry once the ring is full.
    #[inline]
    pub(crate) fn push(&mut self, bucket: usize, epoch: u32) {
        let len = self.entries.len() as u64;
        if let Some(e) = self.entries.get_mut((self.pushed % len.max(1)) as usize) {
            *e = (u64::from(epoch) << 32) | (bucket as u64 & OFFSET_MASK);
            self.pushed += 1;
        }
    }

    /// Takes the oldest entry (under a shared lock: an entry is taken by one thread only);
    /// `None` if there is none or it predates a rehash (`epoch`).
    fn take_oldest(&self, epoch: u32) -> Option<usize> {
        let len = self.entries.len() as u64;
        loop {
            let t = self.taken.load(Relaxed);
            let pos = t.max(self.pushed.saturating_sub(len));
            if pos >= self.pushed {
                return None;
            }
            if self
                .taken
                .compare_exchange(t, pos + 1, Relaxed, Relaxed)
                .is_ok()
            {
                let v = *self.entries.get((pos % len) as usize)?;
                return ((v >> 32) as u32 == epoch).then_some((v & OFFSET_MASK) as usize);
            }
        }
    }

    /// Makes the ring `len` entries long, empty.
    fn reset(&mut self, len: usize) {
        self.entries = vec![0; len].into_boxed_slice();
        self.pushed = 0;
        self.taken = AtomicU64::new(0);
    }
}

const OFFSET_MASK: u64 = 0xFFFF_FFFF;

/// Fingerprints of recently evicted keys (LFU policies): a direct-mapped table of one byte per
/// entry, indexed by the key hash's low bits and holding 8 other bits of it (0 = empty). An
/// eviction writes its key's entry (overwriting whatever was there, so old entries age out by
/// being replaced); a new key whose entry matches is flagged [`LFU_RETURNING`]. A false match
/// (1 in 255 for an unrelated key) only changes the order among keys of equal counter.
#[derive(Debug)]
pub(crate) struct Ghost {
    table: Box<[AtomicU8]>,
}

impl Ghost {
    /// Two entries per key the store holds when it first evicts (so it remembers about the
    /// last two cache-fulls of evictions), from 4 KiB to 4 MiB.
    fn new(keys: usize) -> Ghost {
        let n = keys
            .saturating_mul(2)
            .clamp(1 << 12, 1 << 22)
            .next_power_of_two();
        Ghost {
            table: (0..n).map(|_| AtomicU8::new(0)).collect(),
        }
    }

    #[inline]
    fn entry(&self, h: u64) -> (Option<&AtomicU8>, u8) {
        // Index from the low bits, fingerprint from bits 48..56: neither overlaps the bits that
        // pick the shard (32..) for the usual shard counts.
        let i = (h as usize) & (self.table.len() - 1);
        (self.table.get(i), ((h >> 48) as u8) | 1)
    }

    fn remember(&self, h: u64) {
        if let (Some(e), fp) = self.entry(h) {
            e.store(fp, Relaxed);
        }
    }

    fn recalls(&self, h: u64) -> bool {
        matches!(self.entry(h), (Some(e), fp) if e.load(Relaxed) == fp)
    }
}

impl Tracking {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Tracking {
        Tracking {
            policy: AtomicU8::new(0),
            lfu_log_factor: AtomicU32::new(10),
            lfu_decay_time: AtomicU32::new(1),
            cached_ms: AtomicI64::new(0),
            clock,
            ghost: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn policy(&self) -> EvictionPolicy {
        POLICIES[usize::from(self.policy.load(Relaxed)) % POLICIES.len()]
    }

    pub(crate) fn set_policy(&self, p: EvictionPolicy) {
        self.policy.store(p.index(), Relaxed);
    }

    #[inline]
    fn lfu(&self) -> bool {
        self.policy().is_lfu()
    }

    /// The access clock: the time the housekeeping thread cached at its last run (so reads
    /// do not each read the clock; Redis's LRU clock is likewise refreshed by its cron), or the
    /// clock itself when no housekeeping thread runs.
    #[inline]
    fn now_ms(&self) -> i64 {
        match self.cached_ms.load(Relaxed) {
            0 => self.clock.now_ms(),
            t => t,
        }
    }

    /// Caches the current time for [`Tracking::now_ms`] (the housekeeping thread, each run).
    pub(crate) fn refresh_clock(&self) {
        self.cached_ms.store(self.clock.now_ms().max(1), Relaxed);
    }

    /// The LFU clock: 32 ms ticks, 23 bits.
    fn ticks(&self) -> u32 {
        ((self.now_ms().max(0) / LFU_TICK_MS) as u32) & LFU_TICK_MASK
    }

    /// The stamp of a key just created (`h`: its hash).
    #[inline]
    pub(crate) fn initial(&self, h: u64) -> u32 {
        if self.lfu() {
            let returning = match self.ghost.get() {
                Some(g) if g.recalls(h) => LFU_RETURNING,
                _ => 0,
            };
            (self.ticks() << 9) | returning | u32::from(LFU_INIT)
        } else {
            self.now_ms() as u32
        }
    }

    /// The stamp after one access.
    #[inline]
    pub(crate) fn touched(&self, old: u32) -> u32 {
        if self.lfu() {
            let c = self.lfu_decayed(old);
            (self.ticks() << 9) | u32::from(self.lfu_log_incr(c))
        } else {
            self.now_ms() as u32
        }
    }

    /// True while shards should record the keys they create in their [`Recent`] ring (an
    /// LFU policy has evicted).
    #[inline]
    pub(crate) fn keeps_recent(&self) -> bool {
        self.ghost.get().is_some() && self.lfu()
    }

    /// LFU ticks since the stamp's last access (modulo 2^23).
    pub(crate) fn lfu_idle_ticks(&self, stamp: u32) -> u32 {
        self.ticks().wrapping_sub(stamp >> 9) & LFU_TICK_MASK
    }

    /// Minutes elapsed since the stamp's last access, counted as Redis does: minute
    /// boundaries crossed (Redis stores the access time in minutes), so a key read every
    /// 30 seconds still decays by one period per minute.
    fn lfu_elapsed(&self, stamp: u32) -> u32 {
        const TICKS_PER_MINUTE: u64 = 60_000 / LFU_TICK_MS as u64;
        let now = (self.now_ms().max(0) / LFU_TICK_MS) as u64;
        let last = now.saturating_sub(u64::from(self.lfu_idle_ticks(stamp)));
        (now / TICKS_PER_MINUTE - last / TICKS_PER_MINUTE) as u32
    }

    /// The LFU counter of a stamp after decay (what `OBJECT FREQ` reports).
    pub(crate) fn lfu_decayed(&self, stamp: u32) -> u8 {
        let counter = (stamp & 0xFF) as u8;
        let period = self.lfu_decay_time.load(Relaxed);
        // lfu-decay-time 0: counters never decay.
        let periods = self.lfu_elapsed(stamp).checked_div(period).unwrap_or(0);
        if periods >= u32::from(counter) {
            0
        } else {
            counter - periods as u8
        }
    }

    fn lfu_log_incr(&self, counter: u8) -> u8 {
        if counter == u8::MAX {
            return counter;
        }
        let base = f64::from(counter.saturating_sub(LFU_INIT));
        let factor = f64::from(self.lfu_log_factor.load(Relaxed));
        let p = 1.0 / (base * factor + 1.0);
        if fastrand::f64() < p {
            counter + 1
        } else {
            counter
        }
    }

    /// Milliseconds since the access recorded in an LRU stamp.
    pub(crate) fn idle_ms(&self, stamp: u32) -> u64 {
        u64::from((self.now_ms() as u32).wrapping_sub(stamp))
    }

    /// The LRU stamp of a key last read `idle_ms` ago (an RDB `IDLE` hint being loaded). An
    /// idle time past what a stamp holds (2^32 - 1 ms, 49 days) is held as that.
    pub(crate) fn lru_stamp_idle(&self, idle_ms: u64) -> u32 {
        let idle = u32::try_from(idle_ms).unwrap_or(u32::MAX);
        (self.now_ms() as u32).wrapping_sub(idle)
    }

    /// The LFU stamp of a key with counter `counter`, read now (an RDB `FREQ` hint being
    /// loaded; Redis likewise restores the counter with the current time).
    pub(crate) fn lfu_stamp(&self, counter: u8) -> u32 {
        (self.ticks() << 9) | u32::from(counter)
    }
}

/// One eviction candidate in the pool: a table bucket and the slot (record offset and stamp)
/// it held when sampled. The key is evicted only if the bucket still holds that slot and the
/// table has not rehashed since (`epoch`); a read since sampling changes the stamp and sends
/// the candidate back into the pool with its new score. (A record of another key could only
/// take the same offset after a compaction; it would then be evicted in its place, a worse
/// choice but still one the policy allows: volatile policies check the TTL again.)
#[derive(Debug, Clone, Copy, Default)]
struct Candidate {
    /// Higher = better to evict.
    score: u64,
    gid: usize,
    bucket: usize,
    epoch: u32,
    slot: u64,
}

/// Memory-bound state of a store.
pub(crate) struct Limits {
    /// `maxmemory` in bytes; 0 = no bound.
    pub(crate) maxmemory: AtomicU64,
    pub(crate) samples: AtomicU32,
    pub(crate) evicted: AtomicU64,
    /// Databases that held keys at the last refresh (bit per database), and the pick count
    /// that schedules refreshes.
    db_hint: AtomicU64,
    picks: AtomicU32,
    pool: Mutex<Vec<Candidate>>,
    pub(crate) listener: Option<EvictionListener>,
    /// The server's hook (AOF): told the database too; set once, after the build.
    pub(crate) hook: std::sync::OnceLock<RemovalHook>,
    /// The server's key-miss hook (keyspace notifications): set once, after the build.
    pub(crate) miss_hook: std::sync::OnceLock<MissHook>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("maxmemory", &self.maxmemory)
            .field("samples", &self.samples)
            .field("evicted", &self.evicted)
            .field("listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

impl Limits {
    pub(crate) fn new(listener: Option<EvictionListener>) -> Limits {
        Limits {
            maxmemory: AtomicU64::new(0),
            samples: AtomicU32::new(5),
            evicted: AtomicU64::new(0),
            db_hint: AtomicU64::new(0),
            picks: AtomicU32::new(0),
            pool: Mutex::new(Vec::with_capacity(POOL_SIZE)),
            listener,
            hook: std::sync::OnceLock::new(),
            miss_hook: std::sync::OnceLock::new(),
        }
    }
}

/// Like [`EvictionListener`], also told the database of the key (for a server that logs
/// removals, e.g. an append-only file). Set with `Cache::set_removal_hook`.
pub type RemovalHook = Arc<dyn Fn(usize, &[u8], RemovalCause) + Send + Sync>;

/// Told about each read lookup that missed (database, key): the lookups counted in
/// `keyspace_misses`, as Redis raises its `keymiss` event. Set with `Cache::set_miss_hook`.
pub type MissHook = Arc<dyn Fn(usize, &[u8]) + Send + Sync>;

/// One queued removal notice.
type Notice = (
    Option<EvictionListener>,
    Option<RemovalHook>,
    usize,
    Vec<u8>,
    RemovalCause,
);

thread_local! {
    /// Removals noticed under a shard lock, told to the listener once the lock is released.
    static PENDING: RefCell<Vec<Notice>> = const { RefCell::new(Vec::new()) };
}

/// Queues a removal notice of a key of database `db` (no-op without a listener or hook).
#[inline]
pub(crate) fn notify(store: &Store, db: usize, key: &[u8], cause: RemovalCause) {
    let l = store.limits.listener.as_ref();
    let h = store.limits.hook.get();
    if l.is_some() || h.is_some() {
        PENDING.with(|p| {
            p.borrow_mut()
                .push((l.cloned(), h.cloned(), db, key.to_vec(), cause))
        });
    }
}

/// Tells the listener (and hook) about queued removals. Call with no shard lock held.
#[inline]
pub(crate) fn flush_notices(store: &Store) {
    if store.limits.listener.is_none() && store.limits.hook.get().is_none() {
        return;
    }
    // Almost every write removes nothing: a look, not a take (which would also drop the
    // vector's buffer each time).
    if PENDING.with(|p| p.borrow().is_empty()) {
        return;
    }
    flush_pending();
}

#[inline(never)]
fn flush_pending() {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for (l, h, db, key, cause) in pending {
        if let Some(l) = l {
            l(&key, cause);
        }
        if let Some(h) = h {
            h(db, &key, cause);
        }
    }
}

impl Store {
    fn over_limit(&self) -> bool {
        let max = self.limits.maxmemory.load(Relaxed);
        max != 0 && self.used.load(Relaxed).max(0) as u64 > max
    }

    /// Called before a write that may need memory: evicts (at most
    /// [`MAX_EVICTIONS_PER_CALL`] keys) while `used_memory > maxmemory`.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if memory is over the bound and the policy has nothing it may
    /// evict (`noeviction`, or a volatile policy with no key carrying a TTL).
    #[inline]
    pub(crate) fn make_room(&self) -> Result<(), Error> {
        if !self.over_limit() {
            return Ok(());
        }
        self.make_room_slow()
    }

    #[cold]
    fn make_room_slow(&self) -> Result<(), Error> {
        self.init_ghost();
        let mut result = Ok(());
        for _ in 0..MAX_EVICTIONS_PER_CALL {
            if !self.over_limit() {
                break;
            }
            if !self.evict_one() {
                if self.over_limit() {
                    result = Err(Error::OutOfMemory);
                }
                break;
            }
        }
        flush_notices(self);
        result
    }

    /// Evicts until memory is within the bound or nothing more may be evicted (`CONFIG SET
    /// maxmemory` below the current usage). Returns the number of keys evicted.
    pub(crate) fn evict_to_limit(&self) -> usize {
        self.init_ghost();
        let mut n = 0;
        while self.over_limit() && self.evict_one() {
            n += 1;
            if n % 1024 == 0 {
                flush_notices(self);
            }
        }
        flush_notices(self);
        n
    }

    /// On the first eviction under an LFU policy: makes the ghost table and the shards'
    /// [`Recent`] rings, sized from the number of keys then (once made, they stay). Called
    /// with no shard lock held.
    fn init_ghost(&self) {
        if self.tracking.lfu() && self.tracking.ghost.get().is_none() {
            let keys = self
                .slots
                .iter()
                .map(|s| s.keys.load(Relaxed) as usize)
                .sum();
            let mut made = false;
            self.tracking.ghost.get_or_init(|| {
                made = true;
                Ghost::new(keys)
            });
            if made {
                for db in 0..self.databases {
                    let range = self.db_range(db);
                    let per_shard = range
                        .clone()
                        .map(|g| self.slots[g].keys.load(Relaxed) as usize)
                        .max()
                        .unwrap_or(0);
                    let len = (per_shard / RECENT_DIVISOR).max(4);
                    for g in range {
                        self.slots[g].shard.write().recent.reset(len);
                    }
                }
            }
        }
    }

    /// A random shard holding keys (keys with a TTL for `volatile`), if any.
    fn pick_shard(&self, volatile: bool) -> Option<usize> {
        let total = self.slots.len();
        let wanted = |g: usize| {
            let s = &self.slots[g];
            if volatile {
                s.volatile.load(Relaxed) > 0
            } else {
                s.keys.load(Relaxed) > 0
            }
        };
        // Most stores use few of their databases: probe inside the databases that held keys
        // at the last refresh of the hint (one bit per database, the first 64), refreshed
        // every 256 picks by one pass over the slots' counters.
        let calls = self.limits.picks.fetch_add(1, Relaxed);
        if calls.is_multiple_of(256) {
            let mut mask = 0u64;
            for db in 0..self.databases.min(64) {
                if self
                    .db_range(db)
                    .any(|g| self.slots[g].keys.load(Relaxed) > 0)
                {
                    mask |= 1 << db;
                }
            }
            self.limits.db_hint.store(mask, Relaxed);
        }
        let mask = self.limits.db_hint.load(Relaxed);
        if mask != 0 {
            let dbs = mask.count_ones();
            for _ in 0..SHARD_PROBES {
                let mut nth = fastrand::u32(..dbs);
                let mut m = mask;
                while nth > 0 {
                    m &= m - 1;
                    nth -= 1;
                }
                let db = m.trailing_zeros() as usize;
                let g = db * self.shards_per_db + fastrand::usize(..self.shards_per_db);
                if wanted(g) {
                    return Some(g);
                }
            }
        }
        for _ in 0..SHARD_PROBES {
            let g = fastrand::usize(..total);
            if wanted(g) {
                return Some(g);
            }
        }
        let start = fastrand::usize(..total);
        (0..total).map(|i| (start + i) % total).find(|&g| wanted(g))
    }

    /// Evicts one key. False if the policy finds nothing it may evict.
    fn evict_one(&self) -> bool {
        let policy = self.tracking.policy();
        match policy {
            EvictionPolicy::NoEviction => false,
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom => {
                self.evict_random(policy.is_volatile())
            }
            _ => self.evict_from_pool(policy),
        }
    }

    /// Removes the key in `bucket` of shard `gid` (held by `shard`) as evicted.
    fn evict_bucket(&self, gid: usize, shard: &mut Shard, bucket: usize) {
        if let Some(r) = shard.bucket(bucket) {
            let key = shard.key(&r);
            if let Some(g) = self.tracking.ghost.get()
                && self.tracking.lfu()
            {
                g.remember(self.hash(key));
            }
            notify(
                self,
                gid / self.shards_per_db.max(1),
                key,
                RemovalCause::Evicted,
            );
        }
        self.before_write(gid, shard, self.snap_gen());
        let before = shard.mem;
        shard.remove_bucket(bucket);
        self.settle(gid, shard, before);
        self.limits.evicted.fetch_add(1, Relaxed);
    }

    fn evict_random(&self, volatile: bool) -> bool {
        for _ in 0..SHARD_PROBES {
            let Some(gid) = self.pick_shard(volatile) else {
                return false;
            };
            let mut shard = self.slots[gid].shard.write();
            let nb = shard.num_buckets();
            let start = fastrand::usize(..nb.max(1));
            let victim = (0..nb).map(|i| (start + i) % nb).find(|&b| {
                if volatile {
                    shard.bucket(b).is_some_and(|r| r.has_ttl)
                } else {
                    shard.slot_value(b).is_some()
                }
            });
            if let Some(b) = victim {
                self.evict_bucket(gid, &mut shard, b);
                return true;
            }
        }
        false
    }

    /// Samples one shard into the pool, then evicts the best pool entry whose key is still
    /// where and as it was sampled.
    fn evict_from_pool(&self, policy: EvictionPolicy) -> bool {
        let volatile = policy.is_volatile();
        for _ in 0..SHARD_PROBES {
            let Some(gid) = self.pick_shard(volatile) else {
                return false;
            };
            self.sample_into_pool(gid, policy);
            if self.evict_best_in_pool(policy) {
                return true;
            }
        }
        false
    }

    /// Evicts the best pool entry whose key is still where and as it was sampled; an entry
    /// read since goes back into the pool with its new score. False once the pool is empty.
    fn evict_best_in_pool(&self, policy: EvictionPolicy) -> bool {
        let volatile = policy.is_volatile();
        loop {
            let best = self.limits.pool.lock().pop();
            let Some(c) = best else { break };
            let mut shard = self.slots[c.gid].shard.write();
            if shard.epoch != c.epoch {
                continue; // the table rehashed: the bucket holds another key now
            }
            let Some(now) = shard.slot_value(c.bucket) else {
                continue; // deleted since
            };
            if now != c.slot {
                if now as u32 == c.slot as u32 && policy != EvictionPolicy::VolatileTtl {
                    // Read since it was sampled: back into the pool with its new score
                    // (Redis would evict it on its old one).
                    let score = self.stamp_score(policy, (now >> 32) as u32);
                    drop(shard);
                    self.pool_merge(&[Candidate {
                        score,
                        slot: now,
                        ..c
                    }]);
                }
                // Otherwise the key was rewritten or replaced since: sample again.
                continue;
            }
            if volatile && !shard.bucket(c.bucket).is_some_and(|r| r.has_ttl) {
                continue;
            }
            self.evict_bucket(c.gid, &mut shard, c.bucket);
            return true;
        }
        false
    }

    /// The eviction score of an access stamp (higher = evicted first).
    ///
    /// Scores order keys by the time of their last access (earlier = higher), not by their
    /// idle time when sampled as Redis's pool does: pool entries sampled at different times
    /// then still compare as their keys do.
    #[inline]
    fn stamp_score(&self, policy: EvictionPolicy, stamp: u32) -> u64 {
        let now = self.tracking.now_ms().max(0) as u64;
        if policy.is_lfu() {
            // Lower frequency first; among equal ones, keys not flagged as returning first,
            // then earlier last access first.
            const LFU_TIME: u64 = (1 << 39) - 1;
            let ticks = now / LFU_TICK_MS as u64;
            let last = ticks.saturating_sub(u64::from(self.tracking.lfu_idle_ticks(stamp)));
            let fresh = if stamp & LFU_RETURNING == 0 {
                1 << 39
            } else {
                0
            };
            ((255 - u64::from(self.tracking.lfu_decayed(stamp))) << 40)
                | fresh
                | (LFU_TIME - (last & LFU_TIME))
        } else {
            let last = now.saturating_sub(self.tracking.idle_ms(stamp));
            u64::MAX - last
        }
    }

    /// Scores up to `maxmemory-samples` keys of shard `gid` and merges them into the pool.
    ///
    /// Like Redis's `dictGetSomeKeys`, the sample is a run of consecutive table buckets from a
    /// random start (jumping elsewhere after a run of empty ones): the hash spreads keys, so
    /// neighbours are as random a sample as any, and their control bytes and slots share cache
    /// lines. The `allkeys` LRU and LFU scores come from the slots' stamps alone, so sampling
    /// reads no record; volatile policies read each record for its TTL.
    fn sample_into_pool(&self, gid: usize, policy: EvictionPolicy) {
        let samples = (self.limits.samples.load(Relaxed) as usize).clamp(1, MAX_SAMPLES);
        let volatile = policy.is_volatile();
        let mut found = [Candidate::default(); MAX_SAMPLES + 1];
        let mut n = 0;
        {
            let shard = self.slots[gid].shard.read();
            let nb = shard.num_buckets();
            if nb == 0 {
                return;
            }
            // The candidate for the key of `bucket` holding `slot`, if the policy may evict it.
            let candidate = |bucket: usize, slot: u64| {
                let stamp = (slot >> 32) as u32;
                let score = if volatile {
                    let r = shard.bucket(bucket)?;
                    if !r.has_ttl {
                        return None;
                    }
                    if policy == EvictionPolicy::VolatileTtl {
                        u64::MAX - shard.expire_at(&r).unwrap_or(i64::MAX).max(0) as u64
                    } else {
                        self.stamp_score(policy, stamp)
                    }
                } else {
                    self.stamp_score(policy, stamp)
                };
                Some(Candidate {
                    score,
                    gid,
                    bucket,
                    epoch: shard.epoch,
                    slot,
                })
            };
            let mut b = fastrand::usize(..nb);
            let mut empty_run = 0;
            for _ in 0..(samples * 16).min(nb) {
                if n == samples {
                    break;
                }
                if empty_run == 16 {
                    b = fastrand::usize(..nb);
                    empty_run = 0;
                }
                let bucket = b;
                b = if b + 1 == nb { 0 } else { b + 1 };
                let Some(slot) = shard.slot_value(bucket) else {
                    empty_run += 1;
                    continue;
                };
                empty_run = 0;
                if found[..n].iter().any(|c| c.bucket == bucket) {
                    continue; // a jump landed on a bucket already taken
                }
                if let Some(c) = candidate(bucket, slot) {
                    found[n] = c;
                    n += 1;
                }
            }
            // LFU: also the oldest key the shard created recently (see `Recent`).
            if policy.is_lfu()
                && let Some(bucket) = shard.recent.take_oldest(shard.epoch)
                && !found[..n].iter().any(|c| c.bucket == bucket)
                && let Some(slot) = shard.slot_value(bucket)
                && let Some(c) = candidate(bucket, slot)
                && let Some(f) = found.get_mut(n)
            {
                *f = c;
                n += 1;
            }
        }
        self.pool_merge(&found[..n]);
    }

    /// Merges candidates into the pool of the [`POOL_SIZE`] best, kept in ascending score
    /// order (the best is last), as Redis's `evictionPoolPopulate` does.
    fn pool_merge(&self, found: &[Candidate]) {
        let mut pool = self.limits.pool.lock();
        for &c in found {
            if let Some(old) = pool
                .iter()
                .position(|p| p.gid == c.gid && p.bucket == c.bucket)
            {
                pool.remove(old);
            }
            let at = pool.partition_point(|p| p.score <= c.score);
            if pool.len() >= POOL_SIZE {
                if at == 0 {
                    continue; // worse than everything in a full pool
                }
                pool.remove(0);
                pool.insert(at - 1, c);
            } else {
                pool.insert(at, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::cache::Cache;
    use crate::clock::ManualClock;
    use crate::keyspace::Keyspace;
    use std::time::Duration;

    fn lfu_cache(clock: &ManualClock) -> Cache {
        Cache::builder()
            .databases(1)
            .shards(1)
            .housekeeping(false)
            .clock(clock.clone())
            .eviction_policy(EvictionPolicy::AllKeysLfu)
            .eviction_samples(64)
            .build()
    }

    #[test]
    fn ghost_recalls_the_last_key_remembered_in_an_entry() {
        let g = Ghost::new(0);
        assert_eq!(g.table.len(), 1 << 12);
        let h = 0x1234_5678_9abc_def0_u64;
        assert!(!g.recalls(h));
        g.remember(h);
        assert!(g.recalls(h));
        // Same entry (low bits), another fingerprint: not recalled, and it replaces `h`.
        let other = h ^ (0x5A << 48);
        assert!(!g.recalls(other));
        g.remember(other);
        assert!(g.recalls(other));
        assert!(!g.recalls(h));
        assert_eq!(Ghost::new(100_000).table.len(), 1 << 18);
        assert_eq!(Ghost::new(usize::MAX).table.len(), 1 << 22);
    }

    #[test]
    fn a_returning_key_is_flagged_but_starts_at_redis_initial_counter() {
        let clock = ManualClock::new(1_700_000_000_000);
        let c = lfu_cache(&clock);
        let t = &c.store.tracking;
        t.ghost.get_or_init(|| Ghost::new(0));
        let (h, fresh) = (c.store.hash(b"back"), c.store.hash(b"new"));
        t.ghost.get().unwrap().remember(h);
        let s = t.initial(h);
        assert_eq!(s & LFU_RETURNING, LFU_RETURNING);
        assert_eq!(t.lfu_decayed(s), LFU_INIT);
        assert_eq!(t.initial(fresh) & LFU_RETURNING, 0);
        // An access clears the flag and counts as Redis's (5 -> 6 with probability 1).
        let read = t.touched(s);
        assert_eq!(read & LFU_RETURNING, 0);
        assert_eq!(t.lfu_decayed(read), LFU_INIT + 1);
        // Decay still counts minute boundaries from the last access.
        clock.advance(Duration::from_secs(120));
        assert_eq!(t.lfu_decayed(read), LFU_INIT - 1);
        assert_eq!(t.lfu_idle_ticks(read), (120_000 / LFU_TICK_MS) as u32);
    }

    #[test]
    fn an_evicted_key_written_again_reports_the_initial_frequency() {
        let clock = ManualClock::new(1_700_000_000_000);
        let c = lfu_cache(&clock);
        for i in 0..100 {
            c.set(format!("k{i}"), "v").unwrap();
        }
        c.set_max_memory(c.used_memory() as u64);
        for i in 100..300 {
            c.set(format!("k{i}"), "v").unwrap();
            clock.advance(Duration::from_millis(40));
        }
        let gone = (0..300)
            .map(|i| format!("k{i}"))
            .find(|k| c.object_freq(k).unwrap().is_none())
            .expect("something was evicted");
        assert!(c.store.tracking.ghost.get().is_some());
        c.set(&gone, "v").unwrap();
        assert_eq!(c.object_freq(&gone).unwrap(), Some(LFU_INIT));
    }

    #[test]
    fn lfu_scores_put_the_counter_first_then_unflagged_then_older() {
        let clock = ManualClock::new(1_700_000_000_000);
        let c = lfu_cache(&clock);
        let (st, t) = (&c.store, &c.store.tracking);
        let p = EvictionPolicy::AllKeysLfu;
        let old_fresh = t.initial(1);
        let old_back = old_fresh | LFU_RETURNING;
        let old_six = t.touched(old_fresh);
        clock.advance(Duration::from_secs(1));
        let new_fresh = t.initial(1);
        let new_back = new_fresh | LFU_RETURNING;
        let order = [old_fresh, new_fresh, old_back, new_back, old_six];
        for w in order.windows(2) {
            assert!(st.stamp_score(p, w[0]) > st.stamp_score(p, w[1]), "{w:x?}");
        }
    }

    #[test]
    fn the_recent_ring_gives_its_oldest_entries_once_each() {
        let mut r = Recent::default();
        r.push(7, 0); // no ring yet: ignored
        assert_eq!(r.take_oldest(0), None);
        r.reset(3);
        for b in [10, 11, 12, 13] {
            r.push(b, 1);
        }
        // 10 was overwritten by 13.
        assert_eq!(r.take_oldest(1), Some(11));
        assert_eq!(r.take_oldest(1), Some(12));
        r.push(14, 2);
        // 13 predates a rehash (epoch 1): skipped, not returned.
        assert_eq!(r.take_oldest(2), None);
        assert_eq!(r.take_oldest(2), Some(14));
        assert_eq!(r.take_oldest(2), None);
    }

    #[test]
    fn the_oldest_unread_key_is_offered_to_the_pool() {
        let clock = ManualClock::new(1_700_000_000_000);
        let c = lfu_cache(&clock);
        let p = EvictionPolicy::AllKeysLfu;
        c.set_eviction_samples(1);
        for i in 0..64 {
            c.set(format!("pre{i}"), "v").unwrap();
        }
        // Not yet recorded: the rings are made at the first LFU eviction.
        assert_eq!(c.store.slots[0].shard.read().recent.take_oldest(0), None);
        c.store.init_ghost();
        assert_eq!(c.store.slots[0].shard.read().recent.entries.len(), 64 / 8);
        for i in 0..64 {
            c.get_with(format!("pre{i}"), |_| ()).unwrap(); // counter 6: kept over new keys
        }
        for i in 0..8 {
            c.set(format!("k{i}"), "v").unwrap();
            clock.advance(Duration::from_millis(40));
        }
        // Whatever the one-key sample found, the ring offered k0, the best candidate.
        c.store.sample_into_pool(0, p);
        assert!(c.store.evict_best_in_pool(p));
        assert_eq!(c.object_freq("k0").unwrap(), None);
        assert_eq!(
            (1..8).filter(|i| c.exists(&[format!("k{i}")]) == 1).count(),
            7
        );
        assert_eq!(c.store.limits.evicted.load(Relaxed), 1);
    }

    #[test]
    fn a_candidate_read_since_it_was_sampled_is_rescored_not_evicted() {
        let clock = ManualClock::new(1_700_000_000_000);
        let c = lfu_cache(&clock);
        let p = EvictionPolicy::AllKeysLfu;
        c.set("older", "v").unwrap();
        clock.advance(Duration::from_millis(100));
        c.set("newer", "v").unwrap();
        clock.advance(Duration::from_millis(100));
        // Both sampled: "older" (counter 5, idle longer) is the best candidate.
        c.store.sample_into_pool(0, p);
        assert_eq!(c.store.limits.pool.lock().len(), 2);
        // Read since: counter 6, so "newer" must go instead.
        c.get_with("older", |_| ()).unwrap();
        assert_eq!(c.object_freq("older").unwrap(), Some(LFU_INIT + 1));
        assert!(c.store.evict_best_in_pool(p));
        assert_eq!(c.object_freq("newer").unwrap(), None);
        assert_eq!(c.object_freq("older").unwrap(), Some(LFU_INIT + 1));
        // And it went back into the pool with its new score.
        let pool = c.store.limits.pool.lock();
        assert_eq!(pool.len(), 1);
        assert_eq!(
            pool[0].score,
            c.store.stamp_score(p, (pool[0].slot >> 32) as u32)
        );
    }
}
