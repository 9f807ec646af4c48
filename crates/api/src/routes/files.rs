//! `/api/v1/files`: upload attachment bytes, then reference the file id in attachment fields.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use weft_runtime::Error;
use weft_runtime::files::StorageUsage;

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, FILE_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file name to keep (e.g. `合同.pdf`).
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FileInfo {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// Raw bytes, at least one (documentation only: uploads and downloads are not JSON).
pub struct FileBytes;

impl utoipa::PartialSchema for FileBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .min_length(Some(1))
            .description(Some("Raw bytes, at least one"))
            .into()
    }
}

impl ToSchema for FileBytes {}

#[utoipa::path(post, path = "/api/v1/files", tag = "files",
    params(UploadParams),
    request_body(content = FileBytes, description = "The raw file bytes; Content-Type is kept", content_type = "application/octet-stream"),
    responses((status = 201, body = FileInfo), (status = 403, body = ErrorEnvelope),
              (status = 413, description = "Larger than 100 MiB, or over the caller's upload quota (`quota.user`) or the organization's storage quota (`quota.tenant`)", body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/files")]
pub async fn upload_file(
    st: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
    q: web::Query<UploadParams>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let bytes = body::read_limited(payload, FILE_LIMIT).await?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let row = st
        .rt
        .files()
        .upload_file(&p, q.name.as_deref().unwrap_or("file"), ct, &bytes)
        .await?;
    Ok(HttpResponse::Created().json(FileInfo {
        id: row.id,
        name: row.name,
        content_type: row.content_type,
        size: row.size,
        sha256: row.sha256,
    }))
}

#[utoipa::path(get, path = "/api/v1/files/usage", tag = "files",
    responses((status = 200, description = "Attachments stored by the organization and by the caller, against their quotas (bytes)", body = StorageUsage)),
    security(("api_key" = [])))]
#[get("/files/usage")]
pub async fn storage_usage(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.files().usage(&p).await?))
}

#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files",
    params(("id" = String, Path)),
    responses((status = 200, description = "The bytes, as an attachment, with the Content-Type they were uploaded with", body = FileBytes, content_type = "*/*"),
              (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/files/{id}")]
pub async fn download_file(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = Uuid::parse_str(&path).map_err(|_| Error::not_found("file"))?;
    let (row, bytes) = st.rt.files().download_file(&p, id).await?;
    let encoded: String = row
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.clone())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename*=UTF-8''{encoded}"),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .body(bytes))
}
