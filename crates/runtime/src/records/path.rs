//! The single write path inside a transaction: parse and screen a body, fill defaults and
//! auto numbers, run the registered hooks, check references and uniqueness, persist the row,
//! its links and its change log. Every record write — UI, API, bulk, import, rule actions,
//! flow actions, roll-ups — ends here.
//!
//! Architecture invariant: a `WritePath` holds no storage handle. It works only on the
//! [`TxCtx`] it is given, whose snapshots were loaded before the transaction began, so it
//! cannot take a second pool connection.

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};
use uuid::Uuid;
use weft_meta::autonumber::AutoNumberPattern;
use weft_meta::query::Pred;
use weft_meta::{CompiledObject, FieldKind, Problem, Value, Values, WriteMode};

use super::checks::{Pending, check_rows};
use super::hooks::{AfterSave, BeforeSave, Hooks, WriteOp};
use crate::access::Guard;
use crate::access::model::FieldAccess;
use crate::core::TxCtx;
use crate::error::{Error, Result};
use crate::ports::prelude::*;
use crate::ports::{ChangeEntry, FetchOpts, RecordRow, UpdateMeta};
use crate::principal::Principal;

/// A created row, or the problems that kept it from being created.
pub type Prepared = std::result::Result<RecordRow, Vec<Problem>>;

