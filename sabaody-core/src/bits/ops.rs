//! The bitmap and HyperLogLog operations over [`Access`]: they read and change string values
//! where they lie (long strings in place in their slab `Bytes`, short ones rewritten inline).

use super::bitmap::{self, BitOp};
use super::hll;
use super::{BitRange, BitUnit, BitfieldOp, BitfieldType, Overflow};
use crate::Error;
use crate::access::Access;
use crate::ops::{MAX_STRING, fmt_i64, live, live_ro, locate, plan, pos, read_key};
use crate::shard::{Data, INLINE_MAX, Shard, View};
use crate::store::Store;
use crate::value::Value;
use bytes::BytesMut;
use std::borrow::Cow;

/// Largest bit offset: the string may not pass 512 MiB.
pub(crate) const MAX_BIT_OFFSET: u64 = (MAX_STRING as u64) * 8 - 1;

fn check_offset(offset: u64) -> Result<(), Error> {
    if offset > MAX_BIT_OFFSET {
        Err(Error::BitOffsetOutOfRange)
    } else {
        Ok(())
    }
}

/// Stores `m` as `key`'s string value with `ttl`: inline when short, else a slab `Bytes` (no copy).
fn store(s: &mut Shard, h: u64, key: &[u8], m: BytesMut, ttl: Option<i64>) -> Result<(), Error> {
    if m.len() > INLINE_MAX {
        s.put(h, key, Data::Value(Value::Str(m.freeze())), ttl)?;
    } else {
        s.put(h, key, Data::string(&m), ttl)?;
    }
    Ok(())
}

/// Runs `f` on the string bytes of `key` under its shard's write lock, keeping the TTL.
/// A missing key is created from `create` (and stored even if `f` reports no change), or
/// `Ok(None)` without `create`. `f(bytes, created)` returns its result, whether it changed
/// the bytes, and the changes Redis counts for it in `server.dirty` (which may be 0 for a
/// change: a `BITFIELD` refused by `OVERFLOW FAIL` still grows the string); on error it must
/// not have changed them. Long strings change in place.
pub(crate) fn string_mut<T>(
    s: &mut Shard,
    store_: &Store,
    h: u64,
    key: &[u8],
    create: Option<&[u8]>,
    f: impl FnOnce(&mut BytesMut, bool) -> Result<(T, bool, usize), Error>,
) -> Result<Option<T>, Error> {
    let Some(r) = live(s, store_, h, key) else {
        let Some(init) = create else { return Ok(None) };
        let mut m = BytesMut::from(init);
        let (t, _, changes) = f(&mut m, true)?;
        store(s, h, key, m, None)?;
        s.count_changes(changes);
        return Ok(Some(t));
    };
    let mut m = match s.view(&r) {
        View::Value(Value::Str(_)) => {
            let mut out = None;
            s.update_slab(&r, |v| out = v.with_str_mut(|m| f(m, false)));
            return match out {
                Some(res) => res.map(|(t, _, changes)| {
                    s.count_changes(changes);
                    Some(t)
                }),
                None => Err(Error::WrongType),
            };
        }
        #[allow(unreachable_patterns)]
        View::Value(_) => return Err(Error::WrongType),
        View::Inline(b) => BytesMut::from(b),
        View::Int(i) => BytesMut::from(fmt_i64(i, &mut [0; 20])),
    };
    let (t, changed, changes) = f(&mut m, false)?;
    if changed {
        let ttl = s.expire_at(&r);
        store(s, h, key, m, ttl)?;
    }
    s.count_changes(changes);
    Ok(Some(t))
}

/// [`string_mut`] on one key, locking its shard.
fn with_string_mut<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    create: Option<&[u8]>,
    f: impl FnOnce(&mut BytesMut, bool) -> Result<(T, bool, usize), Error>,
) -> Result<Option<T>, Error> {
    let (h, gid) = locate(a, key);
    let st = a.store();
    a.write(gid, |s| string_mut(s, st, h, key, create, f))
}

/// [`with_string_mut`] with a read-only first look: if `peek` answers from the current bytes
/// (the write would change nothing), the value is left alone (no version bump, no
/// `Bytes` round trip).
fn with_string_mut_unless<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    create: Option<&[u8]>,
    peek: impl FnOnce(&[u8]) -> Option<T>,
    f: impl FnOnce(&mut BytesMut, bool) -> Result<(T, bool, usize), Error>,
) -> Result<Option<T>, Error> {
    let (h, gid) = locate(a, key);
    let st = a.store();
    a.write(gid, |s| {
        if let Some(r) = live(s, st, h, key)
            && let Ok(b) = str_view(s.view(&r))
            && let Some(t) = peek(&b)
        {
            return Ok(Some(t));
        }
        string_mut(s, st, h, key, create, f)
    })
}

