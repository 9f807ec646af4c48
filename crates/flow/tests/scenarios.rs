//! The acceptance scenarios of workflow.md §5, at the state-machine level (numbers in names).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::{Value, json};
use support::*;
use weft_flow::command::{AdminOp, CloseReason, NotifyKind};
use weft_flow::definition::SignerPosition;
use weft_flow::{
    Command, CommandError, CompiledFlow, Decision, Definition, Effect, ErrorKind, InstanceState,
    Status, TaskStatus, apply, content_hash, plan_migration,
};

fn big() -> Value {
    json!({"amount": 600000, "owner": "olga"})
}

fn small() -> Value {
    json!({"amount": 100, "owner": "olga"})
}

fn taken(run: &Run, node: &str) -> Vec<String> {
    run.audits("gateway_evaluated")
        .into_iter()
        .filter_map(|e| match e {
            Effect::Audit {
                node: Some(n),
                data,
                ..
            } if n == node => Some(data["taken"].clone()),
            _ => None,
        })
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn s01_xor_routing_and_default() {
    // (record, expected positions, edge taken)
    let cases = [
        (big(), vec!["fin", "legal"], "e_big"),
        (small(), vec!["mgr"], "e_small"),
    ];
    for (record, positions, edge) in cases {
        let run = Run::started(compile(DEAL), record);
        assert_eq!(run.positions(), positions);
        assert_eq!(
            taken(&run, "route"),
            vec![edge.to_string()],
            "exactly one out-edge taken"
        );
        let evaluated = &run.audits("gateway_evaluated")[0];
        let Effect::Audit { data, .. } = evaluated else {
            unreachable!()
        };
        assert_eq!(
            data["conditions"][0]["edge"], "e_big",
            "the audit shows the evaluated condition"
        );
    }
}

fn xor_flow(default: bool, reversed_order: bool) -> CompiledFlow {
    let (o1, o2) = if reversed_order { (2, 1) } else { (1, 2) };
    let mut v = json!({
        "schema": "crm.workflow/1", "key": "xor",
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "exclusive"},
            {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ua"]}]},
            {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ub"]}]},
            {"id": "end", "kind": "end"}],
        "edges": [
            {"id": "e0", "from": "start", "to": "route"},
            {"id": "to_b", "from": "route", "to": "b", "order": o2, "when": {"expr": "record.amount > 10"}},
            {"id": "to_a", "from": "route", "to": "a", "order": o1, "when": {"expr": "record.amount > 5"}},
            {"id": "a_end", "from": "a", "to": "end", "on": "approved"},
            {"id": "b_end", "from": "b", "to": "end", "on": "approved"}]
    });
    if default {
        v["nodes"][1]["default"] = json!("to_c");
        v["nodes"].as_array_mut().unwrap().push(
            json!({"id": "c", "kind": "approval", "assignees": [{"kind": "users", "ids": ["uc"]}]}),
        );
        v["edges"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "to_c", "from": "route", "to": "c"}));
        v["edges"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "c_end", "from": "c", "to": "end", "on": "approved"}));
    }
    compile(&v.to_string())
}

#[test]
fn s02_xor_no_match_is_an_incident_and_admin_retry_proceeds() {
    let mut run = Run::started(xor_flow(false, false), json!({"amount": 1}));
    assert_eq!(run.status(), Status::Incident);
    let inc = run.state.incidents[0].clone();
    assert_eq!(
        (inc.code.as_str(), inc.node.as_str()),
        ("gateway.no_matching_flow", "route")
    );
    assert_eq!(run.state.open_tasks().count(), 0, "nothing else happens");
    assert!(run.count(|e| matches!(e, Effect::Incident { .. })) == 1);
    // Retrying without fixing the data raises a fresh incident; after fixing it proceeds.
    run.cmd(Command::RecordChanged {
        record: json!({"amount": 7}),
    });
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Retry { incident: inc.id },
    });
    assert_eq!(run.status(), Status::Running);
    assert_eq!(run.open_users(), vec!["ua"]);
    // The same incident cannot be retried twice.
    let again = run.try_cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Retry { incident: inc.id },
    });
    assert_eq!(again.unwrap_err().code(), "flow.incident_not_found");
}

#[test]
fn s02b_admin_skip_and_cancel() {
    let mut run = Run::started(xor_flow(false, false), json!({"amount": 1}));
    let id = run.state.incidents[0].id;
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Skip {
            incident: id,
            edge: Some("to_b".into()),
        },
    });
    assert_eq!(run.open_users(), vec!["ub"]);
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Cancel { reason: None },
    });
    assert_eq!(run.status(), Status::Terminated);
    assert!(run.last.contains(&Effect::CancelPendingActions));
}

#[test]
fn s03_condition_order_first_true_wins() {
    for reversed in [false, true] {
        let run = Run::started(xor_flow(true, reversed), json!({"amount": 50}));
        let expected = if reversed { "ub" } else { "ua" };
        assert_eq!(
            run.open_users(),
            vec![expected],
            "order-1 edge taken (reversed={reversed})"
        );
    }
}

