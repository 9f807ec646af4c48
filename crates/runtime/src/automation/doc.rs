//! Rule documents (`weft.rule/1`) are `weft_rules::doc`; this file checks them against the
//! tenant's cached metadata, the one input the pure checker takes from the runtime.

pub use weft_rules::doc::{
    ActionDoc, AssignRoute, AssignStrategy, Compiled, CompiledAction, CompiledRule, DateSpec,
    Event, FORMAT, RollupDoc, RollupOp, RuleBody, RuleDoc, RuleProblem, Transition, TriggerDoc,
    catalog, parse, scalar_of,
};

use uuid::Uuid;

use crate::core::cache::TenantMeta;

/// Check a rule document against the tenant's metadata and compile it. Every problem is
/// reported at once.
pub fn check(
    meta: &TenantMeta,
    doc: &RuleDoc,
    id: Uuid,
    version: i64,
    created_by: Uuid,
) -> Result<CompiledRule, Vec<RuleProblem>> {
    weft_rules::doc::check(&meta.objects, doc, id, version, created_by)
}

/// Compile the actions of a queued run against the current metadata (the worker).
pub fn compile_actions(
    meta: &TenantMeta,
    object: &str,
    actions: &[ActionDoc],
) -> Result<Vec<CompiledAction>, Vec<RuleProblem>> {
    weft_rules::doc::compile_actions(&meta.objects, object, actions)
}
