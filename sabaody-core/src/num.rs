//! Number parsing and formatting with Redis's exact rules.
//!
//! Public so the server parses command arguments the way the keyspace parses stored values.

/// Parses a signed 64-bit integer the way Redis's `string2ll` does: an optional `-`, then
/// digits with no leading zero (except `"0"` itself), no `+`, no spaces, within `i64`.
/// Every accepted string is the canonical form of its value, so integer-encoded strings
/// round-trip byte for byte.
#[must_use]
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v <= i64::MAX as u64 + 1 {
            Some((v as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a float the way Redis's `string2ld` does (`strtold` over the whole string): no
/// leading space, no trailing garbage, NaN refused; `inf`, exponents and hex floats accepted.
#[must_use]
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() >= 5 * 1024 || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let v = if let Some(h) = parse_hex_float(text) {
        h
    } else {
        let lower = text.to_ascii_lowercase();
        let t = lower.trim_start_matches(['+', '-']);
        // Rust accepts "infinity"/"inf"/"nan" like strtold; refuse NaN as Redis does.
        if t.starts_with("nan") {
            return None;
        }
        text.parse::<f64>().ok()?
    };
    if v.is_nan() {
        return None;
    }
    // strtold reports ERANGE for overflow (inf from finite digits) and underflow to zero.
    let lower = text.to_ascii_lowercase();
    if v.is_infinite() && !lower.contains("inf") {
        return None;
    }
    if v == 0.0 && lower.bytes().any(|c| (b'1'..=b'9').contains(&c)) && !lower.starts_with("0x") {
        let mantissa: String = lower.split('e').next().unwrap_or("").to_string();
        if mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
            return None;
        }
    }
    Some(v)
}

fn parse_hex_float(t: &str) -> Option<f64> {
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mant, exp) = match rest.find(['p', 'P']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// An exact decimal `m * 10^e`.
#[derive(Debug, Clone, Copy)]
struct Dec {
    m: i128,
    e: i32,
}

fn parse_dec(s: &str) -> Option<Dec> {
    let b = s.as_bytes();
    let mut i = 0;
    let neg = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut m: i128 = 0;
    let mut e: i32 = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                m = m.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
                digits += 1;
                if seen_dot {
                    e -= 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            b'e' | b'E' => {
                let x: i32 = s.get(i + 1..)?.parse().ok()?;
                e = e.checked_add(x)?;
                i = b.len();
                continue;
            }
            _ => return None,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    Some(Dec {
        m: if neg { -m } else { m },
        e,
    })
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

fn add_dec(a: Dec, b: Dec) -> Option<Dec> {
    let e = a.e.min(b.e);
    let am = a.m.checked_mul(pow10(u32::try_from(a.e - e).ok()?)?)?;
    let bm = b.m.checked_mul(pow10(u32::try_from(b.e - e).ok()?)?)?;
    Some(Dec {
        m: am.checked_add(bm)?,
        e,
    })
}

/// `%.17Lf` then trailing zeros (and a bare `.`) removed, `-0` printed `0`: Redis's
/// human-friendly long double format (`LD_STR_HUMAN`).
fn format_dec(d: Dec) -> Option<String> {
    let neg = d.m < 0;
    let mut m = d.m.unsigned_abs();
    let mut e = d.e;
    if e < -17 {
        let div = 10u128.checked_pow(u32::try_from(-17 - e).ok()?)?;
        let q = m / div;
        let r = m % div;
        m = if r * 2 >= div { q + 1 } else { q };
        e = -17;
    }
    let mut out = String::new();
    if e >= 0 {
        out.push_str(&m.to_string());
        if m != 0 {
            for _ in 0..e {
                out.push('0');
            }
        }
    } else {
        let frac_digits = usize::try_from(-e).ok()?;
        let s = m.to_string();
        let (int, frac) = if s.len() > frac_digits {
            (
                s[..s.len() - frac_digits].to_string(),
                s[s.len() - frac_digits..].to_string(),
            )
        } else {
            ("0".to_string(), format!("{s:0>frac_digits$}"))
        };
        let frac = frac.trim_end_matches('0');
        out.push_str(&int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    }
    if neg && out != "0" {
        out.insert(0, '-');
    }
    Some(out)
}

fn format_f64_human(v: f64) -> String {
    let s = format!("{v:.17}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// `INCRBYFLOAT`: `current + incr`, formatted as Redis stores and replies it.
///
/// Redis computes in `long double` and prints with `%.17Lf`; decimal inputs are summed exactly
/// here (which agrees with Redis whenever `long double` rounding is below the 17th decimal,
/// i.e. for ordinary magnitudes), anything else falls back to `f64`.
pub(crate) fn incr_float(current: &[u8], incr: f64) -> Result<String, crate::Error> {
    let cur = parse_f64(current).ok_or(crate::Error::NotFloat)?;
    let sum = cur + incr;
    if sum.is_nan() || sum.is_infinite() || incr.is_nan() || incr.is_infinite() {
        return Err(crate::Error::NanOrInfinity);
    }
    let exact = std::str::from_utf8(current)
        .ok()
        .and_then(parse_dec)
        .zip(parse_dec(&format!("{incr}")))
        .and_then(|(a, b)| add_dec(a, b))
        .and_then(format_dec);
    Ok(exact.unwrap_or_else(|| format_f64_human(sum)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-1"), Some(-1));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"01"[..],
            b" 1",
            b"+1",
            b"1 ",
            b"-0",
            b"",
            b"-",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"1.0",
            b"0x1",
        ] {
            assert_eq!(
                parse_i64_strict(bad),
                None,
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"5.0e3"), Some(5000.0));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"1e999"), None);
    }

    #[test]
    fn incr_float_formats_like_redis() {
        assert_eq!(incr_float(b"10.50", 0.1).unwrap(), "10.6");
        assert_eq!(incr_float(b"10.6", -5.0).unwrap(), "5.6");
        assert_eq!(incr_float(b"5.0e3", 2.0e2).unwrap(), "5200");
        assert_eq!(incr_float(b"0.1", 0.2).unwrap(), "0.3");
        assert_eq!(incr_float(b"1", -1.0).unwrap(), "0");
        assert_eq!(incr_float(b"3", 1.5).unwrap(), "4.5");
        assert_eq!(incr_float(b"abc", 1.0), Err(crate::Error::NotFloat));
        assert_eq!(
            incr_float(b"1", f64::INFINITY),
            Err(crate::Error::NanOrInfinity)
        );
        assert_eq!(incr_float(b"inf", 1.0), Err(crate::Error::NanOrInfinity));
    }
}
