//! `worlds diff`: the pure parts. Both sides of a world arrive sorted by key; [`Merge`] walks
//! them side by side and counts, per world, rows added, removed, changed and unchanged, which
//! columns changed how often and by how much ([`Delta`]). [`outliers`] marks worlds whose
//! change stands out from the others'.
//!
//! Values compare exactly: the bytes the server sends in its text protocol, with NULL apart
//! from every string (so `''` vs NULL, `'a'` vs `'A'`, `1.50` vs `1.5` are all changes).

pub mod number;
pub mod outlier;

use std::cmp::Ordering;

use mysql_async::consts::ColumnType;
use mysql_async::{Column, Value};

pub use number::{Delta, Number};
pub use outlier::outliers;

/// What a column holds, as far as ordering and arithmetic are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Integer types and YEAR: ordered and subtracted as whole numbers.
    Int,
    /// DECIMAL: subtracted exactly.
    Decimal,
    /// FLOAT and DOUBLE: subtracted as doubles.
    Float,
    /// Binary strings, BIT, geometry: ordered by their bytes.
    Binary,
    /// Everything else (text, dates, times, ENUM, SET, JSON).
    Text,
}

impl Kind {
    /// The column's kind as `worlds query` types its values, with DECIMAL told apart from
    /// FLOAT and DOUBLE for arithmetic.
    pub fn of(column: &Column) -> Kind {
        use crate::query::Kind as Typed;
        match crate::query::kind(column) {
            Typed::Integer { .. } => Kind::Int,
            Typed::Written
                if matches!(
                    column.column_type(),
                    ColumnType::MYSQL_TYPE_FLOAT | ColumnType::MYSQL_TYPE_DOUBLE
                ) =>
            {
                Kind::Float
            }
            Typed::Written => Kind::Decimal,
            Typed::Bytes => Kind::Binary,
            Typed::Text => Kind::Text,
        }
    }

    pub fn numeric(self) -> bool {
        matches!(self, Kind::Int | Kind::Decimal | Kind::Float)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Int => "integer",
            Kind::Decimal => "decimal",
            Kind::Float => "floating point",
            Kind::Binary => "binary",
            Kind::Text => "text",
        }
    }
}

/// How one key column is ordered on both sides, so that the servers' `ORDER BY` and
/// [`KeyPart`]'s order agree: integers as numbers (both sides integer: the index order, no
/// sort), binary as bytes, and everything else by the bytes of its text (never by a
/// collation, where `'a' = 'A'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    Number,
    Bytes,
    TextBytes,
}

impl KeyOrder {
    pub fn for_kinds(from: Kind, to: Kind) -> KeyOrder {
        match (from, to) {
            (Kind::Int, Kind::Int) => KeyOrder::Number,
            (Kind::Binary, Kind::Binary) => KeyOrder::Bytes,
            _ => KeyOrder::TextBytes,
        }
    }

    /// The `ORDER BY` expression for the (quoted) column.
    pub fn expression(self, quoted: &str) -> String {
        match self {
            KeyOrder::Number | KeyOrder::Bytes => quoted.to_string(),
            KeyOrder::TextBytes => format!("CAST(CONVERT({quoted} USING utf8mb4) AS BINARY)"),
        }
    }

    /// The value as it sorts. Integers that do not parse are an error: the order would not
    /// be the server's.
    pub fn part(self, value: &Value) -> Result<KeyPart, String> {
        match value {
            Value::NULL => Ok(KeyPart::Null),
            Value::Bytes(b) => match self {
                KeyOrder::Number => std::str::from_utf8(b)
                    .ok()
                    .and_then(|t| t.parse::<i128>().ok())
                    .map(KeyPart::Int)
                    .ok_or_else(|| {
                        format!(
                            "key value {:?} is not an integer",
                            String::from_utf8_lossy(b)
                        )
                    }),
                KeyOrder::Bytes | KeyOrder::TextBytes => Ok(KeyPart::Bytes(b.clone())),
            },
            Value::Int(i) => Ok(KeyPart::Int(i128::from(*i))),
            Value::UInt(u) => Ok(KeyPart::Int(i128::from(*u))),
            other => Ok(KeyPart::Bytes(other.as_sql(true).into_bytes())),
        }
    }
}

/// One key column's value as it sorts: NULL first (as `ORDER BY` puts it), then the value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyPart {
    Null,
    Int(i128),
    Bytes(Vec<u8>),
}

/// What happened to a row between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// One row of a side: its key as it sorts, and its values (key columns first, then the
/// compared columns, as selected).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: Vec<KeyPart>,
    pub values: Vec<Value>,
}

/// A difference found by [`Merge::step`]: the rows as read (the side that lacks the row
/// is `None`), and for a change, the compared columns (indexes into the compared list)
/// whose values differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub change: Change,
    pub from: Option<Row>,
    pub to: Option<Row>,
    pub columns: Vec<usize>,
}

