//! `worlds snapshots`: list, remove, prune, export and import the snapshots on the engine.

use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::cli::{Format, SnapshotsAction, SnapshotsArgs};
use crate::config::Config;
use crate::engine::snapshot::volume_mount;
use crate::engine::{Engine, Removal};
use crate::environment::{self};
use crate::error::{escape, usage, Exit};
use crate::output::{human_bytes, print, print_json, table};
use crate::snapshot::archive::{read_data, read_manifest, write_export};
use crate::snapshot::{
    age, parse_span, prunable, short_id, volume_name, Entry, Manifest, DATA_DIR,
};
use crate::state::EnvDir;

pub async fn run(config: &Config, args: &SnapshotsArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    match &args.action {
        None | Some(SnapshotsAction::Ls) => list(&engine, config, args.format).await,
        Some(SnapshotsAction::Rm { which }) => remove(&engine, config, which).await,
        Some(SnapshotsAction::Prune { older_than, all }) => {
            prune(&engine, config, older_than.as_deref(), *all).await
        }
        Some(SnapshotsAction::Export { which, output }) => {
            export(&engine, config, which, output).await
        }
        Some(SnapshotsAction::Import { file }) => import(&engine, config, file).await,
    }
}

/// Every snapshot on the engine, with its manifest.
pub async fn entries(engine: &Engine, config: &Config) -> Result<Vec<Entry>> {
    let volumes = engine.list_snapshots().await?;
    if volumes.is_empty() {
        return Ok(Vec::new());
    }
    crate::engine::ensure_image(engine, &config.image).await?;
    engine.read_snapshots(&config.image, &volumes).await
}

#[derive(Serialize)]
struct SnapshotJson<'a> {
    id: &'a str,
    world: Option<&'a str>,
    dump: Option<&'a str>,
    size_bytes: u64,
    created: Option<String>,
    last_used: Option<String>,
    /// `false`: its taking was cut off; it is never used, and `prune` removes it.
    complete: bool,
    volume: &'a str,
    image: Option<&'a str>,
    /// The tables filter of its restore (`""`: every table's data).
    tables_filter: Option<&'a str>,
}

async fn list(engine: &Engine, config: &Config, format: Format) -> Result<i32> {
    let all = entries(engine, config).await?;
    let now = Utc::now();
    if format == Format::Json {
        let items: Vec<SnapshotJson> = all
            .iter()
            .map(|e| {
                let m = e.manifest.as_ref();
                SnapshotJson {
                    id: &e.key,
                    world: m.map(|m| m.world.as_str()),
                    dump: m.map(|m| m.dump.as_str()),
                    size_bytes: e.size(),
                    created: e.created().map(|t| t.to_rfc3339()),
                    last_used: e.last_used.map(|t| t.to_rfc3339()),
                    complete: e.complete(),
                    volume: &e.volume,
                    image: m.map(|m| m.parts.image.as_str()),
                    tables_filter: m.map(|m| m.parts.filter.as_str()),
                }
            })
            .collect();
        print_json(&items)?;
        return Ok(Exit::Ok.code());
    }
    if all.is_empty() {
        print("no snapshots on this engine (`worlds up` keeps one of every verified restore)")?;
        return Ok(Exit::Ok.code());
    }
    let mut t = table(&["id", "world", "dump", "size", "created", "last used"]);
    for e in &all {
        let ago = |t: Option<chrono::DateTime<Utc>>| {
            t.map(|t| format!("{} ago", age(t, now)))
                .unwrap_or_else(|| "-".to_string())
        };
        let (world, dump) = match &e.manifest {
            Some(m) if e.complete() => {
                let filter = if m.parts.filter.is_empty() {
                    String::new()
                } else {
                    format!(" (partial: {})", m.parts.filter)
                };
                (escape(&m.world), format!("{}{filter}", escape(&m.dump)))
            }
            _ => (
                "-".to_string(),
                "(incomplete: `worlds snapshots prune` removes it)".into(),
            ),
        };
        t.add_row(vec![
            short_id(&e.key).to_string(),
            world,
            dump,
            human_bytes(e.size()),
            ago(e.created()),
            ago(e.last_used),
        ]);
    }
    let total: u64 = all.iter().map(Entry::size).sum();
    let budget = config
        .snapshot_budget
        .map(|b| format!(" (snapshot_budget {})", human_bytes(b)))
        .unwrap_or_default();
    print(&format!(
        "{t}\n{} snapshot{}, {} in all{budget}",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        human_bytes(total)
    ))?;
    Ok(Exit::Ok.code())
}

