//! The runtime's error type. The HTTP crate maps each variant to one status and envelope; this
//! crate knows nothing of HTTP.

use weft_meta::Problem;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input was understood but breaks rules; every problem found is listed.
    #[error("validation failed")]
    Validation(Vec<Problem>),
    /// The request itself is malformed (bad JSON, bad parameter).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("not authenticated")]
    Unauthenticated,
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Unknown, deleted or out-of-scope resource. Never says which.
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// `If-Match` named an older version.
    #[error("the record changed since version {expected}; current version is {current}")]
    PreconditionFailed { expected: i64, current: i64 },
    #[error("If-Match with the record version is required")]
    PreconditionRequired,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// A dependency is temporarily unavailable (database down); safe to retry.
    #[error("service unavailable")]
    Unavailable(String),
    /// A bug or an unexpected storage failure. The message is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Error::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn one(path: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Error::Validation(vec![Problem::new(path, code, message)])
    }
}
