//! Fan-out results: what each world answered, merged into one table, and rendered as a
//! table, CSV, TSV or JSON. Pure: no I/O here.

use std::cmp::Ordering;

use comfy_table::{Cell as TableCell, CellAlignment};
use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::catalog::natural_cmp;

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

/// Compare for `--order-by`: NULL first, numbers as numbers, decimal text as numbers.
pub fn compare(a: &Cell, b: &Cell) -> Ordering {
    fn num(c: &Cell) -> Option<f64> {
        match c {
            Cell::Int(i) => Some(*i as f64),
            Cell::UInt(u) => Some(*u as f64),
            Cell::Text(t) => t.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        }
    }
    match (a, b) {
        (Cell::Null, Cell::Null) => Ordering::Equal,
        (Cell::Null, _) => Ordering::Less,
        (_, Cell::Null) => Ordering::Greater,
        (Cell::Int(x), Cell::Int(y)) => x.cmp(y),
        (Cell::UInt(x), Cell::UInt(y)) => x.cmp(y),
        (Cell::Int(x), Cell::UInt(y)) => i128::from(*x).cmp(&i128::from(*y)),
        (Cell::UInt(x), Cell::Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
        _ if compare_decimal(&a.display(), &b.display()).is_some() => {
            compare_decimal(&a.display(), &b.display()).unwrap_or(Ordering::Equal)
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => a.display().cmp(&b.display()),
        },
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

/// Compare two decimal numbers written out (`-12.50`, `3`) exactly; None if either is not one.
fn compare_decimal(a: &str, b: &str) -> Option<Ordering> {
    fn parts(s: &str) -> Option<(bool, &str, &str)> {
        let s = s.trim();
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
    let (na, ia, fa) = parts(a)?;
    let (nb, ib, fb) = parts(b)?;
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

/// A result set of one world.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// What one world answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Rows(Rows),
    /// A statement without a result set (UPDATE, CREATE...).
    Affected(u64),
    Error(String),
}

/// The merged result of all worlds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// `world` first, then the columns of the first world that answered, then any other
    /// world's extra columns.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub errors: Vec<(String, String)>,
    /// Worlds whose columns differ from the first, with a description.
    pub drift: Vec<(String, String)>,
    pub answered: usize,
    pub worlds: usize,
    /// True when every answering world ran a statement without a result set.
    pub affected_only: bool,
}

/// Merge the answers (any order; sorted into natural world order here).
pub fn merge(mut answers: Vec<(String, Answer)>) -> Merged {
    answers.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    let mut m = Merged {
        worlds: answers.len(),
        ..Merged::default()
    };
    let has_rows = answers.iter().any(|(_, a)| matches!(a, Answer::Rows(_)));
    m.affected_only = !has_rows
        && answers
            .iter()
            .any(|(_, a)| matches!(a, Answer::Affected(_)));
    m.columns.push("world".to_string());
    if m.affected_only {
        m.columns.push("affected_rows".to_string());
    }
    let mut reference: Option<Vec<String>> = None;
    for (world, answer) in &answers {
        match answer {
            Answer::Error(e) => m.errors.push((world.clone(), e.clone())),
            Answer::Affected(n) => {
                m.answered += 1;
                if m.affected_only {
                    m.rows.push(vec![Cell::Text(world.clone()), Cell::UInt(*n)]);
                } else {
                    m.drift.push((
                        world.clone(),
                        format!("returned no result set ({n} rows affected)"),
                    ));
                }
            }
            Answer::Rows(r) => {
                m.answered += 1;
                match &reference {
                    None => {
                        reference = Some(r.columns.clone());
                        m.columns.extend(r.columns.iter().cloned());
                    }
                    Some(cols) if cols != &r.columns => {
                        let missing: Vec<&str> = cols
                            .iter()
                            .filter(|c| !r.columns.contains(c))
                            .map(String::as_str)
                            .collect();
                        let extra: Vec<&str> = r
                            .columns
                            .iter()
                            .filter(|c| !cols.contains(c))
                            .map(String::as_str)
                            .collect();
                        let mut what = Vec::new();
                        if !missing.is_empty() {
                            what.push(format!("lacks {}", missing.join(", ")));
                        }
                        if !extra.is_empty() {
                            what.push(format!("has extra {}", extra.join(", ")));
                        }
                        if what.is_empty() {
                            what.push("has the same columns in another order".to_string());
                        }
                        m.drift.push((
                            world.clone(),
                            format!("columns differ: {}", what.join("; ")),
                        ));
                        for c in &r.columns {
                            if !m.columns[1..].contains(c) {
                                m.columns.push(c.clone());
                            }
                        }
                    }
                    Some(_) => {}
                }
                let map = column_map(&m.columns[1..], &r.columns);
                for row in &r.rows {
                    let mut out = Vec::with_capacity(m.columns.len());
                    out.push(Cell::Text(world.clone()));
                    out.extend(
                        map.iter()
                            .map(|i| i.and_then(|i| row.get(i).cloned()).unwrap_or(Cell::Null)),
                    );
                    m.rows.push(out);
                }
            }
        }
    }
    // Rows of early worlds may be shorter if later worlds added columns.
    let width = m.columns.len();
    for row in &mut m.rows {
        row.resize(width, Cell::Null);
    }
    m
}

impl Merged {
    /// `--order-by COL [--desc]` then `--limit N`.
    pub fn order_and_limit(
        &mut self,
        order_by: Option<&str>,
        desc: bool,
        limit: Option<usize>,
    ) -> Result<(), String> {
        if let Some(col) = order_by {
            let i = self
                .columns
                .iter()
                .position(|c| c == col)
                .or_else(|| {
                    self.columns
                        .iter()
                        .position(|c| c.eq_ignore_ascii_case(col))
                })
                .ok_or_else(|| {
                    format!(
                        "--order-by {col:?}: no such column; columns are {}",
                        self.columns.join(", ")
                    )
                })?;
            self.rows.sort_by(|a, b| {
                let o = compare(&a[i], &b[i]);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        if let Some(n) = limit {
            self.rows.truncate(n);
        }
        Ok(())
    }

    /// The table for a terminal.
    pub fn to_table(&self) -> String {
        let mut t =
            crate::output::table(&self.columns.iter().map(String::as_str).collect::<Vec<_>>());
        for row in &self.rows {
            t.add_row(row.iter().map(|c| {
                let cell = TableCell::new(c.display().replace('\t', "\\t").replace('\r', "\\r"));
                if c.is_number() {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        t.to_string()
    }

    /// RFC 4180 CSV; NULL is an empty unquoted field, an empty string is `""`.
    pub fn to_csv(&self) -> String {
        fn field(s: &str) -> String {
            if s.is_empty()
                || s.contains([',', '"', '\n', '\r'])
                || s.starts_with(' ')
                || s.ends_with(' ')
            {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        }
        let mut out = String::new();
        out.push_str(
            &self
                .columns
                .iter()
                .map(|c| field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
        for row in &self.rows {
            let line: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Null => String::new(),
                    other => field(&other.display()),
                })
                .collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// Tab-separated like `mysql --batch`: `\N` for NULL, tab/newline/backslash escaped.
    pub fn to_tsv(&self) -> String {
        fn field(s: &str) -> String {
            let mut o = String::with_capacity(s.len());
            for ch in s.chars() {
                match ch {
                    '\\' => o.push_str("\\\\"),
                    '\t' => o.push_str("\\t"),
                    '\n' => o.push_str("\\n"),
                    '\r' => o.push_str("\\r"),
                    '\0' => o.push_str("\\0"),
                    c => o.push(c),
                }
            }
            o
        }
        let mut out = self
            .columns
            .iter()
            .map(|c| field(c))
            .collect::<Vec<_>>()
            .join("\t");
        out.push('\n');
        for row in &self.rows {
            let line: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Null => "\\N".to_string(),
                    other => field(&other.display()),
                })
                .collect();
            out.push_str(&line.join("\t"));
            out.push('\n');
        }
        out
    }

    /// `{"columns":[...],"rows":[[...]],"errors":[{"world":..,"error":..}]}`
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            columns: &'a [String],
            rows: Vec<Vec<Json>>,
            errors: Vec<WorldError<'a>>,
        }
        #[derive(Serialize)]
        struct WorldError<'a> {
            world: &'a str,
            error: &'a str,
        }
        let out = Out {
            columns: &self.columns,
            rows: self
                .rows
                .iter()
                .map(|r| r.iter().map(Cell::to_json).collect())
                .collect(),
            errors: self
                .errors
                .iter()
                .map(|(w, e)| WorldError { world: w, error: e })
                .collect(),
        };
        serde_json::to_string(&out).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cols: &[&str], data: Vec<Vec<Cell>>) -> Answer {
        Answer::Rows(Rows {
            columns: cols.iter().map(|c| c.to_string()).collect(),
            rows: data,
        })
    }

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    #[test]
    fn merges_in_natural_world_order_keeping_row_order() {
        let m = merge(vec![
            ("host10".into(), rows(&["a"], vec![vec![Cell::Int(10)]])),
            (
                "host2".into(),
                rows(&["a"], vec![vec![Cell::Int(3)], vec![Cell::Int(1)]]),
            ),
            ("host1".into(), Answer::Error("boom".into())),
        ]);
        assert_eq!(m.columns, vec!["world", "a"]);
        let worlds: Vec<String> = m.rows.iter().map(|r| r[0].display()).collect();
        assert_eq!(worlds, vec!["host2", "host2", "host10"]);
        assert_eq!(m.rows[0][1], Cell::Int(3));
        assert_eq!(m.errors, vec![("host1".to_string(), "boom".to_string())]);
        assert_eq!((m.answered, m.worlds), (2, 3));
    }

    #[test]
    fn schema_drift_is_shown_not_fatal() {
        let m = merge(vec![
            (
                "host1".into(),
                rows(&["id", "level"], vec![vec![Cell::Int(1), Cell::Int(5)]]),
            ),
            (
                "host2".into(),
                rows(&["id", "lvl"], vec![vec![Cell::Int(2), Cell::Int(6)]]),
            ),
        ]);
        assert_eq!(m.columns, vec!["world", "id", "level", "lvl"]);
        assert_eq!(
            m.rows[0],
            vec![t("host1"), Cell::Int(1), Cell::Int(5), Cell::Null]
        );
        assert_eq!(
            m.rows[1],
            vec![t("host2"), Cell::Int(2), Cell::Null, Cell::Int(6)]
        );
        assert_eq!(m.drift.len(), 1);
        assert!(m.drift[0].1.contains("lacks level"), "{:?}", m.drift);
        assert!(m.drift[0].1.contains("extra lvl"), "{:?}", m.drift);
    }

    #[test]
    fn repeated_column_names_keep_their_own_values() {
        let m = merge(vec![
            (
                "host1".into(),
                rows(&["id", "id"], vec![vec![Cell::Int(1), Cell::Int(2)]]),
            ),
            (
                "host2".into(),
                rows(
                    &["id", "id", "x"],
                    vec![vec![Cell::Int(3), Cell::Int(4), Cell::Int(5)]],
                ),
            ),
        ]);
        assert_eq!(
            m.rows[0],
            vec![t("host1"), Cell::Int(1), Cell::Int(2), Cell::Null]
        );
        assert_eq!(
            m.rows[1],
            vec![t("host2"), Cell::Int(3), Cell::Int(4), Cell::Int(5)]
        );
    }

    #[test]
    fn decimals_compare_exactly() {
        let big = |s: &str| t(s);
        assert_eq!(
            compare(
                &big("12345678901234567890.13"),
                &big("12345678901234567890.12")
            ),
            Ordering::Greater
        );
        assert_eq!(compare(&big("-1.5"), &big("-1.25")), Ordering::Less);
        assert_eq!(compare(&big("2.50"), &big("2.5")), Ordering::Equal);
        assert_eq!(compare(&big("-0.0"), &big("0")), Ordering::Equal);
        assert_eq!(compare(&big("10"), &big("9.99")), Ordering::Greater);
        assert_eq!(
            compare(&Cell::Int(-1), &Cell::UInt(u64::MAX)),
            Ordering::Less
        );
        assert_eq!(compare(&big("abc"), &big("abd")), Ordering::Less);
    }

    #[test]
    fn affected_rows_per_world() {
        let m = merge(vec![
            ("host1".into(), Answer::Affected(3)),
            ("host2".into(), Answer::Affected(0)),
        ]);
        assert!(m.affected_only);
        assert_eq!(m.columns, vec!["world", "affected_rows"]);
        assert_eq!(m.rows[0][1], Cell::UInt(3));
    }

    #[test]
    fn order_by_and_limit_across_worlds() {
        let mut m = merge(vec![
            (
                "host1".into(),
                rows(&["score"], vec![vec![t("5.50")], vec![t("10.25")]]),
            ),
            (
                "host2".into(),
                rows(&["score"], vec![vec![t("7")], vec![Cell::Null]]),
            ),
        ]);
        m.order_and_limit(Some("score"), true, Some(2)).unwrap();
        let got: Vec<String> = m.rows.iter().map(|r| r[1].display()).collect();
        assert_eq!(got, vec!["10.25", "7"]);
        assert!(m
            .order_and_limit(Some("nope"), false, None)
            .unwrap_err()
            .contains("score"));
    }

    #[test]
    fn renders_every_format() {
        let m = merge(vec![(
            "host1".into(),
            rows(
                &["i", "s", "b", "n"],
                vec![vec![
                    Cell::Int(-1),
                    t("a,\"b\"\tc"),
                    Cell::Bytes(vec![0, 255]),
                    Cell::Null,
                ]],
            ),
        )]);
        assert_eq!(
            m.to_json(),
            r#"{"columns":["world","i","s","b","n"],"rows":[["host1",-1,"a,\"b\"\tc","0x00FF",null]],"errors":[]}"#
        );
        assert_eq!(
            m.to_csv(),
            "world,i,s,b,n\r\nhost1,-1,\"a,\"\"b\"\"\tc\",0x00FF,\r\n"
        );
        assert_eq!(
            m.to_tsv(),
            "world\ti\ts\tb\tn\nhost1\t-1\ta,\"b\"\\tc\t0x00FF\t\\N\n"
        );
        let table = m.to_table();
        assert!(
            table.contains("0x00FF") && table.contains("NULL"),
            "{table}"
        );
    }
}
