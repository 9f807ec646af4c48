//! The query plan's predicates as SQL conditions (sea-query), per backend.

use sea_orm::sea_query::extension::postgres::PgExpr;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use serde_json::Value as Json;
use weft_meta::query::{CmpOp, Col, Dir, Pred, SortKey};
use weft_meta::{CompiledObject, Value};
use weft_runtime::ports::Backend;

use crate::names::{Names, ident};
use crate::sqlvalue::encode;

pub fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name.to_owned()))
}

fn scale_of(obj: &CompiledObject, c: &Col) -> Option<u32> {
    obj.any_field(&c.name).and_then(|f| f.kind.decimal_scale())
}

fn val(n: &Names, obj: &CompiledObject, c: &Col, v: &Value) -> Expr {
    Expr::val(encode(n.backend, c.kind, scale_of(obj, c), v))
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn condition(n: &Names, obj: &CompiledObject, p: &Pred) -> Condition {
    match p {
        Pred::And(parts) => parts
            .iter()
            .fold(Condition::all(), |c, x| c.add(condition(n, obj, x))),
        Pred::Or(parts) => parts
            .iter()
            .fold(Condition::any(), |c, x| c.add(condition(n, obj, x))),
        Pred::Not(inner) => negated(n, obj, inner),
        Pred::Cmp { col: c, op, value } => {
            let l = col(&c.name);
            let r = val(n, obj, c, value);
            Condition::all().add(match op {
                CmpOp::Eq => l.eq(r),
                // "not equal" includes empty values, as users expect from a filter builder.
                CmpOp::Ne => {
                    return Condition::any()
                        .add(col(&c.name).ne(r))
                        .add(col(&c.name).is_null());
                }
                CmpOp::Gt => l.gt(r),
                CmpOp::Gte => l.gte(r),
                CmpOp::Lt => l.lt(r),
                CmpOp::Lte => l.lte(r),
            })
        }
        Pred::In {
            col: c,
            values,
            negated,
        } => {
            if values.is_empty() {
                // `x IN ()` is not SQL: an empty list matches nothing, its negation everything.
                let one = Expr::Constant(1.into());
                let always = if *negated {
                    one.eq(Expr::Constant(1.into()))
                } else {
                    one.eq(Expr::Constant(0.into()))
                };
                return Condition::all().add(always);
            }
            let vals: Vec<Expr> = values.iter().map(|v| val(n, obj, c, v)).collect();
            if *negated {
                Condition::any()
                    .add(col(&c.name).is_not_in(vals))
                    .add(col(&c.name).is_null())
            } else {
                Condition::all().add(col(&c.name).is_in(vals))
            }
        }
        Pred::Between { col: c, lo, hi } => {
            Condition::all().add(col(&c.name).between(val(n, obj, c, lo), val(n, obj, c, hi)))
        }
        Pred::IsNull { col: c, null } => Condition::all().add(if *null {
            col(&c.name).is_null()
        } else {
            col(&c.name).is_not_null()
        }),
        Pred::Like {
            col: c,
            text,
            prefix,
        } => {
            let pat = if *prefix {
                format!("{}%", escape_like(text))
            } else {
                format!("%{}%", escape_like(text))
            };
            Condition::all().add(match n.backend {
                // A custom expression on purpose: sea-query 1.0 renders `ILIKE ($1 ESCAPE …)`,
                // which PostgreSQL rejects (the value is still bound).
                Backend::Postgres => Expr::cust_with_values(
                    format!("{} ILIKE $1 ESCAPE '\\'", ident(&c.name)),
                    [pat],
                ),
                Backend::Sqlite => col(&c.name).like(LikeExpr::new(pat).escape('\\')),
            })
        }
        Pred::HasAll { col: c, values } => match n.backend {
            Backend::Postgres => {
                let arr = Json::Array(values.iter().map(|v| Json::String(v.clone())).collect());
                Condition::all()
                    .add(col(&c.name).contains(Expr::val(arr).cast_as(Alias::new("jsonb"))))
            }
            // One EXISTS per value over the elements of the stored JSON array.
            Backend::Sqlite => values.iter().fold(Condition::all(), |cond, v| {
                let elements = Query::select()
                    .expr(Expr::Constant(1.into()))
                    .from_function(Func::cust("json_each").arg(col(&c.name)), "e")
                    .and_where(Expr::col(("e", "value")).eq(v.as_str()))
                    .to_owned();
                cond.add(Expr::exists(elements))
            }),
        },
        Pred::LinkedTo { field, targets } => {
            let sub = Query::select()
                .column(Alias::new("source"))
                .from(n.junction_ref(obj.api_name(), field))
                .and_where(col("target").is_in(targets.iter().map(|t| Expr::val(*t))))
                .to_owned();
            Condition::all().add(col("id").in_subquery(sub))
        }
        Pred::LinksEmpty { field, empty } => {
            let sub = Query::select()
                .column(Alias::new("source"))
                .from(n.junction_ref(obj.api_name(), field))
                .to_owned();
            Condition::all().add(if *empty {
                col("id").not_in_subquery(sub)
            } else {
                col("id").in_subquery(sub)
            })
        }
    }
}

fn or_null(c: &Col, cond: Condition) -> Condition {
    Condition::any().add(cond).add(col(&c.name).is_null())
}

/// `NOT p` with two-valued logic: a record whose field is empty does not match a comparison,
/// so it does match the comparison's negation (SQL's NULL would drop it from both).
fn negated(n: &Names, obj: &CompiledObject, p: &Pred) -> Condition {
    match p {
        Pred::And(parts) => parts
            .iter()
            .fold(Condition::any(), |c, x| c.add(negated(n, obj, x))),
        Pred::Or(parts) => parts
            .iter()
            .fold(Condition::all(), |c, x| c.add(negated(n, obj, x))),
        Pred::Not(inner) => condition(n, obj, inner),
        Pred::Cmp { col: c, op, value } => {
            let r = val(n, obj, c, value);
            match op {
                CmpOp::Eq => or_null(c, Condition::all().add(col(&c.name).ne(r))),
                CmpOp::Ne => Condition::all().add(col(&c.name).eq(r)),
                CmpOp::Gt => or_null(c, Condition::all().add(col(&c.name).lte(r))),
                CmpOp::Gte => or_null(c, Condition::all().add(col(&c.name).lt(r))),
                CmpOp::Lt => or_null(c, Condition::all().add(col(&c.name).gte(r))),
                CmpOp::Lte => or_null(c, Condition::all().add(col(&c.name).gt(r))),
            }
        }
        Pred::In {
            col: c,
            values,
            negated: neg,
        } => condition(
            n,
            obj,
            &Pred::In {
                col: c.clone(),
                values: values.clone(),
                negated: !neg,
            },
        ),
        Pred::IsNull { col: c, null } => condition(
            n,
            obj,
            &Pred::IsNull {
                col: c.clone(),
                null: !null,
            },
        ),
        Pred::LinksEmpty { field, empty } => condition(
            n,
            obj,
            &Pred::LinksEmpty {
                field: field.clone(),
                empty: !empty,
            },
        ),
        Pred::LinkedTo { .. } => condition(n, obj, p).not(),
        Pred::Between { col: c, .. } | Pred::Like { col: c, .. } | Pred::HasAll { col: c, .. } => {
            or_null(c, condition(n, obj, p).not())
        }
    }
}

/// Keyset condition: rows strictly after the cursor in the sort order (nulls sort last in
/// ascending order and first in descending order, on both backends).
pub fn after_cursor(
    n: &Names,
    obj: &CompiledObject,
    sort: &[SortKey],
    values: &[Value],
    id: uuid::Uuid,
    id_dir: Dir,
) -> Condition {
    let mut any = Condition::any();
    let mut prefix: Vec<SimpleExpr> = Vec::new();
    for (k, v) in sort.iter().zip(values) {
        let c = &k.col;
        let strictly = match (k.dir, v.is_null()) {
            (Dir::Asc, false) => Some(
                Condition::any()
                    .add(col(&c.name).gt(val(n, obj, c, v)))
                    .add(col(&c.name).is_null()),
            ),
            (Dir::Asc, true) => None,
            (Dir::Desc, false) => Some(Condition::all().add(col(&c.name).lt(val(n, obj, c, v)))),
            (Dir::Desc, true) => Some(Condition::all().add(col(&c.name).is_not_null())),
        };
        if let Some(s) = strictly {
            let mut branch = Condition::all();
            for e in &prefix {
                branch = branch.add(e.clone());
            }
            any = any.add(branch.add(s));
        }
        prefix.push(if v.is_null() {
            col(&c.name).is_null()
        } else {
            col(&c.name).eq(val(n, obj, c, v))
        });
    }
    let mut last = Condition::all();
    for e in &prefix {
        last = last.add(e.clone());
    }
    let idv = Expr::val(id);
    last = last.add(match id_dir {
        Dir::Asc => col("id").gt(idv),
        Dir::Desc => col("id").lt(idv),
    });
    any.add(last)
}
