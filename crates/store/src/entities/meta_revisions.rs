//! Platform table `meta_revisions`.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "meta_revisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub object_id: Uuid,
    pub object: String,
    pub version: i64,
    pub action: String,
    pub actor: Uuid,
    pub at: DateTimeUtc,
    #[sea_orm(column_type = "JsonBinary")]
    pub summary: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub doc: Json,
}

impl ActiveModelBehavior for ActiveModel {}
