//! Handing a task on or back: transfer and delegate, return, withdraw (scenarios 15–18).

use chrono::Duration;
use serde_json::json;
use weft_flow::{Command, CompiledFlow, Decision, Effect, ErrorKind, Status, TaskStatus};

use crate::common::*;
use crate::support::*;

#[test]
fn s15_transfer_and_delegate() {
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::Transfer {
        task: a,
        actor: "bob".into(),
        to: "bea".into(),
        comment: None,
    });
    assert_eq!(run.task_status(a), Some(TaskStatus::Transferred));
    let b = run.task_of("bea");
    assert_eq!(
        run.state.task(b).unwrap().ni,
        run.state.nodes[0].id,
        "same node instance"
    );
    let late = run.try_cmd(Command::Decide {
        task: a,
        actor: "bob".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    });
    assert_eq!(late.unwrap_err().kind(), ErrorKind::Forbidden);
    let stranger = run.try_cmd(Command::Decide {
        task: b,
        actor: "bob".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    });
    assert_eq!(stranger.unwrap_err().kind(), ErrorKind::Forbidden);

    // Delegation: D decides as "D acting for A" (explicit delegate, and a standing delegate).
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::Delegate {
        task: a,
        actor: "bob".into(),
        to: "dan".into(),
    });
    let d = run.task_of("dan");
    assert_eq!(
        run.state.task(d).unwrap().acting_for.as_deref(),
        Some("bob")
    );
    run.approve("dan");
    let ev = run.audits("task_decided");
    assert!(
        matches!(ev[0], Effect::Audit { actor: Some(a), data, .. } if a == "dan" && data["acting_for"] == "bob")
    );

    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::Decide {
        task: a,
        actor: "dan".into(),
        acting_for: Some("bob".into()),
        decision: Decision::Approve,
        comment: None,
    });
    let ev = run.audits("task_decided");
    assert!(
        matches!(ev[0], Effect::Audit { actor: Some(a), data, .. } if a == "dan" && data["acting_for"] == "bob")
    );
}

fn at_escalate(resubmit: &str) -> Run {
    let flow = deal_with(|v| v["settings"]["resubmit"] = json!(resubmit));
    let mut run = Run::started(flow, small());
    run.advance(Duration::days(7)); // sla (3 working days) fires → escalate
    assert_eq!(run.positions(), vec!["escalate"]);
    run
}

#[test]
fn s16_return_to_start_then_rerun_or_jump_back() {
    let mut run = at_escalate("rerun");
    let t = run.task_of("d1");
    run.cmd(Command::Return {
        task: t,
        actor: "d1".into(),
        to_node: "start".into(),
        comment: Some("fix amount".into()),
    });
    assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
    assert_eq!(run.positions(), vec!["start"]);
    let rs = run.task_of("alice");
    run.cmd(Command::Resubmit {
        task: rs,
        actor: "alice".into(),
        record: Some(small()),
    });
    assert_eq!(run.positions(), vec!["mgr"], "route and mgr run again");
    assert_eq!(taken(&run, "route").len(), 2);

    let mut run = at_escalate("jump_back");
    let t = run.task_of("d1");
    run.cmd(Command::Return {
        task: t,
        actor: "d1".into(),
        to_node: "start".into(),
        comment: None,
    });
    let rs = run.task_of("alice");
    run.cmd(Command::Resubmit {
        task: rs,
        actor: "alice".into(),
        record: None,
    });
    assert_eq!(run.positions(), vec!["escalate"], "jump straight back");
    assert_eq!(taken(&run, "route").len(), 1);

    // Not a configured/visited target → rejected.
    let mut run = Run::started(compile(DEAL), big());
    let t = run.task_of("l1");
    let bad = run.try_cmd(Command::Return {
        task: t,
        actor: "l1".into(),
        to_node: "mgr".into(),
        comment: None,
    });
    assert_eq!(bad.unwrap_err().code(), "flow.invalid_return_target");
}

