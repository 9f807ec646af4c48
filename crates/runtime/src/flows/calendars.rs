//! Business calendars for workflow timers (`/meta/calendars`): a tenant names calendars with
//! a time zone, weekend days, holidays (single dates or `from/to` ranges) and make-up working
//! days (调休: weekend days that are worked). A timer's whole days count working days of its
//! calendar in the calendar's zone and land at the same local wall-clock time; the rest of the
//! duration (hours, minutes) is added as elapsed time.
//!
//! Calendars are cached per tenant and metadata version (saving one bumps the version), so
//! another process sees a change within the metadata TTL. A timer already scheduled keeps its
//! due time. The built-in `weekdays` (Monday to Friday, UTC, no holidays) needs no document; a
//! tenant calendar of the same name replaces it. Publishing a flow that names an unknown
//! calendar is refused (`calendar.unknown`); a version published earlier whose calendar is
//! later missing counts Monday to Friday in UTC (the behaviour before calendars existed).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use weft_meta::{Problem, TenantId};

use super::ports::FlowCalendarRow;
use super::require_admin;
use crate::Runtime;
use crate::error::{Error, Result};
use crate::metadata::parse_doc_as;
use crate::ports::TxMode;
use crate::principal::Principal;

/// The built-in calendar: Monday to Friday in UTC.
pub const BUILTIN: &str = "weekdays";
const MAX_NAME: usize = 64;
/// Holiday and workday entries per calendar.
const MAX_ENTRIES: usize = 2_000;
/// Days in one holiday range.
const MAX_RANGE_DAYS: i64 = 366;

/// The stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<BTreeMap<String, String>>,
    /// IANA zone, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// ISO weekdays that are not worked (1 = Monday … 7 = Sunday).
    #[serde(default = "default_weekend")]
    pub weekend: Vec<u8>,
    /// `YYYY-MM-DD` or an inclusive range `YYYY-MM-DD/YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Weekend days that are working days (调休), `YYYY-MM-DD`.
    #[serde(default)]
    pub workdays: Vec<String>,
}

fn default_weekend() -> Vec<u8> {
    vec![6, 7]
}

