//! The MPD as a small element tree: names without namespace prefixes, unescaped attributes and
//! text, a depth cap. Plus the typed reading of attribute values (numbers, ISO 8601 durations).

use quick_xml::Reader;
use quick_xml::events::Event;

use super::DashError;

pub(super) const MAX_DEPTH: usize = 32;

#[derive(Debug, Default)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) attrs: Vec<(String, String)>,
    pub(super) children: Vec<Element>,
    pub(super) text: String,
}

impl Element {
    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub(super) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    pub(super) fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

pub(super) fn xml_err(e: impl std::fmt::Display) -> DashError {
    DashError::Xml(e.to_string())
}

pub(super) fn local(name: &[u8]) -> Result<String, DashError> {
    let s = std::str::from_utf8(name).map_err(xml_err)?;
    Ok(s.rsplit(':').next().unwrap_or(s).to_string())
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, DashError> {
    let mut el = Element {
        name: local(e.name().as_ref())?,
        ..Element::default()
    };
    for attr in e.attributes() {
        let attr = attr.map_err(xml_err)?;
        let key = local(attr.key.as_ref())?;
        let value = attr.unescape_value().map_err(xml_err)?.into_owned();
        el.attrs.push((key, value));
    }
    Ok(el)
}

pub(super) fn parse_dom(text: &str) -> Result<Element, DashError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let attach = |stack: &mut Vec<Element>, el: Element, root: &mut Option<Element>| match stack
        .last_mut()
    {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => {}
    };
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(DashError::TooDeep(MAX_DEPTH));
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                let el = element(&e)?;
                attach(&mut stack, el, &mut root);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| xml_err("unbalanced end tag"))?;
                attach(&mut stack, el, &mut root);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(xml_err)?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(xml_err)?);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(xml_err)? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(xml_err)?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| xml_err(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(xml_err("unclosed elements at end of document"));
    }
    let root = root.ok_or_else(|| xml_err("empty document"))?;
    if root.name != "MPD" {
        return Err(DashError::NotMpd(root.name));
    }
    Ok(root)
}

pub(super) fn num<T: std::str::FromStr>(
    el: &Element,
    name: &'static str,
) -> Result<Option<T>, DashError> {
    el.attr(name)
        .map(|v| {
            v.trim().parse::<T>().map_err(|_| DashError::Invalid {
                what: name,
                value: v.to_string(),
            })
        })
        .transpose()
}

/// Seconds of an ISO 8601 duration as used by DASH (`PT1H2M3.5S`, `P1DT2S`).
pub fn parse_iso_duration(text: &str) -> Result<f64, DashError> {
    let bad = || DashError::Invalid {
        what: "duration",
        value: text.to_string(),
    };
    let rest = text.trim().strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut take = |part: &str, units: &[(char, f64)]| -> Result<(), DashError> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let mult = units
                .iter()
                .find(|(u, _)| *u == c)
                .map(|(_, m)| *m)
                .ok_or_else(bad)?;
            let n: f64 = num.parse().map_err(|_| bad())?;
            total += n * mult;
            num.clear();
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    take(date, &[('D', 86_400.0)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return Err(bad());
        }
        take(t, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    if total.is_finite() {
        Ok(total)
    } else {
        Err(bad())
    }
}
