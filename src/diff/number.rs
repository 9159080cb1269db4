//! Numbers of numeric columns, for the change of a value: integers and decimals exactly (as
//! an integer and a scale), FLOAT and DOUBLE (and exact values too large for 38 digits) as
//! doubles.

use std::cmp::Ordering;
use std::fmt;

use mysql_async::Value;
use serde_json::{json, Value as Json};

use super::Kind;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// `unscaled / 10^scale`.
    Exact {
        unscaled: i128,
        scale: u32,
    },
    Float(f64),
}

/// The largest scale kept exactly (DECIMAL allows 30 or 38 digits after the point).
const MAX_SCALE: u32 = 38;

impl Number {
    /// The number a value of this kind holds; None for NULL, non-numeric kinds, or text
    /// that is not a number.
    pub fn parse(kind: Kind, value: &Value) -> Option<Number> {
        let text = match value {
            Value::Bytes(b) => std::str::from_utf8(b).ok()?,
            Value::Int(i) => return Some(Number::exact(i128::from(*i), 0)),
            Value::UInt(u) => return Some(Number::exact(i128::from(*u), 0)),
            Value::Float(f) => return Some(Number::Float(f64::from(*f))),
            Value::Double(d) => return Some(Number::Float(*d)),
            _ => return None,
        };
        match kind {
            Kind::Int | Kind::Decimal => {
                Number::parse_exact(text).or_else(|| text.parse().ok().map(Number::Float))
            }
            Kind::Float => text.parse().ok().map(Number::Float),
            Kind::Binary | Kind::Text => None,
        }
    }

    fn exact(unscaled: i128, scale: u32) -> Number {
        Number::Exact { unscaled, scale }
    }

    /// `-12.50` as (-1250, 2); None beyond 38 digits.
    fn parse_exact(text: &str) -> Option<Number> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let scale = u32::try_from(frac.len()).ok().filter(|s| *s <= MAX_SCALE)?;
        let mut unscaled: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            unscaled = unscaled
                .checked_mul(10)?
                .checked_add(i128::from(b - b'0'))?;
        }
        Some(Number::exact(
            if negative { -unscaled } else { unscaled },
            scale,
        ))
    }

    pub fn to_f64(self) -> f64 {
        match self {
            Number::Exact { unscaled, scale } => unscaled as f64 / 10f64.powi(scale as i32),
            Number::Float(f) => f,
        }
    }

    /// Both exact at the larger scale, if that fits.
    fn aligned(self, other: Number) -> Option<(i128, i128, u32)> {
        let (
            Number::Exact {
                unscaled: a,
                scale: sa,
            },
            Number::Exact {
                unscaled: b,
                scale: sb,
            },
        ) = (self, other)
        else {
            return None;
        };
        let scale = sa.max(sb);
        let a = a.checked_mul(10i128.checked_pow(scale - sa)?)?;
        let b = b.checked_mul(10i128.checked_pow(scale - sb)?)?;
        Some((a, b, scale))
    }

    /// `self - other`, exactly where both are exact and the result fits.
    pub fn minus(&self, other: &Number) -> Number {
        match self.aligned(*other) {
            Some((a, b, scale)) => match a.checked_sub(b) {
                Some(d) => Number::exact(d, scale),
                None => Number::Float(self.to_f64() - other.to_f64()),
            },
            None => Number::Float(self.to_f64() - other.to_f64()),
        }
    }

    pub fn plus(&self, other: &Number) -> Number {
        match self.aligned(*other) {
            Some((a, b, scale)) => match a.checked_add(b) {
                Some(s) => Number::exact(s, scale),
                None => Number::Float(self.to_f64() + other.to_f64()),
            },
            None => Number::Float(self.to_f64() + other.to_f64()),
        }
    }

    pub fn compare(&self, other: &Number) -> Ordering {
        match self.aligned(*other) {
            Some((a, b, _)) => a.cmp(&b),
            None => self.to_f64().total_cmp(&other.to_f64()),
        }
    }

    /// As JSON: whole numbers that fit 64 bits as numbers; decimals and doubles as strings,
    /// the way `worlds query` prints them.
    pub fn to_json(&self) -> Json {
        match *self {
            Number::Exact { unscaled, scale: 0 } => {
                if let Ok(i) = i64::try_from(unscaled) {
                    json!(i)
                } else if let Ok(u) = u64::try_from(unscaled) {
                    json!(u)
                } else {
                    json!(self.to_string())
                }
            }
            _ => json!(self.to_string()),
        }
    }

    /// With its sign always written: `+1000`, `-0.50`, `+0`.
    pub fn signed(&self) -> String {
        let text = self.to_string();
        if text.starts_with('-') {
            text
        } else {
            format!("+{text}")
        }
    }

    /// For people: signed, whole numbers with thousands separators (`+255,081`).
    pub fn readable(&self) -> String {
        let text = self.signed();
        let (sign, digits) = text.split_at(1);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return text;
        }
        let mut out = String::from(sign);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Exact { unscaled, scale } => {
                let digits = unscaled.unsigned_abs().to_string();
                let sign = if unscaled < 0 { "-" } else { "" };
                let scale = scale as usize;
                if scale == 0 {
                    write!(f, "{sign}{digits}")
                } else {
                    let digits = format!("{digits:0>width$}", width = scale + 1);
                    let (int, frac) = digits.split_at(digits.len() - scale);
                    write!(f, "{sign}{int}.{frac}")
                }
            }
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// The changes of one numeric column over the changed rows where both values are numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    pub count: u64,
    pub sum: Option<Number>,
    pub min: Option<Number>,
    pub max: Option<Number>,
}

