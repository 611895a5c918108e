//! A list: the value type and the typed [`ListOps`] API.
//!
//! # Layout
//!
//! A deque of chunks (`chunk.rs`): each chunk packs up to 8 KiB of elements back to back
//! (2 bytes of framing per element under 255 bytes), with free room at either end so pushes
//! and pops at both ends of the list are O(1). A small list is one small chunk. Each chunk
//! knows its element count, so reaching index `i` walks chunk counts from the nearer end and
//! then one chunk: `LINDEX` in the middle of a 1M-element list of short strings visits about
//! a thousand counts and a few hundred elements, not half a million.

mod chunk;
pub(crate) mod ops;

use std::collections::VecDeque;

use bytes::Bytes;

use crate::Error;
use crate::keyspace::Keyspace;
use crate::value::heap_size;
use chunk::{Chunk, MAX_CHUNK, enc_len};

/// A list of binary strings.
#[derive(Debug, Clone, Default)]
pub(crate) struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
    /// Sum of `heap_size` of every chunk buffer.
    heap: usize,
}

impl PartialEq for List {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter_from(0).eq(other.iter_from(0))
    }
}

impl List {
    pub(crate) fn new() -> List {
        List {
            chunks: VecDeque::with_capacity(1),
            len: 0,
            heap: 0,
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when no element is left (the key is then deleted).
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes owned by the value, its box included. Kept up to date on every change: O(1).
    pub(crate) fn charge(&self) -> usize {
        heap_size(std::mem::size_of::<Self>())
            + heap_size(self.chunks.capacity() * std::mem::size_of::<Chunk>())
            + self.heap
    }

    /// `OBJECT ENCODING` name: Redis 7.0 reports every list as a quicklist.
    pub(crate) fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Runs `f` on chunk `ci`, keeping the byte count right; drops the chunk if left empty.
    fn with_chunk<T>(&mut self, ci: usize, f: impl FnOnce(&mut Chunk) -> T) -> Option<T> {
        let c = self.chunks.get_mut(ci)?;
        let before = heap_size(c.cap());
        let t = f(c);
        let after = heap_size(c.cap());
        self.heap = self.heap + after - before;
        if c.count == 0 {
            self.heap -= after;
            self.chunks.remove(ci);
        }
        Some(t)
    }

    /// Splits chunk `ci` if an insert or replace grew it past the chunk limit.
    fn maybe_split(&mut self, ci: usize) {
        let Some(c) = self.chunks.get_mut(ci) else {
            return;
        };
        if c.used() <= MAX_CHUNK {
            return;
        }
        let before = heap_size(c.cap());
        if let Some(tail) = c.split() {
            self.heap = self.heap + heap_size(c.cap()) + heap_size(tail.cap()) - before;
            self.chunks.insert(ci + 1, tail);
        }
    }

    fn new_chunk_cap(&self, enc: usize) -> usize {
        // The first chunk starts tight (most lists are small); later ones are full-size.
        if self.chunks.is_empty() {
            enc
        } else {
            enc.max(MAX_CHUNK)
        }
    }

    pub(crate) fn push_back(&mut self, e: &[u8]) {
        let enc = enc_len(e.len());
        let last = self.chunks.len().wrapping_sub(1);
        if self.chunks.back().is_some_and(|c| c.fits(e)) {
            self.with_chunk(last, |c| c.push_back(e));
        } else {
            let mut c = Chunk::with_cap(self.new_chunk_cap(enc), false);
            c.push_back(e);
            self.heap += heap_size(c.cap());
            self.chunks.push_back(c);
        }
        self.len += 1;
    }

    pub(crate) fn push_front(&mut self, e: &[u8]) {
        let enc = enc_len(e.len());
        if self.chunks.front().is_some_and(|c| c.fits(e)) {
            self.with_chunk(0, |c| c.push_front(e));
        } else {
            let mut c = Chunk::with_cap(self.new_chunk_cap(enc), true);
            c.push_front(e);
            self.heap += heap_size(c.cap());
            self.chunks.push_front(c);
        }
        self.len += 1;
    }

    pub(crate) fn push(&mut self, end: ListEnd, e: &[u8]) {
        match end {
            ListEnd::Left => self.push_front(e),
            ListEnd::Right => self.push_back(e),
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<Bytes> {
        let c = self.chunks.front()?;
        let v = Bytes::copy_from_slice(c.first());
        self.with_chunk(0, Chunk::drop_front);
        self.len -= 1;
        Some(v)
    }

    pub(crate) fn pop_back(&mut self) -> Option<Bytes> {
        let c = self.chunks.back()?;
        let v = Bytes::copy_from_slice(c.last());
        self.with_chunk(self.chunks.len() - 1, Chunk::drop_back);
        self.len -= 1;
        Some(v)
    }

    pub(crate) fn pop(&mut self, end: ListEnd) -> Option<Bytes> {
        match end {
            ListEnd::Left => self.pop_front(),
            ListEnd::Right => self.pop_back(),
        }
    }

    /// Lends the element at `end` to `f`, then removes it (no copy).
    pub(crate) fn pop_with<R>(&mut self, end: ListEnd, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let r = match end {
            ListEnd::Left => {
                let r = f(self.chunks.front()?.first());
                self.with_chunk(0, Chunk::drop_front);
                r
            }
            ListEnd::Right => {
                let r = f(self.chunks.back()?.last());
                self.with_chunk(self.chunks.len() - 1, Chunk::drop_back);
                r
            }
        };
        self.len -= 1;
        Some(r)
    }

    /// Chunk index and index within that chunk of element `idx` (< len).
    fn locate_k(&self, idx: usize) -> (usize, usize) {
        if idx < self.len / 2 {
            let mut before = 0usize;
            for (ci, c) in self.chunks.iter().enumerate() {
                let n = c.count as usize;
                if idx < before + n {
                    return (ci, idx - before);
                }
                before += n;
            }
        } else {
            let mut after = self.len;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                let n = c.count as usize;
                after -= n;
                if idx >= after {
                    return (ci, idx - after);
                }
            }
        }
        (self.chunks.len(), 0)
    }

    /// Chunk index and byte offset of element `idx` (< len).
    fn locate(&self, idx: usize) -> (usize, usize) {
        let (ci, k) = self.locate_k(idx);
        (ci, self.chunks.get(ci).map_or(0, |c| c.offset_of(k)))
    }

    /// Element `idx` (0-based from the head).
    pub(crate) fn get(&self, idx: usize) -> Option<&[u8]> {
        if idx >= self.len {
            return None;
        }
        let (ci, off) = self.locate(idx);
        self.chunks.get(ci).map(|c| c.elem_at(off).0)
    }

    /// Replaces element `idx`; false if out of range.
    pub(crate) fn set(&mut self, idx: usize, v: &[u8]) -> bool {
        if idx >= self.len {
            return false;
        }
        let (ci, k) = self.locate_k(idx);
        let mut enc = Vec::with_capacity(enc_len(v.len()));
        chunk::push_encoded(&mut enc, v);
        self.with_chunk(ci, |c| {
            c.unfix();
            let off = c.offset_of(k);
            let (_, next) = c.elem_at(off);
            c.splice(off, next, &enc, 0)
        });
        self.maybe_split(ci);
        true
    }

    /// Inserts `v` before (or after) the first element equal to `pivot`; false if none is.
    pub(crate) fn insert_by_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool) -> bool {
        let mut found = None;
        'outer: for (ci, c) in self.chunks.iter().enumerate() {
            let mut p = c.start as usize;
            let mut k = 0;
            while p < c.end as usize {
                let (e, next) = c.elem_at(p);
                if e == pivot {
                    found = Some((ci, if after { k + 1 } else { k }));
                    break 'outer;
                }
                p = next;
                k += 1;
            }
        }
        let Some((ci, k)) = found else {
            return false;
        };
        let mut enc = Vec::with_capacity(enc_len(v.len()));
        chunk::push_encoded(&mut enc, v);
        self.with_chunk(ci, |c| {
            c.unfix();
            let at = c.offset_of(k);
            c.splice(at, at, &enc, 1)
        });
        self.len += 1;
        self.maybe_split(ci);
        true
    }

    /// Iterates from element `idx` towards the tail.
    pub(crate) fn iter_from(&self, idx: usize) -> ListIter<'_> {
        if idx >= self.len {
            return ListIter {
                list: self,
                ci: self.chunks.len(),
                off: 0,
                left: 0,
            };
        }
        let (ci, off) = self.locate(idx);
        ListIter {
            list: self,
            ci,
            off,
            left: self.len - idx,
        }
    }

