//! The AWS shared files, `~/.aws/credentials` and `~/.aws/config`, read the way the AWS CLI
//! reads them: INI sections (`[name]` in credentials, `[profile name]` or `[default]` in
//! config), `key = value` lines, `#` and `;` comments, and indented lines that belong to the
//! key above (sub-sections such as `s3 =`, which are skipped here).
//!
//! Only what `worlds` uses is kept: static keys, a session token, the region and an
//! `endpoint_url`. Profiles that need a program to run or a role to assume are named as such,
//! so the error can say what to do instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One section of an AWS file: its keys, lower-cased, in file order (the last one wins).
pub type Section = BTreeMap<String, String>;

/// Parse the text of an AWS credentials or config file into its sections.
/// `config` decides how section names are read: `[profile x]` there, `[x]` in credentials.
pub fn parse(text: &str, config: bool) -> BTreeMap<String, Section> {
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(inner) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            let inner = inner.trim();
            let name = if config {
                match inner.strip_prefix("profile") {
                    Some(rest) if rest.starts_with(char::is_whitespace) => Some(rest.trim()),
                    _ if inner == "default" => Some("default"),
                    // `[sso-session x]`, `[services x]`: not profiles.
                    _ => None,
                }
            } else {
                Some(inner)
            };
            current = name.map(str::to_string);
            if let Some(n) = &current {
                sections.entry(n.clone()).or_default();
            }
            continue;
        }
        // An indented line continues the key above (a nested block): skipped.
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        let Some(section) = current.as_ref() else {
            continue;
        };
        if let Some((key, value)) = trimmed.split_once('=') {
            let value = strip_comment(value.trim());
            sections
                .entry(section.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.to_string());
        }
    }
    sections
}

/// ` # comment` after a value is a comment (a `#` without a space before it is data).
fn strip_comment(value: &str) -> &str {
    for marker in [" #", "\t#", " ;", "\t;"] {
        if let Some(at) = value.find(marker) {
            return value[..at].trim_end();
        }
    }
    value
}

/// What a profile gives, from both files (credentials win for keys, as in the AWS CLI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// A way of getting credentials that `worlds` does not do itself (`credential_process`,
    /// `role_arn`, `sso_session`...), when the profile has no static keys.
    pub unsupported: Option<String>,
    /// Which files held the profile.
    pub found_in: Vec<PathBuf>,
}

/// The files, as the AWS CLI finds them.
#[derive(Debug, Clone)]
pub struct Files {
    pub credentials: PathBuf,
    pub config: PathBuf,
}

impl Files {
    /// `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`, else `~/.aws/credentials` and
    /// `~/.aws/config`. None when neither is set and there is no home folder.
    pub fn from_env() -> Option<Files> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let pick = |var: &str, name: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        Some(Files {
            credentials: pick("AWS_SHARED_CREDENTIALS_FILE", "credentials")?,
            config: pick("AWS_CONFIG_FILE", "config")?,
        })
    }
}

