//! The one mapping from runtime errors to HTTP: status, stable code and the JSON envelope
//! `{"error": {"code", "message", "details": [{"path", "code", "message"}], "request_id"}}`.
//! A 5xx body never carries internal text; the cause goes to the log with the request id.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use weft_meta::Problem;
use weft_runtime::Error;
use weft_runtime::error::{Class, ErrorKinds, Named, named};

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// Each service's own error enum reaches HTTP through the shared kinds.
macro_rules! from_service_errors {
    ($($ty:path),* $(,)?) => {
        $(impl From<$ty> for ApiError {
            fn from(e: $ty) -> Self {
                ApiError(e.into())
            }
        })*
    };
}

from_service_errors!(
    weft_runtime::records::RecordError,
    weft_runtime::metadata::MetaError,
    weft_runtime::access::AccessError,
    weft_runtime::automation::AutomationError,
    weft_runtime::flows::FlowError,
    weft_runtime::saved_views::ViewError,
    weft_runtime::files::FileError,
    weft_runtime::tenants::TenantError,
    weft_runtime::apps::AppError,
    weft_runtime::jobs::JobError,
    weft_runtime::usage::UsageError,
);

/// What the HTTP adapter itself refuses, before any service runs.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The operation documents a required body and none came.
    #[error("this request needs a JSON body")]
    MissingBody,
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("could not read the body: {0}")]
    BadBody(String),
    #[error("Idempotency-Key is 1 to 255 visible ASCII characters, without spaces")]
    BadIdempotencyKey,
    #[error("If-Match must be the record version, e.g. \"3\"")]
    BadIfMatch,
    #[error("filter is not valid JSON: {0}")]
    MalformedFilter(String),
    /// A browser request from another site (Origin/Sec-Fetch-Site).
    #[error("cross-site requests are refused")]
    CrossSite,
    /// A session write without the session's CSRF token.
    #[error("missing or wrong X-CSRF-Token")]
    Csrf,
    #[error("only admins can view as another user")]
    ViewAsAdminOnly,
    #[error("viewing as another user is read-only")]
    ViewAsReadOnly,
    #[error("X-Weft-View-As must be a user id")]
    BadViewAs,
    #[error("mode is create or patch")]
    BadMode,
    #[error("on_invalid is fail or null")]
    BadOnInvalid,
}

impl ErrorKinds for RequestError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::MissingBody => named(
                Class::BadRequest,
                "missing_body",
                "此请求需要 JSON 格式的请求正文",
            ),
            Self::MalformedJson(_) => named(
                Class::BadRequest,
                "malformed_json",
                "请求正文不是有效的 JSON",
            ),
            Self::BadBody(_) => named(Class::BadRequest, "bad_body", "无法读取请求正文"),
            Self::BadIdempotencyKey => named(
                Class::BadRequest,
                "bad_idempotency_key",
                "Idempotency-Key 须为 1 到 255 个可见 ASCII 字符，不含空格",
            ),
            Self::BadIfMatch => named(
                Class::BadRequest,
                "bad_if_match",
                "If-Match 须为记录的版本号，例如 \"3\"",
            ),
            Self::MalformedFilter(_) => named(
                Class::BadRequest,
                "malformed_filter",
                "filter 不是有效的 JSON",
            ),
            Self::CrossSite => named(Class::Forbidden, "cross_site", "拒绝来自其他网站的请求"),
            Self::Csrf => named(
                Class::Forbidden,
                "csrf",
                "缺少或错误的 X-CSRF-Token，请刷新页面后重试",
            ),
            Self::ViewAsAdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有管理员可以以其他用户身份查看",
            ),
            Self::ViewAsReadOnly => named(
                Class::Forbidden,
                "read_only_view",
                "以其他用户身份查看时只能看不能改",
            ),
            Self::BadViewAs => named(
                Class::BadRequest,
                "bad_view_as",
                "X-Weft-View-As 须为用户编号",
            ),
            Self::BadMode => named(Class::BadRequest, "bad_mode", "mode 须为 create 或 patch"),
            Self::BadOnInvalid => named(
                Class::BadRequest,
                "bad_on_invalid",
                "on_invalid 须为 fail 或 null",
            ),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        ApiError(Error::from_kind(e).unwrap_or_else(Error::internal))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One problem of a request, at a JSON pointer into the body.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// JSON pointer into the body, e.g. `/amount` or `/records/3/email`; for a query
    /// parameter, `/` and its name (`/limit`).
    pub path: String,
    /// Stable code such as `required`, `type`, `unique`, `not_found`.
    pub code: String,
    /// Chinese when the request prefers it and the problem has a translation, else English.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: String,
    /// For people: Chinese when the request's `Accept-Language` prefers it, English otherwise.
    pub message: String,
    pub details: Vec<ErrorDetail>,
    /// The request's id, also in the `X-Request-Id` header; quote it when reporting a problem.
    pub request_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

