//! Storage needs of rules and automation (rule documents, runs, outbox, notifications), and
//! the outbound channels (webhooks, e-mail) the worker delivers through.
//! Storage is implemented by `weft-store` in `crates/store/src/automation.rs`; the outbound
//! channels by `weft-outbound`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::doc::ActionDoc;
use crate::error::Result;

/// A stored rule document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleRow {
    pub id: Uuid,
    pub api_name: String,
    pub object: String,
    pub kind: String,
    pub active: bool,
    pub version: i64,
    pub doc: Json,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
}

/// The state of a run in the outbox (stored as its snake-case name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker (or for its retry time).
    Queued,
    /// Claimed by a worker with a lease.
    Running,
    Done,
    /// Failed for good (attempts exhausted, or not retryable).
    Failed,
    /// Not run: cascade limit reached, or its workflow instance ended.
    Skipped,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Done,
        RunStatus::Failed,
        RunStatus::Skipped,
    ];

    /// The stored (and wire) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The inputs of a rule's (or a workflow's) run: the record as written, the record before,
/// who wrote it, and the actions to run (tagged by `type`: `update_record`,
/// `update_related`, `create_record`, `assign_owner`, `notify`, `webhook`, `email`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInput {
    pub record: Option<Map<String, Json>>,
    pub old: Option<Map<String, Json>>,
    pub actor: Uuid,
    /// Where the write came from (`ui`, `api`, `rule`, `flow`, …).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_version: Option<i64>,
    /// The user the actions run as.
    pub run_as: Uuid,
    /// The workflow instance whose action node queued this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_instance: Option<Uuid>,
    pub actions: Vec<ActionDoc>,
    /// Effect keys kept from an earlier run (a resend, a workflow's step), by action index;
    /// other actions use `<run key>:<index>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub effect_keys: BTreeMap<String, String>,
    /// The original event of a resend (so the webhook body is the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

impl RunInput {
    /// The effect key of action `i`, if one was kept from an earlier run.
    pub fn effect_key(&self, i: usize) -> Option<&str> {
        self.effect_keys.get(&i.to_string()).map(String::as_str)
    }
}

/// What a schedule or date tick found (the tick's own outbox row, which claims the tick).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TickInfo {
    pub tick: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanned: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

/// An outbox row's payload, stored as JSON in the shape of its variant (no tag: the stored
/// shapes predate the type, and `Run` and `Tick` have disjoint required keys).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OutboxPayload {
    Run(Box<RunInput>),
    Tick(TickInfo),
    /// A stored payload that no longer reads as either (e.g. an action type since removed):
    /// kept as is, so saving the row does not lose it; the worker fails such a run.
    Unreadable(Json),
}

impl OutboxPayload {
    pub fn run(&self) -> Option<&RunInput> {
        match self {
            OutboxPayload::Run(r) => Some(r),
            _ => None,
        }
    }
}

/// Which actions of a run are done and what each returned, by index (`{"done": [0, 1],
/// "results": {"0": …}}`), so a retry resumes after them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunProgress {
    #[serde(default)]
    pub done: Vec<u64>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub results: Map<String, Json>,
}

