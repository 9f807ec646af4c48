//! The query language end to end: every operator, sorts with nulls and ties, cursor paging
//! that visits each record exactly once, projection, expansion and related lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, Server, TestApp, dual, problems};

async fn setup(b: Backend) -> (TestApp, Server) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    let company = json!({
        "api_name": "company", "label": {"en": "Company"}, "name_field": "name",
        "fields": [{"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true}]
    });
    assert_eq!(s.post("/api/v1/meta/objects", company).await.status, 201);
    let deal = json!({
        "api_name": "deal", "label": {"en": "Deal"}, "name_field": "name",
        "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "amount", "type": "currency", "label": {"en": "Amount"}, "indexed": true},
            {"api_name": "qty", "type": "integer", "label": {"en": "Qty"}},
            {"api_name": "rate", "type": "percent", "label": {"en": "Rate"}, "scale": 1},
            {"api_name": "stage", "type": "single_select", "label": {"en": "Stage"},
             "options": [{"value": "new"}, {"value": "won"}, {"value": "lost"}]},
            {"api_name": "tags", "type": "multi_select", "label": {"en": "Tags"},
             "options": [{"value": "x"}, {"value": "y"}, {"value": "z"}]},
            {"api_name": "closed", "type": "boolean", "label": {"en": "Closed"}},
            {"api_name": "due", "type": "date", "label": {"en": "Due"}},
            {"api_name": "seen_at", "type": "datetime", "label": {"en": "Seen"}},
            {"api_name": "company", "type": "lookup", "label": {"en": "Company"}, "target": "company"},
            {"api_name": "partners", "type": "multi_lookup", "label": {"en": "Partners"}, "target": "company"}
        ]
    });
    let r = s.post("/api/v1/meta/objects", deal).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (app, s)
}

