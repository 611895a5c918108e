//! The server's request decoder: commands as argument lists, zero-copy, with Redis's rules.
//!
//! It follows `processMultibulkBuffer` / `processInlineBuffer` of Redis 7.0 (`networking.c`),
//! byte for byte where that is observable:
//!
//! * A request starting with `*` is a multibulk: `*<count>\r\n` then `count` times
//!   `$<len>\r\n<len bytes>\r\n`. Counts `<= 0` (`*0`, `*-1`, `*-5`) are skipped as no command.
//!   Like Redis, the byte after each `\r` and the two bytes after a payload are skipped without
//!   being checked (`$4\r\nPINGxx` is `PING`).
//! * Anything else is an inline request: one line up to `\n` (a `\r` before it is dropped),
//!   split as `sdssplitargs` does: blanks separate arguments; `"..."` understands `\n \r \t \b
//!   \a \\ \" \xHH` (any other escaped character stands for itself); `'...'` understands `\'`;
//!   a closing quote must be followed by a blank or the end of the line; quotes may start in the
//!   middle of an argument (`a"b c"` is `ab c`). Empty lines are skipped.
//!
//! Deviations, all on input no client sends: Redis's line searches stop at a NUL byte
//! (`strchr`), so Redis never completes an inline request containing one; here NUL is an
//! ordinary byte everywhere. The multibulk count limit is [`crate::Limits::max_multibulk_len`]
//! (1,048,576 by default, Redis <= 6.2) where Redis 7.0 allows up to `INT_MAX`.
//!
//! Line-length limits are applied so the result never depends on how the input was split into
//! reads: a `*`/`$` line whose `\r` comes after more than `max_inline_len` bytes, or an inline
//! request whose `\n` does, is rejected whether or not the terminator has arrived yet.
//!
//! Two paths give the same results: a quick one for the common case (a whole multibulk request
//! of at most 8 arguments already in the buffer, every `*`/`$` line a plain number) that parses
//! it in one pass without the state machine, and the state machine for everything else
//! (requests in pieces, inline requests, odd or bad input). Either way the request is split
//! off the buffer once and its arguments are slices of it. The tests check both against a plain
//! reading of the rules, byte by byte and whole, and the `request` fuzz target does the same.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::limits::Limits;
use crate::num::parse_i64;
use crate::scan::find_cr_from;

/// Most arguments a request may have to be decoded by the quick path (the others take the
/// general one).
const QUICK_ARGS: usize = 8;

/// Arguments a pending multibulk reserves room for up front, whatever count the client claims.
const MAX_PREALLOC_ARGS: usize = 1024;

/// Incremental request decoder; one per connection.
///
/// Between a call returning `Ok(false)` and the next call, the caller must only *append* to
/// the buffer (it may reallocate it): the decoder remembers how far into the pending request
/// it has parsed, so a large request arriving in many reads is scanned once. If the buffer is
/// shorter than what was parsed (the caller discarded it), the decoder starts over.
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    limits: Limits,
    state: State,
    /// Bytes of the pending request already parsed (the request starts at `buf[0]`).
    pos: usize,
    /// Argument ranges (relative to `buf[0]`) of the pending multibulk.
    spans: Vec<(usize, usize)>,
    /// Buffered bytes of the request being received, as of the last call.
    pending: usize,
    /// The pending `*`/`$` line holds no `\r` before this offset of `buf` (0: unknown), so a
    /// line trickling in byte by byte is not rescanned from its start on every call.
    line_scanned: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests.
    Idle,
    /// An inline request whose first `scanned` bytes hold no `\n`.
    Inline { scanned: usize },
    /// A multibulk with `remaining` arguments to go; `bulk` is the length of the argument whose
    /// `$` line has been read but whose payload has not fully arrived.
    Multibulk {
        remaining: usize,
        bulk: Option<usize>,
    },
}

