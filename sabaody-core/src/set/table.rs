//! The `hashtable` set encoding: members in a slab (`Vec<Member>`, 24 bytes each, inline up to
//! 22 bytes), found through a hashbrown `HashTable<u32>` of slab indices.
//!
//! Against a `HashTable<Member>` this halves the table (4-byte slots) and gives every member a
//! slot that never moves, so SSCAN's cursor (a slab index) returns each member present for the
//! whole scan exactly once, however the table is resized meanwhile.

use super::member::{Member, table_heap};
use crate::value::heap_size;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    slots: Vec<Member>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// Heap bytes of boxed members.
    member_heap: usize,
}

fn get(slots: &[Member], id: u32) -> Option<&Member> {
    slots.get(id as usize).filter(|m| !m.is_vacant())
}

impl Table {
    pub(crate) fn with_capacity(n: usize) -> Table {
        Table {
            slots: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            ..Table::default()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Heap bytes: slab, free list, index, boxed members.
    pub(crate) fn heap(&self) -> usize {
        heap_size(self.slots.capacity() * std::mem::size_of::<Member>())
            + heap_size(self.free.capacity() * 4)
            + table_heap(self.index.num_buckets(), 4)
            + self.member_heap
    }

    fn find(&self, m: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(self.hasher.hash_one(m), |&id| {
                get(slots, id).is_some_and(|x| x.as_bytes() == m)
            })
            .copied()
    }

    pub(crate) fn contains(&self, m: &[u8]) -> bool {
        self.find(m).is_some()
    }

    /// Adds `m`; true if it was not there.
    pub(crate) fn insert(&mut self, m: &[u8]) -> bool {
        let Table {
            slots,
            free,
            index,
            hasher,
            member_heap,
        } = self;
        let h = hasher.hash_one(m);
        let entry = index.entry(
            h,
            |&id| get(slots, id).is_some_and(|x| x.as_bytes() == m),
            |&id| hasher.hash_one(get(slots, id).map_or(&[][..], Member::as_bytes)),
        );
        let hashbrown::hash_table::Entry::Vacant(e) = entry else {
            return false;
        };
        let member = Member::new(m);
        *member_heap += member.heap();
        let id = match free.pop() {
            Some(id) => {
                if let Some(s) = slots.get_mut(id as usize) {
                    *s = member;
                }
                id
            }
            None => {
                // More than u32::MAX members cannot be indexed; the index would be wrong.
                let Ok(id) = u32::try_from(slots.len()) else {
                    *member_heap -= member.heap();
                    return false;
                };
                slots.push(member);
                id
            }
        };
        e.insert(id);
        true
    }

    /// Removes `m`; true if it was there.
    pub(crate) fn remove(&mut self, m: &[u8]) -> bool {
        let Table {
            slots,
            free,
            index,
            hasher,
            member_heap,
        } = self;
        let Ok(e) = index.find_entry(hasher.hash_one(m), |&id| {
            get(slots, id).is_some_and(|x| x.as_bytes() == m)
        }) else {
            return false;
        };
        let (id, _) = e.remove();
        if let Some(s) = slots.get_mut(id as usize) {
            let old = std::mem::replace(s, Member::vacant());
            *member_heap -= old.heap();
        }
        free.push(id);
        true
    }

    /// Calls `f` on each member until it returns true; true if it never did.
    pub(crate) fn iter_until(&self, mut f: impl FnMut(&[u8]) -> bool) -> bool {
        for m in &self.slots {
            if !m.is_vacant() && f(m.as_bytes()) {
                return false;
            }
        }
        true
    }

    /// A uniformly random member: a random occupied bucket of the index.
    pub(crate) fn random(&self) -> Option<&[u8]> {
        if self.index.is_empty() {
            return None;
        }
        let n = self.index.num_buckets();
        let start = fastrand::usize(..n);
        (0..n).find_map(|k| {
            let id = *self.index.get_bucket((start + k) & (n - 1))?;
            get(&self.slots, id).map(Member::as_bytes)
        })
    }

    /// One SSCAN step over the slab from `cursor`: at least `count` slots looked at (members
    /// found, at most `count` of them); the next cursor, 0 at the end.
    pub(crate) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        let n = self.slots.len();
        let mut i = usize::try_from(cursor).unwrap_or(usize::MAX);
        let mut seen = 0;
        while i < n && seen < count.max(1) {
            if let Some(m) = self.slots.get(i).filter(|m| !m.is_vacant()) {
                f(m.as_bytes());
                seen += 1;
            }
            i += 1;
        }
        if i >= n { 0 } else { i as u64 }
    }

    /// Every live slot is indexed under its member, and the counters agree.
    #[cfg(test)]
    pub(crate) fn validate(&self) -> Result<(), String> {
        let live = self.slots.iter().filter(|m| !m.is_vacant()).count();
        if live != self.index.len() || live + self.free.len() != self.slots.len() {
            return Err(format!(
                "live {live}, index {}, free {}, slots {}",
                self.index.len(),
                self.free.len(),
                self.slots.len()
            ));
        }
        for (i, m) in self.slots.iter().enumerate() {
            if !m.is_vacant() && self.find(m.as_bytes()) != Some(i as u32) {
                return Err(format!("slot {i} not indexed"));
            }
        }
        let heap: usize = self.slots.iter().map(Member::heap).sum();
        if heap != self.member_heap {
            return Err(format!("member heap {} != {heap}", self.member_heap));
        }
        Ok(())
    }
}