/// Counts of one world.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub rows_from: u64,
    pub rows_to: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Per compared column: rows where it changed.
    pub changed_columns: Vec<u64>,
    /// Per compared column: the change of its value where both sides are numbers.
    pub deltas: Vec<Option<Delta>>,
}

impl Tally {
    pub fn differs(&self) -> bool {
        self.added + self.removed + self.changed > 0
    }

    /// Rows added, removed or changed, over the larger side (0 when both are empty).
    pub fn changed_fraction(&self) -> f64 {
        let rows = self.rows_from.max(self.rows_to);
        if rows == 0 {
            0.0
        } else {
            (self.added + self.removed + self.changed) as f64 / rows as f64
        }
    }
}

/// The side-by-side walk of one world. Rows of each side must come in strictly increasing
/// key order; a repeated key means the key does not identify rows.
pub struct Merge {
    /// Number of key columns at the front of each row's values.
    keys: usize,
    /// Per compared column: its kind on each side, for deltas.
    kinds: Vec<(Kind, Kind)>,
    pub tally: Tally,
    last_from: Option<Vec<KeyPart>>,
    last_to: Option<Vec<KeyPart>>,
}

/// Which side a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    From,
    To,
}

/// Why a side's rows cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderError {
    /// The same key twice: the key does not identify a row.
    Repeated(Side, Vec<KeyPart>),
    /// A key smaller than the one before: the server's order is not ours.
    Backwards(Side, Vec<KeyPart>),
}

impl Merge {
    pub fn new(keys: usize, kinds: Vec<(Kind, Kind)>) -> Merge {
        let n = kinds.len();
        let deltas = kinds
            .iter()
            .map(|(a, b)| (a.numeric() && b.numeric()).then(Delta::default))
            .collect();
        Merge {
            keys,
            kinds,
            tally: Tally {
                rows_from: 0,
                rows_to: 0,
                added: 0,
                removed: 0,
                changed: 0,
                unchanged: 0,
                changed_columns: vec![0; n],
                deltas,
            },
            last_from: None,
            last_to: None,
        }
    }

    fn check(
        last: &mut Option<Vec<KeyPart>>,
        side: Side,
        key: &[KeyPart],
    ) -> Result<(), OrderError> {
        if let Some(previous) = last.as_deref() {
            match previous.cmp(key) {
                Ordering::Less => {}
                Ordering::Equal => return Err(OrderError::Repeated(side, key.to_vec())),
                Ordering::Greater => return Err(OrderError::Backwards(side, key.to_vec())),
            }
        }
        *last = Some(key.to_vec());
        Ok(())
    }

    /// Which side to read next: the one with the smaller key, both when equal.
    pub fn order(from: Option<&Row>, to: Option<&Row>) -> Option<Ordering> {
        match (from, to) {
            (None, None) => None,
            (Some(_), None) => Some(Ordering::Less),
            (None, Some(_)) => Some(Ordering::Greater),
            (Some(a), Some(b)) => Some(a.key.cmp(&b.key)),
        }
    }

