//! After-save triggers through the transactional outbox, the worker and its actions, against
//! a real HTTP receiver and a real SMTP server on loopback; guards (self-retriggering rules,
//! cascade depth, SSRF); dry runs; roll-ups kept exact in the write transaction. Each case
//! runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/receivers.rs"]
mod receivers;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use receivers::{HookReceiver, SmtpReceiver};
use serde_json::{Value as Json, json};
use weft_outbound::{Channels, OutboundConfig, SmtpConfig, SmtpSecurity};
use weft_runtime::automation::sign_webhook;
use weft_runtime::clock::ManualClock;
use weft_testkit::{Backend, Server, TestApp, dual, now, problems};

fn objects() -> Vec<Json> {
    vec![
        json!({"api_name": "account", "label": {"en": "Account"}, "name_field": "name", "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "pipeline", "type": "decimal", "label": {"en": "Pipeline"}, "precision": 16, "scale": 2},
            {"api_name": "deals", "type": "integer", "label": {"en": "Deals"}},
            {"api_name": "biggest", "type": "decimal", "label": {"en": "Biggest"}, "precision": 16, "scale": 2}
        ]}),
        json!({"api_name": "deal", "label": {"en": "Deal"}, "name_field": "name", "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "account", "type": "lookup", "label": {"en": "Account"}, "target": "account"},
            {"api_name": "amount", "type": "decimal", "label": {"en": "Amount"}, "precision": 14, "scale": 2},
            {"api_name": "probability", "type": "integer", "label": {"en": "Probability"}},
            {"api_name": "stage", "type": "single_select", "label": {"en": "Stage"},
             "options": [{"value": "open"}, {"value": "won"}, {"value": "lost"}]},
            {"api_name": "note", "type": "text", "label": {"en": "Note"}}
        ]}),
        json!({"api_name": "task", "label": {"en": "Task"}, "name_field": "name", "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "deal", "type": "lookup", "label": {"en": "Deal"}, "target": "deal"}
        ]}),
    ]
}

async fn setup(b: Backend) -> (TestApp, Server, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(now()));
    let app = TestApp::with_clock(b, clock.clone()).await;
    let s = app.serve().await;
    for o in objects() {
        let r = s.post("/api/v1/meta/objects", o).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    (app, s, clock)
}

fn channels(smtp_port: Option<u16>, allow_loopback: bool) -> Channels {
    Channels::new(OutboundConfig {
        allow_loopback,
        smtp: smtp_port.map(|port| SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "Weft <weft@test.local>".into(),
        }),
        ..OutboundConfig::default()
    })
}

/// Run the worker until nothing is due (bounded).
async fn drain(app: &TestApp, out: &Channels) {
    weft_testkit::drain_outbox(&app.rt, out).await;
}

async fn runs(s: &Server) -> Vec<Json> {
    let r = s.get("/api/v1/automation/runs").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["runs"].as_array().unwrap().clone()
}

async fn rule(s: &Server, doc: Json) -> Json {
    let r = s.post("/api/v1/meta/rules", doc.clone()).await;
    assert_eq!(r.status, 201, "{doc}: {}", r.body);
    r.body
}

const SECRET: &str = "s3cret-s3cret-s3cret";

