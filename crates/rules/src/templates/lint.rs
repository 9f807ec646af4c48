//! The save-time lint of tenant templates (security.md §3.2).
//!
//! Tenant templates are code written by tenant admins and rendered over data typed by end
//! users, so the lint rejects every way a value could escape HTML escaping (raw output,
//! helpers we do not control, URLs and attributes the escaping does not protect) and every
//! construct that can blow up the renderer (partials: an a→b→a cycle aborts the process).

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};

use super::{TemplateKind, TemplateProblem};

/// Helpers a template may call, and which of them may open a block.
pub const HELPERS: &[&str] = &[
    "if",
    "unless",
    "each",
    "with",
    "lookup",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "len",
    "format_money",
    "format_date",
    "default",
    "safe_url",
];
const BLOCK_HELPERS: &[&str] = &["if", "unless", "each", "with"];
const MAX_EACH_DEPTH: usize = 3;
/// Checked on the source before handlebars parses it: its parser recurses on nesting.
const MAX_BLOCK_DEPTH: usize = 12;
const MAX_PAREN_DEPTH: usize = 6;
/// Each `{{else if …}}` nests one level deeper inside handlebars (and in its recursive
/// renderer and drop), so chained branches count towards this bound together with blocks.
const MAX_NESTING: usize = 32;

/// Tags an admin may not write literally into an HTML template.
const DANGEROUS_TAGS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "link",
    "form", "svg", "math", "template", "noscript",
];
/// Attributes whose value is a URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "poster",
    "background",
    "cite",
    "data",
    "xlink:href",
    "srcset",
    "ping",
    "longdesc",
    "manifest",
    "codebase",
    "lowsrc",
    "dynsrc",
    "usemap",
    "icon",
];

fn problem(
    line: usize,
    column: usize,
    code: &'static str,
    message: impl Into<String>,
) -> TemplateProblem {
    TemplateProblem {
        line,
        column,
        code,
        message: message.into(),
    }
}

/// Keeps the last `n` characters of `s` (on a character boundary: templates are UTF-8).
fn keep_tail(s: &mut String, n: usize) {
    if let Some((cut, c)) = s.char_indices().rev().nth(n) {
        s.drain(..cut + c.len_utf8());
    }
}

/// Limits nesting before handlebars' recursive-descent parser sees the source.
pub(crate) fn prescan(src: &str) -> Vec<TemplateProblem> {
    let b = src.as_bytes();
    let (mut line, mut col) = (1usize, 1usize);
    // One entry per open block: how many `else if` branches it has chained so far.
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    let mut out = Vec::new();
    let advance = |i: usize, to: usize, line: &mut usize, col: &mut usize| {
        for &c in &b[i..to.min(b.len())] {
            if c == b'\n' {
                *line += 1;
                *col = 1;
            } else if c & 0xC0 != 0x80 {
                *col += 1;
            }
        }
    };
    while i < b.len() {
        if !(b[i] == b'{' && b.get(i + 1) == Some(&b'{')) {
            advance(i, i + 1, &mut line, &mut col);
            i += 1;
            continue;
        }
        let (start_line, start_col) = (line, col);
        let mut j = i + 2;
        while b.get(j) == Some(&b'{') || b.get(j) == Some(&b'~') {
            j += 1;
        }
        let body_start = j;
        // Comments may contain anything, including "}}" inside {{!-- --}}.
        let end = if src[body_start..].starts_with("!--") {
            src[body_start..].find("--}}").map(|k| body_start + k + 4)
        } else {
            let mut parens = 0usize;
            let mut max_parens = 0usize;
            let mut quote: Option<u8> = None;
            let mut k = body_start;
            let mut end = None;
            while k < b.len() {
                let c = b[k];
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None => match c {
                        b'"' | b'\'' => quote = Some(c),
                        b'(' => {
                            parens += 1;
                            max_parens = max_parens.max(parens);
                        }
                        b')' => parens = parens.saturating_sub(1),
                        b'}' if b.get(k + 1) == Some(&b'}') => {
                            end = Some(k + 2);
                            break;
                        }
                        _ => {}
                    },
                }
                k += 1;
            }
            if max_parens > MAX_PAREN_DEPTH {
                out.push(problem(
                    start_line,
                    start_col,
                    "too_complex",
                    format!("helpers nested more than {MAX_PAREN_DEPTH} deep"),
                ));
            }
            end
        };
        let body = src[body_start..end.unwrap_or(b.len())]
            .trim_start_matches('~')
            .trim_start();
        let opens = body.starts_with('#')
            || (body.starts_with('^') && !body[1..].trim_start().starts_with('}'));
        let chained = body.strip_prefix("else").is_some_and(|rest| {
            rest.starts_with(char::is_whitespace) && !rest.trim_start().starts_with(['}', '~'])
        });
        if opens {
            open.push(0);
        } else if chained {
            if let Some(n) = open.last_mut() {
                *n += 1;
            }
        } else if body.starts_with('/') {
            open.pop();
        }
        let nesting = open.len() + open.iter().sum::<usize>();
        if open.len() > MAX_BLOCK_DEPTH || nesting > MAX_NESTING {
            out.push(problem(
                start_line,
                start_col,
                "too_complex",
                format!(
                    "blocks nested more than {MAX_BLOCK_DEPTH} deep, or more than {MAX_NESTING} levels counting each else-if branch"
                ),
            ));
            return out;
        }
        let next = end.unwrap_or(b.len());
        advance(i, next, &mut line, &mut col);
        i = next;
    }
    out
}

