//! The command path shared by every command (start, task and instance actions, timers):
//! one transaction per command, compare-and-swap on `rev`, internal retry on conflict, and
//! the inline loop that feeds record-action results back to the engine.

use super::Workflows;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use weft_flow::{Command, CompiledFlow, Effect, InstanceState, TaskStatus};
use weft_meta::TenantId;

use super::command_error;
use super::env::OrgEnv;
use super::ports::FlowInstanceRow;
use crate::access::Guard;
use crate::core::TxCtx;
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::ports::prelude::*;
use crate::ports::{FetchOpts, TxMode};
use crate::principal::Principal;

/// Attempts of one command under contention before giving up (each attempt re-reads).
const MAX_ATTEMPTS: u32 = 64;
/// Engine steps (command + inline record actions) one transaction may run.
const MAX_INLINE: usize = 64;

pub(crate) fn status_str(s: weft_flow::Status) -> &'static str {
    match s {
        weft_flow::Status::Running => "running",
        weft_flow::Status::Incident => "incident",
        weft_flow::Status::Approved => "approved",
        weft_flow::Status::Rejected => "rejected",
        weft_flow::Status::Withdrawn => "withdrawn",
        weft_flow::Status::Terminated => "terminated",
    }
}

pub(crate) fn task_status_str(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Open => "open",
        TaskStatus::Approved => "approved",
        TaskStatus::Rejected => "rejected",
        TaskStatus::Transferred => "transferred",
        TaskStatus::Cancelled => "cancelled",
        TaskStatus::Suspended => "suspended",
    }
}

pub(super) fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The instance a command runs against, for effect rows.
pub(crate) struct InstCtx {
    pub tenant: TenantId,
    pub id: Uuid,
    pub flow_key: String,
    pub object: String,
    pub record_id: Uuid,
    pub initiator: Uuid,
}

impl InstCtx {
    pub(super) fn of(tenant: TenantId, row: &FlowInstanceRow) -> Self {
        InstCtx {
            tenant,
            id: row.id,
            flow_key: row.flow_key.clone(),
            object: row.object.clone(),
            record_id: row.record_id,
            initiator: row.initiator,
        }
    }
}

/// Run one command against an instance: load, apply, compare-and-swap, persist effects,
/// all in one transaction; re-applied on a revision conflict. `fired_timer` deletes that
/// timer row in the same transaction.
pub(crate) async fn run_command(
    wf: &Workflows,
    tenant: TenantId,
    id: Uuid,
    actor: Option<String>,
    cmd: &Command,
    fired_timer: Option<i32>,
) -> Result<InstanceState> {
    let org = wf.core.org(tenant).await?;
    let calendars = wf.calendars.for_tenant(tenant).await?;
    let env = OrgEnv { org, calendars };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let now = wf.core.clock.now();
        let mut tx = wf.core.begin(tenant, TxMode::Write).await?;
        let row = tx
            .flow_instance(id)
            .await?
            .ok_or_else(|| Error::not_found("flow instance"))?;
        let state: InstanceState = serde_json::from_value(row.state.clone())
            .map_err(|e| Error::internal(format!("instance state unreadable: {e}")))?;
        let flow = super::compiled_flow(wf, &mut tx, row.version_id).await?;
        let t = apply_in(&tx.budget, &flow, &state, cmd.clone(), now, &env)?;
        if t.state.rev == state.rev {
            // A no-op (replayed timer or action result): nothing to write.
            if let Some(timer) = fired_timer {
                tx.flow_timer_delete(id, timer).await?;
                tx.commit().await?;
            }
            return Ok(state);
        }
        // Swap first: the instance row is the first lock this transaction takes.
        let ctx = InstCtx::of(tenant, &row);
        if !try_store_state(tx.as_mut(), &ctx, row.rev, &t.state, now).await? {
            drop(tx);
            if attempt >= MAX_ATTEMPTS {
                return Err(Error::Unavailable(
                    "the instance is too busy; retry shortly".into(),
                ));
            }
            let jitter = rand::random::<u64>() % (2 + u64::from(attempt) * 2);
            tokio::time::sleep(Duration::from_millis(jitter)).await;
            continue;
        }
        if let Some(timer) = fired_timer {
            tx.flow_timer_delete(id, timer).await?;
        }
        let first_rev = t.state.rev as i64;
        let state = drive(
            wf,
            &mut tx,
            &ctx,
            &flow,
            &env,
            t.state,
            t.effects,
            actor.clone(),
            now,
        )
        .await?;
        if state.rev as i64 != first_rev {
            store_state(tx.as_mut(), &ctx, first_rev, &state, now).await?;
        }
        tx.commit().await?;
        if attempt > 1 {
            tracing::debug!(flow.instance_id = %id, attempts = attempt, "command retried after a revision conflict");
        }
        return Ok(state);
    }
}

async fn try_store_state(
    tx: &mut dyn Tx,
    ctx: &InstCtx,
    old_rev: i64,
    state: &InstanceState,
    now: DateTime<Utc>,
) -> Result<bool> {
    let json = serde_json::to_value(state).map_err(Error::internal)?;
    tx.flow_instance_cas(
        ctx.id,
        old_rev,
        state.rev as i64,
        status_str(state.status),
        &json,
        now,
        state.status.is_final().then_some(now),
    )
    .await
}

