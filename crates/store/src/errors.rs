//! Database errors as runtime errors: unique violations name the field, lost connections are
//! "unavailable" (retryable), everything else is internal and logged, never shown.

use sea_orm::{DbErr, RuntimeErr, SqlErr};
use weft_meta::{CompiledObject, Problem};
use weft_runtime::Error;
use weft_runtime::error::{Class, ErrorKinds, Named, named};

use crate::names::Names;

pub fn db(e: DbErr) -> Error {
    match &e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Error::Unavailable(e.to_string()),
        DbErr::Exec(RuntimeErr::SqlxError(se)) | DbErr::Query(RuntimeErr::SqlxError(se))
            if matches!(
                se.as_ref(),
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
            ) =>
        {
            Error::Unavailable(e.to_string())
        }
        _ => {
            if let Some(SqlErr::ForeignKeyConstraintViolation(m)) = e.sql_err() {
                return StoreError::Referenced { detail: short(&m) }.into();
            }
            if let Some(SqlErr::UniqueConstraintViolation(m)) = e.sql_err() {
                return StoreError::Duplicate { detail: short(&m) }.into();
            }
            Error::Internal(e.to_string())
        }
    }
}

fn short(m: &str) -> String {
    m.chars().take(120).collect()
}

/// Map a unique violation on a record table to the field whose index it is.
pub fn record_write(e: DbErr, n: &Names, obj: &CompiledObject) -> Error {
    if let Some(SqlErr::UniqueConstraintViolation(m)) = e.sql_err() {
        for f in obj.live_fields().filter(|f| f.unique) {
            let idx = n.index(obj.api_name(), &format!("unique:{}", f.name()));
            let sqlite_form = format!(".{}", f.name());
            if m.contains(&idx)
                || m.ends_with(&sqlite_form)
                || m.contains(&format!("{sqlite_form},"))
            {
                return Error::Validation(vec![Problem::new(
                    format!("/{}", f.name()),
                    "unique",
                    format!(
                        "another {} record already has this {}",
                        obj.api_name(),
                        f.name()
                    ),
                )]);
            }
        }
        if m.contains("pkey") || m.contains(".id") {
            return Error::Validation(vec![Problem::new(
                "/id",
                "unique",
                "a record with this id exists",
            )]);
        }
    }
    db(e)
}

/// What the database refused, as named kinds (the storage adapter's own, see
/// `weft_runtime::error`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A foreign key blocks the change.
    #[error("a reference blocks this change ({detail})")]
    Referenced { detail: String },
    /// A unique index refused the value.
    #[error("a unique value is already taken ({detail})")]
    Duplicate { detail: String },
    /// A unique index cannot be built over the values already stored.
    #[error("existing records hold duplicate values; make them unique first")]
    DuplicateValues,
    /// Another request with the same `Idempotency-Key` has not finished.
    #[error("a request with this Idempotency-Key is in progress; retry to get its response")]
    IdempotencyInFlight,
    /// Two publishes of one flow raced for the same version number.
    #[error("another publish of this flow happened at the same time; retry")]
    FlowPublishConflict,
}

impl ErrorKinds for StoreError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::Referenced { .. } => named(
                Class::Conflict,
                "referenced",
                "还有其他数据引用它，无法完成这次修改",
            ),
            Self::Duplicate { .. } => {
                named(Class::Conflict, "duplicate", "这个值已被使用，请换一个")
            }
            Self::DuplicateValues => named(
                Class::Conflict,
                "duplicate_values",
                "现有记录中有重复的值，请先让它们各不相同",
            ),
            Self::IdempotencyInFlight => named(
                Class::Conflict,
                "idempotency_in_flight",
                "使用同一 Idempotency-Key 的请求还在处理中，请稍后重试以获取其结果",
            ),
            Self::FlowPublishConflict => named(
                Class::Conflict,
                "flow.publish_conflict",
                "有人同时发布了这个流程，请重试",
            ),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::from_kind(e).unwrap_or_else(Error::internal)
    }
}
