//! `/api/v1/meta/flows…` (approval flow definitions: drafts, validation, publishing, versions,
//! migrating running instances), `/api/v1/meta/calendars…` (business calendars for timers)
//! and `/api/v1/flows…` (instances, inboxes and actions on tasks and instances).

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::Deserialize;
use std::collections::HashMap;

use serde_json::Value as Json;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;
use weft_runtime::Error;
use weft_runtime::flows::FlowError;
use weft_runtime::flows::view_types::{
    CalendarList, CalendarView, CcEntry, CcView, DefProblem, FlowDefView, FlowList, FlowProblem,
    FlowValidation, FlowVersionList, FlowVersionView, GraphNode, Inbox, InboxItem, InstanceDetail,
    InstanceGraph, InstanceList, InstanceSummary, InstanceView, MigrationItem, MigrationReport,
    OpenTask, StartableFlow, StartableFlows, StartedInstance, TaskView, TimelineEntry,
};

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, META_LIMIT, RECORD_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};

fn id(s: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s).map_err(|_| Error::not_found(what.to_owned()))
}

// Request bodies as the OpenAPI document describes them. The handlers read the bounded body
// and the runtime parses it (every problem at its JSON pointer); these types document it.

/// A flow definition (`crm.workflow/1`, see crates/flow/README.md); no other key is allowed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDefinition {
    /// `crm.workflow/1`.
    pub schema: String,
    /// 1-64 characters of a-z, 0-9 and _, starting with a letter; on `PUT`, the key in the URL.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub key: String,
    /// Assigned when published; ignored here.
    #[schema(value_type = Option<u64>, nullable = false, maximum = 4294967295_u64)]
    pub version: Option<u32>,
    #[schema(value_type = Option<crate::params::TextOrLabel>, nullable = false)]
    pub name: Option<Json>,
    /// The object whose records run through the flow.
    #[schema(nullable = false, min_length = 1)]
    pub object: Option<String>,
    /// What starts the flow by itself (e.g. a record created or changed).
    #[schema(value_type = Option<Object>)]
    pub trigger: Option<Json>,
    /// Withdraw, resubmit, dedupe and self-approval policies, and the business calendar.
    #[schema(value_type = Option<Object>, nullable = false)]
    pub settings: Option<Json>,
    /// Nodes: start, approval, handle, cc, condition and parallel gateways, timers, actions,
    /// end.
    #[schema(value_type = Vec<Object>)]
    pub nodes: Vec<Json>,
    /// Edges between nodes, with conditions on gateway branches.
    #[schema(value_type = Vec<Object>)]
    pub edges: Vec<Json>,
    /// Editor positions: node id → `[x, y]`.
    #[schema(value_type = Option<HashMap<String, [f64; 2]>>, nullable = false)]
    pub layout: Option<Json>,
}

/// `POST /meta/flows/{key}/migrate`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateBody {
    /// Target version (default: the latest).
    pub to_version: Option<i32>,
    /// Old node id → new node id; unmapped nodes keep their id.
    #[schema(nullable = false)]
    pub mapping: Option<HashMap<String, String>>,
    /// Default: every running or incident instance on another version.
    pub instances: Option<Vec<Uuid>>,
    /// Report only (default false).
    #[schema(nullable = false)]
    pub dry_run: Option<bool>,
}

/// A business calendar; no other key is allowed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    /// 1-64 characters of a-z, 0-9, _ and -, starting with a letter; the name in the URL.
    #[schema(pattern = "^[a-z][a-z0-9_-]{0,63}$")]
    pub name: String,
    /// Text per language: `{zh, en}`.
    pub label: Option<HashMap<String, String>>,
    #[schema(value_type = crate::params::TimeZone)]
    pub time_zone: String,
    /// ISO weekdays off (1 = Monday … 7 = Sunday), each once, at least one day worked;
    /// default [6, 7].
    #[schema(nullable = false, max_items = 6, value_type = Option<Vec<crate::params::Weekday>>)]
    pub weekend: Option<Vec<u8>>,
    /// Days off: `YYYY-MM-DD` or a range `YYYY-MM-DD/YYYY-MM-DD`.
    #[schema(nullable = false)]
    pub holidays: Option<Vec<String>>,
    /// Make-up working days (调休), `YYYY-MM-DD`.
    #[schema(nullable = false)]
    pub workdays: Option<Vec<String>>,
}

