//! The served OpenAPI document must equal the checked-in `openapi.json`, so an API change is
//! a reviewed change. Regenerate with `WEFT_BLESS=1 cargo test -p weft-api --test openapi`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn openapi_document_has_not_drifted() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let current = weft_api::openapi::document() + "\n";
    if std::env::var("WEFT_BLESS").is_ok() {
        std::fs::write(&path, &current).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == current,
        "crates/api/openapi.json is stale: run `WEFT_BLESS=1 cargo test -p weft-api --test openapi` and review the diff"
    );
    let doc: serde_json::Value = serde_json::from_str(&current).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "OpenAPI 3.1"
    );
    assert!(doc["paths"].as_object().unwrap().len() >= 20);
}
