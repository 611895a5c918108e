//! Bitmap and HyperLogLog commands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO
//! PFADD PFCOUNT PFMERGE.
//!
//! Argument errors come in Redis 7.0's order: BITCOUNT and BITPOS look the key up (a missing
//! key answers 0 / -1, a wrong type WRONGTYPE) before they parse their range.

use sabaody_core::{
    BitOp, BitOps, BitRange, BitUnit, BitfieldOp, BitfieldType, HllOps, Keyspace, MAX_BIT_OFFSET,
    Overflow,
};
use sabaody_resp::write;

use super::flag::*;
use super::{Args, CmdError, CommandSpec, Ctx, cmd, ks, parse_i64};
use crate::notify::class;

const W: u32 = WRITE;
const R: u32 = READONLY;

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "setbit",
        4,
        W | DENYOOM,
        1,
        1,
        1,
        setbit,
        "bitmap",
        "2.2.0",
        "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist."
    ),
    cmd!(
        "getbit",
        3,
        R | FAST,
        1,
        1,
        1,
        getbit,
        "bitmap",
        "2.2.0",
        "Returns a bit value by offset."
    ),
    cmd!(
        "bitcount",
        -2,
        R,
        1,
        1,
        1,
        bitcount,
        "bitmap",
        "2.6.0",
        "Counts the number of set bits (population counting) in a string."
    ),
    cmd!(
        "bitpos",
        -3,
        R,
        1,
        1,
        1,
        bitpos,
        "bitmap",
        "2.8.7",
        "Finds the first set (1) or clear (0) bit in a string."
    ),
    cmd!(
        "bitop",
        -4,
        W | DENYOOM,
        2,
        -1,
        1,
        bitop,
        "bitmap",
        "2.6.0",
        "Performs bitwise operations on multiple strings, and stores the result."
    ),
    cmd!(
        "bitfield",
        -2,
        W | DENYOOM,
        1,
        1,
        1,
        bitfield,
        "bitmap",
        "3.2.0",
        "Performs arbitrary bitfield integer operations on strings."
    ),
    cmd!(
        "bitfield_ro",
        -2,
        R | FAST,
        1,
        1,
        1,
        bitfield_ro,
        "bitmap",
        "6.0.0",
        "Performs arbitrary read-only bitfield integer operations on strings."
    ),
    cmd!(
        "pfadd",
        -2,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        pfadd,
        "hyperloglog",
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist."
    ),
    cmd!(
        "pfcount",
        -2,
        R,
        1,
        -1,
        1,
        pfcount,
        "hyperloglog",
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s)."
    ),
    cmd!(
        "pfmerge",
        -2,
        W | DENYOOM,
        1,
        -1,
        1,
        pfmerge,
        "hyperloglog",
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key."
    ),
];

