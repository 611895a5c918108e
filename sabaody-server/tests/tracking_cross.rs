//! Client-side caching (`CLIENT TRACKING`) compared with a real redis-server 7.0 (with
//! `SABAODY_DIFF=1`; a skip line otherwise).
//!
//! The same steps run against both servers over several connections; after each step every
//! listening connection is flushed with a PING, and everything each connection received
//! (replies, invalidation pushes, `__redis__:invalidate` messages) is recorded byte for byte.
//! Client ids, which differ between the servers, are replaced by the connection's name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use sabaody_server::{Config, Server};
use sabaody_testkit::{Conn, RedisServer, encode_command};

fn env_on(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// One step: a command on a connection (`$NAME` in an argument is that connection's id),
/// a pause, or a connection closing.
enum Step {
    Cmd(&'static str, &'static str),
    Sleep(u64),
    Close(&'static str),
}
use Step::*;

/// Connections: name, RESP3?, listens for invalidations (flushed with PING after each step).
const CONNS: &[(&str, bool, bool)] = &[
    ("a", true, true),
    ("b", false, false),
    ("c", false, true),
    ("d", false, false),
    ("e", true, true),
];

const STEPS: &[Step] = &[
    // Default mode, RESP3.
    Cmd("a", "CLIENT TRACKING ON"),
    Cmd("a", "SET k 1"),
    Cmd("a", "GET k"),
    Cmd("a", "SET k 2"),
    Cmd("a", "GET k"),
    Cmd("a", "GET k"),
    Cmd("b", "SET k 3"),
    Cmd("b", "SET k 4"),
    Cmd("a", "MGET k j"),
    Cmd("b", "DEL k j"),
    Cmd("a", "GET x"),
    Cmd("b", "SET x 1"),
    Cmd("b", "SET x 1"),
    Cmd("a", "HGET h f"),
    Cmd("b", "HSET h f v"),
    Cmd("a", "SMEMBERS s"),
    Cmd("a", "SCARD s2"),
    Cmd("b", "SADD s b"),
    Cmd("b", "SMOVE s s2 b"),
    // Writes that change nothing invalidate nothing.
    Cmd("b", "SADD s3 a"),
    Cmd("a", "SMEMBERS s3"),
    Cmd("b", "SADD s3 a"),
    Cmd("b", "SREM s3 zz"),
    Cmd("b", "GETEX s3 PERSIST"),
    Cmd("b", "SADD s3 b"),
    Cmd("a", "ZRANGE z 0 -1"),
    Cmd("b", "ZADD z 1 m"),
    Cmd("a", "LRANGE l 0 -1"),
    Cmd("b", "RPUSH l2 x"),
    Cmd("b", "LMOVE l2 l LEFT LEFT"),
    Cmd("a", "GET f1"),
    Cmd("b", "FLUSHDB"),
    Cmd("a", "CLIENT TRACKINGINFO"),
    Cmd("a", "CLIENT GETREDIR"),
    // OPTIN.
    Cmd("a", "CLIENT TRACKING OFF"),
    Cmd("a", "CLIENT TRACKING ON OPTIN"),
    Cmd("a", "GET o1"),
    Cmd("b", "SET o1 x"),
    Cmd("a", "CLIENT CACHING YES"),
    Cmd("a", "CLIENT TRACKINGINFO"),
    Cmd("a", "GET o2"),
    Cmd("b", "SET o2 x"),
    Cmd("a", "GET o2"),
    Cmd("b", "SET o2 y"),
    Cmd("a", "CLIENT CACHING NO"),
    // OPTOUT, NOLOOP.
    Cmd("a", "CLIENT TRACKING OFF"),
    Cmd("a", "CLIENT TRACKING ON OPTOUT NOLOOP"),
    Cmd("a", "GET p1"),
    Cmd("b", "SET p1 x"),
    Cmd("a", "CLIENT CACHING NO"),
    Cmd("a", "GET p2"),
    Cmd("b", "SET p2 x"),
    Cmd("a", "GET p3"),
    Cmd("a", "SET p3 mine"),
    Cmd("b", "SET p3 theirs"),
    Cmd("a", "CLIENT TRACKINGINFO"),
    // BCAST.
    Cmd("a", "CLIENT TRACKING OFF"),
    Cmd("a", "CLIENT TRACKING ON BCAST PREFIX u: PREFIX w:"),
    Cmd("b", "SET u:1 x"),
    Cmd("b", "SET v:1 x"),
    Cmd("b", "MSET u:2 x w:3 y v:2 z"),
    Cmd("a", "CLIENT TRACKINGINFO"),
    Cmd("a", "CLIENT TRACKING ON BCAST PREFIX u:x"),
    Cmd("a", "CLIENT TRACKING ON OPTIN"),
    Cmd("a", "CLIENT TRACKING OFF"),
    // Errors.
    Cmd("a", "CLIENT TRACKING ON OPTIN OPTOUT"),
    Cmd("a", "CLIENT TRACKING ON PREFIX a"),
    Cmd("a", "CLIENT TRACKING ON BCAST OPTIN"),
    Cmd("a", "CLIENT TRACKING ON BCAST PREFIX a PREFIX ab"),
    Cmd("a", "CLIENT TRACKING ON REDIRECT 999999"),
    Cmd("a", "CLIENT TRACKING ON REDIRECT x"),
    Cmd("a", "CLIENT TRACKING MAYBE"),
    Cmd("a", "CLIENT TRACKING"),
    Cmd("a", "CLIENT CACHING YES"),
    Cmd("a", "CLIENT GETREDIR"),
    Cmd("a", "CLIENT TRACKINGINFO"),
    // Redirection to a RESP2 Pub/Sub client, then to a RESP3 one that goes away.
    Cmd("c", "SUBSCRIBE __redis__:invalidate"),
    Cmd("d", "CLIENT TRACKING ON REDIRECT $c"),
    Cmd("d", "CLIENT GETREDIR"),
    Cmd("d", "GET r1"),
    Cmd("b", "SET r1 x"),
    Cmd("d", "GET r2"),
    Cmd("b", "FLUSHALL"),
    Cmd("e", "CLIENT ID"),
    Cmd("a", "CLIENT TRACKING ON REDIRECT $e"),
    Cmd("a", "GET r3"),
    Cmd("b", "SET r3 x"),
    Cmd("a", "GET r4"),
    Close("e"),
    Sleep(100),
    Cmd("b", "SET r4 x"),
    Cmd("a", "CLIENT TRACKINGINFO"),
    Cmd("a", "CLIENT TRACKING OFF"),
    // Expiry: a key tracked by a read expires (lazily or actively: the two frames may come
    // in either order, so this step's frames are compared sorted).
    Cmd("a", "CLIENT TRACKING ON"),
    Cmd("b", "SET t1 v PX 40"),
    Cmd("a", "GET t1"),
    Sleep(150),
    Cmd("a", "GET t1"),
];

/// What each connection received during each step.
fn run(addr: SocketAddr) -> Vec<String> {
    let mut conns: HashMap<&str, (Conn, bool, bool, String)> = HashMap::new();
    for &(name, resp3, listens) in CONNS {
        let mut c = Conn::connect(addr).unwrap();
        c.request(&["FLUSHALL"]).unwrap();
        if resp3 {
            c.request(&["HELLO", "3"]).unwrap();
        }
        let id = c.request(&["CLIENT", "ID"]).unwrap();
        let id = String::from_utf8(id.data).unwrap();
        conns.insert(name, (c, resp3, listens, id));
    }
    let ids: Vec<(String, String)> = conns
        .iter()
        .map(|(n, c)| (c.3.clone(), format!("<{n}>")))
        .collect();
    // Ids differ between servers: the replies that carry one show the connection's name.
    let anon = |s: String| {
        if !(s.contains("GETREDIR")
            || s.contains("CLIENT ID")
            || s.contains("TRACKINGINFO")
            || s.contains("redir-broken"))
        {
            return s;
        }
        ids.iter().fold(s, |s, (id, n)| {
            s.replace(&format!(":{id}\\r\\n"), &format!(":{n}\\r\\n"))
        })
    };
    let mut transcript = Vec::new();
    let mut sorted_next = false;
    for step in STEPS {
        let mut seen: Vec<String> = Vec::new();
        match step {
            Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                sorted_next = true;
                continue;
            }
            Close(name) => {
                conns.remove(name);
                seen.push(format!("close {name}"));
            }
            Cmd(name, line) => {
                let argv: Vec<String> = line
                    .split(' ')
                    .map(|w| match w.strip_prefix('$') {
                        Some(n) => conns[n].3.clone(),
                        None => w.to_owned(),
                    })
                    .collect();
                let c = &mut conns.get_mut(name).unwrap().0;
                c.send(&encode_command(&argv)).unwrap();
                // Pushes may precede the reply.
                loop {
                    let r = c.read_reply().unwrap();
                    let push = r.kind == b'>';
                    seen.push(format!("{name} {}", r.raw.escape_ascii()));
                    if !push {
                        break;
                    }
                }
            }
        }
        let mut names: Vec<&str> = conns.keys().copied().collect();
        names.sort_unstable();
        for name in names {
            let (c, _, listens, _) = conns.get_mut(name).unwrap();
            if !*listens {
                continue;
            }
            c.send(&encode_command(&["PING", "barrier"])).unwrap();
            loop {
                let r = c.read_reply().unwrap();
                let raw = r.raw.escape_ascii().to_string();
                if raw.contains("barrier") {
                    break;
                }
                seen.push(format!("{name} {raw}"));
            }
        }
        if std::mem::take(&mut sorted_next) {
            seen.sort();
        }
        let label = match step {
            Cmd(n, l) => format!("{n}: {l}"),
            Close(n) => format!("close {n}"),
            Sleep(_) => String::new(),
        };
        transcript.push(anon(format!("{label}\n    {}", seen.join("\n    "))));
    }
    transcript
}

#[test]
fn tracking_matches_redis() {
    if !env_on("SABAODY_DIFF") {
        eprintln!("skipped: set SABAODY_DIFF=1 to compare CLIENT TRACKING with redis-server");
        return;
    }
    let reference = RedisServer::start(&["--save", ""]).expect("redis-server 7.0 is needed");
    let want = run(reference.addr());
    let got = if env_on("SABAODY_DIFF_SELF") {
        let other = RedisServer::start(&["--save", ""]).unwrap();
        run(other.addr())
    } else {
        let mut c = Config::default();
        c.set("port", &["0"]).unwrap();
        c.set("loglevel", &["warning"]).unwrap();
        c.set("io-threads", &["3"]).unwrap();
        let s = Server::start(c).unwrap();
        run(s.local_addr())
    };
    let invalidations = want.iter().filter(|s| s.contains("invalidate")).count();
    assert!(invalidations > 15, "the steps must cause invalidations");
    let bad: Vec<String> = want
        .iter()
        .zip(&got)
        .filter(|(w, g)| w != g)
        .map(|(w, g)| format!("redis:\n{w}\nsabaody:\n{g}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{} steps differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// `tracking-table-max-keys` bounds the table: past it, keys leave the table and their
/// clients are sent an invalidation, as if the keys had changed (Redis evicts them from its
/// cron; Sabaody as the table grows).
#[test]
fn the_table_is_bounded() {
    let mut cfg = Config::default();
    cfg.set("port", &["0"]).unwrap();
    cfg.set("loglevel", &["warning"]).unwrap();
    let s = Server::start(cfg).unwrap();
    let mut c = Conn::connect(s.local_addr()).unwrap();
    c.request(&["HELLO", "3"]).unwrap();
    c.request(&["CONFIG", "SET", "tracking-table-max-keys", "2"])
        .unwrap();
    c.request(&["CLIENT", "TRACKING", "ON"]).unwrap();
    let mut invalidated = Vec::new();
    for i in 0..5 {
        c.send(&encode_command(&["GET", &format!("k{i}")])).unwrap();
        loop {
            let r = c.read_reply().unwrap();
            if r.kind != b'>' {
                assert_eq!(r.raw, b"_\r\n");
                break;
            }
            assert_eq!(r.children[0].data, b"invalidate");
            invalidated.push(String::from_utf8(r.children[1].children[0].data.clone()).unwrap());
        }
    }
    // Pushes after the last reply: flushed with a PING.
    c.send(&encode_command(&["PING"])).unwrap();
    loop {
        let r = c.read_reply().unwrap();
        if r.kind != b'>' {
            break;
        }
        invalidated.push(String::from_utf8(r.children[1].children[0].data.clone()).unwrap());
    }
    assert_eq!(invalidated.len(), 3, "{invalidated:?}");
    let info = c.request(&["INFO", "stats"]).unwrap();
    let text = String::from_utf8(info.data).unwrap();
    assert!(text.contains("tracking_total_keys:2\r\n"), "{text}");
    assert!(text.contains("tracking_total_items:2\r\n"), "{text}");
}
