//! The JSON definition format (`"schema": "crm.workflow/1"`), as drawn by the editor and stored
//! per published version. Plain serde types: validation happens in [`crate::compile`].

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The schema tag every definition carries.
pub const SCHEMA: &str = "crm.workflow/1";

/// A workflow definition (draft or published version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub schema: String,
    pub key: String,
    /// Assigned at publish; 0 for drafts.
    #[serde(default)]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Label::is_empty")]
    pub name: Label,
    /// Api name of the object whose records run through this flow.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    #[serde(default)]
    pub settings: Settings,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Editor positions (top-left corner), exported as BPMNDI.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layout: BTreeMap<String, [f64; 2]>,
}

/// A bilingual label. Accepts a plain string (taken as `zh`) or `{"zh": …, "en": …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Label {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Label {
    pub fn is_empty(&self) -> bool {
        self.zh.is_none() && self.en.is_none()
    }

    /// The English text if present, else the Chinese one.
    pub fn text(&self) -> Option<&str> {
        self.en.as_deref().or(self.zh.as_deref())
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A map, not a struct: serde reads a struct from a sequence too (`[null, null]`).
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Plain(String),
            Both(BTreeMap<String, Option<String>>),
        }
        match Repr::deserialize(d)? {
            Repr::Plain(s) => Ok(Label {
                zh: Some(s),
                en: None,
            }),
            Repr::Both(mut b) => {
                let label = Label {
                    zh: b.remove("zh").flatten(),
                    en: b.remove("en").flatten(),
                };
                match b.keys().next() {
                    Some(k) => Err(D::Error::custom(format!(
                        "unknown field `{k}`, expected `zh` or `en`"
                    ))),
                    None => Ok(label),
                }
            }
        }
    }
}

/// A rhai condition: `{"lang": "rhai", "expr": "record.amount > 500000"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default = "rhai_lang")]
    pub lang: String,
    pub expr: String,
}

fn rhai_lang() -> String {
    "rhai".into()
}

impl Condition {
    pub fn rhai(expr: impl Into<String>) -> Self {
        Condition {
            lang: rhai_lang(),
            expr: expr.into(),
        }
    }
}

/// What starts instances. Interpreted by the runtime; the core only stores and checks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A record write (`created`, `updated`, …) from the listed sources.
    Record {
        #[serde(default)]
        events: Vec<String>,
        #[serde(default)]
        sources: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when: Option<Condition>,
    },
    /// A user submits the record for approval.
    Manual {},
}

/// Instance-wide policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub withdraw: WithdrawPolicy,
    #[serde(default)]
    pub resubmit: ResubmitPolicy,
    #[serde(default)]
    pub dedupe: DedupePolicy,
    #[serde(default)]
    pub self_approval: SelfApproval,
    /// Default business calendar for timers (resolved by the environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
}

/// 撤回: when the initiator may withdraw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawPolicy {
    #[default]
    AnyTime,
    UntilFirstAction,
    Never,
}

/// After 退回 to start and resubmission: run the flow again, or jump back to the returner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResubmitPolicy {
    #[default]
    Rerun,
    JumpBack,
}

/// Same approver appearing again later in the flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupePolicy {
    #[default]
    None,
    AutoApproveRepeat,
}

/// The initiator resolved as an approver of their own request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfApproval {
    #[default]
    Allow,
    /// Auto-approve the initiator's slot (audited).
    Skip,
    /// Drop the initiator from the assignees (empty → `on_empty`).
    Forbid,
}

/// A node: stable id, optional label, and its kind-specific fields (flattened, tagged by `kind`).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub name: Label,
    pub kind: NodeKind,
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Repr<'a> {
            id: &'a str,
            #[serde(skip_serializing_if = "Label::is_empty")]
            name: &'a Label,
            #[serde(flatten)]
            kind: &'a NodeKind,
        }
        Repr {
            id: &self.id,
            name: &self.name,
            kind: &self.kind,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Node {
    // Hand-written so that `deny_unknown_fields` works on the kind-specific part (serde's
    // `flatten` silently accepts typos).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = serde_json::Map::deserialize(d)?;
        let id = match map.remove("id") {
            Some(serde_json::Value::String(s)) => s,
            Some(_) => return Err(D::Error::custom("node `id` must be a string")),
            None => return Err(D::Error::missing_field("id")),
        };
        let name = match map.remove("name") {
            Some(v) => Label::deserialize(v)
                .map_err(|e| D::Error::custom(format!("node `{id}`: name: {e}")))?,
            None => Label::default(),
        };
        let kind = NodeKind::deserialize(serde_json::Value::Object(map))
            .map_err(|e| D::Error::custom(format!("node `{id}`: {e}")))?;
        Ok(Node { id, name, kind })
    }
}

