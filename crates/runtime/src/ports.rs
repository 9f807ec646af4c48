//! Storage ports: what the runtime needs from a database. `weft-store` implements them for
//! PostgreSQL and SQLite. Every call goes through a [`Tx`] bound to one tenant: there is no way
//! to reach record data without naming the tenant first.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;
use weft_meta::query::{Pred, QueryPlan};
use weft_meta::{CompiledObject, FieldDef, ObjectDef, TenantId, Value, Values};

use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    Read,
    Write,
}

/// One stored record: system columns and field values.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordRow {
    pub id: Uuid,
    pub version: i64,
    pub owner: Uuid,
    pub department: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<Uuid>,
    pub delete_batch: Option<Uuid>,
    pub values: Values,
}

/// System columns changed by an update besides the field values.
#[derive(Clone, Debug)]
pub struct UpdateMeta {
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub owner: Option<Uuid>,
    pub department: Option<Option<Uuid>>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct FetchOpts {
    pub include_deleted: bool,
    pub only_deleted: bool,
    /// Lock the rows for the rest of the transaction (PostgreSQL `FOR UPDATE`).
    pub for_update: bool,
}

/// One entry of the change log: what a write did to one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeEntry {
    pub id: Uuid,
    pub object: String,
    pub record_id: Uuid,
    /// create | update | delete | restore | purge
    pub op: String,
    pub actor: Uuid,
    pub source: String,
    pub at: DateTime<Utc>,
    pub version: i64,
    /// `{field: [old, new]}` in JSON form; on create only `new` values.
    pub diff: Json,
}

