//! Records: the single write path and record reads.
//!
//! Every write — UI, API, bulk, import, rule actions, flow actions, roll-ups — goes through the
//! [`WritePath`]: parse and validate against the compiled object (types, required, options,
//! lengths), fill defaults and auto numbers, run the registered [`hooks`] (rules, the approval
//! lock), check references and uniqueness in the tenant, persist the record, its links and its
//! change log in one transaction. A write that fails changes nothing.
//!
//! This file is the service's public API; the work is in the submodules.

mod error;
pub use error::RecordError;
mod checks;
mod delete;
pub mod hooks;
pub mod path;
mod query;
mod read;
mod transfer;
mod write;

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;
use uuid::Uuid;
use weft_meta::value::to_json;
use weft_meta::{CompiledObject, Problem, Value};

pub use delete::{DeleteOutcome, Purged, Restored};
pub use hooks::{AfterSave, BeforeSave, Hooks, WriteHook, WriteOp};
pub use path::{Change, WritePath};
pub use query::{Relationship, Relationships};
pub use transfer::{AccessExplanation, ExplainStep, ExplainedUser, RecordAccess};
pub use transfer::{EXPORT_MAX_ROWS, csv_cell};

pub(crate) use path::load_one;

use crate::access::Access;
use crate::core::Core;
use crate::docs::{ProblemView, Record};
use crate::error::Result;
use crate::principal::Principal;

/// An idempotent create: the client's key and a fingerprint of the request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// A created record, or the replay of an earlier create with the same idempotency key.
#[derive(Debug, Clone)]
pub struct Created {
    /// 201, or the status stored with the first response of an idempotent create.
    pub status: u16,
    pub record: Json,
}

/// One record with the version its `ETag` names.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub version: i64,
    pub record: Json,
}

/// One page of a record list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordPage {
    /// Records in the object's JSON form (`GET /meta/objects/{name}/schema`).
    #[schema(value_type = Vec<Record>)]
    pub records: Vec<Json>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// Present when `count` was requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// The outcome of a bulk call: per-record results in request order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkOutcome {
    /// Records written.
    pub succeeded: usize,
    /// Records refused.
    pub failed: usize,
    /// Per record, in request order.
    pub results: Vec<BulkItem>,
}

/// One record of a bulk call: `{ok: true, record}` or `{ok: false, errors}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkItem {
    /// Whether this record was written.
    pub ok: bool,
    /// The written record (when `ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Record>)]
    pub record: Option<Json>,
    /// What is wrong with this record (when not `ok`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<ProblemView>)]
    pub errors: Vec<Problem>,
}

impl BulkItem {
    fn ok(record: Json) -> Self {
        Self {
            ok: true,
            record: Some(record),
            errors: vec![],
        }
    }

    fn failed(errors: Vec<Problem>) -> Self {
        Self {
            ok: false,
            record: None,
            errors,
        }
    }
}

/// A record's change log, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct History {
    /// Changes, newest first.
    pub changes: Vec<ChangeView>,
}

/// One change of a record: who, through which channel, when, and the fields before and after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeView {
    /// The change's id.
    pub id: Uuid,
    /// create | update | delete | restore | purge
    pub op: String,
    /// The user who made the change.
    pub actor: Uuid,
    /// ui | api | import | rule | flow | system
    pub source: String,
    /// When (RFC 3339).
    pub at: String,
    /// The record version this change produced.
    pub version: i64,
    /// `{field: [old, new]}`; on create only new values.
    #[schema(value_type = Object)]
    pub changes: Json,
}

/// The record service.
#[derive(Clone)]
pub struct Records {
    core: Arc<Core>,
    access: Access,
    path: WritePath,
}

impl Records {
    pub fn new(core: Arc<Core>, access: Access) -> Self {
        Self {
            core,
            access,
            path: WritePath::new(Arc::new(Hooks::default())),
        }
    }

    /// The single write path, for capabilities that write records inside their own
    /// transactions (flow actions, roll-ups) and to register hooks on.
    pub fn path(&self) -> &WritePath {
        &self.path
    }

    /// Create one record.
    pub async fn create(
        &self,
        p: &Principal,
        object: &str,
        body: &Json,
        idem: Option<&Idempotency>,
    ) -> Result<Created, RecordError> {
        write::create(self, p, object, body, idem)
            .await
            .map_err(RecordError::from)
    }

    /// Create up to `bulk_max` records. With `all_or_none`, any problem rejects the whole call
    /// (problems are reported per record path); otherwise the valid records are created.
    pub async fn create_many(
        &self,
        p: &Principal,
        object: &str,
        bodies: &[Json],
        all_or_none: bool,
    ) -> Result<BulkOutcome, RecordError> {
        write::create_many(self, p, object, bodies, all_or_none)
            .await
            .map_err(RecordError::from)
    }

