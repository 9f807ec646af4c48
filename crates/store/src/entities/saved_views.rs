//! Platform table `saved_views`: named list views (filter, sort, columns, page size, mode).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "saved_views")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub object: String,
    pub owner_id: Uuid,
    pub name: String,
    pub name_key: String,
    pub audience: String,
    pub shared: bool,
    #[sea_orm(column_type = "JsonBinary")]
    pub definition: Json,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
