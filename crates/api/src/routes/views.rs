//! `/api/v1/views…`: saved list views (filter, sort, columns, page size, kanban/calendar mode),
//! personal or shared, and each user's default view per object.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use weft_runtime::Error;

use crate::AppState;
use crate::auth::Auth;
use crate::body::{self, META_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};
use crate::schemas::{NewView, ViewPatch};
use weft_runtime::saved_views::{SavedView, SavedViewList};

fn view_id(s: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(s).map_err(|_| Error::not_found("view"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViewListParams {
    /// Only the views of this object.
    pub object: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/views", tag = "views", params(ViewListParams),
    responses((status = 200, description = "`{views: [...], default_view}`: the caller's own views and the shared ones", body = SavedViewList),
              (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/views")]
pub async fn list_views(
    st: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<ViewListParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.views().list_views(&p, q.object.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/v1/views", tag = "views",
    request_body(content = NewView, description = "`{object, name, shared?, default?, definition: {filter?, sort?, \
        columns?, page_size?, mode? (list | kanban | calendar), group_field?}}`; filter and sort in the query \
        language of `POST /data/{object}/query`. Only tenant admins create shared views."),
    responses((status = 201, body = SavedView), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/views")]
pub async fn create_view(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Created().json(st.rt.views().create_view(&p, &b).await?))
}

#[utoipa::path(get, path = "/api/v1/views/{id}", tag = "views", params(("id" = String, Path)),
    responses((status = 200, body = SavedView), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/views/{id}")]
pub async fn get_view(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.views().get_view(&p, view_id(&path)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/views/{id}", tag = "views", params(("id" = String, Path)),
    request_body(content = ViewPatch, description = "Any of `name`, `shared`, `definition` (replaced whole), \
        `default` (the caller's default view of the object), `version` (refused with 409 when stale)"),
    responses((status = 200, body = SavedView), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[patch("/views/{id}")]
pub async fn update_view(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let id = view_id(&path)?;
    let b = body::json(payload, META_LIMIT).await?;
    Ok(HttpResponse::Ok().json(st.rt.views().update_view(&p, id, &b).await?))
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "views", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/views/{id}")]
pub async fn delete_view(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    st.rt.views().delete_view(&p, view_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Register the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_views)
        .service(create_view)
        .service(get_view)
        .service(update_view)
        .service(delete_view);
}
