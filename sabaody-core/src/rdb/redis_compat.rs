//! Compatibility with the real redis-server 7.0, in both directions (run with
//! `SABAODY_DIFF=1`; skipped otherwise, like the differential harness):
//!
//! 1. redis-server writes a dump holding every type in its small and large encodings, TTLs
//!    and two databases (once with `rdbcompression yes`, once `no`); Sabaody loads it, and
//!    every key is compared with what redis-server replies for it.
//! 2. Sabaody writes a dump (`Cache::save_rdb`) of that keyspace plus keys of its own; a second redis-server
//!    starts on it, and every key is compared again.

use super::*;
use crate::prelude::*;
use crate::{Cache, RangeBy, ZAddOptions, ZRangeSpec};
use sabaody_testkit::{RedisServer, TempDir, Value};
use std::time::Duration;

fn enabled() -> bool {
    std::env::var("SABAODY_DIFF").as_deref() == Ok("1")
}

/// redis-server's settings for these tests (besides the testkit's port, dir and log file).
const ARGS: [&str; 4] = ["--appendonly", "no", "--dbfilename", "dump.rdb"];

/// A connection to redis-server: commands as byte slices, typed replies.
struct Conn(sabaody_testkit::Conn);

impl Conn {
    fn open(server: &RedisServer) -> Conn {
        Conn(server.connect().unwrap())
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Value {
        self.0.call(args).unwrap()
    }

    fn cmds(&mut self, args: &[Vec<u8>]) -> Value {
        self.0.call(args).unwrap()
    }
}

/// Starts redis-server in `dir` (loading its `dump.rdb`) with `extra` arguments, not waiting.
fn spawn(dir: &TempDir, extra: &[&str]) -> RedisServer {
    RedisServer::spawn(dir.path(), &[&ARGS[..], extra].concat()).unwrap_or_else(|e| panic!("{e}"))
}

fn v(s: impl AsRef<[u8]>) -> Vec<u8> {
    s.as_ref().to_vec()
}

/// Fills redis-server with every type in both encodings, TTLs and two databases.
fn populate(r: &mut Conn) {
    let mut run = |args: Vec<Vec<u8>>| {
        let rep = r.cmds(&args);
        assert!(
            !matches!(rep, Value::Error(_)),
            "{rep:?} for {:?}",
            String::from_utf8_lossy(&args[0])
        );
    };
    let mut rng = fastrand::Rng::with_seed(3);
    run(vec![v("SET"), v("s:small"), v("hello")]);
    run(vec![v("SET"), v("s:int"), v("12345")]);
    run(vec![v("SET"), v("s:negint"), v("-99")]);
    run(vec![v("SET"), v("s:bigint"), v("9223372036854775807")]);
    run(vec![v("SET"), v("s:notint"), v("0123")]);
    run(vec![v("SET"), v("s:empty"), v("")]);
    run(vec![
        v("SET"),
        v("s:long"),
        v("compress me please ".repeat(60)),
    ]);
    let huge: Vec<u8> = (0..2_000_000)
        .map(|i| {
            if i % 100 < 70 {
                b'a' + (i % 5) as u8
            } else {
                rng.u8(..)
            }
        })
        .collect();
    run(vec![v("SET"), v("s:huge"), huge]);
    run(vec![v("SET"), v(b"bin\x00\xff\r\n"), v(b"\x00\x01\xfe")]);
    run(vec![v("SET"), v("777"), v("an integer key")]);
    run(vec![
        v("SADD"),
        v("set:intset"),
        v("1"),
        v("2"),
        v("3"),
        v("-4"),
        v("100000"),
    ]);
    let mut a = vec![v("SADD"), v("set:600ints")];
    a.extend((0..600).map(|i| v((i * 3).to_string())));
    run(a);
    run(vec![v("SADD"), v("set:str"), v("a"), v("b"), v("c")]);
    let mut a = vec![v("SADD"), v("set:200")];
    a.extend((0..200).map(|i| v(format!("member:{i}"))));
    run(a);
    run(vec![
        v("ZADD"),
        v("z:small"),
        v("1"),
        v("a"),
        v("2.5"),
        v("b"),
        v("-3"),
        v("c"),
        v("0.1"),
        v("d"),
        v("inf"),
        v("e"),
        v("-inf"),
        v("f"),
        v("1e300"),
        v("g"),
        v("123456789012"),
        v("h"),
    ]);
    let mut a = vec![v("ZADD"), v("z:200")];
    for i in 0..200 {
        a.push(v(format!("{}", f64::from(i) / 7.0)));
        a.push(v(format!("m{i}")));
    }
    run(a);
    run(vec![
        v("ZADD"),
        v("z:longmember"),
        v("1"),
        v("x".repeat(100)),
        v("2"),
        v("short"),
    ]);
    run(vec![
        v("HSET"),
        v("h:small"),
        v("f1"),
        v("v1"),
        v("f2"),
        v("2"),
        v(""),
        v(""),
    ]);
    let mut a = vec![v("HSET"), v("h:200")];
    for i in 0..200 {
        a.push(v(format!("field{i}")));
        a.push(v(format!("{}", i * 11)));
    }
    run(a);
    let mut a = vec![v("HSET"), v("h:600")];
    for i in 0..600 {
        a.push(v(format!("f{i}")));
        a.push(v(format!("value-{i}")));
    }
    run(a);
    run(vec![v("HSET"), v("h:longval"), v("f"), v("y".repeat(100))]);
    run(vec![
        v("RPUSH"),
        v("l:small"),
        v("a"),
        v("b"),
        v("1"),
        v("-2"),
        v(""),
    ]);
    let mut a = vec![v("RPUSH"), v("l:10k")];
    a.extend((0..10_000).map(|i| {
        if i % 3 == 0 {
            v(i.to_string())
        } else {
            v(format!("element-{i}"))
        }
    }));
    run(a);
    run(vec![
        v("RPUSH"),
        v("l:bigelem"),
        v("before"),
        v("z".repeat(20_000)),
        v("after"),
    ]);
    run(vec![v("SET"), v("ttl:px"), v("v"), v("PX"), v("100000")]);
    run(vec![v("EXPIRE"), v("set:str"), v("1000")]);
    run(vec![v("PEXPIRE"), v("z:200"), v("500000")]);
    run(vec![v("PEXPIRE"), v("l:10k"), v("700000")]);
    run(vec![v("SELECT"), v("1")]);
    run(vec![v("SET"), v("one"), v("1")]);
    run(vec![v("HSET"), v("h"), v("f"), v("v")]);
    run(vec![v("RPUSH"), v("l"), v("x")]);
    run(vec![v("SET"), v("s:small"), v("db1")]);
    run(vec![v("EXPIRE"), v("h"), v("9000")]);
    run(vec![v("SELECT"), v("0")]);
}

fn sorted<T: Ord>(mut x: Vec<T>) -> Vec<T> {
    x.sort();
    x
}

/// Every key of databases 0 and 1 in `c` against redis-server: the same keys, types,
/// values, encodings (collections) and TTLs (within 5 s: the two clocks run apart).
fn compare(c: &Cache, r: &mut Conn) -> usize {
    let mut checked = 0;
    for db in 0..2usize {
        let ours = c.db(db).unwrap();
        assert!(matches!(
            r.cmd(&[b"SELECT", db.to_string().as_bytes()]),
            Value::Simple(_)
        ));
        let keys = sorted(r.cmd(&[b"KEYS", b"*"]).list());
        let our_keys = sorted(ours.keys("*").into_iter().map(|k| k.to_vec()).collect());
        assert_eq!(our_keys, keys, "keys of db {db}");
        for k in &keys {
            let name = String::from_utf8_lossy(k).into_owned();
            let ty = r.cmd(&[b"TYPE", k]).bytes();
            let our_ty = ours.key_type(k).map(|t| t.as_str().as_bytes().to_vec());
            assert_eq!(our_ty.as_deref(), Some(&ty[..]), "type of {name}");
            match &ty[..] {
                b"string" => {
                    let val = r.cmd(&[b"GET", k]).bytes();
                    assert_eq!(ours.get(k).unwrap().as_deref(), Some(&val[..]), "{name}");
                }
                b"list" => {
                    let val = r.cmd(&[b"LRANGE", k, b"0", b"-1"]).list();
                    let mine: Vec<Vec<u8>> = ours
                        .lrange(k, 0, -1)
                        .unwrap()
                        .into_iter()
                        .map(|b| b.to_vec())
                        .collect();
                    assert_eq!(mine, val, "{name}");
                }
                b"set" => {
                    let val = sorted(r.cmd(&[b"SMEMBERS", k]).list());
                    let mine = sorted(
                        ours.smembers(k)
                            .unwrap()
                            .into_iter()
                            .map(|b| b.to_vec())
                            .collect(),
                    );
                    assert_eq!(mine, val, "{name}");
                }
                b"zset" => {
                    let val = r.cmd(&[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]).list();
                    let spec = ZRangeSpec {
                        by: RangeBy::Rank(0, -1),
                        rev: false,
                        limit: None,
                    };
                    let mine = ours.zrange(k, &spec).unwrap();
                    assert_eq!(mine.len() * 2, val.len(), "{name}");
                    for ((m, s), pair) in mine.iter().zip(val.chunks(2)) {
                        assert_eq!(&m[..], &pair[0][..], "{name}");
                        let theirs = crate::num::parse_f64(&pair[1]).unwrap();
                        assert_eq!(
                            s.to_bits(),
                            theirs.to_bits(),
                            "{name} score of {:?}",
                            String::from_utf8_lossy(m)
                        );
                    }
                }
                b"hash" => {
                    let flat = r.cmd(&[b"HGETALL", k]).list();
                    let val = sorted(
                        flat.chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone()))
                            .collect(),
                    );
                    let mine = sorted(
                        ours.hgetall(k)
                            .unwrap()
                            .into_iter()
                            .map(|(f, v)| (f.to_vec(), v.to_vec()))
                            .collect(),
                    );
                    assert_eq!(mine, val, "{name}");
                }
                other => panic!("unexpected type {:?}", String::from_utf8_lossy(other)),
            }
            if &ty[..] != b"string" {
                let enc = r.cmd(&[b"OBJECT", b"ENCODING", k]).bytes();
                assert_eq!(
                    ours.object_encoding(k).map(str::as_bytes),
                    Some(&enc[..]),
                    "encoding of {name}"
                );
            }
            let pttl = r.cmd(&[b"PTTL", k]).int();
            let mine = ours.pttl(k);
            if pttl < 0 || mine < 0 {
                assert_eq!(mine, pttl, "PTTL of {name}");
            } else {
                assert!(
                    (mine - pttl).abs() < 5000,
                    "PTTL of {name}: {mine} vs {pttl}"
                );
            }
            checked += 1;
        }
    }
    checked
}