fn to_join(run: &mut Run, legal_first: bool) {
    let legal = ["l1", "l2", "l3"];
    let fin = ["u1", "u2", "u3"];
    let (first, second): (&[&str], &[&str]) = if legal_first {
        (&legal, &fin)
    } else {
        (&fin, &legal)
    };
    for u in first {
        run.approve(u);
    }
    assert_eq!(
        run.actions_run("notify_dir"),
        0,
        "join waits for the other branch"
    );
    for u in &second[..second.len() - 1] {
        run.approve(u);
        assert_eq!(run.actions_run("notify_dir"), 0);
    }
    run.approve(second[second.len() - 1]);
}

#[test]
fn s04_parallel_fork_join_either_order() {
    for legal_first in [true, false] {
        let mut run = Run::started(compile(DEAL), big());
        to_join(&mut run, legal_first);
        assert_eq!(run.audits("join_fired").len(), 1);
        assert_eq!(run.actions_run("notify_dir"), 1, "notify_dir exactly once");
        run.run_actions();
        assert_eq!(run.status(), Status::Approved);
        assert_eq!(run.actions_run("notify_dir"), 1);
        assert!(run.state.joins.is_empty());
    }
}

/// A store with optimistic locking: commit succeeds only on the expected revision.
struct Store {
    state: InstanceState,
    revs: Vec<u64>,
    effects: Vec<Effect>,
}

impl Store {
    /// The runtime's command path: load → apply → CAS commit, retrying on conflict.
    fn handle(
        &mut self,
        flow: &CompiledFlow,
        loaded: &InstanceState,
        cmd: Command,
        run: &Run,
    ) -> Result<(), CommandError> {
        let mut snapshot = loaded.clone();
        for _ in 0..5 {
            let t = apply(flow, &snapshot, cmd.clone(), run.now, &run.env)?;
            if self.state.rev == snapshot.rev {
                self.state = t.state;
                self.revs.push(self.state.rev);
                self.effects.extend(t.effects);
                return Ok(());
            }
            snapshot = self.state.clone(); // conflict: reload and re-apply
        }
        Err(CommandError::Invalid("too many conflicts".into()))
    }
}

#[test]
fn s05_concurrent_completion_race_resolves_by_retry() {
    let mut run = Run::started(compile(DEAL), big());
    for u in ["l1", "l2", "u1", "u2"] {
        run.approve(u);
    }
    // Two workers load the same revision and decide the last two tasks at the same instant.
    let loaded = run.state.clone();
    let (tl, tf) = (run.task_of("l3"), run.task_of("u3"));
    let mut store = Store {
        state: loaded.clone(),
        revs: vec![loaded.rev],
        effects: vec![],
    };
    let d = |task: u32, actor: &str| Command::Decide {
        task,
        actor: actor.into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    };
    store
        .handle(&run.flow, &loaded, d(tl, "l3"), &run)
        .expect("worker 1");
    store
        .handle(&run.flow, &loaded, d(tf, "u3"), &run)
        .expect("worker 2 retried internally, no error surfaced");
    assert!(
        store.revs.windows(2).all(|w| w[1] > w[0]),
        "rev strictly increasing: {:?}",
        store.revs
    );
    let notify = store
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::RunAction { node, .. } if node == "notify_dir"))
        .count();
    assert_eq!(notify, 1, "join fired exactly once");
    assert_eq!(store.state.task_status(tl), Some(TaskStatus::Approved));
    assert_eq!(store.state.task_status(tf), Some(TaskStatus::Approved));
}

#[test]
fn s06_double_submit_is_already_decided() {
    let mut run = Run::started(compile(DEAL), small());
    let task = run.task_of("bob");
    let cmd = Command::Decide {
        task,
        actor: "bob".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    };
    run.cmd(cmd.clone());
    let rev = run.state.rev;
    let tokens = run.state.tokens.clone();
    let err = run.try_cmd(cmd).unwrap_err();
    assert_eq!(err, CommandError::AlreadyDecided(task));
    assert_eq!(err.code(), "flow.already_decided");
    assert_eq!(run.audits("task_decided").len(), 1, "one audit event");
    assert_eq!(
        (run.state.rev, run.state.tokens.clone()),
        (rev, tokens),
        "no extra token"
    );
}

#[test]
fn s07_countersign_all_approve() {
    let mut run = Run::started(compile(DEAL), big());
    run.approve("l1");
    run.approve("l2");
    assert!(run.audits("node_decided").is_empty());
    run.approve("l3");
    let decided = run.audits("node_decided");
    assert_eq!(decided.len(), 1);
    assert!(
        matches!(decided[0], Effect::Audit { node: Some(n), data, .. } if n == "legal" && data["outcome"] == "approved")
    );
}

