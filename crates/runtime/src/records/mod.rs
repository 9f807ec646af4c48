//! The single write path for records, and record reads.
//!
//! Every write — UI, API, import, rule and flow actions — goes through here: parse and validate
//! against the compiled object (types, required, options, lengths), fill defaults and auto
//! numbers, check references and uniqueness in the tenant, persist the record and its change
//! log in one transaction. A write that fails changes nothing.

mod checks;
mod delete;
mod query;
mod transfer;

pub use transfer::csv_cell;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;
use weft_meta::autonumber::AutoNumberPattern;
use weft_meta::query::Pred;
use weft_meta::value::to_json;
use weft_meta::{CompiledObject, FieldKind, Problem, Value, Values, WriteMode};

use crate::Runtime;
use crate::access::Guard;
use crate::access::model::{FieldAccess, Op};
use crate::automation::{AfterSave, BeforeSave, WriteOp};
use crate::cache::TenantMeta;
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::ports::{ChangeEntry, FetchOpts, IdempotencyRow, RecordRow, Tx, TxMode, UpdateMeta};
use crate::principal::Principal;

pub use delete::DeleteOutcome;

use checks::{Pending, check_rows};

/// The outcome of a bulk call: per-record results in request order.
#[derive(Debug, Clone)]
pub struct BulkOutcome {
    pub results: Vec<Json>,
    pub succeeded: usize,
    pub failed: usize,
}

/// An idempotent create: the client's key and a fingerprint of the request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// Remove from a write body the keys the principal may not write, reporting each: a hidden
/// field answers as unknown (no oracle), a read-only one as read-only; owner and department
/// are set by admins (others use the transfer operation).
pub(crate) fn screen_body(
    g: &Guard,
    obj: &CompiledObject,
    body: &Json,
    mode: WriteMode,
    prefix: &str,
) -> (Json, Vec<Problem>) {
    let Some(m) = body.as_object() else {
        return (body.clone(), vec![]);
    };
    if g.unrestricted && !g.read_only {
        return (body.clone(), vec![]);
    }
    let mut out = m.clone();
    let mut problems = Vec::new();
    for k in m.keys() {
        let path = format!("{prefix}/{}", weft_meta::problem::pointer_segment(k));
        if obj.field(k).is_some() {
            match g.field(k) {
                FieldAccess::Hidden => {
                    problems.push(Problem::new(
                        path,
                        "unknown_field",
                        format!("there is no field '{k}'"),
                    ));
                    out.remove(k);
                }
                FieldAccess::Read => {
                    problems.push(Problem::new(
                        path,
                        "read_only",
                        format!("you may not change '{k}'"),
                    ));
                    out.remove(k);
                }
                FieldAccess::Edit => {}
            }
        } else if k == "owner" || k == "department" {
            let own = match (k.as_str(), m.get(k).and_then(Json::as_str)) {
                ("owner", Some(v)) => v == g.user.to_string() && mode == WriteMode::Create,
                ("department", Some(v)) => {
                    mode == WriteMode::Create && g.departments.iter().any(|d| d.to_string() == v)
                }
                _ => false,
            };
            if !own {
                problems.push(Problem::new(
                    path,
                    "read_only",
                    "ownership changes through the transfer operation",
                ));
                out.remove(k);
            }
        }
    }
    (Json::Object(out), problems)
}

fn change_diff(obj: &CompiledObject, old: Option<&Values>, new: &Values) -> Json {
    let mut m = Map::new();
    for (k, v) in new {
        let before = old
            .and_then(|o| o.get(k))
            .map(|x| crate::json::value_json(obj, k, x))
            .unwrap_or(Json::Null);
        let after = crate::json::value_json(obj, k, v);
        m.insert(k.clone(), json!([before, after]));
    }
    Json::Object(m)
}

