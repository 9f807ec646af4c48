//! Object definitions and their validation. An object is a tenant's record type (Account,
//! Opportunity, or anything an admin designs); its definition is a versioned JSON document.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::autonumber::AutoNumberPattern;
use crate::field::{FieldDef, FieldKind, OnDelete, SelectOption, limits};
use crate::ids::ObjectId;
use crate::label::Label;
use crate::layout::{FormLayout, validate_layout};
use crate::name::ApiName;
use crate::problem::Problem;
use crate::value::coerce;

/// The version tag written into every stored object document.
pub const OBJECT_SCHEMA: &str = "weft.object/1";

fn object_schema() -> String {
    OBJECT_SCHEMA.to_owned()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectDef {
    #[serde(default = "object_schema")]
    pub schema: String,
    #[serde(default)]
    pub id: ObjectId,
    pub api_name: ApiName,
    #[serde(default)]
    pub label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plural_label: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The field shown as the record's name in lookups, lists and titles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_field: Option<ApiName>,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    /// Form layout: sections and columns. `None` shows every live field in one section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<FormLayout>,
    /// Metadata version, assigned by the server; every change increments it.
    #[serde(default)]
    pub version: i64,
}

impl ObjectDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name() == name)
    }

    pub fn live_field(&self, name: &str) -> Option<&FieldDef> {
        self.field(name).filter(|f| f.is_live())
    }

    pub fn live_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.is_live())
    }

    /// The name field, or the first live text field.
    pub fn title_field(&self) -> Option<&FieldDef> {
        self.name_field
            .as_ref()
            .and_then(|n| self.live_field(n.as_str()))
            .or_else(|| {
                self.live_fields().find(|f| {
                    matches!(
                        f.kind,
                        FieldKind::Text { .. } | FieldKind::AutoNumber { .. }
                    )
                })
            })
    }
}

/// Checks an object definition. `target_exists(name)` answers whether a reference target is
/// an object of the same tenant (the object itself counts).
pub fn validate_object(def: &ObjectDef, target_exists: &dyn Fn(&str) -> bool) -> Vec<Problem> {
    let mut out = Vec::new();
    if def.schema != OBJECT_SCHEMA {
        out.push(Problem::new(
            "/schema",
            "unsupported_schema",
            format!("expected '{OBJECT_SCHEMA}'"),
        ));
    }
    if def.label.is_empty() {
        out.push(Problem::new(
            "/label",
            "required",
            "a zh or en label is required",
        ));
    }
    if def.fields.len() > limits::FIELDS_PER_OBJECT {
        out.push(Problem::new(
            "/fields",
            "max_items",
            format!("at most {} fields per object", limits::FIELDS_PER_OBJECT),
        ));
    }
    let mut seen = HashSet::new();
    for (i, f) in def.fields.iter().enumerate() {
        let base = format!("/fields/{i}");
        if !seen.insert(f.name()) {
            out.push(Problem::new(
                format!("{base}/api_name"),
                "duplicate",
                format!("field '{}' is defined twice", f.name()),
            ));
        }
        if ApiName::parse_field(f.name()).is_err() {
            out.push(Problem::new(
                format!("{base}/api_name"),
                "reserved",
                format!("'{}' is a system field name", f.name()),
            ));
        }
        for p in validate_field(f, &def.api_name, target_exists) {
            out.push(p.under(&base));
        }
    }
    if let Some(n) = &def.name_field {
        match def.live_field(n.as_str()) {
            None => out.push(Problem::new(
                "/name_field",
                "unknown_field",
                format!("no field '{n}'"),
            )),
            Some(f) if !f.kind.is_textual() => out.push(Problem::new(
                "/name_field",
                "type",
                "the name field must be a text or auto-number field",
            )),
            _ => {}
        }
    }
    out.extend(validate_layout(def));
    out
}

fn check_range<T: PartialOrd + std::fmt::Display>(
    min: Option<T>,
    max: Option<T>,
    out: &mut Vec<Problem>,
) {
    if let (Some(a), Some(b)) = (min, max)
        && a > b
    {
        out.push(Problem::new(
            "/min",
            "range",
            format!("min {a} is above max {b}"),
        ));
    }
}

/// Checks one field definition; paths are relative to the field.
pub fn validate_field(
    f: &FieldDef,
    object: &ApiName,
    target_exists: &dyn Fn(&str) -> bool,
) -> Vec<Problem> {
    let mut out = Vec::new();
    if f.label.is_empty() {
        out.push(Problem::new(
            "/label",
            "required",
            "a zh or en label is required",
        ));
    }
    kind_problems(f, object, target_exists, &mut out);
    if (f.unique || f.indexed) && !f.kind.is_indexable() {
        out.push(Problem::new(
            if f.unique { "/unique" } else { "/indexed" },
            "not_indexable",
            format!("a {} field cannot be unique or indexed", f.kind.type_name()),
        ));
    }
    if f.unique && matches!(f.kind, FieldKind::Boolean) {
        out.push(Problem::new(
            "/unique",
            "not_indexable",
            "a boolean cannot be unique",
        ));
    }
    if let Some(d) = &f.default {
        default_problems(f, d, &mut out);
    }
    out
}

