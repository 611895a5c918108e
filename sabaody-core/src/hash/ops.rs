//! The hash operations over [`Access`], shared by `Cache` and `Transaction`.

use bytes::Bytes;

use super::Hash;
use crate::Error;
use crate::access::Access;
use crate::glob::glob_match;
use crate::ops::{fmt_i64, modify, read_value};
use crate::value::{KeyType, Value};

fn new_hash() -> Value {
    Value::Hash(Hash::new())
}

fn hash_mut(v: &mut Value) -> Result<&mut Hash, Error> {
    match v {
        Value::Hash(h) => Ok(h),
        _ => Err(Error::WrongType),
    }
}

/// Reads the hash at `key`: `Ok(None)` if missing.
fn read<A: Access + ?Sized, T>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&Hash) -> T,
) -> Result<Option<T>, Error> {
    read_value(a, key, KeyType::Hash, |v| match v {
        Value::Hash(h) => Ok(f(h)),
        _ => Err(Error::WrongType),
    })?
    .transpose()
}

fn copy_pair((f, v): (&[u8], &[u8])) -> (Bytes, Bytes) {
    (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v))
}

pub(crate) fn hset<A: Access + ?Sized, F: AsRef<[u8]>, V: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    pairs: &[(F, V)],
) -> Result<usize, Error> {
    let n = modify(a, key, KeyType::Hash, Some(new_hash), |v| {
        let h = hash_mut(v)?;
        let added = pairs
            .iter()
            .filter(|(f, v)| h.set(f.as_ref(), v.as_ref()))
            .count();
        // Redis counts every field written, new or not.
        Ok((added, pairs.len()))
    })?;
    Ok(n.unwrap_or(0))
}

pub(crate) fn hsetnx<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    f: &[u8],
    val: &[u8],
) -> Result<bool, Error> {
    let r = modify(a, key, KeyType::Hash, Some(new_hash), |v| {
        let h = hash_mut(v)?;
        if h.get(f).is_some() {
            Ok((false, 0))
        } else {
            Ok((h.set(f, val), 1))
        }
    })?;
    Ok(r.unwrap_or(false))
}

pub(crate) fn hget_with<A: Access + ?Sized, R>(
    a: &A,
    key: &[u8],
    field: &[u8],
    f: impl FnOnce(&[u8]) -> R,
) -> Result<Option<R>, Error> {
    Ok(read(a, key, |h| h.get(field).map(f))?.flatten())
}

pub(crate) fn hmget<A: Access + ?Sized, F: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    fields: &[F],
) -> Result<Vec<Option<Bytes>>, Error> {
    let r = read(a, key, |h| {
        fields
            .iter()
            .map(|f| h.get(f.as_ref()).map(Bytes::copy_from_slice))
            .collect()
    })?;
    Ok(r.unwrap_or_else(|| vec![None; fields.len()]))
}

pub(crate) fn hdel<A: Access + ?Sized, F: AsRef<[u8]>>(
    a: &A,
    key: &[u8],
    fields: &[F],
) -> Result<usize, Error> {
    let r = modify(a, key, KeyType::Hash, None, |v| {
        let h = hash_mut(v)?;
        let mut n = 0;
        for f in fields {
            if h.remove(f.as_ref()) {
                n += 1;
                if h.is_empty() {
                    break;
                }
            }
        }
        Ok((n, n))
    })?;
    Ok(r.unwrap_or(0))
}

pub(crate) fn hlen<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<usize, Error> {
    Ok(read(a, key, Hash::len)?.unwrap_or(0))
}

pub(crate) fn hgetall<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<Vec<(Bytes, Bytes)>, Error> {
    Ok(read(a, key, |h| h.iter().map(copy_pair).collect())?.unwrap_or_default())
}

