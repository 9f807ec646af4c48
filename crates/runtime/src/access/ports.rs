//! Storage needs of identity and access control. Implemented by `weft-store` in
//! `crates/store/src/access.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

use super::org::{Department, OrgRows, Role};
use crate::error::Result;
use crate::ports::{ApiKeyRow, ChangeEntry, UserRow};

#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One entry of the hash-chained audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRow {
    /// Position in the tenant's chain (pass as `before` to page).
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who acted; null for the system.
    pub actor: Option<Uuid>,
    /// e.g. `auth.login`, `org.user_created`.
    pub action: String,
    pub object: Option<String>,
    pub record_id: Option<Uuid>,
    /// Per action.
    #[schema(value_type = Object)]
    pub detail: Json,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// SHA-256 over this entry and `prev_hash`.
    pub hash: String,
}

#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub action_prefix: Option<String>,
    pub actor: Option<Uuid>,
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Identity and access storage, split by capability; `AccessTx` is the union.
pub trait AccessTx: OrgTx + CredentialTx + AuditTx + Send {}

impl<T> AccessTx for T where T: OrgTx + CredentialTx + AuditTx + Send {}

/// The organization: departments, users' memberships, roles and the access version.
#[async_trait]
pub trait OrgTx: Send {
    async fn access_version(&mut self) -> Result<i64>;
    /// Mark the tenant's organization or permissions as changed (every process reloads).
    async fn bump_access_version(&mut self) -> Result<()>;
    async fn org_rows(&mut self) -> Result<OrgRows>;
    async fn upsert_department(&mut self, d: &Department, at: DateTime<Utc>) -> Result<()>;
    async fn delete_department(&mut self, id: Uuid) -> Result<()>;
    async fn update_user(&mut self, u: &UserRow) -> Result<()>;
    async fn set_user_departments(&mut self, user: Uuid, depts: &[(Uuid, bool)]) -> Result<()>;
    async fn upsert_role(&mut self, r: &Role, at: DateTime<Utc>) -> Result<()>;
    async fn delete_role(&mut self, id: Uuid) -> Result<()>;
    async fn set_user_roles(&mut self, user: Uuid, roles: &[Uuid]) -> Result<()>;
}

/// Sessions and API keys.
#[async_trait]
pub trait CredentialTx: Send {
    async fn insert_session(&mut self, s: &SessionRow) -> Result<()>;
    async fn touch_session(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<()>;
    /// Revoke one session, or all sessions of a user. Returns how many.
    async fn revoke_sessions(
        &mut self,
        user: Option<Uuid>,
        session: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<u64>;
    async fn api_keys(&mut self, user: Option<Uuid>) -> Result<Vec<ApiKeyRow>>;
    async fn revoke_api_key(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<u64>;
}

/// The hash-chained audit log and the sealing of the change log into it.
#[async_trait]
pub trait AuditTx: Send {
    /// The chain head, locked for the rest of the transaction (appends serialize per tenant).
    async fn audit_head_for_update(&mut self) -> Result<(i64, String)>;
    async fn insert_audit(&mut self, row: &AuditRow) -> Result<()>;
    async fn set_audit_head(&mut self, seq: i64, hash: &str) -> Result<()>;
    async fn audit_page(&mut self, q: &AuditQuery) -> Result<Vec<AuditRow>>;
    /// Entries after `after_seq`, in order (for verification).
    async fn audit_after(&mut self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>>;
    /// Change-log entries not yet sealed into the audit chain, oldest first.
    async fn unsealed_changes(&mut self, limit: u32) -> Result<Vec<ChangeEntry>>;
    async fn seal_changes(&mut self, ids: &[Uuid], seq: i64) -> Result<()>;
    async fn sealed_changes(&mut self, seq: i64) -> Result<Vec<ChangeEntry>>;
}
