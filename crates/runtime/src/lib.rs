//! Weft's application services: the single write path for records, metadata changes,
//! tenants and credentials, background jobs. Storage is reached only through the ports in
//! [`ports`]; this crate knows no SQL and no HTTP.

pub mod access;
pub mod apps;
pub mod automation;
pub mod clock;
pub mod config;
pub mod core;
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

use std::sync::Arc;

pub use config::RuntimeConfig;
pub use error::{Error, Result};
pub use principal::{Principal, Source};

use crate::core::Core;
use clock::Clock;
use ports::{BlobStore, Store};

/// The services container shared by the HTTP layer, the CLI and background workers.
pub struct Runtime {
    core: Arc<Core>,
    pub(crate) access: access::Access,
    pub(crate) records: records::Records,
    pub(crate) login_throttle: access::auth::LoginThrottle,
    pub(crate) key_cache: tenants::KeyCache,
    /// Compiled rules per tenant and metadata version.
    pub(crate) rules: Arc<automation::RuleCache>,
}

impl std::ops::Deref for Runtime {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Runtime {
    /// Build the services and wire the write hooks: the approval lock first (it judges the
    /// writer's own changes), then the rules.
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        config: RuntimeConfig,
    ) -> Arc<Self> {
        let core = Arc::new(Core::new(store, blobs, clock, config));
        let access = access::Access::new(core.clone());
        let records = records::Records::new(core.clone(), access.clone());
        let rules = Arc::new(automation::RuleCache::default());
        Arc::new_cyclic(|weak| {
            let hooks = records.path().hooks();
            hooks.register(Arc::new(flows::lock::FlowLockHook::new(weak.clone())));
            hooks.register(Arc::new(automation::RulesHook::new(
                rules.clone(),
                core.job_signal.clone(),
            )));
            Self {
                access,
                records,
                login_throttle: access::auth::LoginThrottle::default(),
                key_cache: tenants::KeyCache::default(),
                rules,
                core,
            }
        })
    }

    /// Records: the single write path and record reads.
    pub fn records(&self) -> &records::Records {
        &self.records
    }

    /// Access control: rights, data scope, field access.
    pub fn access(&self) -> &access::Access {
        &self.access
    }

    /// The shared kernel: storage, clock, settings, tenant snapshots.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }
}
