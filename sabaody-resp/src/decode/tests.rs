use bytes::{Bytes, BytesMut};

use super::decode;
use crate::{DecodeError, Frame, Limits};

fn b<T: AsRef<[u8]> + ?Sized>(s: &'static T) -> Bytes {
    Bytes::from_static(s.as_ref())
}

fn dec(input: &[u8]) -> Result<Option<Frame>, DecodeError> {
    dec_with(input, &Limits::default())
}

/// Decodes `input`, checking the consumed-bytes contract: on `Some` the frame and nothing else
/// is consumed (asserted by the caller via `rest`), otherwise nothing is.
fn dec_with(input: &[u8], limits: &Limits) -> Result<Option<Frame>, DecodeError> {
    let mut buf = BytesMut::from(input);
    let r = decode(&mut buf, limits);
    if !matches!(r, Ok(Some(_))) {
        assert_eq!(
            &buf[..],
            input,
            "buffer must be untouched when nothing is decoded"
        );
    }
    r
}

/// Every RESP type, byte for byte: (wire, frame).
fn table() -> Vec<(&'static [u8], Frame)> {
    vec![
        (b"+OK\r\n", Frame::SimpleString(b("OK"))),
        (b"+\r\n", Frame::SimpleString(b(""))),
        (
            b"-ERR unknown command\r\n",
            Frame::Error(b("ERR unknown command")),
        ),
        (b":0\r\n", Frame::Integer(0)),
        (b":42\r\n", Frame::Integer(42)),
        (b":-1\r\n", Frame::Integer(-1)),
        (b":9223372036854775807\r\n", Frame::Integer(i64::MAX)),
        (b":-9223372036854775808\r\n", Frame::Integer(i64::MIN)),
        (b"$3\r\nfoo\r\n", Frame::BulkString(b("foo"))),
        (b"$0\r\n\r\n", Frame::BulkString(b(""))),
        (b"$5\r\na\0\r\nb\r\n", Frame::BulkString(b(b"a\0\r\nb"))),
        (b"$2\r\n\r\n\r\n", Frame::BulkString(b(b"\r\n"))),
        (b"$-1\r\n", Frame::NullBulk),
        (b"*-1\r\n", Frame::NullArray),
        (b"_\r\n", Frame::Null),
        (b"*0\r\n", Frame::Array(vec![])),
        (
            b"*3\r\n$3\r\nSET\r\n$5\r\nk\0\r\nx\r\n:-7\r\n",
            Frame::Array(vec![
                Frame::bulk("SET"),
                Frame::bulk(&b"k\0\r\nx"[..]),
                Frame::Integer(-7),
            ]),
        ),
        (
            b"*2\r\n*1\r\n$-1\r\n*-1\r\n",
            Frame::Array(vec![Frame::Array(vec![Frame::NullBulk]), Frame::NullArray]),
        ),
        (b",1.5\r\n", Frame::Double(1.5)),
        (b",1.1000000000000001\r\n", Frame::Double(1.1)),
        (b",-2\r\n", Frame::Double(-2.0)),
        (b",1e+300\r\n", Frame::Double(1e300)),
        (b",inf\r\n", Frame::Double(f64::INFINITY)),
        (b",-inf\r\n", Frame::Double(f64::NEG_INFINITY)),
        (b"#t\r\n", Frame::Boolean(true)),
        (b"#f\r\n", Frame::Boolean(false)),
        (
            b"!21\r\nSYNTAX invalid syntax\r\n",
            Frame::BlobError(b("SYNTAX invalid syntax")),
        ),
        (b"!0\r\n\r\n", Frame::BlobError(b(""))),
        (
            b"=15\r\ntxt:Some string\r\n",
            Frame::Verbatim {
                format: *b"txt",
                data: b("Some string"),
            },
        ),
        (
            b"=4\r\nmkd:\r\n",
            Frame::Verbatim {
                format: *b"mkd",
                data: b(""),
            },
        ),
        (
            b"(3492890328409238509324850943850943825024385\r\n",
            Frame::BigNumber(b("3492890328409238509324850943850943825024385")),
        ),
        (b"(-12\r\n", Frame::BigNumber(b("-12"))),
        (
            b"%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#f\r\n",
            Frame::Map(vec![
                (Frame::simple("first"), Frame::Integer(1)),
                (Frame::bulk("second"), Frame::Boolean(false)),
            ]),
        ),
        (b"%0\r\n", Frame::Map(vec![])),
        (
            b"~2\r\n:1\r\n+a\r\n",
            Frame::Set(vec![Frame::Integer(1), Frame::simple("a")]),
        ),
        (
            b"|1\r\n+key-popularity\r\n*1\r\n:90\r\n*1\r\n:2039123\r\n",
            Frame::Attribute {
                attributes: vec![(
                    Frame::simple("key-popularity"),
                    Frame::Array(vec![Frame::Integer(90)]),
                )],
                data: Box::new(Frame::Array(vec![Frame::Integer(2039123)])),
            },
        ),
        (
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            Frame::Push(vec![
                Frame::bulk("message"),
                Frame::bulk("ch"),
                Frame::bulk("hi"),
            ]),
        ),
    ]
}

