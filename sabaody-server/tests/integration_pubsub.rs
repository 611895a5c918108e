//! Pub/Sub through the network server with subscribers and publishers on different loop
//! threads: the `redis` crate's PubSub API (RESP2) and push messages (RESP3), message order,
//! unsubscription, subscribed mode, a subscriber that stops reading and is closed by the
//! pubsub output-buffer limit, and the registry emptied by disconnections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use redis::{Commands, Msg, PushKind, Value};
use sabaody_server::{Config, Server, ServerHandle};

fn start() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    // Connections are dealt round-robin over 3 loops: subscribers and publishers sit on
    // different threads.
    c.set("io-threads", &["3"]).unwrap();
    Server::start(c).unwrap()
}

fn client(addr: SocketAddr) -> redis::Connection {
    let c = redis::Client::open(format!("redis://{addr}/")).unwrap();
    let con = c.get_connection().unwrap();
    con.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    con
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_nodelay(true).unwrap();
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

/// Sends a command and reads exactly `expected.len()` bytes, which must be `expected`.
fn call(s: &mut TcpStream, args: &[&str], expected: &str) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.write_all(&cmd(&args)).unwrap();
    let mut got = vec![0u8; expected.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), expected, "{args:?}");
}

/// Polls `f` until it returns true (at most 10 s).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn numsub(con: &mut redis::Connection, channel: &str) -> i64 {
    let v: Vec<Value> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query(con)
        .unwrap();
    redis::from_redis_value(v[1].clone()).unwrap()
}

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let text: String = redis::cmd("INFO").arg("stats").query(con).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
        .unwrap()
}

/// (channel, pattern, payload) of a message.
fn parts(m: &Msg) -> (String, Option<String>, String) {
    let pattern = m.from_pattern().then(|| m.get_pattern().unwrap());
    (
        m.get_channel_name().to_owned(),
        pattern,
        m.get_payload().unwrap(),
    )
}

