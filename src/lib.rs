//! Sabaody: an in-memory data cache.
//!
//! This crate is what applications add. It re-exports [`sabaody_core`], the typed, thread-safe,
//! Redis-like keyspace; the Redis-compatible server lives in the `sabaody-server` crate.

pub use sabaody_core::*;
