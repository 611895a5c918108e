//! Point-in-time snapshots without `fork()` and without stopping writers.
//!
//! A snapshot is a *cut*: [`Cache::begin_snapshot`] bumps the store's snapshot generation
//! (`Store::snap_gen`) and from that instant every shard is *pending* until the saver has
//! encoded it. The saver walks the shards in order and encodes each under its shared lock
//! (readers go on). A writer that takes a pending shard's exclusive lock switches the shard to
//! copy-on-write (`Shard::cow`): before it changes, creates or deletes a key, the key's pre-cut
//! version is encoded and parked (once per key) and the key is remembered as touched. The saver
//! then writes the shard's untouched records plus the parked versions. Copying is per key, so a
//! snapshot costs memory in proportion to the keys written while it runs, never a second copy
//! of the keyspace, and a writer pays one small encoding per key it changes first.
//!
//! Why the cut is consistent: a writer checks the generation after taking its locks and holds
//! them until its change is complete. A write that checked before the bump is in every shard it
//! touched before the saver can encode that shard; a write that checked after it finds its
//! shards pending and preserves what it changes. A transaction (MULTI/EXEC) holds every lock
//! and reads the generation once when it starts, so it is wholly before the cut or wholly after.
//! Keys whose expire time had passed at the cut are left out.

use crate::Cache;
use crate::rdb::{self, Chunk, SaveOptions};
use crate::shard::{Shard, ShardCow};
use crate::store::Store;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// The running snapshot, shared by the saver and the shards it has not encoded yet.
#[derive(Debug)]
pub(crate) struct SnapState {
    generation: u64,
    /// Table buckets the saver encodes per hold of a shard's shared lock.
    piece: usize,
    /// Clock time of the cut: keys expired by then are not saved.
    pub(crate) now: i64,
    pub(crate) opts: SaveOptions,
    /// The entry encoder: `rdb::write_entry` (tests use a readable one).
    pub(crate) encode: EncodeFn,
    /// Bytes of pre-cut versions parked by writers so far (`rdb_last_cow_size`).
    pub(crate) cow_bytes: std::sync::atomic::AtomicUsize,
    /// Keys in the store at the cut (expired ones included), and keys encoded so far: the
    /// progress [`Cache::snapshot_progress`] reports.
    keys_total: std::sync::atomic::AtomicU64,
    keys_done: std::sync::atomic::AtomicU64,
}

/// Table buckets encoded per hold of a shard's shared lock: about 350 keys at the table's
/// usual load, some tens of microseconds. Between pieces the lock is released and the saver
/// yields, so a writer never waits for a whole shard to be encoded and the saver's time on a
/// busy core comes in short bursts.
const PIECE_BUCKETS: usize = 512;

