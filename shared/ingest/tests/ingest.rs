//! Parsing and guard rails, end to end over generated and committed fixtures (chunking is
//! in `chunking.rs`).

mod support;

use lambdarag_ingest::{chunk, parse, parser_supports, BlockKind, ParseError, ParseLimits};
use serde_json::json;
use support::fixtures::*;

/// The committed fixtures parse as expected (and the binary ones are regenerated when
/// missing or when LAMBDARAG_WRITE_FIXTURES is set).
#[test]
fn committed_fixtures_parse() {
    let dir = fixture_dir();
    type Builder = fn() -> Vec<u8>;
    let generated: [(&str, Builder); 4] = [
        ("solar_warranty.docx", fixture_docx),
        ("solar_inventory.xlsx", fixture_xlsx),
        ("solar_overview.pptx", fixture_pptx),
        ("solar_installation.pdf", fixture_pdf),
    ];
    for (name, build) in generated {
        let path = dir.join(name);
        if !path.exists() || std::env::var_os("LAMBDARAG_WRITE_FIXTURES").is_some() {
            std::fs::write(&path, build()).expect("write fixture");
        }
    }
    let read = |n: &str| std::fs::read(dir.join(n)).expect(n);

    let txt = ok("solar_maintenance.txt", &read("solar_maintenance.txt"));
    assert!(txt.blocks.len() >= 7, "{:?}", kinds(&txt));
    assert!(txt.text().contains("pressure washer"));

    let md = ok("solar_guide.md", &read("solar_guide.md"));
    assert_eq!(md.blocks[0].kind, BlockKind::Heading(1));
    assert!(md
        .blocks
        .iter()
        .any(|b| b.kind == BlockKind::Heading(3) && b.text == "Commissioning"));
    assert!(md
        .blocks
        .iter()
        .any(|b| matches!(&b.kind, BlockKind::Table { rows } if rows.len() == 4)));
    assert!(md.blocks.iter().any(|b| b.kind == BlockKind::ListItem));

    let html = ok("solar_article.html", &read("solar_article.html"));
    assert_eq!(html.blocks[0].kind, BlockKind::Title);
    assert!(html
        .blocks
        .iter()
        .any(|b| b.kind == BlockKind::Heading(1) && b.text == "How Net Metering Works"));
    assert!(html.blocks.iter().any(
        |b| matches!(&b.kind, BlockKind::Table { rows } if rows.len() == 4 && rows[0][0] == "Month")
    ));
    assert!(!html.text().contains("analytics"), "script dropped");
    assert!(!html.text().contains("font-family"), "style dropped");

    let csv = ok("solar_products.csv", &read("solar_products.csv"));
    let BlockKind::Table { rows } = &csv.blocks[0].kind else {
        panic!("csv is a table")
    };
    assert_eq!(rows.len(), 9);
    assert_eq!(rows[8][1], "Roof racking kit, per panel");

    let json_doc = ok("solar_faq.json", &read("solar_faq.json"));
    assert_eq!(json_doc.blocks.len(), 4);
    assert!(json_doc.blocks[2].text.contains("related.sku: NW-BAT10"));
    assert!(json_doc.blocks[0].text.contains("tags: lifetime, warranty"));

    let jsonl = ok("solar_tickets.jsonl", &read("solar_tickets.jsonl"));
    assert_eq!(jsonl.blocks.len(), 5);
    assert!(jsonl.blocks[1]
        .text
        .contains("subject: Inverter shows fault code E-21"));

    let eml = ok("solar_quote.eml", &read("solar_quote.eml"));
    assert_eq!(eml.blocks[0].kind, BlockKind::EmailHeader);
    let header = &eml.blocks[0].text;
    assert!(
        header.contains("Subject: Your solar quote NW-Q-2291 and next steps"),
        "{header}"
    );
    assert!(header.contains("From: Dana Whitfield <dana.whitfield@northwind-solar.example>"));
    assert!(header.contains("Attachments: NW-Q-2291.pdf"));
    assert!(eml.text().contains("payback period is 7.8 years"));

    let docx = ok("solar_warranty.docx", &read("solar_warranty.docx"));
    assert_eq!(
        kinds(&docx),
        [
            "Title",
            "Paragraph",
            "Heading(1)",
            "Paragraph",
            "Paragraph",
            "Heading(2)",
            "Table5",
            "Heading(1)",
            "ListItem",
            "ListItem",
            "ListItem",
            "Heading(1)",
            "Paragraph"
        ]
    );
    assert_eq!(docx.blocks[0].text, "Northwind Solar Limited Warranty");

    let xlsx = ok("solar_inventory.xlsx", &read("solar_inventory.xlsx"));
    assert_eq!(xlsx.blocks.len(), 2);
    assert_eq!(xlsx.blocks[0].sheet.as_deref(), Some("Products"));
    assert_eq!(xlsx.blocks[1].sheet.as_deref(), Some("FAQ"));
    let BlockKind::Table { rows } = &xlsx.blocks[0].kind else {
        panic!("sheet is a table")
    };
    assert_eq!(
        rows[1],
        ["NW-400M", "Northwind Mono 400", "400", "289", "1240"]
    );

    let pptx = ok("solar_overview.pptx", &read("solar_overview.pptx"));
    assert_eq!(pptx.blocks.len(), 4);
    assert!(pptx.blocks.iter().all(|b| b.kind == BlockKind::Slide));
    assert_eq!(pptx.blocks[1].page, Some(2));
    assert!(
        pptx.blocks[1].text.starts_with("Installations\n"),
        "title first: {}",
        pptx.blocks[1].text
    );

    let pdf = ok("solar_installation.pdf", &read("solar_installation.pdf"));
    assert!(pdf.notes.is_empty(), "{:?}", pdf.notes);
    assert!(pdf
        .blocks
        .iter()
        .any(|b| b.page == Some(1) && b.text.contains("Installation Checklist")));
    assert!(pdf
        .blocks
        .iter()
        .any(|b| b.page == Some(2) && b.text.contains("Permission to operate usually arrives")));
}

