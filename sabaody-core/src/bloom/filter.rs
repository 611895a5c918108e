//! The scalable filter: a chain of plain Bloom filters (sub-filters).

use super::hash::ItemHash;
use crate::Error;
use crate::value::heap_size;

/// ln(2)².
const LN2_SQUARED: f64 = std::f64::consts::LN_2 * std::f64::consts::LN_2;
/// Each new sub-filter's error rate is the previous one's times this (RedisBloom's ratio), so
/// the chain's compound rate is at most `p/2 + p/4 + … < p` for a requested `p`.
const TIGHTENING: f64 = 0.5;
/// A `NONSCALING` filter is sized for this fraction of its rate. Its one sub-filter has to
/// hold the bound by itself, and at exactly the formula's size the expected rate is slightly
/// *above* `p` (the hash count is rounded up to an integer: 1.003·p at 1%, 1.02·p at 0.1%),
/// so about half of all measurements would exceed it. At 0.9·p it costs 2.2% more bits at 1%
/// (9.80 instead of 9.585 per item).
pub(crate) const NONSCALING_MARGIN: f64 = 0.9;
/// The largest bit array one sub-filter may have (4 GiB): past it `BF.RESERVE` and growth
/// fail with `ERR could not create filter` instead of asking the allocator for absurd sizes.
pub(crate) const MAX_FILTER_BITS: u64 = 1 << 35;

/// The standard sizing for `capacity` items at false-positive rate `error`:
/// bits per item `-ln(p)/ln(2)²`, hash count `⌈ln(2) · bits per item⌉` (= ⌈-log₂ p⌉),
/// the bit count rounded up to whole 64-bit words. `None` if it is too large or degenerate.
pub(crate) fn sizing(capacity: u64, error: f64) -> Option<(u64, u32)> {
    if capacity == 0 || !(error > 0.0 && error < 1.0) {
        return None;
    }
    let bpe = -error.ln() / LN2_SQUARED;
    let bits = (capacity as f64 * bpe).floor();
    if !bits.is_finite() || bits > MAX_FILTER_BITS as f64 {
        return None;
    }
    let bits = (bits as u64).max(1).div_ceil(64) * 64;
    let hashes = (std::f64::consts::LN_2 * bpe).ceil();
    if !(1.0..=4096.0).contains(&hashes) {
        return None;
    }
    Some((bits, hashes as u32))
}

/// One plain Bloom filter of the chain.
#[derive(Clone, PartialEq)]
pub(crate) struct SubFilter {
    words: Box<[u64]>,
    nbits: u64,
    hashes: u32,
    capacity: u64,
    error: f64,
    items: u64,
}

impl SubFilter {
    fn new(capacity: u64, error: f64) -> Result<SubFilter, Error> {
        let (nbits, hashes) = sizing(capacity, error).ok_or(Error::BloomCannotCreate)?;
        let n = usize::try_from(nbits / 64).map_err(|_| Error::BloomCannotCreate)?;
        let mut words = Vec::new();
        words
            .try_reserve_exact(n)
            .map_err(|_| Error::BloomCannotCreate)?;
        words.resize(n, 0u64);
        Ok(SubFilter {
            words: words.into_boxed_slice(),
            nbits,
            hashes,
            capacity,
            error,
            items: 0,
        })
    }

    /// Stops at the first clear bit: a non-member (half the bits clear at capacity) usually
    /// costs one or two memory accesses. (Probing in branch-free groups of four, to overlap
    /// a member's loads, measured slower on misses and no faster on hits.)
    #[inline]
    fn contains(&self, h: &ItemHash) -> bool {
        h.probes(self.hashes, self.nbits).all(|bit| {
            self.words
                .get((bit >> 6) as usize)
                .is_some_and(|w| w & (1 << (bit & 63)) != 0)
        })
    }

    /// Sets the item's bits; true if any was clear (the item was not in this sub-filter).
    #[inline]
    fn insert(&mut self, h: &ItemHash) -> bool {
        let mut fresh = false;
        for bit in h.probes(self.hashes, self.nbits) {
            if let Some(w) = self.words.get_mut((bit >> 6) as usize) {
                let mask = 1 << (bit & 63);
                fresh |= *w & mask == 0;
                *w |= mask;
            }
        }
        fresh
    }

    fn heap(&self) -> usize {
        heap_size(self.words.len() * 8)
    }

