//! Checking triggers: their events and timing, and the actions they run.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;
use weft_meta::{CompiledObject, FieldKind};

use super::compile::{Checker, Compiled, CompiledAction, catalog};
use super::types::{ActionDoc, AssignRoute, AssignStrategy, Event, TriggerDoc};
use super::{Objects, RuleProblem};
use crate::cron::{Cron, zone};
use crate::{FieldCatalog, ScriptKind, TemplateKind};

pub(super) fn check_trigger(
    c: &mut Checker<'_>,
    obj: &CompiledObject,
    cat: &FieldCatalog,
    t: &TriggerDoc,
) -> Option<Compiled> {
    if t.on.is_empty() {
        c.push(
            "/on",
            "required",
            "name at least one event: create, update, delete, schedule, date, manual",
        );
    }
    check_timing(c, obj, t);
    for (i, f) in t.fields.iter().enumerate() {
        c.field(obj, &format!("/fields/{i}"), f);
    }
    if let Some(tr) = &t.transition {
        c.field(obj, "/transition/field", &tr.field);
    }
    if t.actions.is_empty() {
        c.push("/actions", "required", "add at least one action");
    }
    if t.actions.len() > 20 {
        c.push("/actions", "max_items", "at most 20 actions per rule");
    }
    if t.max_attempts.is_some_and(|n| n == 0 || n > 20) {
        c.push("/max_attempts", "range", "1 to 20");
    }
    let condition = t
        .condition
        .as_ref()
        .and_then(|s| c.script("/condition", s, ScriptKind::Condition, cat));
    let actions: Vec<CompiledAction> = t
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| compile_action(c, obj, cat, i, a))
        .collect();
    // A rule that writes a field its own trigger watches can fire itself again (D3).
    if t.on.contains(&Event::Update) && !t.reentrant {
        // A transition fires only when its field changes; otherwise any watched field (or,
        // with none listed, any field) can fire the rule.
        let watched: Option<BTreeSet<&str>> = match (&t.transition, t.fields.is_empty()) {
            (Some(tr), _) => Some(std::iter::once(tr.field.as_str()).collect()),
            (None, true) => None,
            (None, false) => Some(t.fields.iter().map(String::as_str).collect()),
        };
        for (i, a) in t.actions.iter().enumerate() {
            let written: Vec<&String> = match a {
                ActionDoc::UpdateRecord { values } => values.keys().collect(),
                _ => continue,
            };
            for f in written {
                let hits = match &watched {
                    None => true,
                    Some(w) => w.contains(f.as_str()),
                };
                if hits {
                    c.push(
                        &format!("/actions/{i}/values/{f}"),
                        "retriggers_itself",
                        format!(
                            "writing '{f}' fires this rule again (on update of {}): \
                             watch other fields, or mark the rule \"reentrant\": true",
                            obj.api_name()
                        ),
                    );
                }
            }
        }
    }
    if t.condition.is_some() && condition.is_none() {
        return None;
    }
    Some(Compiled::Trigger {
        doc: Box::new(t.clone()),
        condition,
        actions,
    })
}

