//! Storage for saved list views: the `ViewTx` port on the platform tables `saved_views` and
//! `saved_view_defaults`. Every statement carries the application's own `tenant_id`
//! condition (row-level security is the second wall on PostgreSQL).

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::saved_views::ports::{ViewRow, ViewTx};

use crate::entities::{saved_view_defaults as defaults, saved_views as views};
use crate::errors::db;
use crate::tx::SeaTx;

fn row(m: views::Model) -> ViewRow {
    ViewRow {
        id: m.id,
        object: m.object,
        owner: m.owner_id,
        name: m.name,
        shared: m.shared,
        definition: m.definition,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn model(tenant: Uuid, v: &ViewRow) -> views::Model {
    views::Model {
        tenant_id: tenant,
        id: v.id,
        object: v.object.clone(),
        owner_id: v.owner,
        name: v.name.clone(),
        name_key: v.name.trim().to_lowercase(),
        audience: if v.shared {
            "shared".into()
        } else {
            v.owner.to_string()
        },
        shared: v.shared,
        definition: v.definition.clone(),
        version: v.version,
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

#[async_trait]
impl ViewTx for SeaTx {
    async fn visible_views(&mut self, user: Uuid, object: Option<&str>) -> Result<Vec<ViewRow>> {
        let mut q = views::Entity::find()
            .filter(self.tf(views::Column::TenantId))
            .filter(
                Condition::any()
                    .add(views::Column::OwnerId.eq(user))
                    .add(views::Column::Shared.eq(true)),
            );
        if let Some(o) = object {
            q = q.filter(views::Column::Object.eq(o));
        }
        Ok(q.order_by_asc(views::Column::Object)
            .order_by_desc(views::Column::Shared)
            .order_by_asc(views::Column::NameKey)
            .order_by_asc(views::Column::Id)
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(row)
            .collect())
    }

    async fn view(&mut self, id: Uuid) -> Result<Option<ViewRow>> {
        Ok(views::Entity::find()
            .filter(self.tf(views::Column::TenantId))
            .filter(views::Column::Id.eq(id))
            .one(&self.txn)
            .await
            .map_err(db)?
            .map(row))
    }

    async fn insert_view(&mut self, v: &ViewRow) -> Result<()> {
        model(self.t(), v)
            .into_active_model()
            .reset_all()
            .insert(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn update_view(&mut self, v: &ViewRow, expected: i64) -> Result<bool> {
        let m = model(self.t(), v);
        let res = views::Entity::update_many()
            .set(m.into_active_model().reset_all())
            .filter(self.tf(views::Column::TenantId))
            .filter(views::Column::Id.eq(v.id))
            .filter(views::Column::Version.eq(expected))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(res.rows_affected == 1)
    }

    async fn delete_view(&mut self, id: Uuid) -> Result<bool> {
        defaults::Entity::delete_many()
            .filter(self.tf(defaults::Column::TenantId))
            .filter(defaults::Column::ViewId.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        let r = views::Entity::delete_many()
            .filter(self.tf(views::Column::TenantId))
            .filter(views::Column::Id.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(r.rows_affected > 0)
    }

    async fn default_views(&mut self, user: Uuid) -> Result<Vec<(String, Uuid)>> {
        Ok(defaults::Entity::find()
            .filter(self.tf(defaults::Column::TenantId))
            .filter(defaults::Column::UserId.eq(user))
            .order_by_asc(defaults::Column::Object)
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|m| (m.object, m.view_id))
            .collect())
    }

    async fn set_default_view(
        &mut self,
        user: Uuid,
        object: &str,
        view: Option<Uuid>,
    ) -> Result<()> {
        match view {
            None => {
                defaults::Entity::delete_many()
                    .filter(self.tf(defaults::Column::TenantId))
                    .filter(defaults::Column::UserId.eq(user))
                    .filter(defaults::Column::Object.eq(object))
                    .exec(&self.txn)
                    .await
                    .map_err(db)?;
            }
            Some(id) => {
                let m = defaults::Model {
                    tenant_id: self.t(),
                    user_id: user,
                    object: object.to_owned(),
                    view_id: id,
                };
                defaults::Entity::insert(m.into_active_model().reset_all())
                    .on_conflict(
                        OnConflict::columns([
                            defaults::Column::TenantId,
                            defaults::Column::UserId,
                            defaults::Column::Object,
                        ])
                        .update_column(defaults::Column::ViewId)
                        .to_owned(),
                    )
                    .exec(&self.txn)
                    .await
                    .map_err(db)?;
            }
        }
        Ok(())
    }
}
