//! Platform table `automation_rules`: rule documents (`weft.rule/1`).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "automation_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub api_name: String,
    pub object: String,
    pub kind: String,
    pub active: bool,
    pub version: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub doc: Json,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_by: Uuid,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
