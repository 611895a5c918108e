//! A Count-Min sketch: the value type and the typed [`CmsOps`] API (RedisBloom's `CMS.*`
//! commands).
//!
//! # Structure
//!
//! `depth` rows of `width` 32-bit counters. An increment of item `x` by `n` adds `n` to one
//! counter per row; the estimate of `x` is the smallest of its `depth` counters. Counters only
//! grow, so an estimate is never below the true count; collisions make it larger.
//!
//! # Sizing (`CMS.INITBYPROB key ε δ`)
//!
//! As RedisBloom sizes it, so a sketch has the same dimensions (and `CMS.INFO` the same
//! figures) here and there:
//!
//! ```text
//! width = ⌈2 / ε⌉          depth = ⌈log₂(1 / δ)⌉      (ε = 0.001, δ = 0.01: 2000 × 7)
//! ```
//!
//! Guarantee: with `N` the total of all increments, one row overestimates an item by more than
//! `ε·N` with probability at most 1/2 (Markov: the expected excess is `N / width ≤ ε·N / 2`),
//! so all `depth` rows do with probability at most `2^-depth ≤ δ`. The textbook sizing
//! (`⌈e/ε⌉ × ⌈ln 1/δ⌉`, Cormode & Muthukrishnan) gives the same bound with ~6% fewer
//! counters; RedisBloom's was kept for compatibility.
//!
//! # Hashing
//!
//! One XXH3-64 per item (`a`, and a step `b` remixed from it) drives double hashing across
//! the rows: row `i` uses
//! `splitmix64(a + i·b)` reduced onto `0..width` by multiply-shift. The finalizer keeps the
//! rows independent (without it, two items with merely close `(a, b)` collide in every row;
//! measured: a 2000×7 sketch over a 10M-item Zipf stream overestimated one item by 117k,
//! 12× εN, before it was added). See `bloom/hash.rs`.
//!
//! # Limits
//!
//! A counter never wraps: an increment that would push any of the item's counters past
//! 2³²−1, or the total count past 2⁶³−1, is refused for that item (`CMS: INCRBY overflow`)
//! and changes nothing. A merge whose weighted sum would leave a counter outside 0..=2³²−1
//! or the total outside 0..=2⁶³−1 is refused whole (`CMS: MERGE overflow`). Increments are
//! non-negative (`CMS: Number cannot be negative` at the server).

use crate::Error;
use crate::access::Access;
use crate::bloom::hash::ItemHash;
use crate::keyspace::Keyspace;
use crate::ops::{live, modify, modify_in, plan, pos, read_value};
use crate::shard::View;
use crate::value::{KeyType, Value, heap_size};

/// The most counters one sketch may have (2³⁰: 4 GiB); larger dimensions are
/// `CMS: invalid init arguments`.
pub const MAX_CELLS: u64 = 1 << 30;

/// A Count-Min sketch of `width × depth` 32-bit counters.
#[derive(Clone, PartialEq)]
pub struct Cms {
    width: usize,
    depth: usize,
    count: u64,
    cells: Box<[u32]>,
}

impl std::fmt::Debug for Cms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cms")
            .field("width", &self.width)
            .field("depth", &self.depth)
            .field("count", &self.count)
            .finish()
    }
}

/// What `CMS.INFO` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmsInfo {
    /// Counters per row.
    pub width: u64,
    /// Rows.
    pub depth: u64,
    /// Total of all increments.
    pub count: u64,
}

impl Cms {
    /// An empty sketch of `width × depth` counters (`CMS.INITBYDIM`).
    ///
    /// # Errors
    /// [`Error::CmsInvalidWidth`] / [`Error::CmsInvalidDepth`] for 0;
    /// [`Error::CmsInvalidInit`] past [`MAX_CELLS`] counters or if the allocation fails.
    pub fn new(width: u64, depth: u64) -> Result<Cms, Error> {
        if width < 1 {
            return Err(Error::CmsInvalidWidth);
        }
        if depth < 1 {
            return Err(Error::CmsInvalidDepth);
        }
        let n = width
            .checked_mul(depth)
            .filter(|&n| n <= MAX_CELLS)
            .ok_or(Error::CmsInvalidInit)?;
        let n = usize::try_from(n).map_err(|_| Error::CmsInvalidInit)?;
        let mut cells = Vec::new();
        cells
            .try_reserve_exact(n)
            .map_err(|_| Error::CmsInvalidInit)?;
        cells.resize(n, 0u32);
        Ok(Cms {
            width: width as usize,
            depth: depth as usize,
            count: 0,
            cells: cells.into_boxed_slice(),
        })
    }

