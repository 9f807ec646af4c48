//! Template helpers, and the render budget they share with the output writer.

use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::format::{Item, StrftimeItems};
use chrono_tz::Tz;
use handlebars::{
    BlockContext, BlockParams, Context, Handlebars, Helper, HelperDef, HelperResult, Output,
    PathAndJson, RenderContext, RenderError, RenderErrorReason, Renderable, to_json,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value as Json;

use crate::datetime::{parse_date, parse_datetime};
use crate::values::json_decimal;

/// The wall-clock budget of one render.
pub(crate) const RENDER_TIMEOUT: Duration = Duration::from_millis(100);

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static TIMED_OUT: Cell<bool> = const { Cell::new(false) };
    static TZ: Cell<Tz> = const { Cell::new(Tz::UTC) };
}

/// Marks the render running on this thread; restores the previous state when dropped.
pub(crate) struct RenderGuard {
    previous: (Option<Instant>, Tz),
}

impl RenderGuard {
    pub(crate) fn start(tz: Tz) -> Self {
        let previous = (DEADLINE.with(Cell::get), TZ.with(Cell::get));
        DEADLINE.with(|d| d.set(Some(Instant::now() + RENDER_TIMEOUT)));
        TIMED_OUT.with(|t| t.set(false));
        TZ.with(|z| z.set(tz));
        Self { previous }
    }

    pub(crate) fn timed_out(&self) -> bool {
        TIMED_OUT.with(Cell::get)
    }
}

impl Drop for RenderGuard {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.previous.0));
        TZ.with(|z| z.set(self.previous.1));
    }
}

/// `Err` once the current render has used up its time.
pub(crate) fn check_deadline() -> Result<(), RenderError> {
    let late = DEADLINE.with(Cell::get).is_some_and(|d| Instant::now() > d);
    if late {
        TIMED_OUT.with(|t| t.set(true));
        return Err(RenderErrorReason::InvalidParamType("render time").into());
    }
    Ok(())
}

fn write_escaped(r: &Handlebars<'_>, out: &mut dyn Output, s: &str) -> HelperResult {
    out.write(&r.get_escape_fn()(s))?;
    Ok(())
}

fn param<'a>(h: &'a Helper<'_>, i: usize) -> Option<&'a Json> {
    h.param(i).map(PathAndJson::value).filter(|v| !v.is_null())
}

/// `#each`, as handlebars' own, plus a clock check per item: without it three nested loops
/// over large lists with an empty body would run for minutes without writing a byte.
/// (Adapted from handlebars-rust's `helper_each.rs`, MIT.)
pub(crate) fn each<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("each", 0))?;
    let Some(template) = h.template() else {
        return Ok(());
    };
    let items: Vec<(Json, &Json)> = match value.value() {
        Json::Array(list) if !list.is_empty() || h.inverse().is_none() => list
            .iter()
            .enumerate()
            .map(|(i, v)| (to_json(i), v))
            .collect(),
        Json::Object(obj) if !obj.is_empty() || h.inverse().is_none() => {
            obj.iter().map(|(k, v)| (to_json(k), v)).collect()
        }
        _ => {
            return match h.inverse() {
                Some(t) => t.render(r, ctx, rc, out),
                None if r.strict_mode() => Err(RenderError::strict_error(value.relative_path())),
                None => Ok(()),
            };
        }
    };
    let is_object = value.value().is_object();
    let mut block = BlockContext::new();
    match value.context_path() {
        Some(path) => block.base_path_mut().clone_from(path),
        None => block.set_base_value(value.value().clone()),
    }
    rc.push_block(block);
    let base_path = value.context_path();
    let len = items.len();
    for (i, (key, v)) in items.into_iter().enumerate() {
        check_deadline()?;
        if let Some(block) = rc.block_mut() {
            block.set_local_var("first", to_json(i == 0));
            block.set_local_var("last", to_json(i + 1 == len));
            block.set_local_var("index", to_json(i));
            if is_object {
                block.set_local_var("key", key.clone());
            }
            let segment = match &key {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            match base_path {
                Some(p) => {
                    let mut path = p.clone();
                    path.push(segment);
                    *block.base_path_mut() = path;
                }
                None => block.set_base_value(v.clone()),
            }
            if let Some(name) = h.block_param() {
                let mut params = BlockParams::new();
                match base_path {
                    Some(_) => params.add_path(name, Vec::new())?,
                    None => params.add_value(name, v.clone())?,
                }
                block.set_block_params(params);
            } else if let Some((name, key_name)) = h.block_param_pair() {
                let mut params = BlockParams::new();
                match base_path {
                    Some(_) => params.add_path(name, Vec::new())?,
                    None => params.add_value(name, v.clone())?,
                }
                params.add_value(key_name, key.clone())?;
                block.set_block_params(params);
            }
        }
        template.render(r, ctx, rc, out)?;
    }
    rc.pop_block();
    Ok(())
}

