//! [`Member`]: an element of a set or sorted set, stored inline when short.
//!
//! Most members are short (tags, ids, user names). Keeping up to [`INLINE`] bytes inside the
//! 24-byte value itself saves the heap allocation a `Box<[u8]>` would need (glibc: 32 bytes
//! for a 16-byte member, plus the 16-byte box pointer), which is most of a member's cost.

/// Longest member kept inline.
pub(crate) const INLINE: usize = 22;

/// A binary-safe member: inline up to [`INLINE`] bytes, else boxed. 24 bytes either way.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Member {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Member {
    pub(crate) fn new(b: &[u8]) -> Member {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            Member::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            Member::Heap(b.into())
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Member::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(&[]),
            Member::Heap(b) => b,
        }
    }

    /// A free slab slot: an impossible inline length, read back as no bytes.
    pub(crate) fn vacant() -> Member {
        Member::Inline {
            len: u8::MAX,
            buf: [0; INLINE],
        }
    }

    pub(crate) fn is_vacant(&self) -> bool {
        matches!(self, Member::Inline { len: u8::MAX, .. })
    }

    /// Heap bytes owned (0 when inline), as glibc malloc spends them.
    pub(crate) fn heap(&self) -> usize {
        match self {
            Member::Inline { .. } => 0,
            Member::Heap(b) => crate::value::heap_size(b.len()),
        }
    }
}

impl Default for Member {
    fn default() -> Self {
        Member::Inline {
            len: 0,
            buf: [0; INLINE],
        }
    }
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Heap bytes of a hashbrown table holding `buckets` slots of `slot` bytes.
pub(crate) fn table_heap(buckets: usize, slot: usize) -> usize {
    if buckets == 0 {
        0
    } else {
        crate::value::heap_size(buckets * (slot + 1) + 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        assert_eq!(std::mem::size_of::<Member>(), 24);
        for n in [0usize, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let m = Member::new(&v);
            assert_eq!(m.as_bytes(), &v[..]);
            assert_eq!(m.heap() == 0, n <= INLINE);
        }
    }
}
