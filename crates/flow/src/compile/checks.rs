//! The publish-time checks, each adding to the shared problem list.

use std::collections::{HashMap, HashSet};

use petgraph::graph::DiGraph;
use petgraph::visit::{Dfs, Reversed};

use super::{CEdge, CompiledFlow, On, Problem, kind_name};
use crate::definition::{Action, AssigneeRule, Mode, NodeKind, TimerAction, TimerSpec, WaitUntil};
use crate::duration::{parse_cycle, parse_duration, parse_instant};
use crate::env::ExprCompiler;

impl CompiledFlow {
    pub(super) fn check_structure(&mut self, p: &mut Vec<Problem>) {
        let starts: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| matches!(self.def.nodes[i].kind, NodeKind::Start { .. }))
            .collect();
        match starts.as_slice() {
            [s] => self.start = *s,
            [] => p.push(Problem::flow(
                "start.count",
                "the flow needs exactly one start node, found none",
            )),
            many => p.push(Problem::flow(
                "start.count",
                format!(
                    "the flow needs exactly one start node, found {}",
                    many.len()
                ),
            )),
        }
        let ends: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| matches!(self.def.nodes[i].kind, NodeKind::End { .. }))
            .collect();
        if ends.is_empty() {
            p.push(Problem::flow(
                "end.missing",
                "the flow needs at least one end node",
            ));
        }
        if !starts.is_empty() {
            for (i, n) in self.nodes.iter().enumerate() {
                if !starts.iter().any(|&s| self.reaches(s, i)) {
                    p.push(Problem::node(
                        &n.id,
                        "node.unreachable",
                        "not reachable from the start node",
                    ));
                }
            }
        }
        // Reverse reachability from every end.
        let mut to_end = vec![false; self.nodes.len()];
        let rev = Reversed(&self.graph);
        for &e in &ends {
            let mut dfs = Dfs::new(rev, self.nodes[e].ix);
            while let Some(ix) = dfs.next(rev) {
                to_end[self.graph[ix]] = true;
            }
        }
        if !ends.is_empty() {
            for (i, n) in self.nodes.iter().enumerate() {
                if !to_end[i] {
                    p.push(Problem::node(
                        &n.id,
                        "node.dead_end",
                        "no path from this node to an end node",
                    ));
                }
            }
        }
        for key in self.def.layout.keys() {
            if !self.by_id.contains_key(key) {
                p.push(Problem::node(
                    key,
                    "layout.unknown_node",
                    "layout entry for a node that does not exist",
                ));
            }
        }
    }

    #[allow(clippy::too_many_lines)] // issue 11: split pending
    pub(super) fn check_nodes(&mut self, exprs: &dyn ExprCompiler, p: &mut Vec<Problem>) {
        let template = |node: &str, t: &str, p: &mut Vec<Problem>| {
            if let Err(m) = exprs.check_template(t) {
                p.push(Problem::node(node, "template.compile", m));
            }
        };
        if let Some(crate::definition::Trigger::Record { when: Some(c), .. }) = &self.def.trigger
            && let Err(m) = exprs.compile(&c.expr)
        {
            p.push(Problem::flow("trigger.condition_compile", m));
        }
        for i in 0..self.nodes.len() {
            let node = &self.def.nodes[i];
            let id = node.id.as_str();
            let out: Vec<&CEdge> = self.nodes[i].out.iter().map(|&e| &self.edges[e]).collect();
            let n_in = self.nodes[i].incoming.len();
            let gateway = matches!(
                node.kind,
                NodeKind::Exclusive { .. } | NodeKind::Parallel {} | NodeKind::Inclusive { .. }
            );
            for e in &out {
                if e.on != On::Plain && gateway {
                    p.push(Problem::edge(
                        &e.id,
                        "edge.invalid_on",
                        "gateway out-edges carry no `on` label",
                    ));
                }
                let has_when = self.def.edges[self.edge_by_id[&e.id]].when.is_some();
                if has_when {
                    match node.kind {
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
            // Outgoing labels allowed per kind, each at most once.
            let allowed = |on: &On| match &node.kind {
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
            if !gateway {
                let mut seen: Vec<&On> = Vec::new();
                for e in &out {
                    if !allowed(&e.on) {
                        p.push(Problem::edge(
                            &e.id,
                            "edge.invalid_on",
                            format!("`on` label {:?} is not valid on a {} node (timer edges need an interrupting timer of that id)", e.on, kind_name(&node.kind)),
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
                    if let Some(d) = default {
                        match out.iter().find(|e| &e.id == d) {
                            None => p.push(Problem::node(
                                id,
                                "gateway.default_unknown",
                                format!("default `{d}` is not an out-edge of this gateway"),
                            )),
                            Some(e) if e.cond.is_some() || self.edge_def(&e.id).when.is_some() => p
                                .push(Problem::edge(
                                    &e.id,
                                    "gateway.default_has_condition",
                                    "the default edge cannot have a condition",
                                )),
                            Some(_) => {}
                        }
                    }
                    for e in &out {
                        if Some(&e.id) != default.as_ref()
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
                    if n_in < 2 && out.len() < 2 {
                        p.push(Problem::node(
                            id,
                            "gateway.degenerate",
                            "a gateway needs ≥ 2 incoming (join) or ≥ 2 outgoing (split) edges",
                        ));
                    }
                }
                NodeKind::Parallel {} => {
                    if n_in < 2 && out.len() < 2 {
                        p.push(Problem::node(
                            id,
                            "gateway.degenerate",
                            "a gateway needs ≥ 2 incoming (join) or ≥ 2 outgoing (split) edges",
                        ));
                    }
                }
                NodeKind::Approval(a) => {
                    if a.assignees.is_empty() {
                        p.push(Problem::node(
                            id,
                            "approval.no_assignees",
                            "an approval node needs at least one assignee rule",
                        ));
                    }
                    check_rules(id, &a.assignees, p);
                    if let crate::definition::OnEmpty::Assign { to } = &a.on_empty {
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
                        match self.by_id.get(*t) {
                            None => p.push(Problem::node(
                                id,
                                "return_to.unknown",
                                format!("return target `{t}` does not exist"),
                            )),
                            Some(&ti) => {
                                let kind_ok = matches!(
                                    self.def.nodes[ti].kind,
                                    NodeKind::Start { .. } | NodeKind::Approval(_)
                                );
                                if !kind_ok {
                                    p.push(Problem::node(id, "return_to.invalid_kind", format!("return target `{t}` must be the start or an approval node")));
                                } else if ti == i || !self.reaches(ti, i) {
                                    p.push(Problem::node(
                                        id,
                                        "return_to.not_ancestor",
                                        format!(
                                            "return target `{t}` is not an earlier node of `{id}`"
                                        ),
                                    ));
                                } else if let Some(j) = self.join_cut_off(ti, i) {
                                    p.push(Problem::node(
                                        id,
                                        "return_to.crosses_join",
                                        format!("returning to `{t}` would restart one branch of parallel join `{j}` whose other branches already arrived"),
                                    ));
                                }
                            }
                        }
                    }
                    self.check_timers(id, &a.timers, true, p);
                    for t in &a.timers {
                        if let Some(TimerAction::Notify {
                            template: Some(tpl),
                        }) = &t.action
                        {
                            template(id, tpl, p);
                        }
                    }
                }
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
                        template(id, t, p);
                    }
                }
                NodeKind::Action {
                    action,
                    retry,
                    compensate,
                } => {
                    for a in std::iter::once(action).chain(compensate) {
                        match a {
                            Action::UpdateRecord { set } => {
                                for (field, src) in set {
                                    if let Err(m) = exprs.compile(src) {
                                        p.push(Problem::node(
                                            id,
                                            "action.expr_compile",
                                            format!("{field}: {m}"),
                                        ));
                                    }
                                }
                            }
                            Action::CreateRecord { values, object } => {
                                if object.is_empty() {
                                    p.push(Problem::node(
                                        id,
                                        "action.object_missing",
                                        "create_record needs an object",
                                    ));
                                }
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
                            Action::Notify { to, template: tpl } => {
                                if to.is_empty() {
                                    p.push(Problem::node(
                                        id,
                                        "action.no_recipients",
                                        "notify needs at least one recipient rule",
                                    ));
                                }
                                check_rules(id, to, p);
                                template(id, tpl, p);
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
                                template(id, url, p);
                                if let Some(b) = body {
                                    template(id, b, p);
                                }
                            }
                        }
                    }
                    if let Some(r) = retry
                        && let Some(d) = &r.initial
                        && let Err(m) = parse_duration(d)
                    {
                        p.push(Problem::node(id, "action.retry_initial", m));
                    }
                }
                NodeKind::Wait { until, timers } => {
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
                            Ok(x) => self.nodes[i].wait_cond = Some(x),
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
        }
    }

    pub(super) fn check_timers(
        &self,
        id: &str,
        timers: &[TimerSpec],
        approval: bool,
        p: &mut Vec<Problem>,
    ) {
        let mut seen = HashSet::new();
        let i = self.by_id[id];
        for t in timers {
            if t.id.is_empty() || t.id.starts_with('@') || t.id.contains(':') {
                p.push(Problem::node(
                    id,
                    "timer.invalid",
                    format!("timer id `{}` must be non-empty without `@` or `:`", t.id),
                ));
            }
            if !seen.insert(t.id.as_str()) {
                p.push(Problem::node(
                    id,
                    "timer.duplicate_id",
                    format!("timer `{}` defined twice", t.id),
                ));
            }
            let specs = [t.duration.is_some(), t.cycle.is_some(), t.date.is_some()];
            if specs.iter().filter(|b| **b).count() != 1 {
                p.push(Problem::node(
                    id,
                    "timer.invalid",
                    format!(
                        "timer `{}` needs exactly one of duration, cycle, date",
                        t.id
                    ),
                ));
            }
            if let Some(d) = &t.duration
                && let Err(m) = parse_duration(d)
            {
                p.push(Problem::node(
                    id,
                    "timer.invalid",
                    format!("timer `{}`: {m}", t.id),
                ));
            }
            if let Some(c) = &t.cycle {
                if let Err(m) = parse_cycle(c) {
                    p.push(Problem::node(
                        id,
                        "timer.invalid",
                        format!("timer `{}`: {m}", t.id),
                    ));
                }
                if t.interrupting {
                    p.push(Problem::node(
                        id,
                        "timer.invalid",
                        format!("timer `{}`: a cycle cannot be interrupting", t.id),
                    ));
                }
            }
            if let Some(d) = &t.date
                && parse_instant(d).is_none()
            {
                p.push(Problem::node(
                    id,
                    "timer.invalid",
                    format!("timer `{}`: `{d}` is not an RFC 3339 date", t.id),
                ));
            }
            let has_edge = self.nodes[i]
                .out
                .iter()
                .any(|&e| self.edges[e].on == On::Timer(t.id.clone()));
            let auto = matches!(
                t.action,
                Some(TimerAction::AutoApprove | TimerAction::AutoReject)
            );
            if auto && (!approval || !t.interrupting) {
                p.push(Problem::node(id, "timer.invalid", format!("timer `{}`: auto_approve/auto_reject need an interrupting timer on an approval node", t.id)));
            }
            if t.interrupting && !has_edge && !auto {
                p.push(Problem::node(
                    id,
                    "timer.no_route",
                    format!("interrupting timer `{}` needs an `on: \"timer:{}\"` edge or do auto_approve/auto_reject", t.id, t.id),
                ));
            }
        }
    }

    /// A parallel join between `target` and `node` that a token restarted at `target` could not
    /// satisfy alone (it cannot reach every incoming edge): the return would deadlock there.
    fn join_cut_off(&self, target: usize, node: usize) -> Option<&str> {
        (0..self.nodes.len())
            .filter(|&j| {
                matches!(self.def.nodes[j].kind, NodeKind::Parallel {}) && self.nodes[j].is_join()
            })
            .filter(|&j| j != target && self.reaches(target, j) && self.reaches(j, node))
            .find(|&j| {
                self.nodes[j]
                    .incoming
                    .iter()
                    .any(|&e| !self.reaches(target, self.edges[e].from))
            })
            .map(|j| self.nodes[j].id.as_str())
    }

    /// Cycles must pass through a human or timer step (approval/wait), or they could spin forever.
    pub(super) fn check_cycles(&self, p: &mut Vec<Problem>) {
        let mut g: DiGraph<usize, ()> = DiGraph::new();
        let mut map = HashMap::new();
        for (i, _) in self.nodes.iter().enumerate() {
            if !matches!(
                self.def.nodes[i].kind,
                NodeKind::Approval(_) | NodeKind::Wait { .. }
            ) {
                map.insert(i, g.add_node(i));
            }
        }
        for e in &self.def.edges {
            let ends = (self.by_id.get(&e.from), self.by_id.get(&e.to));
            if let (Some(f), Some(t)) = ends
                && let (Some(&a), Some(&b)) = (map.get(f), map.get(t))
            {
                g.add_edge(a, b, ());
            }
        }
        for scc in petgraph::algo::tarjan_scc(&g) {
            let looped = scc.len() > 1 || g.find_edge(scc[0], scc[0]).is_some();
            if looped {
                let mut ids: Vec<&str> = scc
                    .iter()
                    .map(|&ix| self.nodes[g[ix]].id.as_str())
                    .collect();
                ids.sort();
                p.push(Problem::node(
                    ids[0],
                    "cycle.no_wait_state",
                    format!(
                        "cycle through {} has no approval or wait node and could loop forever",
                        ids.join(", ")
                    ),
                ));
            }
        }
    }
}

fn check_rules(id: &str, rules: &[AssigneeRule], p: &mut Vec<Problem>) {
    for r in rules {
        let bad = match r {
            AssigneeRule::Users { ids } => ids.is_empty() || ids.iter().any(|u| u.is_empty()),
            AssigneeRule::Role { role } => role.is_empty(),
            AssigneeRule::Field { field } => field.is_empty(),
            AssigneeRule::ManagerOf { level, .. }
            | AssigneeRule::DepartmentLeader { level, .. } => *level == 0,
            AssigneeRule::InitiatorChooses {} | AssigneeRule::Initiator {} => false,
        };
        if bad {
            p.push(Problem::node(
                id,
                "assignee.invalid",
                format!("assignee rule {r:?} is incomplete"),
            ));
        }
    }
}
