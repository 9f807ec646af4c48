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

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
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
    /// JSON pointer, e.g. `/amount` or `/records/3/email`.
    pub path: String,
    /// Stable code such as `required`, `type`, `unique`, `not_found`.
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: String,
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
    pub fn parts(&self) -> (StatusCode, &'static str, String, Vec<Problem>) {
        match &self.0 {
            Error::Validation(ps) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("{} problem(s) in the request", ps.len()),
                ps.clone(),
            ),
            Error::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, code, message.clone(), vec![])
            }
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid API key or session is required".into(),
                vec![],
            ),
            Error::Forbidden { code, message } => {
                (StatusCode::FORBIDDEN, code, message.clone(), vec![])
            }
            Error::NotFound { what } => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
                vec![],
            ),
            Error::Conflict { code, message } => {
                (StatusCode::CONFLICT, code, message.clone(), vec![])
            }
            Error::PreconditionFailed { .. } => (
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                self.0.to_string(),
                vec![],
            ),
            Error::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "if_match_required",
                self.0.to_string(),
                vec![],
            ),
            Error::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry after the delay in Retry-After".into(),
                vec![],
            ),
            Error::PayloadTooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                m.clone(),
                vec![],
            ),
            Error::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is temporarily unavailable; retry shortly".into(),
                vec![],
            ),
            Error::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an internal error occurred; quote the request id when reporting it".into(),
                vec![],
            ),
        }
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
                        message: p.message,
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
    HttpResponse::build(status).json(ErrorEnvelope {
        error: ErrorBody {
            code: code.to_owned(),
            message,
            details: vec![],
            request_id: crate::request_ids::current().unwrap_or_default(),
        },
    })
}