    /// Calls `f(index, element)` from the tail towards the head until it returns false.
    pub(crate) fn for_each_rev(&self, mut f: impl FnMut(usize, &[u8]) -> bool) {
        let mut idx = self.len;
        for c in self.chunks.iter().rev() {
            let buf = c.buf();
            let mut e = c.end as usize;
            while e > c.start as usize {
                let (d, n, prev) = c.bwd(e);
                idx -= 1;
                if !f(idx, &buf[d..d + n]) {
                    return;
                }
                e = prev;
            }
        }
    }

    /// LREM: removes up to `limit` (0 = all) elements equal to `v`, from the tail when
    /// `from_tail`. Returns how many were removed.
    pub(crate) fn remove_matching(&mut self, v: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut removed = 0usize;
        let n = self.chunks.len();
        let order: Vec<usize> = if from_tail {
            (0..n).rev().collect()
        } else {
            (0..n).collect()
        };
        let mut emptied = Vec::new();
        for ci in order {
            if limit != 0 && removed >= limit {
                break;
            }
            let Some(c) = self.chunks.get(ci) else {
                continue;
            };
            // Byte ranges of the matching elements of this chunk, in list order.
            let mut spans: Vec<(usize, usize)> = Vec::new();
            let buf = c.buf();
            if from_tail {
                let mut e = c.end as usize;
                while e > c.start as usize && (limit == 0 || removed + spans.len() < limit) {
                    let (d, len, prev) = c.bwd(e);
                    if &buf[d..d + len] == v {
                        spans.push((prev, e));
                    }
                    e = prev;
                }
                spans.reverse();
            } else {
                let mut p = c.start as usize;
                while p < c.end as usize && (limit == 0 || removed + spans.len() < limit) {
                    let (d, len, next) = c.fwd(p);
                    if &buf[d..d + len] == v {
                        spans.push((p, next));
                    }
                    p = next;
                }
            }
            if spans.is_empty() {
                continue;
            }
            let mut kept = Vec::with_capacity(c.used());
            let mut at = c.start as usize;
            for &(s, e) in &spans {
                kept.extend_from_slice(&buf[at..s]);
                at = e;
            }
            kept.extend_from_slice(&buf[at..c.end as usize]);
            let k = spans.len();
            let count = c.count - k as u32;
            let old = heap_size(c.cap());
            let nc = Chunk::from_encoded(kept, count, c.width());
            self.heap = self.heap + heap_size(nc.cap()) - old;
            if count == 0 {
                emptied.push(ci);
            }
            if let Some(slot) = self.chunks.get_mut(ci) {
                *slot = nc;
            }
            removed += k;
            self.len -= k;
        }
        emptied.sort_unstable();
        for ci in emptied.into_iter().rev() {
            if let Some(c) = self.chunks.remove(ci) {
                self.heap -= heap_size(c.cap());
            }
        }
        removed
    }

