//! Token movement: entering nodes, gateways, joins (per-edge arrival flags per round),
//! the inclusive-join reachability rule, incidents and completion.

use serde_json::{Value, json};

use super::Cx;
use crate::command::{CloseReason, CommandError, Effect};
use crate::compile::On;
use crate::definition::{NodeKind, Outcome, WaitUntil};
use crate::state::{Incident, JoinRound, NodeInstance, Status, Token};

impl Cx<'_> {
    pub(crate) fn new_token(&mut self, n: usize) -> u32 {
        let id = self.next_id();
        self.st.tokens.push(Token {
            id,
            node: self.flow.nodes[n].id.clone(),
            ni: None,
        });
        id
    }

    fn token_mut(&mut self, tok: u32) -> Option<&mut Token> {
        self.st.tokens.iter_mut().find(|t| t.id == tok)
    }

    pub(crate) fn remove_token(&mut self, tok: u32) {
        self.st.tokens.retain(|t| t.id != tok);
    }

    /// Move a token along an edge (it is entered when the queue runs).
    pub(crate) fn take(&mut self, tok: u32, edge: usize) {
        let to = self.flow.edges[edge].to;
        let id = self.flow.nodes[to].id.clone();
        if let Some(t) = self.token_mut(tok) {
            t.node = id;
            t.ni = None;
        }
        self.queue.push_back((tok, to, Some(edge)));
    }

    /// Leave a waiting node (approval/action/wait/resubmit) through its `on` edge.
    pub(crate) fn leave_waiting(&mut self, ni: u32, n: usize, on: &On, reason: CloseReason) {
        let tok = self
            .st
            .tokens
            .iter()
            .find(|t| t.ni == Some(ni))
            .map(|t| t.id);
        self.drop_node_instance(ni, reason);
        if let Some(tok) = tok {
            self.route(tok, n, on);
        }
    }

    /// Follow the out-edge labelled `on` (`Done` also matches unlabelled edges).
    pub(crate) fn route(&mut self, tok: u32, n: usize, on: &On) -> bool {
        let edge = self.flow.nodes[n].out.iter().copied().find(|&e| {
            let l = &self.flow.edges[e].on;
            l == on || (matches!(on, On::Done | On::Plain) && matches!(l, On::Done | On::Plain))
        });
        match edge {
            Some(e) => {
                self.take(tok, e);
                true
            }
            None => false,
        }
    }

    fn visit(&mut self, n: usize) {
        let id = &self.flow.nodes[n].id;
        if !self.st.visited.iter().any(|v| v == id) {
            self.st.visited.push(id.clone());
        }
    }

    /// Run tokens in flight, then fire inclusive joins that can no longer receive tokens,
    /// until nothing moves. Then decide completion / deadlock.
    pub(crate) fn settle(&mut self) {
        loop {
            while let Some((tok, n, via)) = self.queue.pop_front() {
                if self.st.status.is_final() {
                    self.queue.clear();
                    break;
                }
                self.steps += 1;
                if self.steps > super::MAX_STEPS {
                    self.queue.clear();
                    self.raise_incident(
                        tok,
                        n,
                        "flow.loop_limit",
                        "too many automatic steps in one command",
                    );
                    break;
                }
                self.enter(tok, n, via);
            }
            if self.st.status.is_final() || !self.fire_inclusive_joins() {
                break;
            }
        }
        if self.st.status.is_final() {
            return;
        }
        if self.st.tokens.is_empty() {
            if self.st.joins.is_empty() {
                let status = match self.st.outcome {
                    Some(Outcome::Rejected) => Status::Rejected,
                    _ => Status::Approved,
                };
                self.finish(status);
                return;
            }
            // Arrivals that can never be completed: make it visible instead of hanging.
            let node = self.st.joins[0].node.clone();
            if let Some(n) = self.flow.node_index(&node) {
                let tok = self.new_token(n);
                self.raise_incident(
                    tok,
                    n,
                    "join.deadlock",
                    "the join waits for branches that can no longer arrive",
                );
            }
        }
        self.st.status = if self.st.incidents.is_empty() {
            Status::Running
        } else {
            Status::Incident
        };
    }

    fn enter(&mut self, tok: u32, n: usize, via: Option<usize>) {
        self.visit(n);
        let node_id = self.flow.nodes[n].id.clone();
        match self.flow.node_kind(n).clone() {
            NodeKind::Start { .. } => {
                if let Some(&e) = self.flow.nodes[n].out.first() {
                    self.take(tok, e);
                }
            }
            NodeKind::End { outcome, terminate } => {
                self.remove_token(tok);
                if outcome == Outcome::Rejected || self.st.outcome.is_none() {
                    self.st.outcome = Some(outcome);
                }
                self.audit(
                    "end_reached",
                    None,
                    Some(&node_id),
                    json!({"outcome": outcome, "terminate": terminate}),
                );
                if terminate {
                    // Undelivered side effects of the branches being cut off must not run.
                    let cuts_actions = self.st.nodes.iter().any(|x| {
                        self.flow.node_index(&x.node).is_some_and(|i| {
                            matches!(self.flow.node_kind(i), NodeKind::Action { .. })
                        })
                    });
                    self.terminate_all(CloseReason::Terminated);
                    if cuts_actions {
                        self.fx.push(Effect::CancelPendingActions);
                    }
                    self.finish(match outcome {
                        Outcome::Approved => Status::Approved,
                        Outcome::Rejected => Status::Rejected,
                    });
                }
            }
            // Parallel/inclusive joins synchronize; an exclusive merge passes straight through.
            NodeKind::Inclusive { .. } | NodeKind::Parallel {} if self.flow.nodes[n].is_join() => {
                self.remove_token(tok);
                if let Some(e) = via {
                    self.arrive(n, e);
                }
            }
            NodeKind::Exclusive { .. } | NodeKind::Inclusive { .. } | NodeKind::Parallel {} => {
                self.split(tok, n)
            }
            NodeKind::Approval(_) => self.activate_approval(tok, n),
            NodeKind::Cc {
                recipients,
                template,
            } => {
                let users = self.resolve_rules(&recipients, &node_id);
                self.fx.push(Effect::Cc {
                    node: node_id.clone(),
                    users: users.clone(),
                    template,
                });
                self.audit("cc", None, Some(&node_id), json!({"users": users}));
                self.route(tok, n, &On::Plain);
            }
            NodeKind::Action { .. } => {
                let ni = self.next_id();
                let mut x = NodeInstance::new(ni, &node_id);
                x.attempt = 1;
                self.st.nodes.push(x);
                if let Some(t) = self.token_mut(tok) {
                    t.ni = Some(ni);
                }
                self.run_action(ni, n, 1, None);
            }
            NodeKind::Wait { until, .. } => {
                let ni = self.next_id();
                self.st.nodes.push(NodeInstance::new(ni, &node_id));
                if let Some(t) = self.token_mut(tok) {
                    t.ni = Some(ni);
                }
                self.schedule_boundary_timers(ni, n);
                match until {
                    WaitUntil::Duration { duration, calendar } => {
                        let due = self.add_duration(self.now, &duration, calendar.as_deref());
                        self.schedule_timer(ni, &node_id, "@wait", due, None);
                    }
                    WaitUntil::Field { field } => {
                        match self
                            .st
                            .record
                            .get(&field)
                            .and_then(Value::as_str)
                            .and_then(crate::duration::parse_instant)
                        {
                            Some(due) if due <= self.now => {
                                self.leave_waiting(ni, n, &On::Plain, CloseReason::Decided)
                            }
                            Some(due) => self.schedule_timer(ni, &node_id, "@wait", due, None),
                            None => self.raise_incident(
                                tok,
                                n,
                                "wait.invalid_date",
                                &format!("record field `{field}` does not hold a date"),
                            ),
                        }
                    }
                    WaitUntil::Condition { .. } => {
                        if let Some(true) = self.eval_wait(n, ni) {
                            self.leave_waiting(ni, n, &On::Plain, CloseReason::Decided);
                        }
                    }
                }
            }
        }
    }

    /// The diverging half of a gateway.
    pub(crate) fn split(&mut self, tok: u32, n: usize) {
        let node_id = self.flow.nodes[n].id.clone();
        let out = self.flow.nodes[n].out.clone();
        let (default, inclusive) = match self.flow.node_kind(n) {
            NodeKind::Parallel {} => {
                self.fork(tok, &out);
                return;
            }
            NodeKind::Exclusive { default } => (default.clone(), false),
            NodeKind::Inclusive { default } => (default.clone(), true),
            _ => return,
        };
        if out.len() == 1 && self.flow.edges[out[0]].cond.is_none() {
            self.take(tok, out[0]);
            return;
        }
        let vars = self.expr_vars();
        let mut evaluated = Vec::new();
        let mut chosen = Vec::new();
        for &e in &out {
            let edge = &self.flow.edges[e];
            let Some(cond) = &edge.cond else { continue };
            match cond.eval_bool(&vars) {
                Ok(b) => {
                    evaluated.push(json!({"edge": edge.id, "result": b}));
                    if b {
                        chosen.push(e);
                        if !inclusive {
                            break;
                        }
                    }
                }
                Err(msg) => {
                    evaluated.push(json!({"edge": edge.id, "error": msg}));
                    self.audit(
                        "gateway_evaluated",
                        None,
                        Some(&node_id),
                        json!({"conditions": evaluated}),
                    );
                    self.raise_incident(
                        tok,
                        n,
                        "condition.error",
                        &format!("edge `{}`: {msg}", edge.id),
                    );
                    return;
                }
            }
        }
        if chosen.is_empty()
            && let Some(d) = default.as_deref().and_then(|d| self.flow.edge_index(d))
        {
            chosen.push(d);
        }
        let taken: Vec<&str> = chosen
            .iter()
            .map(|&e| self.flow.edges[e].id.as_str())
            .collect();
        self.audit(
            "gateway_evaluated",
            None,
            Some(&node_id),
            json!({"conditions": evaluated, "taken": taken}),
        );
        if chosen.is_empty() {
            self.raise_incident(
                tok,
                n,
                "gateway.no_matching_flow",
                "no condition is true and there is no default flow",
            );
            return;
        }
        self.fork(tok, &chosen);
    }

    /// Send `tok` along the first edge and fresh tokens along the others.
    fn fork(&mut self, tok: u32, edges: &[usize]) {
        for (i, &e) in edges.iter().enumerate() {
            let t = if i == 0 {
                tok
            } else {
                self.new_token(self.flow.edges[e].from)
            };
            self.take(t, e);
        }
    }

    /// Record an arrival on `edge` at join `n` in the oldest round still missing that edge.
    fn arrive(&mut self, n: usize, edge: usize) {
        let node = self.flow.nodes[n].id.clone();
        let eid = self.flow.edges[edge].id.clone();
        let slot = self
            .st
            .joins
            .iter()
            .position(|r| r.node == node && !r.arrived.contains(&eid));
        let idx = match slot {
            Some(i) => i,
            None => {
                let round = self
                    .st
                    .joins
                    .iter()
                    .filter(|r| r.node == node)
                    .map(|r| r.round + 1)
                    .max()
                    .unwrap_or(0);
                self.st.joins.push(JoinRound {
                    node: node.clone(),
                    round,
                    arrived: Vec::new(),
                });
                self.st.joins.len() - 1
            }
        };
        self.st.joins[idx].arrived.push(eid);
        // Every incoming edge delivered: fire now (an inclusive join may also fire earlier, in
        // `settle`, once the missing edges became unreachable).
        if self.st.joins[idx].arrived.len() == self.flow.nodes[n].incoming.len() {
            self.fire_join(idx, n);
        }
    }

    fn fire_join(&mut self, idx: usize, n: usize) {
        let round = self.st.joins.remove(idx);
        self.audit(
            "join_fired",
            None,
            Some(&round.node),
            json!({"round": round.round, "arrived": round.arrived}),
        );
        let tok = self.new_token(n);
        self.split(tok, n);
    }

    /// Zeebe's rule: an inclusive join fires once no live token can still reach one of its
    /// incoming edges that has not delivered in this round. Returns whether one fired.
    fn fire_inclusive_joins(&mut self) -> bool {
        for idx in 0..self.st.joins.len() {
            let round = &self.st.joins[idx];
            let Some(n) = self.flow.node_index(&round.node) else {
                continue;
            };
            if !matches!(self.flow.node_kind(n), NodeKind::Inclusive { .. }) {
                continue;
            }
            // Only the oldest round of a join may fire.
            if self.st.joins[..idx].iter().any(|r| r.node == round.node) {
                continue;
            }
            let missing: Vec<usize> = self.flow.nodes[n]
                .incoming
                .iter()
                .copied()
                .filter(|&e| !round.arrived.contains(&self.flow.edges[e].id))
                .collect();
            let mut live: Vec<usize> = self
                .st
                .tokens
                .iter()
                .filter_map(|t| self.flow.node_index(&t.node))
                .collect();
            live.extend(
                self.st
                    .joins
                    .iter()
                    .filter(|r| r.node != round.node)
                    .filter_map(|r| self.flow.node_index(&r.node)),
            );
            let reachable = missing.iter().any(|&e| {
                live.iter()
                    .any(|&p| self.flow.reaches(p, self.flow.edges[e].from))
            });
            if !reachable {
                self.fire_join(idx, n);
                return true;
            }
        }
        false
    }

    // ---- incidents ----------------------------------------------------------------------

    pub(crate) fn raise_incident(&mut self, tok: u32, n: usize, code: &str, message: &str) {
        let id = self.next_id();
        let node = self.flow.nodes[n].id.clone();
        if let Some(t) = self.token_mut(tok) {
            t.node = node.clone();
        }
        self.st.incidents.push(Incident {
            id,
            token: tok,
            node: node.clone(),
            code: code.into(),
            message: message.into(),
        });
        self.fx.push(Effect::Incident {
            incident: id,
            node,
            code: code.into(),
            message: message.into(),
        });
    }

    pub(crate) fn take_incident(&mut self, id: u32) -> Result<Incident, CommandError> {
        let pos = self
            .st
            .incidents
            .iter()
            .position(|i| i.id == id)
            .ok_or(CommandError::IncidentNotFound(id))?;
        let inc = self.st.incidents.remove(pos);
        self.fx.push(Effect::IncidentResolved { incident: id });
        Ok(inc)
    }

    pub(crate) fn resolve_incident(&mut self, id: u32) {
        let _ = self.take_incident(id);
    }

    pub(crate) fn retry_incident(&mut self, inc: Incident) -> Result<(), CommandError> {
        let n = self
            .flow
            .node_index(&inc.node)
            .ok_or_else(|| CommandError::Invalid("node missing".into()))?;
        let ni = self
            .st
            .tokens
            .iter()
            .find(|t| t.id == inc.token)
            .and_then(|t| t.ni);
        match self.flow.node_kind(n) {
            _ if inc.code == "join.deadlock" => self.remove_token(inc.token),
            NodeKind::Exclusive { .. } | NodeKind::Inclusive { .. } => self.split(inc.token, n),
            NodeKind::Action { .. } => match ni {
                Some(ni) => {
                    // One manual attempt, numbered after the previous ones (outbox rows stay
                    // unique per attempt; the idempotency key is unchanged).
                    let attempt = self.st.nodes.iter_mut().find(|x| x.id == ni).map(|x| {
                        x.attempt += 1;
                        x.attempt
                    });
                    self.run_action(ni, n, attempt.unwrap_or(1), None);
                }
                None => self.queue.push_back((inc.token, n, None)),
            },
            _ => {
                if let Some(ni) = ni {
                    self.drop_node_instance(ni, CloseReason::Terminated);
                }
                self.queue.push_back((inc.token, n, None));
            }
        }
        Ok(())
    }

    pub(crate) fn skip_incident(
        &mut self,
        inc: &Incident,
        edge: Option<&str>,
    ) -> Result<(), CommandError> {
        let n = self
            .flow
            .node_index(&inc.node)
            .ok_or_else(|| CommandError::Invalid("node missing".into()))?;
        let ni = self
            .st
            .tokens
            .iter()
            .find(|t| t.id == inc.token)
            .and_then(|t| t.ni);
        let out = &self.flow.nodes[n].out;
        if inc.code == "join.deadlock" {
            self.st.joins.retain(|r| r.node != inc.node);
            self.split(inc.token, n);
            return Ok(());
        }
        match self.flow.node_kind(n) {
            NodeKind::Exclusive { default } | NodeKind::Inclusive { default } => {
                let chosen = match edge.or(default.as_deref()) {
                    Some(id) => out.iter().copied().find(|&e| self.flow.edges[e].id == id),
                    None if out.len() == 1 => Some(out[0]),
                    None => None,
                };
                let e = chosen.ok_or_else(|| {
                    CommandError::Invalid("skip needs a valid out-edge of the gateway".into())
                })?;
                self.take(inc.token, e);
            }
            NodeKind::Approval(_) => {
                if let Some(ni) = ni {
                    self.drop_node_instance(ni, CloseReason::Terminated);
                }
                if !self.route(inc.token, n, &On::Approved) {
                    return Err(CommandError::Invalid(
                        "approval has no approved edge".into(),
                    ));
                }
            }
            _ => match ni {
                Some(ni) => self.leave_waiting(ni, n, &On::Done, CloseReason::Terminated),
                None => {
                    self.route(inc.token, n, &On::Plain);
                }
            },
        }
        Ok(())
    }
}
