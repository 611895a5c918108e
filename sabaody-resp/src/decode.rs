//! Generic streaming decoder for every RESP2/RESP3 frame (replies, AOF, tests).
//!
//! Two passes over the buffered bytes: the first validates one frame and finds where it ends
//! without allocating anything; only when the frame is complete does the second pass split it
//! off the buffer and build the tree, every payload a zero-copy slice of the split-off bytes.
//! Nothing is ever allocated from a claimed length: the build pass runs on validated, present
//! data only.
//!
//! An incomplete frame is rescanned from its start on the next call; for the server's request
//! stream, where a single request can be huge and arrive in many reads, use
//! [`crate::RequestDecoder`], which keeps its place.

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::frame::Frame;
use crate::limits::Limits;
use crate::num::parse_i64;
use crate::scan::find_cr;

/// Decodes one frame from the front of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a frame (nothing is consumed: call again
/// after appending more bytes), `Ok(Some(frame))` after consuming exactly the frame's bytes.
///
/// `$-1` decodes to [`Frame::NullBulk`], `*-1` to [`Frame::NullArray`], `_` to [`Frame::Null`].
///
/// # Errors
///
/// A [`DecodeError`] when the bytes cannot be the start of a valid frame or exceed `limits`
/// (see [`Limits`]); `buf` is then left as it was, and the stream cannot be resynchronised.
pub fn decode(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Frame>, DecodeError> {
    let scan = Parser::<false> {
        src: &buf[..],
        owner: None,
        limits,
    };
    let end = match scan.frame(0, 0)? {
        None => return Ok(None),
        Some((_, end)) => end,
    };
    let bytes = buf.split_to(end).freeze();
    let build = Parser::<true> {
        src: &bytes[..],
        owner: Some(&bytes),
        limits,
    };
    match build.frame(0, 0)? {
        Some((frame, e)) if e == end => Ok(Some(frame)),
        // Unreachable: both passes run the same code over the same bytes. Fail loudly, not by
        // panicking the server, if that ever stops being true.
        _ => Err(DecodeError::ExpectedCrlf),
    }
}

/// Decodes one frame from a complete, immutable buffer, returning it and the bytes it used.
/// Convenient for tests and for a `Bytes` that already holds a whole message.
///
/// # Errors
///
/// As [`decode`].
pub fn decode_bytes(src: &Bytes, limits: &Limits) -> Result<Option<(Frame, usize)>, DecodeError> {
    let build = Parser::<true> {
        src: &src[..],
        owner: Some(src),
        limits,
    };
    build.frame(0, 0)
}

/// Decodes every complete frame at the front of `buf` (convenience over [`decode`]).
///
/// # Errors
///
/// As [`decode`]; frames decoded before the error are consumed and returned in `out`.
pub fn decode_all(
    buf: &mut BytesMut,
    limits: &Limits,
    out: &mut Vec<Frame>,
) -> Result<(), DecodeError> {
    while let Some(f) = decode(buf, limits)? {
        out.push(f);
    }
    Ok(())
}

/// A parse result: `Ok(None)` = incomplete, else the value and the index just past it.
type Parsed<T> = Result<Option<(T, usize)>, DecodeError>;
type Step = Parsed<Frame>;

/// `BUILD = false`: validate and measure only (frames returned are placeholders).
struct Parser<'a, const BUILD: bool> {
    src: &'a [u8],
    owner: Option<&'a Bytes>,
    limits: &'a Limits,
}

