//! The cross-tenant probe: every operation of the OpenAPI document is called as tenant A with
//! tenant B's ids in the path, the body, lookup values, filters and query parameters — as A's
//! admin and as A's least-privileged user. Nothing may reveal, change or point at B's data:
//! no 2xx response carries a B id or canary, B-id paths answer 404/403/422 (never 2xx), and
//! B's data is unchanged afterwards. Runs on SQLite, on PostgreSQL, and on PostgreSQL with the
//! application's own tenant conditions switched off (row-level security and tenant roles
//! alone must hold).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, Resp, Server, TestApp, crm_app};

struct Other {
    account: String,
    opportunity: String,
    user: String,
    department: String,
    role: String,
    key_id: String,
    file: String,
    job: String,
    canaries: Vec<String>,
}

async fn seed_other(app: &TestApp, s: &Server) -> (Server, Other) {
    let b = app.other_tenant("Tenant B").await;
    let pb = TestApp::principal_of(&b);
    app.rt.apps().install_app(&pb, &crm_app()).await.unwrap();
    let t = s.with_key(&b.api_key);
    let canary = format!("CANARY-{}", uuid::Uuid::now_v7().simple());
    let acc = t
        .create(
            "account",
            json!({"name": format!("{canary} 客户"), "description": canary}),
        )
        .await;
    let opp = t
        .create(
            "opportunity",
            json!({"name": format!("{canary} deal"), "account": acc["id"], "next_step": canary}),
        )
        .await;
    let users = t.get("/api/v1/org/users").await.body["users"].clone();
    let depts = t.get("/api/v1/org/departments").await.body["departments"].clone();
    let roles = t.get("/api/v1/org/roles").await.body["roles"].clone();
    let key = t
        .post("/api/v1/auth/api-keys", json!({"name": canary}))
        .await;
    let file = t
        .raw(
            "POST",
            &format!("/api/v1/files?name={canary}.txt"),
            canary.clone().into_bytes(),
            &[("content-type", "text/plain")],
        )
        .await;
    let job = t
        .post(
            "/api/v1/meta/objects/account/fields/description/change-type",
            json!({"type": "text"}),
        )
        .await;
    assert_eq!(job.status, 200, "{}", job.body);
    let other = Other {
        account: acc["id"].as_str().unwrap().into(),
        opportunity: opp["id"].as_str().unwrap().into(),
        user: users[1]["id"].as_str().unwrap().into(),
        department: depts[0]["id"].as_str().unwrap().into(),
        role: roles[0]["id"].as_str().unwrap().into(),
        key_id: key.body["id"].as_str().unwrap().into(),
        file: file.body["id"].as_str().unwrap().into(),
        job: job.body["job"].as_str().unwrap().into(),
        canaries: vec![canary],
    };
    (t, other)
}

fn fill(path: &str, o: &Other) -> String {
    let id = if path.starts_with("/api/v1/org/users/") {
        &o.user
    } else if path.starts_with("/api/v1/org/departments/") {
        &o.department
    } else if path.starts_with("/api/v1/org/roles/") {
        &o.role
    } else if path.starts_with("/api/v1/auth/api-keys/") {
        &o.key_id
    } else if path.starts_with("/api/v1/files/") {
        &o.file
    } else if path.starts_with("/api/v1/jobs/") {
        &o.job
    } else {
        &o.account
    };
    path.replace("{object}", "account")
        .replace("{id}", id)
        .replace("{child}", "opportunity")
        .replace(
            "{field}",
            if path.contains("/related/") {
                "account"
            } else {
                "description"
            },
        )
}

fn query(path: &str, o: &Other) -> String {
    let f = format!(
        "%7B%22field%22%3A%22id%22%2C%22op%22%3A%22eq%22%2C%22value%22%3A%22{}%22%7D",
        o.account
    );
    if path.ends_with("/access/explain") {
        format!("?user={}&object=account&record={}", o.user, o.account)
    } else if path.ends_with("/manager") {
        "?level=1".into()
    } else if path.ends_with("/audit") {
        format!("?actor={}", o.user)
    } else if path.contains("/data/") {
        format!("?filter={f}&expand=parent")
    } else {
        String::new()
    }
}

fn body(path: &str, o: &Other) -> Json {
    if path.ends_with("/query") {
        return json!({"filter": {"or": [{"field": "id", "op": "eq", "value": o.account}, {"field": "parent", "op": "eq", "value": o.account}]}});
    }
    if path.ends_with("/bulk") {
        return json!({"records": [{"id": o.account, "name": "probe", "parent": o.account}], "all_or_none": false});
    }
    if path.ends_with("/transfer") {
        return json!({"owner": o.user, "department": o.department});
    }
    if path.contains("/org/users") {
        return json!({"name": "probe", "departments": [{"id": o.department}], "roles": [o.role]});
    }
    if path.contains("/org/departments") {
        return json!({"name": "probe", "parent_id": o.department, "leader_id": o.user});
    }
    if path.contains("/auth/api-keys") {
        return json!({"name": "probe", "user_id": o.user});
    }
    if path.ends_with("/login") {
        return json!({"email": "admin@demo.weft", "password": "weft-demo-2026"});
    }
    json!({"name": "probe", "parent": o.account, "owner": o.user, "department": o.department, "description": "probe"})
}

