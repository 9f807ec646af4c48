//! Rule administration (`/meta/rules…`), the run log and webhook deliveries
//! (`/automation/…`), and in-app notifications (`/notifications…`).

use super::Automation;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::doc::{self, Compiled, RuleDoc, RuleProblem};
use super::engine::{RuleSet, stored_docs};
use super::ports::{OutboxPayload, OutboxRow, RuleRow, RunProgress, RunStatus};
use super::views::{
    DeliveryList, NotificationList, NotificationRead, NotificationView, RuleCheck, RuleList,
    RuleView, RunList, RunView,
};
use crate::error::{Error, Result};
use crate::ports::TxMode;
use crate::principal::Principal;

fn admin(p: &Principal) -> Result<()> {
    if p.is_admin && !p.view_as {
        Ok(())
    } else {
        Err(Error::forbidden(
            "admin_only",
            "only tenant admins manage rules and automation",
        ))
    }
}

fn find<'a>(rows: &'a [RuleRow], id_or_name: &str) -> Option<&'a RuleRow> {
    let id = Uuid::parse_str(id_or_name).ok();
    rows.iter()
        .find(|r| Some(r.id) == id || r.api_name == id_or_name)
}

fn invalid(ps: Vec<RuleProblem>) -> Error {
    Error::Validation(ps.into_iter().map(RuleProblem::into_problem).collect())
}

impl Automation {
    /// Parse and check a document against the tenant's current metadata and the other
    /// rules (formula cycles). `replacing` is the id of the rule being replaced.
    async fn check_doc(
        &self,
        p: &Principal,
        body: &Json,
        replacing: Option<Uuid>,
    ) -> Result<std::result::Result<RuleDoc, Vec<RuleProblem>>> {
        let doc = match doc::parse(body) {
            Ok(d) => d,
            Err(ps) => return Ok(Err(ps)),
        };
        let meta = self.core.meta(p.tenant).await?;
        let id = replacing.unwrap_or_else(Uuid::now_v7);
        let compiled = match doc::check(&meta, &doc, id, 0, p.user.0) {
            Ok(c) => c,
            Err(ps) => return Ok(Err(ps)),
        };
        if let Compiled::Formula { field, .. } = &compiled.compiled {
            let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
            let rows = tx.load_rules().await?;
            tx.commit().await?;
            let mut docs: Vec<_> = stored_docs(&rows)
                .into_iter()
                .filter(|(d, rid, _, _)| *rid != id && d.api_name != doc.api_name)
                .collect();
            let before = RuleSet::build(&meta, &docs)
                .object(&doc.object)
                .map(|o| o.formulas.len())
                .unwrap_or(0);
            let mut candidate = doc.clone();
            candidate.active = true;
            docs.push((candidate, id, 0, p.user.0));
            let after = RuleSet::build(&meta, &docs)
                .object(&doc.object)
                .map(|o| o.formulas.len())
                .unwrap_or(0);
            if after != before + 1 {
                return Ok(Err(vec![RuleProblem::new(
                    "/expression",
                    "formula_cycle",
                    format!(
                        "formula fields would depend on each other in a cycle through '{field}'"
                    ),
                )]));
            }
        }
        Ok(Ok(doc))
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

    pub async fn get_rule(&self, p: &Principal, id: &str) -> Result<RuleView> {
        admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.load_rules().await?;
        tx.commit().await?;
        find(&rows, id)
            .map(RuleView::from)
            .ok_or_else(|| Error::not_found("rule"))
    }

    async fn store_rule(&self, p: &Principal, row: RuleRow) -> Result<RuleView> {
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let rows = tx.load_rules().await?;
        if rows
            .iter()
            .any(|r| r.api_name == row.api_name && r.id != row.id)
        {
            return Err(Error::conflict(
                "duplicate_api_name",
                format!("a rule named '{}' exists", row.api_name),
            ));
        }
        tx.save_rule(&row).await?;
        tx.bump_rules_version().await?;
        self.audit_rule(tx.as_mut(), p, &row, "rule.saved").await?;
        // A roll-up added to (or changed over) existing data is backfilled by a resumable
        // job; writes from now on keep it exact themselves.
        let job = if row.kind == "rollup" && row.active {
            let now = self.core.clock.now();
            let job = crate::ports::JobRow {
                id: Uuid::now_v7(),
                tenant: p.tenant.0,
                kind: "rollup_backfill".into(),
                payload: json!({"rule_id": row.id, "rule": row.api_name, "version": row.version}),
                status: "queued".into(),
                progress: json!({"done": 0, "after": null}),
                attempts: 0,
                error: None,
                created_by: p.user.0,
                created_at: now,
                updated_at: now,
            };
            tx.insert_job(&job).await?;
            Some(job.id)
        } else {
            None
        };
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        self.forget_rules(p.tenant);
        if job.is_some() {
            self.core.job_signal.notify_waiters();
        }
        Ok(RuleView {
            backfill_job: job,
            ..RuleView::from(&row)
        })
    }

    async fn audit_rule(
        &self,
        tx: &mut dyn crate::ports::Tx,
        p: &Principal,
        row: &RuleRow,
        action: &str,
    ) -> Result<()> {
        self.core
            .audit(
                tx,
                Some(p.user.0),
                crate::access::audit::Event {
                    action,
                    object: Some(&row.object),
                    record_id: Some(row.id),
                    detail: json!({"rule": row.api_name, "version": row.version, "kind": row.kind}),
                },
            )
            .await
            .map(|_| ())
    }

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
        self.store_rule(p, row).await
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
        self.store_rule(p, row).await
    }

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
            return Err(Error::conflict(
                "not_failed",
                format!("the run is {}; only failed runs are retried", run.status),
            ));
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

    pub async fn mark_notification_read(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<NotificationRead> {
        if p.view_as {
            return Err(Error::forbidden(
                "read_only",
                "viewing as another user is read-only",
            ));
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let ok = tx
            .mark_notification_read(p.user.0, id, self.core.clock.now())
            .await?;
        tx.commit().await?;
        if !ok {
            return Err(Error::not_found("notification"));
        }
        Ok(NotificationRead { id, read: true })
    }
}
