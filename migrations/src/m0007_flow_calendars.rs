//! Business calendars for workflow timers: one JSON document per tenant and name (time zone,
//! weekend days, holidays, make-up working days). Keyed by `tenant_id` first; on PostgreSQL
//! row-level security ENABLE + FORCE like `m0006_flows`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_flow_calendars"
    }
}

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table("flow_calendars".to_owned()).if_not_exists();
        for mut c in [
            col("tenant_id").uuid().not_null().to_owned(),
            col("name").text().not_null().to_owned(),
            col("doc").json_binary().not_null().to_owned(),
            col("updated_by").uuid().not_null().to_owned(),
            col("created_at")
                .timestamp_with_time_zone()
                .not_null()
                .to_owned(),
            col("updated_at")
                .timestamp_with_time_zone()
                .not_null()
                .to_owned(),
        ] {
            t.col(&mut c);
        }
        let mut pk = Index::create();
        pk.col("tenant_id".to_owned()).col("name".to_owned());
        t.primary_key(&mut pk);
        m.create_table(t.to_owned()).await?;
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let key = "NULLIF(current_setting('app.tenant_id', true), '')::uuid";
        m.get_connection()
            .execute_unprepared(&format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON flow_calendars TO weft_tenant; \
                 ALTER TABLE flow_calendars ENABLE ROW LEVEL SECURITY; \
                 ALTER TABLE flow_calendars FORCE ROW LEVEL SECURITY; \
                 DROP POLICY IF EXISTS tenant_isolation ON flow_calendars; \
                 CREATE POLICY tenant_isolation ON flow_calendars FOR ALL TO weft_tenant \
                   USING (tenant_id = {key}) WITH CHECK (tenant_id = {key})"
            ))
            .await?;
        Ok(())
    }
}
