//! Bloom filters and Count-Min sketches as `MODULE_2` records, under module type names of our
//! own, so a Redis with RedisBloom loaded never mistakes them for its `MBbloom--` /
//! `CMSk-TYPE` values (a Redis without a module of that name refuses the file, naming it).
//!
//! A `MODULE_2` record is the value type 7, the key, the 64-bit module id as an RDB length
//! (nine 6-bit characters of the name, then a 10-bit encoding version), then the payload as
//! Redis modules write it: each field preceded by an opcode (`UINT` 2 + length-encoded value,
//! `DOUBLE` 4 + 8 bytes LE, `STRING` 5 + an RDB string), ended by opcode `EOF` 0.
//!
//! Payloads, encoding version 1:
//!
//! ```text
//! sbdybloom (scalable Bloom filter)
//!   UINT expansion (0: NONSCALING)   UINT items added   UINT n (sub-filters, oldest first)
//!   n × { UINT capacity  DOUBLE error rate  UINT items  UINT hash count  UINT bits
//!         STRING bit words (bits / 8 bytes: u64 LE words, bit i in word i / 64, bit i % 64) }
//!   EOF
//! sbdy-cms- (Count-Min sketch)
//!   UINT width  UINT depth  UINT total count
//!   STRING counters (width × depth u32 LE, row after row)
//!   EOF
//! ```
//!
//! The bits are those of our hashing (XXH3, `bloom/hash.rs`), which is frozen for this reason.

use super::read::Parser;
use super::write::put_len;
use super::*;
use crate::bloom::{Bloom, SubFilter};
use crate::cms::Cms;
use crate::value::Value;

/// Redis's module type name alphabet (`ModuleTypeNameCharSet`).
const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const BLOOM_NAME: &[u8; 9] = b"sbdybloom";
const CMS_NAME: &[u8; 9] = b"sbdy-cms-";
const ENCVER: u64 = 1;

/// A module type id: the name's nine characters, 6 bits each, then the encoding version.
const fn module_id(name: &[u8; 9], encver: u64) -> u64 {
    let mut id = 0u64;
    let mut i = 0;
    while i < 9 {
        let mut c = 0;
        while c < 64 && CHARSET[c] != name[i] {
            c += 1;
        }
        id = (id << 6) | (c as u64 & 63);
        i += 1;
    }
    (id << 10) | (encver & 1023)
}

const BLOOM_ID: u64 = module_id(BLOOM_NAME, ENCVER);
const CMS_ID: u64 = module_id(CMS_NAME, ENCVER);

/// The name encoded in a module id (for error messages).
pub(crate) fn module_name(id: u64) -> String {
    (0..9)
        .map(|i| char::from(CHARSET[((id >> (10 + 6 * (8 - i))) & 63) as usize]))
        .collect()
}

fn uint(out: &mut Vec<u8>, v: u64) {
    put_len(out, RDB_MODULE_OPCODE_UINT);
    put_len(out, v);
}

fn double(out: &mut Vec<u8>, v: f64) {
    put_len(out, RDB_MODULE_OPCODE_DOUBLE);
    out.extend_from_slice(&v.to_le_bytes());
}

fn string_head(out: &mut Vec<u8>, len: usize) {
    put_len(out, RDB_MODULE_OPCODE_STRING);
    put_len(out, len as u64);
}

