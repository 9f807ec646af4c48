//! Message templates (handlebars): linted on save, rendered in strict mode with capped
//! output, time and input.
//!
//! A [`CompiledTemplate`] can only come from [`compile_template`], so a template that
//! reaches the renderer has passed the lint: no raw output, no partials (a partial cycle
//! aborts the process on handlebars 6.4.4), no decorators, allow-listed helpers only.

mod helpers;
mod lint;

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

use chrono_tz::Tz;
use handlebars::{Context, Handlebars, RenderErrorReason, Template, no_escape};
use serde::Serialize;
use serde_json::Value;

pub use lint::HELPERS;

/// Templates longer than this are rejected (bytes).
pub const MAX_TEMPLATE_LEN: usize = 64 * 1024;
/// Rendered output is capped at this many bytes.
pub const MAX_OUTPUT: usize = 1024 * 1024;
/// Render data may nest this deep.
pub const MAX_CONTEXT_DEPTH: usize = 32;
/// Render data may hold this many values in all.
pub const MAX_CONTEXT_VALUES: usize = 100_000;

/// What the rendered text is for, which fixes its escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// HTML e-mail bodies and in-app messages: values are HTML-escaped, and the HTML around
    /// them is checked (attributes, URLs).
    Html,
    /// Plain-text bodies (SMS, IM cards): no escaping.
    Text,
    /// E-mail subjects and other header-like one-liners: no escaping, CR/LF removed.
    Subject,
}

/// One thing wrong with a template, found when it is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateProblem {
    /// 1-based; 0 when the problem is about the whole template.
    pub line: usize,
    pub column: usize,
    /// Stable code: `syntax`, `too_long`, `too_complex`, `raw_output`, `partial`,
    /// `decorator`, `forbidden_helper`, `unknown_helper`, `each_too_deep`, `unsafe_url`,
    /// `unsafe_attribute`, `unquoted_attribute`, `unsafe_context`, `unsafe_html`.
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} ({})",
            self.line, self.column, self.message, self.code
        )
    }
}

/// Why a render failed. `code`: `missing_value` (strict mode: the template names a value
/// the data does not have), `too_large` (output or data), `too_deep` (data nesting),
/// `timeout`, `render` (a helper got a value it cannot use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({code})")]
pub struct RenderError {
    pub code: &'static str,
    pub message: String,
}

impl RenderError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

struct Inner {
    kind: TemplateKind,
    registry: Handlebars<'static>,
}

/// A linted template, ready to render; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct CompiledTemplate(Arc<Inner>);

impl fmt::Debug for CompiledTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledTemplate")
            .field("kind", &self.0.kind)
            .finish_non_exhaustive()
    }
}

impl CompiledTemplate {
    pub fn kind(&self) -> TemplateKind {
        self.0.kind
    }
}

const NAME: &str = "t";

fn registry(kind: TemplateKind, template: Template) -> Handlebars<'static> {
    let mut r = Handlebars::new();
    r.set_strict_mode(true);
    r.set_prevent_indent(true);
    for name in ["raw", "log"] {
        r.unregister_helper(name);
    }
    r.register_helper("each", Box::new(helpers::Each));
    r.register_helper("format_money", Box::new(helpers::FormatMoney));
    r.register_helper("format_date", Box::new(helpers::FormatDate));
    r.register_helper("default", Box::new(helpers::Default));
    r.register_helper("safe_url", Box::new(helpers::SafeUrl));
    if kind != TemplateKind::Html {
        r.register_escape_fn(no_escape);
    }
    r.register_template(NAME, template);
    r
}

