//! Publish-time compilation: definition → `StableGraph` + compiled conditions + reachability,
//! reporting every problem at once.

mod checks;
mod nodes;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::stable_graph::{EdgeIndex, StableGraph};
use petgraph::visit::Dfs;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::definition::{Definition, NodeKind, SCHEMA};
use crate::env::{Expr, ExprCompiler};

/// One validation problem. `code` is stable (documented in the README); `message` is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(n) = &self.node {
            write!(f, " [node {n}]")?;
        }
        if let Some(e) = &self.edge {
            write!(f, " [edge {e}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Problem {
    pub(crate) fn node(node: &str, code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            node: Some(node.into()),
            edge: None,
            code,
            message: message.into(),
        }
    }
    pub(crate) fn edge(edge: &str, code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            node: None,
            edge: Some(edge.into()),
            code,
            message: message.into(),
        }
    }
    pub(crate) fn flow(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            node: None,
            edge: None,
            code,
            message: message.into(),
        }
    }
}

/// What an edge's `on` label means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum On {
    /// No label: the normal continuation.
    Plain,
    Approved,
    Rejected,
    Timer(String),
    Done,
    Error,
}

impl On {
    fn parse(s: Option<&str>) -> Option<On> {
        Some(match s {
            None => On::Plain,
            Some("approved") => On::Approved,
            Some("rejected") => On::Rejected,
            Some("done") => On::Done,
            Some("error") => On::Error,
            Some(t) => On::Timer(
                t.strip_prefix("timer:")
                    .filter(|id| !id.is_empty())?
                    .to_string(),
            ),
        })
    }
}

/// A compiled node. `out` is sorted by (`order`, definition position).
#[derive(Debug, Clone)]
pub struct CNode {
    pub id: String,
    pub ix: NodeIndex,
    pub out: Vec<usize>,
    pub incoming: Vec<usize>,
    pub(crate) wait_cond: Option<Arc<dyn Expr>>,
}

impl CNode {
    /// A gateway with ≥ 2 incoming edges synchronizes (parallel/inclusive).
    pub fn is_join(&self) -> bool {
        self.incoming.len() >= 2
    }
}

/// A compiled edge.
#[derive(Debug, Clone)]
pub struct CEdge {
    pub id: String,
    pub from: usize,
    pub to: usize,
    pub on: On,
    pub(crate) cond: Option<Arc<dyn Expr>>,
}

/// A published, validated definition ready for execution. Immutable; cache it per version.
pub struct CompiledFlow {
    def: Definition,
    hash: String,
    graph: StableGraph<usize, usize>,
    pub(crate) nodes: Vec<CNode>,
    pub(crate) edges: Vec<CEdge>,
    by_id: HashMap<String, usize>,
    edge_by_id: HashMap<String, usize>,
    /// Reflexive reachability closure: `reach[a][b]` ⇔ a path a →* b exists.
    reach: Vec<Vec<u64>>,
    pub(crate) start: usize,
}

impl fmt::Debug for CompiledFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledFlow")
            .field("key", &self.def.key)
            .field("version", &self.def.version)
            .field("hash", &self.hash)
            .finish()
    }
}

