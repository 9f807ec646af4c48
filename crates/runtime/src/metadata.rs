//! Metadata changes at runtime: objects and fields created, changed and deleted through the
//! API with no restart. Each change validates the whole document, alters storage and saves
//! the new version with its revision in one transaction.

use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_meta::query::{CmpOp, Col, ColKind, Pred};
use weft_meta::schema::write_schema;
use weft_meta::value::convert;
use weft_meta::{
    ApiName, CompiledObject, FieldDef, FieldKind, ObjectDef, Problem, Value, WriteMode,
    validate_object,
};

use crate::Runtime;
use crate::error::{Error, Result};
use crate::ports::{FetchOpts, JobRow, MetaRevision, Tx, TxMode};
use crate::principal::Principal;

pub const MAX_OBJECTS_PER_TENANT: usize = 1_000;

/// Deserialize a document, reporting the JSON path of the first problem.
pub fn parse_doc<T: DeserializeOwned>(v: &Json) -> Result<T> {
    parse_doc_as(v, "invalid")
}

/// [`parse_doc`] with the problem's code (`flow.invalid`, `calendar.invalid`…).
pub fn parse_doc_as<T: DeserializeOwned>(v: &Json, code: &str) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        // serde_path_to_error writes `fields[3].api_name`; we answer with `/fields/3/api_name`.
        let pointer = if path == "." {
            String::new()
        } else {
            let segs: Vec<&str> = path
                .split(['.', '[', ']'])
                .filter(|s| !s.is_empty())
                .collect();
            format!("/{}", segs.join("/"))
        };
        Error::one(pointer, code, e.inner().to_string())
    })
}

/// Unknown keys are an error, not silently dropped (see `weft_meta::strict`).
fn reject_unknown(problems: Vec<Problem>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(problems))
    }
}

fn require_admin(p: &Principal) -> Result<()> {
    if p.is_admin {
        Ok(())
    } else {
        Err(Error::forbidden(
            "admin_only",
            "only tenant admins can change metadata",
        ))
    }
}

fn merge(base: &mut Json, patch: &Json) {
    match (base, patch) {
        (Json::Object(b), Json::Object(p)) => {
            for (k, v) in p {
                b.insert(k.clone(), v.clone());
            }
        }
        (b, p) => *b = p.clone(),
    }
}

impl Runtime {
    /// Save a metadata change and audit it, in the caller's transaction.
    pub(crate) async fn save_meta(
        &self,
        tx: &mut dyn Tx,
        def: &ObjectDef,
        rev: &MetaRevision,
        delete: bool,
    ) -> Result<()> {
        if delete {
            tx.delete_object_doc(def, rev).await?;
        } else {
            tx.save_object(def, rev).await?;
        }
        self.audit(
            tx,
            Some(rev.actor),
            crate::access::audit::Event {
                action: &format!("meta.{}", rev.action),
                object: Some(def.api_name.as_str()),
                record_id: Some(rev.id),
                detail: json!({"version": def.version, "summary": rev.summary}),
            },
        )
        .await?;
        Ok(())
    }