    /// One record, with lookups in `expand` embedded under `_expand`.
    pub async fn get(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        expand: &[String],
    ) -> Result<Fetched, RecordError> {
        read::get(self, p, object, id, expand)
            .await
            .map_err(RecordError::from)
    }

    /// PATCH one record. `if_match` is the version the client last saw.
    pub async fn update(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        body: &Json,
        if_match: Option<i64>,
    ) -> Result<Record, RecordError> {
        write::update(self, p, object, id, body, if_match)
            .await
            .map(Record)
            .map_err(RecordError::from)
    }

    /// PATCH many records; each body carries its `id` (and optionally `version`).
    pub async fn update_many(
        &self,
        p: &Principal,
        object: &str,
        bodies: &[Json],
        all_or_none: bool,
    ) -> Result<BulkOutcome, RecordError> {
        write::update_many(self, p, object, bodies, all_or_none)
            .await
            .map_err(RecordError::from)
    }

    /// Move a record (and what cascades from it) to the recycle bin.
    pub async fn delete(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        if_match: Option<i64>,
    ) -> Result<DeleteOutcome, RecordError> {
        delete::delete(self, p, object, id, if_match)
            .await
            .map_err(RecordError::from)
    }

    /// Restore a deleted record and everything deleted with it (same batch).
    pub async fn restore(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
    ) -> Result<Restored, RecordError> {
        delete::restore(self, p, object, id)
            .await
            .map_err(RecordError::from)
    }

    /// Remove a deleted record for good.
    pub async fn purge(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
    ) -> Result<Purged, RecordError> {
        delete::purge(self, p, object, id)
            .await
            .map_err(RecordError::from)
    }

    /// The change log of one record, newest first (deleted records included).
    pub async fn history(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        limit: u32,
    ) -> Result<History, RecordError> {
        read::history(self, p, object, id, limit)
            .await
            .map_err(RecordError::from)
    }

    /// A filtered, sorted, cursor-paged list (`POST /data/{object}/query`).
    pub async fn query(
        &self,
        p: &Principal,
        object: &str,
        body: &Json,
    ) -> Result<RecordPage, RecordError> {
        query::query(self, p, object, body)
            .await
            .map_err(RecordError::from)
    }

    /// Deleted records of an object, newest first unless sorted otherwise.
    pub async fn recycle_bin(
        &self,
        p: &Principal,
        object: &str,
        body: &Json,
    ) -> Result<RecordPage, RecordError> {
        query::recycle_bin(self, p, object, body)
            .await
            .map_err(RecordError::from)
    }

    /// Records of `child` that point at record `id` of `object` through `field`.
    pub async fn related(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        child: &str,
        field: &str,
        body: &Json,
    ) -> Result<RecordPage, RecordError> {
        query::related(self, p, object, id, child, field, body)
            .await
            .map_err(RecordError::from)
    }

    /// The relationships pointing at an object, with counts for one record.
    pub async fn relationships(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
    ) -> Result<Relationships, RecordError> {
        query::relationships(self, p, object, id)
            .await
            .map_err(RecordError::from)
    }

    /// Give a record to another owner (and department: by default the new owner's primary
    /// one). Needs update rights on the record.
    pub async fn transfer(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        body: &Json,
    ) -> Result<Record, RecordError> {
        transfer::transfer(self, p, object, id, body)
            .await
            .map(Record)
            .map_err(RecordError::from)
    }

    /// Matching records as CSV (UTF-8 with BOM, so spreadsheet programs read Chinese text).
    pub async fn export(
        &self,
        p: &Principal,
        object: &str,
        body: &Json,
    ) -> Result<Vec<u8>, RecordError> {
        transfer::export(self, p, object, body)
            .await
            .map_err(RecordError::from)
    }

    /// Why can user `user` see or change records of `object` (and record `record`)?
    pub async fn explain_access(
        &self,
        p: &Principal,
        user: Uuid,
        object: &str,
        record: Option<Uuid>,
    ) -> Result<AccessExplanation, RecordError> {
        transfer::explain_access(self, p, user, object, record)
            .await
            .map_err(RecordError::from)
    }

    /// Convert a typed value of `field` to JSON (for callers outside this crate).
    pub fn field_json(obj: &Arc<CompiledObject>, field: &str, v: &Value) -> Json {
        obj.field(field)
            .map(|f| to_json(&f.kind, v))
            .unwrap_or(Json::Null)
    }
}