impl SnapState {
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

/// Encoded entries of (part of) a shard: RDB entry bytes and the number of keys in them.
type Encoded = (Vec<u8>, u64);

pub(crate) type EncodeFn =
    fn(&mut Vec<u8>, &[u8], crate::shard::View<'_>, Option<i64>, rdb::AccessHint, &SaveOptions);

/// Encodes buckets `from..` of one shard as of the cut, at most `st.piece` of them: the
/// current records except the keys touched since the cut (if the shard is in copy-on-write for
/// this snapshot). Returns the entries and the next bucket, or `None` when the table is done,
/// in which case the parked pre-cut versions of the touched keys are appended.
///
/// Why resuming at a bucket index is sound: the saver records its progress in the shard
/// (`save_gen`, `save_cursor`) before releasing the lock. A writer that changes a key whose
/// bucket is below the cursor does not park it (it was encoded) but marks it touched; one
/// above parks it. Slots only move when the table rehashes or is dropped, and before that a
/// writer parks every record the saver has not reached (`Shard::park_unsaved`), after which
/// only the parked entries remain to be written.
fn encode_piece(shard: &Shard, st: &SnapState, from: usize) -> (Encoded, Option<usize>) {
    let (now, opts) = (st.now, &st.opts);
    let cow = shard
        .cow
        .as_deref()
        .filter(|c| c.st.generation == st.generation);
    let mut out = Vec::new();
    let mut keys = 0;
    let n = shard.num_buckets();
    let policy = shard.tracking.policy();
    if !cow.is_some_and(|c| c.all_parked) {
        if from == 0 {
            shard.save_gen.store(st.generation, Relaxed);
        }
        let end = from.saturating_add(st.piece).min(n);
        for b in from..end {
            let Some(r) = shard.bucket(b) else {
                continue;
            };
            if shard.is_expired(&r, now) {
                continue;
            }
            let key = shard.key(&r);
            if cow.is_some_and(|c| c.touched.contains(key)) {
                continue;
            }
            keys += 1;
            let hint = rdb::AccessHint::of(&shard.tracking, policy, r.stamp);
            (st.encode)(
                &mut out,
                key,
                shard.view(&r),
                shard.expire_at(&r),
                hint,
                opts,
            );
        }
        shard.save_cursor.store(end, Relaxed);
        if end < n {
            return ((out, keys), Some(end));
        }
    }
    if let Some(c) = cow {
        out.extend_from_slice(&c.parked);
        keys += c.parked_keys;
    }
    ((out, keys), None)
}

impl Store {
    /// Called by every writer right after taking shard `gid`'s exclusive lock and before
    /// changing it, with the generation it read after taking its locks.
    #[inline]
    pub(crate) fn before_write(&self, gid: usize, shard: &mut Shard, generation: u64) {
        if self.slots[gid].saved_gen.load(Acquire) != generation {
            self.pending_shard(gid, shard, generation);
        } else if shard.cow.is_some() {
            // Encoded by the saver already (or its snapshot is gone): nothing to keep.
            shard.cow = None;
        }
    }

    /// The current snapshot generation (read by writers after taking their locks).
    #[inline]
    pub(crate) fn snap_gen(&self) -> u64 {
        self.snap_gen.load(Acquire)
    }

    #[cold]
    fn pending_shard(&self, gid: usize, shard: &mut Shard, generation: u64) {
        let snap = self.snap.lock();
        let slot = &self.slots[gid];
        match snap.as_ref() {
            // No snapshot running (one was abandoned): nothing is pending; stop checking.
            None => {
                slot.saved_gen.store(self.snap_gen.load(Relaxed), Release);
                shard.cow = None;
            }
            Some(st) if st.generation == generation => {
                if shard
                    .cow
                    .as_ref()
                    .is_none_or(|c| c.st.generation != generation)
                {
                    shard.cow = Some(Box::new(ShardCow {
                        st: Arc::clone(st),
                        touched: hashbrown::HashSet::new(),
                        parked: Vec::new(),
                        parked_keys: 0,
                        all_parked: false,
                    }));
                }
            }
            // A transaction that started before a newer cut: it is wholly before that cut.
            Some(_) => {}
        }
    }
}

/// Statistics of a finished snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaveStats {
    /// Keys written.
    pub keys: u64,
    /// Bytes of the RDB file.
    pub bytes: u64,
    /// Bytes of pre-cut versions that writers preserved while the snapshot ran (the
    /// copy-on-write cost; Redis reports the same idea as `rdb_last_cow_size`).
    pub cow_bytes: u64,
}

/// How far the snapshot being written has got (what Redis's `INFO persistence` shows of its
/// saving child: `current_save_keys_processed`, `current_save_keys_total`, `current_cow_size`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotProgress {
    /// Keys written so far.
    pub keys_done: u64,
    /// Keys in the cache when the snapshot began (keys expired by then included; they are
    /// left out of the file, so `keys_done` may end below it).
    pub keys_total: u64,
    /// Bytes of pre-cut versions writers have preserved so far.
    pub cow_bytes: u64,
}

/// A point-in-time snapshot of the whole cache, taken by [`Cache::begin_snapshot`] and written
/// by [`RdbSnapshot::write_to`]. Readers and writers go on while it is written; the file shows
/// the keyspace exactly as it was when the snapshot began. Dropping it unwritten abandons it.
#[derive(Debug)]
pub struct RdbSnapshot {
    store: Arc<Store>,
    state: Arc<SnapState>,
    db_sizes: Vec<(u64, u64)>,
    used_memory: usize,
}

