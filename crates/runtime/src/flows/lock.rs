//! The record lock while an approval runs: writes to a record with a running instance are
//! refused, except the fields the current node makes editable for the writer
//! (`weft_flow::field_access`). Flow actions themselves (source `flow`) pass, and so do
//! tenant admins while the instance is parked on an incident (to fix the data, then retry),
//! and values the platform derives (roll-ups).
//!
//! It is a hook on the record write path, registered before the rules so it judges the
//! writer's own changes. After the write commits, the instances on the records it saw get
//! `RecordChanged` (later conditions read current values, waits re-check).

use super::{FlowError, Workflows};
use std::collections::BTreeSet;
use std::sync::Weak;

use async_trait::async_trait;
use uuid::Uuid;
use weft_flow::{Access, InstanceState};
use weft_meta::{CompiledObject, Problem, TenantId, Values};

use crate::Runtime;
use crate::core::{Notes, TxCtx};
use crate::error::{Error, Result};
use crate::principal::{Principal, Source};
use crate::records::{BeforeSave, WriteHook, WriteOp, WritePath};

/// Records of this transaction that a running instance is on (a note on the transaction).
#[derive(Default)]
struct UnderFlow(BTreeSet<Uuid>);

/// The approval lock on the write path.
pub struct FlowLockHook {
    rt: Weak<Runtime>,
}

impl FlowLockHook {
    pub(crate) fn new(rt: Weak<Runtime>) -> Self {
        Self { rt }
    }
}

#[async_trait]
impl WriteHook for FlowLockHook {
    async fn before_save(
        &self,
        _path: &WritePath,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        row: BeforeSave<'_>,
    ) -> Result<Vec<Problem>> {
        if row.op != WriteOp::Update || row.derived || p.source == Source::Flow {
            return Ok(vec![]);
        }
        let Some(rt) = self.rt.upgrade() else {
            return Ok(vec![]);
        };
        flow_write_check(&rt.workflows, cx, p, obj, row.id, row.values).await?;
        Ok(vec![])
    }

    async fn after_commit(&self, tenant: TenantId, notes: &Notes) {
        let Some(under) = notes.get::<UnderFlow>() else {
            return;
        };
        let Some(rt) = self.rt.upgrade() else {
            return;
        };
        let ids: Vec<Uuid> = under.0.iter().copied().collect();
        if let Err(e) = super::exec::flow_records_changed(&rt.workflows, tenant, &ids, None).await {
            tracing::warn!(error = %e, "flow instances not told of record changes");
        }
    }
}

/// Refuse changes to a record under approval beyond what the current node opens.
pub(crate) async fn flow_write_check(
    wf: &Workflows,
    cx: &mut TxCtx,
    p: &Principal,
    obj: &CompiledObject,
    record: Uuid,
    changed: &Values,
) -> Result<()> {
    let active = cx.flow_active_on_record(record).await?;
    if active.is_empty() {
        return Ok(());
    }
    cx.notes.get_mut::<UnderFlow>().0.insert(record);
    let me = p.user.0.to_string();
    for inst in active.iter().filter(|i| i.object == obj.api_name()) {
        // An instance parked on an incident waits for an admin, who may fix the record's
        // data before retrying.
        if inst.status == "incident" && p.is_admin && !p.view_as {
            continue;
        }
        let state: InstanceState = serde_json::from_value(inst.state.clone())
            .map_err(|e| Error::internal(format!("instance state unreadable: {e}")))?;
        let flow = super::compiled_flow(wf, cx, inst.version_id).await?;
        let fa = weft_flow::field_access(&flow, &state, Some(&me));
        let locked: Vec<&str> = changed
            .keys()
            .map(String::as_str)
            .filter(|f| fa.access(f) != Access::Editable)
            .collect();
        if !locked.is_empty() {
            return Err(FlowError::RecordLocked {
                flow: inst.flow_key.clone(),
                instance: inst.id,
                fields: locked.into_iter().map(str::to_owned).collect(),
            }
            .into());
        }
    }
    Ok(())
}
