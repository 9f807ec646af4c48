//! The effects of one engine step: task, timer, CC and timeline rows, inline actions and
//! notices, written in the command's transaction.

use super::Workflows;

use chrono::{DateTime, Utc};
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_flow::{Command, Effect, InstanceState, NotifyKind};

use super::exec::{InstCtx, snake, task_status_str};
use super::ports::{FlowCcRow, FlowEventRow, FlowTaskRow};
use crate::core::TxCtx;
use crate::error::Result;

/// The rows and follow-up commands one engine step produces, written at its end (task rows
/// are flushed earlier when a later effect of the step changes them).
struct StepRows<'a> {
    ctx: &'a InstCtx,
    base: i64,
    now: DateTime<Utc>,
    tasks: Vec<FlowTaskRow>,
    events: Vec<FlowEventRow>,
    ccs: Vec<FlowCcRow>,
    follow: Vec<Command>,
}

impl StepRows<'_> {
    fn ev(&mut self, event: &str, actor: Option<String>, node: Option<String>, data: Json) {
        self.events.push(FlowEventRow {
            instance_id: self.ctx.id,
            seq: self.base + self.events.len() as i64,
            at: self.now,
            actor,
            event: event.to_string(),
            node,
            data,
        });
    }

    /// Insert the task rows opened so far (before a status change may touch them).
    async fn flush_tasks(&mut self, tx: &mut TxCtx) -> Result<()> {
        if !self.tasks.is_empty() {
            tx.flow_tasks_insert(&std::mem::take(&mut self.tasks))
                .await?;
        }
        Ok(())
    }

    /// Timeline-only effects.
    fn timeline(&mut self, e: &Effect, actor: Option<&str>) {
        match e {
            Effect::Audit {
                event,
                actor: a,
                node,
                data,
            } => self.ev(
                event,
                a.clone().or_else(|| actor.map(str::to_owned)),
                node.clone(),
                data.clone(),
            ),
            Effect::Incident {
                incident,
                node,
                code,
                message,
            } => self.ev(
                "incident",
                None,
                Some(node.clone()),
                json!({"incident": incident, "code": code, "message": message}),
            ),
            Effect::IncidentResolved { incident } => self.ev(
                "incident.resolved",
                actor.map(str::to_owned),
                None,
                json!({"incident": incident}),
            ),
            Effect::Completed { status } => {
                self.ev("instance.completed", None, None, json!({"status": status}))
            }
            _ => {}
        }
    }
}