impl Cache {
    /// Takes a point-in-time snapshot of every database, to be written with
    /// [`RdbSnapshot::write_to`] (on any thread). Returns `None` if another snapshot of this
    /// cache is still being written: one at a time.
    #[must_use]
    pub fn begin_snapshot(&self, opts: SaveOptions) -> Option<RdbSnapshot> {
        self.begin_snapshot_with(opts, rdb::write_entry_hinted)
    }

    /// A snapshot whose entries `encode` writes (`rewrite.rs`: as commands).
    pub(crate) fn begin_snapshot_with(
        &self,
        opts: SaveOptions,
        encode: EncodeFn,
    ) -> Option<RdbSnapshot> {
        self.begin_snapshot_piece(opts, encode, PIECE_BUCKETS)
    }

    fn begin_snapshot_piece(
        &self,
        opts: SaveOptions,
        encode: EncodeFn,
        piece: usize,
    ) -> Option<RdbSnapshot> {
        let store = &self.store;
        let mut snap = store.snap.lock();
        if snap.is_some() {
            return None;
        }
        let generation = store.snap_gen.load(Relaxed) + 1;
        let state = Arc::new(SnapState {
            generation,
            piece: piece.max(1),
            now: store.now(),
            opts,
            encode,
            cow_bytes: std::sync::atomic::AtomicUsize::new(0),
            keys_total: std::sync::atomic::AtomicU64::new(0),
            keys_done: std::sync::atomic::AtomicU64::new(0),
        });
        *snap = Some(Arc::clone(&state));
        // The cut. Writers read the generation under their shard locks, after this store.
        store.snap_gen.store(generation, Release);
        drop(snap);
        let db_sizes = (0..store.databases)
            .map(|db| {
                store.db_range(db).fold((0, 0), |(k, v), gid| {
                    let s = &store.slots[gid];
                    (
                        k + u64::from(s.keys.load(Relaxed)),
                        v + u64::from(s.volatile.load(Relaxed)),
                    )
                })
            })
            .collect::<Vec<(u64, u64)>>();
        state
            .keys_total
            .store(db_sizes.iter().map(|&(k, _)| k).sum(), Relaxed);
        Some(RdbSnapshot {
            store: Arc::clone(store),
            state,
            db_sizes,
            used_memory: self.used_memory(),
        })
    }

    /// Writes a point-in-time RDB snapshot of every database to `w` (see
    /// [`Cache::begin_snapshot`]); other threads keep reading and writing meanwhile.
    ///
    /// # Errors
    /// The writer's I/O errors; `ErrorKind::WouldBlock` if another snapshot is running.
    pub fn save_rdb<W: Write>(&self, w: &mut W, opts: SaveOptions) -> io::Result<SaveStats> {
        match self.begin_snapshot(opts) {
            Some(s) => s.write_to(w),
            None => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "a snapshot is already in progress",
            )),
        }
    }

    /// Whether a snapshot is being written.
    #[must_use]
    pub fn snapshot_in_progress(&self) -> bool {
        self.store.snap.lock().is_some()
    }

    /// The progress of the snapshot being written, if one is.
    #[must_use]
    pub fn snapshot_progress(&self) -> Option<SnapshotProgress> {
        let snap = self.store.snap.lock();
        let st = snap.as_ref()?;
        Some(SnapshotProgress {
            keys_done: st.keys_done.load(Relaxed),
            keys_total: st.keys_total.load(Relaxed),
            cow_bytes: st.cow_bytes.load(Relaxed) as u64,
        })
    }
}

impl RdbSnapshot {
    /// Writes the snapshot as an RDB file to `w`.
    ///
    /// # Errors
    /// The writer's I/O errors (the snapshot is abandoned).
    pub fn write_to<W: Write>(self, w: &mut W) -> io::Result<SaveStats> {
        self.write_with_aux(w, &[])
    }

