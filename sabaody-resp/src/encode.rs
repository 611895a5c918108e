//! Encoder: `Frame` or direct writers into a `BytesMut`. Encoding cannot fail.
//!
//! # RESP2 downgrade
//!
//! A RESP2 connection gets the RESP3-only types the way Redis 7.0 writes them:
//!
//! | RESP3                       | RESP2                                   |
//! |-----------------------------|-----------------------------------------|
//! | `_` (`Null`)                | `$-1`                                   |
//! | `%n` map                    | `*2n` flat array `k1 v1 k2 v2 ...`      |
//! | `~n` set, `>n` push         | `*n`                                    |
//! | `,d` double                 | bulk string of the same text            |
//! | `#t` / `#f`                 | `:1` / `:0`                             |
//! | `=n fmt:data` verbatim      | bulk string of `data` (format dropped)  |
//! | `(digits` big number        | bulk string of the digits               |
//! | `!n msg` blob error         | `-msg` simple error                     |
//! | `\|n` attribute + data      | `data` only                             |
//!
//! In RESP3, `NullBulk` and `NullArray` are written `_`, as Redis 7 does for every null.
//!
//! Simple strings and errors cannot hold `\r` or `\n`: they are replaced by spaces (Redis does
//! the same for error replies), so a bad message cannot desynchronise the stream.

use bytes::BytesMut;

use crate::frame::{Frame, Protocol};

/// Appends `frame` to `out` in protocol `proto` (RESP3-only types downgraded in RESP2, see the
/// module docs).
pub fn encode(frame: &Frame, proto: Protocol, out: &mut BytesMut) {
    match frame {
        Frame::SimpleString(s) => write::simple(out, s),
        Frame::Error(s) => write::error(out, s),
        Frame::Integer(n) => write::integer(out, *n),
        Frame::BulkString(b) => write::bulk(out, b),
        Frame::NullBulk => write::null_bulk(out, proto),
        Frame::NullArray => write::null_array(out, proto),
        Frame::Null => write::null(out, proto),
        Frame::Array(items) => {
            write::array_len(out, items.len());
            for item in items {
                encode(item, proto, out);
            }
        }
        Frame::Double(d) => write::double(out, proto, *d),
        Frame::Boolean(b) => write::boolean(out, proto, *b),
        Frame::BlobError(msg) => write::blob_error(out, proto, msg),
        Frame::Verbatim { format, data } => write::verbatim(out, proto, format, data),
        Frame::BigNumber(digits) => write::big_number(out, proto, digits),
        Frame::Map(pairs) => {
            write::map_len(out, proto, pairs.len());
            encode_pairs(pairs, proto, out);
        }
        Frame::Set(items) => {
            write::set_len(out, proto, items.len());
            for item in items {
                encode(item, proto, out);
            }
        }
        Frame::Attribute { attributes, data } => {
            if proto == Protocol::Resp3 {
                write::attribute_len(out, attributes.len());
                encode_pairs(attributes, proto, out);
            }
            encode(data, proto, out);
        }
        Frame::Push(items) => {
            write::push_len(out, proto, items.len());
            for item in items {
                encode(item, proto, out);
            }
        }
    }
}

fn encode_pairs(pairs: &[(Frame, Frame)], proto: Protocol, out: &mut BytesMut) {
    for (k, v) in pairs {
        encode(k, proto, out);
        encode(v, proto, out);
    }
}

/// Appends the text of `d` as Redis 7.0 prints a double in a reply (`addReplyDouble`):
/// `printf("%.17g")`, i.e. 17 significant digits with trailing zeros removed, exponent form
/// when the exponent is below -4 or at least 17 (`e+300`, `e-07`: sign and at least two digits);
/// `inf`, `-inf`; `nan` / `-nan` as glibc prints them; `-0` for negative zero.
///
/// Checked against redis-server 7.0.15: `ZADD z 1.1 a` then `ZSCORE z a` replies
/// `1.1000000000000001` (not the shortest `1.1`, which Redis 7.2 prints); `0.1` gives
/// `0.10000000000000001`, `1e300` gives `1.0000000000000001e+300`, `1.5e-7` gives
/// `1.4999999999999999e-07`, and `inf` / `-inf` are written as such.
/// The 17 digits are exact and rounded half-to-even, as glibc does.
pub fn format_double(d: f64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 32];
    out.extend_from_slice(format_double_buf(d, &mut buf));
}

