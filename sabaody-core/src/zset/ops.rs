//! The sorted-set operations over [`Access`] (one implementation for `Cache` and
//! `Transaction`).

use super::types::{AddFlags, Added, ZSet};
use super::{Aggregate, LexBound, RangeBy, ScoreBound, ZAddOptions, ZRangeSpec};
use crate::Error;
use crate::access::Access;
use crate::ops::{count_sources, live, live_ro, locate, modify, modify_in, plan, pos, read_value};
use crate::set::Set;
use crate::shard::{Data, Shard, View};
use crate::store::Store;
use crate::value::{KeyType, Value};
use bytes::Bytes;

/// A member and its score, as the range and pop commands return them.
pub type Scored = (Bytes, f64);

fn create() -> Value {
    Value::ZSet(Box::default())
}

fn as_zset(v: &mut Value) -> Result<&mut ZSet, Error> {
    match v {
        Value::ZSet(z) => Ok(z),
        _ => Err(Error::WrongType),
    }
}

pub(crate) fn with_zset<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&ZSet) -> T,
) -> Result<Option<T>, Error> {
    read_value(a, key, KeyType::ZSet, |v| match v {
        Value::ZSet(z) => Some(f(z)),
        _ => None,
    })
    .map(Option::flatten)
}

fn check_flags(o: &ZAddOptions) -> Result<AddFlags, Error> {
    if o.nx && o.xx {
        return Err(Error::ZAddNxXx);
    }
    if (o.nx && (o.gt || o.lt)) || (o.gt && o.lt) {
        return Err(Error::ZAddGtLtNx);
    }
    Ok(AddFlags {
        nx: o.nx,
        xx: o.xx,
        gt: o.gt,
        lt: o.lt,
        incr: false,
    })
}

/// ZADD without INCR: added (or added + updated with CH).
pub(crate) fn zadd<A: Access + ?Sized, M: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    opts: &ZAddOptions,
    pairs: &[(f64, M)],
) -> Result<usize, Error> {
    let (added, updated) = zadd_counts(a, key, opts, pairs)?;
    Ok(if opts.ch { added + updated } else { added })
}

/// ZADD without INCR: how many members were added and how many had their score changed.
pub(crate) fn zadd_counts<A: Access + ?Sized, M: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    opts: &ZAddOptions,
    pairs: &[(f64, M)],
) -> Result<(usize, usize), Error> {
    let flags = check_flags(opts)?;
    if pairs.iter().any(|p| p.0.is_nan()) {
        return Err(Error::NotFloat);
    }
    // Redis 7.0 picks the new key's encoding from the first member's length only.
    let first_len = pairs.first().map_or(0, |p| p.1.as_ref().len());
    if !opts.xx {
        a.make_room()?;
    }
    let (h, gid) = locate(a, key);
    let store = a.store();
    a.write(gid, |s| {
        // Redis counts every member added or updated, with or without CH.
        let run = |v: &mut Value| -> Result<((usize, usize), usize), Error> {
            let z = as_zset(v)?;
            let (mut added, mut updated) = (0, 0);
            for (score, m) in pairs {
                match z.add(*score, m.as_ref(), flags)? {
                    Added::New(_) => added += 1,
                    Added::Updated(_) => updated += 1,
                    Added::Same(_) | Added::Nop => {}
                }
            }
            Ok(((added, updated), added + updated))
        };
        // One lookup: an existing key is updated in place (a lazily expired one is deleted
        // first); only a missing key gets a new value, its encoding chosen from the hint.
        if let Some(n) = modify_in(s, store, h, key, KeyType::ZSet, None, run)? {
            return Ok(n);
        }
        if opts.xx {
            return Ok((0, 0));
        }
        let mut v = Value::ZSet(Box::new(ZSet::with_hint(1, first_len)));
        let (n, changes) = run(&mut v)?;
        if !v.is_empty_collection() {
            s.put(h, key, Data::Value(v), None)?;
            s.count_changes(changes);
        }
        Ok(n)
    })
}

