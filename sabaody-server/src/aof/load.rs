//! Reading an append-only file: the command parser (also used by `--check-aof` and the fuzz
//! target), and replay through the normal command executor.
//!
//! A file is a sequence of RESP arrays of bulk strings (`*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n`),
//! possibly with `#...\n` annotation lines (Redis 7 writes `#TS:` timestamps with
//! `aof-timestamp-enabled`). The file ending inside a command is a *truncated* file (a crash
//! mid-write); anything else that is not an array of bulk strings is *corruption*.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use bytes::Bytes;

/// Longest `*<n>` / `$<n>` header line accepted (digits, sign, CRLF).
const MAX_HEADER: usize = 32;
/// Largest single argument accepted (Redis's `proto-max-bulk-len` ceiling).
const MAX_ARG: u64 = 1 << 39;
/// Most arguments one command may have.
const MAX_ARGC: u64 = 1 << 31;

/// One entry at the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A command and the bytes it took.
    Command(Vec<Bytes>, usize),
    /// An annotation line (`#...\n`) and the bytes it took.
    Annotation(usize),
}

/// Why the front of a buffer is not an entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The buffer ends inside an entry (more bytes may complete it).
    Incomplete,
    /// Not an AOF entry: the offset (from the start of the buffer) and what is wrong.
    Corrupt(usize, &'static str),
}

/// Reads a `<c><digits>\r\n` header at `pos`; returns the number and the position after it.
fn header(buf: &[u8], pos: usize, c: u8) -> Result<(i64, usize), Stop> {
    let rest = buf.get(pos..).unwrap_or(&[]);
    let Some(&first) = rest.first() else {
        return Err(Stop::Incomplete);
    };
    if first != c {
        return Err(Stop::Corrupt(
            pos,
            if c == b'*' {
                "expected '*' (start of a command)"
            } else {
                "expected '$' (start of an argument)"
            },
        ));
    }
    let window = &rest[..rest.len().min(MAX_HEADER)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        return if rest.len() >= MAX_HEADER {
            Err(Stop::Corrupt(pos, "header line too long"))
        } else if window[1..].iter().all(|b| b.is_ascii_digit() || *b == b'-') {
            Err(Stop::Incomplete)
        } else {
            Err(Stop::Corrupt(pos, "invalid number in header"))
        };
    };
    match rest.get(cr + 1) {
        None => return Err(Stop::Incomplete),
        Some(b'\n') => {}
        Some(_) => return Err(Stop::Corrupt(pos, "header line not ended by CRLF")),
    }
    let n = std::str::from_utf8(&rest[1..cr])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(Stop::Corrupt(pos, "invalid number in header"))?;
    Ok((n, pos + cr + 2))
}

/// Parses the entry at the front of `buf`.
pub(crate) fn next_entry(buf: &[u8]) -> Result<Entry, Stop> {
    match buf.first() {
        None => return Err(Stop::Incomplete),
        Some(b'#') => {
            return match buf.iter().position(|&b| b == b'\n') {
                Some(nl) => Ok(Entry::Annotation(nl + 1)),
                None => Err(Stop::Incomplete),
            };
        }
        Some(_) => {}
    }
    let (argc, mut pos) = header(buf, 0, b'*')?;
    if argc < 1 || argc as u64 > MAX_ARGC {
        return Err(Stop::Corrupt(0, "invalid argument count"));
    }
    // Never trust the count for an allocation: every argument takes at least 5 bytes.
    let mut argv = Vec::with_capacity((argc as usize).min(buf.len() / 5 + 1));
    for _ in 0..argc {
        let (len, p) = header(buf, pos, b'$')?;
        if len < 0 || len as u64 > MAX_ARG {
            return Err(Stop::Corrupt(pos, "invalid argument length"));
        }
        let len = len as usize;
        let end = p
            .checked_add(len)
            .ok_or(Stop::Corrupt(pos, "invalid argument length"))?;
        let Some(arg) = buf.get(p..end) else {
            return Err(Stop::Incomplete);
        };
        match buf.get(end..end + 2) {
            Some(b"\r\n") => {}
            None if buf.len() < end + 2 && buf.get(end).is_none_or(|&b| b == b'\r') => {
                return Err(Stop::Incomplete);
            }
            _ => return Err(Stop::Corrupt(end, "argument not ended by CRLF")),
        }
        argv.push(Bytes::copy_from_slice(arg));
        pos = end + 2;
    }
    Ok(Entry::Command(argv, pos))
}

