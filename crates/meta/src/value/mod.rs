//! Typed record values and their conversion from and to the API's JSON form.
//!
//! JSON form, per field type: decimals, currency amounts and percents as strings with the
//! field's scale (`"500000.00"`, exact; numbers are accepted on input), currency as
//! `{"amount": "1.00", "currency": "CNY"}`, dates `"2026-03-01"`, datetimes RFC 3339 in UTC
//! (`"2026-03-01T02:00:00Z"`; any offset accepted on input), times `"09:30:00"`, references as
//! UUID strings, multi-valued fields as arrays, empty as `null`.

mod coerce;
mod convert;

pub use coerce::coerce;
pub use convert::convert;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Timelike, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::field::{FieldKind, limits};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    Decimal(Decimal),
    Money {
        amount: Decimal,
        currency: String,
    },
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Time(NaiveTime),
    Uuid(Uuid),
    /// Multi-select (array of option values), address (object), attachments (array), json.
    Json(Json),
    /// Multi-lookup targets.
    UuidList(Vec<Uuid>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
pub const ADDRESS_PARTS: &[(&str, usize)] = &[
    ("province", 100),
    ("city", 100),
    ("district", 100),
    ("detail", 500),
    ("postcode", 16),
];

/// The effective maximum length of a text-like field.
pub fn text_max_len(kind: &FieldKind) -> Option<u32> {
    match kind {
        FieldKind::Text { max_length, .. } => Some(max_length.unwrap_or(255).min(limits::TEXT_MAX)),
        FieldKind::LongText { max_length } => Some(
            max_length
                .unwrap_or(limits::LONG_TEXT_MAX)
                .min(limits::LONG_TEXT_MAX),
        ),
        FieldKind::RichText { max_length } => Some(
            max_length
                .unwrap_or(limits::RICH_TEXT_MAX)
                .min(limits::RICH_TEXT_MAX),
        ),
        FieldKind::Email => Some(254),
        FieldKind::Phone { .. } => Some(32),
        FieldKind::Url => Some(2048),
        FieldKind::AutoNumber { .. } => Some(100),
        _ => None,
    }
}
/// Parse an exact decimal from a JSON number or string.
pub fn parse_decimal(v: &Json) -> Option<Decimal> {
    match v {
        Json::Number(n) => {
            let s = n.to_string();
            Decimal::from_str_exact(&s)
                .ok()
                .or_else(|| Decimal::from_scientific(&s).ok())
        }
        Json::String(s) => {
            let t = s.trim();
            if t.is_empty() || t.len() > 40 {
                return None;
            }
            Decimal::from_str_exact(t).ok()
        }
        _ => None,
    }
}

pub fn parse_uuid(v: &Json) -> Option<Uuid> {
    v.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let dt = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    // Storage keeps microseconds (PostgreSQL's precision); drop the rest so both backends agree.
    let micros = dt.nanosecond() / 1_000 * 1_000;
    dt.with_nanosecond(micros)
}

pub fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

/// Render a decimal with exactly `scale` places.
pub fn decimal_string(d: Decimal, scale: Option<u32>) -> String {
    let mut d = d;
    if let Some(s) = scale {
        d = d.round_dp(s);
        d.rescale(s);
    }
    d.to_string()
}

pub fn datetime_string(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The JSON form of a typed value of `kind`.
pub fn to_json(kind: &FieldKind, v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Text(s) => Json::String(s.clone()),
        Value::Int(i) => Json::from(*i),
        Value::Decimal(d) => Json::String(decimal_string(*d, kind.decimal_scale())),
        Value::Money { amount, currency } => {
            let mut m = Map::new();
            m.insert(
                "amount".into(),
                Json::String(decimal_string(*amount, kind.decimal_scale())),
            );
            m.insert("currency".into(), Json::String(currency.clone()));
            Json::Object(m)
        }
        Value::Bool(b) => Json::Bool(*b),
        Value::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        Value::DateTime(dt) => Json::String(datetime_string(dt)),
        Value::Time(t) => Json::String(t.format("%H:%M:%S").to_string()),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::Json(j) => j.clone(),
        Value::UuidList(l) => Json::Array(l.iter().map(|u| Json::String(u.to_string())).collect()),
    }
}
