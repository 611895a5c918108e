//! SORT ... STORE in the AOF: logged as its effect (`DEL dst` when it replaced or deleted
//! something, `RPUSH dst <result>` when the result is not empty; both inside MULTI/EXEC), SORT without STORE, SORT_RO
//! and a STORE that changed nothing not at all; a restart reproduces every destination.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aof_util;

use aof_util::{TempDir, assert_same, connect, dump, incr_bytes, start};

fn q(con: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn sort_store_is_logged_as_its_result() {
    let dir = TempDir::new("aof-sort");
    let h = start(dir.path(), &[("appendfsync", "always")]);
    let mut c = connect(&h);
    let c = &mut c;
    q(c, &["RPUSH", "l", "3", "1", "2"]);
    q(c, &["SADD", "s", "b", "c", "a", "10", "9"]);
    q(c, &["ZADD", "z", "1", "x", "2", "y"]);
    q(c, &["MSET", "w_1", "30", "w_2", "10", "w_3", "20"]);
    q(c, &["HSET", "h_1", "f", "one"]);
    q(c, &["HSET", "h_3", "f", "three"]);
    q(c, &["SET", "old", "string", "EX", "1000"]);
    q(c, &["SORT", "l", "STORE", "d1"]);
    q(
        c,
        &[
            "SORT", "l", "BY", "w_*", "GET", "h_*->f", "GET", "#", "STORE", "d2",
        ],
    );
    q(c, &["SORT", "s", "BY", "nosort", "STORE", "d3"]);
    q(c, &["SORT", "z", "BY", "nosort", "DESC", "STORE", "old"]);
    q(c, &["SORT", "l", "DESC", "STORE", "l"]);
    q(c, &["SORT", "nokey", "STORE", "nothing"]);
    q(c, &["SET", "gone", "x"]);
    q(c, &["SORT", "nokey", "STORE", "gone"]);
    q(c, &["SORT", "l"]);
    q(c, &["SORT_RO", "s", "ALPHA"]);
    q(c, &["MULTI"]);
    q(c, &["SORT", "s", "ALPHA", "DESC", "STORE", "d4"]);
    q(
        c,
        &["SORT", "d4", "ALPHA", "LIMIT", "0", "2", "STORE", "d5"],
    );
    q(c, &["EXEC"]);
    let before = dump(c);
    h.shutdown();

    let log = sabaody_testkit::command_lines(&incr_bytes(dir.path())).unwrap();
    assert!(
        !log.iter()
            .any(|l| l.to_ascii_uppercase().starts_with("SORT")),
        "{log:?}"
    );
    for want in [
        "RPUSH d1 1 2 3",
        "RPUSH d2  2 three 3 one 1",
        "RPUSH d3 10 9 a b c",
        "DEL old",
        "RPUSH old y x",
        "DEL l",
        "RPUSH l 3 2 1",
        "DEL gone",
        "RPUSH d4 c b a 9 10",
        "RPUSH d5 10 9",
    ] {
        assert!(log.iter().any(|l| l == want), "{want:?} not in {log:?}");
    }
    assert!(!log.iter().any(|l| l.contains("nothing")), "{log:?}");
    // DEL + RPUSH of one SORT are one transaction in the log (a crash between them must
    // not leave the destination deleted).
    let at = log.iter().position(|l| l == "DEL old").unwrap();
    assert_eq!(log[at - 1], "MULTI", "{log:?}");
    assert_eq!(log[at + 1], "RPUSH old y x", "{log:?}");
    assert_eq!(log[at + 2], "EXEC", "{log:?}");

    let h = start(dir.path(), &[("appendfsync", "always")]);
    let mut c = connect(&h);
    let after = dump(&mut c);
    assert_same(&before, &after, 0);
    let d2: Vec<String> = redis::cmd("LRANGE")
        .arg("d2")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(d2, ["", "2", "three", "3", "one", "1"]);
    let ttl: i64 = redis::cmd("TTL").arg("old").query(&mut c).unwrap();
    assert_eq!(ttl, -1);
    h.shutdown();
}
