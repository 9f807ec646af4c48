//! `/api/v1/meta/rules…` (rules as metadata, check, dry run), `/api/v1/automation/…` (run
//! log, retries, webhook deliveries and resends), `/api/v1/notifications…` (in-app).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use std::collections::HashMap;

use serde_json::Value as Json;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;
use weft_runtime::Error;
use weft_runtime::automation::ports::{DeliveryRow, RunProgress, RunStatus};
use weft_runtime::automation::views::{
    DeliveryList, DryRunJob, DryRunMatch, DryRunMatches, DryRunProblem, DryRunReport, ManualAction,
    ManualActions, ManualRun, NotificationList, NotificationRead, NotificationView, RuleCheck,
    RuleList, RuleProblemView, RuleView, RunList, RunView,
};

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, META_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};

fn id(s: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s).map_err(|_| Error::not_found(what.to_owned()))
}

/// A rule document (`weft.rule/1`), as the OpenAPI document describes it: the common keys,
/// and the settings of its kind (read and checked by the runtime, every problem at its path).
#[derive(Deserialize, ToSchema)]
pub struct RuleDocument {
    /// `weft.rule/1` (the default).
    #[schema(nullable = false)]
    pub format: Option<String>,
    pub api_name: String,
    /// The object the rule belongs to (for roll-ups: the parent holding the field).
    pub object: String,
    /// validation | formula | default | required | read_only | trigger | rollup
    pub kind: String,
    pub label: Option<String>,
    pub description: Option<String>,
    /// Default true.
    #[schema(nullable = false)]
    pub active: Option<bool>,
    /// The kind's settings: `condition`, `message`, `field`, `expression`, `on`, `fields`,
    /// `transition`, `actions`, `cron`, `timezone`, `date`, `button`, `run_as`, …
    #[serde(flatten)]
    pub settings: HashMap<String, Json>,
}

