//! Decoder limits: what a peer may claim before the decoder refuses.

/// Limits applied by both decoders. The defaults are Redis's.
///
/// Every limit is inclusive: a value equal to the limit is accepted, one more is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string (`$`, `!`, `=`) payload in bytes. Redis: `proto-max-bulk-len`, 512 MiB.
    pub max_bulk_len: usize,
    /// Largest element count of an array, set, push, map or attribute (pairs for the last two).
    /// 1,048,576, the limit Redis had up to 6.2 (7.0 allows up to `INT_MAX` for requests).
    pub max_multibulk_len: usize,
    /// Deepest nesting of aggregates in the generic decoder (a flat array is depth 1). The
    /// generic decoder recurses once per level: keep this in the hundreds, not the millions.
    pub max_depth: usize,
    /// Longest line: an inline request (before its `\n`), and any `*`/`$` header or simple line
    /// (before its `\r`). Redis: `PROTO_INLINE_MAX_SIZE`, 64 KiB.
    pub max_inline_len: usize,
}

impl Limits {
    /// Redis's `proto-max-bulk-len` default.
    pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
    /// Request multibulk count limit.
    pub const DEFAULT_MAX_MULTIBULK_LEN: usize = 1024 * 1024;
    /// Nesting depth limit.
    pub const DEFAULT_MAX_DEPTH: usize = 128;
    /// Redis's `PROTO_INLINE_MAX_SIZE`.
    pub const DEFAULT_MAX_INLINE_LEN: usize = 64 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: Self::DEFAULT_MAX_BULK_LEN,
            max_multibulk_len: Self::DEFAULT_MAX_MULTIBULK_LEN,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_inline_len: Self::DEFAULT_MAX_INLINE_LEN,
        }
    }
}
