//! Administration of the organization: users, departments (a tree with leaders), roles and
//! their permissions, memberships. Every change is audited and bumps the tenant's access
//! version in the same transaction, so all processes apply it on their next check.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_meta::Problem;

use super::AccessError;
use super::audit::Event;
use super::auth::hash_password;
use super::keys::KeyCache;
use super::model::Permissions;
use super::org::{Department, Role};
use super::views::{
    DepartmentList, DepartmentView, ManagerChain, ManagerLevel, RoleGrant, RoleList, RoleMatrix,
    RoleView, UserList, UserView,
};
use crate::core::Core;
use crate::error::{Error, Result};
use crate::metadata::parse_doc;
use crate::ports::prelude::*;
use crate::ports::{TxMode, UserRow};
use crate::principal::Principal;

fn require_admin(p: &Principal) -> Result<()> {
    if p.is_admin && !p.view_as {
        Ok(())
    } else {
        Err(AccessError::OrgAdminOnly.into())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub id: Uuid,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub mobile: Option<Option<String>>,
    pub password: Option<String>,
    pub is_admin: Option<bool>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    pub departments: Option<Vec<Membership>>,
    /// Role ids or role keys.
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    pub name: Option<String>,
    pub parent_id: Option<Option<Uuid>>,
    pub leader_id: Option<Option<Uuid>>,
    pub sort: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub key: Option<String>,
    /// `{zh?, en?}`, checked by [`role_label`] so that no other shape is stored.
    pub label: Option<Json>,
    pub description: Option<Option<String>>,
    pub permissions: Option<Json>,
}

/// A role's label: an object of `zh` and `en` texts (each may be absent or null).
fn role_label(l: &Json) -> Result<Json> {
    let ok = l.as_object().is_some_and(|m| {
        m.iter()
            .all(|(k, v)| matches!(k.as_str(), "zh" | "en") && (v.is_string() || v.is_null()))
    });
    if ok {
        Ok(l.clone())
    } else {
        Err(Error::one(
            "/label",
            "type",
            "a label is {\"zh\": text, \"en\": text}",
        ))
    }
}

fn user_json(u: &UserRow, org: &super::org::OrgSnapshot) -> UserView {
    let depts: Vec<Json> = org
        .memberships
        .get(&u.id)
        .map(|m| {
            m.iter()
                .map(|(d, p)| json!({"id": d, "primary": p}))
                .collect()
        })
        .unwrap_or_default();
    let roles: Vec<Json> = org
        .user_roles
        .get(&u.id)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| org.roles.get(r))
                .map(|r| json!({"id": r.id, "key": r.key}))
                .collect()
        })
        .unwrap_or_default();
    UserView(json!({
        "id": u.id, "name": u.name, "email": u.email, "mobile": u.mobile, "status": u.status,
        "is_admin": u.is_admin, "departments": depts, "roles": roles, "has_password": u.password_hash.is_some(),
        "created_at": weft_meta::value::datetime_string(&u.created_at),
    }))
}

fn role_json(r: &Role, members: usize) -> RoleView {
    RoleView(
        json!({"id": r.id, "key": r.key, "label": r.label, "description": r.description,
        "permissions": r.permissions, "members": members}),
    )
}

fn department_view(d: &Department) -> DepartmentView {
    DepartmentView(
        json!({"id": d.id, "name": d.name, "parent_id": d.parent_id, "leader_id": d.leader_id, "sort": d.sort}),
    )
}

fn check_email(e: &str) -> Result<String> {
    let e = e.trim().to_lowercase();
    if e.len() > 254
        || !e.contains('@')
        || e.starts_with('@')
        || e.ends_with('@')
        || e.contains(char::is_whitespace)
    {
        return Err(Error::one("/email", "format", "must be an email address"));
    }
    Ok(e)
}

/// Administration of the organization: users, departments, roles and their permissions.
#[derive(Clone)]
pub struct OrgAdmin {
    core: Arc<Core>,
    keys: Arc<KeyCache>,
}

impl OrgAdmin {
    pub fn new(core: Arc<Core>, keys: Arc<KeyCache>) -> Self {
        Self { core, keys }
    }

    async fn org_change(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        action: &str,
        id: Uuid,
        detail: Json,
    ) -> Result<()> {
        tx.bump_access_version().await?;
        self.core
            .audit(
                tx,
                Some(p.user.0),
                Event {
                    action,
                    object: None,
                    record_id: Some(id),
                    detail,
                },
            )
            .await?;
        Ok(())
    }

