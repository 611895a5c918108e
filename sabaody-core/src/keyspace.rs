//! The typed command surface, shared by [`crate::Cache`] and [`crate::Transaction`].

use crate::Error;
use crate::access::Access;
use crate::ops::{keys, string, ttl};
use crate::value::KeyType;
use bytes::Bytes;

/// `SET`'s NX / XX condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCondition {
    /// Always write (no flag).
    #[default]
    Always,
    /// `NX`: only if the key does not exist.
    IfAbsent,
    /// `XX`: only if the key exists.
    IfExists,
}

/// `SET`'s expiry option. Times are `i64` as clients send them; the keyspace checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetExpiry {
    /// `EX seconds` (must be > 0).
    Ex(i64),
    /// `PX milliseconds` (must be > 0).
    Px(i64),
    /// `EXAT unix-seconds` (must be > 0).
    ExAt(i64),
    /// `PXAT unix-milliseconds` (must be > 0).
    PxAt(i64),
    /// `KEEPTTL`: keep the key's current TTL.
    KeepTtl,
}

/// `GETEX`'s option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetExExpiry {
    /// `EX seconds`.
    Ex(i64),
    /// `PX milliseconds`.
    Px(i64),
    /// `EXAT unix-seconds`.
    ExAt(i64),
    /// `PXAT unix-milliseconds`.
    PxAt(i64),
    /// `PERSIST`: remove the TTL.
    Persist,
}

/// All of `SET`'s options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    /// NX / XX.
    pub condition: SetCondition,
    /// `GET`: return the previous value.
    pub get: bool,
    /// EX / PX / EXAT / PXAT / KEEPTTL; `None` clears any TTL, as a plain SET does.
    pub expiry: Option<SetExpiry>,
}

/// What `set_with` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written (false when NX/XX blocked it).
    pub written: bool,
    /// The previous value, when `SetOptions::get` was set and the key held a string.
    pub previous: Option<Bytes>,
}

/// `EXPIRE`'s NX / XX / GT / LT condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpireCondition {
    /// No flag.
    #[default]
    Always,
    /// `NX`: only if the key has no TTL.
    Nx,
    /// `XX`: only if the key has a TTL.
    Xx,
    /// `GT`: only if the new expiry is later than the current one (no TTL counts as infinite).
    Gt,
    /// `LT`: only if the new expiry is earlier than the current one (no TTL counts as infinite).
    Lt,
}

/// `SCAN`'s options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// `MATCH pattern` (Redis glob).
    pub pattern: Option<Vec<u8>>,
    /// `COUNT n`: how many keys to look at per call (a hint; default 10).
    pub count: usize,
    /// `TYPE name`.
    pub key_type: Option<KeyType>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            pattern: None,
            count: 10,
            key_type: None,
        }
    }
}

/// `COPY`'s options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyOptions {
    /// `DB destination-db`; `None` = the same database.
    pub db: Option<usize>,
    /// `REPLACE`: overwrite an existing destination.
    pub replace: bool,
}

/// The typed keyspace operations (Redis strings, integers, keys and TTLs).
///
/// Implemented by [`crate::Cache`] (each call locks the shards it needs) and by
/// [`crate::Transaction`] (all shards already locked), so command code can be generic:
/// `fn run<K: Keyspace>(ks: &K, ...)`. Bring it into scope with `use sabaody_core::Keyspace;`.
///
/// Keys and values are binary: anything `AsRef<[u8]>` goes in, [`Bytes`] comes out.
/// Expired keys are invisible to every method (and deleted when a method meets them).
pub trait Keyspace: Access {
    // ----- strings -----

