//! Versions and side effects: running instances keep their version, migration with a
//! mapping, idempotent actions and incidents (scenarios 23–25).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use weft_flow::command::AdminOp;
use weft_flow::{Command, CompiledFlow, Definition, Effect, Status, content_hash, plan_migration};

use crate::common::*;
use crate::support::*;

#[test]
fn s23_running_instance_keeps_its_version() {
    let v3 = compile(DEAL);
    let mut run = Run::started(v3, small());
    let v4 = deal_v4();
    // Publishing v4 does not touch I1: it continues on v3's graph.
    assert_ne!(v4.content_hash(), run.flow.content_hash());
    run.approve("bob");
    run.run_actions();
    assert_eq!(run.status(), Status::Approved);
    // New instances use v4.
    let mut new = Run::new(v4);
    new.start("alice", small());
    assert_eq!(new.positions(), vec!["mgr2"]);
    // Definitions are byte-identical after a JSON round trip (hash check).
    let def = run.flow.definition().clone();
    let again = Definition::from_json(&serde_json::to_string_pretty(&def).unwrap()).unwrap();
    assert_eq!(def.canonical_json(), again.canonical_json());
    assert_eq!(content_hash(&again), run.flow.content_hash());
}

fn deal_v4() -> CompiledFlow {
    let text = DEAL
        .replace("\"mgr\"", "\"mgr2\"")
        .replace("\"version\": 3", "\"version\": 4");
    compile(&text)
}

#[test]
fn s24_explicit_migration_with_mapping() {
    let v3 = compile(DEAL);
    let v4 = deal_v4();
    let run = Run::started(v3, small());
    let task = run.task_of("bob");
    let mapping: BTreeMap<String, String> = [("mgr".to_string(), "mgr2".to_string())].into();
    let migrated = plan_migration(&run.flow, &v4, &run.state, &mapping).expect("migration plan");
    assert_eq!(migrated.positions(), vec!["mgr2"]);
    assert_eq!(
        migrated.task(task).unwrap().user,
        "bob",
        "open task moved with its node instance"
    );
    assert_eq!(migrated.rev, run.state.rev + 1);
    // Continue on v4.
    let mut run4 = Run::new(v4);
    run4.state = migrated;
    run4.approve("bob");
    assert_eq!(run4.positions(), vec!["set_stage"]);

    // A mapping missing an active node rejects the whole migration.
    let problems = plan_migration(&run.flow, &run4.flow, &run.state, &BTreeMap::new()).unwrap_err();
    assert_eq!(
        problems.len(),
        1,
        "one problem per unmapped node: {problems:?}"
    );
    assert_eq!(problems[0].code, "migration.unmapped_node");
    assert_eq!(problems[0].node.as_deref(), Some("mgr"));
}

#[test]
fn s25_side_effects_are_idempotent_and_errors_become_incidents() {
    let mut run = Run::started(compile(DEAL), small());
    run.approve("bob");
    let (ni, key) = match run
        .last
        .iter()
        .find(|e| matches!(e, Effect::RunAction { node, .. } if node == "set_stage"))
    {
        Some(Effect::RunAction {
            ni,
            idempotency_key,
            ..
        }) => (*ni, idempotency_key.clone()),
        _ => panic!("set_stage not queued"),
    };
    run.cmd(Command::ActionDone {
        ni,
        result: Value::Null,
    });
    // A redelivered result after a crash is a no-op.
    let rev = run.state.rev;
    run.cmd(Command::ActionDone {
        ni,
        result: Value::Null,
    });
    assert_eq!(run.state.rev, rev);
    assert_eq!(run.actions_run("set_stage"), 1, "record update queued once");
    // hook: a retryable failure re-sends with the same key and a backoff.
    let hook_ni = run
        .state
        .nodes
        .iter()
        .find(|n| n.node == "hook")
        .unwrap()
        .id;
    run.cmd(Command::ActionFailed {
        ni: hook_ni,
        error: "receiver unavailable".into(),
        retryable: true,
    });
    let keys: Vec<(String, u32)> = run
        .log
        .iter()
        .filter_map(|e| match e {
            Effect::RunAction {
                node,
                idempotency_key,
                attempt,
                ..
            } if node == "hook" => Some((idempotency_key.clone(), *attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].0, keys[1].0, "same Idempotency-Key across attempts");
    assert_eq!((keys[0].1, keys[1].1), (1, 2));
    assert_ne!(key, keys[0].0);
    // A non-retryable failure without an error edge → incident, admin skip continues.
    run.cmd(Command::ActionFailed {
        ni: hook_ni,
        error: "receiver refused the payload".into(),
        retryable: false,
    });
    assert_eq!(run.status(), Status::Incident);
    let inc = run.state.incidents[0].id;
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Skip {
            incident: inc,
            edge: None,
        },
    });
    assert_eq!(run.status(), Status::Approved);

    // A rhai runtime error in a condition is an incident, not a panic.
    let flow =
        deal_with(|v| v["edges"][1]["when"]["expr"] = json!("record.amount / record.n > 500000"));
    let mut run = Run::started(flow, json!({"amount": 5, "n": 0}));
    assert_eq!(run.state.incidents[0].code, "condition.error");
    run.cmd(Command::RecordChanged {
        record: json!({"amount": 5, "n": 1}),
    });
    let inc = run.state.incidents[0].id;
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Retry { incident: inc },
    });
    assert_eq!(run.positions(), vec!["mgr"]);
}
