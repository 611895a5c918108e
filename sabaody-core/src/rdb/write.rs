//! The writer: one key's record ([`write_entry`]) and a whole file ([`write_file`]), in the
//! encodings Redis 7.0 writes.
//!
//! | value | record |
//! |---|---|
//! | string | `STRING`: int8/16/32 when the string is a canonical integer that fits, else LZF when `compression`, longer than 20 bytes and it shrinks by 4+ bytes, else raw |
//! | set | `SET_INTSET` for an intset (Redis 7.0 has no set listpack), else `SET` |
//! | sorted set | `ZSET_LISTPACK` for the listpack encoding, else `ZSET_2` (binary doubles, highest first, as Redis) |
//! | hash | `HASH_LISTPACK` for the packed encoding, else `HASH` |
//! | list | `LIST_QUICKLIST_2`: listpack nodes of up to 8 KiB (`list-max-listpack-size -2`), filled as Redis 7.0 fills them on RPUSH; a longer element gets a node of its own |
//! | Bloom, CMS | `MODULE_2` with our own module ids (`module.rs`) |
//!
//! Packed blobs (intset, listpacks) are written as strings and so are LZF-compressed like
//! any string, as Redis does.

use super::*;
use crate::EvictionPolicy;
use crate::evict::Tracking;
use crate::shard::View;
use crate::value::Value;
use std::cell::RefCell;
use std::io::{self, Write};

