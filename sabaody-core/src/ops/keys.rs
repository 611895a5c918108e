//! Generic key operations: DEL, EXISTS, TYPE, RENAME, COPY, KEYS, SCAN, DBSIZE, FLUSH, RANDOMKEY.

use super::{live, live_ro_notouch, locate, plan, pos, read_key_notouch};
use crate::Error;
use crate::access::Access;
use crate::evict::{RemovalCause, notify};
use crate::glob::glob_match;
use crate::keyspace::{CopyOptions, ScanOptions};
use crate::value::KeyType;
use bytes::Bytes;

/// DEL (`lazy == false`) and UNLINK (`lazy == true`: out-of-line values are dropped after
/// the shard locks are released, so freeing a huge value does not stall the shard).
pub(crate) fn del<A: Access + ?Sized, K: AsRef<[u8]>>(a: &A, keys: &[K], lazy: bool) -> usize {
    let store = a.store();
    let mut freed: Vec<crate::value::Value> = Vec::new();
    let n = if let [k] = keys {
        let key = k.as_ref();
        let (h, gid) = locate(a, key);
        a.write(gid, |s| {
            if live(s, store, h, key).is_none() {
                return 0;
            }
            notify(store, s.db, key, RemovalCause::Removed);
            let n = if lazy {
                match s.remove_lazy(h, key) {
                    Some(v) => {
                        freed.extend(v);
                        1
                    }
                    None => 0,
                }
            } else {
                usize::from(s.remove(h, key, false).is_some())
            };
            s.count_changes(n);
            n
        })
    } else {
        let (gids, located) = plan(a, keys);
        a.write_many(&gids, |shards| {
            let mut n = 0;
            for (k, &(h, gid)) in keys.iter().zip(&located) {
                let s = &mut *shards[pos(&gids, gid)];
                if live(s, store, h, k.as_ref()).is_none() {
                    continue;
                }
                notify(store, s.db, k.as_ref(), RemovalCause::Removed);
                if lazy {
                    if let Some(v) = s.remove_lazy(h, k.as_ref()) {
                        freed.extend(v);
                        s.count_changes(1);
                        n += 1;
                    }
                } else if s.remove(h, k.as_ref(), false).is_some() {
                    s.count_changes(1);
                    n += 1;
                }
            }
            n
        })
    };
    drop(freed);
    n
}

pub(crate) fn exists<A: Access + ?Sized, K: AsRef<[u8]>>(a: &A, keys: &[K]) -> usize {
    let store = a.store();
    if let [k] = keys {
        return usize::from(read_key_notouch(a, k.as_ref(), |_, _| ()).is_some());
    }
    let (gids, located) = plan(a, keys);
    let found: Vec<bool> = a.read_many(&gids, |shards| {
        keys.iter()
            .zip(&located)
            .map(|(k, (h, gid))| {
                live_ro_notouch(shards[pos(&gids, *gid)], store, *h, k.as_ref()).is_some()
            })
            .collect()
    });
    // Each key is a lookup, as Redis counts them.
    super::count_sources(a, keys, &found);
    found.iter().filter(|&&f| f).count()
}

/// Whether `key` holds a live value, and then whether it has a TTL: no access recorded, no hit or miss counted, nothing
/// removed (an expired key not yet removed is absent).
pub(crate) fn present<A: Access + ?Sized>(a: &A, key: &[u8]) -> Option<bool> {
    let (h, gid) = locate(a, key);
    let store = a.store();
    a.read(gid, |s| {
        live_ro_notouch(s, store, h, key).map(|r| r.has_ttl)
    })
}

pub(crate) fn key_type<A: Access + ?Sized>(a: &A, key: &[u8]) -> Option<KeyType> {
    read_key_notouch(a, key, |s, r| s.key_type(r))
}

