//! Property tests: encode -> decode round trips in both protocols, and decoding that does not
//! depend on where the input is split.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::{DecodeError, Frame, Limits, Protocol, RequestDecoder, decode, encode, format_double};

fn arb_bytes() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        vec(any::<u8>(), 0..24),
        vec(
            prop_oneof![
                Just(b'\r'),
                Just(b'\n'),
                Just(b'\0'),
                Just(b'a'),
                Just(b'$'),
                Just(b'*')
            ],
            0..8
        ),
    ]
    .prop_map(Bytes::from)
}

fn arb_leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        arb_bytes().prop_map(Frame::SimpleString),
        arb_bytes().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1)].prop_map(Frame::Integer),
        arb_bytes().prop_map(Frame::BulkString),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Null),
        any::<f64>().prop_map(Frame::Double),
        prop_oneof![
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(-0.0),
            Just(1.1)
        ]
        .prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        arb_bytes().prop_map(Frame::BlobError),
        (any::<[u8; 3]>(), arb_bytes()).prop_map(|(format, data)| Frame::Verbatim { format, data }),
        "-?[0-9]{1,40}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
    ]
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    arb_leaf().prop_recursive(4, 48, 6, |inner| {
        let pairs = vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Frame::Array),
            pairs.clone().prop_map(Frame::Map),
            vec(inner.clone(), 0..6).prop_map(Frame::Set),
            vec(inner.clone(), 0..6).prop_map(Frame::Push),
            (pairs, inner).prop_map(|(attributes, data)| Frame::Attribute {
                attributes,
                data: Box::new(data)
            }),
        ]
    })
}

fn clean(b: &Bytes) -> Bytes {
    b.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect::<Vec<u8>>()
        .into()
}

/// The frame a peer decodes after we encode `f` in `proto` (the documented downgrade).
fn expected(f: &Frame, proto: Protocol) -> Frame {
    let seq = |v: &[Frame]| v.iter().map(|x| expected(x, proto)).collect::<Vec<_>>();
    let pairs = |p: &[(Frame, Frame)]| {
        p.iter()
            .map(|(k, v)| (expected(k, proto), expected(v, proto)))
            .collect()
    };
    let flat = |p: &[(Frame, Frame)]| {
        p.iter()
            .flat_map(|(k, v)| [expected(k, proto), expected(v, proto)])
            .collect()
    };
    match (proto, f) {
        (_, Frame::SimpleString(s)) => Frame::SimpleString(clean(s)),
        (_, Frame::Error(s)) => Frame::Error(clean(s)),
        (_, Frame::Array(v)) => Frame::Array(seq(v)),
        (Protocol::Resp3, Frame::NullBulk | Frame::NullArray | Frame::Null) => Frame::Null,
        (Protocol::Resp3, Frame::Map(p)) => Frame::Map(pairs(p)),
        (Protocol::Resp3, Frame::Set(v)) => Frame::Set(seq(v)),
        (Protocol::Resp3, Frame::Push(v)) => Frame::Push(seq(v)),
        (Protocol::Resp3, Frame::Attribute { attributes, data }) => Frame::Attribute {
            attributes: pairs(attributes),
            data: Box::new(expected(data, proto)),
        },
        (Protocol::Resp2, Frame::Null) => Frame::NullBulk,
        (Protocol::Resp2, Frame::Double(d)) => {
            let mut text = Vec::new();
            format_double(*d, &mut text);
            Frame::BulkString(text.into())
        }
        (Protocol::Resp2, Frame::Boolean(b)) => Frame::Integer(i64::from(*b)),
        (Protocol::Resp2, Frame::BlobError(m)) => Frame::Error(clean(m)),
        (Protocol::Resp2, Frame::Verbatim { data, .. }) => Frame::BulkString(data.clone()),
        (Protocol::Resp2, Frame::BigNumber(d)) => Frame::BulkString(d.clone()),
        (Protocol::Resp2, Frame::Map(p)) => Frame::Array(flat(p)),
        (Protocol::Resp2, Frame::Set(v) | Frame::Push(v)) => Frame::Array(seq(v)),
        (Protocol::Resp2, Frame::Attribute { data, .. }) => expected(data, proto),
        (_, other) => other.clone(),
    }
}

