//! What the OpenAPI document states of requests, the server enforces (over real HTTP, both
//! backends): bounded query parameters are refused outside their range with 400 `bad_query`
//! pointing at the parameter, an operation that documents a body refuses a request without one,
//! header and label shapes are checked, and an empty JSON filter is no filter. Schemathesis
//! (`scripts/contract`) checks the same agreement by fuzzing; these cases pin it down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, Resp, Server, TestApp, dual, simple_object};

fn detail(r: &Resp) -> (String, String) {
    let d = &r.body["error"]["details"][0];
    (
        d["path"].as_str().unwrap_or_default().to_owned(),
        d["code"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn zh_get(s: &Server, path: &str) -> Resp {
    s.send("GET", path, None, &[("accept-language", "zh-CN")])
        .await
}

async fn query_bounds_are_enforced(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    for (path, ok) in [
        (
            "/api/v1/automation/runs?limit=501",
            "/api/v1/automation/runs?limit=500",
        ),
        (
            "/api/v1/automation/deliveries?limit=0",
            "/api/v1/automation/deliveries?limit=1",
        ),
        (
            "/api/v1/notifications?limit=201",
            "/api/v1/notifications?limit=200",
        ),
        (
            "/api/v1/flows/tasks?limit=201",
            "/api/v1/flows/tasks?limit=200",
        ),
        ("/api/v1/audit?limit=2147483648", "/api/v1/audit?limit=500"),
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "bad_query", "{path}");
        assert_eq!(detail(&r), ("/limit".into(), "range".into()), "{path}");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`limit`"),
            "{}",
            r.body
        );
        assert_eq!(s.get(ok).await.status, 200, "{ok}");
    }
    let me = s.get("/api/v1/me").await.body["user_id"].clone();
    let me = me.as_str().unwrap();
    let r = s
        .get(&format!("/api/v1/org/users/{me}/manager?level=21"))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(detail(&r), ("/level".into(), "range".into()));
    // In Chinese when the caller prefers it; a parameter of the wrong type is 400 as before.
    let r = zh_get(&s, "/api/v1/notifications?limit=0").await;
    assert_eq!(r.body["error"]["message"], "查询参数「limit」无效");
    let r = s.get("/api/v1/notifications?limit=many").await;
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (400, json!("bad_query"))
    );
}

async fn documented_bodies_are_required(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    let dept = s
        .post("/api/v1/org/departments", json!({"name": "East"}))
        .await;
    assert_eq!(dept.status, 201, "{}", dept.body);
    let dept = dept.body["id"].as_str().unwrap().to_owned();
    for (method, path) in [
        ("PATCH", "/api/v1/tenant/settings".to_owned()),
        ("PATCH", format!("/api/v1/org/departments/{dept}")),
        ("POST", "/api/v1/meta/rules/check".to_owned()),
        ("POST", "/api/v1/data/gadget/query".to_owned()),
    ] {
        let r = s.send(method, &path, None, &[]).await;
        assert_eq!(r.status, 400, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "missing_body", "{method} {path}");
    }
    let r = s
        .send(
            "PATCH",
            "/api/v1/tenant/settings",
            None,
            &[("accept-language", "zh-CN")],
        )
        .await;
    assert_eq!(r.body["error"]["message"], "此请求需要 JSON 格式的请求正文");
    // An empty object is a body: a no-op PATCH.
    let r = s.patch("/api/v1/tenant/settings", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn shapes_the_document_states(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    assert_eq!(
        s.post("/api/v1/meta/objects", simple_object("gadget"))
            .await
            .status,
        201
    );
    // Idempotency-Key: 1 to 255 visible ASCII characters.
    for (key, status) in [("abc-1", 201), ("a b", 400), (&*"k".repeat(256), 400)] {
        let r = s
            .send(
                "POST",
                "/api/v1/data/gadget",
                Some(&json!({"name": "one"})),
                &[("idempotency-key", key)],
            )
            .await;
        assert_eq!(r.status, status, "{key}: {}", r.body);
        if status == 400 {
            assert_eq!(r.body["error"]["code"], "bad_idempotency_key");
        }
    }
    // `filter=` left empty is no filter; anything else must be JSON.
    let r = s.get("/api/v1/data/gadget?filter=").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.get("/api/v1/data/gadget?filter=%7Bnope").await;
    assert_eq!(r.body["error"]["code"], "malformed_filter");
    // A role's label is `{zh, en}`, nothing else is stored.
    for label in [json!([null, null]), json!("Sales"), json!({"fr": "Ventes"})] {
        let r = s
            .post("/api/v1/org/roles", json!({"key": "sales", "label": label}))
            .await;
        assert_eq!(r.status, 422, "{label}: {}", r.body);
        assert_eq!(detail(&r), ("/label".into(), "type".into()));
    }
    let r = s
        .post(
            "/api/v1/org/roles",
            json!({"key": "sales", "label": {"zh": "销售", "en": null}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A flow's name is text or `{zh, en}`; a list is not read as one.
    let flow = |name: Json| {
        json!({"schema": "crm.workflow/1", "key": "f", "object": "gadget", "name": name,
               "nodes": [], "edges": []})
    };
    let r = s
        .post("/api/v1/meta/flows", flow(json!([null, null])))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(detail(&r).0, "/name");
    let r = s
        .post("/api/v1/meta/flows", flow(json!({"zh": "审批"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // An email is at most 254 characters (not bytes) once trimmed.
    let r = s
        .post(
            "/api/v1/auth/login",
            json!({"email": format!("{}@x.cn", "邮".repeat(240)), "password": "p"}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}

dual!(
    query_bounds_are_enforced,
    documented_bodies_are_required,
    shapes_the_document_states
);