async fn names(s: &Server, body: Json) -> Vec<String> {
    let r = s.post("/api/v1/data/deal/query", body.clone()).await;
    assert_eq!(r.status, 200, "{body} -> {}", r.body);
    r.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_owned())
        .collect()
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn operators(b: Backend) {
    let (_app, s) = setup(b).await;
    let acme = s.create("company", json!({"name": "Acme"})).await["id"].clone();
    let beta = s.create("company", json!({"name": "Beta"})).await["id"].clone();
    s.create("deal", json!({"name": "d1", "amount": "100.00", "qty": 1, "rate": "10.5", "stage": "new", "tags": ["x"], "closed": false,
        "due": "2026-01-10", "seen_at": "2026-01-10T08:00:00+08:00", "company": acme, "partners": [beta]})).await;
    s.create("deal", json!({"name": "D2 big", "amount": {"amount": "5000", "currency": "USD"}, "qty": 2, "stage": "won", "tags": ["x", "y"],
        "closed": true, "due": "2026-02-01", "company": acme})).await;
    s.create("deal", json!({"name": "d3_under", "amount": "250.5", "qty": 3, "stage": "lost", "tags": ["z"], "due": "2026-03-15", "company": beta,
        "partners": [acme, beta]})).await;
    s.create("deal", json!({"name": "d4 100%"})).await;

    let f = |filter: Json| json!({"filter": filter, "sort": ["name"]});
    assert_eq!(
        names(&s, f(json!({"field": "qty", "op": "eq", "value": 2}))).await,
        ["D2 big"]
    );
    assert_eq!(
        names(&s, f(json!({"field": "qty", "op": "ne", "value": 2}))).await,
        ["d1", "d3_under", "d4 100%"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "amount", "op": "gt", "value": "250.5"}))
        )
        .await,
        ["D2 big"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "amount", "op": "gte", "value": 250.5}))
        )
        .await,
        ["D2 big", "d3_under"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "amount", "op": "lt", "value": "250.50"}))
        )
        .await,
        ["d1"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "rate", "op": "lte", "value": "10.5"}))
        )
        .await,
        ["d1"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "stage", "op": "in", "value": ["won", "lost"]}))
        )
        .await,
        ["D2 big", "d3_under"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "stage", "op": "nin", "value": ["won", "lost"]}))
        )
        .await,
        ["d1", "d4 100%"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "name", "op": "contains", "value": "big"}))
        )
        .await,
        ["D2 big"]
    );
    // Case-insensitive, and % / _ are literal characters, not wildcards.
    assert_eq!(
        names(
            &s,
            f(json!({"field": "name", "op": "starts_with", "value": "d"}))
        )
        .await,
        ["D2 big", "d1", "d3_under", "d4 100%"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "name", "op": "contains", "value": "0%"}))
        )
        .await,
        ["d4 100%"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "name", "op": "contains", "value": "_"}))
        )
        .await,
        ["d3_under"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "due", "op": "is_null", "value": true}))
        )
        .await,
        ["d4 100%"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "due", "op": "is_null", "value": false}))
        )
        .await,
        ["D2 big", "d1", "d3_under"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "due", "op": "between", "value": ["2026-01-10", "2026-02-01"]}))
        )
        .await,
        ["D2 big", "d1"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "seen_at", "op": "lt", "value": "2026-01-10T00:30:00Z"}))
        )
        .await,
        ["d1"]
    );
    assert_eq!(
        names(&s, f(json!({"field": "closed", "op": "eq", "value": true}))).await,
        ["D2 big"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "tags", "op": "contains", "value": "x"}))
        )
        .await,
        ["D2 big", "d1"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "tags", "op": "contains", "value": ["x", "y"]}))
        )
        .await,
        ["D2 big"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "company", "op": "eq", "value": beta}))
        )
        .await,
        ["d3_under"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "partners", "op": "contains", "value": acme}))
        )
        .await,
        ["d3_under"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "partners", "op": "is_null", "value": true}))
        )
        .await,
        ["D2 big", "d4 100%"]
    );
    assert_eq!(
        names(&s, f(json!({"or": [{"field": "qty", "op": "eq", "value": 1}, {"and": [{"field": "stage", "op": "eq", "value": "lost"}, {"not": {"field": "closed", "op": "eq", "value": true}}]}]}))).await,
        ["d1", "d3_under"]
    );
    assert_eq!(
        names(
            &s,
            f(json!({"field": "created_at", "op": "gt", "value": "2000-01-01"}))
        )
        .await
        .len(),
        4
    );

    // Bad filters: every problem with its path.
    let r = s
        .post(
            "/api/v1/data/deal/query",
            json!({"filter": {"and": [
            {"field": "nope", "op": "eq", "value": 1},
            {"field": "qty", "op": "contains", "value": "x"},
            {"field": "qty", "op": "gt", "value": "abc"},
            {"field": "qty", "op": "like", "value": 1},
            {"field": "qty", "op": "between", "value": [1]}
        ]}, "sort": ["tags"], "limit": 0}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        problems(&r),
        vec![
            "/filter/and/0/field:unknown_field",
            "/filter/and/1/op:unsupported_op",
            "/filter/and/2/value:type",
            "/filter/and/3/op:unknown_op",
            "/filter/and/4/value:type",
            "/limit:range",
            "/sort/0:not_sortable",
        ]
    );
    let deep = (0..40).fold(
        json!({"field": "qty", "op": "eq", "value": 1}),
        |acc, _| json!({"not": acc}),
    );
    let r = s
        .post("/api/v1/data/deal/query", json!({"filter": deep}))
        .await;
    assert_eq!(r.status, 422);
    assert!(problems(&r)[0].ends_with(":too_deep"), "{:?}", problems(&r));
}

