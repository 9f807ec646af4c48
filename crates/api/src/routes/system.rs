//! Health, the caller's identity, the tenant's settings and usage, and the field-type catalogue the
//! designer's palette uses.

use actix_web::{HttpResponse, get, patch, web};
use weft_meta::FieldKind;

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, META_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};
use crate::schemas::{FieldTypes, Health, Me, TenantSettingsPatch};
use weft_runtime::tenants::TenantSettings;
use weft_runtime::usage::TenantUsage;

#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

#[utoipa::path(get, path = "/api/v1/me", tag = "system",
    responses((status = 200, description = "The authenticated principal", body = Me)),
    security(("api_key" = [])))]
#[get("/me")]
pub async fn me(Auth(p): Auth) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        tenant_id: p.tenant.0,
        user_id: p.user.0,
        is_admin: p.is_admin,
        department: p.department,
    })
}

#[utoipa::path(get, path = "/api/v1/meta/field-types", tag = "metadata",
    responses((status = 200, description = "The field types a form can use", body = FieldTypes)),
    security(("api_key" = [])))]
#[get("/meta/field-types")]
pub async fn field_types(_st: web::Data<AppState>, Auth(_p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(FieldTypes {
        types: FieldKind::TYPE_NAMES
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/tenant/settings", tag = "system",
    responses((status = 200, description = "`{time_zone}`", body = TenantSettings)),
    security(("api_key" = [])))]
#[get("/tenant/settings")]
pub async fn tenant_settings(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.tenants().tenant_settings(&p).await?))
}

#[utoipa::path(patch, path = "/api/v1/tenant/settings", tag = "system",
    request_body(content = TenantSettingsPatch, description = "`{time_zone?}`: an IANA zone such as Asia/Shanghai; `today()` in rules and formulas is the date there"),
    responses((status = 200, description = "`{time_zone}`", body = TenantSettings), (status = 403, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/tenant/settings")]
pub async fn update_tenant_settings(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.tenants().update_tenant_settings(&p, &b).await?))
}

#[utoipa::path(get, path = "/api/v1/tenant/usage", tag = "system",
    responses((status = 200, description = "Records per object, attachment bytes against the quota, and automation runs pending and failed in the last 24 hours (admins)", body = TenantUsage),
              (status = 403, description = "Not an admin (`admin_only`)", body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/tenant/usage")]
pub async fn tenant_usage(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.usage().tenant_usage(&p).await?))
}
