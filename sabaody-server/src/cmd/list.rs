//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM
//! LTRIM LPOS LMOVE RPOPLPUSH LMPOP, and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP
//! (see `blocking.rs` for how blocked clients are woken).

use bytes::Bytes;
use sabaody_core::{ListEnd, ListOps, LposOptions};
use sabaody_resp::write;

use super::flag::*;
use super::{Args, CmdError, CommandSpec, Ctx, cmd, ks};
use crate::blocking::{BlockOp, parse_timeout, pop_name, side_name};
use crate::notify::class;

const W: u32 = WRITE;
const R: u32 = READONLY;

pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "lpush",
        -3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        lpush,
        "list",
        "1.0.0",
        "Prepends one or more elements to a list. Creates the key if it doesn't exist."
    ),
    cmd!(
        "rpush",
        -3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        rpush,
        "list",
        "1.0.0",
        "Appends one or more elements to a list. Creates the key if it doesn't exist."
    ),
    cmd!(
        "lpushx",
        -3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        lpushx,
        "list",
        "2.2.0",
        "Prepends one or more elements to a list only when the list exists."
    ),
    cmd!(
        "rpushx",
        -3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        rpushx,
        "list",
        "2.2.0",
        "Appends an element to a list only when the list exists."
    ),
    cmd!(
        "lpop",
        -2,
        W | FAST,
        1,
        1,
        1,
        lpop,
        "list",
        "1.0.0",
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped."
    ),
    cmd!(
        "rpop",
        -2,
        W | FAST,
        1,
        1,
        1,
        rpop,
        "list",
        "1.0.0",
        "Returns and removes the last elements of a list. Deletes the list if the last element was popped."
    ),
    cmd!(
        "llen",
        2,
        R | FAST,
        1,
        1,
        1,
        llen,
        "list",
        "1.0.0",
        "Returns the length of a list."
    ),
    cmd!(
        "lrange",
        4,
        R,
        1,
        1,
        1,
        lrange,
        "list",
        "1.0.0",
        "Returns a range of elements from a list."
    ),
    cmd!(
        "lindex",
        3,
        R,
        1,
        1,
        1,
        lindex,
        "list",
        "1.0.0",
        "Returns an element from a list by its index."
    ),
    cmd!(
        "lset",
        4,
        W | DENYOOM,
        1,
        1,
        1,
        lset,
        "list",
        "1.0.0",
        "Sets the value of an element in a list by its index."
    ),
    cmd!(
        "linsert",
        5,
        W | DENYOOM,
        1,
        1,
        1,
        linsert,
        "list",
        "2.2.0",
        "Inserts an element before or after another element in a list."
    ),
    cmd!(
        "lrem",
        4,
        W,
        1,
        1,
        1,
        lrem,
        "list",
        "1.0.0",
        "Removes elements from a list. Deletes the list if the last element was removed."
    ),
    cmd!(
        "ltrim",
        4,
        W,
        1,
        1,
        1,
        ltrim,
        "list",
        "1.0.0",
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed."
    ),
    cmd!(
        "lpos",
        -3,
        R,
        1,
        1,
        1,
        lpos,
        "list",
        "6.0.6",
        "Returns the index of matching elements in a list."
    ),
    cmd!(
        "lmove",
        5,
        W | DENYOOM,
        1,
        2,
        1,
        lmove,
        "list",
        "6.2.0",
        "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved."
    ),
    cmd!(
        "rpoplpush",
        3,
        W | DENYOOM,
        1,
        2,
        1,
        rpoplpush,
        "list",
        "1.2.0",
        "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped."
    ),
    cmd!(
        "lmpop",
        -4,
        W | MOVABLEKEYS,
        0,
        0,
        0,
        lmpop,
        "list",
        "7.0.0",
        "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped."
    ),
    cmd!(
        "blpop",
        -3,
        W | NOSCRIPT | BLOCKING,
        1,
        -2,
        1,
        blpop,
        "list",
        "2.0.0",
        "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."
    ),
    cmd!(
        "brpop",
        -3,
        W | NOSCRIPT | BLOCKING,
        1,
        -2,
        1,
        brpop,
        "list",
        "2.0.0",
        "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."
    ),
    cmd!(
        "blmove",
        6,
        W | DENYOOM | NOSCRIPT | BLOCKING,
        1,
        2,
        1,
        blmove,
        "list",
        "6.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved."
    ),
    cmd!(
        "brpoplpush",
        4,
        W | DENYOOM | NOSCRIPT | BLOCKING,
        1,
        2,
        1,
        brpoplpush,
        "list",
        "2.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped."
    ),
    cmd!(
        "blmpop",
        -5,
        W | BLOCKING | MOVABLEKEYS,
        0,
        0,
        0,
        blmpop,
        "list",
        "7.0.0",
        "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped."
    ),
];

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

