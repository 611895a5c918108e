//! The sorted-set value: a `listpack` (a sorted `Vec` of entries) while small, else an indexed
//! form (`skiplist` in `OBJECT ENCODING`, as Redis names it): entries in a slab, a hash table
//! of slab ids for member lookup and an order-statistic B+tree of slab ids for order and rank.

use super::tree::Tree;
use crate::Error;
use crate::set::member::{Member, table_heap};
use crate::value::heap_size;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::cmp::Ordering;
use std::hash::BuildHasher;

/// Redis 7.0's `zset-max-listpack-entries` default.
pub(crate) const MAX_LISTPACK_ENTRIES: usize = 128;
/// Redis 7.0's `zset-max-listpack-value` default.
pub(crate) const MAX_LISTPACK_VALUE: usize = 64;

/// One member and its score.
#[derive(Clone, Debug, Default)]
pub(crate) struct Entry {
    pub(crate) score: f64,
    pub(crate) member: Member,
}

/// Redis's order: by score (`-0.0 == 0.0`), then by member bytes. Scores are never NaN.
#[inline]
pub(crate) fn order(a_score: f64, a: &[u8], b_score: f64, b: &[u8]) -> Ordering {
    if a_score < b_score {
        Ordering::Less
    } else if a_score > b_score {
        Ordering::Greater
    } else {
        a.cmp(b)
    }
}

/// A listpack keeps scores as text, and Redis 7.0 reads `-0` back as `0`; the skiplist
/// keeps the double as is.
fn listpack_score(s: f64) -> f64 {
    if s == 0.0 { 0.0 } else { s }
}

#[derive(Clone, Debug)]
struct Index {
    slots: Vec<Entry>,
    free: Vec<u32>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
    tree: Tree<Key>,
}

/// What the B+tree stores: the slab id and a copy of its score, so descending the tree
/// compares scores in place and reads a member from the slab only on a score tie.
/// Packed to 12 bytes (align 4): the leaves are most of the tree's memory.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, packed(4))]
struct Key {
    score: f64,
    id: u32,
}

fn slot(slots: &[Entry], id: u32) -> (f64, &[u8]) {
    match slots.get(id as usize) {
        Some(e) => (e.score, e.member.as_bytes()),
        None => (0.0, &[]),
    }
}

fn key_cmp(slots: &[Entry]) -> impl Fn(Key, Key) -> Ordering + '_ {
    move |a, b| {
        if a.score < b.score {
            Ordering::Less
        } else if a.score > b.score {
            Ordering::Greater
        } else if a.id == b.id {
            Ordering::Equal
        } else {
            slot(slots, a.id).1.cmp(slot(slots, b.id).1)
        }
    }
}

impl Index {
    fn new(cap: usize) -> Index {
        Index {
            slots: Vec::with_capacity(cap),
            free: Vec::new(),
            table: HashTable::with_capacity(cap),
            hasher: DefaultHashBuilder::default(),
            tree: Tree::new(),
        }
    }

    fn heap(&self) -> usize {
        heap_size(self.slots.capacity() * std::mem::size_of::<Entry>())
            + heap_size(self.free.capacity() * 4)
            + table_heap(self.table.num_buckets(), 4)
            + self.tree.heap()
    }

    fn find(&self, m: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.table
            .find(self.hasher.hash_one(m), |&id| slot(slots, id).1 == m)
            .copied()
    }