/// Reads a file's entries in order, in chunks: `f` gets each command and its offset in the
/// file. Returns how the file ended.
pub(crate) fn for_each_command(
    path: &Path,
    f: impl FnMut(Vec<Bytes>, u64) -> Result<(), String>,
) -> io::Result<Ending> {
    for_each_in(File::open(path)?, f)
}

/// [`for_each_command`] over any reader.
pub(crate) fn for_each_in(
    mut file: impl Read,
    mut f: impl FnMut(Vec<Bytes>, u64) -> Result<(), String>,
) -> io::Result<Ending> {
    let mut buf: Vec<u8> = Vec::new();
    let mut start = 0usize; // parse position in buf
    let mut base = 0u64; // file offset of buf[0]
    let mut eof = false;
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        match next_entry(buf.get(start..).unwrap_or(&[])) {
            Ok(Entry::Annotation(n)) => start += n,
            Ok(Entry::Command(argv, n)) => {
                let at = base + start as u64;
                start += n;
                if let Err(msg) = f(argv, at) {
                    return Ok(Ending::Refused { offset: at, msg });
                }
            }
            Err(Stop::Corrupt(rel, msg)) => {
                return Ok(Ending::Corrupt {
                    offset: base + start as u64,
                    at: base + (start + rel) as u64,
                    msg,
                });
            }
            Err(Stop::Incomplete) => {
                if eof {
                    let valid = base + start as u64;
                    let len = base + buf.len() as u64;
                    return Ok(if valid == len {
                        Ending::Clean { len }
                    } else {
                        Ending::Truncated { valid, len }
                    });
                }
                // Keep the unparsed tail, read more behind it.
                if start > 0 {
                    buf.drain(..start);
                    base += start as u64;
                    start = 0;
                }
                let n = loop {
                    match file.read(&mut chunk) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                if n == 0 {
                    eof = true;
                } else {
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }
}

/// How reading a file ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Every byte belonged to a complete entry.
    Clean { len: u64 },
    /// The last entry is incomplete: `valid` bytes are whole entries, of `len`.
    Truncated { valid: u64, len: u64 },
    /// Not an AOF at `at` (the entry starting at `offset`).
    Corrupt {
        offset: u64,
        at: u64,
        msg: &'static str,
    },
    /// The callback refused the command at `offset`.
    Refused { offset: u64, msg: String },
}

/// Whether a file starts with an RDB preamble.
pub(crate) fn has_rdb_preamble(path: &Path) -> io::Result<bool> {
    let mut head = [0u8; 5];
    let mut f = File::open(path)?;
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got == 5 && &head == b"REDIS")
}

/// `sabaody-server --check-aof FILE [--fix]`: reports the last valid offset of an AOF file (or
/// of every file a manifest lists); with `--fix`, truncates a damaged tail. Returns the exit
/// code.
pub fn check_aof(path: &Path, fix: bool, out: &mut dyn std::io::Write) -> i32 {
    let is_manifest = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".manifest"));
    if is_manifest {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(out, "Cannot read {}: {e}", path.display());
                return 1;
            }
        };
        let m = match super::manifest::Manifest::parse(&text) {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(out, "Invalid manifest {}: {e}", path.display());
                return 1;
            }
        };
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        let _ = writeln!(out, "Manifest {} is valid", path.display());
        let n = m.incr.len();
        let mut code = 0;
        for (i, e) in m.base.iter().chain(&m.incr).enumerate() {
            let last = i + 1 == n + usize::from(m.base.is_some());
            // Only the last file may be cut short by a crash.
            let c = check_file(&dir.join(&e.name), fix && last, out);
            code = code.max(c);
        }
        return code;
    }
    check_file(path, fix, out)
}

