//! The public API of the automation service, all in this file: rule administration
//! (`/meta/rules…`), dry runs, the run log and webhook deliveries (`/automation/…`), manual
//! actions, in-app notifications (`/notifications…`), and the worker's entry points. Every
//! method answers [`AutomationError`]; the work lives in the sibling files (`rules.rs`,
//! `dryrun.rs`, `schedule.rs`, `worker.rs`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use uuid::Uuid;

use super::AutomationError;
use super::RuleCache;
use super::ports::{Outbound, OutboxPayload, OutboxRow, RuleRow, RunProgress, RunStatus};
use super::rules::{find, invalid};
use super::views::{
    DeliveryList, DryRunJob, DryRunMatches, ManualActions, ManualRun, NotificationList,
    NotificationRead, NotificationView, RuleCheck, RuleList, RuleView, RunList, RunView,
};
use crate::access::Access;
use crate::core::Core;
use crate::error::Error;
use crate::ports::TxMode;
use crate::principal::Principal;
use crate::records::Records;

type Result<T, E = AutomationError> = std::result::Result<T, E>;

/// Rules and automation: rule documents, the run log and its worker, schedules, manual
/// actions, dry runs, webhook deliveries and in-app notifications.
#[derive(Clone)]
pub struct Automation {
    pub(crate) core: Arc<Core>,
    pub(crate) access: Access,
    pub(crate) records: Records,
    pub(crate) rules: Arc<RuleCache>,
}

/// Rules, runs and deliveries are for tenant admins, and not while viewing as another user.
fn admin(p: &Principal) -> Result<()> {
    if p.is_admin && !p.view_as {
        Ok(())
    } else {
        Err(AutomationError::AdminOnly)
    }
}

impl Automation {
    /// The service over the kernel, the access model, the records' write path and the rule cache.
    pub fn new(core: Arc<Core>, access: Access, records: Records, rules: Arc<RuleCache>) -> Self {
        Self {
            core,
            access,
            records,
            rules,
        }
    }

    /// `POST /meta/rules/check`: every problem, with line and column, without saving.
    pub async fn check_rule(&self, p: &Principal, body: &Json) -> Result<RuleCheck> {
        admin(p)?;
        Ok(match self.check_doc(p, body, None).await? {
            Ok(doc) => RuleCheck {
                ok: true,
                kind: Some(doc.body.kind().into()),
                problems: vec![],
            },
            Err(ps) => RuleCheck {
                ok: false,
                kind: None,
                problems: ps.into_iter().map(Into::into).collect(),
            },
        })
    }

