//! `/meta/flows`: draft definitions, validation (every problem at once), publishing immutable
//! versions and listing them. Admin only.

use super::{FlowError, Workflows};
use std::collections::BTreeSet;

use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_flow::Definition;
use weft_flow::definition::{AssigneeRule, NodeKind};
use weft_meta::Problem;

use super::ports::{FlowDefRow, FlowVersionRow};
use super::require_admin;
use super::view_types::{
    DefProblem, FlowDefView, FlowList, FlowValidation, FlowVersionList, FlowVersionView,
};
use crate::error::{Error, Result};
use crate::metadata::parse_doc_as;
use crate::ports::TxMode;
use crate::principal::Principal;

const MAX_KEY: usize = 64;

fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && key.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(Error::one(
            "/key",
            "flow.key_invalid",
            "a flow key is 1-64 characters of a-z, 0-9 and _, starting with a letter",
        ))
    }
}

/// A flow problem with a pointer into the document (the node's or edge's index).
fn def_problem(def: &Definition, p: &weft_flow::Problem) -> DefProblem {
    let path = if let Some(n) = &p.node {
        def.nodes
            .iter()
            .position(|x| &x.id == n)
            .map(|i| format!("/nodes/{i}"))
    } else if let Some(e) = &p.edge {
        def.edges
            .iter()
            .position(|x| &x.id == e)
            .map(|i| format!("/edges/{i}"))
    } else {
        None
    };
    DefProblem {
        path: path.unwrap_or_default(),
        node: p.node.clone(),
        edge: p.edge.clone(),
        code: p.code.to_owned(),
        message: p.message.clone(),
    }
}

