//! The `rollup_backfill` job: when a roll-up is saved, every parent's value is recomputed in
//! batches through the write path; each batch commits its parents with the job's cursor.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use uuid::Uuid;
use weft_meta::TenantId;

use super::RuleCache;
use crate::core::Core;
use crate::error::Result;
use crate::jobs::JobHandler;
use crate::ports::{JobRow, TxMode};
use crate::principal::Principal;
use crate::records::WritePath;

/// Runs `rollup_backfill` jobs.
pub(crate) struct RollupBackfillJob {
    pub(crate) core: Arc<Core>,
    pub(crate) rules: Arc<RuleCache>,
    pub(crate) path: WritePath,
}

#[async_trait]
impl JobHandler for RollupBackfillJob {
    fn kind(&self) -> &'static str {
        "rollup_backfill"
    }

    /// Recompute a roll-up for every parent record, in batches; each batch commits its
    /// parents' new values with the job's cursor, so a crash resumes after the last batch.
    /// A newer version of the rule stops this job (the new version has its own).
    async fn run(&self, mut job: JobRow) -> Result<()> {
        use super::doc::Compiled;
        const PARENTS: u32 = 200;
        let tenant = TenantId(job.tenant);
        let rule_id = job.payload["rule_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok());
        let version = job.payload["version"].as_i64().unwrap_or(0);
        self.core.invalidate_meta(tenant);
        self.rules.forget(tenant);
        let meta = self.core.meta(tenant).await?;
        job.status = "running".into();
        loop {
            let mut tx = self.core.begin(tenant, TxMode::Write).await?;
            let set = self.rules.get(tx.as_mut(), &meta).await?;
            let rule = set
                .rollups
                .values()
                .flatten()
                .find(|r| Some(r.id) == rule_id)
                .cloned();
            let Some(rule) = rule.filter(|r| r.version == version) else {
                job.status = "done".into();
                job.progress["note"] = json!("the rule changed or was removed; nothing left to do");
                job.updated_at = self.core.clock.now();
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
                job.updated_at = self.core.clock.now();
                tx.update_job(&job).await?;
                return tx.commit().await;
            }
            let mut p = Principal::system(tenant, weft_meta::UserId(job.created_by));
            p.source = crate::principal::Source::Rule;
            for (id, _) in &page {
                super::rollup::recompute_rollup(
                    &self.path,
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
            job.updated_at = self.core.clock.now();
            tx.update_job(&job).await?;
            self.path.commit(tx).await?;
        }
    }
}
