//! `/api/v1/data/{object}…`: records of any object.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use weft_runtime::Error;
use weft_runtime::records::Idempotency;

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, BULK_LIMIT, RECORD_LIMIT};
use crate::error::{ApiError, ApiResult, ErrorEnvelope, RequestError};
use crate::schemas::{QueryBody, TransferBody};
use weft_runtime::docs::{Record, RecordInput};
use weft_runtime::records::{
    BulkOutcome, DeleteOutcome, History, Purged, RecordPage, Relationships, Restored,
};

fn record_id(s: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s).map_err(|_| Error::not_found("record"))
}

/// `If-Match: "3"` (also W/"3" or 3) → 3.
fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or_default().trim();
    let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
    s.parse::<i64>()
        .map(Some)
        .map_err(|_| RequestError::BadIfMatch.into())
}

fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// Body of a bulk call.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct BulkBody {
    /// 1 to 1,000 records. For updates each carries its `id` (and optionally `version`).
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 1000)]
    pub records: Vec<Json>,
    /// Reject the whole call when any record has a problem (default true).
    #[serde(default = "yes")]
    pub all_or_none: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Sort keys, comma separated; `-` for descending (e.g. `-amount,name`).
    pub sort: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Fields to return, comma separated.
    pub fields: Option<String>,
    /// Lookup fields to embed under `_expand`, comma separated.
    pub expand: Option<String>,
    /// A JSON filter (same language as the query endpoint).
    #[param(schema_with = crate::params::json_filter)]
    pub filter: Option<String>,
    pub count: Option<bool>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpandParams {
    /// Lookup fields to embed under `_expand`, comma separated.
    pub expand: Option<String>,
}

