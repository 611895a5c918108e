//! Keyspace notifications compared with a real redis-server 7.0 (with `SABAODY_DIFF=1`; a skip
//! line otherwise, like the differential suite).
//!
//! Both servers get `notify-keyspace-events AKE` (then `KEm` for `tests/notify/keymiss.redis`);
//! a subscriber connection listens on `__key*__:*`; the script in `tests/notify/events.redis`
//! runs on a second connection, one command per line. After each line the script connection publishes a marker, and the
//! subscriber reads up to it: the events each line caused, in order, must be the same on both
//! servers, and so must the replies (but SPOP's random pick). Pseudo-lines: `@sleep MS` (its events count with the next line, in no
//! particular order: lazy or active expiry may report a key either way), `@restore SRC DST` (DUMP SRC, then RESTORE DST 0 with
//! that payload).
//!
//! `SABAODY_DIFF_SELF=1` compares redis-server with a second redis-server (checks the script).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sabaody_server::{Config, Server, ServerHandle};
use sabaody_testkit::{Conn, RedisServer, Reply, encode_command};

const EVENTS: &str = include_str!("notify/events.redis");
const KEYMISS: &str = include_str!("notify/keymiss.redis");
const MARK: &[u8] = b"__keyevent@0__:zz-notify-mark";

fn env_on(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Splits a script line into arguments: blanks separate, `"..."` quotes (may be empty).
fn split(line: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut quoted = false;
    for c in line.bytes() {
        match c {
            b'"' => {
                quoted = !quoted;
                cur.get_or_insert_with(Vec::new);
            }
            b' ' | b'\t' if !quoted => {
                if let Some(a) = cur.take() {
                    out.push(a);
                }
            }
            _ => cur.get_or_insert_with(Vec::new).push(c),
        }
    }
    out.extend(cur);
    out
}

/// A `message` / `pmessage` frame as `channel=payload`.
fn event_of(r: &Reply) -> Option<(Vec<u8>, Vec<u8>)> {
    let c = &r.children;
    match c.first().map(|k| &k.data[..]) {
        Some(b"pmessage") if c.len() == 4 => Some((c[2].data.clone(), c[3].data.clone())),
        Some(b"message") if c.len() == 3 => Some((c[1].data.clone(), c[2].data.clone())),
        _ => None,
    }
}

/// Runs the script against one server; per script line: the line, its reply, its events.
fn run(
    addr: std::net::SocketAddr,
    flags: &str,
    script: &str,
) -> Vec<(String, String, Vec<String>)> {
    let mut sub = Conn::connect(addr).unwrap();
    let mut c = Conn::connect(addr).unwrap();
    assert_eq!(
        c.call(&["CONFIG", "SET", "notify-keyspace-events", flags])
            .unwrap(),
        sabaody_testkit::Value::Simple("OK".into())
    );
    c.call(&["FLUSHALL"]).unwrap();
    let r = sub.request(&["PSUBSCRIBE", "__key*__:*"]).unwrap();
    assert_eq!(
        r.children.len(),
        3,
        "{:?}",
        r.raw.escape_ascii().to_string()
    );
    let mut results = Vec::new();
    let mut carried: Vec<String> = Vec::new();
    let mut after_sleep = false;
    for (n, line) in script.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let args = split(line);
        let reply = if args[0] == b"@sleep" {
            let ms: u64 = String::from_utf8_lossy(&args[1]).parse().unwrap();
            std::thread::sleep(Duration::from_millis(ms));
            None
        } else if args[0] == b"@restore" {
            let dump = c.request(&[&b"DUMP"[..], &args[1]]).unwrap();
            let r = c
                .request(&[&b"RESTORE"[..], &args[2], b"0", &dump.data])
                .unwrap();
            Some(r)
        } else {
            Some(c.request(&args).unwrap())
        };
        let marker = n.to_string();
        c.send(&encode_command(&[&b"PUBLISH"[..], MARK, marker.as_bytes()]))
            .unwrap();
        c.read_reply().unwrap();
        let had_carried = after_sleep || reply.is_none();
        after_sleep = reply.is_none();
        let mut events = std::mem::take(&mut carried);
        loop {
            let r = sub.read_reply().unwrap();
            let Some((ch, msg)) = event_of(&r) else {
                panic!("unexpected frame {}", r.raw.escape_ascii());
            };
            if ch == MARK {
                assert_eq!(msg, marker.as_bytes());
                break;
            }
            events.push(format!(
                "{}={}",
                String::from_utf8_lossy(&ch),
                String::from_utf8_lossy(&msg)
            ));
        }
        if had_carried {
            // Expiry found keys in no set order (active expiry samples at random).
            events.sort();
        }
        match reply {
            None => carried = events,
            Some(r) => results.push((line.to_owned(), r.raw.escape_ascii().to_string(), events)),
        }
    }
    results
}

