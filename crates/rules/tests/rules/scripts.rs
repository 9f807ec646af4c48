//! What scripts compute, kind by kind.

use serde_json::{Value, json};
use weft_rules::{FieldCatalog, ScalarType, ScriptKind, compile, eval_bool, eval_value};

use crate::common::{catalog, ctx, obj, user};

fn record() -> Value {
    json!({
        "name": "Acme 2024 renewal",
        "stage": "negotiation",
        "amount": "600000.00",
        "probability": "30",
        "budget": {"amount": "1200.50", "currency": "CNY"},
        "quantity": 7,
        "won": false,
        "close_date": "2024-06-30",
        "created_at": "2024-05-01T00:30:00Z",
        "call_time": "09:30:00",
        "tags": ["vip", "renewal"],
        "owner": "0190a3c2-0000-7000-8000-000000000001",
        "watchers": [],
        "extra": {"source": "web", "score": 1.5},
        "weighted": null,
        "type": "new"
    })
}

/// Evaluates `src` as `kind` on `record()` (patched by `patch`) with `old` and compares.
fn check_with(kind: ScriptKind, src: &str, patch: Value, old: Option<Value>, expected: Value) {
    let mut rec = obj(record());
    rec.extend(obj(patch));
    let old = old.map(obj);
    let user = user();
    let script = compile(src, kind, &catalog()).unwrap_or_else(|p| panic!("{src}: {p:?}"));
    let c = ctx(&rec, old.as_ref(), &user);
    let got = match kind {
        ScriptKind::Condition | ScriptKind::Validation => eval_bool(&script, &c).map(Value::Bool),
        _ => eval_value(&script, &c),
    };
    assert_eq!(got, Ok(expected), "{src}");
}

fn check(src: &str, expected: bool) {
    check_with(
        ScriptKind::Condition,
        src,
        json!({}),
        None,
        Value::Bool(expected),
    );
}

fn formula(result: ScalarType, src: &str, expected: Value) {
    check_with(
        ScriptKind::Formula { result },
        src,
        json!({}),
        None,
        expected,
    );
}

