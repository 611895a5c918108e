//! HyperLogLog in Redis's own string representation, so a value moves between Redis and Sabaody
//! (`GET`/`SET`, RDB) and counts the same.
//!
//! ```text
//! +------+---+-----+----------+-------------------------------+
//! | HYLL | E | N/U | card (8) | registers: dense or sparse     |
//! +------+---+-----+----------+-------------------------------+
//!   4 B    1   3 B   LE u64; bit 7 of the last byte set = stale
//! ```
//!
//! * 16384 registers (P = 14) of up to 6 bits. An element's hash is MurmurHash64A with seed
//!   `0xadc83b19`; its low 14 bits pick the register, the register keeps the largest
//!   "trailing zeros of the rest + 1" seen (1..=51).
//! * Dense (`E` = 0): 12288 bytes of 6-bit registers, least significant bits first.
//! * Sparse (`E` = 1): run-length opcodes. `00xxxxxx` ZERO: 1..64 zero registers;
//!   `01xxxxxx yyyyyyyy` XZERO: 1..16384 zero registers; `1vvvvvxx` VAL: 1..4 registers of value
//!   1..32. A new key is sparse; it turns dense when a register needs more than 32 or the
//!   string would pass 3000 bytes (`hll-sparse-max-bytes`). Updates split and merge opcodes
//!   exactly as Redis does, so the bytes are the same after the same operations.
//! * The count is Ertl's improved estimator ("New cardinality estimation algorithms for
//!   HyperLogLog sketches", arXiv:1702.01284), as in Redis >= 5, computed from the register
//!   histogram; the result is cached in the header until the next change.

use crate::Error;
use bytes::BytesMut;

pub(crate) const HDR: usize = 16;
pub(crate) const REGS: usize = 1 << 14;
const P: u32 = 14;
const Q: usize = 50;
pub(crate) const DENSE_SIZE: usize = HDR + (REGS * 6).div_ceil(8);
const SPARSE_MAX_BYTES: usize = 3000;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// MurmurHash2, 64-bit version (Appleby's `MurmurHash64A`), little-endian word reads.
pub(crate) fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let (words, tail) = key.as_chunks::<8>();
    for w in words {
        let mut k = u64::from_le_bytes(*w);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        h ^= tail_word(tail);
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The 1..=7 bytes of `t` as a little-endian, zero-padded word (what MurmurHash64A's tail
/// switch XORs in byte by byte), from at most two overlapping loads: bytes at the same
/// position are the same, so OR-ing the overlap is harmless.
fn tail_word(t: &[u8]) -> u64 {
    let n = t.len();
    let byte = |i: usize| u64::from(t.get(i).copied().unwrap_or(0));
    let quad = |i: usize| {
        t.get(i..i + 4)
            .and_then(|q| <[u8; 4]>::try_from(q).ok())
            .map_or(0, |q| u64::from(u32::from_le_bytes(q)))
    };
    if n >= 4 {
        quad(0) | quad(n - 4) << (8 * (n - 4))
    } else if n > 0 {
        byte(0) | byte(n / 2) << (8 * (n / 2)) | byte(n - 1) << (8 * (n - 1))
    } else {
        0
    }
}

/// The register an element goes to and the value it proposes (1..=51).
pub(crate) fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A new, empty HLL: sparse, one XZERO opcode covering every register, cached count 0.
pub(crate) const EMPTY: [u8; HDR + 2] = {
    let mut v = [0u8; HDR + 2];
    (v[0], v[1], v[2], v[3]) = (b'H', b'Y', b'L', b'L');
    v[4] = SPARSE;
    let l = REGS - 1;
    v[HDR] = 0x40 | (l >> 8) as u8;
    v[HDR + 1] = (l & 0xFF) as u8;
    v
};

/// Whether `v` is a string Redis accepts as a HyperLogLog.
pub(crate) fn check(v: &[u8]) -> Result<(), Error> {
    let ok = v.len() >= HDR
        && v.starts_with(b"HYLL")
        && (v[4] == DENSE && v.len() == DENSE_SIZE || v[4] == SPARSE);
    if ok {
        Ok(())
    } else {
        Err(Error::NotHyperLogLog)
    }
}

pub(crate) fn is_dense(v: &[u8]) -> bool {
    v.get(4) == Some(&DENSE)
}

/// The cached count, if valid.
pub(crate) fn cached(v: &[u8]) -> Option<u64> {
    let card: [u8; 8] = v.get(8..16)?.try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

pub(crate) fn set_cached(v: &mut [u8], card: u64) {
    if let Some(c) = v.get_mut(8..16) {
        c.copy_from_slice(&card.to_le_bytes());
    }
}

pub(crate) fn invalidate(v: &mut [u8]) {
    if let Some(b) = v.get_mut(15) {
        *b |= 0x80;
    }
}

// ----- dense -----

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = u16::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = u16::from(val & 63);
    if let Some(b) = regs.get_mut(byte) {
        *b = (u16::from(*b) & !(63u16 << fb) | (v << fb)) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = (u16::from(*b) & !(63u16 >> (8 - fb)) | (v >> (8 - fb))) as u8;
    }
}

/// Raises register `i` of a dense HLL to `count`; true if it changed.
fn dense_set(v: &mut [u8], i: usize, count: u8) -> bool {
    let Some(regs) = v.get_mut(HDR..) else {
        return false;
    };
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

fn dense_histo(regs: &[u8], h: &mut [u32; 64]) {
    let (groups, _) = regs.as_chunks::<12>();
    for g in groups {
        // 16 registers in 12 bytes: the 6-bit fields of each 3-byte little-endian triple.
        for t in g.as_chunks::<3>().0 {
            let x = u32::from(t[0]) | u32::from(t[1]) << 8 | u32::from(t[2]) << 16;
            h[(x & 63) as usize] += 1;
            h[((x >> 6) & 63) as usize] += 1;
            h[((x >> 12) & 63) as usize] += 1;
            h[((x >> 18) & 63) as usize] += 1;
        }
    }
}

// ----- sparse -----

fn is_zero(b: u8) -> bool {
    b & 0xC0 == 0
}
fn is_xzero(b: u8) -> bool {
    b & 0xC0 == 0x40
}
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
fn zero_len(b: u8) -> usize {
    usize::from(b & 0x3F) + 1
}
fn xzero_len(b: u8, b1: u8) -> usize {
    (usize::from(b & 0x3F) << 8 | usize::from(b1)) + 1
}
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1F) + 1
}
fn val_len(b: u8) -> usize {
    usize::from(b & 3) + 1
}
fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}
fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}
fn xzero_op(len: usize) -> [u8; 2] {
    let l = len - 1;
    [0x40 | (l >> 8) as u8, (l & 0xFF) as u8]
}

