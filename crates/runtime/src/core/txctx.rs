//! A transaction with its context: the tenant's snapshots (compiled metadata, organization)
//! loaded before the transaction began, the time the operation runs at, and typed notes that
//! write hooks leave for their after-commit step.
//!
//! Code running inside a transaction receives a `TxCtx` and nothing that can open another
//! one: the snapshots it needs travel with the transaction, so no second pool connection is
//! ever taken while one is held (sixteen concurrent writers each waiting for a second
//! connection starve the pool).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use weft_meta::{CompiledObject, TenantId};

use super::cache::TenantMeta;
use crate::access::org::OrgSnapshot;
use crate::error::{Error, Result};
use crate::ports::prelude::*;

/// Typed values left in a transaction by the code that ran in it, handed to after-commit
/// hooks once the transaction committed (for example: the records a running approval is on).
#[derive(Default)]
pub struct Notes(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl Notes {
    /// The note of type `T`, created empty on first use.
    pub fn get_mut<T: Default + Send + Sync + 'static>(&mut self) -> &mut T {
        let slot = self
            .0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        match slot.downcast_mut::<T>() {
            Some(t) => t,
            // Slots are keyed by the type they hold.
            None => unreachable!("a note slot holds another type"),
        }
    }

    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref::<T>()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The storage port of this transaction, spelled as code written against `Box<dyn Tx>` does.
impl AsMut<dyn Tx> for TxCtx {
    fn as_mut(&mut self) -> &mut (dyn Tx + 'static) {
        self.tx.as_mut()
    }
}

impl std::ops::Deref for TxCtx {
    type Target = dyn Tx;

    fn deref(&self) -> &Self::Target {
        self.tx.as_ref()
    }
}

impl std::ops::DerefMut for TxCtx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.tx.as_mut()
    }
}

/// One open transaction bound to one tenant, with the snapshots taken when it began.
pub struct TxCtx {
    tx: Box<dyn Tx>,
    pub meta: Arc<TenantMeta>,
    pub org: Arc<OrgSnapshot>,
    /// The time of the operation: every row it writes carries it.
    pub now: DateTime<Utc>,
    pub notes: Notes,
    /// The evaluation time every rule run in this transaction shares
    /// ([`crate::RuntimeConfig::rules_budget_per_write`]).
    pub budget: weft_rules::Budget,
}

impl TxCtx {
    pub(crate) fn new(
        tx: Box<dyn Tx>,
        meta: Arc<TenantMeta>,
        org: Arc<OrgSnapshot>,
        now: DateTime<Utc>,
        budget: weft_rules::Budget,
    ) -> Self {
        Self {
            tx,
            meta,
            org,
            now,
            notes: Notes::default(),
            budget,
        }
    }

    pub fn tenant(&self) -> TenantId {
        self.tx.tenant()
    }

    /// The storage port of this transaction.
    pub fn tx(&mut self) -> &mut dyn Tx {
        self.tx.as_mut()
    }

    /// A compiled object of the snapshot, or not found.
    pub fn object(&self, name: &str) -> Result<Arc<CompiledObject>> {
        self.meta
            .object(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{name}'")))
    }

    /// Commit. Code that wrote records commits through the write path
    /// (`WritePath::commit`), which hands the notes to the after-commit hooks.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }

    /// Commit and return the notes the transaction's code left.
    pub async fn commit_with_notes(self) -> Result<Notes> {
        self.tx.commit().await?;
        Ok(self.notes)
    }
}