/// A stored metadata revision: who changed which object how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetaRevision {
    /// The revision's id.
    pub id: Uuid,
    /// The object's id.
    pub object_id: Uuid,
    /// The object's API name.
    pub object: String,
    /// The object version this revision produced.
    pub version: i64,
    /// create_object | update_object | add_field | update_field | delete_field | restore_field
    /// | purge_field | change_field_type | delete_object
    pub action: String,
    /// Who made the change.
    pub actor: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// What changed, per action (e.g. `{field, type}`).
    #[schema(value_type = Object)]
    pub summary: Json,
    /// The whole object definition after the change.
    #[schema(value_type = crate::docs::ObjectDefinition)]
    pub doc: Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobRow {
    /// The job's id.
    pub id: Uuid,
    /// The tenant it runs for.
    pub tenant: Uuid,
    /// What it does, e.g. `change_field_type`.
    pub kind: String,
    /// Its input, per kind.
    #[schema(value_type = Object)]
    pub payload: Json,
    /// queued | running | done | failed
    pub status: String,
    /// How far it got, per kind (e.g. `{phase, done, failed}`).
    #[schema(value_type = Object)]
    pub progress: Json,
    /// Runs started so far.
    pub attempts: i32,
    /// Why it failed.
    pub error: Option<String>,
    /// Who queued it.
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TenantRow {
    pub id: TenantId,
    pub name: String,
    pub db_key: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UserRow {
    pub tenant: TenantId,
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub status: String,
    pub is_admin: bool,
    pub password_hash: Option<String>,
    pub primary_department: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyRow {
    pub tenant: TenantId,
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRow {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A stored idempotent response (Stripe semantics).
#[derive(Clone, Debug, PartialEq)]
pub struct IdempotencyRow {
    pub key: String,
    pub fingerprint: String,
    pub status: i32,
    pub body: Json,
    pub created_at: DateTime<Utc>,
}

/// Platform-level access that is not yet bound to a tenant: provisioning and credential lookup.
#[async_trait]
pub trait Store:
    crate::flows::ports::FlowStore
    + crate::automation::ports::AutomationStore
    + OpsStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Open a transaction bound to `tenant`. On PostgreSQL this also switches to the tenant's
    /// role and schema for the duration of the transaction.
    async fn begin(&self, tenant: TenantId, mode: TxMode) -> Result<Box<dyn Tx>>;

    /// Create the tenant row and its storage (schema and role on PostgreSQL).
    async fn create_tenant(&self, id: TenantId, name: &str, at: DateTime<Utc>)
    -> Result<TenantRow>;

    async fn tenant(&self, id: TenantId) -> Result<Option<TenantRow>>;

    async fn list_tenants(&self) -> Result<Vec<TenantRow>>;

    /// Find an API key by the SHA-256 of its secret (credentials arrive before the tenant is known).
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRow>>;

    /// Find a live-or-not session by the SHA-256 of its token (cookies arrive before the
    /// tenant is known).
    async fn find_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<(TenantId, crate::access::ports::SessionRow)>>;

    /// Users with this (lower-cased) email, in every tenant, for login.
    async fn find_logins(&self, email: &str) -> Result<Vec<(TenantRow, UserRow)>>;

    /// Jobs of any tenant that are due, claimed with a lease so no two workers run one job;
    /// none of `skip_tenants` (they have as many jobs running as they may).
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
        skip_tenants: &[uuid::Uuid],
    ) -> Result<Vec<JobRow>>;
}

/// A transaction bound to one tenant. Dropping it without `commit` rolls back. The storage
/// needs are split by capability, one port trait each (see [`prelude`]); `Tx` is their union,
/// so `dyn Tx` reaches all of them. Each capability is implemented in its own store module.
#[async_trait]
pub trait Tx:
    MetaTx
    + StorageTx
    + RecordTx
    + ChangeTx
    + JobTx
    + FileTx
    + IdempotencyTx
    + IdentityTx
    + UsageTx
    + crate::access::ports::AccessTx
    + crate::automation::ports::AutomationTx
    + crate::flows::ports::FlowTx
    + crate::saved_views::ports::ViewTx
    + Send
{
    fn tenant(&self) -> TenantId;
    fn backend(&self) -> Backend;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Object documents, their revisions and the tenant's metadata version and time zone.
#[async_trait]
pub trait MetaTx: Send {
    async fn meta_version(&mut self) -> Result<i64>;
    /// The tenant's IANA time zone.
    async fn time_zone(&mut self) -> Result<String>;
    /// Set the tenant's time zone and bump its metadata version (caches reload it).
    async fn set_time_zone(&mut self, tz: &str) -> Result<()>;
    async fn load_objects(&mut self) -> Result<Vec<ObjectDef>>;
    /// Insert or replace an object's document, bump the tenant's metadata version and append
    /// the revision.
    async fn save_object(&mut self, def: &ObjectDef, rev: &MetaRevision) -> Result<()>;
    async fn delete_object_doc(&mut self, def: &ObjectDef, rev: &MetaRevision) -> Result<()>;
    async fn meta_revisions(&mut self, object: &str, limit: u32) -> Result<Vec<MetaRevision>>;
}

/// Record-table DDL: tables, columns, indexes and the shadow columns of a type change.
#[async_trait]
pub trait StorageTx: Send {
    async fn create_object_storage(&mut self, def: &ObjectDef) -> Result<()>;
    async fn drop_object_storage(&mut self, def: &ObjectDef) -> Result<()>;
    async fn add_field_storage(&mut self, def: &ObjectDef, field: &FieldDef) -> Result<()>;
    async fn drop_field_storage(&mut self, def: &ObjectDef, field: &FieldDef) -> Result<()>;
    /// Bring the field's indexes in line with its `unique` / `indexed` flags.
    async fn sync_field_indexes(
        &mut self,
        def: &ObjectDef,
        old: &FieldDef,
        new: &FieldDef,
    ) -> Result<()>;
    /// Add an empty column for `new` next to `old` (type change in progress).
    async fn add_shadow_column(&mut self, def: &ObjectDef, new: &FieldDef) -> Result<()>;
    async fn write_shadow(
        &mut self,
        def: &ObjectDef,
        new: &FieldDef,
        rows: &[(Uuid, Value)],
    ) -> Result<()>;
    async fn drop_shadow_column(&mut self, def: &ObjectDef, new: &FieldDef) -> Result<()>;
    /// Replace `old`'s column by the shadow column of `new`.
    async fn swap_shadow(&mut self, def: &ObjectDef, old: &FieldDef, new: &FieldDef) -> Result<()>;
    /// Page through one column: rows with id after `after`, in id order.
    async fn scan_column(
        &mut self,
        obj: &CompiledObject,
        field: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, Value)>>;
}

/// Record rows: the single write path's inserts, updates and deletes, and the reads.
#[async_trait]
pub trait RecordTx: Send {
    /// Insert rows (one statement per chunk). A unique-index violation comes back as
    /// `Error::Validation` naming the field.
    async fn insert_records(&mut self, obj: &CompiledObject, rows: &[RecordRow]) -> Result<()>;
    /// Update one record if its version is `expected_version`; returns the new row, or `None`
    /// when the version did not match (or the record does not exist).
    async fn update_record(
        &mut self,
        obj: &CompiledObject,
        id: Uuid,
        expected_version: i64,
        meta: &UpdateMeta,
        values: &Values,
    ) -> Result<Option<RecordRow>>;
    async fn fetch_records(
        &mut self,
        obj: &CompiledObject,
        ids: &[Uuid],
        opts: FetchOpts,
    ) -> Result<Vec<RecordRow>> {
        self.fetch_scoped(obj, ids, opts, None).await
    }
    /// Rows by id that also satisfy `scope` (a data-scope predicate).
    async fn fetch_scoped(
        &mut self,
        obj: &CompiledObject,
        ids: &[Uuid],
        opts: FetchOpts,
        scope: Option<&Pred>,
    ) -> Result<Vec<RecordRow>>;
    /// Rows of one page. `extra` is ANDed to the plan's filter (data scope, parent filter).
    async fn query_records(
        &mut self,
        obj: &CompiledObject,
        plan: &QueryPlan,
        extra: Option<&Pred>,
        opts: FetchOpts,
    ) -> Result<Vec<RecordRow>>;
    async fn count_records(
        &mut self,
        obj: &CompiledObject,
        filter: Option<&Pred>,
        extra: Option<&Pred>,
        opts: FetchOpts,
    ) -> Result<i64>;
    /// Which of `ids` exist (not deleted).
    async fn existing_ids(&mut self, obj: &CompiledObject, ids: &[Uuid]) -> Result<Vec<Uuid>>;
    /// Which of `values` a live record (other than those in `exclude`) already has in `field`.
    async fn taken_values(
        &mut self,
        obj: &CompiledObject,
        field: &str,
        values: &[Value],
        exclude: &[Uuid],
    ) -> Result<Vec<Value>>;
    /// Ids of records of `obj` whose `field` points at any of `targets`.
    async fn referencing(
        &mut self,
        obj: &CompiledObject,
        field: &FieldDef,
        targets: &[Uuid],
        opts: FetchOpts,
    ) -> Result<Vec<Uuid>>;
    async fn set_field_null(
        &mut self,
        obj: &CompiledObject,
        field: &str,
        ids: &[Uuid],
        meta: &UpdateMeta,
    ) -> Result<()>;
    async fn set_links(
        &mut self,
        obj: &CompiledObject,
        field: &FieldDef,
        id: Uuid,
        targets: &[Uuid],
    ) -> Result<()>;
    async fn load_links(
        &mut self,
        obj: &CompiledObject,
        field: &FieldDef,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Uuid>>>;
    async fn soft_delete(
        &mut self,
        obj: &CompiledObject,
        ids: &[Uuid],
        batch: Uuid,
        actor: Uuid,
        at: DateTime<Utc>,
    ) -> Result<u64>;
    async fn restore(
        &mut self,
        obj: &CompiledObject,
        ids: &[Uuid],
        actor: Uuid,
        at: DateTime<Utc>,
    ) -> Result<u64>;
    async fn purge(&mut self, obj: &CompiledObject, ids: &[Uuid]) -> Result<u64>;
    /// Ids of deleted records carrying a delete batch.
    async fn batch_members(&mut self, obj: &CompiledObject, batch: Uuid) -> Result<Vec<Uuid>>;
}

/// Counters and the change log.
#[async_trait]
pub trait ChangeTx: Send {
    /// Atomically take the next value of a named counter, starting at `start`.
    async fn next_counter(&mut self, key: &str, start: i64) -> Result<i64>;
    async fn append_changes(&mut self, entries: &[ChangeEntry]) -> Result<()>;
    async fn history(&mut self, object: &str, record: Uuid, limit: u32)
    -> Result<Vec<ChangeEntry>>;
}

/// Background jobs of this tenant.
#[async_trait]
pub trait JobTx: Send {
    async fn insert_job(&mut self, job: &JobRow) -> Result<()>;
    async fn update_job(&mut self, job: &JobRow) -> Result<()>;
    async fn job(&mut self, id: Uuid) -> Result<Option<JobRow>>;
}

/// Attachment metadata (the bytes are in the [`BlobStore`]).
#[async_trait]
pub trait FileTx: Send {
    async fn insert_file(&mut self, file: &FileRow) -> Result<()>;
    async fn files(&mut self, ids: &[Uuid]) -> Result<Vec<FileRow>>;
    /// Bytes stored by the tenant, or by one user of it: `(files, bytes)`.
    async fn file_usage(&mut self, user: Option<Uuid>) -> Result<(i64, i64)>;
}

/// Stored responses of idempotent requests.
#[async_trait]
pub trait IdempotencyTx: Send {
    async fn idempotency_get(&mut self, key: &str) -> Result<Option<IdempotencyRow>>;
    async fn idempotency_put(&mut self, row: &IdempotencyRow) -> Result<()>;
}

/// Users, API keys and department ids as the write path needs them.
#[async_trait]
pub trait IdentityTx: Send {
    async fn insert_user(&mut self, user: &UserRow) -> Result<()>;
    async fn user(&mut self, id: Uuid) -> Result<Option<UserRow>>;
    async fn users(&mut self) -> Result<Vec<UserRow>>;
    async fn insert_api_key(&mut self, key: &ApiKeyRow) -> Result<()>;
    async fn touch_api_key(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<()>;
    /// Which of `ids` are users of this tenant.
    async fn existing_users(&mut self, ids: &[Uuid]) -> Result<Vec<Uuid>>;
    async fn existing_departments(&mut self, ids: &[Uuid]) -> Result<Vec<Uuid>>;
}

/// Automation runs of one tenant not yet finished (queued, waiting for a retry, or running).
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxBacklog {
    pub tenant: TenantId,
    pub pending: i64,
    /// The earliest `run_at` among them (may lie ahead: a retry or a delayed run).
    pub earliest_due: DateTime<Utc>,
}

/// One connection pool's connections, for operators' metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolStats {
    /// Which pool (`app`/`admin` on PostgreSQL, `writer`/`reader` on SQLite).
    pub pool: &'static str,
    pub idle: u64,
    pub in_use: u64,
}

/// What operators' metrics read across tenants (`/metrics`), outside any tenant transaction.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// Unfinished automation runs per tenant; tenants with none are left out.
    async fn outbox_backlog(&self) -> Result<Vec<OutboxBacklog>>;
    /// The connection pools' sizes (read from the pools, no query).
    fn pool_stats(&self) -> Vec<PoolStats>;
}

/// Counts for the tenant's usage report.
#[async_trait]
pub trait UsageTx: Send {
    /// `(pending, failed)`: runs not yet finished (queued or running), and runs that failed
    /// for good whose last change is at or after `failed_since`.
    async fn run_counts(&mut self, failed_since: DateTime<Utc>) -> Result<(i64, i64)>;
}

/// Where attachment bytes live. Local disk by default; object storage can implement it.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<()>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Every storage port trait, for one import line: `use crate::ports::prelude::*;`. Calling a
/// port method on a `dyn Tx` needs the trait that declares it in scope.
pub mod prelude {
    pub use super::{
        BlobStore, ChangeTx, FileTx, IdempotencyTx, IdentityTx, JobTx, MetaTx, OpsStore, RecordTx,
        StorageTx, Store, Tx, UsageTx,
    };
    pub use crate::access::ports::{AccessTx, AuditTx, CredentialTx, OrgTx};
    pub use crate::automation::ports::AutomationTx;
    pub use crate::flows::ports::{
        FlowCalendarTx, FlowDefTx, FlowEventTx, FlowInstanceTx, FlowStore, FlowTaskTx, FlowTimerTx,
        FlowTx,
    };
    pub use crate::saved_views::ports::ViewTx;
}
