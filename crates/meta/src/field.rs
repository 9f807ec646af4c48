//! Field definitions: the type of a field and its options. Field documents are stored as JSON
//! (the `type` tag plus the type's options, flattened beside the common options).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::FieldId;
use crate::label::Label;
use crate::name::ApiName;

/// Upper bounds the platform enforces on field options, so that one tenant's metadata cannot
/// make storage or validation unreasonably expensive.
pub mod limits {
    pub const TEXT_MAX: u32 = 2_000;
    pub const LONG_TEXT_MAX: u32 = 100_000;
    pub const RICH_TEXT_MAX: u32 = 1_000_000;
    pub const DECIMAL_MAX_PRECISION: u32 = 18;
    pub const DECIMAL_MAX_SCALE: u32 = 10;
    pub const PATTERN_MAX: usize = 512;
    pub const OPTIONS_MAX: usize = 500;
    pub const OPTION_VALUE_MAX: usize = 64;
    pub const JSON_MAX_BYTES: u32 = 256 * 1024;
    pub const ATTACHMENT_MAX_FILES: u32 = 50;
    pub const ATTACHMENT_MAX_BYTES: u64 = 100 * 1024 * 1024;
    pub const FIELDS_PER_OBJECT: usize = 500;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Deleting the target is refused while records point at it.
    Restrict,
    /// Deleting the target clears the lookup.
    #[default]
    SetNull,
    /// Deleting the target deletes the records that point at it (into the recycle bin).
    Cascade,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    /// Stored value; stable, unique within the field.
    pub value: String,
    #[serde(default)]
    pub label: Label,
    /// A CSS colour (`#1677ff`) or a palette name (`blue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Retired options stay valid on old records but are not offered for new values.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inactive: bool,
}

fn default_precision() -> u32 {
    18
}
fn default_scale() -> u32 {
    2
}
fn default_currency() -> String {
    "CNY".to_owned()
}
fn default_max_files() -> u32 {
    10
}
fn default_max_file_size() -> u64 {
    20 * 1024 * 1024
}
fn default_start() -> i64 {
    1
}

/// The type of a field and its type-specific options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_length: Option<u32>,
        /// A regular expression (linear-time engine: no look-around, no back-references).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    LongText {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<u32>,
    },
    RichText {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<u32>,
    },
    Integer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    Decimal {
        #[serde(default = "default_precision")]
        precision: u32,
        #[serde(default = "default_scale")]
        scale: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Decimal>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Decimal>,
    },
    Currency {
        #[serde(default = "default_precision")]
        precision: u32,
        #[serde(default = "default_scale")]
        scale: u32,
        #[serde(default = "default_currency")]
        default_currency: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Decimal>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Decimal>,
    },
    /// A percentage: 12.5 means 12.5 %.
    Percent {
        #[serde(default = "default_scale")]
        scale: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Decimal>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Decimal>,
    },
    Boolean,
    Date,
    /// An instant; accepted with any offset, stored and returned in UTC.
    Datetime,
    Time,
    SingleSelect {
        options: Vec<SelectOption>,
    },
    MultiSelect {
        options: Vec<SelectOption>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_selected: Option<u32>,
    },
    Email,
    Phone {
        /// Require a mainland-China mobile number (11 digits starting 13-19, optional +86).
        #[serde(default)]
        cn_mobile: bool,
    },
    Url,
    /// Province / city / district / detail, as in Chinese addresses.
    Address,
    /// Many-to-one reference to another object's record.
    Lookup {
        target: ApiName,
        #[serde(default)]
        on_delete: OnDelete,
    },
    /// A lookup that is required and cascades: the detail lives and dies with its master.
    MasterDetail {
        target: ApiName,
    },
    /// Many-to-many reference, stored in a junction table.
    MultiLookup {
        target: ApiName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_items: Option<u32>,
    },
    User,
    Department,
    /// Generated on create from a pattern such as `QT-{YYYY}-{0000}`.
    AutoNumber {
        pattern: String,
        #[serde(default = "default_start")]
        start: i64,
    },
    Attachment {
        #[serde(default = "default_max_files")]
        max_files: u32,
        #[serde(default = "default_max_file_size")]
        max_file_size: u64,
        /// Accepted media types, e.g. `image/*`, `application/pdf`. Empty = any.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accept: Vec<String>,
    },
    Json {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_bytes: Option<u32>,
    },
}

