//! Rules as versioned metadata (`/api/v1/meta/rules…`) and before-save rules on the single
//! write path: validations (every failure at once, with field paths), formula fields
//! (stored, filterable, sortable), rule defaults, conditional required and read-only — over
//! real HTTP on SQLite and PostgreSQL. Hostile scripts and templates go through the API and
//! are rejected on save or stopped at run time as a 4xx; the server keeps serving. The
//! automation service's named kinds answer in the caller's language.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{Value as Json, json};
use weft_runtime::automation::AutomationError;
use weft_runtime::clock::ManualClock;
use weft_testkit::{Backend, Server, TestApp, dual, problems};

fn deal_object() -> Json {
    json!({
        "api_name": "deal",
        "label": {"en": "Deal"},
        "name_field": "name",
        "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "amount", "type": "decimal", "label": {"en": "Amount"}, "precision": 14, "scale": 2},
            {"api_name": "probability", "type": "decimal", "label": {"en": "Probability"}, "precision": 5, "scale": 2},
            {"api_name": "weighted", "type": "decimal", "label": {"en": "Weighted"}, "precision": 14, "scale": 2, "indexed": true},
            {"api_name": "stage", "type": "single_select", "label": {"en": "Stage"},
             "options": [{"value": "open"}, {"value": "won"}, {"value": "lost"}]},
            {"api_name": "due", "type": "date", "label": {"en": "Due"}},
            {"api_name": "reason", "type": "text", "label": {"en": "Loss reason"}},
            {"api_name": "note", "type": "text", "label": {"en": "Note"}}
        ]
    })
}

async fn setup(b: Backend) -> (TestApp, Server) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    let r = s.post("/api/v1/meta/objects", deal_object()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (app, s)
}

fn validation(name: &str, condition: &str) -> Json {
    json!({"api_name": name, "object": "deal", "kind": "validation",
           "condition": condition, "message": "not valid", "field": "amount"})
}

