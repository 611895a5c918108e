//! The error type of every fallible keyspace operation.

/// Why a keyspace operation failed.
///
/// `Display` is Redis's error text **without** its code prefix; [`Error::code`] gives the prefix
/// (`ERR`, `WRONGTYPE`, `OOM`), so a server replies `-{code} {display}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key holds a value of another type.
    /// Redis: `WRONGTYPE Operation against a key holding the wrong kind of value`.
    #[error("Operation against a key holding the wrong kind of value")]
    WrongType,
    /// The stored value (or an argument) is not an `i64` in Redis's strict syntax.
    /// Redis: `ERR value is not an integer or out of range`.
    #[error("value is not an integer or out of range")]
    NotInteger,
    /// The stored value (or an argument) is not a float.
    /// Redis: `ERR value is not a valid float`.
    #[error("value is not a valid float")]
    NotFloat,
    /// An integer increment or decrement would leave the `i64` range.
    /// Redis: `ERR increment or decrement would overflow`.
    #[error("increment or decrement would overflow")]
    Overflow,
    /// `DECRBY key -9223372036854775808`: the decrement itself cannot be negated.
    /// Redis: `ERR decrement would overflow`.
    #[error("decrement would overflow")]
    DecrementOverflow,
    /// A float increment would produce NaN or an infinity.
    /// Redis: `ERR increment would produce NaN or Infinity`.
    #[error("increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// The key does not exist (RENAME of a missing key).
    /// Redis: `ERR no such key`.
    #[error("no such key")]
    NoSuchKey,
    /// An expire time that is not positive (SET/SETEX/GETEX) or overflows.
    /// The field is the lower-case command name. Redis: `ERR invalid expire time in 'set' command`.
    #[error("invalid expire time in '{0}' command")]
    InvalidExpireTime(&'static str),
    /// A negative offset (SETRANGE). Redis: `ERR offset is out of range`.
    #[error("offset is out of range")]
    OutOfRange,
    /// A database index outside `0..databases`. Redis: `ERR DB index is out of range`.
    #[error("DB index is out of range")]
    DbIndexOutOfRange,
    /// A string would grow past 512 MiB (SETRANGE, APPEND).
    /// Redis: `ERR string exceeds maximum allowed size (proto-max-bulk-len)`.
    #[error("string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// COPY with the same source and destination.
    /// Redis: `ERR source and destination objects are the same`.
    #[error("source and destination objects are the same")]
    SameObject,
    /// A sorted-set increment produced NaN (`inf` plus `-inf`).
    /// Redis: `ERR resulting score is not a number (NaN)`.
    #[error("resulting score is not a number (NaN)")]
    ScoreNan,
    /// ZADD with both NX and XX.
    /// Redis: `ERR XX and NX options at the same time are not compatible`.
    #[error("XX and NX options at the same time are not compatible")]
    ZAddNxXx,
    /// ZADD with GT and LT, or either with NX.
    /// Redis: `ERR GT, LT, and/or NX options at the same time are not compatible`.
    #[error("GT, LT, and/or NX options at the same time are not compatible")]
    ZAddGtLtNx,
    /// A bit offset past the 512 MiB string limit (SETBIT, GETBIT, BITFIELD).
    /// Redis: `ERR bit offset is not an integer or out of range`.
    #[error("bit offset is not an integer or out of range")]
    BitOffsetOutOfRange,
    /// `BITOP NOT` with other than one source key.
    /// Redis: `ERR BITOP NOT must be called with a single source key.`
    #[error("BITOP NOT must be called with a single source key.")]
    BitopNotSingleSource,
    /// A HyperLogLog command on a string that is not a HyperLogLog.
    /// Redis: `WRONGTYPE Key is not a valid HyperLogLog string value.`
    #[error("Key is not a valid HyperLogLog string value.")]
    NotHyperLogLog,
    /// A HyperLogLog whose sparse encoding does not decode to 16384 registers.
    /// Redis: `INVALIDOBJ Corrupted HLL object detected`.
    #[error("Corrupted HLL object detected")]
    CorruptHyperLogLog,
    /// The memory bound forbids the write.
    /// Redis: `OOM command not allowed when used memory > 'maxmemory'.`
    #[error("command not allowed when used memory > 'maxmemory'.")]
    OutOfMemory,
    /// `OBJECT FREQ` while the policy is not an LFU one.
    #[error(
        "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    )]
    LfuNotSelected,
    /// `OBJECT IDLETIME` while an LFU policy is selected.
    #[error(
        "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    )]
    LfuSelected,
    /// An index outside the list (LSET). Redis: `ERR index out of range`.
    #[error("index out of range")]
    IndexOutOfRange,
    /// HINCRBY on a field whose value is not an integer.
    /// Redis: `ERR hash value is not an integer`.
    #[error("hash value is not an integer")]
    HashNotInteger,
    /// HINCRBYFLOAT on a field whose value is not a float.
    /// Redis: `ERR hash value is not a float`.
    #[error("hash value is not a float")]
    HashNotFloat,
    /// A float argument that is NaN or infinite (HINCRBYFLOAT's increment).
    /// Redis: `ERR value is NaN or Infinity`.
    #[error("value is NaN or Infinity")]
    ValueNanOrInfinity,
    /// `BF.RESERVE` on a key that already holds a filter. RedisBloom: `ERR item exists`.
    #[error("item exists")]
    BloomItemExists,
    /// A Bloom command that needs an existing filter (`BF.INFO`, `BF.INSERT NOCREATE`).
    /// RedisBloom: `ERR not found`.
    #[error("not found")]
    BloomNotFound,
    /// A non-scaling filter at capacity refuses a new item.
    /// RedisBloom: `ERR non scaling filter is full`.
    #[error("non scaling filter is full")]
    BloomFull,
    /// A (sub-)filter too large to build (more than 4 GiB of bits, or the allocation failed).
    /// RedisBloom: `ERR could not create filter`.
    #[error("could not create filter")]
    BloomCannotCreate,
    /// A Bloom error rate outside (0, 1).
    /// RedisBloom: `ERR error rate must be in the range (0.000000, 1.000000)`.
    #[error("error rate must be in the range (0.000000, 1.000000)")]
    BloomErrorRateRange,
    /// A Bloom capacity outside 1..=2³⁰.
    /// RedisBloom: `ERR capacity must be in the range [1, 1073741824]`.
    #[error("capacity must be in the range [1, 1073741824]")]
    BloomCapacityRange,
    /// A Bloom expansion outside 0..=32768.
    /// RedisBloom: `ERR expansion must be in the range [0, 32768]`.
    #[error("expansion must be in the range [0, 32768]")]
    BloomExpansionRange,
    /// A `CMS.*` command on a missing key. RedisBloom: `CMS: key does not exist`.
    #[error("key does not exist")]
    CmsKeyMissing,
    /// `CMS.INITBYDIM`/`CMS.INITBYPROB` on an existing key (of any type).
    /// RedisBloom: `CMS: key already exists`.
    #[error("key already exists")]
    CmsKeyExists,
    /// A width below 1. RedisBloom: `CMS: invalid width`.
    #[error("invalid width")]
    CmsInvalidWidth,
    /// A depth below 1. RedisBloom: `CMS: invalid depth`.
    #[error("invalid depth")]
    CmsInvalidDepth,
    /// Dimensions whose product is too large to allocate.
    /// RedisBloom: `CMS: invalid init arguments`.
    #[error("invalid init arguments")]
    CmsInvalidInit,
    /// A `CMS.INITBYPROB` error outside (0, 1).
    /// RedisBloom: `CMS: invalid overestimation value`.
    #[error("invalid overestimation value")]
    CmsInvalidError,
    /// A `CMS.INITBYPROB` probability outside (0, 1). RedisBloom: `CMS: invalid prob value`.
    #[error("invalid prob value")]
    CmsInvalidProb,
    /// An increment that would push a counter past 2³²-1 (or the total past 2⁶³-1); the item
    /// is left unchanged. RedisBloom: `CMS: INCRBY overflow`.
    #[error("INCRBY overflow")]
    CmsIncrOverflow,
    /// A merge whose result would leave a counter outside 0..=2³²-1 (or the total outside
    /// 0..=2⁶³-1); nothing changes. RedisBloom: `CMS: MERGE overflow`.
    #[error("MERGE overflow")]
    CmsMergeOverflow,
    /// Sketches of different dimensions in one merge.
    /// RedisBloom: `CMS: width/depth is not equal`.
    #[error("width/depth is not equal")]
    CmsDimensionMismatch,
    /// `CMS.MERGE` with no source, or with weights that do not pair with the sources.
    /// RedisBloom: `CMS: wrong number of keys/weights`.
    #[error("wrong number of keys/weights")]
    CmsWrongKeyCount,
}

