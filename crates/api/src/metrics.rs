//! `GET /metrics` for operators, in the Prometheus text format: HTTP requests by route
//! pattern, method and status, their durations, and, read from the store at scrape time, the
//! automation backlog per tenant and the connection pools.
//!
//! Built on the `prometheus` crate with a registry per server (not the process-global one), so
//! servers in one process (tests) count apart. Labels stay bounded: the route is the matched
//! pattern (`/api/v1/data/{object}`), never the raw path, `unmatched` when no route matched;
//! methods outside the standard ones count as `other`.
//!
//! Only operators may scrape: a request from loopback that did not come through a proxy, or
//! one with `Authorization: Bearer <metrics_token>`. Anyone else gets 404, as if there were no
//! such route.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::AppState;

/// The HTTP series of one server.
pub struct HttpMetrics {
    inner: Option<Series>,
}

struct Series {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl Series {
    fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "weft_http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
            ),
            &["route", "method", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "weft_http_request_duration_seconds",
                "Time from receiving a request to its response head, by route pattern and method.",
            ),
            &["route", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self {
            registry,
            requests,
            duration,
        })
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpMetrics {
    /// A fresh registry. Its series are fixed, so it cannot fail in practice; if it did, the
    /// server still runs and `/metrics` answers 500.
    pub fn new() -> Self {
        let inner = Series::new()
            .inspect_err(|e| tracing::error!(error = %e, "cannot set up the HTTP metrics"))
            .ok();
        Self { inner }
    }

    fn observe(&self, route: &str, method: &str, status: u16, secs: f64) {
        let Some(s) = &self.inner else { return };
        s.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        s.duration.with_label_values(&[route, method]).observe(secs);
    }
}

/// The method as a label: the standard ones by name, anything else `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware (`from_fn`, outermost): count the request under its route pattern and time it.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let result = next.call(req).await;
    if let Some(m) = metrics {
        let secs = started.elapsed().as_secs_f64();
        match &result {
            Ok(res) => {
                let route = res.request().match_pattern();
                let route = route.as_deref().unwrap_or("unmatched");
                m.observe(route, method, res.status().as_u16(), secs);
            }
            Err(e) => {
                let status = e.as_response_error().status_code().as_u16();
                m.observe("unmatched", method, status, secs);
            }
        }
    }
    result
}

/// Whether the caller may scrape: a direct connection from loopback (no proxy headers: a
/// reverse proxy on the same host would otherwise make every client local), or the configured
/// token. Without a configured token only loopback may.
pub fn operator_may_scrape(
    peer: Option<IpAddr>,
    proxied: bool,
    configured: Option<&str>,
    presented: Option<&str>,
) -> bool {
    let local = peer.is_some_and(|ip| ip.is_loopback()) && !proxied;
    let token = match (configured, presented) {
        (Some(c), Some(p)) if !c.is_empty() => {
            crate::auth::subtle_eq::ct_eq(c.as_bytes(), p.as_bytes())
        }
        _ => false,
    };
    local || token
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let v = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

fn proxied(req: &HttpRequest) -> bool {
    ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| req.headers().contains_key(*h))
}

/// The scrape-time series: the automation backlog per tenant, the pools, and whether the
/// store answered.
fn store_series(
    reg: &Registry,
    backlog: Option<&[weft_runtime::ports::OutboxBacklog]>,
    pools: &[weft_runtime::ports::PoolStats],
    now: chrono::DateTime<chrono::Utc>,
) -> prometheus::Result<()> {
    let up = IntGauge::new(
        "weft_store_up",
        "1 when the store answered this scrape's queries, else 0.",
    )?;
    reg.register(Box::new(up.clone()))?;
    up.set(i64::from(backlog.is_some()));
    let pending = IntGaugeVec::new(
        Opts::new(
            "weft_outbox_pending",
            "Automation runs not finished (queued, waiting for a retry, or running), per tenant; tenants with none are left out.",
        ),
        &["tenant"],
    )?;
    let age = GaugeVec::new(
        Opts::new(
            "weft_outbox_oldest_age_seconds",
            "How long the earliest-due unfinished automation run of the tenant has been due (0 when none is due yet).",
        ),
        &["tenant"],
    )?;
    reg.register(Box::new(pending.clone()))?;
    reg.register(Box::new(age.clone()))?;
    for b in backlog.unwrap_or_default() {
        let t = b.tenant.0.to_string();
        pending.with_label_values(&[t.as_str()]).set(b.pending);
        let late = (now - b.earliest_due).num_milliseconds().max(0) as f64 / 1000.0;
        age.with_label_values(&[t.as_str()]).set(late);
    }
    let conns = IntGaugeVec::new(
        Opts::new(
            "weft_db_pool_connections",
            "Database connections of each pool, idle or in use.",
        ),
        &["pool", "state"],
    )?;
    reg.register(Box::new(conns.clone()))?;
    for p in pools {
        let n = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        conns.with_label_values(&[p.pool, "idle"]).set(n(p.idle));
        conns
            .with_label_values(&[p.pool, "in_use"])
            .set(n(p.in_use));
    }
    Ok(())
}

/// `GET /metrics`.
pub async fn scrape(st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let allowed = operator_may_scrape(
        req.peer_addr().map(|a| a.ip()),
        proxied(&req),
        st.metrics_token.as_deref(),
        bearer(&req),
    );
    if !allowed {
        return crate::not_found_json();
    }
    let Some(series) = &st.metrics.inner else {
        return HttpResponse::InternalServerError().finish();
    };
    let usage = st.rt.usage();
    let backlog = usage
        .outbox_backlog()
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "metrics: cannot read the outbox backlog"))
        .ok();
    let scrape_reg = Registry::new();
    if let Err(e) = store_series(
        &scrape_reg,
        backlog.as_deref(),
        &usage.pool_stats(),
        usage.now(),
    ) {
        tracing::error!(error = %e, "metrics: cannot build the store series");
    }
    let mut families = series.registry.gather();
    families.extend(scrape_reg.gather());
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&families, &mut buf) {
        tracing::error!(error = %e, "metrics: cannot encode");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_set_up() {
        assert!(HttpMetrics::new().inner.is_some());
    }

    #[test]
    fn only_direct_loopback_or_the_token_may_scrape() {
        let lo: Option<IpAddr> = "127.0.0.1".parse().ok();
        let lo6: Option<IpAddr> = "::1".parse().ok();
        let far: Option<IpAddr> = "203.0.113.9".parse().ok();
        assert!(operator_may_scrape(lo, false, None, None));
        assert!(operator_may_scrape(lo6, false, None, None));
        assert!(!operator_may_scrape(lo, true, None, None));
        assert!(!operator_may_scrape(far, false, None, None));
        assert!(!operator_may_scrape(None, false, None, None));
        assert!(!operator_may_scrape(far, false, None, Some("t0ken")));
        assert!(!operator_may_scrape(far, false, Some("t0ken"), None));
        assert!(!operator_may_scrape(
            far,
            false,
            Some("t0ken"),
            Some("t0ke")
        ));
        assert!(!operator_may_scrape(far, false, Some(""), Some("")));
        assert!(operator_may_scrape(
            far,
            false,
            Some("t0ken"),
            Some("t0ken")
        ));
        assert!(operator_may_scrape(lo, true, Some("t0ken"), Some("t0ken")));
    }
}
