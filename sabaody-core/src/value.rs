//! Values that live outside the shard arena, and the public type names.

use bytes::Bytes;

/// The type of a stored value, as `TYPE` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// A string (including integer-encoded strings).
    String,
    /// A list.
    List,
    /// A set.
    Set,
    /// A sorted set.
    ZSet,
    /// A hash.
    Hash,
    /// A scalable Bloom filter (RedisBloom's `MBbloom--`).
    Bloom,
    /// A Count-Min sketch (RedisBloom's `CMSk-TYPE`).
    Cms,
}

impl KeyType {
    /// The name `TYPE` replies with: `string`, `list`, `set`, `zset`, `hash`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::ZSet => "zset",
            KeyType::Hash => "hash",
            KeyType::Bloom => "MBbloom--",
            KeyType::Cms => "CMSk-TYPE",
        }
    }

    /// Parses a type name case-insensitively (as `SCAN ... TYPE name` does).
    #[must_use]
    pub fn from_name(name: &[u8]) -> Option<KeyType> {
        let all = [
            KeyType::String,
            KeyType::List,
            KeyType::Set,
            KeyType::ZSet,
            KeyType::Hash,
            KeyType::Bloom,
            KeyType::Cms,
        ];
        all.into_iter()
            .find(|t| t.as_str().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// A value too large or too structured to sit inline in a shard's arena.
///
/// Collections are boxed so a slab slot stays small. Each collection type keeps its own
/// byte count up to date on every change, so [`Value::charge`] is O(1) (it is called before and
/// after every in-place update).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A string longer than the inline limit: `GET` hands out a cheap clone.
    Str(Bytes),
    /// A set (`sets/`).
    Set(Box<crate::set::Set>),
    /// A sorted set (`zset/`).
    ZSet(Box<crate::zset::ZSet>),
    /// A hash (`hash/`).
    /// Not boxed: the hash handle is 16 bytes (a packed buffer or a boxed table).
    Hash(crate::hash::Hash),
    /// A list (`list/`).
    List(Box<crate::list::List>),
    /// A scalable Bloom filter (`bloom/`).
    Bloom(Box<crate::bloom::Bloom>),
    /// A Count-Min sketch (`cms/`).
    Cms(Box<crate::cms::Cms>),
    /// A stand-in non-string value so unit tests can exercise WRONGTYPE before the other
    /// data types exist.
    #[cfg(test)]
    TestList(Vec<u8>),
}

impl Value {
    pub(crate) fn key_type(&self) -> KeyType {
        match self {
            Value::Str(_) => KeyType::String,
            Value::Set(_) => KeyType::Set,
            Value::ZSet(_) => KeyType::ZSet,
            Value::Hash(_) => KeyType::Hash,
            Value::List(_) => KeyType::List,
            Value::Bloom(_) => KeyType::Bloom,
            Value::Cms(_) => KeyType::Cms,
            #[cfg(test)]
            Value::TestList(_) => KeyType::List,
        }
    }

    /// True for a collection with no elements left: the key holding it is deleted.
    pub(crate) fn is_empty_collection(&self) -> bool {
        match self {
            Value::Set(v) => v.is_empty(),
            Value::ZSet(v) => v.is_empty(),
            Value::Hash(v) => v.is_empty(),
            Value::List(v) => v.is_empty(),
            Value::Str(_) | Value::Bloom(_) | Value::Cms(_) => false,
            #[cfg(test)]
            Value::TestList(v) => v.is_empty(),
        }
    }

    /// `OBJECT ENCODING` of an out-of-line value, with Redis's names.
    pub(crate) fn encoding(&self) -> &'static str {
        match self {
            Value::Str(_) => "raw",
            Value::Set(v) => v.encoding(),
            Value::ZSet(v) => v.encoding(),
            Value::Hash(v) => v.encoding(),
            Value::List(v) => v.encoding(),
            // RedisBloom's module types have no encoding of their own: Redis says "raw".
            Value::Bloom(_) | Value::Cms(_) => "raw",
            #[cfg(test)]
            Value::TestList(_) => "quicklist",
        }
    }

    /// Appends to a string value where it lies (amortized growth; copies only if a reader
    /// still holds a clone). False, and no change, for other types.
    pub(crate) fn append_str(&mut self, data: &[u8]) -> bool {
        let Value::Str(b) = self else { return false };
        let old = std::mem::take(b);
        let mut m = old
            .try_into_mut()
            .unwrap_or_else(|b| bytes::BytesMut::from(&b[..]));
        m.extend_from_slice(data);
        *b = m.freeze();
        true
    }

    /// Overwrites `data` at `offset` of a string value where it lies, zero-padding a gap.
    /// False, and no change, for other types.
    pub(crate) fn setrange_str(&mut self, offset: usize, data: &[u8]) -> bool {
        let Value::Str(b) = self else { return false };
        let old = std::mem::take(b);
        let mut m = old
            .try_into_mut()
            .unwrap_or_else(|b| bytes::BytesMut::from(&b[..]));
        if m.len() < offset + data.len() {
            m.resize(offset + data.len(), 0);
        }
        m[offset..offset + data.len()].copy_from_slice(data);
        *b = m.freeze();
        true
    }

    /// Lends a string value's bytes to `f` for in-place change (SETBIT, BITFIELD, PFADD):
    /// no copy unless a reader still holds a clone. `None`, and no change, for other types.
    pub(crate) fn with_str_mut<R>(
        &mut self,
        f: impl FnOnce(&mut bytes::BytesMut) -> R,
    ) -> Option<R> {
        let Value::Str(b) = self else { return None };
        let old = std::mem::take(b);
        let mut m = old
            .try_into_mut()
            .unwrap_or_else(|b| bytes::BytesMut::from(&b[..]));
        let r = f(&mut m);
        *b = m.freeze();
        Some(r)
    }

    /// Bytes charged to `used_memory` for this value (slab slot + heap).
    pub(crate) fn charge(&self) -> usize {
        match self {
            Value::Str(b) => std::mem::size_of::<Option<Value>>() + heap_size(b.len()),
            Value::Set(v) => std::mem::size_of::<Option<Value>>() + v.charge(),
            Value::ZSet(v) => std::mem::size_of::<Option<Value>>() + v.charge(),
            Value::Hash(v) => std::mem::size_of::<Option<Value>>() + v.charge(),
            Value::List(v) => std::mem::size_of::<Option<Value>>() + v.charge(),
            Value::Bloom(v) => std::mem::size_of::<Option<Value>>() + v.charge(),
            Value::Cms(v) => std::mem::size_of::<Option<Value>>() + v.charge(),
            #[cfg(test)]
            Value::TestList(v) => std::mem::size_of::<Option<Value>>() + heap_size(v.len()),
        }
    }
}

/// What glibc malloc really spends on a request of `n` bytes (8-byte header, 16-byte classes).
pub(crate) fn heap_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    ((n + 8 + 15) & !15).max(32)
}
