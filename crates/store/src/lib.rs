//! Weft's storage adapter: the runtime's ports implemented on PostgreSQL and SQLite with
//! sea-orm entities (platform tables) and sea-query (record tables and the platform tables
//! without an entity), built per backend with bound values. Plain SQL text is left only for
//! DDL, role and `set_config` statements, PRAGMAs and `EXPLAIN`, each marked where it is.
//!
//! Architecture invariant: only this crate and `migrations/` know SQL. Every record-table call
//! goes through a [`tx::SeaTx`] bound to one tenant; on PostgreSQL that transaction runs as the
//! tenant's role with the tenant's schema, so even a wrong table name cannot reach another
//! tenant's data.
//!
//! Map: `store.rs` connects and hands out transactions; `platform.rs` implements the `Store`
//! port (tenants, credential lookups); `tx/` is the tenant-bound `Tx` port split by capability;
//! `access`, `automation`, `flows` and `saved_views` implement the feature ports; `records` and
//! `filter` build record SQL; `ddl` the record tables; `claims` the leased cross-tenant
//! claims; `usage` the usage counts and the operators' backlog and pool figures; `admin`
//! creates and drops whole databases for tests and tools.

mod access;
pub mod admin;
mod automation;
mod blob;
mod claims;
mod ddl;
mod entities;
mod errors;
mod filter;
mod flows;
mod names;
mod platform;
mod records;
mod saved_views;
mod sqlvalue;
mod store;
mod tx;
mod usage;

use std::sync::Arc;

pub use blob::LocalDiskBlobStore;
pub use names::Names;
pub use store::{SeaStore, StoreOptions};

/// A fresh store handle for tests and tools that need raw access.
pub type SharedStore = Arc<SeaStore>;
