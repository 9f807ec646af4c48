//! Records in their API JSON form.

use serde_json::{Map, Value as Json};
use weft_meta::value::{datetime_string, to_json};
use weft_meta::{CompiledObject, Value};

use crate::ports::RecordRow;

fn uuid_json(u: &uuid::Uuid) -> Json {
    Json::String(u.to_string())
}

/// The JSON of a record: system columns, then the visible fields (all, or `fields`).
pub fn record_json(
    obj: &CompiledObject,
    row: &RecordRow,
    fields: Option<&[String]>,
    visible: &dyn Fn(&str) -> bool,
) -> Json {
    let mut m = Map::new();
    m.insert("id".into(), uuid_json(&row.id));
    m.insert("version".into(), Json::from(row.version));
    m.insert("owner".into(), uuid_json(&row.owner));
    m.insert(
        "department".into(),
        row.department.as_ref().map(uuid_json).unwrap_or(Json::Null),
    );
    m.insert("created_by".into(), uuid_json(&row.created_by));
    m.insert(
        "created_at".into(),
        Json::String(datetime_string(&row.created_at)),
    );
    m.insert("updated_by".into(), uuid_json(&row.updated_by));
    m.insert(
        "updated_at".into(),
        Json::String(datetime_string(&row.updated_at)),
    );
    if let Some(d) = &row.deleted_at {
        m.insert("deleted_at".into(), Json::String(datetime_string(d)));
        m.insert(
            "deleted_by".into(),
            row.deleted_by.as_ref().map(uuid_json).unwrap_or(Json::Null),
        );
    }
    for f in obj.live_fields() {
        let name = f.name();
        if let Some(list) = fields
            && !list.iter().any(|x| x == name)
        {
            continue;
        }
        if !visible(name) {
            continue;
        }
        let v = row.values.get(name).unwrap_or(&Value::Null);
        m.insert(name.to_owned(), to_json(&f.kind, v));
    }
    Json::Object(m)
}

/// The JSON form of one field value.
pub fn value_json(obj: &CompiledObject, field: &str, v: &Value) -> Json {
    obj.any_field(field)
        .map(|f| to_json(&f.kind, v))
        .unwrap_or(Json::Null)
}