/// Walks the sparse opcodes, calling `f(first register, run length, value)` for each run.
/// Returns the number of registers covered, or `None` if a VAL run goes past the end.
fn sparse_runs(ops: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Option<usize> {
    let mut i = 0;
    let mut idx = 0;
    while let Some(&b) = ops.get(i) {
        if is_zero(b) {
            idx += zero_len(b);
            i += 1;
        } else if is_xzero(b) {
            idx += xzero_len(b, ops.get(i + 1).copied().unwrap_or(0));
            i += 2;
        } else {
            let (len, val) = (val_len(b), val_value(b));
            if idx + len > REGS {
                return None;
            }
            f(idx, len, val);
            idx += len;
            i += 1;
        }
    }
    Some(idx)
}

/// Converts a sparse HLL to dense in place (header, cached count included, kept).
pub(crate) fn to_dense(v: &mut BytesMut) -> Result<(), Error> {
    if is_dense(v) {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(v.get(..HDR).ok_or(Error::CorruptHyperLogLog)?);
    dense[4] = DENSE;
    let regs = &mut dense[HDR..];
    let n = sparse_runs(&v[HDR..], |first, len, val| {
        for i in first..first + len {
            dense_put(regs, i, val);
        }
    });
    if n != Some(REGS) {
        return Err(Error::CorruptHyperLogLog);
    }
    v.clear();
    v.extend_from_slice(&dense);
    Ok(())
}

/// Raises register `index` of a sparse HLL to `count` with Redis's in-place opcode surgery,
/// turning it dense when needed. `Ok(true)` if it changed.
fn sparse_set(v: &mut BytesMut, index: usize, count: u8) -> Result<bool, Error> {
    if count > VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Step 1: the opcode covering `index`.
    let mut end = v.len();
    let mut p = HDR;
    let mut first = 0;
    let mut prev = None;
    let mut span = 0;
    while p < end {
        let b = v[p];
        let oplen;
        (span, oplen) = if is_zero(b) {
            (zero_len(b), 1)
        } else if is_val(b) {
            (val_len(b), 1)
        } else {
            (xzero_len(b, v.get(p + 1).copied().unwrap_or(0)), 2)
        };
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Error::CorruptHyperLogLog);
    }
    let op = v[p];
    let oldlen = if is_xzero(op) { 2 } else { 1 };
    let next = (p + oldlen < end).then_some(p + oldlen);
    let runlen = if is_zero(op) {
        zero_len(op)
    } else if is_xzero(op) {
        xzero_len(op, v.get(p + 1).copied().unwrap_or(0))
    } else {
        val_len(op)
    };

    // Step 2: the trivial cases, then the general split.
    let trivial = if is_val(op) {
        if val_value(op) >= count {
            return Ok(false);
        }
        runlen == 1
    } else {
        is_zero(op) && runlen == 1
    };
    if trivial {
        v[p] = val_op(count, 1);
    } else {
        let mut seq = [0u8; 5];
        let mut n = 0;
        let last = first + span - 1;
        let push_zero = |seq: &mut [u8; 5], n: &mut usize, len: usize| {
            if len > ZERO_MAX_LEN {
                seq[*n..*n + 2].copy_from_slice(&xzero_op(len));
                *n += 2;
            } else {
                seq[*n] = zero_op(len);
                *n += 1;
            }
        };
        if is_val(op) {
            let cur = val_value(op);
            if index != first {
                seq[n] = val_op(cur, index - first);
                n += 1;
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                seq[n] = val_op(cur, last - index);
                n += 1;
            }
        } else {
            if index != first {
                push_zero(&mut seq, &mut n, index - first);
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                push_zero(&mut seq, &mut n, last - index);
            }
        }
        // Step 3: put the new sequence in place of the old opcode.
        if n > oldlen && v.len() + (n - oldlen) > SPARSE_MAX_BYTES {
            return promote(v, index, count);
        }
        if n > oldlen {
            let d = n - oldlen;
            v.resize(end + d, 0);
            if let Some(nx) = next {
                v.copy_within(nx..end, nx + d);
            }
            end += d;
        } else if n < oldlen {
            let d = oldlen - n;
            if let Some(nx) = next {
                v.copy_within(nx..end, nx - d);
            }
            end -= d;
            v.truncate(end);
        }
        v[p..p + n].copy_from_slice(&seq[..n]);
    }

    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from `prev`.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = v[p];
        if is_xzero(b) {
            p += 2;
            continue;
        }
        if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(v[p + 1]) {
            let b1 = v[p + 1];
            let len = val_len(b) + val_len(b1);
            if val_value(b) == val_value(b1) && len <= VAL_MAX_LEN {
                v[p + 1] = val_op(val_value(b), len);
                v.copy_within(p + 1..end, p);
                end -= 1;
                v.truncate(end);
                continue;
            }
        }
        p += 1;
    }
    invalidate(v);
    Ok(true)
}