fn def_view(row: &FlowDefRow) -> FlowDefView {
    FlowDefView {
        key: row.key.clone(),
        object: row.object.clone(),
        latest_version: row.latest_version,
        definition: row.doc.clone(),
        updated_by: row.updated_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn version_view(v: &FlowVersionRow, with_doc: bool) -> FlowVersionView {
    FlowVersionView {
        id: v.id,
        key: v.key.clone(),
        version: v.version,
        object: v.object.clone(),
        hash: v.hash.clone(),
        published_by: v.published_by,
        published_at: v.published_at,
        definition: with_doc.then(|| v.doc.clone()),
    }
}

pub(super) async fn def_list(wf: &Workflows, p: &Principal) -> Result<FlowList> {
    require_admin(p)?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let rows = tx.flow_defs().await?;
    tx.commit().await?;
    Ok(FlowList {
        flows: rows.iter().map(def_view).collect(),
    })
}

pub(super) async fn def_get(wf: &Workflows, p: &Principal, key: &str) -> Result<FlowDefView> {
    require_admin(p)?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let row = tx
        .flow_def(key)
        .await?
        .ok_or_else(|| Error::not_found(format!("flow '{key}'")))?;
    tx.commit().await?;
    Ok(def_view(&row))
}

/// Save a draft: create (`key` = None, taken from the document) or replace.
pub(super) async fn def_save(
    wf: &Workflows,
    p: &Principal,
    key: Option<&str>,
    body: &Json,
) -> Result<FlowDefView> {
    require_admin(p)?;
    let mut def = parse_doc_as::<Definition>(body, "flow.invalid")?;
    if let Some(k) = key
        && def.key != k
    {
        return Err(Error::one(
            "/key",
            "flow.key_mismatch",
            "the document's key must match the URL",
        ));
    }
    check_key(&def.key)?;
    if def.object.is_empty() {
        return Err(Error::one(
            "/object",
            "required",
            "the flow needs the object its records run through",
        ));
    }
    def.version = 0;
    let doc = serde_json::to_value(&def).map_err(Error::internal)?;
    let now = wf.core.clock.now();
    let mut tx = wf.core.begin(p.tenant, TxMode::Write).await?;
    let existing = tx.flow_def(&def.key).await?;
    match (key, &existing) {
        (None, Some(_)) => {
            return Err(FlowError::Exists { key: def.key }.into());
        }
        (Some(k), None) => return Err(Error::not_found(format!("flow '{k}'"))),
        _ => {}
    }
    if let Some(e) = &existing
        && e.latest_version > 0
        && e.object != def.object
    {
        return Err(Error::one(
            "/object",
            "flow.object_fixed",
            "a published flow cannot move to another object",
        ));
    }
    let row = FlowDefRow {
        key: def.key.clone(),
        object: def.object.clone(),
        doc,
        latest_version: existing.as_ref().map_or(0, |e| e.latest_version),
        updated_by: p.user.0,
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        updated_at: now,
    };
    tx.flow_def_put(&row).await?;
    tx.commit().await?;
    Ok(def_view(&row))
}

/// Delete a draft and its versions; refused while any instance references it.
pub(super) async fn def_delete(wf: &Workflows, p: &Principal, key: &str) -> Result<()> {
    require_admin(p)?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Write).await?;
    if tx.flow_def(key).await?.is_none() {
        return Err(Error::not_found(format!("flow '{key}'")));
    }
    if tx.flow_instance_count(key).await? > 0 {
        return Err(FlowError::InUse { key: key.into() }.into());
    }
    tx.flow_versions_delete(key).await?;
    tx.flow_def_delete(key).await?;
    tx.commit().await
}

/// Every problem of the draft (publish-time checks plus tenant checks).
async fn draft_problems(
    wf: &Workflows,
    p: &Principal,
    def: &Definition,
) -> Result<std::result::Result<weft_flow::CompiledFlow, Vec<DefProblem>>> {
    let mut problems = Vec::new();
    // Fixed user ids must be users of this tenant.
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for n in &def.nodes {
        let rules: Vec<&AssigneeRule> = match &n.kind {
            NodeKind::Approval(a) => a.assignees.iter().collect(),
            NodeKind::Cc { recipients, .. } => recipients.iter().collect(),
            _ => vec![],
        };
        for r in rules {
            if let AssigneeRule::Users { ids: us } = r {
                ids.extend(us.iter().cloned());
            }
        }
    }
    let parsed: Vec<Uuid> = ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect();
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let known = tx.existing_users(&parsed).await?;
    tx.commit().await?;
    for id in &ids {
        if !Uuid::parse_str(id).is_ok_and(|u| known.contains(&u)) {
            let node = def
                .nodes
                .iter()
                .find(|n| serde_json::to_string(&n.kind).is_ok_and(|s| s.contains(id)))
                .map(|n| n.id.clone());
            problems.push(weft_flow::Problem {
                node,
                edge: None,
                code: "assignee.unknown_user",
                message: format!("`{id}` is not a user of this tenant"),
            });
        }
    }
    // Refresh the metadata cache first (no transaction is held here), so the definition
    // is checked against the object as it is now.
    let meta = wf.core.meta(p.tenant).await?;
    let compiled = match super::compile_definition(&meta, def.clone()) {
        Ok(c) => Some(c),
        Err(ps) => {
            problems.extend(ps);
            None
        }
    };
    // Business calendars must exist (tenant calendars or the built-in).
    let calendars = wf.calendars.for_tenant(p.tenant).await?;
    let unknown: Vec<DefProblem> = super::calendars::referenced(def)
        .into_iter()
        .filter(|(_, name)| !calendars.knows(name))
        .map(|(path, name)| DefProblem {
            path,
            node: None,
            edge: None,
            code: "calendar.unknown".into(),
            message: format!("no business calendar named '{name}' (see /meta/calendars)"),
        })
        .collect();
    Ok(match compiled {
        Some(c) if problems.is_empty() && unknown.is_empty() => Ok(c),
        _ => Err(problems
            .iter()
            .map(|x| def_problem(def, x))
            .chain(unknown)
            .collect()),
    })
}

/// Validate the stored draft: `{"ok": bool, "problems": [...]}`.
pub(super) async fn def_validate(
    wf: &Workflows,
    p: &Principal,
    key: &str,
) -> Result<FlowValidation> {
    require_admin(p)?;
    let def = draft(wf, p, key).await?;
    Ok(match draft_problems(wf, p, &def).await? {
        Ok(_) => FlowValidation {
            ok: true,
            problems: vec![],
        },
        Err(problems) => FlowValidation {
            ok: false,
            problems,
        },
    })
}

async fn draft(wf: &Workflows, p: &Principal, key: &str) -> Result<Definition> {
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let row = tx
        .flow_def(key)
        .await?
        .ok_or_else(|| Error::not_found(format!("flow '{key}'")))?;
    tx.commit().await?;
    serde_json::from_value(row.doc)
        .map_err(|e| Error::internal(format!("stored draft unreadable: {e}")))
}

/// Publish the draft as a new immutable version. Running instances keep their version.
pub(super) async fn def_publish(
    wf: &Workflows,
    p: &Principal,
    key: &str,
) -> Result<FlowVersionView> {
    require_admin(p)?;
    let mut def = draft(wf, p, key).await?;
    if let Err(ps) = draft_problems(wf, p, &def).await? {
        return Err(Error::Validation(
            ps.iter()
                .map(|j| {
                    let mut msg = j.message.clone();
                    if let Some(n) = &j.node {
                        msg = format!("[node {n}] {msg}");
                    } else if let Some(e) = &j.edge {
                        msg = format!("[edge {e}] {msg}");
                    }
                    Problem::new(j.path.clone(), &j.code, msg)
                })
                .collect(),
        ));
    }
    let now = wf.core.clock.now();
    let mut tx = wf.core.begin(p.tenant, TxMode::Write).await?;
    let mut row = tx
        .flow_def(key)
        .await?
        .ok_or_else(|| Error::not_found(format!("flow '{key}'")))?;
    let version = row.latest_version + 1;
    def.version = u32::try_from(version).map_err(Error::internal)?;
    let v = FlowVersionRow {
        id: Uuid::now_v7(),
        key: key.to_string(),
        version,
        object: def.object.clone(),
        hash: weft_flow::content_hash(&def),
        doc: serde_json::to_value(&def).map_err(Error::internal)?,
        published_by: p.user.0,
        published_at: now,
    };
    tx.flow_version_insert(&v).await?;
    row.latest_version = version;
    row.updated_at = now;
    tx.flow_def_put(&row).await?;
    wf.core
        .audit(
            tx.as_mut(),
            Some(p.user.0),
            crate::access::audit::Event {
                action: "flow.published",
                object: None,
                record_id: Some(v.id),
                detail: json!({"key": key, "version": version, "hash": v.hash}),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(version_view(&v, false))
}

pub(super) async fn def_versions(
    wf: &Workflows,
    p: &Principal,
    key: &str,
) -> Result<FlowVersionList> {
    require_admin(p)?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    if tx.flow_def(key).await?.is_none() {
        return Err(Error::not_found(format!("flow '{key}'")));
    }
    let vs = tx.flow_versions(key).await?;
    tx.commit().await?;
    Ok(FlowVersionList {
        versions: vs.iter().map(|v| version_view(v, true)).collect(),
    })
}