fn system_cache() -> Cache {
    Cache::builder().databases(16).housekeeping(false).build()
}

#[test]
fn sabaody_loads_what_redis_writes_and_redis_loads_what_sabaody_writes() {
    if !enabled() {
        eprintln!("skipped: set SABAODY_DIFF=1 to run against redis-server");
        return;
    }
    let a = RedisServer::start(&ARGS).unwrap_or_else(|e| panic!("{e}"));
    let mut ra = Conn::open(&a);
    populate(&mut ra);
    let mut loaded = None;
    for compression in ["yes", "no"] {
        assert!(matches!(
            ra.cmd(&[b"CONFIG", b"SET", b"rdbcompression", compression.as_bytes()]),
            Value::Simple(_)
        ));
        assert!(matches!(ra.cmd(&[b"SAVE"]), Value::Simple(_)));
        let bytes = std::fs::read(a.dir().join("dump.rdb")).unwrap();
        let summary = check_rdb(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(summary.checksum_verified);
        for t in [
            "zset-listpack",
            "hash-listpack",
            "set-intset",
            "list-quicklist-2",
            "zset-2",
            "hash",
            "set",
            "string",
        ] {
            assert!(
                summary.types.contains_key(t),
                "redis wrote no {t} record: {:?}",
                summary.types
            );
        }
        let c = system_cache();
        let stats = c
            .load_rdb(&mut &bytes[..])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stats.expired_skipped, 0);
        let n = compare(&c, &mut ra);
        assert_eq!(n as u64, stats.keys);
        eprintln!(
            "rdbcompression {compression}: {} bytes, {n} keys compared",
            bytes.len()
        );
        loaded = Some(c);
    }
    let c = loaded.unwrap();
    // Keys of our own, in forms Redis's population did not produce.
    let z = ZAddOptions::default();
    c.zadd(
        "ours:z-negzero",
        &z,
        &[(-0.0, "n".to_string()), (5.0, "x".repeat(80))],
    )
    .unwrap();
    c.zadd("ours:z-small-negzero", &z, &[(-0.0, "n"), (0.5, "h")])
        .unwrap();
    c.rpush("ours:l-huge", &["a".repeat(100_000), "b".into()])
        .unwrap();
    c.sadd(
        "ours:set-wide",
        &["-9223372036854775808", "9223372036854775807"],
    )
    .unwrap();
    c.db(1)
        .unwrap()
        .set("ours:i64", "-9223372036854775808")
        .unwrap();
    for compression in [true, false] {
        let b = TempDir::new("rdb-b");
        let opts = SaveOptions {
            compression,
            checksum: true,
        };
        let mut file = Vec::new();
        c.save_rdb(&mut file, opts).unwrap();
        std::fs::write(b.path().join("dump.rdb"), file).unwrap();
        // Deep validation: Redis walks every listpack/intset entry of our dump, checks
        // header counts and rejects duplicates.
        let mut server = spawn(&b, &["--sanitize-dump-payload", "yes"]);
        if server.wait_ready().is_err() {
            panic!("redis-server refused our dump:\n{}", server.log());
        }
        let mut rb = Conn::open(&server);
        let n = compare(&c, &mut rb);
        eprintln!("our dump (compression {compression}): {n} keys compared in redis-server");
        let log = server.log();
        assert!(log.contains("DB loaded from disk"), "{log}");
        for l in log.lines().filter(|l| l.contains("RDB")) {
            eprintln!("  redis: {l}");
        }
    }
}