/// The options of the field's type.
fn kind_problems(
    f: &FieldDef,
    object: &ApiName,
    target_exists: &dyn Fn(&str) -> bool,
    out: &mut Vec<Problem>,
) {
    match &f.kind {
        FieldKind::Text {
            max_length,
            min_length,
            pattern,
        } => text_problems(*max_length, *min_length, pattern.as_deref(), out),
        FieldKind::LongText { max_length }
            if max_length.is_some_and(|m| m == 0 || m > limits::LONG_TEXT_MAX) =>
        {
            out.push(Problem::new(
                "/max_length",
                "range",
                format!("must be 1..={}", limits::LONG_TEXT_MAX),
            ));
        }
        FieldKind::RichText { max_length }
            if max_length.is_some_and(|m| m == 0 || m > limits::RICH_TEXT_MAX) =>
        {
            out.push(Problem::new(
                "/max_length",
                "range",
                format!("must be 1..={}", limits::RICH_TEXT_MAX),
            ));
        }
        FieldKind::Integer { min, max } => check_range(*min, *max, out),
        FieldKind::Decimal {
            precision,
            scale,
            min,
            max,
        }
        | FieldKind::Currency {
            precision,
            scale,
            min,
            max,
            ..
        } => decimal_problems(f, *precision, *scale, (*min, *max), out),
        FieldKind::Percent { scale, min, max } => {
            if *scale > limits::DECIMAL_MAX_SCALE {
                out.push(Problem::new(
                    "/scale",
                    "range",
                    format!("must be 0..={}", limits::DECIMAL_MAX_SCALE),
                ));
            }
            check_range(*min, *max, out);
        }
        FieldKind::SingleSelect { options } | FieldKind::MultiSelect { options, .. } => {
            option_problems(options, out);
        }
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::MultiLookup { .. } => {
            reference_problems(f, object, target_exists, out);
        }
        FieldKind::AutoNumber { pattern, start } => {
            if let Err(e) = AutoNumberPattern::parse(pattern) {
                out.push(Problem::new("/pattern", "invalid_pattern", e));
            }
            if *start < 0 {
                out.push(Problem::new("/start", "range", "must be 0 or more"));
            }
        }
        FieldKind::Attachment {
            max_files,
            max_file_size,
            accept,
        } => attachment_problems(*max_files, *max_file_size, accept, out),
        FieldKind::Json { max_bytes }
            if max_bytes.is_some_and(|m| m == 0 || m > limits::JSON_MAX_BYTES) =>
        {
            out.push(Problem::new(
                "/max_bytes",
                "range",
                format!("must be 1..={}", limits::JSON_MAX_BYTES),
            ));
        }
        _ => {}
    }
}

fn text_problems(
    max_length: Option<u32>,
    min_length: Option<u32>,
    pattern: Option<&str>,
    out: &mut Vec<Problem>,
) {
    if max_length.is_some_and(|m| m == 0 || m > limits::TEXT_MAX) {
        out.push(Problem::new(
            "/max_length",
            "range",
            format!("must be 1..={}", limits::TEXT_MAX),
        ));
    }
    check_range(min_length, max_length, out);
    if let Some(p) = pattern {
        if p.len() > limits::PATTERN_MAX {
            out.push(Problem::new(
                "/pattern",
                "max_length",
                format!("at most {} characters", limits::PATTERN_MAX),
            ));
        } else if let Err(e) = regex::RegexBuilder::new(p).size_limit(1 << 20).build() {
            out.push(Problem::new(
                "/pattern",
                "invalid_pattern",
                format!("not a valid regular expression: {e}"),
            ));
        }
    }
}

/// Decimal and currency fields: precision, scale, bounds and the default currency.
fn decimal_problems(
    f: &FieldDef,
    precision: u32,
    scale: u32,
    (min, max): (Option<Decimal>, Option<Decimal>),
    out: &mut Vec<Problem>,
) {
    if precision == 0 || precision > limits::DECIMAL_MAX_PRECISION {
        out.push(Problem::new(
            "/precision",
            "range",
            format!("must be 1..={}", limits::DECIMAL_MAX_PRECISION),
        ));
    }
    if scale > limits::DECIMAL_MAX_SCALE || scale > precision {
        out.push(Problem::new(
            "/scale",
            "range",
            format!(
                "must be 0..={} and not above the precision",
                limits::DECIMAL_MAX_SCALE
            ),
        ));
    }
    check_range(min, max, out);
    if let FieldKind::Currency {
        default_currency, ..
    } = &f.kind
        && (default_currency.len() != 3
            || !default_currency.chars().all(|c| c.is_ascii_uppercase()))
    {
        out.push(Problem::new(
            "/default_currency",
            "format",
            "must be an ISO 4217 code such as CNY",
        ));
    }
}

