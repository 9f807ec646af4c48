//! Random input never panics the compilers (a panic here would be a worker crash in
//! production; an abort would take the process down).

use proptest::prelude::*;
use weft_rules::templates::{TemplateKind, compile_template, render};
use weft_rules::{ScriptKind, compile, eval_bool};

use crate::common::{catalog, ctx, obj, user};

/// 400 cases per property by default; `WEFT_FUZZ_CASES=100000` for a longer hunt.
fn cases() -> u32 {
    std::env::var("WEFT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Fragments that make random strings look like scripts, so the fuzzer gets past the lexer.
fn script_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("record.".to_string()),
        Just("old.".to_string()),
        Just("changed(\"".to_string()),
        Just("amount".to_string()),
        Just("stage".to_string()),
        Just("today()".to_string()),
        Just("`${".to_string()),
        Just("}`".to_string()),
        Just("#\"".to_string()),
        Just("\"#".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("|x|".to_string()),
        Just(" && ".to_string()),
        Just(" > 5".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("#{".to_string()),
        Just("}".to_string()),
        Just(".map(".to_string()),
        Just("销".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("?.".to_string()),
        Just("..".to_string()),
        Just("::".to_string()),
        Just("currency_of(\"".to_string()),
        Just("user.".to_string()),
        Just("now()".to_string()),
        Just("\"".to_string()),
        Just("\n".to_string()),
        "[a-z_]{1,8}",
        "[0-9.]{1,6}",
        ".{0,4}",
    ]
}

fn template_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{#each x}}".to_string()),
        Just("{{/each}}".to_string()),
        Just("{{#if x}}".to_string()),
        Just("{{else}}".to_string()),
        Just("{{/if}}".to_string()),
        Just("{{> p}}".to_string()),
        Just("{{{".to_string()),
        Just("<a href=\"".to_string()),
        Just("\">".to_string()),
        Just("<!--".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("{{!--".to_string()),
        Just("--}}".to_string()),
        Just("\\{{".to_string()),
        Just("{{#with x}}".to_string()),
        Just("{{/with}}".to_string()),
        Just("{{format_date p \"%H\"}}".to_string()),
        Just("{{format_money x}}".to_string()),
        Just("{{safe_url p}}".to_string()),
        Just("<style>".to_string()),
        Just("</style>".to_string()),
        Just("<!DOCTYPE".to_string()),
        Just("-->".to_string()),
        Just("销售".to_string()),
        Just("=".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        "[a-z.]{1,8}",
        ".{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn compile_never_panics_on_arbitrary_text(src in ".{0,300}") {
        let _ = compile(&src, ScriptKind::Condition, &catalog());
    }

    #[test]
    fn compile_and_eval_never_panic_on_script_like_text(pieces in prop::collection::vec(script_piece(), 0..40)) {
        let src = pieces.concat();
        if let Ok(script) = compile(&src, ScriptKind::Condition, &catalog()) {
            let rec = obj(serde_json::json!({"amount": "5", "stage": "x"}));
            let u = user();
            let r = eval_bool(&script, &ctx(&rec, None, &u));
            prop_assert_ne!(r.err().map(|e| e.code), Some("internal"));
        }
    }

    #[test]
    fn compile_template_never_panics_on_arbitrary_text(src in ".{0,300}") {
        let _ = compile_template(&src, TemplateKind::Html);
    }

    #[test]
    fn templates_never_panic_on_template_like_text(pieces in prop::collection::vec(template_piece(), 0..40)) {
        let src = pieces.concat();
        for kind in [TemplateKind::Html, TemplateKind::Text, TemplateKind::Subject] {
            if let Ok(t) = compile_template(&src, kind) {
                let r = render(&t, &serde_json::json!({"x": [1, 2], "p": "q"}));
                prop_assert_ne!(r.err().map(|e| e.code), Some("internal"));
            }
        }
    }
}
