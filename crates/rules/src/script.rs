//! Compiling rule scripts: checks on save, then a cheap-to-clone compiled value.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rhai::{AST, ParseError, ParseErrorType, Scope};
use serde::{Deserialize, Serialize};

use crate::catalog::{FieldCatalog, ScalarType};
use crate::limits::MAX_SOURCE_LEN;
use crate::sandbox::Sandbox;
use crate::scan::{self, RefKind, Reference};

/// What a script is for, which fixes what its result means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScriptKind {
    /// Trigger and branch conditions: `true` means "fire" / "take this branch".
    Condition,
    /// Validation rules: **`true` means the record is valid** (the rule states what must
    /// hold, as in 简道云 "校验公式"); `false` rejects the write with the rule's message.
    /// This is the opposite of Salesforce, whose validation formulas return true on error.
    Validation,
    /// A formula field: the result is stored as a value of `result`.
    Formula { result: ScalarType },
    /// A default value computed on create.
    Default { result: ScalarType },
}

impl ScriptKind {
    /// The type of the result, for kinds that produce a field value.
    pub fn result_type(self) -> ScalarType {
        match self {
            Self::Condition | Self::Validation => ScalarType::Bool,
            Self::Formula { result } | Self::Default { result } => result,
        }
    }
}

/// One thing wrong with a script, found when it is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptProblem {
    /// 1-based; 0 when the problem is about the whole script.
    pub line: usize,
    /// 1-based, in characters; 0 when the problem is about the whole script.
    pub column: usize,
    /// Stable machine-readable code: `syntax`, `unknown_field`, `unknown_function`,
    /// `unknown_variable`, `forbidden`, `too_long` (source), `too_large` (a literal),
    /// `too_complex` (nesting), `not_currency`.
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for ScriptProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} ({})",
            self.line, self.column, self.message, self.code
        )
    }
}

/// Attributes of the acting user a script may read as `user.<name>`. The runtime fills
/// `EvalContext::user` with these keys; a missing one reads as `()`.
pub const USER_FIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "phone",
    "roles",
    "department",
    "departments",
    "manager",
    "locale",
];

/// Everything a compiled script reads, so the runtime can build the evaluation input from
/// these fields only and spot rules that may retrigger themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReferencedFields {
    /// `record.x`
    pub record: BTreeSet<String>,
    /// `old.x`
    pub old: BTreeSet<String>,
    /// `changed("x")` (reads both the new and the prior value of `x`)
    pub changed: BTreeSet<String>,
    /// `currency_of("x")`
    pub currency_of: BTreeSet<String>,
    /// `user.x`
    pub user: BTreeSet<String>,
    /// Bare `old`, as in `old == ()`.
    pub uses_old: bool,
    pub uses_today: bool,
    pub uses_now: bool,
}

impl ReferencedFields {
    /// Every field of the record whose new value the script depends on.
    pub fn record_fields(&self) -> BTreeSet<&str> {
        self.record
            .iter()
            .chain(&self.changed)
            .chain(&self.currency_of)
            .map(String::as_str)
            .collect()
    }

    /// Whether the script reads prior values at all (it behaves differently on create).
    pub fn reads_old(&self) -> bool {
        self.uses_old || !self.old.is_empty() || !self.changed.is_empty()
    }

    /// Whether the result depends on the clock.
    pub fn reads_clock(&self) -> bool {
        self.uses_today || self.uses_now
    }

    /// Whether writing `field` can change the result: a rule whose action writes a field
    /// its own condition depends on may retrigger itself.
    pub fn depends_on(&self, field: &str) -> bool {
        self.record.contains(field)
            || self.changed.contains(field)
            || self.currency_of.contains(field)
    }
}

/// A value pushed into the scope at evaluation.
#[derive(Debug, Clone)]
pub(crate) enum Binding {
    Record { field: String, ty: ScalarType },
    Old { field: String, ty: ScalarType },
    User { attr: String },
    Changed { field: String, ty: ScalarType },
    CurrencyOf { field: String },
    OldBare,
    Today,
    Now,
}

#[derive(Debug)]
pub(crate) struct Inner {
    /// Unique per compilation: keys the per-thread scope cache (an address could be reused).
    pub id: u64,
    pub kind: ScriptKind,
    pub ast: AST,
    pub refs: ReferencedFields,
    /// Scope variable name and what to bind to it, in push order.
    pub bindings: Vec<(String, Binding)>,
    /// Whether the last evaluation took [`crate::offload::SLOW_AFTER`] or more: the next one
    /// runs off the async worker.
    pub slow: std::sync::atomic::AtomicBool,
}

/// A compiled script: cheap to clone (`Arc`), `Send + Sync`, safe to cache per metadata
/// version.
#[derive(Debug, Clone)]
pub struct CompiledScript(pub(crate) Arc<Inner>);

impl CompiledScript {
    pub fn kind(&self) -> ScriptKind {
        self.0.kind
    }