pub(super) async fn store_state(
    tx: &mut dyn Tx,
    ctx: &InstCtx,
    old_rev: i64,
    state: &InstanceState,
    now: DateTime<Utc>,
) -> Result<()> {
    if try_store_state(tx, ctx, old_rev, state, now).await? {
        Ok(())
    } else {
        Err(Error::internal("instance changed under its own lock"))
    }
}

/// One engine step with the flow's conditions drawing from the transaction's shared rule
/// budget (issue 12 §1). When the budget runs out the command fails with `limit.cpu`, naming
/// the flow, and nothing of the step is stored (the engine would otherwise record the spent
/// budget as a failed condition and stop the instance with an incident).
pub(crate) fn apply_in(
    budget: &weft_rules::Budget,
    flow: &CompiledFlow,
    state: &InstanceState,
    cmd: weft_flow::Command,
    now: DateTime<Utc>,
    env: &OrgEnv,
) -> Result<weft_flow::Transition> {
    let t = budget
        .within(|| weft_flow::apply(flow, state, cmd, now, env))
        .map_err(command_error)?;
    if budget.is_spent() {
        return Err(crate::automation::AutomationError::CpuBudget {
            rule: format!("flow:{}", flow.definition().key),
            at: String::new(),
        }
        .into());
    }
    Ok(t)
}

/// Persist effects; run record actions inline and feed their results back to the engine
/// until the instance waits for something else. Returns the final state.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn drive(
    wf: &Workflows,
    tx: &mut TxCtx,
    ctx: &InstCtx,
    flow: &CompiledFlow,
    env: &OrgEnv,
    mut state: InstanceState,
    mut effects: Vec<Effect>,
    actor: Option<String>,
    now: DateTime<Utc>,
) -> Result<InstanceState> {
    let mut pending = std::collections::VecDeque::new();
    for _ in 0..MAX_INLINE {
        pending.extend(
            super::effects::persist_effects(wf, tx, ctx, &state, &effects, actor.as_deref(), now)
                .await?,
        );
        let Some(cmd) = pending.pop_front() else {
            return Ok(state);
        };
        // One result at a time: each is a separate engine step (and revision).
        let t = apply_in(&tx.budget, flow, &state, cmd, now, env)?;
        state = t.state;
        effects = t.effects;
    }
    Err(Error::internal("flow ran too many inline steps"))
}

/// The instance if `p` may see it (admin, initiator, assignee or CC recipient).
pub(crate) async fn visible_instance(
    wf: &Workflows,
    p: &Principal,
    id: Uuid,
) -> Result<FlowInstanceRow> {
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let row = tx
        .flow_instance(id)
        .await?
        .ok_or_else(|| Error::not_found("flow instance"))?;
    let ok = can_open(tx.as_mut(), p, &row).await?;
    tx.commit().await?;
    if ok {
        Ok(row)
    } else {
        Err(Error::not_found("flow instance"))
    }
}

/// Whether `p` may open an instance's details: admins, its initiator, its assignees and the
/// users it copied.
pub(crate) async fn can_open(
    tx: &mut dyn crate::ports::Tx,
    p: &Principal,
    row: &FlowInstanceRow,
) -> Result<bool> {
    let me = p.user.0.to_string();
    Ok(p.is_admin
        || row.initiator == p.user.0
        || tx
            .flow_tasks_of(row.id)
            .await?
            .iter()
            .any(|t| t.assignee == me)
        || tx.flow_cc_of(row.id).await?.iter().any(|c| c.user_id == me))
}

/// Feed a record's current values to the running instances on it (`only`: one of them):
/// wait conditions are re-checked, and an admin retry sees data fixed since. Each
/// instance changes in its own command transaction, after the record write committed.
pub(crate) async fn flow_record_changed(
    wf: &Workflows,
    tenant: TenantId,
    record: Uuid,
    only: Option<Uuid>,
) -> Result<()> {
    flow_records_changed(wf, tenant, &[record], only).await
}

/// [`flow_record_changed`] for many records (bulk updates): one read transaction.
pub(crate) async fn flow_records_changed(
    wf: &Workflows,
    tenant: TenantId,
    records: &[Uuid],
    only: Option<Uuid>,
) -> Result<()> {
    let meta = wf.core.meta(tenant).await?;
    let mut tx = wf.core.begin(tenant, TxMode::Read).await?;
    let mut todo = Vec::new();
    for &record in records {
        for inst in tx.flow_active_on_record(record).await? {
            if only.is_some_and(|o| o != inst.id) {
                continue;
            }
            let Some(obj) = meta.object(&inst.object).cloned() else {
                continue;
            };
            let g = system_guard(inst.initiator);
            let Ok(row) = crate::records::load_one(
                tx.as_mut(),
                &obj,
                record,
                FetchOpts::default(),
                g.scope(),
            )
            .await
            else {
                continue;
            };
            let fresh = record_json(&obj, &row, None, &|_| true);
            if inst.state.get("record") != Some(&fresh) {
                todo.push((inst.id, fresh));
            }
        }
    }
    tx.commit().await?;
    for (id, record) in todo {
        run_command(
            wf,
            tenant,
            id,
            None,
            &Command::RecordChanged { record },
            None,
        )
        .await?;
    }
    Ok(())
}

/// A system guard for the platform's own record writes.
pub(crate) fn system_guard(user: Uuid) -> Guard {
    Guard::system(user)
}
