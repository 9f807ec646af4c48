//! Access control end to end: sign-in and sessions, data scopes that agree across every read
//! and write path, field security, view-as, explain, audit chain, rate limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, Server, TestApp, crm_app, dual, problems};

/// The CRM app with its org (departments, roles, users) and one API key per demo user.
async fn crm_with_users(
    b: Backend,
) -> (
    TestApp,
    Server,
    HashMap<String, Server>,
    HashMap<String, String>,
) {
    let app = TestApp::new(b).await;
    app.rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
    let s = app.serve().await;
    let users = s.get("/api/v1/org/users").await.body["users"]
        .as_array()
        .unwrap()
        .clone();
    let mut keys = HashMap::new();
    let mut ids = HashMap::new();
    for u in &users {
        let email = u["email"].as_str().unwrap_or("").to_owned();
        let short = email.split('@').next().unwrap().to_owned();
        let k = s
            .post(
                "/api/v1/auth/api-keys",
                json!({"name": format!("key {short}"), "user_id": u["id"]}),
            )
            .await;
        assert_eq!(k.status, 201, "{}", k.body);
        keys.insert(short.clone(), s.with_key(k.body["key"].as_str().unwrap()));
        ids.insert(short, u["id"].as_str().unwrap().to_owned());
    }
    (app, s, keys, ids)
}