    /// The user directory (every user can read it for pickers).
    pub async fn list_users(&self, p: &Principal) -> Result<UserList, AccessError> {
        let org = self.core.org(p.tenant).await?;
        let mut users: Vec<&UserRow> = org.users.values().collect();
        users.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(UserList {
            users: users.into_iter().map(|u| user_json(u, &org)).collect(),
        })
    }

    fn resolve_roles(&self, org: &super::org::OrgSnapshot, refs: &[String]) -> Result<Vec<Uuid>> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            let found = Uuid::parse_str(r)
                .ok()
                .filter(|id| org.roles.contains_key(id))
                .or_else(|| org.roles.values().find(|x| &x.key == r).map(|x| x.id));
            match found {
                Some(id) if !out.contains(&id) => out.push(id),
                Some(_) => {}
                None => problems.push(Problem::new(
                    format!("/roles/{i}"),
                    "not_found",
                    format!("no role '{r}'"),
                )),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Error::Validation(problems))
        }
    }

    fn check_memberships(
        &self,
        org: &super::org::OrgSnapshot,
        ms: &[Membership],
    ) -> Result<Vec<(Uuid, bool)>> {
        let mut problems = Vec::new();
        let mut out: Vec<(Uuid, bool)> = Vec::new();
        for (i, m) in ms.iter().enumerate() {
            if !org.departments.contains_key(&m.id) {
                problems.push(Problem::new(
                    format!("/departments/{i}/id"),
                    "not_found",
                    "no such department",
                ));
            } else if !out.iter().any(|(d, _)| *d == m.id) {
                out.push((m.id, m.primary));
            }
        }
        if out.iter().filter(|(_, p)| *p).count() > 1 {
            problems.push(Problem::new(
                "/departments",
                "conflict",
                "only one department can be primary",
            ));
        }
        if !out.is_empty() && !out.iter().any(|(_, p)| *p) {
            out[0].1 = true;
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Error::Validation(problems))
        }
    }

    pub async fn create_user(&self, p: &Principal, body: &Json) -> Result<UserView, AccessError> {
        require_admin(p)?;
        let input: UserInput = parse_doc(body)?;
        let name = input
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::one(
                "/name",
                "required",
                "a name of 1 to 100 characters is required",
            )
            .into());
        }
        let email = match input.email.clone().flatten() {
            Some(e) => Some(check_email(&e)?),
            None => None,
        };
        let org = self.core.org(p.tenant).await?;
        if let Some(e) = &email
            && org
                .users
                .values()
                .any(|u| u.email.as_deref() == Some(e.as_str()))
        {
            return Err(Error::one("/email", "unique", "another user has this email").into());
        }
        let depts = self.check_memberships(&org, input.departments.as_deref().unwrap_or(&[]))?;
        let roles = self.resolve_roles(&org, input.roles.as_deref().unwrap_or(&[]))?;
        let password_hash = match &input.password {
            Some(pw) => Some(hash_password(pw).await?),
            None => None,
        };
        let status = input.status.clone().unwrap_or_else(|| "active".into());
        if !matches!(status.as_str(), "active" | "disabled") {
            return Err(
                Error::one("/status", "invalid_option", "status is active or disabled").into(),
            );
        }
        let user = UserRow {
            tenant: p.tenant,
            id: Uuid::now_v7(),
            name,
            email,
            mobile: input.mobile.clone().flatten(),
            status,
            is_admin: input.is_admin.unwrap_or(false),
            password_hash,
            primary_department: depts.iter().find(|(_, p)| *p).map(|(d, _)| *d),
            created_at: self.core.clock.now(),
        };
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.insert_user(&user).await?;
        tx.set_user_departments(user.id, &depts).await?;
        tx.set_user_roles(user.id, &roles).await?;
        self.org_change(
            tx.as_mut(),
            p,
            "org.user_created",
            user.id,
            json!({"name": user.name, "roles": roles, "admin": user.is_admin}),
        )
        .await?;
        tx.commit().await?;
        self.core.invalidate_org(p.tenant);
        let org = self.core.org(p.tenant).await?;
        Ok(user_json(&user, &org))
    }

    pub async fn update_user(
        &self,
        p: &Principal,
        id: Uuid,
        body: &Json,
    ) -> Result<UserView, AccessError> {
        require_admin(p)?;
        let input: UserInput = parse_doc(body)?;
        let org = self.core.org(p.tenant).await?;
        let mut user = org
            .users
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found("user"))?;
        let mut changes = serde_json::Map::new();
        if let Some(n) = &input.name {
            let n = n.trim();
            if n.is_empty() || n.chars().count() > 100 {
                return Err(Error::one(
                    "/name",
                    "required",
                    "a name of 1 to 100 characters is required",
                )
                .into());
            }
            user.name = n.to_owned();
            changes.insert("name".into(), json!(n));
        }
        if let Some(e) = &input.email {
            user.email = match e {
                Some(e) => {
                    let e = check_email(e)?;
                    if org
                        .users
                        .values()
                        .any(|u| u.id != id && u.email.as_deref() == Some(e.as_str()))
                    {
                        return Err(
                            Error::one("/email", "unique", "another user has this email").into(),
                        );
                    }
                    Some(e)
                }
                None => None,
            };
            changes.insert("email".into(), json!(user.email));
        }
        if let Some(m) = &input.mobile {
            user.mobile = m.clone();
        }
        if let Some(a) = input.is_admin {
            if id == p.user.0 && !a {
                return Err(AccessError::SelfDemotion);
            }
            user.is_admin = a;
            changes.insert("is_admin".into(), json!(a));
        }
        let mut disabling = false;
        if let Some(s) = &input.status {
            if !matches!(s.as_str(), "active" | "disabled") {
                return Err(Error::one(
                    "/status",
                    "invalid_option",
                    "status is active or disabled",
                )
                .into());
            }
            if id == p.user.0 && s == "disabled" {
                return Err(AccessError::SelfDisable);
            }
            disabling = s == "disabled" && user.status != "disabled";
            user.status = s.clone();
            changes.insert("status".into(), json!(s));
        }
        if let Some(pw) = &input.password {
            user.password_hash = Some(hash_password(pw).await?);
            changes.insert("password".into(), json!("changed"));
        }
        let depts = match &input.departments {
            Some(ms) => Some(self.check_memberships(&org, ms)?),
            None => None,
        };
        if let Some(d) = &depts {
            user.primary_department = d.iter().find(|(_, p)| *p).map(|(d, _)| *d);
            changes.insert(
                "departments".into(),
                json!(d.iter().map(|(d, _)| d).collect::<Vec<_>>()),
            );
        }
        let roles = match &input.roles {
            Some(r) => Some(self.resolve_roles(&org, r)?),
            None => None,
        };
        let now = self.core.clock.now();
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.update_user(&user).await?;
        if let Some(d) = &depts {
            tx.set_user_departments(id, d).await?;
        }
        if let Some(r) = &roles {
            tx.set_user_roles(id, r).await?;
            changes.insert("roles".into(), json!(r));
        }
        if disabling || input.password.is_some() {
            // A disabled user's sessions end now; a new password ends the old sessions too.
            tx.revoke_sessions(Some(id), None, now).await?;
        }
        let action = if disabling {
            "org.user_disabled"
        } else {
            "org.user_updated"
        };
        self.org_change(tx.as_mut(), p, action, id, Json::Object(changes))
            .await?;
        tx.commit().await?;
        self.core.invalidate_org(p.tenant);
        // Cached principals carry admin flag and primary department: drop them on any change.
        self.keys.forget_tenant(p.tenant);
        let org = self.core.org(p.tenant).await?;
        Ok(user_json(&user, &org))
    }

    pub async fn list_departments(&self, p: &Principal) -> Result<DepartmentList, AccessError> {
        let org = self.core.org(p.tenant).await?;
        let mut ds: Vec<&Department> = org.departments.values().collect();
        ds.sort_by(|a, b| a.sort.cmp(&b.sort).then(a.name.cmp(&b.name)));
        let departments = ds
            .into_iter()
            .map(|d| {
                let mut v = department_view(d);
                v.0["members"] = json!(org.members(d.id, false).len());
                v
            })
            .collect();
        Ok(DepartmentList { departments })
    }

    pub async fn save_department(
        &self,
        p: &Principal,
        id: Option<Uuid>,
        body: &Json,
    ) -> Result<DepartmentView, AccessError> {
        require_admin(p)?;
        let input: DepartmentInput = parse_doc(body)?;
        let org = self.core.org(p.tenant).await?;
        let mut d = match id {
            Some(id) => org
                .departments
                .get(&id)
                .cloned()
                .ok_or_else(|| Error::not_found("department"))?,
            None => Department {
                id: Uuid::now_v7(),
                parent_id: None,
                name: String::new(),
                leader_id: None,
                sort: 0,
            },
        };
        if let Some(n) = &input.name {
            d.name = n.trim().to_owned();
        }
        if d.name.is_empty() || d.name.chars().count() > 100 {
            return Err(Error::one(
                "/name",
                "required",
                "a name of 1 to 100 characters is required",
            )
            .into());
        }
        let mut problems = Vec::new();
        if let Some(parent) = input.parent_id {
            if let Some(pid) = parent {
                if !org.departments.contains_key(&pid) {
                    problems.push(Problem::new(
                        "/parent_id",
                        "not_found",
                        "no such department",
                    ));
                } else if id.is_some() && org.subtree(d.id).contains(&pid) {
                    problems.push(Problem::new(
                        "/parent_id",
                        "cycle",
                        "a department cannot move under itself",
                    ));
                }
            }
            d.parent_id = parent;
        }
        if let Some(leader) = input.leader_id {
            if let Some(l) = leader
                && !org.users.contains_key(&l)
            {
                problems.push(Problem::new("/leader_id", "not_found", "no such user"));
            }
            d.leader_id = leader;
        }
        if let Some(s) = input.sort {
            d.sort = s;
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems).into());
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.upsert_department(&d, self.core.clock.now()).await?;
        let action = if id.is_some() {
            "org.department_updated"
        } else {
            "org.department_created"
        };
        self.org_change(
            tx.as_mut(),
            p,
            action,
            d.id,
            json!({"name": d.name, "parent_id": d.parent_id, "leader_id": d.leader_id}),
        )
        .await?;
        tx.commit().await?;
        self.core.invalidate_org(p.tenant);
        Ok(department_view(&d))
    }

    pub async fn delete_department(&self, p: &Principal, id: Uuid) -> Result<(), AccessError> {
        require_admin(p)?;
        let org = self.core.org(p.tenant).await?;
        if !org.departments.contains_key(&id) {
            return Err(Error::not_found("department").into());
        }
        if org.subtree(id).len() > 1 || !org.members(id, false).is_empty() {
            return Err(AccessError::DepartmentNotEmpty);
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.delete_department(id).await?;
        self.org_change(tx.as_mut(), p, "org.department_deleted", id, json!({}))
            .await?;
        tx.commit().await?;
        self.core.invalidate_org(p.tenant);
        Ok(())
    }

    pub async fn list_roles(&self, p: &Principal) -> Result<RoleList, AccessError> {
        let org = self.core.org(p.tenant).await?;
        let mut roles: Vec<&Role> = org.roles.values().collect();
        roles.sort_by(|a, b| a.key.cmp(&b.key));
        let list: Vec<RoleView> = roles
            .into_iter()
            .map(|r| role_json(r, org.users_in_role(&r.key).len()))
            .collect();
        Ok(RoleList { roles: list })
    }

    /// Check a permissions document against the tenant's objects and fields.
    async fn check_permissions(&self, p: &Principal, doc: &Json) -> Result<Permissions> {
        let perms: Permissions = parse_doc(doc).map_err(|e| match e {
            Error::Validation(ps) => {
                Error::Validation(ps.into_iter().map(|x| x.under("/permissions")).collect())
            }
            other => other,
        })?;
        let meta = self.core.meta(p.tenant).await?;
        let mut problems = Vec::new();
        for (o, g) in &perms.objects {
            let Some(obj) = meta.object(o) else {
                problems.push(Problem::new(
                    format!("/permissions/objects/{o}"),
                    "unknown_object",
                    format!("no object '{o}'"),
                ));
                continue;
            };
            for f in g.fields.keys() {
                if obj.field(f).is_none() {
                    problems.push(Problem::new(
                        format!("/permissions/objects/{o}/fields/{f}"),
                        "unknown_field",
                        format!("no field '{f}'"),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(perms)
        } else {
            Err(Error::Validation(problems))
        }
    }

    pub async fn save_role(
        &self,
        p: &Principal,
        id: Option<Uuid>,
        body: &Json,
    ) -> Result<RoleView, AccessError> {
        require_admin(p)?;
        let input: RoleInput = parse_doc(body)?;
        let org = self.core.org(p.tenant).await?;
        let mut role = match id {
            Some(id) => org
                .roles
                .get(&id)
                .cloned()
                .ok_or_else(|| Error::not_found("role"))?,
            None => Role {
                id: Uuid::now_v7(),
                key: String::new(),
                label: json!({}),
                description: None,
                permissions: Permissions::default(),
            },
        };
        if let Some(k) = &input.key {
            if id.is_some() && *k != role.key {
                return Err(Error::one("/key", "read_only", "a role's key cannot change").into());
            }
            role.key = k.clone();
        }
        if weft_meta::ApiName::parse(&role.key).is_err() {
            return Err(Error::one(
                "/key",
                "format",
                "a key like sales_director: lowercase letters, digits, underscores",
            )
            .into());
        }
        if id.is_none() && org.roles.values().any(|r| r.key == role.key) {
            return Err(Error::one("/key", "unique", "a role with this key exists").into());
        }
        if let Some(l) = &input.label {
            role.label = role_label(l)?;
        }
        if let Some(d) = &input.description {
            role.description = d.clone();
        }
        if let Some(perms) = &input.permissions {
            role.permissions = self.check_permissions(p, perms).await?;
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.upsert_role(&role, self.core.clock.now()).await?;
        let action = if id.is_some() {
            "org.role_updated"
        } else {
            "org.role_created"
        };
        self.org_change(
            tx.as_mut(),
            p,
            action,
            role.id,
            json!({"key": role.key, "permissions": role.permissions}),
        )
        .await?;
        tx.commit().await?;
        self.core.invalidate_org(p.tenant);
        Ok(role_json(&role, org.users_in_role(&role.key).len()))
    }

    pub async fn delete_role(&self, p: &Principal, id: Uuid) -> Result<(), AccessError> {
        require_admin(p)?;
        let org = self.core.org(p.tenant).await?;
        let role = org.roles.get(&id).ok_or_else(|| Error::not_found("role"))?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.delete_role(id).await?;
        self.org_change(
            tx.as_mut(),
            p,
            "org.role_deleted",
            id,
            json!({"key": role.key}),
        )
        .await?;
        tx.commit().await?;
        self.core.invalidate_org(p.tenant);
        Ok(())
    }

    /// "Manager of user X at level N" (1 = direct manager).
    pub async fn manager_of(
        &self,
        p: &Principal,
        user: Uuid,
        level: u32,
    ) -> Result<ManagerChain, AccessError> {
        let org = self.core.org(p.tenant).await?;
        if !org.users.contains_key(&user) {
            return Err(Error::not_found("user").into());
        }
        let chain = (1..=level.clamp(1, 20))
            .map(|l| ManagerLevel {
                level: l,
                user_id: org.manager_of(user, l),
            })
            .collect();
        Ok(ManagerChain {
            user_id: user,
            manager: org.manager_of(user, level),
            chain,
        })
    }

    /// Users holding a role (for rules and flows).
    pub async fn users_in_role(
        &self,
        tenant: weft_meta::TenantId,
        key: &str,
    ) -> Result<Vec<Uuid>, AccessError> {
        Ok(self.core.org(tenant).await?.users_in_role(key))
    }

    /// The leaders of departments (for rules and flows).
    pub async fn department_leaders(
        &self,
        tenant: weft_meta::TenantId,
        depts: &[Uuid],
    ) -> Result<Vec<Uuid>, AccessError> {
        let org = self.core.org(tenant).await?;
        let mut out: Vec<Uuid> = depts
            .iter()
            .filter_map(|d| org.department_leader(*d))
            .collect();
        let mut seen = HashSet::new();
        out.retain(|u| seen.insert(*u));
        Ok(out)
    }

    /// Object-level summary of who can do what (admin page).
    pub async fn role_matrix(&self, p: &Principal) -> Result<RoleMatrix, AccessError> {
        require_admin(p)?;
        let org = self.core.org(p.tenant).await?;
        let mut m: BTreeMap<String, Vec<RoleGrant>> = BTreeMap::new();
        for r in org.roles.values() {
            for (o, g) in &r.permissions.objects {
                m.entry(o.clone()).or_default().push(RoleGrant {
                    role: r.key.clone(),
                    grant: json!(g),
                });
            }
        }
        Ok(RoleMatrix { objects: m })
    }
}