    pub fn referenced_fields(&self) -> &ReferencedFields {
        &self.0.refs
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn whole(code: &'static str, message: String) -> ScriptProblem {
    ScriptProblem {
        line: 0,
        column: 0,
        code,
        message,
    }
}

fn parse_problem(err: &ParseError, catalog: &FieldCatalog) -> ScriptProblem {
    let (line, column) = (err.1.line().unwrap_or(0), err.1.position().unwrap_or(0));
    let (code, message) = match err.0.as_ref() {
        ParseErrorType::ExprTooDeep => (
            "too_complex",
            "the expression is nested too deeply; split it or use helper functions".to_string(),
        ),
        ParseErrorType::TooManyFunctions => {
            ("too_complex", "too many closures in one script".to_string())
        }
        ParseErrorType::LiteralTooLarge(..) => ("too_large", err.0.to_string()),
        ParseErrorType::VariableUndefined(name) => {
            let hint = match catalog.get(name) {
                Some(_) => format!(" (did you mean record.{name}?)"),
                None => String::new(),
            };
            (
                "unknown_variable",
                format!("unknown variable `{name}`{hint}"),
            )
        }
        ParseErrorType::Reserved(word) => {
            ("forbidden", format!("`{word}` is not allowed in rules"))
        }
        other => ("syntax", other.to_string()),
    };
    ScriptProblem {
        line,
        column,
        code,
        message,
    }
}

impl Sandbox {
    /// Compiles a rule script, checking everything that can be checked on save: size, syntax,
    /// unknown fields, functions and variables, forbidden symbols. All problems found are
    /// returned together.
    pub fn compile(
        &self,
        src: &str,
        kind: ScriptKind,
        catalog: &FieldCatalog,
    ) -> Result<CompiledScript, Vec<ScriptProblem>> {
        if src.len() > MAX_SOURCE_LEN {
            return Err(vec![whole(
                "too_long",
                format!(
                    "a script may be at most {MAX_SOURCE_LEN} bytes (this one has {})",
                    src.len()
                ),
            )]);
        }
        if src.trim().is_empty() {
            return Err(vec![whole("syntax", "the script is empty".into())]);
        }
        let scanned = scan::scan(src, self.function_names());
        let mut problems = scanned.problems;
        let mut refs = ReferencedFields {
            uses_old: scanned.uses_old,
            uses_today: scanned.uses_today,
            uses_now: scanned.uses_now,
            ..ReferencedFields::default()
        };
        let mut bindings = Vec::new();
        let mut seen = BTreeSet::new();
        for r in &scanned.refs {
            match bind(r, catalog, &mut refs) {
                Ok(binding) => {
                    let var = scan::mangled(r.kind, &r.name);
                    if seen.insert(var.clone()) {
                        bindings.push((var, binding));
                    }
                }
                Err(p) => problems.push(p),
            }
        }
        if refs.uses_old {
            bindings.push((scan::OLD_VAR.to_string(), Binding::OldBare));
        }
        if refs.uses_today {
            bindings.push((scan::TODAY_VAR.to_string(), Binding::Today));
        }
        if refs.uses_now {
            bindings.push((scan::NOW_VAR.to_string(), Binding::Now));
        }
        if problems
            .iter()
            .any(|p| p.code == "forbidden" || p.code == "syntax")
        {
            problems.sort_by_key(|p| (p.line, p.column));
            return Err(problems);
        }

        // Unknown fields still get a placeholder so rhai can report syntax errors too.
        let mut scope = Scope::new();
        for (var, _) in &bindings {
            scope.push(var.as_str(), ());
        }
        for r in &scanned.refs {
            let var = scan::mangled(r.kind, &r.name);
            if !seen.contains(&var) {
                scope.push(var.as_str(), ());
            }
        }
        let ast = self.engine().compile_with_scope(&scope, &scanned.rewritten);
        if let Err(e) = &ast {
            problems.push(parse_problem(e, catalog));
        }
        problems.sort_by_key(|p| (p.line, p.column));
        match ast {
            Err(_) => Err(problems),
            Ok(_) if !problems.is_empty() => Err(problems),
            Ok(ast) => Ok(CompiledScript(Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                kind,
                ast,
                refs,
                bindings,
                slow: std::sync::atomic::AtomicBool::new(false),
            }))),
        }
    }
}