async fn rules_are_versioned_metadata(b: Backend) {
    let (_app, s) = setup(b).await;

    // Check reports every problem with its line and column, and saves nothing.
    let r = s
        .post(
            "/api/v1/meta/rules/check",
            validation("typo", "record.amount > 0 &&\n  record.amout > 1"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ok"], false);
    let p = &r.body["problems"][0];
    assert_eq!(p["code"], "unknown_field", "{}", r.body);
    assert_eq!(p["path"], "/condition");
    assert_eq!(p["line"], 2);
    assert!(p["column"].as_u64().unwrap() >= 3, "{}", r.body);
    assert_eq!(s.get("/api/v1/meta/rules").await.body["rules"], json!([]));

    // Saving the same document answers 422 with the problem and its position.
    let r = s
        .post("/api/v1/meta/rules", validation("typo", "record.amout > 1"))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems(&r), ["/condition:unknown_field"]);
    assert!(
        r.body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 1, column"),
        "{}",
        r.body
    );

    // Create, read by id and by name, replace (new version), delete.
    let r = s
        .post(
            "/api/v1/meta/rules",
            validation("positive", "is_blank(record.amount) || record.amount > 0"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["version"], 1);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(s.get("/api/v1/meta/rules/positive").await.body["id"], id);
    let dup = s
        .post("/api/v1/meta/rules", validation("positive", "true"))
        .await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    let r = s
        .patch(
            &format!("/api/v1/meta/rules/{id}"),
            validation("positive", "is_blank(record.amount) || record.amount >= 1"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    let listed = s.get("/api/v1/meta/rules?object=deal").await;
    assert_eq!(listed.body["rules"].as_array().unwrap().len(), 1);

    // Bad documents: wrong types, unknown object, missing fields — 4xx with a path.
    let r = s
        .post(
            "/api/v1/meta/rules",
            json!({"api_name": 5, "object": "deal"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = s
        .post(
            "/api/v1/meta/rules",
            json!({"api_name": "x", "object": "nope", "kind": "validation", "condition": "true", "message": "m"}),
        )
        .await;
    assert_eq!(problems(&r), ["/object:unknown_object"]);
    let r = s
        .post(
            "/api/v1/meta/rules",
            json!({"api_name": "Bad Name", "object": "deal", "kind": "formula", "field": "nope", "expression": "1"}),
        )
        .await;
    assert_eq!(problems(&r), ["/api_name:api_name", "/field:unknown_field"]);
    let r = s
        .send(
            "POST",
            "/api/v1/meta/rules",
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert!((400..500).contains(&r.status), "{}", r.status);

    let r = s.delete(&format!("/api/v1/meta/rules/{id}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(s.get(&format!("/api/v1/meta/rules/{id}")).await.status, 404);
}

async fn before_save_rules_run_on_every_write(b: Backend) {
    let (_app, s) = setup(b).await;
    for doc in [
        json!({"api_name": "weighted", "object": "deal", "kind": "formula", "field": "weighted",
               "expression": "if is_blank(record.amount) || is_blank(record.probability) { () } else { round(record.amount * record.probability / 100, 2) }"}),
        json!({"api_name": "due_not_past", "object": "deal", "kind": "validation", "field": "due",
               "condition": "is_blank(record.due) || record.due >= today()",
               "message": "the due date cannot be in the past"}),
        validation("positive", "is_blank(record.amount) || record.amount > 0"),
        json!({"api_name": "lost_reason", "object": "deal", "kind": "required", "field": "reason",
               "condition": "record.stage == \"lost\"", "message": "say why the deal was lost"}),
        json!({"api_name": "frozen_when_won", "object": "deal", "kind": "read_only", "field": "amount",
               "condition": "old.stage == \"won\""}),
        json!({"api_name": "note_default", "object": "deal", "kind": "default", "field": "note",
               "expression": "concat(\"from \", record.name)"}),
    ] {
        let r = s.post("/api/v1/meta/rules", doc.clone()).await;
        assert_eq!(r.status, 201, "{doc}: {}", r.body);
    }

    // Every failure of a write at once, each at its field.
    let r = s
        .post(
            "/api/v1/data/deal",
            json!({"name": "bad", "amount": "-5", "due": "2001-01-01", "stage": "lost"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problems(&r),
        ["/amount:validation", "/due:validation", "/reason:required"]
    );

    // A good write: the formula is stored, the default filled.
    let d = s
        .create(
            "deal",
            json!({"name": "Acme", "amount": "200000", "probability": "25", "stage": "open"}),
        )
        .await;
    assert_eq!(d["weighted"], "50000.00", "{d}");
    assert_eq!(d["note"], "from Acme");
    s.create(
        "deal",
        json!({"name": "Small", "amount": "1000", "probability": "50", "note": "mine"}),
    )
    .await;

    // Formula fields are real columns: filter and sort on them.
    let q = s
        .post(
            "/api/v1/data/deal/query",
            json!({"filter": {"field": "weighted", "op": "gte", "value": "1000"}, "sort": ["-weighted"]}),
        )
        .await;
    assert_eq!(q.body["records"].as_array().unwrap().len(), 1, "{}", q.body);
    let q = s
        .post("/api/v1/data/deal/query", json!({"sort": ["weighted"]}))
        .await;
    assert_eq!(q.body["records"][0]["note"], "mine");

    // Updates recompute formulas from stored and changed values.
    let id = d["id"].as_str().unwrap();
    let r = s
        .patch(
            &format!("/api/v1/data/deal/{id}"),
            json!({"probability": "50"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["weighted"], "100000.00");

    // Conditional read-only: once won, the amount is locked.
    let r = s
        .patch(&format!("/api/v1/data/deal/{id}"), json!({"stage": "won"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .patch(&format!("/api/v1/data/deal/{id}"), json!({"amount": "1"}))
        .await;
    assert_eq!(problems(&r), ["/amount:read_only"]);

    // Bulk writes report per record.
    let r = s
        .post(
            "/api/v1/data/deal/bulk",
            json!({"records": [{"name": "ok"}, {"name": "late", "due": "2001-01-01"}], "all_or_none": true}),
        )
        .await;
    assert_eq!(problems(&r), ["/records/1/due:validation"]);
}

/// Scripts that loop, recurse, nest, grow, reach for I/O or misspell things.
fn hostile_scripts() -> Vec<String> {
    let mut v: Vec<String> = [
        "loop { }",
        "while true { }",
        "for x in 0..1000000000 { }",
        "do { } while true",
        "fn f(x) { f(x + 1) } f(0)",
        "eval(\"1 + 1\") == 2",
        "import \"/etc/passwd\" as p; true",
        "sleep(5); true",
        "print(\"x\"); true",
        "debug(\"x\"); true",
        "exit()",
        "timestamp() > 0",
        "throw \"boom\"",
        "try { 1 } catch { 2 }; true",
        "Fn(\"f\").call(1)",
        "let f = |x| x; f.curry(1); true",
        "this == 1",
        "__proto__ == 1",
        "record.amout > 1",
        "amount > 1",
        "uper(record.name) == \"X\"",
        "1 +",
        "let a = []; a.pad(100000000, 1); a.len() > 0",
        "let a = []; a.pad(10000, 1); let b = []; b.pad(10000, 1); a.map(|x| b.reduce(|s, y| s + y, 0)).len() > 0",
        "2 ** 100000 > 1",
        "1 / 0 == 0",
        "let s = \"ab\"; s.pad(100000000, \"c\"); true",
        "record.name.len() > 0 && 99999999999999999999999999999999 > 1",
        "let a = [1]; a.pad(20000, 1); a.len() > 0",
        "[1].map(|x| [1].map(|y| [1].map(|z| [1].map(|w| w)))).len() > 0 && yy",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("{}1{} > 0", "(".repeat(5000), ")".repeat(5000)));
    v.push(format!("\"{}\" == \"b\"", "a".repeat(100_000)));
    v.push(format!("{}true", "true && ".repeat(5000)));
    v.push(
        (0..40)
            .map(|_| "[1].map(|x| x).len() > 0")
            .collect::<Vec<_>>()
            .join(" && "),
    );
    v.push(format!(
        "{}record.name == \"x\"",
        "record.name + ".repeat(3000)
    ));
    v
}

/// Templates that print raw HTML, include partials, call unknown helpers or build unsafe HTML.
fn hostile_templates() -> Vec<String> {
    let mut v: Vec<String> = [
        "{{{record.name}}}",
        "{{& record.name}}",
        "{{> partial}}",
        "{{#> layout}}x{{/layout}}",
        "{{#*inline \"p\"}}x{{/inline}}",
        "{{* decorator}}",
        "{{log record.name}}",
        "{{raw record.name}}",
        "{{#raw}}x{{/raw}}",
        "{{unknown_helper record.name}}",
        "<script>alert(1)</script>",
        "<a href=\"{{record.name}}\">x</a>",
        "<img src=\"{{record.name}}\">",
        "<div title={{record.name}}>x</div>",
        "<div onclick=\"{{record.name}}\">x</div>",
        "<div style=\"{{record.name}}\">x</div>",
        "<style>{{record.name}}</style>",
        "<iframe src=\"https://example.com\"></iframe>",
        "<form action=\"https://example.com\"></form>",
        "<svg onload=\"x\"></svg>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"data:text/html,x\">x</a>",
        "{{#each a}}{{#each b}}{{#each c}}{{#each d}}x{{/each}}{{/each}}{{/each}}{{/each}}",
        "{{#if record.name}}x",
        "{{record.name",
        "{{#with record}}{{> p}}{{/with}}",
        "<{{record.name}}>x",
        "<a href='{{record.name}}'>x</a>",
        "{{#each record}}{{> item}}{{/each}}",
        "<body onload=\"{{record.name}}\">",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(70_000));
    v.push(format!(
        "{}x{}",
        "{{#if a}}".repeat(40),
        "{{/if}}".repeat(40)
    ));
    v
}

async fn hostile_scripts_and_templates_are_refused(b: Backend) {
    let (_app, s) = setup(b).await;
    let (mut rejected, mut stopped) = (0, 0);
    for (i, src) in hostile_scripts().iter().enumerate() {
        let name = format!("hostile_{i}");
        let r = s.post("/api/v1/meta/rules", validation(&name, src)).await;
        match r.status {
            422 => {
                assert!(!problems(&r).is_empty(), "{src}: {}", r.body);
                rejected += 1;
            }
            201 => {
                // Not detectable on save: stopped within the limits when it runs, as a 4xx.
                let w = s.post("/api/v1/data/deal", json!({"name": "x"})).await;
                assert_eq!(w.status, 422, "{src}: {}", w.body);
                assert_eq!(problems(&w), ["/amount:rule_failed"], "{src}");
                let d = s.delete(&format!("/api/v1/meta/rules/{name}")).await;
                assert_eq!(d.status, 204);
                stopped += 1;
            }
            other => panic!("{src}: unexpected {other}: {}", r.body),
        }
    }
    assert!(rejected >= 25, "rejected {rejected}, stopped {stopped}");
    assert!(stopped >= 3, "rejected {rejected}, stopped {stopped}");

    for (i, t) in hostile_templates().iter().enumerate() {
        let doc = json!({"api_name": format!("tpl_{i}"), "object": "deal", "kind": "trigger",
            "on": ["create"], "actions": [{"type": "notify", "owner": true, "title": "hi", "body": t}]});
        let r = s.post("/api/v1/meta/rules/check", doc.clone()).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["ok"], false, "template accepted: {t}");
        assert!(
            r.body["problems"][0]["path"]
                .as_str()
                .unwrap()
                .starts_with("/actions/0/body"),
            "{t}: {}",
            r.body
        );
        let r = s.post("/api/v1/meta/rules", doc).await;
        assert_eq!(r.status, 422, "{t}");
    }
    // Still serving, nothing was saved.
    assert_eq!(s.get("/api/v1/meta/rules").await.body["rules"], json!([]));
    s.create("deal", json!({"name": "after"})).await;
}

/// `today()` is the date in the tenant's time zone. At 01:00 in Shanghai (17:00 UTC the day
/// before) "the due date is not in the past" must accept today's Shanghai date: with UTC it
/// refused it for the first eight hours of every Chinese working day.
async fn today_is_the_tenants_date(b: Backend) {
    // 2026-12-01T17:00Z = 2026-12-02 01:00 in Shanghai.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 17, 0, 0).unwrap(),
    ));
    let app = TestApp::with_clock(b, clock.clone()).await;
    let s = app.serve().await;
    assert_eq!(
        s.post("/api/v1/meta/objects", deal_object()).await.status,
        201
    );
    let rule = json!({"api_name": "due_not_past", "object": "deal", "kind": "validation",
                      "condition": "is_blank(record.due) || record.due >= today()",
                      "message": "the due date is in the past", "field": "due"});
    assert_eq!(s.post("/api/v1/meta/rules", rule).await.status, 201);
    assert_eq!(
        s.get("/api/v1/tenant/settings").await.body["time_zone"],
        "UTC"
    );
    let deal = json!({"name": "a", "due": "2026-12-02"});
    // In UTC it is still 1 December: 2 December is not in the past either way…
    assert_eq!(s.post("/api/v1/data/deal", deal.clone()).await.status, 201);
    // …but 1 December is refused only once the tenant's day (Shanghai) has moved on.
    let yesterday = json!({"name": "b", "due": "2026-12-01"});
    assert_eq!(
        s.post("/api/v1/data/deal", yesterday.clone()).await.status,
        201
    );

    // Bad settings: every refusal at its path, and nothing changes.
    let r = s
        .patch(
            "/api/v1/tenant/settings",
            json!({"time_zone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(problems(&r), ["/time_zone:unknown_time_zone"]);
    let r = s
        .patch(
            "/api/v1/tenant/settings",
            json!({"timezone": "Asia/Shanghai"}),
        )
        .await;
    assert_eq!(problems(&r), ["/timezone:unknown_key"]);
    let r = s
        .patch("/api/v1/tenant/settings", json!({"time_zone": 8}))
        .await;
    assert_eq!(problems(&r), ["/time_zone:type"]);
    assert_eq!(
        s.get("/api/v1/tenant/settings").await.body["time_zone"],
        "UTC"
    );

    let r = s
        .patch(
            "/api/v1/tenant/settings",
            json!({"time_zone": "Asia/Shanghai"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["time_zone"], "Asia/Shanghai");
    let r = s.post("/api/v1/data/deal", yesterday).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems(&r), ["/due:validation"]);
    assert_eq!(s.post("/api/v1/data/deal", deal).await.status, 201);
    // Another tenant keeps its own zone.
    let other = app.other_tenant("other").await;
    let o = s.with_key(&other.api_key);
    assert_eq!(
        o.get("/api/v1/tenant/settings").await.body["time_zone"],
        "UTC"
    );
}

/// A kind the automation service names answers with its stable code and status, in Chinese
/// when the request prefers it and in English otherwise; inside the runtime it stays typed.
async fn automation_kinds_answer_in_the_callers_language(b: Backend) {
    let (app, s) = setup(b).await;
    let r = s
        .post("/api/v1/meta/rules", validation("positive", "true"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dup = validation("positive", "false");
    for (accept, message) in [
        (Some("zh-CN"), "已存在名为「positive」的规则"),
        (Some("zh;q=0.9,en;q=0.8"), "已存在名为「positive」的规则"),
        (Some("en-US,zh;q=0.5"), "a rule named 'positive' exists"),
        (None, "a rule named 'positive' exists"),
    ] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-language", a)).into_iter().collect();
        let r = s
            .send("POST", "/api/v1/meta/rules", Some(&dup), &headers)
            .await;
        assert_eq!(r.status, 409, "{accept:?}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "duplicate_api_name", "{}", r.body);
        assert_eq!(
            r.body["error"]["message"], message,
            "{accept:?}: {}",
            r.body
        );
    }

    // A kind raised deep in the service (a manual run of a rule that is not manual).
    let r = s
        .post(
            "/api/v1/meta/rules",
            json!({"api_name": "on_create", "object": "deal", "kind": "trigger", "on": ["create"],
                   "actions": [{"type": "update_record", "values": {"note": "seen"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = s.create("deal", json!({"name": "Acme"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/automation/manual/deal/{id}/on_create");
    let r = s
        .send(
            "POST",
            &path,
            Some(&json!({})),
            &[("accept-language", "zh-CN")],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_manual", "{}", r.body);
    assert_eq!(r.body["error"]["message"], "此规则不是已启用的手动操作");
    let r = s.post(&path, json!({})).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.body["error"]["message"],
        "this rule is not an active manual action"
    );
    let e = app
        .rt
        .automation()
        .run_manual(
            &app.admin(),
            "deal",
            uuid::Uuid::parse_str(&id).unwrap(),
            "on_create",
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, AutomationError::NotManual), "{e:?}");
}

/// Legal and loop-free, a few milliseconds of rule work each (well inside the 50 ms
/// per-evaluation limit): issue 12's "slow but legal" validation.
const SLOW_RULE: &str = "let a = []; a.pad(1500, 1); a.map(|x| x + 1).reduce(|s, x| s + x, 0) > 0";

/// Ten slow-but-legal validations on `deal`.
async fn ten_slow_validations(s: &Server) {
    for i in 0..10 {
        let r = s
            .post(
                "/api/v1/meta/rules",
                validation(&format!("slow_{i}"), SLOW_RULE),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
}

fn bulk_of(n: usize) -> Json {
    let records: Vec<Json> = (0..n)
        .map(|i| json!({"name": format!("deal {i}"), "amount": "100"}))
        .collect();
    json!({"records": records, "all_or_none": false})
}

/// Issue 12: one write shares one CPU budget across all its rules. A bulk create whose rules
/// would hold the worker for seconds is refused as a whole with `limit.cpu`, naming the rule
/// that was running, soon after the budget (500 ms) is spent; a single write is unaffected.
async fn a_write_shares_one_cpu_budget(b: Backend) {
    let (_app, s) = setup(b).await;
    ten_slow_validations(&s).await;

    // One record through all ten rules fits the budget.
    let started = Instant::now();
    let r = s
        .post("/api/v1/data/deal", json!({"name": "one", "amount": "1"}))
        .await;
    let single = started.elapsed();
    assert_eq!(r.status, 201, "{}", r.body);

    // A hundred records x ten rules: refused as a whole, well before the rules would finish.
    let started = Instant::now();
    let r = s.post("/api/v1/data/deal/bulk", bulk_of(100)).await;
    let refused = started.elapsed();
    eprintln!("single create {single:?}; bulk of 100 refused after {refused:?}");
    assert_eq!(r.status, 422, "{}", r.body);
    let e = &r.body["error"];
    assert_eq!(e["code"], "limit.cpu", "{}", r.body);
    let rule = e["details"][0]["path"]
        .as_str()
        .and_then(|p| p.strip_prefix("/rules/"))
        .unwrap_or_default()
        .to_owned();
    assert!(rule.starts_with("slow_"), "{}", r.body);
    assert_eq!(e["details"][0]["code"], "limit.cpu");
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("rule '{rule}'")), "{message}");
    assert!(message.contains("/records/"), "{message}");
    assert!(refused < Duration::from_secs(3), "{refused:?}");

    // Nothing of the bulk was written, though the call allowed partial success.
    let list = s.get("/api/v1/data/deal").await;
    let names: Vec<&str> = list.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["one"], "{}", list.body);

    // In Chinese when asked, the problem too.
    let r = s
        .send(
            "POST",
            "/api/v1/data/deal/bulk",
            Some(&bulk_of(100)),
            &[("accept-language", "zh-CN")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let e = &r.body["error"];
    assert_eq!(e["code"], "limit.cpu");
    let message = e["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("本次写入的规则运行时间超出上限，当时正在运行规则「slow_"),
        "{message}"
    );
    assert!(
        e["details"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("「slow_"),
        "{}",
        r.body
    );

    // The server keeps serving writes of a size the budget allows.
    let r = s.post("/api/v1/data/deal/bulk", bulk_of(2)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The same bulk with the budget out of the way, to compare: how long the rules alone hold
/// the worker (issue 12 measured 12-13 s on its machine). Run by hand:
/// `cargo test -p weft-tests --test rules -- --ignored --nocapture without_a_budget`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn without_a_budget_the_bulk_holds_the_worker() {
    let cfg = weft_runtime::RuntimeConfig {
        rules_budget_per_write: Duration::from_secs(3_600),
        ..Default::default()
    };
    let app = TestApp::with_config(Backend::Sqlite, cfg).await;
    let s = app.serve().await;
    let r = s.post("/api/v1/meta/objects", deal_object()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    ten_slow_validations(&s).await;
    let started = Instant::now();
    let r = s.post("/api/v1/data/deal/bulk", bulk_of(100)).await;
    eprintln!(
        "without a budget the bulk of 100 took {:?} ({})",
        started.elapsed(),
        r.status
    );
}

dual!(
    a_write_shares_one_cpu_budget,
    automation_kinds_answer_in_the_callers_language,
    today_is_the_tenants_date,
    rules_are_versioned_metadata,
    before_save_rules_run_on_every_write,
    hostile_scripts_and_templates_are_refused,
);
