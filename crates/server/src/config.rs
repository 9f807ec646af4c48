//! Configuration: defaults, then an optional TOML file, then `WEFT_*` environment variables,
//! then command-line flags. Checked once at start-up with messages that say what to fix.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// Where the SQLite file and attachments live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; empty = SQLite in `data_dir`.
    pub database_url: String,
    pub max_connections: u32,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// Log filter, e.g. `info` or `weft=debug`.
    pub log: String,
    /// Apply pending migrations when serving.
    pub auto_migrate: bool,
    /// Run background jobs in this process.
    pub run_jobs: bool,
    /// Automation's outbound channels (webhooks, SMTP): see `outbound.rs`.
    #[serde(default)]
    pub smtp_host: String,
    #[serde(default = "smtp_port")]
    pub smtp_port: u16,
    /// none | starttls | tls
    #[serde(default = "smtp_security")]
    pub smtp_security: String,
    #[serde(default)]
    pub smtp_username: String,
    #[serde(default)]
    pub smtp_password: String,
    #[serde(default = "mail_from")]
    pub mail_from: String,
    /// Let webhooks reach loopback addresses (off by default: SSRF guard).
    #[serde(default)]
    pub webhook_allow_loopback: bool,
    /// Let webhooks reach private and link-local addresses (off by default: SSRF guard).
    #[serde(default)]
    pub webhook_allow_private: bool,
    /// Seconds a worker's claim on an automation run or a flow timer lasts; after a crash
    /// another process resumes the work this long after the claim (default 60).
    #[serde(default = "lease_secs")]
    pub lease_secs: u64,
    /// Proxies whose `X-Forwarded-For` names the client: addresses or CIDR ranges separated by
    /// commas (e.g. `127.0.0.1, 10.0.0.0/8`). Empty: the header is ignored.
    #[serde(default)]
    pub trusted_proxies: String,
    /// API requests per second per tenant, and the burst above it.
    #[serde(default = "rate_tenant_per_sec")]
    pub rate_tenant_per_sec: u32,
    #[serde(default = "rate_tenant_burst")]
    pub rate_tenant_burst: u32,
    /// API requests per second per API key or session, and the burst above it.
    #[serde(default = "rate_key_per_sec")]
    pub rate_key_per_sec: u32,
    #[serde(default = "rate_key_burst")]
    pub rate_key_burst: u32,
    /// Attachments one user may store, in MiB.
    #[serde(default = "upload_quota_user_mb")]
    pub upload_quota_user_mb: u64,
    /// Attachments one tenant may store, in MiB.
    #[serde(default = "storage_quota_tenant_mb")]
    pub storage_quota_tenant_mb: u64,
    /// Milliseconds of rule evaluation one write (or one bulk call, or one automation run)
    /// may spend in all; beyond, the write fails with `limit.cpu`.
    #[serde(default = "rules_budget_per_write_ms")]
    pub rules_budget_per_write_ms: u64,
    /// A bearer token that lets a remote Prometheus scrape `/metrics` (loopback callers need
    /// none). Empty: only loopback.
    #[serde(default)]
    pub metrics_token: String,
}

fn rules_budget_per_write_ms() -> u64 {
    500
}

fn rate_tenant_per_sec() -> u32 {
    2_000
}
fn rate_tenant_burst() -> u32 {
    4_000
}
fn rate_key_per_sec() -> u32 {
    1_000
}
fn rate_key_burst() -> u32 {
    2_000
}
fn upload_quota_user_mb() -> u64 {
    1_024
}
fn storage_quota_tenant_mb() -> u64 {
    10_240
}

fn lease_secs() -> u64 {
    60
}

fn smtp_port() -> u16 {
    587
}
fn smtp_security() -> String {
    "starttls".into()
}
fn mail_from() -> String {
    "Weft <no-reply@localhost>".into()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            max_connections: 16,
            workers: 0,
            log: "info".into(),
            auto_migrate: true,
            run_jobs: true,
            smtp_host: String::new(),
            smtp_port: smtp_port(),
            smtp_security: smtp_security(),
            smtp_username: String::new(),
            smtp_password: String::new(),
            mail_from: mail_from(),
            webhook_allow_loopback: false,
            webhook_allow_private: false,
            lease_secs: lease_secs(),
            trusted_proxies: String::new(),
            rate_tenant_per_sec: rate_tenant_per_sec(),
            rate_tenant_burst: rate_tenant_burst(),
            rate_key_per_sec: rate_key_per_sec(),
            rate_key_burst: rate_key_burst(),
            upload_quota_user_mb: upload_quota_user_mb(),
            storage_quota_tenant_mb: storage_quota_tenant_mb(),
            rules_budget_per_write_ms: rules_budget_per_write_ms(),
            metrics_token: String::new(),
        }
    }
}

/// Flags given on the command line override everything else.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    pub fn load(file: Option<&Path>, over: &Overrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                if !f.exists() {
                    bail!("config file {} does not exist", f.display());
                }
                fig = fig.merge(Toml::file(f));
            }
            None if Path::new("weft.toml").exists() => fig = fig.merge(Toml::file("weft.toml")),
            None => {}
        }
        fig =
            fig
                // `WEFT_TEST_*` belong to the test scripts (e.g. WEFT_TEST_PG), not to the server.
                .merge(Env::prefixed("WEFT_").filter(|k| {
                    k != "config" && !k.as_str().to_ascii_lowercase().starts_with("test_")
                }))
                .merge(Env::raw().only(&["database_url"]))
                .merge(Serialized::defaults(over));
        let cfg: Config = fig
            .extract()
            .context("invalid configuration (check weft.toml and WEFT_* variables)")?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.port == 0 {
            bail!("port must be 1..65535");
        }
        let known = ["postgres://", "postgresql://", "sqlite:"];
        if !self.database_url.is_empty() && !known.iter().any(|p| self.database_url.starts_with(p))
        {
            bail!(
                "database_url must start with postgres://, postgresql:// or sqlite: (got {:?})",
                redact(&self.database_url)
            );
        }
        if !(1..=512).contains(&self.max_connections) {
            bail!("max_connections must be 1..512");
        }
        if !(1..=3_600).contains(&self.lease_secs) {
            bail!("lease_secs must be 1..3600");
        }
        weft_api::client_ip::parse_trusted(&self.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        for (name, v) in [
            ("rate_tenant_per_sec", self.rate_tenant_per_sec),
            ("rate_tenant_burst", self.rate_tenant_burst),
            ("rate_key_per_sec", self.rate_key_per_sec),
            ("rate_key_burst", self.rate_key_burst),
        ] {
            if v == 0 {
                bail!("{name} must be at least 1");
            }
        }
        if !(10..=60_000).contains(&self.rules_budget_per_write_ms) {
            bail!("rules_budget_per_write_ms must be 10..60000");
        }
        crate::outbound::validate(self)?;
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("weft.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    pub fn files_dir(&self) -> PathBuf {
        self.data_dir.join("files")
    }
}

/// Hide a password in a URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(a)) if a > s => {
            let creds = &url[s + 3..a];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[a..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_urls_redact() {
        Config::default().validate().unwrap();
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        let bad = Config {
            database_url: "mysql://x".into(),
            ..Config::default()
        };
        assert!(bad.validate().is_err());
    }
}
