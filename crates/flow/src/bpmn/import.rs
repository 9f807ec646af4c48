//! BPMN 2.0 XML → Definition, for the supported subset.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::xml::{Element, parse};
use crate::compile::Problem;
use crate::definition::{
    Action, Approval, AssigneeRule, Condition, Definition, Edge, Label, Mode, Node, NodeKind,
    OnEmpty, Ops, Outcome, SCHEMA, Settings, ThresholdPolicy, TimerSpec, Trigger, WaitUntil,
};

#[derive(Deserialize, Default)]
struct Header {
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    version: u32,
    #[serde(default)]
    name: Label,
    #[serde(default)]
    object: String,
    #[serde(default)]
    trigger: Option<Trigger>,
    #[serde(default)]
    settings: Settings,
}

/// The crm extension payload (`<crm:node>{json}</crm:node>`) of an element, if any.
fn crm_json<'a>(el: &'a Element, tag: &str) -> Option<&'a str> {
    el.child("extensionElements")?
        .children
        .iter()
        .find(|c| c.name == tag && c.prefix == "crm")
        .map(|c| c.text.trim())
}

fn label(el: &Element) -> Label {
    match el.attr("name") {
        Some(n) if !n.trim().is_empty() => Label {
            zh: Some(n.to_string()),
            en: None,
        },
        _ => Label::default(),
    }
}

/// `= a > 5` (FEEL) and `${a > 5}` (JUEL) → `a > 5`.
fn expression(text: &str) -> String {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix("${").and_then(|x| x.strip_suffix('}')) {
        return inner.trim().to_string();
    }
    t.strip_prefix('=').unwrap_or(t).trim().to_string()
}

/// `outcome == "approved"` → Some("approved").
fn outcome_condition(text: &str) -> Option<&'static str> {
    let norm: String = expression(text)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '"')
        .collect();
    match norm.as_str() {
        "outcome==approved" => Some("approved"),
        "outcome==rejected" => Some("rejected"),
        _ => None,
    }
}

fn event_definitions(el: &Element) -> Vec<&str> {
    el.children
        .iter()
        .filter(|c| c.name.ends_with("EventDefinition"))
        .map(|c| c.name.as_str())
        .collect()
}

fn timer_spec(id: &str, el: &Element, interrupting: bool) -> TimerSpec {
    let def = el.child("timerEventDefinition");
    let text = |n: &str| def.and_then(|d| d.child(n)).map(|c| expression(&c.text));
    TimerSpec {
        id: id.to_string(),
        duration: text("timeDuration"),
        cycle: text("timeCycle"),
        date: text("timeDate"),
        calendar: None,
        interrupting,
        action: None,
        catch_up: Default::default(),
    }
}

fn unsupported(name: &str) -> Option<&'static str> {
    Some(match name {
        "subProcess" => "sub-processes are not supported (phase 2)",
        "callActivity" => "call activities are not supported (phase 2)",
        "transaction" => "transactions are not supported",
        "adHocSubProcess" => "ad-hoc sub-processes are not supported",
        "complexGateway" => "complex gateways are not supported",
        "eventBasedGateway" => "event-based gateways are not supported",
        "intermediateThrowEvent" => {
            "intermediate throw events (signal/message/link/escalation) are not supported"
        }
        "receiveTask" => "receive tasks (messages) are not supported",
        "manualTask" | "businessRuleTask" | "task" => {
            "only user, service, script and send tasks are supported"
        }
        "dataObject" | "dataObjectReference" | "dataStoreReference" => {
            "data objects are not supported"
        }
        _ => return None,
    })
}

const IGNORED: &[&str] = &[
    "extensionElements",
    "documentation",
    "laneSet",
    "textAnnotation",
    "association",
    "ioSpecification",
    "property",
    "group",
    "category",
];

