//! Sets of binary strings: the value type and the typed [`SetOps`] API.
//!
//! # Encodings (as `OBJECT ENCODING` names them, Redis 7.0 rules)
//!
//! * `intset`: a sorted `Vec<i64>` while every member is a canonical integer (Redis's
//!   `string2ll` syntax) and there are at most 512 (`set-max-intset-entries`). Lookups are a
//!   binary search; members are formatted back on the way out.
//! * `hashtable`: members in a slab (`Vec<Member>`; a [`member::Member`] keeps up to 22 bytes
//!   inline in its 24-byte slot, longer ones are boxed) found through a hashbrown
//!   `HashTable<u32>` of slab indices (`table.rs`). Measured with `scripts/mem_vs_redis.py set`
//!   (1M members of 16 bytes, RSS growth): 36.7 B/member against redis-server 7.0.15's
//!   82.8 (0.44x); a plain `HashTable<Member>` took 55.7. Slab slots never move, so SSCAN's
//!   cursor (a slab index) returns every member present for the whole scan exactly once,
//!   however the table is resized; new members go to free slots or the end of the slab, so a
//!   scan ends once writers stop outpacing it. A set never converts back to an intset, as in
//!   Redis.

pub(crate) mod member;
pub(crate) mod ops;
mod table;
mod types;

pub(crate) use types::Set;

use crate::Error;
use crate::keyspace::Keyspace;
use bytes::Bytes;
use ops::Algebra;

