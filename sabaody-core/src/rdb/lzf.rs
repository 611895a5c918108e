//! LZF, the compression RDB strings use (Marc Lehmann's liblzf format), written from its
//! format description.
//!
//! A compressed stream is a sequence of items, each starting with a control byte `c`:
//!
//! ```text
//! c < 32:           literal run: the next c + 1 bytes are copied as they are
//! c >= 32, c>>5 < 7: back reference of length (c >> 5) + 2
//! c>>5 == 7:         back reference of length next byte + 9
//!                    then one byte o: the copy starts ((c & 31) << 8 | o) + 1 bytes back
//! ```
//!
//! A reference may overlap the bytes it produces (a run), so it is copied byte by byte.
//! Offsets reach 8192 bytes back, lengths 3 to 264.

const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3) + 1;

/// Largest output one input byte of a compressed stream can produce (a 2-byte reference of
/// up to 8 bytes, or a 3-byte one of up to 264): a declared length past `input * 88 + 32`
/// cannot be honest, so it is refused before anything is allocated.
const MAX_RATIO: usize = 88;

#[inline]
fn hash3(b: &[u8], p: usize, bits: u32) -> usize {
    let v = u32::from(b[p]) << 16 | u32::from(b[p + 1]) << 8 | u32::from(b[p + 2]);
    (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

/// Compresses `input`, appending to `out` (which is cleared first). Gives up (returns false)
/// as soon as the output would exceed `max_out` bytes, as liblzf does when the output does not
/// fit its buffer. `table` is scratch space reused between calls.
pub(crate) fn compress(
    input: &[u8],
    out: &mut Vec<u8>,
    max_out: usize,
    table: &mut Vec<u32>,
) -> bool {
    out.clear();
    let n = input.len();
    if n == 0 {
        return true;
    }
    // A table about the input's size (at most 2^14 slots) keeps short strings cheap to
    // compress: clearing it is most of the fixed cost.
    let bits = (n.next_power_of_two().trailing_zeros()).clamp(8, 14);
    table.clear();
    table.resize(1 << bits, 0);
    let mut lit = 0usize; // bytes in the open literal run
    let mut ctrl = 0usize; // position of the open run's control byte in `out`
    let mut ip = 0usize;
    while ip + 2 < n {
        let h = hash3(input, ip, bits);
        let cand = table[h] as usize;
        table[h] = (ip + 1) as u32;
        if cand != 0 {
            let r = cand - 1;
            let dist = ip - r;
            if dist <= MAX_OFF && input[r..r + 3] == input[ip..ip + 3] {
                let max = (n - ip).min(MAX_REF - 1);
                let mut len = 3;
                while len < max && input[r + len] == input[ip + len] {
                    len += 1;
                }
                if lit > 0 {
                    out[ctrl] = (lit - 1) as u8;
                    lit = 0;
                }
                let off = dist - 1;
                let l = len - 2;
                if l < 7 {
                    out.push(((l << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                if out.len() > max_out {
                    return false;
                }
                // Index the last positions of the match so the next one can refer to them.
                let end = ip + len;
                let mut q = end.saturating_sub(2).max(ip + 1);
                while q < end && q + 2 < n {
                    table[hash3(input, q, bits)] = (q + 1) as u32;
                    q += 1;
                }
                ip = end;
                continue;
            }
        }
        push_literal(out, &mut lit, &mut ctrl, input[ip]);
        if out.len() > max_out {
            return false;
        }
        ip += 1;
    }
    while ip < n {
        push_literal(out, &mut lit, &mut ctrl, input[ip]);
        ip += 1;
    }
    if lit > 0 {
        out[ctrl] = (lit - 1) as u8;
    }
    out.len() <= max_out
}

#[inline]
fn push_literal(out: &mut Vec<u8>, lit: &mut usize, ctrl: &mut usize, b: u8) {
    if *lit == 0 {
        *ctrl = out.len();
        out.push(0);
    }
    out.push(b);
    *lit += 1;
    if *lit == MAX_LIT {
        out[*ctrl] = (MAX_LIT - 1) as u8;
        *lit = 0;
    }
}

/// Why a compressed stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LzfError {
    /// The declared length is impossible for the compressed size, or cannot be allocated.
    BadLength,
    /// The stream is malformed (runs past its end, refers before the start, wrong length).
    Corrupt,
}

/// Decompresses `input`, which must expand to exactly `out_len` bytes, into `out` (cleared
/// first). Every read and every copy is bounds-checked: garbage gives an error, never a
/// panic, and no allocation larger than the honest maximum for `input`'s size.
pub(crate) fn decompress(input: &[u8], out_len: usize, out: &mut Vec<u8>) -> Result<(), LzfError> {
    out.clear();
    if out_len > input.len().saturating_mul(MAX_RATIO).saturating_add(32) {
        return Err(LzfError::BadLength);
    }
    out.try_reserve(out_len).map_err(|_| LzfError::BadLength)?;
    let mut ip = 0;
    while ip < input.len() {
        let c = usize::from(input[ip]);
        ip += 1;
        if c < 32 {
            let run = c + 1;
            let lit = input.get(ip..ip + run).ok_or(LzfError::Corrupt)?;
            if out.len() + run > out_len {
                return Err(LzfError::Corrupt);
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = c >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(LzfError::Corrupt)?);
                ip += 1;
            }
            len += 2;
            let o = usize::from(*input.get(ip).ok_or(LzfError::Corrupt)?);
            ip += 1;
            let dist = ((c & 0x1f) << 8 | o) + 1;
            if dist > out.len() || out.len() + len > out_len {
                return Err(LzfError::Corrupt);
            }
            let start = out.len() - dist;
            // An overlapping reference (dist < len) repeats the last `dist` bytes: copied
            // in chunks that double as the output grows, not byte by byte (a long run of
            // one byte is a chain of dist-1 references: a 512 MB string of zeros took
            // seconds to RESTORE that way).
            let mut left = len;
            while left > 0 {
                let n = left.min(out.len() - start);
                out.extend_from_within(start..start + n);
                left -= n;
            }
        }
    }
    if out.len() == out_len {
        Ok(())
    } else {
        Err(LzfError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) -> usize {
        let mut out = Vec::new();
        let mut table = Vec::new();
        assert!(compress(data, &mut out, usize::MAX, &mut table));
        let mut back = Vec::new();
        decompress(&out, data.len(), &mut back).unwrap();
        assert_eq!(back, data);
        out.len()
    }

    /// The decoder as a plain byte loop, for [`overlapping_references_copy_in_chunks`].
    fn decompress_bytewise(input: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        let mut ip = 0;
        while ip < input.len() {
            let c = usize::from(input[ip]);
            ip += 1;
            if c < 32 {
                out.extend_from_slice(&input[ip..ip + c + 1]);
                ip += c + 1;
            } else {
                let mut len = c >> 5;
                if len == 7 {
                    len += usize::from(input[ip]);
                    ip += 1;
                }
                let dist = ((c & 0x1f) << 8 | usize::from(input[ip])) + 1;
                ip += 1;
                for _ in 0..len + 2 {
                    out.push(out[out.len() - dist]);
                }
            }
        }
        out
    }

    /// References shorter than their length (runs, short periods) decode as the byte loop
    /// does, at every distance up to the length and at the longest length.
    #[test]
    fn overlapping_references_copy_in_chunks() {
        for dist in 1..=12usize {
            for len in [3usize, 4, 8, 9, 10, 100, 264] {
                // `dist` literal bytes, then one back reference of `len` bytes at `dist`.
                let mut input = vec![(dist - 1) as u8];
                input.extend((0..dist).map(|i| b'a' + i as u8));
                let l = len - 2;
                let d = dist - 1;
                if l < 7 {
                    input.push(((l << 5) | (d >> 8)) as u8);
                } else {
                    input.push(((7 << 5) | (d >> 8)) as u8);
                    input.push((l - 7) as u8);
                }
                input.push((d & 0xff) as u8);
                let want = decompress_bytewise(&input);
                assert_eq!(want.len(), dist + len);
                let mut got = Vec::new();
                decompress(&input, want.len(), &mut got).unwrap();
                assert_eq!(got, want, "dist {dist} len {len}");
            }
        }
        // A long run compresses to a chain of such references.
        for data in [vec![0u8; 1 << 20], b"abc".repeat(100_000)] {
            round_trip(&data);
        }
    }

    #[test]
    fn round_trips() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(b"ab");
        round_trip(b"abc");
        assert!(round_trip(&[b'x'; 1000]) < 30);
        let text = b"hello hello hello world, hello world, the world says hello".repeat(50);
        assert!(round_trip(&text) < text.len() / 4);
        let mut rng = fastrand::Rng::with_seed(7);
        let noise: Vec<u8> = (0..5000).map(|_| rng.u8(..)).collect();
        round_trip(&noise);
        let mixed: Vec<u8> = (0..100_000u32)
            .map(|i| {
                if i % 97 < 50 {
                    (i % 7) as u8
                } else {
                    rng.u8(..4)
                }
            })
            .collect();
        round_trip(&mixed);
        // Long runs exercise overlapping references and the longest match.
        let runs: Vec<u8> = (0..20_000u32).map(|i| (i / 300) as u8).collect();
        round_trip(&runs);
    }

    #[test]
    fn gives_up_when_it_does_not_shrink() {
        let mut rng = fastrand::Rng::with_seed(1);
        let noise: Vec<u8> = (0..200).map(|_| rng.u8(..)).collect();
        let mut out = Vec::new();
        assert!(!compress(
            &noise,
            &mut out,
            noise.len() - 4,
            &mut Vec::new()
        ));
    }

    #[test]
    fn garbage_is_refused() {
        let mut out = Vec::new();
        // Reference before the start.
        assert_eq!(
            decompress(&[0x20, 0x00], 3, &mut out),
            Err(LzfError::Corrupt)
        );
        // Literal run past the end.
        assert_eq!(
            decompress(&[0x05, b'a'], 6, &mut out),
            Err(LzfError::Corrupt)
        );
        // Wrong total.
        assert_eq!(
            decompress(&[0x00, b'a'], 2, &mut out),
            Err(LzfError::Corrupt)
        );
        // Absurd declared length: refused before allocating.
        assert_eq!(
            decompress(&[0x00, b'a'], 1 << 40, &mut out),
            Err(LzfError::BadLength)
        );
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..20_000 {
            let n = rng.usize(0..40);
            let g: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            let _ = decompress(&g, rng.usize(0..200), &mut out);
        }
    }
}