/// ZADD ... INCR (and ZINCRBY): the new score, `None` when the flags refused the change.
pub(crate) fn zadd_incr<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    opts: &ZAddOptions,
    incr: f64,
    member: &[u8],
) -> Result<Option<f64>, Error> {
    let mut flags = check_flags(opts)?;
    flags.incr = true;
    if incr.is_nan() {
        return Err(Error::NotFloat);
    }
    let create_fn: Option<fn() -> Value> = if opts.xx { None } else { Some(create) };
    let out = modify(a, key, KeyType::ZSet, create_fn, |v| {
        Ok(match as_zset(v)?.add(incr, member, flags)? {
            Added::New(s) | Added::Updated(s) => (Some(s), 1),
            Added::Same(s) => (Some(s), 0),
            Added::Nop => (None, 0),
        })
    })?;
    Ok(out.flatten())
}

pub(crate) fn zrem<A: Access + ?Sized, M: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    members: &[M],
) -> Result<usize, Error> {
    let n = modify(a, key, KeyType::ZSet, None, |v| {
        let z = as_zset(v)?;
        let n = members
            .iter()
            .filter(|m| z.remove(m.as_ref()).is_some())
            .count();
        Ok((n, n))
    })?;
    Ok(n.unwrap_or(0))
}

fn above_min(b: &ScoreBound, s: f64) -> bool {
    match *b {
        ScoreBound::Inclusive(v) => s >= v,
        ScoreBound::Exclusive(v) => s > v,
    }
}

fn below_max(b: &ScoreBound, s: f64) -> bool {
    match *b {
        ScoreBound::Inclusive(v) => s <= v,
        ScoreBound::Exclusive(v) => s < v,
    }
}

fn lex_above_min(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Inclusive(v) => m >= &v[..],
        LexBound::Exclusive(v) => m > &v[..],
    }
}

fn lex_below_max(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Inclusive(v) => m <= &v[..],
        LexBound::Exclusive(v) => m < &v[..],
    }
}

/// Ascending ranks `[lo, hi)` of the members in range (score or lex; rank handled apart).
fn bounds(z: &ZSet, by: &RangeBy) -> (usize, usize) {
    match by {
        RangeBy::Score(min, max) => {
            let lo = z.count_while_score(|s| !above_min(min, s));
            let hi = z.count_while_score(|s| below_max(max, s));
            (lo, hi.max(lo))
        }
        RangeBy::Lex(min, max) => {
            let lo = z.count_while(|_, m| !lex_above_min(min, m));
            let hi = z.count_while(|_, m| lex_below_max(max, m));
            (lo, hi.max(lo))
        }
        RangeBy::Rank(start, stop) => {
            let len = z.len() as i64;
            let (mut s, mut e) = (*start, *stop);
            if s < 0 {
                s += len;
            }
            if e < 0 {
                e += len;
            }
            if s < 0 {
                s = 0;
            }
            if s > e || s >= len {
                return (0, 0);
            }
            if e >= len {
                e = len - 1;
            }
            (s as usize, e as usize + 1)
        }
    }
}

/// The members a [`ZRangeSpec`] selects, in reply order.
pub(crate) fn select(z: &ZSet, spec: &ZRangeSpec) -> Vec<Scored> {
    let len = z.len();
    let (lo, hi) = match (&spec.by, spec.rev) {
        (RangeBy::Rank(..), true) => {
            // REV ranks count from the end.
            let (a, b) = bounds(z, &spec.by);
            (len - b, len - a)
        }
        _ => bounds(z, &spec.by),
    };
    if lo >= hi {
        return Vec::new();
    }
    let (mut skip, mut take) = (0usize, hi - lo);
    if let Some((offset, count)) = spec.limit {
        if offset < 0 {
            return Vec::new();
        }
        skip = usize::try_from(offset).unwrap_or(usize::MAX);
        if count >= 0 {
            take = take.min(usize::try_from(count).unwrap_or(usize::MAX));
        }
    }
    if skip >= hi - lo {
        return Vec::new();
    }
    take = take.min(hi - lo - skip);
    let mut out = Vec::with_capacity(take);
    if take == 0 {
        return out;
    }
    let start = if spec.rev { hi - 1 - skip } else { lo + skip };
    z.walk(start, spec.rev, |m, s| {
        out.push((Bytes::copy_from_slice(m), s));
        out.len() < take
    });
    out
}