fn split(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .map(|x| {
            x.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn list_body(q: &ListParams) -> Result<Json, ApiError> {
    let mut m = serde_json::Map::new();
    let sort = split(&q.sort);
    if !sort.is_empty() {
        m.insert("sort".into(), json!(sort));
    }
    if let Some(l) = q.limit {
        m.insert("limit".into(), json!(l));
    }
    if let Some(c) = &q.cursor {
        m.insert("cursor".into(), json!(c));
    }
    if q.fields.is_some() {
        m.insert("fields".into(), json!(split(&q.fields)));
    }
    let ex = split(&q.expand);
    if !ex.is_empty() {
        m.insert("expand".into(), json!(ex));
    }
    // An empty `filter=` (a form field left blank) is no filter.
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let v: Json =
            serde_json::from_str(f).map_err(|e| RequestError::MalformedFilter(e.to_string()))?;
        m.insert("filter".into(), v);
    }
    if let Some(c) = q.count {
        m.insert("count".into(), json!(c));
    }
    Ok(Json::Object(m))
}

#[utoipa::path(post, path = "/api/v1/data/{object}", tag = "records",
    params(("object" = String, Path, description = "Object API name"),
           ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
            description = "Replays the first response for 24 h: 1 to 255 visible ASCII characters, no spaces")),
    request_body(content = RecordInput, description = "Field values"),
    responses((status = 201, description = "Created record", body = Record),
              (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/data/{object}")]
pub async fn create_record(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let raw = body::read_limited(payload, RECORD_LIMIT).await?;
    let b = body::parse(&raw)?;
    let idem = match req.headers().get("idempotency-key") {
        Some(v) => {
            let key = v.to_str().unwrap_or_default().to_owned();
            let visible = |b: u8| (b'!'..=b'~').contains(&b);
            if key.is_empty() || key.len() > 255 || !key.bytes().all(visible) {
                return Err(RequestError::BadIdempotencyKey.into());
            }
            let fp = weft_runtime::ids::sha256_bytes_hex(&[path.as_bytes(), b"\n", &raw].concat());
            Some(Idempotency {
                key,
                fingerprint: fp,
            })
        }
        None => None,
    };
    let object = path.into_inner();
    let created = st
        .offload(move |rt| async move { rt.records().create(&p, &object, &b, idem.as_ref()).await })
        .await??;
    let (status, out) = (created.status, created.record);
    let version = out.get("version").and_then(Json::as_i64).unwrap_or(1);
    Ok(HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::CREATED),
    )
    .insert_header(etag(version))
    .json(out))
}

#[utoipa::path(get, path = "/api/v1/data/{object}", tag = "records",
    params(("object" = String, Path, description = "Object API name"), ListParams),
    responses((status = 200, body = RecordPage), (status = 400, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/data/{object}")]
pub async fn list_records(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    q: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let b = list_body(&q)?;
    Ok(HttpResponse::Ok().json(st.rt.records().query(&p, &path, &b).await?))
}

#[utoipa::path(post, path = "/api/v1/data/{object}/query", tag = "records",
    params(("object" = String, Path, description = "Object API name")),
    request_body(content = QueryBody, description = "`{filter, sort, limit, cursor, fields, expand, count}`"),
    responses((status = 200, body = RecordPage), (status = 400, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/data/{object}/query")]
pub async fn query_records(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, RECORD_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.records().query(&p, &path, &b).await?))
}

fn bulk_body(v: Json) -> Result<BulkBody, Error> {
    let b: BulkBody = serde_json::from_value(v).map_err(|e| {
        Error::one(
            "/records",
            "type",
            format!("expected {{records: [...], all_or_none}}: {e}"),
        )
    })?;
    // Each item is a record body: anything else makes the whole call malformed, as the
    // document states (not a per-record failure inside a 200).
    let problems: Vec<weft_meta::Problem> = b
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_object())
        .map(|(i, _)| {
            weft_meta::Problem::new(format!("/records/{i}"), "type", "a record is a JSON object")
                .zh("每条记录都应是 JSON 对象")
        })
        .collect();
    if problems.is_empty() {
        Ok(b)
    } else {
        Err(Error::Validation(problems))
    }
}

#[utoipa::path(post, path = "/api/v1/data/{object}/bulk", tag = "records",
    params(("object" = String, Path, description = "Object API name")),
    request_body = BulkBody,
    responses((status = 200, body = BulkOutcome), (status = 404, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/data/{object}/bulk")]
pub async fn bulk_create(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = bulk_body(body::json(payload, BULK_LIMIT).await?)?;
    let object = path.into_inner();
    let out = st
        .offload(move |rt| async move {
            rt.records()
                .create_many(&p, &object, &b.records, b.all_or_none)
                .await
        })
        .await??;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(patch, path = "/api/v1/data/{object}/bulk", tag = "records",
    params(("object" = String, Path, description = "Object API name")),
    request_body = BulkBody,
    responses((status = 200, body = BulkOutcome), (status = 404, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/data/{object}/bulk")]
pub async fn bulk_update(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = bulk_body(body::json(payload, BULK_LIMIT).await?)?;
    let object = path.into_inner();
    let out = st
        .offload(move |rt| async move {
            rt.records()
                .update_many(&p, &object, &b.records, b.all_or_none)
                .await
        })
        .await??;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/data/{object}/recycle-bin", tag = "records",
    params(("object" = String, Path, description = "Object API name"), ListParams),
    responses((status = 200, body = RecordPage), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/data/{object}/recycle-bin")]
pub async fn recycle_bin(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    q: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let b = list_body(&q)?;
    Ok(HttpResponse::Ok().json(st.rt.records().recycle_bin(&p, &path, &b).await?))
}

#[utoipa::path(get, path = "/api/v1/data/{object}/{id}", tag = "records",
    params(("object" = String, Path), ("id" = String, Path, description = "Record id"), ExpandParams),
    responses((status = 200, description = "The record; ETag carries its version", body = Record),
              (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/data/{object}/{id}")]
pub async fn get_record(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    q: web::Query<ExpandParams>,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    let id = record_id(&id)?;
    let got = st
        .rt
        .records()
        .get(&p, &object, id, &split(&q.expand))
        .await?;
    let (version, out) = (got.version, got.record);
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(out))
}

#[utoipa::path(patch, path = "/api/v1/data/{object}/{id}", tag = "records",
    params(("object" = String, Path), ("id" = String, Path),
           ("If-Match" = Option<String>, Header, description = "The version you last read; 412 when stale")),
    request_body(content = RecordInput, description = "Fields to change"),
    responses((status = 200, body = Record), (status = 400, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 412, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/data/{object}/{id}")]
pub async fn update_record(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    let id = record_id(&id)?;
    let version = if_match(&req)?;
    let b = body::json(payload, RECORD_LIMIT).await?;
    let out = st
        .offload(move |rt| async move { rt.records().update(&p, &object, id, &b, version).await })
        .await??;
    let v = out.get("version").and_then(Json::as_i64).unwrap_or(0);
    Ok(HttpResponse::Ok().insert_header(etag(v)).json(out))
}

#[utoipa::path(delete, path = "/api/v1/data/{object}/{id}", tag = "records",
    params(("object" = String, Path), ("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "Moved to the recycle bin (with cascades)", body = DeleteOutcome),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
              (status = 412, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/data/{object}/{id}")]
pub async fn delete_record(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    let id = record_id(&id)?;
    let version = if_match(&req)?;
    let out = st
        .offload(move |rt| async move { rt.records().delete(&p, &object, id, version).await })
        .await??;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/data/{object}/{id}/restore", tag = "records",
    params(("object" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Restored), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/data/{object}/{id}/restore")]
pub async fn restore_record(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        st.rt
            .records()
            .restore(&p, &object, record_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/data/{object}/{id}/purge", tag = "records",
    params(("object" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Purged), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/data/{object}/{id}/purge")]
pub async fn purge_record(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(st.rt.records().purge(&p, &object, record_id(&id)?).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Entries to return (default 100).
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::params::limit_500")]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/data/{object}/{id}/history", tag = "records",
    params(("object" = String, Path), ("id" = String, Path), HistoryParams),
    responses((status = 200, description = "Change log, newest first", body = History), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/data/{object}/{id}/history")]
pub async fn record_history(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    q: web::Query<HistoryParams>,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    let out = st
        .rt
        .records()
        .history(&p, &object, record_id(&id)?, q.limit.unwrap_or(100))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/v1/data/{object}/{id}/related", tag = "records",
    params(("object" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Objects that point here, with counts", body = Relationships),
              (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/data/{object}/{id}/related")]
pub async fn relationships(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        st.rt
            .records()
            .relationships(&p, &object, record_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/data/{object}/{id}/related/{child}/{field}", tag = "records",
    params(("object" = String, Path), ("id" = String, Path), ("child" = String, Path),
           ("field" = String, Path, description = "The child's lookup field"), ListParams),
    responses((status = 200, body = RecordPage), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/data/{object}/{id}/related/{child}/{field}")]
pub async fn related_records(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String, String, String)>,
    q: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let (object, id, child, field) = path.into_inner();
    let b = list_body(&q)?;
    let out = st
        .rt
        .records()
        .related(&p, &object, record_id(&id)?, &child, &field, &b)
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/v1/data/{object}/{id}/transfer", tag = "records",
    params(("object" = String, Path), ("id" = String, Path)),
    request_body(content = TransferBody, description = "{owner, department?}: the new owner (and department; by default the owner's primary one)"),
    responses((status = 200, body = Record), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/data/{object}/{id}/transfer")]
pub async fn transfer_record(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (object, id) = path.into_inner();
    let b = body::json(payload, RECORD_LIMIT).await?;
    Ok(HttpResponse::Ok().json(
        st.rt
            .records()
            .transfer(&p, &object, record_id(&id)?, &b)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/data/{object}/export", tag = "records",
    params(("object" = String, Path), ListParams),
    responses((status = 200, description = "CSV (UTF-8 with BOM), at most 100,000 rows", content_type = "text/csv"),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/data/{object}/export")]
pub async fn export_records(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    q: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    let mut b = list_body(&q)?;
    if let Some(m) = b.as_object_mut() {
        m.remove("limit");
        m.remove("cursor");
        m.remove("count");
        m.remove("expand");
    }
    let bytes = st.rt.records().export(&p, &path, &b).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.csv\"", path.as_str()),
        ))
        .body(bytes))
}
