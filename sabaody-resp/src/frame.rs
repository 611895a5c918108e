//! The RESP2/RESP3 value model.

use bytes::Bytes;

/// Protocol version of a connection: `HELLO 2` / `HELLO 3`.
///
/// It only matters when encoding: the decoder accepts every RESP3 type whatever the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// RESP2: RESP3-only types are downgraded the way Redis 7 does (see [`crate::encode`]).
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

/// One RESP value. Payloads are [`Bytes`], so they are binary-safe and, when decoded, zero-copy
/// slices of the read buffer.
///
/// `PartialEq` compares doubles with `==` (so `NaN != NaN` and `0.0 == -0.0`).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK\r\n`. Must not contain `\r` or `\n` (the encoder replaces them by spaces, as Redis does).
    SimpleString(Bytes),
    /// `-ERR message\r\n`: the text without the leading `-`. Same rule as simple strings.
    Error(Bytes),
    /// `:42\r\n`
    Integer(i64),
    /// `$3\r\nfoo\r\n`
    BulkString(Bytes),
    /// `$-1\r\n` (RESP2's null for bulk replies; written `_\r\n` in RESP3, as Redis 7 does).
    NullBulk,
    /// `*2\r\n...`
    Array(Vec<Frame>),
    /// `*-1\r\n` (RESP2's null for array replies; written `_\r\n` in RESP3, as Redis 7 does).
    NullArray,
    /// RESP3 `_\r\n` (`$-1\r\n` in RESP2).
    Null,
    /// RESP3 `,1.5\r\n` (a bulk string in RESP2), text as [`crate::format_double`].
    Double(f64),
    /// RESP3 `#t\r\n` / `#f\r\n` (`:1` / `:0` in RESP2).
    Boolean(bool),
    /// RESP3 `!len\r\nmessage\r\n` (a simple error in RESP2).
    BlobError(Bytes),
    /// RESP3 `=len\r\ntxt:data\r\n` (a bulk string of `data` alone in RESP2).
    Verbatim {
        /// Three-byte format, e.g. `*b"txt"` or `*b"mkd"`.
        format: [u8; 3],
        /// The text, without the `fmt:` prefix.
        data: Bytes,
    },
    /// RESP3 `(12345678901234567890\r\n`: an optional `-` and decimal digits (a bulk string in RESP2).
    BigNumber(Bytes),
    /// RESP3 `%n\r\n` followed by n key/value pairs (a flat array of 2n elements in RESP2).
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~n\r\n` (an array in RESP2).
    Set(Vec<Frame>),
    /// RESP3 `|n\r\n` pairs, then the frame they describe. RESP2 has no attributes: only `data`
    /// is written.
    Attribute {
        /// The attribute pairs.
        attributes: Vec<(Frame, Frame)>,
        /// The reply the attributes are attached to.
        data: Box<Frame>,
    },
    /// RESP3 `>n\r\n` out-of-band data (an array in RESP2).
    Push(Vec<Frame>),
}

impl Frame {
    /// A bulk string from anything that converts to [`Bytes`] (`&'static str`, `Vec<u8>`, ...).
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::BulkString(data.into())
    }

    /// A simple string such as `OK`.
    pub fn simple(s: impl Into<Bytes>) -> Frame {
        Frame::SimpleString(s.into())
    }

    /// An error reply; `msg` excludes the leading `-`, e.g. `"ERR syntax error"`.
    pub fn error(msg: impl Into<Bytes>) -> Frame {
        Frame::Error(msg.into())
    }

    /// True for the null frames of either protocol (`NullBulk`, `NullArray`, `Null`).
    pub fn is_null(&self) -> bool {
        matches!(self, Frame::NullBulk | Frame::NullArray | Frame::Null)
    }
}
