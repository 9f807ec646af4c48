//! Background jobs of the tenant (type changes, roll-up backfills). Claims across tenants are
//! in `crate::claims`.

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::ports::JobRow;

use super::SeaTx;
use crate::entities::jobs;
use crate::errors::db;
use crate::platform::job_row;

pub(super) async fn insert(tx: &SeaTx, job: &JobRow) -> Result<()> {
    jobs::ActiveModel {
        tenant_id: Set(tx.t()),
        id: Set(job.id),
        kind: Set(job.kind.clone()),
        payload: Set(job.payload.clone()),
        status: Set(job.status.clone()),
        progress: Set(job.progress.clone()),
        attempts: Set(job.attempts),
        error: Set(job.error.clone()),
        run_at: Set(job.created_at),
        lease_until: Set(None),
        lease_owner: Set(None),
        created_by: Set(job.created_by),
        created_at: Set(job.created_at),
        updated_at: Set(job.updated_at),
    }
    .insert(&tx.txn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Save a job's progress. An unfinished job keeps its lease for another minute after each
/// save, so a live worker keeps it while a dead one's expires.
pub(super) async fn update(tx: &SeaTx, job: &JobRow) -> Result<()> {
    // A finished job holds no lease; neither does one its handler put back in the queue
    // (`queued`: it yields its turn and is claimed again, fairly, at once). Any other save
    // renews the lease of the worker running it.
    let released = matches!(
        job.status.as_str(),
        "done" | "failed" | "cancelled" | "queued"
    );
    let lease = if released {
        None
    } else {
        Some(job.updated_at + Duration::seconds(60))
    };
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::val(job.status.clone()))
        .col_expr(jobs::Column::Progress, Expr::val(job.progress.clone()))
        .col_expr(jobs::Column::Error, Expr::val(job.error.clone()))
        .col_expr(jobs::Column::UpdatedAt, Expr::val(job.updated_at))
        .col_expr(jobs::Column::LeaseUntil, Expr::val(lease))
        .filter(tx.tf(jobs::Column::TenantId))
        .filter(jobs::Column::Id.eq(job.id))
        .exec(&tx.txn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(super) async fn get(tx: &SeaTx, id: Uuid) -> Result<Option<JobRow>> {
    Ok(jobs::Entity::find()
        .filter(tx.tf(jobs::Column::TenantId))
        .filter(jobs::Column::Id.eq(id))
        .one(&tx.txn)
        .await
        .map_err(db)?
        .map(job_row))
}
