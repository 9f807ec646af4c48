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
    /// Whether the caller prefers Chinese (`Accept-Language`), for error messages.
    static ZH: bool;
}

/// Whether the request being handled prefers Chinese text; English otherwise and outside a
/// request.
pub fn prefers_zh() -> bool {
    ZH.try_with(|z| *z).unwrap_or(false)
}

/// Of Chinese and English, which the `Accept-Language` header weighs higher (`zh-CN`,
/// `zh;q=0.9,en;q=0.8`, …); English when it names neither. Hand-written: a dozen lines where
/// the crates for it parse the whole of RFC 4647 to answer the same question.
pub fn accepts_zh(header: Option<&HeaderValue>) -> bool {
    let Some(s) = header.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let (mut zh, mut en) = (-1.0f32, -1.0f32);
    for part in s.split(',').take(32) {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = tag.split('-').next().unwrap_or("");
        if lang == "zh" {
            zh = zh.max(q);
        } else if lang == "en" {
            en = en.max(q);
        }
    }
    zh > 0.0 && zh > en
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
    let zh = accepts_zh(req.headers().get("accept-language"));
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
    CURRENT.scope(id, ZH.scope(zh, handled)).await
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

    #[test]
    fn chinese_when_it_weighs_more_than_english() {
        let zh = |s: &str| accepts_zh(HeaderValue::from_str(s).ok().as_ref());
        assert!(zh("zh-CN"));
        assert!(zh("zh-CN,zh;q=0.9,en;q=0.8"));
        assert!(zh("fr, zh-Hans;q=0.5"));
        assert!(!zh("en-US,en;q=0.9,zh-CN;q=0.8"));
        assert!(!zh("de"));
        assert!(!zh(""));
        assert!(!zh("zh;q=0"));
        assert!(!zh("zh;q=bogus, en"));
        assert!(!accepts_zh(None));
    }
}