async fn all_ids(s: &Server, object: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cursor = Json::Null;
    loop {
        let r = s
            .post(
                &format!("/api/v1/data/{object}/query"),
                json!({"limit": 7, "cursor": cursor}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for rec in r.body["records"].as_array().unwrap() {
            assert!(
                out.insert(rec["id"].as_str().unwrap().to_owned()),
                "duplicate across pages"
            );
        }
        cursor = r.body["next_cursor"].clone();
        if cursor.is_null() {
            return out;
        }
    }
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn sessions_csrf_and_disable(b: Backend) {
    let (_app, s, _keys, ids) = crm_with_users(b).await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let base = &s.base;
    let bad = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "zhang@demo.weft", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let ok = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "ZHANG@demo.weft", "password": "weft-demo-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let cookie = ok
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "__Host-weft_session=",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let body: Json = ok.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    // reqwest's cookie store follows browser rules for Secure cookies on http, so send it by hand.
    let token = cookie.split(';').next().unwrap().to_owned();
    let get = |path: &str| {
        c.get(format!("{base}{path}"))
            .header("cookie", token.clone())
    };
    let sess: Json = get("/api/v1/auth/session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sess["user"]["email"], "zhang@demo.weft");
    assert_eq!(sess["csrf_token"], csrf);
    assert_eq!(
        sess["permissions"]["objects"]["opportunity"]["fields"]["discount"],
        "read"
    );
    assert_eq!(sess["permissions"]["objects"]["account"]["delete"], false);
    // Writes need the CSRF token and must not be cross-site.
    let acc = json!({"name": "会话客户"});
    let r = c
        .post(format!("{base}/api/v1/data/account"))
        .header("cookie", token.clone())
        .json(&acc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{base}/api/v1/data/account"))
        .header("cookie", token.clone())
        .header("x-csrf-token", csrf.clone())
        .header("sec-fetch-site", "cross-site")
        .json(&acc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{base}/api/v1/data/account"))
        .header("cookie", token.clone())
        .header("x-csrf-token", csrf.clone())
        .json(&acc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Json = r.json().await.unwrap();
    assert_eq!(
        created["owner"],
        ids["zhang"].as_str(),
        "new records belong to their creator"
    );
    // Disabling the user ends the session and the user's API keys at once.
    let r = s
        .patch(
            &format!("/api/v1/org/users/{}", ids["zhang"]),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get("/api/v1/auth/session").send().await.unwrap().status(),
        401
    );
    let k = s
        .post(
            "/api/v1/auth/api-keys",
            json!({"name": "zhang2", "user_id": ids["zhang"]}),
        )
        .await;
    assert_eq!(
        s.with_key(k.body["key"].as_str().unwrap())
            .get("/api/v1/me")
            .await
            .status,
        401
    );
    let relogin = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "zhang@demo.weft", "password": "weft-demo-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(relogin.status(), 401);
    // Throttling: five failures for one account, then 429 with Retry-After.
    let mut last = 0;
    for _ in 0..6 {
        let r = c
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "liu@demo.weft", "password": "nope-nope"}))
            .send()
            .await
            .unwrap();
        last = r.status().as_u16();
        if last == 429 {
            assert!(r.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(last, 429);
    // Revoked keys stop working; logout ends the session.
    let k = s
        .post("/api/v1/auth/api-keys", json!({"name": "temp"}))
        .await;
    let temp = s.with_key(k.body["key"].as_str().unwrap());
    assert_eq!(temp.get("/api/v1/me").await.status, 200);
    assert_eq!(
        s.delete(&format!(
            "/api/v1/auth/api-keys/{}",
            k.body["id"].as_str().unwrap()
        ))
        .await
        .status,
        204
    );
    assert_eq!(temp.get("/api/v1/me").await.status, 401);
    let keys = s.get("/api/v1/auth/api-keys").await;
    assert!(
        keys.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("key").is_none() && k.get("key_hash").is_none())
    );
    // The audit log saw it all.
    let audit = s.get("/api/v1/audit?limit=200").await;
    let actions: BTreeSet<String> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in [
        "auth.login",
        "auth.login_failed",
        "auth.key_created",
        "auth.key_revoked",
        "org.user_disabled",
        "meta.create_object",
        "org.role_created",
    ] {
        assert!(actions.contains(a), "missing {a} in {actions:?}");
    }
}

/// Expected visibility: the test's own model of the scopes in examples/crm/org.json.
#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn scopes_agree_everywhere(b: Backend) {
    let (_app, s, keys, ids) = crm_with_users(b).await;
    // More records spread over owners and departments.
    let depts: HashMap<String, String> = s.get("/api/v1/org/departments").await.body["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_owned(),
                d["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let owners = [
        ("zhang", "华东区"),
        ("liu", "华南区"),
        ("li", "华东区"),
        ("chen", "华南区"),
        ("wang", "销售部"),
    ];
    let director = ids.get("director").unwrap().clone();
    let mut recs = vec![];
    for i in 0..30 {
        let (who, dept) = owners[i % owners.len()];
        let owner = if who == "wang" {
            director.clone()
        } else {
            ids[who].clone()
        };
        recs.push(
            json!({"name": format!("客户 {i:02}"), "owner": owner, "department": depts[dept]}),
        );
    }
    let r = s
        .post("/api/v1/data/account/bulk", json!({"records": recs}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Every account, with owner and department, as the admin sees them.
    let everything = s
        .post("/api/v1/data/account/query", json!({"limit": 200}))
        .await
        .body["records"]
        .as_array()
        .unwrap()
        .clone();
    let east = depts["华东区"].clone();
    let south = depts["华南区"].clone();
    let expect = |who: &str| -> BTreeSet<String> {
        everything
            .iter()
            .filter(|r| {
                let owner = r["owner"].as_str().unwrap();
                let dept = r["department"].as_str().unwrap_or("");
                match who {
                    "zhang" | "liu" => owner == ids[who],
                    "li" => dept == east,
                    "chen" => dept == south,
                    "director" | "zhao" | "admin" => true,
                    _ => false,
                }
            })
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all: Vec<String> = everything
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    for who in ["zhang", "liu", "li", "chen", "director", "zhao"] {
        let u = &keys[who];
        let want = expect(who);
        assert!(!want.is_empty());
        // Lists (paged) and counts.
        assert_eq!(all_ids(u, "account").await, want, "{who}: list");
        let count = u
            .post(
                "/api/v1/data/account/query",
                json!({"count": true, "limit": 1}),
            )
            .await;
        assert_eq!(
            count.body["total"].as_u64().unwrap() as usize,
            want.len(),
            "{who}: count"
        );
        // Gets: 200 in scope, 404 out of scope (never 403: no existence oracle).
        for id in &all {
            let g = u.get(&format!("/api/v1/data/account/{id}")).await;
            let h = u.get(&format!("/api/v1/data/account/{id}/history")).await;
            if want.contains(id) {
                assert_eq!((g.status, h.status), (200, 200), "{who}: get {id}");
            } else {
                assert_eq!((g.status, h.status), (404, 404), "{who}: get {id}");
            }
        }
        // Export (where allowed) lists exactly the same ids.
        let e = u
            .client
            .get(format!("{}/api/v1/data/account/export", u.base))
            .bearer_auth(&u.key)
            .send()
            .await
            .unwrap();
        if ["zhang", "liu"].contains(&who) {
            assert_eq!(e.status(), 403, "{who}: reps cannot export");
        } else {
            assert_eq!(e.status(), 200);
            let text = e.text().await.unwrap();
            let exported: BTreeSet<String> = text
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap().to_owned())
                .collect();
            assert_eq!(exported, want, "{who}: export");
        }
        // Related lists from accounts the user can see only show opportunities they can see.
        let opp_visible = all_ids(u, "opportunity").await;
        for id in want.iter().take(5) {
            let rel = u
                .get(&format!(
                    "/api/v1/data/account/{id}/related/opportunity/account"
                ))
                .await;
            assert_eq!(rel.status, 200);
            for r in rel.body["records"].as_array().unwrap() {
                assert!(
                    opp_visible.contains(r["id"].as_str().unwrap()),
                    "{who}: related list leaks"
                );
            }
        }
        // Bulk updates touch exactly the records in scope.
        if who != "zhao" {
            let ups: Vec<Json> = all
                .iter()
                .map(|id| json!({"id": id, "description": format!("by {who}")}))
                .collect();
            let r = u
                .patch(
                    "/api/v1/data/account/bulk",
                    json!({"records": ups, "all_or_none": false}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(
                r.body["succeeded"].as_u64().unwrap() as usize,
                want.len(),
                "{who}: bulk"
            );
            for (res, id) in r.body["results"].as_array().unwrap().iter().zip(&all) {
                assert_eq!(
                    res["ok"].as_bool().unwrap(),
                    want.contains(id),
                    "{who}: bulk {id}"
                );
            }
        } else {
            let r = u
                .patch(
                    "/api/v1/data/account/bulk",
                    json!({"records": [{"id": all[0], "description": "x"}]}),
                )
                .await;
            assert_eq!(r.status, 403, "finance reads only");
        }
        // Deleting out of scope is "not found"; reps may not delete accounts at all.
        let outside = all.iter().find(|id| !want.contains(*id));
        if let Some(id) = outside {
            let d = u.delete(&format!("/api/v1/data/account/{id}")).await;
            assert!(d.status == 404 || d.status == 403, "{who}: {}", d.status);
        }
    }
    // Objects a role does not mention are closed (deny by default).
    assert_eq!(keys["zhao"].get("/api/v1/data/contact").await.status, 403);
    assert_eq!(
        keys["zhao"]
            .post("/api/v1/data/opportunity", json!({"name": "x"}))
            .await
            .status,
        403
    );
}

async fn field_security(b: Backend) {
    let (_app, s, keys, _ids) = crm_with_users(b).await;
    let zhao = &keys["zhao"];
    let zhang = &keys["zhang"];
    // Finance cannot see next_step: not in get, list, projection, filters, sorts, history, export.
    let opps = zhao.get("/api/v1/data/opportunity?limit=50").await;
    let first = opps.body["records"][0].clone();
    assert!(first.get("next_step").is_none(), "{first}");
    let id = first["id"].as_str().unwrap();
    assert!(
        zhao.get(&format!("/api/v1/data/opportunity/{id}"))
            .await
            .body
            .get("next_step")
            .is_none()
    );
    assert_eq!(
        problems(
            &zhao
                .post(
                    "/api/v1/data/opportunity/query",
                    json!({"filter": {"field": "next_step", "op": "is_null"}})
                )
                .await
        ),
        ["/filter/field:unknown_field"]
    );
    assert_eq!(
        problems(
            &zhao
                .post(
                    "/api/v1/data/opportunity/query",
                    json!({"sort": ["next_step"]})
                )
                .await
        ),
        ["/sort/0:unknown_field"]
    );
    assert_eq!(
        problems(
            &zhao
                .post(
                    "/api/v1/data/opportunity/query",
                    json!({"fields": ["next_step"]})
                )
                .await
        ),
        ["/fields/0:unknown_field"]
    );
    // The admin changes next_step; finance's history of the record never shows it.
    let admin_op = s.get("/api/v1/data/opportunity?sort=name").await.body["records"][0].clone();
    let oid = admin_op["id"].as_str().unwrap();
    s.patch(
        &format!("/api/v1/data/opportunity/{oid}"),
        json!({"next_step": "机密 secret step", "probability": "80"}),
    )
    .await;
    let h = zhao
        .get(&format!("/api/v1/data/opportunity/{oid}/history"))
        .await;
    assert!(!h.body.to_string().contains("secret step"), "{}", h.body);
    assert!(h.body.to_string().contains("probability"));
    let e = zhao
        .client
        .get(format!("{}/api/v1/data/opportunity/export", zhao.base))
        .bearer_auth(&zhao.key)
        .send()
        .await
        .unwrap();
    let csv = e.text().await.unwrap();
    assert!(
        !csv.contains("secret step") && !csv.contains("下一步"),
        "{csv}"
    );
    assert!(csv.starts_with('\u{feff}'), "UTF-8 BOM for spreadsheets");
    // Reps read the discount but cannot write it; owners are transferred, not patched.
    let mine = zhang.get("/api/v1/data/opportunity?limit=1").await.body["records"][0].clone();
    let mid = mine["id"].as_str().unwrap();
    assert!(mine.get("discount").is_some());
    let r = zhang
        .patch(
            &format!("/api/v1/data/opportunity/{mid}"),
            json!({"discount": "5", "next_step": "call"}),
        )
        .await;
    assert_eq!(problems(&r), ["/discount:read_only"]);
    let r = zhang
        .patch(
            &format!("/api/v1/data/opportunity/{mid}"),
            json!({"owner": _ids_any(&s).await}),
        )
        .await;
    assert_eq!(problems(&r), ["/owner:read_only"]);
    let r = zhang
        .post(
            "/api/v1/data/opportunity",
            json!({"name": "新商机", "account": mine["account"], "discount": "3"}),
        )
        .await;
    assert_eq!(problems(&r), ["/discount:read_only"]);
}

async fn _ids_any(s: &Server) -> String {
    s.get("/api/v1/org/users").await.body["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn view_as_explain_transfer(b: Backend) {
    let (_app, s, keys, ids) = crm_with_users(b).await;
    let zhang = &keys["zhang"];
    let zhang_view = all_ids(zhang, "account").await;
    // An admin sees the list as Zhang sees it, read-only.
    let r = s
        .send(
            "POST",
            "/api/v1/data/account/query",
            Some(&json!({"limit": 200})),
            &[("x-weft-view-as", &ids["zhang"])],
        )
        .await;
    let seen: BTreeSet<String> = r.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, zhang_view);
    let w = s
        .send(
            "POST",
            "/api/v1/data/account",
            Some(&json!({"name": "x"})),
            &[("x-weft-view-as", &ids["zhang"])],
        )
        .await;
    assert_eq!(w.status, 403);
    assert_eq!(
        zhang
            .send(
                "GET",
                "/api/v1/data/account",
                None,
                &[("x-weft-view-as", &ids["li"])]
            )
            .await
            .status,
        403
    );
    // Explain: why Zhang sees one account and not another.
    let all: Vec<String> = all_ids(&s, "account").await.into_iter().collect();
    let (inside, outside) = (
        all.iter().find(|i| zhang_view.contains(*i)).unwrap(),
        all.iter().find(|i| !zhang_view.contains(*i)).unwrap(),
    );
    let e = s
        .get(&format!(
            "/api/v1/access/explain?user={}&object=account&record={inside}",
            ids["zhang"]
        ))
        .await;
    assert_eq!(e.status, 200, "{}", e.body);
    assert_eq!(e.body["record"]["visible"], true);
    assert_eq!(e.body["scope"], "own");
    assert!(e.body["chain"].to_string().contains("sales_rep"));
    let e = s
        .get(&format!(
            "/api/v1/access/explain?user={}&object=account&record={outside}",
            ids["zhang"]
        ))
        .await;
    assert_eq!(e.body["record"]["visible"], false);
    assert!(e.body["chain"].to_string().contains("outside"));
    assert_eq!(
        zhang
            .get(&format!(
                "/api/v1/access/explain?user={}&object=account",
                ids["zhang"]
            ))
            .await
            .status,
        403
    );
    // Transfer: Zhang gives an account to Liu; it leaves Zhang's list and joins Liu's.
    let r = zhang
        .post(
            &format!("/api/v1/data/account/{inside}/transfer"),
            json!({"owner": ids["liu"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["owner"], ids["liu"].as_str());
    assert_eq!(
        zhang
            .get(&format!("/api/v1/data/account/{inside}"))
            .await
            .status,
        404
    );
    assert_eq!(
        keys["liu"]
            .get(&format!("/api/v1/data/account/{inside}"))
            .await
            .status,
        200
    );
    assert_eq!(
        keys["zhao"]
            .post(
                &format!("/api/v1/data/account/{inside}/transfer"),
                json!({"owner": ids["zhang"]})
            )
            .await
            .status,
        403
    );
    // Manager of user X at level N.
    let m = s
        .get(&format!(
            "/api/v1/org/users/{}/manager?level=1",
            ids["zhang"]
        ))
        .await;
    assert_eq!(m.body["manager"], ids["li"].as_str());
    let m = s
        .get(&format!(
            "/api/v1/org/users/{}/manager?level=2",
            ids["zhang"]
        ))
        .await;
    assert_eq!(m.body["manager"], ids["director"].as_str());
    let m = s
        .get(&format!("/api/v1/org/users/{}/manager?level=1", ids["li"]))
        .await;
    assert_eq!(
        m.body["manager"],
        ids["director"].as_str(),
        "a leader's manager is the leader above"
    );
}

async fn audit_chain_detects_tampering(b: Backend) {
    let (app, s, _keys, _ids) = crm_with_users(b).await;
    s.post(
        "/api/v1/meta/objects/account/fields",
        json!({"api_name": "vip_note", "type": "text", "label": {"en": "VIP"}}),
    )
    .await;
    s.create("account", json!({"name": "审计客户"})).await;
    let t = app.tenant.tenant_id;
    let sealed = app.rt.audit().seal_changes(t).await.unwrap();
    assert!(sealed >= 18, "{sealed}");
    let r = app.rt.audit().verify_audit(t).await.unwrap();
    assert!(r.ok, "{r:?}");
    assert!(r.entries > 10 && r.sealed_changes >= 18, "{r:?}");
    // The audit log refuses updates.
    let db = app.store.connection();
    use sea_orm::ConnectionTrait;
    let upd = "UPDATE audit_log SET detail = '{}' WHERE seq = 5";
    assert!(db.execute_unprepared(upd).await.is_err(), "append-only");
    // Someone with database access disables the guard and edits entry 5: verify names it.
    match b {
        Backend::Postgres => db
            .execute_unprepared("ALTER TABLE audit_log DISABLE TRIGGER audit_append_only")
            .await
            .unwrap(),
        Backend::Sqlite => db
            .execute_unprepared("DROP TRIGGER audit_no_update")
            .await
            .unwrap(),
    };
    db.execute_unprepared(upd).await.unwrap();
    let r = app.rt.audit().verify_audit(t).await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.broken_at, Some(5), "{r:?}");
    // A sealed change-log row edited afterwards is caught too.
    let app2 = TestApp::new(b).await;
    app2.rt
        .apps()
        .install_app(&app2.admin(), &crm_app())
        .await
        .unwrap();
    app2.rt
        .audit()
        .seal_changes(app2.tenant.tenant_id)
        .await
        .unwrap();
    assert!(
        app2.rt
            .audit()
            .verify_audit(app2.tenant.tenant_id)
            .await
            .unwrap()
            .ok
    );
    app2.store
        .connection()
        .execute_unprepared(
            "UPDATE change_log SET actor = tenant_id WHERE op = 'create' AND object = 'contact'",
        )
        .await
        .unwrap();
    let r = app2
        .rt
        .audit()
        .verify_audit(app2.tenant.tenant_id)
        .await
        .unwrap();
    assert!(
        !r.ok && r.reason.unwrap().contains("change-log"),
        "tamper with the change log"
    );
}

async fn rate_limits_per_tenant(b: Backend) {
    let app = TestApp::new(b).await;
    let other = app.other_tenant("Quiet Co.").await;
    let limits = weft_api::limits::RateConfig {
        tenant_per_sec: 2,
        tenant_burst: 5,
        credential_per_sec: 100,
        credential_burst: 100,
    };
    let s = app.serve_with(limits).await;
    let quiet = s.with_key(&other.api_key);
    let mut statuses = vec![];
    for _ in 0..12 {
        statuses.push(s.get("/api/v1/me").await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|x| **x == 200).count(),
        5,
        "{statuses:?}"
    );
    let r = s
        .client
        .get(format!("{}/api/v1/me", s.base))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // The quiet tenant is unaffected.
    for _ in 0..5 {
        assert_eq!(quiet.get("/api/v1/me").await.status, 200);
    }
}

/// A refusal names the object by its label, in the caller's language (`Accept-Language`), with
/// the same stable code and status either way.
async fn refusals_speak_the_callers_language(b: Backend) {
    let (_app, _s, keys, _ids) = crm_with_users(b).await;
    let zhao = &keys["zhao"];
    let body = json!({"name": "x"});
    let zh = zhao
        .send(
            "POST",
            "/api/v1/data/contact",
            Some(&body),
            &[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")],
        )
        .await;
    let en = zhao
        .send(
            "POST",
            "/api/v1/data/contact",
            Some(&body),
            &[("accept-language", "en-US,en;q=0.9")],
        )
        .await;
    let none = zhao.post("/api/v1/data/contact", body.clone()).await;
    for r in [&zh, &en, &none] {
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "forbidden");
    }
    assert_eq!(
        zh.body["error"]["message"],
        "你没有新建「联系人」记录的权限，请联系管理员"
    );
    assert_eq!(
        en.body["error"]["message"],
        "you may not create Contact records"
    );
    assert_eq!(none.body["error"]["message"], en.body["error"]["message"]);
    // A shared kind (not found) is translated too.
    let missing = zhao
        .send(
            "GET",
            "/api/v1/meta/objects/nothing_here",
            None,
            &[("accept-language", "zh")],
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "not_found");
    assert_eq!(
        missing.body["error"]["message"],
        "找不到所请求的内容，或你无权查看"
    );
}

dual!(
    refusals_speak_the_callers_language,
    sessions_csrf_and_disable,
    scopes_agree_everywhere,
    field_security,
    view_as_explain_transfer,
    audit_chain_detects_tampering,
    rate_limits_per_tenant
);

/// PostgreSQL's wall: every platform table with a tenant_id has row-level security forced,
/// and application connections run as a role that is neither owner, superuser nor BYPASSRLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rls_catalog() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = TestApp::new(Backend::Postgres).await;
    let db = app.store.connection();
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public' AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
        ))
        .await
        .unwrap();
    let missing: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert!(missing.is_empty(), "tables without forced RLS: {missing:?}");
    let role = app.store.check_app_role().await.unwrap();
    assert_eq!(role, "weft_app");
    let owns = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'weft_app'",
        ))
        .await
        .unwrap();
    assert!(owns.is_empty(), "weft_app owns nothing");
    // Without a tenant set, the app role sees no rows of any platform table (fail closed).
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL ROLE weft_tenant")
        .await
        .unwrap();
    let n = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) FROM users",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.try_get_by_index::<i64>(0).unwrap(), 0);
}
