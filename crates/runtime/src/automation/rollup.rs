//! Roll-up fields: count/sum/min/max/avg of child records through a lookup, recomputed
//! exactly in the write transaction of the child (create, update, re-parent, delete,
//! restore). Each affected parent is recomputed once per write, from its live children.

use std::collections::BTreeSet;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_meta::{CompiledObject, FieldKind, Value};
use weft_rules::Sandbox;

use super::before::to_value;
use super::doc::{Compiled, CompiledRule, RollupDoc, RollupOp};
use super::engine::{Input, row_map};
use crate::core::TxCtx;
use crate::error::{Error, Result};
use crate::ports::{FetchOpts, RecordRow};
use crate::principal::{Principal, Source};
use crate::records::path::load_multi_links;
use crate::records::{AfterSave, Change, WritePath};

fn number(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Decimal(d) => Some(*d),
        Value::Money { amount, .. } => Some(*amount),
        _ => None,
    }
}

fn parent_of(row: Option<&RecordRow>, via: &str) -> Option<Uuid> {
    match row?.values.get(via) {
        Some(Value::Uuid(u)) => Some(*u),
        _ => None,
    }
}

/// The aggregate as the JSON a parent field accepts.
fn aggregate(op: RollupOp, nums: &[Decimal], count: usize, target: &FieldKind) -> Json {
    let d = match op {
        RollupOp::Count => Some(Decimal::from(count as i64)),
        RollupOp::Sum => Some(nums.iter().copied().sum()),
        RollupOp::Min => nums.iter().copied().min(),
        RollupOp::Max => nums.iter().copied().max(),
        RollupOp::Avg => (!nums.is_empty())
            .then(|| nums.iter().copied().sum::<Decimal>() / Decimal::from(nums.len() as i64)),
    };
    let Some(d) = d else { return Json::Null };
    match target {
        FieldKind::Integer { .. } => json!(d.trunc().to_string().parse::<i64>().unwrap_or(0)),
        other => {
            let scale = other.decimal_scale().unwrap_or(2);
            Json::String(d.round_dp(scale).normalize().to_string())
        }
    }
}

/// How deep roll-ups of roll-ups may go in one write (a parent's roll-up change that changes
/// its own parent's roll-up …); deeper means the lookups form a loop.
const MAX_ROLLUP_DEPTH: u8 = 16;

/// Roll-up writes in progress in this transaction (a note on the transaction).
#[derive(Default)]
struct RollupDepth(u8);

