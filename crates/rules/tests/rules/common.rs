use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use weft_rules::{EvalContext, FieldCatalog, ScalarType};

/// An opportunity-like object with one field of every type.
pub fn catalog() -> FieldCatalog {
    use ScalarType::*;
    FieldCatalog::new()
        .with("name", Text)
        .with("stage", Text)
        .with("amount", Decimal)
        .with("probability", Decimal)
        .with("budget", Currency)
        .with("quantity", Integer)
        .with("won", Bool)
        .with("close_date", Date)
        .with("created_at", DateTime)
        .with("call_time", Time)
        .with("tags", TextList)
        .with("owner", Id)
        .with("watchers", IdList)
        .with("extra", Json)
        .with("weighted", Decimal)
        .with("type", Text)
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// 2024-05-20 10:00 in Shanghai.
pub fn now() -> DateTime<Utc> {
    "2024-05-20T02:00:00Z".parse().unwrap()
}

pub fn user() -> Map<String, Value> {
    obj(json!({
        "id": "0190a3c2-0000-7000-8000-000000000001",
        "name": "王芳",
        "email": "wang@example.com",
        "roles": ["sales", "sales_director"],
        "department": "0190a3c2-0000-7000-8000-0000000000d1"
    }))
}

pub fn ctx<'a>(
    record: &'a Map<String, Value>,
    old: Option<&'a Map<String, Value>>,
    user: &'a Map<String, Value>,
) -> EvalContext<'a> {
    EvalContext {
        record,
        old,
        user,
        now: now(),
        tz: chrono_tz::Asia::Shanghai,
    }
}