    /// RedisBloom's dimensions for overestimation `error` (a fraction of the total count) with
    /// probability `prob` of exceeding it: `(⌈2/error⌉, ⌈log₂(1/prob)⌉)`, the depth computed
    /// in single precision as RedisBloom does.
    ///
    /// # Errors
    /// [`Error::CmsInvalidError`] / [`Error::CmsInvalidProb`] outside (0, 1);
    /// [`Error::CmsInvalidInit`] if a dimension comes out below 1.
    pub fn dims_for(error: f64, prob: f64) -> Result<(u64, u64), Error> {
        if !(error > 0.0 && error < 1.0) {
            return Err(Error::CmsInvalidError);
        }
        if !(prob > 0.0 && prob < 1.0) {
            return Err(Error::CmsInvalidProb);
        }
        let width = (2.0 / error).ceil();
        let depth = ((prob as f32).log10() / 0.5f32.log10()).ceil();
        // `as` saturates (and maps NaN to 0), which the range checks below then refuse.
        let (width, depth) = (width as u64, depth as u64);
        if width < 1 || depth < 1 || width > i64::MAX as u64 / depth {
            return Err(Error::CmsInvalidInit);
        }
        Ok((width, depth))
    }

    /// A sketch for `CMS.INITBYPROB key error prob` ([`Cms::dims_for`]).
    ///
    /// # Errors
    /// As [`Cms::dims_for`] and [`Cms::new`].
    pub fn with_error(error: f64, prob: f64) -> Result<Cms, Error> {
        let (w, d) = Cms::dims_for(error, prob)?;
        Cms::new(w, d)
    }

    fn placeholder() -> Cms {
        Cms {
            width: 0,
            depth: 0,
            count: 0,
            cells: Box::default(),
        }
    }

    fn is_placeholder(&self) -> bool {
        self.width == 0
    }

    /// Heap bytes owned by the sketch, its box included. O(1).
    #[must_use]
    pub fn charge(&self) -> usize {
        heap_size(std::mem::size_of::<Self>()) + heap_size(self.cells.len() * 4)
    }

    #[inline]
    fn slot(&self, h: &ItemHash, row: usize) -> usize {
        row * self.width + h.mixed_probe(row as u64, self.width as u64) as usize
    }

    /// Adds `n` to `item`'s counters and returns its new estimate.
    ///
    /// # Errors
    /// [`Error::CmsIncrOverflow`] if a counter would pass 2³²−1 or the total 2⁶³−1; nothing
    /// changes then.
    pub fn incr_by(&mut self, item: &[u8], n: u64) -> Result<u64, Error> {
        let total = self
            .count
            .checked_add(n)
            .filter(|&t| t <= i64::MAX as u64)
            .ok_or(Error::CmsIncrOverflow)?;
        let add = u32::try_from(n).map_err(|_| Error::CmsIncrOverflow)?;
        let h = ItemHash::of(item);
        for row in 0..self.depth {
            let c = self.cells.get(self.slot(&h, row)).copied().unwrap_or(0);
            if c.checked_add(add).is_none() {
                return Err(Error::CmsIncrOverflow);
            }
        }
        let mut min = u32::MAX;
        for row in 0..self.depth {
            let i = self.slot(&h, row);
            if let Some(c) = self.cells.get_mut(i) {
                *c += add;
                min = min.min(*c);
            }
        }
        self.count = total;
        Ok(u64::from(min))
    }

    /// The estimate of `item`: at least its true count.
    #[must_use]
    pub fn query(&self, item: &[u8]) -> u64 {
        let h = ItemHash::of(item);
        (0..self.depth)
            .map(|row| self.cells.get(self.slot(&h, row)).copied().unwrap_or(0))
            .min()
            .map_or(0, u64::from)
    }

