//! The parser: a cursor over a whole RDB file in memory, and the decoders that turn each
//! value record into a Sabaody [`Value`].
//!
//! Every read is bounds-checked; counts from the file only bound loops that consume bytes
//! (so a lying count runs out of input and fails) and never size an allocation beyond what
//! the remaining bytes could hold.

use super::listpack::{self, Item};
use super::ziplist::{self, Ziplist, Zipmap};
use super::*;
use crate::hash::Hash;
use crate::list::List;
use crate::set::Set;
use crate::value::Value;
use crate::zset::ZSet;

/// A cursor over the file.
pub(crate) struct Parser<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

/// A string as stored: bytes (from the file, or decompressed into a scratch buffer) or an
/// integer encoding.
pub(crate) enum Sv<'s> {
    Bytes(&'s [u8]),
    Int(i64),
}

/// A decoded value.
pub(crate) enum Obj<'s> {
    Str(&'s [u8]),
    Int(i64),
    Value(Value),
    /// A collection with no element: Redis 7.0 skips such keys.
    Empty,
}

/// Scratch buffers reused from record to record, so loading strings allocates nothing.
#[derive(Default)]
pub(crate) struct Bufs {
    pub(crate) val: Vec<u8>,
    pub(crate) elem: Vec<u8>,
    pub(crate) elem2: Vec<u8>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Parser<'a> {
        Parser { buf, pos: 0 }
    }

    pub(crate) fn err(&self, reason: impl Into<String>) -> RdbError {
        RdbError::new(self.pos, reason)
    }

    pub(crate) fn err_at(&self, at: usize, reason: impl Into<String>) -> RdbError {
        RdbError::new(at, reason)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn byte(&mut self) -> Result<u8, RdbError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("unexpected end of file"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: u64) -> Result<&'a [u8], RdbError> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > self.remaining() {
            return Err(self.err(format!(
                "unexpected end of file: {n} bytes needed, {} left",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let s = self.take(N as u64)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A length or, with `true`, a special string encoding number.
    fn len_or_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let b = self.byte()?;
        match b >> 6 {
            RDB_6BITLEN => Ok((u64::from(b & 0x3F), false)),
            RDB_14BITLEN => {
                let lo = self.byte()?;
                Ok(((u64::from(b & 0x3F) << 8) | u64::from(lo), false))
            }
            RDB_ENCVAL => Ok((u64::from(b & 0x3F), true)),
            _ => match b {
                RDB_32BITLEN => Ok((u64::from(u32::from_be_bytes(self.array()?)), false)),
                RDB_64BITLEN => Ok((u64::from_be_bytes(self.array()?), false)),
                _ => Err(self.err_at(self.pos - 1, format!("unknown length encoding 0x{b:02x}"))),
            },
        }
    }

    /// A plain length.
    pub(crate) fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            (_, true) => Err(self.err_at(at, "a string encoding where a length was expected")),
        }
    }

    /// A count of items that each take at least `min` bytes: refused if the file cannot hold
    /// them, so a count can size an allocation.
    pub(crate) fn count(&mut self, min: usize) -> Result<usize, RdbError> {
        let at = self.pos;
        let n = self.len()?;
        let fits = usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min) <= self.remaining());
        fits.ok_or_else(|| {
            self.err_at(at, format!("count {n} is larger than the rest of the file"))
        })
    }

    /// A string in any encoding; LZF is decompressed into `scratch`.
    pub(crate) fn sv<'s>(&mut self, scratch: &'s mut Vec<u8>) -> Result<Sv<'s>, RdbError>
    where
        'a: 's,
    {
        let at = self.pos;
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            return Ok(Sv::Bytes(self.take(n)?));
        }
        match n as u8 {
            RDB_ENC_INT8 => Ok(Sv::Int(i64::from(self.byte()? as i8))),
            RDB_ENC_INT16 => Ok(Sv::Int(i64::from(i16::from_le_bytes(self.array()?)))),
            RDB_ENC_INT32 => Ok(Sv::Int(i64::from(i32::from_le_bytes(self.array()?)))),
            RDB_ENC_LZF => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let data = self.take(clen)?;
                let ulen = usize::try_from(ulen).unwrap_or(usize::MAX);
                match lzf::decompress(data, ulen, scratch) {
                    Ok(()) => Ok(Sv::Bytes(scratch)),
                    Err(lzf::LzfError::BadLength) => Err(self.err_at(
                        at,
                        format!("LZF string declares {ulen} bytes from {clen} compressed"),
                    )),
                    Err(lzf::LzfError::Corrupt) => {
                        Err(self.err_at(at, "invalid LZF compressed string"))
                    }
                }
            }
            e => Err(self.err_at(at, format!("unknown string encoding {e}"))),
        }
    }

    /// A string's bytes (an integer encoding is formatted into `scratch`).
    pub(crate) fn string<'s>(&mut self, scratch: &'s mut Vec<u8>) -> Result<&'s [u8], RdbError>
    where
        'a: 's,
    {
        let is_int = self
            .buf
            .get(self.pos)
            .is_some_and(|&b| b >> 6 == RDB_ENCVAL && (b & 0x3F) < RDB_ENC_LZF);
        if !is_int {
            return match self.sv(scratch)? {
                Sv::Bytes(b) => Ok(b),
                Sv::Int(_) => Err(self.err("integer string decoded as bytes")),
            };
        }
        let Sv::Int(int) = self.sv(&mut Vec::new())? else {
            return Err(self.err("bytes decoded as an integer string"));
        };
        let mut d = [0u8; 20];
        let digits = crate::ops::fmt_i64(int, &mut d);
        scratch.clear();
        scratch.extend_from_slice(digits);
        Ok(scratch)
    }

    /// Skips a string without decoding it.
    pub(crate) fn skip_string(&mut self) -> Result<(), RdbError> {
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            self.take(n)?;
            return Ok(());
        }
        match n as u8 {
            RDB_ENC_INT8 => self.take(1).map(drop),
            RDB_ENC_INT16 => self.take(2).map(drop),
            RDB_ENC_INT32 => self.take(4).map(drop),
            RDB_ENC_LZF => {
                let clen = self.len()?;
                self.len()?;
                self.take(clen).map(drop)
            }
            e => Err(self.err(format!("unknown string encoding {e}"))),
        }
    }

    /// A packed blob (listpack, ziplist, intset, zipmap): a string, in `scratch` if it was
    /// compressed.
    fn blob<'s>(&mut self, scratch: &'s mut Vec<u8>) -> Result<&'s [u8], RdbError>
    where
        'a: 's,
    {
        let at = self.pos;
        match self.sv(scratch)? {
            Sv::Bytes(b) => Ok(b),
            Sv::Int(_) => Err(self.err_at(at, "an integer where a packed blob was expected")),
        }
    }

    /// A score of the old `ZSET` type: a length byte (253 NaN, 254 +inf, 255 -inf), then
    /// that many bytes of text.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        let n = self.byte()?;
        let v = match n {
            253 => f64::NAN,
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            _ => {
                let t = self.take(u64::from(n))?;
                crate::num::parse_f64(t).ok_or_else(|| self.err_at(at, "invalid score"))?
            }
        };
        if v.is_nan() {
            return Err(self.err_at(at, "sorted set score is NaN"));
        }
        Ok(v)
    }

    fn binary_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        let v = f64::from_le_bytes(self.array()?);
        if v.is_nan() {
            return Err(self.err_at(at, "sorted set score is NaN"));
        }
        Ok(v)
    }

    /// Skips the value of a record of type `ty` without building it (a parallel loader's
    /// worker passing over another worker's key). For a valid value it consumes exactly
    /// what [`Parser::object`] would; types that `object` refuses are refused here too.
    pub(crate) fn skip_object(&mut self, ty: u8) -> Result<(), RdbError> {
        match ty {
            RDB_TYPE_STRING
            | RDB_TYPE_SET_INTSET
            | RDB_TYPE_SET_LISTPACK
            | RDB_TYPE_LIST_ZIPLIST
            | RDB_TYPE_HASH_ZIPMAP
            | RDB_TYPE_HASH_ZIPLIST
            | RDB_TYPE_HASH_LISTPACK
            | RDB_TYPE_ZSET_ZIPLIST
            | RDB_TYPE_ZSET_LISTPACK => self.skip_string(),
            RDB_TYPE_LIST | RDB_TYPE_SET | RDB_TYPE_LIST_QUICKLIST => {
                for _ in 0..self.count(1)? {
                    self.skip_string()?;
                }
                Ok(())
            }
            RDB_TYPE_HASH => {
                for _ in 0..self.count(2)? {
                    self.skip_string()?;
                    self.skip_string()?;
                }
                Ok(())
            }
            RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => {
                for _ in 0..self.count(2)? {
                    self.skip_string()?;
                    if ty == RDB_TYPE_ZSET {
                        let n = self.byte()?;
                        if n < 253 {
                            self.take(u64::from(n))?;
                        }
                    } else {
                        self.take(8)?;
                    }
                }
                Ok(())
            }
            RDB_TYPE_LIST_QUICKLIST_2 => {
                for _ in 0..self.count(2)? {
                    self.len()?;
                    self.skip_string()?;
                }
                Ok(())
            }
            RDB_TYPE_MODULE_2 => {
                self.len()?;
                module::skip_payload(self)
            }
            // Types `object` refuses, with the reason.
            _ => self.object(ty, &mut Bufs::default()).map(drop),
        }
    }

    /// The value of a record of type `ty`.
    pub(crate) fn object<'s>(&mut self, ty: u8, bufs: &'s mut Bufs) -> Result<Obj<'s>, RdbError>
    where
        'a: 's,
    {
        let at = self.pos;
        let Bufs { val, elem, elem2 } = bufs;
        let v = match ty {
            RDB_TYPE_STRING => {
                return Ok(match self.sv(val)? {
                    Sv::Bytes(b) => Obj::Str(b),
                    Sv::Int(i) => Obj::Int(i),
                });
            }
            RDB_TYPE_LIST => {
                let n = self.count(1)?;
                let mut l = List::new();
                for _ in 0..n {
                    l.push_back(self.string(elem)?);
                }
                Value::List(Box::new(l))
            }
            RDB_TYPE_SET => {
                let n = self.count(1)?;
                let mut s = Set::new();
                for _ in 0..n {
                    let m_at = self.pos;
                    if !s.insert(self.string(elem)?) {
                        return Err(self.err_at(m_at, "duplicate set member"));
                    }
                }
                Value::Set(Box::new(s))
            }
            RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => {
                let n = self.count(2)?;
                let mut z = ZSet::with_hint(n, 0);
                for _ in 0..n {
                    let m_at = self.pos;
                    let m = self.string(elem)?;
                    let score = if ty == RDB_TYPE_ZSET {
                        self.text_double()?
                    } else {
                        self.binary_double()?
                    };
                    zadd(&mut z, score, m).map_err(|e| self.err_at(m_at, e))?;
                }
                Value::ZSet(Box::new(z))
            }
            RDB_TYPE_HASH => {
                let n = self.count(2)?;
                let mut h = Hash::new();
                for _ in 0..n {
                    let f_at = self.pos;
                    let f = self.string(elem)?;
                    let v = self.string(elem2)?;
                    if !h.set(f, v) {
                        return Err(self.err_at(f_at, "duplicate hash field"));
                    }
                }
                Value::Hash(h)
            }
            RDB_TYPE_MODULE_2 => module::read(self, val)?,
            RDB_TYPE_MODULE_PRE_GA => {
                return Err(self.err_at(at, "module values of the pre-GA format are not supported"));
            }
            RDB_TYPE_STREAM_LISTPACKS
            | RDB_TYPE_STREAM_LISTPACKS_2
            | RDB_TYPE_STREAM_LISTPACKS_3 => {
                return Err(self.err_at(at, "stream values are not supported"));
            }
            RDB_TYPE_SET_INTSET => {
                let b = self.blob(val)?;
                let ints = ziplist::intset(b).map_err(|e| self.err_at(at, e))?;
                let mut s = Set::new();
                let mut d = [0u8; 20];
                for i in ints {
                    s.insert(crate::ops::fmt_i64(i, &mut d));
                }
                Value::Set(Box::new(s))
            }
            RDB_TYPE_SET_LISTPACK => {
                let b = self.blob(val)?;
                let mut r = listpack::Reader::new(b).map_err(|e| self.err_at(at, e))?;
                let mut s = Set::new();
                let mut d = [0u8; 20];
                while let Some(it) = r.next_item().map_err(|e| self.err_at(at, e))? {
                    if !s.insert(item_bytes(it, &mut d)) {
                        return Err(self.err_at(at, "duplicate set member"));
                    }
                }
                Value::Set(Box::new(s))
            }
            RDB_TYPE_LIST_ZIPLIST | RDB_TYPE_LIST_QUICKLIST => {
                let nodes = if ty == RDB_TYPE_LIST_ZIPLIST {
                    1
                } else {
                    self.count(1)?
                };
                let mut l = List::new();
                let mut d = [0u8; 20];
                for _ in 0..nodes {
                    let node_at = self.pos;
                    let b = self.blob(val)?;
                    let mut z = Ziplist::new(b).map_err(|e| self.err_at(node_at, e))?;
                    while let Some(it) = z.next_item().map_err(|e| self.err_at(node_at, e))? {
                        l.push_back(item_bytes(it, &mut d));
                    }
                }
                Value::List(Box::new(l))
            }
            RDB_TYPE_LIST_QUICKLIST_2 => {
                let nodes = self.count(2)?;
                let mut l = List::new();
                let mut d = [0u8; 20];
                for _ in 0..nodes {
                    let node_at = self.pos;
                    let container = self.len()?;
                    match container {
                        QUICKLIST_NODE_CONTAINER_PLAIN => l.push_back(self.string(val)?),
                        QUICKLIST_NODE_CONTAINER_PACKED => {
                            let b = self.blob(val)?;
                            let mut r =
                                listpack::Reader::new(b).map_err(|e| self.err_at(node_at, e))?;
                            while let Some(it) =
                                r.next_item().map_err(|e| self.err_at(node_at, e))?
                            {
                                l.push_back(item_bytes(it, &mut d));
                            }
                        }
                        c => {
                            return Err(self
                                .err_at(node_at, format!("unknown quicklist node container {c}")));
                        }
                    }
                }
                Value::List(Box::new(l))
            }
            RDB_TYPE_HASH_ZIPMAP => {
                let b = self.blob(val)?;
                let mut z = Zipmap::new(b).map_err(|e| self.err_at(at, e))?;
                let mut h = Hash::new();
                while let Some((f, v)) = z.next_pair().map_err(|e| self.err_at(at, e))? {
                    if !h.set(f, v) {
                        return Err(self.err_at(at, "duplicate hash field"));
                    }
                }
                Value::Hash(h)
            }
            RDB_TYPE_HASH_ZIPLIST | RDB_TYPE_HASH_LISTPACK => {
                let b = self.blob(val)?;
                let mut pairs =
                    Pairs::new(b, ty == RDB_TYPE_HASH_LISTPACK).map_err(|e| self.err_at(at, e))?;
                let mut h = Hash::new();
                let (mut d1, mut d2) = ([0u8; 20], [0u8; 20]);
                while let Some((f, v)) = pairs.next_pair().map_err(|e| self.err_at(at, e))? {
                    if !h.set(item_bytes(f, &mut d1), item_bytes(v, &mut d2)) {
                        return Err(self.err_at(at, "duplicate hash field"));
                    }
                }
                Value::Hash(h)
            }
            RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_ZSET_LISTPACK => {
                let b = self.blob(val)?;
                let mut pairs =
                    Pairs::new(b, ty == RDB_TYPE_ZSET_LISTPACK).map_err(|e| self.err_at(at, e))?;
                let mut z = ZSet::new();
                let mut d = [0u8; 20];
                while let Some((m, s)) = pairs.next_pair().map_err(|e| self.err_at(at, e))? {
                    let score = match s {
                        Item::Int(i) => i as f64,
                        Item::Str(t) => crate::num::parse_f64(t)
                            .ok_or_else(|| self.err_at(at, "invalid score"))?,
                    };
                    zadd(&mut z, score, item_bytes(m, &mut d)).map_err(|e| self.err_at(at, e))?;
                }
                Value::ZSet(Box::new(z))
            }
            t => return Err(self.err_at(at.saturating_sub(1), format!("unknown value type {t}"))),
        };
        if v.is_empty_collection() {
            return Ok(Obj::Empty);
        }
        Ok(Obj::Value(v))
    }
}

