//! Hostile templates: each is rejected when saved or stopped while rendering, never an
//! abort or a hang.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weft_rules::templates::{TemplateKind, compile_template, render};

#[derive(Debug, Clone, Copy)]
enum Expect {
    Rejected(&'static str),
    Stopped(&'static str),
}
use Expect::*;

const BUDGET: Duration = Duration::from_millis(250);

fn check(name: &str, kind: TemplateKind, src: &str, data: &Value, expected: Expect) {
    let started = Instant::now();
    let outcome = match compile_template(src, kind) {
        Err(problems) => Err(problems[0].code),
        Ok(t) => match render(&t, data) {
            Ok(out) => panic!("{name}: rendered {} bytes", out.len()),
            Err(e) => Ok(e.code),
        },
    };
    let elapsed = started.elapsed();
    println!("{name:40} {outcome:?} in {elapsed:?}");
    assert!(elapsed < BUDGET, "{name}: took {elapsed:?}");
    match (expected, outcome) {
        (Rejected(want), Err(got)) | (Stopped(want), Ok(got)) => assert_eq!(got, want, "{name}"),
        (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
    }
}

/// Built without `json!`, which serializes interpolated values recursively. Kept at a depth
/// whose recursive drop is still safe on a test thread's stack.
fn deep_json(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        let mut m = serde_json::Map::new();
        m.insert("a".into(), v);
        v = Value::Object(m);
    }
    v
}

#[test]
fn hostile_templates_are_rejected_or_stopped() {
    use TemplateKind::*;
    let d = json!({
        "x": "<script>alert(1)</script>",
        "u": "javascript:alert(1)",
        "big": "y".repeat(600_000),
        "list": (0..1000).collect::<Vec<_>>(),
    });
    let cases: Vec<(&str, TemplateKind, String, Value, Expect)> = vec![
        ("triple-stash raw output", Html, "{{{x}}}".into(), d.clone(), Rejected("raw_output")),
        ("ampersand raw output", Html, "{{&x}}".into(), d.clone(), Rejected("raw_output")),
        ("raw output in text kind", Text, "{{{x}}}".into(), d.clone(), Rejected("raw_output")),
        ("partial", Html, "{{> header}}".into(), d.clone(), Rejected("partial")),
        ("partial block", Html, "{{#> layout}}x{{/layout}}".into(), d.clone(), Rejected("partial")),
        ("partial cycle a→b→a", Html, "{{#*inline \"a\"}}{{> b}}{{/inline}}{{#*inline \"b\"}}{{> a}}{{/inline}}{{> a}}".into(), d.clone(), Rejected("partial")),
        ("self partial", Html, "{{#*inline \"a\"}}{{> a}}{{/inline}}{{> a}}".into(), d.clone(), Rejected("partial")),
        ("dynamic partial (unsupported syntax)", Html, "{{> (lookup . \"x\")}}".into(), d.clone(), Rejected("syntax")),
        ("decorator", Html, "{{*log \"x\"}}".into(), d.clone(), Rejected("decorator")),
        ("raw block helper", Html, "{{{{raw}}}}{{x}}{{{{/raw}}}}".into(), d.clone(), Rejected("forbidden_helper")),
        ("raw helper", Html, "{{#raw}}x{{/raw}}".into(), d.clone(), Rejected("forbidden_helper")),
        ("log helper", Html, "{{log x}}".into(), d.clone(), Rejected("forbidden_helper")),
        ("unknown helper", Html, "{{shell \"rm -rf /\"}}".into(), d.clone(), Rejected("unknown_helper")),
        ("unknown helper in a subexpression", Html, "{{default (exec x) \"a\"}}".into(), d.clone(), Rejected("unknown_helper")),
        ("unknown block helper", Html, "{{#loop x}}a{{/loop}}".into(), d.clone(), Rejected("unknown_helper")),
        ("each nested 4 deep", Html, "{{#each list}}{{#each ../list}}{{#each ../../list}}{{#each ../../../list}}x{{/each}}{{/each}}{{/each}}{{/each}}".into(), d.clone(), Rejected("each_too_deep")),
        ("javascript: in href from a value", Html, "<a href=\"{{u}}\">x</a>".into(), d.clone(), Rejected("unsafe_url")),
        ("src from a value", Html, "<img src=\"{{u}}\">".into(), d.clone(), Rejected("unsafe_url")),
        ("scheme completed by a value", Html, "<a href=\"java{{u}}\">x</a>".into(), d.clone(), Rejected("unsafe_url")),
        ("literal javascript: URL", Html, "<a href=\"javascript:alert(1)\">x</a>".into(), d.clone(), Rejected("unsafe_html")),
        ("literal data: URL with spaces", Html, "<a href=\" data:text/html,x\">x</a>".into(), d.clone(), Rejected("unsafe_html")),
        ("unquoted attribute", Html, "<a title={{x}}>x</a>".into(), d.clone(), Rejected("unquoted_attribute")),
        ("event handler from a value", Html, "<a onclick=\"{{x}}\">x</a>".into(), d.clone(), Rejected("unsafe_html")),
        ("style attribute from a value", Html, "<p style=\"{{x}}\">x</p>".into(), d.clone(), Rejected("unsafe_attribute")),
        ("attribute name from a value", Html, "<p {{x}}>x</p>".into(), d.clone(), Rejected("unsafe_attribute")),
        ("value inside <style>", Html, "<style>{{x}}</style>".into(), d.clone(), Rejected("unsafe_context")),
        ("literal <script>", Html, "<script>alert(1)</script>".into(), d.clone(), Rejected("unsafe_html")),
        ("literal <iframe>", Html, "<iframe src=\"https://evil.example\"></iframe>".into(), d.clone(), Rejected("unsafe_html")),
        ("doctype does not hide an attribute", Html, "<!DOCTYPE html><a href=\"{{u}}\">x</a>".into(), d.clone(), Rejected("unsafe_url")),
        ("syntax error", Html, "{{#if x}}unclosed".into(), d.clone(), Rejected("syntax")),
        ("template over 64 KiB", Html, "x".repeat(64 * 1024 + 1), d.clone(), Rejected("too_long")),
        ("3,000 nested blocks", Html, format!("{}x{}", "{{#if x}}".repeat(3000), "{{/if}}".repeat(3000)), d.clone(), Rejected("too_complex")),
        ("deep subexpressions", Html, format!("{{{{default {}x{} \"a\"}}}}", "(default ".repeat(2000), " \"b\")".repeat(2000)), d.clone(), Rejected("too_complex")),
        ("output over 1 MiB", Text, "{{big}}{{big}}".into(), d.clone(), Stopped("too_large")),
        ("each multiplying output", Text, "{{#each list}}{{../big}}{{/each}}".into(), d.clone(), Stopped("too_large")),
        ("cubic each with an empty body", Text, "{{#each list}}{{#each ../list}}{{#each ../../list}}{{/each}}{{/each}}{{/each}}".into(), d.clone(), Stopped("timeout")),
        ("deep context", Html, "{{a}}".into(), deep_json(1_000), Stopped("too_deep")),
        ("huge context", Html, "{{x}}".into(), json!({"x": 1, "l": vec![0; 200_000]}), Stopped("too_large")),
        ("missing value in strict mode", Html, "{{nope}}".into(), d.clone(), Stopped("missing_value")),
    ];
    assert!(cases.len() >= 30);
    for (name, kind, src, data, expected) in &cases {
        check(name, *kind, src, data, *expected);
    }
}

/// The most nested template the pre-scan lets through still parses and renders on a
/// 256 KiB stack (handlebars' parser recurses on nesting).
#[test]
fn the_deepest_accepted_template_fits_a_small_stack() {
    let run = || {
        let blocks = (1..40)
            .rev()
            .map(|n| format!("{}x{}", "{{#if x}}".repeat(n), "{{/if}}".repeat(n)))
            .find(|src| compile_template(src, TemplateKind::Html).is_ok())
            .unwrap();
        let subexpressions = (1..40)
            .rev()
            .map(|n| {
                format!(
                    "{{{{default {}x{} \"a\"}}}}",
                    "(default ".repeat(n),
                    " \"b\")".repeat(n)
                )
            })
            .find(|src| compile_template(src, TemplateKind::Html).is_ok())
            .unwrap();
        let chain = (1..60)
            .rev()
            .map(|n| {
                let branches: String = (0..n).map(|_| "{{else if x}}y").collect();
                format!("{{{{#if x}}}}{{{{#if x}}}}x{branches}{{{{/if}}}}{{{{/if}}}}")
            })
            .find(|src| compile_template(src, TemplateKind::Html).is_ok())
            .unwrap();
        for src in [blocks, subexpressions, chain] {
            let t = compile_template(&src, TemplateKind::Html).unwrap();
            assert!(render(&t, &json!({"x": true})).is_ok(), "{src}");
        }
    };
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn long_else_if_chains_are_bounded() {
    let chain = |n: usize| {
        format!(
            "{{{{#if a}}}}0{}{{{{/if}}}}",
            (1..=n)
                .map(|i| format!("{{{{else if b}}}}{i}"))
                .collect::<String>()
        )
    };
    // A realistic chain renders…
    let t = compile_template(&chain(20), TemplateKind::Text).unwrap();
    assert_eq!(render(&t, &json!({"a": false, "b": true})).unwrap(), "1");
    // …and a pathological one is refused before handlebars nests it 3,000 deep.
    let started = Instant::now();
    let err = compile_template(&chain(3000), TemplateKind::Text)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err[0].code, "too_complex");
    assert!(started.elapsed() < BUDGET);
}