#[test]
fn s08_countersign_one_reject_vetoes() {
    let mut run = Run::started(compile(DEAL), big());
    run.approve("l1");
    let c_task = run.task_of("l3");
    run.reject("l2");
    assert!(run.last.contains(&Effect::CloseTask {
        task: c_task,
        status: TaskStatus::Cancelled,
        reason: CloseReason::NodeDecided
    }));
    assert_eq!(
        run.decide("l3", Decision::Approve).unwrap_err(),
        CommandError::TaskNotFound(u32::MAX)
    );
    let late = run.try_cmd(Command::Decide {
        task: c_task,
        actor: "l3".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    });
    assert_eq!(late.unwrap_err().code(), "flow.task_closed");
    assert_eq!(run.status(), Status::Rejected);
    assert!(
        run.audits("end_reached")
            .iter()
            .any(|e| matches!(e, Effect::Audit { node: Some(n), .. } if n == "end_rej"))
    );
}

#[test]
fn s09_or_sign_first_decision_wins() {
    for (decision, outcome) in [
        (Decision::Approve, "approved"),
        (Decision::Reject, "rejected"),
    ] {
        let flow = deal_with(|v| node_mut(v, "legal")["mode"] = json!({"kind": "any"}));
        let mut run = Run::started(flow, big());
        let others = [run.task_of("l2"), run.task_of("l3")];
        run.decide("l1", decision).unwrap();
        let decided = run.audits("node_decided");
        assert!(matches!(decided[0], Effect::Audit { data, .. } if data["outcome"] == outcome));
        for t in others {
            assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
            let late = run.try_cmd(Command::Decide {
                task: t,
                actor: "l2".into(),
                acting_for: None,
                decision,
                comment: None,
            });
            assert!(late.is_err());
        }
    }
}

#[test]
fn s10_ratio_with_early_decision() {
    // approvals: decided at the 3rd approval; rejections: decided at the 3rd rejection.
    for decision in [Decision::Approve, Decision::Reject] {
        let mut run = Run::started(compile(DEAL), big());
        let rest = [run.task_of("u4"), run.task_of("u5")];
        run.decide("u1", decision).unwrap();
        run.decide("u2", decision).unwrap();
        assert!(run.audits("node_decided").is_empty());
        run.decide("u3", decision).unwrap();
        let decided = run.audits("node_decided");
        assert_eq!(decided.len(), 1);
        let expect = if decision == Decision::Approve {
            "approved"
        } else {
            "rejected"
        };
        assert!(
            matches!(decided[0], Effect::Audit { node: Some(n), data, .. } if n == "fin" && data["outcome"] == expect)
        );
        for t in rest {
            assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
        }
    }
}

