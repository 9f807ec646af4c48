//! Rule documents (`weft.rule/1`): the public JSON format, checked and compiled once.
//!
//! A rule belongs to one object and has a `kind`:
//! `validation`, `formula`, `default`, `required`, `read_only` (before-save, synchronous),
//! `trigger` (after-save, actions run by the outbox worker) and `rollup` (kept exact in the
//! write transaction of the child records).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use uuid::Uuid;
use weft_meta::{CompiledObject, FieldKind, Problem};
use weft_rules::{
    CompiledScript, CompiledTemplate, FieldCatalog, ScalarType, ScriptKind, ScriptProblem,
    TemplateKind, TemplateProblem, compile, compile_template,
};

use crate::core::cache::TenantMeta;

pub const FORMAT: &str = "weft.rule/1";

fn format_tag() -> String {
    FORMAT.to_owned()
}
fn yes() -> bool {
    true
}

/// A rule as stored and exchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleDoc {
    #[serde(default = "format_tag")]
    pub format: String,
    pub api_name: String,
    /// The object the rule belongs to (for roll-ups: the parent object holding the field).
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(flatten)]
    pub body: RuleBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleBody {
    /// `condition` states what must hold; `false` rejects the write with `message`, at
    /// `field` or at the record.
    Validation {
        condition: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
    /// A stored, typed field computed on every create and update.
    Formula {
        field: String,
        expression: String,
    },
    /// A value computed on create when the write leaves the field blank.
    Default {
        field: String,
        expression: String,
    },
    /// When `condition` holds, `field` must not be blank.
    Required {
        field: String,
        condition: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// When `condition` holds for the stored record, `field` may not change.
    ReadOnly {
        field: String,
        condition: String,
    },
    Trigger(Box<TriggerDoc>),
    Rollup(RollupDoc),
}

impl RuleBody {
    pub fn kind(&self) -> &'static str {
        match self {
            RuleBody::Validation { .. } => "validation",
            RuleBody::Formula { .. } => "formula",
            RuleBody::Default { .. } => "default",
            RuleBody::Required { .. } => "required",
            RuleBody::ReadOnly { .. } => "read_only",
            RuleBody::Trigger(_) => "trigger",
            RuleBody::Rollup(_) => "rollup",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Create,
    Update,
    Delete,
    /// On a cron schedule (`cron`, `timezone`), for every record the condition holds for.
    Schedule,
    /// Relative to a date field (`date`): N days before or after it, at a local time.
    Date,
    /// Run by a user on one record (`POST /api/v1/data/{object}/{id}/actions/{rule}`).
    Manual,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Create => "create",
            Event::Update => "update",
            Event::Delete => "delete",
            Event::Schedule => "schedule",
            Event::Date => "date",
            Event::Manual => "manual",
        }
    }
}

/// `on: ["date"]`: fire `offset_days` after the date in `field` (negative: before), at `at`
/// local time; "3 days before close date" is `{"field": "close_date", "offset_days": -3}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateSpec {
    pub field: String,
    #[serde(default)]
    pub offset_days: i32,
    /// `HH:MM`, default `09:00`.
    #[serde(default = "nine")]
    pub at: String,
}

fn nine() -> String {
    "09:00".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriggerDoc {
    pub on: Vec<Event>,
    /// Fire on update only when one of these fields changes (empty = any change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Transition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub actions: Vec<ActionDoc>,
    /// The rule may write a field its own trigger watches (the cascade-depth guard still
    /// applies at run time).
    #[serde(default)]
    pub reentrant: bool,
    /// Attempts before a run is marked failed (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// The user the actions run as (default: the rule's author).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<Uuid>,
    /// For `schedule`: five-field cron (`0 9 * * 1-5`) on `timezone`'s wall clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// For `date`: the date field and the offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateSpec>,
    /// IANA zone for `cron` and `date.at` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// For `manual`: the button's label (default: the rule's label or API name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
}

/// `stage: * → won`: `from` is `"*"`, a value or a list of values; `to` likewise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transition {
    pub field: String,
    #[serde(default = "star")]
    pub from: Json,
    #[serde(default = "star")]
    pub to: Json,
}