/// The string bytes of a record for a reader: `Cow::Owned` only for integer-encoded values.
fn str_view<'a>(v: View<'a>) -> Result<Cow<'a, [u8]>, Error> {
    match v {
        View::Inline(b) => Ok(Cow::Borrowed(b)),
        View::Int(i) => Ok(Cow::Owned(fmt_i64(i, &mut [0; 20]).to_vec())),
        View::Value(Value::Str(b)) => Ok(Cow::Borrowed(&b[..])),
        #[allow(unreachable_patterns)]
        View::Value(_) => Err(Error::WrongType),
    }
}

/// Lends the string value of `key` to `f` under a read lock (`None` if missing).
fn read_str<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&[u8]) -> T,
) -> Result<Option<T>, Error> {
    read_key(a, key, |s, r| str_view(s.view(r)).map(|b| f(&b))).transpose()
}

// ----- bitmaps -----

pub(crate) fn setbit<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    offset: u64,
    on: bool,
) -> Result<bool, Error> {
    a.make_room()?;
    check_offset(offset)?;
    let byte = (offset / 8) as usize;
    let mask = 0x80u8 >> (offset % 8);
    let same = |b: &[u8]| b.get(byte).filter(|x| (**x & mask != 0) == on).map(|_| on);
    let old = with_string_mut_unless(a, key, Some(&[]), same, |m, created| {
        let grow = m.len() <= byte;
        if grow {
            m.resize(byte + 1, 0);
        }
        let b = &mut m[byte];
        let old = *b & mask != 0;
        if on {
            *b |= mask;
        } else {
            *b &= !mask;
        }
        // Redis counts one change when the string grew or the bit flipped.
        let changed = created || grow || old != on;
        Ok((old, changed, usize::from(changed)))
    })?;
    Ok(old.unwrap_or(false))
}

pub(crate) fn getbit<A: Access + ?Sized>(a: &A, key: &[u8], offset: u64) -> Result<bool, Error> {
    check_offset(offset)?;
    let byte = (offset / 8) as usize;
    let bit = read_str(a, key, |b| {
        b.get(byte).is_some_and(|x| x & (0x80 >> (offset % 8)) != 0)
    })?;
    Ok(bit.unwrap_or(false))
}

/// Resolves a Redis range (negative = from the end, clamped) over `len` units; `None` if empty.
fn resolve(start: i64, end: i64, len: i64) -> Option<(u64, u64)> {
    let (mut s, mut e) = (start, end);
    if s < 0 {
        s = s.saturating_add(len);
    }
    if e < 0 {
        e = e.saturating_add(len);
    }
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    (s <= e).then_some((s as u64, e as u64))
}

/// The bit range `r` covers in a string of `len` bytes, or `None` if it is empty.
fn bit_span(r: &BitRange, len: usize) -> Option<(u64, u64)> {
    let len = len as i64;
    match r.unit {
        BitUnit::Byte => resolve(r.start, r.end, len).map(|(s, e)| (s * 8, e * 8 + 7)),
        BitUnit::Bit => resolve(r.start, r.end, len * 8),
    }
}

pub(crate) fn bitcount<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    range: Option<BitRange>,
) -> Result<u64, Error> {
    let n = read_str(a, key, |b| {
        let (first, last) = match &range {
            None => (0, (b.len() as u64 * 8).checked_sub(1)?),
            Some(r) => {
                if r.start < 0 && r.end < 0 && r.start > r.end {
                    return None;
                }
                bit_span(r, b.len())?
            }
        };
        Some(count_span(b, first, last))
    })?;
    Ok(n.flatten().unwrap_or(0))
}

/// Set bits among bits `first..=last` of `b` (inside `b`).
fn count_span(b: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = ((first / 8) as usize, (last / 8) as usize);
    let Some(bytes) = b.get(fb..=lb) else {
        return 0;
    };
    let mut n = bitmap::popcount(bytes);
    let head = !(0xFFu8 >> (first % 8));
    let tail = 0xFFu8.checked_shr(1 + (last % 8) as u32).unwrap_or(0);
    if let (Some(x), Some(y)) = (bytes.first(), bytes.last()) {
        n -= u64::from((x & head).count_ones());
        n -= u64::from((y & tail).count_ones());
    }
    n
}

