//! Roll-up fields: count/sum/min/max/avg of child records through a lookup, recomputed
//! exactly in the write transaction of the child (create, update, re-parent, delete,
//! restore). Each affected parent is recomputed once per write, from its live children.

use std::collections::BTreeSet;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_meta::{CompiledObject, FieldKind, Value, Values};
use weft_rules::Sandbox;

use super::AfterSave;
use super::before::to_value;
use super::doc::{Compiled, CompiledRule, RollupDoc, RollupOp};
use super::engine::{Input, row_map};
use crate::Runtime;
use crate::cache::TenantMeta;
use crate::error::{Error, Result};
use crate::ports::{ChangeEntry, FetchOpts, RecordRow, Tx, UpdateMeta};
use crate::principal::Principal;

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

impl Runtime {
    pub(crate) async fn apply_rollups(
        &self,
        tx: &mut dyn Tx,
        meta: &TenantMeta,
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
                self.recompute_rollup(tx, meta, p, child, r, doc, filter.as_ref(), parent)
                    .await?;
            }
        }
        Ok(())
    }

    /// Recompute one parent's roll-up from its live children and store it if it changed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn recompute_rollup(
        &self,
        tx: &mut dyn Tx,
        meta: &TenantMeta,
        p: &Principal,
        child: &CompiledObject,
        rule: &CompiledRule,
        doc: &RollupDoc,
        filter: Option<&weft_rules::CompiledScript>,
        parent: Uuid,
    ) -> Result<()> {
        let pobj = meta
            .object(&rule.doc.object)
            .cloned()
            .ok_or_else(|| Error::not_found("roll-up parent object"))?;
        let (Some(via), Some(target)) = (child.field(&doc.via), pobj.field(&doc.field)) else {
            return Ok(());
        };
        let ids = tx
            .referencing(child, via, &[parent], FetchOpts::default())
            .await?;
        let kids = if ids.is_empty() {
            vec![]
        } else {
            tx.fetch_records(child, &ids, FetchOpts::default()).await?
        };
        let now = self.clock.now();
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
                    now,
                    tz: meta.tz,
                };
                match Sandbox::shared().eval_bool(f, &input.ctx()) {
                    Ok(true) => {}
                    Ok(false) => continue,
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
        let value = if j.is_null() {
            Value::Null
        } else {
            to_value(&pobj, &doc.field, j).map_err(Error::internal)?
        };
        let Some(cur) = tx
            .fetch_records(
                &pobj,
                &[parent],
                FetchOpts {
                    for_update: true,
                    ..Default::default()
                },
            )
            .await?
            .pop()
        else {
            return Ok(());
        };
        let before = cur.values.get(&doc.field).cloned().unwrap_or(Value::Null);
        if before == value {
            return Ok(());
        }
        let mut values = Values::new();
        values.insert(doc.field.clone(), value.clone());
        let um = UpdateMeta {
            updated_by: p.user.0,
            updated_at: now,
            owner: None,
            department: None,
        };
        let Some(saved) = tx
            .update_record(&pobj, parent, cur.version, &um, &values)
            .await?
        else {
            return Err(Error::conflict(
                "concurrent_update",
                "the parent record changed during the write; retry",
            ));
        };
        let bj = crate::json::value_json(&pobj, &doc.field, &before);
        let aj = crate::json::value_json(&pobj, &doc.field, &value);
        tx.append_changes(&[ChangeEntry {
            id: Uuid::now_v7(),
            object: pobj.api_name().to_owned(),
            record_id: parent,
            op: "update".into(),
            actor: p.user.0,
            source: "rule".into(),
            at: now,
            version: saved.version,
            diff: json!({ doc.field.clone(): [bj, aj] }),
        }])
        .await?;
        Ok(())
    }
}