    fn insert(&mut self, score: f64, m: &[u8]) -> Result<(), Error> {
        let entry = Entry {
            score,
            member: Member::new(m),
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = entry;
                }
                id
            }
            None => {
                let id = u32::try_from(self.slots.len()).map_err(|_| Error::OutOfMemory)?;
                self.slots.push(entry);
                id
            }
        };
        let Index {
            slots,
            table,
            hasher,
            tree,
            ..
        } = self;
        table.insert_unique(hasher.hash_one(m), id, |&i| {
            hasher.hash_one(slot(slots, i).1)
        });
        tree.insert(Key { score, id }, &key_cmp(slots));
        Ok(())
    }

    /// Removes `m`, returning its entry.
    fn remove(&mut self, m: &[u8]) -> Option<Entry> {
        let Index {
            slots,
            table,
            hasher,
            tree,
            free,
        } = self;
        let e = table
            .find_entry(hasher.hash_one(m), |&id| slot(slots, id).1 == m)
            .ok()?;
        let (id, _) = e.remove();
        let score = slot(slots, id).0;
        tree.remove(Key { score, id }, &key_cmp(slots));
        free.push(id);
        slots.get_mut(id as usize).map(std::mem::take)
    }

    fn set_score(&mut self, id: u32, score: f64) {
        let Index { slots, tree, .. } = self;
        let old = Key {
            score: slot(slots, id).0,
            id,
        };
        let new = Key { score, id };
        // The tree compares its own score copies and reads only members from the slab, so
        // the slab's score may change before or after the tree's.
        tree.rescore(old, new, &key_cmp(slots));
        if let Some(e) = slots.get_mut(id as usize) {
            e.score = score;
        }
    }
}

#[derive(Clone, Debug)]
enum Repr {
    Small(Vec<Entry>),
    Big(Index),
}

/// A sorted set.
#[derive(Clone, Debug)]
pub(crate) struct ZSet {
    repr: Repr,
    /// Heap bytes of boxed (long) members.
    member_heap: usize,
}

impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut same = true;
        self.walk(0, false, |m, s| {
            same = other.score(m) == Some(s);
            same
        });
        same
    }
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

/// What [`ZSet::add`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Added {
    /// A new member.
    New(f64),
    /// An existing member got another score.
    Updated(f64),
    /// An existing member kept its score (the same score was given, or INCR by 0).
    Same(f64),
    /// Nothing was done (NX on an existing member, XX on a new one, GT/LT refused).
    Nop,
}

/// `ZADD`'s flags, as `zsetAdd` takes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AddFlags {
    pub(crate) nx: bool,
    pub(crate) xx: bool,
    pub(crate) gt: bool,
    pub(crate) lt: bool,
    pub(crate) incr: bool,
}

impl ZSet {
    pub(crate) fn new() -> ZSet {
        ZSet {
            repr: Repr::Small(Vec::new()),
            member_heap: 0,
        }
    }

    /// An empty set whose encoding suits `n` members of at most `max_len` bytes
    /// (Redis's `zsetTypeCreate(size_hint, value_len_hint)`).
    pub(crate) fn with_hint(n: usize, max_len: usize) -> ZSet {
        if n > MAX_LISTPACK_ENTRIES || max_len > MAX_LISTPACK_VALUE {
            ZSet {
                repr: Repr::Big(Index::new(n.min(1 << 16))),
                member_heap: 0,
            }
        } else {
            ZSet::new()
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Big(ix) => ix.tree.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned by the value, its box included. O(1).
    pub(crate) fn charge(&self) -> usize {
        let body = match &self.repr {
            Repr::Small(v) => heap_size(v.capacity() * std::mem::size_of::<Entry>()),
            Repr::Big(ix) => ix.heap(),
        };
        heap_size(std::mem::size_of::<Self>()) + body + self.member_heap
    }

    /// `OBJECT ENCODING` name.
    pub(crate) fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Small(_) => "listpack",
            Repr::Big(_) => "skiplist",
        }
    }

    fn small_pos(v: &[Entry], m: &[u8]) -> Option<usize> {
        v.iter().position(|e| e.member.as_bytes() == m)
    }