/// ZCOUNT / ZLEXCOUNT.
pub(crate) fn count_in<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    by: &RangeBy,
) -> Result<usize, Error> {
    Ok(with_zset(a, key, |z| {
        let (lo, hi) = bounds(z, by);
        hi - lo
    })?
    .unwrap_or(0))
}

pub(crate) fn zrange<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    spec: &ZRangeSpec,
) -> Result<Vec<Scored>, Error> {
    Ok(with_zset(a, key, |z| select(z, spec))?.unwrap_or_default())
}

fn zset_in<'s>(s: &'s Shard, store: &Store, h: u64, key: &[u8]) -> Result<Option<&'s ZSet>, Error> {
    match live_ro(s, store, h, key) {
        None => Ok(None),
        Some(r) => match s.view(&r) {
            View::Value(Value::ZSet(z)) => Ok(Some(z)),
            _ => Err(Error::WrongType),
        },
    }
}

/// A source of ZUNION/ZINTER/ZDIFF: a sorted set or a plain set (scores 1).
enum Src<'s> {
    Z(&'s ZSet),
    S(&'s Set),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
    fn for_each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            Src::Z(z) => z.walk(0, false, f),
            Src::S(s) => {
                s.iter_until(|m| !f(m, 1.0));
            }
        }
    }
}

fn src_in<'s>(s: &'s Shard, store: &Store, h: u64, key: &[u8]) -> Result<Option<Src<'s>>, Error> {
    match live_ro(s, store, h, key) {
        None => Ok(None),
        Some(r) => match s.view(&r) {
            View::Value(Value::ZSet(z)) => Ok(Some(Src::Z(z))),
            View::Value(Value::Set(x)) => Ok(Some(Src::S(x))),
            _ => Err(Error::WrongType),
        },
    }
}

/// Which combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Union,
    Inter,
    Diff,
}

fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() { 0.0 } else { v }
}

fn aggregate(agg: Aggregate, acc: f64, v: f64) -> f64 {
    match agg {
        Aggregate::Sum => {
            let t = acc + v;
            if t.is_nan() { 0.0 } else { t }
        }
        Aggregate::Min => acc.min(v),
        Aggregate::Max => acc.max(v),
    }
}

/// Combines sources (missing keys are empty): the resulting members and scores, unordered.
/// `limit` (> 0) stops an intersection early (ZINTERCARD).
fn combine(
    srcs: &[Option<Src<'_>>],
    weights: Option<&[f64]>,
    agg: Aggregate,
    op: Op,
    limit: usize,
) -> hashbrown::HashMap<Vec<u8>, f64> {
    let w = |i: usize| weights.and_then(|w| w.get(i)).copied().unwrap_or(1.0);
    let mut out: hashbrown::HashMap<Vec<u8>, f64> = hashbrown::HashMap::new();
    match op {
        Op::Union => {
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs.get(i).and_then(|s| s.as_ref()).map_or(0, Src::len));
            for i in order {
                let Some(Some(src)) = srcs.get(i) else {
                    continue;
                };
                src.for_each(|m, s| {
                    let v = weighted(w(i), s);
                    match out.get_mut(m) {
                        Some(acc) => *acc = aggregate(agg, *acc, v),
                        None => {
                            out.insert(m.to_vec(), v);
                        }
                    }
                    true
                });
            }
        }
        Op::Inter => {
            if srcs.iter().any(|s| s.as_ref().is_none_or(|s| s.len() == 0)) {
                return out;
            }
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs.get(i).and_then(|s| s.as_ref()).map_or(0, Src::len));
            let Some((&first, rest)) = order.split_first() else {
                return out;
            };
            let Some(Some(base)) = srcs.get(first) else {
                return out;
            };
            base.for_each(|m, s| {
                let mut acc = weighted(w(first), s);
                for &j in rest {
                    let Some(Some(other)) = srcs.get(j) else {
                        return true;
                    };
                    match other.score(m) {
                        Some(x) => acc = aggregate(agg, acc, weighted(w(j), x)),
                        None => return true,
                    }
                }
                out.insert(m.to_vec(), acc);
                limit == 0 || out.len() < limit
            });
        }
        Op::Diff => {
            let Some(Some(first)) = srcs.first() else {
                return out;
            };
            let rest = srcs.get(1..).unwrap_or(&[]);
            first.for_each(|m, s| {
                if !rest.iter().flatten().any(|o| o.score(m).is_some()) {
                    out.insert(m.to_vec(), s);
                }
                true
            });
        }
    }
    out
}