async fn triggers_run_through_the_outbox(b: Backend) {
    let hooks = HookReceiver::start().await;
    let smtp = SmtpReceiver::start().await;
    let (app, s, clock) = setup(b).await;
    let out = channels(Some(smtp.port), true);
    rule(&s, json!({
        "api_name": "won_deal", "object": "deal", "kind": "trigger", "on": ["update"],
        "transition": {"field": "stage", "from": "*", "to": "won"},
        "actions": [
            {"type": "notify", "owner": true, "title": "Won: {{record.name}}", "body": "<p>{{record.name}} was won</p>"},
            {"type": "webhook", "url": hooks.url, "secret": SECRET},
            {"type": "email", "to": ["director@test.local"], "subject": "Won {{record.name}}", "body": "<p>{{record.name}}</p>"},
            {"type": "create_record", "object": "task", "values": {
                "name": {"expr": "concat(\"Kick-off \", record.name)"}, "deal": {"from": "id"}}},
            {"type": "update_record", "values": {"note": "celebrated"}}
        ]
    }))
    .await;

    let d = s
        .create("deal", json!({"name": "Acme", "stage": "open"}))
        .await;
    let id = d["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/data/deal/{id}");
    // Not an update to won: nothing queued.
    s.patch(&path, json!({"note": "x"})).await;
    assert!(runs(&s).await.is_empty());

    // The write and its run commit together.
    let r = s.patch(&path, json!({"stage": "won"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let queued = runs(&s).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["status"], "queued");
    assert_eq!(queued[0]["input"]["actions"][1]["secret"], "********");
    let run_id = queued[0]["id"].as_str().unwrap().to_owned();
    let key = queued[0]["idempotency_key"].as_str().unwrap().to_owned();

    // The receiver fails once: the run keeps its finished actions and backs off.
    hooks.fail_next(1);
    drain(&app, &out).await;
    let r = s.get(&format!("/api/v1/automation/runs/{run_id}")).await;
    assert_eq!(r.body["status"], "queued", "{}", r.body);
    assert_eq!(r.body["progress"]["done"], json!([0]));
    assert!(
        r.body["error"].as_str().unwrap().contains("HTTP 500"),
        "{}",
        r.body
    );
    assert_eq!(r.body["deliveries"][0]["status_code"], 500);
    assert!(hooks.got().is_empty());

    // Not due yet; after the backoff it finishes.
    drain(&app, &out).await;
    assert!(hooks.got().is_empty());
    clock.advance(Duration::minutes(10));
    drain(&app, &out).await;
    let r = s.get(&format!("/api/v1/automation/runs/{run_id}")).await;
    assert_eq!(r.body["status"], "done", "{}", r.body);
    assert_eq!(r.body["progress"]["done"], json!([0, 1, 2, 3, 4]));
    assert_eq!(r.body["attempts"], 2);

    // The webhook: signed body and timestamp, stable idempotency key.
    let got = hooks.got();
    assert_eq!(got.len(), 1);
    let h = &got[0];
    let ts: i64 = h.headers["x-weft-timestamp"].parse().unwrap();
    assert_eq!(
        h.headers["x-weft-signature"],
        sign_webhook(SECRET, ts, &h.body)
    );
    assert_ne!(
        h.headers["x-weft-signature"],
        sign_webhook("wrong-secret-0000", ts, &h.body)
    );
    assert_eq!(h.headers["idempotency-key"], format!("{key}:1"));
    let body: Json = serde_json::from_str(&h.body).unwrap();
    assert_eq!(body["record"]["name"], "Acme");
    assert_eq!(body["old"]["stage"], "open");

    // E-mail through the SMTP server.
    let mails = smtp.got();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].to[0].contains("director@test.local"));
    assert!(
        mails[0].data.contains("Subject: Won Acme"),
        "{}",
        mails[0].data
    );

    // The created task is linked; the record was updated (which fired nothing more).
    let tasks = s.get("/api/v1/data/task").await;
    assert_eq!(tasks.body["records"][0]["name"], "Kick-off Acme");
    assert_eq!(tasks.body["records"][0]["deal"], id.as_str());
    assert_eq!(s.get(&path).await.body["note"], "celebrated");
    assert_eq!(runs(&s).await.len(), 1);

    // The owner was notified exactly once, even though the run was attempted twice.
    let n = s.get("/api/v1/notifications?unread=true").await;
    let list = n.body["notifications"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", n.body);
    assert_eq!(list[0]["title"], "Won: Acme");
    let nid = list[0]["id"].as_str().unwrap();
    let r = s
        .post(&format!("/api/v1/notifications/{nid}/read"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let n = s.get("/api/v1/notifications?unread=true").await;
    assert_eq!(n.body["notifications"], json!([]));
    let r = s
        .post(
            &format!("/api/v1/notifications/{}/read", uuid::Uuid::now_v7()),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404);

    // Manual resend: the same body under the same idempotency key.
    let dl = s.get("/api/v1/automation/deliveries").await;
    let ok = dl.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ok"] == true)
        .unwrap()
        .clone();
    let r = s
        .post(
            &format!(
                "/api/v1/automation/deliveries/{}/resend",
                ok["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    drain(&app, &out).await;
    let got = hooks.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].body, got[0].body);
    assert_eq!(got[1].headers["idempotency-key"], format!("{key}:1"));
    assert_eq!(smtp.got().len(), 1);
    assert_eq!(
        s.get("/api/v1/data/task").await.body["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn guards_stop_loops_and_unsafe_targets(b: Backend) {
    let hooks = HookReceiver::start().await;
    let (app, s, _clock) = setup(b).await;

    // A rule that writes the field its own trigger watches is refused unless re-entrant.
    let looping = json!({
        "api_name": "bump", "object": "deal", "kind": "trigger", "on": ["update"], "fields": ["probability"],
        "actions": [{"type": "update_record", "values": {"probability": {"expr": "if_blank(record.probability, 0) + 1"}}}]
    });
    let r = s.post("/api/v1/meta/rules", looping.clone()).await;
    assert_eq!(
        problems(&r),
        ["/actions/0/values/probability:retriggers_itself"]
    );

    // Marked re-entrant, it runs until the cascade-depth guard stops it.
    let mut reentrant = looping;
    reentrant["reentrant"] = json!(true);
    rule(&s, reentrant).await;
    let d = s
        .create("deal", json!({"name": "Loop", "probability": 0}))
        .await;
    let id = d["id"].as_str().unwrap();
    s.patch(
        &format!("/api/v1/data/deal/{id}"),
        json!({"probability": 1}),
    )
    .await;
    let out = channels(None, true);
    drain(&app, &out).await;
    let all = runs(&s).await;
    let skipped: Vec<&Json> = all.iter().filter(|r| r["status"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{all:?}");
    assert!(
        skipped[0]["error"]
            .as_str()
            .unwrap()
            .contains("cascade depth")
    );
    assert_eq!(all.len(), 9, "one run per level up to the limit");
    let after = s.get(&format!("/api/v1/data/deal/{id}")).await;
    assert_eq!(after.body["probability"], 9);
    s.delete("/api/v1/meta/rules/bump").await;

    // A failed run can be retried by an admin.
    let skipped_id = skipped[0]["id"].as_str().unwrap();
    let r = s
        .post(
            &format!("/api/v1/automation/runs/{skipped_id}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .post(
            &format!("/api/v1/automation/runs/{skipped_id}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // SSRF guard: loopback is refused unless the operator allows it.
    rule(&s, json!({
        "api_name": "hook", "object": "deal", "kind": "trigger", "on": ["create"], "max_attempts": 1,
        "actions": [{"type": "webhook", "url": hooks.url, "secret": SECRET}]
    }))
    .await;
    s.create("deal", json!({"name": "Hooked"})).await;
    drain(&app, &channels(None, false)).await;
    let failed: Vec<Json> = runs(&s)
        .await
        .into_iter()
        .filter(|r| r["rule"] == "hook")
        .collect();
    assert_eq!(failed[0]["status"], "failed", "{failed:?}");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("loopback"),
        "{failed:?}"
    );
    assert!(hooks.got().is_empty());
    s.delete("/api/v1/meta/rules/hook").await;

    // A condition that runs away fails its run; the write itself succeeds.
    rule(&s, json!({
        "api_name": "runaway", "object": "deal", "kind": "trigger", "on": ["create"],
        "condition": "let a = []; a.pad(10000, 1); let b = []; b.pad(10000, 1); a.map(|x| b.reduce(|s, y| s + y, 0)).len() > 0",
        "actions": [{"type": "notify", "owner": true, "title": "x", "body": "x"}]
    }))
    .await;
    s.create("deal", json!({"name": "Runaway"})).await;
    let r: Vec<Json> = runs(&s)
        .await
        .into_iter()
        .filter(|r| r["rule"] == "runaway")
        .collect();
    assert_eq!(r[0]["status"], "failed");
    assert!(
        r[0]["error"].as_str().unwrap().contains("could not run"),
        "{r:?}"
    );
    s.delete("/api/v1/meta/rules/runaway").await;

    // A write that fails changes nothing, and queues nothing.
    rule(
        &s,
        json!({
            "api_name": "on_create", "object": "deal", "kind": "trigger", "on": ["create"],
            "actions": [{"type": "notify", "owner": true, "title": "x", "body": "x"}]
        }),
    )
    .await;
    let before = runs(&s).await.len();
    let r = s
        .post("/api/v1/data/deal", json!({"name": "Bad", "stage": "nope"}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(runs(&s).await.len(), before);
}

/// Queue a dry run (202), run the job queue until it is idle, and return the job's final view.
async fn dry_run(app: &TestApp, s: &Server, body: Json) -> Json {
    let r = s.post("/api/v1/meta/rules/dry-run", body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "queued");
    while app.rt.jobs().run_jobs_once("test").await.unwrap() > 0 {}
    let id = r.body["id"].as_str().unwrap();
    let done = s.get(&format!("/api/v1/meta/rules/dry-run/{id}")).await;
    assert_eq!(done.status, 200, "{}", done.body);
    done.body
}

async fn dry_run_changes_nothing(b: Backend) {
    let (app, s, _clock) = setup(b).await;
    for i in 0..30 {
        s.create(
            "deal",
            json!({"name": format!("D{i}"), "amount": (i * 50_000).to_string(), "probability": 50}),
        )
        .await;
    }
    let draft = json!({
        "api_name": "big_deal", "object": "deal", "kind": "trigger", "on": ["create", "update"],
        "condition": "record.amount > 500000",
        "actions": [
            {"type": "notify", "roles": ["sales_director"], "title": "Big deal: {{record.name}}", "body": "<p>{{record.name}}</p>"},
            {"type": "webhook", "url": "https://example.com/hook", "secret": SECRET}
        ]
    });
    let job = dry_run(&app, &s, json!({"rule": draft, "samples": 3})).await;
    assert_eq!(job["status"], "done", "{job}");
    let rep = &job["report"];
    assert_eq!(rep["scanned"], 30);
    assert_eq!(rep["matched"], 19, "{job}");
    assert_eq!(rep["samples"].as_array().unwrap().len(), 3);
    assert_eq!(rep["actions_would_fire"]["notify"], 19);
    assert!(
        rep["samples"][0]["actions"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Big deal: D")
    );
    // Every match can be paged through, by title.
    let id = job["id"].as_str().unwrap();
    let p1 = s
        .get(&format!("/api/v1/meta/rules/dry-run/{id}/matches?limit=10"))
        .await;
    assert_eq!(p1.status, 200, "{}", p1.body);
    assert_eq!(p1.body["matches"].as_array().unwrap().len(), 10);
    assert_eq!(p1.body["next_offset"], 10);
    let p2 = s
        .get(&format!(
            "/api/v1/meta/rules/dry-run/{id}/matches?offset=10&limit=10"
        ))
        .await;
    assert_eq!(p2.body["matches"].as_array().unwrap().len(), 9);
    assert!(p2.body["next_offset"].is_null());
    let titles: Vec<&str> = [&p1.body, &p2.body]
        .iter()
        .flat_map(|p| p["matches"].as_array().unwrap())
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 19);
    assert!(titles.iter().all(|t| t.starts_with('D')), "{titles:?}");
    // With a filter and a limit.
    let job = dry_run(
        &app,
        &s,
        json!({"rule": draft, "filter": {"field": "amount", "op": "lt", "value": "700000"}}),
    )
    .await;
    assert_eq!(job["report"]["scanned"], 14, "{job}");
    assert_eq!(job["report"]["matched"], 3);
    // A formula over existing records: the diffs it would make.
    let formula = json!({"api_name": "w", "object": "deal", "kind": "formula", "field": "note",
        "expression": "text(record.amount * record.probability / 100)"});
    let job = dry_run(&app, &s, json!({"rule": formula, "limit": 5})).await;
    let rep = &job["report"];
    assert_eq!(rep["scanned"], 5, "{job}");
    assert_eq!(rep["matched"], 5, "{job}");
    assert!(rep["truncated"].as_bool().unwrap());
    assert!(rep["samples"][0]["before"].is_null());
    assert!(
        rep["samples"][0]["after"]
            .as_str()
            .unwrap()
            .ends_with("000.00")
    );
    // Nothing happened: no run, no rule, no change.
    assert!(runs(&s).await.is_empty());
    assert_eq!(s.get("/api/v1/meta/rules").await.body["rules"], json!([]));
    let q = s
        .post(
            "/api/v1/data/deal/query",
            json!({"filter": {"field": "note", "op": "is_null", "value": true}, "count": true}),
        )
        .await;
    assert_eq!(q.body["total"], 30, "{}", q.body);
    // Bad input answers 4xx at once, and queues nothing.
    let r = s
        .post("/api/v1/meta/rules/dry-run", json!({"limit": 5}))
        .await;
    assert_eq!(problems(&r), ["/rule:required"]);
    let r = s
        .post("/api/v1/meta/rules/dry-run", json!({"rule": {"api_name": "x", "object": "nope", "kind": "validation", "condition": "true", "message": "m"}}))
        .await;
    assert_eq!(problems(&r), ["/rule/object:unknown_object"]);
    let r = s
        .post(
            "/api/v1/meta/rules/dry-run",
            json!({"rule": draft, "limit": 0}),
        )
        .await;
    assert_eq!(problems(&r), ["/limit:range"]);
    let r = s
        .post(
            "/api/v1/meta/rules/dry-run",
            json!({"rule": draft, "filter": {"field": "nope", "op": "eq", "value": 1}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(app.rt.jobs().run_jobs_once("test").await.unwrap(), 0);
    let r = s
        .get("/api/v1/meta/rules/dry-run/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(r.status, 404);
}

/// Dry runs are admins' background jobs with the budget of one write per step, and can be
/// cancelled; a user without admin rights cannot start one.
async fn dry_runs_are_budgeted_jobs(b: Backend) {
    let (app, s, _clock) = setup(b).await;
    let recs: Vec<Json> = (0..150)
        .map(|i| json!({"name": format!("B{i}"), "amount": "10"}))
        .collect();
    let r = s
        .post("/api/v1/data/deal/bulk", json!({"records": recs}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Legal per evaluation (well under the 50 ms limit), far too slow for 100 records in one
    // write's 500 ms budget.
    let slow = "let a = []; a.pad(4000, 1); a.map(|x| x + 1).reduce(|s, x| s + x, 0) > 0 && \
        a.map(|x| x * 2).reduce(|s, x| s + x, 0) > 0";
    let heavy = json!({"api_name": "heavy", "object": "deal", "kind": "validation",
        "condition": slow, "message": "m"});
    let job = dry_run(&app, &s, json!({"rule": heavy})).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "limit.cpu", "{job}");
    assert!(
        job["error"]["message"].as_str().unwrap().contains("heavy"),
        "{job}"
    );
    assert!(
        job["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("heavy"),
        "{job}"
    );
    assert!(job["report"]["scanned"].as_u64().unwrap() < 150, "{job}");

    // Cancelled before it runs: it never scans.
    let cheap = json!({"api_name": "cheap", "object": "deal", "kind": "validation",
        "condition": "record.amount > 0", "message": "m"});
    let r = s
        .post("/api/v1/meta/rules/dry-run", json!({"rule": cheap}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let c = s
        .post(
            &format!("/api/v1/meta/rules/dry-run/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["status"], "cancelled");
    while app.rt.jobs().run_jobs_once("test").await.unwrap() > 0 {}
    let after = s.get(&format!("/api/v1/meta/rules/dry-run/{id}")).await;
    assert_eq!(after.body["status"], "cancelled");
    assert_eq!(after.body["report"]["scanned"], 0);

    // Not an admin: 403, nothing queued. Another tenant's admin cannot see the job.
    let u = s
        .post(
            "/api/v1/org/users",
            json!({"name": "rep", "email": "rep@dry.weft"}),
        )
        .await;
    assert_eq!(u.status, 201, "{}", u.body);
    let k = s
        .post(
            "/api/v1/auth/api-keys",
            json!({"name": "rep", "user_id": u.body["id"]}),
        )
        .await;
    assert_eq!(k.status, 201, "{}", k.body);
    let rep = s.with_key(k.body["key"].as_str().unwrap());
    let r = rep
        .post("/api/v1/meta/rules/dry-run", json!({"rule": cheap}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = rep.get(&format!("/api/v1/meta/rules/dry-run/{id}")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let other = app.other_tenant("Other Co.").await;
    let o = s.with_key(&other.api_key);
    assert_eq!(
        o.get(&format!("/api/v1/meta/rules/dry-run/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        o.post(
            &format!("/api/v1/meta/rules/dry-run/{id}/cancel"),
            json!({})
        )
        .await
        .status,
        404
    );
}

async fn rollups_stay_exact(b: Backend) {
    let (_app, s, _clock) = setup(b).await;
    rule(&s, json!({"api_name": "pipeline", "object": "account", "kind": "rollup", "field": "pipeline",
        "child": "deal", "via": "account", "op": "sum", "of": "amount", "filter": "record.stage != \"lost\""}))
    .await;
    rule(
        &s,
        json!({"api_name": "deal_count", "object": "account", "kind": "rollup", "field": "deals",
        "child": "deal", "via": "account", "op": "count"}),
    )
    .await;
    rule(
        &s,
        json!({"api_name": "biggest", "object": "account", "kind": "rollup", "field": "biggest",
        "child": "deal", "via": "account", "op": "max", "of": "amount"}),
    )
    .await;
    let bad = s
        .post(
            "/api/v1/meta/rules",
            json!({"api_name": "bad", "object": "account", "kind": "rollup",
            "field": "name", "child": "task", "via": "deal", "op": "sum"}),
        )
        .await;
    assert_eq!(
        problems(&bad),
        ["/field:type", "/of:required", "/via:not_lookup"]
    );

    let a1 = s.create("account", json!({"name": "A1"})).await;
    let a2 = s.create("account", json!({"name": "A2"})).await;
    let (a1, a2) = (a1["id"].as_str().unwrap(), a2["id"].as_str().unwrap());
    let acc = |id: &str| format!("/api/v1/data/account/{id}");
    let d1 = s
        .create(
            "deal",
            json!({"name": "d1", "account": a1, "amount": "100"}),
        )
        .await;
    let d2 = s
        .create(
            "deal",
            json!({"name": "d2", "account": a1, "amount": "200.50", "stage": "open"}),
        )
        .await;
    let got = s.get(&acc(a1)).await.body;
    assert_eq!(
        (got["pipeline"].clone(), got["deals"].clone()),
        (json!("300.50"), json!(2))
    );
    assert_eq!(got["biggest"], "200.50");
    let d2p = format!("/api/v1/data/deal/{}", d2["id"].as_str().unwrap());
    // Change, filter out, re-parent, delete, restore: always exact.
    s.patch(&d2p, json!({"amount": "250"})).await;
    assert_eq!(s.get(&acc(a1)).await.body["pipeline"], "350.00");
    s.patch(&d2p, json!({"stage": "lost"})).await;
    assert_eq!(s.get(&acc(a1)).await.body["pipeline"], "100.00");
    assert_eq!(s.get(&acc(a1)).await.body["deals"], 2);
    let d1p = format!("/api/v1/data/deal/{}", d1["id"].as_str().unwrap());
    s.patch(&d1p, json!({"account": a2})).await;
    let (g1, g2) = (s.get(&acc(a1)).await.body, s.get(&acc(a2)).await.body);
    assert_eq!(
        (g1["pipeline"].clone(), g1["deals"].clone()),
        (json!("0.00"), json!(1))
    );
    assert_eq!(
        (g2["pipeline"].clone(), g2["deals"].clone()),
        (json!("100.00"), json!(1))
    );
    let r = s.delete(&d1p).await;
    assert!(r.status < 300, "{}", r.body);
    let g2 = s.get(&acc(a2)).await.body;
    assert_eq!(
        (
            g2["pipeline"].clone(),
            g2["deals"].clone(),
            g2["biggest"].clone()
        ),
        (json!("0.00"), json!(0), Json::Null)
    );
    let r = s.post(&format!("{d1p}/restore"), json!({})).await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(s.get(&acc(a2)).await.body["pipeline"], "100.00");
    // The roll-up change is in the parent's history, made by a rule.
    let h = s.get(&format!("{}/history", acc(a2))).await;
    assert!(h.body.to_string().contains("\"rule\""), "{}", h.body);
}

/// A roll-up change is a write like any other (issue 11): the parent's formulas run over the
/// new value, its triggers see the change, and a roll-up over the parent's roll-up follows.
async fn rollups_run_the_parent_rules(b: Backend) {
    let (_app, s, _clock) = setup(b).await;
    for (object, field, kind) in [
        ("account", "pipeline_x2", "decimal"),
        ("account", "task_total", "integer"),
        ("deal", "tasks", "integer"),
    ] {
        let mut f = json!({"api_name": field, "type": kind, "label": {"en": field}});
        if kind == "decimal" {
            f["precision"] = json!(16);
            f["scale"] = json!(2);
        }
        let r = s
            .post(&format!("/api/v1/meta/objects/{object}/fields"), f)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    rule(
        &s,
        json!({"api_name": "pipeline", "object": "account", "kind": "rollup", "field": "pipeline",
        "child": "deal", "via": "account", "op": "sum", "of": "amount"}),
    )
    .await;
    rule(
        &s,
        json!({"api_name": "x2", "object": "account", "kind": "formula", "field": "pipeline_x2",
        "expression": "if is_blank(record.pipeline) { () } else { record.pipeline * 2 }"}),
    )
    .await;
    rule(&s, json!({"api_name": "pipeline_moved", "object": "account", "kind": "trigger",
        "on": ["update"], "fields": ["pipeline"],
        "actions": [{"type": "notify", "owner": true, "title": "Pipeline of {{record.name}} moved", "body": "<p>{{record.pipeline}}</p>"}]}))
    .await;
    rule(
        &s,
        json!({"api_name": "deal_tasks", "object": "deal", "kind": "rollup", "field": "tasks",
        "child": "task", "via": "deal", "op": "count"}),
    )
    .await;
    rule(&s, json!({"api_name": "task_total", "object": "account", "kind": "rollup", "field": "task_total",
        "child": "deal", "via": "account", "op": "sum", "of": "tasks"}))
    .await;

    let a = s.create("account", json!({"name": "Acme"})).await;
    let a = a["id"].as_str().unwrap().to_owned();
    let acc = format!("/api/v1/data/account/{a}");
    assert!(runs(&s).await.is_empty());
    let d = s
        .create("deal", json!({"name": "d", "account": a, "amount": "1000"}))
        .await;
    let got = s.get(&acc).await.body;
    assert_eq!(got["pipeline"], "1000.00", "{got}");
    assert_eq!(
        got["pipeline_x2"], "2000.00",
        "a formula over a roll-up: {got}"
    );
    let queued = runs(&s).await;
    assert_eq!(queued.len(), 1, "a trigger on a roll-up change: {queued:?}");
    assert_eq!(queued[0]["rule"], "pipeline_moved", "{queued:?}");

    // A change that leaves the roll-up as it was fires nothing.
    let dp = format!("/api/v1/data/deal/{}", d["id"].as_str().unwrap());
    let r = s.patch(&dp, json!({"note": "n"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(runs(&s).await.len(), 1);

    // A roll-up of a roll-up: tasks → deal.tasks → account.task_total.
    let d_id = d["id"].as_str().unwrap();
    let t1 = s.create("task", json!({"name": "t1", "deal": d_id})).await;
    s.create("task", json!({"name": "t2", "deal": d_id})).await;
    assert_eq!(s.get(&dp).await.body["tasks"], 2);
    assert_eq!(s.get(&acc).await.body["task_total"], 2);
    let r = s
        .delete(&format!("/api/v1/data/task/{}", t1["id"].as_str().unwrap()))
        .await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(s.get(&dp).await.body["tasks"], 1);
    let got = s.get(&acc).await.body;
    assert_eq!(got["task_total"], 1, "{got}");
    // The deal's amount moving re-runs the account's formula too.
    s.patch(&dp, json!({"amount": "1500"})).await;
    let got = s.get(&acc).await.body;
    assert_eq!(
        (got["pipeline"].clone(), got["pipeline_x2"].clone()),
        (json!("1500.00"), json!("3000.00"))
    );
    assert_eq!(runs(&s).await.len(), 2);
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// Schedule (cron in a time zone), date-relative and manual triggers: each tick fires once
/// however often the scheduler looks, ticks before the rule existed never fire, conditions
/// pick the records, and a manual run is queued once per Idempotency-Key.
#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn time_based_and_manual_triggers(b: Backend) {
    let (app, s, clock) = setup(b).await;
    let out = channels(None, true);
    // Monday 2027-03-01 08:00 in Shanghai.
    clock.set(at("2027-03-01T00:00:00Z"));
    let r = s
        .post(
            "/api/v1/meta/objects/deal/fields",
            json!({"api_name": "close", "type": "date", "label": {"en": "Close"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut ids = HashMap::new();
    for (name, close, stage) in [
        ("A", "2027-03-04", "open"),
        ("B", "2027-03-04", "won"),
        ("C", "2027-03-10", "open"),
    ] {
        let d = s
            .create(
                "deal",
                json!({"name": name, "close": close, "stage": stage}),
            )
            .await;
        ids.insert(name, d["id"].as_str().unwrap().to_owned());
    }
    rule(&s, json!({
        "api_name": "closing_soon", "object": "deal", "kind": "trigger", "on": ["date"],
        "date": {"field": "close", "offset_days": -3, "at": "09:00"}, "timezone": "Asia/Shanghai",
        "condition": "record.stage != \"won\"",
        "actions": [{"type": "notify", "owner": true, "title": "Closing soon: {{record.name}}", "body": "<p>{{record.name}}</p>"}]
    }))
    .await;
    rule(
        &s,
        json!({
            "api_name": "weekly_review", "object": "deal", "kind": "trigger", "on": ["schedule"],
            "cron": "0 9 * * MON", "timezone": "Asia/Shanghai",
            "condition": "record.stage == \"open\"",
            "actions": [{"type": "update_record", "values": {"note": "reviewed"}}]
        }),
    )
    .await;
    rule(&s, json!({
        "api_name": "mark_lost", "object": "deal", "kind": "trigger", "on": ["manual"],
        "button": "Mark lost", "actions": [{"type": "update_record", "values": {"stage": "lost"}}]
    }))
    .await;

    // The last ticks (Sunday 09:00, last Monday 09:00) predate the rules: nothing fires.
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 0);
    // 09:30 on Monday: the date rule finds A (B is won); the weekly rule A and C.
    clock.set(at("2027-03-01T01:30:00Z"));
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 3);
    assert_eq!(
        app.rt.automation().run_schedules_once().await.unwrap(),
        0,
        "a tick fires once"
    );
    drain(&app, &out).await;
    for (name, note) in [("A", "reviewed"), ("B", ""), ("C", "reviewed")] {
        let d = s
            .get(&format!("/api/v1/data/deal/{}", ids[name]))
            .await
            .body;
        assert_eq!(d["note"].as_str().unwrap_or(""), note, "{name}: {d}");
    }
    let n = s.get("/api/v1/notifications").await.body;
    let titles: Vec<&str> = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Closing soon: A"]);
    let all = runs(&s).await;
    let ticks: Vec<&Json> = all.iter().filter(|r| r["event"] == "date_tick").collect();
    assert_eq!(ticks.len(), 1, "{all:?}");
    assert_eq!(ticks[0]["input"]["records"], 1, "{:?}", ticks[0]);
    // The next day: the date rule looks at 03-05 (nothing); the weekly tick is still Monday's.
    clock.set(at("2027-03-02T01:30:00Z"));
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 0);
    // A week later, after days with no scheduler at all: next Monday's tick fires once.
    clock.set(at("2027-03-09T05:00:00Z"));
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 2);
    assert_eq!(app.rt.automation().run_schedules_once().await.unwrap(), 0);

    // Manual: offered on the object, queued once per Idempotency-Key, runs as any run.
    let m = s.get("/api/v1/automation/manual/deal").await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(
        m.body["actions"],
        json!([{"rule": "mark_lost", "label": "Mark lost", "allowed": true}])
    );
    let path = format!("/api/v1/automation/manual/deal/{}/mark_lost", ids["C"]);
    let r = s
        .send(
            "POST",
            &path,
            Some(&json!({})),
            &[("idempotency-key", "click-1")],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body["run"].is_string(), "{}", r.body);
    let again = s
        .send(
            "POST",
            &path,
            Some(&json!({})),
            &[("idempotency-key", "click-1")],
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["replayed"], true);
    drain(&app, &out).await;
    let c = s.get(&format!("/api/v1/data/deal/{}", ids["C"])).await.body;
    assert_eq!(c["stage"], "lost");
    let manual: Vec<Json> = runs(&s)
        .await
        .into_iter()
        .filter(|r| r["event"] == "manual")
        .collect();
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0]["status"], "done");
    for (p, want) in [
        (
            format!("/api/v1/automation/manual/deal/{}/ghost", ids["C"]),
            404,
        ),
        (
            format!("/api/v1/automation/manual/deal/{}/weekly_review", ids["C"]),
            409,
        ),
        (
            "/api/v1/automation/manual/deal/not-a-uuid/mark_lost".to_owned(),
            404,
        ),
        (
            format!("/api/v1/automation/manual/ghost/{}/mark_lost", ids["C"]),
            404,
        ),
    ] {
        assert_eq!(s.post(&p, json!({})).await.status, want, "{p}");
    }

    // Bad timing settings are reported at their paths.
    let r = s
        .post("/api/v1/meta/rules", json!({
            "api_name": "bad_time", "object": "deal", "kind": "trigger", "on": ["schedule", "date"],
            "cron": "61 * * * *", "date": {"field": "name", "offset_days": 5000, "at": "25:00"},
            "timezone": "Mars/Olympus",
            "actions": [{"type": "update_record", "values": {"note": "x"}}]
        }))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let mut got = problems(&r);
    got.sort();
    assert_eq!(
        got,
        [
            "/cron:cron",
            "/date/at:time",
            "/date/field:type",
            "/date/offset_days:range",
            "/timezone:timezone"
        ]
    );
}

/// Assignment by field values (routes with round robin, a fallback team) and to the user
/// with the fewest open records.
async fn assignment_strategies(b: Backend) {
    let (app, s, _clock) = setup(b).await;
    let out = channels(None, true);
    let mut u = Vec::new();
    for n in ["east1", "east2", "north", "q1", "q2", "q3"] {
        let r = s
            .post(
                "/api/v1/org/users",
                json!({"name": n, "email": format!("{n}@assign.test")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        u.push(r.body["id"].as_str().unwrap().to_owned());
    }
    rule(&s, json!({
        "api_name": "route_deals", "object": "deal", "kind": "trigger", "on": ["create"],
        "actions": [{"type": "assign_owner", "strategy": "by_field",
            "routes": [{"when": {"note": ["上海", "杭州"], "stage": "open"}, "users": [u[0], u[1]]}],
            "users": [u[2]]}]
    }))
    .await;
    rule(&s, json!({
        "api_name": "least_tasks", "object": "task", "kind": "trigger", "on": ["create"],
        "actions": [{"type": "assign_owner", "strategy": "least_open", "users": [u[3], u[4], u[5]],
            "open_filter": {"field": "name", "op": "ne", "value": "done"}}]
    }))
    .await;
    let mut owners = Vec::new();
    for (note, stage) in [
        ("上海", "open"),
        ("杭州", "open"),
        ("北京", "open"),
        ("上海", "won"),
        ("上海", "open"),
    ] {
        let d = s
            .create("deal", json!({"name": note, "note": note, "stage": stage}))
            .await;
        drain(&app, &out).await;
        let d = s
            .get(&format!("/api/v1/data/deal/{}", d["id"].as_str().unwrap()))
            .await
            .body;
        owners.push(d["owner"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        owners,
        [&u[0], &u[1], &u[2], &u[2], &u[0]].map(|x| x.clone())
    );

    // q1 already holds one open task and one done task; q3 holds a done one only.
    for n in ["old", "done", "done"] {
        let r = s.post("/api/v1/data/task", json!({"name": n})).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    drain(&app, &out).await;
    // Those creates were assigned too (each to the least loaded); reset to the setup above.
    let tasks = s
        .post("/api/v1/data/task/query", json!({"sort": ["created_at"]}))
        .await;
    for (t, o) in tasks.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .zip([&u[3], &u[3], &u[5]])
    {
        let r = s
            .post(
                &format!("/api/v1/data/task/{}/transfer", t["id"].as_str().unwrap()),
                json!({"owner": o}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let mut got = Vec::new();
    for n in ["t1", "t2", "t3"] {
        let t = s.create("task", json!({"name": n})).await;
        drain(&app, &out).await;
        let t = s
            .get(&format!("/api/v1/data/task/{}", t["id"].as_str().unwrap()))
            .await
            .body;
        got.push(t["owner"].as_str().unwrap().to_owned());
    }
    // Open counts q1=1, q2=0, q3=0 → q2; then q1=1, q2=1, q3=0 → q3; then all 1 → q1.
    assert_eq!(got, [&u[4], &u[5], &u[3]].map(|x| x.clone()));

    let r = s
        .post(
            "/api/v1/meta/rules",
            json!({
                "api_name": "bad_assign", "object": "deal", "kind": "trigger", "on": ["create"],
                "actions": [{"type": "assign_owner", "strategy": "by_field",
                    "routes": [{"when": {"ghost": 1}, "users": []}]},
                  {"type": "assign_owner", "strategy": "least_open", "users": [u[0]],
                    "open_filter": {"field": "ghost", "op": "eq", "value": 1}}]
            }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let ps = problems(&r);
    assert!(
        ps.iter()
            .any(|p| p.starts_with("/actions/0/routes/0/users:")),
        "{ps:?}"
    );
    assert!(
        ps.iter()
            .any(|p| p.starts_with("/actions/0/routes/0/when/ghost:")),
        "{ps:?}"
    );
    assert!(
        ps.iter().any(|p| p.starts_with("/actions/1/open_filter")),
        "{ps:?}"
    );
}

/// A roll-up added over existing data is filled in by a resumable job, in batches.
async fn rollup_backfill(b: Backend) {
    let (app, s, _clock) = setup(b).await;
    let accounts: Vec<Json> = (0..250)
        .map(|i| json!({"name": format!("A{i:03}")}))
        .collect();
    let r = s
        .post("/api/v1/data/account/bulk", json!({"records": accounts}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ids = Vec::new();
    let mut cursor = Json::Null;
    loop {
        let page = s
            .post(
                "/api/v1/data/account/query",
                json!({"sort": ["name"], "limit": 100, "cursor": cursor}),
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        for r in page.body["records"].as_array().unwrap() {
            ids.push(r["id"].as_str().unwrap().to_owned());
        }
        cursor = page.body["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(ids.len(), 250);
    let deals: Vec<Json> = ids
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            [
                json!({"name": "x", "account": a, "amount": i.to_string(), "stage": "open"}),
                json!({"name": "y", "account": a, "amount": (2 * i).to_string(), "stage": "open"}),
                json!({"name": "z", "account": a, "amount": "1000", "stage": "lost"}),
            ]
        })
        .collect();
    for chunk in deals.chunks(500) {
        let r = s
            .post("/api/v1/data/deal/bulk", json!({"records": chunk}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let saved = rule(&s, json!({"api_name": "pipeline", "object": "account", "kind": "rollup", "field": "pipeline",
        "child": "deal", "via": "account", "op": "sum", "of": "amount", "filter": "record.stage != \"lost\""}))
    .await;
    let job = saved["backfill_job"].as_str().unwrap().to_owned();
    // Nothing is filled in until the job runs.
    let a7 = s
        .get(&format!("/api/v1/data/account/{}", ids[7]))
        .await
        .body;
    assert_eq!(a7["pipeline"], Json::Null);
    while app.rt.jobs().run_jobs_once("test").await.unwrap() > 0 {}
    let j = s.get(&format!("/api/v1/jobs/{job}")).await;
    assert_eq!(j.body["status"], "done", "{}", j.body);
    assert_eq!(j.body["progress"]["done"], 250, "{}", j.body);
    for i in [0usize, 7, 199, 200, 249] {
        let a = s
            .get(&format!("/api/v1/data/account/{}", ids[i]))
            .await
            .body;
        let got: f64 = a["pipeline"].as_str().map_or(-1.0, |x| x.parse().unwrap());
        assert_eq!(got, (3 * i) as f64, "A{i:03}: {a}");
    }
}

dual!(
    rollup_backfill,
    assignment_strategies,
    time_based_and_manual_triggers,
    triggers_run_through_the_outbox,
    guards_stop_loops_and_unsafe_targets,
    dry_run_changes_nothing,
    dry_runs_are_budgeted_jobs,
    rollups_stay_exact,
    rollups_run_the_parent_rules,
);
