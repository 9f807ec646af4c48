//! Checking a rule document against the tenant's objects and compiling it: the entry point
//! [`check`], the compiled forms, and the checks shared by every kind of rule.

use serde_json::{Map, Value as Json};
use uuid::Uuid;
use weft_meta::{CompiledObject, FieldKind};

use super::trigger::check_trigger;
use super::types::{ActionDoc, FORMAT, RollupDoc, RollupOp, RuleBody, RuleDoc, TriggerDoc};
use super::{Objects, RuleProblem};
use crate::{
    CompiledScript, CompiledTemplate, FieldCatalog, ScalarType, ScriptKind, TemplateKind, compile,
    compile_template,
};

/// The script type of a field.
pub fn scalar_of(kind: &FieldKind) -> ScalarType {
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

/// What scripts of an object may read: its live fields and the system columns.
pub fn catalog(obj: &CompiledObject) -> FieldCatalog {
    let mut c = FieldCatalog::new();
    for (n, t) in [
        ("id", ScalarType::Id),
        ("owner", ScalarType::Id),
        ("department", ScalarType::Id),
        ("created_by", ScalarType::Id),
        ("updated_by", ScalarType::Id),
        ("created_at", ScalarType::DateTime),
        ("updated_at", ScalarType::DateTime),
        ("version", ScalarType::Integer),
    ] {
        c.insert(n, t);
    }
    for f in obj.live_fields() {
        c.insert(f.name(), scalar_of(&f.kind));
    }
    c
}

/// A checked trigger action, ready to run.
#[derive(Debug, Clone)]
pub struct CompiledAction {
    pub doc: ActionDoc,
    /// `values` entries written as `{"expr": …}`, by field.
    pub exprs: Vec<(String, CompiledScript)>,
    pub templates: Vec<CompiledTemplate>,
}

#[derive(Debug, Clone)]
pub enum Compiled {
    Validation {
        condition: CompiledScript,
        message: String,
        field: Option<String>,
    },
    Formula {
        field: String,
        script: CompiledScript,
    },
    Default {
        field: String,
        script: CompiledScript,
    },
    Required {
        field: String,
        condition: CompiledScript,
        message: String,
    },
    ReadOnly {
        field: String,
        condition: CompiledScript,
    },
    Trigger {
        doc: Box<TriggerDoc>,
        condition: Option<CompiledScript>,
        actions: Vec<CompiledAction>,
    },
    Rollup {
        doc: RollupDoc,
        filter: Option<CompiledScript>,
    },
}

/// A rule compiled against one metadata version.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub id: Uuid,
    pub version: i64,
    pub created_by: Uuid,
    pub doc: RuleDoc,
    pub compiled: Compiled,
}

/// Collects problems while a rule is checked; `objects` are the tenant's objects.
pub(super) struct Checker<'a> {
    pub(super) objects: &'a Objects,
    pub(super) problems: Vec<RuleProblem>,
}

