//! Damaged and foreign AOF files: a truncated tail loads (and is cut off) with
//! `aof-load-truncated yes` and refuses to start without it; corruption in the middle refuses
//! to start with the file and offset named; `--check-aof` reports and `--fix`es; an AOF
//! directory written by redis-server 7.0 loads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aof_util;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use aof_util::{TempDir, aof_config, connect, dump, start};
use sabaody_server::Server;
use sabaody_testkit::{READY_TIMEOUT, RedisServer};

fn incr_file(dir: &Path) -> PathBuf {
    dir.join("appendonlydir").join("appendonly.aof.1.incr.aof")
}

/// A log with a few keys, the server stopped.
fn seeded(tag: &str) -> (TempDir, u64) {
    let dir = TempDir::new(tag);
    let h = start(dir.path(), &[]);
    let mut c = connect(&h);
    for i in 0..10 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("RPUSH").arg("l").arg("a").query(&mut c).unwrap();
    h.shutdown();
    let len = std::fs::metadata(incr_file(dir.path())).unwrap().len();
    (dir, len)
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

fn get(h: &sabaody_server::ServerHandle, key: &str) -> Option<String> {
    let mut c = connect(h);
    redis::cmd("GET").arg(key).query(&mut c).unwrap()
}

#[test]
fn truncated_tail_is_dropped_and_cut_off() {
    let (dir, len) = seeded("aof-trunc");
    append(
        &incr_file(dir.path()),
        b"*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$5\r\nval",
    );
    let h = start(dir.path(), &[]);
    assert_eq!(get(&h, "k9").as_deref(), Some("9"));
    assert_eq!(get(&h, "z"), None);
    h.shutdown();
    // The damaged tail was cut off at load, so new writes followed the last whole command.
    let bytes = std::fs::read(incr_file(dir.path())).unwrap();
    assert!(bytes.len() as u64 >= len);
    assert!(!bytes.windows(3).any(|w| w == b"val"));
}

#[test]
fn truncated_tail_refuses_to_start_without_aof_load_truncated() {
    let (dir, len) = seeded("aof-trunc-no");
    append(&incr_file(dir.path()), b"*2\r\n$3\r\nDEL\r\n$2\r\nk");
    let err = Server::start(aof_config(dir.path(), &[("aof-load-truncated", "no")])).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("appendonly.aof.1.incr.aof"), "{msg}");
    assert!(msg.contains(&format!("offset {len}")), "{msg}");
    // Nothing was cut off.
    assert_eq!(
        std::fs::metadata(incr_file(dir.path())).unwrap().len(),
        len + 18
    );
}

#[test]
fn transaction_without_exec_at_the_end_is_dropped() {
    let (dir, len) = seeded("aof-trunc-multi");
    append(
        &incr_file(dir.path()),
        b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\ntx\r\n$1\r\n1\r\n",
    );
    let h = start(dir.path(), &[]);
    assert_eq!(get(&h, "tx"), None);
    assert_eq!(get(&h, "k0").as_deref(), Some("0"));
    h.shutdown();
    let bytes = std::fs::read(incr_file(dir.path())).unwrap();
    assert!(!bytes.windows(5).any(|w| w == b"MULTI"));
    assert!(bytes.len() as u64 >= len);
}

#[test]
fn corruption_in_the_middle_refuses_to_start_naming_file_and_offset() {
    let (dir, len) = seeded("aof-corrupt");
    append(
        &incr_file(dir.path()),
        b"*2\r\n$3\r\nDEL\r\n$2\r\nk1XX*1\r\n$4\r\nPING\r\n",
    );
    let err = Server::start(aof_config(dir.path(), &[])).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("appendonly.aof.1.incr.aof"), "{msg}");
    assert!(msg.contains(&format!("offset {}", len + 19)), "{msg}");
    // The binary exits 1 with the same message.
    let out = Command::new(env!("CARGO_BIN_EXE_sabaody-server"))
        .args(["--port", "0", "--appendonly", "yes", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("offset {}", len + 19)), "{text}");
    // Garbage that is not even a command start.
    let (dir2, len2) = seeded("aof-corrupt2");
    append(&incr_file(dir2.path()), b"hello\r\n");
    let msg = Server::start(aof_config(dir2.path(), &[]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&format!("offset {len2}")), "{msg}");
}

#[test]
fn unknown_command_refuses_to_start() {
    let (dir, len) = seeded("aof-unknown");
    append(&incr_file(dir.path()), b"*1\r\n$7\r\nNOSUCHX\r\n");
    let msg = Server::start(aof_config(dir.path(), &[]))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("NOSUCHX") && msg.contains(&format!("offset {len}")),
        "{msg}"
    );
}

fn check(args: &[&str], file: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sabaody-server"))
        .arg("--check-aof")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_aof_reports_and_fixes() {
    let (dir, len) = seeded("aof-check");
    let f = incr_file(dir.path());
    let (code, out) = check(&[], &f);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("AOF is valid"), "{out}");
    append(&f, b"*2\r\n$3\r\nDEL\r\n$2\r\nk");
    let (code, out) = check(&[], &f);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("last valid offset {len}")), "{out}");
    let (code, out) = check(&["--fix"], &f);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("truncated to {len} bytes")), "{out}");
    assert_eq!(std::fs::metadata(&f).unwrap().len(), len);
    // Through the manifest: corruption in the middle of the last file.
    append(&f, b"*1\r\n$4\r\nPING\r\n!!*1\r\n$4\r\nPING\r\n");
    let manifest = dir
        .path()
        .join("appendonlydir")
        .join("appendonly.aof.manifest");
    let (code, out) = check(&[], &manifest);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("corrupted at offset {}", len + 14)),
        "{out}"
    );
    let (code, out) = check(&["--fix"], &manifest);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("truncated to {} bytes", len + 14)),
        "{out}"
    );
    let h = start(dir.path(), &[]);
    assert_eq!(get(&h, "k3").as_deref(), Some("3"));
    h.shutdown();
}

/// An AOF directory written by redis-server 7.0 (skipped when it is not installed).
#[test]
fn loads_a_redis_7_aof_directory() {
    if sabaody_testkit::redis_server_version().is_none() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let dir = TempDir::new("aof-redis7");
    let mut redis = RedisServer::start_in(
        dir.path(),
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--aof-use-rdb-preamble",
            "no",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut c = redis::Client::open(format!("redis://{}/", redis.addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    let cmds: &[&[&str]] = &[
        &["SET", "s", "v", "EX", "1000"],
        &["INCRBYFLOAT", "f", "2.5"],
        &["SADD", "set", "a", "b", "c"],
        &["SPOP", "set"],
        &["ZADD", "z", "1", "x", "2", "y"],
        &["HSET", "h", "f", "1"],
        &["RPUSH", "l", "1", "2", "3"],
        &["LPOP", "l"],
        &["SELECT", "2"],
        &["SET", "db2", "x"],
        &["MULTI"],
        &["INCR", "n"],
        &["INCR", "n"],
        &["EXEC"],
    ];
    for cmd in cmds {
        let mut r = redis::cmd(cmd[0]);
        for a in &cmd[1..] {
            r.arg(*a);
        }
        let _: redis::Value = r.query(&mut c).unwrap();
    }
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
    let before = dump(&mut c);
    assert_eq!(before.len(), 8, "{before:?}");
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut c);
    redis.wait_exit(READY_TIMEOUT);
    let h = start(dir.path(), &[]);
    let mut c = connect(&h);
    let after = dump(&mut c);
    aof_util::assert_same(&before, &after, 0);
    h.shutdown();
}
