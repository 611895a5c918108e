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

/// Where the parsed records go.
trait Sink {
    fn select_db(&mut self, db: u64) -> Result<(), String>;
    fn aux(&mut self, key: &[u8], val: &[u8]);
    fn skipped(&mut self, function: bool);
    fn entry(
        &mut self,
        ty: u8,
        key: &[u8],
        obj: Obj<'_>,
        expire: Option<i64>,
    ) -> Result<(), String>;
}

/// Walks the whole file, handing records to `sink`. Returns (version, verified, bytes).
fn parse<S: Sink>(
    buf: &[u8],
    opts: &LoadOptions,
    sink: &mut S,
) -> Result<(u32, bool, usize), RdbError> {
    let mut last_good = 0;
    parse_inner(buf, opts, sink, &mut last_good).map_err(|e| e.with_last_good(last_good))
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
                p.byte()?;
                continue;
            }
            RDB_OPCODE_IDLE => {
                p.len()?;
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
                p.len()?;
                p.len()?;
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
        let obj = p.object(ty, &mut bufs)?;
        sink.entry(ty, key, obj, expire.take())
            .map_err(|e| p.err_at(at, e))?;
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

    fn aux(&mut self, key: &[u8], val: &[u8]) {
        self.stats.aux.push((key.to_vec(), val.to_vec()));
    }

    fn skipped(&mut self, function: bool) {
        if function {
            self.stats.functions_skipped += 1;
        } else {
            self.stats.module_aux_skipped += 1;
        }
    }

    #[inline]
    fn entry(
        &mut self,
        _ty: u8,
        key: &[u8],
        obj: Obj<'_>,
        expire: Option<i64>,
    ) -> Result<(), String> {
        let data = match obj {
            Obj::Str(s) => Data::string(s),
            Obj::Int(i) => Data::Int(i),
            Obj::Value(v) => Data::Value(v),
            Obj::Empty => {
                self.stats.empty_skipped += 1;
                return Ok(());
            }
        };
        if expire.is_some_and(|t| t < self.now) {
            self.stats.expired_skipped += 1;
            return Ok(());
        }
        let store = &*self.cache.store;
        let h = store.hash(key);
        let gid = store.gid(self.db, h);
        let existed = self
            .cache
            .write(gid, |s| s.put(h, key, data, expire))
            .map_err(|e| format!("cannot store the key: {e}"))?;
        self.stats.keys += 1;
        if existed {
            self.stats.replaced += 1;
        }
        Ok(())
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
    /// modules' values), or a read error. Keys before the problem stay loaded.
    pub fn load_rdb(&self, r: &mut impl Read) -> Result<LoadStats, RdbError> {
        let mut buf = Vec::new();
        r.read_to_end(&mut buf)
            .map_err(|e| RdbError::new(buf.len(), format!("read error: {e}")))?;
        self.load_rdb_bytes(&buf, &LoadOptions::default())
    }

    /// [`Cache::load_rdb`] from a file already in memory.
    ///
    /// # Errors
    /// As [`Cache::load_rdb`].
    pub fn load_rdb_bytes(&self, bytes: &[u8], opts: &LoadOptions) -> Result<LoadStats, RdbError> {
        let mut sink = CacheSink {
            cache: self,
            db: 0,
            now: self.store.now(),
            stats: LoadStats::default(),
        };
        let (version, _, n) = parse(bytes, opts, &mut sink)?;
        sink.stats.version = version;
        sink.stats.bytes = n as u64;
        Ok(sink.stats)
    }
}

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
        ty: u8,
        _key: &[u8],
        obj: Obj<'_>,
        expire: Option<i64>,
    ) -> Result<(), String> {
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