#[test]
fn s17_return_across_a_parallel_region_clears_join_arrivals() {
    // Without dedupe, so that legal's approvers must approve again in the new round.
    let mut run = Run::started(
        deal_with(|v| v["settings"]["dedupe"] = json!("none")),
        big(),
    );
    for u in ["l1", "l2", "l3"] {
        run.approve(u);
    }
    assert_eq!(run.state.joins.len(), 1, "legal arrived at the join");
    let f = run.task_of("u1");
    run.cmd(Command::Return {
        task: f,
        actor: "u1".into(),
        to_node: "start".into(),
        comment: None,
    });
    assert!(run.state.joins.is_empty(), "stale arrival cleared");
    assert_eq!(
        run.state.open_tasks().count(),
        1,
        "only the resubmit task is open"
    );
    let rs = run.task_of("alice");
    run.cmd(Command::Resubmit {
        task: rs,
        actor: "alice".into(),
        record: None,
    });
    for u in ["u1", "u2", "u3"] {
        run.approve(u);
    }
    assert!(
        run.audits("join_fired").is_empty(),
        "fin alone cannot fire the new round"
    );
    for u in ["l1", "l2", "l3"] {
        run.approve(u);
    }
    assert_eq!(run.audits("join_fired").len(), 1);
}

fn compensating_flow(policy: &str) -> CompiledFlow {
    compile(
        &json!({
            "schema": "crm.workflow/1", "key": "wd", "settings": {"withdraw": policy},
            "nodes": [
                {"id": "start", "kind": "start"},
                {"id": "reserve", "kind": "action", "action": {"kind": "webhook", "url": "https://erp.example/reserve"},
                 "compensate": {"kind": "webhook", "method": "DELETE", "url": "https://erp.example/reserve"}},
                {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": ["bob", "bea"]}], "mode": {"kind": "all"}},
                {"id": "end", "kind": "end"}],
            "edges": [
                {"id": "e0", "from": "start", "to": "reserve"},
                {"id": "e1", "from": "reserve", "to": "mgr"},
                {"id": "e2", "from": "mgr", "to": "end", "on": "approved"}]
        })
        .to_string(),
    )
}

#[test]
fn s18_withdraw() {
    let mut run = Run::started(compensating_flow("any_time"), json!({}));
    run.run_actions();
    run.approve("bob");
    let stranger = run.try_cmd(Command::Withdraw {
        actor: "bob".into(),
        comment: None,
    });
    assert_eq!(stranger.unwrap_err().kind(), ErrorKind::Forbidden);
    run.cmd(Command::Withdraw {
        actor: "alice".into(),
        comment: None,
    });
    assert_eq!(run.status(), Status::Withdrawn);
    assert_eq!(run.state.open_tasks().count(), 0);
    assert!(run.last.contains(&Effect::CancelPendingActions));
    assert_eq!(
        run.count(
            |e| matches!(e, Effect::RunAction { compensation: true, node, .. } if node == "reserve")
        ),
        1
    );

    let mut run = Run::started(compensating_flow("until_first_action"), json!({}));
    run.run_actions();
    run.approve("bob");
    let late = run
        .try_cmd(Command::Withdraw {
            actor: "alice".into(),
            comment: None,
        })
        .unwrap_err();
    assert_eq!(
        (late.code(), late.kind()),
        ("flow.withdraw_not_allowed", ErrorKind::Conflict)
    );

    // Timers of the withdrawn node are cancelled too.
    let mut run = Run::started(compile(DEAL), small());
    let timers: Vec<u32> = run.state.timers.iter().map(|t| t.id).collect();
    run.cmd(Command::Withdraw {
        actor: "alice".into(),
        comment: None,
    });
    for t in timers {
        assert!(run.last.contains(&Effect::CancelTimer { timer: t }));
    }
}
