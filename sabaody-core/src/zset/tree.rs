//! An order-statistic B+tree of `u32` entry ids.
//!
//! The tree stores only ids; the order between ids is given by a comparator the caller passes
//! to every call (the sorted set compares `(score, member)` of the entries the ids name).
//! Each child link carries the child's element count (for rank arithmetic) and the id of
//! its largest element (for descending by key), kept exact on every change, so no stale id is
//! ever compared. Leaves hold up to [`LEAF_CAP`] ids in one allocation of exactly that size;
//! inner nodes up to [`INNER_CAP`] children.

use std::cmp::Ordering;

/// What the tree stores: small, copyable, comparable only through the caller's `cmp`.
pub(crate) trait Elem: Copy + PartialEq + std::fmt::Debug {}
impl<T: Copy + PartialEq + std::fmt::Debug> Elem for T {}

/// Ids per leaf: 128 × 4 bytes = one 512-byte allocation.
pub(crate) const LEAF_CAP: usize = 128;
/// Children per inner node.
pub(crate) const INNER_CAP: usize = 32;
const LEAF_MIN: usize = LEAF_CAP / 4;
const INNER_MIN: usize = INNER_CAP / 4;

#[derive(Debug, Clone)]
struct Child<T> {
    node: Node<T>,
    /// Elements under `node`.
    size: u32,
    /// The largest element under `node`.
    max: T,
}

#[derive(Debug, Clone)]
enum Node<T> {
    Leaf(Vec<T>),
    Inner(Vec<Child<T>>),
}

impl<T: Elem> Node<T> {
    fn width(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(v) => v.len(),
        }
    }
    fn max(&self) -> Option<T> {
        match self {
            Node::Leaf(v) => v.last().copied(),
            Node::Inner(v) => v.last().map(|c| c.max),
        }
    }
    fn size(&self) -> u32 {
        match self {
            Node::Leaf(v) => v.len() as u32,
            Node::Inner(v) => v.iter().map(|c| c.size).sum(),
        }
    }
    /// A child link for a non-empty node.
    fn child(node: Node<T>) -> Option<Child<T>> {
        Some(Child {
            size: node.size(),
            max: node.max()?,
            node,
        })
    }
}

/// The tree. `cmp(a, b)` must be a total order over the ids stored.
#[derive(Debug, Clone)]
pub(crate) struct Tree<T> {
    root: Node<T>,
    len: usize,
    leaves: usize,
    inners: usize,
}

impl<T: Elem> Default for Tree<T> {
    fn default() -> Self {
        Tree::new()
    }
}

/// Index of the child that holds (or would hold) `id`: the first whose max is >= it.
fn pick<T: Elem>(kids: &[Child<T>], id: T, cmp: &impl Fn(T, T) -> Ordering) -> usize {
    let i = kids.partition_point(|c| cmp(c.max, id) == Ordering::Less);
    i.min(kids.len().saturating_sub(1))
}

