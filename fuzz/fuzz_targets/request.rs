//! Request decoder: never panics; fed in arbitrary chunks it gives exactly what it gives for
//! the whole input; while a request is pending, the bytes it holds stay within what the limits
//! allow one request to be.
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
});