/// The set commands, for [`crate::Cache`] and [`crate::Transaction`].
///
/// ```
/// use sabaody_core::{Cache, SetOps};
/// let cache = Cache::builder().build();
/// assert_eq!(cache.sadd("tags", &["a", "b", "a"]).unwrap(), 2);
/// assert!(cache.sismember("tags", "a").unwrap());
/// assert_eq!(cache.sinter(&["tags", "missing"]).unwrap().len(), 0);
/// ```
pub trait SetOps: Keyspace {
    /// `SADD key member...`: how many members were new.
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::OutOfMemory`].
    fn sadd<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<usize, Error> {
        ops::sadd(self, key.as_ref(), members)
    }

    /// `SREM key member...`: how many members were removed. The key goes when empty.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn srem<M: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, members: &[M]) -> Result<usize, Error> {
        ops::srem(self, key.as_ref(), members)
    }

    /// `SMEMBERS key` (no particular order; ascending for an intset).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn smembers(&self, key: impl AsRef<[u8]>) -> Result<Vec<Bytes>, Error> {
        Ok(ops::with_set(self, key.as_ref(), |s| s.members())?.unwrap_or_default())
    }

    /// `SISMEMBER key member`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn sismember(&self, key: impl AsRef<[u8]>, member: impl AsRef<[u8]>) -> Result<bool, Error> {
        let m = member.as_ref();
        Ok(ops::with_set(self, key.as_ref(), |s| s.contains(m))?.unwrap_or(false))
    }

    /// `SMISMEMBER key member...`: one flag per member.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn smismember<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: &[M],
    ) -> Result<Vec<bool>, Error> {
        let found = ops::with_set(self, key.as_ref(), |s| {
            members.iter().map(|m| s.contains(m.as_ref())).collect()
        })?;
        Ok(found.unwrap_or_else(|| vec![false; members.len()]))
    }

    /// `SCARD key`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn scard(&self, key: impl AsRef<[u8]>) -> Result<usize, Error> {
        Ok(ops::with_set(self, key.as_ref(), Set::len)?.unwrap_or(0))
    }

    /// `SPOP key`: removes and returns a random member.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn spop(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        ops::spop(self, key.as_ref())
    }

    /// `SPOP key count`: removes and returns up to `count` distinct random members.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn spop_count(&self, key: impl AsRef<[u8]>, count: usize) -> Result<Vec<Bytes>, Error> {
        ops::spop_count(self, key.as_ref(), count)
    }

    /// `SRANDMEMBER key`: a random member, not removed.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn srandmember(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        Ok(ops::with_set(self, key.as_ref(), Set::random)?.flatten())
    }

    /// `SRANDMEMBER key count`: `count >= 0` gives `min(count, SCARD)` distinct members;
    /// a negative count gives exactly `-count` members, possibly repeated.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn srandmember_count(&self, key: impl AsRef<[u8]>, count: i64) -> Result<Vec<Bytes>, Error> {
        ops::srandmember_count(self, key.as_ref(), count)
    }

    /// `SMOVE source destination member`: true if the member was removed from `source`
    /// (it is then in `destination`, whether or not it already was).
    ///
    /// # Errors
    /// [`Error::WrongType`] if either key holds another type.
    fn smove(
        &self,
        src: impl AsRef<[u8]>,
        dst: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<bool, Error> {
        ops::smove(self, src.as_ref(), dst.as_ref(), member.as_ref())
    }

    /// `SINTER key...` (a missing key is an empty set).
    ///
    /// # Errors
    /// [`Error::WrongType`] if any key holds another type.
    fn sinter<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Bytes>, Error> {
        Ok(ops::algebra(self, keys, Algebra::Inter, 0)?.members())
    }

    /// `SUNION key...`.
    ///
    /// # Errors
    /// [`Error::WrongType`] if any key holds another type.
    fn sunion<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Bytes>, Error> {
        Ok(ops::algebra(self, keys, Algebra::Union, 0)?.members())
    }

    /// `SDIFF key...`: members of the first set in none of the others.
    ///
    /// # Errors
    /// [`Error::WrongType`] if any key holds another type.
    fn sdiff<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Bytes>, Error> {
        Ok(ops::algebra(self, keys, Algebra::Diff, 0)?.members())
    }

    /// `SINTERSTORE destination key...`: the size of the stored result (an empty result
    /// deletes `destination`).
    ///
    /// # Errors
    /// [`Error::WrongType`] if a source holds another type; [`Error::OutOfMemory`].
    fn sinterstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
    ) -> Result<usize, Error> {
        ops::algebra_store(self, dst.as_ref(), keys, Algebra::Inter)
    }

    /// `SUNIONSTORE destination key...`.
    ///
    /// # Errors
    /// As [`SetOps::sinterstore`].
    fn sunionstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
    ) -> Result<usize, Error> {
        ops::algebra_store(self, dst.as_ref(), keys, Algebra::Union)
    }

    /// `SDIFFSTORE destination key...`.
    ///
    /// # Errors
    /// As [`SetOps::sinterstore`].
    fn sdiffstore<K: AsRef<[u8]>>(
        &self,
        dst: impl AsRef<[u8]>,
        keys: &[K],
    ) -> Result<usize, Error> {
        ops::algebra_store(self, dst.as_ref(), keys, Algebra::Diff)
    }

    /// `SINTERCARD numkeys key... [LIMIT limit]`: the intersection's size, counting stops at
    /// `limit` when it is non-zero.
    ///
    /// # Errors
    /// [`Error::WrongType`] if any key holds another type.
    fn sintercard<K: AsRef<[u8]>>(&self, keys: &[K], limit: usize) -> Result<usize, Error> {
        Ok(ops::algebra(self, keys, Algebra::Inter, limit)?.len())
    }

    /// `SSCAN key cursor [MATCH pattern] [COUNT count]`: the next cursor (0 when done) and
    /// the members found.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn sscan(
        &self,
        key: impl AsRef<[u8]>,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(u64, Vec<Bytes>), Error> {
        ops::sscan(self, key.as_ref(), cursor, count, pattern)
    }
}

impl<K: Keyspace + ?Sized> SetOps for K {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cache, Keyspace};

    fn sorted(mut v: Vec<Bytes>) -> Vec<Bytes> {
        v.sort();
        v
    }

    #[test]
    fn basic_commands() {
        let c = Cache::builder().build();
        assert_eq!(c.sadd("s", &["1", "2", "3", "2"]).unwrap(), 3);
        assert_eq!(c.object_encoding("s"), Some("intset"));
        assert_eq!(c.sadd("s", &["x"]).unwrap(), 1);
        assert_eq!(c.object_encoding("s"), Some("hashtable"));
        assert_eq!(c.scard("s").unwrap(), 4);
        assert_eq!(c.smismember("s", &["1", "9"]).unwrap(), vec![true, false]);
        assert_eq!(c.srem("s", &["1", "2", "3", "x", "y"]).unwrap(), 4);
        assert_eq!(c.exists(&["s"]), 0, "an emptied set is deleted");
        c.set("str", "v").unwrap();
        assert_eq!(c.sadd("str", &["a"]), Err(Error::WrongType));
        assert_eq!(c.sinter(&["str"]), Err(Error::WrongType));
    }

    #[test]
    fn algebra_and_store() {
        let c = Cache::builder().build();
        c.sadd("a", &["1", "2", "3", "x"]).unwrap();
        c.sadd("b", &["2", "3", "4"]).unwrap();
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        assert_eq!(sorted(c.sinter(&["a", "b"]).unwrap()), vec![b("2"), b("3")]);
        assert_eq!(c.sinter(&["a", "nope"]).unwrap().len(), 0);
        assert_eq!(sorted(c.sdiff(&["a", "b"]).unwrap()), vec![b("1"), b("x")]);
        assert_eq!(c.sunion(&["a", "b", "nope"]).unwrap().len(), 5);
        assert_eq!(c.sintercard(&["a", "b"], 1).unwrap(), 1);
        assert_eq!(c.sinterstore("d", &["a", "b"]).unwrap(), 2);
        assert_eq!(c.object_encoding("d"), Some("intset"));
        assert_eq!(c.sinterstore("d", &["a", "nope"]).unwrap(), 0);
        assert_eq!(c.exists(&["d"]), 0);
        assert_eq!(c.sunionstore("a", &["a", "b"]).unwrap(), 5);
        assert!(c.smove("a", "m", "x").unwrap());
        assert!(!c.smove("a", "m", "x").unwrap());
        assert!(c.smove("m", "m", "x").unwrap());
        assert_eq!(c.smembers("m").unwrap(), vec![b("x")]);
        assert!(c.smove("m", "b", "x").unwrap());
        assert_eq!(c.exists(&["m"]), 0);
    }

    #[test]
    fn pop_and_random_counts() {
        let c = Cache::builder().build();
        c.sadd("s", &["a", "b", "c", "d", "e"]).unwrap();
        assert_eq!(c.srandmember_count("s", 3).unwrap().len(), 3);
        let mut d = c.srandmember_count("s", 3).unwrap();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 3);
        assert_eq!(c.srandmember_count("s", 50).unwrap().len(), 5);
        assert_eq!(c.srandmember_count("s", -50).unwrap().len(), 50);
        assert_eq!(c.spop_count("s", 2).unwrap().len(), 2);
        assert_eq!(c.scard("s").unwrap(), 3);
        assert_eq!(c.spop_count("s", 10).unwrap().len(), 3);
        assert_eq!(c.exists(&["s"]), 0);
    }
}
