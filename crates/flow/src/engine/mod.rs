//! The step function: `(compiled flow, state, command, now, environment) → (state, effects)`.
//! Pure and deterministic: ids come from `state.seq`, time only from `now`.

mod actions;
mod approval;
mod timers;
mod tokens;

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::command::{AdminOp, CloseReason, Command, CommandError, Effect, NotifyKind, Transition};
use crate::compile::{CompiledFlow, On, hex};
use crate::definition::{NodeKind, WaitUntil, WithdrawPolicy};
use crate::duration::parse_duration;
use crate::env::Environment;
use crate::state::{InstanceState, Status, TaskStatus};

/// Apply one command. On success the new state has `rev + 1`, unless the command was a no-op
/// (a replayed timer or action result), in which case the state is returned unchanged and
/// there are no effects.
pub fn apply(
    flow: &CompiledFlow,
    state: &InstanceState,
    cmd: Command,
    now: DateTime<Utc>,
    env: &dyn Environment,
) -> Result<Transition, CommandError> {
    let mut cx = Cx {
        flow,
        st: state.clone(),
        fx: Vec::new(),
        now,
        env,
        queue: VecDeque::new(),
        steps: 0,
    };
    if !cx.handle(cmd)? {
        return Ok(Transition {
            state: state.clone(),
            effects: Vec::new(),
        });
    }
    cx.settle();
    cx.st.rev += 1;
    Ok(Transition {
        state: cx.st,
        effects: cx.fx,
    })
}

/// Stable idempotency key of a node instance's side effect (independent of the attempt).
pub fn idempotency_key(instance: &str, ni: u32, purpose: &str) -> String {
    let mut h = Sha256::new();
    h.update(instance.as_bytes());
    h.update([0]);
    h.update(ni.to_be_bytes());
    h.update([0]);
    h.update(purpose.as_bytes());
    hex(&h.finalize())
}

/// Guard against automatic loops the publish check could not see (should never trigger).
const MAX_STEPS: u32 = 10_000;

pub(crate) struct Cx<'a> {
    pub(crate) flow: &'a CompiledFlow,
    pub(crate) st: InstanceState,
    pub(crate) fx: Vec<Effect>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) env: &'a dyn Environment,
    /// Tokens in flight: (token id, node index, via edge index).
    pub(crate) queue: VecDeque<(u32, usize, Option<usize>)>,
    steps: u32,
}

