//! The organization of a tenant, loaded whole and cached per access version: departments as
//! a tree with leaders, memberships, roles. Answers "which departments are below D", "who
//! manages user X at level N", "who has role R", and each user's effective rights.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use uuid::Uuid;

use super::model::{FieldAccess, Op, Permissions, Scope};
use crate::ports::UserRow;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Department {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub leader_id: Option<Uuid>,
    pub sort: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub id: Uuid,
    pub key: String,
    pub label: serde_json::Value,
    pub description: Option<String>,
    pub permissions: Permissions,
}

/// Rows the store returns to build a snapshot.
#[derive(Clone, Debug, Default)]
pub struct OrgRows {
    pub access_version: i64,
    pub users: Vec<UserRow>,
    pub departments: Vec<Department>,
    /// (user, department, is_primary)
    pub memberships: Vec<(Uuid, Uuid, bool)>,
    pub roles: Vec<Role>,
    /// (user, role)
    pub user_roles: Vec<(Uuid, Uuid)>,
}

/// One user's merged rights on one object, with the roles they came from (for "explain").
#[derive(Clone, Debug, Default, Serialize)]
pub struct EffectiveGrant {
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
    pub export: bool,
    pub import: bool,
    pub scope: Option<Scope>,
    /// Per-field access where it is not `edit`; unlisted fields follow `update`.
    pub fields: BTreeMap<String, FieldAccess>,
    /// (role key, scope) of every role granting read.
    pub sources: Vec<(String, Scope)>,
}

impl EffectiveGrant {
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

    pub fn field(&self, name: &str) -> FieldAccess {
        let base = if self.update || self.create {
            FieldAccess::Edit
        } else {
            FieldAccess::Read
        };
        match self.fields.get(name) {
            Some(a) => (*a).min(base),
            None => base,
        }
    }
}

/// A user's rights: admin, departments, and per-object grants.
#[derive(Clone, Debug, Default)]
pub struct UserAccess {
    pub user: Uuid,
    pub is_admin: bool,
    pub active: bool,
    pub departments: Vec<Uuid>,
    pub tree: Vec<Uuid>,
    pub roles: Vec<String>,
    pub objects: HashMap<String, EffectiveGrant>,
}

#[derive(Debug, Default)]
pub struct OrgSnapshot {
    pub access_version: i64,
    pub users: HashMap<Uuid, UserRow>,
    pub departments: HashMap<Uuid, Department>,
    children: HashMap<Uuid, Vec<Uuid>>,
    pub memberships: HashMap<Uuid, Vec<(Uuid, bool)>>,
    pub roles: HashMap<Uuid, Role>,
    pub user_roles: HashMap<Uuid, Vec<Uuid>>,
    computed: Mutex<HashMap<Uuid, Arc<UserAccess>>>,
}

impl OrgSnapshot {
    pub fn build(rows: OrgRows) -> Self {
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for d in &rows.departments {
            if let Some(p) = d.parent_id {
                children.entry(p).or_default().push(d.id);
            }
        }
        let mut memberships: HashMap<Uuid, Vec<(Uuid, bool)>> = HashMap::new();
        for (u, d, primary) in rows.memberships {
            memberships.entry(u).or_default().push((d, primary));
        }
        let mut user_roles: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (u, r) in rows.user_roles {
            user_roles.entry(u).or_default().push(r);
        }
        Self {
            access_version: rows.access_version,
            users: rows.users.into_iter().map(|u| (u.id, u)).collect(),
            departments: rows.departments.into_iter().map(|d| (d.id, d)).collect(),
            children,
            memberships,
            roles: rows.roles.into_iter().map(|r| (r.id, r)).collect(),
            user_roles,
            computed: Mutex::new(HashMap::new()),
        }
    }

