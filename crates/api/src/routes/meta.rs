//! `/api/v1/meta/objects…`: objects and fields defined at runtime.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use weft_meta::WriteMode;
use weft_runtime::Error;

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, META_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};
use crate::schemas::ObjectPatch;
use weft_runtime::docs::{FieldDefinition, JsonSchemaDoc, ObjectDefinition};
use weft_runtime::metadata::{FieldRemoved, MetaHistory, ObjectList, TypeChange};
use weft_runtime::ports::JobRow;

#[utoipa::path(get, path = "/api/v1/meta/objects", tag = "metadata",
    responses((status = 200, description = "All objects of the tenant", body = ObjectList)),
    security(("api_key" = [])))]
#[get("/meta/objects")]
pub async fn list_objects(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.metadata().list_objects(&p).await?))
}

#[utoipa::path(post, path = "/api/v1/meta/objects", tag = "metadata",
    request_body(content = ObjectDefinition, description = "An object definition (`weft.object/1`) with its fields"),
    responses((status = 201, body = ObjectDefinition), (status = 400, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/objects")]
pub async fn create_object(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.metadata().create_object(&p, &b).await?))
}

#[utoipa::path(get, path = "/api/v1/meta/objects/{object}", tag = "metadata",
    params(("object" = String, Path)),
    responses((status = 200, body = ObjectDefinition), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/objects/{object}")]
pub async fn get_object(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.metadata().get_object(&p, &path).await?))
}

#[utoipa::path(patch, path = "/api/v1/meta/objects/{object}", tag = "metadata",
    params(("object" = String, Path)),
    request_body(content = ObjectPatch, description = "label, plural_label, description, name_field, layout (sections of fields)"),
    responses((status = 200, body = ObjectDefinition), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/meta/objects/{object}")]
pub async fn update_object(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.metadata().update_object(&p, &path, &b).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteObjectParams {
    /// Delete the object even when it has records.
    pub force: Option<bool>,
}

#[utoipa::path(delete, path = "/api/v1/meta/objects/{object}", tag = "metadata",
    params(("object" = String, Path), DeleteObjectParams),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/meta/objects/{object}")]
pub async fn delete_object(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    q: web::Query<DeleteObjectParams>,
) -> ApiResult<HttpResponse> {
    st.rt
        .metadata()
        .delete_object(&p, &path, q.force.unwrap_or(false))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SchemaParams {
    /// `create` (default) or `patch`.
    #[param(value_type = Option<crate::params::SchemaMode>)]
    pub mode: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/meta/objects/{object}/schema", tag = "metadata",
    params(("object" = String, Path), SchemaParams),
    responses((status = 200, description = "JSON Schema (2020-12) of record writes", body = JsonSchemaDoc),
              (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/meta/objects/{object}/schema")]
pub async fn object_schema(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    q: web::Query<SchemaParams>,
) -> ApiResult<HttpResponse> {
    let mode = match q.mode.as_deref() {
        None | Some("create") => WriteMode::Create,
        Some("patch") => WriteMode::Patch,
        Some(_) => return Err(crate::error::RequestError::BadMode.into()),
    };
    Ok(HttpResponse::Ok().json(st.rt.metadata().object_schema(&p, &path, mode).await?))
}

#[utoipa::path(get, path = "/api/v1/meta/objects/{object}/history", tag = "metadata",
    params(("object" = String, Path)),
    responses((status = 200, description = "Metadata revisions, newest first", body = MetaHistory)),
    security(("api_key" = [])))]
#[get("/meta/objects/{object}/history")]
pub async fn object_history(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.metadata().meta_history(&p, &path).await?))
}

#[utoipa::path(post, path = "/api/v1/meta/objects/{object}/fields", tag = "metadata",
    params(("object" = String, Path)),
    request_body(content = FieldDefinition, description = "A field definition"),
    responses((status = 201, body = FieldDefinition), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/objects/{object}/fields")]
pub async fn add_field(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.metadata().add_field(&p, &path, &b).await?))
}

#[utoipa::path(patch, path = "/api/v1/meta/objects/{object}/fields/{field}", tag = "metadata",
    params(("object" = String, Path), ("field" = String, Path)),
    request_body(content = FieldDefinition, description = "Options to change (label, required, unique, options…)"),
    responses((status = 200, body = FieldDefinition), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/meta/objects/{object}/fields/{field}")]
pub async fn update_field(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (object, field) = path.into_inner();
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(
        st.rt
            .metadata()
            .update_field(&p, &object, &field, &b)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteFieldParams {
    /// Purge an already deleted field: its data is dropped for good.
    pub purge: Option<bool>,
}

#[utoipa::path(delete, path = "/api/v1/meta/objects/{object}/fields/{field}", tag = "metadata",
    params(("object" = String, Path), ("field" = String, Path), DeleteFieldParams),
    responses((status = 200, body = FieldRemoved), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/meta/objects/{object}/fields/{field}")]
pub async fn delete_field(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    q: web::Query<DeleteFieldParams>,
) -> ApiResult<HttpResponse> {
    let (object, field) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        st.rt
            .metadata()
            .delete_field(&p, &object, &field, q.purge.unwrap_or(false))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/meta/objects/{object}/fields/{field}/restore", tag = "metadata",
    params(("object" = String, Path), ("field" = String, Path)),
    responses((status = 200, body = FieldDefinition), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/objects/{object}/fields/{field}/restore")]
pub async fn restore_field(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (object, field) = path.into_inner();
    Ok(HttpResponse::Ok().json(st.rt.metadata().restore_field(&p, &object, &field).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeTypeParams {
    /// Only count the values that would not convert.
    pub dry_run: Option<bool>,
    /// `null` stores values that do not convert as empty; `fail` (default) stops the job.
    #[param(value_type = Option<crate::params::OnInvalid>)]
    pub on_invalid: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/meta/objects/{object}/fields/{field}/change-type", tag = "metadata",
    params(("object" = String, Path), ("field" = String, Path), ChangeTypeParams),
    request_body(content = FieldDefinition, description = "The field's new type and options"),
    responses((status = 200, description = "Dry-run counts, or the job that rewrites the column", body = TypeChange),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/meta/objects/{object}/fields/{field}/change-type")]
pub async fn change_field_type(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    q: web::Query<ChangeTypeParams>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (object, field) = path.into_inner();
    let b = body::json(payload, META_LIMIT).await?;
    let null = match q.on_invalid.as_deref() {
        None | Some("fail") => false,
        Some("null") => true,
        Some(_) => {
            return Err(crate::error::RequestError::BadOnInvalid.into());
        }
    };
    let out = st
        .rt
        .metadata()
        .change_field_type(&p, &object, &field, &b, q.dry_run.unwrap_or(false), null)
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "metadata",
    params(("id" = String, Path)),
    responses((status = 200, description = "Job status and progress", body = JobRow), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/jobs/{id}")]
pub async fn get_job(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = Uuid::parse_str(&path).map_err(|_| Error::not_found("job"))?;
    Ok(HttpResponse::Ok().json(st.rt.jobs().get_job(&p, id).await?))
}
