//! A hash (field -> value): the value type and the typed [`HashOps`] API.
//!
//! # Encodings (invisible to the API)
//!
//! - **pack** (`OBJECT ENCODING` `listpack`): up to 512 fields whose fields and values are at
//!   most 64 bytes (the reference redis-server 7.0.15's `hash-max-listpack-entries` / `-value`) live in one byte
//!   buffer, `[flen u8][field][vlen u8][value]` back to back, in insertion order (as Redis's
//!   listpack). Lookups scan it, as Redis does.
//! - **table** (`hashtable`): past either limit the hash converts, for good, to a dense vector
//!   of entries (one allocation each: `[flen u32][field][value]`) plus a hash table of indexes
//!   into it. Removal swaps the last entry into the hole, so `HSCAN` walks the vector from the
//!   end and still returns every field present for the whole scan.

pub(crate) mod ops;

use bytes::Bytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

use crate::Error;
use crate::keyspace::Keyspace;
use crate::value::heap_size;

/// Most fields a packed hash holds (`hash-max-listpack-entries`).
pub(crate) const PACK_MAX_ENTRIES: usize = 512;
/// Longest field or value a packed hash holds (`hash-max-listpack-value`).
pub(crate) const PACK_MAX_VALUE: usize = 64;

/// A hash (field -> value).
#[derive(Debug, Clone)]
pub(crate) struct Hash {
    enc: Enc,
}

/// 16 bytes, stored in the slab slot itself (no box): a small hash costs its packed bytes
/// and nothing else.
#[derive(Debug, Clone)]
enum Enc {
    /// Exactly sized: every change reallocates, as a listpack does.
    Pack(Box<[u8]>),
    Table(Box<Table>),
}

#[derive(Debug, Clone)]
struct Table {
    dense: Vec<Box<[u8]>>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// Sum of `heap_size` of the entries.
    entry_heap: usize,
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

/// A packed entry at byte `p`: (field range, value range, next entry).
#[inline]
fn pack_entry(buf: &[u8], p: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>, usize) {
    let fl = buf[p] as usize;
    let f = p + 1..p + 1 + fl;
    let vl = buf[f.end] as usize;
    let v = f.end + 1..f.end + 1 + vl;
    let next = v.end;
    (f, v, next)
}

fn entry_field(e: &[u8]) -> &[u8] {
    let mut l = [0u8; 4];
    l.copy_from_slice(&e[..4]);
    &e[4..4 + u32::from_le_bytes(l) as usize]
}

fn entry_value(e: &[u8]) -> &[u8] {
    let mut l = [0u8; 4];
    l.copy_from_slice(&e[..4]);
    &e[4 + u32::from_le_bytes(l) as usize..]
}

fn make_entry(f: &[u8], v: &[u8]) -> Box<[u8]> {
    let mut e = Vec::with_capacity(4 + f.len() + v.len());
    e.extend_from_slice(&(f.len() as u32).to_le_bytes());
    e.extend_from_slice(f);
    e.extend_from_slice(v);
    e.into_boxed_slice()
}

impl Table {
    fn new(cap: usize) -> Table {
        Table {
            dense: Vec::with_capacity(cap),
            index: HashTable::with_capacity(cap),
            hasher: DefaultHashBuilder::default(),
            entry_heap: 0,
        }
    }

    fn find(&self, f: &[u8]) -> Option<usize> {
        let h = self.hasher.hash_one(f);
        let dense = &self.dense;
        self.index
            .find(h, |&i| {
                dense.get(i as usize).is_some_and(|e| entry_field(e) == f)
            })
            .map(|&i| i as usize)
    }

