//! The publish-time checks of each node: the labels and conditions of its out-edges, then what
//! its kind requires (a gateway's default, an approval's assignees and return targets, an
//! action's expressions, a wait's condition). Problems are pushed in a fixed order, node by
//! node, so the editor lists them stably.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::checks::check_rules;
use super::{CEdge, CompiledFlow, On, Problem, kind_name};
use crate::definition::{
    Action, Approval, Mode, NodeKind, OnEmpty, Retry, TimerAction, TimerSpec, Trigger, WaitUntil,
};
use crate::duration::parse_duration;
use crate::env::{Expr, ExprCompiler};

impl CompiledFlow {
    pub(super) fn check_nodes(&mut self, exprs: &dyn ExprCompiler, p: &mut Vec<Problem>) {
        if let Some(Trigger::Record { when: Some(c), .. }) = &self.def.trigger
            && let Err(m) = exprs.compile(&c.expr)
        {
            p.push(Problem::flow("trigger.condition_compile", m));
        }
        for i in 0..self.nodes.len() {
            // A wait node's condition is compiled here and kept on the node.
            if let Some(cond) = self.check_node(i, exprs, p) {
                self.nodes[i].wait_cond = Some(cond);
            }
        }
    }

    /// Every check of node `i`; returns the compiled condition of a wait node.
    fn check_node(
        &self,
        i: usize,
        exprs: &dyn ExprCompiler,
        p: &mut Vec<Problem>,
    ) -> Option<Arc<dyn Expr>> {
        let node = &self.def.nodes[i];
        let id = node.id.as_str();
        let out: Vec<&CEdge> = self.nodes[i].out.iter().map(|&e| &self.edges[e]).collect();
        let n_in = self.nodes[i].incoming.len();
        let gateway = matches!(
            node.kind,
            NodeKind::Exclusive { .. } | NodeKind::Parallel {} | NodeKind::Inclusive { .. }
        );
        self.check_edge_conditions(&node.kind, gateway, &out, p);
        if !gateway {
            check_edge_labels(id, &node.kind, &out, p);
        }
        let mut wait_cond = None;
        match &node.kind {
            NodeKind::Start { .. } => {
                if n_in > 0 {
                    p.push(Problem::node(
                        id,
                        "start.incoming",
                        "the start node cannot have incoming edges (use return_to for 退回)",
                    ));
                }
                if out.len() != 1 {
                    p.push(Problem::node(
                        id,
                        "start.outgoing",
                        "the start node needs exactly one out-edge",
                    ));
                }
            }
            NodeKind::End { .. } => {
                if !out.is_empty() {
                    p.push(Problem::node(
                        id,
                        "end.outgoing",
                        "end nodes have no out-edges",
                    ));
                }
            }
            NodeKind::Exclusive { default } | NodeKind::Inclusive { default } => {
                self.check_conditional_gateway(id, default.as_ref(), &out, p);
                check_degenerate_gateway(id, n_in, &out, p);
            }
            NodeKind::Parallel {} => check_degenerate_gateway(id, n_in, &out, p),
            NodeKind::Approval(a) => self.check_approval(i, a, &out, exprs, p),
            NodeKind::Cc {
                recipients,
                template: tpl,
            } => {
                if recipients.is_empty() {
                    p.push(Problem::node(
                        id,
                        "cc.no_recipients",
                        "a CC node needs at least one recipient rule",
                    ));
                }
                check_rules(id, recipients, p);
                if let Some(t) = tpl {
                    check_template(exprs, id, t, p);
                }
            }
            NodeKind::Action {
                action,
                retry,
                compensate,
            } => {
                for a in std::iter::once(action).chain(compensate) {
                    check_action(id, a, exprs, p);
                }
                check_retry(id, retry.as_ref(), p);
            }
            NodeKind::Wait { until, timers } => {
                wait_cond = self.check_wait(id, until, timers, &out, exprs, p);
            }
        }
        if !gateway
            && !matches!(
                node.kind,
                NodeKind::End { .. } | NodeKind::Approval(_) | NodeKind::Wait { .. }
            )
            && !out.iter().any(|e| matches!(e.on, On::Plain | On::Done))
        {
            p.push(Problem::node(
                id,
                "node.no_outgoing",
                "this node needs a plain out-edge",
            ));
        }
        wait_cond
    }

    /// Gateways' out-edges carry no `on` label, and only exclusive and inclusive gateways'
    /// out-edges carry conditions.
    fn check_edge_conditions(
        &self,
        kind: &NodeKind,
        gateway: bool,
        out: &[&CEdge],
        p: &mut Vec<Problem>,
    ) {
        for e in out {
            if e.on != On::Plain && gateway {
                p.push(Problem::edge(
                    &e.id,
                    "edge.invalid_on",
                    "gateway out-edges carry no `on` label",
                ));
            }
            if self.edge_def(&e.id).when.is_none() {
                continue;
            }
            match kind {
                NodeKind::Exclusive { .. } | NodeKind::Inclusive { .. } => {}
                NodeKind::Parallel {} => p.push(Problem::edge(
                    &e.id,
                    "parallel.conditional_edge",
                    "parallel gateways take every out-edge; conditions are not allowed",
                )),
                _ => p.push(Problem::edge(
                    &e.id,
                    "edge.condition_not_allowed",
                    "conditions belong on exclusive/inclusive gateway out-edges",
                )),
            }
        }
    }

