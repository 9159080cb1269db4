//! Everything that talks to Docker: the engine connection, images, containers, volumes, labels.
//!
//! Docker is the source of truth for what exists: every container and volume the tool
//! creates carries the labels below, and `status` and `down` find things by them.

mod image;
mod ports;
mod server;
pub mod snapshot;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, ContainerSummaryStateEnum, HostConfig, Mount, MountType,
    MountVolumeOptions, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;

pub use image::ensure_image;
pub use ports::{allocate_ports, is_port_taken, PortChoice};
pub use server::{server_args, server_env};

use crate::config::{Config, Flavor};
use crate::environment::names::{container_name, volume_name};
use crate::environment::record::{Record, RECORD_DIR, RECORD_FILE};
use crate::error::unusable;

pub const LABEL_MANAGED: &str = "io.worlds.managed";
pub const LABEL_ENV: &str = "io.worlds.env";
pub const LABEL_WORLD: &str = "io.worlds.world";
pub const LABEL_DUMP: &str = "io.worlds.dump";
pub const LABEL_DUMP_PATH: &str = "io.worlds.dump_path";
pub const LABEL_DUMP_TS: &str = "io.worlds.dump_timestamp";
pub const LABEL_DUMP_SIZE: &str = "io.worlds.dump_size";
pub const LABEL_PORT: &str = "io.worlds.port";
pub const LABEL_FLAVOR: &str = "io.worlds.flavor";
/// Canonical project folder (where worlds.yaml and `.worlds/` live) that created the world.
pub const LABEL_PROJECT: &str = "io.worlds.project";
/// Canonical dumps folder of the plan.
pub const LABEL_DUMPS_DIR: &str = "io.worlds.dumps_dir";
/// The `--at` of the plan ("" for the latest dumps).
pub const LABEL_AT: &str = "io.worlds.at";
/// Content identity of the dump: `size:mtime:sha256-of-samples`.
pub const LABEL_DUMP_ID: &str = "io.worlds.dump_id";
/// The `up` run that created the world.
pub const LABEL_SESSION: &str = "io.worlds.session";

/// Oldest engine API this tool speaks (Docker 20.10).
const MIN_API: (u32, u32) = (1, 41);

/// A connection to the Docker engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    socket: String,
}

/// A world's container as Docker reports it.
#[derive(Debug, Clone)]
pub struct WorldContainer {
    pub id: String,
    pub name: String,
    pub env: String,
    pub world: String,
    pub dump: String,
    pub dump_path: String,
    pub dump_timestamp: String,
    pub dump_size: u64,
    pub flavor: Flavor,
    /// Published port on 127.0.0.1 (from the label; the binding exists while it runs).
    pub port: u16,
    pub project: String,
    pub dumps_dir: String,
    pub at: String,
    pub dump_id: String,
    pub session: String,
    pub running: bool,
    /// Docker's own words: `running`, `exited`, `created`...
    pub docker_state: String,
    pub status: String,
}

/// A world's data volume as Docker reports it.
#[derive(Debug, Clone)]
pub struct WorldVolume {
    pub name: String,
    pub env: String,
    pub project: String,
}

/// What `create_world` needs.
pub struct WorldSpec<'a> {
    pub env: &'a str,
    pub world: &'a str,
    pub dump_file: &'a str,
    pub dump_path: &'a str,
    pub dump_timestamp: &'a str,
    pub dump_size: u64,
    pub port: u16,
    pub password: &'a str,
    pub project: &'a str,
    pub dumps_dir: &'a str,
    pub at: &'a str,
    pub dump_id: &'a str,
    pub session: &'a str,
    /// Run [`snapshot::INIT_FILE`] at start (a world started from a snapshot, with an image
    /// whose entrypoint does not set the root password on existing data).
    pub init_file: bool,
    /// The world's data is copied from a snapshot before it starts.
    pub from_snapshot: bool,
}

/// What a removal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Docker answered 404: it was already gone.
    AlreadyGone,
}

/// Do these labels say the object was made by worlds for this environment and world?
pub fn owned(labels: &HashMap<String, String>, env: &str, world: Option<&str>) -> bool {
    labels.get(LABEL_MANAGED).map(String::as_str) == Some("true")
        && labels.get(LABEL_ENV).map(String::as_str) == Some(env)
        && world.is_none_or(|w| labels.get(LABEL_WORLD).map(String::as_str) == Some(w))
}

fn foreign(kind: &str, name: &str, world: &str, env: &str) -> anyhow::Error {
    unusable(format!(
        "a {kind} named {name} exists but was not created by worlds for world {} of \
         environment {env}; worlds never uses or removes it. Rename or remove it yourself \
         (docker {kind} rm {name}) or use another environment (--env NAME)",
        crate::error::escape(world)
    ))
}

