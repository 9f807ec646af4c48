//! Delete into the recycle bin (with the lookups' on-delete rules), restore, purge.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;
use weft_meta::{CompiledObject, FieldDef, FieldKind, OnDelete};

use super::hooks::{AfterSave, WriteOp};
use super::path::{load_multi_links, load_one};
use super::{RecordError, Records};
use crate::access::model::Op;
use crate::core::cache::TenantMeta;
use crate::docs::Record;
use crate::error::{Error, Result};
use crate::ports::prelude::*;
use crate::ports::{ChangeEntry, FetchOpts, TxMode, UpdateMeta};
use crate::principal::Principal;

/// What a delete moved to the recycle bin.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeleteOutcome {
    /// Records deleted, cascades included.
    pub deleted: usize,
    /// The delete batch: restoring the record restores everything in it.
    pub batch: Uuid,
    /// Records deleted by cascade, per object.
    pub cascaded: std::collections::BTreeMap<String, usize>,
    /// Records whose lookup was cleared, per object.
    pub cleared: std::collections::BTreeMap<String, usize>,
}

/// Every (object, field) whose lookup points at `target`, deleted fields included: their
/// columns and foreign keys still exist.
fn referrers(meta: &TenantMeta, target: &str) -> Vec<(Arc<CompiledObject>, FieldDef)> {
    let mut out = Vec::new();
    for o in meta.objects.values() {
        for f in &o.def.fields {
            if matches!(
                f.kind,
                FieldKind::Lookup { .. } | FieldKind::MasterDetail { .. }
            ) && f.kind.reference_target().map(|t| t.as_str()) == Some(target)
            {
                out.push((o.clone(), f.clone()));
            }
        }
    }
    out
}

fn on_delete(f: &FieldDef) -> OnDelete {
    match &f.kind {
        FieldKind::Lookup { on_delete, .. } => *on_delete,
        _ => OnDelete::Cascade,
    }
}

pub(super) async fn delete(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
    if_match: Option<i64>,
) -> Result<DeleteOutcome> {
    if if_match.is_none() && r.core.config.require_if_match {
        return Err(Error::PreconditionRequired);
    }
    let meta = r.core.meta(p.tenant).await?;
    let obj = meta
        .object(object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Delete, object)?;
    let now = r.core.clock.now();
    let mut tx = r.core.begin(p.tenant, TxMode::Write).await?;
    let cur = load_one(
        tx.as_mut(),
        &obj,
        id,
        FetchOpts {
            for_update: true,
            ..Default::default()
        },
        g.scope(),
    )
    .await?;
    if let Some(v) = if_match
        && v != cur.version
    {
        return Err(Error::PreconditionFailed {
            expected: v,
            current: cur.version,
        });
    }
    let batch = Uuid::now_v7();
    let mut out = DeleteOutcome {
        deleted: 0,
        batch,
        cascaded: Default::default(),
        cleared: Default::default(),
    };
    let mut changes = Vec::new();
    // Breadth-first over the cascade; `level` holds records of one object to delete.
    let mut queue: Vec<(Arc<CompiledObject>, Vec<Uuid>)> = vec![(obj.clone(), vec![id])];
    let mut total = 0usize;
    while let Some((o, ids)) = queue.pop() {
        for (child, field) in referrers(&meta, o.api_name()) {
            let refs = tx
                .referencing(&child, &field, &ids, FetchOpts::default())
                .await?;
            if refs.is_empty() {
                continue;
            }
            match on_delete(&field) {
                OnDelete::Restrict => {
                    return Err(RecordError::Restricted {
                        count: refs.len(),
                        object: child.def.label.clone(),
                        field: field.label.clone(),
                    }
                    .into());
                }
                OnDelete::SetNull => {
                    let um = UpdateMeta {
                        updated_by: p.user.0,
                        updated_at: now,
                        owner: None,
                        department: None,
                    };
                    tx.set_field_null(&child, field.name(), &refs, &um).await?;
                    *out.cleared.entry(child.api_name().to_owned()).or_default() += refs.len();
                    for r in &refs {
                        changes.push(ChangeEntry {
                                id: Uuid::now_v7(),
                                object: child.api_name().to_owned(),
                                record_id: *r,
                                op: "update".into(),
                                actor: p.user.0,
                                source: p.source.as_str().into(),
                                at: now,
                                version: 0,
                                diff: json!({ field.name(): [ids.first().map(|x| x.to_string()), null], "_reason": "lookup target deleted" }),
                            });
                    }
                }
                OnDelete::Cascade => {
                    total += refs.len();
                    if total > r.core.config.cascade_max {
                        return Err(RecordError::CascadeTooLarge {
                            max: r.core.config.cascade_max,
                        }
                        .into());
                    }
                    *out.cascaded.entry(child.api_name().to_owned()).or_default() += refs.len();
                    queue.push((child.clone(), refs));
                }
            }
        }
        let before = tx.fetch_records(&o, &ids, FetchOpts::default()).await?;
        let n = tx.soft_delete(&o, &ids, batch, p.user.0, now).await?;
        out.deleted += n as usize;
        let saved: Vec<AfterSave> = before
            .iter()
            .map(|r| AfterSave {
                op: WriteOp::Delete,
                old: Some(r),
                new: None,
            })
            .collect();
        r.path.after_save(&mut tx, p, &o, &saved).await?;
        for r in &ids {
            changes.push(ChangeEntry {
                id: Uuid::now_v7(),
                object: o.api_name().to_owned(),
                record_id: *r,
                op: "delete".into(),
                actor: p.user.0,
                source: p.source.as_str().into(),
                at: now,
                version: 0,
                diff: json!({"batch": batch}),
            });
        }
    }
    tx.append_changes(&changes).await?;
    r.path.commit(tx).await?;
    Ok(out)
}

