//! The keyspace operations, written once over [`Access`] so they run on a `Cache` (taking shard
//! locks) and inside a `Transaction` (locks already held).

pub(crate) mod keys;
pub(crate) mod string;
pub(crate) mod ttl;

use crate::Error;
use crate::access::Access;
use crate::shard::{Data, Rec, Shard, View};
use crate::store::Store;
use crate::value::{KeyType, Value};
use std::sync::atomic::Ordering;

/// Redis's default `proto-max-bulk-len`: no string may grow past it.
pub(crate) const MAX_STRING: usize = 512 * 1024 * 1024;

#[inline]
pub(crate) fn locate<A: Access + ?Sized>(a: &A, key: &[u8]) -> (u64, usize) {
    let s = a.store();
    let h = s.hash(key);
    (h, s.gid(a.db_index_raw(), h))
}

/// The live record of `key` for a writer: an expired one is deleted first (lazy expiry).
/// Records an access.
pub(crate) fn live(s: &mut Shard, store: &Store, h: u64, key: &[u8]) -> Option<Rec> {
    let (slot, r) = s.find_slot(h, key)?;
    if r.has_ttl && s.is_expired(&r, store.now()) {
        crate::evict::notify(store, s.db, key, crate::evict::RemovalCause::Expired);
        s.remove(h, key, false);
        s.expired += 1;
        None
    } else {
        s.touch(slot);
        Some(r)
    }
}

/// The live record of `key` for a reader, if not expired. Records an access.
pub(crate) fn live_ro(s: &Shard, store: &Store, h: u64, key: &[u8]) -> Option<Rec> {
    let (slot, r) = s.find_slot(h, key)?;
    if r.has_ttl && s.is_expired(&r, store.now()) {
        None
    } else {
        s.touch(slot);
        Some(r)
    }
}

/// Like [`live_ro`] without recording an access (EXISTS, TYPE, TTL, OBJECT: Redis's
/// `LOOKUP_NOTOUCH`).
pub(crate) fn live_ro_notouch(s: &Shard, store: &Store, h: u64, key: &[u8]) -> Option<Rec> {
    let r = s.find(h, key)?;
    if r.has_ttl && s.is_expired(&r, store.now()) {
        None
    } else {
        Some(r)
    }
}

/// Tells the miss hook (if any) that a read lookup of `key` found nothing. Call with no shard
/// lock held (a `Transaction` holds its locks throughout).
#[inline]
pub(crate) fn note_miss<A: Access + ?Sized>(a: &A, key: &[u8]) {
    if let Some(h) = a.store().limits.miss_hook.get() {
        h(a.db_index_raw(), key);
    }
}

/// Counts the keyspace hits and misses of a multi-key read's lookups (`found[i]`: whether
/// `keys[i]` held a value; a read that stopped at an error lists the keys up to it), as Redis
/// counts its `lookupKeyRead` calls, and tells the miss hook about each miss. Call with no
/// shard lock held.
pub(crate) fn count_sources<A: Access + ?Sized, K: AsRef<[u8]>>(a: &A, keys: &[K], found: &[bool]) {
    let hits = found.iter().filter(|&&f| f).count();
    count_lookups(a.store(), hits, found.len() - hits);
    for (k, _) in keys.iter().zip(found).filter(|(_, f)| !**f) {
        note_miss(a, k.as_ref());
    }
}

/// Counts `hits` keyspace hits and `misses` misses (a multi-key read, MGET).
pub(crate) fn count_lookups(store: &Store, hits: usize, misses: usize) {
    let stripe = &store.stripes[crate::store::my_stripe()];
    if hits > 0 {
        stripe.hits.fetch_add(hits as u64, Ordering::Relaxed);
    }
    if misses > 0 {
        stripe.misses.fetch_add(misses as u64, Ordering::Relaxed);
    }
}

/// Counts a keyspace hit or miss for a read-style lookup done on the write path
/// (GETDEL, GETEX), as Redis does for them.
pub(crate) fn count_lookup(store: &Store, hit: bool) {
    count_lookups(store, usize::from(hit), usize::from(!hit));
}

enum Look<T> {
    Found(T),
    Missing,
    Expired,
}

/// Reads `key` under a read lock and applies `f` to its record. An expired key is deleted
/// under a write lock afterwards (lazy expiry) and reported missing. Counts keyspace
/// hits and misses.
pub(crate) fn read_key<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&Shard, &Rec) -> T,
) -> Option<T> {
    read_key_with(a, key, true, true, true, f)
}

/// [`read_key`] without recording an access (Redis's `LOOKUP_NOTOUCH`).
pub(crate) fn read_key_notouch<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&Shard, &Rec) -> T,
) -> Option<T> {
    read_key_with(a, key, false, true, true, f)
}

/// [`read_key_notouch`] that raises no key-miss event (OBJECT: Redis's `LOOKUP_NONOTIFY`);
/// the miss is still counted.
pub(crate) fn read_key_nonotify<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&Shard, &Rec) -> T,
) -> Option<T> {
    read_key_with(a, key, false, false, true, f)
}

/// A lookup that records nothing: no access, no hit or miss, no event (MEMORY USAGE, which
/// Redis answers from the dictionary directly).
pub(crate) fn read_key_silent<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&Shard, &Rec) -> T,
) -> Option<T> {
    read_key_with(a, key, false, false, false, f)
}

