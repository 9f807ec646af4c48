//! Typed record values and their conversion from and to the API's JSON form.
//!
//! JSON form, per field type: decimals, currency amounts and percents as strings with the
//! field's scale (`"500000.00"`, exact; numbers are accepted on input), currency as
//! `{"amount": "1.00", "currency": "CNY"}`, dates `"2026-03-01"`, datetimes RFC 3339 in UTC
//! (`"2026-03-01T02:00:00Z"`; any offset accepted on input), times `"09:30:00"`, references as
//! UUID strings, multi-valued fields as arrays, empty as `null`.

use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Timelike, Utc};
use regex::Regex;
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::field::{FieldDef, FieldKind, limits};
use crate::problem::{Problem, pointer_segment};

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

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
static CN_MOBILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\+86|0086)?1[3-9][0-9]{9}$").unwrap_or_else(|_| unreachable!("static regex"))
});
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\+?[0-9][0-9 ()\-]{2,31}$").unwrap_or_else(|_| unreachable!("static regex"))
});
static CURRENCY_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z]{3}$").unwrap_or_else(|_| unreachable!("static regex")));

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

fn problem(field: &FieldDef, code: &str, msg: impl Into<String>) -> Problem {
    Problem::new(format!("/{}", pointer_segment(field.name())), code, msg)
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

fn check_decimal(
    field: &FieldDef,
    d: Decimal,
    precision: u32,
    scale: u32,
    min: Option<Decimal>,
    max: Option<Decimal>,
) -> Result<Decimal, Problem> {
    let d = d.normalize();
    if d.scale() > scale {
        return Err(problem(
            field,
            "scale",
            format!("at most {scale} decimal places allowed"),
        ));
    }
    let int_digits = precision.saturating_sub(scale);
    let limit = Decimal::from_i128_with_scale(10_i128.pow(int_digits), 0);
    if d.abs() >= limit {
        return Err(problem(
            field,
            "precision",
            format!("at most {int_digits} digits before the decimal point allowed"),
        ));
    }
    if let Some(m) = min
        && d < m
    {
        return Err(problem(field, "min", format!("must be at least {m}")));
    }
    if let Some(m) = max
        && d > m
    {
        return Err(problem(field, "max", format!("must be at most {m}")));
    }
    let mut d = d;
    d.rescale(scale);
    Ok(d)
}

fn expect_str<'a>(field: &FieldDef, v: &'a Json) -> Result<&'a str, Problem> {
    v.as_str()
        .ok_or_else(|| problem(field, "type", "must be a string"))
}

