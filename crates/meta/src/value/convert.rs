//! Converting stored values when an admin changes a field's type.

use std::str::FromStr;

use serde_json::Value as Json;

use super::{ADDRESS_PARTS, Value, coerce, to_json};
use crate::field::{FieldDef, FieldKind};

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