fn end_arg(arg: &[u8]) -> Result<ListEnd, CmdError> {
    ListEnd::parse(arg).ok_or(CmdError::Syntax)
}

fn push(
    ctx: &mut Ctx<'_, '_>,
    args: &mut Args<'_>,
    end: ListEnd,
    create: bool,
) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let elems = args.rest();
    let n = match (end, create) {
        (ListEnd::Left, true) => ks!(ctx, k => k.lpush(key, elems))?,
        (ListEnd::Right, true) => ks!(ctx, k => k.rpush(key, elems))?,
        (ListEnd::Left, false) => ks!(ctx, k => k.lpushx(key, elems))?,
        (ListEnd::Right, false) => ks!(ctx, k => k.rpushx(key, elems))?,
    };
    if n > 0 {
        notify_push(ctx, end, key);
    }
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// LPUSH key element [element ...]
/// ```
pub(crate) fn lpush(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    push(ctx, args, ListEnd::Left, true)
}

/// ```text
/// RPUSH key element [element ...]
/// ```
pub(crate) fn rpush(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    push(ctx, args, ListEnd::Right, true)
}

/// ```text
/// LPUSHX key element [element ...]
/// ```
pub(crate) fn lpushx(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    push(ctx, args, ListEnd::Left, false)
}

/// ```text
/// RPUSHX key element [element ...]
/// ```
pub(crate) fn rpushx(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    push(ctx, args, ListEnd::Right, false)
}

/// The keyspace event of a push at `end`.
pub(crate) fn notify_push(ctx: &mut Ctx<'_, '_>, end: ListEnd, key: &[u8]) {
    let event = match end {
        ListEnd::Left => "lpush",
        ListEnd::Right => "rpush",
    };
    ctx.notify(class::LIST, event, key);
}

/// The keyspace events of a pop at `end` that took something: the pop, then `del` if it
/// emptied the list.
pub(crate) fn notify_pop(ctx: &mut Ctx<'_, '_>, end: ListEnd, key: &[u8]) {
    let event = match end {
        ListEnd::Left => "lpop",
        ListEnd::Right => "rpop",
    };
    ctx.notify(class::LIST, event, key);
    ctx.notify_if_gone(key);
}

/// The keyspace events of an element moved from `src` to `dst`: Redis reports the push
/// first, then the pop (and `del` of an emptied source).
pub(crate) fn notify_move(
    ctx: &mut Ctx<'_, '_>,
    src: &[u8],
    dst: &[u8],
    from: ListEnd,
    to: ListEnd,
) {
    notify_push(ctx, to, dst);
    notify_pop(ctx, from, src);
}

fn pop(
    ctx: &mut Ctx<'_, '_>,
    args: &mut Args<'_>,
    end: ListEnd,
    name: &'static str,
) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    if args.remaining() > 1 {
        return Err(CmdError::WrongArity(name));
    }
    let Some(count_arg) = args.peek() else {
        // The element goes straight from the list into the reply buffer.
        let out = &mut *ctx.out;
        let found = match ctx.tx {
            Some(tx) => {
                let _ = tx.select(ctx.client.db);
                tx.pop_with(key, end, |e| write::bulk(out, e))?
            }
            None => ctx.shared.dbs[ctx.client.db].pop_with(key, end, |e| write::bulk(out, e))?,
        };
        if found.is_none() {
            ctx.null();
        } else {
            notify_pop(ctx, end, key);
        }
        return Ok(());
    };
    // Redis's getPositiveLongFromObjectOrReply: one message for both failures.
    let count = super::parse_i64(count_arg)
        .and_then(|c| usize::try_from(c).ok())
        .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))?;
    match ks!(ctx, k => k.pop_count(key, end, count))? {
        Some(v) => {
            if !v.is_empty() {
                notify_pop(ctx, end, key);
            }
            write_array(ctx, &v)
        }
        None => write::null_array(ctx.out, ctx.client.proto),
    }
    Ok(())
}

fn write_array(ctx: &mut Ctx<'_, '_>, v: &[Bytes]) {
    write::array_len(ctx.out, v.len());
    for e in v {
        write::bulk(ctx.out, e);
    }
}

/// ```text
/// LPOP key [count]
/// ```
pub(crate) fn lpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    pop(ctx, args, ListEnd::Left, "lpop")
}

/// ```text
/// RPOP key [count]
/// ```
pub(crate) fn rpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    pop(ctx, args, ListEnd::Right, "rpop")
}

