//! Field permissions for the current position: the runtime locks the record while an instance
//! runs, except the fields the current node makes editable for the acting user, and except
//! while the instance only waits for the record itself to change.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::compile::CompiledFlow;
use crate::definition::{NodeKind, WaitUntil};
use crate::state::{InstanceState, TaskKind, TaskStatus};

/// Access to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Editable,
    ReadOnly,
    Hidden,
}

/// The field permissions in force for one viewer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldAccess {
    /// The record is under approval: fields not listed as editable are read-only.
    pub locked: bool,
    /// Every field is editable (the initiator resubmitting without a start form).
    pub all_editable: bool,
    pub editable: BTreeSet<String>,
    pub hidden: BTreeSet<String>,
}

impl FieldAccess {
    pub fn access(&self, field: &str) -> Access {
        if self.hidden.contains(field) {
            Access::Hidden
        } else if !self.locked || self.all_editable || self.editable.contains(field) {
            Access::Editable
        } else {
            Access::ReadOnly
        }
    }
}

/// Field access for `user` (a viewer with no task when `None`): the union of the forms of the
/// nodes where the user holds an open task; `hidden` also applies to viewers without a task.
pub fn field_access(flow: &CompiledFlow, state: &InstanceState, user: Option<&str>) -> FieldAccess {
    let mut fa = FieldAccess {
        locked: !state.status.is_final() && state.rev > 0,
        ..Default::default()
    };
    if !fa.locked {
        return fa;
    }
    // Waiting for the record itself (a condition over it, or the date in one of its fields)
    // with nothing else active: the record stays open, or the wait could never end.
    let waits_on_record = !state.nodes.is_empty()
        && state.nodes.iter().all(|ni| {
            flow.node_index(&ni.node).is_some_and(|n| {
                matches!(
                    flow.node_kind(n),
                    NodeKind::Wait {
                        until: WaitUntil::Condition { .. } | WaitUntil::Field { .. },
                        ..
                    }
                )
            })
        });
    if waits_on_record {
        fa.locked = false;
        return fa;
    }
    for ni in &state.nodes {
        let Some(n) = flow.node_index(&ni.node) else {
            continue;
        };
        let mine = user.is_some_and(|u| {
            state
                .tasks
                .iter()
                .any(|t| t.ni == ni.id && t.status == TaskStatus::Open && t.user == u)
        });
        let form = match flow.node_kind(n) {
            NodeKind::Approval(a) => a.form.as_ref(),
            NodeKind::Start { form } => {
                let resubmitting = state
                    .tasks
                    .iter()
                    .any(|t| t.ni == ni.id && t.kind == TaskKind::Resubmit);
                if mine && resubmitting && form.is_none() {
                    fa.all_editable = true;
                }
                form.as_ref()
            }
            _ => None,
        };
        let Some(form) = form else { continue };
        if user.is_none() || mine {
            fa.hidden.extend(form.hidden.iter().cloned());
        }
        if mine {
            fa.editable.extend(form.editable.iter().cloned());
        }
    }
    fa
}
