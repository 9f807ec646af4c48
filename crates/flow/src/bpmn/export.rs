//! Definition → BPMN 2.0 XML.

use std::collections::{BTreeMap, VecDeque};

use serde_json::json;

use super::CRM_NS;
use super::xml::Writer;
use crate::definition::{
    Approval, AssigneeRule, Definition, Mode, Node, NodeKind, TimerSpec, WaitUntil,
};

const BPMN: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";

fn size(kind: &NodeKind) -> (f64, f64) {
    match kind {
        NodeKind::Start { .. } | NodeKind::End { .. } | NodeKind::Wait { .. } => (36.0, 36.0),
        NodeKind::Exclusive { .. } | NodeKind::Parallel {} | NodeKind::Inclusive { .. } => {
            (50.0, 50.0)
        }
        _ => (100.0, 80.0),
    }
}

/// Positions: the definition's layout, else a simple layered layout from the start node.
fn positions(def: &Definition) -> BTreeMap<String, [f64; 2]> {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut queue = VecDeque::new();
    for n in &def.nodes {
        if matches!(n.kind, NodeKind::Start { .. }) {
            depth.insert(&n.id, 0);
            queue.push_back(n.id.as_str());
        }
    }
    while let Some(id) = queue.pop_front() {
        let d = depth[id];
        for e in def.edges.iter().filter(|e| e.from == id) {
            if !depth.contains_key(e.to.as_str()) {
                depth.insert(&e.to, d + 1);
                queue.push_back(&e.to);
            }
        }
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for n in &def.nodes {
        let pos = match def.layout.get(&n.id) {
            Some(p) => *p,
            None => {
                let d = depth.get(n.id.as_str()).copied().unwrap_or(0);
                let row = rows.entry(d).or_insert(0);
                *row += 1;
                [100.0 + 180.0 * d as f64, 80.0 + 140.0 * (*row - 1) as f64]
            }
        };
        out.insert(n.id.clone(), pos);
    }
    out
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn timer_def(w: &mut Writer, t: &TimerSpec) {
    w.open("bpmn:timerEventDefinition", &[]);
    if let Some(d) = &t.duration {
        w.text_elem(
            "bpmn:timeDuration",
            &[("xsi:type", "bpmn:tFormalExpression")],
            d,
        );
    }
    if let Some(c) = &t.cycle {
        w.text_elem(
            "bpmn:timeCycle",
            &[("xsi:type", "bpmn:tFormalExpression")],
            c,
        );
    }
    if let Some(d) = &t.date {
        w.text_elem(
            "bpmn:timeDate",
            &[("xsi:type", "bpmn:tFormalExpression")],
            d,
        );
    }
    w.close("bpmn:timerEventDefinition");
}

fn ext(w: &mut Writer, tag: &str, json: &str) {
    w.open("bpmn:extensionElements", &[]);
    w.text_elem(tag, &[], json);
    w.close("bpmn:extensionElements");
}

/// Export a definition as BPMN 2.0 XML (with BPMNDI and crm extensions).
pub fn export_bpmn(def: &Definition) -> String {
    let mut w = Writer::default();
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let defs_id = format!("Definitions_{}", def.key);
    w.open(
        "bpmn:definitions",
        &[
            ("xmlns:bpmn", BPMN),
            ("xmlns:bpmndi", "http://www.omg.org/spec/BPMN/20100524/DI"),
            ("xmlns:dc", "http://www.omg.org/spec/DD/20100524/DC"),
            ("xmlns:di", "http://www.omg.org/spec/DD/20100524/DI"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("xmlns:camunda", "http://camunda.org/schema/1.0/bpmn"),
            ("xmlns:crm", CRM_NS),
            ("id", &defs_id),
            ("targetNamespace", CRM_NS),
            ("exporter", "weft-flow"),
        ],
    );
    let name = def.name.text().unwrap_or(&def.key).to_string();
    w.open(
        "bpmn:process",
        &[("id", &def.key), ("name", &name), ("isExecutable", "true")],
    );
    let header = json!({
        "schema": def.schema, "key": def.key, "version": def.version, "name": def.name,
        "object": def.object, "trigger": def.trigger, "settings": def.settings,
    });
    ext(&mut w, "crm:definition", &header.to_string());

    let syn = synthesize(def);
    for n in &def.nodes {
        write_node(&mut w, n);
    }
    write_synthetic(&mut w, def, &syn);
    let flows = write_flows(&mut w, def, &syn.outcome_gw);
    w.close("bpmn:process");
    write_diagram(&mut w, def, &syn, &flows);
    w.close("bpmn:definitions");
    w.out
}

/// Elements BPMN needs that a definition does not name: an outcome gateway after each
/// approval with a `rejected` edge, and boundary events for timers and action errors.
struct Synthetic<'a> {
    /// Approval node id → its outcome gateway's id.
    outcome_gw: BTreeMap<&'a str, String>,
    /// Boundary event id, the node it is attached to, and its timer (none: an error event).
    boundary: Vec<(String, &'a str, Option<&'a TimerSpec>)>,
}

fn synthesize(def: &Definition) -> Synthetic<'_> {
    let mut outcome_gw: BTreeMap<&str, String> = BTreeMap::new();
    let mut boundary: Vec<(String, &str, Option<&TimerSpec>)> = Vec::new();
    for n in &def.nodes {
        let outs: Vec<_> = def.edges.iter().filter(|e| e.from == n.id).collect();
        if let NodeKind::Approval(a) = &n.kind {
            if outs.iter().any(|e| e.on.as_deref() == Some("rejected")) {
                outcome_gw.insert(&n.id, format!("{}__outcome", n.id));
            }
            for t in &a.timers {
                boundary.push((format!("{}__timer__{}", n.id, t.id), &n.id, Some(t)));
            }
        }
        if let NodeKind::Wait { timers, .. } = &n.kind {
            for t in timers {
                boundary.push((format!("{}__timer__{}", n.id, t.id), &n.id, Some(t)));
            }
        }
        if matches!(n.kind, NodeKind::Action { .. })
            && outs.iter().any(|e| e.on.as_deref() == Some("error"))
        {
            boundary.push((format!("{}__error", n.id), &n.id, None));
        }
    }
    Synthetic {
        outcome_gw,
        boundary,
    }
}

/// One flow node with its crm extension, assignees and event definition.
fn write_node(w: &mut Writer, n: &Node) {
    let label = n.name.text().unwrap_or("").to_string();
    let mut attrs: Vec<(&str, &str)> = vec![("id", &n.id)];
    if !label.is_empty() {
        attrs.push(("name", &label));
    }
    let node_json = serde_json::to_string(n).unwrap_or_default();
    let (tag, default) = match &n.kind {
        NodeKind::Start { .. } => ("bpmn:startEvent", None),
        NodeKind::End { .. } => ("bpmn:endEvent", None),
        NodeKind::Exclusive { default } => ("bpmn:exclusiveGateway", default.as_deref()),
        NodeKind::Inclusive { default } => ("bpmn:inclusiveGateway", default.as_deref()),
        NodeKind::Parallel {} => ("bpmn:parallelGateway", None),
        NodeKind::Approval(_) => ("bpmn:userTask", None),
        NodeKind::Cc { .. } => ("bpmn:sendTask", None),
        NodeKind::Action { .. } => ("bpmn:serviceTask", None),
        NodeKind::Wait { .. } => ("bpmn:intermediateCatchEvent", None),
    };
    if let Some(d) = default {
        attrs.push(("default", d));
    }
    let (users, groups) = match &n.kind {
        NodeKind::Approval(a) => {
            let mut users = Vec::new();
            let mut groups = Vec::new();
            for r in &a.assignees {
                match r {
                    AssigneeRule::Users { ids } => users.extend(ids.iter().cloned()),
                    AssigneeRule::Role { role } => groups.push(role.clone()),
                    _ => {}
                }
            }
            (users.join(","), groups.join(","))
        }
        _ => (String::new(), String::new()),
    };
    if !users.is_empty() {
        attrs.push(("camunda:candidateUsers", &users));
    }
    if !groups.is_empty() {
        attrs.push(("camunda:candidateGroups", &groups));
    }
    w.open(tag, &attrs);
    ext(w, "crm:node", &node_json);
    match &n.kind {
        NodeKind::End {
            terminate: true, ..
        } => w.empty("bpmn:terminateEventDefinition", &[]),
        NodeKind::Approval(a) => multi_instance(w, &n.id, a),
        NodeKind::Wait { until, .. } => wait_definition(w, until),
        _ => {}
    }
    w.close(tag);
}

/// An approval as a multi-instance task: one instance per resolved assignee.
fn multi_instance(w: &mut Writer, node_id: &str, a: &Approval) {
    let seq = if a.mode == Mode::Sequential {
        "true"
    } else {
        "false"
    };
    let cond = match &a.mode {
        Mode::Any => Some("nrOfCompletedInstances >= 1".to_string()),
        Mode::Ratio { approve_ratio, .. } => {
            Some(format!("nrOfApproved / nrOfInstances >= {approve_ratio}"))
        }
        _ => None,
    };
    // One instance per resolved assignee (a runtime collection, as Camunda and
    // SpiffWorkflow expect it); the veto/ratio rule itself lives in crm:node.
    let item = format!("{node_id}_assignee");
    w.open(
        "bpmn:multiInstanceLoopCharacteristics",
        &[
            ("isSequential", seq),
            ("camunda:collection", "${assignees}"),
            ("camunda:elementVariable", "assignee"),
        ],
    );
    w.text_elem("bpmn:loopDataInputRef", &[], "assignees");
    w.empty("bpmn:inputDataItem", &[("id", &item), ("name", "assignee")]);
    if let Some(c) = cond {
        w.text_elem(
            "bpmn:completionCondition",
            &[("xsi:type", "bpmn:tFormalExpression")],
            &c,
        );
    }
    w.close("bpmn:multiInstanceLoopCharacteristics");
}

/// What a wait node waits for, as a timer or conditional event definition.
fn wait_definition(w: &mut Writer, until: &WaitUntil) {
    match until {
        WaitUntil::Duration { duration, .. } => {
            w.open("bpmn:timerEventDefinition", &[]);
            w.text_elem(
                "bpmn:timeDuration",
                &[("xsi:type", "bpmn:tFormalExpression")],
                duration,
            );
            w.close("bpmn:timerEventDefinition");
        }
        WaitUntil::Field { field } => {
            w.open("bpmn:timerEventDefinition", &[]);
            w.text_elem(
                "bpmn:timeDate",
                &[("xsi:type", "bpmn:tFormalExpression")],
                &format!("record.{field}"),
            );
            w.close("bpmn:timerEventDefinition");
        }
        WaitUntil::Condition { when } => {
            w.open("bpmn:conditionalEventDefinition", &[]);
            w.text_elem(
                "bpmn:condition",
                &[("xsi:type", "bpmn:tFormalExpression"), ("language", "rhai")],
                &when.expr,
            );
            w.close("bpmn:conditionalEventDefinition");
        }
    }
}

/// The synthesized outcome gateways and boundary events.
fn write_synthetic(w: &mut Writer, def: &Definition, syn: &Synthetic<'_>) {
    for (task, gw) in &syn.outcome_gw {
        let default = def
            .edges
            .iter()
            .find(|e| e.from == *task && e.on.as_deref() == Some("rejected"))
            .map(|e| e.id.clone())
            .unwrap_or_default();
        w.empty(
            "bpmn:exclusiveGateway",
            &[
                ("id", gw),
                ("default", &default),
                ("crm:synthetic", "outcome"),
            ],
        );
    }
    for (id, attached, timer) in &syn.boundary {
        match timer {
            Some(t) => {
                let cancel = if t.interrupting { "true" } else { "false" };
                w.open(
                    "bpmn:boundaryEvent",
                    &[
                        ("id", id),
                        ("attachedToRef", attached),
                        ("cancelActivity", cancel),
                        ("crm:synthetic", "timer"),
                        ("crm:timer", &t.id),
                    ],
                );
                timer_def(w, t);
                w.close("bpmn:boundaryEvent");
            }
            None => {
                w.open(
                    "bpmn:boundaryEvent",
                    &[
                        ("id", id),
                        ("attachedToRef", attached),
                        ("crm:synthetic", "error"),
                    ],
                );
                w.empty("bpmn:errorEventDefinition", &[]);
                w.close("bpmn:boundaryEvent");
            }
        }
    }
}

/// Sequence flows, rewired through the synthesized elements; returns (id, source, target) of
/// each for the diagram.
fn write_flows(
    w: &mut Writer,
    def: &Definition,
    outcome_gw: &BTreeMap<&str, String>,
) -> Vec<(String, String, String)> {
    let mut flows: Vec<(String, String, String)> = Vec::new();
    for (task, gw) in outcome_gw {
        let id = format!("{task}__to_outcome");
        w.empty(
            "bpmn:sequenceFlow",
            &[
                ("id", &id),
                ("sourceRef", task),
                ("targetRef", gw),
                ("crm:synthetic", "outcome"),
            ],
        );
        flows.push((id, task.to_string(), gw.clone()));
    }
    for e in &def.edges {
        let source = match e.on.as_deref() {
            Some("approved" | "rejected") if outcome_gw.contains_key(e.from.as_str()) => {
                outcome_gw[e.from.as_str()].clone()
            }
            Some(t) if t.starts_with("timer:") => format!("{}__timer__{}", e.from, &t[6..]),
            Some("error") => format!("{}__error", e.from),
            _ => e.from.clone(),
        };
        let label = e.name.text().unwrap_or("").to_string();
        let mut attrs: Vec<(&str, &str)> =
            vec![("id", &e.id), ("sourceRef", &source), ("targetRef", &e.to)];
        if !label.is_empty() {
            attrs.push(("name", &label));
        }
        w.open("bpmn:sequenceFlow", &attrs);
        ext(w, "crm:edge", &serde_json::to_string(e).unwrap_or_default());
        let cond = match (&e.when, e.on.as_deref()) {
            (Some(c), _) => Some(c.expr.clone()),
            (None, Some("approved")) if source != e.from => {
                Some("outcome == \"approved\"".to_string())
            }
            _ => None,
        };
        if let Some(c) = cond {
            w.text_elem(
                "bpmn:conditionExpression",
                &[("xsi:type", "bpmn:tFormalExpression"), ("language", "rhai")],
                &c,
            );
        }
        w.close("bpmn:sequenceFlow");
        flows.push((e.id.clone(), source, e.to.clone()));
    }
    flows
}

/// BPMNDI: a shape per element (the layout's positions, synthesized ones beside their node)
/// and a straight edge per flow.
fn write_diagram(
    w: &mut Writer,
    def: &Definition,
    syn: &Synthetic<'_>,
    flows: &[(String, String, String)],
) {
    let pos = positions(def);
    let mut shapes: BTreeMap<String, (f64, f64, f64, f64)> = BTreeMap::new();
    for n in &def.nodes {
        let [x, y] = pos[&n.id];
        let (wd, ht) = size(&n.kind);
        shapes.insert(n.id.clone(), (x, y, wd, ht));
    }
    for (task, gw) in &syn.outcome_gw {
        if let Some(&(x, y, wd, ht)) = shapes.get(*task) {
            shapes.insert(gw.clone(), (x + wd + 40.0, y + ht / 2.0 - 25.0, 50.0, 50.0));
        }
    }
    for (i, (id, attached, _)) in syn.boundary.iter().enumerate() {
        if let Some(&(x, y, _, ht)) = shapes.get(*attached) {
            shapes.insert(
                id.clone(),
                (x + 10.0 + 40.0 * (i % 2) as f64, y + ht - 18.0, 36.0, 36.0),
            );
        }
    }
    let plane = format!("BPMNPlane_{}", def.key);
    w.open(
        "bpmndi:BPMNDiagram",
        &[("id", &format!("BPMNDiagram_{}", def.key))],
    );
    w.open(
        "bpmndi:BPMNPlane",
        &[("id", &plane), ("bpmnElement", &def.key)],
    );
    for (id, (x, y, wd, ht)) in &shapes {
        w.open(
            "bpmndi:BPMNShape",
            &[("id", &format!("{id}_di")), ("bpmnElement", id)],
        );
        w.empty(
            "dc:Bounds",
            &[
                ("x", &num(*x)),
                ("y", &num(*y)),
                ("width", &num(*wd)),
                ("height", &num(*ht)),
            ],
        );
        w.close("bpmndi:BPMNShape");
    }
    for (id, s, t) in flows {
        let (Some(a), Some(b)) = (shapes.get(s), shapes.get(t)) else {
            continue;
        };
        w.open(
            "bpmndi:BPMNEdge",
            &[("id", &format!("{id}_di")), ("bpmnElement", id)],
        );
        w.empty(
            "di:waypoint",
            &[("x", &num(a.0 + a.2)), ("y", &num(a.1 + a.3 / 2.0))],
        );
        w.empty(
            "di:waypoint",
            &[("x", &num(b.0)), ("y", &num(b.1 + b.3 / 2.0))],
        );
        w.close("bpmndi:BPMNEdge");
    }
    w.close("bpmndi:BPMNPlane");
    w.close("bpmndi:BPMNDiagram");
}
