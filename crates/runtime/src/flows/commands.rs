//! User commands on tasks and instances: the request bodies, their validation, and the
//! engine command each becomes.

use super::{FlowError, Workflows};

use serde::Deserialize;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_flow::definition::SignerPosition;
use weft_flow::{AdminOp, Command, Decision, InstanceState};

use super::exec::status_str;
use super::require_admin;
use super::view_types::{InstanceSummary, OpenTask};
use crate::error::{Error, Result};
use crate::ports::TxMode;
use crate::principal::Principal;

/// What a user does to a task (`POST /flows/tasks/{id}/actions`): `{"action": "<variant>",
/// ...fields}` on the wire, read through [`parse_action`].
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskAction {
    Approve {
        #[serde(default)]
        comment: Option<String>,
    },
    Reject {
        #[serde(default)]
        comment: Option<String>,
    },
    /// 退回 to an earlier node.
    Return {
        to_node: String,
        #[serde(default)]
        comment: Option<String>,
    },
    /// 转交.
    Transfer {
        to: Uuid,
        #[serde(default)]
        comment: Option<String>,
    },
    /// 委托.
    Delegate {
        to: Uuid,
    },
    /// 加签.
    AddSigner {
        position: SignerPosition,
        users: Vec<Uuid>,
        #[serde(default)]
        comment: Option<String>,
    },
    Comment {
        text: String,
    },
    /// Resubmit after 退回 to start.
    Resubmit {},
}

/// What a user does to an instance (`POST /flows/instances/{id}/actions`), read through
/// [`parse_action`].
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum InstanceAction {
    /// 撤回 by the initiator.
    Withdraw {
        #[serde(default)]
        comment: Option<String>,
    },
    /// 催办.
    Urge {
        #[serde(default)]
        comment: Option<String>,
    },
    Comment {
        text: String,
    },
    /// Admin: re-run the node an incident is parked on.
    Retry {
        incident: u32,
    },
    /// Admin: move past an incident.
    Skip {
        incident: u32,
        #[serde(default)]
        edge: Option<String>,
    },
    /// Admin: terminate the instance.
    Cancel {
        #[serde(default)]
        reason: Option<String>,
    },
}

pub(super) const MAX_TEXT: usize = 4_000;

/// `{"action": "approve", "comment": "ok"}` → the action enum, with the JSON pointer of a bad
/// field. (serde's internally tagged enums buffer their content and lose the path, so the
/// body is read as the externally tagged `{"approve": {"comment": "ok"}}`.)
pub(super) fn parse_action<T: serde::de::DeserializeOwned>(body: &Json) -> Result<T> {
    let Some(obj) = body.as_object() else {
        return Err(Error::one("", "invalid", "the body is a JSON object"));
    };
    let Some(action) = obj.get("action") else {
        return Err(Error::one("/action", "required", "the action is missing"));
    };
    let Some(action) = action.as_str() else {
        return Err(Error::one("/action", "invalid", "the action is a string"));
    };
    let mut rest = obj.clone();
    rest.remove("action");
    let wrapped = json!({ action: rest });
    serde_path_to_error::deserialize::<_, T>(&wrapped).map_err(|e| {
        let path = e.path().to_string();
        // The first segment is the action itself.
        let msg = e.inner().to_string();
        let field = path
            .split_once('.')
            .map(|(_, f)| f)
            .filter(|f| !f.is_empty());
        let pointer = match field {
            Some(field) => format!("/{}", field.replace('.', "/")),
            None if msg.starts_with("unknown variant") => "/action".into(),
            // `unknown field `x`, expected ...`: the field is at the top level.
            None => msg
                .strip_prefix("unknown field `")
                .and_then(|m| m.split_once('`'))
                .map(|(f, _)| format!("/{f}"))
                .unwrap_or_default(),
        };
        Error::one(pointer, "invalid", msg)
    })
}

fn text_ok(path: &str, t: Option<&String>) -> Result<()> {
    match t {
        Some(s) if s.chars().count() > MAX_TEXT => Err(Error::one(
            path,
            "max_length",
            format!("at most {MAX_TEXT} characters"),
        )),
        _ => Ok(()),
    }
}

