//! Test harness: the rhai adapter, an org-chart environment with a Mon–Fri calendar, and a
//! driver with a controllable clock that records every effect.
#![allow(dead_code)]

pub mod rhai_expr;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use serde_json::{Value, json};
use weft_flow::definition::AssigneeRule;
use weft_flow::duration::parse_duration;
use weft_flow::{
    Command, CommandError, CompiledFlow, Decision, Definition, Effect, Environment, InstanceState,
    ResolveContext, Status, TaskStatus, apply,
};

pub use rhai_expr::RhaiCompiler;

pub const DEAL: &str = include_str!("../fixtures/deal_big_approval.json");

#[derive(Default, Clone)]
pub struct Org {
    pub roles: BTreeMap<String, Vec<String>>,
    /// user → [manager, manager's manager, …]
    pub managers: BTreeMap<String, Vec<String>>,
}

impl Org {
    pub fn standard() -> Org {
        let mut o = Org::default();
        o.roles
            .insert("legal".into(), vec!["l1".into(), "l2".into(), "l3".into()]);
        o.roles.insert("director".into(), vec!["d1".into()]);
        o.roles.insert("wf_admin".into(), vec!["admin".into()]);
        o.managers
            .insert("alice".into(), vec!["bob".into(), "carol".into()]);
        o
    }
}

impl Environment for Org {
    fn resolve_assignees(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<String> {
        match rule {
            AssigneeRule::Role { role } => self.roles.get(role).cloned().unwrap_or_default(),
            AssigneeRule::ManagerOf { level, .. } => self
                .managers
                .get(ctx.initiator)
                .and_then(|m| m.get(*level as usize - 1))
                .cloned()
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Monday–Friday calendar, as the runtime's calendars count: the date part of the
    /// duration (`P3D`) counts working days, the time part (`PT24H`) elapsed time.
    fn add_business_duration(
        &self,
        start: DateTime<Utc>,
        iso: &str,
        _calendar: &str,
    ) -> DateTime<Utc> {
        let Ok(total) = parse_duration(iso) else {
            return start;
        };
        let date_part = iso.split('T').next().unwrap_or("P");
        let days = if date_part == "P" {
            0
        } else {
            parse_duration(date_part).map_or(0, |d| d.num_days())
        };
        let weekend = |t: DateTime<Utc>| matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
        let mut t = start;
        let mut left = days;
        while left > 0 {
            t += Duration::days(1);
            if !weekend(t) {
                left -= 1;
            }
        }
        t + (total - Duration::days(days))
    }
}

pub fn compile(def_json: &str) -> CompiledFlow {
    let def = Definition::from_json(def_json).expect("definition parses");
    CompiledFlow::compile(def, &RhaiCompiler::default())
        .unwrap_or_else(|p| panic!("compile problems: {p:#?}"))
}

pub fn deal_with(edit: impl FnOnce(&mut Value)) -> CompiledFlow {
    let mut v: Value = serde_json::from_str(DEAL).unwrap();
    edit(&mut v);
    compile(&v.to_string())
}

pub fn node_mut<'a>(v: &'a mut Value, id: &str) -> &'a mut Value {
    v["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["id"] == id)
        .unwrap()
}

/// Thursday 2026-01-01 09:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap()
}

/// One instance with a clock and a log of every effect.
pub struct Run {
    pub flow: CompiledFlow,
    pub env: Org,
    pub state: InstanceState,
    pub now: DateTime<Utc>,
    pub log: Vec<Effect>,
    /// Effects of the last command.
    pub last: Vec<Effect>,
}

impl Run {
    pub fn new(flow: CompiledFlow) -> Run {
        Run {
            flow,
            env: Org::standard(),
            state: InstanceState::new("inst-1"),
            now: t0(),
            log: vec![],
            last: vec![],
        }
    }

    pub fn started(flow: CompiledFlow, record: Value) -> Run {
        let mut r = Run::new(flow);
        r.start("alice", record);
        r
    }

    pub fn try_cmd(&mut self, cmd: Command) -> Result<(), CommandError> {
        let before = self.state.rev;
        let t = apply(&self.flow, &self.state, cmd, self.now, &self.env)?;
        assert!(t.state.rev == before + 1 || (t.state.rev == before && t.effects.is_empty()));
        self.state = t.state;
        self.last = t.effects.clone();
        self.log.extend(t.effects);
        Ok(())
    }