#[test]
fn s11_sequential_one_at_a_time() {
    let flow = deal_with(|v| {
        node_mut(v, "legal")["mode"] = json!({"kind": "sequential"});
        node_mut(v, "legal")["assignees"] = json!([{"kind": "users", "ids": ["a", "b", "c"]}]);
    });
    let mut run = Run::started(flow, big());
    let legal_users = |r: &Run| {
        r.open_users()
            .into_iter()
            .filter(|u| ["a", "b", "c"].contains(&u.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(legal_users(&run), vec!["a"]);
    run.approve("a");
    assert_eq!(legal_users(&run), vec!["b"]);
    run.reject("b");
    assert_eq!(run.status(), Status::Rejected);
    assert_eq!(
        run.count(|e| matches!(e, Effect::OpenTask { user, .. } if user == "c")),
        0,
        "c never gets a task"
    );
}

#[test]
fn s12_parallel_join_after_one_branch_rejected() {
    let mut run = Run::started(compile(DEAL), big());
    let fin_tasks: Vec<u32> = ["u1", "u2", "u3", "u4", "u5"]
        .iter()
        .map(|u| run.task_of(u))
        .collect();
    run.reject("l1");
    assert_eq!(run.status(), Status::Rejected);
    for t in fin_tasks {
        assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
    }
    assert!(run.audits("join_fired").is_empty());
    assert_eq!(run.actions_run("notify_dir") + run.actions_run("hook"), 0);
    assert_eq!(
        run.count(|e| matches!(
            e,
            Effect::Notify {
                kind: NotifyKind::Rejected,
                ..
            }
        )),
        1
    );
    assert_eq!(run.count(|e| matches!(e, Effect::Completed { .. })), 1);
    assert!(
        run.state.tokens.is_empty() && run.state.joins.is_empty() && run.state.timers.is_empty()
    );
}

fn inclusive_flow() -> CompiledFlow {
    compile(
        &json!({
            "schema": "crm.workflow/1", "key": "incl",
            "nodes": [
                {"id": "start", "kind": "start"},
                {"id": "split", "kind": "inclusive"},
                {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ua"]}]},
                {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": ["ub"]}],
                 "timers": [{"id": "to", "duration": "PT2H", "interrupting": true}]},
                {"id": "c", "kind": "approval", "assignees": [{"kind": "users", "ids": ["uc"]}]},
                {"id": "ijoin", "kind": "inclusive"},
                {"id": "late", "kind": "cc", "recipients": [{"kind": "initiator"}]},
                {"id": "end_late", "kind": "end"},
                {"id": "end", "kind": "end"}],
            "edges": [
                {"id": "e0", "from": "start", "to": "split"},
                {"id": "s1", "from": "split", "to": "a", "when": {"expr": "true"}},
                {"id": "s2", "from": "split", "to": "b", "when": {"expr": "record.x > 1"}},
                {"id": "s3", "from": "split", "to": "c", "when": {"expr": "record.x > 5"}},
                {"id": "j1", "from": "a", "to": "ijoin", "on": "approved"},
                {"id": "j2", "from": "b", "to": "ijoin", "on": "approved"},
                {"id": "j3", "from": "c", "to": "ijoin", "on": "approved"},
                {"id": "tb", "from": "b", "to": "late", "on": "timer:to"},
                {"id": "tl", "from": "late", "to": "end_late"},
                {"id": "e9", "from": "ijoin", "to": "end"}]
        })
        .to_string(),
    )
}

#[test]
fn s13_inclusive_join_skips_dead_branches() {
    for timer_first in [true, false] {
        let mut run = Run::started(inclusive_flow(), json!({"x": 3}));
        assert_eq!(
            run.open_users(),
            vec!["ua", "ub"],
            "2 of 3 branches selected"
        );
        if timer_first {
            run.advance(Duration::hours(3));
            assert!(run.audits("join_fired").is_empty());
            run.approve("ua");
        } else {
            run.approve("ua");
            assert!(
                run.audits("join_fired").is_empty(),
                "b can still reach the join"
            );
            run.advance(Duration::hours(3));
        }
        assert_eq!(
            run.audits("join_fired").len(),
            1,
            "join fired once no live token could reach it"
        );
        assert_eq!(run.status(), Status::Approved);
    }
    // All selected branches arrive: the join fires on the last arrival.
    let mut run = Run::started(inclusive_flow(), json!({"x": 3}));
    run.approve("ub");
    run.approve("ua");
    assert_eq!(run.status(), Status::Approved);
}

#[test]
fn s14_add_signer_before_after_parallel() {
    // Before: X decides first, then A's task reopens and A's approval completes the node.
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::AddSigner {
        task: a,
        actor: "bob".into(),
        position: SignerPosition::Before,
        users: vec!["x".into()],
        comment: None,
    });
    assert_eq!(run.task_status(a), Some(TaskStatus::Suspended));
    assert_eq!(
        run.decide("bob", Decision::Approve).unwrap_err(),
        CommandError::TaskNotFound(u32::MAX)
    );
    run.approve("x");
    assert_eq!(run.task_status(a), Some(TaskStatus::Open));
    assert!(run.audits("node_decided").is_empty());
    run.approve("bob");
    assert_eq!(run.audits("node_decided").len(), 1);

    // After: A approves with Y; Y must approve; no return to A.
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::AddSigner {
        task: a,
        actor: "bob".into(),
        position: SignerPosition::After,
        users: vec!["y".into()],
        comment: None,
    });
    assert_eq!(run.task_status(a), Some(TaskStatus::Approved));
    assert!(run.audits("node_decided").is_empty());
    run.approve("y");
    assert_eq!(run.audits("node_decided").len(), 1);
    assert_eq!(
        run.count(|e| matches!(e, Effect::OpenTask { user, .. } if user == "bob")),
        1,
        "no return to A"
    );
    let y_adds = run.try_cmd(Command::AddSigner {
        task: a,
        actor: "bob".into(),
        position: SignerPosition::After,
        users: vec!["z".into()],
        comment: None,
    });
    assert!(y_adds.is_err());

    // Parallel on a 3-person 会签: 4 approvals needed.
    let mut run = Run::started(compile(DEAL), big());
    let l1 = run.task_of("l1");
    run.cmd(Command::AddSigner {
        task: l1,
        actor: "l1".into(),
        position: SignerPosition::Parallel,
        users: vec!["z".into()],
        comment: None,
    });
    for u in ["l1", "l2", "l3"] {
        run.approve(u);
    }
    assert!(run.audits("node_decided").is_empty());
    run.approve("z");
    assert_eq!(run.audits("node_decided").len(), 1);

    // Ratio node: `keep` keeps 3 approvals needed of 6; `recompute` needs ceil(0.6·6) = 4.
    for (policy, need) in [("keep", 3), ("recompute", 4)] {
        let flow = deal_with(|v| node_mut(v, "fin")["mode"]["on_add_signer"] = json!(policy));
        let mut run = Run::started(flow, big());
        let u1 = run.task_of("u1");
        run.cmd(Command::AddSigner {
            task: u1,
            actor: "u1".into(),
            position: SignerPosition::Parallel,
            users: vec!["u6".into()],
            comment: None,
        });
        let ni = run.state.nodes.iter().find(|n| n.node == "fin").unwrap();
        assert_eq!((ni.slots, ni.need), (6, need), "policy {policy}");
    }
}

#[test]
fn s15_transfer_and_delegate() {
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::Transfer {
        task: a,
        actor: "bob".into(),
        to: "bea".into(),
        comment: None,
    });
    assert_eq!(run.task_status(a), Some(TaskStatus::Transferred));
    let b = run.task_of("bea");
    assert_eq!(
        run.state.task(b).unwrap().ni,
        run.state.nodes[0].id,
        "same node instance"
    );
    let late = run.try_cmd(Command::Decide {
        task: a,
        actor: "bob".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    });
    assert_eq!(late.unwrap_err().kind(), ErrorKind::Forbidden);
    let stranger = run.try_cmd(Command::Decide {
        task: b,
        actor: "bob".into(),
        acting_for: None,
        decision: Decision::Approve,
        comment: None,
    });
    assert_eq!(stranger.unwrap_err().kind(), ErrorKind::Forbidden);

    // Delegation: D decides as "D acting for A" (explicit delegate, and a standing delegate).
    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::Delegate {
        task: a,
        actor: "bob".into(),
        to: "dan".into(),
    });
    let d = run.task_of("dan");
    assert_eq!(
        run.state.task(d).unwrap().acting_for.as_deref(),
        Some("bob")
    );
    run.approve("dan");
    let ev = run.audits("task_decided");
    assert!(
        matches!(ev[0], Effect::Audit { actor: Some(a), data, .. } if a == "dan" && data["acting_for"] == "bob")
    );

    let mut run = Run::started(compile(DEAL), small());
    let a = run.task_of("bob");
    run.cmd(Command::Decide {
        task: a,
        actor: "dan".into(),
        acting_for: Some("bob".into()),
        decision: Decision::Approve,
        comment: None,
    });
    let ev = run.audits("task_decided");
    assert!(
        matches!(ev[0], Effect::Audit { actor: Some(a), data, .. } if a == "dan" && data["acting_for"] == "bob")
    );
}

