//! Unit tests of every keyspace method against Redis's documented semantics (checked against
//! redis-server 7.0 where in doubt). TTL tests run on a `ManualClock`: no sleeps.

use crate::access::Access;
use crate::shard::Data;
use crate::value::Value;
use crate::*;
use bytes::Bytes;
use std::time::Duration;

const T0: i64 = 1_700_000_000_000;

fn cache() -> (Cache, ManualClock) {
    let clock = ManualClock::new(T0);
    let c = Cache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .shards(16)
        .build();
    (c, clock)
}

fn b(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

/// Stores a non-string value (the later data types are not there yet).
fn put_list(c: &Cache, key: &str) {
    let (h, gid) = crate::ops::locate(c, key.as_bytes());
    c.write(gid, |s| {
        s.put(
            h,
            key.as_bytes(),
            Data::Value(Value::TestList(vec![1, 2])),
            None,
        )
    })
    .unwrap();
}

#[test]
fn get_set_basics() {
    let (c, _) = cache();
    assert_eq!(c.get("k").unwrap(), None);
    c.set("k", "v").unwrap();
    assert_eq!(c.get("k").unwrap(), b("v"));
    c.set("k", "").unwrap();
    assert_eq!(c.get("k").unwrap(), b(""));
    let big = "x".repeat(1000);
    c.set("k", &big).unwrap();
    assert_eq!(c.get("k").unwrap(), b(&big));
    c.set("k", "123").unwrap();
    assert_eq!(c.get("k").unwrap(), b("123"));
    c.set("k", "-9223372036854775808").unwrap();
    assert_eq!(c.get("k").unwrap(), b("-9223372036854775808"));
    c.set("k", "007").unwrap();
    assert_eq!(c.get("k").unwrap(), b("007"));
    // binary-safe keys and values
    c.set(b"a\0\r\nb", b"\0\xff").unwrap();
    assert_eq!(c.get(b"a\0\r\nb").unwrap().as_deref(), Some(&b"\0\xff"[..]));
    assert_eq!(c.get_with("k", <[u8]>::len).unwrap(), Some(3));
    c.validate().unwrap();
}

#[test]
fn set_options() {
    let (c, _) = cache();
    let nx = SetOptions {
        condition: SetCondition::IfAbsent,
        ..SetOptions::default()
    };
    let xx = SetOptions {
        condition: SetCondition::IfExists,
        ..SetOptions::default()
    };
    assert!(!c.set_with("k", "v", &xx).unwrap().written);
    assert_eq!(c.get("k").unwrap(), None);
    assert!(c.set_with("k", "v", &nx).unwrap().written);
    assert!(!c.set_with("k", "w", &nx).unwrap().written);
    assert!(c.set_with("k", "w", &xx).unwrap().written);
    assert_eq!(c.get("k").unwrap(), b("w"));
    // GET returns the old value, also when NX blocks the write
    let get = SetOptions {
        get: true,
        ..SetOptions::default()
    };
    let o = c.set_with("k", "x", &get).unwrap();
    assert_eq!(
        o,
        SetOutcome {
            written: true,
            previous: b("w")
        }
    );
    let o = c.set_with("new", "x", &get).unwrap();
    assert_eq!(
        o,
        SetOutcome {
            written: true,
            previous: None
        }
    );
    let nxget = SetOptions { get: true, ..nx };
    assert_eq!(
        c.set_with("k", "y", &nxget).unwrap(),
        SetOutcome {
            written: false,
            previous: b("x")
        }
    );
    // GET on a non-string: WRONGTYPE and nothing written
    put_list(&c, "l");
    assert_eq!(c.set_with("l", "v", &get), Err(Error::WrongType));
    assert_eq!(c.key_type("l"), Some(KeyType::List));
    // plain SET overwrites any type
    c.set("l", "v").unwrap();
    assert_eq!(c.key_type("l"), Some(KeyType::String));
    assert!(c.setnx("n1", "a").unwrap());
    assert!(!c.setnx("n1", "b").unwrap());
    assert_eq!(c.get("n1").unwrap(), b("a"));
}

#[test]
fn set_expiry_options() {
    let (c, clock) = cache();
    let ex = |e| SetOptions {
        expiry: Some(e),
        ..SetOptions::default()
    };
    c.set_with("a", "v", &ex(SetExpiry::Ex(10))).unwrap();
    assert_eq!(c.ttl("a"), 10);
    assert_eq!(c.pttl("a"), 10_000);
    c.set_with("b", "v", &ex(SetExpiry::Px(1500))).unwrap();
    assert_eq!(c.pttl("b"), 1500);
    assert_eq!(c.ttl("b"), 2); // rounded as Redis does
    c.set_with("c", "v", &ex(SetExpiry::ExAt(T0 / 1000 + 100)))
        .unwrap();
    assert_eq!(c.expire_time("c"), T0 / 1000 + 100);
    c.set_with("d", "v", &ex(SetExpiry::PxAt(T0 + 5))).unwrap();
    assert_eq!(c.pexpire_time("d"), T0 + 5);
    // KEEPTTL keeps, plain SET clears
    c.set_with("a", "w", &ex(SetExpiry::KeepTtl)).unwrap();
    assert_eq!(c.ttl("a"), 10);
    c.set("a", "z").unwrap();
    assert_eq!(c.ttl("a"), -1);
    for bad in [
        SetExpiry::Ex(0),
        SetExpiry::Ex(-1),
        SetExpiry::Px(0),
        SetExpiry::ExAt(0),
        SetExpiry::PxAt(-5),
    ] {
        assert_eq!(
            c.set_with("e", "v", &ex(bad)),
            Err(Error::InvalidExpireTime("set"))
        );
    }
    assert_eq!(
        c.set_with("e", "v", &ex(SetExpiry::Ex(i64::MAX / 1000 + 1))),
        Err(Error::InvalidExpireTime("set"))
    );
    assert_eq!(
        c.set_with("e", "v", &ex(SetExpiry::Px(i64::MAX))),
        Err(Error::InvalidExpireTime("set"))
    );
    assert_eq!(c.get("e").unwrap(), None);
    // EXAT in the past: accepted, the key is gone at once
    c.set_with("p", "v", &ex(SetExpiry::ExAt(1))).unwrap();
    assert_eq!(c.exists(&["p"]), 0);
    clock.advance(Duration::from_millis(5));
    assert_eq!(c.pttl("d"), 0); // exactly at its time: not yet expired
    clock.advance(Duration::from_millis(1));
    assert_eq!(c.get("d").unwrap(), None);
    assert_eq!(c.setex("s", 0, "v"), Err(Error::InvalidExpireTime("setex")));
    assert_eq!(
        c.psetex("s", -1, "v"),
        Err(Error::InvalidExpireTime("psetex"))
    );
    c.setex("s", 5, "v").unwrap();
    assert_eq!(c.ttl("s"), 5);
    c.psetex("s", 100, "v").unwrap();
    assert_eq!(c.pttl("s"), 100);
    c.validate().unwrap();
}

#[test]
fn getdel_getex() {
    let (c, clock) = cache();
    assert_eq!(c.getdel("k").unwrap(), None);
    c.set("k", "v").unwrap();
    assert_eq!(c.getdel("k").unwrap(), b("v"));
    let st = c.stats();
    assert_eq!(
        (st.keyspace_hits, st.keyspace_misses),
        (1, 1),
        "GETDEL counts like GET"
    );
    assert_eq!(c.exists(&["k"]), 0);
    put_list(&c, "l");
    assert_eq!(c.getdel("l"), Err(Error::WrongType));
    assert_eq!(c.exists(&["l"]), 1);
    assert_eq!(c.getex("l", None), Err(Error::WrongType));
    assert_eq!(
        c.getex("l", Some(GetExExpiry::Ex(5))),
        Err(Error::WrongType)
    );
    assert_eq!(c.getex("missing", Some(GetExExpiry::Ex(5))).unwrap(), None);
    assert_eq!(
        c.getex("missing", Some(GetExExpiry::Ex(0))).unwrap(),
        None,
        "lookup first"
    );
    assert_eq!(
        c.getex("l", Some(GetExExpiry::Ex(-1))),
        Err(Error::WrongType)
    );
    c.set("k", "v").unwrap();
    assert_eq!(c.getex("k", Some(GetExExpiry::Ex(5))).unwrap(), b("v"));
    assert_eq!(c.ttl("k"), 5);
    assert_eq!(c.getex("k", Some(GetExExpiry::Px(2500))).unwrap(), b("v"));
    assert_eq!(c.pttl("k"), 2500);
    assert_eq!(c.getex("k", Some(GetExExpiry::Persist)).unwrap(), b("v"));
    assert_eq!(c.ttl("k"), -1);
    assert_eq!(
        c.getex("k", Some(GetExExpiry::Ex(0))),
        Err(Error::InvalidExpireTime("getex"))
    );
    assert_eq!(
        c.getex("k", Some(GetExExpiry::PxAt(T0 + 1000))).unwrap(),
        b("v")
    );
    assert_eq!(c.pexpire_time("k"), T0 + 1000);
    assert_eq!(c.getex("k", Some(GetExExpiry::ExAt(1))).unwrap(), b("v"));
    assert_eq!(c.exists(&["k"]), 0, "GETEX with a past time deletes");
    c.set("k", "v").unwrap();
    assert_eq!(c.getex("k", None).unwrap(), b("v"));
    clock.advance(Duration::from_secs(1));
    c.validate().unwrap();
}

#[test]
fn mget_mset_msetnx() {
    let (c, _) = cache();
    put_list(&c, "l");
    c.mset(&[("a", "1"), ("b", "2"), ("a", "3")]).unwrap();
    assert_eq!(
        c.mget(&["a", "b", "l", "zz"]),
        vec![b("3"), b("2"), None, None]
    );
    assert!(!c.msetnx(&[("x", "1"), ("a", "2")]).unwrap());
    assert_eq!(c.get("x").unwrap(), None);
    assert!(c.msetnx(&[("x", "1"), ("y", "2")]).unwrap());
    assert_eq!(c.mget(&["x", "y"]), vec![b("1"), b("2")]);
    c.validate().unwrap();
}

#[test]
fn append_strlen_ranges() {
    let (c, clock) = cache();
    assert_eq!(c.append("k", "Hello").unwrap(), 5);
    assert_eq!(c.append("k", " World").unwrap(), 11);
    assert_eq!(c.get("k").unwrap(), b("Hello World"));
    assert_eq!(c.strlen("k").unwrap(), 11);
    assert_eq!(c.strlen("none").unwrap(), 0);
    c.set("n", "12").unwrap();
    assert_eq!(c.append("n", "3").unwrap(), 3);
    assert_eq!(c.incr("n").unwrap(), 124);
    assert_eq!(c.strlen("n").unwrap(), 3);
    // APPEND keeps the TTL; growing past the inline limit moves the value out of line
    c.expire("k", 100, ExpireCondition::Always).unwrap();
    let long = "y".repeat(100);
    assert_eq!(c.append("k", &long).unwrap(), 111);
    assert_eq!(c.ttl("k"), 100);
    c.set("s", "This is a string").unwrap();
    assert_eq!(c.getrange("s", 0, 3).unwrap(), "This");
    assert_eq!(c.getrange("s", -3, -1).unwrap(), "ing");
    assert_eq!(c.getrange("s", 0, -1).unwrap(), "This is a string");
    assert_eq!(c.getrange("s", 10, 100).unwrap(), "string");
    assert_eq!(c.getrange("s", 5, 3).unwrap(), "");
    assert_eq!(c.getrange("s", -1, -5).unwrap(), "");
    assert_eq!(c.getrange("s", -100, 2).unwrap(), "Thi");
    assert_eq!(c.getrange("none", 0, -1).unwrap(), "");
    assert_eq!(c.getrange("n", 1, 1).unwrap(), "2");
    c.set("w", "Hello World").unwrap();
    assert_eq!(c.setrange("w", 6, "Redis").unwrap(), 11);
    assert_eq!(c.get("w").unwrap(), b("Hello Redis"));
    assert_eq!(c.setrange("pad", 3, "x").unwrap(), 4);
    assert_eq!(c.get("pad").unwrap().as_deref(), Some(&b"\0\0\0x"[..]));
    assert_eq!(c.setrange("empty", 5, "").unwrap(), 0);
    assert_eq!(c.exists(&["empty"]), 0);
    assert_eq!(c.setrange("w", 0, "").unwrap(), 11);
    assert_eq!(c.setrange("w", -1, "x"), Err(Error::OutOfRange));
    assert_eq!(
        c.setrange("w", 512 * 1024 * 1024, "x"),
        Err(Error::StringTooLong)
    );
    put_list(&c, "l");
    assert_eq!(c.append("l", "x"), Err(Error::WrongType));
    assert_eq!(c.strlen("l"), Err(Error::WrongType));
    assert_eq!(c.getrange("l", 0, 1), Err(Error::WrongType));
    assert_eq!(c.getrange("l", -1, -5), Err(Error::WrongType));
    assert_eq!(c.setrange("l", 0, "x"), Err(Error::WrongType));
    assert_eq!(c.setrange("l", 0, ""), Err(Error::WrongType));
    clock.advance(Duration::from_secs(1));
    c.validate().unwrap();
}

#[test]
fn integers() {
    let (c, _) = cache();
    assert_eq!(c.incr("n").unwrap(), 1);
    assert_eq!(c.incr_by("n", 10).unwrap(), 11);
    assert_eq!(c.decr("n").unwrap(), 10);
    assert_eq!(c.decr_by("n", 20).unwrap(), -10);
    assert_eq!(c.get("n").unwrap(), b("-10"));
    for bad in [
        "01",
        " 1",
        "+1",
        "1 ",
        "1.0",
        "abc",
        "",
        "-0",
        "9223372036854775808",
    ] {
        c.set("s", bad).unwrap();
        assert_eq!(c.incr("s"), Err(Error::NotInteger), "{bad:?}");
        assert_eq!(c.get("s").unwrap(), b(bad));
    }
    c.set("big", "x".repeat(100)).unwrap();
    assert_eq!(c.incr("big"), Err(Error::NotInteger));
    c.set("m", i64::MAX.to_string()).unwrap();
    assert_eq!(c.incr("m"), Err(Error::Overflow));
    c.set("m", i64::MIN.to_string()).unwrap();
    assert_eq!(c.decr("m"), Err(Error::Overflow));
    assert_eq!(c.incr_by("m", -1), Err(Error::Overflow));
    assert_eq!(c.decr_by("x", i64::MIN), Err(Error::DecrementOverflow));
    assert_eq!(c.decr_by("m", -1).unwrap(), i64::MIN + 1);
    put_list(&c, "l");
    assert_eq!(c.incr("l"), Err(Error::WrongType));
    assert_eq!(c.incr_by_float("l", 1.0), Err(Error::WrongType));
    // INCR keeps the TTL
    c.set("t", "5").unwrap();
    c.expire("t", 50, ExpireCondition::Always).unwrap();
    c.incr("t").unwrap();
    assert_eq!(c.ttl("t"), 50);
    c.validate().unwrap();
}

#[test]
fn floats() {
    let (c, _) = cache();
    c.set("k", "10.50").unwrap();
    assert_eq!(c.incr_by_float("k", 0.1).unwrap(), "10.6");
    assert_eq!(c.incr_by_float("k", -5.0).unwrap(), "5.6");
    c.set("k", "5.0e3").unwrap();
    assert_eq!(c.incr_by_float("k", 2.0e2).unwrap(), "5200");
    assert_eq!(c.get("k").unwrap(), b("5200"));
    assert_eq!(
        c.incr("k").unwrap(),
        5201,
        "a float result that is an integer is one"
    );
    assert_eq!(c.incr_by_float("new", 0.1).unwrap(), "0.1");
    assert_eq!(c.incr_by_float("new", 0.2).unwrap(), "0.3");
    c.set("i", "3").unwrap();
    assert_eq!(c.incr_by_float("i", 1.5).unwrap(), "4.5");
    c.set("s", "abc").unwrap();
    assert_eq!(c.incr_by_float("s", 1.0), Err(Error::NotFloat));
    c.set("s", " 1").unwrap();
    assert_eq!(c.incr_by_float("s", 1.0), Err(Error::NotFloat));
    assert_eq!(
        c.incr_by_float("i", f64::INFINITY),
        Err(Error::NanOrInfinity)
    );
    // long double range, as Redis: f64::MAX * 2 is finite there
    c.set("m", "1.7976931348623157e308").unwrap();
    let twice = c.incr_by_float("m", 1.7976931348623157e308).unwrap();
    assert!(twice.starts_with(b"35953862697246313999184209354820886809677289388865835697"));
    assert_eq!(twice.len(), 309);
    c.set("m", "1e4900").unwrap();
    assert!(
        c.incr_by_float("m", 1.0)
            .unwrap()
            .starts_with(b"1000000000000000000")
    );
    c.set("m", "1.2e4932").unwrap();
    assert_eq!(
        c.incr_by_float("m", 0.0),
        Err(Error::NotFloat),
        "beyond long double"
    );
    c.set("m", "1.1e4932").unwrap();
    assert!(c.incr_by_float("m", 0.0).is_ok());
    c.set("m", "1000").unwrap();
    assert_eq!(c.incr_by_float("m", 0.1).unwrap(), "1000.09999999999999998");
    assert_eq!(c.get("i").unwrap(), b("4.5"));
    c.validate().unwrap();
}

#[test]
fn del_exists_type() {
    let (c, _) = cache();
    c.mset(&[("a", "1"), ("b", "2"), ("c", "3")]).unwrap();
    assert_eq!(c.exists(&["a", "a", "b", "nope"]), 3);
    assert_eq!(c.exists(&["a"]), 1);
    assert_eq!(c.del(&["a", "a", "nope"]), 1);
    assert_eq!(c.del(&["b"]), 1);
    assert_eq!(c.del(&["b"]), 0);
    assert_eq!(c.unlink(&["c", "x"]), 1);
    c.set("big", "z".repeat(5000)).unwrap();
    c.set("small", "z").unwrap();
    assert_eq!(c.unlink(&["big"]), 1);
    assert_eq!(c.unlink(&["big", "small", "small"]), 1);
    assert_eq!(c.used_memory(), 0);
    c.validate().unwrap();
    assert_eq!(c.dbsize(), 0);
    assert_eq!(c.key_type("a"), None);
    c.set("s", "v").unwrap();
    assert_eq!(c.key_type("s").map(KeyType::as_str), Some("string"));
    assert_eq!(KeyType::from_name(b"ZSET"), Some(KeyType::ZSet));
    assert_eq!(KeyType::from_name(b"nope"), None);
}

#[test]
fn rename_copy() {
    let (c, _) = cache();
    assert_eq!(c.rename("a", "b"), Err(Error::NoSuchKey));
    assert_eq!(c.renamenx("a", "b"), Err(Error::NoSuchKey));
    c.set("a", "1").unwrap();
    c.expire("a", 100, ExpireCondition::Always).unwrap();
    c.rename("a", "b").unwrap();
    assert_eq!(c.get("a").unwrap(), None);
    assert_eq!(c.get("b").unwrap(), b("1"));
    assert_eq!(c.ttl("b"), 100, "RENAME carries the TTL");
    c.rename("b", "b").unwrap();
    assert_eq!(c.get("b").unwrap(), b("1"));
    assert!(!c.renamenx("b", "b").unwrap());
    c.set("c", "3").unwrap();
    assert!(!c.renamenx("b", "c").unwrap());
    put_list(&c, "l");
    c.rename("l", "c").unwrap();
    assert_eq!(c.key_type("c"), Some(KeyType::List));
    assert!(c.renamenx("c", "d").unwrap());
    let big = "z".repeat(200);
    c.set("big", &big).unwrap();
    c.rename("big", "big2").unwrap();
    assert_eq!(c.get("big2").unwrap(), b(&big));
    // COPY
    assert_eq!(
        c.copy("b", "b", &CopyOptions::default()),
        Err(Error::SameObject)
    );
    assert!(!c.copy("nope", "x", &CopyOptions::default()).unwrap());
    assert!(c.copy("b", "b2", &CopyOptions::default()).unwrap());
    assert_eq!(c.get("b2").unwrap(), b("1"));
    assert_eq!(c.ttl("b2"), 100);
    c.set("b3", "x").unwrap();
    assert!(!c.copy("b", "b3", &CopyOptions::default()).unwrap());
    assert!(
        c.copy(
            "b",
            "b3",
            &CopyOptions {
                replace: true,
                ..CopyOptions::default()
            }
        )
        .unwrap()
    );
    assert_eq!(c.get("b3").unwrap(), b("1"));
    let to1 = CopyOptions {
        db: Some(1),
        replace: false,
    };
    assert!(c.copy("b", "b", &to1).unwrap());
    assert_eq!(c.db(1).unwrap().get("b").unwrap(), b("1"));
    assert_eq!(
        c.copy(
            "b",
            "b",
            &CopyOptions {
                db: Some(16),
                replace: false
            }
        ),
        Err(Error::DbIndexOutOfRange)
    );
    c.validate().unwrap();
}

#[test]
fn keys_and_glob() {
    let (c, _) = cache();
    for k in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "user:1", "user:2",
    ] {
        c.set(k, "v").unwrap();
    }
    let got = |p: &str| {
        let mut v: Vec<String> = c
            .keys(p)
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(got("h?llo"), ["hallo", "hello", "hxllo"]);
    assert_eq!(
        got("h*llo"),
        ["hallo", "heeeello", "hello", "hllo", "hxllo"]
    );
    assert_eq!(got("h[ae]llo"), ["hallo", "hello"]);
    assert_eq!(got("h[^e]llo"), ["hallo", "hxllo"]);
    assert_eq!(got("h[a-b]llo"), ["hallo"]);
    assert_eq!(got("user:*"), ["user:1", "user:2"]);
    assert_eq!(got("*").len(), 7);
}

#[test]
fn scan_visits_everything_once_without_changes() {
    let (c, _) = cache();
    for i in 0..5000 {
        c.set(format!("k{i}"), "v").unwrap();
    }
    put_list(&c, "list");
    let mut seen = std::collections::HashSet::new();
    let mut cur = 0;
    let mut calls = 0;
    loop {
        let (next, page) = c.scan(
            cur,
            &ScanOptions {
                count: 100,
                ..ScanOptions::default()
            },
        );
        for k in page {
            assert!(seen.insert(k), "duplicate without any change");
        }
        calls += 1;
        if next == 0 {
            break;
        }
        cur = next;
    }
    assert_eq!(seen.len(), 5001);
    assert!(calls > 10);
    // MATCH and TYPE filter after the visit
    let opts = ScanOptions {
        pattern: Some(b"k1*".to_vec()),
        count: 10_000,
        key_type: None,
    };
    let (n, page) = c.scan(0, &opts);
    assert_eq!(n, 0);
    assert_eq!(page.len(), 1 + 10 + 100 + 1000);
    let lists = ScanOptions {
        key_type: Some(KeyType::List),
        count: 10_000,
        pattern: None,
    };
    assert_eq!(c.scan(0, &lists).1, vec![Bytes::from_static(b"list")]);
    // made-up cursors never panic
    for cur in [u64::MAX, 1 << 40, 12_345_678_901] {
        let _ = c.scan(cur, &ScanOptions::default());
    }
}

#[test]
fn scan_guarantee_under_churn() {
    let (c, _) = cache();
    for i in 0..2000 {
        c.set(format!("stay{i}"), "v").unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    let mut cur = 0;
    let mut n = 0;
    loop {
        let (next, page) = c.scan(
            cur,
            &ScanOptions {
                count: 37,
                ..ScanOptions::default()
            },
        );
        seen.extend(page);
        // grow (rehash), shrink, rewrite values (compaction) between calls
        for j in 0..300 {
            c.set(format!("tmp{n}_{j}"), "x".repeat(j % 60)).unwrap();
        }
        if n % 3 == 0 {
            let dead: Vec<String> = (0..300)
                .map(|j| format!("tmp{}_{j}", n.max(1) - 1))
                .collect();
            c.del(&dead);
        }
        for j in 0..50 {
            c.set(format!("stay{}", (n * 50 + j) % 2000), "y".repeat(j))
                .unwrap();
        }
        n += 1;
        if next == 0 {
            break;
        }
        cur = next;
    }
    for i in 0..2000 {
        assert!(
            seen.contains(format!("stay{i}").as_bytes()),
            "stay{i} missed by SCAN"
        );
    }
    c.validate().unwrap();
}

#[test]
fn dbsize_flush_random_databases() {
    let (c, _) = cache();
    assert_eq!(c.random_key(), None);
    let d1 = c.db(1).unwrap();
    assert_eq!(c.db(16).err(), Some(Error::DbIndexOutOfRange));
    for i in 0..100 {
        c.set(format!("a{i}"), "v").unwrap();
        d1.set(format!("b{i}"), "v").unwrap();
    }
    assert_eq!(c.dbsize(), 100);
    assert_eq!(d1.dbsize(), 100);
    assert_eq!(d1.get("a1").unwrap(), None);
    let k = c.random_key().unwrap();
    assert!(k.starts_with(b"a"));
    assert_eq!(c.flush(), 100);
    assert_eq!(c.dbsize(), 0);
    assert_eq!(d1.dbsize(), 100);
    assert_eq!(c.flush_all(), 100);
    assert_eq!(d1.dbsize(), 0);
    assert_eq!(c.used_memory(), 0);
    assert_eq!(d1.db_index(), 1);
}

#[test]
fn expire_family() {
    let (c, clock) = cache();
    assert!(!c.expire("nope", 10, ExpireCondition::Always).unwrap());
    assert_eq!(c.ttl("nope"), -2);
    assert_eq!(c.pttl("nope"), -2);
    assert_eq!(c.expire_time("nope"), -2);
    c.set("k", "v").unwrap();
    assert_eq!(c.ttl("k"), -1);
    assert_eq!(c.expire_time("k"), -1);
    assert!(!c.expire("k", 10, ExpireCondition::Xx).unwrap());
    assert!(
        !c.expire("k", 10, ExpireCondition::Gt).unwrap(),
        "no TTL counts as infinite"
    );
    assert!(c.expire("k", 10, ExpireCondition::Nx).unwrap());
    assert!(!c.expire("k", 20, ExpireCondition::Nx).unwrap());
    assert!(c.expire("k", 20, ExpireCondition::Gt).unwrap());
    assert!(!c.expire("k", 15, ExpireCondition::Gt).unwrap());
    assert!(c.expire("k", 15, ExpireCondition::Lt).unwrap());
    assert!(!c.expire("k", 30, ExpireCondition::Lt).unwrap());
    assert!(c.expire("k", 30, ExpireCondition::Xx).unwrap());
    assert_eq!(c.ttl("k"), 30);
    c.set("k2", "v").unwrap();
    assert!(
        c.expire("k2", 30, ExpireCondition::Lt).unwrap(),
        "LT on no TTL sets"
    );
    assert!(c.pexpire("k", 1234, ExpireCondition::Always).unwrap());
    assert_eq!(c.pttl("k"), 1234);
    assert!(
        c.expire_at("k", T0 / 1000 + 50, ExpireCondition::Always)
            .unwrap()
    );
    assert_eq!(c.expire_time("k"), T0 / 1000 + 50);
    assert!(
        c.pexpire_at("k", T0 + 777, ExpireCondition::Always)
            .unwrap()
    );
    assert_eq!(c.pexpire_time("k"), T0 + 777);
    assert_eq!(c.expire_time("k"), (T0 + 777 + 500) / 1000);
    assert!(c.persist("k"));
    assert!(!c.persist("k"));
    assert!(!c.persist("nope"));
    assert_eq!(c.ttl("k"), -1);
    // errors on overflow, with the command's name
    assert_eq!(
        c.expire("k", i64::MAX / 1000 + 1, ExpireCondition::Always),
        Err(Error::InvalidExpireTime("expire"))
    );
    assert_eq!(
        c.expire("k", 9_223_372_036_854_775, ExpireCondition::Always),
        Err(Error::InvalidExpireTime("expire"))
    );
    assert_eq!(
        c.pexpire("k", i64::MAX, ExpireCondition::Always),
        Err(Error::InvalidExpireTime("pexpire"))
    );
    assert_eq!(
        c.expire_at("k", i64::MAX, ExpireCondition::Always),
        Err(Error::InvalidExpireTime("expireat"))
    );
    // zero / negative / past: deletes and answers true
    assert!(c.expire("k", -1, ExpireCondition::Always).unwrap());
    assert_eq!(c.exists(&["k"]), 0);
    c.set("k", "v").unwrap();
    assert!(c.pexpire_at("k", 1, ExpireCondition::Always).unwrap());
    assert_eq!(c.exists(&["k"]), 0);
    // lazy expiry on the clock
    c.set("t", "v").unwrap();
    c.pexpire("t", 100, ExpireCondition::Always).unwrap();
    clock.advance(Duration::from_millis(100));
    assert_eq!(c.get("t").unwrap(), b("v"));
    assert_eq!(c.pttl("t"), 0);
    clock.advance(Duration::from_millis(1));
    assert_eq!(c.get("t").unwrap(), None);
    assert_eq!(c.stats().expired_keys, 1);
    assert_eq!(c.dbsize(), 1, "k2 only: the read deleted t");
    c.validate().unwrap();
}

#[test]
fn expired_keys_are_invisible_everywhere() {
    let (c, clock) = cache();
    c.setex("e", 1, "5").unwrap();
    c.set("live", "1").unwrap();
    clock.advance(Duration::from_secs(2));
    assert_eq!(c.exists(&["e", "live"]), 1);
    assert_eq!(c.mget(&["e"]), vec![None]);
    assert_eq!(c.keys("*"), vec![Bytes::from_static(b"live")]);
    assert_eq!(
        c.scan(
            0,
            &ScanOptions {
                count: 1000,
                ..ScanOptions::default()
            }
        )
        .1
        .len(),
        1
    );
    assert_eq!(c.random_key(), b("live"));
    assert_eq!(c.key_type("e"), None);
    assert_eq!(c.incr("e").unwrap(), 1, "an expired counter starts again");
    assert_eq!(c.ttl("e"), -1);
    c.setex("e2", 1, "v").unwrap();
    clock.advance(Duration::from_secs(2));
    assert!(c.setnx("e2", "w").unwrap());
    c.setex("e3", 1, "v").unwrap();
    clock.advance(Duration::from_secs(2));
    assert_eq!(c.rename("e3", "x"), Err(Error::NoSuchKey));
    assert_eq!(c.del(&["e3"]), 0);
    c.validate().unwrap();
}

#[test]
fn active_expiry_reclaims_without_reads() {
    let (c, clock) = cache();
    let base = c.used_memory();
    for i in 0..100_000 {
        c.psetex(format!("key:{i:08}"), 1000 + (i % 500), "some-value-bytes")
            .unwrap();
    }
    for i in 0..1000 {
        c.set(format!("forever:{i}"), "v").unwrap();
    }
    let full = c.used_memory();
    assert!(full > base + 100_000 * 40);
    assert_eq!(
        c.keyspace_info()[0],
        DbInfo {
            keys: 101_000,
            expires: 100_000
        }
    );
    // nothing has expired yet: the cycle samples and stops quickly
    let st = c.active_expire_cycle(Duration::from_secs(5));
    assert_eq!(st.expired, 0);
    clock.advance(Duration::from_secs(2));
    // Like Redis, a run stops in a shard once a sample is mostly live keys; a few runs
    // (the housekeeping thread does 10 a second) reclaim everything.
    let mut expired = 0;
    for _ in 0..5 {
        let st = c.active_expire_cycle(Duration::from_secs(60));
        assert!(!st.timed_out);
        expired += st.expired;
    }
    assert_eq!(expired, 100_000);
    assert_eq!(c.dbsize(), 1000);
    assert_eq!(
        c.keyspace_info()[0],
        DbInfo {
            keys: 1000,
            expires: 0
        }
    );
    assert!(c.used_memory() < full / 50, "{} vs {full}", c.used_memory());
    assert!(
        c.heap_bytes() < full / 10,
        "heap {} vs {full}",
        c.heap_bytes()
    );
    assert_eq!(c.stats().expired_keys, 100_000);
    c.validate().unwrap();
}

#[test]
fn active_expiry_respects_budget_and_resumes() {
    let (c, clock) = cache();
    for i in 0..50_000 {
        c.psetex(format!("k{i}"), 10, "v").unwrap();
    }
    clock.advance(Duration::from_secs(1));
    let mut total = 0;
    let mut runs = 0;
    while c.dbsize() > 0 {
        let st = c.active_expire_cycle(Duration::from_micros(200));
        total += st.expired;
        runs += 1;
        assert!(runs < 100_000);
    }
    assert_eq!(total, 50_000);
    c.validate().unwrap();
}

#[test]
fn housekeeping_thread_expires_and_stops() {
    let clock = ManualClock::new(T0);
    let c = Cache::builder()
        .clock(clock.clone())
        .hz(100)
        .shards(4)
        .build();
    for i in 0..1000 {
        c.psetex(format!("k{i}"), 1, "v").unwrap();
    }
    clock.advance(Duration::from_secs(1));
    // The thread runs on real time; wait (bounded) for it rather than for the TTL.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.dbsize() > 0 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(c.dbsize(), 0);
    let weak = std::sync::Arc::downgrade(&c.store);
    drop(c);
    // The housekeeping thread holds a strong reference only while a cycle runs; once that
    // cycle ends the store (and the thread) must be gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while weak.strong_count() > 0 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(
        weak.upgrade().is_none(),
        "the store is freed once the last handle is gone"
    );
}

#[test]
fn memory_accounting_tracks_changes() {
    let (c, _) = cache();
    assert_eq!(c.used_memory(), 0);
    c.set("0123456789abcdef", "0123456789abcdef").unwrap();
    let one = c.used_memory();
    // 2 header + 1 + 1 length bytes + 16 + 16 + 13 table share (8-byte slot + control byte)
    assert_eq!(one, 49);
    c.expire("0123456789abcdef", 100, ExpireCondition::Always)
        .unwrap();
    assert_eq!(c.used_memory(), one + 6, "a 48-bit expire time");
    // times past 2^48 ms take 8 bytes and still round-trip exactly
    c.pexpire_at("0123456789abcdef", 1 << 50, ExpireCondition::Always)
        .unwrap();
    assert_eq!(c.used_memory(), one + 8);
    assert_eq!(c.pexpire_time("0123456789abcdef"), 1 << 50);
    assert!(
        c.pexpire_at("0123456789abcdef", T0 + 10, ExpireCondition::Lt)
            .unwrap()
    );
    assert_eq!(c.used_memory(), one + 6);
    assert_eq!(c.keyspace_info()[0].expires, 1);
    assert_eq!(c.pexpire_time("0123456789abcdef"), T0 + 10);
    c.persist("0123456789abcdef");
    assert_eq!(c.used_memory(), one);
    c.set("0123456789abcdef", "x".repeat(1000)).unwrap();
    assert!(c.used_memory() > 1000);
    c.del(&["0123456789abcdef"]);
    assert_eq!(c.used_memory(), 0);
    c.validate().unwrap();
}

#[test]
fn transactions_and_versions() {
    let (c, _) = cache();
    c.set("a", "1").unwrap();
    let v0 = c.key_version("a");
    c.set("b", "x").unwrap();
    let r = c.transaction(|tx| {
        tx.incr("a").unwrap();
        tx.set("c", "3").unwrap();
        tx.select(1).unwrap();
        tx.set("in1", "v").unwrap();
        assert_eq!(tx.select(99), Err(Error::DbIndexOutOfRange));
        tx.rename("in1", "in1b").unwrap();
        tx.select(0).unwrap();
        (tx.mget(&["a", "c"]), tx.dbsize())
    });
    assert_eq!(r, (vec![b("2"), b("3")], 3));
    assert_ne!(c.key_version("a"), v0);
    assert_eq!(c.db(1).unwrap().get("in1b").unwrap(), b("v"));
    let v1 = c.key_version("a");
    let _ = c.get("a");
    assert_eq!(c.key_version("a"), v1, "reads do not change versions");
    c.validate().unwrap();
}

#[test]
fn error_on_wrongtype_never_panics() {
    let (c, _) = cache();
    put_list(&c, "l");
    assert_eq!(c.get("l"), Err(Error::WrongType));
    assert_eq!(c.get_with("l", |_| ()), Err(Error::WrongType));
    assert_eq!(c.incr_by("l", 1), Err(Error::WrongType));
    assert_eq!(c.decr("l"), Err(Error::WrongType));
    assert_eq!(c.mget(&["l"]), vec![None]);
    assert_eq!(c.exists(&["l"]), 1);
    assert!(c.expire("l", 10, ExpireCondition::Always).unwrap());
    assert_eq!(c.ttl("l"), 10);
    assert!(c.copy("l", "l2", &CopyOptions::default()).unwrap());
    assert_eq!(c.key_type("l2"), Some(KeyType::List));
    assert_eq!(c.del(&["l", "l2"]), 2);
    c.validate().unwrap();
}

#[test]
fn move_and_swapdb() {
    let (c, _) = cache();
    let d1 = c.db(1).unwrap();
    c.setex("k", 100, "v").unwrap();
    assert_eq!(c.move_key("k", 0), Err(Error::SameObject));
    assert_eq!(c.move_key("k", 16), Err(Error::DbIndexOutOfRange));
    assert!(!c.move_key("nope", 1).unwrap());
    d1.set("taken", "x").unwrap();
    c.set("taken", "y").unwrap();
    assert!(!c.move_key("taken", 1).unwrap());
    assert!(c.move_key("k", 1).unwrap());
    assert_eq!(c.get("k").unwrap(), None);
    assert_eq!(d1.get("k").unwrap(), b("v"));
    assert_eq!(d1.ttl("k"), 100);
    let v = c.key_version("taken");
    c.swap_db(0, 1).unwrap();
    assert_ne!(c.key_version("taken"), v);
    assert_eq!(c.get("k").unwrap(), b("v"));
    assert_eq!(c.get("taken").unwrap(), b("x"));
    assert_eq!(d1.get("taken").unwrap(), b("y"));
    assert_eq!(d1.dbsize(), 1);
    assert_eq!(c.swap_db(0, 16), Err(Error::DbIndexOutOfRange));
    c.swap_db(3, 3).unwrap();
    c.validate().unwrap();
}

#[test]
fn encodings_memory_usage_and_handle_traits() {
    fn traits<T: Clone + Send + Sync + 'static>() {}
    traits::<Cache>();
    let (c, _) = cache();
    c.set("i", "12345").unwrap();
    c.set("s", "hello").unwrap();
    c.set("r", "x".repeat(100)).unwrap();
    assert_eq!(c.object_encoding("i"), Some("int"));
    assert_eq!(c.object_encoding("s"), Some("embstr"));
    assert_eq!(c.object_encoding("r"), Some("raw"));
    assert_eq!(c.object_encoding("none"), None);
    let total: usize = ["i", "s", "r"]
        .iter()
        .map(|k| c.memory_usage(k).unwrap())
        .sum();
    assert_eq!(total, c.used_memory());
    assert_eq!(c.memory_usage("none"), None);
}

#[test]
fn append_to_long_strings_is_amortized() {
    let (c, _) = cache();
    let chunk = vec![b'x'; 1000];
    let start = std::time::Instant::now();
    for i in 0..20_000 {
        assert_eq!(c.append("big", &chunk).unwrap(), (i + 1) * 1000);
    }
    // 20 MB built from 1 KB appends: quadratic copying would move ~200 GB.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.strlen("big").unwrap(), 20_000_000);
    let held = c.get("big").unwrap().unwrap();
    c.append("big", "tail").unwrap();
    assert_eq!(held.len(), 20_000_000, "a value handed out never changes");
    assert_eq!(c.strlen("big").unwrap(), 20_000_004);
    assert_eq!(&c.getrange("big", -4, -1).unwrap()[..], b"tail");
    let start = std::time::Instant::now();
    for i in 0..20_000 {
        c.setrange("big", i * 997, "patch").unwrap();
    }
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(&c.getrange("big", 997, 1001).unwrap()[..], b"patch");
    assert_eq!(c.setrange("big", 20_000_010, "end").unwrap(), 20_000_013);
    assert_eq!(
        &c.getrange("big", 20_000_004, -1).unwrap()[..],
        b"\0\0\0\0\0\0end"
    );
    c.validate().unwrap();
}

#[test]
fn removal_hook_is_told_the_database() {
    let clock = ManualClock::new(T0);
    let c = Cache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .databases(4)
        .shards(16)
        .build();
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = seen.clone();
    assert!(c.set_removal_hook(move |db, key: &[u8], cause| {
        log.lock().push((db, key.to_vec(), cause))
    }));
    assert!(!c.set_removal_hook(|_, _: &[u8], _| {}));
    let db2 = c.db(2).unwrap();
    db2.set("a", "1").unwrap();
    db2.pexpire("a", 10, ExpireCondition::Always).unwrap();
    c.db(3).unwrap().set("b", "1").unwrap();
    c.db(3).unwrap().del(&["b"]);
    clock.advance(Duration::from_millis(20));
    assert_eq!(db2.get("a").unwrap(), None);
    assert_eq!(
        *seen.lock(),
        vec![
            (3, b"b".to_vec(), RemovalCause::Removed),
            (2, b"a".to_vec(), RemovalCause::Expired),
        ]
    );
}

/// Runs `f` and returns how much `change_count` grew: the amount Redis 7.0 adds to
/// `server.dirty` for the command (checked against redis-server by
/// `sabaody-server/tests/dirty_cross.rs`).
fn changes<T>(c: &Cache, f: impl FnOnce(&Cache) -> T) -> u64 {
    let before = c.change_count();
    f(c);
    c.change_count() - before
}

#[test]
fn change_count_strings_and_keys_count_as_redis() {
    let (c, clock) = cache();
    assert_eq!(changes(&c, |c| c.set("k", "v")), 1);
    assert_eq!(
        changes(&c, |c| c.set("k", "v")),
        1,
        "SET counts even unchanged"
    );
    assert_eq!(changes(&c, |c| c.setnx("k", "x")), 0);
    assert_eq!(changes(&c, |c| c.append("k", "")), 1);
    assert_eq!(changes(&c, |c| c.setrange("k", 0, "")), 0);
    assert_eq!(changes(&c, |c| c.setrange("k", 0, "z")), 1);
    assert_eq!(changes(&c, |c| c.incr("n")), 1);
    assert_eq!(changes(&c, |c| c.incr("k")), 0, "an error changes nothing");
    assert_eq!(
        changes(&c, |c| c.mset(&[("a", "1"), ("a", "2"), ("b", "3")])),
        3
    );
    assert_eq!(changes(&c, |c| c.msetnx(&[("a", "1"), ("z", "2")])), 0);
    assert_eq!(changes(&c, |c| c.del(&["a", "b", "nope"])), 2);
    assert_eq!(
        changes(&c, |c| c.expire("k", 100, ExpireCondition::Always)),
        1
    );
    assert_eq!(changes(&c, |c| c.expire("k", 100, ExpireCondition::Nx)), 0);
    assert_eq!(changes(&c, |c| c.persist("k")), 1);
    assert_eq!(changes(&c, |c| c.persist("k")), 0);
    assert_eq!(changes(&c, |c| c.getex("k", Some(GetExExpiry::Persist))), 0);
    assert_eq!(changes(&c, |c| c.getex("k", Some(GetExExpiry::Ex(9)))), 1);
    assert_eq!(changes(&c, |c| c.getex("k", Some(GetExExpiry::Persist))), 1);
    assert_eq!(changes(&c, |c| c.rename("k", "k2")), 1);
    assert_eq!(changes(&c, |c| c.rename("k2", "k2")), 0);
    assert_eq!(
        changes(&c, |c| c.copy("k2", "k3", &CopyOptions::default())),
        1
    );
    assert_eq!(changes(&c, |c| c.move_key("k3", 1)), 1);
    assert_eq!(changes(&c, |c| c.swap_db(0, 1)), 1);
    assert_eq!(changes(&c, |c| c.swap_db(0, 0)), 1);
    // Keys removed by expiry are not changes, as in Redis.
    c.set_with(
        "t",
        "v",
        &SetOptions {
            expiry: Some(SetExpiry::Px(10)),
            ..SetOptions::default()
        },
    )
    .unwrap();
    clock.advance(Duration::from_millis(20));
    assert_eq!(changes(&c, |c| c.get("t")), 0);
    assert_eq!(changes(&c, |c| c.del(&["t"])), 0);
    let keys = (c.dbsize() + c.db(1).unwrap().dbsize()) as u64;
    assert_eq!(changes(&c, |c| c.flush_all()), keys);
    assert_eq!(changes(&c, |c| c.flush_all()), 0);
}

#[test]
fn change_count_counts_elements_of_collections() {
    let (c, _clock) = cache();
    assert_eq!(changes(&c, |c| c.sadd("s", &["a", "b", "c"])), 3);
    assert_eq!(changes(&c, |c| c.sadd("s", &["a", "d"])), 1);
    assert_eq!(changes(&c, |c| c.sadd("s", &["a"])), 0);
    assert_eq!(changes(&c, |c| c.srem("s", &["a", "x"])), 1);
    assert_eq!(changes(&c, |c| c.spop_count("s", 2)), 2);
    assert_eq!(changes(&c, |c| c.smove("s", "s2", "nope")), 0);
    c.sadd("s", &["m"]).unwrap();
    c.sadd("s2", &["m"]).unwrap();
    assert_eq!(changes(&c, |c| c.smove("s", "s2", "m")), 1, "not new in s2");
    assert_eq!(changes(&c, |c| c.sinterstore("d", &["s2", "nokey"])), 0);
    assert_eq!(changes(&c, |c| c.sunionstore("d", &["s2"])), 1);
    assert_eq!(changes(&c, |c| c.sinterstore("d", &["s2", "nokey"])), 1);

    assert_eq!(changes(&c, |c| c.hset("h", &[("f", "1"), ("g", "2")])), 2);
    assert_eq!(
        changes(&c, |c| c.hset("h", &[("f", "1")])),
        1,
        "per field written"
    );
    assert_eq!(changes(&c, |c| c.hsetnx("h", "f", "x")), 0);
    assert_eq!(changes(&c, |c| c.hdel("h", &["f", "g", "x"])), 2);
    c.hset("h", &[("s", "text")]).unwrap();
    assert_eq!(changes(&c, |c| c.hincr_by("h", "s", 1)), 0);

    assert_eq!(changes(&c, |c| c.rpush("l", &["a", "b", "a", "c", "a"])), 5);
    assert_eq!(changes(&c, |c| c.lrem("l", 0, "a")), 3);
    assert_eq!(changes(&c, |c| c.lrem("l", 0, "a")), 0);
    assert_eq!(changes(&c, |c| c.ltrim("l", 0, -1)), 0);
    c.rpush("l", &["d", "e", "f"]).unwrap();
    assert_eq!(changes(&c, |c| c.ltrim("l", 1, 2)), 3);
    assert_eq!(changes(&c, |c| c.pop_count("l", ListEnd::Left, 5)), 2);
    c.rpush("l", &["x", "y"]).unwrap();
    let v = c.key_version("l2");
    assert_eq!(
        changes(&c, |c| c.lmove("l", "l2", ListEnd::Left, ListEnd::Right)),
        1
    );
    assert_ne!(
        c.key_version("l2"),
        v,
        "counted once, the push still touches l2"
    );
    let v = c.key_version("l3");
    // Redis does not count the pops that serve BLPOP / BLMOVE clients.
    assert_eq!(changes(&c, |c| c.pop_for_blocked("l", ListEnd::Left)), 0);
    assert_eq!(
        changes(&c, |c| c.lmove_for_blocked(
            "l2",
            "l3",
            ListEnd::Left,
            ListEnd::Left
        )),
        0
    );
    assert_ne!(c.key_version("l3"), v);
    assert_eq!(c.lpop("l3"), Ok(b("x")), "the move happened");
    assert_eq!(changes(&c, |c| c.lstore("st", &["1", "2", "3"])), 3);
    assert_eq!(changes(&c, |c| c.lstore("st", &[] as &[&str])), 1);
    assert_eq!(changes(&c, |c| c.lstore("st", &[] as &[&str])), 0);

    let z = ZAddOptions::default();
    assert_eq!(
        changes(&c, |c| c.zadd("z", &z, &[(1.0, "a"), (2.0, "b")])),
        2
    );
    assert_eq!(
        changes(&c, |c| c.zadd("z", &z, &[(1.0, "a"), (5.0, "b")])),
        1
    );
    assert_eq!(changes(&c, |c| c.zincrby("z", 0.0, "a")), 0);
    c.zadd("z", &z, &[(3.0, "c"), (4.0, "d")]).unwrap();
    assert_eq!(changes(&c, |c| c.zremrange("z", &RangeBy::Rank(0, 1))), 2);
    assert_eq!(changes(&c, |c| c.zpop("z", true, 5)), 2);
    assert_eq!(changes(&c, |c| c.zrem("z", &["a"])), 0);
}

#[test]
fn change_count_bits_sketches_and_filters() {
    let (c, _clock) = cache();
    assert_eq!(changes(&c, |c| c.setbit("b", 7, true)), 1);
    assert_eq!(changes(&c, |c| c.setbit("b", 7, true)), 0);
    assert_eq!(
        changes(&c, |c| c.setbit("b", 100, false)),
        1,
        "the string grew"
    );
    let set = |offset, value| BitfieldOp::Set {
        ty: BitfieldType::new(false, 8).unwrap(),
        offset,
        value,
        overflow: Overflow::Wrap,
    };
    assert_eq!(changes(&c, |c| c.bitfield("f", &[set(0, 1), set(8, 0)])), 2);
    assert_eq!(changes(&c, |c| c.bitfield("f", &[set(0, 1), set(8, 2)])), 1);
    let refused = BitfieldOp::IncrBy {
        ty: BitfieldType::new(false, 8).unwrap(),
        offset: 200,
        incr: 300,
        overflow: Overflow::Fail,
    };
    assert_eq!(changes(&c, |c| c.bitfield("f", &[refused])), 0);
    assert_eq!(
        c.strlen("f"),
        Ok(26),
        "refused, but the string grew as in Redis"
    );
    assert_eq!(changes(&c, |c| c.pfadd("h", &["a", "b", "c"])), 4);
    assert_eq!(changes(&c, |c| c.pfadd("h", &["a", "b", "c"])), 0);
    assert_eq!(
        changes(&c, |c| c.pfcount(&["h"])),
        1,
        "the cached count is written"
    );
    assert_eq!(changes(&c, |c| c.pfcount(&["h"])), 0);

    let cfg = BloomConfig::default();
    assert_eq!(changes(&c, |c| c.bf_reserve("bf", &cfg)), 1);
    assert_eq!(changes(&c, |c| c.bf_reserve("bf", &cfg)), 0);
    assert_eq!(
        changes(&c, |c| c.bf_madd("bf", &["a", "b"])),
        1,
        "once per call"
    );
    assert_eq!(
        changes(&c, |c| c.bf_add("bf", "a")),
        1,
        "even when nothing is new"
    );
    assert_eq!(changes(&c, |c| c.cms_init_by_dim("cms", 10, 2)), 1);
    assert_eq!(
        changes(&c, |c| c.cms_incrby("cms", &[("a", 1), ("b", 2)])),
        1
    );
    assert_eq!(changes(&c, |c| c.cms_incrby("nocms", &[("a", 1)])), 0);
    assert_eq!(changes(&c, |c| c.cms_merge("cms", &["cms"], None)), 1);
}

#[test]
fn change_count_ignores_eviction_and_active_expiry() {
    let (c, clock) = cache();
    let ttl = SetOptions {
        expiry: Some(SetExpiry::Px(10)),
        ..SetOptions::default()
    };
    for i in 0..100 {
        c.set_with(format!("t{i}"), "v", &ttl).unwrap();
        c.set(format!("k{i}"), "v".repeat(100)).unwrap();
    }
    assert_eq!(c.change_count(), 200);
    clock.advance(Duration::from_millis(20));
    let stats = c.active_expire_cycle(Duration::from_secs(1));
    assert!(stats.expired > 0, "{stats:?}");
    assert_eq!(c.change_count(), 200, "expired keys are not changes");
    c.set_eviction_policy(EvictionPolicy::AllKeysRandom);
    let evicted = c.set_max_memory(c.used_memory() as u64 / 2);
    assert!(evicted > 0);
    assert_eq!(c.change_count(), 200, "evicted keys are not changes");
}