fn read(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Read profile `name` from the files; `Ok(None)` when neither file has it.
pub fn load(files: &Files, name: &str) -> Result<Option<Profile>, String> {
    let credentials = read(&files.credentials)?
        .map(|t| parse(&t, false))
        .unwrap_or_default();
    let config = read(&files.config)?
        .map(|t| parse(&t, true))
        .unwrap_or_default();
    Ok(resolve(
        name,
        credentials.get(name),
        config.get(name),
        files,
    ))
}

/// Merge a profile's two sections.
pub fn resolve(
    name: &str,
    credentials: Option<&Section>,
    config: Option<&Section>,
    files: &Files,
) -> Option<Profile> {
    if credentials.is_none() && config.is_none() {
        return None;
    }
    let get = |key: &str| {
        credentials
            .and_then(|s| s.get(key))
            .or_else(|| config.and_then(|s| s.get(key)))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let mut found_in = Vec::new();
    if credentials.is_some() {
        found_in.push(files.credentials.clone());
    }
    if config.is_some() {
        found_in.push(files.config.clone());
    }
    let access_key_id = get("aws_access_key_id");
    let unsupported = if access_key_id.is_some() {
        None
    } else {
        [
            "credential_process",
            "role_arn",
            "sso_session",
            "sso_start_url",
            "web_identity_token_file",
        ]
        .into_iter()
        .find(|k| get(k).is_some())
        .map(str::to_string)
    };
    Some(Profile {
        name: name.to_string(),
        access_key_id,
        secret_access_key: get("aws_secret_access_key"),
        session_token: get("aws_session_token"),
        region: get("region"),
        endpoint_url: get("endpoint_url"),
        unsupported,
        found_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files {
            credentials: PathBuf::from("/h/.aws/credentials"),
            config: PathBuf::from("/h/.aws/config"),
        }
    }

    #[test]
    fn credentials_and_config_sections() {
        let creds = parse(
            "# keys\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key=s1 \
             \n\n[backup]\r\nAWS_ACCESS_KEY_ID = AKIABACKUP ; old key\r\naws_secret_access_key = s#2\r\n",
            false,
        );
        assert_eq!(creds["default"]["aws_access_key_id"], "AKIADEFAULT");
        assert_eq!(creds["default"]["aws_secret_access_key"], "s1");
        assert_eq!(creds["backup"]["aws_access_key_id"], "AKIABACKUP");
        assert_eq!(creds["backup"]["aws_secret_access_key"], "s#2");
        let config = parse(
            "[default]\nregion = eu-west-1\n[profile backup]\nregion = eu-central-1\n\
             endpoint_url = http://127.0.0.1:9000\ns3 =\n  addressing_style = path\n\
             [sso-session corp]\nsso_region = us-east-1\n[profilex]\nregion=nope\n",
            true,
        );
        assert_eq!(config["default"]["region"], "eu-west-1");
        assert_eq!(config["backup"]["region"], "eu-central-1");
        assert_eq!(config["backup"]["endpoint_url"], "http://127.0.0.1:9000");
        assert!(!config["backup"].contains_key("addressing_style"));
        assert!(!config.contains_key("corp"));
        assert!(!config.contains_key("x"));
        let p = resolve(
            "backup",
            creds.get("backup"),
            config.get("backup"),
            &files(),
        )
        .unwrap();
        assert_eq!(p.access_key_id.as_deref(), Some("AKIABACKUP"));
        assert_eq!(p.region.as_deref(), Some("eu-central-1"));
        assert_eq!(p.found_in.len(), 2);
        assert_eq!(p.unsupported, None);
        assert!(resolve("nope", None, None, &files()).is_none());
    }

    #[test]
    fn profiles_that_need_more_than_keys_are_named() {
        let config = parse(
            "[profile sso]\nsso_session = corp\nregion = us-east-1\n\
             [profile proc]\ncredential_process = /bin/get-creds\n",
            true,
        );
        let p = resolve("sso", None, config.get("sso"), &files()).unwrap();
        assert_eq!(p.unsupported.as_deref(), Some("sso_session"));
        let p = resolve("proc", None, config.get("proc"), &files()).unwrap();
        assert_eq!(p.unsupported.as_deref(), Some("credential_process"));
    }

    #[test]
    fn files_on_disk() {
        let dir = std::env::temp_dir().join(format!("worlds-aws-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = Files {
            credentials: dir.join("credentials"),
            config: dir.join("config"),
        };
        assert_eq!(load(&f, "default").unwrap(), None);
        std::fs::write(&f.config, "[profile a]\nregion = ap-south-1\n").unwrap();
        let p = load(&f, "a").unwrap().unwrap();
        assert_eq!(p.region.as_deref(), Some("ap-south-1"));
        assert_eq!(p.access_key_id, None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
