//! Identity, organization and access control.
//!
//! Every record operation asks a [`Guard`] built from the principal's effective rights: the
//! object operation is allowed or refused (403), the data scope becomes a predicate ANDed
//! into the SQL of every read and write (so lists, counts, gets, related lists, history,
//! exports and bulk calls agree, and an out-of-scope record is simply not found), and field
//! access hides fields from output, filters and sorts, and refuses writes to them.

mod error;
pub use error::AccessError;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod keys;
pub mod model;
pub mod org;
pub mod ports;
pub mod throttle;
pub mod views;

use std::sync::Arc;

use uuid::Uuid;
use weft_meta::query::{CmpOp, Col, ColKind, Pred};
use weft_meta::{Label, TenantId, Value};

use crate::core::Core;
use crate::error::Result;
use crate::principal::Principal;
use model::{FieldAccess, Op, Scope};
use org::{EffectiveGrant, OrgSnapshot, UserAccess};

/// What the principal may do with one object.
#[derive(Clone, Debug)]
pub struct Guard {
    pub user: Uuid,
    /// Admins and system actors bypass object, scope and field checks.
    pub unrestricted: bool,
    pub grant: EffectiveGrant,
    scope: Option<Pred>,
    /// Read-only view ("view as user"): every write is refused.
    pub read_only: bool,
    /// The user's departments (new records may be filed under them).
    pub departments: Vec<Uuid>,
    /// The object's label, for a refusal people can read (the API name when unknown).
    pub label: Option<Label>,
}

impl Guard {
    /// Full rights, for the platform's own writes after it checked the caller's rights.
    pub fn system(user: Uuid) -> Self {
        Self::unrestricted(user)
    }

    fn unrestricted(user: Uuid) -> Self {
        Self {
            user,
            unrestricted: true,
            grant: EffectiveGrant::default(),
            scope: None,
            read_only: false,
            departments: vec![],
            label: None,
        }
    }

    pub fn allows(&self, op: Op) -> bool {
        if self.read_only && !matches!(op, Op::Read | Op::Export) {
            return false;
        }
        self.unrestricted || self.grant.allows(op)
    }

    /// Refuse the operation unless granted.
    pub fn require(&self, op: Op, object: &str) -> Result<()> {
        if self.allows(op) {
            Ok(())
        } else if self.read_only {
            Err(AccessError::ReadOnlyView.into())
        } else {
            let object = self.label.clone().unwrap_or_else(|| Label {
                zh: Some(object.to_owned()),
                en: Some(object.to_owned()),
            });
            Err(AccessError::Denied { op, object }.into())
        }
    }

    /// What the guard allows, operation by operation: the one place rights are read off a
    /// guard (the UI's permissions and the admin's access explanation both use it).
    pub fn rights(&self) -> Rights {
        Rights {
            create: self.allows(Op::Create),
            read: self.allows(Op::Read),
            update: self.allows(Op::Update),
            delete: self.allows(Op::Delete),
            export: self.allows(Op::Export),
            import: self.allows(Op::Import),
        }
    }

    /// Which records the guard reaches: all for admins, the grant's scope otherwise (`None`
    /// without a read grant).
    pub fn reach(&self) -> Option<Scope> {
        if self.unrestricted {
            Some(Scope::All)
        } else {
            self.grant.scope
        }
    }

    /// The data-scope predicate to AND into queries (`None` = all records).
    pub fn scope(&self) -> Option<&Pred> {
        self.scope.as_ref()
    }

    pub fn field(&self, name: &str) -> FieldAccess {
        if self.unrestricted {
            return if self.read_only {
                FieldAccess::Read
            } else {
                FieldAccess::Edit
            };
        }
        self.grant.field(name)
    }

    pub fn can_see(&self, name: &str) -> bool {
        self.field(name) != FieldAccess::Hidden
    }

    pub fn hidden(&self, name: &str) -> bool {
        self.field(name) == FieldAccess::Hidden
    }
}

fn uuid_col(name: &str) -> Col {
    Col {
        name: name.to_owned(),
        kind: ColKind::Uuid,
    }
}

