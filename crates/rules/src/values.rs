//! Converting between the API's JSON form of field values and script values.

use chrono_tz::Tz;
use rhai::{Array, Dynamic, INT, Map};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::catalog::ScalarType;
use crate::datetime::{self, Date, DateTime, Time};
use crate::functions::parse_decimal;

/// JSON nesting accepted for `Json` fields and user attributes.
const MAX_JSON_DEPTH: usize = 32;

/// Why a JSON value could not become a script value (or back).
pub(crate) type ConvResult<T> = Result<T, String>;

/// A text as a script value (rhai's shared immutable string).
pub(crate) fn text_value(s: &str) -> Dynamic {
    Dynamic::from(rhai::ImmutableString::from(s))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn expected(ty: ScalarType, v: &Value) -> String {
    format!("expected {}, got {}", ty.label(), json_kind(v))
}

pub(crate) fn json_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => parse_decimal(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(Decimal::from(i)),
            None => parse_decimal(&n.to_string()),
        },
        _ => None,
    }
}

/// The script value of a field value. `null` (and a missing field) is `()`.
pub(crate) fn to_script(ty: ScalarType, v: &Value, tz: Tz) -> ConvResult<Dynamic> {
    if v.is_null() {
        return Ok(Dynamic::UNIT);
    }
    let bad = || expected(ty, v);
    Ok(match ty {
        ScalarType::Text | ScalarType::Id => match v {
            Value::String(s) => text_value(s),
            Value::Number(_) | Value::Bool(_) => Dynamic::from(v.to_string()),
            _ => return Err(bad()),
        },
        ScalarType::Integer => match v {
            Value::Number(n) => Dynamic::from_int(n.as_i64().ok_or_else(bad)?),
            Value::String(s) => Dynamic::from_int(s.trim().parse::<INT>().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
        ScalarType::Decimal => Dynamic::from_decimal(json_decimal(v).ok_or_else(bad)?),
        ScalarType::Currency => {
            let amount = match v {
                Value::Object(m) => m.get("amount").unwrap_or(&Value::Null),
                other => other,
            };
            if amount.is_null() {
                Dynamic::UNIT
            } else {
                Dynamic::from_decimal(json_decimal(amount).ok_or_else(bad)?)
            }
        }
        ScalarType::Bool => Dynamic::from_bool(v.as_bool().ok_or_else(bad)?),
        ScalarType::Date => {
            let s = v.as_str().ok_or_else(bad)?;
            Dynamic::from(Date(datetime::parse_date(s).ok_or_else(bad)?))
        }
        ScalarType::DateTime => {
            let s = v.as_str().ok_or_else(bad)?;
            Dynamic::from(DateTime(datetime::parse_datetime(s, tz).ok_or_else(bad)?))
        }
        ScalarType::Time => {
            let s = v.as_str().ok_or_else(bad)?;
            Dynamic::from(Time(datetime::parse_time(s).ok_or_else(bad)?))
        }
        ScalarType::TextList | ScalarType::IdList => {
            let items = v.as_array().ok_or_else(bad)?;
            let mut out = Array::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.push(text_value(s)),
                    Value::Null => {}
                    _ => return Err(bad()),
                }
            }
            Dynamic::from_array(out)
        }
        ScalarType::Json => json_to_script(v, 0)?,
    })
}

/// Any JSON as a script value: numbers become integers or exact decimals.
pub(crate) fn json_to_script(v: &Value, depth: usize) -> ConvResult<Dynamic> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels"));
    }
    Ok(match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => json_decimal(v)
                .map(Dynamic::from_decimal)
                .unwrap_or_else(|| Dynamic::from(n.to_string())),
        },
        Value::String(s) => text_value(s),
        Value::Array(a) => Dynamic::from_array(
            a.iter()
                .map(|x| json_to_script(x, depth + 1))
                .collect::<ConvResult<Array>>()?,
        ),
        Value::Object(m) => {
            let mut map = Map::new();
            for (k, x) in m {
                map.insert(k.as_str().into(), json_to_script(x, depth + 1)?);
            }
            Dynamic::from_map(map)
        }
    })
}

fn decimal_text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A script result in the API's JSON form for a field of type `ty`.
pub(crate) fn from_script(ty: ScalarType, v: &Dynamic) -> ConvResult<Value> {
    if v.is_unit() {
        return Ok(Value::Null);
    }
    let bad = || format!("the result should be {}, not {}", ty.label(), v.type_name());
    let text = || v.as_immutable_string_ref().ok().map(|s| s.to_string());
    Ok(match ty {
        ScalarType::Text => Value::String(crate::functions::to_text(v)),
        ScalarType::Id => Value::String(text().ok_or_else(bad)?),
        ScalarType::Integer => {
            if let Ok(i) = v.as_int() {
                Value::from(i)
            } else {
                let d = crate::functions::to_decimal(v).ok_or_else(bad)?;
                if !d.fract().is_zero() {
                    return Err(format!("the result should be a whole number, not {d}"));
                }
                Value::from(i64::try_from(d).map_err(|_| bad())?)
            }
        }
        ScalarType::Decimal => Value::String(decimal_text(
            crate::functions::to_decimal(v).ok_or_else(bad)?,
        )),
        ScalarType::Currency => {
            let amount = crate::functions::to_decimal(v).ok_or_else(bad)?;
            serde_json::json!({ "amount": decimal_text(amount), "currency": null })
        }
        ScalarType::Bool => Value::Bool(v.as_bool().map_err(|_| bad())?),
        ScalarType::Date => {
            if let Some(d) = v.read_lock::<Date>() {
                Value::String(d.to_string())
            } else if let Some(d) = v.read_lock::<DateTime>() {
                Value::String(Date(d.0.date_naive()).to_string())
            } else {
                let s = text().ok_or_else(bad)?;
                Value::String(Date(datetime::parse_date(&s).ok_or_else(bad)?).to_string())
            }
        }
        ScalarType::DateTime => {
            let d = v.read_lock::<DateTime>().map(|d| *d).ok_or_else(bad)?;
            Value::String(
                d.0.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            )
        }
        ScalarType::Time => {
            if let Some(t) = v.read_lock::<Time>() {
                Value::String(t.to_string())
            } else {
                let s = text().ok_or_else(bad)?;
                Value::String(Time(datetime::parse_time(&s).ok_or_else(bad)?).to_string())
            }
        }
        ScalarType::TextList | ScalarType::IdList => {
            let a = v.as_array_ref().map_err(|_| bad())?;
            Value::Array(
                a.iter()
                    .filter(|x| !x.is_unit())
                    .map(|x| {
                        x.as_immutable_string_ref()
                            .map(|s| Value::String(s.to_string()))
                            .map_err(|_| bad())
                    })
                    .collect::<ConvResult<_>>()?,
            )
        }
        ScalarType::Json => script_to_json(v, 0)?,
    })
}