fn star() -> Json {
    Json::String("*".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollupOp {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollupDoc {
    /// The field of `object` that holds the result.
    pub field: String,
    /// The child object, and its lookup (or master-detail) field pointing at `object`.
    pub child: String,
    pub via: String,
    pub op: RollupOp,
    /// The child field aggregated (not for `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// A condition over the child (`record.stage != "lost"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignStrategy {
    /// Always `user`.
    User,
    /// In turn over `users`.
    RoundRobin,
    /// The one of `users` who owns the fewest records of the object matching `open_filter`
    /// (the query filter language; default: every live record). Ties go to the first listed.
    LeastOpen,
    /// The first of `routes` whose `when` matches the record picks the team (round robin
    /// within it); no match falls back to `users` (round robin), or assigns nobody.
    ByField,
}

/// One route of `by_field` assignment: `{"when": {"city": "上海", "industry": ["manufacturing",
/// "energy"]}, "users": [...]}` — every listed field must equal the value (or one of the list).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRoute {
    pub when: Map<String, Json>,
    pub users: Vec<Uuid>,
}

/// Declarative actions. In `values`, a plain JSON value is written as is; `{"expr": "…"}`
/// is a formula over the triggering record; `{"from": "field"}` copies a field of the
/// triggering record; `{"ref": n}` is the id of the record created by action `n`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionDoc {
    UpdateRecord {
        values: Map<String, Json>,
    },
    UpdateRelated {
        via: String,
        values: Map<String, Json>,
    },
    CreateRecord {
        object: String,
        values: Map<String, Json>,
    },
    AssignOwner {
        strategy: AssignStrategy,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        users: Vec<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        open_filter: Option<Json>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        routes: Vec<AssignRoute>,
    },
    Notify {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        users: Vec<Uuid>,
        /// Everyone holding one of these roles (role keys, e.g. `sales_director`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        roles: Vec<String>,
        /// Also notify the record's owner.
        #[serde(default)]
        owner: bool,
        title: String,
        body: String,
    },
    Webhook {
        url: String,
        #[serde(default)]
        secret: String,
        /// Send without `X-Weft-Signature` (only then may `secret` be empty). Workflow
        /// webhooks without a secret use this.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unsigned: bool,
        /// A text template for the body (default: the event as JSON).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// POST (default), PUT, PATCH or DELETE.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<String>,
        /// Extra request headers; the platform's own (content type, signature, timestamp,
        /// idempotency key, event) cannot be replaced.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        headers: std::collections::BTreeMap<String, String>,
    },
    Email {
        to: Vec<String>,
        subject: String,
        body: String,
    },
}

impl ActionDoc {
    pub fn type_name(&self) -> &'static str {
        match self {
            ActionDoc::UpdateRecord { .. } => "update_record",
            ActionDoc::UpdateRelated { .. } => "update_related",
            ActionDoc::CreateRecord { .. } => "create_record",
            ActionDoc::AssignOwner { .. } => "assign_owner",
            ActionDoc::Notify { .. } => "notify",
            ActionDoc::Webhook { .. } => "webhook",
            ActionDoc::Email { .. } => "email",
        }
    }
}

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

    fn script(path: &str, p: ScriptProblem) -> Self {
        Self {
            path: path.to_owned(),
            code: p.code.to_owned(),
            message: p.message,
            line: (p.line > 0).then_some(p.line),
            column: (p.column > 0).then_some(p.column),
        }
    }

    fn template(path: &str, p: TemplateProblem) -> Self {
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

struct Checker<'a> {
    meta: &'a TenantMeta,
    problems: Vec<RuleProblem>,
}

