//! Users and API keys as the write path and key management need them (the organization as a
//! whole is loaded by the `AccessTx` port in `crate::access`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::ports::{ApiKeyRow, UserRow};

use super::SeaTx;
use crate::entities::{api_keys, departments, users};
use crate::errors::db;
use crate::platform::user_row;

pub(super) async fn insert_user(tx: &SeaTx, u: &UserRow) -> Result<()> {
    users::ActiveModel {
        tenant_id: Set(tx.t()),
        id: Set(u.id),
        name: Set(u.name.clone()),
        email: Set(u.email.clone()),
        mobile: Set(u.mobile.clone()),
        status: Set(u.status.clone()),
        is_admin: Set(u.is_admin),
        password_hash: Set(u.password_hash.clone()),
        primary_department: Set(u.primary_department),
        created_at: Set(u.created_at),
    }
    .insert(&tx.txn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn user(tx: &SeaTx, id: Uuid) -> Result<Option<UserRow>> {
    Ok(users::Entity::find()
        .filter(tx.tf(users::Column::TenantId))
        .filter(users::Column::Id.eq(id))
        .one(&tx.txn)
        .await
        .map_err(db)?
        .map(user_row))
}

pub(super) async fn users(tx: &SeaTx) -> Result<Vec<UserRow>> {
    Ok(users::Entity::find()
        .filter(tx.tf(users::Column::TenantId))
        .order_by_asc(users::Column::Name)
        .all(&tx.txn)
        .await
        .map_err(db)?
        .into_iter()
        .map(user_row)
        .collect())
}

pub(super) async fn insert_api_key(tx: &SeaTx, k: &ApiKeyRow) -> Result<()> {
    api_keys::ActiveModel {
        tenant_id: Set(tx.t()),
        id: Set(k.id),
        user_id: Set(k.user_id),
        name: Set(k.name.clone()),
        prefix: Set(k.prefix.clone()),
        key_hash: Set(k.key_hash.clone()),
        created_at: Set(k.created_at),
        last_used_at: Set(k.last_used_at),
        revoked_at: Set(k.revoked_at),
        expires_at: Set(k.expires_at),
    }
    .insert(&tx.txn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn touch_api_key(tx: &SeaTx, id: Uuid, at: DateTime<Utc>) -> Result<()> {
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::LastUsedAt, Expr::val(Some(at)))
        .filter(tx.tf(api_keys::Column::TenantId))
        .filter(api_keys::Column::Id.eq(id))
        .exec(&tx.txn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(super) async fn existing_users(tx: &SeaTx, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(tx.tf(users::Column::TenantId))
        .filter(users::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(&tx.txn)
        .await
        .map_err(db)
}

pub(super) async fn existing_departments(tx: &SeaTx, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    departments::Entity::find()
        .select_only()
        .column(departments::Column::Id)
        .filter(tx.tf(departments::Column::TenantId))
        .filter(departments::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(&tx.txn)
        .await
        .map_err(db)
}
