//! Semantic checks of writes that need the database: references exist in the same tenant,
//! unique values are free, attachments exist. Checks run batched over all rows of a write so
//! a bulk call costs one query per referenced object, not one per row.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};
use uuid::Uuid;
use weft_meta::problem::pointer_segment;
use weft_meta::{CompiledObject, FieldKind, Problem, Value, Values};

use crate::core::cache::TenantMeta;
use crate::error::Result;
use crate::ports::prelude::*;

/// One row under check: its index in the request (for paths) and values being written.
pub(crate) struct Pending<'a> {
    pub index: Option<usize>,
    pub id: Uuid,
    pub values: &'a mut Values,
    pub owner: Option<Uuid>,
    pub department: Option<Option<Uuid>>,
}

fn path(index: Option<usize>, field: &str) -> String {
    match index {
        Some(i) => format!("/records/{i}/{}", pointer_segment(field)),
        None => format!("/{}", pointer_segment(field)),
    }
}

/// Check references, uniqueness and attachments; enrich attachment values with file metadata.
pub(crate) async fn check_rows(
    tx: &mut dyn Tx,
    meta: &TenantMeta,
    obj: &CompiledObject,
    rows: &mut [Pending<'_>],
) -> Result<Vec<Problem>> {
    let wanted = Wanted::gather(obj, rows);
    let found = wanted.load(tx, meta).await?;
    let mut problems = Vec::new();
    for r in rows.iter_mut() {
        found.judge(obj, r, &mut problems);
    }
    check_unique(tx, obj, rows, &mut problems).await?;
    Ok(problems)
}

/// The ids a write refers to, by kind.
#[derive(Default)]
struct Wanted {
    records: HashMap<String, HashSet<Uuid>>,
    users: HashSet<Uuid>,
    depts: HashSet<Uuid>,
    files: HashSet<Uuid>,
}

/// Which of the wanted ids exist in the tenant (files with their metadata).
struct Found {
    records: HashMap<String, HashSet<Uuid>>,
    users: HashSet<Uuid>,
    depts: HashSet<Uuid>,
    files: HashMap<Uuid, crate::ports::FileRow>,
}

fn attachment_id(item: &Json) -> Option<Uuid> {
    item.get("id")
        .and_then(Json::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

impl Wanted {
    fn gather(obj: &CompiledObject, rows: &[Pending<'_>]) -> Self {
        let mut w = Self::default();
        for r in rows {
            if let Some(o) = r.owner {
                w.users.insert(o);
            }
            if let Some(Some(d)) = r.department {
                w.depts.insert(d);
            }
            for (name, v) in r.values.iter() {
                let Some(f) = obj.field(name) else { continue };
                match (&f.kind, v) {
                    (
                        FieldKind::Lookup { target, .. } | FieldKind::MasterDetail { target },
                        Value::Uuid(u),
                    ) => {
                        w.records.entry(target.to_string()).or_default().insert(*u);
                    }
                    (FieldKind::MultiLookup { target, .. }, Value::UuidList(l)) => {
                        w.records
                            .entry(target.to_string())
                            .or_default()
                            .extend(l.iter().copied());
                    }
                    (FieldKind::User, Value::Uuid(u)) => {
                        w.users.insert(*u);
                    }
                    (FieldKind::Department, Value::Uuid(u)) => {
                        w.depts.insert(*u);
                    }
                    (FieldKind::Attachment { .. }, Value::Json(Json::Array(a))) => {
                        w.files.extend(a.iter().filter_map(attachment_id));
                    }
                    _ => {}
                }
            }
        }
        w
    }

    /// One query per referenced object and per kind.
    async fn load(self, tx: &mut dyn Tx, meta: &TenantMeta) -> Result<Found> {
        let mut records = HashMap::new();
        for (target, ids) in self.records {
            let ids: Vec<Uuid> = ids.into_iter().collect();
            let existing = match meta.object(&target) {
                Some(t) => tx.existing_ids(t, &ids).await?,
                None => vec![],
            };
            records.insert(target, existing.into_iter().collect());
        }
        let users = if self.users.is_empty() {
            HashSet::new()
        } else {
            let ids: Vec<Uuid> = self.users.into_iter().collect();
            tx.existing_users(&ids).await?.into_iter().collect()
        };
        let depts = if self.depts.is_empty() {
            HashSet::new()
        } else {
            let ids: Vec<Uuid> = self.depts.into_iter().collect();
            tx.existing_departments(&ids).await?.into_iter().collect()
        };
        let files = if self.files.is_empty() {
            HashMap::new()
        } else {
            let ids: Vec<Uuid> = self.files.into_iter().collect();
            tx.files(&ids)
                .await?
                .into_iter()
                .map(|f| (f.id, f))
                .collect()
        };
        Ok(Found {
            records,
            users,
            depts,
            files,
        })
    }
}

impl Found {
    fn has(&self, target: &str, u: &Uuid) -> bool {
        self.records.get(target).is_some_and(|s| s.contains(u))
    }

    /// Problems of one row's references; attachment values get the file's metadata.
    fn judge(&self, obj: &CompiledObject, r: &mut Pending<'_>, problems: &mut Vec<Problem>) {
        let missing = |at: String, what: String| Problem::new(at, "not_found", what);
        if let Some(o) = r.owner
            && !self.users.contains(&o)
        {
            problems.push(missing(
                path(r.index, "owner"),
                "no such user in this tenant".into(),
            ));
        }
        if let Some(Some(d)) = r.department
            && !self.depts.contains(&d)
        {
            problems.push(missing(
                path(r.index, "department"),
                "no such department in this tenant".into(),
            ));
        }
        for (name, v) in r.values.iter_mut() {
            let Some(f) = obj.field(name) else { continue };
            match (&f.kind, &mut *v) {
                (
                    FieldKind::Lookup { target, .. } | FieldKind::MasterDetail { target },
                    Value::Uuid(u),
                ) if !self.has(target.as_str(), u) => {
                    problems.push(missing(
                        path(r.index, name),
                        format!("no {target} record with id {u}"),
                    ));
                }
                (FieldKind::MultiLookup { target, .. }, Value::UuidList(l)) => {
                    for (i, u) in l.iter().enumerate() {
                        if !self.has(target.as_str(), u) {
                            problems.push(missing(
                                format!("{}/{i}", path(r.index, name)),
                                format!("no {target} record with id {u}"),
                            ));
                        }
                    }
                }
                (FieldKind::User, Value::Uuid(u)) if !self.users.contains(u) => {
                    problems.push(missing(
                        path(r.index, name),
                        "no such user in this tenant".into(),
                    ));
                }
                (FieldKind::Department, Value::Uuid(u)) if !self.depts.contains(u) => {
                    problems.push(missing(
                        path(r.index, name),
                        "no such department in this tenant".into(),
                    ));
                }
                (
                    FieldKind::Attachment {
                        max_file_size,
                        accept,
                        ..
                    },
                    Value::Json(Json::Array(items)),
                ) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        let at = format!("{}/{i}", path(r.index, name));
                        match attachment_id(item).and_then(|id| self.files.get(&id)) {
                            None => {
                                problems.push(missing(at, "no such file in this tenant".into()))
                            }
                            Some(file) => {
                                check_file(file, *max_file_size, accept, &at, problems);
                                *item = file_json(file);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn check_file(
    file: &crate::ports::FileRow,
    max_file_size: u64,
    accept: &[String],
    at: &str,
    problems: &mut Vec<Problem>,
) {
    if file.size as u64 > max_file_size {
        problems.push(Problem::new(
            at,
            "file_too_large",
            format!("files may be at most {max_file_size} bytes"),
        ));
    }
    if !accept.is_empty() && !accept.iter().any(|a| media_matches(a, &file.content_type)) {
        problems.push(Problem::new(
            at,
            "file_type",
            format!("'{}' is not an accepted file type", file.content_type),
        ));
    }
}

/// An attachment value as stored: the file's id, name, size and type.
fn file_json(file: &crate::ports::FileRow) -> Json {
    let mut m = Map::new();
    m.insert("id".into(), Json::String(file.id.to_string()));
    m.insert("name".into(), Json::String(file.name.clone()));
    m.insert("size".into(), Json::from(file.size));
    m.insert(
        "content_type".into(),
        Json::String(file.content_type.clone()),
    );
    Json::Object(m)
}

/// Uniqueness: against stored rows and within this batch.
async fn check_unique(
    tx: &mut dyn Tx,
    obj: &CompiledObject,
    rows: &[Pending<'_>],
    problems: &mut Vec<Problem>,
) -> Result<()> {
    for f in obj.live_fields().filter(|f| f.unique) {
        let name = f.name();
        let mut seen: Vec<(&Value, Option<usize>)> = Vec::new();
        let mut values = Vec::new();
        for r in rows.iter() {
            if let Some(v) = r.values.get(name).filter(|v| !v.is_null()) {
                if seen.iter().any(|(x, _)| *x == v) {
                    problems.push(Problem::new(
                        path(r.index, name),
                        "unique",
                        "the same value appears twice in this request",
                    ));
                } else {
                    seen.push((v, r.index));
                    values.push(v.clone());
                }
            }
        }
        if values.is_empty() {
            continue;
        }
        let exclude: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let taken = tx.taken_values(obj, name, &values, &exclude).await?;
        for (v, idx) in seen {
            if taken.contains(v) {
                problems.push(Problem::new(
                    path(idx, name),
                    "unique",
                    format!(
                        "another {} record already has this {}",
                        obj.api_name(),
                        name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn media_matches(pattern: &str, actual: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(prefix) => actual.split('/').next() == Some(prefix),
        None => pattern.eq_ignore_ascii_case(actual),
    }
}
