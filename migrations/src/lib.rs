//! Platform-table migrations. Append-only: a released migration is never edited; changes come
//! as new migrations (expand, then contract). Run on purpose with `weft migrate`.

pub use sea_orm_migration::prelude::*;

mod m0001_platform;
mod m0002_pg_roles;
mod m0003_identity;
mod m0004_pg_security;
mod m0005_automation;
mod m0006_flows;
mod m0007_flow_calendars;
mod m0008_saved_views;
mod m0009_tenant_time_zone;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_platform::Migration),
            Box::new(m0002_pg_roles::Migration),
            Box::new(m0003_identity::Migration),
            Box::new(m0004_pg_security::Migration),
            Box::new(m0005_automation::Migration),
            Box::new(m0006_flows::Migration),
            Box::new(m0007_flow_calendars::Migration),
            Box::new(m0008_saved_views::Migration),
            Box::new(m0009_tenant_time_zone::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        "weft_migrations".into_iden()
    }
}
