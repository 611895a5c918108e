//! Lists and hashes through the network server: blocking pops across loop threads, timeouts,
//! disconnects, pipelines behind a blocked command, and HSCAN over a large hash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sabaody_server::{Config, Server, ServerHandle};

fn start() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    // Connections are dealt round-robin over 3 loops: waiters and pushers sit on different
    // threads.
    c.set("io-threads", &["3"]).unwrap();
    Server::start(c).unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

fn cmd(args: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
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

fn call(s: &mut TcpStream, args: &[&str], expected: &str) {
    s.write_all(&cmd(args)).unwrap();
    let got = read_n(s, expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected, "{args:?}");
}

/// Nothing arrives within `ms` milliseconds.
fn silent(s: &mut TcpStream, ms: u64) {
    s.set_read_timeout(Some(Duration::from_millis(ms))).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(n) => panic!("unexpected reply {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => assert!(matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
    }
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
}

#[test]
fn waiters_on_other_loops_are_served_in_blocking_order() {
    let server = start();
    let addr = server.local_addr();
    let mut pusher = connect(addr);
    let mut waiters: Vec<TcpStream> = (0..3).map(|_| connect(addr)).collect();
    for w in &mut waiters {
        w.write_all(&cmd(&["BRPOP", "q", "0"])).unwrap();
        // Each must be registered before the next: the order of blocking is the order served.
        std::thread::sleep(Duration::from_millis(100));
    }
    for w in &mut waiters {
        silent(w, 50);
    }
    call(&mut pusher, &["RPUSH", "q", "a", "b", "c"], ":3\r\n");
    for (w, e) in waiters.iter_mut().zip(["c", "b", "a"]) {
        let want = format!("*2\r\n$1\r\nq\r\n$1\r\n{e}\r\n");
        assert_eq!(String::from_utf8_lossy(&read_n(w, want.len())), want);
    }
    call(&mut pusher, &["EXISTS", "q"], ":0\r\n");
    server.shutdown();
}

#[test]
fn one_element_wakes_only_the_first_waiter() {
    let server = start();
    let addr = server.local_addr();
    let mut pusher = connect(addr);
    let mut w1 = connect(addr);
    let mut w2 = connect(addr);
    w1.write_all(&cmd(&["BLPOP", "q", "0"])).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    w2.write_all(&cmd(&["BLPOP", "q", "0"])).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    call(&mut pusher, &["LPUSH", "q", "x"], ":1\r\n");
    let want = "*2\r\n$1\r\nq\r\n$1\r\nx\r\n";
    assert_eq!(String::from_utf8_lossy(&read_n(&mut w1, want.len())), want);
    silent(&mut w2, 200);
    call(&mut pusher, &["RPUSH", "q", "y"], ":1\r\n");
    let want = "*2\r\n$1\r\nq\r\n$1\r\ny\r\n";
    assert_eq!(String::from_utf8_lossy(&read_n(&mut w2, want.len())), want);
    server.shutdown();
}

#[test]
fn timeouts_reply_null_in_both_protocols() {
    let server = start();
    let mut c = connect(server.local_addr());
    let t = Instant::now();
    call(&mut c, &["BLPOP", "q", "0.15"], "*-1\r\n");
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    call(
        &mut c,
        &["BLMOVE", "q", "d", "LEFT", "LEFT", "0.05"],
        "*-1\r\n",
    );
    c.write_all(&cmd(&["HELLO", "3"])).unwrap();
    let _ = read_n(&mut c, 1);
    std::thread::sleep(Duration::from_millis(100));
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let _ = read_n(&mut c, 1 << 20);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    call(&mut c, &["BRPOPLPUSH", "q", "d", "0.05"], "_\r\n");
    call(&mut c, &["BLMPOP", "0.05", "1", "q", "LEFT"], "_\r\n");
    // Still a normal client afterwards.
    call(&mut c, &["PING"], "+PONG\r\n");
    server.shutdown();
}

#[test]
fn a_waiter_that_disconnects_takes_nothing() {
    let server = start();
    let addr = server.local_addr();
    let mut c = connect(addr);
    {
        let mut gone = connect(addr);
        gone.write_all(&cmd(&["BLPOP", "q", "0"])).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    call(&mut c, &["RPUSH", "q", "kept"], ":1\r\n");
    std::thread::sleep(Duration::from_millis(100));
    call(&mut c, &["LRANGE", "q", "0", "-1"], "*1\r\n$4\r\nkept\r\n");
    server.shutdown();
}

#[test]
fn requests_pipelined_behind_a_blocked_command_wait_for_it() {
    let server = start();
    let addr = server.local_addr();
    let mut w = connect(addr);
    let mut p = connect(addr);
    let mut req = cmd(&["BLPOP", "q", "0"]);
    req.extend_from_slice(&cmd(&["RPUSH", "after", "1"]));
    req.extend_from_slice(&cmd(&["PING"]));
    w.write_all(&req).unwrap();
    silent(&mut w, 200);
    call(&mut p, &["EXISTS", "after"], ":0\r\n");
    // More input while blocked is kept, not run.
    w.write_all(&cmd(&["ECHO", "later"])).unwrap();
    silent(&mut w, 100);
    call(&mut p, &["RPUSH", "q", "v"], ":1\r\n");
    let want = "*2\r\n$1\r\nq\r\n$1\r\nv\r\n:1\r\n+PONG\r\n$5\r\nlater\r\n";
    assert_eq!(String::from_utf8_lossy(&read_n(&mut w, want.len())), want);
    server.shutdown();
}

#[test]
fn blmove_wakes_and_chains_across_loops() {
    let server = start();
    let addr = server.local_addr();
    let mut a = connect(addr);
    let mut b = connect(addr);
    let mut p = connect(addr);
    a.write_all(&cmd(&["BLMOVE", "src", "mid", "RIGHT", "LEFT", "0"]))
        .unwrap();
    b.write_all(&cmd(&["BRPOPLPUSH", "mid", "dst", "0"]))
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    call(&mut p, &["RPUSH", "src", "e"], ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&read_n(&mut a, 7)), "$1\r\ne\r\n");
    assert_eq!(String::from_utf8_lossy(&read_n(&mut b, 7)), "$1\r\ne\r\n");
    call(&mut p, &["LRANGE", "dst", "0", "-1"], "*1\r\n$1\r\ne\r\n");
    call(&mut p, &["EXISTS", "src", "mid"], ":0\r\n");
    server.shutdown();
}

/// HSCAN over a hash past the listpack limit: a field present for the whole scan is returned
/// at least once even while other fields are deleted between calls.
#[test]
fn hscan_of_a_large_hash_survives_deletes() {
    let server = start();
    let mut c = connect(server.local_addr());
    let mut args: Vec<String> = vec!["HSET".into(), "h".into()];
    for i in 0..2000 {
        args.push(format!("f{i}"));
        args.push(format!("v{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    call(&mut c, &refs, ":2000\r\n");
    call(&mut c, &["OBJECT", "ENCODING", "h"], "$9\r\nhashtable\r\n");
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        c.write_all(&cmd(&["HSCAN", "h", &cursor, "COUNT", "100"]))
            .unwrap();
        // Parse: *2 $n cursor *m (bulk)*
        let mut reply = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let parsed = loop {
            let mut buf = [0u8; 65536];
            let n = c.read(&mut buf).unwrap();
            reply.extend_from_slice(&buf[..n]);
            if let Some(p) = parse_scan(&reply) {
                break p;
            }
            assert!(Instant::now() < deadline);
        };
        let (next, items) = parsed;
        for pair in items.chunks(2) {
            assert_eq!(pair[1], format!("v{}", &pair[0][1..]));
            seen.insert(pair[0].clone());
        }
        // Delete fields with odd numbers as we go (they may or may not be returned).
        let del = format!("f{}", 2 * round + 1);
        call(&mut c, &["HDEL", "h", &del], ":1\r\n");
        round += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in (0..2000).step_by(2) {
        assert!(seen.contains(&format!("f{i}")), "f{i} missed");
    }
    server.shutdown();
}

/// `(cursor, elements)` of a complete HSCAN reply, `None` if more bytes are needed.
fn parse_scan(b: &[u8]) -> Option<(String, Vec<String>)> {
    let text = std::str::from_utf8(b).ok()?;
    let mut lines = text.split("\r\n");
    assert_eq!(lines.next()?, "*2");
    lines.next()?;
    let cursor = lines.next()?.to_string();
    let n: usize = lines.next()?.strip_prefix('*')?.parse().ok()?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        lines.next()?;
        items.push(lines.next()?.to_string());
    }
    lines.next()?;
    Some((cursor, items))
}

/// Inside EXEC the blocking forms answer at once, also on EXEC's path without a transaction
/// handle (a queued INFO takes it).
#[test]
fn blocking_forms_do_not_block_inside_exec() {
    let server = start();
    let mut c = connect(server.local_addr());
    call(&mut c, &["MULTI"], "+OK\r\n");
    call(&mut c, &["INFO", "server"], "+QUEUED\r\n");
    call(&mut c, &["BLPOP", "nokey", "0"], "+QUEUED\r\n");
    call(
        &mut c,
        &["BLMOVE", "nokey", "d", "LEFT", "LEFT", "0"],
        "+QUEUED\r\n",
    );
    c.write_all(&cmd(&["EXEC"])).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !got.ends_with(b"*-1\r\n$-1\r\n") && Instant::now() < deadline {
        let mut buf = [0u8; 65536];
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(
        got.starts_with(b"*3\r\n$"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(
        got.ends_with(b"*-1\r\n$-1\r\n"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    call(&mut c, &["PING"], "+PONG\r\n");
    server.shutdown();
}

/// INFO clients counts blocked clients (and those with a timeout) while they wait, and no
/// more once they are served, time out or leave.
#[test]
fn info_counts_blocked_clients() {
    fn field(c: &mut TcpStream, name: &str) -> String {
        c.write_all(&cmd(&["INFO", "clients"])).unwrap();
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while !text.contains("clients_in_timeout_table:") || !text.ends_with("\r\n\r\n") {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let at = text.find(&format!("{name}:")).unwrap() + name.len() + 1;
        text[at..].split("\r\n").next().unwrap().to_string()
    }
    let server = start();
    let addr = server.local_addr();
    let mut c = connect(addr);
    assert_eq!(field(&mut c, "blocked_clients"), "0");
    let mut forever = connect(addr);
    forever.write_all(&cmd(&["BLPOP", "q", "0"])).unwrap();
    let mut timed = connect(addr);
    timed.write_all(&cmd(&["BRPOP", "r", "30"])).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(field(&mut c, "blocked_clients"), "2");
    assert_eq!(field(&mut c, "clients_in_timeout_table"), "1");
    call(&mut c, &["RPUSH", "q", "x"], ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&read_n(&mut forever, 20)),
        "*2\r\n$1\r\nq\r\n$1\r\nx\r\n"
    );
    assert_eq!(field(&mut c, "blocked_clients"), "1");
    drop(timed);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(field(&mut c, "blocked_clients"), "0");
    assert_eq!(field(&mut c, "clients_in_timeout_table"), "0");
    server.shutdown();
}
