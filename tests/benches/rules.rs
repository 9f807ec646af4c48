//! Rules on the write path, measured against their limits in the same run:
//! 1. condition evaluations per second: a pre-compiled rhai condition (scope built from the
//!    two referenced fields of the JSON record) against a hand-written Rust closure over the
//!    same records;
//! 2. record-create latency with 10 active before-save rules (validations, formulas, a
//!    default, a conditional required) against the same object with none (target: < 30%
//!    overhead), through the runtime's single write path on a real database.
//!
//! Run: `cargo bench -p weft-tests --bench rules [-- sqlite|postgres] [creates]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use rust_decimal::Decimal;
use serde_json::{Map, Value as Json, json};
use weft_rules::{EvalContext, FieldCatalog, ScalarType, ScriptKind, compile, eval_bool};
use weft_testkit::{Backend, TestApp};

fn records(n: usize) -> Vec<Map<String, Json>> {
    let stages = ["prospecting", "proposal", "negotiation", "won"];
    (0..n)
        .map(|i| {
            let mut m = Map::new();
            m.insert("name".into(), json!(format!("deal {i}")));
            m.insert(
                "amount".into(),
                json!(format!("{}.00", (i * 7_919) % 1_000_000)),
            );
            m.insert("stage".into(), json!(stages[i % 4]));
            for k in 0..9 {
                m.insert(format!("f{k}"), json!(k));
            }
            m
        })
        .collect()
}

fn conditions() {
    let recs = records(10_000);
    let rounds = 100;
    let limit: Decimal = Decimal::from(500_000);
    // The limit: a closure over the same JSON records.
    let closure = |r: &Map<String, Json>| -> bool {
        r.get("amount")
            .and_then(Json::as_str)
            .and_then(|s| s.parse::<Decimal>().ok())
            .is_some_and(|a| a > limit)
            && r.get("stage").and_then(Json::as_str) == Some("negotiation")
    };
    let start = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for r in &recs {
            hits += usize::from(black_box(closure(black_box(r))));
        }
    }
    let closure_rate = (rounds * recs.len()) as f64 / start.elapsed().as_secs_f64();

    let cat = FieldCatalog::new()
        .with("amount", ScalarType::Decimal)
        .with("stage", ScalarType::Text);
    let script = compile(
        r#"record.amount > 500000 && record.stage == "negotiation""#,
        ScriptKind::Condition,
        &cat,
    )
    .unwrap();
    let user = Map::new();
    let now = chrono::Utc::now();
    let start = Instant::now();
    let mut hits2 = 0usize;
    for _ in 0..rounds {
        for r in &recs {
            let ctx = EvalContext {
                record: r,
                old: None,
                user: &user,
                now,
                tz: chrono_tz::Tz::UTC,
            };
            hits2 += usize::from(eval_bool(&script, &ctx).unwrap());
        }
    }
    let rhai_rate = (rounds * recs.len()) as f64 / start.elapsed().as_secs_f64();
    assert_eq!(hits, hits2);
    println!(
        "conditions: closure {:.2} M/s, rhai {:.2} M/s (closure/rhai = {:.1}x)",
        closure_rate / 1e6,
        rhai_rate / 1e6,
        closure_rate / rhai_rate
    );
}

fn object(name: &str) -> Json {
    json!({
        "api_name": name, "label": {"en": name}, "name_field": "name",
        "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "amount", "type": "decimal", "label": {"en": "Amount"}, "precision": 14, "scale": 2},
            {"api_name": "probability", "type": "integer", "label": {"en": "P"}},
            {"api_name": "weighted", "type": "decimal", "label": {"en": "W"}, "precision": 14, "scale": 2},
            {"api_name": "discount", "type": "decimal", "label": {"en": "D"}, "precision": 5, "scale": 2},
            {"api_name": "stage", "type": "single_select", "label": {"en": "Stage"},
             "options": [{"value": "open"}, {"value": "won"}, {"value": "lost"}]},
            {"api_name": "due", "type": "date", "label": {"en": "Due"}},
            {"api_name": "reason", "type": "text", "label": {"en": "Reason"}},
            {"api_name": "code", "type": "text", "label": {"en": "Code"}},
            {"api_name": "label", "type": "text", "label": {"en": "Label"}}
        ]
    })
}

fn ten_rules(o: &str) -> Vec<Json> {
    let v = |n: &str, c: &str| json!({"api_name": format!("{o}_{n}"), "object": o, "kind": "validation", "condition": c, "message": "m"});
    vec![
        v(
            "amount_positive",
            "is_blank(record.amount) || record.amount > 0",
        ),
        v(
            "discount_range",
            "is_blank(record.discount) || (record.discount >= 0 && record.discount <= 50)",
        ),
        v(
            "due_future",
            "is_blank(record.due) || record.due >= today()",
        ),
        v("name_len", "len(record.name) <= 200"),
        v(
            "prob_range",
            "is_blank(record.probability) || (record.probability >= 0 && record.probability <= 100)",
        ),
        v(
            "big_needs_due",
            "is_blank(record.amount) || record.amount < 1000000 || !is_blank(record.due)",
        ),
        json!({"api_name": format!("{o}_weighted"), "object": o, "kind": "formula", "field": "weighted",
               "expression": "if is_blank(record.amount) || is_blank(record.probability) { () } else { round(record.amount * record.probability / 100, 2) }"}),
        json!({"api_name": format!("{o}_label"), "object": o, "kind": "formula", "field": "label",
               "expression": "concat(upper(record.name), \" / \", if_blank(record.stage, \"-\"))"}),
        json!({"api_name": format!("{o}_code"), "object": o, "kind": "default", "field": "code",
               "expression": "left(upper(record.name), 3)"}),
        json!({"api_name": format!("{o}_reason"), "object": o, "kind": "required", "field": "reason",
               "condition": "record.stage == \"lost\""}),
    ]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p) as usize]
}

