//! Platform table `tenants`.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub db_key: String,
    pub status: String,
    pub meta_version: i64,
    pub access_version: i64,
    /// IANA zone: the day `today()` means in the tenant's rules.
    pub time_zone: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
