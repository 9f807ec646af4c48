//! Stored responses of requests made with an `Idempotency-Key`.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use weft_runtime::Result;
use weft_runtime::ports::IdempotencyRow;

use super::SeaTx;
use crate::entities::idempotency_keys;
use crate::errors::db;

pub(super) async fn get(tx: &SeaTx, key: &str) -> Result<Option<IdempotencyRow>> {
    Ok(idempotency_keys::Entity::find()
        .filter(tx.tf(idempotency_keys::Column::TenantId))
        .filter(idempotency_keys::Column::Key.eq(key.to_owned()))
        .one(&tx.txn)
        .await
        .map_err(db)?
        .map(|m| IdempotencyRow {
            key: m.key,
            fingerprint: m.fingerprint,
            status: m.status,
            body: m.body,
            created_at: m.created_at,
        }))
}

/// Claim a key. A second request with the same key while the first is still running hits
/// the primary key and is told to retry.
pub(super) async fn put(tx: &SeaTx, row: &IdempotencyRow) -> Result<()> {
    idempotency_keys::ActiveModel {
        tenant_id: Set(tx.t()),
        key: Set(row.key.clone()),
        fingerprint: Set(row.fingerprint.clone()),
        status: Set(row.status),
        body: Set(row.body.clone()),
        created_at: Set(row.created_at),
    }
    .insert(&tx.txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            crate::errors::StoreError::IdempotencyInFlight.into()
        }
        _ => db(e),
    })?;
    Ok(())
}
