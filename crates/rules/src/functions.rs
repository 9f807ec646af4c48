//! Text, number and general helpers registered in the sandboxed engine.
//!
//! Everything here is pure: no clock, no I/O, no randomness. Helpers take `()` (a blank field)
//! without failing wherever a spreadsheet user would expect a blank to "just work".

use rhai::{Array, Dynamic, Engine, EvalAltResult, INT};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::datetime::{Date, DateTime, Time};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// The text form of any script value, as `text(x)` and `concat` show it.
pub(crate) fn to_text(v: &Dynamic) -> String {
    if v.is_unit() {
        return String::new();
    }
    if let Ok(s) = v.as_immutable_string_ref() {
        return s.to_string();
    }
    if let Ok(a) = v.as_array_ref() {
        return a.iter().map(to_text).collect::<Vec<_>>().join(", ");
    }
    if let Some(d) = v.read_lock::<Date>() {
        return d.to_string();
    }
    if let Some(d) = v.read_lock::<DateTime>() {
        return d.to_string();
    }
    if let Some(t) = v.read_lock::<Time>() {
        return t.to_string();
    }
    v.to_string()
}

/// Blank means: `()`, an empty or all-whitespace text, an empty list or map.
pub(crate) fn is_blank(v: &Dynamic) -> bool {
    if v.is_unit() {
        return true;
    }
    if let Ok(s) = v.as_immutable_string_ref() {
        return s.trim().is_empty();
    }
    if let Ok(a) = v.as_array_ref() {
        return a.is_empty();
    }
    if let Ok(m) = v.as_map_ref() {
        return m.is_empty();
    }
    false
}

/// A number as a decimal, if it is one (integer, decimal, or a numeric text).
pub(crate) fn to_decimal(v: &Dynamic) -> Option<Decimal> {
    if let Ok(i) = v.as_int() {
        return Some(Decimal::from(i));
    }
    if let Ok(d) = v.as_decimal() {
        return Some(d);
    }
    if let Ok(s) = v.as_immutable_string_ref() {
        return parse_decimal(&s);
    }
    None
}

pub(crate) fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.len() > 64 {
        return None;
    }
    s.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

fn count(n: INT) -> Res<usize> {
    usize::try_from(n).map_err(|_| format!("a count cannot be negative ({n})").into())
}

fn dp(n: INT) -> Res<u32> {
    if n > 28 {
        return Err(format!("at most 28 decimal places ({n})").into());
    }
    u32::try_from(n).map_err(|_| "decimal places cannot be negative".into())
}

/// Rounds to `n` places; a negative `n` rounds to tens, hundreds… as in Excel.
fn round_with(x: Decimal, n: INT, strategy: RoundingStrategy) -> Res<Decimal> {
    if n >= 0 {
        return Ok(x.round_dp_with_strategy(dp(n)?, strategy));
    }
    if n < -18 {
        return Err(format!("cannot round to {n} places").into());
    }
    let p = Decimal::from(10_i64.pow(u32::try_from(-n).unwrap_or(0)));
    x.checked_div(p)
        .map(|q| q.round_dp_with_strategy(0, strategy))
        .and_then(|q| q.checked_mul(p))
        .ok_or_else(|| "number out of range".into())
}

fn round_int(x: INT, n: INT, strategy: RoundingStrategy) -> Res<INT> {
    if n >= 0 {
        return Ok(x);
    }
    let r = round_with(Decimal::from(x), n, strategy)?;
    i64::try_from(r).map_err(|_| "number out of range".into())
}

fn divide(a: Decimal, b: Decimal) -> Res<Decimal> {
    if b.is_zero() {
        return Err("division by zero".into());
    }
    a.checked_div(b).ok_or_else(|| "number out of range".into())
}

fn number(v: Dynamic) -> Res<Dynamic> {
    if v.is_unit() || is_blank(&v) {
        return Ok(Dynamic::UNIT);
    }
    to_decimal(&v)
        .map(Dynamic::from_decimal)
        .ok_or_else(|| format!("'{}' is not a number", to_text(&v)).into())
}

