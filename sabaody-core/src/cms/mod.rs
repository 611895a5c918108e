//! A Count-Min sketch: the value type and the typed [`CmsOps`] API.

use crate::keyspace::Keyspace;

/// A Count-Min sketch.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Cms {}

impl Cms {
    /// Heap bytes owned by the value, its box included. Kept up to date on every change: O(1).
    pub(crate) fn charge(&self) -> usize {
        crate::value::heap_size(std::mem::size_of::<Self>())
    }
}

/// The Count-Min sketch commands, for [`crate::Cache`] and [`crate::Transaction`].
pub trait CmsOps: Keyspace {}

impl<K: Keyspace + ?Sized> CmsOps for K {}
