//! AOF rewrite: BGREWRITEAOF while writes go on loses nothing and leaves a manifest of the new
//! base and the new incremental file only; `CONFIG SET appendonly yes` at run time starts the
//! log with a rewrite; the automatic rewrite fires past `auto-aof-rewrite-min-size`; a SIGKILL
//! during rewrites loses no acknowledged write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aof_util;

use std::time::{Duration, Instant};

use aof_util::{TempDir, assert_same, connect, dump, start};
use sabaody_server::{Config, Server};

/// A server in `dir` with the AOF off (`start` turns it on).
fn start_without_aof(dir: &std::path::Path) -> sabaody_server::ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    c.set("dir", &[dir.to_str().unwrap()]).unwrap();
    Server::start(c).unwrap()
}

fn set_appendonly(con: &mut redis::Connection, value: &str) -> redis::RedisResult<()> {
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg(value)
        .query(con)
}

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .trim()
        .to_string()
}

fn wait_rewrites(con: &mut redis::Connection, n: u64) {
    let t = Instant::now();
    while info_field(con, "aof_rewrite_in_progress") != "0"
        || info_field(con, "aof_rewrites").parse::<u64>().unwrap() < n
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "rewrite did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(con, "aof_last_bgrewrite_status"), "ok");
}

fn fill(con: &mut redis::Connection, from: usize, to: usize) {
    for i in from..to {
        let _: () = redis::pipe()
            .cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .ignore()
            .cmd("SADD")
            .arg(format!("s{}", i % 7))
            .arg(i)
            .ignore()
            .cmd("HSET")
            .arg("h")
            .arg(i)
            .arg("x")
            .ignore()
            .cmd("PEXPIRE")
            .arg(format!("k{}", i / 2))
            .arg(900_000)
            .ignore()
            .query(con)
            .unwrap();
    }
}

fn manifest(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir").join("appendonly.aof.manifest")).unwrap()
}

#[test]
fn bgrewriteaof_compacts_and_loses_nothing() {
    let dir = TempDir::new("aof-rewrite");
    let h = start(dir.path(), &[("appendfsync", "everysec")]);
    let mut con = connect(&h);
    fill(&mut con, 0, 2000);
    // Writes from another client all through the rewrite.
    let addr = h.local_addr();
    let writer = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://{addr}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        fill(&mut c, 2000, 6000);
    });
    let reply: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    assert!(
        reply.starts_with("Background append only file rewriting"),
        "{reply}"
    );
    wait_rewrites(&mut con, 1);
    writer.join().unwrap();
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    wait_rewrites(&mut con, 2);
    fill(&mut con, 6000, 6500);
    let before = dump(&mut con);
    h.shutdown();
    let m = manifest(dir.path());
    assert_eq!(
        m,
        "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("appendonlydir"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "appendonly.aof.3.base.rdb",
            "appendonly.aof.3.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    h.shutdown();
}

#[test]
fn config_set_appendonly_yes_starts_the_log_with_a_rewrite() {
    let dir = TempDir::new("aof-enable");
    let h = start_without_aof(dir.path());
    let mut con = connect(&h);
    fill(&mut con, 0, 1000);
    assert_eq!(info_field(&mut con, "aof_enabled"), "0");
    let _: () = set_appendonly(&mut con, "yes").unwrap();
    assert_eq!(info_field(&mut con, "aof_enabled"), "1");
    fill(&mut con, 1000, 1500);
    wait_rewrites(&mut con, 1);
    fill(&mut con, 1500, 1600);
    let before = dump(&mut con);
    h.shutdown();
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    // And off again: the log stops growing.
    let _: () = set_appendonly(&mut con, "no").unwrap();
    assert_eq!(info_field(&mut con, "aof_enabled"), "0");
    h.shutdown();
}

#[test]
fn automatic_rewrite_past_the_min_size() {
    let dir = TempDir::new("aof-auto");
    let h = start(
        dir.path(),
        &[
            ("auto-aof-rewrite-min-size", "1mb"),
            ("auto-aof-rewrite-percentage", "100"),
            ("hz", "50"),
        ],
    );
    let mut con = connect(&h);
    fill(&mut con, 0, 12_000);
    wait_rewrites(&mut con, 1);
    let before = dump(&mut con);
    h.shutdown();
    assert!(manifest(dir.path()).contains(".base.rdb"));
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    h.shutdown();
}

