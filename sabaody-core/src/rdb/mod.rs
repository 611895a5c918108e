//! RDB: Redis's snapshot file format (version 10, as Redis 7.0 writes it).
//!
//! # Layout
//!
//! * `write.rs`: `write_entry` (one key's record) and `write_file` (header, AUX fields,
//!   databases, `EOF`, checksum), the encodings Redis 7.0 writes.
//! * `read.rs`: a bounds-checked parser over the whole file held in memory; it decodes every
//!   encoding Redis 7.0 writes and the older ones it still loads, into Sabaody values.
//! * `load.rs`: [`crate::Cache::load_rdb`] and [`check_rdb`] on top of the parser.
//! * `dump.rs`: DUMP and RESTORE payloads (one value, its RDB version and a CRC64) on top
//!   of the writer and the parser: [`dump`], [`decode_payload`], [`restore`].
//! * `listpack.rs`, `ziplist.rs`: the packed blob formats; `lzf.rs`, `crc64.rs`: compression
//!   and checksum, written from their format descriptions; `module.rs`: the module-type
//!   records of Bloom filters and Count-Min sketches.
//!
//! # Loading
//!
//! The file is read whole into memory and parsed from the slice (no per-key allocation for
//! strings stored raw: they are copied once, into the keyspace). Records are buffered per
//! shard and stored a shard at a time, so each shard's table and arena stay in cache. A file
//! of 4 MiB or more is loaded by one thread per core (up to 8): every thread parses the
//! whole file, decodes and stores only the keys of its share of the shards, and skips the
//! other values undecoded (parsing is a small part of the cost; storing is the rest).
//! A `RESIZEDB` hint sizes the database's shard tables before its keys arrive (bounded by
//! what the rest of the file can hold), so they do not rehash on the way; `IDLE` and `FREQ`
//! hints restore a key's idle time (any policy but LFU) or LFU counter (LFU policies), as
//! Redis does, and a save writes them under the LRU and LFU policies, as Redis does.
//! Expired keys are skipped, empty collections too (as Redis 7.0), `FUNCTION2` and module
//! AUX records are skipped and counted, streams and other modules' values are refused.
//! Collections are rebuilt through their own insert paths, so they end in the encoding
//! Sabaody would give them (a big hash shrunk to 3 fields comes back `listpack`, as in
//! Redis).
//!
//! # Why our own LZF and CRC64
//!
//! Both formats are small and frozen (about 150 and 60 lines here), and the decompressor
//! must be bounds-checked against hostile input: written here, every check is in view and
//! tested (including against Redis's CRC64 test vector), with no dependency to vet.
//!
//! # Trust
//!
//! Nothing read from a file is trusted: every length is checked against the bytes that
//! remain before it is used or allocated, nothing recurses on input, and a malformed file is
//! an [`RdbError`] naming the offset and the problem, never a panic.

mod crc64;
mod dump;
mod listpack;
mod load;
mod lzf;
mod module;
mod read;
mod write;
mod ziplist;

#[cfg(test)]
mod redis_compat;
#[cfg(test)]
mod tests;

pub use crc64::crc64;
pub(crate) use dump::payload_of;
pub use dump::{
    DecodedValue, PayloadError, RestoreOptions, Restored, decode_payload, dump, exists_for_write,
    restore, verify_payload,
};
pub use load::{LoadOptions, LoadStats, RdbSummary, check_rdb, check_rdb_with};
#[allow(unused_imports)]
pub(crate) use write::{AccessHint, write_entry, write_entry_hinted, write_file};

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

/// A file that could not be read: where, and what was wrong.
///
/// `Display`: `Bad RDB file at offset 1234: unknown value type 99`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    offset: u64,
    reason: String,
    last_good: u64,
}

impl RdbError {
    pub(crate) fn new(offset: usize, reason: impl Into<String>) -> RdbError {
        RdbError {
            offset: offset as u64,
            reason: reason.into(),
            last_good: 0,
        }
    }

    /// Byte offset in the file where the problem was found.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What was wrong.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// End of the last complete key record (or of the header and AUX fields) before the
    /// problem: what a repair tool may keep.
    #[must_use]
    pub fn last_good_offset(&self) -> u64 {
        self.last_good
    }

