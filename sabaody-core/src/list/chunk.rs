//! One block of a list: elements packed back to back in a double-ended byte buffer.
//!
//! Element layout (readable from both ends, like a listpack entry):
//!
//! ```text
//! len < 255:  [len: u8] [bytes] [len: u8]
//! otherwise:  [0xFF] [len: u32 LE] [bytes] [len: u32 LE] [0xFF]
//! ```
//!
//! A chunk whose elements all have the same length `w` (counters, ids, timestamps, benchmark
//! payloads: the common case) stores them with no framing at all, `w` bytes each, and finds
//! element `k` at `k * w`. The first element of another length converts the chunk to the framed
//! layout, for good.
//!
//! The live bytes sit in `buf[start..end]`; free room may lie on both sides, so pushing and
//! popping at either end of a chunk is O(1) (a chunk created by a push at the front keeps its
//! free room in front).

/// A chunk stops taking elements at this many bytes (Redis's `list-max-listpack-size -2`).
pub(crate) const MAX_CHUNK: usize = 8 * 1024;
/// Smallest buffer a chunk allocates.
const MIN_CAP: usize = 16;

/// Encoded size of an element of `n` bytes.
#[inline]
pub(crate) fn enc_len(n: usize) -> usize {
    if n < 255 { n + 2 } else { n + 10 }
}

/// Writes `e` encoded into `dst` (exactly `enc_len(e.len())` bytes).
#[inline]
fn write_elem(dst: &mut [u8], e: &[u8]) {
    let n = e.len();
    if n < 255 {
        dst[0] = n as u8;
        dst[1..1 + n].copy_from_slice(e);
        dst[1 + n] = n as u8;
    } else {
        let l = (n as u32).to_le_bytes();
        dst[0] = 0xFF;
        dst[1..5].copy_from_slice(&l);
        dst[5..5 + n].copy_from_slice(e);
        dst[5 + n..9 + n].copy_from_slice(&l);
        dst[9 + n] = 0xFF;
    }
}

/// Appends `e` encoded to `v`.
pub(crate) fn push_encoded(v: &mut Vec<u8>, e: &[u8]) {
    let at = v.len();
    v.resize(at + enc_len(e.len()), 0);
    write_elem(&mut v[at..], e);
}

/// The element starting at byte `p`: (data start, data length, start of the next element).
#[inline]
pub(crate) fn read_fwd(buf: &[u8], p: usize) -> (usize, usize, usize) {
    let h = buf[p];
    if h < 255 {
        let n = h as usize;
        (p + 1, n, p + n + 2)
    } else {
        let mut l = [0u8; 4];
        l.copy_from_slice(&buf[p + 1..p + 5]);
        let n = u32::from_le_bytes(l) as usize;
        (p + 5, n, p + n + 10)
    }
}

/// The element ending at byte `e` (exclusive): (data start, data length, element start).
#[inline]
pub(crate) fn read_bwd(buf: &[u8], e: usize) -> (usize, usize, usize) {
    let t = buf[e - 1];
    if t < 255 {
        let n = t as usize;
        (e - 1 - n, n, e - n - 2)
    } else {
        let mut l = [0u8; 4];
        l.copy_from_slice(&buf[e - 5..e - 1]);
        let n = u32::from_le_bytes(l) as usize;
        (e - 5 - n, n, e - n - 10)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    buf: Box<[u8]>,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) count: u32,
    /// 0: framed elements; `w + 1`: every element is `w` bytes, unframed.
    width: u32,
}

impl Chunk {
    /// An empty chunk of `cap` bytes whose free room is at the back (`front == false`) or at
    /// the front.
    pub(crate) fn with_cap(cap: usize, front: bool) -> Chunk {
        let cap = cap.max(MIN_CAP);
        let at = if front { cap as u32 } else { 0 };
        Chunk {
            buf: vec![0u8; cap].into_boxed_slice(),
            start: at,
            end: at,
            count: 0,
            width: 0,
        }
    }