    /// Counters per row.
    #[must_use]
    pub fn width(&self) -> u64 {
        self.width as u64
    }

    /// Rows.
    #[must_use]
    pub fn depth(&self) -> u64 {
        self.depth as u64
    }

    /// Total of all increments.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The counters, row after row (for the RDB codec).
    pub(crate) fn cells(&self) -> &[u32] {
        &self.cells
    }

    /// Rebuilds a sketch from its dimensions, total and counters (the RDB codec); `None`
    /// unless `cells` has `width × depth` counters, both at least 1, within [`MAX_CELLS`],
    /// and the total fits an `i64`.
    pub(crate) fn from_parts(width: u64, depth: u64, count: u64, cells: Box<[u32]>) -> Option<Cms> {
        let n = width.checked_mul(depth)?;
        let ok = width >= 1
            && depth >= 1
            && n <= MAX_CELLS
            && n == cells.len() as u64
            && count <= i64::MAX as u64;
        ok.then_some(Cms {
            width: usize::try_from(width).ok()?,
            depth: usize::try_from(depth).ok()?,
            count,
            cells,
        })
    }

    fn info(&self) -> CmsInfo {
        CmsInfo {
            width: self.width(),
            depth: self.depth(),
            count: self.count,
        }
    }
}

/// A weighted sum of sketches being built for `CMS.MERGE` (checked 64-bit arithmetic, as
/// RedisBloom's).
struct MergeAcc {
    width: usize,
    depth: usize,
    cells: Vec<i64>,
    count: i64,
}

impl MergeAcc {
    fn new(width: usize, depth: usize) -> Result<MergeAcc, Error> {
        let mut cells = Vec::new();
        cells
            .try_reserve_exact(width * depth)
            .map_err(|_| Error::OutOfMemory)?;
        cells.resize(width * depth, 0i64);
        Ok(MergeAcc {
            width,
            depth,
            cells,
            count: 0,
        })
    }

    fn add(&mut self, src: &Cms, weight: i64) -> Result<(), Error> {
        if src.width != self.width || src.depth != self.depth {
            return Err(Error::CmsDimensionMismatch);
        }
        for (acc, &c) in self.cells.iter_mut().zip(src.cells.iter()) {
            *acc = i64::from(c)
                .checked_mul(weight)
                .and_then(|m| acc.checked_add(m))
                .ok_or(Error::CmsMergeOverflow)?;
        }
        self.count = i64::try_from(src.count)
            .ok()
            .and_then(|c| c.checked_mul(weight))
            .and_then(|m| self.count.checked_add(m))
            .ok_or(Error::CmsMergeOverflow)?;
        Ok(())
    }

    /// Writes the sum into `dest` if every counter fits; else nothing changes.
    fn store(self, dest: &mut Cms) -> Result<(), Error> {
        if self.count < 0
            || self
                .cells
                .iter()
                .any(|&c| !(0..=i64::from(u32::MAX)).contains(&c))
        {
            return Err(Error::CmsMergeOverflow);
        }
        for (d, c) in dest.cells.iter_mut().zip(self.cells) {
            *d = c as u32;
        }
        dest.count = self.count as u64;
        Ok(())
    }
}

fn placeholder() -> Value {
    Value::Cms(Box::new(Cms::placeholder()))
}

/// Creates the sketch `build` makes at a missing `key`; RedisBloom answers
/// `CMS: key already exists` for a key of any type, before it looks at the arguments.
fn init<K: Keyspace + ?Sized>(
    ks: &K,
    key: &[u8],
    build: impl FnOnce() -> Result<Cms, Error>,
) -> Result<(), Error> {
    let r = modify(ks, key, KeyType::Cms, Some(placeholder), |v| match v {
        Value::Cms(c) if c.is_placeholder() => {
            **c = build()?;
            Ok(((), 1))
        }
        _ => Err(Error::CmsKeyExists),
    });
    match r {
        Ok(_) => Ok(()),
        Err(Error::WrongType) => Err(Error::CmsKeyExists),
        Err(e) => Err(e),
    }
}