impl Checker<'_> {
    pub(super) fn push(&mut self, path: &str, code: &str, msg: impl Into<String>) {
        self.problems.push(RuleProblem::new(path, code, msg));
    }

    pub(super) fn script(
        &mut self,
        path: &str,
        src: &str,
        kind: ScriptKind,
        cat: &FieldCatalog,
    ) -> Option<CompiledScript> {
        match compile(src, kind, cat) {
            Ok(s) => Some(s),
            Err(ps) => {
                self.problems
                    .extend(ps.into_iter().map(|p| RuleProblem::script(path, p)));
                None
            }
        }
    }

    pub(super) fn template(
        &mut self,
        path: &str,
        src: &str,
        kind: TemplateKind,
    ) -> Option<CompiledTemplate> {
        match compile_template(src, kind) {
            Ok(t) => Some(t),
            Err(ps) => {
                self.problems
                    .extend(ps.into_iter().map(|p| RuleProblem::template(path, p)));
                None
            }
        }
    }

    pub(super) fn field<'o>(
        &mut self,
        obj: &'o CompiledObject,
        path: &str,
        name: &str,
    ) -> Option<&'o weft_meta::FieldDef> {
        match obj.field(name).filter(|f| f.is_live()) {
            Some(f) => Some(f),
            None => {
                self.push(
                    path,
                    "unknown_field",
                    format!("'{}' has no field '{name}'", obj.api_name()),
                );
                None
            }
        }
    }

    pub(super) fn values(
        &mut self,
        obj: &CompiledObject,
        target: &CompiledObject,
        path: &str,
        values: &Map<String, Json>,
        cat: &FieldCatalog,
        action_index: usize,
    ) -> Vec<(String, CompiledScript)> {
        let mut exprs = Vec::new();
        if values.is_empty() {
            self.push(path, "required", "give at least one value");
        }
        for (k, v) in values {
            let p = format!("{path}/{}", weft_meta::problem::pointer_segment(k));
            let Some(f) = self.field(target, &p, k) else {
                continue;
            };
            match v.as_object() {
                Some(m) if m.contains_key("expr") => {
                    let src = m.get("expr").and_then(Json::as_str).unwrap_or_default();
                    let kind = ScriptKind::Formula {
                        result: scalar_of(&f.kind),
                    };
                    if let Some(s) = self.script(&format!("{p}/expr"), src, kind, cat) {
                        exprs.push((k.clone(), s));
                    }
                }
                Some(m) if m.contains_key("from") => {
                    let src = m.get("from").and_then(Json::as_str).unwrap_or_default();
                    if cat.get(src).is_none() {
                        self.field(obj, &format!("{p}/from"), src);
                    }
                }
                Some(m) if m.contains_key("ref") => {
                    let ok = m
                        .get("ref")
                        .and_then(Json::as_u64)
                        .is_some_and(|n| (n as usize) < action_index);
                    if !ok {
                        self.push(
                            &format!("{p}/ref"),
                            "bad_ref",
                            "refer to an earlier create_record action by its index",
                        );
                    }
                }
                _ => {
                    if let Err(pr) = weft_meta::value::coerce(f, v, None) {
                        self.push(&p, &pr.code, pr.message);
                    }
                }
            }
        }
        exprs
    }
}

