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

mod actions;
pub mod calendars;
mod defs;
pub mod env;
mod exec;
pub(crate) mod lock;
mod migrate;
pub mod ports;
mod timers;
mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use uuid::Uuid;
use weft_flow::{CommandError, CompiledFlow, Definition, ErrorKind};
use weft_meta::{Problem, TenantId};

use crate::Runtime;
use crate::error::{Error, Result};
use crate::ports::Tx;

pub use exec::TaskAction;
pub use ports::{FlowStore, FlowTx};

/// Compiled published versions, by version id and the tenant's time zone (conditions'
/// `today()` is the date there). Versions are immutable and ids are globally unique (UUIDv7),
/// so one process-wide cache is exact; it is bounded by clearing when full.
type CacheKey = (Uuid, chrono_tz::Tz);
fn cache() -> &'static Mutex<HashMap<CacheKey, Arc<CompiledFlow>>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Arc<CompiledFlow>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

const CACHE_MAX: usize = 2_000;

/// A rejected engine command as a runtime error with the core's stable code.
pub(crate) fn command_error(e: CommandError) -> Error {
    let code = e.code();
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Forbidden => Error::forbidden(code, message),
        ErrorKind::NotFound => Error::not_found(match e {
            CommandError::IncidentNotFound(_) => "incident",
            _ => "task",
        }),
        ErrorKind::Invalid => Error::Validation(vec![Problem::new("", code, message)]),
        ErrorKind::Conflict => Error::conflict(code, message),
    }
}

pub(crate) fn require_admin(p: &crate::Principal) -> Result<()> {
    if p.is_admin && !p.view_as {
        Ok(())
    } else {
        Err(Error::forbidden(
            "forbidden",
            "only tenant admins manage flow definitions",
        ))
    }
}

impl Runtime {
    /// The compiled graph of a published version (compiled once per process).
    pub(crate) async fn compiled_flow(
        &self,
        tenant: TenantId,
        tx: &mut dyn Tx,
        version_id: Uuid,
    ) -> Result<Arc<CompiledFlow>> {
        let key = (version_id, self.tz_of(tenant));
        if let Some(f) = cache().lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(f);
        }
        let v = tx
            .flow_version(version_id)
            .await?
            .ok_or_else(|| Error::internal(format!("flow version {version_id} missing")))?;
        let def: Definition = serde_json::from_value(v.doc)
            .map_err(|e| Error::internal(format!("stored flow version unreadable: {e}")))?;
        let flow = Arc::new(self.compile_definition(tenant, def).await.map_err(|ps| {
            Error::internal(format!(
                "published flow no longer compiles: {}",
                ps.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?);
        if let Ok(mut m) = cache().lock() {
            if m.len() >= CACHE_MAX {
                m.clear();
            }
            m.insert(key, flow.clone());
        }
        Ok(flow)
    }

    /// Compile a definition against its object's fields.
    pub(crate) async fn compile_definition(
        &self,
        tenant: TenantId,
        def: Definition,
    ) -> std::result::Result<CompiledFlow, Vec<weft_flow::Problem>> {
        // Called inside transactions (compiling a stored version on a cache miss): use the
        // cached metadata rather than a second pool connection.
        let meta = self.meta_in_tx(tenant).await.ok();
        let obj = meta.as_ref().and_then(|m| m.object(&def.object).cloned());
        let Some(obj) = obj else {
            return Err(vec![weft_flow::Problem {
                node: None,
                edge: None,
                code: "flow.object_unknown",
                message: format!("object '{}' does not exist", def.object),
            }]);
        };
        let compiler = env::RulesCompiler {
            catalog: env::catalog(&obj),
            tz: meta.as_ref().map(|m| m.tz).unwrap_or(chrono_tz::Tz::UTC),
        };
        CompiledFlow::compile(def, &compiler)
    }
}
