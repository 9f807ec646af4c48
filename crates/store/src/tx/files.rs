//! Attachment metadata (the bytes are in the blob store).

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
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

pub(super) async fn usage(tx: &SeaTx, user: Option<Uuid>) -> Result<(i64, i64)> {
    let mut q = files::Entity::find()
        .select_only()
        .column_as(
            Expr::expr(Func::count(Expr::col(files::Column::Id))).cast_as(Alias::new("bigint")),
            "n",
        )
        .column_as(
            Expr::expr(Func::sum(Expr::col(files::Column::Size))).cast_as(Alias::new("bigint")),
            "bytes",
        )
        .filter(tx.tf(files::Column::TenantId));
    if let Some(u) = user {
        q = q.filter(files::Column::CreatedBy.eq(u));
    }
    let row: Option<(i64, Option<i64>)> = q.into_tuple().one(&tx.txn).await.map_err(db)?;
    Ok(row.map(|(n, b)| (n, b.unwrap_or(0))).unwrap_or((0, 0)))
}
