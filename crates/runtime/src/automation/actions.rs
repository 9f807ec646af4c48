//! The actions of a run, one method per kind. Each returns its result (kept in the run's
//! progress) or the error that fails the attempt.

use super::Automation;

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;
use weft_rules::{Sandbox, render};

use super::doc::{ActionDoc, AssignStrategy, CompiledAction};
use super::ports::{DeliveryRow, EmailMessage, Outbound, WebhookRequest};
use super::worker::{RunCtx, sign_webhook};
use crate::core::Core;
use crate::ports::TxMode;
use crate::records::{Idempotency, Records};

/// Runs the actions of a run: one method per action kind, with the services they need.
pub(super) struct ActionRunner {
    core: Arc<Core>,
    records: Records,
}

impl Automation {
    /// The runner for this service's actions.
    pub(super) fn action_runner(&self) -> ActionRunner {
        ActionRunner {
            core: self.core.clone(),
            records: self.records.clone(),
        }
    }
}

impl ActionRunner {
    /// The next of `users` in turn (a counter per rule, action and route).
    async fn round_robin(
        &self,
        cx: &RunCtx<'_>,
        key: &str,
        users: &[Uuid],
    ) -> std::result::Result<Uuid, String> {
        let mut tx = self
            .core
            .store()
            .begin(cx.p.tenant, TxMode::Write)
            .await
            .map_err(e2s)?;
        let n = tx.next_counter(key, 0).await.map_err(e2s)?;
        tx.commit().await.map_err(e2s)?;
        let len = users.len().max(1) as i64;
        users
            .get(n.rem_euclid(len) as usize)
            .copied()
            .ok_or_else(|| "no users to assign".to_string())
    }

    /// The one of `users` owning the fewest records that match `open_filter`.
    async fn least_open(
        &self,
        cx: &RunCtx<'_>,
        users: &[Uuid],
        open_filter: Option<&Json>,
    ) -> std::result::Result<Uuid, String> {
        use weft_meta::query::{CmpOp, Col, ColKind, Pred, parse_query};
        let filter = match open_filter {
            Some(f) => {
                parse_query(cx.obj, &json!({"filter": f}), &|_| false)
                    .map_err(|ps| format!("open_filter: {}", ps.len()))?
                    .filter
            }
            None => None,
        };
        let mut tx = self
            .core
            .store()
            .begin(cx.p.tenant, TxMode::Read)
            .await
            .map_err(e2s)?;
        let mut best: Option<(i64, Uuid)> = None;
        for u in users {
            let owner = Pred::Cmp {
                col: Col {
                    name: "owner".into(),
                    kind: ColKind::Uuid,
                },
                op: CmpOp::Eq,
                value: weft_meta::Value::Uuid(*u),
            };
            let n = tx
                .count_records(cx.obj, filter.as_ref(), Some(&owner), Default::default())
                .await
                .map_err(e2s)?;
            if best.is_none_or(|(b, _)| n < b) {
                best = Some((n, *u));
            }
        }
        tx.commit().await.map_err(e2s)?;
        best.map(|(_, u)| u)
            .ok_or_else(|| "no users to assign".to_string())
    }

