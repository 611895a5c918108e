//! Sorted sets: the value type and the typed [`ZSetOps`] API.
//!
//! # Encodings (as `OBJECT ENCODING` names them, Redis 7.0 thresholds)
//!
//! * `listpack`: a `Vec` of 32-byte entries (`f64` score + inline-or-boxed member) sorted by
//!   (score, member), while there are at most 128 members (`zset-max-listpack-entries`) of at
//!   most 64 bytes (`zset-max-listpack-value`). Lookups by member are linear, as in Redis.
//! * `skiplist` (the name Redis gives its large encoding; ours is not a skiplist): entries live
//!   in a slab (`Vec<Entry>`, 32 bytes each, members up to 22 bytes inline), a hashbrown
//!   `HashTable<u32>` of slab ids finds a member, and an order-statistic B+tree of `u32` slab
//!   ids ([`tree`]) gives O(log n) insert, delete, rank, select and range walks.
//!
//! # Why a B+tree of slab ids rather than Redis's skiplist
//!
//! Per member, Redis 7.0 spends a dictEntry (24 B), a bucket slot (8 B), a skiplist node
//! (score, sds pointer, backward pointer, ~1.33 levels of 16 B: ~48 B with jemalloc) and the
//! sds member (24 B for 16 bytes). Here: the 32-byte slab entry (member inline up to 22 bytes),
//! a 4-byte id in the hash table (~5–10 B with control bytes and load factor) and a 12-byte
//! `(score, id)` key in a B+tree leaf (128 keys per leaf; leaves split in half, or stay full
//! when appending at the end): ~55–60 B. The tree keeps a copy of each score so a descent
//! compares scores in place and reads a member from the slab only on a score tie; ids never
//! move, so ZSCAN's cursor (a slab index) survives any resize.
//!
//! Measured with `scripts/mem_vs_redis.py zset` (1M members of 16 bytes, distinct scores, RSS
//! growth): redis-server 7.0.15 133.2 B/member, this structure 58.5 B/member (0.44x); with
//! 4-byte ids only in the leaves (scores read from the slab) it was 50.2 B/member but every
//! comparison was a cache miss: ZADD (update) at 1M members went from ~11.4 µs to ~7.7 µs
//! and ZRANK from ~6.9 µs to ~4.3–5.5 µs in `cargo bench --bench zset` on a 2-core machine
//! with a load average of 7–8 (noisy figures; the per-operation cost at 10k/100k/1M members
//! grows with the tree depth and, mostly, with cache misses once the set leaves the caches).
//!
//! # Order
//!
//! By score, then by member bytes (`memcmp`), as Redis. NaN is refused everywhere (ZADD,
//! ZINCRBY; an INCR that would produce NaN fails with `ERR resulting score is not a number
//! (NaN)`). `-0.0` and `0.0` compare equal (so re-adding with the other zero changes nothing);
//! the sign of a stored zero is kept and printed (`-0`), as Redis does.

pub(crate) mod ops;
mod tree;
mod types;

pub use ops::Scored;
pub(crate) use types::ZSet;

use crate::Error;
use crate::keyspace::Keyspace;
use ops::Op;

/// `ZADD`'s options (INCR is [`ZSetOps::zadd_incr`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddOptions {
    /// `NX`: only add new members.
    pub nx: bool,
    /// `XX`: only update existing members.
    pub xx: bool,
    /// `GT`: only update when the new score is greater.
    pub gt: bool,
    /// `LT`: only update when the new score is less.
    pub lt: bool,
    /// `CH`: count changed members, not only added ones.
    pub ch: bool,
}

/// One end of a score interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreBound {
    /// `1.5`, `-inf`, `+inf`.
    Inclusive(f64),
    /// `(1.5`.
    Exclusive(f64),
}

/// One end of a lexicographic interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`.
    NegInf,
    /// `+`.
    PosInf,
    /// `[member`.
    Inclusive(Vec<u8>),
    /// `(member`.
    Exclusive(Vec<u8>),
}

/// What a range selects.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBy {
    /// Ranks `start..=stop`, negative counting from the end.
    Rank(i64, i64),
    /// Scores `min..max`.
    Score(ScoreBound, ScoreBound),
    /// Members `min..max` (meaningful when all scores are equal).
    Lex(LexBound, LexBound),
}

/// A `ZRANGE` request. With `rev`, a rank range counts from the highest score, and the
/// result comes highest first; score/lex bounds stay (min, max).
#[derive(Debug, Clone, PartialEq)]
pub struct ZRangeSpec {
    /// Rank, score or lex interval.
    pub by: RangeBy,
    /// `REV`.
    pub rev: bool,
    /// `LIMIT offset count` (score/lex only): a negative offset selects nothing, a negative
    /// count means all.
    pub limit: Option<(i64, i64)>,
}

/// `AGGREGATE` of ZUNION / ZINTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregate {
    /// `SUM` (default; `inf + -inf` gives 0).
    #[default]
    Sum,
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
}

