//! The CRM example app (`examples/crm`) installs from its metadata and behaves like a CRM:
//! accounts own contacts (master-detail), opportunities restrict account deletion, activities
//! cascade, auto numbers count per year.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use weft_testkit::{Backend, TestApp, crm_app, crm_app_full, dual, problems};

async fn crm_example(b: Backend) {
    let app = TestApp::new(b).await;
    let report = app
        .rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
    assert_eq!(
        report.objects_created,
        ["account", "contact", "opportunity", "activity"]
    );
    assert_eq!(report.records_created, 17);
    // Installing twice changes nothing.
    let again = app
        .rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
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
    app.rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
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
    app.rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
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

/// The demo's approval flow: a rep submits a small opportunity, their region's manager
/// approves it from the inbox, finance is copied and notified; rules came with the app.
#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn crm_approval_flow(b: Backend) {
    let app = TestApp::new(b).await;
    app.rt
        .apps()
        .install_app(&app.admin(), &crm_app_full())
        .await
        .unwrap();
    let s = app.serve().await;
    let users = s.get("/api/v1/org/users").await.body["users"]
        .as_array()
        .unwrap()
        .clone();
    let mut as_ = std::collections::HashMap::new();
    for u in &users {
        let short = u["email"]
            .as_str()
            .unwrap()
            .split('@')
            .next()
            .unwrap()
            .to_owned();
        let k = s
            .post(
                "/api/v1/auth/api-keys",
                json!({"name": short, "user_id": u["id"]}),
            )
            .await;
        assert_eq!(k.status, 201, "{}", k.body);
        as_.insert(short, s.with_key(k.body["key"].as_str().unwrap()));
    }
    let rules = s.get("/api/v1/meta/rules").await.body;
    assert_eq!(rules["rules"].as_array().unwrap().len(), 9, "{rules}");
    let zhang = &as_["zhang"];
    let f = zhang
        .get("/api/v1/flows/startable?object=opportunity")
        .await;
    assert_eq!(f.status, 200, "{}", f.body);
    assert_eq!(f.body["flows"][0]["key"], "opportunity_approval");
    assert_eq!(
        zhang
            .get("/api/v1/flows/startable?object=ghost")
            .await
            .status,
        404
    );
    let mine = zhang
        .post(
            "/api/v1/data/opportunity/query",
            json!({"filter": {"field": "name", "op": "eq", "value": "明月门店数字化"}}),
        )
        .await;
    let rec = mine.body["records"][0]["id"].as_str().unwrap().to_owned();
    let inst = zhang
        .post(
            "/api/v1/flows/instances",
            json!({"flow": "opportunity_approval", "record": rec}),
        )
        .await;
    assert_eq!(inst.status, 201, "{}", inst.body);
    let iid = inst.body["id"].as_str().unwrap().to_owned();
    // The record's approvals: anyone who may read the record sees that they exist and where
    // they stand; only participants open the details (the director is no participant of a
    // small deal); a south rep who cannot read the record sees nothing.
    let list = format!("/api/v1/flows/instances?object=opportunity&record={rec}");
    let r = as_["director"].get(&list).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["instances"][0]["id"], iid.as_str(), "{}", r.body);
    assert_eq!(r.body["instances"][0]["status"], "running", "{}", r.body);
    assert_eq!(r.body["instances"][0]["can_open"], false, "{}", r.body);
    assert_eq!(
        as_["director"]
            .get(&format!("/api/v1/flows/instances/{iid}"))
            .await
            .status,
        404
    );
    assert_eq!(
        as_["li"].get(&list).await.body["instances"][0]["can_open"],
        true
    );
    assert_eq!(as_["liu"].get(&list).await.status, 404);
    assert_eq!(
        as_["liu"]
            .get(&format!("/api/v1/flows/instances/{iid}"))
            .await
            .status,
        404
    );
    assert_eq!(
        zhang
            .get(&format!("/api/v1/flows/instances?record={rec}"))
            .await
            .status,
        400
    );
    let todo = as_["li"].get("/api/v1/flows/tasks?box=todo").await.body;
    let task = todo["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instance"] == iid.as_str())
        .unwrap_or_else(|| panic!("the east manager has the task: {todo}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        as_["chen"].get("/api/v1/flows/tasks?box=todo").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the south manager does not"
    );
    let r = as_["li"]
        .post(
            &format!("/api/v1/flows/tasks/{task}/actions"),
            json!({"action": "approve", "comment": "ok"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = zhang
        .get(&format!("/api/v1/flows/instances/{iid}"))
        .await
        .body;
    assert_eq!(v["status"], "approved", "{v}");
    let n = as_["zhao"].get("/api/v1/notifications").await.body;
    assert!(
        n["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["record_id"] == rec.as_str()),
        "finance was copied: {n}"
    );
    // Approval updates the opportunity.
    let d = zhang
        .get(&format!("/api/v1/data/opportunity/{rec}"))
        .await
        .body;
    assert_eq!(d["discount_approved"], true, "{d}");

    // Over 500,000: the sales director and finance in parallel (会签), both must approve.
    let big = zhang
        .post(
            "/api/v1/data/opportunity/query",
            json!({"filter": {"field": "name", "op": "eq", "value": "华信 2026 年度设备采购"}}),
        )
        .await
        .body["records"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inst = zhang
        .post(
            "/api/v1/flows/instances",
            json!({"flow": "opportunity_approval", "record": big}),
        )
        .await;
    assert_eq!(inst.status, 201, "{}", inst.body);
    let iid = inst.body["id"].as_str().unwrap().to_owned();
    let task_of = |who: &'static str| {
        let (as_, iid) = (&as_, iid.clone());
        async move {
            as_[who].get("/api/v1/flows/tasks?box=todo").await.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["instance"] == iid.as_str())
                .map(|t| t["id"].as_str().unwrap().to_owned())
        }
    };
    assert!(
        task_of("li").await.is_none(),
        "no manager step on a big deal"
    );
    for who in ["director", "zhao"] {
        let t = task_of(who)
            .await
            .unwrap_or_else(|| panic!("{who} has a task"));
        let r = as_[who]
            .post(
                &format!("/api/v1/flows/tasks/{t}/actions"),
                json!({"action": "approve"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = zhang
            .get(&format!("/api/v1/flows/instances/{iid}"))
            .await
            .body;
        let want = if who == "director" {
            "running"
        } else {
            "approved"
        };
        assert_eq!(v["status"], want, "after {who}: {v}");
    }
    let d = zhang
        .get(&format!("/api/v1/data/opportunity/{big}"))
        .await
        .body;
    assert_eq!(d["discount_approved"], true, "{d}");
}

dual!(
    crm_approval_flow,
    crm_example,
    auto_numbers_under_concurrency,
    unique_under_concurrency
);
