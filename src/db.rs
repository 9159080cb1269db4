//! Connections to a world over its published port on 127.0.0.1.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

/// Where and how to log in to a world.
#[derive(Debug, Clone)]
pub struct Target {
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl Target {
    pub fn root(port: u16, password: &str) -> Target {
        Target {
            port,
            user: "root".to_string(),
            password: password.to_string(),
        }
    }

    pub fn opts(&self, db: Option<&str>) -> OptsBuilder {
        OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            .db_name(db.map(str::to_string))
            // Never switch to a local socket of some other server on this host.
            .prefer_socket(false)
            .max_allowed_packet(Some(1 << 30))
            .stmt_cache_size(0)
    }

    pub async fn connect(&self, db: Option<&str>) -> Result<Conn> {
        Ok(Conn::new(self.opts(db)).await?)
    }
}

/// Wait until `SELECT 1` succeeds over TCP, or fail with the last error after `timeout`.
/// `alive` is asked between attempts and stops the wait early when it says the server died.
pub async fn wait_ready<F, Fut>(target: &Target, timeout: Duration, mut alive: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(5), async {
            let mut conn = target.connect(None).await?;
            conn.query_drop("SELECT 1").await?;
            conn.disconnect().await?;
            Ok::<(), anyhow::Error>(())
        })
        .await;
        let last = match attempt {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => "connection attempt timed out".to_string(),
        };
        if !alive().await? {
            return Err(anyhow!(
                "the server stopped while starting (last error: {last})"
            ));
        }
        if start.elapsed() >= timeout {
            return Err(anyhow!(
                "the server did not accept queries on 127.0.0.1:{} within {} s (last error: {last})",
                target.port,
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
