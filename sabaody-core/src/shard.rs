//! One shard of the keyspace: a compact arena of records plus a hash table of offsets.
//!
//! Layout (see the crate docs for the picture):
//!
//! * `arena: Vec<u8>` holds one *record* per key, back to back:
//!   `[flags u8][lru u8][key len varint][value len varint, inline strings only]`
//!   `[expire-at, only with a TTL: 6 bytes LE, or 8 past 2^48 ms][key bytes][value bytes]`.
//!   The value bytes are the string itself (inline strings, up to [`INLINE_MAX`] bytes), an `i64`
//!   (integer-encoded strings) or a `u32` index into `slab` (big strings and every other type).
//! * `table: HashTable<AtomicU64>` maps a key's hash to its record's offset (low 32 bits)
//!   and the key's access stamp (high 32 bits: an LRU time or an LFU counter, see
//!   `evict.rs`). The stamp is atomic so readers holding only the shared lock can record an
//!   access; the offset only changes under the exclusive lock.
//! * A replaced or deleted record becomes dead space; when dead space passes a quarter of the
//!   arena, the live records are copied into a fresh arena (`compact`). Offsets change, table
//!   slots do not move, so SCAN cursors (table bucket indices) stay valid across compaction.
//! * The table only moves its slots when it rehashes (on growth or shrink); `epoch` counts those
//!   so a SCAN cursor can notice and restart the shard (duplicates allowed, losses not).

use crate::Error;
use crate::evict::{Recent, Tracking};
use crate::value::{KeyType, Value, heap_size};
use bytes::Bytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Strings up to this many bytes live inside the record; longer ones go to the slab as `Bytes`.
pub(crate) const INLINE_MAX: usize = 48;

/// Arenas past [`SMALL_ARENA`] bytes get at least this capacity (0: no floor); see
/// [`set_large_arena_floor`].
static LARGE_ARENA_FLOOR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An arena this small grows by doubling whatever the floor.
const SMALL_ARENA: usize = 64 * 1024;

/// Makes every shard arena larger than 64 KiB at least `bytes` long (capacity, not resident
/// memory: the spare end is never written until used). A process that sets its allocator's
/// mmap threshold to `bytes` (the server with a `maxmemory`) keeps its large arenas out of
/// the heap this way, so a freed arena goes back to the kernel instead of leaving a hole.
pub fn set_large_arena_floor(bytes: usize) {
    LARGE_ARENA_FLOOR.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// `cap`, raised to the large-arena floor when past [`SMALL_ARENA`].
fn large_arena_capacity(cap: usize) -> usize {
    let floor = LARGE_ARENA_FLOOR.load(std::sync::atomic::Ordering::Relaxed);
    if cap > SMALL_ARENA && cap < floor {
        floor
    } else {
        cap
    }
}
/// Per-key bytes charged for the table slot (8-byte offset+stamp + 1 control byte, at ~70% load).
pub(crate) const SLOT_OVERHEAD: usize = 13;

const OFF_MASK: u64 = 0xFFFF_FFFF;

/// The record offset held by a table slot.
#[inline]
fn slot_off(slot: &AtomicU64) -> u32 {
    slot.load(Relaxed) as u32
}

/// The access stamp held by a table slot.
#[inline]
pub(crate) fn stamp(slot: &AtomicU64) -> u32 {
    (slot.load(Relaxed) >> 32) as u32
}

/// Points a slot at a new offset, keeping its stamp.
#[inline]
fn set_off(slot: &mut AtomicU64, new: usize) {
    let v = slot.get_mut();
    *v = (*v & !OFF_MASK) | new as u64;
}

fn new_slot(off: usize, stamp: u32) -> AtomicU64 {
    AtomicU64::new((u64::from(stamp) << 32) | off as u64)
}

const K_STR: u8 = 1;
const K_INT: u8 = 2;
const K_SLAB: u8 = 3;
const KIND_MASK: u8 = 0x0F;
const F_TTL: u8 = 0x10;
/// With `F_TTL`: the expire time takes 8 bytes instead of 6 (times past 2^48 ms, year 10889).
const F_TTL_WIDE: u8 = 0x20;
const TTL_NARROW_MAX: i64 = (1 << 48) - 1;

/// Bytes an expire time takes in a record: 6 for every realistic time, 8 otherwise.
fn ttl_width(ttl: Option<i64>) -> usize {
    match ttl {
        None => 0,
        Some(t) if (0..=TTL_NARROW_MAX).contains(&t) => 6,
        Some(_) => 8,
    }
}

/// A parsed record header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rec {
    pub(crate) off: usize,
    kind: u8,
    pub(crate) has_ttl: bool,
    ttl_len: usize,
    ttl_pos: usize,
    key_start: usize,
    key_len: usize,
    val_start: usize,
    val_len: usize,
    /// The access stamp of the table slot (set by the lookups; 0 from `parse`).
    pub(crate) stamp: u32,
}

impl Rec {
    fn end(&self) -> usize {
        self.val_start + self.val_len
    }
    fn len(&self) -> usize {
        self.end() - self.off
    }
}