impl CompiledFlow {
    /// Validate and compile. Returns every problem found, not just the first.
    pub fn compile(
        def: Definition,
        exprs: &dyn ExprCompiler,
    ) -> Result<CompiledFlow, Vec<Problem>> {
        let mut p = Vec::new();
        if def.schema != SCHEMA {
            p.push(Problem::flow(
                "schema.unsupported",
                format!(
                    "schema `{}` is not supported, expected `{SCHEMA}`",
                    def.schema
                ),
            ));
        }
        if def.key.trim().is_empty() {
            p.push(Problem::flow("flow.key_missing", "the flow needs a key"));
        }

        let mut graph: StableGraph<usize, usize> = StableGraph::new();
        let mut by_id = HashMap::new();
        let mut nodes = Vec::with_capacity(def.nodes.len());
        for (i, n) in def.nodes.iter().enumerate() {
            if n.id.trim().is_empty() {
                p.push(Problem::flow(
                    "node.id_empty",
                    format!("node #{i} has an empty id"),
                ));
            }
            if by_id.insert(n.id.clone(), i).is_some() {
                p.push(Problem::node(
                    &n.id,
                    "node.duplicate_id",
                    "two nodes share this id",
                ));
            }
            let ix = graph.add_node(i);
            nodes.push(CNode {
                id: n.id.clone(),
                ix,
                out: vec![],
                incoming: vec![],
                wait_cond: None,
            });
        }

        let mut edges = Vec::with_capacity(def.edges.len());
        let mut edge_by_id = HashMap::new();
        let mut edge_ix: Vec<Option<EdgeIndex>> = Vec::new();
        for (i, e) in def.edges.iter().enumerate() {
            if edge_by_id.insert(e.id.clone(), i).is_some() {
                p.push(Problem::edge(
                    &e.id,
                    "edge.duplicate_id",
                    "two edges share this id",
                ));
            }
            let from = by_id.get(&e.from).copied();
            let to = by_id.get(&e.to).copied();
            for (end, id) in [(from, &e.from), (to, &e.to)] {
                if end.is_none() {
                    p.push(Problem::edge(
                        &e.id,
                        "edge.unknown_node",
                        format!("node `{id}` does not exist"),
                    ));
                }
            }
            let on = On::parse(e.on.as_deref()).unwrap_or_else(|| {
                p.push(Problem::edge(
                    &e.id,
                    "edge.invalid_on",
                    format!(
                        "`on` must be approved, rejected, done, error or timer:<id>, not `{}`",
                        e.on.as_deref().unwrap_or("")
                    ),
                ));
                On::Plain
            });
            let cond = match &e.when {
                Some(c) if c.lang != "rhai" => {
                    p.push(Problem::edge(
                        &e.id,
                        "condition.lang",
                        format!("language `{}` is not supported", c.lang),
                    ));
                    None
                }
                Some(c) => match exprs.compile(&c.expr) {
                    Ok(x) => Some(x),
                    Err(msg) => {
                        p.push(Problem::edge(&e.id, "condition.compile", msg));
                        None
                    }
                },
                None => None,
            };
            match (from, to) {
                (Some(f), Some(t)) => {
                    edge_ix.push(Some(graph.add_edge(nodes[f].ix, nodes[t].ix, i)));
                    nodes[f].out.push(i);
                    nodes[t].incoming.push(i);
                }
                _ => edge_ix.push(None),
            }
            edges.push(CEdge {
                id: e.id.clone(),
                from: from.unwrap_or(0),
                to: to.unwrap_or(0),
                on,
                cond,
            });
        }
        for n in &mut nodes {
            n.out
                .sort_by_key(|&e| (def.edges[e].order.unwrap_or(i32::MAX), e));
        }

        // Reachability closure (graphs are small: one DFS per node).
        let words = nodes.len().div_ceil(64).max(1);
        let mut reach = vec![vec![0u64; words]; nodes.len()];
        for (a, row) in reach.iter_mut().enumerate() {
            let mut dfs = Dfs::new(&graph, nodes[a].ix);
            while let Some(ix) = dfs.next(&graph) {
                let b = graph[ix];
                row[b / 64] |= 1 << (b % 64);
            }
        }

        let mut flow = CompiledFlow {
            hash: String::new(),
            graph,
            nodes,
            edges,
            by_id,
            edge_by_id,
            reach,
            start: 0,
            def,
        };
        flow.check_structure(&mut p);
        flow.check_nodes(exprs, &mut p);
        flow.check_cycles(&mut p);
        if p.is_empty() {
            flow.hash = content_hash(&flow.def);
            Ok(flow)
        } else {
            Err(p)
        }
    }

    fn edge_def(&self, id: &str) -> &crate::definition::Edge {
        &self.def.edges[self.edge_by_id[id]]
    }

    /// The source definition.
    pub fn definition(&self) -> &Definition {
        &self.def
    }

    /// sha256 (hex) of the canonical JSON of the definition.
    pub fn content_hash(&self) -> &str {
        &self.hash
    }

    /// The graph: node weights index `definition().nodes`, edge weights index `definition().edges`.
    pub fn graph(&self) -> &StableGraph<usize, usize> {
        &self.graph
    }

    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn edge_index(&self, id: &str) -> Option<usize> {
        self.edge_by_id.get(id).copied()
    }

    pub fn node_kind(&self, i: usize) -> &NodeKind {
        &self.def.nodes[i].kind
    }

    /// Whether a path `from →* to` exists (reflexive).
    pub fn reaches(&self, from: usize, to: usize) -> bool {
        self.reach[from][to / 64] & (1 << (to % 64)) != 0
    }

    /// Nodes adjacent in `dir` (used by editors to show "what's next").
    pub fn neighbors(&self, i: usize, dir: Direction) -> Vec<&str> {
        self.graph
            .neighbors_directed(self.nodes[i].ix, dir)
            .map(|ix| self.nodes[self.graph[ix]].id.as_str())
            .collect()
    }
}

impl crate::definition::Approval {
    fn return_to_targets(&self) -> Vec<&str> {
        self.ops.return_to.iter().map(String::as_str).collect()
    }
}

pub(crate) fn kind_name(k: &NodeKind) -> &'static str {
    match k {
        NodeKind::Start { .. } => "start",
        NodeKind::End { .. } => "end",
        NodeKind::Exclusive { .. } => "exclusive",
        NodeKind::Parallel {} => "parallel",
        NodeKind::Inclusive { .. } => "inclusive",
        NodeKind::Approval(_) => "approval",
        NodeKind::Cc { .. } => "cc",
        NodeKind::Action { .. } => "action",
        NodeKind::Wait { .. } => "wait",
    }
}

/// sha256 (lower-case hex) of the definition's canonical JSON.
pub fn content_hash(def: &Definition) -> String {
    hex(&Sha256::digest(def.canonical_json().as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
