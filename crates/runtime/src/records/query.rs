//! Record lists: filtered, sorted, cursor-paged queries, related lists and the recycle bin.

use serde_json::Value as Json;
use uuid::Uuid;
use weft_meta::query::{
    CmpOp, Col, ColKind, Pred, QueryPlan, cursor_value, encode_cursor, parse_query,
};
use weft_meta::{CompiledObject, FieldKind, Value};

use super::path::{load_multi_links, load_one};
use super::read::expand_lookups;
use super::{RecordPage, Records};
use crate::access::model::Op;
use crate::access::{Guard, and};
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::ports::{FetchOpts, RecordRow, TxMode};
use crate::principal::Principal;

/// The relationships pointing at an object, with counts for one record.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Relationships {
    /// One entry per (child object, lookup field) the caller can read.
    pub relationships: Vec<Relationship>,
}

/// A child object's lookup field that points at the record.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Relationship {
    /// The child object's API name.
    pub object: String,
    /// The child's lookup field.
    pub field: String,
    /// The child object's plural label (or its label).
    #[schema(value_type = crate::docs::LabelView)]
    pub label: weft_meta::Label,
    /// The lookup field's label.
    #[schema(value_type = crate::docs::LabelView)]
    pub field_label: weft_meta::Label,
    /// Child records (in the caller's scope) pointing at this record.
    pub count: i64,
}

/// A row's value for a sort column, system columns included.
fn row_value(row: &RecordRow, name: &str) -> Value {
    match name {
        "id" => Value::Uuid(row.id),
        "owner" => Value::Uuid(row.owner),
        "department" => row.department.map(Value::Uuid).unwrap_or(Value::Null),
        "version" => Value::Int(row.version),
        "created_by" => Value::Uuid(row.created_by),
        "created_at" => Value::DateTime(row.created_at),
        "updated_by" => Value::Uuid(row.updated_by),
        "updated_at" => Value::DateTime(row.updated_at),
        _ => row.values.get(name).cloned().unwrap_or(Value::Null),
    }
}

/// Run a parsed plan; `extra` narrows the rows (a parent filter, a data scope).
pub(super) async fn run_query(
    r: &Records,
    p: &Principal,
    g: &Guard,
    obj: &CompiledObject,
    plan: &QueryPlan,
    extra: Option<&Pred>,
    opts: FetchOpts,
) -> Result<RecordPage> {
    let scoped = and(g.scope(), extra);
    let extra = scoped.as_ref();
    let mut tx = r.core.begin(p.tenant, TxMode::Read).await?;
    let mut fetch = plan.clone();
    fetch.limit = plan.limit + 1;
    let mut rows = tx.query_records(obj, &fetch, extra, opts).await?;
    let has_more = rows.len() > plan.limit as usize;
    rows.truncate(plan.limit as usize);
    load_multi_links(tx.as_mut(), obj, &mut rows).await?;
    let total = if plan.count {
        Some(
            tx.count_records(obj, plan.filter.as_ref(), extra, opts)
                .await?,
        )
    } else {
        None
    };
    let mut out: Vec<Json> = rows
        .iter()
        .map(|r| record_json(obj, r, plan.fields.as_deref(), &|f| g.can_see(f)))
        .collect();
    if !plan.expand.is_empty() {
        expand_lookups(&mut tx, p, obj, &rows, &plan.expand, &mut out).await?;
    }
    tx.commit().await?;
    let next_cursor = match (has_more, rows.last()) {
        (true, Some(last)) => {
            let vals: Vec<Json> = plan
                .sort
                .iter()
                .map(|k| cursor_value(obj, &k.col.name, &row_value(last, &k.col.name)))
                .collect();
            Some(encode_cursor(&plan.sort, &vals, last.id))
        }
        _ => None,
    };
    Ok(RecordPage {
        records: out,
        next_cursor,
        total,
    })
}

/// `POST /data/{object}/query`.
pub(super) async fn query(
    r: &Records,
    p: &Principal,
    object: &str,
    body: &Json,
) -> Result<RecordPage> {
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Read, object)?;
    let plan = parse_query(&obj, body, &|f| g.hidden(f)).map_err(Error::Validation)?;
    run_query(r, p, &g, &obj, &plan, None, FetchOpts::default()).await
}

