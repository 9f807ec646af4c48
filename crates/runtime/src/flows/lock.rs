//! The record lock while an approval runs: writes to a record with a running instance are
//! refused, except the fields the current node makes editable for the writer
//! (`weft_flow::field_access`). Flow actions themselves (source `flow`) pass, and so do
//! tenant admins while the instance is parked on an incident (to fix the data, then retry).

use uuid::Uuid;
use weft_flow::{Access, InstanceState};
use weft_meta::{CompiledObject, Values};

use crate::Runtime;
use crate::error::{Error, Result};
use crate::ports::Tx;
use crate::principal::{Principal, Source};

tokio::task_local! {
    /// Set by [`Runtime::flow_write_check`] when the record being written has a running
    /// instance, so the write path tells the instances after its commit (and skips that
    /// read for the records no approval runs on).
    pub(crate) static UNDER_FLOW: std::cell::Cell<bool>;
}

impl Runtime {
    /// Called by the record write path before an update is stored.
    pub(crate) async fn flow_write_check(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        obj: &CompiledObject,
        record: Uuid,
        changed: &Values,
    ) -> Result<()> {
        if p.source == Source::Flow {
            return Ok(());
        }
        let active = tx.flow_active_on_record(record).await?;
        if !active.is_empty() {
            // Outside a write-path scope (none set) there is nobody to tell.
            let _ = UNDER_FLOW.try_with(|c| c.set(true));
        }
        let me = p.user.0.to_string();
        for inst in active.iter().filter(|i| i.object == obj.api_name()) {
            // An instance parked on an incident waits for an admin, who may fix the record's
            // data before retrying.
            if inst.status == "incident" && p.is_admin && !p.view_as {
                continue;
            }
            let state: InstanceState = serde_json::from_value(inst.state.clone())
                .map_err(|e| Error::internal(format!("instance state unreadable: {e}")))?;
            let flow = self.compiled_flow(p.tenant, tx, inst.version_id).await?;
            let fa = weft_flow::field_access(&flow, &state, Some(&me));
            let locked: Vec<&str> = changed
                .keys()
                .map(String::as_str)
                .filter(|f| fa.access(f) != Access::Editable)
                .collect();
            if !locked.is_empty() {
                return Err(Error::conflict(
                    "flow.record_locked",
                    format!(
                        "the record is under approval ({} instance {}); not editable now: {}",
                        inst.flow_key,
                        inst.id,
                        locked.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}
