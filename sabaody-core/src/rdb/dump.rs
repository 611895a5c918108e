//! DUMP and RESTORE payloads: one value in the RDB encoding, as Redis 7.0's
//! `createDumpPayload` and `verifyDumpPayload` frame it.
//!
//! ```text
//! +-----------+----------------------------+------------------------+---------------------+
//! | type byte | value (as in an RDB record) | RDB version: u16 LE (10) | CRC64 (Jones): u64 LE |
//! +-----------+----------------------------+------------------------+---------------------+
//! ```
//!
//! The CRC covers everything before it. The value is written by the RDB writer
//! ([`super::write::write_object`], without the key) and read by the RDB parser
//! ([`super::read::Parser::object`]), so DUMP, RESTORE, SAVE and the loaders share one
//! encoder and one decoder, and RESTORE accepts every encoding the loader reads that Redis
//! 7.0 can put in a payload (listpack, intset, quicklist, ziplist-era ones). Like Redis, the
//! value is read from the whole payload (footer included: a value that runs into the footer
//! is read from it, and bytes left between the value and the footer are ignored), the
//! checksum is always verified (a zero CRC is not special in 7.0), and a version above 10 is
//! refused. Types Redis 7.0 does not know (20 and up, Redis 7.2's) are bad data, and so are
//! empty collections, as in Redis 7.0's `rdbLoadObject`.
//!
//! Nothing in a payload is trusted: the parser's bounds apply (no count sizes an allocation
//! beyond what the payload could hold, LZF lengths are checked against the input), and
//! every problem is a [`PayloadError`], never a panic.

use super::read::{Bufs, Obj, Parser};
use super::write::write_object;
use super::*;
use crate::Error;
use crate::keyspace::Keyspace;
use crate::ops::{live, locate, read_key};
use crate::shard::{Data, Owned};

/// Footer bytes: the RDB version (2) and the CRC64 (8).
const FOOTER: usize = 10;

/// The newest value type Redis 7.0 reads (`RDB_TYPE_STREAM_LISTPACKS_2`): its
/// `rdbIsObjectType` refuses the rest.
const LAST_TYPE_OF_7_0: u8 = RDB_TYPE_STREAM_LISTPACKS_2;

/// Why RESTORE refuses a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// Shorter than its footer, from an RDB version newer than 10, or its CRC64 does not
    /// match: `ERR DUMP payload version or checksum are wrong`.
    VersionOrChecksum,
    /// The value cannot be decoded (or is of a type Sabaody does not have, or empty):
    /// `ERR Bad data format`. The [`RdbError`] says where and why (for logs and tests).
    BadData(RdbError),
}

impl PayloadError {
    /// The error reply Redis 7.0 gives, without the leading `-`.
    #[must_use]
    pub fn redis_text(&self) -> &'static str {
        match self {
            PayloadError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            PayloadError::BadData(_) => "ERR Bad data format",
        }
    }
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadError::VersionOrChecksum => f.write_str(self.redis_text()),
            PayloadError::BadData(e) => write!(f, "{}: {e}", self.redis_text()),
        }
    }
}

impl std::error::Error for PayloadError {}

/// A value decoded from a payload, ready for [`restore`].
#[derive(Debug, Clone)]
pub struct DecodedValue(Owned);

impl DecodedValue {
    /// The value's type.
    #[must_use]
    pub fn key_type(&self) -> crate::KeyType {
        match &self.0 {
            Owned::Inline(_) | Owned::Int(_) => crate::KeyType::String,
            Owned::Value(v) => v.key_type(),
        }
    }
}

