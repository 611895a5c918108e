//! Test support for the Sabaody crates (dev-only, never published): a real `redis-server` 7.0,
//! the reference of the differential tests, started on a free loopback port and stopped on
//! drop, and a small raw RESP client for it.
//!
//! - [`RedisServer`]: `redis-server --port <free> --bind 127.0.0.1 --save "" --dir <dir>
//!   --logfile <dir>/redis.log <your args>`; [`RedisServer::start`] waits until it answers PING,
//!   [`RedisServer::spawn`] does not (a test that expects it to refuse a file). Dropping it kills
//!   the process (also when the test panics) and removes the directory it made.
//! - [`redis_server_version`]: whether the binary runs at all. Whether a test then skips or
//!   fails stays that test's own rule.
//! - [`Conn`]: RESP requests out, exactly one reply frame in ([`Reply`]: its bytes and its tree;
//!   [`Value`]: a typed RESP2 view).
//! - [`TempDir`], [`KillOnDrop`]: the two cleanups the above rest on, for other tests too.
//!
//! The binary is `$SABAODY_REDIS_SERVER` if set, else `redis-server` on `PATH`.
//!
//! This crate depends on no Sabaody crate: `sabaody-core`'s own unit tests can use it, and a
//! bug in `sabaody-resp` cannot hide on both sides of a comparison.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a starting redis-server may take to answer PING (loading a dump included).
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How many fresh ports [`RedisServer::start`] tries: another process may take the free port
/// between [`free_port`] and redis-server's bind.
const START_ATTEMPTS: usize = 5;

/// The redis-server binary: `$SABAODY_REDIS_SERVER`, else `redis-server` (from `PATH`).
pub fn redis_server_bin() -> OsString {
    std::env::var_os("SABAODY_REDIS_SERVER").unwrap_or_else(|| "redis-server".into())
}

/// What `redis-server --version` prints (e.g. `Redis server v=7.0.15 sha=...`), or `None` when
/// the binary cannot be run (not installed).
pub fn redis_server_version() -> Option<String> {
    let out = Command::new(redis_server_bin())
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
///
/// # Errors
/// When no socket can be bound on 127.0.0.1.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A fresh directory `sabaody-<tag>-<pid>-<n>` under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// # Panics
    /// When the directory cannot be created (a test cannot go on without it).
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "sabaody-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        if let Err(e) = std::fs::create_dir_all(&p) {
            panic!("create {}: {e}", p.display());
        }
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (SIGKILL) and reaped when dropped, also when a test panics, so no
/// test leaves a server running.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Why [`RedisServer::start`] failed.
#[derive(Debug)]
pub enum StartError {
    /// The binary could not be run (not installed, not executable).
    Spawn(io::Error),
    /// It ran but never answered PING (every attempt exited or timed out); the last reason.
    NotReady(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Spawn(e) => write!(
                f,
                "{} could not be started ({e}). Install it (apt-get install -y redis-server) \
                 or set SABAODY_REDIS_SERVER",
                redis_server_bin().to_string_lossy()
            ),
            StartError::NotReady(e) => {
                write!(
                    f,
                    "redis-server did not start after {START_ATTEMPTS} attempts: {e}"
                )
            }
        }
    }
}

impl std::error::Error for StartError {}

/// A redis-server child process on a loopback port; killed on drop (fields drop in order: the
/// process, then the directory it owns, if any).
#[derive(Debug)]
pub struct RedisServer {
    child: KillOnDrop,
    addr: SocketAddr,
    dir: PathBuf,
    _own_dir: Option<TempDir>,
}

impl RedisServer {
    /// A ready redis-server (it answered PING) in a temporary directory of its own, removed
    /// when it is dropped. `args` follow the fixed ones (see the crate docs).
    ///
    /// # Errors
    /// [`StartError::Spawn`] when the binary cannot be run, [`StartError::NotReady`] when it
    /// did not answer on any of 5 fresh ports.
    pub fn start(args: &[&str]) -> Result<RedisServer, StartError> {
        let dir = TempDir::new("redis");
        let mut server = RedisServer::start_in(dir.path(), args)?;
        server._own_dir = Some(dir);
        Ok(server)
    }