fn at_escalate(resubmit: &str) -> Run {
    let flow = deal_with(|v| v["settings"]["resubmit"] = json!(resubmit));
    let mut run = Run::started(flow, small());
    run.advance(Duration::days(7)); // sla (3 working days) fires → escalate
    assert_eq!(run.positions(), vec!["escalate"]);
    run
}

#[test]
fn s16_return_to_start_then_rerun_or_jump_back() {
    let mut run = at_escalate("rerun");
    let t = run.task_of("d1");
    run.cmd(Command::Return {
        task: t,
        actor: "d1".into(),
        to_node: "start".into(),
        comment: Some("fix amount".into()),
    });
    assert_eq!(run.task_status(t), Some(TaskStatus::Cancelled));
    assert_eq!(run.positions(), vec!["start"]);
    let rs = run.task_of("alice");
    run.cmd(Command::Resubmit {
        task: rs,
        actor: "alice".into(),
        record: Some(small()),
    });
    assert_eq!(run.positions(), vec!["mgr"], "route and mgr run again");
    assert_eq!(taken(&run, "route").len(), 2);

    let mut run = at_escalate("jump_back");
    let t = run.task_of("d1");
    run.cmd(Command::Return {
        task: t,
        actor: "d1".into(),
        to_node: "start".into(),
        comment: None,
    });
    let rs = run.task_of("alice");
    run.cmd(Command::Resubmit {
        task: rs,
        actor: "alice".into(),
        record: None,
    });
    assert_eq!(run.positions(), vec!["escalate"], "jump straight back");
    assert_eq!(taken(&run, "route").len(), 1);

    // Not a configured/visited target → rejected.
    let mut run = Run::started(compile(DEAL), big());
    let t = run.task_of("l1");
    let bad = run.try_cmd(Command::Return {
        task: t,
        actor: "l1".into(),
        to_node: "mgr".into(),
        comment: None,
    });
    assert_eq!(bad.unwrap_err().code(), "flow.invalid_return_target");
}

#[test]
fn s17_return_across_a_parallel_region_clears_join_arrivals() {
    // Without dedupe, so that legal's approvers must approve again in the new round.
    let mut run = Run::started(
        deal_with(|v| v["settings"]["dedupe"] = json!("none")),
        big(),
    );
    for u in ["l1", "l2", "l3"] {
        run.approve(u);
    }
    assert_eq!(run.state.joins.len(), 1, "legal arrived at the join");
    let f = run.task_of("u1");
    run.cmd(Command::Return {
        task: f,
        actor: "u1".into(),
        to_node: "start".into(),
        comment: None,
    });
    assert!(run.state.joins.is_empty(), "stale arrival cleared");
    assert_eq!(
        run.state.open_tasks().count(),
        1,
        "only the resubmit task is open"
    );
    let rs = run.task_of("alice");
    run.cmd(Command::Resubmit {
        task: rs,
        actor: "alice".into(),
        record: None,
    });
    for u in ["u1", "u2", "u3"] {
        run.approve(u);
    }
    assert!(
        run.audits("join_fired").is_empty(),
        "fin alone cannot fire the new round"
    );
    for u in ["l1", "l2", "l3"] {
        run.approve(u);
    }
    assert_eq!(run.audits("join_fired").len(), 1);
}

