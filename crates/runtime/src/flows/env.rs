//! What the pure engine core needs from the world: conditions compiled by the one rhai sandbox
//! (`weft-rules`), assignees resolved from the organization snapshot, business calendars.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use weft_flow::definition::AssigneeRule;
use weft_flow::{Environment, Expr, ExprCompiler, ResolveContext};
use weft_meta::{CompiledObject, FieldKind};
use weft_rules::{CompiledScript, EvalContext, FieldCatalog, ScalarType, ScriptKind};

use super::calendars::{Calendar, Calendars};
use crate::access::org::OrgSnapshot;

/// The script type of a field, as `weft-rules` sees it.
pub fn scalar_type(kind: &FieldKind) -> ScalarType {
    match kind {
        FieldKind::Integer { .. } => ScalarType::Integer,
        FieldKind::Decimal { .. } | FieldKind::Percent { .. } => ScalarType::Decimal,
        FieldKind::Currency { .. } => ScalarType::Currency,
        FieldKind::Boolean => ScalarType::Bool,
        FieldKind::Date => ScalarType::Date,
        FieldKind::Datetime => ScalarType::DateTime,
        FieldKind::Time => ScalarType::Time,
        FieldKind::MultiSelect { .. } => ScalarType::TextList,
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department => ScalarType::Id,
        FieldKind::MultiLookup { .. } => ScalarType::IdList,
        FieldKind::Address | FieldKind::Attachment { .. } | FieldKind::Json { .. } => {
            ScalarType::Json
        }
        _ => ScalarType::Text,
    }
}

/// The fields a flow condition on `obj` may read (plus the system columns).
pub fn catalog(obj: &CompiledObject) -> FieldCatalog {
    let mut c = FieldCatalog::new()
        .with("id", ScalarType::Id)
        .with("owner", ScalarType::Id)
        .with("department", ScalarType::Id)
        .with("created_by", ScalarType::Id);
    for f in obj.live_fields() {
        c = c.with(f.api_name.as_str(), scalar_type(&f.kind));
    }
    c
}

/// Compiles flow conditions with the rules sandbox against one object's fields. Conditions
/// read `record.<field>` and `user.<attr>` (the initiator).
pub struct RulesCompiler {
    pub catalog: FieldCatalog,
    /// The tenant's zone: `today()` in a condition is the date there.
    pub tz: chrono_tz::Tz,
}

#[derive(Debug)]
struct RulesExpr(CompiledScript, chrono_tz::Tz);

impl Expr for RulesExpr {
    fn eval_bool(&self, vars: &Json) -> Result<bool, String> {
        let empty = Map::new();
        let record = vars
            .get("record")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let user = vars
            .get("initiator")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        // The engine's time for the command (a manual clock in tests), not the wall clock.
        let now = vars
            .get("now")
            .and_then(Json::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(Utc::now);
        let ctx = EvalContext {
            record,
            old: None,
            user,
            now,
            tz: self.1,
        };
        // The command's transaction budget, set around the engine step (`exec::apply_in`).
        weft_rules::Sandbox::shared()
            .eval_bool_ambient(&self.0, &ctx)
            .map_err(|e| e.to_string())
    }
}

impl ExprCompiler for RulesCompiler {
    fn compile(&self, src: &str) -> Result<Arc<dyn Expr>, String> {
        weft_rules::compile(src, ScriptKind::Condition, &self.catalog)
            .map(|s| Arc::new(RulesExpr(s, self.tz)) as Arc<dyn Expr>)
            .map_err(|ps| {
                ps.iter()
                    .map(|p| p.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
    }

    /// Templates are linted at publish like rule templates (strict handlebars, no raw
    /// output, no partials).
    fn check_template(&self, template: &str) -> Result<(), String> {
        weft_rules::compile_template(template, weft_rules::TemplateKind::Text)
            .map(|_| ())
            .map_err(|ps| {
                ps.iter()
                    .map(|p| format!("line {}: {}", p.line, p.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
    }
}

/// Assignees from the tenant's organization snapshot; business days from the tenant's
/// calendars.
pub struct OrgEnv {
    pub org: Arc<OrgSnapshot>,
    pub calendars: Arc<Calendars>,
}

impl OrgEnv {
    /// The user `of` names: `initiator`, or a user field of the record.
    fn subject(of: &str, ctx: &ResolveContext<'_>) -> Option<Uuid> {
        let s = if of == "initiator" {
            ctx.initiator.to_string()
        } else {
            ctx.record.get(of)?.as_str()?.to_string()
        };
        Uuid::parse_str(&s).ok()
    }
}

impl Environment for OrgEnv {
    fn resolve_assignees(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<String> {
        match rule {
            AssigneeRule::Role { role } => self
                .org
                .users_in_role(role)
                .into_iter()
                .map(|u| u.to_string())
                .collect(),
            AssigneeRule::ManagerOf { of, level } => Self::subject(of, ctx)
                .and_then(|u| self.org.manager_of(u, *level))
                .map(|u| vec![u.to_string()])
                .unwrap_or_default(),
            AssigneeRule::DepartmentLeader { of, level } => {
                let Some(dept) =
                    Self::subject(of, ctx).and_then(|u| self.org.primary_department(u))
                else {
                    return vec![];
                };
                let mut chain = vec![dept];
                chain.extend(self.org.ancestors(dept));
                chain
                    .get(level.saturating_sub(1) as usize)
                    .and_then(|d| self.org.department_leader(*d))
                    .map(|u| vec![u.to_string()])
                    .unwrap_or_default()
            }
            // Users, fields, the initiator and chosen assignees are resolved by the core.
            _ => vec![],
        }
    }

    fn add_business_duration(
        &self,
        start: DateTime<Utc>,
        iso_duration: &str,
        calendar: &str,
    ) -> DateTime<Utc> {
        if calendar.is_empty() {
            // Validated at publish; an unreadable duration adds nothing.
            return start
                + weft_flow::duration::parse_duration(iso_duration).unwrap_or(Duration::zero());
        }
        let cal = self.calendars.get(calendar).unwrap_or_else(|| {
            // Published before the calendar existed, or deleted since: Monday to Friday in
            // UTC, as before tenant calendars.
            tracing::warn!(
                calendar,
                "unknown business calendar; counting Monday to Friday in UTC"
            );
            Calendar::weekdays()
        });
        cal.add_iso(start, iso_duration).unwrap_or(start)
    }
}
