//! Hostile scripts: each is rejected when saved or stopped at run time, within 250 ms of
//! wall-clock time, and the process survives to run the next one.

use std::time::{Duration, Instant};

use serde_json::json;
use weft_rules::{MAX_SOURCE_LEN, ScriptKind, compile, eval_bool};

use crate::common::{catalog, ctx, obj, user};

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `compile` fails with a problem of this code.
    Rejected(&'static str),
    /// `compile` succeeds and evaluation fails with this code.
    Stopped(&'static str),
    /// Rejected or stopped, whichever rhai reaches first.
    Refused,
}
use Expect::*;

/// Legal, loop-free, but slow: ~10^8 additions through nested closures.
const RUNAWAY: &str = "let a = []; a.pad(10000, 1); let b = []; b.pad(10000, 1); \
                       a.map(|x| b.reduce(|s, y| s + y, 0)).len() > 0";

const BUDGET: Duration = Duration::from_millis(250);

fn check(name: &str, src: &str, expected: Expect) {
    let started = Instant::now();
    let compiled = compile(src, ScriptKind::Condition, &catalog());
    let outcome = match compiled {
        Err(problems) => Err(problems[0].code),
        Ok(script) => {
            let rec = obj(json!({"amount": "1", "name": "x", "tags": ["a"]}));
            let u = user();
            match eval_bool(&script, &ctx(&rec, None, &u)) {
                Ok(v) => panic!("{name}: ran to completion with {v}"),
                Err(e) => Ok(e.code),
            }
        }
    };
    let elapsed = started.elapsed();
    println!("{name:40} {outcome:?} in {elapsed:?}");
    assert!(elapsed < BUDGET, "{name}: took {elapsed:?}");
    match (expected, outcome) {
        (Rejected(want), Err(got)) | (Stopped(want), Ok(got)) => {
            assert_eq!(got, want, "{name}")
        }
        (Refused, _) => {}
        (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
    }
}

fn repeat(s: &str, n: usize) -> String {
    s.repeat(n)
}

#[test]
fn hostile_scripts_are_rejected_or_stopped_in_time() {
    let doubling = format!(
        "let s = \"abcdefgh\"; {} s.len() > 0",
        repeat("s = s + s; ", 20)
    );
    let big_map = format!(
        "#{{ {} }}.len() > 0",
        (0..1200)
            .map(|i| format!("k{i}: 1"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let closures = format!(
        "{} true",
        (0..100)
            .map(|i| format!("let f{i} = |x| x + {i};"))
            .collect::<String>()
    );
    let long_chain = format!("{} true", repeat("record.amount > 0 && ", 600));
    let cases: Vec<(&str, String, Expect)> = vec![
        ("infinite loop", "loop {}".into(), Rejected("forbidden")),
        ("while true", "while true { }".into(), Rejected("forbidden")),
        ("for over a huge range", "for x in 0..1000000000 { } true".into(), Rejected("forbidden")),
        ("do-while", "do { } while true; true".into(), Rejected("forbidden")),
        ("recursive function", "fn f(x) { f(x + 1) } f(0)".into(), Rejected("forbidden")),
        ("eval", r#"eval("loop {}")"#.into(), Rejected("forbidden")),
        ("import a file", r#"import "/etc/passwd" as p; true"#.into(), Rejected("forbidden")),
        ("sleep", "sleep(10); true".into(), Rejected("forbidden")),
        ("exit", "exit(1)".into(), Rejected("forbidden")),
        ("timestamp", "timestamp() > 0".into(), Rejected("forbidden")),
        ("print", r#"print("x"); true"#.into(), Rejected("forbidden")),
        ("debug", r#"debug("x"); true"#.into(), Rejected("forbidden")),
        ("parse_json", r#"parse_json("{}") == ()"#.into(), Rejected("forbidden")),
        ("Fn pointer", r#"Fn("f") == ()"#.into(), Rejected("forbidden")),
        ("call a closure", "let f = |x| x; f.call(true)".into(), Rejected("forbidden")),
        ("throw", r#"throw "boom""#.into(), Rejected("forbidden")),
        ("try/catch", "try { true } catch { false }".into(), Rejected("forbidden")),
        ("reserved internal name", "__r_amount > 0".into(), Rejected("forbidden")),
        ("shadow record", "let record = #{}; true".into(), Rejected("forbidden")),
        ("this", "this == ()".into(), Rejected("forbidden")),
        ("source over 16 KiB", format!("{}true", " ".repeat(MAX_SOURCE_LEN - 3)), Rejected("too_long")),
        ("5000 nested parentheses", format!("{}1{} > 0", "(".repeat(5000), ")".repeat(5000)), Rejected("too_complex")),
        ("3000 nested arrays", format!("{}1{}.len() > 0", "[".repeat(3000), "]".repeat(3000)), Rejected("too_complex")),
        ("5000 negations", format!("{}true", "!".repeat(5000)), Rejected("too_complex")),
        ("nested interpolation", format!("{}1{} == \"1\"", "`${".repeat(500), "}`".repeat(500)), Rejected("too_complex")),
        ("100 closures", closures, Rejected("too_complex")),
        (
            "600-branch else-if chain",
            format!("if false {{ false }} {} else {{ true }}", "else if false { false } ".repeat(600)),
            Rejected("too_complex"),
        ),
        ("2000 chained methods", format!("\"a\"{}.len() > 0", ".trim()".repeat(2000)), Rejected("too_complex")),
        ("2000 unary minus", format!("{}1 > 0", "- ".repeat(2000)), Rejected("too_complex")),
        ("reserved operator", "let x = 1; x++; x > 0".into(), Rejected("syntax")),
        ("2000 index operations", format!("[[1]]{}.len() > 0", "[0]".repeat(2000)), Refused),
        ("600-term && chain", long_chain, Rejected("too_complex")),
        ("map literal over the size limit", big_map, Rejected("too_large")),
        ("string doubling", doubling, Stopped("too_large")),
        ("string pad bomb", r#"let s = "x"; s.pad(100000000, "y"); s.len() > 0"#.into(), Stopped("too_large")),
        ("array pad bomb", "let a = []; a.pad(100000000, 0); a.len() > 0".into(), Stopped("too_large")),
        ("array of big strings", r#"let s = "x"; s.pad(60000, "y"); let a = []; a.pad(9000, s); a.len() > 0"#.into(), Stopped("too_large")),
        ("split bomb", r#"let s = ","; s.pad(60000, ","); s.split(",").len() > 0"#.into(), Stopped("too_large")),
        ("replace bomb", r#"let s = "a"; s.pad(60000, "a"); replace(s, "a", s).len() > 0"#.into(), Stopped("runtime")),
        ("quadratic map", "let a = []; a.pad(10000, 0); let b = []; b.pad(10000, 0); a.map(|x| b).len() > 0".into(), Stopped("timeout")),
        ("self-referencing map", "let a = []; a.pad(10000, 0); a.map(|x| a).len() > 0".into(), Stopped("runtime")),
        ("nested map work", RUNAWAY.into(), Refused),
        ("sort then quadratic work", "let a = []; a.pad(10000, 1); a.sort(|x, y| y - x); let b = a; a.map(|x| b.reduce(|s, y| s + y, 0)).len() > 0".into(), Refused),
        ("integer overflow", "9223372036854775807 + 1 > 0".into(), Stopped("arithmetic")),
        ("decimal overflow", "79228162514264337593543950335.0 * 10 > 0".into(), Stopped("arithmetic")),
        ("power overflow", "2 ** 1000 > 0".into(), Stopped("arithmetic")),
        ("huge literal", "99999999999999999999999999999999999999999 > 0".into(), Rejected("syntax")),
        ("division by zero", "1 / 0 > 0".into(), Stopped("arithmetic")),
        ("decimal division by zero", "record.amount / 0 > 0".into(), Stopped("arithmetic")),
        ("modulo by zero", "5 % 0 > 0".into(), Stopped("arithmetic")),
        ("divide() by zero", "divide(1, 0) > 0".into(), Stopped("runtime")),
        ("round to absurd places", "round(record.amount, 1000000) > 0".into(), Stopped("runtime")),
        ("add absurd days", "add_days(today(), 9223372036854775807) > today()".into(), Stopped("runtime")),
        ("unterminated comment", "/* true".into(), Stopped("type")),
        ("unterminated string", "\"abc == \"abc\"".into(), Rejected("syntax")),
        ("NUL byte", "record.amount\0 > 0".into(), Rejected("syntax")),
        ("iterator helpers are absent", "range(0, 1000000000).len() > 0".into(), Rejected("unknown_function")),
        ("blob bomb", "blob(100000000).len() > 0".into(), Rejected("unknown_function")),
    ];
    assert!(cases.len() >= 30);
    for (name, src, expected) in &cases {
        check(name, src, *expected);
    }
}

#[test]
fn a_runaway_script_is_stopped_by_the_clock_or_the_operation_count() {
    let script = compile(RUNAWAY, ScriptKind::Condition, &catalog()).unwrap();
    let rec = obj(json!({}));
    let u = user();
    let started = Instant::now();
    let err = eval_bool(&script, &ctx(&rec, None, &u)).unwrap_err();
    assert!(started.elapsed() < BUDGET, "{:?}", started.elapsed());
    assert!(
        matches!(err.code, "timeout" | "too_many_operations"),
        "{err}"
    );
}

#[test]
fn the_wall_clock_budget_is_enforced() {
    use weft_rules::{Limits, Sandbox};
    // With the operation cap lifted far above what 20 ms allows, only the clock can stop it.
    let sandbox = Sandbox::new(Limits {
        timeout: Duration::from_millis(20),
        max_operations: 10_000_000,
        ..Limits::default()
    });
    let script = sandbox
        .compile(RUNAWAY, ScriptKind::Condition, &catalog())
        .unwrap();
    let rec = obj(json!({}));
    let u = user();
    let started = Instant::now();
    let err = sandbox
        .eval_bool(&script, &ctx(&rec, None, &u))
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.code, "timeout", "{err}");
    assert!(
        elapsed >= Duration::from_millis(20) && elapsed < BUDGET,
        "{elapsed:?}"
    );
}

#[test]
fn the_timeout_cannot_be_configured_past_the_hard_maximum() {
    let limits = weft_rules::Limits {
        timeout: Duration::from_secs(60),
        ..Default::default()
    };
    assert_eq!(limits.effective_timeout(), weft_rules::HARD_MAX_TIMEOUT);
}

/// The deepest script of each shape that compile accepts, evaluated on a 256 KiB stack (an
/// eighth of a default thread's): the depth limits, not luck, keep the stack safe, since a
/// Rust stack overflow aborts the process.
#[test]
fn the_deepest_accepted_scripts_fit_a_small_stack() {
    type Maker = fn(usize) -> String;
    let makers: Vec<(&str, Maker)> = vec![
        ("&&", |n| {
            format!("{} true", "record.amount > 0 && ".repeat(n))
        }),
        ("||", |n| {
            format!("{} false", "record.amount < 0 || ".repeat(n))
        }),
        ("+", |n| format!("{} 1 > 0", "record.amount + ".repeat(n))),
        ("parentheses", |n| {
            format!("{}1{} > 0", "(".repeat(n), ")".repeat(n))
        }),
        ("arrays", |n| {
            format!("{}1{}.len() > 0", "[".repeat(n), "]".repeat(n))
        }),
        ("calls", |n| {
            format!("{}1{} > 0", "round(".repeat(n), ")".repeat(n))
        }),
        ("negations", |n| format!("{}true", "!".repeat(n))),
        ("interpolations", |n| {
            format!("{}1{} == \"1\"", "`${".repeat(n), "}`".repeat(n))
        }),
        ("closures", |n| {
            format!(
                "[1].map(|x| {}x{}).len() > 0",
                "[[1].map(|x| ".repeat(n),
                ")]".repeat(n)
            )
        }),
        ("maps", |n| {
            format!("{}1{} != 0", "#{a: ".repeat(n), "}".repeat(n))
        }),
        ("methods", |n| {
            format!("\"a\"{}.len() > 0", ".trim()".repeat(n))
        }),
        ("switch", |n| {
            format!(
                "{}true{}",
                "switch 1 { 1 => ".repeat(n),
                ", _ => false }".repeat(n)
            )
        }),
        ("blocks", |n| {
            format!("{}true{}", "{ let x = 1; ".repeat(n), " }".repeat(n))
        }),
    ];
    let run = move || {
        let cat = catalog();
        for (name, make) in makers {
            let deepest = (1..200)
                .rev()
                .map(make)
                .find(|src| compile(src, ScriptKind::Condition, &cat).is_ok())
                .unwrap_or_else(|| panic!("{name}: nothing accepted"));
            let script = compile(&deepest, ScriptKind::Condition, &cat).unwrap();
            let rec = obj(json!({"amount": "1"}));
            let u = user();
            // Reaching the next line at all is the test; a panic inside would be "internal".
            let result = eval_bool(&script, &ctx(&rec, None, &u));
            assert_ne!(result.err().map(|e| e.code), Some("internal"), "{name}");
        }
    };
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}