fn option_problems(options: &[SelectOption], out: &mut Vec<Problem>) {
    if options.is_empty() {
        out.push(Problem::new("/options", "required", "at least one option"));
    }
    if options.len() > limits::OPTIONS_MAX {
        out.push(Problem::new(
            "/options",
            "max_items",
            format!("at most {} options", limits::OPTIONS_MAX),
        ));
    }
    let mut seen = HashSet::new();
    for (i, o) in options.iter().enumerate() {
        if o.value.trim().is_empty() || o.value.chars().count() > limits::OPTION_VALUE_MAX {
            out.push(Problem::new(
                format!("/options/{i}/value"),
                "length",
                format!("must be 1..={} characters", limits::OPTION_VALUE_MAX),
            ));
        }
        if !seen.insert(o.value.as_str()) {
            out.push(Problem::new(
                format!("/options/{i}/value"),
                "duplicate",
                format!("option '{}' appears twice", o.value),
            ));
        }
        if let Some(c) = &o.color
            && (c.is_empty()
                || c.len() > 32
                || !c
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '#' || ch == '-'))
        {
            out.push(Problem::new(
                format!("/options/{i}/color"),
                "format",
                "a colour like #1677ff or a palette name",
            ));
        }
    }
}

/// Lookups, master-detail and multi-lookups: the target exists, and the delete rule fits.
fn reference_problems(
    f: &FieldDef,
    object: &ApiName,
    target_exists: &dyn Fn(&str) -> bool,
    out: &mut Vec<Problem>,
) {
    let target = match &f.kind {
        FieldKind::Lookup { target, .. }
        | FieldKind::MasterDetail { target }
        | FieldKind::MultiLookup { target, .. } => target,
        _ => return,
    };
    if !target_exists(target.as_str()) {
        out.push(Problem::new(
            "/target",
            "unknown_object",
            format!("no object '{target}'"),
        ));
    }
    match &f.kind {
        FieldKind::Lookup { on_delete, .. } if f.required && *on_delete == OnDelete::SetNull => {
            out.push(Problem::new(
                "/on_delete",
                "conflict",
                "a required lookup cannot use on_delete = set_null (use restrict or cascade)",
            ));
        }
        FieldKind::MasterDetail { .. } if target == object => {
            out.push(Problem::new(
                "/target",
                "conflict",
                "an object cannot be its own master (use a lookup for hierarchies)",
            ));
        }
        _ => {}
    }
}

fn attachment_problems(
    max_files: u32,
    max_file_size: u64,
    accept: &[String],
    out: &mut Vec<Problem>,
) {
    if max_files == 0 || max_files > limits::ATTACHMENT_MAX_FILES {
        out.push(Problem::new(
            "/max_files",
            "range",
            format!("must be 1..={}", limits::ATTACHMENT_MAX_FILES),
        ));
    }
    if max_file_size == 0 || max_file_size > limits::ATTACHMENT_MAX_BYTES {
        out.push(Problem::new(
            "/max_file_size",
            "range",
            format!("must be 1..={}", limits::ATTACHMENT_MAX_BYTES),
        ));
    }
    for (i, a) in accept.iter().enumerate() {
        if !a.contains('/') || a.len() > 100 {
            out.push(Problem::new(
                format!("/accept/{i}"),
                "format",
                "a media type such as image/* or application/pdf",
            ));
        }
    }
}

/// A default is a value of the field's type, or `$today`, `$now` or `$me` where they fit.
fn default_problems(f: &FieldDef, d: &serde_json::Value, out: &mut Vec<Problem>) {
    let special = d.as_str().is_some_and(|s| s.starts_with('$'));
    if special {
        let ok = matches!(
            (d.as_str(), &f.kind),
            (Some("$today"), FieldKind::Date)
                | (Some("$now"), FieldKind::Datetime)
                | (Some("$me"), FieldKind::User)
        );
        if !ok {
            out.push(Problem::new(
                "/default",
                "invalid_default",
                "$today is for dates, $now for datetimes, $me for user fields",
            ));
        }
    } else if f.is_generated() || matches!(f.kind, FieldKind::Attachment { .. }) {
        out.push(Problem::new(
            "/default",
            "invalid_default",
            "this field type takes no default",
        ));
    } else if let Err(p) = coerce(f, d, None) {
        out.push(Problem::new(
            "/default",
            "invalid_default",
            format!("the default is not a valid value: {}", p.message),
        ));
    }
}
