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

pub mod ports;

use uuid::Uuid;
use weft_meta::{CompiledObject, Problem, Values};

use crate::Runtime;
use crate::cache::TenantMeta;
use crate::error::Result;
use crate::ports::{RecordRow, Tx};
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
        _tx: &mut dyn Tx,
        _meta: &TenantMeta,
        _p: &Principal,
        _obj: &CompiledObject,
        _row: BeforeSave<'_>,
    ) -> Result<Vec<Problem>> {
        Ok(vec![])
    }

    /// After-save work for saved rows (roll-ups, triggers into the outbox).
    pub(crate) async fn after_save(
        &self,
        _tx: &mut dyn Tx,
        _meta: &TenantMeta,
        _p: &Principal,
        _obj: &CompiledObject,
        _rows: &[AfterSave<'_>],
    ) -> Result<()> {
        Ok(())
    }
}
