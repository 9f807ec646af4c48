//! Background jobs: durable rows claimed with a lease, run step by step, each step committing
//! its progress with its effects so a crash resumes where it stopped.

use std::time::Duration;

use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_meta::value::convert;
use weft_meta::{FieldDef, TenantId, Value};

use crate::Runtime;
use crate::error::{Error, Result};
use crate::ports::{JobRow, TxMode};
use crate::principal::Principal;

const BATCH: u32 = 1_000;
const LEASE_SECS: i64 = 60;

impl Runtime {
    /// Claim and run due jobs once; returns how many ran.
    pub async fn run_jobs_once(&self, worker: &str) -> Result<usize> {
        let now = self.clock.now();
        let jobs = self.store.claim_jobs(worker, 4, LEASE_SECS, now).await?;
        let n = jobs.len();
        for job in jobs {
            let id = job.id;
            if let Err(e) = self.run_job(job).await {
                tracing::warn!(job.id = %id, error = %e, "job step failed");
            }
        }
        Ok(n)
    }

    /// Run jobs until `stop` resolves, polling every `every` or when signalled.
    pub async fn job_loop(
        &self,
        worker: String,
        every: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        loop {
            match self.run_jobs_once(&worker).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "job poll failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.job_signal.notified() => {}
                _ = stop.changed() => { if *stop.borrow() { return; } }
            }
        }
    }

    async fn run_job(&self, job: JobRow) -> Result<()> {
        match job.kind.as_str() {
            "change_field_type" => self.job_change_field_type(job).await,
            "rollup_backfill" => self.job_rollup_backfill(job).await,
            other => {
                let mut j = job.clone();
                j.status = "failed".into();
                j.error = Some(format!("unknown job kind '{other}'"));
                self.save_job(&j).await
            }
        }
    }

    async fn save_job(&self, job: &JobRow) -> Result<()> {
        let mut tx = self
            .store
            .begin(TenantId(job.tenant), TxMode::Write)
            .await?;
        tx.update_job(job).await?;
        tx.commit().await
    }

    async fn job_change_field_type(&self, mut job: JobRow) -> Result<()> {
        let tenant = TenantId(job.tenant);
        let object = job.payload["object"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let field = job.payload["field"].as_str().unwrap_or_default().to_owned();
        let null_invalid = job.payload["on_invalid"].as_str() == Some("null");
        let new: FieldDef =
            serde_json::from_value(job.payload["new"].clone()).map_err(Error::internal)?;
        self.invalidate_meta(tenant);
        let obj = self.object(tenant, &object).await?;
        let Some(old) = obj.field(&field).cloned() else {
            job.status = "failed".into();
            job.error = Some("the field no longer exists".into());
            return self.save_job(&job).await;
        };
        let phase = job.progress["phase"]
            .as_str()
            .unwrap_or("queued")
            .to_owned();
        if phase == "queued" {
            let mut tx = self.core.begin(tenant, TxMode::Write).await?;
            tx.add_shadow_column(&obj.def, &new).await?;
            job.status = "running".into();
            job.progress = json!({"phase": "copy", "done": 0, "failed": 0, "after": null});
            job.updated_at = self.clock.now();
            tx.update_job(&job).await?;
            tx.commit().await?;
        }
        // Copy in batches; each batch commits its rows and the cursor together.
        while job.progress["phase"] == "copy" {
            let after = job.progress["after"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok());
            let mut tx = self.core.begin(tenant, TxMode::Write).await?;
            let page = tx.scan_column(&obj, &field, after, BATCH).await?;
            if page.is_empty() {
                job.progress["phase"] = json!("swap");
                tx.update_job(&job).await?;
                tx.commit().await?;
                break;
            }
            let mut rows = Vec::with_capacity(page.len());
            let mut failed = 0u64;
            for (id, v) in &page {
                match convert(&old, &new, v) {
                    Some(nv) => rows.push((*id, nv)),
                    None => {
                        failed += 1;
                        rows.push((*id, Value::Null));
                    }
                }
            }
            if failed > 0 && !null_invalid {
                drop(tx);
                return self
                    .fail_type_change(
                        job,
                        &obj.def,
                        &new,
                        "some values do not convert (dry run first, or allow nulls)",
                    )
                    .await;
            }
            tx.write_shadow(&obj.def, &new, &rows).await?;
            let done = job.progress["done"].as_u64().unwrap_or(0) + page.len() as u64;
            let fails = job.progress["failed"].as_u64().unwrap_or(0) + failed;
            job.progress = json!({"phase": "copy", "done": done, "failed": fails,
                "after": page.last().map(|x| x.0.to_string())});
            job.updated_at = self.clock.now();
            tx.update_job(&job).await?;
            tx.commit().await?;
        }
        // Swap the columns and publish the new definition in one transaction.
        let mut tx = self.core.begin(tenant, TxMode::Write).await?;
        let mut def = tx
            .load_objects()
            .await?
            .into_iter()
            .find(|d| d.api_name.as_str() == object)
            .ok_or_else(|| Error::not_found("object"))?;
        tx.swap_shadow(&def, &old, &new).await?;
        def.version += 1;
        if let Some(f) = def.fields.iter_mut().find(|f| f.name() == field) {
            let mut nf = new.clone();
            nf.locked_by_job = None;
            nf.deleted_at = None;
            *f = nf;
        }
        let p = Principal::system(tenant, weft_meta::UserId(job.created_by));
        let summary = json!({"field": field, "from": old.kind.type_name(), "to": new.kind.type_name(), "job": job.id,
            "converted": job.progress["done"], "nulled": job.progress["failed"]});
        let rev = self.meta_revision_for(&p, &def, "change_field_type", summary);
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        job.status = "done".into();
        job.progress["phase"] = json!("done");
        job.updated_at = self.clock.now();
        tx.update_job(&job).await?;
        tx.commit().await?;
        self.invalidate_meta(tenant);
        Ok(())
    }

    async fn fail_type_change(
        &self,
        mut job: JobRow,
        def: &weft_meta::ObjectDef,
        new: &FieldDef,
        why: &str,
    ) -> Result<()> {
        let tenant = TenantId(job.tenant);
        let mut tx = self.core.begin(tenant, TxMode::Write).await?;
        tx.drop_shadow_column(def, new).await?;
        let mut stored = tx
            .load_objects()
            .await?
            .into_iter()
            .find(|d| d.api_name == def.api_name)
            .ok_or_else(|| Error::not_found("object"))?;
        stored.version += 1;
        for f in stored.fields.iter_mut() {
            if f.locked_by_job == Some(job.id) {
                f.locked_by_job = None;
            }
        }
        let p = Principal::system(tenant, weft_meta::UserId(job.created_by));
        let rev = self.meta_revision_for(
            &p,
            &stored,
            "unlock_field",
            json!({"job": job.id, "error": why}),
        );
        self.save_meta(tx.as_mut(), &stored, &rev, false).await?;
        job.status = "failed".into();
        job.error = Some(why.into());
        job.updated_at = self.clock.now();
        tx.update_job(&job).await?;
        tx.commit().await?;
        self.invalidate_meta(tenant);
        Ok(())
    }

    pub(crate) fn meta_revision_for(
        &self,
        p: &Principal,
        def: &weft_meta::ObjectDef,
        action: &str,
        summary: Json,
    ) -> crate::ports::MetaRevision {
        crate::ports::MetaRevision {
            id: Uuid::now_v7(),
            object_id: def.id.0,
            object: def.api_name.to_string(),
            version: def.version,
            action: action.into(),
            actor: p.user.0,
            at: self.clock.now(),
            summary,
            doc: serde_json::to_value(def).unwrap_or(Json::Null),
        }
    }

    /// Recompute a roll-up for every parent record, in batches; each batch commits its
    /// parents' new values with the job's cursor, so a crash resumes after the last batch.
    /// A newer version of the rule stops this job (the new version has its own).
    async fn job_rollup_backfill(&self, mut job: JobRow) -> Result<()> {
        use crate::automation::doc::Compiled;
        const PARENTS: u32 = 200;
        let tenant = TenantId(job.tenant);
        let rule_id = job.payload["rule_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok());
        let version = job.payload["version"].as_i64().unwrap_or(0);
        self.invalidate_meta(tenant);
        self.forget_rules(tenant);
        let meta = self.meta(tenant).await?;
        job.status = "running".into();
        loop {
            let mut tx = self.core.begin(tenant, TxMode::Write).await?;
            let set = self.rules_for(tx.as_mut(), &meta).await?;
            let rule = set
                .rollups
                .values()
                .flatten()
                .find(|r| Some(r.id) == rule_id)
                .cloned();
            let Some(rule) = rule.filter(|r| r.version == version) else {
                job.status = "done".into();
                job.progress["note"] = json!("the rule changed or was removed; nothing left to do");
                job.updated_at = self.clock.now();
                tx.update_job(&job).await?;
                return tx.commit().await;
            };
            let Compiled::Rollup { doc, filter } = &rule.compiled else {
                return Ok(());
            };
            let (Some(parent), Some(child)) = (
                meta.object(&rule.doc.object).cloned(),
                meta.object(&doc.child).cloned(),
            ) else {
                job.status = "failed".into();
                job.error = Some("an object of the roll-up no longer exists".into());
                tx.update_job(&job).await?;
                return tx.commit().await;
            };
            let after = job.progress["after"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok());
            let page = tx.scan_column(&parent, &doc.field, after, PARENTS).await?;
            if page.is_empty() {
                job.status = "done".into();
                job.updated_at = self.clock.now();
                tx.update_job(&job).await?;
                return tx.commit().await;
            }
            let mut p = Principal::system(tenant, weft_meta::UserId(job.created_by));
            p.source = crate::principal::Source::Rule;
            for (id, _) in &page {
                crate::automation::rollup::recompute_rollup(
                    self.records.path(),
                    &mut tx,
                    &p,
                    &child,
                    &rule,
                    doc,
                    filter.as_ref(),
                    *id,
                )
                .await?;
            }
            let done = job.progress["done"].as_u64().unwrap_or(0) + page.len() as u64;
            job.progress = json!({"done": done, "after": page.last().map(|x| x.0.to_string())});
            job.updated_at = self.clock.now();
            tx.update_job(&job).await?;
            self.records.path().commit(tx).await?;
        }
    }
}
