// 3.141 is what `DEBUG PROTOCOL double` replies, not an approximation of pi.
#![allow(clippy::approx_constant)]

use bytes::{Bytes, BytesMut};

use super::{encode, format_double, write};
use crate::{Frame, Protocol};

use Protocol::{Resp2, Resp3};

fn enc(f: &Frame, p: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(f, p, &mut out);
    out.to_vec()
}

fn b(s: &'static [u8]) -> Bytes {
    Bytes::from_static(s)
}

#[test]
fn every_type_in_both_protocols() {
    // (frame, RESP2 bytes, RESP3 bytes); RESP2 columns checked against redis-server 7.0.15
    // (`DEBUG PROTOCOL map|set|double|true|null|verbatim|bignum|attrib|push`, HELLO 2 and 3).
    let cases: Vec<(Frame, &[u8], &[u8])> = vec![
        (Frame::simple("OK"), b"+OK\r\n", b"+OK\r\n"),
        (
            Frame::error("ERR syntax error"),
            b"-ERR syntax error\r\n",
            b"-ERR syntax error\r\n",
        ),
        (Frame::Integer(0), b":0\r\n", b":0\r\n"),
        (Frame::Integer(-42), b":-42\r\n", b":-42\r\n"),
        (
            Frame::Integer(i64::MAX),
            b":9223372036854775807\r\n",
            b":9223372036854775807\r\n",
        ),
        (
            Frame::Integer(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        ),
        (Frame::bulk("foo"), b"$3\r\nfoo\r\n", b"$3\r\nfoo\r\n"),
        (Frame::bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n"),
        (
            Frame::bulk(&b"a\0\r\nb"[..]),
            b"$5\r\na\0\r\nb\r\n",
            b"$5\r\na\0\r\nb\r\n",
        ),
        (Frame::NullBulk, b"$-1\r\n", b"_\r\n"),
        (Frame::NullArray, b"*-1\r\n", b"_\r\n"),
        (Frame::Null, b"$-1\r\n", b"_\r\n"),
        (Frame::Array(vec![]), b"*0\r\n", b"*0\r\n"),
        (
            Frame::Array(vec![Frame::bulk("a"), Frame::Integer(1), Frame::NullBulk]),
            b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n",
            b"*3\r\n$1\r\na\r\n:1\r\n_\r\n",
        ),
        (Frame::Double(3.141), b"$5\r\n3.141\r\n", b",3.141\r\n"),
        (
            Frame::Double(1.1),
            b"$18\r\n1.1000000000000001\r\n",
            b",1.1000000000000001\r\n",
        ),
        (Frame::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n"),
        (
            Frame::Double(f64::NEG_INFINITY),
            b"$4\r\n-inf\r\n",
            b",-inf\r\n",
        ),
        (Frame::Boolean(true), b":1\r\n", b"#t\r\n"),
        (Frame::Boolean(false), b":0\r\n", b"#f\r\n"),
        (
            Frame::BlobError(b(b"SYNTAX bad")),
            b"-SYNTAX bad\r\n",
            b"!10\r\nSYNTAX bad\r\n",
        ),
        (
            Frame::BlobError(b(b"a\r\nb")),
            b"-a  b\r\n",
            b"!4\r\na\r\nb\r\n",
        ),
        (
            Frame::Verbatim {
                format: *b"txt",
                data: b(b"This is a verbatim\nstring"),
            },
            b"$25\r\nThis is a verbatim\nstring\r\n",
            b"=29\r\ntxt:This is a verbatim\nstring\r\n",
        ),
        (
            Frame::BigNumber(b(b"1234567999999999999999999999999999999")),
            b"$37\r\n1234567999999999999999999999999999999\r\n",
            b"(1234567999999999999999999999999999999\r\n",
        ),
        (
            Frame::Map(vec![
                (Frame::Integer(0), Frame::Boolean(false)),
                (Frame::Integer(1), Frame::Boolean(true)),
            ]),
            b"*4\r\n:0\r\n:0\r\n:1\r\n:1\r\n",
            b"%2\r\n:0\r\n#f\r\n:1\r\n#t\r\n",
        ),
        (Frame::Map(vec![]), b"*0\r\n", b"%0\r\n"),
        (
            Frame::Set(vec![Frame::Integer(0), Frame::Integer(1)]),
            b"*2\r\n:0\r\n:1\r\n",
            b"~2\r\n:0\r\n:1\r\n",
        ),
        (
            Frame::Attribute {
                attributes: vec![(
                    Frame::bulk("key-popularity"),
                    Frame::Array(vec![Frame::Integer(90)]),
                )],
                data: Box::new(Frame::bulk("reply")),
            },
            b"$5\r\nreply\r\n",
            b"|1\r\n$14\r\nkey-popularity\r\n*1\r\n:90\r\n$5\r\nreply\r\n",
        ),
        (
            Frame::Push(vec![Frame::bulk("server-cpu-usage"), Frame::Integer(42)]),
            b"*2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n",
            b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n",
        ),
    ];
    for (frame, r2, r3) in cases {
        assert_eq!(enc(&frame, Resp2), r2, "RESP2 {frame:?}");
        assert_eq!(enc(&frame, Resp3), r3, "RESP3 {frame:?}");
    }
}

#[test]
fn line_types_cannot_break_the_stream() {
    assert_eq!(enc(&Frame::simple("a\r\nb"), Resp3), b"+a  b\r\n");
    assert_eq!(enc(&Frame::error("ERR x\ny"), Resp2), b"-ERR x y\r\n");
}

#[test]
fn direct_writers() {
    let mut out = BytesMut::new();
    write::simple(&mut out, b"OK");
    write::error(&mut out, b"ERR syntax error");
    write::integer(&mut out, -3);
    write::bulk(&mut out, b"v");
    write::null_bulk(&mut out, Resp2);
    write::null_bulk(&mut out, Resp3);
    write::null_array(&mut out, Resp2);
    write::null_array(&mut out, Resp3);
    write::array_len(&mut out, 2);
    write::map_len(&mut out, Resp2, 2);
    write::map_len(&mut out, Resp3, 2);
    write::set_len(&mut out, Resp2, 3);
    write::set_len(&mut out, Resp3, 3);
    write::push_len(&mut out, Resp2, 3);
    write::push_len(&mut out, Resp3, 3);
    write::double(&mut out, Resp2, 0.5);
    write::double(&mut out, Resp3, 0.5);
    write::boolean(&mut out, Resp2, true);
    write::boolean(&mut out, Resp3, false);
    write::verbatim(&mut out, Resp2, b"txt", b"hi");
    write::verbatim(&mut out, Resp3, b"txt", b"hi");
    write::big_number(&mut out, Resp2, b"-1");
    write::big_number(&mut out, Resp3, b"-1");
    write::blob_error(&mut out, Resp2, b"ERR x");
    write::blob_error(&mut out, Resp3, b"ERR x");
    let want: &[u8] =
        b"+OK\r\n-ERR syntax error\r\n:-3\r\n$1\r\nv\r\n$-1\r\n_\r\n*-1\r\n_\r\n*2\r\n\
*4\r\n%2\r\n*3\r\n~3\r\n*3\r\n>3\r\n$3\r\n0.5\r\n,0.5\r\n:1\r\n#f\r\n$2\r\nhi\r\n=6\r\ntxt:hi\r\n\
$2\r\n-1\r\n(-1\r\n-ERR x\r\n!5\r\nERR x\r\n";
    assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(want));
}

fn fmt(d: f64) -> String {
    let mut v = Vec::new();
    format_double(d, &mut v);
    String::from_utf8(v).unwrap()
}

#[test]
fn doubles_as_redis_7_0_prints_them() {
    // Left: value; right: redis-server 7.0.15's ZSCORE reply (or glibc "%.17g", which it uses).
    let cases: &[(f64, &str)] = &[
        (1.1, "1.1000000000000001"),
        (0.1, "0.10000000000000001"),
        (1e300, "1.0000000000000001e+300"),
        (1.5e-7, "1.4999999999999999e-07"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (3.0, "3"),
        (-2.5, "-2.5"),
        (3.141, "3.141"),
        (0.5, "0.5"),
        (100.0, "100"),
        (1e16, "10000000000000000"),
        (1e17, "1e+17"),
        (1e-4, "0.0001"),
        (1e-5, "1.0000000000000001e-05"),
        (5e-324, "4.9406564584124654e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (-f64::NAN, "-nan"),
        (0.0, "0"),
        (-0.0, "-0"),
        // Exact ties at the 17th digit round half to even, as glibc does.
        (1.0 + 2f64.powi(-17), "1.0000076293945312"),
        (1.0 + 3.0 * 2f64.powi(-17), "1.0000228881835938"),
    ];
    for (d, want) in cases {
        assert_eq!(fmt(*d), *want, "{d:e}");
    }
}

#[test]
fn doubles_round_trip_through_their_text() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let d = f64::from_bits(x);
        if d.is_nan() {
            continue;
        }
        let s = fmt(d);
        assert_eq!(s.parse::<f64>().map(f64::to_bits), Ok(d.to_bits()), "{s}");
    }
}

#[test]
fn exact_digit_path_agrees_with_core_fmt() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut checked = 0;
    let mut values = vec![
        1.0 + 2f64.powi(-17),
        1.1,
        0.1,
        1e-5,
        9.999_999_999_999_999e-5,
        4.5e15 - 0.5,
    ];
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Log-uniform over the exact path's range, plus raw bit patterns.
        let t = (x >> 11) as f64 / (1u64 << 53) as f64;
        values.push(10f64.powf(-5.5 + 21.0 * t));
        values.push(f64::from_bits(x).abs());
    }
    for a in values {
        if !a.is_finite() || a == 0.0 {
            continue;
        }
        if let Some((q, exp)) = super::digits17_exact(a) {
            let mut want = [0u8; 17];
            let (n, want_exp) = super::digits17_fmt(a, &mut want);
            assert_eq!(n, 17);
            assert_eq!(
                (q.to_string().as_bytes(), exp),
                (&want[..], want_exp),
                "{a:e}"
            );
            checked += 1;
        }
    }
    assert!(checked > 40_000, "{checked}");
}

