//! Loading a file into a [`Cache`], and checking one without loading it.
//!
//! The file is read whole into memory and parsed from the slice: strings that are stored raw
//! are copied once, straight into the keyspace, and nothing is allocated per key beyond the
//! key's own storage.

use super::read::{Bufs, Obj, Parser};
use super::*;
use crate::Cache;
use crate::access::Access;
use crate::shard::Data;
use crate::value::Value;
use std::collections::BTreeMap;
use std::io::Read;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Verify the CRC64 at the end of the file (Redis skips it under `rdbchecksum no`, and
    /// always for a file whose stored checksum is zero).
    pub verify_checksum: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            verify_checksum: true,
        }
    }
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadStats {
    /// RDB format version of the file.
    pub version: u32,
    /// Keys stored.
    pub keys: u64,
    /// Keys whose expire time had passed: skipped, as a Redis master does.
    pub expired_skipped: u64,
    /// Empty collections: skipped, as Redis 7.0 does.
    pub empty_skipped: u64,
    /// Keys that replaced a key already in the cache (or earlier in the file).
    pub replaced: u64,
    /// Function libraries (`FUNCTION2` records): skipped, Sabaody has no scripting.
    pub functions_skipped: u64,
    /// Module AUX records: skipped.
    pub module_aux_skipped: u64,
    /// The file's AUX fields, in order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Bytes read.
    pub bytes: u64,
}

/// What [`check_rdb`] found in a valid file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RdbSummary {
    /// RDB format version.
    pub version: u32,
    /// Keys per database index.
    pub keys_per_db: BTreeMap<u64, u64>,
    /// Keys with an expire time (passed or not).
    pub keys_with_expiry: u64,
    /// Records per RDB value type (`string`, `zset-listpack`, `module`, ...).
    pub types: BTreeMap<&'static str, u64>,
    /// Empty collections (a loader skips them).
    pub empty: u64,
    /// Function libraries and module AUX records (a loader skips them).
    pub skipped_records: u64,
    /// The AUX fields.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether a checksum was present and verified (false: zero or not checked).
    pub checksum_verified: bool,
    /// Bytes up to the end of the checksum.
    pub bytes: u64,
}

impl RdbSummary {
    /// Total keys over all databases.
    #[must_use]
    pub fn keys(&self) -> u64 {
        self.keys_per_db.values().sum()
    }
}

/// A report in the spirit of `redis-check-rdb`'s:
///
/// ```text
/// RDB version 10, 22888996 bytes, checksum OK
/// AUX redis-ver = 7.0.15
/// db 0: 1000000 keys
/// 1000000 keys in all, 12 with an expire time
/// type string: 1000000
/// ```
impl std::fmt::Display for RdbSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sum = if self.checksum_verified {
            "checksum OK"
        } else {
            "checksum not verified"
        };
        writeln!(
            f,
            "RDB version {}, {} bytes, {sum}",
            self.version, self.bytes
        )?;
        for (k, v) in &self.aux {
            writeln!(
                f,
                "AUX {} = {}",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(v)
            )?;
        }
        for (db, n) in &self.keys_per_db {
            writeln!(f, "db {db}: {n} keys")?;
        }
        writeln!(
            f,
            "{} keys in all, {} with an expire time",
            self.keys(),
            self.keys_with_expiry
        )?;
        for (t, n) in &self.types {
            writeln!(f, "type {t}: {n}")?;
        }
        if self.empty > 0 {
            writeln!(f, "{} empty collections (skipped when loading)", self.empty)?;
        }
        if self.skipped_records > 0 {
            writeln!(
                f,
                "{} function / module AUX records (skipped when loading)",
                self.skipped_records
            )?;
        }
        Ok(())
    }
}

/// Where the parsed records go.
trait Sink {
    /// Whether this sink takes `key` (else its value is skipped, not decoded).
    fn wants(&mut self, _key: &[u8]) -> bool {
        true
    }
    fn select_db(&mut self, db: u64) -> Result<(), String>;
    /// A `RESIZEDB` hint: the current database holds `keys` keys; `remaining` bytes of the
    /// file follow.
    fn resize_db(&mut self, _keys: u64, _remaining: usize) {}
    fn aux(&mut self, key: &[u8], val: &[u8]);
    fn skipped(&mut self, function: bool);
    /// A record that starts at byte `at`.
    fn entry(
        &mut self,
        at: usize,
        ty: u8,
        key: &[u8],
        obj: Obj<'_>,
        expire: Option<i64>,
        hint: Hint,
    ) -> Result<(), RdbError>;
    /// After the last record (or an error): stores what is still buffered.
    fn finish(&mut self) -> Result<(), RdbError> {
        Ok(())
    }
}