fn chars_left(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn chars_right(s: &str, n: usize) -> String {
    let len = s.chars().count();
    s.chars().skip(len.saturating_sub(n)).collect()
}

pub(crate) fn register(e: &mut Engine) {
    // Text.
    e.register_fn("text", |v: Dynamic| to_text(&v))
        .register_fn("is_blank", |v: Dynamic| is_blank(&v))
        .register_fn(
            "if_blank",
            |v: Dynamic, fallback: Dynamic| {
                if is_blank(&v) { fallback } else { v }
            },
        )
        .register_fn("upper", |s: &str| s.to_uppercase())
        .register_fn("lower", |s: &str| s.to_lowercase())
        .register_fn("trim", |s: &str| s.trim().to_string())
        .register_fn("left", |s: &str, n: INT| -> Res<String> {
            Ok(chars_left(s, count(n)?))
        })
        .register_fn("right", |s: &str, n: INT| -> Res<String> {
            Ok(chars_right(s, count(n)?))
        })
        .register_fn("mid", |s: &str, start: INT, n: INT| -> Res<String> {
            let start = count(start.saturating_sub(1))?;
            Ok(s.chars().skip(start).take(count(n)?).collect())
        })
        .register_fn("replace", |s: &str, from: &str, to: &str| -> Res<String> {
            if from.is_empty() {
                return Ok(s.to_string());
            }
            // Bound the result before building it: the string-size limit only applies
            // after a value exists.
            let hits = s.matches(from).count();
            let grown = hits.saturating_mul(to.len().saturating_sub(from.len()));
            if s.len().saturating_add(grown) > crate::limits::HARD_MAX_STRING {
                return Err("replace() result is too large".into());
            }
            Ok(s.replace(from, to))
        })
        .register_fn("join", |a: Array, sep: &str| {
            a.iter().map(to_text).collect::<Vec<_>>().join(sep)
        })
        .register_fn("join", |_: (), _: &str| String::new());
    for name in ["upper", "lower", "trim", "left", "right"] {
        e.register_fn(name, |_: ()| String::new());
    }
    e.register_fn("left", |_: (), _: INT| String::new())
        .register_fn("right", |_: (), _: INT| String::new())
        .register_fn("mid", |_: (), _: INT, _: INT| String::new())
        .register_fn("replace", |_: (), _: &str, _: &str| String::new())
        .register_fn("len", |_: ()| 0 as INT)
        .register_fn("contains", |_: (), _: Dynamic| false)
        .register_fn("starts_with", |_: (), _: &str| false)
        .register_fn("ends_with", |_: (), _: &str| false);

    // concat(a, b, …) for 2 to 8 values; blanks count as empty text.
    e.register_fn("concat", |a: Dynamic, b: Dynamic| {
        to_text(&a) + to_text(&b).as_str()
    })
    .register_fn("concat", |a: Dynamic, b: Dynamic, c: Dynamic| {
        [a, b, c].iter().map(to_text).collect::<String>()
    })
    .register_fn(
        "concat",
        |a: Dynamic, b: Dynamic, c: Dynamic, d: Dynamic| {
            [a, b, c, d].iter().map(to_text).collect::<String>()
        },
    )
    .register_fn(
        "concat",
        |a: Dynamic, b: Dynamic, c: Dynamic, d: Dynamic, f: Dynamic| {
            [a, b, c, d, f].iter().map(to_text).collect::<String>()
        },
    )
    .register_fn(
        "concat",
        |a: Dynamic, b: Dynamic, c: Dynamic, d: Dynamic, f: Dynamic, g: Dynamic| {
            [a, b, c, d, f, g].iter().map(to_text).collect::<String>()
        },
    );

    // Numbers. Rounding is "half away from zero" (Excel's ROUND), not banker's rounding.
    let half = RoundingStrategy::MidpointAwayFromZero;
    let down = RoundingStrategy::ToZero;
    let up = RoundingStrategy::AwayFromZero;
    for (name, s) in [("round", half), ("round_down", down), ("round_up", up)] {
        e.register_fn(name, move |x: Decimal, n: INT| round_with(x, n, s))
            .register_fn(name, move |x: Decimal| round_with(x, 0, s))
            .register_fn(name, move |x: INT, n: INT| round_int(x, n, s))
            .register_fn(name, |x: INT| x)
            .register_fn(name, |_: (), _: INT| ())
            .register_fn(name, |_: ()| ());
    }
    e.register_fn("floor", |x: INT| x)
        .register_fn("ceiling", |x: INT| x)
        .register_fn("number", number)
        .register_fn("divide", divide)
        .register_fn("divide", |a: INT, b: INT| {
            divide(Decimal::from(a), Decimal::from(b))
        })
        .register_fn("divide", |a: Decimal, b: INT| divide(a, Decimal::from(b)))
        .register_fn("divide", |a: INT, b: Decimal| divide(Decimal::from(a), b))
        .register_fn("min", |a: INT, b: Decimal| Decimal::from(a).min(b))
        .register_fn("min", |a: Decimal, b: INT| a.min(Decimal::from(b)))
        .register_fn("max", |a: INT, b: Decimal| Decimal::from(a).max(b))
        .register_fn("max", |a: Decimal, b: INT| a.max(Decimal::from(b)));

    // Arithmetic with a blank gives a blank, so a formula over an empty field is empty
    // rather than an error.
    for op in ["+", "-", "*", "/", "%"] {
        e.register_fn(op, |_: (), _: INT| ())
            .register_fn(op, |_: INT, _: ()| ())
            .register_fn(op, |_: (), _: Decimal| ())
            .register_fn(op, |_: Decimal, _: ()| ())
            .register_fn(op, |_: (), _: ()| ());
    }
    e.register_fn("-", |_: ()| ());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn rounds_like_a_spreadsheet() {
        let half = RoundingStrategy::MidpointAwayFromZero;
        assert_eq!(round_with(d("2.5"), 0, half).unwrap(), d("3"));
        assert_eq!(round_with(d("-2.5"), 0, half).unwrap(), d("-3"));
        assert_eq!(round_with(d("1234.5678"), 2, half).unwrap(), d("1234.57"));
        assert_eq!(round_with(d("1250"), -2, half).unwrap(), d("1300"));
        assert_eq!(round_int(1250, -2, half).unwrap(), 1300);
        assert!(round_with(d("1"), 29, half).is_err());
        assert!(round_with(d("1"), -19, half).is_err());
    }

    #[test]
    fn left_and_right_count_characters() {
        assert_eq!(chars_left("销售机会", 2), "销售");
        assert_eq!(chars_right("销售机会", 2), "机会");
        assert_eq!(chars_right("ab", 5), "ab");
    }
}