async fn creates(b: Backend, n: usize) {
    let app = TestApp::new(b).await;
    let p = app.admin();
    app.rt
        .metadata()
        .create_object(&p, &object("plain"))
        .await
        .unwrap();
    app.rt
        .metadata()
        .create_object(&p, &object("ruled"))
        .await
        .unwrap();
    for r in ten_rules("ruled") {
        app.rt.automation().create_rule(&p, &r).await.unwrap();
    }
    let body = |i: usize| {
        json!({"name": format!("deal {i}"), "amount": "120000.00", "probability": 40,
               "discount": "5", "stage": "open", "due": "2099-12-31"})
    };
    for i in 0..50 {
        app.rt
            .records()
            .create(&p, "plain", &body(i), None)
            .await
            .unwrap();
        app.rt
            .records()
            .create(&p, "ruled", &body(i), None)
            .await
            .unwrap();
    }
    let (mut plain, mut ruled) = (Vec::with_capacity(n), Vec::with_capacity(n));
    // Interleaved, so drift on the shared machine hits both sides alike.
    for i in 0..n {
        let s = Instant::now();
        app.rt
            .records()
            .create(&p, "plain", &body(i), None)
            .await
            .unwrap();
        plain.push(s.elapsed().as_secs_f64() * 1e3);
        let s = Instant::now();
        let rec = app
            .rt
            .records()
            .create(&p, "ruled", &body(i), None)
            .await
            .unwrap()
            .record;
        ruled.push(s.elapsed().as_secs_f64() * 1e3);
        assert_eq!(rec["weighted"], "48000.00");
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mp, mr) = (mean(&plain), mean(&ruled));
    println!(
        "creates on {b:?} ({n} each): no rules mean {mp:.3} ms p50 {:.3} ms; 10 rules mean {mr:.3} ms p50 {:.3} ms; overhead {:+.1}%",
        pct(&mut plain, 0.5),
        pct(&mut ruled, 0.5),
        (mr / mp - 1.0) * 100.0
    );
}

const STAGES: [&str; 3] = ["open", "won", "lost"];

/// Dry run of a trigger over 100,000 records (target: under 5 s on PostgreSQL), next to the
/// time the same condition takes as a Rust closure over the same rows read by a plain query.
async fn dry_run(b: Backend) {
    const N: usize = 100_000;
    let app = TestApp::new(b).await;
    let p = app.admin();
    app.rt
        .metadata()
        .create_object(&p, &object("deal"))
        .await
        .unwrap();
    let started = Instant::now();
    for chunk in 0..N / 1_000 {
        let bodies: Vec<Json> = (0..1_000)
            .map(|i| {
                let n = chunk * 1_000 + i;
                json!({"name": format!("deal {n}"), "amount": format!("{}.00", (n * 7919) % 1_000_000),
                       "probability": n % 100, "stage": STAGES[n % 3],
                       "reason": "r", "due": "2099-12-31"})
            })
            .collect();
        app.rt
            .records()
            .create_many(&p, "deal", &bodies, true)
            .await
            .unwrap();
    }
    let load = started.elapsed().as_secs_f64();
    let rule = json!({"api_name": "big_open", "object": "deal", "kind": "trigger", "on": ["update"], "fields": ["amount", "stage"],
        "condition": "record.amount > 500000 && record.stage == \"open\"",
        "actions": [{"type": "update_record", "values": {"label": "big"}}]});
    let s = Instant::now();
    let out = app
        .rt
        .automation()
        .dry_run_rule(&p, &json!({"rule": rule, "limit": N, "samples": 5}))
        .await
        .unwrap();
    // The dry run is a background job: run the queue until it is idle.
    while app.rt.jobs().run_jobs_once("bench").await.unwrap() > 0 {}
    let out = app.rt.automation().dry_run_job(&p, out.id).await.unwrap();
    let took = s.elapsed().as_secs_f64();
    assert_eq!(out.status, "done", "{out:?}");
    assert_eq!(out.report.scanned, N as u64, "{out:?}");
    println!(
        "dry run on {b:?}: {N} records (loaded through the write path in {load:.1} s) scanned in {took:.2} s as a job of {} steps, {} matched, {} side effects",
        N / 100,
        out.report.matched,
        out.report.side_effects
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let backend = match args.first().map(String::as_str) {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000);
    weft_testkit::quiet_logs();
    conditions();
    creates(backend, n).await;
    dry_run(backend).await;
}
