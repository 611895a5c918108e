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
//! * LFU policies: `(time << 8) | counter`: Redis's 8-bit logarithmic counter, and the time of
//!   the last access in 16 ms ticks (24 bits, wrapping after 74 hours) where Redis keeps minutes
//!   (16 bits). An access first decays the counter by one per `lfu-decay-time` minutes elapsed,
//!   then increments it with probability `1 / ((counter - 5) * lfu-log-factor + 1)`; new keys
//!   start at 5 so they are not evicted before they had a chance to be read. The finer time
//!   breaks ties between equal counters: of two keys read equally often, the one idle longer
//!   is evicted first (measured with `examples/hit_ratio.rs`, Zipf stream: 78.86% against
//!   78.70% when every access falls in the same tick, i.e. ties broken by pool order).
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
    /// About one entry per 32 bytes of `maxmemory` (at least 2 per key of the smallest
    /// records, a string key and value of a few bytes each), from 4 KiB to 4 MiB.
    fn new(maxmemory: u64) -> Ghost {
        let n = usize::try_from(maxmemory / 32)
            .unwrap_or(usize::MAX)
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
        }
    }
}

/// Like [`EvictionListener`], also told the database of the key (for a server that logs
/// removals, e.g. an append-only file). Set with `Cache::set_removal_hook`.
pub type RemovalHook = Arc<dyn Fn(usize, &[u8], RemovalCause) + Send + Sync>;

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

    /// Makes the ghost table on the first eviction under an LFU policy (sized from
    /// `maxmemory` then; once made, it stays).
    fn init_ghost(&self) {
        if self.tracking.lfu() && self.tracking.ghost.get().is_none() {
            let max = self.limits.maxmemory.load(Relaxed);
            self.tracking.ghost.get_or_init(|| Ghost::new(max));
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
            notify(self, gid / self.shards_per_db.max(1), key, RemovalCause::Evicted);
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
        let mut found = [Candidate::default(); MAX_SAMPLES];
        let mut n = 0;
        {
            let shard = self.slots[gid].shard.read();
            let nb = shard.num_buckets();
            if nb == 0 {
                return;
            }
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
                let stamp = (slot >> 32) as u32;
                let score = if volatile {
                    let Some(r) = shard.bucket(bucket) else {
                        continue;
                    };
                    if !r.has_ttl {
                        continue;
                    }
                    if policy == EvictionPolicy::VolatileTtl {
                        u64::MAX - shard.expire_at(&r).unwrap_or(i64::MAX).max(0) as u64
                    } else {
                        self.stamp_score(policy, stamp)
                    }
                } else {
                    self.stamp_score(policy, stamp)
                };
                found[n] = Candidate {
                    score,
                    gid,
                    bucket,
                    epoch: shard.epoch,
                    slot,
                };
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
