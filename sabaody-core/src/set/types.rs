//! The set value: an `intset` (sorted `i64`s) while every member is a canonical integer and
//! there are at most [`MAX_INTSET`] of them, else a `hashtable` ([`Table`]).

use super::table::Table;
use crate::value::heap_size;
use bytes::Bytes;

/// Redis 7.0's `set-max-intset-entries` default.
pub(crate) const MAX_INTSET: usize = 512;

#[derive(Clone, Debug)]
enum Repr {
    Ints(Vec<i64>),
    Table(Table),
}

/// A set of binary strings. The encoding is invisible to the API; `OBJECT ENCODING` names it.
#[derive(Clone, Debug)]
pub(crate) struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Self {
        Set::new()
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter_until(|m| !other.contains(m))
    }
}

/// Formats an integer member.
fn int_bytes(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    crate::ops::fmt_i64(v, buf)
}

impl Set {
    pub(crate) fn new() -> Set {
        Set {
            repr: Repr::Ints(Vec::new()),
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// True when no element is left (the key is then deleted).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned by the value, its box included. O(1).
    pub(crate) fn charge(&self) -> usize {
        let body = match &self.repr {
            Repr::Ints(v) => heap_size(v.capacity() * 8),
            Repr::Table(t) => t.heap(),
        };
        heap_size(std::mem::size_of::<Self>()) + body
    }

    /// The members of an `intset`, ascending; `None` for a `hashtable` (the RDB writer picks
    /// the record type from it).
    pub(crate) fn ints(&self) -> Option<&[i64]> {
        match &self.repr {
            Repr::Ints(v) => Some(v),
            Repr::Table(_) => None,
        }
    }

    /// `OBJECT ENCODING` name.
    pub(crate) fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(..) => "hashtable",
        }
    }

    fn convert_to_table(&mut self, extra: usize) {
        if let Repr::Ints(v) = &self.repr {
            let mut t = Table::with_capacity(v.len() + extra);
            let mut buf = [0u8; 20];
            for &i in v {
                t.insert(int_bytes(i, &mut buf));
            }
            self.repr = Repr::Table(t);
        }
    }

    /// Adds `m`; true if it was not there.
    pub(crate) fn insert(&mut self, m: &[u8]) -> bool {
        if let Repr::Ints(v) = &mut self.repr {
            if let Some(i) = crate::num::parse_i64_strict(m) {
                match v.binary_search(&i) {
                    Ok(_) => return false,
                    Err(p) if v.len() < MAX_INTSET => {
                        v.insert(p, i);
                        return true;
                    }
                    Err(_) => {}
                }
            }
            self.convert_to_table(1);
        }
        match &mut self.repr {
            Repr::Table(t) => t.insert(m),
            Repr::Ints(_) => false,
        }
    }