impl Checker<'_> {
    fn push(&mut self, path: &str, code: &str, msg: impl Into<String>) {
        self.problems.push(RuleProblem::new(path, code, msg));
    }

    fn script(
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

    fn template(&mut self, path: &str, src: &str, kind: TemplateKind) -> Option<CompiledTemplate> {
        match compile_template(src, kind) {
            Ok(t) => Some(t),
            Err(ps) => {
                self.problems
                    .extend(ps.into_iter().map(|p| RuleProblem::template(path, p)));
                None
            }
        }
    }

    fn field<'o>(
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

    fn values(
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
    meta: &TenantMeta,
    doc: &RuleDoc,
    id: Uuid,
    version: i64,
    created_by: Uuid,
) -> Result<CompiledRule, Vec<RuleProblem>> {
    let mut c = Checker {
        meta,
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
    let Some(obj) = c.meta.object(&doc.object).cloned() else {
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

fn check_trigger(
    c: &mut Checker<'_>,
    obj: &CompiledObject,
    cat: &FieldCatalog,
    t: &TriggerDoc,
) -> Option<Compiled> {
    if t.on.is_empty() {
        c.push(
            "/on",
            "required",
            "name at least one event: create, update, delete, schedule, date, manual",
        );
    }
    check_timing(c, obj, t);
    for (i, f) in t.fields.iter().enumerate() {
        c.field(obj, &format!("/fields/{i}"), f);
    }
    if let Some(tr) = &t.transition {
        c.field(obj, "/transition/field", &tr.field);
    }
    if t.actions.is_empty() {
        c.push("/actions", "required", "add at least one action");
    }
    if t.actions.len() > 20 {
        c.push("/actions", "max_items", "at most 20 actions per rule");
    }
    if t.max_attempts.is_some_and(|n| n == 0 || n > 20) {
        c.push("/max_attempts", "range", "1 to 20");
    }
    let condition = t
        .condition
        .as_ref()
        .and_then(|s| c.script("/condition", s, ScriptKind::Condition, cat));
    let actions: Vec<CompiledAction> = t
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| compile_action(c, obj, cat, i, a))
        .collect();
    // A rule that writes a field its own trigger watches can fire itself again (D3).
    if t.on.contains(&Event::Update) && !t.reentrant {
        // A transition fires only when its field changes; otherwise any watched field (or,
        // with none listed, any field) can fire the rule.
        let watched: Option<BTreeSet<&str>> = match (&t.transition, t.fields.is_empty()) {
            (Some(tr), _) => Some(std::iter::once(tr.field.as_str()).collect()),
            (None, true) => None,
            (None, false) => Some(t.fields.iter().map(String::as_str).collect()),
        };
        for (i, a) in t.actions.iter().enumerate() {
            let written: Vec<&String> = match a {
                ActionDoc::UpdateRecord { values } => values.keys().collect(),
                _ => continue,
            };
            for f in written {
                let hits = match &watched {
                    None => true,
                    Some(w) => w.contains(f.as_str()),
                };
                if hits {
                    c.push(
                        &format!("/actions/{i}/values/{f}"),
                        "retriggers_itself",
                        format!(
                            "writing '{f}' fires this rule again (on update of {}): \
                             watch other fields, or mark the rule \"reentrant\": true",
                            obj.api_name()
                        ),
                    );
                }
            }
        }
    }
    if t.condition.is_some() && condition.is_none() {
        return None;
    }
    Some(Compiled::Trigger {
        doc: Box::new(t.clone()),
        condition,
        actions,
    })
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
fn compile_action(
    c: &mut Checker<'_>,
    obj: &CompiledObject,
    cat: &FieldCatalog,
    i: usize,
    a: &ActionDoc,
) -> CompiledAction {
    let path = format!("/actions/{i}");
    let mut ca = CompiledAction {
        doc: a.clone(),
        exprs: vec![],
        templates: vec![],
    };
    match a {
        ActionDoc::UpdateRecord { values } => {
            ca.exprs = c.values(obj, obj, &format!("{path}/values"), values, cat, i);
        }
        ActionDoc::UpdateRelated { via, values } => {
            let target = c
                .field(obj, &format!("{path}/via"), via)
                .and_then(|f| f.kind.reference_target().cloned());
            match target.and_then(|t| c.meta.object(t.as_str()).cloned()) {
                Some(tobj) => {
                    ca.exprs = c.values(obj, &tobj, &format!("{path}/values"), values, cat, i);
                }
                None => c.push(&format!("{path}/via"), "not_lookup", "use a lookup field"),
            }
        }
        ActionDoc::CreateRecord { object, values } => match c.meta.object(object).cloned() {
            Some(tobj) => {
                ca.exprs = c.values(obj, &tobj, &format!("{path}/values"), values, cat, i);
            }
            None => c.push(
                &format!("{path}/object"),
                "unknown_object",
                format!("no object '{object}'"),
            ),
        },
        ActionDoc::AssignOwner {
            strategy,
            user,
            users,
            open_filter,
            routes,
        } => {
            match strategy {
                AssignStrategy::User if user.is_none() => {
                    c.push(&format!("{path}/user"), "required", "name the user")
                }
                AssignStrategy::RoundRobin | AssignStrategy::LeastOpen if users.is_empty() => {
                    c.push(&format!("{path}/users"), "required", "name the users")
                }
                AssignStrategy::ByField if routes.is_empty() => c.push(
                    &format!("{path}/routes"),
                    "required",
                    "add at least one route",
                ),
                _ => {}
            }
            if let Some(f) = open_filter
                && let Err(ps) =
                    weft_meta::query::parse_query(obj, &serde_json::json!({"filter": f}), &|_| {
                        false
                    })
            {
                for p in ps {
                    c.push(&format!("{path}/open_filter{}", p.path), &p.code, p.message);
                }
            }
            for (ri, r) in routes.iter().enumerate() {
                if r.users.is_empty() {
                    c.push(
                        &format!("{path}/routes/{ri}/users"),
                        "required",
                        "name the route's users",
                    );
                }
                if r.when.is_empty() {
                    c.push(
                        &format!("{path}/routes/{ri}/when"),
                        "required",
                        "name at least one field and value",
                    );
                }
                // `address.city`: a part of an address (or JSON) field.
                for f in r.when.keys() {
                    let top = f.split('.').next().unwrap_or(f);
                    c.field(obj, &format!("{path}/routes/{ri}/when/{f}"), top);
                }
            }
        }
        ActionDoc::Notify {
            users,
            roles,
            owner,
            title,
            body,
        } => {
            if users.is_empty() && roles.is_empty() && !owner {
                c.push(&format!("{path}/users"), "required", "name who is notified");
            }
            ca.templates
                .extend(c.template(&format!("{path}/title"), title, TemplateKind::Subject));
            ca.templates
                .extend(c.template(&format!("{path}/body"), body, TemplateKind::Html));
        }
        ActionDoc::Webhook {
            url,
            secret,
            unsigned,
            body,
            method,
            headers,
        } => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                c.push(&format!("{path}/url"), "url", "use an http(s) URL");
            }
            if let Some(m) = method
                && !["POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str())
            {
                c.push(
                    &format!("{path}/method"),
                    "enum",
                    "use POST, PUT, PATCH or DELETE",
                );
            }
            for (k, v) in headers {
                if let Some(msg) = crate::automation::doc::bad_header(k, v) {
                    c.push(&format!("{path}/headers/{k}"), "header", msg);
                }
            }
            if !(*unsigned && secret.is_empty()) && secret.len() < 16 {
                c.push(
                    &format!("{path}/secret"),
                    "min_length",
                    "use a secret of at least 16 characters",
                );
            }
            if let Some(b) = body {
                ca.templates
                    .extend(c.template(&format!("{path}/body"), b, TemplateKind::Text));
            }
        }
        ActionDoc::Email { to, subject, body } => {
            if to.is_empty() {
                c.push(&format!("{path}/to"), "required", "name the recipients");
            }
            for (j, addr) in to.iter().enumerate() {
                if !addr.contains('@') || addr.contains(['\r', '\n', ',', '<', '>']) {
                    c.push(&format!("{path}/to/{j}"), "email", "not an e-mail address");
                }
            }
            ca.templates.extend(c.template(
                &format!("{path}/subject"),
                subject,
                TemplateKind::Subject,
            ));
            ca.templates
                .extend(c.template(&format!("{path}/body"), body, TemplateKind::Html));
        }
    }
    ca
}

/// Compile the actions of a queued run against the current metadata (the worker).
pub fn compile_actions(
    meta: &TenantMeta,
    object: &str,
    actions: &[ActionDoc],
) -> Result<Vec<CompiledAction>, Vec<RuleProblem>> {
    let mut c = Checker {
        meta,
        problems: Vec::new(),
    };
    let Some(obj) = meta.object(object).cloned() else {
        return Err(vec![RuleProblem::new(
            "/object",
            "unknown_object",
            format!("no object '{object}'"),
        )]);
    };
    let cat = catalog(&obj);
    let out: Vec<CompiledAction> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| compile_action(&mut c, &obj, &cat, i, a))
        .collect();
    if c.problems.is_empty() {
        Ok(out)
    } else {
        Err(c.problems)
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
    let Some(child) = c.meta.object(&r.child).cloned() else {
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

/// Why a webhook header cannot be sent as given, if it cannot.
pub(crate) fn bad_header(name: &str, value: &str) -> Option<&'static str> {
    const RESERVED: &[&str] = &[
        "content-type",
        "content-length",
        "host",
        "idempotency-key",
        "x-weft-timestamp",
        "x-weft-signature",
        "x-weft-event",
    ];
    if name.is_empty()
        || name.len() > 100
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return Some("header names are letters, digits, '-' and '_'");
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Some("this header is set by the platform");
    }
    if value.len() > 2000 || value.bytes().any(|b| b < 0x20 && b != b'\t') {
        return Some("header values are one line of at most 2000 bytes");
    }
    None
}

/// `cron`, `date` and `timezone` are given exactly when their events are.
fn check_timing(c: &mut Checker<'_>, obj: &CompiledObject, t: &TriggerDoc) {
    use super::cron::{Cron, zone};
    let sched = t.on.contains(&Event::Schedule);
    let dated = t.on.contains(&Event::Date);
    match (&t.cron, sched) {
        (None, true) => c.push("/cron", "required", "a schedule needs a cron expression"),
        (Some(_), false) => c.push("/cron", "unused", "add \"schedule\" to `on` or drop `cron`"),
        (Some(e), true) => {
            if let Err(m) = Cron::parse(e) {
                c.push("/cron", "cron", m);
            }
        }
        (None, false) => {}
    }
    match (&t.date, dated) {
        (None, true) => c.push("/date", "required", "a date trigger needs `date.field`"),
        (Some(_), false) => c.push("/date", "unused", "add \"date\" to `on` or drop `date`"),
        (Some(d), true) => {
            match obj.field(&d.field).map(|f| &f.kind) {
                Some(FieldKind::Date | FieldKind::Datetime) => {}
                Some(_) => c.push("/date/field", "type", "use a date or datetime field"),
                None => c.push(
                    "/date/field",
                    "unknown_field",
                    format!("no field '{}'", d.field),
                ),
            }
            if d.offset_days.abs() > 3650 {
                c.push("/date/offset_days", "range", "at most 3650 days either way");
            }
            if let Err(m) = Cron::daily(&d.at) {
                c.push("/date/at", "time", m);
            }
        }
        (None, false) => {}
    }
    if let Err(m) = zone(t.timezone.as_deref()) {
        c.push("/timezone", "timezone", m);
    }
    if t.button.is_some() && !t.on.contains(&Event::Manual) {
        c.push(
            "/button",
            "unused",
            "add \"manual\" to `on` or drop `button`",
        );
    }
}
