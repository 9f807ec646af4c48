//! A minimal element tree over quick-xml: local names only (BPMN files use varying prefixes).

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    /// Local name (`userTask`).
    pub name: String,
    /// Prefix of the element name (`bpmn`), empty if none.
    pub prefix: String,
    /// (prefix, local name, value).
    pub attrs: Vec<(String, String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(_, k, _)| k == local)
            .map(|(_, _, v)| v.as_str())
    }

    /// Attribute with a given prefix (e.g. `crm`).
    pub fn attr_ns(&self, prefix: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(p, k, _)| p == prefix && k == local)
            .map(|(_, _, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Depth-first search for descendants with this local name.
    pub fn descendants<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.descendants(name, out);
        }
    }
}

fn split(q: &[u8]) -> (String, String) {
    let s = String::from_utf8_lossy(q);
    match s.split_once(':') {
        Some((p, l)) => (p.to_string(), l.to_string()),
        None => (String::new(), s.to_string()),
    }
}

fn open(e: &BytesStart<'_>) -> Result<Element, String> {
    let (prefix, name) = split(e.name().as_ref());
    let mut el = Element {
        name,
        prefix,
        ..Default::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|x| x.to_string())?;
        let (p, k) = split(a.key.as_ref());
        let v = a.unescape_value().map_err(|x| x.to_string())?.into_owned();
        el.attrs.push((p, k, v));
    }
    Ok(el)
}

/// Parse a document into its root element.
pub(crate) fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(e) => stack.push(open(&e)?),
            Event::Empty(e) => {
                let el = open(&e)?;
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced XML")?;
                match stack.last_mut() {
                    Some(top) => top.children.push(el),
                    None => return Err("unbalanced XML".into()),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| e.to_string())?;
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?
                        .to_string(),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let doc = stack.pop().ok_or("empty document")?;
    if !stack.is_empty() {
        return Err("unclosed elements at end of document".into());
    }
    doc.children
        .into_iter()
        .next()
        .ok_or_else(|| "empty document".into())
}

/// A small XML writer with escaping.
#[derive(Default)]
pub(crate) struct Writer {
    pub out: String,
    depth: usize,
}

pub(crate) fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)], close: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push_str(&format!(" {k}=\"{}\"", esc(v)));
        }
        self.out.push_str(close);
        self.out.push('\n');
    }

    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs, ">");
        self.depth += 1;
    }

    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs, "/>");
    }

    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str(&format!("</{name}>\n"));
    }

    pub fn text_elem(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push_str(&format!(" {k}=\"{}\"", esc(v)));
        }
        self.out.push_str(&format!(">{}</{name}>\n", esc(text)));
    }
}
