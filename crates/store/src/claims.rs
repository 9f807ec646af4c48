//! Leased claims across tenants: due jobs, automation runs and flow timers, each taken by one
//! worker for a while with one `UPDATE … RETURNING`. On PostgreSQL the due rows are picked with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers skip each other's rows instead of waiting;
//! SQLite has one writer, so its UPDATE is atomic on its own and picks rows by `rowid`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{
    Condition, DynIden, Expr, ExprTrait, IntoIden, LockBehavior, LockType, Order, Query,
    UpdateStatement,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Iterable, QueryResult};
use weft_runtime::Result;
use weft_runtime::automation::ports::RunStatus;
use weft_runtime::ports::Backend;

use crate::entities::{automation_outbox, jobs};
use crate::errors::db;

/// The outbox states a claim picks up (as in the table's index on (status, run_at)).
const RUN_DUE: &[&str] = &[RunStatus::Queued.as_str(), RunStatus::Running.as_str()];

/// What one kind of claim takes.
pub(crate) struct Claim {
    table: &'static str,
    /// The primary key (PostgreSQL matches the picked rows by it).
    key: &'static [&'static str],
    /// When a row is due; the oldest due rows are taken first.
    due: &'static str,
    /// Only rows in these states are taken (none: every row).
    statuses: &'static [&'static str],
    /// The state a claimed row moves to, when the table has one to change.
    claimed_status: Option<&'static str>,
    returning: Vec<DynIden>,
    /// Tenants whose rows are not taken this time (they have as much in flight as they may).
    skip_tenants: Vec<uuid::Uuid>,
}

impl Claim {
    /// Queued jobs, and running ones whose worker's lease expired.
    pub(crate) fn jobs() -> Self {
        Self {
            table: "jobs",
            key: &["tenant_id", "id"],
            due: "run_at",
            statuses: &["queued", "running"],
            claimed_status: None,
            returning: jobs::Column::iter().map(IntoIden::into_iden).collect(),
            skip_tenants: vec![],
        }
    }

    /// Queued automation runs, and running ones whose worker's lease expired.
    pub(crate) fn runs() -> Self {
        Self {
            table: "automation_outbox",
            key: &["tenant_id", "id"],
            due: "run_at",
            statuses: RUN_DUE,
            claimed_status: Some(RunStatus::Running.as_str()),
            returning: automation_outbox::Column::iter()
                .map(IntoIden::into_iden)
                .collect(),
            skip_tenants: vec![],
        }
    }

    /// Due flow timers (a fired timer's row is deleted by its command).
    pub(crate) fn flow_timers() -> Self {
        Self {
            table: "flow_timers",
            key: &["tenant_id", "instance_id", "timer"],
            due: "due_at",
            statuses: &[],
            claimed_status: None,
            returning: ["tenant_id", "instance_id", "timer", "due_at", "attempts"]
                .into_iter()
                .map(IntoIden::into_iden)
                .collect(),
            skip_tenants: vec![],
        }
    }

    /// Leave the rows of these tenants for later (fair share between tenants).
    pub(crate) fn excluding(mut self, tenants: &[uuid::Uuid]) -> Self {
        self.skip_tenants = tenants.to_vec();
        self
    }