/// A validated calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    /// Indexed by days from Monday.
    weekend: [bool; 7],
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Monday to Friday in UTC, no holidays.
    pub fn weekdays() -> Self {
        Self {
            tz: Tz::UTC,
            weekend: [false, false, false, false, false, true, true],
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        }
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.weekend[d.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&d)
    }

    /// `start + days working days + rest`: the days are counted in the calendar's zone and
    /// land at the same local wall-clock time (a start on a day off counts from the next
    /// working day); `rest` is elapsed time.
    pub fn add(&self, start: DateTime<Utc>, days: i64, rest: Duration) -> DateTime<Utc> {
        if days <= 0 {
            return start + rest;
        }
        let local = start.with_timezone(&self.tz).naive_local();
        let mut date = local.date();
        let mut left = days;
        // Validation guarantees a working day in every week outside the holidays.
        let mut budget = days * 7 + self.holidays.len() as i64 + 14;
        while left > 0 {
            let Some(next) = date.succ_opt() else {
                return start + Duration::days(days) + rest;
            };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
            budget -= 1;
            if budget < 0 {
                return start + Duration::days(days) + rest;
            }
        }
        local_to_utc(self.tz, date.and_time(local.time())) + rest
    }

    /// `start + iso`: the date part of the ISO duration (`P2D`, `P1W`) counts working days,
    /// the time part (`T4H`) elapsed time. `None` if the duration does not parse.
    pub fn add_iso(&self, start: DateTime<Utc>, iso: &str) -> Option<DateTime<Utc>> {
        let total = weft_flow::duration::parse_duration(iso).ok()?;
        let date_part = iso.split('T').next().unwrap_or("P");
        let days = if date_part == "P" {
            0
        } else {
            weft_flow::duration::parse_duration(date_part)
                .ok()?
                .num_days()
        };
        Some(self.add(start, days, total - Duration::days(days)))
    }

    /// Compile a document, every problem at once with its path.
    pub fn compile(doc: &CalendarDoc) -> std::result::Result<Calendar, Vec<Problem>> {
        let mut ps = Vec::new();
        if !name_ok(&doc.name) {
            ps.push(Problem::new(
                "/name",
                "calendar.name_invalid",
                "a calendar name is 1-64 characters of a-z, 0-9, _ and -, starting with a letter",
            ));
        }
        let tz = match doc.time_zone.parse::<Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                ps.push(Problem::new(
                    "/time_zone",
                    "calendar.time_zone_unknown",
                    format!("`{}` is not an IANA time zone", doc.time_zone),
                ));
                Tz::UTC
            }
        };
        let mut weekend = [false; 7];
        for (i, &d) in doc.weekend.iter().enumerate() {
            let path = format!("/weekend/{i}");
            if !(1..=7).contains(&d) {
                ps.push(Problem::new(
                    path,
                    "calendar.weekday_invalid",
                    "weekdays are 1 (Monday) to 7 (Sunday)",
                ));
            } else if weekend[usize::from(d - 1)] {
                ps.push(Problem::new(
                    path,
                    "calendar.duplicate",
                    format!("{d} is listed twice"),
                ));
            } else {
                weekend[usize::from(d - 1)] = true;
            }
        }
        if weekend.iter().all(|w| *w) {
            ps.push(Problem::new(
                "/weekend",
                "calendar.no_working_days",
                "at least one weekday must be worked",
            ));
        }
        if doc.holidays.len() + doc.workdays.len() > MAX_ENTRIES {
            ps.push(Problem::new(
                "/holidays",
                "max_items",
                format!("at most {MAX_ENTRIES} holiday and workday entries"),
            ));
            return Err(ps);
        }
        let mut holidays = BTreeSet::new();
        for (i, h) in doc.holidays.iter().enumerate() {
            let path = format!("/holidays/{i}");
            let (from, to) = match h.split_once('/') {
                Some((a, b)) => (date(a), date(b)),
                None => (date(h), date(h)),
            };
            let (Some(from), Some(to)) = (from, to) else {
                ps.push(Problem::new(
                    path,
                    "calendar.date_invalid",
                    format!("`{h}` is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD/YYYY-MM-DD)"),
                ));
                continue;
            };
            let len = (to - from).num_days() + 1;
            if len < 1 {
                ps.push(Problem::new(
                    path,
                    "calendar.range_invalid",
                    format!("`{h}`: the range ends before it starts"),
                ));
                continue;
            }
            if len > MAX_RANGE_DAYS {
                ps.push(Problem::new(
                    path,
                    "calendar.range_too_long",
                    format!("`{h}`: a range is at most {MAX_RANGE_DAYS} days"),
                ));
                continue;
            }
            let mut dup = false;
            for d in from.iter_days().take(len as usize) {
                dup |= !holidays.insert(d);
            }
            if dup {
                ps.push(Problem::new(
                    path,
                    "calendar.duplicate",
                    format!("`{h}` repeats a holiday listed before"),
                ));
            }
        }
        let mut workdays = BTreeSet::new();
        for (i, w) in doc.workdays.iter().enumerate() {
            let path = format!("/workdays/{i}");
            let Some(d) = date(w) else {
                ps.push(Problem::new(
                    path,
                    "calendar.date_invalid",
                    format!("`{w}` is not a date (YYYY-MM-DD)"),
                ));
                continue;
            };
            if !workdays.insert(d) {
                ps.push(Problem::new(
                    path,
                    "calendar.duplicate",
                    format!("`{w}` is listed twice"),
                ));
            } else if holidays.contains(&d) {
                ps.push(Problem::new(
                    path,
                    "calendar.conflict",
                    format!("`{w}` is also a holiday"),
                ));
            } else if !weekend[d.weekday().num_days_from_monday() as usize] {
                ps.push(Problem::new(
                    path,
                    "calendar.not_weekend",
                    format!("`{w}` is a {} and already a working day; make-up working days are weekend days", d.weekday()),
                ));
            }
        }
        if ps.is_empty() {
            Ok(Calendar {
                tz,
                weekend,
                holidays,
                workdays,
            })
        } else {
            Err(ps)
        }
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    // Exactly YYYY-MM-DD (chrono alone accepts unpadded fields).
    (s.len() == 10)
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A local wall-clock time as an instant: the earlier one when the clock falls back, and the
/// time just after the gap when it springs forward.
fn local_to_utc(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = tz.from_local_datetime(&wall).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a gap (at most a few hours in real zones): the first valid minute after it.
    let mut w = wall;
    for _ in 0..(24 * 60) {
        w += Duration::minutes(1);
        if let Some(t) = tz.from_local_datetime(&w).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    wall.and_utc()
}

/// A tenant's calendars at one metadata version.
#[derive(Debug, Default)]
pub struct Calendars {
    version: i64,
    map: HashMap<String, Calendar>,
}

impl Calendars {
    /// A tenant calendar, else the built-in of that name.
    pub fn get(&self, name: &str) -> Option<Calendar> {
        self.map
            .get(name)
            .cloned()
            .or_else(|| (name == BUILTIN).then(Calendar::weekdays))
    }

    pub fn knows(&self, name: &str) -> bool {
        self.map.contains_key(name) || name == BUILTIN
    }

    #[cfg(test)]
    pub(crate) fn of(map: HashMap<String, Calendar>) -> Self {
        Self { version: 0, map }
    }
}

fn cache() -> &'static Mutex<HashMap<TenantId, Arc<Calendars>>> {
    static CACHE: OnceLock<Mutex<HashMap<TenantId, Arc<Calendars>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

const CACHE_MAX: usize = 10_000;

fn row_json(r: &FlowCalendarRow) -> Json {
    json!({"name": r.name, "calendar": r.doc, "updated_by": r.updated_by,
           "created_at": r.created_at, "updated_at": r.updated_at})
}

/// Calendar names a definition refers to, with the JSON pointer of each reference.
pub(crate) fn referenced(def: &weft_flow::Definition) -> Vec<(String, String)> {
    use weft_flow::definition::{NodeKind, WaitUntil};
    let mut out = Vec::new();
    if let Some(c) = &def.settings.calendar {
        out.push(("/settings/calendar".to_string(), c.clone()));
    }
    for (i, n) in def.nodes.iter().enumerate() {
        let timers = match &n.kind {
            NodeKind::Approval(a) => a.timers.as_slice(),
            NodeKind::Wait { timers, until } => {
                if let WaitUntil::Duration {
                    calendar: Some(c), ..
                } = until
                {
                    out.push((format!("/nodes/{i}/until/calendar"), c.clone()));
                }
                timers.as_slice()
            }
            _ => &[],
        };
        for (j, t) in timers.iter().enumerate() {
            if let Some(c) = &t.calendar {
                out.push((format!("/nodes/{i}/timers/{j}/calendar"), c.clone()));
            }
        }
    }
    out
}

impl Runtime {
    /// The tenant's calendars (cached per metadata version). Call outside a transaction.
    pub(crate) async fn calendars(&self, tenant: TenantId) -> Result<Arc<Calendars>> {
        let version = self.meta(tenant).await?.version;
        if let Some(c) = cache()
            .lock()
            .ok()
            .and_then(|m| m.get(&tenant).cloned())
            .filter(|c| c.version == version)
        {
            return Ok(c);
        }
        let mut tx = self.core.begin(tenant, TxMode::Read).await?;
        let rows = tx.flow_calendars().await?;
        tx.commit().await?;
        let mut map = HashMap::with_capacity(rows.len());
        for r in rows {
            let compiled = serde_json::from_value::<CalendarDoc>(r.doc)
                .map_err(|e| vec![Problem::new("", "calendar.invalid", e.to_string())])
                .and_then(|d| Calendar::compile(&d));
            match compiled {
                Ok(c) => {
                    map.insert(r.name, c);
                }
                Err(ps) => {
                    tracing::warn!(calendar = %r.name, problems = ?ps, "stored calendar does not compile")
                }
            }
        }
        let c = Arc::new(Calendars { version, map });
        if let Ok(mut m) = cache().lock() {
            if m.len() >= CACHE_MAX {
                m.clear();
            }
            m.insert(tenant, c.clone());
        }
        Ok(c)
    }

    pub async fn list_calendars(&self, p: &Principal) -> Result<Json> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.flow_calendars().await?;
        tx.commit().await?;
        Ok(
            json!({"calendars": rows.iter().map(row_json).collect::<Vec<_>>(),
                  "builtin": [BUILTIN]}),
        )
    }

    pub async fn get_calendar(&self, p: &Principal, name: &str) -> Result<Json> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let row = tx
            .flow_calendar(name)
            .await?
            .ok_or_else(|| Error::not_found(format!("calendar '{name}'")))?;
        tx.commit().await?;
        Ok(row_json(&row))
    }

    /// Create or replace a calendar. Returns the saved row and whether it was created.
    pub async fn put_calendar(
        &self,
        p: &Principal,
        name: &str,
        body: &Json,
    ) -> Result<(Json, bool)> {
        require_admin(p)?;
        let doc = parse_doc_as::<CalendarDoc>(body, "calendar.invalid")?;
        let mut problems = match Calendar::compile(&doc) {
            Ok(_) => vec![],
            Err(ps) => ps,
        };
        if doc.name != name {
            problems.push(Problem::new(
                "/name",
                "calendar.name_mismatch",
                "the document's name must match the URL",
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        let now = self.clock.now();
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let existing = tx.flow_calendar(name).await?;
        let row = FlowCalendarRow {
            name: name.to_string(),
            doc: serde_json::to_value(&doc).map_err(Error::internal)?,
            updated_by: p.user.0,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        tx.flow_calendar_put(&row).await?;
        self.calendar_changed(tx, p, "calendar.saved", name).await?;
        Ok((row_json(&row), existing.is_none()))
    }

    /// Delete a calendar; refused while a draft or the latest published version of a flow
    /// names it.
    pub async fn delete_calendar(&self, p: &Principal, name: &str) -> Result<()> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        if tx.flow_calendar(name).await?.is_none() {
            return Err(Error::not_found(format!("calendar '{name}'")));
        }
        for d in tx.flow_defs().await? {
            let mut docs = vec![d.doc.clone()];
            if d.latest_version > 0
                && let Some(v) = tx
                    .flow_versions(&d.key)
                    .await?
                    .into_iter()
                    .max_by_key(|v| v.version)
            {
                docs.push(v.doc);
            }
            for doc in docs {
                let Ok(def) = serde_json::from_value::<weft_flow::Definition>(doc) else {
                    continue;
                };
                if referenced(&def).iter().any(|(_, c)| c == name) {
                    return Err(Error::conflict(
                        "calendar.in_use",
                        format!("flow '{}' uses this calendar", d.key),
                    ));
                }
            }
        }
        tx.flow_calendar_delete(name).await?;
        self.calendar_changed(tx, p, "calendar.deleted", name).await
    }
}

impl Runtime {
    /// The end of a calendar change: caches reload (calendars are cached per metadata
    /// version), the audit log records it, the transaction commits.
    async fn calendar_changed(
        &self,
        mut tx: crate::core::TxCtx,
        p: &Principal,
        action: &'static str,
        name: &str,
    ) -> Result<()> {
        tx.bump_rules_version().await?;
        self.core
            .audit(
                tx.as_mut(),
                Some(p.user.0),
                crate::access::audit::Event {
                    action,
                    object: None,
                    record_id: None,
                    detail: json!({ "name": name }),
                },
            )
            .await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn doc(v: Json) -> CalendarDoc {
        serde_json::from_value(v).unwrap()
    }

    /// China 2026: National Day and Mid-Autumn holiday 1–8 October (Thu–Thu), with the
    /// Sunday 27 September and the Saturday 10 October worked (调休).
    fn cn() -> Calendar {
        Calendar::compile(&doc(json!({
            "name": "cn", "time_zone": "Asia/Shanghai",
            "holidays": ["2026-10-01/2026-10-08"],
            "workdays": ["2026-09-27", "2026-10-10"]
        })))
        .unwrap()
    }

    #[test]
    fn national_day_week_with_make_up_days() {
        let c = cn();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(c.is_working_day(day("2026-09-27")), "调休 Sunday is worked");
        assert!(!c.is_working_day(day("2026-10-01")));
        assert!(
            !c.is_working_day(day("2026-10-05")),
            "Monday inside the holiday"
        );
        assert!(!c.is_working_day(day("2026-10-08")));
        assert!(
            c.is_working_day(day("2026-10-09")),
            "Friday after the holiday"
        );
        assert!(
            c.is_working_day(day("2026-10-10")),
            "调休 Saturday is worked"
        );
        assert!(!c.is_working_day(day("2026-10-11")));
        // Wednesday 30 Sep, 10:00 Beijing (02:00 UTC) + P2D: Fri 9 Oct, Sat 10 Oct (worked).
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "P2D").unwrap(),
            utc("2026-10-10T02:00:00Z")
        );
        // + P1D from Wednesday: Friday 9 October.
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "P1D").unwrap(),
            utc("2026-10-09T02:00:00Z")
        );
        // Friday 25 Sep + P1D: the make-up Sunday 27 Sep.
        assert_eq!(
            c.add_iso(utc("2026-09-25T02:00:00Z"), "P1D").unwrap(),
            utc("2026-09-27T02:00:00Z")
        );
        // + P1DT4H: the hours are elapsed time after the working day.
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "P1DT4H").unwrap(),
            utc("2026-10-09T06:00:00Z")
        );
        // Hours alone are not stretched over holidays.
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "PT30H").unwrap(),
            utc("2026-10-01T08:00:00Z")
        );
    }

    #[test]
    fn days_are_counted_in_the_calendar_zone() {
        let c = cn();
        // Friday 23:30 UTC is already Saturday 07:30 in Beijing: P1D lands on Monday 07:30
        // Beijing, not on Monday 23:30 UTC.
        assert_eq!(
            c.add_iso(utc("2026-03-06T23:30:00Z"), "P1D").unwrap(),
            utc("2026-03-08T23:30:00Z")
        );
        let utc_cal = Calendar::weekdays();
        assert_eq!(
            utc_cal.add_iso(utc("2026-03-06T23:30:00Z"), "P1D").unwrap(),
            utc("2026-03-09T23:30:00Z")
        );
    }

    #[test]
    fn daylight_saving_keeps_the_wall_clock() {
        let ny = Calendar::compile(&doc(json!({
            "name": "us", "time_zone": "America/New_York", "holidays": ["2026-03-09"]
        })))
        .unwrap();
        // Friday 6 March 2026 09:00 EST (14:00 UTC) + P2D: Monday 9 is a holiday, so Tuesday
        // 10 and Wednesday 11 March, 09:00 EDT (13:00 UTC) after the 8 March switch.
        assert_eq!(
            ny.add_iso(utc("2026-03-06T14:00:00Z"), "P2D").unwrap(),
            utc("2026-03-11T13:00:00Z")
        );
        // A wall time inside the spring-forward gap lands just after it.
        let every_day = Calendar::compile(&doc(json!({
            "name": "all", "time_zone": "America/New_York", "weekend": [], "holidays": []
        })))
        .unwrap();
        // Saturday 7 March 02:30 EST (07:30 UTC) + P1D: 02:30 on 8 March does not exist.
        assert_eq!(
            every_day
                .add_iso(utc("2026-03-07T07:30:00Z"), "P1D")
                .unwrap(),
            utc("2026-03-08T07:00:00Z")
        );
        // Falling back (1 November 2026, 01:30 happens twice): the earlier one, EDT.
        assert_eq!(
            every_day
                .add_iso(utc("2026-10-31T05:30:00Z"), "P1D")
                .unwrap(),
            utc("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn validation_reports_every_problem_with_its_path() {
        let ps = Calendar::compile(&doc(json!({
            "name": "Bad Name", "time_zone": "Mars/Olympus",
            "weekend": [6, 6, 9],
            "holidays": ["2026-10-01", "2026-13-01", "2026-10-05/2026-10-01", "2026-09-30/2026-10-02", "2026-1-1"],
            "workdays": ["2026-10-01", "2026-10-10", "2026-10-10", "2026-10-12"]
        })))
        .unwrap_err();
        let got: Vec<String> = ps
            .iter()
            .map(|p| format!("{}:{}", p.path, p.code))
            .collect();
        assert_eq!(
            got,
            vec![
                "/name:calendar.name_invalid",
                "/time_zone:calendar.time_zone_unknown",
                "/weekend/1:calendar.duplicate",
                "/weekend/2:calendar.weekday_invalid",
                "/holidays/1:calendar.date_invalid",
                "/holidays/2:calendar.range_invalid",
                "/holidays/3:calendar.duplicate",
                "/holidays/4:calendar.date_invalid",
                "/workdays/0:calendar.conflict",
                "/workdays/2:calendar.duplicate",
                "/workdays/3:calendar.not_weekend",
            ]
        );
        let ps = Calendar::compile(&doc(json!({
            "name": "x", "time_zone": "UTC", "weekend": [1, 2, 3, 4, 5, 6, 7]
        })))
        .unwrap_err();
        assert_eq!(ps[0].code, "calendar.no_working_days");
        let ps = Calendar::compile(&doc(json!({
            "name": "x", "time_zone": "UTC", "holidays": ["2026-01-01/2027-06-01"]
        })))
        .unwrap_err();
        assert_eq!(ps[0].code, "calendar.range_too_long");
    }

    #[test]
    fn builtin_and_lookup() {
        let cals = Calendars::of(HashMap::from([("cn".to_string(), cn())]));
        assert!(cals.knows("cn") && cals.knows(BUILTIN) && !cals.knows("cn-workdays"));
        assert_eq!(cals.get(BUILTIN), Some(Calendar::weekdays()));
        assert!(cals.get("nope").is_none());
    }
}
