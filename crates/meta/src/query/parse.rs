//! The query body `{filter, sort, limit, cursor, fields, expand, count}` parsed into a
//! [`QueryPlan`], with every problem of the body reported at once.

use serde_json::{Map, Value as Json};

use super::cursor::decode_cursor;
use super::fields::{Ctx, system_field};
use super::filter::parse_pred;
use super::plan::{Cursor, QueryPlan, SortKey};
use super::sort::parse_sort;
use super::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::compiled::CompiledObject;
use crate::field::FieldKind;
use crate::problem::Problem;

/// Parse a query body `{filter, sort, limit, cursor, fields, expand, count}`.
pub fn parse_query(
    obj: &CompiledObject,
    body: &Json,
    hidden: &dyn Fn(&str) -> bool,
) -> Result<QueryPlan, Vec<Problem>> {
    let mut ctx = Ctx {
        obj,
        problems: vec![],
        conditions: 0,
        hidden,
    };
    let empty = Map::new();
    let m = match body {
        Json::Object(m) => m,
        Json::Null => &empty,
        _ => {
            return Err(vec![Problem::new(
                "",
                "type",
                "the query must be a JSON object",
            )]);
        }
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "filter" | "sort" | "limit" | "cursor" | "fields" | "expand" | "count"
        ) {
            ctx.problems.push(Problem::new(
                format!("/{k}"),
                "unknown_key",
                "expected filter, sort, limit, cursor, fields, expand or count",
            ));
        }
    }
    // The members are read in this order so that problems keep a stable order.
    let filter = match m.get("filter") {
        None | Some(Json::Null) => None,
        Some(f) => parse_pred(&mut ctx, f, "/filter", 0),
    };
    let sort = parse_sort(&mut ctx, m.get("sort"));
    let limit = parse_limit(&mut ctx, m.get("limit"));
    let fields = parse_fields(&mut ctx, m.get("fields"));
    let expand = parse_expand(&mut ctx, m.get("expand"));
    let count = parse_count(&mut ctx, m.get("count"));
    let cursor = parse_cursor(&mut ctx, m.get("cursor"), &sort);
    if ctx.problems.is_empty() {
        Ok(QueryPlan {
            filter,
            sort,
            limit,
            cursor,
            fields,
            expand,
            count,
        })
    } else {
        Err(ctx.problems)
    }
}

fn parse_limit(ctx: &mut Ctx<'_>, v: Option<&Json>) -> u32 {
    match v {
        None | Some(Json::Null) => DEFAULT_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=u64::from(MAX_LIMIT)).contains(&n) => n as u32,
            _ => {
                ctx.problems.push(Problem::new(
                    "/limit",
                    "range",
                    format!("must be an integer 1..={MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        },
    }
}

/// The projection: fields the caller may read; system columns are always returned, so naming
/// one is allowed and changes nothing.
fn parse_fields(ctx: &mut Ctx<'_>, v: Option<&Json>) -> Option<Vec<String>> {
    match v {
        None | Some(Json::Null) => None,
        Some(Json::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(n) if ctx.obj.field(n).is_some() && !(ctx.hidden)(n) => {
                        out.push(n.to_owned());
                    }
                    Some(n) if system_field(n).is_some() => {}
                    Some(n) => ctx.problems.push(Problem::new(
                        format!("/fields/{i}"),
                        "unknown_field",
                        format!("there is no field '{n}'"),
                    )),
                    None => ctx.problems.push(Problem::new(
                        format!("/fields/{i}"),
                        "type",
                        "must be a string",
                    )),
                }
            }
            Some(out)
        }
        Some(_) => {
            ctx.problems.push(Problem::new(
                "/fields",
                "type",
                "must be an array of field names",
            ));
            None
        }
    }
}

/// Lookup and master-detail fields whose target record is embedded in each row.
fn parse_expand(ctx: &mut Ctx<'_>, v: Option<&Json>) -> Vec<String> {
    let mut expand = Vec::new();
    match v {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("/expand/{i}");
                let obj = ctx.obj;
                let hidden = ctx.hidden;
                match item
                    .as_str()
                    .and_then(|n| obj.field(n).filter(|_| !hidden(n)))
                {
                    Some(f)
                        if matches!(
                            f.kind,
                            FieldKind::Lookup { .. } | FieldKind::MasterDetail { .. }
                        ) =>
                    {
                        expand.push(f.name().to_owned());
                    }
                    Some(_) => ctx.problems.push(Problem::new(
                        p,
                        "not_expandable",
                        "only lookup and master-detail fields can be expanded",
                    )),
                    None => {
                        ctx.problems
                            .push(Problem::new(p, "unknown_field", "no such lookup field"));
                    }
                }
            }
        }
        Some(_) => ctx.problems.push(Problem::new(
            "/expand",
            "type",
            "must be an array of field names",
        )),
    }
    expand
}

fn parse_count(ctx: &mut Ctx<'_>, v: Option<&Json>) -> bool {
    match v {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => {
            ctx.problems
                .push(Problem::new("/count", "type", "must be true or false"));
            false
        }
    }
}

/// The cursor must have been made for the same sort, so a page never continues another order.
fn parse_cursor(ctx: &mut Ctx<'_>, v: Option<&Json>, sort: &[SortKey]) -> Option<Cursor> {
    match v {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => {
            let cursor = decode_cursor(ctx.obj, s, sort);
            if cursor.is_none() {
                ctx.problems.push(Problem::new(
                    "/cursor",
                    "invalid_cursor",
                    "the cursor is malformed or belongs to a different sort",
                ));
            }
            cursor
        }
        Some(_) => {
            ctx.problems
                .push(Problem::new("/cursor", "type", "must be a string"));
            None
        }
    }
}
