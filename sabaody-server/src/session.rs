//! A server connection without a socket: bytes in, reply bytes out, through the same request
//! decoder, command table and keyspace as a network client. For fuzzing and tests.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use sabaody_resp::{Limits, RequestDecoder};

use crate::client::Client;
use crate::config::Config;
use crate::conn::{InputOutcome, process_input};
use crate::server::Shared;

/// One in-process client of a private server state (no threads, no network).
///
/// ```
/// use sabaody_server::{Config, Session};
/// let mut s = Session::new(Config::default());
/// assert_eq!(s.feed(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n"), b"+OK\r\n$1\r\nv\r\n");
/// ```
#[derive(Debug)]
pub struct Session {
    shared: Arc<Shared>,
    client: Client,
    decoder: RequestDecoder,
    buf: BytesMut,
    argv: Vec<Bytes>,
    closed: bool,
}

impl Session {
    /// A fresh server state and one client connected to it.
    pub fn new(config: Config) -> Session {
        let limits = Limits {
            max_bulk_len: usize::try_from(config.proto_max_bulk_len).unwrap_or(usize::MAX),
            ..Limits::default()
        };
        let shared = Arc::new(Shared::new(config, Vec::new(), 0));
        crate::notify::connect(&shared);
        let info = shared.register_client(None, None, 0, -1);
        let authenticated = !shared
            .has_password
            .load(std::sync::atomic::Ordering::Relaxed);
        Session {
            client: Client::new(info, authenticated),
            shared,
            decoder: RequestDecoder::new(limits),
            buf: BytesMut::new(),
            argv: Vec::new(),
            closed: false,
        }
    }

    /// Feeds bytes as if read from the socket; returns the replies they produced. After the
    /// connection was closed (QUIT, protocol error, SHUTDOWN) input is ignored.
    pub fn feed(&mut self, input: &[u8]) -> Vec<u8> {
        if self.closed {
            return Vec::new();
        }
        self.shared.tick();
        self.buf.extend_from_slice(input);
        let mut out = BytesMut::new();
        let outcome = process_input(
            &self.shared,
            &mut self.client,
            &mut self.decoder,
            &mut self.buf,
            &mut self.argv,
            &mut out,
            usize::MAX,
        );
        if outcome == InputOutcome::Close {
            self.closed = true;
            self.buf = BytesMut::new();
        }
        out.to_vec()
    }

    /// Whether the server would have closed this connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes of an incomplete request held back (bounded by the query buffer limit in the
    /// network server).
    pub fn pending_input(&self) -> usize {
        self.buf.len()
    }

    /// Checks the keyspace's internal invariants.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn validate(&self) -> Result<(), String> {
        self.shared.dbs[0].validate()
    }

    /// Checks DUMP against RESTORE over the whole keyspace: every key's payload is one
    /// RESTORE takes, the restored value has the same contents (strings, lists, sets,
    /// hashes and sorted sets: members in order, scores to the bit), and when RESTORE kept
    /// its encoding (the payload's type byte; a sorted set shrunk below the listpack limits
    /// comes back packed, as in Redis) a list, string or sorted set DUMPs to the same bytes.
    /// For the fuzzer: a value the commands can build must survive DUMP, RESTORE, SAVE and
    /// loading.
    ///
    /// # Errors
    /// The first key whose payload is refused or changes, with the reason.
    pub fn check_dumps(&self) -> Result<(), String> {
        use sabaody_core::rdb::{RestoreOptions, decode_payload, dump, restore};
        use sabaody_core::{KeyType, Keyspace};
        let scratch = sabaody_core::Cache::builder()
            .databases(1)
            .shards(1)
            .housekeeping(false)
            .build();
        let opts = RestoreOptions {
            replace: true,
            ..RestoreOptions::default()
        };
        for (db, cache) in self.shared.dbs.iter().enumerate() {
            for key in cache.keys("*") {
                // A string past 64 MB (SETRANGE makes them up to 512 MB) would be held four
                // times over (value, decoded, restored, payloads): past a fuzzer's memory
                // limit. Smaller values already cover every encoding.
                if cache.strlen(&key).unwrap_or(0) > 64 << 20 {
                    continue;
                }
                // Gone since KEYS (expired): nothing to check.
                let Some(payload) = dump(cache, &key, true) else {
                    continue;
                };
                let at = || format!("db {db} key {:?}", String::from_utf8_lossy(&key));
                let value = decode_payload(&payload)
                    .map_err(|e| format!("{}: RESTORE refuses its DUMP: {e}", at()))?;
                let ty = value.key_type();
                restore(&scratch, &key, value, &opts)
                    .map_err(|e| format!("{}: RESTORE failed: {e}", at()))?;
                if contents(cache, &key, ty) != contents(&scratch, &key, ty) {
                    return Err(format!("{}: RESTORE changed the contents", at()));
                }
                let again = dump(&scratch, &key, true).unwrap_or_default();
                if matches!(ty, KeyType::List | KeyType::String | KeyType::ZSet)
                    && again.first() == payload.first()
                    && again != payload
                {
                    return Err(format!("{}: DUMP changed by RESTORE", at()));
                }
                scratch.del(&[&key]);
            }
        }
        Ok(())
    }
}

