//! The list operations over [`Access`], shared by `Cache` and `Transaction`.

use bytes::Bytes;

use super::{List, ListEnd, ListIter, LposOptions};
use crate::Error;
use crate::access::Access;
use crate::ops::{live, locate, modify, modify_in, plan, pos, read_value};
use crate::shard::Data;
use crate::value::{KeyType, Value};

fn new_list() -> Value {
    Value::List(Box::new(List::new()))
}

fn list_mut(v: &mut Value) -> Result<&mut List, Error> {
    match v {
        Value::List(l) => Ok(l),
        _ => Err(Error::WrongType),
    }
}

fn list_ref(v: &Value) -> Result<&List, Error> {
    match v {
        Value::List(l) => Ok(l),
        _ => Err(Error::WrongType),
    }
}

/// Reads the list at `key`: `Ok(None)` if missing.
fn read<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&List) -> T,
) -> Result<Option<T>, Error> {
    read_value(a, key, KeyType::List, |v| list_ref(v).map(f))?.transpose()
}

/// Redis's LRANGE normalization: `(first index, count)`, `None` for an empty range.
pub(crate) fn range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if stop < 0 { len + stop } else { stop };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, (e - s + 1) as usize))
}

pub(crate) fn push<A: Access + ?Sized, V: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    elems: &[V],
    end: ListEnd,
    create: bool,
) -> Result<usize, Error> {
    let create: Option<fn() -> Value> = if create { Some(new_list) } else { None };
    let n = modify(a, key, KeyType::List, create, |v| {
        let l = list_mut(v)?;
        for e in elems {
            l.push(end, e.as_ref());
        }
        Ok((l.len(), elems.len()))
    })?;
    Ok(n.unwrap_or(0))
}

pub(crate) fn pop<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    end: ListEnd,
    count: usize,
) -> Result<Option<Vec<Bytes>>, Error> {
    modify(a, key, KeyType::List, None, pop_fn(end, count))
}

/// The element popped for a client blocked in BLPOP / BRPOP: as `pop` of one element, but
/// not counted as a change, as Redis 7.0 does not count it in `server.dirty`.
pub(crate) fn pop_uncounted<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    end: ListEnd,
) -> Result<Option<Bytes>, Error> {
    let (h, gid) = locate(a, key);
    let store = a.store();
    a.write(gid, |s| {
        let dirty = s.dirty;
        let r = modify_in(s, store, h, key, KeyType::List, None, pop_fn(end, 1));
        s.dirty = dirty;
        Ok(r?.and_then(|mut v| v.pop()))
    })
}

fn pop_fn(
    end: ListEnd,
    count: usize,
) -> impl FnOnce(&mut Value) -> Result<(Vec<Bytes>, usize), Error> {
    move |v| {
        let l = list_mut(v)?;
        let n = count.min(l.len());
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(e) = l.pop(end) {
                out.push(e);
            }
        }
        let n = out.len();
        Ok((out, n))
    }
}

pub(crate) fn pop_with<A: Access + ?Sized, R>(
    a: &A,
    key: &[u8],
    end: ListEnd,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<Option<R>, Error> {
    Ok(modify(a, key, KeyType::List, None, |v| {
        let r = list_mut(v)?.pop_with(end, f);
        let n = usize::from(r.is_some());
        Ok((r, n))
    })?
    .flatten())
}

pub(crate) fn llen<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<usize, Error> {
    Ok(read(a, key, List::len)?.unwrap_or(0))
}

pub(crate) fn lrange_with<A: Access + ?Sized, R>(
    a: &A,
    key: &[u8],
    start: i64,
    stop: i64,
    f: impl FnOnce(ListIter<'_>) -> R,
) -> Result<Option<R>, Error> {
    read(a, key, |l| match range(l.len(), start, stop) {
        Some((s, n)) => f(l.iter_from(s).take_n(n)),
        None => f(l.iter_from(l.len())),
    })
}

fn abs_index(len: usize, index: i64) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    if i < 0 || i >= len as i64 {
        None
    } else {
        Some(i as usize)
    }
}

pub(crate) fn lindex<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    index: i64,
) -> Result<Option<Bytes>, Error> {
    Ok(read(a, key, |l| {
        abs_index(l.len(), index)
            .and_then(|i| l.get(i))
            .map(Bytes::copy_from_slice)
    })?
    .flatten())
}

