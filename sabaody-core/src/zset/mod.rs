//! A sorted set: the value type and the typed [`ZSetOps`] API.

use crate::keyspace::Keyspace;

/// A sorted set. Invisible encodings are an internal matter; the API sees elements only.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ZSet {
    len: usize,
}

impl ZSet {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when no element is left (the key is then deleted).
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes owned by the value, its box included. Kept up to date on every change: O(1).
    pub(crate) fn charge(&self) -> usize {
        crate::value::heap_size(std::mem::size_of::<Self>())
    }

    /// `OBJECT ENCODING` name.
    pub(crate) fn encoding(&self) -> &'static str {
        "listpack"
    }
}

/// The sorted-set commands, for [`crate::Cache`] and [`crate::Transaction`].
pub trait ZSetOps: Keyspace {}

impl<K: Keyspace + ?Sized> ZSetOps for K {}