/// `POST /meta/rules/dry-run`: a draft (`rule`) or a saved rule (`api_name`).
#[derive(Deserialize, ToSchema)]
pub struct DryRunBody {
    #[schema(nullable = false)]
    pub rule: Option<RuleDocument>,
    pub api_name: Option<String>,
    /// A filter in the query language, over the records to try.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Json>,
    /// Records to scan (default 10000).
    #[schema(nullable = false, minimum = 1, maximum = 100000)]
    pub limit: Option<u64>,
    /// Samples to return (default 5; more than 50 is read as 50).
    pub samples: Option<u64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleListParams {
    /// Only the rules of this object.
    pub object: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/meta/rules", tag = "automation", params(RuleListParams),
    responses((status = 200, description = "The tenant's rules", body = RuleList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/rules")]
pub async fn list_rules(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<RuleListParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        st.rt
            .automation()
            .list_rules(&p, q.object.as_deref())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/meta/rules", tag = "automation",
    request_body(content = RuleDocument, description = "A rule document (`weft.rule/1`): api_name, object, kind \
        (validation | formula | default | required | read_only | trigger | rollup) and its settings"),
    responses((status = 201, description = "The saved rule", body = RuleView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/rules")]
pub async fn create_rule(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.automation().create_rule(&p, &b).await?))
}

#[utoipa::path(post, path = "/api/v1/meta/rules/check", tag = "automation",
    request_body(content = RuleDocument, description = "A rule document to check without saving"),
    responses((status = 200, description = "Every problem, with line and column", body = RuleCheck), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/rules/check")]
pub async fn check_rule(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.automation().check_rule(&p, &b).await?))
}

#[utoipa::path(post, path = "/api/v1/meta/rules/dry-run", tag = "automation",
    request_body(content = DryRunBody, description = "`{rule: <document>}` or `{api_name}`, with optional `filter` \
        (the query filter language), `limit` (records, ≤ 100000) and `samples` (≤ 50)"),
    responses((status = 202, description = "The rule is fine and its dry run is queued as a background job; \
        poll `/meta/rules/dry-run/{id}` for progress and the report. Nothing is changed or sent", body = DryRunJob),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/rules/dry-run")]
pub async fn dry_run_rule(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Accepted().json(st.rt.automation().dry_run_rule(&p, &b).await?))
}

#[utoipa::path(get, path = "/api/v1/meta/rules/dry-run/{id}", tag = "automation",
    params(("id" = String, Path, description = "The dry run's id")),
    responses((status = 200, description = "Its state, progress and what it has found so far", body = DryRunJob),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/rules/dry-run/{id}")]
pub async fn get_dry_run(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let job = id(&path, "dry run")?;
    Ok(HttpResponse::Ok().json(st.rt.automation().dry_run_job(&p, job).await?))
}

/// A page of a dry run's matched records.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchesQuery {
    /// Where the page starts (the previous page's `next_offset`).
    pub offset: Option<u64>,
    /// Records per page, 1..200 (default 50).
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/meta/rules/dry-run/{id}/matches", tag = "automation",
    params(("id" = String, Path, description = "The dry run's id"), MatchesQuery),
    responses((status = 200, description = "Matched records with their titles and what the rule would do", body = DryRunMatches),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/rules/dry-run/{id}/matches")]
pub async fn dry_run_matches(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    q: web::Query<MatchesQuery>,
) -> ApiResult<HttpResponse> {
    let job = id(&path, "dry run")?;
    let (offset, limit) = (q.offset.unwrap_or(0), q.limit.unwrap_or(50));
    Ok(HttpResponse::Ok().json(
        st.rt
            .automation()
            .dry_run_matched(&p, job, offset, limit)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/meta/rules/dry-run/{id}/cancel", tag = "automation",
    params(("id" = String, Path, description = "The dry run's id")),
    responses((status = 200, description = "Stopped (or already finished); what it found so far stays readable", body = DryRunJob),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/rules/dry-run/{id}/cancel")]
pub async fn cancel_dry_run(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let job = id(&path, "dry run")?;
    Ok(HttpResponse::Ok().json(st.rt.automation().cancel_dry_run_job(&p, job).await?))
}

#[utoipa::path(get, path = "/api/v1/meta/rules/{id}", tag = "automation", params(("id" = String, Path, description = "Rule id or api_name")),
    responses((status = 200, description = "The rule", body = RuleView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/rules/{id}")]
pub async fn get_rule(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.automation().get_rule(&p, &path).await?))
}

#[utoipa::path(patch, path = "/api/v1/meta/rules/{id}", tag = "automation", params(("id" = String, Path)),
    request_body(content = RuleDocument, description = "The whole new rule document (a new version)"),
    responses((status = 200, description = "The saved rule", body = RuleView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/meta/rules/{id}")]
pub async fn update_rule(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.automation().update_rule(&p, &path, &b).await?))
}

#[utoipa::path(delete, path = "/api/v1/meta/rules/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/meta/rules/{id}")]
pub async fn delete_rule(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    st.rt.automation().delete_rule(&p, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunListParams {
    /// Only runs in this state.
    pub status: Option<RunStatus>,
    /// Default 100.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::params::limit_500")]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/automation/runs", tag = "automation", params(RunListParams),
    responses((status = 200, description = "The run log, newest first", body = RunList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/automation/runs")]
pub async fn list_runs(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<RunListParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        st.rt
            .automation()
            .list_runs(&p, q.status, q.limit.unwrap_or(100))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/automation/runs/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, description = "A run: inputs, progress, outcome and webhook deliveries", body = RunView),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/automation/runs/{id}")]
pub async fn get_run(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let rid = id(&path, "run")?;
    Ok(HttpResponse::Ok().json(st.rt.automation().get_run(&p, rid).await?))
}

#[utoipa::path(post, path = "/api/v1/automation/runs/{id}/retry", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, description = "The run, queued again", body = RunView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/automation/runs/{id}/retry")]
pub async fn retry_run(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let rid = id(&path, "run")?;
    Ok(HttpResponse::Ok().json(st.rt.automation().retry_run(&p, rid).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// Default 100.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::params::limit_500")]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/automation/deliveries", tag = "automation", params(LimitParams),
    responses((status = 200, description = "Webhook delivery log, newest first", body = DeliveryList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/automation/deliveries")]
pub async fn list_deliveries(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<LimitParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        st.rt
            .automation()
            .list_deliveries(&p, q.limit.unwrap_or(100))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/automation/deliveries/{id}/resend", tag = "automation", params(("id" = String, Path)),
    responses((status = 202, description = "A new run that sends the same body with the same idempotency key", body = RunView),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/automation/deliveries/{id}/resend")]
pub async fn resend_delivery(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let did = id(&path, "delivery")?;
    Ok(HttpResponse::Accepted().json(st.rt.automation().resend_delivery(&p, did).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// Only unread notifications.
    pub unread: Option<bool>,
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "crate::params::limit_200")]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "automation", params(NotificationParams),
    responses((status = 200, description = "The caller's in-app notifications, newest first", body = NotificationList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/notifications")]
pub async fn list_notifications(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<NotificationParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        st.rt
            .automation()
            .list_notifications(&p, q.unread.unwrap_or(false), q.limit.unwrap_or(50))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, description = "Marked read", body = NotificationRead), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/notifications/{id}/read")]
pub async fn mark_notification_read(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let nid = id(&path, "notification")?;
    Ok(HttpResponse::Ok().json(st.rt.automation().mark_notification_read(&p, nid).await?))
}

#[utoipa::path(get, path = "/api/v1/automation/manual/{object}", tag = "automation",
    params(("object" = String, Path)),
    responses((status = 200, description = "The manual rules of the object", body = ManualActions),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/automation/manual/{object}")]
pub async fn list_manual_actions(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.automation().manual_actions(&p, &path).await?))
}

#[utoipa::path(post, path = "/api/v1/automation/manual/{object}/{id}/{rule}", tag = "automation",
    params(("object" = String, Path), ("id" = String, Path), ("rule" = String, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "A retried request with the same key queues nothing new")),
    responses((status = 202, description = "The queued run", body = ManualRun),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/automation/manual/{object}/{id}/{rule}")]
pub async fn run_manual_action(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String, String)>,
    req: actix_web::HttpRequest,
) -> ApiResult<HttpResponse> {
    let (object, rid, rule) = path.into_inner();
    let rid = id(&rid, "record")?;
    let key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or_default().trim().to_owned());
    Ok(HttpResponse::Accepted().json(
        st.rt
            .automation()
            .run_manual(&p, &object, rid, &rule, key.as_deref())
            .await?,
    ))
}

/// Register the routes (inside the `/api/v1` scope). `check` and `dry-run` come before
/// `{id}` so they are not taken for rule names.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_rules)
        .service(create_rule)
        .service(check_rule)
        .service(dry_run_rule)
        .service(get_dry_run)
        .service(dry_run_matches)
        .service(cancel_dry_run)
        .service(get_rule)
        .service(update_rule)
        .service(delete_rule)
        .service(list_runs)
        .service(get_run)
        .service(retry_run)
        .service(list_deliveries)
        .service(resend_delivery)
        .service(list_notifications)
        .service(mark_notification_read)
        .service(list_manual_actions)
        .service(run_manual_action);
}

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi(
    paths(list_rules, create_rule, check_rule, dry_run_rule, get_dry_run, dry_run_matches, cancel_dry_run, get_rule, update_rule, delete_rule,
        list_runs, get_run, retry_run, list_deliveries, resend_delivery, list_notifications,
        mark_notification_read, list_manual_actions, run_manual_action),
    components(schemas(RuleDocument, DryRunBody, RuleView, RuleList, RuleCheck, RuleProblemView,
        DryRunReport, DryRunJob, DryRunProblem, DryRunMatch, DryRunMatches, RunView, RunList, RunStatus, RunProgress, DeliveryRow, DeliveryList,
        NotificationView, NotificationList, NotificationRead, ManualAction, ManualActions, ManualRun)),
    tags((name = "automation", description = "Rules (validation, formulas, defaults, triggers, roll-ups), \
        dry runs, the automation run log, webhook deliveries and in-app notifications"))
)]
pub struct AutomationDoc;
