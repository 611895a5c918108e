//! The AOF manifest: which files make up the append-only log, in Redis 7.0's format.
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! file appendonly.aof.2.incr.aof seq 2 type i
//! ```
//! One line per file: `file <name> seq <n> type <b|h|i>` (base, history, incremental), keys in
//! any order, names quoted when they contain spaces or quotes. Loading reads the base, then
//! every incremental file in sequence order. History files (`h`) are leftovers of an earlier
//! rewrite that Redis deletes later; they are not loaded.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// The kind of a file listed in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Base,
    History,
    Incr,
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub name: String,
    pub seq: u64,
    pub kind: Kind,
}

/// The files of an append-only log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub base: Option<Entry>,
    /// Incremental files, in sequence order.
    pub incr: Vec<Entry>,
    pub history: Vec<Entry>,
}

impl Manifest {
    /// Parses a manifest's text. Errors name the line.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = crate::config::split_args(line)
                .ok_or_else(|| format!("line {}: unbalanced quotes", i + 1))?;
            if words.len() % 2 != 0 {
                return Err(format!("line {}: invalid manifest line: {line}", i + 1));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks_exact(2) {
                let v = &pair[1];
                match pair[0].as_str() {
                    "file" => name = Some(v.clone()),
                    "seq" => seq = v.parse::<u64>().ok(),
                    "type" => {
                        kind = match v.as_str() {
                            "b" => Some(Kind::Base),
                            "h" => Some(Kind::History),
                            "i" => Some(Kind::Incr),
                            _ => None,
                        }
                    }
                    // Later versions may add keys: ignored, as Redis does.
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(format!("line {}: invalid manifest line: {line}", i + 1));
            };
            if name.contains('/') || name.is_empty() || name == "." || name == ".." {
                return Err(format!("line {}: invalid file name {name:?}", i + 1));
            }
            let e = Entry { name, seq, kind };
            match kind {
                Kind::Base => {
                    if m.base.is_some() {
                        return Err(format!("line {}: more than one base file", i + 1));
                    }
                    m.base = Some(e);
                }
                Kind::Incr => {
                    if m.incr.last().is_some_and(|l| l.seq >= e.seq) {
                        return Err(format!(
                            "line {}: incremental files out of sequence order",
                            i + 1
                        ));
                    }
                    m.incr.push(e);
                }
                Kind::History => m.history.push(e),
            }
        }
        Ok(m)
    }

    /// The manifest's text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let lines = self.base.iter().chain(&self.history).chain(&self.incr);
        for e in lines {
            let t = match e.kind {
                Kind::Base => "b",
                Kind::History => "h",
                Kind::Incr => "i",
            };
            s.push_str(&format!(
                "file {} seq {} type {}\n",
                quote(&e.name),
                e.seq,
                t
            ));
        }
        s
    }

    /// Writes the manifest atomically: a temp file, fsync, rename over `path`, fsync of the
    /// directory, so a crash leaves either the old manifest or the new one.
    pub fn persist(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!("temp-{name}"));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(self.to_text().as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    }
}

/// Fsyncs a directory, so a rename or a new file in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn quote(name: &str) -> String {
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        let mut s = String::from("\"");
        for c in name.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_7_manifest() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type i\n\
                    file appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incr.len(), 2);
        assert_eq!(m.incr[1].seq, 2);
        assert_eq!(m.to_text(), text);
    }

    #[test]
    fn keys_in_any_order_and_quoted_names() {
        let m = Manifest::parse("type i seq 3 file \"my file.aof\"\n").unwrap();
        assert_eq!(m.incr[0].name, "my file.aof");
        assert_eq!(m.to_text(), "file \"my file.aof\" seq 3 type i\n");
        assert_eq!(Manifest::parse(&m.to_text()).unwrap(), m);
    }

    #[test]
    fn refuses_bad_lines() {
        assert!(Manifest::parse("file a seq 1\n").is_err());
        assert!(Manifest::parse("file a seq x type i\n").is_err());
        assert!(Manifest::parse("file \"a seq 1 type i\n").is_err());
        assert!(Manifest::parse("file ../x seq 1 type i\n").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
        assert!(Manifest::parse("file a seq 1 type b\nfile b seq 2 type b\n").is_err());
    }
}
