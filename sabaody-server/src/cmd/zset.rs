//! Sorted-set commands: ZADD ZREM ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK
//! ZRANGE ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE
//! ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER ZUNION
//! ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZSCAN, and the blocking BZPOPMIN
//! BZPOPMAX BZMPOP (see `blocking.rs` for how blocked clients are woken).
//!
//! Replies follow Redis 7.0: scores are bulk strings (`%.17g`) in RESP2 and doubles in RESP3;
//! WITHSCORES replies are flat in RESP2 and arrays of `[member, score]` pairs in RESP3 (ZSCAN
//! stays flat with bulk scores in both). `ZRANK`/`ZREVRANK` also accept `WITHSCORE`, as Redis 7.2
//! does (7.0 has no such option; its arity is 3, ours -3).

use bytes::{Bytes, BytesMut};
use sabaody_core::{
    Aggregate, Error, KeyType, Keyspace, LexBound, RangeBy, ScoreBound, Scored, ZAddOptions,
    ZRangeSpec, ZSetOps,
};
use sabaody_resp::{Protocol, write};

use super::flag::*;
use super::set::{parse_cursor, parse_scan_opts, positive_count, scan_key_check, signed_count};
use super::{Args, CmdError, CommandSpec, Ctx, cmd, ks, parse_i64};
use crate::notify::class;