    /// The persisted fields, for the RDB codec: (capacity, error rate, items, hash count,
    /// bit count, bit words).
    pub(crate) fn parts(&self) -> (u64, f64, u64, u32, u64, &[u64]) {
        (
            self.capacity,
            self.error,
            self.items,
            self.hashes,
            self.nbits,
            &self.words,
        )
    }

    /// Rebuilds a sub-filter from [`SubFilter::parts`]; `None` unless the fields are
    /// consistent (a bit count of whole words matching `words`, within the size limit, a
    /// hash count and an error rate in range, items within capacity).
    pub(crate) fn from_parts(
        capacity: u64,
        error: f64,
        items: u64,
        hashes: u32,
        nbits: u64,
        words: Box<[u64]>,
    ) -> Option<SubFilter> {
        let ok = nbits > 0
            && nbits <= MAX_FILTER_BITS
            && nbits == (words.len() as u64).checked_mul(64)?
            && (1..=4096).contains(&hashes)
            && capacity >= 1
            && error > 0.0
            && error < 1.0
            && items <= capacity;
        ok.then_some(SubFilter {
            words,
            nbits,
            hashes,
            capacity,
            error,
            items,
        })
    }

    #[cfg(test)]
    /// Its false-positive rate at capacity.
    pub(crate) fn error(&self) -> f64 {
        self.error
    }
}

/// A scalable Bloom filter (Almeida et al., as RedisBloom builds it): a chain of sub-filters.
///
/// The first is sized for the reserved capacity; when the newest one holds as many items as
/// it was sized for, the next one gets `capacity × expansion` and half the error rate. A
/// filter with expansion 0 (`NONSCALING`) never grows and refuses new items once full; having
/// no second sub-filter to pay for, it is sized at 0.9 × the requested rate
/// ([`NONSCALING_MARGIN`]).
///
/// Memory is tracked as it changes, so [`Bloom::charge`] is O(1).
#[derive(Clone, PartialEq)]
pub struct Bloom {
    filters: Vec<SubFilter>,
    /// 0: non-scaling.
    expansion: u32,
    items: u64,
    charge: usize,
}

impl std::fmt::Debug for Bloom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bloom")
            .field("filters", &self.filters.len())
            .field("capacity", &self.capacity())
            .field("items", &self.items)
            .field("expansion", &self.expansion)
            .finish()
    }
}

impl Bloom {
    /// A filter for `capacity` items at false-positive rate `error_rate`, growing by
    /// `expansion` (0: never grows, `NONSCALING`).
    ///
    /// # Errors
    /// [`Error::BloomErrorRateRange`] unless `0 < error_rate < 1`;
    /// [`Error::BloomCapacityRange`] unless `1 ≤ capacity ≤ 2³⁰`;
    /// [`Error::BloomExpansionRange`] unless `expansion ≤ 32768`;
    /// [`Error::BloomCannotCreate`] if the bit array would pass 4 GiB or cannot be allocated.
    pub fn new(error_rate: f64, capacity: u64, expansion: u32) -> Result<Bloom, Error> {
        if !(error_rate > 0.0 && error_rate < 1.0) {
            return Err(Error::BloomErrorRateRange);
        }
        if !(1..=super::MAX_CAPACITY).contains(&capacity) {
            return Err(Error::BloomCapacityRange);
        }
        if expansion > super::MAX_EXPANSION {
            return Err(Error::BloomExpansionRange);
        }
        let first = if expansion == 0 {
            let mut f = SubFilter::new(capacity, error_rate * NONSCALING_MARGIN)?;
            f.error = error_rate;
            f
        } else {
            SubFilter::new(capacity, error_rate * TIGHTENING)?
        };
        let mut b = Bloom {
            filters: Vec::with_capacity(1),
            expansion,
            items: 0,
            charge: 0,
        };
        b.filters.push(first);
        b.recharge();
        Ok(b)
    }

    /// A stand-in with no sub-filter, created on the write path before the parameters are
    /// applied ([`Bloom::is_placeholder`]); never stored as is.
    pub(crate) fn placeholder() -> Bloom {
        Bloom {
            filters: Vec::new(),
            expansion: 0,
            items: 0,
            charge: 0,
        }
    }

    pub(crate) fn is_placeholder(&self) -> bool {
        self.filters.is_empty()
    }

