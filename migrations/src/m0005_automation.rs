//! Rules and automation: rule documents, the transactional outbox (triggered jobs and their
//! run log), webhook deliveries and in-app notifications. Every key leads with `tenant_id`;
//! on PostgreSQL each table gets row-level security (ENABLE + FORCE) like `m0004`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_automation"
    }
}

const TABLES: &[&str] = &[
    "automation_rules",
    "automation_outbox",
    "webhook_deliveries",
    "notifications",
];

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
}
fn uuid(name: &str) -> ColumnDef {
    col(name).uuid().not_null().to_owned()
}
fn uuid_null(name: &str) -> ColumnDef {
    col(name).uuid().null().to_owned()
}
fn text(name: &str) -> ColumnDef {
    col(name).text().not_null().to_owned()
}
fn text_null(name: &str) -> ColumnDef {
    col(name).text().null().to_owned()
}
fn ts(name: &str) -> ColumnDef {
    col(name).timestamp_with_time_zone().not_null().to_owned()
}
fn ts_null(name: &str) -> ColumnDef {
    col(name).timestamp_with_time_zone().null().to_owned()
}
fn json(name: &str) -> ColumnDef {
    col(name).json_binary().not_null().to_owned()
}
fn int(name: &str) -> ColumnDef {
    col(name).integer().not_null().to_owned()
}
fn int_null(name: &str) -> ColumnDef {
    col(name).integer().null().to_owned()
}
fn big(name: &str) -> ColumnDef {
    col(name).big_integer().not_null().to_owned()
}
fn boolean(name: &str) -> ColumnDef {
    col(name).boolean().not_null().to_owned()
}

fn table(name: &str, cols: Vec<ColumnDef>) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name.to_owned()).if_not_exists();
    for mut c in cols {
        t.col(&mut c);
    }
    let mut idx = Index::create();
    idx.col("tenant_id".to_owned()).col("id".to_owned());
    t.primary_key(&mut idx);
    t.to_owned()
}

fn index(name: &str, on: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name.to_owned()).table(on.to_owned()).if_not_exists();
    for c in cols {
        i.col((*c).to_owned());
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "automation_rules",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                text("api_name"),
                text("object"),
                text("kind"),
                boolean("active"),
                big("version"),
                json("doc"),
                uuid("created_by"),
                ts("created_at"),
                uuid("updated_by"),
                ts("updated_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_automation_rules_name",
            "automation_rules",
            &["tenant_id", "api_name"],
            true,
        ))
        .await?;

        // The outbox: one row per triggered rule run, written in the transaction of the write
        // that triggered it, claimed by workers with a lease. It doubles as the run log.
        m.create_table(table(
            "automation_outbox",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid_null("rule_id"),
                text("rule"),
                text("object"),
                uuid_null("record_id"),
                text("event"),
                json("payload"),
                text("status"),
                int("attempts"),
                int("max_attempts"),
                int("depth"),
                text("idempotency_key"),
                json("progress"),
                text_null("error"),
                ts("run_at"),
                ts_null("lease_until"),
                text_null("lease_owner"),
                ts("created_at"),
                ts("updated_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ix_automation_outbox_due",
            "automation_outbox",
            &["status", "run_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ux_automation_outbox_key",
            "automation_outbox",
            &["tenant_id", "idempotency_key"],
            true,
        ))
        .await?;

        m.create_table(table(
            "webhook_deliveries",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid("job_id"),
                int("action_index"),
                text("url"),
                text("idempotency_key"),
                int("attempt"),
                int_null("status_code"),
                boolean("ok"),
                text_null("error"),
                text("request_body"),
                text_null("response_excerpt"),
                ts("at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ix_webhook_deliveries_job",
            "webhook_deliveries",
            &["tenant_id", "job_id"],
            false,
        ))
        .await?;

        m.create_table(table(
            "notifications",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid("user_id"),
                text("title"),
                text("body"),
                text_null("object"),
                uuid_null("record_id"),
                text_null("rule"),
                text("idempotency_key"),
                ts_null("read_at"),
                ts("created_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "ux_notifications_key",
            "notifications",
            &["tenant_id", "idempotency_key"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_notifications_user",
            "notifications",
            &["tenant_id", "user_id", "id"],
            false,
        ))
        .await?;

        if m.get_database_backend() == DbBackend::Postgres {
            let c = m.get_connection();
            let key = "NULLIF(current_setting('app.tenant_id', true), '')::uuid";
            for t in TABLES {
                c.execute_unprepared(&format!(
                    "ALTER TABLE {t} ENABLE ROW LEVEL SECURITY; ALTER TABLE {t} FORCE ROW LEVEL SECURITY; \
                     DROP POLICY IF EXISTS tenant_isolation ON {t}; \
                     CREATE POLICY tenant_isolation ON {t} FOR ALL TO weft_tenant \
                       USING (tenant_id = {key}) WITH CHECK (tenant_id = {key}); \
                     GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO weft_tenant"
                ))
                .await?;
            }
        }
        Ok(())
    }
}
