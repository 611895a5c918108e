//! ACL and WAIT through the `redis` crate as a real client: passwords set with `ACL SETUSER
//! default` gate new connections, failed authentications land in `ACL LOG`, and WAIT blocks
//! for its timeout on a server without replicas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use redis::Value;
use sabaody_server::{Config, Server, ServerHandle};

fn start() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    Server::start(c).unwrap()
}

fn connect(h: &ServerHandle, auth: Option<(&str, &str)>, resp3: bool) -> redis::Connection {
    let cred = auth.map_or_else(String::new, |(u, p)| format!("{u}:{p}@"));
    let proto = if resp3 { "?protocol=resp3" } else { "" };
    let url = format!("redis://{cred}{}/{proto}", h.local_addr());
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn bulk(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// The value of `field` in an ACL LOG entry (a flat array in RESP2, a map in RESP3).
fn entry_field(entry: &Value, field: &str) -> Value {
    let pairs: Vec<(Value, Value)> = match entry {
        Value::Array(a) => a.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect(),
        Value::Map(m) => m.clone(),
        other => panic!("{other:?}"),
    };
    pairs
        .into_iter()
        .find(|(k, _)| bulk(k) == field)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {field} in {entry:?}"))
}

#[test]
fn setuser_password_gates_new_connections_and_failures_are_logged() {
    let h = start();
    for resp3 in [false, true] {
        let mut admin = connect(&h, None, resp3);
        let whoami: String = redis::cmd("ACL").arg("WHOAMI").query(&mut admin).unwrap();
        assert_eq!(whoami, "default");
        let _: () = redis::cmd("ACL")
            .arg("LOG")
            .arg("RESET")
            .query(&mut admin)
            .unwrap();
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg("default")
            .arg(">s3cret")
            .query(&mut admin)
            .unwrap();
        let list: Vec<String> = redis::cmd("ACL").arg("LIST").query(&mut admin).unwrap();
        // sha256("s3cret"), as `printf s3cret | sha256sum` prints it
        assert_eq!(
            list,
            [
                "user default on #1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 ~* &* +@all"
            ]
        );
        // CONFIG GET requirepass is left alone, as in Redis.
        let rp: std::collections::HashMap<String, String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("requirepass")
            .query(&mut admin)
            .unwrap();
        assert_eq!(rp.get("requirepass").map(String::as_str), Some(""));

        // A new connection without the password is refused; with it, served.
        let mut anon = connect(&h, None, false);
        let err = redis::cmd("GET")
            .arg("k")
            .query::<Option<String>>(&mut anon)
            .unwrap_err();
        assert!(err.to_string().contains("NOAUTH"), "{err}");
        for _ in 0..2 {
            let err = redis::cmd("AUTH")
                .arg("wrong")
                .query::<()>(&mut anon)
                .unwrap_err();
            assert!(err.to_string().contains("WRONGPASS"), "{err}");
        }
        let mut ok = connect(&h, Some(("default", "s3cret")), resp3);
        let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut ok).unwrap();
        let v: String = redis::cmd("GET").arg("k").query(&mut ok).unwrap();
        assert_eq!(v, "v");

        // The two failures are one entry counted twice.
        let log: Vec<Value> = redis::cmd("ACL").arg("LOG").query(&mut admin).unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        let e = &log[0];
        assert_eq!(entry_field(e, "count"), Value::Int(2));
        assert_eq!(bulk(&entry_field(e, "reason")), "auth");
        assert_eq!(bulk(&entry_field(e, "context")), "toplevel");
        assert_eq!(bulk(&entry_field(e, "object")), "AUTH");
        assert_eq!(bulk(&entry_field(e, "username")), "default");
        let info = bulk(&entry_field(e, "client-info"));
        assert!(
            info.starts_with("id=") && info.contains(" cmd=auth "),
            "{info}"
        );
        let age = entry_field(e, "age-seconds");
        let age: f64 = match &age {
            Value::Double(d) => *d,
            other => bulk(other).parse().unwrap(),
        };
        assert!((0.0..60.0).contains(&age), "{age}");

        // Back to nopass: new connections are in at once.
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg("default")
            .arg("nopass")
            .query(&mut admin)
            .unwrap();
        let mut free = connect(&h, None, resp3);
        let v: String = redis::cmd("GET").arg("k").query(&mut free).unwrap();
        assert_eq!(v, "v");
    }
    h.shutdown();
}

#[test]
fn restricting_rules_and_other_users_are_refused() {
    let h = start();
    let mut c = connect(&h, None, false);
    for rules in [
        &["default", "resetkeys", "~app:*"][..],
        &["default", "-@dangerous"],
        &["default", "reset"],
        &["alice", "on", ">pw"],
    ] {
        let err = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(rules)
            .query::<()>(&mut c)
            .unwrap_err();
        assert!(
            err.to_string().contains("not supported"),
            "{rules:?}: {err}"
        );
    }
    // Nothing changed.
    let list: Vec<String> = redis::cmd("ACL").arg("LIST").query(&mut c).unwrap();
    assert_eq!(list, ["user default on nopass ~* &* +@all"]);
    let users: Vec<String> = redis::cmd("ACL").arg("USERS").query(&mut c).unwrap();
    assert_eq!(users, ["default"]);
    h.shutdown();
}

#[test]
fn requirepass_is_the_default_users_password() {
    let h = start();
    let mut c = connect(&h, None, false);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("pw")
        .query(&mut c)
        .unwrap();
    let list: Vec<String> = redis::cmd("ACL").arg("LIST").query(&mut c).unwrap();
    // sha256("pw")
    assert_eq!(
        list,
        [
            "user default on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all"
        ]
    );
    let mut other = connect(&h, Some(("default", "pw")), false);
    let whoami: String = redis::cmd("ACL").arg("WHOAMI").query(&mut other).unwrap();
    assert_eq!(whoami, "default");
    h.shutdown();
}

#[test]
fn wait_without_replicas() {
    let h = start();
    let mut c = connect(&h, None, false);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let n: i64 = redis::cmd("WAIT").arg(0).arg(0).query(&mut c).unwrap();
    assert_eq!(n, 0);
    // One replica asked for: blocks until the timeout, then 0.
    let t = Instant::now();
    let n: i64 = redis::cmd("WAIT").arg(1).arg(100).query(&mut c).unwrap();
    let waited = t.elapsed();
    assert_eq!(n, 0);
    assert!(waited >= Duration::from_millis(90), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The connection goes on.
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    h.shutdown();
}

#[test]
fn wait_forever_ends_with_client_unblock() {
    let h = start();
    let mut waiter = connect(&h, None, false);
    let mut other = connect(&h, None, false);
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut waiter).unwrap();
    for (how, expect_error) in [("TIMEOUT", false), ("ERROR", true)] {
        let addr = h.local_addr();
        let t = std::thread::spawn(move || {
            let mut w = redis::Client::open(format!("redis://{addr}/"))
                .unwrap()
                .get_connection()
                .unwrap();
            let my_id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut w).unwrap();
            let r = redis::cmd("WAIT").arg(1).arg(0).query::<i64>(&mut w);
            (my_id, r.map_err(|e| e.to_string()))
        });
        // Unblock it once it is blocked (it shows in INFO's blocked_clients).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info: String = redis::cmd("INFO").arg("clients").query(&mut other).unwrap();
            if info.contains("blocked_clients:1") {
                break;
            }
            assert!(Instant::now() < deadline, "WAIT never blocked: {info}");
            std::thread::sleep(Duration::from_millis(5));
        }
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut other).unwrap();
        let blocked_id: i64 = list
            .lines()
            .find(|l| l.contains("flags=b"))
            .and_then(|l| l.strip_prefix("id="))
            .and_then(|l| l.split(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{list}"));
        let n: i64 = redis::cmd("CLIENT")
            .arg("UNBLOCK")
            .arg(blocked_id)
            .arg(how)
            .query(&mut other)
            .unwrap();
        assert_eq!(n, 1);
        let (my_id, r) = t.join().unwrap();
        assert_eq!(my_id, blocked_id);
        match r {
            Ok(n) => {
                assert!(!expect_error);
                assert_eq!(n, 0);
            }
            Err(e) => {
                assert!(expect_error, "{e}");
                assert!(e.contains("UNBLOCKED"), "{e}");
            }
        }
    }
    // The first connection was never blocked.
    let n: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(id)
        .query(&mut waiter)
        .unwrap();
    assert_eq!(n, 0);
    h.shutdown();
}