impl Delta {
    pub fn add(&mut self, d: &Number) {
        self.count += 1;
        self.sum = Some(match &self.sum {
            Some(s) => s.plus(d),
            None => *d,
        });
        if self.min.is_none_or(|m| d.compare(&m) == Ordering::Less) {
            self.min = Some(*d);
        }
        if self.max.is_none_or(|m| d.compare(&m) == Ordering::Greater) {
            self.max = Some(*d);
        }
    }

    pub fn to_json(&self) -> Json {
        let j = |n: &Option<Number>| n.as_ref().map_or(Json::Null, Number::to_json);
        json!({"sum": j(&self.sum), "min": j(&self.min), "max": j(&self.max)})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(kind: Kind, s: &str) -> Number {
        Number::parse(kind, &Value::Bytes(s.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn decimals_subtract_exactly() {
        let d = n(Kind::Decimal, "10.10").minus(&n(Kind::Decimal, "0.2"));
        assert_eq!(d.to_string(), "9.90");
        assert_eq!(
            n(Kind::Decimal, "-0.05")
                .minus(&n(Kind::Decimal, "0"))
                .to_string(),
            "-0.05"
        );
        assert_eq!(
            n(Kind::Int, "100").minus(&n(Kind::Int, "1100")).signed(),
            "-1000"
        );
        assert_eq!(n(Kind::Int, "5").minus(&n(Kind::Int, "5")).signed(), "+0");
        assert_eq!(n(Kind::Int, "255081").readable(), "+255,081");
        assert_eq!(n(Kind::Int, "-1000").readable(), "-1,000");
        assert_eq!(n(Kind::Int, "999").readable(), "+999");
        assert_eq!(n(Kind::Decimal, "-1000.50").readable(), "-1000.50");
        // 0.1 + 0.2 is 0.3 here, unlike in doubles.
        assert_eq!(
            n(Kind::Decimal, "0.1")
                .plus(&n(Kind::Decimal, "0.2"))
                .to_string(),
            "0.3"
        );
        let big = n(Kind::Int, "18446744073709551615");
        assert_eq!(big.to_json(), json!(18446744073709551615u64));
        assert_eq!(
            big.minus(&n(Kind::Int, "-18446744073709551615")).to_json(),
            json!("36893488147419103230")
        );
        assert_eq!(n(Kind::Decimal, "1.5").to_json(), json!("1.5"));
    }

    #[test]
    fn doubles_and_overflow_fall_back_to_floating_point() {
        let f = n(Kind::Float, "1e20").minus(&n(Kind::Float, "1"));
        assert!(matches!(f, Number::Float(_)));
        let huge = "9".repeat(39);
        assert!(matches!(n(Kind::Decimal, &huge), Number::Float(_)));
        assert!(Number::parse(Kind::Int, &Value::NULL).is_none());
        assert!(Number::parse(Kind::Text, &Value::Bytes(b"1".to_vec())).is_none());
    }

    #[test]
    fn deltas_keep_sum_min_and_max() {
        let mut d = Delta::default();
        for x in ["-10", "1000", "244"] {
            d.add(&n(Kind::Int, x));
        }
        assert_eq!(d.count, 3);
        assert_eq!(d.to_json(), json!({"sum": 1234, "min": -10, "max": 1000}));
    }
}