    /// Removes `front` elements from the head and `back` from the tail.
    pub(crate) fn trim(&mut self, mut front: usize, mut back: usize) {
        if front + back >= self.len {
            self.chunks = VecDeque::new();
            self.heap = 0;
            self.len = 0;
            return;
        }
        self.len -= front + back;
        while front > 0 {
            let Some(c) = self.chunks.front() else { break };
            let n = c.count as usize;
            if n <= front {
                front -= n;
                if let Some(c) = self.chunks.pop_front() {
                    self.heap -= heap_size(c.cap());
                }
            } else {
                self.with_chunk(0, |c| {
                    for _ in 0..front {
                        c.drop_front();
                    }
                });
                front = 0;
            }
        }
        while back > 0 {
            let Some(c) = self.chunks.back() else { break };
            let n = c.count as usize;
            if n <= back {
                back -= n;
                if let Some(c) = self.chunks.pop_back() {
                    self.heap -= heap_size(c.cap());
                }
            } else {
                let last = self.chunks.len() - 1;
                self.with_chunk(last, |c| {
                    for _ in 0..back {
                        c.drop_back();
                    }
                });
                back = 0;
            }
        }
        if self.chunks.capacity() > 2 * self.chunks.len().max(4) {
            self.chunks.shrink_to_fit();
        }
    }

