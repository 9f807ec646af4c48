//! Health, the caller's identity, and the field-type catalogue the designer's palette uses.

use actix_web::{HttpResponse, get, web};
use serde_json::json;
use weft_meta::FieldKind;

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;

#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The process is up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/api/v1/me", tag = "system",
    responses((status = 200, description = "The authenticated principal", body = Object)),
    security(("api_key" = [])))]
#[get("/me")]
pub async fn me(Auth(p): Auth) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "tenant_id": p.tenant, "user_id": p.user, "is_admin": p.is_admin, "department": p.department
    }))
}

#[utoipa::path(get, path = "/api/v1/meta/field-types", tag = "metadata",
    responses((status = 200, description = "The field types a form can use", body = Object)),
    security(("api_key" = [])))]
#[get("/meta/field-types")]
pub async fn field_types(_st: web::Data<AppState>, Auth(_p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(json!({ "types": FieldKind::TYPE_NAMES })))
}