/// Import a BPMN 2.0 document (our export, or bpmn.io / Camunda Modeler files) for the
/// supported subset. Every unsupported element is reported.
pub fn import_bpmn(xml: &str) -> Result<Definition, Vec<Problem>> {
    let root = parse(xml).map_err(|m| vec![Problem::flow("bpmn.xml", m)])?;
    let process = the_process(&root)?;
    let mut p = Vec::new();
    let header: Header = match crm_json(process, "definition") {
        Some(j) => serde_json::from_str(j).unwrap_or_else(|e| {
            p.push(Problem::flow("bpmn.crm_extension", format!("process: {e}")));
            Header::default()
        }),
        None => Header::default(),
    };
    let key = header
        .key
        .clone()
        .unwrap_or_else(|| process.attr("id").unwrap_or("imported").to_string());
    let name = if header.name.is_empty() {
        label(process)
    } else {
        header.name.clone()
    };

    // Pass 1: classify elements.
    let mut im = Import::default();
    for el in &process.children {
        im.classify(el, &mut p);
    }
    im.collapse_outcome_gateways();
    im.attach_timers(&mut p);
    // Pass 2: flows.
    let edges = im.edges(&mut p);
    let layout = layout(&root, &im.node_pos);

    if !p.is_empty() {
        return Err(p);
    }
    Ok(Definition {
        schema: header.schema.unwrap_or_else(|| SCHEMA.to_string()),
        key,
        version: header.version,
        name,
        object: header.object,
        trigger: header.trigger,
        settings: header.settings,
        nodes: im.nodes,
        edges,
        layout,
    })
}

/// The one process with elements in a `definitions` document.
fn the_process(root: &Element) -> Result<&Element, Vec<Problem>> {
    if root.name != "definitions" {
        return Err(vec![Problem::flow(
            "bpmn.not_bpmn",
            format!("root element is `{}`, expected `definitions`", root.name),
        )]);
    }
    let processes: Vec<&Element> = root.children_named("process").collect();
    match processes
        .iter()
        .filter(|x| !x.children.is_empty())
        .collect::<Vec<_>>()
        .as_slice()
    {
        [one] => Ok(**one),
        [] => Err(vec![Problem::flow(
            "bpmn.no_process",
            "the document has no process with elements",
        )]),
        _ => Err(vec![Problem::flow(
            "bpmn.multiple_processes",
            "collaborations with several executable processes are not supported",
        )]),
    }
}

/// What pass 1 found in a process.
#[derive(Default)]
struct Import<'a> {
    nodes: Vec<Node>,
    node_pos: HashMap<String, usize>,
    /// Boundary event id → (the node it is attached to, its timer id; none: an error event).
    boundary: HashMap<String, (String, Option<String>)>,
    /// Outcome gateway id → its approval task's id.
    outcome_gw: HashMap<String, String>,
    flows: Vec<&'a Element>,
    gateways_plain: Vec<&'a Element>,
    /// Timer boundaries of standard files, by the node they are attached to.
    standard_timers: Vec<(String, TimerSpec)>,
}

impl<'a> Import<'a> {
    /// Sort one child of the process into nodes, flows, synthesized and boundary elements.
    fn classify(&mut self, el: &'a Element, p: &mut Vec<Problem>) {
        let id = el.attr("id").unwrap_or("").to_string();
        if let Some(why) = unsupported(&el.name) {
            let why = if el.name == "subProcess" && el.attr("triggeredByEvent") == Some("true") {
                "event sub-processes are not supported"
            } else {
                why
            };
            p.push(Problem::node(
                &id,
                "bpmn.unsupported",
                format!("{}: {why}", el.name),
            ));
            return;
        }
        if IGNORED.contains(&el.name.as_str()) {
            return;
        }
        if el.name == "sequenceFlow" {
            self.flows.push(el);
            return;
        }
        if let Some(kind) = el.attr_ns("crm", "synthetic") {
            match kind {
                "outcome" => {
                    let task = id.strip_suffix("__outcome").unwrap_or(&id).to_string();
                    self.outcome_gw.insert(id.clone(), task);
                }
                "timer" | "error" => {
                    let attached = el.attr("attachedToRef").unwrap_or("").to_string();
                    self.boundary.insert(
                        id.clone(),
                        (attached, el.attr_ns("crm", "timer").map(str::to_string)),
                    );
                }
                _ => {}
            }
            return;
        }
        let defs = event_definitions(el);
        if el.name == "boundaryEvent" {
            self.boundary_event(el, &id, &defs, p);
            return;
        }
        let node = match crm_json(el, "node") {
            Some(j) => match serde_json::from_str::<Node>(j) {
                Ok(n) => Some(n),
                Err(e) => {
                    p.push(Problem::node(&id, "bpmn.crm_extension", e.to_string()));
                    None
                }
            },
            None => standard_node(el, &id, &defs, p, &mut self.gateways_plain),
        };
        if let Some(n) = node {
            self.node_pos.insert(n.id.clone(), self.nodes.len());
            self.nodes.push(n);
        }
    }

