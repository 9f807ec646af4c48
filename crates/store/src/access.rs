//! Storage for identity and access control: the `AccessTx` port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;
use weft_runtime::access::audit::GENESIS;
use weft_runtime::access::model::Permissions;
use weft_runtime::access::org::{Department, OrgRows, Role};
use weft_runtime::access::ports::{AuditQuery, AuditRow, SessionRow};
use weft_runtime::ports::prelude::*;
use weft_runtime::ports::{ApiKeyRow, Backend, ChangeEntry, UserRow};
use weft_runtime::{Error, Result};

use crate::entities::{
    api_keys, audit_heads, audit_log, change_log, departments, roles, sessions, tenants,
    user_departments, user_roles, users,
};
use crate::errors::db;
use crate::platform::{api_key_row, user_row};
use crate::tx::SeaTx;

fn audit_row(m: audit_log::Model) -> AuditRow {
    AuditRow {
        seq: m.seq,
        id: m.id,
        at: m.at,
        actor: m.actor,
        action: m.action,
        object: m.object,
        record_id: m.record_id,
        detail: m.detail,
        prev_hash: m.prev_hash,
        hash: m.hash,
    }
}

pub(crate) fn change_entry(r: change_log::Model) -> ChangeEntry {
    ChangeEntry {
        id: r.id,
        object: r.object,
        record_id: r.record_id,
        op: r.op,
        actor: r.actor,
        source: r.source,
        at: r.at,
        version: r.version,
        diff: r.diff,
    }
}

