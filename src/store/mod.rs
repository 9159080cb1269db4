//! Dumps in object storage: `s3://bucket/prefix/` as a dumps folder.
//!
//! - [`S3Url`]: the `--dumps` / `dumps:` spelling of a bucket and prefix;
//! - [`connect`]: credentials, region and endpoint the way AWS users expect (environment,
//!   `~/.aws` profiles, instance and container roles; `s3_endpoint:` / `AWS_ENDPOINT_URL`
//!   for S3-compatible stores, path-style addressing, plain `http://` for local servers);
//! - [`Store::list`]: every object under the prefix (all pages of the listing);
//! - [`read::ObjectReader`]: an object as a blocking byte stream that resumes a dropped
//!   connection with a ranged GET from the last byte received.
//!
//! Signing and HTTP are the `object_store` crate's (rustls for TLS).

pub mod profile;
pub mod read;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::error::{escape, unusable, usage};

/// Schemes `--dumps` understands as object storage.
pub const SCHEMES: &[&str] = &["s3://"];

/// A bucket and a prefix: `s3://bucket/prefix/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Empty (the whole bucket) or ending with `/`.
    pub prefix: String,
}

impl S3Url {
    /// `Ok(None)` for a folder; an error for a URL of a scheme `worlds` does not read.
    pub fn parse(text: &str) -> Result<Option<S3Url>> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(None);
        };
        // A folder may hold "://" in its name only after a slash; a scheme has none.
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Ok(None);
        }
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(usage(format!(
                "cannot read dumps from {}: only s3:// URLs (AWS S3 and S3-compatible stores) \
                 and folders are supported",
                escape(text)
            )));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty()
            || !bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            return Err(usage(format!(
                "{} does not name a bucket: write s3://BUCKET/PREFIX/ (a bucket name has \
                 letters, digits, dots and hyphens)",
                escape(text)
            )));
        }
        let prefix = prefix.trim_start_matches('/');
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_string()
        } else {
            format!("{prefix}/")
        };
        Ok(Some(S3Url {
            bucket: bucket.to_string(),
            prefix,
        }))
    }

    /// The URL of an object under this prefix.
    pub fn object(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How to reach the store: worlds.yaml's `s3_endpoint:` and the `--profile` flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub endpoint: Option<String>,
    pub profile: Option<String>,
}

/// A connected bucket: one client for listing (retries requests), one for reading objects
/// (no retries of its own: [`read::ObjectReader`] resumes from the last byte instead).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    listing: Arc<dyn ObjectStore>,
    reading: Arc<dyn ObjectStore>,
    /// The runtime the reading tasks run on (reader threads are not its threads).
    runtime: tokio::runtime::Handle,
    bucket: String,
    endpoint: String,
    /// Where the credentials come from, for error messages.
    credentials: String,
}

impl Store {
    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    pub fn credentials(&self) -> &str {
        &self.inner.credentials
    }

    pub(crate) fn reading(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.reading
    }

    pub(crate) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.inner.runtime
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("bucket", &self.inner.bucket)
            .field("endpoint", &self.inner.endpoint)
            .finish()
    }
}

impl PartialEq for Store {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Store {}

/// One object of a listing: a dump candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// `s3://bucket/key`.
    pub url: String,
    pub key: String,
    pub size: u64,
    pub e_tag: Option<String>,
    pub last_modified: DateTime<Utc>,
    pub store: Store,
}

impl ObjectRef {
    /// The last part of the key: what the name pattern is matched against.
    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }
}

/// What a listing holds: objects, and the "folders" (common prefixes) beside them.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<ObjectRef>,
    pub folders: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `AmazonS3Builder::from_env`, optionally without the credential variables.
fn from_env(without_keys: bool) -> AmazonS3Builder {
    const KEYS: [&str; 3] = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ];
    let mut builder = AmazonS3Builder::new();
    for (key, value) in std::env::vars_os() {
        let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
            continue;
        };
        if !key.starts_with("AWS_") || (without_keys && KEYS.contains(&key)) {
            continue;
        }
        if let Ok(config_key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(config_key, value);
        }
    }
    builder
}

