//! Rules and automation hooked into the single write path (issue: rules and automation).
//!
//! The record service calls exactly two hooks, inside the write transaction:
//! - [`Runtime::before_save`] for every row about to be created or updated, after parsing and
//!   defaults and before reference/uniqueness checks: it may change `values` (formulas,
//!   rule defaults) and return problems (validation rules, conditional required/read-only);
//! - [`Runtime::after_save`] for every row created, updated, deleted or restored, after it is
//!   persisted: it keeps roll-ups exact and enqueues triggered work in the same transaction
//!   (transactional outbox).
//!
//! Both run for every write source (UI, API, bulk, import, rules, flows).

pub mod doc;
pub mod engine;
pub mod ports;

pub(crate) mod after;
mod before;
mod dryrun;
mod rollup;
pub mod schedule;
mod service;
mod worker;

pub use engine::RuleCache;
/// Five-field cron schedules are pure and live in `weft_rules`.
pub use weft_rules::cron;
pub use worker::sign_webhook;

use uuid::Uuid;
use weft_meta::{CompiledObject, Problem, Values};

use crate::Runtime;
use crate::cache::TenantMeta;
use crate::error::Result;
use crate::ports::{RecordRow, Tx};
use crate::principal::Principal;

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

/// What a write did to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOp {
    Create,
    Update,
    Delete,
    Restore,
}

/// A row about to be saved.
pub struct BeforeSave<'a> {
    pub op: WriteOp,
    pub id: Uuid,
    /// Stored values on update; `None` on create.
    pub old: Option<&'a RecordRow>,
    /// On create: every value of the new record. On update: only the changed values (the
    /// hook may add more changes).
    pub values: &'a mut Values,
    /// Index of the row in a bulk request (for problem paths).
    pub index: Option<usize>,
}

/// A row that was saved.
pub struct AfterSave<'a> {
    pub op: WriteOp,
    pub old: Option<&'a RecordRow>,
    pub new: Option<&'a RecordRow>,
}

impl Runtime {
    /// Before-save rules for one row. Returns the problems found (empty = go on).
    pub(crate) async fn before_save(
        &self,
        tx: &mut dyn Tx,
        meta: &TenantMeta,
        p: &Principal,
        obj: &CompiledObject,
        row: BeforeSave<'_>,
    ) -> Result<Vec<Problem>> {
        if !matches!(row.op, WriteOp::Create | WriteOp::Update) {
            return Ok(vec![]);
        }
        let set = self.rules_for(tx, meta).await?;
        match set.object(obj.api_name()) {
            Some(o) if o.has_before() => Ok(self.run_before(p, obj, o, row).await),
            _ => Ok(vec![]),
        }
    }

    /// After-save work for saved rows (roll-ups, triggers into the outbox).
    pub(crate) async fn after_save(
        &self,
        tx: &mut dyn Tx,
        meta: &TenantMeta,
        p: &Principal,
        obj: &CompiledObject,
        rows: &[AfterSave<'_>],
    ) -> Result<()> {
        let set = self.rules_for(tx, meta).await?;
        if let Some(rs) = set.rollups.get(obj.api_name()) {
            self.apply_rollups(tx, meta, p, obj, rs, rows).await?;
        }
        if let Some(o) = set.object(obj.api_name())
            && !o.triggers.is_empty()
        {
            self.enqueue_triggers(tx, p, obj, o, rows).await?;
        }
        Ok(())
    }
}
