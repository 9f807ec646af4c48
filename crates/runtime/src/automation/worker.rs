//! The outbox worker: claims due runs with a lease, runs their actions in order, records
//! each finished action in the run's progress (so a retry or another worker resumes after
//! it), and retries failures with exponential backoff. Every effect carries the stable key
//! `<run key>:<action index>`: record creations use it as their `Idempotency-Key`,
//! notifications are unique on it, webhooks send it as `Idempotency-Key`, e-mails derive
//! their `Message-ID` from it.

use super::Automation;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value as Json};
use sha2::Sha256;
use weft_meta::{CompiledObject, TenantId, UserId};

use super::doc::compile_actions;
use super::engine::Input;
use super::ports::{Outbound, OutboxPayload, OutboxRow, RunInput, RunProgress, RunStatus};
use crate::error::Result;
use crate::ports::TxMode;
use crate::principal::{Principal, Source};

const CLAIM: u32 = 8;
/// Runs the loop executes at once in this process, and at most per tenant: a tenant whose
/// runs wait on a slow receiver holds only its own share, never another tenant's.
const MAX_IN_FLIGHT: usize = 16;
const PER_TENANT: usize = 2;

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, sent as `X-Weft-Signature` with
/// the timestamp in `X-Weft-Timestamp` (receivers reject old timestamps to stop replays).
pub fn sign_webhook(secret: &str, timestamp: i64, body: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(format!("{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            format!("v1={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 5i64
        .saturating_mul(1i64 << attempts.clamp(0, 10))
        .min(3_600);
    chrono::Duration::seconds(secs)
}

pub(super) struct RunCtx<'a> {
    pub(super) run: &'a OutboxRow,
    pub(super) obj: &'a CompiledObject,
    pub(super) p: Principal,
    pub(super) input: Input,
    pub(super) results: Map<String, Json>,
    /// The evaluation time the run's action expressions share (the records the actions
    /// write are each a write of their own, with their own budget).
    pub(super) budget: weft_rules::Budget,
}

impl Automation {
    /// Claim due runs once and execute them; returns how many were claimed.
    pub(super) async fn claim_and_run(&self, out: &dyn Outbound, worker: &str) -> Result<usize> {
        let now = self.core.clock.now();
        let runs = self
            .core
            .store()
            .claim_runs(worker, CLAIM, self.core.lease_secs(), now, &[])
            .await?;
        let n = runs.len();
        for run in runs {
            let id = run.id;
            if let Err(e) = self.execute_run(out, run).await {
                tracing::warn!(run.id = %id, error = %e, "automation run failed to save");
            }
        }
        Ok(n)
    }

    /// Run the outbox (and the scheduler) until `stop` turns true, polling every `every` or
    /// when a write queues work in this process. Claimed runs execute concurrently, at most
    /// `PER_TENANT` of one tenant and `MAX_IN_FLIGHT` in all; a tenant at its share is skipped
    /// by the next claim, so other tenants' runs start at once. Each run is bounded by the
    /// lease (after it, another claim may take the run over).
    pub(super) async fn outbox_loop(
        &self,
        worker: String,
        out: Arc<dyn Outbound>,
        every: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        // Schedule and date ticks are looked for at most this often (they are minute-grained).
        let sched_every = Duration::from_secs(20);
        let mut last_sched: Option<std::time::Instant> = None;
        let worker = worker.as_str();
        let mut set = crate::core::fair::FairSet::new(MAX_IN_FLIGHT, PER_TENANT, "automation run");
        loop {
            if last_sched.is_none_or(|t| t.elapsed() >= sched_every) {
                last_sched = Some(std::time::Instant::now());
                if let Err(e) = self.schedule_pass().await {
                    tracing::warn!(error = %e, "scheduler pass failed");
                }
            }
            let now = self.core.clock.now();
            let lease = self.core.config.lease;
            let claimed = set
                .claim_and_start(
                    |room, busy| async move {
                        self.core
                            .store()
                            .claim_runs(worker, room, self.core.lease_secs(), now, &busy)
                            .await
                    },
                    |run: OutboxRow| {
                        let (me, out) = (self.clone(), out.clone());
                        (run.tenant, async move {
                            let id = run.id;
                            match tokio::time::timeout(lease, me.execute_run(out.as_ref(), run)).await {
                                Ok(Ok(())) => {}
                                Ok(Err(e)) => tracing::warn!(run.id = %id, error = %e, "automation run failed to save"),
                                Err(_) => tracing::warn!(run.id = %id, "automation run outlived its lease; it will be taken over"),
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

    pub(crate) async fn save_run(&self, run: &OutboxRow) -> Result<()> {
        let mut tx = self
            .core
            .store()
            .begin(TenantId(run.tenant), TxMode::Write)
            .await?;
        tx.update_run(run).await?;
        tx.commit().await
    }

    async fn finish(&self, mut run: OutboxRow, error: Option<String>) -> Result<()> {
        let now = self.core.clock.now();
        run.lease_until = None;
        run.lease_owner = None;
        run.updated_at = now;
        match error {
            None => {
                run.status = RunStatus::Done;
                run.error = None;
            }
            Some(e) if run.attempts >= run.max_attempts => {
                tracing::warn!(run.id = %run.id, rule = %run.rule, error = %e, "automation run failed for good");
                run.status = RunStatus::Failed;
                run.error = Some(e);
            }
            Some(e) => {
                run.status = RunStatus::Queued;
                run.run_at = now + backoff(run.attempts);
                run.error = Some(e);
            }
        }
        self.save_run(&run).await
    }

    async fn execute_run(&self, out: &dyn Outbound, mut run: OutboxRow) -> Result<()> {
        let tenant = TenantId(run.tenant);
        let input = match &run.payload {
            OutboxPayload::Run(r) => (**r).clone(),
            other => {
                let e = match other {
                    OutboxPayload::Unreadable(raw) => {
                        serde_json::from_value::<RunInput>(raw.clone())
                            .err()
                            .map_or_else(|| "unreadable".to_owned(), |e| e.to_string())
                    }
                    _ => "the run has no actions".to_owned(),
                };
                run.attempts = run.max_attempts;
                return self.finish(run, Some(format!("bad actions: {e}"))).await;
            }
        };
        let actions = &input.actions;
        let meta = self.core.meta(tenant).await?;
        let Some(obj) = meta.object(&run.object).cloned() else {
            run.attempts = run.max_attempts;
            let msg = format!("object '{}' no longer exists", run.object);
            return self.finish(run, Some(msg)).await;
        };
        let compiled = match compile_actions(&meta, &run.object, actions) {
            Ok(c) => c,
            Err(ps) => {
                run.attempts = run.max_attempts;
                let msg = ps
                    .iter()
                    .map(|p| format!("{} {}: {}", p.path, p.code, p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                return self
                    .finish(run, Some(format!("the actions no longer compile: {msg}")))
                    .await;
            }
        };
        let mut p = Principal::system(tenant, UserId(input.run_as));
        p.source = Source::Rule;
        p.cascade_depth = u8::try_from(run.depth + 1).unwrap_or(u8::MAX);
        let snapshot = run.clone();
        let mut cx = RunCtx {
            run: &snapshot,
            obj: &obj,
            p,
            input: Input {
                record: input.record.clone().unwrap_or_default(),
                old: input.old.clone(),
                user: Map::new(),
                now: self.core.clock.now(),
                tz: meta.tz,
            },
            results: run.progress.results.clone(),
            budget: weft_rules::Budget::new(self.core.config.rules_budget_per_write),
        };
        let mut done = run.progress.done.clone();
        for (i, ca) in compiled.iter().enumerate() {
            if done.contains(&(i as u64)) {
                continue;
            }
            match self.action_runner().run_action(out, &mut cx, i, ca).await {
                Ok(res) => {
                    done.push(i as u64);
                    cx.results.insert(i.to_string(), res);
                    run.progress = RunProgress {
                        done: done.clone(),
                        results: cx.results.clone(),
                    };
                    run.updated_at = self.core.clock.now();
                    self.save_run(&run).await?;
                }
                Err(e) => {
                    let msg = format!("action {i} ({}): {e}", ca.doc.type_name());
                    return self.finish(run, Some(msg)).await;
                }
            }
        }
        self.finish(run, None).await
    }
}
