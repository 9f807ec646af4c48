//! PostgreSQL only: the group role every tenant role belongs to, with DML rights on the
//! platform tables. Tenant transactions run as the tenant's role (SET LOCAL ROLE), which can
//! use its own schema and these tables, and nothing else.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_pg_roles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let c = m.get_connection();
        c.execute_unprepared(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'weft_tenant') THEN \
                 CREATE ROLE weft_tenant NOLOGIN; \
               END IF; \
             END $$",
        )
        .await?;
        c.execute_unprepared(
            "GRANT USAGE ON SCHEMA public TO weft_tenant; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, users, departments, api_keys, \
               meta_objects, meta_revisions, change_log, counters, jobs, files, idempotency_keys \
               TO weft_tenant",
        )
        .await?;
        Ok(())
    }
}
