//! Fan-out results: the values worlds send, their order, and how several worlds' rows for
//! one statement line up under one header. Rendering lives in [`sink`]. Pure: no I/O here.

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
    /// Text, decimals, dates: kept exactly as the server sent them.
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
            Cell::Text(t) => t.clone(),
            Cell::Bytes(b) => Cell::hex(b),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Cell::Null => Json::Null,
            Cell::Int(i) => json!(i),
            Cell::UInt(u) => json!(u),
            Cell::Text(t) => json!(t),
            Cell::Bytes(b) => json!(Cell::hex(b)),
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::UInt(_))
    }
}

const BINARY_CHARSET: u16 = 63;

impl Cell {
    /// A value as the server sent it, typed by its column: integers as numbers, binary
    /// strings as bytes, the rest as text.
    pub fn of(value: Value, column: &Column) -> Cell {
        use ColumnType::*;
        let bytes = match value {
            Value::NULL => return Cell::Null,
            Value::Bytes(b) => b,
            Value::Int(i) => return Cell::Int(i),
            Value::UInt(u) => return Cell::UInt(u),
            other => other.as_sql(true).into_bytes(),
        };
        let ty = column.column_type();
        let integer = matches!(
            ty,
            MYSQL_TYPE_TINY
                | MYSQL_TYPE_SHORT
                | MYSQL_TYPE_LONG
                | MYSQL_TYPE_LONGLONG
                | MYSQL_TYPE_INT24
                | MYSQL_TYPE_YEAR
        );
        if integer {
            if let Ok(text) = std::str::from_utf8(&bytes) {
                if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) {
                    if let Ok(u) = text.parse::<u64>() {
                        return Cell::UInt(u);
                    }
                } else if let Ok(i) = text.parse::<i64>() {
                    return Cell::Int(i);
                }
            }
        }
        let binary_type = matches!(
            ty,
            MYSQL_TYPE_STRING
                | MYSQL_TYPE_VAR_STRING
                | MYSQL_TYPE_VARCHAR
                | MYSQL_TYPE_BLOB
                | MYSQL_TYPE_TINY_BLOB
                | MYSQL_TYPE_MEDIUM_BLOB
                | MYSQL_TYPE_LONG_BLOB
                | MYSQL_TYPE_GEOMETRY
                | MYSQL_TYPE_BIT
        );
        if (binary_type && column.character_set() == BINARY_CHARSET) || ty == MYSQL_TYPE_BIT {
            return Cell::Bytes(bytes);
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
        Cell::Int(_) | Cell::UInt(_) => Rank::Number,
        Cell::Text(t) if decimal_parts(t).is_some() => Rank::Number,
        Cell::Text(_) => Rank::Text,
        Cell::Bytes(_) => Rank::Bytes,
    }
}

/// Compare for `--order-by`. A total order: NULL first, then numbers (integers and decimal
/// text, compared exactly as numbers), then other text (by its bytes), then binary values;
/// each kind compared only within itself.
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
        (Cell::Text(x), Cell::Text(y)) if ra == Rank::Text => x.cmp(y),
        (Cell::Bytes(x), Cell::Bytes(y)) => x.cmp(y),
        _ => {
            // Two numbers, at least one written out as decimal text; then the text itself
            // breaks ties (`2.50` and `2.5` are equal numbers but not equal values).
            let (x, y) = (a.display(), b.display());
            compare_decimal(&x, &y)
                .unwrap_or(Ordering::Equal)
                .then_with(|| x.cmp(&y))
        }
    }
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

/// A decimal number written out (`-12.50`, `3`, `+.5` is not one): (negative, integer digits
/// without leading zeros, fraction digits without trailing zeros).
fn decimal_parts(s: &str) -> Option<(bool, &str, &str)> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| {
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        (neg && !(int.is_empty() && frac.is_empty()), int, frac)
    })
}

/// Compare two decimal numbers written out exactly; None if either is not one.
fn compare_decimal(a: &str, b: &str) -> Option<Ordering> {
    let (na, ia, fa) = decimal_parts(a)?;
    let (nb, ib, fb) = decimal_parts(b)?;
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(ib))
        .then_with(|| {
            let width = fa.len().max(fb.len());
            format!("{fa:0<width$}").cmp(&format!("{fb:0<width$}"))
        });
    Some(match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    })
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

    #[test]
    fn decimals_compare_exactly() {
        assert_eq!(
            compare(&t("12345678901234567890.13"), &t("12345678901234567890.12")),
            Ordering::Greater
        );
        assert_eq!(compare(&t("-1.5"), &t("-1.25")), Ordering::Less);
        assert_eq!(compare(&t("10"), &t("9.99")), Ordering::Greater);
        assert_eq!(
            compare(&Cell::Int(-1), &Cell::UInt(u64::MAX)),
            Ordering::Less
        );
        assert_eq!(compare(&t("abc"), &t("abd")), Ordering::Less);
        assert_eq!(compare(&Cell::Int(7), &t("7.5")), Ordering::Less);
    }

    #[test]
    fn kinds_sort_null_numbers_text_binary() {
        let mut v = vec![
            t("b"),
            Cell::Bytes(vec![0]),
            Cell::Int(3),
            Cell::Null,
            t("10"),
            t("a"),
        ];
        v.sort_by(compare);
        assert_eq!(
            v,
            vec![
                Cell::Null,
                Cell::Int(3),
                t("10"),
                t("a"),
                t("b"),
                Cell::Bytes(vec![0])
            ]
        );
    }

    fn cell() -> impl Strategy<Value = Cell> {
        prop_oneof![
            Just(Cell::Null),
            any::<i64>().prop_map(Cell::Int),
            any::<u64>().prop_map(Cell::UInt),
            "-?[0-9]{1,3}(\\.[0-9]{0,3})?".prop_map(Cell::Text),
            "[a-c0-9.-]{0,4}".prop_map(Cell::Text),
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
    }
}
