//! Tenant isolation at the foundation level: another tenant's ids, filters and lookups find
//! nothing, and on PostgreSQL a query run under tenant A's role cannot read tenant B's tables.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::json;
use weft_store::Names;
use weft_testkit::{Backend, TestApp, dual, problems};

async fn other_tenants_ids_find_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    let other = app.other_tenant("Other Co.").await;
    let s = app.serve().await;
    let t = s.with_key(&other.api_key);
    // Both tenants define the same object; they are separate tables.
    for srv in [&s, &t] {
        assert_eq!(
            srv.post("/api/v1/meta/objects", weft_testkit::simple_object("deal"))
                .await
                .status,
            201
        );
    }
    let mine = s
        .create("deal", json!({"name": "A secret", "qty": 1}))
        .await;
    let id = mine["id"].as_str().unwrap();
    // By id: 404 everywhere, same shape as a random id.
    for path in [
        format!("/api/v1/data/deal/{id}"),
        format!("/api/v1/data/deal/{id}/history"),
        format!("/api/v1/data/deal/{id}/related"),
    ] {
        let r = t.get(&path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "not_found");
    }
    assert_eq!(
        t.patch(&format!("/api/v1/data/deal/{id}"), json!({"qty": 2}))
            .await
            .status,
        404
    );
    assert_eq!(
        t.delete(&format!("/api/v1/data/deal/{id}")).await.status,
        404
    );
    assert_eq!(
        t.post(&format!("/api/v1/data/deal/{id}/restore"), json!({}))
            .await
            .status,
        404
    );
    // By filter: nothing.
    let q = t
        .post(
            "/api/v1/data/deal/query",
            json!({"filter": {"field": "id", "op": "eq", "value": id}, "count": true}),
        )
        .await;
    assert_eq!(q.body["total"], 0);
    // As a lookup value: not found in this tenant.
    t.post(
        "/api/v1/meta/objects/deal/fields",
        json!({"api_name": "peer", "type": "lookup", "target": "deal", "label": {"en": "Peer"}}),
    )
    .await;
    let r = t
        .post("/api/v1/data/deal", json!({"name": "B", "peer": id}))
        .await;
    assert_eq!(problems(&r), ["/peer:not_found"]);
    // As a client-supplied id on create: allowed (ids are per tenant), A's record untouched.
    let r = t
        .post("/api/v1/data/deal", json!({"id": id, "name": "B same id"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        s.get(&format!("/api/v1/data/deal/{id}")).await.body["name"],
        "A secret"
    );
    // Owner from another tenant.
    let r = s
        .post(
            "/api/v1/data/deal",
            json!({"name": "x", "owner": other.admin_user_id.to_string()}),
        )
        .await;
    assert_eq!(problems(&r), ["/owner:not_found"]);
    // A's files are not B's.
    let f = s
        .raw(
            "POST",
            "/api/v1/files?name=a.txt",
            b"secret".to_vec(),
            &[("content-type", "text/plain")],
        )
        .await;
    let fid = f.body["id"].as_str().unwrap();
    assert_eq!(t.get(&format!("/api/v1/files/{fid}")).await.status, 404);
    // Bad keys.
    assert_eq!(
        s.with_key("wft_nope").get("/api/v1/data/deal").await.status,
        401
    );
    assert_eq!(s.with_key("").get("/api/v1/data/deal").await.status, 401);
}

dual!(other_tenants_ids_find_nothing);

/// Under tenant A's role (as every tenant transaction runs), tenant B's schema is out of reach
/// even to a query that names B's table directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tenant_role_cannot_read_other_tenant_tables() {
    let app = TestApp::new(Backend::Postgres).await;
    let other = app.other_tenant("Other Co.").await;
    let p_other = TestApp::principal_of(&other);
    app.rt
        .metadata()
        .create_object(&app.admin(), &weft_testkit::simple_object("deal"))
        .await
        .unwrap();
    app.rt
        .metadata()
        .create_object(&p_other, &weft_testkit::simple_object("deal"))
        .await
        .unwrap();
    app.rt
        .records()
        .create(&p_other, "deal", &json!({"name": "B's"}), None)
        .await
        .unwrap();
    let a = Names::new(
        weft_runtime::ports::Backend::Postgres,
        &app.tenant.tenant_id.0.simple().to_string(),
    );
    let bn = Names::new(
        weft_runtime::ports::Backend::Postgres,
        &other.tenant_id.0.simple().to_string(),
    );
    let db = app.store.connection();
    let txn = db.begin().await.unwrap();
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('role', $1, true), set_config('search_path', $2, true)",
        [a.role().into(), format!("{},public", a.schema()).into()],
    ))
    .await
    .unwrap();
    let own = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT count(*) FROM {}", a.table("deal")),
        ))
        .await;
    assert!(own.is_ok(), "own table readable");
    let theirs = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT count(*) FROM {}", bn.table("deal")),
        ))
        .await;
    let err = theirs
        .expect_err("another tenant's table must be unreadable")
        .to_string();
    assert!(err.contains("permission denied"), "{err}");
    drop(txn);
    // Writing into it is refused the same way.
    let txn = db.begin().await.unwrap();
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('role', $1, true)",
        [a.role().into()],
    ))
    .await
    .unwrap();
    let w = txn
        .execute_unprepared(&format!("DELETE FROM {}", bn.table("deal")))
        .await;
    assert!(w.unwrap_err().to_string().contains("permission denied"));
}
