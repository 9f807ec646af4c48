//! `/api/v1/org…`: users, departments, roles; `/api/v1/audit`; `/api/v1/access/explain`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use weft_runtime::Error;
use weft_runtime::access::ports::AuditQuery;

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, META_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};
use crate::schemas::{DepartmentBody, RoleBody, UserBody};
use weft_runtime::access::audit::AuditPage;
use weft_runtime::access::views::{
    DepartmentList, DepartmentView, ManagerChain, RoleList, RoleView, UserList, UserView,
};
use weft_runtime::records::AccessExplanation;

fn id(s: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s).map_err(|_| Error::not_found(what.to_owned()))
}

#[utoipa::path(get, path = "/api/v1/org/users", tag = "org",
    responses((status = 200, description = "The user directory", body = UserList)), security(("api_key" = [])))]
#[get("/org/users")]
pub async fn list_users(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.org_admin().list_users(&p).await?))
}

#[utoipa::path(post, path = "/api/v1/org/users", tag = "org",
    request_body(content = UserBody, description = "{name, email, mobile, password, is_admin, departments: [{id, primary}], roles: [key]}"),
    responses((status = 201, body = UserView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/org/users")]
pub async fn create_user(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.org_admin().create_user(&p, &b).await?))
}

#[utoipa::path(patch, path = "/api/v1/org/users/{id}", tag = "org", params(("id" = String, Path)),
    request_body(content = UserBody, description = "Any of the create fields; status active|disabled"),
    responses((status = 200, body = UserView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/org/users/{id}")]
pub async fn update_user(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let uid = id(&path, "user")?;
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.org_admin().update_user(&p, uid, &b).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ManagerParams {
    /// 1 = direct manager (the default).
    #[param(minimum = 1, maximum = 20)]
    #[serde(default, deserialize_with = "crate::params::level_20")]
    pub level: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/org/users/{id}/manager", tag = "org", params(("id" = String, Path), ManagerParams),
    responses((status = 200, description = "The manager at the level, and the chain below it", body = ManagerChain),
              (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/org/users/{id}/manager")]
pub async fn manager_of(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    q: web::Query<ManagerParams>,
) -> ApiResult<HttpResponse> {
    let uid = id(&path, "user")?;
    Ok(HttpResponse::Ok().json(
        st.rt
            .org_admin()
            .manager_of(&p, uid, q.level.unwrap_or(1))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/org/departments", tag = "org",
    responses((status = 200, body = DepartmentList)), security(("api_key" = [])))]
#[get("/org/departments")]
pub async fn list_departments(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.org_admin().list_departments(&p).await?))
}

#[utoipa::path(post, path = "/api/v1/org/departments", tag = "org",
    request_body(content = DepartmentBody, description = "{name, parent_id, leader_id, sort}"),
    responses((status = 201, body = DepartmentView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/org/departments")]
pub async fn create_department(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.org_admin().save_department(&p, None, &b).await?))
}

#[utoipa::path(patch, path = "/api/v1/org/departments/{id}", tag = "org", params(("id" = String, Path)),
    request_body(content = DepartmentBody, description = "{name, parent_id, leader_id, sort}"),
    responses((status = 200, body = DepartmentView), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/org/departments/{id}")]
pub async fn update_department(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let did = id(&path, "department")?;
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.org_admin().save_department(&p, Some(did), &b).await?))
}

#[utoipa::path(delete, path = "/api/v1/org/departments/{id}", tag = "org", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/org/departments/{id}")]
pub async fn delete_department(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    st.rt
        .org_admin()
        .delete_department(&p, id(&path, "department")?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/org/roles", tag = "org",
    responses((status = 200, body = RoleList)), security(("api_key" = [])))]
#[get("/org/roles")]
pub async fn list_roles(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.org_admin().list_roles(&p).await?))
}

#[utoipa::path(post, path = "/api/v1/org/roles", tag = "org",
    request_body(content = RoleBody, description = "{key, label, description, permissions: {objects: {<object>: {create, read, update, delete, export, import, scope: own|department|department_tree|all, fields: {<field>: edit|read|hidden}}}}}"),
    responses((status = 201, body = RoleView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/org/roles")]
pub async fn create_role(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.org_admin().save_role(&p, None, &b).await?))
}

#[utoipa::path(patch, path = "/api/v1/org/roles/{id}", tag = "org", params(("id" = String, Path)),
    request_body(content = RoleBody, description = "label, description, permissions"),
    responses((status = 200, body = RoleView), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/org/roles/{id}")]
pub async fn update_role(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let rid = id(&path, "role")?;
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.org_admin().save_role(&p, Some(rid), &b).await?))
}

#[utoipa::path(delete, path = "/api/v1/org/roles/{id}", tag = "org", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/org/roles/{id}")]
pub async fn delete_role(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    st.rt
        .org_admin()
        .delete_role(&p, id(&path, "role")?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Action prefix, e.g. `auth.` or `meta.`.
    pub action: Option<String>,
    pub actor: Option<Uuid>,
    /// Entries before this sequence number (paging backwards).
    pub before: Option<i64>,
    /// Default 100.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::params::limit_500")]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "org", params(AuditParams),
    responses((status = 200, description = "Audit entries, newest first", body = AuditPage), (status = 403, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/audit")]
pub async fn audit_log(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    let q = AuditQuery {
        action_prefix: q.action.clone(),
        actor: q.actor,
        before_seq: q.before,
        limit: q.limit.unwrap_or(100),
    };
    Ok(HttpResponse::Ok().json(st.rt.audit().audit_log(&p, &q).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainParams {
    pub user: Uuid,
    pub object: String,
    pub record: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/access/explain", tag = "org", params(ExplainParams),
    responses((status = 200, description = "Why the user can (not) see or change the object or record", body = AccessExplanation),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/access/explain")]
pub async fn explain(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<ExplainParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        st.rt
            .records()
            .explain_access(&p, q.user, &q.object, q.record)
            .await?,
    ))
}
