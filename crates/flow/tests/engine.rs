//! Engine behaviour beyond the numbered scenarios: wait nodes, action error routes, returns to
//! intermediate nodes, self-approval, initiator-chosen assignees, urging, command errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::{Value, json};
use support::*;
use weft_flow::command::NotifyKind;
use weft_flow::{Command, CommandError, CompiledFlow, Effect, InstanceState, Status, apply};

fn flow(nodes: Value, edges: Value, settings: Value) -> CompiledFlow {
    compile(&json!({"schema": "crm.workflow/1", "key": "t", "settings": settings, "nodes": nodes, "edges": edges}).to_string())
}

fn wait_flow(until: Value) -> CompiledFlow {
    flow(
        json!([{"id": "start", "kind": "start"}, {"id": "w", "kind": "wait", "until": until}, {"id": "end", "kind": "end"}]),
        json!([{"id": "e0", "from": "start", "to": "w"}, {"id": "e1", "from": "w", "to": "end"}]),
        json!({}),
    )
}

#[test]
fn wait_for_a_duration() {
    let mut run = Run::started(
        wait_flow(json!({"kind": "duration", "duration": "PT2H"})),
        json!({}),
    );
    assert_eq!(run.positions(), vec!["w"]);
    assert_eq!(run.state.timers[0].due, t0() + Duration::hours(2));
    run.advance(Duration::hours(1));
    assert_eq!(run.status(), Status::Running);
    run.advance(Duration::hours(1));
    assert_eq!(run.status(), Status::Approved);
}

#[test]
fn wait_until_a_record_date_follows_record_changes() {
    let mut run = Run::started(
        wait_flow(json!({"kind": "field", "field": "due"})),
        json!({"due": "2026-01-03"}),
    );
    let first = run.state.timers[0].clone();
    run.cmd(Command::RecordChanged {
        record: json!({"due": "2026-01-05T00:00:00Z"}),
    });
    assert!(run.last.contains(&Effect::CancelTimer { timer: first.id }));
    assert_eq!(
        run.state.timers[0].due.to_rfc3339(),
        "2026-01-05T00:00:00+00:00"
    );
    run.advance(Duration::days(5));
    assert_eq!(run.status(), Status::Approved);
    // A missing date is an incident, not a silent hang.
    let run = Run::started(
        wait_flow(json!({"kind": "field", "field": "due"})),
        json!({}),
    );
    assert_eq!(run.state.incidents[0].code, "wait.invalid_date");
}

#[test]
fn wait_until_a_condition_rechecks_on_record_change() {
    let mut run = Run::started(
        wait_flow(json!({"kind": "condition", "when": {"expr": "record.paid == true"}})),
        json!({"paid": false}),
    );
    assert_eq!(run.positions(), vec!["w"]);
    run.cmd(Command::RecordChanged {
        record: json!({"paid": false, "x": 1}),
    });
    assert_eq!(run.positions(), vec!["w"]);
    run.cmd(Command::RecordChanged {
        record: json!({"paid": true}),
    });
    assert_eq!(run.status(), Status::Approved);
    // Already true at entry: passes straight through.
    let run = Run::started(
        wait_flow(json!({"kind": "condition", "when": {"expr": "record.paid == true"}})),
        json!({"paid": true}),
    );
    assert_eq!(run.status(), Status::Approved);
}

#[test]
fn action_error_edge_after_retries() {
    let f = flow(
        json!([{"id": "start", "kind": "start"},
               {"id": "hook", "kind": "action", "action": {"kind": "webhook", "url": "https://x.example/h"}, "retry": {"max": 1, "backoff": "constant", "initial": "PT1M"}},
               {"id": "ok", "kind": "end"}, {"id": "bad", "kind": "end", "outcome": "rejected"}]),
        json!([{"id": "e0", "from": "start", "to": "hook"}, {"id": "e1", "from": "hook", "to": "ok", "on": "done"},
               {"id": "e2", "from": "hook", "to": "bad", "on": "error"}]),
        json!({}),
    );
    let mut run = Run::started(f, json!({}));
    let ni = run.state.nodes[0].id;
    run.cmd(Command::ActionFailed {
        ni,
        error: "receiver unavailable".into(),
        retryable: true,
    });
    assert!(run.last.iter().any(|e| matches!(e, Effect::RunAction { attempt: 2, not_before: Some(t), .. } if *t == t0() + Duration::minutes(1))));
    run.cmd(Command::ActionFailed {
        ni,
        error: "receiver unavailable".into(),
        retryable: true,
    });
    assert_eq!(
        run.status(),
        Status::Rejected,
        "retries exhausted → error edge"
    );
    // Unknown node instances are refused; finished instances ignore late results.
    assert_eq!(
        run.try_cmd(Command::ActionDone {
            ni,
            result: Value::Null
        }),
        Ok(())
    );
}

#[test]
fn return_to_an_intermediate_node_restarts_it() {
    let mut run = Run::started(compile(DEAL), json!({"amount": 1}));
    run.advance(Duration::days(7));
    let t = run.task_of("d1");
    run.cmd(Command::Return {
        task: t,
        actor: "d1".into(),
        to_node: "mgr".into(),
        comment: None,
    });
    assert_eq!(run.positions(), vec!["mgr"]);
    assert_eq!(run.open_users(), vec!["bob"], "mgr's people approve again");
    assert_eq!(run.state.timers.len(), 2, "mgr's timers rescheduled");
}