    /// `dept` and every department below it (cycles, which the service refuses, cannot loop).
    pub fn subtree(&self, dept: Uuid) -> Vec<Uuid> {
        let mut out = vec![dept];
        let mut seen: HashSet<Uuid> = HashSet::from([dept]);
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = self.children.get(&out[i]) {
                for k in kids {
                    if seen.insert(*k) {
                        out.push(*k);
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// Ancestors of `dept`, nearest first.
    pub fn ancestors(&self, dept: Uuid) -> Vec<Uuid> {
        let mut out = Vec::new();
        let mut cur = self.departments.get(&dept).and_then(|d| d.parent_id);
        while let Some(c) = cur {
            if out.contains(&c) || out.len() > 64 {
                break;
            }
            out.push(c);
            cur = self.departments.get(&c).and_then(|d| d.parent_id);
        }
        out
    }

    pub fn primary_department(&self, user: Uuid) -> Option<Uuid> {
        let m = self.memberships.get(&user)?;
        m.iter()
            .find(|(_, p)| *p)
            .or_else(|| m.first())
            .map(|(d, _)| *d)
    }

    /// The manager of `user` at `level` (1 = direct manager): the leader of the user's
    /// primary department, or — when the user leads it — of the department above, then
    /// upwards one department per level.
    pub fn manager_of(&self, user: Uuid, level: u32) -> Option<Uuid> {
        let start = self.primary_department(user)?;
        let mut chain = vec![start];
        chain.extend(self.ancestors(start));
        let leaders: Vec<Uuid> = chain
            .iter()
            .filter_map(|d| self.departments.get(d).and_then(|d| d.leader_id))
            .filter(|l| *l != user)
            .fold(Vec::new(), |mut acc, l| {
                if acc.last() != Some(&l) {
                    acc.push(l);
                }
                acc
            });
        leaders.get(level.checked_sub(1)? as usize).copied()
    }

    pub fn department_leader(&self, dept: Uuid) -> Option<Uuid> {
        self.departments.get(&dept).and_then(|d| d.leader_id)
    }

    /// Active users holding the role with `key`.
    pub fn users_in_role(&self, key: &str) -> Vec<Uuid> {
        let Some(role) = self.roles.values().find(|r| r.key == key) else {
            return vec![];
        };
        let mut out: Vec<Uuid> = self
            .user_roles
            .iter()
            .filter(|(u, rs)| {
                rs.contains(&role.id) && self.users.get(u).is_some_and(|x| x.status == "active")
            })
            .map(|(u, _)| *u)
            .collect();
        out.sort();
        out
    }

    /// Active members of a department (optionally with its sub-departments).
    pub fn members(&self, dept: Uuid, with_subtree: bool) -> Vec<Uuid> {
        let depts: HashSet<Uuid> = if with_subtree {
            self.subtree(dept).into_iter().collect()
        } else {
            HashSet::from([dept])
        };
        let mut out: Vec<Uuid> = self
            .memberships
            .iter()
            .filter(|(u, ms)| {
                ms.iter().any(|(d, _)| depts.contains(d))
                    && self.users.get(u).is_some_and(|x| x.status == "active")
            })
            .map(|(u, _)| *u)
            .collect();
        out.sort();
        out
    }

    /// A user's effective rights (computed once per snapshot).
    pub fn access(&self, user: Uuid) -> Arc<UserAccess> {
        if let Ok(m) = self.computed.lock()
            && let Some(a) = m.get(&user)
        {
            return a.clone();
        }
        let a = Arc::new(self.compute(user));
        if let Ok(mut m) = self.computed.lock() {
            m.insert(user, a.clone());
        }
        a
    }

    fn compute(&self, user: Uuid) -> UserAccess {
        let Some(u) = self.users.get(&user) else {
            return UserAccess {
                user,
                ..Default::default()
            };
        };
        let departments: Vec<Uuid> = self
            .memberships
            .get(&user)
            .map(|m| m.iter().map(|(d, _)| *d).collect())
            .unwrap_or_default();
        let mut tree: Vec<Uuid> = Vec::new();
        for d in &departments {
            for x in self.subtree(*d) {
                if !tree.contains(&x) {
                    tree.push(x);
                }
            }
        }
        let mut objects: HashMap<String, EffectiveGrant> = HashMap::new();
        let mut roles = Vec::new();
        for rid in self.user_roles.get(&user).into_iter().flatten() {
            let Some(role) = self.roles.get(rid) else {
                continue;
            };
            roles.push(role.key.clone());
            for (obj, g) in &role.permissions.objects {
                let e = objects.entry(obj.clone()).or_default();
                let first = !(e.create || e.read || e.update || e.delete || e.export || e.import)
                    && e.fields.is_empty();
                e.create |= g.create;
                e.read |= g.read;
                e.update |= g.update;
                e.delete |= g.delete;
                e.export |= g.export;
                e.import |= g.import;
                if g.read || g.update || g.delete {
                    e.scope = Some(e.scope.map_or(g.scope, |s| s.max(g.scope)));
                }
                if g.read {
                    e.sources.push((role.key.clone(), g.scope));
                }
                // Union of field access: the most permissive role wins; a field one role
                // does not mention is editable under that role.
                if first {
                    e.fields = g.fields.clone();
                } else {
                    let keys: Vec<String> = e.fields.keys().cloned().collect();
                    for k in keys {
                        let other = g.fields.get(&k).copied().unwrap_or(FieldAccess::Edit);
                        if let Some(cur) = e.fields.get_mut(&k) {
                            *cur = (*cur).max(other);
                        }
                    }
                    e.fields.retain(|_, a| *a != FieldAccess::Edit);
                }
            }
        }
        UserAccess {
            user,
            is_admin: u.is_admin,
            active: u.status == "active",
            departments,
            tree,
            roles,
            objects,
        }
    }
}
