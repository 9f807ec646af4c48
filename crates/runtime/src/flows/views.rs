//! Read side: the inboxes (待我审批 / 我发起的 / 抄送我的), one instance with its graph,
//! position, tasks and timeline, and the admin list of running and incident instances.

use super::{FlowError, Workflows};
use serde_json::Value as Json;
use uuid::Uuid;
use weft_flow::InstanceState;

use super::ports::{FlowInstanceRow, FlowTaskRow, InstanceFilter};
use super::require_admin;
use super::view_types::{
    CcEntry, CcView, GraphNode, Inbox, InboxItem, InstanceDetail, InstanceGraph, InstanceList,
    InstanceView, StartableFlow, StartableFlows, TaskView, TimelineEntry,
};
use crate::error::{Error, Result};
use crate::ports::TxMode;
use crate::principal::Principal;

const MAX_LIST: u32 = 200;

fn task_view(t: &FlowTaskRow) -> TaskView {
    TaskView {
        id: t.id,
        instance: t.instance_id,
        task: t.task,
        node: t.node.clone(),
        assignee: t.assignee.clone(),
        acting_for: t.acting_for.clone(),
        kind: t.kind.clone(),
        status: t.status.clone(),
        reason: t.reason.clone(),
        flow: t.flow_key.clone(),
        object: t.object.clone(),
        record_id: t.record_id,
        created_at: t.created_at,
        closed_at: t.closed_at,
        flow_name: None,
    }
}