/// A redis-server without a module of that name refuses a dump holding our Bloom/CMS
/// records, naming the module (and a RedisBloom would not misread them: other names).
#[test]
fn redis_refuses_our_module_records_by_name() {
    if !enabled() {
        eprintln!("skipped: set SABAODY_DIFF=1 to run against redis-server");
        return;
    }
    let c = system_cache();
    c.bf_add("bf", "x").unwrap();
    c.cms_init_by_dim("cms", 10, 2).unwrap();
    let dir = TempDir::new("rdb-m");
    let mut file = Vec::new();
    c.save_rdb(&mut file, SaveOptions::default()).unwrap();
    std::fs::write(dir.path().join("dump.rdb"), file).unwrap();
    let mut server = spawn(&dir, &[]);
    assert!(
        server.wait_exit(Duration::from_secs(20)).is_some(),
        "redis-server did not refuse the file"
    );
    let log = server.log();
    assert!(
        log.contains("no matching module type 'sbdybloom'")
            || log.contains("no matching module type 'sbdy-cms-'"),
        "{log}"
    );
    for l in log.lines().filter(|l| l.contains("module type")) {
        eprintln!("  redis: {l}");
    }
}

/// LFU counters from redis-server: its dump under `allkeys-lfu` carries each key's counter
/// (`FREQ`), and a cache under an LFU policy reports the same `OBJECT FREQ` after loading it.
/// (`lfu-log-factor 0` on both sides makes every read count.)
#[test]
fn lfu_counters_of_a_redis_dump_load_as_saved() {
    if !enabled() {
        eprintln!("skipped: set SABAODY_DIFF=1 to run against redis-server");
        return;
    }
    let lfu = ["--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0"];
    let a = RedisServer::start(&[&ARGS[..], &lfu[..]].concat()).unwrap_or_else(|e| panic!("{e}"));
    let mut r = Conn::open(&a);
    for (key, reads) in [("cold", 0), ("warm", 7), ("hot", 60)] {
        assert!(matches!(
            r.cmd(&[b"SET", key.as_bytes(), b"v"]),
            Value::Simple(_)
        ));
        for _ in 0..reads {
            r.cmd(&[b"GET", key.as_bytes()]);
        }
    }
    assert!(matches!(
        r.cmd(&[b"HSET", b"h", b"f", b"v"]),
        Value::Simple(_) | Value::Int(_)
    ));
    assert!(matches!(r.cmd(&[b"SAVE"]), Value::Simple(_)));
    let bytes = std::fs::read(a.dir().join("dump.rdb")).unwrap();
    let c = Cache::builder()
        .databases(16)
        .housekeeping(false)
        .eviction_policy(crate::EvictionPolicy::AllKeysLfu)
        .build();
    c.load_rdb(&mut &bytes[..])
        .unwrap_or_else(|e| panic!("{e}"));
    for key in ["cold", "warm", "hot", "h"] {
        let theirs = r.cmd(&[b"OBJECT", b"FREQ", key.as_bytes()]).int();
        let ours = c.object_freq(key).unwrap().map(i64::from);
        assert_eq!(ours, Some(theirs), "OBJECT FREQ {key}");
        eprintln!("OBJECT FREQ {key}: {theirs}");
    }
    assert_eq!(c.object_freq("hot").unwrap(), Some(65));
}