/// The eviction hints read before a key: `IDLE` (seconds) and `FREQ` (an LFU counter).
#[derive(Debug, Clone, Copy, Default)]
struct Hint {
    idle_secs: Option<u64>,
    freq: Option<u8>,
}

/// Walks the whole file, handing records to `sink`. Returns (version, verified, bytes).
fn parse<S: Sink>(
    buf: &[u8],
    opts: &LoadOptions,
    sink: &mut S,
) -> Result<(u32, bool, usize), RdbError> {
    let mut last_good = 0;
    let parsed =
        parse_inner(buf, opts, sink, &mut last_good).map_err(|e| e.with_last_good(last_good));
    let stored = sink.finish();
    let out = parsed?;
    stored?;
    Ok(out)
}

fn parse_inner<S: Sink>(
    buf: &[u8],
    opts: &LoadOptions,
    sink: &mut S,
    last_good: &mut usize,
) -> Result<(u32, bool, usize), RdbError> {
    let mut p = Parser::new(buf);
    let magic = p
        .take(5)
        .map_err(|_| RdbError::new(0, "file too short for an RDB header"))?;
    if magic != b"REDIS" {
        return Err(RdbError::new(0, "wrong signature: not an RDB file"));
    }
    let digits = p.take(4)?;
    let version = std::str::from_utf8(digits)
        .ok()
        .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|d| d.parse::<u32>().ok())
        .ok_or_else(|| RdbError::new(5, "malformed RDB version"))?;
    if !(1..=RDB_VERSION_MAX).contains(&version) {
        return Err(RdbError::new(
            5,
            format!("can't handle RDB format version {version} (up to {RDB_VERSION_MAX})"),
        ));
    }
    *last_good = p.pos;
    let mut bufs = Bufs::default();
    let mut key_buf = Vec::new();
    let mut aux_val = Vec::new();
    let mut expire: Option<i64> = None;
    let mut hint = Hint::default();
    loop {
        let at = p.pos;
        let ty = p.byte()?;
        match ty {
            RDB_OPCODE_EXPIRETIME_MS => {
                expire = Some(i64::from_le_bytes(p.array()?));
                continue;
            }
            RDB_OPCODE_EXPIRETIME => {
                let secs = i32::from_le_bytes(p.array()?);
                expire = Some(i64::from(secs) * 1000);
                continue;
            }
            RDB_OPCODE_FREQ => {
                hint.freq = Some(p.byte()?);
                continue;
            }
            RDB_OPCODE_IDLE => {
                hint.idle_secs = Some(p.len()?);
                continue;
            }
            RDB_OPCODE_AUX => {
                let k = p.string(&mut key_buf)?;
                let v = p.string(&mut aux_val)?;
                sink.aux(k, v);
                *last_good = p.pos;
                continue;
            }
            RDB_OPCODE_RESIZEDB => {
                let keys = p.len()?;
                p.len()?; // keys with an expire time: the TTL lives in the record here
                sink.resize_db(keys, buf.len().saturating_sub(p.pos));
                continue;
            }
            RDB_OPCODE_SELECTDB => {
                let db = p.len()?;
                sink.select_db(db).map_err(|e| p.err_at(at, e))?;
                *last_good = p.pos;
                continue;
            }
            RDB_OPCODE_MODULE_AUX => {
                p.len()?; // module id
                let when_op = p.len()?;
                if when_op != RDB_MODULE_OPCODE_UINT {
                    return Err(p.err_at(at, "module AUX record: bad 'when' opcode"));
                }
                p.len()?; // when
                module::skip_payload(&mut p)?;
                sink.skipped(false);
                *last_good = p.pos;
                continue;
            }
            RDB_OPCODE_FUNCTION2 => {
                p.skip_string()?;
                sink.skipped(true);
                *last_good = p.pos;
                continue;
            }
            RDB_OPCODE_FUNCTION_PRE_GA => {
                return Err(p.err_at(
                    at,
                    "function records of the pre-GA format are not supported",
                ));
            }
            RDB_OPCODE_EOF => break,
            t if type_name(t) == "unknown" => {
                return Err(p.err_at(at, format!("unknown value type {t}")));
            }
            _ => {}
        }
        let key = p.string(&mut key_buf)?;
        if !sink.wants(key) {
            p.skip_object(ty)?;
            expire = None;
            hint = Hint::default();
            *last_good = p.pos;
            continue;
        }
        let obj = p.object(ty, &mut bufs)?;
        sink.entry(at, ty, key, obj, expire.take(), std::mem::take(&mut hint))?;
        *last_good = p.pos;
    }
    let body_end = p.pos;
    let mut verified = false;
    if version >= 5 {
        let stored = u64::from_le_bytes(p.array()?);
        if stored != 0 && opts.verify_checksum {
            let actual = crc64(0, &buf[..body_end]);
            if actual != stored {
                return Err(p.err_at(
                    body_end,
                    format!("wrong checksum: expected {stored:016x}, computed {actual:016x}"),
                ));
            }
            verified = true;
        }
    }
    Ok((version, verified, p.pos))
}

