//! Query plans at scale: a filter on an indexed field over 1,000,000 records uses the field's
//! index on both backends (the index is what keeps list pages fast; perf.md trap 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::ConnectionTrait;
use serde_json::json;
use weft_meta::query::parse_query;
use weft_store::Names;
use weft_testkit::{Backend, TestApp, dual};

const ROWS: u32 = 1_000_000;

async fn indexed_filter_uses_index_at_1m(b: Backend) {
    let app = TestApp::new(b).await;
    let p = app.admin();
    app.rt
        .metadata()
        .create_object(&p, &weft_testkit::simple_object("deal"))
        .await
        .unwrap();
    let key = app.tenant.tenant_id.0.simple().to_string();
    let rb = match b {
        Backend::Postgres => weft_runtime::ports::Backend::Postgres,
        Backend::Sqlite => weft_runtime::ports::Backend::Sqlite,
    };
    let n = Names::new(rb, &key);
    let owner = app.tenant.admin_user_id.0.simple().to_string();
    let t = n.table("deal");
    let load = match b {
        Backend::Postgres => format!(
            "INSERT INTO {t} (id, owner, version, created_by, created_at, updated_by, updated_at, name, amount, qty, stage) \
             SELECT gen_random_uuid(), '{owner}'::uuid, 1, '{owner}'::uuid, now(), '{owner}'::uuid, now(), \
               'n' || g, (g % 100000)::numeric / 100, g, (ARRAY['a','b','c'])[g % 3 + 1] \
             FROM generate_series(1, {ROWS}) g; ANALYZE {t}"
        ),
        Backend::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {ROWS}) \
             INSERT INTO {t} (id, owner, version, created_by, created_at, updated_by, updated_at, name, amount, qty, stage) \
             SELECT randomblob(16), X'{owner}', 1, X'{owner}', '2026-01-01T00:00:00.000000Z', X'{owner}', \
               '2026-01-01T00:00:00.000000Z', 'n' || x, x % 100000, x, char(97 + x % 3) FROM c; ANALYZE"
        ),
    };
    app.store
        .connection()
        .execute_unprepared(&load)
        .await
        .unwrap();

    let obj = app
        .rt
        .core()
        .object(app.tenant.tenant_id, "deal")
        .await
        .unwrap();
    let idx = n.index("deal", "index:amount");
    for body in [
        json!({"filter": {"field": "amount", "op": "eq", "value": "500.00"}}),
        json!({"filter": {"field": "amount", "op": "between", "value": ["10.00", "10.50"]}, "sort": ["amount"]}),
    ] {
        let plan = parse_query(&obj, &body, &|_| false).unwrap();
        let lines = app
            .store
            .explain(app.tenant.tenant_id, &obj, &plan)
            .await
            .unwrap();
        let text = lines.join("\n");
        assert!(
            text.contains(&idx),
            "{body}: plan does not use {idx}:\n{text}"
        );
        // The same query through the API returns the right rows.
        let r = app
            .rt
            .records()
            .query(
                &p,
                "deal",
                &json!({"filter": body["filter"], "count": true, "limit": 5}),
            )
            .await
            .unwrap();
        assert!(r.total.unwrap() >= 10, "{:?}", r.total);
    }
}

dual!(indexed_filter_uses_index_at_1m);