#[test]
fn self_approval_and_initiator_chosen_assignees() {
    let nodes = json!([{"id": "start", "kind": "start"},
        {"id": "a", "kind": "approval", "assignees": [{"kind": "initiator_chooses"}, {"kind": "users", "ids": ["alice"]}], "mode": {"kind": "all"}},
        {"id": "end", "kind": "end"}]);
    let edges = json!([{"id": "e0", "from": "start", "to": "a"}, {"id": "e1", "from": "a", "to": "end", "on": "approved"}]);
    let mut run = Run::new(flow(
        nodes.clone(),
        edges.clone(),
        json!({"self_approval": "skip"}),
    ));
    run.cmd(Command::Start {
        initiator: "alice".into(),
        initiator_attrs: json!({"dept": "sales"}),
        record: json!({}),
        chosen: BTreeMap::from([("a".to_string(), vec!["pat".to_string()])]),
        vars: Default::default(),
    });
    assert_eq!(run.open_users(), vec!["pat"], "alice's own slot is skipped");
    assert!(
        matches!(run.audits("auto_approved")[0], Effect::Audit { data, .. } if data["reason"] == "self_approval")
    );
    run.approve("pat");
    assert_eq!(run.status(), Status::Approved);

    let mut run = Run::new(flow(nodes, edges, json!({"self_approval": "forbid"})));
    run.start("alice", json!({}));
    assert_eq!(
        run.state.incidents[0].code, "approval.no_assignees",
        "alice removed, nobody chosen"
    );
}

#[test]
fn urge_comment_and_command_errors() {
    let mut run = Run::started(compile(DEAL), json!({"amount": 1}));
    run.cmd(Command::Urge {
        actor: "alice".into(),
        comment: Some("please".into()),
    });
    assert!(run.last.contains(&Effect::Notify {
        kind: NotifyKind::Urge,
        users: vec!["bob".into()],
        node: None,
        template: None
    }));
    assert_eq!(
        run.try_cmd(Command::Urge {
            actor: "bob".into(),
            comment: None
        }),
        Err(CommandError::NotInitiator)
    );
    run.cmd(Command::Comment {
        actor: "bob".into(),
        text: "looking".into(),
        task: None,
    });
    assert_eq!(run.audits("commented").len(), 1);
    let start = Command::Start {
        initiator: "a".into(),
        initiator_attrs: Value::Null,
        record: json!({}),
        chosen: BTreeMap::new(),
        vars: Default::default(),
    };
    assert_eq!(run.try_cmd(start), Err(CommandError::AlreadyStarted));
    assert_eq!(
        run.try_cmd(Command::ActionDone {
            ni: 999,
            result: Value::Null
        }),
        Err(CommandError::UnknownNodeInstance(999))
    );
    let fresh = InstanceState::new("x");
    let err = apply(
        &run.flow,
        &fresh,
        Command::Urge {
            actor: "a".into(),
            comment: None,
        },
        run.now,
        &run.env,
    )
    .unwrap_err();
    assert_eq!(err, CommandError::NotStarted);
    run.cmd(Command::Withdraw {
        actor: "alice".into(),
        comment: None,
    });
    assert_eq!(
        run.try_cmd(Command::Urge {
            actor: "alice".into(),
            comment: None
        })
        .unwrap_err()
        .code(),
        "flow.finished"
    );
}

#[test]
fn catch_up_all_fires_every_missed_occurrence() {
    let f = deal_with(|v| {
        node_mut(v, "mgr")["timers"][0]["cycle"] = json!("R5/PT1H");
        node_mut(v, "mgr")["timers"][0]["catch_up"] = json!("all");
    });
    let mut run = Run::started(f, json!({"amount": 1}));
    run.now = t0() + Duration::minutes(210);
    run.advance_to(run.now);
    let reminders = run.count(|e| {
        matches!(
            e,
            Effect::Notify {
                kind: NotifyKind::Reminder,
                ..
            }
        )
    });
    assert_eq!(reminders, 3);
}

#[test]
fn terminating_end_cancels_undelivered_actions_of_other_branches() {
    let f = flow(
        json!([{"id": "start", "kind": "start"}, {"id": "fork", "kind": "parallel"},
               {"id": "hook", "kind": "action", "action": {"kind": "webhook", "url": "https://x.example/h"}},
               {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ann"]}]},
               {"id": "join", "kind": "parallel"}, {"id": "end", "kind": "end"},
               {"id": "rej", "kind": "end", "outcome": "rejected", "terminate": true}]),
        json!([{"id": "e0", "from": "start", "to": "fork"}, {"id": "f1", "from": "fork", "to": "hook"},
               {"id": "f2", "from": "fork", "to": "a"}, {"id": "j1", "from": "hook", "to": "join"},
               {"id": "j2", "from": "a", "to": "join", "on": "approved"}, {"id": "r", "from": "a", "to": "rej", "on": "rejected"},
               {"id": "e9", "from": "join", "to": "end"}]),
        json!({}),
    );
    let mut run = Run::started(f, json!({}));
    let hook = run
        .state
        .nodes
        .iter()
        .find(|n| n.node == "hook")
        .unwrap()
        .id;
    run.reject("ann");
    assert_eq!(run.status(), Status::Rejected);
    assert!(run.last.contains(&Effect::CancelPendingActions));
    // The webhook's late result is a harmless no-op.
    let rev = run.state.rev;
    run.cmd(Command::ActionDone {
        ni: hook,
        result: Value::Null,
    });
    assert_eq!(run.state.rev, rev);
}
