//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE
//! SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SINTERCARD SSCAN.

use bytes::{Bytes, BytesMut};
use sabaody_core::{KeyType, Keyspace, SetOps};
use sabaody_resp::{Protocol, write};

use super::flag::*;
use super::{Args, CmdError, CommandSpec, Ctx, cmd, ks, parse_i64};
use crate::notify::class;

const W: u32 = WRITE;
const R: u32 = READONLY;

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "sadd",
        -3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        sadd,
        "set",
        "1.0.0",
        "Add one or more members to a set."
    ),
    cmd!(
        "srem",
        -3,
        W | FAST,
        1,
        1,
        1,
        srem,
        "set",
        "1.0.0",
        "Remove one or more members from a set."
    ),
    cmd!(
        "smembers",
        2,
        R,
        1,
        1,
        1,
        smembers,
        "set",
        "1.0.0",
        "Get all the members in a set."
    ),
    cmd!(
        "sismember",
        3,
        R | FAST,
        1,
        1,
        1,
        sismember,
        "set",
        "1.0.0",
        "Determine if a given value is a member of a set."
    ),
    cmd!(
        "smismember",
        -3,
        R | FAST,
        1,
        1,
        1,
        smismember,
        "set",
        "6.2.0",
        "Returns the membership associated with the given elements for a set."
    ),
    cmd!(
        "scard",
        2,
        R | FAST,
        1,
        1,
        1,
        scard,
        "set",
        "1.0.0",
        "Get the number of members in a set."
    ),
    cmd!(
        "spop",
        -2,
        W | FAST,
        1,
        1,
        1,
        spop,
        "set",
        "1.0.0",
        "Remove and return one or multiple random members from a set."
    ),
    cmd!(
        "srandmember",
        -2,
        R,
        1,
        1,
        1,
        srandmember,
        "set",
        "1.0.0",
        "Get one or multiple random members from a set."
    ),
    cmd!(
        "smove",
        4,
        W | FAST,
        1,
        2,
        1,
        smove,
        "set",
        "1.0.0",
        "Move a member from one set to another."
    ),
    cmd!(
        "sinter",
        -2,
        R,
        1,
        -1,
        1,
        sinter,
        "set",
        "1.0.0",
        "Intersect multiple sets."
    ),
    cmd!(
        "sunion",
        -2,
        R,
        1,
        -1,
        1,
        sunion,
        "set",
        "1.0.0",
        "Add multiple sets."
    ),
    cmd!(
        "sdiff",
        -2,
        R,
        1,
        -1,
        1,
        sdiff,
        "set",
        "1.0.0",
        "Subtract multiple sets."
    ),
    cmd!(
        "sinterstore",
        -3,
        W | DENYOOM,
        1,
        -1,
        1,
        sinterstore,
        "set",
        "1.0.0",
        "Intersect multiple sets and store the resulting set in a key."
    ),
    cmd!(
        "sunionstore",
        -3,
        W | DENYOOM,
        1,
        -1,
        1,
        sunionstore,
        "set",
        "1.0.0",
        "Add multiple sets and store the resulting set in a key."
    ),
    cmd!(
        "sdiffstore",
        -3,
        W | DENYOOM,
        1,
        -1,
        1,
        sdiffstore,
        "set",
        "1.0.0",
        "Subtract multiple sets and store the resulting set in a key."
    ),
    cmd!(
        "sintercard",
        -3,
        R,
        0,
        0,
        0,
        sintercard,
        "set",
        "7.0.0",
        "Intersect multiple sets and return the cardinality of the result."
    ),
    cmd!(
        "sscan",
        -3,
        R,
        1,
        1,
        1,
        sscan,
        "set",
        "2.8.0",
        "Incrementally iterate Set elements."
    ),
];

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// A set reply: `~n` in RESP3, an array in RESP2.
fn members(out: &mut BytesMut, proto: Protocol, items: &[Bytes]) {
    write::set_len(out, proto, items.len());
    for m in items {
        write::bulk(out, m);
    }
}

fn array(out: &mut BytesMut, items: &[Bytes]) {
    write::array_len(out, items.len());
    for m in items {
        write::bulk(out, m);
    }
}