    fn recharge(&mut self) {
        self.charge = heap_size(std::mem::size_of::<Self>())
            + heap_size(self.filters.capacity() * std::mem::size_of::<SubFilter>())
            + self.filters.iter().map(SubFilter::heap).sum::<usize>();
    }

    /// Heap bytes owned by the filter, its box included. O(1).
    #[must_use]
    pub fn charge(&self) -> usize {
        self.charge
    }

    /// Adds `item`: true if it was not (probably) present before.
    ///
    /// # Errors
    /// [`Error::BloomFull`] for a non-scaling filter at capacity (nothing changes);
    /// [`Error::BloomCannotCreate`] if the next sub-filter cannot be built.
    pub fn add(&mut self, item: &[u8]) -> Result<bool, Error> {
        let h = ItemHash::of(item);
        let Some((last, older)) = self.filters.split_last_mut() else {
            return Err(Error::BloomCannotCreate);
        };
        if older.iter().rev().any(|f| f.contains(&h)) {
            return Ok(false);
        }
        if last.items < last.capacity {
            // Fused check-and-set: one pass over the newest sub-filter.
            if !last.insert(&h) {
                return Ok(false);
            }
            last.items += 1;
            self.items += 1;
            return Ok(true);
        }
        if last.contains(&h) {
            return Ok(false);
        }
        if self.expansion == 0 {
            return Err(Error::BloomFull);
        }
        let capacity = last
            .capacity
            .checked_mul(u64::from(self.expansion))
            .ok_or(Error::BloomCannotCreate)?;
        let mut next = SubFilter::new(capacity, last.error * TIGHTENING)?;
        next.insert(&h);
        next.items = 1;
        self.filters
            .try_reserve(1)
            .map_err(|_| Error::BloomCannotCreate)?;
        self.filters.push(next);
        self.items += 1;
        self.recharge();
        Ok(true)
    }

    /// True if `item` was (probably) added; never false for an added item.
    #[must_use]
    pub fn exists(&self, item: &[u8]) -> bool {
        let h = ItemHash::of(item);
        self.filters.iter().rev().any(|f| f.contains(&h))
    }

    /// Items added (counting only adds that reported true): `BF.CARD`.
    #[must_use]
    pub fn items(&self) -> u64 {
        self.items
    }