    /// Checks the internal invariants (tests).
    #[cfg(test)]
    pub(crate) fn validate(&self) -> Result<(), String> {
        let mut n = 0usize;
        let mut heap = 0usize;
        for c in &self.chunks {
            if c.count == 0 {
                return Err("empty chunk".into());
            }
            let mut p = c.start as usize;
            let mut k = 0;
            while p < c.end as usize {
                p = c.elem_at(p).1;
                k += 1;
            }
            if p != c.end as usize || k != c.count {
                return Err(format!("chunk count {} but {k} elements", c.count));
            }
            n += k as usize;
            heap += heap_size(c.cap());
        }
        if n != self.len {
            return Err(format!("len {} but {n} elements", self.len));
        }
        if heap != self.heap {
            return Err(format!("heap {} but {heap}", self.heap));
        }
        Ok(())
    }
}

/// Iterator over a run of list elements, head to tail, borrowed from the stored list (under
/// the shard's lock): see [`ListOps::lrange_with`].
#[derive(Debug, Clone)]
pub struct ListIter<'a> {
    list: &'a List,
    ci: usize,
    off: usize,
    left: usize,
}

impl<'a> ListIter<'a> {
    /// Limits the iterator to `n` more elements.
    pub(crate) fn take_n(mut self, n: usize) -> Self {
        self.left = self.left.min(n);
        self
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let mut c = self.list.chunks.get(self.ci)?;
        if self.off >= c.end as usize {
            self.ci += 1;
            c = self.list.chunks.get(self.ci)?;
            self.off = c.start as usize;
        }
        let (e, next) = c.elem_at(self.off);
        self.off = next;
        self.left -= 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for ListIter<'_> {}

/// Which end of a list: `LEFT` (head) or `RIGHT` (tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListEnd {
    /// The head (`LEFT`, `LPUSH`, `LPOP`).
    Left,
    /// The tail (`RIGHT`, `RPUSH`, `RPOP`).
    Right,
}

impl ListEnd {
    /// Parses `LEFT` / `RIGHT` case-insensitively.
    #[must_use]
    pub fn parse(arg: &[u8]) -> Option<ListEnd> {
        if arg.eq_ignore_ascii_case(b"left") {
            Some(ListEnd::Left)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Some(ListEnd::Right)
        } else {
            None
        }
    }
}

/// `LPOS`'s options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LposOptions {
    /// `RANK r`: skip the first `|r| - 1` matches; negative searches from the tail. Not 0.
    pub rank: i64,
    /// `COUNT n`: return up to `n` matches (`Some(0)` = all); `None` = only the first.
    pub count: Option<usize>,
    /// `MAXLEN n`: compare at most `n` elements (0 = no limit).
    pub maxlen: usize,
}

impl Default for LposOptions {
    fn default() -> Self {
        LposOptions {
            rank: 1,
            count: None,
            maxlen: 0,
        }
    }
}