/// Build the clients of `url`'s bucket from the environment, the AWS files and `settings`.
///
/// Credentials: `--profile` names a profile whose keys win; else `AWS_ACCESS_KEY_ID` /
/// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`); else the keys of `AWS_PROFILE` or
/// `default`; else web identity, the container role or the instance role. Region:
/// `AWS_REGION` / `AWS_DEFAULT_REGION`, else the profile's `region`, else `us-east-1`.
/// Endpoint: `s3_endpoint:`, else `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, else the
/// profile's `endpoint_url`, else AWS.
pub fn connect(url: &S3Url, settings: &Settings) -> Result<Store> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| anyhow::anyhow!("object storage needs the async runtime: {e}"))?;
    let flag_profile = settings.profile.clone().filter(|p| !p.is_empty());
    let named = flag_profile.clone().or_else(|| env("AWS_PROFILE"));
    let profile_name = named.clone().unwrap_or_else(|| "default".to_string());
    let files = profile::Files::from_env();
    let profile = match &files {
        Some(f) => profile::load(f, &profile_name).map_err(unusable)?,
        None => None,
    };
    if let (Some(name), None) = (&named, &profile) {
        let place = files
            .as_ref()
            .map(|f| format!("{} or {}", f.credentials.display(), f.config.display()))
            .unwrap_or_else(|| "~/.aws (no home folder is set)".to_string());
        return Err(unusable(format!(
            "AWS profile {name:?} is in neither {place}: check --profile / AWS_PROFILE, or \
             AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE"
        )));
    }
    let env_keys = env("AWS_ACCESS_KEY_ID").is_some();
    let profile_keys = profile.as_ref().filter(|p| p.access_key_id.is_some());
    let profile_wins = profile_keys.is_some() && (flag_profile.is_some() || !env_keys);
    // The environment's AWS_* settings, less its keys when a profile's keys are used (a
    // session token of other keys must not go with them).
    let mut builder = from_env(profile_wins).with_bucket_name(&url.bucket);
    let credentials = match (profile_keys, profile_wins) {
        (Some(p), true) => {
            builder = builder
                .with_access_key_id(p.access_key_id.clone().unwrap_or_default())
                .with_secret_access_key(p.secret_access_key.clone().unwrap_or_default());
            if let Some(token) = &p.session_token {
                builder = builder.with_token(token);
            }
            format!(
                "profile {:?} of {}",
                p.name,
                p.found_in
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        }
        _ if env_keys && flag_profile.is_none() => {
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment".to_string()
        }
        _ => {
            if let Some(how) = profile
                .as_ref()
                .filter(|_| named.is_some())
                .and_then(|p| p.unsupported.as_ref())
            {
                return Err(unusable(format!(
                    "AWS profile {profile_name:?} gets its credentials through `{how}`, which \
                     worlds does not run itself: export them first, e.g. \
                     `eval \"$(aws configure export-credentials --profile {profile_name} \
                     --format env)\"`, then run worlds again"
                )));
            }
            if env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
                "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)".to_string()
            } else if env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
                || env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
            {
                "the container role".to_string()
            } else {
                "the instance role (no AWS_ACCESS_KEY_ID in the environment and no keys in \
                 an AWS profile)"
                    .to_string()
            }
        }
    };
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| profile.as_ref().and_then(|p| p.region.clone()))
        .unwrap_or_else(|| "us-east-1".to_string());
    builder = builder.with_region(&region);
    let endpoint = settings
        .endpoint
        .clone()
        .filter(|e| !e.is_empty())
        .or_else(|| env("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| env("AWS_ENDPOINT"))
        .or_else(|| profile.as_ref().and_then(|p| p.endpoint_url.clone()));
    let shown_endpoint = match &endpoint {
        Some(e) => {
            let e = e.trim_end_matches('/').to_string();
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(usage(format!(
                    "the S3 endpoint {} must start with http:// or https:// \
                     (s3_endpoint in worlds.yaml, AWS_ENDPOINT_URL or the profile's endpoint_url)",
                    escape(&e)
                )));
            }
            builder = builder
                .with_endpoint(&e)
                .with_config(AmazonS3ConfigKey::S3Endpoint, &e);
            e
        }
        None => format!("https://s3.{region}.amazonaws.com"),
    };
    // Client options replace the builder's: plain http is allowed here, for the endpoint.
    let allow_http = shown_endpoint.starts_with("http://");
    let listing = builder
        .clone()
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        })
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(allow_http)
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(60)),
        )
        .build();
    let reading = builder
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 0,
            retry_timeout: Duration::from_secs(30),
        })
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(allow_http)
                .with_connect_timeout(Duration::from_secs(10))
                // No limit on a whole GET (a dump may take hours), but a connection that
                // sends nothing for this long counts as dropped, and is resumed.
                .with_timeout_disabled()
                .with_read_timeout(Duration::from_secs(120)),
        )
        .build();
    let (listing, reading) = match (listing, reading) {
        (Ok(l), Ok(r)) => (l, r),
        (Err(e), _) | (_, Err(e)) => {
            return Err(usage(format!(
                "cannot set up the S3 client for bucket {} at {}: {e}",
                escape(&url.bucket),
                escape(&shown_endpoint)
            )))
        }
    };
    Ok(Store {
        inner: Arc::new(Inner {
            listing: Arc::new(listing),
            reading: Arc::new(reading),
            runtime,
            bucket: url.bucket.clone(),
            endpoint: shown_endpoint,
            credentials,
        }),
    })
}

