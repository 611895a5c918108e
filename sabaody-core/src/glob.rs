//! Redis's glob-style pattern matching (`KEYS`, `SCAN MATCH`): `*`, `?`, `[abc]`, `[^a]`,
//! `[a-z]` (reversed ranges allowed), `\x` escapes; binary-safe.

/// Whether `s` matches the Redis glob `pattern`.
///
/// Greedy matching that backtracks only to the last `*` seen: O(len(pattern) * len(s)) in
/// the worst case, so a hostile pattern like `*a*a*a*a*b` cannot make it exponential.
#[must_use]
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, i));
            continue;
        }
        if let Some(next) = match_one(pattern, p, s[i]) {
            p = next;
            i += 1;
            continue;
        }
        match star {
            Some((sp, si)) => {
                p = sp;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

/// Matches one pattern token at `p` (not `*`) against `ch`; returns the next pattern index.
fn match_one(pattern: &[u8], p: usize, ch: u8) -> Option<usize> {
    let c = *pattern.get(p)?;
    match c {
        b'?' => Some(p + 1),
        b'[' => {
            let mut q = p + 1;
            let not = pattern.get(q) == Some(&b'^');
            if not {
                q += 1;
            }
            let mut hit = false;
            loop {
                match &pattern[q.min(pattern.len())..] {
                    [b'\\', x, ..] => {
                        hit |= *x == ch;
                        q += 2;
                    }
                    [b']', ..] => {
                        q += 1;
                        break;
                    }
                    // Unterminated class: Redis treats the end of the pattern as its end.
                    [] => break,
                    [a, b'-', b, ..] => {
                        let (lo, hi) = if a <= b { (*a, *b) } else { (*b, *a) };
                        hit |= (lo..=hi).contains(&ch);
                        q += 3;
                    }
                    [x, ..] => {
                        hit |= *x == ch;
                        q += 1;
                    }
                }
            }
            (hit != not).then_some(q)
        }
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == ch).then_some(p + 2),
        _ => (c == ch).then_some(p + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match as m;

    #[test]
    fn redis_glob_cases() {
        assert!(m(b"*", b""));
        assert!(m(b"*", b"anything"));
        assert!(m(b"h?llo", b"hello"));
        assert!(!m(b"h?llo", b"hllo"));
        assert!(m(b"h*llo", b"heeeello"));
        assert!(m(b"h[ae]llo", b"hallo"));
        assert!(!m(b"h[ae]llo", b"hillo"));
        assert!(m(b"h[^e]llo", b"hallo"));
        assert!(!m(b"h[^e]llo", b"hello"));
        assert!(m(b"h[a-b]llo", b"hbllo"));
        assert!(m(b"h[b-a]llo", b"hallo"));
        assert!(!m(b"h[a-b]llo", b"hcllo"));
        assert!(m(b"h\\*llo", b"h*llo"));
        assert!(!m(b"h\\*llo", b"hallo"));
        assert!(m(b"[\\]]", b"]"));
        assert!(m(b"a*b*c", b"a__b__c"));
        assert!(!m(b"a*b*c", b"a__b__"));
        assert!(m(b"k\x00*", b"k\x00\r\n"));
        assert!(!m(b"abc", b"abcd"));
        assert!(m(b"user:*:name", b"user:42:name"));
        assert!(m(b"*", b"*"));
        assert!(!m(b"a?", b"a"));
        assert!(m(b"[abc", b"b"));
        assert!(!m(b"[abc", b"bc"));
        assert!(m(b"\\", b"\\"));
        assert!(m(b"*x", b"xxx"));
        assert!(m(b"a*", b"a"));
        assert!(!m(b"", b"a"));
        assert!(m(b"", b""));
        assert!(m(b"**", b""));
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let s = vec![b'a'; 5000];
        let start = std::time::Instant::now();
        assert!(!m(b"*a*a*a*a*a*a*a*a*a*a*a*b", &s));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }
}