fn with_cms<K: Keyspace + ?Sized, T>(
    ks: &K,
    key: &[u8],
    f: impl FnOnce(&mut Cms) -> Result<T, Error>,
) -> Result<T, Error> {
    // One change per successful call, as RedisBloom replicates it once.
    modify(ks, key, KeyType::Cms, None, |v| match v {
        Value::Cms(c) => f(c).map(|t| (t, 1)),
        _ => Err(Error::WrongType),
    })?
    .ok_or(Error::CmsKeyMissing)
}

fn read_cms<K: Keyspace + ?Sized, T>(
    ks: &K,
    key: &[u8],
    f: impl FnOnce(&Cms) -> T,
) -> Result<T, Error> {
    read_value(ks, key, KeyType::Cms, |v| match v {
        Value::Cms(c) => Ok(f(c)),
        _ => Err(Error::WrongType),
    })?
    .ok_or(Error::CmsKeyMissing)?
}

fn merge<A: Access + ?Sized, K: AsRef<[u8]>>(
    a: &A,
    dest: &[u8],
    sources: &[K],
    weights: &[i64],
) -> Result<(), Error> {
    if sources.is_empty() || weights.len() != sources.len() {
        return Err(Error::CmsWrongKeyCount);
    }
    let store = a.store();
    let mut keys: Vec<&[u8]> = Vec::with_capacity(sources.len() + 1);
    keys.push(dest);
    keys.extend(sources.iter().map(AsRef::as_ref));
    let (gids, located) = plan(a, &keys);
    a.write_many(&gids, |shards| {
        let mut acc: Option<MergeAcc> = None;
        for (i, key) in keys.iter().enumerate() {
            let (h, gid) = located.get(i).copied().ok_or(Error::CmsKeyMissing)?;
            let s = &mut *shards[pos(&gids, gid)];
            let r = live(s, store, h, key).ok_or(Error::CmsKeyMissing)?;
            let View::Value(Value::Cms(c)) = s.view(&r) else {
                return Err(Error::WrongType);
            };
            match (i, acc.as_mut()) {
                (0, _) => acc = Some(MergeAcc::new(c.width, c.depth)?),
                (_, Some(m)) => m.add(c, weights.get(i - 1).copied().unwrap_or(1))?,
                (_, None) => return Err(Error::CmsKeyMissing),
            }
        }
        let acc = acc.ok_or(Error::CmsKeyMissing)?;
        let (h, gid) = located.first().copied().ok_or(Error::CmsKeyMissing)?;
        let s = &mut *shards[pos(&gids, gid)];
        modify_in(s, store, h, dest, KeyType::Cms, None, |v| match v {
            Value::Cms(c) => acc.store(c).map(|t| (t, 1)),
            _ => Err(Error::WrongType),
        })?
        .ok_or(Error::CmsKeyMissing)
    })
}

/// The Count-Min sketch commands, for [`crate::Cache`] and [`crate::Transaction`].
///
/// ```
/// use sabaody_core::{Cache, CmsOps};
///
/// let cache = Cache::builder().build();
/// cache.cms_init_by_prob("hits", 0.001, 0.01)?;
/// let estimates = cache.cms_incrby("hits", &[("/home", 3), ("/about", 1)])?;
/// assert_eq!(estimates, vec![Ok(3), Ok(1)]);
/// assert_eq!(cache.cms_query("hits", &["/home", "/never"])?, vec![3, 0]);
/// let info = cache.cms_info("hits")?;
/// assert_eq!((info.width, info.depth, info.count), (2000, 7, 4));
/// # Ok::<(), sabaody_core::Error>(())
/// ```
pub trait CmsOps: Keyspace {
    /// `CMS.INITBYDIM key width depth`.
    ///
    /// # Errors
    /// [`Error::CmsKeyExists`] if the key exists (any type); the errors of [`Cms::new`].
    fn cms_init_by_dim(&self, key: impl AsRef<[u8]>, width: u64, depth: u64) -> Result<(), Error> {
        init(self, key.as_ref(), || Cms::new(width, depth))
    }

    /// `CMS.INITBYPROB key error probability`: dimensions from [`Cms::dims_for`].
    ///
    /// # Errors
    /// [`Error::CmsKeyExists`] if the key exists (any type); the errors of
    /// [`Cms::with_error`].
    fn cms_init_by_prob(&self, key: impl AsRef<[u8]>, error: f64, prob: f64) -> Result<(), Error> {
        init(self, key.as_ref(), || Cms::with_error(error, prob))
    }

