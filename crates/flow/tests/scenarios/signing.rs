//! Approval modes: countersign, or-sign, ratio, sequential, and adding signers
//! (scenarios 7–11, 14).

use serde_json::json;
use weft_flow::command::CloseReason;
use weft_flow::definition::SignerPosition;
use weft_flow::{Command, CommandError, Decision, Effect, Status, TaskStatus};

use crate::common::*;
use crate::support::*;

#[test]
fn s07_countersign_all_approve() {
    let mut run = Run::started(compile(DEAL), big());
    run.approve("l1");
    run.approve("l2");
    assert!(run.audits("node_decided").is_empty());
    run.approve("l3");
    let decided = run.audits("node_decided");
    assert_eq!(decided.len(), 1);
    assert!(
        matches!(decided[0], Effect::Audit { node: Some(n), data, .. } if n == "legal" && data["outcome"] == "approved")
    );
}

#[test]
fn s08_countersign_one_reject_vetoes() {
    let mut run = Run::started(compile(DEAL), big());
    run.approve("l1");
    let c_task = run.task_of("l3");
    run.reject("l2");
    assert!(run.last.contains(&Effect::CloseTask {
        task: c_task,
        status: TaskStatus::Cancelled,
        reason: CloseReason::NodeDecided
    }));
    assert_eq!(
        run.decide("l3", Decision::Approve).unwrap_err(),
        CommandError::TaskNotFound(u32::MAX)
    );
    let late = run.try_cmd(Command::Decide {
        task: c_task,
        actor: "l3".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    });
    assert_eq!(late.unwrap_err().code(), "flow.task_closed");
    assert_eq!(run.status(), Status::Rejected);
    assert!(
        run.audits("end_reached")
            .iter()
            .any(|e| matches!(e, Effect::Audit { node: Some(n), .. } if n == "end_rej"))
    );
}

#[test]
fn s09_or_sign_first_decision_wins() {
    for (decision, outcome) in [
        (Decision::Approve, "approved"),
        (Decision::Reject, "rejected"),
    ] {
        let flow = deal_with(|v| node_mut(v, "legal")["mode"] = json!({"kind": "any"}));
        let mut run = Run::started(flow, big());
        let others = [run.task_of("l2"), run.task_of("l3")];
        run.decide("l1", decision).unwrap();
        let decided = run.audits("node_decided");
        assert!(matches!(decided[0], Effect::Audit { data, .. } if data["outcome"] == outcome));
        for t in others {
            assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
            let late = run.try_cmd(Command::Decide {
                task: t,
                actor: "l2".into(),
                acting_for: None,
                decision,
                comment: None,
            });
            assert!(late.is_err());
        }
    }
}

#[test]
fn s10_ratio_with_early_decision() {
    // approvals: decided at the 3rd approval; rejections: decided at the 3rd rejection.
    for decision in [Decision::Approve, Decision::Reject] {
        let mut run = Run::started(compile(DEAL), big());
        let rest = [run.task_of("u4"), run.task_of("u5")];
        run.decide("u1", decision).unwrap();
        run.decide("u2", decision).unwrap();
        assert!(run.audits("node_decided").is_empty());
        run.decide("u3", decision).unwrap();
        let decided = run.audits("node_decided");
        assert_eq!(decided.len(), 1);
        let expect = if decision == Decision::Approve {
            "approved"
        } else {
            "rejected"
        };
        assert!(
            matches!(decided[0], Effect::Audit { node: Some(n), data, .. } if n == "fin" && data["outcome"] == expect)
        );
        for t in rest {
            assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
        }
    }
}

#[test]
fn s11_sequential_one_at_a_time() {
    let flow = deal_with(|v| {
        node_mut(v, "legal")["mode"] = json!({"kind": "sequential"});
        node_mut(v, "legal")["assignees"] = json!([{"kind": "users", "ids": ["a", "b", "c"]}]);
    });
    let mut run = Run::started(flow, big());
    let legal_users = |r: &Run| {
        r.open_users()
            .into_iter()
            .filter(|u| ["a", "b", "c"].contains(&u.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(legal_users(&run), vec!["a"]);
    run.approve("a");
    assert_eq!(legal_users(&run), vec!["b"]);
    run.reject("b");
    assert_eq!(run.status(), Status::Rejected);
    assert_eq!(
        run.count(|e| matches!(e, Effect::OpenTask { user, .. } if user == "c")),
        0,
        "c never gets a task"
    );
}

#[test]
fn s14_add_signer_before_after_parallel() {
    // Before: X decides first, then A's task reopens and A's approval completes the node.
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::AddSigner {
        task: a,
        actor: "bob".into(),
        position: SignerPosition::Before,
        users: vec!["x".into()],
        comment: None,
    });
    assert_eq!(run.task_status(a), Some(TaskStatus::Suspended));
    assert_eq!(
        run.decide("bob", Decision::Approve).unwrap_err(),
        CommandError::TaskNotFound(u32::MAX)
    );
    run.approve("x");
    assert_eq!(run.task_status(a), Some(TaskStatus::Open));
    assert!(run.audits("node_decided").is_empty());
    run.approve("bob");
    assert_eq!(run.audits("node_decided").len(), 1);

    // After: A approves with Y; Y must approve; no return to A.
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::AddSigner {
        task: a,
        actor: "bob".into(),
        position: SignerPosition::After,
        users: vec!["y".into()],
        comment: None,
    });
    assert_eq!(run.task_status(a), Some(TaskStatus::Approved));
    assert!(run.audits("node_decided").is_empty());
    run.approve("y");
    assert_eq!(run.audits("node_decided").len(), 1);
    assert_eq!(
        run.count(|e| matches!(e, Effect::OpenTask { user, .. } if user == "bob")),
        1,
        "no return to A"
    );
    let y_adds = run.try_cmd(Command::AddSigner {
        task: a,
        actor: "bob".into(),
        position: SignerPosition::After,
        users: vec!["z".into()],
        comment: None,
    });
    assert!(y_adds.is_err());

    // Parallel on a 3-person 会签: 4 approvals needed.
    let mut run = Run::started(compile(DEAL), big());
    let l1 = run.task_of("l1");
    run.cmd(Command::AddSigner {
        task: l1,
        actor: "l1".into(),
        position: SignerPosition::Parallel,
        users: vec!["z".into()],
        comment: None,
    });
    for u in ["l1", "l2", "l3"] {
        run.approve(u);
    }
    assert!(run.audits("node_decided").is_empty());
    run.approve("z");
    assert_eq!(run.audits("node_decided").len(), 1);

    // Ratio node: `keep` keeps 3 approvals needed of 6; `recompute` needs ceil(0.6·6) = 4.
    for (policy, need) in [("keep", 3), ("recompute", 4)] {
        let flow = deal_with(|v| node_mut(v, "fin")["mode"]["on_add_signer"] = json!(policy));
        let mut run = Run::started(flow, big());
        let u1 = run.task_of("u1");
        run.cmd(Command::AddSigner {
            task: u1,
            actor: "u1".into(),
            position: SignerPosition::Parallel,
            users: vec!["u6".into()],
            comment: None,
        });
        let ni = run.state.nodes.iter().find(|n| n.node == "fin").unwrap();
        assert_eq!((ni.slots, ni.need), (6, need), "policy {policy}");
    }
}