/// Check a rule document against the tenant's metadata and compile it. Every problem is
/// reported at once.
pub fn check(
    objects: &Objects,
    doc: &RuleDoc,
    id: Uuid,
    version: i64,
    created_by: Uuid,
) -> Result<CompiledRule, Vec<RuleProblem>> {
    let mut c = Checker {
        objects,
        problems: Vec::new(),
    };
    if doc.format != FORMAT {
        c.push("/format", "format", format!("expected \"{FORMAT}\""));
    }
    if weft_meta::ApiName::parse(&doc.api_name).is_err() {
        c.push(
            "/api_name",
            "api_name",
            "use lower-case letters, digits and _ (starting with a letter)",
        );
    }
    let Some(obj) = c.objects.get(&doc.object).cloned() else {
        c.push(
            "/object",
            "unknown_object",
            format!("no object '{}'", doc.object),
        );
        return Err(c.problems);
    };
    let cat = catalog(&obj);
    let compiled = match &doc.body {
        RuleBody::Validation {
            condition,
            message,
            field,
        } => {
            if let Some(f) = field {
                c.field(&obj, "/field", f);
            }
            if message.trim().is_empty() {
                c.push("/message", "required", "say what is wrong");
            }
            c.script("/condition", condition, ScriptKind::Validation, &cat)
                .map(|condition| Compiled::Validation {
                    condition,
                    message: message.clone(),
                    field: field.clone(),
                })
        }
        RuleBody::Formula { field, expression } | RuleBody::Default { field, expression } => {
            let is_formula = matches!(doc.body, RuleBody::Formula { .. });
            let f = c.field(&obj, "/field", field).cloned();
            if let Some(f) = &f
                && f.is_generated()
            {
                c.push("/field", "generated", "this field is generated by Weft");
            }
            let result = f.as_ref().map(|f| scalar_of(&f.kind));
            match result {
                Some(result) => {
                    let kind = if is_formula {
                        ScriptKind::Formula { result }
                    } else {
                        ScriptKind::Default { result }
                    };
                    c.script("/expression", expression, kind, &cat)
                        .map(|script| {
                            if is_formula {
                                Compiled::Formula {
                                    field: field.clone(),
                                    script,
                                }
                            } else {
                                Compiled::Default {
                                    field: field.clone(),
                                    script,
                                }
                            }
                        })
                }
                None => None,
            }
        }
        RuleBody::Required {
            field,
            condition,
            message,
        } => {
            c.field(&obj, "/field", field);
            c.script("/condition", condition, ScriptKind::Condition, &cat)
                .map(|condition| Compiled::Required {
                    field: field.clone(),
                    condition,
                    message: message
                        .clone()
                        .unwrap_or_else(|| format!("'{field}' is required here")),
                })
        }
        RuleBody::ReadOnly { field, condition } => {
            c.field(&obj, "/field", field);
            c.script("/condition", condition, ScriptKind::Condition, &cat)
                .map(|condition| Compiled::ReadOnly {
                    field: field.clone(),
                    condition,
                })
        }
        RuleBody::Trigger(t) => check_trigger(&mut c, &obj, &cat, t),
        RuleBody::Rollup(r) => check_rollup(&mut c, &obj, r),
    };
    match compiled {
        Some(compiled) if c.problems.is_empty() => Ok(CompiledRule {
            id,
            version,
            created_by,
            doc: doc.clone(),
            compiled,
        }),
        _ => {
            if c.problems.is_empty() {
                c.push("", "invalid", "the rule is not valid");
            }
            Err(c.problems)
        }
    }
}

fn check_rollup(c: &mut Checker<'_>, obj: &CompiledObject, r: &RollupDoc) -> Option<Compiled> {
    let target = c.field(obj, "/field", &r.field).cloned();
    if let Some(f) = &target
        && !matches!(
            f.kind,
            FieldKind::Integer { .. }
                | FieldKind::Decimal { .. }
                | FieldKind::Currency { .. }
                | FieldKind::Percent { .. }
        )
    {
        c.push(
            "/field",
            "type",
            "a roll-up fills a number, decimal or currency field",
        );
    }
    let Some(child) = c.objects.get(&r.child).cloned() else {
        c.push(
            "/child",
            "unknown_object",
            format!("no object '{}'", r.child),
        );
        return None;
    };
    if let Some(via) = c.field(&child, "/via", &r.via).cloned() {
        let points_here = matches!(&via.kind,
            FieldKind::Lookup { target, .. } | FieldKind::MasterDetail { target }
                if target.as_str() == obj.api_name());
        if !points_here {
            c.push(
                "/via",
                "not_lookup",
                format!("'{}' must be a lookup to '{}'", r.via, obj.api_name()),
            );
        }
    }
    match (r.op, &r.of) {
        (RollupOp::Count, _) => {}
        (_, None) => c.push("/of", "required", "name the child field to aggregate"),
        (_, Some(of)) => {
            if let Some(f) = c.field(&child, "/of", of).cloned()
                && !matches!(
                    scalar_of(&f.kind),
                    ScalarType::Integer | ScalarType::Decimal | ScalarType::Currency
                )
            {
                c.push(
                    "/of",
                    "type",
                    "aggregate a number, decimal or currency field",
                );
            }
        }
    }
    let filter = match &r.filter {
        Some(src) => Some(c.script("/filter", src, ScriptKind::Condition, &catalog(&child))?),
        None => None,
    };
    Some(Compiled::Rollup {
        doc: r.clone(),
        filter,
    })
}
