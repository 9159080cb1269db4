//! SQL handling for dump files: splitting a dump stream into statements the
//! way the `mysql` / `mariadb` command-line client does, and recognising
//! what each statement is.

pub mod adapt;
pub mod charset;
pub mod classify;
pub mod create_table;
pub mod lexer;
pub mod rows;
pub mod split;
pub mod trailer;

pub use adapt::{adapt, Compat};
pub use charset::Charset;
pub use classify::{classify, classify_in, leading_words, rewrite_definer, Kind};
pub use rows::{insert_to_load_rows, LoadRows};
pub use split::{SplitError, Splitter, Statement};

/// Splits a whole in-memory dump into statements.
pub fn split_all(input: &[u8]) -> Result<Vec<Statement>, SplitError> {
    let mut splitter = Splitter::new();
    let mut out = Vec::new();
    splitter.feed(input, &mut out);
    splitter.finish(&mut out)?;
    Ok(out)
}
