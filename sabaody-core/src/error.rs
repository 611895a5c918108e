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
}

impl Error {
    /// The Redis error code that prefixes the text on the wire: `ERR`, `WRONGTYPE` or `OOM`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongType | Error::NotHyperLogLog => "WRONGTYPE",
            Error::CorruptHyperLogLog => "INVALIDOBJ",
            Error::OutOfMemory => "OOM",
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
    }
}