const W: u32 = WRITE;
const R: u32 = READONLY;

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "zadd",
        -4,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        zadd,
        "sorted-set",
        "1.2.0",
        "Add one or more members to a sorted set, or update its score if it already exists."
    ),
    cmd!(
        "zrem",
        -3,
        W | FAST,
        1,
        1,
        1,
        zrem,
        "sorted-set",
        "1.2.0",
        "Remove one or more members from a sorted set."
    ),
    cmd!(
        "zscore",
        3,
        R | FAST,
        1,
        1,
        1,
        zscore,
        "sorted-set",
        "1.2.0",
        "Get the score associated with the given member in a sorted set."
    ),
    cmd!(
        "zmscore",
        -3,
        R | FAST,
        1,
        1,
        1,
        zmscore,
        "sorted-set",
        "6.2.0",
        "Get the score associated with the given members in a sorted set."
    ),
    cmd!(
        "zincrby",
        4,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        zincrby,
        "sorted-set",
        "1.2.0",
        "Increment the score of a member in a sorted set."
    ),
    cmd!(
        "zcard",
        2,
        R | FAST,
        1,
        1,
        1,
        zcard,
        "sorted-set",
        "1.2.0",
        "Get the number of members in a sorted set."
    ),
    cmd!(
        "zcount",
        4,
        R | FAST,
        1,
        1,
        1,
        zcount,
        "sorted-set",
        "2.0.0",
        "Count the members in a sorted set with scores within the given values."
    ),
    cmd!(
        "zlexcount",
        4,
        R | FAST,
        1,
        1,
        1,
        zlexcount,
        "sorted-set",
        "2.8.9",
        "Count the number of members in a sorted set between a given lexicographical range."
    ),
    cmd!(
        "zrank",
        -3,
        R | FAST,
        1,
        1,
        1,
        zrank,
        "sorted-set",
        "2.0.0",
        "Determine the index of a member in a sorted set."
    ),
    cmd!(
        "zrevrank",
        -3,
        R | FAST,
        1,
        1,
        1,
        zrevrank,
        "sorted-set",
        "2.0.0",
        "Determine the index of a member in a sorted set, with scores ordered from high to low."
    ),
    cmd!(
        "zrange",
        -4,
        R,
        1,
        1,
        1,
        zrange,
        "sorted-set",
        "1.2.0",
        "Return a range of members in a sorted set."
    ),
    cmd!(
        "zrangestore",
        -5,
        W | DENYOOM,
        1,
        2,
        1,
        zrangestore,
        "sorted-set",
        "6.2.0",
        "Store a range of members from sorted set into another key."
    ),
    cmd!(
        "zrangebyscore",
        -4,
        R,
        1,
        1,
        1,
        zrangebyscore,
        "sorted-set",
        "1.0.5",
        "Return a range of members in a sorted set, by score."
    ),
    cmd!(
        "zrevrangebyscore",
        -4,
        R,
        1,
        1,
        1,
        zrevrangebyscore,
        "sorted-set",
        "2.2.0",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low."
    ),
    cmd!(
        "zrangebylex",
        -4,
        R,
        1,
        1,
        1,
        zrangebylex,
        "sorted-set",
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range."
    ),
    cmd!(
        "zrevrangebylex",
        -4,
        R,
        1,
        1,
        1,
        zrevrangebylex,
        "sorted-set",
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.."
    ),
    cmd!(
        "zrevrange",
        -4,
        R,
        1,
        1,
        1,
        zrevrange,
        "sorted-set",
        "1.2.0",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low."
    ),
    cmd!(
        "zremrangebyrank",
        4,
        W,
        1,
        1,
        1,
        zremrangebyrank,
        "sorted-set",
        "2.0.0",
        "Remove all members in a sorted set within the given indexes."
    ),
    cmd!(
        "zremrangebyscore",
        4,
        W,
        1,
        1,
        1,
        zremrangebyscore,
        "sorted-set",
        "1.2.0",
        "Remove all members in a sorted set within the given scores."
    ),
    cmd!(
        "zremrangebylex",
        4,
        W,
        1,
        1,
        1,
        zremrangebylex,
        "sorted-set",
        "2.8.9",
        "Remove all members in a sorted set between the given lexicographical range."
    ),
    cmd!(
        "zpopmin",
        -2,
        W | FAST,
        1,
        1,
        1,
        zpopmin,
        "sorted-set",
        "5.0.0",
        "Remove and return members with the lowest scores in a sorted set."
    ),
    cmd!(
        "zpopmax",
        -2,
        W | FAST,
        1,
        1,
        1,
        zpopmax,
        "sorted-set",
        "5.0.0",
        "Remove and return members with the highest scores in a sorted set."
    ),
    cmd!(
        "zmpop",
        -4,
        W | MOVABLEKEYS,
        0,
        0,
        0,
        zmpop,
        "sorted-set",
        "7.0.0",
        "Remove and return members with scores in a sorted set"
    ),
    cmd!(
        "bzpopmin",
        -3,
        W | NOSCRIPT | BLOCKING | FAST,
        1,
        -2,
        1,
        bzpopmin,
        "sorted-set",
        "5.0.0",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available"
    ),
    cmd!(
        "bzpopmax",
        -3,
        W | NOSCRIPT | BLOCKING | FAST,
        1,
        -2,
        1,
        bzpopmax,
        "sorted-set",
        "5.0.0",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available"
    ),
    cmd!(
        "bzmpop",
        -5,
        W | BLOCKING | MOVABLEKEYS,
        0,
        0,
        0,
        bzmpop,
        "sorted-set",
        "7.0.0",
        "Remove and return members with scores in a sorted set or block until one is available"
    ),
    cmd!(
        "zrandmember",
        -2,
        R,
        1,
        1,
        1,
        zrandmember,
        "sorted-set",
        "6.2.0",
        "Get one or multiple random elements from a sorted set."
    ),
    cmd!(
        "zunion",
        -3,
        R,
        0,
        0,
        0,
        zunion,
        "sorted-set",
        "6.2.0",
        "Add multiple sorted sets."
    ),
    cmd!(
        "zinter",
        -3,
        R,
        0,
        0,
        0,
        zinter,
        "sorted-set",
        "6.2.0",
        "Intersect multiple sorted sets."
    ),
    cmd!(
        "zdiff",
        -3,
        R,
        0,
        0,
        0,
        zdiff,
        "sorted-set",
        "6.2.0",
        "Subtract multiple sorted sets."
    ),
    cmd!(
        "zunionstore",
        -4,
        W | DENYOOM,
        1,
        1,
        1,
        zunionstore,
        "sorted-set",
        "2.0.0",
        "Add multiple sorted sets and store the resulting sorted set in a new key."
    ),
    cmd!(
        "zinterstore",
        -4,
        W | DENYOOM,
        1,
        1,
        1,
        zinterstore,
        "sorted-set",
        "2.0.0",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key."
    ),
    cmd!(
        "zdiffstore",
        -4,
        W | DENYOOM,
        1,
        1,
        1,
        zdiffstore,
        "sorted-set",
        "6.2.0",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key."
    ),
    cmd!(
        "zintercard",
        -3,
        R,
        0,
        0,
        0,
        zintercard,
        "sorted-set",
        "7.0.0",
        "Intersect multiple sorted sets and return the cardinality of the result."
    ),
    cmd!(
        "zscan",
        -3,
        R,
        1,
        1,
        1,
        zscan,
        "sorted-set",
        "2.8.0",
        "Incrementally iterate sorted sets elements and associated scores."
    ),
];

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// A score argument (ZADD, ZINCRBY): Redis's `getDoubleFromObject`.
fn parse_score(arg: &[u8]) -> Result<f64, CmdError> {
    // Integral scores are the common case: a canonical integer below 2^53 is exactly the
    // double strtod would give ("-0" is not canonical and takes the float path).
    if let Some(i) = parse_i64(arg)
        && i.unsigned_abs() < 1 << 53
    {
        return Ok(i as f64);
    }
    sabaody_core::num::parse_f64(arg).ok_or(CmdError::NotFloat)
}

