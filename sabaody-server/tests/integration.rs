//! The server in-process on 127.0.0.1:0, spoken to in raw RESP bytes over `std::net::TcpStream`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sabaody_server::{Config, Server, ServerHandle};
use sabaody_testkit::Conn;

fn start_with(settings: &[(&str, &[&str])]) -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    // Several loop threads whatever the machine's default, so the cross-thread paths (hand-off
    // of accepted sockets, CLIENT KILL and MONITOR across loops) are exercised.
    c.set("io-threads", &["3"]).unwrap();
    for (k, v) in settings {
        c.set(k, v).unwrap();
    }
    Server::start(c).unwrap()
}

fn start() -> ServerHandle {
    start_with(&[])
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Reads until `want` bytes arrived (or EOF / timeout), returns what came.
fn read_n(s: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while out.len() < want {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// Sends `req` and expects exactly `expected` back.
fn roundtrip(s: &mut TcpStream, req: &[u8], expected: &[u8]) {
    s.write_all(req).unwrap();
    let got = read_n(s, expected.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "request {:?}",
        String::from_utf8_lossy(req)
    );
}

/// True once the peer has closed the connection (read returns 0 or an error).
fn is_closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
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

#[test]
fn ping_set_get_pipelined() {
    let h = start();
    let mut s = connect(h.local_addr());
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..200 {
        req.extend(cmd(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("v{i}").as_bytes(),
        ]));
        expected.extend_from_slice(b"+OK\r\n");
    }
    for i in 0..200 {
        req.extend(cmd(&[b"GET", format!("k{i}").as_bytes()]));
        let v = format!("v{i}");
        expected.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
    }
    req.extend(cmd(&[b"PING"]));
    expected.extend_from_slice(b"+PONG\r\n");
    roundtrip(&mut s, &req, &expected);
    h.shutdown();
}

#[test]
fn requests_split_at_every_boundary() {
    let h = start();
    let mut s = connect(h.local_addr());
    let mut req = cmd(&[b"SET", b"key\r\n\0bin", b"value with\r\nCRLF"]);
    req.extend(cmd(&[b"GET", b"key\r\n\0bin"]));
    req.extend_from_slice(b"ECHO \"in line\"\r\n");
    let expected: &[u8] = b"+OK\r\n$16\r\nvalue with\r\nCRLF\r\n$7\r\nin line\r\n";
    // One byte per write, then pieces of odd sizes.
    for &b in &req {
        s.write_all(&[b]).unwrap();
    }
    assert_eq!(read_n(&mut s, expected.len()), expected);
    for chunk in req.chunks(7) {
        s.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(read_n(&mut s, expected.len()), expected);
    h.shutdown();
}

#[test]
fn large_value_in_pieces() {
    let h = start();
    let mut s = connect(h.local_addr());
    let value = vec![b'x'; 3 * 1024 * 1024 + 17];
    let req = cmd(&[b"SET", b"big", &value]);
    for chunk in req.chunks(100_003) {
        s.write_all(chunk).unwrap();
    }
    assert_eq!(read_n(&mut s, 5), b"+OK\r\n");
    s.write_all(&cmd(&[b"STRLEN", b"big"])).unwrap();
    assert_eq!(read_n(&mut s, 10), b":3145745\r\n");
    s.write_all(&cmd(&[b"GET", b"big"])).unwrap();
    let header = b"$3145745\r\n";
    let got = read_n(&mut s, header.len() + value.len() + 2);
    assert_eq!(&got[..header.len()], header);
    assert_eq!(got.len(), header.len() + value.len() + 2);
    h.shutdown();
}

#[test]
fn inline_commands() {
    let h = start();
    let mut s = connect(h.local_addr());
    roundtrip(&mut s, b"PING\r\n", b"+PONG\r\n");
    roundtrip(&mut s, b"set 'a b' \"c\\x41\"\n", b"+OK\r\n");
    roundtrip(&mut s, b"\r\n\r\nGET \"a b\"\r\n", b"$2\r\ncA\r\n");
    roundtrip(&mut s, b"  exists   'a b'  nope \r\n", b":1\r\n");
    h.shutdown();
}

#[test]
fn errors_as_redis() {
    let h = start();
    let mut s = connect(h.local_addr());
    roundtrip(
        &mut s,
        &cmd(&[b"FOO", b"a", b"b"]),
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"SET", b"s", b"abc"]), b"+OK\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"INCR", b"s"]),
        b"-ERR value is not an integer or out of range\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"SET", b"k", b"v", b"EX", b"0"]),
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"SET", b"k", b"v", b"NX", b"XX"]),
        b"-ERR syntax error\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"RENAME", b"nope", b"x"]),
        b"-ERR no such key\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"SELECT", b"16"]),
        b"-ERR DB index is out of range\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"CLIENT", b"FOO"]),
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
    );
    // The connection is still fine after all of that.
    roundtrip(&mut s, &cmd(&[b"PING"]), b"+PONG\r\n");
    h.shutdown();
}

