//! Timers: scheduling an approval's or wait's timers, and what a fired timer does (remind,
//! escalate, auto-decide, leave a wait, repeat a cycle).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Cx;
use crate::command::{CloseReason, CommandError, Effect, NotifyKind};
use crate::compile::On;
use crate::definition::{NodeKind, TimerAction};
use crate::duration::parse_cycle;
use crate::state::{TaskStatus, Timer};

impl Cx<'_> {
    pub(crate) fn schedule_timer(
        &mut self,
        ni: u32,
        node: &str,
        spec: &str,
        due: DateTime<Utc>,
        left: Option<u32>,
    ) {
        let id = self.next_id();
        self.st.timers.push(Timer {
            id,
            ni,
            spec: spec.to_string(),
            due,
            left,
        });
        self.fx.push(Effect::ScheduleTimer {
            timer: id,
            node: node.to_string(),
            due_at: due,
        });
    }

    /// Schedule the boundary timers declared on a node for a fresh node instance.
    pub(crate) fn schedule_boundary_timers(&mut self, ni: u32, n: usize) {
        let specs = match self.flow.node_kind(n) {
            NodeKind::Approval(a) => a.timers.clone(),
            NodeKind::Wait { timers, .. } => timers.clone(),
            _ => return,
        };
        let node = self.flow.nodes[n].id.clone();
        for s in specs {
            let cal = s.calendar.as_deref();
            if let Some(d) = &s.duration {
                let due = self.add_duration(self.now, d, cal);
                self.schedule_timer(ni, &node, &s.id, due, None);
            } else if let Some(c) = s.cycle.as_deref().and_then(|c| parse_cycle(c).ok()) {
                let due = self.add_duration(self.now, &c.interval, cal);
                self.schedule_timer(ni, &node, &s.id, due, c.repetitions);
            } else if let Some(due) = s.date.as_deref().and_then(crate::duration::parse_instant) {
                self.schedule_timer(ni, &node, &s.id, due, None);
            }
        }
    }

    pub(super) fn timer_fired(&mut self, timer: u32) -> Result<bool, CommandError> {
        let Some(pos) = self.st.timers.iter().position(|t| t.id == timer) else {
            // Already fired, or its node completed: a replay.
            return Ok(false);
        };
        let t = self.st.timers[pos].clone();
        if t.due > self.now {
            return Err(CommandError::TimerNotDue { timer, due: t.due });
        }
        self.st.timers.remove(pos);
        let Some(ni) = self.st.nodes.iter().find(|n| n.id == t.ni).cloned() else {
            return Ok(true);
        };
        let n = self
            .flow
            .node_index(&ni.node)
            .ok_or_else(|| CommandError::Invalid("node missing".into()))?;
        self.audit(
            "timer_fired",
            None,
            Some(&ni.node),
            json!({"timer": t.spec}),
        );
        if t.spec == "@wait" {
            self.leave_waiting(ni.id, n, &On::Plain, CloseReason::Decided);
            return Ok(true);
        }
        let spec = match self.flow.node_kind(n) {
            NodeKind::Approval(a) => a.timers.iter().find(|s| s.id == t.spec).cloned(),
            NodeKind::Wait { timers, .. } => timers.iter().find(|s| s.id == t.spec).cloned(),
            _ => None,
        };
        let Some(spec) = spec else { return Ok(true) };
        if spec.interrupting {
            let edge = On::Timer(spec.id.clone());
            let has_edge = self.flow.nodes[n]
                .out
                .iter()
                .any(|&e| self.flow.edges[e].on == edge);
            if has_edge {
                self.leave_waiting(ni.id, n, &edge, CloseReason::Timeout);
            } else {
                let outcome = match spec.action {
                    Some(TimerAction::AutoReject) => crate::definition::Outcome::Rejected,
                    _ => crate::definition::Outcome::Approved,
                };
                self.audit(
                    "timeout_auto_decided",
                    None,
                    Some(&ni.node),
                    json!({"outcome": outcome}),
                );
                self.complete_approval(ni.id, outcome, CloseReason::Timeout);
            }
            return Ok(true);
        }
        // Non-interrupting: act, then schedule the next *future* occurrence (a cycle missed
        // several times while workers were down fires once).
        let users: Vec<String> = self
            .st
            .tasks
            .iter()
            .filter(|x| x.ni == ni.id && x.status == TaskStatus::Open)
            .map(|x| x.user.clone())
            .collect();
        let template = match &spec.action {
            Some(TimerAction::Notify { template }) => template.clone(),
            _ => None,
        };
        if !users.is_empty() {
            self.fx.push(Effect::Notify {
                kind: NotifyKind::Reminder,
                users,
                node: Some(ni.node.clone()),
                template,
            });
        }
        if let Some(c) = spec.cycle.as_deref().and_then(|c| parse_cycle(c).ok()) {
            let mut left = t.left.map(|l| l.saturating_sub(1));
            let mut due = self.add_duration(t.due, &c.interval, spec.calendar.as_deref());
            let once = spec.catch_up == crate::definition::CatchUp::Once;
            while once && due <= self.now && left != Some(0) {
                left = left.map(|l| l.saturating_sub(1));
                due = self.add_duration(due, &c.interval, spec.calendar.as_deref());
            }
            if left != Some(0) {
                self.schedule_timer(ni.id, &ni.node, &spec.id, due, left);
            }
        }
        Ok(true)
    }
}