/// The data scope as a predicate on the system columns owner and department.
///
/// Department scopes match the record's department only (as 数据权限 works in RuoYi and the
/// Chinese CRMs users know): a record is filed under its owner's primary department when it is
/// created or transferred, so "my department" includes "mine" in practice. Keeping the
/// predicate a single `department IN (…)` lets the `(department, id)` index serve the ordered
/// list scan; an `owner = me OR …` form made the department list 3× slower than the admin's.
/// A user without departments falls back to their own records.
pub fn scope_pred(scope: Scope, access: &UserAccess) -> Option<Pred> {
    let own = Pred::Cmp {
        col: uuid_col("owner"),
        op: CmpOp::Eq,
        value: Value::Uuid(access.user),
    };
    let depts = |ids: &[Uuid]| {
        if ids.len() == 1 {
            Pred::Cmp {
                col: uuid_col("department"),
                op: CmpOp::Eq,
                value: Value::Uuid(ids[0]),
            }
        } else {
            Pred::In {
                col: uuid_col("department"),
                values: ids.iter().map(|d| Value::Uuid(*d)).collect(),
                negated: false,
            }
        }
    };
    match scope {
        Scope::All => None,
        Scope::Own => Some(own),
        Scope::Department if access.departments.is_empty() => Some(own),
        Scope::Department => Some(depts(&access.departments)),
        Scope::DepartmentTree if access.tree.is_empty() => Some(own),
        Scope::DepartmentTree => Some(depts(&access.tree)),
    }
}

/// AND two optional predicates.
pub fn and(a: Option<&Pred>, b: Option<&Pred>) -> Option<Pred> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (Some(x), Some(y)) => Some(Pred::And(vec![x.clone(), y.clone()])),
    }
}

/// The principal's rights on `object` under the organization `org`.
pub fn guard_for(org: &OrgSnapshot, p: &Principal, object: &str) -> Guard {
    if p.is_admin && !p.view_as {
        return Guard::unrestricted(p.user.0);
    }
    let access = org.access(p.user.0);
    if access.is_admin {
        let mut g = Guard::unrestricted(p.user.0);
        g.read_only = p.view_as;
        return g;
    }
    let grant = access.objects.get(object).cloned().unwrap_or_default();
    let scope = grant.scope.and_then(|s| scope_pred(s, &access));
    let scope = if grant.scope.is_none() {
        // No read grant at all: nothing is in scope.
        Some(Pred::In {
            col: uuid_col("id"),
            values: vec![],
            negated: false,
        })
    } else {
        scope
    };
    Guard {
        user: p.user.0,
        unrestricted: false,
        grant,
        scope,
        read_only: p.view_as,
        departments: access.departments.clone(),
        label: None,
    }
}

/// Access control: who may do what with which records and fields.
#[derive(Clone)]
pub struct Access {
    core: Arc<Core>,
}

impl Access {
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// The tenant's organization, from cache when its access version is current.
    pub async fn org(&self, tenant: TenantId) -> Result<Arc<OrgSnapshot>> {
        self.core.org(tenant).await
    }

    /// The principal's rights on `object`.
    pub async fn guard(&self, p: &Principal, object: &str) -> Result<Guard> {
        if p.is_admin && !p.view_as {
            return Ok(Guard::unrestricted(p.user.0));
        }
        let org = self.core.org(p.tenant).await?;
        let mut g = guard_for(&org, p, object);
        if !g.unrestricted {
            g.label = self
                .core
                .meta(p.tenant)
                .await?
                .object(object)
                .map(|o| o.def.label.clone());
        }
        Ok(g)
    }

    /// Effective rights of the principal on every object, for the UI.
    pub async fn my_permissions(&self, p: &Principal) -> Result<MyPermissions, AccessError> {
        let meta = self.core.meta(p.tenant).await?;
        let mut objects = std::collections::BTreeMap::new();
        for o in meta.sorted() {
            let g = self.guard(p, o.api_name()).await?;
            let fields = o
                .live_fields()
                .map(|f| {
                    let a = match g.field(f.name()) {
                        FieldAccess::Edit => FieldRight::Edit,
                        FieldAccess::Read => FieldRight::Read,
                        FieldAccess::Hidden => FieldRight::Hidden,
                    };
                    (f.name().to_owned(), a)
                })
                .collect();
            let r = g.rights();
            objects.insert(
                o.api_name().to_owned(),
                ObjectRights {
                    create: r.create,
                    read: r.read,
                    update: r.update,
                    delete: r.delete,
                    export: r.export,
                    import: r.import,
                    scope: g.reach(),
                    fields,
                },
            );
        }
        Ok(MyPermissions {
            is_admin: p.is_admin && !p.view_as,
            objects,
        })
    }
}

/// What the signed-in user may do to a field.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldRight {
    Edit,
    Read,
    Hidden,
}

/// The signed-in user's rights on one object.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ObjectRights {
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
    pub export: bool,
    pub import: bool,
    /// Which rows the user reaches; absent when the user has no grant.
    #[schema(value_type = Option<String>)]
    pub scope: Option<Scope>,
    pub fields: std::collections::BTreeMap<String, FieldRight>,
}

/// What a user may do with an object's records, operation by operation.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Rights {
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
    pub export: bool,
    pub import: bool,
}

/// The signed-in user's effective rights on every object, for the UI.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MyPermissions {
    pub is_admin: bool,
    pub objects: std::collections::BTreeMap<String, ObjectRights>,
}