#[inline]
fn read_key_with<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    touch: bool,
    notify: bool,
    stats: bool,
    f: impl FnOnce(&Shard, &Rec) -> T,
) -> Option<T> {
    let (h, gid) = locate(a, key);
    let store = a.store();
    let look = a.read(gid, |s| match s.find_slot(h, key) {
        None => Look::Missing,
        Some((_, r)) if r.has_ttl && s.is_expired(&r, store.now()) => Look::Expired,
        Some((slot, r)) => {
            if touch {
                s.touch(slot);
            }
            Look::Found(f(s, &r))
        }
    });
    let stripe = &store.stripes[crate::store::my_stripe()];
    match look {
        Look::Found(t) => {
            if stats {
                stripe.hits.fetch_add(1, Ordering::Relaxed);
            }
            Some(t)
        }
        Look::Missing => {
            if stats {
                stripe.misses.fetch_add(1, Ordering::Relaxed);
            }
            if notify {
                note_miss(a, key);
            }
            None
        }
        Look::Expired => {
            a.write(gid, |s| live(s, store, h, key));
            if stats {
                stripe.misses.fetch_add(1, Ordering::Relaxed);
            }
            if notify {
                note_miss(a, key);
            }
            None
        }
    }
}

/// Sorted, de-duplicated shard ids of `keys` in the current database, plus each key's hash.
pub(crate) fn plan<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    keys: &[K],
) -> (Vec<usize>, Vec<(u64, usize)>) {
    let located: Vec<(u64, usize)> = keys.iter().map(|k| locate(a, k.as_ref())).collect();
    let mut gids: Vec<usize> = located.iter().map(|&(_, g)| g).collect();
    gids.sort_unstable();
    gids.dedup();
    (gids, located)
}

/// Index of `gid` in a sorted, de-duplicated list that contains it.
#[inline]
pub(crate) fn pos(gids: &[usize], gid: usize) -> usize {
    gids.binary_search(&gid).unwrap_or(0)
}

/// Formats an `i64` into `buf`, returning the digits.
pub(crate) fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Reads the collection at `key` under a read lock: `Ok(None)` if the key is missing (or
/// expired), [`Error::WrongType`] if it holds another type, else `f` of the value. Counts a
/// keyspace hit or miss.
pub(crate) fn read_value<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    kind: KeyType,
    f: impl FnOnce(&Value) -> T,
) -> Result<Option<T>, Error> {
    read_key(a, key, |s, r| match s.view(r) {
        View::Value(v) if v.key_type() == kind => Ok(f(v)),
        _ => Err(Error::WrongType),
    })
    .transpose()
}

/// Changes the collection at `key` in place under its shard's write lock.
///
/// - The key holds another type: [`Error::WrongType`], nothing changes.
/// - The key is missing (or expired) and `create` is `None`: `Ok(None)`, nothing changes.
/// - The key is missing and `create` is given: `f` runs on `create()`, and the new value is
///   stored (without TTL) unless `f` failed or left it empty.
/// - Otherwise `f` runs on the stored value; if that leaves it empty the key is deleted.
///
/// `f` returns its result and the number of changes Redis 7.0 counts for the command in
/// `server.dirty` (elements added, removed or updated: [`Shard::count_changes`]). 0 means `f`
/// changed nothing (SADD of present members, SREM of absent ones, ZADD of an unchanged
/// score): the shard's version bump is then undone, so a WATCH on the key is not triggered,
/// as Redis signals a modified key only when something changed.
///
/// `f` must leave the value unchanged when it returns an error. The value's charge is taken
/// before and after `f`, so `charge()` must be O(1).
pub(crate) fn modify<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    kind: KeyType,
    create: Option<fn() -> Value>,
    f: impl FnOnce(&mut Value) -> Result<(T, usize), Error>,
) -> Result<Option<T>, Error> {
    let (h, gid) = locate(a, key);
    let store = a.store();
    if create.is_some() {
        a.make_room()?;
    }
    a.write(gid, |s| modify_in(s, store, h, key, kind, create, f))
}

/// [`modify`] on a shard already write-locked (multi-key operations that hold several).
pub(crate) fn modify_in<T>(
    s: &mut Shard,
    store: &Store,
    h: u64,
    key: &[u8],
    kind: KeyType,
    create: Option<fn() -> Value>,
    f: impl FnOnce(&mut Value) -> Result<(T, usize), Error>,
) -> Result<Option<T>, Error> {
    let (version, expired) = (s.version, s.expired);
    let mut changes = 0;
    let r = update_in(s, store, h, key, kind, create, |v| {
        let (t, n) = f(v)?;
        changes = n;
        Ok(t)
    });
    s.count_changes(changes);
    // Undo only the in-place update's bump: a lazily deleted expired key (which counts in
    // `expired`) is a change WATCH must see.
    if changes == 0 && s.version == version + 1 && s.expired == expired {
        s.version = version;
    }
    r
}

fn update_in<T>(
    s: &mut Shard,
    store: &Store,
    h: u64,
    key: &[u8],
    kind: KeyType,
    create: Option<fn() -> Value>,
    f: impl FnOnce(&mut Value) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    match live(s, store, h, key) {
        Some(r) => {
            if s.key_type(&r) != kind {
                return Err(Error::WrongType);
            }
            let mut out = None;
            let mut empty = false;
            s.update_slab(&r, |v| {
                out = Some(f(v));
                empty = v.is_empty_collection();
            });
            // `update_slab` fails only for an inline record, which the type check excluded.
            let t = out.ok_or(Error::WrongType)??;
            if empty {
                s.remove(h, key, false);
            }
            Ok(Some(t))
        }
        None => {
            let Some(create) = create else {
                return Ok(None);
            };
            let mut v = create();
            let t = f(&mut v)?;
            if !v.is_empty_collection() {
                s.put(h, key, Data::Value(v), None)?;
            }
            Ok(Some(t))
        }
    }
}
