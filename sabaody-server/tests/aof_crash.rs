//! Crash tests: the server binary with `appendonly yes`, several client threads writing
//! acknowledged SET / INCR / SADD / ZADD, SIGKILL at a random moment, restart on the same
//! directory, and every acknowledged write must be there. 20 rounds with `appendfsync always`;
//! with `everysec`, the acknowledged writes lost must all be from the last ~second before the
//! kill (a SIGKILL keeps what was written to the file, so expect none; a power cut is what
//! everysec may lose up to a second of).
//!
//! `cargo test -p sabaody-server --test aof_crash` (seed printed; `AOF_CRASH_SEED=n` replays it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aof_util;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aof_util::TempDir;
use sabaody_testkit::KillOnDrop;

/// A small xorshift generator: the kill moments come from a printed seed.
struct Rng(u64);
impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("AOF_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("AOF_CRASH_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The server process and its address. The process is killed (SIGKILL) and reaped when this
/// is dropped, also when the test panics, so a failing run leaves no server behind.
struct Srv {
    child: KillOnDrop,
    addr: SocketAddr,
}

/// Starts the binary and waits for its "ready to accept connections" line.
fn spawn(dir: &Path, fsync: &str) -> Srv {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_sabaody-server"))
            .args(["--port", "0", "--bind", "127.0.0.1", "--io-threads", "2"])
            .args(["--appendonly", "yes", "--appendfsync", fsync])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(a) = line.split("connections tcp on ").nth(1) {
                // An unparsable address is reported by the wait below (nothing sent).
                if let Ok(a) = a.trim().parse::<SocketAddr>() {
                    let _ = tx.send(a);
                }
            }
        }
    });
    std::thread::spawn(move || {
        // Start-up errors arrive here; a failed start is reported by the test.
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
        }
        eprint!("{all}");
    });
    let addr = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(a) => a,
        other => {
            let status = child.try_wait();
            panic!("server did not start: {other:?}, {status:?}");
        }
    };
    Srv { child, addr }
}

fn connect(addr: SocketAddr) -> redis::Connection {
    redis::Client::open(format!("redis://{addr}/"))
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap()
}