pub(crate) fn lset<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    index: i64,
    elem: &[u8],
) -> Result<(), Error> {
    modify(a, key, KeyType::List, None, |v| {
        let l = list_mut(v)?;
        match abs_index(l.len(), index) {
            Some(i) if l.set(i, elem) => Ok(((), 1)),
            _ => Err(Error::IndexOutOfRange),
        }
    })?
    .ok_or(Error::NoSuchKey)
}

pub(crate) fn linsert<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    after: bool,
    pivot: &[u8],
    elem: &[u8],
) -> Result<i64, Error> {
    let r = modify(a, key, KeyType::List, None, |v| {
        let l = list_mut(v)?;
        Ok(if l.insert_by_pivot(pivot, elem, after) {
            (l.len() as i64, 1)
        } else {
            (-1, 0)
        })
    })?;
    Ok(r.unwrap_or(0))
}

pub(crate) fn lrem<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    count: i64,
    elem: &[u8],
) -> Result<usize, Error> {
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let r = modify(a, key, KeyType::List, None, |v| {
        let n = list_mut(v)?.remove_matching(elem, limit, count < 0);
        Ok((n, n))
    })?;
    Ok(r.unwrap_or(0))
}

pub(crate) fn ltrim<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    start: i64,
    stop: i64,
) -> Result<(), Error> {
    modify(a, key, KeyType::List, None, |v| {
        let l = list_mut(v)?;
        let len = l.len();
        match range(len, start, stop) {
            Some((s, n)) => l.trim(s, len - s - n),
            None => l.trim(len, 0),
        }
        // Redis counts the elements removed.
        Ok(((), len - l.len()))
    })?;
    Ok(())
}

pub(crate) fn lpos<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    elem: &[u8],
    opts: &LposOptions,
) -> Result<Vec<usize>, Error> {
    if opts.rank == 0 {
        return Ok(Vec::new());
    }
    // Redis compares `matches >= rank` after negating the rank: i64::MIN stays negative
    // there, so every match qualifies, as with -1.
    let skip = if opts.rank == i64::MIN {
        0
    } else {
        usize::try_from(opts.rank.unsigned_abs() - 1).unwrap_or(usize::MAX)
    };
    let want = match opts.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n,
    };
    let maxlen = if opts.maxlen == 0 {
        usize::MAX
    } else {
        opts.maxlen
    };
    let r = read(a, key, |l| {
        let mut out = Vec::new();
        let mut matches = 0usize;
        let mut seen = 0usize;
        let mut visit = |i: usize, e: &[u8]| -> bool {
            if seen >= maxlen {
                return false;
            }
            seen += 1;
            if e == elem {
                matches += 1;
                if matches > skip {
                    out.push(i);
                    if out.len() >= want {
                        return false;
                    }
                }
            }
            true
        };
        if opts.rank > 0 {
            for (i, e) in l.iter_from(0).enumerate() {
                if !visit(i, e) {
                    break;
                }
            }
        } else {
            l.for_each_rev(visit);
        }
        out
    })?;
    Ok(r.unwrap_or_default())
}

pub(crate) fn lmove<A: Access + ?Sized>(
    a: &A,
    src: &[u8],
    dst: &[u8],
    from: ListEnd,
    to: ListEnd,
) -> Result<Option<Bytes>, Error> {
    lmove_counted(a, src, dst, from, to, true)
}