    pub(crate) fn with_last_good(mut self, at: usize) -> RdbError {
        self.last_good = at as u64;
        self
    }
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bad RDB file at offset {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for RdbError {}

/// The RDB version written, Redis 7.0's.
pub(crate) const RDB_VERSION: u32 = 10;
/// The newest version read: 11 (Redis 7.2) only adds the set listpack and a stream form.
pub(crate) const RDB_VERSION_MAX: u32 = 11;

// Length encodings (the top two bits of the first byte).
pub(crate) const RDB_6BITLEN: u8 = 0;
pub(crate) const RDB_14BITLEN: u8 = 1;
pub(crate) const RDB_32BITLEN: u8 = 0x80;
pub(crate) const RDB_64BITLEN: u8 = 0x81;
pub(crate) const RDB_ENCVAL: u8 = 3;
// Special string encodings (with RDB_ENCVAL).
pub(crate) const RDB_ENC_INT8: u8 = 0;
pub(crate) const RDB_ENC_INT16: u8 = 1;
pub(crate) const RDB_ENC_INT32: u8 = 2;
pub(crate) const RDB_ENC_LZF: u8 = 3;

// Value types.
pub(crate) const RDB_TYPE_STRING: u8 = 0;
pub(crate) const RDB_TYPE_LIST: u8 = 1;
pub(crate) const RDB_TYPE_SET: u8 = 2;
pub(crate) const RDB_TYPE_ZSET: u8 = 3;
pub(crate) const RDB_TYPE_HASH: u8 = 4;
pub(crate) const RDB_TYPE_ZSET_2: u8 = 5;
pub(crate) const RDB_TYPE_MODULE_PRE_GA: u8 = 6;
pub(crate) const RDB_TYPE_MODULE_2: u8 = 7;
pub(crate) const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
pub(crate) const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
pub(crate) const RDB_TYPE_SET_INTSET: u8 = 11;
pub(crate) const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
pub(crate) const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
pub(crate) const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
pub(crate) const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
pub(crate) const RDB_TYPE_HASH_LISTPACK: u8 = 16;
pub(crate) const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
pub(crate) const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
pub(crate) const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub(crate) const RDB_TYPE_SET_LISTPACK: u8 = 20;
pub(crate) const RDB_TYPE_STREAM_LISTPACKS_3: u8 = 21;

// Opcodes.
pub(crate) const RDB_OPCODE_FUNCTION2: u8 = 245;
pub(crate) const RDB_OPCODE_FUNCTION_PRE_GA: u8 = 246;
pub(crate) const RDB_OPCODE_MODULE_AUX: u8 = 247;
pub(crate) const RDB_OPCODE_IDLE: u8 = 248;
pub(crate) const RDB_OPCODE_FREQ: u8 = 249;
pub(crate) const RDB_OPCODE_AUX: u8 = 250;
pub(crate) const RDB_OPCODE_RESIZEDB: u8 = 251;
pub(crate) const RDB_OPCODE_EXPIRETIME_MS: u8 = 252;
pub(crate) const RDB_OPCODE_EXPIRETIME: u8 = 253;
pub(crate) const RDB_OPCODE_SELECTDB: u8 = 254;
pub(crate) const RDB_OPCODE_EOF: u8 = 255;

// Module value opcodes (the self-describing payload of MODULE_2 records).
pub(crate) const RDB_MODULE_OPCODE_EOF: u64 = 0;
pub(crate) const RDB_MODULE_OPCODE_SINT: u64 = 1;
pub(crate) const RDB_MODULE_OPCODE_UINT: u64 = 2;
pub(crate) const RDB_MODULE_OPCODE_FLOAT: u64 = 3;
pub(crate) const RDB_MODULE_OPCODE_DOUBLE: u64 = 4;
pub(crate) const RDB_MODULE_OPCODE_STRING: u64 = 5;

// Quicklist node containers.
pub(crate) const QUICKLIST_NODE_CONTAINER_PLAIN: u64 = 1;
pub(crate) const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

/// A human name for a value type byte (for the checker and error messages).
pub(crate) fn type_name(t: u8) -> &'static str {
    match t {
        RDB_TYPE_STRING => "string",
        RDB_TYPE_LIST => "list",
        RDB_TYPE_SET => "set",
        RDB_TYPE_ZSET => "zset",
        RDB_TYPE_HASH => "hash",
        RDB_TYPE_ZSET_2 => "zset-2",
        RDB_TYPE_MODULE_PRE_GA => "module-pre-ga",
        RDB_TYPE_MODULE_2 => "module",
        RDB_TYPE_HASH_ZIPMAP => "hash-zipmap",
        RDB_TYPE_LIST_ZIPLIST => "list-ziplist",
        RDB_TYPE_SET_INTSET => "set-intset",
        RDB_TYPE_ZSET_ZIPLIST => "zset-ziplist",
        RDB_TYPE_HASH_ZIPLIST => "hash-ziplist",
        RDB_TYPE_LIST_QUICKLIST => "list-quicklist",
        RDB_TYPE_STREAM_LISTPACKS => "stream",
        RDB_TYPE_HASH_LISTPACK => "hash-listpack",
        RDB_TYPE_ZSET_LISTPACK => "zset-listpack",
        RDB_TYPE_LIST_QUICKLIST_2 => "list-quicklist-2",
        RDB_TYPE_STREAM_LISTPACKS_2 => "stream-2",
        RDB_TYPE_SET_LISTPACK => "set-listpack",
        RDB_TYPE_STREAM_LISTPACKS_3 => "stream-3",
        _ => "unknown",
    }
}