/// `strtod` over the whole text as `zslParseRange` uses it: leading spaces allowed, the empty
/// text is 0, overflow gives an infinity, NaN is refused.
fn parse_strtod(t: &[u8]) -> Option<f64> {
    let t = t
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .and_then(|i| t.get(i..))
        .unwrap_or(&[]);
    if t.is_empty() {
        return Some(0.0);
    }
    if let Some(v) = sabaody_core::num::parse_f64(t) {
        return Some(v);
    }
    let v: f64 = std::str::from_utf8(t).ok()?.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

fn score_bound(arg: &[u8]) -> Option<ScoreBound> {
    match arg.split_first() {
        Some((b'(', rest)) => parse_strtod(rest).map(ScoreBound::Exclusive),
        _ => parse_strtod(arg).map(ScoreBound::Inclusive),
    }
}

fn score_range(min: &[u8], max: &[u8]) -> Result<RangeBy, CmdError> {
    match (score_bound(min), score_bound(max)) {
        (Some(a), Some(b)) => Ok(RangeBy::Score(a, b)),
        _ => Err(CmdError::msg("ERR min or max is not a float")),
    }
}

fn lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.split_first()? {
        (b'+', []) => Some(LexBound::PosInf),
        (b'-', []) => Some(LexBound::NegInf),
        (b'(', rest) => Some(LexBound::Exclusive(rest.to_vec())),
        (b'[', rest) => Some(LexBound::Inclusive(rest.to_vec())),
        _ => None,
    }
}

fn lex_range(min: &[u8], max: &[u8]) -> Result<RangeBy, CmdError> {
    match (lex_bound(min), lex_bound(max)) {
        (Some(a), Some(b)) => Ok(RangeBy::Lex(a, b)),
        _ => Err(CmdError::msg("ERR min or max not valid string range item")),
    }
}

fn score_text(d: f64) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    sabaody_resp::format_double(d, &mut v);
    v
}

/// Members, with their scores when asked: flat in RESP2, `[member, score]` pairs in RESP3.
fn scored(out: &mut BytesMut, proto: Protocol, items: &[Scored], withscores: bool) {
    if !withscores {
        write::array_len(out, items.len());
        for (m, _) in items {
            write::bulk(out, m);
        }
        return;
    }
    match proto {
        Protocol::Resp2 => {
            write::array_len(out, items.len() * 2);
            for (m, s) in items {
                write::bulk(out, m);
                write::double(out, proto, *s);
            }
        }
        Protocol::Resp3 => {
            write::array_len(out, items.len());
            for (m, s) in items {
                write::array_len(out, 2);
                write::bulk(out, m);
                write::double(out, proto, *s);
            }
        }
    }
}

fn double_or_null(ctx: &mut Ctx<'_, '_>, d: Option<f64>) {
    match d {
        Some(d) => write::double(ctx.out, ctx.proto(), d),
        None => ctx.null(),
    }
}

/// ```text
/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
/// ```
pub(crate) fn zadd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let mut o = ZAddOptions::default();
    let mut incr = false;
    while let Some(a) = args.peek() {
        // Every option is 2 or 4 letters long (a score seldom is): one length test per score.
        if !matches!(a.len(), 2 | 4) {
            break;
        }
        if is(a, b"NX") {
            o.nx = true;
        } else if is(a, b"XX") {
            o.xx = true;
        } else if is(a, b"GT") {
            o.gt = true;
        } else if is(a, b"LT") {
            o.lt = true;
        } else if is(a, b"CH") {
            o.ch = true;
        } else if is(a, b"INCR") {
            incr = true;
        } else {
            break;
        }
        args.next_bytes()?;
    }
    let rest = args.rest();
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if o.nx && o.xx {
        return Err(Error::ZAddNxXx.into());
    }
    if (o.nx && (o.gt || o.lt)) || (o.gt && o.lt) {
        return Err(Error::ZAddGtLtNx.into());
    }
    if incr && rest.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    // One pair (the common case, and INCR's only form) needs no allocation.
    if let [s, m] = rest {
        let s = parse_score(s)?;
        if incr {
            let r = ks!(ctx, k => k.zadd_incr(key, &o, s, m))?;
            if r.is_some() {
                ctx.notify(class::ZSET, "zincr", key);
            }
            double_or_null(ctx, r);
            return Ok(());
        }
        return zadd_reply(ctx, key, &o, &[(s, m)]);
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks_exact(2) {
        if let [s, m] = p {
            pairs.push((parse_score(s)?, m));
        }
    }
    zadd_reply(ctx, key, &o, &pairs)
}