    /// Like [`RdbSnapshot::write_to`], with extra AUX fields in the header (e.g. `aof-base`).
    ///
    /// # Errors
    /// The writer's I/O errors (the snapshot is abandoned).
    pub fn write_with_aux<W: Write>(
        self,
        w: &mut W,
        aux: &[(&str, &[u8])],
    ) -> io::Result<SaveStats> {
        let used = self.used_memory.to_string();
        let mut all_aux: Vec<(&str, &[u8])> = vec![("used-mem", used.as_bytes())];
        all_aux.extend_from_slice(aux);
        let mut keys = 0u64;
        let chunks = Chunks::new(&self, &mut keys);
        let bytes = rdb::write_file(w, &self.state.opts, &all_aux, &self.db_sizes, chunks)?;
        Ok(SaveStats {
            keys,
            bytes,
            cow_bytes: self.state.cow_bytes.load(Relaxed) as u64,
        })
    }

    /// The encoded entries in database order, without the RDB framing (`rewrite.rs`).
    pub(crate) fn chunks<'a>(&'a self, keys: &'a mut u64) -> impl Iterator<Item = Chunk> + 'a {
        Chunks::new(self, keys)
    }

    /// Bytes of pre-cut versions parked by writers so far.
    pub(crate) fn cow_bytes(&self) -> u64 {
        self.state.cow_bytes.load(Relaxed) as u64
    }

    /// Encodes the next piece of shard `gid` as of the cut, from bucket `from`: the entries
    /// and the bucket to go on from, or `None` once the shard is done.
    fn encode_piece_at(&self, gid: usize, from: usize) -> (Encoded, Option<usize>) {
        let slot = &self.store.slots[gid];
        let st = &self.state;
        let shard = slot.shard.read();
        let (encoded, next) = if shard.len() == 0 && shard.cow.is_none() {
            ((Vec::new(), 0), None)
        } else {
            encode_piece(&shard, st, from)
        };
        if next.is_some() {
            return (encoded, next);
        }
        // Under the shared lock: writers (who need the exclusive one) see it saved.
        slot.saved_gen.store(st.generation, Release);
        let had_cow = shard.cow.is_some();
        drop(shard);
        if had_cow && let Some(mut g) = slot.shard.try_write() {
            // Release the parked versions now rather than at the shard's next write.
            g.cow = None;
        }
        (encoded, None)
    }
}

impl Drop for RdbSnapshot {
    fn drop(&mut self) {
        let mut snap = self.store.snap.lock();
        if snap.as_ref().is_some_and(|s| Arc::ptr_eq(s, &self.state)) {
            *snap = None;
        }
    }
}

/// The shards of a snapshot as RDB chunks, in global shard (so database) order, one chunk per
/// piece of a shard (see [`PIECE_BUCKETS`]).
struct Chunks<'a> {
    snap: &'a RdbSnapshot,
    /// Next global shard index.
    next: usize,
    /// Next bucket of that shard.
    from: usize,
    keys: &'a mut u64,
}

impl<'a> Chunks<'a> {
    fn new(snap: &'a RdbSnapshot, keys: &'a mut u64) -> Chunks<'a> {
        Chunks {
            snap,
            next: 0,
            from: 0,
            keys,
        }
    }
}

