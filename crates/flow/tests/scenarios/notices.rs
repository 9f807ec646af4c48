//! CC, empty approver policies and timers: reminders, repeats and missed cycles
//! (scenarios 19–22).

use chrono::Duration;
use serde_json::{Value, json};
use weft_flow::command::{CloseReason, NotifyKind};
use weft_flow::{Command, Effect, Status};

use crate::common::*;
use crate::support::*;

#[test]
fn s19_cc_never_blocks() {
    let mut run = Run::started(compile(DEAL), big());
    for u in ["l1", "l2", "l3", "u1", "u2", "u3"] {
        run.approve(u);
    }
    let ni = run
        .state
        .nodes
        .iter()
        .find(|n| n.node == "notify_dir")
        .unwrap()
        .id;
    run.cmd(Command::ActionDone {
        ni,
        result: Value::Null,
    });
    let cc: Vec<&Effect> = run
        .last
        .iter()
        .filter(|e| matches!(e, Effect::Cc { .. }))
        .collect();
    assert_eq!(
        cc,
        vec![&Effect::Cc {
            node: "cc_owner".into(),
            users: vec!["olga".into()],
            template: Some("cc.hbs".into())
        }]
    );
    assert!(
        run.last
            .iter()
            .any(|e| matches!(e, Effect::RunAction { node, .. } if node == "set_stage")),
        "moved on in the same transition"
    );
    assert_eq!(
        run.count(|e| matches!(e, Effect::OpenTask { user, .. } if user == "olga")),
        0,
        "no action buttons"
    );
}

#[test]
fn s20_empty_approver_policy_and_dedupe() {
    let mut run = Run::new(compile(DEAL));
    run.start("zed", small()); // zed has no manager
    assert_eq!(run.open_users(), vec!["admin"]);
    assert_eq!(run.audits("empty_assignees").len(), 1);

    // Policies table: (policy, expected status/incident)
    for (policy, expect) in [
        (json!({"kind": "auto_approve"}), "set_stage"),
        (json!({"kind": "auto_reject"}), "rejected"),
        (json!({"kind": "incident"}), "incident"),
    ] {
        let flow = deal_with(|v| node_mut(v, "mgr")["on_empty"] = policy.clone());
        let mut run = Run::new(flow);
        run.start("zed", small());
        match expect {
            "set_stage" => assert_eq!(run.positions(), vec!["set_stage"]),
            "rejected" => assert_eq!(run.status(), Status::Rejected),
            _ => assert_eq!(run.state.incidents[0].code, "approval.no_assignees"),
        }
    }

    let flow = compile(
        &json!({
            "schema": "crm.workflow/1", "key": "dd", "settings": {"dedupe": "auto_approve_repeat"},
            "nodes": [
                {"id": "start", "kind": "start"},
                {"id": "a1", "kind": "approval", "assignees": [{"kind": "users", "ids": ["x"]}]},
                {"id": "a2", "kind": "approval", "assignees": [{"kind": "users", "ids": ["x", "y"]}], "mode": {"kind": "all"}},
                {"id": "end", "kind": "end"}],
            "edges": [
                {"id": "e0", "from": "start", "to": "a1"},
                {"id": "e1", "from": "a1", "to": "a2", "on": "approved"},
                {"id": "e2", "from": "a2", "to": "end", "on": "approved"}]
        })
        .to_string(),
    );
    let mut run = Run::started(flow, json!({}));
    run.approve("x");
    assert_eq!(run.open_users(), vec!["y"]);
    let auto = run.audits("auto_approved");
    assert!(
        matches!(auto[0], Effect::Audit { actor: Some(a), data, .. } if a == "x" && data["reason"] == "dedupe")
    );
    run.approve("y");
    assert_eq!(run.status(), Status::Approved);
}

fn reminders(run: &Run) -> usize {
    run.count(|e| {
        matches!(
            e,
            Effect::Notify {
                kind: NotifyKind::Reminder,
                ..
            }
        )
    })
}

#[test]
fn s21_non_interrupting_reminder_cycle() {
    let mut run = Run::started(compile(DEAL), small()); // Thursday: sla (3 workdays) is next Tuesday
    let sla = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "sla")
        .unwrap()
        .due;
    assert_eq!(
        sla,
        t0() + Duration::days(5),
        "business calendar from the environment"
    );
    run.advance(Duration::hours(80));
    assert_eq!(reminders(&run), 3, "reminders at 24/48/72 h");
    assert_eq!(run.open_users(), vec!["bob"], "task still open");

    let mut run = Run::started(compile(DEAL), small());
    run.advance(Duration::hours(30));
    run.approve("bob");
    assert_eq!(reminders(&run), 1);
    assert!(
        run.state.timers.is_empty(),
        "remaining reminders and sla cancelled"
    );
    run.advance(Duration::hours(100));
    assert_eq!(reminders(&run), 1);
}

#[test]
fn s22_timer_fired_twice_and_missed_cycles() {
    let mut run = Run::started(compile(DEAL), small());
    let sla = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "sla")
        .unwrap()
        .clone();
    // Workers down past the due time: fire once at restart.
    run.now = sla.due + Duration::hours(2);
    run.cmd(Command::TimerFired { timer: sla.id });
    assert_eq!(run.positions(), vec!["escalate"]);
    assert_eq!(
        run.count(|e| matches!(
            e,
            Effect::CloseTask {
                reason: CloseReason::Timeout,
                ..
            }
        )),
        1,
        "mgr task cancelled"
    );
    let rev = run.state.rev;
    run.cmd(Command::TimerFired { timer: sla.id });
    assert_eq!(
        (run.state.rev, run.last.len()),
        (rev, 0),
        "second firing is a no-op"
    );

    // Early firing is refused.
    let mut run = Run::started(compile(DEAL), small());
    let remind = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "remind")
        .unwrap()
        .id;
    assert_eq!(
        run.try_cmd(Command::TimerFired { timer: remind })
            .unwrap_err()
            .code(),
        "flow.timer_not_due"
    );

    // A cycle missed several times fires once and schedules the next *future* occurrence.
    let flow = deal_with(|v| node_mut(v, "mgr")["timers"][0]["cycle"] = json!("R10/PT1H"));
    let mut run = Run::started(flow, small());
    let remind = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "remind")
        .unwrap()
        .clone();
    run.now = remind.due + Duration::minutes(150); // 3 occurrences due (1h, 2h, 3h)
    run.cmd(Command::TimerFired { timer: remind.id });
    assert_eq!(reminders(&run), 1);
    let next = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "remind")
        .unwrap();
    assert!(next.due > run.now && next.due == remind.due + Duration::hours(3));
    assert_eq!(next.left, Some(7));
}
