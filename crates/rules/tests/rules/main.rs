//! Tests of weft-rules against real rhai and real handlebars: one binary, one module per area.

// Helpers shared by the tests live outside #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod budget;
mod common;
mod fuzz;
mod hostile_scripts;
mod hostile_templates;
mod scripts;
mod templates;
