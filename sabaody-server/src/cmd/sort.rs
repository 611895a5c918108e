//! SORT and SORT_RO, as Redis 7.0 (`sort.c`).
//!
//! ```text
//! SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
//!   [ASC | DESC] [ALPHA] [STORE destination]
//! SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
//! ```
//!
//! The source is a list, a set or a sorted set (a missing key sorts as an empty list). Each
//! element gets a weight: itself, or the value of the key its BY pattern names (`*` replaced
//! by the element, `key->field` reading a hash field); a pattern without `*` (`BY nosort`)
//! skips sorting, keeping a list's or sorted set's own order (LIMIT and DESC still apply to
//! it). Numeric weights are read as C's `strtod` reads them (whole text, no NaN, no range
//! error); a missing weight key counts as 0, or sorts first with ALPHA. Equal numeric
//! weights fall back to comparing the elements as bytes, so the order is total; ALPHA
//! compares as `strcoll` in the C locale does (bytes up to the first NUL) except with
//! STORE, where whole strings are compared. Redis's pattern parsing also stops at a NUL
//! (`strchr`, `strstr`): so does ours.
//!
//! Ties: elements that compare equal under ALPHA keep their source order in a full sort
//! (glibc's merge sort does that); `BY ... LIMIT` reproduces Redis's partial quicksort, so
//! ties end where Redis leaves them, for up to [`PARTIAL_SORT_MAX`] elements. A set's or a
//! sorted set's source order is its hash table's, which is not Redis's: ties among their
//! elements may come out in another order. Redis also converts a listpack sorted set to a
//! skiplist when it sorts it; its encoding is left as it is here.
//!
//! Redis tests `errno` for a range error without clearing it first, so after a weight that
//! overflowed, a later numeric SORT on the same server may fail until something resets
//! `errno`; that accident is not reproduced.
//!
//! Consistency: a SORT that reads keys named by its patterns, or stores its result, runs
//! with every shard locked (the all-shards transaction EXEC uses), so no other connection's
//! write lands between its reads and its write, as with Redis's single thread; that costs
//! about 20 us of locking per call (measured on `SORT l BY w_* GET w_*`, 100 elements). A
//! plain SORT reads its one key under that key's shard lock.
//!
//! A set or sorted set source is looked up three times (the list read that finds another
//! type, its type, its members), so `keyspace_hits` counts more than Redis's one lookup.
//!
//! STORE replaces the destination with a list (its TTL dropped) or deletes it when the
//! result is empty. The AOF logs the effect (`DEL dst` if it held something, `RPUSH dst
//! <result>`, the two inside MULTI/EXEC), where Redis propagates the SORT itself: a replay
//! then depends neither on a set's hash order nor on pattern keys that expired in between.
//! SORT without STORE and SORT_RO are not logged.

use std::cmp::Ordering;

use bytes::Bytes;
use sabaody_core::{HashOps, KeyType, Keyspace, ListOps, RangeBy, SetOps, ZRangeSpec, ZSetOps};
use sabaody_resp::write;

use super::flag::*;
use super::{Args, CmdError, CommandSpec, Ctx, cmd, parse_i64};

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "sort",
        -2,
        WRITE | DENYOOM | MOVABLEKEYS,
        1,
        1,
        1,
        sort,
        "generic",
        "1.0.0",
        "Sort the elements in a list, set or sorted set"
    ),
    cmd!(
        "sort_ro",
        -2,
        READONLY | MOVABLEKEYS,
        1,
        1,
        1,
        sort_ro,
        "generic",
        "7.0.0",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT."
    ),
];

const SCORE_ERR: &str = "ERR One or more scores can't be converted into double";

/// The bytes C string functions see: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

/// A BY or GET pattern, as Redis's `lookupKeyByPattern` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern<'a> {
    /// `#`: the element itself.
    Element,
    /// No `*`: names no key, so every lookup finds nothing.
    Constant,
    /// `prefix*postfix`, or `prefix*postfix->field` for a hash field.
    Key {
        prefix: &'a [u8],
        postfix: &'a [u8],
        field: Option<&'a [u8]>,
    },
}

