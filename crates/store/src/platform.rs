//! Platform rows: entity <-> port type conversions and the cross-tenant job claim.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use weft_meta::TenantId;
use weft_runtime::Result;
use weft_runtime::ports::{ApiKeyRow, Backend, JobRow, UserRow};

use crate::entities::{api_keys, jobs, users};
use crate::errors::db;
use crate::sqlvalue::sqlite_datetime;

pub fn api_key_row(m: api_keys::Model) -> ApiKeyRow {
    ApiKeyRow {
        tenant: TenantId(m.tenant_id),
        id: m.id,
        user_id: m.user_id,
        name: m.name,
        prefix: m.prefix,
        key_hash: m.key_hash,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
        expires_at: m.expires_at,
    }
}

pub fn user_row(m: users::Model) -> UserRow {
    UserRow {
        tenant: TenantId(m.tenant_id),
        id: m.id,
        name: m.name,
        email: m.email,
        mobile: m.mobile,
        status: m.status,
        is_admin: m.is_admin,
        password_hash: m.password_hash,
        primary_department: m.primary_department,
        created_at: m.created_at,
    }
}

pub fn job_row(m: jobs::Model) -> JobRow {
    JobRow {
        id: m.id,
        tenant: m.tenant_id,
        kind: m.kind,
        payload: m.payload,
        status: m.status,
        progress: m.progress,
        attempts: m.attempts,
        error: m.error,
        created_by: m.created_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Claim due jobs with a lease. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several processes
/// claim concurrently without taking the same row; SQLite has one writer.
pub async fn claim_jobs(
    c: &DatabaseConnection,
    backend: Backend,
    worker: &str,
    limit: u32,
    lease_secs: i64,
    now: DateTime<Utc>,
) -> Result<Vec<JobRow>> {
    let until = now + Duration::seconds(lease_secs);
    let stmt = match backend {
        Backend::Postgres => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
             WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM jobs \
               WHERE status IN ('queued', 'running') AND run_at <= $3 \
                 AND (lease_until IS NULL OR lease_until < $3) \
               ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING tenant_id, id, kind, payload, status, progress, attempts, error, run_at, \
               lease_until, lease_owner, created_by, created_at, updated_at",
            [
                until.into(),
                worker.into(),
                now.into(),
                i64::from(limit).into(),
            ],
        ),
        Backend::Sqlite => Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "UPDATE jobs SET lease_until = ?, lease_owner = ?, attempts = attempts + 1 \
             WHERE rowid IN (SELECT rowid FROM jobs \
               WHERE status IN ('queued', 'running') AND run_at <= ? \
                 AND (lease_until IS NULL OR lease_until < ?) \
               ORDER BY run_at LIMIT ?) \
             RETURNING tenant_id, id, kind, payload, status, progress, attempts, error, run_at, \
               lease_until, lease_owner, created_by, created_at, updated_at",
            [
                until.into(),
                worker.into(),
                now.into(),
                now.into(),
                i64::from(limit).into(),
            ],
        ),
    };
    let _ = sqlite_datetime;
    let rows = c.query_all_raw(stmt).await.map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let m = <jobs::Model as sea_orm::FromQueryResult>::from_query_result(&r, "").map_err(db)?;
        out.push(job_row(m));
    }
    Ok(out)
}