    /// `CMS.INCRBY key item n [item n ...]`: the new estimate of each item, or
    /// [`Error::CmsIncrOverflow`] for an item whose increment was refused (the others go
    /// through).
    ///
    /// # Errors
    /// [`Error::CmsKeyMissing`]; [`Error::WrongType`].
    fn cms_incrby<I: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        pairs: &[(I, u64)],
    ) -> Result<Vec<Result<u64, Error>>, Error> {
        with_cms(self, key.as_ref(), |c| {
            Ok(pairs
                .iter()
                .map(|(item, n)| c.incr_by(item.as_ref(), *n))
                .collect())
        })
    }

    /// `CMS.QUERY key item [item ...]`: each item's estimate.
    ///
    /// # Errors
    /// [`Error::CmsKeyMissing`]; [`Error::WrongType`].
    fn cms_query<I: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        items: &[I],
    ) -> Result<Vec<u64>, Error> {
        read_cms(self, key.as_ref(), |c| {
            items.iter().map(|i| c.query(i.as_ref())).collect()
        })
    }

    /// `CMS.MERGE dest numkeys src [src ...] [WEIGHTS w [w ...]]`: `dest` becomes the weighted
    /// sum of the sources (`weights: None` is all 1). `dest` must exist and may be a source.
    ///
    /// # Errors
    /// [`Error::CmsKeyMissing`] / [`Error::WrongType`] for `dest` or a source;
    /// [`Error::CmsDimensionMismatch`]; [`Error::CmsMergeOverflow`] (nothing changes);
    /// [`Error::CmsWrongKeyCount`] for no source or a weight count that differs.
    fn cms_merge<S: AsRef<[u8]>>(
        &self,
        dest: impl AsRef<[u8]>,
        sources: &[S],
        weights: Option<&[i64]>,
    ) -> Result<(), Error> {
        let ones;
        let weights = match weights {
            Some(w) => w,
            None => {
                ones = vec![1i64; sources.len()];
                &ones
            }
        };
        merge(self, dest.as_ref(), sources, weights)
    }

    /// `CMS.INFO key`: width, depth and total count.
    ///
    /// # Errors
    /// [`Error::CmsKeyMissing`]; [`Error::WrongType`].
    fn cms_info(&self, key: impl AsRef<[u8]>) -> Result<CmsInfo, Error> {
        read_cms(self, key.as_ref(), Cms::info)
    }
}

impl<K: Keyspace + ?Sized> CmsOps for K {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch(w: u64, d: u64) -> Cms {
        Cms::new(w, d).unwrap_or_else(|_| Cms::placeholder())
    }

    #[test]
    fn dims_as_redisbloom() {
        assert_eq!(Cms::dims_for(0.001, 0.01), Ok((2000, 7)));
        assert_eq!(Cms::dims_for(0.1, 0.1), Ok((20, 4)));
        assert_eq!(Cms::dims_for(0.01, 0.5), Ok((200, 1)));
        assert_eq!(Cms::dims_for(0.0, 0.5), Err(Error::CmsInvalidError));
        assert_eq!(Cms::dims_for(1.0, 0.5), Err(Error::CmsInvalidError));
        assert_eq!(Cms::dims_for(0.5, 1.0), Err(Error::CmsInvalidProb));
        assert_eq!(Cms::dims_for(0.5, f64::NAN), Err(Error::CmsInvalidProb));
        // RedisBloom's own edge cases: a probability that rounds to 1 in single precision,
        // and a width past i64.
        assert_eq!(
            Cms::dims_for(0.9, 0.999_999_999_999_999_9),
            Err(Error::CmsInvalidInit)
        );
        assert_eq!(Cms::dims_for(1e-19, 0.9), Err(Error::CmsInvalidInit));
    }