/// The other way: our dump under LRU and LFU policies carries `IDLE` / `FREQ`, and
/// redis-server started on it under the same policy reports them.
#[test]
fn redis_restores_the_idle_times_and_counters_we_save() {
    if !enabled() {
        eprintln!("skipped: set SABAODY_DIFF=1 to run against redis-server");
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (policy, name) in [
        (crate::EvictionPolicy::AllKeysLru, "allkeys-lru"),
        (crate::EvictionPolicy::AllKeysLfu, "allkeys-lfu"),
    ] {
        // On a minute boundary, so the LFU decay below is exactly six periods.
        let clock = crate::ManualClock::new((now - 1_000_000) / 60_000 * 60_000);
        let c = Cache::builder()
            .databases(16)
            .housekeeping(false)
            .clock(clock.clone())
            .eviction_policy(policy)
            .lfu_log_factor(0)
            .build();
        c.set("old", "1").unwrap();
        clock.advance(Duration::from_secs(600));
        c.set("new", "2").unwrap();
        for _ in 0..30 {
            c.get("new").unwrap();
        }
        clock.advance(Duration::from_secs(400));
        let dir = TempDir::new("rdb-hints");
        let mut file = Vec::new();
        c.save_rdb(&mut file, SaveOptions::default()).unwrap();
        std::fs::write(dir.path().join("dump.rdb"), file).unwrap();
        let mut server = spawn(&dir, &["--maxmemory-policy", name]);
        if server.wait_ready().is_err() {
            panic!("redis-server refused our dump:\n{}", server.log());
        }
        let mut r = Conn::open(&server);
        if policy.is_lfu() {
            // 6.7 minutes after the last read: decayed by six before saving; `old`, never
            // read in 16 minutes, by all of its five.
            let freq = |r: &mut Conn, k: &[u8]| r.cmd(&[b"OBJECT", b"FREQ", k]).int();
            assert_eq!(freq(&mut r, b"new"), 35 - 6);
            assert_eq!(freq(&mut r, b"old"), 0);
        } else {
            let idle = |r: &mut Conn, k: &[u8]| r.cmd(&[b"OBJECT", b"IDLETIME", k]).int();
            let (old, new) = (idle(&mut r, b"old"), idle(&mut r, b"new"));
            assert!((1000..1005).contains(&old), "OBJECT IDLETIME old: {old}");
            assert!((400..405).contains(&new), "OBJECT IDLETIME new: {new}");
        }
    }
}
