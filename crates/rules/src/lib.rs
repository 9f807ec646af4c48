//! Weft's rule engine: the one sandboxed rhai engine, rule scripts (conditions, validations,
//! formulas, defaults) compiled once and evaluated against a write, formula ordering, linted
//! handlebars message templates, the `weft.rule/1` rule documents checked and compiled
//! against the tenant's objects ([`doc`]), and five-field cron schedules in a time zone
//! ([`cron`]).
//!
//! Pure library: no I/O, no clock of its own (the caller passes `now`), no database.
//! The script language is documented for tenant admins in this crate's `README.md`.
//!
//! Decisions worth knowing before changing anything here:
//! - **Numbers.** rhai is built with `decimal` + `no_float`: every number with a fraction,
//!   in a script or a field, is an exact `rust_decimal::Decimal`; integers stay `i64`, and
//!   rhai's built-in mixed comparisons make `record.amount > 500000` work. Results leave as
//!   exact decimal strings.
//! - **Dates** are script types of their own (`date`, `datetime` carrying the tenant time
//!   zone, `time`) with comparison and `date ± days` operators; `today()`/`now()` come from
//!   [`EvalContext::now`], never from a clock inside the sandbox.
//! - **Validation polarity:** a validation script returns `true` when the record is valid.
//! - **Blanks:** a null field is `()`; comparisons with `()` are false, arithmetic with `()`
//!   gives `()`.
//! - **Only referenced fields are converted.** The compiler rewrites `record.x` into a plain
//!   variable (positions unchanged, see `scan`) and the evaluator pushes just those, reusing
//!   the scope per thread; perf.md measured record conversion as the dominant cost.
//! - **One sandbox:** [`sandbox::engine`] is the only place a rhai `Engine` is built.
//! - **Two time limits:** each evaluation has its own ([`Limits::timeout`]); the evaluations
//!   of one write also share a [`Budget`] (`*_in` methods), so many legal rules over many
//!   records cannot hold a worker for long.
//!
//! ```
//! use weft_rules::{compile, eval_bool, EvalContext, FieldCatalog, ScalarType, ScriptKind};
//! let catalog = FieldCatalog::new()
//!     .with("amount", ScalarType::Decimal)
//!     .with("stage", ScalarType::Text);
//! let rule = compile(
//!     r#"record.amount > 500000 && record.stage == "negotiation""#,
//!     ScriptKind::Condition,
//!     &catalog,
//! )
//! .unwrap();
//! let record = serde_json::json!({"amount": "600000.00", "stage": "negotiation"});
//! let ctx = EvalContext {
//!     record: record.as_object().unwrap(),
//!     old: None,
//!     user: &serde_json::Map::new(),
//!     now: chrono::Utc::now(),
//!     tz: chrono_tz::Asia::Shanghai,
//! };
//! assert!(eval_bool(&rule, &ctx).unwrap());
//! ```

mod budget;
mod catalog;
pub mod cron;
mod datetime;
pub mod doc;
mod eval;
mod functions;
mod limits;
pub mod offload;
mod order;
pub mod sandbox;
mod scan;
mod script;
pub mod templates;
mod values;

pub use budget::Budget;
pub use catalog::{FieldCatalog, ScalarType};
pub use eval::{EvalContext, EvalError, eval_bool, eval_value};
pub use limits::{HARD_MAX_TIMEOUT, Limits, MAX_SOURCE_LEN};
pub use order::{FormulaCycle, dependency_order, formula_order};
pub use sandbox::{Sandbox, engine};
pub use script::{
    CompiledScript, ReferencedFields, ScriptKind, ScriptProblem, USER_FIELDS, compile,
};
pub use templates::{
    CompiledTemplate, TemplateKind, TemplateProblem, compile_template, render, render_in,
};
