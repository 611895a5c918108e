//! Strings, integers and floats.

use super::{
    MAX_STRING, count_lookup, count_sources, fmt_i64, live, live_ro, locate, note_miss, plan, pos,
    read_key,
};
use crate::access::Access;
use crate::keyspace::{GetExExpiry, SetCondition, SetExpiry, SetOptions, SetOutcome};
use crate::shard::{Data, INLINE_MAX, Rec, Shard, View};
use crate::value::Value;
use crate::{Error, num};
use bytes::Bytes;

/// The string bytes of a record, or `WrongType`. Integers are formatted into `buf`.
fn str_of<'a>(s: &'a Shard, r: &Rec, buf: &'a mut [u8; 20]) -> Result<&'a [u8], Error> {
    match s.view(r) {
        View::Inline(b) => Ok(b),
        View::Int(i) => Ok(fmt_i64(i, buf)),
        View::Value(Value::Str(b)) => Ok(b),
        #[allow(unreachable_patterns)]
        View::Value(_) => Err(Error::WrongType),
    }
}

fn bytes_of(s: &Shard, r: &Rec) -> Result<Bytes, Error> {
    match s.view(r) {
        View::Inline(b) => Ok(Bytes::copy_from_slice(b)),
        View::Int(i) => Ok(Bytes::copy_from_slice(fmt_i64(i, &mut [0; 20]))),
        View::Value(Value::Str(b)) => Ok(b.clone()),
        #[allow(unreachable_patterns)]
        View::Value(_) => Err(Error::WrongType),
    }
}

/// A string value copied out under the lock; the `Bytes` is built after the lock is released
/// so the allocation does not lengthen the critical section of a hot shard.
enum Out {
    Small([u8; INLINE_MAX], usize),
    Int(i64),
    Shared(Bytes),
}

pub(crate) fn get<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<Option<Bytes>, Error> {
    let out = read_key(a, key, |s, r| match s.view(r) {
        View::Inline(b) if b.len() <= INLINE_MAX => {
            let mut buf = [0u8; INLINE_MAX];
            buf[..b.len()].copy_from_slice(b);
            Ok(Out::Small(buf, b.len()))
        }
        View::Inline(b) => Ok(Out::Shared(Bytes::copy_from_slice(b))),
        View::Int(i) => Ok(Out::Int(i)),
        View::Value(Value::Str(b)) => Ok(Out::Shared(b.clone())),
        #[allow(unreachable_patterns)]
        View::Value(_) => Err(Error::WrongType),
    });
    Ok(match out.transpose()? {
        None => None,
        Some(Out::Small(buf, n)) => Some(Bytes::copy_from_slice(&buf[..n])),
        Some(Out::Int(i)) => Some(Bytes::copy_from_slice(fmt_i64(i, &mut [0; 20]))),
        Some(Out::Shared(b)) => Some(b),
    })
}

pub(crate) fn get_with<A: Access + ?Sized, R>(
    a: &A,
    key: &[u8],
    f: impl FnOnce(&[u8]) -> R,
) -> Result<Option<R>, Error> {
    read_key(a, key, |s, r| {
        let mut buf = [0u8; 20];
        str_of(s, r, &mut buf).map(f)
    })
    .transpose()
}

/// Absolute expire time in ms for SET/GETEX-style options; `cmd` names the command in errors.
pub(crate) fn abs_expire(
    now: impl FnOnce() -> i64,
    ex: i64,
    seconds: bool,
    relative: bool,
    cmd: &'static str,
) -> Result<i64, Error> {
    let bad = Error::InvalidExpireTime(cmd);
    if ex <= 0 || (seconds && ex > i64::MAX / 1000) {
        return Err(bad);
    }
    let mut ms = if seconds { ex * 1000 } else { ex };
    if relative {
        ms = ms.checked_add(now()).ok_or(bad)?;
    }
    if ms <= 0 {
        return Err(bad);
    }
    Ok(ms)
}