impl Error {
    /// The Redis error code that prefixes the text on the wire: `ERR`, `WRONGTYPE`, `OOM`, or
    /// `CMS:` for RedisBloom's sketch errors.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongType | Error::NotHyperLogLog => "WRONGTYPE",
            Error::CorruptHyperLogLog => "INVALIDOBJ",
            Error::OutOfMemory => "OOM",
            // RedisBloom's sketch errors carry no ERR: the line starts with `CMS:`.
            Error::CmsKeyMissing
            | Error::CmsKeyExists
            | Error::CmsInvalidWidth
            | Error::CmsInvalidDepth
            | Error::CmsInvalidInit
            | Error::CmsInvalidError
            | Error::CmsInvalidProb
            | Error::CmsIncrOverflow
            | Error::CmsMergeOverflow
            | Error::CmsDimensionMismatch
            | Error::CmsWrongKeyCount => "CMS:",
            _ => "ERR",
        }
    }

    /// The full Redis error line without the leading `-`, e.g.
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`.
    #[must_use]
    pub fn redis_text(&self) -> String {
        format!("{} {}", self.code(), self)
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn texts_match_redis() {
        assert_eq!(
            Error::WrongType.redis_text(),
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(
            Error::NotInteger.redis_text(),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            Error::InvalidExpireTime("set").redis_text(),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            Error::OutOfMemory.redis_text(),
            "OOM command not allowed when used memory > 'maxmemory'."
        );
        assert_eq!(Error::BloomItemExists.redis_text(), "ERR item exists");
        assert_eq!(
            Error::BloomFull.redis_text(),
            "ERR non scaling filter is full"
        );
        assert_eq!(Error::CmsKeyMissing.redis_text(), "CMS: key does not exist");
        assert_eq!(Error::CmsIncrOverflow.redis_text(), "CMS: INCRBY overflow");
        assert_eq!(Error::CmsMergeOverflow.code(), "CMS:");
    }
}
