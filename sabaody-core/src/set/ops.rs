//! The set operations over [`Access`] (one implementation for `Cache` and `Transaction`).

use super::types::Set;
use crate::Error;
use crate::access::Access;
use crate::ops::{count_sources, live, live_ro, modify, modify_in, plan, pos, read_value};
use crate::shard::{Data, Shard, View};
use crate::store::Store;
use crate::value::{KeyType, Value};
use bytes::Bytes;

fn create() -> Value {
    Value::Set(Box::default())
}

/// The set inside a value already checked to be a set.
fn as_set(v: &mut Value) -> Result<&mut Set, Error> {
    match v {
        Value::Set(s) => Ok(s),
        _ => Err(Error::WrongType),
    }
}

fn as_set_ref(v: &Value) -> Option<&Set> {
    match v {
        Value::Set(s) => Some(s),
        _ => None,
    }
}

/// The set at `key` in a locked shard: `Ok(None)` if missing or expired.
pub(crate) fn set_in<'s>(
    s: &'s Shard,
    store: &Store,
    h: u64,
    key: &[u8],
) -> Result<Option<&'s Set>, Error> {
    match live_ro(s, store, h, key) {
        None => Ok(None),
        Some(r) => match s.view(&r) {
            View::Value(Value::Set(x)) => Ok(Some(x)),
            _ => Err(Error::WrongType),
        },
    }
}

pub(crate) fn sadd<A: Access + ?Sized, M: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    members: &[M],
) -> Result<usize, Error> {
    let n = modify(a, key, KeyType::Set, Some(create), |v| {
        let s = as_set(v)?;
        let n = members.iter().filter(|m| s.insert(m.as_ref())).count();
        Ok((n, n))
    })?;
    Ok(n.unwrap_or(0))
}

pub(crate) fn srem<A: Access + ?Sized, M: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    members: &[M],
) -> Result<usize, Error> {
    let n = modify(a, key, KeyType::Set, None, |v| {
        let s = as_set(v)?;
        let n = members.iter().filter(|m| s.remove(m.as_ref())).count();
        Ok((n, n))
    })?;
    Ok(n.unwrap_or(0))
}

pub(crate) fn with_set<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&Set) -> T,
) -> Result<Option<T>, Error> {
    read_value(a, key, KeyType::Set, |v| as_set_ref(v).map(f)).map(|o| o.flatten())
}

pub(crate) fn spop<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<Option<Bytes>, Error> {
    Ok(modify(a, key, KeyType::Set, None, |v| {
        let m = as_set(v)?.pop();
        let n = usize::from(m.is_some());
        Ok((m, n))
    })?
    .flatten())
}

pub(crate) fn spop_count<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    count: usize,
) -> Result<Vec<Bytes>, Error> {
    if count == 0 {
        // Redis still checks the type (a write lookup: no keyspace hit or miss).
        return match crate::ops::read_key_silent(a, key, |s, r| s.key_type(r)) {
            Some(t) if t != KeyType::Set => Err(Error::WrongType),
            _ => Ok(Vec::new()),
        };
    }
    let store = a.store();
    let out = modify(a, key, KeyType::Set, None, |v| {
        let s = as_set(v)?;
        if count >= s.len() {
            // Redis answers this case with SUNION's reply, whose lookup is a read (a hit).
            crate::ops::count_lookup(store, true);
            let all = s.members();
            *s = Set::new();
            let n = all.len();
            return Ok((all, n));
        }
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            match s.pop() {
                Some(m) => out.push(m),
                None => break,
            }
        }
        let n = out.len();
        Ok((out, n))
    })?;
    Ok(out.unwrap_or_default())
}

/// `SRANDMEMBER key count`: `count >= 0` gives up to `count` distinct members, a negative
/// count gives exactly `-count` members that may repeat.
pub(crate) fn srandmember_count<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    count: i64,
) -> Result<Vec<Bytes>, Error> {
    let out = with_set(a, key, |s| {
        let len = s.len();
        if count < 0 {
            let n = count.unsigned_abs() as usize;
            let mut out = Vec::with_capacity(n.min(1 << 20));
            for _ in 0..n {
                match s.random() {
                    Some(m) => out.push(m),
                    None => break,
                }
            }
            return out;
        }
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        if n >= len {
            return s.members();
        }
        if n.saturating_mul(3) > len {
            // Many of the members: copy all, then drop random ones.
            let mut all = s.members();
            while all.len() > n {
                let i = fastrand::usize(..all.len());
                all.swap_remove(i);
            }
            return all;
        }
        let mut picked = Set::new();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some(m) = s.random() else { break };
            if picked.insert(&m) {
                out.push(m);
            }
        }
        out
    })?;
    Ok(out.unwrap_or_default())
}

/// What [`combine`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algebra {
    Inter,
    Union,
    Diff,
}