/// ```text
/// LLEN key
/// ```
pub(crate) fn llen(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let n = ks!(ctx, k => k.llen(key))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// LRANGE key start stop
/// ```
pub(crate) fn lrange(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let start = args.next_int()?;
    let stop = args.next_int()?;
    let out = &mut *ctx.out;
    // Elements go straight from the list into the reply buffer, under the shard lock.
    let emit = |it: sabaody_core::ListIter<'_>| {
        write::array_len(out, it.len());
        for e in it {
            write::bulk(out, e);
        }
    };
    let found = match ctx.tx {
        Some(tx) => {
            let _ = tx.select(ctx.client.db);
            tx.lrange_with(key, start, stop, emit)?
        }
        None => ctx.shared.dbs[ctx.client.db].lrange_with(key, start, stop, emit)?,
    };
    if found.is_none() {
        write::array_len(ctx.out, 0);
    }
    Ok(())
}

/// ```text
/// LINDEX key index
/// ```
pub(crate) fn lindex(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let index = args.next_int()?;
    match ks!(ctx, k => k.lindex(key, index))? {
        Some(v) => write::bulk(ctx.out, &v),
        None => ctx.null(),
    }
    Ok(())
}

/// ```text
/// LSET key index element
/// ```
pub(crate) fn lset(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let index = args.next_int()?;
    let elem = args.next_bytes()?;
    ks!(ctx, k => k.lset(key, index, elem))?;
    ctx.notify(class::LIST, "lset", key);
    ctx.ok();
    Ok(())
}

/// ```text
/// LINSERT key <BEFORE | AFTER> pivot element
/// ```
pub(crate) fn linsert(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let wh = args.next_bytes()?;
    let after = if is(wh, b"AFTER") {
        true
    } else if is(wh, b"BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let pivot = args.next_bytes()?;
    let elem = args.next_bytes()?;
    let n = ks!(ctx, k => k.linsert(key, after, pivot, elem))?;
    if n > 0 {
        ctx.notify(class::LIST, "linsert", key);
    }
    write::integer(ctx.out, n);
    Ok(())
}

/// ```text
/// LREM key count element
/// ```
pub(crate) fn lrem(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let count = args.next_int()?;
    let elem = args.next_bytes()?;
    let n = ks!(ctx, k => k.lrem(key, count, elem))?;
    if n > 0 {
        ctx.notify(class::LIST, "lrem", key);
        ctx.notify_if_gone(key);
    }
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// LTRIM key start stop
/// ```
pub(crate) fn ltrim(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let start = args.next_int()?;
    let stop = args.next_int()?;
    // A missing key is left alone, with no event; an existing one reports `ltrim` even when
    // nothing was cut.
    let existed =
        ctx.notifying(class::LIST) && ks!(ctx, k => sabaody_core::Keyspace::contains_key(k, key));
    ks!(ctx, k => k.ltrim(key, start, stop))?;
    if existed {
        ctx.notify(class::LIST, "ltrim", key);
        ctx.notify_if_gone(key);
    }
    ctx.ok();
    Ok(())
}

/// ```text
/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
/// ```
pub(crate) fn lpos(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let elem = args.next_bytes()?;
    let mut opts = LposOptions::default();
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if args.remaining() == 0 {
            return Err(CmdError::Syntax);
        }
        if is(opt, b"RANK") {
            let r = args.next_int()?;
            if r == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
            opts.rank = r;
        } else if is(opt, b"COUNT") {
            let c = args.next_int()?;
            opts.count =
                Some(usize::try_from(c).map_err(|_| CmdError::msg("ERR COUNT can't be negative"))?);
        } else if is(opt, b"MAXLEN") {
            let m = args.next_int()?;
            opts.maxlen =
                usize::try_from(m).map_err(|_| CmdError::msg("ERR MAXLEN can't be negative"))?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let found = ks!(ctx, k => k.lpos(key, elem, &opts))?;
    if opts.count.is_some() {
        write::array_len(ctx.out, found.len());
        for i in found {
            write::integer(ctx.out, i as i64);
        }
    } else {
        match found.first() {
            Some(&i) => write::integer(ctx.out, i as i64),
            None => ctx.null(),
        }
    }
    Ok(())
}

/// ```text
/// LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>
/// ```
pub(crate) fn lmove(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let from = end_arg(args.next_bytes()?)?;
    let to = end_arg(args.next_bytes()?)?;
    let v = ks!(ctx, k => k.lmove(src, dst, from, to))?;
    match v {
        Some(v) => {
            notify_move(ctx, src, dst, from, to);
            write::bulk(ctx.out, &v)
        }
        None => ctx.null(),
    }
    Ok(())
}

/// ```text
/// RPOPLPUSH source destination
/// ```
pub(crate) fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let v = ks!(ctx, k => k.rpoplpush(src, dst))?;
    match v {
        Some(v) => {
            notify_move(ctx, src, dst, ListEnd::Right, ListEnd::Left);
            write::bulk(ctx.out, &v)
        }
        None => ctx.null(),
    }
    Ok(())
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT count]` (LMPOP / BLMPOP).
fn mpop_args<'a>(args: &mut Args<'a>) -> Result<(&'a [Bytes], ListEnd, usize), CmdError> {
    super::numkeys_side_count(args, end_arg)
}

fn write_mpop(ctx: &mut Ctx<'_, '_>, key: &[u8], v: &[Bytes]) {
    write::array_len(ctx.out, 2);
    write::bulk(ctx.out, key);
    write_array(ctx, v);
}

/// ```text
/// LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]
/// ```
pub(crate) fn lmpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let (keys, end, count) = mpop_args(args)?;
    match ks!(ctx, k => k.lmpop(keys, end, count))? {
        Some((key, v)) => {
            // Movable keys are not in the table's key positions: invalidate WATCH here.
            ctx.shared.watches.touch_key(ctx.client.db, &key);
            ctx.shared.invalidate_tracked(Some(ctx.client.id), &key);
            notify_pop(ctx, end, &key);
            write_mpop(ctx, &key, &v);
        }
        None => write::null_array(ctx.out, ctx.client.proto),
    }
    Ok(())
}

fn block(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], op: BlockOp, timeout_ms: u64) {
    crate::blocking::block_client(ctx, keys, op, timeout_ms);
}

