//! Small helpers over quick-xml events for the Office formats.

use quick_xml::events::{BytesRef, BytesStart};
use quick_xml::Reader;

use crate::error::ParseError;

/// A reader over an XML part that tolerates nothing malformed (errors become `Corrupt`).
pub(crate) fn reader(xml: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_reader(xml.as_bytes());
    r.config_mut().check_end_names = true;
    r
}

/// The value of the attribute with this local name (any prefix).
pub(crate) fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// The value of a namespaced attribute with this local name (`r:id`, not `id`).
pub(crate) fn attr_prefixed(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.prefix().is_some() && a.key.local_name().as_ref() == local)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// The text of an entity or character reference (`&amp;`, `&#x41;`).
pub(crate) fn resolve_ref(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    let name = r.xml10_content();
    match name.as_ref() {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => String::new(),
    }
}

/// The error for a part that is not well-formed XML.
pub(crate) fn xml_error(format: &'static str, part: &str, e: impl std::fmt::Display) -> ParseError {
    ParseError::corrupt(format, format!("{part} is not well-formed XML ({e})"))
}

/// Relationship id → target from a `.rels` part.
pub(crate) fn relationships(
    format: &'static str,
    part: &str,
    xml: &str,
) -> Result<Vec<(String, String, String)>, ParseError> {
    use quick_xml::events::Event;
    let mut r = reader(xml);
    let mut out = Vec::new();
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if e.local_name().as_ref() == "Relationship" {
                    let id = attr(&e, "Id").unwrap_or_default();
                    let ty = attr(&e, "Type").unwrap_or_default();
                    let target = attr(&e, "Target").unwrap_or_default();
                    out.push((id, ty, target));
                }
            }
            Ok(Event::Eof) => return Ok(out),
            Ok(_) => {}
            Err(e) => return Err(xml_error(format, part, e)),
        }
    }
}

/// Resolve a relationship target against the folder of the part that holds it.
pub(crate) fn resolve_target(base_dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if let Some(abs) = target.strip_prefix('/') {
        return normalize(abs.split('/').collect());
    } else {
        base_dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    parts.extend(target.split('/'));
    normalize(parts)
}

fn normalize(parts: Vec<&str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for p in parts {
        match p {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve() {
        assert_eq!(
            resolve_target("ppt", "slides/slide1.xml"),
            "ppt/slides/slide1.xml"
        );
        assert_eq!(
            resolve_target("ppt/slides", "../media/a.png"),
            "ppt/media/a.png"
        );
        assert_eq!(
            resolve_target("", "/word/document.xml"),
            "word/document.xml"
        );
    }
}
