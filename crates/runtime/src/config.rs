//! The runtime's settings, filled by the binary from its configuration.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// How long a process trusts its metadata cache before checking the version again.
    pub meta_ttl: Duration,
    /// Records per bulk call.
    pub bulk_max: usize,
    /// Records a single delete may cascade to.
    pub cascade_max: usize,
    /// Require `If-Match` on record updates and deletes (otherwise optional).
    pub require_if_match: bool,
    /// How long a process trusts a verified API key before reading it again. Revocation and
    /// user disabling clear this process's cache at once; other processes see them within
    /// this time.
    pub auth_ttl: Duration,
    /// How long a worker's claim on an outbox run or a flow timer lasts. When a process dies
    /// mid-run, another takes the work over after this; an action that runs longer than it
    /// may be started twice (with the same idempotency keys).
    pub lease: Duration,
    /// Bytes of attachments one user may store (`upload_quota_user_mb`).
    pub upload_quota_user: u64,
    /// Bytes of attachments one tenant may store (`storage_quota_tenant_mb`).
    pub storage_quota_tenant: u64,
    /// Evaluation time that all the rules of one write share (formulas, defaults,
    /// validations, conditional required/read-only, roll-up filters, trigger conditions): one
    /// budget per transaction, so a bulk call shares one. When it is spent the write fails as
    /// a whole with `limit.cpu`. Each evaluation keeps its own limit as well (50 ms).
    pub rules_budget_per_write: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            meta_ttl: Duration::from_millis(500),
            bulk_max: 1_000,
            cascade_max: 10_000,
            require_if_match: false,
            auth_ttl: Duration::from_secs(2),
            lease: Duration::from_secs(60),
            upload_quota_user: 1 << 30,
            storage_quota_tenant: 10 << 30,
            rules_budget_per_write: Duration::from_millis(500),
        }
    }
}

impl RuntimeConfig {
    /// The lease in whole seconds (at least one).
    pub fn lease_secs(&self) -> i64 {
        i64::try_from(self.lease.as_secs()).unwrap_or(60).max(1)
    }
}
