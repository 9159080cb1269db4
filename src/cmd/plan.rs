//! `worlds plan`: what would be restored, and why.

use anyhow::Result;
use serde::Serialize;

use crate::catalog::{build_plan, NameRules, Plan, Skipped};
use crate::cli::{Format, PlanArgs, SelectArgs};
use crate::config::Config;
use crate::output::{human_bytes, print, print_json, table};

/// Build the plan from the config and the selection flags.
pub fn make_plan(config: &Config, select: &SelectArgs) -> Result<Plan> {
    let rules = NameRules {
        pattern: &config.pattern,
        timestamp_format: &config.timestamp_format,
    };
    build_plan(&config.dumps, &rules, select.at.as_deref(), &select.hosts)
}

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

pub fn run(config: &Config, args: &PlanArgs) -> Result<i32> {
    let plan = make_plan(config, &args.select)?;
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
                path: absolute(&w.dump.path),
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
            w.world.clone(),
            w.dump.file_name.clone(),
            w.dump.timestamp.format("%Y-%m-%d %H:%M:%S").to_string(),
            human_bytes(w.dump.size),
            w.candidates.to_string(),
        ]);
    }
    let mut out = format!("{} worlds to restore\n{t}\n", plan.worlds.len());
    if !plan.skipped.is_empty() {
        let mut s = table(&["skipped file", "reason"]);
        for skip in &plan.skipped {
            s.add_row(vec![skip.file.clone(), skip.reason.clone()]);
        }
        out.push_str(&format!("{} skipped\n{s}\n", plan.skipped.len()));
    }
    out
}
