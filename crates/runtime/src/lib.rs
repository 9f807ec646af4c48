//! Weft's application services: the single write path for records, metadata changes,
//! tenants and credentials, background jobs. Storage is reached only through the ports in
//! [`ports`]; this crate knows no SQL and no HTTP.

pub mod access;
pub mod apps;
pub mod automation;
pub mod cache;
pub mod clock;
pub mod error;
pub mod files;
pub mod flows;
pub mod ids;
pub mod jobs;
pub mod json;
pub mod metadata;
pub mod ports;
pub mod principal;
pub mod records;
pub mod saved_views;
pub mod tenants;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use weft_meta::{CompiledObject, TenantId};

pub use error::{Error, Result};
pub use principal::{Principal, Source};

use cache::{MetaCache, TenantMeta};
use clock::Clock;
use ports::{BlobStore, Store, TxMode};

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
        }
    }
}

/// The services container shared by the HTTP layer, the CLI and background workers.
pub struct Runtime {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub config: RuntimeConfig,
    cache: MetaCache,
    pub(crate) orgs: access::OrgCache,
    pub(crate) login_throttle: access::auth::LoginThrottle,
    pub(crate) key_cache: tenants::KeyCache,
    /// Compiled rules per tenant and metadata version.
    pub(crate) rules: automation::RuleCache,
    /// Woken when a job is enqueued so workers need not wait for their next poll.
    pub job_signal: Notify,
}

impl Runtime {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        config: RuntimeConfig,
    ) -> Self {
        Self {
            cache: MetaCache::new(config.meta_ttl),
            orgs: access::OrgCache::default(),
            login_throttle: access::auth::LoginThrottle::default(),
            key_cache: tenants::KeyCache::default(),
            rules: automation::RuleCache::default(),
            store,
            blobs,
            clock,
            config,
            job_signal: Notify::new(),
        }
    }

    /// The tenant's compiled metadata, from cache when fresh.
    pub async fn meta(&self, tenant: TenantId) -> Result<Arc<TenantMeta>> {
        if let Some(m) = self.cache.fresh(tenant) {
            return Ok(m);
        }
        let mut tx = self.store.begin(tenant, TxMode::Read).await?;
        let version = tx.meta_version().await?;
        if self.cache.any(tenant).is_some_and(|m| m.version == version)
            && let Some(m) = self.cache.touch(tenant, version)
        {
            return Ok(m);
        }
        let defs = tx.load_objects().await?;
        let tz = tx.time_zone().await?;
        tx.commit().await?;
        let mut objects = HashMap::with_capacity(defs.len());
        for def in defs {
            let name = def.api_name.to_string();
            let compiled = CompiledObject::compile(def).map_err(Error::internal)?;
            objects.insert(name, Arc::new(compiled));
        }
        // A zone stored by an older build and no longer known falls back to UTC.
        let tz = tz.parse().unwrap_or(chrono_tz::Tz::UTC);
        let meta = Arc::new(TenantMeta::new(version, objects).with_tz(tz));
        self.cache.put(tenant, meta.clone());
        Ok(meta)
    }

    /// The tenant's time zone as last loaded with its metadata (UTC before the first load).
    pub(crate) fn tz_of(&self, tenant: TenantId) -> chrono_tz::Tz {
        self.cache
            .any(tenant)
            .map(|m| m.tz)
            .unwrap_or(chrono_tz::Tz::UTC)
    }

    /// The tenant's metadata for code already inside a transaction: the cached copy (loaded
    /// when the request started) even if its freshness window passed, so no second pool
    /// connection is taken while one is held.
    pub(crate) async fn meta_in_tx(&self, tenant: TenantId) -> Result<Arc<TenantMeta>> {
        match self.cache.any(tenant) {
            Some(m) => Ok(m),
            None => self.meta(tenant).await,
        }
    }

    pub async fn object(&self, tenant: TenantId, name: &str) -> Result<Arc<CompiledObject>> {
        self.meta(tenant)
            .await?
            .object(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{name}'")))
    }

    pub(crate) fn lease_secs(&self) -> i64 {
        i64::try_from(self.config.lease.as_secs())
            .unwrap_or(60)
            .max(1)
    }

    pub(crate) fn invalidate(&self, tenant: TenantId) {
        self.cache.invalidate(tenant);
    }
}
