//! Action nodes. Record actions run inside the command's transaction through the single
//! write path (`runtime::records`), so they apply exactly once with the step that caused
//! them. Notify actions write in-app notifications in the same transaction (one per
//! recipient, keyed by the step's idempotency key). Webhook actions become a run of the
//! automation outbox in the same transaction: signed, retried with backoff, logged and
//! resendable like a rule's webhook; withdrawing the instance skips runs not yet claimed.

use super::Workflows;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json, json};
use weft_flow::definition::Action;
use weft_meta::{CompiledObject, UserId};
use weft_rules::{EvalContext, ScriptKind, TemplateKind, compile_template, render};

use crate::automation::doc::ActionDoc;
use crate::automation::ports::{OutboxPayload, OutboxRow, RunInput};

use super::env::{catalog, scalar_type};
use super::exec::{InstCtx, system_guard};
use crate::core::TxCtx;
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::ports::FetchOpts;
use crate::ports::prelude::*;
use crate::principal::{Principal, Source};

pub(crate) struct ActionOutcome {
    pub event: &'static str,
    pub data: Json,
    /// A non-retryable failure (the engine raises an incident or takes the `error` edge).
    pub error: Option<String>,
    /// The instance's record after an `update_record` action, fed back to the engine so
    /// later conditions read it.
    pub record: Option<Json>,
}

fn failed(msg: String) -> ActionOutcome {
    ActionOutcome {
        event: "action.failed",
        data: json!({"error": msg}),
        error: Some(msg),
        record: None,
    }
}

/// Evaluate `field: rhai expression` pairs against a record of the same object.
fn values_body(
    obj: &CompiledObject,
    exprs: &std::collections::BTreeMap<String, String>,
    record: &Map<String, Json>,
    now: DateTime<Utc>,
) -> std::result::Result<Json, String> {
    values_body_for(obj, obj, exprs, record, now)
}

/// Run one action node: record actions inline, notifications in this transaction,
/// webhooks queued in the outbox.
pub(crate) async fn run_flow_action(
    wf: &Workflows,
    tx: &mut TxCtx,
    ctx: &InstCtx,
    action: &Json,
    key: &str,
    recipients: &[String],
    now: DateTime<Utc>,
) -> Result<ActionOutcome> {
    let action: Action = match serde_json::from_value(action.clone()) {
        Ok(a) => a,
        Err(e) => return Ok(failed(format!("unreadable action: {e}"))),
    };
    let meta = tx.meta.clone();
    match action {
        Action::UpdateRecord { set } => update_record_action(wf, tx, ctx, &set, now).await,
        Action::CreateRecord { object, values } => {
            create_record_action(wf, tx, ctx, &object, &values, key, now).await
        }
        Action::Notify { template, .. } => {
            let data = flow_template_data(tx.as_mut(), &meta, ctx).await;
            let text = match render_text(&template, &data) {
                Ok(t) => t,
                Err(m) => return Ok(failed(m)),
            };
            let n = notify_users(tx.as_mut(), ctx, recipients, &text, key, now).await?;
            Ok(ActionOutcome {
                event: "action.notified",
                data: json!({"kind": "notify", "users": recipients, "notified": n}),
                error: None,
                record: None,
            })
        }
        Action::Webhook {
            method,
            url,
            secret,
            body,
            headers,
        } => {
            let data = flow_template_data(tx.as_mut(), &meta, ctx).await;
            let url = match render_text(&url, &data) {
                Ok(u) => u,
                Err(m) => return Ok(failed(m)),
            };
            let unsigned = secret.is_none();
            let doc = ActionDoc::Webhook {
                url: url.clone(),
                secret: secret.unwrap_or_default(),
                unsigned,
                body,
                method: Some(method.to_ascii_uppercase()),
                headers,
            };
            let run = OutboxRow {
                tenant: ctx.tenant.0,
                rule: format!("flow:{}", ctx.flow_key),
                object: ctx.object.clone(),
                record_id: Some(ctx.record_id),
                event: "flow".into(),
                payload: OutboxPayload::Run(Box::new(RunInput {
                    record: data["record"].as_object().cloned(),
                    old: None,
                    actor: ctx.initiator,
                    source: Source::Flow.as_str().into(),
                    rule_version: None,
                    run_as: ctx.initiator,
                    flow_instance: Some(ctx.id),
                    actions: vec![doc],
                    effect_keys: [("0".to_owned(), key.to_owned())].into(),
                    event: None,
                })),
                idempotency_key: flow_run_key(ctx.id, key),
                ..OutboxRow::fresh(now)
            };
            tx.enqueue_runs(std::slice::from_ref(&run)).await?;
            wf.core.job_signal.notify_waiters();
            Ok(ActionOutcome {
                event: "action.queued",
                data: json!({"kind": "webhook", "method": method, "url": url,
                             "run": run.id, "idempotency_key": key, "signed": !unsigned}),
                error: None,
                record: None,
            })
        }
    }
}

