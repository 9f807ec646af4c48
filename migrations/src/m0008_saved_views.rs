//! Saved list views: a user's named filter + sort + columns (+ page size, kanban/calendar mode)
//! on one object, personal or shared with the tenant, and each user's default view per object.
//! Every key leads with `tenant_id`; on PostgreSQL both tables have row-level security
//! ENABLE + FORCE like `m0004_pg_security`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_saved_views"
    }
}

const TABLES: &[&str] = &["saved_views", "saved_view_defaults"];

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let uuid = |n: &str| col(n).uuid().not_null().to_owned();
        let text = |n: &str| col(n).text().not_null().to_owned();
        let ts = |n: &str| col(n).timestamp_with_time_zone().not_null().to_owned();
        m.create_table(
            Table::create()
                .table("saved_views".to_owned())
                .if_not_exists()
                .col(uuid("tenant_id"))
                .col(uuid("id"))
                .col(text("object"))
                .col(uuid("owner_id"))
                .col(text("name"))
                // Lower-cased trimmed name: unique per audience (`shared` or the owner's id).
                .col(text("name_key"))
                .col(text("audience"))
                .col(col("shared").boolean().not_null().to_owned())
                .col(col("definition").json_binary().not_null().to_owned())
                .col(col("version").big_integer().not_null().to_owned())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .primary_key(Index::create().col("tenant_id").col("id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_saved_views_name")
                .table("saved_views".to_owned())
                .if_not_exists()
                .col("tenant_id")
                .col("object")
                .col("audience")
                .col("name_key")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_saved_views_owner")
                .table("saved_views".to_owned())
                .if_not_exists()
                .col("tenant_id")
                .col("owner_id")
                .col("object")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("saved_view_defaults".to_owned())
                .if_not_exists()
                .col(uuid("tenant_id"))
                .col(uuid("user_id"))
                .col(text("object"))
                .col(uuid("view_id"))
                .primary_key(
                    Index::create()
                        .col("tenant_id")
                        .col("user_id")
                        .col("object"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_saved_view_defaults_view")
                .table("saved_view_defaults".to_owned())
                .if_not_exists()
                .col("tenant_id")
                .col("view_id")
                .to_owned(),
        )
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
        Ok(())
    }
}