fn compensating_flow(policy: &str) -> CompiledFlow {
    compile(
        &json!({
            "schema": "crm.workflow/1", "key": "wd", "settings": {"withdraw": policy},
            "nodes": [
                {"id": "start", "kind": "start"},
                {"id": "reserve", "kind": "action", "action": {"kind": "webhook", "url": "https://erp.example/reserve"},
                 "compensate": {"kind": "webhook", "method": "DELETE", "url": "https://erp.example/reserve"}},
                {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": ["bob", "bea"]}], "mode": {"kind": "all"}},
                {"id": "end", "kind": "end"}],
            "edges": [
                {"id": "e0", "from": "start", "to": "reserve"},
                {"id": "e1", "from": "reserve", "to": "mgr"},
                {"id": "e2", "from": "mgr", "to": "end", "on": "approved"}]
        })
        .to_string(),
    )
}

#[test]
fn s18_withdraw() {
    let mut run = Run::started(compensating_flow("any_time"), json!({}));
    run.run_actions();
    run.approve("bob");
    let stranger = run.try_cmd(Command::Withdraw {
        actor: "bob".into(),
        comment: None,
    });
    assert_eq!(stranger.unwrap_err().kind(), ErrorKind::Forbidden);
    run.cmd(Command::Withdraw {
        actor: "alice".into(),
        comment: None,
    });
    assert_eq!(run.status(), Status::Withdrawn);
    assert_eq!(run.state.open_tasks().count(), 0);
    assert!(run.last.contains(&Effect::CancelPendingActions));
    assert_eq!(
        run.count(
            |e| matches!(e, Effect::RunAction { compensation: true, node, .. } if node == "reserve")
        ),
        1
    );

    let mut run = Run::started(compensating_flow("until_first_action"), json!({}));
    run.run_actions();
    run.approve("bob");
    let late = run
        .try_cmd(Command::Withdraw {
            actor: "alice".into(),
            comment: None,
        })
        .unwrap_err();
    assert_eq!(
        (late.code(), late.kind()),
        ("flow.withdraw_not_allowed", ErrorKind::Conflict)
    );

    // Timers of the withdrawn node are cancelled too.
    let mut run = Run::started(compile(DEAL), small());
    let timers: Vec<u32> = run.state.timers.iter().map(|t| t.id).collect();
    run.cmd(Command::Withdraw {
        actor: "alice".into(),
        comment: None,
    });
    for t in timers {
        assert!(run.last.contains(&Effect::CancelTimer { timer: t }));
    }
}

#[test]
fn s19_cc_never_blocks() {
    let mut run = Run::started(compile(DEAL), big());
    for u in ["l1", "l2", "l3", "u1", "u2", "u3"] {
        run.approve(u);
    }
    let ni = run
        .state
        .nodes
        .iter()
        .find(|n| n.node == "notify_dir")
        .unwrap()
        .id;
    run.cmd(Command::ActionDone {
        ni,
        result: Value::Null,
    });
    let cc: Vec<&Effect> = run
        .last
        .iter()
        .filter(|e| matches!(e, Effect::Cc { .. }))
        .collect();
    assert_eq!(
        cc,
        vec![&Effect::Cc {
            node: "cc_owner".into(),
            users: vec!["olga".into()],
            template: Some("cc.hbs".into())
        }]
    );
    assert!(
        run.last
            .iter()
            .any(|e| matches!(e, Effect::RunAction { node, .. } if node == "set_stage")),
        "moved on in the same transition"
    );
    assert_eq!(
        run.count(|e| matches!(e, Effect::OpenTask { user, .. } if user == "olga")),
        0,
        "no action buttons"
    );
}

#[test]
fn s20_empty_approver_policy_and_dedupe() {
    let mut run = Run::new(compile(DEAL));
    run.start("zed", small()); // zed has no manager
    assert_eq!(run.open_users(), vec!["admin"]);
    assert_eq!(run.audits("empty_assignees").len(), 1);

    // Policies table: (policy, expected status/incident)
    for (policy, expect) in [
        (json!({"kind": "auto_approve"}), "set_stage"),
        (json!({"kind": "auto_reject"}), "rejected"),
        (json!({"kind": "incident"}), "incident"),
    ] {
        let flow = deal_with(|v| node_mut(v, "mgr")["on_empty"] = policy.clone());
        let mut run = Run::new(flow);
        run.start("zed", small());
        match expect {
            "set_stage" => assert_eq!(run.positions(), vec!["set_stage"]),
            "rejected" => assert_eq!(run.status(), Status::Rejected),
            _ => assert_eq!(run.state.incidents[0].code, "approval.no_assignees"),
        }
    }

    let flow = compile(
        &json!({
            "schema": "crm.workflow/1", "key": "dd", "settings": {"dedupe": "auto_approve_repeat"},
            "nodes": [
                {"id": "start", "kind": "start"},
                {"id": "a1", "kind": "approval", "assignees": [{"kind": "users", "ids": ["x"]}]},
                {"id": "a2", "kind": "approval", "assignees": [{"kind": "users", "ids": ["x", "y"]}], "mode": {"kind": "all"}},
                {"id": "end", "kind": "end"}],
            "edges": [
                {"id": "e0", "from": "start", "to": "a1"},
                {"id": "e1", "from": "a1", "to": "a2", "on": "approved"},
                {"id": "e2", "from": "a2", "to": "end", "on": "approved"}]
        })
        .to_string(),
    );
    let mut run = Run::started(flow, json!({}));
    run.approve("x");
    assert_eq!(run.open_users(), vec!["y"]);
    let auto = run.audits("auto_approved");
    assert!(
        matches!(auto[0], Effect::Audit { actor: Some(a), data, .. } if a == "x" && data["reason"] == "dedupe")
    );
    run.approve("y");
    assert_eq!(run.status(), Status::Approved);
}

fn reminders(run: &Run) -> usize {
    run.count(|e| {
        matches!(
            e,
            Effect::Notify {
                kind: NotifyKind::Reminder,
                ..
            }
        )
    })
}

#[test]
fn s21_non_interrupting_reminder_cycle() {
    let mut run = Run::started(compile(DEAL), small()); // Thursday: sla (3 workdays) is next Tuesday
    let sla = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "sla")
        .unwrap()
        .due;
    assert_eq!(
        sla,
        t0() + Duration::days(5),
        "business calendar from the environment"
    );
    run.advance(Duration::hours(80));
    assert_eq!(reminders(&run), 3, "reminders at 24/48/72 h");
    assert_eq!(run.open_users(), vec!["bob"], "task still open");

    let mut run = Run::started(compile(DEAL), small());
    run.advance(Duration::hours(30));
    run.approve("bob");
    assert_eq!(reminders(&run), 1);
    assert!(
        run.state.timers.is_empty(),
        "remaining reminders and sla cancelled"
    );
    run.advance(Duration::hours(100));
    assert_eq!(reminders(&run), 1);
}