/// The list commands, for [`crate::Cache`] and [`crate::Transaction`].
///
/// Indexes follow Redis: 0 is the head, -1 the tail. A list left empty by a removal is
/// deleted with its key.
///
/// ```
/// use sabaody_core::{Cache, ListEnd, ListOps};
/// let cache = Cache::builder().build();
/// cache.rpush("q", &["a", "b", "c"]).unwrap();
/// assert_eq!(cache.lpop("q").unwrap().as_deref(), Some(&b"a"[..]));
/// assert_eq!(cache.lrange("q", 0, -1).unwrap(), vec!["b", "c"]);
/// cache.lmove("q", "done", ListEnd::Right, ListEnd::Left).unwrap();
/// assert_eq!(cache.llen("done").unwrap(), 1);
/// ```
pub trait ListOps: Keyspace {
    /// `LPUSH key element...`: pushes each element at the head in turn; the new length.
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::OutOfMemory`].
    fn lpush<V: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, elems: &[V]) -> Result<usize, Error> {
        ops::push(self, key.as_ref(), elems, ListEnd::Left, true)
    }

    /// `RPUSH key element...`: the new length.
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::OutOfMemory`].
    fn rpush<V: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, elems: &[V]) -> Result<usize, Error> {
        ops::push(self, key.as_ref(), elems, ListEnd::Right, true)
    }

    /// `LPUSHX key element...`: as [`ListOps::lpush`] only if the list exists (else 0).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn lpushx<V: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, elems: &[V]) -> Result<usize, Error> {
        ops::push(self, key.as_ref(), elems, ListEnd::Left, false)
    }

    /// `RPUSHX key element...`: as [`ListOps::rpush`] only if the list exists (else 0).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn rpushx<V: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, elems: &[V]) -> Result<usize, Error> {
        ops::push(self, key.as_ref(), elems, ListEnd::Right, false)
    }

    /// `LPOP key`: the head element, `None` if the key does not exist.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn lpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        Ok(ops::pop(self, key.as_ref(), ListEnd::Left, 1)?.and_then(|mut v| v.pop()))
    }

    /// `RPOP key`: the tail element, `None` if the key does not exist.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn rpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        Ok(ops::pop(self, key.as_ref(), ListEnd::Right, 1)?.and_then(|mut v| v.pop()))
    }

    /// `LPOP key` / `RPOP key` lending the element to `f` under the shard lock before it is
    /// removed (a server writes it straight into its reply buffer). `None` if the key does
    /// not exist.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn pop_with<R>(
        &self,
        key: impl AsRef<[u8]>,
        end: ListEnd,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        ops::pop_with(self, key.as_ref(), end, f)
    }

    /// `LPOP key count` / `RPOP key count`: up to `count` elements from `end`, `None` if the
    /// key does not exist (an empty vector for `count == 0` on an existing list).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn pop_count(
        &self,
        key: impl AsRef<[u8]>,
        end: ListEnd,
        count: usize,
    ) -> Result<Option<Vec<Bytes>>, Error> {
        ops::pop(self, key.as_ref(), end, count)
    }

    /// `LLEN key` (0 for a missing key).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn llen(&self, key: impl AsRef<[u8]>) -> Result<usize, Error> {
        ops::llen(self, key.as_ref())
    }

    /// `LRANGE key start stop` (inclusive, negative from the tail), copied out.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn lrange(&self, key: impl AsRef<[u8]>, start: i64, stop: i64) -> Result<Vec<Bytes>, Error> {
        Ok(ops::lrange_with(self, key.as_ref(), start, stop, |it| {
            it.map(Bytes::copy_from_slice).collect()
        })?
        .unwrap_or_default())
    }

    /// `LRANGE` lending the elements to `f` under the shard lock (a server writes them
    /// straight into its reply buffer). `None` if the key does not exist.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn lrange_with<R>(
        &self,
        key: impl AsRef<[u8]>,
        start: i64,
        stop: i64,
        f: impl FnOnce(ListIter<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        ops::lrange_with(self, key.as_ref(), start, stop, f)
    }

    /// `LINDEX key index`.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn lindex(&self, key: impl AsRef<[u8]>, index: i64) -> Result<Option<Bytes>, Error> {
        ops::lindex(self, key.as_ref(), index)
    }

    /// `LSET key index element`.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`]; [`Error::IndexOutOfRange`]; [`Error::WrongType`].
    fn lset(&self, key: impl AsRef<[u8]>, index: i64, elem: impl AsRef<[u8]>) -> Result<(), Error> {
        ops::lset(self, key.as_ref(), index, elem.as_ref())
    }

    /// `LINSERT key BEFORE|AFTER pivot element`: the new length, -1 if `pivot` is not in
    /// the list, 0 if the key does not exist.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn linsert(
        &self,
        key: impl AsRef<[u8]>,
        after: bool,
        pivot: impl AsRef<[u8]>,
        elem: impl AsRef<[u8]>,
    ) -> Result<i64, Error> {
        ops::linsert(self, key.as_ref(), after, pivot.as_ref(), elem.as_ref())
    }

    /// `LREM key count element`: removes `count` occurrences from the head (`count > 0`),
    /// from the tail (`count < 0`) or all (`0`); how many were removed.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn lrem(
        &self,
        key: impl AsRef<[u8]>,
        count: i64,
        elem: impl AsRef<[u8]>,
    ) -> Result<usize, Error> {
        ops::lrem(self, key.as_ref(), count, elem.as_ref())
    }

    /// `LTRIM key start stop`: keeps only that range (inclusive, negative from the tail).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn ltrim(&self, key: impl AsRef<[u8]>, start: i64, stop: i64) -> Result<(), Error> {
        ops::ltrim(self, key.as_ref(), start, stop)
    }

    /// `LPOS key element [RANK r] [COUNT n] [MAXLEN m]`: the matching indexes (head = 0).
    /// Without `COUNT` at most one is returned.
    ///
    /// # Errors
    /// [`Error::WrongType`]. A rank of 0 finds nothing (the server refuses it first).
    fn lpos(
        &self,
        key: impl AsRef<[u8]>,
        elem: impl AsRef<[u8]>,
        opts: &LposOptions,
    ) -> Result<Vec<usize>, Error> {
        ops::lpos(self, key.as_ref(), elem.as_ref(), opts)
    }

    /// `LMOVE src dst LEFT|RIGHT LEFT|RIGHT`: the moved element, `None` if `src` does not
    /// exist. Atomic; `src == dst` rotates the list.
    ///
    /// # Errors
    /// [`Error::WrongType`] if either key holds another type (nothing moves).
    fn lmove(
        &self,
        src: impl AsRef<[u8]>,
        dst: impl AsRef<[u8]>,
        from: ListEnd,
        to: ListEnd,
    ) -> Result<Option<Bytes>, Error> {
        ops::lmove(self, src.as_ref(), dst.as_ref(), from, to)
    }

    /// The pop that serves a client blocked in `BLPOP` / `BRPOP` once a push made `key`
    /// non-empty: [`ListOps::lpop`] / [`ListOps::rpop`], except that it is not counted in
    /// [`crate::Cache::change_count`], as Redis 7.0 does not count it in `server.dirty` (it
    /// counts the push that woke the client, and does count the pops that serve `BLMPOP`).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn pop_for_blocked(&self, key: impl AsRef<[u8]>, end: ListEnd) -> Result<Option<Bytes>, Error> {
        ops::pop_uncounted(self, key.as_ref(), end)
    }

    /// The move that serves a client blocked in `BLMOVE` / `BRPOPLPUSH`: [`ListOps::lmove`],
    /// not counted in [`crate::Cache::change_count`] (see [`ListOps::pop_for_blocked`]).
    ///
    /// # Errors
    /// As [`ListOps::lmove`].
    fn lmove_for_blocked(
        &self,
        src: impl AsRef<[u8]>,
        dst: impl AsRef<[u8]>,
        from: ListEnd,
        to: ListEnd,
    ) -> Result<Option<Bytes>, Error> {
        ops::lmove_counted(self, src.as_ref(), dst.as_ref(), from, to, false)
    }

    /// `RPOPLPUSH src dst`: [`ListOps::lmove`] from the tail to the head.
    ///
    /// # Errors
    /// As [`ListOps::lmove`].
    fn rpoplpush(
        &self,
        src: impl AsRef<[u8]>,
        dst: impl AsRef<[u8]>,
    ) -> Result<Option<Bytes>, Error> {
        ops::lmove(
            self,
            src.as_ref(),
            dst.as_ref(),
            ListEnd::Right,
            ListEnd::Left,
        )
    }

    /// `LMPOP numkeys key... LEFT|RIGHT [COUNT n]`: pops up to `count` elements from the
    /// first non-empty list; its key and the elements, `None` if every key is missing.
    ///
    /// # Errors
    /// [`Error::WrongType`] for the first key (in order) that exists with another type.
    fn lmpop<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        end: ListEnd,
        count: usize,
    ) -> Result<Option<(Bytes, Vec<Bytes>)>, Error> {
        for k in keys {
            let k = k.as_ref();
            if let Some(v) = ops::pop(self, k, end, count)? {
                return Ok(Some((Bytes::copy_from_slice(k), v)));
            }
        }
        Ok(None)
    }

    /// `SORT ... STORE dst`'s write: `dst` becomes a list of `elems` (no TTL) whatever it
    /// held, or is deleted when `elems` is empty. Whether `dst` existed before.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    fn lstore<V: AsRef<[u8]>>(&self, dst: impl AsRef<[u8]>, elems: &[V]) -> Result<bool, Error> {
        ops::store(self, dst.as_ref(), elems)
    }
}

