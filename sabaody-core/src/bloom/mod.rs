//! A scalable Bloom filter: the value type and the typed [`BloomOps`] API.

use crate::keyspace::Keyspace;

/// A scalable Bloom filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Bloom {}

impl Bloom {
    /// Heap bytes owned by the value, its box included. Kept up to date on every change: O(1).
    pub(crate) fn charge(&self) -> usize {
        crate::value::heap_size(std::mem::size_of::<Self>())
    }
}

/// The Bloom-filter commands, for [`crate::Cache`] and [`crate::Transaction`].
pub trait BloomOps: Keyspace {}

impl<K: Keyspace + ?Sized> BloomOps for K {}
