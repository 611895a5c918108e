//! A scalable Bloom filter: the value type and the typed [`BloomOps`] API (RedisBloom's
//! `BF.*` commands).
//!
//! # Structure
//!
//! A filter is a chain of plain Bloom filters ([`Bloom`]). The first sub-filter is sized for the
//! reserved capacity `n` at half the requested error rate `p`; when the newest sub-filter
//! holds as many items as it was sized for, a new one is appended with `capacity × expansion`
//! and half the previous error rate. A lookup asks every sub-filter, so the compound
//! false-positive rate is at most `p/2 + p/4 + p/8 + … < p` however far the filter grows
//! (Almeida et al., "Scalable Bloom Filters", with RedisBloom's tightening ratio 0.5). A
//! `NONSCALING` filter (expansion 0) never grows, so its single sub-filter is sized at `0.9·p`
//! (at exactly `p` the formulas below give an expected rate a little above `p` once the hash
//! count is rounded up; the 10% margin costs 2.2% more bits at 1%: 9.80 bits per item instead
//! of the optimum 9.585); once it holds `n` items it refuses new ones
//! (`ERR non scaling filter is full`).
//!
//! # Sizing
//!
//! For `n` items at rate `p` the standard formulas give the optimum:
//!
//! ```text
//! bits per item  b = -ln(p) / ln(2)²        (p = 1%: 9.585, p = 0.1%: 14.38)
//! bits           m = ⌊n · b⌋ rounded up to a multiple of 64
//! hash functions k = ⌈ln(2) · b⌉ = ⌈-log₂ p⌉  (p = 1%: 7, p = 0.1%: 10)
//! ```
//!
//! the same figures RedisBloom computes for a sub-filter's rate, so a scaling
//! `BF.RESERVE k 0.001 50000` costs the same bits here and there (791,040).
//!
//! # Hashing
//!
//! Each item is hashed once, with XXH3-64 (`a`, and a step `b` remixed from it), for double
//! hashing (`a + i·b`), and each probe is mapped onto the bit array by a multiply-shift instead of a
//! division. Every sub-filter uses the same hash, so an add or a lookup hashes once however
//! many sub-filters there are. Why XXH3: see `hash.rs` (a frozen, published algorithm, as
//! persisted bits need; fast on short keys; SMHasher-clean).
//!
//! # Replies
//!
//! `BF.ADD` answers whether the item was new: an item already reported by any sub-filter
//! (a true member or a false positive) is not added again and does not count in `BF.CARD`,
//! as in RedisBloom.

mod filter;
pub(crate) mod hash;

pub use filter::Bloom;
pub(crate) use filter::SubFilter;

use crate::Error;
use crate::keyspace::Keyspace;
use crate::ops::{modify, read_value};
use crate::value::{KeyType, Value};

/// RedisBloom's default error rate for filters created by `BF.ADD`/`BF.MADD`/`BF.INSERT`.
pub const DEFAULT_ERROR_RATE: f64 = 0.01;
/// RedisBloom's default initial capacity.
pub const DEFAULT_CAPACITY: u64 = 100;
/// RedisBloom's default expansion.
pub const DEFAULT_EXPANSION: u32 = 2;
/// The largest initial capacity RedisBloom accepts (2³⁰).
pub const MAX_CAPACITY: u64 = 1 << 30;
/// The largest expansion RedisBloom accepts.
pub const MAX_EXPANSION: u32 = 32768;

/// How a new filter is built (`BF.RESERVE`'s and `BF.INSERT`'s parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BloomConfig {
    /// Target false-positive rate, `0 < error_rate < 1`.
    pub error_rate: f64,
    /// Items the first sub-filter is sized for, `1..=2³⁰`.
    pub capacity: u64,
    /// Growth factor of each new sub-filter, `0..=32768`; 0 means `NONSCALING`.
    pub expansion: u32,
}

