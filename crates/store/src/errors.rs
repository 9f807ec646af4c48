//! Database errors as runtime errors: unique violations name the field, lost connections are
//! "unavailable" (retryable), everything else is internal and logged, never shown.

use sea_orm::{DbErr, RuntimeErr, SqlErr};
use weft_meta::{CompiledObject, Problem};
use weft_runtime::Error;

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
                return Error::conflict(
                    "referenced",
                    format!("a reference blocks this change ({})", short(&m)),
                );
            }
            if let Some(SqlErr::UniqueConstraintViolation(m)) = e.sql_err() {
                return Error::conflict(
                    "duplicate",
                    format!("a unique value is already taken ({})", short(&m)),
                );
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
