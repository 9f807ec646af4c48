//! Checking one JSON value against its field and converting it to a typed [`Value`]: every
//! format, bound and option rule of the field types lives here.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use super::{
    ADDRESS_PARTS, Value, parse_datetime, parse_decimal, parse_time, parse_uuid, text_max_len,
};
use crate::field::{FieldDef, FieldKind, SelectOption, limits};
use crate::problem::{Problem, pointer_segment};

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
fn problem(field: &FieldDef, code: &str, msg: impl Into<String>) -> Problem {
    Problem::new(format!("/{}", pointer_segment(field.name())), code, msg)
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
        | FieldKind::AutoNumber { .. }
        | FieldKind::Email
        | FieldKind::Phone { .. }
        | FieldKind::Url => text(field, v),
        FieldKind::Integer { min, max } => integer(field, v, *min, *max),
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
            let (amount, currency) = money_parts(field, v, default_currency)?;
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
        FieldKind::SingleSelect { options } => single_select(field, v, options, old),
        FieldKind::MultiSelect {
            options,
            max_selected,
        } => multi_select(field, v, options, *max_selected, old),
        FieldKind::Address => address(field, v),
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department => parse_uuid(v)
            .map(Value::Uuid)
            .ok_or_else(|| problem(field, "type", "must be a record id (UUID)")),
        FieldKind::MultiLookup { max_items, .. } => multi_lookup(field, v, *max_items),
        FieldKind::Attachment { max_files, .. } => attachments(field, v, *max_files),
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

/// Text-like fields: a string within the length limits, in the format of e-mail, phone and URL
/// fields.
fn text(field: &FieldDef, v: &Json) -> Result<Value, Problem> {
    let s = expect_str(field, v)?;
    check_len(field, s)?;
    match &field.kind {
        FieldKind::Email if !EMAIL.is_match(s) => {
            return Err(problem(field, "format", "must be an email address"));
        }
        FieldKind::Phone { cn_mobile } => {
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
        }
        FieldKind::Url => {
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
        }
        _ => {}
    }
    Ok(Value::Text(s.to_owned()))
}

fn integer(
    field: &FieldDef,
    v: &Json,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<Value, Problem> {
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
        && n < m
    {
        return Err(problem(field, "min", format!("must be at least {m}")));
    }
    if let Some(m) = max
        && n > m
    {
        return Err(problem(field, "max", format!("must be at most {m}")));
    }
    Ok(Value::Int(n))
}

/// The amount and currency of `{"amount", "currency"}`, or of a bare amount in the default
/// currency.
fn money_parts<'j>(
    field: &FieldDef,
    v: &'j Json,
    default_currency: &str,
) -> Result<(&'j Json, String), Problem> {
    match v {
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
                None | Some(Json::Null) => default_currency.to_owned(),
                Some(Json::String(c)) => c.clone(),
                Some(_) => {
                    return Err(problem(field, "type", "currency must be a string"));
                }
            };
            Ok((a, c))
        }
        other => Ok((other, default_currency.to_owned())),
    }
}

fn single_select(
    field: &FieldDef,
    v: &Json,
    options: &[SelectOption],
    old: Option<&Value>,
) -> Result<Value, Problem> {
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

fn multi_select(
    field: &FieldDef,
    v: &Json,
    options: &[SelectOption],
    max_selected: Option<u32>,
    old: Option<&Value>,
) -> Result<Value, Problem> {
    let arr = v
        .as_array()
        .ok_or_else(|| problem(field, "type", "must be an array of option values"))?;
    let old_vals: Vec<&str> = match old {
        Some(Value::Json(Json::Array(a))) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => vec![],
    };
    let mut out = Vec::with_capacity(arr.len());
    for (i, item) in arr.iter().enumerate() {
        let at = format!("/{}/{i}", pointer_segment(field.name()));
        let s = item
            .as_str()
            .ok_or_else(|| Problem::new(at.clone(), "type", "must be a string"))?;
        match options.iter().find(|o| o.value == s) {
            Some(o) if !o.inactive || old_vals.contains(&s) => {}
            Some(_) => {
                return Err(Problem::new(
                    at,
                    "inactive_option",
                    format!("option '{s}' is retired"),
                ));
            }
            None => {
                return Err(Problem::new(
                    at,
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
        && out.len() > m as usize
    {
        return Err(problem(
            field,
            "max_items",
            format!("at most {m} options may be selected"),
        ));
    }
    Ok(Value::Json(Json::Array(out)))
}

fn address(field: &FieldDef, v: &Json) -> Result<Value, Problem> {
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

fn multi_lookup(field: &FieldDef, v: &Json, max_items: Option<u32>) -> Result<Value, Problem> {
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

/// Attachments are stored as `[{"id"}]`; file metadata is added by the runtime.
fn attachments(field: &FieldDef, v: &Json, max_files: u32) -> Result<Value, Problem> {
    let arr = v
        .as_array()
        .ok_or_else(|| problem(field, "type", "must be an array of file ids"))?;
    if arr.len() > max_files as usize {
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

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        let t: String = s.chars().take(40).collect();
        format!("{t}…")
    } else {
        s.to_owned()
    }
}