/// Appends an RDB length.
pub(crate) fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push((RDB_6BITLEN << 6) | n as u8);
    } else if n < 1 << 14 {
        out.push((RDB_14BITLEN << 6) | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(RDB_32BITLEN);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(RDB_64BITLEN);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends an integer in the int8/16/32 string encodings; false if it does not fit.
fn put_int_enc(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.push((RDB_ENCVAL << 6) | RDB_ENC_INT8);
        out.push(b as u8);
    } else if let Ok(h) = i16::try_from(v) {
        out.push((RDB_ENCVAL << 6) | RDB_ENC_INT16);
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push((RDB_ENCVAL << 6) | RDB_ENC_INT32);
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

struct Scratch {
    lzf: Vec<u8>,
    table: Vec<u32>,
    blob: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { lzf: Vec::new(), table: Vec::new(), blob: Vec::new() })
    };
}

/// Appends a string in the raw or LZF form (never the integer forms: for blobs).
fn put_raw_or_lzf(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if compress && s.len() > 20 {
        let done = SCRATCH.with(|sc| {
            let Ok(mut sc) = sc.try_borrow_mut() else {
                return false;
            };
            let Scratch { lzf, table, .. } = &mut *sc;
            if super::lzf::compress(s, lzf, s.len() - 4, table) {
                out.push((RDB_ENCVAL << 6) | RDB_ENC_LZF);
                put_len(out, lzf.len() as u64);
                put_len(out, s.len() as u64);
                out.extend_from_slice(lzf);
                true
            } else {
                false
            }
        });
        if done {
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends a string as Redis's `rdbSaveRawString` does: integer encoding for a canonical
/// integer of up to 11 characters that fits 32 bits, else LZF or raw.
pub(crate) fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11
        && let Some(v) = crate::num::parse_i64_strict(s)
        && put_int_enc(out, v)
    {
        return;
    }
    put_raw_or_lzf(out, s, compress);
}

/// Appends an integer-valued string: its integer encoding, or its digits.
fn put_int_string(out: &mut Vec<u8>, v: i64) {
    if !put_int_enc(out, v) {
        let mut buf = [0u8; 20];
        let d = crate::ops::fmt_i64(v, &mut buf);
        put_len(out, d.len() as u64);
        out.extend_from_slice(d);
    }
}

/// Runs `f` with a reusable buffer for building a blob (listpack, intset).
fn with_blob(f: impl FnOnce(&mut Vec<u8>)) {
    let taken = SCRATCH.with(|sc| sc.try_borrow_mut().map(|mut s| std::mem::take(&mut s.blob)));
    let mut blob = taken.unwrap_or_default();
    blob.clear();
    f(&mut blob);
    SCRATCH.with(|sc| {
        if let Ok(mut s) = sc.try_borrow_mut() {
            // Keep the buffer for the next blob unless it grew huge (one big list).
            if blob.capacity() <= 1 << 20 {
                s.blob = blob;
            }
        }
    });
}

/// The eviction hint written before a key, as Redis 7.0 writes one under its
/// `maxmemory-policy`: the idle time in seconds under an LRU policy (`IDLE`), the decayed
/// LFU counter under an LFU policy (`FREQ`), nothing under the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessHint {
    None,
    IdleSecs(u64),
    Freq(u8),
}

impl AccessHint {
    /// Whether a save under `policy` writes hints.
    pub(crate) fn saved_under(policy: EvictionPolicy) -> bool {
        matches!(
            policy,
            EvictionPolicy::AllKeysLru
                | EvictionPolicy::VolatileLru
                | EvictionPolicy::AllKeysLfu
                | EvictionPolicy::VolatileLfu
        )
    }

    /// The hint saved for a key whose access stamp is `stamp`, under `policy` (Redis writes
    /// `IDLE` only under the LRU policies, `FREQ` only under the LFU ones).
    pub(crate) fn of(t: &Tracking, policy: EvictionPolicy, stamp: u32) -> AccessHint {
        match policy {
            EvictionPolicy::AllKeysLru | EvictionPolicy::VolatileLru => {
                AccessHint::IdleSecs(t.idle_ms(stamp) / 1000)
            }
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu => {
                AccessHint::Freq(t.lfu_decayed(stamp))
            }
            _ => AccessHint::None,
        }
    }
}

/// Appends one key-value record to `out`: an `EXPIRETIME_MS` opcode first when `expire_at_ms`
/// is set, then the value type, the key and the value, in an encoding Redis 7.0 loads.
#[allow(dead_code)] // tests; the snapshot calls `write_entry_hinted`
pub(crate) fn write_entry(
    out: &mut Vec<u8>,
    key: &[u8],
    val: View<'_>,
    expire_at_ms: Option<i64>,
    opts: &SaveOptions,
) {
    write_entry_hinted(out, key, val, expire_at_ms, AccessHint::None, opts);
}

/// [`write_entry`] with the key's eviction hint (`IDLE` or `FREQ`) between the expire time
/// and the value type, in Redis's order.
pub(crate) fn write_entry_hinted(
    out: &mut Vec<u8>,
    key: &[u8],
    val: View<'_>,
    expire_at_ms: Option<i64>,
    hint: AccessHint,
    opts: &SaveOptions,
) {
    if let Some(t) = expire_at_ms {
        out.push(RDB_OPCODE_EXPIRETIME_MS);
        out.extend_from_slice(&t.to_le_bytes());
    }
    match hint {
        AccessHint::None => {}
        AccessHint::IdleSecs(s) => {
            out.push(RDB_OPCODE_IDLE);
            put_len(out, s);
        }
        AccessHint::Freq(f) => {
            out.push(RDB_OPCODE_FREQ);
            out.push(f);
        }
    }
    write_object(out, Some(key), val, opts.compression);
}

/// Appends a value's type byte, then (with `key`) the key, then the value: the part of a
/// record after its opcodes; without a key, the body of a DUMP payload (Redis's
/// `rdbSaveObjectType` + `rdbSaveObject`).
pub(crate) fn write_object(out: &mut Vec<u8>, key: Option<&[u8]>, val: View<'_>, c: bool) {
    let put_key = |out: &mut Vec<u8>| {
        if let Some(k) = key {
            put_string(out, k, c);
        }
    };
    let value = match val {
        View::Inline(s) => {
            out.push(RDB_TYPE_STRING);
            put_key(out);
            put_string(out, s, c);
            return;
        }
        View::Int(i) => {
            out.push(RDB_TYPE_STRING);
            put_key(out);
            put_int_string(out, i);
            return;
        }
        View::Value(v) => v,
    };
    match value {
        Value::Str(s) => {
            out.push(RDB_TYPE_STRING);
            put_key(out);
            put_string(out, s, c);
        }
        Value::Set(set) => match set.ints() {
            Some(ints) => {
                out.push(RDB_TYPE_SET_INTSET);
                put_key(out);
                with_blob(|b| {
                    intset_blob(b, ints);
                    put_raw_or_lzf(out, b, c);
                });
            }
            None => {
                out.push(RDB_TYPE_SET);
                put_key(out);
                put_len(out, set.len() as u64);
                set.for_each(|m| put_string(out, m, c));
            }
        },
        Value::ZSet(z) => {
            if z.encoding() == "listpack" {
                out.push(RDB_TYPE_ZSET_LISTPACK);
                put_key(out);
                with_blob(|b| {
                    let mut lp = listpack::Writer::new(b);
                    z.walk(0, false, |m, s| {
                        lp.push_str(m);
                        lp.push_score(s);
                        true
                    });
                    lp.finish();
                    put_raw_or_lzf(out, b, c);
                });
            } else {
                out.push(RDB_TYPE_ZSET_2);
                put_key(out);
                put_len(out, z.len() as u64);
                // Highest first: Redis loads by inserting at the head.
                if let Some(last) = z.len().checked_sub(1) {
                    z.walk(last, true, |m, s| {
                        put_string(out, m, c);
                        out.extend_from_slice(&s.to_le_bytes());
                        true
                    });
                }
            }
        }
        Value::Hash(h) => {
            if h.is_table() {
                out.push(RDB_TYPE_HASH);
                put_key(out);
                put_len(out, h.len() as u64);
                for (f, v) in h.iter() {
                    put_string(out, f, c);
                    put_string(out, v, c);
                }
            } else {
                out.push(RDB_TYPE_HASH_LISTPACK);
                put_key(out);
                with_blob(|b| {
                    let mut lp = listpack::Writer::new(b);
                    for (f, v) in h.iter() {
                        lp.push_str(f);
                        lp.push_str(v);
                    }
                    lp.finish();
                    put_raw_or_lzf(out, b, c);
                });
            }
        }
        Value::List(l) => {
            out.push(RDB_TYPE_LIST_QUICKLIST_2);
            put_key(out);
            write_quicklist(out, l, c);
        }
        Value::Bloom(b) => {
            out.push(RDB_TYPE_MODULE_2);
            put_key(out);
            module::write_bloom(out, b);
        }
        Value::Cms(m) => {
            out.push(RDB_TYPE_MODULE_2);
            put_key(out);
            module::write_cms(out, m);
        }
        #[cfg(test)]
        Value::TestList(v) => {
            out.push(RDB_TYPE_STRING);
            put_key(out);
            put_string(out, v, c);
        }
    }
}

/// An intset blob: encoding width (2, 4 or 8), count, then the members ascending, all LE.
fn intset_blob(b: &mut Vec<u8>, ints: &[i64]) {
    let (lo, hi) = (
        ints.first().copied().unwrap_or(0),
        ints.last().copied().unwrap_or(0),
    );
    let width: u32 = if i16::try_from(lo).is_ok() && i16::try_from(hi).is_ok() {
        2
    } else if i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok() {
        4
    } else {
        8
    };
    b.extend_from_slice(&width.to_le_bytes());
    b.extend_from_slice(&(ints.len() as u32).to_le_bytes());
    for &v in ints {
        match width {
            2 => b.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => b.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => b.extend_from_slice(&v.to_le_bytes()),
        }
    }
}

/// Listpack bytes a quicklist node may reach (`list-max-listpack-size -2`).
const NODE_MAX_BYTES: usize = 8 * 1024;

/// Redis 7.0's `SIZE_ESTIMATE_OVERHEAD`: what it adds to an element's length to estimate its
/// listpack entry when deciding whether it fits a node.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;

/// Whether element `e` joins a node of `size` listpack bytes holding `count` elements, by
/// Redis 7.0's rule for a list filled at its tail (`_quicklistNodeAllowInsert`: the node's
/// bytes + the element's length + 8 within the limit). Chunking a list like that gives a
/// list built by RPUSH the nodes Redis gives it, so its DUMP payload and RDB record are
/// Redis's byte for byte. (The estimate exceeds the entry's real size, so a node stays
/// within the limit.)
fn joins_node(size: usize, count: usize, e: &[u8]) -> bool {
    count > 0
        && size + e.len() + SIZE_ESTIMATE_OVERHEAD <= NODE_MAX_BYTES
        && count < u16::MAX as usize
}

fn write_quicklist(out: &mut Vec<u8>, l: &crate::list::List, c: bool) {
    // Count the nodes first (the record starts with their number), sizing them as they will
    // be written.
    let mut nodes = 0u64;
    let mut size = 0usize;
    let mut count = 0usize;
    for e in l.iter_from(0) {
        if !joins_node(size, count, e) {
            nodes += 1;
            size = listpack::HEADER + 1;
            count = 0;
        }
        size += listpack::entry_size(e);
        count += 1;
    }
    put_len(out, nodes);
    with_blob(|b| {
        let mut it = l.iter_from(0).peekable();
        while it.peek().is_some() {
            let mut lp = listpack::Writer::new(b);
            let mut size = listpack::HEADER + 1;
            while let Some(e) = it.peek() {
                if lp.count() > 0 && !joins_node(size, lp.count(), e) {
                    break;
                }
                lp.push_str(e);
                size += listpack::entry_size(e);
                it.next();
            }
            lp.finish();
            put_len(out, QUICKLIST_NODE_CONTAINER_PACKED);
            put_raw_or_lzf(out, b, c);
        }
    });
}

/// Counts bytes and checksums them on their way to the writer.
struct Sum<'w, W: Write> {
    w: &'w mut W,
    crc: u64,
    n: u64,
    on: bool,
}

impl<W: Write> Sum<'_, W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        if self.on {
            self.crc = crc64(self.crc, b);
        }
        self.n += b.len() as u64;
        self.w.write_all(b)
    }
}