pub(crate) fn write_bloom(out: &mut Vec<u8>, b: &Bloom) {
    put_len(out, BLOOM_ID);
    let (expansion, items, subs) = b.parts();
    uint(out, u64::from(expansion));
    uint(out, items);
    uint(out, subs.len() as u64);
    for f in subs {
        let (capacity, error, items, hashes, nbits, words) = f.parts();
        uint(out, capacity);
        double(out, error);
        uint(out, items);
        uint(out, u64::from(hashes));
        uint(out, nbits);
        string_head(out, words.len() * 8);
        out.reserve(words.len() * 8);
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    put_len(out, RDB_MODULE_OPCODE_EOF);
}

pub(crate) fn write_cms(out: &mut Vec<u8>, c: &Cms) {
    put_len(out, CMS_ID);
    uint(out, c.width());
    uint(out, c.depth());
    uint(out, c.count());
    let cells = c.cells();
    string_head(out, cells.len() * 4);
    out.reserve(cells.len() * 4);
    for x in cells {
        out.extend_from_slice(&x.to_le_bytes());
    }
    put_len(out, RDB_MODULE_OPCODE_EOF);
}

fn opcode(p: &mut Parser<'_>, want: u64, what: &str) -> Result<(), RdbError> {
    let at = p.pos;
    let op = p.len()?;
    if op == want {
        Ok(())
    } else {
        Err(p.err_at(
            at,
            format!("module value: expected {what}, found opcode {op}"),
        ))
    }
}

fn read_uint(p: &mut Parser<'_>) -> Result<u64, RdbError> {
    opcode(p, RDB_MODULE_OPCODE_UINT, "an unsigned integer")?;
    p.len()
}

fn read_double(p: &mut Parser<'_>) -> Result<f64, RdbError> {
    opcode(p, RDB_MODULE_OPCODE_DOUBLE, "a double")?;
    Ok(f64::from_le_bytes(p.array()?))
}

/// A `MODULE_2` value: ours, or a clear refusal naming the module.
pub(crate) fn read(p: &mut Parser<'_>, scratch: &mut Vec<u8>) -> Result<Value, RdbError> {
    let at = p.pos;
    let id = p.len()?;
    let v = match id {
        BLOOM_ID => read_bloom(p, scratch, at)?,
        CMS_ID => read_cms(p, scratch, at)?,
        _ if id >> 10 == BLOOM_ID >> 10 || id >> 10 == CMS_ID >> 10 => {
            return Err(p.err_at(
                at,
                format!(
                    "module type '{}' encoding version {} is not supported",
                    module_name(id),
                    id & 1023
                ),
            ));
        }
        _ => {
            return Err(p.err_at(
                at,
                format!(
                    "values of module type '{}' are not supported",
                    module_name(id)
                ),
            ));
        }
    };
    let eof_at = p.pos;
    if p.len()? != RDB_MODULE_OPCODE_EOF {
        return Err(p.err_at(eof_at, "module value: missing end opcode"));
    }
    Ok(v)
}

fn read_bloom(p: &mut Parser<'_>, scratch: &mut Vec<u8>, at: usize) -> Result<Value, RdbError> {
    let expansion =
        u32::try_from(read_uint(p)?).map_err(|_| p.err_at(at, "Bloom filter: bad expansion"))?;
    let items = read_uint(p)?;
    let n = read_uint(p)?;
    // Each sub-filter takes at least 30 bytes: a lying count runs out of file first.
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n >= 1 && n.saturating_mul(30) <= p.remaining())
        .ok_or_else(|| p.err_at(at, "Bloom filter: bad sub-filter count"))?;
    let mut subs = Vec::with_capacity(n);
    for _ in 0..n {
        let capacity = read_uint(p)?;
        let error = read_double(p)?;
        let sub_items = read_uint(p)?;
        let hashes = u32::try_from(read_uint(p)?).unwrap_or(0);
        let nbits = read_uint(p)?;
        opcode(p, RDB_MODULE_OPCODE_STRING, "a string")?;
        let bytes = p.string(scratch)?;
        if bytes.len() % 8 != 0 {
            return Err(p.err_at(at, "Bloom filter: bit array is not whole words"));
        }
        let words: Box<[u64]> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        let f = SubFilter::from_parts(capacity, error, sub_items, hashes, nbits, words)
            .ok_or_else(|| p.err_at(at, "Bloom filter: inconsistent sub-filter"))?;
        subs.push(f);
    }
    let b = Bloom::from_parts(expansion, items, subs)
        .ok_or_else(|| p.err_at(at, "Bloom filter: inconsistent filter"))?;
    Ok(Value::Bloom(Box::new(b)))
}

fn read_cms(p: &mut Parser<'_>, scratch: &mut Vec<u8>, at: usize) -> Result<Value, RdbError> {
    let width = read_uint(p)?;
    let depth = read_uint(p)?;
    let count = read_uint(p)?;
    opcode(p, RDB_MODULE_OPCODE_STRING, "a string")?;
    let bytes = p.string(scratch)?;
    if bytes.len() % 4 != 0 {
        return Err(p.err_at(at, "Count-Min sketch: counters are not whole"));
    }
    let cells: Box<[u32]> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let c = Cms::from_parts(width, depth, count, cells)
        .ok_or_else(|| p.err_at(at, "Count-Min sketch: inconsistent sketch"))?;
    Ok(Value::Cms(Box::new(c)))
}

/// Skips a module payload (opcode-tagged fields up to `EOF`) without understanding it.
pub(crate) fn skip_payload(p: &mut Parser<'_>) -> Result<(), RdbError> {
    loop {
        let at = p.pos;
        match p.len()? {
            RDB_MODULE_OPCODE_EOF => return Ok(()),
            RDB_MODULE_OPCODE_SINT | RDB_MODULE_OPCODE_UINT => {
                p.len()?;
            }
            RDB_MODULE_OPCODE_FLOAT => {
                p.take(4)?;
            }
            RDB_MODULE_OPCODE_DOUBLE => {
                p.take(8)?;
            }
            RDB_MODULE_OPCODE_STRING => p.skip_string()?,
            op => return Err(p.err_at(at, format!("module data: unknown opcode {op}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_differ_from_redisbloom() {
        assert_eq!(module_name(BLOOM_ID), "sbdybloom");
        assert_eq!(module_name(CMS_ID), "sbdy-cms-");
        assert_eq!(BLOOM_ID & 1023, 1);
        assert_ne!(BLOOM_ID >> 10, module_id(b"MBbloom--", 0) >> 10);
        assert_ne!(CMS_ID >> 10, module_id(b"CMSk-TYPE", 0) >> 10);
    }
}
