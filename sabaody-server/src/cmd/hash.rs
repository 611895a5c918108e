//! Hash commands: HSET HSETNX HGET HMGET HMSET HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS HGETALL
//! HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.

use bytes::Bytes;
use sabaody_core::HashOps;
use sabaody_resp::{Protocol, write};

use super::flag::*;
use super::{Args, CmdError, CommandSpec, Ctx, cmd, ks};
use crate::notify::class;

const W: u32 = WRITE;
const R: u32 = READONLY;

pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "hset",
        -4,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        hset,
        "hash",
        "2.0.0",
        "Creates or modifies the value of a field in a hash."
    ),
    cmd!(
        "hsetnx",
        4,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        hsetnx,
        "hash",
        "2.0.0",
        "Sets the value of a field in a hash only when the field doesn't exist."
    ),
    cmd!(
        "hget",
        3,
        R | FAST,
        1,
        1,
        1,
        hget,
        "hash",
        "2.0.0",
        "Returns the value of a field in a hash."
    ),
    cmd!(
        "hmget",
        -3,
        R | FAST,
        1,
        1,
        1,
        hmget,
        "hash",
        "2.0.0",
        "Returns the values of all fields in a hash."
    ),
    cmd!(
        "hmset",
        -4,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        hmset,
        "hash",
        "2.0.0",
        "Sets the values of multiple fields."
    ),
    cmd!(
        "hdel",
        -3,
        W | FAST,
        1,
        1,
        1,
        hdel,
        "hash",
        "2.0.0",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain."
    ),
    cmd!(
        "hexists",
        3,
        R | FAST,
        1,
        1,
        1,
        hexists,
        "hash",
        "2.0.0",
        "Determines whether a field exists in a hash."
    ),
    cmd!(
        "hlen",
        2,
        R | FAST,
        1,
        1,
        1,
        hlen,
        "hash",
        "2.0.0",
        "Returns the number of fields in a hash."
    ),
    cmd!(
        "hstrlen",
        3,
        R | FAST,
        1,
        1,
        1,
        hstrlen,
        "hash",
        "3.2.0",
        "Returns the length of the value of a field."
    ),
    cmd!(
        "hkeys",
        2,
        R,
        1,
        1,
        1,
        hkeys,
        "hash",
        "2.0.0",
        "Returns all fields in a hash."
    ),
    cmd!(
        "hvals",
        2,
        R,
        1,
        1,
        1,
        hvals,
        "hash",
        "2.0.0",
        "Returns all values in a hash."
    ),
    cmd!(
        "hgetall",
        2,
        R,
        1,
        1,
        1,
        hgetall,
        "hash",
        "2.0.0",
        "Returns all fields and values in a hash."
    ),
    cmd!(
        "hincrby",
        4,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        hincrby,
        "hash",
        "2.0.0",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist."
    ),
    cmd!(
        "hincrbyfloat",
        4,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        hincrbyfloat,
        "hash",
        "2.6.0",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist."
    ),
    cmd!(
        "hrandfield",
        -2,
        R,
        1,
        1,
        1,
        hrandfield,
        "hash",
        "6.2.0",
        "Returns one or more random fields from a hash."
    ),
    cmd!(
        "hscan",
        -3,
        R,
        1,
        1,
        1,
        hscan,
        "hash",
        "2.8.0",
        "Iterates over fields and values of a hash."
    ),
];

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// The field/value pairs of HSET/HMSET (an odd count is an arity error, as in Redis).
fn pairs<'a>(
    args: &mut Args<'a>,
    name: &'static str,
) -> Result<Vec<(&'a Bytes, &'a Bytes)>, CmdError> {
    let rest = args.rest();
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(name));
    }
    Ok(rest.chunks_exact(2).map(|p| (&p[0], &p[1])).collect())
}