/// [`format_double`] into a stack buffer (32 bytes is more than the longest output, 24).
fn format_double_buf(d: f64, buf: &mut [u8; 32]) -> &[u8] {
    if d.is_nan() {
        return if d.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        };
    }
    if d.is_infinite() {
        return if d > 0.0 { b"inf" } else { b"-inf" };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { b"-0" } else { b"0" };
    }
    // Integral values below 1e17 print as plain integers under %.17g (the common case for
    // scores and counters): skip the exact 17-digit conversion.
    if d.fract() == 0.0 && d.abs() < 1e17 {
        let n = d as i64;
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = n.unsigned_abs();
        while v > 0 {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let mut len = 0;
        if n < 0 {
            buf[0] = b'-';
            len = 1;
        }
        let text = &digits[i..];
        buf[len..len + text.len()].copy_from_slice(text);
        return &buf[..len + text.len()];
    }
    let neg = d.is_sign_negative();
    let mut digits = [b'0'; 17];
    let (nd, exp) = match digits17_exact(d.abs()) {
        Some((q, exp)) => {
            let mut q = q;
            for slot in digits.iter_mut().rev() {
                *slot = b'0' + (q % 10) as u8;
                q /= 10;
            }
            (17, exp)
        }
        None => digits17_fmt(d.abs(), &mut digits),
    };
    // %g drops trailing zeros of the fraction.
    let mut last = nd.max(1);
    while last > 1 && digits[last - 1] == b'0' {
        last -= 1;
    }
    let digits = &digits[..last];

    let mut len = 0;
    let mut push = |buf: &mut [u8; 32], c: u8| {
        if len < buf.len() {
            buf[len] = c;
            len += 1;
        }
    };
    if neg {
        push(buf, b'-');
    }
    if !(-4..17).contains(&exp) {
        push(buf, digits[0]);
        if digits.len() > 1 {
            push(buf, b'.');
            for &c in &digits[1..] {
                push(buf, c);
            }
        }
        push(buf, b'e');
        push(buf, if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a >= 100 {
            push(buf, b'0' + (a / 100) as u8);
        }
        push(buf, b'0' + (a / 10 % 10) as u8);
        push(buf, b'0' + (a % 10) as u8);
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        for i in 0..int_len {
            push(buf, digits.get(i).copied().unwrap_or(b'0'));
        }
        if digits.len() > int_len {
            push(buf, b'.');
            for &c in &digits[int_len..] {
                push(buf, c);
            }
        }
    } else {
        push(buf, b'0');
        push(buf, b'.');
        for _ in 0..(-exp - 1) {
            push(buf, b'0');
        }
        for &c in digits {
            push(buf, c);
        }
    }
    &buf[..len]
}

/// The 17 significant digits of `a` (> 0, finite) as an integer in [1e16, 1e17), correctly
/// rounded half to even, and the decimal exponent of the first digit; exact integer arithmetic
/// for the common range 1e-5 <= a < 2^52 (non-integral values there need at most 22 powers of
/// ten and 70 bits of shift, which fit in a u128). `None` outside that range.
fn digits17_exact(a: f64) -> Option<(u64, i32)> {
    const POW10: [u128; 24] = {
        let mut t = [1u128; 24];
        let mut i = 1;
        while i < 24 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    if !(1e-5..4.503_599_627_370_496e15).contains(&a) {
        return None;
    }
    let bits = a.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let m = u128::from((bits & ((1u64 << 52) - 1)) | (1u64 << 52));
    // a = m * 2^-shift, shift in 1..=70 for this range.
    let shift = 1075 - biased;
    if !(1..=80).contains(&shift) {
        return None;
    }
    // floor(log2(a) * log10(2)): the decimal exponent or one less; the loop corrects it.
    let mut exp = ((biased - 1023) * 78_913) >> 18;
    for _ in 0..3 {
        let k = 16 - exp;
        if !(0..=23).contains(&k) {
            return None;
        }
        let n = m * POW10[k as usize];
        let mut q = n >> shift;
        let r = n & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        if r > half || (r == half && q & 1 == 1) {
            q += 1;
        }
        if q >= 100_000_000_000_000_000 {
            exp += 1;
        } else if q < 10_000_000_000_000_000 {
            exp -= 1;
        } else {
            return Some((q as u64, exp));
        }
    }
    None
}

/// The 17 significant digits of `a` (> 0, finite) through `{:.16e}` (exact, half to even):
/// the number of digits written and the decimal exponent.
fn digits17_fmt(a: f64, digits: &mut [u8; 17]) -> (usize, i32) {
    let mut sci = [0u8; 32];
    let sci_len = {
        let mut w = SliceWriter {
            buf: &mut sci,
            len: 0,
        };
        // Cannot fail: the longest text, "1.2345678901234567e-308", is 23 bytes.
        let _ = std::fmt::Write::write_fmt(&mut w, format_args!("{:.16e}", a));
        w.len
    };
    let sci = &sci[..sci_len];
    let e_pos = sci.iter().position(|&c| c == b'e').unwrap_or(sci.len());
    let mut nd = 0;
    for &c in &sci[..e_pos] {
        if c.is_ascii_digit() && nd < digits.len() {
            digits[nd] = c;
            nd += 1;
        }
    }
    let exp_text = sci.get(e_pos + 1..).unwrap_or(&[]);
    let exp = std::str::from_utf8(exp_text)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (nd, exp)
}

struct SliceWriter<'a> {
    buf: &'a mut [u8; 32],
    len: usize,
}

impl std::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Direct reply writers for the server's hot path: no `Frame` tree.
pub mod write {
    use bytes::BytesMut;

    use super::format_double_buf;
    use crate::frame::Protocol;

    #[inline]
    fn line(out: &mut BytesMut, prefix: u8, s: &[u8]) {
        out.reserve(s.len() + 3);
        out.extend_from_slice(&[prefix]);
        let clean = if s.len() <= 32 {
            !s.iter().any(|&c| c == b'\r' || c == b'\n')
        } else {
            memchr::memchr2(b'\r', b'\n', s).is_none()
        };
        if clean {
            out.extend_from_slice(s);
        } else {
            for &c in s {
                out.extend_from_slice(&[if c == b'\r' || c == b'\n' { b' ' } else { c }]);
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    /// `<prefix>[-]<n>\r\n`. A single digit is one 4-byte append; longer numbers are built in
    /// a stack buffer appended whole (a fixed-size copy) and cut to length, so no call to
    /// `memcpy` for a few bytes.
    #[inline(always)]
    fn number_line(out: &mut BytesMut, prefix: u8, neg: bool, n: u64) {
        if n < 10 && !neg {
            out.extend_from_slice(&[prefix, b'0' + n as u8, b'\r', b'\n']);
        } else {
            long_number_line(out, prefix, neg, n);
        }
    }

    #[inline]
    fn long_number_line(out: &mut BytesMut, prefix: u8, neg: bool, n: u64) {
        // prefix, sign, at most 20 digits, CR LF: 24 bytes.
        let mut buf = [0u8; 24];
        buf[0] = prefix;
        let start = 1 + usize::from(neg);
        buf[1] = b'-';
        let end = start + n.checked_ilog10().unwrap_or(0) as usize + 1;
        let mut v = n;
        for slot in buf[start..end].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        buf[end] = b'\r';
        buf[end + 1] = b'\n';
        let len = out.len();
        out.extend_from_slice(&buf);
        out.truncate(len + end + 2);
    }

    #[inline]
    fn header(out: &mut BytesMut, prefix: u8, n: usize) {
        number_line(out, prefix, false, n as u64);
    }

    /// `+s\r\n` (CR/LF in `s` become spaces).
    #[inline]
    pub fn simple(out: &mut BytesMut, s: &[u8]) {
        if s == b"OK" {
            out.extend_from_slice(b"+OK\r\n");
        } else {
            line(out, b'+', s);
        }
    }

    /// `-msg\r\n`; `msg` without the `-`, e.g. `b"ERR syntax error"` (CR/LF become spaces).
    #[inline]
    pub fn error(out: &mut BytesMut, msg: &[u8]) {
        line(out, b'-', msg);
    }

    /// `:n\r\n`
    #[inline]
    pub fn integer(out: &mut BytesMut, n: i64) {
        number_line(out, b':', n < 0, n.unsigned_abs());
    }

    /// `$len\r\ndata\r\n`
    #[inline]
    pub fn bulk(out: &mut BytesMut, data: &[u8]) {
        out.reserve(data.len() + 26);
        header(out, b'$', data.len());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }

    /// Null reply of a bulk-typed command: `$-1\r\n` (RESP2) or `_\r\n` (RESP3).
    #[inline]
    pub fn null_bulk(out: &mut BytesMut, proto: Protocol) {
        null(out, proto);
    }

    /// Null reply of an array-typed command: `*-1\r\n` (RESP2) or `_\r\n` (RESP3).
    #[inline]
    pub fn null_array(out: &mut BytesMut, proto: Protocol) {
        out.extend_from_slice(match proto {
            Protocol::Resp2 => b"*-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }

    /// RESP3 null: `_\r\n`, or `$-1\r\n` in RESP2.
    #[inline]
    pub fn null(out: &mut BytesMut, proto: Protocol) {
        out.extend_from_slice(match proto {
            Protocol::Resp2 => b"$-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }

    /// `*n\r\n`, followed by n frames written by the caller.
    #[inline]
    pub fn array_len(out: &mut BytesMut, n: usize) {
        header(out, b'*', n);
    }

    /// `%n\r\n` (RESP3) or `*2n\r\n` (RESP2), followed by n key/value pairs.
    #[inline]
    pub fn map_len(out: &mut BytesMut, proto: Protocol, n: usize) {
        match proto {
            Protocol::Resp2 => header(out, b'*', n.saturating_mul(2)),
            Protocol::Resp3 => header(out, b'%', n),
        }
    }

    /// `~n\r\n` (RESP3) or `*n\r\n` (RESP2).
    #[inline]
    pub fn set_len(out: &mut BytesMut, proto: Protocol, n: usize) {
        match proto {
            Protocol::Resp2 => header(out, b'*', n),
            Protocol::Resp3 => header(out, b'~', n),
        }
    }

    /// `>n\r\n` (RESP3) or `*n\r\n` (RESP2).
    #[inline]
    pub fn push_len(out: &mut BytesMut, proto: Protocol, n: usize) {
        match proto {
            Protocol::Resp2 => header(out, b'*', n),
            Protocol::Resp3 => header(out, b'>', n),
        }
    }

    /// RESP3 `|n\r\n`, followed by n pairs and then the data frame. RESP2 has no attributes:
    /// a RESP2 writer must skip the pairs altogether (this writes the header unconditionally).
    #[inline]
    pub fn attribute_len(out: &mut BytesMut, n: usize) {
        header(out, b'|', n);
    }

    /// `,d\r\n` (RESP3) or a bulk string of the same text (RESP2); text as
    /// [`crate::format_double`].
    #[inline]
    pub fn double(out: &mut BytesMut, proto: Protocol, d: f64) {
        let mut buf = [0u8; 32];
        let text = format_double_buf(d, &mut buf);
        match proto {
            Protocol::Resp2 => bulk(out, text),
            Protocol::Resp3 => {
                out.reserve(text.len() + 3);
                out.extend_from_slice(b",");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// `#t\r\n` / `#f\r\n` (RESP3) or `:1\r\n` / `:0\r\n` (RESP2).
    #[inline]
    pub fn boolean(out: &mut BytesMut, proto: Protocol, b: bool) {
        out.extend_from_slice(match (proto, b) {
            (Protocol::Resp2, true) => b":1\r\n",
            (Protocol::Resp2, false) => b":0\r\n",
            (Protocol::Resp3, true) => b"#t\r\n",
            (Protocol::Resp3, false) => b"#f\r\n",
        });
    }

    /// `=len\r\nfmt:data\r\n` (RESP3) or a bulk string of `data` (RESP2).
    #[inline]
    pub fn verbatim(out: &mut BytesMut, proto: Protocol, format: &[u8; 3], data: &[u8]) {
        match proto {
            Protocol::Resp2 => bulk(out, data),
            Protocol::Resp3 => {
                out.reserve(data.len() + 29);
                header(out, b'=', data.len() + 4);
                out.extend_from_slice(format);
                out.extend_from_slice(b":");
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// `(digits\r\n` (RESP3) or a bulk string of the digits (RESP2).
    #[inline]
    pub fn big_number(out: &mut BytesMut, proto: Protocol, digits: &[u8]) {
        match proto {
            Protocol::Resp2 => bulk(out, digits),
            Protocol::Resp3 => line(out, b'(', digits),
        }
    }

    /// `!len\r\nmsg\r\n` (RESP3) or `-msg\r\n` (RESP2, CR/LF become spaces).
    #[inline]
    pub fn blob_error(out: &mut BytesMut, proto: Protocol, msg: &[u8]) {
        match proto {
            Protocol::Resp2 => error(out, msg),
            Protocol::Resp3 => {
                out.reserve(msg.len() + 25);
                header(out, b'!', msg.len());
                out.extend_from_slice(msg);
                out.extend_from_slice(b"\r\n");
            }
        }
    }
}

#[cfg(test)]
mod tests;