/// LMOVE; `counted: false` for a client blocked in BLMOVE / BRPOPLPUSH and served by a
/// later push, which Redis 7.0 does not count in `server.dirty`.
pub(crate) fn lmove_counted<A: Access + ?Sized>(
    a: &A,
    src: &[u8],
    dst: &[u8],
    from: ListEnd,
    to: ListEnd,
    counted: bool,
) -> Result<Option<Bytes>, Error> {
    if src == dst {
        let (h, gid) = locate(a, src);
        let store = a.store();
        return a.write(gid, |s| {
            let dirty = s.dirty;
            let r = modify_in(s, store, h, src, KeyType::List, None, |v| {
                let l = list_mut(v)?;
                let e = l.pop(from);
                if let Some(e) = &e {
                    l.push(to, e);
                }
                let n = usize::from(e.is_some());
                Ok((e, n))
            });
            if !counted {
                s.dirty = dirty;
            }
            Ok(r?.flatten())
        });
    }
    let store = a.store();
    let (hs, gs) = locate(a, src);
    let (hd, gd) = locate(a, dst);
    let (gids, _) = plan(a, &[src, dst]);
    a.write_many(&gids, |shards| {
        let ss = &mut *shards[pos(&gids, gs)];
        let Some(r) = live(ss, store, hs, src) else {
            return Ok(None);
        };
        if ss.key_type(&r) != KeyType::List {
            return Err(Error::WrongType);
        }
        let sd = &mut *shards[pos(&gids, gd)];
        if let Some(r) = live(sd, store, hd, dst)
            && sd.key_type(&r) != KeyType::List
        {
            return Err(Error::WrongType);
        }
        let ss = &mut *shards[pos(&gids, gs)];
        // Redis counts a move once: with the pop, not the push.
        let dirty = ss.dirty;
        let e = modify_in(ss, store, hs, src, KeyType::List, None, |v| {
            let e = list_mut(v)?.pop(from);
            let n = usize::from(e.is_some());
            Ok((e, n))
        })?
        .flatten();
        if !counted {
            ss.dirty = dirty;
        }
        let Some(e) = e else { return Ok(None) };
        let sd = &mut *shards[pos(&gids, gd)];
        let version = sd.version;
        modify_in(sd, store, hd, dst, KeyType::List, Some(new_list), |v| {
            list_mut(v)?.push(to, &e);
            Ok(((), 0))
        })?;
        // Counted as no change, the push had its version bump undone: WATCH must see it.
        sd.version = sd.version.max(version + 1);
        Ok(Some(e))
    })
}

/// SORT ... STORE: `dst` becomes a list of `elems` (without a TTL), whatever it held, or is
/// deleted when `elems` is empty. Whether `dst` existed before.
pub(crate) fn store<A: Access + ?Sized, V: AsRef<[u8]>>(
    a: &A,
    dst: &[u8],
    elems: &[V],
) -> Result<bool, Error> {
    let (h, gid) = locate(a, dst);
    let store = a.store();
    if !elems.is_empty() {
        a.make_room()?;
    }
    a.write(gid, |s| {
        let existed = live(s, store, h, dst).is_some();
        if elems.is_empty() {
            if existed {
                s.remove(h, dst, false);
                s.count_changes(1);
            }
        } else {
            // Redis counts every element stored.
            s.count_changes(elems.len());
            let mut l = List::new();
            for e in elems {
                l.push(ListEnd::Right, e.as_ref());
            }
            s.put(h, dst, Data::Value(Value::List(Box::new(l))), None)?;
        }
        Ok(existed)
    })
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(range(3, 0, -1), Some((0, 3)));
        assert_eq!(range(3, -100, 100), Some((0, 3)));
        assert_eq!(range(3, 2, 1), None);
        assert_eq!(range(3, 3, 5), None);
        assert_eq!(range(3, -1, -1), Some((2, 1)));
        assert_eq!(range(3, i64::MIN, i64::MAX), Some((0, 3)));
        assert_eq!(range(0, 0, -1), None);
    }
}
