//! RESP codec throughput: our request decoder and generic decoder against the `redis-protocol`
//! crate on the same pipelined buffer, and our reply encoders.
//!
//! Run: `cargo bench --bench resp -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sabaody_resp::{Frame, Limits, Protocol, RequestDecoder, decode, encode, write};

const COMMANDS: usize = 1000;

/// 1,000 pipelined `SET key:NNNNNN <16-byte value>` requests, as clients send them.
fn pipeline() -> Vec<u8> {
    let mut wire = Vec::new();
    for i in 0..COMMANDS {
        let key = format!("key:{i:06}");
        let value = format!("value-{i:010}");
        assert_eq!(value.len(), 16);
        wire.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
        wire.extend_from_slice(format!("${}\r\n{key}\r\n", key.len()).as_bytes());
        wire.extend_from_slice(format!("${}\r\n{value}\r\n", value.len()).as_bytes());
    }
    wire
}

fn bench_decode(c: &mut Criterion) {
    let wire = pipeline();
    let mut g = c.benchmark_group("decode_1000_set");
    g.throughput(Throughput::Bytes(wire.len() as u64));

    g.bench_function("sabaody_request_decoder", |b| {
        let mut dec = RequestDecoder::new(Limits::default());
        let mut args: Vec<Bytes> = Vec::with_capacity(8);
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut n = 0;
                while dec.decode(&mut buf, &mut args).unwrap() {
                    n += args.len();
                    black_box(&args);
                }
                assert_eq!(n, 3 * COMMANDS);
            },
            BatchSize::SmallInput,
        );
    });

    g.bench_function("sabaody_generic_decode", |b| {
        let limits = Limits::default();
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut n = 0;
                while let Some(frame) = decode(&mut buf, &limits).unwrap() {
                    n += 1;
                    black_box(&frame);
                }
                assert_eq!(n, COMMANDS);
            },
            BatchSize::SmallInput,
        );
    });

    // redis-protocol 6: its zero-copy decoder producing `Bytes` frames from a `BytesMut`,
    // the same output shape as ours.
    g.bench_function("redis_protocol_decode_bytes_mut", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut n = 0;
                while let Some((frame, _, _)) =
                    redis_protocol::resp2::decode::decode_bytes_mut(&mut buf).unwrap()
                {
                    n += 1;
                    black_box(&frame);
                }
                assert_eq!(n, COMMANDS);
            },
            BatchSize::SmallInput,
        );
    });

    // redis-protocol 6: its cheapest decoder, frames of byte ranges only (no `Bytes` built).
    g.bench_function("redis_protocol_decode_range", |b| {
        b.iter(|| {
            let mut off = 0;
            let mut n = 0;
            while let Some((frame, used)) =
                redis_protocol::resp2::decode::decode_range(&wire[off..]).unwrap()
            {
                off += used;
                n += 1;
                black_box(&frame);
            }
            assert_eq!(n, COMMANDS);
        });
    });
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_replies");
    let value = b"value-0000000042";
    let members: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("member:{i:06}").into_bytes())
        .collect();
    let array = Frame::Array(members.iter().map(|m| Frame::bulk(m.clone())).collect());
    let len_of = |f: &dyn Fn(&mut BytesMut)| {
        let mut out = BytesMut::new();
        f(&mut out);
        out.len() as u64
    };
    let mut out = BytesMut::with_capacity(1 << 16);

    macro_rules! case {
        ($name:expr, $write:expr) => {
            let write_one: &dyn Fn(&mut BytesMut) = &$write;
            g.throughput(Throughput::Bytes(1000 * len_of(write_one)));
            g.bench_function($name, |b| {
                b.iter(|| {
                    out.clear();
                    for _ in 0..1000 {
                        write_one(&mut out);
                    }
                    black_box(&out);
                })
            });
        };
    }
    case!("1000x_simple_ok", |o: &mut BytesMut| write::simple(
        o, b"OK"
    ));
    case!("1000x_bulk_16", |o: &mut BytesMut| write::bulk(o, value));
    case!("1000x_integer", |o: &mut BytesMut| write::integer(
        o,
        black_box(1_234_567)
    ));
    case!("1000x_double", |o: &mut BytesMut| write::double(
        o,
        Protocol::Resp2,
        black_box(1.1)
    ));
    case!("1000x_array_10_bulks_write", |o: &mut BytesMut| {
        write::array_len(o, 10);
        for m in &members {
            write::bulk(o, m);
        }
    });
    case!("1000x_array_10_bulks_frame", |o: &mut BytesMut| encode(
        &array,
        Protocol::Resp2,
        o
    ));
    g.finish();
}

criterion_group!(benches, bench_decode, bench_encode);
criterion_main!(benches);