/// `POST /flows/instances`: start a flow on a record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The flow's key.
    pub flow: String,
    pub record: Uuid,
    /// Users the initiator chose, per node that lets the initiator choose.
    #[schema(nullable = false)]
    pub chosen: Option<HashMap<String, Vec<Uuid>>>,
    /// Small variables for conditions: names up to 64 bytes, each value at most 4,000 bytes
    /// as JSON.
    #[schema(value_type = Option<Object>, nullable = false)]
    pub vars: Option<Json>,
}

/// Where added signers go (加签).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignerPlace {
    Before,
    After,
    Parallel,
}

/// What a user does to a task: `{"action": "<kind>", …}`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TaskActionBody {
    Approve {
        comment: Option<String>,
    },
    Reject {
        comment: Option<String>,
    },
    /// 退回 to an earlier node.
    Return {
        to_node: String,
        comment: Option<String>,
    },
    /// 转交.
    Transfer {
        to: Uuid,
        comment: Option<String>,
    },
    /// 委托.
    Delegate {
        to: Uuid,
    },
    /// 加签: 1 to 20 users.
    AddSigner {
        position: SignerPlace,
        users: Vec<Uuid>,
        comment: Option<String>,
    },
    Comment {
        text: String,
    },
    /// Resubmit after 退回 to the start.
    Resubmit {},
}

/// What a user does to an instance: `{"action": "<kind>", …}`; `retry`, `skip` and
/// `cancel` are for admins.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum InstanceActionBody {
    /// 撤回 by the initiator.
    Withdraw {
        comment: Option<String>,
    },
    /// 催办.
    Urge {
        comment: Option<String>,
    },
    Comment {
        text: String,
    },
    /// Re-run the node an incident is parked on.
    Retry {
        incident: u32,
    },
    /// Move past an incident (optionally along `edge`).
    Skip {
        incident: u32,
        edge: Option<String>,
    },
    /// Terminate the instance.
    Cancel {
        reason: Option<String>,
    },
}

#[utoipa::path(get, path = "/api/v1/meta/flows", tag = "flows",
    responses((status = 200, description = "Flow drafts with their latest published version", body = FlowList),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/flows")]
pub async fn list_flows(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.workflows().list_flows(&p).await?))
}

#[utoipa::path(post, path = "/api/v1/meta/flows", tag = "flows",
    request_body(content = FlowDefinition, description = "A flow definition (`crm.workflow/1`, see crates/flow/README.md)"),
    responses((status = 201, description = "The saved draft", body = FlowDefView),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/flows")]
pub async fn create_flow(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.workflows().save_flow(&p, None, &b).await?))
}

#[utoipa::path(get, path = "/api/v1/meta/flows/{key}", tag = "flows", params(("key" = String, Path)),
    responses((status = 200, description = "The draft", body = FlowDefView),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/flows/{key}")]
pub async fn get_flow(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.workflows().get_flow(&p, &path).await?))
}

#[utoipa::path(put, path = "/api/v1/meta/flows/{key}", tag = "flows", params(("key" = String, Path)),
    request_body(content = FlowDefinition, description = "The whole draft definition"),
    responses((status = 200, description = "The saved draft", body = FlowDefView),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[put("/meta/flows/{key}")]
pub async fn update_flow(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.workflows().save_flow(&p, Some(&path), &b).await?))
}

