//! The process-wide store behind every `Cache` handle: all databases' shards, the clock,
//! the hasher and the housekeeping thread.

use crate::clock::Clock;
use crate::evict::{EvictionListener, Limits, Tracking};
use crate::shard::Shard;
use hashbrown::DefaultHashBuilder;
use parking_lot::{Condvar, Mutex, RwLock};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::thread::{JoinHandle, ThreadId};

/// A shard behind its lock, padded to its own cache lines.
#[derive(Debug)]
#[repr(align(128))]
pub struct Slot {
    pub(crate) shard: RwLock<Shard>,
    /// Copies of the shard's key count and TTL-key count, kept by the writers, so eviction
    /// and active expiry can find non-empty shards without taking locks.
    pub(crate) keys: AtomicU32,
    pub(crate) volatile: AtomicU32,
    /// The snapshot generation this shard has been saved for (`snapshot.rs`): when it differs
    /// from `Store::snap_gen`, the shard is pending and its first writer saves it first.
    pub(crate) saved_gen: AtomicU64,
    /// Copy of the shard's Redis-style change count (`Shard::dirty`, `Cache::change_count`).
    pub(crate) dirty: AtomicU64,
    /// Where the shard's table lives, for `Cache::prefetch` (read without the lock, only to
    /// compute addresses to prefetch): its control bytes, bucket mask, and the table epoch
    /// they were taken at. Kept by the writers in `settle`.
    pub(crate) pf_ctrl: AtomicUsize,
    pub(crate) pf_mask: AtomicUsize,
    pub(crate) pf_epoch: AtomicU32,
}

/// Hit/miss counters striped per thread: readers under a shared lock count without writing
/// to a cache line another core is using (a single counter next to the hot shard's lock
/// measurably slowed two threads down).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Stripe {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
}

pub(crate) const STRIPES: usize = 64;

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

#[inline]
pub(crate) fn my_stripe() -> usize {
    MY_STRIPE.with(|s| *s)
}

/// An atomic alone on its cache lines.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct CachePadded(pub(crate) AtomicU64);

impl std::ops::Deref for CachePadded {
    type Target = AtomicU64;
    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

/// Tells the housekeeping thread to stop.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    pub(crate) stop: Mutex<bool>,
    pub(crate) cv: Condvar,
}

#[derive(Debug)]
pub(crate) struct Housekeeper {
    pub(crate) signal: Arc<StopSignal>,
    pub(crate) thread: Option<JoinHandle<()>>,
    pub(crate) id: ThreadId,
}

/// Everything shared by the `Cache` handles of one process-level cache.
#[derive(Debug)]
pub struct Store {
    pub(crate) databases: usize,
    pub(crate) shards_per_db: usize,
    pub(crate) slots: Box<[Slot]>,
    pub(crate) stripes: Box<[Stripe]>,
    /// Sum of every shard's `mem`, kept by the writers (O(1) `used_memory` for a memory
    /// bound). Each write adds its shard's change after running.
    pub(crate) used: AtomicI64,
    /// Highest `used` seen (Redis's `used_memory_peak`).
    pub(crate) peak: AtomicI64,
    pub(crate) hasher: DefaultHashBuilder,
    /// Access-tracking settings (policy, LFU parameters), shared with every shard.
    pub(crate) tracking: Arc<Tracking>,
    /// `maxmemory`, samples, eviction pool and counters, listener.
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
    /// Next global shard the active expiry cycle visits; also serialises cycles.
    pub(crate) expire_cursor: Mutex<usize>,
    pub(crate) housekeeper: Mutex<Option<Housekeeper>>,
    /// Generation of the latest snapshot cut (`snapshot.rs`), read by every write: on its own
    /// cache line, away from the counters every write updates.
    pub(crate) snap_gen: CachePadded,
    /// The snapshot being written, if any.
    pub(crate) snap: Mutex<Option<Arc<crate::snapshot::SnapState>>>,
}