fn zadd(z: &mut ZSet, score: f64, m: &[u8]) -> Result<(), &'static str> {
    if score.is_nan() {
        return Err("sorted set score is NaN");
    }
    if z.score(m).is_some() {
        return Err("duplicate sorted set member");
    }
    z.insert_new(score, m).map_err(|_| "sorted set too large")
}

/// A packed element as bytes (an integer formatted into `buf`).
fn item_bytes<'x>(it: Item<'x>, buf: &'x mut [u8; 20]) -> &'x [u8] {
    match it {
        Item::Str(s) => s,
        Item::Int(i) => crate::ops::fmt_i64(i, buf),
    }
}

/// Elements of a listpack or a ziplist taken two at a time.
enum Pairs<'a> {
    Lp(listpack::Reader<'a>),
    Zl(Ziplist<'a>),
}

impl<'a> Pairs<'a> {
    fn new(b: &'a [u8], is_listpack: bool) -> Result<Pairs<'a>, listpack::Bad> {
        Ok(if is_listpack {
            Pairs::Lp(listpack::Reader::new(b)?)
        } else {
            Pairs::Zl(Ziplist::new(b)?)
        })
    }

    fn item(&mut self) -> Result<Option<Item<'a>>, listpack::Bad> {
        match self {
            Pairs::Lp(r) => r.next_item(),
            Pairs::Zl(z) => z.next_item(),
        }
    }

    fn next_pair(&mut self) -> Result<Option<(Item<'a>, Item<'a>)>, listpack::Bad> {
        let Some(a) = self.item()? else {
            return Ok(None);
        };
        match self.item()? {
            Some(b) => Ok(Some((a, b))),
            None => Err("packed blob has an odd number of elements"),
        }
    }
}
