//! Property tests: random command sequences never panic, never leave a running instance
//! stuck (no open task, timer or pending action), and revisions strictly increase.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use chrono::Duration;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::*;
use weft_flow::command::AdminOp;
use weft_flow::definition::{NodeKind, SignerPosition};
use weft_flow::{
    Command, CompiledFlow, Decision, Effect, InstanceState, Status, TaskStatus, apply,
};

#[derive(Debug, Clone)]
enum Op {
    Decide {
        pick: usize,
        approve: bool,
        stranger: bool,
    },
    Return {
        pick: usize,
        target: usize,
    },
    Transfer {
        pick: usize,
        delegate: bool,
    },
    AddSigner {
        pick: usize,
        pos: usize,
    },
    Resubmit {
        pick: usize,
    },
    Withdraw {
        initiator: bool,
    },
    Urge,
    Advance {
        hours: u16,
    },
    FireAnyTimer {
        pick: usize,
    },
    ActionDone {
        pick: usize,
    },
    ActionFailed {
        pick: usize,
        retryable: bool,
    },
    RecordChanged {
        big: bool,
    },
    AdminRetry {
        pick: usize,
    },
    AdminSkip {
        pick: usize,
    },
    AdminCancel,
    Replay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (any::<usize>(), prop::bool::weighted(0.85), prop::bool::weighted(0.1))
            .prop_map(|(pick, approve, stranger)| Op::Decide { pick, approve, stranger }),
        3 => (any::<usize>(), 0..4usize).prop_map(|(pick, target)| Op::Return { pick, target }),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(pick, delegate)| Op::Transfer { pick, delegate }),
        4 => (any::<usize>(), 0..3usize).prop_map(|(pick, pos)| Op::AddSigner { pick, pos }),
        4 => any::<usize>().prop_map(|pick| Op::Resubmit { pick }),
        1 => any::<bool>().prop_map(|initiator| Op::Withdraw { initiator }),
        1 => Just(Op::Urge),
        6 => (1..100u16).prop_map(|hours| Op::Advance { hours }),
        1 => any::<usize>().prop_map(|pick| Op::FireAnyTimer { pick }),
        12 => any::<usize>().prop_map(|pick| Op::ActionDone { pick }),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(pick, retryable)| Op::ActionFailed { pick, retryable }),
        1 => any::<bool>().prop_map(|big| Op::RecordChanged { big }),
        3 => any::<usize>().prop_map(|pick| Op::AdminRetry { pick }),
        3 => any::<usize>().prop_map(|pick| Op::AdminSkip { pick }),
        1 => Just(Op::AdminCancel),
        3 => Just(Op::Replay),
    ]
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[i % items.len()].clone())
    }
}

fn to_command(run: &Run, op: &Op, last: &Option<Command>) -> Option<Command> {
    let open: Vec<(u32, String)> = run
        .state
        .open_tasks()
        .map(|t| (t.id, t.user.clone()))
        .collect();
    let actions: Vec<u32> = run
        .state
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                run.flow.node_kind(run.flow.node_index(&n.node).unwrap()),
                NodeKind::Action { .. }
            )
        })
        .map(|n| n.id)
        .collect();
    let incidents: Vec<u32> = run.state.incidents.iter().map(|i| i.id).collect();
    Some(match op.clone() {
        Op::Decide {
            pick: p,
            approve,
            stranger,
        } => {
            let (task, user) = pick(&open, p)?;
            let decision = if approve {
                Decision::Approve
            } else {
                Decision::Reject
            };
            Command::Decide {
                task,
                actor: if stranger { "mallory".into() } else { user },
                acting_for: None,
                decision,
                comment: None,
            }
        }
        Op::Return { pick: p, target } => {
            let (task, user) = pick(&open, p)?;
            let to_node = ["start", "mgr", "legal", "nowhere"][target].to_string();
            Command::Return {
                task,
                actor: user,
                to_node,
                comment: None,
            }
        }
        Op::Transfer { pick: p, delegate } => {
            let (task, user) = pick(&open, p)?;
            if delegate {
                Command::Delegate {
                    task,
                    actor: user,
                    to: "dana".into(),
                }
            } else {
                Command::Transfer {
                    task,
                    actor: user,
                    to: "tom".into(),
                    comment: None,
                }
            }
        }
        Op::AddSigner { pick: p, pos } => {
            let (task, user) = pick(&open, p)?;
            let position = [
                SignerPosition::Before,
                SignerPosition::After,
                SignerPosition::Parallel,
            ][pos];
            Command::AddSigner {
                task,
                actor: user,
                position,
                users: vec![format!("x{p}")],
                comment: None,
            }
        }
        Op::Resubmit { pick: p } => {
            let (task, user) = pick(&open, p)?;
            Command::Resubmit {
                task,
                actor: user,
                record: None,
            }
        }
        Op::Withdraw { initiator } => Command::Withdraw {
            actor: if initiator {
                "alice".into()
            } else {
                "bob".into()
            },
            comment: None,
        },
        Op::Urge => Command::Urge {
            actor: "alice".into(),
            comment: None,
        },
        Op::Advance { .. } => return None,
        Op::FireAnyTimer { pick: p } => Command::TimerFired {
            timer: pick(
                &run.state.timers.iter().map(|t| t.id).collect::<Vec<_>>(),
                p,
            )?,
        },
        Op::ActionDone { pick: p } => Command::ActionDone {
            ni: pick(&actions, p)?,
            result: Value::Null,
        },
        Op::ActionFailed { pick: p, retryable } => Command::ActionFailed {
            ni: pick(&actions, p)?,
            error: "boom".into(),
            retryable,
        },
        Op::RecordChanged { big } => Command::RecordChanged {
            record: json!({"amount": if big { 900000 } else { 10 }, "owner": "olga"}),
        },
        Op::AdminRetry { pick: p } => Command::Admin {
            actor: "admin".into(),
            op: AdminOp::Retry {
                incident: pick(&incidents, p)?,
            },
        },
        Op::AdminSkip { pick: p } => Command::Admin {
            actor: "admin".into(),
            op: AdminOp::Skip {
                incident: pick(&incidents, p)?,
                edge: None,
            },
        },
        Op::AdminCancel => Command::Admin {
            actor: "admin".into(),
            op: AdminOp::Cancel { reason: None },
        },
        Op::Replay => last.clone()?,
    })
}

