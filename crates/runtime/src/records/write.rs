//! Creates and updates, one or in bulk: rights, the transaction, idempotent replays, and the
//! typed outcome. The row work itself is the write path's ([`super::path`]).

use std::collections::HashMap;

use serde_json::Value as Json;
use uuid::Uuid;
use weft_meta::Problem;

use super::path::{Prepared, load_multi_links, load_one};
use super::{BulkItem, BulkOutcome, Created, Idempotency, RecordError, Records};
use crate::access::model::Op;
use crate::core::TxCtx;
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::ports::{Backend, FetchOpts, IdempotencyRow, RecordRow, TxMode};
use crate::principal::Principal;

fn check_bulk_size(n: usize, max: usize) -> Result<()> {
    if n == 0 || n > max {
        return Err(Error::one(
            "/records",
            "max_items",
            format!("send 1 to {max} records per call"),
        ));
    }
    Ok(())
}

/// Open the write transaction of a create and prepare its rows in it.
///
/// On SQLite one connection writes for every tenant, so whatever runs while it is held stalls
/// all of them. The rules (the before-save hooks: defaults, formulas, validations — the costly,
/// tenant-supplied part) therefore run first on a read snapshot, with the write's budget; a
/// write they refuse (`422`, `limit.cpu`) never takes the writer. The writer then re-checks
/// references, uniqueness and ids, draws auto numbers and stores. If the tenant's metadata
/// changed in between, the rows are prepared again under the writer. PostgreSQL locks rows,
/// not the database: there everything runs in the one write transaction.
async fn begin_creates(
    r: &Records,
    p: &Principal,
    g: &crate::access::Guard,
    obj: &weft_meta::CompiledObject,
    bodies: &[&Json],
    bulk: bool,
) -> Result<(TxCtx, Vec<Prepared>)> {
    if r.core.store().backend() != Backend::Sqlite {
        let mut cx = r.core.begin(p.tenant, TxMode::Write).await?;
        let prepared = r
            .path
            .prepare_creates(&mut cx, p, g, obj, bodies, bulk)
            .await?;
        return Ok((cx, prepared));
    }
    let mut rcx = r.core.begin(p.tenant, TxMode::Read).await?;
    let staged = r
        .path
        .stage_creates(&mut rcx, p, g, obj, bodies, bulk)
        .await?;
    let (budget, version, now) = (rcx.budget.clone(), rcx.meta.version, rcx.now);
    let notes = std::mem::take(&mut rcx.notes);
    rcx.commit().await?;
    let mut cx = r.core.begin(p.tenant, TxMode::Write).await?;
    let prepared = if cx.meta.version == version {
        // One write, one budget and one time, whichever transaction the rules ran in.
        cx.budget = budget;
        cx.now = now;
        cx.notes = notes;
        r.path.finish_creates(&mut cx, p, obj, staged, bulk).await?
    } else {
        r.path
            .prepare_creates(&mut cx, p, g, obj, bodies, bulk)
            .await?
    };
    Ok((cx, prepared))
}

pub(super) async fn create(
    r: &Records,
    p: &Principal,
    object: &str,
    body: &Json,
    idem: Option<&Idempotency>,
) -> Result<Created> {
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Create, object)?;
    // A replay answers what the first request got, without running the rules again; it is
    // looked for again under the writer (a concurrent first request may have committed).
    if r.core.store().backend() == Backend::Sqlite
        && let Some(i) = idem
    {
        let mut rcx = r.core.begin(p.tenant, TxMode::Read).await?;
        let prev = rcx.idempotency_get(&i.key).await?;
        rcx.commit().await?;
        if let Some(prev) = prev {
            return replay(prev, i);
        }
    }
    let (mut cx, mut rows) = begin_creates(r, p, &g, &obj, &[body], false).await?;
    if let Some(i) = idem
        && let Some(prev) = cx.idempotency_get(&i.key).await?
    {
        return replay(prev, i);
    }
    let row = match rows.pop() {
        Some(Ok(row)) => row,
        Some(Err(ps)) => return Err(Error::Validation(ps)),
        None => return Err(Error::internal("no row prepared")),
    };
    r.path
        .persist_creates(&mut cx, p, &obj, std::slice::from_ref(&row))
        .await?;
    let out = record_json(&obj, &row, None, &|f| g.can_see(f));
    if let Some(i) = idem {
        let stored = IdempotencyRow {
            key: i.key.clone(),
            fingerprint: i.fingerprint.clone(),
            status: 201,
            body: out.clone(),
            created_at: cx.now,
        };
        cx.idempotency_put(&stored).await?;
    }
    r.path.commit(cx).await?;
    Ok(Created {
        status: 201,
        record: out,
    })
}

/// The answer to a replayed create: what the first request got, or `409` when the key was
/// used for another body.
fn replay(prev: IdempotencyRow, i: &Idempotency) -> Result<Created> {
    if prev.fingerprint != i.fingerprint {
        return Err(RecordError::IdempotencyKeyReused.into());
    }
    Ok(Created {
        status: u16::try_from(prev.status).unwrap_or(201),
        record: prev.body,
    })
}

