//! Concurrent commands: optimistic locking resolves a race, a double submit is refused
//! (scenarios 5, 6).

use weft_flow::{
    Command, CommandError, CompiledFlow, Decision, Effect, InstanceState, TaskStatus, apply,
};

use crate::common::*;
use crate::support::*;

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