fn zadd_reply(
    ctx: &mut Ctx<'_, '_>,
    key: &Bytes,
    o: &ZAddOptions,
    pairs: &[(f64, &Bytes)],
) -> Result<(), CmdError> {
    let (added, updated) = ks!(ctx, k => k.zadd_counts(key, o, pairs))?;
    if added + updated > 0 {
        ctx.notify(class::ZSET, "zadd", key);
    }
    let n = if o.ch { added + updated } else { added };
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZINCRBY key increment member
/// ```
pub(crate) fn zincrby(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let incr = parse_score(args.next_bytes()?)?;
    let m = args.next_bytes()?;
    let s = ks!(ctx, k => k.zincrby(key, incr, m))?;
    ctx.notify(class::ZSET, "zincr", key);
    write::double(ctx.out, ctx.proto(), s);
    Ok(())
}

/// ```text
/// ZREM key member [member ...]
/// ```
pub(crate) fn zrem(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.rest();
    let n = ks!(ctx, k => k.zrem(key, m))?;
    if n > 0 {
        ctx.notify(class::ZSET, "zrem", key);
        ctx.notify_if_gone(key);
    }
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZSCORE key member
/// ```
pub(crate) fn zscore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.next_bytes()?;
    let s = ks!(ctx, k => k.zscore(key, m))?;
    double_or_null(ctx, s);
    Ok(())
}

/// ```text
/// ZMSCORE key member [member ...]
/// ```
pub(crate) fn zmscore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.rest();
    let v = ks!(ctx, k => k.zmscore(key, m))?;
    write::array_len(ctx.out, v.len());
    for s in v {
        double_or_null(ctx, s);
    }
    Ok(())
}