/// Three subscribers (each on a channel and a matching pattern) and two publishers, all on
/// different connections spread over three loops: every subscriber receives every message
/// twice (the channel copy first), and each publisher's messages in the order published.
#[test]
fn messages_reach_every_loop_in_publication_order() {
    let server = start();
    let addr = server.local_addr();
    let mut subs: Vec<redis::Connection> = (0..3).map(|_| client(addr)).collect();
    let mut pubsubs: Vec<redis::PubSub<'_>> = subs.iter_mut().map(|c| c.as_pubsub()).collect();
    for p in &mut pubsubs {
        p.subscribe("news").unwrap();
        p.psubscribe("ne*").unwrap();
        p.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    const N: usize = 300;
    let publishers: Vec<_> = (0..2)
        .map(|p| {
            std::thread::spawn(move || {
                let mut con = client(addr);
                for i in 0..N {
                    let n: i64 = con.publish("news", format!("p{p}-{i}")).unwrap();
                    assert_eq!(n, 6, "3 subscribers x (channel + pattern)");
                }
            })
        })
        .collect();
    for t in publishers {
        t.join().unwrap();
    }
    for p in &mut pubsubs {
        let mut next = [0usize; 2];
        for _ in 0..2 * N {
            let (ch, pat, payload) = parts(&p.get_message().unwrap());
            assert_eq!((ch.as_str(), pat), ("news", None));
            let (who, i) = payload[1..].split_once('-').unwrap();
            let (who, i): (usize, usize) = (who.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[who], "publisher {who}'s messages out of order");
            next[who] += 1;
            let copy = parts(&p.get_message().unwrap());
            assert_eq!(copy, ("news".into(), Some("ne*".into()), payload));
        }
    }
    drop(pubsubs);
    drop(subs);
    server.shutdown();
}

/// UNSUBSCRIBE stops the messages; disconnected and killed subscribers leave nothing behind
/// (PUBSUB NUMSUB, NUMPAT and INFO back to 0).
#[test]
fn unsubscribe_and_disconnect_leave_no_subscription() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = client(addr);
    let mut a = client(addr);
    let mut ps = a.as_pubsub();
    ps.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    ps.subscribe(&["x", "y"]).unwrap();
    let n: i64 = admin.publish("x", "1").unwrap();
    assert_eq!(n, 1);
    assert_eq!(parts(&ps.get_message().unwrap()).2, "1");
    ps.unsubscribe("x").unwrap();
    let n: i64 = admin.publish("x", "2").unwrap();
    assert_eq!(n, 0);
    let n: i64 = admin.publish("y", "3").unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        parts(&ps.get_message().unwrap()),
        ("y".into(), None, "3".into())
    );
    drop(ps);
    drop(a);

    // Many subscribers on every loop, half of them killed, the rest hanging up.
    let mut socks: Vec<TcpStream> = (0..30).map(|_| connect(addr)).collect();
    for s in &mut socks {
        call(
            s,
            &["SUBSCRIBE", "z"],
            "*3\r\n$9\r\nsubscribe\r\n$1\r\nz\r\n:1\r\n",
        );
        call(
            s,
            &["PSUBSCRIBE", "z*"],
            "*3\r\n$10\r\npsubscribe\r\n$2\r\nz*\r\n:2\r\n",
        );
        call(
            s,
            &["SSUBSCRIBE", "s"],
            "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
        );
    }
    assert_eq!(numsub(&mut admin, "z"), 30);
    let listed: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut admin)
        .unwrap();
    assert_eq!(listed.lines().count(), 30, "{listed}");
    assert!(
        listed
            .lines()
            .all(|l| l.contains(" flags=P ") && l.contains(" sub=1 psub=1 ssub=1 "))
    );
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut admin)
        .unwrap();
    assert_eq!(killed, 30);
    drop(socks);
    eventually("the subscriptions of closed clients to go", || {
        numsub(&mut admin, "z") == 0
            && numsub(&mut admin, "y") == 0
            && info_field(&mut admin, "pubsub_patterns") == "0"
            && info_field(&mut admin, "pubsubshard_channels") == "0"
            && info_field(&mut admin, "pubsub_channels") == "0"
    });
    let n: i64 = admin.publish("z", "nobody").unwrap();
    assert_eq!(n, 0);
    server.shutdown();
}

