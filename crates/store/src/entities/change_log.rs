//! Platform table `change_log`.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub object: String,
    pub record_id: Uuid,
    pub op: String,
    pub actor: Uuid,
    pub source: String,
    pub at: DateTimeUtc,
    pub version: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub diff: Json,
    pub sealed_in: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