/// Recompute the roll-ups whose children changed in `rows`.
pub(crate) async fn apply_rollups(
    path: &WritePath,
    cx: &mut TxCtx,
    p: &Principal,
    child: &CompiledObject,
    rules: &[Arc<CompiledRule>],
    rows: &[AfterSave<'_>],
) -> Result<()> {
    for r in rules {
        let Compiled::Rollup { doc, filter } = &r.compiled else {
            continue;
        };
        let mut watched: BTreeSet<&str> = BTreeSet::new();
        watched.insert(doc.via.as_str());
        if let Some(of) = &doc.of {
            watched.insert(of.as_str());
        }
        if let Some(f) = filter {
            watched.extend(f.referenced_fields().record_fields());
        }
        let mut parents = BTreeSet::new();
        for row in rows {
            if let (Some(o), Some(n)) = (row.old, row.new) {
                let touched = watched.iter().any(|f| o.values.get(*f) != n.values.get(*f));
                if !touched {
                    continue;
                }
            }
            parents.extend(parent_of(row.old, &doc.via));
            parents.extend(parent_of(row.new, &doc.via));
        }
        for parent in parents {
            recompute_rollup(path, cx, p, child, r, doc, filter.as_ref(), parent).await?;
        }
    }
    Ok(())
}

/// The aggregate of one parent's live children, as the parent field's value.
async fn aggregate_children(
    cx: &mut TxCtx,
    child: &CompiledObject,
    pobj: &CompiledObject,
    rule: &CompiledRule,
    doc: &RollupDoc,
    filter: Option<&weft_rules::CompiledScript>,
    parent: Uuid,
) -> Result<Option<Value>> {
    let (Some(via), Some(target)) = (child.field(&doc.via), pobj.field(&doc.field)) else {
        return Ok(None);
    };
    let ids = cx
        .referencing(child, via, &[parent], FetchOpts::default())
        .await?;
    let kids = if ids.is_empty() {
        vec![]
    } else {
        cx.fetch_records(child, &ids, FetchOpts::default()).await?
    };
    let reads: Option<Vec<String>> = filter.map(|f| {
        f.referenced_fields()
            .record_fields()
            .into_iter()
            .map(str::to_owned)
            .collect()
    });
    let mut nums = Vec::new();
    let mut count = 0usize;
    for k in kids.iter().filter(|k| k.deleted_at.is_none()) {
        if let Some(f) = filter {
            let input = Input {
                record: row_map(child, k, reads.as_deref()),
                old: None,
                user: Default::default(),
                now: cx.now,
                tz: cx.meta.tz,
            };
            match Sandbox::shared().eval_bool_in(f, &input.ctx(), &cx.budget) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) if e.is_budget() => {
                    return Err(super::AutomationError::CpuBudget {
                        rule: rule.doc.api_name.clone(),
                        at: String::new(),
                    }
                    .into());
                }
                Err(e) => {
                    return Err(Error::one(
                        "",
                        "rule_failed",
                        format!("roll-up '{}' filter could not run: {e}", rule.doc.api_name),
                    ));
                }
            }
        }
        count += 1;
        if let Some(n) = doc.of.as_deref().and_then(|of| number(k.values.get(of))) {
            nums.push(n);
        }
    }
    let j = aggregate(doc.op, &nums, count, &target.kind);
    if j.is_null() {
        return Ok(Some(Value::Null));
    }
    to_value(pobj, &doc.field, j)
        .map(Some)
        .map_err(Error::internal)
}

/// Recompute one parent's roll-up from its live children and, when it changed, write it
/// through the single write path: the parent's formulas, validations, triggers and its own
/// roll-ups run as for any other write (source `rule`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn recompute_rollup(
    path: &WritePath,
    cx: &mut TxCtx,
    p: &Principal,
    child: &CompiledObject,
    rule: &CompiledRule,
    doc: &RollupDoc,
    filter: Option<&weft_rules::CompiledScript>,
    parent: Uuid,
) -> Result<()> {
    let pobj = cx.object(&rule.doc.object)?;
    let Some(value) = aggregate_children(cx, child, &pobj, rule, doc, filter, parent).await? else {
        return Ok(());
    };
    let opts = FetchOpts {
        for_update: true,
        ..Default::default()
    };
    let Some(cur) = cx.fetch_records(&pobj, &[parent], opts).await?.pop() else {
        return Ok(());
    };
    if cur.values.get(&doc.field).unwrap_or(&Value::Null) == &value {
        return Ok(());
    }
    let mut cur = vec![cur];
    load_multi_links(cx.tx(), &pobj, &mut cur).await?;
    let Some(cur) = cur.pop() else {
        return Ok(());
    };
    if cx.notes.get_mut::<RollupDepth>().0 >= MAX_ROLLUP_DEPTH {
        return Err(Error::one(
            "",
            "rollup_too_deep",
            format!(
                "roll-ups of roll-ups nest more than {MAX_ROLLUP_DEPTH} levels (do the lookups form a loop?) at '{}'",
                rule.doc.api_name
            ),
        ));
    }
    let mut sys = p.clone();
    sys.source = Source::Rule;
    let mut change = Change::default();
    change.values.insert(doc.field.clone(), value);
    change.derived = true;
    cx.notes.get_mut::<RollupDepth>().0 += 1;
    let out = path
        .update_values(cx, &sys, &pobj, cur, change, vec![])
        .await;
    cx.notes.get_mut::<RollupDepth>().0 -= 1;
    match out? {
        Ok(_) => Ok(()),
        Err(problems) => Err(Error::Validation(
            problems
                .into_iter()
                .map(|mut x| {
                    x.message = format!(
                        "the roll-up '{}' made the {} record invalid: {}",
                        rule.doc.api_name,
                        pobj.api_name(),
                        x.message
                    );
                    x
                })
                .collect(),
        )),
    }
}