/// Writes a whole RDB file to `w`: the `REDIS0010` header, AUX fields (`redis-ver`,
/// `redis-bits`, `ctime`, `used-mem`, `aof-base`, plus `aux`), then for each database that has
/// chunks: `SELECTDB`, `RESIZEDB` (sizes from `db_sizes[db]` = (keys, keys with a TTL), hints
/// only) and its chunks' bytes. Chunks arrive in ascending database order. Then `EOF` and the
/// checksum (CRC64 of everything before it, or zeros). Returns the number of bytes written.
///
/// An `aux` entry named like a default field replaces it (`used-mem` is 0 unless given;
/// `redis-ver` is `7.0.15`, the Redis whose format and semantics we follow: Redis itself only
/// logs it when loading).
///
/// # Errors
/// What `w` returns.
#[allow(dead_code)] // called by the snapshot (`snapshot.rs`)
pub(crate) fn write_file<W: Write>(
    w: &mut W,
    opts: &SaveOptions,
    aux: &[(&str, &[u8])],
    db_sizes: &[(u64, u64)],
    chunks: impl Iterator<Item = Chunk>,
) -> io::Result<u64> {
    let mut s = Sum {
        w,
        crc: 0,
        n: 0,
        on: opts.checksum,
    };
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    let ctime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ctime = ctime.to_string();
    let defaults: [(&str, &[u8]); 5] = [
        ("redis-ver", b"7.0.15"),
        ("redis-bits", b"64"),
        ("ctime", ctime.as_bytes()),
        ("used-mem", b"0"),
        ("aof-base", b"0"),
    ];
    let given = |name: &str| aux.iter().any(|(n, _)| *n == name);
    for (name, val) in defaults.iter().filter(|(n, _)| !given(n)).chain(aux.iter()) {
        head.push(RDB_OPCODE_AUX);
        put_string(&mut head, name.as_bytes(), opts.compression);
        put_string(&mut head, val, opts.compression);
    }
    s.put(&head)?;
    let mut current: Option<usize> = None;
    for chunk in chunks {
        if current != Some(chunk.db) {
            current = Some(chunk.db);
            head.clear();
            head.push(RDB_OPCODE_SELECTDB);
            put_len(&mut head, chunk.db as u64);
            let (keys, expires) = db_sizes.get(chunk.db).copied().unwrap_or((0, 0));
            head.push(RDB_OPCODE_RESIZEDB);
            put_len(&mut head, keys);
            put_len(&mut head, expires);
            s.put(&head)?;
        }
        s.put(&chunk.bytes)?;
    }
    s.put(&[RDB_OPCODE_EOF])?;
    let crc = if opts.checksum { s.crc } else { 0 };
    s.put(&crc.to_le_bytes())?;
    Ok(s.n)
}
