//! Names and values inside a query: resolving a field (or system column) under the caller's
//! field security, and parsing a filter or cursor value for a field.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::Value as Json;
use uuid::Uuid;

use super::plan::{ColKind, col_kind};
use crate::compiled::CompiledObject;
use crate::field::{FieldDef, FieldKind};
use crate::ids::FieldId;
use crate::label::Label;
use crate::name::ApiName;
use crate::problem::Problem;
use crate::value::{Value, parse_datetime, parse_decimal, parse_time, parse_uuid};

/// A pseudo field definition for a system column, so values parse the same way.
pub(super) fn system_field(name: &str) -> Option<FieldDef> {
    let kind = match name {
        "id" | "owner" | "created_by" | "updated_by" => FieldKind::User,
        "department" => FieldKind::Department,
        "version" => FieldKind::Integer {
            min: None,
            max: None,
        },
        "created_at" | "updated_at" => FieldKind::Datetime,
        _ => return None,
    };
    let api = ApiName::parse(name).ok()?;
    Some(FieldDef {
        id: FieldId(Uuid::nil()),
        ..FieldDef::new(api, Label::default(), kind)
    })
}

/// The state of parsing one query: the object, the problems found so far, and the caller's view.
pub(super) struct Ctx<'a> {
    pub(super) obj: &'a CompiledObject,
    pub(super) problems: Vec<Problem>,
    /// Conditions seen so far, to cap the size of a filter.
    pub(super) conditions: usize,
    /// Field names the caller may not filter or sort on (hidden by field security).
    pub(super) hidden: &'a dyn Fn(&str) -> bool,
}

impl Ctx<'_> {
    pub(super) fn resolve(&mut self, name: &str, path: &str) -> Option<FieldDef> {
        if (self.hidden)(name) {
            self.problems.push(Problem::new(
                path,
                "unknown_field",
                format!("there is no field '{name}'"),
            ));
            return None;
        }
        if let Some(f) = self.obj.field(name) {
            return Some(f.clone());
        }
        if let Some(f) = system_field(name) {
            return Some(f);
        }
        self.problems.push(Problem::new(
            path,
            "unknown_field",
            format!("there is no field '{name}'"),
        ));
        None
    }
}

/// Parse a filter value for comparisons: bounds and option lists are not enforced here.
pub(super) fn filter_value(f: &FieldDef, v: &Json) -> Option<Value> {
    if v.is_null() {
        return None;
    }
    Some(match &f.kind {
        FieldKind::Integer { .. } => Value::Int(
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?,
        ),
        FieldKind::Decimal { .. } | FieldKind::Currency { .. } | FieldKind::Percent { .. } => {
            let inner = v.get("amount").unwrap_or(v);
            Value::Decimal(parse_decimal(inner)?)
        }
        FieldKind::Boolean => Value::Bool(v.as_bool()?),
        FieldKind::Date => Value::Date(NaiveDate::parse_from_str(v.as_str()?, "%Y-%m-%d").ok()?),
        FieldKind::Datetime => {
            let s = v.as_str()?;
            match parse_datetime(s) {
                Some(dt) => Value::DateTime(dt),
                // A bare date means midnight UTC, for convenience in date-range filters.
                None => {
                    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
                    Value::DateTime(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?))
                }
            }
        }
        FieldKind::Time => Value::Time(parse_time(v.as_str()?)?),
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department
        | FieldKind::MultiLookup { .. } => Value::Uuid(parse_uuid(v)?),
        _ => {
            let s = v.as_str()?;
            if s.chars().count() > 1_000 {
                return None;
            }
            Value::Text(s.to_owned())
        }
    })
}

pub(super) fn type_hint(f: &FieldDef) -> &'static str {
    match col_kind(&f.kind) {
        ColKind::Int => "an integer",
        ColKind::Decimal => "a decimal number",
        ColKind::Bool => "true or false",
        ColKind::Date => "a date like 2026-03-01",
        ColKind::DateTime => "an RFC 3339 date-time",
        ColKind::Time => "a time like 09:30:00",
        ColKind::Uuid => "a record id (UUID)",
        _ => "a string",
    }
}