    /// The claim statement: lease up to `limit` due rows to `worker` until `until`.
    pub(crate) fn statement(
        &self,
        backend: Backend,
        worker: &str,
        limit: u32,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> UpdateStatement {
        let mut due = Query::select();
        match backend {
            Backend::Postgres => due.columns(self.key.iter().copied()),
            Backend::Sqlite => due.column("rowid"),
        };
        due.from(self.table);
        if !self.statuses.is_empty() {
            // Literal states, as in the table's index on (status, run_at).
            due.and_where(
                Expr::col("status")
                    .is_in(self.statuses.iter().map(|s| Expr::Constant((*s).into()))),
            );
        }
        if !self.skip_tenants.is_empty() {
            due.and_where(Expr::col("tenant_id").is_not_in(self.skip_tenants.iter().copied()));
        }
        due.and_where(Expr::col(self.due).lte(now))
            .cond_where(
                Condition::any()
                    .add(Expr::col("lease_until").is_null())
                    .add(Expr::col("lease_until").lt(now)),
            )
            .order_by(self.due, Order::Asc)
            .limit(u64::from(limit));
        let picked = match backend {
            Backend::Postgres => {
                due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
                Expr::tuple(self.key.iter().map(|k| Expr::col(*k)))
            }
            Backend::Sqlite => Expr::col("rowid"),
        };
        let mut q = Query::update();
        q.table(self.table)
            .value("lease_until", until)
            .value("lease_owner", worker);
        if let Some(s) = self.claimed_status {
            q.value("status", Expr::Constant(s.into()));
        }
        q.value("attempts", Expr::col("attempts").add(1))
            .and_where(picked.in_subquery(due))
            .returning(Query::returning().columns(self.returning.iter().cloned()));
        q
    }

    /// Claim due rows for `lease_secs` seconds.
    pub(crate) async fn run(
        &self,
        c: &DatabaseConnection,
        backend: Backend,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<QueryResult>> {
        let until = now + Duration::seconds(lease_secs);
        let q = self.statement(backend, worker, limit, until, now);
        c.query_all(&q).await.map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    use super::*;

    fn sql(claim: Claim, backend: Backend) -> String {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let q = claim.statement(backend, "w", 10, t, t);
        match backend {
            Backend::Postgres => q.build(PostgresQueryBuilder).0,
            Backend::Sqlite => q.build(SqliteQueryBuilder).0,
        }
    }

    #[test]
    fn postgres_claims_skip_locked_rows() {
        assert_eq!(
            sql(Claim::jobs(), Backend::Postgres),
            r#"UPDATE "jobs" SET "lease_until" = $1, "lease_owner" = $2, "attempts" = "attempts" + $3 WHERE ("tenant_id", "id") IN (SELECT "tenant_id", "id" FROM "jobs" WHERE "status" IN ('queued', 'running') AND "run_at" <= $4 AND ("lease_until" IS NULL OR "lease_until" < $5) ORDER BY "run_at" ASC LIMIT $6 FOR UPDATE SKIP LOCKED) RETURNING "tenant_id", "id", "kind", "payload", "status", "progress", "attempts", "error", "run_at", "lease_until", "lease_owner", "created_by", "created_at", "updated_at""#
        );
        assert_eq!(
            sql(Claim::flow_timers(), Backend::Postgres),
            r#"UPDATE "flow_timers" SET "lease_until" = $1, "lease_owner" = $2, "attempts" = "attempts" + $3 WHERE ("tenant_id", "instance_id", "timer") IN (SELECT "tenant_id", "instance_id", "timer" FROM "flow_timers" WHERE "due_at" <= $4 AND ("lease_until" IS NULL OR "lease_until" < $5) ORDER BY "due_at" ASC LIMIT $6 FOR UPDATE SKIP LOCKED) RETURNING "tenant_id", "instance_id", "timer", "due_at", "attempts""#
        );
        assert!(
            sql(Claim::runs(), Backend::Postgres).starts_with(
                r#"UPDATE "automation_outbox" SET "lease_until" = $1, "lease_owner" = $2, "status" = 'running', "attempts" = "attempts" + $3 WHERE ("tenant_id", "id") IN (SELECT "tenant_id", "id" FROM "automation_outbox" WHERE "status" IN ('queued', 'running') AND "run_at" <= $4"#
            )
        );
    }

    #[test]
    fn sqlite_claims_update_by_rowid() {
        assert_eq!(
            sql(Claim::flow_timers(), Backend::Sqlite),
            r#"UPDATE "flow_timers" SET "lease_until" = ?, "lease_owner" = ?, "attempts" = "attempts" + ? WHERE "rowid" IN (SELECT "rowid" FROM "flow_timers" WHERE "due_at" <= ? AND ("lease_until" IS NULL OR "lease_until" < ?) ORDER BY "due_at" ASC LIMIT ?) RETURNING "tenant_id", "instance_id", "timer", "due_at", "attempts""#
        );
    }
}
