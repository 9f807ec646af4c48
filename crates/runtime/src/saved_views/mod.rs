//! Saved list views (`/api/v1/views`): a named filter + sort + visible columns (+ page size,
//! kanban/calendar mode and its group field) on one object. A view is personal (only its
//! owner sees, edits and deletes it) or shared with the whole tenant (everyone who may read
//! the object sees it; only tenant admins create, edit or delete shared views). Each user may
//! pick one default view per object.
//!
//! The definition is checked on save with the same parser as the query API
//! (`weft_meta::query::parse_query`) under the saving user's field permissions, so a view
//! names only fields its author may filter, sort and see. A view is shown to others with the
//! parts they may not see (columns, sort keys, filter conditions on fields hidden to them)
//! left out and `restricted: true`; so are parts naming fields deleted since it was saved.

mod error;
pub use error::ViewError;
pub mod ports;
mod views;

use views::view_json;
pub use views::{SavedView, SavedViewList};

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};
use uuid::Uuid;
use weft_meta::query::{Dir, parse_query};
use weft_meta::{CompiledObject, FieldKind, Problem};

use crate::access::Access;
use crate::access::Guard;
use crate::access::model::Op;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::ports::TxMode;
use crate::principal::Principal;
use ports::ViewRow;

/// Longest view name, in characters.
pub const MAX_NAME: usize = 80;
/// Most columns a view may list.
pub const MAX_COLUMNS: usize = 100;
/// Most views one user may own on one object (personal and shared together).
pub const MAX_VIEWS: usize = 200;

const MODES: &[&str] = &["list", "kanban", "calendar"];
const DEF_KEYS: &[&str] = &[
    "filter",
    "sort",
    "columns",
    "page_size",
    "mode",
    "group_field",
];

fn writes_allowed(p: &Principal) -> Result<()> {
    if p.view_as {
        Err(ViewError::ReadOnlyView.into())
    } else {
        Ok(())
    }
}

/// Tenant admins (not viewing as someone else) manage shared views.
fn manages_shared(g: &Guard) -> bool {
    g.unrestricted && !g.read_only
}

fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// `/filter/0/field` → `/definition/filter/0/field`; the query parser's `fields` and `limit`
/// are the view's `columns` and `page_size`.
fn definition_path(p: &str) -> String {
    let p = if let Some(rest) = p.strip_prefix("/fields") {
        format!("/columns{rest}")
    } else if let Some(rest) = p.strip_prefix("/limit") {
        format!("/page_size{rest}")
    } else {
        p.to_owned()
    };
    format!("/definition{p}")
}