    /// `GET key`: the string value, or `None` if the key does not exist.
    ///
    /// # Errors
    /// [`Error::WrongType`] if the key holds a non-string value.
    fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        string::get(self, key.as_ref())
    }

    /// Like [`Keyspace::get`] but lends the bytes to `f` under the shard lock instead of
    /// copying them out (a server writes them straight into its reply buffer).
    ///
    /// # Errors
    /// [`Error::WrongType`] if the key holds a non-string value.
    fn get_with<R>(
        &self,
        key: impl AsRef<[u8]>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, Error> {
        string::get_with(self, key.as_ref(), f)
    }

    /// `SET key value`: stores the string, clearing any TTL.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if a shard's arena would pass 4 GiB (or, later, maxmemory).
    fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), Error> {
        string::set(self, key.as_ref(), value.as_ref())
    }

    /// `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL]`.
    ///
    /// # Errors
    /// [`Error::InvalidExpireTime`] (`'set'`) for a non-positive or overflowing time;
    /// [`Error::WrongType`] with `GET` when the old value is not a string (nothing is written).
    fn set_with(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        opts: &SetOptions,
    ) -> Result<SetOutcome, Error> {
        string::set_with(self, key.as_ref(), value.as_ref(), opts)
    }

    /// `SETNX key value`: true if the key was set.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    fn setnx(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool, Error> {
        let opts = SetOptions {
            condition: SetCondition::IfAbsent,
            ..SetOptions::default()
        };
        Ok(string::set_with(self, key.as_ref(), value.as_ref(), &opts)?.written)
    }

    /// `SETEX key seconds value`.
    ///
    /// # Errors
    /// [`Error::InvalidExpireTime`] (`'setex'`) unless `seconds > 0` (and no overflow).
    fn setex(
        &self,
        key: impl AsRef<[u8]>,
        seconds: i64,
        value: impl AsRef<[u8]>,
    ) -> Result<(), Error> {
        string::set_ex_cmd(self, key.as_ref(), seconds, true, value.as_ref())
    }

    /// `PSETEX key milliseconds value`.
    ///
    /// # Errors
    /// [`Error::InvalidExpireTime`] (`'psetex'`) unless `ms > 0`.
    fn psetex(&self, key: impl AsRef<[u8]>, ms: i64, value: impl AsRef<[u8]>) -> Result<(), Error> {
        string::set_ex_cmd(self, key.as_ref(), ms, false, value.as_ref())
    }

    /// `GETDEL key`: the value, deleting the key.
    ///
    /// # Errors
    /// [`Error::WrongType`] (the key is kept).
    fn getdel(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        string::getdel(self, key.as_ref())
    }

    /// `GETEX key [EX|PX|EXAT|PXAT|PERSIST]`: the value, changing its TTL.
    ///
    /// As in Redis, a missing key answers `None` (and a non-string `WrongType`) before the
    /// time is validated, so the server should parse the time argument leniently too:
    /// `GETEX missing EX abc` is `nil` in Redis 7.0.
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::InvalidExpireTime`] (`'getex'`).
    fn getex(
        &self,
        key: impl AsRef<[u8]>,
        expiry: Option<GetExExpiry>,
    ) -> Result<Option<Bytes>, Error> {
        string::getex(self, key.as_ref(), expiry)
    }

    /// `MGET key...`: one entry per key, `None` for missing keys and non-strings. Atomic.
    fn mget<K: AsRef<[u8]>>(&self, keys: &[K]) -> Vec<Option<Bytes>> {
        string::mget(self, keys)
    }

    /// `MSET key value ...`: atomic over all keys.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    fn mset<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<(), Error> {
        string::mset(self, pairs, false).map(|_| ())
    }

    /// `MSETNX key value ...`: sets all or none; true if set.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`].
    fn msetnx<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<bool, Error> {
        string::mset(self, pairs, true)
    }

    /// `APPEND key value`: the new length. Keeps the TTL.
    ///
    /// # Errors
    /// [`Error::WrongType`]; [`Error::StringTooLong`] past 512 MiB.
    fn append(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<usize, Error> {
        string::append(self, key.as_ref(), value.as_ref())
    }

    /// `STRLEN key` (0 for a missing key).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn strlen(&self, key: impl AsRef<[u8]>) -> Result<usize, Error> {
        string::strlen(self, key.as_ref())
    }

    /// `GETRANGE key start end` (inclusive, negative counts from the end).
    ///
    /// # Errors
    /// [`Error::WrongType`].
    fn getrange(&self, key: impl AsRef<[u8]>, start: i64, end: i64) -> Result<Bytes, Error> {
        string::getrange(self, key.as_ref(), start, end)
    }

    /// `SETRANGE key offset value`: the new length (zero-padded). Keeps the TTL.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a negative offset; [`Error::WrongType`];
    /// [`Error::StringTooLong`] past 512 MiB.
    fn setrange(
        &self,
        key: impl AsRef<[u8]>,
        offset: i64,
        value: impl AsRef<[u8]>,
    ) -> Result<usize, Error> {
        string::setrange(self, key.as_ref(), offset, value.as_ref())
    }

    /// `INCR key`.
    ///
    /// # Errors
    /// [`Error::NotInteger`]; [`Error::Overflow`]; [`Error::WrongType`].
    fn incr(&self, key: impl AsRef<[u8]>) -> Result<i64, Error> {
        string::incr_by(self, key.as_ref(), 1)
    }

    /// `INCRBY key by`. Keeps the TTL.
    ///
    /// # Errors
    /// [`Error::NotInteger`] if the value is not a strict `i64` (`"01"`, `" 1"`, `"+1"` are
    /// not); [`Error::Overflow`]; [`Error::WrongType`].
    fn incr_by(&self, key: impl AsRef<[u8]>, by: i64) -> Result<i64, Error> {
        string::incr_by(self, key.as_ref(), by)
    }

    /// `DECR key`.
    ///
    /// # Errors
    /// As [`Keyspace::incr_by`].
    fn decr(&self, key: impl AsRef<[u8]>) -> Result<i64, Error> {
        string::incr_by(self, key.as_ref(), -1)
    }

    /// `DECRBY key by`.
    ///
    /// # Errors
    /// [`Error::DecrementOverflow`] for `i64::MIN`; otherwise as [`Keyspace::incr_by`].
    fn decr_by(&self, key: impl AsRef<[u8]>, by: i64) -> Result<i64, Error> {
        string::decr_by(self, key.as_ref(), by)
    }

    /// `INCRBYFLOAT key by`: the new value as Redis formats it (e.g. `"10.6"`, `"5200"`).
    ///
    /// # Errors
    /// [`Error::NotFloat`]; [`Error::NanOrInfinity`]; [`Error::WrongType`].
    fn incr_by_float(&self, key: impl AsRef<[u8]>, by: f64) -> Result<Bytes, Error> {
        string::incr_by_float(self, key.as_ref(), string::FloatArg::Float(by))
    }

    /// `INCRBYFLOAT key by` with the increment as the client's text, parsed like Redis's
    /// `strtold` (so increments with more than 17 significant digits, or beyond the `f64`
    /// range, give exactly Redis's answer).
    ///
    /// # Errors
    /// [`Error::NotFloat`] (stored value or increment); [`Error::NanOrInfinity`];
    /// [`Error::WrongType`].
    fn incr_by_float_text(
        &self,
        key: impl AsRef<[u8]>,
        by: impl AsRef<[u8]>,
    ) -> Result<Bytes, Error> {
        string::incr_by_float(self, key.as_ref(), string::FloatArg::Text(by.as_ref()))
    }

    // ----- keys -----

    /// `DEL key...`: how many existed. Atomic over all keys.
    fn del<K: AsRef<[u8]>>(&self, keys: &[K]) -> usize {
        keys::del(self, keys, false)
    }

    /// `UNLINK key...`: as [`Keyspace::del`], but large values are freed after the shard
    /// locks are released (on the calling thread), so freeing them does not stall other
    /// users of the shard.
    fn unlink<K: AsRef<[u8]>>(&self, keys: &[K]) -> usize {
        keys::del(self, keys, true)
    }

    /// `EXISTS key...`: how many of the keys exist, counting repeats.
    fn exists<K: AsRef<[u8]>>(&self, keys: &[K]) -> usize {
        keys::exists(self, keys)
    }

    /// Whether `key` exists, without side effects: unlike [`Keyspace::exists`] it records no
    /// access (LRU/LFU) and counts no keyspace hit or miss (for a server that needs to know
    /// whether a command removed a key, e.g. to report it).
    fn contains_key(&self, key: impl AsRef<[u8]>) -> bool {
        keys::present(self, key.as_ref()).is_some()
    }

    /// The type of `key`, with no side effects (as [`Keyspace::contains_key`]; `TYPE` itself
    /// is [`Keyspace::key_type`], which counts a keyspace hit or miss as Redis does).
    fn key_type_quiet(&self, key: impl AsRef<[u8]>) -> Option<KeyType> {
        crate::ops::read_key_silent(self, key.as_ref(), |s, r| s.key_type(r))
    }

    /// Whether `key` exists and has a time to live, with no side effects (as
    /// [`Keyspace::contains_key`]).
    fn has_ttl(&self, key: impl AsRef<[u8]>) -> bool {
        keys::present(self, key.as_ref()) == Some(true)
    }

    /// `TYPE key`: `None` when the key does not exist (Redis replies `none`).
    fn key_type(&self, key: impl AsRef<[u8]>) -> Option<KeyType> {
        keys::key_type(self, key.as_ref())
    }

    /// `RENAME src dst`: moves the value and its TTL, replacing `dst`.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`] if `src` does not exist.
    fn rename(&self, src: impl AsRef<[u8]>, dst: impl AsRef<[u8]>) -> Result<(), Error> {
        keys::rename(self, src.as_ref(), dst.as_ref(), false).map(|_| ())
    }

    /// `RENAMENX src dst`: true if renamed (false if `dst` exists or `src == dst`).
    ///
    /// # Errors
    /// [`Error::NoSuchKey`] if `src` does not exist.
    fn renamenx(&self, src: impl AsRef<[u8]>, dst: impl AsRef<[u8]>) -> Result<bool, Error> {
        keys::rename(self, src.as_ref(), dst.as_ref(), true)
    }

    /// `COPY src dst [DB db] [REPLACE]`: true if copied.
    ///
    /// # Errors
    /// [`Error::DbIndexOutOfRange`]; [`Error::SameObject`] when source and destination are
    /// the same key of the same database.
    fn copy(
        &self,
        src: impl AsRef<[u8]>,
        dst: impl AsRef<[u8]>,
        opts: &CopyOptions,
    ) -> Result<bool, Error> {
        keys::copy(self, src.as_ref(), dst.as_ref(), opts)
    }

    /// `KEYS pattern` (Redis glob). Visits every key of the database: O(n).
    fn keys(&self, pattern: impl AsRef<[u8]>) -> Vec<Bytes> {
        keys::keys(self, pattern.as_ref())
    }

    /// `SCAN cursor [MATCH p] [COUNT n] [TYPE t]`: the next cursor (0 = done) and a page.
    ///
    /// Guarantee (as Redis): a key present from the start to the end of a full scan is
    /// returned at least once, even while keys are added and removed; it may be returned
    /// more than once. Any cursor value is accepted; a made-up one just resumes somewhere.
    ///
    /// ```
    /// use sabaody_core::{Cache, Keyspace, ScanOptions};
    /// let cache = Cache::builder().build();
    /// for i in 0..100 {
    ///     cache.set(format!("user:{i}"), "x").unwrap();
    /// }
    /// let opts = ScanOptions { pattern: Some(b"user:1*".to_vec()), ..ScanOptions::default() };
    /// let (mut cursor, mut found) = (0, Vec::new());
    /// loop {
    ///     let (next, page) = cache.scan(cursor, &opts);
    ///     found.extend(page);
    ///     if next == 0 {
    ///         break;
    ///     }
    ///     cursor = next;
    /// }
    /// found.sort();
    /// found.dedup();
    /// assert_eq!(found.len(), 11); // user:1, user:10 ..= user:19
    /// ```
    fn scan(&self, cursor: u64, opts: &ScanOptions) -> (u64, Vec<Bytes>) {
        keys::scan(self, cursor, opts)
    }

    /// `DBSIZE`: keys in this database (expired keys not yet reclaimed included, as Redis).
    fn dbsize(&self) -> usize {
        keys::dbsize(self)
    }

    /// `FLUSHDB`: removes every key of this database; returns how many there were.
    fn flush(&self) -> usize {
        keys::flush(self, false)
    }

    /// `FLUSHALL`: removes every key of every database.
    fn flush_all(&self) -> usize {
        keys::flush(self, true)
    }

    /// `RANDOMKEY`: a random live key, `None` if the database is empty.
    fn random_key(&self) -> Option<Bytes> {
        keys::random_key(self)
    }

    /// `MOVE key db`: moves the key (with its TTL) to database `db`; false if it does not
    /// exist here or already exists there.
    ///
    /// # Errors
    /// [`Error::DbIndexOutOfRange`]; [`Error::SameObject`] when `db` is this database.
    fn move_key(&self, key: impl AsRef<[u8]>, db: usize) -> Result<bool, Error> {
        keys::move_key(self, key.as_ref(), db)
    }

    /// `SWAPDB a b`: atomically exchanges the contents of two databases (handles keep
    /// pointing at their index, so they see the other contents afterwards).
    ///
    /// # Errors
    /// [`Error::DbIndexOutOfRange`].
    fn swap_db(&self, a: usize, b: usize) -> Result<(), Error> {
        keys::swap_db(self, a, b)
    }

    // ----- TTL -----

    /// `EXPIRE key seconds [NX|XX|GT|LT]`: true if the TTL was set (a time in the past
    /// deletes the key and also returns true).
    ///
    /// ```
    /// use sabaody_core::{Cache, ExpireCondition, Keyspace};
    /// let cache = Cache::builder().build();
    /// cache.set("k", "v").unwrap();
    /// assert!(cache.expire("k", 100, ExpireCondition::Nx).unwrap());
    /// assert!(!cache.expire("k", 50, ExpireCondition::Gt).unwrap()); // 50 s is not later
    /// assert!(cache.expire("k", 50, ExpireCondition::Lt).unwrap());
    /// assert_eq!(cache.ttl("k"), 50);
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidExpireTime`] (`'expire'`) when the time overflows.
    fn expire(
        &self,
        key: impl AsRef<[u8]>,
        seconds: i64,
        cond: ExpireCondition,
    ) -> Result<bool, Error> {
        ttl::expire(self, key.as_ref(), seconds, true, true, cond, "expire")
    }

    /// `PEXPIRE key ms [NX|XX|GT|LT]`.
    ///
    /// # Errors
    /// [`Error::InvalidExpireTime`] (`'pexpire'`) when the time overflows.
    fn pexpire(
        &self,
        key: impl AsRef<[u8]>,
        ms: i64,
        cond: ExpireCondition,
    ) -> Result<bool, Error> {
        ttl::expire(self, key.as_ref(), ms, false, true, cond, "pexpire")
    }

    /// `EXPIREAT key unix-seconds [NX|XX|GT|LT]`.
    ///
    /// # Errors
    /// [`Error::InvalidExpireTime`] (`'expireat'`) when the time overflows.
    fn expire_at(
        &self,
        key: impl AsRef<[u8]>,
        unix_seconds: i64,
        cond: ExpireCondition,
    ) -> Result<bool, Error> {
        ttl::expire(
            self,
            key.as_ref(),
            unix_seconds,
            true,
            false,
            cond,
            "expireat",
        )
    }

    /// `PEXPIREAT key unix-ms [NX|XX|GT|LT]`.
    ///
    /// # Errors
    /// Never in practice; kept for symmetry ([`Error::InvalidExpireTime`] `'pexpireat'`).
    fn pexpire_at(
        &self,
        key: impl AsRef<[u8]>,
        unix_ms: i64,
        cond: ExpireCondition,
    ) -> Result<bool, Error> {
        ttl::expire(self, key.as_ref(), unix_ms, false, false, cond, "pexpireat")
    }

    /// `TTL key`: seconds left (rounded), -1 without TTL, -2 if the key does not exist.
    fn ttl(&self, key: impl AsRef<[u8]>) -> i64 {
        ttl::ttl(self, key.as_ref(), false, false)
    }

    /// `PTTL key`: milliseconds left, -1 without TTL, -2 if missing.
    fn pttl(&self, key: impl AsRef<[u8]>) -> i64 {
        ttl::ttl(self, key.as_ref(), true, false)
    }

    /// `EXPIRETIME key`: absolute Unix seconds, -1 without TTL, -2 if missing.
    fn expire_time(&self, key: impl AsRef<[u8]>) -> i64 {
        ttl::ttl(self, key.as_ref(), false, true)
    }

    /// `PEXPIRETIME key`: absolute Unix milliseconds, -1 without TTL, -2 if missing.
    fn pexpire_time(&self, key: impl AsRef<[u8]>) -> i64 {
        ttl::ttl(self, key.as_ref(), true, true)
    }

    /// `PERSIST key`: true if a TTL was removed.
    fn persist(&self, key: impl AsRef<[u8]>) -> bool {
        ttl::persist(self, key.as_ref())
    }

    // ----- misc -----

    /// `OBJECT ENCODING key`: `int` (integer-encoded string), `embstr` (short string stored
    /// inline), `raw`; `None` if the key does not exist.
    fn object_encoding(&self, key: impl AsRef<[u8]>) -> Option<&'static str> {
        keys::object_encoding(self, key.as_ref())
    }

    /// `OBJECT FREQ key`: the key's LFU counter after decay; `None` if the key does not exist.
    ///
    /// # Errors
    /// [`Error::LfuNotSelected`] unless an LFU eviction policy is selected (as Redis).
    fn object_freq(&self, key: impl AsRef<[u8]>) -> Result<Option<u8>, Error> {
        keys::object_freq(self, key.as_ref())
    }

    /// `OBJECT IDLETIME key`: seconds since the key was last accessed; `None` if the key does
    /// not exist.
    ///
    /// # Errors
    /// [`Error::LfuSelected`] while an LFU eviction policy is selected (as Redis).
    fn object_idletime(&self, key: impl AsRef<[u8]>) -> Result<Option<u64>, Error> {
        keys::object_idletime(self, key.as_ref())
    }

    /// `TOUCH key [key ...]`: records an access to each existing key (for LRU/LFU eviction);
    /// returns how many exist (repeats counted).
    fn touch<K: AsRef<[u8]>>(&self, keys: &[K]) -> usize {
        keys::touch(self, keys)
    }

    /// `MEMORY USAGE key`: bytes charged to [`crate::Cache::used_memory`] for this key
    /// (record, table share, out-of-line value); `None` if the key does not exist.
    fn memory_usage(&self, key: impl AsRef<[u8]>) -> Option<usize> {
        keys::memory_usage(self, key.as_ref())
    }

    /// A counter that changes whenever `key` may have changed (WATCH). It is per shard, so a
    /// change to another key of the same shard also changes it: a WATCH may abort without
    /// need (never the reverse).
    fn key_version(&self, key: impl AsRef<[u8]>) -> u64 {
        keys::key_version(self, key.as_ref())
    }

    /// The database index this handle works on.
    fn db_index(&self) -> usize {
        self.db_index_raw()
    }
}

impl Keyspace for crate::Cache {}
impl Keyspace for crate::Transaction<'_> {}
