//! BPMN 2.0 interchange: round trip, standard modeler files, unsupported elements.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use serde_json::json;
use support::*;
use weft_flow::definition::{AssigneeRule, Mode, NodeKind};
use weft_flow::{CompiledFlow, Definition, Status, export_bpmn, import_bpmn};

fn without_layout(mut d: Definition) -> Definition {
    d.layout.clear();
    d
}

#[test]
fn export_import_round_trip_is_lossless() {
    let def = compile(DEAL).definition().clone();
    let xml = export_bpmn(&def);
    assert!(xml.contains("<bpmn:userTask id=\"mgr\""));
    assert!(xml.contains("bpmn:multiInstanceLoopCharacteristics isSequential=\"false\""));
    assert!(xml.contains("nrOfApproved / nrOfInstances &gt;= 0.6"));
    assert!(xml.contains(
        "<bpmn:boundaryEvent id=\"mgr__timer__sla\" attachedToRef=\"mgr\" cancelActivity=\"true\""
    ));
    assert!(xml.contains("<bpmn:terminateEventDefinition/>"));
    assert!(xml.contains("<bpmndi:BPMNShape id=\"mgr_di\" bpmnElement=\"mgr\">"));
    let back = import_bpmn(&xml).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(back.layout.get("mgr"), Some(&[320.0, 80.0]), "layout kept");
    assert_eq!(without_layout(back.clone()), without_layout(def.clone()));
    // Exporting the imported definition gives the same document.
    assert_eq!(
        export_bpmn(&back),
        export_bpmn(&Definition {
            layout: back.layout.clone(),
            ..def
        })
    );
}

#[test]
fn round_trip_of_every_node_kind() {
    let def: Definition = serde_json::from_value(json!({
        "schema": "crm.workflow/1", "key": "all_kinds", "name": {"en": "All <kinds> & more"},
        "nodes": [
            {"id": "start", "kind": "start", "form": {"editable": ["amount"]}},
            {"id": "or", "kind": "inclusive", "default": "o3"},
            {"id": "w1", "kind": "wait", "until": {"kind": "duration", "duration": "PT1H"}},
            {"id": "w2", "kind": "wait", "until": {"kind": "condition", "when": {"expr": "record.ok == true"}},
             "timers": [{"id": "giveup", "duration": "P1D", "interrupting": true}]},
            {"id": "w3", "kind": "wait", "until": {"kind": "field", "field": "due"}},
            {"id": "join", "kind": "inclusive"},
            {"id": "act", "kind": "action", "action": {"kind": "create_record", "object": "task", "values": {"title": "\"x\""}}},
            {"id": "end", "kind": "end"},
            {"id": "oops", "kind": "end", "outcome": "rejected"}],
        "edges": [
            {"id": "e0", "from": "start", "to": "or"},
            {"id": "o1", "from": "or", "to": "w1", "when": {"expr": "record.a < 3 && record.b != \"<x>\""}, "order": 2},
            {"id": "o2", "from": "or", "to": "w2", "when": {"expr": "record.b"}, "order": 1},
            {"id": "o3", "from": "or", "to": "w3"},
            {"id": "j1", "from": "w1", "to": "join"}, {"id": "j2", "from": "w2", "to": "join"}, {"id": "j3", "from": "w3", "to": "join"},
            {"id": "g", "from": "w2", "to": "oops", "on": "timer:giveup"},
            {"id": "e1", "from": "join", "to": "act"},
            {"id": "e2", "from": "act", "to": "end", "on": "done"},
            {"id": "e3", "from": "act", "to": "oops", "on": "error"}]
    }))
    .unwrap();
    CompiledFlow::compile(def.clone(), &RhaiCompiler::default()).unwrap();
    let back = import_bpmn(&export_bpmn(&def)).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(without_layout(back), def);
}

