//! Which environments exist: only `up` creates one, every other command must name one that
//! Docker knows (by its labels), or the built-in `default`. A typo is an error with a hint,
//! never an empty answer.

use anyhow::Result;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{escape, usage};

/// The environment used when none is named; it always exists, perhaps with no worlds.
pub const DEFAULT_ENV: &str = "default";

/// The environments on the engine: every name, and those of this project folder.
#[derive(Debug, Default, Clone)]
pub struct Environments {
    pub all: Vec<String>,
    pub this_project: Vec<String>,
}

impl Environments {
    /// Read the environment labels of every managed container and volume.
    pub async fn read(engine: &Engine, project: &str) -> Result<Environments> {
        let mut all = Vec::new();
        let mut mine = Vec::new();
        for c in engine.list_worlds(None).await? {
            if c.project == project {
                mine.push(c.env.clone());
            }
            all.push(c.env);
        }
        for v in engine.list_volumes(None).await? {
            if v.project == project {
                mine.push(v.env.clone());
            }
            all.push(v.env);
        }
        Ok(Environments::new(all, mine))
    }

    pub fn new(mut all: Vec<String>, mut this_project: Vec<String>) -> Environments {
        all.sort();
        all.dedup();
        this_project.sort();
        this_project.dedup();
        Environments { all, this_project }
    }

    pub fn exists(&self, env: &str) -> bool {
        self.all.iter().any(|e| e == env)
    }

    /// Why `env` is not an environment: its name, this folder's environments, and a
    /// "did you mean" for a close name.
    pub fn unknown_message(&self, env: &str) -> String {
        let mut text = format!("no environment {} on this Docker engine", escape(env));
        if self.this_project.is_empty() {
            text.push_str("; this project folder has no environments");
        } else {
            text.push_str(&format!(
                "; environments of this project folder: {}",
                escape(&self.this_project.join(", "))
            ));
        }
        let mut everywhere = self.all.clone();
        everywhere.push(DEFAULT_ENV.to_string());
        let hint = closest(env, &self.this_project).or_else(|| closest(env, &everywhere));
        if let Some(near) = hint {
            text.push_str(&format!(". Did you mean `--env {}`?", escape(near)));
        }
        text.push_str(&format!(
            " (`worlds envs` lists every environment; `worlds up --env {}` creates this one)",
            escape(env)
        ));
        text
    }
}

/// Fail with a usage error unless `config.env` exists (or is the built-in `default`, or an
/// `up` is creating it right now).
/// Reads only: nothing is created, whatever the answer.
pub async fn require(engine: &Engine, config: &Config) -> Result<()> {
    if config.env == DEFAULT_ENV {
        return Ok(());
    }
    let envs = Environments::read(engine, &config.project_dir()).await?;
    if envs.exists(&config.env) {
        return Ok(());
    }
    // An `up` that is creating it holds its lock before its first container exists.
    if super::lock::probe(&super::lock_path(engine, &config.env).await?).is_some() {
        return Ok(());
    }
    Err(usage(envs.unknown_message(&config.env)))
}

/// The candidate closest to `name` by edit distance, when it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .filter(|c| c.as_str() != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

/// Levenshtein distance: insertions, deletions and substitutions of characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("before", "before"), 0);
        assert_eq!(edit_distance("befor", "before"), 1);
        assert_eq!(edit_distance("aftre", "after"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn closest_name_only_when_close() {
        let envs = names(&["after", "before", "default"]);
        assert_eq!(closest("befor", &envs), Some("before"));
        assert_eq!(closest("aftre", &envs), Some("after"));
        assert_eq!(closest("defualt", &envs), Some("default"));
        assert_eq!(closest("typo", &envs), None);
        assert_eq!(closest("production", &envs), None);
        assert_eq!(closest("x", &[]), None);
    }

    #[test]
    fn message_names_the_env_lists_this_folder_and_hints() {
        let envs = Environments::new(
            names(&["before", "after", "elsewhere"]),
            names(&["before", "after"]),
        );
        assert!(envs.exists("elsewhere"));
        assert!(!envs.exists("befor"));
        let m = envs.unknown_message("befor");
        assert!(m.contains("no environment befor"), "{m}");
        assert!(m.contains("after, before"), "{m}");
        assert!(m.contains("Did you mean `--env before`?"), "{m}");
        assert!(!m.contains("elsewhere"), "{m}");
        let m = Environments::default().unknown_message("defualt");
        assert!(m.contains("Did you mean `--env default`?"), "{m}");
        let m = Environments::default().unknown_message("typo");
        assert!(m.contains("has no environments"), "{m}");
        assert!(!m.contains("Did you mean"), "{m}");
    }
}