/// Compiles and lints a template; all problems are returned together.
pub fn compile_template(
    src: &str,
    kind: TemplateKind,
) -> Result<CompiledTemplate, Vec<TemplateProblem>> {
    if src.len() > MAX_TEMPLATE_LEN {
        return Err(vec![TemplateProblem {
            line: 0,
            column: 0,
            code: "too_long",
            message: format!(
                "a template may be at most {MAX_TEMPLATE_LEN} bytes (this one has {})",
                src.len()
            ),
        }]);
    }
    let problems = lint::prescan(src);
    if !problems.is_empty() {
        return Err(problems);
    }
    let template = Template::compile(src).map_err(|e| {
        let (line, column) = e.pos().unwrap_or((0, 0));
        vec![TemplateProblem {
            line,
            column,
            code: "syntax",
            message: e.reason().to_string(),
        }]
    })?;
    let mut lint = lint::Lint::new(kind);
    lint.template(&template);
    if !lint.problems.is_empty() {
        return Err(lint.problems);
    }
    Ok(CompiledTemplate(Arc::new(Inner {
        kind,
        registry: registry(kind, template),
    })))
}

/// Checks the size and depth of render data without recursion.
fn check_data(data: &Value) -> Result<(), RenderError> {
    let mut stack = vec![(data, 0usize)];
    let mut count = 0usize;
    while let Some((v, depth)) = stack.pop() {
        count += 1;
        if count > MAX_CONTEXT_VALUES {
            return Err(RenderError::new(
                "too_large",
                format!("the data holds more than {MAX_CONTEXT_VALUES} values"),
            ));
        }
        if depth > MAX_CONTEXT_DEPTH {
            return Err(RenderError::new(
                "too_deep",
                format!("the data is nested deeper than {MAX_CONTEXT_DEPTH} levels"),
            ));
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, depth + 1))),
            Value::Object(m) => stack.extend(m.values().map(|x| (x, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// A `Write` that refuses to grow past [`MAX_OUTPUT`] or past the render deadline.
#[derive(Default)]
struct CappedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            self.overflowed = true;
            return Err(io::Error::other("output too large"));
        }
        helpers::check_deadline().map_err(|_| io::Error::other("render time"))?;
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Renders with date-times shown in UTC; see [`render_in`].
pub fn render(template: &CompiledTemplate, data: &Value) -> Result<String, RenderError> {
    render_in(template, data, Tz::UTC)
}

/// Renders `template` over `data` (the JSON the runtime assembles: `record`, `user`, …),
/// showing date-times in `tz`.
pub fn render_in(template: &CompiledTemplate, data: &Value, tz: Tz) -> Result<String, RenderError> {
    check_data(data)?;
    let ctx = Context::from(data.clone());
    let mut out = CappedWriter::default();
    let guard = helpers::RenderGuard::start(tz);
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        template
            .0
            .registry
            .render_with_context_to_write(NAME, &ctx, &mut out)
    }));
    let timed_out = guard.timed_out();
    drop(guard);
    match rendered {
        Err(_) => {
            return Err(RenderError::new(
                "internal",
                "the template engine failed on this template",
            ));
        }
        Ok(Err(e)) => {
            return Err(if out.overflowed {
                RenderError::new(
                    "too_large",
                    format!("the message would be longer than {MAX_OUTPUT} bytes"),
                )
            } else if timed_out {
                RenderError::new("timeout", "rendering took too long")
            } else if let RenderErrorReason::MissingVariable(path) = e.reason() {
                RenderError::new(
                    "missing_value",
                    format!("the data has no value `{}`", path.as_deref().unwrap_or("?")),
                )
            } else {
                RenderError::new("render", e.reason().to_string())
            });
        }
        Ok(Ok(())) => {}
    }
    let mut text = String::from_utf8(out.buf)
        .map_err(|_| RenderError::new("render", "output is not UTF-8"))?;
    if template.kind() == TemplateKind::Subject {
        text = text
            .chars()
            // CR/LF would inject headers; other line and control characters go too.
            .map(|c| {
                if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                    ' '
                } else {
                    c
                }
            })
            .collect::<String>()
            .trim()
            .to_string();
    }
    Ok(text)
}
