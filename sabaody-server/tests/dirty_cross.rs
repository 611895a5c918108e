//! The change counter against redis-server 7.0: after each line of `tests/dirty/commands.txt`,
//! `rdb_changes_since_last_save` (Redis's `server.dirty`, what `save <seconds> <changes>`
//! points count) must have grown by the same amount on both servers, and so must
//! `keyspace_hits` and `keyspace_misses` (every read lookup counted as Redis counts it).
//!
//! ```text
//! SABAODY_DIFF=1 cargo test -p sabaody-server --test dirty_cross
//! ```
//!
//! Without `SABAODY_DIFF=1` it prints a skip line and passes, like the differential suite. The
//! list's format (one command per line, `[sleep=MS]`, `[conn=N]`, `[block]` and `@reply`,
//! `@repeat(N,text)`, `@seq(prefix,N)`, `@dump(key)`) is described in
//! `scripts/dirty-vs-redis.py`, which runs the same list by hand against any two servers.
//! The counter is read over a connection of its own, so a queued command inside MULTI is
//! measured too (as 0).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use sabaody_server::{Config, Server, ServerHandle};
use sabaody_testkit::{Conn, RedisServer, TempDir, Value, encode_command};

const COMMANDS: &str = include_str!("dirty/commands.txt");

fn diff_enabled() -> bool {
    std::env::var("SABAODY_DIFF").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn start_sabaody(dir: &TempDir) -> ServerHandle {
    let mut c = Config::default();
    for (k, v) in [
        ("port", "0"),
        ("loglevel", "warning"),
        ("dir", dir.path().to_str().unwrap()),
        ("appendonly", "no"),
        ("enable-debug-command", "yes"),
    ] {
        c.set(k, &[v]).unwrap();
    }
    Server::start(c).unwrap()
}

/// One line of the list: its flags and words.
struct Line<'a> {
    no: usize,
    flags: HashMap<&'a str, &'a str>,
    words: Vec<&'a str>,
}

fn parse(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let mut line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut flags = HashMap::new();
        if let Some(rest) = line.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').expect("closing bracket");
            for word in inside.split_whitespace() {
                let (k, v) = word.split_once('=').unwrap_or((word, ""));
                flags.insert(k, v);
            }
            line = after.trim();
        }
        out.push(Line {
            no: i + 1,
            flags,
            words: line.split_whitespace().collect(),
        });
    }
    out
}

fn inside<'a>(word: &'a str, name: &str) -> Option<&'a str> {
    word.strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

/// One server: its connections (0..3, opened on first use) and the counter's connection.
struct Side {
    addr: std::net::SocketAddr,
    conns: HashMap<usize, Conn>,
    probe: Conn,
}

impl Side {
    fn new(addr: std::net::SocketAddr) -> Side {
        Side {
            addr,
            conns: HashMap::new(),
            probe: Conn::connect(addr).unwrap(),
        }
    }

    fn field(&mut self, section: &str, name: &str) -> i64 {
        let Value::Bulk(text) = self.probe.call(&["INFO", section]).unwrap() else {
            panic!("INFO {section} is not a bulk string");
        };
        String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}"))
    }

    /// rdb_changes_since_last_save, keyspace_hits, keyspace_misses.
    fn counters(&mut self) -> [i64; 3] {
        [
            self.field("persistence", "rdb_changes_since_last_save"),
            self.field("stats", "keyspace_hits"),
            self.field("stats", "keyspace_misses"),
        ]
    }

    fn argv(&mut self, words: &[&str]) -> Vec<Vec<u8>> {
        let mut argv = Vec::new();
        for &w in words {
            if w == "\"\"" {
                argv.push(Vec::new());
            } else if let Some(a) = inside(w, "@repeat") {
                let (n, text) = a.split_once(',').unwrap();
                argv.push(text.repeat(n.parse().unwrap()).into_bytes());
            } else if let Some(a) = inside(w, "@seq") {
                let (prefix, n) = a.split_once(',').unwrap();
                let n: usize = n.parse().unwrap();
                argv.extend((0..n).map(|i| format!("{prefix}{i}").into_bytes()));
            } else if let Some(key) = inside(w, "@dump") {
                match self.probe.call(&["DUMP", key]).unwrap() {
                    Value::Bulk(p) => argv.push(p),
                    other => panic!("DUMP {key}: {other:?}"),
                }
            } else {
                argv.push(w.as_bytes().to_vec());
            }
        }
        argv
    }

    /// Runs one line; its reply (`None` for a blocking command sent without reading).
    fn run(&mut self, line: &Line<'_>) -> Option<Value> {
        let n: usize = line.flags.get("conn").map_or(0, |v| v.parse().unwrap());
        let argv = self.argv(&line.words);
        let addr = self.addr;
        let c = self
            .conns
            .entry(n)
            .or_insert_with(|| Conn::connect(addr).unwrap());
        if line.words == ["@reply"] {
            return Some(c.read_reply().unwrap().value().unwrap());
        }
        if line.flags.contains_key("block") {
            c.send(&encode_command(&argv)).unwrap();
            return None;
        }
        Some(c.call(&argv).unwrap())
    }
}

#[test]
fn change_counter_matches_redis_per_command() {
    if !diff_enabled() {
        println!(
            "skipping the redis-server change-counter comparison: set SABAODY_DIFF=1 to run it"
        );
        return;
    }
    let redis = RedisServer::start(&["--appendonly", "no", "--enable-debug-command", "yes"])
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("dirty-cross");
    let h = start_sabaody(&dir);
    let mut sides = [Side::new(redis.addr()), Side::new(h.local_addr())];
    let lines = parse(COMMANDS);
    assert!(lines.len() > 80, "the list is there");
    let mut mismatches = Vec::new();
    for line in &lines {
        if let Some(ms) = line.flags.get("sleep") {
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
        }
        let mut deltas = [[0i64; 3]; 2];
        for (side, delta) in sides.iter_mut().zip(&mut deltas) {
            let before = side.counters();
            side.run(line);
            let after = side.counters();
            for i in 0..3 {
                delta[i] = after[i] - before[i];
            }
        }
        if deltas[0] != deltas[1] {
            mismatches.push(format!(
                "line {}: {}: (changes, hits, misses) redis +{:?}, sabaody +{:?}",
                line.no,
                line.words.join(" "),
                deltas[0],
                deltas[1]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} lines differ:\n{}",
        mismatches.len(),
        lines.len(),
        mismatches.join("\n")
    );
}
