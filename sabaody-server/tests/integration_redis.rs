//! The server in-process, spoken to through the `redis` crate (sync API) as a real client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use redis::{Commands, Value};
use sabaody_server::{Config, Server, ServerHandle};

fn start() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    Server::start(c).unwrap()
}

fn client(h: &ServerHandle, resp3: bool) -> redis::Connection {
    let url = if resp3 {
        format!("redis://{}/?protocol=resp3", h.local_addr())
    } else {
        format!("redis://{}/", h.local_addr())
    };
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

#[test]
fn strings() {
    let h = start();
    let mut con = client(&h, false);
    let _: () = con.set("name", "sabaody").unwrap();
    let v: String = con.get("name").unwrap();
    assert_eq!(v, "sabaody");
    let n: i64 = con.incr("counter", 5).unwrap();
    assert_eq!(n, 5);
    let n: i64 = con.decr("counter", 2).unwrap();
    assert_eq!(n, 3);
    let len: usize = con.append("name", "!").unwrap();
    assert_eq!(len, 8);
    let _: () = con.mset(&[("a", "1"), ("b", "2")]).unwrap();
    let vals: Vec<Option<String>> = con.mget(&["a", "b", "nope"]).unwrap();
    assert_eq!(vals, vec![Some("1".into()), Some("2".into()), None]);
    let f: f64 = redis::cmd("INCRBYFLOAT")
        .arg("fl")
        .arg("1.5")
        .query(&mut con)
        .unwrap();
    assert!((f - 1.5).abs() < 1e-9);
    let r: String = con.getrange("name", 0, 3).unwrap();
    assert_eq!(r, "saba");
    let err = con.incr::<_, _, i64>("name", 1).unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
    let missing: Option<String> = con.get("missing").unwrap();
    assert_eq!(missing, None);
    let deleted: usize = con.del(&["a", "b", "nope"]).unwrap();
    assert_eq!(deleted, 2);
    h.shutdown();
}

#[test]
fn ttl() {
    let h = start();
    let mut con = client(&h, false);
    let _: () = con.set_ex("session", "x", 100).unwrap();
    let t: i64 = con.ttl("session").unwrap();
    assert!((99..=100).contains(&t), "{t}");
    let pt: i64 = con.pttl("session").unwrap();
    assert!(pt > 98_000 && pt <= 100_000, "{pt}");
    let set: bool = con.expire("session", 10).unwrap();
    assert!(set);
    let t: i64 = con.ttl("session").unwrap();
    assert!((9..=10).contains(&t));
    let persisted: bool = con.persist("session").unwrap();
    assert!(persisted);
    let t: i64 = con.ttl("session").unwrap();
    assert_eq!(t, -1);
    let t: i64 = con.ttl("nothing").unwrap();
    assert_eq!(t, -2);
    let _: () = con.pset_ex("short", "x", 30).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let gone: Option<String> = con.get("short").unwrap();
    assert_eq!(gone, None);
    h.shutdown();
}

#[test]
fn multi_exec() {
    let h = start();
    let mut con = client(&h, false);
    let (a, b, c): (String, i64, i64) = redis::pipe()
        .atomic()
        .set("k", "v")
        .ignore()
        .get("k")
        .incr("n", 1)
        .incr("n", 1)
        .query(&mut con)
        .unwrap();
    assert_eq!((a.as_str(), b, c), ("v", 1, 2));
    // WATCH through the crate's transaction helper.
    let key = "watched";
    let _: () = con.set(key, 10).unwrap();
    let (v,): (i64,) = redis::transaction(&mut con, &[key], |con, pipe| {
        let old: i64 = con.get(key)?;
        pipe.set(key, old + 1).ignore().get(key).query(con)
    })
    .unwrap();
    assert_eq!(v, 11);
    h.shutdown();
}

#[test]
fn hello3() {
    let h = start();
    let mut con = client(&h, true);
    let v: Value = redis::cmd("HELLO").arg("3").query(&mut con).unwrap();
    match v {
        Value::Map(pairs) => {
            let proto = pairs
                .iter()
                .find(|(k, _)| matches!(k, Value::BulkString(b) if b == b"proto"))
                .map(|(_, v)| v.clone());
            assert_eq!(proto, Some(Value::Int(3)));
        }
        other => panic!("expected a map, got {other:?}"),
    }
    let _: () = con.set("x", "1").unwrap();
    let nil: Value = redis::cmd("GET").arg("missing").query(&mut con).unwrap();
    assert_eq!(nil, Value::Nil);
    let cfg: Value = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query(&mut con)
        .unwrap();
    assert!(matches!(cfg, Value::Map(_)), "{cfg:?}");
    h.shutdown();
}

#[test]
fn keys_scan_and_info() {
    let h = start();
    let mut con = client(&h, false);
    for i in 0..50 {
        let _: () = con.set(format!("user:{i}"), i).unwrap();
    }
    let _: () = con.set("other", 1).unwrap();
    let mut keys: Vec<String> = con.keys("user:*").unwrap();
    keys.sort();
    assert_eq!(keys.len(), 50);
    let mut scanned: Vec<String> = con
        .scan_match::<_, String>("user:*")
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    scanned.sort();
    scanned.dedup();
    assert_eq!(scanned, keys);
    let size: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 51);
    let info: redis::InfoDict = redis::cmd("INFO").query(&mut con).unwrap();
    assert_eq!(info.get::<String>("role").as_deref(), Some("master"));
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    let size: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 0);
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    let size: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 0);
    h.shutdown();
}

/// CONFIG RESETSTAT zeroes the keyspace counters too (hits, misses, expired keys), as Redis.
#[test]
fn config_resetstat_zeroes_keyspace_counters() {
    let h = start();
    let mut con = client(&h, false);
    let stat = |con: &mut redis::Connection, name: &str| -> u64 {
        let info: redis::InfoDict = redis::cmd("INFO").arg("stats").query(con).unwrap();
        info.get::<u64>(name).unwrap()
    };
    let _: Option<String> = con.get("missing").unwrap();
    let _: () = con.set("k", "v").unwrap();
    let _: String = con.get("k").unwrap();
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("v")
        .arg("PX")
        .arg(1)
        .query(&mut con)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let _: Option<String> = con.get("short").unwrap();
    assert_eq!(stat(&mut con, "keyspace_hits"), 1);
    assert_eq!(stat(&mut con, "keyspace_misses"), 2);
    assert_eq!(stat(&mut con, "expired_keys"), 1);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    assert_eq!(stat(&mut con, "keyspace_hits"), 0);
    assert_eq!(stat(&mut con, "keyspace_misses"), 0);
    assert_eq!(stat(&mut con, "expired_keys"), 0);
    assert_eq!(stat(&mut con, "evicted_keys"), 0);
    h.shutdown();
}
