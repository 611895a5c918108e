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
        ];
        all.into_iter()
            .find(|t| t.as_str().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// A value too large or too structured to sit inline in a shard's arena.
///
/// Later data types (set, zset, hash, list, sketches) become variants here.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A string longer than the inline limit: `GET` hands out a cheap clone.
    Str(Bytes),
    /// A stand-in non-string value so unit tests can exercise WRONGTYPE before the other
    /// data types exist.
    #[cfg(test)]
    TestList(Vec<u8>),
}

impl Value {
    pub(crate) fn key_type(&self) -> KeyType {
        match self {
            Value::Str(_) => KeyType::String,
            #[cfg(test)]
            Value::TestList(_) => KeyType::List,
        }
    }

    /// Appends to a string value where it lies (amortized growth; copies only if a reader
    /// still holds a clone). False, and no change, for other types.
    pub(crate) fn append_str(&mut self, data: &[u8]) -> bool {
        #[allow(irrefutable_let_patterns)]
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
        #[allow(irrefutable_let_patterns)]
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

    /// Bytes charged to `used_memory` for this value (slab slot + heap).
    pub(crate) fn charge(&self) -> usize {
        match self {
            Value::Str(b) => std::mem::size_of::<Option<Value>>() + heap_size(b.len()),
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
