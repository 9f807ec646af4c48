//! The HTTP server: the one place an actix `HttpServer` is built, for `weft serve` and for the
//! test servers alike, so both run the same middleware stack (security headers, compression,
//! request ids, request metrics) in front of the same routes.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use weft_runtime::Runtime;

use crate::AppState;
use crate::limits::RateConfig;

/// How to serve: where to listen and how the server behaves.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub host: String,
    /// `0` picks a free port (tests); the bound address is in [`Serving::addr`].
    pub port: u16,
    /// Worker threads; `0` means one per core (actix's default).
    pub workers: usize,
    /// Seconds in-flight requests get to finish on a graceful stop.
    pub shutdown_timeout_secs: u64,
    /// Stop gracefully on SIGINT/SIGTERM (the binary); tests stop through the handle.
    pub handle_signals: bool,
    pub limits: RateConfig,
    /// Proxies whose `X-Forwarded-For` names the client (`WEFT_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Lets a caller that is not on loopback scrape `/metrics` with
    /// `Authorization: Bearer <token>`; without it only loopback may.
    pub metrics_token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            workers: 0,
            shutdown_timeout_secs: 10,
            handle_signals: true,
            limits: RateConfig::default(),
            trusted_proxies: vec![],
            metrics_token: None,
        }
    }
}

/// The HTTP server could not start or failed while running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Run(#[from] std::io::Error),
    #[error("HTTP server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Stops a running server; cheap to clone.
#[derive(Clone)]
pub struct ServerHandle(actix_web::dev::ServerHandle);

impl ServerHandle {
    /// Stop accepting connections; `graceful` lets in-flight requests finish (up to the
    /// shutdown timeout).
    pub async fn stop(&self, graceful: bool) {
        self.0.stop(graceful).await;
    }
}

/// A server started by [`serve`], running on the current tokio runtime.
pub struct Serving {
    addrs: Vec<SocketAddr>,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Serving {
    /// The first bound address (with the real port when `port` was `0`).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Wait until the server has stopped (by a signal or through a handle).
    pub async fn wait(self) -> Result<(), ServeError> {
        Ok(self.task.await??)
    }
}

/// Bind and start the HTTP server over `rt`. Must be called inside a tokio runtime; the server
/// runs until a signal (when `handle_signals`) or [`ServerHandle::stop`].
pub fn serve(rt: Arc<Runtime>, cfg: &HttpConfig) -> Result<Serving, ServeError> {
    let mut state = AppState::with_limits(rt, cfg.limits);
    state.trusted_proxies = cfg.trusted_proxies.clone();
    state.metrics_token = cfg.metrics_token.clone().filter(|t| !t.is_empty());
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(crate::security_headers())
            .wrap(Compress::default())
            .wrap(from_fn(crate::request_id))
            .wrap(from_fn(crate::metrics::track))
            .configure(crate::configure(state.clone()))
    })
    .shutdown_timeout(cfg.shutdown_timeout_secs);
    if cfg.workers > 0 {
        server = server.workers(cfg.workers);
    }
    if !cfg.handle_signals {
        server = server.disable_signals();
    }
    let server = server
        .bind((cfg.host.as_str(), cfg.port))
        .map_err(|source| ServeError::Bind {
            addr: format!("{}:{}", cfg.host, cfg.port),
            source,
        })?;
    let addrs = server.addrs();
    let running = server.run();
    let handle = ServerHandle(running.handle());
    Ok(Serving {
        addrs,
        handle,
        task: tokio::spawn(running),
    })
}
