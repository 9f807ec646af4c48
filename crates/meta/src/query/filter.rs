//! The filter language compiled into a typed [`Pred`]: `and`/`or`/`not` groups and conditions
//! `{"field", "op", "value"}`, each operator checked against the field's type.

use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::fields::{Ctx, filter_value, type_hint};
use super::plan::{CmpOp, Col, ColKind, Pred, col_kind};
use crate::field::{FieldDef, FieldKind};
use crate::problem::Problem;
use crate::value::{Value, parse_uuid};

const MAX_DEPTH: usize = 12;
const MAX_CONDITIONS: usize = 200;
/// The most values an `in` list or a `contains` set may hold.
const MAX_IN: usize = 1_000;

/// Parses a filter at `path`; problems go to `ctx`, and `None` means the filter is unusable.
pub(super) fn parse_pred(ctx: &mut Ctx<'_>, v: &Json, path: &str, depth: usize) -> Option<Pred> {
    if depth > MAX_DEPTH {
        ctx.problems.push(Problem::new(
            path,
            "too_deep",
            format!("filters nest at most {MAX_DEPTH} levels"),
        ));
        return None;
    }
    let Some(obj) = v.as_object() else {
        ctx.problems
            .push(Problem::new(path, "type", "a filter must be an object"));
        return None;
    };
    for (key, ctor) in [("and", true), ("or", false)] {
        if let Some(list) = obj.get(key) {
            if obj.len() != 1 {
                ctx.problems.push(Problem::new(
                    path,
                    "invalid_filter",
                    format!("'{key}' must be the only key of its object"),
                ));
                return None;
            }
            let Some(items) = list.as_array() else {
                ctx.problems.push(Problem::new(
                    format!("{path}/{key}"),
                    "type",
                    "must be an array of filters",
                ));
                return None;
            };
            let parts: Vec<Pred> = items
                .iter()
                .enumerate()
                .filter_map(|(i, x)| parse_pred(ctx, x, &format!("{path}/{key}/{i}"), depth + 1))
                .collect();
            return Some(if ctor {
                Pred::And(parts)
            } else {
                Pred::Or(parts)
            });
        }
    }
    if let Some(inner) = obj.get("not") {
        if obj.len() != 1 {
            ctx.problems.push(Problem::new(
                path,
                "invalid_filter",
                "'not' must be the only key of its object",
            ));
            return None;
        }
        return parse_pred(ctx, inner, &format!("{path}/not"), depth + 1)
            .map(|p| Pred::Not(Box::new(p)));
    }
    parse_condition(ctx, obj, path)
}

/// One condition `{"field", "op", "value"}` whose field exists for the caller.
struct Cond<'a> {
    field: FieldDef,
    col: Col,
    op: &'a str,
    path: &'a str,
    vpath: String,
}

impl Cond<'_> {
    fn bad_op(&self, ctx: &mut Ctx<'_>) {
        ctx.problems.push(Problem::new(
            format!("{}/op", self.path),
            "unsupported_op",
            format!(
                "'{}' is not supported for a {} field",
                self.op,
                self.field.kind.type_name()
            ),
        ));
    }

    /// One comparison value of the field's type, or a problem at `p`.
    fn one(&self, ctx: &mut Ctx<'_>, v: &Json, p: &str) -> Option<Value> {
        let r = filter_value(&self.field, v);
        if r.is_none() {
            ctx.problems.push(Problem::new(
                p,
                "type",
                format!("must be {}", type_hint(&self.field)),
            ));
        }
        r
    }

    /// Comparisons need a scalar column; JSON columns have their own operators.
    fn comparable(&self) -> bool {
        !matches!(self.col.kind, ColKind::Json)
    }
}

fn parse_condition(ctx: &mut Ctx<'_>, obj: &Map<String, Json>, path: &str) -> Option<Pred> {
    ctx.conditions += 1;
    if ctx.conditions > MAX_CONDITIONS {
        ctx.problems.push(Problem::new(
            path,
            "too_many_conditions",
            format!("at most {MAX_CONDITIONS} conditions"),
        ));
        return None;
    }
    for k in obj.keys() {
        if !matches!(k.as_str(), "field" | "op" | "value") {
            ctx.problems.push(Problem::new(
                format!("{path}/{k}"),
                "unknown_key",
                "a condition has only field, op and value (or use and/or/not)",
            ));
        }
    }
    let Some(name) = obj.get("field").and_then(Json::as_str) else {
        ctx.problems.push(Problem::new(
            format!("{path}/field"),
            "required",
            "field is required",
        ));
        return None;
    };
    let Some(op) = obj.get("op").and_then(Json::as_str) else {
        ctx.problems.push(Problem::new(
            format!("{path}/op"),
            "required",
            "op is required",
        ));
        return None;
    };
    let field = ctx.resolve(name, &format!("{path}/field"))?;
    let value = obj.get("value").unwrap_or(&Json::Null);
    let col = Col {
        name: field.name().to_owned(),
        kind: col_kind(&field.kind),
    };
    let c = Cond {
        field,
        col,
        op,
        path,
        vpath: format!("{path}/value"),
    };
    match op {
        "eq" | "ne" | "gt" | "gte" | "lt" | "lte" => compare(ctx, c, value),
        "in" | "nin" => in_list(ctx, c, value),
        "between" => between(ctx, c, value),
        "is_null" => is_null(ctx, c, value),
        "contains" | "starts_with" => contains(ctx, c, value),
        other => {
            ctx.problems.push(Problem::new(
                format!("{path}/op"),
                "unknown_op",
                format!(
                    "unknown operator '{other}' (eq, ne, gt, gte, lt, lte, in, nin, contains, starts_with, is_null, between)"
                ),
            ));
            None
        }
    }
}