impl<'a> Pattern<'a> {
    fn parse(p: &'a [u8]) -> Self {
        // Redis tests `p[0] == '#' && p[1] == '\0'` on the NUL-terminated text.
        if c_str(p) == b"#" {
            return Pattern::Element;
        }
        let c = c_str(p);
        let Some(star) = c.iter().position(|&b| b == b'*') else {
            return Pattern::Constant;
        };
        let prefix = &p[..star];
        let after = &p[star + 1..];
        // `->` after the star, followed by a non-empty field (as C sees it).
        let arrow = c[star + 1..].windows(2).position(|w| w == b"->");
        match arrow {
            Some(a) if c.len() > star + 1 + a + 2 => Pattern::Key {
                prefix,
                postfix: &after[..a],
                field: Some(&after[a + 2..]),
            },
            _ => Pattern::Key {
                prefix,
                postfix: after,
                field: None,
            },
        }
    }

    /// The value this pattern gives `elem`: `None` when the key is missing or of another
    /// type (a string for a plain pattern, a hash for `->field`) or the field is missing.
    fn lookup<K: Keyspace>(&self, k: &K, elem: &Bytes) -> Option<Bytes> {
        match self {
            Pattern::Element => Some(elem.clone()),
            Pattern::Constant => None,
            Pattern::Key {
                prefix,
                postfix,
                field,
            } => {
                let mut key = Vec::with_capacity(prefix.len() + elem.len() + postfix.len());
                key.extend_from_slice(prefix);
                key.extend_from_slice(elem);
                key.extend_from_slice(postfix);
                match field {
                    Some(f) => k.hget(&key, f).ok().flatten(),
                    None => k.get(&key).ok().flatten(),
                }
            }
        }
    }
}

