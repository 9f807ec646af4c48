//! The typed query plan that parsing produces and storage turns into SQL: columns and how they
//! compare, predicates, sort keys, cursors, and the system columns every record table has.

use uuid::Uuid;

use crate::field::FieldKind;
use crate::value::Value;

/// How storage compares a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColKind {
    Text,
    Int,
    Decimal,
    Bool,
    Date,
    DateTime,
    Time,
    Uuid,
    Json,
}

/// A column reference: a field (or system column) and how it is compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Col {
    pub name: String,
    pub kind: ColKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pred {
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    Cmp {
        col: Col,
        op: CmpOp,
        value: Value,
    },
    In {
        col: Col,
        values: Vec<Value>,
        negated: bool,
    },
    Between {
        col: Col,
        lo: Value,
        hi: Value,
    },
    IsNull {
        col: Col,
        null: bool,
    },
    /// Case-insensitive substring or prefix match on text.
    Like {
        col: Col,
        text: String,
        prefix: bool,
    },
    /// A multi-select holds every one of `values`.
    HasAll {
        col: Col,
        values: Vec<String>,
    },
    /// A multi-lookup links to any of `targets`.
    LinkedTo {
        field: String,
        targets: Vec<Uuid>,
    },
    /// A multi-lookup has no links (`null = true`) or some (`null = false`).
    LinksEmpty {
        field: String,
        empty: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub col: Col,
    pub dir: Dir,
}

/// Position after the last row of a page: its sort values and id.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub values: Vec<Value>,
    pub id: Uuid,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueryPlan {
    pub filter: Option<Pred>,
    /// Sort keys; `id` in the same direction as the last key is always appended by storage.
    pub sort: Vec<SortKey>,
    pub limit: u32,
    pub cursor: Option<Cursor>,
    /// Fields to return (system columns are always returned); `None` = all.
    pub fields: Option<Vec<String>>,
    /// Lookup fields whose target record is embedded under `_expand`.
    pub expand: Vec<String>,
    /// Also return the total count of matching records.
    pub count: bool,
}

impl QueryPlan {
    pub fn all(limit: u32) -> Self {
        Self {
            filter: None,
            sort: vec![],
            limit,
            cursor: None,
            fields: None,
            expand: vec![],
            count: false,
        }
    }
}

/// System columns readable in filters and sorts, with their kinds.
pub const SYSTEM_COLUMNS: &[(&str, ColKind)] = &[
    ("id", ColKind::Uuid),
    ("owner", ColKind::Uuid),
    ("department", ColKind::Uuid),
    ("version", ColKind::Int),
    ("created_by", ColKind::Uuid),
    ("created_at", ColKind::DateTime),
    ("updated_by", ColKind::Uuid),
    ("updated_at", ColKind::DateTime),
];

pub fn col_kind(kind: &FieldKind) -> ColKind {
    match kind {
        FieldKind::Integer { .. } => ColKind::Int,
        FieldKind::Decimal { .. } | FieldKind::Currency { .. } | FieldKind::Percent { .. } => {
            ColKind::Decimal
        }
        FieldKind::Boolean => ColKind::Bool,
        FieldKind::Date => ColKind::Date,
        FieldKind::Datetime => ColKind::DateTime,
        FieldKind::Time => ColKind::Time,
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department => ColKind::Uuid,
        FieldKind::MultiSelect { .. }
        | FieldKind::Address
        | FieldKind::Attachment { .. }
        | FieldKind::Json { .. }
        | FieldKind::MultiLookup { .. } => ColKind::Json,
        _ => ColKind::Text,
    }
}