/// A value's contents in a comparable form (see [`Session::check_dumps`]); empty for the
/// types without one here, or on an error.
fn contents(c: &sabaody_core::Cache, key: &[u8], ty: sabaody_core::KeyType) -> Vec<Vec<u8>> {
    use sabaody_core::prelude::*;
    use sabaody_core::{KeyType, RangeBy, ZRangeSpec};
    let flat = |v: Vec<Bytes>| v.into_iter().map(|b| b.to_vec()).collect::<Vec<_>>();
    match ty {
        KeyType::String => c
            .get(key)
            .ok()
            .flatten()
            .map(|v| vec![v.to_vec()])
            .unwrap_or_default(),
        KeyType::List => c.lrange(key, 0, -1).map(flat).unwrap_or_default(),
        KeyType::Set => {
            let mut v = c.smembers(key).map(flat).unwrap_or_default();
            v.sort();
            v
        }
        KeyType::Hash => {
            let mut v = c.hgetall(key).unwrap_or_default();
            v.sort();
            v.into_iter()
                .flat_map(|(f, x)| [f.to_vec(), x.to_vec()])
                .collect()
        }
        KeyType::ZSet => {
            let spec = ZRangeSpec {
                by: RangeBy::Rank(0, -1),
                rev: false,
                limit: None,
            };
            c.zrange(key, &spec)
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(m, s)| [m.to_vec(), s.to_bits().to_le_bytes().to_vec()])
                .collect()
        }
        _ => Vec::new(),
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.unregister_client(&mut self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &mut Session, argv: &[&str]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", argv.len());
        for a in argv {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.feed(req.as_bytes())
    }

    #[test]
    fn every_type_survives_dump_and_restore() {
        let mut s = Session::new(Config::default());
        let big = "x".repeat(9000);
        cmd(&mut s, &["SET", "s", "hello"]);
        cmd(&mut s, &["SET", "i", "12345"]);
        cmd(&mut s, &["RPUSH", "l", "a", "1", &big, "b"]);
        cmd(&mut s, &["ZADD", "z", "1.5", "a", "-0", "b", "inf", "c"]);
        cmd(&mut s, &["SADD", "set", "a", "b", "1"]);
        cmd(&mut s, &["HSET", "h", "f", "v"]);
        cmd(&mut s, &["SELECT", "3"]);
        cmd(&mut s, &["PFADD", "hll", "a", "b"]);
        assert_eq!(s.check_dumps(), Ok(()));
    }

    /// Found by the fuzzer: a sorted set grown past the listpack limit and shrunk below it
    /// stays a skiplist, DUMPs as one, and comes back from RESTORE packed (as in Redis):
    /// the same contents, another encoding, so another payload.
    #[test]
    fn a_shrunk_sorted_set_restores_packed() {
        let mut s = Session::new(Config::default());
        let mut zadd = vec!["ZADD".to_owned(), "big".to_owned()];
        for i in 0..129 {
            zadd.push(i.to_string());
            zadd.push(format!("m{i}"));
        }
        let zadd: Vec<&str> = zadd.iter().map(String::as_str).collect();
        assert_eq!(cmd(&mut s, &zadd), b":129\r\n");
        let mut zrem = vec!["ZREM".to_owned(), "big".to_owned()];
        zrem.extend((0..54).map(|i| format!("m{i}")));
        let zrem: Vec<&str> = zrem.iter().map(String::as_str).collect();
        assert_eq!(cmd(&mut s, &zrem), b":54\r\n");
        assert_eq!(
            cmd(&mut s, &["OBJECT", "ENCODING", "big"]),
            b"$8\r\nskiplist\r\n"
        );
        assert_eq!(s.check_dumps(), Ok(()));
    }
}
