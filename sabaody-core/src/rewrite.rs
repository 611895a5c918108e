//! A snapshot written as commands: the base of an AOF rewrite under `aof-use-rdb-preamble no`.
//!
//! The cut is the one of an RDB snapshot (see `snapshot.rs`); only the entry encoder differs.
//! Each key becomes the commands Redis 7.0's `rewriteAppendOnlyFileRio` writes for it, in RESP:
//!
//! ```text
//! SELECT <db>                        before the first key of each non-empty database
//! SET <key> <value>                  strings
//! RPUSH / SADD / ZADD / HMSET        collections, at most 64 items (pairs) per command
//! RESTORE <key> 0 <payload>          Bloom filters and Count-Min sketches, whose state no
//!                                    other command rebuilds (what RedisBloom's rewrite does
//!                                    for its sketches); the payload is a DUMP payload
//! PEXPIREAT <key> <unix-ms>          after the value, for a key with a TTL
//! ```

use crate::rdb::{self, Chunk, SaveOptions};
use crate::shard::View;
use crate::snapshot::EncodeFn;
use crate::value::Value;
use crate::{Cache, RdbSnapshot, SaveStats};
use std::io::{self, Write};

/// Items (or field-value pairs, score-member pairs) per command, as Redis's
/// `AOF_REWRITE_ITEMS_PER_CMD`.
const ITEMS_PER_CMD: usize = 64;

/// A point-in-time snapshot of the whole cache to be written as commands, taken by
/// [`Cache::begin_command_snapshot`]. Readers and writers go on while it is written, as for
/// [`crate::RdbSnapshot`]. Dropping it unwritten abandons it.
#[derive(Debug)]
pub struct CommandSnapshot {
    cut: RdbSnapshot,
}

impl Cache {
    /// Takes a point-in-time snapshot of every database, to be written as commands with
    /// [`CommandSnapshot::write_to`]. Returns `None` while another snapshot (RDB or commands)
    /// is being written: one at a time.
    #[must_use]
    pub fn begin_command_snapshot(&self) -> Option<CommandSnapshot> {
        // The options only shape the DUMP payloads of sketches: uncompressed, checksummed.
        let opts = SaveOptions {
            compression: false,
            checksum: true,
        };
        let encode: EncodeFn = write_commands;
        self.begin_snapshot_with(opts, encode)
            .map(|cut| CommandSnapshot { cut })
    }
}

impl CommandSnapshot {
    /// Writes the snapshot to `w` as RESP commands. `SaveStats::bytes` counts what was
    /// written.
    ///
    /// # Errors
    /// The writer's I/O errors (the snapshot is abandoned).
    pub fn write_to<W: Write>(self, w: &mut W) -> io::Result<SaveStats> {
        let mut keys = 0u64;
        let mut bytes = 0u64;
        let mut db = None;
        for Chunk { db: d, bytes: b } in self.cut.chunks(&mut keys) {
            if db != Some(d) {
                let mut sel = Vec::new();
                put_argv(&mut sel, &[b"SELECT", d.to_string().as_bytes()]);
                w.write_all(&sel)?;
                bytes += sel.len() as u64;
                db = Some(d);
            }
            w.write_all(&b)?;
            bytes += b.len() as u64;
        }
        Ok(SaveStats {
            keys,
            bytes,
            cow_bytes: self.cut.cow_bytes(),
        })
    }
}

fn put_argv<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Emits `cmd key <items...>` in commands of at most [`ITEMS_PER_CMD`] groups of `per` args.
fn put_batched<A: AsRef<[u8]>>(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], per: usize, items: &[A]) {
    for group in items.chunks(ITEMS_PER_CMD * per) {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(group.len() + 2);
        argv.push(cmd);
        argv.push(key);
        argv.extend(group.iter().map(AsRef::as_ref));
        put_argv(out, &argv);
    }
}

/// A score as text that `strtod` (and our ZADD) reads back exactly.
fn score_text(s: f64) -> Vec<u8> {
    if s.is_infinite() {
        return if s > 0.0 {
            b"inf".to_vec()
        } else {
            b"-inf".to_vec()
        };
    }
    // Rust's shortest round-trip digits (never NaN: a sorted set holds no NaN score), with
    // an exponent when the plain form is long (1e-300 would be 302 characters).
    let plain = format!("{s}");
    if plain.len() <= 24 {
        plain.into_bytes()
    } else {
        format!("{s:e}").into_bytes()
    }
}

