//! Reading one record: get with lookup expansion, and its change history.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};
use uuid::Uuid;
use weft_meta::{CompiledObject, Value};

use super::path::load_one;
use super::{ChangeView, Fetched, History, Records};
use crate::access::guard_for;
use crate::access::model::Op;
use crate::core::TxCtx;
use crate::error::Result;
use crate::json::record_json;
use crate::ports::{FetchOpts, RecordRow, TxMode};
use crate::principal::Principal;

pub(super) async fn get(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
    expand: &[String],
) -> Result<Fetched> {
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Read, object)?;
    let expand: Vec<String> = expand.iter().filter(|f| g.can_see(f)).cloned().collect();
    let mut cx = r.core.begin(p.tenant, TxMode::Read).await?;
    let row = load_one(cx.tx(), &obj, id, FetchOpts::default(), g.scope()).await?;
    let mut out = vec![record_json(&obj, &row, None, &|f| g.can_see(f))];
    if !expand.is_empty() {
        expand_lookups(
            &mut cx,
            p,
            &obj,
            std::slice::from_ref(&row),
            &expand,
            &mut out,
        )
        .await?;
    }
    cx.commit().await?;
    Ok(Fetched {
        version: row.version,
        record: out.pop().unwrap_or(Json::Null),
    })
}

/// Embed the target records of lookup fields under `_expand`. The target's own rights apply:
/// out-of-scope targets are not embedded.
pub(super) async fn expand_lookups(
    cx: &mut TxCtx,
    p: &Principal,
    obj: &CompiledObject,
    rows: &[RecordRow],
    fields: &[String],
    out: &mut [Json],
) -> Result<()> {
    for name in fields {
        let Some(target) = obj.field(name).and_then(|f| f.kind.reference_target()) else {
            continue;
        };
        let Some(tobj) = cx.meta.object(target.as_str()).cloned() else {
            continue;
        };
        let ids: Vec<Uuid> = rows
            .iter()
            .filter_map(|r| match r.values.get(name) {
                Some(Value::Uuid(u)) => Some(*u),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            continue;
        }
        let tg = guard_for(&cx.org, p, target.as_str());
        if !tg.allows(Op::Read) {
            continue;
        }
        let targets: HashMap<Uuid, Json> = cx
            .fetch_scoped(&tobj, &ids, FetchOpts::default(), tg.scope())
            .await?
            .iter()
            .map(|t| (t.id, record_json(&tobj, t, None, &|f| tg.can_see(f))))
            .collect();
        for (row, j) in rows.iter().zip(out.iter_mut()) {
            let Some(Value::Uuid(u)) = row.values.get(name) else {
                continue;
            };
            if let (Some(t), Some(m)) = (targets.get(u), j.as_object_mut()) {
                let e = m
                    .entry("_expand")
                    .or_insert_with(|| Json::Object(Map::new()));
                if let Some(em) = e.as_object_mut() {
                    em.insert(name.clone(), t.clone());
                }
            }
        }
    }
    Ok(())
}

pub(super) async fn history(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
    limit: u32,
) -> Result<History> {
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Read, object)?;
    let mut cx = r.core.begin(p.tenant, TxMode::Read).await?;
    let opts = FetchOpts {
        include_deleted: true,
        ..Default::default()
    };
    load_one(cx.tx(), &obj, id, opts, g.scope()).await?;
    let entries = cx.history(object, id, limit.clamp(1, 500)).await?;
    cx.commit().await?;
    let changes = entries
        .into_iter()
        .map(|e| {
            // Hidden fields leave no trace in the history either.
            let mut diff = e.diff;
            if let Some(m) = diff.as_object_mut() {
                m.retain(|k, _| {
                    obj.field(k).is_none_or(|_| g.can_see(k))
                        && (obj.field(k).is_some() || !k.starts_with('_') || k == "_reason")
                });
            }
            ChangeView {
                id: e.id,
                op: e.op,
                actor: e.actor,
                source: e.source,
                at: weft_meta::value::datetime_string(&e.at),
                version: e.version,
                changes: diff,
            }
        })
        .collect();
    Ok(History { changes })
}
