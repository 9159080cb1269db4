//! Fan-out results: the values worlds send, their order, and how several worlds' rows for
//! one statement line up under one header. Rendering lives in [`sink`]. Pure: no I/O here.

pub mod merge;
pub mod pushdown;
pub mod sink;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};
use serde_json::{json, Value as Json};

/// One value of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    UInt(u64),
    /// A number the server sends written out (DECIMAL, FLOAT, DOUBLE: `-12.50`, `1e20`),
    /// kept exactly as sent; sorts as the number it is.
    Decimal(String),
    /// Text, dates, times: kept exactly as the server sent them; sorts by its bytes.
    Text(String),
    /// Binary strings (or text that is not UTF-8).
    Bytes(Vec<u8>),
}

impl Cell {
    fn hex(bytes: &[u8]) -> String {
        let mut s = String::with_capacity(2 + bytes.len() * 2);
        s.push_str("0x");
        for b in bytes {
            s.push_str(&format!("{b:02X}"));
        }
        s
    }

    /// How the value reads in a table (binary as hex, NULL as NULL).
    pub fn display(&self) -> String {
        match self {
            Cell::Null => "NULL".to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::UInt(u) => u.to_string(),
            Cell::Decimal(t) | Cell::Text(t) => t.clone(),
            Cell::Bytes(b) => Cell::hex(b),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Cell::Null => Json::Null,
            Cell::Int(i) => json!(i),
            Cell::UInt(u) => json!(u),
            Cell::Decimal(t) | Cell::Text(t) => json!(t),
            Cell::Bytes(b) => json!(Cell::hex(b)),
        }
    }

    /// A value of a DECIMAL, FLOAT or DOUBLE column: a number when it reads as one.
    pub fn written_number(text: String) -> Cell {
        if Number::parse(&text).is_some() {
            Cell::Decimal(text)
        } else {
            Cell::Text(text)
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::UInt(_))
    }
}

const BINARY_CHARSET: u16 = 63;

/// What a column's values become ([`Cell::of`]); a world's sort key for `--order-by` follows
/// it, so that the world's order is [`compare`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer {
        unsigned: bool,
    },
    /// DECIMAL, FLOAT, DOUBLE: numbers written out.
    Written,
    /// Binary strings, BIT, GEOMETRY.
    Bytes,
    /// Everything else: text, dates, times, ENUM, SET, JSON...
    Text,
}

/// The kind of a column's values.
pub fn kind(column: &Column) -> Kind {
    use ColumnType::*;
    match column.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => Kind::Integer {
            unsigned: column.flags().contains(ColumnFlags::UNSIGNED_FLAG),
        },
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
            Kind::Written
        }
        MYSQL_TYPE_BIT => Kind::Bytes,
        MYSQL_TYPE_STRING
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_GEOMETRY
            if column.character_set() == BINARY_CHARSET =>
        {
            Kind::Bytes
        }
        _ => Kind::Text,
    }
}

impl Cell {
    /// A value as the server sent it, typed by its column: integers as numbers, DECIMAL,
    /// FLOAT and DOUBLE as written-out numbers, binary strings as bytes, the rest as text.
    pub fn of(value: Value, column: &Column) -> Cell {
        let mut bytes = match value {
            Value::NULL => return Cell::Null,
            Value::Bytes(b) => b,
            Value::Int(i) => return Cell::Int(i),
            Value::UInt(u) => return Cell::UInt(u),
            other => other.as_sql(true).into_bytes(),
        };
        match kind(column) {
            Kind::Integer { unsigned } => {
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    if unsigned {
                        if let Ok(u) = text.parse::<u64>() {
                            return Cell::UInt(u);
                        }
                    } else if let Ok(i) = text.parse::<i64>() {
                        return Cell::Int(i);
                    }
                }
            }
            Kind::Written => match String::from_utf8(bytes) {
                Ok(text) => return Cell::written_number(text),
                Err(e) => bytes = e.into_bytes(),
            },
            Kind::Bytes => return Cell::Bytes(bytes),
            Kind::Text => {}
        }
        match String::from_utf8(bytes) {
            Ok(s) => Cell::Text(s),
            Err(e) => Cell::Bytes(e.into_bytes()),
        }
    }
}

