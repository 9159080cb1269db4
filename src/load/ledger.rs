//! What a dump does to a world, statement by statement: the current database, the tables it
//! leaves behind and the rows its INSERTs put in each. Names are resolved the way the server
//! resolves them: `INSERT INTO db.t` is db.t whatever the current database is.

use std::collections::BTreeMap;

use crate::sql::Kind;

#[derive(Debug, Default, Clone)]
pub struct Ledger {
    pub current_db: Option<String>,
    /// Tables the dump leaves behind, with the rows its INSERTs put in them.
    pub rows: BTreeMap<(String, String), u64>,
    pub statements: u64,
    /// The dump never chose a database before its first statement that needs one.
    pub default_db_created: bool,
}

impl Ledger {
    /// The database a (possibly qualified) name is in.
    pub fn resolve(&self, db: Option<&String>) -> String {
        db.or(self.current_db.as_ref()).cloned().unwrap_or_default()
    }

    /// Note what a statement does.
    pub fn note(&mut self, kind: &Kind) {
        self.statements += 1;
        match kind {
            Kind::Use { db } => self.current_db = Some(db.clone()),
            Kind::CreateTable { db, table } => {
                let key = (self.resolve(db.as_ref()), table.clone());
                self.rows.entry(key).or_insert(0);
            }
            Kind::DropTable { db, table } => {
                let key = (self.resolve(db.as_ref()), table.clone());
                self.rows.remove(&key);
            }
            Kind::Insert { db, table, rows } => {
                let key = (self.resolve(db.as_ref()), table.clone());
                *self.rows.entry(key).or_insert(0) += rows;
            }
            _ => {}
        }
    }

    /// Does this statement need a current database that the dump has not chosen yet?
    pub fn needs_default_db(&self, kind: &Kind) -> bool {
        self.current_db.is_none()
            && !matches!(
                kind,
                Kind::Set | Kind::Use { .. } | Kind::CreateDatabase { .. }
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::classify;

    fn run(sqls: &[&str]) -> Ledger {
        let mut l = Ledger::default();
        for s in sqls {
            l.note(&classify(s.as_bytes()));
        }
        l
    }

    #[test]
    fn qualified_names_count_where_the_rows_go() {
        let l = run(&[
            "USE a",
            "CREATE TABLE t (x int)",
            "CREATE TABLE b.t (x int)",
            "INSERT INTO t VALUES (1),(2)",
            "INSERT INTO `b`.`t` VALUES (3)",
            "INSERT INTO b.t VALUES (4)",
            "USE b",
            "INSERT INTO a.t VALUES (5)",
        ]);
        assert_eq!(l.rows[&("a".into(), "t".into())], 3);
        assert_eq!(l.rows[&("b".into(), "t".into())], 2);
        let dropped = run(&[
            "USE a",
            "CREATE TABLE b.t (x int)",
            "DROP TABLE IF EXISTS b.t",
        ]);
        assert!(dropped.rows.is_empty());
    }
}
