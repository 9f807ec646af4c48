//! Weft's application services: the single write path for records, metadata changes,
//! tenants and credentials, background jobs. Storage is reached only through the ports in
//! [`ports`]; this crate knows no SQL and no HTTP.

pub mod access;
pub mod apps;
pub mod automation;
pub mod clock;
pub mod config;
pub mod core;
pub mod docs;
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
pub mod usage;

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
    pub(crate) auth: access::auth::Auth,
    pub(crate) org_admin: access::admin::OrgAdmin,
    pub(crate) audit: access::audit::Audit,
    pub(crate) tenants: tenants::Tenants,
    pub(crate) records: records::Records,
    pub(crate) metadata: metadata::Metadata,
    pub(crate) jobs: jobs::Jobs,
    pub(crate) files: files::Files,
    pub(crate) views: saved_views::Views,
    pub(crate) automation: automation::Automation,
    pub(crate) workflows: flows::Workflows,
    pub(crate) apps: apps::Apps,
    pub(crate) usage: usage::Usage,
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
        let keys = Arc::new(access::keys::KeyCache::default());
        let audit = access::audit::Audit::new(core.clone());
        let auth = access::auth::Auth::new(core.clone(), keys.clone(), audit.clone());
        let org_admin = access::admin::OrgAdmin::new(core.clone(), keys);
        let tenants = tenants::Tenants::new(core.clone());
        let metadata = metadata::Metadata::new(core.clone());
        let records = records::Records::new(core.clone(), access.clone());
        let rules = Arc::new(automation::RuleCache::default());
        let jobs = jobs::Jobs::new(core.clone());
        let files = files::Files::new(core.clone());
        let views = saved_views::Views::new(core.clone(), access.clone());
        let usage = usage::Usage::new(core.clone());
        jobs.register(Arc::new(metadata::TypeChangeJob {
            meta: metadata.clone(),
        }));
        jobs.register(Arc::new(automation::backfill::RollupBackfillJob {
            core: core.clone(),
            rules: rules.clone(),
            path: records.path().clone(),
        }));
        let automation = automation::Automation::new(
            core.clone(),
            access.clone(),
            records.clone(),
            rules.clone(),
        );
        jobs.register(Arc::new(automation::dryrun::DryRunJobHandler {
            au: automation.clone(),
        }));
        let workflows = flows::Workflows::new(
            core.clone(),
            access.clone(),
            records.clone(),
            flows::BusinessCalendars::new(core.clone()),
        );
        let apps = apps::Apps::new(
            core.clone(),
            metadata.clone(),
            records.clone(),
            automation.clone(),
            workflows.clone(),
            org_admin.clone(),
        );
        Arc::new_cyclic(|weak| {
            let hooks = records.path().hooks();
            hooks.register(Arc::new(flows::lock::FlowLockHook::new(weak.clone())));
            hooks.register(Arc::new(automation::RulesHook::new(
                rules.clone(),
                core.job_signal.clone(),
            )));
            Self {
                access,
                auth,
                org_admin,
                audit,
                tenants,
                records,
                metadata,
                jobs,
                files,
                views,
                automation,
                workflows,
                apps,
                usage,
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

    /// Sign-in, sessions and API keys.
    pub fn auth(&self) -> &access::auth::Auth {
        &self.auth
    }

    /// Users, departments, roles and permissions.
    pub fn org_admin(&self) -> &access::admin::OrgAdmin {
        &self.org_admin
    }

    /// The hash-chained audit log.
    pub fn audit(&self) -> &access::audit::Audit {
        &self.audit
    }

    /// Tenants and their settings.
    pub fn tenants(&self) -> &tenants::Tenants {
        &self.tenants
    }

    /// Objects and fields.
    pub fn metadata(&self) -> &metadata::Metadata {
        &self.metadata
    }

    /// The background job queue.
    pub fn jobs(&self) -> &jobs::Jobs {
        &self.jobs
    }

    /// Attachments.
    pub fn files(&self) -> &files::Files {
        &self.files
    }

    /// Saved list views.
    pub fn views(&self) -> &saved_views::Views {
        &self.views
    }

    /// Rules and automation.
    pub fn automation(&self) -> &automation::Automation {
        &self.automation
    }

    /// Workflows and approvals.
    pub fn workflows(&self) -> &flows::Workflows {
        &self.workflows
    }

    /// Business calendars for workflow timers.
    pub fn calendars(&self) -> &flows::BusinessCalendars {
        self.workflows.calendars()
    }

    /// App packages.
    pub fn apps(&self) -> &apps::Apps {
        &self.apps
    }

    /// Usage reports and operators' figures.
    pub fn usage(&self) -> &usage::Usage {
        &self.usage
    }

    /// The shared kernel: storage, clock, settings, tenant snapshots.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }
}