/// The payload of a value (see the module doc). `compression` as `rdbcompression`: strings
/// and packed blobs longer than 20 bytes are LZF-compressed when that saves 4 bytes or more.
pub(crate) fn payload_of(val: crate::shard::View<'_>, compression: bool) -> Vec<u8> {
    let mut p = Vec::new();
    write_object(&mut p, None, val, compression);
    p.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// Checks a payload's footer as Redis 7.0's `verifyDumpPayload`: at least 10 bytes, an RDB
/// version of at most 10, a matching CRC64. Returns the version.
///
/// # Errors
/// [`PayloadError::VersionOrChecksum`].
pub fn verify_payload(payload: &[u8]) -> Result<u16, PayloadError> {
    let bad = PayloadError::VersionOrChecksum;
    let body_end = payload.len().checked_sub(FOOTER).ok_or(bad.clone())?;
    let (summed, crc) = payload.split_at(body_end + 2);
    let ver = summed.get(body_end..).unwrap_or_default();
    let ver = u16::from_le_bytes(ver.try_into().map_err(|_| bad.clone())?);
    if u32::from(ver) > RDB_VERSION {
        return Err(bad);
    }
    let crc = u64::from_le_bytes(crc.try_into().map_err(|_| bad.clone())?);
    if crc64(0, summed) != crc {
        return Err(bad);
    }
    Ok(ver)
}

/// Verifies and decodes a payload (RESTORE's checks, in Redis's order).
///
/// # Errors
/// [`PayloadError::VersionOrChecksum`] from [`verify_payload`], then
/// [`PayloadError::BadData`] for a value that does not decode.
pub fn decode_payload(payload: &[u8]) -> Result<DecodedValue, PayloadError> {
    verify_payload(payload)?;
    decode_value(payload).map_err(PayloadError::BadData)
}

/// The value of a payload whose footer was checked: the type byte, then the value read from
/// the rest of the payload (footer included, as Redis reads it).
fn decode_value(payload: &[u8]) -> Result<DecodedValue, RdbError> {
    let mut p = Parser::new(payload);
    let ty = p.byte()?;
    if ty > LAST_TYPE_OF_7_0 {
        return Err(RdbError::new(0, format!("unknown value type {ty}")));
    }
    let mut bufs = Bufs::default();
    let owned = match p.object(ty, &mut bufs)? {
        Obj::Str(s) => match Data::string(s) {
            Data::Int(i) => Owned::Int(i),
            Data::Inline(b) => Owned::Inline(b.to_vec()),
            Data::Value(v) => Owned::Value(v),
        },
        Obj::Int(i) => Owned::Int(i),
        Obj::Value(v) => Owned::Value(v),
        Obj::Empty => return Err(RdbError::new(0, "empty collection")),
    };
    Ok(DecodedValue(owned))
}

/// `DUMP key`: the payload of the value at `key` (see the module doc), `None` if the key
/// does not exist. A read: it counts a keyspace hit or miss and records an access, as
/// Redis's `lookupKeyRead`. `compression`: the server's `rdbcompression`.
pub fn dump<K: Keyspace + ?Sized>(ks: &K, key: &[u8], compression: bool) -> Option<Vec<u8>> {
    read_key(ks, key, |s, r| payload_of(s.view(r), compression))
}

/// Whether `key` exists, as Redis's `lookupKeyWrite` sees it (RESTORE's `BUSYKEY` check):
/// an expired key is deleted first, and no keyspace hit or miss is counted.
pub fn exists_for_write<K: Keyspace + ?Sized>(ks: &K, key: &[u8]) -> bool {
    let store = ks.store();
    let (h, gid) = locate(ks, key);
    ks.write(gid, |s| live(s, store, h, key).is_some())
}

/// How [`restore`] stores a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestoreOptions {
    /// `REPLACE`: overwrite an existing key (else [`Restored::Busy`]).
    pub replace: bool,
    /// The TTL argument: 0 for none, else milliseconds from now, or with `absolute` (`ABSTTL`)
    /// a Unix time in milliseconds. Must be `>= 0` (the caller checks).
    pub ttl_ms: i64,
    /// `ABSTTL`.
    pub absolute: bool,
    /// `IDLETIME seconds`: the key's idle time, applied unless an LFU policy is selected.
    pub idle_secs: Option<u64>,
    /// `FREQ counter`: the key's LFU counter, applied under an LFU policy only.
    pub freq: Option<u8>,
}