impl<const BUILD: bool> Parser<'_, BUILD> {
    #[inline]
    fn bytes(&self, start: usize, end: usize) -> Bytes {
        match self.owner {
            Some(o) if BUILD => o.slice(start..end),
            _ => Bytes::new(),
        }
    }

    /// Finds the line starting at `start` (just after the type byte). Returns the index of its
    /// `\r` and the index just past its `\n`.
    #[inline]
    fn line(&self, start: usize) -> Result<Option<(usize, usize)>, DecodeError> {
        let max = self.limits.max_inline_len;
        match find_cr(self.src, start, max) {
            None if self.src.len().saturating_sub(start) > max => Err(DecodeError::LineTooLong),
            None => Ok(None),
            Some(cr) if cr - start > max => Err(DecodeError::LineTooLong),
            Some(cr) => match self.src.get(cr + 1) {
                None => Ok(None),
                Some(b'\n') => Ok(Some((cr, cr + 2))),
                Some(_) => Err(DecodeError::ExpectedCrlf),
            },
        }
    }

    /// Room to reserve for `n` claimed elements of at least `min_size` bytes each starting at
    /// `pos`: never more than the bytes present can hold, so a claimed count alone reserves
    /// nothing (`decode_bytes` has no validating pass before building).
    #[inline]
    fn capacity_for(&self, n: usize, pos: usize, min_size: usize) -> usize {
        if BUILD {
            n.min(self.src.len().saturating_sub(pos) / min_size)
        } else {
            0
        }
    }

    /// A length line after `*`, `%`, `~`, `>` or `|`: `Ok(Some((None, next)))` for `-1`.
    #[inline]
    fn count(&self, start: usize, allow_null: bool) -> Parsed<Option<usize>> {
        let Some((cr, next)) = self.line(start)? else {
            return Ok(None);
        };
        match parse_i64(&self.src[start..cr]) {
            Some(-1) if allow_null => Ok(Some((None, next))),
            Some(n) if n >= 0 && (n as u64) <= self.limits.max_multibulk_len as u64 => {
                Ok(Some((Some(n as usize), next)))
            }
            _ => Err(DecodeError::InvalidMultibulkLength),
        }
    }

    /// A `$`, `!` or `=` payload: `Ok(Some((None, next)))` for `$-1`, else the payload range.
    #[inline]
    fn blob(&self, start: usize, allow_null: bool) -> Parsed<Option<(usize, usize)>> {
        let Some((cr, next)) = self.line(start)? else {
            return Ok(None);
        };
        let len = match parse_i64(&self.src[start..cr]) {
            Some(-1) if allow_null => return Ok(Some((None, next))),
            Some(n) if n >= 0 && (n as u64) <= self.limits.max_bulk_len as u64 => n as usize,
            _ => return Err(DecodeError::InvalidBulkLength),
        };
        let data_end = next + len;
        if self.src.len() < data_end + 2 {
            return Ok(None);
        }
        if &self.src[data_end..data_end + 2] != b"\r\n" {
            return Err(DecodeError::ExpectedCrlf);
        }
        Ok(Some((Some((next, data_end)), data_end + 2)))
    }

    fn seq(&self, n: usize, mut pos: usize, depth: usize) -> Parsed<Vec<Frame>> {
        let mut items = Vec::with_capacity(self.capacity_for(n, pos, 3));
        for _ in 0..n {
            // Arrays of bulk strings (commands, most replies) skip the general dispatch.
            if self.src.get(pos) == Some(&b'$') {
                let Some((range, next)) = self.blob(pos + 1, true)? else {
                    return Ok(None);
                };
                if BUILD {
                    items.push(match range {
                        Some((a, b)) => Frame::BulkString(self.bytes(a, b)),
                        None => Frame::NullBulk,
                    });
                }
                pos = next;
                continue;
            }
            let Some((f, next)) = self.frame(pos, depth)? else {
                return Ok(None);
            };
            if BUILD {
                items.push(f);
            }
            pos = next;
        }
        Ok(Some((items, pos)))
    }

    fn pairs(&self, n: usize, mut pos: usize, depth: usize) -> Parsed<Vec<(Frame, Frame)>> {
        let mut items = Vec::with_capacity(self.capacity_for(n, pos, 6));
        for _ in 0..n {
            let Some((k, next)) = self.frame(pos, depth)? else {
                return Ok(None);
            };
            let Some((v, next)) = self.frame(next, depth)? else {
                return Ok(None);
            };
            if BUILD {
                items.push((k, v));
            }
            pos = next;
        }
        Ok(Some((items, pos)))
    }

    /// Parses the frame at `pos`, inside `depth` enclosing aggregates.
    fn frame(&self, pos: usize, depth: usize) -> Step {
        let Some(&ty) = self.src.get(pos) else {
            return Ok(None);
        };
        let start = pos + 1;
        let inner = depth + 1;
        let aggregate_ok = || {
            if inner > self.limits.max_depth {
                Err(DecodeError::TooDeep)
            } else {
                Ok(())
            }
        };
        Ok(Some(match ty {
            b'+' | b'-' | b'(' => {
                let Some((cr, next)) = self.line(start)? else {
                    return Ok(None);
                };
                let text = self.bytes(start, cr);
                let f = match ty {
                    b'+' => Frame::SimpleString(text),
                    b'-' => Frame::Error(text),
                    _ => {
                        let s = &self.src[start..cr];
                        let digits = s.strip_prefix(b"-").unwrap_or(s);
                        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                            return Err(DecodeError::InvalidBigNumber);
                        }
                        Frame::BigNumber(text)
                    }
                };
                (f, next)
            }
            b':' => {
                let Some((cr, next)) = self.line(start)? else {
                    return Ok(None);
                };
                let n = parse_i64(&self.src[start..cr]).ok_or(DecodeError::InvalidInteger)?;
                (Frame::Integer(n), next)
            }
            b',' => {
                let Some((cr, next)) = self.line(start)? else {
                    return Ok(None);
                };
                (Frame::Double(parse_double(&self.src[start..cr])?), next)
            }
            b'#' => {
                let Some((cr, next)) = self.line(start)? else {
                    return Ok(None);
                };
                let b = match &self.src[start..cr] {
                    b"t" => true,
                    b"f" => false,
                    _ => return Err(DecodeError::InvalidBoolean),
                };
                (Frame::Boolean(b), next)
            }
            b'_' => {
                let Some((cr, next)) = self.line(start)? else {
                    return Ok(None);
                };
                if cr != start {
                    return Err(DecodeError::InvalidNull);
                }
                (Frame::Null, next)
            }
            b'$' => match self.blob(start, true)? {
                None => return Ok(None),
                Some((None, next)) => (Frame::NullBulk, next),
                Some((Some((a, b)), next)) => (Frame::BulkString(self.bytes(a, b)), next),
            },
            b'!' => match self.blob(start, false)? {
                Some((Some((a, b)), next)) => (Frame::BlobError(self.bytes(a, b)), next),
                _ => return Ok(None),
            },
            b'=' => match self.blob(start, false)? {
                Some((Some((a, b)), next)) => {
                    let data = &self.src[a..b];
                    if data.len() < 4 || data[3] != b':' {
                        return Err(DecodeError::InvalidVerbatim);
                    }
                    let format = [data[0], data[1], data[2]];
                    (
                        Frame::Verbatim {
                            format,
                            data: self.bytes(a + 4, b),
                        },
                        next,
                    )
                }
                _ => return Ok(None),
            },
            b'*' | b'~' | b'>' => {
                let Some((n, next)) = self.count(start, ty == b'*')? else {
                    return Ok(None);
                };
                let Some(n) = n else {
                    return Ok(Some((Frame::NullArray, next)));
                };
                aggregate_ok()?;
                let Some((items, next)) = self.seq(n, next, inner)? else {
                    return Ok(None);
                };
                let f = match ty {
                    b'*' => Frame::Array(items),
                    b'~' => Frame::Set(items),
                    _ => Frame::Push(items),
                };
                (f, next)
            }
            b'%' | b'|' => {
                let Some((Some(n), next)) = self.count(start, false)? else {
                    return Ok(None);
                };
                aggregate_ok()?;
                let Some((pairs, next)) = self.pairs(n, next, inner)? else {
                    return Ok(None);
                };
                if ty == b'%' {
                    (Frame::Map(pairs), next)
                } else {
                    let Some((data, next)) = self.frame(next, inner)? else {
                        return Ok(None);
                    };
                    (
                        Frame::Attribute {
                            attributes: pairs,
                            data: Box::new(data),
                        },
                        next,
                    )
                }
            }
            other => return Err(DecodeError::InvalidTypeByte(other)),
        }))
    }
}

/// RESP3 double: `inf`, `-inf`, `nan` or a decimal/exponent literal.
fn parse_double(s: &[u8]) -> Result<f64, DecodeError> {
    // Rust's parser also takes "infinity" and a leading '+'; accepting those is harmless.
    if s.is_empty() || s.len() > 400 {
        return Err(DecodeError::InvalidDouble);
    }
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .ok_or(DecodeError::InvalidDouble)
}

#[cfg(test)]
mod tests;
