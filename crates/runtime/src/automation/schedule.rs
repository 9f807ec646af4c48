//! Time-based and manual triggers.
//!
//! **Schedule** (`on: ["schedule"]`, `cron`, `timezone`) and **date** (`on: ["date"]`,
//! `date: {field, offset_days, at}`) rules fire on ticks. Every process's worker looks, on
//! each pass, for the latest tick of each such rule at or before now. A tick is claimed by
//! inserting its outbox row (key `<rule>:tick:<event>:<unix time>`), unique per tenant: the
//! tick row and the runs it queues (one per matching record, key
//! `<rule>:<record>:<event>:<unix time>`) commit in one transaction, so however many `weft`
//! processes share the database, and whatever crashes, a tick fires once. A tick missed while
//! no process ran fires once, late, when one comes back; older missed ticks do not pile up.
//! A tick before the rule's current version was saved never fires.
//!
//! **Manual** rules (`on: ["manual"]`) are run by a user on one record; the run is queued
//! with the user as actor and executes like any other run.

use super::{Automation, AutomationError};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Map;
use uuid::Uuid;
use weft_meta::query::{CmpOp, Col, ColKind, Pred, QueryPlan};
use weft_meta::{CompiledObject, FieldKind, TenantId, UserId, Value};
use weft_rules::Sandbox;

use super::cron::{Cron, zone};
use super::doc::{Compiled, Event, RuleBody, RuleDoc, TriggerDoc};
use super::engine::{Input, row_map};
use super::ports::{OutboxPayload, OutboxRow, RuleRow, RunStatus, TickInfo};
use super::views::{ManualAction, ManualActions, ManualRun};
use crate::access::model::Op;
use crate::error::{Error, Result};
use crate::ports::{FetchOpts, TxMode};
use crate::principal::{Principal, Source};

/// Records one tick may queue runs for; a larger match is cut here and the tick says so.
pub const MAX_TICK_RECORDS: u32 = 10_000;

/// The condition a date tick puts on the field: its value falls on the local day
/// `tick's day − offset_days`.
fn date_pred(
    obj: &CompiledObject,
    field: &str,
    offset_days: i32,
    tz: chrono_tz::Tz,
    tick: DateTime<Utc>,
) -> Option<Pred> {
    let day = tick.with_timezone(&tz).date_naive() - Duration::days(i64::from(offset_days));
    match obj.field(field).map(|f| &f.kind) {
        Some(FieldKind::Date) => Some(Pred::Cmp {
            col: Col {
                name: field.into(),
                kind: ColKind::Date,
            },
            op: CmpOp::Eq,
            value: Value::Date(day),
        }),
        Some(FieldKind::Datetime) => {
            let start = |d: chrono::NaiveDate| {
                d.and_hms_opt(0, 0, 0)
                    .and_then(|t| tz.from_local_datetime(&t).earliest())
                    .map(|t| t.with_timezone(&Utc))
            };
            let (lo, hi) = (start(day)?, start(day + Duration::days(1))?);
            let col = || Col {
                name: field.into(),
                kind: ColKind::DateTime,
            };
            Some(Pred::And(vec![
                Pred::Cmp {
                    col: col(),
                    op: CmpOp::Gte,
                    value: Value::DateTime(lo),
                },
                Pred::Cmp {
                    col: col(),
                    op: CmpOp::Lt,
                    value: Value::DateTime(hi),
                },
            ]))
        }
        _ => None,
    }
}

/// The latest tick of a time-based event at or before `now`.
fn latest_tick(t: &TriggerDoc, event: Event, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = zone(t.timezone.as_deref()).ok()?;
    let cron = match event {
        Event::Schedule => Cron::parse(t.cron.as_deref()?).ok()?,
        Event::Date => Cron::daily(&t.date.as_ref()?.at).ok()?,
        _ => return None,
    };
    cron.prev(tz, now)
}

/// The next tick after `now` (shown with the rule).
pub fn next_tick(t: &TriggerDoc, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = zone(t.timezone.as_deref()).ok()?;
    let mut best: Option<DateTime<Utc>> = None;
    for ev in &t.on {
        let cron = match ev {
            Event::Schedule => t.cron.as_deref().and_then(|c| Cron::parse(c).ok()),
            Event::Date => t.date.as_ref().and_then(|d| Cron::daily(&d.at).ok()),
            _ => None,
        };
        if let Some(n) = cron.and_then(|c| c.next(tz, now)) {
            best = Some(best.map_or(n, |b| b.min(n)));
        }
    }
    best
}