/// A connection from a thread the test may kill the server under at any moment: on a loaded
/// machine the kill can come before the thread has connected, and then it did nothing.
fn connect_before_kill(addr: SocketAddr) -> Option<redis::Connection> {
    redis::Client::open(format!("redis://{addr}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
        .ok()
}

/// What one client thread had acknowledged.
#[derive(Debug, Default, Clone)]
struct Acked {
    /// SET k:{t}:{n} n, with the time of the reply.
    sets: Vec<(u64, Instant)>,
    /// Value of the last acknowledged INCR of ctr:{t}.
    incr: i64,
    /// INCRs sent since then whose reply never came (the server was killed first): each of
    /// them may or may not have been applied.
    incr_unanswered: i64,
    /// SADD s:{t} n and ZADD z:{t} n m{n}.
    members: Vec<u64>,
}

/// Runs `threads` writers until one of them fails (the server was killed).
fn write_until_killed(
    addr: SocketAddr,
    threads: usize,
    acked: &Arc<Vec<Mutex<Acked>>>,
    next: &mut [u64],
) -> (Arc<AtomicBool>, Vec<std::thread::JoinHandle<u64>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for (t, start) in next.iter().enumerate().take(threads) {
        let acked = acked.clone();
        let stop = stop.clone();
        let mut n = *start;
        handles.push(std::thread::spawn(move || {
            let Some(mut con) = connect_before_kill(addr) else {
                return n;
            };
            while !stop.load(Ordering::Relaxed) {
                let r: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(format!("k:{t}:{n}"))
                    .arg(n)
                    .query(&mut con);
                if r.is_err() {
                    break;
                }
                acked[t].lock().unwrap().sets.push((n, Instant::now()));
                let r: redis::RedisResult<i64> =
                    redis::cmd("INCR").arg(format!("ctr:{t}")).query(&mut con);
                let Ok(v) = r else {
                    acked[t].lock().unwrap().incr_unanswered += 1;
                    break;
                };
                let mut a = acked[t].lock().unwrap();
                a.incr = v;
                a.incr_unanswered = 0;
                drop(a);
                let r: redis::RedisResult<(i64, i64)> = redis::pipe()
                    .cmd("SADD")
                    .arg(format!("s:{t}"))
                    .arg(n)
                    .cmd("ZADD")
                    .arg(format!("z:{t}"))
                    .arg(n)
                    .arg(format!("m{n}"))
                    .query(&mut con);
                if r.is_err() {
                    break;
                }
                acked[t].lock().unwrap().members.push(n);
                n += 1;
            }
            n
        }));
    }
    (stop, handles)
}

/// Checks every acknowledged write against the restarted server; returns the SETs missing.
fn missing_sets(
    addr: SocketAddr,
    acked: &[Mutex<Acked>],
    strict: bool,
) -> Vec<(usize, u64, Instant)> {
    let mut con = connect(addr);
    let mut missing = Vec::new();
    for (t, a) in acked.iter().enumerate() {
        let a = a.lock().unwrap().clone();
        for chunk in a.sets.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|(n, _)| format!("k:{t}:{n}")).collect();
            let vals: Vec<Option<u64>> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
            for ((n, at), v) in chunk.iter().zip(vals) {
                if v != Some(*n) {
                    missing.push((t, *n, *at));
                }
            }
        }
        let ctr: Option<i64> = redis::cmd("GET")
            .arg(format!("ctr:{t}"))
            .query(&mut con)
            .unwrap();
        let ctr = ctr.unwrap_or(0);
        if strict {
            // Every acknowledged INCR is there; beyond it, at most the INCRs whose reply never
            // came (one per round that was killed during an INCR, until one is acknowledged).
            assert!(
                ctr >= a.incr && ctr <= a.incr + a.incr_unanswered,
                "ctr:{t} is {ctr}, acknowledged {}, unanswered {}",
                a.incr,
                a.incr_unanswered
            );
            for chunk in a.members.chunks(500) {
                let found: Vec<i64> = redis::cmd("SMISMEMBER")
                    .arg(format!("s:{t}"))
                    .arg(chunk)
                    .query(&mut con)
                    .unwrap();
                assert!(found.iter().all(|&f| f == 1), "s:{t} lost members");
                let names: Vec<String> = chunk.iter().map(|n| format!("m{n}")).collect();
                let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
                    .arg(format!("z:{t}"))
                    .arg(&names)
                    .query(&mut con)
                    .unwrap();
                for (n, s) in chunk.iter().zip(scores) {
                    assert_eq!(s, Some(*n as f64), "z:{t} m{n}");
                }
            }
        }
    }
    missing
}

/// SIGKILL now (not at drop: the test restarts on the same directory at once).
fn kill(srv: &mut Srv) -> Instant {
    // Child::kill sends SIGKILL on Unix.
    srv.child.kill().unwrap();
    let at = Instant::now();
    srv.child.wait().unwrap();
    at
}