#[test]
fn imports_a_camunda_modeler_file() {
    let xml = include_str!("fixtures/camunda_modeler.bpmn");
    let def = import_bpmn(xml).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(def.key, "Process_deal");
    assert_eq!(def.layout.get("Task_mgr"), Some(&[370.0, 80.0]));
    let kind = |id: &str| &def.node(id).unwrap().kind;
    assert!(
        def.node("Gateway_mgr_outcome").is_none(),
        "outcome gateway collapsed into the task"
    );
    let NodeKind::Approval(mgr) = kind("Task_mgr") else {
        panic!()
    };
    assert_eq!(
        mgr.assignees,
        vec![AssigneeRule::Users {
            ids: vec!["bob".into()]
        }]
    );
    assert_eq!(mgr.timers[0].duration.as_deref(), Some("P3D"));
    let NodeKind::Approval(fin) = kind("Task_fin") else {
        panic!()
    };
    assert!(matches!(fin.mode, Mode::Ratio { approve_ratio, .. } if approve_ratio == 0.6));
    let NodeKind::Approval(legal) = kind("Task_legal") else {
        panic!()
    };
    assert_eq!(legal.mode, Mode::All);
    let edge = |id: &str| def.edges.iter().find(|e| e.id == id).unwrap();
    assert_eq!(
        edge("Flow_big").when.as_ref().unwrap().expr,
        "record.amount > 500000"
    );
    assert_eq!(
        (
            edge("Flow_mgr_ok").from.as_str(),
            edge("Flow_mgr_ok").on.as_deref()
        ),
        ("Task_mgr", Some("approved"))
    );
    assert_eq!(edge("Flow_mgr_rej").on.as_deref(), Some("rejected"));
    assert_eq!(
        (
            edge("Flow_sla").from.as_str(),
            edge("Flow_sla").on.as_deref()
        ),
        ("Task_mgr", Some("timer:Timer_sla"))
    );
    assert_eq!(edge("Flow_j1").on.as_deref(), Some("approved"));

    // The imported flow publishes and runs.
    let flow =
        CompiledFlow::compile(def, &RhaiCompiler::default()).unwrap_or_else(|p| panic!("{p:#?}"));
    let mut run = Run::started(flow, json!({"amount": 100}));
    run.approve("bob");
    run.run_actions();
    assert_eq!(run.status(), Status::Approved);
}

#[test]
fn unsupported_elements_are_all_reported() {
    let xml = r#"<?xml version="1.0"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <process id="p">
    <startEvent id="s"><signalEventDefinition/></startEvent>
    <subProcess id="sub"/>
    <subProcess id="esp" triggeredByEvent="true"/>
    <callActivity id="call"/>
    <complexGateway id="cx"/>
    <transaction id="tx"/>
    <intermediateCatchEvent id="msg"><messageEventDefinition/></intermediateCatchEvent>
    <intermediateThrowEvent id="link"><linkEventDefinition/></intermediateThrowEvent>
    <boundaryEvent id="b" attachedToRef="call"><signalEventDefinition/></boundaryEvent>
    <endEvent id="e"/>
  </process>
</definitions>"#;
    let problems = import_bpmn(xml).unwrap_err();
    let nodes: Vec<&str> = problems.iter().filter_map(|p| p.node.as_deref()).collect();
    for id in ["s", "sub", "esp", "call", "cx", "tx", "msg", "link", "b"] {
        assert!(nodes.contains(&id), "{id} not reported: {problems:#?}");
    }
    assert!(problems.iter().all(|p| p.code == "bpmn.unsupported"));
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("event sub-processes"))
    );
    assert_eq!(
        import_bpmn("<notbpmn/>").unwrap_err()[0].code,
        "bpmn.not_bpmn"
    );
    assert_eq!(
        import_bpmn("<definitions><process").unwrap_err()[0].code,
        "bpmn.xml"
    );
}

/// Writes the exported reference flow for external validators when `BPMN_OUT` is set.
#[test]
fn export_for_external_validation() {
    if let Some(path) = std::env::var_os("BPMN_OUT") {
        std::fs::write(path, export_bpmn(compile(DEAL).definition())).unwrap();
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Truncated or corrupted documents give problems, never a panic.
        #[test]
        fn import_of_mangled_exports(cut in 0.0..1.0f64, at in 0.0..1.0f64, junk in "[<>&\"a-z/= ]{0,12}") {
            let xml = export_bpmn(compile(DEAL).definition());
            let mut s: String = xml.chars().take((xml.chars().count() as f64 * cut) as usize).collect();
            let pos = s.char_indices().map(|(i, _)| i).nth((s.chars().count() as f64 * at) as usize).unwrap_or(s.len());
            s.insert_str(pos, &junk);
            let _ = import_bpmn(&s);
        }
    }
}
