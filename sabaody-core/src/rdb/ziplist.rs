//! Ziplists (Redis before 7.0: small lists, hashes and sorted sets) and the other old packed
//! blobs still found in RDB files: zipmaps (hashes before 2.6) and intsets. Read only.
//!
//! ```text
//! ziplist: [total bytes: u32 LE][offset of the last entry: u32 LE][count: u16 LE][entries][0xFF]
//! entry:   [previous entry size: 1 byte < 254, or 0xFE + u32 LE][encoding][data]
//!   00xxxxxx                string, 6-bit length
//!   01xxxxxx yyyyyyyy       string, 14-bit length (big endian)
//!   10000000 + u32 BE       string, 32-bit length
//!   11000000 / 11010000 / 11100000   int16 / int32 / int64, LE
//!   11110000                int24, LE
//!   11111110                int8
//!   1111xxxx (0001..1101)   the integer xxxx - 1 (0..12), no data
//! ```

use super::listpack::{Bad, Item};

/// A ziplist, iterated entry by entry with every read bounds-checked.
pub(crate) struct Ziplist<'a> {
    buf: &'a [u8],
    p: usize,
}

impl<'a> Ziplist<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Result<Ziplist<'a>, Bad> {
        if buf.len() < 11 {
            return Err("ziplist shorter than its header");
        }
        let total = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if total != buf.len() {
            return Err("ziplist size does not match its header");
        }
        if buf[buf.len() - 1] != 0xFF {
            return Err("ziplist does not end with its end byte");
        }
        Ok(Ziplist { buf, p: 10 })
    }

    fn get(&self, at: usize, n: usize) -> Result<&'a [u8], Bad> {
        at.checked_add(n)
            .and_then(|end| self.buf.get(at..end))
            .ok_or("ziplist entry runs past its end")
    }

    pub(crate) fn next_item(&mut self) -> Result<Option<Item<'a>>, Bad> {
        let mut p = self.p;
        let first = self.get(p, 1)?[0];
        if first == 0xFF {
            if p != self.buf.len() - 1 {
                return Err("ziplist end byte before its end");
            }
            return Ok(None);
        }
        p += if first == 0xFE { 5 } else { 1 };
        let enc = self.get(p, 1)?[0];
        let (item, next) = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3F);
                (Item::Str(self.get(p + 1, n)?), p + 1 + n)
            }
            1 => {
                let lo = self.get(p + 1, 1)?[0];
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(lo);
                (Item::Str(self.get(p + 2, n)?), p + 2 + n)
            }
            2 => {
                if enc != 0x80 {
                    return Err("ziplist entry has an unknown encoding");
                }
                let h = self.get(p + 1, 4)?;
                let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
                (Item::Str(self.get(p + 5, n)?), p + 5 + n)
            }
            _ => match enc {
                0xC0 => {
                    let d = self.get(p + 1, 2)?;
                    (
                        Item::Int(i64::from(i16::from_le_bytes([d[0], d[1]]))),
                        p + 3,
                    )
                }
                0xD0 => {
                    let d = self.get(p + 1, 4)?;
                    (
                        Item::Int(i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))),
                        p + 5,
                    )
                }
                0xE0 => {
                    let d = self.get(p + 1, 8)?;
                    let mut w = [0u8; 8];
                    w.copy_from_slice(d);
                    (Item::Int(i64::from_le_bytes(w)), p + 9)
                }
                0xF0 => {
                    let d = self.get(p + 1, 3)?;
                    let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                    (Item::Int(i64::from(v)), p + 4)
                }
                0xFE => {
                    let d = self.get(p + 1, 1)?;
                    (Item::Int(i64::from(d[0] as i8)), p + 2)
                }
                0xF1..=0xFD => (Item::Int(i64::from(enc & 0x0F) - 1), p + 1),
                _ => return Err("ziplist entry has an unknown encoding"),
            },
        };
        self.p = next;
        Ok(Some(item))
    }
}

/// A field and its value.
pub(crate) type Pair<'a> = (&'a [u8], &'a [u8]);

/// A zipmap (hashes written before Redis 2.6): `[count: u8]` then
/// `[len][field][len][free: u8][value][free bytes]` pairs, lengths one byte below 254 or
/// `0xFE` + u32 LE, ended by `0xFF`.
pub(crate) struct Zipmap<'a> {
    buf: &'a [u8],
    p: usize,
}

