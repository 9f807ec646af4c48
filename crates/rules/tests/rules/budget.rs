//! The CPU budget one write shares across all its evaluations (issue 12): each evaluation
//! draws from it, a run is stopped when it runs out, and a spent budget refuses at once.

use std::time::{Duration, Instant};

use serde_json::json;
use weft_rules::{Budget, Limits, Sandbox, ScriptKind};

use crate::common::{catalog, ctx, obj, user};

/// Legal and loop-free, a few milliseconds of work (a few thousand closure calls).
const SLOW: &str = "let a = []; a.pad(3000, 1); a.map(|x| x + 1).reduce(|s, x| s + x, 0) > 0";

/// Legal, loop-free, far slower than any budget here.
const RUNAWAY: &str = "let a = []; a.pad(10000, 1); let b = []; b.pad(10000, 1); \
                       a.map(|x| b.reduce(|s, y| s + y, 0)).len() > 0";

/// A profile whose own per-evaluation limits never bind in these tests, so only the shared
/// budget can stop a run.
fn roomy() -> Sandbox {
    Sandbox::new(Limits {
        timeout: Duration::from_millis(250),
        max_operations: 10_000_000,
        ..Limits::default()
    })
}

#[test]
fn evaluations_of_one_write_share_one_budget() {
    let sandbox = roomy();
    let script = sandbox
        .compile(SLOW, ScriptKind::Validation, &catalog())
        .unwrap();
    let rec = obj(json!({}));
    let u = user();
    let cx = ctx(&rec, None, &u);

    // One evaluation alone is well inside the budget.
    let one = Instant::now();
    assert!(sandbox.eval_bool(&script, &cx).unwrap());
    let one = one.elapsed();

    let total = Duration::from_millis(40);
    let budget = Budget::new(total);
    let started = Instant::now();
    let mut passed = 0;
    let err = loop {
        match sandbox.eval_bool_in(&script, &cx, &budget) {
            Ok(v) => {
                assert!(v);
                passed += 1;
                assert!(passed < 100_000, "the budget never ran out");
            }
            Err(e) => break e,
        }
    };
    let elapsed = started.elapsed();
    assert_eq!(err.code, "budget", "{err}");
    assert!(err.is_budget());
    assert!(budget.is_spent());
    assert_eq!(budget.remaining(), Duration::ZERO);
    // Several evaluations ran (each under the per-evaluation limit), then the shared budget
    // stopped the write: no sooner than the budget, and not much later than it.
    assert!(passed >= 1, "one evaluation took {one:?}");
    assert!(elapsed >= total, "{elapsed:?}");
    assert!(elapsed < total + Duration::from_millis(200), "{elapsed:?}");

    // A spent budget refuses without running anything; a clone is the same budget.
    let again = Instant::now();
    let err = sandbox
        .eval_bool_in(&script, &cx, &budget.clone())
        .unwrap_err();
    assert_eq!(err.code, "budget");
    assert!(
        again.elapsed() < Duration::from_millis(5),
        "{:?}",
        again.elapsed()
    );

    // Plain evaluation (no budget) is unaffected by what ran before on this thread.
    assert!(sandbox.eval_bool(&script, &cx).unwrap());
}

#[test]
fn the_budget_stops_a_run_before_its_own_limit() {
    let sandbox = roomy();
    let script = sandbox
        .compile(RUNAWAY, ScriptKind::Condition, &catalog())
        .unwrap();
    let rec = obj(json!({}));
    let u = user();
    let budget = Budget::new(Duration::from_millis(20));
    let started = Instant::now();
    let err = sandbox
        .eval_bool_in(&script, &ctx(&rec, None, &u), &budget)
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.code, "budget", "{err}");
    assert!(
        elapsed >= Duration::from_millis(20) && elapsed < Duration::from_millis(200),
        "{elapsed:?}"
    );
    assert!(budget.is_spent());

    // With a budget larger than the profile's limit, the profile's own timeout applies.
    let plenty = Budget::new(Duration::from_secs(10));
    let err = sandbox
        .eval_bool_in(&script, &ctx(&rec, None, &u), &plenty)
        .unwrap_err();
    assert_eq!(err.code, "timeout", "{err}");
    let left = plenty.remaining();
    assert!(
        left <= Duration::from_millis(9_750) && left > Duration::from_secs(9),
        "{left:?}"
    );
}

#[test]
fn a_budget_changes_no_result() {
    let sandbox = Sandbox::shared();
    let rec = obj(json!({"amount": "600000", "stage": "won"}));
    let u = user();
    let cx = ctx(&rec, None, &u);
    let budget = Budget::unlimited();
    for src in [
        r#"record.amount > 500000 && record.stage == "won""#,
        "1 / 0",
        "42",
    ] {
        let s = sandbox
            .compile(src, ScriptKind::Condition, &catalog())
            .unwrap();
        assert_eq!(
            sandbox.eval_bool(&s, &cx).map_err(|e| e.code),
            sandbox.eval_bool_in(&s, &cx, &budget).map_err(|e| e.code),
            "{src}"
        );
    }
    assert!(budget.remaining() < budget.total());
}
