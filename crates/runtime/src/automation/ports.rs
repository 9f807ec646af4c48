//! Storage needs of rules and automation (rule documents, runs, outbox, notifications).
//! Implemented by `weft-store` in `crates/store/src/automation.rs`.

use async_trait::async_trait;

#[async_trait]
pub trait AutomationTx: Send {}