    pub(crate) fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(v) => Self::small_pos(v, m)
                .and_then(|i| v.get(i))
                .map(|e| e.score),
            Repr::Big(ix) => ix.find(m).map(|id| slot(&ix.slots, id).0),
        }
    }

    fn make_big(&mut self) {
        if let Repr::Small(v) = &mut self.repr {
            let mut ix = Index::new(v.len() + 1);
            for e in v.drain(..) {
                // Members are distinct: insert cannot fail below u32::MAX entries.
                let _ = ix.insert(e.score, e.member.as_bytes());
            }
            self.repr = Repr::Big(ix);
        }
    }

    /// Inserts a member known to be absent.
    pub(crate) fn insert_new(&mut self, score: f64, m: &[u8]) -> Result<(), Error> {
        if let Repr::Small(v) = &self.repr
            && (v.len() + 1 > MAX_LISTPACK_ENTRIES || m.len() > MAX_LISTPACK_VALUE)
        {
            self.make_big();
        }
        let member = Member::new(m);
        self.member_heap += member.heap();
        match &mut self.repr {
            Repr::Small(v) => {
                let score = listpack_score(score);
                let p = v.partition_point(|e| {
                    order(e.score, e.member.as_bytes(), score, m) == Ordering::Less
                });
                v.insert(p, Entry { score, member });
                Ok(())
            }
            Repr::Big(ix) => ix.insert(score, m),
        }
    }

    /// Where `m` is (a listpack index or a slab id) and its score.
    fn locate(&self, m: &[u8]) -> Option<(usize, f64)> {
        match &self.repr {
            Repr::Small(v) => {
                let i = Self::small_pos(v, m)?;
                v.get(i).map(|e| (i, e.score))
            }
            Repr::Big(ix) => ix.find(m).map(|id| (id as usize, slot(&ix.slots, id).0)),
        }
    }

    /// Sets the score of the member [`ZSet::locate`] found at `at`.
    fn rescore(&mut self, at: usize, score: f64) {
        match &mut self.repr {
            Repr::Small(v) => {
                if at < v.len() {
                    let score = listpack_score(score);
                    let e = v.remove(at);
                    let m = e.member.as_bytes();
                    let p = v.partition_point(|x| {
                        order(x.score, x.member.as_bytes(), score, m) == Ordering::Less
                    });
                    v.insert(
                        p,
                        Entry {
                            score,
                            member: e.member,
                        },
                    );
                }
            }
            Repr::Big(ix) => {
                if let Ok(id) = u32::try_from(at) {
                    ix.set_score(id, score);
                }
            }
        }
    }

    /// Redis's `zsetAdd`: adds or updates `m` under `flags`.
    ///
    /// # Errors
    /// [`Error::ScoreNan`] when INCR produces NaN (`inf + -inf`); nothing changes.
    pub(crate) fn add(&mut self, score: f64, m: &[u8], flags: AddFlags) -> Result<Added, Error> {
        match self.locate(m) {
            Some((at, cur)) => {
                if flags.nx {
                    return Ok(Added::Nop);
                }
                let mut new = score;
                if flags.incr {
                    new += cur;
                    if new.is_nan() {
                        return Err(Error::ScoreNan);
                    }
                }
                if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                    return Ok(Added::Nop);
                }
                // Redis compares with `!=`: -0.0 replacing 0.0 is "the same score".
                #[allow(clippy::float_cmp)]
                if new != cur {
                    self.rescore(at, new);
                    Ok(Added::Updated(new))
                } else {
                    Ok(Added::Same(new))
                }
            }
            None if !flags.xx => {
                self.insert_new(score, m)?;
                Ok(Added::New(score))
            }
            None => Ok(Added::Nop),
        }
    }

    /// Removes `m`; its score if it was there.
    pub(crate) fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let e = match &mut self.repr {
            Repr::Small(v) => {
                let i = Self::small_pos(v, m)?;
                v.remove(i)
            }
            Repr::Big(ix) => ix.remove(m)?,
        };
        self.member_heap -= e.member.heap();
        Some(e.score)
    }

    /// 0-based ascending rank of `m`.
    pub(crate) fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Small(v) => Self::small_pos(v, m),
            Repr::Big(ix) => {
                let id = ix.find(m)?;
                let score = slot(&ix.slots, id).0;
                Some(ix.tree.rank(Key { score, id }, &key_cmp(&ix.slots)))
            }
        }
    }

    /// How many leading members (in order) satisfy `pred`, which must hold for a prefix.
    pub(crate) fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Small(v) => v.partition_point(|e| pred(e.score, e.member.as_bytes())),
            Repr::Big(ix) => ix
                .tree
                .count_while(|k| pred(k.score, slot(&ix.slots, k.id).1)),
        }
    }

    /// [`ZSet::count_while`] for a predicate on scores only (no member is read).
    pub(crate) fn count_while_score(&self, pred: impl Fn(f64) -> bool) -> usize {
        match &self.repr {
            Repr::Small(v) => v.partition_point(|e| pred(e.score)),
            Repr::Big(ix) => ix.tree.count_while(|k| pred(k.score)),
        }
    }

    /// The member at ascending rank `r`.
    pub(crate) fn get(&self, r: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(v) => v.get(r).map(|e| (e.member.as_bytes(), e.score)),
            Repr::Big(ix) => {
                let (s, m) = slot(&ix.slots, ix.tree.select(r)?.id);
                Some((m, s))
            }
        }
    }

    /// Calls `f(member, score)` from ascending rank `start` upwards (downwards when `rev`)
    /// until it returns false. The members are borrowed from the set (a caller may keep them
    /// while it holds the set).
    pub(crate) fn walk<'a>(
        &'a self,
        start: usize,
        rev: bool,
        mut f: impl FnMut(&'a [u8], f64) -> bool,
    ) {
        match &self.repr {
            Repr::Small(v) => {
                if start >= v.len() {
                    return;
                }
                if rev {
                    for e in v.get(..=start).unwrap_or(&[]).iter().rev() {
                        if !f(e.member.as_bytes(), e.score) {
                            return;
                        }
                    }
                } else {
                    for e in v.get(start..).unwrap_or(&[]) {
                        if !f(e.member.as_bytes(), e.score) {
                            return;
                        }
                    }
                }
            }
            Repr::Big(ix) => ix.tree.walk(start, rev, |k| {
                let (s, m) = slot(&ix.slots, k.id);
                f(m, s)
            }),
        }
    }

    /// Calls `f(score, at)` from ascending rank `start` upwards until it returns false, where
    /// `at` names the entry for [`ZSet::member_at`]: the indexed form keeps scores in its
    /// tree, so a caller that looks at most members' scores only (a geo search) reads the
    /// slab for the few it keeps.
    pub(crate) fn walk_scores(&self, start: usize, mut f: impl FnMut(f64, u32) -> bool) {
        match &self.repr {
            Repr::Small(v) => {
                for (i, e) in v.iter().enumerate().skip(start) {
                    if !f(e.score, i as u32) {
                        return;
                    }
                }
            }
            Repr::Big(ix) => ix.tree.walk(start, false, |k| f(k.score, k.id)),
        }
    }

    /// The member a [`ZSet::walk_scores`] handle names (empty for a stale handle).
    pub(crate) fn member_at(&self, at: u32) -> &[u8] {
        match &self.repr {
            Repr::Small(v) => v.get(at as usize).map_or(&[], |e| e.member.as_bytes()),
            Repr::Big(ix) => slot(&ix.slots, at).1,
        }
    }

    /// One `ZSCAN` step. A listpack is returned whole (cursor 0). The indexed form walks its
    /// slab: a member keeps its slot for life, so one present for the whole scan is returned
    /// exactly once, however the set grows or shrinks meanwhile.
    pub(crate) fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Small(v) => {
                for e in v {
                    f(e.member.as_bytes(), e.score);
                }
                0
            }
            Repr::Big(ix) => {
                let n = ix.slots.len();
                let mut i = usize::try_from(cursor).unwrap_or(usize::MAX);
                let mut seen = 0;
                while i < n && seen < count.max(1) {
                    let id = i as u32;
                    if let Some(e) = ix.slots.get(i)
                        && ix.find(e.member.as_bytes()) == Some(id)
                    {
                        f(e.member.as_bytes(), e.score);
                        seen += 1;
                    }
                    i += 1;
                }
                if i >= n { 0 } else { i as u64 }
            }
        }
    }

    /// Checks the structure: order, the hash index agreeing with the tree, counters.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let mut heap = 0;
        match &self.repr {
            Repr::Small(v) => {
                for w in v.windows(2) {
                    if let [a, b] = w
                        && order(a.score, a.member.as_bytes(), b.score, b.member.as_bytes())
                            != Ordering::Less
                    {
                        return Err(format!("listpack order {:?} {:?}", a, b));
                    }
                }
                for e in v {
                    if e.score.is_nan() {
                        return Err("NaN score".into());
                    }
                    heap += e.member.heap();
                }
            }
            Repr::Big(ix) => {
                ix.tree.validate(&key_cmp(&ix.slots))?;
                if ix.table.len() != ix.tree.len() {
                    return Err(format!("table {} tree {}", ix.table.len(), ix.tree.len()));
                }
                if ix.slots.len() != ix.tree.len() + ix.free.len() {
                    return Err("slots != live + free".into());
                }
                let mut n = 0;
                let mut err = None;
                ix.tree.walk(0, false, |k| {
                    let id = k.id;
                    let (s, m) = slot(&ix.slots, id);
                    if s.is_nan() || ix.find(m) != Some(id) {
                        err = Some(format!("id {id} not indexed by its member"));
                        return false;
                    }
                    if s.to_bits() != k.score.to_bits() {
                        err = Some(format!("id {id}: tree score {} but slab {s}", { k.score }));
                        return false;
                    }
                    heap += ix.slots.get(id as usize).map_or(0, |e| e.member.heap());
                    n += 1;
                    true
                });
                if let Some(e) = err {
                    return Err(e);
                }
                if n != ix.tree.len() {
                    return Err("walk count".into());
                }
            }
        }
        if heap != self.member_heap {
            return Err(format!("member heap {} != {}", self.member_heap, heap));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_32_bytes_and_key_12() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert_eq!(std::mem::size_of::<Key>(), 12);
    }

    #[test]
    fn converts_and_keeps_order() {
        let mut z = ZSet::new();
        for i in 0..200 {
            let m = format!("m{i:03}");
            z.insert_new(f64::from(200 - i), m.as_bytes())
                .unwrap_or_default();
            if i == 127 {
                assert_eq!(z.encoding(), "listpack");
            }
        }
        assert_eq!(z.encoding(), "skiplist");
        z.validate().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(z.get(0), Some((&b"m199"[..], 1.0)));
        assert_eq!(z.rank(b"m000"), Some(199));
        let mut long = ZSet::new();
        long.insert_new(1.0, &[b'x'; 65]).unwrap_or_default();
        assert_eq!(long.encoding(), "skiplist");
    }

    #[test]
    fn zadd_flags() {
        let mut z = ZSet::new();
        let f = AddFlags::default();
        assert_eq!(z.add(1.0, b"a", f), Ok(Added::New(1.0)));
        assert_eq!(z.add(1.0, b"a", f), Ok(Added::Same(1.0)));
        let gt = AddFlags { gt: true, ..f };
        assert_eq!(z.add(0.5, b"a", gt), Ok(Added::Nop));
        assert_eq!(z.add(2.0, b"a", gt), Ok(Added::Updated(2.0)));
        let inc = AddFlags { incr: true, ..f };
        assert_eq!(
            z.add(f64::INFINITY, b"a", inc),
            Ok(Added::Updated(f64::INFINITY))
        );
        assert_eq!(z.add(f64::NEG_INFINITY, b"a", inc), Err(Error::ScoreNan));
        assert_eq!(z.add(-0.0, b"z", f), Ok(Added::New(-0.0)));
        assert_eq!(z.add(0.0, b"z", f), Ok(Added::Same(0.0)));
        let xx = AddFlags { xx: true, ..f };
        assert_eq!(z.add(1.0, b"new", xx), Ok(Added::Nop));
        assert_eq!(z.len(), 2);
    }
}
