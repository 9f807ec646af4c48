//! Weft's storage adapter: the runtime's ports implemented on PostgreSQL and SQLite with
//! sea-orm (platform tables) and sea-query (record tables).
//!
//! Architecture invariant: only this crate and `migrations/` know SQL. Every record-table call
//! goes through a [`tx::SeaTx`] bound to one tenant; on PostgreSQL that transaction runs as the
//! tenant's role with the tenant's schema, so even a wrong table name cannot reach another
//! tenant's data.

mod access;
mod automation;
mod blob;
mod ddl;
mod entities;
mod errors;
mod filter;
mod flows;
mod names;
mod platform;
mod records;
mod saved_views;
mod sqlvalue;
mod tx;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Set, SqlxPostgresConnector, SqlxSqliteConnector, Statement, TransactionTrait,
};
use weft_meta::TenantId;
use weft_migrations::{Migrator, MigratorTrait};
use weft_runtime::access::ports::SessionRow;
use weft_runtime::ports::{ApiKeyRow, Backend, JobRow, Store, TenantRow, Tx, TxMode, UserRow};
use weft_runtime::{Error, Result};

pub use blob::LocalDiskBlobStore;
pub use names::Names;

use entities::{api_keys, audit_heads, sessions, tenants, users};
use errors::db;

#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `sqlite://path?mode=rwc` or `postgres://…`.
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Keep the application's own `tenant_id` conditions on platform tables. Turned off only
    /// by the isolation test that shows PostgreSQL row-level security holds on its own.
    pub app_tenant_filter: bool,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(30),
            app_tenant_filter: true,
        }
    }
}

pub struct SeaStore {
    backend: Backend,
    /// The connection as configured (the schema owner): migrations, tenant provisioning, and
    /// the few cross-tenant lookups that happen before a tenant is known (credentials, job
    /// claims). On SQLite the same as `writer`.
    admin: DatabaseConnection,
    app_filter: bool,
    /// Writes (and on PostgreSQL everything). On SQLite a single connection: SQLite has one
    /// writer, and queueing in the pool beats `SQLITE_BUSY` retries.
    writer: DatabaseConnection,
    /// Reads on SQLite (WAL readers run beside the writer).
    reader: DatabaseConnection,
    keys: RwLock<HashMap<TenantId, String>>,
}