#[test]
fn malformed_input_closes_only_that_client() {
    let h = start();
    let addr = h.local_addr();
    let mut good = connect(addr);
    roundtrip(&mut good, &cmd(&[b"SET", b"g", b"1"]), b"+OK\r\n");
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*abc\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$abc\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$600000000\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*99999999\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\nx\r\n",
            b"-ERR Protocol error: expected '$', got 'x'\r\n",
        ),
        (
            b"SET \"a b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"SET \"a\"b c\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (input, expected) in cases {
        let mut bad = connect(addr);
        bad.write_all(input).unwrap();
        let got = read_n(&mut bad, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert!(is_closed(&mut bad), "not closed after {input:?}");
        roundtrip(&mut good, &cmd(&[b"PING"]), b"+PONG\r\n");
    }
    // A too long inline request (no newline within 64 KiB).
    let mut bad = connect(addr);
    bad.write_all(&vec![b'a'; 70 * 1024]).unwrap();
    let expected = b"-ERR Protocol error: too big inline request\r\n";
    assert_eq!(read_n(&mut bad, expected.len()), expected);
    assert!(is_closed(&mut bad));
    // Replies produced before the bad bytes are delivered first.
    let mut bad = connect(addr);
    bad.write_all(b"PING\r\n*1\r\n$x\r\n").unwrap();
    let expected = b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n";
    assert_eq!(read_n(&mut bad, expected.len()), expected);
    assert!(is_closed(&mut bad));
    roundtrip(&mut good, &cmd(&[b"GET", b"g"]), b"$1\r\n1\r\n");
    h.shutdown();
}