/// Intersection, union or difference of `sets` (missing keys are empty sets).
/// `limit` (> 0) stops an intersection once it has that many members (SINTERCARD).
pub(crate) fn combine(sets: &[Option<&Set>], op: Algebra, limit: usize) -> Set {
    let mut out = Set::new();
    match op {
        Algebra::Inter => {
            if sets.iter().any(|s| s.is_none_or(|s| s.is_empty())) {
                return out;
            }
            let mut order: Vec<&Set> = sets.iter().flatten().copied().collect();
            order.sort_by_key(|s| s.len());
            let Some((first, rest)) = order.split_first() else {
                return out;
            };
            first.iter_until(|m| {
                if rest.iter().all(|s| s.contains(m)) {
                    out.insert(m);
                }
                limit > 0 && out.len() >= limit
            });
        }
        Algebra::Union => {
            for s in sets.iter().flatten() {
                s.for_each(|m| {
                    out.insert(m);
                });
            }
        }
        Algebra::Diff => {
            let Some(Some(first)) = sets.first() else {
                return out;
            };
            let rest = sets.get(1..).unwrap_or(&[]);
            first.for_each(|m| {
                if !rest.iter().flatten().any(|s| s.contains(m)) {
                    out.insert(m);
                }
            });
        }
    }
    out
}

/// SINTER / SUNION / SDIFF / SINTERCARD: reads every key under its shard's read lock.
pub(crate) fn algebra<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    keys: &[K],
    op: Algebra,
    limit: usize,
) -> Result<Set, Error> {
    let store = a.store();
    let (gids, located) = plan(a, keys);
    let mut found = Vec::with_capacity(keys.len());
    let r = a.read_many(&gids, |shards| {
        let mut sets = Vec::with_capacity(keys.len());
        for (k, &(h, gid)) in keys.iter().zip(&located) {
            let set = set_in(shards[pos(&gids, gid)], store, h, k.as_ref());
            found.push(!matches!(set, Ok(None)));
            sets.push(set?);
        }
        Ok(combine(&sets, op, limit))
    });
    count_sources(a, keys, &found);
    r
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE: the result replaces `dst` (deleted when empty).
pub(crate) fn algebra_store<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    dst: &[u8],
    keys: &[K],
    op: Algebra,
) -> Result<usize, Error> {
    let store = a.store();
    let mut all: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
    all.push(dst);
    let (gids, located) = plan(a, &all);
    let mut found = Vec::with_capacity(keys.len());
    let r = a.write_many(&gids, |shards| {
        for (k, &(h, gid)) in all.iter().zip(&located) {
            live(shards[pos(&gids, gid)], store, h, k);
        }
        let result = {
            let mut sets = Vec::with_capacity(keys.len());
            for (k, &(h, gid)) in keys.iter().zip(&located) {
                let set = set_in(shards[pos(&gids, gid)], store, h, k.as_ref());
                found.push(!matches!(set, Ok(None)));
                sets.push(set?);
            }
            combine(&sets, op, 0)
        };
        let Some(&(hd, gd)) = located.last() else {
            return Ok(0);
        };
        let d = &mut *shards[pos(&gids, gd)];
        let n = result.len();
        // Redis counts one change: the stored result, or the deletion of `dst`.
        if n == 0 {
            let existed = d.remove(hd, dst, false).is_some();
            d.count_changes(usize::from(existed));
        } else {
            d.put(hd, dst, Data::Value(Value::Set(Box::new(result))), None)?;
            d.count_changes(1);
        }
        Ok(n)
    });
    count_sources(a, keys, &found);
    r
}

/// SMOVE src dst member.
pub(crate) fn smove<A: Access + ?Sized>(
    a: &A,
    src: &[u8],
    dst: &[u8],
    member: &[u8],
) -> Result<bool, Error> {
    let store = a.store();
    let (gids, located) = plan(a, &[src, dst]);
    let ((hs, gs), (hd, gd)) = (located[0], located[1]);
    a.write_many(&gids, |shards| {
        live(shards[pos(&gids, gs)], store, hs, src);
        live(shards[pos(&gids, gd)], store, hd, dst);
        let Some(sset) = set_in(shards[pos(&gids, gs)], store, hs, src)? else {
            return Ok(false);
        };
        let present = sset.contains(member);
        set_in(shards[pos(&gids, gd)], store, hd, dst)?;
        if src == dst {
            return Ok(present);
        }
        if !present {
            return Ok(false);
        }
        modify_in(
            shards[pos(&gids, gs)],
            store,
            hs,
            src,
            KeyType::Set,
            None,
            // Redis counts the removal, plus one if the member was new in `dst`.
            |v| Ok(((), usize::from(as_set(v)?.remove(member)))),
        )?;
        modify_in(
            shards[pos(&gids, gd)],
            store,
            hd,
            dst,
            KeyType::Set,
            Some(create),
            |v| Ok(((), usize::from(as_set(v)?.insert(member)))),
        )?;
        Ok(true)
    })
}

pub(crate) fn sscan<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
) -> Result<(u64, Vec<Bytes>), Error> {
    let out = with_set(a, key, |s| {
        let mut found = Vec::new();
        let next = s.scan(cursor, count, |m| {
            if pattern.is_none_or(|p| crate::glob::glob_match(p, m)) {
                found.push(Bytes::copy_from_slice(m));
            }
        });
        (next, found)
    })?;
    Ok(out.unwrap_or((0, Vec::new())))
}
