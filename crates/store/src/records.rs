//! Record DML over the per-tenant record tables, built with sea-query from compiled metadata.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, LockType, NullOrdering, OnConflict, Order, Query,
    SelectStatement,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use uuid::Uuid;
use weft_meta::query::{ColKind, Dir, Pred, QueryPlan};
use weft_meta::{CompiledObject, FieldKind, Value, Values};
use weft_runtime::ports::{Backend, FetchOpts, RecordRow, UpdateMeta};

use crate::filter::{after_cursor, col, condition};
use crate::names::{Names, currency_col};
use crate::sqlvalue::{decode, encode, storage_kind};

pub const SYS_COLS: [&str; 11] = [
    "id",
    "version",
    "owner",
    "department",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "deleted_at",
    "deleted_by",
    "delete_batch",
];

/// A field column in a select list.
pub struct Slot {
    pub field: String,
    pub kind: ColKind,
    pub scale: Option<u32>,
    pub currency: bool,
}

pub fn layout(obj: &CompiledObject) -> Vec<Slot> {
    obj.live_fields()
        .filter(|f| f.has_column())
        .map(|f| Slot {
            field: f.name().to_owned(),
            kind: storage_kind(&f.kind),
            scale: f.kind.decimal_scale(),
            currency: matches!(f.kind, FieldKind::Currency { .. }),
        })
        .collect()
}

fn select_columns(q: &mut SelectStatement, slots: &[Slot]) {
    for c in SYS_COLS {
        q.column(Alias::new(c));
    }
    for s in slots {
        q.column(Alias::new(s.field.clone()));
        if s.currency {
            q.column(Alias::new(currency_col(&s.field)));
        }
    }
}

fn deleted_filter(q: &mut SelectStatement, opts: FetchOpts) {
    if opts.only_deleted {
        q.and_where(col("deleted_at").is_not_null());
    } else if !opts.include_deleted {
        q.and_where(col("deleted_at").is_null());
    }
}

fn sys_uuid(b: Backend, row: &QueryResult, i: usize) -> Result<Option<Uuid>, DbErr> {
    Ok(match decode(b, ColKind::Uuid, None, row, i)? {
        Value::Uuid(u) => Some(u),
        _ => None,
    })
}

fn sys_time(b: Backend, row: &QueryResult, i: usize) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(match decode(b, ColKind::DateTime, None, row, i)? {
        Value::DateTime(t) => Some(t),
        _ => None,
    })
}

fn missing(what: &str) -> DbErr {
    DbErr::Type(format!("record column {what} is null"))
}

pub fn decode_row(b: Backend, slots: &[Slot], row: &QueryResult) -> Result<RecordRow, DbErr> {
    let mut values = Values::with_capacity(slots.len());
    let mut i = SYS_COLS.len();
    for s in slots {
        let v = decode(b, s.kind, s.scale, row, i)?;
        i += 1;
        let v = if s.currency {
            let code = row.try_get_by_index::<Option<String>>(i)?;
            i += 1;
            match (v, code) {
                (Value::Decimal(amount), Some(currency)) => Value::Money { amount, currency },
                (Value::Decimal(amount), None) => Value::Money {
                    amount,
                    currency: "CNY".into(),
                },
                (other, _) => other,
            }
        } else {
            v
        };
        values.insert(s.field.clone(), v);
    }
    Ok(RecordRow {
        id: sys_uuid(b, row, 0)?.ok_or_else(|| missing("id"))?,
        version: row.try_get_by_index::<i64>(1)?,
        owner: sys_uuid(b, row, 2)?.ok_or_else(|| missing("owner"))?,
        department: sys_uuid(b, row, 3)?,
        created_by: sys_uuid(b, row, 4)?.ok_or_else(|| missing("created_by"))?,
        created_at: sys_time(b, row, 5)?.ok_or_else(|| missing("created_at"))?,
        updated_by: sys_uuid(b, row, 6)?.ok_or_else(|| missing("updated_by"))?,
        updated_at: sys_time(b, row, 7)?.ok_or_else(|| missing("updated_at"))?,
        deleted_at: sys_time(b, row, 8)?,
        deleted_by: sys_uuid(b, row, 9)?,
        delete_batch: sys_uuid(b, row, 10)?,
        values,
    })
}

fn time_val(b: Backend, t: &DateTime<Utc>) -> Expr {
    Expr::val(encode(b, ColKind::DateTime, None, &Value::DateTime(*t)))
}