/// ```text
/// HSET key field value [field value ...]
/// ```
pub(crate) fn hset(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let p = pairs(args, "hset")?;
    let n = ks!(ctx, k => k.hset(key, &p))?;
    ctx.notify(class::HASH, "hset", key);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// HMSET key field value [field value ...]
/// ```
pub(crate) fn hmset(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let p = pairs(args, "hmset")?;
    ks!(ctx, k => k.hset(key, &p))?;
    ctx.notify(class::HASH, "hset", key);
    ctx.ok();
    Ok(())
}

/// ```text
/// HSETNX key field value
/// ```
pub(crate) fn hsetnx(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let f = args.next_bytes()?;
    let v = args.next_bytes()?;
    let set = ks!(ctx, k => k.hsetnx(key, f, v))?;
    if set {
        ctx.notify(class::HASH, "hset", key);
    }
    write::integer(ctx.out, i64::from(set));
    Ok(())
}

/// ```text
/// HGET key field
/// ```
pub(crate) fn hget(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let f = args.next_bytes()?;
    let proto = ctx.proto();
    let out = &mut *ctx.out;
    let found = match ctx.tx {
        Some(tx) => {
            let _ = tx.select(ctx.client.db);
            tx.hget_with(key, f, |v| write::bulk(out, v))?
        }
        None => ctx.shared.dbs[ctx.client.db].hget_with(key, f, |v| write::bulk(out, v))?,
    };
    if found.is_none() {
        write::null_bulk(ctx.out, proto);
    }
    Ok(())
}

/// ```text
/// HMGET key field [field ...]
/// ```
pub(crate) fn hmget(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let fields = args.rest();
    let vals = ks!(ctx, k => k.hmget(key, fields))?;
    write::array_len(ctx.out, vals.len());
    for v in vals {
        match v {
            Some(v) => write::bulk(ctx.out, &v),
            None => ctx.null(),
        }
    }
    Ok(())
}

/// ```text
/// HDEL key field [field ...]
/// ```
pub(crate) fn hdel(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let fields = args.rest();
    let n = ks!(ctx, k => k.hdel(key, fields))?;
    if n > 0 {
        ctx.notify(class::HASH, "hdel", key);
        ctx.notify_if_gone(key);
    }
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// HEXISTS key field
/// ```
pub(crate) fn hexists(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let f = args.next_bytes()?;
    let e = ks!(ctx, k => k.hexists(key, f))?;
    write::integer(ctx.out, i64::from(e));
    Ok(())
}

/// ```text
/// HLEN key
/// ```
pub(crate) fn hlen(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let n = ks!(ctx, k => k.hlen(key))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// HSTRLEN key field
/// ```
pub(crate) fn hstrlen(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let f = args.next_bytes()?;
    let n = ks!(ctx, k => k.hstrlen(key, f))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// HKEYS key
/// ```
pub(crate) fn hkeys(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let all = ks!(ctx, k => k.hgetall(key))?;
    write::array_len(ctx.out, all.len());
    for (f, _) in all {
        write::bulk(ctx.out, &f);
    }
    Ok(())
}

/// ```text
/// HVALS key
/// ```
pub(crate) fn hvals(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let all = ks!(ctx, k => k.hgetall(key))?;
    write::array_len(ctx.out, all.len());
    for (_, v) in all {
        write::bulk(ctx.out, &v);
    }
    Ok(())
}

/// ```text
/// HGETALL key
/// ```
/// A map in RESP3, a flat field/value array in RESP2.
pub(crate) fn hgetall(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let all = ks!(ctx, k => k.hgetall(key))?;
    write::map_len(ctx.out, ctx.client.proto, all.len());
    for (f, v) in all {
        write::bulk(ctx.out, &f);
        write::bulk(ctx.out, &v);
    }
    Ok(())
}

/// ```text
/// HINCRBY key field increment
/// ```
pub(crate) fn hincrby(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let f = args.next_bytes()?;
    let by = args.next_int()?;
    let n = ks!(ctx, k => k.hincr_by(key, f, by))?;
    ctx.notify(class::HASH, "hincrby", key);
    write::integer(ctx.out, n);
    Ok(())
}

/// ```text
/// HINCRBYFLOAT key field increment
/// ```
pub(crate) fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let f = args.next_bytes()?;
    let by = args.next_bytes()?;
    let v = ks!(ctx, k => k.hincr_by_float_text(key, f, by))?;
    ctx.notify(class::HASH, "hincrbyfloat", key);
    ctx.propagate(vec![
        bytes::Bytes::from_static(b"HSET"),
        key.clone(),
        f.clone(),
        v.clone(),
    ]);
    write::bulk(ctx.out, &v);
    Ok(())
}

/// ```text
/// HRANDFIELD key [count [WITHVALUES]]
/// ```
/// With WITHVALUES, RESP3 gets an array of [field, value] pairs and RESP2 a flat array, as
/// Redis 7.0 replies.
pub(crate) fn hrandfield(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let Some(count_arg) = args.peek() else {
        match ks!(ctx, k => k.hrandfield(key))? {
            Some(f) => write::bulk(ctx.out, &f),
            None => ctx.null(),
        }
        return Ok(());
    };
    args.next_bytes()?;
    let count = super::parse_i64(count_arg).ok_or(CmdError::NotInteger)?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withvalues = match args.remaining() {
        0 => false,
        1 if is(args.next_bytes()?, b"WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    super::check_random_count(count)?;
    let picked = ks!(ctx, k => k.hrandfield_count(key, count))?;
    let proto = ctx.client.proto;
    if !withvalues {
        write::array_len(ctx.out, picked.len());
        for (f, _) in picked {
            write::bulk(ctx.out, &f);
        }
    } else if proto == Protocol::Resp3 {
        write::array_len(ctx.out, picked.len());
        for (f, v) in picked {
            write::array_len(ctx.out, 2);
            write::bulk(ctx.out, &f);
            write::bulk(ctx.out, &v);
        }
    } else {
        write::array_len(ctx.out, picked.len() * 2);
        for (f, v) in picked {
            write::bulk(ctx.out, &f);
            write::bulk(ctx.out, &v);
        }
    }
    Ok(())
}

/// A scan cursor as Redis 7.0 reads it (`strtoul`, base 10): an optional sign (`-1` wraps to
/// 2^64 - 1), digits, nothing else; an empty string is 0; no leading space; overflow fails.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// ```text
/// HSCAN key cursor [MATCH pattern] [COUNT count]
/// ```
pub(crate) fn hscan(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let cursor_arg = args.next_bytes()?;
    let cursor = parse_cursor(cursor_arg).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    // Redis looks the key up before it parses the options: a missing key is an empty scan.
    if ks!(ctx, k => k.hlen(key))? == 0 {
        write::array_len(ctx.out, 2);
        write::bulk(ctx.out, b"0");
        write::array_len(ctx.out, 0);
        return Ok(());
    }
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if args.remaining() == 0 {
            return Err(CmdError::Syntax);
        }
        if is(opt, b"MATCH") {
            pattern = Some(&args.next_bytes()?[..]);
        } else if is(opt, b"COUNT") {
            let n = args.next_int()?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (next, page) = ks!(ctx, k => k.hscan(key, cursor, pattern, count))?;
    write::array_len(ctx.out, 2);
    write::bulk(ctx.out, next.to_string().as_bytes());
    write::array_len(ctx.out, page.len() * 2);
    for (f, v) in page {
        write::bulk(ctx.out, &f);
        write::bulk(ctx.out, &v);
    }
    Ok(())
}