    /// A boundary event of a standard file: a timer or an error catch on a task.
    fn boundary_event(&mut self, el: &Element, id: &str, defs: &[&str], p: &mut Vec<Problem>) {
        let attached = el.attr("attachedToRef").unwrap_or("").to_string();
        match defs {
            ["timerEventDefinition"] => {
                let interrupting = el.attr("cancelActivity") != Some("false");
                self.standard_timers
                    .push((attached.clone(), timer_spec(id, el, interrupting)));
                self.boundary
                    .insert(id.to_string(), (attached, Some(id.to_string())));
            }
            ["errorEventDefinition"] => {
                self.boundary.insert(id.to_string(), (attached, None));
            }
            other => p.push(Problem::node(
                id,
                "bpmn.unsupported",
                format!("boundary event {other:?}: only timer and error boundaries are supported"),
            )),
        }
    }

    /// Standard files: a plain exclusive gateway right after a user task whose flows test
    /// `outcome` is the task's outcome split; collapse it.
    fn collapse_outcome_gateways(&mut self) {
        for gw in std::mem::take(&mut self.gateways_plain) {
            let gid = gw.attr("id").unwrap_or("");
            let incoming: Vec<&&Element> = self
                .flows
                .iter()
                .filter(|f| f.attr("targetRef") == Some(gid))
                .collect();
            let outgoing: Vec<&&Element> = self
                .flows
                .iter()
                .filter(|f| f.attr("sourceRef") == Some(gid))
                .collect();
            let [only] = incoming.as_slice() else {
                continue;
            };
            let src = only.attr("sourceRef").unwrap_or("");
            let from_task = self
                .node_pos
                .get(src)
                .is_some_and(|&i| matches!(self.nodes[i].kind, NodeKind::Approval(_)));
            let all_outcomes = outgoing.iter().all(|f| {
                f.child("conditionExpression")
                    .is_some_and(|c| outcome_condition(&c.text).is_some())
                    || gw.attr("default") == f.attr("id")
            });
            if from_task && all_outcomes && !outgoing.is_empty() {
                self.outcome_gw.insert(gid.to_string(), src.to_string());
                if let Some(i) = self.node_pos.remove(gid) {
                    self.nodes.remove(i);
                    self.node_pos = self
                        .nodes
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (n.id.clone(), i))
                        .collect();
                }
            }
        }
    }

    /// Timer boundaries of standard files become timers of their approval or wait node.
    fn attach_timers(&mut self, p: &mut Vec<Problem>) {
        for (attached, spec) in std::mem::take(&mut self.standard_timers) {
            match self
                .node_pos
                .get(&attached)
                .map(|&i| &mut self.nodes[i].kind)
            {
                Some(NodeKind::Approval(a)) => {
                    if !a.timers.iter().any(|t| t.id == spec.id) {
                        a.timers.push(spec);
                    }
                }
                Some(NodeKind::Wait { timers, .. }) => {
                    if !timers.iter().any(|t| t.id == spec.id) {
                        timers.push(spec);
                    }
                }
                _ => p.push(Problem::node(
                    &spec.id,
                    "bpmn.unsupported",
                    format!("timer boundary on `{attached}`: only user tasks can carry timers"),
                )),
            }
        }
    }

    /// Edges from the sequence flows, rewired from synthesized elements to the nodes.
    fn edges(&self, p: &mut Vec<Problem>) -> Vec<Edge> {
        let mut edges = Vec::new();
        let mut cond_count: HashMap<String, i32> = HashMap::new();
        for f in &self.flows {
            let id = f.attr("id").unwrap_or("").to_string();
            if f.attr_ns("crm", "synthetic").is_some() {
                continue;
            }
            if let Some(j) = crm_json(f, "edge") {
                match serde_json::from_str::<Edge>(j) {
                    Ok(e) => edges.push(e),
                    Err(e) => p.push(Problem::edge(&id, "bpmn.crm_extension", e.to_string())),
                }
                continue;
            }
            let src = f.attr("sourceRef").unwrap_or("").to_string();
            let tgt = f.attr("targetRef").unwrap_or("").to_string();
            if self.outcome_gw.contains_key(&tgt) {
                continue; // task → its outcome gateway
            }
            let cond_text = f.child("conditionExpression").map(|c| c.text.clone());
            let (from, on, when) = if let Some(task) = self.outcome_gw.get(&src) {
                let on = cond_text
                    .as_deref()
                    .and_then(outcome_condition)
                    .unwrap_or("rejected");
                (task.clone(), Some(on.to_string()), None)
            } else if let Some((attached, timer)) = self.boundary.get(&src) {
                let on = match timer {
                    Some(t) => format!("timer:{t}"),
                    None => "error".into(),
                };
                (attached.clone(), Some(on), None)
            } else {
                let approval = self
                    .node_pos
                    .get(&src)
                    .is_some_and(|&i| matches!(self.nodes[i].kind, NodeKind::Approval(_)));
                let when = cond_text
                    .as_deref()
                    .map(|t| Condition::rhai(expression(t)))
                    .filter(|c| !c.expr.is_empty());
                (src.clone(), approval.then(|| "approved".to_string()), when)
            };
            if !self.node_pos.contains_key(&from) || !self.node_pos.contains_key(&tgt) {
                p.push(Problem::edge(
                    &id,
                    "bpmn.dangling_flow",
                    format!(
                        "flow `{id}` connects `{src}` → `{tgt}`, which are not both imported nodes"
                    ),
                ));
                continue;
            }
            let order = when.as_ref().map(|_| {
                let c = cond_count.entry(from.clone()).or_insert(0);
                *c += 1;
                *c
            });
            edges.push(Edge {
                id,
                from,
                to: tgt,
                order,
                when,
                on,
                name: label(f),
            });
        }
        edges
    }
}