    fn effect_key(cx: &RunCtx<'_>, i: usize) -> String {
        cx.run
            .payload
            .run()
            .and_then(|r| r.effect_key(i))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}:{i}", cx.run.idempotency_key))
    }

    fn template_data(cx: &RunCtx<'_>) -> Json {
        json!({
            "record": cx.input.record,
            "old": cx.input.old,
            "rule": {"name": cx.run.rule, "event": cx.run.event},
        })
    }

    /// The JSON body of an update/create from an action's `values`.
    fn action_body(
        cx: &RunCtx<'_>,
        ca: &CompiledAction,
        values: &Map<String, Json>,
    ) -> std::result::Result<Json, String> {
        let mut m = Map::new();
        for (k, v) in values {
            if let Some((_, s)) = ca.exprs.iter().find(|(f, _)| f == k) {
                let mut j = Sandbox::shared()
                    .eval_value_in(s, &cx.input.ctx(), &cx.budget)
                    .map_err(|e| format!("value of '{k}': {e}"))?;
                if let Some(o) = j.as_object_mut()
                    && o.get("currency").is_some_and(Json::is_null)
                {
                    o.remove("currency");
                }
                m.insert(k.clone(), j);
                continue;
            }
            let j = match v.as_object() {
                Some(o) if o.contains_key("from") => {
                    let f = o.get("from").and_then(Json::as_str).unwrap_or_default();
                    cx.input.record.get(f).cloned().unwrap_or(Json::Null)
                }
                Some(o) if o.contains_key("ref") => {
                    let n = o.get("ref").and_then(Json::as_u64).unwrap_or(u64::MAX);
                    cx.results
                        .get(&n.to_string())
                        .and_then(|r| r.get("created"))
                        .cloned()
                        .ok_or_else(|| format!("action {n} created no record"))?
                }
                _ => v.clone(),
            };
            m.insert(k.clone(), j);
        }
        Ok(Json::Object(m))
    }

    pub(super) async fn run_action(
        &self,
        out: &dyn Outbound,
        cx: &mut RunCtx<'_>,
        i: usize,
        ca: &CompiledAction,
    ) -> std::result::Result<Json, String> {
        let key = Self::effect_key(cx, i);
        match &ca.doc {
            ActionDoc::UpdateRecord { .. }
            | ActionDoc::UpdateRelated { .. }
            | ActionDoc::CreateRecord { .. } => self.record_action(cx, ca, &key).await,
            ActionDoc::AssignOwner { .. } => self.assign_owner(cx, i, ca).await,
            ActionDoc::Notify { .. } => self.notify_action(cx, ca, &key).await,
            ActionDoc::Webhook { .. } => self.webhook_action(out, cx, i, ca, &key).await,
            ActionDoc::Email { .. } => Self::email_action(out, cx, ca, &key).await,
        }
    }

    /// `update_record`, `update_related`, `create_record`: through the single write path.
    async fn record_action(
        &self,
        cx: &RunCtx<'_>,
        ca: &CompiledAction,
        key: &str,
    ) -> std::result::Result<Json, String> {
        let record_id = cx.run.record_id;
        match &ca.doc {
            ActionDoc::UpdateRecord { values } => {
                let id = record_id.ok_or("the run has no record")?;
                let body = Self::action_body(cx, ca, values)?;
                self.records
                    .update(&cx.p, &cx.run.object, id, &body, None)
                    .await
                    .map_err(e2s)?;
                Ok(json!({"updated": id}))
            }
            ActionDoc::UpdateRelated { via, values } => {
                let target = cx
                    .obj
                    .field(via)
                    .and_then(|f| f.kind.reference_target())
                    .map(|t| t.as_str().to_owned())
                    .ok_or("the lookup field no longer exists")?;
                let Some(id) = cx
                    .input
                    .record
                    .get(via)
                    .and_then(Json::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
                else {
                    return Ok(json!({"skipped": "no related record"}));
                };
                let body = Self::action_body(cx, ca, values)?;
                self.records
                    .update(&cx.p, &target, id, &body, None)
                    .await
                    .map_err(e2s)?;
                Ok(json!({"updated": id, "object": target}))
            }
            ActionDoc::CreateRecord { object, values } => {
                let body = Self::action_body(cx, ca, values)?;
                let idem = Idempotency {
                    key: key.to_owned(),
                    fingerprint: key.to_owned(),
                };
                let created = self
                    .records
                    .create(&cx.p, object, &body, Some(&idem))
                    .await
                    .map_err(e2s)?;
                Ok(json!({"created": created.record["id"], "object": object}))
            }
            _ => Err("not a record action".into()),
        }
    }

    /// `assign_owner`: a user, round robin, least open records, or routes by field.
    async fn assign_owner(
        &self,
        cx: &RunCtx<'_>,
        i: usize,
        ca: &CompiledAction,
    ) -> std::result::Result<Json, String> {
        let ActionDoc::AssignOwner {
            strategy,
            user,
            users,
            open_filter,
            routes,
        } = &ca.doc
        else {
            return Err("not this action".into());
        };
        let record_id = cx.run.record_id;
        let id = record_id.ok_or("the run has no record")?;
        let owner = match strategy {
            AssignStrategy::User => user.ok_or("no user")?,
            AssignStrategy::RoundRobin => {
                self.round_robin(cx, &format!("rule:{}:rr:{i}", cx.run.rule), users)
                    .await?
            }
            AssignStrategy::LeastOpen => self.least_open(cx, users, open_filter.as_ref()).await?,
            AssignStrategy::ByField => {
                let hit = routes.iter().position(|r| {
                    r.when.iter().all(|(f, want)| {
                        let mut parts = f.split('.');
                        let top = parts.next().unwrap_or(f);
                        let have = parts
                            .try_fold(cx.input.record.get(top), |v, k| {
                                Some(v.and_then(|v| v.get(k)))
                            })
                            .flatten()
                            .unwrap_or(&Json::Null);
                        match want {
                            Json::Array(opts) => opts.contains(have),
                            v => v == have,
                        }
                    })
                });
                match hit {
                    Some(ri) => {
                        let key = format!("rule:{}:rr:{i}:{ri}", cx.run.rule);
                        self.round_robin(cx, &key, &routes[ri].users).await?
                    }
                    None if !users.is_empty() => {
                        let key = format!("rule:{}:rr:{i}", cx.run.rule);
                        self.round_robin(cx, &key, users).await?
                    }
                    None => return Ok(json!({"skipped": "no route matched"})),
                }
            }
        };
        self.records
            .transfer(&cx.p, &cx.run.object, id, &json!({"owner": owner}))
            .await
            .map_err(e2s)?;
        Ok(json!({"owner": owner}))
    }

    /// `notify`: in-app notifications to users, role holders and the record's owner.
    async fn notify_action(
        &self,
        cx: &RunCtx<'_>,
        ca: &CompiledAction,
        key: &str,
    ) -> std::result::Result<Json, String> {
        let ActionDoc::Notify {
            users,
            roles,
            owner,
            ..
        } = &ca.doc
        else {
            return Err("not this action".into());
        };
        let record_id = cx.run.record_id;
        let data = Self::template_data(cx);
        let (Some(tt), Some(bt)) = (ca.templates.first(), ca.templates.get(1)) else {
            return Err("templates missing".into());
        };
        let title = render(tt, &data).map_err(|e| e.to_string())?;
        let body = render(bt, &data).map_err(|e| e.to_string())?;
        let mut to: Vec<Uuid> = users.clone();
        if *owner
            && let Some(o) = cx
                .input
                .record
                .get("owner")
                .and_then(Json::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
            && !to.contains(&o)
        {
            to.push(o);
        }
        if !roles.is_empty() {
            let org = self.core.org(cx.p.tenant).await.map_err(e2s)?;
            let wanted: Vec<Uuid> = org
                .roles
                .values()
                .filter(|r| roles.contains(&r.key))
                .map(|r| r.id)
                .collect();
            let mut holders: Vec<Uuid> = org
                .user_roles
                .iter()
                .filter(|(u, rs)| {
                    rs.iter().any(|r| wanted.contains(r))
                        && org.users.get(*u).is_some_and(|u| u.status == "active")
                })
                .map(|(u, _)| *u)
                .collect();
            holders.sort();
            for u in holders {
                if !to.contains(&u) {
                    to.push(u);
                }
            }
        }
        let now = self.core.clock.now();
        let mut tx = self
            .core
            .store()
            .begin(cx.p.tenant, TxMode::Write)
            .await
            .map_err(e2s)?;
        let notice = super::Notice {
            title: &title,
            body: &body,
            object: &cx.run.object,
            record_id,
            rule: &cx.run.rule,
            key,
        };
        let sent = super::notify(tx.as_mut(), &to, &notice, now)
            .await
            .map_err(e2s)?;
        tx.commit().await.map_err(e2s)?;
        Ok(json!({"notified": sent}))
    }

    /// `webhook`: a signed request, logged as a delivery.
    async fn webhook_action(
        &self,
        out: &dyn Outbound,
        cx: &RunCtx<'_>,
        i: usize,
        ca: &CompiledAction,
        key: &str,
    ) -> std::result::Result<Json, String> {
        let ActionDoc::Webhook {
            url,
            secret,
            unsigned,
            method,
            headers,
            ..
        } = &ca.doc
        else {
            return Err("not this action".into());
        };
        let data = Self::template_data(cx);
        // A resend carries the original event, so the body is the same.
        let event = cx
            .run
            .payload
            .run()
            .and_then(|r| r.event.as_deref())
            .unwrap_or(&cx.run.event)
            .to_owned();
        let body = match ca.templates.first() {
            Some(t) => render(t, &data).map_err(|e| e.to_string())?,
            None => json!({
                "id": key,
                "event": event,
                "rule": cx.run.rule,
                "object": cx.run.object,
                "record": cx.input.record,
                "old": cx.input.old,
            })
            .to_string(),
        };
        let ts = Utc::now().timestamp();
        let mut hs: Vec<(String, String)> = vec![
            ("content-type".into(), "application/json".into()),
            ("x-weft-timestamp".into(), ts.to_string()),
            ("idempotency-key".into(), key.to_owned()),
            ("x-weft-event".into(), format!("{}.{event}", cx.run.object)),
        ];
        if !(*unsigned && secret.is_empty()) {
            hs.push(("x-weft-signature".into(), sign_webhook(secret, ts, &body)));
        }
        hs.extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        let req = WebhookRequest {
            method: method.clone().unwrap_or_else(|| "POST".into()),
            url: url.clone(),
            body: body.clone(),
            headers: hs,
        };
        let res = out.post_webhook(&req).await;
        let (ok, status, excerpt, error) = match &res {
            Ok(r) if (200..300).contains(&r.status) => (
                true,
                Some(i32::from(r.status)),
                Some(r.excerpt.clone()),
                None,
            ),
            Ok(r) => (
                false,
                Some(i32::from(r.status)),
                Some(r.excerpt.clone()),
                Some(format!("the receiver answered HTTP {}", r.status)),
            ),
            Err(e) => (false, None, None, Some(e.clone())),
        };
        let mut tx = self
            .core
            .store()
            .begin(cx.p.tenant, TxMode::Write)
            .await
            .map_err(e2s)?;
        tx.insert_delivery(&DeliveryRow {
            id: Uuid::now_v7(),
            job_id: cx.run.id,
            action_index: i as i32,
            url: url.clone(),
            idempotency_key: key.to_owned(),
            attempt: cx.run.attempts,
            status_code: status,
            ok,
            error: error.clone(),
            request_body: body,
            response_excerpt: excerpt,
            at: self.core.clock.now(),
        })
        .await
        .map_err(e2s)?;
        tx.commit().await.map_err(e2s)?;
        match error {
            None => Ok(json!({"delivered": status})),
            Some(e) => Err(e),
        }
    }

    /// `email`: over SMTP, with a `Message-ID` derived from the effect key.
    async fn email_action(
        out: &dyn Outbound,
        cx: &RunCtx<'_>,
        ca: &CompiledAction,
        key: &str,
    ) -> std::result::Result<Json, String> {
        let ActionDoc::Email { to, .. } = &ca.doc else {
            return Err("not this action".into());
        };
        let data = Self::template_data(cx);
        let (Some(st), Some(bt)) = (ca.templates.first(), ca.templates.get(1)) else {
            return Err("templates missing".into());
        };
        let subject = render(st, &data).map_err(|e| e.to_string())?;
        let html = render(bt, &data).map_err(|e| e.to_string())?;
        let safe: String = key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
            .collect();
        out.send_email(&EmailMessage {
            to: to.clone(),
            subject,
            html,
            message_id: format!("<{safe}@weft>"),
        })
        .await?;
        Ok(json!({"emailed": to.len()}))
    }
}

/// An action's failure as the text its run records.
fn e2s(e: impl std::fmt::Display) -> String {
    e.to_string()
}
