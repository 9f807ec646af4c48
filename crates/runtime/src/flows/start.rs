//! Starting an instance of a published flow on a record.

use super::{FlowError, Workflows};
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_flow::{Command, InstanceState};

use super::commands::MAX_TEXT;
use super::env::OrgEnv;
use super::exec::{InstCtx, status_str};
use super::ports::FlowInstanceRow;
use super::view_types::StartedInstance;
use crate::access::model::Op;
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::metadata::parse_doc;
use crate::ports::{FetchOpts, TxMode};
use crate::principal::Principal;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    flow: String,
    record: Uuid,
    #[serde(default)]
    chosen: BTreeMap<String, Vec<Uuid>>,
    #[serde(default)]
    vars: serde_json::Map<String, Json>,
}

/// Start an instance of the latest published version of a flow on a record.
pub(super) async fn instance_start(
    wf: &Workflows,
    p: &Principal,
    body: &Json,
) -> Result<StartedInstance> {
    if p.view_as {
        return Err(FlowError::ReadOnlyView.into());
    }
    let b: StartBody = parse_doc(body)?;
    for (i, (k, v)) in b.vars.iter().enumerate() {
        if k.len() > 64 || v.to_string().len() > MAX_TEXT {
            return Err(Error::one(
                format!("/vars/{i}"),
                "max_length",
                "vars are small scalars",
            ));
        }
    }
    let meta = wf.core.meta(p.tenant).await?;
    let now = wf.core.clock.now();
    let org = wf.core.org(p.tenant).await?;
    let calendars = wf.calendars.for_tenant(p.tenant).await?;
    let mut tx = wf.core.begin(p.tenant, TxMode::Write).await?;
    let def = tx
        .flow_def(&b.flow)
        .await?
        .ok_or_else(|| Error::not_found(format!("flow '{}'", b.flow)))?;
    let version = tx
        .flow_versions(&b.flow)
        .await?
        .into_iter()
        .max_by_key(|v| v.version)
        .ok_or_else(|| FlowError::NotPublished {
            key: b.flow.clone(),
        })?;
    let obj = meta
        .object(&def.object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{}'", def.object)))?;
    let g = wf.access.guard(p, &def.object).await?;
    g.require(Op::Read, &def.object)?;
    let row =
        crate::records::load_one(tx.as_mut(), &obj, b.record, FetchOpts::default(), g.scope())
            .await?;
    if tx
        .flow_active_on_record(b.record)
        .await?
        .iter()
        .any(|i| i.flow_key == b.flow)
    {
        return Err(FlowError::AlreadyRunning { key: b.flow }.into());
    }
    let chosen_ids: Vec<Uuid> = b.chosen.values().flatten().copied().collect();
    let known = tx.existing_users(&chosen_ids).await?;
    if let Some(bad) = chosen_ids.iter().find(|u| !known.contains(u)) {
        return Err(Error::one(
            "/chosen",
            "unknown_user",
            format!("{bad} is not a user"),
        ));
    }
    let record = record_json(&obj, &row, None, &|_| true);
    let flow = super::compiled_flow(wf, &mut tx, version.id).await?;
    let id = Uuid::now_v7();
    let user = org.users.get(&p.user.0);
    let attrs = json!({"id": p.user.0.to_string(),
        "name": user.map(|u| u.name.clone()).unwrap_or_default(),
        "department": org.primary_department(p.user.0).map(|d| d.to_string())});
    let cmd = Command::Start {
        initiator: p.user.0.to_string(),
        initiator_attrs: attrs,
        record,
        chosen: b
            .chosen
            .into_iter()
            .map(|(k, v)| (k, v.iter().map(Uuid::to_string).collect()))
            .collect(),
        vars: b.vars,
    };
    let env = OrgEnv { org, calendars };
    let fresh = InstanceState::new(id.to_string());
    let t = super::exec::apply_in(&tx.budget, &flow, &fresh, cmd, now, &env)?;
    let inst = FlowInstanceRow {
        id,
        version_id: version.id,
        flow_key: b.flow.clone(),
        version: version.version,
        object: def.object.clone(),
        record_id: b.record,
        initiator: p.user.0,
        status: status_str(t.state.status).into(),
        rev: t.state.rev as i64,
        state: serde_json::to_value(&t.state).map_err(Error::internal)?,
        created_at: now,
        updated_at: now,
        ended_at: t.state.status.is_final().then_some(now),
    };
    tx.flow_instance_insert(&inst).await?;
    let ctx = InstCtx::of(p.tenant, &inst);
    let state = super::exec::drive(
        wf,
        &mut tx,
        &ctx,
        &flow,
        &env,
        t.state,
        t.effects,
        Some(p.user.0.to_string()),
        now,
    )
    .await?;
    if state.rev as i64 != inst.rev {
        super::exec::store_state(tx.as_mut(), &ctx, inst.rev, &state, now).await?;
    }
    tx.commit().await?;
    Ok(StartedInstance {
        id,
        flow: b.flow,
        version: version.version,
        status: status_str(state.status).into(),
        rev: state.rev,
        positions: state.positions().into_iter().map(str::to_owned).collect(),
    })
}