fn describe_socket() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

impl Engine {
    /// Connect and check that the engine answers and is new enough.
    pub async fn connect() -> Result<Engine> {
        let socket = describe_socket();
        let unreachable = |e: &dyn std::fmt::Display| {
            unusable(format!(
                "cannot reach the Docker engine at {socket}: {e}. Is Docker running \
                 (systemctl start docker) and may this user use it (group docker)? \
                 Set DOCKER_HOST to use another engine."
            ))
        };
        let docker = Docker::connect_with_defaults()
            .map_err(|e| unreachable(&e))?
            .with_timeout(Duration::from_secs(600));
        let version = tokio::time::timeout(Duration::from_secs(10), docker.version())
            .await
            .map_err(|_| unreachable(&"no answer within 10 s"))?
            .map_err(|e| unreachable(&e))?;
        let api = version.api_version.unwrap_or_default();
        let mut parts = api.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if have < MIN_API {
            return Err(unusable(format!(
                "the Docker engine at {socket} speaks API {api}; worlds needs {}.{} \
                 (Docker 20.10) or newer",
                MIN_API.0, MIN_API.1
            )));
        }
        tracing::debug!(
            "Docker engine {} (API {api}) at {socket}",
            version.version.as_deref().unwrap_or("?")
        );
        Ok(Engine { docker, socket })
    }

