//! The traits through which the pure core reaches the outside world: condition evaluation
//! (the rhai sandbox lives in `weft-rules`) and the org chart / business calendar (runtime).

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::definition::AssigneeRule;

/// A compiled boolean condition.
pub trait Expr: Send + Sync + Debug {
    /// `vars` = `{"record": {...}, "initiator": {...}, "vars": {...}}`.
    fn eval_bool(&self, vars: &serde_json::Value) -> Result<bool, String>;
}

/// Compiles conditions (and checks templates) at publish time.
pub trait ExprCompiler {
    fn compile(&self, src: &str) -> Result<Arc<dyn Expr>, String>;

    /// Check that a handlebars template (name or source) compiles. Default: accept.
    fn check_template(&self, _template: &str) -> Result<(), String> {
        Ok(())
    }
}

/// What an assignee rule is resolved against.
#[derive(Debug, Clone, Copy)]
pub struct ResolveContext<'a> {
    pub instance_id: &'a str,
    pub node: &'a str,
    pub initiator: &'a str,
    pub initiator_attrs: &'a serde_json::Value,
    pub record: &'a serde_json::Value,
}

/// Everything the core needs from the world, passed to [`crate::apply`]. Object-safe.
pub trait Environment {
    /// Users for a rule the core does not resolve itself (`role`, `manager_of`,
    /// `department_leader`). Order matters for sequential approvals.
    fn resolve_assignees(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<String>;

    /// `start + duration` counted on a business calendar (working days/hours, holidays).
    fn add_business_duration(
        &self,
        start: DateTime<Utc>,
        iso_duration: &str,
        calendar: &str,
    ) -> DateTime<Utc>;
}
