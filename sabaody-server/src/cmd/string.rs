//! String commands: GET SET GETDEL GETEX GETSET MGET MSET MSETNX APPEND STRLEN GETRANGE/SUBSTR
//! SETRANGE SETNX SETEX PSETEX INCR DECR INCRBY DECRBY INCRBYFLOAT.

use sabaody_core::{GetExExpiry, Keyspace, SetCondition, SetExpiry, SetOptions};
use sabaody_resp::write;

use super::{Args, CmdError, Ctx, ks};
use crate::notify::class;

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
        ctx.notify(class::STRING, "set", key);
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
    if outcome.written {
        ctx.notify(class::STRING, "set", key);
    }
    if !outcome.written {
        ctx.propagate_nothing();
    } else if matches!(opts.expiry, Some(e) if e != SetExpiry::KeepTtl) {
        ctx.notify(class::GENERIC, "expire", key);
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
    if v.is_some() {
        ctx.notify(class::GENERIC, "del", key);
    }
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
    // PERSIST reports an event only when it removed a TTL.
    let had_ttl = matches!(expiry, Some(GetExExpiry::Persist))
        && ctx.notifying(class::GENERIC)
        && ks!(ctx, k => k.has_ttl(key));
    let v = match ks!(ctx, k => k.getex(key, expiry)) {
        // Redis looks the key up before checking the time: a missing key answers nil.
        Err(sabaody_core::Error::InvalidExpireTime(_)) if ks!(ctx, k => k.exists(&[key])) == 0 => {
            None
        }
        other => other?,
    };
    match (&v, expiry) {
        (Some(_), Some(GetExExpiry::Persist)) => {
            if had_ttl {
                ctx.notify(class::GENERIC, "persist", key);
            }
            ctx.propagate(vec![bytes::Bytes::from_static(b"PERSIST"), key.clone()])
        }
        (Some(_), Some(_)) => {
            ctx.notify_expiry_set(key);
            ctx.propagate_expiry(key, &[])
        }
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
    ctx.notify(class::STRING, "set", key);
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
    for (key, _) in &p {
        ctx.notify(class::STRING, "set", key);
    }
    ctx.ok();
    Ok(())
}

/// ```text
/// MSETNX key value [key value ...]
/// ```
pub(crate) fn msetnx(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let p = pairs(args, "msetnx")?;
    let done = ks!(ctx, k => k.msetnx(&p))?;
    if done {
        for (key, _) in &p {
            ctx.notify(class::STRING, "set", key);
        }
    }
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
    ctx.notify(class::STRING, "append", key);
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
    // An empty value changes nothing (and creates no key).
    if !value.is_empty() {
        ctx.notify(class::STRING, "setrange", key);
    }
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
    if done {
        ctx.notify(class::STRING, "set", key);
    }
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
    ctx.notify(class::STRING, "set", key);
    ctx.notify(class::GENERIC, "expire", key);
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
    ctx.notify(class::STRING, "set", key);
    ctx.notify(class::GENERIC, "expire", key);
    ctx.propagate_expiry(key, &[b"SET", key, value]);
    ctx.ok();
    Ok(())
}

fn incr_common(ctx: &mut Ctx<'_, '_>, key: &[u8], by: i64) -> Result<(), CmdError> {
    let n = ks!(ctx, k => k.incr_by(key, by))?;
    ctx.notify(class::STRING, "incrby", key);
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
    ctx.notify(class::STRING, "incrby", key);
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
    ctx.notify(class::STRING, "incrbyfloat", key);
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

/// One run of LCS IDX: the ranges in the first and the second string, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LcsMatch {
    pub a: (usize, usize),
    pub b: (usize, usize),
}

impl LcsMatch {
    pub fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// What LCS computed: the common subsequence and its runs from the ends of the strings
/// backwards, as Redis walks its table (`lcsCommand`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Lcs {
    pub text: Vec<u8>,
    pub matches: Vec<LcsMatch>,
}

/// The longest common subsequence of `a` and `b` by Redis's dynamic programme: a table of
/// `(|a| + 1) * (|b| + 1)` lengths, walked back from the end preferring to drop a byte of
/// `b` on ties. `None` when the table cannot be allocated.
pub(crate) fn lcs_of(a: &[u8], b: &[u8]) -> Option<Lcs> {
    let w = b.len() + 1;
    let cells = (a.len() + 1).checked_mul(w)?;
    let mut dp: Vec<u32> = Vec::new();
    dp.try_reserve_exact(cells).ok()?;
    dp.resize(cells, 0);
    for (i, &ca) in a.iter().enumerate() {
        let (done, rest) = dp.split_at_mut((i + 1) * w);
        let prev = done.get(i * w..).unwrap_or(&[]);
        let Some(cur) = rest.get_mut(..w) else { break };
        for (j, &cb) in b.iter().enumerate() {
            let v = if ca == cb {
                prev.get(j).map_or(0, |x| x + 1)
            } else {
                let up = prev.get(j + 1).copied().unwrap_or(0);
                let left = cur.get(j).copied().unwrap_or(0);
                up.max(left)
            };
            if let Some(c) = cur.get_mut(j + 1) {
                *c = v;
            }
        }
    }
    let at = |i: usize, j: usize| dp.get(i * w + j).copied().unwrap_or(0);
    let total = at(a.len(), b.len()) as usize;
    let mut text = vec![0u8; total];
    let mut matches = Vec::new();
    let (mut i, mut j, mut idx) = (a.len(), b.len(), total);
    // The run being extended backwards: (a start, a end, b start, b end).
    let mut run: Option<(usize, usize, usize, usize)> = None;
    while i > 0 && j > 0 {
        let (ca, cb) = (a.get(i - 1), b.get(j - 1));
        let mut emit = false;
        if ca == cb {
            if let (Some(t), Some(&c)) = (idx.checked_sub(1).and_then(|k| text.get_mut(k)), ca) {
                *t = c;
            }
            run = Some(match run {
                None => (i - 1, i - 1, j - 1, j - 1),
                // Matches on the walk back are always contiguous with the run (a mismatch
                // ends it first).
                Some((_, ae, _, be)) => (i - 1, ae, j - 1, be),
            });
            if run.is_some_and(|(as_, _, bs, _)| as_ == 0 || bs == 0) {
                emit = true;
            }
            idx = idx.saturating_sub(1);
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit && let Some((as_, ae, bs, be)) = run.take() {
            matches.push(LcsMatch {
                a: (as_, ae),
                b: (bs, be),
            });
        }
    }
    Some(Lcs { text, matches })
}

/// ```text
/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
/// ```
pub(crate) fn lcs(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let k1 = args.next_bytes()?;
    let k2 = args.next_bytes()?;
    // Both keys are read and checked before the options, as Redis does.
    let r1 = ks!(ctx, k => k.get(k1));
    let r2 = ks!(ctx, k => k.get(k2));
    let (a, b) = match (r1, r2) {
        (Err(sabaody_core::Error::WrongType), _) | (_, Err(sabaody_core::Error::WrongType)) => {
            return Err(CmdError::msg(
                "ERR The specified keys must contain string values",
            ));
        }
        (r1, r2) => (r1?.unwrap_or_default(), r2?.unwrap_or_default()),
    };
    let (mut idx, mut len, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if is(opt, b"IDX") {
            idx = true;
        } else if is(opt, b"LEN") {
            len = true;
        } else if is(opt, b"WITHMATCHLEN") {
            withmatchlen = true;
        } else if is(opt, b"MINMATCHLEN") && args.remaining() > 0 {
            minmatchlen = args.next_int()?.max(0);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if idx && len {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let limit = u128::from(u32::MAX - 1);
    if a.len() as u128 >= limit || b.len() as u128 >= limit {
        return Err(CmdError::msg("ERR String too long for LCS"));
    }
    // Redis refuses a table (4-byte cells) larger than proto-max-bulk-len.
    let table = (a.len() as u128 + 1) * (b.len() as u128 + 1) * 4;
    if table > u128::from(ctx.shared.config.read().proto_max_bulk_len) {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let found = lcs_of(&a, &b).ok_or_else(|| {
        CmdError::msg("ERR Insufficient memory, failed allocating transient memory for LCS")
    })?;
    let proto = ctx.proto();
    let out = &mut *ctx.out;
    if idx {
        let shown: Vec<&LcsMatch> = found
            .matches
            .iter()
            .filter(|m| m.len() as u128 >= minmatchlen as u128)
            .collect();
        write::map_len(out, proto, 2);
        write::bulk(out, b"matches");
        write::array_len(out, shown.len());
        for m in shown {
            write::array_len(out, if withmatchlen { 3 } else { 2 });
            for (s, e) in [m.a, m.b] {
                write::array_len(out, 2);
                write::integer(out, s as i64);
                write::integer(out, e as i64);
            }
            if withmatchlen {
                write::integer(out, m.len() as i64);
            }
        }
        write::bulk(out, b"len");
        write::integer(out, found.text.len() as i64);
    } else if len {
        write::integer(out, found.text.len() as i64);
    } else {
        write::bulk(out, &found.text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(a: (usize, usize), b: (usize, usize)) -> LcsMatch {
        LcsMatch { a, b }
    }

    #[test]
    fn lcs_as_redis() {
        let r = lcs_of(b"ohmytext", b"mynewtext").unwrap();
        assert_eq!(r.text, b"mytext");
        assert_eq!(r.matches, [m((4, 7), (5, 8)), m((2, 3), (0, 1))]);
        // Ties drop a byte of the second string first (redis-server 7.0.15 says BDAB).
        let r = lcs_of(b"ABCBDAB", b"BDCABA").unwrap();
        assert_eq!(r.text, b"BDAB");
        let r = lcs_of(b"aaaa", b"aa").unwrap();
        assert_eq!(r.matches, [m((2, 3), (0, 1))]);
        let r = lcs_of(b"", b"abc").unwrap();
        assert_eq!(r, Lcs::default());
        let r = lcs_of(b"abc", b"xyz").unwrap();
        assert!(r.text.is_empty() && r.matches.is_empty());
        let r = lcs_of(b"abc", b"abc").unwrap();
        assert_eq!(r.matches, [m((0, 2), (0, 2))]);
        assert_eq!(r.matches[0].len(), 3);
    }

    /// The LCS text is a common subsequence of the longest length, and the matches are its
    /// pieces: disjoint, decreasing runs of equal bytes covering the whole text.
    #[test]
    fn lcs_is_a_longest_common_subsequence() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let mut make = |n: u64| -> Vec<u8> {
                let len = (next() % n) as usize;
                (0..len).map(|_| b"abc"[(next() % 3) as usize]).collect()
            };
            let (a, b) = (make(12), make(12));
            let r = lcs_of(&a, &b).unwrap();
            // Length by an independent recursion-free count (two rows).
            let mut prev = vec![0usize; b.len() + 1];
            for &x in &a {
                let mut cur = vec![0usize; b.len() + 1];
                for (j, &y) in b.iter().enumerate() {
                    cur[j + 1] = if x == y {
                        prev[j] + 1
                    } else {
                        prev[j + 1].max(cur[j])
                    };
                }
                prev = cur;
            }
            assert_eq!(r.text.len(), prev[b.len()]);
            let mut covered = 0;
            let mut last: Option<&LcsMatch> = None;
            for mm in &r.matches {
                assert_eq!(mm.a.1 - mm.a.0, mm.b.1 - mm.b.0);
                assert_eq!(&a[mm.a.0..=mm.a.1], &b[mm.b.0..=mm.b.1]);
                if let Some(l) = last {
                    assert!(mm.a.1 < l.a.0 && mm.b.1 < l.b.0);
                }
                covered += mm.len();
                last = Some(mm);
            }
            assert_eq!(covered, r.text.len());
        }
    }
}
