//! What templates render.

use serde_json::{Value, json};
use weft_rules::templates::{RenderError, TemplateKind, compile_template, render, render_in};

fn data() -> Value {
    json!({
        "record": {
            "name": "Acme <Renewal> & \"Co\"",
            "amount": {"amount": "1234567.5", "currency": "CNY"},
            "plain_amount": "99.5",
            "close_date": "2024-06-30",
            "created_at": "2024-05-01T00:30:00Z",
            "url": "https://crm.example.com/r/42",
            "bad_url": "javascript:alert(1)",
            "stage": "negotiation",
            "lines": [{"product": "A", "qty": 2}, {"product": "B", "qty": 1}],
            "note": null,
            "empty": ""
        },
        "user": {"name": "王芳"}
    })
}

fn check(kind: TemplateKind, src: &str, expected: &str) {
    let t = compile_template(src, kind).unwrap_or_else(|p| panic!("{src}: {p:?}"));
    let out =
        render_in(&t, &data(), chrono_tz::Asia::Shanghai).unwrap_or_else(|e| panic!("{src}: {e}"));
    assert_eq!(out, expected, "{src}");
}

#[test]
fn html_templates_escape_values() {
    use TemplateKind::Html;
    check(
        Html,
        "<p>{{record.name}}</p>",
        "<p>Acme &lt;Renewal&gt; &amp; &quot;Co&quot;</p>",
    );
    check(Html, "<p>{{default record.note \"—\"}}</p>", "<p>—</p>");
    check(Html, "{{default record.empty \"n/a\"}}", "n/a");
    check(Html, "{{default record.stage \"n/a\"}}", "negotiation");
    check(Html, "{{format_money record.amount}}", "¥1,234,567.50");
    check(
        Html,
        "{{format_money record.plain_amount \"USD\"}}",
        "$99.50",
    );
    check(Html, "{{format_date record.close_date}}", "2024-06-30");
    check(
        Html,
        "{{format_date record.close_date \"zh\"}}",
        "2024年6月30日",
    );
    check(
        Html,
        "{{format_date record.created_at}}",
        "2024-05-01 08:30",
    );
    check(Html, "{{format_date record.created_at \"%H:%M\"}}", "08:30");
    check(
        Html,
        r#"<a href="{{safe_url record.url}}">open</a>"#,
        r#"<a href="https://crm.example.com/r/42">open</a>"#,
    );
    check(
        Html,
        r#"<a href="{{safe_url record.bad_url}}">open</a>"#,
        r#"<a href="">open</a>"#,
    );
    check(
        Html,
        r#"<a href="https://crm.example.com/r/{{record.stage}}">x</a>"#,
        r#"<a href="https://crm.example.com/r/negotiation">x</a>"#,
    );
    check(
        Html,
        "<ul>{{#each record.lines}}<li>{{@index}}: {{product}} × {{qty}}</li>{{/each}}</ul>",
        "<ul><li>0: A × 2</li><li>1: B × 1</li></ul>",
    );
    check(
        Html,
        "{{#each record.lines as |line|}}{{line.product}}{{#unless @last}}, {{/unless}}{{/each}}",
        "A, B",
    );
    check(
        Html,
        "{{#if (eq record.stage \"negotiation\")}}hot{{else}}cold{{/if}}",
        "hot",
    );
    check(Html, "{{#with record}}{{stage}}{{/with}}", "negotiation");
    check(Html, "{{len record.lines}} lines", "2 lines");
    check(
        Html,
        "<!-- {{record.stage}} --><b>{{user.name}}</b>",
        "<!-- negotiation --><b>王芳</b>",
    );
    check(
        Html,
        "<!DOCTYPE html><title>{{record.stage}}</title>",
        "<!DOCTYPE html><title>negotiation</title>",
    );
    check(
        Html,
        "<style>p { color: red }</style><p>{{record.stage}}</p>",
        "<style>p { color: red }</style><p>negotiation</p>",
    );
}

#[test]
fn text_and_subject_templates_do_not_escape() {
    check(
        TemplateKind::Text,
        "Deal {{record.name}}\nby {{user.name}}",
        "Deal Acme <Renewal> & \"Co\"\nby 王芳",
    );
    check(
        TemplateKind::Subject,
        "[CRM] {{record.name}}\r\nBcc: victim@example.com",
        "[CRM] Acme <Renewal> & \"Co\"  Bcc: victim@example.com",
    );
    let t = compile_template("Hi {{x}}", TemplateKind::Subject).unwrap();
    assert_eq!(
        render(&t, &json!({"x": "a\r\nBcc: b@example.com"})).unwrap(),
        "Hi a  Bcc: b@example.com"
    );
}

#[test]
fn strict_mode_reports_missing_values() {
    let t = compile_template("{{record.nope}}", TemplateKind::Html).unwrap();
    let err: RenderError = render(&t, &data()).unwrap_err();
    assert_eq!(err.code, "missing_value", "{err}");
    assert!(err.message.contains("record.nope"), "{err}");
}

#[test]
fn helper_misuse_is_a_render_error() {
    for src in [
        "{{format_money record.name}}",
        "{{format_date record.stage}}",
        "{{format_date record.close_date \"%Q\"}}",
        "{{format_date record.close_date \"%H:%M\"}}",
    ] {
        let t = compile_template(src, TemplateKind::Html).unwrap();
        assert_eq!(
            render(&t, &data()).map_err(|e| e.code),
            Err("render"),
            "{src}"
        );
    }
}
