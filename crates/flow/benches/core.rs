//! Engine-core throughput on the workflow.md §3 model, to compare with SpiffWorkflow
//! (`benches/spiff/bench.py`, same model and modes).
//!
//! Model: start → XOR(amount > 500000 ? fork : manager task → end);
//!        fork → legal, finance, sales approval tasks → parallel join → end.
//! Each instance is started with amount = 600000 and its 3 tasks approved one by one.
//! `persist` = JSON serialize after every step and deserialize before every step.
//!
//! Run: `cargo bench -p weft-flow --bench core [-- N]`

#[path = "../tests/support/rhai_expr.rs"]
mod rhai_expr;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use weft_flow::definition::AssigneeRule;
use weft_flow::{
    Command, CompiledFlow, Decision, Definition, Environment, InstanceState, ResolveContext,
    Status, apply,
};

struct NoOrg;

impl Environment for NoOrg {
    fn resolve_assignees(&self, _rule: &AssigneeRule, _ctx: &ResolveContext<'_>) -> Vec<String> {
        Vec::new()
    }
    fn add_business_duration(&self, start: DateTime<Utc>, _iso: &str, _cal: &str) -> DateTime<Utc> {
        start
    }
}

fn model() -> CompiledFlow {
    let approval = |id: &str, user: &str| json!({"id": id, "kind": "approval", "assignees": [{"kind": "users", "ids": [user]}], "mode": {"kind": "all"}});
    let def = json!({
        "schema": "crm.workflow/1", "key": "bench",
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "exclusive", "default": "e_small"},
            approval("mgr", "m"),
            {"id": "fork", "kind": "parallel"},
            approval("legal", "l"), approval("finance", "f"), approval("sales", "s"),
            {"id": "join", "kind": "parallel"},
            {"id": "end_low", "kind": "end"},
            {"id": "end", "kind": "end"}],
        "edges": [
            {"id": "e0", "from": "start", "to": "route"},
            {"id": "e_big", "from": "route", "to": "fork", "order": 1, "when": {"expr": "record.amount > 500000"}},
            {"id": "e_small", "from": "route", "to": "mgr"},
            {"id": "e_mgr", "from": "mgr", "to": "end_low", "on": "approved"},
            {"id": "f1", "from": "fork", "to": "legal"}, {"id": "f2", "from": "fork", "to": "finance"},
            {"id": "f3", "from": "fork", "to": "sales"},
            {"id": "j1", "from": "legal", "to": "join", "on": "approved"},
            {"id": "j2", "from": "finance", "to": "join", "on": "approved"},
            {"id": "j3", "from": "sales", "to": "join", "on": "approved"},
            {"id": "e_end", "from": "join", "to": "end"}]
    });
    let def: Definition = match serde_json::from_value(def) {
        Ok(d) => d,
        Err(e) => panic!("model: {e}"),
    };
    match CompiledFlow::compile(def, &rhai_expr::RhaiCompiler::default()) {
        Ok(f) => f,
        Err(p) => panic!("model: {p:?}"),
    }
}

/// Process CPU seconds (user + system) from /proc; None elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn start_cmd() -> Command {
    Command::Start {
        initiator: "alice".into(),
        initiator_attrs: json!({}),
        record: json!({"amount": 600000}),
        chosen: BTreeMap::new(),
        vars: Default::default(),
    }
}

fn run(flow: &CompiledFlow, n: usize, persist: bool) -> (f64, f64, usize) {
    let env = NoOrg;
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let mut tasks = 0;
    let (t0, c0) = (Instant::now(), cpu_seconds());
    for i in 0..n {
        let st = InstanceState::new(format!("i{i}"));
        let mut st = match apply(flow, &st, start_cmd(), now, &env) {
            Ok(t) => t.state,
            Err(e) => panic!("start: {e}"),
        };
        let mut blob = if persist {
            serde_json::to_string(&st).unwrap_or_default()
        } else {
            String::new()
        };
        loop {
            if persist {
                st = serde_json::from_str(&blob).unwrap_or_default();
            }
            let Some(task) = st.open_tasks().next().map(|t| (t.id, t.user.clone())) else {
                break;
            };
            let cmd = Command::Decide {
                task: task.0,
                actor: task.1,
                acting_for: None,
                decision: Decision::Approve,
                comment: None,
            };
            st = match apply(flow, &st, cmd, now, &env) {
                Ok(t) => t.state,
                Err(e) => panic!("decide: {e}"),
            };
            tasks += 1;
            if persist {
                blob = serde_json::to_string(&st).unwrap_or_default();
            }
        }
        assert_eq!(st.status, Status::Approved);
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall,
    };
    assert_eq!(tasks, 3 * n);
    (wall, cpu, tasks)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let flow = model();
    let env = NoOrg;
    let now = Utc::now();
    let waiting = match apply(&flow, &InstanceState::new("i0"), start_cmd(), now, &env) {
        Ok(t) => t.state,
        Err(e) => panic!("{e}"),
    };
    let text = serde_json::to_string(&waiting).unwrap_or_default();
    if std::env::var_os("SHOW_STATE").is_some() {
        println!("{text}");
    }
    let size = text.len();
    println!("weft-flow core, N={n}, waiting-instance state {size} B (3 open tasks)");
    println!(
        "{:<10} {:>7} {:>8} {:>10} {:>11} {:>9}",
        "mode", "tasks", "wall s", "inst/s", "inst/cpu-s", "us/inst"
    );
    for (mode, persist) in [("memory", false), ("persist", true)] {
        let (wall, cpu, tasks) = run(&flow, n, persist);
        println!(
            "{mode:<10} {tasks:>7} {wall:>8.3} {:>10.0} {:>11.0} {:>9.1}",
            n as f64 / wall,
            n as f64 / cpu,
            wall / n as f64 * 1e6
        );
    }
}