/// ```text
/// ZCARD key
/// ```
pub(crate) fn zcard(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let n = ks!(ctx, k => k.zcard(key))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZCOUNT key min max
/// ```
pub(crate) fn zcount(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let by = score_range(args.next_bytes()?, args.next_bytes()?)?;
    let n = ks!(ctx, k => k.zcount(key, &by))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZLEXCOUNT key min max
/// ```
pub(crate) fn zlexcount(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let by = lex_range(args.next_bytes()?, args.next_bytes()?)?;
    let n = ks!(ctx, k => k.zcount(key, &by))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

fn rank_cmd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>, rev: bool) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.next_bytes()?;
    let withscore = match args.remaining() {
        0 => false,
        1 if is(args.next_bytes()?, b"WITHSCORE") => true,
        _ => return Err(CmdError::Syntax),
    };
    let r = ks!(ctx, k => k.zrank(key, m, rev))?;
    match (r, withscore) {
        (Some((rank, _)), false) => write::integer(ctx.out, rank as i64),
        (Some((rank, s)), true) => {
            write::array_len(ctx.out, 2);
            write::integer(ctx.out, rank as i64);
            write::double(ctx.out, ctx.proto(), s);
        }
        (None, false) => ctx.null(),
        (None, true) => write::null_array(ctx.out, ctx.proto()),
    }
    Ok(())
}

/// ```text
/// ZRANK key member [WITHSCORE]
/// ```
pub(crate) fn zrank(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    rank_cmd(ctx, args, false)
}

/// ```text
/// ZREVRANK key member [WITHSCORE]
/// ```
pub(crate) fn zrevrank(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    rank_cmd(ctx, args, true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Redis's `zrangeGenericCommand` argument handling, shared by ZRANGE, ZRANGESTORE and the
/// legacy forms (which preset the kind and/or the direction).
fn parse_range(
    min: &[u8],
    max: &[u8],
    opts: &[Bytes],
    mut kind: Kind,
    mut rev: Option<bool>,
    store: bool,
) -> Result<(ZRangeSpec, bool), CmdError> {
    let mut withscores = false;
    let (mut offset, mut count) = (0i64, -1i64);
    let mut i = 0;
    while let Some(a) = opts.get(i) {
        let left = opts.len() - i - 1;
        if !store && is(a, b"WITHSCORES") {
            withscores = true;
        } else if is(a, b"LIMIT") && left >= 2 {
            let o = opts.get(i + 1).and_then(|v| parse_i64(v));
            let c = opts.get(i + 2).and_then(|v| parse_i64(v));
            match (o, c) {
                (Some(o), Some(c)) => (offset, count) = (o, c),
                _ => return Err(CmdError::NotInteger),
            }
            i += 2;
        } else if rev.is_none() && is(a, b"REV") {
            rev = Some(true);
        } else if kind == Kind::Auto && is(a, b"BYLEX") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(a, b"BYSCORE") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if count != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // Score and lex ranges are given as max, min with REV.
    let (lo, hi) = if rev && kind != Kind::Rank {
        (max, min)
    } else {
        (min, max)
    };
    let by = match kind {
        Kind::Score => score_range(lo, hi)?,
        Kind::Lex => lex_range(lo, hi)?,
        _ => {
            let s = parse_i64(lo).ok_or(CmdError::NotInteger)?;
            let e = parse_i64(hi).ok_or(CmdError::NotInteger)?;
            RangeBy::Rank(s, e)
        }
    };
    let limit = (kind != Kind::Rank).then_some((offset, count));
    Ok((ZRangeSpec { by, rev, limit }, withscores))
}

fn range_reply(
    ctx: &mut Ctx<'_, '_>,
    args: &mut Args<'_>,
    kind: Kind,
    rev: Option<bool>,
) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let min = args.next_bytes()?;
    let max = args.next_bytes()?;
    let (spec, withscores) = parse_range(min, max, args.rest(), kind, rev, false)?;
    let v = ks!(ctx, k => k.zrange(key, &spec))?;
    scored(ctx.out, ctx.proto(), &v, withscores);
    Ok(())
}

/// ```text
/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
/// ```
pub(crate) fn zrange(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    range_reply(ctx, args, Kind::Auto, None)
}

/// ```text
/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
/// ```
pub(crate) fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    range_reply(ctx, args, Kind::Score, Some(false))
}

/// ```text
/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
/// ```
pub(crate) fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    range_reply(ctx, args, Kind::Score, Some(true))
}

/// ```text
/// ZRANGEBYLEX key min max [LIMIT offset count]
/// ```
pub(crate) fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    range_reply(ctx, args, Kind::Lex, Some(false))
}

/// ```text
/// ZREVRANGEBYLEX key max min [LIMIT offset count]
/// ```
pub(crate) fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    range_reply(ctx, args, Kind::Lex, Some(true))
}

/// ```text
/// ZREVRANGE key start stop [WITHSCORES]
/// ```
pub(crate) fn zrevrange(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    range_reply(ctx, args, Kind::Rank, Some(true))
}

/// ```text
/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
/// ```
pub(crate) fn zrangestore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let dst = args.next_bytes()?;
    let src = args.next_bytes()?;
    let min = args.next_bytes()?;
    let max = args.next_bytes()?;
    let (spec, _) = parse_range(min, max, args.rest(), Kind::Auto, None, true)?;
    let existed = ctx.exists_for_notify(dst);
    let n = ks!(ctx, k => k.zrangestore(dst, src, &spec))?;
    ctx.notify_store(class::ZSET, "zrangestore", dst, n > 0, existed);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZREMRANGEBYRANK key start stop
/// ```
pub(crate) fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let s = args.next_int()?;
    let e = args.next_int()?;
    let n = ks!(ctx, k => k.zremrange(key, &RangeBy::Rank(s, e)))?;
    notify_removed(ctx, "zremrangebyrank", key, n);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZREMRANGEBYSCORE key min max
/// ```
pub(crate) fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let by = score_range(args.next_bytes()?, args.next_bytes()?)?;
    let n = ks!(ctx, k => k.zremrange(key, &by))?;
    notify_removed(ctx, "zremrangebyscore", key, n);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZREMRANGEBYLEX key min max
/// ```
pub(crate) fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let by = lex_range(args.next_bytes()?, args.next_bytes()?)?;
    let n = ks!(ctx, k => k.zremrange(key, &by))?;
    notify_removed(ctx, "zremrangebylex", key, n);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// The events of a command that removed `n` members of `key`: `event`, then `del` if the
