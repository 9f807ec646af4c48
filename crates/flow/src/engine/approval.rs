//! Approval nodes: assignee resolution, outcome rules (依次/会签/或签/按比例) and the task
//! operations (decide, 退回, 转交, 委托, 加签, resubmit).

use serde_json::{Value, json};

use super::Cx;
use crate::command::{CloseReason, CommandError, Decision, Effect, NotifyKind};
use crate::compile::On;
use crate::definition::{
    Approval, AssigneeRule, DedupePolicy, Mode, NodeKind, OnEmpty, Outcome, ResubmitPolicy,
    SelfApproval, SignerPosition, ThresholdPolicy,
};
use crate::env::ResolveContext;
use crate::state::{NodeInstance, Status, Task, TaskKind, TaskStatus};

impl Cx<'_> {
    fn approval_def(&self, n: usize) -> Option<&Approval> {
        match self.flow.node_kind(n) {
            NodeKind::Approval(a) => Some(a),
            _ => None,
        }
    }

    /// Resolve rules to users: fixed users, the initiator, initiator's choice and record user
    /// fields in the core; roles and the org chart through the environment. Order-preserving
    /// and duplicate-free.
    pub(crate) fn resolve_rules(&self, rules: &[AssigneeRule], node: &str) -> Vec<String> {
        let ctx = ResolveContext {
            instance_id: &self.st.id,
            node,
            initiator: &self.st.initiator,
            initiator_attrs: &self.st.initiator_attrs,
            record: &self.st.record,
        };
        let mut out: Vec<String> = Vec::new();
        for r in rules {
            let users = match r {
                AssigneeRule::Users { ids } => ids.clone(),
                AssigneeRule::Initiator {} => vec![self.st.initiator.clone()],
                AssigneeRule::InitiatorChooses {} => {
                    self.st.chosen.get(node).cloned().unwrap_or_default()
                }
                AssigneeRule::Field { field } => match self.st.record.get(field) {
                    Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                },
                other => self.env.resolve_assignees(other, &ctx),
            };
            for u in users {
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
        out
    }

    fn open_task(
        &mut self,
        ni: u32,
        node: &str,
        user: &str,
        kind: TaskKind,
        parent: Option<u32>,
        acting_for: Option<String>,
    ) -> u32 {
        let id = self.next_id();
        self.st.tasks.push(Task {
            id,
            ni,
            user: user.to_string(),
            acting_for: acting_for.clone(),
            kind,
            status: TaskStatus::Open,
            parent,
        });
        self.fx.push(Effect::OpenTask {
            task: id,
            ni,
            node: node.to_string(),
            user: user.to_string(),
            acting_for,
            kind,
        });
        id
    }

    pub(crate) fn activate_approval(&mut self, tok: u32, n: usize) {
        let Some(a) = self.approval_def(n).cloned() else {
            return;
        };
        let node = self.flow.nodes[n].id.clone();
        let settings = self.flow.definition().settings.clone();
        let ni = self.next_id();
        if let Some(t) = self.st.tokens.iter_mut().find(|t| t.id == tok) {
            t.ni = Some(ni);
        }
        self.st.nodes.push(NodeInstance::new(ni, &node));

        let mut users = self.resolve_rules(&a.assignees, &node);
        if settings.self_approval == SelfApproval::Forbid {
            users.retain(|u| *u != self.st.initiator);
        }
        if users.is_empty() {
            match &a.on_empty {
                OnEmpty::AutoApprove | OnEmpty::AutoReject => {
                    let outcome = if a.on_empty == OnEmpty::AutoApprove {
                        Outcome::Approved
                    } else {
                        Outcome::Rejected
                    };
                    self.audit(
                        "empty_assignees",
                        None,
                        Some(&node),
                        json!({"policy": a.on_empty, "outcome": outcome}),
                    );
                    self.complete_approval(ni, outcome, CloseReason::NodeDecided);
                    return;
                }
                OnEmpty::Assign { to } => {
                    users = self.resolve_rules(to, &node);
                    self.audit(
                        "empty_assignees",
                        None,
                        Some(&node),
                        json!({"policy": "assign", "users": users}),
                    );
                }
                OnEmpty::Incident => {}
            }
            if users.is_empty() {
                self.raise_incident(
                    tok,
                    n,
                    "approval.no_assignees",
                    "the assignees resolved to nobody",
                );
                return;
            }
        }

        // Slots already decided: same approver earlier (dedupe) or the initiator (self-approval skip).
        let mut auto = Vec::new();
        for u in &users {
            let reason = if settings.self_approval == SelfApproval::Skip && *u == self.st.initiator
            {
                Some("self_approval")
            } else if settings.dedupe == DedupePolicy::AutoApproveRepeat
                && self.st.approved_by.contains(u)
            {
                Some("dedupe")
            } else {
                None
            };
            if let Some(reason) = reason {
                self.audit(
                    "auto_approved",
                    Some(u),
                    Some(&node),
                    json!({"reason": reason}),
                );
                auto.push(u.clone());
            }
        }
        let slots = users.len() as u32;
        let need = need_for(&a.mode, slots);
        if let Some(x) = self.st.nodes.iter_mut().find(|x| x.id == ni) {
            x.assignees = users.clone();
            x.slots = slots;
            x.need = need;
            x.approved = auto.len() as u32;
        }
        self.schedule_boundary_timers(ni, n);
        if let Some(outcome) = self.node_outcome(ni, &a.mode) {
            self.complete_approval(ni, outcome, CloseReason::NodeDecided);
            return;
        }
        let pending: Vec<String> = users.into_iter().filter(|u| !auto.contains(u)).collect();
        if a.mode == Mode::Sequential {
            let mut queue = pending.into_iter();
            if let Some(first) = queue.next() {
                self.open_task(ni, &node, &first, TaskKind::Normal, None, None);
            }
            let rest: Vec<String> = queue.collect();
            if let Some(x) = self.st.nodes.iter_mut().find(|x| x.id == ni) {
                x.queue = rest;
            }
        } else {
            for u in pending {
                self.open_task(ni, &node, &u, TaskKind::Normal, None, None);
            }
        }
    }

    fn node_outcome(&self, ni: u32, mode: &Mode) -> Option<Outcome> {
        let x = self.st.nodes.iter().find(|x| x.id == ni)?;
        if x.approved >= x.need {
            return Some(Outcome::Approved);
        }
        let rejected = match mode {
            Mode::Ratio {
                early_reject: true, ..
            } => x.rejected > x.slots.saturating_sub(x.need),
            Mode::Ratio {
                early_reject: false,
                ..
            } => x.approved + x.rejected >= x.slots,
            _ => x.rejected >= 1,
        };
        rejected.then_some(Outcome::Rejected)
    }

    /// The node is decided: cancel the remaining tasks and follow `on: approved|rejected`.
    /// A rejection without a `rejected` edge ends the instance as rejected.
    pub(crate) fn complete_approval(&mut self, ni: u32, outcome: Outcome, reason: CloseReason) {
        let Some(x) = self.st.nodes.iter().find(|x| x.id == ni).cloned() else {
            return;
        };
        let Some(n) = self.flow.node_index(&x.node) else {
            return;
        };
        self.audit("node_decided", None, Some(&x.node), json!({"outcome": outcome, "approved": x.approved, "rejected": x.rejected, "slots": x.slots}));
        let tok = self
            .st
            .tokens
            .iter()
            .find(|t| t.ni == Some(ni))
            .map(|t| t.id);
        self.drop_node_instance(
            ni,
            if reason == CloseReason::Timeout {
                reason
            } else {
                CloseReason::NodeDecided
            },
        );
        let Some(tok) = tok else { return };
        let on = if outcome == Outcome::Approved {
            On::Approved
        } else {
            On::Rejected
        };
        if !self.route(tok, n, &on) {
            self.audit("implicit_reject_end", None, Some(&x.node), Value::Null);
            self.st.outcome = Some(Outcome::Rejected);
            self.terminate_all(CloseReason::Terminated);
            self.finish(Status::Rejected);
        }
    }

    /// Find an open task the actor may act on.
    fn open_task_for(
        &self,
        task: u32,
        actor: &str,
        acting_for: Option<&str>,
    ) -> Result<Task, CommandError> {
        let t = match self.st.task(task) {
            Some(t) if t.status == TaskStatus::Open => t.clone(),
            _ => return Err(self.closed_task_error(task)),
        };
        let ok = t.user == actor || acting_for.is_some_and(|f| f == t.user);
        if !ok {
            return Err(CommandError::NotAssignee {
                task,
                actor: actor.to_string(),
            });
        }
        Ok(t)
    }

    fn set_task_status(&mut self, task: u32, status: TaskStatus) {
        if let Some(t) = self.st.tasks.iter_mut().find(|t| t.id == task) {
            t.status = status;
        }
    }

    fn node_of_task(&self, t: &Task) -> Result<(usize, Approval), CommandError> {
        let x = self
            .st
            .nodes
            .iter()
            .find(|x| x.id == t.ni)
            .ok_or(CommandError::TaskNotFound(t.id))?;
        let n = self
            .flow
            .node_index(&x.node)
            .ok_or(CommandError::TaskNotFound(t.id))?;
        let a = self
            .approval_def(n)
            .cloned()
            .ok_or_else(|| CommandError::NotAllowed("not an approval task".into()))?;
        Ok((n, a))
    }

    pub(crate) fn decide(
        &mut self,
        task: u32,
        actor: &str,
        acting_for: Option<String>,
        decision: Decision,
        comment: Option<String>,
    ) -> Result<bool, CommandError> {
        let t = self.open_task_for(task, actor, acting_for.as_deref())?;
        if t.kind == TaskKind::Resubmit {
            return Err(CommandError::NotAllowed(
                "the initiator resubmits this task".into(),
            ));
        }
        let (n, a) = self.node_of_task(&t)?;
        let node = self.flow.nodes[n].id.clone();
        self.st.acted = true;
        let status = if decision == Decision::Approve {
            TaskStatus::Approved
        } else {
            TaskStatus::Rejected
        };
        self.set_task_status(task, status);
        self.fx.push(Effect::CloseTask {
            task,
            status,
            reason: CloseReason::Decided,
        });
        // Decisions by a delegate are recorded as "actor acting for assignee".
        let acting_for = if actor != t.user {
            Some(t.user.clone())
        } else {
            t.acting_for.clone()
        };
        self.audit(
            "task_decided",
            Some(actor),
            Some(&node),
            json!({"task": task, "decision": decision, "comment": comment, "acting_for": acting_for, "kind": t.kind}),
        );
        match t.kind {
            TaskKind::Before => {
                let parent = t.parent.unwrap_or(0);
                let waiting = self.st.tasks.iter().any(|x| {
                    x.parent == Some(parent)
                        && x.kind == TaskKind::Before
                        && x.status == TaskStatus::Open
                });
                if !waiting {
                    self.set_task_status(parent, TaskStatus::Open);
                    self.fx.push(Effect::ReopenTask { task: parent });
                }
            }
            TaskKind::After => {
                let parent = t.parent.unwrap_or(0);
                if decision == Decision::Reject {
                    let siblings: Vec<u32> = self
                        .st
                        .tasks
                        .iter()
                        .filter(|x| {
                            x.parent == Some(parent)
                                && x.kind == TaskKind::After
                                && x.status == TaskStatus::Open
                        })
                        .map(|x| x.id)
                        .collect();
                    for s in siblings {
                        self.set_task_status(s, TaskStatus::Cancelled);
                        self.fx.push(Effect::CloseTask {
                            task: s,
                            status: TaskStatus::Cancelled,
                            reason: CloseReason::NodeDecided,
                        });
                    }
                    self.vote(t.ni, n, &a, Decision::Reject, actor);
                } else {
                    let waiting = self.st.tasks.iter().any(|x| {
                        x.parent == Some(parent)
                            && x.kind == TaskKind::After
                            && x.status == TaskStatus::Open
                    });
                    if !waiting {
                        self.vote(t.ni, n, &a, Decision::Approve, actor);
                    }
                }
            }
            _ => self.vote(
                t.ni,
                n,
                &a,
                decision,
                acting_for.as_deref().unwrap_or(actor),
            ),
        }
        Ok(true)
    }

    /// Count a vote, decide the node if the rule allows, else hand the next sequential task out.
    fn vote(&mut self, ni: u32, n: usize, a: &Approval, decision: Decision, user: &str) {
        if let Some(x) = self.st.nodes.iter_mut().find(|x| x.id == ni) {
            match decision {
                Decision::Approve => x.approved += 1,
                Decision::Reject => x.rejected += 1,
            }
        }
        if decision == Decision::Approve && !self.st.approved_by.iter().any(|u| u == user) {
            self.st.approved_by.push(user.to_string());
        }
        if let Some(outcome) = self.node_outcome(ni, &a.mode) {
            self.complete_approval(ni, outcome, CloseReason::NodeDecided);
            return;
        }
        let busy =
            self.st.tasks.iter().any(|t| {
                t.ni == ni && matches!(t.status, TaskStatus::Open | TaskStatus::Suspended)
            });
        if !busy {
            let next = self.st.nodes.iter_mut().find(|x| x.id == ni).and_then(|x| {
                if x.queue.is_empty() {
                    None
                } else {
                    Some(x.queue.remove(0))
                }
            });
            if let Some(u) = next {
                let node = self.flow.nodes[n].id.clone();
                self.open_task(ni, &node, &u, TaskKind::Normal, None, None);
            }
        }
    }

    pub(crate) fn transfer(
        &mut self,
        task: u32,
        actor: &str,
        to: &str,
        comment: Option<String>,
        delegate: bool,
    ) -> Result<bool, CommandError> {
        let t = self.open_task_for(task, actor, None)?;
        let (n, a) = self.node_of_task(&t)?;
        let allowed = if delegate {
            a.ops.delegate
        } else {
            a.ops.transfer
        };
        if !allowed || t.kind == TaskKind::Resubmit {
            return Err(CommandError::NotAllowed(
                if delegate {
                    "delegation is disabled on this node"
                } else {
                    "transfer is disabled on this node"
                }
                .into(),
            ));
        }
        if to.is_empty() || to == actor {
            return Err(CommandError::Invalid(
                "transfer target must be another user".into(),
            ));
        }
        let node = self.flow.nodes[n].id.clone();
        self.st.acted = true;
        let reason = if delegate {
            CloseReason::Delegated
        } else {
            CloseReason::Transferred
        };
        self.set_task_status(task, TaskStatus::Transferred);
        self.fx.push(Effect::CloseTask {
            task,
            status: TaskStatus::Transferred,
            reason,
        });
        let acting_for = if delegate {
            Some(t.acting_for.clone().unwrap_or(t.user.clone()))
        } else {
            None
        };
        let new = self.open_task(t.ni, &node, to, t.kind, t.parent, acting_for.clone());
        // Added signers hanging off the old task now hang off the new one.
        for x in self.st.tasks.iter_mut().filter(|x| x.parent == Some(task)) {
            x.parent = Some(new);
        }
        if let Some(x) = self.st.nodes.iter_mut().find(|x| x.id == t.ni)
            && !x.assignees.iter().any(|u| u == to)
        {
            x.assignees.push(to.to_string());
        }
        let event = if delegate {
            "task_delegated"
        } else {
            "task_transferred"
        };
        self.audit(event, Some(actor), Some(&node), json!({"task": task, "new_task": new, "to": to, "acting_for": acting_for, "comment": comment}));
        Ok(true)
    }

    pub(crate) fn add_signer(
        &mut self,
        task: u32,
        actor: &str,
        position: SignerPosition,
        users: Vec<String>,
        comment: Option<String>,
    ) -> Result<bool, CommandError> {
        let t = self.open_task_for(task, actor, None)?;
        let (n, a) = self.node_of_task(&t)?;
        if !a.ops.add_signer.contains(&position) {
            return Err(CommandError::NotAllowed(format!(
                "{position:?} add-signer is not enabled on this node"
            )));
        }
        if !matches!(t.kind, TaskKind::Normal | TaskKind::Parallel) {
            return Err(CommandError::NotAllowed(
                "an added signer cannot add signers".into(),
            ));
        }
        let mut added: Vec<String> = Vec::new();
        for u in users {
            if !u.is_empty() && u != t.user && !added.contains(&u) {
                added.push(u);
            }
        }
        if added.is_empty() {
            return Err(CommandError::Invalid(
                "add-signer needs at least one other user".into(),
            ));
        }
        let node = self.flow.nodes[n].id.clone();
        self.st.acted = true;
        match position {
            SignerPosition::Before => {
                self.set_task_status(task, TaskStatus::Suspended);
                self.fx.push(Effect::SuspendTask { task });
                for u in &added {
                    self.open_task(t.ni, &node, u, TaskKind::Before, Some(task), None);
                }
            }
            SignerPosition::After => {
                self.set_task_status(task, TaskStatus::Approved);
                self.fx.push(Effect::CloseTask {
                    task,
                    status: TaskStatus::Approved,
                    reason: CloseReason::Forwarded,
                });
                for u in &added {
                    self.open_task(t.ni, &node, u, TaskKind::After, Some(task), None);
                }
            }
            SignerPosition::Parallel => {
                let k = added.len() as u32;
                let sequential = a.mode == Mode::Sequential;
                if let Some(x) = self.st.nodes.iter_mut().find(|x| x.id == t.ni) {
                    x.slots += k;
                    x.need = match &a.mode {
                        Mode::Ratio {
                            on_add_signer: ThresholdPolicy::Keep,
                            ..
                        } => x.need,
                        mode => need_for(mode, x.slots),
                    };
                    x.assignees.extend(added.iter().cloned());
                    if sequential {
                        // Sequential: the added signers come right after the current one.
                        let mut q = added.clone();
                        q.append(&mut x.queue);
                        x.queue = q;
                    }
                }
                if !sequential {
                    for u in &added {
                        self.open_task(t.ni, &node, u, TaskKind::Parallel, None, None);
                    }
                }
            }
        }
        self.audit(
            "signer_added",
            Some(actor),
            Some(&node),
            json!({"task": task, "position": position, "users": added, "comment": comment}),
        );
        Ok(true)
    }

    /// 退回: cancel everything downstream of the target (tokens, tasks, timers, join arrivals on
    /// edges coming from there) and restart the target. Back to start = the initiator resubmits.
    pub(crate) fn return_to(
        &mut self,
        task: u32,
        actor: &str,
        to_node: &str,
        comment: Option<String>,
    ) -> Result<bool, CommandError> {
        let t = self.open_task_for(task, actor, None)?;
        let (n, a) = self.node_of_task(&t)?;
        let target = self
            .flow
            .node_index(to_node)
            .ok_or_else(|| CommandError::InvalidReturnTarget(to_node.into()))?;
        if !a.ops.return_to.iter().any(|r| r == to_node)
            || !self.st.visited.iter().any(|v| v == to_node)
        {
            return Err(CommandError::InvalidReturnTarget(to_node.into()));
        }
        let from = self.flow.nodes[n].id.clone();
        self.st.acted = true;
        self.set_task_status(task, TaskStatus::Cancelled);
        self.fx.push(Effect::CloseTask {
            task,
            status: TaskStatus::Cancelled,
            reason: CloseReason::Returned,
        });

        let doomed: Vec<(u32, Option<u32>)> = self
            .st
            .tokens
            .iter()
            .filter(|tk| {
                tk.ni == Some(t.ni)
                    || self
                        .flow
                        .node_index(&tk.node)
                        .is_some_and(|p| self.flow.reaches(target, p))
            })
            .map(|tk| (tk.id, tk.ni))
            .collect();
        let alone = doomed.len() == 1;
        for (tok, ni) in &doomed {
            if let Some(ni) = ni {
                self.drop_node_instance(*ni, CloseReason::Returned);
            }
            let incidents: Vec<u32> = self
                .st
                .incidents
                .iter()
                .filter(|i| i.token == *tok)
                .map(|i| i.id)
                .collect();
            for i in incidents {
                self.resolve_incident(i);
            }
            self.remove_token(*tok);
        }
        // Stale arrivals from the cancelled region must not make a join fire early later.
        let flow = self.flow;
        for round in &mut self.st.joins {
            round.arrived.retain(|e| {
                flow.edge_index(e)
                    .is_none_or(|e| !flow.reaches(target, flow.edges[e].from))
            });
        }
        self.st.joins.retain(|r| !r.arrived.is_empty());
        self.audit(
            "returned",
            Some(actor),
            Some(&from),
            json!({"task": task, "to": to_node, "comment": comment}),
        );

        let tok = self.new_token(target);
        if target == self.flow.start {
            let ni = self.next_id();
            let mut x = NodeInstance::new(ni, to_node);
            if self.flow.definition().settings.resubmit == ResubmitPolicy::JumpBack && alone {
                x.returned_from = Some(from);
            }
            self.st.nodes.push(x);
            if let Some(tk) = self.st.tokens.iter_mut().find(|tk| tk.id == tok) {
                tk.ni = Some(ni);
            }
            let initiator = self.st.initiator.clone();
            self.open_task(ni, to_node, &initiator, TaskKind::Resubmit, None, None);
            self.fx.push(Effect::Notify {
                kind: NotifyKind::Returned,
                users: vec![initiator],
                node: Some(to_node.into()),
                template: None,
            });
        } else {
            self.queue.push_back((tok, target, None));
        }
        Ok(true)
    }

    pub(crate) fn resubmit(
        &mut self,
        task: u32,
        actor: &str,
        record: Option<Value>,
    ) -> Result<bool, CommandError> {
        let t = self.open_task_for(task, actor, None)?;
        if t.kind != TaskKind::Resubmit {
            return Err(CommandError::NotAllowed("not a resubmit task".into()));
        }
        if let Some(r) = record {
            self.st.record = r;
        }
        self.set_task_status(task, TaskStatus::Approved);
        self.fx.push(Effect::CloseTask {
            task,
            status: TaskStatus::Approved,
            reason: CloseReason::Decided,
        });
        let x = self
            .st
            .nodes
            .iter()
            .find(|x| x.id == t.ni)
            .cloned()
            .ok_or(CommandError::TaskNotFound(task))?;
        let tok = self
            .st
            .tokens
            .iter()
            .find(|tk| tk.ni == Some(t.ni))
            .map(|tk| tk.id);
        self.drop_node_instance(t.ni, CloseReason::Decided);
        self.audit(
            "resubmitted",
            Some(actor),
            Some(&x.node),
            json!({"jump_back": x.returned_from}),
        );
        let Some(tok) = tok else { return Ok(true) };
        match x
            .returned_from
            .as_deref()
            .and_then(|f| self.flow.node_index(f))
        {
            Some(back) => {
                let id = self.flow.nodes[back].id.clone();
                if let Some(tk) = self.st.tokens.iter_mut().find(|tk| tk.id == tok) {
                    tk.node = id;
                }
                self.queue.push_back((tok, back, None));
            }
            None => {
                let start = self.flow.start;
                self.route(tok, start, &On::Plain);
            }
        }
        Ok(true)
    }
}

/// Approvals needed for `slots` voters under `mode`.
fn need_for(mode: &Mode, slots: u32) -> u32 {
    match mode {
        Mode::Sequential | Mode::All => slots,
        Mode::Any => 1.min(slots),
        Mode::Ratio { approve_ratio, .. } => {
            // Small epsilon so that 0.6 × 5 = 3 (not 3.0000000000000004 → 4).
            let need = (approve_ratio * f64::from(slots) - 1e-9).ceil();
            (need.max(1.0) as u32).min(slots)
        }
    }
}
