//! Weft's HTTP adapter (actix-web): routes, request/response DTOs, authentication, the one
//! error-to-HTTP mapping, the OpenAPI document and the embedded web app.
//!
//! Architecture invariant: this is the only crate that knows actix-web. Handlers are thin:
//! read and bound the input, call one runtime service, shape the output.

pub mod auth;
pub mod body;
pub mod client_ip;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod request_ids;
pub mod routes;
pub mod schemas;
pub mod server;
pub mod ui;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};
use utoipa_swagger_ui::SwaggerUi;
use weft_runtime::Runtime;

use routes::{auth as auth_routes, data, files, meta, org, system};
pub use server::{HttpConfig, ServeError, ServerHandle, Serving, serve};

pub struct AppState {
    pub rt: Arc<Runtime>,
    pub limits: limits::RateLimits,
    /// Proxies whose `X-Forwarded-For` is believed (see [`client_ip`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// This server's request counters and timings (`/metrics`).
    pub metrics: Arc<metrics::HttpMetrics>,
    /// The bearer token that lets a non-loopback caller scrape `/metrics`.
    pub metrics_token: Option<String>,
    /// The multi-threaded runtime the server was started on: writes run there (see
    /// [`AppState::offload`]). `None` outside a multi-threaded runtime: calls run in place.
    pub services: Option<tokio::runtime::Handle>,
}

impl AppState {
    pub fn new(rt: Arc<Runtime>) -> Self {
        Self::with_limits(rt, limits::RateConfig::default())
    }

    pub fn with_limits(rt: Arc<Runtime>, c: limits::RateConfig) -> Self {
        Self {
            rt,
            limits: limits::RateLimits::new(c),
            trusted_proxies: vec![],
            metrics: Arc::new(metrics::HttpMetrics::new()),
            metrics_token: None,
            services: tokio::runtime::Handle::try_current()
                .ok()
                .filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread),
        }
    }

    /// Run a service call that may evaluate tenant rules (writes, flow actions) on the
    /// server's multi-threaded runtime instead of the HTTP worker that received it. Each
    /// actix worker is a single-threaded runtime serving many connections: a write whose
    /// rules take half a second there would hold every other request on that worker. On the
    /// multi-threaded runtime a slow rule leaves its thread (`weft_rules::offload`) and the
    /// HTTP worker only waits for the result.
    /// `call` gets the runtime to call and returns the future to run.
    pub async fn offload<T, F, C>(&self, call: C) -> error::ApiResult<T>
    where
        C: FnOnce(Arc<Runtime>) -> F,
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        use tracing::Instrument;
        let call = call(self.rt.clone());
        match &self.services {
            Some(h) => h
                .spawn(call.instrument(tracing::Span::current()))
                .await
                .map_err(|e| {
                    error::ApiError(weft_runtime::Error::Internal(format!(
                        "the write's task failed: {e}"
                    )))
                }),
            None => Ok(call.await),
        }
    }
}

pub use request_ids::{RequestId, request_id};

pub fn not_found_json() -> HttpResponse {
    error::error_json(
        actix_web::http::StatusCode::NOT_FOUND,
        "not_found",
        "no such API route".into(),
    )
}

/// What an unmatched request gets: 405 with `Allow` when its path is an API route that takes
/// other methods (as the OpenAPI document lists them), else 404.
pub async fn fallback(req: actix_web::HttpRequest) -> HttpResponse {
    let allowed = openapi::methods_of(req.path());
    if allowed.is_empty() {
        return not_found_json();
    }
    let mut resp = error::error_json(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed here; use {}",
            req.method(),
            allowed.join(", ")
        ),
    );
    if let Ok(v) = header::HeaderValue::from_str(&allowed.join(", ")) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// Register every route on an actix `App`.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state)
            .app_data(web::PathConfig::default().error_handler(|_, _| {
                actix_web::error::InternalError::from_response("bad path", not_found_json()).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                let resp = error::query_error(&e);
                actix_web::error::InternalError::from_response(e, resp).into()
            }))
            .service(system::healthz)
            .service(web::resource("/metrics").route(web::get().to(metrics::scrape)))
            .service(
                web::resource("/api/openapi.json").route(web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(openapi::document())
                })),
            )
            .service(
                SwaggerUi::new("/api/docs/{_:.*}").url("/api/docs/openapi.json", openapi::full()),
            )
            .service(
                web::scope("/api/v1")
                    .service(auth_routes::login)
                    .service(auth_routes::logout)
                    .service(auth_routes::session)
                    .service(auth_routes::create_api_key)
                    .service(auth_routes::list_api_keys)
                    .service(auth_routes::revoke_api_key)
                    .service(auth_routes::change_password)
                    .service(org::list_users)
                    .service(org::create_user)
                    .service(org::manager_of)
                    .service(org::update_user)
                    .service(org::list_departments)
                    .service(org::create_department)
                    .service(org::update_department)
                    .service(org::delete_department)
                    .service(org::list_roles)
                    .service(org::create_role)
                    .service(org::update_role)
                    .service(org::delete_role)
                    .service(org::audit_log)
                    .service(org::explain)
                    .service(system::me)
                    .service(system::field_types)
                    .service(system::tenant_settings)
                    .service(system::update_tenant_settings)
                    .service(system::tenant_usage)
                    .service(meta::list_objects)
                    .service(meta::create_object)
                    .service(meta::object_schema)
                    .service(meta::object_history)
                    .service(meta::get_object)
                    .service(meta::update_object)
                    .service(meta::delete_object)
                    .service(meta::add_field)
                    .service(meta::restore_field)
                    .service(meta::change_field_type)
                    .service(meta::update_field)
                    .service(meta::delete_field)
                    .service(meta::get_job)
                    .configure(routes::flows::configure)
                    .service(files::upload_file)
                    .service(files::storage_usage)
                    .service(files::download_file)
                    // Fixed segments before `{id}`.
                    .service(data::query_records)
                    .service(data::bulk_create)
                    .service(data::bulk_update)
                    .service(data::recycle_bin)
                    .service(data::export_records)
                    .service(data::create_record)
                    .service(data::list_records)
                    .service(data::restore_record)
                    .service(data::purge_record)
                    .service(data::record_history)
                    .service(data::relationships)
                    .service(data::related_records)
                    .service(data::transfer_record)
                    .service(data::get_record)
                    .service(data::update_record)
                    .service(data::delete_record)
                    .configure(routes::automation::configure)
                    .configure(routes::views::configure)
                    .default_service(web::to(fallback)),
            )
            .default_service(web::to(ui::serve));
    }
}

/// Security headers on every response.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
}
