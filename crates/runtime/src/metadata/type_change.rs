//! Changing a field's type: a dry run, then a tracked background job that fills a shadow
//! column in batches and swaps it in.

use serde_json::{Value as Json, json};
use weft_meta::{FieldDef, TenantId};

/// Rows converted per batch (each batch commits with the job's cursor).
const BATCH: u32 = 1_000;

use super::*;

impl Metadata {
    pub(super) async fn field_change_type(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        body: &Json,
        dry_run: bool,
        on_invalid_null: bool,
    ) -> Result<TypeChange> {
        require_admin(p)?;
        reject_unknown(weft_meta::strict::field_unknown_keys(body, "", None))?;
        let obj = self.core.object(p.tenant, name).await?;
        let old = obj
            .field(field)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("field '{field}'")))?;
        if old.locked_by_job.is_some() {
            return Err(MetaError::FieldLocked.into());
        }
        let mut doc = body.clone();
        if let Some(m) = doc.as_object_mut() {
            m.insert("api_name".into(), json!(field));
            m.insert("id".into(), json!(old.id));
            m.entry("label")
                .or_insert(serde_json::to_value(&old.label).map_err(Error::internal)?);
        }
        let new: FieldDef = parse_doc(&doc)?;
        let refs = |k: &FieldKind| {
            matches!(
                k,
                FieldKind::Lookup { .. }
                    | FieldKind::MasterDetail { .. }
                    | FieldKind::MultiLookup { .. }
            )
        };
        if refs(&old.kind)
            || refs(&new.kind)
            || matches!(
                new.kind,
                FieldKind::AutoNumber { .. } | FieldKind::Attachment { .. }
            )
        {
            return Err(Error::one(
                "/type",
                "unsupported_conversion",
                "reference, auto-number and attachment fields cannot change type; add a new field instead",
            ));
        }
        let mut def = obj.def.clone();
        if let Some(slot) = def.fields.iter_mut().find(|f| f.name() == field) {
            *slot = new.clone();
        }
        let names: Vec<String> = self
            .core
            .meta(p.tenant)
            .await?
            .objects
            .keys()
            .cloned()
            .collect();
        let problems = validate_object(&def, &|t| names.iter().any(|n| n == t));
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        if dry_run {
            let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
            let (mut total, mut failed) = (0u64, 0u64);
            let mut samples = Vec::new();
            let mut after = None;
            loop {
                let page = tx.scan_column(&obj, field, after, 1_000).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.0);
                for (id, v) in &page {
                    if v.is_null() {
                        continue;
                    }
                    total += 1;
                    if convert(&old, &new, v).is_none() {
                        failed += 1;
                        if samples.len() < 20 {
                            samples.push(ConversionSample {
                                id: *id,
                                value: crate::json::value_json(&obj, field, v),
                            });
                        }
                    }
                }
            }
            tx.commit().await?;
            return Ok(TypeChange::DryRun(TypeChangeDryRun {
                dry_run: true,
                values: total,
                convertible: total - failed,
                not_convertible: failed,
                samples,
            }));
        }
        let job_id = Uuid::now_v7();
        let now = self.core.clock.now();
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let mut stored = self.stored_def(tx.as_mut(), name).await?;
        stored.version += 1;
        if let Some(f) = stored.fields.iter_mut().find(|f| f.name() == field) {
            f.locked_by_job = Some(job_id);
        }
        let job = JobRow {
            id: job_id,
            tenant: p.tenant.0,
            kind: "change_field_type".into(),
            payload: json!({"object": name, "field": field, "new": new, "on_invalid": if on_invalid_null { "null" } else { "fail" }}),
            status: "queued".into(),
            progress: json!({"phase": "queued", "done": 0}),
            attempts: 0,
            error: None,
            created_by: p.user.0,
            created_at: now,
            updated_at: now,
        };
        tx.insert_job(&job).await?;
        let rev = self.revision(
            p,
            &stored,
            "lock_field",
            json!({"field": field, "job": job_id}),
        );
        self.save_meta(tx.as_mut(), &stored, &rev, false).await?;
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        self.core.job_signal.notify_waiters();
        Ok(TypeChange::Started(TypeChangeStarted {
            dry_run: false,
            job: job_id,
        }))
    }
}

/// Runs `change_field_type` jobs.
pub(crate) struct TypeChangeJob {
    pub(crate) meta: Metadata,
}

#[async_trait::async_trait]
impl crate::jobs::JobHandler for TypeChangeJob {
    fn kind(&self) -> &'static str {
        "change_field_type"
    }

    async fn run(&self, job: JobRow) -> Result<()> {
        self.meta.job_change_field_type(job).await
    }
}

impl Metadata {
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
        self.core.invalidate_meta(tenant);
        let obj = self.core.object(tenant, &object).await?;
        let Some(old) = obj.field(&field).cloned() else {
            job.status = "failed".into();
            job.error = Some("the field no longer exists".into());
            return crate::jobs::save_job(&self.core, &job).await;
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
            job.updated_at = self.core.clock.now();
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
            job.updated_at = self.core.clock.now();
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
        job.updated_at = self.core.clock.now();
        tx.update_job(&job).await?;
        tx.commit().await?;
        self.core.invalidate_meta(tenant);
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
        job.updated_at = self.core.clock.now();
        tx.update_job(&job).await?;
        tx.commit().await?;
        self.core.invalidate_meta(tenant);
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
            at: self.core.clock.now(),
            summary,
            doc: serde_json::to_value(def).unwrap_or(Json::Null),
        }
    }
}