/// `update_record`: the instance's record through the write path, in this transaction.
async fn update_record_action(
    wf: &Workflows,
    tx: &mut TxCtx,
    ctx: &InstCtx,
    set: &std::collections::BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<ActionOutcome> {
    let meta = tx.meta.clone();
    let (p, g) = flow_actor(ctx);
    let obj = meta
        .object(&ctx.object)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("object '{}'", ctx.object)))?;
    let current = match crate::records::load_one(
        tx.as_mut(),
        &obj,
        ctx.record_id,
        FetchOpts {
            for_update: true,
            ..Default::default()
        },
        None,
    )
    .await
    {
        Ok(r) => r,
        Err(Error::NotFound { .. }) => {
            return Ok(failed("the record no longer exists".into()));
        }
        Err(e) => return Err(e),
    };
    let rec = record_json(&obj, &current, None, &|_| true);
    let empty = Map::new();
    let body = match values_body(&obj, set, rec.as_object().unwrap_or(&empty), now) {
        Ok(b) => b,
        Err(m) => return Ok(failed(m)),
    };
    match wf
        .records
        .path()
        .patch(tx, &p, &g, &obj, current, &body, None)
        .await?
    {
        Ok(row) => Ok(ActionOutcome {
            event: "action.record_updated",
            data: json!({"record": row.id, "version": row.version, "set": body}),
            error: None,
            record: Some(record_json(&obj, &row, None, &|_| true)),
        }),
        Err(ps) => Ok(failed(
            ps.iter()
                .map(|p| format!("{} {}: {}", p.path, p.code, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

/// `create_record`: a record of any object, its values computed over the instance's
/// record.
async fn create_record_action(
    wf: &Workflows,
    tx: &mut TxCtx,
    ctx: &InstCtx,
    object: &str,
    values: &std::collections::BTreeMap<String, String>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<ActionOutcome> {
    let meta = tx.meta.clone();
    let (p, g) = flow_actor(ctx);
    let Some(obj) = meta.object(object).cloned() else {
        return Ok(failed(format!("object '{object}' does not exist")));
    };
    // Expressions read the instance's record.
    let src = meta.object(&ctx.object).cloned();
    let rec = match &src {
        Some(so) => {
            crate::records::load_one(tx.as_mut(), so, ctx.record_id, FetchOpts::default(), None)
                .await
                .ok()
                .map(|r| record_json(so, &r, None, &|_| true))
        }
        None => None,
    };
    let empty = Map::new();
    let rec_map = rec.as_ref().and_then(Json::as_object).unwrap_or(&empty);
    let body = match src.as_ref().map_or_else(
        || Err("the instance's object no longer exists".to_string()),
        |so| values_body_for(so, &obj, values, rec_map, now),
    ) {
        Ok(b) => b,
        Err(m) => return Ok(failed(m)),
    };
    let path = wf.records.path();
    let mut rows = path
        .prepare_creates(tx, &p, &g, &obj, &[&body], false)
        .await?;
    match rows.pop() {
        Some(Ok(row)) => {
            path.persist_creates(tx, &p, &obj, std::slice::from_ref(&row))
                .await?;
            Ok(ActionOutcome {
                event: "action.record_created",
                data: json!({"object": object, "record": row.id, "idempotency_key": key}),
                error: None,
                record: None,
            })
        }
        Some(Err(ps)) => Ok(failed(
            ps.iter()
                .map(|p| format!("{} {}: {}", p.path, p.code, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        None => Err(Error::internal("no row prepared")),
    }
}

/// Who a workflow's record actions run as: the initiator, through the system guard.
fn flow_actor(ctx: &InstCtx) -> (Principal, crate::access::Guard) {
    let mut p = Principal::system(ctx.tenant, UserId(ctx.initiator));
    p.source = Source::Flow;
    (p, system_guard(ctx.initiator))
}

/// Like [`values_body`], but expressions read `source`'s record and fields are `target`'s.
fn values_body_for(
    source: &CompiledObject,
    target: &CompiledObject,
    exprs: &std::collections::BTreeMap<String, String>,
    record: &Map<String, Json>,
    now: DateTime<Utc>,
) -> std::result::Result<Json, String> {
    let cat = catalog(source);
    let mut body = Map::new();
    for (field, src) in exprs {
        let f = target
            .field(field)
            .ok_or_else(|| format!("unknown field `{field}`"))?;
        let script = weft_rules::compile(
            src,
            ScriptKind::Formula {
                result: scalar_type(&f.kind),
            },
            &cat,
        )
        .map_err(|ps| {
            format!(
                "`{field}`: {}",
                ps.iter()
                    .map(|p| p.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
        let user = Map::new();
        let ctx = EvalContext {
            record,
            old: None,
            user: &user,
            now,
            tz: chrono_tz::Tz::UTC,
        };
        let v = weft_rules::eval_value(&script, &ctx).map_err(|e| format!("`{field}`: {e}"))?;
        body.insert(field.clone(), v);
    }
    Ok(Json::Object(body))
}

/// The outbox key of a workflow's run: prefixed by the instance, so withdrawing it can skip
/// the runs not yet claimed.
pub(crate) fn flow_run_key(instance: uuid::Uuid, key: &str) -> String {
    format!("flow:{instance}:{key}")
}

/// Render a workflow's text template (strict handlebars, linted like rule templates).
pub(crate) fn render_text(src: &str, data: &Json) -> std::result::Result<String, String> {
    let t = compile_template(src, TemplateKind::Text).map_err(|ps| {
        ps.iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    render(&t, data).map_err(|e| e.to_string())
}

/// `{record, flow: {key, instance}}` for a workflow's templates.
pub(crate) async fn flow_template_data(
    tx: &mut dyn Tx,
    meta: &crate::core::cache::TenantMeta,
    ctx: &InstCtx,
) -> Json {
    let rec = match meta.object(&ctx.object) {
        Some(obj) => crate::records::load_one(tx, obj, ctx.record_id, FetchOpts::default(), None)
            .await
            .ok()
            .map(|r| record_json(obj, &r, None, &|_| true)),
        None => None,
    };
    json!({
        "record": rec.unwrap_or_else(|| json!({})),
        "flow": {"key": ctx.flow_key, "instance": ctx.id},
    })
}

/// In-app notifications to `users` (ids as strings; unknown ones skipped), in the
/// caller's transaction. The title is the first line of `text`. Returns how many were new.
pub(crate) async fn notify_users(
    tx: &mut dyn Tx,
    ctx: &InstCtx,
    users: &[String],
    text: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let ids: Vec<uuid::Uuid> = users
        .iter()
        .filter_map(|u| uuid::Uuid::parse_str(u).ok())
        .collect();
    let title: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let rule = format!("flow:{}", ctx.flow_key);
    let notice = crate::automation::Notice {
        title: &title,
        body: text,
        object: &ctx.object,
        record_id: Some(ctx.record_id),
        rule: &rule,
        key,
    };
    crate::automation::notify(tx, &ids, &notice, now).await
}