pub(crate) fn set_with<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    value: &[u8],
    opts: &SetOptions,
) -> Result<SetOutcome, Error> {
    a.make_room()?;
    let store = a.store();
    let now = || store.now();
    let at = match opts.expiry {
        None => None,
        Some(SetExpiry::KeepTtl) => None,
        Some(SetExpiry::Ex(n)) => Some(abs_expire(now, n, true, true, "set")?),
        Some(SetExpiry::Px(n)) => Some(abs_expire(now, n, false, true, "set")?),
        Some(SetExpiry::ExAt(n)) => Some(abs_expire(now, n, true, false, "set")?),
        Some(SetExpiry::PxAt(n)) => Some(abs_expire(now, n, false, false, "set")?),
    };
    let (h, gid) = locate(a, key);
    let outcome = a.write(gid, |s| {
        let old = live(s, store, h, key);
        if opts.get {
            // GET reads the old value as a GET would (a keyspace hit or miss).
            count_lookup(store, old.is_some());
        }
        let previous = match (&old, opts.get) {
            (Some(r), true) => Some(bytes_of(s, r)?),
            _ => None,
        };
        let blocked = match opts.condition {
            SetCondition::Always => false,
            SetCondition::IfAbsent => old.is_some(),
            SetCondition::IfExists => old.is_none(),
        };
        if blocked {
            return Ok(SetOutcome {
                written: false,
                previous,
            });
        }
        let ttl = match opts.expiry {
            Some(SetExpiry::KeepTtl) => old.and_then(|r| s.expire_at(&r)),
            _ => at,
        };
        s.put(h, key, Data::string(value), ttl)?;
        s.count_changes(1);
        Ok(SetOutcome {
            written: true,
            previous,
        })
    });
    if opts.get && matches!(&outcome, Ok(o) if o.previous.is_none()) {
        note_miss(a, key);
    }
    outcome
}

pub(crate) fn set<A: Access + ?Sized>(a: &A, key: &[u8], value: &[u8]) -> Result<(), Error> {
    a.make_room()?;
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        s.put(h, key, Data::string(value), None)?;
        s.count_changes(1);
        Ok(())
    })
}

pub(crate) fn set_ex_cmd<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    ttl: i64,
    seconds: bool,
    value: &[u8],
) -> Result<(), Error> {
    a.make_room()?;
    let store = a.store();
    let cmd = if seconds { "setex" } else { "psetex" };
    let at = abs_expire(|| store.now(), ttl, seconds, true, cmd)?;
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        s.put(h, key, Data::string(value), Some(at))?;
        s.count_changes(1);
        Ok(())
    })
}

pub(crate) fn getdel<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<Option<Bytes>, Error> {
    let store = a.store();
    let (h, gid) = locate(a, key);
    let found = a.write(gid, |s| {
        let found = live(s, store, h, key);
        count_lookup(store, found.is_some());
        let Some(r) = found else { return Ok(None) };
        let v = bytes_of(s, &r)?;
        crate::evict::notify(store, s.db, key, crate::evict::RemovalCause::Removed);
        s.remove(h, key, false);
        s.count_changes(1);
        Ok(Some(v))
    });
    if matches!(found, Ok(None)) {
        note_miss(a, key);
    }
    found
}

pub(crate) fn getex<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    expiry: Option<GetExExpiry>,
) -> Result<Option<Bytes>, Error> {
    let store = a.store();
    if expiry.is_none() {
        return get(a, key);
    }
    let (h, gid) = locate(a, key);
    let found = a.write(gid, |s| {
        // Redis looks the key up and checks its type before it validates the time.
        let found = live(s, store, h, key);
        count_lookup(store, found.is_some());
        let Some(r) = found else { return Ok(None) };
        let v = bytes_of(s, &r)?;
        let now = || store.now();
        let at = match expiry {
            None | Some(GetExExpiry::Persist) => None,
            Some(GetExExpiry::Ex(n)) => Some(abs_expire(now, n, true, true, "getex")?),
            Some(GetExExpiry::Px(n)) => Some(abs_expire(now, n, false, true, "getex")?),
            Some(GetExExpiry::ExAt(n)) => Some(abs_expire(now, n, true, false, "getex")?),
            Some(GetExExpiry::PxAt(n)) => Some(abs_expire(now, n, false, false, "getex")?),
        };
        // Redis counts setting a TTL, deleting the key for a time already past, or removing
        // a TTL (PERSIST on a key without one changes nothing).
        match at {
            Some(t) if t <= store.now() => {
                s.remove(h, key, false);
                s.count_changes(1);
            }
            Some(t) => {
                s.set_ttl(h, &r, Some(t))?;
                s.count_changes(1);
            }
            None if r.has_ttl => {
                s.set_ttl(h, &r, None)?;
                s.count_changes(1);
            }
            None => {}
        }
        Ok(Some(v))
    });
    if matches!(found, Ok(None)) {
        note_miss(a, key);
    }
    found
}

