//! The shared kernel every service is built on: storage, the clock, settings, and the
//! per-tenant snapshots (compiled metadata, organization) that transactions carry.
//!
//! Only [`Core::begin`] opens a tenant transaction, and it loads the snapshots first, so code
//! inside a transaction ([`TxCtx`]) never needs the pool again.

pub mod cache;
pub(crate) mod fair;
mod txctx;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio::sync::Notify;
use weft_meta::{CompiledObject, TenantId};

pub use cache::TenantMeta;
pub use txctx::{Notes, TxCtx};

use crate::access::org::OrgSnapshot;
use crate::clock::Clock;
use crate::config::RuntimeConfig;
use crate::error::{Error, Result};
use crate::ports::prelude::*;
use crate::ports::{BlobStore, Store, TxMode};
use cache::MetaCache;

/// Per-tenant organization snapshots, re-checked against the tenant's access version.
#[derive(Debug, Default)]
struct OrgCache {
    map: RwLock<HashMap<TenantId, (Arc<OrgSnapshot>, Instant)>>,
}

pub struct Core {
    pub(crate) store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub config: RuntimeConfig,
    meta: MetaCache,
    orgs: OrgCache,
    /// Woken when background work is queued so workers need not wait for their next poll.
    pub job_signal: Arc<Notify>,
}

impl Core {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        config: RuntimeConfig,
    ) -> Self {
        Self {
            meta: MetaCache::new(config.meta_ttl),
            orgs: OrgCache::default(),
            store,
            blobs,
            clock,
            config,
            job_signal: Arc::new(Notify::new()),
        }
    }

    /// Platform-level storage: provisioning, credential lookup before a tenant is known, and
    /// leased claims of background work across tenants. Tenant data goes through [`Core::begin`].
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Open a transaction for `tenant` carrying fresh snapshots of its metadata and
    /// organization.
    pub async fn begin(&self, tenant: TenantId, mode: TxMode) -> Result<TxCtx> {
        let meta = self.meta(tenant).await?;
        let org = self.org(tenant).await?;
        self.begin_with(tenant, mode, meta, org).await
    }

    /// Open a transaction with snapshots the caller already holds (they must be this tenant's).
    pub async fn begin_with(
        &self,
        tenant: TenantId,
        mode: TxMode,
        meta: Arc<TenantMeta>,
        org: Arc<OrgSnapshot>,
    ) -> Result<TxCtx> {
        let tx = self.store.begin(tenant, mode).await?;
        let budget = weft_rules::Budget::new(self.config.rules_budget_per_write);
        Ok(TxCtx::new(tx, meta, org, self.clock.now(), budget))
    }

    /// A bare transaction for the snapshot loaders themselves and for platform bookkeeping
    /// that needs no snapshot (metadata version checks, job claims of one tenant).
    pub async fn begin_bare(&self, tenant: TenantId, mode: TxMode) -> Result<Box<dyn Tx>> {
        self.store.begin(tenant, mode).await
    }

    /// The tenant's compiled metadata, from cache when fresh.
    pub async fn meta(&self, tenant: TenantId) -> Result<Arc<TenantMeta>> {
        if let Some(m) = self.meta.fresh(tenant) {
            return Ok(m);
        }
        self.load_meta(tenant).await
    }

    /// The tenant's compiled metadata, checked against the stored version now.
    async fn load_meta(&self, tenant: TenantId) -> Result<Arc<TenantMeta>> {
        let mut tx = self.store.begin(tenant, TxMode::Read).await?;
        let version = tx.meta_version().await?;
        if self.meta.any(tenant).is_some_and(|m| m.version == version)
            && let Some(m) = self.meta.touch(tenant, version)
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
        self.meta.put(tenant, meta.clone());
        Ok(meta)
    }

    /// A compiled object of the tenant. A name the cached metadata does not know is looked up
    /// again against the stored version first, so an object another process created a moment
    /// ago is found without waiting for the cache to age.
    pub async fn object(&self, tenant: TenantId, name: &str) -> Result<Arc<CompiledObject>> {
        if let Some(o) = self.meta(tenant).await?.object(name) {
            return Ok(o.clone());
        }
        self.load_meta(tenant)
            .await?
            .object(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{name}'")))
    }

    /// The tenant's time zone as last loaded with its metadata (UTC before the first load).
    pub fn tz_of(&self, tenant: TenantId) -> chrono_tz::Tz {
        self.meta
            .any(tenant)
            .map(|m| m.tz)
            .unwrap_or(chrono_tz::Tz::UTC)
    }

    /// Forget the tenant's metadata (this process changed it).
    pub fn invalidate_meta(&self, tenant: TenantId) {
        self.meta.invalidate(tenant);
    }

    /// The tenant's organization, from cache when its access version is current.
    pub async fn org(&self, tenant: TenantId) -> Result<Arc<OrgSnapshot>> {
        let ttl = self.config.meta_ttl;
        if let Ok(m) = self.orgs.map.read()
            && let Some((snap, at)) = m.get(&tenant)
            && at.elapsed() < ttl
        {
            return Ok(snap.clone());
        }
        let mut tx = self.store.begin(tenant, TxMode::Read).await?;
        let version = tx.access_version().await?;
        let cached = self
            .orgs
            .map
            .read()
            .ok()
            .and_then(|m| m.get(&tenant).map(|(s, _)| s.clone()));
        let snap = match cached {
            Some(s) if s.access_version == version => s,
            _ => Arc::new(OrgSnapshot::build(tx.org_rows().await?)),
        };
        tx.commit().await?;
        if let Ok(mut m) = self.orgs.map.write() {
            m.insert(tenant, (snap.clone(), Instant::now()));
        }
        Ok(snap)
    }

    /// Forget the tenant's organization (this process changed it).
    pub fn invalidate_org(&self, tenant: TenantId) {
        if let Ok(mut m) = self.orgs.map.write() {
            m.remove(&tenant);
        }
    }

    /// Append an audit event inside `tx` (every service records its security-relevant changes
    /// in the transaction that makes them).
    pub async fn audit(
        &self,
        tx: &mut dyn Tx,
        actor: Option<uuid::Uuid>,
        e: crate::access::audit::Event<'_>,
    ) -> Result<crate::access::ports::AuditRow> {
        crate::access::audit::append(tx, self.clock.now(), actor, e).await
    }

    pub fn lease_secs(&self) -> i64 {
        self.config.lease_secs()
    }
}