/// One inline argument: a range of the line, or bytes rebuilt from quotes and escapes.
enum Token {
    Span(usize, usize),
    Owned(Vec<u8>),
}

impl RequestDecoder {
    /// A decoder applying `limits` (`Limits::default()` for Redis's).
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            state: State::Idle,
            pos: 0,
            spans: Vec::new(),
            pending: 0,
            line_scanned: 0,
        }
    }

    /// The limits this decoder applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decodes the next command from the front of `buf`.
    ///
    /// `Ok(true)`: one complete command's arguments were put in `args` (cleared first), as
    /// zero-copy [`Bytes`] split from `buf`, and its bytes were consumed. `Ok(false)`: more bytes
    /// are needed (`args` is empty); the bytes of the pending request stay in `buf`. Requests
    /// without arguments (empty inline lines, `*0`, `*-1`) are consumed and skipped, as Redis
    /// skips them.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] with Redis's text on a protocol violation; `buf` keeps the offending
    /// bytes and the connection should be closed after replying `-ERR <text>`.
    #[inline]
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, DecodeError> {
        args.clear();
        if self.state == State::Idle && self.quick_request(buf, args) {
            self.line_scanned = 0;
            self.pending = 0;
            return Ok(true);
        }
        self.decode_general(buf, args)
    }

    /// [`RequestDecoder::decode`] through the state machine: any request, in any number of
    /// pieces.
    #[inline(never)]
    fn decode_general(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, DecodeError> {
        let stale = match self.state {
            State::Inline { scanned } => scanned > buf.len(),
            _ => self.pos > buf.len() || self.line_scanned > buf.len(),
        };
        if stale {
            self.reset();
        }
        let result = self.step(buf, args);
        match result {
            Ok(true) => self.pending = 0,
            Ok(false) => self.pending = buf.len(),
            Err(_) => self.reset(),
        }
        result
    }

    /// The common case, decoded without the state machine: a whole multibulk request of 1 to
    /// [`QUICK_ARGS`] arguments at the front of `buf`, every `*`/`$` line in its plain form.
    /// `false` (nothing touched) for anything else, which the general path then takes: it gives
    /// the same result on the same bytes.
    #[inline(never)]
    fn quick_request(&self, buf: &mut BytesMut, args: &mut Vec<Bytes>) -> bool {
        let src: &[u8] = buf;
        let max_line = self.limits.max_inline_len;
        let max_args = self.limits.max_multibulk_len.min(QUICK_ARGS);
        let Some((count, mut pos)) = quick_header(src, 0, b'*', max_args, max_line) else {
            return false;
        };
        let mut spans = [(0usize, 0usize); QUICK_ARGS];
        let Some(spans) = spans.get_mut(..count) else {
            return false;
        };
        if spans.is_empty() {
            return false;
        }
        for span in spans.iter_mut() {
            let Some((len, start)) =
                quick_header(src, pos, b'$', self.limits.max_bulk_len, max_line)
            else {
                return false;
            };
            // `start <= src.len()`: quick_header saw the byte before it.
            let room = src.len() - start;
            if len > room || room - len < 2 {
                return false;
            }
            *span = (start, start + len);
            pos = start + len + 2;
        }
        emit(buf, pos, spans, args);
        true
    }

    /// Bytes of the request currently being received (0 between requests), as of the last call
    /// to [`RequestDecoder::decode`]. For query-buffer limits.
    pub fn pending_len(&self) -> usize {
        self.pending
    }

    /// Forgets any partially parsed request (e.g. after the caller cleared its buffer).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.pos = 0;
        self.spans.clear();
        self.pending = 0;
        self.line_scanned = 0;
    }

    fn step(&mut self, buf: &mut BytesMut, args: &mut Vec<Bytes>) -> Result<bool, DecodeError> {
        loop {
            match self.state {
                State::Idle => {
                    let Some(&first) = buf.first() else {
                        return Ok(false);
                    };
                    if first != b'*' {
                        self.state = State::Inline { scanned: 0 };
                        continue;
                    }
                    let quick = quick_header(
                        buf,
                        0,
                        b'*',
                        self.limits.max_multibulk_len,
                        self.limits.max_inline_len,
                    );
                    let header = match quick {
                        Some(h) => Some(h),
                        None => self.multibulk_header(buf)?,
                    };
                    let Some((count, next)) = header else {
                        self.line_scanned = buf.len().saturating_sub(1);
                        return Ok(false);
                    };
                    self.line_scanned = 0;
                    if count == 0 {
                        buf.advance(next);
                        continue;
                    }
                    self.spans.clear();
                    self.spans.reserve(count.min(MAX_PREALLOC_ARGS));
                    self.pos = next;
                    self.state = State::Multibulk {
                        remaining: count,
                        bulk: None,
                    };
                }
                State::Inline { scanned } => {
                    if self.inline(buf, args, scanned)? {
                        return Ok(true);
                    }
                    if self.state != State::Idle {
                        return Ok(false);
                    }
                    // An empty line was skipped: go on with the next request.
                }
                State::Multibulk { remaining, bulk } => {
                    return self.multibulk(buf, args, remaining, bulk);
                }
            }
        }
    }

    /// Parses `*<count>\r?` at the front of `buf`: `Some((count, header_len))`, count 0 for the
    /// skipped `*0` / negative counts.
    fn multibulk_header(&self, buf: &BytesMut) -> Result<Option<(usize, usize)>, DecodeError> {
        let max = self.limits.max_inline_len;
        let Some(cr) = find_cr_from(buf, 0, self.line_scanned, max) else {
            return if buf.len() > max {
                Err(DecodeError::TooBigMultibulkCountString)
            } else {
                Ok(None)
            };
        };
        if cr > max {
            return Err(DecodeError::TooBigMultibulkCountString);
        }
        if cr + 1 >= buf.len() {
            return Ok(None);
        }
        match parse_i64(&buf[1..cr]) {
            Some(n) if n <= 0 => Ok(Some((0, cr + 2))),
            Some(n) if n as u64 <= self.limits.max_multibulk_len as u64 => {
                Ok(Some((n as usize, cr + 2)))
            }
            _ => Err(DecodeError::InvalidMultibulkLength),
        }
    }

    fn multibulk(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
        mut remaining: usize,
        mut bulk: Option<usize>,
    ) -> Result<bool, DecodeError> {
        let src = &buf[..];
        let mut pos = self.pos;
        while remaining > 0 {
            let len = match bulk {
                Some(len) => len,
                None => match quick_header(
                    src,
                    pos,
                    b'$',
                    self.limits.max_bulk_len,
                    self.limits.max_inline_len,
                ) {
                    Some(h) => {
                        self.line_scanned = 0;
                        pos = h.1;
                        h.0
                    }
                    None => match bulk_header(src, pos, self.line_scanned, &self.limits)? {
                        Some((len, next)) => {
                            self.line_scanned = 0;
                            pos = next;
                            len
                        }
                        None => {
                            self.line_scanned = src.len().saturating_sub(1);
                            self.pos = pos;
                            self.state = State::Multibulk {
                                remaining,
                                bulk: None,
                            };
                            return Ok(false);
                        }
                    },
                },
            };
            let end = pos.saturating_add(len);
            if src.len() < end.saturating_add(2) {
                self.pos = pos;
                self.state = State::Multibulk {
                    remaining,
                    bulk: Some(len),
                };
                return Ok(false);
            }
            self.spans.push((pos, end));
            pos = end + 2;
            remaining -= 1;
            bulk = None;
        }
        emit(buf, pos, &self.spans, args);
        self.spans.clear();
        if self.spans.capacity() > 4 * MAX_PREALLOC_ARGS {
            // Do not keep a huge request's bookkeeping for the life of the connection.
            self.spans = Vec::new();
        }
        self.state = State::Idle;
        self.pos = 0;
        Ok(true)
    }

    /// Ok(true): a command was decoded. Ok(false): either more bytes are needed (state stays
    /// `Inline`) or an empty line was consumed (state back to `Idle`).
    fn inline(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
        scanned: usize,
    ) -> Result<bool, DecodeError> {
        let max = self.limits.max_inline_len;
        let window_end = buf.len().min(max.saturating_add(1));
        let found = buf
            .get(scanned..window_end)
            .and_then(|w| memchr::memchr(b'\n', w));
        let Some(i) = found else {
            if buf.len() > max {
                return Err(DecodeError::TooBigInlineRequest);
            }
            self.state = State::Inline {
                scanned: window_end.max(scanned),
            };
            return Ok(false);
        };
        let nl = scanned + i;
        let line_end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let tokens = split_args(&buf[..line_end])?;
        let chunk = buf.split_to(nl + 1).freeze();
        args.extend(tokens.into_iter().map(|t| match t {
            Token::Span(a, b) => chunk.slice(a..b),
            Token::Owned(v) => Bytes::from(v),
        }));
        self.state = State::Idle;
        Ok(!args.is_empty())
    }
}

