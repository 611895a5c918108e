//! EXPIRE family, TTL family, PERSIST.

use super::{live, locate, read_key_notouch};
use crate::Error;
use crate::access::Access;
use crate::keyspace::ExpireCondition;

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT: `when` in seconds (`seconds`) or ms, relative or absolute.
pub(crate) fn expire<A: Access + ?Sized>(
    a: &A,
    key: &[u8],
    when: i64,
    seconds: bool,
    relative: bool,
    cond: ExpireCondition,
    cmd: &'static str,
) -> Result<bool, Error> {
    let store = a.store();
    let bad = Error::InvalidExpireTime(cmd);
    let mut when = when;
    if seconds {
        when = when.checked_mul(1000).ok_or(bad)?;
    }
    let now = store.now();
    if relative {
        when = when.checked_add(now).ok_or(bad)?;
    }
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        let Some(r) = live(s, store, h, key) else {
            return Ok(false);
        };
        let cur = s.expire_at(&r);
        let ok = match cond {
            ExpireCondition::Always => true,
            ExpireCondition::Nx => cur.is_none(),
            ExpireCondition::Xx => cur.is_some(),
            ExpireCondition::Gt => cur.is_some_and(|c| when > c),
            ExpireCondition::Lt => cur.is_none_or(|c| when < c),
        };
        if !ok {
            return Ok(false);
        }
        if when <= now {
            s.remove(h, key, false);
        } else {
            s.set_ttl(h, &r, Some(when))?;
        }
        s.count_changes(1);
        Ok(true)
    })
}

/// TTL/PTTL (`absolute == false`) and EXPIRETIME/PEXPIRETIME (`absolute == true`).
pub(crate) fn ttl<A: Access + ?Sized>(a: &A, key: &[u8], ms: bool, absolute: bool) -> i64 {
    let store = a.store();
    match read_key_notouch(a, key, |s, r| s.expire_at(r)) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            let t = if absolute {
                at
            } else {
                (at - store.now()).max(0)
            };
            // Rounded to the nearest second without overflowing near i64::MAX
            // (PEXPIREAT k 9223372036854775807 then EXPIRETIME: Redis says 9223372036854776).
            if ms {
                t
            } else {
                t / 1000 + (t % 1000 + 500) / 1000
            }
        }
    }
}

pub(crate) fn persist<A: Access + ?Sized>(a: &A, key: &[u8]) -> bool {
    let store = a.store();
    let (h, gid) = locate(a, key);
    a.write(gid, |s| {
        let Some(r) = live(s, store, h, key) else {
            return false;
        };
        if !r.has_ttl {
            return false;
        }
        let ok = s.set_ttl(h, &r, None).is_ok();
        s.count_changes(usize::from(ok));
        ok
    })
}
