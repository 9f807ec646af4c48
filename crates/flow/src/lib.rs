//! `weft-flow`: the workflow and approval engine core.
//!
//! Pure and deterministic: no I/O, no database, no clock reads. A definition (JSON, see
//! [`definition`]) is compiled once per published version into a [`CompiledFlow`]; every
//! command against an instance is `apply(flow, state, command, now, env) → (state, effects)`.
//! The runtime persists the new state and the effects in one transaction guarded by `rev`.
//! Conditions come in through [`ExprCompiler`] (the rhai sandbox lives in `weft-rules`), the
//! org chart through [`Environment`], which counts business days on a [`Calendar`].

pub mod access;
pub mod bpmn;
pub mod calendar;
pub mod command;
pub mod compile;
pub mod definition;
pub mod duration;
pub mod engine;
pub mod env;
pub mod migrate;
pub mod state;

pub use access::{Access, FieldAccess, field_access};
pub use bpmn::{export_bpmn, import_bpmn};
pub use calendar::{Calendar, CalendarDoc, Calendars};
pub use command::{
    AdminOp, CloseReason, Command, CommandError, Decision, Effect, ErrorKind, NotifyKind,
    Transition,
};
pub use compile::{CompiledFlow, Problem, content_hash};
pub use definition::Definition;
pub use engine::{apply, idempotency_key};
pub use env::{Environment, Expr, ExprCompiler, ResolveContext};
pub use migrate::plan_migration;
pub use state::{InstanceState, Status, TaskKind, TaskStatus};
