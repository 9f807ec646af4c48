//! Fields of an object: add, change, delete, restore.

use serde_json::{Value as Json, json};
use weft_meta::{FieldDef, Problem};

use super::*;

impl Metadata {
    pub(super) async fn field_add(
        &self,
        p: &Principal,
        name: &str,
        body: &Json,
    ) -> Result<FieldDefinition> {
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
        self.core.invalidate_meta(p.tenant);
        serde_json::to_value(&field)
            .map(FieldDefinition)
            .map_err(Error::internal)
    }

    pub(super) async fn field_update(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        patch: &Json,
    ) -> Result<FieldDefinition> {
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
        let meta = self.core.meta(p.tenant).await?;
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
            return Err(MetaError::FieldLocked.into());
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
        self.core.invalidate_meta(p.tenant);
        serde_json::to_value(&new)
            .map(FieldDefinition)
            .map_err(Error::internal)
    }

    pub(super) async fn field_delete(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
        purge: bool,
    ) -> Result<FieldRemoved> {
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
            return Err(MetaError::FieldLocked.into());
        }
        let mut def = cur.clone();
        def.version = cur.version + 1;
        let action;
        if purge {
            if f.is_live() {
                return Err(MetaError::FieldNotDeleted.into());
            }
            tx.drop_field_storage(&def, &f).await?;
            def.fields.remove(idx);
            action = "purge_field";
        } else {
            if !f.is_live() {
                return Err(Error::not_found(format!("field '{field}'")));
            }
            if cur.name_field.as_ref().map(|n| n.as_str()) == Some(field) {
                return Err(MetaError::NameField.into());
            }
            def.fields[idx].deleted_at = Some(self.core.clock.now());
            if let Some(l) = def.layout.as_mut() {
                l.remove_field(field);
            }
            action = "delete_field";
        }
        let rev = self.revision(p, &def, action, json!({"field": field}));
        self.save_meta(tx.as_mut(), &def, &rev, false).await?;
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        Ok(FieldRemoved {
            field: field.to_owned(),
            action: action.to_owned(),
        })
    }

    pub(super) async fn field_restore(
        &self,
        p: &Principal,
        name: &str,
        field: &str,
    ) -> Result<FieldDefinition> {
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
        self.core.invalidate_meta(p.tenant);
        serde_json::to_value(&def.fields[idx])
            .map(FieldDefinition)
            .map_err(Error::internal)
    }
}