#[test]
fn s22_timer_fired_twice_and_missed_cycles() {
    let mut run = Run::started(compile(DEAL), small());
    let sla = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "sla")
        .unwrap()
        .clone();
    // Workers down past the due time: fire once at restart.
    run.now = sla.due + Duration::hours(2);
    run.cmd(Command::TimerFired { timer: sla.id });
    assert_eq!(run.positions(), vec!["escalate"]);
    assert_eq!(
        run.count(|e| matches!(
            e,
            Effect::CloseTask {
                reason: CloseReason::Timeout,
                ..
            }
        )),
        1,
        "mgr task cancelled"
    );
    let rev = run.state.rev;
    run.cmd(Command::TimerFired { timer: sla.id });
    assert_eq!(
        (run.state.rev, run.last.len()),
        (rev, 0),
        "second firing is a no-op"
    );

    // Early firing is refused.
    let mut run = Run::started(compile(DEAL), small());
    let remind = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "remind")
        .unwrap()
        .id;
    assert_eq!(
        run.try_cmd(Command::TimerFired { timer: remind })
            .unwrap_err()
            .code(),
        "flow.timer_not_due"
    );

    // A cycle missed several times fires once and schedules the next *future* occurrence.
    let flow = deal_with(|v| node_mut(v, "mgr")["timers"][0]["cycle"] = json!("R10/PT1H"));
    let mut run = Run::started(flow, small());
    let remind = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "remind")
        .unwrap()
        .clone();
    run.now = remind.due + Duration::minutes(150); // 3 occurrences due (1h, 2h, 3h)
    run.cmd(Command::TimerFired { timer: remind.id });
    assert_eq!(reminders(&run), 1);
    let next = run
        .state
        .timers
        .iter()
        .find(|t| t.spec == "remind")
        .unwrap();
    assert!(next.due > run.now && next.due == remind.due + Duration::hours(3));
    assert_eq!(next.left, Some(7));
}

