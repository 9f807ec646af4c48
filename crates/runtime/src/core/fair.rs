//! Fair share between tenants for background work (issue 12 §2).
//!
//! Every background loop (automation runs, jobs, flow timers) claims due rows of all tenants
//! and runs them as concurrent tasks through a [`FairSet`]: at most `per_tenant` of one tenant
//! and `max` in all are in flight. A tenant at its share is named in [`FairSet::busy`], which
//! the next claim excludes, so another tenant's work starts at once even while one tenant's
//! work waits on a slow receiver or runs heavy rules.

use std::collections::HashMap;
use std::future::Future;

use tokio::task::{JoinError, JoinSet};
use uuid::Uuid;

pub(crate) struct FairSet {
    tasks: JoinSet<Uuid>,
    in_flight: HashMap<Uuid, usize>,
    max: usize,
    per_tenant: usize,
    what: &'static str,
}

impl FairSet {
    /// `what` names the work in warnings ("automation run", "job", "flow timer").
    pub(crate) fn new(max: usize, per_tenant: usize, what: &'static str) -> Self {
        Self {
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            max: max.max(1),
            per_tenant: per_tenant.max(1),
            what,
        }
    }

    /// Tenants at their share: the next claim leaves their rows.
    pub(crate) fn busy(&self) -> Vec<Uuid> {
        self.in_flight
            .iter()
            .filter(|(_, n)| **n >= self.per_tenant)
            .map(|(t, _)| *t)
            .collect()
    }

    /// How many rows the next claim may take (0: every slot is taken). No more than one
    /// tenant's share, so a claim that returns only one tenant's rows cannot fill the set.
    pub(crate) fn room(&self) -> u32 {
        let free = self.max.saturating_sub(self.tasks.len());
        u32::try_from(free.min(self.per_tenant)).unwrap_or(u32::MAX)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// How many of `tenant`'s tasks are running.
    #[cfg(test)]
    pub(crate) fn running(&self, tenant: Uuid) -> usize {
        self.in_flight.get(&tenant).copied().unwrap_or(0)
    }

    /// Start `work` for `tenant`.
    pub(crate) fn spawn(&mut self, tenant: Uuid, work: impl Future<Output = ()> + Send + 'static) {
        *self.in_flight.entry(tenant).or_default() += 1;
        self.tasks.spawn(async move {
            work.await;
            tenant
        });
    }

    fn done(&mut self, r: Result<Uuid, JoinError>) {
        match r {
            Ok(t) => {
                if let Some(n) = self.in_flight.get_mut(&t) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.in_flight.remove(&t);
                    }
                }
            }
            Err(e) => {
                // A panicked task's tenant cannot be known: recount from what is left.
                tracing::warn!(error = %e, "a background {} task failed", self.what);
                if self.tasks.is_empty() {
                    self.in_flight.clear();
                }
            }
        }
    }

    /// Account for every task that has finished.
    pub(crate) fn reap(&mut self) {
        while let Some(r) = self.tasks.try_join_next() {
            self.done(r);
        }
    }

    /// Wait until one task finishes (never resolves when none runs: use it in a `select!`
    /// guarded by `!is_empty()`).
    pub(crate) async fn next(&mut self) {
        if let Some(r) = self.tasks.join_next().await {
            self.done(r);
        }
    }

    /// One claim: `claim(room, busy tenants)` takes due rows (nothing when every slot is
    /// taken), `start` makes each a task for its tenant. Returns how many were claimed; a
    /// failed claim is logged and counts as none.
    pub(crate) async fn claim_and_start<T, C, F>(
        &mut self,
        claim: impl FnOnce(u32, Vec<Uuid>) -> C,
        mut start: impl FnMut(T) -> (Uuid, F),
    ) -> usize
    where
        C: Future<Output = crate::error::Result<Vec<T>>>,
        F: Future<Output = ()> + Send + 'static,
    {
        self.reap();
        let room = self.room();
        if room == 0 {
            return 0;
        }
        match claim(room, self.busy()).await {
            Ok(rows) => {
                let n = rows.len();
                for row in rows {
                    let (tenant, work) = start(row);
                    self.spawn(tenant, work);
                }
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming {} work failed", self.what);
                0
            }
        }
    }

    /// Wait until there may be more to claim: `every` passed, `signal` was notified, or a
    /// task finished. `true` when `stop` turned true: every task has then finished.
    pub(crate) async fn idle(
        &mut self,
        every: std::time::Duration,
        signal: Option<&tokio::sync::Notify>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> bool {
        let signalled = async {
            match signal {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        let busy = !self.is_empty();
        tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = signalled => false,
            _ = self.next(), if busy => false,
            _ = stop.changed() => {
                if *stop.borrow() {
                    self.drain().await;
                    return true;
                }
                false
            }
        }
    }

    /// Wait for every task to finish.
    pub(crate) async fn drain(&mut self) {
        while let Some(r) = self.tasks.join_next().await {
            self.done(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_tenant_at_its_share_is_skipped() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut set = FairSet::new(4, 2, "test");
        assert_eq!(set.room(), 2);
        let (tx, rx) = tokio::sync::watch::channel(false);
        for _ in 0..2 {
            let mut rx = rx.clone();
            set.spawn(a, async move {
                let _ = rx.wait_for(|v| *v).await;
            });
        }
        assert_eq!(set.busy(), vec![a]);
        assert_eq!(set.room(), 2);
        set.spawn(b, async {});
        tokio::time::sleep(Duration::from_millis(10)).await;
        set.reap();
        assert_eq!(set.running(b), 0, "b's task ended and was counted");
        assert_eq!(set.running(a), 2);
        let _ = tx.send(true);
        set.drain().await;
        assert!(set.busy().is_empty());
        assert!(set.is_empty());
    }

    #[test]
    fn room_never_exceeds_the_free_slots() {
        let set = FairSet::new(1, 2, "test");
        assert_eq!(set.room(), 1);
    }
}