pub(super) async fn create_many(
    r: &Records,
    p: &Principal,
    object: &str,
    bodies: &[Json],
    all_or_none: bool,
) -> Result<BulkOutcome> {
    check_bulk_size(bodies.len(), r.core.config.bulk_max)?;
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Create, object)?;
    let refs: Vec<&Json> = bodies.iter().collect();
    let (mut cx, prepared) = begin_creates(r, p, &g, &obj, &refs, true).await?;
    let failed: Vec<Problem> = prepared
        .iter()
        .filter_map(|x| x.as_ref().err())
        .flatten()
        .cloned()
        .collect();
    if all_or_none && !failed.is_empty() {
        return Err(Error::Validation(failed));
    }
    let ok_rows: Vec<RecordRow> = prepared
        .iter()
        .filter_map(|x| x.as_ref().ok().cloned())
        .collect();
    if !ok_rows.is_empty() {
        r.path.persist_creates(&mut cx, p, &obj, &ok_rows).await?;
    }
    r.path.commit(cx).await?;
    Ok(outcome(prepared, |row| {
        record_json(&obj, row, None, &|f| g.can_see(f))
    }))
}

/// Per-record results in request order.
fn outcome(results: Vec<Prepared>, json: impl Fn(&RecordRow) -> Json) -> BulkOutcome {
    let mut out = BulkOutcome {
        results: Vec::with_capacity(results.len()),
        succeeded: 0,
        failed: 0,
    };
    for r in results {
        match r {
            Ok(row) => {
                out.succeeded += 1;
                out.results.push(BulkItem::ok(json(&row)));
            }
            Err(ps) => {
                out.failed += 1;
                out.results.push(BulkItem::failed(ps));
            }
        }
    }
    out
}

pub(super) async fn update(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
    body: &Json,
    if_match: Option<i64>,
) -> Result<Json> {
    if if_match.is_none() && r.core.config.require_if_match {
        return Err(Error::PreconditionRequired);
    }
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Update, object)?;
    let mut cx = r.core.begin(p.tenant, TxMode::Write).await?;
    let opts = FetchOpts {
        for_update: true,
        ..Default::default()
    };
    let current = load_one(cx.tx(), &obj, id, opts, g.scope()).await?;
    if let Some(v) = if_match
        && v != current.version
    {
        return Err(Error::PreconditionFailed {
            expected: v,
            current: current.version,
        });
    }
    let row = match r
        .path
        .patch(&mut cx, p, &g, &obj, current, body, None)
        .await?
    {
        Ok(row) => row,
        Err(ps) => return Err(Error::Validation(ps)),
    };
    r.path.commit(cx).await?;
    Ok(record_json(&obj, &row, None, &|f| g.can_see(f)))
}

/// Each body's id, or the problem of a body without one.
fn body_ids(bodies: &[Json]) -> Vec<Option<Uuid>> {
    bodies
        .iter()
        .map(|b| {
            b.get("id")
                .and_then(Json::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
        })
        .collect()
}

pub(super) async fn update_many(
    r: &Records,
    p: &Principal,
    object: &str,
    bodies: &[Json],
    all_or_none: bool,
) -> Result<BulkOutcome> {
    check_bulk_size(bodies.len(), r.core.config.bulk_max)?;
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Update, object)?;
    let mut cx = r.core.begin(p.tenant, TxMode::Write).await?;
    let ids = body_ids(bodies);
    let wanted: Vec<Uuid> = ids.iter().flatten().copied().collect();
    let opts = FetchOpts {
        for_update: true,
        ..Default::default()
    };
    let mut rows = cx.fetch_scoped(&obj, &wanted, opts, g.scope()).await?;
    load_multi_links(cx.tx(), &obj, &mut rows).await?;
    let mut found: HashMap<Uuid, RecordRow> = rows.into_iter().map(|x| (x.id, x)).collect();
    let mut results: Vec<Prepared> = Vec::with_capacity(bodies.len());
    for (i, b) in bodies.iter().enumerate() {
        let Some(id) = ids[i] else {
            results.push(Err(vec![Problem::new(
                format!("/records/{i}/id"),
                "required",
                "each record needs its id",
            )]));
            continue;
        };
        let Some(current) = found.remove(&id) else {
            results.push(Err(vec![Problem::new(
                format!("/records/{i}/id"),
                "not_found",
                "no such record",
            )]));
            continue;
        };
        if let Some(v) = b.get("version").and_then(Json::as_i64)
            && v != current.version
        {
            results.push(Err(vec![Problem::new(
                format!("/records/{i}/version"),
                "stale",
                format!("the record is at version {}", current.version),
            )]));
            continue;
        }
        let mut body = b.clone();
        if let Some(m) = body.as_object_mut() {
            m.remove("id");
            m.remove("version");
        }
        let res = r
            .path
            .patch(&mut cx, p, &g, &obj, current, &body, Some(i))
            .await?;
        results.push(res);
    }
    let problems: Vec<Problem> = results
        .iter()
        .filter_map(|x| x.as_ref().err())
        .flatten()
        .cloned()
        .collect();
    if all_or_none && !problems.is_empty() {
        return Err(Error::Validation(problems));
    }
    r.path.commit(cx).await?;
    Ok(outcome(results, |row| {
        record_json(&obj, row, None, &|f| g.can_see(f))
    }))
}