/// The options, as Redis parses them (left to right, the first error wins).
#[derive(Debug, Default)]
struct Opts {
    by: Option<Bytes>,
    /// A BY pattern without `*` was given (and stays given, whatever BY follows).
    dontsort: bool,
    limit_start: i64,
    limit_count: i64,
    gets: Vec<Bytes>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

fn is(a: &[u8], w: &[u8]) -> bool {
    a.eq_ignore_ascii_case(w)
}

fn parse(opts: &[Bytes], readonly: bool) -> Result<Opts, CmdError> {
    let mut o = Opts {
        limit_count: -1,
        ..Opts::default()
    };
    let mut j = 0;
    while let Some(a) = opts.get(j) {
        let left = opts.len() - j - 1;
        if is(a, b"asc") {
            o.desc = false;
        } else if is(a, b"desc") {
            o.desc = true;
        } else if is(a, b"alpha") {
            o.alpha = true;
        } else if is(a, b"limit") && left >= 2 {
            let n = |i: usize| opts.get(i).and_then(|b| parse_i64(b));
            o.limit_start = n(j + 1).ok_or(CmdError::NotInteger)?;
            o.limit_count = n(j + 2).ok_or(CmdError::NotInteger)?;
            j += 2;
        } else if !readonly && is(a, b"store") && left >= 1 {
            o.store = opts.get(j + 1).cloned();
            j += 1;
        } else if is(a, b"by") && left >= 1 {
            let p = opts.get(j + 1).cloned().unwrap_or_default();
            if !c_str(&p).contains(&b'*') {
                o.dontsort = true;
            }
            o.by = Some(p);
            j += 1;
        } else if is(a, b"get") && left >= 1 {
            o.gets.extend(opts.get(j + 1).cloned());
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// Reads a weight as Redis does: C's `strtod` over the text up to its first NUL, which
/// must be consumed whole; NaN and range errors (overflow, and underflow to zero or to an
/// inexact subnormal) are refused. Leading whitespace is skipped; an empty text is 0.
fn parse_score(s: &[u8]) -> Option<f64> {
    // Integers in canonical form (most weights): `as` rounds to nearest-even, as strtod.
    if let Some(i) = parse_i64(s) {
        return Some(i as f64);
    }
    let s = c_str(s);
    if s.is_empty() {
        // strtod converts nothing and stops at the terminator: no error.
        return Some(0.0);
    }
    // C's isspace: space, \t \n \v \f \r.
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let t = s
        .iter()
        .position(|c| !ws(c))
        .map_or(&s[s.len()..], |i| &s[i..]);
    let (neg, body) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        f64::INFINITY
    } else if body.len() > 2
        && body[0] == b'0'
        && (body[1] | 0x20) == b'x'
        && body
            .get(2)
            .is_some_and(|&c| c.is_ascii_hexdigit() || c == b'.')
    {
        parse_hex(&body[2..])?
    } else {
        parse_decimal(body)?
    };
    Some(if neg { -v } else { v })
}

/// Decimal digits `[d][.d][e[+-]d]` (at least one mantissa digit), correctly rounded.
fn parse_decimal(b: &[u8]) -> Option<f64> {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - s
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return None;
    }
    let mantissa_end = i;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let v: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    let nonzero = b[..mantissa_end].iter().any(|c| (b'1'..=b'9').contains(c));
    // ERANGE: overflow, underflow to zero, or a subnormal (inexact for decimal text).
    if v.is_infinite() || (nonzero && v.abs() < f64::MIN_POSITIVE) {
        return None;
    }
    Some(v)
}

/// Hex digits after `0x`: `[h][.h][p[+-]d]`. Overflow, underflow to zero and a subnormal
/// that loses bits are range errors, as in glibc.
fn parse_hex(b: &[u8]) -> Option<f64> {
    let mut i = 0;
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    // A nonzero digit beyond the 60 bits kept.
    let mut sticky = false;
    let mut n = 0;
    let mut frac = false;
    loop {
        match b.get(i) {
            Some(&c) if c.is_ascii_hexdigit() => {
                let d = u64::from((c as char).to_digit(16).unwrap_or(0));
                if mant >> 56 == 0 {
                    mant = mant << 4 | d;
                    if frac {
                        exp -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !frac {
                        exp += 4;
                    }
                }
                n += 1;
            }
            Some(b'.') if !frac => frac = true,
            _ => break,
        }
        i += 1;
    }
    if n == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'p' | b'P')) {
        i += 1;
        let neg = matches!(b.get(i), Some(b'-'));
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let s = i;
        let mut e: i64 = 0;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(c - b'0')).min(1 << 20);
            i += 1;
        }
        if i == s {
            return None;
        }
        exp += if neg { -e } else { e };
    }
    if i != b.len() {
        return None;
    }
    if mant == 0 {
        return Some(0.0);
    }
    let v = ldexp(mant as f64, exp);
    let lowest = exp + i64::from(mant.trailing_zeros());
    if v.is_infinite() || v == 0.0 || (v < f64::MIN_POSITIVE && (sticky || lowest < -1074)) {
        return None;
    }
    Some(v)
}

/// `x * 2^e` in steps that stay in range (one rounding at most, at the last step).
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

/// One element being sorted.
#[derive(Debug, Clone)]
struct Item {
    elem: Bytes,
    score: f64,
    /// The BY value for ALPHA with a BY pattern (`None`: its key is missing).
    by: Option<Bytes>,
}

/// How [`compare`] orders items (Redis's `sortCompare`).
#[derive(Debug, Clone, Copy)]
struct Mode {
    alpha: bool,
    by: bool,
    store: bool,
    desc: bool,
}

/// Redis's `strcoll` in the C locale: bytes up to the first NUL.
fn coll(a: &[u8], b: &[u8]) -> Ordering {
    c_str(a).cmp(c_str(b))
}

fn compare(a: &Item, b: &Item, m: Mode) -> Ordering {
    let o = if !m.alpha {
        if a.score > b.score {
            Ordering::Greater
        } else if a.score < b.score {
            Ordering::Less
        } else {
            a.elem.cmp(&b.elem)
        }
    } else if m.by {
        match (&a.by, &b.by) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) if m.store => x.cmp(y),
            (Some(x), Some(y)) => coll(x, y),
        }
    } else if m.store {
        a.elem.cmp(&b.elem)
    } else {
        coll(&a.elem, &b.elem)
    };
    if m.desc { o.reverse() } else { o }
}

