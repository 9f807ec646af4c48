//! The timer worker: claims due timers of every tenant with a lease and fires each through
//! the normal command path (`TimerFired`), which deletes the timer row in the same
//! transaction. A timer whose node already finished is a no-op; a crashed worker's lease
//! expires and another worker fires the timer — once, because the engine ignores a timer it
//! no longer holds. After a restart every missed timer is simply due, and fires once.

use super::Workflows;
use std::time::Duration;

use weft_flow::{Command, CommandError};

use super::FlowError;
use crate::error::{Class, Error, ErrorKinds, Result};
use crate::ports::TxMode;

/// Fire up to `limit` due timers; returns how many were handled.
pub(super) async fn timers_run(wf: &Workflows, worker: &str, limit: u32) -> Result<usize> {
    let now = wf.core.clock.now();
    let claimed = wf
        .core
        .store()
        .claim_flow_timers(worker, limit, wf.core.lease_secs(), now)
        .await?;
    let n = claimed.len();
    for t in claimed {
        let cmd = Command::TimerFired {
            timer: t.timer as u32,
        };
        let fired =
            super::exec::run_command(wf, t.tenant, t.instance_id, None, &cmd, Some(t.timer)).await;
        match fired.map_err(FlowError::from) {
            Ok(_) => {}
            Err(FlowError::Refused(CommandError::TimerNotDue { .. })) => {
                // The engine's due time is later (clock skew): leave it for the lease.
            }
            Err(e) if never_fires(&e) => {
                // Finished instance or unknown timer: drop the row.
                let mut tx = wf.core.begin(t.tenant, TxMode::Write).await?;
                tx.flow_timer_delete(t.instance_id, t.timer).await?;
                tx.commit().await?;
            }
            Err(e) => {
                tracing::warn!(tenant.id = %t.tenant, flow.instance_id = %t.instance_id,
                    flow.timer = t.timer, error = %e, "firing a flow timer failed; it will be retried");
            }
        }
    }
    Ok(n)
}

/// The timer loop of `weft serve`: poll every `every` until `stop` turns true.
pub(super) async fn timers_loop(
    wf: Workflows,
    worker: String,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        loop {
            match timers_run(&wf, &worker, 100).await {
                Ok(100) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "flow timer claim failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Whether firing a timer failed for good: its instance is gone, or the engine refuses it
/// (a finished instance); any other conflict too. Such a row is dropped, not retried.
fn never_fires(e: &FlowError) -> bool {
    match e {
        FlowError::Other(Error::NotFound { .. }) => true,
        FlowError::Other(shared) => shared.class() == Some(Class::Conflict),
        named => named.named().is_some_and(|n| n.class == Class::Conflict),
    }
}
