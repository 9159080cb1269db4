//! An environment: the worlds of one name on the Docker engine, their state, and the lock
//! that lets one command at a time change them. Docker (labels, plus the record inside each
//! world) is the source of truth; `.worlds/<env>/` only holds conveniences.

pub mod cnf;
pub mod known;
pub mod lock;
pub mod names;
pub mod reconcile;
pub mod record;
pub mod snapshots;
pub mod space;
pub mod state;
pub mod up;

use std::path::PathBuf;

use anyhow::Result;
use futures::future::join_all;

use crate::db::Target;
use crate::engine::{Engine, WorldContainer};
use crate::error::usage;
use crate::state::EnvDir;
use record::{Outcome, Record};
use state::{derive, Facts, State};

/// One world of the environment with everything needed to reach it.
#[derive(Debug, Clone)]
pub struct World {
    pub container: WorldContainer,
    /// The record this container's own `up` wrote into the world (not one of another run).
    pub record: Option<Record>,
    pub password: Option<String>,
    pub state: State,
}

impl World {
    /// The world's name (`host1`), not the container's.
    #[allow(clippy::misnamed_getters)]
    pub fn name(&self) -> &str {
        &self.container.world
    }

    pub fn target(&self) -> Option<Target> {
        self.password
            .as_ref()
            .map(|pw| Target::root(self.container.port, pw))
    }

    pub fn restored(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|r| r.outcome == Outcome::Ready)
    }

    pub fn empty(&self) -> bool {
        self.record
            .as_ref()
            .is_some_and(|r| r.outcome == Outcome::Empty)
    }
}

/// The lock file of an environment on this engine.
pub async fn lock_path(engine: &Engine, env: &str) -> Result<PathBuf> {
    Ok(lock::lock_path(
        &lock::lock_dir(),
        &engine.engine_id().await?,
        env,
    ))
}

/// The environment's password: the stored one, else the one the containers were given.
pub async fn password(
    engine: &Engine,
    env_dir: &EnvDir,
    containers: &[WorldContainer],
) -> Option<String> {
    for c in containers {
        if let Ok(info) = engine.docker().inspect_container(&c.id, None).await {
            let vars = info.config.and_then(|c| c.env).unwrap_or_default();
            for var in vars {
                for key in ["MARIADB_ROOT_PASSWORD=", "MYSQL_ROOT_PASSWORD="] {
                    if let Some(pw) = var.strip_prefix(key) {
                        return Some(pw.to_string());
                    }
                }
            }
        }
    }
    env_dir.password()
}

/// Every world of environment `env`, with its state read from Docker and the worlds.
pub async fn load(engine: &Engine, env: &str, env_dir: &EnvDir) -> Result<Vec<World>> {
    let containers = engine.list_worlds(Some(env)).await?;
    if containers.is_empty() {
        return Ok(Vec::new());
    }
    let password = password(engine, env_dir, &containers).await;
    let holder = lock::probe(&lock_path(engine, env).await?);
    let live = holder.as_ref().map(|h| h.session.as_str());
    let worlds = containers.into_iter().map(|container| {
        let password = password.clone();
        async move {
            let record = engine
                .read_record(&container.id)
                .await?
                .filter(|r| r.session == container.session);
            let state = derive(
                Facts {
                    running: container.running,
                    session: &container.session,
                },
                record.as_ref(),
                live,
            );
            Ok::<World, anyhow::Error>(World {
                container,
                record,
                password,
                state,
            })
        }
    });
    join_all(worlds).await.into_iter().collect()
}

/// Keep only the worlds named in `names` (all when empty); unknown names are an error.
pub fn select<'a>(worlds: &'a [World], names: &[String], env: &str) -> Result<Vec<&'a World>> {
    let known: Vec<&str> = worlds.iter().map(|w| w.name()).collect();
    check_names(names, &known, env)?;
    Ok(worlds
        .iter()
        .filter(|w| names.is_empty() || names.iter().any(|n| n == w.name()))
        .collect())
}

/// Every name in `names` must be one of `known`: else a usage error listing the worlds.
pub fn check_names(names: &[String], known: &[&str], env: &str) -> Result<()> {
    match names.iter().find(|n| !known.contains(&n.as_str())) {
        Some(n) => Err(unknown_world(n, known, env)),
        None => Ok(()),
    }
}

/// "no world X in environment E; worlds: ...".
pub fn unknown_world(name: &str, known: &[&str], env: &str) -> anyhow::Error {
    usage(format!(
        "no world {:?} in environment {env}; worlds: {}",
        crate::error::escape(name),
        if known.is_empty() {
            "none (run `worlds up`)".to_string()
        } else {
            crate::error::escape(&known.join(", "))
        }
    ))
}
