//! The persisted state of one instance. Compact on purpose: the definition is referenced by
//! version (not embedded), closed node instances are dropped, ids are small counters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::Outcome;

/// Instance lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Running,
    /// Running, but at least one token is parked on an incident awaiting an admin.
    Incident,
    Approved,
    Rejected,
    Withdrawn,
    Terminated,
}

impl Status {
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Running | Status::Incident)
    }
}

/// The whole state of one instance; the runtime stores it (JSON) with `rev` for optimistic locking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub id: String,
    /// Incremented by every accepted command that changes anything.
    pub rev: u64,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub initiator: String,
    #[serde(default, skip_serializing_if = "is_empty_value")]
    pub initiator_attrs: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub record: Value,
    /// Assignees chosen by the initiator, per node id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chosen: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: serde_json::Map<String, Value>,
    /// Id counter for tokens, node instances, tasks, timers and incidents.
    #[serde(default)]
    pub seq: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<Token>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<JoinRound>,
    /// Active node instances (approval, action, wait, resubmit-at-start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeInstance>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// Closed tasks of finished node instances: id → final status (answers replays).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub closed: BTreeMap<u32, TaskStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timers: Vec<Timer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
    /// Node ids entered at least once (valid 退回 targets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub visited: Vec<String>,
    /// Users who approved something (same-approver dedupe).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
    /// Someone other than the initiator acted (withdraw policy `until_first_action`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub acted: bool,
    /// Completed actions that declare a compensation, in completion order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compensable: Vec<DoneAction>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A token waiting at (or, transiently, moving to) a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: u32,
    pub node: String,
    /// The node instance the token waits on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ni: Option<u32>,
}

/// Arrivals at a synchronizing gateway for one round: one flag per incoming edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRound {
    pub node: String,
    pub round: u32,
    /// Incoming edge ids that delivered a token in this round.
    pub arrived: Vec<String>,
}

/// One activation of a waiting node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInstance {
    pub id: u32,
    pub node: String,
    /// Approval: the assignee snapshot taken at activation (plus added signers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
    /// Approval: votes for / against, voting slots, approvals needed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub approved: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rejected: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slots: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub need: u32,
    /// Sequential approval: assignees still waiting for their turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<String>,
    /// Action: number of attempts started.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// Resubmit task at start: the node that returned here (for `resubmit: jump_back`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned_from: Option<String>,
}

impl NodeInstance {
    pub(crate) fn new(id: u32, node: &str) -> Self {
        NodeInstance {
            id,
            node: node.to_string(),
            assignees: Vec::new(),
            approved: 0,
            rejected: 0,
            slots: 0,
            need: 0,
            queue: Vec::new(),
            attempt: 0,
            returned_from: None,
        }
    }
}

/// How a task came to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    #[default]
    Normal,
    /// 前加签: decides before the parent task, which then reopens.
    Before,
    /// 后加签: decides in place of the parent's vote.
    After,
    /// 并加签: an extra voter.
    Parallel,
    /// The initiator's task after 退回 to start.
    Resubmit,
}

impl TaskStatus {
    fn is_open(&self) -> bool {
        *self == TaskStatus::Open
    }
}

impl TaskKind {
    fn is_normal(&self) -> bool {
        *self == TaskKind::Normal
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Open,
    Approved,
    Rejected,
    Transferred,
    Cancelled,
    Suspended,
}

/// A human task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: u32,
    pub ni: u32,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acting_for: Option<String>,
    #[serde(default, skip_serializing_if = "TaskKind::is_normal")]
    pub kind: TaskKind,
    /// Omitted from JSON while open.
    #[serde(default, skip_serializing_if = "TaskStatus::is_open")]
    pub status: TaskStatus,
    /// Before/after signers: the task they were added from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
}

/// A scheduled timer of a node instance. `spec` is the timer id in the definition, or `@wait`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub id: u32,
    pub ni: u32,
    pub spec: String,
    pub due: DateTime<Utc>,
    /// Cycle timers: repetitions still to fire (None = forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<u32>,
}

/// A token that cannot proceed without an admin (retry / skip / cancel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: u32,
    pub token: u32,
    pub node: String,
    pub code: String,
    pub message: String,
}

/// A completed action whose compensation runs on withdraw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneAction {
    pub ni: u32,
    pub node: String,
}

impl InstanceState {
    /// A fresh, not yet started instance (apply `Command::Start` to it).
    pub fn new(id: impl Into<String>) -> Self {
        InstanceState {
            id: id.into(),
            ..Default::default()
        }
    }

    pub fn task(&self, id: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// Status of a task, live or closed.
    pub fn task_status(&self, id: u32) -> Option<TaskStatus> {
        self.task(id)
            .map(|t| t.status)
            .or_else(|| self.closed.get(&id).copied())
    }

    /// Open tasks (the approval inbox of this instance).
    pub fn open_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.status == TaskStatus::Open)
    }

    /// Node ids where tokens currently wait.
    pub fn positions(&self) -> Vec<&str> {
        self.tokens.iter().map(|t| t.node.as_str()).collect()
    }
}
