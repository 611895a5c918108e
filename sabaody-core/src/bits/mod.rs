//! Bitmaps and HyperLogLogs: two ways of using a string value, with the typed [`BitOps`] and
//! [`HllOps`] APIs.
//!
//! * `bitmap.rs`: population count, bit search, BITOP and BITFIELD integers on bytes, a `u64`
//!   word at a time.
//! * `hll.rs`: Redis's HyperLogLog representation (sparse and dense), byte for byte.
//! * `ops.rs`: the keyspace operations. A string is changed where it lies: a long one in its
//!   slab `Bytes` (no copy of the whole value per SETBIT or PFADD), a short one rewritten in
//!   the shard's arena. Integer-encoded values are seen as their decimal text, as in Redis.
//!
//! ```
//! use sabaody_core::{BitOps, Cache, HllOps, BitRange, BitUnit, BitfieldOp, BitfieldType, Overflow};
//!
//! let cache = Cache::builder().build();
//! assert!(!cache.setbit("bm", 7, true).unwrap());
//! assert!(cache.getbit("bm", 7).unwrap());
//! assert_eq!(cache.bitcount("bm", None).unwrap(), 1);
//! assert_eq!(cache.bitcount("bm", Some(BitRange { start: 0, end: 6, unit: BitUnit::Bit })).unwrap(), 0);
//! assert_eq!(cache.bitpos("bm", true, None, None, BitUnit::Byte).unwrap(), 7);
//! let u8_at_0 = BitfieldType::new(false, 8).unwrap();
//! let r = cache.bitfield("bm", &[BitfieldOp::IncrBy { ty: u8_at_0, offset: 0, incr: 300, overflow: Overflow::Sat }]).unwrap();
//! assert_eq!(r, vec![Some(255)]);
//!
//! assert!(cache.pfadd("visitors", &["ann", "bob", "ann"]).unwrap());
//! assert_eq!(cache.pfcount(&["visitors"]).unwrap(), 2);
//! ```

mod bitmap;
mod hll;
mod ops;
#[cfg(test)]
mod tests;

pub use bitmap::BitOp;

use crate::Error;
use crate::keyspace::Keyspace;

/// The unit of a `BITCOUNT`/`BITPOS` range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BitUnit {
    /// Offsets count bytes (the default).
    #[default]
    Byte,
    /// Offsets count bits (Redis 7.0's `BIT`).
    Bit,
}

/// A `BITCOUNT` range: inclusive, negative offsets count from the end, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    /// First unit.
    pub start: i64,
    /// Last unit (inclusive).
    pub end: i64,
    /// Bytes or bits.
    pub unit: BitUnit,
}

/// A `BITFIELD` integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitfieldType {
    signed: bool,
    bits: u8,
}

impl BitfieldType {
    /// `i{bits}` (`signed`, 1..=64) or `u{bits}` (1..=63); `None` outside those ranges.
    #[must_use]
    pub fn new(signed: bool, bits: u8) -> Option<BitfieldType> {
        let max = if signed { 64 } else { 63 };
        (1..=max)
            .contains(&bits)
            .then_some(BitfieldType { signed, bits })
    }

    /// Whether the type is signed.
    #[must_use]
    pub fn signed(self) -> bool {
        self.signed
    }

    /// Width in bits.
    #[must_use]
    pub fn bits(self) -> u8 {
        self.bits
    }
}

/// `BITFIELD`'s overflow policy for SET and INCRBY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Wrap around (two's complement), the default.
    #[default]
    Wrap,
    /// Saturate at the type's minimum or maximum.
    Sat,
    /// Do nothing and answer `None`.
    Fail,
}

/// One `BITFIELD` operation; `offset` is in bits (a `#n` offset is `n * bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitfieldOp {
    /// `GET type offset`.
    Get {
        /// Field type.
        ty: BitfieldType,
        /// Bit offset.
        offset: u64,
    },
    /// `SET type offset value`: answers the old value.
    Set {
        /// Field type.
        ty: BitfieldType,
        /// Bit offset.
        offset: u64,
        /// New value.
        value: i64,
        /// Policy when `value` does not fit.
        overflow: Overflow,
    },
    /// `INCRBY type offset increment`: answers the new value.
    IncrBy {
        /// Field type.
        ty: BitfieldType,
        /// Bit offset.
        offset: u64,
        /// Increment (may be negative).
        incr: i64,
        /// Policy when the result does not fit.
        overflow: Overflow,
    },
}

impl BitfieldOp {
    fn field(&self) -> (BitfieldType, u64) {
        match *self {
            BitfieldOp::Get { ty, offset }
            | BitfieldOp::Set { ty, offset, .. }
            | BitfieldOp::IncrBy { ty, offset, .. } => (ty, offset),
        }
    }
}

/// The largest bit offset a bitmap command accepts (the string may not pass 512 MiB).
pub const MAX_BIT_OFFSET: u64 = ops::MAX_BIT_OFFSET;