/// Where the next expression would land in the HTML being written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Html {
    Text,
    Comment,
    /// After `<!`: a comment if `--` follows, else a doctype or bogus comment up to `>`.
    Declaration {
        seen: String,
    },
    /// Just after `<`, or inside a tag name.
    TagName {
        name: String,
        closing: bool,
    },
    InTag {
        tag: String,
    },
    AttrName {
        tag: String,
        name: String,
    },
    AfterAttrName {
        tag: String,
        name: String,
    },
    BeforeValue {
        tag: String,
        name: String,
    },
    Value {
        tag: String,
        name: String,
        quote: Option<char>,
        value: String,
    },
    /// Inside `<style>` (or another raw-text element) until its end tag.
    RawText {
        tag: String,
        seen: String,
    },
}

pub(crate) struct Lint {
    kind: TemplateKind,
    html: Html,
    each_depth: usize,
    pub(crate) problems: Vec<TemplateProblem>,
    /// Position of the element being checked.
    at: (usize, usize),
    /// The last characters of an HTML comment, to see its `-->`.
    comment_tail: String,
}

fn helper_name(p: &Parameter) -> Option<&str> {
    match p {
        Parameter::Name(n) => Some(n),
        Parameter::Path(path) => match path {
            handlebars::Path::Relative((_, raw)) => Some(raw),
            handlebars::Path::Local((_, _, raw)) => Some(raw),
        },
        _ => None,
    }
}

impl Lint {
    pub(crate) fn new(kind: TemplateKind) -> Self {
        Self {
            kind,
            html: Html::Text,
            each_depth: 0,
            problems: Vec::new(),
            at: (0, 0),
            comment_tail: String::new(),
        }
    }

    fn report(&mut self, code: &'static str, message: impl Into<String>) {
        let (line, column) = self.at;
        self.problems.push(problem(line, column, code, message));
    }

    pub(crate) fn template(&mut self, t: &Template) {
        for (k, e) in t.elements.iter().enumerate() {
            if let Some(m) = t.mapping.get(k) {
                self.at = (m.0, m.1);
            }
            self.element(e);
        }
    }

