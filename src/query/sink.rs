//! Where a query's rows go, one at a time: CSV, TSV, JSON and vertical output stream each
//! row as it comes; the table format holds rows, up to a cap. `--order-by` happens before
//! a sink (see [`super::merge`]).

use std::io::{self, Write};

use comfy_table::{Cell as TableCell, CellAlignment};
use serde_json::Value as Json;

use super::Cell;

/// The statement a result belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// 0-based position in the query text.
    pub index: usize,
    /// Statements in the query text.
    pub total: usize,
    pub sql: &'a str,
}

impl Statement<'_> {
    /// `statement 2 of 3: SELECT ...` (short), for labels.
    pub fn label(&self) -> String {
        let one_line: String = self.sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = one_line.chars().take(60).collect();
        let dots = if short.len() < one_line.len() {
            "..."
        } else {
            ""
        };
        format!(
            "statement {} of {}: {short}{dots}",
            self.index + 1,
            self.total
        )
    }
}

/// A world's error for one statement.
pub type WorldError = (String, String);

/// Receives every statement's result in order.
pub trait Sink {
    /// A statement's result begins; `columns` start with `world`.
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()>;
    fn row(&mut self, row: Vec<Cell>) -> io::Result<()>;
    fn end(&mut self, st: &Statement<'_>, errors: &[WorldError]) -> io::Result<()>;
    /// After the last statement.
    fn finish(&mut self) -> io::Result<()>;
}

/// More rows than a holding sink takes.
pub fn too_many(cap: usize, what: &str) -> io::Error {
    io::Error::other(format!(
        "the result has more than {cap} rows, more than {what} holds in memory; use \
         --format tsv, csv or json (they stream results of any size), or --limit"
    ))
}

/// CSV (RFC 4180) or TSV (like `mysql --batch`).
pub struct Delimited<W: Write> {
    out: W,
    csv: bool,
    header: bool,
    scratch: Vec<u8>,
}

impl<W: Write> Delimited<W> {
    pub fn csv(out: W, header: bool) -> Self {
        Delimited {
            out,
            csv: true,
            header,
            scratch: Vec::new(),
        }
    }

    pub fn tsv(out: W, header: bool) -> Self {
        Delimited {
            out,
            csv: false,
            header,
            scratch: Vec::new(),
        }
    }

    /// Append one value to `line`, escaped for the format.
    fn field(&self, line: &mut Vec<u8>, c: &Cell) {
        match (c, self.csv) {
            (Cell::Null, true) => {}
            (Cell::Null, false) => line.extend_from_slice(b"\\N"),
            (Cell::Int(i), _) => {
                let _ = write!(line, "{i}");
            }
            (Cell::UInt(u), _) => {
                let _ = write!(line, "{u}");
            }
            // Digits, a sign, a point and an exponent: nothing to quote or escape.
            (Cell::Decimal(t), _) => line.extend_from_slice(t.as_bytes()),
            (Cell::Text(t), true) => line.extend_from_slice(csv_field(t).as_bytes()),
            (Cell::Text(t), false) => push_tsv(line, t),
            (other, true) => line.extend_from_slice(csv_field(&other.display()).as_bytes()),
            (other, false) => push_tsv(line, &other.display()),
        }
    }

    fn line(&mut self, fields: &[String]) -> io::Result<()> {
        let (sep, end): (&str, &str) = if self.csv {
            (",", "\r\n")
        } else {
            ("\t", "\n")
        };
        self.out.write_all(fields.join(sep).as_bytes())?;
        self.out.write_all(end.as_bytes())
    }
}

/// Append `s` as a TSV field: backslash, tab, newline, CR and NUL escaped.
fn push_tsv(line: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0 => b"\\0",
            _ => continue,
        };
        line.extend_from_slice(&bytes[from..i]);
        line.extend_from_slice(escaped);
        from = i + 1;
    }
    line.extend_from_slice(&bytes[from..]);
}

