//! `worlds completions SHELL` and `worlds man`: generated from the clap definitions, so they
//! always match the command line.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Exit;

/// Print the completion script of `shell`.
pub fn completions(shell: Shell) -> Result<i32> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "worlds", &mut script);
    emit(&script)
}

/// Print the man page (roff), with a section per subcommand.
pub fn man() -> Result<i32> {
    emit(&man_page()?)
}

/// The man page: the top-level page, then each subcommand's options.
pub fn man_page() -> Result<Vec<u8>> {
    let command = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .context("cannot render the man page")?;
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        writeln!(page, ".SH \"WORLDS {}\"", name.to_uppercase())?;
        if let Some(about) = sub.get_about() {
            writeln!(page, "{}", roff_text(&about.to_string()))?;
        }
        let usage = sub
            .clone()
            .bin_name(format!("worlds {name}"))
            .render_usage();
        let usage = usage.to_string();
        let usage = usage.trim_start_matches("Usage: ").trim();
        writeln!(page, ".PP\n\\fB{}\\fR", roff_text(usage))?;
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), Some(l)) => format!("\\-{s}, \\-\\-{}", roff_text(l)),
                (None, Some(l)) => format!("\\-\\-{}", roff_text(l)),
                (Some(s), None) => format!("\\-{s}"),
                (None, None) => arg.get_id().to_string().to_uppercase(),
            };
            let value = match arg.get_value_names() {
                Some(names)
                    if arg.get_action().takes_values()
                        && (arg.get_long().is_some() || arg.get_short().is_some()) =>
                {
                    format!(" \\fI{}\\fR", names.join(" "))
                }
                _ => String::new(),
            };
            writeln!(page, ".TP\n\\fB{flag}\\fR{value}")?;
            if let Some(help) = arg.get_help() {
                writeln!(page, "{}", roff_text(&help.to_string()))?;
            }
        }
    }
    Ok(page)
}

/// Text safe in a roff paragraph: backslashes doubled, no line starting with a dot or quote.
fn roff_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('-', "\\-")
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn emit(bytes: &[u8]) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Ok.code()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok.code()),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_has_a_title_and_every_subcommand() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(
            page.starts_with(".ie") || page.contains(".TH worlds"),
            "{page}"
        );
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name().to_uppercase();
            assert!(page.contains(&format!(".SH \"WORLDS {name}\"")), "{name}");
        }
        assert!(page.contains("\\-\\-table\\-jobs"), "up options missing");
        assert!(
            !page.contains("\\-\\-jobs"),
            "hidden aliases are not documented"
        );
    }

    #[test]
    fn roff_text_is_escaped() {
        assert_eq!(roff_text(".hidden"), "\\&.hidden");
        assert_eq!(roff_text("a\\b --x"), "a\\\\b \\-\\-x");
    }
}