fn check_len(field: &FieldDef, s: &str) -> Result<(), Problem> {
    if let Some(max) = text_max_len(&field.kind)
        && s.chars().count() > max as usize
    {
        return Err(problem(
            field,
            "max_length",
            format!("must be at most {max} characters"),
        ));
    }
    if let FieldKind::Text {
        min_length: Some(min),
        ..
    } = &field.kind
        && s.chars().count() < *min as usize
    {
        return Err(problem(
            field,
            "min_length",
            format!("must be at least {min} characters"),
        ));
    }
    Ok(())
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

/// Convert one JSON value to the field's typed value. `old` is the stored value, used to let an
/// unchanged retired select option through.
pub fn coerce(field: &FieldDef, v: &Json, old: Option<&Value>) -> Result<Value, Problem> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    // An empty string in a text-like or select field means "no value" (as in most CRMs), so
    // required checks and "is empty" filters treat it the same as null.
    if v.as_str().is_some_and(|s| s.trim().is_empty())
        && (field.kind.is_textual() || matches!(field.kind, FieldKind::SingleSelect { .. }))
    {
        return Ok(Value::Null);
    }
    match &field.kind {
        FieldKind::Text { .. }
        | FieldKind::LongText { .. }
        | FieldKind::RichText { .. }
        | FieldKind::AutoNumber { .. } => {
            let s = expect_str(field, v)?;
            check_len(field, s)?;
            Ok(Value::Text(s.to_owned()))
        }
        FieldKind::Email => {
            let s = expect_str(field, v)?;
            check_len(field, s)?;
            if !EMAIL.is_match(s) {
                return Err(problem(field, "format", "must be an email address"));
            }
            Ok(Value::Text(s.to_owned()))
        }
        FieldKind::Phone { cn_mobile } => {
            let s = expect_str(field, v)?;
            check_len(field, s)?;
            let compact: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
            let ok = if *cn_mobile {
                CN_MOBILE.is_match(&compact)
            } else {
                PHONE.is_match(s)
            };
            if !ok {
                let msg = if *cn_mobile {
                    "must be a mainland China mobile number (11 digits, starting 13-19)"
                } else {
                    "must be a phone number"
                };
                return Err(problem(field, "format", msg));
            }
            Ok(Value::Text(s.to_owned()))
        }
        FieldKind::Url => {
            let s = expect_str(field, v)?;
            check_len(field, s)?;
            let lower = s.to_ascii_lowercase();
            let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
                && s.len() > 8
                && !s.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(problem(
                    field,
                    "format",
                    "must be an http:// or https:// URL",
                ));
            }
            Ok(Value::Text(s.to_owned()))
        }
        FieldKind::Integer { min, max } => {
            let n = match v {
                Json::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                        .map(|f| f as i64)
                }),
                _ => None,
            }
            .ok_or_else(|| problem(field, "type", "must be an integer"))?;
            if let Some(m) = min
                && n < *m
            {
                return Err(problem(field, "min", format!("must be at least {m}")));
            }
            if let Some(m) = max
                && n > *m
            {
                return Err(problem(field, "max", format!("must be at most {m}")));
            }
            Ok(Value::Int(n))
        }
        FieldKind::Decimal {
            precision,
            scale,
            min,
            max,
        } => {
            let d = parse_decimal(v)
                .ok_or_else(|| problem(field, "type", "must be a decimal number"))?;
            Ok(Value::Decimal(check_decimal(
                field, d, *precision, *scale, *min, *max,
            )?))
        }
        FieldKind::Percent { scale, min, max } => {
            let d = parse_decimal(v)
                .ok_or_else(|| problem(field, "type", "must be a decimal number"))?;
            Ok(Value::Decimal(check_decimal(
                field, d, 12, *scale, *min, *max,
            )?))
        }
        FieldKind::Currency {
            precision,
            scale,
            default_currency,
            min,
            max,
        } => {
            let (amount, currency) = match v {
                Json::Object(m) => {
                    for k in m.keys() {
                        if k != "amount" && k != "currency" {
                            return Err(problem(
                                field,
                                "unknown_field",
                                format!("unexpected key '{k}' (expected amount, currency)"),
                            ));
                        }
                    }
                    let a = m
                        .get("amount")
                        .ok_or_else(|| problem(field, "required", "amount is required"))?;
                    let c = match m.get("currency") {
                        None | Some(Json::Null) => default_currency.clone(),
                        Some(Json::String(c)) => c.clone(),
                        Some(_) => {
                            return Err(problem(field, "type", "currency must be a string"));
                        }
                    };
                    (a, c)
                }
                other => (other, default_currency.clone()),
            };
            let d = parse_decimal(amount)
                .ok_or_else(|| problem(field, "type", "amount must be a decimal number"))?;
            if !CURRENCY_CODE.is_match(&currency) {
                return Err(problem(
                    field,
                    "format",
                    "currency must be an ISO 4217 code such as CNY",
                ));
            }
            Ok(Value::Money {
                amount: check_decimal(field, d, *precision, *scale, *min, *max)?,
                currency,
            })
        }
        FieldKind::Boolean => v
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| problem(field, "type", "must be true or false")),
        FieldKind::Date => {
            let s = expect_str(field, v)?;
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Value::Date)
                .map_err(|_| problem(field, "format", "must be a date like 2026-03-01"))
        }
        FieldKind::Datetime => {
            let s = expect_str(field, v)?;
            parse_datetime(s).map(Value::DateTime).ok_or_else(|| {
                problem(
                    field,
                    "format",
                    "must be an RFC 3339 date-time with offset, like 2026-03-01T10:00:00+08:00",
                )
            })
        }
        FieldKind::Time => {
            let s = expect_str(field, v)?;
            parse_time(s)
                .map(Value::Time)
                .ok_or_else(|| problem(field, "format", "must be a time like 09:30 or 09:30:00"))
        }
        FieldKind::SingleSelect { options } => {
            let s = expect_str(field, v)?;
            match options.iter().find(|o| o.value == s) {
                Some(o) if !o.inactive => Ok(Value::Text(s.to_owned())),
                Some(_) if old == Some(&Value::Text(s.to_owned())) => Ok(Value::Text(s.to_owned())),
                Some(_) => Err(problem(
                    field,
                    "inactive_option",
                    format!("option '{s}' is retired"),
                )),
                None => Err(problem(
                    field,
                    "invalid_option",
                    format!("'{}' is not one of the options", truncate(s)),
                )),
            }
        }
        FieldKind::MultiSelect {
            options,
            max_selected,
        } => {
            let arr = v
                .as_array()
                .ok_or_else(|| problem(field, "type", "must be an array of option values"))?;
            let old_vals: Vec<&str> = match old {
                Some(Value::Json(Json::Array(a))) => a.iter().filter_map(|x| x.as_str()).collect(),
                _ => vec![],
            };
            let mut out = Vec::with_capacity(arr.len());
            for (i, item) in arr.iter().enumerate() {
                let s = item.as_str().ok_or_else(|| {
                    Problem::new(
                        format!("/{}/{i}", pointer_segment(field.name())),
                        "type",
                        "must be a string",
                    )
                })?;
                match options.iter().find(|o| o.value == s) {
                    Some(o) if !o.inactive || old_vals.contains(&s) => {}
                    Some(_) => {
                        return Err(Problem::new(
                            format!("/{}/{i}", pointer_segment(field.name())),
                            "inactive_option",
                            format!("option '{s}' is retired"),
                        ));
                    }
                    None => {
                        return Err(Problem::new(
                            format!("/{}/{i}", pointer_segment(field.name())),
                            "invalid_option",
                            format!("'{}' is not one of the options", truncate(s)),
                        ));
                    }
                }
                if out.iter().any(|x: &Json| x.as_str() == Some(s)) {
                    return Err(problem(field, "duplicate", format!("'{s}' appears twice")));
                }
                out.push(Json::String(s.to_owned()));
            }
            if let Some(m) = max_selected
                && out.len() > *m as usize
            {
                return Err(problem(
                    field,
                    "max_items",
                    format!("at most {m} options may be selected"),
                ));
            }
            Ok(Value::Json(Json::Array(out)))
        }
        FieldKind::Address => {
            let m = v.as_object().ok_or_else(|| {
                problem(
                    field,
                    "type",
                    "must be an object with province, city, district, detail",
                )
            })?;
            let mut out = Map::new();
            for (k, val) in m {
                let Some((_, max)) = ADDRESS_PARTS.iter().find(|(p, _)| p == k) else {
                    return Err(problem(
                        field,
                        "unknown_field",
                        format!("unexpected key '{}' in address", truncate(k)),
                    ));
                };
                match val {
                    Json::Null => {}
                    Json::String(s) if s.chars().count() <= *max => {
                        out.insert(k.clone(), Json::String(s.clone()));
                    }
                    Json::String(_) => {
                        return Err(Problem::new(
                            format!("/{}/{k}", pointer_segment(field.name())),
                            "max_length",
                            format!("must be at most {max} characters"),
                        ));
                    }
                    _ => {
                        return Err(Problem::new(
                            format!("/{}/{k}", pointer_segment(field.name())),
                            "type",
                            "must be a string",
                        ));
                    }
                }
            }
            Ok(Value::Json(Json::Object(out)))
        }
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department => parse_uuid(v)
            .map(Value::Uuid)
            .ok_or_else(|| problem(field, "type", "must be a record id (UUID)")),
        FieldKind::MultiLookup { max_items, .. } => {
            let arr = v
                .as_array()
                .ok_or_else(|| problem(field, "type", "must be an array of record ids"))?;
            let max = max_items.unwrap_or(1_000) as usize;
            if arr.len() > max {
                return Err(problem(
                    field,
                    "max_items",
                    format!("at most {max} items allowed"),
                ));
            }
            let mut out = Vec::with_capacity(arr.len());
            for (i, item) in arr.iter().enumerate() {
                let u = parse_uuid(item).ok_or_else(|| {
                    Problem::new(
                        format!("/{}/{i}", pointer_segment(field.name())),
                        "type",
                        "must be a record id (UUID)",
                    )
                })?;
                if !out.contains(&u) {
                    out.push(u);
                }
            }
            Ok(Value::UuidList(out))
        }
        FieldKind::Attachment { max_files, .. } => {
            let arr = v
                .as_array()
                .ok_or_else(|| problem(field, "type", "must be an array of file ids"))?;
            if arr.len() > *max_files as usize {
                return Err(problem(
                    field,
                    "max_items",
                    format!("at most {max_files} files allowed"),
                ));
            }
            let mut out = Vec::with_capacity(arr.len());
            for (i, item) in arr.iter().enumerate() {
                let id = match item {
                    Json::String(_) => parse_uuid(item),
                    Json::Object(m) => m.get("id").and_then(parse_uuid),
                    _ => None,
                }
                .ok_or_else(|| {
                    Problem::new(
                        format!("/{}/{i}", pointer_segment(field.name())),
                        "type",
                        "must be a file id or an object with an id",
                    )
                })?;
                let mut o = Map::new();
                o.insert("id".into(), Json::String(id.to_string()));
                out.push(Json::Object(o));
            }
            Ok(Value::Json(Json::Array(out)))
        }
        FieldKind::Json { max_bytes } => {
            let max = max_bytes.unwrap_or(64 * 1024).min(limits::JSON_MAX_BYTES) as usize;
            let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
            if size > max {
                return Err(problem(
                    field,
                    "max_bytes",
                    format!("must be at most {max} bytes of JSON"),
                ));
            }
            Ok(Value::Json(v.clone()))
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        let t: String = s.chars().take(40).collect();
        format!("{t}…")
    } else {
        s.to_owned()
    }
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

