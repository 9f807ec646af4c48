//! Hooks on the single write path. The record service owns every write; other capabilities
//! (rules and automation, workflows) register here instead of being called by it, so records
//! depend on nothing above them.
//!
//! A hook sees three moments of a write, all for every source (UI, API, bulk, import, rules,
//! flows, roll-ups):
//! - **before-save**, inside the transaction, for each row about to be created or updated,
//!   after parsing and defaults and before reference/uniqueness checks: it may change `values`
//!   (formulas, rule defaults) and returns problems (validations, the approval lock…);
//! - **after-save**, inside the transaction, for the rows created, updated, deleted or
//!   restored: it may write more (roll-ups through the same path) and queue work in the same
//!   transaction (the outbox);
//! - **after-commit**, with the [`Notes`] the transaction's code left (for example the
//!   records a running approval is on, whose instances must see the new values).
//!
//! Hooks run in registration order; the composition root registers the approval lock before
//! the rules, so the lock judges the writer's own changes, not the formulas they cause.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use uuid::Uuid;
use weft_meta::{CompiledObject, Problem, TenantId, Values};

use super::path::WritePath;
use crate::core::{Notes, TxCtx};
use crate::error::Result;
use crate::ports::RecordRow;
use crate::principal::Principal;

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
    /// A value the platform computes (a roll-up): see [`super::Change::derived`].
    pub derived: bool,
}

/// A row that was saved.
pub struct AfterSave<'a> {
    pub op: WriteOp,
    pub old: Option<&'a RecordRow>,
    pub new: Option<&'a RecordRow>,
}

/// Something that takes part in every record write.
#[async_trait]
pub trait WriteHook: Send + Sync + 'static {
    /// Before a create or update is stored. `path` lets the hook write other records through
    /// the single write path in the same transaction.
    async fn before_save(
        &self,
        _path: &WritePath,
        _cx: &mut TxCtx,
        _p: &Principal,
        _obj: &CompiledObject,
        _row: BeforeSave<'_>,
    ) -> Result<Vec<Problem>> {
        Ok(vec![])
    }

    /// After rows were stored, in the same transaction.
    async fn after_save(
        &self,
        _path: &WritePath,
        _cx: &mut TxCtx,
        _p: &Principal,
        _obj: &CompiledObject,
        _rows: &[AfterSave<'_>],
    ) -> Result<()> {
        Ok(())
    }

    /// After the transaction committed. Failures are the hook's to log: the write stands.
    async fn after_commit(&self, _tenant: TenantId, _notes: &Notes) {}
}

/// The registered hooks, in order.
#[derive(Default)]
pub struct Hooks {
    list: RwLock<Vec<Arc<dyn WriteHook>>>,
}

impl Hooks {
    /// Add a hook after those already registered.
    pub fn register(&self, hook: Arc<dyn WriteHook>) {
        if let Ok(mut l) = self.list.write() {
            l.push(hook);
        }
    }

    /// Drop every hook (the composition root does this when it goes away: hooks hold services
    /// that hold this registry).
    pub fn clear(&self) {
        if let Ok(mut l) = self.list.write() {
            l.clear();
        }
    }

    pub(crate) fn all(&self) -> Vec<Arc<dyn WriteHook>> {
        self.list.read().map(|l| l.clone()).unwrap_or_default()
    }
}
