//! Records and gateway audits the scenarios share.

use serde_json::{Value, json};
use weft_flow::Effect;

use crate::support::Run;

pub fn big() -> Value {
    json!({"amount": 600000, "owner": "olga"})
}

pub fn small() -> Value {
    json!({"amount": 100, "owner": "olga"})
}

pub fn taken(run: &Run, node: &str) -> Vec<String> {
    run.audits("gateway_evaluated")
        .into_iter()
        .filter_map(|e| match e {
            Effect::Audit {
                node: Some(n),
                data,
                ..
            } if n == node => Some(data["taken"].clone()),
            _ => None,
        })
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}