/// Values of one row for insertion, in the column order of `insert_columns`.
fn row_values(n: &Names, obj: &CompiledObject, slots: &[Slot], r: &RecordRow) -> Vec<Expr> {
    let b = n.backend;
    let mut v: Vec<Expr> = vec![
        Expr::val(r.id),
        Expr::val(r.version),
        Expr::val(r.owner),
        Expr::val(r.department),
        Expr::val(r.created_by),
        time_val(b, &r.created_at),
        Expr::val(r.updated_by),
        time_val(b, &r.updated_at),
    ];
    for s in slots {
        let value = r.values.get(&s.field).unwrap_or(&Value::Null);
        let _ = obj;
        v.push(Expr::val(encode(b, s.kind, s.scale, value)));
        if s.currency {
            let code = match value {
                Value::Money { currency, .. } => Some(currency.clone()),
                _ => None,
            };
            v.push(Expr::val(code));
        }
    }
    v
}

pub async fn insert(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    rows: &[RecordRow],
) -> Result<(), DbErr> {
    let slots = layout(obj);
    let mut cols: Vec<Alias> = SYS_COLS[..8].iter().map(|c| Alias::new(*c)).collect();
    for s in &slots {
        cols.push(Alias::new(s.field.clone()));
        if s.currency {
            cols.push(Alias::new(currency_col(&s.field)));
        }
    }
    let per_row = cols.len().max(1);
    let chunk = (30_000 / per_row).clamp(1, 1_000);
    for part in rows.chunks(chunk) {
        let mut q = Query::insert();
        q.into_table(n.table_ref(obj.api_name()))
            .columns(cols.clone());
        for r in part {
            q.values(row_values(n, obj, &slots, r))
                .map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        c.execute(&q).await?;
    }
    Ok(())
}

pub async fn fetch(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    ids: &[Uuid],
    opts: FetchOpts,
    scope: Option<&Pred>,
) -> Result<Vec<RecordRow>, DbErr> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let slots = layout(obj);
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(1_000) {
        let mut q = Query::select();
        select_columns(&mut q, &slots);
        q.from(n.table_ref(obj.api_name()));
        if part.len() == 1 {
            q.and_where(col("id").eq(part[0]));
        } else {
            q.and_where(col("id").is_in(part.iter().copied()));
        }
        deleted_filter(&mut q, opts);
        if let Some(sc) = scope {
            q.cond_where(condition(n, obj, sc));
        }
        if opts.for_update && n.backend == Backend::Postgres {
            q.lock(LockType::Update);
        }
        for row in c.query_all(&q).await? {
            out.push(decode_row(n.backend, &slots, &row)?);
        }
    }
    Ok(out)
}

fn apply_filters(
    q: &mut SelectStatement,
    n: &Names,
    obj: &CompiledObject,
    filter: Option<&Pred>,
    extra: Option<&Pred>,
) {
    if let Some(f) = filter {
        q.cond_where(condition(n, obj, f));
    }
    if let Some(e) = extra {
        q.cond_where(condition(n, obj, e));
    }
}

/// The SELECT of one page of a plan.
pub fn build_query(
    n: &Names,
    obj: &CompiledObject,
    plan: &QueryPlan,
    extra: Option<&Pred>,
    opts: FetchOpts,
) -> SelectStatement {
    let slots = layout(obj);
    let mut q = Query::select();
    select_columns(&mut q, &slots);
    q.from(n.table_ref(obj.api_name()));
    deleted_filter(&mut q, opts);
    apply_filters(&mut q, n, obj, plan.filter.as_ref(), extra);
    // The id breaks ties, in the direction of the last key (descending by default: newest first).
    let id_dir = plan.sort.last().map(|k| k.dir).unwrap_or(Dir::Desc);
    let keys: Vec<_> = plan
        .sort
        .iter()
        .filter(|k| k.col.name != "id")
        .cloned()
        .collect();
    if let Some(cur) = &plan.cursor {
        let vals: Vec<Value> = plan
            .sort
            .iter()
            .zip(&cur.values)
            .filter(|(k, _)| k.col.name != "id")
            .map(|(_, v)| v.clone())
            .collect();
        q.cond_where(after_cursor(n, obj, &keys, &vals, cur.id, id_dir));
    }
    for k in &keys {
        let (order, nulls) = match k.dir {
            Dir::Asc => (Order::Asc, NullOrdering::Last),
            Dir::Desc => (Order::Desc, NullOrdering::First),
        };
        q.order_by_with_nulls(Alias::new(k.col.name.clone()), order, nulls);
    }
    q.order_by(
        Alias::new("id"),
        if id_dir == Dir::Asc {
            Order::Asc
        } else {
            Order::Desc
        },
    );
    q.limit(u64::from(plan.limit));
    q
}