impl BloomConfig {
    /// The largest initial capacity RedisBloom accepts (2³⁰).
    pub const MAX_CAPACITY: u64 = MAX_CAPACITY;
    /// The largest expansion RedisBloom accepts.
    pub const MAX_EXPANSION: u32 = MAX_EXPANSION;
}

impl Default for BloomConfig {
    /// RedisBloom's defaults: 1% error, 100 items, expansion 2.
    fn default() -> Self {
        BloomConfig {
            error_rate: DEFAULT_ERROR_RATE,
            capacity: DEFAULT_CAPACITY,
            expansion: DEFAULT_EXPANSION,
        }
    }
}

/// What `BF.INFO` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BloomInfo {
    /// Total capacity of the sub-filters.
    pub capacity: u64,
    /// Bytes the filter occupies (the memory charged to the key for its value).
    pub size: u64,
    /// Number of sub-filters.
    pub filters: u64,
    /// Items added (`BF.CARD`).
    pub items: u64,
    /// Growth factor; `None` for a non-scaling filter.
    pub expansion: Option<u32>,
}

fn placeholder() -> Value {
    Value::Bloom(Box::new(Bloom::placeholder()))
}

/// Checks a configuration's ranges, as RedisBloom does before it opens the key.
fn validate(c: &BloomConfig) -> Result<(), Error> {
    if !(c.error_rate > 0.0 && c.error_rate < 1.0) {
        return Err(Error::BloomErrorRateRange);
    }
    if !(1..=MAX_CAPACITY).contains(&c.capacity) {
        return Err(Error::BloomCapacityRange);
    }
    if c.expansion > MAX_EXPANSION {
        return Err(Error::BloomExpansionRange);
    }
    Ok(())
}

/// Runs `f(filter, created)` on the filter at `key` (write lock), building it from `config`
/// first if the key is missing and `config` is given (`created` is then true). `Ok(None)`:
/// missing and `config` is `None`. Nothing is stored if `f` fails on a new filter. A call
/// that reaches the filter and succeeds counts one change, as RedisBloom replicates each
/// such command once (`RedisModule_ReplicateVerbatim`), whatever it added.
fn with_bloom<K: Keyspace + ?Sized, T>(
    ks: &K,
    key: &[u8],
    config: Option<&BloomConfig>,
    f: impl FnOnce(&mut Bloom, bool) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    let create: Option<fn() -> Value> = config.map(|_| placeholder as fn() -> Value);
    modify(ks, key, KeyType::Bloom, create, |v| {
        let Value::Bloom(b) = v else {
            return Err(Error::WrongType);
        };
        let created = b.is_placeholder();
        if created {
            let c = config.copied().unwrap_or_default();
            **b = Bloom::new(c.error_rate, c.capacity, c.expansion)?;
        }
        f(b, created).map(|t| (t, 1))
    })
}

/// Adds items until one fails (that error ends the list, as RedisBloom's reply does).
fn add_all<I: AsRef<[u8]>>(b: &mut Bloom, items: &[I]) -> Vec<Result<bool, Error>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let r = b.add(item.as_ref());
        let stop = r.is_err();
        out.push(r);
        if stop {
            break;
        }
    }
    out
}

/// The Bloom-filter commands, for [`crate::Cache`] and [`crate::Transaction`].
///
/// ```
/// use sabaody_core::{BloomConfig, BloomOps, Cache};
///
/// let cache = Cache::builder().build();
/// cache.bf_reserve("seen", &BloomConfig { error_rate: 0.001, capacity: 10_000, expansion: 2 })?;
/// assert!(cache.bf_add("seen", "alice")?);
/// assert!(!cache.bf_add("seen", "alice")?);
/// assert!(cache.bf_exists("seen", "alice")?);
/// assert!(!cache.bf_exists("seen", "bob")?);
/// assert_eq!(cache.bf_card("seen")?, 1);
/// # Ok::<(), sabaody_core::Error>(())
/// ```
pub trait BloomOps: Keyspace {
    /// `BF.RESERVE key error_rate capacity [EXPANSION n] [NONSCALING]`: creates an empty filter.
    ///
    /// # Errors
    /// The range errors of [`Bloom::new`] (checked first); [`Error::BloomItemExists`] if the
    /// key holds a filter, [`Error::WrongType`] if it holds another type.
    fn bf_reserve(&self, key: impl AsRef<[u8]>, config: &BloomConfig) -> Result<(), Error> {
        validate(config)?;
        with_bloom(self, key.as_ref(), Some(config), |_, created| {
            if created {
                Ok(())
            } else {
                Err(Error::BloomItemExists)
            }
        })?
        .ok_or(Error::BloomNotFound)
    }

