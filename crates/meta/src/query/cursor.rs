//! Cursors: the position after a page's last row, as its sort values and id, encoded with the
//! signature of the sort it was made for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::fields::{filter_value, system_field};
use super::plan::{Cursor, Dir, SortKey};
use crate::compiled::CompiledObject;
use crate::field::FieldDef;
use crate::value::{Value, parse_uuid, to_json};

fn sort_signature(sort: &[SortKey]) -> String {
    sort.iter()
        .map(|k| {
            format!(
                "{}{}",
                if k.dir == Dir::Desc { "-" } else { "" },
                k.col.name
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn field_for(obj: &CompiledObject, name: &str) -> Option<FieldDef> {
    obj.field(name).cloned().or_else(|| system_field(name))
}

/// Encode the cursor after a row, given the row's sort values (JSON form) and id.
pub fn encode_cursor(sort: &[SortKey], values: &[Json], id: Uuid) -> String {
    let doc = json!({"s": sort_signature(sort), "v": values, "id": id});
    URL_SAFE_NO_PAD.encode(doc.to_string())
}

pub(super) fn decode_cursor(obj: &CompiledObject, s: &str, sort: &[SortKey]) -> Option<Cursor> {
    if s.len() > 4_096 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let doc: Json = serde_json::from_slice(&bytes).ok()?;
    if doc.get("s")?.as_str()? != sort_signature(sort) {
        return None;
    }
    let id = parse_uuid(doc.get("id")?)?;
    let vals = doc.get("v")?.as_array()?;
    if vals.len() != sort.len() {
        return None;
    }
    let mut values = Vec::with_capacity(vals.len());
    for (k, v) in sort.iter().zip(vals) {
        if v.is_null() {
            values.push(Value::Null);
            continue;
        }
        let f = field_for(obj, &k.col.name)?;
        values.push(filter_value(&f, v)?);
    }
    Some(Cursor { values, id })
}

/// JSON form of a value used in a cursor.
pub fn cursor_value(obj: &CompiledObject, name: &str, v: &Value) -> Json {
    match (v, field_for(obj, name)) {
        (Value::Money { amount, .. }, _) => Json::String(amount.to_string()),
        (v, Some(f)) => to_json(&f.kind, v),
        (_, None) => Json::Null,
    }
}
