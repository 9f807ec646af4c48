//! sea-orm entities of the platform tables. They never leave this crate: the runtime sees its
//! own row types from `weft_runtime::ports`.

pub mod api_keys;
pub mod audit_heads;
pub mod audit_log;
pub mod automation_outbox;
pub mod automation_rules;
pub mod change_log;
pub mod counters;
pub mod departments;
pub mod files;
pub mod idempotency_keys;
pub mod jobs;
pub mod meta_objects;
pub mod meta_revisions;
pub mod notifications;
pub mod roles;
pub mod saved_view_defaults;
pub mod saved_views;
pub mod sessions;
pub mod tenants;
pub mod user_departments;
pub mod user_roles;
pub mod users;
pub mod webhook_deliveries;
