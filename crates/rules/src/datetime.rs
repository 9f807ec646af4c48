//! Date, date-time and time values inside scripts, and the date helpers.
//!
//! Dates are their own script type (not strings) so that `record.close_date < today()` and
//! `days_between(a, b)` mean what a user expects. A date-time carries the tenant's time zone,
//! so `date(record.created_at)` and `hour(now())` are local without any extra argument.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate, NaiveTime, TimeDelta, Timelike};
use chrono_tz::Tz;
use rhai::{Dynamic, Engine, EvalAltResult, INT, ImmutableString};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// A calendar date (`"YYYY-MM-DD"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Date(pub NaiveDate);

/// An instant, shown in the tenant's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct DateTime(pub chrono::DateTime<Tz>);

/// A time of day (`"HH:MM:SS"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Time(pub NaiveTime);

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M:%S"))
    }
}

pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

pub(crate) fn parse_datetime(s: &str, tz: Tz) -> Option<chrono::DateTime<Tz>> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&tz))
}

pub(crate) fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

fn days(n: INT) -> Res<TimeDelta> {
    TimeDelta::try_days(n).ok_or_else(|| format!("{n} days is out of range").into())
}

fn add_days(d: Date, n: INT) -> Res<Date> {
    d.0.checked_add_signed(days(n)?)
        .map(Date)
        .ok_or_else(|| "date out of range".into())
}

fn add_months(d: NaiveDate, n: INT) -> Res<NaiveDate> {
    let m = u32::try_from(n.unsigned_abs()).map_err(|_| "month count out of range")?;
    let r = if n >= 0 {
        d.checked_add_months(Months::new(m))
    } else {
        d.checked_sub_months(Months::new(m))
    };
    r.ok_or_else(|| "date out of range".into())
}

fn add_delta(d: DateTime, delta: Option<TimeDelta>) -> Res<DateTime> {
    delta
        .and_then(|delta| d.0.checked_add_signed(delta))
        .map(DateTime)
        .ok_or_else(|| "date-time out of range".into())
}

fn end_of_month(d: NaiveDate) -> Res<NaiveDate> {
    let first = d.with_day(1).ok_or("date out of range")?;
    let next = first
        .checked_add_months(Months::new(1))
        .ok_or("date out of range")?;
    next.pred_opt().ok_or_else(|| "date out of range".into())
}

fn ymd(y: INT, m: INT, d: INT) -> Res<Date> {
    let ok = (|| {
        NaiveDate::from_ymd_opt(
            i32::try_from(y).ok()?,
            u32::try_from(m).ok()?,
            u32::try_from(d).ok()?,
        )
    })();
    ok.map(Date)
        .ok_or_else(|| format!("date({y}, {m}, {d}) is not a valid date").into())
}

