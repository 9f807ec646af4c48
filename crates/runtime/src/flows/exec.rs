//! The command path: start an instance, act on a task or an instance. One transaction per
//! command, compare-and-swap on `rev`, internal retry on conflict.

use super::Workflows;
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_flow::definition::SignerPosition;
use weft_flow::{
    AdminOp, Command, CompiledFlow, Decision, Effect, InstanceState, NotifyKind, TaskStatus,
};
use weft_meta::TenantId;

use super::env::OrgEnv;
use super::ports::{FlowCcRow, FlowEventRow, FlowInstanceRow, FlowTaskRow};
use super::{command_error, require_admin};
use crate::access::Guard;
use crate::access::model::Op;
use crate::core::TxCtx;
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::metadata::parse_doc;
use crate::ports::prelude::*;
use crate::ports::{FetchOpts, TxMode};
use crate::principal::Principal;

/// Attempts of one command under contention before giving up (each attempt re-reads).
const MAX_ATTEMPTS: u32 = 64;
/// Engine steps (command + inline record actions) one transaction may run.
const MAX_INLINE: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    flow: String,
    record: Uuid,
    #[serde(default)]
    chosen: BTreeMap<String, Vec<Uuid>>,
    #[serde(default)]
    vars: serde_json::Map<String, Json>,
}

/// What a user does to a task (`POST /flows/tasks/{id}/actions`): `{"action": "<variant>",
/// ...fields}` on the wire, read through [`parse_action`].
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskAction {
    Approve {
        #[serde(default)]
        comment: Option<String>,
    },
    Reject {
        #[serde(default)]
        comment: Option<String>,
    },
    /// 退回 to an earlier node.
    Return {
        to_node: String,
        #[serde(default)]
        comment: Option<String>,
    },
    /// 转交.
    Transfer {
        to: Uuid,
        #[serde(default)]
        comment: Option<String>,
    },
    /// 委托.
    Delegate {
        to: Uuid,
    },
    /// 加签.
    AddSigner {
        position: SignerPosition,
        users: Vec<Uuid>,
        #[serde(default)]
        comment: Option<String>,
    },
    Comment {
        text: String,
    },
    /// Resubmit after 退回 to start.
    Resubmit {},
}

/// What a user does to an instance (`POST /flows/instances/{id}/actions`), read through
/// [`parse_action`].
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum InstanceAction {
    /// 撤回 by the initiator.
    Withdraw {
        #[serde(default)]
        comment: Option<String>,
    },
    /// 催办.
    Urge {
        #[serde(default)]
        comment: Option<String>,
    },
    Comment {
        text: String,
    },
    /// Admin: re-run the node an incident is parked on.
    Retry {
        incident: u32,
    },
    /// Admin: move past an incident.
    Skip {
        incident: u32,
        #[serde(default)]
        edge: Option<String>,
    },
    /// Admin: terminate the instance.
    Cancel {
        #[serde(default)]
        reason: Option<String>,
    },
}

const MAX_TEXT: usize = 4_000;

/// `{"action": "approve", "comment": "ok"}` → the action enum, with the JSON pointer of a bad
/// field. (serde's internally tagged enums buffer their content and lose the path, so the
/// body is read as the externally tagged `{"approve": {"comment": "ok"}}`.)
fn parse_action<T: serde::de::DeserializeOwned>(body: &Json) -> Result<T> {
    let Some(obj) = body.as_object() else {
        return Err(Error::one("", "invalid", "the body is a JSON object"));
    };
    let Some(action) = obj.get("action") else {
        return Err(Error::one("/action", "required", "the action is missing"));
    };
    let Some(action) = action.as_str() else {
        return Err(Error::one("/action", "invalid", "the action is a string"));
    };
    let mut rest = obj.clone();
    rest.remove("action");
    let wrapped = json!({ action: rest });
    serde_path_to_error::deserialize::<_, T>(&wrapped).map_err(|e| {
        let path = e.path().to_string();
        // The first segment is the action itself.
        let msg = e.inner().to_string();
        let field = path
            .split_once('.')
            .map(|(_, f)| f)
            .filter(|f| !f.is_empty());
        let pointer = match field {
            Some(field) => format!("/{}", field.replace('.', "/")),
            None if msg.starts_with("unknown variant") => "/action".into(),
            // `unknown field `x`, expected ...`: the field is at the top level.
            None => msg
                .strip_prefix("unknown field `")
                .and_then(|m| m.split_once('`'))
                .map(|(f, _)| format!("/{f}"))
                .unwrap_or_default(),
        };
        Error::one(pointer, "invalid", msg)
    })
}

