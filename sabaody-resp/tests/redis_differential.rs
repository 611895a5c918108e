//! Differential test: the same bytes sent to a real redis-server 7.0 and to our
//! `RequestDecoder` must give the same commands and the same protocol errors.
//!
//! Each case goes to Redis on a fresh connection (then half-closed); Redis answers every command
//! it parses with `-ERR unknown command '<name>', with args beginning with: '<arg>' ...` (the
//! generated command names are not Redis commands), and a protocol violation with
//! `-ERR Protocol error: ...` before closing. We build the reply Redis would send from what our
//! decoder returns and compare byte for byte.
//!
//! Needs `redis-server` 7.0 on PATH (Debian's package) or at `$SABAODY_REDIS_SERVER`; without it
//! the test says so and passes.
//! Set `SABAODY_REQUIRE_REDIS=1` to make a missing redis-server a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sabaody_resp::{Limits, RequestDecoder};
use sabaody_testkit::RedisServer;

fn start_redis() -> Option<RedisServer> {
    let version = sabaody_testkit::redis_server_version()?;
    if !version.contains("v=7.0.") {
        eprintln!("redis-server is not 7.0 ({version}); skipping");
        return None;
    }
    RedisServer::start(&[
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--protected-mode",
        "no",
        "--loglevel",
        "warning",
    ])
    .ok()
}

fn ask_redis(port: u16, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(input).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// C string view: Redis formats arguments with `%s`, which stops at a NUL byte.
fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// Redis 7.0's reply to an unknown command (`processCommand` + `addReplyErrorFormat`).
fn unknown_command(args: &[Bytes]) -> Vec<u8> {
    let mut list = Vec::new();
    for a in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend(cstr(a).iter().take(room));
        list.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend(cstr(&args[0]).iter().take(128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend(list);
    let mut out = b"-".to_vec();
    out.extend(
        msg.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
    );
    out.extend_from_slice(b"\r\n");
    out
}

fn ask_ours(input: &[u8]) -> Vec<u8> {
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(input);
    let mut args = Vec::new();
    let mut out = Vec::new();
    loop {
        match dec.decode(&mut buf, &mut args) {
            Ok(true) => out.extend(unknown_command(&args)),
            Ok(false) => return out,
            Err(e) => {
                out.extend_from_slice(b"-ERR ");
                out.extend(e.message());
                out.extend_from_slice(b"\r\n");
                return out;
            }
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a [u8]]) -> &'a [u8] {
        from[self.below(from.len())]
    }
}

fn cases() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5AB0_D1CE_2026_0001);
    let mut cases = Vec::new();
    // RESP-looking noise: the multibulk parser's every branch and error.
    let frags: &[&[u8]] = &[
        b"*", b"*", b"$", b"$", b"1", b"2", b"3", b"0", b"-1", b"-2", b"\r\n", b"\r\n", b"\r\n",
        b"\r", b"\n", b"a", b"xyz", b" ", b"\"", b"'", b"x", b"00", b"+", b"4",
    ];
    for _ in 0..1000 {
        let n = 1 + rng.below(25);
        cases.push((0..n).flat_map(|_| rng.pick(frags).to_vec()).collect());
    }
    // Nearly valid multibulk requests: wrong lengths, bad terminators, binary arguments.
    for _ in 0..1000 {
        let n = rng.below(5) as i64 - 1;
        let mut c = format!("*{n}\r\n").into_bytes();
        for _ in 0..n.max(0) {
            let arg: Vec<u8> = (0..rng.below(5))
                .map(|_| b"ab \r\n\0$*"[rng.below(8)])
                .collect();
            let len = arg.len() as i64 + [0, 0, 0, 1, -1][rng.below(5)];
            c.extend_from_slice(format!("${len}\r\n").as_bytes());
            c.extend_from_slice(&arg);
            c.extend_from_slice(rng.pick(&[b"\r\n", b"\r\n", b"xx", b"\n"]));
        }
        cases.push(c);
    }
    // Inline requests with quotes and escapes.
    let words: &[&[u8]] = &[
        b"a",
        b"b",
        b"xyz",
        b" ",
        b" ",
        b"  ",
        b"\t",
        b"\"",
        b"'",
        b"\\",
        b"\\x41",
        b"\\x4",
        b"\\xzz",
        b"\\n",
        b"\\r",
        b"\\t",
        b"\\b",
        b"\\a",
        b"\\\"",
        b"\\'",
        b"\\\\",
        b"\x0b",
        b"\x0c",
        b"\r",
        b"q",
        b"1",
        b"$",
        b"*",
        b"\xc3\xa9",
    ];
    for _ in 0..1000 {
        let mut c = b"zz ".to_vec();
        for _ in 0..rng.below(9) {
            c.extend_from_slice(rng.pick(words));
        }
        c.extend_from_slice(rng.pick(&[b"\r\n", b"\n", b"\r\nzz x\r\n"]));
        cases.push(c);
    }
    // Well-formed inline requests: every escape inside balanced quotes.
    let inner: &[&[u8]] = &[
        b"a", b" ", b"\\x41", b"\\xfF", b"\\x4", b"\\xg0", b"\\n", b"\\r", b"\\t", b"\\b", b"\\a",
        b"\\\\", b"\\\"", b"\\'", b"\\q", b"'", b"\t", b"\r", b"\x0b",
    ];
    for _ in 0..1000 {
        let mut c = b"zz".to_vec();
        for _ in 0..1 + rng.below(4) {
            c.extend_from_slice(rng.pick(&[b" ", b"  ", b"\t"]));
            let quote = rng.pick(&[b"\"", b"'", b""]);
            c.extend_from_slice(rng.pick(&[b"", b"p"]));
            c.extend_from_slice(quote);
            for _ in 0..rng.below(5) {
                let piece = rng.pick(inner);
                // Keep the quotes balanced: no bare quote of the same kind inside.
                if piece == quote || (quote == b"'" && piece.ends_with(b"\\")) {
                    continue;
                }
                c.extend_from_slice(piece);
            }
            c.extend_from_slice(quote);
        }
        c.extend_from_slice(b"\r\n");
        cases.push(c);
    }
    cases
}

#[test]
fn request_decoder_matches_redis_7_0() {
    let Some(redis) = start_redis() else {
        assert!(
            std::env::var_os("SABAODY_REQUIRE_REDIS").is_none(),
            "redis-server 7.0 required"
        );
        eprintln!("redis-server 7.0 not available: differential test skipped");
        return;
    };
    let cases = cases();
    let mut mismatches = Vec::new();
    for input in &cases {
        let theirs = ask_redis(redis.port(), input);
        let ours = ask_ours(input);
        if theirs != ours {
            mismatches.push(format!(
                "input {:?}\n  redis: {:?}\n  ours:  {:?}",
                String::from_utf8_lossy(input),
                String::from_utf8_lossy(&theirs),
                String::from_utf8_lossy(&ours)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches[..mismatches.len().min(5)].join("\n")
    );
}
