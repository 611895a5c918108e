//! Listpacks, the packed blob Redis 7.0 uses for small hashes, sorted sets and list nodes.
//!
//! ```text
//! [total bytes: u32 LE][element count: u16 LE, 65535 = unknown][entries...][0xFF]
//! entry: [encoding + data][backlen: the size of encoding + data, 1-5 bytes]
//!
//! 0xxxxxxx                 7-bit unsigned integer
//! 10xxxxxx + data          string of up to 63 bytes
//! 110xxxxx yyyyyyyy        13-bit signed integer
//! 1110xxxx yyyyyyyy + data string of up to 4095 bytes
//! 11110000 len:u32 + data  longer string
//! 11110001 / 0010 / 0011 / 0100   16 / 24 / 32 / 64-bit signed integer, LE
//! ```
//!
//! The backlen is written most significant 7 bits first; every byte but the first has its
//! top bit set, so it can be read from its end.

/// Header bytes.
pub(crate) const HEADER: usize = 6;
const EOF: u8 = 0xFF;

/// A listpack element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    Str(&'a [u8]),
    Int(i64),
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

fn int_size(v: i64) -> usize {
    if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    }
}

fn str_size(n: usize) -> usize {
    if n < 64 {
        1 + n
    } else if n < 4096 {
        2 + n
    } else {
        5 + n
    }
}

/// Bytes `e` takes in a listpack (encoding, data and backlen).
pub(crate) fn entry_size(e: &[u8]) -> usize {
    let l = match crate::num::parse_i64_strict(e) {
        Some(v) => int_size(v),
        None => str_size(e.len()),
    };
    l + backlen_size(l)
}

