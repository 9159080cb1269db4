//! Conveniences of an environment under `.worlds/<env>/`: a copy of the root password and
//! the client option file. The truth lives in Docker; this folder may be deleted any time.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The folder `.worlds/<env>/`.
#[derive(Debug, Clone)]
pub struct EnvDir {
    pub dir: PathBuf,
}

impl EnvDir {
    pub fn new(dir: PathBuf) -> EnvDir {
        EnvDir { dir }
    }

    fn ensure(&self) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700));
        }
        Ok(())
    }

    pub fn password_path(&self) -> PathBuf {
        self.dir.join("password")
    }

    pub fn cnf_path(&self) -> PathBuf {
        self.dir.join("my.cnf")
    }

    /// The environment's root password, if one was stored.
    pub fn password(&self) -> Option<String> {
        fs::read_to_string(self.password_path())
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// The stored password, or a new random one written with mode 0600.
    pub fn password_or_create(&self) -> Result<String> {
        if let Some(pw) = self.password() {
            return Ok(pw);
        }
        self.ensure()?;
        let pw = random_password()?;
        write_private(&self.password_path(), pw.as_bytes())?;
        Ok(pw)
    }

    /// Store a password learnt elsewhere (from a running container).
    pub fn store_password(&self, pw: &str) -> Result<()> {
        self.ensure()?;
        write_private(&self.password_path(), pw.as_bytes())
    }

    /// Write the option file, creating the folder (only `up` does that).
    pub fn create_cnf(&self, text: &str) -> Result<PathBuf> {
        self.ensure()?;
        let path = self.cnf_path();
        write_private(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Refresh the option file where `up` made the folder; `None` (and nothing written)
    /// when this folder has none, e.g. the environment was created from another folder.
    pub fn refresh_cnf(&self, text: &str) -> Result<Option<PathBuf>> {
        if !self.dir.is_dir() {
            return Ok(None);
        }
        let path = self.cnf_path();
        write_private(&path, text.as_bytes())?;
        Ok(Some(path))
    }

    /// Remove the whole folder; true when something was there.
    pub fn remove(&self) -> Result<bool> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", self.dir.display())),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// 24 random letters and digits from the kernel's random source.
pub fn random_password() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 64];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for a password")?;
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let pw: String = bytes
        .iter()
        .filter(|&&b| (b as usize) < limit)
        .take(24)
        .map(|&b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect();
    anyhow::ensure!(pw.len() == 24, "not enough random bytes for a password");
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_random_and_plain() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[cfg(unix)]
    #[test]
    fn password_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("worlds-state-{}", std::process::id()));
        let env = EnvDir::new(dir.clone());
        let pw = env.password_or_create().unwrap();
        assert_eq!(env.password_or_create().unwrap(), pw);
        let mode = fs::metadata(env.password_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(env.refresh_cnf("[client]\n").unwrap().is_some());
        assert!(env.remove().unwrap());
        assert!(!env.remove().unwrap());
        assert_eq!(env.refresh_cnf("[client]\n").unwrap(), None);
        assert!(!dir.exists(), "refresh_cnf created {dir:?}");
        let _ = fs::remove_dir_all(dir);
    }
}