fn instance_view(i: &FlowInstanceRow) -> InstanceView {
    let positions: Vec<String> = serde_json::from_value::<InstanceState>(i.state.clone())
        .map(|s| s.positions().into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    InstanceView {
        id: i.id,
        flow: i.flow_key.clone(),
        version: i.version,
        object: i.object.clone(),
        record_id: i.record_id,
        initiator: i.initiator,
        status: i.status.clone(),
        rev: i.rev,
        positions,
        created_at: i.created_at,
        updated_at: i.updated_at,
        ended_at: i.ended_at,
        flow_name: None,
        can_open: None,
    }
}

fn flow_name(doc: &Json) -> Json {
    doc.get("name").cloned().unwrap_or(Json::Null)
}

/// The published flows a user may start on records of `object` (read access needed):
/// `{flows: [{key, name, version}]}` — what the record page offers as 提交审批.
pub(super) async fn startable(
    wf: &Workflows,
    p: &Principal,
    object: &str,
) -> Result<StartableFlows> {
    if wf.core.meta(p.tenant).await?.object(object).is_none() {
        return Err(Error::not_found(format!("object '{object}'")));
    }
    let g = wf.access.guard(p, object).await?;
    g.require(crate::access::model::Op::Read, object)?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let rows = tx.flow_defs().await?;
    tx.commit().await?;
    let flows = rows
        .iter()
        .filter(|r| r.object == object)
        .filter(|r| r.latest_version > 0)
        .map(|r| StartableFlow {
            key: r.key.clone(),
            name: flow_name(&r.doc),
            version: r.latest_version,
        })
        .collect();
    Ok(StartableFlows { flows })
}

/// `box`: `todo` (open tasks of the caller), `done` (tasks the caller decided),
/// `started` (instances the caller started), `cc` (instances copied to the caller).
pub(super) async fn inbox(
    wf: &Workflows,
    p: &Principal,
    which: &str,
    limit: Option<u32>,
) -> Result<Inbox> {
    let limit = limit.unwrap_or(50).clamp(1, MAX_LIST);
    let me = p.user.0.to_string();
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let items: Vec<InboxItem> = match which {
        "todo" => tx
            .flow_tasks_for(&me, "open", limit)
            .await?
            .iter()
            .map(|t| InboxItem::Task(task_view(t)))
            .collect(),
        "done" => {
            let mut v = tx.flow_tasks_for(&me, "approved", limit).await?;
            v.extend(tx.flow_tasks_for(&me, "rejected", limit).await?);
            v.sort_by_key(|t| std::cmp::Reverse(t.closed_at));
            v.truncate(limit as usize);
            v.iter().map(|t| InboxItem::Task(task_view(t))).collect()
        }
        "started" => tx
            .flow_instances(InstanceFilter::StartedBy(p.user.0), limit)
            .await?
            .iter()
            .map(|i| InboxItem::Instance(instance_view(i)))
            .collect(),
        "cc" => tx
            .flow_cc_for(&me, limit)
            .await?
            .iter()
            .map(|c| {
                InboxItem::Cc(CcView {
                    instance: c.instance_id,
                    node: c.node.clone(),
                    flow: c.flow_key.clone(),
                    object: c.object.clone(),
                    record_id: c.record_id,
                    created_at: c.created_at,
                    flow_name: None,
                })
            })
            .collect(),
        _ => {
            return Err(FlowError::UnknownInbox.into());
        }
    };
    // The flows' display names, for the inbox.
    let names: std::collections::HashMap<String, Json> = tx
        .flow_defs()
        .await?
        .into_iter()
        .map(|d| {
            let name = flow_name(&d.doc);
            (d.key, name)
        })
        .collect();
    tx.commit().await?;
    let name_of = |k: &str| Some(names.get(k).cloned().unwrap_or(Json::Null));
    let items = items
        .into_iter()
        .map(|mut it| {
            match &mut it {
                InboxItem::Task(t) => t.flow_name = name_of(&t.flow),
                InboxItem::Instance(i) => i.flow_name = name_of(&i.flow),
                InboxItem::Cc(c) => c.flow_name = name_of(&c.flow),
            }
            it
        })
        .collect();
    Ok(Inbox {
        which: which.to_owned(),
        items,
    })
}

/// One instance: status, graph with the current position, tasks, CC and the timeline.
pub(super) async fn instance_detail(
    wf: &Workflows,
    p: &Principal,
    id: Uuid,
) -> Result<InstanceDetail> {
    let row = super::exec::visible_instance(wf, p, id).await?;
    let state: InstanceState = serde_json::from_value(row.state.clone())
        .map_err(|e| Error::internal(format!("instance state unreadable: {e}")))?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let version = tx
        .flow_version(row.version_id)
        .await?
        .ok_or_else(|| Error::internal("flow version missing"))?;
    let tasks = tx.flow_tasks_of(id).await?;
    let cc = tx.flow_cc_of(id).await?;
    let events = tx.flow_events(id).await?;
    tx.commit().await?;
    let doc = &version.doc;
    let positions = state.positions();
    let active: Vec<&str> = state.nodes.iter().map(|n| n.node.as_str()).collect();
    let nodes: Vec<GraphNode> = doc["nodes"]
        .as_array()
        .map(|ns| {
            ns.iter()
                .map(|n| {
                    let nid = n["id"].as_str().unwrap_or_default();
                    let get = |k: &str| n.get(k).cloned();
                    // `ops`: what the node's tasks offer (退回 targets, 加签
                    // positions, 转交, 委托), so a client offers only those; an end's
                    // outcome, a gateway's default edge, and who approves how, so a
                    // node not reached yet can say who will act.
                    GraphNode {
                        id: nid.to_owned(),
                        kind: n["kind"].clone(),
                        name: get("name"),
                        ops: get("ops"),
                        outcome: get("outcome"),
                        default: get("default"),
                        assignees: get("assignees"),
                        mode: get("mode"),
                        active: positions.contains(&nid) || active.contains(&nid),
                        visited: state.visited.iter().any(|v| v == nid),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(InstanceDetail {
        id: row.id,
        flow: row.flow_key.clone(),
        version: row.version,
        hash: version.hash.clone(),
        object: row.object.clone(),
        record_id: row.record_id,
        initiator: row.initiator,
        status: row.status.clone(),
        outcome: serde_json::to_value(state.outcome).map_err(Error::internal)?,
        rev: row.rev,
        created_at: row.created_at,
        ended_at: row.ended_at,
        positions: positions.iter().map(|s| (*s).to_owned()).collect(),
        graph: InstanceGraph {
            nodes,
            edges: doc["edges"].clone(),
            layout: doc.get("layout").cloned(),
        },
        incidents: serde_json::to_value(&state.incidents).map_err(Error::internal)?,
        timers: serde_json::to_value(&state.timers).map_err(Error::internal)?,
        tasks: tasks.iter().map(task_view).collect(),
        cc: cc
            .iter()
            .map(|c| CcEntry {
                user: c.user_id.clone(),
                node: c.node.clone(),
                at: c.created_at,
            })
            .collect(),
        history: events
            .iter()
            .map(|e| TimelineEntry {
                seq: e.seq,
                at: e.at,
                actor: e.actor.clone(),
                event: e.event.clone(),
                node: e.node.clone(),
                data: e.data.clone(),
            })
            .collect(),
    })
}

/// The approvals of one record, newest first, for anyone who may read the record: each
/// instance's flow, status, position and dates. `can_open` says whether the caller may
/// open its details (timeline, comments, tasks): admins and participants only, as for
/// `GET /flows/instances/{id}`.
pub(super) async fn record_instances(
    wf: &Workflows,
    p: &Principal,
    object: &str,
    record: Uuid,
) -> Result<InstanceList> {
    require_record_readable(wf, p, object, record).await?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let rows = tx
        .flow_instances(InstanceFilter::Record(record), MAX_LIST)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.iter().filter(|r| r.object == object) {
        let open = super::exec::can_open(tx.as_mut(), p, r).await?;
        out.push(InstanceView {
            can_open: Some(open),
            ..instance_view(r)
        });
    }
    tx.commit().await?;
    Ok(InstanceList { instances: out })
}

/// Not-found unless `p` may read the record (object permission and record scope).
pub(crate) async fn require_record_readable(
    wf: &Workflows,
    p: &Principal,
    object: &str,
    record: Uuid,
) -> Result<()> {
    let meta = wf.core.meta(p.tenant).await?;
    let obj = meta
        .object(object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
    let g = wf.access.guard(p, object).await?;
    g.require(crate::access::model::Op::Read, object)?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    crate::records::load_one(
        tx.as_mut(),
        &obj,
        record,
        crate::ports::FetchOpts::default(),
        g.scope(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Admin view: instances by status (default: running and incident).
pub(super) async fn instances_list(
    wf: &Workflows,
    p: &Principal,
    status: Option<&str>,
) -> Result<InstanceList> {
    require_admin(p)?;
    let s: Option<&'static str> = match status {
        None => None,
        Some("running") => Some("running"),
        Some("incident") => Some("incident"),
        Some("approved") => Some("approved"),
        Some("rejected") => Some("rejected"),
        Some("withdrawn") => Some("withdrawn"),
        Some("terminated") => Some("terminated"),
        Some(_) => {
            return Err(FlowError::UnknownStatus.into());
        }
    };
    let mut tx = wf.core.begin(p.tenant, TxMode::Read).await?;
    let rows = tx
        .flow_instances(InstanceFilter::Status(s), MAX_LIST)
        .await?;
    tx.commit().await?;
    Ok(InstanceList {
        instances: rows.iter().map(instance_view).collect(),
    })
}