fn symbol(code: &str) -> Option<&'static str> {
    Some(match code {
        "CNY" | "RMB" => "¥",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        "HKD" => "HK$",
        "TWD" => "NT$",
        "KRW" => "₩",
        "SGD" => "S$",
        _ => return None,
    })
}

/// `1234567.5` → `1,234,567.50` (two decimals, half away from zero; JPY and KRW none).
pub(crate) fn money_text(amount: Decimal, currency: Option<&str>) -> String {
    let places = match currency {
        Some("JPY" | "KRW") => 0,
        _ => 2,
    };
    let rounded = amount.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.*}", places as usize, rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    let number = if frac.is_empty() {
        grouped
    } else {
        format!("{grouped}.{frac}")
    };
    match currency {
        Some(code) => match symbol(code) {
            Some(sym) => format!("{sign}{sym}{number}"),
            None => format!("{sign}{number} {code}"),
        },
        None => format!("{sign}{number}"),
    }
}

/// `{{format_money value [currency]}}`: value is an amount, or a currency field's
/// `{"amount": …, "currency": …}`.
pub(crate) fn format_money<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    _: &'rc Context,
    _: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let Some(v) = param(h, 0) else {
        return Ok(());
    };
    let (amount, own_code) = match v {
        Json::Object(m) => (
            m.get("amount").and_then(json_decimal),
            m.get("currency").and_then(Json::as_str),
        ),
        other => (json_decimal(other), None),
    };
    let amount = amount.ok_or(RenderErrorReason::InvalidParamType("an amount"))?;
    let code = param(h, 1).and_then(Json::as_str).or(own_code);
    write_escaped(r, out, &money_text(amount, code))
}

/// The named formats of `format_date`; anything else is a strftime pattern.
fn named_format(name: &str) -> Option<&'static str> {
    Some(match name {
        "date" => "%Y-%m-%d",
        "datetime" => "%Y-%m-%d %H:%M",
        "time" => "%H:%M",
        "zh" | "zh_date" => "%Y年%-m月%-d日",
        "zh_datetime" => "%Y年%-m月%-d日 %H:%M",
        "us" => "%m/%d/%Y",
        "long" => "%B %-d, %Y",
        _ => return None,
    })
}

/// A strftime pattern chrono can format without failing (an invalid one would panic inside
/// `Display`).
pub(crate) fn valid_pattern(p: &str) -> bool {
    p.len() <= 64 && !StrftimeItems::new(p).any(|i| matches!(i, Item::Error))
}

/// `{{format_date value [format]}}`: dates and date-times in the API form; date-times are
/// shown in the tenant's time zone.
pub(crate) fn format_date<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    _: &'rc Context,
    _: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let Some(v) = param(h, 0).and_then(Json::as_str) else {
        return Ok(());
    };
    let requested = param(h, 1).and_then(Json::as_str);
    let is_datetime = v.len() > 10;
    let pattern = match requested {
        None if is_datetime => "%Y-%m-%d %H:%M",
        None => "%Y-%m-%d",
        Some(p) => match named_format(p) {
            Some(f) => f,
            None if valid_pattern(p) => p,
            None => return Err(RenderErrorReason::InvalidParamType("a date format").into()),
        },
    };
    // `write!` rather than `to_string()`: chrono reports a pattern that does not fit the value
    // (a time of day for a date) as a formatting error, and `to_string()` would panic on it.
    let mut text = String::new();
    let written = if let Some(d) = parse_date(v) {
        write!(text, "{}", d.format(pattern))
    } else if let Some(dt) = parse_datetime(v, TZ.with(Cell::get)) {
        write!(text, "{}", dt.format(pattern))
    } else {
        return Err(RenderErrorReason::InvalidParamType("a date").into());
    };
    written
        .map_err(|_| RenderErrorReason::InvalidParamType("a date format that fits the value"))?;
    write_escaped(r, out, &text)
}