#[test]
fn config_set_appendonly_yes_that_fails_is_an_error_and_stays_off() {
    let dir = TempDir::new("aof-enable-fails");
    // A regular file where the AOF directory should be: it cannot be created.
    std::fs::write(dir.path().join("appendonlydir"), b"in the way").unwrap();
    let h = start_without_aof(dir.path());
    let mut con = connect(&h);
    // Redis 7.0's reply, raw: the redis crate reshapes error texts.
    let mut raw = sabaody_testkit::Conn::connect(h.local_addr()).unwrap();
    let reply = raw
        .request(&["CONFIG", "SET", "maxmemory", "5mb", "appendonly", "yes"])
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&reply.raw),
        "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.\r\n"
    );
    assert_eq!(info_field(&mut con, "aof_enabled"), "0");
    assert_eq!(info_field(&mut con, "aof_rewrite_in_progress"), "0");
    assert_eq!(info_field(&mut con, "aof_rewrite_scheduled"), "0");
    // As redis-server 7.0.15: the failed start shows as the last rewrite's status, and is not
    // counted as a failed rewrite.
    assert_eq!(info_field(&mut con, "aof_last_bgrewrite_status"), "err");
    assert_eq!(
        info_field(&mut con, "aof_rewrites_consecutive_failures"),
        "0"
    );
    assert_eq!(info_field(&mut con, "module_fork_in_progress"), "0");
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, ["appendonly", "no"]);
    // As Redis 7.0: the other settings of the failed CONFIG SET are put back too.
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, ["maxmemory", "0"]);
    // Writes go on as before, unlogged.
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    // Once the way is clear the AOF turns on, and holds what was written while it was off.
    std::fs::remove_file(dir.path().join("appendonlydir")).unwrap();
    let _: () = set_appendonly(&mut con, "yes").unwrap();
    assert_eq!(info_field(&mut con, "aof_enabled"), "1");
    wait_rewrites(&mut con, 1);
    let before = dump(&mut con);
    h.shutdown();
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    h.shutdown();
}