fn check_file(path: &Path, fix: bool, out: &mut dyn std::io::Write) -> i32 {
    let shown = path.display();
    match has_rdb_preamble(path) {
        Ok(true) => {
            let _ = writeln!(
                out,
                "{shown}: RDB format (a rewrite's base); check it with --check-rdb"
            );
            return 0;
        }
        Ok(false) => {}
        Err(e) => {
            let _ = writeln!(out, "Cannot open {shown}: {e}");
            return 1;
        }
    }
    let mut count = 0u64;
    let ending = match for_each_command(path, |_, _| {
        count += 1;
        Ok(())
    }) {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(out, "Cannot read {shown}: {e}");
            return 1;
        }
    };
    match ending {
        Ending::Clean { len } => {
            let _ = writeln!(out, "{shown}: AOF is valid: {count} commands, {len} bytes");
            0
        }
        Ending::Truncated { valid, len } => {
            let _ = writeln!(
                out,
                "{shown}: AOF is truncated: the last command is incomplete; last valid offset {valid} of {len} bytes ({count} commands)"
            );
            truncate_or_say(path, valid, len, fix, out)
        }
        Ending::Corrupt { offset, at, msg } => {
            let _ = writeln!(
                out,
                "{shown}: AOF is corrupted at offset {at} ({msg}), in the command starting at offset {offset}; last valid offset {offset} ({count} commands)"
            );
            let len = std::fs::metadata(path).map_or(0, |m| m.len());
            truncate_or_say(path, offset, len, fix, out)
        }
        Ending::Refused { .. } => 1,
    }
}

fn truncate_or_say(
    path: &Path,
    valid: u64,
    len: u64,
    fix: bool,
    out: &mut dyn std::io::Write,
) -> i32 {
    if !fix {
        let _ = writeln!(
            out,
            "Run with --fix to truncate it to {valid} bytes (discarding {} bytes)",
            len - valid.min(len)
        );
        return 1;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_len(valid)?;
            f.sync_all()
        }) {
        Ok(()) => {
            let _ = writeln!(out, "{}: truncated to {valid} bytes", path.display());
            0
        }
        Err(e) => {
            let _ = writeln!(out, "Cannot truncate {}: {e}", path.display());
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        v
    }

    #[test]
    fn parses_commands_and_annotations() {
        let mut buf = b"#TS:1700000000\r\n".to_vec();
        buf.extend(cmd(&["SET", "k", "v\r\nx"]));
        let Ok(Entry::Annotation(n)) = next_entry(&buf) else {
            panic!()
        };
        let Ok(Entry::Command(argv, m)) = next_entry(&buf[n..]) else {
            panic!()
        };
        assert_eq!(
            argv,
            vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("v\r\nx")]
        );
        assert_eq!(n + m, buf.len());
    }

    #[test]
    fn every_prefix_is_incomplete_not_corrupt() {
        let full = cmd(&["SET", "key", "value"]);
        for i in 0..full.len() {
            assert_eq!(next_entry(&full[..i]), Err(Stop::Incomplete), "prefix {i}");
        }
        assert!(matches!(next_entry(&full), Ok(Entry::Command(_, n)) if n == full.len()));
    }

    #[test]
    fn corruption_is_located() {
        assert_eq!(
            next_entry(b"xyz"),
            Err(Stop::Corrupt(0, "expected '*' (start of a command)"))
        );
        assert!(matches!(next_entry(b"*0\r\n"), Err(Stop::Corrupt(0, _))));
        assert!(matches!(next_entry(b"*-1\r\n"), Err(Stop::Corrupt(0, _))));
        assert!(matches!(
            next_entry(b"*1\r\n+OK\r\n"),
            Err(Stop::Corrupt(4, _))
        ));
        assert!(matches!(
            next_entry(b"*1\r\n$2\r\nabX\r\n"),
            Err(Stop::Corrupt(10, _))
        ));
        assert!(matches!(next_entry(b"*1x\r\n"), Err(Stop::Corrupt(0, _))));
        assert!(matches!(
            next_entry(b"*1\r\n$-5\r\n"),
            Err(Stop::Corrupt(4, _))
        ));
        // A huge claimed length with few bytes is only incomplete (and allocates nothing).
        assert_eq!(next_entry(b"*1\r\n$999999999\r\nab"), Err(Stop::Incomplete));
        assert_eq!(
            next_entry(b"*2147483647\r\n$1\r\na\r\n"),
            Err(Stop::Incomplete)
        );
    }
}