fn compare(ctx: &mut Ctx<'_>, c: Cond<'_>, value: &Json) -> Option<Pred> {
    let ordered = !matches!(c.op, "eq" | "ne");
    if !c.comparable() || (ordered && matches!(c.col.kind, ColKind::Bool | ColKind::Uuid)) {
        c.bad_op(ctx);
        return None;
    }
    let op = match c.op {
        "eq" => CmpOp::Eq,
        "ne" => CmpOp::Ne,
        "gt" => CmpOp::Gt,
        "gte" => CmpOp::Gte,
        "lt" => CmpOp::Lt,
        _ => CmpOp::Lte,
    };
    if value.is_null() && matches!(op, CmpOp::Eq | CmpOp::Ne) {
        return Some(Pred::IsNull {
            col: c.col,
            null: op == CmpOp::Eq,
        });
    }
    let v = c.one(ctx, value, &c.vpath)?;
    Some(Pred::Cmp {
        col: c.col,
        op,
        value: v,
    })
}

fn in_list(ctx: &mut Ctx<'_>, c: Cond<'_>, value: &Json) -> Option<Pred> {
    if !c.comparable() {
        c.bad_op(ctx);
        return None;
    }
    let Some(items) = value.as_array() else {
        ctx.problems
            .push(Problem::new(c.vpath, "type", "must be an array"));
        return None;
    };
    if items.len() > MAX_IN {
        ctx.problems.push(Problem::new(
            c.vpath,
            "max_items",
            format!("at most {MAX_IN} values"),
        ));
        return None;
    }
    let values: Vec<Value> = items
        .iter()
        .enumerate()
        .filter_map(|(i, x)| c.one(ctx, x, &format!("{}/{i}", c.vpath)))
        .collect();
    Some(Pred::In {
        col: c.col,
        values,
        negated: c.op == "nin",
    })
}

fn between(ctx: &mut Ctx<'_>, c: Cond<'_>, value: &Json) -> Option<Pred> {
    if !c.comparable() || matches!(c.col.kind, ColKind::Bool | ColKind::Uuid) {
        c.bad_op(ctx);
        return None;
    }
    match value.as_array().map(Vec::as_slice) {
        Some([lo, hi]) => {
            let lo = c.one(ctx, lo, &format!("{}/0", c.vpath))?;
            let hi = c.one(ctx, hi, &format!("{}/1", c.vpath))?;
            Some(Pred::Between { col: c.col, lo, hi })
        }
        _ => {
            ctx.problems.push(Problem::new(
                c.vpath,
                "type",
                "must be an array [low, high]",
            ));
            None
        }
    }
}

fn is_null(ctx: &mut Ctx<'_>, c: Cond<'_>, value: &Json) -> Option<Pred> {
    let null = match value {
        Json::Null => true,
        Json::Bool(b) => *b,
        _ => {
            ctx.problems
                .push(Problem::new(c.vpath, "type", "must be true or false"));
            return None;
        }
    };
    if matches!(c.field.kind, FieldKind::MultiLookup { .. }) {
        return Some(Pred::LinksEmpty {
            field: c.col.name,
            empty: null,
        });
    }
    Some(Pred::IsNull { col: c.col, null })
}

/// `contains` and `starts_with`: option membership on a multi-select, links on a
/// multi-lookup, a case-insensitive text match otherwise.
fn contains(ctx: &mut Ctx<'_>, c: Cond<'_>, value: &Json) -> Option<Pred> {
    if c.op == "contains" {
        if matches!(c.field.kind, FieldKind::MultiSelect { .. }) {
            return has_options(ctx, c, value);
        }
        if matches!(c.field.kind, FieldKind::MultiLookup { .. }) {
            return linked_to(ctx, c, value);
        }
    }
    if c.col.kind != ColKind::Text {
        c.bad_op(ctx);
        return None;
    }
    match value.as_str() {
        Some(s) if !s.is_empty() && s.chars().count() <= 1_000 => Some(Pred::Like {
            col: c.col,
            text: s.to_owned(),
            prefix: c.op == "starts_with",
        }),
        _ => {
            ctx.problems
                .push(Problem::new(c.vpath, "type", "must be a non-empty string"));
            None
        }
    }
}

fn has_options(ctx: &mut Ctx<'_>, c: Cond<'_>, value: &Json) -> Option<Pred> {
    let values: Option<Vec<String>> = match value {
        Json::String(s) => Some(vec![s.clone()]),
        Json::Array(a) => a.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => None,
    };
    match values {
        Some(v) if !v.is_empty() && v.len() <= MAX_IN => Some(Pred::HasAll {
            col: c.col,
            values: v,
        }),
        _ => {
            ctx.problems.push(Problem::new(
                c.vpath,
                "type",
                "must be an option value or an array of them",
            ));
            None
        }
    }
}

fn linked_to(ctx: &mut Ctx<'_>, c: Cond<'_>, value: &Json) -> Option<Pred> {
    let ids: Option<Vec<Uuid>> = match value {
        Json::Array(a) => a.iter().map(parse_uuid).collect(),
        other => parse_uuid(other).map(|u| vec![u]),
    };
    match ids {
        Some(v) if !v.is_empty() && v.len() <= MAX_IN => Some(Pred::LinkedTo {
            field: c.col.name,
            targets: v,
        }),
        _ => {
            ctx.problems.push(Problem::new(
                c.vpath,
                "type",
                "must be a record id or an array of them",
            ));
            None
        }
    }
}
