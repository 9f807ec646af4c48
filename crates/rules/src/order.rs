//! The order in which an object's formulas must be computed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;
use serde::Serialize;

use crate::script::CompiledScript;

/// Formulas that depend on each other in a loop, e.g. `["a", "b", "a"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct FormulaCycle {
    /// The loop, starting and ending with the same field.
    pub cycle: Vec<String>,
}

impl fmt::Display for FormulaCycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "formulas depend on each other in a loop: {}",
            self.cycle.join(" → ")
        )
    }
}

/// Orders formula fields so that each comes after every formula it reads. Independent
/// formulas keep alphabetical order, so the result is stable.
pub fn formula_order<'a>(
    formulas: impl IntoIterator<Item = (&'a str, &'a CompiledScript)>,
) -> Result<Vec<String>, FormulaCycle> {
    let deps: BTreeMap<&str, BTreeSet<&str>> = formulas
        .into_iter()
        .map(|(name, script)| (name, script.referenced_fields().record_fields()))
        .collect();
    dependency_order(&deps)
}

/// [`formula_order`] over plain dependency sets: `deps[x]` are the fields `x` reads; names
/// that are not keys (ordinary fields) are ignored.
pub fn dependency_order(
    deps: &BTreeMap<&str, BTreeSet<&str>>,
) -> Result<Vec<String>, FormulaCycle> {
    let mut graph: DiGraphMap<&str, ()> = DiGraphMap::new();
    for name in deps.keys() {
        graph.add_node(name);
    }
    for (name, reads) in deps {
        for dep in reads.iter().filter(|d| deps.contains_key(*d)) {
            graph.add_edge(dep, name, ());
        }
    }

    // Kahn's algorithm with a sorted ready set.
    let mut waiting: BTreeMap<&str, usize> = graph
        .nodes()
        .map(|n| (n, graph.neighbors_directed(n, petgraph::Incoming).count()))
        .collect();
    let mut ready: BTreeSet<&str> = waiting
        .iter()
        .filter(|(_, k)| **k == 0)
        .map(|(n, _)| *n)
        .collect();
    let mut order = Vec::with_capacity(deps.len());
    while let Some(n) = ready.pop_first() {
        order.push(n.to_string());
        for next in graph.neighbors_directed(n, petgraph::Outgoing) {
            if let Some(k) = waiting.get_mut(next) {
                *k -= 1;
                if *k == 0 {
                    ready.insert(next);
                }
            }
        }
    }
    if order.len() == deps.len() {
        return Ok(order);
    }
    Err(FormulaCycle {
        cycle: find_cycle(&graph),
    })
}

/// One loop of the graph, starting at the alphabetically first formula in it.
fn find_cycle(graph: &DiGraphMap<&str, ()>) -> Vec<String> {
    let looped = tarjan_scc(graph)
        .into_iter()
        .filter(|scc| scc.len() > 1 || scc.iter().any(|n| graph.contains_edge(n, n)))
        .filter_map(|scc| scc.into_iter().min())
        .min();
    let Some(start) = looped else {
        return Vec::new();
    };
    // Depth-first search from `start` back to itself, visiting neighbours in sorted order.
    let mut path = vec![start];
    let mut visited = BTreeSet::from([start]);
    let mut stack: Vec<Vec<&str>> = vec![sorted_next(graph, start)];
    while let Some(frontier) = stack.last_mut() {
        let Some(next) = frontier.pop() else {
            stack.pop();
            path.pop();
            continue;
        };
        if next == start {
            path.push(start);
            return path.into_iter().map(str::to_string).collect();
        }
        if visited.insert(next) {
            path.push(next);
            stack.push(sorted_next(graph, next));
        }
    }
    vec![start.to_string(), start.to_string()]
}

fn sorted_next<'a>(graph: &DiGraphMap<&'a str, ()>, n: &'a str) -> Vec<&'a str> {
    let mut v: Vec<&str> = graph.neighbors_directed(n, petgraph::Outgoing).collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[(&str, &[&str])], expected: Result<&[&str], &[&str]>) {
        let deps: BTreeMap<&str, BTreeSet<&str>> = input
            .iter()
            .map(|(n, d)| (*n, d.iter().copied().collect()))
            .collect();
        let got = dependency_order(&deps);
        let expected = expected
            .map(|o| o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(|c| FormulaCycle {
                cycle: c.iter().map(|s| s.to_string()).collect(),
            });
        assert_eq!(got, expected, "{input:?}");
    }

    #[test]
    fn orders_formulas_and_names_cycles() {
        check(&[], Ok(&[]));
        check(
            &[("weighted", &["amount", "probability"])],
            Ok(&["weighted"]),
        );
        check(
            &[
                ("c", &["b"]),
                ("b", &["a", "amount"]),
                ("a", &["amount"]),
                ("z", &[]),
            ],
            Ok(&["a", "b", "c", "z"]),
        );
        check(&[("a", &["b"]), ("b", &["a"])], Err(&["a", "b", "a"]));
        check(&[("a", &["a"])], Err(&["a", "a"]));
        check(
            &[
                ("x", &[]),
                ("a", &["c"]),
                ("b", &["a"]),
                ("c", &["b"]),
                ("d", &["c"]),
            ],
            Err(&["a", "b", "c", "a"]),
        );
    }
}