impl ApiError {
    /// Status, stable code, message (Chinese when the request prefers it) and problems.
    pub fn parts(&self) -> (StatusCode, &'static str, String, Vec<Problem>) {
        let zh = crate::request_ids::prefers_zh();
        let text = |en: String, zh_text: &str| if zh { zh_text.to_owned() } else { en };
        match &self.0 {
            Error::Validation(ps) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                if zh {
                    format!("请求中有 {} 处问题", ps.len())
                } else {
                    format!("{} problem(s) in the request", ps.len())
                },
                ps.clone(),
            ),
            Error::Kind(k) => (
                status_of(k.class()),
                k.code(),
                if zh { k.zh() } else { k.en() }.to_owned(),
                k.details().to_vec(),
            ),
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                text(
                    "a valid API key or session is required".into(),
                    "需要有效的 API 密钥或登录会话",
                ),
                vec![],
            ),
            Error::NotFound { what } => (
                StatusCode::NOT_FOUND,
                "not_found",
                text(
                    format!("{what} not found"),
                    "找不到所请求的内容，或你无权查看",
                ),
                vec![],
            ),
            Error::PreconditionFailed { expected, current } => (
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                text(
                    self.0.to_string(),
                    &format!(
                        "记录已被他人修改（你看到的是第 {expected} 版，当前是第 {current} 版），请刷新后重试"
                    ),
                ),
                vec![],
            ),
            Error::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "if_match_required",
                text(self.0.to_string(), "修改记录需要带上 If-Match 版本号"),
                vec![],
            ),
            Error::TooManyRequests { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                text(
                    format!("too many requests; retry in {retry_after_secs} s (Retry-After)"),
                    &format!("请求过于频繁，请 {retry_after_secs} 秒后再试"),
                ),
                vec![],
            ),
            Error::PayloadTooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                text(m.clone(), &format!("内容超出上限：{m}")),
                vec![],
            ),
            Error::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                text(
                    "the service is temporarily unavailable; retry shortly".into(),
                    "服务暂时不可用，请稍后重试",
                ),
                vec![],
            ),
            Error::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                text(
                    "an internal error occurred; quote the request id when reporting it".into(),
                    "服务器内部错误；反馈问题时请附上请求编号",
                ),
                vec![],
            ),
        }
    }
}

/// The one status of each class of named kinds.
fn status_of(class: Class) -> StatusCode {
    match class {
        Class::BadRequest => StatusCode::BAD_REQUEST,
        Class::Forbidden => StatusCode::FORBIDDEN,
        Class::Conflict => StatusCode::CONFLICT,
        Class::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        Class::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Class::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, message, problems) = self.parts();
        let request_id = crate::request_ids::current().unwrap_or_default();
        if status.is_server_error() {
            tracing::error!(request.id = %request_id, error = %self.0, "request failed");
        }
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: code.to_owned(),
                message,
                details: problems
                    .into_iter()
                    .map(|p| ErrorDetail {
                        path: p.path,
                        code: p.code,
                        message: match p.zh {
                            Some(zh) if crate::request_ids::prefers_zh() => zh,
                            _ => p.message,
                        },
                    })
                    .collect(),
                request_id,
            },
        };
        let mut resp = HttpResponse::build(status);
        match &self.0 {
            Error::TooManyRequests { retry_after_secs } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Error::Unavailable(_) => {
                resp.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Error::Unauthenticated => {
                resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            _ => {}
        }
        resp.json(body)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// An error response without details, in the one envelope, for errors raised outside the
/// runtime (unknown routes, malformed query strings).
pub fn error_json(status: StatusCode, code: &str, message: String) -> HttpResponse {
    error_with_details(status, code, message, vec![])
}

fn error_with_details(
    status: StatusCode,
    code: &str,
    message: String,
    details: Vec<ErrorDetail>,
) -> HttpResponse {
    HttpResponse::build(status).json(ErrorEnvelope {
        error: ErrorBody {
            code: code.to_owned(),
            message,
            details,
            request_id: crate::request_ids::current().unwrap_or_default(),
        },
    })
}

/// 400 `bad_query` for a query string the handler's parameters cannot be read from. When the
/// problem is one parameter (out of range, missing), the detail points at it: `/limit`.
pub fn query_error(e: &actix_web::error::QueryPayloadError) -> HttpResponse {
    let text = match e {
        actix_web::error::QueryPayloadError::Deserialize(inner) => inner.to_string(),
        other => other.to_string(),
    };
    let zh = crate::request_ids::prefers_zh();
    let named =
        crate::params::named_param(&text).map(|(n, t)| (n.to_owned(), t.to_owned(), "range"));
    let missing = text
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
        .map(|n| (n.to_owned(), "is required".to_owned(), "required"));
    let (message, details) = match named.or(missing) {
        Some((name, reason, code)) => {
            let message = if zh {
                format!("查询参数「{name}」无效")
            } else {
                format!("query parameter `{name}` {reason}")
            };
            let detail = ErrorDetail {
                path: format!("/{name}"),
                code: code.to_owned(),
                message: message.clone(),
            };
            (message, vec![detail])
        }
        None if zh => (format!("查询参数格式有误：{text}"), vec![]),
        None => (format!("the query string is malformed: {text}"), vec![]),
    };
    error_with_details(StatusCode::BAD_REQUEST, "bad_query", message, details)
}