/// The sorted-set commands, for [`crate::Cache`] and [`crate::Transaction`].
///
/// ```
/// use sabaody_core::{Cache, ZSetOps, ZAddOptions, ZRangeSpec, RangeBy};
/// let cache = Cache::builder().build();
/// cache.zadd("board", &ZAddOptions::default(), &[(10.0, "ann"), (20.0, "bob")]).unwrap();
/// assert_eq!(cache.zrank("board", "bob", false).unwrap(), Some((1, 20.0)));
/// let top = cache.zrange("board", &ZRangeSpec { by: RangeBy::Rank(0, 0), rev: true, limit: None });
/// assert_eq!(&top.unwrap()[0].0[..], b"bob");
/// ```
pub trait ZSetOps: Keyspace {
    /// `ZADD key [NX|XX] [GT|LT] [CH] score member...`: members added (plus updated with CH).
    ///
    /// # Errors
    /// [`Error::ZAddNxXx`], [`Error::ZAddGtLtNx`] for conflicting flags; [`Error::NotFloat`]
    /// for a NaN score; [`Error::WrongType`]; [`Error::OutOfMemory`].
    fn zadd<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        opts: &ZAddOptions,
        pairs: &[(f64, M)],
    ) -> Result<usize, Error> {
        ops::zadd(self, key.as_ref(), opts, pairs)
    }

    /// As [`ZSetOps::zadd`], telling apart the members added (first) and the members whose
    /// score changed (second), whatever `opts.ch` says.
    ///
    /// # Errors
    /// As [`ZSetOps::zadd`].
    fn zadd_counts<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        opts: &ZAddOptions,
        pairs: &[(f64, M)],
    ) -> Result<(usize, usize), Error> {
        ops::zadd_counts(self, key.as_ref(), opts, pairs)
    }

    /// `ZADD key [NX|XX] [GT|LT] INCR increment member`: the new score, or `None` when the
    /// flags refused the change.
    ///
    /// # Errors
    /// As [`ZSetOps::zadd`], plus [`Error::ScoreNan`] when the sum is NaN.
    fn zadd_incr(
        &self,
        key: impl AsRef<[u8]>,
        opts: &ZAddOptions,
        incr: f64,
        member: impl AsRef<[u8]>,
    ) -> Result<Option<f64>, Error> {
        ops::zadd_incr(self, key.as_ref(), opts, incr, member.as_ref())
    }

    /// `ZINCRBY key increment member`: the new score.
    ///
    /// # Errors
    /// [`Error::ScoreNan`], [`Error::NotFloat`], [`Error::WrongType`].
    fn zincrby(
        &self,
        key: impl AsRef<[u8]>,
        incr: f64,
        member: impl AsRef<[u8]>,
    ) -> Result<f64, Error> {
        let opts = ZAddOptions::default();
        Ok(ops::zadd_incr(self, key.as_ref(), &opts, incr, member.as_ref())?.unwrap_or(incr))
    }

    /// `ZREM key member...`: how many were removed.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zrem<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<usize, Error> {
        ops::zrem(self, key.as_ref(), members)
    }

    /// `ZSCORE key member`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zscore(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<Option<f64>, Error> {
        let m = member.as_ref();
        Ok(ops::with_zset(self, key.as_ref(), |z| z.score(m))?.flatten())
    }

    /// `ZMSCORE key member...`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zmscore<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: &[M],
    ) -> Result<Vec<Option<f64>>, Error> {
        let r = ops::with_zset(self, key.as_ref(), |z| {
            members.iter().map(|m| z.score(m.as_ref())).collect()
        })?;
        Ok(r.unwrap_or_else(|| vec![None; members.len()]))
    }

    /// `ZCARD key`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zcard(&self, key: impl AsRef<[u8]>) -> Result<usize, Error> {
        Ok(ops::with_zset(self, key.as_ref(), ZSet::len)?.unwrap_or(0))
    }

    /// `ZCOUNT key min max` (with [`RangeBy::Score`]), `ZLEXCOUNT key min max`
    /// (with [`RangeBy::Lex`]), or the size of a rank range.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zcount(&self, key: impl AsRef<[u8]>, by: &RangeBy) -> Result<usize, Error> {
        ops::count_in(self, key.as_ref(), by)
    }

    /// `ZRANK key member` (`rev`: `ZREVRANK`): the 0-based rank and the score.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zrank(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
        rev: bool,
    ) -> Result<Option<(usize, f64)>, Error> {
        let m = member.as_ref();
        let r = ops::with_zset(self, key.as_ref(), |z| {
            let r = z.rank(m)?;
            let s = z.score(m)?;
            Some((if rev { z.len() - 1 - r } else { r }, s))
        })?;
        Ok(r.flatten())
    }

    /// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]` and the legacy
    /// range commands: the selected members with their scores, in reply order.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zrange(&self, key: impl AsRef<[u8]>, spec: &ZRangeSpec) -> Result<Vec<Scored>, Error> {
        ops::zrange(self, key.as_ref(), spec)
    }

    /// `ZRANGESTORE dst src ...`: stores the selection at `dst` (deleted when empty).
    ///
    /// # Errors
    /// [`Error::WrongType`] if `src` is not a sorted set; [`Error::OutOfMemory`].
    fn zrangestore(
        &self,
        dst: impl AsRef<[u8]>,
        src: impl AsRef<[u8]>,
        spec: &ZRangeSpec,
    ) -> Result<usize, Error> {
        ops::zrangestore(self, dst.as_ref(), src.as_ref(), spec)
    }

    /// `ZREMRANGEBYRANK` / `ZREMRANGEBYSCORE` / `ZREMRANGEBYLEX`: how many were removed.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zremrange(&self, key: impl AsRef<[u8]>, by: &RangeBy) -> Result<usize, Error> {
        ops::zremrange(self, key.as_ref(), by)
    }

    /// `ZPOPMIN key [count]` (`max`: `ZPOPMAX`).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zpop(&self, key: impl AsRef<[u8]>, max: bool, count: usize) -> Result<Vec<Scored>, Error> {
        ops::zpop(self, key.as_ref(), max, count)
    }

    /// `ZRANDMEMBER key count`: `count >= 0` gives `min(count, ZCARD)` distinct members,
    /// negative gives exactly `-count`, possibly repeated.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zrandmember(&self, key: impl AsRef<[u8]>, count: i64) -> Result<Vec<Scored>, Error> {
        ops::zrandmember(self, key.as_ref(), count)
    }

    /// `ZUNION numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX]`. Sources may be sets
    /// (score 1); missing keys are empty.
    ///
    /// # Errors
    /// [`Error::WrongType`] for a source that is neither a set nor a sorted set.
    fn zunion<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Result<Vec<Scored>, Error> {
        ops::combine_read(self, keys, weights, agg, Op::Union, 0)
    }

    /// `ZINTER numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX]`.
    ///
    /// # Errors
    /// As [`ZSetOps::zunion`].
    fn zinter<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Result<Vec<Scored>, Error> {
        ops::combine_read(self, keys, weights, agg, Op::Inter, 0)
    }

    /// `ZDIFF numkeys key...`: members of the first source in none of the others.
    ///
    /// # Errors
    /// As [`ZSetOps::zunion`].
    fn zdiff<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Scored>, Error> {
        ops::combine_read(self, keys, None, Aggregate::Sum, Op::Diff, 0)
    }

    /// `ZINTERCARD numkeys key... [LIMIT limit]` (limit 0: no limit).
    ///
    /// # Errors
    /// As [`ZSetOps::zunion`].
    fn zintercard<K: AsRef<[u8]>>(&self, keys: &[K], limit: usize) -> Result<usize, Error> {
        Ok(ops::combine_read(self, keys, None, Aggregate::Sum, Op::Inter, limit)?.len())
    }

    /// `ZUNIONSTORE dst numkeys key... [WEIGHTS ...] [AGGREGATE ...]`: the stored size.
    ///
    /// # Errors
    /// As [`ZSetOps::zunion`]; [`Error::OutOfMemory`].
    fn zunionstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Result<usize, Error> {
        ops::combine_store(self, dst.as_ref(), keys, weights, agg, Op::Union)
    }

    /// `ZINTERSTORE dst numkeys key... [WEIGHTS ...] [AGGREGATE ...]`.
    ///
    /// # Errors
    /// As [`ZSetOps::zunionstore`].
    fn zinterstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
        weights: Option<&[f64]>,
        agg: Aggregate,
    ) -> Result<usize, Error> {
        ops::combine_store(self, dst.as_ref(), keys, weights, agg, Op::Inter)
    }

    /// `ZDIFFSTORE dst numkeys key...`.
    ///
    /// # Errors
    /// As [`ZSetOps::zunionstore`].
    fn zdiffstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
    ) -> Result<usize, Error> {
        ops::combine_store(self, dst.as_ref(), keys, None, Aggregate::Sum, Op::Diff)
    }

    /// `ZSCAN key cursor [MATCH pattern] [COUNT count]`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn zscan(
        &self,
        key: impl AsRef<[u8]>,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(u64, Vec<Scored>), Error> {
        ops::zscan(self, key.as_ref(), cursor, count, pattern)
    }

    /// Checks the internal structure of the sorted set at `key` (order, hash index agreeing
    /// with the B+tree, sizes and maxima of every node, memory counters). `Ok` for a missing
    /// key. For tests.
    ///
    /// # Errors
    /// A description of the first broken invariant; [`Error::WrongType`] is reported as text.
    fn zset_validate(&self, key: impl AsRef<[u8]>) -> Result<(), String> {
        match ops::with_zset(self, key.as_ref(), ZSet::validate) {
            Ok(Some(r)) => r,
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl<K: Keyspace + ?Sized> ZSetOps for K {}