/// The snapshot entry encoder (`EncodeFn`): the commands that rebuild `key`.
pub(crate) fn write_commands(
    out: &mut Vec<u8>,
    key: &[u8],
    val: View<'_>,
    expire_at_ms: Option<i64>,
    // Idle time / LFU counter: a command base has no place for them (Redis's rewrite drops
    // them too); an RDB base keeps them.
    _hint: crate::rdb::AccessHint,
    opts: &SaveOptions,
) {
    match val {
        View::Inline(s) => put_argv(out, &[b"SET", key, s]),
        View::Int(i) => put_argv(out, &[b"SET", key, i.to_string().as_bytes()]),
        View::Value(v) => match v {
            Value::Str(s) => put_argv(out, &[b"SET", key, &s[..]]),
            Value::List(l) => {
                let items: Vec<&[u8]> = l.iter_from(0).collect();
                put_batched(out, b"RPUSH", key, 1, &items);
            }
            Value::Set(s) => {
                let mut items = Vec::with_capacity(s.len());
                s.for_each(|m| items.push(m.to_vec()));
                put_batched(out, b"SADD", key, 1, &items);
            }
            Value::ZSet(z) => {
                let mut items = Vec::with_capacity(z.len() * 2);
                z.walk(0, false, |m, s| {
                    items.push(score_text(s));
                    items.push(m.to_vec());
                    true
                });
                put_batched(out, b"ZADD", key, 2, &items);
            }
            Value::Hash(h) => {
                let mut items: Vec<&[u8]> = Vec::with_capacity(h.len() * 2);
                for (f, v) in h.iter() {
                    items.push(f);
                    items.push(v);
                }
                put_batched(out, b"HMSET", key, 2, &items);
            }
            Value::Bloom(_) | Value::Cms(_) => {
                // The payload DUMP gives (the RDB writer's, see `rdb/dump.rs`), which RESTORE
                // and so the AOF loader read back.
                let payload = rdb::payload_of(val, opts.compression);
                put_argv(out, &[b"RESTORE", key, b"0", &payload]);
            }
            #[cfg(test)]
            Value::TestList(v) => put_argv(out, &[b"SET", key, v]),
        },
    }
    if let Some(t) = expire_at_ms {
        put_argv(out, &[b"PEXPIREAT", key, t.to_string().as_bytes()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::{ExpireCondition, ManualClock, ZAddOptions};

    /// Splits RESP commands back into argument lists.
    fn parse(mut b: &[u8]) -> Vec<Vec<Vec<u8>>> {
        fn line<'a>(b: &mut &'a [u8]) -> &'a [u8] {
            let i = b.windows(2).position(|w| w == b"\r\n").unwrap();
            let l = &b[..i];
            *b = &b[i + 2..];
            l
        }
        let mut cmds = Vec::new();
        while !b.is_empty() {
            let head = line(&mut b);
            assert_eq!(head[0], b'*');
            let n: usize = std::str::from_utf8(&head[1..]).unwrap().parse().unwrap();
            let mut argv = Vec::new();
            for _ in 0..n {
                let h = line(&mut b);
                assert_eq!(h[0], b'$');
                let len: usize = std::str::from_utf8(&h[1..]).unwrap().parse().unwrap();
                argv.push(b[..len].to_vec());
                assert_eq!(&b[len..len + 2], b"\r\n");
                b = &b[len + 2..];
            }
            cmds.push(argv);
        }
        cmds
    }

    fn words(c: &[Vec<u8>]) -> Vec<String> {
        c.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    #[test]
    fn every_type_becomes_redis_rewrite_commands() {
        let clock = ManualClock::new(1_000);
        let c = Cache::builder()
            .databases(2)
            .housekeeping(false)
            .clock(clock.clone())
            .build();
        c.set("s", "hello").unwrap();
        c.set("n", "42").unwrap();
        c.pexpire("n", 10_000, ExpireCondition::Always).unwrap();
        let many: Vec<String> = (0..130).map(|i| format!("e{i}")).collect();
        c.db(1).unwrap().rpush("l", &many).unwrap();
        let mut w = Vec::new();
        let stats = c
            .begin_command_snapshot()
            .unwrap()
            .write_to(&mut w)
            .unwrap();
        assert_eq!(stats.keys, 3);
        assert_eq!(stats.bytes, w.len() as u64);
        let cmds = parse(&w);
        assert_eq!(words(&cmds[0]), ["SELECT", "0"]);
        let db0: Vec<Vec<String>> = cmds[1..4].iter().map(|c| words(c)).collect();
        assert!(db0.contains(&vec!["SET".into(), "s".into(), "hello".into()]));
        let n = db0.iter().position(|c| c[1] == "n").unwrap();
        assert_eq!(db0[n], ["SET", "n", "42"]);
        assert_eq!(db0[n + 1], ["PEXPIREAT", "n", "11000"]);
        assert_eq!(words(&cmds[4]), ["SELECT", "1"]);
        // 130 items: 64 + 64 + 2.
        let pushes: Vec<usize> = cmds[5..].iter().map(|c| c.len() - 2).collect();
        assert_eq!(pushes, [64, 64, 2]);
        let all: Vec<String> = cmds[5..].iter().flat_map(|c| words(&c[2..])).collect();
        assert_eq!(all, many);
    }

    #[test]
    fn zset_and_hash_pairs_and_sketch_payload() {
        let c = Cache::builder().housekeeping(false).build();
        c.zadd(
            "z",
            &ZAddOptions::default(),
            &[(1.5, "a"), (f64::INFINITY, "b"), (1e-300, "c")],
        )
        .unwrap();
        c.hset("h", &[("f", "v")]).unwrap();
        c.sadd("set", &["1", "2"]).unwrap();
        c.cms_init_by_dim("m", 4, 2).unwrap();
        let mut w = Vec::new();
        c.begin_command_snapshot()
            .unwrap()
            .write_to(&mut w)
            .unwrap();
        let cmds: Vec<Vec<Vec<u8>>> = parse(&w);
        let find = |name: &str| cmds.iter().find(|c| c[0] == name.as_bytes()).unwrap();
        assert_eq!(
            words(find("ZADD")),
            ["ZADD", "z", "1e-300", "c", "1.5", "a", "inf", "b"]
        );
        assert_eq!(words(find("HMSET")), ["HMSET", "h", "f", "v"]);
        let mut sadd = words(find("SADD"));
        sadd[2..].sort();
        assert_eq!(sadd, ["SADD", "set", "1", "2"]);
        let r = find("RESTORE");
        assert_eq!(&r[1..3], [b"m".to_vec(), b"0".to_vec()]);
        let p = &r[3];
        // Module type, then the version and a valid checksum.
        assert_eq!(p[0], 7);
        let (body, crc) = p.split_at(p.len() - 8);
        assert_eq!(&body[body.len() - 2..], &[10, 0]);
        assert_eq!(rdb::crc64(0, body).to_le_bytes(), crc);
    }
}