fn compile_action(
    c: &mut Checker<'_>,
    obj: &CompiledObject,
    cat: &FieldCatalog,
    i: usize,
    a: &ActionDoc,
) -> CompiledAction {
    let path = format!("/actions/{i}");
    let mut ca = CompiledAction {
        doc: a.clone(),
        exprs: vec![],
        templates: vec![],
    };
    match a {
        ActionDoc::UpdateRecord { values } => {
            ca.exprs = c.values(obj, obj, &format!("{path}/values"), values, cat, i);
        }
        ActionDoc::UpdateRelated { via, values } => {
            let target = c
                .field(obj, &format!("{path}/via"), via)
                .and_then(|f| f.kind.reference_target().cloned());
            match target.and_then(|t| c.objects.get(t.as_str()).cloned()) {
                Some(tobj) => {
                    ca.exprs = c.values(obj, &tobj, &format!("{path}/values"), values, cat, i);
                }
                None => c.push(&format!("{path}/via"), "not_lookup", "use a lookup field"),
            }
        }
        ActionDoc::CreateRecord { object, values } => match c.objects.get(object).cloned() {
            Some(tobj) => {
                ca.exprs = c.values(obj, &tobj, &format!("{path}/values"), values, cat, i);
            }
            None => c.push(
                &format!("{path}/object"),
                "unknown_object",
                format!("no object '{object}'"),
            ),
        },
        ActionDoc::AssignOwner {
            strategy,
            user,
            users,
            open_filter,
            routes,
        } => {
            match strategy {
                AssignStrategy::User if user.is_none() => {
                    c.push(&format!("{path}/user"), "required", "name the user")
                }
                AssignStrategy::RoundRobin | AssignStrategy::LeastOpen if users.is_empty() => {
                    c.push(&format!("{path}/users"), "required", "name the users")
                }
                AssignStrategy::ByField if routes.is_empty() => c.push(
                    &format!("{path}/routes"),
                    "required",
                    "add at least one route",
                ),
                _ => {}
            }
            if let Some(f) = open_filter {
                check_open_filter(c, obj, &path, f);
            }
            check_routes(c, obj, &path, routes);
        }
        ActionDoc::Notify {
            users,
            roles,
            owner,
            title,
            body,
        } => {
            if users.is_empty() && roles.is_empty() && !owner {
                c.push(&format!("{path}/users"), "required", "name who is notified");
            }
            ca.templates
                .extend(c.template(&format!("{path}/title"), title, TemplateKind::Subject));
            ca.templates
                .extend(c.template(&format!("{path}/body"), body, TemplateKind::Html));
        }
        ActionDoc::Webhook {
            url,
            secret,
            unsigned,
            body,
            method,
            headers,
        } => {
            check_webhook_request(c, &path, url, method.as_deref(), headers);
            if !(*unsigned && secret.is_empty()) && secret.len() < 16 {
                c.push(
                    &format!("{path}/secret"),
                    "min_length",
                    "use a secret of at least 16 characters",
                );
            }
            if let Some(b) = body {
                ca.templates
                    .extend(c.template(&format!("{path}/body"), b, TemplateKind::Text));
            }
        }
        ActionDoc::Email { to, subject, body } => {
            check_recipients(c, &path, to);
            ca.templates.extend(c.template(
                &format!("{path}/subject"),
                subject,
                TemplateKind::Subject,
            ));
            ca.templates
                .extend(c.template(&format!("{path}/body"), body, TemplateKind::Html));
        }
    }
    ca
}

/// `open_filter` of least-open assignment is a filter in the list language over the object.
fn check_open_filter(c: &mut Checker<'_>, obj: &CompiledObject, path: &str, filter: &Json) {
    if let Err(ps) =
        weft_meta::query::parse_query(obj, &serde_json::json!({"filter": filter}), &|_| false)
    {
        for p in ps {
            c.push(&format!("{path}/open_filter{}", p.path), &p.code, p.message);
        }
    }
}

/// Each route of by-field assignment names its users and at least one field of the object.
fn check_routes(c: &mut Checker<'_>, obj: &CompiledObject, path: &str, routes: &[AssignRoute]) {
    for (ri, r) in routes.iter().enumerate() {
        if r.users.is_empty() {
            c.push(
                &format!("{path}/routes/{ri}/users"),
                "required",
                "name the route's users",
            );
        }
        if r.when.is_empty() {
            c.push(
                &format!("{path}/routes/{ri}/when"),
                "required",
                "name at least one field and value",
            );
        }
        // `address.city`: a part of an address (or JSON) field.
        for f in r.when.keys() {
            let top = f.split('.').next().unwrap_or(f);
            c.field(obj, &format!("{path}/routes/{ri}/when/{f}"), top);
        }
    }
}

/// A webhook's URL scheme, method and extra headers.
fn check_webhook_request(
    c: &mut Checker<'_>,
    path: &str,
    url: &str,
    method: Option<&str>,
    headers: &BTreeMap<String, String>,
) {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        c.push(&format!("{path}/url"), "url", "use an http(s) URL");
    }
    if let Some(m) = method
        && !["POST", "PUT", "PATCH", "DELETE"].contains(&m)
    {
        c.push(
            &format!("{path}/method"),
            "enum",
            "use POST, PUT, PATCH or DELETE",
        );
    }
    for (k, v) in headers {
        if let Some(msg) = bad_header(k, v) {
            c.push(&format!("{path}/headers/{k}"), "header", msg);
        }
    }
}

