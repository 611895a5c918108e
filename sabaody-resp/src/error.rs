//! Protocol violations.

use std::fmt;

/// A protocol violation. After one, the stream cannot be resynchronised: close the connection
/// (Redis replies `-ERR <Display text>` first, then closes).
///
/// The first group are the errors of Redis's request parser (`networking.c`), with its exact
/// texts; the others can only come from the generic [`crate::decode`] (replies, RESP3 types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// `$` length not a canonical integer, negative (other than `$-1` in the generic decoder),
    /// or above [`crate::Limits::max_bulk_len`].
    InvalidBulkLength,
    /// `*` count not a canonical integer, or above [`crate::Limits::max_multibulk_len`].
    InvalidMultibulkLength,
    /// A request array element does not start with `$`; holds the byte found.
    ExpectedBulk(u8),
    /// An inline request line longer than [`crate::Limits::max_inline_len`].
    TooBigInlineRequest,
    /// An inline request with an unterminated quote, or a closing quote not followed by a space.
    UnbalancedQuotes,
    /// A request's `*` line longer than [`crate::Limits::max_inline_len`].
    TooBigMultibulkCountString,
    /// A request's `$` line longer than [`crate::Limits::max_inline_len`].
    TooBigBulkCountString,
    /// Generic decoder: a frame starts with a byte that is no RESP type; holds the byte.
    InvalidTypeByte(u8),
    /// Generic decoder: a line (simple string, error, number) longer than the inline limit.
    LineTooLong,
    /// Generic decoder: a line or a payload not terminated by `\r\n`.
    ExpectedCrlf,
    /// Generic decoder: `:` with no valid 64-bit signed integer.
    InvalidInteger,
    /// Generic decoder: `,` with no valid double.
    InvalidDouble,
    /// Generic decoder: `#` other than `#t` / `#f`.
    InvalidBoolean,
    /// Generic decoder: `_` followed by something other than `\r\n`.
    InvalidNull,
    /// Generic decoder: `(` not followed by an optional `-` and at least one digit.
    InvalidBigNumber,
    /// Generic decoder: `=` payload shorter than 4 bytes or without `:` after the format.
    InvalidVerbatim,
    /// Generic decoder: aggregates nested deeper than [`crate::Limits::max_depth`].
    TooDeep,
}

impl DecodeError {
    /// The exact message bytes, as Redis would put them after `-ERR ` (the byte in
    /// [`DecodeError::ExpectedBulk`] is copied raw, except `\r`/`\n` which Redis turns into spaces).
    /// [`fmt::Display`] gives the same text, with a byte >= 0x80 shown as the Latin-1 character.
    pub fn message(&self) -> Vec<u8> {
        match *self {
            DecodeError::ExpectedBulk(b) => {
                let mut m = b"Protocol error: expected '$', got '".to_vec();
                m.push(sanitize(b));
                m.push(b'\'');
                m
            }
            DecodeError::InvalidTypeByte(b) => {
                let mut m = b"Protocol error: invalid type byte '".to_vec();
                m.push(sanitize(b));
                m.push(b'\'');
                m
            }
            other => other.static_text().as_bytes().to_vec(),
        }
    }

    fn static_text(&self) -> &'static str {
        match self {
            DecodeError::InvalidBulkLength => "Protocol error: invalid bulk length",
            DecodeError::InvalidMultibulkLength => "Protocol error: invalid multibulk length",
            DecodeError::TooBigInlineRequest => "Protocol error: too big inline request",
            DecodeError::UnbalancedQuotes => "Protocol error: unbalanced quotes in request",
            DecodeError::TooBigMultibulkCountString => "Protocol error: too big mbulk count string",
            DecodeError::TooBigBulkCountString => "Protocol error: too big bulk count string",
            DecodeError::LineTooLong => "Protocol error: too big line",
            DecodeError::ExpectedCrlf => "Protocol error: expected CRLF",
            DecodeError::InvalidInteger => "Protocol error: invalid integer",
            DecodeError::InvalidDouble => "Protocol error: invalid double",
            DecodeError::InvalidBoolean => "Protocol error: invalid boolean",
            DecodeError::InvalidNull => "Protocol error: invalid null",
            DecodeError::InvalidBigNumber => "Protocol error: invalid big number",
            DecodeError::InvalidVerbatim => "Protocol error: invalid verbatim string",
            DecodeError::TooDeep => "Protocol error: nesting too deep",
            // Formatted in `message` / `fmt`.
            DecodeError::ExpectedBulk(_) | DecodeError::InvalidTypeByte(_) => "Protocol error",
        }
    }
}

/// Redis replaces CR and LF in error replies by spaces.
fn sanitize(b: u8) -> u8 {
    if b == b'\r' || b == b'\n' { b' ' } else { b }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::ExpectedBulk(b) => {
                write!(
                    f,
                    "Protocol error: expected '$', got '{}'",
                    char::from(sanitize(b))
                )
            }
            DecodeError::InvalidTypeByte(b) => {
                write!(
                    f,
                    "Protocol error: invalid type byte '{}'",
                    char::from(sanitize(b))
                )
            }
            other => f.write_str(other.static_text()),
        }
    }
}

impl std::error::Error for DecodeError {}
