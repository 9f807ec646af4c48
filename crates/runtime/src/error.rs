//! The runtime's error type. The HTTP crate maps each variant to one status and envelope; this
//! crate knows nothing of HTTP.
//!
//! Each service names its own failures in its own enum (`RecordError`, `MetaError`,
//! `AccessError`, `AutomationError`, `FlowError`, `ViewError`, `FileError`, `TenantError`,
//! `AppError`, `UsageError`): a variant per kind, with a stable code, a class and its text in
//! English and Chinese, plus `Other` for the kinds every service shares (validation problems, not found,
//! storage failures). A service's public methods return its enum, so a caller can match the
//! kind; `?` turns any of them into this shared [`Error`] where kinds no longer matter.

use weft_meta::Problem;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a named kind is answered: the HTTP crate maps each class to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The request is malformed (400).
    BadRequest,
    /// Understood, but the caller may not do it (403).
    Forbidden,
    /// The resource's state does not allow it (409).
    Conflict,
    /// Understood, but breaks a rule the service states (422).
    Unprocessable,
    /// The caller or tenant is over a limit (429).
    TooManyRequests,
    /// The body or a stored total is over a limit (413).
    TooLarge,
}

/// What a service says of one of its named kinds; `Display` of the kind is the English text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub class: Class,
    pub code: &'static str,
    pub zh: String,
}

/// A service's own failure kinds: for each named variant its class, its stable code and its
/// Chinese text; `None` for the variant that carries a shared [`Error`].
pub trait ErrorKinds: std::error::Error + Send + Sync + 'static {
    fn named(&self) -> Option<Named>;

    /// Problems at paths that a named kind points at (answered as the error's `details`).
    fn details(&self) -> Vec<Problem> {
        Vec::new()
    }
}

/// Shorthand for a named kind in an `ErrorKinds::named` match arm.
pub fn named(class: Class, code: &'static str, zh: impl Into<String>) -> Option<Named> {
    Some(Named {
        class,
        code,
        zh: zh.into(),
    })
}

/// A named kind inside the shared [`Error`]: the service's own value, kept whole so that
/// `?` back into the service's enum gives the typed variant again.
pub struct Kind {
    named: Named,
    en: String,
    details: Vec<Problem>,
    inner: Box<dyn std::any::Any + Send + Sync>,
}

impl Kind {
    fn of<E: ErrorKinds>(e: E) -> Result<Self, E> {
        match e.named() {
            Some(named) => Ok(Kind {
                en: e.to_string(),
                details: e.details(),
                named,
                inner: Box::new(e),
            }),
            None => Err(e),
        }
    }

    pub fn class(&self) -> Class {
        self.named.class
    }

    pub fn code(&self) -> &'static str {
        self.named.code
    }

    pub fn en(&self) -> &str {
        &self.en
    }

    pub fn zh(&self) -> &str {
        &self.named.zh
    }

    /// Problems the kind points at, if any (see [`ErrorKinds::details`]).
    pub fn details(&self) -> &[Problem] {
        &self.details
    }

    /// The service's typed value, when it is of type `E`.
    pub fn downcast<E: ErrorKinds>(self) -> Result<E, Self> {
        if self.inner.is::<E>() {
            match self.inner.downcast::<E>() {
                Ok(e) => Ok(*e),
                Err(inner) => Err(Kind { inner, ..self }),
            }
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind")
            .field("code", &self.named.code)
            .field("en", &self.en)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input was understood but breaks rules; every problem found is listed.
    #[error("validation failed")]
    Validation(Vec<Problem>),
    /// A kind a service names (see the service's error enum).
    #[error("{}", .0.en())]
    Kind(Kind),
    #[error("not authenticated")]
    Unauthenticated,
    /// Unknown, deleted or out-of-scope resource. Never says which.
    #[error("{what} not found")]
    NotFound { what: String },
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

    pub fn one(path: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Error::Validation(vec![Problem::new(path, code, message)])
    }

    /// The stable code of a named kind, if this is one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Error::Kind(k) => Some(k.code()),
            _ => None,
        }
    }

    /// The class of a named kind, if this is one.
    pub fn class(&self) -> Option<Class> {
        match self {
            Error::Kind(k) => Some(k.class()),
            _ => None,
        }
    }

    /// A service's error as the shared one: a named kind is kept whole, a shared one
    /// unwrapped by the caller (see [`service_error!`]).
    pub fn from_kind<E: ErrorKinds>(e: E) -> Result<Self, E> {
        Kind::of(e).map(Error::Kind)
    }

    /// A service's typed error back from the shared one, when it carries one of `E`'s kinds.
    pub fn into_kind<E: ErrorKinds>(self) -> Result<E, Self> {
        match self {
            Error::Kind(k) => k.downcast::<E>().map_err(Error::Kind),
            e => Err(e),
        }
    }
}

/// The conversions of a service's error enum whose `Other(Error)` variant carries the shared
/// kinds: `From<$ty> for Error` (named kinds kept whole, `Other` unwrapped) and
/// `From<Error> for $ty` (a kind of `$ty` comes back typed, anything else is `Other`). The enum
/// must not derive `#[from]` on `Other`.
#[macro_export]
macro_rules! service_error {
    ($ty:ident) => {
        impl From<$ty> for $crate::Error {
            fn from(e: $ty) -> Self {
                match $crate::Error::from_kind(e) {
                    Ok(shared) => shared,
                    Err($ty::Other(e)) => e,
                    #[allow(unreachable_patterns)]
                    Err(e) => $crate::Error::internal(e),
                }
            }
        }

        impl From<$crate::Error> for $ty {
            fn from(e: $crate::Error) -> Self {
                e.into_kind::<$ty>().unwrap_or_else($ty::Other)
            }
        }
    };
}

/// `From<$from> for $ty` through the shared [`Error`], for a service that calls others (its
/// `?` on their results keeps their named kinds).
#[macro_export]
macro_rules! via_shared {
    ($ty:ident: $($from:path),+ $(,)?) => {
        $(impl From<$from> for $ty {
            fn from(e: $from) -> Self {
                $crate::Error::from(e).into()
            }
        })+
    };
}
