//! The outbox worker: claims due runs with a lease, runs their actions in order, records
//! each finished action in the run's progress (so a retry or another worker resumes after
//! it), and retries failures with exponential backoff. Every effect carries the stable key
//! `<run key>:<action index>`: record creations use it as their `Idempotency-Key`,
//! notifications are unique on it, webhooks send it as `Idempotency-Key`, e-mails derive
//! their `Message-ID` from it.

use super::Automation;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value as Json, json};
use sha2::Sha256;
use uuid::Uuid;
use weft_meta::{CompiledObject, TenantId, UserId};
use weft_rules::{Sandbox, render};

use super::doc::{ActionDoc, AssignStrategy, CompiledAction, compile_actions};
use super::engine::Input;
use super::ports::{DeliveryRow, EmailMessage, Outbound, OutboxRow, WebhookRequest};
use crate::error::{Error, Result};
use crate::ports::TxMode;
use crate::principal::{Principal, Source};
use crate::records::Idempotency;

const CLAIM: u32 = 8;

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, sent as `X-Weft-Signature` with
/// the timestamp in `X-Weft-Timestamp` (receivers reject old timestamps to stop replays).
pub fn sign_webhook(secret: &str, timestamp: i64, body: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(format!("{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            format!("v1={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 5i64
        .saturating_mul(1i64 << attempts.clamp(0, 10))
        .min(3_600);
    chrono::Duration::seconds(secs)
}

struct RunCtx<'a> {
    run: &'a OutboxRow,
    obj: &'a CompiledObject,
    p: Principal,
    input: Input,
    results: Map<String, Json>,
}

impl Automation {
    /// Claim due runs once and execute them; returns how many were claimed.
    pub async fn run_automation_once(&self, out: &dyn Outbound, worker: &str) -> Result<usize> {
        let now = self.core.clock.now();
        let runs = self
            .core
            .store()
            .claim_runs(worker, CLAIM, self.core.lease_secs(), now)
            .await?;
        let n = runs.len();
        for run in runs {
            let id = run.id;
            if let Err(e) = self.execute_run(out, run).await {
                tracing::warn!(run.id = %id, error = %e, "automation run failed to save");
            }
        }
        Ok(n)
    }

    /// Run the outbox until `stop` turns true, polling every `every` or when a write queues
    /// work in this process.
    pub async fn automation_loop(
        &self,
        worker: String,
        out: Arc<dyn Outbound>,
        every: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        // Schedule and date ticks are looked for at most this often (they are minute-grained).
        let sched_every = Duration::from_secs(20);
        let mut last_sched: Option<std::time::Instant> = None;
        loop {
            if last_sched.is_none_or(|t| t.elapsed() >= sched_every) {
                last_sched = Some(std::time::Instant::now());
                if let Err(e) = self.run_schedules_once().await {
                    tracing::warn!(error = %e, "scheduler pass failed");
                }
            }
            match self.run_automation_once(out.as_ref(), &worker).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox poll failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.core.job_signal.notified() => {}
                _ = stop.changed() => { if *stop.borrow() { return; } }
            }
        }
    }

    pub(crate) async fn save_run(&self, run: &OutboxRow) -> Result<()> {
        let mut tx = self
            .core
            .store()
            .begin(TenantId(run.tenant), TxMode::Write)
            .await?;
        tx.update_run(run).await?;
        tx.commit().await
    }

    async fn finish(&self, mut run: OutboxRow, error: Option<String>) -> Result<()> {
        let now = self.core.clock.now();
        run.lease_until = None;
        run.lease_owner = None;
        run.updated_at = now;
        match error {
            None => {
                run.status = "done".into();
                run.error = None;
            }
            Some(e) if run.attempts >= run.max_attempts => {
                tracing::warn!(run.id = %run.id, rule = %run.rule, error = %e, "automation run failed for good");
                run.status = "failed".into();
                run.error = Some(e);
            }
            Some(e) => {
                run.status = "queued".into();
                run.run_at = now + backoff(run.attempts);
                run.error = Some(e);
            }
        }
        self.save_run(&run).await
    }

    async fn execute_run(&self, out: &dyn Outbound, mut run: OutboxRow) -> Result<()> {
        let tenant = TenantId(run.tenant);
        let actions: Vec<ActionDoc> = match serde_json::from_value(run.payload["actions"].clone()) {
            Ok(a) => a,
            Err(e) => {
                run.attempts = run.max_attempts;
                return self.finish(run, Some(format!("bad actions: {e}"))).await;
            }
        };
        let meta = self.core.meta(tenant).await?;
        let Some(obj) = meta.object(&run.object).cloned() else {
            run.attempts = run.max_attempts;
            let msg = format!("object '{}' no longer exists", run.object);
            return self.finish(run, Some(msg)).await;
        };
        let compiled = match compile_actions(&meta, &run.object, &actions) {
            Ok(c) => c,
            Err(ps) => {
                run.attempts = run.max_attempts;
                let msg = ps
                    .iter()
                    .map(|p| format!("{} {}: {}", p.path, p.code, p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                return self
                    .finish(run, Some(format!("the actions no longer compile: {msg}")))
                    .await;
            }
        };
        let run_as = run.payload["run_as"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .unwrap_or_default();
        let mut p = Principal::system(tenant, UserId(run_as));
        p.source = Source::Rule;
        p.cascade_depth = u8::try_from(run.depth + 1).unwrap_or(u8::MAX);
        let snapshot = run.clone();
        let mut cx = RunCtx {
            run: &snapshot,
            obj: &obj,
            p,
            input: Input {
                record: run.payload["record"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                old: run.payload["old"].as_object().cloned(),
                user: Map::new(),
                now: self.core.clock.now(),
                tz: meta.tz,
            },
            results: run.progress["results"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let mut done: Vec<u64> = run.progress["done"]
            .as_array()
            .map(|a| a.iter().filter_map(Json::as_u64).collect())
            .unwrap_or_default();
        for (i, ca) in compiled.iter().enumerate() {
            if done.contains(&(i as u64)) {
                continue;
            }
            match self.run_action(out, &mut cx, i, ca).await {
                Ok(res) => {
                    done.push(i as u64);
                    cx.results.insert(i.to_string(), res);
                    run.progress = json!({"done": done, "results": cx.results});
                    run.updated_at = self.core.clock.now();
                    self.save_run(&run).await?;
                }
                Err(e) => {
                    let msg = format!("action {i} ({}): {e}", ca.doc.type_name());
                    return self.finish(run, Some(msg)).await;
                }
            }
        }
        self.finish(run, None).await
    }

    /// The next of `users` in turn (a counter per rule, action and route).
    async fn round_robin(
        &self,
        cx: &RunCtx<'_>,
        key: &str,
        users: &[Uuid],
    ) -> std::result::Result<Uuid, String> {
        let e2s = |e: Error| e.to_string();
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
        let e2s = |e: Error| e.to_string();
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
        cx.run.payload["effect_keys"][i.to_string()]
            .as_str()
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
                    .eval_value(s, &cx.input.ctx())
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

    #[allow(clippy::too_many_lines)] // issue 11: split pending
    async fn run_action(
        &self,
        out: &dyn Outbound,
        cx: &mut RunCtx<'_>,
        i: usize,
        ca: &CompiledAction,
    ) -> std::result::Result<Json, String> {
        let key = Self::effect_key(cx, i);
        let record_id = cx.run.record_id;
        let e2s = |e: Error| e.to_string();
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
                    key: key.clone(),
                    fingerprint: key.clone(),
                };
                let created = self
                    .records
                    .create(&cx.p, object, &body, Some(&idem))
                    .await
                    .map_err(e2s)?;
                Ok(json!({"created": created.record["id"], "object": object}))
            }
            ActionDoc::AssignOwner {
                strategy,
                user,
                users,
                open_filter,
                routes,
            } => {
                let id = record_id.ok_or("the run has no record")?;
                let owner = match strategy {
                    AssignStrategy::User => user.ok_or("no user")?,
                    AssignStrategy::RoundRobin => {
                        self.round_robin(cx, &format!("rule:{}:rr:{i}", cx.run.rule), users)
                            .await?
                    }
                    AssignStrategy::LeastOpen => {
                        self.least_open(cx, users, open_filter.as_ref()).await?
                    }
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
            ActionDoc::Notify {
                users,
                roles,
                owner,
                ..
            } => {
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
                    key: &key,
                };
                let sent = super::notify(tx.as_mut(), &to, &notice, now)
                    .await
                    .map_err(e2s)?;
                tx.commit().await.map_err(e2s)?;
                Ok(json!({"notified": sent}))
            }
            ActionDoc::Webhook {
                url,
                secret,
                unsigned,
                method,
                headers,
                ..
            } => {
                let data = Self::template_data(cx);
                // A resend carries the original event, so the body is the same.
                let event = cx.run.payload["event"]
                    .as_str()
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
                    ("idempotency-key".into(), key.clone()),
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
                    idempotency_key: key.clone(),
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
            ActionDoc::Email { to, .. } => {
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
    }
}