fn bpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>, end: ListEnd) -> Result<(), CmdError> {
    let all = args.rest();
    let (timeout, keys) = all.split_last().ok_or(CmdError::Syntax)?;
    let timeout = parse_timeout(timeout)?;
    for key in keys {
        if let Some(mut v) = ks!(ctx, k => k.pop_count(key, end, 1))?
            && let Some(e) = v.pop()
        {
            notify_pop(ctx, end, key);
            // Logged as the pop that was served (LPOP / RPOP), as Redis does.
            ctx.propagate(vec![pop_name(end), key.clone()]);
            write::array_len(ctx.out, 2);
            write::bulk(ctx.out, key);
            write::bulk(ctx.out, &e);
            return Ok(());
        }
    }
    ctx.propagate_nothing();
    block(ctx, keys, BlockOp::Pop(end), timeout);
    Ok(())
}

/// ```text
/// BLPOP key [key ...] timeout
/// ```
pub(crate) fn blpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    bpop(ctx, args, ListEnd::Left)
}

/// ```text
/// BRPOP key [key ...] timeout
/// ```
pub(crate) fn brpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    bpop(ctx, args, ListEnd::Right)
}

fn bmove(
    ctx: &mut Ctx<'_, '_>,
    src: &Bytes,
    dst: &Bytes,
    from: ListEnd,
    to: ListEnd,
    timeout: u64,
) -> Result<(), CmdError> {
    match ks!(ctx, k => k.lmove(src, dst, from, to))? {
        Some(v) => {
            notify_move(ctx, src, dst, from, to);
            ctx.propagate(vec![
                Bytes::from_static(b"LMOVE"),
                src.clone(),
                dst.clone(),
                side_name(from),
                side_name(to),
            ]);
            write::bulk(ctx.out, &v)
        }
        None => {
            ctx.propagate_nothing();
            let op = BlockOp::Move {
                dst: Bytes::copy_from_slice(dst),
                from,
                to,
            };
            block(ctx, std::slice::from_ref(src), op, timeout);
        }
    }
    Ok(())
}

/// ```text
/// BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout
/// ```
pub(crate) fn blmove(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let from = end_arg(args.next_bytes()?)?;
    let to = end_arg(args.next_bytes()?)?;
    let timeout = parse_timeout(args.next_bytes()?)?;
    bmove(ctx, src, dst, from, to, timeout)
}

/// ```text
/// BRPOPLPUSH source destination timeout
/// ```
pub(crate) fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let timeout = parse_timeout(args.next_bytes()?)?;
    bmove(ctx, src, dst, ListEnd::Right, ListEnd::Left, timeout)
}

/// ```text
/// BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]
/// ```
pub(crate) fn blmpop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let timeout = parse_timeout(args.next_bytes()?)?;
    let (keys, end, count) = mpop_args(args)?;
    match ks!(ctx, k => k.lmpop(keys, end, count))? {
        Some((key, v)) => {
            ctx.shared.watches.touch_key(ctx.client.db, &key);
            ctx.shared.invalidate_tracked(Some(ctx.client.id), &key);
            notify_pop(ctx, end, &key);
            ctx.propagate(vec![
                pop_name(end),
                key.clone(),
                Bytes::from(v.len().to_string()),
            ]);
            write_mpop(ctx, &key, &v);
        }
        None => {
            ctx.propagate_nothing();
            block(ctx, keys, BlockOp::MPop { end, count }, timeout)
        }
    }
    Ok(())
}
