//! Configuration: built-in defaults, then an optional TOML file, then `FLOWGATE_*` / `DATABASE_URL`
//! environment variables and command-line flags (clap merges those two).

use std::path::PathBuf;

use serde::Deserialize;

use crate::{Error, Result};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Everything the server and the CLI need to know.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH?mode=rwc` or `postgres://…`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Base URL clients use to reach this server (links, issuer). Derived from `listen` if unset.
    pub public_url: Option<String>,
    /// The `iss` of every token; the public URL if unset.
    pub issuer: Option<String>,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: i64,
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl: i64,
    /// How long a login lasts, in seconds.
    pub session_ttl: i64,
    pub log_format: LogFormat,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How often to look for changes made by other instances, in milliseconds.
    pub sync_interval_ms: u64,
    /// How many verified tokens the gate remembers.
    pub token_cache_capacity: u64,
    /// How many process instances are kept as last read (0 keeps none).
    pub instance_cache_capacity: u64,
    /// Database pool size (PostgreSQL; SQLite gets a small pool of its own).
    pub max_connections: u32,
    /// Open client connections at most; more wait to be accepted.
    pub connection_limit: usize,
    /// A request's head must arrive within this many milliseconds.
    pub header_timeout_ms: u64,
    /// A request's body must arrive within this many milliseconds.
    pub body_timeout_ms: u64,
    /// A connection with no traffic for this many milliseconds is closed.
    pub idle_timeout_ms: u64,
    /// The key-encryption key that seals signing keys at rest (32 bytes, base64 or hex).
    pub key_encryption_key: Option<Secret>,
    /// The file holding the key-encryption key when none is given (created on first start).
    pub key_file: Option<PathBuf>,
    /// Audit rows older than this many days are deleted (hourly); 0 keeps them forever.
    pub audit_retention_days: u32,
}

/// A value that never shows in a log or a debug print.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://flowgate.db?mode=rwc".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            issuer: None,
            access_token_ttl: 3600,
            refresh_token_ttl: 30 * 86_400,
            session_ttl: 12 * 3600,
            log_format: LogFormat::Human,
            max_body_bytes: 1024 * 1024,
            sync_interval_ms: 1000,
            token_cache_capacity: 100_000,
            instance_cache_capacity: 10_000,
            max_connections: 16,
            connection_limit: 4096,
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            key_encryption_key: None,
            key_file: None,
            audit_retention_days: 90,
        }
    }
}

/// The flags and environment variables that override the file (all optional).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Overrides {
    /// TOML configuration file.
    #[arg(long, env = "FLOWGATE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL (`sqlite://flowgate.db?mode=rwc`, `postgres://…`).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, env = "FLOWGATE_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Issuer (`iss`) of the tokens.
    #[arg(long, env = "FLOWGATE_ISSUER", global = true)]
    pub issuer: Option<String>,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "FLOWGATE_ACCESS_TOKEN_TTL", global = true)]
    pub access_token_ttl: Option<i64>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "FLOWGATE_LISTEN", global = true)]
    pub listen: Option<String>,
    /// Base URL clients use to reach the server.
    #[arg(long, env = "FLOWGATE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// The key-encryption key for signing keys at rest (32 bytes, base64 or hex); prefer the
    /// environment to the command line.
    #[arg(
        long,
        env = "FLOWGATE_KEY_ENCRYPTION_KEY",
        global = true,
        hide_env_values = true
    )]
    pub key_encryption_key: Option<String>,
    /// The key file (created on first start, mode 0600) when no key is given.
    #[arg(long, env = "FLOWGATE_KEY_FILE", global = true)]
    pub key_file: Option<PathBuf>,
    /// Days audit rows are kept (0: forever).
    #[arg(long, env = "FLOWGATE_AUDIT_RETENTION_DAYS", global = true)]
    pub audit_retention_days: Option<u32>,
}

impl Config {
    /// Defaults, then the file named by `--config`, then flags and environment.
    pub fn load(overrides: &Overrides) -> Result<Config> {
        let mut config = match &overrides.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
                toml::from_str(&text)
                    .map_err(|e| Error::invalid(format!("bad config {}: {e}", path.display())))?
            }
            None => Config::default(),
        };
        if let Some(url) = &overrides.database_url {
            config.database_url = url.clone();
        }
        if let Some(format) = overrides.log_format {
            config.log_format = format;
        }
        if let Some(issuer) = &overrides.issuer {
            config.issuer = Some(issuer.clone());
        }
        if let Some(ttl) = overrides.access_token_ttl {
            config.access_token_ttl = ttl;
        }
        if let Some(listen) = &overrides.listen {
            config.listen = listen.clone();
        }
        if let Some(url) = &overrides.public_url {
            config.public_url = Some(url.clone());
        }
        if let Some(key) = &overrides.key_encryption_key {
            config.key_encryption_key = Some(Secret::new(key.clone()));
        }
        if let Some(path) = &overrides.key_file {
            config.key_file = Some(path.clone());
        }
        if let Some(days) = overrides.audit_retention_days {
            config.audit_retention_days = days;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if !(60..=86_400).contains(&self.access_token_ttl) {
            return Err(Error::invalid(
                "access_token_ttl must be between 60 and 86400 seconds",
            ));
        }
        if !(60..=365 * 86_400).contains(&self.refresh_token_ttl) {
            return Err(Error::invalid(
                "refresh_token_ttl must be between 60 seconds and 365 days",
            ));
        }
        if !(60..=30 * 86_400).contains(&self.session_ttl) {
            return Err(Error::invalid(
                "session_ttl must be between 60 seconds and 30 days",
            ));
        }
        for (name, ms) in [
            ("header_timeout_ms", self.header_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
        ] {
            if !(100..=3_600_000).contains(&ms) {
                return Err(Error::invalid(format!(
                    "{name} must be between 100 and 3600000 milliseconds"
                )));
            }
        }
        if self.connection_limit == 0 {
            return Err(Error::invalid("connection_limit must be at least 1"));
        }
        if self.audit_retention_days > 36_500 {
            return Err(Error::invalid(
                "audit_retention_days must be at most 36500 (0 keeps the log forever)",
            ));
        }
        if self.max_connections == 0 {
            return Err(Error::invalid("max_connections must be at least 1"));
        }
        Ok(())
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self, bound: std::net::SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flowgate.toml");
        std::fs::write(&path, "listen = '0.0.0.0:9000'\naccess_token_ttl = 600\n").unwrap();
        let overrides = Overrides {
            config: Some(path.clone()),
            access_token_ttl: Some(900),
            ..Overrides::default()
        };
        let config = Config::load(&overrides).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.access_token_ttl, 900);
        assert_eq!(config.audit_retention_days, 90, "the default");

        std::fs::write(&path, "audit_retention_days = 7\n").unwrap();
        assert_eq!(Config::load(&overrides).unwrap().audit_retention_days, 7);
        let keep_forever = Overrides {
            audit_retention_days: Some(0),
            ..overrides.clone()
        };
        assert_eq!(Config::load(&keep_forever).unwrap().audit_retention_days, 0);

        std::fs::write(&path, "listen_addr = 'x'\n").unwrap();
        assert!(
            Config::load(&overrides).is_err(),
            "unknown keys are refused"
        );
    }
}