impl Store {
    /// Every object directly under `url`'s prefix (every page), and its sub-prefixes.
    /// Errors are the bucket's: missing, refused credentials, access denied, unreachable.
    pub async fn list(&self, url: &S3Url) -> Result<Listing> {
        let trimmed = url.prefix.trim_end_matches('/');
        let prefix = (!trimmed.is_empty()).then(|| ObjectPath::from(trimmed));
        let result = self
            .inner
            .listing
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|e| self.explain(&e, &url.to_string(), "list"))?;
        let objects = result
            .objects
            .into_iter()
            .map(|meta| {
                let key = meta.location.to_string();
                ObjectRef {
                    url: url.object(&key),
                    key,
                    size: meta.size,
                    e_tag: meta.e_tag,
                    last_modified: meta.last_modified,
                    store: self.clone(),
                }
            })
            .collect();
        let folders = result
            .common_prefixes
            .into_iter()
            .map(|p| format!("{}/", p.filename().unwrap_or(p.as_ref())))
            .collect();
        Ok(Listing { objects, folders })
    }

    /// An object store error as a sentence naming the bucket and what to check (exit 3).
    pub fn explain(&self, err: &object_store::Error, what: &str, doing: &str) -> anyhow::Error {
        unusable(explain(
            &Failure::of(err),
            &self.inner.bucket,
            &self.inner.endpoint,
            &self.inner.credentials,
            what,
            doing,
            &err.to_string(),
        ))
    }
}

/// What went wrong with a request, as far as the next step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NoSuchBucket,
    NotFound,
    BadCredentials,
    AccessDenied,
    Changed,
    Unreachable,
    Other,
}

impl Failure {
    pub fn of(err: &object_store::Error) -> Failure {
        let text = err.to_string();
        let has = |s: &str| text.contains(s);
        if has("NoSuchBucket") {
            Failure::NoSuchBucket
        } else if has("InvalidAccessKeyId")
            || has("SignatureDoesNotMatch")
            || has("InvalidToken")
            || has("ExpiredToken")
            || has("NotSignedUp")
            || has("401 Unauthorized")
            || matches!(err, object_store::Error::Unauthenticated { .. })
        {
            Failure::BadCredentials
        } else if has("AccessDenied")
            || has("403 Forbidden")
            || matches!(err, object_store::Error::PermissionDenied { .. })
        {
            Failure::AccessDenied
        } else if matches!(err, object_store::Error::Precondition { .. }) {
            Failure::Changed
        } else if matches!(err, object_store::Error::NotFound { .. }) {
            Failure::NotFound
        } else if has("error sending request")
            || has("onnection refused")
            || has("dns error")
            || has("timed out")
        {
            Failure::Unreachable
        } else {
            Failure::Other
        }
    }
}

