//! Snapshots on the engine: labelled volumes, filled and read by short-lived helper
//! containers of the world's own image (so nothing but the engine is needed, and the copy
//! runs where the data is).

use std::collections::HashMap;
use std::io::Read;

use anyhow::{anyhow, bail, Context, Result};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::{is_not_found, Engine, Removal};
use crate::environment::record::tar_of;
use crate::snapshot::{
    parse_time, volume_name, Entry, Manifest, DATA_DIR, LABEL_SNAPSHOT, LABEL_SNAP_CREATED,
    LABEL_SNAP_DUMP, LABEL_SNAP_DUMP_SAMPLE, LABEL_SNAP_DUMP_SIZE, LABEL_SNAP_IMAGE,
    LABEL_SNAP_WORLD, MANIFEST_FILE, USED_FILE,
};

/// Label of helper containers (removed when their work is done).
pub const LABEL_HELPER: &str = "io.worlds.helper";
/// Label of the image built by `make image`: its entrypoint sets the root password at
/// every start.
const LABEL_OWN_IMAGE: &str = "io.worlds.image";
/// Where the password file of a world started from a snapshot lives in its container.
pub const INIT_FILE: &str = "/worlds-init.sql";

/// What a snapshot needs to know about the server image.
#[derive(Debug, Clone)]
pub struct ImageFacts {
    /// Flavor and version as the image states them (else its id): part of snapshot keys.
    pub identity: String,
    /// The image's entrypoint sets the root password even on existing data.
    pub resets_password: bool,
}

/// A snapshot volume as Docker lists it.
#[derive(Debug, Clone)]
pub struct SnapshotVolume {
    pub name: String,
    pub key: String,
    pub labels: HashMap<String, String>,
    pub created: Option<DateTime<Utc>>,
}

impl SnapshotVolume {
    fn label(&self, key: &str) -> &str {
        self.labels.get(key).map(String::as_str).unwrap_or("")
    }

    /// Could this snapshot hold the dump of this size and sampled hash, restored with this
    /// image? (The full key is checked after hashing the whole dump.)
    pub fn may_hold(&self, dump_size: u64, dump_sample: &str, image: &str) -> bool {
        self.label(LABEL_SNAP_DUMP_SIZE) == dump_size.to_string()
            && self.label(LABEL_SNAP_DUMP_SAMPLE) == dump_sample
            && self.label(LABEL_SNAP_IMAGE) == image
    }
}

impl Engine {
    /// How `image` identifies itself, and whether it sets the root password at each start.
    pub async fn image_facts(&self, image: &str) -> Result<ImageFacts> {
        let info = self
            .docker
            .inspect_image(image)
            .await
            .with_context(|| format!("cannot inspect image {image}"))?;
        let config = info.config.unwrap_or_default();
        let labels = config.labels.unwrap_or_default();
        let env = config.env.unwrap_or_default();
        let version = env.iter().find_map(|e| {
            let (k, v) = e.split_once('=')?;
            matches!(k, "MARIADB_VERSION" | "MYSQL_VERSION").then(|| format!("{k} {v}"))
        });
        let own = labels.get(LABEL_OWN_IMAGE).cloned();
        let identity = match (&own, version) {
            (Some(own), _) => format!("worlds image {own}"),
            (None, Some(v)) => v,
            (None, None) => info.id.unwrap_or_else(|| image.to_string()),
        };
        Ok(ImageFacts {
            identity,
            resets_password: own.is_some(),
        })
    }

