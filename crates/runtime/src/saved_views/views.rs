//! What the saved-views service returns.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;
use uuid::Uuid;
use weft_meta::CompiledObject;

use super::ports::ViewRow;
use super::{manages_shared, visible_definition};
use crate::access::Guard;

/// A saved list view as the caller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedView {
    pub id: Uuid,
    /// The object it lists.
    pub object: String,
    pub name: String,
    /// Shared with everyone who can read the object.
    pub shared: bool,
    pub owner: Uuid,
    /// The caller owns it.
    pub mine: bool,
    /// The caller may change or delete it.
    pub editable: bool,
    /// The caller's default view of the object.
    pub default: bool,
    /// Parts of the definition were dropped because they name fields the caller cannot see.
    pub restricted: bool,
    /// `{filter, sort, columns, page_size, mode, group_field}`.
    #[schema(value_type = Object)]
    pub definition: Json,
    /// Send back as `version` to update (optimistic locking).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The caller's views and the shared ones.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedViewList {
    pub views: Vec<SavedView>,
    /// The caller's default view of the object asked about (null without `object`).
    pub default_view: Option<Uuid>,
}

pub(super) fn view_json(
    v: &ViewRow,
    obj: &CompiledObject,
    g: &Guard,
    me: Uuid,
    default: bool,
) -> SavedView {
    let (definition, restricted) = visible_definition(&v.definition, obj, g);
    let editable = if v.shared {
        manages_shared(g)
    } else {
        v.owner == me
    };
    SavedView {
        id: v.id,
        object: v.object.clone(),
        name: v.name.clone(),
        shared: v.shared,
        owner: v.owner,
        mine: v.owner == me,
        editable,
        default,
        restricted,
        definition,
        version: v.version,
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}