pub(crate) fn hincr_by<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    field: &[u8],
    by: i64,
) -> Result<i64, Error> {
    let r = modify(a, key, KeyType::Hash, Some(new_hash), |v| {
        let h = hash_mut(v)?;
        let cur = match h.get(field) {
            Some(s) => crate::num::parse_i64_strict(s).ok_or(Error::HashNotInteger)?,
            None => 0,
        };
        let n = cur.checked_add(by).ok_or(Error::Overflow)?;
        let mut buf = [0u8; 20];
        h.set(field, fmt_i64(n, &mut buf));
        Ok((n, 1))
    })?;
    r.ok_or(Error::WrongType)
}

pub(crate) fn hincr_by_float<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    field: &[u8],
    by: &[u8],
) -> Result<Bytes, Error> {
    // Redis checks the increment before it looks the key up.
    match crate::num::incr_float_text(b"0", by) {
        Ok(_) => {}
        Err(Error::NanOrInfinity) => return Err(Error::ValueNanOrInfinity),
        Err(e) => return Err(e),
    }
    let r = modify(a, key, KeyType::Hash, Some(new_hash), |v| {
        let h = hash_mut(v)?;
        let cur = h.get(field).unwrap_or(b"0");
        let text = match crate::num::incr_float_text(cur, by) {
            Ok(t) => t,
            Err(Error::NotFloat) => return Err(Error::HashNotFloat),
            Err(e) => return Err(e),
        };
        h.set(field, text.as_bytes());
        Ok((Bytes::from(text), 1))
    })?;
    r.ok_or(Error::WrongType)
}

pub(crate) fn hrandfield<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    count: i64,
) -> Result<Vec<(Bytes, Bytes)>, Error> {
    if count == 0 {
        // Redis still checks the type.
        read(a, key, |_| ())?;
        return Ok(Vec::new());
    }
    let r = read(a, key, |h| {
        let len = h.len();
        if len == 0 {
            return Vec::new();
        }
        if count < 0 {
            let n = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
            let mut out = Vec::with_capacity(n.min(1024));
            if h.is_table() {
                for _ in 0..n {
                    if let Some(p) = h.nth(fastrand::usize(..len)) {
                        out.push(copy_pair(p));
                    }
                }
            } else {
                // A packed hash has no random access: index its (at most 512) entries once.
                let all: Vec<(&[u8], &[u8])> = h.iter().collect();
                for _ in 0..n {
                    if let Some(&p) = all.get(fastrand::usize(..len)) {
                        out.push(copy_pair(p));
                    }
                }
            }
            return out;
        }
        let want = usize::try_from(count).unwrap_or(usize::MAX);
        if want >= len {
            return h.iter().map(copy_pair).collect();
        }
        // Selection sampling: each entry is taken with probability needed / remaining, so
        // `want` distinct entries come out in storage order (as Redis's listpack sampling).
        let mut out = Vec::with_capacity(want);
        let mut needed = want;
        for (i, p) in h.iter().enumerate() {
            if needed == 0 {
                break;
            }
            if fastrand::usize(..len - i) < needed {
                out.push(copy_pair(p));
                needed -= 1;
            }
        }
        out
    })?;
    Ok(r.unwrap_or_default())
}

pub(crate) fn hscan<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    cursor: u64,
    pattern: Option<&[u8]>,
    count: usize,
) -> Result<(u64, Vec<(Bytes, Bytes)>), Error> {
    let keep = |f: &[u8]| pattern.is_none_or(|p| glob_match(p, f));
    let r = read(a, key, |h| {
        if !h.is_table() {
            let page = h.iter().filter(|(f, _)| keep(f)).map(copy_pair).collect();
            return (0, page);
        }
        // The cursor counts down through the dense storage: entries below it are the ones
        // left to visit (0 starts from the top).
        let len = h.len() as u64;
        let top = if cursor == 0 { len } else { cursor.min(len) };
        let n = (count.max(1) as u64).min(top);
        let bottom = top - n;
        let mut page = Vec::new();
        for i in (bottom..top).rev() {
            if let Some((f, v)) = h.nth(i as usize)
                && keep(f)
            {
                page.push(copy_pair((f, v)));
            }
        }
        (bottom, page)
    })?;
    Ok(r.unwrap_or((0, Vec::new())))
}