/// Does `arg` name this snapshot: the start of its id (4 characters or more), its world,
/// or its dump file?
fn names(e: &Entry, arg: &str) -> bool {
    (arg.len() >= 4 && e.key.starts_with(&arg.to_ascii_lowercase()))
        || e.manifest
            .as_ref()
            .is_some_and(|m| m.world == arg || m.dump == arg)
}

fn describe(e: &Entry) -> String {
    match &e.manifest {
        Some(m) => format!(
            "{} ({}, {}, {})",
            short_id(&e.key),
            escape(&m.world),
            escape(&m.dump),
            human_bytes(e.size())
        ),
        None => format!("{} (incomplete)", short_id(&e.key)),
    }
}

async fn remove_entries(engine: &Engine, chosen: &[&Entry]) -> Result<usize> {
    let mut failed = 0;
    for e in chosen {
        match engine.remove_snapshot(&e.volume).await {
            Ok(Removal::Removed) => info!("removed snapshot {}", describe(e)),
            Ok(Removal::AlreadyGone) => info!("snapshot {} was already gone", describe(e)),
            Err(err) => {
                failed += 1;
                warn!("cannot remove snapshot {}: {err:#}", describe(e));
            }
        }
    }
    Ok(failed)
}

async fn remove(engine: &Engine, config: &Config, which: &[String]) -> Result<i32> {
    let all = entries(engine, config).await?;
    let mut chosen: Vec<&Entry> = Vec::new();
    let mut unknown = Vec::new();
    for arg in which {
        let matched: Vec<&Entry> = all.iter().filter(|e| names(e, arg)).collect();
        if matched.is_empty() {
            unknown.push(arg.as_str());
        }
        for e in matched {
            if !chosen.iter().any(|c| c.key == e.key) {
                chosen.push(e);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(usage(format!(
            "no snapshot is named {} (give the start of an id, a world or a dump file; \
             `worlds snapshots` lists them); nothing was removed",
            unknown
                .iter()
                .map(|u| escape(u))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let failed = remove_entries(engine, &chosen).await?;
    Ok(if failed > 0 {
        Exit::Failed.code()
    } else {
        Exit::Ok.code()
    })
}

async fn prune(
    engine: &Engine,
    config: &Config,
    older_than: Option<&str>,
    all: bool,
) -> Result<i32> {
    let span = older_than
        .map(|t| {
            parse_span(t).ok_or_else(|| {
                usage(format!(
                    "--older-than takes a span such as 7d, 12h, 30m or 2w, got {}",
                    escape(t)
                ))
            })
        })
        .transpose()?;
    let entries = entries(engine, config).await?;
    let chosen: Vec<&Entry> = prunable(&entries, span, all, Utc::now())
        .into_iter()
        .map(|i| &entries[i])
        .collect();
    let freed: u64 = chosen.iter().map(|e| e.size()).sum();
    let failed = remove_entries(engine, &chosen).await?;
    let kept = entries.len() - chosen.len();
    info!(
        "pruned {} snapshot{} ({}); {kept} kept{}",
        chosen.len(),
        if chosen.len() == 1 { "" } else { "s" },
        human_bytes(freed),
        if span.is_none() && !all {
            " (without --older-than or --all only incomplete snapshots go)"
        } else {
            ""
        }
    );
    Ok(if failed > 0 {
        Exit::Failed.code()
    } else {
        Exit::Ok.code()
    })
}

/// The snapshot a user means: a world of this environment (the snapshot of its data), else
/// the start of an id, a world or a dump file naming exactly one snapshot.
async fn resolve(engine: &Engine, config: &Config, which: &str) -> Result<Entry> {
    let all = entries(engine, config).await?;
    let worlds = environment::load(engine, &config.env, &EnvDir::new(config.env_dir()))
        .await
        .unwrap_or_default();
    if let Some(w) = worlds.iter().find(|w| w.name() == which) {
        let key = w.record.as_ref().and_then(|r| r.snapshot.clone());
        return match key.and_then(|k| all.iter().find(|e| e.key == k && e.complete())) {
            Some(e) => Ok(e.clone()),
            None => Err(usage(format!(
                "world {} of environment {} has no snapshot (it was restored with snapshots \
                 off, or its snapshot was removed); `worlds up --fresh --worlds {}` restores it \
                 again and keeps one",
                escape(which),
                config.env,
                escape(which)
            ))),
        };
    }
    let matched: Vec<&Entry> = all
        .iter()
        .filter(|e| e.complete() && names(e, which))
        .collect();
    match matched.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(usage(format!(
            "no world of environment {} and no snapshot is named {}; `worlds snapshots` lists \
             the snapshots",
            config.env,
            escape(which)
        ))),
        many => Err(usage(format!(
            "{} snapshots match {}: {}; give the start of one id",
            many.len(),
            escape(which),
            many.iter()
                .map(|e| describe(e))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Reads what an async task sends through a channel.
struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Sends what is written, in chunks, to an async task.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 1 << 20;

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::other("the engine stopped reading the import"))
    }
}

async fn export(engine: &Engine, config: &Config, which: &str, output: &Path) -> Result<i32> {
    let entry = resolve(engine, config, which).await?;
    let manifest = entry
        .manifest
        .clone()
        .ok_or_else(|| anyhow!("snapshot {} is incomplete", short_id(&entry.key)))?;
    let mounts = vec![volume_mount(&entry.volume, "/s", true)];
    let helper = engine
        .create_helper(&config.image, mounts, "true", "export")
        .await?;
    let result = export_from(engine, &helper, &manifest, output).await;
    engine.remove_container(&helper).await.ok();
    let bytes = result?;
    info!(
        "exported snapshot {} ({} of {}, {} of data) to {} ({}); on another machine: \
         worlds snapshots import {}",
        short_id(&manifest.key),
        escape(&manifest.world),
        escape(&manifest.dump),
        human_bytes(manifest.size_bytes),
        escape(&output.display().to_string()),
        human_bytes(bytes),
        escape(&output.display().to_string())
    );
    Ok(Exit::Ok.code())
}

/// Stream the helper's `/s/data` into the export file (written under a temporary name and
/// renamed when complete). Returns the file's size.
async fn export_from(
    engine: &Engine,
    helper: &str,
    manifest: &Manifest,
    output: &Path,
) -> Result<u64> {
    let partial = output.with_file_name(format!(
        ".{}.partial",
        output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "snapshot".to_string())
    ));
    let file = std::fs::File::create(&partial)
        .map_err(|e| usage(format!("cannot write {}: {e}", partial.display())))?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, String>>(16);
    let m = manifest.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            current: Bytes::new(),
        };
        let out = write_export(&m, reader, io::BufWriter::with_capacity(CHUNK, file))?;
        let file = out.into_inner().map_err(|e| anyhow!("{e}"))?;
        file.sync_all()?;
        Ok::<_, anyhow::Error>(())
    });
    let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
        .path(&format!("/s/{DATA_DIR}"))
        .build();
    let mut stream = engine
        .docker()
        .download_from_container(helper, Some(options));
    while let Some(chunk) = stream.next().await {
        let item = chunk.map_err(|e| format!("reading the snapshot: {e}"));
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    let written = writer.await.context("the export stopped")?;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e.context(format!("exporting to {}", output.display())));
    }
    std::fs::rename(&partial, output)
        .with_context(|| format!("cannot move the export to {}", output.display()))?;
    Ok(std::fs::metadata(output).map(|m| m.len()).unwrap_or(0))
}

async fn import(engine: &Engine, config: &Config, file: &Path) -> Result<i32> {
    let path = file.to_path_buf();
    let opened = std::fs::File::open(&path)
        .map_err(|e| usage(format!("cannot open {}: {e}", path.display())))?;
    let manifest = tokio::task::spawn_blocking(move || read_manifest(io::BufReader::new(opened)))
        .await
        .context("reading the export stopped")?
        .map_err(|e| usage(format!("{}: {e:#}", file.display())))?;
    crate::engine::ensure_image(engine, &config.image).await?;
    let name = volume_name(&manifest.key);
    let existing = engine.list_snapshots().await?;
    if let Some(v) = existing.iter().find(|v| v.key == manifest.key) {
        let e = engine
            .read_snapshots(&config.image, std::slice::from_ref(v))
            .await?;
        if e.first().is_some_and(Entry::complete) {
            info!(
                "snapshot {} ({} of {}) is already on this engine; nothing to do",
                short_id(&manifest.key),
                escape(&manifest.world),
                escape(&manifest.dump)
            );
            return Ok(Exit::Ok.code());
        }
    }
    let image = engine.image_facts(&config.image).await?;
    if manifest.parts.image != image.identity || manifest.parts.flavor != config.flavor.name() {
        warn!(
            "snapshot {} was taken with {} ({}); this project uses {} ({}), so its `up` will \
             not start worlds from it until `image:` in worlds.yaml names the same server",
            short_id(&manifest.key),
            escape(&manifest.parts.image),
            manifest.parts.flavor,
            escape(&image.identity),
            config.flavor.name()
        );
    }
    engine.create_snapshot_volume(&manifest).await?;
    let mounts = vec![volume_mount(&name, "/snap", false)];
    let helper = engine
        .create_helper(&config.image, mounts, "true", "import")
        .await?;
    let result = import_into(engine, &helper, &manifest, &path).await;
    engine.remove_container(&helper).await.ok();
    if let Err(e) = result {
        engine.remove_snapshot(&name).await.ok();
        return Err(e.context(format!("importing {}", path.display())));
    }
    info!(
        "imported snapshot {} ({} of {}, {}); `worlds up` starts worlds of that dump from it",
        short_id(&manifest.key),
        escape(&manifest.world),
        escape(&manifest.dump),
        human_bytes(manifest.size_bytes)
    );
    Ok(Exit::Ok.code())
}

async fn import_into(
    engine: &Engine,
    helper: &str,
    manifest: &Manifest,
    path: &Path,
) -> Result<()> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(8);
    let path = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        match read_data(io::BufReader::with_capacity(CHUNK, file), &mut out) {
            Ok(_) => {
                out.flush()?;
                Ok(())
            }
            Err(e) => {
                // The upload must fail too: what was written is thrown away.
                let _ = tx.blocking_send(Err(io::Error::other(format!("{e:#}"))));
                Err(e)
            }
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let options = bollard::query_parameters::UploadToContainerOptionsBuilder::default()
        .path("/snap")
        .build();
    let uploaded = engine
        .docker()
        .upload_to_container(helper, Some(options), bollard::body_try_stream(body))
        .await;
    let read = reader.await.context("the import stopped")?;
    // When the engine refused the data, its reason comes first.
    uploaded.context("the engine did not take the snapshot's data")?;
    read?;
    engine.complete_snapshot(helper, "/snap", manifest).await
}
