//! The CRM example app (`examples/crm`) installs from its metadata and behaves like a CRM:
//! accounts own contacts (master-detail), opportunities restrict account deletion, activities
//! cascade, auto numbers count per year.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use weft_testkit::{Backend, TestApp, crm_app, dual, problems};

async fn crm_example(b: Backend) {
    let app = TestApp::new(b).await;
    let report = app.rt.install_app(&app.admin(), &crm_app()).await.unwrap();
    assert_eq!(
        report.objects_created,
        ["account", "contact", "opportunity", "activity"]
    );
    assert_eq!(report.records_created, 17);
    // Installing twice changes nothing.
    let again = app.rt.install_app(&app.admin(), &crm_app()).await.unwrap();
    assert_eq!(again.records_created, 0);
    let s = app.serve().await;

    // Pipeline by stage, biggest first, with the account expanded.
    let r = s
        .post(
            "/api/v1/data/opportunity/query",
            json!({
                "filter": {"field": "stage", "op": "nin", "value": ["won", "lost"]},
                "sort": ["-amount"], "expand": ["account"], "count": true
            }),
        )
        .await;
    assert_eq!(r.body["total"], 3, "{}", r.body);
    assert_eq!(r.body["records"][0]["name"], "华信 2026 年度设备采购");
    assert_eq!(
        r.body["records"][0]["_expand"]["account"]["name"],
        "华信精密制造有限公司"
    );
    assert!(
        r.body["records"][0]["quote_no"]
            .as_str()
            .unwrap()
            .starts_with("QT-")
    );

    // A new contact under an account; China mobile numbers are checked.
    let acc = s.get("/api/v1/data/account?filter=%7B%22field%22%3A%22name%22%2C%22op%22%3A%22contains%22%2C%22value%22%3A%22%E4%BA%91%E5%B8%86%22%7D").await;
    let yunfan = acc.body["records"][0]["id"].as_str().unwrap().to_owned();
    let bad = s
        .post(
            "/api/v1/data/contact",
            json!({"name": "赵六", "account": yunfan, "mobile": "1380013800"}),
        )
        .await;
    assert_eq!(problems(&bad), ["/mobile:format"]);
    let zhao = s
        .create(
            "contact",
            json!({"name": "赵六", "account": yunfan, "mobile": "+86 139-1234-5678"}),
        )
        .await;

    // Activities related to the account, its contact and its opportunity.
    let opp = s
        .get(&format!(
            "/api/v1/data/account/{yunfan}/related/opportunity/account"
        ))
        .await;
    let opp_id = opp.body["records"][0]["id"].as_str().unwrap().to_owned();
    let act = s
        .create("activity", json!({"subject": "技术交流", "kind": "meeting", "account": yunfan, "contact": zhao["id"], "opportunity": opp_id,
            "due_at": "2026-12-01T15:00:00+08:00"}))
        .await;
    assert_eq!(act["status"], "open", "default");
    assert_eq!(
        act["assigned_to"],
        app.tenant.admin_user_id.to_string(),
        "$me default"
    );
    let rel = s
        .get(&format!("/api/v1/data/account/{yunfan}/related"))
        .await;
    let counts: Vec<(String, String, i64)> = rel.body["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["object"].as_str().unwrap().into(),
                r["field"].as_str().unwrap().into(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        counts.contains(&("contact".into(), "account".into(), 2)),
        "{counts:?}"
    );
    assert!(
        counts.contains(&("activity".into(), "account".into(), 2)),
        "{counts:?}"
    );

    // The account cannot go while an opportunity points at it (restrict)…
    let d = s.delete(&format!("/api/v1/data/account/{yunfan}")).await;
    assert_eq!(d.status, 409);
    assert_eq!(d.body["error"]["code"], "restricted");
    // …deleting the opportunity cascades to its activities; then the account goes, taking its
    // contacts (master-detail) and remaining activities (cascade) into the recycle bin together.
    let d = s
        .delete(&format!("/api/v1/data/opportunity/{opp_id}"))
        .await;
    assert_eq!(d.body["cascaded"]["activity"], 2, "{}", d.body);
    let d = s.delete(&format!("/api/v1/data/account/{yunfan}")).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.body["cascaded"]["contact"], 2, "{}", d.body);
    assert_eq!(
        s.get(&format!(
            "/api/v1/data/contact/{}",
            zhao["id"].as_str().unwrap()
        ))
        .await
        .status,
        404
    );
    // Restoring the account brings back what its delete took, not the opportunity.
    let r = s
        .post(&format!("/api/v1/data/account/{yunfan}/restore"), json!({}))
        .await;
    assert_eq!(r.body["restored"], 3, "{}", r.body);
    assert_eq!(
        s.get(&format!(
            "/api/v1/data/contact/{}",
            zhao["id"].as_str().unwrap()
        ))
        .await
        .status,
        200
    );
    assert_eq!(
        s.get(&format!("/api/v1/data/opportunity/{opp_id}"))
            .await
            .status,
        404
    );
}

async fn auto_numbers_under_concurrency(b: Backend) {
    let app = TestApp::new(b).await;
    app.rt.install_app(&app.admin(), &crm_app()).await.unwrap();
    let s = app.serve().await;
    let futs = (0..40).map(|i| {
        let s = &s;
        async move {
            s.post(
                "/api/v1/data/account",
                json!({"name": format!("并发客户 {i}")}),
            )
            .await
        }
    });
    let out = futures::future::join_all(futs).await;
    let mut nos: Vec<String> = out
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["account_no"].as_str().unwrap().to_owned()
        })
        .collect();
    nos.sort();
    let before = nos.len();
    nos.dedup();
    assert_eq!(nos.len(), before, "duplicate auto numbers");
    // 5 seeded + 40 new, numbered without gaps.
    let year = chrono::Utc::now().format("%Y");
    assert_eq!(nos.first().unwrap(), &format!("AC-{year}-00006"));
    assert_eq!(nos.last().unwrap(), &format!("AC-{year}-00045"));
}

async fn unique_under_concurrency(b: Backend) {
    let app = TestApp::new(b).await;
    app.rt.install_app(&app.admin(), &crm_app()).await.unwrap();
    let s = app.serve().await;
    let acc = s.get("/api/v1/data/account?limit=1").await.body["records"][0]["id"].clone();
    let futs = (0..12).map(|i| {
        let s = &s;
        let acc = acc.clone();
        async move {
            s.post(
                "/api/v1/data/contact",
                json!({"name": format!("dup {i}"), "account": acc, "email": "same@x.cn"}),
            )
            .await
        }
    });
    let out = futures::future::join_all(futs).await;
    let ok = out.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        out.iter()
            .map(|r| (r.status, r.body.clone()))
            .collect::<Vec<_>>()
    );
    for r in out.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(problems(r), ["/email:unique"]);
    }
}

dual!(
    crm_example,
    auto_numbers_under_concurrency,
    unique_under_concurrency
);
