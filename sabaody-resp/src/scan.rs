//! Line-terminator search shared by both decoders.

/// Index of the first `\r` at or after `start`, looking at no more than `max + 1` bytes (a line
/// longer than that is an error anyway). Short numeric lines are the norm: try a plain scan
/// over a few bytes before calling `memchr`.
#[inline(always)]
pub(crate) fn find_cr(src: &[u8], start: usize, max: usize) -> Option<usize> {
    find_cr_from(src, start, start, max)
}

/// [`find_cr`] for a line starting at `start` whose bytes before `from` are known to hold no
/// `\r` (a line arriving in pieces is not rescanned from its start).
#[inline(always)]
pub(crate) fn find_cr_from(src: &[u8], start: usize, from: usize, max: usize) -> Option<usize> {
    let end = src.len().min(start.saturating_add(max).saturating_add(1));
    let from = from.max(start);
    let window = src.get(from..end)?;
    for (i, &c) in window.iter().take(24).enumerate() {
        if c == b'\r' {
            return Some(from + i);
        }
    }
    if window.len() <= 24 {
        return None;
    }
    memchr::memchr(b'\r', &window[24..]).map(|i| from + 24 + i)
}
