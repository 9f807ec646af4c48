//! Evaluating compiled scripts against one write.

use std::cell::RefCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rhai::{Dynamic, EvalAltResult, Scope};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::budget::Budget;
use crate::catalog::ScalarType;
use crate::datetime;
use crate::sandbox::{BUDGET_LEFT, BUDGET_TOKEN, Sandbox, TIMEOUT_TOKEN};
use crate::script::{Binding, CompiledScript};
use crate::values;

/// The inputs of one evaluation. Records are in the API's JSON form.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// New values (after the write).
    pub record: &'a Map<String, Value>,
    /// Prior values; `None` on create.
    pub old: Option<&'a Map<String, Value>>,
    /// The acting user: see [`crate::USER_FIELDS`].
    pub user: &'a Map<String, Value>,
    /// The instant `now()` and `today()` refer to: fixed per write, so every rule of one
    /// write sees the same time.
    pub now: DateTime<Utc>,
    /// The tenant's time zone: `today()` is the date there.
    pub tz: Tz,
}

/// Why an evaluation failed. `code` is stable and machine-readable:
/// `timeout`, `budget` (the write's shared [`Budget`] is spent), `too_many_operations`,
/// `too_large`, `too_deep`, `arithmetic`, `type`, `bad_value`, `runtime`, `internal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct EvalError {
    pub code: &'static str,
    pub message: String,
    /// Where in the script, when known (1-based line and column).
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{} at {l}:{c} ({})", self.message, self.code),
            _ => write!(f, "{} ({})", self.message, self.code),
        }
    }
}

impl EvalError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            line: None,
            column: None,
        }
    }

    /// The write's shared budget is spent.
    pub fn budget() -> Self {
        Self::new(
            "budget",
            "the rules of this write used up their shared time budget",
        )
    }

    /// Whether the write's shared budget stopped this evaluation (the write as a whole must
    /// fail, not just this rule).
    pub fn is_budget(&self) -> bool {
        self.code == "budget"
    }

    pub(crate) fn from_rhai(err: &EvalAltResult) -> Self {
        let inner = err.unwrap_inner();
        let (code, message) = match inner {
            EvalAltResult::ErrorTerminated(token, _)
                if token
                    .clone()
                    .into_immutable_string()
                    .is_ok_and(|s| s == TIMEOUT_TOKEN) =>
            {
                ("timeout", "the script ran out of time".to_string())
            }
            EvalAltResult::ErrorTerminated(token, _)
                if token
                    .clone()
                    .into_immutable_string()
                    .is_ok_and(|s| s == BUDGET_TOKEN) =>
            {
                return Self::budget();
            }
            EvalAltResult::ErrorTooManyOperations(_) => (
                "too_many_operations",
                "the script did too much work".to_string(),
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                ("too_large", format!("{what} is too large"))
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                ("too_deep", "calls are nested too deeply".to_string())
            }
            EvalAltResult::ErrorArithmetic(msg, _) => ("arithmetic", msg.clone()),
            EvalAltResult::ErrorFunctionNotFound(sig, _) => (
                "type",
                format!("no function or operator matches {sig}; check the types of the values"),
            ),
            EvalAltResult::ErrorMismatchDataType(want, got, _)
            | EvalAltResult::ErrorMismatchOutputType(want, got, _) => {
                ("type", format!("expected {want}, got {got}"))
            }
            EvalAltResult::ErrorRuntime(v, _) => ("runtime", v.to_string()),
            other => ("runtime", other.to_string()),
        };
        let pos = err.position();
        Self {
            code,
            message,
            line: pos.line(),
            column: pos.position(),
        }
    }
}

fn bad_value(field: &str, why: String) -> EvalError {
    EvalError::new("bad_value", format!("field `{field}`: {why}"))
}

fn field<'a>(m: &'a Map<String, Value>, name: &str) -> &'a Value {
    m.get(name).unwrap_or(&Value::Null)
}