/// Registers the date types, their operators and the date helpers.
pub(crate) fn register(e: &mut Engine) {
    e.register_type_with_name::<Date>("date")
        .register_type_with_name::<DateTime>("datetime")
        .register_type_with_name::<Time>("time");

    macro_rules! comparisons {
        ($t:ty) => {
            e.register_fn("==", |a: $t, b: $t| a == b)
                .register_fn("!=", |a: $t, b: $t| a != b)
                .register_fn("<", |a: $t, b: $t| a < b)
                .register_fn("<=", |a: $t, b: $t| a <= b)
                .register_fn(">", |a: $t, b: $t| a > b)
                .register_fn(">=", |a: $t, b: $t| a >= b);
            // A blank value compares false with everything (and unequal), like SQL's NULL
            // in a WHERE clause, instead of stopping the rule with a type error.
            e.register_fn("==", |_: $t, _: ()| false)
                .register_fn("==", |_: (), _: $t| false)
                .register_fn("!=", |_: $t, _: ()| true)
                .register_fn("!=", |_: (), _: $t| true);
            for op in ["<", "<=", ">", ">="] {
                e.register_fn(op, |_: $t, _: ()| false)
                    .register_fn(op, |_: (), _: $t| false);
            }
            e.register_fn("to_string", |a: &mut $t| a.to_string())
                .register_fn("to_debug", |a: &mut $t| a.to_string())
                .register_fn("+", |a: ImmutableString, b: $t| format!("{a}{b}"))
                .register_fn("+", |a: $t, b: ImmutableString| format!("{a}{b}"));
        };
    }
    comparisons!(Date);
    comparisons!(DateTime);
    comparisons!(Time);

    // Date arithmetic in whole days.
    e.register_fn("+", add_days)
        .register_fn("-", |d: Date, n: INT| {
            add_days(d, n.checked_neg().unwrap_or(INT::MAX))
        })
        .register_fn("-", |a: Date, b: Date| (a.0 - b.0).num_days())
        .register_fn("add_days", add_days)
        .register_fn("add_days", |d: DateTime, n: INT| {
            add_delta(d, TimeDelta::try_days(n))
        })
        .register_fn("add_hours", |d: DateTime, n: INT| {
            add_delta(d, TimeDelta::try_hours(n))
        })
        .register_fn("add_minutes", |d: DateTime, n: INT| {
            add_delta(d, TimeDelta::try_minutes(n))
        })
        .register_fn("add_months", |d: Date, n: INT| add_months(d.0, n).map(Date))
        .register_fn("add_years", |d: Date, n: INT| {
            add_months(d.0, n.saturating_mul(12)).map(Date)
        });

    // days_between(a, b) = b - a: positive when b is later, like "days from a to b".
    e.register_fn("days_between", |a: Date, b: Date| (b.0 - a.0).num_days())
        .register_fn("days_between", |a: DateTime, b: DateTime| {
            (b.0.date_naive() - a.0.date_naive()).num_days()
        })
        .register_fn("days_between", |a: Date, b: DateTime| {
            (b.0.date_naive() - a.0).num_days()
        })
        .register_fn("days_between", |a: DateTime, b: Date| {
            (b.0 - a.0.date_naive()).num_days()
        })
        .register_fn("hours_between", |a: DateTime, b: DateTime| {
            (b.0 - a.0).num_hours()
        })
        .register_fn("minutes_between", |a: DateTime, b: DateTime| {
            (b.0 - a.0).num_minutes()
        });
    for name in ["days_between", "hours_between", "minutes_between"] {
        e.register_fn(name, |_: (), _: Dynamic| Dynamic::UNIT)
            .register_fn(name, |_: Dynamic, _: ()| Dynamic::UNIT);
    }

    // Constructors and parts.
    e.register_fn("date", ymd)
        .register_fn("date", |s: &str| {
            parse_date(s)
                .map(Date)
                .ok_or_else(|| -> Box<EvalAltResult> {
                    format!("'{s}' is not a date (YYYY-MM-DD)").into()
                })
        })
        .register_fn("date", |d: DateTime| Date(d.0.date_naive()))
        .register_fn("date", |d: Date| d)
        .register_fn("date", |_: ()| ())
        .register_fn("datetime", |s: &str| {
            parse_datetime(s, Tz::UTC)
                .map(DateTime)
                .ok_or_else(|| -> Box<EvalAltResult> {
                    format!("'{s}' is not an RFC 3339 date-time").into()
                })
        })
        .register_fn("time", |s: &str| {
            parse_time(s)
                .map(Time)
                .ok_or_else(|| -> Box<EvalAltResult> {
                    format!("'{s}' is not a time (HH:MM:SS)").into()
                })
        })
        .register_fn("year", |d: Date| INT::from(d.0.year()))
        .register_fn("month", |d: Date| INT::from(d.0.month()))
        .register_fn("day", |d: Date| INT::from(d.0.day()))
        .register_fn("weekday", |d: Date| {
            INT::from(d.0.weekday().number_from_monday())
        })
        .register_fn("year", |d: DateTime| INT::from(d.0.year()))
        .register_fn("month", |d: DateTime| INT::from(d.0.month()))
        .register_fn("day", |d: DateTime| INT::from(d.0.day()))
        .register_fn("weekday", |d: DateTime| {
            INT::from(d.0.weekday().number_from_monday())
        })
        .register_fn("hour", |d: DateTime| INT::from(d.0.hour()))
        .register_fn("minute", |d: DateTime| INT::from(d.0.minute()))
        .register_fn("hour", |t: Time| INT::from(t.0.hour()))
        .register_fn("minute", |t: Time| INT::from(t.0.minute()))
        .register_fn("start_of_month", |d: Date| {
            d.0.with_day(1)
                .map(Date)
                .ok_or_else(|| -> Box<EvalAltResult> { "date out of range".into() })
        })
        .register_fn("end_of_month", |d: Date| end_of_month(d.0).map(Date));
    for name in [
        "year",
        "month",
        "day",
        "weekday",
        "hour",
        "minute",
        "start_of_month",
        "end_of_month",
    ] {
        e.register_fn(name, |_: ()| ());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_month_handles_leap_years() {
        let d = |s| parse_date(s).unwrap();
        assert_eq!(end_of_month(d("2024-02-10")).unwrap(), d("2024-02-29"));
        assert_eq!(end_of_month(d("2023-12-31")).unwrap(), d("2023-12-31"));
        assert_eq!(add_months(d("2024-01-31"), 1).unwrap(), d("2024-02-29"));
        assert_eq!(add_months(d("2024-03-31"), -1).unwrap(), d("2024-02-29"));
    }

    #[test]
    fn parses_api_forms() {
        assert!(parse_date("2024-13-01").is_none());
        assert!(parse_time("09:30").is_some());
        assert!(parse_time("09:30:15").is_some());
        let dt = parse_datetime("2024-05-01T00:30:00Z", chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(DateTime(dt).to_string(), "2024-05-01T08:30:00+08:00");
    }
}