/// ```text
/// SADD key member [member ...]
/// ```
pub(crate) fn sadd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.rest();
    let n = ks!(ctx, k => k.sadd(key, m))?;
    if n > 0 {
        ctx.notify(class::SET, "sadd", key);
    }
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// SREM key member [member ...]
/// ```
pub(crate) fn srem(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.rest();
    let n = ks!(ctx, k => k.srem(key, m))?;
    if n > 0 {
        ctx.notify(class::SET, "srem", key);
        ctx.notify_if_gone(key);
    }
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// SMEMBERS key
/// ```
pub(crate) fn smembers(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let v = ks!(ctx, k => k.smembers(key))?;
    members(ctx.out, ctx.proto(), &v);
    Ok(())
}

/// ```text
/// SISMEMBER key member
/// ```
pub(crate) fn sismember(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.next_bytes()?;
    let b = ks!(ctx, k => k.sismember(key, m))?;
    write::integer(ctx.out, i64::from(b));
    Ok(())
}

/// ```text
/// SMISMEMBER key member [member ...]
/// ```
pub(crate) fn smismember(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let m = args.rest();
    let v = ks!(ctx, k => k.smismember(key, m))?;
    write::array_len(ctx.out, v.len());
    for b in v {
        write::integer(ctx.out, i64::from(b));
    }
    Ok(())
}

/// ```text
/// SCARD key
/// ```
pub(crate) fn scard(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let n = ks!(ctx, k => k.scard(key))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// `getPositiveLongFromObjectOrReply` with Redis's default message.
pub(crate) fn positive_count(arg: &[u8]) -> Result<usize, CmdError> {
    parse_i64(arg)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))
}

/// A count in `-LONG_MAX..=LONG_MAX` (SRANDMEMBER, ZRANDMEMBER).
pub(crate) fn signed_count(arg: &[u8]) -> Result<i64, CmdError> {
    let n = parse_i64(arg).ok_or(CmdError::NotInteger)?;
    if n == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

/// ```text
/// SPOP key [count]
/// ```
pub(crate) fn spop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    match args.remaining() {
        0 => {
            match ks!(ctx, k => k.spop(key))? {
                Some(m) => {
                    ctx.notify(class::SET, "spop", key);
                    ctx.notify_if_gone(key);
                    // The member picked, not the random pick.
                    ctx.propagate(vec![Bytes::from_static(b"SREM"), key.clone(), m.clone()]);
                    write::bulk(ctx.out, &m);
                }
                None => {
                    ctx.propagate_nothing();
                    ctx.null();
                }
            }
            Ok(())
        }
        1 => {
            let count = positive_count(args.next_bytes()?)?;
            let v = ks!(ctx, k => k.spop_count(key, count))?;
            if !v.is_empty() {
                ctx.notify(class::SET, "spop", key);
                ctx.notify_if_gone(key);
            }
            if v.is_empty() {
                ctx.propagate_nothing();
            } else if ctx.propagating() {
                if ks!(ctx, k => k.exists(&[key])) == 0 {
                    // The set was emptied: one DEL, as Redis logs it.
                    ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
                } else {
                    let mut argv = Vec::with_capacity(v.len() + 2);
                    argv.push(Bytes::from_static(b"SREM"));
                    argv.push(key.clone());
                    argv.extend(v.iter().cloned());
                    ctx.propagate(argv);
                }
            }
            members(ctx.out, ctx.proto(), &v);
            Ok(())
        }
        _ => Err(CmdError::Syntax),
    }
}

/// ```text
/// SRANDMEMBER key [count]
/// ```
pub(crate) fn srandmember(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    match args.remaining() {
        0 => {
            match ks!(ctx, k => k.srandmember(key))? {
                Some(m) => write::bulk(ctx.out, &m),
                None => ctx.null(),
            }
            Ok(())
        }
        1 => {
            let count = signed_count(args.next_bytes()?)?;
            super::check_random_count(count)?;
            let v = ks!(ctx, k => k.srandmember_count(key, count))?;
            array(ctx.out, &v);
            Ok(())
        }
        _ => Err(CmdError::Syntax),
    }
}

/// ```text
/// SMOVE source destination member
/// ```
pub(crate) fn smove(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let m = args.next_bytes()?;
    // Redis reports `sadd` only if the member was not in the destination already.
    let in_dst = ctx.notifying(class::SET) && ks!(ctx, k => k.sismember(dst, m)).unwrap_or(false);
    let b = ks!(ctx, k => k.smove(src, dst, m))?;
    if b && src != dst {
        ctx.notify(class::SET, "srem", src);
        ctx.notify_if_gone(src);
        if !in_dst {
            ctx.notify(class::SET, "sadd", dst);
        }
    }
    write::integer(ctx.out, i64::from(b));
    Ok(())
}

/// ```text
/// SINTER key [key ...]
/// ```
pub(crate) fn sinter(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    let v = ks!(ctx, k => k.sinter(keys))?;
    members(ctx.out, ctx.proto(), &v);
    Ok(())
}