    /// The default edge is an unconditional out-edge; every other out-edge has a condition.
    fn check_conditional_gateway(
        &self,
        id: &str,
        default: Option<&String>,
        out: &[&CEdge],
        p: &mut Vec<Problem>,
    ) {
        if let Some(d) = default {
            match out.iter().find(|e| &e.id == d) {
                None => p.push(Problem::node(
                    id,
                    "gateway.default_unknown",
                    format!("default `{d}` is not an out-edge of this gateway"),
                )),
                Some(e) if e.cond.is_some() || self.edge_def(&e.id).when.is_some() => {
                    p.push(Problem::edge(
                        &e.id,
                        "gateway.default_has_condition",
                        "the default edge cannot have a condition",
                    ))
                }
                Some(_) => {}
            }
        }
        for e in out {
            if Some(&e.id) != default
                && self.edge_def(&e.id).when.is_none()
                && (out.len() > 1 || default.is_some())
            {
                p.push(Problem::edge(
                    &e.id,
                    "gateway.incomplete_conditions",
                    "every out-edge of an exclusive/inclusive gateway needs a condition, except the default",
                ));
            }
        }
    }

    fn check_approval(
        &self,
        i: usize,
        a: &Approval,
        out: &[&CEdge],
        exprs: &dyn ExprCompiler,
        p: &mut Vec<Problem>,
    ) {
        let id = self.def.nodes[i].id.as_str();
        if a.assignees.is_empty() {
            p.push(Problem::node(
                id,
                "approval.no_assignees",
                "an approval node needs at least one assignee rule",
            ));
        }
        check_rules(id, &a.assignees, p);
        if let OnEmpty::Assign { to } = &a.on_empty {
            if to.is_empty() {
                p.push(Problem::node(
                    id,
                    "approval.on_empty_assign_empty",
                    "on_empty.assign needs at least one rule",
                ));
            }
            check_rules(id, to, p);
        }
        if let Mode::Ratio { approve_ratio, .. } = a.mode
            && !(approve_ratio > 0.0 && approve_ratio <= 1.0)
        {
            p.push(Problem::node(
                id,
                "approval.ratio_range",
                "approve_ratio must be in (0, 1]",
            ));
        }
        if !out.iter().any(|e| e.on == On::Approved) {
            p.push(Problem::node(
                id,
                "approval.no_approved_edge",
                "an approval node needs an `on: approved` out-edge",
            ));
        }
        for t in &a.return_to_targets() {
            self.check_return_target(i, t, p);
        }
        self.check_timers(id, &a.timers, true, p);
        for t in &a.timers {
            if let Some(TimerAction::Notify {
                template: Some(tpl),
            }) = &t.action
            {
                check_template(exprs, id, tpl, p);
            }
        }
    }

    /// 退回 from node `i` to `target`: the start or an approval node before it, not across a
    /// parallel join whose other branches already arrived.
    fn check_return_target(&self, i: usize, target: &str, p: &mut Vec<Problem>) {
        let id = self.def.nodes[i].id.as_str();
        let Some(&ti) = self.by_id.get(target) else {
            p.push(Problem::node(
                id,
                "return_to.unknown",
                format!("return target `{target}` does not exist"),
            ));
            return;
        };
        let kind_ok = matches!(
            self.def.nodes[ti].kind,
            NodeKind::Start { .. } | NodeKind::Approval(_)
        );
        if !kind_ok {
            p.push(Problem::node(
                id,
                "return_to.invalid_kind",
                format!("return target `{target}` must be the start or an approval node"),
            ));
        } else if ti == i || !self.reaches(ti, i) {
            p.push(Problem::node(
                id,
                "return_to.not_ancestor",
                format!("return target `{target}` is not an earlier node of `{id}`"),
            ));
        } else if let Some(j) = self.join_cut_off(ti, i) {
            p.push(Problem::node(
                id,
                "return_to.crosses_join",
                format!("returning to `{target}` would restart one branch of parallel join `{j}` whose other branches already arrived"),
            ));
        }
    }

    /// What a wait node waits for, its timers and its exit; returns its compiled condition.
    fn check_wait(
        &self,
        id: &str,
        until: &WaitUntil,
        timers: &[TimerSpec],
        out: &[&CEdge],
        exprs: &dyn ExprCompiler,
        p: &mut Vec<Problem>,
    ) -> Option<Arc<dyn Expr>> {
        let mut cond = None;
        match until {
            WaitUntil::Duration { duration, .. } => {
                if let Err(m) = parse_duration(duration) {
                    p.push(Problem::node(id, "wait.invalid", m));
                }
            }
            WaitUntil::Field { field } => {
                if field.is_empty() {
                    p.push(Problem::node(
                        id,
                        "wait.invalid",
                        "wait.field needs a field name",
                    ));
                }
            }
            WaitUntil::Condition { when } => match exprs.compile(&when.expr) {
                Ok(x) => cond = Some(x),
                Err(m) => p.push(Problem::node(id, "condition.compile", m)),
            },
        }
        self.check_timers(id, timers, false, p);
        if !out.iter().any(|e| e.on == On::Plain) {
            p.push(Problem::node(
                id,
                "wait.no_outgoing",
                "a wait node needs a plain out-edge",
            ));
        }
        cond
    }
}

