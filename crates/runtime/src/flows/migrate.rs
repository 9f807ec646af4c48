//! `POST /meta/flows/{key}/migrate`: move running instances to another published version of
//! their flow with a node mapping (`weft_flow::plan_migration`). A dry run lists the outcome
//! per instance and changes nothing; applying is all-or-nothing in one transaction: any
//! instance that cannot move (an active node without a counterpart, a kind mismatch, a
//! finished instance) rejects the whole request with every problem, and a concurrent change
//! to any instance (revision check) rolls everything back.

use super::{FlowError, Workflows};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_flow::InstanceState;
use weft_meta::Problem;

use super::exec::status_str;
use super::ports::{FlowEventRow, FlowInstanceRow, FlowVersionRow};
use super::require_admin;
use super::view_types::{FlowProblem, MigrationItem, MigrationReport};
use crate::error::{Error, Result};
use crate::metadata::parse_doc;
use crate::ports::{Tx, TxMode};
use crate::principal::Principal;

const MAX_INSTANCES: usize = 10_000;
const MAX_MAPPING: usize = 1_000;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct MigrateBody {
    /// Target version (default: the latest).
    #[serde(default)]
    to_version: Option<i32>,
    /// Old node id → new node id; unmapped nodes keep their id.
    #[serde(default)]
    mapping: BTreeMap<String, String>,
    /// Default: every running or incident instance on another version.
    #[serde(default)]
    instances: Option<Vec<Uuid>>,
    #[serde(default)]
    dry_run: bool,
}

struct Planned {
    row: FlowInstanceRow,
    old_rev: i64,
    result: std::result::Result<InstanceState, Vec<weft_flow::Problem>>,
}