impl Automation {
    /// One pass of the scheduler over every tenant's schedule and date rules; returns the
    /// number of runs queued.
    pub(super) async fn schedule_pass(&self) -> Result<usize> {
        let now = self.core.clock.now();
        let mut queued = 0;
        for (tenant, row) in self.core.store().timed_rules().await? {
            let Ok(doc) = serde_json::from_value::<RuleDoc>(row.doc.clone()) else {
                continue;
            };
            let RuleBody::Trigger(t) = &doc.body else {
                continue;
            };
            for ev in [Event::Schedule, Event::Date] {
                if !t.on.contains(&ev) {
                    continue;
                }
                let Some(tick) = latest_tick(t, ev, now) else {
                    continue;
                };
                // A tick before this version of the rule was saved is not its tick.
                if tick < row.updated_at {
                    continue;
                }
                match self
                    .fire_tick(TenantId(tenant), &row, &doc, t, ev, tick)
                    .await
                {
                    Ok(n) => queued += n,
                    Err(e) => {
                        tracing::warn!(rule = %doc.api_name, error = %e, "scheduled tick failed")
                    }
                }
            }
        }
        if queued > 0 {
            self.core.job_signal.notify_waiters();
        }
        Ok(queued)
    }

    async fn fire_tick(
        &self,
        tenant: TenantId,
        row: &RuleRow,
        doc: &RuleDoc,
        t: &TriggerDoc,
        event: Event,
        tick: DateTime<Utc>,
    ) -> Result<usize> {
        let now = self.core.clock.now();
        let meta = self.core.meta(tenant).await?;
        let Some(obj) = meta.object(&doc.object).cloned() else {
            return Ok(0);
        };
        let tz = zone(t.timezone.as_deref()).map_err(Error::internal)?;
        let filter = match (event, &t.date) {
            (Event::Date, Some(d)) => match date_pred(&obj, &d.field, d.offset_days, tz, tick) {
                Some(p) => Some(p),
                None => return Ok(0),
            },
            _ => None,
        };
        let mut tx = self.core.begin(tenant, TxMode::Write).await?;
        let mut tick_row = OutboxRow {
            tenant: tenant.0,
            rule_id: Some(row.id),
            rule: doc.api_name.clone(),
            object: doc.object.clone(),
            event: format!("{}_tick", event.as_str()),
            payload: OutboxPayload::Tick(TickInfo {
                tick,
                records: None,
                scanned: None,
                truncated: None,
            }),
            status: RunStatus::Done,
            max_attempts: 1,
            idempotency_key: format!("{}:tick:{}:{}", row.id, event.as_str(), tick.timestamp()),
            ..OutboxRow::fresh(now)
        };
        if !tx.enqueue_run_once(&tick_row).await? {
            // Another process (or an earlier pass) fired this tick.
            return Ok(0);
        }
        let set = self.rules_for(tx.as_mut(), &meta).await?;
        let Some(rule) = set
            .object(obj.api_name())
            .and_then(|o| o.triggers.iter().find(|r| r.id == row.id))
            .cloned()
        else {
            tick_row.error = Some("the rule no longer compiles".into());
            tx.update_run(&tick_row).await?;
            tx.commit().await?;
            return Ok(0);
        };
        let Compiled::Trigger { condition, .. } = &rule.compiled else {
            return Ok(0);
        };
        let mut plan = QueryPlan::all(MAX_TICK_RECORDS);
        plan.filter = filter;
        let records = tx
            .query_records(&obj, &plan, None, FetchOpts::default())
            .await?;
        let mut p = Principal::system(tenant, UserId(t.run_as.unwrap_or(row.created_by)));
        p.source = Source::Rule;
        let sandbox = Sandbox::shared();
        let stamp = tick.timestamp().to_string();
        let mut runs = Vec::new();
        let mut failed = 0usize;
        for rec in &records {
            let (status, error) = match condition {
                None => (RunStatus::Queued, None),
                Some(c) => {
                    let input = Input {
                        record: row_map(&obj, rec, None),
                        old: None,
                        user: Map::new(),
                        now,
                        tz: self.core.tz_of(tenant),
                    };
                    // One budget for the tick: once spent, the remaining records' runs fail
                    // at once (`budget`) instead of holding the worker.
                    match sandbox.eval_bool_in(c, &input.ctx(), &tx.budget) {
                        Ok(true) => (RunStatus::Queued, None),
                        Ok(false) => continue,
                        Err(e) => {
                            failed += 1;
                            (
                                RunStatus::Failed,
                                Some(format!("the condition could not run: {e}")),
                            )
                        }
                    }
                }
            };
            runs.push(super::after::run_row(
                self.core.clock.now(),
                &p,
                &obj,
                &rule,
                t,
                event,
                rec,
                None,
                status,
                error,
                Some(stamp.clone()),
            ));
        }
        let n = runs.len() - failed;
        tick_row.payload = OutboxPayload::Tick(TickInfo {
            tick,
            records: Some(n),
            scanned: Some(records.len()),
            truncated: Some(records.len() as u32 >= MAX_TICK_RECORDS),
        });
        tx.update_run(&tick_row).await?;
        tx.enqueue_runs(&runs).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The manual rules a user may run on records of `object`.
    pub(super) async fn manual_list(&self, p: &Principal, object: &str) -> Result<ManualActions> {
        let meta = self.core.meta(p.tenant).await?;
        if meta.object(object).is_none() {
            return Err(Error::not_found(format!("object '{object}'")));
        }
        let g = self.access.guard(p, object).await?;
        g.require(Op::Read, object)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let set = self.rules_for(tx.as_mut(), &meta).await?;
        tx.commit().await?;
        let can = g.allows(Op::Update);
        let actions = set
            .object(object)
            .map(|o| {
                o.triggers
                    .iter()
                    .filter(|r| r.doc.active)
                    .filter_map(|r| match &r.doc.body {
                        RuleBody::Trigger(t) if t.on.contains(&Event::Manual) => {
                            Some(ManualAction {
                                rule: r.doc.api_name.clone(),
                                label: t
                                    .button
                                    .clone()
                                    .or_else(|| r.doc.label.clone())
                                    .unwrap_or_else(|| r.doc.api_name.clone()),
                                allowed: can,
                            })
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ManualActions { actions })
    }

    /// Queue a run of a manual rule on one record, once per `request_key`.
    pub(super) async fn manual_queue(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        rule_name: &str,
        request_key: Option<&str>,
    ) -> Result<ManualRun> {
        let meta = self.core.meta(p.tenant).await?;
        let obj = meta
            .object(object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
        let g = self.access.guard(p, object).await?;
        g.require(Op::Update, object)?;
        if request_key.is_some_and(|k| k.is_empty() || k.len() > 200) {
            return Err(Error::one(
                "/headers/idempotency-key",
                "invalid",
                "an Idempotency-Key has 1 to 200 characters",
            ));
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let set = self.rules_for(tx.as_mut(), &meta).await?;
        let rule = set
            .object(object)
            .and_then(|o| o.triggers.iter().find(|r| r.doc.api_name == rule_name))
            .cloned()
            .ok_or_else(|| Error::not_found(format!("rule '{rule_name}'")))?;
        let RuleBody::Trigger(t) = &rule.doc.body else {
            return Err(Error::not_found(format!("rule '{rule_name}'")));
        };
        if !t.on.contains(&Event::Manual) || !rule.doc.active {
            return Err(AutomationError::NotManual.into());
        }
        let rec = crate::records::load_one(tx.as_mut(), &obj, id, FetchOpts::default(), g.scope())
            .await?;
        if let Compiled::Trigger {
            condition: Some(c), ..
        } = &rule.compiled
        {
            let input = Input {
                record: row_map(&obj, &rec, None),
                old: None,
                user: super::engine::user_map(&tx.org, p),
                now: self.core.clock.now(),
                tz: self.core.tz_of(p.tenant),
            };
            match Sandbox::shared().eval_bool(c, &input.ctx()) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(AutomationError::ConditionFalse.into());
                }
                Err(e) => {
                    return Err(AutomationError::ConditionFailed {
                        reason: e.to_string(),
                    }
                    .into());
                }
            }
        }
        let stamp = match request_key {
            Some(k) => format!("{}:{k}", p.user.0),
            None => Uuid::now_v7().to_string(),
        };
        let mut actor = p.clone();
        actor.source = Source::Rule;
        let run = super::after::run_row(
            self.core.clock.now(),
            &actor,
            &obj,
            &rule,
            t,
            Event::Manual,
            &rec,
            None,
            RunStatus::Queued,
            None,
            Some(stamp),
        );
        let fresh = tx.enqueue_run_once(&run).await?;
        tx.commit().await?;
        self.core.job_signal.notify_waiters();
        Ok(ManualRun {
            run: fresh.then_some(run.id),
            idempotency_key: run.idempotency_key,
            replayed: !fresh,
        })
    }
}
