//! What the metadata service returns.

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::docs::ObjectDefinition;
use crate::ports::MetaRevision;

/// Every object of the tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectList {
    /// Objects sorted by API name.
    pub objects: Vec<ObjectDefinition>,
    /// The tenant's metadata version (changes with every metadata change).
    pub version: i64,
}

/// An object's metadata revisions, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetaHistory {
    /// At most 200 revisions.
    pub revisions: Vec<MetaRevision>,
}

/// A field deleted (hidden, data kept) or purged.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldRemoved {
    /// The field's API name.
    pub field: String,
    /// delete_field | purge_field
    pub action: String,
}

/// The outcome of a field type change: a dry run's counts, or the job that converts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TypeChange {
    DryRun(TypeChangeDryRun),
    Started(TypeChangeStarted),
}

/// How many stored values the new type can hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TypeChangeDryRun {
    /// Always true.
    pub dry_run: bool,
    /// Non-null values stored in the field.
    pub values: u64,
    /// Values the new type accepts.
    pub convertible: u64,
    /// Values it does not.
    pub not_convertible: u64,
    /// Up to 20 values that do not convert.
    pub samples: Vec<ConversionSample>,
}

/// A value that does not convert to the new type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversionSample {
    /// The record.
    pub id: Uuid,
    /// Its value in the field's current JSON form.
    #[schema(value_type = Object)]
    pub value: Json,
}

/// A type change that runs as a job (`GET /api/v1/jobs/{id}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TypeChangeStarted {
    /// Always false.
    pub dry_run: bool,
    /// The job converting the column.
    pub job: Uuid,
}
