//! The CRM example's flagship rules (`examples/crm/rules.json`) end to end: a big opportunity
//! notifies the sales director, the weighted amount is a stored formula, the close date
//! cannot move into the past, a lost deal needs its next step, and each account's open
//! pipeline is a roll-up kept exact on every opportunity write. Dry runs respect the
//! caller's data scope. SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use serde_json::{Value as Json, json};
use weft_outbound::{Channels, OutboundConfig};
use weft_testkit::{Backend, Server, TestApp, crm_app, dual, problems};

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

async fn crm_flagship_rules(b: Backend) {
    let app = TestApp::new(b).await;
    app.rt.install_app(&app.admin(), &crm_app()).await.unwrap();
    let s = app.serve().await;
    for r in crm_rules() {
        let res = s.post("/api/v1/meta/rules", r.clone()).await;
        assert_eq!(res.status, 201, "{}: {}", r["api_name"], res.body);
    }
    let k = keys(&s).await;
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
    for _ in 0..20 {
        if app.rt.run_automation_once(&out, "crm").await.unwrap() == 0 {
            break;
        }
    }
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

    // Dry run of the saved rule: the director sees every deal, a rep only their own.
    let all = s
        .post(
            "/api/v1/meta/rules/dry-run",
            json!({"api_name": "big_deal_alert"}),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    let mine = rep
        .post(
            "/api/v1/meta/rules/dry-run",
            json!({"api_name": "big_deal_alert"}),
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(
        mine.body["scanned"].as_u64().unwrap() < all.body["scanned"].as_u64().unwrap(),
        "{} vs {}",
        mine.body,
        all.body
    );
    assert!(all.body["matched"].as_u64().unwrap() >= 2, "{}", all.body);
    // Rules are admin metadata: a rep cannot list or change them.
    assert_eq!(rep.get("/api/v1/meta/rules").await.status, 403);
}

dual!(crm_flagship_rules);