impl<T: Elem> Tree<T> {
    pub(crate) fn new() -> Tree<T> {
        Tree {
            root: Node::Leaf(Vec::new()),
            len: 0,
            leaves: 1,
            inners: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes of the nodes (leaves are allocated at full capacity).
    pub(crate) fn heap(&self) -> usize {
        use crate::value::heap_size;
        self.leaves * heap_size(LEAF_CAP * std::mem::size_of::<T>())
            + self.inners * heap_size(INNER_CAP * std::mem::size_of::<Child<T>>())
    }

    /// Inserts `id` (not present).
    pub(crate) fn insert(&mut self, id: T, cmp: &impl Fn(T, T) -> Ordering) {
        if let Node::Leaf(v) = &mut self.root
            && v.capacity() == 0
        {
            v.reserve_exact(LEAF_CAP);
        }
        if let Some(right) = self.insert_rec_root(id, cmp) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let mut kids = Vec::with_capacity(INNER_CAP);
            kids.extend(Node::child(left));
            kids.extend(Node::child(right));
            self.root = Node::Inner(kids);
            self.inners += 1;
        }
        self.len += 1;
    }

    fn insert_rec_root(&mut self, id: T, cmp: &impl Fn(T, T) -> Ordering) -> Option<Node<T>> {
        let mut counts = (0usize, 0usize);
        let r = insert_rec(&mut self.root, id, cmp, &mut counts);
        self.leaves += counts.0;
        self.inners += counts.1;
        r
    }

    /// Removes `id`; false if it was not found.
    pub(crate) fn remove(&mut self, id: T, cmp: &impl Fn(T, T) -> Ordering) -> bool {
        self.remove_or_replace(id, None, cmp) == Removal::Removed
    }

    fn remove_or_replace(
        &mut self,
        id: T,
        with: Option<T>,
        cmp: &impl Fn(T, T) -> Ordering,
    ) -> Removal {
        let mut counts = (0usize, 0usize);
        let r = remove_rec(&mut self.root, id, with, cmp, &mut counts);
        self.leaves -= counts.0;
        self.inners -= counts.1;
        if r == Removal::Removed {
            self.len -= 1;
            // Collapse a root with a single child.
            while let Node::Inner(kids) = &mut self.root {
                if kids.len() != 1 {
                    break;
                }
                let Some(only) = kids.pop() else { break };
                self.root = only.node;
                self.inners -= 1;
            }
        }
        r
    }

    /// Moves `old` (present) to `new`. When `new` sorts strictly between the neighbours of
    /// `old` in its leaf (a small score change: Redis's `zslUpdateScore` fast path) the leaf
    /// slot is rewritten in place: `old` is then neither first nor last in its leaf, so no size
    /// or maximum above it changes. Otherwise `old` is removed on that same descent and `new`
    /// inserted. True when the move was in place. `old` missing: nothing changes.
    pub(crate) fn rescore(&mut self, old: T, new: T, cmp: &impl Fn(T, T) -> Ordering) -> bool {
        match self.remove_or_replace(old, Some(new), cmp) {
            Removal::Replaced => true,
            Removal::Removed => {
                self.insert(new, cmp);
                false
            }
            Removal::NotFound => false,
        }
    }

    /// How many leading elements satisfy `pred` (which must hold for a prefix of the order).
    pub(crate) fn count_while(&self, pred: impl Fn(T) -> bool) -> usize {
        let mut node = &self.root;
        let mut acc = 0usize;
        loop {
            match node {
                Node::Leaf(v) => return acc + v.partition_point(|&x| pred(x)),
                Node::Inner(kids) => {
                    let i = kids.partition_point(|c| pred(c.max));
                    acc += kids.iter().take(i).map(|c| c.size as usize).sum::<usize>();
                    match kids.get(i) {
                        Some(c) => node = &c.node,
                        None => return acc,
                    }
                }
            }
        }
    }

    /// The 0-based rank of `id` (which must be present), by key.
    pub(crate) fn rank(&self, id: T, cmp: &impl Fn(T, T) -> Ordering) -> usize {
        self.count_while(|x| cmp(x, id) == Ordering::Less)
    }

    /// The id at rank `r`.
    pub(crate) fn select(&self, mut r: usize) -> Option<T> {
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(v) => return v.get(r).copied(),
                Node::Inner(kids) => {
                    let mut next = None;
                    for c in kids {
                        if r < c.size as usize {
                            next = Some(&c.node);
                            break;
                        }
                        r -= c.size as usize;
                    }
                    node = next?;
                }
            }
        }
    }

    /// Calls `f` on the ids from rank `start` on, ascending (or descending from `start` when
    /// `rev`), until `f` returns false or the tree ends.
    pub(crate) fn walk(&self, start: usize, rev: bool, mut f: impl FnMut(T) -> bool) {
        if start < self.len {
            walk_rec(&self.root, start, rev, &mut f);
        }
    }

    /// Checks every invariant: sizes, maxima, order, fill of leaves' allocations, counters.
    pub(crate) fn validate(&self, cmp: &impl Fn(T, T) -> Ordering) -> Result<(), String> {
        let mut prev: Option<T> = None;
        let mut counts = (0usize, 0usize);
        let n = validate_rec(&self.root, cmp, &mut prev, &mut counts, true)?;
        if n != self.len {
            return Err(format!("len {} but {} ids", self.len, n));
        }
        if counts != (self.leaves, self.inners) {
            return Err(format!(
                "node counters {:?} but found {:?}",
                (self.leaves, self.inners),
                counts
            ));
        }
        Ok(())
    }
}

