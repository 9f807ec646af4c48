//! `/api/v1/auth…`: login, logout, the current session and API keys.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use weft_meta::TenantId;
use weft_runtime::Error;

use crate::AppState;
use crate::auth::{Auth, SESSION_COOKIE};
use crate::body::{self, RECORD_LIMIT};
use crate::error::{ApiResult, ErrorEnvelope};
use crate::schemas::{LoginResult, LoginUser};
use weft_runtime::access::auth::{NewApiKey, SessionView};
use weft_runtime::access::views::ApiKeyList;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// 1 to 254 characters.
    #[schema(min_length = 1, max_length = 254, pattern = r"\S")]
    pub email: String,
    pub password: String,
    /// Needed only when the email belongs to several organizations.
    pub tenant_id: Option<Uuid>,
}

/// The browser's device cookie (see `weft_runtime::access::throttle`): sent only to the
/// sign-in routes.
const DEVICE_COOKIE: &str = "weft_device";

fn device_cookie(value: &str) -> Cookie<'static> {
    Cookie::build(DEVICE_COOKIE, value.to_owned())
        .path("/api/v1/auth")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::days(180))
        .finish()
}

fn session_cookie(value: &str, max_age: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginBody,
    responses((status = 200, description = "Signed in; sets the session cookie; returns the CSRF token", body = LoginResult),
              (status = 401, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
#[post("/auth/login")]
pub async fn login(
    st: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, 16 * 1024).await?;
    let b: LoginBody =
        serde_json::from_value(b).map_err(|e| Error::one("", "invalid", e.to_string()))?;
    let ok = st
        .rt
        .auth()
        .login(
            &b.email,
            &b.password,
            b.tenant_id.map(TenantId),
            &crate::client_ip::of(&req, &st.trusted_proxies),
            req.cookie(DEVICE_COOKIE).as_ref().map(|c| c.value()),
        )
        .await?;
    let mut resp = HttpResponse::Ok();
    resp.cookie(session_cookie(
        &ok.token,
        weft_runtime::access::auth::SESSION_ABSOLUTE,
    ));
    if let Some(d) = &ok.device {
        resp.cookie(device_cookie(d));
    }
    Ok(resp.json(LoginResult {
        user: LoginUser {
            id: ok.user_id.0,
            name: ok.user_name,
            is_admin: ok.is_admin,
        },
        tenant_id: ok.tenant_id.0,
        csrf_token: ok.csrf_token,
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out")), security(("api_key" = [])))]
#[post("/auth/logout")]
pub async fn logout(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    st.rt.auth().logout(&p).await?;
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie("", 0))
        .finish())
}

#[utoipa::path(get, path = "/api/v1/auth/session", tag = "auth",
    responses((status = 200, description = "Who is signed in, the CSRF token, and their permissions", body = SessionView),
              (status = 401, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[get("/auth/session")]
pub async fn session(
    st: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let csrf = match (p.session, req.cookie(SESSION_COOKIE)) {
        (Some(_), Some(c)) => st
            .rt
            .auth()
            .authenticate_session(c.value())
            .await
            .ok()
            .map(|(_, csrf, _)| csrf),
        _ => None,
    };
    let perms = st.rt.access().my_permissions(&p).await?;
    Ok(HttpResponse::Ok().json(st.rt.auth().session(&p, csrf, perms).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Admins may create a key for another user (e.g. an integration user).
    pub user_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/auth/api-keys", tag = "auth", request_body = NewKeyBody,
    responses((status = 201, description = "The key, shown once", body = NewApiKey), (status = 403, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/auth/api-keys")]
pub async fn create_api_key(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, RECORD_LIMIT).await?;
    let b: NewKeyBody =
        serde_json::from_value(b).map_err(|e| Error::one("", "invalid", e.to_string()))?;
    Ok(HttpResponse::Created().json(st.rt.auth().create_api_key(&p, &b.name, b.user_id).await?))
}

#[utoipa::path(get, path = "/api/v1/auth/api-keys", tag = "auth",
    responses((status = 200, description = "Keys (secrets are never shown again)", body = ApiKeyList)),
    security(("api_key" = [])))]
#[get("/auth/api-keys")]
pub async fn list_api_keys(st: web::Data<AppState>, Auth(p): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(st.rt.auth().list_api_keys(&p).await?))
}

#[utoipa::path(delete, path = "/api/v1/auth/api-keys/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[delete("/auth/api-keys/{id}")]
pub async fn revoke_api_key(
    st: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = Uuid::parse_str(&path).map_err(|_| Error::not_found("API key"))?;
    st.rt.auth().revoke_api_key(&p, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: String,
    /// 8 to 1024 characters, different from the current one.
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

/// After a password change: the browser's new CSRF token (its session was renewed).
#[derive(serde::Serialize, ToSchema)]
pub struct PasswordChanged {
    /// Send back as `X-CSRF-Token`; absent when the caller used an API key.
    pub csrf_token: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordBody,
    responses((status = 200, description = "Changed; every other session has ended and this browser's session is renewed", body = PasswordChanged),
              (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)),
    security(("api_key" = [])))]
#[post("/auth/password")]
pub async fn change_password(
    st: web::Data<AppState>,
    Auth(p): Auth,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let b = body::json(payload, 16 * 1024).await?;
    let b: ChangePasswordBody =
        serde_json::from_value(b).map_err(|e| Error::one("", "invalid", e.to_string()))?;
    let fresh = st
        .rt
        .auth()
        .change_password(&p, &b.current_password, &b.new_password)
        .await?;
    let mut resp = HttpResponse::Ok();
    if let Some(ok) = &fresh {
        resp.cookie(session_cookie(
            &ok.token,
            weft_runtime::access::auth::SESSION_ABSOLUTE,
        ));
    }
    Ok(resp.json(PasswordChanged {
        csrf_token: fresh.map(|ok| ok.csrf_token),
    }))
}