#[async_trait]
impl OrgTx for SeaTx {
    async fn access_version(&mut self) -> Result<i64> {
        let t = tenants::Entity::find()
            .filter(self.tenant_row())
            .one(&self.txn)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::not_found("tenant"))?;
        Ok(t.access_version)
    }

    async fn bump_access_version(&mut self) -> Result<()> {
        tenants::Entity::update_many()
            .col_expr(
                tenants::Column::AccessVersion,
                Expr::col(tenants::Column::AccessVersion).add(1),
            )
            .filter(self.tenant_row())
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn org_rows(&mut self) -> Result<OrgRows> {
        let t = self.t();
        let access_version = self.access_version().await?;
        let users = users::Entity::find()
            .filter(self.tf(users::Column::TenantId))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(user_row)
            .collect();
        let departments = departments::Entity::find()
            .filter(self.tf(departments::Column::TenantId))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|d| Department {
                id: d.id,
                parent_id: d.parent_id,
                name: d.name,
                leader_id: d.leader_id,
                sort: d.sort,
            })
            .collect();
        let memberships = user_departments::Entity::find()
            .filter(self.tf(user_departments::Column::TenantId))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|m| (m.user_id, m.department_id, m.is_primary))
            .collect();
        let mut role_list = Vec::new();
        for r in roles::Entity::find()
            .filter(self.tf(roles::Column::TenantId))
            .all(&self.txn)
            .await
            .map_err(db)?
        {
            let permissions: Permissions = serde_json::from_value(r.permissions).map_err(|e| {
                Error::internal(format!("role {} has unreadable permissions: {e}", r.key))
            })?;
            role_list.push(Role {
                id: r.id,
                key: r.key,
                label: r.label,
                description: r.description,
                permissions,
            });
        }
        let user_roles = user_roles::Entity::find()
            .filter(self.tf(user_roles::Column::TenantId))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(|m| (m.user_id, m.role_id))
            .collect();
        let _ = t;
        Ok(OrgRows {
            access_version,
            users,
            departments,
            memberships,
            roles: role_list,
            user_roles,
        })
    }

    async fn upsert_department(&mut self, d: &Department, at: DateTime<Utc>) -> Result<()> {
        let existing = departments::Entity::find_by_id((self.t(), d.id))
            .one(&self.txn)
            .await
            .map_err(db)?;
        match existing {
            Some(m) => {
                let mut am = m.into_active_model();
                am.name = Set(d.name.clone());
                am.parent_id = Set(d.parent_id);
                am.leader_id = Set(d.leader_id);
                am.sort = Set(d.sort);
                am.update(&self.txn).await.map_err(db)?;
            }
            None => {
                departments::ActiveModel {
                    tenant_id: Set(self.t()),
                    id: Set(d.id),
                    parent_id: Set(d.parent_id),
                    name: Set(d.name.clone()),
                    leader_id: Set(d.leader_id),
                    sort: Set(d.sort),
                    created_at: Set(at),
                }
                .insert(&self.txn)
                .await
                .map_err(db)?;
            }
        }
        Ok(())
    }

    async fn delete_department(&mut self, id: Uuid) -> Result<()> {
        departments::Entity::delete_many()
            .filter(self.tf(departments::Column::TenantId))
            .filter(departments::Column::Id.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn update_user(&mut self, u: &UserRow) -> Result<()> {
        users::Entity::update_many()
            .col_expr(users::Column::Name, Expr::val(u.name.clone()))
            .col_expr(users::Column::Email, Expr::val(u.email.clone()))
            .col_expr(users::Column::Mobile, Expr::val(u.mobile.clone()))
            .col_expr(users::Column::Status, Expr::val(u.status.clone()))
            .col_expr(users::Column::IsAdmin, Expr::val(u.is_admin))
            .col_expr(
                users::Column::PasswordHash,
                Expr::val(u.password_hash.clone()),
            )
            .col_expr(
                users::Column::PrimaryDepartment,
                Expr::val(u.primary_department),
            )
            .filter(self.tf(users::Column::TenantId))
            .filter(users::Column::Id.eq(u.id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn set_user_departments(&mut self, user: Uuid, depts: &[(Uuid, bool)]) -> Result<()> {
        user_departments::Entity::delete_many()
            .filter(self.tf(user_departments::Column::TenantId))
            .filter(user_departments::Column::UserId.eq(user))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        if depts.is_empty() {
            return Ok(());
        }
        let t = self.t();
        user_departments::Entity::insert_many(depts.iter().map(|(d, p)| {
            user_departments::ActiveModel {
                tenant_id: Set(t),
                user_id: Set(user),
                department_id: Set(*d),
                is_primary: Set(*p),
            }
        }))
        .exec(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn upsert_role(&mut self, r: &Role, at: DateTime<Utc>) -> Result<()> {
        let perms = serde_json::to_value(&r.permissions).map_err(Error::internal)?;
        match roles::Entity::find_by_id((self.t(), r.id))
            .one(&self.txn)
            .await
            .map_err(db)?
        {
            Some(m) => {
                let mut am = m.into_active_model();
                am.label = Set(r.label.clone());
                am.description = Set(r.description.clone());
                am.permissions = Set(perms);
                am.updated_at = Set(at);
                am.update(&self.txn).await.map_err(db)?;
            }
            None => {
                roles::ActiveModel {
                    tenant_id: Set(self.t()),
                    id: Set(r.id),
                    key: Set(r.key.clone()),
                    label: Set(r.label.clone()),
                    description: Set(r.description.clone()),
                    permissions: Set(perms),
                    created_at: Set(at),
                    updated_at: Set(at),
                }
                .insert(&self.txn)
                .await
                .map_err(db)?;
            }
        }
        Ok(())
    }

    async fn delete_role(&mut self, id: Uuid) -> Result<()> {
        user_roles::Entity::delete_many()
            .filter(self.tf(user_roles::Column::TenantId))
            .filter(user_roles::Column::RoleId.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        roles::Entity::delete_many()
            .filter(self.tf(roles::Column::TenantId))
            .filter(roles::Column::Id.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn set_user_roles(&mut self, user: Uuid, role_ids: &[Uuid]) -> Result<()> {
        user_roles::Entity::delete_many()
            .filter(self.tf(user_roles::Column::TenantId))
            .filter(user_roles::Column::UserId.eq(user))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        if role_ids.is_empty() {
            return Ok(());
        }
        let t = self.t();
        user_roles::Entity::insert_many(role_ids.iter().map(|r| user_roles::ActiveModel {
            tenant_id: Set(t),
            user_id: Set(user),
            role_id: Set(*r),
        }))
        .exec(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }
}

#[async_trait]
impl CredentialTx for SeaTx {
    async fn insert_session(&mut self, s: &SessionRow) -> Result<()> {
        sessions::ActiveModel {
            tenant_id: Set(self.t()),
            id: Set(s.id),
            user_id: Set(s.user_id),
            token_hash: Set(s.token_hash.clone()),
            csrf_token: Set(s.csrf_token.clone()),
            created_at: Set(s.created_at),
            last_seen_at: Set(s.last_seen_at),
            expires_at: Set(s.expires_at),
            revoked_at: Set(s.revoked_at),
        }
        .insert(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn touch_session(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, Expr::val(at))
            .filter(self.tf(sessions::Column::TenantId))
            .filter(sessions::Column::Id.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn revoke_sessions(
        &mut self,
        user: Option<Uuid>,
        session: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let mut q = sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokedAt, Expr::val(Some(at)))
            .filter(self.tf(sessions::Column::TenantId))
            .filter(sessions::Column::RevokedAt.is_null());
        if let Some(u) = user {
            q = q.filter(sessions::Column::UserId.eq(u));
        }
        if let Some(s) = session {
            q = q.filter(sessions::Column::Id.eq(s));
        }
        Ok(q.exec(&self.txn).await.map_err(db)?.rows_affected)
    }

    async fn api_keys(&mut self, user: Option<Uuid>) -> Result<Vec<ApiKeyRow>> {
        let mut q = api_keys::Entity::find().filter(self.tf(api_keys::Column::TenantId));
        if let Some(u) = user {
            q = q.filter(api_keys::Column::UserId.eq(u));
        }
        Ok(q.order_by_asc(api_keys::Column::Id)
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(api_key_row)
            .collect())
    }

    async fn revoke_api_key(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<u64> {
        Ok(api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, Expr::val(Some(at)))
            .filter(self.tf(api_keys::Column::TenantId))
            .filter(api_keys::Column::Id.eq(id))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&self.txn)
            .await
            .map_err(db)?
            .rows_affected)
    }
}

#[async_trait]
impl AuditTx for SeaTx {
    async fn audit_head_for_update(&mut self) -> Result<(i64, String)> {
        let mut q = audit_heads::Entity::find().filter(self.tf(audit_heads::Column::TenantId));
        if self.names.backend == Backend::Postgres {
            q = q.lock(LockType::Update);
        }
        match q.one(&self.txn).await.map_err(db)? {
            Some(h) => Ok((h.seq, h.hash)),
            None => {
                // First event of the tenant: create the head (inserts of two first events
                // race on the primary key; the loser retries as a conflict).
                audit_heads::ActiveModel {
                    tenant_id: Set(self.t()),
                    seq: Set(0),
                    hash: Set(GENESIS.to_owned()),
                }
                .insert(&self.txn)
                .await
                .map_err(db)?;
                Ok((0, GENESIS.to_owned()))
            }
        }
    }

    async fn insert_audit(&mut self, r: &AuditRow) -> Result<()> {
        audit_log::ActiveModel {
            tenant_id: Set(self.t()),
            seq: Set(r.seq),
            id: Set(r.id),
            at: Set(r.at),
            actor: Set(r.actor),
            action: Set(r.action.clone()),
            object: Set(r.object.clone()),
            record_id: Set(r.record_id),
            detail: Set(r.detail.clone()),
            prev_hash: Set(r.prev_hash.clone()),
            hash: Set(r.hash.clone()),
        }
        .insert(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn set_audit_head(&mut self, seq: i64, hash: &str) -> Result<()> {
        audit_heads::Entity::update_many()
            .col_expr(audit_heads::Column::Seq, Expr::val(seq))
            .col_expr(audit_heads::Column::Hash, Expr::val(hash.to_owned()))
            .filter(self.tf(audit_heads::Column::TenantId))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn audit_page(&mut self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let mut s = audit_log::Entity::find().filter(self.tf(audit_log::Column::TenantId));
        if let Some(a) = &q.action_prefix {
            s = s.filter(audit_log::Column::Action.starts_with(a.as_str()));
        }
        if let Some(a) = q.actor {
            s = s.filter(audit_log::Column::Actor.eq(a));
        }
        if let Some(b) = q.before_seq {
            s = s.filter(audit_log::Column::Seq.lt(b));
        }
        Ok(s.order_by_desc(audit_log::Column::Seq)
            .limit(u64::from(q.limit))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(audit_row)
            .collect())
    }

    async fn audit_after(&mut self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>> {
        Ok(audit_log::Entity::find()
            .filter(self.tf(audit_log::Column::TenantId))
            .filter(audit_log::Column::Seq.gt(after_seq))
            .order_by_asc(audit_log::Column::Seq)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(audit_row)
            .collect())
    }

    async fn unsealed_changes(&mut self, limit: u32) -> Result<Vec<ChangeEntry>> {
        Ok(change_log::Entity::find()
            .filter(self.tf(change_log::Column::TenantId))
            .filter(change_log::Column::SealedIn.is_null())
            .order_by_asc(change_log::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(change_entry)
            .collect())
    }

    async fn seal_changes(&mut self, ids: &[Uuid], seq: i64) -> Result<()> {
        for part in ids.chunks(1_000) {
            change_log::Entity::update_many()
                .col_expr(change_log::Column::SealedIn, Expr::val(Some(seq)))
                .filter(self.tf(change_log::Column::TenantId))
                .filter(change_log::Column::Id.is_in(part.iter().copied()))
                .exec(&self.txn)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn sealed_changes(&mut self, seq: i64) -> Result<Vec<ChangeEntry>> {
        Ok(change_log::Entity::find()
            .filter(self.tf(change_log::Column::TenantId))
            .filter(change_log::Column::SealedIn.eq(seq))
            .order_by_asc(change_log::Column::Id)
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(change_entry)
            .collect())
    }
}