#[test]
fn client_disconnecting_mid_request_and_mid_reply_is_cleaned_up() {
    let h = start();
    let addr = h.local_addr();
    let mut admin = connect(addr);
    roundtrip(
        &mut admin,
        &cmd(&[b"SET", b"big", &vec![b'z'; 4 << 20]]),
        b"+OK\r\n",
    );
    for _ in 0..20 {
        let mut s = connect(addr);
        s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
            .unwrap();
        drop(s);
        let mut s = connect(addr);
        // Ask for 4 MiB several times and leave without reading it.
        for _ in 0..4 {
            s.write_all(&cmd(&[b"GET", b"big"])).unwrap();
        }
        drop(s);
    }
    // Every client but `admin` goes away.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        admin.write_all(&cmd(&[b"INFO", b"clients"])).unwrap();
        let got = read_n(&mut admin, 40);
        let mut rest = Vec::new();
        admin
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = [0u8; 4096];
        while let Ok(n) = admin.read(&mut buf) {
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        admin
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let text = String::from_utf8_lossy(&[got, rest].concat()).into_owned();
        if text.contains("connected_clients:1\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "clients not cleaned up: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
    h.shutdown();
}

#[test]
fn hello3_and_resp3_replies() {
    let h = start();
    let mut s = connect(h.local_addr());
    s.write_all(&cmd(&[b"HELLO", b"3"])).unwrap();
    let got = read_n(&mut s, 20);
    assert!(
        got.starts_with(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{got:?}"
    );
    // Drain the rest of the HELLO map, then check RESP3 nulls.
    std::thread::sleep(Duration::from_millis(50));
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let _ = read_n(&mut s, 1 << 20);
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    roundtrip(&mut s, &cmd(&[b"GET", b"missing"]), b"_\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"HELLO", b"4"]),
        b"-NOPROTO unsupported protocol version\r\n",
    );
    s.write_all(&cmd(&[b"HELLO", b"2"])).unwrap();
    assert!(read_n(&mut s, 5).starts_with(b"*14\r\n"));
    h.shutdown();
}

#[test]
fn auth_and_requirepass() {
    let h = start_with(&[("requirepass", &["s3cret"])]);
    let mut s = connect(h.local_addr());
    roundtrip(
        &mut s,
        &cmd(&[b"GET", b"a"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"AUTH", b"wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"AUTH", b"s3cret"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"GET", b"a"]), b"$-1\r\n");
    let mut t = connect(h.local_addr());
    t.write_all(&cmd(&[
        b"HELLO", b"3", b"AUTH", b"default", b"s3cret", b"SETNAME", b"me",
    ]))
    .unwrap();
    assert!(read_n(&mut t, 4).starts_with(b"%7"));
    h.shutdown();
}

#[test]
fn multi_exec_watch() {
    let h = start();
    let addr = h.local_addr();
    let mut s = connect(addr);
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"SET", b"a", b"1"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"INCR", b"a"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"GET", b"a"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
    // A queuing error aborts the transaction.
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"SET", b"a", b"9"]), b"+QUEUED\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"GET", b"a"]), b"$1\r\n2\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"-ERR EXEC without MULTI\r\n");
    // WATCH: another client's write aborts EXEC.
    let mut other = connect(addr);
    roundtrip(&mut s, &cmd(&[b"WATCH", b"a"]), b"+OK\r\n");
    roundtrip(&mut other, &cmd(&[b"SET", b"a", b"x"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"SET", b"a", b"mine"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*-1\r\n");
    roundtrip(&mut s, &cmd(&[b"GET", b"a"]), b"$1\r\nx\r\n");
    // Without a conflicting write, the same sequence commits.
    roundtrip(&mut s, &cmd(&[b"WATCH", b"a"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"SET", b"a", b"mine"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*1\r\n+OK\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"DISCARD"]),
        b"-ERR DISCARD without MULTI\r\n",
    );
    // FLUSHALL from another client touches a watched key that exists.
    roundtrip(&mut s, &cmd(&[b"WATCH", b"a"]), b"+OK\r\n");
    roundtrip(&mut other, &cmd(&[b"FLUSHALL"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"PING"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*-1\r\n");
    // SWAPDB brings a key into the watched database: aborts too.
    roundtrip(&mut other, &cmd(&[b"SELECT", b"3"]), b"+OK\r\n");
    roundtrip(&mut other, &cmd(&[b"SET", b"a", b"db3"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"WATCH", b"a"]), b"+OK\r\n");
    roundtrip(&mut other, &cmd(&[b"SWAPDB", b"0", b"3"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"GET", b"a"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*-1\r\n");
    roundtrip(&mut s, &cmd(&[b"GET", b"a"]), b"$3\r\ndb3\r\n");
    h.shutdown();
}

/// Runs `MULTI PING EXEC` on `c` and returns whether it committed (`*1 +PONG`) or was
/// aborted (`*-1`).
fn exec_commits(c: &mut Conn) -> bool {
    assert_eq!(c.request(&["MULTI"]).unwrap().raw, b"+OK\r\n");
    assert_eq!(c.request(&["PING"]).unwrap().raw, b"+QUEUED\r\n");
    match c.request(&["EXEC"]).unwrap().raw.as_slice() {
        b"*-1\r\n" => false,
        b"*1\r\n+PONG\r\n" => true,
        other => panic!("EXEC: {:?}", String::from_utf8_lossy(other)),
    }
}

/// Sends a command given as space-separated words; it must not fail.
fn run_ok(c: &mut Conn, line: &str) {
    let args: Vec<&str> = line.split(' ').collect();
    let r = c.request(&args).unwrap();
    assert_ne!(r.kind, b'-', "{line}: {}", String::from_utf8_lossy(&r.raw));
}

#[test]
fn watch_is_aborted_only_by_the_keys_a_command_writes() {
    let h = start();
    let addr = h.local_addr();
    let mut s = Conn::connect(addr).unwrap();
    let mut other = Conn::connect(addr).unwrap();
    let run = run_ok;
    for setup in [
        "SADD s1 a b",
        "SADD s2 b c",
        "ZADD z1 1 a 2 b",
        "ZADD z2 1 b",
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "SET b1 ab",
        "SET b2 cd",
        "PFADD h1 a",
        "PFADD h2 b",
        "SET c v",
    ] {
        run(&mut other, setup);
    }
    // (command, a source it only reads, the key it writes)
    let stores = [
        ("SINTERSTORE d1 s1 s2", "s2", "d1"),
        ("SUNIONSTORE d2 s1 s2", "s1", "d2"),
        ("SDIFFSTORE d3 s1 s2", "s2", "d3"),
        ("ZRANGESTORE d4 z1 0 -1", "z1", "d4"),
        ("ZUNIONSTORE d5 2 z1 z2", "z2", "d5"),
        ("ZINTERSTORE d6 2 z1 z2", "z1", "d6"),
        ("ZDIFFSTORE d7 2 z1 z2", "z1", "d7"),
        (
            "GEOSEARCHSTORE d8 g FROMLONLAT 15 37 BYRADIUS 200 km",
            "g",
            "d8",
        ),
        ("GEORADIUS g 15 37 200 km STORE d9", "g", "d9"),
        (
            "GEORADIUSBYMEMBER g Palermo 200 km STOREDIST d10",
            "g",
            "d10",
        ),
        ("BITOP AND d11 b1 b2", "b2", "d11"),
        ("PFMERGE d12 h1 h2", "h2", "d12"),
        ("COPY c d13 REPLACE", "c", "d13"),
    ];
    for (line, src, dst) in stores {
        run(&mut s, &format!("WATCH {src}"));
        run(&mut other, line);
        assert!(
            exec_commits(&mut s),
            "{line}: WATCH {src} (a source) aborted"
        );
        run(&mut s, &format!("WATCH {dst}"));
        run(&mut other, line);
        assert!(!exec_commits(&mut s), "{line}: WATCH {dst} survived");
    }
    // GEORADIUS without STORE writes nothing.
    run(&mut s, "WATCH g");
    run(&mut other, "GEORADIUS g 15 37 200 km");
    assert!(exec_commits(&mut s));
    // Commands that move data change both keys.
    run(&mut other, "RPUSH l1 a b c");
    run(&mut other, "SADD m1 a b c");
    for (line, src, dst) in [
        ("LMOVE l1 l2 LEFT RIGHT", "l1", "l2"),
        ("RPOPLPUSH l1 l2", "l1", "l2"),
        ("SMOVE m1 m2 a", "m1", "m2"),
        ("SMOVE m1 m2 b", "m2", "m1"),
    ] {
        for key in [src, dst] {
            run(&mut s, &format!("WATCH {key}"));
            run(&mut other, line);
            assert!(!exec_commits(&mut s), "{line}: WATCH {key} survived");
        }
    }
    h.shutdown();
}

/// Waits until no AOF rewrite runs or is scheduled.
fn wait_no_rewrite(c: &mut Conn) {
    let t = Instant::now();
    loop {
        let info = c.call(&["INFO", "persistence"]).unwrap().bytes();
        let info = String::from_utf8(info).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "rewrite never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn appendonly_switched_inside_exec_while_others_write_keeps_the_aof_exact() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = sabaody_testkit::TempDir::new("exec-appendonly");
    let dir_s = dir.path().to_str().unwrap().to_string();
    let h = start_with(&[("dir", &[&dir_s]), ("save", &[""])]);
    let addr = h.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    // Writers on other connections (other loop threads): every acknowledged write must be in
    // the log, in order.
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Conn::connect(addr).unwrap();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) || n < 50 {
                    let i = n.to_string();
                    let r = c.request(&["RPUSH", &format!("l{w}"), &i]).unwrap();
                    assert_eq!(r.raw, format!(":{}\r\n", n + 1).as_bytes());
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut s = Conn::connect(addr).unwrap();
    let mut t = 0;
    // Ends with the AOF on.
    for round in 0..7 {
        let on = if round % 2 == 0 { "yes" } else { "no" };
        assert_eq!(s.request(&["MULTI"]).unwrap().raw, b"+OK\r\n");
        for line in ["INCR t", &format!("CONFIG SET appendonly {on}"), "INCR t"] {
            let args: Vec<&str> = line.split(' ').collect();
            assert_eq!(s.request(&args).unwrap().raw, b"+QUEUED\r\n");
        }
        let r = s.request(&["EXEC"]).unwrap();
        let want = format!("*3\r\n:{}\r\n+OK\r\n:{}\r\n", t + 1, t + 2);
        assert_eq!(String::from_utf8_lossy(&r.raw), want);
        t += 2;
        wait_no_rewrite(&mut s);
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    wait_no_rewrite(&mut s);
    h.shutdown();
    // Restart from the AOF alone.
    let h = start_with(&[
        ("dir", &[&dir_s]),
        ("save", &[""]),
        ("appendonly", &["yes"]),
    ]);
    let mut c = Conn::connect(h.local_addr()).unwrap();
    assert_eq!(
        c.call(&["GET", "t"]).unwrap().bytes(),
        t.to_string().as_bytes()
    );
    for (w, n) in counts.iter().enumerate() {
        let got = c.call(&["LRANGE", &format!("l{w}"), "0", "-1"]).unwrap();
        let want: Vec<String> = (0..*n).map(|i| i.to_string()).collect();
        let got: Vec<String> = match got {
            sabaody_testkit::Value::Array(v) => v
                .into_iter()
                .map(|x| String::from_utf8(x.bytes()).unwrap())
                .collect(),
            other => panic!("LRANGE: {other:?}"),
        };
        assert_eq!(got, want, "l{w}");
    }
    h.shutdown();
}

/// The commands in the AOF's incremental files under `dir`, as text lines `ARG ARG ...`.
fn aof_commands(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        out.extend(sabaody_testkit::command_lines(&bytes).unwrap());
    }
    out
}

#[test]
fn georadius_without_store_is_not_logged() {
    let dir = sabaody_testkit::TempDir::new("georadius-aof");
    let dir_s = dir.path().to_str().unwrap().to_string();
    let h = start_with(&[
        ("dir", &[&dir_s]),
        ("save", &[""]),
        ("appendonly", &["yes"]),
        ("appendfsync", &["always"]),
    ]);
    let mut c = Conn::connect(h.local_addr()).unwrap();
    for line in [
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "GEORADIUS g 15 37 200 km",
        "GEORADIUSBYMEMBER g Palermo 200 km WITHDIST",
        "GEORADIUS g 15 37 200 km STORE d",
        "GEORADIUSBYMEMBER g Palermo 200 km STOREDIST e",
        "MULTI",
        "GEORADIUS g 15 37 200 km",
        "SET k v",
        "EXEC",
        // A missing key: nothing to search, nothing logged either.
        "GEORADIUS nokey 15 37 200 km",
    ] {
        run_ok(&mut c, line);
    }
    assert_eq!(
        aof_commands(dir.path()),
        [
            "SELECT 0",
            "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
            "GEORADIUS g 15 37 200 km STORE d",
            "GEORADIUSBYMEMBER g Palermo 200 km STOREDIST e",
            "SET k v",
        ]
    );
    h.shutdown();
}

/// A numeric field of `INFO clients`.
fn info_clients_field(c: &mut Conn, name: &str) -> u64 {
    let text = String::from_utf8(c.call(&["INFO", "clients"]).unwrap().bytes()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Polls `INFO clients` until `name` reaches `at_least` (the loops' cron samples buffers
/// every 100 ms).
fn wait_info_clients_field(c: &mut Conn, name: &str, at_least: u64) -> u64 {
    let t = Instant::now();
    loop {
        let v = info_clients_field(c, name);
        if v >= at_least || t.elapsed() > Duration::from_secs(5) {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn info_reports_recent_client_buffer_peaks() {
    let h = start();
    let addr = h.local_addr();
    let mut c = Conn::connect(addr).unwrap();
    assert_eq!(
        info_clients_field(&mut c, "client_recent_max_input_buffer"),
        0
    );
    assert_eq!(
        info_clients_field(&mut c, "client_recent_max_output_buffer"),
        0
    );
    // A large request arriving in pieces: the part received so far is the query buffer.
    let len = 3 << 20;
    let mut big = connect(addr);
    big.write_all(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${len}\r\n").as_bytes())
        .unwrap();
    big.write_all(&vec![b'x'; 2 << 20]).unwrap();
    let seen = wait_info_clients_field(&mut c, "client_recent_max_input_buffer", 2 << 20);
    assert!(seen >= 2 << 20, "input peak {seen}");
    assert!(seen < 4 << 20, "input peak {seen}");
    let mut rest = vec![b'x'; len - (2 << 20)];
    rest.extend_from_slice(b"\r\n");
    big.write_all(&rest).unwrap();
    assert_eq!(read_n(&mut big, 5), b"+OK\r\n");
    // Large replies the client does not read: they wait in the output buffer.
    let mut lazy = connect(addr);
    let mut reqs = Vec::new();
    for _ in 0..8 {
        reqs.extend_from_slice(&cmd(&[b"GET", b"k"]));
    }
    lazy.write_all(&reqs).unwrap();
    let seen = wait_info_clients_field(&mut c, "client_recent_max_output_buffer", 1 << 20);
    assert!(seen >= 1 << 20, "output peak {seen}");
    // The peaks stay reported after the buffers are gone (they cover the last seconds).
    let want = 8 * (len + 12);
    assert_eq!(read_n(&mut lazy, want).len(), want);
    assert!(info_clients_field(&mut c, "client_recent_max_input_buffer") >= 2 << 20);
    assert!(info_clients_field(&mut c, "client_recent_max_output_buffer") >= 1 << 20);
    h.shutdown();
}

#[test]
fn watched_key_expiring_before_exec_aborts_it() {
    let h = start();
    let mut s = connect(h.local_addr());
    // Redis 7.0: a watched key that expires between WATCH and EXEC counts as modified.
    roundtrip(
        &mut s,
        &cmd(&[b"SET", b"w", b"v", b"PX", b"30"]),
        b"+OK\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"WATCH", b"w"]), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(100));
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"GET", b"w"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*-1\r\n");
    // The same with a non-transactional command queued (INFO runs outside the shard locks).
    roundtrip(
        &mut s,
        &cmd(&[b"SET", b"w", b"v", b"PX", b"30"]),
        b"+OK\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"WATCH", b"w"]), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(100));
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"INFO", b"keyspace"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*-1\r\n");
    // A key missing at WATCH time (never set, or already expired) does not abort by staying
    // missing; a key with a TTL that has not expired yet does not abort either.
    roundtrip(&mut s, &cmd(&[b"WATCH", b"ghost"]), b"+OK\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"SET", b"later", b"v", b"EX", b"100"]),
        b"+OK\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"WATCH", b"w", b"later"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"PING"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*1\r\n+PONG\r\n");
    // A watched key in another database than the one EXEC runs in.
    roundtrip(&mut s, &cmd(&[b"SELECT", b"2"]), b"+OK\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"SET", b"d2", b"v", b"PX", b"30"]),
        b"+OK\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"WATCH", b"d2"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"SELECT", b"0"]), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(100));
    roundtrip(&mut s, &cmd(&[b"MULTI"]), b"+OK\r\n");
    roundtrip(&mut s, &cmd(&[b"PING"]), b"+QUEUED\r\n");
    roundtrip(&mut s, &cmd(&[b"EXEC"]), b"*-1\r\n");
    h.shutdown();
}

#[test]
fn maxclients_rejects_extra_connections() {
    let h = start_with(&[("maxclients", &["2"])]);
    let addr = h.local_addr();
    let mut a = connect(addr);
    let mut b = connect(addr);
    roundtrip(&mut a, &cmd(&[b"PING"]), b"+PONG\r\n");
    roundtrip(&mut b, &cmd(&[b"PING"]), b"+PONG\r\n");
    let mut c = connect(addr);
    let expected = b"-ERR max number of clients reached\r\n";
    assert_eq!(read_n(&mut c, expected.len()), expected);
    assert!(is_closed(&mut c));
    roundtrip(&mut a, &cmd(&[b"PING"]), b"+PONG\r\n");
    h.shutdown();
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let h = start_with(&[("client-query-buffer-limit", &["1mb"])]);
    let addr = h.local_addr();
    let mut s = connect(addr);
    // A 4 MB bulk argument that never completes passes the 1 MB query buffer limit.
    let mut req = b"*2\r\n$4\r\nECHO\r\n$4000000\r\n".to_vec();
    req.extend(vec![b'a'; 2_000_000]);
    let _ = s.write_all(&req);
    assert!(is_closed(&mut s));
    let mut t = connect(addr);
    roundtrip(&mut t, &cmd(&[b"PING"]), b"+PONG\r\n");
    h.shutdown();
}

#[test]
fn idle_timeout() {
    let h = start_with(&[("timeout", &["1"])]);
    let mut s = connect(h.local_addr());
    roundtrip(&mut s, &cmd(&[b"PING"]), b"+PONG\r\n");
    let t0 = Instant::now();
    assert!(is_closed(&mut s));
    assert!(t0.elapsed() >= Duration::from_millis(800));
    h.shutdown();
}

#[test]
fn client_kill_and_list() {
    let h = start();
    let addr = h.local_addr();
    let mut a = connect(addr);
    let mut b = connect(addr);
    roundtrip(
        &mut b,
        &cmd(&[b"CLIENT", b"SETNAME", b"victim"]),
        b"+OK\r\n",
    );
    b.write_all(&cmd(&[b"CLIENT", b"ID"])).unwrap();
    let id_reply = String::from_utf8(read_n(&mut b, 3)).unwrap();
    let id = id_reply.trim().trim_start_matches(':').to_string();
    a.write_all(&cmd(&[b"CLIENT", b"LIST"])).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    a.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let list = String::from_utf8_lossy(&read_n(&mut a, 1 << 20)).into_owned();
    assert!(list.contains("name=victim"), "{list}");
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    roundtrip(
        &mut a,
        &cmd(&[b"CLIENT", b"KILL", b"ID", id.as_bytes()]),
        b":1\r\n",
    );
    assert!(is_closed(&mut b));
    roundtrip(
        &mut a,
        &cmd(&[b"CLIENT", b"KILL", b"ID", b"999999"]),
        b":0\r\n",
    );
    h.shutdown();
}

#[test]
fn monitor_sees_other_clients() {
    let h = start();
    let addr = h.local_addr();
    let mut m = connect(addr);
    roundtrip(&mut m, &cmd(&[b"MONITOR"]), b"+OK\r\n");
    let mut s = connect(addr);
    roundtrip(&mut s, &cmd(&[b"SET", b"mk", b"a\"b"]), b"+OK\r\n");
    let line = String::from_utf8_lossy(&read_n(&mut m, 20)).into_owned();
    std::thread::sleep(Duration::from_millis(50));
    m.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let rest = String::from_utf8_lossy(&read_n(&mut m, 1000)).into_owned();
    let line = line + &rest;
    assert!(line.starts_with('+'), "{line}");
    assert!(line.contains("\"SET\" \"mk\" \"a\\\"b\""), "{line}");
    h.shutdown();
}

#[test]
fn shutdown_command_stops_the_server_after_flushing() {
    let h = start();
    let addr = h.local_addr();
    let mut s = connect(addr);
    let mut other = connect(addr);
    let mut req = cmd(&[b"SET", b"a", b"1"]);
    req.extend(cmd(&[b"GET", b"a"]));
    roundtrip(&mut other, &req, b"+OK\r\n$1\r\n1\r\n");
    s.write_all(&cmd(&[b"SHUTDOWN", b"NOSAVE"])).unwrap();
    let t0 = Instant::now();
    h.wait();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(is_closed(&mut s));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

#[test]
fn config_get_set_and_info() {
    let h = start();
    let mut s = connect(h.local_addr());
    roundtrip(
        &mut s,
        &cmd(&[b"CONFIG", b"GET", b"maxmemory"]),
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"CONFIG", b"SET", b"maxmemory", b"100mb"]),
        b"+OK\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"CONFIG", b"GET", b"maxmemory"]),
        b"*2\r\n$9\r\nmaxmemory\r\n$9\r\n104857600\r\n",
    );
    roundtrip(
        &mut s,
        &cmd(&[b"CONFIG", b"SET", b"nosuch", b"1"]),
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n",
    );
    s.write_all(&cmd(&[b"INFO"])).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let info = String::from_utf8_lossy(&read_n(&mut s, 1 << 20)).into_owned();
    for field in [
        "# Server\r\n",
        "redis_version:",
        "# Clients\r\nconnected_clients:1\r\n",
        "# Memory\r\nused_memory:",
        "# Persistence\r\n",
        "# Stats\r\n",
        "# Replication\r\nrole:master\r\n",
        "# CPU\r\n",
        "# Keyspace\r\n",
        "# Errorstats\r\nerrorstat_ERR:count=1\r\n",
    ] {
        assert!(info.contains(field), "missing {field:?} in {info}");
    }
    h.shutdown();
}

#[test]
fn ttl_commands() {
    let h = start();
    let mut s = connect(h.local_addr());
    roundtrip(
        &mut s,
        &cmd(&[b"SET", b"t", b"v", b"EX", b"100"]),
        b"+OK\r\n",
    );
    roundtrip(&mut s, &cmd(&[b"TTL", b"t"]), b":100\r\n");
    roundtrip(&mut s, &cmd(&[b"PERSIST", b"t"]), b":1\r\n");
    roundtrip(&mut s, &cmd(&[b"TTL", b"t"]), b":-1\r\n");
    roundtrip(&mut s, &cmd(&[b"TTL", b"nope"]), b":-2\r\n");
    roundtrip(&mut s, &cmd(&[b"PEXPIRE", b"t", b"1"]), b":1\r\n");
    std::thread::sleep(Duration::from_millis(150));
    roundtrip(&mut s, &cmd(&[b"GET", b"t"]), b"$-1\r\n");
    roundtrip(
        &mut s,
        &cmd(&[b"EXPIRE", b"t", b"10", b"NX", b"XX"]),
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    h.shutdown();
}

#[test]
fn huge_pipeline_of_big_replies_is_paced_not_buffered() {
    let h = start();
    let addr = h.local_addr();
    let mut s = connect(addr);
    let value = vec![b'v'; 1 << 20];
    roundtrip(&mut s, &cmd(&[b"SET", b"big", &value]), b"+OK\r\n");
    // 200 GETs of 1 MiB in one write: 200 MiB of replies. The server must pace them (stop
    // executing while the client does not read) and still deliver every reply in order.
    let mut req = Vec::new();
    for _ in 0..200 {
        req.extend(cmd(&[b"GET", b"big"]));
    }
    req.extend(cmd(&[b"PING"]));
    s.write_all(&req).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut other = connect(addr);
    roundtrip(&mut other, &cmd(&[b"PING"]), b"+PONG\r\n");
    let one = (1 << 20) + b"$1048576\r\n\r\n".len();
    let got = read_n(&mut s, 200 * one + 7);
    assert_eq!(got.len(), 200 * one + 7);
    assert!(got.ends_with(b"+PONG\r\n"));
    h.shutdown();
}

#[test]
fn output_buffer_hard_limit_closes_a_client_that_does_not_read() {
    let h = start_with(&[("client-output-buffer-limit", &["normal 1mb 0 0"])]);
    let addr = h.local_addr();
    let mut s = connect(addr);
    let value = vec![b'v'; 512 * 1024];
    roundtrip(&mut s, &cmd(&[b"SET", b"big", &value]), b"+OK\r\n");
    let mut req = Vec::new();
    for _ in 0..64 {
        req.extend(cmd(&[b"GET", b"big"]));
    }
    s.write_all(&req).unwrap();
    // Do not read; the server drops us once more than 1 MB is pending.
    std::thread::sleep(Duration::from_millis(500));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    assert!(
        total < 64 * value.len(),
        "got all {total} bytes: not closed"
    );
    let mut other = connect(addr);
    roundtrip(&mut other, &cmd(&[b"PING"]), b"+PONG\r\n");
    h.shutdown();
}

#[test]
fn event_loops_drive_active_expiry() {
    // Keys nobody reads again are reclaimed by the loops' cron (real time: this checks the
    // wiring, the core's own tests cover the cycle on a manual clock).
    let h = start();
    let mut s = connect(h.local_addr());
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..500 {
        req.extend(cmd(&[
            b"SET",
            format!("e{i}").as_bytes(),
            b"v",
            b"PX",
            b"50",
        ]));
        expected.extend_from_slice(b"+OK\r\n");
    }
    roundtrip(&mut s, &req, &expected);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        s.write_all(&cmd(&[b"DBSIZE"])).unwrap();
        let reply = read_n(&mut s, 3);
        let mut rest = reply.clone();
        while !rest.ends_with(b"\r\n") {
            rest.extend(read_n(&mut s, 1));
        }
        if rest == b":0\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "keys not reclaimed: {rest:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    h.shutdown();
}

/// `INFO latencystats`: one line per command called, the configured percentiles in order
/// (microseconds, non-decreasing); `latency-tracking no` empties the section and stops the
/// recording; `CONFIG RESETSTAT` clears the histograms.
#[test]
fn info_latencystats() {
    let h = start();
    let mut c = Conn::connect(h.local_addr()).unwrap();
    let info = |c: &mut Conn| -> String {
        String::from_utf8(c.call(&["INFO", "latencystats"]).unwrap().bytes()).unwrap()
    };
    let line = |text: &str, cmd: &str| -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(&format!("latency_percentiles_usec_{cmd}:")))
            .map(str::to_owned)
    };
    let values = |l: &str| -> Vec<(String, f64)> {
        l.split_once(':')
            .unwrap()
            .1
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.parse().unwrap())
            })
            .collect()
    };
    for i in 0..200 {
        c.call(&["SET", &format!("k{i}"), "v"]).unwrap();
        c.call(&["GET", &format!("k{i}")]).unwrap();
    }
    let text = info(&mut c);
    assert!(text.starts_with("# Latencystats\r\n"), "{text}");
    let get = values(&line(&text, "get").expect("a get line"));
    let labels: Vec<&str> = get.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(labels, ["p50", "p99", "p99.9"]);
    assert!(
        get[0].1 > 0.0 && get[0].1 <= get[1].1 && get[1].1 <= get[2].1,
        "{get:?}"
    );
    assert!(line(&text, "set").is_some());
    assert!(line(&text, "del").is_none(), "never called");

    c.call(&[
        "CONFIG",
        "SET",
        "latency-tracking-info-percentiles",
        "90 50.5",
    ])
    .unwrap();
    let get = values(&line(&info(&mut c), "get").unwrap());
    let labels: Vec<&str> = get.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(labels, ["p90", "p50.5"]);

    c.call(&["CONFIG", "SET", "latency-tracking", "no"])
        .unwrap();
    assert_eq!(info(&mut c), "# Latencystats\r\n");
    c.call(&["CONFIG", "RESETSTAT"]).unwrap();
    c.call(&["GET", "k1"]).unwrap();
    c.call(&["CONFIG", "SET", "latency-tracking", "yes"])
        .unwrap();
    let text = info(&mut c);
    // Reset, and the GET ran while tracking was off.
    assert!(line(&text, "get").is_none(), "{text}");
    c.call(&["GET", "k1"]).unwrap();
    assert!(line(&info(&mut c), "get").is_some());
    h.shutdown();
}

/// Container commands are counted per subcommand in INFO commandstats and latencystats
/// (`cmdstat_config|get`), as Redis 7.0 counts them; an unknown subcommand is not counted; a
/// subcommand refused for its arity is a rejected call.
#[test]
fn commandstats_per_subcommand() {
    let h = start();
    let mut c = Conn::connect(h.local_addr()).unwrap();
    c.call(&["CONFIG", "RESETSTAT"]).unwrap();
    c.call(&["CONFIG", "GET", "maxmemory"]).unwrap();
    c.call(&["config", "get", "hz"]).unwrap();
    c.call(&["CLIENT", "ID"]).unwrap();
    c.call(&["CONFIG", "NOSUCH"]).unwrap();
    // Refused before running (the subcommand's arity): a rejected call, not a call.
    c.call(&["OBJECT", "ENCODING"]).unwrap();
    let text = String::from_utf8(c.call(&["INFO", "commandstats"]).unwrap().bytes()).unwrap();
    let rejected = text
        .lines()
        .find(|l| l.starts_with("cmdstat_object|encoding:"))
        .unwrap_or_default();
    assert!(
        rejected.starts_with("cmdstat_object|encoding:calls=0,")
            && rejected.contains(",rejected_calls=1,"),
        "{text}"
    );
    let calls = |name: &str| -> Option<u64> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))?;
        line.split_once("calls=")?.1.split(',').next()?.parse().ok()
    };
    assert_eq!(calls("config|get"), Some(2), "{text}");
    assert_eq!(calls("config|resetstat"), Some(1), "{text}");
    assert_eq!(calls("client|id"), Some(1), "{text}");
    assert_eq!(calls("config"), None, "{text}");
    assert_eq!(calls("config|nosuch"), None, "{text}");
    let lat = String::from_utf8(c.call(&["INFO", "latencystats"]).unwrap().bytes()).unwrap();
    assert!(
        lat.contains("latency_percentiles_usec_config|get:p50="),
        "{lat}"
    );
    h.shutdown();
}

/// LATENCY HISTOGRAM (cumulative buckets per command and subcommand, summed over the loop
/// threads), GRAPH and DOCTOR on a slow command.
#[test]
fn latency_histogram_graph_doctor() {
    use sabaody_testkit::Value;
    let h = start_with(&[("enable-debug-command", &["yes"])]);
    let mut c = Conn::connect(h.local_addr()).unwrap();
    let text = |v: Value| String::from_utf8(v.bytes()).unwrap();
    assert!(text(c.call(&["LATENCY", "DOCTOR"]).unwrap()).contains("disabled"));
    for i in 0..50 {
        c.call(&["GET", &format!("k{i}")]).unwrap();
    }
    c.call(&["CONFIG", "GET", "hz"]).unwrap();
    let Value::Array(m) = c
        .call(&["LATENCY", "HISTOGRAM", "get", "config", "nosuch"])
        .unwrap()
    else {
        panic!("not a map");
    };
    // RESP2: name, details, name, details.
    let names: Vec<String> = m.iter().step_by(2).map(|v| text(v.clone())).collect();
    assert_eq!(names, ["get", "config|get"]);
    let Value::Array(get) = &m[1] else { panic!() };
    assert_eq!(text(get[0].clone()), "calls");
    assert_eq!(get[1], Value::Int(50));
    let Value::Array(buckets) = &get[3] else {
        panic!()
    };
    let cum: Vec<i64> = buckets
        .iter()
        .skip(1)
        .step_by(2)
        .map(|v| match v {
            Value::Int(n) => *n,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(cum.windows(2).all(|w| w[0] < w[1]), "{cum:?}");
    assert_eq!(cum.last(), Some(&50));

    c.call(&["CONFIG", "SET", "latency-monitor-threshold", "5"])
        .unwrap();
    c.call(&["DEBUG", "SLEEP", "0.02"]).unwrap();
    let graph = text(c.call(&["LATENCY", "GRAPH", "command"]).unwrap());
    assert!(graph.starts_with("command - high "), "{graph}");
    assert!(graph.contains("1 samples"), "{graph}");
    let doctor = text(c.call(&["LATENCY", "DOCTOR"]).unwrap());
    assert!(doctor.contains("command: 1 samples"), "{doctor}");
    assert_eq!(c.call(&["LATENCY", "RESET"]).unwrap(), Value::Int(1));
    h.shutdown();
}

/// MEMORY PURGE, DOCTOR and MALLOC-STATS answer (their texts are our own).
#[test]
fn memory_purge_doctor_malloc_stats() {
    let h = start();
    let mut c = Conn::connect(h.local_addr()).unwrap();
    assert_eq!(
        c.call(&["MEMORY", "PURGE"]).unwrap(),
        sabaody_testkit::Value::Simple("OK".into())
    );
    let doctor = String::from_utf8(c.call(&["MEMORY", "DOCTOR"]).unwrap().bytes()).unwrap();
    assert!(doctor.starts_with("Data "), "{doctor}");
    assert!(doctor.contains("Too little data"), "{doctor}");
    let stats = String::from_utf8(c.call(&["MEMORY", "MALLOC-STATS"]).unwrap().bytes()).unwrap();
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(
            stats.starts_with("glibc malloc (mallinfo2): heap "),
            "{stats}"
        );
    } else {
        assert_eq!(stats, "Stats not supported for the current allocator");
    }
    h.shutdown();
}

/// CLIENT LIST's `qbuf` shows an unfinished request a connection holds, back to 0 once it
/// completes; INFO counts socket reads and reply writes and the clients' memory.
#[test]
fn client_list_shows_query_buffers() {
    let h = start();
    let mut raw = connect(h.local_addr());
    raw.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
        .unwrap();
    let mut c = Conn::connect(h.local_addr()).unwrap();
    let line = |c: &mut Conn, id: &str| -> String {
        let list = String::from_utf8(c.call(&["CLIENT", "LIST"]).unwrap().bytes()).unwrap();
        list.lines()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .unwrap_or_else(|| panic!("{list}"))
            .to_owned()
    };
    let field = |l: &str, f: &str| -> usize {
        l.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{f}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    // The raw connection is the first client (id 1); wait until its bytes were read.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let l = line(&mut c, "1");
        if field(&l, "qbuf") == 29 {
            assert!(field(&l, "tot-mem") >= 29, "{l}");
            break;
        }
        assert!(Instant::now() < deadline, "{l}");
        std::thread::sleep(Duration::from_millis(10));
    }
    raw.write_all(&[b'x'; 97]).unwrap();
    raw.write_all(b"\r\n").unwrap();
    assert_eq!(read_n(&mut raw, 5), b"+OK\r\n");
    assert_eq!(field(&line(&mut c, "1"), "qbuf"), 0);
    let info = String::from_utf8(c.call(&["INFO", "everything"]).unwrap().bytes()).unwrap();
    let num = |f: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{f}:")))
            .unwrap_or_else(|| panic!("{f} missing"))
            .parse()
            .unwrap()
    };
    assert!(num("total_reads_processed") >= 3, "{info}");
    assert!(num("total_writes_processed") >= 2, "{info}");
    assert!(num("mem_clients_normal") >= 2 * 1024, "{info}");
    h.shutdown();
}
