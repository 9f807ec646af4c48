//! Action nodes. Record actions run inside the command's transaction through the single
//! write path (`runtime::records`), so they apply exactly once with the step that caused
//! them. Notify and webhook actions are recorded on the timeline and reported done: their
//! delivery belongs to the automation outbox, which this module will hand them to.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json, json};
use weft_flow::definition::Action;
use weft_meta::{CompiledObject, UserId};
use weft_rules::{EvalContext, ScriptKind};

use super::env::{catalog, scalar_type};
use super::exec::{InstCtx, system_guard};
use crate::Runtime;
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::ports::{FetchOpts, Tx};
use crate::principal::{Principal, Source};

pub(crate) struct ActionOutcome {
    pub event: &'static str,
    pub data: Json,
    /// A non-retryable failure (the engine raises an incident or takes the `error` edge).
    pub error: Option<String>,
}

fn failed(msg: String) -> ActionOutcome {
    ActionOutcome {
        event: "action.failed",
        data: json!({"error": msg}),
        error: Some(msg),
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

impl Runtime {
    pub(crate) async fn run_flow_action(
        &self,
        tx: &mut dyn Tx,
        ctx: &InstCtx,
        action: &Json,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ActionOutcome> {
        let action: Action = match serde_json::from_value(action.clone()) {
            Ok(a) => a,
            Err(e) => return Ok(failed(format!("unreadable action: {e}"))),
        };
        let meta = self.meta(ctx.tenant).await?;
        let mut p = Principal::system(ctx.tenant, UserId(ctx.initiator));
        p.source = Source::Flow;
        let g = system_guard(ctx.initiator);
        match action {
            Action::UpdateRecord { set } => {
                let obj = meta
                    .object(&ctx.object)
                    .cloned()
                    .ok_or_else(|| Error::not_found(format!("object '{}'", ctx.object)))?;
                let current = match self
                    .load_one(
                        tx,
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
                let body = match values_body(&obj, &set, rec.as_object().unwrap_or(&empty), now) {
                    Ok(b) => b,
                    Err(m) => return Ok(failed(m)),
                };
                match self
                    .patch_row(tx, &meta, &p, &g, &obj, current, &body, None, now)
                    .await?
                {
                    Ok(row) => Ok(ActionOutcome {
                        event: "action.record_updated",
                        data: json!({"record": row.id, "version": row.version, "set": body}),
                        error: None,
                    }),
                    Err(ps) => Ok(failed(
                        ps.iter()
                            .map(|p| format!("{} {}: {}", p.path, p.code, p.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                    )),
                }
            }
            Action::CreateRecord { object, values } => {
                let Some(obj) = meta.object(&object).cloned() else {
                    return Ok(failed(format!("object '{object}' does not exist")));
                };
                // Expressions read the instance's record.
                let src = meta.object(&ctx.object).cloned();
                let rec = match &src {
                    Some(so) => self
                        .load_one(tx, so, ctx.record_id, FetchOpts::default(), None)
                        .await
                        .ok()
                        .map(|r| record_json(so, &r, None, &|_| true)),
                    None => None,
                };
                let empty = Map::new();
                let rec_map = rec.as_ref().and_then(Json::as_object).unwrap_or(&empty);
                let body = match src.as_ref().map_or_else(
                    || Err("the instance's object no longer exists".to_string()),
                    |so| values_body_for(so, &obj, &values, rec_map, now),
                ) {
                    Ok(b) => b,
                    Err(m) => return Ok(failed(m)),
                };
                let mut rows = self
                    .prepare_creates(tx, &meta, &p, &g, &obj, &[&body], false, now)
                    .await?;
                match rows.pop() {
                    Some(Ok(row)) => {
                        self.persist_creates(tx, &p, &obj, std::slice::from_ref(&row))
                            .await?;
                        Ok(ActionOutcome {
                            event: "action.record_created",
                            data: json!({"object": object, "record": row.id, "idempotency_key": key}),
                            error: None,
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
            Action::Notify { to, template } => Ok(ActionOutcome {
                event: "action.logged",
                data: json!({"kind": "notify", "to": to, "template": template,
                             "delivered": false, "note": "delivery waits for the automation outbox"}),
                error: None,
            }),
            Action::Webhook { method, url, .. } => Ok(ActionOutcome {
                event: "action.logged",
                data: json!({"kind": "webhook", "method": method, "url": url,
                             "delivered": false, "note": "delivery waits for the automation outbox"}),
                error: None,
            }),
        }
    }
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