    /// Inserts or replaces; true if the field is new.
    fn set(&mut self, f: &[u8], v: &[u8]) -> bool {
        let e = make_entry(f, v);
        if let Some(i) = self.find(f) {
            if let Some(slot) = self.dense.get_mut(i) {
                self.entry_heap = self.entry_heap + heap_size(e.len()) - heap_size(slot.len());
                *slot = e;
            }
            return false;
        }
        let i = self.dense.len() as u32;
        self.entry_heap += heap_size(e.len());
        self.dense.push(e);
        let hasher = &self.hasher;
        let dense = &self.dense;
        let h = hasher.hash_one(f);
        self.index.insert_unique(h, i, |&j| {
            hasher.hash_one(dense.get(j as usize).map_or(&[][..], |e| entry_field(e)))
        });
        true
    }

    fn remove(&mut self, f: &[u8]) -> bool {
        let h = self.hasher.hash_one(f);
        let dense = &self.dense;
        let Ok(entry) = self.index.find_entry(h, |&i| {
            dense.get(i as usize).is_some_and(|e| entry_field(e) == f)
        }) else {
            return false;
        };
        let (i, _) = entry.remove();
        let i = i as usize;
        let last = self.dense.len() - 1;
        if i != last {
            // The last entry moves into the hole: repoint its index slot.
            let moved_h = self
                .dense
                .get(last)
                .map_or(0, |e| self.hasher.hash_one(entry_field(e)));
            if let Some(slot) = self.index.find_mut(moved_h, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        let old = self.dense.swap_remove(i);
        self.entry_heap -= heap_size(old.len());
        if self.dense.capacity() > 64 && self.dense.len() < self.dense.capacity() / 4 {
            self.dense.shrink_to(self.dense.len() * 2);
            let hasher = &self.hasher;
            let dense = &self.dense;
            self.index.shrink_to(dense.len() * 2, |&j| {
                hasher.hash_one(dense.get(j as usize).map_or(&[][..], |e| entry_field(e)))
            });
        }
        true
    }

    fn heap(&self) -> usize {
        let cap = self.index.capacity();
        let index = if cap == 0 {
            0
        } else {
            let buckets = (cap * 8 / 7 + 1).next_power_of_two();
            heap_size(buckets * 5 + 16)
        };
        heap_size(std::mem::size_of::<Table>())
            + heap_size(self.dense.capacity() * std::mem::size_of::<Box<[u8]>>())
            + self.entry_heap
            + index
    }
}

impl Hash {
    pub(crate) fn new() -> Hash {
        Hash {
            enc: Enc::Pack(Box::default()),
        }
    }

    /// Number of elements (a packed hash counts its entries: at most 512 short ones).
    pub(crate) fn len(&self) -> usize {
        match &self.enc {
            Enc::Pack(buf) => Self::pack_scan(buf, None).1,
            Enc::Table(t) => t.dense.len(),
        }
    }

    /// True when no element is left (the key is then deleted).
    pub(crate) fn is_empty(&self) -> bool {
        match &self.enc {
            Enc::Pack(buf) => buf.is_empty(),
            Enc::Table(t) => t.dense.is_empty(),
        }
    }

    /// Heap bytes owned by the value. O(1).
    pub(crate) fn charge(&self) -> usize {
        match &self.enc {
            Enc::Pack(buf) => heap_size(buf.len()),
            Enc::Table(t) => t.heap(),
        }
    }

    /// `OBJECT ENCODING` name.
    pub(crate) fn encoding(&self) -> &'static str {
        match self.enc {
            Enc::Pack(_) => "listpack",
            Enc::Table(_) => "hashtable",
        }
    }

    /// Offset of the packed entry for `f` (if given) and the number of entries looked at
    /// (all of them when `f` is not found).
    fn pack_scan(buf: &[u8], f: Option<&[u8]>) -> (Option<usize>, usize) {
        let mut p = 0;
        let mut n = 0;
        while p < buf.len() {
            let (fr, _, next) = pack_entry(buf, p);
            if f.is_some_and(|f| &buf[fr] == f) {
                return (Some(p), n);
            }
            n += 1;
            p = next;
        }
        (None, n)
    }

    fn pack_find(buf: &[u8], f: &[u8]) -> Option<usize> {
        Self::pack_scan(buf, Some(f)).0
    }

    pub(crate) fn get(&self, f: &[u8]) -> Option<&[u8]> {
        match &self.enc {
            Enc::Pack(buf) => {
                let p = Self::pack_find(buf, f)?;
                let (_, vr, _) = pack_entry(buf, p);
                Some(&buf[vr])
            }
            Enc::Table(t) => t
                .find(f)
                .and_then(|i| t.dense.get(i))
                .map(|e| entry_value(e)),
        }
    }

    fn convert_to_table(&mut self) {
        let Enc::Pack(buf) = &self.enc else {
            return;
        };
        let mut t = Table::new(Self::pack_scan(buf, None).1 + 1);
        let mut p = 0;
        while p < buf.len() {
            let (fr, vr, next) = pack_entry(buf, p);
            t.set(&buf[fr], &buf[vr]);
            p = next;
        }
        self.enc = Enc::Table(Box::new(t));
    }

    /// Sets `f` to `v`; true if the field is new.
    pub(crate) fn set(&mut self, f: &[u8], v: &[u8]) -> bool {
        if let Enc::Pack(buf) = &mut self.enc {
            if f.len() <= PACK_MAX_VALUE && v.len() <= PACK_MAX_VALUE {
                let (found, n) = Self::pack_scan(buf, Some(f));
                if let Some(p) = found {
                    let (_, vr, _) = pack_entry(buf, p);
                    if vr.len() == v.len() {
                        buf[vr].copy_from_slice(v);
                    } else {
                        let mut nb = Vec::with_capacity(buf.len() - vr.len() + v.len());
                        nb.extend_from_slice(&buf[..vr.start - 1]);
                        nb.push(v.len() as u8);
                        nb.extend_from_slice(v);
                        nb.extend_from_slice(&buf[vr.end..]);
                        *buf = nb.into_boxed_slice();
                    }
                    return false;
                }
                if n < PACK_MAX_ENTRIES {
                    let mut nb = Vec::with_capacity(buf.len() + 2 + f.len() + v.len());
                    nb.extend_from_slice(buf);
                    nb.push(f.len() as u8);
                    nb.extend_from_slice(f);
                    nb.push(v.len() as u8);
                    nb.extend_from_slice(v);
                    *buf = nb.into_boxed_slice();
                    return true;
                }
            }
            self.convert_to_table();
        }
        match &mut self.enc {
            Enc::Table(t) => t.set(f, v),
            Enc::Pack(_) => false,
        }
    }

    /// Removes `f`; true if it was there.
    pub(crate) fn remove(&mut self, f: &[u8]) -> bool {
        match &mut self.enc {
            Enc::Pack(buf) => {
                let Some(p) = Self::pack_find(buf, f) else {
                    return false;
                };
                let (_, _, next) = pack_entry(buf, p);
                let mut nb = Vec::with_capacity(buf.len() - (next - p));
                nb.extend_from_slice(&buf[..p]);
                nb.extend_from_slice(&buf[next..]);
                *buf = nb.into_boxed_slice();
                true
            }
            Enc::Table(t) => t.remove(f),
        }
    }

    /// Entry `i` in storage order (`i < len`).
    pub(crate) fn nth(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.enc {
            Enc::Pack(_) => self.iter().nth(i),
            Enc::Table(t) => t.dense.get(i).map(|e| (entry_field(e), entry_value(e))),
        }
    }

    /// Every (field, value), in storage order.
    pub(crate) fn iter(&self) -> HashIter<'_> {
        match &self.enc {
            Enc::Pack(buf) => HashIter::Pack { buf, p: 0 },
            Enc::Table(t) => HashIter::Table(t.dense.iter()),
        }
    }