impl<'a> Zipmap<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Result<Zipmap<'a>, Bad> {
        if buf.len() < 2 || buf[buf.len() - 1] != 0xFF {
            return Err("zipmap is malformed");
        }
        Ok(Zipmap { buf, p: 1 })
    }

    fn len_at(&self, p: usize) -> Result<(usize, usize), Bad> {
        let b = *self.buf.get(p).ok_or("zipmap entry runs past its end")?;
        match b {
            0..=253 => Ok((usize::from(b), p + 1)),
            254 => {
                let d = self
                    .buf
                    .get(p + 1..p + 5)
                    .ok_or("zipmap entry runs past its end")?;
                Ok((u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize, p + 5))
            }
            _ => Err("zipmap entry has a bad length"),
        }
    }

    fn get(&self, at: usize, n: usize) -> Result<&'a [u8], Bad> {
        at.checked_add(n)
            .and_then(|end| self.buf.get(at..end))
            .ok_or("zipmap entry runs past its end")
    }

    /// The next (field, value), `None` at the end byte.
    pub(crate) fn next_pair(&mut self) -> Result<Option<Pair<'a>>, Bad> {
        if *self
            .buf
            .get(self.p)
            .ok_or("zipmap entry runs past its end")?
            == 0xFF
        {
            if self.p != self.buf.len() - 1 {
                return Err("zipmap end byte before its end");
            }
            return Ok(None);
        }
        let (fl, p) = self.len_at(self.p)?;
        let field = self.get(p, fl)?;
        let (vl, p) = self.len_at(p + fl)?;
        let free = usize::from(self.get(p, 1)?[0]);
        let value = self.get(p + 1, vl)?;
        let end = p + 1 + vl + free;
        if end >= self.buf.len() {
            return Err("zipmap entry runs past its end");
        }
        self.p = end;
        Ok(Some((field, value)))
    }
}

/// The members of an intset blob (`[width: u32 LE = 2, 4 or 8][count: u32 LE][members LE]`),
/// checked to be strictly ascending.
pub(crate) fn intset(buf: &[u8]) -> Result<Vec<i64>, Bad> {
    if buf.len() < 8 {
        return Err("intset shorter than its header");
    }
    let width = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let count = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err("intset has a bad encoding");
    }
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(buf.len()) {
        return Err("intset size does not match its header");
    }
    let mut out = Vec::with_capacity(count);
    for c in buf[8..].chunks_exact(width) {
        let v = match c {
            [a, b] => i64::from(i16::from_le_bytes([*a, *b])),
            [a, b, c, d] => i64::from(i32::from_le_bytes([*a, *b, *c, *d])),
            _ => {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                i64::from_le_bytes(w)
            }
        };
        if out.last().is_some_and(|&l| l >= v) {
            return Err("intset members are not in ascending order");
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ziplist_known_bytes() {
        // Redis 6's ziplist for RPUSH l 2 5 hello: zlbytes 22, tail 15, count 3,
        // entries 00 f3 | 02 f6 | 02 05 'hello', end.
        let zl = [
            22u8, 0, 0, 0, 15, 0, 0, 0, 3, 0, 0x00, 0xF3, 0x02, 0xF6, 0x02, 0x05, b'h', b'e', b'l',
            b'l', b'o', 0xFF,
        ];
        let mut z = Ziplist::new(&zl).unwrap();
        assert_eq!(z.next_item().unwrap(), Some(Item::Int(2)));
        assert_eq!(z.next_item().unwrap(), Some(Item::Int(5)));
        assert_eq!(z.next_item().unwrap(), Some(Item::Str(b"hello")));
        assert_eq!(z.next_item().unwrap(), None);
    }

    #[test]
    fn zipmap_and_intset() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x02world!!\xff";
        let mut z = Zipmap::new(zm).unwrap();
        assert_eq!(z.next_pair().unwrap(), Some((&b"foo"[..], &b"bar"[..])));
        assert_eq!(z.next_pair().unwrap(), Some((&b"hello"[..], &b"world"[..])));
        assert_eq!(z.next_pair().unwrap(), None);
        let is = [2u8, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 7, 0];
        assert_eq!(intset(&is).unwrap(), vec![-1, 7]);
        let bad = [2u8, 0, 0, 0, 2, 0, 0, 0, 7, 0, 7, 0];
        assert!(intset(&bad).is_err());
    }
}