/// The `on` labels a node's kind allows on its out-edges, each at most once (`done` counts
/// as plain).
fn check_edge_labels(id: &str, kind: &NodeKind, out: &[&CEdge], p: &mut Vec<Problem>) {
    let allowed = |on: &On| match kind {
        NodeKind::Approval(a) => match on {
            On::Approved | On::Rejected => true,
            On::Timer(t) => a.timers.iter().any(|s| &s.id == t && s.interrupting),
            _ => false,
        },
        NodeKind::Action { .. } => matches!(on, On::Plain | On::Done | On::Error),
        NodeKind::Wait { timers, .. } => match on {
            On::Plain => true,
            On::Timer(t) => timers.iter().any(|s| &s.id == t && s.interrupting),
            _ => false,
        },
        _ => *on == On::Plain,
    };
    let mut seen: Vec<&On> = Vec::new();
    for e in out {
        if !allowed(&e.on) {
            p.push(Problem::edge(
                &e.id,
                "edge.invalid_on",
                format!("`on` label {:?} is not valid on a {} node (timer edges need an interrupting timer of that id)", e.on, kind_name(kind)),
            ));
        }
        let norm = if e.on == On::Done { &On::Plain } else { &e.on };
        if seen.contains(&norm) {
            p.push(Problem::node(
                id,
                "node.ambiguous_outgoing",
                format!(
                    "more than one out-edge for {:?}; use a gateway to branch",
                    e.on
                ),
            ));
        }
        seen.push(norm);
    }
}

fn check_degenerate_gateway(id: &str, n_in: usize, out: &[&CEdge], p: &mut Vec<Problem>) {
    if n_in < 2 && out.len() < 2 {
        p.push(Problem::node(
            id,
            "gateway.degenerate",
            "a gateway needs ≥ 2 incoming (join) or ≥ 2 outgoing (split) edges",
        ));
    }
}

fn check_template(exprs: &dyn ExprCompiler, node: &str, t: &str, p: &mut Vec<Problem>) {
    if let Err(m) = exprs.check_template(t) {
        p.push(Problem::node(node, "template.compile", m));
    }
}

/// An action (or its compensation): expressions compile, recipients and targets are named.
fn check_action(id: &str, a: &Action, exprs: &dyn ExprCompiler, p: &mut Vec<Problem>) {
    match a {
        Action::UpdateRecord { set } => check_expressions(id, set, exprs, p),
        Action::CreateRecord { values, object } => {
            if object.is_empty() {
                p.push(Problem::node(
                    id,
                    "action.object_missing",
                    "create_record needs an object",
                ));
            }
            check_expressions(id, values, exprs, p);
        }
        Action::Notify { to, template: tpl } => {
            if to.is_empty() {
                p.push(Problem::node(
                    id,
                    "action.no_recipients",
                    "notify needs at least one recipient rule",
                ));
            }
            check_rules(id, to, p);
            check_template(exprs, id, tpl, p);
        }
        Action::Webhook {
            url,
            body,
            method,
            secret,
            ..
        } => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                p.push(Problem::node(
                    id,
                    "action.webhook_url",
                    "webhook url must be http(s)",
                ));
            }
            if !["POST", "PUT", "PATCH", "DELETE"]
                .iter()
                .any(|m| method.eq_ignore_ascii_case(m))
            {
                p.push(Problem::node(
                    id,
                    "action.webhook_method",
                    "use POST, PUT, PATCH or DELETE",
                ));
            }
            if secret.as_ref().is_some_and(|s| s.chars().count() < 16) {
                p.push(Problem::node(
                    id,
                    "action.webhook_secret",
                    "a signing secret needs at least 16 characters",
                ));
            }
            check_template(exprs, id, url, p);
            if let Some(b) = body {
                check_template(exprs, id, b, p);
            }
        }
    }
}

/// Field values of a record action are expressions.
fn check_expressions(
    id: &str,
    values: &BTreeMap<String, String>,
    exprs: &dyn ExprCompiler,
    p: &mut Vec<Problem>,
) {
    for (field, src) in values {
        if let Err(m) = exprs.compile(src) {
            p.push(Problem::node(
                id,
                "action.expr_compile",
                format!("{field}: {m}"),
            ));
        }
    }
}

fn check_retry(id: &str, retry: Option<&Retry>, p: &mut Vec<Problem>) {
    if let Some(r) = retry
        && let Some(d) = &r.initial
        && let Err(m) = parse_duration(d)
    {
        p.push(Problem::node(id, "action.retry_initial", m));
    }
}
