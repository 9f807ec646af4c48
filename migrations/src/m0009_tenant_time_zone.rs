//! The tenant's time zone (IANA name): the day `today()` means in rules and formulas, and
//! the zone a Chinese company expects its dates in. Existing tenants keep UTC.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_tenant_time_zone"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("tenants".to_owned())
                .add_column(
                    ColumnDef::new("time_zone".to_owned())
                        .text()
                        .not_null()
                        .default("UTC")
                        .to_owned(),
                )
                .to_owned(),
        )
        .await
    }
}