/// Act on a task (approve, reject, return, transfer, delegate, add signer, comment).
pub(super) async fn task_act(
    wf: &Workflows,
    p: &Principal,
    task_id: Uuid,
    body: &Json,
) -> Result<InstanceSummary> {
    if p.view_as {
        return Err(FlowError::ReadOnlyView.into());
    }
    let action: TaskAction = parse_action(body)?;
    let mut users: Vec<Uuid> = vec![];
    match &action {
        TaskAction::Approve { comment }
        | TaskAction::Reject { comment }
        | TaskAction::Return { comment, .. } => text_ok("/comment", comment.as_ref())?,
        TaskAction::Transfer { to, comment } => {
            text_ok("/comment", comment.as_ref())?;
            users.push(*to);
        }
        TaskAction::Delegate { to } => users.push(*to),
        TaskAction::AddSigner {
            users: us, comment, ..
        } => {
            text_ok("/comment", comment.as_ref())?;
            if us.is_empty() || us.len() > 20 {
                return Err(Error::one("/users", "max_items", "add 1 to 20 signers"));
            }
            users.extend(us.iter().copied());
        }
        TaskAction::Comment { text } => {
            if text.trim().is_empty() {
                return Err(Error::one("/text", "required", "the comment is empty"));
            }
            text_ok("/text", Some(text))?;
        }
        TaskAction::Resubmit {} => {}
    }
    let (instance, task) = {
        let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
        let t = tx
            .flow_task(task_id)
            .await?
            .ok_or_else(|| Error::not_found("task"))?;
        if !users.is_empty() {
            let known = tx.existing_users(&users).await?;
            if let Some(bad) = users.iter().find(|u| !known.contains(u)) {
                return Err(Error::one(
                    if matches!(action, TaskAction::AddSigner { .. }) {
                        "/users"
                    } else {
                        "/to"
                    },
                    "unknown_user",
                    format!("{bad} is not a user"),
                ));
            }
        }
        tx.commit().await?;
        (t.instance_id, t.task as u32)
    };
    let actor = p.user.0.to_string();
    let cmd = match action {
        TaskAction::Approve { comment } => Command::Decide {
            task,
            actor,
            acting_for: None,
            decision: Decision::Approve,
            comment,
        },
        TaskAction::Reject { comment } => Command::Decide {
            task,
            actor,
            acting_for: None,
            decision: Decision::Reject,
            comment,
        },
        TaskAction::Return { to_node, comment } => Command::Return {
            task,
            actor,
            to_node,
            comment,
        },
        TaskAction::Transfer { to, comment } => Command::Transfer {
            task,
            actor,
            to: to.to_string(),
            comment,
        },
        TaskAction::Delegate { to } => Command::Delegate {
            task,
            actor,
            to: to.to_string(),
        },
        TaskAction::AddSigner {
            position,
            users,
            comment,
        } => Command::AddSigner {
            task,
            actor,
            position,
            users: users.iter().map(Uuid::to_string).collect(),
            comment,
        },
        TaskAction::Comment { text } => Command::Comment {
            actor,
            text,
            task: Some(task),
        },
        TaskAction::Resubmit {} => Command::Resubmit {
            task,
            actor,
            record: None,
        },
    };
    let st = super::exec::run_command(
        wf,
        p.tenant,
        instance,
        Some(p.user.0.to_string()),
        &cmd,
        None,
    )
    .await?;
    Ok(state_summary(instance, &st))
}

/// Act on an instance: withdraw, urge, comment; admins: retry, skip, cancel.
pub(super) async fn instance_act(
    wf: &Workflows,
    p: &Principal,
    id: Uuid,
    body: &Json,
) -> Result<InstanceSummary> {
    if p.view_as {
        return Err(FlowError::ReadOnlyView.into());
    }
    let action: InstanceAction = parse_action(body)?;
    // Only participants see an instance; others get "not found".
    let row = super::exec::visible_instance(wf, p, id).await?;
    let actor = p.user.0.to_string();
    let cmd = match action {
        InstanceAction::Withdraw { comment } => {
            text_ok("/comment", comment.as_ref())?;
            Command::Withdraw { actor, comment }
        }
        InstanceAction::Urge { comment } => {
            text_ok("/comment", comment.as_ref())?;
            Command::Urge { actor, comment }
        }
        InstanceAction::Comment { text } => {
            if text.trim().is_empty() {
                return Err(Error::one("/text", "required", "the comment is empty"));
            }
            text_ok("/text", Some(&text))?;
            Command::Comment {
                actor,
                text,
                task: None,
            }
        }
        InstanceAction::Retry { incident } => {
            require_admin(p)?;
            // The retry sees the record as it is now (the admin may have fixed it).
            super::exec::flow_record_changed(wf, p.tenant, row.record_id, Some(id)).await?;
            Command::Admin {
                actor,
                op: AdminOp::Retry { incident },
            }
        }
        InstanceAction::Skip { incident, edge } => {
            require_admin(p)?;
            Command::Admin {
                actor,
                op: AdminOp::Skip { incident, edge },
            }
        }
        InstanceAction::Cancel { reason } => {
            require_admin(p)?;
            text_ok("/reason", reason.as_ref())?;
            Command::Admin {
                actor,
                op: AdminOp::Cancel { reason },
            }
        }
    };
    let st =
        super::exec::run_command(wf, p.tenant, id, Some(p.user.0.to_string()), &cmd, None).await?;
    Ok(state_summary(id, &st))
}

fn state_summary(id: Uuid, st: &InstanceState) -> InstanceSummary {
    InstanceSummary {
        id,
        status: status_str(st.status).into(),
        rev: st.rev,
        positions: st.positions().into_iter().map(str::to_owned).collect(),
        open_tasks: st
            .open_tasks()
            .map(|t| OpenTask {
                task: t.id,
                user: t.user.clone(),
            })
            .collect(),
    }
}