/// A borrowed view of a stored value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum View<'a> {
    Inline(&'a [u8]),
    Int(i64),
    Value(&'a Value),
}

/// A value about to be stored.
#[derive(Debug)]
pub(crate) enum Data<'a> {
    /// Bytes already known not to be a canonical integer and at most `INLINE_MAX` long,
    /// or any bytes when built through [`Data::string`].
    Inline(&'a [u8]),
    Int(i64),
    Value(Value),
}

impl<'a> Data<'a> {
    /// The encoding a string value gets: integer, inline, or a slab `Bytes`.
    pub(crate) fn string(s: &'a [u8]) -> Data<'a> {
        if let Some(i) = crate::num::parse_i64_strict(s) {
            Data::Int(i)
        } else if s.len() <= INLINE_MAX {
            Data::Inline(s)
        } else {
            Data::Value(Value::Str(Bytes::copy_from_slice(s)))
        }
    }
}

/// An owned copy of a stored value (RENAME, COPY, GETDEL).
#[derive(Debug, Clone)]
pub(crate) enum Owned {
    Inline(Vec<u8>),
    Int(i64),
    Value(Value),
}

impl Owned {
    pub(crate) fn as_data(&self) -> Data<'_> {
        match self {
            Owned::Inline(v) => Data::Inline(v),
            Owned::Int(i) => Data::Int(*i),
            Owned::Value(v) => Data::Value(v.clone()),
        }
    }
    pub(crate) fn into_data(self, buf: &mut Vec<u8>) -> Data<'_> {
        match self {
            Owned::Inline(v) => {
                *buf = v;
                Data::Inline(buf)
            }
            Owned::Int(i) => Data::Int(i),
            Owned::Value(v) => Data::Value(v),
        }
    }
}

/// Encoded value part of a record, after any slab allocation.
#[derive(Clone, Copy)]
enum Enc<'a> {
    Inline(&'a [u8]),
    Int(i64),
    Slab(u32),
}

fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(buf: &mut [u8], mut v: usize) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        buf[i] = (v as u8 & 0x7F) | 0x80;
        v >>= 7;
        i += 1;
    }
    buf[i] = v as u8;
    i + 1
}

#[inline]
fn get_varint(buf: &[u8], mut p: usize) -> (usize, usize) {
    let first = buf[p];
    if first < 0x80 {
        return (usize::from(first), p + 1);
    }
    let mut v = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[p];
        v |= usize::from(b & 0x7F) << shift;
        p += 1;
        if b & 0x80 == 0 {
            return (v, p);
        }
        shift += 7;
    }
}

fn rec_len(key_len: usize, enc: Enc<'_>, ttl: Option<i64>) -> usize {
    let val = match enc {
        Enc::Inline(s) => varint_len(s.len()) + s.len(),
        Enc::Int(_) => 8,
        Enc::Slab(_) => 4,
    };
    2 + varint_len(key_len) + val + ttl_width(ttl) + key_len
}

fn write_rec(buf: &mut [u8], key: &[u8], enc: Enc<'_>, ttl: Option<i64>, lru: u8) {
    let kind = match enc {
        Enc::Inline(_) => K_STR,
        Enc::Int(_) => K_INT,
        Enc::Slab(_) => K_SLAB,
    };
    buf[0] = kind
        | match ttl_width(ttl) {
            0 => 0,
            6 => F_TTL,
            _ => F_TTL | F_TTL_WIDE,
        };
    buf[1] = lru;
    let mut p = 2 + put_varint(&mut buf[2..], key.len());
    if let Enc::Inline(s) = enc {
        p += put_varint(&mut buf[p..], s.len());
    }
    if let Some(t) = ttl {
        let w = ttl_width(ttl);
        buf[p..p + w].copy_from_slice(&t.to_le_bytes()[..w]);
        p += w;
    }
    buf[p..p + key.len()].copy_from_slice(key);
    p += key.len();
    match enc {
        Enc::Inline(s) => buf[p..p + s.len()].copy_from_slice(s),
        Enc::Int(i) => buf[p..p + 8].copy_from_slice(&i.to_le_bytes()),
        Enc::Slab(i) => buf[p..p + 4].copy_from_slice(&i.to_le_bytes()),
    }
}

#[inline]
fn parse(a: &[u8], off: usize) -> Rec {
    let flags = a[off];
    let kind = flags & KIND_MASK;
    let has_ttl = flags & F_TTL != 0;
    let ttl_len = match flags & (F_TTL | F_TTL_WIDE) {
        0 => 0,
        F_TTL => 6,
        _ => 8,
    };
    let (key_len, mut p) = get_varint(a, off + 2);
    let val_len = match kind {
        K_STR => {
            let (v, q) = get_varint(a, p);
            p = q;
            v
        }
        K_INT => 8,
        _ => 4,
    };
    let ttl_pos = p;
    p += ttl_len;
    Rec {
        off,
        kind,
        has_ttl,
        ttl_len,
        ttl_pos,
        key_start: p,
        key_len,
        val_start: p + key_len,
        val_len,
        stamp: 0,
    }
}

/// Whether the record at `off` has key `key`; the lookup hot path, so it reads only the
/// header bytes it needs.
#[inline]
fn key_is(a: &[u8], off: u32, key: &[u8]) -> bool {
    let off = off as usize;
    let flags = a[off];
    let (klen, mut p) = get_varint(a, off + 2);
    if klen != key.len() {
        return false;
    }
    if flags & KIND_MASK == K_STR {
        p = get_varint(a, p).1;
    }
    if flags & F_TTL != 0 {
        p += if flags & F_TTL_WIDE != 0 { 8 } else { 6 };
    }
    a.get(p..p + klen) == Some(key)
}

