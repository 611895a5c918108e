//! The active expiry cycle (Redis style): per shard, look at keys that carry a TTL in bucket
//! order from a moving hand (20 at a time), delete the expired ones, and go on in the same
//! shard while more than a quarter of the sample had expired. The run stops at its time
//! budget and the next run resumes at the next shard, so keys nobody reads again are
//! reclaimed without a full scan per run.

use crate::store::Store;
use std::time::{Duration, Instant};

/// Keys with a TTL looked at per step, as Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
const SAMPLE: usize = 20;
/// Buckets walked at most per step (empty buckets and keys without TTL are cheap to skip).
const MAX_BUCKETS: usize = 400;

/// What one run of the active expiry cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpireCycleStats {
    /// Keys with a TTL looked at.
    pub sampled: usize,
    /// Keys deleted because they had expired.
    pub expired: usize,
    /// Whether the run stopped because its time budget ran out.
    pub timed_out: bool,
}

pub(crate) fn cycle(store: &Store, budget: Duration) -> ExpireCycleStats {
    let start = Instant::now();
    let mut stats = ExpireCycleStats::default();
    // Only one cycle at a time: a second caller returns at once.
    let Some(mut cursor) = store.expire_cursor.try_lock() else {
        return stats;
    };
    let total = store.slots.len();
    let now = store.now();
    for _ in 0..total {
        let gid = *cursor % total;
        *cursor = (gid + 1) % total;
        let slot = &store.slots[gid];
        if slot.volatile.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            continue;
        }
        let mut walked_total = 0;
        loop {
            let (sampled, expired, walked, buckets) = {
                let mut shard = slot.shard.write();
                store.before_write(gid, &mut shard, store.snap_gen());
                let before = shard.mem;
                let (s, e, w) = shard.expire_step(now, SAMPLE, MAX_BUCKETS, store);
                store.settle(gid, &shard, before);
                (s, e, w, shard.num_buckets())
            };
            walked_total += walked;
            stats.sampled += sampled;
            stats.expired += expired;
            if start.elapsed() >= budget {
                stats.timed_out = true;
                crate::evict::flush_notices(store);
                return stats;
            }
            // Stop when the sample was mostly live keys, or when a whole lap of the table
            // found no key with a TTL (the hand may sit in a stretch without any).
            if walked == 0 || (sampled > 0 && expired * 4 <= sampled) || walked_total >= buckets {
                break;
            }
        }
    }
    crate::evict::flush_notices(store);
    stats
}
