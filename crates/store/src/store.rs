//! The store: connection pools per backend, migrations, and the operator tools that run
//! outside a tenant transaction.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::RwLock;
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    SqlxPostgresConnector, SqlxSqliteConnector, Statement, TransactionTrait,
};
use weft_meta::TenantId;
use weft_migrations::{Migrator, MigratorTrait};
use weft_runtime::ports::Backend;
use weft_runtime::{Error, Result};

use crate::entities::tenants;
use crate::errors::db;
use crate::names::Names;
use crate::records;

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
    pub(crate) backend: Backend,
    /// The connection as configured (the schema owner): migrations, tenant provisioning, and
    /// the few cross-tenant lookups that happen before a tenant is known (credentials, job
    /// claims). On SQLite the same as `writer`.
    pub(crate) admin: DatabaseConnection,
    pub(crate) app_filter: bool,
    /// Writes (and on PostgreSQL everything). On SQLite a single connection: SQLite has one
    /// writer, and queueing in the pool beats `SQLITE_BUSY` retries.
    pub(crate) writer: DatabaseConnection,
    /// Reads on SQLite (WAL readers run beside the writer).
    pub(crate) reader: DatabaseConnection,
    pub(crate) keys: RwLock<HashMap<TenantId, String>>,
}

impl SeaStore {
    pub async fn connect(opts: &StoreOptions) -> Result<Self> {
        if opts.url.starts_with("postgres://") || opts.url.starts_with("postgresql://") {
            Self::connect_postgres(opts).await
        } else if opts.url.starts_with("sqlite:") {
            Self::connect_sqlite(opts).await
        } else {
            Err(Error::Unavailable(
                "the database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    async fn connect_postgres(opts: &StoreOptions) -> Result<Self> {
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
                    // A role statement: plain SQL.
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
    }

    async fn connect_sqlite(opts: &StoreOptions) -> Result<Self> {
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
    }

    /// Apply pending platform migrations (as the schema owner).
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.admin, None).await.map_err(db)
    }

    /// The owner connection (migrations, provisioning, tests and tools).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.admin
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Refuse to serve when application connections would run with rights that bypass
    /// row-level security (superuser, BYPASSRLS) on PostgreSQL.
    pub async fn check_app_role(&self) -> Result<String> {
        if self.backend != Backend::Postgres {
            return Ok("sqlite".into());
        }
        // A role question about the current session: plain SQL on the system catalog.
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
        // sea-query has no EXPLAIN: prefix the statement it built, with its bound values.
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
            set_tenant_role(&txn, &names, None).await?;
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

    pub(crate) async fn tenant_key(&self, tenant: TenantId) -> Result<String> {
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

/// Switch a PostgreSQL transaction to the tenant's role and schema (and, given the tenant, the
/// row-level-security key), all transaction-local so nothing leaks through the pool
/// (security.md §1.2). One round trip; `set_config` statements are plain SQL with bound values.
pub(crate) async fn set_tenant_role(
    txn: &DatabaseTransaction,
    names: &Names,
    tenant: Option<TenantId>,
) -> Result<()> {
    let role: sea_orm::Value = names.role().into();
    let path: sea_orm::Value = format!("{},public", names.schema()).into();
    let stmt = match tenant {
        Some(t) => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('role', $1, true), set_config('search_path', $2, true), \
             set_config('app.tenant_id', $3, true)",
            [role, path, t.0.to_string().into()],
        ),
        None => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('role', $1, true), set_config('search_path', $2, true)",
            [role, path],
        ),
    };
    txn.execute_raw(stmt).await.map_err(db)?;
    Ok(())
}
