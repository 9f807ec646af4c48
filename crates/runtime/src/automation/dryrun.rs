//! Dry run / backtest (`/meta/rules/dry-run`): evaluate a draft or saved rule over existing
//! records and report what would happen. Nothing is written and nothing is sent.
//!
//! A dry run is an admin's background job (issue 12 §2): over 100,000 records a heavy rule runs
//! for minutes, which no HTTP request may hold. The request checks the rule and queues the job;
//! the job scans [`STEP`] records per step — a bulk chunk, with the budget of one write
//! ([`crate::config::RuntimeConfig::rules_budget_per_write`]) — and saves its tally and cursor
//! after each step, so the admin watches progress, pages through what matched, and can cancel.
//! Jobs are claimed fairly between tenants (see [`crate::jobs`]).

use super::Automation;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;
use weft_meta::query::{encode_cursor, parse_query};
use weft_meta::{CompiledObject, TenantId, UserId};
use weft_rules::{Budget, Sandbox, render};

use super::AutomationError;
use super::before::{is_blank, to_value};
use super::doc::{self, ActionDoc, Compiled, CompiledRule};
use super::engine::{Input, stored_docs};
use super::views::{DryRunJob, DryRunMatch, DryRunMatches, DryRunProblem, DryRunReport};
use crate::access::model::Op;
use crate::error::{Error, ErrorKinds, Result};
use crate::jobs::JobHandler;
use crate::json::{record_json, value_json};
use crate::ports::{FetchOpts, JobRow, TxMode};
use crate::principal::Principal;

/// The job kind of a dry run.
pub(crate) const KIND: &str = "rule_dry_run";
/// Records one step scans: as many as a bulk chunk, with the budget of one write.
const STEP: u32 = 100;
const DEFAULT_LIMIT: u64 = 10_000;
const MAX_LIMIT: u64 = 100_000;
/// How often a running dry run saves what it has found (and sees a cancel); a crash loses
/// at most this much of its work.
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How long a dry run's job runs before it yields its turn.
const SLICE: std::time::Duration = std::time::Duration::from_secs(10);
/// Matched records kept for paging (the counts cover every record scanned).
pub(crate) const KEEP: usize = 1_000;

/// What every step of one dry run shares.
struct DryRunSetup {
    tenant: TenantId,
    doc: doc::RuleDoc,
    rule: CompiledRule,
    obj: Arc<CompiledObject>,
    g: crate::access::Guard,
    user: Map<String, Json>,
    limit: u64,
    samples_max: usize,
    filter: Option<Json>,
}

/// What a dry run has seen so far: the job's `progress`.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Scan {
    scanned: u64,
    matched: u64,
    errors: u64,
    samples: Vec<Json>,
    error_samples: Vec<Json>,
    would_fire: BTreeMap<String, u64>,
    /// Up to [`KEEP`] matched records: `{id, title, outcome}`.
    #[serde(default)]
    matches: Vec<Json>,
    /// Where the next step starts (the list cursor after the last record scanned).
    #[serde(default)]
    cursor: Option<String>,
    /// Why the job stopped, when it failed.
    #[serde(default)]
    problem: Option<DryRunProblem>,
}

/// `limit` (records to scan) and `samples` (samples to keep) of a dry-run body.
fn dry_run_limits(body: &Json) -> Result<(u64, usize)> {
    let limit = match body.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| Error::one("/limit", "range", format!("an integer 1..={MAX_LIMIT}")))?,
    };
    let samples_max = body
        .get("samples")
        .and_then(Json::as_u64)
        .unwrap_or(5)
        .min(50) as usize;
    Ok((limit, samples_max))
}

fn under_rule(ps: Vec<doc::RuleProblem>) -> Error {
    Error::Validation(
        ps.into_iter()
            .map(|x| x.into_problem().under("/rule"))
            .collect(),
    )
}

