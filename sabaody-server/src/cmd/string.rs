//! String commands: GET SET GETDEL GETEX GETSET MGET MSET MSETNX APPEND STRLEN GETRANGE/SUBSTR
//! SETRANGE SETNX SETEX PSETEX INCR DECR INCRBY DECRBY INCRBYFLOAT.

use sabaody_core::{GetExExpiry, Keyspace, SetCondition, SetExpiry, SetOptions};
use sabaody_resp::write;

use super::{Args, CmdError, Ctx, ks};

/// ```text
/// GET key
/// ```
pub(crate) fn get(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let proto = ctx.proto();
    // The value is copied straight from the shard into the reply buffer, under the shard lock.
    let out = &mut *ctx.out;
    let found = match ctx.tx {
        Some(tx) => {
            let _ = tx.select(ctx.client.db);
            tx.get_with(key, |v| write::bulk(out, v))?
        }
        None => ctx.shared.dbs[ctx.client.db].get_with(key, |v| write::bulk(out, v))?,
    };
    if found.is_none() {
        write::null_bulk(ctx.out, proto);
    }
    Ok(())
}

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// ```text
/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
///     PXAT unix-time-milliseconds | KEEPTTL]
/// ```
pub(crate) fn set(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    if args.remaining() == 0 {
        ks!(ctx, k => k.set(key, value))?;
        ctx.ok();
        return Ok(());
    }
    let mut opts = SetOptions::default();
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if is(opt, b"NX") && opts.condition != SetCondition::IfExists {
            opts.condition = SetCondition::IfAbsent;
        } else if is(opt, b"XX") && opts.condition != SetCondition::IfAbsent {
            opts.condition = SetCondition::IfExists;
        } else if is(opt, b"GET") {
            opts.get = true;
        } else if is(opt, b"KEEPTTL") && matches!(opts.expiry, None | Some(SetExpiry::KeepTtl)) {
            opts.expiry = Some(SetExpiry::KeepTtl);
        } else if let Some(kind) = expiry_kind(opt) {
            let compatible = match opts.expiry {
                None => true,
                Some(e) => std::mem::discriminant(&e) == std::mem::discriminant(&kind(0)),
            };
            if !compatible || args.remaining() == 0 {
                return Err(CmdError::Syntax);
            }
            let n = args.next_int()?;
            opts.expiry = Some(kind(n));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let outcome = ks!(ctx, k => k.set_with(key, value, &opts))?;
    if !outcome.written {
        ctx.propagate_nothing();
    } else if matches!(opts.expiry, Some(e) if e != SetExpiry::KeepTtl) {
        ctx.propagate_expiry(key, &[b"SET", key, value]);
    }
    if opts.get {
        match outcome.previous {
            Some(v) => write::bulk(ctx.out, &v),
            None => ctx.null(),
        }
    } else if outcome.written {
        ctx.ok();
    } else {
        ctx.null();
    }
    Ok(())
}

fn expiry_kind(opt: &[u8]) -> Option<fn(i64) -> SetExpiry> {
    if is(opt, b"EX") {
        Some(SetExpiry::Ex)
    } else if is(opt, b"PX") {
        Some(SetExpiry::Px)
    } else if is(opt, b"EXAT") {
        Some(SetExpiry::ExAt)
    } else if is(opt, b"PXAT") {
        Some(SetExpiry::PxAt)
    } else {
        None
    }
}

fn bulk_or_null(ctx: &mut Ctx<'_, '_>, v: Option<bytes::Bytes>) {
    match v {
        Some(v) => write::bulk(ctx.out, &v),
        None => ctx.null(),
    }
}

/// ```text
/// GETDEL key
/// ```
pub(crate) fn getdel(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let v = ks!(ctx, k => k.getdel(key))?;
    bulk_or_null(ctx, v);
    Ok(())
}

/// ```text
/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
///     PXAT unix-time-milliseconds | PERSIST]
/// ```
pub(crate) fn getex(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let mut expiry: Option<GetExExpiry> = None;
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if is(opt, b"PERSIST") && matches!(expiry, None | Some(GetExExpiry::Persist)) {
            expiry = Some(GetExExpiry::Persist);
            continue;
        }
        let kind: fn(i64) -> GetExExpiry = if is(opt, b"EX") {
            GetExExpiry::Ex
        } else if is(opt, b"PX") {
            GetExExpiry::Px
        } else if is(opt, b"EXAT") {
            GetExExpiry::ExAt
        } else if is(opt, b"PXAT") {
            GetExExpiry::PxAt
        } else {
            return Err(CmdError::Syntax);
        };
        let compatible = match expiry {
            None => true,
            Some(e) => std::mem::discriminant(&e) == std::mem::discriminant(&kind(0)),
        };
        if !compatible || args.remaining() == 0 {
            return Err(CmdError::Syntax);
        }
        expiry = Some(kind(args.next_int()?));
    }
    let v = match ks!(ctx, k => k.getex(key, expiry)) {
        // Redis looks the key up before checking the time: a missing key answers nil.
        Err(sabaody_core::Error::InvalidExpireTime(_)) if ks!(ctx, k => k.exists(&[key])) == 0 => {
            None
        }
        other => other?,
    };
    match (&v, expiry) {
        (Some(_), Some(GetExExpiry::Persist)) => {
            ctx.propagate(vec![bytes::Bytes::from_static(b"PERSIST"), key.clone()])
        }
        (Some(_), Some(_)) => ctx.propagate_expiry(key, &[]),
        _ => ctx.propagate_nothing(),
    }
    bulk_or_null(ctx, v);
    Ok(())
}