/// Parses `$<len>\r?` at `pos` (no `\r` before `scanned`): `Some((len, payload_start))`, or
/// `None` if incomplete.
#[inline(always)]
fn bulk_header(
    src: &[u8],
    pos: usize,
    scanned: usize,
    limits: &Limits,
) -> Result<Option<(usize, usize)>, DecodeError> {
    let max = limits.max_inline_len;
    let Some(cr) = find_cr_from(src, pos, scanned, max) else {
        return if src.len() - pos > max {
            Err(DecodeError::TooBigBulkCountString)
        } else {
            Ok(None)
        };
    };
    if cr - pos > max {
        return Err(DecodeError::TooBigBulkCountString);
    }
    if cr + 1 >= src.len() {
        return Ok(None);
    }
    if src[pos] != b'$' {
        return Err(DecodeError::ExpectedBulk(src[pos]));
    }
    match parse_i64(&src[pos + 1..cr]) {
        Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len as u64 => {
            Ok(Some((n as usize, cr + 2)))
        }
        _ => Err(DecodeError::InvalidBulkLength),
    }
}

/// Splits the request `buf[..end]` off `buf` and pushes its arguments `spans` (ranges within
/// it, in order) to `args`. The request is split off once and its arguments are slices of it:
/// one reference-count increment per argument but the last, which takes the request's own
/// handle (cheaper than one `split_to` per argument).
#[inline(always)]
fn emit(buf: &mut BytesMut, end: usize, spans: &[(usize, usize)], args: &mut Vec<Bytes>) {
    let request = buf.split_to(end).freeze();
    if let Some((&(a, b), init)) = spans.split_last() {
        args.reserve(spans.len());
        for &(a, b) in init {
            let mut arg = request.clone();
            arg.truncate(b);
            arg.advance(a);
            args.push(arg);
        }
        let mut last = request;
        last.truncate(b);
        last.advance(a);
        args.push(last);
    }
}