/// Writes that the AOF cannot take (here every incremental file after the first is /dev/full:
/// ENOSPC; turning the AOF on starts a rewrite, which moves to the second at once) are refused
/// with Redis's MISCONF error until the AOF is turned off; reads go on.
#[cfg(target_os = "linux")]
#[test]
fn failing_aof_writes_refuse_further_writes() {
    let dir = TempDir::new("aof-enospc");
    let aof_dir = dir.path().join("appendonlydir");
    std::fs::create_dir(&aof_dir).unwrap();
    for seq in 2..=8 {
        std::os::unix::fs::symlink(
            "/dev/full",
            aof_dir.join(format!("appendonly.aof.{seq}.incr.aof")),
        )
        .unwrap();
    }
    let h = start_without_aof(dir.path());
    let mut con = connect(&h);
    let _: () = set_appendonly(&mut con, "yes").unwrap();
    // Acknowledged as with Redis's everysec: the write to the file fails after it.
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut con).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        match redis::cmd("SET").arg("b").arg("2").query::<()>(&mut con) {
            Err(e) => break e,
            Ok(()) => {
                assert!(Instant::now() < deadline, "writes never refused");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    assert_eq!(err.code(), Some("MISCONF"));
    assert!(
        err.to_string()
            .contains("Errors writing to the AOF file: No space left on device"),
        "{err}"
    );
    assert!(redis::cmd("PING").query::<String>(&mut con).is_err());
    assert_eq!(info_field(&mut con, "aof_last_write_status"), "err");
    let a: String = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    assert_eq!(a, "1");
    // With the AOF off, writes are accepted again.
    let _: () = set_appendonly(&mut con, "no").unwrap();
    let _: () = redis::cmd("SET").arg("c").arg("3").query(&mut con).unwrap();
    h.shutdown();
}

/// The AOF is turned on and off (and rewritten) while two loop threads run pipelines of
/// order-sensitive writes. With the AOF off a loop holds its order-lock stripe across a whole
/// pipeline (`aof::Order`): CONFIG SET and BGREWRITEAOF must still get the exclusive side (no
/// hang), and what a restart loads must equal what the server held. (The race the hold
/// prevents, a write straddling the switch, is a window of microseconds: this test exercises
/// the switch under load but is not a reliable detector of that race.)
#[test]
fn appendonly_toggled_under_pipelined_writers_loses_nothing() {
    let dir = TempDir::new("aof-toggle");
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    c.set("io-threads", &["2"]).unwrap();
    c.set("dir", &[dir.path().to_str().unwrap()]).unwrap();
    let h = Server::start(c).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut con = connect(&h);
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut p = redis::pipe();
                    for j in 0..32 {
                        // A shared list and counter: replay must keep the interleaving.
                        p.cmd("RPUSH")
                            .arg("list")
                            .arg(format!("{w}:{i}:{j}"))
                            .ignore();
                        p.cmd("INCR").arg("counter").ignore();
                        p.cmd("SET")
                            .arg(format!("k{}", (i * 32 + j) % 500))
                            .arg(w)
                            .ignore();
                    }
                    let _: () = p.query(&mut con).unwrap();
                    i += 1;
                }
                i
            })
        })
        .collect();
    let mut con = connect(&h);
    const ROUNDS: u64 = 6;
    for round in 0..ROUNDS {
        std::thread::sleep(Duration::from_millis(5));
        let _: () = set_appendonly(&mut con, "yes").unwrap();
        wait_rewrites(&mut con, 2 * round + 1);
        let _: () = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
        wait_rewrites(&mut con, 2 * round + 2);
        if round + 1 < ROUNDS {
            let _: () = set_appendonly(&mut con, "no").unwrap();
        }
    }
    std::thread::sleep(Duration::from_millis(30));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let batches: u64 = writers.into_iter().map(|t| t.join().unwrap()).sum();
    let before = dump(&mut con);
    let counter: u64 = redis::cmd("GET").arg("counter").query(&mut con).unwrap();
    assert_eq!(counter, batches * 32);
    h.shutdown();
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    h.shutdown();
}

/// Keys of every type in databases 0 and 3: strings (short, integer, long, binary, with a
/// TTL), lists, sets (integers and strings), sorted sets (infinite scores, past the listpack
/// size), hashes (small and large), and, when `sketches`, a Bloom filter and a CMS.
fn fill_every_type(con: &mut redis::Connection, sketches: bool) {
    let mut p = redis::pipe();
    p.cmd("SET").arg("s").arg("v").ignore();
    p.cmd("SET").arg("n").arg(-42).ignore();
    p.cmd("SET").arg("long").arg("x".repeat(300)).ignore();
    p.cmd("SET")
        .arg(&b"bin\0\r\n"[..])
        .arg(&b"\xff\0\r\n$3"[..])
        .ignore();
    p.cmd("SET")
        .arg("ttl")
        .arg("t")
        .arg("PX")
        .arg(900_000)
        .ignore();
    for i in 0..150 {
        p.cmd("RPUSH").arg("l").arg(format!("e{i}")).ignore();
        p.cmd("SADD").arg("si").arg(i * 1000).ignore();
        p.cmd("SADD").arg("ss").arg(format!("m{i}")).ignore();
        p.cmd("ZADD")
            .arg("zbig")
            .arg(f64::from(i) / 7.0)
            .arg(format!("z{i}"))
            .ignore();
        p.cmd("HSET")
            .arg("hbig")
            .arg(format!("f{i}"))
            .arg(format!("v{i}"))
            .ignore();
    }
    p.cmd("ZADD")
        .arg("z")
        .arg("-inf")
        .arg("lo")
        .arg("inf")
        .arg("hi")
        .arg("1e-300")
        .arg("tiny")
        .ignore();
    p.cmd("HSET")
        .arg("h")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("")
        .ignore();
    p.cmd("PEXPIRE").arg("l").arg(800_000).ignore();
    p.cmd("SELECT").arg(3).ignore();
    p.cmd("SET").arg("db3").arg("three").ignore();
    p.cmd("LPUSH").arg("l3").arg("a").arg("b").ignore();
    if sketches {
        p.cmd("BF.RESERVE").arg("bf").arg(0.01).arg(100).ignore();
        for i in 0..300 {
            p.cmd("BF.ADD").arg("bf").arg(format!("item{i}")).ignore();
        }
        p.cmd("CMS.INITBYDIM").arg("cms").arg(50).arg(4).ignore();
        p.cmd("CMS.INCRBY")
            .arg("cms")
            .arg("a")
            .arg(5)
            .arg("b")
            .arg(7)
            .ignore();
        p.cmd("PEXPIRE").arg("cms").arg(700_000).ignore();
    }
    p.cmd("SELECT").arg(0).ignore();
    let _: () = p.query(con).unwrap();
}

