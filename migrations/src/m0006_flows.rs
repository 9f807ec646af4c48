//! Workflow and approval runtime: draft definitions, immutable published versions, instances
//! (state JSON + revision for compare-and-swap), the task inbox, CC entries, leased timers and
//! the append-only instance timeline. Every key leads with `tenant_id`; on PostgreSQL every
//! table has row-level security ENABLE + FORCE like `m0004_pg_security`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_flows"
    }
}

const TABLES: &[&str] = &[
    "flow_defs",
    "flow_versions",
    "flow_instances",
    "flow_tasks",
    "flow_cc",
    "flow_timers",
    "flow_events",
];

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
}

fn ts(name: &str) -> ColumnDef {
    col(name).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null(name: &str) -> ColumnDef {
    col(name).timestamp_with_time_zone().null().to_owned()
}

fn table(name: &str, cols: Vec<ColumnDef>, pk: &[&str]) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name.to_owned()).if_not_exists();
    for mut c in cols {
        t.col(&mut c);
    }
    let mut idx = Index::create();
    for c in pk {
        idx.col((*c).to_owned());
    }
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
    #[allow(clippy::too_many_lines)] // a published migration is not rewritten, only appended to
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let uuid = |n: &str| col(n).uuid().not_null().to_owned();
        let text = |n: &str| col(n).text().not_null().to_owned();
        let text_null = |n: &str| col(n).text().null().to_owned();
        let json = |n: &str| col(n).json_binary().not_null().to_owned();
        m.create_table(table(
            "flow_defs",
            vec![
                uuid("tenant_id"),
                text("key"),
                text("object"),
                json("doc"),
                col("latest_version").integer().not_null().to_owned(),
                uuid("updated_by"),
                ts("created_at"),
                ts("updated_at"),
            ],
            &["tenant_id", "key"],
        ))
        .await?;
        m.create_table(table(
            "flow_versions",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                text("key"),
                col("version").integer().not_null().to_owned(),
                text("object"),
                text("hash"),
                json("doc"),
                uuid("published_by"),
                ts("published_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ux_flow_versions_key",
            "flow_versions",
            &["tenant_id", "key", "version"],
            true,
        ))
        .await?;
        m.create_table(table(
            "flow_instances",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid("version_id"),
                text("flow_key"),
                col("version").integer().not_null().to_owned(),
                text("object"),
                uuid("record_id"),
                uuid("initiator"),
                text("status"),
                col("rev").big_integer().not_null().to_owned(),
                json("state"),
                ts("created_at"),
                ts("updated_at"),
                ts_null("ended_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_flow_instances_record",
            "flow_instances",
            &["tenant_id", "record_id", "status"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_flow_instances_initiator",
            "flow_instances",
            &["tenant_id", "initiator", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_flow_instances_status",
            "flow_instances",
            &["tenant_id", "status", "id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "flow_tasks",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid("instance_id"),
                col("task").integer().not_null().to_owned(),
                col("ni").integer().not_null().to_owned(),
                text("node"),
                text("assignee"),
                text_null("acting_for"),
                text("kind"),
                text("status"),
                text_null("reason"),
                text("flow_key"),
                text("object"),
                uuid("record_id"),
                ts("created_at"),
                ts_null("closed_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ux_flow_tasks_instance",
            "flow_tasks",
            &["tenant_id", "instance_id", "task"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_flow_tasks_inbox",
            "flow_tasks",
            &["tenant_id", "assignee", "status", "id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "flow_cc",
            vec![
                uuid("tenant_id"),
                text("user_id"),
                uuid("instance_id"),
                text("node"),
                text("flow_key"),
                text("object"),
                uuid("record_id"),
                ts("created_at"),
            ],
            &["tenant_id", "user_id", "instance_id", "node"],
        ))
        .await?;
        m.create_index(index(
            "ix_flow_cc_instance",
            "flow_cc",
            &["tenant_id", "instance_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "flow_timers",
            vec![
                uuid("tenant_id"),
                uuid("instance_id"),
                col("timer").integer().not_null().to_owned(),
                text("node"),
                ts("due_at"),
                ts_null("lease_until"),
                text_null("lease_owner"),
                col("attempts").integer().not_null().to_owned(),
            ],
            &["tenant_id", "instance_id", "timer"],
        ))
        .await?;
        m.create_index(index(
            "ix_flow_timers_due",
            "flow_timers",
            &["due_at"],
            false,
        ))
        .await?;
        m.create_table(table(
            "flow_events",
            vec![
                uuid("tenant_id"),
                uuid("instance_id"),
                col("seq").big_integer().not_null().to_owned(),
                ts("at"),
                text_null("actor"),
                text("event"),
                text_null("node"),
                json("data"),
            ],
            &["tenant_id", "instance_id", "seq"],
        ))
        .await?;
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let c = m.get_connection();
        let key = "NULLIF(current_setting('app.tenant_id', true), '')::uuid";
        for t in TABLES {
            c.execute_unprepared(&format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO weft_tenant; \
                 ALTER TABLE {t} ENABLE ROW LEVEL SECURITY; ALTER TABLE {t} FORCE ROW LEVEL SECURITY; \
                 DROP POLICY IF EXISTS tenant_isolation ON {t}; \
                 CREATE POLICY tenant_isolation ON {t} FOR ALL TO weft_tenant \
                   USING (tenant_id = {key}) WITH CHECK (tenant_id = {key})"
            ))
            .await?;
        }
        // The timeline is append-only for tenants.
        c.execute_unprepared("REVOKE UPDATE, DELETE ON flow_events FROM weft_tenant")
            .await?;
        Ok(())
    }
}