/// New records parsed, defaulted and run through the before-save hooks, with each one's
/// problems so far ([`WritePath::stage_creates`]); not yet checked against stored rows.
pub struct StagedCreates {
    parsed: Vec<weft_meta::ParsedWrite>,
    ids: Vec<Uuid>,
    per_row: Vec<Vec<Problem>>,
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

pub(crate) fn change_diff(obj: &CompiledObject, old: Option<&Values>, new: &Values) -> Json {
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

fn resolve_default(p: &Principal, kind: &FieldKind, d: &Json, cx: &TxCtx) -> Json {
    match d.as_str() {
        Some("$today") => Json::String(cx.now.date_naive().format("%Y-%m-%d").to_string()),
        Some("$now") => Json::String(weft_meta::value::datetime_string(&cx.now)),
        Some("$me") if matches!(kind, FieldKind::User) => Json::String(p.user.to_string()),
        _ => d.clone(),
    }
}

/// Fill defaults for fields the write did not mention, then report missing required fields.
fn fill_defaults(
    cx: &TxCtx,
    p: &Principal,
    obj: &CompiledObject,
    values: &mut Values,
    index: Option<usize>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for f in obj.live_fields() {
        if f.is_generated() || values.contains_key(f.name()) {
            continue;
        }
        if let Some(d) = &f.default
            && let Ok(v) = weft_meta::value::coerce(f, &resolve_default(p, &f.kind, d, cx), None)
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
    cx: &mut TxCtx,
    obj: &CompiledObject,
    values: &mut Values,
) -> Result<()> {
    for f in obj.live_fields() {
        if let FieldKind::AutoNumber { pattern, start } = &f.kind {
            let pat = AutoNumberPattern::parse(pattern).map_err(Error::internal)?;
            let today = cx.now.date_naive();
            let key = format!("autonumber:{}:{}:{}", obj.def.id, f.id, pat.period(today));
            let n = cx.tx().next_counter(&key, *start).await?;
            values.insert(f.name().to_owned(), Value::Text(pat.render(today, n)));
        }
    }
    Ok(())
}

/// Fill multi-lookup values (kept in junction tables) into fetched rows.
pub(crate) async fn load_multi_links(
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

/// Load one record (with its multi-lookups) or fail with not-found.
pub(crate) async fn load_one(
    tx: &mut dyn Tx,
    obj: &CompiledObject,
    id: Uuid,
    opts: FetchOpts,
    scope: Option<&Pred>,
) -> Result<RecordRow> {
    let mut rows = tx.fetch_scoped(obj, &[id], opts, scope).await?;
    load_multi_links(tx, obj, &mut rows).await?;
    rows.pop().ok_or_else(|| Error::not_found("record"))
}

/// Sort and de-duplicate a row's problems (several checks may name the same path).
fn tidy(mut ps: Vec<Problem>) -> Vec<Problem> {
    ps.sort_by(|a, b| (&a.path, &a.code).cmp(&(&b.path, &b.code)));
    ps.dedup_by(|a, b| a.path == b.path && a.code == b.code);
    ps
}

/// The single write path, bound to no storage: it works on the transaction it is handed.
#[derive(Clone)]
pub struct WritePath {
    hooks: Arc<Hooks>,
}

impl WritePath {
    pub(crate) fn new(hooks: Arc<Hooks>) -> Self {
        Self { hooks }
    }

    /// Where capabilities register their part in every write.
    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.hooks
    }

    async fn before_save(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        row: BeforeSave<'_>,
    ) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        for h in self.hooks.all() {
            let again = BeforeSave {
                op: row.op,
                id: row.id,
                old: row.old,
                values: &mut *row.values,
                index: row.index,
                derived: row.derived,
            };
            problems.extend(h.before_save(self, cx, p, obj, again).await?);
        }
        Ok(problems)
    }

    /// Run the after-save hooks for rows this path (or a delete or restore) stored.
    pub(crate) async fn after_save(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        rows: &[AfterSave<'_>],
    ) -> Result<()> {
        for h in self.hooks.all() {
            h.after_save(self, cx, p, obj, rows).await?;
        }
        Ok(())
    }

    /// Commit a transaction that wrote records, then run the after-commit hooks.
    pub async fn commit(&self, cx: TxCtx) -> Result<()> {
        let tenant = cx.tenant();
        let notes = cx.commit_with_notes().await?;
        if !notes.is_empty() {
            for h in self.hooks.all() {
                h.after_commit(tenant, &notes).await;
            }
        }
        Ok(())
    }

    /// Build rows for creation: parse, defaults, hooks, references, uniqueness, auto numbers.
    pub(crate) async fn prepare_creates(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        g: &Guard,
        obj: &CompiledObject,
        bodies: &[&Json],
        bulk: bool,
    ) -> Result<Vec<Prepared>> {
        let staged = self.stage_creates(cx, p, g, obj, bodies, bulk).await?;
        self.finish_creates(cx, p, obj, staged, bulk).await
    }

    /// The first half of [`WritePath::prepare_creates`]: parse, defaults and the before-save
    /// hooks (the rules). It only reads, so it may run on a read snapshot before the writer
    /// is taken (SQLite: see `records::write`).
    pub(crate) async fn stage_creates(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        g: &Guard,
        obj: &CompiledObject,
        bodies: &[&Json],
        bulk: bool,
    ) -> Result<StagedCreates> {
        let mut parsed = Vec::with_capacity(bodies.len());
        let mut per_row: Vec<Vec<Problem>> = Vec::with_capacity(bodies.len());
        for (i, body) in bodies.iter().enumerate() {
            let index = bulk.then_some(i);
            let (screened, mut ps) = screen_body(g, obj, body, WriteMode::Create, "");
            let (mut w, parse_ps) = obj.parse_write(&screened, WriteMode::Create, None);
            ps.extend(parse_ps);
            if bulk {
                ps = ps
                    .into_iter()
                    .map(|x| x.under(&format!("/records/{i}")))
                    .collect();
            }
            // Defaults fill only fields the body did not mention at all.
            let mentioned: Vec<String> = screened
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            ps.extend(
                fill_defaults(cx, p, obj, &mut w.values, index)
                    .into_iter()
                    .filter(|m| !mentioned.iter().any(|k| m.path.ends_with(&format!("/{k}")))),
            );
            parsed.push(w);
            per_row.push(ps);
        }
        let ids: Vec<Uuid> = parsed
            .iter()
            .map(|w| w.id.unwrap_or_else(Uuid::now_v7))
            .collect();
        for (i, w) in parsed.iter_mut().enumerate() {
            let row = BeforeSave {
                op: WriteOp::Create,
                id: ids[i],
                old: None,
                values: &mut w.values,
                index: bulk.then_some(i),
                derived: false,
            };
            let ps = self.before_save(cx, p, obj, row).await?;
            per_row[i].extend(ps);
        }
        Ok(StagedCreates {
            parsed,
            ids,
            per_row,
        })
    }

    /// The second half of [`WritePath::prepare_creates`], in the write transaction:
    /// references, uniqueness and taken ids checked, auto numbers drawn, rows built.
    pub(crate) async fn finish_creates(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        staged: StagedCreates,
        bulk: bool,
    ) -> Result<Vec<Prepared>> {
        let StagedCreates {
            mut parsed,
            ids,
            mut per_row,
        } = staged;
        {
            let meta = cx.meta.clone();
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
            for pr in check_rows(cx.tx(), &meta, obj, &mut pending).await? {
                let idx = if bulk {
                    pr.path
                        .strip_prefix("/records/")
                        .and_then(|s| s.split('/').next())
                        .and_then(|s| s.parse::<usize>().ok())
                        .unwrap_or(0)
                } else {
                    0
                };
                per_row[idx].push(pr);
            }
        }
        self.refuse_taken_ids(cx, obj, &parsed, &mut per_row, bulk)
            .await?;
        let mut out = Vec::with_capacity(parsed.len());
        for (i, mut w) in parsed.into_iter().enumerate() {
            if !per_row[i].is_empty() {
                out.push(Err(tidy(std::mem::take(&mut per_row[i]))));
                continue;
            }
            assign_auto_numbers(cx, obj, &mut w.values).await?;
            out.push(Ok(RecordRow {
                id: ids[i],
                version: 1,
                owner: w.owner.unwrap_or(p.user.0),
                department: w.department.unwrap_or(p.department),
                created_by: p.user.0,
                created_at: cx.now,
                updated_by: p.user.0,
                updated_at: cx.now,
                deleted_at: None,
                deleted_by: None,
                delete_batch: None,
                values: w.values,
            }));
        }
        Ok(out)
    }

    /// Client-supplied ids must be new.
    async fn refuse_taken_ids(
        &self,
        cx: &mut TxCtx,
        obj: &CompiledObject,
        parsed: &[weft_meta::ParsedWrite],
        per_row: &mut [Vec<Problem>],
        bulk: bool,
    ) -> Result<()> {
        let supplied: Vec<Uuid> = parsed.iter().filter_map(|w| w.id).collect();
        if supplied.is_empty() {
            return Ok(());
        }
        let opts = FetchOpts {
            include_deleted: true,
            ..Default::default()
        };
        let existing = cx.tx().fetch_records(obj, &supplied, opts).await?;
        for (i, w) in parsed.iter().enumerate() {
            if let Some(id) = w.id
                && existing.iter().any(|r| r.id == id)
            {
                let path = if bulk {
                    format!("/records/{i}/id")
                } else {
                    "/id".into()
                };
                per_row[i].push(Problem::new(path, "unique", "a record with this id exists"));
            }
        }
        Ok(())
    }

    /// Store prepared rows with their links and change log, then run the after-save hooks.
    pub(crate) async fn persist_creates(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        rows: &[RecordRow],
    ) -> Result<()> {
        cx.tx().insert_records(obj, rows).await?;
        let mut changes = Vec::with_capacity(rows.len());
        for r in rows {
            write_links(cx.tx(), obj, r.id, &r.values).await?;
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
        cx.tx().append_changes(&changes).await?;
        let saved: Vec<AfterSave> = rows
            .iter()
            .map(|r| AfterSave {
                op: WriteOp::Create,
                old: None,
                new: Some(r),
            })
            .collect();
        self.after_save(cx, p, obj, &saved).await
    }

    /// Apply a JSON patch body to a loaded row: screen it against the guard, parse it, then
    /// [`WritePath::update_values`]. Returns the new row (the unchanged row when the patch
    /// changes nothing).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn patch(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        g: &Guard,
        obj: &CompiledObject,
        current: RecordRow,
        body: &Json,
        index: Option<usize>,
    ) -> Result<Prepared> {
        let (screened, mut problems) = screen_body(g, obj, body, WriteMode::Patch, "");
        let (parsed, parse_problems) =
            obj.parse_write(&screened, WriteMode::Patch, Some(&current.values));
        problems.extend(parse_problems);
        if let Some(i) = index {
            problems = problems
                .into_iter()
                .map(|x| x.under(&format!("/records/{i}")))
                .collect();
        }
        let changed: Values = parsed
            .values
            .into_iter()
            .filter(|(k, v)| current.values.get(k).unwrap_or(&Value::Null) != v)
            .collect();
        let change = Change {
            values: changed,
            owner: parsed.owner.filter(|o| *o != current.owner),
            department: parsed.department.filter(|d| *d != current.department),
            index,
            derived: false,
        };
        self.update_values(cx, p, obj, current, change, problems)
            .await
    }

    /// Store typed changes of a loaded row through the hooks and checks: the part of an update
    /// every source shares (API patches, rule and flow actions, roll-ups). `problems` found by
    /// the caller (parsing) are reported together with the path's own.
    pub(crate) async fn update_values(
        &self,
        cx: &mut TxCtx,
        p: &Principal,
        obj: &CompiledObject,
        current: RecordRow,
        change: Change,
        mut problems: Vec<Problem>,
    ) -> Result<Prepared> {
        let Change {
            values: mut changed,
            owner,
            department,
            index,
            derived,
        } = change;
        if changed.is_empty() && owner.is_none() && department.is_none() && problems.is_empty() {
            return Ok(Ok(current));
        }
        let row = BeforeSave {
            op: WriteOp::Update,
            id: current.id,
            old: Some(&current),
            values: &mut changed,
            index,
            derived,
        };
        let hook_problems = self.before_save(cx, p, obj, row).await?;
        let meta = cx.meta.clone();
        let mut pending = [Pending {
            index,
            id: current.id,
            values: &mut changed,
            owner,
            department,
        }];
        problems.extend(check_rows(cx.tx(), &meta, obj, &mut pending).await?);
        problems.extend(hook_problems);
        if !problems.is_empty() {
            problems.sort_by(|a, b| a.path.cmp(&b.path));
            return Ok(Err(problems));
        }
        let um = UpdateMeta {
            updated_by: p.user.0,
            updated_at: cx.now,
            owner,
            department,
        };
        let column_values: Values = changed
            .iter()
            .filter(|(k, _)| obj.field(k).is_some_and(|f| f.has_column()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let Some(mut row) = cx
            .tx()
            .update_record(obj, current.id, current.version, &um, &column_values)
            .await?
        else {
            return Err(Error::PreconditionFailed {
                expected: current.version,
                current: current.version + 1,
            });
        };
        write_links(cx.tx(), obj, current.id, &changed).await?;
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
        let entry = ChangeEntry {
            id: Uuid::now_v7(),
            object: obj.api_name().to_owned(),
            record_id: current.id,
            op: "update".into(),
            actor: p.user.0,
            source: p.source.as_str().into(),
            at: cx.now,
            version: row.version,
            diff,
        };
        cx.tx().append_changes(&[entry]).await?;
        let saved = [AfterSave {
            op: WriteOp::Update,
            old: Some(&current),
            new: Some(&row),
        }];
        self.after_save(cx, p, obj, &saved).await?;
        Ok(Ok(row))
    }
}

/// Typed changes to one record.
#[derive(Debug, Default)]
pub struct Change {
    pub values: Values,
    pub owner: Option<uuid::Uuid>,
    pub department: Option<Option<uuid::Uuid>>,
    /// Index of the row in a bulk request (for problem paths).
    pub index: Option<usize>,
    /// Values the platform computes (roll-ups): rules run as for any write, but approval
    /// locks and conditional read-only rules, which guard what writers may change, do not
    /// apply to them.
    pub derived: bool,
}