/// One triggered rule run: written to the outbox in the transaction of the write that
/// triggered it, claimed by a worker with a lease, kept as the run log.
#[derive(Clone, Debug, Serialize)]
pub struct OutboxRow {
    pub id: Uuid,
    pub tenant: Uuid,
    pub rule_id: Option<Uuid>,
    pub rule: String,
    pub object: String,
    pub record_id: Option<Uuid>,
    /// create | update | delete | restore | manual | schedule | date | flow | resend |
    /// schedule_tick | date_tick
    pub event: String,
    /// The inputs: record, old, actor, the rule's actions at the time of the write.
    pub payload: OutboxPayload,
    pub status: RunStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Cascade depth: 0 for a write by a person or integration.
    pub depth: i32,
    /// Stable per run; each effect's key is `<this>:<action index>`.
    pub idempotency_key: String,
    pub progress: RunProgress,
    pub error: Option<String>,
    pub run_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub lease_owner: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OutboxRow {
    /// The parts every new run shares: a fresh id, queued now, no attempts, no lease, empty
    /// progress. Callers fill in what the run is (`OutboxRow { tenant, rule, …,
    /// ..OutboxRow::fresh(now) }`).
    pub fn fresh(now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            tenant: Uuid::nil(),
            rule_id: None,
            rule: String::new(),
            object: String::new(),
            record_id: None,
            event: String::new(),
            payload: OutboxPayload::Unreadable(Json::Null),
            status: RunStatus::Queued,
            attempts: 0,
            max_attempts: super::after::DEFAULT_ATTEMPTS,
            depth: 0,
            idempotency_key: String::new(),
            progress: RunProgress::default(),
            error: None,
            run_at: now,
            lease_until: None,
            lease_owner: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// One webhook attempt.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub job_id: Uuid,
    pub action_index: i32,
    pub url: String,
    pub idempotency_key: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub ok: bool,
    pub error: Option<String>,
    pub request_body: String,
    pub response_excerpt: Option<String>,
    pub at: DateTime<Utc>,
}

/// An in-app notification.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotificationRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub body: String,
    pub object: Option<String>,
    pub record_id: Option<Uuid>,
    pub rule: Option<String>,
    pub idempotency_key: String,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait AutomationTx: Send {
    async fn load_rules(&mut self) -> Result<Vec<RuleRow>>;
    /// Insert the rule, or replace the one with the same id.
    async fn save_rule(&mut self, row: &RuleRow) -> Result<()>;
    async fn delete_rule(&mut self, id: Uuid) -> Result<bool>;
    /// Bump the tenant's metadata version, so every process recompiles its rules.
    async fn bump_rules_version(&mut self) -> Result<()>;

    /// Add runs to the outbox; a run whose idempotency key exists is skipped.
    async fn enqueue_runs(&mut self, rows: &[OutboxRow]) -> Result<()>;
    async fn update_run(&mut self, row: &OutboxRow) -> Result<()>;
    /// Insert one run; `false` when a run with its idempotency key exists (on PostgreSQL a
    /// concurrent insert of the same key waits for the other transaction, then yields).
    async fn enqueue_run_once(&mut self, row: &OutboxRow) -> Result<bool>;
    /// Mark queued (not yet claimed) runs whose idempotency key starts with `key_prefix` as
    /// skipped with `reason`; returns how many. A withdrawn workflow drops its deliveries.
    async fn skip_queued_runs(&mut self, key_prefix: &str, reason: &str) -> Result<u64>;
    async fn run(&mut self, id: Uuid) -> Result<Option<OutboxRow>>;
    async fn runs(&mut self, status: Option<RunStatus>, limit: u32) -> Result<Vec<OutboxRow>>;

    async fn insert_delivery(&mut self, row: &DeliveryRow) -> Result<()>;
    async fn delivery(&mut self, id: Uuid) -> Result<Option<DeliveryRow>>;
    async fn deliveries(&mut self, job: Option<Uuid>, limit: u32) -> Result<Vec<DeliveryRow>>;

    /// Insert a notification; `false` when one with the same idempotency key exists.
    async fn insert_notification(&mut self, row: &NotificationRow) -> Result<bool>;
    async fn notifications(
        &mut self,
        user: Uuid,
        unread_only: bool,
        limit: u32,
    ) -> Result<Vec<NotificationRow>>;
    async fn mark_notification_read(
        &mut self,
        user: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool>;
}

/// Cross-tenant outbox access, before a tenant is known (the worker's claim).
#[async_trait]
pub trait AutomationStore: Send + Sync {
    /// Due runs of any tenant, claimed with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
    /// SQLite: one `UPDATE … RETURNING` statement on the single writer). Rows of
    /// `skip_tenants` are left for later (they have as much in flight as they may).
    async fn claim_runs(
        &self,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
        skip_tenants: &[Uuid],
    ) -> Result<Vec<OutboxRow>>;

    /// Active trigger rules of every tenant with a `schedule` or `date` event, as
    /// `(tenant, rule)`.
    async fn timed_rules(&self) -> Result<Vec<(Uuid, RuleRow)>>;
}

/// A webhook request, already signed.
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    /// POST, PUT, PATCH or DELETE.
    pub method: String,
    pub url: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct WebhookResponse {
    pub status: u16,
    /// The first bytes of the response body.
    pub excerpt: String,
}

#[derive(Clone, Debug)]
pub struct EmailMessage {
    pub to: Vec<String>,
    pub subject: String,
    pub html: String,
    /// `Message-ID`, derived from the effect's idempotency key.
    pub message_id: String,
}

/// Where external effects go. The implementation enforces the SSRF guard and timeouts.
#[async_trait]
pub trait Outbound: Send + Sync {
    async fn post_webhook(
        &self,
        req: &WebhookRequest,
    ) -> std::result::Result<WebhookResponse, String>;
    async fn send_email(&self, msg: &EmailMessage) -> std::result::Result<(), String>;
}

/// An outbound channel that delivers nothing (dry runs and workers without a configuration).
pub struct NoOutbound;

#[async_trait]
impl Outbound for NoOutbound {
    async fn post_webhook(
        &self,
        _req: &WebhookRequest,
    ) -> std::result::Result<WebhookResponse, String> {
        Err("webhooks are not configured in this process".into())
    }
    async fn send_email(&self, _msg: &EmailMessage) -> std::result::Result<(), String> {
        Err("e-mail is not configured in this process (no SMTP server)".into())
    }
}