/// Any script value as JSON (decimals as exact strings, dates in their text form).
pub(crate) fn script_to_json(v: &Dynamic, depth: usize) -> ConvResult<Value> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!("result nested deeper than {MAX_JSON_DEPTH} levels"));
    }
    if v.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = v.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(d) = v.as_decimal() {
        return Ok(Value::String(decimal_text(d)));
    }
    if let Ok(s) = v.as_immutable_string_ref() {
        return Ok(Value::String(s.to_string()));
    }
    if let Ok(a) = v.as_array_ref() {
        return a.iter().map(|x| script_to_json(x, depth + 1)).collect();
    }
    if let Ok(m) = v.as_map_ref() {
        let mut out = serde_json::Map::new();
        for (k, x) in m.iter() {
            out.insert(k.to_string(), script_to_json(x, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    if v.is::<DateTime>() {
        return from_script(ScalarType::DateTime, v);
    }
    if v.is::<Date>() || v.is::<Time>() {
        return Ok(Value::String(crate::functions::to_text(v)));
    }
    Err(format!("a {} cannot be stored", v.type_name()))
}

/// Whether a field's value differs between two versions of a record, comparing values
/// rather than spellings (`"5.0"` and `5` are the same decimal).
pub(crate) fn changed(ty: ScalarType, new: &Value, old: Option<&Value>) -> bool {
    let Some(old) = old else {
        return !is_blank_json(new);
    };
    if is_blank_json(new) && is_blank_json(old) {
        return false;
    }
    match ty {
        ScalarType::Decimal => {
            json_decimal(new) != json_decimal(old) || new.is_null() != old.is_null()
        }
        ScalarType::Currency => {
            let amount = |v: &Value| json_decimal(v.get("amount").unwrap_or(v));
            let code = |v: &Value| v.get("currency").cloned();
            amount(new) != amount(old) || code(new) != code(old)
        }
        ScalarType::DateTime => {
            let at = |v: &Value| {
                v.as_str()
                    .and_then(|s| datetime::parse_datetime(s, Tz::UTC))
            };
            match (at(new), at(old)) {
                (Some(a), Some(b)) => a != b,
                _ => new != old,
            }
        }
        _ => new != old,
    }
}

fn is_blank_json(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{ScalarType, Tz, changed, from_script, to_script};
    use ScalarType::*;
    use serde_json::{Value, json};

    fn round_trip(ty: ScalarType, input: Value, expected: Value) {
        let d = to_script(ty, &input, Tz::Asia__Shanghai).unwrap();
        assert_eq!(from_script(ty, &d).unwrap(), expected, "{ty:?} {input}");
    }

    #[test]
    fn field_values_round_trip_in_api_form() {
        round_trip(Decimal, json!("500000.00"), json!("500000"));
        round_trip(Decimal, json!(12.5), json!("12.5"));
        round_trip(
            Currency,
            json!({"amount": "1.50", "currency": "CNY"}),
            json!({"amount": "1.5", "currency": null}),
        );
        round_trip(Integer, json!(42), json!(42));
        round_trip(Date, json!("2024-02-29"), json!("2024-02-29"));
        round_trip(
            DateTime,
            json!("2024-05-01T08:00:00+08:00"),
            json!("2024-05-01T00:00:00Z"),
        );
        round_trip(Time, json!("09:30"), json!("09:30:00"));
        round_trip(TextList, json!(["a", "b"]), json!(["a", "b"]));
        round_trip(
            Json,
            json!({"a": [1, "x", null, 1.25]}),
            json!({"a": [1, "x", null, "1.25"]}),
        );
        round_trip(Text, json!(null), json!(null));
    }

    #[test]
    fn rejects_values_of_the_wrong_shape() {
        for (ty, v) in [
            (Integer, json!(1.5)),
            (Decimal, json!("abc")),
            (Date, json!("2024-02-30")),
            (Bool, json!("true")),
            (TextList, json!("a")),
        ] {
            assert!(to_script(ty, &v, Tz::UTC).is_err(), "{ty:?} {v}");
        }
    }

    #[test]
    fn changed_compares_values_not_spellings() {
        assert!(!changed(Decimal, &json!("5.0"), Some(&json!(5))));
        assert!(changed(Decimal, &json!("5.1"), Some(&json!(5))));
        assert!(changed(Text, &json!("a"), None));
        assert!(!changed(Text, &json!(null), None));
        assert!(!changed(Text, &json!(""), Some(&json!(null))));
        assert!(!changed(
            DateTime,
            &json!("2024-05-01T08:00:00+08:00"),
            Some(&json!("2024-05-01T00:00:00Z"))
        ));
    }
}
