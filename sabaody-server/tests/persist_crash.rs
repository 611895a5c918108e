//! SIGKILL during a BGSAVE: the server binary is killed while the background thread writes the
//! dump, then restarted on the same directory. Without the AOF, the previous dump (or the new
//! one, if the save finished first) loads whole; no half-written file is ever taken for the
//! dump. With the AOF on, nothing the AOF covered is lost.
//!
//! `cargo test -p sabaody-server --test persist_crash`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aof_util;

use aof_util::TempDir;
use redis::Commands;
use sabaody_testkit::KillOnDrop;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The server process (killed on drop) and its address.
struct Srv {
    _child: KillOnDrop,
    addr: SocketAddr,
}

/// Starts the binary and waits until it accepts connections.
fn spawn(dir: &Path, extra: &[&str]) -> Srv {
    // Killed on drop from here on, also when the start-up wait below fails.
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sabaody-server"))
            .args(["--port", "0", "--bind", "127.0.0.1", "--save", ""])
            .args(extra)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(a) = line.split("connections tcp on ").nth(1) {
                let _ = tx.send(a.trim().parse::<SocketAddr>().unwrap());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server did not start");
    Srv {
        _child: child,
        addr,
    }
}

fn client(s: &Srv) -> redis::Connection {
    redis::Client::open(format!("redis://{}/", s.addr))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// `n` keys `k{i}` = `{tag}{i}` (plus a 100-byte tail so the dump takes a while to write).
fn fill(con: &mut redis::Connection, n: usize, tag: &str) {
    let tail = "x".repeat(100);
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let pairs: Vec<(String, String)> = chunk
            .iter()
            .map(|i| (format!("k{i}"), format!("{tag}{i}{tail}")))
            .collect();
        let _: () = con.mset(&pairs).unwrap();
    }
}

/// Which fill every key shows: all `tag`s must agree (a dump is one instant).
fn single_tag(con: &mut redis::Connection, n: usize) -> String {
    let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
    let mut tags = std::collections::BTreeSet::new();
    for chunk in keys.chunks(5_000) {
        let vals: Vec<Option<String>> = con.mget(chunk).unwrap();
        for v in vals {
            let v = v.expect("a key is missing after the restart");
            tags.insert(
                v.chars()
                    .take_while(char::is_ascii_alphabetic)
                    .collect::<String>(),
            );
        }
    }
    assert_eq!(tags.len(), 1, "keys from different saves: {tags:?}");
    tags.into_iter().next().unwrap()
}

#[test]
fn kill_during_bgsave_keeps_a_whole_dump() {
    const N: usize = 80_000;
    let dir = TempDir::new("kill-bgsave");
    let mut interrupted = 0;
    for round in 0..3u64 {
        let s = spawn(dir.path(), &[]);
        let mut con = client(&s);
        let old = if round == 0 {
            fill(&mut con, N, "first");
            let _: String = redis::cmd("SAVE").query(&mut con).unwrap();
            "first".to_string()
        } else {
            single_tag(&mut con, N)
        };
        let new = format!("r{}", "abcdefgh".chars().nth(round as usize).unwrap());
        fill(&mut con, N, &new);
        let r: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
        assert_eq!(r, "Background saving started");
        // Somewhere inside the save (it takes tens of milliseconds or more here).
        std::thread::sleep(Duration::from_millis(1 + round * 3));
        drop(s);
        let s = spawn(dir.path(), &[]);
        let mut con = client(&s);
        let tag = single_tag(&mut con, N);
        assert!(
            tag == old || tag == new,
            "round {round}: {tag} is neither {old} nor {new}"
        );
        if tag == old {
            interrupted += 1;
        }
        // The dump is there (a killed save may leave its temporary file, which is never read).
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n == "dump.rdb"), "{names:?}");
    }
    // The kills must have landed inside saves for this test to show anything.
    assert!(interrupted > 0, "every save finished before its kill");
}

#[test]
fn kill_during_bgsave_with_the_aof_loses_nothing() {
    const N: usize = 50_000;
    let dir = TempDir::new("kill-bgsave-aof");
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let s = spawn(dir.path(), &aof);
    let mut con = client(&s);
    fill(&mut con, N, "base");
    let r: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(r, "Background saving started");
    // Acknowledged writes while the save runs.
    let started = Instant::now();
    let mut acked = 0u64;
    while started.elapsed() < Duration::from_millis(30) {
        let _: i64 = con.incr("counter", 1).unwrap();
        acked += 1;
    }
    drop(s);
    let s = spawn(dir.path(), &aof);
    let mut con = client(&s);
    assert_eq!(single_tag(&mut con, N), "base");
    let counter: u64 = con.get("counter").unwrap();
    assert_eq!(counter, acked, "acknowledged INCRs lost");
}