    pub fn cmd(&mut self, cmd: Command) {
        let c = format!("{cmd:?}");
        self.try_cmd(cmd)
            .unwrap_or_else(|e| panic!("{c} failed: {e}"));
    }

    pub fn start(&mut self, initiator: &str, record: Value) {
        self.cmd(Command::Start {
            initiator: initiator.into(),
            initiator_attrs: json!({}),
            record,
            chosen: BTreeMap::new(),
            vars: Default::default(),
        });
    }

    /// The open task of `user` (panics if none or several).
    pub fn task_of(&self, user: &str) -> u32 {
        let ts: Vec<u32> = self
            .state
            .open_tasks()
            .filter(|t| t.user == user)
            .map(|t| t.id)
            .collect();
        assert_eq!(
            ts.len(),
            1,
            "open tasks of {user}: {ts:?}; state: {:#?}",
            self.state
        );
        ts[0]
    }

    pub fn open_users(&self) -> Vec<String> {
        let mut u: Vec<String> = self.state.open_tasks().map(|t| t.user.clone()).collect();
        u.sort();
        u
    }

    pub fn decide(&mut self, user: &str, d: Decision) -> Result<(), CommandError> {
        let task = self
            .state
            .open_tasks()
            .find(|t| t.user == user)
            .map(|t| t.id)
            .unwrap_or(u32::MAX);
        self.try_cmd(Command::Decide {
            task,
            actor: user.into(),
            acting_for: None,
            decision: d,
            comment: None,
        })
    }

    pub fn approve(&mut self, user: &str) {
        self.decide(user, Decision::Approve)
            .unwrap_or_else(|e| panic!("approve by {user}: {e}"));
    }

    pub fn reject(&mut self, user: &str) {
        self.decide(user, Decision::Reject)
            .unwrap_or_else(|e| panic!("reject by {user}: {e}"));
    }

    /// Complete every pending action successfully (the runtime's outbox worker).
    pub fn run_actions(&mut self) {
        loop {
            let pending: Vec<u32> = self
                .state
                .nodes
                .iter()
                .filter(|n| {
                    matches!(
                        self.flow.node_kind(self.flow.node_index(&n.node).unwrap()),
                        weft_flow::definition::NodeKind::Action { .. }
                    )
                })
                .map(|n| n.id)
                .collect();
            if pending.is_empty() {
                return;
            }
            for ni in pending {
                self.cmd(Command::ActionDone {
                    ni,
                    result: Value::Null,
                });
            }
        }
    }

    /// Advance the clock to `until`, firing due timers in due order (like the timer worker).
    pub fn advance_to(&mut self, until: DateTime<Utc>) {
        loop {
            let next = self
                .state
                .timers
                .iter()
                .filter(|t| t.due <= until)
                .min_by_key(|t| (t.due, t.id))
                .cloned();
            match next {
                Some(t) => {
                    self.now = self.now.max(t.due);
                    self.cmd(Command::TimerFired { timer: t.id });
                }
                None => break,
            }
        }
        self.now = until;
    }

    pub fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        self.advance_to(until);
    }

    pub fn status(&self) -> Status {
        self.state.status
    }

    pub fn count(&self, pred: impl Fn(&Effect) -> bool) -> usize {
        self.log.iter().filter(|e| pred(e)).count()
    }

    pub fn actions_run(&self, node: &str) -> usize {
        self.count(
            |e| matches!(e, Effect::RunAction { node: n, compensation: false, .. } if n == node),
        )
    }

    pub fn audits(&self, event: &str) -> Vec<&Effect> {
        self.log
            .iter()
            .filter(|e| matches!(e, Effect::Audit { event: ev, .. } if ev == event))
            .collect()
    }

    pub fn task_status(&self, id: u32) -> Option<TaskStatus> {
        self.state.task_status(id)
    }

    pub fn positions(&self) -> Vec<String> {
        let mut p: Vec<String> = self.state.tokens.iter().map(|t| t.node.clone()).collect();
        p.sort();
        p
    }
}