fn promote(v: &mut BytesMut, index: usize, count: u8) -> Result<bool, Error> {
    to_dense(v)?;
    Ok(dense_set(v, index, count))
}

/// Raises register `index` to `count` in either encoding; `Ok(true)` if it changed.
pub(crate) fn set(v: &mut BytesMut, index: usize, count: u8) -> Result<bool, Error> {
    if is_dense(v) {
        Ok(dense_set(v, index, count))
    } else {
        sparse_set(v, index, count)
    }
}

/// `PFADD`'s step for one element; `Ok(true)` if a register changed.
pub(crate) fn add(v: &mut BytesMut, ele: &[u8]) -> Result<bool, Error> {
    let (index, count) = pattern(ele);
    set(v, index, count)
}

/// Whether adding `ele` to the dense HLL `v` would raise a register.
pub(crate) fn would_raise(v: &[u8], ele: &[u8]) -> bool {
    let (index, count) = pattern(ele);
    count > dense_get(v.get(HDR..).unwrap_or(&[]), index)
}

/// Raises `max[i]` to register `i` of `v` for every `i` (a checked HLL).
pub(crate) fn merge_into(max: &mut [u8; REGS], v: &[u8]) -> Result<(), Error> {
    let regs = v.get(HDR..).unwrap_or(&[]);
    if is_dense(v) {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(regs, i));
        }
        Ok(())
    } else {
        let n = sparse_runs(regs, |first, len, val| {
            for m in max.iter_mut().skip(first).take(len) {
                *m = (*m).max(val);
            }
        });
        if n == Some(REGS) {
            Ok(())
        } else {
            Err(Error::CorruptHyperLogLog)
        }
    }
}

/// Writes the merged registers `max` into `v` (PFMERGE's destination), register by register
/// in the encoding `v` has (turned dense first if `dense`), as Redis does.
pub(crate) fn write_merged(v: &mut BytesMut, max: &[u8; REGS], dense: bool) -> Result<(), Error> {
    if dense {
        to_dense(v)?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            // Redis ignores a failure here (the sources were already checked).
            let _ = set(v, i, m);
        }
    }
    invalidate(v);
    Ok(())
}