/// RESP3: messages arrive as push frames through the `redis` crate's push sender, and other
/// commands run while subscribed.
#[test]
fn resp3_messages_are_pushes() {
    let server = start();
    let addr = server.local_addr();
    let c = redis::Client::open(format!("redis://{addr}/?protocol=resp3")).unwrap();
    let mut sub = c.get_connection().unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    sub.set_push_sender(tx);
    sub.subscribe_resp3("r3").unwrap();
    sub.psubscribe_resp3("r*").unwrap();
    let _: () = sub.set("k", "v").unwrap();
    let mut publisher = client(addr);
    for i in 0..50 {
        let n: i64 = publisher.publish("r3", i.to_string()).unwrap();
        assert_eq!(n, 2);
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 100 {
        assert!(Instant::now() < deadline, "only {} pushes", got.len());
        // A sync connection reads pushes while it reads a reply.
        let v: String = sub.get("k").unwrap();
        assert_eq!(v, "v");
        while let Ok(p) = rx.try_recv() {
            if matches!(p.kind, PushKind::Message | PushKind::PMessage) {
                got.push(p);
            }
        }
    }
    for (i, pair) in got.chunks(2).enumerate() {
        assert_eq!(pair[0].kind, PushKind::Message);
        assert_eq!(pair[1].kind, PushKind::PMessage);
        let payload: String = redis::from_redis_value(pair[0].data[1].clone()).unwrap();
        assert_eq!(payload, i.to_string());
        let payload: String = redis::from_redis_value(pair[1].data[2].clone()).unwrap();
        assert_eq!(payload, i.to_string());
    }
    server.shutdown();
}

/// The wire bytes Redis 7.0.15 sends (checked against redis-server): RESP2 subscribed mode,
/// PING there, a RESP3 client receiving its own publication before the reply, inside EXEC too.
#[test]
fn subscribed_mode_and_self_delivery_bytes() {
    let server = start();
    let addr = server.local_addr();
    let mut s = connect(addr);
    call(
        &mut s,
        &["SUBSCRIBE", "c"],
        "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    );
    call(
        &mut s,
        &["GET", "x"],
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    call(
        &mut s,
        &["CLIENT", "LIST"],
        "-ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    call(&mut s, &["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    call(&mut s, &["PING", "hi"], "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    call(
        &mut s,
        &["UNSUBSCRIBE"],
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n",
    );
    call(&mut s, &["GET", "x"], "$-1\r\n");

    let mut r3 = connect(addr);
    r3.write_all(&cmd(&[b"HELLO", b"3"])).unwrap();
    let mut hello = [0u8; 512];
    let _ = r3.read(&mut hello).unwrap();
    call(
        &mut r3,
        &["SUBSCRIBE", "ch"],
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    call(
        &mut r3,
        &["PSUBSCRIBE", "*"],
        ">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:2\r\n",
    );
    call(
        &mut r3,
        &["PUBLISH", "ch", "self"],
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\nself\r\n>4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$2\r\nch\r\n$4\r\nself\r\n:2\r\n",
    );
    call(&mut r3, &["MULTI"], "+OK\r\n");
    call(&mut r3, &["PUBLISH", "ch", "inmulti"], "+QUEUED\r\n");
    call(&mut r3, &["PING"], "+QUEUED\r\n");
    call(
        &mut r3,
        &["EXEC"],
        "*2\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$7\r\ninmulti\r\n>4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$2\r\nch\r\n$7\r\ninmulti\r\n:2\r\n+PONG\r\n",
    );
    // HELLO 2 while subscribed: the messages come framed for RESP2 from then on.
    r3.write_all(&cmd(&[b"HELLO", b"2"])).unwrap();
    let _ = r3.read(&mut hello).unwrap();
    let mut p = connect(addr);
    call(&mut p, &["PUBLISH", "ch", "two"], ":2\r\n");
    let want = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\ntwo\r\n*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$2\r\nch\r\n$3\r\ntwo\r\n";
    let mut got = vec![0u8; want.len()];
    r3.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), want);
    server.shutdown();
}

/// A subscriber that never reads hits the pubsub class of `client-output-buffer-limit` and is
/// closed; the publisher goes on, and the subscription is gone. A normal client's replies are
/// not limited (class `normal 0 0 0`).
#[test]
fn slow_subscriber_is_closed_by_the_pubsub_limit() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = client(addr);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("pubsub 256kb 0 0")
        .query(&mut admin)
        .unwrap();
    let mut slow = connect(addr);
    call(
        &mut slow,
        &["SUBSCRIBE", "flood"],
        "*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n",
    );
    let mut fast = client(addr);
    let mut fast_ps = fast.as_pubsub();
    fast_ps.subscribe("flood").unwrap();
    fast_ps
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let payload = "x".repeat(16 * 1024);
    let mut publisher = client(addr);
    // 16 MB in all: far past what the socket buffers and the limit hold.
    let mut sent = 0;
    for _ in 0..1024 {
        let _: i64 = publisher.publish("flood", &payload).unwrap();
        sent += 1;
        // The reading subscriber keeps up.
        let m = fast_ps.get_message().unwrap();
        assert_eq!(m.get_payload_bytes().len(), payload.len());
        if numsub(&mut admin, "flood") == 1 {
            break;
        }
    }
    assert!(sent < 1024, "the slow subscriber was never closed");
    let n: i64 = publisher.publish("flood", "after").unwrap();
    assert_eq!(n, 1);
    // The slow subscriber's connection is closed: reading drains what the socket held, then
    // ends.
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0usize;
    loop {
        match slow.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the slow subscriber was not closed: {e}"),
        }
    }
    assert!(
        total < sent * payload.len(),
        "{total} bytes for {sent} messages"
    );
    server.shutdown();
}
