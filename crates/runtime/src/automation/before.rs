//! Before-save rules, in the write transaction: rule defaults, formulas, conditional
//! read-only and required, validations. Every failure of a write is reported at once.

use serde_json::{Map, Value as Json};
use weft_meta::{CompiledObject, FieldKind, Problem, Value, Values};
use weft_rules::{Budget, EvalError, Sandbox};

use super::doc::Compiled;
use super::engine::user_map;
use super::engine::{Input, ObjectRules, row_map};
use super::{AutomationError, BeforeSave, WriteOp};
use crate::core::TxCtx;
use crate::error::Result;
use crate::json::value_json;
use crate::ports::RecordRow;
use crate::principal::Principal;

pub(crate) fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Text(s)) => s.trim().is_empty(),
        Some(Value::UuidList(l)) => l.is_empty(),
        Some(Value::Json(Json::Array(a))) => a.is_empty(),
        _ => false,
    }
}

/// A script result (API JSON form) as a stored value of `field`.
pub(crate) fn to_value(
    obj: &CompiledObject,
    field: &str,
    j: Json,
) -> std::result::Result<Value, String> {
    let Some(f) = obj.field(field) else {
        return Err(format!("no field '{field}'"));
    };
    let j = match (&f.kind, j) {
        (
            FieldKind::Currency {
                default_currency, ..
            },
            Json::Object(mut m),
        ) => {
            if m.get("currency").is_none_or(Json::is_null) {
                m.insert("currency".into(), Json::String(default_currency.clone()));
            }
            Json::Object(m)
        }
        (
            FieldKind::Currency {
                default_currency, ..
            },
            j @ (Json::String(_) | Json::Number(_)),
        ) => {
            serde_json::json!({"amount": j, "currency": default_currency})
        }
        (FieldKind::Decimal { scale, .. } | FieldKind::Percent { scale, .. }, Json::String(s)) => {
            match s.parse::<rust_decimal::Decimal>() {
                Ok(d) => Json::String(d.round_dp(*scale).to_string()),
                Err(_) => Json::String(s),
            }
        }
        (_, j) => j,
    };
    weft_meta::value::coerce(f, &j, None).map_err(|p| p.message)
}

fn path(index: Option<usize>, field: Option<&str>) -> String {
    match (index, field) {
        (Some(i), Some(f)) => format!("/records/{i}/{f}"),
        (Some(i), None) => format!("/records/{i}"),
        (None, Some(f)) => format!("/{f}"),
        (None, None) => String::new(),
    }
}

/// A rule that could not run, as a problem of this row; or, when the write's shared budget
/// ran out, the error that fails the whole write.
fn failed(index: Option<usize>, field: Option<&str>, rule: &str, e: &EvalError) -> Result<Problem> {
    if e.is_budget() {
        return Err(AutomationError::CpuBudget {
            rule: rule.to_owned(),
            at: path(index, field),
        }
        .into());
    }
    Ok(Problem::new(
        path(index, field),
        "rule_failed",
        format!("rule '{rule}' could not run: {e}"),
    ))
}

/// The row as it will be saved (the old row with the written values over it) and the
/// rules' input over it.
fn start_row(
    cx: &TxCtx,
    p: &Principal,
    obj: &CompiledObject,
    o: &ObjectRules,
    id: uuid::Uuid,
    old: Option<&RecordRow>,
    values: &Values,
) -> (RecordRow, Input) {
    let now = cx.now;
    let mut new_row = match old {
        Some(old) => old.clone(),
        None => RecordRow {
            id,
            version: 0,
            owner: p.user.0,
            department: p.department,
            created_by: p.user.0,
            created_at: now,
            updated_by: p.user.0,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
            delete_batch: None,
            values: Values::new(),
        },
    };
    for (k, v) in values.iter() {
        new_row.values.insert(k.clone(), v.clone());
    }
    let fields = Some(o.reads.as_slice());
    let user = if o.reads_user {
        user_map(&cx.org, p)
    } else {
        Map::new()
    };
    let input = Input {
        record: row_map(obj, &new_row, fields),
        old: old.map(|r| row_map(obj, r, fields)),
        user,
        now,
        tz: cx.meta.tz,
    };
    (new_row, input)
}