/// Equality where a double equals itself bit for bit (and any NaN equals any NaN).
fn same(a: &Frame, b: &Frame) -> bool {
    let all =
        |x: &[Frame], y: &[Frame]| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q));
    let pairs = |x: &[(Frame, Frame)], y: &[(Frame, Frame)]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
    };
    match (a, b) {
        (Frame::Double(x), Frame::Double(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Frame::Array(x), Frame::Array(y))
        | (Frame::Set(x), Frame::Set(y))
        | (Frame::Push(x), Frame::Push(y)) => all(x, y),
        (Frame::Map(x), Frame::Map(y)) => pairs(x, y),
        (
            Frame::Attribute {
                attributes: x,
                data: d1,
            },
            Frame::Attribute {
                attributes: y,
                data: d2,
            },
        ) => pairs(x, y) && same(d1, d2),
        _ => a == b,
    }
}

type Decoded = (Vec<Frame>, Option<DecodeError>);

/// Generic decoder over `chunks` fed one after another.
fn decode_chunks(chunks: &[&[u8]], limits: &Limits) -> Decoded {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            match decode(&mut buf, limits) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => {
                    assert_eq!(buf.len(), before);
                    break;
                }
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

type Commands = (Vec<Vec<Bytes>>, Option<DecodeError>);

fn request_chunks(chunks: &[&[u8]], limits: Limits) -> Commands {
    let mut dec = RequestDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut cmds = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match dec.decode(&mut buf, &mut args) {
                Ok(true) => cmds.push(args.clone()),
                Ok(false) => break,
                Err(e) => return (cmds, Some(e)),
            }
        }
    }
    (cmds, None)
}

/// Split points to try: every boundary of a short input, an even spread of a long one.
fn cuts(len: usize) -> impl Iterator<Item = usize> {
    let step = (len / 200).max(1);
    (0..=len).step_by(step)
}

/// RESP-looking noise: fragments that make the decoders take every branch.
fn arb_noise() -> impl Strategy<Value = Vec<u8>> {
    const FRAGS: &[&[u8]] = &[
        b"*", b"$", b"+", b"-", b":", b"_", b",", b"#", b"!", b"=", b"(", b"%", b"~", b"|", b">",
        b"\r\n", b"\r", b"\n", b"0", b"1", b"2", b"3", b"-1", b"-2", b"4", b"12", b"txt:", b"t",
        b"f", b"inf", b"1.5", b" ", b"\"", b"'", b"\\", b"\\x4", b"1", b"a", b"PING", b"\t", b"\0",
    ];
    let frag = prop::sample::select(FRAGS);
    vec(frag, 0..40).prop_map(|v| v.concat())
}

fn small_limits() -> Limits {
    Limits {
        max_bulk_len: 8,
        max_multibulk_len: 4,
        max_depth: 3,
        max_inline_len: 8,
    }
}

