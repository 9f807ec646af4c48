//! Schemas of request bodies and of the few responses the handlers build themselves. Record
//! and metadata documents use the runtime's named schemas (`Record`, `ObjectDefinition`, …).

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;
use uuid::Uuid;

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// The authenticated principal.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub is_admin: bool,
    /// The principal's primary department.
    pub department: Option<Uuid>,
}

/// The field types a form can use.
#[derive(Serialize, ToSchema)]
pub struct FieldTypes {
    /// Type names, as in a field definition's `type`.
    pub types: Vec<String>,
}

/// A successful sign-in (the session token is in the cookie only).
#[derive(Serialize, ToSchema)]
pub struct LoginResult {
    pub user: LoginUser,
    pub tenant_id: Uuid,
    /// Send back as `X-CSRF-Token` on state-changing requests made with the session cookie.
    pub csrf_token: String,
}

/// Who signed in.
#[derive(Serialize, ToSchema)]
pub struct LoginUser {
    pub id: Uuid,
    pub name: String,
    pub is_admin: bool,
}

/// Body of `POST /data/{object}/query`; every key is optional, no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct QueryBody {
    /// A filter in the query language, e.g. `{"amount": {"gt": 100}}` or
    /// `{"and": [...]}`.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Json>,
    /// Sort keys; `-` for descending (e.g. `["-amount", "name"]`).
    pub sort: Option<Vec<String>>,
    /// Page size (default 50).
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Fields to return.
    pub fields: Option<Vec<String>>,
    /// Lookup fields to embed under `_expand`.
    pub expand: Option<Vec<String>>,
    /// Also return `total`.
    pub count: Option<bool>,
}

/// Body of a transfer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TransferBody {
    /// The new owner.
    pub owner: Uuid,
    /// The new department; by default the new owner's primary one.
    pub department: Option<Uuid>,
}

/// The changeable parts of an object definition; no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ObjectPatch {
    #[schema(value_type = Option<weft_runtime::docs::LabelView>, nullable = false)]
    pub label: Option<Json>,
    #[schema(value_type = Option<weft_runtime::docs::LabelView>)]
    pub plural_label: Option<Json>,
    pub description: Option<String>,
    /// The field shown as the record's name.
    pub name_field: Option<String>,
    /// The form layout: sections of fields.
    #[schema(value_type = Option<Object>)]
    pub layout: Option<Json>,
}

/// A user to create, or the fields to change; no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UserBody {
    /// 1 to 100 characters (required to create).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub password: Option<String>,
    pub is_admin: Option<bool>,
    #[schema(value_type = Option<UserStatus>)]
    pub status: Option<String>,
    /// The user's departments; at most one primary.
    pub departments: Option<Vec<MembershipBody>>,
    /// Role keys or ids.
    pub roles: Option<Vec<String>>,
}

/// Whether a user may sign in.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum UserStatus {
    Active,
    Disabled,
}

/// A department membership.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MembershipBody {
    pub id: Uuid,
    pub primary: Option<bool>,
}

/// A department to create, or the fields to change; no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct DepartmentBody {
    /// 1 to 100 characters (required to create).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    pub parent_id: Option<Uuid>,
    pub leader_id: Option<Uuid>,
    pub sort: Option<i64>,
}

/// A role to create, or the fields to change; no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RoleBody {
    /// Stable key such as `sales_director` (create only).
    pub key: Option<String>,
    #[schema(value_type = Option<weft_runtime::docs::LabelView>)]
    pub label: Option<Json>,
    pub description: Option<String>,
    /// `{objects: {<object>: {create, read, update, delete, export, import, scope: own |
    /// department | department_tree | all, fields: {<field>: edit | read | hidden}}}}`.
    #[schema(value_type = Option<Object>)]
    pub permissions: Option<Json>,
}

/// A saved view to create; no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewView {
    /// The object listed.
    pub object: String,
    /// 1 to 64 characters, without control characters.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub name: String,
    pub shared: Option<bool>,
    /// Make it the caller's default view of the object.
    pub default: Option<bool>,
    /// `{filter?, sort?, columns?, page_size?, mode? (list | kanban | calendar), group_field?}`.
    #[schema(value_type = Option<Object>)]
    pub definition: Option<Json>,
}

/// The fields of a saved view to change; no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ViewPatch {
    /// 1 to 64 characters, without control characters.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S", nullable = false)]
    pub name: Option<String>,
    pub shared: Option<bool>,
    /// Make it the caller's default view of the object.
    pub default: Option<bool>,
    /// `{filter?, sort?, columns?, page_size?, mode? (list | kanban | calendar), group_field?}`,
    /// replaced whole.
    #[schema(value_type = Option<Object>)]
    pub definition: Option<Json>,
    /// The version last read (409 when stale).
    pub version: Option<i64>,
}

/// The tenant's settings to change; no other key is allowed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct TenantSettingsPatch {
    /// `today()` in rules and formulas is the date in this zone.
    #[schema(value_type = Option<crate::params::TimeZone>, nullable = false)]
    pub time_zone: Option<String>,
}
