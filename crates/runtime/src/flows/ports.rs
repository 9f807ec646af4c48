//! Storage needs of the workflow runtime. Implemented by `weft-store` in
//! `crates/store/src/flows.rs`. Every `FlowTx` call is bound to the transaction's tenant.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use uuid::Uuid;
use weft_meta::TenantId;

use crate::error::Result;

/// A draft definition (editable).
#[derive(Clone, Debug, PartialEq)]
pub struct FlowDefRow {
    pub key: String,
    pub object: String,
    pub doc: Json,
    /// Highest published version (0 = never published).
    pub latest_version: i32,
    pub updated_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A published, immutable version.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowVersionRow {
    pub id: Uuid,
    pub key: String,
    pub version: i32,
    pub object: String,
    /// sha256 of the canonical definition JSON.
    pub hash: String,
    pub doc: Json,
    pub published_by: Uuid,
    pub published_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowInstanceRow {
    pub id: Uuid,
    pub version_id: Uuid,
    pub flow_key: String,
    pub version: i32,
    pub object: String,
    pub record_id: Uuid,
    pub initiator: Uuid,
    /// running | incident | approved | rejected | withdrawn | terminated
    pub status: String,
    pub rev: i64,
    pub state: Json,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowTaskRow {
    pub id: Uuid,
    pub instance_id: Uuid,
    /// The engine's task number within the instance.
    pub task: i32,
    pub ni: i32,
    pub node: String,
    pub assignee: String,
    pub acting_for: Option<String>,
    /// normal | before | after | parallel | resubmit
    pub kind: String,
    /// open | approved | rejected | transferred | cancelled | suspended
    pub status: String,
    pub reason: Option<String>,
    pub flow_key: String,
    pub object: String,
    pub record_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowCcRow {
    pub user_id: String,
    pub instance_id: Uuid,
    pub node: String,
    pub flow_key: String,
    pub object: String,
    pub record_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// One timeline entry (审批记录).
#[derive(Clone, Debug, PartialEq)]
pub struct FlowEventRow {
    pub instance_id: Uuid,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub event: String,
    pub node: Option<String>,
    pub data: Json,
}

/// A tenant's named business calendar (`/meta/calendars`).
#[derive(Clone, Debug, PartialEq)]
pub struct FlowCalendarRow {
    pub name: String,
    pub doc: Json,
    pub updated_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A due timer claimed by a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedTimer {
    pub tenant: TenantId,
    pub instance_id: Uuid,
    pub timer: i32,
    pub due_at: DateTime<Utc>,
    pub attempts: i32,
}

/// Which inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceFilter {
    /// Instances started by this user.
    StartedBy(Uuid),
    /// Instances with this status (admin view); `None` = running and incident.
    Status(Option<&'static str>),
    /// Every instance on one record, whatever its status.
    Record(Uuid),
}

/// The workflow runtime's storage, split by table family; `FlowTx` is the union.
pub trait FlowTx:
    FlowDefTx + FlowInstanceTx + FlowTaskTx + FlowTimerTx + FlowEventTx + FlowCalendarTx + Send
{
}

impl<T> FlowTx for T where
    T: FlowDefTx + FlowInstanceTx + FlowTaskTx + FlowTimerTx + FlowEventTx + FlowCalendarTx + Send
{
}

/// Drafts and published versions.
#[async_trait]
pub trait FlowDefTx: Send {
    async fn flow_def(&mut self, key: &str) -> Result<Option<FlowDefRow>>;
    async fn flow_defs(&mut self) -> Result<Vec<FlowDefRow>>;
    /// Insert or replace a draft.
    async fn flow_def_put(&mut self, row: &FlowDefRow) -> Result<()>;
    async fn flow_def_delete(&mut self, key: &str) -> Result<bool>;
    /// Insert a published version. A concurrent publish of the same number is a conflict.
    async fn flow_version_insert(&mut self, row: &FlowVersionRow) -> Result<()>;
    async fn flow_versions(&mut self, key: &str) -> Result<Vec<FlowVersionRow>>;
    async fn flow_version(&mut self, id: Uuid) -> Result<Option<FlowVersionRow>>;
    async fn flow_versions_delete(&mut self, key: &str) -> Result<()>;
    /// Instances of any version of `key`.
    async fn flow_instance_count(&mut self, key: &str) -> Result<i64>;
}

/// Running and finished instances.
#[async_trait]
pub trait FlowInstanceTx: Send {
    async fn flow_instance_insert(&mut self, row: &FlowInstanceRow) -> Result<()>;
    async fn flow_instance(&mut self, id: Uuid) -> Result<Option<FlowInstanceRow>>;
    /// Compare-and-swap: store the new state only if the stored revision is still `old_rev`.
    /// Returns false (and changes nothing) on a conflict.
    async fn flow_instance_cas(
        &mut self,
        id: Uuid,
        old_rev: i64,
        new_rev: i64,
        status: &str,
        state: &Json,
        at: DateTime<Utc>,
        ended_at: Option<DateTime<Utc>>,
    ) -> Result<bool>;
    /// Running (or incident) instances on one record.
    async fn flow_active_on_record(&mut self, record: Uuid) -> Result<Vec<FlowInstanceRow>>;
    async fn flow_instances(
        &mut self,
        filter: InstanceFilter,
        limit: u32,
    ) -> Result<Vec<FlowInstanceRow>>;
    /// Running (or incident) instances of any version of `key`, oldest first.
    async fn flow_active_instances_of(
        &mut self,
        key: &str,
        limit: u32,
    ) -> Result<Vec<FlowInstanceRow>>;
    /// Point an instance at another published version (migration).
    async fn flow_instance_set_version(
        &mut self,
        id: Uuid,
        version_id: Uuid,
        version: i32,
    ) -> Result<()>;
}

/// The inbox: tasks and CC rows.
#[async_trait]
pub trait FlowTaskTx: Send {
    async fn flow_tasks_insert(&mut self, rows: &[FlowTaskRow]) -> Result<()>;
    async fn flow_task_set_status(
        &mut self,
        instance: Uuid,
        task: i32,
        status: &str,
        reason: Option<&str>,
        closed_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// Move a task to another node id (migration).
    async fn flow_task_set_node(&mut self, instance: Uuid, task: i32, node: &str) -> Result<()>;
    async fn flow_task(&mut self, id: Uuid) -> Result<Option<FlowTaskRow>>;
    async fn flow_tasks_of(&mut self, instance: Uuid) -> Result<Vec<FlowTaskRow>>;
    /// Tasks of `user` with `status` (open = 待我审批), newest first.
    async fn flow_tasks_for(
        &mut self,
        user: &str,
        status: &str,
        limit: u32,
    ) -> Result<Vec<FlowTaskRow>>;
    async fn flow_cc_insert(&mut self, rows: &[FlowCcRow]) -> Result<()>;
    async fn flow_cc_for(&mut self, user: &str, limit: u32) -> Result<Vec<FlowCcRow>>;
    async fn flow_cc_of(&mut self, instance: Uuid) -> Result<Vec<FlowCcRow>>;
}

/// Timers (timeouts, reminders, waits) of instances.
#[async_trait]
pub trait FlowTimerTx: Send {
    async fn flow_timer_put(
        &mut self,
        instance: Uuid,
        timer: i32,
        node: &str,
        due_at: DateTime<Utc>,
    ) -> Result<()>;
    async fn flow_timer_delete(&mut self, instance: Uuid, timer: i32) -> Result<()>;
}

/// The append-only timeline of instances.
#[async_trait]
pub trait FlowEventTx: Send {
    async fn flow_events_append(&mut self, rows: &[FlowEventRow]) -> Result<()>;
    async fn flow_events(&mut self, instance: Uuid) -> Result<Vec<FlowEventRow>>;
}

/// Business calendars.
#[async_trait]
pub trait FlowCalendarTx: Send {
    async fn flow_calendars(&mut self) -> Result<Vec<FlowCalendarRow>>;
    async fn flow_calendar(&mut self, name: &str) -> Result<Option<FlowCalendarRow>>;
    /// Insert or replace.
    async fn flow_calendar_put(&mut self, row: &FlowCalendarRow) -> Result<()>;
    async fn flow_calendar_delete(&mut self, name: &str) -> Result<bool>;
}

/// Cross-tenant access the timer worker needs before it knows the tenant.
#[async_trait]
pub trait FlowStore: Send + Sync {
    /// Claim due timers with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several
    /// workers and processes never fire one timer twice at the same time.
    async fn claim_flow_timers(
        &self,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
        skip_tenants: &[Uuid],
    ) -> Result<Vec<ClaimedTimer>>;
}