/// Invariants that hold after every accepted command.
fn check_invariants(flow: &CompiledFlow, st: &InstanceState) -> Result<(), String> {
    let has_ni = |ni: u32| st.nodes.iter().any(|n| n.id == ni);
    if st.status.is_final() {
        if !st.tokens.is_empty()
            || st.open_tasks().next().is_some()
            || !st.timers.is_empty()
            || !st.joins.is_empty()
        {
            return Err(format!("finished instance keeps live parts: {st:#?}"));
        }
        return Ok(());
    }
    if (st.status == Status::Incident) == st.incidents.is_empty() {
        return Err(format!(
            "status {:?} vs {} incidents",
            st.status,
            st.incidents.len()
        ));
    }
    // Waiting on an outside event: an action result, or a record change (wait-until-condition).
    let pending_action = st.nodes.iter().any(|n| {
        flow.node_index(&n.node).is_some_and(|i| {
            matches!(
                flow.node_kind(i),
                NodeKind::Action { .. } | NodeKind::Wait { .. }
            )
        })
    });
    let open = st.open_tasks().next().is_some();
    if st.status == Status::Running && !open && st.timers.is_empty() && !pending_action {
        return Err(format!("running instance is stuck: {st:#?}"));
    }
    for t in &st.tokens {
        if let Some(ni) = t.ni
            && !has_ni(ni)
        {
            return Err(format!(
                "token {} waits on missing node instance {ni}",
                t.id
            ));
        }
    }
    for t in &st.tasks {
        if matches!(t.status, TaskStatus::Open | TaskStatus::Suspended) && !has_ni(t.ni) {
            return Err(format!("open task {} without node instance", t.id));
        }
    }
    for t in &st.timers {
        if !has_ni(t.ni) {
            return Err(format!("timer {} without node instance", t.id));
        }
    }
    for x in &st.nodes {
        if !st.tokens.iter().any(|t| t.ni == Some(x.id)) {
            return Err(format!("node instance {} ({}) has no token", x.id, x.node));
        }
    }
    let back: InstanceState = serde_json::from_str(&serde_json::to_string(st).unwrap()).unwrap();
    if &back != st {
        return Err("state does not survive a JSON round trip".into());
    }
    Ok(())
}

