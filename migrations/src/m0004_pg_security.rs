//! PostgreSQL only: the database wall behind the application's own tenant checks.
//!
//! - `weft_app` (NOLOGIN, not superuser, not BYPASSRLS, owns nothing): every pooled
//!   application connection runs `SET ROLE weft_app`; tenant transactions then switch to the
//!   tenant's role. It may become any tenant role (granted at tenant creation) and nothing else.
//! - Row-level security, ENABLE + FORCE, on every platform table with a `tenant_id`, keyed on
//!   the transaction-local `app.tenant_id` (the `NULLIF` form: after a commit the setting reads
//!   back as '' — security.md §1.2 pitfall 4 — and an unset tenant sees no rows).
//! - The audit log is append-only for tenants: INSERT and SELECT only, and a trigger refuses
//!   UPDATE, DELETE and TRUNCATE for everyone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_pg_security"
    }
}

const TENANT_TABLES: &[&str] = &[
    "users",
    "departments",
    "api_keys",
    "meta_objects",
    "meta_revisions",
    "change_log",
    "counters",
    "jobs",
    "files",
    "idempotency_keys",
    "user_departments",
    "roles",
    "user_roles",
    "sessions",
    "audit_log",
    "audit_heads",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Sqlite {
            // SQLite has no roles or row-level security (the application layer is the wall
            // there), but the audit log is append-only all the same.
            let c = m.get_connection();
            c.execute_unprepared(
                "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log                    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;                  CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log                    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
            )
            .await?;
            return Ok(());
        }
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let c = m.get_connection();
        c.execute_unprepared(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'weft_app') THEN \
                 CREATE ROLE weft_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB; \
               END IF; \
             END $$; \
             GRANT weft_app TO CURRENT_USER",
        )
        .await?;
        let key = "NULLIF(current_setting('app.tenant_id', true), '')::uuid";
        for t in TENANT_TABLES {
            c.execute_unprepared(&format!(
                "ALTER TABLE {t} ENABLE ROW LEVEL SECURITY; ALTER TABLE {t} FORCE ROW LEVEL SECURITY; \
                 DROP POLICY IF EXISTS tenant_isolation ON {t}; \
                 CREATE POLICY tenant_isolation ON {t} FOR ALL TO weft_tenant \
                   USING (tenant_id = {key}) WITH CHECK (tenant_id = {key})"
            ))
            .await?;
        }
        c.execute_unprepared(&format!(
            "ALTER TABLE tenants ENABLE ROW LEVEL SECURITY; ALTER TABLE tenants FORCE ROW LEVEL SECURITY; \
             DROP POLICY IF EXISTS tenant_isolation ON tenants; \
             CREATE POLICY tenant_isolation ON tenants FOR ALL TO weft_tenant USING (id = {key}) WITH CHECK (id = {key}); \
             GRANT SELECT, INSERT, UPDATE, DELETE ON user_departments, roles, user_roles, sessions, audit_heads TO weft_tenant; \
             REVOKE INSERT, DELETE ON tenants FROM weft_tenant; \
             GRANT SELECT, INSERT ON audit_log TO weft_tenant"
        ))
        .await?;
        c.execute_unprepared(
            "CREATE OR REPLACE FUNCTION weft_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$; \
             DROP TRIGGER IF EXISTS audit_append_only ON audit_log; \
             CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log \
               FOR EACH ROW EXECUTE FUNCTION weft_audit_append_only(); \
             DROP TRIGGER IF EXISTS audit_no_truncate ON audit_log; \
             CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log \
               FOR EACH STATEMENT EXECUTE FUNCTION weft_audit_append_only()",
        )
        .await?;
        Ok(())
    }
}