/// Write the effect rows of one engine step; returns the commands produced by inline
/// actions (their results), to be applied next.
pub(super) async fn persist_effects(
    wf: &Workflows,
    tx: &mut TxCtx,
    ctx: &InstCtx,
    state: &InstanceState,
    effects: &[Effect],
    actor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<Command>> {
    let mut rows = StepRows {
        ctx,
        base: state.rev as i64 * 1_000,
        now,
        tasks: Vec::new(),
        events: Vec::new(),
        ccs: Vec::new(),
        follow: Vec::new(),
    };
    for (ei, e) in effects.iter().enumerate() {
        // Stable per step and effect: a retried command does not notify twice.
        let fx_key = format!("{}:{}:{ei}", ctx.id, state.rev);
        match e {
            Effect::OpenTask { .. }
            | Effect::CloseTask { .. }
            | Effect::SuspendTask { .. }
            | Effect::ReopenTask { .. } => task_effect(tx, &mut rows, e).await?,
            Effect::ScheduleTimer {
                timer,
                node,
                due_at,
            } => {
                tx.flow_timer_put(ctx.id, *timer as i32, node, *due_at)
                    .await?;
            }
            Effect::CancelTimer { timer } => tx.flow_timer_delete(ctx.id, *timer as i32).await?,
            Effect::RunAction { .. } => action_effect(wf, tx, &mut rows, e).await?,
            Effect::CancelPendingActions => {
                let n = tx
                    .skip_queued_runs(
                        &super::actions::flow_run_key(ctx.id, ""),
                        "the workflow instance was withdrawn or terminated",
                    )
                    .await?;
                if n > 0 {
                    rows.ev("actions.cancelled", None, None, json!({"runs": n}));
                }
            }
            Effect::Notify { .. } | Effect::Cc { .. } => {
                notice_effect(tx, &mut rows, e, &fx_key).await?
            }
            Effect::Audit { .. }
            | Effect::Incident { .. }
            | Effect::IncidentResolved { .. }
            | Effect::Completed { .. } => rows.timeline(e, actor),
        }
    }
    rows.flush_tasks(tx).await?;
    if !rows.ccs.is_empty() {
        tx.flow_cc_insert(&rows.ccs).await?;
    }
    if !rows.events.is_empty() {
        tx.flow_events_append(&rows.events).await?;
    }
    Ok(rows.follow)
}

/// An action node: run it (record actions inline, deliveries queued), log it and feed
/// its result back to the engine.
async fn action_effect(
    wf: &Workflows,
    tx: &mut TxCtx,
    rows: &mut StepRows<'_>,
    e: &Effect,
) -> Result<()> {
    let Effect::RunAction {
        ni,
        node,
        action,
        idempotency_key,
        attempt,
        compensation,
        recipients,
        ..
    } = e
    else {
        return Ok(());
    };
    let outcome = super::actions::run_flow_action(
        wf,
        tx,
        rows.ctx,
        action,
        idempotency_key,
        recipients,
        rows.now,
    )
    .await?;
    rows.ev(
        outcome.event,
        None,
        Some(node.clone()),
        json!({"idempotency_key": idempotency_key, "attempt": attempt,
               "compensation": compensation, "result": outcome.data}),
    );
    if !compensation {
        // The engine sees its own record update before it moves on.
        if let Some(record) = outcome.record {
            rows.follow.push(Command::RecordChanged { record });
        }
        rows.follow.push(match outcome.error {
            None => Command::ActionDone {
                ni: *ni,
                result: outcome.data,
            },
            Some(error) => Command::ActionFailed {
                ni: *ni,
                error,
                retryable: false,
            },
        });
    }
    Ok(())
}

/// A notice (reminder, urge, outcome) or a CC: in-app notifications and a timeline row.
async fn notice_effect(
    tx: &mut TxCtx,
    rows: &mut StepRows<'_>,
    e: &Effect,
    fx_key: &str,
) -> Result<()> {
    let ctx = rows.ctx;
    let now = rows.now;
    match e {
        Effect::Notify {
            kind,
            users,
            node,
            template,
        } => {
            let text = notice_text(tx, ctx, *kind, template.as_deref()).await;
            let n =
                super::actions::notify_users(tx.as_mut(), ctx, users, &text, fx_key, now).await?;
            rows.ev(
                "notify",
                None,
                node.clone(),
                json!({"kind": kind, "users": users, "template": template, "notified": n}),
            );
        }
        Effect::Cc {
            node,
            users,
            template,
        } => {
            for u in users {
                rows.ccs.push(FlowCcRow {
                    user_id: u.clone(),
                    instance_id: ctx.id,
                    node: node.clone(),
                    flow_key: ctx.flow_key.clone(),
                    object: ctx.object.clone(),
                    record_id: ctx.record_id,
                    created_at: now,
                });
            }
            let text = notice_text(tx, ctx, NotifyKind::Cc, template.as_deref()).await;
            let n =
                super::actions::notify_users(tx.as_mut(), ctx, users, &text, fx_key, now).await?;
            rows.ev(
                "cc",
                None,
                Some(node.clone()),
                json!({"users": users, "template": template, "notified": n}),
            );
        }
        _ => {}
    }
    Ok(())
}

/// The text of a workflow notice: its template rendered over the record, or a default
/// line per kind (Chinese first, then English) when it has none or it fails to render.
async fn notice_text(
    tx: &mut TxCtx,
    ctx: &InstCtx,
    kind: NotifyKind,
    template: Option<&str>,
) -> String {
    if let Some(t) = template {
        let meta = tx.meta.clone();
        let data = super::actions::flow_template_data(tx.as_mut(), &meta, ctx).await;
        match super::actions::render_text(t, &data) {
            Ok(s) if !s.trim().is_empty() => return s,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(flow = %ctx.flow_key, error = %e, "notice template failed")
            }
        }
    }
    let what = match kind {
        NotifyKind::Reminder => "审批提醒 / Approval reminder",
        NotifyKind::Urge => "催办 / Please act on",
        NotifyKind::Cc => "抄送 / CC",
        NotifyKind::Approved => "已通过 / Approved",
        NotifyKind::Rejected => "已驳回 / Rejected",
        NotifyKind::Withdrawn => "已撤回 / Withdrawn",
        NotifyKind::Returned => "已退回 / Returned",
    };
    format!(
        "{what}: {} ({} {})",
        ctx.flow_key, ctx.object, ctx.record_id
    )
}
/// Task rows: opened (inserted with the step), closed, suspended or reopened.
async fn task_effect(tx: &mut TxCtx, rows: &mut StepRows<'_>, e: &Effect) -> Result<()> {
    let ctx = rows.ctx;
    match e {
        Effect::OpenTask {
            task,
            ni,
            node,
            user,
            acting_for,
            kind,
        } => rows.tasks.push(FlowTaskRow {
            id: Uuid::now_v7(),
            instance_id: ctx.id,
            task: *task as i32,
            ni: *ni as i32,
            node: node.clone(),
            assignee: user.clone(),
            acting_for: acting_for.clone(),
            kind: snake(kind),
            status: "open".into(),
            reason: None,
            flow_key: ctx.flow_key.clone(),
            object: ctx.object.clone(),
            record_id: ctx.record_id,
            created_at: rows.now,
            closed_at: None,
        }),
        Effect::CloseTask {
            task,
            status,
            reason,
        } => {
            rows.flush_tasks(tx).await?;
            tx.flow_task_set_status(
                ctx.id,
                *task as i32,
                task_status_str(*status),
                Some(snake(reason).as_str()),
                Some(rows.now),
            )
            .await?;
        }
        Effect::SuspendTask { task } | Effect::ReopenTask { task } => {
            rows.flush_tasks(tx).await?;
            let s = if matches!(e, Effect::SuspendTask { .. }) {
                "suspended"
            } else {
                "open"
            };
            tx.flow_task_set_status(ctx.id, *task as i32, s, None, None)
                .await?;
        }
        _ => {}
    }
    Ok(())
}
