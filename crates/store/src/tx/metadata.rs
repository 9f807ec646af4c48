//! Metadata storage: the tenant's metadata version and time zone, object documents and their
//! revision history.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use weft_meta::ObjectDef;
use weft_runtime::ports::MetaRevision;
use weft_runtime::{Error, Result};

use super::SeaTx;
use crate::entities::{meta_objects, meta_revisions, tenants};
use crate::errors::db;

async fn tenant(tx: &SeaTx) -> Result<tenants::Model> {
    tenants::Entity::find()
        .filter(tx.tenant_row())
        .one(&tx.txn)
        .await
        .map_err(db)?
        .ok_or_else(|| Error::not_found("tenant"))
}

pub(super) async fn meta_version(tx: &SeaTx) -> Result<i64> {
    Ok(tenant(tx).await?.meta_version)
}

pub(super) async fn time_zone(tx: &SeaTx) -> Result<String> {
    Ok(tenant(tx).await?.time_zone)
}

pub(super) async fn set_time_zone(tx: &SeaTx, tz: &str) -> Result<()> {
    tenants::Entity::update_many()
        .col_expr(tenants::Column::TimeZone, Expr::value(tz.to_owned()))
        .filter(tx.tenant_row())
        .exec(&tx.txn)
        .await
        .map_err(db)?;
    bump_meta_version(tx).await
}

pub(super) async fn load_objects(tx: &SeaTx) -> Result<Vec<ObjectDef>> {
    let rows = meta_objects::Entity::find()
        .filter(tx.tf(meta_objects::Column::TenantId))
        .order_by_asc(meta_objects::Column::ApiName)
        .all(&tx.txn)
        .await
        .map_err(db)?;
    rows.into_iter()
        .map(|r| {
            serde_json::from_value::<ObjectDef>(r.doc).map_err(|e| {
                Error::internal(format!("stored object '{}' unreadable: {e}", r.api_name))
            })
        })
        .collect()
}

pub(super) async fn save_object(tx: &SeaTx, def: &ObjectDef, rev: &MetaRevision) -> Result<()> {
    let doc = serde_json::to_value(def).map_err(Error::internal)?;
    let existing = meta_objects::Entity::find()
        .filter(tx.tf(meta_objects::Column::TenantId))
        .filter(meta_objects::Column::Id.eq(def.id.0))
        .one(&tx.txn)
        .await
        .map_err(db)?;
    match existing {
        Some(m) => {
            let mut am = m.into_active_model();
            am.version = Set(def.version);
            am.doc = Set(doc);
            am.updated_at = Set(rev.at);
            am.update(&tx.txn).await.map_err(db)?;
        }
        None => {
            meta_objects::ActiveModel {
                tenant_id: Set(tx.t()),
                id: Set(def.id.0),
                api_name: Set(def.api_name.to_string()),
                version: Set(def.version),
                doc: Set(doc),
                created_at: Set(rev.at),
                updated_at: Set(rev.at),
            }
            .insert(&tx.txn)
            .await
            .map_err(db)?;
        }
    }
    insert_revision(tx, rev).await?;
    bump_meta_version(tx).await
}

pub(super) async fn delete_object_doc(
    tx: &SeaTx,
    def: &ObjectDef,
    rev: &MetaRevision,
) -> Result<()> {
    meta_objects::Entity::delete_by_id((tx.t(), def.id.0))
        .exec(&tx.txn)
        .await
        .map_err(db)?;
    insert_revision(tx, rev).await?;
    bump_meta_version(tx).await
}

pub(super) async fn revisions(tx: &SeaTx, object: &str, limit: u32) -> Result<Vec<MetaRevision>> {
    let rows = meta_revisions::Entity::find()
        .filter(tx.tf(meta_revisions::Column::TenantId))
        .filter(meta_revisions::Column::Object.eq(object))
        .order_by_desc(meta_revisions::Column::Id)
        .limit(u64::from(limit))
        .all(&tx.txn)
        .await
        .map_err(db)?;
    Ok(rows
        .into_iter()
        .map(|r| MetaRevision {
            id: r.id,
            object_id: r.object_id,
            object: r.object,
            version: r.version,
            action: r.action,
            actor: r.actor,
            at: r.at,
            summary: r.summary,
            doc: r.doc,
        })
        .collect())
}

async fn insert_revision(tx: &SeaTx, rev: &MetaRevision) -> Result<()> {
    meta_revisions::ActiveModel {
        tenant_id: Set(tx.t()),
        id: Set(rev.id),
        object_id: Set(rev.object_id),
        object: Set(rev.object.clone()),
        version: Set(rev.version),
        action: Set(rev.action.clone()),
        actor: Set(rev.actor),
        at: Set(rev.at),
        summary: Set(rev.summary.clone()),
        doc: Set(rev.doc.clone()),
    }
    .insert(&tx.txn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Bump the tenant's metadata version, so every process reloads its compiled metadata (rule
/// changes use it too: compiled rules are cached per metadata version).
pub(crate) async fn bump_meta_version(tx: &SeaTx) -> Result<()> {
    tenants::Entity::update_many()
        .col_expr(
            tenants::Column::MetaVersion,
            Expr::col(tenants::Column::MetaVersion).add(1),
        )
        .filter(tx.tenant_row())
        .exec(&tx.txn)
        .await
        .map_err(db)?;
    Ok(())
}