    /// A chunk holding exactly the encoded elements in `data` (`count` of them, in the layout
    /// `width` names).
    pub(crate) fn from_encoded(data: Vec<u8>, count: u32, width: u32) -> Chunk {
        let end = data.len() as u32;
        Chunk {
            buf: data.into_boxed_slice(),
            start: 0,
            end,
            count,
            width,
        }
    }

    /// The layout, to rebuild a chunk from some of its own bytes.
    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    /// The common element length of an unframed chunk.
    #[inline]
    fn fixed(&self) -> Option<usize> {
        self.width.checked_sub(1).map(|w| w as usize)
    }

    /// The element starting at byte `p`: (data start, data length, start of the next one).
    #[inline]
    pub(crate) fn fwd(&self, p: usize) -> (usize, usize, usize) {
        match self.fixed() {
            Some(w) => (p, w, p + w),
            None => read_fwd(&self.buf, p),
        }
    }

    /// The element ending at byte `e`: (data start, data length, its start).
    #[inline]
    pub(crate) fn bwd(&self, e: usize) -> (usize, usize, usize) {
        match self.fixed() {
            Some(w) => (e - w, w, e - w),
            None => read_bwd(&self.buf, e),
        }
    }

    /// Bytes the elements would take framed.
    fn framed_used(&self) -> usize {
        match self.fixed() {
            Some(w) => self.count as usize * enc_len(w),
            None => self.used(),
        }
    }

    /// Converts an unframed chunk to the framed layout (no-op if framed). The buffer is
    /// rebuilt tight.
    pub(crate) fn unfix(&mut self) {
        let Some(w) = self.fixed() else { return };
        let mut v = Vec::with_capacity(self.framed_used());
        let mut p = self.start as usize;
        while p < self.end as usize {
            push_encoded(&mut v, &self.buf[p..p + w]);
            p += w;
        }
        *self = Chunk::from_encoded(v, self.count, 0);
    }

    /// Prepares a push of `e`: picks the layout of a fresh chunk, leaves the unframed one if
    /// `e` does not fit it. The bytes `e` will take.
    fn prepare(&mut self, e: &[u8]) -> usize {
        if self.count == 0 {
            // Empty elements stay framed: unframed they would take no bytes, so an iterator
            // could not tell them apart by offset (LRANGE looped forever on `RPUSH l "" 2`)
            // and a chunk of them looks empty to every walk over its bytes (DUMP lost them).
            self.width = if e.is_empty() { 0 } else { e.len() as u32 + 1 };
        } else if self.fixed().is_some_and(|w| w != e.len()) {
            self.unfix();
        }
        match self.fixed() {
            Some(w) => w,
            None => enc_len(e.len()),
        }
    }

    /// Writes `e` at `at` in this chunk's layout.
    #[inline]
    fn put(&mut self, at: usize, need: usize, e: &[u8]) {
        if self.fixed().is_some() {
            self.buf[at..at + need].copy_from_slice(e);
        } else {
            write_elem(&mut self.buf[at..at + need], e);
        }
    }