/// Redis's partial sort (`pqsort`, used for `BY ... LIMIT`) is reproduced below this many
/// elements, so items that compare equal end in the order Redis leaves them; above it (where
/// the quicksort's quadratic cases would cost too much) a full sort is used.
const PARTIAL_SORT_MAX: usize = 4096;

/// Sorts `items` as Redis's `sortCommandGeneric` does once the weights are loaded: a full
/// sort, or (`window`, for BY with a LIMIT that selects a part) its partial sort.
fn sort_items_window(items: &mut [Item], m: Mode, window: Option<(usize, usize)>) {
    match window {
        Some((first, last)) if items.len() <= PARTIAL_SORT_MAX => {
            sabaody_core::pqsort_range(items, first, last, &|a, b| compare(a, b, m));
        }
        _ => sort_items(items, m),
    }
}

/// Sorts `items` as glibc's `qsort` (a stable merge sort) does with Redis's comparator.
fn sort_items(items: &mut [Item], m: Mode) {
    if m.alpha {
        // Equal keys keep their order (glibc's qsort, a merge sort, does).
        items.sort_by(|a, b| compare(a, b, m));
    } else {
        // Numeric ties fall back to the bytes: only identical elements compare equal.
        items.sort_unstable_by(|a, b| compare(a, b, m));
    }
}

/// Redis's LIMIT sanity checks: the `(start, end)` output range (inclusive; empty when
/// `end < start`) over `len` elements.
fn limit_range(len: i64, limit_start: i64, limit_count: i64) -> (i64, i64) {
    let mut start = limit_start.max(0).min(len);
    let count = limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start.saturating_add(count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

/// What SORT computed: the elements in output order (`start..=end` already applied).
struct Sorted {
    items: Vec<Item>,
}

fn items(v: Vec<Bytes>) -> Vec<Item> {
    v.into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            by: None,
        })
        .collect()
}

/// The elements `first..first + count` of the list at `key` (`pick` gets its length and
/// gives that window), copied into one buffer under the shard lock: `Ok(None)` when the key
/// is missing, [`sabaody_core::Error::WrongType`] when it is not a list.
fn read_list<K: Keyspace>(
    k: &K,
    key: &[u8],
    pick: impl FnOnce(usize) -> (usize, usize),
) -> Result<Option<Vec<Bytes>>, sabaody_core::Error> {
    let read = k.lrange_with(key, 0, -1, |it| {
        let (first, count) = pick(it.len());
        let mut buf = Vec::new();
        let mut ends = Vec::with_capacity(count.min(it.len()));
        for e in it.skip(first).take(count) {
            buf.extend_from_slice(e);
            ends.push(buf.len());
        }
        (buf, ends)
    })?;
    Ok(read.map(|(buf, ends)| {
        let buf = Bytes::from(buf);
        let mut at = 0;
        ends.into_iter()
            .map(|end| {
                let e = buf.slice(at..end);
                at = end;
                e
            })
            .collect()
    }))
}