/// set was emptied.
fn notify_removed(ctx: &mut Ctx<'_, '_>, event: &str, key: &[u8], n: usize) {
    if n > 0 {
        ctx.notify(class::ZSET, event, key);
        ctx.notify_if_gone(key);
    }
}

/// The events of a pop from `key` (ZPOPMIN/ZPOPMAX and the blocking and multi-key forms).
fn notify_pop(ctx: &mut Ctx<'_, '_>, key: &[u8], max: bool) {
    notify_removed(ctx, if max { "zpopmax" } else { "zpopmin" }, key, 1);
}

fn pop_cmd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>, max: bool) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let count = match args.remaining() {
        0 => None,
        1 => Some(positive_count(args.next_bytes()?)?),
        _ => return Err(CmdError::Syntax),
    };
    let v = ks!(ctx, k => k.zpop(key, max, count.unwrap_or(1)))?;
    if !v.is_empty() {
        notify_pop(ctx, key, max);
    }
    match count {
        // Without a count the one pair is a flat array, in RESP3 too.
        None => {
            write::array_len(ctx.out, v.len() * 2);
            for (m, s) in &v {
                write::bulk(ctx.out, m);
                write::double(ctx.out, ctx.proto(), *s);
            }
        }
        Some(_) => scored(ctx.out, ctx.proto(), &v, true),
    }
    Ok(())
}

/// ```text
/// ZPOPMIN key [count]
/// ```
pub(crate) fn zpopmin(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    pop_cmd(ctx, args, false)
}

/// ```text
/// ZPOPMAX key [count]
/// ```
pub(crate) fn zpopmax(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    pop_cmd(ctx, args, true)
}

/// Parses `numkeys key [key ...] MIN|MAX [COUNT count]` (ZMPOP / BZMPOP): the keys, whether
/// MAX, the count (1 without COUNT).
fn zmpop_args<'a>(args: &mut Args<'a>) -> Result<(&'a [Bytes], bool, usize), CmdError> {
    super::numkeys_side_count(args, |which| {
        if is(which, b"MIN") {
            Ok(false)
        } else if is(which, b"MAX") {
            Ok(true)
        } else {
            Err(CmdError::Syntax)
        }
    })
}

/// Pops from the first of `keys` that holds a sorted set, as Redis's `genericZpopCommand`
/// over several keys: a missing key is skipped, a key of another type is an error.
fn zpop_first(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    max: bool,
    count: usize,
) -> Result<Option<(Bytes, Vec<Scored>)>, CmdError> {
    for key in keys {
        let v = ks!(ctx, k => k.zpop(key, max, count))?;
        if !v.is_empty() {
            // Movable keys are not in the table's key positions: invalidate WATCH here, and
            // record the pop as the ZPOPMIN / ZPOPMAX it was.
            ctx.shared.watches.touch_key(ctx.client.db, key);
            ctx.shared.invalidate_tracked(Some(ctx.client.id), key);
            notify_pop(ctx, key, max);
            return Ok(Some((key.clone(), v)));
        }
    }
    Ok(None)
}

/// ```text
/// ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]
/// ```
pub(crate) fn zmpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let (keys, max, count) = zmpop_args(args)?;
    match zpop_first(ctx, keys, max, count)? {
        Some((key, v)) => {
            ctx.propagate(crate::blocking::zpop_logged(&key, max, Some(v.len())));
            crate::blocking::write_zmpop(ctx.out, ctx.client.proto, &key, &v);
        }
        None => {
            ctx.propagate_nothing();
            write::null_array(ctx.out, ctx.client.proto);
        }
    }
    Ok(())
}

/// BZPOPMIN / BZPOPMAX: `key [key ...] timeout`.
fn bzpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>, max: bool) -> Result<(), CmdError> {
    let all = args.rest();
    let (timeout, keys) = all.split_last().ok_or(CmdError::Syntax)?;
    let timeout = crate::blocking::parse_timeout(timeout)?;
    match zpop_first(ctx, keys, max, 1)? {
        Some((key, v)) => {
            ctx.propagate(crate::blocking::zpop_logged(&key, max, None));
            if let Some((m, s)) = v.first() {
                crate::blocking::write_bzpop(ctx.out, ctx.client.proto, &key, m, *s);
            }
        }
        None => {
            ctx.propagate_nothing();
            let op = crate::blocking::BlockOp::ZPop { max, count: None };
            crate::blocking::block_client(ctx, keys, op, timeout);
        }
    }
    Ok(())
}

/// ```text
/// BZPOPMIN key [key ...] timeout
/// ```
pub(crate) fn bzpopmin(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    bzpop(ctx, args, false)
}