/// RENAME (`nx == false`) and RENAMENX (`nx == true`).
pub(crate) fn rename<A: Access + ?Sized>(
    a: &A,
    src: &[u8],
    dst: &[u8],
    nx: bool,
) -> Result<bool, Error> {
    let store = a.store();
    let (gids, located) = plan(a, &[src, dst]);
    let ((hs, gs), (hd, gd)) = (located[0], located[1]);
    a.write_many(&gids, |shards| {
        let s = &mut *shards[pos(&gids, gs)];
        let Some(r) = live(s, store, hs, src) else {
            return Err(Error::NoSuchKey);
        };
        if src == dst {
            return Ok(!nx);
        }
        let ttl = s.expire_at(&r);
        {
            let d = &mut *shards[pos(&gids, gd)];
            if nx && live(d, store, hd, dst).is_some() {
                return Ok(false);
            }
        }
        let s = &mut *shards[pos(&gids, gs)];
        let Some(Some(owned)) = s.remove(hs, src, true) else {
            return Err(Error::NoSuchKey);
        };
        let d = &mut *shards[pos(&gids, gd)];
        let mut buf = Vec::new();
        d.put(hd, dst, owned.into_data(&mut buf), ttl)?;
        d.count_changes(1);
        Ok(true)
    })
}

pub(crate) fn copy<A: Access + ?Sized>(
    a: &A,
    src: &[u8],
    dst: &[u8],
    opts: &CopyOptions,
) -> Result<bool, Error> {
    a.make_room()?;
    let store = a.store();
    let db = a.db_index_raw();
    let target = opts.db.unwrap_or(db);
    if target >= store.databases {
        return Err(Error::DbIndexOutOfRange);
    }
    if target == db && src == dst {
        return Err(Error::SameObject);
    }
    let hs = store.hash(src);
    let hd = store.hash(dst);
    let (gs, gd) = (store.gid(db, hs), store.gid(target, hd));
    let mut gids = vec![gs, gd];
    gids.sort_unstable();
    gids.dedup();
    let mut found = false;
    let r = a.write_many(&gids, |shards| {
        let s = &mut *shards[pos(&gids, gs)];
        // The source is a read lookup, as in Redis (a keyspace hit or miss).
        let rec = live(s, store, hs, src);
        found = rec.is_some();
        let Some(r) = rec else {
            return Ok(false);
        };
        let owned = s.owned(&r);
        let ttl = s.expire_at(&r);
        let d = &mut *shards[pos(&gids, gd)];
        if live(d, store, hd, dst).is_some() && !opts.replace {
            return Ok(false);
        }
        d.put(hd, dst, owned.as_data(), ttl)?;
        d.count_changes(1);
        Ok(true)
    });
    super::count_sources(a, &[src], &[found]);
    r
}

pub(crate) fn keys<A: Access + ?Sized>(a: &A, pattern: &[u8]) -> Vec<Bytes> {
    let store = a.store();
    let all = pattern == b"*";
    let mut out = Vec::new();
    let now = store.now();
    for gid in store.db_range(a.db_index_raw()) {
        a.read(gid, |s| {
            for b in 0..s.num_buckets() {
                if let Some(r) = s.bucket(b) {
                    let k = s.key(&r);
                    if !s.is_expired(&r, now) && (all || glob_match(pattern, k)) {
                        out.push(Bytes::copy_from_slice(k));
                    }
                }
            }
        });
    }
    out
}

// Cursor layout: bits 0..12 shard within the db, 12..44 bucket, 44..64 the shard's rehash epoch
// when the cursor was made (only meaningful when bucket > 0).
const SHARD_BITS: u32 = 12;
const BUCKET_BITS: u32 = 32;
pub(crate) const MAX_SHARDS_PER_DB: usize = 1 << SHARD_BITS;
const EPOCH_MASK: u32 = (1 << (64 - SHARD_BITS - BUCKET_BITS)) - 1;

fn cursor(shard: usize, bucket: usize, epoch: u32) -> u64 {
    shard as u64
        | (bucket as u64) << SHARD_BITS
        | u64::from(epoch & EPOCH_MASK) << (SHARD_BITS + BUCKET_BITS)
}