fn csv_field(s: &str) -> String {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ')
    {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn tsv_field(s: &str) -> String {
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

impl<W: Write> Sink for Delimited<W> {
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()> {
        if st.index > 0 {
            // Results back to back, apart by an empty line, as `mysql --batch` prints them.
            self.out.write_all(if self.csv { b"\r\n" } else { b"\n" })?;
        }
        if self.header {
            let names: Vec<String> = columns
                .iter()
                .map(|c| if self.csv { csv_field(c) } else { tsv_field(c) })
                .collect();
            self.line(&names)?;
        }
        Ok(())
    }

    fn row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                line.push(if self.csv { b',' } else { b'\t' });
            }
            self.field(&mut line, c);
        }
        line.extend_from_slice(if self.csv { b"\r\n" } else { b"\n" });
        let written = self.out.write_all(&line);
        self.scratch = line;
        written
    }

    fn end(&mut self, _: &Statement<'_>, _: &[WorldError]) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// JSON: one statement gives `{"columns":[...],"rows":[...],"errors":[...]}`; several give
/// `{"statements":[{"sql":"...","columns":[...],"rows":[...],"errors":[...]}, ...]}`.
/// Rows are written as they come. Ends with a newline.
pub struct JsonOut<W: Write> {
    out: W,
    multi: bool,
    rows_written: usize,
}

impl<W: Write> JsonOut<W> {
    pub fn new(out: W, statements: usize) -> Self {
        JsonOut {
            out,
            multi: statements > 1,
            rows_written: 0,
        }
    }
}

fn json_text(v: &impl serde::Serialize) -> io::Result<String> {
    serde_json::to_string(v).map_err(io::Error::other)
}

impl<W: Write> Sink for JsonOut<W> {
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()> {
        if self.multi {
            let lead = if st.index == 0 {
                "{\"statements\":["
            } else {
                ","
            };
            write!(
                self.out,
                "{lead}{{\"sql\":{},\"columns\":{},\"rows\":[",
                json_text(&st.sql)?,
                json_text(&columns)?
            )?;
        } else {
            write!(
                self.out,
                "{{\"columns\":{},\"rows\":[",
                json_text(&columns)?
            )?;
        }
        self.rows_written = 0;
        Ok(())
    }

    fn row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        let values: Vec<Json> = row.iter().map(Cell::to_json).collect();
        if self.rows_written > 0 {
            self.out.write_all(b",")?;
        }
        self.out.write_all(json_text(&values)?.as_bytes())?;
        self.rows_written += 1;
        Ok(())
    }

    fn end(&mut self, _: &Statement<'_>, errors: &[WorldError]) -> io::Result<()> {
        let errors: Vec<Json> = errors
            .iter()
            .map(|(w, e)| serde_json::json!({"world": w, "error": e}))
            .collect();
        write!(self.out, "],\"errors\":{}}}", json_text(&errors)?)
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.multi {
            self.out.write_all(b"]}")?;
        }
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// One `name: value` line per column and a ruler per row, like the mysql client's `\G`.
pub struct Vertical<W: Write> {
    out: W,
    columns: Vec<String>,
    width: usize,
    n: usize,
}

impl<W: Write> Vertical<W> {
    pub fn new(out: W) -> Self {
        Vertical {
            out,
            columns: Vec::new(),
            width: 0,
            n: 0,
        }
    }
}

impl<W: Write> Sink for Vertical<W> {
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()> {
        if st.total > 1 {
            if st.index > 0 {
                writeln!(self.out)?;
            }
            writeln!(self.out, "-- {}", st.label())?;
        }
        self.columns = columns.to_vec();
        self.width = columns.iter().map(|c| c.chars().count()).max().unwrap_or(0);
        self.n = 0;
        Ok(())
    }

    fn row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        self.n += 1;
        writeln!(self.out, "{:*^27} {}. row {:*^27}", "", self.n, "")?;
        for (name, value) in self.columns.iter().zip(&row) {
            writeln!(self.out, "{name:>w$}: {}", value.display(), w = self.width)?;
        }
        Ok(())
    }

    fn end(&mut self, _: &Statement<'_>, _: &[WorldError]) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A table for a terminal: holds up to `cap` rows per statement, then refuses.
pub struct TableOut<W: Write> {
    out: W,
    cap: usize,
    header: bool,
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl<W: Write> TableOut<W> {
    pub fn new(out: W, cap: usize, header: bool) -> Self {
        TableOut {
            out,
            cap,
            header,
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }
}

impl<W: Write> Sink for TableOut<W> {
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()> {
        if st.total > 1 {
            if st.index > 0 {
                writeln!(self.out)?;
            }
            writeln!(self.out, "-- {}", st.label())?;
        }
        self.columns = columns.to_vec();
        self.rows.clear();
        Ok(())
    }

    fn row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        if self.rows.len() >= self.cap {
            return Err(too_many(self.cap, "the table format"));
        }
        self.rows.push(row);
        Ok(())
    }

    fn end(&mut self, _: &Statement<'_>, _: &[WorldError]) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut t = crate::output::table(&[]);
        if self.header {
            t.set_header(self.columns.iter().map(TableCell::new));
        }
        for row in self.rows.drain(..) {
            t.add_row(row.iter().map(|c| {
                let cell = TableCell::new(c.display().replace('\t', "\\t").replace('\r', "\\r"));
                if c.is_number() {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        writeln!(self.out, "{t}")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `--limit N` without `--order-by`: the first N rows of each statement.
pub struct Limited<S: Sink> {
    inner: S,
    limit: usize,
    seen: usize,
}

impl<S: Sink> Limited<S> {
    pub fn new(inner: S, limit: usize) -> Self {
        Limited {
            inner,
            limit,
            seen: 0,
        }
    }
}

impl<S: Sink> Sink for Limited<S> {
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()> {
        self.seen = 0;
        self.inner.begin(st, columns)
    }

    fn row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        self.seen += 1;
        if self.seen <= self.limit {
            self.inner.row(row)?;
        }
        Ok(())
    }

    fn end(&mut self, st: &Statement<'_>, errors: &[WorldError]) -> io::Result<()> {
        self.inner.end(st, errors)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

/// Counts the rows that reach the sink behind it (after `--order-by` and `--limit`).
pub struct Counted<S: Sink> {
    inner: S,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<S: Sink> Counted<S> {
    pub fn new(inner: S, count: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Self {
        Counted { inner, count }
    }
}

impl<S: Sink> Sink for Counted<S> {
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()> {
        self.inner.begin(st, columns)
    }

    fn row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.row(row)
    }

    fn end(&mut self, st: &Statement<'_>, errors: &[WorldError]) -> io::Result<()> {
        self.inner.end(st, errors)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

impl Sink for Box<dyn Sink + Send + '_> {
    fn begin(&mut self, st: &Statement<'_>, columns: &[String]) -> io::Result<()> {
        (**self).begin(st, columns)
    }
    fn row(&mut self, row: Vec<Cell>) -> io::Result<()> {
        (**self).row(row)
    }
    fn end(&mut self, st: &Statement<'_>, errors: &[WorldError]) -> io::Result<()> {
        (**self).end(st, errors)
    }
    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    fn cols(v: &[&str]) -> Vec<String> {
        v.iter().map(|c| c.to_string()).collect()
    }

    /// One statement's (sql, columns, rows, errors).
    type Result1<'a> = (&'a str, &'a [&'a str], Vec<Vec<Cell>>, Vec<WorldError>);

    /// Feed statements into a sink.
    fn render<S: Sink>(mut sink: S, statements: &[Result1<'_>]) -> io::Result<()> {
        let total = statements.len();
        for (index, (sql, c, rows, errors)) in statements.iter().enumerate() {
            let st = Statement { index, total, sql };
            sink.begin(&st, &cols(c))?;
            for r in rows {
                sink.row(r.clone())?;
            }
            sink.end(&st, errors)?;
        }
        sink.finish()
    }

    fn one() -> Vec<Result1<'static>> {
        vec![(
            "SELECT ...",
            &["world", "i", "s", "b", "n"],
            vec![vec![
                t("host1"),
                Cell::Int(-1),
                t("a,\"b\"\tc"),
                Cell::Bytes(vec![0, 255]),
                Cell::Null,
            ]],
            vec![],
        )]
    }

    #[test]
    fn one_statement_in_every_format() {
        let mut out = Vec::new();
        render(JsonOut::new(&mut out, 1), &one()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"columns\":[\"world\",\"i\",\"s\",\"b\",\"n\"],\"rows\":[[\"host1\",-1,\"a,\\\"b\\\"\\tc\",\"0x00FF\",null]],\"errors\":[]}\n"
        );
        let mut out = Vec::new();
        render(Delimited::csv(&mut out, true), &one()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "world,i,s,b,n\r\nhost1,-1,\"a,\"\"b\"\"\tc\",0x00FF,\r\n"
        );
        let mut out = Vec::new();
        render(Delimited::tsv(&mut out, false), &one()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "host1\t-1\ta,\"b\"\\tc\t0x00FF\t\\N\n"
        );
        let mut out = Vec::new();
        render(Vertical::new(&mut out), &one()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("*************************** 1. row ***************************\nworld: host1\n    i: -1\n"), "{text}");
        assert!(text.contains("    n: NULL\n"), "{text}");
        let mut out = Vec::new();
        render(TableOut::new(&mut out, 10, true), &one()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("0x00FF") && text.contains("NULL") && text.contains("world"),
            "{text}"
        );
    }

    #[test]
    fn several_statements_in_json_and_tsv() {
        let statements = vec![
            (
                "SELECT 1 AS a",
                &["world", "a"][..],
                vec![vec![t("h1"), Cell::Int(1)]],
                vec![],
            ),
            (
                "UPDATE t SET x = 1",
                &["world", "affected_rows"][..],
                vec![vec![t("h1"), Cell::UInt(3)]],
                vec![("h2".to_string(), "no such table".to_string())],
            ),
        ];
        let mut out = Vec::new();
        render(JsonOut::new(&mut out, 2), &statements).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("]}\n"), "{text}");
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(v["statements"][0]["sql"], "SELECT 1 AS a");
        assert_eq!(v["statements"][0]["rows"][0][1], 1);
        assert_eq!(v["statements"][1]["columns"][1], "affected_rows");
        assert_eq!(v["statements"][1]["errors"][0]["world"], "h2");
        let mut out = Vec::new();
        render(Delimited::tsv(&mut out, true), &statements).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "world\ta\nh1\t1\n\nworld\taffected_rows\nh1\t3\n"
        );
    }

    #[test]
    fn the_table_refuses_more_than_its_cap() {
        let rows: Vec<Vec<Cell>> = (0..11).map(|i| vec![t("h"), Cell::Int(i)]).collect();
        let err = render(
            TableOut::new(Vec::new(), 10, true),
            &[("SELECT n", &["world", "n"], rows, vec![])],
        )
        .unwrap_err();
        assert!(err.to_string().contains("--format tsv"), "{err}");
        let mut out = Vec::new();
        let rows: Vec<Vec<Cell>> = (0..11).map(|i| vec![t("h"), Cell::Int(i)]).collect();
        render(
            Limited::new(Delimited::tsv(&mut out, false), 2),
            &[("SELECT n", &["world", "n"], rows, vec![])],
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "h\t0\nh\t1\n");
    }
}
