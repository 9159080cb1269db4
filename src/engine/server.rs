//! Per-flavor server settings: environment variables and command-line options.

use crate::config::{Config, Flavor};

/// Environment of a world's container: the root password, under the name the image reads.
pub fn server_env(flavor: Flavor, password: &str) -> Vec<String> {
    match flavor {
        Flavor::Mariadb => vec![
            format!("MARIADB_ROOT_PASSWORD={password}"),
            "MARIADB_ROOT_HOST=%".to_string(),
        ],
        Flavor::Mysql => vec![
            format!("MYSQL_ROOT_PASSWORD={password}"),
            "MYSQL_ROOT_HOST=%".to_string(),
        ],
    }
}

/// Server options. Worlds are disposable copies, so by default they trade durability for
/// restore speed (see docs/guide.md, "Server settings"); `server_args` come last and win.
pub fn server_args(config: &Config) -> Vec<String> {
    let mut args = vec![
        "--skip-name-resolve".to_string(),
        "--character-set-server=utf8mb4".to_string(),
        "--max-allowed-packet=64M".to_string(),
        "--local-infile=1".to_string(),
        "--event-scheduler=OFF".to_string(),
        format!("--innodb-buffer-pool-size={}", config.buffer_pool),
    ];
    if config.import_tuning {
        args.extend(
            [
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--sync-binlog=0",
            ]
            .map(String::from),
        );
        if config.flavor == Flavor::Mariadb {
            args.push("--innodb-log-file-size=256M".to_string());
        }
    }
    args.extend(config.server_args.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_args_come_last() {
        let mut c = Config::from_yaml("server_args: ['--innodb-doublewrite=1']\n").unwrap();
        let args = server_args(&c);
        assert_eq!(
            args.last().map(String::as_str),
            Some("--innodb-doublewrite=1")
        );
        assert!(args.contains(&"--skip-log-bin".to_string()));
        c.import_tuning = false;
        assert!(!server_args(&c).contains(&"--skip-log-bin".to_string()));
    }

    #[test]
    fn env_names_per_flavor() {
        assert!(server_env(Flavor::Mysql, "pw")[0].starts_with("MYSQL_ROOT_PASSWORD="));
        assert!(server_env(Flavor::Mariadb, "pw")[0].starts_with("MARIADB_ROOT_PASSWORD="));
    }
}