    /// Whether the dense storage supports index cursors (the table encoding).
    pub(crate) fn is_table(&self) -> bool {
        matches!(self.enc, Enc::Table(_))
    }
}

/// Iterator over a stored hash's (field, value) pairs.
pub(crate) enum HashIter<'a> {
    Pack { buf: &'a [u8], p: usize },
    Table(std::slice::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Pack { buf, p } => {
                if *p >= buf.len() {
                    return None;
                }
                let (fr, vr, next) = pack_entry(buf, *p);
                *p = next;
                Some((&buf[fr], &buf[vr]))
            }
            HashIter::Table(it) => it.next().map(|e| (entry_field(e), entry_value(e))),
        }
    }
}

/// The hash commands, for [`crate::Cache`] and [`crate::Transaction`].
///
/// A hash left empty by [`HashOps::hdel`] is deleted with its key.
///
/// ```
/// use sabaody_core::{Cache, HashOps};
/// let cache = Cache::builder().build();
/// cache.hset("user:1", &[("name", "ada"), ("visits", "1")]).unwrap();
/// assert_eq!(cache.hincr_by("user:1", "visits", 2).unwrap(), 3);
/// assert_eq!(cache.hget("user:1", "name").unwrap().as_deref(), Some(&b"ada"[..]));
/// assert_eq!(cache.hlen("user:1").unwrap(), 2);
/// ```
pub trait HashOps: Keyspace {
    /// `HSET key field value [field value ...]`: how many fields were new.
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::OutOfMemory`].
    fn hset<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        pairs: &[(F, V)],
    ) -> Result<usize, Error> {
        ops::hset(self, key.as_ref(), pairs)
    }

    /// `HSETNX key field value`: true if the field was set (it did not exist).
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::OutOfMemory`].
    fn hsetnx(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool, Error> {
        ops::hsetnx(self, key.as_ref(), field.as_ref(), value.as_ref())
    }

    /// `HGET key field`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hget(&self, key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        self.hget_with(key, field, Bytes::copy_from_slice)
    }

    /// `HGET` lending the value to `f` under the shard lock.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hget_with<R>(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        ops::hget_with(self, key.as_ref(), field.as_ref(), f)
    }

    /// `HMGET key field...`: one entry per field.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hmget<F: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        fields: &[F],
    ) -> Result<Vec<Option<Bytes>>, Error> {
        ops::hmget(self, key.as_ref(), fields)
    }

    /// `HDEL key field...`: how many were removed.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hdel<F: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<usize, Error> {
        ops::hdel(self, key.as_ref(), fields)
    }

    /// `HEXISTS key field`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hexists(&self, key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Result<bool, Error> {
        Ok(self.hget_with(key, field, |_| ())?.is_some())
    }

    /// `HLEN key` (0 for a missing key).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hlen(&self, key: impl AsRef<[u8]>) -> Result<usize, Error> {
        ops::hlen(self, key.as_ref())
    }

    /// `HSTRLEN key field` (0 when missing).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hstrlen(&self, key: impl AsRef<[u8]>, field: impl AsRef<[u8]>) -> Result<usize, Error> {
        Ok(self.hget_with(key, field, <[u8]>::len)?.unwrap_or(0))
    }

    /// `HGETALL key`: every (field, value), in storage order (insertion order while the hash
    /// is small, as Redis's listpack).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hgetall(&self, key: impl AsRef<[u8]>) -> Result<Vec<(Bytes, Bytes)>, Error> {
        ops::hgetall(self, key.as_ref())
    }

    /// `HKEYS key`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hkeys(&self, key: impl AsRef<[u8]>) -> Result<Vec<Bytes>, Error> {
        Ok(self.hgetall(key)?.into_iter().map(|(f, _)| f).collect())
    }

    /// `HVALS key`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hvals(&self, key: impl AsRef<[u8]>) -> Result<Vec<Bytes>, Error> {
        Ok(self.hgetall(key)?.into_iter().map(|(_, v)| v).collect())
    }

    /// `HINCRBY key field by`: the new value (a missing field counts as 0).
    ///
    /// # Errors
    /// [`Error::HashNotInteger`]; [`Error::Overflow`]; [`Error::WrongType`].
    fn hincr_by(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        by: i64,
    ) -> Result<i64, Error> {
        ops::hincr_by(self, key.as_ref(), field.as_ref(), by)
    }

    /// `HINCRBYFLOAT key field by` with the increment as the client's text (parsed as
    /// Redis's `strtold`): the new value as Redis formats it.
    ///
    /// # Errors
    /// [`Error::NotFloat`] (increment); [`Error::HashNotFloat`] (stored value);
    /// [`Error::NanOrInfinity`]; [`Error::WrongType`].
    fn hincr_by_float_text(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        by: impl AsRef<[u8]>,
    ) -> Result<Bytes, Error> {
        ops::hincr_by_float(self, key.as_ref(), field.as_ref(), by.as_ref())
    }

    /// `HINCRBYFLOAT key field by`.
    ///
    /// # Errors
    /// As [`HashOps::hincr_by_float_text`].
    fn hincr_by_float(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        by: f64,
    ) -> Result<Bytes, Error> {
        if !by.is_finite() {
            return Err(Error::NanOrInfinity);
        }
        ops::hincr_by_float(
            self,
            key.as_ref(),
            field.as_ref(),
            format!("{by}").as_bytes(),
        )
    }

    /// `HRANDFIELD key`: a random field, `None` if the key does not exist.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hrandfield(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        Ok(ops::hrandfield(self, key.as_ref(), -1)?
            .pop()
            .map(|(f, _)| f))
    }

    /// `HRANDFIELD key count [WITHVALUES]`: `count > 0` gives up to `count` distinct fields
    /// (all of them, in storage order, when `count >= HLEN`); `count < 0` gives exactly
    /// `-count` fields that may repeat. Each comes with its value.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hrandfield_count(
        &self,
        key: impl AsRef<[u8]>,
        count: i64,
    ) -> Result<Vec<(Bytes, Bytes)>, Error> {
        ops::hrandfield(self, key.as_ref(), count)
    }

    /// `HSCAN key cursor [MATCH pattern] [COUNT n]`: the next cursor (0 = done) and a page of
    /// (field, value). A small hash is returned whole in one call, as Redis does.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn hscan(
        &self,
        key: impl AsRef<[u8]>,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
    ) -> Result<(u64, Vec<(Bytes, Bytes)>), Error> {
        ops::hscan(self, key.as_ref(), cursor, pattern, count)
    }
}

impl<K: Keyspace + ?Sized> HashOps for K {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_two_words() {
        // Stored unboxed in `Value`: it must not make a slab slot bigger than a `Bytes`.
        assert_eq!(std::mem::size_of::<Hash>(), 16);
        assert!(std::mem::size_of::<Hash>() <= std::mem::size_of::<bytes::Bytes>());
    }

    #[test]
    fn pack_then_table() {
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1"));
        assert!(!h.set(b"a", b"22"));
        assert!(h.set(b"b", b"3"));
        assert_eq!(h.get(b"a"), Some(&b"22"[..]));
        assert_eq!(h.encoding(), "listpack");
        let order: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(order, vec![&b"a"[..], b"b"]);
        for i in 0..600u32 {
            h.set(i.to_string().as_bytes(), b"x");
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 602);
        assert_eq!(h.get(b"a"), Some(&b"22"[..]));
        for i in 0..600u32 {
            assert!(h.remove(i.to_string().as_bytes()));
        }
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(b"b"), Some(&b"3"[..]));
        assert!(!h.remove(b"zz"));
        let mut long = Hash::new();
        long.set(b"f", &[b'v'; 65]);
        assert_eq!(long.encoding(), "hashtable");
    }
}