fn flows() -> Vec<CompiledFlow> {
    vec![
        compile(DEAL),
        deal_with(|v| {
            v["settings"]["dedupe"] = json!("none");
            v["settings"]["withdraw"] = json!("any_time");
            v["settings"]["resubmit"] = json!("jump_back");
            node_mut(v, "legal")["mode"] = json!({"kind": "sequential"});
            node_mut(v, "fin")["mode"] = json!({"kind": "any"});
            node_mut(v, "legal")["ops"]["add_signer"] = json!(["before", "after", "parallel"]);
        }),
        // Inclusive split/join with an interrupting timer routing around the join, a wait
        // node and an action with an error route.
        compile(
            &json!({
                "schema": "crm.workflow/1", "key": "incl", "settings": {"withdraw": "any_time"},
                "nodes": [
                    {"id": "start", "kind": "start"},
                    {"id": "split", "kind": "inclusive", "default": "s3"},
                    {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ua", "ub"]}], "mode": {"kind": "any"},
                     "ops": {"return_to": ["start"], "add_signer": ["before", "after", "parallel"]}},
                    {"id": "legal", "kind": "approval", "assignees": [{"kind": "users", "ids": ["uc"]}],
                     "timers": [{"id": "to", "duration": "PT5H", "interrupting": true},
                                {"id": "nag", "cycle": "R/PT2H", "do": {"kind": "notify"}}]},
                    {"id": "w", "kind": "wait", "until": {"kind": "condition", "when": {"expr": "record.amount > 500000"}}},
                    {"id": "ijoin", "kind": "inclusive"},
                    {"id": "hook", "kind": "action", "action": {"kind": "webhook", "url": "https://x.example/h"}, "retry": {"max": 1}},
                    {"id": "late", "kind": "end", "outcome": "rejected"},
                    {"id": "end", "kind": "end"}],
                "edges": [
                    {"id": "e0", "from": "start", "to": "split"},
                    {"id": "s1", "from": "split", "to": "mgr", "when": {"expr": "record.amount > 50"}},
                    {"id": "s2", "from": "split", "to": "legal", "when": {"expr": "record.amount > 5000"}},
                    {"id": "s3", "from": "split", "to": "w"},
                    {"id": "j1", "from": "mgr", "to": "ijoin", "on": "approved"},
                    {"id": "r1", "from": "mgr", "to": "late", "on": "rejected"},
                    {"id": "j2", "from": "legal", "to": "ijoin", "on": "approved"},
                    {"id": "t2", "from": "legal", "to": "late", "on": "timer:to"},
                    {"id": "j3", "from": "w", "to": "ijoin"},
                    {"id": "e9", "from": "ijoin", "to": "hook"},
                    {"id": "e10", "from": "hook", "to": "end"},
                    {"id": "e11", "from": "hook", "to": "late", "on": "error"}]
            })
            .to_string(),
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_commands_never_panic_or_get_stuck(
        flow_ix in 0..3usize,
        amount in prop::sample::select(vec![10, 100, 600_000]),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let flow = flows().swap_remove(flow_ix);
        let mut run = Run::new(flow);
        run.start("alice", json!({"amount": amount, "owner": "olga"}));
        check_invariants(&run.flow, &run.state).map_err(TestCaseError::fail)?;
        let mut last: Option<Command> = None;
        // Nothing twice: each task opens once and closes at most once; each action node
        // instance is queued once per attempt.
        let mut opened = std::collections::BTreeSet::new();
        let mut closed = std::collections::BTreeSet::new();
        let mut queued = std::collections::BTreeSet::new();
        let mut ledger = |effects: &[Effect]| -> Result<(), TestCaseError> {
            for e in effects {
                match e {
                    Effect::OpenTask { task, .. } => prop_assert!(opened.insert(*task), "task {} opened twice", task),
                    Effect::CloseTask { task, .. } => {
                        prop_assert!(opened.contains(task), "task {} closed before opening", task);
                        prop_assert!(closed.insert(*task), "task {} closed twice", task);
                    }
                    Effect::RunAction { ni, attempt, compensation: false, .. } => {
                        prop_assert!(queued.insert((*ni, *attempt)), "action {} attempt {} queued twice", ni, attempt)
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        ledger(&run.log)?;
        for op in &ops {
            if let Op::Advance { hours } = op {
                let until = run.now + Duration::hours(i64::from(*hours));
                let seen = run.log.len();
                run.advance_to(until);
                ledger(&run.log[seen..])?;
                check_invariants(&run.flow, &run.state).map_err(TestCaseError::fail)?;
                continue;
            }
            let Some(cmd) = to_command(&run, op, &last) else { continue };
            let before = run.state.clone();
            match apply(&run.flow, &before, cmd.clone(), run.now, &run.env) {
                Ok(t) => {
                    let noop = t.state.rev == before.rev;
                    prop_assert!(t.state.rev == before.rev + 1 || (noop && t.effects.is_empty() && t.state == before),
                        "rev {} → {}", before.rev, t.state.rev);
                    let completed = t.effects.iter().filter(|e| matches!(e, Effect::Completed { .. })).count();
                    prop_assert!(completed <= 1);
                    prop_assert_eq!(completed == 1, !before.status.is_final() && t.state.status.is_final());
                    ledger(&t.effects)?;
                    run.state = t.state;
                    check_invariants(&run.flow, &run.state).map_err(TestCaseError::fail)?;
                }
                Err(e) => {
                    prop_assert!(!e.code().is_empty());
                }
            }
            last = Some(cmd);
        }
    }
}

#[test]
fn apply_is_deterministic() {
    let flow = compile(DEAL);
    let run = Run::started(compile(DEAL), json!({"amount": 600000, "owner": "o"}));
    let task = run.task_of("l1");
    let cmd = Command::Decide {
        task,
        actor: "l1".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    };
    let a = apply(&flow, &run.state, cmd.clone(), run.now, &run.env).unwrap();
    let b = apply(&flow, &run.state, cmd, run.now, &run.env).unwrap();
    assert_eq!(a, b);
}

#[test]
fn waiting_state_is_compact() {
    let run = Run::started(compile(DEAL), json!({"amount": 600000}));
    let text = serde_json::to_string(&run.state).unwrap();
    println!("{} bytes: {text}", text.len());
}