struct CacheSink<'c> {
    cache: &'c Cache,
    db: usize,
    now: i64,
    stats: LoadStats,
    /// This worker takes the keys of the shards `gid % workers == worker`.
    worker: usize,
    workers: usize,
    /// Hash and shard of the key `wants` accepted last.
    pending: (u64, usize),
    batch: Batch,
}

impl Sink for CacheSink<'_> {
    fn select_db(&mut self, db: u64) -> Result<(), String> {
        let n = self.cache.store.databases;
        match usize::try_from(db) {
            Ok(d) if d < n => {
                self.db = d;
                Ok(())
            }
            _ => Err(format!(
                "database index {db} is out of range: the cache has {n} databases"
            )),
        }
    }

    /// Sizes this worker's shards of the database for the keys the file announces, so they
    /// do not rehash while loading (a fifth of the load time otherwise). The hint is not
    /// trusted: a record takes at least [`MIN_RECORD_BYTES`], so no more keys than the rest of
    /// the file can hold are reserved for.
    fn resize_db(&mut self, keys: u64, remaining: usize) {
        let store = &*self.cache.store;
        let most = (remaining / MIN_RECORD_BYTES) as u64;
        let keys = usize::try_from(keys.min(most)).unwrap_or(usize::MAX);
        let shards = store.shards_per_db.max(1);
        let per_shard = keys / shards;
        if per_shard == 0 {
            return;
        }
        // Keys spread over shards by hash: a margin of three standard deviations (and 1/64)
        // keeps nearly every shard from needing one more rehash at the end.
        let sd = (per_shard as f64).sqrt() as usize;
        let want = per_shard + 3 * sd + per_shard / 64;
        for gid in store.db_range(self.db) {
            if gid % self.workers == self.worker {
                self.cache.write(gid, |s| s.reserve(want));
            }
        }
    }

    #[inline]
    fn wants(&mut self, key: &[u8]) -> bool {
        let store = &*self.cache.store;
        let h = store.hash(key);
        let gid = store.gid(self.db, h);
        self.pending = (h, gid);
        gid % self.workers == self.worker
    }

    fn aux(&mut self, key: &[u8], val: &[u8]) {
        if self.worker == 0 {
            self.stats.aux.push((key.to_vec(), val.to_vec()));
        }
    }

    fn skipped(&mut self, function: bool) {
        if self.worker != 0 {
        } else if function {
            self.stats.functions_skipped += 1;
        } else {
            self.stats.module_aux_skipped += 1;
        }
    }

    #[inline]
    fn entry(
        &mut self,
        at: usize,
        _ty: u8,
        key: &[u8],
        obj: Obj<'_>,
        expire: Option<i64>,
        hint: Hint,
    ) -> Result<(), RdbError> {
        if matches!(obj, Obj::Empty) {
            self.stats.empty_skipped += 1;
            return Ok(());
        }
        if expire.is_some_and(|t| t < self.now) {
            self.stats.expired_skipped += 1;
            return Ok(());
        }
        let (h, gid) = self.pending;
        if self.batch.shards.len() <= gid {
            self.batch.shards.resize_with(gid + 1, ShardBuf::default);
        }
        let Some(sb) = self.batch.shards.get_mut(gid) else {
            return Ok(());
        };
        if sb.buf.is_empty() && sb.values.is_empty() {
            self.batch.touched.push(gid);
        }
        let before = sb.buf.len();
        sb.buf.extend_from_slice(&(at as u64).to_le_bytes());
        sb.buf.extend_from_slice(&h.to_le_bytes());
        // Redis restores the hint that fits the current policy: the counter under an LFU
        // policy, the idle time under any other.
        let tracking = &self.cache.store.tracking;
        let stamp = if tracking.policy().is_lfu() {
            hint.freq.map(|f| tracking.lfu_stamp(f))
        } else {
            hint.idle_secs
                .map(|s| tracking.lru_stamp_idle(s.saturating_mul(1000)))
        };
        sb.buf
            .push(u8::from(expire.is_some()) | (u8::from(stamp.is_some()) << 1));
        if let Some(t) = expire {
            sb.buf.extend_from_slice(&t.to_le_bytes());
        }
        if let Some(st) = stamp {
            sb.buf.extend_from_slice(&st.to_le_bytes());
        }
        sb.buf.extend_from_slice(&(key.len() as u64).to_le_bytes());
        sb.buf.extend_from_slice(key);
        match obj {
            Obj::Str(s) if s.len() <= crate::shard::INLINE_MAX => {
                sb.buf.push(K_BYTES);
                sb.buf.push(s.len() as u8);
                sb.buf.extend_from_slice(s);
            }
            Obj::Str(s) => {
                // Built now, so a long string is copied once (into its `Bytes`).
                sb.buf.push(K_VALUE);
                sb.values.push(Value::Str(bytes::Bytes::copy_from_slice(s)));
            }
            Obj::Int(i) => {
                sb.buf.push(K_INT);
                sb.buf.extend_from_slice(&i.to_le_bytes());
            }
            Obj::Value(v) => {
                sb.buf.push(K_VALUE);
                sb.values.push(v);
            }
            Obj::Empty => {}
        }
        self.batch.bytes += sb.buf.len() - before;
        self.batch.records += 1;
        if self.batch.records >= BATCH_RECORDS || self.batch.bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), RdbError> {
        self.flush()
    }
}

