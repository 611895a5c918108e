//! SORT against concurrent writers: a SORT whose GET patterns read several keys sees them
//! all at one instant, as with Redis's single thread, even with the AOF off and the writer
//! on another loop thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sabaody_server::{Config, Server};
use sabaody_testkit::{Conn, Value};

#[test]
fn sort_get_patterns_read_one_instant() {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    c.set("io-threads", &["2"]).unwrap();
    let h = Server::start(c).unwrap();
    let addr = h.local_addr();
    let mut s = Conn::connect(addr).unwrap();
    // Elements whose pattern keys fall in many shards.
    let elems: Vec<String> = (0..16).map(|i| format!("e{i}")).collect();
    let mut push = vec!["RPUSH".to_string(), "l".to_string()];
    push.extend(elems.iter().cloned());
    let push: Vec<&str> = push.iter().map(String::as_str).collect();
    s.call(&push).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let elems = elems.clone();
        std::thread::spawn(move || {
            let mut w = Conn::connect(addr).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // MSET is atomic: every w_<e> holds the same value at any instant.
                let v = n.to_string();
                let mut args = vec!["MSET".to_string()];
                for e in &elems {
                    args.push(format!("w_{e}"));
                    args.push(v.clone());
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                w.call(&args).unwrap();
            }
            n
        })
    };
    let mut torn = 0;
    for i in 0..2000 {
        let reply = if i % 2 == 0 {
            s.call(&["SORT", "l", "BY", "nosort", "GET", "w_*"])
                .unwrap()
        } else {
            s.call(&["SORT", "l", "BY", "nosort", "GET", "w_*", "STORE", "d"])
                .unwrap();
            s.call(&["LRANGE", "d", "0", "-1"]).unwrap()
        };
        let Value::Array(items) = reply else {
            panic!("{reply:?}")
        };
        let vals: Vec<Option<Vec<u8>>> = items
            .into_iter()
            .map(|v| match v {
                Value::Nil => None,
                other => Some(other.bytes()),
            })
            .collect();
        if vals.windows(2).any(|p| p[0] != p[1]) {
            torn += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(writes > 10, "the writer ran {writes} times");
    assert_eq!(torn, 0, "SORT saw a half-applied MSET {torn} times");
    h.shutdown();
}