/// The estimate of a checked HLL.
pub(crate) fn count(v: &[u8]) -> Result<u64, Error> {
    let mut h = [0u32; 64];
    let regs = v.get(HDR..).unwrap_or(&[]);
    if is_dense(v) {
        dense_histo(regs, &mut h);
    } else {
        // Redis's sparse histogram has no overflow guard; only the total is checked.
        let mut i = 0;
        let mut idx = 0;
        while let Some(&b) = regs.get(i) {
            if is_zero(b) {
                idx += zero_len(b);
                h[0] += zero_len(b) as u32;
                i += 1;
            } else if is_xzero(b) {
                let l = xzero_len(b, regs.get(i + 1).copied().unwrap_or(0));
                idx += l;
                h[0] += l as u32;
                i += 2;
            } else {
                idx += val_len(b);
                h[usize::from(val_value(b))] += val_len(b) as u32;
                i += 1;
            }
        }
        if idx != REGS {
            return Err(Error::CorruptHyperLogLog);
        }
    }
    Ok(estimate(&h))
}

/// The estimate of raw registers (PFCOUNT over several keys).
pub(crate) fn count_raw(max: &[u8; REGS]) -> u64 {
    let mut h = [0u32; 64];
    for &m in max {
        h[usize::from(m & 63)] += 1;
    }
    estimate(&h)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

fn estimate(h: &[u32; 64]) -> u64 {
    let m = REGS as f64;
    let mut z = m * tau((m - f64::from(h[Q + 1])) / m);
    for j in (1..=Q).rev() {
        z += f64::from(h[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(h[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> BytesMut {
        BytesMut::from(&EMPTY[..])
    }

    #[test]
    fn patterns_match_redis() {
        // From redis-server 7.0: `PFADD h a` then `PFDEBUG DECODE h` is "Z:12711 v:2,1 Z:3672",
        // and for "hello" "Z:9216 v:1,1 Z:7167".
        assert_eq!(pattern(b"a"), (12711, 2));
        assert_eq!(pattern(b"hello"), (9216, 1));
        assert_eq!(murmur64a(b"", 0), 0);
    }

    /// Appleby's reference loop: the tail mixed in one byte at a time.
    fn murmur64a_bytewise(key: &[u8], seed: u32) -> u64 {
        const M: u64 = 0xc6a4_a793_5bd1_e995;
        let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
        let (words, tail) = key.as_chunks::<8>();
        for w in words {
            let mut k = u64::from_le_bytes(*w).wrapping_mul(M);
            k ^= k >> 47;
            h = (h ^ k.wrapping_mul(M)).wrapping_mul(M);
        }
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u64::from(b) << (8 * i);
        }
        if !tail.is_empty() {
            h = h.wrapping_mul(M);
        }
        h ^= h >> 47;
        h = h.wrapping_mul(M);
        h ^ (h >> 47)
    }

    #[test]
    fn murmur_tail_of_every_length() {
        let key: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(151) ^ 0xA5).collect();
        for n in 0..=key.len() {
            let k = &key[..n];
            assert_eq!(
                murmur64a(k, 0xadc8_3b19),
                murmur64a_bytewise(k, 0xadc8_3b19),
                "length {n}"
            );
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = fresh();
        let mut d = fresh();
        to_dense(&mut d).unwrap();
        assert_eq!(d.len(), DENSE_SIZE);
        for i in 0..2000u32 {
            let e = i.to_le_bytes();
            assert_eq!(add(&mut s, &e).unwrap(), add(&mut d, &e).unwrap());
            if i % 97 == 0 {
                assert_eq!(count(&s).unwrap(), count(&d).unwrap());
            }
        }
        // Past 3000 bytes the sparse one turned dense, and the registers are the same.
        assert!(is_dense(&s));
        assert_eq!(&s[HDR..], &d[HDR..]);
        check(&s).unwrap();
    }

    #[test]
    fn sparse_decodes_to_every_register() {
        let mut s = fresh();
        for i in 0..300u32 {
            add(&mut s, &i.to_be_bytes()).unwrap();
        }
        assert!(!is_dense(&s));
        let mut max = [0u8; REGS];
        merge_into(&mut max, &s).unwrap();
        assert_eq!(count_raw(&max), count(&s).unwrap());
        let est = count(&s).unwrap();
        assert!((295..=305).contains(&est), "{est}");
    }

    #[test]
    fn checks() {
        assert_eq!(check(b"HYLL"), Err(Error::NotHyperLogLog));
        assert!(check(&EMPTY).is_ok());
        let mut bad = EMPTY;
        bad[4] = 0;
        assert_eq!(check(&bad), Err(Error::NotHyperLogLog));
        let mut corrupt = BytesMut::from(&EMPTY[..]);
        corrupt[HDR + 1] = 0;
        assert_eq!(count(&corrupt), Err(Error::CorruptHyperLogLog));
        assert_eq!(count(&EMPTY), Ok(0));
    }
}