fn key_of(a: &[u8], off: u32) -> &[u8] {
    let r = parse(a, off as usize);
    &a[r.key_start..r.key_start + r.key_len]
}

fn read_i64(a: &[u8], p: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&a[p..p + 8]);
    i64::from_le_bytes(b)
}

/// The offset of a slot the caller holds exclusively.
#[inline]
fn off_of_mut(slot: &mut AtomicU64) -> u32 {
    *slot.get_mut() as u32
}

/// One shard. All methods assume the caller holds the shard's lock.
#[derive(Debug)]
pub struct Shard {
    table: HashTable<AtomicU64>,
    arena: Vec<u8>,
    dead: usize,
    slab: Vec<Option<Value>>,
    free: Vec<u32>,
    /// Keys carrying a TTL.
    pub(crate) volatile: usize,
    /// Bytes charged to `used_memory`.
    pub(crate) mem: usize,
    /// Bumped whenever the table rehashes (slots move).
    pub(crate) epoch: u32,
    /// Bumped on every modification (WATCH).
    pub(crate) version: u64,
    /// Changes as Redis's `server.dirty` counts them (`rdb_changes_since_last_save`, save
    /// points): added by the operations, which know how many elements a command changed
    /// ([`Shard::count_changes`]); removals by expiry or eviction, and loading, add nothing.
    pub(crate) dirty: u64,
    /// Keys removed because their TTL passed.
    pub(crate) expired: u64,
    /// Next bucket the active expiry cycle looks at.
    expire_hand: usize,
    hasher: DefaultHashBuilder,
    /// Access-tracking settings shared by the whole store (LRU or LFU stamps).
    pub(crate) tracking: Arc<Tracking>,
    /// The database this shard belongs to (told to the removal hook).
    pub(crate) db: usize,
    /// While a snapshot has not yet encoded this shard: the pre-cut versions of the keys
    /// changed since the cut (`snapshot.rs`). `None` otherwise.
    pub(crate) cow: Option<Box<ShardCow>>,
    /// The snapshot generation whose saver is partway through this shard's table, and the
    /// buckets it has encoded so far (`0..save_cursor`). The saver sets both under the shared
    /// lock between the pieces it encodes; writers read them under the exclusive lock.
    pub(crate) save_gen: AtomicU64,
    pub(crate) save_cursor: AtomicUsize,
    /// The keys created most recently, offered to LFU eviction (`evict.rs`).
    pub(crate) recent: Recent,
}

/// Copy-on-write state of a shard that a running snapshot has not encoded yet: every change
/// to a key first encodes the key's version as of the cut (once per key), so the snapshot
/// costs memory in proportion to what is written during it, not to the shard's size.
#[derive(Debug)]
pub(crate) struct ShardCow {
    pub(crate) st: Arc<crate::snapshot::SnapState>,
    /// Keys changed, created or deleted since the cut: the saver skips their current records.
    pub(crate) touched: hashbrown::HashSet<Box<[u8]>>,
    /// The pre-cut versions of the touched keys that existed then (RDB entries).
    pub(crate) parked: Vec<u8>,
    pub(crate) parked_keys: u64,
    /// Every pre-cut record the saver had not reached is parked (a writer did it before the
    /// table's slots moved or were dropped): the saver has only `parked` left to write.
    pub(crate) all_parked: bool,
}

impl Shard {
    pub(crate) fn new(hasher: DefaultHashBuilder, tracking: Arc<Tracking>) -> Shard {
        Shard {
            table: HashTable::new(),
            arena: Vec::new(),
            dead: 0,
            slab: Vec::new(),
            free: Vec::new(),
            volatile: 0,
            mem: 0,
            epoch: 0,
            version: 0,
            dirty: 0,
            expired: 0,
            expire_hand: 0,
            hasher,
            tracking,
            db: 0,
            cow: None,
            save_gen: AtomicU64::new(0),
            save_cursor: AtomicUsize::new(0),
            recent: Recent::default(),
        }
    }

    /// The shard, as one of database `db`'s.
    pub(crate) fn in_db(mut self, db: usize) -> Shard {
        self.db = db;
        self
    }

    /// Before changing the record `r`: keeps its pre-cut version for a running snapshot.
    #[inline]
    fn preserve_rec(&mut self, r: &Rec) {
        if self.cow.is_some() {
            self.preserve_slow(None, Some(r));
        }
    }

    /// Before changing `key` (whose record is `r`, if it exists).
    #[inline]
    fn preserve_key(&mut self, h: u64, key: &[u8]) {
        if self.cow.is_some() {
            let r = self.find(h, key);
            self.preserve_slow(Some(key), r.as_ref());
        }
    }