/// Records are buffered per shard before they are stored: storing a shard's records one
/// after another keeps its table and arena in cache and reads the buffer sequentially
/// (a record per random shard costs several cache misses each).
const BATCH_RECORDS: usize = 64 * 1024;
/// Bytes of buffered keys and short values at most.
const BATCH_BYTES: usize = 4 << 20;

// Buffered record: [offset in the file: u64][hash: u64][flags: u8: F_EXPIRE | F_STAMP]
// [expire: i64, with F_EXPIRE][access stamp: u32, with F_STAMP][key len: u64][key][kind: u8][value: K_BYTES len u8 + bytes | K_INT i64 | K_VALUE nothing: next of
// `values`], all LE.
const F_EXPIRE: u8 = 1;
const F_STAMP: u8 = 2;
const K_BYTES: u8 = 0;
const K_INT: u8 = 1;
const K_VALUE: u8 = 2;

#[derive(Default)]
struct ShardBuf {
    buf: Vec<u8>,
    values: Vec<Value>,
}

#[derive(Default)]
struct Batch {
    shards: Vec<ShardBuf>,
    touched: Vec<usize>,
    records: usize,
    bytes: usize,
}

/// A cursor over one shard's buffered records (written just above, so well-formed).
struct Rd<'b> {
    b: &'b [u8],
    p: usize,
}

impl<'b> Rd<'b> {
    fn bytes(&mut self, n: usize) -> &'b [u8] {
        let s = self.b.get(self.p..self.p + n).unwrap_or(&[]);
        self.p += n;
        s
    }
    fn u64(&mut self) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.bytes(8).get(..8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(w)
    }
    fn u32(&mut self) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.bytes(4).get(..4).unwrap_or(&[0; 4]));
        u32::from_le_bytes(w)
    }
    fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }
}

