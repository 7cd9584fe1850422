//! E-mail (.eml): a header block (subject, from, to, cc, date, attachment names) and the
//! body as paragraphs (text/plain, or the HTML part reduced to text).

use mail_parser::{Address, MessageParser, MimeHeaders};

use super::{html, paragraphs, wrong_content, DocBuilder};
use crate::error::ParseError;
use crate::model::BlockKind;

fn addresses(a: Option<&Address<'_>>) -> Option<String> {
    let a = a?;
    let list: Vec<String> = a
        .iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    (!list.is_empty()).then(|| list.join(", "))
}

pub(crate) fn parse(ext: &str, bytes: &[u8], doc: &mut DocBuilder) -> Result<(), ParseError> {
    let Some(msg) = MessageParser::default().parse(bytes) else {
        return Err(wrong_content(ext, "an e-mail message", bytes));
    };
    let subject = msg.subject().map(str::to_string);
    let from = addresses(msg.from());
    let to = addresses(msg.to());
    let cc = addresses(msg.cc());
    let date = msg.date().map(|d| d.to_rfc3339());
    if subject.is_none() && from.is_none() && to.is_none() && date.is_none() {
        return Err(ParseError::WrongContent {
            ext: ext.to_string(),
            expected: "an e-mail message",
            hint: " (it has no Subject, From, To or Date header)".to_string(),
        });
    }
    let mut header = Vec::new();
    for (label, value) in [
        ("Subject", subject),
        ("From", from),
        ("To", to),
        ("Cc", cc),
        ("Date", date),
    ] {
        if let Some(v) = value {
            header.push(format!("{label}: {v}"));
        }
    }
    let attachments: Vec<String> = msg
        .attachments()
        .filter_map(|a| a.attachment_name().map(str::to_string))
        .collect();
    if !attachments.is_empty() {
        header.push(format!("Attachments: {}", attachments.join(", ")));
    }
    doc.add(BlockKind::EmailHeader, &header.join("\n"))?;

    // Prefer the plain-text body; fall back to the HTML body through the HTML extractor.
    let has_plain = msg
        .text_body
        .iter()
        .any(|&i| msg.parts.get(i as usize).is_some_and(|p| !p.is_text_html()));
    if has_plain {
        for i in 0..msg.text_body.len() {
            if let Some(body) = msg.body_text(i) {
                for p in paragraphs(&body) {
                    doc.add(BlockKind::Paragraph, &p)?;
                }
            }
        }
    } else if let Some(html_body) = msg.body_html(0) {
        html::parse_str(&html_body, doc)?;
    }
    Ok(())
}