impl FieldKind {
    /// The `type` tag as written in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::LongText { .. } => "long_text",
            FieldKind::RichText { .. } => "rich_text",
            FieldKind::Integer { .. } => "integer",
            FieldKind::Decimal { .. } => "decimal",
            FieldKind::Currency { .. } => "currency",
            FieldKind::Percent { .. } => "percent",
            FieldKind::Boolean => "boolean",
            FieldKind::Date => "date",
            FieldKind::Datetime => "datetime",
            FieldKind::Time => "time",
            FieldKind::SingleSelect { .. } => "single_select",
            FieldKind::MultiSelect { .. } => "multi_select",
            FieldKind::Email => "email",
            FieldKind::Phone { .. } => "phone",
            FieldKind::Url => "url",
            FieldKind::Address => "address",
            FieldKind::Lookup { .. } => "lookup",
            FieldKind::MasterDetail { .. } => "master_detail",
            FieldKind::MultiLookup { .. } => "multi_lookup",
            FieldKind::User => "user",
            FieldKind::Department => "department",
            FieldKind::AutoNumber { .. } => "auto_number",
            FieldKind::Attachment { .. } => "attachment",
            FieldKind::Json { .. } => "json",
        }
    }

    /// All type names, in the order the designer's palette shows them.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "text",
        "long_text",
        "rich_text",
        "integer",
        "decimal",
        "currency",
        "percent",
        "boolean",
        "date",
        "datetime",
        "time",
        "single_select",
        "multi_select",
        "email",
        "phone",
        "url",
        "address",
        "lookup",
        "master_detail",
        "multi_lookup",
        "user",
        "department",
        "auto_number",
        "attachment",
        "json",
    ];

    /// The object a reference field points at.
    pub fn reference_target(&self) -> Option<&ApiName> {
        match self {
            FieldKind::Lookup { target, .. }
            | FieldKind::MasterDetail { target }
            | FieldKind::MultiLookup { target, .. } => Some(target),
            _ => None,
        }
    }

    /// Values of this type can be compared and sorted in SQL.
    pub fn is_sortable(&self) -> bool {
        !matches!(
            self,
            FieldKind::MultiSelect { .. }
                | FieldKind::MultiLookup { .. }
                | FieldKind::Address
                | FieldKind::Attachment { .. }
                | FieldKind::Json { .. }
                | FieldKind::RichText { .. }
        )
    }

    /// Whether a unique or plain index can be declared on this type.
    pub fn is_indexable(&self) -> bool {
        self.is_sortable() && !matches!(self, FieldKind::LongText { .. })
    }

    /// Scale of exact numeric types.
    pub fn decimal_scale(&self) -> Option<u32> {
        match self {
            FieldKind::Decimal { scale, .. }
            | FieldKind::Currency { scale, .. }
            | FieldKind::Percent { scale, .. } => Some(*scale),
            _ => None,
        }
    }

    pub fn decimal_precision(&self) -> Option<u32> {
        match self {
            FieldKind::Decimal { precision, .. } | FieldKind::Currency { precision, .. } => {
                Some(*precision)
            }
            FieldKind::Percent { .. } => Some(12),
            _ => None,
        }
    }

    pub fn options(&self) -> Option<&[SelectOption]> {
        match self {
            FieldKind::SingleSelect { options } | FieldKind::MultiSelect { options, .. } => {
                Some(options)
            }
            _ => None,
        }
    }

    /// Text-like types share string storage and the text operators.
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            FieldKind::Text { .. }
                | FieldKind::LongText { .. }
                | FieldKind::RichText { .. }
                | FieldKind::Email
                | FieldKind::Phone { .. }
                | FieldKind::Url
                | FieldKind::AutoNumber { .. }
        )
    }
}

/// One field of an object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    #[serde(default)]
    pub id: FieldId,
    pub api_name: ApiName,
    #[serde(default)]
    pub label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Shown under the input in forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Label>,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub indexed: bool,
    /// A literal default, or one of `$today`, `$now`, `$me` for date, datetime and user fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Set when the field was deleted: hidden everywhere, its column kept until purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Set while a background job rewrites the field (a type change): writes to it are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_by_job: Option<uuid::Uuid>,
}

impl FieldDef {
    pub fn new(api_name: ApiName, label: Label, kind: FieldKind) -> Self {
        Self {
            id: FieldId::new(),
            api_name,
            label,
            description: None,
            help: None,
            kind,
            required: false,
            unique: false,
            indexed: false,
            default: None,
            deleted_at: None,
            locked_by_job: None,
        }
    }

    pub fn name(&self) -> &str {
        self.api_name.as_str()
    }

    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// Required as seen by writers: master-detail is always required.
    pub fn is_required(&self) -> bool {
        self.required || matches!(self.kind, FieldKind::MasterDetail { .. })
    }

    /// Values are generated by the platform, never written by clients.
    pub fn is_generated(&self) -> bool {
        matches!(self.kind, FieldKind::AutoNumber { .. })
    }

    /// Has a column in the record table (multi-lookups live in a junction table).
    pub fn has_column(&self) -> bool {
        !matches!(self.kind, FieldKind::MultiLookup { .. })
    }

    /// Needs an index whether or not the admin asked: references are joined and filtered on.
    pub fn wants_index(&self) -> bool {
        self.indexed
            || matches!(
                self.kind,
                FieldKind::Lookup { .. } | FieldKind::MasterDetail { .. }
            )
    }
}