pub(crate) fn bitpos<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    bit: bool,
    start: Option<i64>,
    end: Option<i64>,
    unit: BitUnit,
) -> Result<i64, Error> {
    let found = read_str(a, key, |b| {
        let len = b.len() as i64;
        let total = match unit {
            BitUnit::Byte => len,
            BitUnit::Bit => len * 8,
        };
        let Some((s, e)) = resolve(start.unwrap_or(0), end.unwrap_or(total - 1), total) else {
            return -1;
        };
        let (first, last) = match unit {
            BitUnit::Byte => (s * 8, e * 8 + 7),
            BitUnit::Bit => (s, e),
        };
        match bitmap::find_bit(b, bit, first, last) {
            Some(p) => p as i64,
            // With no explicit end the string counts as zero-padded on the right.
            None if !bit && end.is_none() => last as i64 + 1,
            None => -1,
        }
    })?;
    // A missing key is an infinite run of zero bits.
    Ok(found.unwrap_or(if bit { -1 } else { 0 }))
}

pub(crate) fn bitop<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    op: BitOp,
    dest: &[u8],
    srcs: &[K],
) -> Result<usize, Error> {
    a.make_room()?;
    if op == BitOp::Not && srcs.len() != 1 {
        return Err(Error::BitopNotSingleSource);
    }
    let mut keys: Vec<&[u8]> = Vec::with_capacity(srcs.len() + 1);
    keys.push(dest);
    keys.extend(srcs.iter().map(AsRef::as_ref));
    let st = a.store();
    let (gids, located) = plan(a, &keys);
    let mut found = Vec::with_capacity(srcs.len());
    let r = a.write_many(&gids, |shards| {
        // Lazy expiry first: deleting may move records, so no view is taken until it is done.
        for (k, &(h, gid)) in keys.iter().zip(&located).skip(1) {
            live(shards[pos(&gids, gid)], st, h, k);
        }
        let res = {
            let mut views: Vec<Cow<'_, [u8]>> = Vec::with_capacity(srcs.len());
            for (k, &(h, gid)) in keys.iter().zip(&located).skip(1) {
                let s: &Shard = shards[pos(&gids, gid)];
                let rec = live_ro(s, st, h, k);
                found.push(rec.is_some());
                views.push(match rec {
                    Some(r) => str_view(s.view(&r))?,
                    None => Cow::Borrowed(&[][..]),
                });
            }
            let refs: Vec<&[u8]> = views.iter().map(|c| &c[..]).collect();
            bitmap::bitop(op, &refs)
        };
        let (h, gid) = located[0];
        let s = &mut *shards[pos(&gids, gid)];
        let n = res.len();
        // Redis counts one change: the stored result, or the deletion of `dest`.
        if n == 0 {
            let existed = s.remove(h, dest, false).is_some();
            s.count_changes(usize::from(existed));
        } else {
            s.count_changes(1);
            // The result is handed over without a copy when it goes to the slab.
            let data = if n > INLINE_MAX {
                Data::Value(Value::Str(bytes::Bytes::from(res)))
            } else {
                Data::string(&res)
            };
            s.put(h, dest, data, None)?;
        }
        Ok(n)
    });
    crate::ops::count_sources(a, srcs, &found);
    r
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits == 64 {
        v as i64
    } else {
        ((v << (64 - bits)) as i64) >> (64 - bits)
    }
}

/// `[min, max]` of a signed field.
fn signed_limits(bits: u32) -> [i64; 2] {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    [-max - 1, max]
}

/// Redis's `checkSignedBitfieldOverflow`, quirks included: 1 if `value + incr` passes the
/// maximum, -1 if it passes the minimum, 0 if it fits. Its limits are computed with wrapping
/// arithmetic, so a SET far below the minimum of a narrow type counts as an overflow upwards
/// (SAT then stores the maximum, as Redis 7.0 does).
fn signed_overflow(value: i64, incr: i64, bits: u32) -> i8 {
    let [min, max] = signed_limits(bits);
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        1
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        -1
    } else {
        0
    }
}

