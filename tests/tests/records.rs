//! Records through the HTTP API: CRUD, versions, recycle bin, history, bulk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, TestApp, dual, problems};

async fn setup(b: Backend) -> (TestApp, weft_testkit::Server) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    let r = s
        .post("/api/v1/meta/objects", weft_testkit::simple_object("deal"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (app, s)
}

async fn crud_and_versions(b: Backend) {
    let (_app, s) = setup(b).await;
    let rec = s
        .create(
            "deal",
            json!({"name": "First", "amount": "12.5", "qty": 3, "stage": "a", "due": "2026-12-01"}),
        )
        .await;
    assert_eq!(rec["amount"], "12.50");
    assert_eq!(rec["version"], 1);
    let id = rec["id"].as_str().unwrap().to_owned();

    let g = s.get(&format!("/api/v1/data/deal/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.etag.as_deref(), Some("\"1\""));
    assert_eq!(g.body["name"], "First");

    // Stale If-Match: 412, nothing changes.
    let r = s
        .send(
            "PATCH",
            &format!("/api/v1/data/deal/{id}"),
            Some(&json!({"qty": 9})),
            &[("if-match", "\"5\"")],
        )
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "version_mismatch");
    assert_eq!(
        s.get(&format!("/api/v1/data/deal/{id}")).await.body["qty"],
        3
    );

    let r = s
        .send(
            "PATCH",
            &format!("/api/v1/data/deal/{id}"),
            Some(&json!({"qty": 9, "stage": null})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.etag.as_deref(), Some("\"2\""));
    assert_eq!(r.body["stage"], Json::Null);

    // A patch that changes nothing keeps the version.
    let r = s
        .patch(&format!("/api/v1/data/deal/{id}"), json!({"qty": 9}))
        .await;
    assert_eq!(r.body["version"], 2);

    let h = s.get(&format!("/api/v1/data/deal/{id}/history")).await;
    let changes = h.body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["op"], "update");
    assert_eq!(changes[0]["changes"]["qty"], json!([3, 9]));
    assert_eq!(changes[0]["changes"]["stage"], json!(["a", null]));
    assert_eq!(changes[1]["op"], "create");

    // Delete to the recycle bin, restore, delete again, purge.
    let d = s.delete(&format!("/api/v1/data/deal/{id}")).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(s.get(&format!("/api/v1/data/deal/{id}")).await.status, 404);
    let bin = s.get("/api/v1/data/deal/recycle-bin").await;
    assert_eq!(bin.body["records"].as_array().unwrap().len(), 1);
    assert!(bin.body["records"][0]["deleted_at"].is_string());
    let list = s.get("/api/v1/data/deal").await;
    assert_eq!(list.body["records"].as_array().unwrap().len(), 0);

    let r = s
        .post(&format!("/api/v1/data/deal/{id}/restore"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get(&format!("/api/v1/data/deal/{id}")).await.status, 200);

    assert_eq!(
        s.delete(&format!("/api/v1/data/deal/{id}/purge"))
            .await
            .status,
        404,
        "only deleted records purge"
    );
    s.delete(&format!("/api/v1/data/deal/{id}")).await;
    let p = s.delete(&format!("/api/v1/data/deal/{id}/purge")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["purged"], 1);
    assert_eq!(
        s.get("/api/v1/data/deal/recycle-bin").await.body["records"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let ops: Vec<String> = s.get(&format!("/api/v1/data/deal/{id}/history")).await.body["changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["op"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    // The record is gone, so its history is too (404), which is what purge means.
    assert!(ops.is_empty());
}

async fn idempotent_create(b: Backend) {
    let (_app, s) = setup(b).await;
    let h = [("idempotency-key", "abc-123")];
    let a = s
        .send(
            "POST",
            "/api/v1/data/deal",
            Some(&json!({"name": "Once"})),
            &h,
        )
        .await;
    let c = s
        .send(
            "POST",
            "/api/v1/data/deal",
            Some(&json!({"name": "Once"})),
            &h,
        )
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(c.status, 201);
    assert_eq!(a.body["id"], c.body["id"]);
    let other = s
        .send(
            "POST",
            "/api/v1/data/deal",
            Some(&json!({"name": "Different"})),
            &h,
        )
        .await;
    assert_eq!(other.status, 409);
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
    assert_eq!(
        s.get("/api/v1/data/deal").await.body["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn bulk(b: Backend) {
    let (_app, s) = setup(b).await;
    let records: Vec<Json> = (0..1000)
        .map(|i| json!({"name": format!("R{i:04}"), "qty": i}))
        .collect();
    let r = s
        .post("/api/v1/data/deal/bulk", json!({"records": records}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["succeeded"], 1000);
    let too_many: Vec<Json> = (0..1001)
        .map(|i| json!({"name": format!("X{i}")}))
        .collect();
    let r = s
        .post("/api/v1/data/deal/bulk", json!({"records": too_many}))
        .await;
    assert_eq!(r.status, 422);

    // All or none: one bad record rejects the call and names its index.
    let r = s
        .post(
            "/api/v1/data/deal/bulk",
            json!({"records": [{"name": "ok"}, {"qty": "x"}, {"name": "ok2"}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        problems(&r),
        vec!["/records/1/name:required", "/records/1/qty:type"]
    );
    let count = s
        .post(
            "/api/v1/data/deal/query",
            json!({"count": true, "limit": 1}),
        )
        .await;
    assert_eq!(count.body["total"], 1000);

    // Partial mode creates the good ones.
    let r = s
        .post(
            "/api/v1/data/deal/bulk",
            json!({"all_or_none": false, "records": [{"name": "ok"}, {"qty": "x"}]}),
        )
        .await;
    assert_eq!(r.body["succeeded"], 1);
    assert_eq!(r.body["failed"], 1);
    assert_eq!(r.body["results"][1]["ok"], false);

    // Bulk update by id.
    let page = s.get("/api/v1/data/deal?limit=3&sort=name").await;
    let ups: Vec<Json> = page.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"id": r["id"], "stage": "b"}))
        .collect();
    let r = s
        .patch("/api/v1/data/deal/bulk", json!({"records": ups}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["succeeded"], 3);
    let staged = s
        .post(
            "/api/v1/data/deal/query",
            json!({"filter": {"field": "stage", "op": "eq", "value": "b"}, "count": true}),
        )
        .await;
    assert_eq!(staged.body["total"], 3);
}

async fn concurrent_updates_one_wins(b: Backend) {
    let (_app, s) = setup(b).await;
    let rec = s.create("deal", json!({"name": "race"})).await;
    let id = rec["id"].as_str().unwrap().to_owned();
    let futs = (0..20).map(|i| {
        let s = &s;
        let id = id.clone();
        async move {
            s.send(
                "PATCH",
                &format!("/api/v1/data/deal/{id}"),
                Some(&json!({"qty": i})),
                &[("if-match", "\"1\"")],
            )
            .await
            .status
        }
    });
    let statuses = futures::future::join_all(futs).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        19,
        "{statuses:?}"
    );
}

dual!(
    crud_and_versions,
    idempotent_create,
    bulk,
    concurrent_updates_one_wins
);
