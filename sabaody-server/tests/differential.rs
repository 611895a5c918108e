//! Differential tests: the same command scripts are sent to a real `redis-server` (7.0, the
//! reference) and to Sabaody, and the replies are compared byte for byte, in RESP2 and in RESP3.
//!
//! ```text
//! SABAODY_DIFF=1 cargo test -p sabaody-server --test differential
//! ```
//!
//! Without `SABAODY_DIFF=1` every family test prints a skip line and passes, so the plain
//! `cargo test --workspace` works on a machine without `redis-server`. With it, a missing
//! `redis-server` is a failure. Other switches:
//!
//! - `SABAODY_REDIS_SERVER=/path/to/redis-server`: the reference binary (default: from `PATH`).
//! - `SABAODY_DIFF_ADDR=127.0.0.1:6380`: compare against an already running server (e.g. the
//!   release binary) instead of one started in-process; the families then run one at a time,
//!   because every script starts with `FLUSHALL`.
//! - `SABAODY_DIFF_SELF=1`: compare redis-server against a second redis-server. This checks the
//!   harness and the scripts themselves (nothing time- or randomness-dependent slipped in).
//! - `SABAODY_DIFF_SHOW=1`: print every command with the reference reply.
//! - `SABAODY_DIFF_SKIP=float_precision,...`: families to skip (printed), e.g. known and accepted
//!   differences.
//!
//! # Scripts
//!
//! One file per command family under `tests/diff/`, one command per line, `#` starts a comment
//! line. Arguments are separated by spaces; `"..."` takes the escapes `\\ \" \n \r \t \0 \xHH`,
//! `'...'` is taken literally. Generated arguments: `@bytes(N)` is N bytes cycling through all
//! 256 byte values (so it contains `\0`, `\r` and `\n`), `@repeat(N,text)` is `text` N times,
//! `@pairs(prefix,N)` expands to the 2N arguments `prefix0 v0 prefix1 v1 ...`.
//!
//! A line may start with flags in brackets, e.g. `[unordered] KEYS *`:
//!
//! - `unordered`: the reply is a set; every aggregate is compared as a multiset.
//! - `scanall`: the line is a `SCAN 0 ...`; the harness follows the cursor until it returns to 0
//!   on each server and compares the set of keys seen (cursors themselves legitimately differ).
//! - `approx=N`: integer replies may differ by up to N (e.g. `PTTL` right after `PEXPIRE`).
//! - `shape`: only the reply's structure is compared (types, lengths, map keys), not the values
//!   (e.g. `TIME`, `HELLO`, `CLIENT ID`).
//! - `requires`: if Sabaody answers this line with "unknown command", the rest of the script is
//!   skipped (printed, not failed): used for other data types that later issues add.
//! - `raw`: the line's single argument is sent verbatim (inline commands, malformed input); it
//!   must draw exactly one reply.
//! - `closes`: after the reply, both servers must have closed the connection (protocol errors);
//!   the script then goes on over fresh connections.
//! - `replies=N` (with `raw`): the bytes are a pipeline drawing N replies, compared together.
//! - `sleep=MS`: wait MS milliseconds before sending the line (lazy expiry of short TTLs; give
//!   generous margins, a loaded machine stretches time).
//! - `in=a|b|c`: for replies chosen at random (SRANDMEMBER, SPOP, HRANDFIELD, ZRANDMEMBER):
//!   the two replies must have the same shape and every scalar leaf of each must be one of the
//!   listed words. With `distinct`, the leaves of each reply must also be pairwise distinct.
//! - `fields=a|b|c`: the reply is INFO text; only the lines `a:...`, `b:...`, `c:...` are
//!   compared (a field missing on both sides compares equal, and shows as `a:<missing>`).
//! - `conn=N` (N < 4): the line goes over connection N of the pair (default 0); connections
//!   other than 0 are opened on first use (with `HELLO 3` in the RESP3 round).
//! - `block`: the command is sent but its reply is not read yet (a blocking command). The
//!   pseudo-command `@reply` (e.g. `[conn=1] @reply`) later reads the pending reply on each side
//!   and compares it under the line's flags. Give the blocked command time to arrive before the
//!   command that wakes it (`[sleep=100] RPUSH ...`): they travel on different connections.
//!
//! Each family gets a fresh pair of servers, each in a temporary directory of its own (its
//! `dir`, removed at the end), with the same persistence settings: no save points, `appendonly
//! no`, `enable-debug-command yes`; so SAVE, BGSAVE, BGREWRITEAOF and DEBUG RELOAD write there.
//!
//! Every script must start with `FLUSHALL`. Each script runs twice on fresh connections: once in
//! RESP2 and once after `HELLO 3`.
//!
//! The data-type families keep their scripts in a directory each (`tests/diff/sets/*.redis`,
//! `zsets/`, `hashes/`, `lists/`); every file there runs as its own family, named
//! `<dir>/<file stem>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use sabaody_testkit::{RedisServer, Reply, TempDir, encode_command, read_reply};

// ---------------------------------------------------------------------------------------------
// The families. One test per command family so a failure names what broke.

#[test]
fn diff_strings() {
    run_family("strings", include_str!("diff/strings.redis"));
}

#[test]
fn diff_legacy_misc() {
    run_family("legacy_misc", include_str!("diff/legacy_misc.redis"));
}

#[test]
fn diff_info() {
    run_family("info", include_str!("diff/info.redis"));
}

#[test]
fn diff_config() {
    run_family("config", include_str!("diff/config.redis"));
}

#[test]
fn diff_numeric() {
    run_family("numeric", include_str!("diff/numeric.redis"));
}

#[test]
fn diff_float_precision() {
    run_family(
        "float_precision",
        include_str!("diff/float_precision.redis"),
    );
}

#[test]
fn diff_keys() {
    run_family("keys", include_str!("diff/keys.redis"));
}

#[test]
fn diff_glob_and_scan() {
    run_family("glob_and_scan", include_str!("diff/glob_and_scan.redis"));
}

#[test]
fn diff_expire() {
    run_family("expire", include_str!("diff/expire.redis"));
}

#[test]
fn diff_expiry_lazy() {
    run_family("expiry_lazy", include_str!("diff/expiry_lazy.redis"));
}

#[test]
fn diff_rename_copy() {
    run_family("rename_copy", include_str!("diff/rename_copy.redis"));
}

#[test]
fn diff_select() {
    run_family("select", include_str!("diff/select.redis"));
}