impl Store {
    pub(crate) fn new(
        databases: usize,
        shards_per_db: usize,
        clock: Arc<dyn Clock>,
        listener: Option<EvictionListener>,
    ) -> Store {
        let hasher = DefaultHashBuilder::default();
        let tracking = Arc::new(Tracking::new(Arc::clone(&clock)));
        let slots = (0..databases * shards_per_db)
            .map(|i| Slot {
                shard: RwLock::new(
                    Shard::new(hasher.clone(), Arc::clone(&tracking))
                        .in_db(i / shards_per_db.max(1)),
                ),
                keys: AtomicU32::new(0),
                volatile: AtomicU32::new(0),
                saved_gen: AtomicU64::new(0),
                dirty: AtomicU64::new(0),
                pf_ctrl: AtomicUsize::new(0),
                pf_mask: AtomicUsize::new(0),
                pf_epoch: AtomicU32::new(u32::MAX),
            })
            .collect();
        Store {
            databases,
            shards_per_db,
            slots,
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            used: AtomicI64::new(0),
            peak: AtomicI64::new(0),
            hasher,
            tracking,
            limits: Limits::new(listener),
            clock,
            expire_cursor: Mutex::new(0),
            housekeeper: Mutex::new(None),
            snap_gen: CachePadded(AtomicU64::new(0)),
            snap: Mutex::new(None),
        }
    }

    #[inline]
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Global shard index of a key hash in database `db`. The table uses the low bits and the
    /// top 7 bits of the hash, so the shard takes bits from the middle.
    #[inline]
    pub(crate) fn gid(&self, db: usize, h: u64) -> usize {
        db * self.shards_per_db + ((h >> 32) as usize & (self.shards_per_db - 1))
    }

    /// Records a change of a shard's charged bytes in the global total.
    #[inline]
    pub(crate) fn account(&self, before: usize, after: usize) {
        if before != after {
            let delta = after as i64 - before as i64;
            let now = self.used.fetch_add(delta, Ordering::Relaxed) + delta;
            if delta > 0 && now > self.peak.load(Ordering::Relaxed) {
                self.peak.fetch_max(now, Ordering::Relaxed);
            }
        }
    }

    /// After a write to shard `gid`: accounts its memory change (from `before`) and refreshes
    /// the slot's key counts.
    #[inline]
    pub(crate) fn settle(&self, gid: usize, shard: &Shard, before: usize) {
        self.account(before, shard.mem);
        let slot = &self.slots[gid];
        let keys = shard.len() as u32;
        if slot.keys.load(Ordering::Relaxed) != keys {
            slot.keys.store(keys, Ordering::Relaxed);
        }
        if slot.dirty.load(Ordering::Relaxed) != shard.dirty {
            slot.dirty.store(shard.dirty, Ordering::Relaxed);
        }
        if slot.pf_epoch.load(Ordering::Relaxed) != shard.epoch {
            let (ctrl, mask) = shard.table_location();
            slot.pf_ctrl.store(ctrl, Ordering::Relaxed);
            slot.pf_mask.store(mask, Ordering::Relaxed);
            slot.pf_epoch.store(shard.epoch, Ordering::Relaxed);
        }
        let volatile = shard.volatile as u32;
        if slot.volatile.load(Ordering::Relaxed) != volatile {
            slot.volatile.store(volatile, Ordering::Relaxed);
        }
    }

    #[inline]
    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn db_range(&self, db: usize) -> std::ops::Range<usize> {
        db * self.shards_per_db..(db + 1) * self.shards_per_db
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let hk = self.housekeeper.get_mut().take();
        if let Some(mut hk) = hk {
            *hk.signal.stop.lock() = true;
            hk.signal.cv.notify_all();
            // The housekeeping thread may itself hold the last handle for a moment: it must
            // not join itself.
            if hk.id != std::thread::current().id()
                && let Some(t) = hk.thread.take()
            {
                let _ = t.join();
            }
        }
    }
}
