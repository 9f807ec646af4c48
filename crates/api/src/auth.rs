//! Authentication extractor. The tenant and user come only from the credential: an API key
//! (`Authorization: Bearer wft_…`) or the web session cookie. Cookie-authenticated writes must
//! carry the session's CSRF token in `X-CSRF-Token` and must not be cross-site. Admins may add
//! `X-Weft-View-As: <user id>` to a read to see it with that user's rights.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use subtle_eq::ct_eq;
use weft_runtime::{Error, Principal};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "__Host-weft_session";

/// The authenticated principal of a request.
pub struct Auth(pub Principal);

pub(crate) mod subtle_eq {
    /// Constant-time comparison of two tokens.
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn is_read(req: &HttpRequest) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || (req.method() == Method::POST && req.path().ends_with("/query"))
}

async fn authenticate(state: web::Data<AppState>, req: HttpRequest) -> Result<Principal, ApiError> {
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|s| s.trim().to_owned());
    let mut p = if let Some(token) = bearer {
        let p = state.rt.auth().authenticate_api_key(&token).await?;
        state.limits.check(p.tenant.0, p.api_key.map(|k| k.0))?;
        p
    } else if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let (p, csrf, session) = state.rt.auth().authenticate_session(cookie.value()).await?;
        state.limits.check(p.tenant.0, Some(session))?;
        if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            let site = req
                .headers()
                .get("sec-fetch-site")
                .and_then(|v| v.to_str().ok());
            if site == Some("cross-site") {
                return Err(crate::error::RequestError::CrossSite.into());
            }
            let sent = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !ct_eq(sent.as_bytes(), csrf.as_bytes()) {
                return Err(crate::error::RequestError::Csrf.into());
            }
        }
        p
    } else {
        return Err(Error::Unauthenticated.into());
    };
    if let Some(v) = req.headers().get("x-weft-view-as") {
        if !p.is_admin {
            return Err(crate::error::RequestError::ViewAsAdminOnly.into());
        }
        if !is_read(&req) {
            return Err(crate::error::RequestError::ViewAsReadOnly.into());
        }
        let target = v
            .to_str()
            .ok()
            .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
            .ok_or(crate::error::RequestError::BadViewAs)?;
        p = state.rt.auth().view_as(&p, target).await?;
        p.view_as = true;
    }
    Ok(p)
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError(Error::internal("app state missing")))?;
            authenticate(state, req).await.map(Auth)
        })
    }
}