/// The record's title as people know it: its title field's value (see
/// [`weft_meta::ObjectDef::title_field`]).
fn title(obj: &CompiledObject, record: &Map<String, Json>) -> String {
    match obj
        .def
        .title_field()
        .and_then(|f| record.get(f.api_name.as_str()))
    {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The job's view: its state, what it has seen so far and, when failed, why.
fn job_view(job: &JobRow) -> DryRunJob {
    let scan: Scan = serde_json::from_value(job.progress.clone()).unwrap_or_default();
    let pl = &job.payload;
    let limit = pl["limit"].as_u64().unwrap_or(DEFAULT_LIMIT);
    let rule = &pl["rule"];
    DryRunJob {
        id: job.id,
        status: job.status.clone(),
        limit,
        report: DryRunReport {
            rule: rule["api_name"].as_str().unwrap_or_default().to_owned(),
            kind: rule["kind"].as_str().unwrap_or_default().to_owned(),
            object: rule["object"].as_str().unwrap_or_default().to_owned(),
            truncated: scan.scanned >= limit,
            scanned: scan.scanned,
            matched: scan.matched,
            errors: scan.errors,
            samples: scan.samples,
            error_samples: scan.error_samples,
            actions_would_fire: scan.would_fire,
            side_effects: 0,
        },
        kept: scan.matches.len() as u64,
        error: scan.problem,
        created_at: job.created_at,
        updated_at: job.updated_at,
    }
}

impl Automation {
    /// Check a draft (`rule`) or saved (`api_name`) rule and queue its dry run over the
    /// records matching `filter` (at most `limit`). The caller is an admin (checked by the
    /// service).
    pub(super) async fn start_dry_run(&self, p: &Principal, body: &Json) -> Result<DryRunJob> {
        let meta = self.core.meta(p.tenant).await?;
        let doc = self.dry_run_doc(p, body).await?;
        let rule = doc::check(&meta, &doc, Uuid::nil(), 0, p.user.0).map_err(under_rule)?;
        if matches!(rule.compiled, Compiled::Rollup { .. }) {
            return Err(Error::one(
                "/rule/kind",
                "not_supported",
                "roll-ups have no dry run; their values are recomputed exactly on every write",
            ));
        }
        let (limit, samples_max) = dry_run_limits(body)?;
        let obj = meta
            .object(&doc.object)
            .cloned()
            .ok_or_else(|| Error::not_found("object"))?;
        let g = self.access.guard(p, &doc.object).await?;
        g.require(Op::Read, &doc.object)?;
        // A bad filter is the request's fault: answer it now, not from the job.
        let filter = body.get("filter").cloned();
        if let Some(f) = &filter {
            parse_query(&obj, &json!({"filter": f}), &|f| g.hidden(f))
                .map_err(|ps| Error::Validation(ps.into_iter().map(|x| x.under("")).collect()))?;
        }
        let now = self.core.clock.now();
        let job = JobRow {
            id: Uuid::now_v7(),
            tenant: p.tenant.0,
            kind: KIND.into(),
            payload: json!({"rule": serde_json::to_value(&doc).map_err(Error::internal)?,
                "filter": filter, "limit": limit, "samples": samples_max}),
            status: "queued".into(),
            progress: serde_json::to_value(Scan::default()).map_err(Error::internal)?,
            attempts: 0,
            error: None,
            created_by: p.user.0,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.insert_job(&job).await?;
        tx.commit().await?;
        self.core.job_signal.notify_waiters();
        Ok(job_view(&job))
    }

    /// A dry run of this tenant.
    async fn dry_run_row(&self, p: &Principal, id: Uuid) -> Result<JobRow> {
        let mut tx = self.core.begin_bare(p.tenant, TxMode::Read).await?;
        let job = tx.job(id).await?;
        tx.commit().await?;
        job.filter(|j| j.kind == KIND)
            .ok_or_else(|| Error::not_found("dry run"))
    }

    pub(super) async fn dry_run_status(&self, p: &Principal, id: Uuid) -> Result<DryRunJob> {
        Ok(job_view(&self.dry_run_row(p, id).await?))
    }

    /// The matched records kept by a dry run, `limit` from `offset`.
    pub(super) async fn dry_run_matches(
        &self,
        p: &Principal,
        id: Uuid,
        offset: u64,
        limit: u64,
    ) -> Result<DryRunMatches> {
        let job = self.dry_run_row(p, id).await?;
        let scan: Scan = serde_json::from_value(job.progress).unwrap_or_default();
        let total = scan.matches.len() as u64;
        let limit = limit.clamp(1, 200);
        let page: Vec<DryRunMatch> = scan
            .matches
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit as usize)
            .filter_map(|m| serde_json::from_value(m).ok())
            .collect();
        let next = (offset.saturating_add(limit) < total).then(|| offset + limit);
        Ok(DryRunMatches {
            matches: page,
            kept: total,
            matched: scan.matched,
            next_offset: next,
        })
    }

    /// Stop a queued or running dry run; what it has seen so far stays readable.
    pub(super) async fn cancel_dry_run(&self, p: &Principal, id: Uuid) -> Result<DryRunJob> {
        let mut tx = self.core.begin_bare(p.tenant, TxMode::Write).await?;
        let mut job = tx
            .job(id)
            .await?
            .filter(|j| j.kind == KIND)
            .ok_or_else(|| Error::not_found("dry run"))?;
        if matches!(job.status.as_str(), "queued" | "running") {
            job.status = "cancelled".into();
            job.updated_at = self.core.clock.now();
            tx.update_job(&job).await?;
        }
        tx.commit().await?;
        Ok(job_view(&job))
    }

    /// What every step of a dry run needs, built once per slice: the rule compiled against
    /// the current metadata, the object, the admin's guard. `Err` with the reason when the
    /// rule or object no longer fits.
    async fn dry_run_setup(
        &self,
        job: &JobRow,
    ) -> Result<std::result::Result<DryRunSetup, DryRunProblem>> {
        let tenant = TenantId(job.tenant);
        let meta = self.core.meta(tenant).await?;
        let doc: doc::RuleDoc = serde_json::from_value(job.payload["rule"].clone())
            .map_err(|e| Error::internal(format!("dry run payload unreadable: {e}")))?;
        let Ok(rule) = doc::check(&meta, &doc, Uuid::nil(), 0, job.created_by) else {
            return Ok(Err(DryRunProblem {
                code: "rule_invalid".into(),
                message: "the rule no longer fits the object (a field changed); check it again"
                    .into(),
                message_zh: "规则与对象不再匹配（字段已变更），请重新检查规则".into(),
            }));
        };
        let Some(obj) = meta.object(&doc.object).cloned() else {
            return Ok(Err(DryRunProblem {
                code: "not_found".into(),
                message: "the object no longer exists".into(),
                message_zh: "对象已不存在".into(),
            }));
        };
        // The admin who asked: an admin reads every record (dry runs are admin-only).
        let p = Principal::system(tenant, UserId(job.created_by));
        let g = self.access.guard(&p, &doc.object).await?;
        let user = super::engine::user_map(&*self.core.org(tenant).await?, &p);
        Ok(Ok(DryRunSetup {
            tenant,
            doc,
            rule,
            obj,
            g,
            user,
            limit: job.payload["limit"].as_u64().unwrap_or(DEFAULT_LIMIT),
            samples_max: job.payload["samples"].as_u64().unwrap_or(5) as usize,
            filter: job.payload.get("filter").filter(|f| !f.is_null()).cloned(),
        }))
    }

    /// One step of a dry run: scan up to [`STEP`] records with a fresh write budget. Returns
    /// the job's final status when it has ended (`done`, or `failed` with the reason in
    /// `scan.problem`).
    async fn dry_run_step(
        &self,
        cx: &DryRunSetup,
        scan: &mut Scan,
    ) -> Result<Option<&'static str>> {
        let now = self.core.clock.now();
        let budget = Budget::new(self.core.config.rules_budget_per_write);
        let mut q = Map::new();
        if let Some(f) = &cx.filter {
            q.insert("filter".into(), f.clone());
        }
        if let Some(c) = &scan.cursor {
            q.insert("cursor".into(), Json::String(c.clone()));
        }
        let mut plan = parse_query(&cx.obj, &Json::Object(q), &|f| cx.g.hidden(f))
            .map_err(|ps| Error::Validation(ps.into_iter().map(|x| x.under("")).collect()))?;
        let want = (cx.limit - scan.scanned.min(cx.limit)).min(u64::from(STEP));
        plan.limit = u32::try_from(want).unwrap_or(STEP);
        plan.sort.clear();
        let rows = if want == 0 {
            vec![]
        } else {
            let mut tx = self.core.begin(cx.tenant, TxMode::Read).await?;
            let rows = tx
                .query_records(&cx.obj, &plan, cx.g.scope(), FetchOpts::default())
                .await?;
            tx.commit().await?;
            rows
        };
        let tz = self.core.tz_of(cx.tenant);
        for row in &rows {
            let record = match record_json(&cx.obj, row, None, &|f| cx.g.can_see(f)) {
                Json::Object(m) => m,
                _ => Map::new(),
            };
            let name = title(&cx.obj, &record);
            let input = Input {
                record,
                old: None,
                user: cx.user.clone(),
                now,
                tz,
            };
            let outcome = self.dry_one(&cx.obj, &cx.rule, row, &input, &budget);
            if budget.is_spent() {
                let e = AutomationError::CpuBudget {
                    rule: cx.doc.api_name.clone(),
                    at: String::new(),
                };
                scan.problem = Some(DryRunProblem {
                    code: "limit.cpu".into(),
                    message: format!(
                        "{} records were scanned; the rule used up the time budget of one write on {} records. {e}",
                        scan.scanned,
                        rows.len()
                    ),
                    message_zh: format!(
                        "已扫描 {} 条；该规则在 {} 条记录上就用完了一次写入的时间预算。{}",
                        scan.scanned,
                        rows.len(),
                        e.named().map(|n| n.zh).unwrap_or_default()
                    ),
                });
                return Ok(Some("failed"));
            }
            scan.scanned += 1;
            self.tally(
                scan,
                &cx.rule,
                &input,
                row.id,
                &name,
                outcome,
                cx.samples_max,
            );
        }
        if let Some(last) = rows.last() {
            scan.cursor = Some(encode_cursor(&[], &[], last.id));
        }
        let exhausted = (rows.len() as u64) < want || want == 0 || scan.scanned >= cx.limit;
        Ok(exhausted.then_some("done"))
    }

    /// The rule document of a dry run: sent as `rule`, or a saved rule's `api_name`.
    async fn dry_run_doc(&self, p: &Principal, body: &Json) -> Result<doc::RuleDoc> {
        match (
            body.get("rule"),
            body.get("api_name").and_then(Json::as_str),
        ) {
            (Some(d), _) => doc::parse(d).map_err(under_rule),
            (None, Some(name)) => {
                let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
                let rows = tx.load_rules().await?;
                tx.commit().await?;
                stored_docs(&rows)
                    .into_iter()
                    .find(|(d, ..)| d.api_name == name)
                    .map(|(d, ..)| d)
                    .ok_or_else(|| Error::not_found("rule"))
            }
            _ => Err(Error::one(
                "/rule",
                "required",
                "send a rule document in \"rule\" or a saved rule's \"api_name\"",
            )),
        }
    }

    /// Count one record's outcome and keep it as a sample while there is room.
    #[allow(clippy::too_many_arguments)]
    fn tally(
        &self,
        scan: &mut Scan,
        rule: &CompiledRule,
        input: &Input,
        id: uuid::Uuid,
        name: &str,
        outcome: std::result::Result<Option<Json>, String>,
        samples_max: usize,
    ) {
        match outcome {
            Ok(None) => {}
            Ok(Some(mut sample)) => {
                scan.matched += 1;
                if scan.matches.len() < KEEP {
                    let mut outcome = sample.clone();
                    if let Some(m) = outcome.as_object_mut() {
                        m.remove("id");
                    }
                    scan.matches
                        .push(json!({"id": id, "title": name, "outcome": outcome}));
                }
                if let Compiled::Trigger { actions, .. } = &rule.compiled {
                    for a in actions {
                        *scan
                            .would_fire
                            .entry(a.doc.type_name().to_owned())
                            .or_default() += 1;
                    }
                    if scan.samples.len() < samples_max {
                        sample["actions"] = json!(self.describe_actions(rule, input));
                    }
                }
                if scan.samples.len() < samples_max {
                    scan.samples.push(sample);
                }
            }
            Err(e) => {
                scan.errors += 1;
                if scan.error_samples.len() < samples_max {
                    scan.error_samples
                        .push(json!({"id": id, "title": name, "error": e}));
                }
            }
        }
    }

    /// One record: `Some(sample)` when the rule would act on it.
    fn dry_one(
        &self,
        obj: &weft_meta::CompiledObject,
        rule: &CompiledRule,
        row: &crate::ports::RecordRow,
        input: &Input,
        budget: &Budget,
    ) -> std::result::Result<Option<Json>, String> {
        let sandbox = Sandbox::shared();
        let id = row.id;
        let e2s = |e: weft_rules::EvalError| e.to_string();
        Ok(match &rule.compiled {
            Compiled::Validation {
                condition,
                message,
                field,
            } => (!sandbox.eval_bool_in(condition, &input.ctx(), budget).map_err(e2s)?).then(|| {
                json!({"id": id, "would_reject": {"path": field.as_ref().map(|f| format!("/{f}")).unwrap_or_default(), "message": message}})
            }),
            Compiled::Formula { field, script } | Compiled::Default { field, script } => {
                if matches!(rule.compiled, Compiled::Default { .. })
                    && !is_blank(row.values.get(field))
                {
                    return Ok(None);
                }
                let after = sandbox.eval_value_in(script, &input.ctx(), budget).map_err(e2s)?;
                let after = to_value(obj, field, after)?;
                let before = row.values.get(field).cloned().unwrap_or(weft_meta::Value::Null);
                (before != after).then(|| {
                    json!({"id": id, "field": field,
                        "before": value_json(obj, field, &before), "after": value_json(obj, field, &after)})
                })
            }
            Compiled::Required {
                field,
                condition,
                message,
            } => (is_blank(row.values.get(field))
                && sandbox.eval_bool_in(condition, &input.ctx(), budget).map_err(e2s)?)
            .then(|| json!({"id": id, "would_reject": {"path": format!("/{field}"), "message": message}})),
            Compiled::ReadOnly { field, condition } => sandbox
                .eval_bool(condition, &input.ctx())
                .map_err(e2s)?
                .then(|| json!({"id": id, "locked": field})),
            Compiled::Trigger { condition, .. } => {
                let fire = match condition {
                    Some(c) => sandbox.eval_bool_in(c, &input.ctx(), budget).map_err(e2s)?,
                    None => true,
                };
                fire.then(|| json!({"id": id}))
            }
            Compiled::Rollup { .. } => None,
        })
    }

    /// What each action would do for this record (rendered, not sent).
    fn describe_actions(&self, rule: &CompiledRule, input: &Input) -> Vec<Json> {
        let Compiled::Trigger { actions, .. } = &rule.compiled else {
            return vec![];
        };
        let data = json!({"record": input.record, "old": input.old,
            "rule": {"name": rule.doc.api_name, "event": "dry_run"}});
        let show = |i: usize, t: &[weft_rules::CompiledTemplate]| -> Json {
            match t.get(i).map(|t| render(t, &data)) {
                Some(Ok(s)) => Json::String(s),
                Some(Err(e)) => json!({"error": e.to_string()}),
                None => Json::Null,
            }
        };
        actions
            .iter()
            .map(|a| match &a.doc {
                ActionDoc::Notify { users, roles, owner, .. } => json!({"type": "notify", "users": users,
                    "roles": roles, "owner": owner, "title": show(0, &a.templates), "body": show(1, &a.templates)}),
                ActionDoc::Email { to, .. } => json!({"type": "email", "to": to,
                    "subject": show(0, &a.templates)}),
                ActionDoc::Webhook { url, .. } => json!({"type": "webhook", "url": url}),
                ActionDoc::UpdateRecord { values } => json!({"type": "update_record", "values": values}),
                ActionDoc::UpdateRelated { via, values } => {
                    json!({"type": "update_related", "via": via, "values": values})
                }
                ActionDoc::CreateRecord { object, values } => {
                    json!({"type": "create_record", "object": object, "values": values})
                }
                ActionDoc::AssignOwner {
                    strategy,
                    user,
                    users,
                    routes,
                    ..
                } => {
                    json!({"type": "assign_owner", "strategy": strategy, "user": user,
                           "users": users, "routes": routes})
                }
            })
            .collect()
    }
}

/// Runs dry-run jobs step by step, saving the tally after each step.
pub(crate) struct DryRunJobHandler {
    pub(crate) au: Automation,
}

#[async_trait]
impl JobHandler for DryRunJobHandler {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// Steps until the job ends, or until it has run for [`SLICE`]: then it goes back in the
    /// queue, so other jobs (of other tenants, too) take their turn between its slices.
    async fn run(&self, mut job: JobRow) -> Result<()> {
        let core = self.au.core.clone();
        let started = std::time::Instant::now();
        let mut saved = std::time::Instant::now();
        let mut scan: Scan = serde_json::from_value(job.progress.clone()).unwrap_or_default();
        job.status = "running".into();
        let setup = self.au.dry_run_setup(&job).await;
        loop {
            let ended = match &setup {
                Ok(Ok(cx)) => match self.au.dry_run_step(cx, &mut scan).await {
                    Ok(end) => end,
                    Err(e) => {
                        job.error = Some(e.to_string());
                        Some("failed")
                    }
                },
                Ok(Err(problem)) => {
                    scan.problem = Some(problem.clone());
                    Some("failed")
                }
                Err(e) => {
                    job.error = Some(e.to_string());
                    Some("failed")
                }
            };
            let yielded = ended.is_none() && started.elapsed() >= SLICE;
            if ended.is_none() && !yielded && saved.elapsed() < SAVE_EVERY {
                continue;
            }
            job.status = match ended {
                Some(s) => s.into(),
                None if yielded => "queued".into(),
                None => "running".into(),
            };
            job.progress = serde_json::to_value(&scan).map_err(Error::internal)?;
            job.updated_at = core.clock.now();
            // Save unless cancelled meanwhile (the cancel wins; what was scanned since the
            // last save is dropped with it).
            let mut tx = core.begin_bare(TenantId(job.tenant), TxMode::Write).await?;
            let cancelled = tx
                .job(job.id)
                .await?
                .is_none_or(|c| c.status == "cancelled");
            if !cancelled {
                tx.update_job(&job).await?;
            }
            tx.commit().await?;
            saved = std::time::Instant::now();
            if ended.is_some() || cancelled || yielded {
                if yielded {
                    core.job_signal.notify_waiters();
                }
                return Ok(());
            }
        }
    }
}