/// A stored result in the encoding its size calls for (a listpack stores `-0` as `0`, as
/// Redis's does).
fn build(entries: hashbrown::HashMap<Vec<u8>, f64>) -> Result<ZSet, Error> {
    let max_len = entries.keys().map(Vec::len).max().unwrap_or(0);
    let mut z = ZSet::with_hint(entries.len(), max_len);
    for (m, s) in entries {
        z.insert_new(s, &m)?;
    }
    Ok(z)
}

/// ZUNION / ZINTER / ZDIFF / ZINTERCARD: the result in order (scores as computed: a `-0`
/// stays `-0`, as Redis replies from its skiplist).
pub(crate) fn combine_read<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    keys: &[K],
    weights: Option<&[f64]>,
    agg: Aggregate,
    op: Op,
    limit: usize,
) -> Result<Vec<Scored>, Error> {
    let store = a.store();
    let (gids, located) = plan(a, keys);
    let mut found = Vec::with_capacity(keys.len());
    let r = a.read_many(&gids, |shards| {
        let mut srcs = Vec::with_capacity(keys.len());
        for (k, &(h, gid)) in keys.iter().zip(&located) {
            let src = src_in(shards[pos(&gids, gid)], store, h, k.as_ref());
            found.push(!matches!(src, Ok(None)));
            srcs.push(src?);
        }
        let mut v: Vec<Scored> = combine(&srcs, weights, agg, op, limit)
            .into_iter()
            .map(|(m, s)| (Bytes::from(m), s))
            .collect();
        v.sort_unstable_by(|a, b| super::types::order(a.1, &a.0, b.1, &b.0));
        Ok(v)
    });
    count_sources(a, keys, &found);
    r
}

/// Stores `z` at `dst` (deleting `dst` when `z` is empty), in the encoding its size calls
/// for; returns its length. Redis counts one change: the stored result, or the deletion.
fn store_result(s: &mut Shard, h: u64, dst: &[u8], z: ZSet) -> Result<usize, Error> {
    let n = z.len();
    if n == 0 {
        let existed = s.remove(h, dst, false).is_some();
        s.count_changes(usize::from(existed));
    } else {
        s.put(h, dst, Data::Value(Value::ZSet(Box::new(z))), None)?;
        s.count_changes(1);
    }
    Ok(n)
}

/// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE.
pub(crate) fn combine_store<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    dst: &[u8],
    keys: &[K],
    weights: Option<&[f64]>,
    agg: Aggregate,
    op: Op,
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
        let z = {
            let mut srcs = Vec::with_capacity(keys.len());
            for (k, &(h, gid)) in keys.iter().zip(&located) {
                let src = src_in(shards[pos(&gids, gid)], store, h, k.as_ref());
                found.push(!matches!(src, Ok(None)));
                srcs.push(src?);
            }
            build(combine(&srcs, weights, agg, op, 0))?
        };
        let Some(&(hd, gd)) = located.last() else {
            return Ok(0);
        };
        store_result(shards[pos(&gids, gd)], hd, dst, z)
    });
    count_sources(a, keys, &found);
    r
}

/// ZRANGESTORE dst src ...
pub(crate) fn zrangestore<A: Access + ?Sized>(
    a: &A,
    dst: &[u8],
    src: &[u8],
    spec: &ZRangeSpec,
) -> Result<usize, Error> {
    let store = a.store();
    let (gids, located) = plan(a, &[src, dst]);
    let ((hs, gs), (hd, gd)) = (located[0], located[1]);
    let mut found = false;
    let r = a.write_many(&gids, |shards| {
        live(shards[pos(&gids, gs)], store, hs, src);
        live(shards[pos(&gids, gd)], store, hd, dst);
        let source = zset_in(shards[pos(&gids, gs)], store, hs, src);
        found = !matches!(source, Ok(None));
        let picked = match source? {
            Some(z) => select(z, spec),
            None => Vec::new(),
        };
        let max_len = picked.iter().map(|p| p.0.len()).max().unwrap_or(0);
        let mut z = ZSet::with_hint(picked.len(), max_len);
        for (m, s) in &picked {
            z.insert_new(*s, m)?;
        }
        store_result(shards[pos(&gids, gd)], hd, dst, z)
    });
    count_sources(a, &[src], &[found]);
    r
}