/// Move running instances of a flow to another published version (or only report what
/// would happen, with `dry_run`).
pub(super) async fn instances_migrate(
    wf: &Workflows,
    p: &Principal,
    key: &str,
    body: &Json,
) -> Result<MigrationReport> {
    require_admin(p)?;
    let b = parse_doc::<MigrateBody>(body)?;
    if b.mapping.len() > MAX_MAPPING {
        return Err(Error::one(
            "/mapping",
            "max_items",
            format!("at most {MAX_MAPPING} mapped nodes"),
        ));
    }
    if b.instances
        .as_ref()
        .is_some_and(|v| v.len() > MAX_INSTANCES)
    {
        return Err(Error::one(
            "/instances",
            "max_items",
            format!("at most {MAX_INSTANCES} instances per request"),
        ));
    }
    // Compiling versions inside the transaction uses the cached metadata: refresh first.
    wf.core.meta(p.tenant).await?;
    let now = wf.core.clock.now();
    let mode = if b.dry_run {
        TxMode::Read
    } else {
        TxMode::Write
    };
    let mut tx = wf.core.begin(p.tenant, mode).await?;
    if tx.flow_def(key).await?.is_none() {
        return Err(Error::not_found(format!("flow '{key}'")));
    }
    let versions = tx.flow_versions(key).await?;
    let target = match b.to_version {
        Some(n) => versions.iter().find(|v| v.version == n).ok_or_else(|| {
            Error::one(
                "/to_version",
                "migration.unknown_version",
                format!("flow '{key}' has no published version {n}"),
            )
        })?,
        None => versions
            .iter()
            .max_by_key(|v| v.version)
            .ok_or_else(|| FlowError::NotPublished { key: key.into() })?,
    }
    .clone();
    let rows = instances_to_move(tx.as_mut(), key, b.instances.as_deref(), target.id).await?;
    let new = super::compiled_flow(wf, &mut tx, target.id).await?;
    let mut planned = Vec::with_capacity(rows.len());
    for row in rows {
        let state: InstanceState = serde_json::from_value(row.state.clone())
            .map_err(|e| Error::internal(format!("instance state unreadable: {e}")))?;
        let old = super::compiled_flow(wf, &mut tx, row.version_id).await?;
        let result = weft_flow::plan_migration(&old, &new, &state, &b.mapping);
        planned.push(Planned {
            old_rev: row.rev,
            row,
            result,
        });
    }
    let report: Vec<MigrationItem> = planned
        .iter()
        .map(|x| match &x.result {
            Ok(st) => MigrationItem {
                id: x.row.id,
                from_version: x.row.version,
                ok: true,
                positions: Some(st.positions().into_iter().map(str::to_owned).collect()),
                problems: vec![],
            },
            Err(ps) => MigrationItem {
                id: x.row.id,
                from_version: x.row.version,
                ok: false,
                positions: None,
                problems: ps.iter().map(FlowProblem::from).collect(),
            },
        })
        .collect();
    let done = |applied| MigrationReport {
        dry_run: b.dry_run,
        flow: key.to_owned(),
        to_version: target.version,
        applied,
        instances: report,
    };
    if b.dry_run {
        tx.commit().await?;
        return Ok(done(0));
    }
    let problems: Vec<Problem> = planned
        .iter()
        .enumerate()
        .flat_map(|(i, x)| {
            let id = x.row.id;
            x.result.as_ref().err().into_iter().flatten().map(move |p| {
                let at = p.node.as_deref().or(p.edge.as_deref()).unwrap_or("");
                Problem::new(
                    format!("/instances/{i}"),
                    p.code,
                    format!("instance {id}: [{at}] {}", p.message),
                )
            })
        })
        .collect();
    if !problems.is_empty() {
        // Nothing was written; dropping the transaction rolls back.
        return Err(Error::Validation(problems));
    }
    let mut applied = 0;
    for x in &planned {
        if let Ok(st) = &x.result {
            move_instance(tx.as_mut(), p, x, st, &target, &b.mapping, now).await?;
            applied += 1;
        }
    }
    wf.core
        .audit(
            tx.as_mut(),
            Some(p.user.0),
            crate::access::audit::Event {
                action: "flow.migrated",
                object: None,
                record_id: Some(target.id),
                detail: json!({"key": key, "to_version": target.version, "instances": applied,
                           "mapping": b.mapping}),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(done(applied))
}

/// The instances a migration moves: those named (each must be of this flow), or every
/// running or incident instance on another version than the target.
async fn instances_to_move(
    tx: &mut dyn Tx,
    key: &str,
    instances: Option<&[Uuid]>,
    target: Uuid,
) -> Result<Vec<FlowInstanceRow>> {
    match instances {
        Some(ids) => {
            let mut rows = Vec::with_capacity(ids.len());
            let mut missing = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                match tx.flow_instance(*id).await? {
                    Some(r) if r.flow_key == key => rows.push(r),
                    _ => missing.push(Problem::new(
                        format!("/instances/{i}"),
                        "migration.unknown_instance",
                        format!("{id} is not an instance of flow '{key}'"),
                    )),
                }
            }
            if !missing.is_empty() {
                return Err(Error::Validation(missing));
            }
            Ok(rows)
        }
        None => Ok(tx
            .flow_active_instances_of(key, MAX_INSTANCES as u32)
            .await?
            .into_iter()
            .filter(|r| r.version_id != target)
            .collect()),
    }
}

/// Swap one planned instance to the target version: state, version, task nodes, timers and
/// a timeline row.
async fn move_instance(
    tx: &mut dyn Tx,
    p: &Principal,
    x: &Planned,
    st: &InstanceState,
    target: &FlowVersionRow,
    mapping: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let json = serde_json::to_value(st).map_err(Error::internal)?;
    let swapped = tx
        .flow_instance_cas(
            x.row.id,
            x.old_rev,
            st.rev as i64,
            status_str(st.status),
            &json,
            now,
            x.row.ended_at,
        )
        .await?;
    if !swapped {
        return Err(FlowError::MigrationConflict { instance: x.row.id }.into());
    }
    tx.flow_instance_set_version(x.row.id, target.id, target.version)
        .await?;
    let node_of = |ni: u32| st.nodes.iter().find(|n| n.id == ni).map(|n| &n.node);
    for t in &st.tasks {
        if let Some(node) = node_of(t.ni) {
            tx.flow_task_set_node(x.row.id, t.id as i32, node).await?;
        }
    }
    // Timers move with their node; those the new version no longer declares go.
    let old_state: InstanceState = serde_json::from_value(x.row.state.clone())
        .map_err(|e| Error::internal(format!("instance state unreadable: {e}")))?;
    for t in &old_state.timers {
        if !st.timers.iter().any(|n| n.id == t.id) {
            tx.flow_timer_delete(x.row.id, t.id as i32).await?;
        }
    }
    for t in &st.timers {
        if let Some(node) = node_of(t.ni) {
            tx.flow_timer_put(x.row.id, t.id as i32, node, t.due)
                .await?;
        }
    }
    tx.flow_events_append(&[FlowEventRow {
        instance_id: x.row.id,
        seq: st.rev as i64 * 1_000,
        at: now,
        actor: Some(p.user.0.to_string()),
        event: "instance.migrated".into(),
        node: None,
        data: json!({"from_version": x.row.version, "to_version": target.version,
                     "mapping": mapping, "positions": st.positions()}),
    }])
    .await?;
    Ok(())
}
