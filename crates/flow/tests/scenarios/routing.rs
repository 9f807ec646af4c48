//! Routing: exclusive gateways and their order, incidents on no match, parallel and
//! inclusive forks and joins (scenarios 1–4, 12, 13).

use chrono::Duration;
use serde_json::json;
use weft_flow::command::{AdminOp, NotifyKind};
use weft_flow::{Command, CompiledFlow, Effect, Status, TaskStatus};

use crate::common::*;
use crate::support::*;

#[test]
fn s01_xor_routing_and_default() {
    // (record, expected positions, edge taken)
    let cases = [
        (big(), vec!["fin", "legal"], "e_big"),
        (small(), vec!["mgr"], "e_small"),
    ];
    for (record, positions, edge) in cases {
        let run = Run::started(compile(DEAL), record);
        assert_eq!(run.positions(), positions);
        assert_eq!(
            taken(&run, "route"),
            vec![edge.to_string()],
            "exactly one out-edge taken"
        );
        let evaluated = &run.audits("gateway_evaluated")[0];
        let Effect::Audit { data, .. } = evaluated else {
            unreachable!()
        };
        assert_eq!(
            data["conditions"][0]["edge"], "e_big",
            "the audit shows the evaluated condition"
        );
    }
}

fn xor_flow(default: bool, reversed_order: bool) -> CompiledFlow {
    let (o1, o2) = if reversed_order { (2, 1) } else { (1, 2) };
    let mut v = json!({
        "schema": "crm.workflow/1", "key": "xor",
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "exclusive"},
            {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ua"]}]},
            {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ub"]}]},
            {"id": "end", "kind": "end"}],
        "edges": [
            {"id": "e0", "from": "start", "to": "route"},
            {"id": "to_b", "from": "route", "to": "b", "order": o2, "when": {"expr": "record.amount > 10"}},
            {"id": "to_a", "from": "route", "to": "a", "order": o1, "when": {"expr": "record.amount > 5"}},
            {"id": "a_end", "from": "a", "to": "end", "on": "approved"},
            {"id": "b_end", "from": "b", "to": "end", "on": "approved"}]
    });
    if default {
        v["nodes"][1]["default"] = json!("to_c");
        v["nodes"].as_array_mut().unwrap().push(
            json!({"id": "c", "kind": "approval", "assignees": [{"kind": "users", "ids": ["uc"]}]}),
        );
        v["edges"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "to_c", "from": "route", "to": "c"}));
        v["edges"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "c_end", "from": "c", "to": "end", "on": "approved"}));
    }
    compile(&v.to_string())
}

#[test]
fn s02_xor_no_match_is_an_incident_and_admin_retry_proceeds() {
    let mut run = Run::started(xor_flow(false, false), json!({"amount": 1}));
    assert_eq!(run.status(), Status::Incident);
    let inc = run.state.incidents[0].clone();
    assert_eq!(
        (inc.code.as_str(), inc.node.as_str()),
        ("gateway.no_matching_flow", "route")
    );
    assert_eq!(run.state.open_tasks().count(), 0, "nothing else happens");
    assert!(run.count(|e| matches!(e, Effect::Incident { .. })) == 1);
    // Retrying without fixing the data raises a fresh incident; after fixing it proceeds.
    run.cmd(Command::RecordChanged {
        record: json!({"amount": 7}),
    });
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Retry { incident: inc.id },
    });
    assert_eq!(run.status(), Status::Running);
    assert_eq!(run.open_users(), vec!["ua"]);
    // The same incident cannot be retried twice.
    let again = run.try_cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Retry { incident: inc.id },
    });
    assert_eq!(again.unwrap_err().code(), "flow.incident_not_found");
}

#[test]
fn s02b_admin_skip_and_cancel() {
    let mut run = Run::started(xor_flow(false, false), json!({"amount": 1}));
    let id = run.state.incidents[0].id;
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Skip {
            incident: id,
            edge: Some("to_b".into()),
        },
    });
    assert_eq!(run.open_users(), vec!["ub"]);
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Cancel { reason: None },
    });
    assert_eq!(run.status(), Status::Terminated);
    assert!(run.last.contains(&Effect::CancelPendingActions));
}

#[test]
fn s03_condition_order_first_true_wins() {
    for reversed in [false, true] {
        let run = Run::started(xor_flow(true, reversed), json!({"amount": 50}));
        let expected = if reversed { "ub" } else { "ua" };
        assert_eq!(
            run.open_users(),
            vec![expected],
            "order-1 edge taken (reversed={reversed})"
        );
    }
}