#[test]
fn conditions_read_typed_fields() {
    for (src, expected) in [
        (
            r#"record.amount > 500000 && record.stage == "negotiation""#,
            true,
        ),
        ("record.amount > 600000", false),
        ("record.amount >= 600000.00", true),
        ("record.amount == 600000", true),
        ("record.amount * record.probability / 100 == 180000", true),
        ("0.1 + 0.2 == 0.3", true),
        ("record.quantity > 5 && record.quantity < 10", true),
        ("!record.won", true),
        ("record.budget > 1000", true),
        (r#"currency_of("budget") == "CNY""#, true),
        (r#""vip" in record.tags"#, true),
        (r#"record.tags.contains("renewal")"#, true),
        (r#"contains(record.tags, "lost")"#, false),
        ("is_blank(record.watchers)", true),
        ("is_blank(record.weighted)", true),
        ("record.close_date > today()", true),
        ("days_between(today(), record.close_date) == 41", true),
        ("record.close_date - today() == 41", true),
        ("record.close_date == date(2024, 6, 30)", true),
        (r#"record.close_date == date("2024-06-30")"#, true),
        (
            "year(record.close_date) == 2024 && month(record.close_date) == 6",
            true,
        ),
        (
            "add_months(record.close_date, 2) == date(2024, 8, 30)",
            true,
        ),
        ("end_of_month(date(2024, 2, 3)) == date(2024, 2, 29)", true),
        ("record.created_at < now()", true),
        ("hour(record.created_at) == 8", true),
        ("date(record.created_at) == date(2024, 5, 1)", true),
        ("days_between(record.created_at, now()) == 19", true),
        ("hours_between(record.created_at, now()) == 457", true),
        (r#"record.call_time < time("10:00")"#, true),
        ("weekday(today()) == 1", true),
        (r#"record.extra.source == "web""#, true),
        ("record.extra.score > 1", true),
        (r#"user.roles.contains("sales_director")"#, true),
        (r#"record.owner == user.id"#, true),
        (r#"upper(record.stage) == "NEGOTIATION""#, true),
        (r#"left(record.name, 4) == "Acme""#, true),
        (r#"len(record.name) == 17"#, true),
        (r#"record.name.starts_with("Acme")"#, true),
        (r#"record.type == "new""#, true),
        ("old == ()", true),
        ("old.stage == ()", true),
        (r#"changed("stage")"#, true),
        (r#"changed("weighted")"#, false),
        // Values of different types are never equal or ordered.
        ("record.name > 5", false),
        (r#"record.amount == "600000.00""#, false),
        // A blank compares false with everything instead of failing.
        ("record.weighted > 0", false),
        ("record.weighted < 0", false),
        ("record.weighted == ()", true),
        ("let big = 500000; record.amount > big", true),
        (
            r#"if record.amount > 1000000 { false } else { true }"#,
            true,
        ),
        (
            r#"switch record.stage { "negotiation" => true, _ => false }"#,
            true,
        ),
        (
            r#"record.tags.filter(|t| t.starts_with("v")).len() == 1"#,
            true,
        ),
    ] {
        check(src, expected);
    }
}

#[test]
fn changed_and_old_see_the_prior_version() {
    let old = json!({"stage": "proposal", "amount": "600000", "close_date": "2024-06-30"});
    for (src, expected) in [
        (r#"changed("stage") && record.stage == "negotiation""#, true),
        (r#"changed("amount")"#, false),
        (r#"changed("close_date")"#, false),
        (r#"old.stage == "proposal""#, true),
        ("old != ()", true),
        ("record.amount - old.amount == 0", true),
    ] {
        check_with(
            ScriptKind::Condition,
            src,
            json!({}),
            Some(old.clone()),
            Value::Bool(expected),
        );
    }
}

#[test]
fn validations_are_true_when_the_record_is_valid() {
    let rule = "is_blank(record.close_date) || record.close_date >= today()";
    for (patch, valid) in [
        (json!({"close_date": "2024-06-30"}), true),
        (json!({"close_date": "2024-05-20"}), true),
        (json!({"close_date": "2024-05-19"}), false),
        (json!({"close_date": null}), true),
    ] {
        check_with(
            ScriptKind::Validation,
            rule,
            patch,
            None,
            Value::Bool(valid),
        );
    }
}

#[test]
fn formulas_return_api_json() {
    use ScalarType::*;
    formula(
        Decimal,
        "record.amount * record.probability / 100",
        json!("180000"),
    );
    formula(Decimal, "round(record.budget / 3, 2)", json!("400.17"));
    formula(Decimal, "round(2.5)", json!("3"));
    formula(Decimal, "round(-2.5)", json!("-3"));
    formula(Decimal, "round(1234.5, -2)", json!("1200"));
    formula(Decimal, "divide(7, 2)", json!("3.5"));
    formula(Decimal, "7 / 2", json!("3"));
    formula(Decimal, "record.weighted * 2", json!(null));
    formula(Decimal, r#"number("12.50") + 1"#, json!("13.5"));
    formula(
        Currency,
        "record.budget * 2",
        json!({"amount": "2401", "currency": null}),
    );
    formula(
        Integer,
        "days_between(today(), record.close_date)",
        json!(41),
    );
    formula(Integer, "record.quantity * 2", json!(14));
    formula(Integer, "4.0", json!(4));
    formula(
        Text,
        r#"concat(record.name, " / ", record.stage)"#,
        json!("Acme 2024 renewal / negotiation"),
    );
    formula(
        Text,
        r#"`${record.stage}: ${record.amount}`"#,
        json!("negotiation: 600000.00"),
    );
    formula(
        Text,
        r#""due " + record.close_date"#,
        json!("due 2024-06-30"),
    );
    formula(Text, "text(record.close_date)", json!("2024-06-30"));
    formula(
        Text,
        r#"replace(record.name, "2024", "2025")"#,
        json!("Acme 2025 renewal"),
    );
    formula(Text, r#"trim("  x ")"#, json!("x"));
    formula(Text, r#"mid("销售机会管理", 3, 2)"#, json!("机会"));
    formula(Text, r#"join(record.tags, ", ")"#, json!("vip, renewal"));
    formula(Text, "if_blank(record.weighted, \"n/a\")", json!("n/a"));
    formula(Date, "add_days(record.close_date, 1)", json!("2024-07-01"));
    formula(Date, "record.close_date + 30", json!("2024-07-30"));
    formula(Date, "today()", json!("2024-05-20"));
    formula(
        DateTime,
        "add_hours(now(), 1)",
        json!("2024-05-20T03:00:00Z"),
    );
    formula(Time, "record.call_time", json!("09:30:00"));
    formula(Bool, "record.amount > 1", json!(true));
    formula(
        TextList,
        r#"record.tags + ["new"]"#,
        json!(["vip", "renewal", "new"]),
    );
    formula(
        Json,
        r#"#{a: 1, b: [record.amount, today()]}"#,
        json!({"a": 1, "b": ["600000", "2024-05-20"]}),
    );
    formula(Text, "user.name", json!("王芳"));
}

#[test]
fn defaults_see_no_old_record() {
    check_with(
        ScriptKind::Default {
            result: ScalarType::Date,
        },
        "add_days(today(), 30)",
        json!({}),
        None,
        json!("2024-06-19"),
    );
}

#[test]
fn errors_carry_stable_codes() {
    let cat = catalog();
    for (kind, src, code) in [
        (ScriptKind::Condition, "record.amount", "type"),
        (ScriptKind::Condition, r#"record.name - 5 > 0"#, "type"),
        (
            ScriptKind::Condition,
            "1 / (record.quantity - 7) > 0",
            "arithmetic",
        ),
        (
            ScriptKind::Formula {
                result: ScalarType::Integer,
            },
            "1.5",
            "type",
        ),
        (
            ScriptKind::Formula {
                result: ScalarType::Date,
            },
            "5",
            "type",
        ),
        (
            ScriptKind::Condition,
            r#"date("2024-02-30") > today()"#,
            "runtime",
        ),
    ] {
        let script = compile(src, kind, &cat).unwrap_or_else(|p| panic!("{src}: {p:?}"));
        let rec = obj(record());
        let u = user();
        let c = crate::common::ctx(&rec, None, &u);
        let err = match kind {
            ScriptKind::Condition | ScriptKind::Validation => eval_bool(&script, &c).err(),
            _ => eval_value(&script, &c).err(),
        };
        assert_eq!(err.as_ref().map(|e| e.code), Some(code), "{src}: {err:?}");
    }
}

#[test]
fn bad_input_values_are_reported_with_the_field() {
    let cat = FieldCatalog::new().with("amount", ScalarType::Decimal);
    let script = compile("record.amount > 1", ScriptKind::Condition, &cat).unwrap();
    let rec = obj(json!({"amount": "lots"}));
    let u = user();
    let err = eval_bool(&script, &ctx(&rec, None, &u)).unwrap_err();
    assert_eq!(err.code, "bad_value");
    assert!(err.message.contains("amount"), "{err}");
}

#[test]
fn referenced_fields_are_reported_separately() {
    let script = compile(
        r#"changed("stage") && record.amount > old.amount && currency_of("budget") == "CNY" && user.id != "" && today() > date(2020, 1, 1)"#,
        ScriptKind::Condition,
        &catalog(),
    )
    .unwrap();
    let refs = script.referenced_fields();
    let set = |xs: &[&str]| {
        xs.iter()
            .map(|s| s.to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(refs.record, set(&["amount"]));
    assert_eq!(refs.old, set(&["amount"]));
    assert_eq!(refs.changed, set(&["stage"]));
    assert_eq!(refs.currency_of, set(&["budget"]));
    assert_eq!(refs.user, set(&["id"]));
    assert!(refs.uses_today && !refs.uses_now && refs.reads_old() && refs.reads_clock());
    assert_eq!(
        refs.record_fields().into_iter().collect::<Vec<_>>(),
        vec!["amount", "budget", "stage"]
    );
}

#[test]
fn compile_problems_name_what_is_wrong() {
    fn problems(src: &str) -> Vec<(&'static str, usize, usize)> {
        match compile(src, ScriptKind::Condition, &catalog()) {
            Ok(_) => vec![],
            Err(ps) => ps.iter().map(|p| (p.code, p.line, p.column)).collect(),
        }
    }
    for (src, expected) in [
        ("record.amout > 5", vec![("unknown_field", 1, 8)]),
        (
            "record.amount > 5 &&\n  old.stag == 1",
            vec![("unknown_field", 2, 7)],
        ),
        (r#"changed("stge")"#, vec![("unknown_field", 1, 9)]),
        ("user.salary > 5", vec![("unknown_field", 1, 6)]),
        (
            r#"currency_of("amount") == "CNY""#,
            vec![("not_currency", 1, 13)],
        ),
        ("record.amount >", vec![("syntax", 1, 16)]),
        ("amount > 5", vec![("unknown_variable", 1, 1)]),
        ("ROUND(record.amount) > 5", vec![("unknown_function", 1, 1)]),
        (
            "record.amout > 5 && uper(record.stage) == \"X\"",
            vec![("unknown_field", 1, 8), ("unknown_function", 1, 21)],
        ),
        ("eval(\"1\")", vec![("forbidden", 1, 1)]),
        ("", vec![("syntax", 0, 0)]),
    ] {
        assert_eq!(problems(src), expected, "{src}");
    }
    let p = compile("record.amout > 5", ScriptKind::Condition, &catalog()).unwrap_err();
    assert!(
        p[0].message.contains("amout") && p[0].message.contains("amount"),
        "{}",
        p[0]
    );
}

#[test]
fn compiled_scripts_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_clone<T: Clone>() {}
    assert_send_sync::<weft_rules::CompiledScript>();
    assert_clone::<weft_rules::CompiledScript>();
    assert_send_sync::<weft_rules::Sandbox>();
}

#[test]
fn reused_scopes_never_leak_values_between_evaluations() {
    let cat = catalog();
    let a = compile(
        "let doubled = record.amount * 2; record.amount = 0; doubled > 1000",
        ScriptKind::Condition,
        &cat,
    )
    .unwrap();
    let b = compile(r#"record.stage == "won""#, ScriptKind::Condition, &cat).unwrap();
    let u = user();
    let run = |s: &weft_rules::CompiledScript, rec: Value| {
        let rec = obj(rec);
        eval_bool(s, &ctx(&rec, None, &u)).map_err(|e| e.code)
    };
    for _ in 0..3 {
        assert_eq!(run(&a, json!({"amount": "600"})), Ok(true));
        assert_eq!(run(&a, json!({"amount": "400"})), Ok(false));
        assert_eq!(run(&a, json!({"amount": "oops"})), Err("bad_value"));
        assert_eq!(run(&a, json!({})), Ok(false));
        assert_eq!(run(&b, json!({"stage": "won"})), Ok(true));
        assert_eq!(run(&a, json!({"amount": 501})), Ok(true));
        assert_eq!(run(&b, json!({"stage": "lost"})), Ok(false));
        assert_eq!(run(&b, json!({})), Ok(false));
    }
}

/// The examples of README.md §1.4, so the reference cannot drift from the engine.
#[test]
fn documented_helpers_behave_as_documented() {
    use ScalarType::*;
    for (ty, src, expected) in [
        (
            Text,
            r#"concat("a", "b", "c", "d", "e", "f")"#,
            json!("abcdef"),
        ),
        (Text, r#"concat(record.weighted, "x")"#, json!("x")),
        (Text, r#"record.name.upper()"#, json!("ACME 2024 RENEWAL")),
        (Text, r#""Acme Corp".to_lower()"#, json!("acme corp")),
        (Integer, r#""Acme Corp".index_of("Corp")"#, json!(5)),
        (Text, r#""Acme Corp".sub_string(0, 4)"#, json!("Acme")),
        (Integer, r#""a,b,c".split(",").len()"#, json!(3)),
        (Decimal, "round_up(1.201, 1)", json!("1.3")),
        (Decimal, "round_down(-1.29, 1)", json!("-1.2")),
        (Decimal, "round(1234.567, 2)", json!("1234.57")),
        (Decimal, "floor(2.7) + ceiling(2.1) + abs(-3)", json!("8")),
        (
            Decimal,
            "max(record.amount, 1) - min(2, 1.5)",
            json!("599998.5"),
        ),
        (Integer, "max(3, 7) + min(3, 7)", json!(10)),
        (Integer, "7 % 3 + 2 ** 10", json!(1025)),
        (
            Decimal,
            r#"switch record.stage { "won" => 1, "lost" => 0, _ => 0.5 }"#,
            json!("0.5"),
        ),
        (Bool, r#""sales_director" in user.roles"#, json!(true)),
        (Integer, r#"len("销售机会")"#, json!(4)),
        (
            Date,
            "add_months(date(2024, 1, 31), 1)",
            json!("2024-02-29"),
        ),
        (Date, "end_of_month(today())", json!("2024-05-31")),
        (Date, "start_of_month(today())", json!("2024-05-01")),
        (Date, "today() - 1", json!("2024-05-19")),
        (Integer, "record.close_date - today()", json!(41)),
        (Integer, "weekday(date(2024, 5, 26))", json!(7)),
        (
            Integer,
            "minutes_between(record.created_at, now())",
            json!(27450),
        ),
        (
            DateTime,
            "add_minutes(datetime(\"2024-05-01T08:00:00Z\"), 30)",
            json!("2024-05-01T08:30:00Z"),
        ),
        (
            Bool,
            r#"is_blank("  ") && is_blank([]) && is_blank(()) && !is_blank(0)"#,
            json!(true),
        ),
        (Decimal, r#"if_blank(record.weighted, 0) + 1"#, json!("1")),
        (
            Text,
            r#"if record.amount > 1000000 { "large" } else { "normal" }"#,
            json!("normal"),
        ),
    ] {
        formula(ty, src, expected);
    }
}