    #[test]
    fn new_limits() {
        assert_eq!(Cms::new(0, 5), Err(Error::CmsInvalidWidth));
        assert_eq!(Cms::new(5, 0), Err(Error::CmsInvalidDepth));
        assert_eq!(Cms::new(1 << 33, 1 << 33), Err(Error::CmsInvalidInit));
        assert_eq!(Cms::new(MAX_CELLS, 2), Err(Error::CmsInvalidInit));
        let c = sketch(20, 5);
        assert_eq!((c.width(), c.depth(), c.count()), (20, 5, 0));
        assert_eq!(
            c.charge(),
            heap_size(std::mem::size_of::<Cms>()) + heap_size(400)
        );
    }

    #[test]
    fn estimates_never_undercount() {
        let mut c = sketch(50, 4);
        let mut truth = std::collections::HashMap::new();
        for i in 0..2000u32 {
            let item = (i % 300).to_le_bytes();
            let est = c.incr_by(&item, 1).unwrap_or(0);
            let t = truth.entry(i % 300).or_insert(0u64);
            *t += 1;
            assert!(est >= *t);
        }
        for (k, t) in truth {
            assert!(c.query(&k.to_le_bytes()) >= t);
        }
        assert_eq!(c.count(), 2000);
    }

    #[test]
    fn overflow_is_refused_and_changes_nothing() {
        let mut c = sketch(5, 2);
        let big = (1u64 << 31) - 1;
        assert_eq!(c.incr_by(b"a", big), Ok(big));
        assert_eq!(c.incr_by(b"a", big), Ok(2 * big));
        let before = c.clone();
        assert_eq!(c.incr_by(b"a", big), Err(Error::CmsIncrOverflow));
        assert_eq!(c, before);
        assert_eq!(c.incr_by(b"b", 1 << 32), Err(Error::CmsIncrOverflow));
        assert_eq!(c.incr_by(b"a", 0), Ok(2 * big));
        // the total is bounded too
        let mut t = sketch(1000, 1);
        t.count = i64::MAX as u64 - 1;
        assert_eq!(t.incr_by(b"x", 2), Err(Error::CmsIncrOverflow));
        assert_eq!(t.incr_by(b"x", 1), Ok(1));
    }