/// Walk all pages with `sort`; each record must appear exactly once and in order.
async fn walk(s: &Server, sort: Json, limit: u32) -> Vec<Json> {
    let mut out = Vec::new();
    let mut cursor = Json::Null;
    for _ in 0..1000 {
        let r = s
            .post(
                "/api/v1/data/deal/query",
                json!({"sort": sort, "limit": limit, "cursor": cursor}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(r.body["records"].as_array().unwrap().iter().cloned());
        cursor = r.body["next_cursor"].clone();
        if cursor.is_null() {
            return out;
        }
    }
    panic!("paging did not end");
}

async fn cursor_paging(b: Backend) {
    let (_app, s) = setup(b).await;
    // Ties and nulls in the sort keys on purpose.
    let records: Vec<Json> = (0..57)
        .map(|i| {
            let qty = if i % 5 == 0 { Json::Null } else { json!(i % 4) };
            let amount = if i % 7 == 0 {
                Json::Null
            } else {
                json!(format!("{}.00", i % 6))
            };
            json!({"name": format!("n{i:02}"), "qty": qty, "amount": amount})
        })
        .collect();
    assert_eq!(
        s.post("/api/v1/data/deal/bulk", json!({"records": records}))
            .await
            .status,
        200
    );
    for sort in [
        json!([]),
        json!(["qty"]),
        json!(["-qty"]),
        json!(["qty", "-amount"]),
        json!([{"field": "amount", "dir": "desc"}, {"field": "qty", "dir": "asc"}]),
        json!(["-name"]),
        json!(["id"]),
    ] {
        for limit in [1u32, 7, 50, 200] {
            let all = walk(&s, sort.clone(), limit).await;
            let ids: HashSet<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
            assert_eq!(all.len(), 57, "sort {sort} limit {limit}");
            assert_eq!(ids.len(), 57, "sort {sort} limit {limit}: duplicates");
            // The concatenated pages equal one big page.
            let one = s
                .post(
                    "/api/v1/data/deal/query",
                    json!({"sort": sort, "limit": 200}),
                )
                .await;
            let expect: Vec<&str> = one.body["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            let got: Vec<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
            assert_eq!(got, expect, "sort {sort} limit {limit}");
        }
    }
    // Nulls last ascending, first descending, on both backends.
    let asc = walk(&s, json!(["qty"]), 200).await;
    assert!(asc.last().unwrap()["qty"].is_null());
    assert_eq!(asc.first().unwrap()["qty"], 0);
    let desc = walk(&s, json!(["-qty"]), 200).await;
    assert!(desc.first().unwrap()["qty"].is_null());
    // Default order is newest first.
    let def = walk(&s, json!([]), 200).await;
    assert_eq!(def.first().unwrap()["name"], "n56");
    // A cursor from one sort is refused by another.
    let r = s
        .post(
            "/api/v1/data/deal/query",
            json!({"sort": ["qty"], "limit": 2}),
        )
        .await;
    let c = r.body["next_cursor"].clone();
    let r = s
        .post(
            "/api/v1/data/deal/query",
            json!({"sort": ["-qty"], "cursor": c}),
        )
        .await;
    assert_eq!(problems(&r), ["/cursor:invalid_cursor"]);
    let r = s
        .post("/api/v1/data/deal/query", json!({"cursor": "!!garbage!!"}))
        .await;
    assert_eq!(problems(&r), ["/cursor:invalid_cursor"]);
}

async fn projection_expansion_related(b: Backend) {
    let (_app, s) = setup(b).await;
    let acme = s.create("company", json!({"name": "Acme"})).await;
    let acme_id = acme["id"].as_str().unwrap();
    s.create("deal", json!({"name": "a", "qty": 1, "company": acme_id}))
        .await;
    s.create(
        "deal",
        json!({"name": "b", "qty": 2, "company": acme_id, "partners": [acme_id]}),
    )
    .await;
    s.create("deal", json!({"name": "c", "qty": 3})).await;

    let r = s
        .get("/api/v1/data/deal?fields=name&expand=company&sort=name")
        .await;
    let recs = r.body["records"].as_array().unwrap();
    assert_eq!(recs.len(), 3);
    assert!(
        recs[0].get("qty").is_none(),
        "projection drops other fields"
    );
    assert!(recs[0].get("id").is_some(), "system columns stay");
    assert_eq!(recs[0]["_expand"]["company"]["name"], "Acme");
    assert!(recs[2].get("_expand").is_none());

    let g = s
        .get(&format!(
            "/api/v1/data/deal/{}?expand=company",
            recs[1]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(g.body["_expand"]["company"]["id"], acme_id);
    assert_eq!(g.body["partners"], json!([acme_id]));

    let rel = s
        .get(&format!("/api/v1/data/company/{acme_id}/related"))
        .await;
    let rels = rel.body["relationships"].as_array().unwrap();
    let by_field: Vec<(String, i64)> = rels
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap().to_owned(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_field,
        vec![("company".to_owned(), 2), ("partners".to_owned(), 1)]
    );
    let list = s
        .get(&format!(
            "/api/v1/data/company/{acme_id}/related/deal/company?sort=-qty"
        ))
        .await;
    let ns: Vec<&str> = list.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(ns, ["b", "a"]);
    let list = s
        .get(&format!(
            "/api/v1/data/company/{acme_id}/related/deal/partners"
        ))
        .await;
    assert_eq!(list.body["records"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.get(&format!("/api/v1/data/company/{acme_id}/related/deal/qty"))
            .await
            .status,
        404
    );
    // GET list with a JSON filter in the query string.
    let q = "/api/v1/data/deal?filter=%7B%22field%22%3A%22qty%22%2C%22op%22%3A%22gte%22%2C%22value%22%3A2%7D&count=true";
    assert_eq!(s.get(q).await.body["total"], 2);
    assert_eq!(s.get("/api/v1/data/deal?filter=%7Bbad").await.status, 400);
}

dual!(operators, cursor_paging, projection_expansion_related);