    fn revision(
        &self,
        p: &Principal,
        def: &ObjectDef,
        action: &str,
        summary: Json,
    ) -> MetaRevision {
        MetaRevision {
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

    /// Load the stored definition (deleted fields included) inside a write transaction.
    async fn stored_def(&self, tx: &mut dyn Tx, name: &str) -> Result<ObjectDef> {
        tx.load_objects()
            .await?
            .into_iter()
            .find(|d| d.api_name.as_str() == name)
            .ok_or_else(|| Error::not_found(format!("object '{name}'")))
    }

    async fn all_names(&self, tx: &mut dyn Tx) -> Result<Vec<String>> {
        Ok(tx
            .load_objects()
            .await?
            .into_iter()
            .map(|d| d.api_name.to_string())
            .collect())
    }

    pub async fn list_objects(&self, p: &Principal) -> Result<Json> {
        let meta = self.meta(p.tenant).await?;
        let objects: Vec<Json> = meta
            .sorted()
            .into_iter()
            .map(|o| public_def(&o.def))
            .collect();
        Ok(json!({ "objects": objects, "version": meta.version }))
    }

    pub async fn get_object(&self, p: &Principal, name: &str) -> Result<Json> {
        let obj = self.object(p.tenant, name).await?;
        Ok(public_def(&obj.def))
    }

    pub async fn object_schema(&self, p: &Principal, name: &str, mode: WriteMode) -> Result<Json> {
        let obj = self.object(p.tenant, name).await?;
        Ok(write_schema(&obj.def, mode))
    }

    pub async fn create_object(&self, p: &Principal, body: &Json) -> Result<Json> {
        require_admin(p)?;
        reject_unknown(weft_meta::strict::object_unknown_keys(body))?;
        let mut def: ObjectDef = parse_doc(body)?;
        def.version = 1;
        // Ids are the server's: a body copied from another object must not reuse (and so
        // overwrite) that object's metadata row.
        def.id = weft_meta::ObjectId::new();
        for f in &mut def.fields {
            f.id = weft_meta::FieldId::new();
            f.deleted_at = None;
            f.locked_by_job = None;
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let names = self.all_names(tx.as_mut()).await?;
        if names.iter().any(|n| n == def.api_name.as_str()) {
            return Err(Error::one(
                "/api_name",
                "duplicate",
                format!("an object '{}' exists", def.api_name),
            ));
        }
        if names.len() >= MAX_OBJECTS_PER_TENANT {
            return Err(Error::conflict(
                "limit",
                format!("at most {MAX_OBJECTS_PER_TENANT} objects per tenant"),
            ));
        }
        let me = def.api_name.to_string();
        let problems = validate_object(&def, &|t| t == me || names.iter().any(|n| n == t));
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        let compiled = CompiledObject::compile(def.clone())
            .map_err(|e| Error::one("", "invalid", e.to_string()))?;
        reject_unknown(weft_meta::layout::condition_problems(&def, &compiled))?;
        tx.create_object_storage(&def).await?;
        let rev = self.revision(
            p,
            &def,
            "create_object",
            json!({"fields": def.fields.len()}),
        );
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        Ok(public_def(&def))
    }

    /// Change an object's labels, description or name field.
    pub async fn update_object(&self, p: &Principal, name: &str, patch: &Json) -> Result<Json> {
        require_admin(p)?;
        let Some(pm) = patch.as_object() else {
            return Err(Error::one("", "type", "the body must be a JSON object"));
        };
        for k in pm.keys() {
            if !matches!(
                k.as_str(),
                "label" | "plural_label" | "description" | "name_field" | "layout"
            ) {
                return Err(Error::one(
                    format!("/{k}"),
                    "read_only",
                    "only label, plural_label, description, name_field and layout can be changed here",
                ));
            }
        }
        reject_unknown(weft_meta::strict::object_unknown_keys(patch))?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let cur = self.stored_def(tx.as_mut(), name).await?;
        let mut doc = serde_json::to_value(&cur).map_err(Error::internal)?;
        merge(&mut doc, patch);
        let mut def: ObjectDef = parse_doc(&doc)?;
        def.version = cur.version + 1;
        let names = self.all_names(tx.as_mut()).await?;
        let problems = validate_object(&def, &|t| names.iter().any(|n| n == t));
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        if def.layout.is_some() {
            let compiled = CompiledObject::compile(def.clone())
                .map_err(|e| Error::one("", "invalid", e.to_string()))?;
            reject_unknown(weft_meta::layout::condition_problems(&def, &compiled))?;
        }
        let rev = self.revision(p, &def, "update_object", patch.clone());
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        Ok(public_def(&def))
    }

    /// Delete an object and its records. Refused while other objects point at it, and while
    /// it has records unless `force`.
    pub async fn delete_object(&self, p: &Principal, name: &str, force: bool) -> Result<()> {
        require_admin(p)?;
        let meta = self.meta(p.tenant).await?;
        let obj = meta
            .object(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{name}'")))?;
        for o in meta.objects.values() {
            if o.api_name() == name {
                continue;
            }
            if let Some(f) = o
                .def
                .fields
                .iter()
                .find(|f| f.kind.reference_target().map(|t| t.as_str()) == Some(name))
            {
                return Err(Error::conflict(
                    "referenced",
                    format!(
                        "{}.{} points at this object; delete that field first",
                        o.api_name(),
                        f.name()
                    ),
                ));
            }
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let n = tx
            .count_records(
                &obj,
                None,
                None,
                FetchOpts {
                    include_deleted: true,
                    ..Default::default()
                },
            )
            .await?;
        if n > 0 && !force {
            return Err(Error::conflict(
                "not_empty",
                format!("the object has {n} records; pass force=true to delete them with it"),
            ));
        }
        let mut def = obj.def.clone();
        def.version += 1;
        tx.drop_object_storage(&def).await?;
        let rev = self.revision(p, &def, "delete_object", json!({"records": n}));
        self.save_meta(tx.as_mut(), &def, &rev, true).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        Ok(())
    }

    pub async fn add_field(&self, p: &Principal, name: &str, body: &Json) -> Result<Json> {
        require_admin(p)?;
        reject_unknown(weft_meta::strict::field_unknown_keys(body, "", None))?;
        let mut field: FieldDef = parse_doc(body)?;
        field.id = weft_meta::FieldId::new();
        field.deleted_at = None;
        field.locked_by_job = None;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let cur = self.stored_def(tx.as_mut(), name).await?;
        if cur.field(field.name()).is_some() {
            return Err(Error::one(
                "/api_name",
                "duplicate",
                format!(
                    "field '{}' exists (deleted fields keep their name until purged)",
                    field.name()
                ),
            ));
        }
        let mut def = cur.clone();
        def.fields.push(field.clone());
        def.version = cur.version + 1;
        let names = self.all_names(tx.as_mut()).await?;
        let problems: Vec<Problem> = validate_object(&def, &|t| names.iter().any(|n| n == t))
            .into_iter()
            .map(|mut p| {
                let prefix = format!("/fields/{}", def.fields.len() - 1);
                if let Some(rest) = p.path.strip_prefix(&prefix) {
                    p.path = rest.to_owned();
                }
                p
            })
            .collect();
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        tx.add_field_storage(&def, &field).await?;
        let rev = self.revision(
            p,
            &def,
            "add_field",
            json!({"field": field.name(), "type": field.kind.type_name()}),
        );
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        serde_json::to_value(&field).map_err(Error::internal)
    }

    /// Change a field's label, help, flags, default and type options. The type itself changes
    /// through [`Runtime::change_field_type`].
    pub async fn update_field(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        patch: &Json,
    ) -> Result<Json> {
        require_admin(p)?;
        if patch
            .get("api_name")
            .is_some_and(|n| n.as_str() != Some(field))
        {
            return Err(Error::one(
                "/api_name",
                "read_only",
                "a field's API name cannot change",
            ));
        }
        let meta = self.meta(p.tenant).await?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let cur = self.stored_def(tx.as_mut(), name).await?;
        let idx = cur
            .fields
            .iter()
            .position(|f| f.name() == field && f.is_live())
            .ok_or_else(|| Error::not_found(format!("field '{field}'")))?;
        let old = cur.fields[idx].clone();
        reject_unknown(weft_meta::strict::field_unknown_keys(
            patch,
            "",
            Some(old.kind.type_name()),
        ))?;
        if old.locked_by_job.is_some() {
            return Err(Error::conflict(
                "field_locked",
                "a job is rewriting this field",
            ));
        }
        let mut doc = serde_json::to_value(&old).map_err(Error::internal)?;
        merge(&mut doc, patch);
        let new: FieldDef = parse_doc(&doc)?;
        let mut problems = Vec::new();
        if new.kind.type_name() != old.kind.type_name() {
            problems.push(Problem::new(
                "/type",
                "use_change_type",
                "change a field's type with the change-type operation",
            ));
        }
        if new.kind.reference_target() != old.kind.reference_target() {
            problems.push(Problem::new(
                "/target",
                "read_only",
                "a reference's target object cannot change",
            ));
        }
        if new.kind.decimal_scale() != old.kind.decimal_scale()
            || new.kind.decimal_precision() != old.kind.decimal_precision()
        {
            problems.push(Problem::new(
                "/scale",
                "use_change_type",
                "precision and scale change with the change-type operation",
            ));
        }
        if let FieldKind::AutoNumber { .. } = new.kind
            && new.kind != old.kind
        {
            // A new pattern applies to new records; existing numbers stay.
        }
        // Removing a select option that records still use would orphan their values.
        if let (Some(old_opts), Some(new_opts)) = (old.kind.options(), new.kind.options())
            && let Some(obj) = meta.object(name)
        {
            for o in old_opts {
                if new_opts.iter().any(|n| n.value == o.value) {
                    continue;
                }
                let pred = match old.kind {
                    FieldKind::MultiSelect { .. } => Pred::HasAll {
                        col: Col {
                            name: field.into(),
                            kind: ColKind::Json,
                        },
                        values: vec![o.value.clone()],
                    },
                    _ => Pred::Cmp {
                        col: Col {
                            name: field.into(),
                            kind: ColKind::Text,
                        },
                        op: CmpOp::Eq,
                        value: Value::Text(o.value.clone()),
                    },
                };
                let n = tx
                    .count_records(
                        obj,
                        Some(&pred),
                        None,
                        FetchOpts {
                            include_deleted: true,
                            ..Default::default()
                        },
                    )
                    .await?;
                if n > 0 {
                    problems.push(Problem::new(
                        "/options",
                        "option_in_use",
                        format!("{n} record(s) use option '{}'; mark it inactive instead of removing it", o.value),
                    ));
                }
            }
        }
        let mut def = cur.clone();
        def.fields[idx] = new.clone();
        def.version = cur.version + 1;
        let names = self.all_names(tx.as_mut()).await?;
        let prefix = format!("/fields/{idx}");
        problems.extend(
            validate_object(&def, &|t| names.iter().any(|n| n == t))
                .into_iter()
                .map(|mut p| {
                    if let Some(rest) = p.path.strip_prefix(&prefix) {
                        p.path = rest.to_owned();
                    }
                    p
                }),
        );
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        if old.unique != new.unique || old.indexed != new.indexed {
            tx.sync_field_indexes(&def, &old, &new).await?;
        }
        let rev = self.revision(
            p,
            &def,
            "update_field",
            json!({"field": field, "patch": patch}),
        );
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        serde_json::to_value(&new).map_err(Error::internal)
    }

    /// Delete (hide) a field, keeping its data until purged; or purge a deleted field.
    pub async fn delete_field(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        purge: bool,
    ) -> Result<Json> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let cur = self.stored_def(tx.as_mut(), name).await?;
        let idx = cur
            .fields
            .iter()
            .position(|f| f.name() == field)
            .ok_or_else(|| Error::not_found(format!("field '{field}'")))?;
        let f = cur.fields[idx].clone();
        if f.locked_by_job.is_some() {
            return Err(Error::conflict(
                "field_locked",
                "a job is rewriting this field",
            ));
        }
        let mut def = cur.clone();
        def.version = cur.version + 1;
        let action;
        if purge {
            if f.is_live() {
                return Err(Error::conflict(
                    "not_deleted",
                    "delete the field before purging it",
                ));
            }
            tx.drop_field_storage(&def, &f).await?;
            def.fields.remove(idx);
            action = "purge_field";
        } else {
            if !f.is_live() {
                return Err(Error::not_found(format!("field '{field}'")));
            }
            if cur.name_field.as_ref().map(|n| n.as_str()) == Some(field) {
                return Err(Error::conflict(
                    "name_field",
                    "the object's name field cannot be deleted; choose another name field first",
                ));
            }
            def.fields[idx].deleted_at = Some(self.clock.now());
            if let Some(l) = def.layout.as_mut() {
                l.remove_field(field);
            }
            action = "delete_field";
        }
        let rev = self.revision(p, &def, action, json!({"field": field}));
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        Ok(json!({"field": field, "action": action}))
    }

    pub async fn restore_field(&self, p: &Principal, name: &str, field: &str) -> Result<Json> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let cur = self.stored_def(tx.as_mut(), name).await?;
        let idx = cur
            .fields
            .iter()
            .position(|f| f.name() == field && !f.is_live())
            .ok_or_else(|| Error::not_found(format!("deleted field '{field}'")))?;
        let mut def = cur.clone();
        def.version = cur.version + 1;
        def.fields[idx].deleted_at = None;
        let rev = self.revision(p, &def, "restore_field", json!({"field": field}));
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        serde_json::to_value(&def.fields[idx]).map_err(Error::internal)
    }

    pub async fn meta_history(&self, p: &Principal, name: &str) -> Result<Json> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let revs = tx.meta_revisions(name, 200).await?;
        tx.commit().await?;
        Ok(json!({ "revisions": revs }))
    }

    /// Change a field's type. `body` is the new field definition (type and options; the API
    /// name stays). With `dry_run` nothing changes: the answer counts the values that would not
    /// convert. Otherwise a job rewrites the column and the field is locked until it ends.
    pub async fn change_field_type(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        body: &Json,
        dry_run: bool,
        on_invalid_null: bool,
    ) -> Result<Json> {
        require_admin(p)?;
        reject_unknown(weft_meta::strict::field_unknown_keys(body, "", None))?;
        let obj = self.object(p.tenant, name).await?;
        let old = obj
            .field(field)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("field '{field}'")))?;
        if old.locked_by_job.is_some() {
            return Err(Error::conflict(
                "field_locked",
                "a job is already rewriting this field",
            ));
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
        let names: Vec<String> = self.meta(p.tenant).await?.objects.keys().cloned().collect();
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
                            samples.push(
                                json!({"id": id, "value": crate::json::value_json(&obj, field, v)}),
                            );
                        }
                    }
                }
            }
            tx.commit().await?;
            return Ok(json!({
                "dry_run": true, "values": total, "convertible": total - failed,
                "not_convertible": failed, "samples": samples
            }));
        }
        let job_id = Uuid::now_v7();
        let now = self.clock.now();
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
        self.invalidate_meta(p.tenant);
        self.job_signal.notify_waiters();
        Ok(json!({"dry_run": false, "job": job_id}))
    }

    pub async fn get_job(&self, p: &Principal, id: Uuid) -> Result<Json> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let job = tx.job(id).await?.ok_or_else(|| Error::not_found("job"))?;
        tx.commit().await?;
        serde_json::to_value(job).map_err(Error::internal)
    }
}

/// The definition as clients see it: deleted fields are listed apart.
pub fn public_def(def: &ObjectDef) -> Json {
    let mut v = serde_json::to_value(def).unwrap_or(Json::Null);
    if let Some(m) = v.as_object_mut() {
        let (live, deleted): (Vec<&FieldDef>, Vec<&FieldDef>) =
            def.fields.iter().partition(|f| f.is_live());
        m.insert(
            "fields".into(),
            serde_json::to_value(live).unwrap_or(Json::Null),
        );
        m.insert(
            "deleted_fields".into(),
            serde_json::to_value(deleted).unwrap_or(Json::Null),
        );
    }
    v
}

/// Api names are validated by type; this helper checks a path segment.
pub fn api_name(s: &str) -> Result<ApiName> {
    ApiName::parse(s).map_err(|e| Error::not_found(format!("object '{s}' ({e})")))
}
