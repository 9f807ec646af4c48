//! After-save triggers: matched in the write transaction and queued in the outbox of the
//! same transaction, so a write and the work it triggers commit (or roll back) together.

use serde_json::Value as Json;
use weft_meta::{CompiledObject, Value};
use weft_rules::Sandbox;

use super::doc::{Compiled, CompiledRule, Event, TriggerDoc};
use super::engine::user_map;
use super::engine::{Input, ObjectRules, row_map};
use super::ports::{OutboxPayload, OutboxRow, RunInput, RunStatus};
use super::{AfterSave, AutomationError, MAX_CASCADE_DEPTH, WriteOp};
use crate::core::TxCtx;
use crate::error::Result;
use crate::json::value_json;
use crate::ports::RecordRow;
use crate::principal::Principal;
use tokio::sync::Notify;

pub(crate) const DEFAULT_ATTEMPTS: i32 = 5;

fn matches_side(pattern: &Json, v: &Json) -> bool {
    match pattern {
        Json::String(s) if s == "*" => true,
        Json::Array(a) => a.iter().any(|x| x == v),
        other => other == v,
    }
}

fn field_json(obj: &CompiledObject, row: Option<&RecordRow>, f: &str) -> Json {
    row.and_then(|r| r.values.get(f))
        .map(|v| value_json(obj, f, v))
        .unwrap_or(Json::Null)
}

/// Whether a trigger's event, watched fields and transition match this write.
pub(crate) fn event_matches(
    t: &TriggerDoc,
    obj: &CompiledObject,
    event: Event,
    old: Option<&RecordRow>,
    new: Option<&RecordRow>,
) -> bool {
    if !t.on.contains(&event) {
        return false;
    }
    if event == Event::Update && !t.fields.is_empty() {
        let changed = t.fields.iter().any(|f| {
            old.and_then(|o| o.values.get(f)).unwrap_or(&Value::Null)
                != new.and_then(|n| n.values.get(f)).unwrap_or(&Value::Null)
        });
        if !changed {
            return false;
        }
    }
    if let Some(tr) = &t.transition {
        let before = field_json(obj, old, &tr.field);
        let after = field_json(obj, new, &tr.field);
        if before == after || !matches_side(&tr.from, &before) || !matches_side(&tr.to, &after) {
            return false;
        }
    }
    true
}

/// Match the object's triggers against saved rows and queue their runs in the outbox of the
/// write's own transaction.
pub(crate) async fn enqueue_triggers(
    cx: &mut TxCtx,
    signal: &Notify,
    p: &Principal,
    obj: &CompiledObject,
    o: &ObjectRules,
    rows: &[AfterSave<'_>],
) -> Result<()> {
    let now = cx.now;
    let sandbox = Sandbox::shared();
    let mut runs = Vec::new();
    let mut user = None;
    for row in rows {
        let event = match row.op {
            WriteOp::Create | WriteOp::Restore => Event::Create,
            WriteOp::Update => Event::Update,
            WriteOp::Delete => Event::Delete,
        };
        // On delete the rule sees the record as it was.
        let (cur, old) = match event {
            Event::Delete => (row.old, None),
            _ => (row.new, row.old),
        };
        let Some(cur) = cur else { continue };
        for r in &o.triggers {
            let Compiled::Trigger { doc, condition, .. } = &r.compiled else {
                continue;
            };
            if !event_matches(doc, obj, event, row.old, row.new) {
                continue;
            }
            let mut status = RunStatus::Queued;
            let mut error = None;
            if let Some(cond) = condition {
                if user.is_none() {
                    user = Some(user_map(&cx.org, p));
                }
                let input = Input {
                    record: row_map(obj, cur, None),
                    old: old.map(|o| row_map(obj, o, None)),
                    user: user.clone().unwrap_or_default(),
                    now,
                    tz: cx.meta.tz,
                };
                match sandbox.eval_bool_in(cond, &input.ctx(), &cx.budget) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    // The write's shared budget is spent: the write fails as a whole.
                    Err(e) if e.is_budget() => {
                        return Err(AutomationError::CpuBudget {
                            rule: r.doc.api_name.clone(),
                            at: String::new(),
                        }
                        .into());
                    }
                    Err(e) => {
                        status = RunStatus::Failed;
                        error = Some(format!("the condition could not run: {e}"));
                    }
                }
            }
            if p.cascade_depth >= MAX_CASCADE_DEPTH && status == RunStatus::Queued {
                status = RunStatus::Skipped;
                error = Some(format!(
                    "cascade depth limit ({MAX_CASCADE_DEPTH}) reached: rules kept triggering each other"
                ));
            }
            runs.push(run_row(
                now, p, obj, r, doc, event, cur, old, status, error, None,
            ));
        }
    }
    if !runs.is_empty() {
        cx.enqueue_runs(&runs).await?;
        signal.notify_waiters();
    }
    Ok(())
}

/// The outbox row of one firing of a trigger.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_row(
    now: chrono::DateTime<chrono::Utc>,
    p: &Principal,
    obj: &CompiledObject,
    r: &CompiledRule,
    doc: &TriggerDoc,
    event: Event,
    cur: &RecordRow,
    old: Option<&RecordRow>,
    status: RunStatus,
    error: Option<String>,
    stamp: Option<String>,
) -> OutboxRow {
    let ev = event.as_str();
    // What makes this firing unique: the record version written, the deletion time, or
    // for time-based and manual runs the tick or request (`stamp`).
    let stamp = stamp.unwrap_or_else(|| {
        match event {
            Event::Delete => cur
                .deleted_at
                .map(|d| d.timestamp_micros())
                .unwrap_or(now.timestamp_micros()),
            _ => cur.version,
        }
        .to_string()
    });
    let key = format!("{}:{}:{ev}:{stamp}", r.id, cur.id);
    OutboxRow {
        tenant: p.tenant.0,
        rule_id: Some(r.id),
        rule: r.doc.api_name.clone(),
        object: obj.api_name().to_owned(),
        record_id: Some(cur.id),
        event: ev.into(),
        payload: OutboxPayload::Run(Box::new(RunInput {
            record: Some(row_map(obj, cur, None)),
            old: old.map(|o| row_map(obj, o, None)),
            actor: p.user.0,
            source: p.source.as_str().into(),
            rule_version: Some(r.version),
            run_as: doc.run_as.unwrap_or(r.created_by),
            flow_instance: None,
            actions: doc.actions.clone(),
            effect_keys: Default::default(),
            event: None,
        })),
        status,
        max_attempts: doc
            .max_attempts
            .map(|n| n as i32)
            .unwrap_or(DEFAULT_ATTEMPTS),
        depth: i32::from(p.cascade_depth),
        idempotency_key: key,
        error,
        ..OutboxRow::fresh(now)
    }
}
