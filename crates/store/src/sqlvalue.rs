//! Typed values to and from SQL, per backend. PostgreSQL gets native types (numeric, date,
//! timestamptz, jsonb, uuid). SQLite gets exact, order-preserving encodings: decimals as
//! integers scaled by the field's scale, dates and times as fixed-width ISO text, UUIDs as
//! 16-byte blobs, JSON as text.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Value as SqlValue;
use sea_orm::{DbErr, QueryResult};
use serde_json::Value as Json;
use uuid::Uuid;
use weft_meta::query::ColKind;
use weft_meta::{FieldKind, Value};
use weft_runtime::ports::Backend;

/// Storage class of a field's main column.
pub fn storage_kind(kind: &FieldKind) -> ColKind {
    weft_meta::query::col_kind(kind)
}

pub fn sqlite_datetime(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn scale_factor(scale: u32) -> Decimal {
    Decimal::from_i128_with_scale(10_i128.pow(scale), 0)
}

/// Encode a value for a column of `kind` (with `scale` for decimals).
pub fn encode(backend: Backend, kind: ColKind, scale: Option<u32>, v: &Value) -> SqlValue {
    use Backend::*;
    match (backend, kind, v) {
        (_, ColKind::Text, Value::Null) => SqlValue::String(None),
        (_, ColKind::Int, Value::Null) => SqlValue::BigInt(None),
        (Postgres, ColKind::Decimal, Value::Null) => SqlValue::Decimal(None),
        (Sqlite, ColKind::Decimal, Value::Null) => SqlValue::BigInt(None),
        (_, ColKind::Bool, Value::Null) => SqlValue::Bool(None),
        (Postgres, ColKind::Date, Value::Null) => SqlValue::ChronoDate(None),
        (Postgres, ColKind::DateTime, Value::Null) => SqlValue::ChronoDateTimeUtc(None),
        (Postgres, ColKind::Time, Value::Null) => SqlValue::ChronoTime(None),
        (Sqlite, ColKind::Date | ColKind::DateTime | ColKind::Time, Value::Null) => {
            SqlValue::String(None)
        }
        (_, ColKind::Uuid, Value::Null) => SqlValue::Uuid(None),
        (Postgres, ColKind::Json, Value::Null) => SqlValue::Json(None),
        (Sqlite, ColKind::Json, Value::Null) => SqlValue::String(None),

        (_, _, Value::Text(s)) => SqlValue::String(Some(s.clone())),
        (_, _, Value::Int(i)) => SqlValue::BigInt(Some(*i)),
        (Postgres, _, Value::Decimal(d) | Value::Money { amount: d, .. }) => {
            SqlValue::Decimal(Some(*d))
        }
        (Sqlite, _, Value::Decimal(d) | Value::Money { amount: d, .. }) => {
            let s = scale.unwrap_or(0);
            let scaled = (*d * scale_factor(s)).round();
            SqlValue::BigInt(i64::try_from(scaled.mantissa() / 10_i128.pow(scaled.scale())).ok())
        }
        (_, _, Value::Bool(b)) => SqlValue::Bool(Some(*b)),
        (Postgres, _, Value::Date(d)) => SqlValue::ChronoDate(Some(*d)),
        (Sqlite, _, Value::Date(d)) => SqlValue::String(Some(d.format("%Y-%m-%d").to_string())),
        (Postgres, _, Value::DateTime(dt)) => SqlValue::ChronoDateTimeUtc(Some(*dt)),
        (Sqlite, _, Value::DateTime(dt)) => SqlValue::String(Some(sqlite_datetime(dt))),
        (Postgres, _, Value::Time(t)) => SqlValue::ChronoTime(Some(*t)),
        (Sqlite, _, Value::Time(t)) => SqlValue::String(Some(t.format("%H:%M:%S").to_string())),
        (_, _, Value::Uuid(u)) => SqlValue::Uuid(Some(*u)),
        (Postgres, _, Value::Json(j)) => {
            if is_empty_json(j) {
                SqlValue::Json(None)
            } else {
                SqlValue::Json(Some(Box::new(j.clone())))
            }
        }
        (Sqlite, _, Value::Json(j)) => {
            if is_empty_json(j) {
                SqlValue::String(None)
            } else {
                SqlValue::String(Some(j.to_string()))
            }
        }
        (_, _, Value::UuidList(_)) => SqlValue::String(None),
    }
}

fn is_empty_json(j: &Json) -> bool {
    matches!(j, Json::Array(a) if a.is_empty())
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, idx: usize) -> Result<Option<T>, DbErr> {
    row.try_get_by_index::<Option<T>>(idx)
}

/// Decode a column of `kind` at `idx`.
pub fn decode(
    backend: Backend,
    kind: ColKind,
    scale: Option<u32>,
    row: &QueryResult,
    idx: usize,
) -> Result<Value, DbErr> {
    use Backend::*;
    let v = match (backend, kind) {
        (_, ColKind::Text) => get::<String>(row, idx)?.map(Value::Text),
        (_, ColKind::Int) => get::<i64>(row, idx)?.map(Value::Int),
        (Postgres, ColKind::Decimal) => get::<Decimal>(row, idx)?.map(Value::Decimal),
        (Sqlite, ColKind::Decimal) => get::<i64>(row, idx)?.map(|i| {
            let mut d = Decimal::from_i128_with_scale(i128::from(i), scale.unwrap_or(0));
            d.rescale(scale.unwrap_or(0));
            Value::Decimal(d)
        }),
        (_, ColKind::Bool) => get::<bool>(row, idx)?.map(Value::Bool),
        (Postgres, ColKind::Date) => get::<NaiveDate>(row, idx)?.map(Value::Date),
        (Sqlite, ColKind::Date) => get::<String>(row, idx)?
            .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
            .map(Value::Date),
        (Postgres, ColKind::DateTime) => get::<DateTime<Utc>>(row, idx)?.map(Value::DateTime),
        (Sqlite, ColKind::DateTime) => get::<String>(row, idx)?
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| Value::DateTime(d.with_timezone(&Utc))),
        (Postgres, ColKind::Time) => get::<NaiveTime>(row, idx)?.map(Value::Time),
        (Sqlite, ColKind::Time) => get::<String>(row, idx)?
            .and_then(|s| NaiveTime::parse_from_str(&s, "%H:%M:%S").ok())
            .map(Value::Time),
        (_, ColKind::Uuid) => get::<Uuid>(row, idx)?.map(Value::Uuid),
        (Postgres, ColKind::Json) => get::<Json>(row, idx)?.map(Value::Json),
        (Sqlite, ColKind::Json) => get::<String>(row, idx)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .map(Value::Json),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// PostgreSQL column type of a field's main column.
pub fn pg_type(kind: &FieldKind) -> String {
    match kind {
        FieldKind::Integer { .. } => "bigint".into(),
        FieldKind::Decimal {
            precision, scale, ..
        }
        | FieldKind::Currency {
            precision, scale, ..
        } => {
            format!("numeric({precision},{scale})")
        }
        FieldKind::Percent { scale, .. } => format!("numeric(12,{scale})"),
        FieldKind::Boolean => "boolean".into(),
        FieldKind::Date => "date".into(),
        FieldKind::Datetime => "timestamptz".into(),
        FieldKind::Time => "time".into(),
        FieldKind::MultiSelect { .. }
        | FieldKind::Address
        | FieldKind::Attachment { .. }
        | FieldKind::Json { .. } => "jsonb".into(),
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department => "uuid".into(),
        _ => "text".into(),
    }
}

/// SQLite declared type (it sets the column affinity).
pub fn sqlite_type(kind: &FieldKind) -> &'static str {
    match storage_kind(kind) {
        ColKind::Int | ColKind::Decimal | ColKind::Bool => "INTEGER",
        ColKind::Uuid => "BLOB",
        _ => "TEXT",
    }
}

pub fn column_type(backend: Backend, kind: &FieldKind) -> String {
    match backend {
        Backend::Postgres => pg_type(kind),
        Backend::Sqlite => sqlite_type(kind).into(),
    }
}