/// E-mail recipients: at least one, each a single address (no header injection).
fn check_recipients(c: &mut Checker<'_>, path: &str, to: &[String]) {
    if to.is_empty() {
        c.push(&format!("{path}/to"), "required", "name the recipients");
    }
    for (j, addr) in to.iter().enumerate() {
        if !addr.contains('@') || addr.contains(['\r', '\n', ',', '<', '>']) {
            c.push(&format!("{path}/to/{j}"), "email", "not an e-mail address");
        }
    }
}

/// Compile the actions of a queued run against the current metadata (the worker).
pub fn compile_actions(
    objects: &Objects,
    object: &str,
    actions: &[ActionDoc],
) -> Result<Vec<CompiledAction>, Vec<RuleProblem>> {
    let mut c = Checker {
        objects,
        problems: Vec::new(),
    };
    let Some(obj) = objects.get(object).cloned() else {
        return Err(vec![RuleProblem::new(
            "/object",
            "unknown_object",
            format!("no object '{object}'"),
        )]);
    };
    let cat = catalog(&obj);
    let out: Vec<CompiledAction> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| compile_action(&mut c, &obj, &cat, i, a))
        .collect();
    if c.problems.is_empty() {
        Ok(out)
    } else {
        Err(c.problems)
    }
}

/// Why a webhook header cannot be sent as given, if it cannot.
fn bad_header(name: &str, value: &str) -> Option<&'static str> {
    const RESERVED: &[&str] = &[
        "content-type",
        "content-length",
        "host",
        "idempotency-key",
        "x-weft-timestamp",
        "x-weft-signature",
        "x-weft-event",
    ];
    if name.is_empty()
        || name.len() > 100
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return Some("header names are letters, digits, '-' and '_'");
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Some("this header is set by the platform");
    }
    if value.len() > 2000 || value.bytes().any(|b| b < 0x20 && b != b'\t') {
        return Some("header values are one line of at most 2000 bytes");
    }
    None
}

/// `cron`, `date` and `timezone` are given exactly when their events are.
fn check_timing(c: &mut Checker<'_>, obj: &CompiledObject, t: &TriggerDoc) {
    let sched = t.on.contains(&Event::Schedule);
    let dated = t.on.contains(&Event::Date);
    match (&t.cron, sched) {
        (None, true) => c.push("/cron", "required", "a schedule needs a cron expression"),
        (Some(_), false) => c.push("/cron", "unused", "add \"schedule\" to `on` or drop `cron`"),
        (Some(e), true) => {
            if let Err(m) = Cron::parse(e) {
                c.push("/cron", "cron", m);
            }
        }
        (None, false) => {}
    }
    match (&t.date, dated) {
        (None, true) => c.push("/date", "required", "a date trigger needs `date.field`"),
        (Some(_), false) => c.push("/date", "unused", "add \"date\" to `on` or drop `date`"),
        (Some(d), true) => {
            match obj.field(&d.field).map(|f| &f.kind) {
                Some(FieldKind::Date | FieldKind::Datetime) => {}
                Some(_) => c.push("/date/field", "type", "use a date or datetime field"),
                None => c.push(
                    "/date/field",
                    "unknown_field",
                    format!("no field '{}'", d.field),
                ),
            }
            if d.offset_days.abs() > 3650 {
                c.push("/date/offset_days", "range", "at most 3650 days either way");
            }
            if let Err(m) = Cron::daily(&d.at) {
                c.push("/date/at", "time", m);
            }
        }
        (None, false) => {}
    }
    if let Err(m) = zone(t.timezone.as_deref()) {
        c.push("/timezone", "timezone", m);
    }
    if t.button.is_some() && !t.on.contains(&Event::Manual) {
        c.push(
            "/button",
            "unused",
            "add \"manual\" to `on` or drop `button`",
        );
    }
}
