//! The CRM example's flagship rules (`examples/crm/rules.json`) end to end: a big opportunity
//! notifies the sales director, the weighted amount is a stored formula, the close date
//! cannot move into the past, a lost deal needs its next step, each account's open pipeline
//! is a roll-up kept exact on every opportunity write, a manufacturing account in Shanghai
//! goes to the East team round robin, three days before an open deal's close date its owner
//! gets a follow-up task, and three days without a call or meeting an account's owner does.
//! Dry runs respect the caller's data scope. SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use weft_runtime::clock::ManualClock;

use serde_json::{Value as Json, json};
use weft_outbound::{Channels, OutboundConfig};
use weft_testkit::{Backend, Server, TestApp, crm_app, dual, now, problems};

fn crm_rules() -> Vec<Json> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/crm/rules.json");
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    doc["rules"].as_array().unwrap().clone()
}

async fn keys(s: &Server) -> HashMap<String, (String, Server)> {
    let users = s.get("/api/v1/org/users").await.body["users"]
        .as_array()
        .unwrap()
        .clone();
    let mut out = HashMap::new();
    for u in users {
        let short = u["email"]
            .as_str()
            .unwrap_or("")
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
        let id = u["id"].as_str().unwrap().to_owned();
        out.insert(short, (id, s.with_key(k.body["key"].as_str().unwrap())));
    }
    out
}