/// B's data in a response. Error answers may echo an id the caller sent (the same answer as
/// for a random id, so no oracle); a success answer may not carry any B id, and no answer may
/// carry B's canary text.
fn without_messages(v: &Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "message")
                .map(|(k, v)| (k.clone(), without_messages(v)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(without_messages).collect()),
        other => other.clone(),
    }
}

fn leaks(r: &Resp, o: &Other) -> Option<String> {
    let full = r.body.to_string();
    for c in &o.canaries {
        if full.contains(c.as_str()) {
            return Some(c.clone());
        }
    }
    let text = without_messages(&r.body).to_string();
    let ids = [
        &o.account,
        &o.opportunity,
        &o.user,
        &o.department,
        &o.role,
        &o.key_id,
        &o.file,
        &o.job,
    ];
    let ids: Vec<&String> = if (200..300).contains(&r.status) {
        ids.to_vec()
    } else {
        vec![]
    };
    for needle in ids {
        if text.contains(needle.as_str()) {
            return Some(needle.clone());
        }
    }
    None
}

async fn probe(app: TestApp, label: &str) {
    let s = app.serve().await;
    app.rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
    let (b, o) = seed_other(&app, &s).await;
    let b_before = (
        b.get("/api/v1/data/account?count=true&limit=1").await.body["total"].clone(),
        b.get(&format!("/api/v1/data/account/{}", o.account))
            .await
            .body,
    );
    // A's least-privileged user.
    let users = s.get("/api/v1/org/users").await.body["users"].clone();
    let rep = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "zhang@demo.weft")
        .unwrap()["id"]
        .clone();
    let k = s
        .post(
            "/api/v1/auth/api-keys",
            json!({"name": "rep", "user_id": rep}),
        )
        .await;
    let low = s.with_key(k.body["key"].as_str().unwrap());
    let doc: Json = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/api/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut probed = BTreeSet::new();
    let mut calls = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, _) in ops.as_object().unwrap() {
            let m = method.to_uppercase();
            probed.insert(format!("{m} {path}"));
            let url = format!("{}{}", fill(path, &o), query(path, &o));
            let with_b_id = path.contains("{id}");
            for who in [&s, &low] {
                let b_body = body(path, &o);
                let r = if path.ends_with("/files") && m == "POST" {
                    who.raw(
                        "POST",
                        &url,
                        b"probe".to_vec(),
                        &[("content-type", "text/plain")],
                    )
                    .await
                } else if m == "GET" || m == "DELETE" {
                    who.send(&m, &url, None, &[]).await
                } else {
                    who.send(
                        &m,
                        &url,
                        Some(&b_body),
                        &[("idempotency-key", &format!("probe-{calls}"))],
                    )
                    .await
                };
                calls += 1;
                assert!(
                    r.status < 500,
                    "{label}: {m} {url} -> {} {}",
                    r.status,
                    r.body
                );
                if let Some(n) = leaks(&r, &o) {
                    panic!("{label}: {m} {url} leaked {n}: {} {}", r.status, r.body);
                }
                if with_b_id && (200..300).contains(&r.status) && !path.contains("/manager") {
                    panic!(
                        "{label}: {m} {url} accepted another tenant's id: {} {}",
                        r.status, r.body
                    );
                }
            }
        }
    }
    // Every operation of the document was probed, and it is not a toy document.
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_object().unwrap().len())
        .sum();
    assert_eq!(probed.len(), documented);
    assert!(documented >= 50, "{documented}");
    // B is untouched.
    let b_after = (
        b.get("/api/v1/data/account?count=true&limit=1").await.body["total"].clone(),
        b.get(&format!("/api/v1/data/account/{}", o.account))
            .await
            .body,
    );
    assert_eq!(b_before.0, b_after.0, "{label}: B's record count changed");
    assert_eq!(
        b_before.1["name"], b_after.1["name"],
        "{label}: B's record changed"
    );
    assert_eq!(
        b_before.1["version"], b_after.1["version"],
        "{label}: B's record changed"
    );
    assert_eq!(
        b.get("/api/v1/me").await.status,
        200,
        "{label}: B's key still works"
    );
    assert!(calls >= 2 * documented);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_sqlite() {
    probe(TestApp::new(Backend::Sqlite).await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_postgres() {
    probe(TestApp::new(Backend::Postgres).await, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_postgres_without_app_filter() {
    probe(
        TestApp::without_app_tenant_filter().await,
        "postgres, app filter off",
    )
    .await;
}