/// The binding of one reference found by the scan, recorded in `refs`; or why it cannot be
/// bound (an unknown field or user attribute, `currency_of` on another type).
fn bind(
    r: &Reference,
    catalog: &FieldCatalog,
    refs: &mut ReferencedFields,
) -> Result<Binding, ScriptProblem> {
    let field_ty = catalog.get(&r.name);
    let problem = |code, message| ScriptProblem {
        line: r.line,
        column: r.col,
        code,
        message,
    };
    match (r.kind, field_ty) {
        (RefKind::User, _) if USER_FIELDS.contains(&r.name.as_str()) => {
            refs.user.insert(r.name.clone());
            Ok(Binding::User {
                attr: r.name.clone(),
            })
        }
        (RefKind::User, _) => Err(problem(
            "unknown_field",
            format!(
                "user has no attribute `{}`; known: {}",
                r.name,
                USER_FIELDS.join(", ")
            ),
        )),
        (_, None) => {
            let hint = catalog
                .suggest(&r.name)
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            Err(problem(
                "unknown_field",
                format!("unknown field `{}`{hint}", r.name),
            ))
        }
        (RefKind::Record, Some(ty)) => {
            refs.record.insert(r.name.clone());
            Ok(Binding::Record {
                field: r.name.clone(),
                ty,
            })
        }
        (RefKind::Old, Some(ty)) => {
            refs.old.insert(r.name.clone());
            Ok(Binding::Old {
                field: r.name.clone(),
                ty,
            })
        }
        (RefKind::Changed, Some(ty)) => {
            refs.changed.insert(r.name.clone());
            Ok(Binding::Changed {
                field: r.name.clone(),
                ty,
            })
        }
        (RefKind::CurrencyOf, Some(ScalarType::Currency)) => {
            refs.currency_of.insert(r.name.clone());
            Ok(Binding::CurrencyOf {
                field: r.name.clone(),
            })
        }
        (RefKind::CurrencyOf, Some(ty)) => Err(problem(
            "not_currency",
            format!(
                "currency_of(\"{}\"): the field is {}, not currency",
                r.name,
                ty.label()
            ),
        )),
    }
}

/// [`Sandbox::compile`] on the shared default sandbox.
pub fn compile(
    src: &str,
    kind: ScriptKind,
    catalog: &FieldCatalog,
) -> Result<CompiledScript, Vec<ScriptProblem>> {
    Sandbox::shared().compile(src, kind, catalog)
}

#[cfg(test)]
mod tests {
    use rhai::{Dynamic, OptimizationLevel};
    use serde_json::json;

    use super::*;
    use crate::eval::EvalContext;
    use crate::limits::Limits;

    /// security.md §3.1: rhai 1.26 shipped an optimizer bug that dropped statements, so every
    /// rule must give the same result with and without optimization.
    #[test]
    fn optimized_and_unoptimized_evaluation_agree() {
        let catalog = FieldCatalog::new()
            .with("amount", ScalarType::Decimal)
            .with("stage", ScalarType::Text)
            .with("tags", ScalarType::TextList)
            .with("close_date", ScalarType::Date);
        let sandbox = Sandbox::shared();
        let mut plain = crate::sandbox::engine(&Limits::default());
        plain.set_optimization_level(OptimizationLevel::None);
        let record =
            json!({"amount": "600000", "stage": "won", "tags": ["a"], "close_date": "2024-06-30"});
        let record = record.as_object().cloned().unwrap_or_default();
        let user = serde_json::Map::new();
        let ctx = EvalContext {
            record: &record,
            old: None,
            user: &user,
            now: chrono::DateTime::from_timestamp(1_716_000_000, 0).unwrap_or_default(),
            tz: chrono_tz::Tz::UTC,
        };
        for src in [
            r#"record.amount > 500000 && record.stage == "won""#,
            "let x = 1; let y = x + 2; x = 5; x + y",
            "if true { 1 } else { record.amount }",
            "const K = 3; K * 2 + record.amount",
            r#"switch 2 { 1 => "a", 2 => "b", _ => "c" }"#,
            r#"[1, 2, 3].filter(|x| x > 1).map(|x| x * 10).reduce(|s, x| s + x, 0)"#,
            r#"`${1 + 1}-${record.stage}`"#,
            "let a = [1, 2]; a.push(3); a.len()",
            "record.close_date - today() + days_between(today(), date(2024, 1, 1))",
            "round(2.5) + round(-2.5) + 7 / 2 + divide(7, 2)",
            "let s = \"x\"; s += \"y\"; s + len(record.tags)",
            "1 / 0",
        ] {
            let compiled = sandbox
                .compile(
                    src,
                    ScriptKind::Formula {
                        result: ScalarType::Json,
                    },
                    &catalog,
                )
                .unwrap_or_else(|p| panic!("{src}: {p:?}"));
            let optimized = sandbox.eval_dynamic(&compiled, &ctx).map(|v| v.to_string());
            let rewritten = crate::scan::scan(src, sandbox.function_names()).rewritten;
            let mut scope = crate::eval::fresh_scope(&compiled, &ctx).unwrap_or_default();
            let ast = plain
                .compile_with_scope(&scope, &rewritten)
                .unwrap_or_else(|e| panic!("{src}: {e}"));
            let unoptimized = plain
                .eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
                .map(|v| v.to_string())
                .map_err(|e| crate::eval::EvalError::from_rhai(&e));
            assert_eq!(
                optimized.map_err(|e| e.code),
                unoptimized.map_err(|e| e.code),
                "{src}"
            );
        }
    }
}