#[test]
fn number_lines_match_decimal_text() {
    let mut ints: Vec<i64> = vec![0, 1, 9, 10, 11, 99, 100, -1, -9, -10, i64::MAX, i64::MIN];
    let mut p: i64 = 1;
    while let Some(q) = p.checked_mul(10) {
        ints.extend([p - 1, p, p + 1, -p, -(p - 1), -(p + 1)]);
        p = q;
    }
    for n in ints {
        // Appended after existing bytes, into buffers with and without spare room: the
        // fixed-size append must not leave anything behind.
        for cap in [0, 1, 5, 64] {
            let mut out = BytesMut::with_capacity(cap);
            out.extend_from_slice(b"x");
            write::integer(&mut out, n);
            out.extend_from_slice(b"y");
            assert_eq!(&out[..], format!("x:{n}\r\ny").as_bytes(), "{n} cap {cap}");
        }
        let len = n.unsigned_abs() as usize;
        let mut out = BytesMut::new();
        write::array_len(&mut out, len);
        write::map_len(&mut out, Resp3, len);
        write::set_len(&mut out, Resp3, len);
        write::push_len(&mut out, Resp3, len);
        write::attribute_len(&mut out, len);
        assert_eq!(
            &out[..],
            format!("*{len}\r\n%{len}\r\n~{len}\r\n>{len}\r\n|{len}\r\n").as_bytes()
        );
    }
    let mut out = BytesMut::new();
    write::map_len(&mut out, Resp2, usize::MAX);
    write::array_len(&mut out, usize::MAX);
    assert_eq!(
        &out[..],
        format!("*{m}\r\n*{m}\r\n", m = usize::MAX).as_bytes()
    );
    for len in [0, 1, 9, 10, 99, 100, 1000, 100_000] {
        let data = vec![b'v'; len];
        let mut out = BytesMut::new();
        write::bulk(&mut out, &data);
        let mut want = format!("${len}\r\n").into_bytes();
        want.extend_from_slice(&data);
        want.extend_from_slice(b"\r\n");
        assert_eq!(&out[..], &want[..]);
    }
}
