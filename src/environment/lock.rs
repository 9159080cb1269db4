//! One writer per environment: `up` and `down` hold an exclusive lock on a file that every
//! shell and checkout on this host sees (`/tmp/worlds-locks`, or `$WORLDS_LOCK_DIR`), keyed by
//! the Docker engine and the environment name. The kernel drops the lock when its holder
//! dies, however it dies, so a dead holder's lock is taken over safely; the file's text says
//! who holds it (pid, host, since, command) for messages and for `down` to stop an `up`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::error::unusable;

/// Who holds (or held) an environment's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// RFC 3339 time the lock was taken.
    pub since: String,
    /// `up` or `down`.
    pub command: String,
    /// Unique id of the holding run; containers it creates carry it as a label.
    pub session: String,
}

impl Holder {
    /// This process, about to run `command`.
    pub fn me(command: &str) -> Holder {
        let now = chrono::Local::now();
        let pid = std::process::id();
        let host = hostname();
        Holder {
            pid,
            session: format!(
                "{host}:{pid}:{}",
                now.timestamp_nanos_opt().unwrap_or_default()
            ),
            host,
            since: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            command: command.to_string(),
        }
    }

    pub fn describe(&self) -> String {
        if self.pid == 0 {
            return "another `worlds` command that is just starting".to_string();
        }
        format!(
            "`worlds {}` (pid {} on {}, since {})",
            self.command,
            self.pid,
            self.host,
            self.since.replace('T', " ")
        )
    }

    /// Ask the holder to stop (SIGTERM); only possible for a process on this host.
    pub fn ask_to_stop(&self) -> Result<()> {
        if self.host != hostname() {
            anyhow::bail!("it runs on another host ({})", self.host);
        }
        let pid = libc::pid_t::try_from(self.pid).context("bad pid")?;
        // SAFETY: kill(2) has no memory effects; it only sends a signal.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ESRCH) {
                return Err(err).context(format!("cannot signal pid {}", self.pid));
            }
        }
        Ok(())
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The folder of the lock files.
pub fn lock_dir() -> PathBuf {
    std::env::var_os("WORLDS_LOCK_DIR")
        .map(PathBuf::from)
        // Fixed, not $TMPDIR: every shell on this host must find the same file.
        .unwrap_or_else(|| PathBuf::from("/tmp/worlds-locks"))
}

/// The lock file of environment `env` on the engine `engine_id`.
pub fn lock_path(dir: &Path, engine_id: &str, env: &str) -> PathBuf {
    let engine: String = engine_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    dir.join(format!("{engine}.{env}.lock"))
}

/// A held lock; dropping it releases it.
pub struct EnvLock {
    file: File,
    pub holder: Holder,
}

impl std::fmt::Debug for EnvLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvLock")
            .field("holder", &self.holder)
            .finish()
    }
}

fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777));
            }
        }
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // In a folder everyone may write to, never follow a planted symlink.
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let file = options
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o666));
    }
    Ok(file)
}

fn read_holder(mut file: &File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Take the lock if nobody holds it; never blocks.
fn try_take(file: &File) -> Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e).context("cannot lock"),
    }
}

/// Misses in a row before the lock counts as held: a `status` probes it only for an instant.
const BRIEF_MISSES: u32 = 5;

/// How `acquire` behaves when another command holds the lock.
pub enum Contention<'a> {
    /// Fail at once, naming the holder.
    Fail,
    /// Wait for it; `notice` is called once with the holder.
    Wait(&'a (dyn Fn(&Holder) + Sync)),
}

/// Take the environment's lock as `me`.
pub async fn acquire(
    path: &Path,
    env: &str,
    me: Holder,
    contention: Contention<'_>,
) -> Result<EnvLock> {
    let file = open(path)?;
    let mut told = false;
    let mut misses = 0;
    while !try_take(&file)? {
        misses += 1;
        if misses < BRIEF_MISSES {
            tokio::time::sleep(Duration::from_millis(60)).await;
            continue;
        }
        let holder = read_holder(&file);
        match &contention {
            Contention::Fail => {
                let who = holder
                    .as_ref()
                    .map(Holder::describe)
                    .unwrap_or_else(|| "another `worlds` command".to_string());
                return Err(unusable(format!(
                    "environment {env} is in use by {who}; wait for it with `--wait`, or \
                     stop it and remove the environment with `worlds down{}` (lock file {})",
                    env_flag(env),
                    path.display()
                )));
            }
            Contention::Wait(notice) => {
                if !told {
                    if let Some(h) = &holder {
                        notice(h);
                    }
                    told = true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    let mut f = &file;
    f.set_len(0).context("cannot write the lock file")?;
    f.rewind()?;
    f.write_all(&serde_json::to_vec(&me)?)
        .context("cannot write the lock file")?;
    f.flush()?;
    Ok(EnvLock { file, holder: me })
}

/// Who holds the environment's lock right now (None when nobody does). Takes a shared lock
/// for an instant, so it never blocks a writer for long.
pub fn probe(path: &Path) -> Option<Holder> {
    let file = File::open(path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        // Held, but its text not written yet: a holder with no pid (described as such).
        Err(TryLockError::WouldBlock) => Some(read_holder(&file).unwrap_or(Holder {
            pid: 0,
            host: String::new(),
            since: String::new(),
            command: String::new(),
            session: String::new(),
        })),
        Err(TryLockError::Error(_)) => None,
    }
}

impl EnvLock {
    /// Release explicitly (dropping does the same).
    pub fn release(self) {
        let _ = self.file.unlock();
    }
}

/// ` --env NAME` unless the environment is the default one.
pub fn env_flag(env: &str) -> String {
    if env == "default" {
        String::new()
    } else {
        format!(" --env {env}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("worlds-lock-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_the_holder_is_named() {
        let dir = temp("one");
        let path = lock_path(&dir, "ABCD:EF01", "before");
        let first = acquire(&path, "before", Holder::me("up"), Contention::Fail)
            .await
            .unwrap();
        let seen = probe(&path).expect("held");
        assert_eq!(seen, first.holder);
        let err = acquire(&path, "before", Holder::me("up"), Contention::Fail)
            .await
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("--wait"), "{text}");
        assert_eq!(crate::error::exit_for(&err), crate::error::Exit::Unusable);
        first.release();
        assert!(probe(&path).is_none());
        let again = acquire(&path, "before", Holder::me("down"), Contention::Fail)
            .await
            .unwrap();
        drop(again);
        assert!(probe(&path).is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
        let dir = temp("wait");
        let path = lock_path(&dir, "X", "e");
        let first = acquire(&path, "e", Holder::me("up"), Contention::Fail)
            .await
            .unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            drop(first);
        });
        let notices = std::sync::atomic::AtomicUsize::new(0);
        let notice = |_: &Holder| {
            notices.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        };
        let second = acquire(&path, "e", Holder::me("up"), Contention::Wait(&notice))
            .await
            .unwrap();
        release.await.unwrap();
        assert_eq!(notices.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(probe(&path), Some(second.holder.clone()));
        let _ = std::fs::remove_dir_all(dir);
    }
}