/// The same error from several worlds on one line: (`host1, host3`, error).
pub fn collapse(errors: &[sink::WorldError]) -> Vec<(String, String)> {
    let mut by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (world, error) in errors {
        let e = error.as_str();
        if !by_text.contains_key(e) {
            order.push(e);
        }
        by_text.entry(e).or_default().push(world);
    }
    order
        .into_iter()
        .map(|e| (by_text[e].join(", "), e.to_string()))
        .collect()
}

/// Where a value sorts for `--order-by`: NULL, then numbers, then text, then binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Null,
    Number,
    Text,
    Bytes,
}

fn rank(c: &Cell) -> Rank {
    match c {
        Cell::Null => Rank::Null,
        Cell::Int(_) | Cell::UInt(_) | Cell::Decimal(_) => Rank::Number,
        Cell::Text(_) => Rank::Text,
        Cell::Bytes(_) => Rank::Bytes,
    }
}

/// Compare for `--order-by`. A total order: NULL first, then numbers (integers and the
/// written-out numbers of DECIMAL, FLOAT and DOUBLE columns, compared exactly as numbers:
/// `2.50` equals `2.5`), then text (by its bytes, as a server compares
/// `CAST(CONVERT(x USING utf8mb4) AS BINARY)`), then binary values (by their bytes); each
/// kind compared only within itself. Text never sorts as a number, even when it looks like
/// one: a server sorts a VARCHAR by its characters.
pub fn compare(a: &Cell, b: &Cell) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Cell::Int(x), Cell::Int(y)) => x.cmp(y),
        (Cell::UInt(x), Cell::UInt(y)) => x.cmp(y),
        (Cell::Int(x), Cell::UInt(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Cell::UInt(x), Cell::Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
        (Cell::Bytes(x), Cell::Bytes(y)) => x.cmp(y),
        (Cell::Null, Cell::Null) => Ordering::Equal,
        // Two numbers, at least one of them written out.
        _ => compare_written(&a.display(), &b.display()),
    }
}