fn to_join(run: &mut Run, legal_first: bool) {
    let legal = ["l1", "l2", "l3"];
    let fin = ["u1", "u2", "u3"];
    let (first, second): (&[&str], &[&str]) = if legal_first {
        (&legal, &fin)
    } else {
        (&fin, &legal)
    };
    for u in first {
        run.approve(u);
    }
    assert_eq!(
        run.actions_run("notify_dir"),
        0,
        "join waits for the other branch"
    );
    for u in &second[..second.len() - 1] {
        run.approve(u);
        assert_eq!(run.actions_run("notify_dir"), 0);
    }
    run.approve(second[second.len() - 1]);
}

#[test]
fn s04_parallel_fork_join_either_order() {
    for legal_first in [true, false] {
        let mut run = Run::started(compile(DEAL), big());
        to_join(&mut run, legal_first);
        assert_eq!(run.audits("join_fired").len(), 1);
        assert_eq!(run.actions_run("notify_dir"), 1, "notify_dir exactly once");
        run.run_actions();
        assert_eq!(run.status(), Status::Approved);
        assert_eq!(run.actions_run("notify_dir"), 1);
        assert!(run.state.joins.is_empty());
    }
}

#[test]
fn s12_parallel_join_after_one_branch_rejected() {
    let mut run = Run::started(compile(DEAL), big());
    let fin_tasks: Vec<u32> = ["u1", "u2", "u3", "u4", "u5"]
        .iter()
        .map(|u| run.task_of(u))
        .collect();
    run.reject("l1");
    assert_eq!(run.status(), Status::Rejected);
    for t in fin_tasks {
        assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
    }
    assert!(run.audits("join_fired").is_empty());
    assert_eq!(run.actions_run("notify_dir") + run.actions_run("hook"), 0);
    assert_eq!(
        run.count(|e| matches!(
            e,
            Effect::Notify {
                kind: NotifyKind::Rejected,
                ..
            }
        )),
        1
    );
    assert_eq!(run.count(|e| matches!(e, Effect::Completed { .. })), 1);
    assert!(
        run.state.tokens.is_empty() && run.state.joins.is_empty() && run.state.timers.is_empty()
    );
}

fn inclusive_flow() -> CompiledFlow {
    compile(
        &json!({
            "schema": "crm.workflow/1", "key": "incl",
            "nodes": [
                {"id": "start", "kind": "start"},
                {"id": "split", "kind": "inclusive"},
                {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ua"]}]},
                {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ub"]}],
                 "timers": [{"id": "to", "duration": "PT2H", "interrupting": true}]},
                {"id": "c", "kind": "approval", "assignees": [{"kind": "users", "ids": ["uc"]}]},
                {"id": "ijoin", "kind": "inclusive"},
                {"id": "late", "kind": "cc", "recipients": [{"kind": "initiator"}]},
                {"id": "end_late", "kind": "end"},
                {"id": "end", "kind": "end"}],
            "edges": [
                {"id": "e0", "from": "start", "to": "split"},
                {"id": "s1", "from": "split", "to": "a", "when": {"expr": "true"}},
                {"id": "s2", "from": "split", "to": "b", "when": {"expr": "record.x > 1"}},
                {"id": "s3", "from": "split", "to": "c", "when": {"expr": "record.x > 5"}},
                {"id": "j1", "from": "a", "to": "ijoin", "on": "approved"},
                {"id": "j2", "from": "b", "to": "ijoin", "on": "approved"},
                {"id": "j3", "from": "c", "to": "ijoin", "on": "approved"},
                {"id": "tb", "from": "b", "to": "late", "on": "timer:to"},
                {"id": "tl", "from": "late", "to": "end_late"},
                {"id": "e9", "from": "ijoin", "to": "end"}]
        })
        .to_string(),
    )
}

#[test]
fn s13_inclusive_join_skips_dead_branches() {
    for timer_first in [true, false] {
        let mut run = Run::started(inclusive_flow(), json!({"x": 3}));
        assert_eq!(
            run.open_users(),
            vec!["ua", "ub"],
            "2 of 3 branches selected"
        );
        if timer_first {
            run.advance(Duration::hours(3));
            assert!(run.audits("join_fired").is_empty());
            run.approve("ua");
        } else {
            run.approve("ua");
            assert!(
                run.audits("join_fired").is_empty(),
                "b can still reach the join"
            );
            run.advance(Duration::hours(3));
        }
        assert_eq!(
            run.audits("join_fired").len(),
            1,
            "join fired once no live token could reach it"
        );
        assert_eq!(run.status(), Status::Approved);
    }
    // All selected branches arrive: the join fires on the last arrival.
    let mut run = Run::started(inclusive_flow(), json!({"x": 3}));
    run.approve("ub");
    run.approve("ua");
    assert_eq!(run.status(), Status::Approved);
}
