//! The publish-time checks of the whole graph (one start, reachability, dead ends, cycles)
//! and of timers, each adding to the shared problem list; per-node checks are in `nodes`.

use std::collections::{HashMap, HashSet};

use petgraph::graph::DiGraph;
use petgraph::visit::{Dfs, Reversed};

use super::{CompiledFlow, On, Problem};
use crate::definition::{AssigneeRule, NodeKind, TimerAction, TimerSpec};
use crate::duration::{parse_cycle, parse_duration, parse_instant};

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
    pub(super) fn join_cut_off(&self, target: usize, node: usize) -> Option<&str> {
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

pub(super) fn check_rules(id: &str, rules: &[AssigneeRule], p: &mut Vec<Problem>) {
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