/// ```text
/// BZPOPMAX key [key ...] timeout
/// ```
pub(crate) fn bzpopmax(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    bzpop(ctx, args, true)
}

/// ```text
/// BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]
/// ```
pub(crate) fn bzmpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let timeout = crate::blocking::parse_timeout(args.next_bytes()?)?;
    let (keys, max, count) = zmpop_args(args)?;
    match zpop_first(ctx, keys, max, count)? {
        Some((key, v)) => {
            ctx.propagate(crate::blocking::zpop_logged(&key, max, Some(v.len())));
            crate::blocking::write_zmpop(ctx.out, ctx.client.proto, &key, &v);
        }
        None => {
            ctx.propagate_nothing();
            let op = crate::blocking::BlockOp::ZPop {
                max,
                count: Some(count),
            };
            crate::blocking::block_client(ctx, keys, op, timeout);
        }
    }
    Ok(())
}

/// ```text
/// ZRANDMEMBER key [count [WITHSCORES]]
/// ```
pub(crate) fn zrandmember(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    if args.remaining() == 0 {
        let v = ks!(ctx, k => k.zrandmember(key, 1))?;
        match v.first() {
            Some((m, _)) => write::bulk(ctx.out, m),
            None => ctx.null(),
        }
        return Ok(());
    }
    let count = signed_count(args.next_bytes()?)?;
    let withscores = match args.remaining() {
        0 => false,
        1 if is(args.next_bytes()?, b"WITHSCORES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    super::check_random_count(count)?;
    let v = ks!(ctx, k => k.zrandmember(key, count))?;
    scored(ctx.out, ctx.proto(), &v, withscores);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Combo {
    Union,
    Inter,
    Diff,
    Card,
}

struct ComboArgs<'a> {
    keys: &'a [Bytes],
    weights: Option<Vec<f64>>,
    agg: Aggregate,
    withscores: bool,
    limit: usize,
}

/// `numkeys key... [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES] [LIMIT ...]` as
/// `zunionInterDiffGenericCommand` reads it. The option error (if any) is returned apart:
/// Redis reports a wrong-typed key before a bad option.
fn parse_combo<'a>(
    name: &str,
    rest: &'a [Bytes],
    op: Combo,
    store: bool,
) -> Result<(&'a [Bytes], Result<ComboArgs<'a>, CmdError>), CmdError> {
    let (first, rest) = rest.split_first().ok_or(CmdError::Syntax)?;
    let n = parse_i64(first).ok_or(CmdError::NotInteger)?;
    if n < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > rest.len() {
        return Err(CmdError::Syntax);
    }
    let (keys, opts) = rest.split_at(n);
    let parsed = (|| {
        let mut a = ComboArgs {
            keys,
            weights: None,
            agg: Aggregate::Sum,
            withscores: false,
            limit: 0,
        };
        let card = op == Combo::Card;
        let mut i = 0;
        while let Some(o) = opts.get(i) {
            let left = opts.len() - i;
            if op != Combo::Diff && !card && left > n && is(o, b"WEIGHTS") {
                let mut w = Vec::with_capacity(n);
                for v in opts.get(i + 1..i + 1 + n).unwrap_or(&[]) {
                    w.push(
                        sabaody_core::num::parse_f64(v)
                            .ok_or_else(|| CmdError::msg("ERR weight value is not a float"))?,
                    );
                }
                a.weights = Some(w);
                i += 1 + n;
            } else if op != Combo::Diff && !card && left >= 2 && is(o, b"AGGREGATE") {
                let v = opts.get(i + 1).ok_or(CmdError::Syntax)?;
                a.agg = if is(v, b"SUM") {
                    Aggregate::Sum
                } else if is(v, b"MIN") {
                    Aggregate::Min
                } else if is(v, b"MAX") {
                    Aggregate::Max
                } else {
                    return Err(CmdError::Syntax);
                };
                i += 2;
            } else if !store && !card && is(o, b"WITHSCORES") {
                a.withscores = true;
                i += 1;
            } else if card && left >= 2 && is(o, b"LIMIT") {
                let v = opts.get(i + 1).ok_or(CmdError::Syntax)?;
                a.limit = parse_i64(v)
                    .and_then(|l| usize::try_from(l).ok())
                    .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
                i += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(a)
    })();
    Ok((keys, parsed))
}

/// WRONGTYPE if a key holds neither a set nor a sorted set.
fn check_sources(ctx: &mut Ctx<'_, '_>, keys: &[Bytes]) -> Result<(), CmdError> {
    for key in keys {
        match ks!(ctx, k => k.key_type(key)) {
            None | Some(KeyType::Set | KeyType::ZSet) => {}
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    Ok(())
}

fn combo_cmd(
    ctx: &mut Ctx<'_, '_>,
    args: &mut Args<'_>,
    name: &str,
    op: Combo,
) -> Result<(), CmdError> {
    let (keys, parsed) = parse_combo(name, args.rest(), op, false)?;
    let a = match parsed {
        Ok(a) => a,
        Err(e) => {
            check_sources(ctx, keys)?;
            return Err(e);
        }
    };
    let w = a.weights.as_deref();
    let v = match op {
        Combo::Union => ks!(ctx, k => k.zunion(a.keys, w, a.agg))?,
        Combo::Inter => ks!(ctx, k => k.zinter(a.keys, w, a.agg))?,
        Combo::Diff => ks!(ctx, k => k.zdiff(a.keys))?,
        Combo::Card => {
            let n = ks!(ctx, k => k.zintercard(a.keys, a.limit))?;
            write::integer(ctx.out, n as i64);
            return Ok(());
        }
    };
    scored(ctx.out, ctx.proto(), &v, a.withscores);
    Ok(())
}

fn combo_store(
    ctx: &mut Ctx<'_, '_>,
    args: &mut Args<'_>,
    name: &str,
    op: Combo,
) -> Result<(), CmdError> {
    let dst = args.next_bytes()?;
    let (keys, parsed) = parse_combo(name, args.rest(), op, true)?;
    let a = match parsed {
        Ok(a) => a,
        Err(e) => {
            check_sources(ctx, keys)?;
            return Err(e);
        }
    };
    let w = a.weights.as_deref();
    let existed = ctx.exists_for_notify(dst);
    let (n, event) = match op {
        Combo::Inter => (
            ks!(ctx, k => k.zinterstore(dst, a.keys, w, a.agg))?,
            "zinterstore",
        ),
        Combo::Diff => (ks!(ctx, k => k.zdiffstore(dst, a.keys))?, "zdiffstore"),
        _ => (
            ks!(ctx, k => k.zunionstore(dst, a.keys, w, a.agg))?,
            "zunionstore",
        ),
    };
    ctx.notify_store(class::ZSET, event, dst, n > 0, existed);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
///     [WITHSCORES]
/// ```
pub(crate) fn zunion(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    combo_cmd(ctx, args, "zunion", Combo::Union)
}

/// ```text
/// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
///     [WITHSCORES]
/// ```
pub(crate) fn zinter(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    combo_cmd(ctx, args, "zinter", Combo::Inter)
}

/// ```text
/// ZDIFF numkeys key [key ...] [WITHSCORES]
/// ```
pub(crate) fn zdiff(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    combo_cmd(ctx, args, "zdiff", Combo::Diff)
}

/// ```text
/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
/// ```
pub(crate) fn zintercard(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    combo_cmd(ctx, args, "zintercard", Combo::Card)
}

/// ```text
/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]]
///     [AGGREGATE SUM|MIN|MAX]
/// ```
pub(crate) fn zunionstore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    combo_store(ctx, args, "zunionstore", Combo::Union)
}

/// ```text
/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]]
///     [AGGREGATE SUM|MIN|MAX]
/// ```
pub(crate) fn zinterstore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    combo_store(ctx, args, "zinterstore", Combo::Inter)
}

/// ```text
/// ZDIFFSTORE destination numkeys key [key ...]
/// ```
pub(crate) fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    combo_store(ctx, args, "zdiffstore", Combo::Diff)
}

/// ```text
/// ZSCAN key cursor [MATCH pattern] [COUNT count]
/// ```
pub(crate) fn zscan(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let cursor = parse_cursor(args.next_bytes()?)?;
    if !scan_key_check(ctx, key, KeyType::ZSet)? {
        return Ok(());
    }
    let (pattern, count) = parse_scan_opts(args.rest())?;
    let (next, found) = ks!(ctx, k => k.zscan(key, cursor, pattern.as_deref(), count))?;
    write::array_len(ctx.out, 2);
    write::bulk(ctx.out, next.to_string().as_bytes());
    write::array_len(ctx.out, found.len() * 2);
    for (m, s) in &found {
        write::bulk(ctx.out, m);
        write::bulk(ctx.out, &score_text(*s));
    }
    Ok(())
}
