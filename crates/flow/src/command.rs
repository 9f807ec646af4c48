//! Commands in, effects out: the contract between the pure core and the runtime.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::SignerPosition;
use crate::state::{InstanceState, Status, TaskKind, TaskStatus};

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// Admin repairs on incidents, and forced cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminOp {
    /// Re-run the node the incident is parked on (re-evaluate, re-resolve, re-run action).
    Retry { incident: u32 },
    /// Move past the node: gateway → `edge` (required if ambiguous); approval → approved;
    /// action → done.
    Skip {
        incident: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edge: Option<String>,
    },
    /// Terminate the instance.
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// Everything that can happen to an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    Start {
        initiator: String,
        #[serde(default)]
        initiator_attrs: Value,
        record: Value,
        /// Assignees picked by the initiator for `initiator_chooses` rules, per node id.
        #[serde(default)]
        chosen: BTreeMap<String, Vec<String>>,
        #[serde(default)]
        vars: serde_json::Map<String, Value>,
    },
    Decide {
        task: u32,
        actor: String,
        /// Set by the runtime when `actor` decides as the standing delegate of the assignee.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        acting_for: Option<String>,
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// 退回 to an earlier node.
    Return {
        task: u32,
        actor: String,
        to_node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// 转交: `to` now holds the task.
    Transfer {
        task: u32,
        actor: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// 委托: `to` decides on behalf of the assignee (`acting_for`).
    Delegate {
        task: u32,
        actor: String,
        to: String,
    },
    /// 加签.
    AddSigner {
        task: u32,
        actor: String,
        position: SignerPosition,
        users: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// 撤回 by the initiator.
    Withdraw {
        actor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// 催办: remind the current approvers.
    Urge {
        actor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    Comment {
        actor: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<u32>,
    },
    /// The initiator resubmits after 退回 to start (optionally with the edited record).
    Resubmit {
        task: u32,
        actor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<Value>,
    },
    TimerFired {
        timer: u32,
    },
    ActionDone {
        ni: u32,
        #[serde(default)]
        result: Value,
    },
    ActionFailed {
        ni: u32,
        error: String,
        retryable: bool,
    },
    /// The record changed: new snapshot (wait-until-condition/field re-checked).
    RecordChanged {
        record: Value,
    },
    Admin {
        actor: String,
        op: AdminOp,
    },
}

/// Why a task closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The assignee decided.
    Decided,
    /// The node was decided by others (`cancelled:decided`).
    NodeDecided,
    Transferred,
    Delegated,
    /// 加签 after: the adder's vote moves to the added signer.
    Forwarded,
    Returned,
    Timeout,
    Withdrawn,
    Terminated,
    Migrated,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    Reminder,
    Urge,
    Cc,
    Approved,
    Rejected,
    Withdrawn,
    Returned,
}

/// Side effects for the runtime to persist in the same transaction as the new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    OpenTask {
        task: u32,
        ni: u32,
        node: String,
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        acting_for: Option<String>,
        kind: TaskKind,
    },
    CloseTask {
        task: u32,
        status: TaskStatus,
        reason: CloseReason,
    },
    SuspendTask {
        task: u32,
    },
    ReopenTask {
        task: u32,
    },
    ScheduleTimer {
        timer: u32,
        node: String,
        due_at: DateTime<Utc>,
    },
    CancelTimer {
        timer: u32,
    },
    /// Outbox row. `idempotency_key` is stable across retries of the same node instance.
    RunAction {
        ni: u32,
        node: String,
        action: Value,
        idempotency_key: String,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_before: Option<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "crate::command::is_false")]
        compensation: bool,
        /// For a notify action: its recipient rules resolved to users by the core.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        recipients: Vec<String>,
    },
    /// Drop this instance's not-yet-delivered outbox rows (withdraw / terminate).
    CancelPendingActions,
    Notify {
        kind: NotifyKind,
        users: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// 抄送: grant read access to the record and notify.
    Cc {
        node: String,
        users: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// Append-only timeline entry (审批记录).
    Audit {
        event: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        #[serde(default, skip_serializing_if = "Value::is_null")]
        data: Value,
    },
    Incident {
        incident: u32,
        node: String,
        code: String,
        message: String,
    },
    IncidentResolved {
        incident: u32,
    },
    Completed {
        status: Status,
    },
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// The result of an accepted command. If `state.rev` did not change, nothing needs persisting.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub state: InstanceState,
    pub effects: Vec<Effect>,
}

/// A rejected command. `code()` is stable for the API error envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the instance has not been started")]
    NotStarted,
    #[error("the instance was already started")]
    AlreadyStarted,
    #[error("the instance is finished ({0:?})")]
    Finished(Status),
    #[error("task {0} does not exist")]
    TaskNotFound(u32),
    #[error("task {0} was already decided")]
    AlreadyDecided(u32),
    #[error("task {task} is closed ({status:?})")]
    TaskClosed { task: u32, status: TaskStatus },
    #[error("{actor} is not the assignee of task {task}")]
    NotAssignee { task: u32, actor: String },
    #[error("only the initiator may do this")]
    NotInitiator,
    #[error("operation not allowed: {0}")]
    NotAllowed(String),
    #[error("withdraw is not allowed: {0}")]
    WithdrawNotAllowed(String),
    #[error("`{0}` is not a valid return target here")]
    InvalidReturnTarget(String),
    #[error("timer {timer} is not due before {due}")]
    TimerNotDue { timer: u32, due: DateTime<Utc> },
    #[error("node instance {0} is not waiting for an action result")]
    UnknownNodeInstance(u32),
    #[error("incident {0} does not exist")]
    IncidentNotFound(u32),
    #[error("invalid command: {0}")]
    Invalid(String),
}

impl CommandError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::NotStarted => "flow.not_started",
            CommandError::AlreadyStarted => "flow.already_started",
            CommandError::Finished(_) => "flow.finished",
            CommandError::TaskNotFound(_) => "flow.task_not_found",
            CommandError::AlreadyDecided(_) => "flow.already_decided",
            CommandError::TaskClosed { .. } => "flow.task_closed",
            CommandError::NotAssignee { .. } => "flow.not_assignee",
            CommandError::NotInitiator => "flow.not_initiator",
            CommandError::NotAllowed(_) => "flow.not_allowed",
            CommandError::WithdrawNotAllowed(_) => "flow.withdraw_not_allowed",
            CommandError::InvalidReturnTarget(_) => "flow.invalid_return_target",
            CommandError::TimerNotDue { .. } => "flow.timer_not_due",
            CommandError::UnknownNodeInstance(_) => "flow.unknown_node_instance",
            CommandError::IncidentNotFound(_) => "flow.incident_not_found",
            CommandError::Invalid(_) => "flow.invalid_command",
        }
    }

    /// What kind of refusal this is; the runtime maps each kind onto its own errors.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CommandError::NotAssignee { .. } | CommandError::NotInitiator => ErrorKind::Forbidden,
            // The former holder of a transferred task no longer has it.
            CommandError::TaskClosed {
                status: TaskStatus::Transferred,
                ..
            } => ErrorKind::Forbidden,
            CommandError::TaskNotFound(_) | CommandError::IncidentNotFound(_) => {
                ErrorKind::NotFound
            }
            CommandError::Invalid(_) | CommandError::InvalidReturnTarget(_) => ErrorKind::Invalid,
            _ => ErrorKind::Conflict,
        }
    }
}

/// The kinds of [`CommandError`]: who is at fault and whether retrying later can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The actor may not do this to the instance (not the assignee, not the initiator).
    Forbidden,
    /// The task or incident the command names does not exist.
    NotFound,
    /// The command is well-formed but the instance's current state refuses it.
    Conflict,
    /// The command itself is malformed (a bad argument or return target).
    Invalid,
}