pub(crate) fn scan<A: Access + ?Sized>(a: &A, cur: u64, opts: &ScanOptions) -> (u64, Vec<Bytes>) {
    let store = a.store();
    let n = store.shards_per_db;
    let base = a.db_index_raw() * n;
    let mut shard = (cur & ((1 << SHARD_BITS) - 1)) as usize;
    let mut bucket = ((cur >> SHARD_BITS) & ((1 << BUCKET_BITS) - 1)) as usize;
    let epoch = (cur >> (SHARD_BITS + BUCKET_BITS)) as u32;
    let count = opts.count.max(1);
    let now = store.now();
    let mut out = Vec::new();
    let mut visited = 0usize;
    while shard < n {
        let (next, shard_epoch, end) = a.read(base + shard, |s| {
            let nb = s.num_buckets();
            let mut b = if bucket > 0 && s.epoch & EPOCH_MASK == epoch & EPOCH_MASK {
                bucket
            } else {
                0
            };
            while b < nb && visited < count {
                if let Some(r) = s.bucket(b) {
                    visited += 1;
                    let k = s.key(&r);
                    let keep = !s.is_expired(&r, now)
                        && opts.pattern.as_ref().is_none_or(|p| glob_match(p, k))
                        && opts.key_type.is_none_or(|t| s.key_type(&r) == t);
                    if keep {
                        out.push(Bytes::copy_from_slice(k));
                    }
                }
                b += 1;
            }
            (b, s.epoch, b >= nb)
        });
        if !end {
            return (cursor(shard, next, shard_epoch), out);
        }
        shard += 1;
        bucket = 0;
        if visited >= count {
            break;
        }
    }
    if shard >= n {
        (0, out)
    } else {
        (cursor(shard, 0, 0), out)
    }
}

pub(crate) fn dbsize<A: Access + ?Sized>(a: &A) -> usize {
    let store = a.store();
    store
        .db_range(a.db_index_raw())
        .map(|g| a.read(g, |s| s.len()))
        .sum()
}

pub(crate) fn flush<A: Access + ?Sized>(a: &A, all: bool) -> usize {
    let store = a.store();
    let range = if all {
        0..store.slots.len()
    } else {
        store.db_range(a.db_index_raw())
    };
    // Redis counts one change per key removed.
    range
        .map(|g| {
            a.write(g, |s| {
                let n = s.clear();
                s.count_changes(n);
                n
            })
        })
        .sum()
}

