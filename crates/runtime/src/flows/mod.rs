//! The workflow and approval runtime around the pure engine core (`weft-flow`): draft and
//! published definitions, instances persisted with a revision check, the task inbox, CC,
//! timers claimed with leases, the instance timeline, record actions through the single write
//! path, and the record lock while an approval runs.
//!
//! Durability model: **one transaction per command**. The command path loads the instance,
//! calls the pure `weft_flow::apply`, then stores the new state with a compare-and-swap on
//! `rev` *first* (so the instance row is the first lock taken — no deadlocks), followed by
//! every effect (task rows, timer rows, CC rows, timeline rows, record actions). A
//! conflicting concurrent command makes the swap fail; the command is then re-applied to the
//! fresh state inside the service, never surfaced to the user.
//!
//! Notify and webhook action nodes are recorded on the timeline (`action.logged`, with their
//! idempotency key) and reported done at once: delivery will go through the automation
//! outbox once it lands. Record actions (`update_record`, `create_record`) run in the
//! command's own transaction through `runtime::records`, so they happen exactly once.

mod error;
pub use error::FlowError;
mod service;
pub use service::Workflows;
mod actions;
pub mod calendars;
mod commands;
mod defs;
mod effects;
pub mod env;
mod exec;
pub(crate) mod lock;
mod migrate;
pub mod ports;
mod start;
mod timers;
pub mod view_types;
mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;
use weft_flow::{CommandError, CompiledFlow, Definition};

use crate::core::TenantMeta;
use crate::core::TxCtx;
use crate::error::{Error, Result};
pub use calendars::BusinessCalendars;

pub use commands::TaskAction;
pub use ports::{FlowStore, FlowTx};

/// Compiled published versions, by version id and the tenant's time zone (conditions'
/// `today()` is the date there). Versions are immutable and ids are globally unique (UUIDv7),
/// so the cache is exact; it is bounded by clearing when full.
type CacheKey = (Uuid, chrono_tz::Tz);
type FlowCache = Mutex<HashMap<CacheKey, Arc<CompiledFlow>>>;

const CACHE_MAX: usize = 2_000;

/// A rejected engine command as a runtime error (see `From<CommandError> for FlowError`).
pub(crate) fn command_error(e: CommandError) -> Error {
    FlowError::from(e).into()
}

pub(crate) fn require_admin(p: &crate::Principal) -> Result<()> {
    if p.is_admin && !p.view_as {
        Ok(())
    } else {
        Err(FlowError::AdminOnly.into())
    }
}

/// The compiled graph of a published version (compiled once per process).
pub(crate) async fn compiled_flow(
    wf: &Workflows,
    cx: &mut TxCtx,
    version_id: Uuid,
) -> Result<Arc<CompiledFlow>> {
    let key = (version_id, cx.meta.tz);
    if let Some(f) = wf.compiled.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(f);
    }
    let v = cx
        .flow_version(version_id)
        .await?
        .ok_or_else(|| Error::internal(format!("flow version {version_id} missing")))?;
    let def: Definition = serde_json::from_value(v.doc)
        .map_err(|e| Error::internal(format!("stored flow version unreadable: {e}")))?;
    let flow = Arc::new(compile_definition(&cx.meta, def).map_err(|ps| {
        Error::internal(format!(
            "published flow no longer compiles: {}",
            ps.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?);
    if let Ok(mut m) = wf.compiled.lock() {
        if m.len() >= CACHE_MAX {
            m.clear();
        }
        m.insert(key, flow.clone());
    }
    Ok(flow)
}

/// Compile a definition against its object's fields in the tenant's metadata.
pub(crate) fn compile_definition(
    meta: &TenantMeta,
    def: Definition,
) -> std::result::Result<CompiledFlow, Vec<weft_flow::Problem>> {
    let Some(obj) = meta.object(&def.object) else {
        return Err(vec![weft_flow::Problem {
            node: None,
            edge: None,
            code: "flow.object_unknown",
            message: format!("object '{}' does not exist", def.object),
        }]);
    };
    let compiler = env::RulesCompiler {
        catalog: env::catalog(obj),
        tz: meta.tz,
    };
    CompiledFlow::compile(def, &compiler)
}
