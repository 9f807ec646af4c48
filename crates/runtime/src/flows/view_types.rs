//! Typed views the workflow service returns (and the API serializes): commands' outcomes,
//! definitions and versions, the inbox, instances and migrations.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A problem in a flow definition or a migration plan; `code` is stable.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowProblem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
    pub code: String,
    pub message: String,
}

impl From<&weft_flow::Problem> for FlowProblem {
    fn from(p: &weft_flow::Problem) -> Self {
        Self {
            node: p.node.clone(),
            edge: p.edge.clone(),
            code: p.code.to_owned(),
            message: p.message.clone(),
        }
    }
}

/// One instance of a migration: where it would be (or now is), or why it cannot move.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MigrationItem {
    pub id: Uuid,
    pub from_version: i32,
    pub ok: bool,
    /// The nodes the instance would wait at on the new version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positions: Option<Vec<String>>,
    pub problems: Vec<FlowProblem>,
}

/// The outcome of moving running instances to another published version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MigrationReport {
    pub dry_run: bool,
    pub flow: String,
    pub to_version: i32,
    /// Instances moved (0 on a dry run).
    pub applied: u32,
    pub instances: Vec<MigrationItem>,
}

/// An instance's state after a command.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceSummary {
    pub id: Uuid,
    /// running | incident | approved | rejected | withdrawn | terminated
    pub status: String,
    pub rev: u64,
    /// The nodes the instance waits at.
    pub positions: Vec<String>,
    pub open_tasks: Vec<OpenTask>,
}

/// An open task: its number in the instance and its assignee.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenTask {
    pub task: u32,
    pub user: String,
}

/// A started instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StartedInstance {
    pub id: Uuid,
    pub flow: String,
    pub version: i32,
    /// running | incident | approved | rejected | withdrawn | terminated
    pub status: String,
    pub rev: u64,
    pub positions: Vec<String>,
}

/// A problem of a draft definition, with a JSON pointer into the document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DefProblem {
    pub path: String,
    pub node: Option<String>,
    pub edge: Option<String>,
    pub code: String,
    pub message: String,
}

/// The outcome of validating a draft.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowValidation {
    pub ok: bool,
    pub problems: Vec<DefProblem>,
}

/// A draft definition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowDefView {
    pub key: String,
    pub object: String,
    /// Highest published version (0 = never published).
    pub latest_version: i32,
    /// The definition (`crm.workflow/1`).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub updated_by: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The tenant's flow definitions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowList {
    pub flows: Vec<FlowDefView>,
}

/// A published, immutable version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowVersionView {
    pub id: Uuid,
    pub key: String,
    pub version: i32,
    pub object: String,
    /// sha256 of the canonical definition JSON.
    pub hash: String,
    pub published_by: Uuid,
    pub published_at: chrono::DateTime<chrono::Utc>,
    /// The definition (in version lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub definition: Option<serde_json::Value>,
}

/// A flow's published versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowVersionList {
    pub versions: Vec<FlowVersionView>,
}

/// A task of an approval (an inbox row, or a row of an instance's tasks).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    pub id: Uuid,
    pub instance: Uuid,
    pub task: i32,
    pub node: String,
    pub assignee: String,
    pub acting_for: Option<String>,
    /// approve | handle | …: the node's task kind.
    pub kind: String,
    /// open | approved | rejected | transferred | cancelled | suspended
    pub status: String,
    pub reason: Option<String>,
    pub flow: String,
    pub object: String,
    pub record_id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The flow's display name (inbox rows): a label, text or per language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub flow_name: Option<serde_json::Value>,
}

/// An instance in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceView {
    pub id: Uuid,
    pub flow: String,
    pub version: i32,
    pub object: String,
    pub record_id: Uuid,
    pub initiator: Uuid,
    /// running | incident | approved | rejected | withdrawn | terminated
    pub status: String,
    pub rev: i64,
    pub positions: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The flow's display name (inbox rows): a label, text or per language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub flow_name: Option<serde_json::Value>,
    /// Whether the caller may open the instance's details (a record's approvals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_open: Option<bool>,
}

/// An instance copied to the caller (抄送我的).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CcView {
    pub instance: Uuid,
    pub node: String,
    pub flow: String,
    pub object: String,
    pub record_id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The flow's display name: a label, text or per language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub flow_name: Option<serde_json::Value>,
}

/// One row of an inbox: a task (`todo`, `done`), an instance (`started`) or a copy (`cc`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum InboxItem {
    Task(TaskView),
    Instance(InstanceView),
    Cc(CcView),
}

/// An inbox: `todo`, `done`, `started` or `cc`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inbox {
    #[serde(rename = "box")]
    pub which: String,
    pub items: Vec<InboxItem>,
}

/// Instances (a record's approvals, or the admin list).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceList {
    pub instances: Vec<InstanceView>,
}

/// A published flow a user may start on a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StartableFlow {
    pub key: String,
    /// The flow's display name: a label, text or per language.
    #[schema(value_type = Object)]
    pub name: serde_json::Value,
    pub version: i32,
}

/// The published flows of an object a user may start.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StartableFlows {
    pub flows: Vec<StartableFlow>,
}

/// A node of an instance's graph, with whether the instance is or was there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GraphNode {
    pub id: String,
    #[schema(value_type = Value)]
    pub kind: serde_json::Value,
    #[schema(value_type = Option<Value>)]
    pub name: Option<serde_json::Value>,
    /// What the node's tasks offer (退回 targets, 加签 positions, 转交, 委托).
    #[schema(value_type = Option<Value>)]
    pub ops: Option<serde_json::Value>,
    #[schema(value_type = Option<Value>)]
    pub outcome: Option<serde_json::Value>,
    #[schema(value_type = Option<Value>)]
    pub default: Option<serde_json::Value>,
    #[schema(value_type = Option<Value>)]
    pub assignees: Option<serde_json::Value>,
    #[schema(value_type = Option<Value>)]
    pub mode: Option<serde_json::Value>,
    pub active: bool,
    pub visited: bool,
}

/// An instance's graph: its version's nodes and edges, and the designer's layout.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceGraph {
    pub nodes: Vec<GraphNode>,
    #[schema(value_type = Value)]
    pub edges: serde_json::Value,
    #[schema(value_type = Option<Value>)]
    pub layout: Option<serde_json::Value>,
}

/// A user an instance copied.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CcEntry {
    pub user: String,
    pub node: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One timeline row of an instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: Option<String>,
    pub event: String,
    pub node: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// One instance: status, graph with the current position, tasks, CC and the timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceDetail {
    pub id: Uuid,
    pub flow: String,
    pub version: i32,
    pub hash: String,
    pub object: String,
    pub record_id: Uuid,
    pub initiator: Uuid,
    pub status: String,
    #[schema(value_type = Option<Object>)]
    pub outcome: serde_json::Value,
    pub rev: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
    pub positions: Vec<String>,
    pub graph: InstanceGraph,
    #[schema(value_type = Vec<Object>)]
    pub incidents: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub timers: serde_json::Value,
    pub tasks: Vec<TaskView>,
    pub cc: Vec<CcEntry>,
    pub history: Vec<TimelineEntry>,
}

/// A stored business calendar.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarView {
    pub name: String,
    /// The calendar document: time zone, working days and hours, holidays.
    #[schema(value_type = Object)]
    pub calendar: serde_json::Value,
    pub updated_by: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The tenant's calendars, and the built-in ones every tenant has.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarList {
    pub calendars: Vec<CalendarView>,
    pub builtin: Vec<String>,
}
