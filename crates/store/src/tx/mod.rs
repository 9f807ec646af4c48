//! The tenant-bound transaction: the runtime's `Tx` port on sea-orm. The type and the helpers
//! every capability shares live here; `port.rs` wires the trait to the capability modules
//! (metadata, storage, changes, jobs, files, idempotency, identity), and the feature ports
//! (`access`, `automation`, `flows`, `saved_views`) implement their own traits on [`SeaTx`].

mod changes;
mod files;
mod idempotency;
mod identity;
mod jobs;
pub(crate) mod metadata;
mod port;
mod storage;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, QueryResult, StatementBuilder,
};
use uuid::Uuid;
use weft_meta::TenantId;
use weft_runtime::Result;

use crate::entities::tenants;
use crate::errors::db;
use crate::names::Names;

pub struct SeaTx {
    /// Whether queries on platform tables carry the application's own `tenant_id = …`
    /// condition. Always on, except in the isolation test that proves row-level security
    /// alone keeps tenants apart on PostgreSQL.
    pub(crate) app_filter: bool,
    pub(crate) txn: DatabaseTransaction,
    pub(crate) tenant: TenantId,
    pub(crate) names: Names,
}

impl SeaTx {
    pub fn new(txn: DatabaseTransaction, tenant: TenantId, names: Names, app_filter: bool) -> Self {
        Self {
            app_filter,
            txn,
            tenant,
            names,
        }
    }

    /// The application-layer condition selecting this tenant's row of `tenants`.
    pub(crate) fn tenant_row(&self) -> Condition {
        if self.app_filter {
            Condition::all().add(tenants::Column::Id.eq(self.t()))
        } else {
            Condition::all()
        }
    }

    /// The application-layer tenant condition on a platform table's `tenant_id` column.
    pub(crate) fn tf<C: ColumnTrait>(&self, col: C) -> Condition {
        if self.app_filter {
            Condition::all().add(col.eq(self.t()))
        } else {
            Condition::all()
        }
    }

    /// The same condition for platform tables queried without an entity (the flow tables).
    pub(crate) fn tenant_cond(&self) -> Condition {
        if self.app_filter {
            Condition::all().add(Expr::col("tenant_id").eq(self.t()))
        } else {
            Condition::all()
        }
    }

    pub(crate) fn t(&self) -> Uuid {
        self.tenant.0
    }

    /// Run a statement built with sea-query (rendered for this transaction's backend, values
    /// bound); returns the number of rows it changed.
    pub(crate) async fn exec<S: StatementBuilder>(&self, stmt: &S) -> Result<u64> {
        Ok(self.txn.execute(stmt).await.map_err(db)?.rows_affected())
    }

    pub(crate) async fn all<S: StatementBuilder>(&self, stmt: &S) -> Result<Vec<QueryResult>> {
        self.txn.query_all(stmt).await.map_err(db)
    }

    pub(crate) async fn one<S: StatementBuilder>(&self, stmt: &S) -> Result<Option<QueryResult>> {
        self.txn.query_one(stmt).await.map_err(db)
    }
}
