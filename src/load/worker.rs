//! A loading connection: the INSERTs of its tables, part by part in dump order, each part
//! under the session settings in force where it stands in the dump; then each table's
//! held-back keys once its last part is in.

use crate::location::Location;
use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use mysql_async::prelude::Queryable;

use super::load_data::{self, Fits};
use super::plan::{Part, TableData};
use super::reader::{spawn_reader, Counters, Range, ReadOptions};
use super::schema::add_indexes;
use super::session::{self, execute, quote_ident, Server};
use crate::db::Target;
use crate::sql::{insert_to_load_rows, Statement};

/// Split tables over `jobs` workers, largest first onto the least loaded. A table's parts
/// all go to one worker.
pub fn assign(tables: &[TableData], jobs: usize) -> Vec<Vec<TableData>> {
    let jobs = jobs.max(1).min(tables.len().max(1));
    let mut order: Vec<&TableData> = tables.iter().collect();
    order.sort_by_key(|t| std::cmp::Reverse(t.bytes));
    let mut bins: Vec<(u64, Vec<TableData>)> = vec![(0, Vec::new()); jobs];
    for t in order {
        if let Some(bin) = bins.iter_mut().min_by_key(|b| b.0) {
            bin.0 += t.bytes;
            bin.1.push(t.clone());
        }
    }
    bins.into_iter().map(|(_, v)| v).collect()
}

/// A part with the table it belongs to.
struct Step<'a> {
    part: &'a Part,
    table: usize,
    /// The table's last part.
    last: bool,
}

/// The parts of `tables` in dump order.
fn steps(tables: &[TableData]) -> Vec<Step<'_>> {
    let mut steps: Vec<Step<'_>> = tables
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            let n = t.parts.len();
            t.parts.iter().enumerate().map(move |(j, part)| Step {
                part,
                table: i,
                last: j + 1 == n,
            })
        })
        .collect();
    steps.sort_by_key(|s| s.part.start);
    steps
}

/// Does replaying this setting on a loading connection change what it stores? `autocommit`
/// does harm there: the dump's COMMITs are not replayed on it.
fn replayable(set: &Statement) -> bool {
    !String::from_utf8_lossy(&set.sql)
        .to_ascii_lowercase()
        .contains("autocommit")
}

pub struct Worker<'a> {
    pub target: &'a Target,
    pub path: &'a Location,
    pub sets: &'a [Statement],
    pub indexes: &'a HashMap<(String, String), String>,
    pub load_data: bool,
    pub server: Server,
    pub read: ReadOptions,
}

