//! Platform table `webhook_deliveries`: one row per webhook attempt.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub job_id: Uuid,
    pub action_index: i32,
    pub url: String,
    pub idempotency_key: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub ok: bool,
    pub error: Option<String>,
    pub request_body: String,
    pub response_excerpt: Option<String>,
    pub at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