    /// Like [`RedisServer::start`], in `dir` (which the caller keeps: e.g. the files redis
    /// leaves there are the test's input afterwards).
    ///
    /// # Errors
    /// As [`RedisServer::start`].
    pub fn start_in(dir: &Path, args: &[&str]) -> Result<RedisServer, StartError> {
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let mut server = RedisServer::spawn(dir, args).map_err(StartError::Spawn)?;
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) => last_error = e, // port taken in between: try another
            }
        }
        Err(StartError::NotReady(last_error))
    }

    /// Spawns redis-server in `dir` on a free port without waiting for it: see
    /// [`RedisServer::wait_ready`] and [`RedisServer::wait_exit`]. Its log goes to
    /// `dir/redis.log` ([`RedisServer::log`]); stdout is discarded, stderr kept for the error
    /// of [`RedisServer::wait_ready`].
    ///
    /// # Errors
    /// When no port can be found or the binary cannot be run.
    pub fn spawn(dir: &Path, args: &[&str]) -> io::Result<RedisServer> {
        let port = free_port()?;
        let child = Command::new(redis_server_bin())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        Ok(RedisServer {
            child: KillOnDrop(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_path_buf(),
            _own_dir: None,
        })
    }

    /// Waits (up to [`READY_TIMEOUT`]) until the server answers `PING` with `+PONG`; while
    /// it loads a dump it answers `-LOADING`, and the wait goes on.
    ///
    /// # Errors
    /// The process exited (its status, stderr and log are in the message), or it did not
    /// answer in time.
    pub fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!(
                    "redis-server exited with {status}: {err}{}",
                    self.log()
                ));
            }
            if let Ok(mut c) = Conn::open(
                self.addr,
                Duration::from_millis(200),
                Duration::from_secs(2),
            ) && c.request(&["PING"]).is_ok_and(|r| r.raw == b"+PONG\r\n")
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "redis-server did not answer PING within {} s",
            READY_TIMEOUT.as_secs()
        ))
    }

    /// Waits up to `timeout` for the process to exit by itself (after `SHUTDOWN`, or when it
    /// refuses its files). `None`: still running (it is killed on drop).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => return None,
            }
        }
    }

    /// A new connection to it.
    ///
    /// # Errors
    /// When the connection fails.
    pub fn connect(&self) -> io::Result<Conn> {
        Conn::connect(self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The directory it runs in (`--dir`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log so far (empty if there is none yet).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

/// A client connection: raw RESP out, exactly one reply frame in per [`Conn::read_reply`].
#[derive(Debug)]
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connects (5 s timeout), with a 10 s read timeout and `TCP_NODELAY`.
    ///
    /// # Errors
    /// When the connection fails.
    pub fn connect(addr: SocketAddr) -> io::Result<Conn> {
        Conn::open(addr, Duration::from_secs(5), Duration::from_secs(10))
    }

    fn open(addr: SocketAddr, connect: Duration, read: Duration) -> io::Result<Conn> {
        let s = TcpStream::connect_timeout(&addr, connect)?;
        s.set_read_timeout(Some(read))?;
        s.set_nodelay(true)?;
        let writer = s.try_clone()?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, s),
            writer,
        })
    }

    /// Sends bytes as they are.
    ///
    /// # Errors
    /// When the write fails.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Reads one reply frame.
    ///
    /// # Errors
    /// Timeout, EOF, or a malformed reply.
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        read_reply(&mut self.reader)
    }

    /// Sends one command, reads one reply.
    ///
    /// # Errors
    /// As [`Conn::send`] and [`Conn::read_reply`].
    pub fn request<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Reply> {
        self.send(&encode_command(args))?;
        self.read_reply()
    }

    /// Sends one command and reads its reply as a RESP2 [`Value`].
    ///
    /// # Errors
    /// As [`Conn::request`], or a reply of a RESP3-only type.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Value> {
        self.request(args)?.value()
    }

    /// The buffered read side (e.g. to see whether the peer closed the connection).
    pub fn reader(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.reader
    }
}

