//! The permission model. A role grants, per object, create/read/update/delete/export/import,
//! a data scope (own, own department, own department and sub-departments, all) and field-level
//! access (edit, read, hidden). A user's rights are the union of their roles; nothing granted
//! means no access (deny by default). Tenant admins have every right.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which records of an object a grant reaches.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Records the user owns.
    #[default]
    Own,
    /// Records filed under one of the user's departments.
    Department,
    /// Records filed under the user's departments or any department below them.
    DepartmentTree,
    /// Every record of the object.
    All,
}

/// What a user may do with a field. Ordered: `Hidden < Read < Edit`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FieldAccess {
    Hidden,
    Read,
    Edit,
}

/// One role's rights on one object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectGrant {
    #[serde(default)]
    pub create: bool,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub update: bool,
    #[serde(default)]
    pub delete: bool,
    #[serde(default)]
    pub export: bool,
    #[serde(default)]
    pub import: bool,
    #[serde(default)]
    pub scope: Scope,
    /// Fields not listed are editable (readable when the grant has no update).
    #[serde(default)]
    pub fields: BTreeMap<String, FieldAccess>,
}

/// A role's permissions document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectGrant>,
}

/// Object operations checked by the record service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Read,
    Update,
    Delete,
    Export,
    Import,
}

impl Op {
    pub fn as_str(&self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Read => "read",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Export => "export",
            Op::Import => "import",
        }
    }
}

impl ObjectGrant {
    pub fn allows(&self, op: Op) -> bool {
        match op {
            Op::Create => self.create,
            Op::Read => self.read,
            Op::Update => self.update,
            Op::Delete => self.delete,
            Op::Export => self.export,
            Op::Import => self.import,
        }
    }
}