const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
const BITFIELD_TYPE_ERR: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// A bit offset argument; with `hash_bits`, `#n` means `n * bits` (BITFIELD).
fn bit_offset(arg: &[u8], hash_bits: Option<u8>) -> Result<u64, CmdError> {
    let bad = || CmdError::msg(BIT_OFFSET_ERR);
    let (digits, mul) = match (arg.split_first(), hash_bits) {
        (Some((b'#', rest)), Some(bits)) if !rest.is_empty() => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    let n = parse_i64(digits)
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(bad)?;
    match u64::try_from(n) {
        Ok(n) if n <= MAX_BIT_OFFSET => Ok(n),
        _ => Err(bad()),
    }
}

fn bitfield_type(arg: &[u8]) -> Result<BitfieldType, CmdError> {
    let ty = match arg.split_first() {
        Some((b'i', n)) => parse_i64(n)
            .and_then(|n| u8::try_from(n).ok())
            .and_then(|n| BitfieldType::new(true, n)),
        Some((b'u', n)) => parse_i64(n)
            .and_then(|n| u8::try_from(n).ok())
            .and_then(|n| BitfieldType::new(false, n)),
        _ => None,
    };
    ty.ok_or_else(|| CmdError::msg(BITFIELD_TYPE_ERR))
}

fn unit(arg: &[u8]) -> Result<BitUnit, CmdError> {
    if arg.eq_ignore_ascii_case(b"BYTE") {
        Ok(BitUnit::Byte)
    } else if arg.eq_ignore_ascii_case(b"BIT") {
        Ok(BitUnit::Bit)
    } else {
        Err(CmdError::Syntax)
    }
}

/// For an argument error found after Redis would have looked the key up: a missing key answers
/// `missing` instead, a non-string WRONGTYPE, otherwise the argument error stands.
fn after_lookup(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    missing: i64,
    err: CmdError,
) -> Result<(), CmdError> {
    match ks!(ctx, k => k.get_with(key, |_| ()))? {
        None => {
            write::integer(ctx.out, missing);
            Ok(())
        }
        Some(()) => Err(err),
    }
}

/// ```text
/// SETBIT key offset value
/// ```
pub(crate) fn setbit(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let offset = bit_offset(args.next_bytes()?, None)?;
    let on = match parse_i64(args.next_bytes()?) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::msg(BIT_VALUE_ERR)),
    };
    // Redis reports `setbit` when the bit flipped or the string grew; a 0 written over a 0
    // needs the length from before (read only while string events are published).
    let len_before = if !on && ctx.notifying(class::STRING) {
        ks!(ctx, k => k.strlen(key)).unwrap_or(0)
    } else {
        0
    };
    let old = ks!(ctx, k => k.setbit(key, offset, on))?;
    if old != on || (!on && offset / 8 >= len_before as u64) {
        ctx.notify(class::STRING, "setbit", key);
    }
    write::integer(ctx.out, i64::from(old));
    Ok(())
}

/// ```text
/// GETBIT key offset
/// ```
pub(crate) fn getbit(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let offset = bit_offset(args.next_bytes()?, None)?;
    let bit = ks!(ctx, k => k.getbit(key, offset))?;
    write::integer(ctx.out, i64::from(bit));
    Ok(())
}

fn bitcount_range(args: &mut Args<'_>) -> Result<Option<BitRange>, CmdError> {
    match args.remaining() {
        0 => Ok(None),
        2 | 3 => {
            let start = args.next_int()?;
            let end = args.next_int()?;
            let unit = match args.peek() {
                Some(u) => unit(u)?,
                None => BitUnit::Byte,
            };
            Ok(Some(BitRange { start, end, unit }))
        }
        _ => Err(CmdError::Syntax),
    }
}

