//! A set of binary strings: the value type and the typed [`SetOps`] API.

use crate::keyspace::Keyspace;

/// A set of binary strings. Invisible encodings are an internal matter; the API sees elements only.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Set {
    len: usize,
}

impl Set {
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

/// The set commands, for [`crate::Cache`] and [`crate::Transaction`].
pub trait SetOps: Keyspace {}

impl<K: Keyspace + ?Sized> SetOps for K {}
