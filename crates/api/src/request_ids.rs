//! Request ids: every request gets one (the caller's `X-Request-Id` when it is sane, else a new
//! one), every response carries it in `X-Request-Id`, every error body in `request_id`, and
//! every log line emitted while the request is handled carries it through the `request` span.

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

/// The longest incoming id that is kept.
const MAX_LEN: usize = 64;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request this task is handling; read where no request is at hand (error
    /// bodies are built from the error alone).
    static CURRENT: String;
}

/// A request's id, also in the request's extensions for handlers that want it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The caller's id when it is 1–64 characters of `[A-Za-z0-9._:-]`; anything else (too long,
/// control characters, spaces, non-ASCII) is replaced, so log lines cannot be forged through it.
pub fn accept(incoming: Option<&HeaderValue>) -> Option<String> {
    let s = incoming?.to_str().ok()?;
    let sane = !s.is_empty()
        && s.len() <= MAX_LEN
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    sane.then(|| s.to_owned())
}

fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Middleware (`from_fn`, the outermost layer): assign the id, run the request inside its span
/// and task-local, echo the id, and log failures with it.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = accept(req.headers().get("x-request-id")).unwrap_or_else(new_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    // An ERROR-level span is enabled whenever any log line is, so the id reaches every line,
    // whatever the configured level.
    let span =
        tracing::error_span!("request", request.id = %id, http.method = %method, http.path = %path);
    let handled = {
        let id = id.clone();
        async move {
            let started = std::time::Instant::now();
            let result = next.call(req).await;
            let status = match &result {
                Ok(res) => res.status(),
                Err(e) => e.as_response_error().status_code(),
            };
            if status.is_server_error() {
                tracing::error!(request.id = %id, http.status = status.as_u16(), "server error response");
            } else {
                tracing::debug!(
                    request.id = %id,
                    http.status = status.as_u16(),
                    elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "request"
                );
            }
            let header = HeaderValue::from_str(&id).ok();
            match result {
                Ok(res) => {
                    let mut res = res.map_into_boxed_body();
                    if let Some(v) = header {
                        res.headers_mut().insert(X_REQUEST_ID, v);
                    }
                    Ok(res)
                }
                // An inner layer's error: build its response here, inside the task-local, so
                // its body carries the id too; actix sends the stored response as it is.
                Err(e) => {
                    let mut res = e.as_response_error().error_response();
                    if let Some(v) = header {
                        res.headers_mut().insert(X_REQUEST_ID, v);
                    }
                    Err(actix_web::error::InternalError::from_response(e.to_string(), res).into())
                }
            }
        }
        .instrument(span)
    };
    CURRENT.scope(id, handled).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_hostile_ones_replaced() {
        let hv = |s: &str| HeaderValue::from_str(s).ok();
        assert_eq!(accept(hv("abc-123").as_ref()).as_deref(), Some("abc-123"));
        assert_eq!(
            accept(hv("trace:1.2_x").as_ref()).as_deref(),
            Some("trace:1.2_x")
        );
        assert_eq!(accept(None), None);
        assert_eq!(accept(hv("").as_ref()), None);
        assert_eq!(accept(hv(&"a".repeat(65)).as_ref()), None);
        assert_eq!(accept(hv("a b").as_ref()), None);
        assert_eq!(accept(hv("a\"}{").as_ref()), None);
        let bytes = HeaderValue::from_bytes("é".as_bytes()).ok();
        assert_eq!(accept(bytes.as_ref()), None);
    }
}