/// ```text
/// SUNION key [key ...]
/// ```
pub(crate) fn sunion(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    let v = ks!(ctx, k => k.sunion(keys))?;
    members(ctx.out, ctx.proto(), &v);
    Ok(())
}

/// ```text
/// SDIFF key [key ...]
/// ```
pub(crate) fn sdiff(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    let v = ks!(ctx, k => k.sdiff(keys))?;
    members(ctx.out, ctx.proto(), &v);
    Ok(())
}

/// ```text
/// SINTERSTORE destination key [key ...]
/// ```
pub(crate) fn sinterstore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let dst = args.next_bytes()?;
    let keys = args.rest();
    let existed = ctx.exists_for_notify(dst);
    let n = ks!(ctx, k => k.sinterstore(dst, keys))?;
    ctx.notify_store(class::SET, "sinterstore", dst, n > 0, existed);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// SUNIONSTORE destination key [key ...]
/// ```
pub(crate) fn sunionstore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let dst = args.next_bytes()?;
    let keys = args.rest();
    let existed = ctx.exists_for_notify(dst);
    let n = ks!(ctx, k => k.sunionstore(dst, keys))?;
    ctx.notify_store(class::SET, "sunionstore", dst, n > 0, existed);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// SDIFFSTORE destination key [key ...]
/// ```
pub(crate) fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let dst = args.next_bytes()?;
    let keys = args.rest();
    let existed = ctx.exists_for_notify(dst);
    let n = ks!(ctx, k => k.sdiffstore(dst, keys))?;
    ctx.notify_store(class::SET, "sdiffstore", dst, n > 0, existed);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// SINTERCARD numkeys key [key ...] [LIMIT limit]
/// ```
pub(crate) fn sintercard(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let numkeys = parse_i64(args.next_bytes()?)
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let n = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if n > args.remaining() {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let all = args.rest();
    let (keys, opts) = all.split_at(n);
    let mut limit = 0usize;
    let mut i = 0;
    while let Some(opt) = opts.get(i) {
        match opts.get(i + 1) {
            Some(v) if is(opt, b"LIMIT") => {
                limit = parse_i64(v)
                    .and_then(|l| usize::try_from(l).ok())
                    .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
                i += 2;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let c = ks!(ctx, k => k.sintercard(keys, limit))?;
    write::integer(ctx.out, c as i64);
    Ok(())
}

/// Parses `SSCAN`/`ZSCAN`'s cursor as Redis does (`ERR invalid cursor`).
pub(crate) fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    std::str::from_utf8(arg)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::msg("ERR invalid cursor"))
}

/// `[MATCH pattern] [COUNT count]` of SSCAN / ZSCAN (no TYPE, as in Redis 7.0).
pub(crate) fn parse_scan_opts(rest: &[Bytes]) -> Result<(Option<Bytes>, usize), CmdError> {
    let mut pattern = None;
    let mut count = 10usize;
    let mut i = 0;
    while let Some(opt) = rest.get(i) {
        let Some(v) = rest.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if is(opt, b"MATCH") {
            // `*` matches everything: skip the matcher, as Redis does.
            pattern = (&v[..] != b"*").then(|| v.clone());
        } else if is(opt, b"COUNT") {
            let n = parse_i64(v).ok_or(CmdError::NotInteger)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok((pattern, count))
}

/// Redis looks the key up before it parses the options: a missing key answers an empty
/// scan and a wrong type WRONGTYPE even when the options are bad.
pub(crate) fn scan_key_check(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    want: KeyType,
) -> Result<bool, CmdError> {
    match ks!(ctx, k => k.key_type(key)) {
        None => {
            write::array_len(ctx.out, 2);
            write::bulk(ctx.out, b"0");
            write::array_len(ctx.out, 0);
            Ok(false)
        }
        Some(t) if t != want => Err(CmdError::WrongType),
        Some(_) => Ok(true),
    }
}

/// ```text
/// SSCAN key cursor [MATCH pattern] [COUNT count]
/// ```
pub(crate) fn sscan(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let cursor = parse_cursor(args.next_bytes()?)?;
    if !scan_key_check(ctx, key, KeyType::Set)? {
        return Ok(());
    }
    let (pattern, count) = parse_scan_opts(args.rest())?;
    let (next, found) = ks!(ctx, k => k.sscan(key, cursor, pattern.as_deref(), count))?;
    write::array_len(ctx.out, 2);
    write::bulk(ctx.out, next.to_string().as_bytes());
    array(ctx.out, &found);
    Ok(())
}