#[test]
fn s23_running_instance_keeps_its_version() {
    let v3 = compile(DEAL);
    let mut run = Run::started(v3, small());
    let v4 = deal_v4();
    // Publishing v4 does not touch I1: it continues on v3's graph.
    assert_ne!(v4.content_hash(), run.flow.content_hash());
    run.approve("bob");
    run.run_actions();
    assert_eq!(run.status(), Status::Approved);
    // New instances use v4.
    let mut new = Run::new(v4);
    new.start("alice", small());
    assert_eq!(new.positions(), vec!["mgr2"]);
    // Definitions are byte-identical after a JSON round trip (hash check).
    let def = run.flow.definition().clone();
    let again = Definition::from_json(&serde_json::to_string_pretty(&def).unwrap()).unwrap();
    assert_eq!(def.canonical_json(), again.canonical_json());
    assert_eq!(content_hash(&again), run.flow.content_hash());
}

fn deal_v4() -> CompiledFlow {
    let text = DEAL
        .replace("\"mgr\"", "\"mgr2\"")
        .replace("\"version\": 3", "\"version\": 4");
    compile(&text)
}

#[test]
fn s24_explicit_migration_with_mapping() {
    let v3 = compile(DEAL);
    let v4 = deal_v4();
    let run = Run::started(v3, small());
    let task = run.task_of("bob");
    let mapping: BTreeMap<String, String> = [("mgr".to_string(), "mgr2".to_string())].into();
    let migrated = plan_migration(&run.flow, &v4, &run.state, &mapping).expect("migration plan");
    assert_eq!(migrated.positions(), vec!["mgr2"]);
    assert_eq!(
        migrated.task(task).unwrap().user,
        "bob",
        "open task moved with its node instance"
    );
    assert_eq!(migrated.rev, run.state.rev + 1);
    // Continue on v4.
    let mut run4 = Run::new(v4);
    run4.state = migrated;
    run4.approve("bob");
    assert_eq!(run4.positions(), vec!["set_stage"]);

    // A mapping missing an active node rejects the whole migration.
    let problems = plan_migration(&run.flow, &run4.flow, &run.state, &BTreeMap::new()).unwrap_err();
    assert_eq!(
        problems.len(),
        1,
        "one problem per unmapped node: {problems:?}"
    );
    assert_eq!(problems[0].code, "migration.unmapped_node");
    assert_eq!(problems[0].node.as_deref(), Some("mgr"));
}

#[test]
fn s25_side_effects_are_idempotent_and_errors_become_incidents() {
    let mut run = Run::started(compile(DEAL), small());
    run.approve("bob");
    let (ni, key) = match run
        .last
        .iter()
        .find(|e| matches!(e, Effect::RunAction { node, .. } if node == "set_stage"))
    {
        Some(Effect::RunAction {
            ni,
            idempotency_key,
            ..
        }) => (*ni, idempotency_key.clone()),
        _ => panic!("set_stage not queued"),
    };
    run.cmd(Command::ActionDone {
        ni,
        result: Value::Null,
    });
    // A redelivered result after a crash is a no-op.
    let rev = run.state.rev;
    run.cmd(Command::ActionDone {
        ni,
        result: Value::Null,
    });
    assert_eq!(run.state.rev, rev);
    assert_eq!(run.actions_run("set_stage"), 1, "record update queued once");
    // hook: a retryable failure re-sends with the same key and a backoff.
    let hook_ni = run
        .state
        .nodes
        .iter()
        .find(|n| n.node == "hook")
        .unwrap()
        .id;
    run.cmd(Command::ActionFailed {
        ni: hook_ni,
        error: "receiver unavailable".into(),
        retryable: true,
    });
    let keys: Vec<(String, u32)> = run
        .log
        .iter()
        .filter_map(|e| match e {
            Effect::RunAction {
                node,
                idempotency_key,
                attempt,
                ..
            } if node == "hook" => Some((idempotency_key.clone(), *attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].0, keys[1].0, "same Idempotency-Key across attempts");
    assert_eq!((keys[0].1, keys[1].1), (1, 2));
    assert_ne!(key, keys[0].0);
    // A non-retryable failure without an error edge → incident, admin skip continues.
    run.cmd(Command::ActionFailed {
        ni: hook_ni,
        error: "receiver refused the payload".into(),
        retryable: false,
    });
    assert_eq!(run.status(), Status::Incident);
    let inc = run.state.incidents[0].id;
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Skip {
            incident: inc,
            edge: None,
        },
    });
    assert_eq!(run.status(), Status::Approved);

    // A rhai runtime error in a condition is an incident, not a panic.
    let flow =
        deal_with(|v| v["edges"][1]["when"]["expr"] = json!("record.amount / record.n > 500000"));
    let mut run = Run::started(flow, json!({"amount": 5, "n": 0}));
    assert_eq!(run.state.incidents[0].code, "condition.error");
    run.cmd(Command::RecordChanged {
        record: json!({"amount": 5, "n": 1}),
    });
    let inc = run.state.incidents[0].id;
    run.cmd(Command::Admin {
        actor: "admin".into(),
        op: AdminOp::Retry { incident: inc },
    });
    assert_eq!(run.positions(), vec!["mgr"]);
}