    /// `BF.ADD key item`: adds `item`, creating the key with the defaults (1%, 100 items,
    /// expansion 2) if it is missing. True if the item was new.
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::BloomFull`] for a full non-scaling filter;
    /// [`Error::BloomCannotCreate`] if a needed sub-filter cannot be built.
    fn bf_add(&self, key: impl AsRef<[u8]>, item: impl AsRef<[u8]>) -> Result<bool, Error> {
        let config = BloomConfig::default();
        // A full filter's error is this command's answer, but RedisBloom still counts the
        // call as a change: the error travels inside the closure's success.
        with_bloom(self, key.as_ref(), Some(&config), |b, _| {
            Ok(b.add(item.as_ref()))
        })?
        .ok_or(Error::BloomNotFound)?
    }

    /// `BF.MADD key item [item ...]`: adds each item (creating the key with the defaults).
    /// One answer per item; an item that fails (a full non-scaling filter) ends the list with
    /// its error, and the items after it are not added.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn bf_madd<I: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        items: &[I],
    ) -> Result<Vec<Result<bool, Error>>, Error> {
        let config = BloomConfig::default();
        with_bloom(self, key.as_ref(), Some(&config), |b, _| {
            Ok(add_all(b, items))
        })?
        .ok_or(Error::BloomNotFound)
    }

    /// `BF.INSERT key [CAPACITY n] [ERROR p] [EXPANSION e] [NOCREATE] [NONSCALING] ITEMS ...`:
    /// adds the items, creating the key from `config` if it is missing; `config: None` is
    /// `NOCREATE`. An existing filter keeps its own parameters. Answers as
    /// [`BloomOps::bf_madd`].
    ///
    /// # Errors
    /// [`Error::BloomNotFound`] with `None` and a missing key; [`Error::WrongType`]; the
    /// range errors of [`Bloom::new`] for a bad `config` (checked even if the key exists).
    fn bf_insert<I: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        items: &[I],
        config: Option<&BloomConfig>,
    ) -> Result<Vec<Result<bool, Error>>, Error> {
        if let Some(c) = config {
            validate(c)?;
        }
        with_bloom(self, key.as_ref(), config, |b, _| Ok(add_all(b, items)))?
            .ok_or(Error::BloomNotFound)
    }

    /// `BF.EXISTS key item`: true if `item` was (probably) added. False for a missing key.
    ///
    /// # Errors
    /// [`Error::WrongType`] (the server answers 0 instead, as RedisBloom does).
    fn bf_exists(&self, key: impl AsRef<[u8]>, item: impl AsRef<[u8]>) -> Result<bool, Error> {
        Ok(read_value(self, key.as_ref(), KeyType::Bloom, |v| match v {
            Value::Bloom(b) => b.exists(item.as_ref()),
            _ => false,
        })?
        .unwrap_or(false))
    }

    /// `BF.MEXISTS key item [item ...]`: [`BloomOps::bf_exists`] for each item.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn bf_mexists<I: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        items: &[I],
    ) -> Result<Vec<bool>, Error> {
        Ok(read_value(self, key.as_ref(), KeyType::Bloom, |v| match v {
            Value::Bloom(b) => items.iter().map(|i| b.exists(i.as_ref())).collect(),
            _ => vec![false; items.len()],
        })?
        .unwrap_or_else(|| vec![false; items.len()]))
    }

    /// `BF.INFO key`: the filter's figures, `None` if the key is missing.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn bf_info(&self, key: impl AsRef<[u8]>) -> Result<Option<BloomInfo>, Error> {
        read_value(self, key.as_ref(), KeyType::Bloom, |v| match v {
            Value::Bloom(b) => Some(BloomInfo {
                capacity: b.capacity(),
                size: b.charge() as u64,
                filters: b.filters() as u64,
                items: b.items(),
                expansion: b.expansion(),
            }),
            _ => None,
        })
        .map(Option::flatten)
    }

    /// `BF.CARD key`: items added; 0 for a missing key.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn bf_card(&self, key: impl AsRef<[u8]>) -> Result<u64, Error> {
        Ok(read_value(self, key.as_ref(), KeyType::Bloom, |v| match v {
            Value::Bloom(b) => b.items(),
            _ => 0,
        })?
        .unwrap_or(0))
    }
}

impl<K: Keyspace + ?Sized> BloomOps for K {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cache;

    fn cfg(error_rate: f64, capacity: u64, expansion: u32) -> BloomConfig {
        BloomConfig {
            error_rate,
            capacity,
            expansion,
        }
    }

    #[test]
    fn reserve_then_add_and_exists() {
        let c = Cache::builder().build();
        assert_eq!(c.bf_reserve("b", &cfg(0.01, 1000, 2)), Ok(()));
        assert_eq!(
            c.bf_reserve("b", &cfg(0.01, 1000, 2)),
            Err(Error::BloomItemExists)
        );
        assert_eq!(c.key_type("b"), Some(KeyType::Bloom));
        assert_eq!(c.bf_add("b", "x"), Ok(true));
        assert_eq!(c.bf_add("b", "x"), Ok(false));
        assert_eq!(c.bf_exists("b", "x"), Ok(true));
        assert_eq!(c.bf_exists("b", "y"), Ok(false));
        assert_eq!(c.bf_exists("missing", "y"), Ok(false));
        assert_eq!(c.bf_mexists("b", &["x", "y"]), Ok(vec![true, false]));
        assert_eq!(c.bf_mexists("missing", &["x"]), Ok(vec![false]));
        assert_eq!(c.bf_card("b"), Ok(1));
        assert_eq!(c.bf_card("missing"), Ok(0));
    }

    #[test]
    fn reserve_validates_before_the_key() {
        let c = Cache::builder().build();
        c.set("s", "v").ok();
        assert_eq!(
            c.bf_reserve("s", &cfg(0.0, 10, 2)),
            Err(Error::BloomErrorRateRange)
        );
        assert_eq!(
            c.bf_reserve("s", &cfg(0.1, 0, 2)),
            Err(Error::BloomCapacityRange)
        );
        assert_eq!(
            c.bf_reserve("s", &cfg(0.1, 10, 40000)),
            Err(Error::BloomExpansionRange)
        );
        assert_eq!(c.bf_reserve("s", &cfg(0.1, 10, 2)), Err(Error::WrongType));
        assert_eq!(c.bf_add("s", "x"), Err(Error::WrongType));
        assert_eq!(c.bf_exists("s", "x"), Err(Error::WrongType));
        assert_eq!(c.bf_card("s"), Err(Error::WrongType));
        assert_eq!(c.bf_info("s"), Err(Error::WrongType));
        // nothing was created by the failed reservations
        assert_eq!(c.bf_info("nope"), Ok(None));
        assert_eq!(
            c.bf_reserve("nope", &cfg(1e-300, 1 << 30, 2)),
            Err(Error::BloomCannotCreate)
        );
        assert_eq!(c.key_type("nope"), None);
    }

    #[test]
    fn add_creates_with_defaults() {
        let c = Cache::builder().build();
        assert_eq!(c.bf_add("d", "a"), Ok(true));
        let info = c.bf_info("d").ok().flatten();
        let info = info.unwrap_or(BloomInfo {
            capacity: 0,
            size: 0,
            filters: 0,
            items: 0,
            expansion: None,
        });
        assert_eq!(info.capacity, 100);
        assert_eq!(info.filters, 1);
        assert_eq!(info.items, 1);
        assert_eq!(info.expansion, Some(2));
        assert!(info.size > 100);
        // 150 distinct items: a second sub-filter of 200
        let items: Vec<String> = (0..150).map(|i| format!("i{i}")).collect();
        let r = c.bf_madd("d", &items).unwrap_or_default();
        assert_eq!(r.len(), 150);
        let info = c
            .bf_info("d")
            .ok()
            .flatten()
            .map(|i| (i.capacity, i.filters));
        assert_eq!(info, Some((300, 2)));
    }

    #[test]
    fn nonscaling_full_stops_madd() {
        let c = Cache::builder().build();
        assert_eq!(c.bf_reserve("n", &cfg(0.01, 2, 0)), Ok(()));
        let r = c.bf_madd("n", &["a", "b", "c", "d"]);
        assert_eq!(r, Ok(vec![Ok(true), Ok(true), Err(Error::BloomFull)]));
        assert_eq!(c.bf_add("n", "z"), Err(Error::BloomFull));
        assert_eq!(c.bf_add("n", "a"), Ok(false));
        assert_eq!(c.bf_card("n"), Ok(2));
        assert_eq!(
            c.bf_info("n").ok().flatten().map(|i| i.expansion),
            Some(None)
        );
    }

    #[test]
    fn insert_options() {
        let c = Cache::builder().build();
        assert_eq!(c.bf_insert("i", &["a"], None), Err(Error::BloomNotFound));
        assert_eq!(c.key_type("i"), None);
        let r = c.bf_insert("i", &["a", "b", "a"], Some(&cfg(0.001, 50_000, 4)));
        assert_eq!(r, Ok(vec![Ok(true), Ok(true), Ok(false)]));
        // an existing filter keeps its parameters
        let r = c.bf_insert("i", &["c"], Some(&cfg(0.1, 7, 1)));
        assert_eq!(r, Ok(vec![Ok(true)]));
        let info = c
            .bf_info("i")
            .ok()
            .flatten()
            .map(|i| (i.capacity, i.expansion));
        assert_eq!(info, Some((50_000, Some(4))));
        assert_eq!(c.bf_insert("i", &["d"], None), Ok(vec![Ok(true)]));
        assert_eq!(
            c.bf_insert("j", &["d"], Some(&cfg(2.0, 7, 1))),
            Err(Error::BloomErrorRateRange)
        );
    }

    #[test]
    fn memory_is_charged_to_the_key() {
        let c = Cache::builder().build();
        let before = c.used_memory();
        assert_eq!(c.bf_reserve("m", &cfg(0.01, 100_000, 2)), Ok(()));
        let after = c.used_memory();
        // 100k items at 0.5%: ~11 bits each
        assert!(after - before > 130_000, "{}", after - before);
        let usage = c.memory_usage("m").unwrap_or(0);
        assert!(usage > 130_000);
        let size = c.bf_info("m").ok().flatten().map_or(0, |i| i.size);
        assert!(size > 130_000 && (size as usize) < usage);
        // growth is charged as it happens
        let items: Vec<String> = (0..120_000).map(|i| i.to_string()).collect();
        let _ = c.bf_madd("m", &items);
        assert!(c.used_memory() > after + 200_000);
        c.del(&["m"]);
        assert_eq!(c.used_memory(), before);
    }

    #[test]
    fn works_inside_a_transaction() {
        let c = Cache::builder().build();
        let r = c.transaction(|tx| {
            let _ = tx.bf_add("t", "x");
            tx.bf_exists("t", "x")
        });
        assert_eq!(r, Ok(true));
    }
}