    #[cold]
    fn preserve_slow(&mut self, key: Option<&[u8]>, r: Option<&Rec>) {
        let Some(mut c) = self.cow.take() else {
            return;
        };
        let key: &[u8] = match (key, r) {
            (Some(k), _) => k,
            (None, Some(r)) => &self.arena[r.key_start..r.key_start + r.key_len],
            (None, None) => &[],
        };
        if !c.all_parked && !c.touched.contains(key) {
            // Touched even when its record was encoded already: a re-creation of the key in a
            // bucket the saver has yet to reach must not be saved.
            c.touched.insert(key.into());
            if let Some(r) = r
                && !self.is_expired(r, c.st.now)
                && !self.already_saved(&c, key, r)
            {
                self.park(&mut c, key, r);
            }
        }
        self.cow = Some(c);
    }

    /// Buckets below this index were encoded by the running snapshot's saver (0: it has not
    /// started this shard).
    fn saved_below(&self, c: &ShardCow) -> usize {
        if self.save_gen.load(Relaxed) == c.st.generation() {
            self.save_cursor.load(Relaxed)
        } else {
            0
        }
    }

    /// Whether the saver has encoded `r` (the record of `key`) already.
    fn already_saved(&self, c: &ShardCow, key: &[u8], r: &Rec) -> bool {
        let below = self.saved_below(c);
        below > 0
            && self
                .table
                .find_bucket_index(self.hasher.hash_one(key), |o| slot_off(o) as usize == r.off)
                .is_some_and(|b| b < below)
    }

    /// Encodes `r`'s current (pre-cut) version into the snapshot's parked entries.
    fn park(&self, c: &mut ShardCow, key: &[u8], r: &Rec) {
        let before = c.parked.len();
        let policy = self.tracking.policy();
        let hint = if crate::rdb::AccessHint::saved_under(policy) {
            // `r` may come from a bare parse (no stamp): read the stamp from its slot.
            let stamp = self
                .table
                .find(self.hasher.hash_one(key), |o| slot_off(o) as usize == r.off)
                .map_or(r.stamp, stamp);
            crate::rdb::AccessHint::of(&self.tracking, policy, stamp)
        } else {
            crate::rdb::AccessHint::None
        };
        (c.st.encode)(
            &mut c.parked,
            key,
            self.view(r),
            self.expire_at(r),
            hint,
            &c.st.opts,
        );
        c.parked_keys += 1;
        c.st.cow_bytes.fetch_add(
            c.parked.len() - before,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Before the table's slots move (rehash) or are dropped (clear) while a snapshot still
    /// needs this shard: parks every pre-cut record the saver has not reached, so the saver
    /// only has the parked entries left to write. `started_only`: only if the saver is partway
    /// through the table (before it starts, moving slots is harmless).
    #[cold]
    fn park_unsaved(&mut self, started_only: bool) {
        let Some(mut c) = self.cow.take() else {
            return;
        };
        let from = self.saved_below(&c);
        if !c.all_parked && (from > 0 || !started_only) {
            for b in from..self.table.num_buckets() {
                let Some(r) = self.bucket(b) else {
                    continue;
                };
                let key = self.key(&r);
                if !self.is_expired(&r, c.st.now) && !c.touched.contains(key) {
                    self.park(&mut c, key, &r);
                }
            }
            c.all_parked = true;
            c.touched = hashbrown::HashSet::new();
        }
        self.cow = Some(c);
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn num_buckets(&self) -> usize {
        self.table.num_buckets()
    }

    /// The record stored in `bucket`, if any.
    pub(crate) fn bucket(&self, bucket: usize) -> Option<Rec> {
        self.table.get_bucket(bucket).map(|slot| {
            let mut r = parse(&self.arena, slot_off(slot) as usize);
            r.stamp = stamp(slot);
            r
        })
    }

    /// The raw slot of `bucket` (record offset in the low 32 bits, access stamp in the high
    /// ones), if it holds a key: eviction sampling scores keys by their stamps without
    /// reading their records.
    #[inline]
    pub(crate) fn slot_value(&self, bucket: usize) -> Option<u64> {
        self.table.get_bucket(bucket).map(|slot| slot.load(Relaxed))
    }

    pub(crate) fn find(&self, h: u64, key: &[u8]) -> Option<Rec> {
        self.find_slot(h, key).map(|(_, r)| r)
    }

    /// The record of `key` and its table slot (to record an access with [`Shard::touch`]).
    #[inline]
    pub(crate) fn find_slot(&self, h: u64, key: &[u8]) -> Option<(&AtomicU64, Rec)> {
        let a = &self.arena;
        self.table
            .find(h, |slot| key_is(a, slot_off(slot), key))
            .map(|slot| {
                let mut r = parse(a, slot_off(slot) as usize);
                r.stamp = stamp(slot);
                (slot, r)
            })
    }

    /// Records an access to the key of `slot` (LRU time or LFU counter), under a shared lock.
    #[inline]
    pub(crate) fn touch(&self, slot: &AtomicU64) {
        let v = slot.load(Relaxed);
        let old = (v >> 32) as u32;
        let new = self.tracking.touched(old);
        if new != old {
            slot.store((u64::from(new) << 32) | (v & OFF_MASK), Relaxed);
        }
    }

    /// The address of the table's control bytes and its bucket mask ((0, 0) when it has no
    /// allocation), for prefetching. hashbrown keeps bucket `i` at `ctrl - (i + 1) * 8` and
    /// starts a probe for hash `h` at `h & mask`; a stale or wrong location only makes a
    /// prefetch useless, never incorrect.
    pub(crate) fn table_location(&self) -> (usize, usize) {
        let n = self.table.num_buckets();
        if self.table.is_empty() || n == 0 {
            return (0, 0);
        }
        (0..n)
            .find_map(|i| {
                self.table.get_bucket(i).map(|b| {
                    let addr = std::ptr::from_ref(b).addr();
                    (addr + (i + 1) * std::mem::size_of::<AtomicU64>(), n - 1)
                })
            })
            .unwrap_or((0, 0))
    }

    pub(crate) fn key(&self, r: &Rec) -> &[u8] {
        &self.arena[r.key_start..r.key_start + r.key_len]
    }

    pub(crate) fn expire_at(&self, r: &Rec) -> Option<i64> {
        r.has_ttl.then(|| self.read_ttl(r))
    }

    /// Redis: a key is expired once the clock is strictly past its expire time.
    pub(crate) fn is_expired(&self, r: &Rec, now: i64) -> bool {
        r.has_ttl && now > self.read_ttl(r)
    }

    fn read_ttl(&self, r: &Rec) -> i64 {
        if r.ttl_len == 8 {
            read_i64(&self.arena, r.ttl_pos)
        } else {
            let mut b = [0u8; 8];
            b[..6].copy_from_slice(&self.arena[r.ttl_pos..r.ttl_pos + 6]);
            i64::from_le_bytes(b)
        }
    }

    pub(crate) fn view(&self, r: &Rec) -> View<'_> {
        match r.kind {
            K_STR => View::Inline(&self.arena[r.val_start..r.val_start + r.val_len]),
            K_INT => View::Int(read_i64(&self.arena, r.val_start)),
            _ => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&self.arena[r.val_start..r.val_start + 4]);
                match &self.slab[u32::from_le_bytes(b) as usize] {
                    Some(v) => View::Value(v),
                    // Unreachable while the invariants hold; validate() checks them.
                    None => View::Inline(&[]),
                }
            }
        }
    }

