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

/// Parses text as Redis's `string2ld` (strtold over the whole string) does, into a long
/// double: `Ok(None)` for an infinity, `Err(NotFloat)` for anything strtold refuses.
fn ld_from_text(t: &[u8]) -> Result<Option<crate::ld::F80>, crate::Error> {
    use crate::ld::F80;
    if t.len() < 5 * 1024
        && let Ok(s) = std::str::from_utf8(t)
        && let Some(v) = F80::parse_decimal(s).or_else(|| F80::parse_hex(s))
    {
        return Ok(Some(v));
    }
    let v = parse_f64(t).ok_or(crate::Error::NotFloat)?;
    Ok(crate::ld::F80::from_f64(v))
}

fn ld_sum(a: Option<crate::ld::F80>, b: Option<crate::ld::F80>) -> Result<String, crate::Error> {
    match (a, b) {
        (Some(a), Some(b)) => a
            .add(b)
            .map(crate::ld::F80::format_human)
            .ok_or(crate::Error::NanOrInfinity),
        _ => Err(crate::Error::NanOrInfinity),
    }
}

/// `INCRBYFLOAT`: `current + incr`, formatted as Redis stores and replies it.
///
/// Redis computes in x87 `long double` and prints with `%.17Lf`; [`crate::ld`] emulates
/// exactly that (so `1000 + 0.1` gives Redis's `1000.09999999999999998`). The increment
/// arrives as an `f64`; its shortest decimal form (what the client typed, for up to 17
/// significant digits) is what gets parsed. [`incr_float_text`] takes the client's text.
pub(crate) fn incr_float(current: &[u8], incr: f64) -> Result<String, crate::Error> {
    let a = ld_from_text(current)?;
    if !incr.is_finite() {
        return Err(crate::Error::NanOrInfinity);
    }
    let b = crate::ld::F80::parse_decimal(&format!("{incr}")).ok_or(crate::Error::NotFloat)?;
    ld_sum(a, Some(b))
}

/// `INCRBYFLOAT` with the increment as the client sent it: byte-identical to Redis.
pub(crate) fn incr_float_text(current: &[u8], incr: &[u8]) -> Result<String, crate::Error> {
    let a = ld_from_text(current)?;
    let b = ld_from_text(incr)?;
    ld_sum(a, b)
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
        assert_eq!(incr_float(b"1000", 0.1).unwrap(), "1000.09999999999999998");
        assert_eq!(incr_float(b"0x10", 0.5).unwrap(), "16.5");
        assert_eq!(
            incr_float_text(b"1000", b"0.1").unwrap(),
            "1000.09999999999999998"
        );
        assert_eq!(
            incr_float_text(b"1", b"0.1000000000000000055511151231257827").unwrap(),
            "1.10000000000000001" // redis-server 7.0's reply
        );
        assert_eq!(incr_float_text(b"1", b"1e4900").unwrap().len(), 4901);
        assert_eq!(incr_float_text(b"inf", b"abc"), Err(crate::Error::NotFloat));
        assert_eq!(
            incr_float_text(b"1", b"inf"),
            Err(crate::Error::NanOrInfinity)
        );
        assert_eq!(incr_float_text(b"1", b"nan"), Err(crate::Error::NotFloat));
        assert_eq!(incr_float_text(b"1", b" 1"), Err(crate::Error::NotFloat));
    }
}
