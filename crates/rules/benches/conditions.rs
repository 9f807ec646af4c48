//! Rule engine throughput: `cargo bench -p weft-rules --bench conditions`.
//!
//! The condition `record.amount > 500000 && record.stage == "negotiation"` over the same
//! 100,000 opportunity records (12 fields each, API JSON form), evaluated
//!   (a) by a hand-written Rust closure over the JSON record — the limit;
//!   (b) by `weft_rules::eval_bool`: compiled once, scope built from the 2 referenced fields;
//!   (c) by the same engine with the whole record converted into one object map first;
//! then the render rate of a typical notification template.

use std::hint::black_box;
use std::time::Instant;

use rhai::{Dynamic, Map as RhaiMap, Scope};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use weft_rules::templates::{TemplateKind, compile_template, render_in};
use weft_rules::{EvalContext, FieldCatalog, Sandbox, ScalarType, ScriptKind, compile, eval_bool};

const N: usize = 100_000;
const CONDITION: &str = r#"record.amount > 500000 && record.stage == "negotiation""#;

fn records() -> Vec<Map<String, Value>> {
    let stages = [
        "prospecting",
        "qualification",
        "proposal",
        "negotiation",
        "closed_won",
    ];
    (0..N)
        .map(|i| {
            let v = json!({
                "name": format!("Opportunity {i}"),
                "stage": stages[i % stages.len()],
                "amount": format!("{}.{:02}", (i * 7919) % 1_000_000, i % 100),
                "probability": format!("{}", (i * 13) % 100),
                "quantity": (i % 50) as i64,
                "won": i % 7 == 0,
                "close_date": format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                "owner": "0190a3c2-0000-7000-8000-000000000001",
                "tags": ["vip", "renewal"],
                "created_at": "2024-05-01T00:30:00Z",
                "description": "Renewal of the annual contract, three sites.",
                "type": "renewal",
            });
            match v {
                Value::Object(m) => m,
                _ => Map::new(),
            }
        })
        .collect()
}

fn catalog() -> FieldCatalog {
    use ScalarType::*;
    FieldCatalog::new()
        .with("name", Text)
        .with("stage", Text)
        .with("amount", Decimal)
        .with("probability", Decimal)
        .with("quantity", Integer)
        .with("won", Bool)
        .with("close_date", Date)
        .with("owner", Id)
        .with("tags", TextList)
        .with("created_at", DateTime)
        .with("description", Text)
        .with("type", Text)
}

/// Converts every field, as an engine without reference analysis would have to.
fn whole_record(r: &Map<String, Value>) -> Dynamic {
    let mut m = RhaiMap::new();
    for (k, v) in r {
        let d = match (k.as_str(), v) {
            ("amount" | "probability", Value::String(s)) => s
                .parse::<Decimal>()
                .map(Dynamic::from_decimal)
                .unwrap_or(Dynamic::UNIT),
            (_, Value::String(s)) => Dynamic::from(rhai::ImmutableString::from(s.as_str())),
            (_, Value::Number(n)) => n.as_i64().map(Dynamic::from_int).unwrap_or(Dynamic::UNIT),
            (_, Value::Bool(b)) => Dynamic::from_bool(*b),
            (_, Value::Array(a)) => Dynamic::from_array(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| Dynamic::from(rhai::ImmutableString::from(s)))
                    .collect(),
            ),
            _ => Dynamic::UNIT,
        };
        m.insert(k.as_str().into(), d);
    }
    Dynamic::from_map(m)
}

/// Runs `f` (which does `units` evaluations and returns how many matched) a few times.
fn rate(label: &str, units: usize, f: &mut dyn FnMut() -> usize) -> (String, f64, usize) {
    f(); // warm-up
    let started = Instant::now();
    let mut hits = 0;
    let rounds = 3;
    for _ in 0..rounds {
        hits = f();
    }
    let per_sec = (units * rounds) as f64 / started.elapsed().as_secs_f64();
    (label.to_string(), per_sec, hits)
}

fn table(title: &str, rows: &[(String, f64, usize)]) {
    let limit = rows[0].1;
    println!("\n{title}");
    println!("{:<45} {:>14} {:>10}", "variant", "per second", "vs (a)");
    println!("{}", "-".repeat(71));
    for (label, per_sec, _) in rows {
        println!(
            "{label:<45} {per_sec:>14.0} {:>9.1}%",
            per_sec / limit * 100.0
        );
    }
}

