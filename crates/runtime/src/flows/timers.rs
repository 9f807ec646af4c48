//! The timer worker: claims due timers of every tenant with a lease and fires each through
//! the normal command path (`TimerFired`), which deletes the timer row in the same
//! transaction. A timer whose node already finished is a no-op; a crashed worker's lease
//! expires and another worker fires the timer — once, because the engine ignores a timer it
//! no longer holds. After a restart every missed timer is simply due, and fires once.

use super::Workflows;
use std::time::Duration;

use weft_flow::{Command, CommandError};

use super::FlowError;
use super::ports::ClaimedTimer;
use crate::core::fair::FairSet;
use crate::error::{Class, Error, ErrorKinds, Result};
use crate::ports::TxMode;

/// Flow timers the loop fires at once in this process, and at most per tenant (see
/// [`crate::core::fair`]): a tenant with thousands of due timers fires them a few at a time
/// while other tenants' timers keep firing on time.
const MAX_IN_FLIGHT: usize = 16;
const PER_TENANT: usize = 4;

/// Fire up to `limit` due timers one after another; returns how many were handled.
pub(super) async fn timers_run(wf: &Workflows, worker: &str, limit: u32) -> Result<usize> {
    let now = wf.core.clock.now();
    let claimed = wf
        .core
        .store()
        .claim_flow_timers(worker, limit, wf.core.lease_secs(), now, &[])
        .await?;
    let n = claimed.len();
    for t in claimed {
        fire(wf, t).await?;
    }
    Ok(n)
}

/// Fire one claimed timer through the command path.
async fn fire(wf: &Workflows, t: ClaimedTimer) -> Result<()> {
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
    Ok(())
}

/// The timer loop of `weft serve`: claim due timers fairly between tenants and fire them
/// concurrently; poll every `every` until `stop` turns true.
pub(super) async fn timers_loop(
    wf: Workflows,
    worker: String,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut set = FairSet::new(MAX_IN_FLIGHT, PER_TENANT, "flow timer");
    loop {
        let now = wf.core.clock.now();
        let claimed = set
            .claim_and_start(
                |room, busy| {
                    let (wf, worker) = (&wf, &worker);
                    async move {
                        wf.core
                            .store()
                            .claim_flow_timers(worker, room, wf.core.lease_secs(), now, &busy)
                            .await
                    }
                },
                |t: ClaimedTimer| {
                    let wf = wf.clone();
                    (t.tenant.0, async move {
                        if let Err(e) = fire(&wf, t).await {
                            tracing::warn!(error = %e, "dropping a finished flow timer failed");
                        }
                    })
                },
            )
            .await;
        if claimed == 0 && set.idle(every, None, &mut stop).await {
            return;
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