/// BPMNDI positions of imported nodes.
fn layout(root: &Element, node_pos: &HashMap<String, usize>) -> BTreeMap<String, [f64; 2]> {
    let mut layout = BTreeMap::new();
    let mut shapes = Vec::new();
    root.descendants("BPMNShape", &mut shapes);
    for s in shapes {
        let (Some(el), Some(b)) = (s.attr("bpmnElement"), s.child("Bounds")) else {
            continue;
        };
        if !node_pos.contains_key(el) {
            continue;
        }
        let x = b.attr("x").and_then(|v| v.parse::<f64>().ok());
        let y = b.attr("y").and_then(|v| v.parse::<f64>().ok());
        if let (Some(x), Some(y)) = (x, y) {
            layout.insert(el.to_string(), [x, y]);
        }
    }
    layout
}

/// Map a standard BPMN element (no crm extension) to a node.
fn standard_node<'a>(
    el: &'a Element,
    id: &str,
    defs: &[&str],
    p: &mut Vec<Problem>,
    gateways: &mut Vec<&'a Element>,
) -> Option<Node> {
    let kind = match el.name.as_str() {
        "startEvent" => match defs {
            [] | ["messageEventDefinition"] | ["timerEventDefinition"] => {
                NodeKind::Start { form: None }
            }
            other => {
                p.push(Problem::node(
                    id,
                    "bpmn.unsupported",
                    format!("start event {other:?}: only none, message and timer starts"),
                ));
                return None;
            }
        },
        "endEvent" => match defs {
            [] => NodeKind::End {
                outcome: Outcome::Approved,
                terminate: false,
            },
            ["terminateEventDefinition"] => NodeKind::End {
                outcome: Outcome::Approved,
                terminate: true,
            },
            other => {
                p.push(Problem::node(
                    id,
                    "bpmn.unsupported",
                    format!("end event {other:?}: only none and terminate ends"),
                ));
                return None;
            }
        },
        "exclusiveGateway" => {
            gateways.push(el);
            NodeKind::Exclusive {
                default: el.attr("default").map(str::to_string),
            }
        }
        "inclusiveGateway" => NodeKind::Inclusive {
            default: el.attr("default").map(str::to_string),
        },
        "parallelGateway" => NodeKind::Parallel {},
        "userTask" => NodeKind::Approval(Box::new(user_task(el))),
        "serviceTask" | "scriptTask" => {
            // No crm action configured: a no-op record update the admin then configures.
            NodeKind::Action {
                action: Action::UpdateRecord {
                    set: BTreeMap::new(),
                },
                retry: None,
                compensate: None,
            }
        }
        "sendTask" => NodeKind::Cc {
            recipients: vec![AssigneeRule::Initiator {}],
            template: None,
        },
        "intermediateCatchEvent" => {
            match defs {
                ["timerEventDefinition"] => {
                    let t = timer_spec(id, el, true);
                    match (t.duration, t.date) {
                        (Some(d), _) => NodeKind::Wait {
                            until: WaitUntil::Duration {
                                duration: d,
                                calendar: None,
                            },
                            timers: vec![],
                        },
                        (None, Some(d)) if d.starts_with("record.") => NodeKind::Wait {
                            until: WaitUntil::Field {
                                field: d[7..].to_string(),
                            },
                            timers: vec![],
                        },
                        _ => {
                            p.push(Problem::node(id, "bpmn.unsupported", "timer catch events need a timeDuration or a record.<field> timeDate"));
                            return None;
                        }
                    }
                }
                ["conditionalEventDefinition"] => {
                    let expr = el
                        .child("conditionalEventDefinition")
                        .and_then(|c| c.child("condition"))
                        .map(|c| expression(&c.text))
                        .unwrap_or_default();
                    NodeKind::Wait {
                        until: WaitUntil::Condition {
                            when: Condition::rhai(expr),
                        },
                        timers: vec![],
                    }
                }
                other => {
                    p.push(Problem::node(id, "bpmn.unsupported", format!("intermediate catch event {other:?}: signal/message/link events are not supported")));
                    return None;
                }
            }
        }
        other => {
            p.push(Problem::node(
                id,
                "bpmn.unsupported",
                format!("element `{other}` is not supported"),
            ));
            return None;
        }
    };
    Some(Node {
        id: id.to_string(),
        name: label(el),
        kind,
    })
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// userTask → approval: assignee / candidateUsers / candidateGroups, multi-instance mode.
fn user_task(el: &Element) -> Approval {
    let mut assignees = Vec::new();
    if let Some(a) = el.attr("assignee") {
        let e = expression(a);
        if e == "initiator" || e == "initiator.id" {
            assignees.push(AssigneeRule::Initiator {});
        } else if !e.is_empty() {
            assignees.push(AssigneeRule::Users { ids: vec![e] });
        }
    }
    if let Some(u) = el.attr("candidateUsers") {
        let ids = split_list(u);
        if !ids.is_empty() {
            assignees.push(AssigneeRule::Users { ids });
        }
    }
    if let Some(g) = el.attr("candidateGroups") {
        for role in split_list(g) {
            assignees.push(AssigneeRule::Role { role });
        }
    }
    let mode = match el.child("multiInstanceLoopCharacteristics") {
        None => Mode::Sequential,
        Some(mi) if mi.attr("isSequential") == Some("true") => Mode::Sequential,
        Some(mi) => {
            let cond = mi
                .child("completionCondition")
                .map(|c| expression(&c.text))
                .unwrap_or_default();
            let compact: String = cond.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.contains("/nrOfInstances>=") {
                let ratio = compact
                    .rsplit(">=")
                    .next()
                    .and_then(|r| r.parse::<f64>().ok())
                    .unwrap_or(1.0);
                Mode::Ratio {
                    approve_ratio: ratio,
                    early_reject: true,
                    on_add_signer: ThresholdPolicy::Keep,
                }
            } else if compact.contains("nrOfCompletedInstances>=1")
                || compact.contains("nrOfCompletedInstances==1")
                || compact.contains("nrOfCompletedInstances>0")
            {
                Mode::Any
            } else {
                Mode::All
            }
        }
    };
    Approval {
        assignees,
        mode,
        on_empty: OnEmpty::default(),
        ops: Ops::default(),
        form: None,
        timers: Vec::new(),
    }
}