/// ```text
/// GETSET key value
/// ```
pub(crate) fn getset(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let opts = SetOptions {
        get: true,
        ..SetOptions::default()
    };
    let outcome = ks!(ctx, k => k.set_with(key, value, &opts))?;
    bulk_or_null(ctx, outcome.previous);
    Ok(())
}

/// ```text
/// MGET key [key ...]
/// ```
pub(crate) fn mget(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    let values = ks!(ctx, k => k.mget(keys));
    write::array_len(ctx.out, values.len());
    for v in values {
        bulk_or_null(ctx, v);
    }
    Ok(())
}

type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

fn pairs<'a>(args: &mut Args<'a>, name: &'static str) -> Result<Pairs<'a>, CmdError> {
    let rest = args.rest();
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(name));
    }
    Ok(rest
        .chunks_exact(2)
        .map(|c| (&c[0][..], &c[1][..]))
        .collect())
}

/// ```text
/// MSET key value [key value ...]
/// ```
pub(crate) fn mset(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let p = pairs(args, "mset")?;
    ks!(ctx, k => k.mset(&p))?;
    ctx.ok();
    Ok(())
}

/// ```text
/// MSETNX key value [key value ...]
/// ```
pub(crate) fn msetnx(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let p = pairs(args, "msetnx")?;
    let done = ks!(ctx, k => k.msetnx(&p))?;
    write::integer(ctx.out, i64::from(done));
    Ok(())
}

/// ```text
/// APPEND key value
/// ```
pub(crate) fn append(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let n = ks!(ctx, k => k.append(key, value))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// STRLEN key
/// ```
pub(crate) fn strlen(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let n = ks!(ctx, k => k.strlen(key))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// GETRANGE key start end
/// SUBSTR key start end
/// ```
pub(crate) fn getrange(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let start = args.next_int()?;
    let end = args.next_int()?;
    args.finish()?;
    let v = ks!(ctx, k => k.getrange(key, start, end))?;
    write::bulk(ctx.out, &v);
    Ok(())
}

/// ```text
/// SETRANGE key offset value
/// ```
pub(crate) fn setrange(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let offset = args.next_int()?;
    let value = args.next_bytes()?;
    let n = ks!(ctx, k => k.setrange(key, offset, value))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// SETNX key value
/// ```
pub(crate) fn setnx(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let done = ks!(ctx, k => k.setnx(key, value))?;
    write::integer(ctx.out, i64::from(done));
    Ok(())
}

/// ```text
/// SETEX key seconds value
/// ```
pub(crate) fn setex(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let secs = args.next_int()?;
    let value = args.next_bytes()?;
    ks!(ctx, k => k.setex(key, secs, value))?;
    ctx.propagate_expiry(key, &[b"SET", key, value]);
    ctx.ok();
    Ok(())
}

/// ```text
/// PSETEX key milliseconds value
/// ```
pub(crate) fn psetex(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let ms = args.next_int()?;
    let value = args.next_bytes()?;
    ks!(ctx, k => k.psetex(key, ms, value))?;
    ctx.propagate_expiry(key, &[b"SET", key, value]);
    ctx.ok();
    Ok(())
}

fn incr_common(ctx: &mut Ctx<'_, '_>, key: &[u8], by: i64) -> Result<(), CmdError> {
    let n = ks!(ctx, k => k.incr_by(key, by))?;
    write::integer(ctx.out, n);
    Ok(())
}

/// ```text
/// INCR key
/// ```
pub(crate) fn incr(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    incr_common(ctx, key, 1)
}

/// ```text
/// DECR key
/// ```
pub(crate) fn decr(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    incr_common(ctx, key, -1)
}

/// ```text
/// INCRBY key increment
/// ```
pub(crate) fn incrby(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let by = args.next_int()?;
    incr_common(ctx, key, by)
}

/// ```text
/// DECRBY key decrement
/// ```
pub(crate) fn decrby(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let by = args.next_int()?;
    let n = ks!(ctx, k => k.decr_by(key, by))?;
    write::integer(ctx.out, n);
    Ok(())
}

/// ```text
/// INCRBYFLOAT key increment
/// ```
pub(crate) fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    // The increment goes to the core as text: it is parsed there with `strtold`'s rules, after
    // the type check, so the result and the error precedence are Redis's.
    let by = args.next_bytes()?;
    let v = ks!(ctx, k => k.incr_by_float_text(key, by))?;
    // The result, not the increment: replay gives the same text whatever the float rounding.
    ctx.propagate(vec![
        bytes::Bytes::from_static(b"SET"),
        key.clone(),
        v.clone(),
        bytes::Bytes::from_static(b"KEEPTTL"),
    ]);
    write::bulk(ctx.out, &v);
    Ok(())
}