    /// Total capacity of the sub-filters: `BF.INFO`'s `Capacity`.
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.filters.iter().map(|f| f.capacity).sum()
    }

    /// Number of sub-filters.
    #[must_use]
    pub fn filters(&self) -> usize {
        self.filters.len()
    }

    /// The growth factor; `None` for a non-scaling filter.
    #[must_use]
    pub fn expansion(&self) -> Option<u32> {
        (self.expansion != 0).then_some(self.expansion)
    }

    /// Total bits over all sub-filters.
    #[must_use]
    pub fn bits(&self) -> u64 {
        self.filters.iter().map(|f| f.nbits).sum()
    }

    /// The persisted fields, for the RDB codec: (expansion, 0 for non-scaling; items added;
    /// the sub-filters, oldest first).
    pub(crate) fn parts(&self) -> (u32, u64, &[SubFilter]) {
        (self.expansion, self.items, &self.filters)
    }

    /// Rebuilds a filter from [`Bloom::parts`]; `None` unless it is consistent (at least one
    /// sub-filter, an expansion in range, an item count equal to the sub-filters' sum).
    pub(crate) fn from_parts(expansion: u32, items: u64, filters: Vec<SubFilter>) -> Option<Bloom> {
        let sum = filters
            .iter()
            .try_fold(0u64, |acc, f| acc.checked_add(f.items))?;
        if filters.is_empty() || expansion > super::MAX_EXPANSION || sum != items {
            return None;
        }
        // Grown as `new` and `add` grow it, so the charge (and `BF.INFO`'s size) is the same
        // as before a save and load.
        let mut grown = Vec::with_capacity(1);
        for f in filters {
            grown.push(f);
        }
        let mut b = Bloom {
            filters: grown,
            expansion,
            items,
            charge: 0,
        };
        b.recharge();
        Some(b)
    }

    #[cfg(test)]
    /// The sub-filters, oldest first (for diagnostics and tests).
    pub(crate) fn sub_filters(&self) -> &[SubFilter] {
        &self.filters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_matches_the_formulas() {
        // RedisBloom's BF.DEBUG figures for the same parameters (its first sub-filter of a
        // scaling chain is at half the rate): 0.0005 × 50000 -> 791040 bits, 11 hashes.
        assert_eq!(sizing(50_000, 0.0005), Some((791_040, 11)));
        assert_eq!(sizing(100, 0.0005), Some((1_600, 11)));
        assert_eq!(sizing(10, 0.005), Some((128, 8)));
        let (bits, k) = sizing(1_000_000, 0.01).unwrap_or((0, 0));
        assert_eq!(k, 7);
        let bpi = bits as f64 / 1e6;
        assert!((bpi - 9.585).abs() < 0.01, "{bpi}");
        assert_eq!(sizing(0, 0.01), None);
        assert_eq!(sizing(10, 0.0), None);
        assert_eq!(sizing(10, 1.0), None);
        assert_eq!(sizing(1 << 30, 1e-300), None);
    }

    #[test]
    fn no_false_negatives_and_scaling() {
        let mut b = Bloom::new(0.01, 10, 2).unwrap_or_else(|_| Bloom::placeholder());
        for i in 0..100u32 {
            let item = i.to_string();
            let _ = b.add(item.as_bytes());
        }
        for i in 0..100u32 {
            assert!(b.exists(i.to_string().as_bytes()), "{i}");
        }
        // capacities 10, 20, 40, 80: four sub-filters, rates halving
        assert_eq!(b.filters(), 4);
        assert_eq!(b.capacity(), 150);
        let rates: Vec<f64> = b.sub_filters().iter().map(|f| f.error()).collect();
        assert_eq!(rates, vec![0.005, 0.0025, 0.00125, 0.000625]);
        assert!(b.items() <= 100 && b.items() >= 95);
    }

    #[test]
    fn add_reports_novelty() {
        let mut b = Bloom::new(0.001, 1000, 2).unwrap_or_else(|_| Bloom::placeholder());
        assert_eq!(b.add(b"a"), Ok(true));
        assert_eq!(b.add(b"a"), Ok(false));
        assert_eq!(b.items(), 1);
        assert!(b.exists(b"a"));
        assert!(!b.exists(b"b"));
    }

    #[test]
    fn nonscaling_fills_up() {
        let mut b = Bloom::new(0.01, 3, 0).unwrap_or_else(|_| Bloom::placeholder());
        for i in 0..3u8 {
            assert_eq!(b.add(&[i]), Ok(true));
        }
        let before = b.clone();
        assert_eq!(b.add(b"extra"), Err(Error::BloomFull));
        assert_eq!(b, before);
        // an item already present still answers 0, as RedisBloom does
        assert_eq!(b.add(&[0]), Ok(false));
        assert_eq!(b.expansion(), None);
    }

    #[test]
    fn charge_tracks_growth() {
        let mut b = Bloom::new(0.01, 100, 2).unwrap_or_else(|_| Bloom::placeholder());
        let c0 = b.charge();
        assert!(c0 >= 120);
        for i in 0..150u32 {
            let _ = b.add(&i.to_le_bytes());
        }
        assert!(b.charge() > c0 + 200);
        let kept = b.charge();
        b.recharge();
        assert_eq!(kept, b.charge());
    }

    #[test]
    fn parameter_ranges() {
        assert_eq!(Bloom::new(0.0, 10, 2), Err(Error::BloomErrorRateRange));
        assert_eq!(Bloom::new(1.0, 10, 2), Err(Error::BloomErrorRateRange));
        assert_eq!(Bloom::new(f64::NAN, 10, 2), Err(Error::BloomErrorRateRange));
        assert_eq!(Bloom::new(0.1, 0, 2), Err(Error::BloomCapacityRange));
        assert_eq!(
            Bloom::new(0.1, (1 << 30) + 1, 2),
            Err(Error::BloomCapacityRange)
        );
        assert_eq!(Bloom::new(0.1, 10, 32769), Err(Error::BloomExpansionRange));
        assert_eq!(
            Bloom::new(1e-300, 1 << 30, 2),
            Err(Error::BloomCannotCreate)
        );
    }

    #[test]
    fn growth_stops_at_the_size_limit() {
        // What a 2^30-item sub-filter times a large expansion would need is refused by the
        // sizing, before any allocation.
        assert_eq!(sizing(1 << 40, 0.01), None);
        assert!(sizing(1 << 30, 0.01).is_some());
    }
}
