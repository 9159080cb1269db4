//! `worlds logs WORLD`: the world's server log, read through the Docker API from the
//! container this project labelled for that world of the environment.

use std::io::Write;

use anyhow::{anyhow, Context, Result};
use bollard::container::LogOutput;
use futures::StreamExt;

use crate::cli::LogsArgs;
use crate::config::Config;
use crate::engine::{owned, Engine};
use crate::environment::{self, unknown_world};
use crate::error::{unusable, Exit};

pub async fn run(config: &Config, args: &LogsArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    environment::known::require(&engine, config).await?;
    let containers = engine.list_worlds(Some(&config.env)).await?;
    let Some(container) = containers.iter().find(|c| c.world == args.world) else {
        let known: Vec<&str> = containers.iter().map(|c| c.world.as_str()).collect();
        return Err(unknown_world(&args.world, &known, &config.env));
    };
    // Act on the container's id, after checking its labels, never on a name alone.
    let info = engine
        .docker()
        .inspect_container(&container.id, None)
        .await
        .with_context(|| format!("cannot inspect container {}", container.name))?;
    let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
    if !owned(&labels, &config.env, Some(&args.world)) {
        return Err(unusable(format!(
            "container {} does not carry the labels of world {} of environment {}",
            container.name, args.world, config.env
        )));
    }
    let mut stream = engine.log_stream(&container.id, args.follow, args.tail);
    // The log is this command's output: the server's stdout and stderr (where MySQL and
    // MariaDB write their log) both go to stdout, in the order Docker recorded them.
    let mut out = std::io::stdout().lock();
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|e| anyhow!(e).context("cannot read the server log"))?;
        let bytes = match frame {
            LogOutput::StdErr { message }
            | LogOutput::StdOut { message }
            | LogOutput::Console { message }
            | LogOutput::StdIn { message } => message,
        };
        let written = out.write_all(&bytes).and_then(|()| out.flush());
        match written {
            Ok(()) => {}
            // `worlds logs host1 | head` ends the reader early: not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(anyhow!(e).context("cannot write the log")),
        }
    }
    Ok(Exit::Ok.code())
}