thread_local! {
    /// The scope of the last script evaluated on this thread, reused when the same script
    /// runs again (the usual case: one rule over many records). Refilling values in place
    /// saves the allocation of every variable name: ~35% of an evaluation.
    static SCOPE: RefCell<Option<(u64, Scope<'static>)>> = const { RefCell::new(None) };
}

fn value(b: &Binding, ctx: &EvalContext<'_>) -> Result<Dynamic, EvalError> {
    Ok(match b {
        Binding::Record { field: f, ty } => {
            values::to_script(*ty, field(ctx.record, f), ctx.tz).map_err(|e| bad_value(f, e))?
        }
        Binding::Old { field: f, ty } => match ctx.old {
            Some(old) => {
                values::to_script(*ty, field(old, f), ctx.tz).map_err(|e| bad_value(f, e))?
            }
            None => Dynamic::UNIT,
        },
        Binding::Changed { field: f, ty } => Dynamic::from_bool(values::changed(
            *ty,
            field(ctx.record, f),
            ctx.old.map(|o| field(o, f)),
        )),
        Binding::CurrencyOf { field: f } => match field(ctx.record, f).get("currency") {
            Some(Value::String(code)) => values::text_value(code),
            _ => Dynamic::UNIT,
        },
        Binding::User { attr } => {
            values::json_to_script(field(ctx.user, attr), 0).map_err(|e| bad_value(attr, e))?
        }
        // Any non-unit value works: scripts only compare bare `old` with `()`.
        Binding::OldBare => match ctx.old {
            Some(_) => Dynamic::TRUE,
            None => Dynamic::UNIT,
        },
        Binding::Today => {
            Dynamic::from(datetime::Date(ctx.now.with_timezone(&ctx.tz).date_naive()))
        }
        Binding::Now => Dynamic::from(datetime::DateTime(ctx.now.with_timezone(&ctx.tz))),
    })
}

/// Overwrites the values of a scope built for this script; `false` if it does not fit.
fn refill(
    scope: &mut Scope<'static>,
    script: &CompiledScript,
    ctx: &EvalContext<'_>,
) -> Result<bool, EvalError> {
    let bindings = &script.0.bindings;
    if scope.len() < bindings.len() {
        return Ok(false);
    }
    // Drop whatever the previous run declared with `let`.
    scope.rewind(bindings.len());
    for (var, b) in bindings {
        let v = value(b, ctx)?;
        match scope.get_mut(var) {
            Some(slot) => *slot = v,
            None => return Ok(false),
        }
    }
    Ok(true)
}

pub(crate) fn fresh_scope(
    script: &CompiledScript,
    ctx: &EvalContext<'_>,
) -> Result<Scope<'static>, EvalError> {
    let bindings = &script.0.bindings;
    let mut scope = Scope::with_capacity(bindings.len());
    for (var, b) in bindings {
        scope.push_dynamic(var.as_str(), value(b, ctx)?);
    }
    Ok(scope)
}

impl Sandbox {
    fn run(
        &self,
        script: &CompiledScript,
        scope: &mut Scope<'static>,
    ) -> Result<Dynamic, EvalError> {
        let run = catch_unwind(AssertUnwindSafe(|| {
            self.engine()
                .eval_ast_with_scope::<Dynamic>(scope, &script.0.ast)
        }));
        match run {
            Ok(Ok(v)) => Ok(v.flatten()),
            Ok(Err(e)) => Err(EvalError::from_rhai(&e)),
            Err(_) => Err(EvalError::new(
                "internal",
                "the rule engine failed on this script",
            )),
        }
    }

    /// Runs a script; a panic anywhere inside becomes an `internal` error, never an abort
    /// of the worker.
    pub fn eval_dynamic(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
    ) -> Result<Dynamic, EvalError> {
        self.eval_unbudgeted(script, ctx)
    }

    /// [`Sandbox::eval_dynamic`] drawing from the write's shared `budget`: refused at once
    /// (`budget`) when it is spent, stopped when it runs out, and charged the time taken.
    pub fn eval_dynamic_in(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
        budget: &Budget,
    ) -> Result<Dynamic, EvalError> {
        if budget.is_spent() {
            return Err(EvalError::budget());
        }
        // Off the worker first, then timed: waiting for a turn in the pool is not charged.
        off_worker_if_slow(script, || {
            budget.measure(|| {
                BUDGET_LEFT.with(|b| b.set(Some(budget.remaining())));
                let out = self.eval_timed(script, ctx);
                BUDGET_LEFT.with(|b| b.set(None));
                out
            })
        })
    }

    fn eval_unbudgeted(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
    ) -> Result<Dynamic, EvalError> {
        off_worker_if_slow(script, || self.eval_timed(script, ctx))
    }