/// Before-save rules of one object for one row: rule defaults, formulas, conditional
/// read-only and required, validations. Returns the problems found (empty = go on), or
/// `limit.cpu` when the rules spent the write's shared budget ([`TxCtx::budget`]).
pub(crate) fn run_before(
    cx: &TxCtx,
    p: &Principal,
    obj: &CompiledObject,
    o: &ObjectRules,
    row: BeforeSave<'_>,
) -> Result<Vec<Problem>> {
    let idx = row.index;
    let (mut new_row, mut input) = start_row(cx, p, obj, o, row.id, row.old, row.values);
    let sandbox = Sandbox::shared();
    let mut problems = Vec::new();
    let values: &mut Values = row.values;
    let mut set = |field: &str, v: Value, input: &mut Input, values: &mut Values| {
        input
            .record
            .insert(field.to_owned(), value_json(obj, field, &v));
        let unchanged = row
            .old
            .is_some_and(|o| o.values.get(field).unwrap_or(&Value::Null) == &v);
        if unchanged {
            values.shift_remove(field);
        } else {
            values.insert(field.to_owned(), v.clone());
        }
        new_row.values.insert(field.to_owned(), v);
    };

    if row.op == WriteOp::Create {
        for r in &o.defaults {
            let Compiled::Default { field, script } = &r.compiled else {
                continue;
            };
            if !is_blank(values.get(field)) {
                continue;
            }
            match sandbox.eval_value_in(script, &input.ctx(), &cx.budget) {
                Ok(j) => match to_value(obj, field, j) {
                    Ok(v) => set(field, v, &mut input, values),
                    Err(e) => problems.push(Problem::new(
                        path(idx, Some(field)),
                        "rule_failed",
                        format!("default rule '{}' gave a bad value: {e}", r.doc.api_name),
                    )),
                },
                Err(e) => problems.push(failed(idx, Some(field), &r.doc.api_name, &e)?),
            }
        }
    }
    for r in &o.formulas {
        let Compiled::Formula { field, script } = &r.compiled else {
            continue;
        };
        match sandbox.eval_value_in(script, &input.ctx(), &cx.budget) {
            Ok(j) => match to_value(obj, field, j) {
                Ok(v) => set(field, v, &mut input, values),
                Err(e) => problems.push(Problem::new(
                    path(idx, Some(field)),
                    "rule_failed",
                    format!("formula '{}' gave a bad value: {e}", r.doc.api_name),
                )),
            },
            Err(e) => problems.push(failed(idx, Some(field), &r.doc.api_name, &e)?),
        }
    }
    // Derived values (roll-ups) are not held to conditional read-only rules.
    let guarded_old = row.old.filter(|_| !row.derived);
    problems.extend(check_conditions(
        o,
        &input,
        &new_row,
        values,
        guarded_old,
        idx,
        &cx.budget,
    )?);
    Ok(problems)
}

/// Conditional read-only and required fields, and validations, over the row as it will be
/// saved.
fn check_conditions(
    o: &ObjectRules,
    input: &Input,
    new_row: &RecordRow,
    values: &Values,
    old: Option<&RecordRow>,
    idx: Option<usize>,
    budget: &Budget,
) -> Result<Vec<Problem>> {
    let sandbox = Sandbox::shared();
    let mut problems = Vec::new();
    if let Some(old) = old {
        for r in &o.read_only {
            let Compiled::ReadOnly { field, condition } = &r.compiled else {
                continue;
            };
            let changes = values
                .get(field)
                .is_some_and(|v| old.values.get(field).unwrap_or(&Value::Null) != v);
            if !changes {
                continue;
            }
            match sandbox.eval_bool_in(condition, &input.ctx(), budget) {
                Ok(true) => problems.push(Problem::new(
                    path(idx, Some(field)),
                    "read_only",
                    format!("'{field}' may not change now (rule '{}')", r.doc.api_name),
                )),
                Ok(false) => {}
                Err(e) => problems.push(failed(idx, Some(field), &r.doc.api_name, &e)?),
            }
        }
    }
    for r in &o.required {
        let Compiled::Required {
            field,
            condition,
            message,
        } = &r.compiled
        else {
            continue;
        };
        if !is_blank(new_row.values.get(field)) {
            continue;
        }
        match sandbox.eval_bool_in(condition, &input.ctx(), budget) {
            Ok(true) => problems.push(Problem::new(
                path(idx, Some(field)),
                "required",
                message.clone(),
            )),
            Ok(false) => {}
            Err(e) => problems.push(failed(idx, Some(field), &r.doc.api_name, &e)?),
        }
    }
    for r in &o.validations {
        let Compiled::Validation {
            condition,
            message,
            field,
        } = &r.compiled
        else {
            continue;
        };
        match sandbox.eval_bool_in(condition, &input.ctx(), budget) {
            Ok(true) => {}
            Ok(false) => problems.push(Problem::new(
                path(idx, field.as_deref()),
                "validation",
                message.clone(),
            )),
            Err(e) => problems.push(failed(idx, field.as_deref(), &r.doc.api_name, &e)?),
        }
    }
    Ok(problems)
}