impl Runtime {
    fn resolve_default(
        &self,
        p: &Principal,
        kind: &FieldKind,
        d: &Json,
        now: DateTime<Utc>,
    ) -> Option<Json> {
        match d.as_str() {
            Some("$today") => Some(Json::String(
                now.date_naive().format("%Y-%m-%d").to_string(),
            )),
            Some("$now") => Some(Json::String(weft_meta::value::datetime_string(&now))),
            Some("$me") if matches!(kind, FieldKind::User) => {
                Some(Json::String(p.user.to_string()))
            }
            _ => Some(d.clone()),
        }
    }

    /// Fill defaults for fields the write did not mention, then report missing required fields.
    fn fill_defaults(
        &self,
        p: &Principal,
        obj: &CompiledObject,
        values: &mut Values,
        now: DateTime<Utc>,
        index: Option<usize>,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for f in obj.live_fields() {
            if f.is_generated() || values.contains_key(f.name()) {
                continue;
            }
            if let Some(d) = &f.default
                && let Some(j) = self.resolve_default(p, &f.kind, d, now)
                && let Ok(v) = weft_meta::value::coerce(f, &j, None)
            {
                values.insert(f.name().to_owned(), v);
                continue;
            }
            if f.is_required() {
                let path = match index {
                    Some(i) => format!("/records/{i}/{}", f.name()),
                    None => format!("/{}", f.name()),
                };
                problems.push(Problem::new(
                    path,
                    "required",
                    format!("'{}' is required", f.name()),
                ));
            }
        }
        problems
    }

    async fn assign_auto_numbers(
        &self,
        tx: &mut dyn Tx,
        obj: &CompiledObject,
        values: &mut Values,
        now: DateTime<Utc>,
    ) -> Result<()> {
        for f in obj.live_fields() {
            if let FieldKind::AutoNumber { pattern, start } = &f.kind {
                let pat = AutoNumberPattern::parse(pattern).map_err(Error::internal)?;
                let today = now.date_naive();
                let key = format!("autonumber:{}:{}:{}", obj.def.id, f.id, pat.period(today));
                let n = tx.next_counter(&key, *start).await?;
                values.insert(f.name().to_owned(), Value::Text(pat.render(today, n)));
            }
        }
        Ok(())
    }

    /// Fill multi-lookup values (kept in junction tables) into fetched rows.
    pub(crate) async fn load_multi_links(
        &self,
        tx: &mut dyn Tx,
        obj: &CompiledObject,
        rows: &mut [RecordRow],
    ) -> Result<()> {
        let ml: Vec<_> = obj
            .live_fields()
            .filter(|f| matches!(f.kind, FieldKind::MultiLookup { .. }))
            .cloned()
            .collect();
        if ml.is_empty() || rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        for f in ml {
            let links = tx.load_links(obj, &f, &ids).await?;
            for r in rows.iter_mut() {
                let l = links.get(&r.id).cloned().unwrap_or_default();
                r.values.insert(f.name().to_owned(), Value::UuidList(l));
            }
        }
        Ok(())
    }

    async fn write_links(
        &self,
        tx: &mut dyn Tx,
        obj: &CompiledObject,
        id: Uuid,
        values: &Values,
    ) -> Result<()> {
        for (name, v) in values {
            if let (Some(f), Value::UuidList(l)) = (obj.field(name), v)
                && matches!(f.kind, FieldKind::MultiLookup { .. })
            {
                tx.set_links(obj, f, id, l).await?;
            }
        }
        Ok(())
    }