fn start_sabaody() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    c.set("io-threads", &["2"]).unwrap();
    Server::start(c).unwrap()
}

/// Runs `script` with `flags` on redis-server and on Sabaody (or a second redis-server) and
/// fails on any line whose events or reply differ.
fn compare(flags: &str, script: &str, min_events: usize) {
    let reference = RedisServer::start(&["--save", ""]).expect("redis-server 7.0 is needed");
    let want = run(reference.addr(), flags, script);
    let (got, _keep) = if env_on("SABAODY_DIFF_SELF") {
        let other = RedisServer::start(&["--save", ""]).unwrap();
        (run(other.addr(), flags, script), (None, Some(other)))
    } else {
        let s = start_sabaody();
        (run(s.local_addr(), flags, script), (Some(s), None))
    };
    assert_eq!(want.len(), got.len());
    let mut bad = Vec::new();
    for (w, g) in want.iter().zip(&got) {
        // SPOP's reply is a random pick; its events are not.
        let random = w.0.starts_with("SPOP");
        if w.0 != g.0 || w.2 != g.2 || (w.1 != g.1 && !random) {
            bad.push(format!(
                "{}\n  redis:   {} {:?}\n  sabaody: {} {:?}",
                w.0, w.1, w.2, g.1, g.2
            ));
        }
    }
    let events: usize = want.iter().map(|w| w.2.len()).sum();
    assert!(
        events >= min_events,
        "the script must cause events ({events})"
    );
    assert!(
        bad.is_empty(),
        "{} of {} lines differ:\n{}",
        bad.len(),
        want.len(),
        bad.join("\n")
    );
}

#[test]
fn keyspace_events_match_redis() {
    if !env_on("SABAODY_DIFF") {
        eprintln!("skipped: set SABAODY_DIFF=1 to compare keyspace events with redis-server");
        return;
    }
    compare("AKE", EVENTS, 200);
}

#[test]
fn key_miss_events_match_redis() {
    if !env_on("SABAODY_DIFF") {
        eprintln!("skipped: set SABAODY_DIFF=1 to compare keyspace events with redis-server");
        return;
    }
    compare("KEm", KEYMISS, 40);
}

/// A RESP3 client subscribed to its own keyspace events: what it reads after a write, byte
/// for byte (Redis sends the push before the command's reply).
fn own_events(addr: std::net::SocketAddr) -> Vec<Vec<u8>> {
    let mut c = Conn::connect(addr).unwrap();
    c.request(&["HELLO", "3"]).unwrap();
    c.request(&["CONFIG", "SET", "notify-keyspace-events", "KE$g"])
        .unwrap();
    c.request(&["FLUSHALL"]).unwrap();
    c.request(&["PSUBSCRIBE", "__key*@0__:*"]).unwrap();
    let mut seen = Vec::new();
    for cmd in [&["SET", "k", "v"][..], &["DEL", "k", "k2"], &["INCR", "n"]] {
        c.send(&encode_command(cmd)).unwrap();
        c.send(&encode_command(&["PING", "end"])).unwrap();
        loop {
            let r = c.read_reply().unwrap();
            let end = r.raw == b"$3\r\nend\r\n";
            seen.push(r.raw);
            if end {
                break;
            }
        }
    }
    seen
}

#[test]
fn own_events_reach_a_resp3_client_before_the_reply() {
    if !env_on("SABAODY_DIFF") {
        eprintln!("skipped: set SABAODY_DIFF=1 to compare keyspace events with redis-server");
        return;
    }
    let reference = RedisServer::start(&["--save", ""]).expect("redis-server 7.0 is needed");
    let s = start_sabaody();
    let want = own_events(reference.addr());
    assert!(want.len() > 9, "{want:?}");
    assert_eq!(own_events(s.local_addr()), want);
}
