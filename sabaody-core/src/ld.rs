//! Just enough x87 80-bit `long double` to answer `INCRBYFLOAT` exactly as Redis does:
//! Redis parses both operands with `strtold`, adds them in `long double` and prints the sum
//! with `%.17Lf` (then trims trailing zeros). This module does the same in software:
//! correctly rounded decimal -> 64-bit-mantissa conversion, one correctly rounded addition,
//! and exact fixed-point printing, all round-half-even like glibc.

/// `(-1)^neg * mant * 2^exp`; `mant` has bit 63 set unless the value is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct F80 {
    neg: bool,
    mant: u64,
    exp: i32,
}

/// Largest binary exponent of an x87 extended value (as `mant * 2^exp`, `mant` 64 bits).
const MAX_EXP: i32 = 16383 - 63;

/// A little-endian arbitrary-precision unsigned integer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }
    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    fn bits(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() * 32 - top.leading_zeros() as usize,
        }
    }
    fn bit(&self, i: usize) -> bool {
        self.0.get(i / 32).is_some_and(|l| l >> (i % 32) & 1 == 1)
    }
    /// Whether any of the lowest `n` bits is set.
    fn any_below(&self, n: usize) -> bool {
        (0..n.min(self.bits())).any(|i| self.bit(i))
    }
    fn mul_add_small(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for l in &mut self.0 {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }
    fn shl(&self, n: usize) -> Big {
        if self.is_zero() {
            return Big(Vec::new());
        }
        let (limbs, bits) = (n / 32, n % 32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push(l << bits | carry);
                carry = l >> (32 - bits);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }
    /// Bits `[n, n + 64)` as a `u64`.
    fn bits_at(&self, n: usize) -> u64 {
        (0..64)
            .filter(|&i| self.bit(n + i))
            .fold(0u64, |acc, i| acc | 1 << i)
    }
    fn cmp(&self, o: &Big) -> std::cmp::Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }
    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = i64::from(self.0[i]) - i64::from(*o.0.get(i).unwrap_or(&0)) - borrow;
            borrow = i64::from(v < 0);
            self.0[i] = (v + (borrow << 32)) as u32;
        }
        self.trim();
    }
    fn pow10(n: u32) -> Big {
        let mut b = Big::from_u64(1);
        for _ in 0..n {
            b.mul_add_small(10, 0);
        }
        b
    }
    /// `self = self * 2 + bit`, in place.
    fn shl1_or(&mut self, bit: bool) {
        let mut carry = u32::from(bit);
        for l in &mut self.0 {
            let next = *l >> 31;
            *l = *l << 1 | carry;
            carry = next;
        }
        if carry > 0 {
            self.0.push(carry);
        }
    }
    /// `(self / d, self % d != 0)` by shift-and-subtract (one pass over the dividend's bits,
    /// no allocation per bit).
    fn div_sticky(&self, d: &Big) -> (Big, bool) {
        let mut q = Big(Vec::new());
        let mut r = Big(Vec::new());
        for i in (0..self.bits()).rev() {
            r.shl1_or(self.bit(i));
            let ge = r.cmp(d) != std::cmp::Ordering::Less;
            if ge {
                r.sub_assign(d);
            }
            q.shl1_or(ge);
        }
        q.trim();
        (q, !r.is_zero())
    }
    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        while !limbs.is_empty() {
            let mut rem = 0u64;
            for l in limbs.iter_mut().rev() {
                let v = rem << 32 | u64::from(*l);
                *l = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
            chunks.push(rem);
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

/// Rounds `x * 2^scale` (plus a sticky fraction below `x`'s last bit) to 64 bits.
/// `x` must have at least 66 bits when `sticky` is set.
fn round(neg: bool, x: &Big, scale: i64, sticky: bool) -> Option<F80> {
    let l = x.bits();
    if l == 0 {
        return Some(F80 {
            neg,
            mant: 0,
            exp: 0,
        });
    }
    let (mut mant, mut exp) = if l <= 64 {
        (x.bits_at(0) << (64 - l), scale - (64 - l) as i64)
    } else {
        let sh = l - 64;
        let top = x.bits_at(sh);
        let round_bit = x.bit(sh - 1);
        let rest = sticky || x.any_below(sh - 1);
        let mut m = top;
        let mut e = scale + sh as i64;
        if round_bit && (rest || top & 1 == 1) {
            m = m.wrapping_add(1);
            if m == 0 {
                m = 1 << 63;
                e += 1;
            }
        }
        (m, e)
    };
    if exp > i64::from(MAX_EXP) {
        return None;
    }
    if exp < -20000 {
        // Far below anything %.17Lf can show: zero (subnormals do not matter here).
        mant = 0;
        exp = 0;
    }
    Some(F80 {
        neg,
        mant,
        exp: i32::try_from(exp).ok()?,
    })
}

impl F80 {
    /// Parses `[+-]digits[.digits][e[+-]digits]` (the decimal part of `strtold`'s grammar),
    /// correctly rounded. `None` for anything else (hex, inf, nan) or out of range.
    pub(crate) fn parse_decimal(s: &str) -> Option<F80> {
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
        let mut n = Big(Vec::new());
        let (mut digits, mut e10, mut dot) = (0usize, 0i64, false);
        while i < b.len() {
            match b[i] {
                c @ b'0'..=b'9' => {
                    n.mul_add_small(10, u32::from(c - b'0'));
                    n.trim();
                    digits += 1;
                    if dot {
                        e10 -= 1;
                    }
                }
                b'.' if !dot => dot = true,
                b'e' | b'E' if digits > 0 => {
                    let x: i64 = s.get(i + 1..)?.parse().ok()?;
                    e10 = e10.checked_add(x)?;
                    break;
                }
                _ => return None,
            }
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        if n.is_zero() {
            return Some(F80 {
                neg,
                mant: 0,
                exp: 0,
            });
        }
        if e10 >= 0 {
            if e10 > 5000 {
                return None;
            }
            let mut x = n;
            for _ in 0..e10 {
                x.mul_add_small(10, 0);
            }
            round(neg, &x, 0, false)
        } else {
            if e10 < -6000 {
                return Some(F80 {
                    neg,
                    mant: 0,
                    exp: 0,
                });
            }
            let d = Big::pow10(u32::try_from(-e10).ok()?);
            let k = (66 + d.bits()).saturating_sub(n.bits()) + 2;
            let (q, sticky) = n.shl(k).div_sticky(&d);
            round(neg, &q, -(k as i64), sticky)
        }
    }

    /// Parses a hex float `[+-]0x<hex>[.<hex>][p[+-]<dec>]` as strtold does (exactly,
    /// rounded once to 64 bits). `None` for anything else.
    pub(crate) fn parse_hex(s: &str) -> Option<F80> {
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let rest = rest
            .strip_prefix("0x")
            .or_else(|| rest.strip_prefix("0X"))?;
        let (mant, exp) = match rest.find(['p', 'P']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut n = Big(Vec::new());
        for c in int.chars().chain(frac.chars()) {
            n.mul_add_small(16, c.to_digit(16)?);
            n.trim();
        }
        if n.is_zero() {
            return Some(F80 {
                neg,
                mant: 0,
                exp: 0,
            });
        }
        let scale = exp.checked_sub(4 * i64::try_from(frac.len()).ok()?)?;
        if !(-40_000..=40_000).contains(&scale) {
            return None;
        }
        round(neg, &n, scale, false)
    }

    /// The exact value of a finite `f64` (`None` for NaN and infinities).
    pub(crate) fn from_f64(v: f64) -> Option<F80> {
        if !v.is_finite() {
            return None;
        }
        let bits = v.to_bits();
        let neg = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7FF) as i64;
        let frac = bits & ((1 << 52) - 1);
        let (m, e) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | 1 << 52, biased - 1075)
        };
        if m == 0 {
            return Some(F80 {
                neg,
                mant: 0,
                exp: 0,
            });
        }
        round(neg, &Big::from_u64(m), e, false)
    }

    /// `self + o`, correctly rounded to nearest-even; `None` on overflow (infinity).
    pub(crate) fn add(self, o: F80) -> Option<F80> {
        if self.mant == 0 {
            return Some(o);
        }
        if o.mant == 0 {
            return Some(self);
        }
        let (a, b) = if self.exp >= o.exp {
            (self, o)
        } else {
            (o, self)
        };
        let d = (i64::from(a.exp) - i64::from(b.exp)) as u64;
        let ma = u128::from(a.mant) << 62;
        let wide = u128::from(b.mant) << 62;
        // Shift right with the lost bits jammed into the last bit (enough guard bits remain).
        let mb = if d >= 127 {
            1
        } else {
            let lost = wide & ((1u128 << d) - 1);
            (wide >> d) | u128::from(lost != 0)
        };
        let (neg, r) = if a.neg == b.neg {
            (a.neg, ma + mb)
        } else if ma >= mb {
            (a.neg, ma - mb)
        } else {
            (b.neg, mb - ma)
        };
        if r == 0 {
            return Some(F80 {
                neg: false,
                mant: 0,
                exp: 0,
            });
        }
        let x = Big(vec![
            r as u32,
            (r >> 32) as u32,
            (r >> 64) as u32,
            (r >> 96) as u32,
        ]);
        let mut x = x;
        x.trim();
        round(neg, &x, i64::from(a.exp) - 62, false)
    }

    /// `%.17Lf` with trailing zeros and a bare `.` removed, and `-0` printed as `0`
    /// (Redis's `LD_STR_HUMAN`).
    pub(crate) fn format_human(self) -> String {
        let mut out = if self.exp >= 0 {
            Big::from_u64(self.mant).shl(self.exp as usize).to_decimal()
        } else {
            let s = u32::try_from(-i64::from(self.exp)).unwrap_or(u32::MAX);
            let (mut int, frac) = if s >= 64 {
                (0u64, self.mant)
            } else {
                (self.mant >> s, self.mant & ((1u64 << s) - 1))
            };
            let scaled = u128::from(frac) * 100_000_000_000_000_000u128;
            let (mut q, rem_cmp_half) = if s >= 128 {
                (0u128, std::cmp::Ordering::Less)
            } else {
                let q = scaled >> s;
                let rem = scaled - (q << s);
                (q, rem.cmp(&(1u128 << (s - 1))))
            };
            if rem_cmp_half == std::cmp::Ordering::Greater
                || (rem_cmp_half == std::cmp::Ordering::Equal && q & 1 == 1)
            {
                q += 1;
            }
            if q == 100_000_000_000_000_000 {
                int += 1;
                q = 0;
            }
            let frac = format!("{q:017}");
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                int.to_string()
            } else {
                format!("{int}.{frac}")
            }
        };
        if self.neg && out != "0" {
            out.insert(0, '-');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::F80;

    fn add(a: &str, b: &str) -> String {
        F80::parse_decimal(a)
            .unwrap()
            .add(F80::parse_decimal(b).unwrap())
            .unwrap()
            .format_human()
    }

    #[test]
    fn hex_floats_are_exact() {
        let v = F80::parse_hex("0x103372036854775808").unwrap();
        assert_eq!(
            v.add(F80::parse_decimal("0.1").unwrap())
                .unwrap()
                .format_human(),
            "298854934369260754944" // redis-server 7.0: INCRBYFLOAT of this value by 0.1
        );
        assert_eq!(F80::parse_hex("0x10").unwrap().format_human(), "16");
        assert_eq!(F80::parse_hex("-0x1.8p1").unwrap().format_human(), "-3");
        assert_eq!(F80::parse_hex("0x"), None);
        assert_eq!(F80::parse_hex("10"), None);
    }

    #[test]
    fn long_inputs_stay_fast() {
        let tiny = format!("0.{}1", "0".repeat(4900));
        let start = std::time::Instant::now();
        for _ in 0..3 {
            assert_eq!(add(&tiny, "1"), "1");
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn matches_redis_incrbyfloat() {
        // Every expected string below is what redis-server 7.0 replied on this machine.
        assert_eq!(add("1000", "0.1"), "1000.09999999999999998");
        assert_eq!(add("100", "0.1"), "100.1");
        assert_eq!(add("12345.678", "0.001"), "12345.67900000000000027");
        assert_eq!(add("3.0", "1.1"), "4.1");
        assert_eq!(add("1", "0.3333333333333333"), "1.3333333333333333");
        assert_eq!(add("99999", "0.5"), "99999.5");
        assert_eq!(add("-5", "0.25"), "-4.75");
        assert_eq!(add("1e3", "1e-3"), "1000.001");
        assert_eq!(add("10000000000", "0.1"), "10000000000.09999999962747097");
        assert_eq!(add("10.50", "0.1"), "10.6");
        assert_eq!(add("5.0e3", "2.0e2"), "5200");
        assert_eq!(add("0.1", "0.2"), "0.3");
        assert_eq!(add("1", "1e-20"), "1");
        assert_eq!(add("1", "-1"), "0");
        assert_eq!(add("-0.5", "0.5"), "0");
        assert_eq!(
            add("-7.25e-5", "123456789.123456789"),
            "123456789.12338428899965947"
        );
        assert_eq!(add("0.1", "-0.1"), "0");
        assert_eq!(
            add("1.5", "1e300"),
            "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"
        );
    }
}