/// `{{default value "fallback"}}`: the fallback when the value is missing, null or empty.
pub(crate) fn default<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    _: &'rc Context,
    _: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let blank = |v: Option<&Json>| match v {
        None | Some(Json::Null) => true,
        Some(Json::String(s)) => s.trim().is_empty(),
        Some(Json::Array(a)) => a.is_empty(),
        _ => false,
    };
    let v = param(h, 0);
    let chosen = if blank(v) { param(h, 1) } else { v };
    let text = match chosen {
        None => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    write_escaped(r, out, &text)
}

/// Whether a URL may be printed into `href`/`src`: https and mailto only.
pub(crate) fn is_safe_url(url: &str) -> bool {
    let cleaned: String = url.trim().chars().filter(|c| !c.is_control()).collect();
    let lower = cleaned.to_ascii_lowercase();
    (lower.starts_with("https://") && lower.len() > "https://".len())
        || lower.starts_with("mailto:")
}

/// `{{safe_url value}}`: the URL if it is https or mailto, else nothing.
pub(crate) fn safe_url<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    _: &'rc Context,
    _: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let url = param(h, 0).and_then(Json::as_str).unwrap_or("");
    if is_safe_url(url) {
        write_escaped(r, out, url.trim())
    } else {
        Ok(())
    }
}

/// Wraps a helper function in a type: handlebars needs `HelperDef` for every lifetime, which
/// a generic fn with bounded lifetimes does not give.
macro_rules! helper_types {
    ($($ty:ident => $f:ident),* $(,)?) => {$(
        pub(crate) struct $ty;
        impl HelperDef for $ty {
            fn call<'reg: 'rc, 'rc>(
                &self,
                h: &Helper<'rc>,
                r: &'reg Handlebars<'reg>,
                ctx: &'rc Context,
                rc: &mut RenderContext<'reg, 'rc>,
                out: &mut dyn Output,
            ) -> HelperResult {
                $f(h, r, ctx, rc, out)
            }
        }
    )*};
}

helper_types! {
    Each => each,
    FormatMoney => format_money,
    FormatDate => format_date,
    Default => default,
    SafeUrl => safe_url,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_and_rounded() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        for (amount, code, expected) in [
            ("1234567.5", Some("CNY"), "¥1,234,567.50"),
            ("-1234.555", Some("USD"), "-$1,234.56"),
            ("999.995", None, "1,000.00"),
            ("0", Some("EUR"), "€0.00"),
            ("12345.6", Some("JPY"), "¥12,346"),
            ("12", Some("CHF"), "12.00 CHF"),
            ("-0.001", None, "0.00"),
        ] {
            assert_eq!(money_text(d(amount), code), expected);
        }
    }

    #[test]
    fn only_https_and_mailto_urls_are_safe() {
        for (url, safe) in [
            ("https://example.com/x", true),
            ("  HTTPS://example.com", true),
            ("mailto:a@example.com", true),
            ("http://example.com", false),
            ("javascript:alert(1)", false),
            ("java\tscript:alert(1)", false),
            ("data:text/html,x", false),
            ("//evil.example", false),
            ("https://", false),
        ] {
            assert_eq!(is_safe_url(url), safe, "{url}");
        }
    }

    #[test]
    fn date_patterns_are_validated() {
        assert!(valid_pattern("%Y/%m/%d"));
        assert!(!valid_pattern("%Q"));
        assert!(!valid_pattern(&"%Y".repeat(40)));
    }
}