/// The common case of a `*` or `$` line at `pos`, checked in one pass: a tag byte, a
/// canonical decimal of at most 18 digits no greater than `max_value`, `\r`, and one more byte
/// (the unchecked `\n`), the line within `max_line` bytes. `Some((value, index after the
/// line))` exactly when the general parser would give the same; `None` for anything else
/// (incomplete, malformed, too long, over a limit), which the general parser then handles.
#[inline(always)]
fn quick_header(
    src: &[u8],
    pos: usize,
    tag: u8,
    max_value: usize,
    max_line: usize,
) -> Option<(usize, usize)> {
    let line = src.get(pos..)?;
    // `cr`: index of the `\r` in `line`, whose next byte must be there too.
    let (n, cr) = match *line {
        [t, d, b'\r', _, ..] if t == tag && d.is_ascii_digit() => (u64::from(d - b'0'), 2),
        [t, d1 @ b'1'..=b'9', d2, b'\r', _, ..] if t == tag && d2.is_ascii_digit() => {
            (u64::from(d1 - b'0') * 10 + u64::from(d2 - b'0'), 3)
        }
        [t, d1 @ b'1'..=b'9', ..] if t == tag => {
            let mut n = u64::from(d1 - b'0');
            let mut i = 2;
            loop {
                let c = *line.get(i)?;
                if c == b'\r' {
                    break;
                }
                // A 19th digit (18 cannot overflow) or a non-digit: the general parser decides.
                if !c.is_ascii_digit() || i > 18 {
                    return None;
                }
                n = n * 10 + u64::from(c - b'0');
                i += 1;
            }
            if line.len() <= i + 1 {
                return None;
            }
            (n, i)
        }
        _ => return None,
    };
    if cr > max_line || n > max_value as u64 {
        return None;
    }
    Some((n as usize, pos + cr + 2))
}

