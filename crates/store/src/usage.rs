//! Usage figures: the `UsageTx` port (a tenant's automation run counts) and the `OpsStore`
//! port (the automation backlog across tenants and the connection pools, for `/metrics`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;
use weft_meta::TenantId;
use weft_runtime::Result;
use weft_runtime::automation::ports::RunStatus;
use weft_runtime::ports::{Backend, OpsStore, OutboxBacklog, PoolStats, UsageTx};

use crate::entities::automation_outbox as outbox;
use crate::errors::db;
use crate::store::SeaStore;
use crate::tx::SeaTx;

/// The states of a run that has not finished (as the claim's index on (status, run_at)).
const UNFINISHED: [&str; 2] = [RunStatus::Queued.as_str(), RunStatus::Running.as_str()];

fn count_expr() -> sea_orm::sea_query::SimpleExpr {
    Expr::expr(Func::count(Expr::col(outbox::Column::Id))).cast_as(Alias::new("bigint"))
}

#[async_trait]
impl UsageTx for SeaTx {
    async fn run_counts(&mut self, failed_since: DateTime<Utc>) -> Result<(i64, i64)> {
        let pending: Option<i64> = outbox::Entity::find()
            .select_only()
            .column_as(count_expr(), "n")
            .filter(self.tf(outbox::Column::TenantId))
            .filter(outbox::Column::Status.is_in(UNFINISHED))
            .into_tuple()
            .one(&self.txn)
            .await
            .map_err(db)?;
        let failed: Option<i64> = outbox::Entity::find()
            .select_only()
            .column_as(count_expr(), "n")
            .filter(self.tf(outbox::Column::TenantId))
            .filter(outbox::Column::Status.eq(RunStatus::Failed.as_str()))
            .filter(outbox::Column::UpdatedAt.gte(failed_since))
            .into_tuple()
            .one(&self.txn)
            .await
            .map_err(db)?;
        Ok((pending.unwrap_or(0), failed.unwrap_or(0)))
    }
}

/// Idle and busy connections of one pool.
fn pool(name: &'static str, c: &DatabaseConnection, backend: Backend) -> PoolStats {
    let (size, idle) = match backend {
        Backend::Postgres => {
            let p = c.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        Backend::Sqlite => {
            let p = c.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
    };
    let idle = u64::try_from(idle).unwrap_or(u64::MAX);
    PoolStats {
        pool: name,
        idle,
        in_use: u64::from(size).saturating_sub(idle),
    }
}

#[async_trait]
impl OpsStore for SeaStore {
    async fn outbox_backlog(&self) -> Result<Vec<OutboxBacklog>> {
        // Across tenants, as the owner (like the worker's claim).
        let rows: Vec<(Uuid, i64, Option<DateTime<Utc>>)> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::TenantId)
            .column_as(count_expr(), "n")
            .column_as(
                Expr::expr(Func::min(Expr::col(outbox::Column::RunAt))),
                "due",
            )
            .filter(outbox::Column::Status.is_in(UNFINISHED))
            .group_by(outbox::Column::TenantId)
            .into_tuple()
            .all(self.connection())
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .filter_map(|(t, n, due)| {
                Some(OutboxBacklog {
                    tenant: TenantId(t),
                    pending: n,
                    earliest_due: due?,
                })
            })
            .collect())
    }

    fn pool_stats(&self) -> Vec<PoolStats> {
        match self.backend {
            Backend::Postgres => vec![
                pool("app", &self.writer, self.backend),
                pool("admin", &self.admin, self.backend),
            ],
            Backend::Sqlite => vec![
                pool("writer", &self.writer, self.backend),
                pool("reader", &self.reader, self.backend),
            ],
        }
    }
}
