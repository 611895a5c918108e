//! RDB persistence through the server: SAVE / BGSAVE / save points / SHUTDOWN write a dump that
//! a restarted server loads into the identical keyspace (compared by a digest over every key's
//! type, value and absolute expire time in every database).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aof_util;

use aof_util::TempDir;
use redis::{Commands, Connection};
use sabaody_server::{Config, Server, ServerHandle};
use std::path::Path;
use std::time::{Duration, Instant};

fn start(dir: &Path, extra: &[(&str, &str)]) -> std::io::Result<ServerHandle> {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    c.set("io-threads", &["2"]).unwrap();
    c.set("dir", &[dir.to_str().unwrap()]).unwrap();
    for (k, v) in extra {
        c.set(k, &[v]).unwrap();
    }
    Server::start(c)
}

fn client(h: &ServerHandle) -> Connection {
    redis::Client::open(format!("redis://{}/", h.local_addr()))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// `SHUTDOWN <how>` (SAVE / NOSAVE), then a fresh server on the same directory.
fn shutdown_and_restart(
    h: ServerHandle,
    mut con: Connection,
    dir: &Path,
    how: &str,
) -> (ServerHandle, Connection) {
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").arg(how).query(&mut con);
    assert!(h.wait());
    let h = start(dir, &[]).unwrap();
    let con = client(&h);
    (h, con)
}

fn info_field(con: &mut Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .to_string()
}

/// Every key of every database: (db, key) -> (type, canonical value, PEXPIRETIME).
fn digest(con: &mut Connection) -> Vec<(i64, Vec<u8>, String, String, i64)> {
    let mut out = Vec::new();
    for db in 0..16 {
        let _: () = redis::cmd("SELECT").arg(db).query(con).unwrap();
        let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).unwrap();
        keys.sort();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(con).unwrap();
            let v = match t.as_str() {
                "string" => {
                    let v: Vec<u8> = con.get(&k).unwrap();
                    format!("{v:?}")
                }
                "list" => {
                    let v: Vec<Vec<u8>> = con.lrange(&k, 0, -1).unwrap();
                    format!("{v:?}")
                }
                "set" => {
                    let mut v: Vec<Vec<u8>> = con.smembers(&k).unwrap();
                    v.sort();
                    format!("{v:?}")
                }
                "zset" => {
                    let v: Vec<(Vec<u8>, String)> = con.zrange_withscores(&k, 0, -1).unwrap();
                    format!("{v:?}")
                }
                "hash" => {
                    let mut v: Vec<(Vec<u8>, Vec<u8>)> = con.hgetall(&k).unwrap();
                    v.sort();
                    format!("{v:?}")
                }
                "MBbloom--" => {
                    let info: Vec<redis::Value> = redis::cmd("BF.INFO").arg(&k).query(con).unwrap();
                    let probe: Vec<i64> = redis::cmd("BF.MEXISTS")
                        .arg(&k)
                        .arg(&["a", "b", "c", "zz"])
                        .query(con)
                        .unwrap();
                    format!("{info:?} {probe:?}")
                }
                "CMSk-TYPE" => {
                    let info: Vec<redis::Value> =
                        redis::cmd("CMS.INFO").arg(&k).query(con).unwrap();
                    let q: Vec<i64> = redis::cmd("CMS.QUERY")
                        .arg(&k)
                        .arg(&["a", "b", "zz"])
                        .query(con)
                        .unwrap();
                    format!("{info:?} {q:?}")
                }
                other => panic!("unexpected type {other}"),
            };
            let e: i64 = redis::cmd("PEXPIRETIME").arg(&k).query(con).unwrap();
            out.push((db, k, t, v, e));
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(con).unwrap();
    out
}

/// Every type, small and large, TTLs, binary keys, empty and big values, three databases.
fn populate(con: &mut Connection) {
    let _: () = con.set("str", "hello").unwrap();
    let _: () = con.set("int", 12345).unwrap();
    let _: () = con.set("neg", -9_000_000_000i64).unwrap();
    let _: () = con.set("empty", "").unwrap();
    let _: () = con.set("long", "abc".repeat(1000)).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let _: () = con.set("big", big).unwrap();
    let _: () = con
        .set(b"bin\x00\xffkey".as_slice(), b"\x00\x01\x02".as_slice())
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("PX")
        .arg(3_600_000)
        .query(con)
        .unwrap();
    let _: () = con.sadd("iset", &[1, 2, 3, -4]).unwrap();
    let _: () = con.sadd("sset", &["a", "b", "c"]).unwrap();
    let many: Vec<String> = (0..600).map(|i| format!("member-{i}")).collect();
    let _: () = con.sadd("bigset", &many).unwrap();
    let _: () = con
        .zadd_multiple("zs", &[(1.5, "a"), (-2.0, "b"), (0.0, "c")])
        .unwrap();
    let zs: Vec<(f64, String)> = (0..400)
        .map(|i| (f64::from(i) / 3.0, format!("z{i}")))
        .collect();
    let _: () = con.zadd_multiple("bigzs", &zs).unwrap();
    let _: () = redis::cmd("ZADD")
        .arg("infz")
        .arg("+inf")
        .arg("p")
        .arg("-inf")
        .arg("n")
        .query(con)
        .unwrap();
    let _: () = con
        .hset_multiple("h", &[("f1", "v1"), ("f2", "2")])
        .unwrap();
    let hv: Vec<(String, String)> = (0..300)
        .map(|i| (format!("f{i}"), "x".repeat(i % 90)))
        .collect();
    let _: () = con.hset_multiple("bigh", &hv).unwrap();
    let _: () = con.rpush("l", &["a", "b", "1", "2"]).unwrap();
    let lv: Vec<String> = (0..10_000).map(|i| format!("e{i}")).collect();
    let _: () = con.rpush("bigl", &lv).unwrap();
    let _: () = con.rpush("hugeelem", "y".repeat(20_000)).unwrap();
    let _: () = redis::cmd("BF.ADD").arg("bf").arg("a").query(con).unwrap();
    let _: () = redis::cmd("BF.ADD").arg("bf").arg("b").query(con).unwrap();
    let _: () = redis::cmd("CMS.INITBYDIM")
        .arg("cms")
        .arg(100)
        .arg(4)
        .query(con)
        .unwrap();
    let _: () = redis::cmd("CMS.INCRBY")
        .arg("cms")
        .arg("a")
        .arg(3)
        .arg("b")
        .arg(1)
        .query(con)
        .unwrap();
    let _: () = redis::cmd("PFADD")
        .arg("hll")
        .arg(&["x", "y", "z"])
        .query(con)
        .unwrap();
    let _: () = con.expire("h", 10_000).unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(con).unwrap();
    let _: () = con.set("in-db3", "3").unwrap();
    let _: () = con.sadd("s3", "m").unwrap();
    let _: () = redis::cmd("SELECT").arg(15).query(con).unwrap();
    let _: () = con.set("in-db15", "15").unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(con).unwrap();
}

#[test]
fn save_then_restart_loads_the_same_keyspace() {
    let tmp = TempDir::new("persist-save");
    let dir = tmp.path();
    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    populate(&mut con);
    let before = digest(&mut con);
    assert_eq!(before.len(), 25);
    assert_ne!(info_field(&mut con, "rdb_changes_since_last_save"), "0");
    let t0: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    let r: String = redis::cmd("SAVE").query(&mut con).unwrap();
    assert_eq!(r, "OK");
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "0");
    let t1: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    assert!(t1 >= t0);
    assert!(dir.join("dump.rdb").exists());
    // Nothing else is left in the directory (the temp file was renamed).
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
    drop(con);
    assert!(h.shutdown());

    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    assert_eq!(digest(&mut con), before);
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "0");
    drop(con);
    h.shutdown();
}