    /// Account for the heads of both sides, of which [`Merge::order`] said which are
    /// consumed: `Less` takes `from` (removed), `Greater` takes `to` (added), `Equal` both.
    pub fn step(
        &mut self,
        ordering: Ordering,
        from: Option<Row>,
        to: Option<Row>,
    ) -> Result<Option<Found>, OrderError> {
        if let Some(row) = &from {
            Merge::check(&mut self.last_from, Side::From, &row.key)?;
            self.tally.rows_from += 1;
        }
        if let Some(row) = &to {
            Merge::check(&mut self.last_to, Side::To, &row.key)?;
            self.tally.rows_to += 1;
        }
        Ok(match ordering {
            Ordering::Less => {
                self.tally.removed += 1;
                Some(Found {
                    change: Change::Removed,
                    from,
                    to: None,
                    columns: Vec::new(),
                })
            }
            Ordering::Greater => {
                self.tally.added += 1;
                Some(Found {
                    change: Change::Added,
                    from: None,
                    to,
                    columns: Vec::new(),
                })
            }
            Ordering::Equal => {
                let (Some(a), Some(b)) = (from, to) else {
                    return Ok(None);
                };
                let differing: Vec<usize> = (0..self.kinds.len())
                    .filter(|&i| a.values[self.keys + i] != b.values[self.keys + i])
                    .collect();
                if differing.is_empty() {
                    self.tally.unchanged += 1;
                    return Ok(None);
                }
                self.tally.changed += 1;
                for &i in &differing {
                    self.tally.changed_columns[i] += 1;
                    let (kind_from, kind_to) = self.kinds[i];
                    if let Some(delta) = &mut self.tally.deltas[i] {
                        let before = Number::parse(kind_from, &a.values[self.keys + i]);
                        let after = Number::parse(kind_to, &b.values[self.keys + i]);
                        if let (Some(x), Some(y)) = (before, after) {
                            delta.add(&y.minus(&x));
                        }
                    }
                }
                Some(Found {
                    change: Change::Changed,
                    from: Some(a),
                    to: Some(b),
                    columns: differing,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    fn row(id: i128, values: &[Value]) -> Row {
        let mut all = vec![v(&id.to_string())];
        all.extend(values.iter().cloned());
        Row {
            key: vec![KeyPart::Int(id)],
            values: all,
        }
    }

    /// Walk two sides as the command does; returns the differences found.
    fn walk(merge: &mut Merge, from: Vec<Row>, to: Vec<Row>) -> Result<Vec<Found>, OrderError> {
        let mut from = from.into_iter().peekable();
        let mut to = to.into_iter().peekable();
        let mut found = Vec::new();
        while let Some(o) = Merge::order(from.peek(), to.peek()) {
            let (a, b) = match o {
                Ordering::Less => (from.next(), None),
                Ordering::Greater => (None, to.next()),
                Ordering::Equal => (from.next(), to.next()),
            };
            found.extend(merge.step(o, a, b)?);
        }
        Ok(found)
    }

    #[test]
    fn rows_are_matched_by_key_and_compared_exactly() {
        let kinds = vec![(Kind::Text, Kind::Text), (Kind::Int, Kind::Int)];
        let mut m = Merge::new(1, kinds);
        let from = vec![
            row(1, &[v("a"), v("10")]),
            row(2, &[v("b"), v("20")]),
            row(3, &[v(""), v("30")]),
            row(5, &[v("e"), v("50")]),
        ];
        let to = vec![
            row(1, &[v("a"), v("10")]),
            row(2, &[v("B"), v("25")]),
            row(3, &[Value::NULL, v("30")]),
            row(4, &[v("d"), v("40")]),
        ];
        let found = walk(&mut m, from, to).unwrap();
        let changes: Vec<(Change, Vec<usize>)> = found
            .iter()
            .map(|f| (f.change, f.columns.clone()))
            .collect();
        assert_eq!(
            changes,
            vec![
                (Change::Changed, vec![0, 1]),
                (Change::Changed, vec![0]),
                (Change::Added, vec![]),
                (Change::Removed, vec![]),
            ]
        );
        let t = &m.tally;
        assert_eq!(
            (
                t.rows_from,
                t.rows_to,
                t.added,
                t.removed,
                t.changed,
                t.unchanged
            ),
            (4, 4, 1, 1, 2, 1)
        );
        assert_eq!(t.changed_columns, vec![2, 1]);
        assert_eq!(t.deltas[0], None);
        let d = t.deltas[1].as_ref().unwrap();
        assert_eq!(d.count, 1);
        assert_eq!(d.sum.as_ref().unwrap().to_string(), "5");
    }

    #[test]
    fn a_repeated_or_backward_key_is_refused() {
        let mut m = Merge::new(1, vec![]);
        let err = walk(&mut m, vec![row(1, &[]), row(1, &[])], vec![]).unwrap_err();
        assert_eq!(err, OrderError::Repeated(Side::From, vec![KeyPart::Int(1)]));
        let mut m = Merge::new(1, vec![]);
        let err = walk(&mut m, vec![], vec![row(2, &[]), row(1, &[])]).unwrap_err();
        assert_eq!(err, OrderError::Backwards(Side::To, vec![KeyPart::Int(1)]));
    }

    #[test]
    fn key_parts_sort_like_the_servers_order_by() {
        assert!(KeyPart::Null < KeyPart::Int(-5));
        assert!(KeyPart::Int(9) < KeyPart::Int(10));
        // Text keys are ordered by their bytes on the server too.
        assert!(KeyPart::Bytes(b"A".to_vec()) < KeyPart::Bytes(b"a".to_vec()));
        assert_eq!(KeyOrder::Number.part(&v("-12")).unwrap(), KeyPart::Int(-12));
        assert!(KeyOrder::Number.part(&v("x")).is_err());
        assert_eq!(
            KeyOrder::TextBytes.expression("`k`"),
            "CAST(CONVERT(`k` USING utf8mb4) AS BINARY)"
        );
        assert_eq!(KeyOrder::for_kinds(Kind::Int, Kind::Int), KeyOrder::Number);
        assert_eq!(
            KeyOrder::for_kinds(Kind::Int, Kind::Text),
            KeyOrder::TextBytes
        );
        assert_eq!(
            KeyOrder::for_kinds(Kind::Binary, Kind::Binary),
            KeyOrder::Bytes
        );
    }

    #[test]
    fn the_changed_fraction_is_over_the_larger_side() {
        let mut m = Merge::new(1, vec![]);
        walk(&mut m, vec![row(1, &[])], vec![row(1, &[]), row(2, &[])]).unwrap();
        assert_eq!(m.tally.changed_fraction(), 0.5);
        assert_eq!(Merge::new(1, vec![]).tally.changed_fraction(), 0.0);
    }
}
