//! RDB: Redis's snapshot file format (version 10, as Redis 7.0 writes it).
//!
//! SCAFFOLD (lead, session 3): the signatures below are the contract between the snapshot
//! (`snapshot.rs`, lead) and the codec (this directory, RDB helper). The bodies are replaced by
//! the RDB branch before anything is merged to main as finished.

use crate::shard::View;
use std::io::{self, Write};

/// How a snapshot is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveOptions {
    /// LZF-compress string values and keys longer than 20 bytes (`rdbcompression`).
    pub compression: bool,
    /// End the file with its CRC64 (`rdbchecksum`); when off, eight zero bytes as Redis does.
    pub checksum: bool,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            compression: true,
            checksum: true,
        }
    }
}

/// Whole records of one database, produced by the snapshot from one shard.
#[derive(Debug, Default)]
#[allow(dead_code)]
pub(crate) struct Chunk {
    /// Database index.
    pub(crate) db: usize,
    /// `write_entry` output for every key of the chunk.
    pub(crate) bytes: Vec<u8>,
}

/// Appends one key-value record to `out`: an `EXPIRETIME_MS` opcode first when `expire_at_ms`
/// is set, then the value type, the key and the value, in an encoding Redis 7.0 loads.
#[allow(dead_code)]
pub(crate) fn write_entry(
    out: &mut Vec<u8>,
    key: &[u8],
    val: View<'_>,
    expire_at_ms: Option<i64>,
    opts: &SaveOptions,
) {
    let _ = (out, key, val, expire_at_ms, opts);
    todo!("RDB helper")
}

/// Writes a whole RDB file to `w`: the `REDIS0010` header, AUX fields (`redis-ver`,
/// `redis-bits`, `ctime`, `used-mem`, `aof-base`, plus `aux`), then for each database that has
/// chunks: `SELECTDB`, `RESIZEDB` (sizes from `db_sizes[db]` = (keys, keys with a TTL), hints
/// only) and its chunks' bytes. Chunks arrive in ascending database order. Then `EOF` and the
/// checksum (CRC64 of everything before it, or zeros). Returns the number of bytes written.
#[allow(dead_code)]
pub(crate) fn write_file<W: Write>(
    w: &mut W,
    opts: &SaveOptions,
    aux: &[(&str, &[u8])],
    db_sizes: &[(u64, u64)],
    chunks: impl Iterator<Item = Chunk>,
) -> io::Result<u64> {
    let _ = (w, opts, aux, db_sizes, chunks.count());
    todo!("RDB helper")
}