/// All string keys of database 0 with their values (MGET in batches: many keys).
fn strings(con: &mut Connection) -> Vec<(String, String)> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(con).unwrap();
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(1000) {
        let vals: Vec<String> = con.mget(chunk).unwrap();
        out.extend(chunk.iter().cloned().zip(vals));
    }
    out
}

#[test]
fn bgsave_while_writing_keeps_serving_and_saves() {
    let tmp = TempDir::new("persist-bgsave");
    let dir = tmp.path();
    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    for chunk in 0..20 {
        let pairs: Vec<(String, String)> = (0..5_000)
            .map(|i| (format!("k{}", chunk * 5_000 + i), format!("v{i}")))
            .collect();
        let _: () = con.mset(&pairs).unwrap();
    }
    let at_cut = strings(&mut con);
    assert_eq!(at_cut.len(), 100_000);
    let r: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(r, "Background saving started");
    // Writes right after the cut are served and are not in this dump.
    let mut other = client(&h);
    for i in 0..2_000 {
        let _: () = other.set(format!("k{i}"), "after").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut con, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status"), "ok");
    drop((con, other));
    h.shutdown();
    // The dump is the keyspace as of the BGSAVE.
    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    assert_eq!(strings(&mut con), at_cut);
    drop(con);
    h.shutdown();
}

#[test]
fn save_point_triggers_a_background_save() {
    let tmp = TempDir::new("persist-savepoint");
    let dir = tmp.path();
    let h = start(dir, &[("save", "1 1")]).unwrap();
    let mut con = client(&h);
    let _: () = con.set("a", "1").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.join("dump.rdb").exists()
        || info_field(&mut con, "rdb_changes_since_last_save") != "0"
    {
        assert!(Instant::now() < deadline, "no save from the save point");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(con);
    // SHUTDOWN NOSAVE leaves the dump as the save point wrote it.
    let mut con = client(&h);
    let _: () = con.set("b", "2").unwrap();
    let (h, mut con) = shutdown_and_restart(h, con, dir, "NOSAVE");
    let a: Option<String> = con.get("a").unwrap();
    let b: Option<String> = con.get("b").unwrap();
    assert_eq!((a.as_deref(), b), (Some("1"), None));
    drop(con);
    h.shutdown();
}

#[test]
fn shutdown_saves_when_save_points_are_configured() {
    let tmp = TempDir::new("persist-shutdown");
    let dir = tmp.path();
    let h = start(dir, &[("save", "3600 1")]).unwrap();
    let mut con = client(&h);
    populate(&mut con);
    let before = digest(&mut con);
    drop(con);
    // A graceful stop (as on SIGTERM) writes the final snapshot.
    assert!(h.shutdown());
    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    assert_eq!(digest(&mut con), before);
    // SHUTDOWN SAVE saves even without save points.
    let _: () = con.set("later", "x").unwrap();
    let after = digest(&mut con);
    let (h, mut con) = shutdown_and_restart(h, con, dir, "SAVE");
    assert_eq!(digest(&mut con), after);
    drop(con);
    h.shutdown();
}

#[test]
fn a_damaged_dump_refuses_to_start_naming_the_file() {
    let tmp = TempDir::new("persist-damaged");
    let dir = tmp.path();
    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    populate(&mut con);
    let _: String = redis::cmd("SAVE").query(&mut con).unwrap();
    drop(con);
    h.shutdown();
    let path = dir.join("dump.rdb");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&path, &bytes).unwrap();
    let err = start(dir, &[]).expect_err("a corrupt dump must not load");
    assert!(err.to_string().contains("dump.rdb"), "{err}");
    // Truncated.
    std::fs::write(&path, &bytes[..mid]).unwrap();
    let err = start(dir, &[]).expect_err("a truncated dump must not load");
    assert!(err.to_string().contains("dump.rdb"), "{err}");
}

#[test]
fn save_commands_errors() {
    let tmp = TempDir::new("persist-errors");
    let dir = tmp.path();
    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    let e = redis::cmd("BGSAVE")
        .arg("NOW")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(e.code(), Some("ERR"));
    assert!(e.to_string().contains("syntax error"), "{e}");
    let _: () = redis::cmd("MULTI").query(&mut con).unwrap();
    let e = redis::cmd("SAVE").query::<String>(&mut con).unwrap_err();
    assert!(e.to_string().contains("not allowed"), "{e}");
    drop(con);
    h.shutdown();
}

#[test]
fn failed_background_save_refuses_writes_until_a_save_succeeds() {
    let tmp = TempDir::new("persist-misconf");
    let dir = tmp.path();
    let h = start(dir, &[("save", "3600 1000000")]).unwrap();
    let mut con = client(&h);
    let _: () = con.set("a", "1").unwrap();
    // The directory vanishes: the next background save fails.
    std::fs::remove_dir_all(dir).unwrap();
    let r: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(r, "Background saving started");
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        match con.set::<_, _, ()>("b", "2") {
            Err(e) => break e,
            Ok(()) => {
                assert!(Instant::now() < deadline, "writes never refused");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    assert_eq!(err.code(), Some("MISCONF"), "{err}");
    assert_eq!(info_field(&mut con, "rdb_last_bgsave_status"), "err");
    // Reads still work.
    let a: String = con.get("a").unwrap();
    assert_eq!(a, "1");
    // Once a save succeeds, writes are accepted again.
    std::fs::create_dir_all(dir).unwrap();
    let _: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while con.set::<_, _, ()>("b", "2").is_err() {
        assert!(
            Instant::now() < deadline,
            "writes still refused after a good save"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(con);
    h.shutdown();
}

#[test]
fn flushall_with_save_points_saves_the_empty_data_set() {
    let tmp = TempDir::new("persist-flushall");
    let dir = tmp.path();
    let h = start(dir, &[("save", "3600 1")]).unwrap();
    let mut con = client(&h);
    populate(&mut con);
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    // No final save: only the FLUSHALL's own save can keep the flushed keys from coming back.
    let (h, mut con) = shutdown_and_restart(h, con, dir, "NOSAVE");
    assert_eq!(digest(&mut con), Vec::new());
    // Without save points FLUSHALL writes nothing (as in Redis): the last dump stays.
    populate(&mut con);
    let saved = digest(&mut con);
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let (h, mut con) = shutdown_and_restart(h, con, dir, "NOSAVE");
    assert_eq!(digest(&mut con), saved);
    drop(con);
    h.shutdown();
}

#[test]
fn temp_files_of_dead_saves_are_removed_at_start() {
    let tmp = TempDir::new("persist-temp");
    let dir = tmp.path();
    // pid_max is at most 2^22, so no process has this pid; our own pid is alive (the server
    // runs in this process); the third name is not a save's temp file.
    let dead = dir.join("temp-99999999-3.rdb");
    let alive = dir.join(format!("temp-{}-0.rdb", std::process::id()));
    let other = dir.join("temp-notes.rdb");
    for p in [&dead, &alive, &other] {
        std::fs::write(p, b"partial").unwrap();
    }
    let h = start(dir, &[]).unwrap();
    assert!(!dead.exists());
    assert!(alive.exists());
    assert!(other.exists());
    h.shutdown();
}

/// Redis 7.0's counters around FLUSHALL: without save points it adds the keys it removed to
/// `rdb_changes_since_last_save` (nothing on an empty data set); with save points its save
/// leaves it at 0, sets LASTSAVE and is not counted in `rdb_saves`.
#[test]
fn flushall_changes_count_and_its_save_is_not_a_save_command() {
    let tmp = TempDir::new("persist-flushall-counts");
    let dir = tmp.path();
    let h = start(dir, &[]).unwrap();
    let mut con = client(&h);
    let changes = |con: &mut Connection| info_field(con, "rdb_changes_since_last_save");
    for k in ["a", "b", "c"] {
        let _: () = con.set(k, "v").unwrap();
    }
    let _: () = redis::cmd("SELECT").arg(2).query(&mut con).unwrap();
    let _: () = con.set("d", "v").unwrap();
    assert_eq!(changes(&mut con), "4");
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    assert_eq!(changes(&mut con), "8");
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    assert_eq!(changes(&mut con), "8");
    assert!(!dir.join("dump.rdb").exists());

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("save")
        .arg("3600 1")
        .query(&mut con)
        .unwrap();
    let _: () = con.set("e", "v").unwrap();
    let saves = info_field(&mut con, "rdb_saves");
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    assert_eq!(changes(&mut con), "0");
    assert_eq!(info_field(&mut con, "rdb_saves"), saves);
    assert!(dir.join("dump.rdb").exists());
    drop(con);
    h.shutdown();
}

/// FLUSHALL inside MULTI with save points: the transaction holds every shard lock, so the
/// save comes from a BGSAVE right after EXEC (it used to wait for those locks forever).
#[test]
fn flushall_in_a_transaction_saves_after_exec() {
    let tmp = TempDir::new("persist-flushall-multi");
    let dir = tmp.path();
    let h = start(dir, &[("save", "3600 1")]).unwrap();
    let mut con = client(&h);
    populate(&mut con);
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let (r,): (String,) = redis::pipe()
        .atomic()
        .cmd("FLUSHALL")
        .query(&mut con)
        .unwrap();
    assert_eq!(r, "OK");
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut con, "rdb_changes_since_last_save") != "0" {
        assert!(Instant::now() < deadline, "no save after the transaction");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (h, mut con) = shutdown_and_restart(h, con, dir, "NOSAVE");
    assert_eq!(digest(&mut con), Vec::new());
    drop(con);
    h.shutdown();
}

fn debug(con: &mut Connection, args: &[&str]) -> redis::RedisResult<String> {
    redis::cmd("DEBUG").arg(args).query(con)
}

fn err_text(r: redis::RedisResult<String>) -> String {
    let e = r.unwrap_err();
    format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
}

/// DEBUG RELOAD saves, flushes and loads the dump back: every type, value and absolute
/// expire time in every database survives, and, as in Redis, neither the flush nor the load
/// count as changes nor as a save in `rdb_saves`.
#[test]
fn debug_reload_keeps_the_keyspace() {
    let tmp = TempDir::new("persist-reload");
    let dir = tmp.path();
    let h = start(dir, &[("enable-debug-command", "yes")]).unwrap();
    let mut con = client(&h);
    populate(&mut con);
    let before = digest(&mut con);
    assert_eq!(before.len(), 25);
    let saves = info_field(&mut con, "rdb_saves");
    assert_eq!(debug(&mut con, &["RELOAD"]).unwrap(), "OK");
    assert_eq!(digest(&mut con), before);
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "0");
    assert_eq!(info_field(&mut con, "rdb_saves"), saves);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("bigset")
        .query(&mut con)
        .unwrap();
    assert_eq!(enc, "hashtable");

    // NOSAVE loads the dump as it is: a later write is gone, the change count stays.
    let _: () = con.set("later", "1").unwrap();
    let _: () = con.set("str", "changed").unwrap();
    assert_eq!(debug(&mut con, &["reload", "nosave"]).unwrap(), "OK");
    assert_eq!(digest(&mut con), before);
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "2");
    // NOFLUSH keeps keys the dump does not have; MERGE is accepted.
    let _: () = con.set("later", "1").unwrap();
    let r = debug(&mut con, &["RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]);
    assert_eq!(r.unwrap(), "OK");
    let later: Option<String> = con.get("later").unwrap();
    assert_eq!(later.as_deref(), Some("1"));
    assert_eq!(digest(&mut con).len(), before.len() + 1);

    assert_eq!(
        err_text(debug(&mut con, &["RELOAD", "NOSAVE", "FAST"])),
        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
    );
    // Inside MULTI it runs, as in Redis 7.0 (it used to be refused: the all-shards lock of
    // EXEC holds the shard locks it takes): the commands after it see the reloaded data set.
    let r: (String, String, String, String) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("inmulti")
        .arg("1")
        .cmd("DEBUG")
        .arg("RELOAD")
        .cmd("GET")
        .arg("inmulti")
        .cmd("DEL")
        .arg("inmulti")
        .query(&mut con)
        .unwrap();
    assert_eq!(r, ("OK".into(), "OK".into(), "1".into(), "1".into()));
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "1");
    // No dump to load: as Redis, the data set is flushed first and stays empty.
    std::fs::remove_file(dir.join("dump.rdb")).unwrap();
    assert_eq!(
        err_text(debug(&mut con, &["RELOAD", "NOSAVE"])),
        "ERR Error trying to load the RDB dump"
    );
    assert_eq!(digest(&mut con), Vec::new());
    drop(con);
    h.shutdown();
}

#[test]
fn debug_reload_obeys_enable_debug_command() {
    let tmp = TempDir::new("persist-reload-denied");
    let h = start(tmp.path(), &[]).unwrap();
    let mut con = client(&h);
    let _: () = con.set("k", "v").unwrap();
    let e = err_text(debug(&mut con, &["RELOAD"]));
    assert!(e.starts_with("ERR DEBUG command not allowed."), "{e}");
    assert!(!tmp.path().join("dump.rdb").exists());
    drop(con);
    h.shutdown();
    // `local`: our client connects over loopback.
    let h = start(tmp.path(), &[("enable-debug-command", "local")]).unwrap();
    let mut con = client(&h);
    let _: () = con.set("k", "v").unwrap();
    assert_eq!(debug(&mut con, &["RELOAD"]).unwrap(), "OK");
    let v: Option<String> = con.get("k").unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    drop(con);
    h.shutdown();
}