    /// Build rows for creation: parse, defaults, references, uniqueness, auto numbers.
    pub(crate) async fn prepare_creates(
        &self,
        tx: &mut dyn Tx,
        meta: &TenantMeta,
        p: &Principal,
        g: &Guard,
        obj: &CompiledObject,
        bodies: &[&Json],
        bulk: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<std::result::Result<RecordRow, Vec<Problem>>>> {
        let prefix = |i: usize, ps: Vec<Problem>| -> Vec<Problem> {
            if bulk {
                ps.into_iter()
                    .map(|x| x.under(&format!("/records/{i}")))
                    .collect()
            } else {
                ps
            }
        };
        let mut parsed = Vec::with_capacity(bodies.len());
        let mut per_row_problems: Vec<Vec<Problem>> = Vec::with_capacity(bodies.len());
        for (i, body) in bodies.iter().enumerate() {
            let index = bulk.then_some(i);
            let (screened, mut denied) = screen_body(g, obj, body, WriteMode::Create, "");
            let body = &screened;
            let (mut w, ps) = obj.parse_write(body, WriteMode::Create, None);
            denied.extend(ps);
            let mut ps = prefix(i, denied);
            // Defaults fill only fields the body did not mention at all.
            let mentioned: Vec<String> = body
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let missing: Vec<Problem> = self
                .fill_defaults(p, obj, &mut w.values, now, index)
                .into_iter()
                .filter(|m| !mentioned.iter().any(|k| m.path.ends_with(&format!("/{k}"))))
                .collect();
            ps.extend(missing);
            parsed.push(w);
            per_row_problems.push(ps);
        }
        let ids: Vec<Uuid> = parsed
            .iter()
            .map(|w| w.id.unwrap_or_else(Uuid::now_v7))
            .collect();
        for (i, w) in parsed.iter_mut().enumerate() {
            let ps = self
                .before_save(
                    tx,
                    meta,
                    p,
                    obj,
                    BeforeSave {
                        op: WriteOp::Create,
                        id: ids[i],
                        old: None,
                        values: &mut w.values,
                        index: bulk.then_some(i),
                    },
                )
                .await?;
            per_row_problems[i].extend(ps);
        }
        {
            let mut pending: Vec<Pending> = parsed
                .iter_mut()
                .enumerate()
                .map(|(i, w)| Pending {
                    index: bulk.then_some(i),
                    id: ids[i],
                    values: &mut w.values,
                    owner: w.owner,
                    department: w.department,
                })
                .collect();
            let problems = check_rows(tx, meta, obj, &mut pending).await?;
            for pr in problems {
                let idx = if bulk {
                    pr.path
                        .strip_prefix("/records/")
                        .and_then(|s| s.split('/').next())
                        .and_then(|s| s.parse::<usize>().ok())
                        .unwrap_or(0)
                } else {
                    0
                };
                per_row_problems[idx].push(pr);
            }
        }
        // Client-supplied ids must be new.
        let supplied: Vec<Uuid> = parsed.iter().filter_map(|w| w.id).collect();
        if !supplied.is_empty() {
            let existing = tx
                .fetch_records(
                    obj,
                    &supplied,
                    FetchOpts {
                        include_deleted: true,
                        ..Default::default()
                    },
                )
                .await?;
            for (i, w) in parsed.iter().enumerate() {
                if let Some(id) = w.id
                    && existing.iter().any(|r| r.id == id)
                {
                    let path = if bulk {
                        format!("/records/{i}/id")
                    } else {
                        "/id".into()
                    };
                    per_row_problems[i].push(Problem::new(
                        path,
                        "unique",
                        "a record with this id exists",
                    ));
                }
            }
        }
        let mut out = Vec::with_capacity(parsed.len());
        for (i, mut w) in parsed.into_iter().enumerate() {
            match () {
                _ if !per_row_problems[i].is_empty() => {
                    let mut ps = std::mem::take(&mut per_row_problems[i]);
                    ps.sort_by(|a, b| (&a.path, &a.code).cmp(&(&b.path, &b.code)));
                    ps.dedup_by(|a, b| a.path == b.path && a.code == b.code);
                    out.push(Err(ps));
                }
                _ => {
                    self.assign_auto_numbers(tx, obj, &mut w.values, now)
                        .await?;
                    out.push(Ok(RecordRow {
                        id: ids[i],
                        version: 1,
                        owner: w.owner.unwrap_or(p.user.0),
                        department: w.department.unwrap_or(p.department),
                        created_by: p.user.0,
                        created_at: now,
                        updated_by: p.user.0,
                        updated_at: now,
                        deleted_at: None,
                        deleted_by: None,
                        delete_batch: None,
                        values: w.values,
                    }));
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn persist_creates(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        obj: &CompiledObject,
        rows: &[RecordRow],
    ) -> Result<()> {
        tx.insert_records(obj, rows).await?;
        let mut changes = Vec::with_capacity(rows.len());
        for r in rows {
            self.write_links(tx, obj, r.id, &r.values).await?;
            let nonnull: Values = r
                .values
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            changes.push(ChangeEntry {
                id: Uuid::now_v7(),
                object: obj.api_name().to_owned(),
                record_id: r.id,
                op: "create".into(),
                actor: p.user.0,
                source: p.source.as_str().into(),
                at: r.created_at,
                version: 1,
                diff: change_diff(obj, None, &nonnull),
            });
        }
        tx.append_changes(&changes).await?;
        let saved: Vec<AfterSave> = rows
            .iter()
            .map(|r| AfterSave {
                op: WriteOp::Create,
                old: None,
                new: Some(r),
            })
            .collect();
        // Inside the write transaction: never open a second connection for a cache refresh
        // (16 concurrent writers would hold the whole pool and wait on each other).
        let meta = self.meta_in_tx(p.tenant).await?;
        self.after_save(tx, &meta, p, obj, &saved).await
    }

    /// Create one record.
    pub async fn create_record(
        &self,
        p: &Principal,
        object: &str,
        body: &Json,
        idem: Option<&Idempotency>,
    ) -> Result<(u16, Json)> {
        let meta = self.meta(p.tenant).await?;
        let obj = meta
            .object(object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
        let g = self.guard(p, object).await?;
        g.require(Op::Create, object)?;
        let now = self.clock.now();
        let mut tx = self.store.begin(p.tenant, TxMode::Write).await?;
        if let Some(i) = idem
            && let Some(prev) = tx.idempotency_get(&i.key).await?
        {
            if prev.fingerprint != i.fingerprint {
                return Err(Error::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request",
                ));
            }
            return Ok((prev.status as u16, prev.body));
        }
        let mut rows = self
            .prepare_creates(tx.as_mut(), &meta, p, &g, &obj, &[body], false, now)
            .await?;
        let row = match rows.pop() {
            Some(Ok(r)) => r,
            Some(Err(ps)) => return Err(Error::Validation(ps)),
            None => return Err(Error::internal("no row prepared")),
        };
        self.persist_creates(tx.as_mut(), p, &obj, std::slice::from_ref(&row))
            .await?;
        let out = record_json(&obj, &row, None, &|f| g.can_see(f));
        if let Some(i) = idem {
            tx.idempotency_put(&IdempotencyRow {
                key: i.key.clone(),
                fingerprint: i.fingerprint.clone(),
                status: 201,
                body: out.clone(),
                created_at: now,
            })
            .await?;
        }
        tx.commit().await?;
        Ok((201, out))
    }

    /// Create up to `bulk_max` records. With `all_or_none`, any problem rejects the whole call
    /// (problems are reported per record path); otherwise the valid records are created.
    pub async fn create_records(
        &self,
        p: &Principal,
        object: &str,
        bodies: &[Json],
        all_or_none: bool,
    ) -> Result<BulkOutcome> {
        if bodies.is_empty() || bodies.len() > self.config.bulk_max {
            return Err(Error::one(
                "/records",
                "max_items",
                format!("send 1 to {} records per call", self.config.bulk_max),
            ));
        }
        let meta = self.meta(p.tenant).await?;
        let obj = meta
            .object(object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
        let g = self.guard(p, object).await?;
        g.require(Op::Create, object)?;
        let now = self.clock.now();
        let mut tx = self.store.begin(p.tenant, TxMode::Write).await?;
        let refs: Vec<&Json> = bodies.iter().collect();
        let prepared = self
            .prepare_creates(tx.as_mut(), &meta, p, &g, &obj, &refs, true, now)
            .await?;
        let failed: Vec<Problem> = prepared
            .iter()
            .filter_map(|r| r.as_ref().err())
            .flatten()
            .cloned()
            .collect();
        if all_or_none && !failed.is_empty() {
            return Err(Error::Validation(failed));
        }
        let ok_rows: Vec<RecordRow> = prepared
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        if !ok_rows.is_empty() {
            self.persist_creates(tx.as_mut(), p, &obj, &ok_rows).await?;
        }
        tx.commit().await?;
        let mut results = Vec::with_capacity(prepared.len());
        let (mut succeeded, mut nfailed) = (0, 0);
        for r in prepared {
            match r {
                Ok(row) => {
                    succeeded += 1;
                    results.push(
                        json!({"ok": true, "record": record_json(&obj, &row, None, &|f| g.can_see(f))}),
                    );
                }
                Err(ps) => {
                    nfailed += 1;
                    results.push(json!({"ok": false, "errors": ps}));
                }
            }
        }
        Ok(BulkOutcome {
            results,
            succeeded,
            failed: nfailed,
        })
    }

    /// Load one live record or fail with not-found.
    pub(crate) async fn load_one(
        &self,
        tx: &mut dyn Tx,
        obj: &CompiledObject,
        id: Uuid,
        opts: FetchOpts,
        scope: Option<&Pred>,
    ) -> Result<RecordRow> {
        let mut rows = tx.fetch_scoped(obj, &[id], opts, scope).await?;
        self.load_multi_links(tx, obj, &mut rows).await?;
        rows.pop().ok_or_else(|| Error::not_found("record"))
    }

    pub async fn get_record(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        expand: &[String],
    ) -> Result<(i64, Json)> {
        let meta = self.meta(p.tenant).await?;
        let obj = meta
            .object(object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
        let g = self.guard(p, object).await?;
        g.require(Op::Read, object)?;
        let expand: Vec<String> = expand.iter().filter(|f| g.can_see(f)).cloned().collect();
        let mut tx = self.store.begin(p.tenant, TxMode::Read).await?;
        let row = self
            .load_one(tx.as_mut(), &obj, id, FetchOpts::default(), g.scope())
            .await?;
        let mut out = vec![record_json(&obj, &row, None, &|f| g.can_see(f))];
        if !expand.is_empty() {
            self.expand(
                tx.as_mut(),
                p,
                &meta,
                &obj,
                std::slice::from_ref(&row),
                &expand,
                &mut out,
            )
            .await?;
        }
        tx.commit().await?;
        Ok((row.version, out.pop().unwrap_or(Json::Null)))
    }

    /// Embed the target records of lookup fields under `_expand`.
    pub(crate) async fn expand(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        meta: &TenantMeta,
        obj: &CompiledObject,
        rows: &[RecordRow],
        fields: &[String],
        out: &mut [Json],
    ) -> Result<()> {
        for name in fields {
            let Some(target) = obj.field(name).and_then(|f| f.kind.reference_target()) else {
                continue;
            };
            let Some(tobj) = meta.object(target.as_str()).cloned() else {
                continue;
            };
            let ids: Vec<Uuid> = rows
                .iter()
                .filter_map(|r| match r.values.get(name) {
                    Some(Value::Uuid(u)) => Some(*u),
                    _ => None,
                })
                .collect();
            if ids.is_empty() {
                continue;
            }
            // The target's own rights apply: out-of-scope targets are not embedded.
            let tg = self.guard(p, target.as_str()).await?;
            if !tg.allows(Op::Read) {
                continue;
            }
            let targets: HashMap<Uuid, Json> = tx
                .fetch_scoped(&tobj, &ids, FetchOpts::default(), tg.scope())
                .await?
                .iter()
                .map(|t| (t.id, record_json(&tobj, t, None, &|f| tg.can_see(f))))
                .collect();
            for (row, j) in rows.iter().zip(out.iter_mut()) {
                let Some(Value::Uuid(u)) = row.values.get(name) else {
                    continue;
                };
                if let (Some(t), Some(m)) = (targets.get(u), j.as_object_mut()) {
                    let e = m
                        .entry("_expand")
                        .or_insert_with(|| Json::Object(Map::new()));
                    if let Some(em) = e.as_object_mut() {
                        em.insert(name.clone(), t.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Apply a patch to a loaded row inside `tx`; returns the new row (unchanged row when the
    /// patch changes nothing).
    pub(crate) async fn patch_row(
        &self,
        tx: &mut dyn Tx,
        meta: &TenantMeta,
        p: &Principal,
        g: &Guard,
        obj: &CompiledObject,
        current: RecordRow,
        body: &Json,
        index: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<RecordRow, Vec<Problem>>> {
        let (screened, mut denied) = screen_body(g, obj, body, WriteMode::Patch, "");
        let (parsed, parse_problems) =
            obj.parse_write(&screened, WriteMode::Patch, Some(&current.values));
        denied.extend(parse_problems);
        let parse_problems = denied;
        let parse_problems: Vec<Problem> = match index {
            Some(i) => parse_problems
                .into_iter()
                .map(|x| x.under(&format!("/records/{i}")))
                .collect(),
            None => parse_problems,
        };
        let mut changed: Values = parsed
            .values
            .into_iter()
            .filter(|(k, v)| current.values.get(k).unwrap_or(&Value::Null) != v)
            .collect();
        let owner = parsed.owner.filter(|o| *o != current.owner);
        let department = parsed.department.filter(|d| *d != current.department);
        if changed.is_empty()
            && owner.is_none()
            && department.is_none()
            && parse_problems.is_empty()
        {
            return Ok(Ok(current));
        }
        // A record under approval is locked except the fields the current node opens.
        self.flow_write_check(tx, p, obj, current.id, &changed)
            .await?;
        let hook_problems = self
            .before_save(
                tx,
                meta,
                p,
                obj,
                BeforeSave {
                    op: WriteOp::Update,
                    id: current.id,
                    old: Some(&current),
                    values: &mut changed,
                    index,
                },
            )
            .await?;
        let mut pending = [Pending {
            index,
            id: current.id,
            values: &mut changed,
            owner,
            department,
        }];
        let mut problems = check_rows(tx, meta, obj, &mut pending).await?;
        problems.extend(parse_problems);
        problems.extend(hook_problems);
        if !problems.is_empty() {
            problems.sort_by(|a, b| a.path.cmp(&b.path));
            return Ok(Err(problems));
        }
        let um = UpdateMeta {
            updated_by: p.user.0,
            updated_at: now,
            owner,
            department,
        };
        let column_values: Values = changed
            .iter()
            .filter(|(k, _)| obj.field(k).is_some_and(|f| f.has_column()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let Some(mut row) = tx
            .update_record(obj, current.id, current.version, &um, &column_values)
            .await?
        else {
            return Err(Error::PreconditionFailed {
                expected: current.version,
                current: current.version + 1,
            });
        };
        self.write_links(tx, obj, current.id, &changed).await?;
        for (k, v) in &changed {
            row.values.insert(k.clone(), v.clone());
        }
        for (k, v) in &current.values {
            if !row.values.contains_key(k) {
                row.values.insert(k.clone(), v.clone());
            }
        }
        let mut diff = change_diff(obj, Some(&current.values), &changed);
        if let Some(m) = diff.as_object_mut() {
            if let Some(o) = owner {
                m.insert("owner".into(), json!([current.owner, o]));
            }
            if let Some(d) = department {
                m.insert("department".into(), json!([current.department, d]));
            }
        }
        tx.append_changes(&[ChangeEntry {
            id: Uuid::now_v7(),
            object: obj.api_name().to_owned(),
            record_id: current.id,
            op: "update".into(),
            actor: p.user.0,
            source: p.source.as_str().into(),
            at: now,
            version: row.version,
            diff,
        }])
        .await?;
        self.after_save(
            tx,
            meta,
            p,
            obj,
            &[AfterSave {
                op: WriteOp::Update,
                old: Some(&current),
                new: Some(&row),
            }],
        )
        .await?;
        Ok(Ok(row))
    }

    /// PATCH one record. `if_match` is the version the client last saw.
    pub async fn update_record(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        body: &Json,
        if_match: Option<i64>,
    ) -> Result<Json> {
        use crate::flows::lock::UNDER_FLOW;
        let (out, under_flow) = UNDER_FLOW
            .scope(std::cell::Cell::new(false), async {
                let out = self.update_one(p, object, id, body, if_match).await;
                (out, UNDER_FLOW.with(std::cell::Cell::get))
            })
            .await;
        // Approval instances on the record see its new values (wait conditions re-check).
        if out.is_ok()
            && under_flow
            && let Err(e) = self.flow_record_changed(p.tenant, id, None).await
        {
            tracing::warn!(record = %id, error = %e, "flow instances not told of a record change");
        }
        out
    }

    async fn update_one(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        body: &Json,
        if_match: Option<i64>,
    ) -> Result<Json> {
        if if_match.is_none() && self.config.require_if_match {
            return Err(Error::PreconditionRequired);
        }
        let meta = self.meta(p.tenant).await?;
        let obj = meta
            .object(object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
        let g = self.guard(p, object).await?;
        g.require(Op::Update, object)?;
        let now = self.clock.now();
        let mut tx = self.store.begin(p.tenant, TxMode::Write).await?;
        let current = self
            .load_one(
                tx.as_mut(),
                &obj,
                id,
                FetchOpts {
                    for_update: true,
                    ..Default::default()
                },
                g.scope(),
            )
            .await?;
        if let Some(v) = if_match
            && v != current.version
        {
            return Err(Error::PreconditionFailed {
                expected: v,
                current: current.version,
            });
        }
        let row = match self
            .patch_row(tx.as_mut(), &meta, p, &g, &obj, current, body, None, now)
            .await?
        {
            Ok(r) => r,
            Err(ps) => return Err(Error::Validation(ps)),
        };
        tx.commit().await?;
        Ok(record_json(&obj, &row, None, &|f| g.can_see(f)))
    }

    /// PATCH many records; each body carries its `id` (and optionally `version`).
    pub async fn update_records(
        &self,
        p: &Principal,
        object: &str,
        bodies: &[Json],
        all_or_none: bool,
    ) -> Result<BulkOutcome> {
        crate::flows::lock::UNDER_FLOW
            .scope(
                std::cell::Cell::new(false),
                self.update_many(p, object, bodies, all_or_none),
            )
            .await
    }

    async fn update_many(
        &self,
        p: &Principal,
        object: &str,
        bodies: &[Json],
        all_or_none: bool,
    ) -> Result<BulkOutcome> {
        if bodies.is_empty() || bodies.len() > self.config.bulk_max {
            return Err(Error::one(
                "/records",
                "max_items",
                format!("send 1 to {} records per call", self.config.bulk_max),
            ));
        }
        let meta = self.meta(p.tenant).await?;
        let obj = meta
            .object(object)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("object '{object}'")))?;
        let g = self.guard(p, object).await?;
        g.require(Op::Update, object)?;
        let now = self.clock.now();
        let mut tx = self.store.begin(p.tenant, TxMode::Write).await?;
        let mut ids = Vec::with_capacity(bodies.len());
        let mut problems = Vec::new();
        for (i, b) in bodies.iter().enumerate() {
            match b
                .get("id")
                .and_then(Json::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
            {
                Some(id) => ids.push(Some(id)),
                None => {
                    problems.push(Problem::new(
                        format!("/records/{i}/id"),
                        "required",
                        "each record needs its id",
                    ));
                    ids.push(None);
                }
            }
        }
        let wanted: Vec<Uuid> = ids.iter().flatten().copied().collect();
        let mut found: HashMap<Uuid, RecordRow> = {
            let mut rows = tx
                .fetch_scoped(
                    &obj,
                    &wanted,
                    FetchOpts {
                        for_update: true,
                        ..Default::default()
                    },
                    g.scope(),
                )
                .await?;
            self.load_multi_links(tx.as_mut(), &obj, &mut rows).await?;
            rows.into_iter().map(|r| (r.id, r)).collect()
        };
        let mut results: Vec<std::result::Result<RecordRow, Vec<Problem>>> =
            Vec::with_capacity(bodies.len());
        for (i, b) in bodies.iter().enumerate() {
            let Some(id) = ids[i] else {
                results.push(Err(vec![Problem::new(
                    format!("/records/{i}/id"),
                    "required",
                    "each record needs its id",
                )]));
                continue;
            };
            let Some(current) = found.remove(&id) else {
                results.push(Err(vec![Problem::new(
                    format!("/records/{i}/id"),
                    "not_found",
                    "no such record",
                )]));
                continue;
            };
            if let Some(v) = b.get("version").and_then(Json::as_i64)
                && v != current.version
            {
                results.push(Err(vec![Problem::new(
                    format!("/records/{i}/version"),
                    "stale",
                    format!("the record is at version {}", current.version),
                )]));
                continue;
            }
            let mut body = b.clone();
            if let Some(m) = body.as_object_mut() {
                m.remove("id");
                m.remove("version");
            }
            results.push(
                self.patch_row(
                    tx.as_mut(),
                    &meta,
                    p,
                    &g,
                    &obj,
                    current,
                    &body,
                    Some(i),
                    now,
                )
                .await?,
            );
        }
        problems.clear();
        for r in &results {
            if let Err(ps) = r {
                problems.extend(ps.iter().cloned());
            }
        }
        if all_or_none && !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        tx.commit().await?;
        let updated: Vec<Uuid> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|row| row.id))
            .collect();
        // Only when a running instance is on one of them (set by the record lock check).
        if crate::flows::lock::UNDER_FLOW
            .try_with(std::cell::Cell::get)
            .unwrap_or(true)
            && let Err(e) = self.flow_records_changed(p.tenant, &updated, None).await
        {
            tracing::warn!(error = %e, "flow instances not told of bulk record changes");
        }
        let (mut succeeded, mut failed) = (0, 0);
        let results = results
            .into_iter()
            .map(|r| match r {
                Ok(row) => {
                    succeeded += 1;
                    json!({"ok": true, "record": record_json(&obj, &row, None, &|f| g.can_see(f))})
                }
                Err(ps) => {
                    failed += 1;
                    json!({"ok": false, "errors": ps})
                }
            })
            .collect();
        Ok(BulkOutcome {
            results,
            succeeded,
            failed,
        })
    }

    /// The change log of one record, newest first (deleted records included).
    pub async fn record_history(
        &self,
        p: &Principal,
        object: &str,
        id: Uuid,
        limit: u32,
    ) -> Result<Json> {
        let obj = self.object(p.tenant, object).await?;
        let g = self.guard(p, object).await?;
        g.require(Op::Read, object)?;
        let mut tx = self.store.begin(p.tenant, TxMode::Read).await?;
        self.load_one(
            tx.as_mut(),
            &obj,
            id,
            FetchOpts {
                include_deleted: true,
                ..Default::default()
            },
            g.scope(),
        )
        .await?;
        let entries = tx.history(object, id, limit.clamp(1, 500)).await?;
        tx.commit().await?;
        let changes: Vec<Json> = entries
            .into_iter()
            .map(|e| {
                // Hidden fields leave no trace in the history either.
                let mut diff = e.diff;
                if let Some(m) = diff.as_object_mut() {
                    m.retain(|k, _| {
                        obj.field(k).is_none_or(|_| g.can_see(k))
                            && (obj.field(k).is_some() || !k.starts_with('_') || k == "_reason")
                    });
                }
                json!({
                    "id": e.id, "op": e.op, "actor": e.actor, "source": e.source,
                    "at": weft_meta::value::datetime_string(&e.at), "version": e.version,
                    "changes": diff
                })
            })
            .collect();
        Ok(json!({ "changes": changes }))
    }

    /// Convert a typed value of `field` to JSON (for callers outside this crate).
    pub fn field_json(obj: &Arc<CompiledObject>, field: &str, v: &Value) -> Json {
        obj.field(field)
            .map(|f| to_json(&f.kind, v))
            .unwrap_or(Json::Null)
    }
}
