//! Planning the migration of a running instance to another published version.

use std::collections::BTreeMap;

use crate::compile::{CompiledFlow, Problem, kind_name};
use crate::definition::NodeKind;
use crate::state::InstanceState;

/// Map every active position of `state` (tokens, node instances, join rounds, incidents,
/// timers) from `old` to `new`. A node id absent from `mapping` maps to itself if `new` has a
/// node of the same kind with that id. Any active node left unmapped rejects the whole plan
/// (nothing changes). Returns the migrated state (`rev + 1`) for the runtime to store in one
/// transaction; calling it without storing is the dry run.
pub fn plan_migration(
    old: &CompiledFlow,
    new: &CompiledFlow,
    state: &InstanceState,
    mapping: &BTreeMap<String, String>,
) -> Result<InstanceState, Vec<Problem>> {
    let mut p = Vec::new();
    if state.status.is_final() {
        p.push(Problem::flow(
            "migration.finished",
            "finished instances are not migrated",
        ));
    }
    for (from, to) in mapping {
        if old.node_index(from).is_none() {
            p.push(Problem::node(
                from,
                "migration.unknown_source",
                "mapped node does not exist in the old version",
            ));
        }
        if new.node_index(to).is_none() {
            p.push(Problem::node(
                to,
                "migration.unknown_target",
                "mapped target does not exist in the new version",
            ));
        }
    }
    let map_node = |id: &str, p: &mut Vec<Problem>| -> Option<String> {
        let target = mapping.get(id).cloned().unwrap_or_else(|| id.to_string());
        let Some(ni) = new.node_index(&target) else {
            p.push(Problem::node(id, "migration.unmapped_node", format!("active node `{id}` has no counterpart in the new version; add it to the mapping")));
            return None;
        };
        if let Some(oi) = old.node_index(id) {
            let (a, b) = (old.node_kind(oi), new.node_kind(ni));
            if std::mem::discriminant(a) != std::mem::discriminant(b) {
                p.push(Problem::node(
                    id,
                    "migration.kind_mismatch",
                    format!(
                        "`{id}` is a {} node but `{target}` is a {}",
                        kind_name(a),
                        kind_name(b)
                    ),
                ));
                return None;
            }
        }
        Some(target)
    };

    let mut st = state.clone();
    for t in &mut st.tokens {
        if let Some(m) = map_node(&t.node, &mut p) {
            t.node = m;
        }
    }
    for x in &mut st.nodes {
        if let Some(m) = map_node(&x.node, &mut p) {
            x.node = m;
        }
    }
    for i in &mut st.incidents {
        if let Some(m) = map_node(&i.node, &mut p) {
            i.node = m;
        }
    }
    for r in &mut st.joins {
        let Some(m) = map_node(&r.node, &mut p) else {
            continue;
        };
        for e in &r.arrived {
            let ok = new
                .edge_index(e)
                .is_some_and(|ei| new.definition().edges[ei].to == m);
            if !ok {
                p.push(Problem::edge(
                    e,
                    "migration.join_edge_missing",
                    format!("join `{m}` in the new version has no incoming edge `{e}`"),
                ));
            }
        }
        r.node = m;
    }
    // Timers whose spec no longer exists on the new node are dropped (a late firing is a no-op).
    let nodes = st.nodes.clone();
    st.timers.retain(|t| {
        t.spec == "@wait"
            || nodes
                .iter()
                .find(|x| x.id == t.ni)
                .and_then(|x| new.node_index(&x.node))
                .is_some_and(|n| match new.node_kind(n) {
                    NodeKind::Approval(a) => a.timers.iter().any(|s| s.id == t.spec),
                    NodeKind::Wait { timers, .. } => timers.iter().any(|s| s.id == t.spec),
                    _ => false,
                })
    });
    st.visited = st
        .visited
        .iter()
        .filter_map(|v| {
            let m = mapping.get(v).cloned().unwrap_or_else(|| v.clone());
            new.node_index(&m).map(|_| m)
        })
        .collect();
    if p.is_empty() {
        st.rev += 1;
        Ok(st)
    } else {
        // One problem per node: a token and its node instance name the same node.
        let mut seen = std::collections::BTreeSet::new();
        p.retain(|x| seen.insert((x.code, x.node.clone(), x.edge.clone())));
        Err(p)
    }
}
