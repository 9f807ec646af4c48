//! The checked-in OpenAPI document must be usable by a generated client, not only present:
//! every JSON success response has a schema that says something (not a bare `{type: object}`),
//! every path parameter appears in its path template (query parameters are `in: query`), and
//! every authenticated operation documents 401.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::Value as Json;

/// Operations of the automation and flows areas whose responses are typed on another branch
/// (issue 11, typed boundary part B). Empty this list when that work is merged.
const PENDING_TYPED_B: &[&str] = &[];

fn document() -> Json {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Follow `$ref`s into `components/schemas`.
fn resolve<'a>(doc: &'a Json, mut s: &'a Json) -> &'a Json {
    for _ in 0..16 {
        let Some(r) = s.get("$ref").and_then(Json::as_str) else {
            return s;
        };
        let name = r.rsplit('/').next().unwrap_or_default();
        s = &doc["components"]["schemas"][name];
    }
    s
}

/// A schema a client generator can do nothing with: missing, or an object with no properties
/// and no described additional properties.
fn untyped(doc: &Json, schema: Option<&Json>) -> bool {
    let Some(schema) = schema else {
        return true;
    };
    let s = resolve(doc, schema);
    if s.is_null() || s.as_object().is_some_and(|m| m.is_empty()) {
        return true;
    }
    let is_object = s["type"] == "object"
        || s["type"]
            .as_array()
            .is_some_and(|t| t.contains(&Json::from("object")));
    let has_props = s["properties"].as_object().is_some_and(|p| !p.is_empty());
    let described_map = !s["additionalProperties"].is_null() && s["description"].is_string();
    let typed_map = s["additionalProperties"].is_object();
    is_object && !has_props && !described_map && !typed_map
}

fn template_params(path: &str) -> BTreeSet<String> {
    path.split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
        .collect()
}

fn problems(doc: &Json) -> Vec<String> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let in_template = template_params(path);
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            for p in op["parameters"].as_array().into_iter().flatten() {
                let p = resolve(doc, p);
                if p["in"] == "path" && !in_template.contains(p["name"].as_str().unwrap_or("")) {
                    out.push(format!(
                        "{name}: path parameter `{}` is not in the path",
                        p["name"]
                    ));
                }
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured && op["responses"].get("401").is_none() {
                out.push(format!("{name}: authenticated but no 401"));
            }
            for (status, resp) in op["responses"].as_object().into_iter().flatten() {
                if !status.starts_with('2') {
                    continue;
                }
                let resp = resolve(doc, resp);
                for (ctype, content) in resp["content"].as_object().into_iter().flatten() {
                    if ctype.contains("json") && untyped(doc, content.get("schema")) {
                        out.push(format!("{name}: {status} {ctype} has no schema"));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn openapi_document_is_typed() {
    let doc = document();
    let all = problems(&doc);
    let pending = |p: &String| {
        PENDING_TYPED_B
            .iter()
            .any(|op| p.starts_with(&format!("{op}:")))
    };
    let failing: Vec<&String> = all.iter().filter(|p| !pending(p)).collect();
    assert!(
        failing.is_empty(),
        "the OpenAPI document is wrong in {} places:\n{}",
        failing.len(),
        failing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let stale: Vec<&&str> = PENDING_TYPED_B
        .iter()
        .filter(|op| !all.iter().any(|p| p.starts_with(&format!("{op}:"))))
        .collect();
    assert!(
        stale.is_empty(),
        "PENDING_TYPED_B lists operations that are fine now: {stale:?}"
    );
}

#[test]
fn the_check_catches_what_it_should() {
    let doc: Json = serde_json::json!({
        "paths": {"/a/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path"}, {"name": "limit", "in": "path"}],
            "security": [{"api_key": []}],
            "responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}
        }}},
        "components": {"schemas": {}}
    });
    let p = problems(&doc);
    assert_eq!(p.len(), 3, "{p:?}");
}

/// Every `$ref` of the document names a schema it holds (schemas referenced only through
/// `value_type = …` must still be registered as components).
fn dangling_refs(doc: &Json) -> BTreeSet<String> {
    fn walk(v: &Json, out: &mut Vec<String>) {
        match v {
            Json::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Json::as_str) {
                    out.push(r.to_owned());
                }
                m.values().for_each(|x| walk(x, out));
            }
            Json::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(doc, &mut refs);
    refs.into_iter()
        .filter(|r| {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
            doc["components"]["schemas"].get(name).is_none()
        })
        .collect()
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let dangling = dangling_refs(&doc);
    assert!(dangling.is_empty(), "unresolved $refs: {dangling:?}");
    let bad = serde_json::json!({"a": {"$ref": "#/components/schemas/Nope"}, "components": {"schemas": {}}});
    assert_eq!(dangling_refs(&bad).len(), 1);
}