    fn element(&mut self, e: &TemplateElement) {
        match e {
            TemplateElement::RawString(s) => {
                if self.kind == TemplateKind::Html {
                    self.raw_html(s);
                }
            }
            TemplateElement::Comment(_) => {}
            TemplateElement::HtmlExpression(_) => self.report(
                "raw_output",
                "{{{ }}} and {{& }} print values without HTML escaping; use {{ }}",
            ),
            TemplateElement::Expression(h) => {
                self.expression(h);
                if self.kind == TemplateKind::Html {
                    self.expression_in_html(h);
                }
            }
            TemplateElement::HelperBlock(h) => self.block(h),
            TemplateElement::DecoratorExpression(d) | TemplateElement::DecoratorBlock(d) => {
                if helper_name(&d.name) == Some("inline") {
                    self.report("partial", "inline partials are not supported")
                } else {
                    self.report("decorator", "decorators are not supported")
                }
            }
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                self.report("partial", "partials are not supported")
            }
            _ => self.report("syntax", "this template construct is not supported"),
        }
    }

    fn check_helper(&mut self, name: &str, called: bool) {
        if matches!(name, "raw" | "log" | "inline") {
            self.report(
                "forbidden_helper",
                format!("the `{name}` helper is not allowed"),
            );
        } else if called && !HELPERS.contains(&name) {
            self.report(
                "unknown_helper",
                format!("unknown helper `{name}`; available: {}", HELPERS.join(", ")),
            );
        }
    }

    fn params(&mut self, h: &HelperTemplate) {
        for p in h.params.iter().chain(h.hash.values()) {
            if let Parameter::Subexpression(sub) = p {
                self.element(sub.as_element());
            }
        }
    }

    fn expression(&mut self, h: &HelperTemplate) {
        if let Parameter::Subexpression(sub) = &h.name {
            self.element(sub.as_element());
        }
        let called = !h.params.is_empty() || !h.hash.is_empty();
        if let Some(name) = helper_name(&h.name) {
            self.check_helper(name, called);
        }
        self.params(h);
    }

    fn block(&mut self, h: &HelperTemplate) {
        let name = helper_name(&h.name).unwrap_or("");
        if matches!(name, "raw" | "log") {
            self.report(
                "forbidden_helper",
                format!("the `{name}` helper is not allowed"),
            );
        } else if !BLOCK_HELPERS.contains(&name) {
            self.report(
                "unknown_helper",
                format!(
                    "`{{{{#{name}}}}}` is not a block helper; blocks: {}",
                    BLOCK_HELPERS.join(", ")
                ),
            );
        }
        self.params(h);
        if self.kind == TemplateKind::Html
            && !matches!(self.html, Html::Text | Html::Value { quote: Some(_), .. })
        {
            self.report(
                "unsafe_attribute",
                "blocks may not build tag or attribute names; put them around whole elements",
            );
        }
        let each = name == "each";
        if each {
            self.each_depth += 1;
            if self.each_depth > MAX_EACH_DEPTH {
                self.report(
                    "each_too_deep",
                    format!("#each nested more than {MAX_EACH_DEPTH} deep"),
                );
            }
        }
        let at = self.at;
        if let Some(t) = &h.template {
            self.template(t);
        }
        if let Some(t) = &h.inverse {
            self.template(t);
        }
        self.at = at;
        if each {
            self.each_depth -= 1;
        }
    }

    /// An `{{expression}}` at the current HTML position.
    fn expression_in_html(&mut self, h: &HelperTemplate) {
        let name = helper_name(&h.name).unwrap_or("");
        let safe_url = name == "safe_url" && !h.params.is_empty();
        match self.html.clone() {
            Html::Text | Html::Comment | Html::Declaration { .. } => {}
            Html::RawText { tag, .. } => self.report(
                "unsafe_context",
                format!("values cannot be printed inside <{tag}>"),
            ),
            Html::TagName { .. }
            | Html::InTag { .. }
            | Html::AttrName { .. }
            | Html::AfterAttrName { .. } => self.report(
                "unsafe_attribute",
                "values cannot build tag or attribute names",
            ),
            Html::BeforeValue { name, .. }
            | Html::Value {
                quote: None, name, ..
            } => self.report(
                "unquoted_attribute",
                format!("put the value of `{name}` in double quotes: {name}=\"{{{{…}}}}\""),
            ),
            Html::Value {
                name,
                value,
                tag,
                quote,
            } => {
                if name.starts_with("on") || name == "style" || name == "srcdoc" {
                    self.report(
                        "unsafe_attribute",
                        format!("values cannot be printed into the `{name}` attribute"),
                    );
                } else if URL_ATTRIBUTES.contains(&name.as_str())
                    && !safe_url
                    && !value.contains([':', '/', '?', '#'])
                {
                    self.report(
                        "unsafe_url",
                        format!(
                            "a `{name}` built from a value must start with a fixed https:// address or use {{{{safe_url …}}}}"
                        ),
                    );
                }
                // A placeholder keeps the literal-value checks meaningful after the hole.
                self.html = Html::Value {
                    tag,
                    name,
                    quote,
                    value: value + "x",
                };
            }
        }
    }

    fn raw_html(&mut self, s: &str) {
        for c in s.chars() {
            self.html_char(c);
        }
    }

    fn finish_tag_name(&mut self, name: &str) {
        let lower = name.to_ascii_lowercase();
        if DANGEROUS_TAGS.contains(&lower.as_str()) {
            self.report(
                "unsafe_html",
                format!("<{lower}> is not allowed in templates"),
            );
        }
    }

    fn finish_attr_name(&mut self, name: &str) {
        if name.starts_with("on") {
            self.report(
                "unsafe_html",
                format!("event handler attributes ({name}) are not allowed"),
            );
        }
    }

    fn finish_value(&mut self, name: &str, value: &str) {
        if URL_ATTRIBUTES.contains(&name) {
            let v: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if ["javascript:", "vbscript:", "data:"]
                .iter()
                .any(|p| v.starts_with(p))
            {
                self.report(
                    "unsafe_html",
                    format!("`{name}` may not use a script or data URL"),
                );
            }
        }
    }

    fn html_char(&mut self, c: char) {
        if self.html == Html::Comment {
            // Comments end at "-->"; tracked here so the state enum stays small.
            self.comment_tail.push(c);
            if self.comment_tail.ends_with("-->") {
                self.comment_tail.clear();
                self.html = Html::Text;
            } else {
                keep_tail(&mut self.comment_tail, 3);
            }
            return;
        }
        let state = std::mem::replace(&mut self.html, Html::Text);
        self.html = match state {
            Html::Text => match c {
                '<' => Html::TagName {
                    name: String::new(),
                    closing: false,
                },
                _ => Html::Text,
            },
            Html::Comment => Html::Comment,
            Html::Declaration { mut seen } => {
                seen.push(c);
                if seen == "--" {
                    Html::Comment
                } else if c == '>' {
                    Html::Text
                } else {
                    Html::Declaration { seen }
                }
            }
            Html::TagName { mut name, closing } => match c {
                '/' if name.is_empty() => Html::TagName {
                    name,
                    closing: true,
                },
                '!' if name.is_empty() => Html::Declaration {
                    seen: String::new(),
                },
                c if c.is_ascii_alphanumeric() || c == '-' || c == ':' => {
                    name.push(c);
                    Html::TagName { name, closing }
                }
                _ if name.is_empty() => Html::Text,
                '>' if closing => Html::Text,
                '>' => {
                    self.finish_tag_name(&name);
                    self.after_tag(name)
                }
                _ if closing => Html::InTag { tag: String::new() },
                _ => {
                    self.finish_tag_name(&name);
                    Html::InTag {
                        tag: name.to_ascii_lowercase(),
                    }
                }
            },
            Html::InTag { tag } => match c {
                '>' => self.after_tag(tag),
                c if c.is_whitespace() || c == '/' => Html::InTag { tag },
                c => Html::AttrName {
                    tag,
                    name: c.to_ascii_lowercase().to_string(),
                },
            },
            Html::AttrName { tag, mut name } => match c {
                '=' => {
                    self.finish_attr_name(&name);
                    Html::BeforeValue { tag, name }
                }
                '>' => {
                    self.finish_attr_name(&name);
                    self.after_tag(tag)
                }
                c if c.is_whitespace() || c == '/' => {
                    self.finish_attr_name(&name);
                    Html::AfterAttrName { tag, name }
                }
                c => {
                    name.push(c.to_ascii_lowercase());
                    Html::AttrName { tag, name }
                }
            },
            Html::AfterAttrName { tag, name } => match c {
                '=' => Html::BeforeValue { tag, name },
                '>' => self.after_tag(tag),
                c if c.is_whitespace() || c == '/' => Html::AfterAttrName { tag, name },
                c => Html::AttrName {
                    tag,
                    name: c.to_ascii_lowercase().to_string(),
                },
            },
            Html::BeforeValue { tag, name } => match c {
                '"' | '\'' => Html::Value {
                    tag,
                    name,
                    quote: Some(c),
                    value: String::new(),
                },
                c if c.is_whitespace() => Html::BeforeValue { tag, name },
                '>' => self.after_tag(tag),
                c => Html::Value {
                    tag,
                    name,
                    quote: None,
                    value: c.to_string(),
                },
            },
            Html::Value {
                tag,
                name,
                quote,
                mut value,
            } => match (quote, c) {
                (Some(q), c) if c == q => {
                    self.finish_value(&name, &value);
                    Html::InTag { tag }
                }
                (None, c) if c.is_whitespace() => {
                    self.finish_value(&name, &value);
                    Html::InTag { tag }
                }
                (None, '>') => {
                    self.finish_value(&name, &value);
                    self.after_tag(tag)
                }
                (_, c) => {
                    value.push(c);
                    Html::Value {
                        tag,
                        name,
                        quote,
                        value,
                    }
                }
            },
            Html::RawText { tag, mut seen } => {
                seen.push(c.to_ascii_lowercase());
                let end = format!("</{tag}");
                if seen.ends_with(&end) {
                    Html::InTag { tag: String::new() }
                } else {
                    keep_tail(&mut seen, 16);
                    Html::RawText { tag, seen }
                }
            }
        };
    }

    fn after_tag(&self, tag: String) -> Html {
        let lower = tag.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "style" | "script" | "xmp" | "noembed" | "noframes"
        ) {
            Html::RawText {
                tag: lower,
                seen: String::new(),
            }
        } else {
            Html::Text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_tail_respects_character_boundaries() {
        let mut s = "销售机会管理-->".to_string();
        keep_tail(&mut s, 3);
        assert_eq!(s, "-->");
        let mut s = "ab销售".to_string();
        keep_tail(&mut s, 3);
        assert_eq!(s, "b销售");
        let mut s = "ab".to_string();
        keep_tail(&mut s, 3);
        assert_eq!(s, "ab");
    }
}
