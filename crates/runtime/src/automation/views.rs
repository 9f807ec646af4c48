//! Typed views of rules, runs, deliveries and notifications: what the automation service
//! returns and the API serializes (`/meta/rules…`, `/automation/…`, `/notifications…`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::doc::{ActionDoc, RuleProblem};
use super::ports::{
    DeliveryRow, NotificationRow, OutboxPayload, OutboxRow, RuleRow, RunProgress, RunStatus,
};

/// A stored rule: its document and version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    pub id: Uuid,
    pub api_name: String,
    pub object: String,
    /// validation | formula | default | required | read_only | trigger | rollup
    pub kind: String,
    pub active: bool,
    pub version: i64,
    /// The rule document (`weft.rule/1`).
    #[schema(value_type = Object)]
    pub doc: Json,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
    /// The job that backfills a saved roll-up over existing records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill_job: Option<Uuid>,
}

impl From<&RuleRow> for RuleView {
    fn from(r: &RuleRow) -> Self {
        Self {
            id: r.id,
            api_name: r.api_name.clone(),
            object: r.object.clone(),
            kind: r.kind.clone(),
            active: r.active,
            version: r.version,
            doc: r.doc.clone(),
            created_by: r.created_by,
            created_at: r.created_at,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
            backfill_job: None,
        }
    }
}

/// The tenant's rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<RuleView>,
}

/// A problem in a rule document, with its position in a script or template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleProblemView {
    /// JSON pointer into the document.
    pub path: String,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl From<RuleProblem> for RuleProblemView {
    fn from(p: RuleProblem) -> Self {
        Self {
            path: p.path,
            code: p.code,
            message: p.message,
            line: p.line,
            column: p.column,
        }
    }
}

/// The outcome of checking a rule document without saving it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleCheck {
    pub ok: bool,
    /// The rule's kind, when the document is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub problems: Vec<RuleProblemView>,
}

/// One run of the outbox: its inputs, progress and outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    pub id: Uuid,
    pub rule: String,
    pub rule_id: Option<Uuid>,
    pub object: String,
    pub record_id: Option<Uuid>,
    /// create | update | delete | restore | manual | schedule | date | flow | resend |
    /// schedule_tick | date_tick
    pub event: String,
    pub status: RunStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub depth: i32,
    pub idempotency_key: String,
    pub progress: RunProgress,
    pub error: Option<String>,
    /// The run's inputs (record, old, actor, actions; webhook secrets masked) or, for a
    /// tick, what the tick found.
    #[schema(value_type = Object)]
    pub input: OutboxPayload,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Webhook deliveries of the run (one run's view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<DeliveryRow>>,
}

impl From<&OutboxRow> for RunView {
    fn from(r: &OutboxRow) -> Self {
        let mut input = r.payload.clone();
        // Webhook secrets stay out of the run log.
        if let OutboxPayload::Run(run) = &mut input {
            for a in &mut run.actions {
                if let ActionDoc::Webhook { secret, .. } = a {
                    *secret = "********".into();
                }
            }
        }
        Self {
            id: r.id,
            rule: r.rule.clone(),
            rule_id: r.rule_id,
            object: r.object.clone(),
            record_id: r.record_id,
            event: r.event.clone(),
            status: r.status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            depth: r.depth,
            idempotency_key: r.idempotency_key.clone(),
            progress: r.progress.clone(),
            error: r.error.clone(),
            input,
            run_at: r.run_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deliveries: None,
        }
    }
}

/// The run log, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<RunView>,
}

/// The webhook delivery log, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryRow>,
}

/// An in-app notification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub object: Option<String>,
    pub record_id: Option<Uuid>,
    pub rule: Option<String>,
    pub read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&NotificationRow> for NotificationView {
    fn from(n: &NotificationRow) -> Self {
        Self {
            id: n.id,
            title: n.title.clone(),
            body: n.body.clone(),
            object: n.object.clone(),
            record_id: n.record_id,
            rule: n.rule.clone(),
            read: n.read_at.is_some(),
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

/// The caller's notifications, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationList {
    pub notifications: Vec<NotificationView>,
}

/// A notification marked read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationRead {
    pub id: Uuid,
    pub read: bool,
}

/// A manual rule a user may run on a record of the object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManualAction {
    pub rule: String,
    /// The button label.
    pub label: String,
    /// Whether the caller may run it (update access to the object).
    pub allowed: bool,
}

/// The manual rules of an object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManualActions {
    pub actions: Vec<ManualAction>,
}

/// A queued manual run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManualRun {
    /// The run's id; null when the request was a replay (nothing new queued).
    pub run: Option<Uuid>,
    pub idempotency_key: String,
    pub replayed: bool,
}

/// What a dry run found; nothing was changed or sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunReport {
    pub rule: String,
    pub kind: String,
    pub object: String,
    pub scanned: u64,
    pub matched: u64,
    pub errors: u64,
    /// Per matched record (up to `samples`): `{id, …}` with what the rule would do.
    #[schema(value_type = Vec<Object>)]
    pub samples: Vec<Json>,
    /// `{id, error}` of records the rule could not evaluate on.
    #[schema(value_type = Vec<Object>)]
    pub error_samples: Vec<Json>,
    /// By action type: how many times it would fire.
    pub actions_would_fire: BTreeMap<String, u64>,
    pub truncated: bool,
    pub side_effects: u32,
}

/// A rule dry run: an admin's background job (`/meta/rules/dry-run/{id}`). Its report
/// grows as it scans; nothing is changed or sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunJob {
    pub id: Uuid,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    /// Records it scans at most.
    pub limit: u64,
    /// What it has found so far.
    pub report: DryRunReport,
    /// Matched records kept for paging (`/matches`): the first 1,000.
    pub kept: u64,
    /// Why it stopped, when `failed` (`limit.cpu` when the rule used up a step's budget).
    pub error: Option<DryRunProblem>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a dry run failed, in English and Chinese.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct DryRunProblem {
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

/// One matched record of a dry run: its title and what the rule would do.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct DryRunMatch {
    pub id: Uuid,
    /// The record's name (its name field), as people know it.
    pub title: String,
    /// What the rule would do: `would_reject`, `field`/`before`/`after`, `locked` or
    /// `actions`.
    #[schema(value_type = Object)]
    pub outcome: Json,
}

/// A page of a dry run's matched records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunMatches {
    pub matches: Vec<DryRunMatch>,
    /// Matched records kept (at most 1,000).
    pub kept: u64,
    /// Matched records in all.
    pub matched: u64,
    /// The `offset` of the next page; null on the last.
    pub next_offset: Option<u64>,
}
