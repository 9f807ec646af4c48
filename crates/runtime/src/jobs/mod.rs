//! Background jobs: durable rows claimed with a lease, run step by step, each step committing
//! its progress with its effects so a crash resumes where it stopped.
//!
//! The jobs service owns the queue and the loop; capabilities register a [`JobHandler`] per
//! job kind (metadata: field type changes; automation: roll-up backfills), so the queue knows
//! nothing of what the jobs do.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;
use weft_meta::TenantId;

use crate::core::Core;
use crate::core::fair::FairSet;
use crate::error::{Error, Result};
use crate::ports::{JobRow, TxMode};
use crate::principal::Principal;

const LEASE_SECS: i64 = 60;
/// Jobs the loop runs at once in this process, and at most per tenant.
const MAX_IN_FLIGHT: usize = 4;
const PER_TENANT: usize = 1;

/// Runs the jobs of one kind. A step saves the job's progress in the transaction of its
/// effects; returning an error leaves the job to be claimed again when its lease ends.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    async fn run(&self, job: JobRow) -> Result<()>;
}

/// Save a job's status and progress on its own (a failure outside a step's transaction).
pub(crate) async fn save_job(core: &Core, job: &JobRow) -> Result<()> {
    let mut tx = core.begin_bare(TenantId(job.tenant), TxMode::Write).await?;
    tx.update_job(job).await?;
    tx.commit().await
}

/// The job queue.
#[derive(Clone)]
pub struct Jobs {
    core: Arc<Core>,
    handlers: Arc<RwLock<HashMap<&'static str, Arc<dyn JobHandler>>>>,
}

impl Jobs {
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            handlers: Arc::default(),
        }
    }

    /// Run jobs of `handler.kind()` with `handler`.
    pub fn register(&self, handler: Arc<dyn JobHandler>) {
        if let Ok(mut m) = self.handlers.write() {
            m.insert(handler.kind(), handler);
        }
    }

    /// Claim and run due jobs once; returns how many ran.
    pub async fn run_jobs_once(&self, worker: &str) -> Result<usize, JobError> {
        let now = self.core.clock.now();
        let jobs = self
            .core
            .store()
            .claim_jobs(worker, 4, LEASE_SECS, now, &[])
            .await?;
        let n = jobs.len();
        for job in jobs {
            let id = job.id;
            if let Err(e) = self.run_job(job).await {
                tracing::warn!(job.id = %id, error = %e, "job step failed");
            }
        }
        Ok(n)
    }

    /// Run jobs until `stop` resolves, polling every `every` or when signalled. Jobs run
    /// concurrently, at most [`PER_TENANT`] of one tenant and [`MAX_IN_FLIGHT`] in all (see
    /// [`crate::core::fair`]): one tenant's long import or dry run never holds another's.
    /// A step longer than the lease is left to be taken over.
    pub async fn job_loop(
        &self,
        worker: String,
        every: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        let worker = worker.as_str();
        let mut set = FairSet::new(MAX_IN_FLIGHT, PER_TENANT, "job");
        loop {
            let now = self.core.clock.now();
            let claimed = set
                .claim_and_start(
                    |room, busy| async move {
                        self.core
                            .store()
                            .claim_jobs(worker, room, LEASE_SECS, now, &busy)
                            .await
                    },
                    |job: JobRow| {
                        let me = self.clone();
                        (job.tenant, async move {
                            let id = job.id;
                            let lease = Duration::from_secs(LEASE_SECS.unsigned_abs());
                            match tokio::time::timeout(lease, me.run_job(job)).await {
                                Ok(Ok(())) => {}
                                Ok(Err(e)) => tracing::warn!(job.id = %id, error = %e, "job step failed"),
                                Err(_) => tracing::warn!(job.id = %id, "job step outlived its lease; it will be taken over"),
                            }
                        })
                    },
                )
                .await;
            if claimed == 0
                && set
                    .idle(every, Some(&self.core.job_signal), &mut stop)
                    .await
            {
                return;
            }
        }
    }

    async fn run_job(&self, job: JobRow) -> Result<(), JobError> {
        let handler = self
            .handlers
            .read()
            .ok()
            .and_then(|m| m.get(job.kind.as_str()).cloned());
        match handler {
            Some(h) => Ok(h.run(job).await?),
            None => {
                let mut j = job.clone();
                j.status = "failed".into();
                j.error = Some(format!("unknown job kind '{}'", job.kind));
                Ok(save_job(&self.core, &j).await?)
            }
        }
    }

    /// A job's status and progress.
    pub async fn get_job(&self, p: &Principal, id: Uuid) -> Result<JobRow, JobError> {
        let mut tx = self.core.begin_bare(p.tenant, TxMode::Read).await?;
        let job = tx.job(id).await?.ok_or_else(|| Error::not_found("job"))?;
        tx.commit().await?;
        Ok(job)
    }
}

/// The background jobs service's own failure kinds (see [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl crate::error::ErrorKinds for JobError {
    fn named(&self) -> Option<crate::error::Named> {
        match self {
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(JobError);