impl SeaStore {
    pub async fn connect(opts: &StoreOptions) -> Result<Self> {
        if opts.url.starts_with("postgres://") || opts.url.starts_with("postgresql://") {
            let co = PgConnectOptions::from_str(&opts.url)
                .map_err(|e| Error::Unavailable(format!("bad DATABASE_URL: {e}")))?
                // Generic plans ignored the matching index on selective filters (perf.md trap 1).
                .options([("plan_cache_mode", "force_custom_plan")])
                .application_name("weft");
            let admin_pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(co.clone())
                .await
                .map_err(|e| Error::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
            // Application connections drop to `weft_app` (not superuser, not owner, no
            // BYPASSRLS) for their whole life; tenant transactions then switch to the
            // tenant's role. Created lazily: the role exists once migrations ran.
            let app_pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        sea_orm::sqlx::Executor::execute(&mut *conn, "SET ROLE weft_app").await?;
                        Ok(())
                    })
                })
                .connect_lazy_with(co);
            let app = SqlxPostgresConnector::from_sqlx_postgres_pool(app_pool);
            Ok(Self {
                backend: Backend::Postgres,
                admin: SqlxPostgresConnector::from_sqlx_postgres_pool(admin_pool),
                app_filter: opts.app_tenant_filter,
                writer: app.clone(),
                reader: app,
                keys: RwLock::new(HashMap::new()),
            })
        } else if opts.url.starts_with("sqlite:") {
            let co = SqliteConnectOptions::from_str(&opts.url)
                .map_err(|e| Error::Unavailable(format!("bad database URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Acknowledged writes survive power loss (security.md §5).
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(co.clone())
                .await
                .map_err(|e| Error::Unavailable(format!("cannot open SQLite database: {e}")))?;
            let reader = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.clamp(1, 8))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(co.read_only(true))
                .await
                .map_err(|e| Error::Unavailable(format!("cannot open SQLite database: {e}")))?;
            let writer = SqlxSqliteConnector::from_sqlx_sqlite_pool(writer);
            Ok(Self {
                backend: Backend::Sqlite,
                admin: writer.clone(),
                app_filter: true,
                writer,
                reader: SqlxSqliteConnector::from_sqlx_sqlite_pool(reader),
                keys: RwLock::new(HashMap::new()),
            })
        } else {
            Err(Error::Unavailable(
                "the database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    /// Apply pending platform migrations (as the schema owner).
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.admin, None).await.map_err(db)
    }

    /// The owner connection (migrations, provisioning, tests and tools).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.admin
    }

    /// Refuse to serve when application connections would run with rights that bypass
    /// row-level security (superuser, BYPASSRLS) on PostgreSQL.
    pub async fn check_app_role(&self) -> Result<String> {
        if self.backend != Backend::Postgres {
            return Ok("sqlite".into());
        }
        let row = self
            .writer
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_user::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
            ))
            .await
            .map_err(db)?
            .ok_or_else(|| Error::internal("current role not found"))?;
        let name: String = row.try_get_by_index(0).map_err(db)?;
        let sup: bool = row.try_get_by_index(1).map_err(db)?;
        let bypass: bool = row.try_get_by_index(2).map_err(db)?;
        if sup || bypass {
            return Err(Error::internal(format!(
                "application connections run as {name}, which bypasses row-level security"
            )));
        }
        Ok(name)
    }

    /// The database's plan for one page of `plan`, run as the tenant (operators' tool and the
    /// index tests). Returns the plan text, one line per row.
    pub async fn explain(
        &self,
        tenant: TenantId,
        obj: &weft_meta::CompiledObject,
        plan: &weft_meta::query::QueryPlan,
    ) -> Result<Vec<String>> {
        let key = self.tenant_key(tenant).await?;
        let names = Names::new(self.backend, &key);
        let q = records::build_query(&names, obj, plan, None, Default::default());
        let db_backend = match self.backend {
            Backend::Postgres => DbBackend::Postgres,
            Backend::Sqlite => DbBackend::Sqlite,
        };
        let stmt = db_backend.build(&q);
        let prefix = match self.backend {
            Backend::Postgres => "EXPLAIN ",
            Backend::Sqlite => "EXPLAIN QUERY PLAN ",
        };
        let explain = Statement::from_sql_and_values(
            db_backend,
            format!("{prefix}{}", stmt.sql),
            stmt.values.map(|v| v.0).unwrap_or_default(),
        );
        // Run with the tenant's role and schema, the way record queries run.
        let txn = self.writer.begin().await.map_err(db)?;
        if self.backend == Backend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('role', $1, true), set_config('search_path', $2, true)",
                [
                    names.role().into(),
                    format!("{},public", names.schema()).into(),
                ],
            ))
            .await
            .map_err(db)?;
        }
        let rows = txn.query_all_raw(explain).await.map_err(db)?;
        txn.commit().await.map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| match self.backend {
                Backend::Postgres => r.try_get_by_index::<String>(0).unwrap_or_default(),
                Backend::Sqlite => r.try_get_by_index::<String>(3).unwrap_or_default(),
            })
            .collect())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn tenant_key(&self, tenant: TenantId) -> Result<String> {
        if let Some(k) = self.keys.read().ok().and_then(|m| m.get(&tenant).cloned()) {
            return Ok(k);
        }
        let row = tenants::Entity::find_by_id(tenant.0)
            .one(&self.admin)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::not_found("tenant"))?;
        if let Ok(mut m) = self.keys.write() {
            m.insert(tenant, row.db_key.clone());
        }
        Ok(row.db_key)
    }
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
                // One round trip: the tenant's role and schema and the RLS key, all local to
                // this transaction (security.md §1.2: session-level settings leak across the pool).
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT set_config('role', $1, true), set_config('search_path', $2, true), \
                     set_config('app.tenant_id', $3, true)",
                    [
                        names.role().into(),
                        format!("{},public", names.schema()).into(),
                        tenant.0.to_string().into(),
                    ],
                ))
                .await
                .map_err(db)?;
                txn
            }
        };
        Ok(Box::new(tx::SeaTx::new(
            txn,
            tenant,
            names,
            self.app_filter,
        )))
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
            let role = names::ident(&names.role());
            let schema = names::ident(&names.schema());
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
            .map(platform::api_key_row))
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRow>> {
        platform::claim_jobs(&self.admin, self.backend, worker, limit, lease_secs, now).await
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
                out.push((tenant_row(t), platform::user_row(u)));
            }
        }
        Ok(out)
    }
}

/// A fresh store handle for tests and tools that need raw access.
pub type SharedStore = Arc<SeaStore>;