    /// Runs a script here and remembers whether the run was slow.
    fn eval_timed(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
    ) -> Result<Dynamic, EvalError> {
        let started = std::time::Instant::now();
        let out = self.eval_here(script, ctx);
        let slow = started.elapsed() >= crate::offload::SLOW_AFTER;
        script.0.slow.store(slow, Ordering::Relaxed);
        out
    }

    fn eval_here(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
    ) -> Result<Dynamic, EvalError> {
        let id = script.0.id;
        let cached = SCOPE.with(|cell| {
            let mut slot = cell.try_borrow_mut().ok()?;
            match slot.take() {
                Some((cached_id, scope)) if cached_id == id => Some(scope),
                _ => None,
            }
        });
        let mut scope = match cached {
            Some(mut scope) => {
                if refill(&mut scope, script, ctx)? {
                    scope
                } else {
                    fresh_scope(script, ctx)?
                }
            }
            None => fresh_scope(script, ctx)?,
        };
        let result = self.run(script, &mut scope);
        SCOPE.with(|cell| {
            if let Ok(mut slot) = cell.try_borrow_mut() {
                *slot = Some((id, scope));
            }
        });
        result
    }

    /// Evaluates a condition or validation (any kind whose result must be `true`/`false`).
    pub fn eval_bool(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
    ) -> Result<bool, EvalError> {
        as_bool(self.eval_dynamic(script, ctx)?)
    }

    /// [`Sandbox::eval_bool`] drawing from the write's shared `budget`.
    pub fn eval_bool_in(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
        budget: &Budget,
    ) -> Result<bool, EvalError> {
        as_bool(self.eval_dynamic_in(script, ctx, budget)?)
    }

    /// [`Sandbox::eval_bool`] drawing from the thread's ambient budget when one is set
    /// ([`Budget::within`]), unbudgeted otherwise.
    pub fn eval_bool_ambient(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
    ) -> Result<bool, EvalError> {
        match Budget::ambient() {
            Some(b) => self.eval_bool_in(script, ctx, &b),
            None => self.eval_bool(script, ctx),
        }
    }

    /// [`Sandbox::eval_value`] drawing from the write's shared `budget`.
    pub fn eval_value_in(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
        budget: &Budget,
    ) -> Result<Value, EvalError> {
        let v = self.eval_dynamic_in(script, ctx, budget)?;
        as_value(script, &v)
    }

    /// Evaluates a formula or default and returns the value in the API's JSON form for the
    /// script's result type (decimals as exact strings, dates as `YYYY-MM-DD`…; `null` for a
    /// blank result).
    pub fn eval_value(
        &self,
        script: &CompiledScript,
        ctx: &EvalContext<'_>,
    ) -> Result<Value, EvalError> {
        let v = self.eval_dynamic(script, ctx)?;
        as_value(script, &v)
    }
}

/// Runs `f` (an evaluation of `script`) off the async worker when the script's last run was
/// slow (see [`crate::offload`]), in place otherwise.
fn off_worker_if_slow<T: Send>(script: &CompiledScript, f: impl FnOnce() -> T + Send) -> T {
    if script.0.slow.load(Ordering::Relaxed) {
        crate::offload::run_slow(f)
    } else {
        f()
    }
}

fn as_bool(v: Dynamic) -> Result<bool, EvalError> {
    v.as_bool().map_err(|got| {
        EvalError::new(
            "type",
            format!("the rule must give true or false, not {got}"),
        )
    })
}

fn as_value(script: &CompiledScript, v: &Dynamic) -> Result<Value, EvalError> {
    let ty: ScalarType = script.kind().result_type();
    values::from_script(ty, v).map_err(|e| EvalError::new("type", e))
}

/// [`Sandbox::eval_bool`] on the shared default sandbox.
pub fn eval_bool(script: &CompiledScript, ctx: &EvalContext<'_>) -> Result<bool, EvalError> {
    Sandbox::shared().eval_bool(script, ctx)
}

/// [`Sandbox::eval_value`] on the shared default sandbox.
pub fn eval_value(script: &CompiledScript, ctx: &EvalContext<'_>) -> Result<Value, EvalError> {
    Sandbox::shared().eval_value(script, ctx)
}