/// Deleted records of an object, newest first unless sorted otherwise.
pub(super) async fn recycle_bin(
    r: &Records,
    p: &Principal,
    object: &str,
    body: &Json,
) -> Result<RecordPage> {
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Read, object)?;
    let plan = parse_query(&obj, body, &|f| g.hidden(f)).map_err(Error::Validation)?;
    run_query(
        r,
        p,
        &g,
        &obj,
        &plan,
        None,
        FetchOpts {
            only_deleted: true,
            ..Default::default()
        },
    )
    .await
}

/// Records of `child` that point at record `id` of `object` through `field`.
pub(super) async fn related(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
    child: &str,
    field: &str,
    body: &Json,
) -> Result<RecordPage> {
    let meta = r.core.meta(p.tenant).await?;
    let obj = meta
        .object(object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
    let cobj = meta
        .object(child)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{child}'")))?;
    let f = cobj
        .field(field)
        .filter(|f| f.kind.reference_target().map(|t| t.as_str()) == Some(object))
        .ok_or_else(|| Error::not_found(format!("relationship '{child}.{field}'")))?
        .clone();
    let pg = r.access.guard(p, object).await?;
    pg.require(Op::Read, object)?;
    let cg = r.access.guard(p, child).await?;
    cg.require(Op::Read, child)?;
    if cg.hidden(field) {
        return Err(Error::not_found(format!("relationship '{child}.{field}'")));
    }
    {
        let mut tx = r.core.begin(p.tenant, TxMode::Read).await?;
        load_one(tx.as_mut(), &obj, id, FetchOpts::default(), pg.scope()).await?;
        tx.commit().await?;
    }
    let plan = parse_query(&cobj, body, &|f| cg.hidden(f)).map_err(Error::Validation)?;
    let extra = match f.kind {
        FieldKind::MultiLookup { .. } => Pred::LinkedTo {
            field: field.to_owned(),
            targets: vec![id],
        },
        _ => Pred::Cmp {
            col: Col {
                name: field.to_owned(),
                kind: ColKind::Uuid,
            },
            op: CmpOp::Eq,
            value: Value::Uuid(id),
        },
    };
    run_query(r, p, &cg, &cobj, &plan, Some(&extra), FetchOpts::default()).await
}

/// The relationships pointing at an object (for record pages' related lists), with counts
/// for one record.
pub(super) async fn relationships(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
) -> Result<Relationships> {
    let meta = r.core.meta(p.tenant).await?;
    let obj = meta
        .object(object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
    let pg = r.access.guard(p, object).await?;
    pg.require(Op::Read, object)?;
    let mut guards = std::collections::HashMap::new();
    for child in meta.sorted() {
        guards.insert(
            child.api_name().to_owned(),
            r.access.guard(p, child.api_name()).await?,
        );
    }
    let mut tx = r.core.begin(p.tenant, TxMode::Read).await?;
    load_one(tx.as_mut(), &obj, id, FetchOpts::default(), pg.scope()).await?;
    let mut out = Vec::new();
    for child in meta.sorted() {
        let Some(cg) = guards.get(child.api_name()) else {
            continue;
        };
        if !cg.allows(Op::Read) {
            continue;
        }
        for f in child.live_fields() {
            if f.kind.reference_target().map(|t| t.as_str()) != Some(object) || cg.hidden(f.name())
            {
                continue;
            }
            let extra = match f.kind {
                FieldKind::MultiLookup { .. } => Pred::LinkedTo {
                    field: f.name().to_owned(),
                    targets: vec![id],
                },
                _ => Pred::Cmp {
                    col: Col {
                        name: f.name().to_owned(),
                        kind: ColKind::Uuid,
                    },
                    op: CmpOp::Eq,
                    value: Value::Uuid(id),
                },
            };
            let scoped = and(cg.scope(), Some(&extra));
            let n = tx
                .count_records(child, None, scoped.as_ref(), FetchOpts::default())
                .await?;
            out.push(Relationship {
                object: child.api_name().to_owned(),
                field: f.name().to_owned(),
                label: child
                    .def
                    .plural_label
                    .clone()
                    .unwrap_or_else(|| child.def.label.clone()),
                field_label: f.label.clone(),
                count: n,
            });
        }
    }
    tx.commit().await?;
    Ok(Relationships { relationships: out })
}