    /// The tenant's rules, of one object when `object` is given.
    pub async fn list_rules(&self, p: &Principal, object: Option<&str>) -> Result<RuleList> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.load_rules().await?;
        tx.commit().await?;
        let rules = rows
            .iter()
            .filter(|r| object.is_none_or(|o| r.object == o))
            .map(RuleView::from)
            .collect();
        Ok(RuleList { rules })
    }

    /// One rule, by id or `api_name`.
    pub async fn get_rule(&self, p: &Principal, id: &str) -> Result<RuleView> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.load_rules().await?;
        tx.commit().await?;
        Ok(find(&rows, id)
            .map(RuleView::from)
            .ok_or_else(|| Error::not_found("rule"))?)
    }

    /// Check and save a new rule (version 1); a roll-up over existing data queues its backfill.
    pub async fn create_rule(&self, p: &Principal, body: &Json) -> Result<RuleView> {
        admin(p)?;
        let doc = self.check_doc(p, body, None).await?.map_err(invalid)?;
        let now = self.core.clock.now();
        let row = RuleRow {
            id: Uuid::now_v7(),
            api_name: doc.api_name.clone(),
            object: doc.object.clone(),
            kind: doc.body.kind().into(),
            active: doc.active,
            version: 1,
            doc: serde_json::to_value(&doc).map_err(Error::internal)?,
            created_by: p.user.0,
            created_at: now,
            updated_by: p.user.0,
            updated_at: now,
        };
        Ok(self.store_rule(p, row).await?)
    }

    /// Replace a rule's document (a new version).
    pub async fn update_rule(&self, p: &Principal, id: &str, body: &Json) -> Result<RuleView> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.load_rules().await?;
        tx.commit().await?;
        let cur = find(&rows, id)
            .cloned()
            .ok_or_else(|| Error::not_found("rule"))?;
        let doc = self
            .check_doc(p, body, Some(cur.id))
            .await?
            .map_err(invalid)?;
        let row = RuleRow {
            api_name: doc.api_name.clone(),
            object: doc.object.clone(),
            kind: doc.body.kind().into(),
            active: doc.active,
            version: cur.version + 1,
            doc: serde_json::to_value(&doc).map_err(Error::internal)?,
            updated_by: p.user.0,
            updated_at: self.core.clock.now(),
            ..cur
        };
        Ok(self.store_rule(p, row).await?)
    }

    /// Delete a rule (audited); its queued runs stay in the log.
    pub async fn delete_rule(&self, p: &Principal, id: &str) -> Result<()> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let rows = tx.load_rules().await?;
        let cur = find(&rows, id)
            .cloned()
            .ok_or_else(|| Error::not_found("rule"))?;
        tx.delete_rule(cur.id).await?;
        tx.bump_rules_version().await?;
        self.audit_rule(tx.as_mut(), p, &cur, "rule.deleted")
            .await?;
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        self.forget_rules(p.tenant);
        Ok(())
    }

    /// `POST /meta/rules/dry-run`: check a draft (`rule`) or saved (`api_name`) rule and queue
    /// a background job that evaluates it over existing records and reports what would happen;
    /// writes and sends nothing. Admins only.
    pub async fn dry_run_rule(&self, p: &Principal, body: &Json) -> Result<DryRunJob> {
        admin(p)?;
        Ok(self.start_dry_run(p, body).await?)
    }

    /// A dry run's state and what it has found so far.
    pub async fn dry_run_job(&self, p: &Principal, id: Uuid) -> Result<DryRunJob> {
        admin(p)?;
        Ok(self.dry_run_status(p, id).await?)
    }

    /// A page of a dry run's matched records (`limit` ≤ 200 from `offset`).
    pub async fn dry_run_matched(
        &self,
        p: &Principal,
        id: Uuid,
        offset: u64,
        limit: u64,
    ) -> Result<DryRunMatches> {
        admin(p)?;
        Ok(self.dry_run_matches(p, id, offset, limit).await?)
    }

    /// Stop a dry run; what it found so far stays readable.
    pub async fn cancel_dry_run_job(&self, p: &Principal, id: Uuid) -> Result<DryRunJob> {
        admin(p)?;
        Ok(self.cancel_dry_run(p, id).await?)
    }

    /// The run log, newest first, optionally of one status (at most 500).
    pub async fn list_runs(
        &self,
        p: &Principal,
        status: Option<RunStatus>,
        limit: u32,
    ) -> Result<RunList> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.runs(status, limit.clamp(1, 500)).await?;
        tx.commit().await?;
        Ok(RunList {
            runs: rows.iter().map(RunView::from).collect(),
        })
    }

    /// One run with its webhook deliveries.
    pub async fn get_run(&self, p: &Principal, id: Uuid) -> Result<RunView> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let run = tx.run(id).await?.ok_or_else(|| Error::not_found("run"))?;
        let deliveries = tx.deliveries(Some(id), 100).await?;
        tx.commit().await?;
        Ok(RunView {
            deliveries: Some(deliveries),
            ..RunView::from(&run)
        })
    }

    /// Queue a failed (or skipped) run again, keeping the actions it already finished.
    pub async fn retry_run(&self, p: &Principal, id: Uuid) -> Result<RunView> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let mut run = tx.run(id).await?.ok_or_else(|| Error::not_found("run"))?;
        if !matches!(run.status, RunStatus::Failed | RunStatus::Skipped) {
            return Err(AutomationError::RunNotRetryable { status: run.status });
        }
        let now = self.core.clock.now();
        run.status = RunStatus::Queued;
        run.attempts = 0;
        run.run_at = now;
        run.lease_until = None;
        run.lease_owner = None;
        run.updated_at = now;
        tx.update_run(&run).await?;
        tx.commit().await?;
        self.core.job_signal.notify_waiters();
        Ok(RunView::from(&run))
    }

    /// Webhook deliveries, newest first (at most 500).
    pub async fn list_deliveries(&self, p: &Principal, limit: u32) -> Result<DeliveryList> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.deliveries(None, limit.clamp(1, 500)).await?;
        tx.commit().await?;
        Ok(DeliveryList { deliveries: rows })
    }

    /// Send a webhook delivery again: a new run with that one action, the same body and
    /// the same idempotency key (receivers that already processed it can tell).
    pub async fn resend_delivery(&self, p: &Principal, id: Uuid) -> Result<RunView> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let d = tx
            .delivery(id)
            .await?
            .ok_or_else(|| Error::not_found("delivery"))?;
        let orig = tx
            .run(d.job_id)
            .await?
            .ok_or_else(|| Error::not_found("run"))?;
        let mut input = orig
            .payload
            .run()
            .cloned()
            .ok_or_else(|| Error::not_found("webhook action"))?;
        let action = usize::try_from(d.action_index)
            .ok()
            .and_then(|i| input.actions.get(i))
            .cloned()
            .ok_or_else(|| Error::not_found("webhook action"))?;
        let now = self.core.clock.now();
        input.actions = vec![action];
        input.effect_keys = [("0".to_owned(), d.idempotency_key.clone())].into();
        input.event = Some(orig.event.clone());
        let run = OutboxRow {
            id: Uuid::now_v7(),
            event: "resend".into(),
            payload: OutboxPayload::Run(Box::new(input)),
            status: RunStatus::Queued,
            attempts: 0,
            max_attempts: 1,
            idempotency_key: format!("resend:{}:{}", d.id, Uuid::now_v7()),
            progress: RunProgress::default(),
            error: None,
            run_at: now,
            lease_until: None,
            lease_owner: None,
            created_at: now,
            updated_at: now,
            ..orig
        };
        tx.enqueue_runs(std::slice::from_ref(&run)).await?;
        tx.commit().await?;
        self.core.job_signal.notify_waiters();
        Ok(RunView::from(&run))
    }

    /// The manual rules a user may run on records of `object`: `[{rule, label, allowed}]`.
    pub async fn manual_actions(&self, p: &Principal, object: &str) -> Result<ManualActions> {
        Ok(self.manual_list(p, object).await?)
    }

    /// Run a manual rule on one record: the user needs update access to the record. The
    /// run is queued (202); `request_key` (the client's `Idempotency-Key`) makes a retried
    /// request queue nothing new.
    pub async fn run_manual(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        rule_name: &str,
        request_key: Option<&str>,
    ) -> Result<ManualRun> {
        Ok(self
            .manual_queue(p, object, id, rule_name, request_key)
            .await?)
    }

    /// The caller's notifications, newest first.
    pub async fn list_notifications(
        &self,
        p: &Principal,
        unread_only: bool,
        limit: u32,
    ) -> Result<NotificationList> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx
            .notifications(p.user.0, unread_only, limit.clamp(1, 200))
            .await?;
        tx.commit().await?;
        Ok(NotificationList {
            notifications: rows.iter().map(NotificationView::from).collect(),
        })
    }

    /// Mark one of the caller's notifications read.
    pub async fn mark_notification_read(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<NotificationRead> {
        if p.view_as {
            return Err(AutomationError::ReadOnlyView);
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let ok = tx
            .mark_notification_read(p.user.0, id, self.core.clock.now())
            .await?;
        tx.commit().await?;
        if !ok {
            return Err(Error::not_found("notification").into());
        }
        Ok(NotificationRead { id, read: true })
    }

    /// One pass of the scheduler over every tenant's schedule and date rules; returns the
    /// number of runs queued. Called by the worker loop; tests call it with a manual clock.
    pub async fn run_schedules_once(&self) -> Result<usize> {
        Ok(self.schedule_pass().await?)
    }

    /// Claim due runs once and execute them; returns how many were claimed.
    pub async fn run_automation_once(&self, out: &dyn Outbound, worker: &str) -> Result<usize> {
        Ok(self.claim_and_run(out, worker).await?)
    }

    /// Run the outbox (and the scheduler) until `stop` turns true, polling every `every` or
    /// when a write queues work in this process.
    pub async fn automation_loop(
        &self,
        worker: String,
        out: Arc<dyn Outbound>,
        every: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        self.outbox_loop(worker, out, every, stop).await;
    }
}
