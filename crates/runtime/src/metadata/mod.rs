//! Metadata changes at runtime: objects and fields created, changed and deleted through the
//! API with no restart. Each change validates the whole document, alters storage and saves
//! the new version with its revision in one transaction.

mod error;
pub use error::MetaError;
mod fields;
mod type_change;
mod views;

pub use views::{
    ConversionSample, FieldRemoved, MetaHistory, ObjectList, TypeChange, TypeChangeDryRun,
    TypeChangeStarted,
};

pub(crate) use type_change::TypeChangeJob;

use std::sync::Arc;

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

use crate::core::Core;
use crate::docs::{FieldDefinition, JsonSchemaDoc, ObjectDefinition};
use crate::error::{Error, Result};
use crate::ports::prelude::*;
use crate::ports::{FetchOpts, JobRow, MetaRevision, TxMode};
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
        Err(MetaError::AdminOnly.into())
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

/// Objects and fields, changed at runtime.
#[derive(Clone)]
pub struct Metadata {
    pub(crate) core: Arc<Core>,
}

impl Metadata {
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

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
        self.core
            .audit(
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
            at: self.core.clock.now(),
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

    pub async fn list_objects(&self, p: &Principal) -> Result<ObjectList, MetaError> {
        let meta = self.core.meta(p.tenant).await?;
        let objects = meta
            .sorted()
            .into_iter()
            .map(|o| ObjectDefinition(public_def(&o.def)))
            .collect();
        Ok(ObjectList {
            objects,
            version: meta.version,
        })
    }

    pub async fn get_object(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<ObjectDefinition, MetaError> {
        let obj = self.core.object(p.tenant, name).await?;
        Ok(ObjectDefinition(public_def(&obj.def)))
    }

    pub async fn object_schema(
        &self,
        p: &Principal,
        name: &str,
        mode: WriteMode,
    ) -> Result<JsonSchemaDoc, MetaError> {
        let obj = self.core.object(p.tenant, name).await?;
        Ok(JsonSchemaDoc(write_schema(&obj.def, mode)))
    }

    pub async fn create_object(
        &self,
        p: &Principal,
        body: &Json,
    ) -> Result<ObjectDefinition, MetaError> {
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
            )
            .into());
        }
        if names.len() >= MAX_OBJECTS_PER_TENANT {
            return Err(MetaError::TooManyObjects {
                max: MAX_OBJECTS_PER_TENANT,
            });
        }
        let me = def.api_name.to_string();
        let problems = validate_object(&def, &|t| t == me || names.iter().any(|n| n == t));
        if !problems.is_empty() {
            return Err(Error::Validation(problems).into());
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
        self.core.invalidate_meta(p.tenant);
        Ok(ObjectDefinition(public_def(&def)))
    }

    /// Change an object's labels, description or name field.
    pub async fn update_object(
        &self,
        p: &Principal,
        name: &str,
        patch: &Json,
    ) -> Result<ObjectDefinition, MetaError> {
        require_admin(p)?;
        let Some(pm) = patch.as_object() else {
            return Err(Error::one("", "type", "the body must be a JSON object").into());
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
                ).into());
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
            return Err(Error::Validation(problems).into());
        }
        if def.layout.is_some() {
            let compiled = CompiledObject::compile(def.clone())
                .map_err(|e| Error::one("", "invalid", e.to_string()))?;
            reject_unknown(weft_meta::layout::condition_problems(&def, &compiled))?;
        }
        let rev = self.revision(p, &def, "update_object", patch.clone());
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        Ok(ObjectDefinition(public_def(&def)))
    }

    /// Delete an object and its records. Refused while other objects point at it, and while
    /// it has records unless `force`.
    pub async fn delete_object(
        &self,
        p: &Principal,
        name: &str,
        force: bool,
    ) -> Result<(), MetaError> {
        require_admin(p)?;
        let meta = self.core.meta(p.tenant).await?;
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
                return Err(MetaError::ObjectReferenced {
                    object: o.def.label.clone(),
                    field: f.label.clone(),
                });
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
            return Err(MetaError::ObjectNotEmpty { count: n });
        }
        let mut def = obj.def.clone();
        def.version += 1;
        tx.drop_object_storage(&def).await?;
        let rev = self.revision(p, &def, "delete_object", json!({"records": n}));
        self.save_meta(tx.as_mut(), &def, &rev, true).await?;
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        Ok(())
    }

    /// Add a field to an object.
    pub async fn add_field(
        &self,
        p: &Principal,
        name: &str,
        body: &Json,
    ) -> Result<FieldDefinition, MetaError> {
        Ok(self.field_add(p, name, body).await?)
    }

    /// Change a field's label, help, flags, default and type options. The type itself changes
    /// through [`Metadata::change_field_type`].
    pub async fn update_field(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        patch: &Json,
    ) -> Result<FieldDefinition, MetaError> {
        Ok(self.field_update(p, name, field, patch).await?)
    }

    /// Delete (hide) a field, keeping its data until purged; or purge a deleted field.
    pub async fn delete_field(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        purge: bool,
    ) -> Result<FieldRemoved, MetaError> {
        Ok(self.field_delete(p, name, field, purge).await?)
    }

    /// Restore a deleted (not purged) field.
    pub async fn restore_field(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
    ) -> Result<FieldDefinition, MetaError> {
        Ok(self.field_restore(p, name, field).await?)
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
    ) -> Result<TypeChange, MetaError> {
        Ok(self
            .field_change_type(p, name, field, body, dry_run, on_invalid_null)
            .await?)
    }

    pub async fn meta_history(&self, p: &Principal, name: &str) -> Result<MetaHistory, MetaError> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let revisions = tx.meta_revisions(name, 200).await?;
        tx.commit().await?;
        Ok(MetaHistory { revisions })
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
