//! Sets and sorted sets through the server in-process on 127.0.0.1:0, in raw RESP bytes:
//! the replies the differential scripts cannot check against Redis 7.0 (ZRANK WITHSCORE comes
//! from 7.2), RESP3 reply types, and a pipelined load large enough for the indexed encodings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sabaody_server::{Config, Server, ServerHandle};

fn start() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    Server::start(c).unwrap()
}

fn connect(h: &ServerHandle) -> TcpStream {
    let s = TcpStream::connect(h.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn read_n(s: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while out.len() < want {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Switches to RESP3 and drains the HELLO map (its length varies).
fn hello3(s: &mut TcpStream) {
    s.write_all(&cmd(&[b"HELLO", b"3"])).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let got = read_n(s, 1 << 20);
    assert!(got.starts_with(b"%"), "{}", String::from_utf8_lossy(&got));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
}

fn rt(s: &mut TcpStream, args: &[&str], expected: &str) {
    let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
    s.write_all(&cmd(&a)).unwrap();
    let got = read_n(s, expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected, "{args:?}");
}

#[test]
fn zrank_withscore_as_redis_7_2() {
    let h = start();
    let mut s = connect(&h);
    rt(&mut s, &["ZADD", "z", "1.5", "a", "2", "b"], ":2\r\n");
    rt(
        &mut s,
        &["ZRANK", "z", "b", "WITHSCORE"],
        "*2\r\n:1\r\n$1\r\n2\r\n",
    );
    rt(
        &mut s,
        &["ZREVRANK", "z", "b", "withscore"],
        "*2\r\n:0\r\n$1\r\n2\r\n",
    );
    rt(&mut s, &["ZRANK", "z", "nope", "WITHSCORE"], "*-1\r\n");
    rt(&mut s, &["ZRANK", "missing", "a", "WITHSCORE"], "*-1\r\n");
    rt(
        &mut s,
        &["ZRANK", "z", "a", "WITHSCORES"],
        "-ERR syntax error\r\n",
    );
    rt(
        &mut s,
        &["ZRANK", "z", "a", "WITHSCORE", "x"],
        "-ERR syntax error\r\n",
    );
    hello3(&mut s);
    rt(
        &mut s,
        &["ZRANK", "z", "a", "WITHSCORE"],
        "*2\r\n:0\r\n,1.5\r\n",
    );
    rt(&mut s, &["ZRANK", "z", "nope", "WITHSCORE"], "_\r\n");
    rt(&mut s, &["ZRANK", "z", "nope"], "_\r\n");
    h.shutdown();
}

#[test]
fn resp3_reply_types() {
    let h = start();
    let mut s = connect(&h);
    hello3(&mut s);
    rt(&mut s, &["SADD", "s", "x"], ":1\r\n");
    rt(&mut s, &["SMEMBERS", "s"], "~1\r\n$1\r\nx\r\n");
    rt(&mut s, &["SPOP", "s", "5"], "~1\r\n$1\r\nx\r\n");
    rt(&mut s, &["ZADD", "z", "1", "a", "-inf", "b"], ":2\r\n");
    rt(&mut s, &["ZSCORE", "z", "b"], ",-inf\r\n");
    rt(
        &mut s,
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        "*2\r\n*2\r\n$1\r\nb\r\n,-inf\r\n*2\r\n$1\r\na\r\n,1\r\n",
    );
    rt(&mut s, &["ZPOPMAX", "z"], "*2\r\n$1\r\na\r\n,1\r\n");
    rt(
        &mut s,
        &["ZPOPMAX", "z", "1"],
        "*1\r\n*2\r\n$1\r\nb\r\n,-inf\r\n",
    );
    rt(&mut s, &["ZADD", "z", "INCR", "2", "c"], ",2\r\n");
    rt(
        &mut s,
        &["ZSCAN", "z", "0"],
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n2\r\n",
    );
    h.shutdown();
}

#[test]
fn a_large_pipelined_sorted_set_and_set() {
    let h = start();
    let mut s = connect(&h);
    let n = 20_000;
    let mut req = Vec::new();
    for i in 0..n {
        let m = format!("member:{i:09}");
        let sc = format!("{}", (i * 7919) % n);
        req.extend_from_slice(&cmd(&[b"ZADD", b"z", sc.as_bytes(), m.as_bytes()]));
        req.extend_from_slice(&cmd(&[b"SADD", b"s", m.as_bytes()]));
    }
    s.write_all(&req).unwrap();
    let want = b":1\r\n".len() * 2 * n;
    let got = read_n(&mut s, want);
    assert_eq!(got, b":1\r\n".repeat(2 * n));
    rt(&mut s, &["OBJECT", "ENCODING", "z"], "$8\r\nskiplist\r\n");
    rt(&mut s, &["OBJECT", "ENCODING", "s"], "$9\r\nhashtable\r\n");
    rt(&mut s, &["ZCARD", "z"], ":20000\r\n");
    rt(&mut s, &["SCARD", "s"], ":20000\r\n");
    // score 0 belongs to member 0; score 1 to the i with i*7919 = 1 (mod 20000).
    rt(
        &mut s,
        &["ZRANGE", "z", "0", "0"],
        "*1\r\n$16\r\nmember:000000000\r\n",
    );
    rt(&mut s, &["ZRANK", "z", "member:000000000"], ":0\r\n");
    rt(&mut s, &["ZCOUNT", "z", "(100", "200"], ":100\r\n");
    rt(
        &mut s,
        &["ZREMRANGEBYSCORE", "z", "-inf", "(10000"],
        ":10000\r\n",
    );
    rt(
        &mut s,
        &["ZRANGE", "z", "0", "0", "WITHSCORES"],
        "*2\r\n$16\r\nmember:000010000\r\n$5\r\n10000\r\n",
    );
    rt(&mut s, &["SINTERCARD", "1", "s", "LIMIT", "7"], ":7\r\n");
    rt(&mut s, &["ZINTERCARD", "2", "z", "s"], ":10000\r\n");
    h.shutdown();
}

#[test]
fn command_info_arity_and_keys() {
    let h = start();
    let mut s = connect(&h);
    s.write_all(&cmd(&[b"COMMAND", b"INFO", b"smove"])).unwrap();
    let got = String::from_utf8_lossy(&read_n(&mut s, 40)).to_string();
    assert!(got.starts_with("*1\r\n*"), "{got}");
    assert!(got.contains("$5\r\nsmove\r\n:4\r\n"), "{got}");
    h.shutdown();
}

/// A negative count asks for a reply of that many (repeated) elements: past 2^24 the server
/// refuses instead of building a reply that could exhaust its memory.
#[test]
fn huge_negative_random_counts_are_refused() {
    let h = start();
    let mut s = connect(&h);
    rt(&mut s, &["SADD", "s", "a", "b"], ":2\r\n");
    rt(&mut s, &["ZADD", "z", "1", "a"], ":1\r\n");
    rt(&mut s, &["HSET", "h", "f", "v"], ":1\r\n");
    let refused = "-ERR count is out of range: a reply holds at most 16777216 elements\r\n";
    rt(&mut s, &["SRANDMEMBER", "s", "-2000000000"], refused);
    rt(&mut s, &["ZRANDMEMBER", "z", "-16777217"], refused);
    rt(
        &mut s,
        &["HRANDFIELD", "h", "-9223372036854775807"],
        refused,
    );
    // Below the limit the reply is built: three picks from {a, b}.
    s.write_all(&cmd(&[b"SRANDMEMBER", b"s", b"-3"])).unwrap();
    let got = read_n(&mut s, 4 + 3 * 7);
    assert!(
        got.starts_with(b"*3\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    for part in got[4..].chunks(7) {
        assert!(part == b"$1\r\na\r\n" || part == b"$1\r\nb\r\n", "{got:?}");
    }
    h.shutdown();
}