/// What the dump does not show of the sketches: membership and counts.
fn sketch_answers(con: &mut redis::Connection) -> (Vec<i64>, Vec<i64>) {
    let _: () = redis::cmd("SELECT").arg(3).query(con).unwrap();
    let mut exists = redis::cmd("BF.MEXISTS");
    exists.arg("bf");
    for i in 0..400 {
        exists.arg(format!("item{i}"));
    }
    let bf: Vec<i64> = exists.query(con).unwrap();
    let cms: Vec<i64> = redis::cmd("CMS.QUERY")
        .arg("cms")
        .arg("a")
        .arg("b")
        .arg("c")
        .query(con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(con).unwrap();
    (bf, cms)
}

fn aof_files(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

fn config_get(con: &mut redis::Connection, name: &str) -> Vec<String> {
    redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(con)
        .unwrap()
}

#[test]
fn rewrite_without_rdb_preamble_writes_a_command_base_that_reloads() {
    let dir = TempDir::new("aof-no-preamble");
    let h = start(dir.path(), &[("aof-use-rdb-preamble", "no")]);
    let mut con = connect(&h);
    fill_every_type(&mut con, true);
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    wait_rewrites(&mut con, 1);
    // Written after the rewrite: in the incremental file.
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let before = dump(&mut con);
    let sketches = sketch_answers(&mut con);
    assert_eq!(sketches.1, [5, 7, 0]);
    h.shutdown();
    // Redis 7.0's names: the fresh log's empty base was `.1.base.aof` too.
    assert_eq!(
        manifest(dir.path()),
        "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert_eq!(
        aof_files(dir.path()),
        [
            "appendonly.aof.2.base.aof",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    let base = std::fs::read(dir.path().join("appendonlydir/appendonly.aof.2.base.aof")).unwrap();
    assert!(
        base.starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"),
        "{:?}",
        String::from_utf8_lossy(&base[..40.min(base.len())])
    );
    let text = String::from_utf8_lossy(&base);
    for cmd in ["RPUSH", "SADD", "ZADD", "HMSET", "PEXPIREAT", "RESTORE"] {
        assert!(
            text.contains(&format!("${}\r\n{cmd}\r\n", cmd.len())),
            "{cmd}"
        );
    }
    // Reloaded (the base is recognised by its content, whatever the preamble setting).
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    assert_eq!(sketch_answers(&mut con), sketches);
    h.shutdown();
}

#[test]
fn preamble_and_incremental_fsync_follow_config_set_at_the_next_rewrite() {
    let dir = TempDir::new("aof-preamble-set");
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_eq!(
        config_get(&mut con, "aof-rewrite-incremental-fsync"),
        ["aof-rewrite-incremental-fsync", "yes"]
    );
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("aof-rewrite-incremental-fsync")
        .arg("no")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        config_get(&mut con, "aof-rewrite-incremental-fsync"),
        ["aof-rewrite-incremental-fsync", "no"]
    );
    fill_every_type(&mut con, false);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("aof-use-rdb-preamble")
        .arg("no")
        .query(&mut con)
        .unwrap();
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    wait_rewrites(&mut con, 1);
    assert!(manifest(dir.path()).starts_with("file appendonly.aof.2.base.aof seq 2 type b\n"));
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("aof-use-rdb-preamble")
        .arg("yes")
        .query(&mut con)
        .unwrap();
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    wait_rewrites(&mut con, 2);
    assert!(manifest(dir.path()).starts_with("file appendonly.aof.3.base.rdb seq 3 type b\n"));
    let base = std::fs::read(dir.path().join("appendonlydir/appendonly.aof.3.base.rdb")).unwrap();
    assert!(base.starts_with(b"REDIS"));
    let before = dump(&mut con);
    h.shutdown();
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    h.shutdown();
}

/// redis-server 7.0 loads the AOF directory of a rewrite without an RDB preamble (skipped
/// when it is not installed; no sketches: redis-server has no RedisBloom).
#[test]
fn redis_7_loads_our_command_base() {
    if sabaody_testkit::redis_server_version().is_none() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let dir = TempDir::new("aof-no-preamble-redis7");
    let h = start(dir.path(), &[("aof-use-rdb-preamble", "no")]);
    let mut con = connect(&h);
    fill_every_type(&mut con, false);
    let _: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    wait_rewrites(&mut con, 1);
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let before = dump(&mut con);
    h.shutdown();
    let redis = sabaody_testkit::RedisServer::start_in(
        dir.path(),
        &["--appendonly", "yes", "--aof-use-rdb-preamble", "no"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut c = redis::Client::open(format!("redis://{}/", redis.addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    assert_same(&before, &dump(&mut c), 0);
    let log = redis.log();
    assert!(
        log.contains("appendonly.aof.2.base.aof"),
        "redis-server did not name our base: {log}"
    );
}

/// `CONFIG SET appendonly yes` while a rewrite started with the AOF off is running: Redis 7.0
/// replaces that rewrite by one for the new log; here the running one is discarded when it
/// ends and the new log's rewrite is scheduled. Either way: OK, and the log holds everything.
#[test]
fn config_set_appendonly_yes_during_a_rewrite_with_the_aof_off() {
    let dir = TempDir::new("aof-enable-during-rewrite");
    let h = start_without_aof(dir.path());
    let mut con = connect(&h);
    // Enough keys for the rewrite to be still running at the next command of the pipeline.
    for chunk in 0..4 {
        let mut p = redis::pipe();
        for i in chunk * 5000..(chunk + 1) * 5000 {
            p.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
        }
        let _: () = p.query(&mut con).unwrap();
    }
    fill(&mut con, 0, 300);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("aof-use-rdb-preamble")
        .arg("no")
        .query(&mut con)
        .unwrap();
    let (in_progress, ()): (String, ()) = redis::pipe()
        .cmd("BGREWRITEAOF")
        .cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg("yes")
        .query(&mut con)
        .unwrap();
    assert!(in_progress.contains("started"), "{in_progress}");
    assert_eq!(info_field(&mut con, "aof_enabled"), "1");
    fill(&mut con, 300, 600);
    wait_rewrites(&mut con, 1);
    let t = Instant::now();
    while info_field(&mut con, "aof_rewrite_scheduled") != "0"
        || info_field(&mut con, "aof_rewrite_in_progress") != "0"
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "scheduled rewrite did not run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The rewrite that ran into the AOF's start was discarded (had it finished first, the
    // AOF's own rewrite would have been a second one).
    assert_eq!(info_field(&mut con, "aof_rewrites"), "1");
    fill(&mut con, 600, 700);
    let before = dump(&mut con);
    h.shutdown();
    let m = manifest(dir.path());
    let listed: Vec<&str> = m.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    let mut on_disk: Vec<String> = aof_files(dir.path())
        .into_iter()
        .filter(|f| !f.ends_with(".manifest"))
        .collect();
    on_disk.sort();
    let mut listed_sorted: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed_sorted.sort();
    assert_eq!(on_disk, listed_sorted, "files not in the manifest: {m}");
    assert!(m.contains(".base.aof seq"), "{m}");
    let h = start(dir.path(), &[]);
    let mut con = connect(&h);
    assert_same(&before, &dump(&mut con), 0);
    h.shutdown();
}
