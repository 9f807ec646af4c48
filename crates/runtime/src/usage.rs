//! Usage: what a tenant holds and has waiting (for its admins), and the cross-tenant figures
//! operators scrape (automation backlog per tenant, connection pools).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::core::Core;
use crate::error::Error;
use crate::ports::{FetchOpts, OutboxBacklog, PoolStats, TxMode};
use crate::principal::Principal;

/// How far back the usage report counts failed automation runs.
pub const FAILED_WINDOW_HOURS: i64 = 24;

#[derive(Clone)]
pub struct Usage {
    core: Arc<Core>,
}

/// Records of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ObjectUsage {
    /// The object's API name.
    pub object: String,
    /// Live records.
    pub records: u64,
    /// Records in the recycle bin (deleted, not yet purged).
    pub deleted: u64,
}

/// Attachments stored by the tenant (bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AttachmentUsage {
    pub files: u64,
    pub bytes: u64,
    /// The tenant's storage quota.
    pub quota: u64,
}

/// Automation runs of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RunUsage {
    /// Not finished yet: queued, waiting for a retry, or running.
    pub pending: u64,
    /// Failed for good in the last 24 hours.
    pub failed_last_24h: u64,
}

/// What the tenant holds and has waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TenantUsage {
    /// Records per object, objects by API name.
    pub objects: Vec<ObjectUsage>,
    pub attachments: AttachmentUsage,
    pub automation_runs: RunUsage,
    /// When the figures were read.
    pub at: DateTime<Utc>,
}

impl Usage {
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// The tenant's usage report (admins): records per object, attachment bytes, automation
    /// runs pending and failed in the last 24 hours; read in one transaction.
    pub async fn tenant_usage(&self, p: &Principal) -> Result<TenantUsage, UsageError> {
        if !p.is_admin || p.view_as {
            return Err(UsageError::AdminOnly);
        }
        let mut cx = self.core.begin(p.tenant, TxMode::Read).await?;
        let at = cx.now;
        let meta = cx.meta.clone();
        let mut objects = Vec::new();
        for obj in meta.sorted() {
            let live = cx
                .count_records(obj, None, None, FetchOpts::default())
                .await?;
            let bin = FetchOpts {
                only_deleted: true,
                ..FetchOpts::default()
            };
            let deleted = cx.count_records(obj, None, None, bin).await?;
            objects.push(ObjectUsage {
                object: obj.api_name().to_owned(),
                records: count(live),
                deleted: count(deleted),
            });
        }
        let (files, bytes) = cx.file_usage(None).await?;
        let (pending, failed) = cx
            .run_counts(at - Duration::hours(FAILED_WINDOW_HOURS))
            .await?;
        cx.commit().await?;
        Ok(TenantUsage {
            objects,
            attachments: AttachmentUsage {
                files: count(files),
                bytes: count(bytes),
                quota: self.core.config.storage_quota_tenant,
            },
            automation_runs: RunUsage {
                pending: count(pending),
                failed_last_24h: count(failed),
            },
            at,
        })
    }

    /// Unfinished automation runs per tenant (operators' metrics; no principal: the HTTP
    /// layer lets only operators reach it).
    pub async fn outbox_backlog(&self) -> Result<Vec<OutboxBacklog>, Error> {
        self.core.store().outbox_backlog().await
    }

    /// The connection pools' idle and busy connections.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        self.core.store().pool_stats()
    }

    /// The time now, by the runtime's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.core.clock.now()
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The usage service's own failure kinds (see [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The caller is not an admin of the tenant (or is viewing as another user).
    #[error("only admins can see the organization's usage")]
    AdminOnly,
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl crate::error::ErrorKinds for UsageError {
    fn named(&self) -> Option<crate::error::Named> {
        use crate::error::{Class, named};
        match self {
            Self::AdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有管理员可以查看本组织的用量",
            ),
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(UsageError);
