//! Generic decoder: never panics, consumes exactly one frame, agrees with itself when the input
//! is split, and every decoded frame survives encode -> decode.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sabaody_resp::{Frame, Limits, Protocol, decode, encode};

const LIMITS: Limits = Limits {
    max_bulk_len: 64,
    max_multibulk_len: 16,
    max_depth: 8,
    max_inline_len: 64,
};

/// What a frame decodes back to after `encode(.., Resp3)`: RESP3 writes every null as `_`,
/// and simple strings/errors have CR/LF replaced by spaces.
fn normalize(f: &Frame) -> Frame {
    let clean = |b: &bytes::Bytes| -> bytes::Bytes {
        b.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect::<Vec<u8>>()
            .into()
    };
    let pairs = |p: &[(Frame, Frame)]| {
        p.iter()
            .map(|(k, v)| (normalize(k), normalize(v)))
            .collect()
    };
    match f {
        Frame::NullBulk | Frame::NullArray => Frame::Null,
        Frame::SimpleString(s) => Frame::SimpleString(clean(s)),
        Frame::Error(s) => Frame::Error(clean(s)),
        Frame::Array(v) => Frame::Array(v.iter().map(normalize).collect()),
        Frame::Set(v) => Frame::Set(v.iter().map(normalize).collect()),
        Frame::Push(v) => Frame::Push(v.iter().map(normalize).collect()),
        Frame::Map(p) => Frame::Map(pairs(p)),
        Frame::Attribute { attributes, data } => Frame::Attribute {
            attributes: pairs(attributes),
            data: Box::new(normalize(data)),
        },
        // NaN != NaN: compare its text instead.
        Frame::Double(d) if d.is_nan() => Frame::SimpleString(bytes::Bytes::from_static(b"nan")),
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        let snapshot = buf.clone();
        match decode(&mut buf, &LIMITS) {
            Ok(Some(frame)) => {
                let used = before - buf.len();
                assert!(used > 0);
                // Exactly the frame: alone it decodes the same, and one byte less is incomplete.
                let mut alone = BytesMut::from(&snapshot[..used]);
                assert_eq!(
                    decode(&mut alone, &LIMITS).map(|f| f.map(|f| normalize(&f))),
                    Ok(Some(normalize(&frame)))
                );
                assert!(alone.is_empty());
                let mut short = BytesMut::from(&snapshot[..used - 1]);
                assert_eq!(decode(&mut short, &LIMITS), Ok(None));
                assert_eq!(short.len(), used - 1);
                // Round trip through the encoder.
                let mut out = BytesMut::new();
                encode(&frame, Protocol::Resp3, &mut out);
                let mut again = out.clone();
                let back = decode(&mut again, &LIMITS);
                assert_eq!(
                    back.map(|f| f.map(|f| normalize(&f))),
                    Ok(Some(normalize(&frame))),
                    "{out:?}"
                );
                assert!(again.is_empty());
                // RESP2 downgrade: still exactly one well-formed frame (a map of n pairs becomes
                // an array of 2n elements).
                let mut out2 = BytesMut::new();
                encode(&frame, Protocol::Resp2, &mut out2);
                let resp2_limits = Limits {
                    max_multibulk_len: 2 * LIMITS.max_multibulk_len,
                    ..LIMITS
                };
                assert!(
                    matches!(decode(&mut out2, &resp2_limits), Ok(Some(_))),
                    "{frame:?}"
                );
                assert!(out2.is_empty());
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "nothing consumed when incomplete");
                break;
            }
            Err(_) => {
                assert_eq!(buf.len(), before, "nothing consumed on error");
                break;
            }
        }
    }
});