/// One BITFIELD write: the old and new field values, whether it overflowed.
fn field_write(ty: BitfieldType, old: u64, op: &BitfieldOp) -> (i64, Option<u64>) {
    let bits = u32::from(ty.bits);
    let (value, incr, overflow, is_set) = match *op {
        BitfieldOp::Set {
            value, overflow, ..
        } => (value, 0i64, overflow, true),
        BitfieldOp::IncrBy { incr, overflow, .. } => (0, incr, overflow, false),
        BitfieldOp::Get { .. } => return (0, None),
    };
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    if ty.signed {
        let oldv = sign_extend(old, bits);
        let (base, by) = if is_set { (value, 0) } else { (oldv, incr) };
        let newv = match signed_overflow(base, by, bits) {
            0 => Some(base.wrapping_add(by)),
            dir => match overflow {
                Overflow::Wrap => Some(sign_extend(
                    (base as u64).wrapping_add(by as u64) & mask,
                    bits,
                )),
                Overflow::Sat => Some(signed_limits(bits)[usize::from(dir > 0)]),
                Overflow::Fail => None,
            },
        };
        match newv {
            Some(n) => (if is_set { oldv } else { n }, Some((n as u64) & mask)),
            None => (0, None),
        }
    } else {
        let max = i128::from(mask);
        // SET takes the argument as an unsigned 64-bit pattern, as Redis does.
        let want = if is_set {
            i128::from(value as u64)
        } else {
            i128::from(old) + i128::from(incr)
        };
        let newv = if (0..=max).contains(&want) {
            Some(want as u64)
        } else {
            match overflow {
                Overflow::Wrap => Some((want as u64) & mask),
                Overflow::Sat => Some(if want > max { mask } else { 0 }),
                Overflow::Fail => None,
            }
        };
        match newv {
            Some(n) => (if is_set { old as i64 } else { n as i64 }, Some(n)),
            None => (0, None),
        }
    }
}

fn field_get(b: &[u8], ty: BitfieldType, offset: u64) -> i64 {
    if ty.signed {
        bitmap::get_signed(b, offset, u32::from(ty.bits))
    } else {
        bitmap::get_unsigned(b, offset, u32::from(ty.bits)) as i64
    }
}

pub(crate) fn bitfield<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    ops: &[BitfieldOp],
) -> Result<Vec<Option<i64>>, Error> {
    let mut highest: Option<u64> = None;
    for op in ops {
        let (ty, offset) = op.field();
        check_offset(offset)?;
        if !matches!(op, BitfieldOp::Get { .. }) {
            let top = offset + u64::from(ty.bits) - 1;
            highest = Some(highest.map_or(top, |h| h.max(top)));
        }
    }
    let Some(highest) = highest else {
        return bitfield_ro(a, key, ops);
    };
    a.make_room()?;
    let need = (highest / 8) as usize + 1;
    let out = with_string_mut(a, key, Some(&[]), |m, created| {
        // Redis counts each write that is not refused by OVERFLOW FAIL and changes its field,
        // or every such write when the string grew.
        let grew = created || m.len() < need;
        let mut changes = 0;
        if m.len() < need {
            m.resize(need, 0);
        }
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let (ty, offset) = op.field();
            let bits = u32::from(ty.bits);
            if let BitfieldOp::Get { .. } = op {
                out.push(Some(field_get(m, ty, offset)));
                continue;
            }
            let old = bitmap::get_unsigned(m, offset, bits);
            match field_write(ty, old, op) {
                (reply, Some(new)) => {
                    bitmap::set_field(m, offset, bits, new);
                    changes += usize::from(grew || new != old);
                    out.push(Some(reply));
                }
                (_, None) => out.push(None),
            }
        }
        Ok((out, grew || changes > 0, changes))
    })?;
    Ok(out.unwrap_or_default())
}

pub(crate) fn bitfield_ro<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    ops: &[BitfieldOp],
) -> Result<Vec<Option<i64>>, Error> {
    for op in ops {
        check_offset(op.field().1)?;
    }
    let run = |b: &[u8]| -> Vec<Option<i64>> {
        ops.iter()
            .map(|op| {
                let (ty, offset) = op.field();
                Some(field_get(b, ty, offset))
            })
            .collect()
    };
    Ok(read_str(a, key, run)?.unwrap_or_else(|| run(&[])))
}

// ----- HyperLogLog -----

/// The HLL bytes of a record, checked: `NotHyperLogLog` for an integer or a non-HLL string.
fn hll_view<'a>(v: View<'a>) -> Result<&'a [u8], Error> {
    let b = match v {
        View::Inline(b) => b,
        View::Value(Value::Str(b)) => &b[..],
        View::Int(_) => return Err(Error::NotHyperLogLog),
        #[allow(unreachable_patterns)]
        View::Value(_) => return Err(Error::WrongType),
    };
    hll::check(b)?;
    Ok(b)
}