/// Loads, weighs and sorts the source: the selected elements in order.
fn run_sort<K: Keyspace>(k: &K, key: &[u8], o: &mut Opts) -> Result<Sorted, CmdError> {
    // A list (the common case) takes one lookup; another type a second one.
    let window = |len: usize| {
        let ilen = i64::try_from(len).unwrap_or(i64::MAX);
        let (start, end) = limit_range(ilen, o.limit_start, o.limit_count);
        if o.desc {
            // Read backwards: the window counted from the end.
            span(ilen - 1 - end, ilen - 1 - start)
        } else {
            span(start, end)
        }
    };
    let listed = if o.dontsort {
        read_list(k, key, window)
    } else {
        read_list(k, key, |len| (0, len))
    };
    let (kind, all) = match listed {
        Ok(Some(mut v)) => {
            if o.dontsort {
                if o.desc {
                    v.reverse();
                }
                return Ok(Sorted { items: items(v) });
            }
            (KeyType::List, v)
        }
        Ok(None) => return Ok(Sorted { items: Vec::new() }),
        Err(sabaody_core::Error::WrongType) => match k.key_type(key) {
            Some(KeyType::Set) => (KeyType::Set, k.smembers(key)?),
            Some(KeyType::ZSet) if o.dontsort => {
                let len = i64::try_from(k.zcard(key)?).unwrap_or(i64::MAX);
                let (start, end) = limit_range(len, o.limit_start, o.limit_count);
                if end < start {
                    return Ok(Sorted { items: Vec::new() });
                }
                let v = zrank_range(k, key, start, end, o.desc)?;
                return Ok(Sorted { items: items(v) });
            }
            Some(KeyType::ZSet) => (KeyType::ZSet, zrank_range(k, key, 0, -1, false)?),
            // Gone or changed since the first look: as Redis would have found it then.
            None => return Ok(Sorted { items: Vec::new() }),
            Some(_) => return Err(CmdError::WrongType),
        },
        Err(e) => return Err(e.into()),
    };
    let len = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let (start, end) = limit_range(len, o.limit_start, o.limit_count);
    let (first, n) = span(start, end);
    if o.dontsort && kind == KeyType::Set {
        if o.store.is_none() {
            // A set's own order is its table's.
            return Ok(Sorted {
                items: items(all.into_iter().skip(first).take(n).collect()),
            });
        }
        // With STORE the result must not depend on the hash table (replicas and the AOF):
        // Redis sorts it ALPHA.
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let mut v = items(all);
    let by = o.by.as_deref().map(Pattern::parse);
    let mut bad = false;
    for it in &mut v {
        let w = match &by {
            Some(p) => match p.lookup(k, &it.elem) {
                Some(w) => w,
                None => continue,
            },
            None => it.elem.clone(),
        };
        if o.alpha {
            if by.is_some() {
                it.by = Some(w);
            }
        } else {
            match parse_score(&w) {
                Some(s) => it.score = s,
                None => bad = true,
            }
        }
    }
    if bad {
        return Err(CmdError::msg(SCORE_ERR));
    }
    let mode = Mode {
        alpha: o.alpha,
        by: by.is_some(),
        store: o.store.is_some(),
        desc: o.desc,
    };
    let len = v.len();
    if n > 0 {
        // Redis sorts partially when BY is given and LIMIT selects a part.
        let window =
            (by.is_some() && (first != 0 || first + n != len)).then(|| (first, first + n - 1));
        sort_items_window(&mut v, mode, window);
    }
    Ok(Sorted {
        items: v.into_iter().skip(first).take(n).collect(),
    })
}

/// `(first index, count)` of an inclusive `(start, end)` range.
fn span(start: i64, end: i64) -> (usize, usize) {
    (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end - start + 1).unwrap_or(0),
    )
}

fn zrank_range<K: Keyspace>(
    k: &K,
    key: &[u8],
    start: i64,
    end: i64,
    rev: bool,
) -> Result<Vec<Bytes>, CmdError> {
    let spec = ZRangeSpec {
        by: RangeBy::Rank(start, end),
        rev,
        limit: None,
    };
    Ok(k.zrange(key, &spec)?.into_iter().map(|(m, _)| m).collect())
}

/// The shared body of SORT and SORT_RO.
///
/// A SORT that reads keys named by its patterns or writes a STORE destination runs under
/// every shard lock (as EXEC does), so it sees and leaves one consistent keyspace, as
/// Redis's single thread does; a plain SORT reads its one key.
fn sort_cmd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>, readonly: bool) -> Result<(), CmdError> {
    let key = args.next_bytes()?.clone();
    let mut o = parse(args.rest(), readonly)?;
    let shared = ctx.shared;
    let db = ctx.client.db;
    let stored = if let Some(t) = ctx.tx {
        // SELECT inside MULTI changes the database of the commands after it.
        let _ = t.select(db);
        execute(ctx, t, &key, &mut o)?
    } else {
        let cache = &shared.dbs[db];
        let lookups = (!o.dontsort && o.by.as_deref().is_some_and(|b| c_str(b).contains(&b'*')))
            || o.gets
                .iter()
                .any(|g| matches!(Pattern::parse(g), Pattern::Key { .. }));
        if lookups || o.store.is_some() {
            cache.transaction(|t| execute(ctx, t, &key, &mut o))?
        } else {
            execute(ctx, cache, &key, &mut o)?
        }
    };
    if let Some(dst) = stored {
        // Outside the shard locks: blocked clients are served after this command.
        shared.blocking.signal(db, std::iter::once(&dst));
    }
    if !readonly && o.store.is_none() {
        // SORT without STORE changes nothing: Redis does not propagate it.
        ctx.propagate_nothing();
    }
    Ok(())
}

