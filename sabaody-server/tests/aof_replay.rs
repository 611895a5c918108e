//! AOF replay exactness: a mix of every family's writes (relative TTLs, INCRBYFLOAT, SPOP,
//! blocking pops served by a push, MULTI/EXEC, several databases, expirations, evictions under
//! a small maxmemory), then a restart from the AOF gives the same keyspace, key by key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aof_util;

use std::time::{Duration, Instant};

use aof_util::{TempDir, assert_same, connect, dump, incr_bytes, start};
use redis::Value;

fn q(con: &mut redis::Connection, args: &[&str]) -> Value {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Waits (on the server's wall clock) until `key` is gone. The server runs on the real clock;
/// the point is a key that expires between two logged writes.
fn wait_expired(con: &mut redis::Connection, key: &str) {
    let t = Instant::now();
    loop {
        let pttl: i64 = redis::cmd("PTTL").arg(key).query(con).unwrap();
        if pttl == -2 {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{key} never expired");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn workload(h: &sabaody_server::ServerHandle) {
    let mut c = connect(h);
    let c = &mut c;
    // strings and keys, relative and absolute TTLs
    q(c, &["SET", "s1", "v1"]);
    q(c, &["SET", "s2", "v2", "EX", "1000"]);
    q(c, &["SET", "s3", "v3", "PX", "900000", "GET"]);
    q(c, &["SET", "s4", "v4", "NX", "EX", "100"]);
    q(c, &["SET", "s4", "other", "NX", "EX", "5"]); // not written: nothing logged
    q(c, &["SETEX", "s5", "700", "v5"]);
    q(c, &["PSETEX", "s6", "800000", "v6"]);
    q(c, &["SET", "s7", "v7", "EXAT", "4102444800"]);
    q(c, &["SET", "gone", "x", "PXAT", "1000"]); // in the past
    q(c, &["SET", "n", "10"]);
    q(c, &["INCR", "n"]);
    q(c, &["INCRBY", "n", "5"]);
    q(c, &["DECR", "n"]);
    q(c, &["INCRBYFLOAT", "f", "0.1"]);
    q(c, &["INCRBYFLOAT", "f", "1.0000000000000002"]);
    q(c, &["SET", "ft", "3", "EX", "500"]);
    q(c, &["INCRBYFLOAT", "ft", "1.5"]);
    q(c, &["APPEND", "s1", "-tail"]);
    q(c, &["SETRANGE", "s1", "1", "XY"]);
    q(c, &["MSET", "m1", "a", "m2", "b", "m3", "c"]);
    q(c, &["GETEX", "m1", "EX", "600"]);
    q(c, &["GETEX", "s2", "PERSIST"]);
    q(c, &["GETEX", "m3", "PXAT", "1"]); // past: the key goes
    q(c, &["EXPIRE", "m2", "300"]);
    q(c, &["PEXPIRE", "s1", "400000", "NX"]);
    q(c, &["EXPIRE", "s1", "1", "NX"]); // condition fails: nothing
    q(c, &["EXPIREAT", "n", "4102444800"]);
    q(c, &["EXPIRE", "s6", "-1"]); // deletes
    q(c, &["PERSIST", "s5"]);
    q(c, &["GETSET", "s7", "v7b"]);
    q(c, &["GETDEL", "s4"]);
    q(c, &["RENAME", "m1", "m1r"]);
    q(c, &["COPY", "m2", "m2c"]);
    q(c, &["DEL", "nosuch", "s3"]);
    q(c, &["SETNX", "sn", "1"]);
    q(c, &["MSETNX", "x1", "1", "x2", "2"]);
    // sets, with random pops
    q(c, &["SADD", "set", "a", "b", "c", "d", "e", "f", "g", "h"]);
    q(c, &["SPOP", "set"]);
    q(c, &["SPOP", "set", "3"]);
    q(c, &["SADD", "small", "1", "2"]);
    q(c, &["SPOP", "small", "5"]); // empties it
    q(c, &["SADD", "set2", "a", "b", "x"]);
    q(c, &["SINTERSTORE", "inter", "set", "set2"]);
    q(c, &["SMOVE", "set2", "set3", "x"]);
    q(c, &["SREM", "set2", "a"]);
    // sorted sets
    q(c, &["ZADD", "z", "1", "a", "2", "b", "3.5", "c", "4", "d"]);
    q(c, &["ZINCRBY", "z", "0.25", "a"]);
    q(c, &["ZPOPMIN", "z"]);
    q(c, &["ZADD", "z", "GT", "10", "d"]);
    q(c, &["ZRANGESTORE", "zr", "z", "0", "1"]);
    q(
        c,
        &["ZUNIONSTORE", "zu", "2", "z", "zr", "WEIGHTS", "1", "2"],
    );
    q(c, &["ZREMRANGEBYSCORE", "zu", "0", "3"]);
    // hashes
    q(c, &["HSET", "h", "a", "1", "b", "2", "c", "x"]);
    q(c, &["HINCRBY", "h", "a", "41"]);
    q(c, &["HINCRBYFLOAT", "h", "b", "0.5"]);
    q(c, &["HINCRBYFLOAT", "h", "new", "2.25"]);
    q(c, &["HDEL", "h", "c"]);
    q(c, &["HSETNX", "h", "d", "4"]);
    // lists
    q(c, &["RPUSH", "l", "a", "b", "c", "d", "e"]);
    q(c, &["LPOP", "l"]);
    q(c, &["RPOP", "l", "2"]);
    q(c, &["LMOVE", "l", "l2", "LEFT", "RIGHT"]);
    q(c, &["LPUSH", "l3", "1", "2", "3", "4"]);
    q(c, &["LTRIM", "l3", "1", "2"]);
    q(c, &["LINSERT", "l3", "BEFORE", "2", "x"]);
    q(c, &["LSET", "l3", "0", "y"]);
    q(c, &["LMPOP", "2", "none", "l3", "RIGHT", "COUNT", "1"]);
    // blocking pops served at once, and served later by a push from another client
    q(c, &["RPUSH", "bl", "1", "2", "3"]);
    q(c, &["BLPOP", "bl", "0"]);
    q(c, &["BRPOP", "bl", "0"]);
    q(c, &["BLMOVE", "bl", "bl2", "LEFT", "LEFT", "0"]);
    for (cmd, key) in [
        (vec!["BLPOP", "w1", "5"], "w1"),
        (vec!["BRPOP", "w2", "5"], "w2"),
        (vec!["BLMOVE", "w3", "w3dst", "RIGHT", "LEFT", "5"], "w3"),
        (vec!["BLMPOP", "5", "1", "w4", "LEFT", "COUNT", "2"], "w4"),
        (vec!["BRPOPLPUSH", "w5", "w5dst", "5"], "w5"),
    ] {
        let addr = h.local_addr();
        let waiter = std::thread::spawn(move || {
            let mut w = redis::Client::open(format!("redis://{addr}/"))
                .unwrap()
                .get_connection()
                .unwrap();
            let mut c = redis::cmd(cmd[0]);
            for a in &cmd[1..] {
                c.arg(*a);
            }
            let v: Value = c.query(&mut w).unwrap();
            assert_ne!(v, Value::Nil, "{cmd:?} timed out");
        });
        // Let the waiter block first (a push before it blocks is served at once: also fine).
        std::thread::sleep(Duration::from_millis(50));
        q(c, &["RPUSH", key, "p1", "p2", "p3"]);
        waiter.join().unwrap();
    }
    // MULTI/EXEC, with a SELECT inside
    q(c, &["MULTI"]);
    q(c, &["SET", "tx1", "a", "EX", "900"]);
    q(c, &["INCR", "txn"]);
    q(c, &["SELECT", "5"]);
    q(c, &["SADD", "txs", "m"]);
    q(c, &["SPOP", "txs"]);
    q(c, &["SADD", "txs", "n", "o"]);
    q(c, &["EXEC"]);
    q(c, &["SELECT", "0"]);
    // other databases, MOVE, SWAPDB
    q(c, &["SELECT", "3"]);
    q(c, &["SET", "d3", "three", "PX", "600000"]);
    q(c, &["HSET", "dh", "f", "v"]);
    q(c, &["MOVE", "dh", "4"]);
    q(c, &["SELECT", "7"]);
    q(c, &["RPUSH", "d7", "x"]);
    q(c, &["SWAPDB", "7", "8"]);
    q(c, &["SELECT", "0"]);
    // bitmaps, HyperLogLog, Bloom, Count-Min
    q(c, &["SETBIT", "bits", "77", "1"]);
    q(
        c,
        &[
            "BITFIELD", "bf", "SET", "u8", "0", "200", "INCRBY", "u8", "0", "100",
        ],
    );
    q(c, &["PFADD", "hll", "a", "b", "c"]);
    q(c, &["BF.ADD", "bloom", "item1"]);
    q(c, &["BF.MADD", "bloom", "item2", "item3"]);
    q(c, &["CMS.INITBYDIM", "cms", "100", "5"]);
    q(c, &["CMS.INCRBY", "cms", "a", "3", "b", "4"]);
    // geo (deterministic: logged as they are)
    q(
        c,
        &[
            "GEOADD",
            "geo",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
    );
    q(
        c,
        &[
            "GEOSEARCHSTORE",
            "geost",
            "geo",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
            "ASC",
            "STOREDIST",
        ],
    );
    q(
        c,
        &["GEORADIUS", "geo", "15", "37", "300", "km", "STORE", "geor"],
    );
    // A key that expires between two writes: INCR after the expiry starts from 0 again, which
    // replay reproduces only because the expiry is in the log (as a DEL).
    q(c, &["SET", "e", "5", "PX", "120"]);
    q(c, &["INCR", "e"]);
    wait_expired(c, "e");
    q(c, &["INCR", "e"]);
    q(c, &["SADD", "es", "old"]);
    q(c, &["PEXPIRE", "es", "100"]);
    wait_expired(c, "es");
    q(c, &["SADD", "es", "new"]);
    // A key expired and then found by the active expiry cycle (nobody touches it).
    q(c, &["SET", "quiet", "1", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(400));
    q(c, &["SET", "quiet", "2", "NX"]);
}

#[test]
fn restart_from_the_aof_gives_the_same_keyspace() {
    let dir = TempDir::new("aof-replay");
    let h = start(dir.path(), &[("appendfsync", "always")]);
    workload(&h);
    let mut con = connect(&h);
    let before = dump(&mut con);
    assert!(before.len() > 40, "{}", before.len());
    h.shutdown();

    // What was logged is what Redis propagates: no relative TTL, no random or blocking command.
    let log = String::from_utf8_lossy(&incr_bytes(dir.path())).to_ascii_uppercase();
    for absent in [
        "\r\nEXPIRE\r\n",
        "\r\nPEXPIRE\r\n",
        "\r\nSETEX\r\n",
        "\r\nPSETEX\r\n",
        "\r\nSPOP\r\n",
        "\r\nINCRBYFLOAT\r\n",
        "\r\nHINCRBYFLOAT\r\n",
        "\r\nBLPOP\r\n",
        "\r\nBRPOP\r\n",
        "\r\nBLMOVE\r\n",
        "\r\nBLMPOP\r\n",
        "\r\nBRPOPLPUSH\r\n",
        "\r\nGETEX\r\n",
        "\r\nEX\r\n",
        "\r\nPX\r\n",
    ] {
        assert!(!log.contains(absent), "{absent:?} logged");
    }
    for present in [
        "\r\nPEXPIREAT\r\n",
        "\r\nPXAT\r\n",
        "\r\nSREM\r\n",
        "\r\nMULTI\r\n",
        "\r\nEXEC\r\n",
        "\r\nLMOVE\r\n",
        "\r\nKEEPTTL\r\n",
    ] {
        assert!(log.contains(present), "{present:?} not logged");
    }

    let h = start(dir.path(), &[("appendfsync", "always")]);
    let mut con = connect(&h);
    let after = dump(&mut con);
    assert_same(&before, &after, 0);
    let e: String = redis::cmd("GET").arg("e").query(&mut con).unwrap();
    assert_eq!(e, "1");
    h.shutdown();
}

#[test]
fn evictions_are_logged_and_replayed() {
    let dir = TempDir::new("aof-evict");
    let settings = [
        ("appendfsync", "everysec"),
        ("maxmemory", "2mb"),
        ("maxmemory-policy", "allkeys-random"),
    ];
    let h = start(dir.path(), &settings);
    let mut con = connect(&h);
    let value = "x".repeat(200);
    for i in 0..20_000 {
        let db = i % 3;
        let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&value)
            .query(&mut con)
            .unwrap();
    }
    let info: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
    let evicted: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("evicted_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(evicted > 1000, "evicted {evicted}");
    let before = dump(&mut con);
    h.shutdown();
    assert!(String::from_utf8_lossy(&incr_bytes(dir.path())).contains("$3\r\nDEL\r\n"));
    // Restarted without a bound, so what is there is what the log rebuilt.
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    let after = dump(&mut con);
    assert_same(&before, &after, 0);
    h.shutdown();
}
