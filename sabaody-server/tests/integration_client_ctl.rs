//! Sorted-set blocking pops and client control through the network server, across loop
//! threads: BZPOPMIN/BZPOPMAX/BZMPOP served by writes of other clients (EXEC included) in the
//! order they blocked, their timeouts, CLIENT UNBLOCK in both modes, CLIENT PAUSE WRITE/ALL
//! holding clients on every loop and releasing them on UNPAUSE or at the end of the pause,
//! CLIENT REPLY OFF/SKIP, and the AOF of served pops (rewritten as ZPOPMIN/ZPOPMAX) replayed
//! by a restart.
//!
//! Blocking deadlines and pause ends run on the server's real monotonic clock (there is no
//! fake clock for them): the timeouts here are short and the margins generous.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sabaody_server::{Config, Server, ServerHandle};

fn config(threads: &str) -> Config {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    // Connections are dealt round-robin over the loops: waiters, writers and pausers sit on
    // different threads.
    c.set("io-threads", &[threads]).unwrap();
    c
}

fn start() -> ServerHandle {
    Server::start(config("3")).unwrap()
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

fn expect(s: &mut TcpStream, expected: &str) {
    let got = read_n(s, expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected);
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

fn client_id(s: &mut TcpStream) -> String {
    s.write_all(&cmd(&["CLIENT", "ID"])).unwrap();
    let got = String::from_utf8(read_n(s, 3)).unwrap();
    let mut line = got;
    while !line.ends_with("\r\n") {
        line.push_str(&String::from_utf8(read_n(s, 1)).unwrap());
    }
    line.trim_start_matches(':').trim_end().to_string()
}

/// Waits until the client `id` has a request held by CLIENT PAUSE (CLIENT UNBLOCK without
/// ERROR answers 1 for it and changes nothing).
fn wait_held(admin: &mut TcpStream, id: &str) {
    let t0 = Instant::now();
    loop {
        admin.write_all(&cmd(&["CLIENT", "UNBLOCK", id])).unwrap();
        if read_n(admin, 4) == b":1\r\n" {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "client {id} never held"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until INFO counts `n` clients blocked on keys.
fn wait_blocked(admin: &mut TcpStream, n: usize) {
    let t0 = Instant::now();
    let want = format!("blocked_clients:{n}\r\n");
    loop {
        admin.write_all(&cmd(&["INFO", "clients"])).unwrap();
        let mut text = String::new();
        while !text.ends_with("\r\n\r\n") && !text.contains("clients_in_timeout_table:") {
            let got = read_n(admin, 1);
            assert!(!got.is_empty(), "INFO cut short");
            text.push_str(&String::from_utf8_lossy(&got));
        }
        // Drain the rest of the bulk reply.
        while !text.ends_with("\r\n\r\n") {
            text.push_str(&String::from_utf8_lossy(&read_n(admin, 1)));
        }
        if text.contains(&want) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "never {n} blocked: {text}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `flags=` field of `CLIENT LIST ID id`.
fn list_flags(admin: &mut TcpStream, id: &str) -> String {
    admin
        .write_all(&cmd(&["CLIENT", "LIST", "ID", id]))
        .unwrap();
    let mut text = String::new();
    while !text.ends_with("\n\r\n") {
        let got = read_n(admin, 1);
        assert!(!got.is_empty(), "CLIENT LIST cut short");
        text.push_str(&String::from_utf8_lossy(&got));
    }
    let at = text.find("flags=").expect("flags field") + 6;
    text[at..].split(' ').next().unwrap_or("").to_string()
}

fn settle() {
    std::thread::sleep(Duration::from_millis(150));
}

#[test]
fn bzpopmin_waiters_on_other_loops_are_served_in_blocking_order() {
    let server = start();
    let addr = server.local_addr();
    let mut writer = connect(addr);
    let mut a = connect(addr);
    let mut b = connect(addr);
    let mut c = connect(addr);
    // Each is registered before the next: the order of blocking is the order served.
    a.write_all(&cmd(&["BZPOPMIN", "z", "0"])).unwrap();
    wait_blocked(&mut writer, 1);
    b.write_all(&cmd(&["BZPOPMAX", "other", "z", "0"])).unwrap();
    wait_blocked(&mut writer, 2);
    c.write_all(&cmd(&["BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"]))
        .unwrap();
    wait_blocked(&mut writer, 3);
    silent(&mut a, 50);
    // Two members: the first two waiters get one each, the third keeps waiting.
    call(
        &mut writer,
        &["ZADD", "z", "1", "one", "2", "two"],
        ":2\r\n",
    );
    expect(&mut a, "*3\r\n$1\r\nz\r\n$3\r\none\r\n$1\r\n1\r\n");
    expect(&mut b, "*3\r\n$1\r\nz\r\n$3\r\ntwo\r\n$1\r\n2\r\n");
    silent(&mut c, 100);
    call(&mut writer, &["EXISTS", "z"], ":0\r\n");
    call(&mut writer, &["ZADD", "z", "3", "x", "4", "y"], ":2\r\n");
    expect(
        &mut c,
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nx\r\n$1\r\n3\r\n*2\r\n$1\r\ny\r\n$1\r\n4\r\n",
    );
    call(&mut writer, &["EXISTS", "z"], ":0\r\n");
    server.shutdown();
}

#[test]
fn served_replies_carry_doubles_in_resp3() {
    let server = start();
    let addr = server.local_addr();
    let mut writer = connect(addr);
    let mut w = connect(addr);
    w.write_all(&cmd(&["HELLO", "3"])).unwrap();
    // The HELLO map ends with its `modules` entry, an empty array.
    let mut hello = Vec::new();
    while !hello.ends_with(b"modules\r\n*0\r\n") {
        let got = read_n(&mut w, 1);
        assert!(!got.is_empty(), "HELLO reply cut short: {hello:?}");
        hello.extend_from_slice(&got);
    }
    w.write_all(&cmd(&["BZPOPMAX", "z3", "0"])).unwrap();
    settle();
    call(&mut writer, &["ZADD", "z3", "2.5", "m"], ":1\r\n");
    expect(&mut w, "*3\r\n$2\r\nz3\r\n$1\r\nm\r\n,2.5\r\n");
    w.write_all(&cmd(&["BZMPOP", "0", "1", "z3", "MIN"]))
        .unwrap();
    settle();
    call(&mut writer, &["ZADD", "z3", "-1", "n"], ":1\r\n");
    expect(&mut w, "*2\r\n$2\r\nz3\r\n*1\r\n*2\r\n$1\r\nn\r\n,-1\r\n");
    // The timeout's null in RESP3.
    call(&mut w, &["BZPOPMIN", "z3", "0.05"], "_\r\n");
    server.shutdown();
}

#[test]
fn exec_on_another_loop_serves_after_the_transaction() {
    let server = start();
    let addr = server.local_addr();
    let mut w = connect(addr);
    let mut t = connect(addr);
    w.write_all(&cmd(&["BZPOPMIN", "tz", "0"])).unwrap();
    settle();
    call(&mut t, &["MULTI"], "+OK\r\n");
    call(&mut t, &["ZADD", "tz", "5", "five"], "+QUEUED\r\n");
    call(&mut t, &["ZADD", "tz", "1", "one"], "+QUEUED\r\n");
    silent(&mut w, 50);
    call(&mut t, &["EXEC"], "*2\r\n:1\r\n:1\r\n");
    // Served after EXEC: the lowest of both members.
    expect(&mut w, "*3\r\n$2\r\ntz\r\n$3\r\none\r\n$1\r\n1\r\n");
    call(&mut t, &["ZRANGE", "tz", "0", "-1"], "*1\r\n$4\r\nfive\r\n");
    // Inside MULTI a blocking pop never blocks.
    call(&mut t, &["MULTI"], "+OK\r\n");
    call(&mut t, &["BZPOPMIN", "empty", "0"], "+QUEUED\r\n");
    call(&mut t, &["BZMPOP", "0", "1", "empty", "MAX"], "+QUEUED\r\n");
    call(&mut t, &["EXEC"], "*2\r\n*-1\r\n*-1\r\n");
    server.shutdown();
}

#[test]
fn timeouts_reply_null_and_the_pipeline_goes_on() {
    let server = start();
    let addr = server.local_addr();
    let mut c = connect(addr);
    let t0 = Instant::now();
    let mut p = cmd(&["BZPOPMIN", "none", "0.2"]);
    p.extend_from_slice(&cmd(&["BZMPOP", "0.1", "2", "none", "none2", "MAX"]));
    p.extend_from_slice(&cmd(&["PING"]));
    c.write_all(&p).unwrap();
    expect(&mut c, "*-1\r\n*-1\r\n+PONG\r\n");
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A timeout of a hundredth of a millisecond is one millisecond, not forever.
    call(&mut c, &["BZPOPMIN", "none", "0.00001"], "*-1\r\n");
    server.shutdown();
}

#[test]
fn client_unblock_timeout_and_error() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = connect(addr);
    let mut a = connect(addr);
    let mut b = connect(addr);
    let ida = client_id(&mut a);
    let idb = client_id(&mut b);
    a.write_all(&cmd(&["BZPOPMIN", "uz", "0"])).unwrap();
    a.write_all(&cmd(&["PING"])).unwrap();
    b.write_all(&cmd(&["BLPOP", "ul", "0"])).unwrap();
    wait_blocked(&mut admin, 2);
    assert_eq!(list_flags(&mut admin, &ida), "b");
    call(&mut admin, &["CLIENT", "UNBLOCK", &ida], ":1\r\n");
    // The timeout's reply, then the pipeline behind it.
    expect(&mut a, "*-1\r\n+PONG\r\n");
    call(&mut admin, &["CLIENT", "UNBLOCK", &ida], ":0\r\n");
    call(&mut admin, &["CLIENT", "UNBLOCK", &idb, "ERROR"], ":1\r\n");
    expect(&mut b, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    call(&mut admin, &["CLIENT", "UNBLOCK", &idb, "ERROR"], ":0\r\n");
    // Unblocked clients are not waiting any more: a later write serves no one.
    call(&mut admin, &["ZADD", "uz", "1", "m"], ":1\r\n");
    call(&mut admin, &["RPUSH", "ul", "e"], ":1\r\n");
    call(&mut admin, &["ZCARD", "uz"], ":1\r\n");
    call(&mut admin, &["LLEN", "ul"], ":1\r\n");
    call(&mut a, &["PING"], "+PONG\r\n");
    call(&mut b, &["PING"], "+PONG\r\n");
    assert_eq!(list_flags(&mut admin, &ida), "N");
    wait_blocked(&mut admin, 0);
    server.shutdown();
}

#[test]
fn pause_write_holds_writes_on_every_loop_and_unpause_releases_them_in_order() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = connect(addr);
    let mut writers: Vec<TcpStream> = (0..4).map(|_| connect(addr)).collect();
    call(&mut admin, &["SET", "k", "old"], "+OK\r\n");
    call(
        &mut admin,
        &["CLIENT", "PAUSE", "100000", "WRITE"],
        "+OK\r\n",
    );
    let ids: Vec<String> = writers.iter_mut().map(client_id).collect();
    for (i, w) in writers.iter_mut().enumerate() {
        let v = format!("v{i}");
        w.write_all(&cmd(&["RPUSH", "order", &v])).unwrap();
        // Pipelined reads behind a held write wait with it.
        w.write_all(&cmd(&["GET", "k"])).unwrap();
        wait_held(&mut admin, &ids[i]);
    }
    // Held clients count as blocked (INFO, CLIENT LIST flag `b`), as in Redis 7.0.
    wait_blocked(&mut admin, 4);
    assert!(list_flags(&mut admin, &ids[2]).contains('b'));
    // Reads of other clients go on, on every loop.
    for w in writers.iter_mut() {
        silent(w, 30);
    }
    let mut reader = connect(addr);
    call(&mut reader, &["GET", "k"], "$3\r\nold\r\n");
    call(&mut reader, &["EXISTS", "order"], ":0\r\n");
    call(&mut admin, &["CLIENT", "UNPAUSE"], "+OK\r\n");
    for (i, w) in writers.iter_mut().enumerate() {
        expect(w, &format!(":{}\r\n$3\r\nold\r\n", i + 1));
    }
    call(
        &mut admin,
        &["LRANGE", "order", "0", "-1"],
        "*4\r\n$2\r\nv0\r\n$2\r\nv1\r\n$2\r\nv2\r\n$2\r\nv3\r\n",
    );
    server.shutdown();
}

#[test]
fn pause_ends_by_itself() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = connect(addr);
    let mut w = connect(addr);
    let t0 = Instant::now();
    call(&mut admin, &["CLIENT", "PAUSE", "300", "WRITE"], "+OK\r\n");
    w.write_all(&cmd(&["SET", "k", "v"])).unwrap();
    silent(&mut w, 100);
    expect(&mut w, "+OK\r\n");
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(280), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    call(&mut admin, &["GET", "k"], "$1\r\nv\r\n");
    server.shutdown();
}

#[test]
fn pause_all_holds_reads_and_unblock_reaches_held_clients() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = connect(addr);
    let mut r = connect(addr);
    let mut e = connect(addr);
    let idr = client_id(&mut r);
    let ide = client_id(&mut e);
    call(&mut admin, &["SET", "k", "v"], "+OK\r\n");
    call(&mut admin, &["CLIENT", "PAUSE", "600", "ALL"], "+OK\r\n");
    r.write_all(&cmd(&["GET", "k"])).unwrap();
    // Held in this order (nothing can look while everything is held: leave it time).
    settle();
    e.write_all(&cmd(&["SET", "k", "w"])).unwrap();
    // The commands allowed before AUTH are not held (as redis-server 7.0.15).
    let mut n = connect(addr);
    let t0 = Instant::now();
    call(&mut n, &["RESET"], "+RESET\r\n");
    call(
        &mut n,
        &["AUTH", "pw"],
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    );
    assert!(
        t0.elapsed() < Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    settle();
    silent(&mut r, 30);
    // The admin connection is held as well (ALL): its CLIENT UNBLOCK waits for the end of
    // the pause, so another connection, opened later, cannot help either. Wait.
    silent(&mut e, 30);
    expect(&mut r, "$1\r\nv\r\n");
    expect(&mut e, "+OK\r\n");
    // WRITE pause: CLIENT UNBLOCK of a held client answers 1; ERROR sends the error and the
    // command still runs once the pause is lifted; TIMEOUT sends nothing.
    call(
        &mut admin,
        &["CLIENT", "PAUSE", "100000", "WRITE"],
        "+OK\r\n",
    );
    r.write_all(&cmd(&["SET", "k", "x"])).unwrap();
    wait_held(&mut admin, &idr);
    e.write_all(&cmd(&["SET", "k", "y"])).unwrap();
    wait_held(&mut admin, &ide);
    call(&mut admin, &["CLIENT", "UNBLOCK", &idr], ":1\r\n");
    call(&mut admin, &["CLIENT", "UNBLOCK", &ide, "ERROR"], ":1\r\n");
    expect(&mut e, "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    silent(&mut r, 50);
    silent(&mut e, 50);
    call(&mut admin, &["GET", "k"], "$1\r\nw\r\n");
    call(&mut admin, &["CLIENT", "UNPAUSE"], "+OK\r\n");
    expect(&mut r, "+OK\r\n");
    expect(&mut e, "+OK\r\n");
    call(&mut admin, &["GET", "k"], "$1\r\ny\r\n");
    server.shutdown();
}

#[test]
fn pause_keeps_expiring_keys_in_place() {
    let server = Server::start(config("1")).unwrap();
    let addr = server.local_addr();
    let mut c = connect(addr);
    call(&mut c, &["SET", "short", "v", "PX", "50"], "+OK\r\n");
    call(&mut c, &["CLIENT", "PAUSE", "100000", "WRITE"], "+OK\r\n");
    // The active expiry cycle does not run while paused: the key stays counted.
    std::thread::sleep(Duration::from_millis(400));
    call(&mut c, &["DBSIZE"], ":1\r\n");
    call(&mut c, &["CLIENT", "UNPAUSE"], "+OK\r\n");
    let t0 = Instant::now();
    loop {
        c.write_all(&cmd(&["DBSIZE"])).unwrap();
        if read_n(&mut c, 4) == b":0\r\n" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.shutdown();
}

#[test]
fn client_reply_off_and_skip() {
    let server = start();
    let addr = server.local_addr();
    let mut c = connect(addr);
    let mut w = connect(addr);
    c.write_all(&cmd(&["CLIENT", "REPLY", "OFF"])).unwrap();
    c.write_all(&cmd(&["SET", "a", "1"])).unwrap();
    c.write_all(&cmd(&["NOSUCH"])).unwrap();
    silent(&mut c, 50);
    call(&mut c, &["CLIENT", "REPLY", "ON"], "+OK\r\n");
    call(&mut c, &["GET", "a"], "$1\r\n1\r\n");
    c.write_all(&cmd(&["CLIENT", "REPLY", "SKIP"])).unwrap();
    c.write_all(&cmd(&["INCR", "a"])).unwrap();
    call(&mut c, &["GET", "a"], "$1\r\n2\r\n");
    // A skipped blocking pop: its served reply is dropped, the next command replies.
    c.write_all(&cmd(&["CLIENT", "REPLY", "SKIP"])).unwrap();
    c.write_all(&cmd(&["BZPOPMIN", "rz", "0"])).unwrap();
    c.write_all(&cmd(&["PING"])).unwrap();
    settle();
    call(&mut w, &["ZADD", "rz", "1", "m"], ":1\r\n");
    expect(&mut c, "+PONG\r\n");
    call(&mut w, &["EXISTS", "rz"], ":0\r\n");
    server.shutdown();
}

/// Served blocking pops are logged as the ZPOPMIN / ZPOPMAX they were (with the number of
/// members popped for BZMPOP / ZMPOP), and a restart from the AOF gives the same sets.
#[test]
fn served_pops_are_logged_as_zpop_and_replayed() {
    let dir = sabaody_testkit::TempDir::new("zpop-aof");
    let mut cfg = config("2");
    cfg.set("dir", &[dir.path().to_str().unwrap()]).unwrap();
    cfg.set("appendonly", &["yes"]).unwrap();
    let server = Server::start(cfg.clone()).unwrap();
    let addr = server.local_addr();
    let mut w = connect(addr);
    let mut b = connect(addr);
    b.write_all(&cmd(&["BZPOPMAX", "az", "0"])).unwrap();
    settle();
    call(
        &mut w,
        &["ZADD", "az", "1", "a", "2", "b", "3", "c", "4", "d"],
        ":4\r\n",
    );
    expect(&mut b, "*3\r\n$2\r\naz\r\n$1\r\nd\r\n$1\r\n4\r\n");
    b.write_all(&cmd(&["BZMPOP", "0", "1", "bz", "MIN", "COUNT", "5"]))
        .unwrap();
    settle();
    call(
        &mut w,
        &["ZADD", "bz", "1", "x", "2", "y", "3", "z"],
        ":3\r\n",
    );
    let _ = read_n(&mut b, 10);
    std::thread::sleep(Duration::from_millis(50));
    call(
        &mut w,
        &["ZMPOP", "1", "az", "MIN", "COUNT", "2"],
        "*2\r\n$2\r\naz\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    call(&mut w, &["ZADD", "cz", "1", "p", "2", "q"], ":2\r\n");
    call(
        &mut w,
        &["BZPOPMIN", "cz", "0"],
        "*3\r\n$2\r\ncz\r\n$1\r\np\r\n$1\r\n1\r\n",
    );
    server.shutdown();
    let incr = String::from_utf8_lossy(&incr_bytes(dir.path())).into_owned();
    let one_line = incr.replace("\r\n", " ");
    for want in [
        "*2 $7 ZPOPMAX $2 az ",
        "*3 $7 ZPOPMIN $2 bz $1 3 ",
        "*3 $7 ZPOPMIN $2 az $1 2 ",
        "*2 $7 ZPOPMIN $2 cz ",
    ] {
        assert!(one_line.contains(want), "{want:?} not in {one_line:?}");
    }
    assert!(!one_line.contains("BZ"), "{one_line:?}");
    assert!(!one_line.contains("ZMPOP"), "{one_line:?}");
    let server = Server::start(cfg).unwrap();
    let mut c = connect(server.local_addr());
    call(&mut c, &["ZRANGE", "az", "0", "-1"], "*1\r\n$1\r\nc\r\n");
    call(&mut c, &["EXISTS", "bz"], ":0\r\n");
    call(&mut c, &["ZRANGE", "cz", "0", "-1"], "*1\r\n$1\r\nq\r\n");
    server.shutdown();
}

fn incr_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect()
}
