//! What org administration returns.

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::docs::described_json;

described_json!(
    /// A user of the directory (see [`UserShape`]).
    UserView,
    UserShape
);

described_json!(
    /// A role with its permissions (see [`RoleShape`]).
    RoleView,
    RoleShape
);

/// A user of the directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserShape {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    /// active | disabled
    pub status: String,
    pub is_admin: bool,
    /// The user's departments; one is primary.
    pub departments: Vec<MembershipView>,
    /// The user's roles.
    pub roles: Vec<RoleRef>,
    /// Whether the user can sign in with a password.
    pub has_password: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// A user's membership in a department.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipView {
    /// The department.
    pub id: Uuid,
    /// The user's primary department.
    pub primary: bool,
}

/// A role by id and key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleRef {
    pub id: Uuid,
    pub key: String,
}

/// A role with its permissions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleShape {
    pub id: Uuid,
    /// Stable key, used by rules and flows.
    pub key: String,
    /// `{zh, en}`.
    #[schema(value_type = crate::docs::LabelView)]
    pub label: Json,
    pub description: Option<String>,
    /// `{objects: {name: {create, read, update, delete, export, import, scope, fields}}}`.
    #[schema(value_type = Object)]
    pub permissions: Json,
    /// Users holding the role.
    pub members: usize,
}

/// The user directory, sorted by name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

described_json!(
    /// A department (see [`DepartmentShape`]).
    DepartmentView,
    DepartmentShape
);

/// A department.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentShape {
    pub id: Uuid,
    pub name: String,
    /// Null at the top of the tree.
    pub parent_id: Option<Uuid>,
    pub leader_id: Option<Uuid>,
    /// Order among siblings.
    pub sort: i64,
    /// Direct members (in lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<usize>,
}

/// Every department, in `sort` order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentList {
    pub departments: Vec<DepartmentView>,
}

/// Every role.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleList {
    pub roles: Vec<RoleView>,
}

/// A user's managers: at the level asked and every level up to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagerChain {
    pub user_id: Uuid,
    /// The manager at the level asked; null when there is none.
    pub manager: Option<Uuid>,
    /// Levels 1 (direct manager) to the level asked.
    pub chain: Vec<ManagerLevel>,
}

/// The manager at one level.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagerLevel {
    pub level: u32,
    pub user_id: Option<Uuid>,
}

/// Per object, which roles grant what.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleMatrix {
    pub objects: std::collections::BTreeMap<String, Vec<RoleGrant>>,
}

/// One role's grant on an object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleGrant {
    pub role: String,
    /// The grant: `{create, read, update, delete, export, import, scope, fields}`.
    #[schema(value_type = Object)]
    pub grant: Json,
}

/// An API key (the secret is never shown again).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// The user the key acts as.
    pub user_id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// API keys: the caller's, or every key for admins.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyView>,
}
