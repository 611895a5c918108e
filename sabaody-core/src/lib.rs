//! The Sabaody keyspace: a typed, sharded, thread-safe Redis-like cache. No I/O, no RESP.
//!
//! API changes: none to existing signatures. Added since the first commit:
//! `Keyspace::{move_key, swap_db, object_encoding, memory_usage, incr_by_float_text}`, `CoarseClock`, `Error::DecrementOverflow`
//! (`ERR decrement would overflow`, DECRBY with i64::MIN), `ListOps::{pop_for_blocked,
//! lmove_for_blocked}`. Behaviour: `getex` now looks the key up (nil / WRONGTYPE) before
//! validating the time, as Redis 7.0 does; `Cache::change_count` counts as Redis's
//! `server.dirty` (per element for collection writes, nothing for expiry and eviction)
//! instead of once per written key.
//!
//! # Use
//!
//! ```
//! use sabaody_core::{Cache, Keyspace, SetOptions, SetExpiry, ExpireCondition};
//!
//! let cache = Cache::builder().build();
//! // strings
//! cache.set("greeting", "hello").unwrap();
//! assert_eq!(cache.append("greeting", " world").unwrap(), 11);
//! assert_eq!(&cache.getrange("greeting", 0, 4).unwrap()[..], b"hello");
//! // integers and floats, with Redis's rules
//! assert_eq!(cache.incr_by("n", 5).unwrap(), 5);
//! assert_eq!(&cache.incr_by_float("f", 10.5).unwrap()[..], b"10.5");
//! cache.set("bad", "01").unwrap();
//! assert!(cache.incr("bad").is_err());
//! // TTLs
//! let opts = SetOptions { expiry: Some(SetExpiry::Ex(60)), ..SetOptions::default() };
//! cache.set_with("session", "s3cr3t", &opts).unwrap();
//! assert!(cache.ttl("session") > 58);
//! assert!(cache.expire("greeting", 10, ExpireCondition::Nx).unwrap());
//! // keys
//! assert_eq!(cache.exists(&["n", "n", "missing"]), 2);
//! let mut found = cache.keys("g*");
//! assert_eq!(found.pop().as_deref(), Some(&b"greeting"[..]));
//! // numbered databases share one store
//! let db1 = cache.db(1).unwrap();
//! assert_eq!(db1.dbsize(), 0);
//! ```
//!
//! # Layout
//!
//! ```text
//!  Cache (Arc<Store>, db index)   Cache::db(i) -> another handle on the same Store
//!    │
//!    ▼
//!  Store: databases × shards_per_db slots, one hasher (foldhash, random seed), one Clock,
//!         optional housekeeping thread (active expiry, hz times a second)
//!    │  key ──hash──▶ shard = db * shards_per_db + (hash >> 32) % shards_per_db
//!    ▼
//!  Slot (cache-line aligned): RwLock<Shard> + hit/miss counters
//!  Shard: HashTable<u32> ──offset──▶ arena: Vec<u8> of records
//!         [flags|lru|klen|vlen|expire-at?|key|value]   (strings ≤ 48 B inline,
//!          integers as i64, larger strings and other types in a slab of `Value`s)
//! ```
//!
//! * `access.rs`: how an operation reaches shards — through their locks (`Cache`) or through
//!   guards already held (`Transaction`); `keyspace.rs`: the public [`Keyspace`] trait;
//!   `ops/`: the operations (one file per family), written once for both.
//! * `shard.rs`: the record arena, compaction, the per-shard active-expiry step.
//! * `expire.rs`: the Redis-style active expiry cycle; `clock.rs`: [`SystemClock`],
//!   [`CoarseClock`] (cached time, one atomic load) and [`ManualClock`] (tests);
//!   `num.rs`: Redis's integer/float rules; `ld.rs`: x87 `long double` emulation so
//!   INCRBYFLOAT prints exactly what Redis prints; `glob.rs`: Redis's glob.
//!
//! # Concurrency
//!
//! Every method takes `&self`. Single-key operations lock one shard (read or write);
//! multi-key operations (MSET, DEL k1 k2, RENAME, COPY) lock their shards in ascending
//! order, so they are atomic and cannot deadlock. [`Cache::transaction`] locks every shard
//! for a batch (MULTI/EXEC). [`Keyspace::key_version`] gives WATCH a per-shard change
//! counter.
//!
//! # Expiration
//!
//! Expire times are absolute Unix milliseconds. A key is expired once the clock is past its
//! time; every access checks (lazy expiry) and the active cycle ([`Cache::active_expire_cycle`],
//! run by the housekeeping thread unless disabled) reclaims keys nobody reads again.
//!
//! # Memory
//!
//! A key with a 16-byte name and a 16-byte value costs a 36-byte record (+6 with a TTL) plus
//! a 4-byte table slot and its control byte: about 48.5 bytes of RSS per key at 1M keys
//! (`cargo run --release --example memory_per_key`), +6 with a TTL. [`Cache::used_memory`]
//! reports the charged bytes of the whole store (all databases) in O(1).
//!
//! Room left for eviction: the record header's second byte (`lru`) is reserved for an LRU
//! clock / LFU counter and is preserved when a value is rewritten; flag bits 6 and 7 of the
//! first byte are free. Random sampling can use the table's bucket indices (as the active
//! expiry cycle and RANDOMKEY do).