/// Sorts, replies and stores through `k`. The destination when a list was stored there.
fn execute<K: Keyspace>(
    ctx: &mut Ctx<'_, '_>,
    k: &K,
    key: &[u8],
    o: &mut Opts,
) -> Result<Option<Bytes>, CmdError> {
    let sorted = run_sort(k, key, o)?;
    let gets: Vec<Pattern<'_>> = o.gets.iter().map(|g| Pattern::parse(g)).collect();
    let proto = ctx.proto();
    let Some(dst) = o.store.clone() else {
        let out = &mut *ctx.out;
        let per = gets.len().max(1);
        write::array_len(out, sorted.items.len().saturating_mul(per));
        for it in &sorted.items {
            if gets.is_empty() {
                write::bulk(out, &it.elem);
            }
            for g in &gets {
                match g.lookup(k, &it.elem) {
                    Some(v) => write::bulk(out, &v),
                    None => write::null_bulk(out, proto),
                }
            }
        }
        return Ok(None);
    };
    let mut vals: Vec<Bytes> = Vec::new();
    for it in &sorted.items {
        if gets.is_empty() {
            vals.push(it.elem.clone());
        }
        for g in &gets {
            vals.push(g.lookup(k, &it.elem).unwrap_or_default());
        }
    }
    // A movable key: the dispatcher marks nothing (see `written_range`). Marked before the
    // write, as the dispatcher does, so an EXEC that follows it sees the mark.
    let db = ctx.client.db;
    if !vals.is_empty() || k.contains_key(&dst) {
        ctx.shared.watches.touch_key(db, &dst);
    }
    let existed = k.lstore(&dst, &vals)?;
    ctx.shared.invalidate_tracked(Some(ctx.client.id), &dst);
    ctx.notify_store(
        crate::notify::class::LIST,
        "sortstore",
        &dst,
        !vals.is_empty(),
        existed,
    );
    write::integer(ctx.out, vals.len() as i64);
    let stored = (!vals.is_empty()).then(|| dst.clone());
    // Logged as its effect, not as the SORT: a replay must not depend on a set's hash
    // order (ties under ALPHA) or on pattern keys that expired since.
    if ctx.propagating() {
        if vals.is_empty() && !existed {
            ctx.propagate_nothing();
        } else {
            if existed {
                ctx.propagate(vec![Bytes::from_static(b"DEL"), dst.clone()]);
            }
            if !vals.is_empty() {
                let mut argv = Vec::with_capacity(vals.len() + 2);
                argv.push(Bytes::from_static(b"RPUSH"));
                argv.push(dst);
                argv.extend(vals);
                ctx.propagate(argv);
            }
        }
    }
    Ok(stored)
}

/// ```text
/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
///   [STORE destination]
/// ```
pub(crate) fn sort(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    sort_cmd(ctx, args, false)
}

