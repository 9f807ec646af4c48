//! Weft's metadata model: objects, fields, typed values, write schemas and the query language.
//!
//! Architecture invariant: this crate is pure. It does no I/O, knows no database, no HTTP and
//! no clock except through values it is given; everything above it may depend on it.

pub mod autonumber;
pub mod compiled;
pub mod field;
pub mod ids;
pub mod label;
pub mod layout;
pub mod name;
pub mod object;
pub mod problem;
pub mod query;
pub mod schema;
pub mod strict;
pub mod value;

pub use compiled::{CompiledObject, ParsedWrite, Values};
pub use field::{FieldDef, FieldKind, OnDelete, SelectOption};
pub use ids::*;
pub use label::Label;
pub use layout::FormLayout;
pub use name::ApiName;
pub use object::{ObjectDef, validate_object};
pub use problem::Problem;
pub use schema::WriteMode;
pub use value::Value;