/// A command as a RESP multibulk request.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A small RESP2/RESP3 reply reader, independent of sabaody-resp on purpose.

/// One reply frame: its exact bytes, its type byte, the payload of scalars and the children of
/// aggregates (a map's children alternate key, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub raw: Vec<u8>,
    pub kind: u8,
    pub data: Vec<u8>,
    pub children: Vec<Reply>,
}

/// A RESP2 reply, typed (simple strings and errors as text, converted lossily).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Simple(String),
    Error(String),
    Array(Vec<Value>),
}

impl Reply {
    /// True for the RESP2 null bulk string and null array (`$-1`, `*-1`).
    pub fn is_null(&self) -> bool {
        self.raw.starts_with(b"$-1\r\n") || self.raw.starts_with(b"*-1\r\n")
    }

    /// The reply as a RESP2 [`Value`].
    ///
    /// # Errors
    /// A RESP3-only type, or an integer that does not parse.
    pub fn value(&self) -> io::Result<Value> {
        let text = || String::from_utf8_lossy(&self.data).into_owned();
        Ok(match self.kind {
            _ if self.is_null() => Value::Nil,
            b'+' => Value::Simple(text()),
            b'-' => Value::Error(text()),
            b':' => Value::Int(
                parse_i64(&self.data)
                    .ok_or_else(|| bad(format!("bad integer {}", self.raw.escape_ascii())))?,
            ),
            b'$' => Value::Bulk(self.data.clone()),
            b'*' => Value::Array(
                self.children
                    .iter()
                    .map(Reply::value)
                    .collect::<io::Result<_>>()?,
            ),
            _ => {
                return Err(bad(format!(
                    "not a RESP2 reply: {}",
                    self.raw.escape_ascii()
                )));
            }
        })
    }
}