fn main() {
    let recs = records();
    let user = Map::new();
    let now = chrono::Utc::now();
    let tz = chrono_tz::Asia::Shanghai;

    let closure = |r: &Map<String, Value>| {
        let amount = r
            .get("amount")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Decimal>().ok());
        amount.is_some_and(|a| a > Decimal::from(500_000))
            && r.get("stage").and_then(Value::as_str) == Some("negotiation")
    };

    let script =
        compile(CONDITION, ScriptKind::Condition, &catalog()).unwrap_or_else(|p| panic!("{p:?}"));

    let engine = Sandbox::shared().engine();
    let mut scope = Scope::new();
    scope.push("r", ());
    let whole_ast = engine
        .compile_with_scope(&scope, r#"r.amount > 500000 && r.stage == "negotiation""#)
        .unwrap_or_else(|e| panic!("{e}"));

    let rows = vec![
        rate("(a) Rust closure over the JSON record", N, &mut || {
            recs.iter().filter(|r| black_box(closure(r))).count()
        }),
        rate("(b) compiled rule, referenced fields only", N, &mut || {
            recs.iter()
                .filter(|r| {
                    let ctx = EvalContext {
                        record: r,
                        old: None,
                        user: &user,
                        now,
                        tz,
                    };
                    eval_bool(&script, &ctx).unwrap_or(false)
                })
                .count()
        }),
        rate("(c) same engine, whole record converted", N, &mut || {
            recs.iter()
                .filter(|r| {
                    let mut s = Scope::new();
                    s.push_dynamic("r", whole_record(r));
                    engine
                        .eval_ast_with_scope::<bool>(&mut s, &whole_ast)
                        .unwrap_or(false)
                })
                .count()
        }),
    ];
    let hits: Vec<usize> = rows.iter().map(|r| r.2).collect();
    assert!(
        hits.windows(2).all(|w| w[0] == w[1]),
        "variants disagree: {hits:?}"
    );
    table(
        &format!("{N} distinct records (12 fields each; {} match)", hits[0]),
        &rows,
    );

    // The same record over and over: the record stays in cache, so this isolates the cost
    // of the engine itself (perf.md's rhai figures were measured this way).
    let hot = &recs[3];
    let hot_rows = vec![
        rate("(a) Rust closure over the JSON record", N, &mut || {
            (0..N)
                .filter(|_| black_box(closure(black_box(hot))))
                .count()
        }),
        rate("(b) compiled rule, referenced fields only", N, &mut || {
            (0..N)
                .filter(|_| {
                    let ctx = EvalContext {
                        record: black_box(hot),
                        old: None,
                        user: &user,
                        now,
                        tz,
                    };
                    eval_bool(&script, &ctx).unwrap_or(false)
                })
                .count()
        }),
        rate("(c) same engine, whole record converted", N, &mut || {
            (0..N)
                .filter(|_| {
                    let mut s = Scope::new();
                    s.push_dynamic("r", whole_record(black_box(hot)));
                    engine
                        .eval_ast_with_scope::<bool>(&mut s, &whole_ast)
                        .unwrap_or(false)
                })
                .count()
        }),
    ];
    table("one record evaluated repeatedly", &hot_rows);

    let template = compile_template(
        "<p>{{user.name}}, the opportunity <b>{{record.name}}</b> ({{format_money record.amount}}) \
         moved to {{record.stage}}; close date {{format_date record.close_date \"zh\"}}.</p>\
         <ul>{{#each record.lines}}<li>{{product}} × {{qty}}</li>{{/each}}</ul>\
         <p><a href=\"{{safe_url link}}\">Open in Weft</a></p>",
        TemplateKind::Html,
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let data = json!({
        "user": {"name": "王芳"},
        "record": {
            "name": "Acme <2024> renewal",
            "amount": {"amount": "600000.00", "currency": "CNY"},
            "stage": "negotiation",
            "close_date": "2024-06-30",
            "lines": [{"product": "Seats", "qty": 120}, {"product": "Support", "qty": 1}, {"product": "Training", "qty": 3}]
        },
        "link": "https://weft.example.com/r/0190a3c2"
    });
    const RENDERS: usize = 20_000;
    let (_, per_sec, _) = rate("template", RENDERS, &mut || {
        (0..RENDERS)
            .filter(|_| render_in(&template, &data, tz).is_ok_and(|s| !s.is_empty()))
            .count()
    });
    println!(
        "\ntemplate render (HTML notification, 3-line #each, money, date, link): {per_sec:.0} renders/s"
    );
}
