//! Wiring: store + runtime + HTTP server + background workers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use weft_api::server::HttpConfig;
use weft_runtime::clock::SystemClock;
use weft_runtime::{Runtime, RuntimeConfig};
use weft_store::{LocalDiskBlobStore, SeaStore, StoreOptions};

use crate::config::{Config, redact};

pub async fn open(cfg: &Config) -> anyhow::Result<(Arc<SeaStore>, Arc<Runtime>)> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    let url = cfg.database_url();
    let mut opts = StoreOptions::new(url.clone());
    opts.max_connections = cfg.max_connections;
    let store = Arc::new(
        SeaStore::connect(&opts)
            .await
            .with_context(|| format!("cannot open the database at {}", redact(&url)))?,
    );
    if cfg.auto_migrate {
        store.migrate().await.context("migrations failed")?;
    }

    let rt = Runtime::new(
        store.clone(),
        Arc::new(LocalDiskBlobStore::new(cfg.files_dir())),
        Arc::new(SystemClock),
        RuntimeConfig {
            lease: Duration::from_secs(cfg.lease_secs.clamp(1, 3_600)),
            upload_quota_user: cfg.upload_quota_user_mb.saturating_mul(1 << 20),
            storage_quota_tenant: cfg.storage_quota_tenant_mb.saturating_mul(1 << 20),
            rules_budget_per_write: Duration::from_millis(cfg.rules_budget_per_write_ms),
            ..RuntimeConfig::default()
        },
    );
    Ok((store, rt))
}

pub async fn serve(cfg: &Config, rt: Arc<Runtime>, banner: Option<String>) -> anyhow::Result<()> {
    let http = HttpConfig {
        host: cfg.host.clone(),
        port: cfg.port,
        workers: cfg.workers,
        limits: weft_api::limits::RateConfig {
            tenant_per_sec: cfg.rate_tenant_per_sec,
            tenant_burst: cfg.rate_tenant_burst,
            credential_per_sec: cfg.rate_key_per_sec,
            credential_burst: cfg.rate_key_burst,
        },
        metrics_token: (!cfg.metrics_token.is_empty()).then(|| cfg.metrics_token.clone()),
        trusted_proxies: weft_api::client_ip::parse_trusted(&cfg.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?,
        ..HttpConfig::default()
    };
    // Bind first, so a taken port fails before any worker starts.
    let server = weft_api::serve(rt.clone(), &http)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let jobs = if cfg.run_jobs {
        let rt2 = rt.clone();
        let rt3 = rt.clone();
        let worker = format!("{}-{}", hostname(), std::process::id());
        let mut stop2 = stop_rx.clone();
        // Flow timers (timeouts, reminders, waits): leased, so several processes may run them.
        let flow_timers = tokio::spawn(rt.workflows().clone().flow_timer_loop(
            worker.clone(),
            Duration::from_secs(1),
            stop_rx.clone(),
        ));
        let cfg2 = cfg.clone();
        Some(tokio::spawn(async move {
            let sealer = tokio::spawn(async move {
                // Seal the change log into the audit chain every few seconds.
                loop {
                    if let Err(e) = rt3.audit().seal_all().await {
                        tracing::warn!(error = %e, "listing tenants to seal failed");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                        _ = stop2.changed() => return,
                    }
                }
            });
            let rt4 = rt2.clone();
            let (w2, stop3) = (worker.clone(), stop_rx.clone());
            let out = crate::outbound::channels(&cfg2);
            let automation = tokio::spawn(async move {
                rt4.automation()
                    .automation_loop(w2, out, Duration::from_secs(1), stop3)
                    .await;
            });
            rt2.jobs()
                .job_loop(worker, Duration::from_secs(2), stop_rx)
                .await;
            sealer.abort();
            let _ = flow_timers.await;
            let _ = automation.await;
        }))
    } else {
        None
    };
    let url = format!("http://{}:{}", cfg.host, cfg.port);
    tracing::info!(%url, "weft is serving");
    println!("Weft is running at {url}/  (API docs: {url}/api/docs/)");
    if let Some(b) = banner {
        println!("{b}");
    }
    let result = server.wait().await;
    let _ = stop_tx.send(true);
    if let Some(j) = jobs {
        let _ = j.await;
    }
    Ok(result?)
}

/// Refuse to serve when application connections could bypass row-level security.
pub async fn check_role(store: &SeaStore) -> anyhow::Result<()> {
    let role = store
        .check_app_role()
        .await
        .context("the application database role is unsafe (run `weft migrate` first?)")?;
    tracing::info!(db.role = %role, "application connections checked");
    Ok(())
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "weft".into())
}
