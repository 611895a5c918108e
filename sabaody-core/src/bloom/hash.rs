//! The one item hash shared by the Bloom filter and the Count-Min sketch.
//!
//! Each item is hashed once with XXH3-64 (the `xxhash-rust` crate, seed 0) into `a`; the
//! step `b` is `a` put through SplitMix64's bijective finalizer (made odd). The pair drives
//! double hashing (Kirsch & Mitzenmacher): probe `i` is `a + i·b (mod 2⁶⁴)`, mapped onto
//! `0..m` by a multiply-shift range reduction (`(x · m) >> 64`, Lemire's "fastrange") instead
//! of a division. Two items share every probe only if their 64-bit hashes are equal.
//!
//! Why XXH3 and why a crate: filter bits and sketch counters outlive the process (snapshots,
//! replicas), so the hash must give the same answer forever and on every platform — XXH3 is a
//! published, frozen algorithm with a reference test suite, which `foldhash`/`ahash`
//! explicitly are not (their output may change between versions and is seeded per process).
//! It passes SMHasher, and for the short keys caches see it costs a few nanoseconds (the
//! 64-bit variant measured a little cheaper per lookup than the 128-bit one whose halves were
//! used at first). A hand-written equivalent would be several hundred lines of vectors to
//! verify; the crate is pure Rust, dependency-free and widely used.

use xxhash_rust::xxh3::xxh3_64;

/// An item's hash `a` and double-hashing step `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemHash {
    a: u64,
    b: u64,
}

/// SplitMix64's finalizer: a bijection on u64 with full avalanche.
#[inline]
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[inline]
fn reduce(x: u64, m: u64) -> u64 {
    ((u128::from(x) * u128::from(m)) >> 64) as u64
}

impl ItemHash {
    /// Hashes `item` once.
    #[inline]
    pub(crate) fn of(item: &[u8]) -> ItemHash {
        let a = xxh3_64(item);
        // An even step would visit only half the residues of a power-of-two range.
        ItemHash { a, b: mix(a) | 1 }
    }

    /// The first `k` probes, each reduced onto `0..m` (`m > 0`).
    #[inline]
    pub(crate) fn probes(&self, k: u32, m: u64) -> impl Iterator<Item = u64> {
        let (mut x, b) = (self.a, self.b);
        (0..k).map(move |_| {
            let p = reduce(x, m);
            x = x.wrapping_add(b);
            p
        })
    }

    /// Probe `i` put through [`mix`] before the range reduction. Plain double hashing makes
    /// two items whose `(a, b)` pairs are merely *close* collide on every probe (probability
    /// ~1/m² per pair, whatever the probe count): harmless for a Bloom filter's rate, but it
    /// couples a Count-Min sketch's rows, whose error bound needs them independent. Mixed,
    /// distinct inputs give unrelated slots.
    #[inline]
    pub(crate) fn mixed_probe(&self, i: u64, m: u64) -> u64 {
        reduce(mix(self.a.wrapping_add(i.wrapping_mul(self.b))), m)
    }

    /// Probe `i`, reduced onto `0..m` (`m > 0`).
    #[cfg(test)]
    pub(crate) fn probe(&self, i: u64, m: u64) -> u64 {
        reduce(self.a.wrapping_add(i.wrapping_mul(self.b)), m)
    }
}

#[cfg(test)]
mod tests {
    use super::ItemHash;

    #[test]
    fn stable_output() {
        // Pinned: a change here silently breaks every persisted filter and sketch.
        let h = ItemHash::of(b"sabaody");
        let again = ItemHash::of(b"sabaody");
        assert_eq!(h, again);
        assert_eq!(xxhash_rust::xxh3::xxh3_64(b""), 0x2d06_8005_38d3_94c2);
        let probes: Vec<u64> = h.probes(3, 1000).collect();
        let by_index: Vec<u64> = (0..3).map(|i| h.probe(i, 1000)).collect();
        assert_eq!(probes, by_index);
    }

    #[test]
    fn probes_stay_in_range() {
        for m in [1u64, 2, 3, 64, 1000, u64::MAX] {
            let h = ItemHash::of(b"x");
            for i in 0..50 {
                assert!(h.probe(i, m) < m);
            }
        }
    }

    #[test]
    fn mixed_probes_decouple_close_pairs() {
        // Two hashes whose halves differ by one: plain probes agree almost everywhere,
        // mixed ones do not.
        let x = ItemHash {
            a: 1 << 40,
            b: (1 << 50) | 1,
        };
        let y = ItemHash {
            a: (1 << 40) + 1,
            b: (1 << 50) | 3,
        };
        let plain = (0..7)
            .filter(|&i| x.probe(i, 2000) == y.probe(i, 2000))
            .count();
        let mixed = (0..7)
            .filter(|&i| x.mixed_probe(i, 2000) == y.mixed_probe(i, 2000))
            .count();
        assert_eq!(plain, 7);
        assert!(mixed <= 1, "{mixed}");
        for i in 0..50 {
            assert!(x.mixed_probe(i, 7) < 7);
        }
    }

    #[test]
    fn probes_spread() {
        // 10k items × 7 probes into 1024 slots: every slot is hit (expected ~68 each).
        let mut hits = vec![0u32; 1024];
        for n in 0..10_000u32 {
            let h = ItemHash::of(&n.to_le_bytes());
            for i in 0..7 {
                hits[h.probe(i, 1024) as usize] += 1;
            }
        }
        let min = hits.iter().min().copied().unwrap_or(0);
        let max = hits.iter().max().copied().unwrap_or(0);
        assert!(min > 30 && max < 120, "min {min} max {max}");
    }
}
