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
#[allow(clippy::too_many_lines)] // issue 11: split pending
pub(crate) async fn check_rows(
    tx: &mut dyn Tx,
    meta: &TenantMeta,
    obj: &CompiledObject,
    rows: &mut [Pending<'_>],
) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();

    // References: group ids by target object.
    let mut wanted: HashMap<String, HashSet<Uuid>> = HashMap::new();
    let mut users: HashSet<Uuid> = HashSet::new();
    let mut depts: HashSet<Uuid> = HashSet::new();
    let mut files: HashSet<Uuid> = HashSet::new();
    for r in rows.iter() {
        if let Some(o) = r.owner {
            users.insert(o);
        }
        if let Some(Some(d)) = r.department {
            depts.insert(d);
        }
        for (name, v) in r.values.iter() {
            let Some(f) = obj.field(name) else { continue };
            match (&f.kind, v) {
                (
                    FieldKind::Lookup { target, .. } | FieldKind::MasterDetail { target },
                    Value::Uuid(u),
                ) => {
                    wanted.entry(target.to_string()).or_default().insert(*u);
                }
                (FieldKind::MultiLookup { target, .. }, Value::UuidList(l)) => {
                    wanted
                        .entry(target.to_string())
                        .or_default()
                        .extend(l.iter().copied());
                }
                (FieldKind::User, Value::Uuid(u)) => {
                    users.insert(*u);
                }
                (FieldKind::Department, Value::Uuid(u)) => {
                    depts.insert(*u);
                }
                (FieldKind::Attachment { .. }, Value::Json(Json::Array(a))) => {
                    for item in a {
                        if let Some(id) = item
                            .get("id")
                            .and_then(Json::as_str)
                            .and_then(|s| Uuid::parse_str(s).ok())
                        {
                            files.insert(id);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut found: HashMap<String, HashSet<Uuid>> = HashMap::new();
    for (target, ids) in &wanted {
        let ids: Vec<Uuid> = ids.iter().copied().collect();
        let existing = match meta.object(target) {
            Some(t) => tx.existing_ids(t, &ids).await?,
            None => vec![],
        };
        found.insert(target.clone(), existing.into_iter().collect());
    }
    let users_found: HashSet<Uuid> = if users.is_empty() {
        HashSet::new()
    } else {
        tx.existing_users(&users.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .collect()
    };
    let depts_found: HashSet<Uuid> = if depts.is_empty() {
        HashSet::new()
    } else {
        tx.existing_departments(&depts.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .collect()
    };
    let file_rows: HashMap<Uuid, crate::ports::FileRow> = if files.is_empty() {
        HashMap::new()
    } else {
        tx.files(&files.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect()
    };

    for r in rows.iter_mut() {
        if let Some(o) = r.owner
            && !users_found.contains(&o)
        {
            problems.push(Problem::new(
                path(r.index, "owner"),
                "not_found",
                "no such user in this tenant",
            ));
        }
        if let Some(Some(d)) = r.department
            && !depts_found.contains(&d)
        {
            problems.push(Problem::new(
                path(r.index, "department"),
                "not_found",
                "no such department in this tenant",
            ));
        }
        for (name, v) in r.values.iter_mut() {
            let Some(f) = obj.field(name) else { continue };
            match (&f.kind, &mut *v) {
                (
                    FieldKind::Lookup { target, .. } | FieldKind::MasterDetail { target },
                    Value::Uuid(u),
                ) if !found.get(target.as_str()).is_some_and(|s| s.contains(u)) => {
                    problems.push(Problem::new(
                        path(r.index, name),
                        "not_found",
                        format!("no {target} record with id {u}"),
                    ));
                }
                (FieldKind::MultiLookup { target, .. }, Value::UuidList(l)) => {
                    for (i, u) in l.iter().enumerate() {
                        if !found.get(target.as_str()).is_some_and(|s| s.contains(u)) {
                            problems.push(Problem::new(
                                format!("{}/{i}", path(r.index, name)),
                                "not_found",
                                format!("no {target} record with id {u}"),
                            ));
                        }
                    }
                }
                (FieldKind::User, Value::Uuid(u)) if !users_found.contains(u) => {
                    problems.push(Problem::new(
                        path(r.index, name),
                        "not_found",
                        "no such user in this tenant",
                    ));
                }
                (FieldKind::Department, Value::Uuid(u)) if !depts_found.contains(u) => {
                    problems.push(Problem::new(
                        path(r.index, name),
                        "not_found",
                        "no such department in this tenant",
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
                        let id = item
                            .get("id")
                            .and_then(Json::as_str)
                            .and_then(|s| Uuid::parse_str(s).ok());
                        let p = format!("{}/{i}", path(r.index, name));
                        match id.and_then(|id| file_rows.get(&id)) {
                            None => problems.push(Problem::new(
                                p,
                                "not_found",
                                "no such file in this tenant",
                            )),
                            Some(file) => {
                                if file.size as u64 > *max_file_size {
                                    problems.push(Problem::new(
                                        p.clone(),
                                        "file_too_large",
                                        format!("files may be at most {max_file_size} bytes"),
                                    ));
                                }
                                if !accept.is_empty()
                                    && !accept.iter().any(|a| media_matches(a, &file.content_type))
                                {
                                    problems.push(Problem::new(
                                        p,
                                        "file_type",
                                        format!(
                                            "'{}' is not an accepted file type",
                                            file.content_type
                                        ),
                                    ));
                                }
                                let mut m = Map::new();
                                m.insert("id".into(), Json::String(file.id.to_string()));
                                m.insert("name".into(), Json::String(file.name.clone()));
                                m.insert("size".into(), Json::from(file.size));
                                m.insert(
                                    "content_type".into(),
                                    Json::String(file.content_type.clone()),
                                );
                                *item = Json::Object(m);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    // Uniqueness: against stored rows and within this batch.
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
    Ok(problems)
}

fn media_matches(pattern: &str, actual: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(prefix) => actual.split('/').next() == Some(prefix),
        None => pattern.eq_ignore_ascii_case(actual),
    }
}