/// ZREMRANGEBYRANK / BYSCORE / BYLEX.
pub(crate) fn zremrange<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    by: &RangeBy,
) -> Result<usize, Error> {
    let n = modify(a, key, KeyType::ZSet, None, |v| {
        let z = as_zset(v)?;
        let (lo, hi) = bounds(z, by);
        let mut doomed = Vec::with_capacity(hi.saturating_sub(lo));
        if lo < hi {
            z.walk(lo, false, |m, _| {
                doomed.push(m.to_vec());
                doomed.len() < hi - lo
            });
        }
        for m in &doomed {
            z.remove(m);
        }
        Ok((doomed.len(), doomed.len()))
    })?;
    Ok(n.unwrap_or(0))
}

/// ZPOPMIN / ZPOPMAX.
pub(crate) fn zpop<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Vec<Scored>, Error> {
    if count == 0 {
        with_zset(a, key, |_| ())?;
        return Ok(Vec::new());
    }
    let out = modify(a, key, KeyType::ZSet, None, |v| {
        let z = as_zset(v)?;
        let mut out = Vec::with_capacity(count.min(z.len()));
        while out.len() < count {
            let r = if max { z.len().checked_sub(1) } else { Some(0) };
            let Some((m, s)) = r.and_then(|r| z.get(r)) else {
                break;
            };
            let m = Bytes::copy_from_slice(m);
            z.remove(&m);
            out.push((m, s));
        }
        let n = out.len();
        Ok((out, n))
    })?;
    Ok(out.unwrap_or_default())
}

/// ZRANDMEMBER key count: as SRANDMEMBER's count rules.
pub(crate) fn zrandmember<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    count: i64,
) -> Result<Vec<Scored>, Error> {
    let out = with_zset(a, key, |z| {
        let len = z.len();
        let pick = |r: usize| z.get(r).map(|(m, s)| (Bytes::copy_from_slice(m), s));
        if len == 0 {
            return Vec::new();
        }
        if count < 0 {
            let n = count.unsigned_abs() as usize;
            let mut out = Vec::with_capacity(n.min(1 << 20));
            for _ in 0..n {
                out.extend(pick(fastrand::usize(..len)));
            }
            return out;
        }
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        if n >= len {
            let mut out = Vec::with_capacity(len);
            z.walk(0, false, |m, s| {
                out.push((Bytes::copy_from_slice(m), s));
                true
            });
            return out;
        }
        // Distinct ranks: a partial Fisher-Yates over rank numbers when many are wanted,
        // else rejection sampling.
        let mut ranks: Vec<usize> = if n.saturating_mul(3) > len {
            let mut all: Vec<usize> = (0..len).collect();
            for i in 0..n {
                let j = fastrand::usize(i..len);
                all.swap(i, j);
            }
            all.truncate(n);
            all
        } else {
            let mut seen = hashbrown::HashSet::with_capacity(n);
            while seen.len() < n {
                seen.insert(fastrand::usize(..len));
            }
            seen.into_iter().collect()
        };
        fastrand::shuffle(&mut ranks);
        ranks.into_iter().filter_map(pick).collect()
    })?;
    Ok(out.unwrap_or_default())
}

pub(crate) fn zscan<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
) -> Result<(u64, Vec<Scored>), Error> {
    let out = with_zset(a, key, |z| {
        let mut found = Vec::new();
        let next = z.scan(cursor, count, |m, s| {
            if pattern.is_none_or(|p| crate::glob::glob_match(p, m)) {
                found.push((Bytes::copy_from_slice(m), s));
            }
        });
        (next, found)
    })?;
    Ok(out.unwrap_or((0, Vec::new())))
}
