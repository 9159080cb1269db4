//! The worlds of an environment as the commands see them: container, credentials, state.

use std::time::Duration;

use anyhow::Result;
use futures::future::join_all;

use crate::config::Config;
use crate::db::Target;
use crate::engine::{Engine, WorldContainer};
use crate::state::{process_alive, EnvDir, Outcome, RestoreRecord};

/// A world's state, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Creating,
    Importing,
    Ready,
    Failed(String),
    Stopped,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Creating => "creating",
            State::Importing => "importing",
            State::Ready => "ready",
            State::Failed(_) => "failed",
            State::Stopped => "stopped",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            State::Failed(r) => Some(r),
            _ => None,
        }
    }
}

/// One world of the environment with everything needed to reach it.
#[derive(Debug, Clone)]
pub struct World {
    pub container: WorldContainer,
    pub record: Option<RestoreRecord>,
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
}

/// The environment's password: the stored one, else the one the containers were given.
pub async fn env_password(
    engine: &Engine,
    env_dir: &EnvDir,
    containers: &[WorldContainer],
) -> Option<String> {
    if let Some(pw) = env_dir.password() {
        return Some(pw);
    }
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
    None
}

/// Every world of the configured environment, with its state (asks each running server).
pub async fn load_worlds(engine: &Engine, config: &Config) -> Result<Vec<World>> {
    let containers = engine.list_worlds(Some(&config.env)).await?;
    let env_dir = EnvDir::new(config.env_dir());
    let password = env_password(engine, &env_dir, &containers).await;
    let worlds = containers.into_iter().map(|container| {
        let record = env_dir.read_record(&container.world);
        let password = password.clone();
        async move {
            let mut state = derive_state(&container, record.as_ref(), password.as_deref()).await;
            let restore_failed = record
                .as_ref()
                .is_some_and(|r| r.outcome == Outcome::Failed);
            if matches!(state, State::Failed(_))
                && !restore_failed
                && container.running
                && just_started(engine, &container.id).await
            {
                state = State::Creating;
            }
            World {
                container,
                record,
                password,
                state,
            }
        }
    });
    Ok(join_all(worlds).await)
}

/// Did the container start less than a minute ago (its server may still be starting)?
async fn just_started(engine: &Engine, id: &str) -> bool {
    let Ok(info) = engine.docker().inspect_container(id, None).await else {
        return false;
    };
    let started = info.state.and_then(|s| s.started_at).unwrap_or_default();
    match chrono::DateTime::parse_from_rfc3339(&started) {
        Ok(t) => (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds() < 60,
        Err(_) => false,
    }
}

async fn derive_state(
    c: &WorldContainer,
    record: Option<&RestoreRecord>,
    password: Option<&str>,
) -> State {
    let interrupted = |r: &RestoreRecord| r.pid != std::process::id() && !process_alive(r.pid);
    if !c.running {
        if let Some(r) = record.filter(|r| r.outcome == Outcome::Failed) {
            return State::Failed(r.error.clone().unwrap_or_default());
        }
        return match c.docker_state.as_str() {
            "created" | "restarting" => State::Creating,
            _ => State::Stopped,
        };
    }
    match record {
        Some(r) if r.outcome == Outcome::Failed => {
            return State::Failed(r.error.clone().unwrap_or_else(|| "restore failed".into()))
        }
        Some(r) if matches!(r.outcome, Outcome::Creating | Outcome::Importing) => {
            if interrupted(r) {
                return State::Failed(
                    "the restore was interrupted (its `worlds up` process is gone); \
                     run `worlds up` again"
                        .to_string(),
                );
            }
            return if r.outcome == Outcome::Creating {
                State::Creating
            } else {
                State::Importing
            };
        }
        _ => {}
    }
    let Some(pw) = password else {
        return State::Failed("no password found for this environment".to_string());
    };
    let target = Target::root(c.port, pw);
    let probe = tokio::time::timeout(Duration::from_secs(3), async {
        use mysql_async::prelude::Queryable;
        let mut conn = target.connect(None).await?;
        conn.query_drop("SELECT 1").await?;
        conn.disconnect().await?;
        Ok::<(), anyhow::Error>(())
    })
    .await;
    match probe {
        Ok(Ok(())) => State::Ready,
        Ok(Err(e)) => State::Failed(format!(
            "server on 127.0.0.1:{} does not answer: {e:#}",
            c.port
        )),
        Err(_) => State::Failed(format!(
            "server on 127.0.0.1:{} does not answer within 3 s",
            c.port
        )),
    }
}

/// Keep only the worlds named in `names` (all when empty); unknown names are an error.
pub fn select<'a>(worlds: &'a [World], names: &[String], env: &str) -> Result<Vec<&'a World>> {
    for n in names {
        if !worlds.iter().any(|w| w.name() == n) {
            let known: Vec<&str> = worlds.iter().map(|w| w.name()).collect();
            return Err(crate::error::usage(format!(
                "no world {n:?} in environment {env}; worlds: {}",
                if known.is_empty() {
                    "none (run `worlds up`)".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    Ok(worlds
        .iter()
        .filter(|w| names.is_empty() || names.iter().any(|n| n == w.name()))
        .collect())
}