    /// Bytes allocated.
    pub(crate) fn cap(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of encoded elements.
    pub(crate) fn used(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub(crate) fn buf(&self) -> &[u8] {
        &self.buf
    }

    /// The encoded elements.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start as usize..self.end as usize]
    }

    /// Whether `e` may join this chunk (counted framed, in case it forces the conversion).
    pub(crate) fn fits(&self, e: &[u8]) -> bool {
        match self.fixed() {
            Some(w) if w == e.len() => self.used() + w <= MAX_CHUNK,
            _ => self.framed_used() + enc_len(e.len()) <= MAX_CHUNK,
        }
    }

    /// Growth for `need` more bytes: the new capacity.
    fn grown(&self, need: usize) -> usize {
        let want = self.used() + need;
        (self.cap() * 2).min(MAX_CHUNK).max(want).max(MIN_CAP)
    }

    /// Appends an element. Returns the change in allocated bytes.
    pub(crate) fn push_back(&mut self, e: &[u8]) -> isize {
        let need = self.prepare(e);
        let cap = self.cap();
        let mut delta = 0isize;
        if self.end as usize + need > cap {
            let used = self.used();
            if used + need <= cap {
                self.buf
                    .copy_within(self.start as usize..self.end as usize, 0);
            } else {
                let ncap = self.grown(need);
                let mut nb = vec![0u8; ncap].into_boxed_slice();
                nb[..used].copy_from_slice(self.data());
                delta = ncap as isize - cap as isize;
                self.buf = nb;
            }
            self.start = 0;
            self.end = used as u32;
        }
        let at = self.end as usize;
        self.put(at, need, e);
        self.end += need as u32;
        self.count += 1;
        delta
    }

    /// Prepends an element. Returns the change in allocated bytes.
    pub(crate) fn push_front(&mut self, e: &[u8]) -> isize {
        let need = self.prepare(e);
        let cap = self.cap();
        let mut delta = 0isize;
        if (self.start as usize) < need {
            let used = self.used();
            if used + need <= cap {
                self.buf
                    .copy_within(self.start as usize..self.end as usize, cap - used);
                self.start = (cap - used) as u32;
                self.end = cap as u32;
            } else {
                let ncap = self.grown(need);
                let mut nb = vec![0u8; ncap].into_boxed_slice();
                nb[ncap - used..].copy_from_slice(self.data());
                delta = ncap as isize - cap as isize;
                self.buf = nb;
                self.start = (ncap - used) as u32;
                self.end = ncap as u32;
            }
        }
        let at = self.start as usize - need;
        self.put(at, need, e);
        self.start = at as u32;
        self.count += 1;
        delta
    }

    /// The first element (the chunk must not be empty).
    pub(crate) fn first(&self) -> &[u8] {
        let (d, n, _) = self.fwd(self.start as usize);
        &self.buf[d..d + n]
    }

    /// The last element (the chunk must not be empty).
    pub(crate) fn last(&self) -> &[u8] {
        let (d, n, _) = self.bwd(self.end as usize);
        &self.buf[d..d + n]
    }

    /// Drops the first element (the chunk must not be empty).
    pub(crate) fn drop_front(&mut self) {
        let (_, _, next) = self.fwd(self.start as usize);
        self.start = next as u32;
        self.count -= 1;
    }

    /// Drops the last element (the chunk must not be empty).
    pub(crate) fn drop_back(&mut self) {
        let (_, _, prev) = self.bwd(self.end as usize);
        self.end = prev as u32;
        self.count -= 1;
    }

    /// Byte offset (in `buf`) of element `k` (<= count; `count` gives the end): O(1) in an
    /// unframed chunk, else a walk from the nearer end.
    pub(crate) fn offset_of(&self, k: usize) -> usize {
        if let Some(w) = self.fixed() {
            return self.start as usize + k * w;
        }
        let count = self.count as usize;
        if k <= count / 2 {
            let mut p = self.start as usize;
            for _ in 0..k {
                p = read_fwd(&self.buf, p).2;
            }
            p
        } else {
            let mut e = self.end as usize;
            for _ in k..count {
                e = read_bwd(&self.buf, e).2;
            }
            e
        }
    }

    /// The element at byte offset `p`, and where the next one starts.
    pub(crate) fn elem_at(&self, p: usize) -> (&[u8], usize) {
        let (d, n, next) = self.fwd(p);
        (&self.buf[d..d + n], next)
    }

    /// Replaces `buf[from..to]` by `with` (framed elements), adjusting the count by
    /// `count_delta`. The chunk must be framed ([`Chunk::unfix`] first). Returns the change
    /// in allocated bytes. The buffer is rebuilt tight.
    pub(crate) fn splice(
        &mut self,
        from: usize,
        to: usize,
        with: &[u8],
        count_delta: i64,
    ) -> isize {
        debug_assert_eq!(self.width, 0);
        let (s, e) = (self.start as usize, self.end as usize);
        let mut v = Vec::with_capacity(self.used() - (to - from) + with.len());
        v.extend_from_slice(&self.buf[s..from]);
        v.extend_from_slice(with);
        v.extend_from_slice(&self.buf[to..e]);
        let old = self.cap();
        let count = (i64::from(self.count) + count_delta) as u32;
        *self = Chunk::from_encoded(v, count, 0);
        self.cap() as isize - old as isize
    }

    /// Splits a chunk grown past [`MAX_CHUNK`] (by an insert or a replace) in two halves of
    /// about equal element counts. `None` if it holds a single element.
    pub(crate) fn split(&mut self) -> Option<Chunk> {
        if self.count < 2 {
            return None;
        }
        let keep = self.count / 2;
        let at = self.offset_of(keep as usize);
        let tail = self.buf[at..self.end as usize].to_vec();
        let tail_count = self.count - keep;
        let head = self.buf[self.start as usize..at].to_vec();
        let width = self.width;
        *self = Chunk::from_encoded(head, keep, width);
        Some(Chunk::from_encoded(tail, tail_count, width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elems(c: &Chunk) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut p = c.start as usize;
        while p < c.end as usize {
            let (e, next) = c.elem_at(p);
            out.push(e.to_vec());
            p = next;
        }
        out
    }

    #[test]
    fn same_length_elements_are_unframed_until_one_differs() {
        let mut c = Chunk::with_cap(0, false);
        for e in [b"aa", b"bb", b"cc"] {
            c.push_back(e);
        }
        c.push_front(b"zz");
        assert_eq!(c.used(), 8);
        assert_eq!(c.elem_at(c.offset_of(2)).0, b"bb");
        assert!(c.fits(b"xx"));
        c.push_back(b"long one");
        assert_eq!(c.width(), 0);
        let want: Vec<Vec<u8>> = [&b"zz"[..], b"aa", b"bb", b"cc", b"long one"]
            .iter()
            .map(|e| e.to_vec())
            .collect();
        assert_eq!(elems(&c), want);
        c.drop_back();
        assert_eq!(c.last(), b"cc");
    }

    /// An empty first element must not make a fixed-width chunk of width 0 (LRANGE looped
    /// forever on `RPUSH l "" 2`).
    #[test]
    fn empty_first_element_is_framed() {
        for first_front in [false, true] {
            let mut c = Chunk::with_cap(0, first_front);
            if first_front {
                c.push_front(b"");
            } else {
                c.push_back(b"");
            }
            c.push_back(b"2");
            c.push_front(b"");
            assert_eq!(c.width(), 0);
            let want: Vec<Vec<u8>> = [&b""[..], b"", b"2"].iter().map(|e| e.to_vec()).collect();
            assert_eq!(elems(&c), want);
        }
        let mut c = Chunk::with_cap(0, false);
        c.push_back(b"");
        c.push_back(b"");
        assert_eq!(elems(&c), vec![Vec::<u8>::new(), Vec::new()]);
    }

    #[test]
    fn both_ends_and_long_elements() {
        let mut c = Chunk::with_cap(0, false);
        let long = vec![7u8; 300];
        c.push_back(b"b");
        c.push_front(b"a");
        c.push_back(&long);
        c.push_front(b"");
        assert_eq!(c.count, 4);
        assert_eq!(
            elems(&c),
            vec![b"".to_vec(), b"a".to_vec(), b"b".to_vec(), long.clone()]
        );
        assert_eq!(c.last(), &long[..]);
        assert_eq!(c.first(), b"");
        let p = c.offset_of(2);
        assert_eq!(c.elem_at(p).0, b"b");
        let p = c.offset_of(3);
        assert_eq!(c.elem_at(p).0, &long[..]);
        c.drop_back();
        c.drop_front();
        assert_eq!(elems(&c), vec![b"a".to_vec(), b"b".to_vec()]);
        let tail = {
            let mut c2 = c.clone();
            c2.split().map(|t| elems(&t))
        };
        assert_eq!(tail, Some(vec![b"b".to_vec()]));
    }

    #[test]
    fn empty_elements_are_kept_framed() {
        let mut c = Chunk::with_cap(0, false);
        c.push_back(b"");
        c.push_back(b"");
        assert_eq!(c.width(), 0);
        assert_eq!(elems(&c), vec![Vec::new(), Vec::new()]);
        c.push_back(b"a");
        assert_eq!(elems(&c), vec![Vec::new(), Vec::new(), b"a".to_vec()]);
    }
}