#[test]
fn diff_multi() {
    run_family("multi", include_str!("diff/multi.redis"));
}

#[test]
fn diff_multi_oom() {
    run_family("multi_oom", include_str!("diff/multi_oom.redis"));
}

#[test]
fn diff_errors() {
    run_family("errors", include_str!("diff/errors.redis"));
}

#[test]
fn diff_connection() {
    run_family("connection", include_str!("diff/connection.redis"));
}

#[test]
fn diff_protocol() {
    run_family("protocol", include_str!("diff/protocol.redis"));
}

#[test]
fn diff_auth() {
    run_family("auth", include_str!("diff/auth.redis"));
}

#[test]
fn diff_binary() {
    run_family("binary", include_str!("diff/binary.redis"));
}

#[test]
fn diff_wrongtype() {
    run_family("wrongtype", include_str!("diff/wrongtype.redis"));
}

#[test]
fn diff_sets() {
    run_dir("sets");
}

#[test]
fn diff_zsets() {
    run_dir("zsets");
}

#[test]
fn diff_hashes() {
    run_dir("hashes");
}

#[test]
fn diff_lists() {
    run_dir("lists");
}

#[test]
fn diff_bits() {
    run_dir("bits");
}

#[test]
fn diff_persistence() {
    run_dir("persistence");
}

#[test]
fn diff_hll() {
    run_dir("hll");
}

#[test]
fn diff_geo() {
    run_dir("geo");
}

#[test]
fn diff_sort() {
    run_dir("sort");
}

#[test]
fn diff_dump() {
    run_dir("dump");
}

#[test]
fn diff_clients() {
    run_dir("clients");
}

#[test]
fn diff_pubsub() {
    run_dir("pubsub");
}

#[test]
fn diff_acl() {
    run_dir("acl");
}

/// The scripts of a directory family, sorted by name: `(family name, text)`.
fn dir_scripts(dir: &str) -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/diff")
        .join(dir);
    let entries =
        std::fs::read_dir(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "redis"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .redis scripts in {}", path.display());
    files
        .into_iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            (format!("{dir}/{stem}"), text)
        })
        .collect()
}

