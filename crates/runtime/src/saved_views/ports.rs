//! Storage needs of saved list views. Implemented by `weft-store` in
//! `crates/store/src/saved_views.rs`. Every call is bound to the transaction's tenant.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::Result;

/// One saved view as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewRow {
    pub id: Uuid,
    pub object: String,
    pub owner: Uuid,
    pub name: String,
    pub shared: bool,
    /// `{filter, sort, columns, page_size, mode, group_field}` (validated on save).
    pub definition: Json,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait ViewTx {
    /// Views `user` may see: their own and the shared ones, of one object or all, by name.
    async fn visible_views(&mut self, user: Uuid, object: Option<&str>) -> Result<Vec<ViewRow>>;
    async fn view(&mut self, id: Uuid) -> Result<Option<ViewRow>>;
    /// Insert a new view. A name already taken in the same audience (the owner's personal
    /// views, or the shared views) is a `Conflict`.
    async fn insert_view(&mut self, v: &ViewRow) -> Result<()>;
    /// Replace the view if its stored version is `expected`; false when it is not.
    async fn update_view(&mut self, v: &ViewRow, expected: i64) -> Result<bool>;
    /// Delete the view and every user's default pointing at it.
    async fn delete_view(&mut self, id: Uuid) -> Result<bool>;
    /// The user's default views, `(object, view id)`.
    async fn default_views(&mut self, user: Uuid) -> Result<Vec<(String, Uuid)>>;
    /// Set (`Some`) or clear (`None`) the user's default view of an object.
    async fn set_default_view(
        &mut self,
        user: Uuid,
        object: &str,
        view: Option<Uuid>,
    ) -> Result<()>;
}