impl CacheSink<'_> {
    /// Stores the buffered records, one shard lock per shard, in file order within a shard
    /// (a key that appears twice keeps its last value).
    fn flush(&mut self) -> Result<(), RdbError> {
        let batch = &mut self.batch;
        batch.touched.sort_unstable();
        let mut result = Ok(());
        let (mut keys, mut replaced) = (0u64, 0u64);
        for &gid in &batch.touched {
            let Some(sb) = batch.shards.get_mut(gid) else {
                continue;
            };
            if result.is_ok() {
                let mut values = std::mem::take(&mut sb.values).into_iter();
                let mut rd = Rd { b: &sb.buf, p: 0 };
                result = self.cache.write(gid, |s| {
                    while rd.p < rd.b.len() {
                        let at = rd.u64() as usize;
                        let h = rd.u64();
                        let flags = rd.u8();
                        let ttl = (flags & F_EXPIRE != 0).then(|| rd.u64() as i64);
                        let stamp = (flags & F_STAMP != 0).then(|| rd.u32());
                        let klen = rd.u64() as usize;
                        let key = rd.bytes(klen);
                        let data = match rd.u8() {
                            K_BYTES => {
                                let n = usize::from(rd.u8());
                                Data::string(rd.bytes(n))
                            }
                            K_INT => Data::Int(rd.u64() as i64),
                            _ => match values.next() {
                                Some(v) => Data::Value(v),
                                None => return Err(RdbError::new(at, "loader buffer out of step")),
                            },
                        };
                        match s.put(h, key, data, ttl) {
                            Ok(existed) => {
                                keys += 1;
                                replaced += u64::from(existed);
                                if let Some(st) = stamp {
                                    s.set_stamp(h, key, st);
                                }
                            }
                            Err(e) => {
                                return Err(RdbError::new(
                                    at,
                                    format!("cannot store the key: {e}"),
                                ));
                            }
                        }
                    }
                    Ok(())
                });
            }
            sb.buf.clear();
            sb.values.clear();
        }
        batch.touched.clear();
        batch.records = 0;
        batch.bytes = 0;
        self.stats.keys += keys;
        self.stats.replaced += replaced;
        result
    }
}

impl Cache {
    /// Loads an RDB file (any version Redis 7.0 loads, and 11 from Redis 7.2) into the
    /// cache: every key of every database, with its expire time. Keys whose time has passed
    /// are skipped, as a Redis master does; a key that already exists is replaced. The
    /// memory bound is not applied while loading (as Redis). Reads `r` to its end first.
    ///
    /// # Errors
    /// [`RdbError`] for a file that is not valid RDB, a database index past
    /// [`Cache::databases`], a value of a type Sabaody does not have (streams, other
    /// modules' values), or a read error. Keys read before the problem stay loaded (with
    /// several loader threads, also some keys after it).
    pub fn load_rdb(&self, r: &mut impl Read) -> Result<LoadStats, RdbError> {
        let mut buf = Vec::new();
        r.read_to_end(&mut buf)
            .map_err(|e| RdbError::new(buf.len(), format!("read error: {e}")))?;
        self.load_rdb_bytes(&buf, &LoadOptions::default())
    }