/// Node kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeKind {
    /// Exactly one per flow. `form` = what the initiator may edit on resubmission.
    Start {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        form: Option<Form>,
    },
    End {
        #[serde(default)]
        outcome: Outcome,
        /// BPMN terminate end: cancels every other token of the instance.
        #[serde(default, skip_serializing_if = "is_false")]
        terminate: bool,
    },
    /// XOR: first true condition in `order`, else `default`, else an incident.
    Exclusive {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
    /// AND split / join (a join waits for a token on every incoming edge).
    Parallel {},
    /// OR split (every true condition) / join (fires when no live token can still reach it).
    Inclusive {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
    Approval(Box<Approval>),
    /// 抄送: notify and grant read access; never blocks.
    Cc {
        recipients: Vec<AssigneeRule>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// A side effect executed by the runtime through the outbox.
    Action {
        action: Action,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry: Option<Retry>,
        /// Undo action run (via the outbox) when the instance is withdrawn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compensate: Option<Action>,
    },
    /// Timer / record-condition catch.
    Wait {
        until: WaitUntil,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        timers: Vec<TimerSpec>,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn yes() -> bool {
    true
}

/// How an end event finishes the instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Approved,
    Rejected,
}

/// An approval (human task) node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    #[serde(default)]
    pub assignees: Vec<AssigneeRule>,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub on_empty: OnEmpty,
    #[serde(default)]
    pub ops: Ops,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Form>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timers: Vec<TimerSpec>,
}

/// Who gets a task. Resolved once at node activation and snapshotted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssigneeRule {
    /// Fixed users (resolved by the core).
    Users { ids: Vec<String> },
    /// Members of a role (environment).
    Role { role: String },
    /// Leader of the department of `of` (`initiator` or a record user field), `level` 1 = own dept.
    DepartmentLeader {
        #[serde(default = "initiator_str")]
        of: String,
        #[serde(default = "one")]
        level: u32,
    },
    /// Manager chain of `of` at `level` (1 = direct manager) (environment).
    ManagerOf {
        #[serde(default = "initiator_str")]
        of: String,
        #[serde(default = "one")]
        level: u32,
    },
    /// A user (or user list) field on the record (resolved by the core from the snapshot).
    Field { field: String },
    /// Chosen by the initiator at start (`Start.chosen[node id]`).
    InitiatorChooses {},
    /// The initiator.
    Initiator {},
}

fn initiator_str() -> String {
    "initiator".into()
}

fn one() -> u32 {
    1
}

/// Approval outcome rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Mode {
    /// 依次: one at a time in assignee order, any reject rejects.
    #[default]
    Sequential,
    /// 会签: all must approve, one reject vetoes.
    All,
    /// 或签: the first decision wins.
    Any,
    /// 按比例: approved when approvals ≥ ceil(ratio·n); rejected early once unreachable.
    Ratio {
        approve_ratio: f64,
        #[serde(default = "yes")]
        early_reject: bool,
        /// Threshold after 并加签: recompute ceil(ratio·n) or keep the count.
        #[serde(default)]
        on_add_signer: ThresholdPolicy,
    },
}

/// Whether adding parallel signers changes a ratio node's required approvals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdPolicy {
    #[default]
    Keep,
    Recompute,
}

/// 审批人为空: what to do when the assignees resolve to nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OnEmpty {
    AutoApprove,
    AutoReject,
    /// Assign to these rules instead (e.g. a `wf_admin` role); still empty → incident.
    Assign {
        to: Vec<AssigneeRule>,
    },
    /// Park the instance in a visible incident (admin retry/skip/cancel).
    #[default]
    Incident,
}

