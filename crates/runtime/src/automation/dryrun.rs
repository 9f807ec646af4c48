//! Dry run / backtest (`/meta/rules/dry-run`): evaluate a draft or saved rule over existing
//! records the caller can read, in one read-only transaction, and report what would happen.
//! Nothing is written and nothing is sent.

use super::Automation;
use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};
use weft_meta::query::{encode_cursor, parse_query};
use weft_rules::{Sandbox, render};

use super::before::{is_blank, to_value};
use super::doc::{self, ActionDoc, Compiled, CompiledRule};
use super::engine::{Input, stored_docs};
use crate::access::model::Op;
use crate::error::{Error, Result};
use crate::json::{record_json, value_json};
use crate::ports::{FetchOpts, TxMode};
use crate::principal::Principal;

use super::views::DryRunReport;

const PAGE: u32 = 1_000;
const DEFAULT_LIMIT: u64 = 10_000;
const MAX_LIMIT: u64 = 100_000;

/// What a dry run has seen so far.
#[derive(Default)]
struct Scan {
    scanned: u64,
    matched: u64,
    errors: u64,
    samples: Vec<Json>,
    error_samples: Vec<Json>,
    would_fire: BTreeMap<String, u64>,
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

impl Automation {
    /// Evaluate a draft (`rule`) or saved (`api_name`) rule over the records the caller can
    /// read (`filter`, at most `limit`), and report what would happen.
    pub(super) async fn dry_run(&self, p: &Principal, body: &Json) -> Result<DryRunReport> {
        let meta = self.core.meta(p.tenant).await?;
        let doc = self.dry_run_doc(p, body).await?;
        let rule = doc::check(&meta, &doc, uuid::Uuid::nil(), 0, p.user.0).map_err(under_rule)?;
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
        let user = super::engine::user_map(&*self.core.org(p.tenant).await?, p);
        let now = self.core.clock.now();
        let sandbox = Sandbox::shared();

        let mut scan = Scan::default();
        let mut cursor: Option<String> = None;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        'pages: loop {
            let mut q = Map::new();
            if let Some(f) = body.get("filter") {
                q.insert("filter".into(), f.clone());
            }
            if let Some(c) = &cursor {
                q.insert("cursor".into(), Json::String(c.clone()));
            }
            let mut plan = parse_query(&obj, &Json::Object(q), &|f| g.hidden(f))
                .map_err(|ps| Error::Validation(ps.into_iter().map(|x| x.under("")).collect()))?;
            plan.limit = PAGE;
            plan.sort.clear();
            let rows = tx
                .query_records(&obj, &plan, g.scope(), FetchOpts::default())
                .await?;
            let Some(last) = rows.last().map(|r| r.id) else {
                break;
            };
            for row in &rows {
                if scan.scanned >= limit {
                    break 'pages;
                }
                scan.scanned += 1;
                let record = match record_json(&obj, row, None, &|f| g.can_see(f)) {
                    Json::Object(m) => m,
                    _ => Map::new(),
                };
                let input = Input {
                    record,
                    old: None,
                    user: user.clone(),
                    now,
                    tz: self.core.tz_of(p.tenant),
                };
                let outcome = self.dry_one(&obj, &rule, row, &input, sandbox);
                self.tally(&mut scan, &rule, &input, row.id, outcome, samples_max);
            }
            if rows.len() < PAGE as usize {
                break;
            }
            cursor = Some(encode_cursor(&[], &[], last));
        }
        tx.commit().await?;
        Ok(DryRunReport {
            rule: doc.api_name,
            kind: doc.body.kind().into(),
            object: doc.object,
            truncated: scan.scanned >= limit,
            scanned: scan.scanned,
            matched: scan.matched,
            errors: scan.errors,
            samples: scan.samples,
            error_samples: scan.error_samples,
            actions_would_fire: scan.would_fire,
            side_effects: 0,
        })
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
    fn tally(
        &self,
        scan: &mut Scan,
        rule: &CompiledRule,
        input: &Input,
        id: uuid::Uuid,
        outcome: std::result::Result<Option<Json>, String>,
        samples_max: usize,
    ) {
        match outcome {
            Ok(None) => {}
            Ok(Some(mut sample)) => {
                scan.matched += 1;
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
                    scan.error_samples.push(json!({"id": id, "error": e}));
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
        sandbox: &Sandbox,
    ) -> std::result::Result<Option<Json>, String> {
        let id = row.id;
        let e2s = |e: weft_rules::EvalError| e.to_string();
        Ok(match &rule.compiled {
            Compiled::Validation {
                condition,
                message,
                field,
            } => (!sandbox.eval_bool(condition, &input.ctx()).map_err(e2s)?).then(|| {
                json!({"id": id, "would_reject": {"path": field.as_ref().map(|f| format!("/{f}")).unwrap_or_default(), "message": message}})
            }),
            Compiled::Formula { field, script } | Compiled::Default { field, script } => {
                if matches!(rule.compiled, Compiled::Default { .. })
                    && !is_blank(row.values.get(field))
                {
                    return Ok(None);
                }
                let after = sandbox.eval_value(script, &input.ctx()).map_err(e2s)?;
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
                && sandbox.eval_bool(condition, &input.ctx()).map_err(e2s)?)
            .then(|| json!({"id": id, "would_reject": {"path": format!("/{field}"), "message": message}})),
            Compiled::ReadOnly { field, condition } => sandbox
                .eval_bool(condition, &input.ctx())
                .map_err(e2s)?
                .then(|| json!({"id": id, "locked": field})),
            Compiled::Trigger { condition, .. } => {
                let fire = match condition {
                    Some(c) => sandbox.eval_bool(c, &input.ctx()).map_err(e2s)?,
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
