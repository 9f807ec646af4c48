//! The acceptance scenarios of workflow.md §5, at the state-machine level (numbers in names),
//! one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

#[path = "../support/mod.rs"]
mod support;

mod common;
mod concurrency;
mod handover;
mod notices;
mod routing;
mod signing;
mod versions;
