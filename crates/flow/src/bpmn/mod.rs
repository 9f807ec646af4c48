//! BPMN 2.0 interchange for the supported subset (workflow.md §5 mapping table).
//!
//! Export writes standard elements that bpmn.io / Camunda Modeler display (with BPMNDI) plus
//! `crm:` extension elements carrying the exact node/edge JSON, so that our own files
//! round-trip losslessly. Import prefers those extensions and otherwise maps the standard
//! elements; anything outside the subset is reported, all problems at once.

mod export;
mod import;
mod xml;

pub use export::export_bpmn;
pub use import::import_bpmn;

/// Namespace of the crm extension elements.
pub const CRM_NS: &str = "https://weft.dev/schema/crm-workflow/1";
