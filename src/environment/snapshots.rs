//! `up` and snapshots: which planned worlds can start from one, and the budget afterwards.

use anyhow::{Context, Result};
use futures::future::join_all;
use tracing::{debug, info};

use super::reconcile::Action;
use super::up::Desire;
use crate::config::Config;
use crate::engine::snapshot::ImageFacts;
use crate::engine::Engine;
use crate::error::escape;
use crate::identity::content_sha256_at;
use crate::output::human_bytes;
use crate::snapshot::{over_budget, short_id, KeyParts, Manifest};

/// A snapshot a world's data can be copied from.
#[derive(Debug, Clone)]
pub struct Found {
    pub volume: String,
    pub manifest: Manifest,
}

/// For each planned world that `up` creates anew, the snapshot of its dump (same key), if
/// the engine has a complete one. Dumps are read in full (hashed) only when a snapshot of
/// their size and sampled bytes exists.
pub async fn find(
    engine: &Engine,
    config: &Config,
    desire: &Desire,
    todo: &[Action],
    image: &ImageFacts,
) -> Result<Vec<Option<Found>>> {
    let mut found = vec![None; desire.worlds.len()];
    let volumes = engine.list_snapshots().await?;
    if volumes.is_empty() {
        return Ok(found);
    }
    let hashes = join_all(desire.worlds.iter().zip(todo).map(|(d, action)| {
        let creates = !matches!(action, Action::Keep | Action::Start | Action::Refuse(_));
        let may = creates
            && volumes
                .iter()
                .any(|v| v.may_hold(d.identity.size, &d.identity.hash, &image.identity));
        let path = d.planned.dump.location();
        async move {
            if !may {
                return None;
            }
            let hashed = tokio::task::spawn_blocking(move || content_sha256_at(&path)).await;
            match hashed {
                Ok(Ok((sha, _))) => Some(sha),
                Ok(Err(e)) => {
                    debug!("cannot hash the dump for its snapshot: {e:#}");
                    None
                }
                Err(_) => None,
            }
        }
    }))
    .await;
    let mut wanted = Vec::new();
    for (i, (d, sha)) in desire.worlds.iter().zip(hashes).enumerate() {
        let Some(sha) = sha else { continue };
        let key = KeyParts::new(&sha, &image.identity, config, &desire.filter).key();
        if let Some(v) = volumes.iter().find(|v| v.key == key) {
            wanted.push((i, v.clone()));
        } else {
            debug!(
                "{}: no snapshot of this content and settings",
                escape(&d.planned.world)
            );
        }
    }
    if wanted.is_empty() {
        return Ok(found);
    }
    let entries = engine
        .read_snapshots(
            &config.image,
            &wanted.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        )
        .await?;
    for ((i, v), entry) in wanted.into_iter().zip(entries) {
        let world = &desire.worlds[i].planned.world;
        match entry.manifest {
            Some(m) if m.key == v.key && m.consistent() => {
                found[i] = Some(Found {
                    volume: v.name.clone(),
                    manifest: m,
                })
            }
            _ => info!(
                "{}: snapshot {} is incomplete or damaged; restoring from the dump (`worlds \
                 snapshots prune` removes it)",
                escape(world),
                short_id(&v.key)
            ),
        }
    }
    Ok(found)
}

/// Remove the least recently used snapshots until all fit in the budget; never those in
/// `keep` (taken or used by this run) while others can go.
pub async fn enforce_budget(
    engine: &Engine,
    config: &Config,
    budget: u64,
    keep: &[String],
) -> Result<()> {
    let volumes = engine.list_snapshots().await?;
    let entries = engine
        .read_snapshots(&config.image, &volumes)
        .await
        .context("reading the snapshots for the budget")?;
    let total: u64 = entries.iter().map(|e| e.size()).sum();
    for i in over_budget(&entries, budget, keep) {
        let e = &entries[i];
        engine.remove_snapshot(&e.volume).await?;
        let what = e.manifest.as_ref().map_or_else(
            || "an incomplete snapshot".to_string(),
            |m| format!("{} of {}", escape(&m.world), escape(&m.dump)),
        );
        info!(
            "snapshot budget {} (snapshots held {}): removed snapshot {} ({what}, {})",
            human_bytes(budget),
            human_bytes(total),
            short_id(&e.key),
            human_bytes(e.size())
        );
    }
    Ok(())
}