fn insert_rec<T: Elem>(
    node: &mut Node<T>,
    id: T,
    cmp: &impl Fn(T, T) -> Ordering,
    counts: &mut (usize, usize),
) -> Option<Node<T>> {
    match node {
        Node::Leaf(v) => {
            let p = v.partition_point(|&x| cmp(x, id) == Ordering::Less);
            v.insert(p, id);
            if v.len() <= LEAF_CAP {
                return None;
            }
            // Appending at the end (rising scores, the common time-series case) leaves the
            // left leaf full instead of half empty.
            let at = if p + 1 == v.len() {
                LEAF_CAP
            } else {
                v.len() / 2
            };
            let mut right = Vec::with_capacity(LEAF_CAP);
            right.extend_from_slice(v.get(at..).unwrap_or(&[]));
            v.truncate(at);
            if v.capacity() > LEAF_CAP {
                v.shrink_to(LEAF_CAP);
            }
            counts.0 += 1;
            Some(Node::Leaf(right))
        }
        Node::Inner(kids) => {
            let i = pick(kids, id, cmp);
            let c = kids.get_mut(i)?;
            let split = insert_rec(&mut c.node, id, cmp, counts);
            // One more element below `c`, unless part of it moved to a new right sibling.
            if split.is_some() {
                c.size = c.node.size();
            } else {
                c.size += 1;
            }
            c.max = c.node.max().unwrap_or(c.max);
            if let Some(right) = split.and_then(Node::child) {
                kids.insert(i + 1, right);
                if kids.len() > INNER_CAP {
                    let at = kids.len() / 2;
                    let mut r = Vec::with_capacity(INNER_CAP);
                    r.extend(kids.drain(at..));
                    counts.1 += 1;
                    return Some(Node::Inner(r));
                }
            }
            None
        }
    }
}

/// What [`remove_rec`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    NotFound,
    Removed,
    /// Overwritten in place by the replacement, strictly inside its leaf.
    Replaced,
}

/// Removes `id`, or, given `with`, overwrites it in place when `with` sorts strictly between
/// its neighbours in the leaf.
fn remove_rec<T: Elem>(
    node: &mut Node<T>,
    id: T,
    with: Option<T>,
    cmp: &impl Fn(T, T) -> Ordering,
    counts: &mut (usize, usize),
) -> Removal {
    match node {
        Node::Leaf(v) => {
            let p = v.partition_point(|&x| cmp(x, id) == Ordering::Less);
            if v.get(p) != Some(&id) {
                return Removal::NotFound;
            }
            if let Some(new) = with
                && p > 0
                && v.get(p - 1).is_some_and(|&a| cmp(a, new) == Ordering::Less)
                && v.get(p + 1).is_some_and(|&b| cmp(new, b) == Ordering::Less)
                && let Some(x) = v.get_mut(p)
            {
                *x = new;
                return Removal::Replaced;
            }
            v.remove(p);
            Removal::Removed
        }
        Node::Inner(kids) => {
            let i = pick(kids, id, cmp);
            let Some(c) = kids.get_mut(i) else {
                return Removal::NotFound;
            };
            let r = remove_rec(&mut c.node, id, with, cmp, counts);
            if r != Removal::Removed {
                return r;
            }
            c.size -= 1;
            if let Some(m) = c.node.max() {
                c.max = m;
            }
            rebalance(kids, i, counts);
            Removal::Removed
        }
    }
}

