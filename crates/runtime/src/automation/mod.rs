//! Rules and automation hooked into the single write path (issue: rules and automation).
//!
//! Rules take part in every record write through [`RulesHook`], registered on the write path:
//! - before-save, for every row about to be created or updated, after parsing and defaults
//!   and before reference/uniqueness checks: it may change `values` (formulas, rule defaults)
//!   and returns problems (validation rules, conditional required/read-only);
//! - after-save, for every row created, updated, deleted or restored: it recomputes roll-ups
//!   (writing the parents through the same path) and queues triggered work in the same
//!   transaction (transactional outbox).
//!
//! Both run for every write source (UI, API, bulk, import, rules, flows, roll-ups).

mod error;
pub use error::AutomationError;
pub mod doc;
pub mod engine;
pub mod ports;

mod actions;
pub(crate) mod after;
pub(crate) mod backfill;
mod before;
pub(crate) mod dryrun;
pub(crate) mod rollup;
mod rules;
pub mod schedule;
mod service;
pub mod views;
mod worker;

pub use engine::RuleCache;
pub use service::Automation;
/// Five-field cron schedules are pure and live in `weft_rules`.
pub use weft_rules::cron;
pub use worker::sign_webhook;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;
use uuid::Uuid;
use weft_meta::{CompiledObject, Problem};

use crate::core::TxCtx;
use crate::error::Result;
use crate::ports::prelude::*;
use crate::principal::Principal;
pub use crate::records::{AfterSave, BeforeSave, WriteOp};
use crate::records::{WriteHook, WritePath};

/// An in-app notification about one record, for several users.
pub(crate) struct Notice<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub object: &'a str,
    pub record_id: Option<Uuid>,
    /// The rule (or `flow:<key>`) that sent it.
    pub rule: &'a str,
    /// The effect's idempotency key: each user's row is unique on `<key>:<user>`.
    pub key: &'a str,
}

/// Write `n` for every one of `users` that is a user of the tenant, in the caller's
/// transaction; returns how many rows were new (a repeated effect adds none).
pub(crate) async fn notify(
    tx: &mut dyn Tx,
    users: &[Uuid],
    n: &Notice<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize> {
    if users.is_empty() {
        return Ok(0);
    }
    let known = tx.existing_users(users).await?;
    let mut sent = 0;
    for u in users.iter().filter(|u| known.contains(u)) {
        let fresh = tx
            .insert_notification(&ports::NotificationRow {
                id: Uuid::now_v7(),
                user_id: *u,
                title: n.title.to_owned(),
                body: n.body.to_owned(),
                object: Some(n.object.to_owned()),
                record_id: n.record_id,
                rule: Some(n.rule.to_owned()),
                idempotency_key: format!("{}:{u}", n.key),
                read_at: None,
                created_at: now,
            })
            .await?;
        sent += usize::from(fresh);
    }
    Ok(sent)
}

/// Automation started by automation stops this many levels deep (a rule that updates a
/// record that fires a rule …).
pub const MAX_CASCADE_DEPTH: u8 = 8;

/// The rules' part in every record write, registered on the write path. It holds no storage
/// handle: it works on the transaction it is handed.
pub struct RulesHook {
    rules: Arc<RuleCache>,
    /// Woken when runs are queued, so the worker need not wait for its next poll.
    signal: Arc<Notify>,
}

impl RulesHook {
    pub fn new(rules: Arc<RuleCache>, signal: Arc<Notify>) -> Self {
        Self { rules, signal }
    }
}

#[async_trait]
impl WriteHook for RulesHook {
    /// Rule defaults, formulas, conditional read-only and required, validations.
    async fn before_save(
        &self,
        _path: &WritePath,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        row: BeforeSave<'_>,
    ) -> Result<Vec<Problem>> {
        if !matches!(row.op, WriteOp::Create | WriteOp::Update) {
            return Ok(vec![]);
        }
        let meta = cx.meta.clone();
        let set = self.rules.get(cx.tx(), &meta).await?;
        match set.object(obj.api_name()) {
            Some(o) if o.has_before() => before::run_before(cx, p, obj, o, row),
            _ => Ok(vec![]),
        }
    }

    /// Roll-ups (through the write path) and triggers into the outbox.
    async fn after_save(
        &self,
        path: &WritePath,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        rows: &[AfterSave<'_>],
    ) -> Result<()> {
        let meta = cx.meta.clone();
        let set = self.rules.get(cx.tx(), &meta).await?;
        if let Some(rs) = set.rollups.get(obj.api_name()) {
            rollup::apply_rollups(path, cx, p, obj, rs, rows).await?;
        }
        if let Some(o) = set.object(obj.api_name())
            && !o.triggers.is_empty()
        {
            after::enqueue_triggers(cx, &self.signal, p, obj, o, rows).await?;
        }
        Ok(())
    }
}
