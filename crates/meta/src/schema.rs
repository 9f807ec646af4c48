//! JSON Schema (draft 2020-12) for record writes, generated from an object's fields. The same
//! document is published to integrators and used, compiled once, to check every write.

use serde_json::{Map, Value as Json, json};

use crate::field::{FieldDef, FieldKind};
use crate::object::ObjectDef;
use crate::value::{ADDRESS_PARTS, text_max_len};

pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const DECIMAL_PATTERN: &str = r"^\s*[-+]?[0-9]{1,30}(\.[0-9]{1,30})?\s*$";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    Create,
    Patch,
}

fn uuid_schema() -> Json {
    json!({"type": "string", "pattern": UUID_PATTERN})
}

fn nullable(mut s: Json, nullable: bool) -> Json {
    if !nullable {
        return s;
    }
    if let Some(obj) = s.as_object_mut() {
        if let Some(Json::Array(values)) = obj.get_mut("enum") {
            values.push(Json::Null);
        }
        match obj.get("type").cloned() {
            Some(Json::String(t)) => {
                obj.insert("type".into(), json!([t, "null"]));
            }
            Some(Json::Array(mut ts)) => {
                ts.push(json!("null"));
                obj.insert("type".into(), Json::Array(ts));
            }
            _ => {}
        }
    }
    s
}

/// The schema of one field's value (without null).
pub fn field_schema(f: &FieldDef) -> Json {
    let mut s = match &f.kind {
        FieldKind::Text {
            pattern,
            min_length,
            ..
        } => {
            let mut s = json!({"type": "string", "maxLength": text_max_len(&f.kind)});
            if let Some(p) = pattern {
                s["pattern"] = json!(p);
            }
            if let Some(m) = min_length {
                s["minLength"] = json!(m);
            }
            s
        }
        FieldKind::LongText { .. }
        | FieldKind::RichText { .. }
        | FieldKind::Email
        | FieldKind::Phone { .. }
        | FieldKind::Url
        | FieldKind::AutoNumber { .. } => {
            json!({"type": "string", "maxLength": text_max_len(&f.kind)})
        }
        FieldKind::Integer { min, max } => {
            let mut s = json!({"type": "integer"});
            if let Some(m) = min {
                s["minimum"] = json!(m);
            }
            if let Some(m) = max {
                s["maximum"] = json!(m);
            }
            s
        }
        FieldKind::Decimal { .. } | FieldKind::Percent { .. } => {
            json!({"type": ["string", "number"], "pattern": DECIMAL_PATTERN})
        }
        FieldKind::Currency { .. } => json!({
            "type": ["string", "number", "object"],
            "pattern": DECIMAL_PATTERN,
            "properties": {
                "amount": {"type": ["string", "number"], "pattern": DECIMAL_PATTERN},
                "currency": {"type": ["string", "null"], "pattern": "^[A-Z]{3}$"}
            },
            "required": ["amount"],
            "additionalProperties": false
        }),
        FieldKind::Boolean => json!({"type": "boolean"}),
        FieldKind::Date => json!({"type": "string", "format": "date"}),
        FieldKind::Datetime => json!({"type": "string", "format": "date-time"}),
        FieldKind::Time => json!({"type": "string", "format": "time"}),
        FieldKind::SingleSelect { options } => json!({
            "type": "string",
            "enum": options.iter().map(|o| o.value.clone()).collect::<Vec<_>>()
        }),
        FieldKind::MultiSelect {
            options,
            max_selected,
        } => {
            let mut s = json!({
                "type": "array",
                "uniqueItems": true,
                "items": {"type": "string", "enum": options.iter().map(|o| o.value.clone()).collect::<Vec<_>>()}
            });
            if let Some(m) = max_selected {
                s["maxItems"] = json!(m);
            }
            s
        }
        FieldKind::Address => {
            let props: Map<String, Json> = ADDRESS_PARTS
                .iter()
                .map(|(k, max)| {
                    (
                        (*k).to_owned(),
                        json!({"type": ["string", "null"], "maxLength": max}),
                    )
                })
                .collect();
            json!({"type": "object", "properties": props, "additionalProperties": false})
        }
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department => uuid_schema(),
        FieldKind::MultiLookup { max_items, .. } => json!({
            "type": "array",
            "items": uuid_schema(),
            "maxItems": max_items.unwrap_or(1000)
        }),
        FieldKind::Attachment { max_files, .. } => json!({
            "type": "array",
            "maxItems": max_files,
            "items": {"anyOf": [
                uuid_schema(),
                {"type": "object", "required": ["id"], "properties": {"id": uuid_schema()}}
            ]}
        }),
        FieldKind::Json { .. } => json!({}),
    };
    if let Some(obj) = s.as_object_mut() {
        let title = f.label.get(false);
        if !title.is_empty() {
            obj.insert("title".into(), json!(title));
        }
        if let Some(d) = &f.description {
            obj.insert("description".into(), json!(d));
        }
        if f.is_generated() {
            obj.insert("readOnly".into(), json!(true));
        }
    }
    s
}

/// The schema a write body must satisfy. Read-only system columns are rejected before this
/// schema runs, so they are not listed.
pub fn write_schema(def: &ObjectDef, mode: WriteMode) -> Json {
    let mut props = Map::new();
    let mut required = Vec::new();
    if mode == WriteMode::Create {
        props.insert("id".into(), uuid_schema());
    }
    props.insert("owner".into(), uuid_schema());
    props.insert("department".into(), nullable(uuid_schema(), true));
    for f in def.live_fields() {
        if f.is_generated() {
            continue;
        }
        let req = f.is_required();
        let s = field_schema(f);
        let s = if matches!(f.kind, FieldKind::Json { .. }) {
            s
        } else {
            nullable(s, !req)
        };
        props.insert(f.name().to_owned(), s);
        if mode == WriteMode::Create && req && f.default.is_none() {
            required.push(json!(f.name()));
        }
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": def.label.get(false),
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false
    })
}