/// A restore: how many records came back (the batch) and the record itself.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Restored {
    /// Records restored, the whole delete batch.
    pub restored: u64,
    /// The restored record.
    pub record: Record,
}

/// A purge: how many records were removed for good.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Purged {
    /// Records removed, the whole delete batch.
    pub purged: u64,
}

/// Restore a deleted record and everything deleted with it (same batch).
pub(super) async fn restore(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
) -> Result<Restored> {
    let meta = r.core.meta(p.tenant).await?;
    let obj = meta
        .object(object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Delete, object)?;
    let now = r.core.clock.now();
    let mut tx = r.core.begin(p.tenant, TxMode::Write).await?;
    let cur = load_one(
        tx.as_mut(),
        &obj,
        id,
        FetchOpts {
            only_deleted: true,
            for_update: true,
            ..Default::default()
        },
        g.scope(),
    )
    .await?;
    let batch = cur.delete_batch;
    let mut restored = 0u64;
    let mut changes = Vec::new();
    for o in meta.objects.values() {
        let ids = match batch {
            Some(b) => tx.batch_members(o, b).await?,
            None if o.api_name() == obj.api_name() => vec![id],
            None => vec![],
        };
        if ids.is_empty() {
            continue;
        }
        // Unique values may have been taken while the records were in the bin.
        let mut rows = tx
            .fetch_records(
                o,
                &ids,
                FetchOpts {
                    only_deleted: true,
                    ..Default::default()
                },
            )
            .await?;
        load_multi_links(tx.as_mut(), o, &mut rows).await?;
        for f in o.live_fields().filter(|f| f.unique) {
            let vals: Vec<_> = rows
                .iter()
                .filter_map(|r| r.values.get(f.name()))
                .filter(|v| !v.is_null())
                .cloned()
                .collect();
            if vals.is_empty() {
                continue;
            }
            let taken = tx.taken_values(o, f.name(), &vals, &ids).await?;
            if !taken.is_empty() {
                return Err(RecordError::RestoreTaken {
                    object: o.def.label.clone(),
                    field: f.label.clone(),
                }
                .into());
            }
        }
        restored += tx.restore(o, &ids, p.user.0, now).await?;
        let after = tx.fetch_records(o, &ids, FetchOpts::default()).await?;
        let saved: Vec<AfterSave> = after
            .iter()
            .map(|r| AfterSave {
                op: WriteOp::Restore,
                old: None,
                new: Some(r),
            })
            .collect();
        r.path.after_save(&mut tx, p, o, &saved).await?;
        for r in &ids {
            changes.push(ChangeEntry {
                id: Uuid::now_v7(),
                object: o.api_name().to_owned(),
                record_id: *r,
                op: "restore".into(),
                actor: p.user.0,
                source: p.source.as_str().into(),
                at: now,
                version: 0,
                diff: json!({"batch": batch}),
            });
        }
    }
    tx.append_changes(&changes).await?;
    let row = load_one(tx.as_mut(), &obj, id, FetchOpts::default(), None).await?;
    r.path.commit(tx).await?;
    Ok(Restored {
        restored,
        record: Record(crate::json::record_json(&obj, &row, None, &|f| {
            g.can_see(f)
        })),
    })
}