    /// [`Cache::load_rdb`] from a file already in memory. A file of 4 MiB or more is loaded
    /// by one thread per core (up to 8), each storing its share of the shards.
    ///
    /// # Errors
    /// As [`Cache::load_rdb`].
    pub fn load_rdb_bytes(&self, bytes: &[u8], opts: &LoadOptions) -> Result<LoadStats, RdbError> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = if bytes.len() < PARALLEL_MIN_BYTES {
            1
        } else {
            cores.clamp(1, MAX_WORKERS)
        };
        self.load_rdb_workers(bytes, opts, workers)
    }

    /// The load with `workers` threads, each parsing the whole file and storing the keys of
    /// its share of the shards (`shard % workers`), skipping the other values undecoded:
    /// the parse is cheap next to storing, so storing in parallel is what pays.
    pub(crate) fn load_rdb_workers(
        &self,
        bytes: &[u8],
        opts: &LoadOptions,
        workers: usize,
    ) -> Result<LoadStats, RdbError> {
        let now = self.store.now();
        let run = |worker: usize| {
            let mut sink = CacheSink {
                cache: self,
                db: 0,
                now,
                stats: LoadStats::default(),
                worker,
                workers,
                pending: (0, 0),
                batch: Batch::default(),
            };
            parse(bytes, opts, &mut sink).map(|(version, _, n)| {
                sink.stats.version = version;
                sink.stats.bytes = n as u64;
                sink.stats
            })
        };
        let results: Vec<Result<LoadStats, RdbError>> = if workers <= 1 {
            vec![run(0)]
        } else {
            std::thread::scope(|s| {
                // A thread that cannot be started has its share loaded here instead.
                let handles: Vec<_> = (1..workers)
                    .map(|w| {
                        std::thread::Builder::new()
                            .name(format!("rdb-load-{w}"))
                            .spawn_scoped(s, move || run(w))
                            .map_err(|_| w)
                    })
                    .collect();
                let mut all = vec![run(0)];
                for h in handles {
                    all.push(match h {
                        Ok(h) => h
                            .join()
                            .unwrap_or_else(|_| Err(RdbError::new(0, "a loader thread panicked"))),
                        Err(w) => run(w),
                    });
                }
                all
            })
        };
        let mut total = LoadStats::default();
        let mut first_err: Option<RdbError> = None;
        for r in results {
            match r {
                Ok(st) => {
                    if total.aux.is_empty() {
                        total.aux = st.aux;
                    }
                    total.version = st.version;
                    total.bytes = st.bytes;
                    total.keys += st.keys;
                    total.expired_skipped += st.expired_skipped;
                    total.empty_skipped += st.empty_skipped;
                    total.replaced += st.replaced;
                    total.functions_skipped += st.functions_skipped;
                    total.module_aux_skipped += st.module_aux_skipped;
                }
                Err(e) => {
                    if first_err.as_ref().is_none_or(|f| e.offset() < f.offset()) {
                        first_err = Some(e);
                    }
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }
}

/// The smallest key record: type, key length and value length bytes (an empty key and
/// string).
const MIN_RECORD_BYTES: usize = 3;

/// Files smaller than this load on the calling thread alone.
const PARALLEL_MIN_BYTES: usize = 4 << 20;
/// Most loader threads.
const MAX_WORKERS: usize = 8;

#[derive(Default)]
struct CheckSink {
    summary: RdbSummary,
    db: u64,
}

impl Sink for CheckSink {
    fn select_db(&mut self, db: u64) -> Result<(), String> {
        self.db = db;
        Ok(())
    }
    fn aux(&mut self, key: &[u8], val: &[u8]) {
        self.summary.aux.push((key.to_vec(), val.to_vec()));
    }
    fn skipped(&mut self, _function: bool) {
        self.summary.skipped_records += 1;
    }
    fn entry(
        &mut self,
        _at: usize,
        ty: u8,
        _key: &[u8],
        obj: Obj<'_>,
        expire: Option<i64>,
        _hint: Hint,
    ) -> Result<(), RdbError> {
        *self.summary.types.entry(type_name(ty)).or_default() += 1;
        if matches!(obj, Obj::Empty) {
            self.summary.empty += 1;
            return Ok(());
        }
        *self.summary.keys_per_db.entry(self.db).or_default() += 1;
        if expire.is_some() {
            self.summary.keys_with_expiry += 1;
        }
        Ok(())
    }
}

/// Checks a whole RDB file without loading it: every record is decoded and validated as
/// [`Cache::load_rdb`] would, and the checksum verified.
///
/// # Errors
/// The first problem, with [`RdbError::last_good_offset`] the end of the last complete
/// record before it.
pub fn check_rdb(bytes: &[u8]) -> Result<RdbSummary, RdbError> {
    check_rdb_with(bytes, &LoadOptions::default())
}

/// [`check_rdb`] with options (e.g. without checksum verification).
///
/// # Errors
/// As [`check_rdb`].
pub fn check_rdb_with(bytes: &[u8], opts: &LoadOptions) -> Result<RdbSummary, RdbError> {
    let mut sink = CheckSink::default();
    let (version, verified, n) = parse(bytes, opts, &mut sink)?;
    sink.summary.version = version;
    sink.summary.checksum_verified = verified;
    sink.summary.bytes = n as u64;
    Ok(sink.summary)
}