impl Cx<'_> {
    pub(crate) fn next_id(&mut self) -> u32 {
        self.st.seq += 1;
        self.st.seq
    }

    pub(crate) fn audit(
        &mut self,
        event: &str,
        actor: Option<&str>,
        node: Option<&str>,
        data: Value,
    ) {
        self.fx.push(Effect::Audit {
            event: event.to_string(),
            actor: actor.map(str::to_string),
            node: node.map(str::to_string),
            data,
        });
    }

    /// Variables for conditions: `{"record", "initiator", "vars", "now"}` (`now`: the
    /// command's time, so `today()` in a condition follows the engine's clock).
    pub(crate) fn expr_vars(&self) -> Value {
        let mut initiator = match &self.st.initiator_attrs {
            Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        initiator.insert("id".into(), Value::String(self.st.initiator.clone()));
        json!({"record": self.st.record, "initiator": initiator, "vars": self.st.vars,
               "now": self.now.to_rfc3339()})
    }

    /// `start + duration`, on the business calendar the timer names, else on the flow's
    /// `settings.calendar`, else in elapsed time.
    pub(crate) fn add_duration(
        &self,
        start: DateTime<Utc>,
        iso: &str,
        calendar: Option<&str>,
    ) -> DateTime<Utc> {
        let calendar = calendar.or(self.flow.definition().settings.calendar.as_deref());
        match calendar {
            Some(cal) => self.env.add_business_duration(start, iso, cal),
            // Validated at publish; a failure here would be a bug, fall back to "now".
            None => parse_duration(iso).map(|d| start + d).unwrap_or(start),
        }
    }

    fn handle(&mut self, cmd: Command) -> Result<bool, CommandError> {
        if let Command::Start {
            initiator,
            initiator_attrs,
            record,
            chosen,
            vars,
        } = cmd
        {
            if self.st.rev != 0 {
                return Err(CommandError::AlreadyStarted);
            }
            if self.st.id.is_empty() {
                // The id seeds the idempotency keys of every side effect.
                return Err(CommandError::Invalid(
                    "create the state with InstanceState::new(instance id)".into(),
                ));
            }
            self.st.initiator = initiator;
            // `{}` and null mean the same; keep one form so the state round-trips through JSON.
            self.st.initiator_attrs = match initiator_attrs {
                Value::Object(m) if m.is_empty() => Value::Null,
                other => other,
            };
            self.st.record = record;
            self.st.chosen = chosen;
            self.st.vars = vars;
            self.st.status = Status::Running;
            let start = self.flow.start;
            let who = self.st.initiator.clone();
            self.audit("started", Some(&who), None, json!({"flow": self.flow.definition().key, "version": self.flow.definition().version}));
            let tok = self.new_token(start);
            self.queue.push_back((tok, start, None));
            return Ok(true);
        }
        if self.st.rev == 0 {
            return Err(CommandError::NotStarted);
        }
        // Replayed background results on a finished instance are harmless no-ops.
        if self.st.status.is_final() {
            return match cmd {
                Command::TimerFired { .. }
                | Command::ActionDone { .. }
                | Command::ActionFailed { .. } => Ok(false),
                Command::Decide { task, .. }
                | Command::Return { task, .. }
                | Command::Transfer { task, .. }
                | Command::Delegate { task, .. }
                | Command::AddSigner { task, .. }
                | Command::Resubmit { task, .. } => Err(self.closed_task_error(task)),
                _ => Err(CommandError::Finished(self.st.status)),
            };
        }
        match cmd {
            Command::Start { .. } => Err(CommandError::AlreadyStarted),
            Command::Decide {
                task,
                actor,
                acting_for,
                decision,
                comment,
            } => self.decide(task, &actor, acting_for, decision, comment),
            Command::Return {
                task,
                actor,
                to_node,
                comment,
            } => self.return_to(task, &actor, &to_node, comment),
            Command::Transfer {
                task,
                actor,
                to,
                comment,
            } => self.transfer(task, &actor, &to, comment, false),
            Command::Delegate { task, actor, to } => self.transfer(task, &actor, &to, None, true),
            Command::AddSigner {
                task,
                actor,
                position,
                users,
                comment,
            } => self.add_signer(task, &actor, position, users, comment),
            Command::Resubmit {
                task,
                actor,
                record,
            } => self.resubmit(task, &actor, record),
            Command::Withdraw { actor, comment } => self.withdraw(&actor, comment),
            Command::Urge { actor, comment } => {
                if actor != self.st.initiator {
                    return Err(CommandError::NotInitiator);
                }
                let users: Vec<String> = self.st.open_tasks().map(|t| t.user.clone()).collect();
                if users.is_empty() {
                    return Err(CommandError::NotAllowed("no open task to urge".into()));
                }
                self.fx.push(Effect::Notify {
                    kind: NotifyKind::Urge,
                    users: users.clone(),
                    node: None,
                    template: None,
                });
                self.audit(
                    "urged",
                    Some(&actor),
                    None,
                    json!({"users": users, "comment": comment}),
                );
                Ok(true)
            }
            Command::Comment { actor, text, task } => {
                self.audit(
                    "commented",
                    Some(&actor),
                    None,
                    json!({"text": text, "task": task}),
                );
                Ok(true)
            }
            Command::TimerFired { timer } => self.timer_fired(timer),
            Command::ActionDone { ni, result } => self.action_done(ni, result),
            Command::ActionFailed {
                ni,
                error,
                retryable,
            } => self.action_failed(ni, error, retryable),
            Command::RecordChanged { record } => self.record_changed(record),
            Command::Admin { actor, op } => self.admin(&actor, op),
        }
    }

    pub(crate) fn closed_task_error(&self, task: u32) -> CommandError {
        match self.st.task_status(task) {
            Some(TaskStatus::Approved | TaskStatus::Rejected) => CommandError::AlreadyDecided(task),
            Some(status) => CommandError::TaskClosed { task, status },
            None => CommandError::TaskNotFound(task),
        }
    }

    fn withdraw(&mut self, actor: &str, comment: Option<String>) -> Result<bool, CommandError> {
        if actor != self.st.initiator {
            return Err(CommandError::NotInitiator);
        }
        match self.flow.definition().settings.withdraw {
            WithdrawPolicy::Never => {
                return Err(CommandError::WithdrawNotAllowed(
                    "this flow cannot be withdrawn".into(),
                ));
            }
            WithdrawPolicy::UntilFirstAction if self.st.acted => {
                return Err(CommandError::WithdrawNotAllowed(
                    "an approver has already acted".into(),
                ));
            }
            _ => {}
        }
        self.terminate_all(CloseReason::Withdrawn);
        self.fx.push(Effect::CancelPendingActions);
        // Compensations of completed actions, newest first, each through the outbox.
        let done = std::mem::take(&mut self.st.compensable);
        for d in done.iter().rev() {
            if let Some(i) = self.flow.node_index(&d.node)
                && let NodeKind::Action {
                    compensate: Some(c),
                    ..
                } = self.flow.node_kind(i)
            {
                self.fx.push(Effect::RunAction {
                    ni: d.ni,
                    node: d.node.clone(),
                    action: serde_json::to_value(c).unwrap_or(Value::Null),
                    idempotency_key: idempotency_key(&self.st.id, d.ni, "compensate"),
                    attempt: 1,
                    not_before: None,
                    compensation: true,
                    recipients: self.recipients(c, &d.node),
                });
            }
        }
        self.audit("withdrawn", Some(actor), None, json!({"comment": comment}));
        self.finish(Status::Withdrawn);
        Ok(true)
    }

    /// Cancel every token, node instance, task, timer and join round.
    pub(crate) fn terminate_all(&mut self, reason: CloseReason) {
        let nis: Vec<u32> = self.st.nodes.iter().map(|n| n.id).collect();
        for ni in nis {
            self.drop_node_instance(ni, reason);
        }
        self.st.tokens.clear();
        self.st.joins.clear();
        for inc in std::mem::take(&mut self.st.incidents) {
            self.fx.push(Effect::IncidentResolved { incident: inc.id });
        }
        self.queue.clear();
    }

    /// Close a node instance's open tasks (`Cancelled`), cancel its timers, archive its tasks.
    pub(crate) fn drop_node_instance(&mut self, ni: u32, reason: CloseReason) {
        let mut kept = Vec::with_capacity(self.st.tasks.len());
        for mut t in std::mem::take(&mut self.st.tasks) {
            if t.ni != ni {
                kept.push(t);
                continue;
            }
            if matches!(t.status, TaskStatus::Open | TaskStatus::Suspended) {
                t.status = TaskStatus::Cancelled;
                self.fx.push(Effect::CloseTask {
                    task: t.id,
                    status: TaskStatus::Cancelled,
                    reason,
                });
            }
            self.st.closed.insert(t.id, t.status);
        }
        self.st.tasks = kept;
        let timers: Vec<u32> = self
            .st
            .timers
            .iter()
            .filter(|t| t.ni == ni)
            .map(|t| t.id)
            .collect();
        for id in timers {
            self.fx.push(Effect::CancelTimer { timer: id });
        }
        self.st.timers.retain(|t| t.ni != ni);
        self.st.nodes.retain(|n| n.id != ni);
        for tok in &mut self.st.tokens {
            if tok.ni == Some(ni) {
                tok.ni = None;
            }
        }
    }

    pub(crate) fn finish(&mut self, status: Status) {
        self.st.status = status;
        self.st.outcome = match status {
            Status::Approved => Some(crate::definition::Outcome::Approved),
            Status::Rejected => Some(crate::definition::Outcome::Rejected),
            _ => self.st.outcome,
        };
        let kind = match status {
            Status::Approved => Some(NotifyKind::Approved),
            Status::Rejected => Some(NotifyKind::Rejected),
            _ => None,
        };
        if let Some(kind) = kind {
            self.fx.push(Effect::Notify {
                kind,
                users: vec![self.st.initiator.clone()],
                node: None,
                template: None,
            });
        }
        self.audit("completed", None, None, json!({"status": status}));
        self.fx.push(Effect::Completed { status });
    }

    fn token_ni(&self, token: u32) -> Option<u32> {
        self.st
            .tokens
            .iter()
            .find(|t| t.id == token)
            .and_then(|t| t.ni)
    }

    fn record_changed(&mut self, record: Value) -> Result<bool, CommandError> {
        self.st.record = record;
        self.audit("record_changed", None, None, Value::Null);
        let waits: Vec<(u32, usize)> = self
            .st
            .nodes
            .iter()
            .filter_map(|x| self.flow.node_index(&x.node).map(|n| (x.id, n)))
            .filter(|(_, n)| matches!(self.flow.node_kind(*n), NodeKind::Wait { .. }))
            .collect();
        for (ni, n) in waits {
            match self.flow.node_kind(n) {
                NodeKind::Wait {
                    until: WaitUntil::Condition { .. },
                    ..
                } => {
                    if let Some(true) = self.eval_wait(n, ni) {
                        self.leave_waiting(ni, n, &On::Plain, CloseReason::Decided);
                    }
                }
                NodeKind::Wait {
                    until: WaitUntil::Field { field },
                    ..
                } => {
                    let due = self
                        .st
                        .record
                        .get(field)
                        .and_then(Value::as_str)
                        .and_then(crate::duration::parse_instant);
                    let current = self
                        .st
                        .timers
                        .iter()
                        .find(|t| t.ni == ni && t.spec == "@wait")
                        .map(|t| (t.id, t.due));
                    if let Some(due) = due
                        && current.map(|c| c.1) != Some(due)
                    {
                        if let Some((id, _)) = current {
                            self.st.timers.retain(|t| t.id != id);
                            self.fx.push(Effect::CancelTimer { timer: id });
                        }
                        let node = self.flow.nodes[n].id.clone();
                        if due <= self.now {
                            self.leave_waiting(ni, n, &On::Plain, CloseReason::Decided);
                        } else {
                            self.schedule_timer(ni, &node, "@wait", due, None);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(true)
    }

    /// Evaluate a wait-until-condition; an evaluation error raises an incident (None).
    pub(crate) fn eval_wait(&mut self, n: usize, ni: u32) -> Option<bool> {
        let cond = self.flow.nodes[n].wait_cond.clone()?;
        match cond.eval_bool(&self.expr_vars()) {
            Ok(b) => Some(b),
            Err(e) => {
                if let Some(tok) = self
                    .st
                    .tokens
                    .iter()
                    .find(|t| t.ni == Some(ni))
                    .map(|t| t.id)
                    && !self.st.incidents.iter().any(|i| i.token == tok)
                {
                    self.raise_incident(tok, n, "condition.error", &e);
                }
                None
            }
        }
    }

    fn admin(&mut self, actor: &str, op: AdminOp) -> Result<bool, CommandError> {
        match op {
            AdminOp::Cancel { reason } => {
                self.terminate_all(CloseReason::Terminated);
                self.fx.push(Effect::CancelPendingActions);
                self.audit("cancelled", Some(actor), None, json!({"reason": reason}));
                self.finish(Status::Terminated);
                Ok(true)
            }
            AdminOp::Retry { incident } => {
                let inc = self.take_incident(incident)?;
                self.audit(
                    "incident_retry",
                    Some(actor),
                    Some(&inc.node),
                    json!({"incident": incident}),
                );
                self.retry_incident(inc)?;
                Ok(true)
            }
            AdminOp::Skip { incident, edge } => {
                let inc = self
                    .st
                    .incidents
                    .iter()
                    .find(|i| i.id == incident)
                    .cloned()
                    .ok_or(CommandError::IncidentNotFound(incident))?;
                self.skip_incident(&inc, edge.as_deref())?;
                self.take_incident(incident)?;
                self.audit(
                    "incident_skip",
                    Some(actor),
                    Some(&inc.node),
                    json!({"incident": incident, "edge": edge}),
                );
                Ok(true)
            }
        }
    }
}