mod access;
mod bits;
mod bloom;
mod cache;
mod clock;
mod cms;
mod error;
mod evict;
mod expire;
mod geo;
mod glob;
mod hash;
mod keyspace;
mod ld;
mod list;
pub mod num;
mod ops;
mod prefetch;
pub mod rdb;
mod rewrite;
mod set;
mod shard;
mod snapshot;
mod store;
mod value;
mod zset;

#[cfg(test)]
mod tests;

pub use access::Transaction;
pub use bits::{
    BitOp, BitOps, BitRange, BitUnit, BitfieldOp, BitfieldType, HllOps, MAX_BIT_OFFSET, Overflow,
};
pub use bloom::{Bloom, BloomConfig, BloomInfo, BloomOps};
pub use cache::{Cache, CacheBuilder, DbInfo, Stats};
pub use clock::{Clock, CoarseClock, ManualClock, SystemClock};
pub use cms::{Cms, CmsInfo, CmsOps};
pub use error::Error;
pub use evict::{
    EvictionListener, EvictionPolicy, MAX_EVICTIONS_PER_CALL, MissHook, RemovalCause, RemovalHook,
};
pub use expire::ExpireCycleStats;
pub use geo::pqsort::pqsort_range;
pub use geo::{
    Coord, GeoAddOptions, GeoCount, GeoFound, GeoFrom, GeoMatch, GeoOps, GeoSearch, GeoShape,
    GeoSort, GeoUnit, InvalidCoord,
};
pub use glob::glob_match;
pub use hash::HashOps;
pub use keyspace::{
    CopyOptions, ExpireCondition, GetExExpiry, Keyspace, ScanOptions, SetCondition, SetExpiry,
    SetOptions, SetOutcome,
};
pub use list::{ListEnd, ListIter, ListOps, LposOptions};
pub use rdb::{LoadOptions, LoadStats, RdbError, RdbSummary, SaveOptions, check_rdb};
pub use rewrite::CommandSnapshot;
pub use set::SetOps;
pub use shard::set_large_arena_floor;
pub use snapshot::{RdbSnapshot, SaveStats, SnapshotProgress};
pub use value::KeyType;
pub use zset::{
    Aggregate, LexBound, RangeBy, ScoreBound, Scored, ZAddOptions, ZRangeSpec, ZSetOps,
};

/// `use sabaody_core::prelude::*;` brings the handle, the [`Keyspace`] trait and the data-type
/// traits into scope.
pub mod prelude {
    pub use crate::{
        BitOps, BloomOps, Cache, CmsOps, GeoOps, HashOps, HllOps, Keyspace, ListOps, SetOps,
        ZSetOps,
    };
}