pub async fn query(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    plan: &QueryPlan,
    extra: Option<&Pred>,
    opts: FetchOpts,
) -> Result<Vec<RecordRow>, DbErr> {
    let slots = layout(obj);
    let q = build_query(n, obj, plan, extra, opts);
    let rows = c.query_all(&q).await?;
    rows.iter()
        .map(|r| decode_row(n.backend, &slots, r))
        .collect()
}

pub async fn count(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    filter: Option<&Pred>,
    extra: Option<&Pred>,
    opts: FetchOpts,
) -> Result<i64, DbErr> {
    let mut q = Query::select();
    q.expr(Expr::col(Asterisk).count())
        .from(n.table_ref(obj.api_name()));
    deleted_filter(&mut q, opts);
    apply_filters(&mut q, n, obj, filter, extra);
    let row = c.query_one(&q).await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

pub async fn update(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    id: Uuid,
    expected: i64,
    meta: &UpdateMeta,
    values: &Values,
) -> Result<Option<RecordRow>, DbErr> {
    let b = n.backend;
    let mut q = Query::update();
    q.table(n.table_ref(obj.api_name()));
    q.value(
        Alias::new("version"),
        Expr::col(Alias::new("version")).add(1),
    );
    q.value(Alias::new("updated_by"), Expr::val(meta.updated_by));
    q.value(Alias::new("updated_at"), time_val(b, &meta.updated_at));
    if let Some(o) = meta.owner {
        q.value(Alias::new("owner"), Expr::val(o));
    }
    if let Some(d) = meta.department {
        q.value(Alias::new("department"), Expr::val(d));
    }
    for (name, v) in values {
        let Some(f) = obj.field(name) else { continue };
        if !f.has_column() {
            continue;
        }
        q.value(
            Alias::new(name.clone()),
            Expr::val(encode(b, storage_kind(&f.kind), f.kind.decimal_scale(), v)),
        );
        if matches!(f.kind, FieldKind::Currency { .. }) {
            let code = match v {
                Value::Money { currency, .. } => Some(currency.clone()),
                _ => None,
            };
            q.value(Alias::new(currency_col(name)), Expr::val(code));
        }
    }
    q.and_where(col("id").eq(id))
        .and_where(col("version").eq(expected))
        .and_where(col("deleted_at").is_null());
    let slots = layout(obj);
    let mut ret_cols: Vec<Alias> = SYS_COLS.iter().map(|c| Alias::new(*c)).collect();
    for s in &slots {
        ret_cols.push(Alias::new(s.field.clone()));
        if s.currency {
            ret_cols.push(Alias::new(currency_col(&s.field)));
        }
    }
    q.returning(Query::returning().columns(ret_cols));
    match c.query_one(&q).await? {
        Some(row) => Ok(Some(decode_row(b, &slots, &row)?)),
        None => Ok(None),
    }
}

pub async fn existing_ids(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    let mut out = Vec::new();
    for part in ids.chunks(1_000) {
        let q = Query::select()
            .column(Alias::new("id"))
            .from(n.table_ref(obj.api_name()))
            .and_where(col("id").is_in(part.iter().copied()))
            .and_where(col("deleted_at").is_null())
            .to_owned();
        for r in c.query_all(&q).await? {
            if let Some(u) = sys_uuid(n.backend, &r, 0)? {
                out.push(u);
            }
        }
    }
    Ok(out)
}

pub async fn taken_values(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    field: &str,
    values: &[Value],
    exclude: &[Uuid],
) -> Result<Vec<Value>, DbErr> {
    let Some(f) = obj.any_field(field) else {
        return Ok(vec![]);
    };
    let kind = storage_kind(&f.kind);
    let scale = f.kind.decimal_scale();
    let mut out = Vec::new();
    for part in values.chunks(1_000) {
        let mut q = Query::select();
        q.column(Alias::new(field.to_owned()))
            .from(n.table_ref(obj.api_name()))
            .and_where(
                col(field).is_in(
                    part.iter()
                        .map(|v| Expr::val(encode(n.backend, kind, scale, v))),
                ),
            )
            .and_where(col("deleted_at").is_null());
        if !exclude.is_empty() {
            q.and_where(col("id").is_not_in(exclude.iter().copied()));
        }
        for r in c.query_all(&q).await? {
            let v = decode(n.backend, kind, scale, &r, 0)?;
            // Currency values compare by amount.
            let v = match (&v, part.iter().find(|x| matches!(x, Value::Money { .. }))) {
                (Value::Decimal(d), Some(_)) => part
                    .iter()
                    .find(|x| matches!(x, Value::Money { amount, .. } if amount == d))
                    .cloned()
                    .unwrap_or(v),
                _ => v,
            };
            out.push(v);
        }
    }
    Ok(out)
}

pub async fn referencing(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    field: &str,
    targets: &[Uuid],
    opts: FetchOpts,
) -> Result<Vec<Uuid>, DbErr> {
    let mut out = Vec::new();
    for part in targets.chunks(1_000) {
        let mut q = Query::select();
        q.column(Alias::new("id"))
            .from(n.table_ref(obj.api_name()))
            .and_where(col(field).is_in(part.iter().copied()));
        deleted_filter(&mut q, opts);
        for r in c.query_all(&q).await? {
            if let Some(u) = sys_uuid(n.backend, &r, 0)? {
                out.push(u);
            }
        }
    }
    Ok(out)
}

pub async fn set_null(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    field: &str,
    ids: &[Uuid],
    meta: &UpdateMeta,
) -> Result<(), DbErr> {
    for part in ids.chunks(1_000) {
        let q = Query::update()
            .table(n.table_ref(obj.api_name()))
            .value(Alias::new(field.to_owned()), Expr::val(None::<Uuid>))
            .value(
                Alias::new("version"),
                Expr::col(Alias::new("version")).add(1),
            )
            .value(Alias::new("updated_by"), Expr::val(meta.updated_by))
            .value(
                Alias::new("updated_at"),
                time_val(n.backend, &meta.updated_at),
            )
            .and_where(col("id").is_in(part.iter().copied()))
            .to_owned();
        c.execute(&q).await?;
    }
    Ok(())
}

pub async fn soft_delete(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    ids: &[Uuid],
    batch: Uuid,
    actor: Uuid,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut total = 0;
    for part in ids.chunks(1_000) {
        let q = Query::update()
            .table(n.table_ref(obj.api_name()))
            .value(Alias::new("deleted_at"), time_val(n.backend, &at))
            .value(Alias::new("deleted_by"), Expr::val(actor))
            .value(Alias::new("delete_batch"), Expr::val(batch))
            .value(
                Alias::new("version"),
                Expr::col(Alias::new("version")).add(1),
            )
            .and_where(col("id").is_in(part.iter().copied()))
            .and_where(col("deleted_at").is_null())
            .to_owned();
        total += c.execute(&q).await?.rows_affected();
    }
    Ok(total)
}

pub async fn restore(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    ids: &[Uuid],
    actor: Uuid,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut total = 0;
    for part in ids.chunks(1_000) {
        let q = Query::update()
            .table(n.table_ref(obj.api_name()))
            .value(
                Alias::new("deleted_at"),
                Expr::val(encode(n.backend, ColKind::DateTime, None, &Value::Null)),
            )
            .value(Alias::new("deleted_by"), Expr::val(None::<Uuid>))
            .value(Alias::new("delete_batch"), Expr::val(None::<Uuid>))
            .value(
                Alias::new("version"),
                Expr::col(Alias::new("version")).add(1),
            )
            .value(Alias::new("updated_by"), Expr::val(actor))
            .value(Alias::new("updated_at"), time_val(n.backend, &at))
            .and_where(col("id").is_in(part.iter().copied()))
            .and_where(col("deleted_at").is_not_null())
            .to_owned();
        total += c.execute(&q).await?.rows_affected();
    }
    Ok(total)
}

pub async fn purge(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    ids: &[Uuid],
) -> Result<u64, DbErr> {
    let mut total = 0;
    for part in ids.chunks(1_000) {
        let q = Query::delete()
            .from_table(n.table_ref(obj.api_name()))
            .and_where(col("id").is_in(part.iter().copied()))
            .and_where(col("deleted_at").is_not_null())
            .to_owned();
        total += c.execute(&q).await?.rows_affected();
    }
    Ok(total)
}

pub async fn batch_members(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    batch: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let q = Query::select()
        .column(Alias::new("id"))
        .from(n.table_ref(obj.api_name()))
        .and_where(col("delete_batch").eq(batch))
        .and_where(col("deleted_at").is_not_null())
        .to_owned();
    let mut out = Vec::new();
    for r in c.query_all(&q).await? {
        if let Some(u) = sys_uuid(n.backend, &r, 0)? {
            out.push(u);
        }
    }
    Ok(out)
}

pub async fn set_links(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    field: &str,
    id: Uuid,
    targets: &[Uuid],
) -> Result<(), DbErr> {
    let j = n.junction_ref(obj.api_name(), field);
    let del = Query::delete()
        .from_table(j.clone())
        .and_where(col("source").eq(id))
        .to_owned();
    c.execute(&del).await?;
    for part in targets.chunks(1_000) {
        let mut q = Query::insert();
        q.into_table(j.clone())
            .columns([Alias::new("source"), Alias::new("target")])
            .on_conflict(
                OnConflict::columns([Alias::new("source"), Alias::new("target")])
                    .do_nothing()
                    .to_owned(),
            );
        for t in part {
            q.values([Expr::val(id), Expr::val(*t)])
                .map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        c.execute(&q).await?;
    }
    Ok(())
}

pub async fn load_links(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    field: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>, DbErr> {
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for part in ids.chunks(1_000) {
        let q = Query::select()
            .columns([Alias::new("source"), Alias::new("target")])
            .from(n.junction_ref(obj.api_name(), field))
            .and_where(col("source").is_in(part.iter().copied()))
            .order_by(Alias::new("target"), Order::Asc)
            .to_owned();
        for r in c.query_all(&q).await? {
            if let (Some(s), Some(t)) = (sys_uuid(n.backend, &r, 0)?, sys_uuid(n.backend, &r, 1)?) {
                out.entry(s).or_default().push(t);
            }
        }
    }
    Ok(out)
}

/// One page of a column in id order, for type-change jobs and dry runs.
pub async fn scan_column(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    field: &str,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<(Uuid, Value)>, DbErr> {
    let Some(f) = obj.any_field(field) else {
        return Ok(vec![]);
    };
    let kind = storage_kind(&f.kind);
    let currency = matches!(f.kind, FieldKind::Currency { .. });
    let mut q = Query::select();
    q.column(Alias::new("id"))
        .column(Alias::new(field.to_owned()));
    if currency {
        q.column(Alias::new(currency_col(field)));
    }
    q.from(n.table_ref(obj.api_name()));
    if let Some(a) = after {
        q.and_where(col("id").gt(a));
    }
    q.order_by(Alias::new("id"), Order::Asc)
        .limit(u64::from(limit));
    let mut out = Vec::new();
    for r in c.query_all(&q).await? {
        let Some(id) = sys_uuid(n.backend, &r, 0)? else {
            continue;
        };
        let mut v = decode(n.backend, kind, f.kind.decimal_scale(), &r, 1)?;
        if currency && let Value::Decimal(amount) = v {
            let code = r
                .try_get_by_index::<Option<String>>(2)?
                .unwrap_or_else(|| "CNY".into());
            v = Value::Money {
                amount,
                currency: code,
            };
        }
        out.push((id, v));
    }
    Ok(out)
}

pub async fn write_shadow(
    c: &impl ConnectionTrait,
    n: &Names,
    obj: &CompiledObject,
    new: &weft_meta::FieldDef,
    rows: &[(Uuid, Value)],
) -> Result<(), DbErr> {
    let shadow = crate::names::shadow_col(new.name());
    let kind = storage_kind(&new.kind);
    for (id, v) in rows {
        let mut q = Query::update();
        q.table(n.table_ref(obj.api_name())).value(
            Alias::new(shadow.clone()),
            Expr::val(encode(n.backend, kind, new.kind.decimal_scale(), v)),
        );
        if matches!(new.kind, FieldKind::Currency { .. }) {
            let code = match v {
                Value::Money { currency, .. } => Some(currency.clone()),
                _ => None,
            };
            q.value(Alias::new(currency_col(&shadow)), Expr::val(code));
        }
        q.and_where(col("id").eq(*id));
        c.execute(&q).await?;
    }
    Ok(())
}