/// An argument list written as a multibulk request, or as an inline request when `inline`
/// (plain arguments bare, others single-quoted or double-quoted with escapes).
fn write_request(args: &[Vec<u8>], inline: bool, out: &mut Vec<u8>) {
    if inline {
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            if !a.is_empty() && a.iter().all(u8::is_ascii_alphanumeric) {
                out.extend_from_slice(a);
            } else if !a.contains(&b'\n') && !a.contains(&b'\\') && a.len() % 2 == 0 {
                // Single quotes: everything literal but \'.
                out.push(b'\'');
                for &c in a {
                    if c == b'\'' {
                        out.push(b'\\');
                    }
                    out.push(c);
                }
                out.push(b'\'');
            } else {
                out.push(b'"');
                for &c in a {
                    match c {
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        0x08 => out.extend_from_slice(b"\\b"),
                        0x07 => out.extend_from_slice(b"\\a"),
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'"' => out.extend_from_slice(b"\\\""),
                        b' ' | b'\'' => out.push(c),
                        c if c.is_ascii_alphanumeric() => out.push(c),
                        c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
                    }
                }
                out.push(b'"');
            }
        }
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_round_trip(frame in arb_frame()) {
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            let mut out = BytesMut::new();
            encode(&frame, proto, &mut out);
            let wire = out.clone();
            let got = decode(&mut out, &Limits::default());
            let want = expected(&frame, proto);
            match got {
                Ok(Some(f)) => prop_assert!(same(&f, &want), "{proto:?}: {f:?} != {want:?} from {wire:?}"),
                other => prop_assert!(false, "{proto:?}: {other:?} from {wire:?}"),
            }
            prop_assert!(out.is_empty(), "{proto:?}: left {out:?}");
        }
    }

    #[test]
    fn generic_split_equals_whole(frames in vec(arb_frame(), 1..4), proto in prop_oneof![Just(Protocol::Resp2), Just(Protocol::Resp3)]) {
        let mut out = BytesMut::new();
        for f in &frames {
            encode(f, proto, &mut out);
        }
        let limits = Limits::default();
        let whole = decode_chunks(&[&out[..]], &limits);
        prop_assert_eq!(whole.1, None);
        prop_assert_eq!(whole.0.len(), frames.len());
        for cut in cuts(out.len()) {
            let split = decode_chunks(&[&out[..cut], &out[cut..]], &limits);
            prop_assert_eq!(split.1, None);
            prop_assert!(split.0.len() == whole.0.len() && split.0.iter().zip(&whole.0).all(|(a, b)| same(a, b)), "cut {cut}");
        }
    }

    #[test]
    fn generic_noise_split_equals_whole(noise in arb_noise(), cut in any::<prop::sample::Index>()) {
        let limits = small_limits();
        let whole = decode_chunks(&[&noise[..]], &limits);
        let at = cut.index(noise.len() + 1);
        let split = decode_chunks(&[&noise[..at], &noise[at..]], &limits);
        prop_assert_eq!(&split, &whole);
        let bytewise: Vec<&[u8]> = noise.chunks(1).collect();
        prop_assert_eq!(decode_chunks(&bytewise, &limits), whole);
    }

    #[test]
    fn requests_round_trip_and_split(
        cmds in vec((vec(vec(any::<u8>(), 0..12), 1..5), any::<bool>(), 0..3usize), 1..6)
    ) {
        let mut wire = Vec::new();
        for (args, inline, filler) in &cmds {
            // Things Redis skips between commands: empty lines and empty multibulks.
            match filler {
                1 => wire.extend_from_slice(b"\r\n"),
                2 => wire.extend_from_slice(b"*0\r\n"),
                _ => {}
            }
            write_request(args, *inline, &mut wire);
        }
        let want: Vec<Vec<Bytes>> = cmds.iter().map(|(a, _, _)| a.iter().map(|x| Bytes::from(x.clone())).collect()).collect();
        let whole = request_chunks(&[&wire[..]], Limits::default());
        prop_assert_eq!(&whole, &(want, None));
        for cut in cuts(wire.len()) {
            prop_assert_eq!(&request_chunks(&[&wire[..cut], &wire[cut..]], Limits::default()), &whole, "cut {}", cut);
        }
    }

    #[test]
    fn request_noise_split_equals_whole(noise in arb_noise(), cut in any::<prop::sample::Index>()) {
        let limits = small_limits();
        let whole = request_chunks(&[&noise[..]], limits);
        let at = cut.index(noise.len() + 1);
        prop_assert_eq!(&request_chunks(&[&noise[..at], &noise[at..]], limits), &whole);
        let bytewise: Vec<&[u8]> = noise.chunks(1).collect();
        prop_assert_eq!(request_chunks(&bytewise, limits), whole);
    }
}
