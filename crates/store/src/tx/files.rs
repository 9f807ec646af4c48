//! Attachment metadata (the bytes are in the blob store).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::ports::FileRow;

use super::SeaTx;
use crate::entities::files;
use crate::errors::db;

pub(super) async fn insert(tx: &SeaTx, f: &FileRow) -> Result<()> {
    files::ActiveModel {
        tenant_id: Set(tx.t()),
        id: Set(f.id),
        name: Set(f.name.clone()),
        content_type: Set(f.content_type.clone()),
        size: Set(f.size),
        sha256: Set(f.sha256.clone()),
        storage_key: Set(f.storage_key.clone()),
        created_by: Set(f.created_by),
        created_at: Set(f.created_at),
    }
    .insert(&tx.txn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn by_ids(tx: &SeaTx, ids: &[Uuid]) -> Result<Vec<FileRow>> {
    let rows = files::Entity::find()
        .filter(tx.tf(files::Column::TenantId))
        .filter(files::Column::Id.is_in(ids.iter().copied()))
        .all(&tx.txn)
        .await
        .map_err(db)?;
    Ok(rows
        .into_iter()
        .map(|m| FileRow {
            id: m.id,
            name: m.name,
            content_type: m.content_type,
            size: m.size,
            sha256: m.sha256,
            storage_key: m.storage_key,
            created_by: m.created_by,
            created_at: m.created_at,
        })
        .collect())
}