/// `"@user:<org key>"` in a rule document → that user's id (what `install_app` does).
fn with_user_ids(v: &Json, ids: &HashMap<String, String>) -> Json {
    match v {
        Json::String(s) if s.starts_with("@user:") => json!(ids[&s[6..]]),
        Json::Array(a) => Json::Array(a.iter().map(|x| with_user_ids(x, ids)).collect()),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), with_user_ids(x, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn crm_flagship_rules(b: Backend) {
    let clock = Arc::new(ManualClock::new(now()));
    let app = TestApp::with_clock(b, clock.clone()).await;
    app.rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
    let s = app.serve().await;
    let k = keys(&s).await;
    // org.json keys → user ids (users are known by their e-mail's local part here).
    let org: Json = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/crm/org.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let by_key: HashMap<String, String> = org["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| {
            let short = u["email"].as_str()?.split('@').next()?;
            Some((u["key"].as_str()?.to_owned(), k.get(short)?.0.clone()))
        })
        .collect();
    for r in crm_rules() {
        let r = with_user_ids(&r, &by_key);
        let res = s.post("/api/v1/meta/rules", r.clone()).await;
        assert_eq!(res.status, 201, "{}: {}", r["api_name"], res.body);
    }
    let acc = s.create("account", json!({"name": "规则测试客户"})).await;
    let acc_id = acc["id"].as_str().unwrap();
    let acc_path = format!("/api/v1/data/account/{acc_id}");

    // Weighted amount = amount × probability, stored.
    let big = s
        .create(
            "opportunity",
            json!({"name": "大单", "account": acc_id, "amount": "600000", "probability": 50, "stage": "proposal"}),
        )
        .await;
    assert_eq!(big["weighted_amount"], "300000.00", "{big}");

    // Open pipeline roll-up on the account.
    let small = s
        .create(
            "opportunity",
            json!({"name": "小单", "account": acc_id, "amount": "1000", "stage": "qualification"}),
        )
        .await;
    assert_eq!(s.get(&acc_path).await.body["open_pipeline"], "601000.00");
    let small_path = format!("/api/v1/data/opportunity/{}", small["id"].as_str().unwrap());
    let r = s.patch(&small_path, json!({"stage": "won"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get(&acc_path).await.body["open_pipeline"], "600000.00");

    // Close date cannot move into the past.
    let r = s
        .post(
            "/api/v1/data/opportunity",
            json!({"name": "过期", "account": acc_id, "close_date": "2001-01-01"}),
        )
        .await;
    assert_eq!(problems(&r), ["/close_date:validation"]);

    // A lost deal needs its next step.
    let big_path = format!("/api/v1/data/opportunity/{}", big["id"].as_str().unwrap());
    let r = s.patch(&big_path, json!({"stage": "lost"})).await;
    assert_eq!(problems(&r), ["/next_step:required"]);

    // Over 500,000 notifies the sales director (once), through the outbox worker.
    let out = Channels::new(OutboundConfig::default());
    weft_testkit::drain_outbox(&app.rt, &out).await;
    let (_, director) = &k["director"];
    let n = director.get("/api/v1/notifications").await;
    let list = n.body["notifications"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", n.body);
    assert_eq!(list[0]["title"], "大额商机 / Big deal: 大单");
    assert!(
        list[0]["body"].as_str().unwrap().contains("600,000.00"),
        "{}",
        n.body
    );
    let (_, rep) = &k["zhang"];
    assert_eq!(
        rep.get("/api/v1/notifications").await.body["notifications"],
        json!([])
    );

    // Dry run of the saved rule: an admin's background job over every deal; a rep may not
    // start one (rules are admin metadata).
    let all = s
        .post(
            "/api/v1/meta/rules/dry-run",
            json!({"api_name": "big_deal_alert"}),
        )
        .await;
    assert_eq!(all.status, 202, "{}", all.body);
    while app.rt.jobs().run_jobs_once("test").await.unwrap() > 0 {}
    let all = s
        .get(&format!(
            "/api/v1/meta/rules/dry-run/{}",
            all.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(all.body["status"], "done", "{}", all.body);
    assert!(
        all.body["report"]["matched"].as_u64().unwrap() >= 2,
        "{}",
        all.body
    );
    let mine = rep
        .post(
            "/api/v1/meta/rules/dry-run",
            json!({"api_name": "big_deal_alert"}),
        )
        .await;
    assert_eq!(mine.status, 403, "{}", mine.body);
    // Rules are admin metadata: a rep cannot list or change them.
    assert_eq!(rep.get("/api/v1/meta/rules").await.status, 403);

    // A manufacturing account in Shanghai goes to the East team, round robin; others stay.
    let mut owners = Vec::new();
    for (name, industry, city) in [
        ("沪制造一", "manufacturing", "上海"),
        ("沪制造二", "manufacturing", "上海市"),
        ("沪零售", "retail", "上海"),
        ("京制造", "manufacturing", "北京"),
    ] {
        let a = s
            .create(
                "account",
                json!({"name": name, "industry": industry,
                       "address": {"province": city, "city": city, "district": "", "detail": "1 号"}}),
            )
            .await;
        weft_testkit::drain_outbox(&app.rt, &out).await;
        let a = s
            .get(&format!(
                "/api/v1/data/account/{}",
                a["id"].as_str().unwrap()
            ))
            .await
            .body;
        owners.push(a["owner"].as_str().unwrap().to_owned());
    }
    let admin = app.admin().user.0.to_string();
    assert_eq!(
        owners,
        [
            by_key["rep_east"].clone(),
            by_key["manager_east"].clone(),
            admin.clone(),
            admin.clone()
        ]
    );

    // Three days before the close date of an open opportunity, 09:00 Shanghai: a follow-up
    // task for its owner; a won one gets none.
    let shanghai: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    let mut tick = now().date_naive().and_hms_opt(1, 0, 0).unwrap().and_utc();
    if tick <= now() {
        tick += Duration::days(1);
    }
    let close = (tick.with_timezone(&shanghai).date_naive() + Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let due = s
        .create(
            "opportunity",
            json!({"name": "到期单", "account": acc_id, "close_date": close, "stage": "proposal"}),
        )
        .await;
    s.create(
        "opportunity",
        json!({"name": "已赢单", "account": acc_id, "close_date": close, "stage": "won"}),
    )
    .await;
    clock.set(tick + Duration::minutes(1));
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 1);
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 0);
    weft_testkit::drain_outbox(&app.rt, &out).await;
    let tasks = s
        .post(
            "/api/v1/data/activity/query",
            json!({"filter": {"field": "opportunity", "op": "eq", "value": due["id"]}}),
        )
        .await;
    let tasks = tasks.body["records"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["subject"], "跟进 / Follow up: 到期单");
    assert_eq!(tasks[0]["kind"], "task");
    assert_eq!(tasks[0]["assigned_to"], json!(admin));

    // A call sets the account's last-contacted date; three days without another contact, a
    // follow-up task for the account's owner.
    let quiet = s
        .create("account", json!({"name": "久未联系", "industry": "retail"}))
        .await;
    let quiet_id = quiet["id"].as_str().unwrap().to_owned();
    s.create(
        "activity",
        json!({"subject": "首次拜访电话", "kind": "call", "account": quiet_id}),
    )
    .await;
    weft_testkit::drain_outbox(&app.rt, &out).await;
    let q = s
        .get(&format!("/api/v1/data/account/{quiet_id}"))
        .await
        .body;
    let contacted = tick.date_naive().format("%Y-%m-%d").to_string();
    assert_eq!(q["last_contacted"], json!(contacted), "{q}");
    clock.set(tick + Duration::days(3) + Duration::minutes(1));
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 1);
    weft_testkit::drain_outbox(&app.rt, &out).await;
    let follow = s
        .post(
            "/api/v1/data/activity/query",
            json!({"filter": {"and": [
                {"field": "account", "op": "eq", "value": quiet_id},
                {"field": "kind", "op": "eq", "value": "task"}]}}),
        )
        .await;
    let follow = follow.body["records"].as_array().unwrap();
    assert_eq!(follow.len(), 1, "{follow:?}");
    assert_eq!(
        follow[0]["subject"],
        "3 天未联系 / No contact for 3 days: 久未联系"
    );
}

dual!(crm_flagship_rules);
