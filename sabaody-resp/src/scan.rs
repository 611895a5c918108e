//! Line-terminator search shared by both decoders.

/// Index of the first `\r` at or after `start`, looking at no more than `max + 1` bytes (a line
/// longer than that is an error anyway). Short numeric lines are the norm: try a plain scan
/// over a few bytes before calling `memchr`.
#[inline(always)]
pub(crate) fn find_cr(src: &[u8], start: usize, max: usize) -> Option<usize> {
    let end = src.len().min(start.saturating_add(max).saturating_add(1));
    let window = src.get(start..end)?;
    for (i, &c) in window.iter().take(24).enumerate() {
        if c == b'\r' {
            return Some(start + i);
        }
    }
    if window.len() <= 24 {
        return None;
    }
    memchr::memchr(b'\r', &window[24..]).map(|i| start + 24 + i)
}