/// Remove a deleted record for good, with the records deleted in its batch.
pub(super) async fn purge(r: &Records, p: &Principal, object: &str, id: Uuid) -> Result<Purged> {
    let meta = r.core.meta(p.tenant).await?;
    let obj = meta
        .object(object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Delete, object)?;
    let now = r.core.clock.now();
    let mut tx = r.core.begin(p.tenant, TxMode::Write).await?;
    let cur = load_one(
        tx.as_mut(),
        &obj,
        id,
        FetchOpts {
            only_deleted: true,
            for_update: true,
            ..Default::default()
        },
        g.scope(),
    )
    .await?;
    let mut purged = 0u64;
    let mut changes = Vec::new();
    let mut plan: Vec<(Arc<CompiledObject>, Vec<Uuid>)> = Vec::new();
    for o in meta.objects.values() {
        let ids = match cur.delete_batch {
            Some(b) => tx.batch_members(o, b).await?,
            None if o.api_name() == obj.api_name() => vec![id],
            None => vec![],
        };
        if !ids.is_empty() {
            plan.push((o.clone(), ids));
        }
    }
    // Records outside the batch that still point here (deleted separately) follow the
    // lookup's rule now, so the foreign keys never see a dangling reference.
    for (o, ids) in &plan {
        purge_referrers(tx.as_mut(), &meta, o, ids, p, now, &plan, &mut changes, 0).await?;
    }
    // Children first: objects that reference others in the plan go before their targets.
    plan.sort_by_key(|(o, _)| {
        std::cmp::Reverse(
            o.def
                .fields
                .iter()
                .filter(|f| f.kind.reference_target().is_some())
                .count(),
        )
    });
    for (o, ids) in &plan {
        purged += tx.purge(o, ids).await?;
        for r in ids {
            changes.push(ChangeEntry {
                id: Uuid::now_v7(),
                object: o.api_name().to_owned(),
                record_id: *r,
                op: "purge".into(),
                actor: p.user.0,
                source: p.source.as_str().into(),
                at: now,
                version: 0,
                diff: json!({}),
            });
        }
    }
    tx.append_changes(&changes).await?;
    r.path.commit(tx).await?;
    Ok(Purged { purged })
}

#[allow(clippy::too_many_arguments)]
fn purge_referrers<'a>(
    tx: &'a mut dyn Tx,
    meta: &'a TenantMeta,
    o: &'a CompiledObject,
    ids: &'a [Uuid],
    p: &'a Principal,
    now: chrono::DateTime<chrono::Utc>,
    plan: &'a [(Arc<CompiledObject>, Vec<Uuid>)],
    changes: &'a mut Vec<ChangeEntry>,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        if depth > 16 {
            return Err(RecordError::CascadeTooDeep.into());
        }
        for (child, field) in referrers(meta, o.api_name()) {
            let refs = tx
                .referencing(
                    &child,
                    &field,
                    ids,
                    FetchOpts {
                        include_deleted: true,
                        ..Default::default()
                    },
                )
                .await?;
            let outside: Vec<Uuid> = refs
                .into_iter()
                .filter(|r| {
                    !plan
                        .iter()
                        .any(|(po, pids)| po.api_name() == child.api_name() && pids.contains(r))
                })
                .collect();
            if outside.is_empty() {
                continue;
            }
            match on_delete(&field) {
                OnDelete::SetNull => {
                    let um = UpdateMeta {
                        updated_by: p.user.0,
                        updated_at: now,
                        owner: None,
                        department: None,
                    };
                    tx.set_field_null(&child, field.name(), &outside, &um)
                        .await?;
                }
                OnDelete::Restrict | OnDelete::Cascade => {
                    return Err(RecordError::ReferencedFromBin {
                        count: outside.len(),
                        object: child.def.label.clone(),
                        field: field.label.clone(),
                    }
                    .into());
                }
            }
            let _ = changes;
        }
        Ok(())
    })
}