/// ```text
/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
/// ```
pub(crate) fn sort_ro(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    sort_cmd(ctx, args, true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scores_as_strtod_reads_them() {
        let ok: &[(&[u8], f64)] = &[
            (b"", 0.0),
            (b"1", 1.0),
            (b"-1.5", -1.5),
            (b"+7", 7.0),
            (b" 1", 1.0),
            (b"\t\x0b\x0c\r\n2", 2.0),
            (b"1.", 1.0),
            (b".5", 0.5),
            (b"1e2", 100.0),
            (b"1E+2", 100.0),
            (b"007", 7.0),
            (b"inf", f64::INFINITY),
            (b"-Infinity", f64::NEG_INFINITY),
            (b"0x10", 16.0),
            (b"0x1p3", 8.0),
            (b"0x.8", 0.5),
            (b"0X1P-2", 0.25),
            (b"0x1.8p1", 3.0),
            (b"0x1p-1074", 5e-324),
            (b"2.2250738585072014e-308", f64::MIN_POSITIVE),
            (b"1e308", 1e308),
            (b"1\0junk", 1.0),
            (b"0e999", 0.0),
            (b"-0", -0.0),
        ];
        for (t, want) in ok {
            assert_eq!(
                parse_score(t),
                Some(*want),
                "{:?}",
                String::from_utf8_lossy(t)
            );
        }
        let bad: &[&[u8]] = &[
            b"x",
            b"1 ",
            b" ",
            b"nan",
            b"-nan",
            b"NaN(1)",
            b"1e309",
            b"-1e400",
            b"1e-310",
            b"1e-400",
            b"4.9406564584124654e-324",
            b".",
            b"1e",
            b"1e+",
            b"0x",
            b"0x1p",
            b"--1",
            b"+-1",
            b"- 1",
            b"1_0",
            b"infinit",
            b"0x1p-1075",
            b"0x3p-1075",
            b"1.5.2",
            b"\x0b",
        ];
        for t in bad {
            assert_eq!(parse_score(t), None, "{:?}", String::from_utf8_lossy(t));
        }
    }

    fn item(e: &str, score: f64) -> Item {
        Item {
            elem: Bytes::copy_from_slice(e.as_bytes()),
            score,
            by: None,
        }
    }

    fn names(v: &[Item]) -> Vec<String> {
        v.iter()
            .map(|i| String::from_utf8_lossy(&i.elem).into_owned())
            .collect()
    }

    const NUM: Mode = Mode {
        alpha: false,
        by: false,
        store: false,
        desc: false,
    };

    #[test]
    fn numeric_ties_fall_back_to_bytes() {
        let mut v = vec![
            item("3.0", 3.0),
            item("3", 3.0),
            item("-0", -0.0),
            item("0", 0.0),
            item("inf", f64::INFINITY),
            item("-inf", f64::NEG_INFINITY),
            item("03", 3.0),
        ];
        sort_items(&mut v, NUM);
        assert_eq!(names(&v), ["-inf", "-0", "0", "03", "3", "3.0", "inf"]);
        sort_items(&mut v, Mode { desc: true, ..NUM });
        assert_eq!(names(&v), ["inf", "3.0", "3", "03", "0", "-0", "-inf"]);
    }

    #[test]
    fn alpha_is_byte_order_up_to_nul_unless_stored() {
        let alpha = Mode { alpha: true, ..NUM };
        let mk = |v: &[&str]| v.iter().map(|e| item(e, 0.0)).collect::<Vec<_>>();
        let mut v = mk(&["b", "a\0z", "B", "\u{80}", "a", "a\0b", "ab", "10", "9"]);
        sort_items(&mut v, alpha);
        // "a\0z", "a" and "a\0b" all compare as "a": they keep their order.
        assert_eq!(
            names(&v),
            ["10", "9", "B", "a\0z", "a", "a\0b", "ab", "b", "\u{80}"]
        );
        sort_items(
            &mut v,
            Mode {
                store: true,
                ..alpha
            },
        );
        assert_eq!(
            names(&v),
            ["10", "9", "B", "a", "a\0b", "a\0z", "ab", "b", "\u{80}"]
        );
        // BY values: a missing one sorts first, ties keep their order.
        let mut v = mk(&["x", "y", "z", "w"]);
        v[0].by = Some(Bytes::from_static(b"b"));
        v[2].by = Some(Bytes::from_static(b"a"));
        sort_items(&mut v, Mode { by: true, ..alpha });
        assert_eq!(names(&v), ["y", "w", "z", "x"]);
        sort_items(
            &mut v,
            Mode {
                by: true,
                desc: true,
                ..alpha
            },
        );
        assert_eq!(names(&v), ["x", "z", "y", "w"]);
    }

    /// The comparator against a model: numeric order is (score, bytes) with -0 == 0, and
    /// DESC is its exact reverse; ALPHA is a stable sort on the bytes before any NUL.
    #[test]
    fn comparator_matches_a_model() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let scores = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
        ];
        for _ in 0..300 {
            let n = (next() % 12) as usize;
            let v: Vec<Item> = (0..n)
                .map(|_| {
                    let len = (next() % 3) as usize;
                    let elem: Vec<u8> = (0..len)
                        .map(|_| b"a\0b\xff"[(next() % 4) as usize])
                        .collect();
                    Item {
                        elem: Bytes::from(elem),
                        score: scores[(next() % scores.len() as u64) as usize],
                        by: None,
                    }
                })
                .collect();
            let key = |i: &Item| {
                let s = if i.score == 0.0 { 0.0 } else { i.score };
                (s, i.elem.clone())
            };
            let mut model = v.clone();
            model.sort_by(|a, b| {
                let (x, y) = (key(a), key(b));
                x.0.total_cmp(&y.0).then(x.1.cmp(&y.1))
            });
            let mut got = v.clone();
            sort_items(&mut got, NUM);
            assert_eq!(names(&got), names(&model));
            sort_items(&mut got, Mode { desc: true, ..NUM });
            model.reverse();
            assert_eq!(names(&got), names(&model));
            let mut model = v.clone();
            model.sort_by(|a, b| c_str(&a.elem).cmp(c_str(&b.elem)));
            let mut got = v.clone();
            sort_items(&mut got, Mode { alpha: true, ..NUM });
            assert_eq!(names(&got), names(&model));
        }
    }

    #[test]
    fn limits_as_redis() {
        assert_eq!(limit_range(10, 0, -1), (0, 9));
        assert_eq!(limit_range(10, 2, 3), (2, 4));
        assert_eq!(limit_range(10, -5, 3), (0, 2));
        assert_eq!(limit_range(10, 8, 5), (8, 9));
        assert_eq!(limit_range(10, 10, 1), (9, 8));
        assert_eq!(limit_range(10, 3, 0), (3, 2));
        assert_eq!(limit_range(10, 3, -7), (3, 9));
        assert_eq!(limit_range(0, 0, -1), (-1, -2));
        assert_eq!(limit_range(10, i64::MAX, i64::MAX), (9, 8));
        assert_eq!(limit_range(10, i64::MIN, i64::MAX), (0, 9));
        assert_eq!(limit_range(i64::MAX, i64::MAX, i64::MAX).0, i64::MAX - 1);
        assert_eq!(span(-1, -2), (0, 0));
        assert_eq!(span(2, 4), (2, 3));
    }

    #[test]
    fn patterns_as_lookup_key_by_pattern() {
        assert_eq!(Pattern::parse(b"#"), Pattern::Element);
        assert_eq!(Pattern::parse(b"#\0x"), Pattern::Element);
        assert_eq!(Pattern::parse(b"##"), Pattern::Constant);
        assert_eq!(Pattern::parse(b"nosort"), Pattern::Constant);
        assert_eq!(Pattern::parse(b"w\0*"), Pattern::Constant);
        let key = |p: &'static [u8], q: &'static [u8], f: Option<&'static [u8]>| Pattern::Key {
            prefix: p,
            postfix: q,
            field: f,
        };
        assert_eq!(Pattern::parse(b"w_*"), key(b"w_", b"", None));
        assert_eq!(Pattern::parse(b"a*b*"), key(b"a", b"b*", None));
        assert_eq!(Pattern::parse(b"u_*->f"), key(b"u_", b"", Some(b"f")));
        assert_eq!(
            Pattern::parse(b"u_*x->f->g"),
            key(b"u_", b"x", Some(b"f->g"))
        );
        assert_eq!(Pattern::parse(b"u_*->"), key(b"u_", b"->", None));
        assert_eq!(Pattern::parse(b"->u_*"), key(b"->u_", b"", None));
        assert_eq!(Pattern::parse(b"u_*->\0f"), key(b"u_", b"->\0f", None));
        assert_eq!(Pattern::parse(b"u_*\0->f"), key(b"u_", b"\0->f", None));
    }
}