#[test]
fn every_type_decodes_byte_for_byte() {
    for (wire, frame) in table() {
        let mut buf = BytesMut::from(wire);
        buf.extend_from_slice(b"+NEXT\r\n");
        let got = decode(&mut buf, &Limits::default());
        assert_eq!(got, Ok(Some(frame)), "{:?}", String::from_utf8_lossy(wire));
        assert_eq!(
            &buf[..],
            b"+NEXT\r\n",
            "consumed exactly one frame: {:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn nan_double() {
    for wire in [&b",nan\r\n"[..], b",-nan\r\n"] {
        match dec(wire) {
            Ok(Some(Frame::Double(d))) => assert!(d.is_nan()),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn null_kinds_are_distinct() {
    assert_eq!(dec(b"$-1\r\n"), Ok(Some(Frame::NullBulk)));
    assert_eq!(dec(b"*-1\r\n"), Ok(Some(Frame::NullArray)));
    assert_eq!(dec(b"_\r\n"), Ok(Some(Frame::Null)));
    assert_ne!(Frame::NullBulk, Frame::NullArray);
    assert_ne!(Frame::NullBulk, Frame::Null);
}

#[test]
fn every_strict_prefix_is_incomplete_and_untouched() {
    for (wire, _) in table() {
        for cut in 0..wire.len() {
            assert_eq!(
                dec(&wire[..cut]),
                Ok(None),
                "{:?} cut at {cut}",
                String::from_utf8_lossy(wire)
            );
        }
    }
}

#[test]
fn payloads_are_zero_copy() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nfoo\r\n+bar\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let Ok(Some(Frame::Array(items))) = decode(&mut buf, &Limits::default()) else {
        panic!()
    };
    let Frame::BulkString(foo) = &items[0] else {
        panic!()
    };
    let Frame::SimpleString(bar) = &items[1] else {
        panic!()
    };
    assert_eq!(foo.as_ptr() as usize, base + 8);
    assert_eq!(bar.as_ptr() as usize, base + 14);
}

#[test]
fn invalid_input_is_rejected() {
    use DecodeError::*;
    let cases: &[(&[u8], DecodeError)] = &[
        (b"$-2\r\n", InvalidBulkLength),
        (b"$-0\r\n", InvalidBulkLength),
        (b"$01\r\na\r\n", InvalidBulkLength),
        (b"$+1\r\na\r\n", InvalidBulkLength),
        (b"$\r\n", InvalidBulkLength),
        (b"$1x\r\n", InvalidBulkLength),
        (b"$ 1\r\n", InvalidBulkLength),
        (b"$99999999999999999999999\r\n", InvalidBulkLength),
        (b"!-1\r\n", InvalidBulkLength),
        (b"=-1\r\n", InvalidBulkLength),
        (b"*-2\r\n", InvalidMultibulkLength),
        (b"*x\r\n", InvalidMultibulkLength),
        (b"*\r\n", InvalidMultibulkLength),
        (b"%-1\r\n", InvalidMultibulkLength),
        (b"~-1\r\n", InvalidMultibulkLength),
        (b">-1\r\n", InvalidMultibulkLength),
        (b"|-1\r\n", InvalidMultibulkLength),
        (b":\r\n", InvalidInteger),
        (b":abc\r\n", InvalidInteger),
        (b":-0\r\n", InvalidInteger),
        (b":1.5\r\n", InvalidInteger),
        (b":9223372036854775808\r\n", InvalidInteger),
        (b":-9223372036854775809\r\n", InvalidInteger),
        (b",\r\n", InvalidDouble),
        (b",abc\r\n", InvalidDouble),
        (b",1.5x\r\n", InvalidDouble),
        (b"#\r\n", InvalidBoolean),
        (b"#x\r\n", InvalidBoolean),
        (b"#tt\r\n", InvalidBoolean),
        (b"_x\r\n", InvalidNull),
        (b"(\r\n", InvalidBigNumber),
        (b"(-\r\n", InvalidBigNumber),
        (b"(12a\r\n", InvalidBigNumber),
        (b"=3\r\ntxt\r\n", InvalidVerbatim),
        (b"=4\r\ntxt-\r\n", InvalidVerbatim),
        (b"$3\r\nfooXY", ExpectedCrlf),
        (b"$3\r\nfoo\rX", ExpectedCrlf),
        (b"+OK\rX", ExpectedCrlf),
        (b"+OK\r\r\n", ExpectedCrlf),
        (b"?", InvalidTypeByte(b'?')),
        (b"x", InvalidTypeByte(b'x')),
        (b"\r\n", InvalidTypeByte(b'\r')),
        (b"*2\r\n:1\r\n@", InvalidTypeByte(b'@')),
        (b"%1\r\n+k\r\nx", InvalidTypeByte(b'x')),
    ];
    for (input, err) in cases {
        assert_eq!(
            dec(input),
            Err(*err),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn claimed_sizes_are_not_trusted() {
    // Over the limit: rejected at once, before any payload.
    assert_eq!(
        dec(b"*1000000000\r\n"),
        Err(DecodeError::InvalidMultibulkLength)
    );
    assert_eq!(dec(b"$536870913\r\n"), Err(DecodeError::InvalidBulkLength));
    // At the limit with nothing behind it: incomplete, and nothing reserved for it (the scan
    // pass allocates nothing; this must return at once).
    assert_eq!(dec(b"*1048576\r\n"), Ok(None));
    assert_eq!(dec(b"$536870912\r\n"), Ok(None));
    assert_eq!(dec(b"%1048576\r\n"), Ok(None));
}

fn small() -> Limits {
    Limits {
        max_bulk_len: 4,
        max_multibulk_len: 2,
        max_depth: 2,
        max_inline_len: 5,
    }
}

#[test]
fn each_limit_at_its_edge() {
    let l = small();
    // max_bulk_len = 4
    assert_eq!(
        dec_with(b"$4\r\nabcd\r\n", &l),
        Ok(Some(Frame::bulk("abcd")))
    );
    assert_eq!(dec_with(b"$5\r\n", &l), Err(DecodeError::InvalidBulkLength));
    assert_eq!(
        dec_with(b"!4\r\nabcd\r\n", &l),
        Ok(Some(Frame::BlobError(b("abcd"))))
    );
    assert_eq!(dec_with(b"!5\r\n", &l), Err(DecodeError::InvalidBulkLength));
    assert_eq!(dec_with(b"=5\r\n", &l), Err(DecodeError::InvalidBulkLength));
    // max_multibulk_len = 2
    assert_eq!(
        dec_with(b"*2\r\n:1\r\n:2\r\n", &l),
        Ok(Some(Frame::Array(vec![
            Frame::Integer(1),
            Frame::Integer(2)
        ])))
    );
    assert_eq!(
        dec_with(b"*3\r\n", &l),
        Err(DecodeError::InvalidMultibulkLength)
    );
    assert_eq!(
        dec_with(b"~3\r\n", &l),
        Err(DecodeError::InvalidMultibulkLength)
    );
    assert_eq!(
        dec_with(b">3\r\n", &l),
        Err(DecodeError::InvalidMultibulkLength)
    );
    assert!(matches!(
        dec_with(b"%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", &l),
        Ok(Some(Frame::Map(_)))
    ));
    assert_eq!(
        dec_with(b"%3\r\n", &l),
        Err(DecodeError::InvalidMultibulkLength)
    );
    // max_depth = 2
    assert!(matches!(
        dec_with(b"*1\r\n*1\r\n:1\r\n", &l),
        Ok(Some(Frame::Array(_)))
    ));
    assert_eq!(
        dec_with(b"*1\r\n*1\r\n*1\r\n:1\r\n", &l),
        Err(DecodeError::TooDeep)
    );
    assert_eq!(
        dec_with(b"*1\r\n*1\r\n*1\r\n", &l),
        Err(DecodeError::TooDeep),
        "detected before the leaf arrives"
    );
    assert!(matches!(
        dec_with(b"%1\r\n~0\r\n>0\r\n", &l),
        Ok(Some(Frame::Map(_)))
    ));
    assert_eq!(
        dec_with(b"%1\r\n~1\r\n>0\r\n", &l),
        Err(DecodeError::TooDeep)
    );
    assert!(matches!(
        dec_with(b"|1\r\n:1\r\n:2\r\n*0\r\n", &l),
        Ok(Some(Frame::Attribute { .. }))
    ));
    assert_eq!(
        dec_with(b"|1\r\n:1\r\n:2\r\n*1\r\n*0\r\n", &l),
        Err(DecodeError::TooDeep)
    );
    assert_eq!(
        dec_with(b"*0\r\n", &Limits { max_depth: 0, ..l }),
        Err(DecodeError::TooDeep)
    );
    assert_eq!(
        dec_with(b":1\r\n", &Limits { max_depth: 0, ..l }),
        Ok(Some(Frame::Integer(1)))
    );
    // max_inline_len = 5: a line of 5 bytes after the type byte is fine, 6 is not, even before
    // its terminator arrives.
    assert_eq!(
        dec_with(b"+abcde\r\n", &l),
        Ok(Some(Frame::simple("abcde")))
    );
    assert_eq!(dec_with(b"+abcde", &l), Ok(None));
    assert_eq!(dec_with(b"+abcdef\r\n", &l), Err(DecodeError::LineTooLong));
    assert_eq!(dec_with(b"+abcdef", &l), Err(DecodeError::LineTooLong));
    assert_eq!(dec_with(b":123456\r\n", &l), Err(DecodeError::LineTooLong));
}

#[test]
fn deep_nesting_default_limit() {
    let mut ok = Vec::new();
    for _ in 0..128 {
        ok.extend_from_slice(b"*1\r\n");
    }
    ok.extend_from_slice(b":1\r\n");
    assert!(matches!(dec(&ok), Ok(Some(Frame::Array(_)))));
    let mut deep = b"*1\r\n".to_vec();
    deep.extend_from_slice(&ok);
    assert_eq!(dec(&deep), Err(DecodeError::TooDeep));
}

#[test]
fn error_texts_are_redis() {
    assert_eq!(
        DecodeError::InvalidBulkLength.to_string(),
        "Protocol error: invalid bulk length"
    );
    assert_eq!(
        DecodeError::InvalidMultibulkLength.to_string(),
        "Protocol error: invalid multibulk length"
    );
    assert_eq!(
        DecodeError::ExpectedBulk(b'x').to_string(),
        "Protocol error: expected '$', got 'x'"
    );
    assert_eq!(
        DecodeError::ExpectedBulk(b'\n').to_string(),
        "Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        DecodeError::ExpectedBulk(0xff).message(),
        b"Protocol error: expected '$', got '\xff'"
    );
    assert_eq!(
        DecodeError::TooBigInlineRequest.to_string(),
        "Protocol error: too big inline request"
    );
    assert_eq!(
        DecodeError::UnbalancedQuotes.to_string(),
        "Protocol error: unbalanced quotes in request"
    );
    assert_eq!(
        DecodeError::TooBigMultibulkCountString.to_string(),
        "Protocol error: too big mbulk count string"
    );
    assert_eq!(
        DecodeError::TooBigBulkCountString.to_string(),
        "Protocol error: too big bulk count string"
    );
    assert_eq!(
        DecodeError::InvalidBulkLength.message(),
        b"Protocol error: invalid bulk length"
    );
}

#[test]
fn decode_bytes_and_decode_all() {
    let src = b("+a\r\n:1\r\n");
    assert_eq!(
        super::decode_bytes(&src, &Limits::default()),
        Ok(Some((Frame::simple("a"), 4)))
    );
    let mut buf = BytesMut::from(&b"+a\r\n:1\r\n$2\r\nx"[..]);
    let mut out = Vec::new();
    super::decode_all(&mut buf, &Limits::default(), &mut out).unwrap();
    assert_eq!(out, vec![Frame::simple("a"), Frame::Integer(1)]);
    assert_eq!(&buf[..], b"$2\r\nx");
}

#[test]
fn decode_bytes_does_not_trust_claimed_counts() {
    // No validating pass runs before building here: the capacity must follow the bytes present.
    let src = b("*1048576\r\n:1\r\n");
    assert_eq!(super::decode_bytes(&src, &Limits::default()), Ok(None));
    let limits = Limits::default();
    let p = super::Parser::<true> {
        src: &src[..],
        owner: Some(&src),
        limits: &limits,
    };
    assert_eq!(
        p.capacity_for(1_048_576, 10, 3),
        1,
        "room for the 4 bytes present only"
    );
    assert_eq!(p.capacity_for(1_048_576, 10, 6), 0);
    assert_eq!(p.capacity_for(1, 10, 3), 1);
    let src = b("*2\r\n_\r\n_\r\n");
    assert_eq!(
        super::decode_bytes(&src, &Limits::default()),
        Ok(Some((
            Frame::Array(vec![Frame::Null, Frame::Null]),
            src.len()
        )))
    );
}