/// Best-effort conversion of a stored value to another field type, used when an admin changes
/// a field's type. `None` means the value cannot be converted (it is counted by the dry run).
pub fn convert(from: &FieldDef, to: &FieldDef, v: &Value) -> Option<Value> {
    if v.is_null() {
        return Some(Value::Null);
    }
    // Go through the JSON form where it is meaningful, with a few direct numeric paths.
    let as_json = to_json(&from.kind, v);
    let candidate: Json = match (&from.kind, &to.kind, v) {
        (_, k, Value::Money { amount, .. }) if !matches!(k, FieldKind::Currency { .. }) => {
            Json::String(amount.to_string())
        }
        (
            _,
            FieldKind::Text { .. } | FieldKind::LongText { .. } | FieldKind::RichText { .. },
            _,
        ) => match as_json {
            Json::String(s) => Json::String(s),
            Json::Array(a) => Json::String(
                a.iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Json::Object(m) if matches!(from.kind, FieldKind::Address) => Json::String(
                ADDRESS_PARTS
                    .iter()
                    .filter_map(|(k, _)| m.get(*k).and_then(|x| x.as_str()))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            other => Json::String(other.to_string()),
        },
        (_, FieldKind::Integer { .. }, Value::Decimal(d)) => {
            if d.fract().is_zero() {
                Json::from(i64::try_from(d.trunc().mantissa() / 10_i128.pow(d.scale())).ok()?)
            } else {
                return None;
            }
        }
        (_, FieldKind::Integer { .. }, Value::Text(s)) => Json::from(i64::from_str(s.trim()).ok()?),
        (_, FieldKind::Boolean, Value::Text(s)) => match s.trim().to_lowercase().as_str() {
            "true" | "yes" | "1" | "是" | "y" => Json::Bool(true),
            "false" | "no" | "0" | "否" | "n" => Json::Bool(false),
            _ => return None,
        },
        (_, FieldKind::Boolean, Value::Int(i)) => Json::Bool(*i != 0),
        (_, FieldKind::Integer { .. }, Value::Bool(b)) => Json::from(i64::from(*b)),
        (_, FieldKind::MultiSelect { .. }, Value::Text(s)) => Json::Array(
            s.split([',', '，', ';'])
                .map(|p| Json::String(p.trim().to_owned()))
                .filter(|p| p.as_str() != Some(""))
                .collect(),
        ),
        (
            FieldKind::MultiSelect { .. },
            FieldKind::SingleSelect { .. },
            Value::Json(Json::Array(a)),
        ) => match a.as_slice() {
            [] => Json::Null,
            [one] => one.clone(),
            _ => return None,
        },
        (_, FieldKind::Date, Value::DateTime(dt)) => {
            Json::String(dt.date_naive().format("%Y-%m-%d").to_string())
        }
        (_, FieldKind::Datetime, Value::Date(d)) => {
            Json::String(format!("{}T00:00:00Z", d.format("%Y-%m-%d")))
        }
        (_, FieldKind::Json { .. }, _) => as_json,
        (
            _,
            FieldKind::Lookup { .. }
            | FieldKind::MasterDetail { .. }
            | FieldKind::MultiLookup { .. },
            _,
        ) if from.kind.reference_target() != to.kind.reference_target() => {
            return None;
        }
        (_, _, Value::Text(s)) => {
            // Text into numbers: accept the usual thousands separators users paste.
            if to.kind.decimal_scale().is_some() || matches!(to.kind, FieldKind::Currency { .. }) {
                Json::String(s.trim().replace([',', '，', '¥', '￥'], ""))
            } else {
                Json::String(s.trim().to_owned())
            }
        }
        _ => as_json,
    };
    coerce(to, &candidate, None).ok()
}