impl<K: Keyspace + ?Sized> ListOps for K {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deque_ops_and_invariants() {
        let mut l = List::new();
        for i in 0..5000u32 {
            let e = i.to_string();
            if i % 3 == 0 {
                l.push_front(e.as_bytes());
            } else {
                l.push_back(e.as_bytes());
            }
        }
        l.validate().unwrap();
        assert!(l.chunks.len() > 2);
        let all: Vec<Vec<u8>> = l.iter_from(0).map(<[u8]>::to_vec).collect();
        assert_eq!(all.len(), 5000);
        for (i, e) in all.iter().enumerate() {
            assert_eq!(l.get(i), Some(&e[..]));
        }
        assert!(l.set(2500, &[b'x'; 9000]));
        l.validate().unwrap();
        assert_eq!(l.get(2500), Some(&[b'x'; 9000][..]));
        assert!(l.insert_by_pivot(b"4999", b"after", true));
        l.validate().unwrap();
        assert_eq!(l.remove_matching(b"after", 0, true), 1);
        l.trim(100, 200);
        l.validate().unwrap();
        assert_eq!(l.len(), 4700);
        while l.pop_back().is_some() {}
        l.validate().unwrap();
        assert!(l.is_empty());
        assert_eq!(l.heap, 0);
    }