    pub fn socket(&self) -> &str {
        &self.socket
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Every managed container, of one environment or of all.
    pub async fn list_worlds(&self, env: Option<&str>) -> Result<Vec<WorldContainer>> {
        let mut label_filters = vec![format!("{LABEL_MANAGED}=true")];
        if let Some(env) = env {
            label_filters.push(format!("{LABEL_ENV}={env}"));
        }
        let filters = HashMap::from([("label".to_string(), label_filters)]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .context("cannot list containers")?;
        let mut worlds: Vec<WorldContainer> = list
            .into_iter()
            .map(|c| {
                let labels = c.labels.unwrap_or_default();
                let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
                let state = c.state.unwrap_or(ContainerSummaryStateEnum::EMPTY);
                WorldContainer {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .map(|n| n.trim_start_matches('/').to_string())
                        .unwrap_or_default(),
                    env: get(LABEL_ENV),
                    world: get(LABEL_WORLD),
                    dump: get(LABEL_DUMP),
                    dump_path: get(LABEL_DUMP_PATH),
                    dump_timestamp: get(LABEL_DUMP_TS),
                    dump_size: get(LABEL_DUMP_SIZE).parse().unwrap_or(0),
                    flavor: if get(LABEL_FLAVOR) == "mysql" {
                        Flavor::Mysql
                    } else {
                        Flavor::Mariadb
                    },
                    port: get(LABEL_PORT).parse().unwrap_or(0),
                    project: get(LABEL_PROJECT),
                    dumps_dir: get(LABEL_DUMPS_DIR),
                    at: get(LABEL_AT),
                    dump_id: get(LABEL_DUMP_ID),
                    session: get(LABEL_SESSION),
                    running: state == ContainerSummaryStateEnum::RUNNING,
                    docker_state: state.to_string(),
                    status: c.status.unwrap_or_default(),
                }
            })
            .collect();
        worlds.sort_by(|a, b| {
            a.env
                .cmp(&b.env)
                .then_with(|| crate::catalog::natural_cmp(&a.world, &b.world))
        });
        Ok(worlds)
    }

    /// Create the world's labelled data volume and container (not started).
    pub async fn create_world(&self, config: &Config, spec: &WorldSpec<'_>) -> Result<String> {
        let labels = HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_ENV.to_string(), spec.env.to_string()),
            (LABEL_WORLD.to_string(), spec.world.to_string()),
            (LABEL_DUMP.to_string(), spec.dump_file.to_string()),
            (LABEL_DUMP_PATH.to_string(), spec.dump_path.to_string()),
            (LABEL_DUMP_TS.to_string(), spec.dump_timestamp.to_string()),
            (LABEL_DUMP_SIZE.to_string(), spec.dump_size.to_string()),
            (LABEL_PORT.to_string(), spec.port.to_string()),
            (LABEL_FLAVOR.to_string(), config.flavor.name().to_string()),
            (LABEL_PROJECT.to_string(), spec.project.to_string()),
            (LABEL_DUMPS_DIR.to_string(), spec.dumps_dir.to_string()),
            (LABEL_AT.to_string(), spec.at.to_string()),
            (LABEL_DUMP_ID.to_string(), spec.dump_id.to_string()),
            (LABEL_SESSION.to_string(), spec.session.to_string()),
        ]);
        let volume = volume_name(spec.env, spec.world);
        let name = container_name(spec.env, spec.world);
        // Docker hands back an existing volume of the same name: never accept a foreign one.
        // What is there of this very world (an old one, or an `up` killed half-way) goes.
        self.remove_world(spec.env, spec.world).await?;
        if !self
            .create_volume(&volume, labels.clone(), (LABEL_SESSION, spec.session))
            .await?
        {
            return Err(foreign("volume", &volume, spec.world, spec.env));
        }
        let port_bindings = HashMap::from([(
            "3306/tcp".to_string(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".to_string()),
                host_port: Some(spec.port.to_string()),
            }]),
        )]);
        let body = ContainerCreateBody {
            image: Some(config.image.clone()),
            env: Some(server_env(config.flavor, spec.password)),
            cmd: Some({
                let mut args = server_args(config);
                if spec.init_file {
                    args.push(format!("--init-file={}", snapshot::INIT_FILE));
                }
                args
            }),
            labels: Some(labels.clone()),
            exposed_ports: Some(vec!["3306/tcp".to_string()]),
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                mounts: Some(vec![Mount {
                    target: Some("/var/lib/mysql".to_string()),
                    source: Some(volume),
                    typ: Some(MountType::VOLUME),
                    // Should Docker ever create the volume itself (it was removed meanwhile),
                    // it still carries the labels, so `down` finds it.
                    volume_options: Some(MountVolumeOptions {
                        labels: Some(labels.clone()),
                        // A world started from a snapshot gets the snapshot's data only,
                        // not the image's initial data directory first.
                        no_copy: Some(spec.init_file || spec.from_snapshot),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                shm_size: Some(256 * 1024 * 1024),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .with_context(|| format!("cannot create container {name}"))?;
        Ok(created.id)
    }

    pub async fn start(&self, name: &str) -> Result<(), DockerError> {
        self.docker.start_container(name, None).await
    }

    /// Fail when a container or volume with the world's names exists that is not this
    /// environment's world (a foreign object); leftovers of the world itself are fine.
    pub async fn check_free(&self, env: &str, world: &str) -> Result<()> {
        let name = container_name(env, world);
        match self.docker.inspect_container(&name, None).await {
            Ok(info) => {
                let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
                if !owned(&labels, env, Some(world)) {
                    return Err(foreign("container", &name, world, env));
                }
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(anyhow!(e).context(format!("cannot inspect container {name}"))),
        }
        let volume = volume_name(env, world);
        match self.docker.inspect_volume(&volume).await {
            Ok(v) => {
                if !owned(&v.labels, env, Some(world)) {
                    return Err(foreign("volume", &volume, world, env));
                }
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(anyhow!(e).context(format!("cannot inspect volume {volume}"))),
        }
        Ok(())
    }

    /// Remove the world's container and volume, after checking that both are this
    /// environment's world; a foreign object of that name is an error and stays.
    pub async fn remove_world(&self, env: &str, world: &str) -> Result<(Removal, Removal)> {
        self.check_free(env, world).await?;
        let container = self.remove_container(&container_name(env, world)).await?;
        let volume = self.remove_volume(&volume_name(env, world)).await?;
        Ok((container, volume))
    }

    pub async fn remove_container(&self, id: &str) -> Result<Removal> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(Removal::Removed),
            Err(e) if is_not_found(&e) => Ok(Removal::AlreadyGone),
            Err(e) => Err(anyhow!(e).context(format!("cannot remove container {id}"))),
        }
    }

    pub async fn remove_volume(&self, name: &str) -> Result<Removal> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        match self.docker.remove_volume(name, Some(options)).await {
            Ok(()) => Ok(Removal::Removed),
            Err(e) if is_not_found(&e) => Ok(Removal::AlreadyGone),
            Err(e) => Err(anyhow!(e).context(format!("cannot remove volume {name}"))),
        }
    }

    /// A stable id of the engine (for lock files shared by every checkout using it).
    pub async fn engine_id(&self) -> Result<String> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| unusable(format!("cannot ask the Docker engine for its id: {e}")))?;
        Ok(info
            .id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| self.socket.clone()))
    }

    /// Docker's data root (`DockerRootDir`, where volumes and containers live) when the
    /// engine runs on this machine (a local socket); `None` when it is elsewhere.
    pub async fn data_root(&self) -> Result<Option<String>> {
        if !(self.socket.starts_with("unix://") || self.socket.starts_with('/')) {
            return Ok(None);
        }
        let info = self
            .docker
            .info()
            .await
            .context("cannot ask the Docker engine for its data root")?;
        Ok(info.docker_root_dir.filter(|d| !d.is_empty()))
    }

    /// Write the world's record into its data volume.
    pub async fn write_record(&self, container: &str, record: &Record) -> Result<()> {
        self.upload(container, RECORD_DIR, record.to_tar()?)
            .await
            .with_context(|| format!("cannot write the record of container {container}"))
    }

    /// Read the world's record: `None` when it has none; an error when Docker cannot say.
    pub async fn read_record(&self, container: &str) -> Result<Option<Record>> {
        let path = format!("{RECORD_DIR}/{RECORD_FILE}");
        match self.download_archive(container, &path, 16 << 20).await {
            Ok(archive) => Ok(archive.and_then(|a| Record::from_tar(&a))),
            Err(e) => Err(unusable(format!(
                "cannot read the record of container {container}: {e:#}"
            ))),
        }
    }

    /// The tar archive of `path` in a container: `None` when it is not there or its archive
    /// is larger than `limit` bytes.
    pub(crate) async fn download_archive(
        &self,
        container: &str,
        path: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self
            .docker
            .download_from_container(container, Some(options));
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => archive.extend_from_slice(&bytes),
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(anyhow!(e).context(format!("cannot read {path}"))),
            }
            if archive.len() > limit {
                return Ok(None);
            }
        }
        Ok(Some(archive))
    }

    /// Create a labelled volume. `false` when Docker handed back an existing volume of
    /// that name whose `label` is not `value` (someone else's: never use it).
    pub(crate) async fn create_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
        (label, value): (&str, &str),
    ) -> Result<bool> {
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.to_string()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .with_context(|| format!("cannot create volume {name}"))?;
        let made = self
            .docker
            .inspect_volume(name)
            .await
            .with_context(|| format!("cannot inspect volume {name}"))?;
        Ok(made.labels.get(label).map(String::as_str) == Some(value))
    }

    /// The managed volumes of one environment or of all.
    pub async fn list_volumes(&self, env: Option<&str>) -> Result<Vec<WorldVolume>> {
        let mut label_filters = vec![format!("{LABEL_MANAGED}=true")];
        if let Some(env) = env {
            label_filters.push(format!("{LABEL_ENV}={env}"));
        }
        let filters = HashMap::from([("label".to_string(), label_filters)]);
        let options = ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .context("cannot list volumes")?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| WorldVolume {
                env: v.labels.get(LABEL_ENV).cloned().unwrap_or_default(),
                project: v.labels.get(LABEL_PROJECT).cloned().unwrap_or_default(),
                name: v.name,
            })
            .collect())
    }

    pub async fn stop(&self, name: &str) -> Result<()> {
        self.stop_within(name, 20).await
    }

    /// Stop, giving the server `seconds` to shut down cleanly before it is killed.
    pub async fn stop_within(&self, name: &str, seconds: i32) -> Result<()> {
        let options = StopContainerOptionsBuilder::default().t(seconds).build();
        self.docker
            .stop_container(name, Some(options))
            .await
            .with_context(|| format!("cannot stop container {name}"))
    }

    /// Is the container still running? (None when it does not exist.)
    pub async fn is_running(&self, name: &str) -> Result<Option<bool>> {
        match self.docker.inspect_container(name, None).await {
            Ok(info) => Ok(Some(info.state.and_then(|s| s.running).unwrap_or(false))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(anyhow!(e).context(format!("cannot inspect container {name}"))),
        }
    }

    /// The container's log as Docker streams it: stdout and stderr frames, the last `tail`
    /// lines (all when `None`), and with `follow` new lines until the container stops.
    pub fn log_stream(
        &self,
        id: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> impl futures::Stream<Item = Result<bollard::container::LogOutput, DockerError>> + '_ {
        let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail)
            .build();
        self.docker.logs(id, Some(options))
    }

    /// The last `lines` lines of the container's log (stdout and stderr).
    pub async fn log_tail(&self, name: &str, lines: usize) -> String {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(name, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(out) => text.push_str(&String::from_utf8_lossy(&out.into_bytes())),
                Err(e) => {
                    text.push_str(&format!("(cannot read the log: {e})"));
                    break;
                }
            }
        }
        text
    }
}

pub fn is_not_found(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Docker's complaint when a host port cannot be bound.
pub fn is_port_conflict(e: &DockerError) -> bool {
    let text = e.to_string();
    text.contains("port is already allocated") || text.contains("address already in use")
}
