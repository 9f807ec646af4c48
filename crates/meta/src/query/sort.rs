//! Sort keys: `"field"`, `"-field"` or `{"field", "dir"}`, checked against the caller's fields.

use serde_json::Value as Json;

use super::fields::Ctx;
use super::plan::{Col, ColKind, Dir, SortKey, col_kind};
use crate::problem::Problem;

const MAX_SORT: usize = 5;

/// Parses the `sort` member of a query; problems go to `ctx`, and unusable keys are left out.
pub(super) fn parse_sort(ctx: &mut Ctx<'_>, v: Option<&Json>) -> Vec<SortKey> {
    let mut sort = Vec::new();
    match v {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            if items.len() > MAX_SORT {
                ctx.problems.push(Problem::new(
                    "/sort",
                    "max_items",
                    format!("at most {MAX_SORT} sort keys"),
                ));
            }
            for (i, item) in items.iter().enumerate().take(MAX_SORT) {
                if let Some(key) = sort_key(ctx, item, &format!("/sort/{i}")) {
                    sort.push(key);
                }
            }
        }
        Some(_) => ctx
            .problems
            .push(Problem::new("/sort", "type", "must be an array")),
    }
    sort
}

fn sort_key(ctx: &mut Ctx<'_>, item: &Json, p: &str) -> Option<SortKey> {
    let (name, dir) = name_and_dir(ctx, item, p)?;
    let f = ctx.resolve(name, p)?;
    if !f.kind.is_sortable() {
        ctx.problems.push(Problem::new(
            p,
            "not_sortable",
            format!("a {} field cannot be sorted", f.kind.type_name()),
        ));
        return None;
    }
    if f.name() == "id" {
        // id is the implicit tie-breaker; an explicit id key only sets the direction.
        return Some(SortKey {
            col: Col {
                name: "id".into(),
                kind: ColKind::Uuid,
            },
            dir,
        });
    }
    Some(SortKey {
        col: Col {
            name: f.name().to_owned(),
            kind: col_kind(&f.kind),
        },
        dir,
    })
}

fn name_and_dir<'j>(ctx: &mut Ctx<'_>, item: &'j Json, p: &str) -> Option<(&'j str, Dir)> {
    match item {
        Json::String(s) => Some(match s.strip_prefix('-') {
            Some(n) => (n, Dir::Desc),
            None => (s.as_str(), Dir::Asc),
        }),
        Json::Object(o) => {
            let Some(n) = o.get("field").and_then(Json::as_str) else {
                ctx.problems.push(Problem::new(
                    format!("{p}/field"),
                    "required",
                    "field is required",
                ));
                return None;
            };
            let dir = match o.get("dir").and_then(Json::as_str) {
                None | Some("asc") => Dir::Asc,
                Some("desc") => Dir::Desc,
                Some(_) => {
                    ctx.problems.push(Problem::new(
                        format!("{p}/dir"),
                        "invalid",
                        "dir is asc or desc",
                    ));
                    return None;
                }
            };
            Some((n, dir))
        }
        _ => {
            ctx.problems.push(Problem::new(
                p,
                "type",
                "a sort key is \"field\", \"-field\" or {\"field\", \"dir\"}",
            ));
            None
        }
    }
}
