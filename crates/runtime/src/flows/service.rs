//! The public API of [`Workflows`]: every method a caller (the HTTP routes, the server, app
//! installs, tests) uses, each returning the service's own [`FlowError`]. The work is done in
//! the sibling files: definitions (`defs.rs`), starting (`start.rs`), commands on tasks and
//! instances (`commands.rs`, `exec.rs`), migration (`migrate.rs`), timers (`timers.rs`) and
//! the read side (`views.rs`). Business calendars are [`BusinessCalendars`] (`calendars.rs`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use uuid::Uuid;

use super::view_types::{
    FlowDefView, FlowList, FlowValidation, FlowVersionList, FlowVersionView, Inbox, InstanceDetail,
    InstanceList, InstanceSummary, MigrationReport, StartableFlows, StartedInstance,
};
use super::{BusinessCalendars, FlowCache, FlowError};
use super::{commands, defs, migrate, start, timers, views};
use crate::access::Access;
use crate::core::Core;
use crate::principal::Principal;
use crate::records::Records;

/// Workflows and approvals: definitions and versions, instances and their commands, the
/// task inbox, timers, the record lock and the instance views.
#[derive(Clone)]
pub struct Workflows {
    pub(crate) core: Arc<Core>,
    pub(crate) access: Access,
    pub(crate) records: Records,
    pub(crate) calendars: BusinessCalendars,
    pub(super) compiled: Arc<FlowCache>,
}

type Result<T> = std::result::Result<T, FlowError>;

impl Workflows {
    /// The service over the runtime's core, access, records and calendars.
    pub fn new(
        core: Arc<Core>,
        access: Access,
        records: Records,
        calendars: BusinessCalendars,
    ) -> Self {
        Self {
            core,
            access,
            records,
            calendars,
            compiled: Arc::default(),
        }
    }

    /// Business calendars (shared with the timers).
    pub fn calendars(&self) -> &BusinessCalendars {
        &self.calendars
    }

    // Definitions (admin only).

    /// Every flow's draft with its latest published version number.
    pub async fn list_flows(&self, p: &Principal) -> Result<FlowList> {
        Ok(defs::def_list(self, p).await?)
    }

    /// One flow's draft.
    pub async fn get_flow(&self, p: &Principal, key: &str) -> Result<FlowDefView> {
        Ok(defs::def_get(self, p, key).await?)
    }

    /// Save a draft: create (`key` = None, taken from the document) or replace.
    pub async fn save_flow(
        &self,
        p: &Principal,
        key: Option<&str>,
        body: &Json,
    ) -> Result<FlowDefView> {
        Ok(defs::def_save(self, p, key, body).await?)
    }

    /// Delete a draft and its versions; refused while any instance references it.
    pub async fn delete_flow(&self, p: &Principal, key: &str) -> Result<()> {
        Ok(defs::def_delete(self, p, key).await?)
    }

    /// Validate the stored draft: `{"ok": bool, "problems": [...]}`, every problem at once.
    pub async fn validate_flow(&self, p: &Principal, key: &str) -> Result<FlowValidation> {
        Ok(defs::def_validate(self, p, key).await?)
    }

    /// Publish the draft as a new immutable version. Running instances keep their version.
    pub async fn publish_flow(&self, p: &Principal, key: &str) -> Result<FlowVersionView> {
        Ok(defs::def_publish(self, p, key).await?)
    }

    /// A flow's published versions with their documents.
    pub async fn list_flow_versions(&self, p: &Principal, key: &str) -> Result<FlowVersionList> {
        Ok(defs::def_versions(self, p, key).await?)
    }

    /// Move running instances of a flow to another published version (or only report what
    /// would happen, with `dry_run`); all or nothing.
    pub async fn migrate_flow_instances(
        &self,
        p: &Principal,
        key: &str,
        body: &Json,
    ) -> Result<MigrationReport> {
        Ok(migrate::instances_migrate(self, p, key, body).await?)
    }

    // Instances and tasks.

    /// Start an instance of the latest published version of a flow on a record.
    pub async fn start_flow(&self, p: &Principal, body: &Json) -> Result<StartedInstance> {
        Ok(start::instance_start(self, p, body).await?)
    }

    /// Act on a task (approve, reject, return, transfer, delegate, add signer, comment, resubmit).
    pub async fn act_on_task(
        &self,
        p: &Principal,
        task_id: Uuid,
        body: &Json,
    ) -> Result<InstanceSummary> {
        Ok(commands::task_act(self, p, task_id, body).await?)
    }

    /// Act on an instance: withdraw, urge, comment; admins: retry, skip, cancel.
    pub async fn act_on_instance(
        &self,
        p: &Principal,
        id: Uuid,
        body: &Json,
    ) -> Result<InstanceSummary> {
        Ok(commands::instance_act(self, p, id, body).await?)
    }

    // Reading.

    /// The published flows a user may start on records of `object` (提交审批 on a record page).
    pub async fn startable_flows(&self, p: &Principal, object: &str) -> Result<StartableFlows> {
        Ok(views::startable(self, p, object).await?)
    }

    /// The caller's inbox `which`: `todo`, `done`, `started` or `cc`.
    pub async fn flow_inbox(
        &self,
        p: &Principal,
        which: &str,
        limit: Option<u32>,
    ) -> Result<Inbox> {
        Ok(views::inbox(self, p, which, limit).await?)
    }

    /// One instance (participants and admins): status, graph, tasks, CC and the timeline.
    pub async fn flow_instance_view(&self, p: &Principal, id: Uuid) -> Result<InstanceDetail> {
        Ok(views::instance_detail(self, p, id).await?)
    }

    /// The approvals of one record, newest first, for anyone who may read the record.
    pub async fn record_flow_instances(
        &self,
        p: &Principal,
        object: &str,
        record: Uuid,
    ) -> Result<InstanceList> {
        Ok(views::record_instances(self, p, object, record).await?)
    }

    /// Admin view: instances by status (default: running and incident).
    pub async fn list_flow_instances(
        &self,
        p: &Principal,
        status: Option<&str>,
    ) -> Result<InstanceList> {
        Ok(views::instances_list(self, p, status).await?)
    }

    // Timers.

    /// Fire up to `limit` due timers of every tenant; returns how many were claimed.
    pub async fn run_flow_timers(&self, worker: &str, limit: u32) -> Result<usize> {
        Ok(timers::timers_run(self, worker, limit).await?)
    }

    /// The timer loop of `weft serve`: poll every `every` until `stop` turns true.
    pub async fn flow_timer_loop(
        self,
        worker: String,
        every: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        timers::timers_loop(self, worker, every, stop).await
    }
}