/// The message for a failed request on `what` (a URL) in `bucket`.
pub fn explain(
    failure: &Failure,
    bucket: &str,
    endpoint: &str,
    credentials: &str,
    what: &str,
    doing: &str,
    detail: &str,
) -> String {
    let (bucket, endpoint, what) = (escape(bucket), escape(endpoint), escape(what));
    let detail = escape(detail.trim());
    match failure {
        Failure::NoSuchBucket => format!(
            "bucket {bucket} does not exist at {endpoint}: check the bucket name in --dumps / \
             dumps:, and the endpoint (s3_endpoint in worlds.yaml or AWS_ENDPOINT_URL) and \
             region (AWS_REGION or the profile's region)"
        ),
        Failure::BadCredentials => format!(
            "{endpoint} refused the credentials for bucket {bucket} (from {credentials}): \
             check the access key and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or \
             --profile / AWS_PROFILE), and that a session token has not expired"
        ),
        Failure::AccessDenied => format!(
            "access denied to bucket {bucket} when trying to {doing} {what} (credentials from \
             {credentials}): they need s3:ListBucket on the bucket and s3:GetObject on the \
             dumps; check the bucket policy and the key's permissions"
        ),
        Failure::NotFound => format!(
            "{what} is not in bucket {bucket} at {endpoint}: check the prefix in --dumps / \
             dumps: (keys are case-sensitive); it may have been removed since it was listed"
        ),
        Failure::Changed => format!(
            "{what} changed while it was being read (its ETag is not the one listed): restore \
             again once the upload to bucket {bucket} is complete"
        ),
        Failure::Unreachable => format!(
            "cannot reach {endpoint} to {doing} {what} in bucket {bucket}: check the endpoint \
             (s3_endpoint in worlds.yaml or AWS_ENDPOINT_URL) and the network ({detail})"
        ),
        Failure::Other => {
            format!("cannot {doing} {what} in bucket {bucket} at {endpoint}: {detail}")
        }
    }
}

/// Content identity of an object: what stays the same as long as its bytes do.
pub fn identity_text(object: &ObjectRef) -> String {
    match &object.e_tag {
        Some(tag) => format!("s3-etag\0{tag}\0{}", object.size),
        None => format!(
            "s3-object\0{}\0{}\0{}",
            object.url,
            object.size,
            object.last_modified.timestamp()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = S3Url::parse("s3://dumps/prod/daily/").unwrap().unwrap();
        assert_eq!(u.bucket, "dumps");
        assert_eq!(u.prefix, "prod/daily/");
        assert_eq!(u.to_string(), "s3://dumps/prod/daily/");
        let u = S3Url::parse("s3://dumps/prod").unwrap().unwrap();
        assert_eq!(u.prefix, "prod/");
        assert_eq!(u.object("prod/a.sql.gz"), "s3://dumps/prod/a.sql.gz");
        let u = S3Url::parse("S3://dumps").unwrap().unwrap();
        assert_eq!(u.prefix, "");
        assert_eq!(u.to_string(), "s3://dumps/");
        assert!(S3Url::parse("dumps").unwrap().is_none());
        assert!(S3Url::parse("./a://b").unwrap().is_none());
        let e = S3Url::parse("gs://bucket/x").unwrap_err();
        assert!(e.to_string().contains("only s3://"), "{e}");
        assert_eq!(crate::error::exit_for(&e).code(), 2);
        assert!(S3Url::parse("s3:///x").is_err());
        assert!(S3Url::parse("s3://bad bucket/").is_err());
    }

    #[test]
    fn messages_name_the_bucket_and_the_next_step() {
        let m = explain(
            &Failure::NoSuchBucket,
            "dumps",
            "http://127.0.0.1:9000",
            "x",
            "s3://dumps/",
            "list",
            "",
        );
        assert!(m.contains("bucket dumps does not exist"), "{m}");
        let m = explain(
            &Failure::BadCredentials,
            "dumps",
            "e",
            "profile \"p\"",
            "s3://dumps/",
            "list",
            "",
        );
        assert!(
            m.contains("refused the credentials for bucket dumps"),
            "{m}"
        );
        assert!(m.contains("profile \"p\""), "{m}");
        let m = explain(
            &Failure::AccessDenied,
            "dumps",
            "e",
            "c",
            "s3://dumps/",
            "list",
            "",
        );
        assert!(m.contains("s3:ListBucket"), "{m}");
    }
}