/// ```text
/// BITCOUNT key [start end [BYTE | BIT]]
/// ```
pub(crate) fn bitcount(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let range = match bitcount_range(args) {
        Ok(r) => r,
        Err(e) => return after_lookup(ctx, key, 0, e),
    };
    let n = ks!(ctx, k => k.bitcount(key, range))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

type PosRange = (Option<i64>, Option<i64>, BitUnit);

fn bitpos_range(args: &mut Args<'_>) -> Result<PosRange, CmdError> {
    let rest = args.rest();
    if rest.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let int = |i: usize| -> Result<Option<i64>, CmdError> {
        rest.get(i)
            .map(|a| parse_i64(a).ok_or(CmdError::NotInteger))
            .transpose()
    };
    // Redis reads start, then the unit, then end.
    let start = int(0)?;
    let unit = match rest.get(2) {
        Some(u) => unit(u)?,
        None => BitUnit::Byte,
    };
    let end = int(1)?;
    Ok((start, end, unit))
}

/// ```text
/// BITPOS key bit [start [end [BYTE | BIT]]]
/// ```
pub(crate) fn bitpos(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let bit = match args.next_int()? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let (start, end, unit) = match bitpos_range(args) {
        Ok(r) => r,
        Err(e) => return after_lookup(ctx, key, if bit { -1 } else { 0 }, e),
    };
    let n = ks!(ctx, k => k.bitpos(key, bit, start, end, unit))?;
    write::integer(ctx.out, n);
    Ok(())
}

/// ```text
/// BITOP <AND | OR | XOR | NOT> destkey key [key ...]
/// ```
pub(crate) fn bitop(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let name = args.next_bytes()?;
    let op = if name.eq_ignore_ascii_case(b"AND") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"OR") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"XOR") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"NOT") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    let dest = args.next_bytes()?;
    let srcs = args.rest();
    let existed = ctx.exists_for_notify(dest);
    let n = ks!(ctx, k => k.bitop(op, dest, srcs))?;
    ctx.notify_store(class::STRING, "set", dest, n > 0, existed);
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// Parses BITFIELD's subcommands; true in the second field if any writes.
fn bitfield_ops(args: &mut Args<'_>) -> Result<(Vec<BitfieldOp>, bool), CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut writes = false;
    while let Some(sub) = args.peek() {
        args.next_bytes()?;
        let left = args.remaining();
        let is = |w: &[u8]| sub.eq_ignore_ascii_case(w);
        if is(b"OVERFLOW") && left >= 1 {
            let kind = args.next_bytes()?;
            overflow = if kind.eq_ignore_ascii_case(b"WRAP") {
                Overflow::Wrap
            } else if kind.eq_ignore_ascii_case(b"SAT") {
                Overflow::Sat
            } else if kind.eq_ignore_ascii_case(b"FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            continue;
        }
        let get = is(b"GET") && left >= 2;
        let set = is(b"SET") && left >= 3;
        let incr = is(b"INCRBY") && left >= 3;
        if !(get || set || incr) {
            return Err(CmdError::Syntax);
        }
        let ty = bitfield_type(args.next_bytes()?)?;
        let offset = bit_offset(args.next_bytes()?, Some(ty.bits()))?;
        if get {
            ops.push(BitfieldOp::Get { ty, offset });
            continue;
        }
        writes = true;
        let value = args.next_int()?;
        ops.push(if set {
            BitfieldOp::Set {
                ty,
                offset,
                value,
                overflow,
            }
        } else {
            BitfieldOp::IncrBy {
                ty,
                offset,
                incr: value,
                overflow,
            }
        });
    }
    Ok((ops, writes))
}

fn reply_fields(ctx: &mut Ctx<'_, '_>, vals: &[Option<i64>]) {
    write::array_len(ctx.out, vals.len());
    for v in vals {
        match v {
            Some(n) => write::integer(ctx.out, *n),
            None => ctx.null(),
        }
    }
}

/// ```text
/// BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
///     <SET encoding offset value | INCRBY encoding offset increment> ...]
/// ```
pub(crate) fn bitfield(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let (ops, _) = bitfield_ops(args)?;
    let vals = ks!(ctx, k => k.bitfield(key, &ops))?;
    // A SET or INCRBY that ran (not refused by OVERFLOW FAIL) changed the string.
    let changed = ops
        .iter()
        .zip(&vals)
        .any(|(op, v)| !matches!(op, BitfieldOp::Get { .. }) && v.is_some());
    if changed {
        ctx.notify(class::STRING, "setbit", key);
    }
    reply_fields(ctx, &vals);
    Ok(())
}

/// ```text
/// BITFIELD_RO key [GET encoding offset ...]
/// ```
pub(crate) fn bitfield_ro(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let (ops, writes) = bitfield_ops(args)?;
    if writes {
        return Err(CmdError::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let vals = ks!(ctx, k => k.bitfield_ro(key, &ops))?;
    reply_fields(ctx, &vals);
    Ok(())
}

/// ```text
/// PFADD key [element [element ...]]
/// ```
pub(crate) fn pfadd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let elements = args.rest();
    let changed = ks!(ctx, k => k.pfadd(key, elements))?;
    if changed {
        ctx.notify(class::STRING, "pfadd", key);
    }
    write::integer(ctx.out, i64::from(changed));
    Ok(())
}

/// ```text
/// PFCOUNT key [key ...]
/// ```
pub(crate) fn pfcount(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    let n = ks!(ctx, k => k.pfcount(keys))?;
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// PFMERGE destkey [sourcekey [sourcekey ...]]
/// ```
pub(crate) fn pfmerge(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let dest = args.next_bytes()?;
    let srcs = args.rest();
    ks!(ctx, k => k.pfmerge(dest, srcs))?;
    ctx.notify(class::STRING, "pfadd", dest);
    ctx.ok();
    Ok(())
}