/// Compare two written-out numbers exactly. Text that is not a number (never sent by a
/// server for a numeric column) sorts after every number, by its bytes, so the order stays
/// total.
fn compare_written(a: &str, b: &str) -> Ordering {
    match (Number::parse(a), Number::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// A number written out as a server writes DECIMAL, FLOAT and DOUBLE values: an optional
/// sign, digits with an optional fraction (`12.50`, `.5`, `7.`), and an optional exponent
/// (`1e20`, `-1.5e-7`, `2E+3`). Seen as 0.DIGITS x 10^exp with a first digit other than 0.
#[derive(Debug, Clone, Copy)]
struct Number<'a> {
    negative: bool,
    /// Integer and fraction digits; the significant ones start after `skip` leading zeros.
    int: &'a [u8],
    frac: &'a [u8],
    skip: usize,
    /// None for zero.
    exp: Option<i64>,
}

impl<'a> Number<'a> {
    fn parse(s: &'a str) -> Option<Number<'a>> {
        let s = s.as_bytes();
        let (negative, rest) = match s.first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exponent) = match rest.iter().position(|&b| b == b'e' || b == b'E') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, &mantissa[mantissa.len()..]),
        };
        let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
        if int.len() + frac.len() == 0 || !digits(int) || !digits(frac) {
            return None;
        }
        let shift = match exponent {
            None => 0,
            Some(e) => {
                let (minus, e) = match e.first() {
                    Some(b'-') => (true, &e[1..]),
                    Some(b'+') => (false, &e[1..]),
                    _ => (false, e),
                };
                if e.is_empty() || !digits(e) {
                    return None;
                }
                // Saturate: no digit string here is long enough to come back from 10^18.
                let magnitude = e.iter().fold(0i64, |n, &d| {
                    n.saturating_mul(10)
                        .saturating_add(i64::from(d - b'0'))
                        .min(1 << 60)
                });
                if minus {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        let all = int.iter().chain(frac);
        let skip = all.clone().take_while(|&&d| d == b'0').count();
        let zero = skip == int.len() + frac.len();
        // The first significant digit stands at position `skip`; the point after `int`.
        let exp = (!zero).then(|| int.len() as i64 - skip as i64 + shift);
        Some(Number {
            negative: negative && !zero,
            int,
            frac,
            skip,
            exp,
        })
    }

    fn significant(&self) -> impl Iterator<Item = u8> + '_ {
        self.int.iter().chain(self.frac).skip(self.skip).copied()
    }

    /// -1, 0 or 1.
    fn sign(&self) -> i8 {
        match (self.exp, self.negative) {
            (None, _) => 0,
            (Some(_), true) => -1,
            (Some(_), false) => 1,
        }
    }

    fn cmp(&self, other: &Number<'_>) -> Ordering {
        let by_sign = self.sign().cmp(&other.sign());
        if by_sign != Ordering::Equal || self.sign() == 0 {
            return by_sign;
        }
        // Same sign, both not zero: the exponent, then the digits (a missing digit is 0).
        let magnitude = self.exp.cmp(&other.exp).then_with(|| {
            let (mut a, mut b) = (self.significant(), other.significant());
            loop {
                match (a.next(), b.next()) {
                    (None, None) => return Ordering::Equal,
                    (x, y) => {
                        let o = x.unwrap_or(b'0').cmp(&y.unwrap_or(b'0'));
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                }
            }
        });
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

/// The column `--order-by NAME` means among `columns`: the first of that exact name, else
/// the first whose name differs only in ASCII case.
pub fn find_column(columns: &[String], name: &str) -> Option<usize> {
    columns
        .iter()
        .position(|c| c == name)
        .or_else(|| columns.iter().position(|c| c.eq_ignore_ascii_case(name)))
}

/// For each merged column, the index of the same column in a world's result: the n-th
/// column of a name maps to that world's n-th column of the name (`SELECT p.id, q.id`).
fn column_map(merged: &[String], world: &[String]) -> Vec<Option<usize>> {
    merged
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let nth = merged[..i].iter().filter(|c| *c == name).count();
            world
                .iter()
                .enumerate()
                .filter(|(_, c)| *c == name)
                .nth(nth)
                .map(|(j, _)| j)
        })
        .collect()
}

/// How one world's columns line up under a statement's header (every world's columns, the
/// first world's first): the header's n-th column of a name takes the world's n-th column of
/// that name (`SELECT p.id, q.id`); a column the world lacks is NULL, and `drift` says how
/// the world's columns differ from the first world's.
#[derive(Debug, Clone, PartialEq)]
pub struct Lineup {
    map: Vec<Option<usize>>,
    identity: bool,
    pub drift: Option<String>,
}

/// The header of a statement answered by worlds with these columns: the first world's
/// columns, then any column another world adds.
pub fn union_header<'a>(worlds: impl IntoIterator<Item = &'a [String]>) -> Vec<String> {
    let mut header: Vec<String> = Vec::new();
    for (i, columns) in worlds.into_iter().enumerate() {
        if i == 0 {
            header.extend(columns.iter().cloned());
        } else {
            for c in columns {
                if !header.contains(c) {
                    header.push(c.clone());
                }
            }
        }
    }
    header
}

impl Lineup {
    /// `first` is the first world's columns, which drift is measured against.
    pub fn new(header: &[String], first: &[String], world: &[String]) -> Lineup {
        let map = column_map(header, world);
        let drift = (first != world).then(|| {
            let missing: Vec<&str> = first
                .iter()
                .filter(|c| !world.contains(c))
                .map(String::as_str)
                .collect();
            let extra: Vec<&str> = world
                .iter()
                .filter(|c| !first.contains(c))
                .map(String::as_str)
                .collect();
            let mut what = Vec::new();
            if !missing.is_empty() {
                what.push(format!("lacks {} (shown as NULL)", missing.join(", ")));
            }
            if !extra.is_empty() {
                what.push(format!("has extra {}", extra.join(", ")));
            }
            if what.is_empty() {
                what.push("has the same columns in another order".to_string());
            }
            format!("columns differ from the first world's: {}", what.join("; "))
        });
        let identity = map.iter().enumerate().all(|(i, m)| *m == Some(i));
        Lineup {
            map,
            identity,
            drift,
        }
    }

    /// The world's column shown under the header's column `i`, if it has one.
    pub fn source(&self, i: usize) -> Option<usize> {
        self.map.get(i).copied().flatten()
    }

    /// A world's row under the header, after the world's name.
    pub fn row(&self, world: &str, mut values: Vec<Cell>) -> Vec<Cell> {
        // The common case: the world's columns are the header's, in order.
        if self.identity && values.len() == self.map.len() {
            values.insert(0, Cell::Text(world.to_string()));
            return values;
        }
        let mut out = Vec::with_capacity(self.map.len() + 1);
        out.push(Cell::Text(world.to_string()));
        for i in &self.map {
            out.push(match i {
                Some(i) if *i < values.len() => std::mem::replace(&mut values[*i], Cell::Null),
                _ => Cell::Null,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn rows_line_up_under_every_worlds_columns() {
        let first = names(&["id", "level"]);
        let other_cols = names(&["lvl", "id"]);
        let header = union_header([&first[..], &other_cols[..]]);
        assert_eq!(header, names(&["id", "level", "lvl"]));
        let same = Lineup::new(&header, &first, &first);
        assert_eq!(same.drift, None);
        assert_eq!(
            same.row("host1", vec![Cell::Int(1), Cell::Int(5)]),
            vec![t("host1"), Cell::Int(1), Cell::Int(5), Cell::Null]
        );
        let other = Lineup::new(&header, &first, &other_cols);
        assert_eq!(
            other.row("host2", vec![Cell::Int(6), Cell::Int(2)]),
            vec![t("host2"), Cell::Int(2), Cell::Null, Cell::Int(6)]
        );
        let drift = other.drift.unwrap();
        assert!(
            drift.contains("lacks level") && drift.contains("extra lvl"),
            "{drift}"
        );
        let two = names(&["id", "id"]);
        let three = names(&["id", "id", "x"]);
        let header = union_header([&two[..], &three[..]]);
        let repeated = Lineup::new(&header, &two, &three);
        assert_eq!(
            repeated.row("h", vec![Cell::Int(3), Cell::Int(4), Cell::Int(5)]),
            vec![t("h"), Cell::Int(3), Cell::Int(4), Cell::Int(5)]
        );
    }

    fn d(s: &str) -> Cell {
        Cell::Decimal(s.to_string())
    }

    #[test]
    fn written_numbers_compare_exactly() {
        use Ordering::*;
        for (a, b, want) in [
            (
                "12345678901234567890.13",
                "12345678901234567890.12",
                Greater,
            ),
            ("-1.5", "-1.25", Less),
            ("10", "9.99", Greater),
            ("2.50", "2.5", Equal),
            ("0.00", "-0", Equal),
            ("-0.001", "0", Less),
            ("007", "7.000", Equal),
            // Scientific notation, as FLOAT and DOUBLE values are written.
            ("1e20", "100000000000000000000", Equal),
            ("1e20", "99999999999999999999.9", Greater),
            ("1.2345678901234567e19", "1e20", Less),
            ("1.2345678901234568e20", "1e20", Greater),
            ("-1.5e-7", "-0.00000015", Equal),
            ("-1.5e-7", "-1.4e-7", Less),
            ("-1.5e-7", "0", Less),
            ("1e-300", "0.1", Less),
            ("1e-300", "0", Greater),
            ("3.4e38", "1E+38", Greater),
            ("2E3", "1999.999", Greater),
            (".5", "0.5", Equal),
            ("5.", "5", Equal),
        ] {
            assert_eq!(compare(&d(a), &d(b)), want, "{a} vs {b}");
            assert_eq!(compare(&d(b), &d(a)), want.reverse(), "{b} vs {a}");
        }
        assert_eq!(
            compare(&Cell::Int(-1), &Cell::UInt(u64::MAX)),
            Ordering::Less
        );
        assert_eq!(compare(&Cell::Int(7), &d("7.5")), Less);
        assert_eq!(compare(&Cell::Int(7), &d("7.0")), Equal);
        assert_eq!(compare(&Cell::UInt(u64::MAX), &d("1.8e19")), Greater);
        assert_eq!(compare(&Cell::Int(i64::MIN), &d("-1e19")), Greater);
        // Not a number (never sent for a numeric column): after every number.
        assert_eq!(compare(&d("abc"), &d("1e300")), Greater);
        assert_eq!(compare(&d("abc"), &d("abd")), Less);
        assert_eq!(compare(&d("1e"), &Cell::Int(1)), Greater);
    }

    #[test]
    fn text_is_compared_by_bytes_even_when_it_looks_like_a_number() {
        assert_eq!(compare(&t("10"), &t("9")), Ordering::Less);
        assert_eq!(compare(&t("2.50"), &t("2.5")), Ordering::Greater);
        assert_eq!(compare(&t("a"), &t("a ")), Ordering::Less);
        assert_eq!(compare(&t("a\0"), &t("a\t")), Ordering::Less);
        assert_eq!(compare(&t("a\t"), &t("a ")), Ordering::Less);
        assert_eq!(compare(&t("B"), &t("a")), Ordering::Less);
        assert_eq!(compare(&t("z"), &t("é")), Ordering::Less);
        assert_eq!(compare(&t("-01:00:00"), &t("100:00:00")), Ordering::Less);
    }

    #[test]
    fn kinds_sort_null_numbers_text_binary() {
        let mut v = vec![
            t("b"),
            Cell::Bytes(vec![0]),
            Cell::Int(3),
            Cell::Null,
            t("10"),
            d("2.5"),
            t("a"),
        ];
        v.sort_by(compare);
        assert_eq!(
            v,
            vec![
                Cell::Null,
                d("2.5"),
                Cell::Int(3),
                t("10"),
                t("a"),
                t("b"),
                Cell::Bytes(vec![0])
            ]
        );
    }

    #[test]
    fn order_by_names_a_column_exactly_else_in_any_case() {
        let cols = names(&["world", "Score", "score", "id"]);
        assert_eq!(find_column(&cols, "score"), Some(2));
        assert_eq!(find_column(&cols, "SCORE"), Some(1));
        assert_eq!(find_column(&cols, "ID"), Some(3));
        assert_eq!(find_column(&cols, "level"), None);
    }

    fn cell() -> impl Strategy<Value = Cell> {
        prop_oneof![
            Just(Cell::Null),
            any::<i64>().prop_map(Cell::Int),
            any::<u64>().prop_map(Cell::UInt),
            "-?[0-9]{1,3}(\\.[0-9]{0,3})?".prop_map(Cell::Text),
            "[a-c0-9.-]{0,4}".prop_map(Cell::Text),
            "-?[0-9]{0,3}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{1,2})?".prop_map(Cell::Decimal),
            "[0-9eE.+-]{0,5}".prop_map(Cell::Decimal),
            prop::collection::vec(any::<u8>(), 0..3).prop_map(Cell::Bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// `compare` is a total order over mixed values: antisymmetric, transitive, and
        /// sorting never panics and gives a sorted result.
        #[test]
        fn prop_compare_is_a_total_order(mut v in prop::collection::vec(cell(), 0..40)) {
            for a in &v {
                prop_assert_eq!(compare(a, a), Ordering::Equal);
                for b in &v {
                    prop_assert_eq!(compare(a, b), compare(b, a).reverse());
                    for c in &v {
                        if compare(a, b) != Ordering::Greater && compare(b, c) != Ordering::Greater {
                            prop_assert_ne!(compare(a, c), Ordering::Greater);
                        }
                    }
                }
            }
            v.sort_by(compare);
            for w in v.windows(2) {
                prop_assert_ne!(compare(&w[0], &w[1]), Ordering::Greater);
            }
        }

        /// Written-out numbers compare as their values: like their floating-point values
        /// where those differ, and an integer equals its own digits in any notation.
        #[test]
        fn prop_written_numbers_compare_as_values(
            a in "-?[0-9]{1,6}(\\.[0-9]{1,6})?(e-?[0-9]{1,2})?",
            b in "-?[0-9]{1,6}(\\.[0-9]{1,6})?(e-?[0-9]{1,2})?",
            i in any::<i64>(),
            shift in 0usize..25,
        ) {
            let (fa, fb) = (a.parse::<f64>().unwrap(), b.parse::<f64>().unwrap());
            if fa != fb {
                prop_assert_eq!(compare(&d(&a), &d(&b)), fa.partial_cmp(&fb).unwrap());
            }
            prop_assert_eq!(compare(&Cell::Int(i), &d(&i.to_string())), Ordering::Equal);
            // i written as i * 10^-shift, times 10^shift.
            let digits = i.unsigned_abs().to_string();
            let sign = if i < 0 { "-" } else { "" };
            let scaled = format!("{sign}0.{}{digits}e{}", "0".repeat(shift), digits.len() + shift);
            prop_assert_eq!(compare(&Cell::Int(i), &d(&scaled)), Ordering::Equal, "{}", scaled);
            prop_assert_eq!(compare(&Cell::Int(i), &d(&format!("{i}.5"))), if i < 0 { Ordering::Greater } else { Ordering::Less });
        }
    }
}