impl Worker<'_> {
    /// Load `tables`; `progress` is told the SQL bytes done.
    pub async fn run(&self, tables: &[TableData], mut progress: impl FnMut(u64)) -> Result<()> {
        let steps = steps(tables);
        if steps.is_empty() {
            return Ok(());
        }
        let mut conn = session::open(self.target).await?;
        let compat = self.server.compat;
        let ranges: Vec<Range> = steps
            .iter()
            .map(|s| Range {
                start: s.part.start,
                end: Some(s.part.end),
                line: s.part.line,
                charset: s.part.charset,
            })
            .collect();
        let mut rx = spawn_reader(self.path, ranges, Arc::new(Counters::default()), self.read);
        let mut fits = Fits::default();
        let mut applied = 0usize;
        let mut current_db: Option<String> = None;
        let mut at: Option<usize> = None;
        let mut as_load_data = false;
        while let Some(batch) = rx.recv().await {
            let batch = batch.map_err(|e| anyhow!(e.message))?;
            for stmt in batch {
                // The part this statement is in: parts are disjoint and in dump order.
                let mut i = at.unwrap_or(0);
                while i < steps.len() && stmt.offset >= steps[i].part.end {
                    i += 1;
                }
                let Some(step) = steps.get(i).filter(|s| stmt.offset >= s.part.start) else {
                    return Err(anyhow!(
                        "line {}: a statement outside the planned table data: {}",
                        stmt.line,
                        super::snippet(&stmt.sql)
                    ));
                };
                if at != Some(i) {
                    if let Some(prev) = at {
                        self.finish(&mut conn, tables, &steps[prev]).await?;
                    }
                    let part = step.part;
                    for s in &self.sets
                        [applied.min(self.sets.len())..part.sets_before.min(self.sets.len())]
                    {
                        if replayable(s) {
                            execute(&mut conn, s, compat).await?;
                        }
                    }
                    applied = applied.max(part.sets_before);
                    if part.use_db.is_some() && part.use_db != current_db {
                        if let Some(db) = &part.use_db {
                            conn.query_drop(format!("USE {}", quote_ident(db))).await?;
                        }
                        current_db = part.use_db.clone();
                    }
                    let t = &tables[step.table];
                    as_load_data = self.load_data && fits.check(&mut conn, &t.db, &t.table).await?;
                    at = Some(i);
                }
                let t = &tables[step.table];
                // Only `INSERT INTO` converts; REPLACE and INSERT IGNORE run as written.
                let converted = if as_load_data {
                    insert_to_load_rows(&stmt.sql, stmt.charset)
                        .filter(|r| r.rows >= load_data::MIN_ROWS)
                } else {
                    None
                };
                match converted {
                    Some(rows) => {
                        // After a fallback the rest of the part goes as INSERTs too.
                        as_load_data =
                            load_data::load_rows(&mut conn, &t.db, &t.table, rows, &stmt, compat)
                                .await?;
                    }
                    None => execute(&mut conn, &stmt, compat).await?,
                }
                progress(stmt.sql.len() as u64);
            }
        }
        if let Some(prev) = at {
            self.finish(&mut conn, tables, &steps[prev]).await?;
        }
        session::close(conn).await
    }

    /// After a part: a table whose last part this was gets its held-back keys.
    async fn finish(
        &self,
        conn: &mut mysql_async::Conn,
        tables: &[TableData],
        step: &Step<'_>,
    ) -> Result<()> {
        if !step.last {
            return Ok(());
        }
        let t = &tables[step.table];
        if let Some(add) = self.indexes.get(&(t.db.clone(), t.table.clone())) {
            add_indexes(conn, &t.db, &t.table, add).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Charset;

    fn part(start: u64, bytes: u64) -> Part {
        Part {
            start,
            end: start + bytes,
            line: 1,
            charset: Charset::AsciiSafe,
            sets_before: 0,
            use_db: None,
        }
    }

    fn table(name: &str, parts: Vec<Part>) -> TableData {
        TableData {
            db: "game".into(),
            table: name.into(),
            bytes: parts.iter().map(|p| p.end - p.start).sum(),
            parts,
        }
    }

    #[test]
    fn tables_are_balanced_over_workers() {
        let tables = vec![
            table("a", vec![part(0, 100)]),
            table("b", vec![part(100, 60)]),
            table("c", vec![part(160, 50)]),
            table("d", vec![part(210, 10)]),
        ];
        let bins = assign(&tables, 2);
        let sums: Vec<u64> = bins
            .iter()
            .map(|b| b.iter().map(|t| t.bytes).sum())
            .collect();
        assert_eq!(sums.iter().sum::<u64>(), 220);
        assert!(sums.iter().all(|&s| (100..=120).contains(&s)), "{sums:?}");
        assert_eq!(assign(&tables, 9).len(), 4);
    }

    #[test]
    fn interleaved_parts_run_in_dump_order_and_finish_their_table_once() {
        // A, B, A on one connection.
        let tables = vec![
            table("a", vec![part(0, 10), part(30, 10)]),
            table("b", vec![part(12, 10)]),
        ];
        let s = steps(&tables);
        let order: Vec<(u64, usize, bool)> =
            s.iter().map(|s| (s.part.start, s.table, s.last)).collect();
        assert_eq!(order, vec![(0, 0, false), (12, 1, true), (30, 0, true)]);
    }

    #[test]
    fn autocommit_is_not_replayed() {
        let set = |sql: &str| Statement {
            sql: sql.as_bytes().to_vec(),
            line: 1,
            offset: 0,
            charset: Charset::AsciiSafe,
        };
        assert!(!replayable(&set("set autocommit=0")));
        assert!(!replayable(&set("SET @@SESSION.AUTOCOMMIT = 0")));
        assert!(replayable(&set("/*!40101 SET NAMES gbk */")));
    }
}