    /// Removes `m`; true if it was there.
    pub(crate) fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => {
                let Some(i) = crate::num::parse_i64_strict(m) else {
                    return false;
                };
                match v.binary_search(&i) {
                    Ok(p) => {
                        v.remove(p);
                        true
                    }
                    Err(_) => false,
                }
            }
            Repr::Table(t) => t.remove(m),
        }
    }

    pub(crate) fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => {
                crate::num::parse_i64_strict(m).is_some_and(|i| v.binary_search(&i).is_ok())
            }
            Repr::Table(t) => t.contains(m),
        }
    }

    /// Calls `f` on each member until it returns true; true if it never did.
    pub(crate) fn iter_until(&self, mut f: impl FnMut(&[u8]) -> bool) -> bool {
        match &self.repr {
            Repr::Ints(v) => {
                let mut buf = [0u8; 20];
                for &i in v {
                    if f(int_bytes(i, &mut buf)) {
                        return false;
                    }
                }
            }
            Repr::Table(t) => return t.iter_until(f),
        }
        true
    }

    /// Calls `f` on each member.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8])) {
        self.iter_until(|m| {
            f(m);
            false
        });
    }

    /// Every member, copied out.
    pub(crate) fn members(&self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(Bytes::copy_from_slice(m)));
        out
    }

    /// A uniformly random member (for a table: a random occupied bucket, as Redis picks a
    /// random dict entry).
    pub(crate) fn random(&self) -> Option<Bytes> {
        match &self.repr {
            Repr::Ints(v) => {
                if v.is_empty() {
                    return None;
                }
                let mut buf = [0u8; 20];
                let i = *v.get(fastrand::usize(..v.len()))?;
                Some(Bytes::copy_from_slice(int_bytes(i, &mut buf)))
            }
            Repr::Table(t) => t.random().map(Bytes::copy_from_slice),
        }
    }

    /// Removes and returns a random member.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        let m = self.random()?;
        self.remove(&m);
        Some(m)
    }

    /// One `SSCAN` step: an intset is returned whole (cursor 0), as Redis does; a table is
    /// walked over its slab, whose slots never move, so a member present for the whole scan
    /// is returned exactly once.
    pub(crate) fn scan(&self, cursor: u64, count: usize, f: impl FnMut(&[u8])) -> u64 {
        match &self.repr {
            Repr::Ints(_) => {
                self.for_each(f);
                0
            }
            Repr::Table(t) => t.scan(cursor, count, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_converts_on_string_and_on_size() {
        let mut s = Set::new();
        for i in 0..MAX_INTSET {
            assert!(s.insert(i.to_string().as_bytes()));
        }
        assert_eq!(s.encoding(), "intset");
        assert!(!s.insert(b"7"));
        assert!(s.insert(b"100000"));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), MAX_INTSET + 1);
        assert!(s.contains(b"511") && s.contains(b"100000") && !s.contains(b"512"));

        let mut t = Set::new();
        t.insert(b"1");
        t.insert(b"01");
        assert_eq!(t.encoding(), "hashtable");
        assert!(t.contains(b"1") && t.contains(b"01"));
        assert!(t.remove(b"01") && !t.remove(b"01"));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn charge_tracks_long_members() {
        let mut s = Set::new();
        s.insert(b"x");
        let before = s.charge();
        let long = vec![b'a'; 100];
        s.insert(&long);
        let with_long = s.charge();
        assert!(with_long >= before + 100);
        s.remove(&long);
        // The boxed member is freed; the slab keeps its slot (and a free-list entry).
        assert!(s.charge() + 100 <= with_long + 32);
        if let Repr::Table(t) = &s.repr {
            t.validate().unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn table_slots_are_reused_and_validated() {
        let mut s = Set::new();
        for i in 0..2000 {
            s.insert(format!("k{i}").as_bytes());
        }
        for i in (0..2000).step_by(3) {
            assert!(s.remove(format!("k{i}").as_bytes()));
        }
        assert!(s.insert(b""));
        assert!(s.contains(b"") && !s.insert(b""));
        for i in 0..700 {
            s.insert(format!("n{i}").as_bytes());
        }
        let Repr::Table(t) = &s.repr else {
            panic!("not a table")
        };
        t.validate().unwrap_or_else(|e| panic!("{e}"));
        let mut n = 0;
        s.for_each(|_| n += 1);
        assert_eq!(n, s.len());
        assert_eq!(s.len(), 2000 - 667 + 1 + 700);
    }

    #[test]
    fn random_and_scan_cover_members() {
        let mut s = {
            let mut s = Set::new();
            for m in [&b"a"[..], b"b", b"c"] {
                s.insert(m);
            }
            s
        };
        for _ in 0..20 {
            let r = s.random().unwrap_or_default();
            assert!(s.contains(&r));
        }
        let mut seen = Vec::new();
        let mut c = 0;
        loop {
            c = s.scan(c, 1, |m| seen.push(m.to_vec()));
            if c == 0 {
                break;
            }
        }
        seen.sort();
        assert_eq!(seen, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        while s.pop().is_some() {}
        assert!(s.is_empty());
    }
}
