//! The `Store` port: platform-level access before a tenant transaction (tenant provisioning,
//! credential lookups, the cross-tenant job claim), and the entity <-> port row conversions
//! shared with the tenant-bound ports.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, Set, TransactionTrait,
};
use weft_meta::TenantId;
use weft_runtime::Result;
use weft_runtime::access::ports::SessionRow;
use weft_runtime::ports::prelude::*;
use weft_runtime::ports::{ApiKeyRow, Backend, JobRow, Store, TenantRow, TxMode, UserRow};

use crate::claims::Claim;
use crate::entities::{api_keys, audit_heads, jobs, sessions, tenants, users};
use crate::errors::db;
use crate::names::{Names, ident};
use crate::store::{SeaStore, set_tenant_role};
use crate::tx::SeaTx;

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

/// Claim due jobs with a lease (see `crate::claims`).
pub async fn claim_jobs(
    c: &DatabaseConnection,
    backend: Backend,
    worker: &str,
    limit: u32,
    lease_secs: i64,
    now: DateTime<Utc>,
    skip_tenants: &[uuid::Uuid],
) -> Result<Vec<JobRow>> {
    let rows = Claim::jobs()
        .excluding(skip_tenants)
        .run(c, backend, worker, limit, lease_secs, now)
        .await?;
    rows.iter()
        .map(|r| Ok(job_row(jobs::Model::from_query_result(r, "").map_err(db)?)))
        .collect()
}

fn tenant_row(m: tenants::Model) -> TenantRow {
    TenantRow {
        id: TenantId(m.id),
        name: m.name,
        db_key: m.db_key,
        status: m.status,
        created_at: m.created_at,
    }
}

#[async_trait]
impl Store for SeaStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn begin(&self, tenant: TenantId, mode: TxMode) -> Result<Box<dyn Tx>> {
        let key = self.tenant_key(tenant).await?;
        let names = Names::new(self.backend, &key);
        let txn = match (self.backend, mode) {
            (Backend::Sqlite, TxMode::Write) => self
                .writer
                .begin_with_options(sea_orm::TransactionOptions {
                    sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await
                .map_err(db)?,
            (Backend::Sqlite, TxMode::Read) => self.reader.begin().await.map_err(db)?,
            (Backend::Postgres, _) => {
                let txn = self.writer.begin().await.map_err(db)?;
                set_tenant_role(&txn, &names, Some(tenant)).await?;
                txn
            }
        };
        Ok(Box::new(SeaTx::new(txn, tenant, names, self.app_filter)))
    }

    async fn create_tenant(
        &self,
        id: TenantId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<TenantRow> {
        let key = id.0.simple().to_string();
        let names = Names::new(self.backend, &key);
        let txn = self.admin.begin().await.map_err(db)?;
        let model = tenants::ActiveModel {
            id: Set(id.0),
            name: Set(name.to_owned()),
            db_key: Set(key.clone()),
            status: Set("active".into()),
            meta_version: Set(0),
            access_version: Set(0),
            time_zone: Set("UTC".into()),
            created_at: Set(at),
        }
        .insert(&txn)
        .await
        .map_err(db)?;
        if self.backend == Backend::Postgres {
            let role = ident(&names.role());
            let schema = ident(&names.schema());
            // Role and schema DDL: plain SQL from checked identifiers.
            for sql in [
                format!("CREATE ROLE {role} NOLOGIN IN ROLE weft_tenant"),
                format!("GRANT {role} TO CURRENT_USER"),
                format!("GRANT {role} TO weft_app"),
                format!("CREATE SCHEMA {schema} AUTHORIZATION {role}"),
            ] {
                txn.execute_unprepared(&sql).await.map_err(db)?;
            }
        }
        audit_heads::ActiveModel {
            tenant_id: Set(id.0),
            seq: Set(0),
            hash: Set(weft_runtime::access::audit::GENESIS.to_owned()),
        }
        .insert(&txn)
        .await
        .map_err(db)?;
        txn.commit().await.map_err(db)?;
        if let Ok(mut m) = self.keys.write() {
            m.insert(id, key);
        }
        Ok(tenant_row(model))
    }

    async fn tenant(&self, id: TenantId) -> Result<Option<TenantRow>> {
        Ok(tenants::Entity::find_by_id(id.0)
            .one(&self.admin)
            .await
            .map_err(db)?
            .map(tenant_row))
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRow>> {
        Ok(tenants::Entity::find()
            .all(&self.admin)
            .await
            .map_err(db)?
            .into_iter()
            .map(tenant_row)
            .collect())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRow>> {
        let conn = if self.backend == Backend::Sqlite {
            &self.reader
        } else {
            &self.admin
        };
        Ok(api_keys::Entity::find()
            .filter(api_keys::Column::KeyHash.eq(key_hash))
            .one(conn)
            .await
            .map_err(db)?
            .map(api_key_row))
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
        skip_tenants: &[uuid::Uuid],
    ) -> Result<Vec<JobRow>> {
        claim_jobs(
            &self.admin,
            self.backend,
            worker,
            limit,
            lease_secs,
            now,
            skip_tenants,
        )
        .await
    }

    async fn find_session(&self, token_hash: &str) -> Result<Option<(TenantId, SessionRow)>> {
        let conn = if self.backend == Backend::Sqlite {
            &self.reader
        } else {
            &self.admin
        };
        Ok(sessions::Entity::find()
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .one(conn)
            .await
            .map_err(db)?
            .map(|s| {
                (
                    TenantId(s.tenant_id),
                    SessionRow {
                        id: s.id,
                        user_id: s.user_id,
                        token_hash: s.token_hash,
                        csrf_token: s.csrf_token,
                        created_at: s.created_at,
                        last_seen_at: s.last_seen_at,
                        expires_at: s.expires_at,
                        revoked_at: s.revoked_at,
                    },
                )
            }))
    }

    async fn find_logins(&self, email: &str) -> Result<Vec<(TenantRow, UserRow)>> {
        let conn = if self.backend == Backend::Sqlite {
            &self.reader
        } else {
            &self.admin
        };
        let us = users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .all(conn)
            .await
            .map_err(db)?;
        let mut out = Vec::with_capacity(us.len());
        for u in us {
            if let Some(t) = tenants::Entity::find_by_id(u.tenant_id)
                .one(conn)
                .await
                .map_err(db)?
            {
                out.push((tenant_row(t), user_row(u)));
            }
        }
        Ok(out)
    }
}