pub(crate) fn random_key<A: Access + ?Sized>(a: &A) -> Option<Bytes> {
    let store = a.store();
    let n = store.shards_per_db;
    let base = a.db_index_raw() * n;
    let start = fastrand::usize(..n);
    let now = store.now();
    for i in 0..n {
        let gid = base + (start + i) % n;
        let found = a.read(gid, |s| {
            let nb = s.num_buckets();
            if s.len() == 0 {
                return None;
            }
            let b0 = fastrand::usize(..nb);
            (0..nb).find_map(|j| {
                let r = s.bucket((b0 + j) % nb)?;
                (!s.is_expired(&r, now)).then(|| Bytes::copy_from_slice(s.key(&r)))
            })
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

pub(crate) fn key_version<A: Access + ?Sized>(a: &A, key: &[u8]) -> u64 {
    let (_, gid) = locate(a, key);
    a.read(gid, |s| s.version)
}

/// MOVE key db.
pub(crate) fn move_key<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    target: usize,
) -> Result<bool, Error> {
    let store = a.store();
    let db = a.db_index_raw();
    if target >= store.databases {
        return Err(Error::DbIndexOutOfRange);
    }
    if target == db {
        return Err(Error::SameObject);
    }
    let h = store.hash(key);
    let (gs, gd) = (store.gid(db, h), store.gid(target, h));
    let mut gids = vec![gs, gd];
    gids.sort_unstable();
    a.write_many(&gids, |shards| {
        let s = &mut *shards[pos(&gids, gs)];
        let Some(r) = live(s, store, h, key) else {
            return Ok(false);
        };
        let ttl = s.expire_at(&r);
        if live(shards[pos(&gids, gd)], store, h, key).is_some() {
            return Ok(false);
        }
        let s = &mut *shards[pos(&gids, gs)];
        let Some(Some(owned)) = s.remove(h, key, true) else {
            return Ok(false);
        };
        let mut buf = Vec::new();
        let d = &mut *shards[pos(&gids, gd)];
        d.put(h, key, owned.into_data(&mut buf), ttl)?;
        d.count_changes(1);
        Ok(true)
    })
}

/// SWAPDB a b: swaps the shards of two databases under all their locks.
pub(crate) fn swap_db<A: Access + ?Sized>(a: &A, x: usize, y: usize) -> Result<(), Error> {
    let store = a.store();
    if x >= store.databases || y >= store.databases {
        return Err(Error::DbIndexOutOfRange);
    }
    // Redis counts a SWAPDB as one change, a swap of a database with itself too.
    if x == y {
        let gid = store.db_range(x).start;
        a.write(gid, |s| s.count_changes(1));
        return Ok(());
    }
    let (lo, hi) = (x.min(y), x.max(y));
    let gids: Vec<usize> = store.db_range(lo).chain(store.db_range(hi)).collect();
    a.write_many(&gids, |shards| {
        let (first, second) = shards.split_at_mut(store.shards_per_db);
        for (p, q) in first.iter_mut().zip(second.iter_mut()) {
            std::mem::swap(&mut **p, &mut **q);
            // WATCH: every key of both databases counts as touched.
            let v = p.version.max(q.version) + 1;
            p.version = v;
            q.version = v;
        }
        if let Some(s) = first.first_mut() {
            s.count_changes(1);
        }
    });
    Ok(())
}

/// OBJECT ENCODING: Redis's name for how the value is stored.
pub(crate) fn object_encoding<A: Access + ?Sized>(a: &A, key: &[u8]) -> Option<&'static str> {
    super::read_key_nonotify(a, key, |s, r| match s.view(r) {
        crate::shard::View::Int(_) => "int",
        // Redis keeps short strings in one allocation with the object ("embstr").
        crate::shard::View::Inline(b) if b.len() <= 44 => "embstr",
        crate::shard::View::Inline(_) => "raw",
        crate::shard::View::Value(v) => v.encoding(),
    })
}

/// MEMORY USAGE: the bytes charged for the key.
pub(crate) fn memory_usage<A: Access + ?Sized>(a: &A, key: &[u8]) -> Option<usize> {
    super::read_key_silent(a, key, |s, r| s.rec_charge(r))
}

/// OBJECT FREQ: the decayed LFU counter, without recording an access.
pub(crate) fn object_freq<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<Option<u8>, Error> {
    let t = &a.store().tracking;
    if !t.policy().is_lfu() {
        return Err(Error::LfuNotSelected);
    }
    Ok(super::read_key_nonotify(a, key, |_, r| {
        t.lfu_decayed(r.stamp)
    }))
}

/// OBJECT IDLETIME: seconds since the last access, without recording one.
pub(crate) fn object_idletime<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<Option<u64>, Error> {
    let t = &a.store().tracking;
    if t.policy().is_lfu() {
        return Err(Error::LfuSelected);
    }
    Ok(super::read_key_nonotify(a, key, |_, r| {
        t.idle_ms(r.stamp) / 1000
    }))
}

/// TOUCH: records an access to each existing key; counts them.
pub(crate) fn touch<A: Access + ?Sized, K: AsRef<[u8]>>(a: &A, keys: &[K]) -> usize {
    keys.iter()
        .filter(|k| super::read_key(a, k.as_ref(), |_, _| ()).is_some())
        .count()
}
