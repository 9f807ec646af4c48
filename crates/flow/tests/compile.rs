//! Publish-time checks: every problem reported at once, with stable codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use serde_json::json;
use support::*;
use weft_flow::{CompiledFlow, Definition, field_access};

fn problems(v: serde_json::Value) -> Vec<(String, Option<String>, Option<String>)> {
    let def: Definition = serde_json::from_value(v).expect("parses");
    match CompiledFlow::compile(def, &RhaiCompiler::default()) {
        Ok(_) => vec![],
        Err(p) => p
            .into_iter()
            .map(|p| (p.code.to_string(), p.node, p.edge))
            .collect(),
    }
}

fn codes(v: serde_json::Value) -> Vec<String> {
    let mut c: Vec<String> = problems(v).into_iter().map(|p| p.0).collect();
    c.sort();
    c.dedup();
    c
}

#[test]
fn the_reference_definition_compiles() {
    let flow = compile(DEAL);
    assert_eq!(flow.content_hash().len(), 64);
    assert_eq!(flow.definition().nodes.len(), 14);
}

#[test]
fn every_problem_is_reported_at_once() {
    let v = json!({
        "schema": "crm.workflow/1", "key": "bad",
        "nodes": [
            {"id": "s1", "kind": "start"},
            {"id": "s2", "kind": "start"},
            {"id": "x", "kind": "exclusive"},
            {"id": "p", "kind": "parallel"},
            {"id": "a", "kind": "approval", "assignees": [], "ops": {"return_to": ["nowhere", "b"]},
             "timers": [{"id": "t", "duration": "P1M", "interrupting": true}]},
            {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": ["u"]}]},
            {"id": "loop1", "kind": "exclusive", "default": "l2"},
            {"id": "loop2", "kind": "action", "action": {"kind": "notify", "to": [{"kind": "role", "role": "r"}], "template": "{{oops"}},
            {"id": "island", "kind": "cc", "recipients": [{"kind": "initiator"}]},
            {"id": "end", "kind": "end"}],
        "edges": [
            {"id": "e1", "from": "s1", "to": "x"},
            {"id": "e2", "from": "x", "to": "p", "when": {"expr": "record.a >"}},
            {"id": "e3", "from": "x", "to": "a"},
            {"id": "e4", "from": "p", "to": "b", "when": {"expr": "true"}},
            {"id": "e5", "from": "p", "to": "end"},
            {"id": "e6", "from": "a", "to": "end", "on": "approved"},
            {"id": "e7", "from": "b", "to": "end", "on": "maybe"},
            {"id": "e8", "from": "b", "to": "loop1", "on": "approved"},
            {"id": "l1", "from": "loop1", "to": "loop2", "when": {"expr": "true"}},
            {"id": "l2", "from": "loop1", "to": "end"},
            {"id": "l3", "from": "loop2", "to": "loop1"},
            {"id": "e9", "from": "ghost", "to": "end"}]
    });
    let found = codes(v);
    for expected in [
        "start.count",
        "condition.compile",
        "gateway.incomplete_conditions",
        "parallel.conditional_edge",
        "approval.no_assignees",
        "return_to.unknown",
        "return_to.not_ancestor",
        "timer.invalid",
        "edge.invalid_on",
        "cycle.no_wait_state",
        "template.compile",
        "node.unreachable",
        "node.dead_end",
        "edge.unknown_node",
    ] {
        assert!(
            found.contains(&expected.to_string()),
            "missing {expected} in {found:?}"
        );
    }
}

#[test]
fn structural_rules() {
    let base = |nodes: serde_json::Value, edges: serde_json::Value| json!({"schema": "crm.workflow/1", "key": "k", "nodes": nodes, "edges": edges});
    // Join with a single input and a single output is degenerate; a missing end is reported.
    let c = codes(base(
        json!([{"id": "s", "kind": "start"}, {"id": "j", "kind": "parallel"}]),
        json!([{"id": "e", "from": "s", "to": "j"}]),
    ));
    assert!(
        c.contains(&"end.missing".into()) && c.contains(&"gateway.degenerate".into()),
        "{c:?}"
    );
    // An approval needs an approved edge; timer edges need an interrupting timer of that id.
    let c = codes(base(
        json!([{"id": "s", "kind": "start"},
               {"id": "a", "kind": "approval", "assignees": [{"kind": "initiator"}],
                "timers": [{"id": "r", "cycle": "R2/PT1H"}]},
               {"id": "e", "kind": "end"}]),
        json!([{"id": "e1", "from": "s", "to": "a"}, {"id": "e2", "from": "a", "to": "e", "on": "timer:r"}]),
    ));
    assert!(
        c.contains(&"approval.no_approved_edge".into()) && c.contains(&"edge.invalid_on".into()),
        "{c:?}"
    );
    // Interrupting timer without a route; an exclusive default that is not an out-edge.
    let c = codes(base(
        json!([{"id": "s", "kind": "start"},
               {"id": "x", "kind": "exclusive", "default": "nope"},
               {"id": "a", "kind": "approval", "assignees": [{"kind": "initiator"}],
                "timers": [{"id": "t", "duration": "PT1H", "interrupting": true}]},
               {"id": "e", "kind": "end"}]),
        json!([{"id": "e1", "from": "s", "to": "x"},
               {"id": "e2", "from": "x", "to": "a", "when": {"expr": "true"}},
               {"id": "e3", "from": "x", "to": "e", "when": {"expr": "false"}},
               {"id": "e4", "from": "a", "to": "e", "on": "approved"}]),
    ));
    assert_eq!(
        c,
        vec![
            "gateway.default_unknown".to_string(),
            "timer.no_route".to_string()
        ]
    );
    // A loop through an approval node is fine (a human step breaks it).
    let c = codes(base(
        json!([{"id": "s", "kind": "start"},
               {"id": "x", "kind": "exclusive", "default": "out"},
               {"id": "a", "kind": "approval", "assignees": [{"kind": "initiator"}]},
               {"id": "e", "kind": "end"}]),
        json!([{"id": "e1", "from": "s", "to": "x"},
               {"id": "back", "from": "x", "to": "a", "when": {"expr": "record.again"}},
               {"id": "out", "from": "x", "to": "e"},
               {"id": "e4", "from": "a", "to": "x", "on": "approved"}]),
    ));
    assert!(c.is_empty(), "{c:?}");
}

#[test]
fn typos_are_caught_by_the_parser() {
    let text = DEAL.replace(
        "\"mode\": {\"kind\": \"all\"}",
        "\"mood\": {\"kind\": \"all\"}",
    );
    let err = Definition::from_json(&text).unwrap_err().to_string();
    assert!(err.contains("legal") && err.contains("mood"), "{err}");
    let text = DEAL.replace("\"crm.workflow/1\"", "\"crm.workflow/9\"");
    let def = Definition::from_json(&text).unwrap();
    let p = CompiledFlow::compile(def, &RhaiCompiler::default()).unwrap_err();
    assert_eq!(p[0].code, "schema.unsupported");
}

#[test]
fn content_hash_is_stable_and_sensitive() {
    let a = compile(DEAL);
    let b = compile(DEAL);
    assert_eq!(a.content_hash(), b.content_hash());
    let c = compile(
        &DEAL
            .replace("500000 &&", "500001 &&")
            .replace("record.amount > 500000\"}}", "record.amount > 500001\"}}"),
    );
    assert_ne!(a.content_hash(), c.content_hash());
    // Labels: a plain string is the zh label.
    let mgr = a.definition().node("mgr").unwrap();
    assert_eq!(mgr.name.zh.as_deref(), Some("直属主管"));
}

#[test]
fn field_access_follows_the_current_node() {
    use weft_flow::Access;
    let run = Run::started(compile(DEAL), serde_json::json!({"amount": 1}));
    let bob = field_access(&run.flow, &run.state, Some("bob"));
    assert!(bob.locked);
    assert_eq!(bob.access("discount"), Access::Editable);
    assert_eq!(bob.access("amount"), Access::ReadOnly);
    assert_eq!(bob.access("cost"), Access::Hidden);
    let other = field_access(&run.flow, &run.state, Some("eve"));
    assert_eq!(other.access("discount"), Access::ReadOnly);
    let viewer = field_access(&run.flow, &run.state, None);
    assert_eq!(viewer.access("cost"), Access::Hidden);
}

#[test]
fn return_targets_cannot_restart_one_branch_behind_a_join() {
    // ceo (after the join) may return to start, not into the legal branch.
    let v = |target: &str| {
        json!({"schema": "crm.workflow/1", "key": "k",
            "nodes": [{"id": "start", "kind": "start"}, {"id": "fork", "kind": "parallel"},
                {"id": "legal", "kind": "approval", "assignees": [{"kind": "initiator"}]},
                {"id": "fin", "kind": "approval", "assignees": [{"kind": "initiator"}]},
                {"id": "join", "kind": "parallel"},
                {"id": "ceo", "kind": "approval", "assignees": [{"kind": "initiator"}], "ops": {"return_to": [target]}},
                {"id": "end", "kind": "end"}],
            "edges": [{"id": "e0", "from": "start", "to": "fork"}, {"id": "f1", "from": "fork", "to": "legal"},
                {"id": "f2", "from": "fork", "to": "fin"}, {"id": "j1", "from": "legal", "to": "join", "on": "approved"},
                {"id": "j2", "from": "fin", "to": "join", "on": "approved"}, {"id": "e1", "from": "join", "to": "ceo"},
                {"id": "e2", "from": "ceo", "to": "end", "on": "approved"}]})
    };
    assert!(codes(v("start")).is_empty());
    assert_eq!(
        codes(v("legal")),
        vec!["return_to.crosses_join".to_string()]
    );
}
