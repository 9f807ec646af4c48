//! Data-driven scenarios: each case is a small script of commands and expectations run
//! against the reference flow with a controllable clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use chrono::Duration;
use serde_json::json;
use support::*;
use weft_flow::Effect;

fn effect_kind(e: &Effect) -> String {
    match e {
        Effect::Notify { kind, .. } => format!(
            "notify:{}",
            serde_json::to_value(kind).unwrap().as_str().unwrap()
        ),
        Effect::RunAction { node, .. } => format!("action:{node}"),
        Effect::Audit { event, .. } => format!("audit:{event}"),
        other => serde_json::to_value(other).unwrap()["type"]
            .as_str()
            .unwrap()
            .to_string(),
    }
}

/// Run one script; panics with the failing line.
fn check(script: &str) {
    let mut run: Option<Run> = None;
    for (no, line) in script
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ctx = format!("line {}: `{line}`", no + 1);
        let r = run.get_or_insert_with(|| Run::new(compile(DEAL)));
        match words.as_slice() {
            ["start", who, rest @ ..] => r.start(
                who,
                serde_json::from_str(&rest.join(" ")).expect("record json"),
            ),
            ["approve", users @ ..] => users.iter().for_each(|u| r.approve(u)),
            ["reject", users @ ..] => users.iter().for_each(|u| r.reject(u)),
            ["advance", h] => r.advance(Duration::hours(h.trim_end_matches('h').parse().unwrap())),
            ["run-actions"] => r.run_actions(),
            ["expect", "positions", nodes @ ..] => {
                assert_eq!(r.positions(), nodes.to_vec(), "{ctx}")
            }
            ["expect", "open", users @ ..] => assert_eq!(r.open_users(), users.to_vec(), "{ctx}"),
            ["expect", "status", s] => {
                assert_eq!(serde_json::to_value(r.status()).unwrap(), json!(s), "{ctx}")
            }
            ["expect", "count", kind, n] => {
                let c = r.log.iter().filter(|e| effect_kind(e) == *kind).count();
                assert_eq!(c.to_string(), *n, "{ctx}");
            }
            ["expect", "error", code, "approve", user] => {
                let e = r.decide(user, weft_flow::Decision::Approve).unwrap_err();
                assert_eq!(e.code(), *code, "{ctx}");
            }
            _ => panic!("{ctx}: unknown step"),
        }
    }
}

#[test]
fn scripted_scenarios() {
    let cases = [
        // s01: XOR default branch
        r#"start alice {"amount": 100, "owner": "olga"}
           expect positions mgr
           expect open bob
           expect count audit:gateway_evaluated 1"#,
        // s04 + s19: fork/join, join fires once, CC passes through, instance approved
        r#"start alice {"amount": 600000, "owner": "olga"}
           expect positions fin legal
           approve u1 u2 u3
           expect count action:notify_dir 0
           approve l1 l2 l3
           expect count audit:join_fired 1
           expect count action:notify_dir 1
           run-actions
           expect count cc 1
           expect status approved
           expect count notify:approved 1"#,
        // s08: one reject vetoes 会签, instance rejected once
        r#"start alice {"amount": 600000, "owner": "olga"}
           approve l1
           reject l2
           expect status rejected
           expect count notify:rejected 1
           expect error flow.task_not_found approve l3"#,
        // s10': ratio rejected at the 3rd rejection
        r#"start alice {"amount": 600000, "owner": "olga"}
           reject u1 u2
           expect status running
           reject u3
           expect status rejected"#,
        // s21: reminder cycle R3/PT24H, sla P3D on workdays
        r#"start alice {"amount": 100, "owner": "olga"}
           advance 80h
           expect count notify:reminder 3
           expect open bob
           advance 40h
           expect positions escalate
           expect open d1
           approve d1
           run-actions
           expect status approved"#,
    ];
    for script in cases {
        check(script);
    }
}
