//! Redis's glob-style pattern matching (`KEYS`, `SCAN MATCH`): `*`, `?`, `[abc]`, `[^a]`,
//! `[a-z]` (reversed ranges allowed), `\x` escapes; binary-safe.

/// Whether `s` matches the Redis glob `pattern`.
#[must_use]
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    matches(pattern, s, 0)
}

fn matches(mut p: &[u8], mut s: &[u8], depth: usize) -> bool {
    // Redis caps recursion too; beyond it the pattern simply does not match.
    if depth > 1000 {
        return false;
    }
    while let Some(&c) = p.first() {
        match c {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if matches(&p[1..], &s[i..], depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                let Some(&ch) = s.first() else { return false };
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    match p {
                        [b'\\', x, ..] => {
                            if *x == ch {
                                hit = true;
                            }
                            p = &p[2..];
                        }
                        [b']', ..] => break,
                        [] => {
                            // Unterminated class: Redis treats the end of pattern as its end.
                            break;
                        }
                        [a, b'-', b, ..] => {
                            let (lo, hi) = if a <= b { (*a, *b) } else { (*b, *a) };
                            if (lo..=hi).contains(&ch) {
                                hit = true;
                            }
                            p = &p[3..];
                        }
                        [x, ..] => {
                            if *x == ch {
                                hit = true;
                            }
                            p = &p[1..];
                        }
                    }
                }
                if not {
                    hit = !hit;
                }
                if !hit {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // Unterminated class consumed the rest of the pattern.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                if s.first() != Some(&p[1]) {
                    return false;
                }
                p = &p[1..];
                s = &s[1..];
            }
            _ => {
                if s.first() != Some(&c) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
    }
    s.is_empty()
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
    }
}