impl Iterator for Chunks<'_> {
    type Item = Chunk;
    fn next(&mut self) -> Option<Chunk> {
        let store = &self.snap.store;
        while self.next < store.slots.len() {
            let gid = self.next;
            if self.from > 0 {
                // Between two pieces of a shard: let anything runnable on this core go first.
                std::thread::yield_now();
            }
            let ((bytes, keys), more) = self.snap.encode_piece_at(gid, self.from);
            match more {
                Some(from) => self.from = from,
                None => {
                    self.next += 1;
                    self.from = 0;
                }
            }
            if !bytes.is_empty() {
                *self.keys += keys;
                self.snap.state.keys_done.fetch_add(keys, Relaxed);
                return Some(Chunk {
                    db: gid / store.shards_per_db,
                    bytes,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::shard::View;
    use crate::{ExpireCondition, ManualClock};
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// A readable stand-in for the RDB encoder: `[klen u32][key][vlen u32][value][expire i64]`.
    fn test_encode(
        out: &mut Vec<u8>,
        key: &[u8],
        val: View<'_>,
        expire: Option<i64>,
        _: rdb::AccessHint,
        _: &SaveOptions,
    ) {
        let v: Vec<u8> = match val {
            View::Inline(s) => s.to_vec(),
            View::Int(i) => i.to_string().into_bytes(),
            View::Value(crate::value::Value::Str(b)) => b.to_vec(),
            View::Value(_) => b"<other>".to_vec(),
        };
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(&v);
        out.extend_from_slice(&expire.unwrap_or(-1).to_le_bytes());
    }

    type Dump = BTreeMap<(usize, Vec<u8>), (Vec<u8>, i64)>;

    fn take(b: &[u8], p: &mut usize, n: usize) -> Vec<u8> {
        let v = b[*p..*p + n].to_vec();
        *p += n;
        v
    }

    fn decode(chunks: impl Iterator<Item = Chunk>) -> Dump {
        let mut m = BTreeMap::new();
        for c in chunks {
            let mut p = 0;
            while p < c.bytes.len() {
                let kl = u32::from_le_bytes(take(&c.bytes, &mut p, 4).try_into().unwrap());
                let k = take(&c.bytes, &mut p, kl as usize);
                let vl = u32::from_le_bytes(take(&c.bytes, &mut p, 4).try_into().unwrap());
                let v = take(&c.bytes, &mut p, vl as usize);
                let e = i64::from_le_bytes(take(&c.bytes, &mut p, 8).try_into().unwrap());
                assert!(m.insert((c.db, k), (v, e)).is_none(), "key saved twice");
            }
        }
        m
    }

    /// Runs the snapshot's chunk iterator to the end, with `between(i)` called before shard i.
    fn drain(snap: &RdbSnapshot, mut between: impl FnMut(usize)) -> (Dump, u64, usize) {
        let mut keys = 0;
        let mut chunks = Vec::new();
        {
            let mut it = Chunks::new(snap, &mut keys);
            loop {
                between(it.next);
                match it.next() {
                    Some(c) => chunks.push(c),
                    None => break,
                }
            }
        }
        let cow = snap.state.cow_bytes.load(Relaxed);
        (decode(chunks.into_iter()), keys, cow)
    }

    /// Everything the cache holds now, read through the public API.
    fn current(cache: &Cache, dbs: usize) -> Dump {
        let mut m = BTreeMap::new();
        for db in 0..dbs {
            let c = cache.db(db).unwrap();
            for k in c.keys("*") {
                let v = c.get(&k).unwrap().unwrap();
                let e = c.pexpire_time(&k);
                m.insert((db, k.to_vec()), (v.to_vec(), if e < 0 { -1 } else { e }));
            }
        }
        m
    }

    fn cache(clock: &ManualClock) -> Cache {
        Cache::builder()
            .databases(3)
            .shards(8)
            .housekeeping(false)
            .clock(clock.clone())
            .build()
    }

    #[test]
    fn snapshot_holds_the_keyspace_as_of_the_cut() {
        let clock = ManualClock::new(1_000_000);
        let c = cache(&clock);
        for i in 0..200 {
            c.set(format!("k{i}"), format!("v{i}")).unwrap();
        }
        c.set("n", "41").unwrap();
        c.set("long", "x".repeat(100)).unwrap();
        c.psetex("ttl", 5_000, "t").unwrap();
        c.psetex("gone", 10, "g").unwrap();
        c.db(2).unwrap().set("other", "db2").unwrap();
        clock.advance(Duration::from_millis(20)); // "gone" is expired at the cut
        let before = current(&c, 3);
        assert!(!before.contains_key(&(0, b"gone".to_vec())));

        let snap = c
            .begin_snapshot_with(SaveOptions::default(), test_encode)
            .unwrap();
        assert!(
            c.begin_snapshot(SaveOptions::default()).is_none(),
            "one at a time"
        );
        // Writes of every kind after the cut, to shards the saver has not reached.
        c.set("k1", "changed").unwrap();
        c.incr("n").unwrap();
        c.del(&["k2", "k3"]);
        c.rename("k4", "k4-renamed").unwrap();
        c.mset(&[("k5", "m"), ("new", "n")]).unwrap();
        c.pexpire("k6", 1, ExpireCondition::Always).unwrap();
        c.transaction(|tx| {
            tx.set("k7", "tx").unwrap();
            tx.del(&["k8"]);
        });
        c.db(2).unwrap().set("other", "changed").unwrap();
        clock.advance(Duration::from_secs(10)); // "ttl" expires after the cut
        // "gone", "ttl" and "k6" go now.
        assert_eq!(c.active_expire_cycle(Duration::from_secs(1)).expired, 3);

        let (dump, keys, peak) = drain(&snap, |_| {});
        assert_eq!(dump, before);
        assert_eq!(keys as usize, before.len());
        assert!(peak > 0, "writers preserved the keys they changed");
        // Only the changed keys were copied, not whole shards.
        assert!(peak < 400, "cow bytes {peak}");
        drop(snap);
        assert!(!c.snapshot_in_progress());

        // The next snapshot sees the new state.
        let after = current(&c, 3);
        let snap = c
            .begin_snapshot_with(SaveOptions::default(), test_encode)
            .unwrap();
        assert_eq!(drain(&snap, |_| {}).0, after);
    }

    /// The progress of the running snapshot: keys at the cut, keys written so far (growing
    /// shard by shard), the copy-on-write bytes of writers; nothing once it is done.
    #[test]
    fn progress_follows_the_saver() {
        let clock = ManualClock::new(1_000_000);
        let c = cache(&clock);
        assert_eq!(c.snapshot_progress(), None);
        for i in 0..100 {
            c.set(format!("k{i}"), "v").unwrap();
        }
        c.db(1).unwrap().set("other", "v").unwrap();
        let snap = c
            .begin_snapshot_with(SaveOptions::default(), test_encode)
            .unwrap();
        let p = c.snapshot_progress().unwrap();
        assert_eq!((p.keys_done, p.keys_total, p.cow_bytes), (0, 101, 0));
        let mut seen = Vec::new();
        let (_, keys, _) = drain(&snap, |_| {
            let p = c.snapshot_progress().unwrap();
            seen.push(p.keys_done);
            if p.keys_done == 0 {
                // A write before the saver reached the key: its old version is preserved.
                c.set("k1", "changed").unwrap();
            }
        });
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        let p = c.snapshot_progress().unwrap();
        assert_eq!((p.keys_done, p.keys_total), (keys, 101));
        assert!(p.cow_bytes > 0);
        drop(snap);
        assert_eq!(c.snapshot_progress(), None);
    }

    /// One shard encoded in pieces of 16 buckets, with every kind of change between them: to
    /// keys already encoded and not yet reached, deletes and re-creations, a rename, and enough
    /// new keys that the table rehashes partway through.
    #[test]
    fn writes_between_the_pieces_of_a_shard_keep_the_cut() {
        for flush in [false, true] {
            let clock = ManualClock::new(1_000_000);
            let c = Cache::builder()
                .databases(1)
                .shards(1)
                .housekeeping(false)
                .clock(clock.clone())
                .build();
            for i in 0..100 {
                c.set(format!("k{i}"), format!("v{i}")).unwrap();
            }
            c.psetex("ttl", 5_000, "t").unwrap();
            let before = current(&c, 1);
            let snap = c
                .begin_snapshot_piece(SaveOptions::default(), test_encode, 16)
                .unwrap();
            let mut calls = 0;
            let (dump, keys, _) = drain(&snap, |_| {
                calls += 1;
                match calls {
                    2 => {
                        for i in (0..100).step_by(3) {
                            c.set(format!("k{i}"), "changed").unwrap();
                        }
                        for i in (0..100).step_by(7) {
                            c.del(&[format!("k{i}")]);
                            c.set(format!("k{i}"), "again").unwrap();
                        }
                        c.rename("k1", "k1-renamed").unwrap();
                        c.set("fresh", "f").unwrap();
                    }
                    3 if flush => {
                        c.flush();
                    }
                    4 => {
                        for i in 0..500 {
                            c.set(format!("new{i}"), "n").unwrap();
                        }
                        clock.advance(Duration::from_secs(10));
                        let expired = c.active_expire_cycle(Duration::from_secs(1)).expired;
                        assert_eq!(expired, usize::from(!flush), "\"ttl\" unless flushed");
                    }
                    _ => {}
                }
            });
            assert!(calls >= 4, "the shard took {calls} pieces");
            assert_eq!(dump, before, "flush {flush}");
            assert_eq!(keys as usize, before.len());
        }
    }

    #[test]
    fn abandoned_snapshot_releases_everything() {
        let clock = ManualClock::new(1_000_000);
        let c = cache(&clock);
        for i in 0..100 {
            c.set(format!("k{i}"), "v").unwrap();
        }
        let snap = c
            .begin_snapshot_with(SaveOptions::default(), test_encode)
            .unwrap();
        c.set("k1", "w").unwrap();
        drop(snap);
        assert!(!c.snapshot_in_progress());
        for i in 0..100 {
            c.set(format!("k{i}"), "x").unwrap();
        }
        let now = current(&c, 3);
        let snap = c
            .begin_snapshot_with(SaveOptions::default(), test_encode)
            .unwrap();
        assert_eq!(drain(&snap, |_| {}).0, now);
    }

    /// Writer threads increment their keys in a fixed cyclic order; a consistent cut shows, for
    /// each thread, a prefix of its keys one ahead of the rest. A transaction thread moves units
    /// between two keys, so their sum is constant in every consistent cut.
    #[test]
    fn concurrent_writers_see_a_consistent_cut() {
        use std::sync::atomic::AtomicBool;
        let c = Cache::builder()
            .databases(1)
            .shards(16)
            .housekeeping(false)
            .build();
        const KEYS: usize = 64;
        c.set("a", "1000").unwrap();
        c.set("b", "0").unwrap();
        for round in 0..4 {
            let stop = Arc::new(AtomicBool::new(false));
            let mut threads = Vec::new();
            for t in 0..2 {
                let (c, stop) = (c.clone(), Arc::clone(&stop));
                threads.push(std::thread::spawn(move || {
                    while !stop.load(Relaxed) {
                        for i in 0..KEYS {
                            c.incr(format!("w{t}:{i}")).unwrap();
                        }
                    }
                }));
            }
            {
                let (c, stop) = (c.clone(), Arc::clone(&stop));
                threads.push(std::thread::spawn(move || {
                    while !stop.load(Relaxed) {
                        c.transaction(|tx| {
                            tx.decr("a").unwrap();
                            tx.incr("b").unwrap();
                        });
                    }
                }));
            }
            std::thread::sleep(Duration::from_millis(5));
            let snap = c
                .begin_snapshot_with(SaveOptions::default(), test_encode)
                .unwrap();
            let (dump, _, _) = drain(&snap, |_| std::thread::sleep(Duration::from_micros(300)));
            stop.store(true, Relaxed);
            for t in threads {
                t.join().unwrap();
            }
            let num = |k: &str| -> i64 {
                dump.get(&(0, k.as_bytes().to_vec()))
                    .map_or(0, |(v, _)| std::str::from_utf8(v).unwrap().parse().unwrap())
            };
            assert_eq!(
                num("a") + num("b"),
                1000,
                "round {round}: a transaction was split"
            );
            for t in 0..2 {
                let vals: Vec<i64> = (0..KEYS).map(|i| num(&format!("w{t}:{i}"))).collect();
                let first = vals[0];
                let split = vals.iter().position(|&v| v != first).unwrap_or(KEYS);
                assert!(
                    vals[split..].iter().all(|&v| v == first - 1),
                    "round {round}, thread {t}: not a prefix pattern: {vals:?}"
                );
            }
        }
    }

    /// Every key of every database: (canonical value, expire time), through the public API.
    fn contents(c: &Cache) -> BTreeMap<(usize, Vec<u8>), (String, i64)> {
        let mut m = BTreeMap::new();
        for db in 0..c.databases() {
            let d = c.db(db).unwrap();
            for k in d.keys("*") {
                let v = match d.key_type(&k) {
                    Some(crate::KeyType::Set) => {
                        let mut v = d.smembers(&k).unwrap();
                        v.sort();
                        format!("set {v:?}")
                    }
                    Some(crate::KeyType::ZSet) => {
                        let spec = crate::ZRangeSpec {
                            by: crate::RangeBy::Rank(0, -1),
                            rev: false,
                            limit: None,
                        };
                        format!("zset {:?}", d.zrange(&k, &spec).unwrap())
                    }
                    Some(crate::KeyType::Hash) => {
                        let mut v = d.hgetall(&k).unwrap();
                        v.sort();
                        format!("hash {v:?}")
                    }
                    Some(crate::KeyType::List) => {
                        format!("list {:?}", d.lrange(&k, 0, -1).unwrap())
                    }
                    t => format!("{t:?} {:?}", d.get(&k).unwrap()),
                };
                m.insert((db, k.to_vec()), (v, d.pexpire_time(&k)));
            }
        }
        m
    }

    /// Random writes of every family interleaved with the saver, shard by shard; the file the
    /// real encoder writes loads into exactly the keyspace of the cut.
    #[test]
    fn random_writes_during_a_real_save_leave_the_cut_intact() {
        use crate::ZAddOptions;
        let clock = ManualClock::new(1_700_000_000_000);
        let c = cache(&clock);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for round in 0..6 {
            // Fresh contents of every type.
            for i in 0..300 {
                let k = format!("k{}", rnd(400));
                let db = c.db((i % 3) as usize).unwrap();
                let _ = match rnd(6) {
                    0 => db.set(&k, format!("v{i}")).map(|_| 0),
                    1 => db.sadd(&k, &[format!("m{}", rnd(50)), "x".into()]),
                    2 => db.zadd(&k, &ZAddOptions::default(), &[(rnd(100) as f64 / 7.0, "z")]),
                    3 => db.hset(&k, &[(format!("f{}", rnd(20)), "v")]),
                    4 => db.rpush(&k, &[format!("e{i}")]),
                    _ => db.incr_by(&k, 3).map(|_| 0),
                };
                if rnd(5) == 0 {
                    let _ = db.pexpire(&k, 60_000 + rnd(1000) as i64, ExpireCondition::Always);
                }
            }
            let at_cut = contents(&c);
            // Small pieces, so writes land between the pieces of a shard too.
            let piece = 1 + rnd(8) as usize;
            let snap = c
                .begin_snapshot_piece(SaveOptions::default(), rdb::write_entry_hinted, piece)
                .unwrap();
            let mut keys = 0;
            let mut chunks = Vec::new();
            {
                let mut it = Chunks::new(&snap, &mut keys);
                loop {
                    for _ in 0..rnd(40) {
                        let k = format!("k{}", rnd(400));
                        let db = c.db(rnd(3) as usize).unwrap();
                        let _ = match rnd(12) {
                            0 => db.set(&k, "new").map(|_| 0),
                            1 => db.sadd(&k, &["new"]),
                            2 => db.srem(&k, &["x"]),
                            3 => db.zadd(&k, &ZAddOptions::default(), &[(1.0, "new")]),
                            4 => db.hset(&k, &[("f1", "new")]),
                            5 => db.lpush(&k, &["new"]),
                            6 => db.lpop(&k).map(|_| 0),
                            7 => Ok(db.del(&[&k])),
                            8 => db.append(&k, "+"),
                            9 => db.incr(&k).map(|_| 0),
                            10 => db.rename(&k, format!("k{}", rnd(400))).map(|()| 0),
                            _ => Ok(usize::from(db.persist(&k))),
                        };
                    }
                    if round == 3 && rnd(50) == 0 {
                        c.db(1).unwrap().flush();
                    }
                    match it.next() {
                        Some(ch) => chunks.push(ch),
                        None => break,
                    }
                }
            }
            let mut file = Vec::new();
            rdb::write_file(
                &mut file,
                &SaveOptions::default(),
                &[],
                &snap.db_sizes,
                chunks.into_iter(),
            )
            .unwrap();
            drop(snap);
            let fresh = cache(&clock);
            fresh.load_rdb(&mut &file[..]).unwrap();
            assert_eq!(keys as usize, at_cut.len(), "round {round}");
            assert_eq!(contents(&fresh), at_cut, "round {round}");
        }
    }
}
