//! Rule documents behind the rule administration of [`Automation`] (see `service.rs`):
//! checking a draft against the tenant's metadata and the other rules, and storing a version
//! with its audit entry and, for a roll-up, its backfill job.

use super::Automation;
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::AutomationError;
use super::doc::{self, Compiled, RuleDoc, RuleProblem};
use super::engine::{RuleSet, stored_docs};
use super::ports::RuleRow;
use super::views::RuleView;
use crate::error::{Error, Result};
use crate::ports::TxMode;
use crate::principal::Principal;

/// The rule with this id or `api_name`.
pub(super) fn find<'a>(rows: &'a [RuleRow], id_or_name: &str) -> Option<&'a RuleRow> {
    let id = Uuid::parse_str(id_or_name).ok();
    rows.iter()
        .find(|r| Some(r.id) == id || r.api_name == id_or_name)
}

/// A document's problems as one validation error.
pub(super) fn invalid(ps: Vec<RuleProblem>) -> Error {
    Error::Validation(ps.into_iter().map(RuleProblem::into_problem).collect())
}

impl Automation {
    /// Parse and check a document against the tenant's current metadata and the other
    /// rules (formula cycles). `replacing` is the id of the rule being replaced.
    pub(super) async fn check_doc(
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

    pub(super) async fn store_rule(&self, p: &Principal, row: RuleRow) -> Result<RuleView> {
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let rows = tx.load_rules().await?;
        if rows
            .iter()
            .any(|r| r.api_name == row.api_name && r.id != row.id)
        {
            return Err(AutomationError::DuplicateRule {
                name: row.api_name.clone(),
            }
            .into());
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

    pub(super) async fn audit_rule(
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
}