    pub(crate) fn key_type(&self, r: &Rec) -> KeyType {
        match self.view(r) {
            View::Value(v) => v.key_type(),
            _ => KeyType::String,
        }
    }

    /// Changes an out-of-line value in place (APPEND to a long string), keeping the charge
    /// right. False if the record has no slab value.
    pub(crate) fn update_slab(&mut self, r: &Rec, f: impl FnOnce(&mut Value)) -> bool {
        let Some(i) = self.slab_index(r) else {
            return false;
        };
        self.preserve_rec(r);
        let Some(Some(v)) = self.slab.get_mut(i as usize) else {
            return false;
        };
        let before = v.charge();
        f(v);
        let after = v.charge();
        self.mem = self.mem + after - before;
        self.version += 1;
        true
    }

    fn slab_index(&self, r: &Rec) -> Option<u32> {
        (r.kind == K_SLAB).then(|| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&self.arena[r.val_start..r.val_start + 4]);
            u32::from_le_bytes(b)
        })
    }

    pub(crate) fn owned(&self, r: &Rec) -> Owned {
        match self.view(r) {
            View::Inline(s) => Owned::Inline(s.to_vec()),
            View::Int(i) => Owned::Int(i),
            View::Value(v) => Owned::Value(v.clone()),
        }
    }

    fn slab_put(&mut self, v: Value) -> u32 {
        self.mem += v.charge();
        if let Some(i) = self.free.pop() {
            self.slab[i as usize] = Some(v);
            i
        } else {
            self.slab.push(Some(v));
            (self.slab.len() - 1) as u32
        }
    }

    fn slab_take(&mut self, i: u32) -> Option<Value> {
        let v = self.slab.get_mut(i as usize).and_then(Option::take);
        if let Some(v) = &v {
            self.mem -= v.charge();
            self.free.push(i);
        }
        v
    }

    /// Space for `n` more bytes at the end of the arena. It grows by doubling: the spare
    /// capacity is never written until used, so it is not resident, and few reallocations
    /// leave few freed blocks behind. Measured at 1M keys: growing by a quarter instead
    /// cost 1-2 more bytes of RSS per key (heap fragmentation) and varied more.
    fn append_space(&mut self, n: usize) -> Result<usize, Error> {
        let off = self.arena.len();
        if off + n > u32::MAX as usize {
            return Err(Error::OutOfMemory);
        }
        if self.arena.capacity() - off < n {
            let extra = off.max(n).max(256);
            let extra = large_arena_capacity(off + extra) - off;
            self.arena.reserve_exact(extra);
        }
        self.arena.resize(off + n, 0);
        Ok(off)
    }

    fn ensure_room(&mut self, n: usize) -> Result<(), Error> {
        if self.arena.len() + n > u32::MAX as usize {
            self.compact();
            if self.arena.len() + n > u32::MAX as usize {
                return Err(Error::OutOfMemory);
            }
        }
        Ok(())
    }

    /// Forgets the record at `r` (already unlinked or about to be replaced): dead space,
    /// slab slot, charges. Returns the slab value, if the record had one.
    fn drop_rec(&mut self, r: &Rec) -> Option<Value> {
        self.dead += r.len();
        self.mem -= r.len() + SLOT_OVERHEAD;
        if r.has_ttl {
            self.volatile -= 1;
        }
        self.slab_index(r).and_then(|i| self.slab_take(i))
    }

    /// Inserts or replaces `key`. Returns whether the key existed (expired or not: callers
    /// that care look first).
    pub(crate) fn put(
        &mut self,
        h: u64,
        key: &[u8],
        data: Data<'_>,
        ttl: Option<i64>,
    ) -> Result<bool, Error> {
        let probe = match &data {
            Data::Inline(s) => Enc::Inline(s),
            Data::Int(i) => Enc::Int(*i),
            Data::Value(_) => Enc::Slab(0),
        };
        let new_len = rec_len(key.len(), probe, ttl);
        self.ensure_room(new_len)?;
        self.preserve_key(h, key);
        let old = self.find(h, key);
        let mut lru = 0;
        if let Some(r) = &old {
            lru = self.arena[r.off + 1];
            drop(self.drop_rec(r));
        }
        let enc = match data {
            Data::Inline(s) => Enc::Inline(s),
            Data::Int(i) => Enc::Int(i),
            Data::Value(v) => Enc::Slab(self.slab_put(v)),
        };
        match old {
            Some(r) if r.len() == new_len => {
                self.dead -= new_len;
                write_rec(&mut self.arena[r.off..r.off + new_len], key, enc, ttl, lru);
            }
            Some(r) if r.end() == self.arena.len() => {
                // The last record (typically just written): resize it where it is.
                self.dead -= r.len();
                self.arena.truncate(r.off);
                let off = self.append_space(new_len)?;
                write_rec(&mut self.arena[off..], key, enc, ttl, lru);
            }
            Some(r) => {
                let off = self.append_space(new_len)?;
                write_rec(&mut self.arena[off..], key, enc, ttl, lru);
                if let Some(slot) = self.table.find_mut(h, |o| slot_off(o) as usize == r.off) {
                    set_off(slot, off);
                }
            }
            None => {
                let off = self.append_space(new_len)?;
                write_rec(&mut self.arena[off..], key, enc, ttl, lru);
                if self.table.len() == self.table.capacity() {
                    // The insert rehashes: slots move.
                    if self.cow.is_some() {
                        self.park_unsaved(true);
                    }
                    self.epoch = self.epoch.wrapping_add(1);
                }
                let stamp = self.tracking.initial(h);
                let (a, hb) = (&self.arena, &self.hasher);
                let bucket = self
                    .table
                    .insert_unique(h, new_slot(off, stamp), |o| {
                        hb.hash_one(key_of(a, slot_off(o)))
                    })
                    .bucket_index();
                if self.tracking.keeps_recent() {
                    self.recent.push(bucket, self.epoch);
                }
            }
        }
        self.mem += new_len + SLOT_OVERHEAD;
        if ttl.is_some() {
            self.volatile += 1;
        }
        self.version += 1;
        self.maybe_compact();
        Ok(old.is_some())
    }

    /// Makes room in the table for `total` keys in all, so storing that many does not rehash
    /// on the way (an RDB `RESIZEDB` hint; Redis expands its dict likewise). A failed
    /// allocation is ignored: the table then grows as usual.
    pub(crate) fn reserve(&mut self, total: usize) {
        let len = self.table.len();
        let additional = total.saturating_sub(len);
        if self.table.capacity() - len >= additional {
            return;
        }
        // The table rehashes: slots move.
        if self.cow.is_some() {
            self.park_unsaved(true);
        }
        self.epoch = self.epoch.wrapping_add(1);
        let (a, hb) = (&self.arena, &self.hasher);
        let _ = self
            .table
            .try_reserve(additional, |o| hb.hash_one(key_of(a, slot_off(o))));
    }

    /// Sets the access stamp of `key` (an LRU time or LFU counter restored from an RDB
    /// file). False if the key is not here.
    pub(crate) fn set_stamp(&mut self, h: u64, key: &[u8], new: u32) -> bool {
        let a = &self.arena;
        match self
            .table
            .find_mut(h, |slot| key_is(a, slot_off(slot), key))
        {
            Some(slot) => {
                let v = slot.get_mut();
                *v = (u64::from(new) << 32) | (*v & OFF_MASK);
                true
            }
            None => false,
        }
    }

    /// Overwrites the `i64` of an integer-encoded record in place.
    pub(crate) fn set_int_in_place(&mut self, r: &Rec, v: i64) -> bool {
        if r.kind != K_INT {
            return false;
        }
        self.preserve_rec(r);
        self.arena[r.val_start..r.val_start + 8].copy_from_slice(&v.to_le_bytes());
        self.version += 1;
        true
    }

    /// Sets or clears the TTL of an existing record.
    pub(crate) fn set_ttl(&mut self, h: u64, r: &Rec, ttl: Option<i64>) -> Result<(), Error> {
        self.preserve_rec(r);
        self.version += 1;
        match (r.has_ttl, ttl) {
            (true, Some(t)) if r.ttl_len == ttl_width(ttl) => {
                self.arena[r.ttl_pos..r.ttl_pos + r.ttl_len]
                    .copy_from_slice(&t.to_le_bytes()[..r.ttl_len]);
                Ok(())
            }
            (false, None) => Ok(()),
            _ => {
                let key = self.key(r).to_vec();
                let lru = self.arena[r.off + 1];
                let enc_owned: (u8, Vec<u8>) = (
                    r.kind,
                    self.arena[r.val_start..r.val_start + r.val_len].to_vec(),
                );
                let enc = match enc_owned.0 {
                    K_STR => Enc::Inline(&enc_owned.1),
                    K_INT => Enc::Int(read_i64(&enc_owned.1, 0)),
                    _ => {
                        let mut b = [0u8; 4];
                        b.copy_from_slice(&enc_owned.1[..4]);
                        Enc::Slab(u32::from_le_bytes(b))
                    }
                };
                let new_len = rec_len(key.len(), enc, ttl);
                self.ensure_room(new_len)?;
                // The record may have moved if ensure_room compacted: look it up again.
                let Some(r) = self.find(h, &key) else {
                    return Ok(());
                };
                if r.end() == self.arena.len() {
                    // The last record (SET then EXPIRE): resize it where it is.
                    self.arena.truncate(r.off);
                    let off = self.append_space(new_len)?;
                    write_rec(&mut self.arena[off..], &key, enc, ttl, lru);
                } else {
                    let off = self.append_space(new_len)?;
                    write_rec(&mut self.arena[off..], &key, enc, ttl, lru);
                    if let Some(slot) = self.table.find_mut(h, |o| slot_off(o) as usize == r.off) {
                        set_off(slot, off);
                    }
                    self.dead += r.len();
                }
                self.mem = self.mem + new_len - r.len();
                match (r.has_ttl, ttl.is_some()) {
                    (false, true) => self.volatile += 1,
                    (true, false) => self.volatile -= 1,
                    _ => {}
                }
                self.maybe_compact();
                Ok(())
            }
        }
    }

    /// Removes `key`; returns its value if `want` and the key existed.
    pub(crate) fn remove(&mut self, h: u64, key: &[u8], want: bool) -> Option<Option<Owned>> {
        self.preserve_key(h, key);
        let a = &self.arena;
        let entry = self
            .table
            .find_entry(h, |o| key_is(a, slot_off(o), key))
            .ok()?;
        let (slot, _) = entry.remove();
        Some(self.after_unlink(slot.into_inner() as u32, want))
    }

    /// Removes `key` but hands back its out-of-line value (if any) instead of freeing it, so
    /// the caller can drop it after releasing the lock (UNLINK). `None` if absent.
    pub(crate) fn remove_lazy(&mut self, h: u64, key: &[u8]) -> Option<Option<Value>> {
        self.preserve_key(h, key);
        let a = &self.arena;
        let entry = self
            .table
            .find_entry(h, |o| key_is(a, slot_off(o), key))
            .ok()?;
        let (slot, _) = entry.remove();
        let r = parse(&self.arena, slot.into_inner() as u32 as usize);
        let slab = self.drop_rec(&r);
        self.version += 1;
        self.after_remove();
        Some(slab)
    }

    fn after_unlink(&mut self, off: u32, want: bool) -> Option<Owned> {
        let r = parse(&self.arena, off as usize);
        let out = if want {
            match self.view(&r) {
                View::Inline(s) => Some(Owned::Inline(s.to_vec())),
                View::Int(i) => Some(Owned::Int(i)),
                View::Value(_) => None,
            }
        } else {
            None
        };
        let slab = self.drop_rec(&r);
        self.version += 1;
        let out = match (out, slab) {
            (Some(o), _) => Some(o),
            (None, Some(v)) if want => Some(Owned::Value(v)),
            _ => None,
        };
        self.after_remove();
        out
    }

    /// Removes the record in `bucket` (active expiry, eviction).
    pub(crate) fn remove_bucket(&mut self, bucket: usize) {
        if self.cow.is_some()
            && let Some(r) = self.bucket(bucket)
        {
            self.preserve_rec(&r);
        }
        if let Ok(entry) = self.table.get_bucket_entry(bucket) {
            let (slot, _) = entry.remove();
            self.after_unlink(slot.into_inner() as u32, false);
        }
    }

    fn after_remove(&mut self) {
        if self.table.is_empty() {
            self.clear();
        } else {
            self.maybe_compact();
        }
    }

    /// Drops every key (FLUSHDB). Returns how many there were.
    pub(crate) fn clear(&mut self) -> usize {
        if self.cow.is_some() {
            self.park_unsaved(false);
        }
        let n = self.table.len();
        if self.table.num_buckets() > 0 {
            self.epoch = self.epoch.wrapping_add(1);
        }
        self.table = HashTable::new();
        self.arena = Vec::new();
        self.slab = Vec::new();
        self.free = Vec::new();
        self.dead = 0;
        self.volatile = 0;
        self.mem = 0;
        self.expire_hand = 0;
        // WATCH: every key removed counts as touched (an empty shard changes nothing).
        self.version += n as u64;
        n
    }

    /// Counts `n` changes towards Redis's `dirty` counter ([`Shard::dirty`]); the write paths
    /// call it with the amount Redis 7.0 adds for their command (0 when nothing changed).
    #[inline]
    pub(crate) fn count_changes(&mut self, n: usize) {
        self.dirty += n as u64;
    }

    fn maybe_compact(&mut self) {
        if self.dead > 1024 && self.dead * 4 > self.arena.len() {
            self.compact();
        }
    }

    /// Copies live records into a fresh arena; shrinks a mostly empty table.
    fn compact(&mut self) {
        let live = self.arena.len() - self.dead;
        let mut fresh = Vec::with_capacity(large_arena_capacity(live + live / 8));
        for slot in self.table.iter_mut() {
            let r = parse(&self.arena, off_of_mut(slot) as usize);
            set_off(slot, fresh.len());
            fresh.extend_from_slice(&self.arena[r.off..r.end()]);
        }
        self.arena = fresh;
        self.dead = 0;
        if self.table.num_buckets() > 64 && self.table.len() * 8 < self.table.num_buckets() {
            if self.cow.is_some() {
                self.park_unsaved(true);
            }
            self.epoch = self.epoch.wrapping_add(1);
            let (a, hb) = (&self.arena, &self.hasher);
            self.table
                .shrink_to(0, |o| hb.hash_one(key_of(a, slot_off(o))));
        }
    }

    /// One step of the active expiry cycle: walks buckets from the hand until `sample` keys
    /// with a TTL were looked at (or `max_buckets` buckets), deleting the expired ones.
    /// Returns (sampled, expired, buckets walked).
    pub(crate) fn expire_step(
        &mut self,
        now: i64,
        sample: usize,
        max_buckets: usize,
        store: &crate::store::Store,
    ) -> (usize, usize, usize) {
        let nb = self.table.num_buckets();
        if nb == 0 || self.volatile == 0 {
            return (0, 0, 0);
        }
        let (mut sampled, mut expired, mut walked) = (0, 0, 0);
        for _ in 0..max_buckets.min(nb) {
            walked += 1;
            if self.expire_hand >= self.table.num_buckets() {
                self.expire_hand = 0;
            }
            let b = self.expire_hand;
            self.expire_hand += 1;
            let Some(r) = self.bucket(b) else { continue };
            if !r.has_ttl {
                continue;
            }
            sampled += 1;
            if self.is_expired(&r, now) {
                crate::evict::notify(
                    store,
                    self.db,
                    self.key(&r),
                    crate::evict::RemovalCause::Expired,
                );
                self.remove_bucket(b);
                self.expired += 1;
                expired += 1;
                if self.table.is_empty() {
                    break;
                }
            }
            if sampled >= sample {
                break;
            }
        }
        (sampled, expired, walked)
    }

    /// Charged bytes of one key's value as reported by `MEMORY USAGE`-like callers.
    pub(crate) fn rec_charge(&self, r: &Rec) -> usize {
        let slab = match self.view(r) {
            View::Value(v) => v.charge(),
            _ => 0,
        };
        r.len() + SLOT_OVERHEAD + slab
    }

    /// Actual heap bytes held by this shard (for diagnostics and memory tests).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.table.allocation_size()
            + heap_size(self.arena.capacity())
            + heap_size(self.slab.capacity() * std::mem::size_of::<Option<Value>>())
    }

    /// Checks every internal invariant; describes the first broken one.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let mut live = 0;
        let mut volatile = 0;
        let mut mem = 0;
        let mut slabs = 0;
        for slot in self.table.iter() {
            let off = slot_off(slot);
            let r = parse(&self.arena, off as usize);
            if r.end() > self.arena.len() {
                return Err(format!("record at {off} runs past the arena"));
            }
            let key = self.key(&r);
            let h = self.hasher.hash_one(key);
            match self.find(h, key) {
                Some(f) if f.off == r.off => {}
                _ => return Err(format!("key at {off} not found by its hash")),
            }
            if let Some(i) = self.slab_index(&r) {
                slabs += 1;
                if self.slab.get(i as usize).is_none_or(Option::is_none) {
                    return Err(format!("record at {off} points to an empty slab slot {i}"));
                }
            }
            if r.has_ttl {
                volatile += 1;
            }
            live += r.len();
            mem += self.rec_charge(&r);
        }
        if live + self.dead != self.arena.len() {
            return Err(format!(
                "live {live} + dead {} != arena {}",
                self.dead,
                self.arena.len()
            ));
        }
        if volatile != self.volatile {
            return Err(format!("volatile count {} != {volatile}", self.volatile));
        }
        if mem != self.mem {
            return Err(format!("charged memory {} != {mem}", self.mem));
        }
        let used_slabs = self.slab.iter().filter(|s| s.is_some()).count();
        if used_slabs != slabs || self.slab.len() - used_slabs != self.free.len() {
            return Err(format!(
                "slab: {used_slabs} used, {slabs} referenced, {} free listed",
                self.free.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod arena_floor_tests {
    use super::{LARGE_ARENA_FLOOR, SMALL_ARENA, large_arena_capacity};
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn large_arena_floor_applies_past_small_arenas() {
        // No other test of this process sets the floor: 0 means none.
        assert_eq!(large_arena_capacity(1 << 20), 1 << 20);
        LARGE_ARENA_FLOOR.store(1 << 20, Relaxed);
        assert_eq!(large_arena_capacity(4096), 4096);
        assert_eq!(large_arena_capacity(SMALL_ARENA), SMALL_ARENA);
        assert_eq!(large_arena_capacity(SMALL_ARENA + 1), 1 << 20);
        assert_eq!(large_arena_capacity(3 << 20), 3 << 20);
        LARGE_ARENA_FLOOR.store(0, Relaxed);
    }
}