    /// Every snapshot volume on the engine.
    pub async fn list_snapshots(&self) -> Result<Vec<SnapshotVolume>> {
        let filters = HashMap::from([("label".to_string(), vec![LABEL_SNAPSHOT.to_string()])]);
        let options = ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .context("cannot list snapshot volumes")?;
        let mut out: Vec<SnapshotVolume> = list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| {
                let key = v.labels.get(LABEL_SNAPSHOT)?.clone();
                // Only a volume named after its key is one of ours.
                (key.len() == 64 && v.name == volume_name(&key)).then(|| SnapshotVolume {
                    created: v.created_at.as_deref().and_then(parse_time),
                    name: v.name,
                    key,
                    labels: v.labels,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Read the manifests and last-use times of `volumes` (one helper container, never
    /// started, that mounts them all read-only).
    pub async fn read_snapshots(
        &self,
        image: &str,
        volumes: &[SnapshotVolume],
    ) -> Result<Vec<Entry>> {
        if volumes.is_empty() {
            return Ok(Vec::new());
        }
        let mounts = volumes
            .iter()
            .enumerate()
            .map(|(i, v)| volume_mount(&v.name, &format!("/s/{i}"), true))
            .collect();
        let helper = self.create_helper(image, mounts, "true", "read").await?;
        let mut entries = Vec::new();
        for (i, v) in volumes.iter().enumerate() {
            let manifest = self
                .download_file(&helper, &format!("/s/{i}/{MANIFEST_FILE}"))
                .await
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok());
            let used = self
                .download_file(&helper, &format!("/s/{i}/{USED_FILE}"))
                .await
                .ok()
                .flatten()
                .and_then(|b| parse_time(&String::from_utf8_lossy(&b)));
            entries.push(Entry {
                volume: v.name.clone(),
                key: v.key.clone(),
                manifest,
                last_used: used,
                volume_created: v.created,
            });
        }
        self.remove_container(&helper).await.ok();
        Ok(entries)
    }

    /// Copy the data of the stopped world in `world_volume` into a new snapshot volume.
    /// Returns the manifest with the data's size; on any failure nothing is left.
    pub async fn take_snapshot(
        &self,
        image: &str,
        world_volume: &str,
        mut manifest: Manifest,
    ) -> Result<Manifest> {
        let name = volume_name(&manifest.key);
        // A snapshot of this key is replaced (say `up --fresh`); a foreign volume never is.
        self.remove_snapshot(&name).await?;
        self.create_snapshot_volume(&manifest).await?;
        let result = async {
            let script = format!(
                "set -e; rm -rf /snap/{DATA_DIR}; mkdir /snap/{DATA_DIR}; \
                 cp -a --reflink=auto /world/. /snap/{DATA_DIR}/; \
                 rm -f /snap/{DATA_DIR}/{}; du -sk /snap/{DATA_DIR} | cut -f1",
                crate::environment::record::RECORD_FILE
            );
            let mounts = vec![
                volume_mount(world_volume, "/world", true),
                volume_mount(&name, "/snap", false),
            ];
            let helper = self
                .create_helper(image, mounts, &script, "snapshot")
                .await?;
            let ran = self.run_helper(&helper).await;
            let out = match ran {
                Ok(out) => out,
                Err(e) => {
                    self.remove_container(&helper).await.ok();
                    return Err(e);
                }
            };
            let kib: u64 = out
                .split_whitespace()
                .last()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| anyhow!("the snapshot's size could not be read: {out:?}"))?;
            manifest.size_bytes = kib * 1024;
            let written = self
                .complete_snapshot(&helper, "/snap", &manifest, &manifest.created)
                .await;
            self.remove_container(&helper).await.ok();
            written?;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        if let Err(e) = result {
            self.remove_snapshot(&name).await.ok();
            return Err(e.context(format!("taking snapshot {name}")));
        }
        Ok(manifest)
    }

    /// Create the (empty) labelled volume of a snapshot.
    pub async fn create_snapshot_volume(&self, manifest: &Manifest) -> Result<String> {
        let name = volume_name(&manifest.key);
        let labels = HashMap::from([
            (LABEL_SNAPSHOT.to_string(), manifest.key.clone()),
            (LABEL_SNAP_WORLD.to_string(), manifest.world.clone()),
            (LABEL_SNAP_DUMP.to_string(), manifest.dump.clone()),
            (
                LABEL_SNAP_DUMP_SIZE.to_string(),
                manifest.dump_size.to_string(),
            ),
            (
                LABEL_SNAP_DUMP_SAMPLE.to_string(),
                manifest.dump_sample.clone(),
            ),
            (LABEL_SNAP_IMAGE.to_string(), manifest.parts.image.clone()),
            (LABEL_SNAP_CREATED.to_string(), manifest.created.clone()),
        ]);
        // Docker hands back an existing volume of that name: it must be this snapshot's.
        if !self
            .create_volume(&name, labels, (LABEL_SNAPSHOT, &manifest.key))
            .await?
        {
            bail!(
                "a volume named {name} exists but is not this snapshot; worlds never uses it \
                 (docker volume rm {name} removes it yourself)"
            );
        }
        Ok(name)
    }

    /// Write the manifest into the snapshot volume mounted at `dir` of the (stopped)
    /// helper: from now on the snapshot is complete and used.
    /// `used` is the time it counts as last used from (when it was taken, or imported).
    pub async fn complete_snapshot(
        &self,
        helper: &str,
        dir: &str,
        manifest: &Manifest,
        used: &str,
    ) -> Result<()> {
        let json = serde_json::to_vec_pretty(manifest)?;
        let tar = tar_of(
            &[
                (MANIFEST_FILE, json.as_slice()),
                (USED_FILE, used.as_bytes()),
            ],
            0o644,
        )?;
        self.upload(helper, dir, tar).await
    }

    /// Fill the (new, not started) world's volume with the snapshot's data, and note the
    /// use in the snapshot.
    pub async fn clone_snapshot(
        &self,
        image: &str,
        snapshot_volume: &str,
        world_volume: &str,
    ) -> Result<()> {
        // Mounting a volume that is gone would make Docker create an empty one.
        match self.docker.inspect_volume(snapshot_volume).await {
            Ok(v) if v.labels.contains_key(LABEL_SNAPSHOT) => {}
            Ok(_) => bail!("volume {snapshot_volume} is not a snapshot"),
            Err(e) if is_not_found(&e) => bail!("snapshot {snapshot_volume} was removed meanwhile"),
            Err(e) => return Err(anyhow!(e).context(format!("cannot inspect {snapshot_volume}"))),
        }
        let script = format!(
            "set -e; if [ ! -f /snap/{MANIFEST_FILE} ]; then \
             echo 'the snapshot is incomplete (its taking was cut off)' >&2; exit 3; fi; \
             find /world -mindepth 1 -delete; cp -a --reflink=auto /snap/{DATA_DIR}/. /world/; \
             date -u +%Y-%m-%dT%H:%M:%SZ > /snap/{USED_FILE}"
        );
        let mounts = vec![
            volume_mount(snapshot_volume, "/snap", false),
            volume_mount(world_volume, "/world", false),
        ];
        let helper = self.create_helper(image, mounts, &script, "clone").await?;
        let ran = self.run_helper(&helper).await;
        self.remove_container(&helper).await.ok();
        ran.map(|_| ())
            .with_context(|| format!("copying snapshot {snapshot_volume} into {world_volume}"))
    }

    /// Remove a snapshot volume; a volume of that name without the snapshot label is
    /// foreign and stays (an error).
    pub async fn remove_snapshot(&self, name: &str) -> Result<Removal> {
        match self.docker.inspect_volume(name).await {
            Ok(v) => {
                if !v.labels.contains_key(LABEL_SNAPSHOT) {
                    bail!(
                        "a volume named {name} exists but is not a snapshot of worlds; worlds \
                         never removes it (docker volume rm {name} removes it yourself)"
                    );
                }
            }
            Err(e) if is_not_found(&e) => return Ok(Removal::AlreadyGone),
            Err(e) => return Err(anyhow!(e).context(format!("cannot inspect volume {name}"))),
        }
        self.remove_volume(name).await.map_err(|e| {
            if format!("{e:#}").contains("in use") {
                anyhow!(
                    "snapshot {name} is in use by a running copy or export; try again when it \
                     is done"
                )
            } else {
                e
            }
        })
    }

    /// Give a world started from a snapshot the environment's root password: a file its
    /// server runs at start (`--init-file`), for images whose entrypoint does not.
    pub async fn write_init_file(&self, container: &str, password: &str) -> Result<()> {
        let pw = password.replace('\\', "\\\\").replace('\'', "''");
        let sql = format!(
            "ALTER USER 'root'@'localhost' IDENTIFIED BY '{pw}';\n\
             CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '{pw}';\n\
             ALTER USER 'root'@'%' IDENTIFIED BY '{pw}';\n\
             GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;\n"
        );
        let name = INIT_FILE.trim_start_matches('/');
        let tar = tar_of(&[(name, sql.as_bytes())], 0o644)?;
        self.upload(container, "/", tar)
            .await
            .with_context(|| format!("cannot give container {container} its password file"))
    }

    /// A helper container (created, not started) running `script` with `sh -c`.
    pub(crate) async fn create_helper(
        &self,
        image: &str,
        mounts: Vec<Mount>,
        script: &str,
        purpose: &str,
    ) -> Result<String> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(vec!["sh".to_string(), "-c".to_string(), script.to_string()]),
            cmd: Some(Vec::new()),
            user: Some("0:0".to_string()),
            labels: Some(HashMap::from([(
                LABEL_HELPER.to_string(),
                purpose.to_string(),
            )])),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let suffix = crate::state::random_password()?;
        let name = format!(
            "worlds-helper-{purpose}-{}-{}",
            std::process::id(),
            &suffix[..8]
        );
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .with_context(|| format!("cannot create helper container {name}"))?;
        Ok(created.id)
    }

    /// Start a helper and wait for it; its output when it exits with 0, else an error
    /// with its output.
    pub(crate) async fn run_helper(&self, id: &str) -> Result<String> {
        self.docker
            .start_container(id, None)
            .await
            .with_context(|| format!("cannot start helper container {id}"))?;
        let options = WaitContainerOptionsBuilder::default()
            .condition("not-running")
            .build();
        let mut wait = self.docker.wait_container(id, Some(options));
        let mut code = None;
        while let Some(item) = wait.next().await {
            match item {
                Ok(r) => code = Some(r.status_code),
                Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => {
                    code = Some(c)
                }
                Err(e) => return Err(anyhow!(e).context("waiting for a helper container")),
            }
        }
        let log_options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let mut logs = self.docker.logs(id, Some(log_options));
        let mut out = String::new();
        while let Some(Ok(chunk)) = logs.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            if out.len() > 64 << 10 {
                break;
            }
        }
        match code {
            Some(0) => Ok(out),
            Some(c) => bail!("exit code {c}: {}", out.trim()),
            None => bail!(
                "the helper container ended without an exit code: {}",
                out.trim()
            ),
        }
    }

    /// One file out of a container, `None` when it is not there (or larger than 64 MB).
    async fn download_file(&self, container: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(archive) = self.download_archive(container, path, 64 << 20).await? else {
            return Ok(None);
        };
        let mut tar = tar::Archive::new(archive.as_slice());
        let mut entries = tar.entries()?;
        match entries.next() {
            Some(entry) => {
                let mut entry = entry?;
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes)?;
                Ok(Some(bytes))
            }
            None => Ok(None),
        }
    }

    pub(crate) async fn upload(&self, container: &str, path: &str, tar: Vec<u8>) -> Result<()> {
        let options = UploadToContainerOptionsBuilder::default()
            .path(path)
            .build();
        self.docker
            .upload_to_container(container, Some(options), bollard::body_full(tar.into()))
            .await
            .with_context(|| format!("cannot write into {path} of container {container}"))
    }
}

pub(crate) fn volume_mount(volume: &str, target: &str, read_only: bool) -> Mount {
    Mount {
        target: Some(target.to_string()),
        source: Some(volume.to_string()),
        typ: Some(MountType::VOLUME),
        read_only: Some(read_only),
        ..Default::default()
    }
}