/// The bitmap commands on string values, for [`crate::Cache`] and [`crate::Transaction`].
pub trait BitOps: Keyspace {
    /// `SETBIT key offset 0|1`: the bit's previous value. Creates or zero-extends the string;
    /// keeps the TTL.
    ///
    /// # Errors
    /// [`Error::BitOffsetOutOfRange`] past [`MAX_BIT_OFFSET`]; [`Error::WrongType`].
    fn setbit(&self, key: impl AsRef<[u8]>, offset: u64, on: bool) -> Result<bool, Error> {
        ops::setbit(self, key.as_ref(), offset, on)
    }

    /// `GETBIT key offset` (false past the end or for a missing key).
    ///
    /// # Errors
    /// [`Error::BitOffsetOutOfRange`]; [`Error::WrongType`].
    fn getbit(&self, key: impl AsRef<[u8]>, offset: u64) -> Result<bool, Error> {
        ops::getbit(self, key.as_ref(), offset)
    }

    /// `BITCOUNT key [start end [BYTE|BIT]]`: set bits in the whole string or the range.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn bitcount(&self, key: impl AsRef<[u8]>, range: Option<BitRange>) -> Result<u64, Error> {
        ops::bitcount(self, key.as_ref(), range)
    }

    /// `BITPOS key bit [start [end [BYTE|BIT]]]`: the first bit equal to `bit`, or -1. Without
    /// `end`, a search for 0 treats the string as zero-padded on the right (as Redis does);
    /// a missing key is all zeros.
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn bitpos(
        &self,
        key: impl AsRef<[u8]>,
        bit: bool,
        start: Option<i64>,
        end: Option<i64>,
        unit: BitUnit,
    ) -> Result<i64, Error> {
        ops::bitpos(self, key.as_ref(), bit, start, end, unit)
    }

    /// `BITOP op dest src [src ...]`: stores the result in `dest` (clearing its TTL; deleting
    /// it when the result is empty) and returns its length.
    ///
    /// # Errors
    /// [`Error::BitopNotSingleSource`] for `NOT` with other than one source;
    /// [`Error::WrongType`] if a source is not a string.
    fn bitop<K: AsRef<[u8]>>(
        &self,
        op: BitOp,
        dest: impl AsRef<[u8]>,
        srcs: &[K],
    ) -> Result<usize, Error> {
        ops::bitop(self, op, dest.as_ref(), srcs)
    }

    /// `BITFIELD key ...`: one answer per operation (`None` for a write stopped by
    /// [`Overflow::Fail`]). With any write, the string is created or zero-extended to hold the
    /// farthest written bit, even if the writes fail.
    ///
    /// # Errors
    /// [`Error::BitOffsetOutOfRange`]; [`Error::WrongType`].
    fn bitfield(
        &self,
        key: impl AsRef<[u8]>,
        ops: &[BitfieldOp],
    ) -> Result<Vec<Option<i64>>, Error> {
        ops::bitfield(self, key.as_ref(), ops)
    }

    /// `BITFIELD_RO key GET ...`: reads only (`Set`/`IncrBy` operations are answered as
    /// `Get`s of their field).
    ///
    /// # Errors
    /// [`Error::BitOffsetOutOfRange`]; [`Error::WrongType`].
    fn bitfield_ro(
        &self,
        key: impl AsRef<[u8]>,
        ops: &[BitfieldOp],
    ) -> Result<Vec<Option<i64>>, Error> {
        ops::bitfield_ro(self, key.as_ref(), ops)
    }
}

impl<K: Keyspace + ?Sized> BitOps for K {}

/// The HyperLogLog commands, for [`crate::Cache`] and [`crate::Transaction`]. Values are
/// strings in Redis's own HLL format, so `GET`/`SET` move them between Redis and Sabaody.
pub trait HllOps: Keyspace {
    /// `PFADD key [element ...]`: true if the estimate may have changed (or the key was
    /// created). Keeps the TTL.
    ///
    /// # Errors
    /// [`Error::NotHyperLogLog`] for a string that is not an HLL; [`Error::WrongType`];
    /// [`Error::CorruptHyperLogLog`].
    fn pfadd<E: AsRef<[u8]>>(&self, key: impl AsRef<[u8]>, elements: &[E]) -> Result<bool, Error> {
        ops::pfadd(self, key.as_ref(), elements)
    }

    /// `PFCOUNT key [key ...]`: the estimated number of distinct elements (of the union for
    /// several keys, which are left unchanged). For one key the count is cached in the value,
    /// as Redis does.
    ///
    /// # Errors
    /// [`Error::NotHyperLogLog`]; [`Error::WrongType`]; [`Error::CorruptHyperLogLog`].
    fn pfcount<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<u64, Error> {
        ops::pfcount(self, keys)
    }

    /// `PFMERGE dest [src ...]`: stores the union of `dest` and the sources in `dest`.
    ///
    /// # Errors
    /// [`Error::NotHyperLogLog`]; [`Error::WrongType`]; [`Error::CorruptHyperLogLog`].
    fn pfmerge<K: AsRef<[u8]>>(&self, dest: impl AsRef<[u8]>, srcs: &[K]) -> Result<(), Error> {
        ops::pfmerge(self, dest.as_ref(), srcs)
    }
}

impl<K: Keyspace + ?Sized> HllOps for K {}