/// What [`restore`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The key was stored, with this expire time (Unix milliseconds), if any.
    Stored {
        /// The absolute expire time, for propagation (Redis logs `ttl` as absolute with
        /// `ABSTTL`).
        expire_at_ms: Option<i64>,
    },
    /// The key exists and `replace` was not given: `BUSYKEY`.
    Busy,
    /// The expire time had already passed: nothing was stored; with `replace`, `deleted`
    /// says whether an existing key was deleted (Redis then propagates `DEL key`).
    Expired {
        /// An existing key was deleted.
        deleted: bool,
    },
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]` after its payload was
/// decoded ([`decode_payload`]): stores `value` at `key` as Redis 7.0's `restoreCommand`
/// does. A relative TTL is added to the current time (wrapping like Redis's `long long`, so
/// a TTL near `i64::MAX` lands in the past); a time already past stores nothing. The key
/// starts with a fresh access record, then `IDLETIME` or `FREQ` per the eviction policy,
/// as the RDB loader applies its hints.
///
/// # Errors
/// [`Error::OutOfMemory`] when the shard cannot hold the key.
pub fn restore<K: Keyspace + ?Sized>(
    ks: &K,
    key: &[u8],
    value: DecodedValue,
    opts: &RestoreOptions,
) -> Result<Restored, Error> {
    ks.make_room()?;
    let store = ks.store();
    let (h, gid) = locate(ks, key);
    ks.write(gid, |s| {
        let exists = live(s, store, h, key).is_some();
        if exists && !opts.replace {
            return Ok(Restored::Busy);
        }
        let at = match opts.ttl_ms {
            0 => None,
            t if opts.absolute => Some(t),
            t => Some(t.wrapping_add(store.now())),
        };
        if at.is_some_and(|t| t <= store.now()) {
            if exists {
                crate::evict::notify(store, s.db, key, crate::evict::RemovalCause::Removed);
                s.remove(h, key, false);
                s.count_changes(1);
            }
            return Ok(Restored::Expired { deleted: exists });
        }
        let mut buf = Vec::new();
        s.put(h, key, value.0.into_data(&mut buf), at)?;
        s.count_changes(1);
        let tracking = &store.tracking;
        let stamp = if tracking.policy().is_lfu() {
            opts.freq.map(|f| tracking.lfu_stamp(f))
        } else {
            opts.idle_secs
                .map(|secs| tracking.lru_stamp_idle(secs.saturating_mul(1000)))
        };
        // A replaced key keeps its slot's stamp: start it afresh, as Redis's new object.
        s.set_stamp(h, key, stamp.unwrap_or_else(|| tracking.initial(h)));
        Ok(Restored::Stored { expire_at_ms: at })
    })
}

/// The value as an owned [`Value`] (tests).
#[cfg(test)]
fn value_of(d: &DecodedValue) -> Option<&crate::value::Value> {
    match &d.0 {
        Owned::Value(v) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::{Cache, EvictionPolicy, ManualClock};

    fn framed(body: &[u8], ver: u16) -> Vec<u8> {
        let mut p = body.to_vec();
        p.extend_from_slice(&ver.to_le_bytes());
        let crc = crc64(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }

    #[test]
    fn a_string_payload_is_redis_7_0s() {
        let c = Cache::builder().housekeeping(false).build();
        c.set("s", "v").unwrap();
        // DUMP s from redis-server 7.0.15.
        let want = b"\x00\x01v\x0a\x00\x91\x08\xce\xb2\x19\x38\x8a\xce";
        assert_eq!(dump(&c, b"s", true).unwrap(), want);
        assert_eq!(dump(&c, b"nope", true), None);
        assert_eq!(verify_payload(want), Ok(10));
    }

    #[test]
    fn the_footer_is_checked() {
        let good = framed(b"\x00\x01v", 10);
        assert!(decode_payload(&good).is_ok());
        // Every shorter prefix fails, none panics.
        for n in 0..good.len() {
            assert!(decode_payload(&good[..n]).is_err(), "{n} bytes");
        }
        for n in 0..FOOTER {
            assert_eq!(
                verify_payload(&good[..n]),
                Err(PayloadError::VersionOrChecksum)
            );
        }
        // Any flipped bit anywhere breaks the checksum (or the version).
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                assert_eq!(
                    verify_payload(&bad),
                    Err(PayloadError::VersionOrChecksum),
                    "byte {i} bit {bit}"
                );
            }
        }
        // Versions up to 10 are taken, newer refused even with a good CRC; a zero CRC is
        // not a "no checksum" marker in 7.0.
        assert_eq!(verify_payload(&framed(b"\x00\x01v", 0)), Ok(0));
        assert_eq!(verify_payload(&framed(b"\x00\x01v", 9)), Ok(9));
        assert_eq!(
            verify_payload(&framed(b"\x00\x01v", 11)),
            Err(PayloadError::VersionOrChecksum)
        );
        let mut zero = good[..good.len() - 8].to_vec();
        zero.extend_from_slice(&[0; 8]);
        assert_eq!(verify_payload(&zero), Err(PayloadError::VersionOrChecksum));
    }

    #[test]
    fn values_are_read_as_redis_reads_them() {
        let bad = |body: &[u8]| {
            matches!(
                decode_payload(&framed(body, 10)),
                Err(PayloadError::BadData(_))
            )
        };
        // Bytes between the value and the footer are ignored.
        assert!(decode_payload(&framed(b"\x00\x01vjunk", 10)).is_ok());
        // A string that runs into the footer takes its bytes (Redis 7.0.15 restores
        // "v\n\0" and two CRC bytes).
        let p = framed(b"\x00\x05v", 10);
        let d = decode_payload(&p).unwrap();
        let Owned::Inline(s) = &d.0 else {
            panic!("{d:?}")
        };
        assert_eq!(&s[..3], b"v\n\0");
        assert_eq!(&s[3..], &p[5..7]);
        // Empty collections, unknown and 7.2-only types, empty bodies, truncated values.
        assert!(bad(b"\x02\x00"));
        assert!(bad(b"\x14\x00"));
        assert!(bad(b"\x08\x01v"));
        assert!(bad(b""));
        assert!(bad(b"\x02\x05\x01a"));
        assert!(bad(b"\x00\x40"));
        // A count far past what the payload holds fails before allocating.
        assert!(bad(b"\x02\x81\xff\xff\xff\xff\xff\xff\xff\xff"));
        assert!(bad(b"\x03\x80\xff\xff\xff\xff"));
        // LZF claiming a huge length from a few bytes.
        assert!(bad(b"\x00\xc3\x02\x80\x7f\xff\xff\xff\x00a"));
        // Duplicate set member.
        assert!(bad(b"\x02\x02\x01a\x01a"));
    }

    #[test]
    fn every_type_round_trips() {
        let c = Cache::builder().housekeeping(false).build();
        c.set("s", "hello").unwrap();
        c.set("i", "-12345").unwrap();
        c.set("big", "x".repeat(100)).unwrap();
        c.rpush("l", &["a", "b", "1"]).unwrap();
        c.sadd("si", &["1", "2", "3"]).unwrap();
        c.sadd("ss", &["a", "b"]).unwrap();
        c.zadd(
            "z",
            &crate::ZAddOptions::default(),
            &[(1.5, "a"), (2.0, "b")],
        )
        .unwrap();
        c.hset("h", &[("f", "v")]).unwrap();
        let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
        c.sadd("bigset", &many).unwrap();
        c.bf_add("bf", "x").unwrap();
        c.cms_init_by_dim("cms", 4, 2).unwrap();
        for k in [
            "s", "i", "big", "l", "si", "ss", "z", "h", "bigset", "bf", "cms",
        ] {
            for comp in [true, false] {
                let p = dump(&c, k.as_bytes(), comp).unwrap();
                let v = decode_payload(&p).unwrap();
                let dst = format!("{k}:copy");
                let r = restore(&c, dst.as_bytes(), v, &RestoreOptions::default()).unwrap();
                assert_eq!(r, Restored::Stored { expire_at_ms: None });
                assert_eq!(dump(&c, dst.as_bytes(), comp).unwrap(), p, "{k}");
                c.del(&[dst]);
            }
        }
        let v = decode_payload(&dump(&c, b"ss", true).unwrap()).unwrap();
        assert!(value_of(&v).is_some());
        assert_eq!(v.key_type(), crate::KeyType::Set);
    }

    #[test]
    fn restore_options() {
        let clock = ManualClock::new(1_000_000);
        let c = Cache::builder()
            .housekeeping(false)
            .clock(clock.clone())
            .build();
        let v = || decode_payload(&framed(b"\x00\x01v", 10)).unwrap();
        let plain = RestoreOptions::default();
        assert_eq!(
            restore(&c, b"k", v(), &plain).unwrap(),
            Restored::Stored { expire_at_ms: None }
        );
        assert_eq!(restore(&c, b"k", v(), &plain).unwrap(), Restored::Busy);
        let rel = RestoreOptions {
            replace: true,
            ttl_ms: 5_000,
            ..plain
        };
        assert_eq!(
            restore(&c, b"k", v(), &rel).unwrap(),
            Restored::Stored {
                expire_at_ms: Some(1_005_000)
            }
        );
        assert_eq!(c.pttl("k"), 5_000);
        // An absolute time already past: the old key is deleted, nothing stored.
        let past = RestoreOptions {
            replace: true,
            ttl_ms: 1_000_000,
            absolute: true,
            ..plain
        };
        assert_eq!(
            restore(&c, b"k", v(), &past).unwrap(),
            Restored::Expired { deleted: true }
        );
        assert_eq!(c.exists(&["k"]), 0);
        assert_eq!(
            restore(&c, b"k", v(), &past).unwrap(),
            Restored::Expired { deleted: false }
        );
        // A relative TTL that wraps lands in the past, as in Redis.
        let wrap = RestoreOptions {
            ttl_ms: i64::MAX,
            ..plain
        };
        assert_eq!(
            restore(&c, b"k", v(), &wrap).unwrap(),
            Restored::Expired { deleted: false }
        );
        // An expired key is not busy.
        restore(
            &c,
            b"t",
            v(),
            &RestoreOptions {
                ttl_ms: 10,
                ..plain
            },
        )
        .unwrap();
        clock.advance(std::time::Duration::from_millis(20));
        assert_eq!(
            restore(&c, b"t", v(), &plain).unwrap(),
            Restored::Stored { expire_at_ms: None }
        );
    }

    #[test]
    fn idletime_and_freq_follow_the_policy() {
        let clock = ManualClock::new(10_000_000);
        let lru = Cache::builder()
            .housekeeping(false)
            .clock(clock.clone())
            .eviction_policy(EvictionPolicy::AllKeysLru)
            .build();
        let lfu = Cache::builder()
            .housekeeping(false)
            .clock(clock.clone())
            .eviction_policy(EvictionPolicy::AllKeysLfu)
            .build();
        let v = || decode_payload(&framed(b"\x00\x01v", 10)).unwrap();
        let opts = RestoreOptions {
            idle_secs: Some(100),
            freq: Some(42),
            ..RestoreOptions::default()
        };
        restore(&lru, b"k", v(), &opts).unwrap();
        restore(&lfu, b"k", v(), &opts).unwrap();
        assert_eq!(lru.object_idletime("k").unwrap(), Some(100));
        assert_eq!(lfu.object_freq("k").unwrap(), Some(42));
        // Without hints a replaced key starts afresh.
        let fresh = RestoreOptions {
            replace: true,
            ..RestoreOptions::default()
        };
        restore(&lru, b"k", v(), &fresh).unwrap();
        assert_eq!(lru.object_idletime("k").unwrap(), Some(0));
        restore(&lfu, b"k", v(), &fresh).unwrap();
        assert_eq!(lfu.object_freq("k").unwrap(), Some(5));
    }
}