    /// Lists made of or starting with empty elements read back whole.
    #[test]
    fn empty_elements() {
        use crate::Cache;
        let c = Cache::builder().housekeeping(false).build();
        c.rpush("e", &["", "2", "-1"]).unwrap();
        assert_eq!(c.lrange("e", 0, -1).unwrap(), vec!["", "2", "-1"]);
        assert_eq!(c.lindex("e", 0).unwrap().as_deref(), Some(&b""[..]));
        c.rpush("g", &[""]).unwrap();
        assert_eq!(c.lrange("g", 0, -1).unwrap(), vec![""]);
        c.lpush("h", &["", "", "x"]).unwrap();
        assert_eq!(c.lrange("h", 0, -1).unwrap(), vec!["x", "", ""]);
    }

    /// SORT ... STORE's write replaces any value (and its TTL) with a list, and an empty
    /// result deletes the key.
    #[test]
    fn lstore_replaces_or_deletes() {
        use crate::{Cache, Keyspace, SetOps};
        let c = Cache::builder().housekeeping(false).build();
        c.sadd("d", &["x"]).unwrap();
        c.expire("d", 100, crate::ExpireCondition::Always).unwrap();
        assert!(c.lstore("d", &["b", "a"]).unwrap());
        assert_eq!(c.lrange("d", 0, -1).unwrap(), vec!["b", "a"]);
        assert_eq!(c.ttl("d"), -1);
        assert!(c.lstore("d", &[] as &[&str]).unwrap());
        assert_eq!(c.exists(&["d"]), 0);
        assert!(!c.lstore("d", &[] as &[&str]).unwrap());
        assert!(!c.lstore("e", &["1"]).unwrap());
        assert_eq!(c.llen("e").unwrap(), 1);
    }
}
