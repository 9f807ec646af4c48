//! Platform table `automation_outbox`: triggered rule runs (transactional outbox + run log).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "automation_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub rule_id: Option<Uuid>,
    pub rule: String,
    pub object: String,
    pub record_id: Option<Uuid>,
    pub event: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub depth: i32,
    pub idempotency_key: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub progress: Json,
    pub error: Option<String>,
    pub run_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
