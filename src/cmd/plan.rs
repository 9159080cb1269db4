//! `worlds plan`: what would be restored, and why.

use anyhow::Result;
use serde::Serialize;

use crate::catalog::{plan_for, Plan, Skipped};
use crate::cli::{Format, PlanArgs};
use crate::config::Config;
use crate::error::escape;
use crate::output::{human_bytes, print, print_json, table};

#[derive(Serialize)]
struct PlanJson<'a> {
    worlds: Vec<WorldJson<'a>>,
    skipped: &'a [Skipped],
}

#[derive(Serialize)]
struct WorldJson<'a> {
    world: &'a str,
    dump: &'a str,
    path: String,
    timestamp: String,
    size_bytes: u64,
    candidates: usize,
}

pub async fn run(config: &Config, args: &PlanArgs) -> Result<i32> {
    let plan = plan_for(config, args.select.at.as_deref(), &args.select.worlds).await?;
    match args.format {
        Format::Json => print_json(&to_json(&plan))?,
        Format::Table => print(&render(&plan))?,
    }
    Ok(0)
}

fn to_json(plan: &Plan) -> PlanJson<'_> {
    PlanJson {
        worlds: plan
            .worlds
            .iter()
            .map(|w| WorldJson {
                world: &w.world,
                dump: &w.dump.file_name,
                path: match &w.dump.object {
                    Some(o) => o.url.clone(),
                    None => absolute(&w.dump.path),
                },
                timestamp: w.dump.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
                size_bytes: w.dump.size,
                candidates: w.candidates,
            })
            .collect(),
        skipped: &plan.skipped,
    }
}

fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn render(plan: &Plan) -> String {
    let mut t = table(&["world", "dump file", "dump time", "size", "dumps"]);
    for w in &plan.worlds {
        t.add_row(vec![
            escape(&w.world),
            escape(&w.dump.file_name),
            w.dump.timestamp.format("%Y-%m-%d %H:%M:%S").to_string(),
            human_bytes(w.dump.size),
            w.candidates.to_string(),
        ]);
    }
    let mut out = format!("{} worlds to restore\n{t}\n", plan.worlds.len());
    if !plan.skipped.is_empty() {
        let mut s = table(&["skipped file", "reason"]);
        for skip in &plan.skipped {
            s.add_row(vec![escape(&skip.file), escape(&skip.reason)]);
        }
        out.push_str(&format!("{} skipped\n{s}\n", plan.skipped.len()));
    }
    out
}