#[utoipa::path(delete, path = "/api/v1/meta/flows/{key}", tag = "flows", params(("key" = String, Path)),
    responses((status = 204, description = "Deleted"),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/meta/flows/{key}")]
pub async fn delete_flow(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    st.rt.workflows().delete_flow(&p, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/meta/flows/{key}/validate", tag = "flows", params(("key" = String, Path)),
    responses((status = 200, description = "Every problem of the draft at once", body = FlowValidation),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/flows/{key}/validate")]
pub async fn validate_flow(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.workflows().validate_flow(&p, &path).await?))
}

#[utoipa::path(post, path = "/api/v1/meta/flows/{key}/publish", tag = "flows", params(("key" = String, Path)),
    responses((status = 201, description = "The new immutable version (running instances keep theirs)", body = FlowVersionView),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/flows/{key}/publish")]
pub async fn publish_flow(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(st.rt.workflows().publish_flow(&p, &path).await?))
}

#[utoipa::path(get, path = "/api/v1/meta/flows/{key}/versions", tag = "flows", params(("key" = String, Path)),
    responses((status = 200, description = "The published versions, with their definitions", body = FlowVersionList),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/flows/{key}/versions")]
pub async fn flow_versions(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.workflows().list_flow_versions(&p, &path).await?))
}

#[utoipa::path(post, path = "/api/v1/meta/flows/{key}/migrate", tag = "flows", params(("key" = String, Path)),
    request_body(content = MigrateBody, description = "`{to_version?: n (default latest), mapping?: {old node: new node}, instances?: [uuid] (default every running or incident instance on an older version), dry_run?: bool}`"),
    responses((status = 200, description = "Per instance: where it moves or why it cannot; applying is all-or-nothing", body = MigrationReport),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/flows/{key}/migrate")]
pub async fn migrate_instances(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(
        st.rt
            .workflows()
            .migrate_flow_instances(&p, &path, &b)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/meta/calendars", tag = "flows",
    responses((status = 200, description = "The tenant's calendars and the built-in ones", body = CalendarList),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/calendars")]
pub async fn list_calendars(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.calendars().list_calendars(&p).await?))
}

#[utoipa::path(get, path = "/api/v1/meta/calendars/{name}", tag = "flows", params(("name" = String, Path)),
    responses((status = 200, description = "The calendar", body = CalendarView),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/calendars/{name}")]
pub async fn get_calendar(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.calendars().get_calendar(&p, &path).await?))
}

#[utoipa::path(put, path = "/api/v1/meta/calendars/{name}", tag = "flows", params(("name" = String, Path)),
    request_body(content = CalendarBody, description = "`{name, label?, time_zone, weekend?: [1-7] (default [6, 7]), holidays?: [\"YYYY-MM-DD\" | \"YYYY-MM-DD/YYYY-MM-DD\"], workdays?: [\"YYYY-MM-DD\"] (调休 make-up working days)}`"),
    responses((status = 200, description = "Replaced", body = CalendarView), (status = 201, description = "Created", body = CalendarView),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[put("/meta/calendars/{name}")]
pub async fn put_calendar(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    let (row, created) = st.rt.calendars().put_calendar(&p, &path, &b).await?;
    Ok(if created {
        HttpResponse::Created().json(row)
    } else {
        HttpResponse::Ok().json(row)
    })
}

#[utoipa::path(delete, path = "/api/v1/meta/calendars/{name}", tag = "flows", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/meta/calendars/{name}")]
pub async fn delete_calendar(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    st.rt.calendars().delete_calendar(&p, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/flows/instances", tag = "flows",
    request_body(content = StartBody, description = "`{flow: key, record: uuid, chosen?: {node: [user]}, vars?: {}}`"),
    responses((status = 201, description = "The started instance", body = StartedInstance),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/flows/instances")]
pub async fn start_instance(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, RECORD_LIMIT).await?;
    let out = st
        .offload(move |rt| async move { rt.workflows().start_flow(&p, &b).await })
        .await??;
    Ok(HttpResponse::Created().json(out))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstancesParams {
    /// Default: running and incident.
    #[param(value_type = Option<crate::params::InstanceStatusParam>)]
    pub status: Option<String>,
    /// With `record`: every instance on that record, for anyone who may read it.
    pub object: Option<String>,
    /// A record id (needs `object`).
    pub record: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/flows/instances", tag = "flows", params(InstancesParams),
    responses((status = 200, description = "Admin view of instances by status; or, with `object` and `record`, the record's approvals for anyone who may read it", body = InstanceList),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/flows/instances")]
pub async fn list_instances(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<InstancesParams>,
) -> ApiResult<HttpResponse> {
    if let Some(rec) = q.record.as_deref() {
        let Some(object) = q.object.as_deref() else {
            return Err(FlowError::RecordWithoutObject.into());
        };
        let id = Uuid::parse_str(rec).map_err(|_| Error::not_found("record"))?;
        return Ok(HttpResponse::Ok().json(
            st.rt
                .workflows()
                .record_flow_instances(&p, object, id)
                .await?,
        ));
    }
    Ok(HttpResponse::Ok().json(
        st.rt
            .workflows()
            .list_flow_instances(&p, q.status.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/flows/instances/{id}", tag = "flows", params(("id" = String, Path)),
    responses((status = 200, description = "Status, graph with the current position, tasks, CC and timeline", body = InstanceDetail),
              (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/flows/instances/{id}")]
pub async fn get_instance(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id(&path, "flow instance")?;
    Ok(HttpResponse::Ok().json(st.rt.workflows().flow_instance_view(&p, id).await?))
}

#[utoipa::path(post, path = "/api/v1/flows/instances/{id}/actions", tag = "flows", params(("id" = String, Path)),
    request_body(content = InstanceActionBody, description = "`{action: withdraw|urge|comment, comment?, text?}`; admins also `retry {incident}`, `skip {incident, edge?}`, `cancel {reason?}`"),
    responses((status = 200, description = "The instance after the action", body = InstanceSummary),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/flows/instances/{id}/actions")]
pub async fn act_on_instance(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = id(&path, "flow instance")?;
    let b = body::json(payload, RECORD_LIMIT).await?;
    let out = st
        .offload(move |rt| async move { rt.workflows().act_on_instance(&p, id, &b).await })
        .await??;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartableParams {
    /// The object whose records would be submitted.
    pub object: String,
}

#[utoipa::path(get, path = "/api/v1/flows/startable", tag = "flows", params(StartableParams),
    responses((status = 200, description = "Published flows of the object the caller may start", body = StartableFlows),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/flows/startable")]
pub async fn startable_flows(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<StartableParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.workflows().startable_flows(&p, &q.object).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TasksParams {
    /// todo (待我审批, the default) | done | started (我发起的) | cc (抄送我的)
    #[serde(rename = "box")]
    #[param(value_type = Option<crate::params::TaskBox>)]
    pub which: Option<String>,
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "crate::params::limit_200")]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/flows/tasks", tag = "flows", params(TasksParams),
    responses((status = 200, description = "An inbox: todo, done, started or cc", body = Inbox),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/flows/tasks")]
pub async fn list_tasks(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<TasksParams>,
) -> ApiResult<HttpResponse> {
    let which = q.which.as_deref().unwrap_or("todo");
    Ok(HttpResponse::Ok().json(st.rt.workflows().flow_inbox(&p, which, q.limit).await?))
}

#[utoipa::path(post, path = "/api/v1/flows/tasks/{id}/actions", tag = "flows", params(("id" = String, Path)),
    request_body(content = TaskActionBody, description = "`{action: approve|reject|return|transfer|delegate|add_signer|comment|resubmit, comment?, to_node?, to?, position?: before|after|parallel, users?, text?}`"),
    responses((status = 200, description = "The instance after the action", body = InstanceSummary),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/flows/tasks/{id}/actions")]
pub async fn act_on_task(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = id(&path, "task")?;
    let b = body::json(payload, RECORD_LIMIT).await?;
    let out = st
        .offload(move |rt| async move { rt.workflows().act_on_task(&p, id, &b).await })
        .await??;
    Ok(HttpResponse::Ok().json(out))
}

/// Register the flow routes inside `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_flows)
        .service(create_flow)
        .service(validate_flow)
        .service(publish_flow)
        .service(flow_versions)
        .service(get_flow)
        .service(update_flow)
        .service(delete_flow)
        .service(migrate_instances)
        .service(list_calendars)
        .service(get_calendar)
        .service(put_calendar)
        .service(delete_calendar)
        .service(start_instance)
        .service(startable_flows)
        .service(list_instances)
        .service(get_instance)
        .service(act_on_instance)
        .service(list_tasks)
        .service(act_on_task);
}

/// The flow part of the OpenAPI document (merged into [`crate::openapi::ApiDoc`]).
#[derive(OpenApi)]
#[openapi(
    paths(list_flows, create_flow, get_flow, update_flow, delete_flow, validate_flow, publish_flow,
        flow_versions, start_instance, list_instances, get_instance, act_on_instance, list_tasks,
        act_on_task, startable_flows, migrate_instances, list_calendars, get_calendar, put_calendar,
        delete_calendar),
    components(schemas(FlowDefinition, MigrateBody, CalendarBody, StartBody, SignerPlace,
        TaskActionBody, InstanceActionBody, CalendarList, CalendarView, CcEntry, CcView, DefProblem,
        FlowDefView, FlowList, FlowProblem, FlowValidation, FlowVersionList, FlowVersionView,
        GraphNode, Inbox, InboxItem, InstanceDetail, InstanceGraph, InstanceList, InstanceSummary,
        InstanceView, MigrationItem, MigrationReport, OpenTask, StartableFlow, StartableFlows,
        StartedInstance, TaskView, TimelineEntry)),
    tags((name = "flows", description = "Approval flows: definitions, versions, instances, inboxes and task actions"))
)]
pub struct FlowsDoc;