/// Builds a listpack in a buffer.
pub(crate) struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    count: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut Vec<u8>) -> Writer<'b> {
        buf.clear();
        buf.extend_from_slice(&[0; HEADER]);
        Writer { buf, count: 0 }
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    fn backlen(&mut self, l: usize) {
        let n = backlen_size(l);
        for i in (0..n).rev() {
            let b = ((l >> (7 * i)) & 127) as u8;
            self.buf.push(if i == n - 1 { b } else { b | 128 });
        }
    }

    /// Appends a string; a canonical integer is stored as an integer, as Redis does.
    pub(crate) fn push_str(&mut self, s: &[u8]) {
        if let Some(v) = crate::num::parse_i64_strict(s) {
            self.push_int(v);
            return;
        }
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    pub(crate) fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1FFF;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if let Ok(h) = i16::try_from(v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&h.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(w) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&w.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    /// Appends a sorted-set score as Redis's `zzlInsertAt` stores it: an integer when the
    /// double is one (`double2ll`), else its text as `d2string` writes it ([`format_score`]).
    pub(crate) fn push_score(&mut self, s: f64) {
        const LIM: f64 = (i64::MAX / 2) as f64;
        if s.is_finite()
            && s == s.trunc()
            && (-LIM..=LIM).contains(&s)
            && !(s == 0.0 && s.is_sign_negative())
        {
            self.push_int(s as i64);
        } else {
            let t = format_score(s);
            self.push_str(t.as_bytes());
        }
    }

    /// Writes the end byte and the header.
    pub(crate) fn finish(self) {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
    }
}

/// A score as Redis 7.0's `d2string` writes one into a sorted-set listpack: `inf`, `-inf`,
/// `-0`, or C's `%.17g` (17 significant digits, fixed notation for exponents -4 to 16,
/// trailing zeros dropped), so packed sorted sets are Redis's byte for byte.
pub(crate) fn format_score(s: f64) -> String {
    if s.is_infinite() {
        return if s > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if s == 0.0 {
        return if s.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // 17 significant digits, correctly rounded: `d.dddddddddddddddde<exp>`.
    let sci = format!("{:.16e}", s.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if s < 0.0 { "-" } else { "" };
    let trim = |f: &str| f.trim_end_matches('0').to_string();
    if (-4..17).contains(&exp) {
        let body = if exp >= 0 {
            let (int, frac) = digits.split_at((exp as usize + 1).min(digits.len()));
            let frac = trim(frac);
            if frac.is_empty() {
                int.to_string()
            } else {
                format!("{int}.{frac}")
            }
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("0.{zeros}{}", trim(&digits))
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let rest = trim(rest);
        let point = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{point}{rest}e{esign}{:02}",
            exp.unsigned_abs()
        )
    }
}

/// Why a listpack was refused.
pub(crate) type Bad = &'static str;

/// A validated listpack, iterated element by element.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    p: usize,
    /// Header count (65535: unknown).
    declared: u16,
    seen: usize,
}

impl<'a> Reader<'a> {
    /// Checks the header and the end byte; entries are checked as they are read.
    pub(crate) fn new(buf: &'a [u8]) -> Result<Reader<'a>, Bad> {
        if buf.len() < HEADER + 1 {
            return Err("listpack shorter than its header");
        }
        let total = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if total != buf.len() {
            return Err("listpack size does not match its header");
        }
        if buf[buf.len() - 1] != EOF {
            return Err("listpack does not end with its end byte");
        }
        Ok(Reader {
            buf,
            p: HEADER,
            declared: u16::from_le_bytes([buf[4], buf[5]]),
            seen: 0,
        })
    }

    /// The element count the header declares, if known.
    pub(crate) fn declared(&self) -> Option<usize> {
        (self.declared != u16::MAX).then_some(usize::from(self.declared))
    }

    fn get(&self, at: usize, n: usize) -> Result<&'a [u8], Bad> {
        at.checked_add(n)
            .and_then(|end| self.buf.get(at..end))
            .ok_or("listpack entry runs past its end")
    }

    /// The next element, `None` at the end byte.
    pub(crate) fn next_item(&mut self) -> Result<Option<Item<'a>>, Bad> {
        let p = self.p;
        let b = *self.buf.get(p).ok_or("listpack entry runs past its end")?;
        if b == EOF {
            if p != self.buf.len() - 1 {
                return Err("listpack end byte before its end");
            }
            if let Some(n) = self.declared()
                && n != self.seen
            {
                return Err("listpack element count does not match its header");
            }
            return Ok(None);
        }
        let (item, l) = if b & 0x80 == 0 {
            (Item::Int(i64::from(b)), 1)
        } else if b & 0xC0 == 0x80 {
            let n = usize::from(b & 0x3F);
            (Item::Str(self.get(p + 1, n)?), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let lo = self.get(p + 1, 1)?[0];
            let u = (u16::from(b & 0x1F) << 8) | u16::from(lo);
            // Sign-extend 13 bits.
            (Item::Int(i64::from(((u << 3) as i16) >> 3)), 2)
        } else if b & 0xF0 == 0xE0 {
            let lo = self.get(p + 1, 1)?[0];
            let n = (usize::from(b & 0x0F) << 8) | usize::from(lo);
            (Item::Str(self.get(p + 2, n)?), 2 + n)
        } else {
            match b {
                0xF0 => {
                    let h = self.get(p + 1, 4)?;
                    let n = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
                    (Item::Str(self.get(p + 5, n)?), 5 + n)
                }
                0xF1 => {
                    let d = self.get(p + 1, 2)?;
                    (Item::Int(i64::from(i16::from_le_bytes([d[0], d[1]]))), 3)
                }
                0xF2 => {
                    let d = self.get(p + 1, 3)?;
                    let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                    (Item::Int(i64::from(v)), 4)
                }
                0xF3 => {
                    let d = self.get(p + 1, 4)?;
                    (
                        Item::Int(i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))),
                        5,
                    )
                }
                0xF4 => {
                    let d = self.get(p + 1, 8)?;
                    let mut w = [0u8; 8];
                    w.copy_from_slice(d);
                    (Item::Int(i64::from_le_bytes(w)), 9)
                }
                _ => return Err("listpack entry has an unknown encoding"),
            }
        };
        let bl = backlen_size(l);
        let back = self.get(p + l, bl)?;
        let mut v = 0usize;
        for (i, &x) in back.iter().enumerate() {
            let top = x & 0x80 != 0;
            if top != (i != 0) {
                return Err("listpack entry has a malformed back length");
            }
            v = (v << 7) | usize::from(x & 0x7F);
        }
        if v != l {
            return Err("listpack entry back length does not match the entry");
        }
        self.p = p + l + bl;
        self.seen += 1;
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_encoding() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let strs: Vec<&[u8]> = vec![b"", b"a", b"01", b"-0", &mid, &long];
        let ints = [
            0,
            1,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            40000,
            -(1 << 23),
            (1 << 23) - 1,
            1 << 23,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::MAX,
            i64::MIN,
        ];
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        for s in &strs {
            w.push_str(s);
        }
        for &i in &ints {
            w.push_int(i);
        }
        w.finish();
        let mut r = Reader::new(&buf).unwrap();
        for s in &strs {
            assert_eq!(r.next_item().unwrap(), Some(Item::Str(s)));
        }
        for &i in &ints {
            assert_eq!(r.next_item().unwrap(), Some(Item::Int(i)), "{i}");
        }
        assert_eq!(r.next_item().unwrap(), None);
        for e in strs {
            let mut b = Vec::new();
            let mut w = Writer::new(&mut b);
            w.push_str(e);
            w.finish();
            assert_eq!(b.len(), HEADER + 1 + entry_size(e));
        }
    }

    #[test]
    fn known_bytes() {
        // Redis: a listpack of "a" and 1 is 0c000000 0200 81 61 02 01 01 ff.
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        w.push_str(b"a");
        w.push_str(b"1");
        w.finish();
        assert_eq!(buf, [12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xFF]);
    }

    #[test]
    fn scores_are_formatted_as_c_printf_17g() {
        // Expected texts from C's printf("%.17g") (glibc, via Python's `%` operator).
        for (v, want) in [
            (0.1, "0.10000000000000001"),
            (1e300, "1.0000000000000001e+300"),
            (3.0000000000000004, "3.0000000000000004"),
            (2.5, "2.5"),
            (-0.5, "-0.5"),
            (1e-5, "1.0000000000000001e-05"),
            (1.5e-300, "1.5000000000000001e-300"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (1e17, "1e+17"),
            (9.2e18, "9.2e+18"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.0001, "0.0001"),
            (1.234e-5, "1.234e-05"),
            (1234567.125, "1234567.125"),
            (-0.0, "-0"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(format_score(v), want, "{v:e}");
            if v.is_finite() {
                assert_eq!(crate::num::parse_f64(want.as_bytes()), Some(v), "{want}");
            }
        }
    }
}