pub(crate) fn mget<A: Access + ?Sized, K: AsRef<[u8]>>(a: &A, keys: &[K]) -> Vec<Option<Bytes>> {
    let store = a.store();
    let (gids, located) = plan(a, keys);
    let mut found = Vec::with_capacity(keys.len());
    let values: Vec<Option<Bytes>> = a.read_many(&gids, |shards| {
        keys.iter()
            .zip(&located)
            .map(|(k, &(h, gid))| {
                let s = shards[pos(&gids, gid)];
                let rec = live_ro(s, store, h, k.as_ref());
                found.push(rec.is_some());
                // A value of another type is found (a hit) but read as nil, as in Redis.
                rec.and_then(|r| bytes_of(s, &r).ok())
            })
            .collect()
    });
    // Each key is a lookup, as Redis counts them (an expired key is a miss, left for the
    // expiry to remove).
    count_sources(a, keys, &found);
    values
}

pub(crate) fn mset<A: Access + ?Sized, K: AsRef<[u8]>, V: AsRef<[u8]>>(
    a: &A,
    pairs: &[(K, V)],
    only_if_none_exist: bool,
) -> Result<bool, Error> {
    a.make_room()?;
    let store = a.store();
    let keys: Vec<&[u8]> = pairs.iter().map(|(k, _)| k.as_ref()).collect();
    let (gids, located) = plan(a, &keys);
    a.write_many(&gids, |shards| {
        if only_if_none_exist {
            for (k, &(h, gid)) in keys.iter().zip(&located) {
                if live(shards[pos(&gids, gid)], store, h, k).is_some() {
                    return Ok(false);
                }
            }
        }
        for ((k, v), &(h, gid)) in pairs.iter().zip(&located) {
            let s = &mut *shards[pos(&gids, gid)];
            s.put(h, k.as_ref(), Data::string(v.as_ref()), None)?;
            // Redis counts every pair, a repeated key too.
            s.count_changes(1);
        }
        Ok(true)
    })
}

pub(crate) fn append<A: Access + ?Sized>(a: &A, key: &[u8], value: &[u8]) -> Result<usize, Error> {
    a.make_room()?;
    let store = a.store();
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        let Some(r) = live(s, store, h, key) else {
            s.put(h, key, Data::string(value), None)?;
            s.count_changes(1);
            return Ok(value.len());
        };
        let mut buf = [0u8; 20];
        let new_len = str_of(s, &r, &mut buf)?.len() + value.len();
        if new_len > MAX_STRING {
            return Err(Error::StringTooLong);
        }
        // A long string grows in place: amortized O(1) per APPEND as in Redis (no copy of
        // the whole string unless a reader still holds a clone of it).
        if matches!(s.view(&r), View::Value(Value::Str(_)))
            && s.update_slab(&r, |v| {
                v.append_str(value);
            })
        {
            // Redis counts an APPEND once, an empty one too.
            s.count_changes(1);
            return Ok(new_len);
        }
        let mut new = Vec::with_capacity(new_len);
        new.extend_from_slice(str_of(s, &r, &mut buf)?);
        new.extend_from_slice(value);
        let ttl = s.expire_at(&r);
        s.put(h, key, Data::string(&new), ttl)?;
        s.count_changes(1);
        Ok(new.len())
    })
}

pub(crate) fn strlen<A: Access + ?Sized>(a: &A, key: &[u8]) -> Result<usize, Error> {
    Ok(get_with(a, key, <[u8]>::len)?.unwrap_or(0))
}

