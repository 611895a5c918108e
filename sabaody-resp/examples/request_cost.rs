//! Instruction-count harness for the request hot path: decodes a pipeline of 16 identical
//! requests (as redis-benchmark sends them) many times over, the way the server does (one
//! read buffer reused, arguments dropped after each command), and writes a few typical replies.
//! Meant for callgrind, whose counts are exact where timings on a shared machine are not:
//!
//! ```text
//! cargo build --release -p sabaody-resp --example request_cost
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.req \
//!     target/release/examples/request_cost set 2000
//! callgrind_annotate --inclusive=yes /tmp/cg.req | grep -E 'decode|quick_request|replies'
//! ```
//!
//! Divide a function's inclusive count by 16 x rounds for its cost per request. Kinds: `get`,
//! `set`, `zadd`, `pfadd` (the default).

use bytes::BytesMut;
use sabaody_resp::{Limits, Protocol, RequestDecoder, write};

fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Decodes `wire` `rounds` times; the number of arguments seen.
#[inline(never)]
fn decode_all(wire: &[u8], rounds: usize, out: &mut BytesMut) -> usize {
    let mut dec = RequestDecoder::new(Limits::default());
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut args = Vec::new();
    let mut n = 0;
    for _ in 0..rounds {
        rbuf.extend_from_slice(wire);
        while let Ok(true) = dec.decode(&mut rbuf, &mut args) {
            n += args.len();
            replies(out, n);
            args.clear();
        }
        rbuf.clear();
        out.clear();
    }
    n
}

/// One of each of the commonest replies.
#[inline(never)]
fn replies(out: &mut BytesMut, n: usize) {
    write::integer(out, (n & 1) as i64);
    write::simple(out, b"OK");
    write::bulk(out, b"xxx");
    write::null_bulk(out, Protocol::Resp2);
}

fn main() {
    let kind = std::env::args().nth(1).unwrap_or_default();
    let rounds = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let one = match kind.as_str() {
        "get" => request(&[b"GET", b"key:000000012345"]),
        "set" => request(&[b"SET", b"key:000000012345", b"xxx"]),
        "zadd" => request(&[b"ZADD", b"myzset", b"000000012345", b"element:000000012345"]),
        _ => request(&[b"PFADD", b"hll", b"000000012345"]),
    };
    let wire = one.repeat(16);
    let mut out = BytesMut::with_capacity(4096);
    println!("{}", decode_all(&wire, rounds, &mut out));
}