/// C `isspace` in the "C" locale.
#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

#[inline]
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `sdssplitargs` over one line (without its line ending).
fn split_args(line: &[u8]) -> Result<Vec<Token>, DecodeError> {
    let n = line.len();
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        while p < n && is_space(line[p]) {
            p += 1;
        }
        if p >= n {
            return Ok(out);
        }
        let start = p;
        // Becomes Some once a quote is met: from then on the argument is rebuilt byte by byte.
        let mut owned: Option<Vec<u8>> = None;
        let mut in_double = false;
        let mut in_single = false;
        // End of the argument when it is a plain (unquoted) range of the line.
        let mut span_end = n;
        loop {
            if in_double {
                let Some(&c) = line.get(p) else {
                    return Err(DecodeError::UnbalancedQuotes);
                };
                let v = owned.get_or_insert_with(Vec::new);
                let next = line.get(p + 1).copied();
                if c == b'\\' && next == Some(b'x') {
                    let hi = line.get(p + 2).copied().and_then(hex_value);
                    let lo = line.get(p + 3).copied().and_then(hex_value);
                    if let (Some(hi), Some(lo)) = (hi, lo) {
                        v.push(hi * 16 + lo);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && next.is_some() {
                    let e = next.unwrap_or(b'\\');
                    v.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => b'\x08',
                        b'a' => b'\x07',
                        other => other,
                    });
                    p += 2;
                } else if c == b'"' {
                    if next.is_some_and(|c| !is_space(c)) {
                        return Err(DecodeError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else {
                    v.push(c);
                    p += 1;
                }
            } else if in_single {
                let Some(&c) = line.get(p) else {
                    return Err(DecodeError::UnbalancedQuotes);
                };
                let v = owned.get_or_insert_with(Vec::new);
                let next = line.get(p + 1).copied();
                if c == b'\\' && next == Some(b'\'') {
                    v.push(b'\'');
                    p += 2;
                } else if c == b'\'' {
                    if next.is_some_and(|c| !is_space(c)) {
                        return Err(DecodeError::UnbalancedQuotes);
                    }
                    p += 1;
                    break;
                } else {
                    v.push(c);
                    p += 1;
                }
            } else {
                let Some(&c) = line.get(p) else { break };
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        span_end = p;
                        p += 1;
                        break;
                    }
                    b'"' | b'\'' => {
                        if owned.is_none() {
                            owned = Some(line[start..p].to_vec());
                        }
                        if c == b'"' {
                            in_double = true;
                        } else {
                            in_single = true;
                        }
                        p += 1;
                    }
                    _ => {
                        if let Some(v) = owned.as_mut() {
                            v.push(c);
                        }
                        p += 1;
                    }
                }
            }
        }
        out.push(match owned {
            Some(v) => Token::Owned(v),
            None => Token::Span(start, span_end),
        });
    }
}

#[cfg(test)]
mod tests;