/// After a removal under `kids[i]`: drops an empty child, or merges an underfull one into a
/// neighbour when both fit in one node.
fn rebalance<T: Elem>(kids: &mut Vec<Child<T>>, i: usize, counts: &mut (usize, usize)) {
    let Some(c) = kids.get(i) else { return };
    let (w, leaf) = (c.node.width(), matches!(c.node, Node::Leaf(_)));
    if w == 0 {
        kids.remove(i);
        if leaf {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
        return;
    }
    let (min, cap) = if leaf {
        (LEAF_MIN, LEAF_CAP)
    } else {
        (INNER_MIN, INNER_CAP)
    };
    if w >= min {
        return;
    }
    let fits = |j: usize| kids.get(j).is_some_and(|n| n.node.width() + w <= cap);
    let left = if i > 0 && fits(i - 1) {
        i - 1
    } else if fits(i + 1) {
        i
    } else {
        return;
    };
    if left + 1 >= kids.len() {
        return;
    }
    let right = kids.remove(left + 1);
    let Some(l) = kids.get_mut(left) else { return };
    match (&mut l.node, right.node) {
        (Node::Leaf(a), Node::Leaf(b)) => {
            a.extend_from_slice(&b);
            counts.0 += 1;
        }
        (Node::Inner(a), Node::Inner(b)) => {
            a.extend(b);
            counts.1 += 1;
        }
        // Siblings are always at the same depth.
        (_, other) => {
            let back = Child {
                node: other,
                size: right.size,
                max: right.max,
            };
            kids.insert(left + 1, back);
            return;
        }
    }
    l.size += right.size;
    l.max = right.max;
}

fn walk_rec<T: Elem>(
    node: &Node<T>,
    mut start: usize,
    rev: bool,
    f: &mut impl FnMut(T) -> bool,
) -> bool {
    match node {
        Node::Leaf(v) => {
            if rev {
                let end = start.saturating_add(1).min(v.len());
                for &x in v.get(..end).unwrap_or(&[]).iter().rev() {
                    if !f(x) {
                        return false;
                    }
                }
            } else {
                for &x in v.get(start..).unwrap_or(&[]) {
                    if !f(x) {
                        return false;
                    }
                }
            }
            true
        }
        Node::Inner(kids) => {
            let mut i = 0;
            while let Some(c) = kids.get(i) {
                if start < c.size as usize {
                    break;
                }
                start -= c.size as usize;
                i += 1;
            }
            if rev {
                let mut s = start;
                for c in kids
                    .get(..=i.min(kids.len().saturating_sub(1)))
                    .unwrap_or(&[])
                    .iter()
                    .rev()
                {
                    if !walk_rec(&c.node, s, rev, f) {
                        return false;
                    }
                    s = usize::MAX;
                }
            } else {
                let mut s = start;
                for c in kids.get(i..).unwrap_or(&[]) {
                    if !walk_rec(&c.node, s, rev, f) {
                        return false;
                    }
                    s = 0;
                }
            }
            true
        }
    }
}

fn validate_rec<T: Elem>(
    node: &Node<T>,
    cmp: &impl Fn(T, T) -> Ordering,
    prev: &mut Option<T>,
    counts: &mut (usize, usize),
    root: bool,
) -> Result<usize, String> {
    match node {
        Node::Leaf(v) => {
            counts.0 += 1;
            if v.len() > LEAF_CAP || (v.capacity() != LEAF_CAP && v.capacity() != 0) {
                return Err(format!("leaf len {} cap {}", v.len(), v.capacity()));
            }
            if v.is_empty() && !root {
                return Err("empty leaf".into());
            }
            for &x in v {
                if let Some(p) = *prev
                    && cmp(p, x) != Ordering::Less
                {
                    return Err(format!("order: {p:?} !< {x:?}"));
                }
                *prev = Some(x);
            }
            Ok(v.len())
        }
        Node::Inner(kids) => {
            counts.1 += 1;
            if kids.is_empty() || kids.len() > INNER_CAP || (root && kids.len() < 2) {
                return Err(format!("inner width {}", kids.len()));
            }
            let mut total = 0;
            for c in kids {
                let n = validate_rec(&c.node, cmp, prev, counts, false)?;
                if n != c.size as usize {
                    return Err(format!("size {} but {} ids", c.size, n));
                }
                if c.node.max() != Some(c.max) {
                    return Err(format!("max {:?} but {:?}", c.max, c.node.max()));
                }
                total += n;
            }
            Ok(total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: u32, b: u32) -> Ordering {
        // A non-trivial order: by (x % 1000, x).
        (a % 1000, a).cmp(&(b % 1000, b))
    }

    #[test]
    fn random_ops_against_a_sorted_vec() {
        let mut t = Tree::new();
        let mut model: Vec<u32> = Vec::new();
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..30_000u32 {
            let x = rng.u32(..20_000);
            let present = model.binary_search_by(|&y| cmp(y, x)).is_ok();
            if rng.u8(..3) < 2 && !present {
                t.insert(x, &cmp);
                let p = model.partition_point(|&y| cmp(y, x) == Ordering::Less);
                model.insert(p, x);
            } else {
                assert_eq!(t.remove(x, &cmp), present);
                if let Ok(p) = model.binary_search_by(|&y| cmp(y, x)) {
                    model.remove(p);
                }
            }
            if round % 997 == 0 {
                t.validate(&cmp)
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
                assert_eq!(t.len(), model.len());
                for (r, &x) in model.iter().enumerate().step_by(37) {
                    assert_eq!(t.rank(x, &cmp), r);
                    assert_eq!(t.select(r), Some(x));
                }
                let s = model.len() / 3;
                let mut got = Vec::new();
                t.walk(s, false, |x| {
                    got.push(x);
                    got.len() < 50
                });
                assert_eq!(&got[..], &model[s..(s + 50).min(model.len())]);
                let mut back = Vec::new();
                t.walk(s, true, |x| {
                    back.push(x);
                    true
                });
                let mut want: Vec<u32> = model[..=s.min(model.len().saturating_sub(1))].to_vec();
                want.reverse();
                if !model.is_empty() {
                    assert_eq!(back, want);
                }
            }
        }
        // Drain to empty.
        for x in model.clone() {
            assert!(t.remove(x, &cmp));
        }
        t.validate(&cmp).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn rescore_in_place_only_between_leaf_neighbours() {
        let ord = |a: u32, b: u32| a.cmp(&b);
        let mut t = Tree::new();
        let mut rng = fastrand::Rng::with_seed(11);
        let mut model: Vec<u32> = (0..5_000).map(|i| i * 4).collect();
        let mut shuffled = model.clone();
        rng.shuffle(&mut shuffled);
        for &x in &shuffled {
            t.insert(x, &ord);
        }
        let (mut fast, mut slow) = (0, 0);
        for _ in 0..20_000 {
            let p = rng.usize(..model.len());
            let old = model[p];
            // A nearby value (often between the neighbours) or a far one.
            let new = if rng.bool() {
                old + 1
            } else {
                rng.u32(..20_000) * 4 + 2
            };
            if model.binary_search(&new).is_ok() {
                continue;
            }
            let between = p > 0 && model[p - 1] < new && model.get(p + 1).is_some_and(|&n| new < n);
            if t.rescore(old, new, &ord) {
                assert!(between, "moved {old} to {new} past a neighbour in place");
                fast += 1;
            } else {
                slow += 1;
            }
            model.remove(p);
            let q = model.partition_point(|&y| y < new);
            model.insert(q, new);
        }
        t.validate(&ord).unwrap_or_else(|e| panic!("{e}"));
        assert!(fast > 1000 && slow > 1000, "fast {fast} slow {slow}");
        let mut all = Vec::new();
        t.walk(0, false, |x| {
            all.push(x);
            true
        });
        assert_eq!(all, model);
        for (r, &x) in model.iter().enumerate().step_by(31) {
            assert_eq!(t.rank(x, &ord), r);
        }
        // A missing element is neither replaced nor inserted.
        let missing = (0u32..)
            .find(|v| model.binary_search(v).is_err())
            .unwrap_or(u32::MAX);
        assert!(!t.rescore(missing, missing, &ord));
        assert_eq!(t.len(), model.len());
    }

    #[test]
    fn ascending_inserts_fill_leaves() {
        let mut t = Tree::new();
        let ord = |a: u32, b: u32| a.cmp(&b);
        for i in 0..100_000 {
            t.insert(i, &ord);
        }
        t.validate(&ord).unwrap_or_else(|e| panic!("{e}"));
        // Nearly full leaves: about 4 bytes of leaf per id.
        assert!(t.leaves <= 100_000 / LEAF_CAP + 2, "{} leaves", t.leaves);
    }
}