pub(crate) fn pfadd<A: Access + ?Sized, E: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    elements: &[E],
) -> Result<bool, Error> {
    a.make_room()?;
    let (h, gid) = locate(a, key);
    let st = a.store();
    // A dense HLL that no element would raise stays untouched (the common case once it is
    // full): that is seen under the read lock, with none of a write's bookkeeping. An expired
    // key counts as missing here and is deleted by the write below.
    let unchanged = a.read(gid, |s| {
        live_ro(s, st, h, key).is_some_and(|r| {
            str_view(s.view(&r)).is_ok_and(|b| {
                hll::check(&b).is_ok()
                    && hll::is_dense(&b)
                    && elements.iter().all(|e| !hll::would_raise(&b, e.as_ref()))
            })
        })
    });
    if unchanged {
        return Ok(false);
    }
    let r = a.write(gid, |s| {
        string_mut(s, st, h, key, Some(&hll::EMPTY), |m, created| {
            if !created {
                hll::check(m)?;
            }
            // Redis counts the creation and each element that raised a register.
            let mut updated = usize::from(created);
            for e in elements {
                updated += usize::from(hll::add(m, e.as_ref())?);
            }
            if updated > 0 {
                hll::invalidate(m);
            }
            Ok((updated > 0, updated > 0, updated))
        })
    })?;
    Ok(r.unwrap_or(false))
}

pub(crate) fn pfcount<A: Access + ?Sized, K: AsRef<[u8]>>(a: &A, keys: &[K]) -> Result<u64, Error> {
    match keys {
        [] => Ok(0),
        [key] => pfcount_one(a, key.as_ref()),
        _ => {
            let st = a.store();
            let (gids, located) = plan(a, keys);
            let mut found = Vec::with_capacity(keys.len());
            let r = a.read_many(&gids, |shards| {
                let mut max = [0u8; hll::REGS];
                for (k, &(h, gid)) in keys.iter().zip(&located) {
                    let s = shards[pos(&gids, gid)];
                    let rec = live_ro(s, st, h, k.as_ref());
                    found.push(rec.is_some());
                    if let Some(r) = rec {
                        hll::merge_into(&mut max, hll_view(s.view(&r))?)?;
                    }
                }
                Ok(hll::count_raw(&max))
            });
            crate::ops::count_sources(a, keys, &found);
            r
        }
    }
}

fn pfcount_one<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<u64, Error> {
    let cached = read_key(a, key, |s, r| hll_view(s.view(r)).map(hll::cached)).transpose()?;
    match cached {
        None => Ok(0),
        Some(Some(n)) => Ok(n),
        Some(None) => {
            // Stale cache: count under the write lock and store the count in the header.
            let n = with_string_mut(a, key, None, |m, _| {
                hll::check(m)?;
                if let Some(n) = hll::cached(m) {
                    return Ok((n, false, 0));
                }
                let n = hll::count(m)?;
                hll::set_cached(m, n);
                // Redis counts the cache update as a change (it propagates it).
                Ok((n, true, 1))
            })?;
            Ok(n.unwrap_or(0))
        }
    }
}

pub(crate) fn pfmerge<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    dest: &[u8],
    srcs: &[K],
) -> Result<(), Error> {
    a.make_room()?;
    let mut keys: Vec<&[u8]> = Vec::with_capacity(srcs.len() + 1);
    keys.push(dest);
    keys.extend(srcs.iter().map(AsRef::as_ref));
    let st = a.store();
    let (gids, located) = plan(a, &keys);
    let mut found = Vec::with_capacity(keys.len());
    let r = a.write_many(&gids, |shards| {
        for (k, &(h, gid)) in keys.iter().zip(&located) {
            live(shards[pos(&gids, gid)], st, h, k);
        }
        // The destination takes part in the union, as in Redis (and is looked up as a read).
        let mut max = Box::new([0u8; hll::REGS]);
        let mut dense = false;
        for (k, &(h, gid)) in keys.iter().zip(&located) {
            let s: &Shard = shards[pos(&gids, gid)];
            let rec = live_ro(s, st, h, k);
            found.push(rec.is_some());
            if let Some(r) = rec {
                let v = hll_view(s.view(&r))?;
                dense |= hll::is_dense(v);
                hll::merge_into(&mut max, v)?;
            }
        }
        let (h, gid) = located[0];
        string_mut(
            shards[pos(&gids, gid)],
            st,
            h,
            dest,
            Some(&hll::EMPTY),
            |m, _| {
                hll::write_merged(m, &max, dense)?;
                Ok(((), true, 1))
            },
        )?;
        Ok(())
    });
    crate::ops::count_sources(a, &keys, &found);
    r
}