pub(crate) fn getrange<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    start: i64,
    end: i64,
) -> Result<Bytes, Error> {
    let r = get_with(a, key, |v| {
        // Redis looks the key up (and type-checks it) before this test.
        if start < 0 && end < 0 && start > end {
            return Bytes::new();
        }
        let len = v.len() as i64;
        let (mut s, mut e) = (start, end);
        if s < 0 {
            s += len;
        }
        if e < 0 {
            e += len;
        }
        s = s.max(0);
        e = e.max(0);
        if e >= len {
            e = len - 1;
        }
        if s > e || len == 0 {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(&v[s as usize..=e as usize])
        }
    })?;
    Ok(r.unwrap_or_default())
}

pub(crate) fn setrange<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    offset: i64,
    value: &[u8],
) -> Result<usize, Error> {
    a.make_room()?;
    if offset < 0 {
        return Err(Error::OutOfRange);
    }
    let offset = usize::try_from(offset).map_err(|_| Error::OutOfRange)?;
    let store = a.store();
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        let old = live(s, store, h, key);
        let mut buf = [0u8; 20];
        let cur_len = match &old {
            Some(r) => str_of(s, r, &mut buf)?.len(),
            None => 0,
        };
        if value.is_empty() {
            return Ok(cur_len);
        }
        if offset.saturating_add(value.len()) > MAX_STRING {
            return Err(Error::StringTooLong);
        }
        let new_len = cur_len.max(offset + value.len());
        // A long string is patched where it lies (no copy of the whole value per call).
        if let Some(r) = &old
            && matches!(s.view(r), View::Value(Value::Str(_)))
            && s.update_slab(r, |v| {
                v.setrange_str(offset, value);
            })
        {
            s.count_changes(1);
            return Ok(new_len);
        }
        let mut new: Vec<u8> = match &old {
            Some(r) => str_of(s, r, &mut buf)?.to_vec(),
            None => Vec::new(),
        };
        if new.len() < offset + value.len() {
            new.resize(offset + value.len(), 0);
        }
        new[offset..offset + value.len()].copy_from_slice(value);
        let ttl = old.and_then(|r| s.expire_at(&r));
        s.put(h, key, Data::string(&new), ttl)?;
        s.count_changes(1);
        Ok(new.len())
    })
}

pub(crate) fn incr_by<A: Access + ?Sized>(a: &A, key: &[u8], by: i64) -> Result<i64, Error> {
    a.make_room()?;
    let store = a.store();
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        let old = live(s, store, h, key);
        let cur = match &old {
            None => 0,
            Some(r) => match s.view(r) {
                View::Int(i) => i,
                View::Inline(b) => num::parse_i64_strict(b).ok_or(Error::NotInteger)?,
                View::Value(Value::Str(_)) => return Err(Error::NotInteger),
                #[allow(unreachable_patterns)]
                View::Value(_) => return Err(Error::WrongType),
            },
        };
        let new = cur.checked_add(by).ok_or(Error::Overflow)?;
        match old {
            Some(r) if s.set_int_in_place(&r, new) => {}
            Some(r) => {
                let ttl = s.expire_at(&r);
                s.put(h, key, Data::Int(new), ttl)?;
            }
            None => {
                s.put(h, key, Data::Int(new), None)?;
            }
        }
        s.count_changes(1);
        Ok(new)
    })
}

pub(crate) fn decr_by<A: Access + ?Sized>(a: &A, key: &[u8], by: i64) -> Result<i64, Error> {
    if by == i64::MIN {
        return Err(Error::DecrementOverflow);
    }
    incr_by(a, key, -by)
}

/// The increment of INCRBYFLOAT: a float, or the client's text.
pub(crate) enum FloatArg<'a> {
    Float(f64),
    Text(&'a [u8]),
}

pub(crate) fn incr_by_float<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    by: FloatArg<'_>,
) -> Result<Bytes, Error> {
    a.make_room()?;
    let store = a.store();
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        let old = live(s, store, h, key);
        let mut buf = [0u8; 20];
        let cur: &[u8] = match &old {
            None => b"0",
            Some(r) => str_of(s, r, &mut buf)?,
        };
        let text = match by {
            FloatArg::Float(f) => num::incr_float(cur, f)?,
            FloatArg::Text(t) => num::incr_float_text(cur, t)?,
        };
        let ttl = old.and_then(|r| s.expire_at(&r));
        s.put(h, key, Data::string(text.as_bytes()), ttl)?;
        s.count_changes(1);
        Ok(Bytes::from(text))
    })
}