/// Check a definition against the object and the author's field access; return it normalized
/// (`sort` as `"field"` / `"-field"` strings, every key present).
fn check_definition(
    obj: &CompiledObject,
    g: &Guard,
    def: Option<&Json>,
    problems: &mut Vec<Problem>,
) -> Json {
    let empty = Map::new();
    let m = match def {
        None | Some(Json::Null) => &empty,
        Some(Json::Object(m)) => m,
        Some(_) => {
            problems.push(Problem::new(
                "/definition",
                "type",
                "the definition must be a JSON object",
            ));
            &empty
        }
    };
    for k in m.keys() {
        if !DEF_KEYS.contains(&k.as_str()) {
            problems.push(Problem::new(
                format!("/definition/{k}"),
                "unknown_key",
                "expected filter, sort, columns, page_size, mode or group_field",
            ));
        }
    }
    let get = |k: &str| m.get(k).filter(|v| !v.is_null());
    let mut q = Map::new();
    if let Some(f) = get("filter") {
        q.insert("filter".into(), f.clone());
    }
    if let Some(s) = get("sort") {
        q.insert("sort".into(), s.clone());
    }
    if let Some(c) = get("columns") {
        q.insert("fields".into(), c.clone());
    }
    if let Some(n) = get("page_size") {
        q.insert("limit".into(), n.clone());
    }
    let hidden = |f: &str| g.hidden(f);
    let plan = match parse_query(obj, &Json::Object(q), &hidden) {
        Ok(plan) => Some(plan),
        Err(ps) => {
            problems.extend(ps.into_iter().map(|mut p| {
                p.path = definition_path(&p.path);
                p
            }));
            None
        }
    };
    let mut columns = Vec::new();
    if let Some(Json::Array(cols)) = get("columns") {
        if cols.len() > MAX_COLUMNS {
            problems.push(Problem::new(
                "/definition/columns",
                "max_items",
                format!("at most {MAX_COLUMNS} columns"),
            ));
        }
        for (i, c) in cols.iter().enumerate() {
            if let Some(n) = c.as_str() {
                if columns.iter().any(|x: &Json| x.as_str() == Some(n)) {
                    problems.push(Problem::new(
                        format!("/definition/columns/{i}"),
                        "duplicate",
                        format!("'{n}' is listed twice"),
                    ));
                } else {
                    columns.push(Json::String(n.to_owned()));
                }
            }
        }
    }
    let mode = match get("mode") {
        None => "list",
        Some(Json::String(s)) if MODES.contains(&s.as_str()) => s.as_str(),
        Some(_) => {
            problems.push(Problem::new(
                "/definition/mode",
                "invalid",
                "mode is list, kanban or calendar",
            ));
            "list"
        }
    };
    let group = match get("group_field") {
        None => None,
        Some(Json::String(n)) => {
            let path = "/definition/group_field";
            match obj.field(n).filter(|_| !g.hidden(n)) {
                None => {
                    problems.push(Problem::new(
                        path,
                        "unknown_field",
                        format!("there is no field '{n}'"),
                    ));
                    None
                }
                Some(f) => {
                    let fits = match mode {
                        "kanban" => matches!(f.kind, FieldKind::SingleSelect { .. }),
                        "calendar" => matches!(f.kind, FieldKind::Date | FieldKind::Datetime),
                        _ => false,
                    };
                    if fits {
                        Some(n.clone())
                    } else {
                        problems.push(Problem::new(
                            path,
                            "invalid_group_field",
                            match mode {
                                "kanban" => "a kanban groups by a single-select field",
                                "calendar" => {
                                    "a calendar places records by a date or datetime field"
                                }
                                _ => "a list has no group field",
                            },
                        ));
                        None
                    }
                }
            }
        }
        Some(_) => {
            problems.push(Problem::new(
                "/definition/group_field",
                "type",
                "must be a field name",
            ));
            None
        }
    };
    let sort: Vec<Json> = plan
        .as_ref()
        .map(|p| {
            p.sort
                .iter()
                .map(|k| {
                    let d = if k.dir == Dir::Desc { "-" } else { "" };
                    Json::String(format!("{d}{}", k.col.name))
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "filter": get("filter").cloned().unwrap_or(Json::Null),
        "sort": sort,
        "columns": columns,
        "page_size": get("page_size").cloned().unwrap_or(Json::Null),
        "mode": mode,
        "group_field": group,
    })
}

/// A filter without the conditions on fields `hidden` says the viewer may not see; `None`
/// when nothing is left. The second value says whether anything was dropped.
fn prune_filter(f: &Json, hidden: &dyn Fn(&str) -> bool) -> (Option<Json>, bool) {
    let Some(m) = f.as_object() else {
        return (Some(f.clone()), false);
    };
    for key in ["and", "or"] {
        if let Some(items) = m.get(key).and_then(Json::as_array) {
            let mut dropped = false;
            let mut kept = Vec::new();
            for it in items {
                let (k, d) = prune_filter(it, hidden);
                dropped |= d;
                kept.extend(k);
            }
            return match kept.len() {
                0 => (None, true),
                _ => (Some(json!({ key: kept })), dropped),
            };
        }
    }
    if let Some(inner) = m.get("not") {
        let (k, d) = prune_filter(inner, hidden);
        return (k.map(|k| json!({ "not": k })), d);
    }
    match m.get("field").and_then(Json::as_str) {
        Some(n) if hidden(n) => (None, true),
        _ => (Some(f.clone()), false),
    }
}

/// System columns a view may name besides the object's fields.
const SYSTEM: &[&str] = &[
    "id",
    "owner",
    "department",
    "version",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
];

/// The definition as the viewer may see it, and whether parts were left out: fields hidden
/// from the viewer, and fields deleted since the view was saved.
fn visible_definition(def: &Json, obj: &CompiledObject, g: &Guard) -> (Json, bool) {
    let hidden = |f: &str| g.hidden(f) || (obj.field(f).is_none() && !SYSTEM.contains(&f));
    let mut out = def.clone();
    let mut restricted = false;
    if let Some(o) = out.as_object_mut() {
        if let Some(f) = o.get("filter").filter(|f| !f.is_null()) {
            let (kept, dropped) = prune_filter(f, &hidden);
            restricted |= dropped;
            o.insert("filter".into(), kept.unwrap_or(Json::Null));
        }
        for key in ["sort", "columns"] {
            if let Some(items) = o.get_mut(key).and_then(Json::as_array_mut) {
                let before = items.len();
                items.retain(|v| {
                    v.as_str()
                        .map(|s| !hidden(s.trim_start_matches('-')))
                        .unwrap_or(false)
                });
                restricted |= items.len() != before;
            }
        }
        if let Some(gf) = o.get("group_field").and_then(Json::as_str)
            && hidden(gf)
        {
            o.insert("group_field".into(), Json::Null);
            restricted = true;
        }
    }
    (out, restricted)
}

/// The fields of a create or update body.
struct Input {
    name: Option<String>,
    shared: Option<bool>,
    definition: Option<Json>,
    default: Option<bool>,
    version: Option<i64>,
}

fn read_input(body: &Json, create: bool, problems: &mut Vec<Problem>) -> Input {
    let mut inp = Input {
        name: None,
        shared: None,
        definition: None,
        default: None,
        version: None,
    };
    let Some(m) = body.as_object() else {
        problems.push(Problem::new("", "type", "the body must be a JSON object"));
        return inp;
    };
    for k in m.keys() {
        let known = match k.as_str() {
            "name" | "shared" | "definition" | "default" => true,
            "object" => create,
            "version" => !create,
            _ => false,
        };
        if !known {
            let (code, msg) = if k == "object" {
                ("immutable", "a view's object cannot change")
            } else {
                (
                    "unknown_key",
                    "expected name, object, shared, definition, default or version",
                )
            };
            problems.push(Problem::new(format!("/{k}"), code, msg));
        }
    }
    match m.get("name") {
        None if create => problems.push(Problem::new("/name", "required", "name is required")),
        None => {}
        Some(Json::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                problems.push(Problem::new("/name", "required", "name is required"));
            } else if t.chars().count() > MAX_NAME {
                problems.push(Problem::new(
                    "/name",
                    "max_length",
                    format!("at most {MAX_NAME} characters"),
                ));
            } else if t.chars().any(char::is_control) {
                problems.push(Problem::new(
                    "/name",
                    "invalid",
                    "a name cannot hold control characters",
                ));
            } else {
                inp.name = Some(t.to_owned());
            }
        }
        Some(_) => problems.push(Problem::new("/name", "type", "must be a string")),
    }
    let flag = |k: &str, problems: &mut Vec<Problem>| match m.get(k) {
        None | Some(Json::Null) => None,
        Some(Json::Bool(b)) => Some(*b),
        Some(_) => {
            problems.push(Problem::new(
                format!("/{k}"),
                "type",
                "must be true or false",
            ));
            None
        }
    };
    inp.shared = flag("shared", problems);
    inp.default = flag("default", problems);
    inp.definition = m.get("definition").cloned();
    match m.get("version") {
        None | Some(Json::Null) => {}
        Some(v) => match v.as_i64() {
            Some(n) => inp.version = Some(n),
            None => problems.push(Problem::new("/version", "type", "must be an integer")),
        },
    }
    inp
}

/// Saved list views.
#[derive(Clone)]
pub struct Views {
    core: Arc<Core>,
    access: Access,
}

impl Views {
    pub fn new(core: Arc<Core>, access: Access) -> Self {
        Self { core, access }
    }

    /// The object (as a problem at `/object` when unknown) and the caller's guard on it,
    /// refusing callers who may not read it.
    async fn view_object(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<Option<(std::sync::Arc<CompiledObject>, Guard)>> {
        let meta = self.core.meta(p.tenant).await?;
        let Some(obj) = meta.object(name).cloned() else {
            return Ok(None);
        };
        let g = self.access.guard(p, name).await?;
        g.require(Op::Read, name)?;
        Ok(Some((obj, g)))
    }

    /// A view the caller may see (their own or a shared one on an object they may read);
    /// anything else is "not found".
    async fn visible_view(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<(ViewRow, std::sync::Arc<CompiledObject>, Guard)> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let v = tx.view(id).await?;
        tx.commit().await?;
        let nf = || Error::not_found("view");
        let v = v
            .filter(|v| v.shared || v.owner == p.user.0)
            .ok_or_else(nf)?;
        let meta = self.core.meta(p.tenant).await?;
        let obj = meta.object(&v.object).cloned().ok_or_else(nf)?;
        let g = self.access.guard(p, &v.object).await?;
        if !g.allows(Op::Read) {
            return Err(nf());
        }
        Ok((v, obj, g))
    }

    /// `GET /views?object=`: the caller's own views and the shared ones, with their defaults.
    pub async fn list_views(
        &self,
        p: &Principal,
        object: Option<&str>,
    ) -> Result<SavedViewList, ViewError> {
        let meta = self.core.meta(p.tenant).await?;
        if let Some(o) = object
            && meta.object(o).is_none()
        {
            return Err(Error::one(
                "/object",
                "unknown_object",
                format!("there is no object '{o}'"),
            )
            .into());
        }
        if let Some(o) = object {
            self.access.guard(p, o).await?.require(Op::Read, o)?;
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.visible_views(p.user.0, object).await?;
        let defaults = tx.default_views(p.user.0).await?;
        tx.commit().await?;
        let mut guards: std::collections::HashMap<String, Guard> = Default::default();
        let mut out = Vec::new();
        for v in &rows {
            let Some(obj) = meta.object(&v.object) else {
                continue;
            };
            if !guards.contains_key(&v.object) {
                guards.insert(v.object.clone(), self.access.guard(p, &v.object).await?);
            }
            let Some(g) = guards.get(&v.object) else {
                continue;
            };
            if !g.allows(Op::Read) {
                continue;
            }
            let is_default = defaults.iter().any(|(o, id)| o == &v.object && *id == v.id);
            out.push(view_json(v, obj, g, p.user.0, is_default));
        }
        let default_view = object.and_then(|o| {
            defaults
                .iter()
                .find(|(ob, id)| ob == o && rows.iter().any(|v| v.id == *id))
                .map(|(_, id)| *id)
        });
        Ok(SavedViewList {
            views: out,
            default_view,
        })
    }

    /// `GET /views/{id}`.
    pub async fn get_view(&self, p: &Principal, id: Uuid) -> Result<SavedView, ViewError> {
        let (v, obj, g) = self.visible_view(p, id).await?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let defaults = tx.default_views(p.user.0).await?;
        tx.commit().await?;
        let d = defaults.iter().any(|(o, i)| o == &v.object && *i == v.id);
        Ok(view_json(&v, &obj, &g, p.user.0, d))
    }

    /// `POST /views`.
    pub async fn create_view(&self, p: &Principal, body: &Json) -> Result<SavedView, ViewError> {
        writes_allowed(p)?;
        let mut problems = Vec::new();
        let inp = read_input(body, true, &mut problems);
        let object = match body.get("object") {
            Some(Json::String(s)) => Some(s.clone()),
            None => {
                problems.push(Problem::new("/object", "required", "object is required"));
                None
            }
            Some(_) => {
                problems.push(Problem::new(
                    "/object",
                    "type",
                    "must be an object api name",
                ));
                None
            }
        };
        let target = match &object {
            Some(o) => match self.view_object(p, o).await? {
                Some(x) => Some(x),
                None => {
                    problems.push(Problem::new(
                        "/object",
                        "unknown_object",
                        format!("there is no object '{o}'"),
                    ));
                    None
                }
            },
            None => None,
        };
        let shared = inp.shared.unwrap_or(false);
        if let Some((_, g)) = &target
            && shared
            && !manages_shared(g)
        {
            return Err(ViewError::ShareAdminOnly);
        }
        let definition = target
            .as_ref()
            .map(|(obj, g)| check_definition(obj, g, inp.definition.as_ref(), &mut problems));
        let (Some((obj, g)), Some(definition), Some(name), true) =
            (target, definition, inp.name, problems.is_empty())
        else {
            return Err(Error::Validation(problems).into());
        };
        let now = self.core.clock.now();
        let row = ViewRow {
            id: Uuid::now_v7(),
            object: obj.api_name().to_owned(),
            owner: p.user.0,
            name,
            shared,
            definition,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let owned = tx
            .visible_views(p.user.0, Some(&row.object))
            .await?
            .iter()
            .filter(|v| v.owner == p.user.0)
            .count();
        if owned >= MAX_VIEWS {
            return Err(Error::one(
                "/object",
                "max_views",
                format!("at most {MAX_VIEWS} views per user and object; delete some first"),
            )
            .into());
        }
        self.check_name_free(tx.as_mut(), p, &row).await?;
        tx.insert_view(&row).await.map_err(duplicate_name)?;
        if inp.default == Some(true) {
            tx.set_default_view(p.user.0, &row.object, Some(row.id))
                .await?;
        }
        tx.commit().await?;
        Ok(view_json(
            &row,
            &obj,
            &g,
            p.user.0,
            inp.default == Some(true),
        ))
    }

    /// A view's name must differ from the other views its audience sees: the owner's own and
    /// the shared ones for a personal view; every shared one and the author's own for a shared
    /// view.
    async fn check_name_free(
        &self,
        tx: &mut dyn crate::ports::Tx,
        p: &Principal,
        row: &ViewRow,
    ) -> Result<()> {
        let key = name_key(&row.name);
        // A shared view meets every shared view and its author's own; a personal view its
        // owner's own and the shared ones.
        let audience = if row.shared { p.user.0 } else { row.owner };
        let taken = tx
            .visible_views(audience, Some(&row.object))
            .await?
            .into_iter()
            .any(|v| v.id != row.id && name_key(&v.name) == key);
        if taken {
            return Err(Error::one(
                "/name",
                "duplicate",
                format!("a view named '{}' already exists", row.name),
            ));
        }
        Ok(())
    }

    /// `PATCH /views/{id}`: rename, share or unshare, replace the definition, set or clear
    /// the caller's default. Only the owner changes a personal view; only admins change a
    /// shared one (anyone who sees a view may make it their default).
    pub async fn update_view(
        &self,
        p: &Principal,
        id: Uuid,
        body: &Json,
    ) -> Result<SavedView, ViewError> {
        writes_allowed(p)?;
        let (old, obj, g) = self.visible_view(p, id).await?;
        let mut problems = Vec::new();
        let inp = read_input(body, false, &mut problems);
        let changes_view = inp.name.is_some()
            || inp.shared.is_some()
            || inp.definition.is_some()
            || body.get("name").is_some();
        let allowed = if old.shared {
            manages_shared(&g)
        } else {
            old.owner == p.user.0
        };
        if changes_view && !allowed {
            return Err(ViewError::ChangeSharedAdminOnly);
        }
        if inp.shared == Some(true) && !old.shared && !manages_shared(&g) {
            return Err(ViewError::ShareAdminOnly);
        }
        let definition = inp
            .definition
            .as_ref()
            .map(|d| check_definition(&obj, &g, Some(d), &mut problems));
        if !problems.is_empty() {
            return Err(Error::Validation(problems).into());
        }
        if let Some(v) = inp.version
            && v != old.version
        {
            return Err(ViewError::Stale {
                seen: v,
                current: old.version,
            });
        }
        let mut row = old.clone();
        if changes_view {
            if let Some(n) = inp.name {
                row.name = n;
            }
            if let Some(s) = inp.shared {
                row.shared = s;
            }
            if let Some(d) = definition {
                row.definition = d;
            }
            row.version = old.version + 1;
            row.updated_at = self.core.clock.now();
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        if changes_view {
            if name_key(&row.name) != name_key(&old.name) || row.shared != old.shared {
                self.check_name_free(tx.as_mut(), p, &row).await?;
            }
            if !tx
                .update_view(&row, old.version)
                .await
                .map_err(duplicate_name)?
            {
                return Err(ViewError::ChangedMeanwhile);
            }
        }
        match inp.default {
            Some(true) => {
                tx.set_default_view(p.user.0, &row.object, Some(row.id))
                    .await?
            }
            Some(false) => {
                let mine = tx.default_views(p.user.0).await?;
                if mine.iter().any(|(o, i)| o == &row.object && *i == row.id) {
                    tx.set_default_view(p.user.0, &row.object, None).await?;
                }
            }
            None => {}
        }
        let defaults = tx.default_views(p.user.0).await?;
        tx.commit().await?;
        let d = defaults
            .iter()
            .any(|(o, i)| o == &row.object && *i == row.id);
        Ok(view_json(&row, &obj, &g, p.user.0, d))
    }

    /// `DELETE /views/{id}`.
    pub async fn delete_view(&self, p: &Principal, id: Uuid) -> Result<(), ViewError> {
        writes_allowed(p)?;
        let (v, _obj, g) = self.visible_view(p, id).await?;
        let allowed = if v.shared {
            manages_shared(&g)
        } else {
            v.owner == p.user.0
        };
        if !allowed {
            return Err(ViewError::DeleteSharedAdminOnly);
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        if !tx.delete_view(id).await? {
            return Err(Error::not_found("view").into());
        }
        Ok(tx.commit().await?)
    }
}

/// A name taken by a concurrent save (the unique index) reads like the checked case.
fn duplicate_name(e: Error) -> Error {
    match e {
        e if e.code() == Some("duplicate") => {
            Error::one("/name", "duplicate", "a view with this name already exists")
        }
        e => e,
    }
}