/// Runs every script of a directory family; all are run before failing, and the failure
/// names each failed script.
fn run_dir(dir: &str) {
    if !env_flag("SABAODY_DIFF") {
        println!("skipping differential family '{dir}': set SABAODY_DIFF=1 to run it");
        return;
    }
    let mut failed = Vec::new();
    for (family, text) in dir_scripts(dir) {
        let r = std::panic::catch_unwind(|| run_family(&family, &text));
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            failed.push(format!("{family}: {msg}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Driver

/// Families share one external server when `SABAODY_DIFF_ADDR` is set: run them one at a time.
static EXTERNAL_LOCK: Mutex<()> = Mutex::new(());

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn run_family(family: &str, script: &str) {
    if !env_flag("SABAODY_DIFF") {
        println!("skipping differential family '{family}': set SABAODY_DIFF=1 to run it");
        return;
    }
    if std::env::var("SABAODY_DIFF_SKIP").is_ok_and(|v| v.split(',').any(|f| f.trim() == family)) {
        println!("skipping differential family '{family}': listed in SABAODY_DIFF_SKIP");
        return;
    }
    let lines = parse_script(script).unwrap_or_else(|e| panic!("script '{family}': {e}"));
    assert!(
        lines.first().is_some_and(|l| l
            .args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"FLUSHALL"))),
        "script '{family}' must start with FLUSHALL"
    );

    let external = std::env::var("SABAODY_DIFF_ADDR").ok();
    let _serial = external
        .as_ref()
        .map(|_| EXTERNAL_LOCK.lock().unwrap_or_else(|e| e.into_inner()));
    let reference = start_redis();
    let subject = Subject::start(external.as_deref());

    let show = env_flag("SABAODY_DIFF_SHOW");
    let mut mismatches = Vec::new();
    let mut compared = 0usize;
    for proto in [2u8, 3] {
        let mut a = Conn::connect(reference.addr());
        let mut b = Conn::connect(subject.addr());
        // Connections 1.. of each side (`conn=N`), opened on first use.
        let mut extra: Vec<Option<(Conn, Conn)>> = (1..MAX_CONNS).map(|_| None).collect();
        let hello = Line {
            lineno: 0,
            flags: Flags {
                shape: true,
                ..Flags::default()
            },
            args: vec![b"HELLO".to_vec(), b"3".to_vec()],
        };
        if proto == 3 {
            let (ra, rb) = (a.run(&hello.args), b.run(&hello.args));
            compared += 1;
            if let Some(m) = compare(&hello, &ra, &rb, proto) {
                mismatches.push(m);
            }
        }
        for line in &lines {
            if show {
                println!("[{family} RESP{proto}] {}", escape_args(&line.args));
            }
            if line.flags.scanall {
                let (ra, rb) = (a.scan_all(&line.args), b.scan_all(&line.args));
                if show {
                    println!("    -> {}", escape(&ra));
                }
                compared += 1;
                if ra != rb {
                    mismatches.push(format_mismatch(line, proto, &ra, &rb));
                }
                continue;
            }
            if let Some(ms) = line.flags.sleep_ms {
                std::thread::sleep(Duration::from_millis(ms));
            }
            if line.flags.conn > 0 {
                let slot = &mut extra[line.flags.conn - 1];
                if slot.is_none() {
                    let mut pa = Conn::connect(reference.addr());
                    let mut pb = Conn::connect(subject.addr());
                    if proto == 3 && (pa.run(&hello.args).is_err() || pb.run(&hello.args).is_err())
                    {
                        mismatches.push(format!(
                            "family '{family}' RESP{proto}: HELLO 3 on connection {} failed",
                            line.flags.conn
                        ));
                        break;
                    }
                    *slot = Some((pa, pb));
                }
                let Some((pa, pb)) = slot.as_mut() else {
                    break;
                };
                if line.flags.block {
                    if let Err(e) = pa.send_only(&line.args).and(pb.send_only(&line.args)) {
                        mismatches.push(format!("family '{family}' RESP{proto}: {e}"));
                        break;
                    }
                    continue;
                }
                let (ra, rb) = if line.is_reply() {
                    (pa.read_one(), pb.read_one())
                } else {
                    (pa.send_line(line), pb.send_line(line))
                };
                if show {
                    println!(
                        "    -> {}",
                        ra.as_ref().map_or_else(|e| e.clone(), |r| escape(&r.raw))
                    );
                }
                compared += 1;
                if let Some(m) = compare(line, &ra, &rb, proto) {
                    mismatches.push(m);
                }
                if ra.is_err() || rb.is_err() {
                    mismatches.push(format!(
                        "family '{family}' RESP{proto}: connection {} lost, rest of script skipped",
                        line.flags.conn
                    ));
                    break;
                }
                continue;
            }
            if line.flags.block {
                if let Err(e) = a.send_only(&line.args).and(b.send_only(&line.args)) {
                    mismatches.push(format!("family '{family}' RESP{proto}: {e}"));
                    break;
                }
                continue;
            }
            let ra = if line.is_reply() {
                a.read_one()
            } else {
                a.send_line(line)
            };
            if show {
                println!(
                    "    -> {}",
                    ra.as_ref().map_or_else(|e| e.clone(), |r| escape(&r.raw))
                );
            }
            let rb = if line.is_reply() {
                b.read_one()
            } else {
                b.send_line(line)
            };
            if line.flags.requires
                && rb
                    .as_ref()
                    .is_ok_and(|r| r.raw.starts_with(b"-ERR unknown command"))
            {
                println!(
                    "family '{family}' RESP{proto}: Sabaody lacks `{}`; rest of script skipped",
                    escape_args(&line.args)
                );
                break;
            }
            compared += 1;
            if let Some(m) = compare(line, &ra, &rb, proto) {
                mismatches.push(m);
            }
            if line.flags.closes {
                let (ca, cb) = (a.is_closed(), b.is_closed());
                compared += 1;
                if ca != cb {
                    let state = |c: bool| {
                        if c {
                            "closed the connection"
                        } else {
                            "kept the connection open"
                        }
                    };
                    mismatches.push(format_mismatch_text(line, proto, state(ca), state(cb)));
                }
                a = Conn::connect(reference.addr());
                b = Conn::connect(subject.addr());
                if proto == 3 {
                    let (ra, rb) = (a.run(&hello.args), b.run(&hello.args));
                    if ra.is_err() || rb.is_err() {
                        mismatches.push(format!(
                            "family '{family}' RESP{proto}: HELLO 3 on a fresh connection failed"
                        ));
                        break;
                    }
                }
                continue;
            }
            // A missing reply desynchronises the connection: nothing after it means anything.
            if ra.is_err() || rb.is_err() {
                mismatches.push(format!(
                    "family '{family}' RESP{proto}: connection lost, rest of script skipped"
                ));
                break;
            }
        }
    }
    if !mismatches.is_empty() {
        panic!(
            "differential family '{family}': {} mismatch(es) in {compared} compared replies (left = redis-server, right = {}):\n\n{}",
            mismatches.len(),
            subject.name(),
            mismatches.join("\n")
        );
    }
    println!(
        "differential family '{family}': {compared} replies identical ({} vs redis-server)",
        subject.name()
    );
}

fn compare(
    line: &Line,
    ra: &Result<Reply, String>,
    rb: &Result<Reply, String>,
    proto: u8,
) -> Option<String> {
    let (a, b) = match (ra, rb) {
        (Ok(a), Ok(b)) => (a, b),
        _ => {
            let show = |r: &Result<Reply, String>| {
                r.as_ref()
                    .map_or_else(|e| format!("<{e}>"), |r| escape(&r.raw))
            };
            return Some(format_mismatch_text(line, proto, &show(ra), &show(rb)));
        }
    };
    if let Some(words) = &line.flags.in_set {
        let problem = [("left", a), ("right", b)]
            .into_iter()
            .find_map(|(side, r)| {
                let mut leaves = Vec::new();
                leaves_of(r, &mut leaves);
                if let Some(bad) = leaves.iter().find(|l| !words.contains(l)) {
                    return Some(format!("{side} has {} outside the in= list", escape(bad)));
                }
                let mut sorted = leaves.clone();
                sorted.sort();
                sorted.dedup();
                (line.flags.distinct && sorted.len() != leaves.len())
                    .then(|| format!("{side} repeats an element"))
            });
        let problem = problem.or_else(|| {
            (shape(a) != shape(b)).then(|| format!("shapes differ: {} vs {}", shape(a), shape(b)))
        });
        return problem.map(|p| {
            format_mismatch_text(
                line,
                proto,
                &format!("{} ({p})", escape(&a.raw)),
                &escape(&b.raw),
            )
        });
    }
    if let Some(names) = &line.flags.fields {
        let (fa, fb) = (info_fields(a, names), info_fields(b, names));
        return (a.kind != b.kind || fa != fb).then(|| format_mismatch_text(line, proto, &fa, &fb));
    }
    let same = if line.flags.shape {
        shape(a) == shape(b)
    } else if line.flags.unordered {
        normalize_unordered(a) == normalize_unordered(b)
    } else if let (Some(tol), b':', b':') = (line.flags.approx, a.kind, b.kind) {
        match (parse_i64(&a.data), parse_i64(&b.data)) {
            (Some(x), Some(y)) => x.abs_diff(y) <= tol,
            _ => a.raw == b.raw,
        }
    } else {
        a.raw == b.raw
    };
    if same {
        return None;
    }
    if line.flags.shape {
        return Some(format_mismatch_text(line, proto, &shape(a), &shape(b)));
    }
    Some(format_mismatch(line, proto, &a.raw, &b.raw))
}

/// The `name:value` lines of an INFO reply for the `fields=` names, in that order, joined by
/// spaces; a missing field shows as `name:<missing>`.
fn info_fields(r: &Reply, names: &[String]) -> String {
    let text = String::from_utf8_lossy(&r.data);
    let found: Vec<String> = names
        .iter()
        .map(|n| {
            text.split("\r\n")
                .map(|l| l.strip_prefix("txt:").unwrap_or(l))
                .find(|l| l.split_once(':').is_some_and(|(k, _)| k == n))
                .map_or_else(|| format!("{n}:<missing>"), str::to_string)
        })
        .collect();
    found.join(" ")
}

fn format_mismatch(line: &Line, proto: u8, a: &[u8], b: &[u8]) -> String {
    format_mismatch_text(line, proto, &escape(a), &escape(b))
}

fn format_mismatch_text(line: &Line, proto: u8, a: &str, b: &str) -> String {
    let flags = line.flags.describe();
    format!(
        "  line {} RESP{proto}: {flags}{}\n    redis:   {a}\n    sabaody: {b}\n",
        line.lineno,
        escape_args(&line.args)
    )
}

// ---------------------------------------------------------------------------------------------
// Servers

/// The reference: a `redis-server` on a free loopback port, killed (and its temp dir removed)
/// on drop. A reference redis-server in a temporary directory of its own (testkit: `--dir`, `--save ""`),
/// removed when it is dropped; `Subject::start` gives Sabaody the same persistence settings.
fn start_redis() -> RedisServer {
    // DEBUG SLEEP 0 and DEBUG RELOAD are in the scripts; redis 7.0 refuses DEBUG unless enabled.
    RedisServer::start(&[
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
        "--enable-debug-command",
        "yes",
    ])
    .unwrap_or_else(|e| panic!("SABAODY_DIFF=1 but {e}"))
}

/// The server under test.
enum Subject {
    InProcess {
        handle: Option<sabaody_server::ServerHandle>,
        addr: SocketAddr,
        /// Its `dir` (dump, AOF directory): removed on drop, after the server has stopped
        /// (the fields drop after [`Subject::drop`]'s body).
        _dir: TempDir,
    },
    Redis(RedisServer),
    External(SocketAddr),
}

impl Subject {
    fn start(external: Option<&str>) -> Subject {
        if let Some(addr) = external {
            let addr = addr
                .parse()
                .unwrap_or_else(|e| panic!("SABAODY_DIFF_ADDR={addr}: {e}"));
            return Subject::External(addr);
        }
        if env_flag("SABAODY_DIFF_SELF") {
            return Subject::Redis(start_redis());
        }
        let dir = TempDir::new("diff");
        let dir_arg = dir.path().to_string_lossy().into_owned();
        let mut config = sabaody_server::Config::default();
        // The persistence settings of `start_redis` (and testkit's `--save ""`), so SAVE,
        // BGSAVE, BGREWRITEAOF and DEBUG RELOAD write into the temporary directory.
        for (name, value) in [
            ("port", "0"),
            ("dir", dir_arg.as_str()),
            ("save", ""),
            ("appendonly", "no"),
            ("enable-debug-command", "yes"),
        ] {
            assert!(
                config.set(name, &[value]).is_ok(),
                "Config::set({name:?}, [{value:?}]) failed"
            );
        }
        let handle = sabaody_server::Server::start(config).expect("start Sabaody in-process");
        let addr = handle.local_addr();
        Subject::InProcess {
            handle: Some(handle),
            addr,
            _dir: dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        match self {
            Subject::InProcess { addr, .. } | Subject::External(addr) => *addr,
            Subject::Redis(p) => p.addr(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Subject::InProcess { .. } => "Sabaody (in-process)",
            Subject::Redis(_) => "a second redis-server (SABAODY_DIFF_SELF)",
            Subject::External(_) => "the server at SABAODY_DIFF_ADDR",
        }
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        if let Subject::InProcess { handle, .. } = self
            && let Some(h) = handle.take()
        {
            h.shutdown();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client connection: raw RESP out, exactly one reply frame in per command.

struct Conn(sabaody_testkit::Conn);

impl Conn {
    fn connect(addr: SocketAddr) -> Conn {
        Conn(sabaody_testkit::Conn::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}")))
    }

    /// Sends one command, reads one reply. Err = no reply (timeout, EOF, malformed).
    fn run(&mut self, args: &[Vec<u8>]) -> Result<Reply, String> {
        self.run_raw(&encode_command(args))
    }

    /// Sends one command without reading its reply (`block`).
    fn send_only(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        self.0
            .send(&encode_command(args))
            .map_err(|e| format!("write failed: {e}"))
    }

    /// Reads one pending reply (`@reply`).
    fn read_one(&mut self) -> Result<Reply, String> {
        self.0
            .read_reply()
            .map_err(|e| format!("no pending reply: {e}"))
    }

    /// Sends bytes as they are, reads one reply.
    fn run_raw(&mut self, bytes: &[u8]) -> Result<Reply, String> {
        self.0
            .send(bytes)
            .map_err(|e| format!("write failed: {e}"))?;
        self.0.read_reply().map_err(|e| format!("no reply: {e}"))
    }

    fn send_line(&mut self, line: &Line) -> Result<Reply, String> {
        if !line.flags.raw {
            return self.run(&line.args);
        }
        let first = self.run_raw(&line.args[0])?;
        let n = line.flags.replies.unwrap_or(1);
        if n == 1 {
            return Ok(first);
        }
        // A pipeline: the N replies travel (and are compared) as one unit.
        let mut all = Reply {
            raw: first.raw.clone(),
            kind: b'*',
            data: Vec::new(),
            children: vec![first],
        };
        for i in 1..n {
            let r = self
                .0
                .read_reply()
                .map_err(|e| format!("no reply {} of {n}: {e}", i + 1))?;
            all.raw.extend_from_slice(&r.raw);
            all.children.push(r);
        }
        Ok(all)
    }

    /// True if the peer closed the connection (EOF or reset within 3 s, nothing else to read).
    fn is_closed(&mut self) -> bool {
        let reader = self.0.reader();
        if !reader.buffer().is_empty() {
            return false;
        }
        let stream = reader.get_mut();
        let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
        let mut byte = [0u8; 1];
        let closed = match stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ),
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        closed
    }

    /// Runs `SCAN <cursor> rest...` from cursor 0 until the cursor comes back to 0. Returns a
    /// canonical text of the keys seen (sorted, deduplicated), or the error reply.
    fn scan_all(&mut self, template: &[Vec<u8>]) -> Vec<u8> {
        let mut args = template.to_vec();
        let mut seen = BTreeSet::new();
        for _ in 0..100_000 {
            let reply = match self.run(&args) {
                Ok(r) => r,
                Err(e) => return format!("<{e}>").into_bytes(),
            };
            if reply.kind != b'*' || reply.children.len() != 2 || reply.children[1].kind != b'*' {
                return reply.raw; // an error reply (or a malformed one): compared verbatim
            }
            for key in &reply.children[1].children {
                seen.insert(key.raw.clone());
            }
            let cursor = reply.children[0].data.clone();
            if cursor == b"0" {
                let mut out = format!("scan complete, {} distinct keys: ", seen.len()).into_bytes();
                for k in seen {
                    out.extend_from_slice(&k);
                }
                return out;
            }
            args[1] = cursor;
        }
        b"<scan did not finish within 100000 calls>".to_vec()
    }
}

fn parse_i64(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn header(r: &Reply) -> &[u8] {
    let end = r
        .raw
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(r.raw.len(), |p| p + 2);
    &r.raw[..end]
}

fn is_aggregate(kind: u8) -> bool {
    matches!(kind, b'*' | b'~' | b'>' | b'%' | b'|')
}

/// Canonical bytes of a reply with every aggregate's elements sorted (map entries as pairs).
fn normalize_unordered(r: &Reply) -> Vec<u8> {
    if !is_aggregate(r.kind) || r.children.is_empty() {
        return r.raw.clone();
    }
    let mut items: Vec<Vec<u8>> = if r.kind == b'%' {
        r.children
            .chunks(2)
            .map(|kv| kv.iter().flat_map(normalize_unordered).collect())
            .collect()
    } else {
        r.children.iter().map(normalize_unordered).collect()
    };
    items.sort();
    let mut out = header(r).to_vec();
    for i in items {
        out.extend_from_slice(&i);
    }
    out
}

/// The payloads of every scalar in a reply, depth first.
fn leaves_of(r: &Reply, out: &mut Vec<Vec<u8>>) {
    if is_aggregate(r.kind) {
        for c in &r.children {
            leaves_of(c, out);
        }
    } else {
        out.push(r.data.clone());
    }
}

/// The structure of a reply: types and lengths, map keys verbatim, no scalar values.
fn shape(r: &Reply) -> String {
    let mut out = String::new();
    shape_into(r, &mut out);
    out
}

fn shape_into(r: &Reply, out: &mut String) {
    out.push(char::from(r.kind));
    if !is_aggregate(r.kind) {
        if r.raw.starts_with(b"*-1") || r.raw.starts_with(b"$-1") {
            out.push_str("-1");
        }
        return;
    }
    let parts: Vec<String> = if r.kind == b'%' {
        // A map's entries may come in any order.
        let mut entries: Vec<String> = r
            .children
            .chunks(2)
            .map(|kv| {
                let mut e = escape(&kv[0].data);
                e.push(':');
                if let Some(v) = kv.get(1) {
                    shape_into(v, &mut e);
                }
                e
            })
            .collect();
        entries.sort();
        entries
    } else {
        r.children
            .iter()
            .map(|c| {
                let mut e = String::new();
                shape_into(c, &mut e);
                e
            })
            .collect()
    };
    let _ = write!(out, "{}[{}]", parts.len(), parts.join(" "));
}

// ---------------------------------------------------------------------------------------------
// Scripts

#[derive(Default, Debug, Clone, PartialEq)]
struct Flags {
    unordered: bool,
    scanall: bool,
    shape: bool,
    requires: bool,
    raw: bool,
    closes: bool,
    approx: Option<u64>,
    replies: Option<usize>,
    sleep_ms: Option<u64>,
    in_set: Option<Vec<Vec<u8>>>,
    distinct: bool,
    conn: usize,
    block: bool,
    fields: Option<Vec<String>>,
}

/// Connections per side a script may use (`conn=0` .. `conn=3`).
const MAX_CONNS: usize = 4;

impl Flags {
    fn describe(&self) -> String {
        let mut f = Vec::new();
        if self.unordered {
            f.push("unordered".to_string());
        }
        if self.scanall {
            f.push("scanall".to_string());
        }
        if self.shape {
            f.push("shape".to_string());
        }
        if self.requires {
            f.push("requires".to_string());
        }
        if self.raw {
            f.push("raw".to_string());
        }
        if self.closes {
            f.push("closes".to_string());
        }
        if let Some(n) = self.approx {
            f.push(format!("approx={n}"));
        }
        if let Some(n) = self.replies {
            f.push(format!("replies={n}"));
        }
        if let Some(n) = self.sleep_ms {
            f.push(format!("sleep={n}"));
        }
        if let Some(w) = &self.in_set {
            let words: Vec<String> = w.iter().map(|x| escape(x)).collect();
            f.push(format!("in={}", words.join("|")));
        }
        if self.distinct {
            f.push("distinct".to_string());
        }
        if self.conn > 0 {
            f.push(format!("conn={}", self.conn));
        }
        if self.block {
            f.push("block".to_string());
        }
        if let Some(names) = &self.fields {
            f.push(format!("fields={}", names.join("|")));
        }
        if f.is_empty() {
            String::new()
        } else {
            format!("[{}] ", f.join(","))
        }
    }
}

#[derive(Debug)]
struct Line {
    lineno: usize,
    flags: Flags,
    args: Vec<Vec<u8>>,
}

impl Line {
    /// The `@reply` pseudo-command: read a pending reply instead of sending.
    fn is_reply(&self) -> bool {
        self.args.len() == 1 && self.args[0] == b"@reply"
    }
}

fn parse_script(text: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let mut rest = raw.trim();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        let mut flags = Flags::default();
        if let Some(after) = rest.strip_prefix('[') {
            let end = after
                .find(']')
                .ok_or_else(|| format!("line {lineno}: unclosed flag bracket"))?;
            for f in after[..end].split(',').map(str::trim) {
                match f {
                    "unordered" => flags.unordered = true,
                    "scanall" => flags.scanall = true,
                    "shape" => flags.shape = true,
                    "requires" => flags.requires = true,
                    "raw" => flags.raw = true,
                    "closes" => flags.closes = true,
                    "distinct" => flags.distinct = true,
                    "block" => flags.block = true,
                    _ if f.starts_with("fields=") => {
                        flags.fields = Some(f[7..].split('|').map(str::to_string).collect());
                    }
                    _ if f.starts_with("in=") => {
                        let words: Vec<Vec<u8>> =
                            f[3..].split('|').map(|w| w.as_bytes().to_vec()).collect();
                        flags.in_set = Some(words);
                    }
                    _ => {
                        let (name, value) = f.split_once('=').unwrap_or((f, ""));
                        let n: u64 = value
                            .parse()
                            .map_err(|_| format!("line {lineno}: unknown flag '{f}'"))?;
                        match name {
                            "approx" => flags.approx = Some(n),
                            "sleep" => flags.sleep_ms = Some(n),
                            "conn" if (n as usize) < MAX_CONNS => flags.conn = n as usize,
                            "replies" if n >= 1 => {
                                flags.replies =
                                    Some(usize::try_from(n).map_err(|e| e.to_string())?);
                            }
                            _ => return Err(format!("line {lineno}: unknown flag '{f}'")),
                        }
                    }
                }
            }
            rest = after[end + 1..].trim_start();
        }
        let args = if rest == "@reply" {
            vec![b"@reply".to_vec()]
        } else {
            tokenize(rest).map_err(|e| format!("line {lineno}: {e}"))?
        };
        if args.is_empty() {
            return Err(format!("line {lineno}: flags without a command"));
        }
        if flags.replies.is_some() && !flags.raw {
            return Err(format!("line {lineno}: replies=N needs [raw]"));
        }
        if flags.distinct && flags.in_set.is_none() {
            return Err(format!("line {lineno}: [distinct] needs in=..."));
        }
        let is_reply = args.len() == 1 && args[0] == b"@reply";
        if is_reply && (flags.block || flags.raw || flags.scanall) {
            return Err(format!(
                "line {lineno}: @reply takes no block/raw/scanall flag"
            ));
        }
        if flags.block && (flags.raw || flags.scanall || flags.closes) {
            return Err(format!("line {lineno}: [block] sends one plain command"));
        }
        if flags.raw && args.len() != 1 {
            return Err(format!(
                "line {lineno}: [raw] takes exactly one (quoted) argument"
            ));
        }
        if flags.scanall
            && !(args.len() >= 2 && args[0].eq_ignore_ascii_case(b"SCAN") && args[1] == b"0")
        {
            return Err(format!("line {lineno}: [scanall] needs `SCAN 0 ...`"));
        }
        lines.push(Line {
            lineno,
            flags,
            args,
        });
    }
    Ok(lines)
}

fn tokenize(s: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut args = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let mut arg = Vec::new();
                i += 1;
                loop {
                    let c = *bytes.get(i).ok_or("unterminated \"")?;
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            let e = *bytes.get(i).ok_or("dangling backslash")?;
                            i += 1;
                            match e {
                                b'n' => arg.push(b'\n'),
                                b'r' => arg.push(b'\r'),
                                b't' => arg.push(b'\t'),
                                b'0' => arg.push(0),
                                b'\\' | b'"' => arg.push(e),
                                b'x' => {
                                    let hex = s.get(i..i + 2).ok_or("short \\x escape")?;
                                    arg.push(
                                        u8::from_str_radix(hex, 16)
                                            .map_err(|e| format!("bad \\x{hex}: {e}"))?,
                                    );
                                    i += 2;
                                }
                                _ => return Err(format!("unknown escape \\{}", char::from(e))),
                            }
                        }
                        _ => arg.push(c),
                    }
                }
                args.push(arg);
            }
            b'\'' => {
                let end = s[i + 1..].find('\'').ok_or("unterminated '")?;
                args.push(bytes[i + 1..i + 1 + end].to_vec());
                i += end + 2;
            }
            _ => {
                let end = s[i..].find([' ', '\t']).map_or(s.len(), |p| i + p);
                let word = &s[i..end];
                if word.starts_with('@') {
                    args.extend(generate(word)?);
                } else {
                    args.push(word.as_bytes().to_vec());
                }
                i = end;
            }
        }
    }
    Ok(args)
}

fn generate(word: &str) -> Result<Vec<Vec<u8>>, String> {
    let bad =
        || format!("bad generator {word} (want @bytes(N), @repeat(N,text) or @pairs(prefix,N))");
    let (name, params) = word
        .strip_suffix(')')
        .and_then(|w| w.split_once('('))
        .ok_or_else(bad)?;
    let params: Vec<&str> = params.splitn(2, ',').collect();
    match (name, params.as_slice()) {
        ("@bytes", [n]) => {
            let n: usize = n.parse().map_err(|_| bad())?;
            // Truncation is the point: the bytes cycle through 0..=255.
            #[allow(clippy::cast_possible_truncation)]
            Ok(vec![(0..n).map(|i| (i % 256) as u8).collect()])
        }
        ("@repeat", [n, text]) => Ok(vec![
            text.repeat(n.parse().map_err(|_| bad())?).into_bytes(),
        ]),
        ("@pairs", [prefix, n]) => {
            let n: usize = n.parse().map_err(|_| bad())?;
            Ok((0..n)
                .flat_map(|i| {
                    [
                        format!("{prefix}{i}").into_bytes(),
                        format!("v{i}").into_bytes(),
                    ]
                })
                .collect())
        }
        _ => Err(bad()),
    }
}

// ---------------------------------------------------------------------------------------------
// Display

/// Printable ASCII as is, everything else escaped; long values are cut in the middle.
fn escape(b: &[u8]) -> String {
    const MAX: usize = 240;
    let mut out = String::new();
    let cut = b.len() > MAX;
    let parts: [&[u8]; 2] = if cut {
        [&b[..MAX - 40], &b[b.len() - 40..]]
    } else {
        [b, &[]]
    };
    for (i, part) in parts.iter().enumerate() {
        if i == 1 && cut {
            let _ = write!(out, "...<{} bytes omitted>...", b.len() - MAX);
        }
        for &c in *part {
            match c {
                b'\r' => out.push_str("\\r"),
                b'\n' => out.push_str("\\n"),
                b'\t' => out.push_str("\\t"),
                b'\\' => out.push_str("\\\\"),
                b'"' => out.push_str("\\\""),
                0x20..=0x7e => out.push(char::from(c)),
                _ => {
                    let _ = write!(out, "\\x{c:02x}");
                }
            }
        }
    }
    format!("\"{out}\"")
}

fn escape_args(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| {
            let e = escape(a);
            let inner = &e[1..e.len() - 1];
            if !a.is_empty()
                && a.iter()
                    .all(|c| c.is_ascii_graphic() && *c != b'"' && *c != b'\\')
            {
                inner.to_string()
            } else {
                e
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Tests of the harness itself (they run without SABAODY_DIFF).

#[test]
fn harness_reads_every_reply_type() {
    let input: &[u8] = b"+OK\r\n-ERR x\r\n:-5\r\n$3\r\na\r\n\r\n$-1\r\n*-1\r\n*2\r\n$1\r\nk\r\n*0\r\n_\r\n,1.5\r\n#t\r\n(123\r\n=7\r\ntxt:abc\r\n!3\r\nERR\r\n%1\r\n+a\r\n:1\r\n~2\r\n:1\r\n:2\r\n>1\r\n+p\r\n|1\r\n+k\r\n+v\r\n:9\r\n";
    let mut r = BufReader::new(input);
    let kinds: Vec<u8> = std::iter::from_fn(|| read_reply(&mut r).ok())
        .map(|rep| rep.kind)
        .collect();
    assert_eq!(kinds, b"+-:$$**_,#(=!%~>|");
    let mut r = BufReader::new(&b"$3\r\na\r\n\r\n*2\r\n$1\r\nk\r\n*0\r\n"[..]);
    let bulk = read_reply(&mut r).unwrap();
    assert_eq!(bulk.data, b"a\r\n");
    assert_eq!(bulk.raw, b"$3\r\na\r\n\r\n");
    let arr = read_reply(&mut r).unwrap();
    assert_eq!(arr.raw, b"*2\r\n$1\r\nk\r\n*0\r\n");
    assert_eq!(arr.children[0].data, b"k");
}

#[test]
fn harness_rejects_malformed_and_truncated_replies() {
    for bad in [
        &b"+OK\n"[..],
        b"$5\r\nab\r\n",
        b"?x\r\n",
        b"*2\r\n:1\r\n",
        b"",
        b"$-2\r\n",
        b"%-1\r\n",
    ] {
        assert!(
            read_reply(&mut BufReader::new(bad)).is_err(),
            "accepted {}",
            escape(bad)
        );
    }
}

#[test]
fn harness_unordered_and_shape_comparisons() {
    let read = |b: &[u8]| read_reply(&mut BufReader::new(b)).unwrap();
    let a = read(b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nb\r\n");
    let b = read(b"*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nb\r\n");
    let c = read(b"*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\na\r\n");
    assert_ne!(a.raw, b.raw);
    assert_eq!(normalize_unordered(&a), normalize_unordered(&b));
    assert_ne!(
        normalize_unordered(&a),
        normalize_unordered(&c),
        "multisets, not sets"
    );
    let m1 = read(b"%2\r\n+server\r\n$5\r\nredis\r\n+proto\r\n:3\r\n");
    let m2 = read(b"%2\r\n+server\r\n$7\r\nsabaody\r\n+proto\r\n:2\r\n");
    let m3 = read(b"%2\r\n+server\r\n$7\r\nsabaody\r\n+proto\r\n$1\r\n3\r\n");
    assert_eq!(shape(&m1), shape(&m2));
    assert_ne!(shape(&m1), shape(&m3));
    assert_eq!(shape(&m1), "%2[\"proto\":: \"server\":$]");
    let m4 = read(b"%2\r\n+proto\r\n:3\r\n+server\r\n$5\r\nredis\r\n");
    assert_eq!(shape(&m1), shape(&m4), "map order is free");
}

#[test]
fn harness_compare_flags() {
    let read =
        |b: &[u8]| -> Result<Reply, String> { Ok(read_reply(&mut BufReader::new(b)).unwrap()) };
    let line = |flags: Flags| Line {
        lineno: 1,
        flags,
        args: vec![b"PTTL".to_vec(), b"k".to_vec()],
    };
    let exact = line(Flags::default());
    assert!(compare(&exact, &read(b":99990\r\n"), &read(b":99990\r\n"), 2).is_none());
    let m = compare(&exact, &read(b":99990\r\n"), &read(b":99000\r\n"), 2).unwrap();
    assert!(
        m.contains("\":99990\\r\\n\"") && m.contains("\":99000\\r\\n\"") && m.contains("PTTL k"),
        "{m}"
    );
    let approx = line(Flags {
        approx: Some(1000),
        ..Flags::default()
    });
    assert!(compare(&approx, &read(b":99990\r\n"), &read(b":99000\r\n"), 2).is_none());
    assert!(compare(&approx, &read(b":99990\r\n"), &read(b":98000\r\n"), 2).is_some());
    assert!(compare(&approx, &read(b":1\r\n"), &read(b"$1\r\n1\r\n"), 2).is_some());
    assert!(compare(&exact, &read(b"+OK\r\n"), &Err("no reply".into()), 3).is_some());
}

#[test]
fn harness_info_fields() {
    let read =
        |b: &[u8]| -> Result<Reply, String> { Ok(read_reply(&mut BufReader::new(b)).unwrap()) };
    let lines =
        parse_script("[fields=aof_enabled|loading] INFO persistence\n[fields=x] INFO\n").unwrap();
    let (two, missing) = (&lines[0], &lines[1]);
    assert_eq!(
        two.flags.fields,
        Some(vec!["aof_enabled".to_string(), "loading".to_string()])
    );
    let a = read(b"$44\r\n# Persistence\r\nloading:0\r\naof_enabled:1\r\nx:1\r\n");
    // Other lines and the order of the lines do not matter; the RESP3 verbatim form compares
    // by its text.
    let b = read(b"$29\r\naof_enabled:1\r\nloading:0\r\nx:2\r\n");
    let c = read(b"=33\r\ntxt:aof_enabled:1\r\nloading:0\r\nx:1\r\n");
    let d = read(b"$29\r\naof_enabled:0\r\nloading:0\r\nx:1\r\n");
    assert!(compare(two, &a, &b, 2).is_none());
    assert!(
        compare(
            two,
            &c,
            &read(b"=33\r\ntxt:loading:0\r\naof_enabled:1\r\nx:9\r\n"),
            3
        )
        .is_none()
    );
    let m = compare(two, &a, &d, 2).unwrap();
    assert!(
        m.contains("aof_enabled:1 loading:0") && m.contains("aof_enabled:0 loading:0"),
        "{m}"
    );
    // A differing field, a field on one side only, and different reply types are differences.
    assert!(compare(missing, &a, &b, 2).is_some());
    assert!(compare(missing, &a, &read(b"$9\r\nloading:0\r\n"), 2).is_some());
    assert!(
        compare(
            missing,
            &read(b"$9\r\nloading:0\r\n"),
            &read(b"$9\r\nloading:1\r\n"),
            2
        )
        .is_none()
    );
    assert!(compare(two, &a, &c, 2).is_some());
    assert!(compare(two, &a, &read(b"-ERR\r\n"), 2).is_some());
}

#[test]
fn harness_in_and_distinct() {
    let read =
        |b: &[u8]| -> Result<Reply, String> { Ok(read_reply(&mut BufReader::new(b)).unwrap()) };
    let lines =
        parse_script("[in=a|b|c] SRANDMEMBER s 2\n[in=a|b|c,distinct] SRANDMEMBER s 2\n").unwrap();
    let (any, distinct) = (&lines[0], &lines[1]);
    let ab = read(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    let ca = read(b"*2\r\n$1\r\nc\r\n$1\r\na\r\n");
    let aa = read(b"*2\r\n$1\r\na\r\n$1\r\na\r\n");
    let ad = read(b"*2\r\n$1\r\na\r\n$1\r\nd\r\n");
    let a = read(b"*1\r\n$1\r\na\r\n");
    assert!(compare(any, &ab, &ca, 2).is_none());
    assert!(compare(any, &ab, &aa, 2).is_none());
    assert!(compare(distinct, &ab, &aa, 2).is_some());
    assert!(compare(any, &ab, &ad, 2).is_some());
    assert!(compare(any, &ab, &a, 2).is_some());
    assert!(parse_script("[distinct] SPOP s 2\n").is_err());
}

#[test]
fn harness_parses_connection_flags() {
    let lines = parse_script(
        "FLUSHALL\n[conn=1,block] BLPOP q 0\n[sleep=100] RPUSH q a\n[conn=1] @reply\n",
    )
    .unwrap();
    assert_eq!(lines[1].flags.conn, 1);
    assert!(lines[1].flags.block && !lines[1].is_reply());
    assert!(lines[3].is_reply() && lines[3].flags.conn == 1);
    assert!(parse_script("[conn=4] PING\n").is_err());
    assert!(parse_script("[block,raw] 'PING'\n").is_err());
    assert!(parse_script("[block] @reply\n").is_err());
}

/// The blocking flags against two real servers: one connection blocks, another wakes it.
#[test]
fn harness_blocking_round_trip_on_redis() {
    if !env_flag("SABAODY_DIFF") {
        println!("skipping: set SABAODY_DIFF=1 to run it");
        return;
    }
    let a = start_redis();
    let b = start_redis();
    let mut wake = (Conn::connect(a.addr()), Conn::connect(b.addr()));
    let mut blocked = (Conn::connect(a.addr()), Conn::connect(b.addr()));
    let args = |s: &str| -> Vec<Vec<u8>> { s.split(' ').map(|w| w.as_bytes().to_vec()).collect() };
    for c in [&mut blocked.0, &mut blocked.1] {
        c.send_only(&args("BLPOP harness:q 0")).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    for c in [&mut wake.0, &mut wake.1] {
        assert_eq!(c.run(&args("RPUSH harness:q x")).unwrap().raw, b":1\r\n");
    }
    for c in [&mut blocked.0, &mut blocked.1] {
        assert_eq!(
            c.read_one().unwrap().raw,
            b"*2\r\n$9\r\nharness:q\r\n$1\r\nx\r\n"
        );
    }
}

#[test]
fn harness_parses_scripts() {
    let s = "# comment\n\nFLUSHALL\n[unordered] KEYS *\n[approx=5, shape] SET \"a\\x00\\r\\n\" 'lit\\n' @repeat(3,ab)\nMSET @pairs(k,2)\nSET b @bytes(300)\n";
    let lines = parse_script(s).unwrap();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0].lineno, 3);
    assert!(lines[1].flags.unordered);
    assert_eq!(
        lines[2].flags,
        Flags {
            approx: Some(5),
            shape: true,
            ..Flags::default()
        }
    );
    assert_eq!(
        lines[2].args,
        vec![
            b"SET".to_vec(),
            b"a\0\r\n".to_vec(),
            b"lit\\n".to_vec(),
            b"ababab".to_vec()
        ]
    );
    assert_eq!(lines[3].args.len(), 5);
    assert_eq!(lines[3].args[3], b"k1");
    assert_eq!(lines[4].args[2].len(), 300);
    assert_eq!(lines[4].args[2][13], b'\r');
    let l = parse_script("[raw,replies=3,sleep=20] \"PING\\r\\nPING\\r\\nPING\\r\\n\"").unwrap();
    assert_eq!(
        (l[0].flags.replies, l[0].flags.sleep_ms),
        (Some(3), Some(20))
    );
    for bad in [
        "[replies=2] PING",
        "[raw,replies=0] \"PING\\r\\n\"",
        "[sleep=x] PING",
        "SET \"a",
        "[nope] GET a",
        "[unordered]",
        "GET @bytes(x)",
        "[scanall] KEYS *",
        "SET \"\\q\"",
    ] {
        assert!(parse_script(bad).is_err(), "accepted {bad:?}");
    }
    assert_eq!(
        encode_command(&[b"GET".to_vec(), b"".to_vec()]),
        b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"
    );
}

#[test]
fn every_family_script_parses() {
    for (name, text) in [
        ("strings", include_str!("diff/strings.redis")),
        ("info", include_str!("diff/info.redis")),
        ("numeric", include_str!("diff/numeric.redis")),
        (
            "float_precision",
            include_str!("diff/float_precision.redis"),
        ),
        ("keys", include_str!("diff/keys.redis")),
        ("glob_and_scan", include_str!("diff/glob_and_scan.redis")),
        ("expire", include_str!("diff/expire.redis")),
        ("expiry_lazy", include_str!("diff/expiry_lazy.redis")),
        ("rename_copy", include_str!("diff/rename_copy.redis")),
        ("select", include_str!("diff/select.redis")),
        ("multi", include_str!("diff/multi.redis")),
        ("multi_oom", include_str!("diff/multi_oom.redis")),
        ("errors", include_str!("diff/errors.redis")),
        ("connection", include_str!("diff/connection.redis")),
        ("protocol", include_str!("diff/protocol.redis")),
        ("auth", include_str!("diff/auth.redis")),
        ("binary", include_str!("diff/binary.redis")),
        ("wrongtype", include_str!("diff/wrongtype.redis")),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t.to_string()))
    .chain(
        [
            "sets",
            "zsets",
            "hashes",
            "lists",
            "dump",
            "bits",
            "hll",
            "geo",
            "persistence",
            "sort",
            "clients",
        ]
        .into_iter()
        .flat_map(dir_scripts),
    ) {
        let lines = parse_script(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(lines.len() > 5, "{name} is nearly empty");
        assert!(
            lines[0].args[0].eq_ignore_ascii_case(b"FLUSHALL"),
            "{name} must start with FLUSHALL"
        );
    }
}
