//! Keyspace notifications Sabaody raises by itself: every eviction under `maxmemory` is
//! published as `evicted`, as many as INFO counts; expired keys as `expired`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sabaody_server::{Config, Server};
use sabaody_testkit::{Conn, Value};

fn info_field(c: &mut Conn, field: &str) -> u64 {
    let Value::Bulk(text) = c.call(&["INFO", "stats"]).unwrap() else {
        panic!("INFO is a bulk string");
    };
    let text = String::from_utf8(text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// Reads `message` frames until `n` arrived or 10 s passed; returns how many.
fn count_messages(sub: &mut Conn, n: u64, channel: &[u8]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = 0;
    while got < n && Instant::now() < deadline {
        let r = sub.read_reply().unwrap();
        assert_eq!(r.children[0].data, b"message");
        assert_eq!(r.children[1].data, channel);
        got += 1;
    }
    got
}

#[test]
fn every_eviction_and_expiry_is_published() {
    let mut cfg = Config::default();
    cfg.set("port", &["0"]).unwrap();
    cfg.set("loglevel", &["warning"]).unwrap();
    cfg.set("io-threads", &["2"]).unwrap();
    cfg.set("maxmemory", &["2mb"]).unwrap();
    cfg.set("maxmemory-policy", &["allkeys-random"]).unwrap();
    cfg.set("notify-keyspace-events", &["Eex"]).unwrap();
    let s = Server::start(cfg).unwrap();
    let addr = s.local_addr();
    let mut sub = Conn::connect(addr).unwrap();
    sub.request(&["SUBSCRIBE", "__keyevent@0__:evicted"])
        .unwrap();
    let mut c = Conn::connect(addr).unwrap();
    let value = "x".repeat(1000);
    for i in 0..6000 {
        let r = c.call(&["SET", &format!("key:{i}"), &value]).unwrap();
        assert_eq!(r, Value::Simple("OK".into()));
    }
    let evicted = info_field(&mut c, "evicted_keys");
    assert!(evicted > 1000, "6 MB written under a 2 MB bound: {evicted}");
    assert_eq!(
        count_messages(&mut sub, evicted, b"__keyevent@0__:evicted"),
        evicted
    );

    // Expiry: keys nobody reads again are found by the active cycle.
    let mut sub = Conn::connect(addr).unwrap();
    sub.request(&["SUBSCRIBE", "__keyevent@0__:expired"])
        .unwrap();
    c.call(&["CONFIG", "SET", "maxmemory", "0"]).unwrap();
    for i in 0..50 {
        c.call(&["SET", &format!("t:{i}"), "v", "PX", "20"])
            .unwrap();
    }
    assert_eq!(count_messages(&mut sub, 50, b"__keyevent@0__:expired"), 50);
    assert_eq!(info_field(&mut c, "expired_keys"), 50);
}
