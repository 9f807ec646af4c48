//! Rule documents (`weft.rule/1`): the public JSON format, checked and compiled once.
//!
//! A rule belongs to one object and has a `kind`:
//! `validation`, `formula`, `default`, `required`, `read_only` (before-save, synchronous),
//! `trigger` (after-save, actions run by the outbox worker) and `rollup` (kept exact in the
//! write transaction of the child records).
//!
//! Checking needs the tenant's objects, which the caller passes as a map by API name
//! ([`Objects`]); nothing here reads storage.

mod compile;
mod trigger;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;
use weft_meta::{CompiledObject, Problem};

pub use compile::{Compiled, CompiledAction, CompiledRule, catalog, check, scalar_of};
pub use trigger::compile_actions;
pub use types::{
    ActionDoc, AssignRoute, AssignStrategy, DateSpec, Event, FORMAT, RollupDoc, RollupOp, RuleBody,
    RuleDoc, Transition, TriggerDoc,
};

use crate::{ScriptProblem, TemplateProblem};

/// The tenant's objects by API name, compiled for one metadata version.
pub type Objects = HashMap<String, Arc<CompiledObject>>;

/// A problem with its position in a script or template (for the rule editor).
#[derive(Debug, Clone, Serialize)]
pub struct RuleProblem {
    pub path: String,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl RuleProblem {
    pub fn new(path: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code: code.to_owned(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    pub(crate) fn script(path: &str, p: ScriptProblem) -> Self {
        Self {
            path: path.to_owned(),
            code: p.code.to_owned(),
            message: p.message,
            line: (p.line > 0).then_some(p.line),
            column: (p.column > 0).then_some(p.column),
        }
    }

    pub(crate) fn template(path: &str, p: TemplateProblem) -> Self {
        Self {
            path: path.to_owned(),
            code: p.code.to_owned(),
            message: p.message,
            line: (p.line > 0).then_some(p.line),
            column: (p.column > 0).then_some(p.column),
        }
    }

    /// The envelope form: the position goes into the message.
    pub fn into_problem(self) -> Problem {
        let msg = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("line {l}, column {c}: {}", self.message),
            _ => self.message,
        };
        Problem::new(self.path, &self.code, msg)
    }
}

/// Parse a document, reporting type errors with their JSON path.
pub fn parse(body: &Json) -> Result<RuleDoc, Vec<RuleProblem>> {
    let de = serde_json::Value::clone(body);
    serde_path_to_error::deserialize::<_, RuleDoc>(de).map_err(|e| {
        let path = e.path().to_string();
        let ptr = if path == "." {
            String::new()
        } else {
            format!(
                "/{}",
                path.replace(['.', '['], "/")
                    .replace(']', "")
                    .trim_start_matches('/')
            )
        };
        vec![RuleProblem::new(ptr, "type", e.inner().to_string())]
    })
}