#[test]
fn sigkill_with_fsync_always_loses_no_acknowledged_write() {
    let dir = TempDir::new("aof-crash-always");
    let mut rng = Rng::seeded();
    let threads = 4;
    let acked: Arc<Vec<Mutex<Acked>>> =
        Arc::new((0..threads).map(|_| Mutex::new(Acked::default())).collect());
    let mut next = vec![0u64; threads];
    let started = Instant::now();
    let mut srv = spawn(dir.path(), "always");
    for round in 0..20 {
        let (stop, handles) = write_until_killed(srv.addr, threads, &acked, &mut next);
        std::thread::sleep(Duration::from_millis(50 + rng.below(350)));
        kill(&mut srv);
        stop.store(true, Ordering::Relaxed);
        for (t, h) in handles.into_iter().enumerate() {
            next[t] = h.join().unwrap();
        }
        srv = spawn(dir.path(), "always");
        let missing = missing_sets(srv.addr, &acked, true);
        assert!(missing.is_empty(), "round {round}: lost {missing:?}");
        let total: usize = acked.iter().map(|a| a.lock().unwrap().sets.len()).sum();
        eprintln!("round {round}: {total} acknowledged SETs, all present");
    }
    kill(&mut srv);
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn sigkill_with_fsync_everysec_loses_at_most_about_a_second() {
    let dir = TempDir::new("aof-crash-everysec");
    let mut rng = Rng::seeded();
    let threads = 4;
    let acked: Arc<Vec<Mutex<Acked>>> =
        Arc::new((0..threads).map(|_| Mutex::new(Acked::default())).collect());
    let mut next = vec![0u64; threads];
    let mut srv = spawn(dir.path(), "everysec");
    let mut worst = Duration::ZERO;
    let mut lost = 0;
    for round in 0..5 {
        let (stop, handles) = write_until_killed(srv.addr, threads, &acked, &mut next);
        std::thread::sleep(Duration::from_millis(300 + rng.below(1500)));
        let killed_at = kill(&mut srv);
        stop.store(true, Ordering::Relaxed);
        for (t, h) in handles.into_iter().enumerate() {
            next[t] = h.join().unwrap();
        }
        srv = spawn(dir.path(), "everysec");
        let missing = missing_sets(srv.addr, &acked, false);
        for (t, n, at) in &missing {
            let age = killed_at.saturating_duration_since(*at);
            assert!(
                age <= Duration::from_secs(2),
                "round {round}: k:{t}:{n} acknowledged {age:?} before the kill is lost"
            );
            worst = worst.max(age);
        }
        lost += missing.len();
        // Lost writes are rewritten by nobody: forget them so later rounds check the rest.
        for (t, n, _) in missing {
            acked[t].lock().unwrap().sets.retain(|(m, _)| *m != n);
        }
    }
    eprintln!(
        "everysec: {lost} acknowledged SETs lost over 5 kills, oldest {worst:?} before its kill"
    );
    kill(&mut srv);
}

#[test]
fn sigkill_during_rewrites_loses_no_acknowledged_write() {
    let dir = TempDir::new("aof-crash-rewrite");
    let mut rng = Rng::seeded();
    let threads = 3;
    let acked: Arc<Vec<Mutex<Acked>>> =
        Arc::new((0..threads).map(|_| Mutex::new(Acked::default())).collect());
    let mut next = vec![0u64; threads];
    let mut srv = spawn(dir.path(), "always");
    let mut rewrites_seen = 0u64;
    for round in 0..8 {
        let (stop, handles) = write_until_killed(srv.addr, threads, &acked, &mut next);
        // BGREWRITEAOF over and over while the writers run ("already in progress" is fine).
        let addr = srv.addr;
        let rstop = stop.clone();
        let rewriter = std::thread::spawn(move || {
            let mut started = 0u64;
            let Some(mut con) = connect_before_kill(addr) else {
                return started;
            };
            while !rstop.load(Ordering::Relaxed) {
                let r: redis::RedisResult<String> = redis::cmd("BGREWRITEAOF").query(&mut con);
                match r {
                    Ok(_) => started += 1,
                    Err(e) if e.to_string().contains("already in progress") => {}
                    Err(_) => break,
                }
                std::thread::sleep(Duration::from_millis(15));
            }
            started
        });
        std::thread::sleep(Duration::from_millis(100 + rng.below(400)));
        kill(&mut srv);
        stop.store(true, Ordering::Relaxed);
        for (t, h) in handles.into_iter().enumerate() {
            next[t] = h.join().unwrap();
        }
        rewrites_seen += rewriter.join().unwrap();
        srv = spawn(dir.path(), "always");
        let missing = missing_sets(srv.addr, &acked, true);
        assert!(missing.is_empty(), "round {round}: lost {missing:?}");
    }
    eprintln!("{rewrites_seen} rewrites started across the rounds");
    assert!(rewrites_seen >= 8);
    kill(&mut srv);
}
