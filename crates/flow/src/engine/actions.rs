//! Action nodes: side effects handed to the runtime through the outbox, and their results
//! (done, or failed with retries, an error edge or an incident).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Cx, idempotency_key};
use crate::command::{CloseReason, CommandError, Effect};
use crate::compile::On;
use crate::definition::NodeKind;
use crate::duration::parse_duration;

impl Cx<'_> {
    pub(crate) fn run_action(
        &mut self,
        ni: u32,
        n: usize,
        attempt: u32,
        not_before: Option<DateTime<Utc>>,
    ) {
        if let NodeKind::Action { action, .. } = self.flow.node_kind(n) {
            let node = self.flow.nodes[n].id.clone();
            let recipients = self.recipients(action, &node);
            self.fx.push(Effect::RunAction {
                ni,
                node,
                action: serde_json::to_value(action).unwrap_or(Value::Null),
                idempotency_key: idempotency_key(&self.st.id, ni, "action"),
                attempt,
                not_before,
                compensation: false,
                recipients,
            });
        }
    }

    /// A notify action's recipients, resolved now (the org chart at the time of the step).
    pub(super) fn recipients(&self, action: &crate::definition::Action, node: &str) -> Vec<String> {
        match action {
            crate::definition::Action::Notify { to, .. } => self.resolve_rules(to, node),
            _ => Vec::new(),
        }
    }

    fn pending_action(&self, ni: u32) -> Result<Option<(usize, u32)>, CommandError> {
        match self.st.nodes.iter().find(|n| n.id == ni) {
            Some(x) => {
                let n = self
                    .flow
                    .node_index(&x.node)
                    .ok_or(CommandError::UnknownNodeInstance(ni))?;
                if !matches!(self.flow.node_kind(n), NodeKind::Action { .. }) {
                    return Err(CommandError::UnknownNodeInstance(ni));
                }
                Ok(Some((n, x.attempt)))
            }
            None if ni <= self.st.seq => Ok(None),
            None => Err(CommandError::UnknownNodeInstance(ni)),
        }
    }

    pub(super) fn action_done(&mut self, ni: u32, result: Value) -> Result<bool, CommandError> {
        let Some((n, _)) = self.pending_action(ni)? else {
            return Ok(false);
        };
        if self
            .st
            .incidents
            .iter()
            .any(|i| self.token_ni(i.token) == Some(ni))
        {
            // A late success for an action already parked on an incident: resolve it.
            let ids: Vec<u32> = self
                .st
                .incidents
                .iter()
                .filter(|i| self.token_ni(i.token) == Some(ni))
                .map(|i| i.id)
                .collect();
            for id in ids {
                self.resolve_incident(id);
            }
        }
        let node = self.flow.nodes[n].id.clone();
        self.audit(
            "action_done",
            None,
            Some(&node),
            if result.is_null() {
                Value::Null
            } else {
                json!({"result": result})
            },
        );
        if let NodeKind::Action {
            compensate: Some(_),
            ..
        } = self.flow.node_kind(n)
        {
            self.st
                .compensable
                .push(crate::state::DoneAction { ni, node });
        }
        self.leave_waiting(ni, n, &On::Done, CloseReason::Decided);
        Ok(true)
    }

    pub(super) fn action_failed(
        &mut self,
        ni: u32,
        error: String,
        retryable: bool,
    ) -> Result<bool, CommandError> {
        let Some((n, attempt)) = self.pending_action(ni)? else {
            return Ok(false);
        };
        let node = self.flow.nodes[n].id.clone();
        if self
            .st
            .incidents
            .iter()
            .any(|i| self.token_ni(i.token) == Some(ni))
        {
            return Ok(false);
        }
        let retry = match self.flow.node_kind(n) {
            NodeKind::Action { retry, .. } => retry.clone(),
            _ => None,
        };
        if let Some(r) = retry.filter(|r| retryable && attempt <= r.max) {
            let initial = r
                .initial
                .as_deref()
                .and_then(|d| parse_duration(d).ok())
                .unwrap_or(chrono::Duration::seconds(10));
            let factor = match r.backoff {
                crate::definition::Backoff::Constant => 1,
                crate::definition::Backoff::Exponential => 1i32 << (attempt - 1).min(16),
            };
            let next = attempt + 1;
            if let Some(x) = self.st.nodes.iter_mut().find(|x| x.id == ni) {
                x.attempt = next;
            }
            self.audit(
                "action_retry",
                None,
                Some(&node),
                json!({"error": error, "attempt": next}),
            );
            self.run_action(ni, n, next, Some(self.now + initial * factor));
            return Ok(true);
        }
        self.audit(
            "action_failed",
            None,
            Some(&node),
            json!({"error": error, "attempt": attempt}),
        );
        if self.flow.nodes[n]
            .out
            .iter()
            .any(|&e| self.flow.edges[e].on == On::Error)
        {
            self.leave_waiting(ni, n, &On::Error, CloseReason::Decided);
        } else if let Some(tok) = self
            .st
            .tokens
            .iter()
            .find(|t| t.ni == Some(ni))
            .map(|t| t.id)
        {
            self.raise_incident(tok, n, "action.failed", &error);
        }
        Ok(true)
    }
}