// ---------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------

#[test]
fn plain_text_and_code() {
    let d = ok(
        "notes.TXT",
        b"First paragraph\nstill first.\n\n\nSecond one.\n",
    );
    assert_eq!(d.blocks.len(), 2);
    assert_eq!(d.blocks[0].text, "First paragraph\nstill first.");
    let d = ok("main.py", b"def f():\n    return 1\n\n\nprint(f())\n");
    assert!(d.blocks.iter().all(|b| b.kind == BlockKind::Code));
    assert_eq!(d.blocks[0].text, "def f():\n    return 1");
}

#[test]
fn text_encodings() {
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("Grüße aus Köln".encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(ok("a.txt", &utf16).text(), "Grüße aus Köln");
    let latin1 = b"Caf\xE9 cr\xE8me and a long enough run of plain ascii text to stay textual";
    let d = ok("a.txt", latin1);
    assert!(d.text().contains('\u{FFFD}'));
    assert!(d.notes[0].contains("not valid UTF-8"), "{:?}", d.notes);
}

#[test]
fn markdown_structure() {
    let md = "Intro line\n=====\n\n## Part *two*\ntext\n\n```rust\n# not a heading\n```\n\n- item one\n- item two\n";
    let d = ok("x.md", md.as_bytes());
    assert_eq!(
        kinds(&d),
        [
            "Heading(1)",
            "Heading(2)",
            "Paragraph",
            "Code",
            "ListItem",
            "ListItem"
        ]
    );
    assert_eq!(d.blocks[3].text, "# not a heading");
}

#[test]
fn html_nested_and_broken() {
    let html = "<p>Unclosed <b>bold<div>block</div><table><tr><td>a<table><tr><td>inner</td></tr></table></td><td>b</td></tr></table><h2>End</h2>";
    let d = ok("x.htm", html.as_bytes());
    assert!(d.text().contains("Unclosed bold"));
    let table = d.blocks.iter().find_map(|b| match &b.kind {
        BlockKind::Table { rows } => Some(rows.clone()),
        _ => None,
    });
    assert_eq!(
        table,
        Some(vec![vec!["a inner".to_string(), "b".to_string()]])
    );
    // Nesting within the structural limit is walked without recursion.
    let nested = format!(
        "{}nested{}",
        "<section>".repeat(500),
        "</section>".repeat(500)
    );
    assert_eq!(ok("nested.html", nested.as_bytes()).text(), "nested");
    // Pathological nesting (quadratic for a tree builder) is read as plain text.
    let deep = format!(
        "<h1>Top</h1>{}deep &amp; down{}",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    let d = ok("deep.html", deep.as_bytes());
    assert_eq!(d.text(), "Top\ndeep & down");
    assert!(
        d.notes[0].contains("nested more than 512 elements deep"),
        "{:?}",
        d.notes
    );
}

#[test]
fn json_and_jsonl() {
    let d = ok("a.json", br#"{"name": "x", "n": 1}"#);
    assert_eq!(d.text(), "name: x\nn: 1");
    match err("a.json", b"{\"a\": ") {
        ParseError::InvalidJson(_) => {}
        e => panic!("{e}"),
    }
    match err("a.jsonl", b"{\"a\": 1}\n\n{\"b\": oops}\n") {
        ParseError::InvalidJsonLine { line, .. } => assert_eq!(line, 3),
        e => panic!("{e}"),
    }
    // Hostile nesting is refused by the parser's depth limit, not by a stack overflow.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse("deep.json", deep.as_bytes(), &limits()).is_err());
}

#[test]
fn csv_and_tsv() {
    let d = ok("a.tsv", b"h1\th2\nv1\tv2\n");
    assert_eq!(d.blocks[0].text, "| h1 | h2 |\n| --- | --- |\n| v1 | v2 |");
    let d = ok("semi.csv", b"a;b;c\n1;2;3\n");
    let BlockKind::Table { rows } = &d.blocks[0].kind else {
        panic!()
    };
    assert_eq!(rows[1], ["1", "2", "3"]);
}

#[test]
fn pdf_page_without_text_gets_a_note() {
    let bytes = support::pdf(&[vec!["Hello (world) from page one"], vec![]]);
    let d = ok("two.pdf", &bytes);
    assert_eq!(d.blocks.len(), 1);
    assert_eq!(d.blocks[0].page, Some(1));
    assert_eq!(d.blocks[0].text, "Hello (world) from page one");
    assert_eq!(
        d.notes,
        ["Page 2 has no text layer; OCR is not available in lambdarag."]
    );
    // No text at all: Ok, zero blocks, the notes say why.
    let d = ok("scan.pdf", &support::pdf(&[vec![], vec![]]));
    assert!(d.blocks.is_empty());
    assert_eq!(d.notes.len(), 2);
    // Page limit.
    let small = ParseLimits {
        max_pages: 1,
        ..ParseLimits::default()
    };
    assert!(matches!(
        parse("two.pdf", &bytes, &small),
        Err(ParseError::LimitExceeded(_))
    ));
}

#[test]
fn images_are_stored_without_text() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let d = ok("photo.PNG", png);
    assert!(d.blocks.is_empty());
    assert_eq!(
        d.notes,
        ["Image stored; OCR is not available in lambdarag, so no text was extracted."]
    );
    assert!(chunk(&d, "picture", &json!({}), "photo.png")
        .unwrap()
        .is_empty());
    let e = err("photo.jpg", b"just some text pretending");
    assert!(
        e.to_string()
            .contains("not a JPEG image (it looks like plain text)"),
        "{e}"
    );
}

#[test]
fn unsupported_and_supported() {
    assert!(matches!(err("a.exe", b"MZ"), ParseError::Unsupported(_)));
    assert!(matches!(err("noext", b"x"), ParseError::Unsupported(_)));
    assert!(matches!(err("a.txt", b""), ParseError::Empty));
    for ext in [
        "txt", "md", "html", "json", "jsonl", "csv", "xlsx", "xls", "docx", "pptx", "pdf", "eml",
        "png", "py",
    ] {
        assert!(parser_supports(ext), "{ext}");
    }
    assert!(!parser_supports("doc"));
    let small = ParseLimits {
        max_file_bytes: 4,
        ..ParseLimits::default()
    };
    assert!(matches!(
        parse("a.txt", b"hello", &small),
        Err(ParseError::TooLarge { size: 5, limit: 4 })
    ));
}

#[test]
fn email_without_headers_is_refused() {
    let e = err("a.eml", b"just a line of text\n\nand more");
    assert!(e.to_string().contains("not an e-mail message"), "{e}");
}

#[test]
fn text_limit() {
    let small = ParseLimits {
        max_text_chars: 10,
        ..ParseLimits::default()
    };
    assert!(matches!(
        parse("a.txt", b"0123456789abcdef", &small),
        Err(ParseError::LimitExceeded(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Guard rails
// ---------------------------------------------------------------------------------------

#[test]
fn lying_extensions() {
    let e = err(
        "report.docx",
        b"This is plain text, not a Word file at all.",
    );
    assert_eq!(
        e.to_string(),
        "The file is named .docx but its content is not a Word document (DOCX) (it looks like plain text)."
    );
    let e = err("sheet.xlsx", &fixture_pdf());
    assert!(e.to_string().contains("(it looks like a PDF)"), "{e}");
    let e = err("deck.pptx", &fixture_docx());
    assert!(
        e.to_string().contains("without ppt/presentation.xml"),
        "{e}"
    );
    let e = err("paper.pdf", &fixture_docx());
    assert!(
        e.to_string()
            .contains("not a PDF document (it looks like a ZIP archive)"),
        "{e}"
    );
    // A legacy .doc renamed .docx (an OLE2 container).
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.extend(vec![0u8; 512]);
    let e = err("old.docx", &ole);
    assert!(e.to_string().contains("OLE2"), "{e}");
    // A password-protected .docx/.xlsx: an OLE2 container holding an EncryptedPackage.
    ole.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
    for name in ["secret.docx", "secret.xlsx", "secret.pptx"] {
        let e = err(name, &ole);
        assert!(matches!(e, ParseError::Encrypted { .. }), "{name}: {e}");
        assert!(e.to_string().contains("password-protected"));
    }
}

#[test]
fn truncated_containers() {
    for (name, bytes) in [
        ("a.docx", fixture_docx()),
        ("a.xlsx", fixture_xlsx()),
        ("a.pptx", fixture_pptx()),
    ] {
        for cut in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 30] {
            let e = err(name, &bytes[..cut]);
            assert!(
                matches!(e, ParseError::Corrupt { .. }),
                "{name} cut at {cut}: {e}"
            );
        }
    }
    let pdf = fixture_pdf();
    // A PDF cut short may still yield its first page (lenient xref recovery) but never panics.
    for cut in [20, pdf.len() / 2, pdf.len() - 10] {
        let _ = parse("a.pdf", &pdf[..cut], &limits());
    }
}

#[test]
fn zip_bomb_with_honest_sizes() {
    // 200 MiB of zeros declared as such: refused on the header's numbers, before inflating.
    let data = support::deflated_zeros(200);
    let declared = 200 * 1024 * 1024;
    let bomb = support::raw_zip(&[support::RawEntry {
        name: "word/document.xml",
        method: 8,
        data,
        crc: 0,
        declared_size: declared,
    }]);
    let e = err("bomb.docx", &bomb);
    assert!(e.to_string().contains("zip bomb"), "{e}");
    // The same entry inside an .xlsx, which calamine would otherwise inflate.
    let bomb = support::raw_zip(&[support::RawEntry {
        name: "xl/workbook.xml",
        method: 8,
        data: support::deflated_zeros(200),
        crc: 0,
        declared_size: declared,
    }]);
    let e = err("bomb.xlsx", &bomb);
    assert!(e.to_string().contains("zip bomb"), "{e}");
}

#[test]
fn zip_bomb_with_lying_sizes() {
    // 64 MiB of zeros whose headers claim 1,000 bytes: caught by counting what comes out.
    for name in [
        "word/document.xml",
        "ppt/presentation.xml",
        "xl/workbook.xml",
    ] {
        let bomb = support::raw_zip(&[support::RawEntry {
            name,
            method: 8,
            data: support::deflated_zeros(64),
            crc: 0,
            declared_size: 1000,
        }]);
        let file = match name {
            "word/document.xml" => "lie.docx",
            "ppt/presentation.xml" => "lie.pptx",
            _ => "lie.xlsx",
        };
        let e = err(file, &bomb);
        assert!(
            matches!(e, ParseError::LimitExceeded(_) | ParseError::Corrupt { .. }),
            "{file}: {e}"
        );
    }
}

#[test]
fn uncompressed_budget_and_entry_count() {
    let docx = fixture_docx();
    let tight = ParseLimits {
        max_uncompressed_bytes: 100,
        ..ParseLimits::default()
    };
    assert!(matches!(
        parse("a.docx", &docx, &tight),
        Err(ParseError::LimitExceeded(_))
    ));
    let few = ParseLimits {
        max_zip_entries: 2,
        ..ParseLimits::default()
    };
    let e = parse("a.docx", &docx, &few).unwrap_err();
    assert!(e.to_string().contains("entries"), "{e}");
}

const ALL_EXTS: &[&str] = &[
    "txt", "md", "html", "json", "jsonl", "csv", "tsv", "xlsx", "xls", "docx", "pptx", "pdf",
    "eml", "png", "jpg", "gif", "webp", "bmp", "tiff", "py", "xml",
];

#[test]
fn random_bytes_never_panic() {
    let mut rng = support::Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..150 {
        let len = 16 + rng.below(4096);
        let mut bytes = rng.bytes(len);
        // Some rounds start with a real magic so deeper code paths run.
        let magic: &[u8] = match round % 5 {
            1 => b"PK\x03\x04",
            2 => b"%PDF-",
            3 => &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
            _ => b"",
        };
        bytes[..magic.len()].copy_from_slice(magic);
        for ext in ALL_EXTS {
            let name = format!("random.{ext}");
            match parse(&name, &bytes, &limits()) {
                Ok(d) => panic!(
                    "{name} (round {round}) parsed random bytes: {:?}",
                    kinds(&d)
                ),
                Err(ParseError::Internal { format }) => {
                    panic!("{name} (round {round}): a {format} parser panicked")
                }
                Err(e) => assert!(!e.to_string().contains('\n'), "one-line message: {e}"),
            }
        }
    }
}

#[test]
fn mutated_documents_never_panic() {
    let mut rng = support::Rng(42);
    let inputs = [
        ("m.docx", fixture_docx()),
        ("m.xlsx", fixture_xlsx()),
        ("m.pptx", fixture_pptx()),
        ("m.pdf", fixture_pdf()),
        (
            "m.html",
            std::fs::read(fixture_dir().join("solar_article.html")).expect("html"),
        ),
        (
            "m.eml",
            std::fs::read(fixture_dir().join("solar_quote.eml")).expect("eml"),
        ),
    ];
    let mut internal = Vec::new();
    for (name, original) in &inputs {
        for _ in 0..60 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(bytes.len());
                bytes[i] = rng.next() as u8;
            }
            if rng.below(3) == 0 {
                bytes.truncate(rng.below(bytes.len()) + 1);
            }
            if let Err(ParseError::Internal { format }) = parse(name, &bytes, &limits()) {
                internal.push(format!("{name}: {format}"));
            }
        }
    }
    assert!(internal.is_empty(), "parsers panicked: {internal:?}");
}