/// Operations offered on the node's tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ops {
    /// 退回 targets (earlier nodes; `start` = back to the initiator).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub return_to: Vec<String>,
    /// 加签 positions allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_signer: Vec<SignerPosition>,
    /// 转交.
    #[serde(default = "yes")]
    pub transfer: bool,
    /// 委托 (acting_for).
    #[serde(default = "yes")]
    pub delegate: bool,
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            return_to: Vec::new(),
            add_signer: Vec::new(),
            transfer: true,
            delegate: true,
        }
    }
}

/// 加签 position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerPosition {
    /// 前加签: the added signer decides first, then the task returns to the adder.
    Before,
    /// 后加签: the adder approves; the added signer's decision replaces the adder's vote.
    After,
    /// 并加签: an additional voter on the node.
    Parallel,
}

/// Field permissions while a node is current. Fields not listed are read-only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editable: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<String>,
}

/// A boundary timer on an approval or wait node. Exactly one of `duration`, `cycle`, `date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerSpec {
    pub id: String,
    /// ISO-8601 duration, e.g. `P3D`, `PT4H`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// ISO-8601 repeating interval `R<n>/<duration>` (non-interrupting only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<String>,
    /// RFC 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Business calendar (falls back to `settings.calendar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// Interrupting timers cancel the node and follow the `on: "timer:<id>"` edge (or `do`).
    #[serde(default)]
    pub interrupting: bool,
    #[serde(default, rename = "do", skip_serializing_if = "Option::is_none")]
    pub action: Option<TimerAction>,
    /// Cycles whose occurrences were missed (workers down): fire `once` and schedule the next
    /// future occurrence, or fire `all` missed occurrences one by one.
    #[serde(default, skip_serializing_if = "CatchUp::is_once")]
    pub catch_up: CatchUp,
}

/// Missed cycle occurrences policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    #[default]
    Once,
    All,
}

impl CatchUp {
    fn is_once(&self) -> bool {
        *self == CatchUp::Once
    }
}

/// What a timer does when it fires (besides following its edge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TimerAction {
    /// 催办-style reminder to the open tasks' assignees.
    Notify {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// Interrupting only: decide the node.
    AutoApprove,
    AutoReject,
}

/// What a wait node waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WaitUntil {
    Duration {
        duration: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calendar: Option<String>,
    },
    /// Until the date/time in a record field (RFC 3339 or `YYYY-MM-DD`, midnight UTC).
    Field { field: String },
    /// Until a condition over the record holds (re-checked on `RecordChanged`).
    Condition { when: Condition },
}

/// Side effects executed by the runtime (handlebars templates and rhai value expressions are
/// compiled by the runtime; the core checks they compile at publish).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Set fields of the instance's record; values are rhai expressions.
    UpdateRecord { set: BTreeMap<String, String> },
    CreateRecord {
        object: String,
        values: BTreeMap<String, String>,
    },
    Notify {
        to: Vec<AssigneeRule>,
        template: String,
    },
    /// Delivered through the automation outbox: signed (HMAC-SHA256 over timestamp and body
    /// with `secret`), retried with backoff, logged, resendable.
    Webhook {
        #[serde(default = "post")]
        method: String,
        url: String,
        /// The signing secret (at least 16 characters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
}

fn post() -> String {
    "POST".into()
}

/// Retry policy for an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub max: u32,
    #[serde(default)]
    pub backoff: Backoff,
    /// First delay (ISO-8601 duration), default `PT10S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    Constant,
    #[default]
    Exponential,
}

/// A sequence flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    pub id: String,
    pub from: String,
    pub to: String,
    /// Evaluation order on exclusive/inclusive gateways (lower first; ties by definition order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Outcome label: `approved | rejected | timer:<id>` (approval), `done | error` (action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    #[serde(default, skip_serializing_if = "Label::is_empty")]
    pub name: Label,
}

impl Definition {
    /// Parse a definition from JSON text.
    pub fn from_json(text: &str) -> Result<Definition, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Canonical JSON: object keys sorted (independent of serde_json's `preserve_order`
    /// feature), no whitespace. Equal definitions give byte-identical canonical JSON.
    pub fn canonical_json(&self) -> String {
        let mut out = String::new();
        if let Ok(v) = serde_json::to_value(self) {
            write_canonical(&v, &mut out);
        }
        out
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

/// Writes `v` as JSON with object keys in byte order.
pub(crate) fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