impl Value {
    /// The bytes of a bulk or simple string.
    ///
    /// # Panics
    /// On any other reply (a test expecting a string got something else).
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Value::Bulk(b) => b,
            Value::Simple(s) => s.into_bytes(),
            other => panic!("expected a string, got {other:?}"),
        }
    }

    /// # Panics
    /// On anything but an integer reply.
    pub fn int(self) -> i64 {
        match self {
            Value::Int(i) => i,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    /// The strings of an array reply.
    ///
    /// # Panics
    /// On anything but an array of strings.
    pub fn list(self) -> Vec<Vec<u8>> {
        match self {
            Value::Array(v) => v.into_iter().map(Value::bytes).collect(),
            other => panic!("expected an array, got {other:?}"),
        }
    }
}

fn read_line(r: &mut impl BufRead, raw: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    raw.extend_from_slice(&line);
    if !line.ends_with(b"\r\n") {
        return Err(bad(format!(
            "line not ended by CRLF: {}",
            line.escape_ascii()
        )));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_i64(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads one complete reply frame (RESP2 or RESP3; an attribute travels with the reply it
/// annotates).
///
/// # Errors
/// EOF or a read error, a malformed frame, nesting deeper than 64.
pub fn read_reply(r: &mut impl BufRead) -> io::Result<Reply> {
    read_reply_depth(r, 0)
}

/// The commands of an AOF-style RESP stream (`*N` multibulks one after another), each as its
/// arguments joined by single spaces (lossy UTF-8), e.g. `"SET k v"`.
///
/// # Errors
/// The bytes are not a sequence of whole RESP values.
pub fn command_lines(bytes: &[u8]) -> io::Result<Vec<String>> {
    let mut r = io::BufReader::new(bytes);
    let mut out = Vec::new();
    while !r.fill_buf()?.is_empty() {
        let reply = read_reply(&mut r)?;
        let words: Vec<String> = reply
            .children
            .iter()
            .map(|c| String::from_utf8_lossy(&c.data).into_owned())
            .collect();
        out.push(words.join(" "));
    }
    Ok(out)
}

fn read_reply_depth(r: &mut impl BufRead, depth: usize) -> io::Result<Reply> {
    if depth > 64 {
        return Err(bad("reply nested deeper than 64".into()));
    }
    let mut raw = Vec::new();
    let line = read_line(r, &mut raw)?;
    let (&kind, rest) = line
        .split_first()
        .ok_or_else(|| bad("empty reply line".into()))?;
    let bad_length = || bad(format!("bad length {}", line.escape_ascii()));
    let mut reply = Reply {
        raw,
        kind,
        data: Vec::new(),
        children: Vec::new(),
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => reply.data = rest.to_vec(),
        b'$' | b'=' | b'!' => {
            let n = parse_i64(rest).ok_or_else(bad_length)?;
            if n >= 0 {
                let n = usize::try_from(n).map_err(|e| bad(e.to_string()))?;
                let mut payload = vec![0u8; n + 2];
                r.read_exact(&mut payload)?;
                reply.raw.extend_from_slice(&payload);
                if !payload.ends_with(b"\r\n") {
                    return Err(bad("bulk payload not followed by CRLF".into()));
                }
                payload.truncate(n);
                reply.data = payload;
            } else if n != -1 || kind != b'$' {
                return Err(bad_length());
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = parse_i64(rest).ok_or_else(bad_length)?;
            if n < 0 {
                if n != -1 || kind != b'*' {
                    return Err(bad_length());
                }
                return Ok(reply);
            }
            let per = if kind == b'%' || kind == b'|' { 2 } else { 1 };
            let count = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_mul(per))
                .ok_or_else(bad_length)?;
            for _ in 0..count {
                let child = read_reply_depth(r, depth + 1)?;
                reply.raw.extend_from_slice(&child.raw);
                reply.children.push(child);
            }
            if kind == b'|' {
                // An attribute precedes the reply it annotates: they travel as one unit.
                let data = read_reply_depth(r, depth + 1)?;
                reply.raw.extend_from_slice(&data.raw);
                reply.children.push(data);
            }
        }
        _ => {
            return Err(bad(format!(
                "unknown reply type in {}",
                line.escape_ascii()
            )));
        }
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_command() {
        assert_eq!(
            encode_command(&["GET", ""]),
            b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn typed_view_of_resp2_replies() {
        let read = |b: &[u8]| read_reply(&mut BufReader::new(b)).and_then(|r| r.value());
        assert_eq!(read(b"+OK\r\n").ok(), Some(Value::Simple("OK".into())));
        assert_eq!(read(b"-ERR x\r\n").ok(), Some(Value::Error("ERR x".into())));
        assert_eq!(read(b":-5\r\n").ok(), Some(Value::Int(-5)));
        assert_eq!(read(b"$-1\r\n").ok(), Some(Value::Nil));
        assert_eq!(read(b"*-1\r\n").ok(), Some(Value::Nil));
        assert_eq!(
            read(b"*2\r\n$1\r\nk\r\n*0\r\n").ok(),
            Some(Value::Array(vec![
                Value::Bulk(b"k".to_vec()),
                Value::Array(vec![])
            ]))
        );
        assert!(read(b"_\r\n").is_err(), "RESP3 null is not RESP2");
    }

    /// Dropping the server kills it and removes its directory, also during a panic.
    #[test]
    fn a_server_is_gone_after_a_panic() {
        if redis_server_version().is_none() {
            eprintln!("redis-server not installed: skipped");
            return;
        }
        let server = match RedisServer::start(&[]) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let (addr, dir) = (server.addr(), server.dir().to_path_buf());
        let reply = server.connect().and_then(|mut c| c.call(&["PING"]));
        assert_eq!(reply.ok(), Some(Value::Simple("PONG".into())));
        let panicked = std::panic::catch_unwind(move || {
            let _held = server;
            panic!("a failing test");
        });
        assert!(panicked.is_err());
        assert!(Conn::connect(addr).is_err(), "still answering on {addr}");
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}
