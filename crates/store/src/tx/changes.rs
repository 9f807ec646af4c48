//! Auto-number counters and the record change log.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;
use weft_runtime::ports::ChangeEntry;
use weft_runtime::{Error, Result};

use super::SeaTx;
use crate::access::change_entry;
use crate::entities::{change_log, counters};
use crate::errors::db;

/// The next value of a counter, created at `start`: one upsert, so concurrent writers of
/// one tenant serialize on the counter's row and never hand out a number twice.
pub(super) async fn next_counter(tx: &SeaTx, key: &str, start: i64) -> Result<i64> {
    let mut q = Query::insert();
    q.into_table(counters::Entity)
        .columns([
            counters::Column::TenantId,
            counters::Column::Key,
            counters::Column::Value,
        ])
        .values([
            Expr::val(tx.t()),
            Expr::val(key.to_owned()),
            Expr::val(start),
        ])
        .map_err(Error::internal)?
        .on_conflict(
            OnConflict::columns([counters::Column::TenantId, counters::Column::Key])
                .value(
                    counters::Column::Value,
                    Expr::col((counters::Entity, counters::Column::Value)).add(1),
                )
                .to_owned(),
        )
        .returning_col(counters::Column::Value);
    let row = tx
        .one(&q)
        .await?
        .ok_or_else(|| Error::internal("counter returned no row"))?;
    row.try_get_by_index::<i64>(0).map_err(db)
}

pub(super) async fn append(tx: &SeaTx, entries: &[ChangeEntry]) -> Result<()> {
    for part in entries.chunks(500) {
        let models = part.iter().map(|e| change_log::ActiveModel {
            tenant_id: Set(tx.t()),
            id: Set(e.id),
            object: Set(e.object.clone()),
            record_id: Set(e.record_id),
            op: Set(e.op.clone()),
            actor: Set(e.actor),
            source: Set(e.source.clone()),
            at: Set(e.at),
            version: Set(e.version),
            diff: Set(e.diff.clone()),
            sealed_in: Set(None),
        });
        change_log::Entity::insert_many(models)
            .exec(&tx.txn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

pub(super) async fn history(
    tx: &SeaTx,
    object: &str,
    record: Uuid,
    limit: u32,
) -> Result<Vec<ChangeEntry>> {
    let rows = change_log::Entity::find()
        .filter(tx.tf(change_log::Column::TenantId))
        .filter(change_log::Column::Object.eq(object))
        .filter(change_log::Column::RecordId.eq(record))
        .order_by_desc(change_log::Column::Id)
        .limit(u64::from(limit))
        .all(&tx.txn)
        .await
        .map_err(db)?;
    Ok(rows.into_iter().map(change_entry).collect())
}
