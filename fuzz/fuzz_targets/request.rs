//! Request decoder: never panics; fed in arbitrary chunks it gives exactly what it gives for
//! the whole input; while a request is pending, the bytes it holds stay within what the limits
//! allow one request to be; on input made only of multibulk requests it agrees with a plain
//! stateless reading of Redis's rules (`reference`), so the quick path for whole requests is
//! checked against something that shares no code with it.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use sabaody_resp::{DecodeError, Limits, RequestDecoder};

const LIMITS: Limits = Limits {
    max_bulk_len: 64,
    max_multibulk_len: 8,
    max_depth: 8,
    max_inline_len: 64,
};

/// The largest a single request can be under LIMITS (header line, then every argument's header
/// line, payload and trailing two bytes).
const MAX_REQUEST: usize = (LIMITS.max_inline_len + 2)
    + LIMITS.max_multibulk_len * (LIMITS.max_inline_len + 2 + LIMITS.max_bulk_len + 2);

type Outcome = (Vec<Vec<Bytes>>, Option<DecodeError>);

fn run(input: &[u8], chunk_sizes: &[u8]) -> Outcome {
    let mut dec = RequestDecoder::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut cmds = Vec::new();
    let mut rest = input;
    let mut sizes = chunk_sizes.iter().cycle();
    while !rest.is_empty() {
        let n = if chunk_sizes.is_empty() {
            rest.len()
        } else {
            (*sizes.next().unwrap_or(&0) as usize % 17) + 1
        };
        let n = n.min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match dec.decode(&mut buf, &mut args) {
                Ok(true) => {
                    assert!(!args.is_empty(), "empty commands are skipped");
                    cmds.push(args.clone());
                }
                Ok(false) => {
                    assert!(args.is_empty());
                    assert_eq!(dec.pending_len(), buf.len());
                    if let Some(&first) = buf.first() {
                        if first == b'*' {
                            assert!(buf.len() < MAX_REQUEST, "pending {} bytes", buf.len());
                        } else {
                            assert!(
                                buf.len() <= LIMITS.max_inline_len,
                                "pending inline {} bytes",
                                buf.len()
                            );
                        }
                    }
                    break;
                }
                Err(e) => return (cmds, Some(e)),
            }
        }
    }
    (cmds, None)
}

/// Redis's `string2ll` for the numbers of `*` and `$` lines: canonical decimal, no `+`, no
/// leading zero, no `-0`, within i64.
fn string2ll(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let v: i64 = text.parse().ok()?;
    (v.to_string() == text).then_some(v)
}

/// The line at `p`: `Ok(Some(cr))`, `Ok(None)` if incomplete, or the too-long error.
fn line(input: &[u8], p: usize, too_big: DecodeError) -> Result<Option<usize>, DecodeError> {
    let max = LIMITS.max_inline_len;
    match input[p..].iter().position(|&c| c == b'\r') {
        Some(i) if i > max => Err(too_big),
        Some(i) if p + i + 1 < input.len() => Ok(Some(p + i)),
        Some(_) => Ok(None),
        None if input.len() - p > max => Err(too_big),
        None => Ok(None),
    }
}

/// The multibulk rules read plainly over the whole input; `None` if a request does not start
/// with `*` (inline requests are not modelled).
fn reference(input: &[u8]) -> Option<Outcome> {
    use DecodeError::*;
    let mut cmds = Vec::new();
    let mut p = 0;
    'requests: while p < input.len() {
        if input[p] != b'*' {
            return None;
        }
        let cr = match line(input, p, TooBigMultibulkCountString) {
            Ok(Some(cr)) => cr,
            Ok(None) => break,
            Err(e) => return Some((cmds, Some(e))),
        };
        let count = match string2ll(&input[p + 1..cr]) {
            Some(n) if n <= 0 => {
                p = cr + 2;
                continue;
            }
            Some(n) if n as u64 <= LIMITS.max_multibulk_len as u64 => n as usize,
            _ => return Some((cmds, Some(InvalidMultibulkLength))),
        };
        let mut q = cr + 2;
        let mut args = Vec::new();
        for _ in 0..count {
            let cr = match line(input, q, TooBigBulkCountString) {
                Ok(Some(cr)) => cr,
                Ok(None) => break 'requests,
                Err(e) => return Some((cmds, Some(e))),
            };
            if input[q] != b'$' {
                return Some((cmds, Some(ExpectedBulk(input[q]))));
            }
            let len = match string2ll(&input[q + 1..cr]) {
                Some(n) if n >= 0 && n as u64 <= LIMITS.max_bulk_len as u64 => n as usize,
                _ => return Some((cmds, Some(InvalidBulkLength))),
            };
            q = cr + 2;
            if input.len() < q + len + 2 {
                break 'requests;
            }
            args.push(Bytes::copy_from_slice(&input[q..q + len]));
            q += len + 2;
        }
        cmds.push(args);
        p = q;
    }
    Some((cmds, None))
}

fuzz_target!(|data: &[u8]| {
    // First byte: how many of the following bytes give chunk sizes.
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = (k as usize % 8).min(rest.len());
    let (sizes, input) = rest.split_at(k);
    let whole = run(input, &[]);
    let chunked = run(input, if sizes.is_empty() { &[0] } else { sizes });
    assert_eq!(whole, chunked);
    if let Some(want) = reference(input) {
        assert_eq!(whole, want);
    }
});
