//! Record queries: the JSON filter language, sort, projection, expansion and cursors, parsed
//! and checked against an object's fields into a typed plan that storage turns into SQL.
//!
//! Filter grammar:
//! ```json
//! {"and": [F, ...]} | {"or": [F, ...]} | {"not": F}
//! | {"field": "amount", "op": "gte", "value": "1000"}
//! ```
//! Operators: eq, ne, gt, gte, lt, lte, in, nin, contains, starts_with, is_null, between.
//!
//! The modules follow the path of a query: `plan` is the typed result storage reads, `parse`
//! reads the body, `filter` compiles the filter into a `Pred`, `sort` the sort keys, `cursor`
//! encodes page positions, and `fields` resolves names and values for all of them.

mod cursor;
mod fields;
mod filter;
mod parse;
mod plan;
mod sort;

pub use cursor::{cursor_value, encode_cursor};
pub use parse::parse_query;
pub use plan::{
    CmpOp, Col, ColKind, Cursor, Dir, Pred, QueryPlan, SYSTEM_COLUMNS, SortKey, col_kind,
};

pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;