    #[test]
    fn merge_weights_and_bounds() {
        let mut a = sketch(100, 3);
        let mut b = sketch(100, 3);
        let _ = a.incr_by(b"x", 5);
        let _ = b.incr_by(b"x", 2);
        let _ = b.incr_by(b"y", 1);
        let mut acc = MergeAcc::new(100, 3).unwrap_or_else(|_| MergeAcc {
            width: 0,
            depth: 0,
            cells: Vec::new(),
            count: 0,
        });
        assert_eq!(acc.add(&a, 2), Ok(()));
        assert_eq!(acc.add(&b, -1), Ok(()));
        let mut d = sketch(100, 3);
        // y ends up at -1 somewhere: refused whole
        assert_eq!(acc.store(&mut d), Err(Error::CmsMergeOverflow));
        assert_eq!(d, sketch(100, 3));
        let mut acc = MergeAcc::new(100, 3).unwrap_or_else(|_| MergeAcc {
            width: 0,
            depth: 0,
            cells: Vec::new(),
            count: 0,
        });
        assert_eq!(acc.add(&a, 3), Ok(()));
        assert_eq!(acc.add(&b, 1), Ok(()));
        assert_eq!(acc.store(&mut d), Ok(()));
        assert_eq!(d.query(b"x"), 17);
        assert_eq!(d.count(), 18);
        let other = sketch(10, 3);
        let mut acc = MergeAcc::new(100, 3).unwrap_or_else(|_| MergeAcc {
            width: 0,
            depth: 0,
            cells: Vec::new(),
            count: 0,
        });
        assert_eq!(acc.add(&other, 1), Err(Error::CmsDimensionMismatch));
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use crate::Cache;

    #[test]
    fn init_incr_query_info() {
        let c = Cache::builder().build();
        assert_eq!(c.cms_init_by_dim("a", 20, 5), Ok(()));
        assert_eq!(c.cms_init_by_dim("a", 20, 5), Err(Error::CmsKeyExists));
        assert_eq!(c.cms_init_by_prob("a", 0.5, 0.5), Err(Error::CmsKeyExists));
        assert_eq!(c.key_type("a"), Some(KeyType::Cms));
        assert_eq!(
            c.cms_incrby("a", &[("x", 5), ("y", 0)]),
            Ok(vec![Ok(5), Ok(0)])
        );
        assert_eq!(c.cms_query("a", &["x", "y", "z"]), Ok(vec![5, 0, 0]));
        assert_eq!(
            c.cms_info("a"),
            Ok(CmsInfo {
                width: 20,
                depth: 5,
                count: 5
            })
        );
        assert_eq!(c.cms_init_by_prob("p", 0.001, 0.01), Ok(()));
        assert_eq!(c.cms_info("p").map(|i| (i.width, i.depth)), Ok((2000, 7)));
    }

    #[test]
    fn missing_and_wrong_types() {
        let c = Cache::builder().build();
        c.set("s", "v").ok();
        assert_eq!(c.cms_init_by_dim("s", 20, 5), Err(Error::CmsKeyExists));
        // the key check comes before the arguments, as in RedisBloom
        assert_eq!(c.cms_init_by_dim("s", 0, 5), Err(Error::CmsKeyExists));
        assert_eq!(c.cms_init_by_dim("n", 0, 5), Err(Error::CmsInvalidWidth));
        assert_eq!(
            c.cms_init_by_prob("n", 2.0, 0.5),
            Err(Error::CmsInvalidError)
        );
        assert_eq!(c.key_type("n"), None);
        assert_eq!(c.cms_incrby("s", &[("x", 1)]), Err(Error::WrongType));
        assert_eq!(c.cms_incrby("n", &[("x", 1)]), Err(Error::CmsKeyMissing));
        assert_eq!(c.cms_query("n", &["x"]), Err(Error::CmsKeyMissing));
        assert_eq!(c.cms_query("s", &["x"]), Err(Error::WrongType));
        assert_eq!(c.cms_info("n"), Err(Error::CmsKeyMissing));
    }

    #[test]
    fn merge_through_the_keyspace() {
        let c = Cache::builder().build();
        for k in ["d", "s1", "s2", "small"] {
            let w = if k == "small" { 10 } else { 100 };
            assert_eq!(c.cms_init_by_dim(k, w, 5), Ok(()));
        }
        let _ = c.cms_incrby("s1", &[("a", 21), ("b", 1)]);
        let _ = c.cms_incrby("s2", &[("a", 21)]);
        assert_eq!(c.cms_merge("d", &["s1", "s2"], None), Ok(()));
        assert_eq!(c.cms_query("d", &["a", "b"]), Ok(vec![42, 1]));
        assert_eq!(c.cms_info("d").map(|i| i.count), Ok(43));
        // weights, with the destination among the sources
        assert_eq!(c.cms_merge("d", &["d", "s2"], Some(&[1, -1])), Ok(()));
        assert_eq!(c.cms_query("d", &["a", "b"]), Ok(vec![21, 1]));
        // going below zero is refused and leaves the destination alone
        assert_eq!(
            c.cms_merge("d", &["d", "s2"], Some(&[1, -2])),
            Err(Error::CmsMergeOverflow)
        );
        assert_eq!(c.cms_query("d", &["a"]), Ok(vec![21]));
        assert_eq!(
            c.cms_merge("d", &["s1", "small"], None),
            Err(Error::CmsDimensionMismatch)
        );
        assert_eq!(
            c.cms_merge("d", &["s1", "nope"], None),
            Err(Error::CmsKeyMissing)
        );
        assert_eq!(
            c.cms_merge("nope", &["s1"], None),
            Err(Error::CmsKeyMissing)
        );
        assert_eq!(
            c.cms_merge("d", &["s1"], Some(&[1, 2])),
            Err(Error::CmsWrongKeyCount)
        );
        let none: [&str; 0] = [];
        assert_eq!(c.cms_merge("d", &none, None), Err(Error::CmsWrongKeyCount));
        c.set("str", "v").ok();
        assert_eq!(c.cms_merge("d", &["str"], None), Err(Error::WrongType));
    }

    #[test]
    fn memory_is_charged_to_the_key() {
        let c = Cache::builder().build();
        let before = c.used_memory();
        assert_eq!(c.cms_init_by_dim("m", 2000, 7), Ok(()));
        assert!(c.used_memory() - before >= 2000 * 7 * 4);
        c.del(&["m"]);
        assert_eq!(c.used_memory(), before);
    }
}