fn text_ok(path: &str, t: Option<&String>) -> Result<()> {
    match t {
        Some(s) if s.chars().count() > MAX_TEXT => Err(Error::one(
            path,
            "max_length",
            format!("at most {MAX_TEXT} characters"),
        )),
        _ => Ok(()),
    }
}

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

fn snake<T: serde::Serialize>(v: &T) -> String {
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
    fn of(tenant: TenantId, row: &FlowInstanceRow) -> Self {
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

impl Workflows {
    /// Start an instance of the latest published version of a flow on a record.
    pub async fn start_flow(&self, p: &Principal, body: &Json) -> Result<Json> {
        if p.view_as {
            return Err(Error::forbidden(
                "read_only_view",
                "this is a read-only view as another user",
            ));
        }
        let b: StartBody = parse_doc(body)?;
        for (i, (k, v)) in b.vars.iter().enumerate() {
            if k.len() > 64 || v.to_string().len() > MAX_TEXT {
                return Err(Error::one(
                    format!("/vars/{i}"),
                    "max_length",
                    "vars are small scalars",
                ));
            }
        }
        let meta = self.core.meta(p.tenant).await?;
        let now = self.core.clock.now();
        let org = self.core.org(p.tenant).await?;
        let calendars = self.calendars.for_tenant(p.tenant).await?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let def = tx
            .flow_def(&b.flow)
            .await?
            .ok_or_else(|| Error::not_found(format!("flow '{}'", b.flow)))?;
        let version = tx
            .flow_versions(&b.flow)
            .await?
            .into_iter()
            .max_by_key(|v| v.version)
            .ok_or_else(|| {
                Error::conflict("flow.not_published", "the flow has no published version")
            })?;
        let obj = meta
            .object(&def.object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{}'", def.object)))?;
        let g = self.access.guard(p, &def.object).await?;
        g.require(Op::Read, &def.object)?;
        let row =
            crate::records::load_one(tx.as_mut(), &obj, b.record, FetchOpts::default(), g.scope())
                .await?;
        if tx
            .flow_active_on_record(b.record)
            .await?
            .iter()
            .any(|i| i.flow_key == b.flow)
        {
            return Err(Error::conflict(
                "flow.already_running",
                "this record is already under this approval",
            ));
        }
        let chosen_ids: Vec<Uuid> = b.chosen.values().flatten().copied().collect();
        let known = tx.existing_users(&chosen_ids).await?;
        if let Some(bad) = chosen_ids.iter().find(|u| !known.contains(u)) {
            return Err(Error::one(
                "/chosen",
                "unknown_user",
                format!("{bad} is not a user"),
            ));
        }
        let record = record_json(&obj, &row, None, &|_| true);
        let flow = self.compiled_flow(&mut tx, version.id).await?;
        let id = Uuid::now_v7();
        let user = org.users.get(&p.user.0);
        let attrs = json!({"id": p.user.0.to_string(),
            "name": user.map(|u| u.name.clone()).unwrap_or_default(),
            "department": org.primary_department(p.user.0).map(|d| d.to_string())});
        let cmd = Command::Start {
            initiator: p.user.0.to_string(),
            initiator_attrs: attrs,
            record,
            chosen: b
                .chosen
                .into_iter()
                .map(|(k, v)| (k, v.iter().map(Uuid::to_string).collect()))
                .collect(),
            vars: b.vars,
        };
        let env = OrgEnv { org, calendars };
        let fresh = InstanceState::new(id.to_string());
        let t = weft_flow::apply(&flow, &fresh, cmd, now, &env).map_err(command_error)?;
        let inst = FlowInstanceRow {
            id,
            version_id: version.id,
            flow_key: b.flow.clone(),
            version: version.version,
            object: def.object.clone(),
            record_id: b.record,
            initiator: p.user.0,
            status: status_str(t.state.status).into(),
            rev: t.state.rev as i64,
            state: serde_json::to_value(&t.state).map_err(Error::internal)?,
            created_at: now,
            updated_at: now,
            ended_at: t.state.status.is_final().then_some(now),
        };
        tx.flow_instance_insert(&inst).await?;
        let ctx = InstCtx::of(p.tenant, &inst);
        let state = self
            .drive(
                &mut tx,
                &ctx,
                &flow,
                &env,
                t.state,
                t.effects,
                Some(p.user.0.to_string()),
                now,
            )
            .await?;
        if state.rev as i64 != inst.rev {
            self.store_state(tx.as_mut(), &ctx, inst.rev, &state, now)
                .await?;
        }
        tx.commit().await?;
        Ok(json!({"id": id, "flow": b.flow, "version": version.version,
                  "status": status_str(state.status), "rev": state.rev,
                  "positions": state.positions()}))
    }

    /// Act on a task (approve, reject, return, transfer, delegate, add signer, comment).
    pub async fn act_on_task(&self, p: &Principal, task_id: Uuid, body: &Json) -> Result<Json> {
        if p.view_as {
            return Err(Error::forbidden(
                "read_only_view",
                "this is a read-only view as another user",
            ));
        }
        let action: TaskAction = parse_action(body)?;
        let mut users: Vec<Uuid> = vec![];
        match &action {
            TaskAction::Approve { comment }
            | TaskAction::Reject { comment }
            | TaskAction::Return { comment, .. } => text_ok("/comment", comment.as_ref())?,
            TaskAction::Transfer { to, comment } => {
                text_ok("/comment", comment.as_ref())?;
                users.push(*to);
            }
            TaskAction::Delegate { to } => users.push(*to),
            TaskAction::AddSigner {
                users: us, comment, ..
            } => {
                text_ok("/comment", comment.as_ref())?;
                if us.is_empty() || us.len() > 20 {
                    return Err(Error::one("/users", "max_items", "add 1 to 20 signers"));
                }
                users.extend(us.iter().copied());
            }
            TaskAction::Comment { text } => {
                if text.trim().is_empty() {
                    return Err(Error::one("/text", "required", "the comment is empty"));
                }
                text_ok("/text", Some(text))?;
            }
            TaskAction::Resubmit {} => {}
        }
        let (instance, task) = {
            let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
            let t = tx
                .flow_task(task_id)
                .await?
                .ok_or_else(|| Error::not_found("task"))?;
            if !users.is_empty() {
                let known = tx.existing_users(&users).await?;
                if let Some(bad) = users.iter().find(|u| !known.contains(u)) {
                    return Err(Error::one(
                        if matches!(action, TaskAction::AddSigner { .. }) {
                            "/users"
                        } else {
                            "/to"
                        },
                        "unknown_user",
                        format!("{bad} is not a user"),
                    ));
                }
            }
            tx.commit().await?;
            (t.instance_id, t.task as u32)
        };
        let actor = p.user.0.to_string();
        let cmd = match action {
            TaskAction::Approve { comment } => Command::Decide {
                task,
                actor,
                acting_for: None,
                decision: Decision::Approve,
                comment,
            },
            TaskAction::Reject { comment } => Command::Decide {
                task,
                actor,
                acting_for: None,
                decision: Decision::Reject,
                comment,
            },
            TaskAction::Return { to_node, comment } => Command::Return {
                task,
                actor,
                to_node,
                comment,
            },
            TaskAction::Transfer { to, comment } => Command::Transfer {
                task,
                actor,
                to: to.to_string(),
                comment,
            },
            TaskAction::Delegate { to } => Command::Delegate {
                task,
                actor,
                to: to.to_string(),
            },
            TaskAction::AddSigner {
                position,
                users,
                comment,
            } => Command::AddSigner {
                task,
                actor,
                position,
                users: users.iter().map(Uuid::to_string).collect(),
                comment,
            },
            TaskAction::Comment { text } => Command::Comment {
                actor,
                text,
                task: Some(task),
            },
            TaskAction::Resubmit {} => Command::Resubmit {
                task,
                actor,
                record: None,
            },
        };
        let st = self
            .run_command(p.tenant, instance, Some(p.user.0.to_string()), &cmd, None)
            .await?;
        Ok(state_summary(instance, &st))
    }

    /// Act on an instance: withdraw, urge, comment; admins: retry, skip, cancel.
    pub async fn act_on_instance(&self, p: &Principal, id: Uuid, body: &Json) -> Result<Json> {
        if p.view_as {
            return Err(Error::forbidden(
                "read_only_view",
                "this is a read-only view as another user",
            ));
        }
        let action: InstanceAction = parse_action(body)?;
        // Only participants see an instance; others get "not found".
        let row = self.visible_instance(p, id).await?;
        let actor = p.user.0.to_string();
        let cmd = match action {
            InstanceAction::Withdraw { comment } => {
                text_ok("/comment", comment.as_ref())?;
                Command::Withdraw { actor, comment }
            }
            InstanceAction::Urge { comment } => {
                text_ok("/comment", comment.as_ref())?;
                Command::Urge { actor, comment }
            }
            InstanceAction::Comment { text } => {
                if text.trim().is_empty() {
                    return Err(Error::one("/text", "required", "the comment is empty"));
                }
                text_ok("/text", Some(&text))?;
                Command::Comment {
                    actor,
                    text,
                    task: None,
                }
            }
            InstanceAction::Retry { incident } => {
                require_admin(p)?;
                // The retry sees the record as it is now (the admin may have fixed it).
                self.flow_record_changed(p.tenant, row.record_id, Some(id))
                    .await?;
                Command::Admin {
                    actor,
                    op: AdminOp::Retry { incident },
                }
            }
            InstanceAction::Skip { incident, edge } => {
                require_admin(p)?;
                Command::Admin {
                    actor,
                    op: AdminOp::Skip { incident, edge },
                }
            }
            InstanceAction::Cancel { reason } => {
                require_admin(p)?;
                text_ok("/reason", reason.as_ref())?;
                Command::Admin {
                    actor,
                    op: AdminOp::Cancel { reason },
                }
            }
        };
        let st = self
            .run_command(p.tenant, id, Some(p.user.0.to_string()), &cmd, None)
            .await?;
        Ok(state_summary(id, &st))
    }

    /// Run one command against an instance: load, apply, compare-and-swap, persist effects,
    /// all in one transaction; re-applied on a revision conflict. `fired_timer` deletes that
    /// timer row in the same transaction.
    pub(crate) async fn run_command(
        &self,
        tenant: TenantId,
        id: Uuid,
        actor: Option<String>,
        cmd: &Command,
        fired_timer: Option<i32>,
    ) -> Result<InstanceState> {
        let org = self.core.org(tenant).await?;
        let calendars = self.calendars.for_tenant(tenant).await?;
        let env = OrgEnv { org, calendars };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.core.clock.now();
            let mut tx = self.core.begin(tenant, TxMode::Write).await?;
            let row = tx
                .flow_instance(id)
                .await?
                .ok_or_else(|| Error::not_found("flow instance"))?;
            let state: InstanceState = serde_json::from_value(row.state.clone())
                .map_err(|e| Error::internal(format!("instance state unreadable: {e}")))?;
            let flow = self.compiled_flow(&mut tx, row.version_id).await?;
            let t =
                weft_flow::apply(&flow, &state, cmd.clone(), now, &env).map_err(command_error)?;
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
            if !self
                .try_store_state(tx.as_mut(), &ctx, row.rev, &t.state, now)
                .await?
            {
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
            let state = self
                .drive(
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
                self.store_state(tx.as_mut(), &ctx, first_rev, &state, now)
                    .await?;
            }
            tx.commit().await?;
            if attempt > 1 {
                tracing::debug!(flow.instance_id = %id, attempts = attempt, "command retried after a revision conflict");
            }
            return Ok(state);
        }
    }

    async fn try_store_state(
        &self,
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

    async fn store_state(
        &self,
        tx: &mut dyn Tx,
        ctx: &InstCtx,
        old_rev: i64,
        state: &InstanceState,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if self.try_store_state(tx, ctx, old_rev, state, now).await? {
            Ok(())
        } else {
            Err(Error::internal("instance changed under its own lock"))
        }
    }

    /// Persist effects; run record actions inline and feed their results back to the engine
    /// until the instance waits for something else. Returns the final state.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn drive(
        &self,
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
                self.persist_effects(tx, ctx, &state, &effects, actor.as_deref(), now)
                    .await?,
            );
            let Some(cmd) = pending.pop_front() else {
                return Ok(state);
            };
            // One result at a time: each is a separate engine step (and revision).
            let t = weft_flow::apply(flow, &state, cmd, now, env).map_err(command_error)?;
            state = t.state;
            effects = t.effects;
        }
        Err(Error::internal("flow ran too many inline steps"))
    }

    /// Write the effect rows of one engine step; returns the commands produced by inline
    /// actions (their results), to be applied next.
    #[allow(clippy::too_many_lines)] // issue 11: split pending
    async fn persist_effects(
        &self,
        tx: &mut TxCtx,
        ctx: &InstCtx,
        state: &InstanceState,
        effects: &[Effect],
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Command>> {
        let mut tasks = Vec::new();
        let mut events = Vec::new();
        let mut ccs = Vec::new();
        let mut follow = Vec::new();
        let base = state.rev as i64 * 1_000;
        let mut ev = |event: &str, actor: Option<String>, node: Option<String>, data: Json| {
            events.push(FlowEventRow {
                instance_id: ctx.id,
                seq: base + events.len() as i64,
                at: now,
                actor,
                event: event.to_string(),
                node,
                data,
            });
        };
        for (ei, e) in effects.iter().enumerate() {
            // Stable per step and effect: a retried command does not notify twice.
            let fx_key = format!("{}:{}:{ei}", ctx.id, state.rev);
            match e {
                Effect::OpenTask {
                    task,
                    ni,
                    node,
                    user,
                    acting_for,
                    kind,
                } => tasks.push(FlowTaskRow {
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
                    created_at: now,
                    closed_at: None,
                }),
                Effect::CloseTask {
                    task,
                    status,
                    reason,
                } => {
                    if !tasks.is_empty() {
                        tx.flow_tasks_insert(&std::mem::take(&mut tasks)).await?;
                    }
                    tx.flow_task_set_status(
                        ctx.id,
                        *task as i32,
                        task_status_str(*status),
                        Some(snake(reason).as_str()),
                        Some(now),
                    )
                    .await?;
                }
                Effect::SuspendTask { task } | Effect::ReopenTask { task } => {
                    if !tasks.is_empty() {
                        tx.flow_tasks_insert(&std::mem::take(&mut tasks)).await?;
                    }
                    let s = if matches!(e, Effect::SuspendTask { .. }) {
                        "suspended"
                    } else {
                        "open"
                    };
                    tx.flow_task_set_status(ctx.id, *task as i32, s, None, None)
                        .await?;
                }
                Effect::ScheduleTimer {
                    timer,
                    node,
                    due_at,
                } => {
                    tx.flow_timer_put(ctx.id, *timer as i32, node, *due_at)
                        .await?;
                }
                Effect::CancelTimer { timer } => {
                    tx.flow_timer_delete(ctx.id, *timer as i32).await?
                }
                Effect::RunAction {
                    ni,
                    node,
                    action,
                    idempotency_key,
                    attempt,
                    compensation,
                    recipients,
                    ..
                } => {
                    let outcome = self
                        .run_flow_action(tx, ctx, action, idempotency_key, recipients, now)
                        .await?;
                    ev(
                        outcome.event,
                        None,
                        Some(node.clone()),
                        json!({"idempotency_key": idempotency_key, "attempt": attempt,
                               "compensation": compensation, "result": outcome.data}),
                    );
                    if !compensation {
                        // The engine sees its own record update before it moves on.
                        if let Some(record) = outcome.record {
                            follow.push(Command::RecordChanged { record });
                        }
                        follow.push(match outcome.error {
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
                }
                Effect::CancelPendingActions => {
                    let n = tx
                        .skip_queued_runs(
                            &super::actions::flow_run_key(ctx.id, ""),
                            "the workflow instance was withdrawn or terminated",
                        )
                        .await?;
                    if n > 0 {
                        ev("actions.cancelled", None, None, json!({"runs": n}));
                    }
                }
                Effect::Notify {
                    kind,
                    users,
                    node,
                    template,
                } => {
                    let text = self.notice_text(tx, ctx, *kind, template.as_deref()).await;
                    let n = self
                        .notify_users(tx.as_mut(), ctx, users, &text, &fx_key, now)
                        .await?;
                    ev(
                        "notify",
                        None,
                        node.clone(),
                        json!({"kind": kind, "users": users, "template": template, "notified": n}),
                    )
                }
                Effect::Cc {
                    node,
                    users,
                    template,
                } => {
                    for u in users {
                        ccs.push(FlowCcRow {
                            user_id: u.clone(),
                            instance_id: ctx.id,
                            node: node.clone(),
                            flow_key: ctx.flow_key.clone(),
                            object: ctx.object.clone(),
                            record_id: ctx.record_id,
                            created_at: now,
                        });
                    }
                    let text = self
                        .notice_text(tx, ctx, NotifyKind::Cc, template.as_deref())
                        .await;
                    let n = self
                        .notify_users(tx.as_mut(), ctx, users, &text, &fx_key, now)
                        .await?;
                    ev(
                        "cc",
                        None,
                        Some(node.clone()),
                        json!({"users": users, "template": template, "notified": n}),
                    );
                }
                Effect::Audit {
                    event,
                    actor: a,
                    node,
                    data,
                } => ev(
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
                } => ev(
                    "incident",
                    None,
                    Some(node.clone()),
                    json!({"incident": incident, "code": code, "message": message}),
                ),
                Effect::IncidentResolved { incident } => ev(
                    "incident.resolved",
                    actor.map(str::to_owned),
                    None,
                    json!({"incident": incident}),
                ),
                Effect::Completed { status } => {
                    ev("instance.completed", None, None, json!({"status": status}))
                }
            }
        }
        if !tasks.is_empty() {
            tx.flow_tasks_insert(&tasks).await?;
        }
        if !ccs.is_empty() {
            tx.flow_cc_insert(&ccs).await?;
        }
        if !events.is_empty() {
            tx.flow_events_append(&events).await?;
        }
        Ok(follow)
    }

    /// The instance if `p` may see it (admin, initiator, assignee or CC recipient).
    pub(crate) async fn visible_instance(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<FlowInstanceRow> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
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

fn state_summary(id: Uuid, st: &InstanceState) -> Json {
    json!({"id": id, "status": status_str(st.status), "rev": st.rev,
           "positions": st.positions(),
           "open_tasks": st.open_tasks().map(|t| json!({"task": t.id, "user": t.user})).collect::<Vec<_>>()})
}

impl Workflows {
    /// Feed a record's current values to the running instances on it (`only`: one of them):
    /// wait conditions are re-checked, and an admin retry sees data fixed since. Each
    /// instance changes in its own command transaction, after the record write committed.
    pub(crate) async fn flow_record_changed(
        &self,
        tenant: TenantId,
        record: Uuid,
        only: Option<Uuid>,
    ) -> Result<()> {
        self.flow_records_changed(tenant, &[record], only).await
    }

    /// [`Self::flow_record_changed`] for many records (bulk updates): one read transaction.
    pub(crate) async fn flow_records_changed(
        &self,
        tenant: TenantId,
        records: &[Uuid],
        only: Option<Uuid>,
    ) -> Result<()> {
        let meta = self.core.meta(tenant).await?;
        let mut tx = self.core.begin(tenant, TxMode::Read).await?;
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
            self.run_command(tenant, id, None, &Command::RecordChanged { record }, None)
                .await?;
        }
        Ok(())
    }
}

/// A system guard for the platform's own record writes.
pub(crate) fn system_guard(user: Uuid) -> Guard {
    Guard::system(user)
}

impl Workflows {
    /// The text of a workflow notice: its template rendered over the record, or a default
    /// line per kind (Chinese first, then English) when it has none or it fails to render.
    async fn notice_text(
        &self,
        tx: &mut TxCtx,
        ctx: &InstCtx,
        kind: NotifyKind,
        template: Option<&str>,
    ) -> String {
        if let Some(t) = template {
            let meta = tx.meta.clone();
            let data = self.flow_template_data(tx.as_mut(), &meta, ctx).await;
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
}
