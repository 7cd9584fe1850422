//! Parsing, guard rails and chunking, end to end over generated and committed fixtures.

mod support;

use std::path::PathBuf;

use lambdarag_ingest::{
    chunk, count_tokens, parse, parser_supports, BlockKind, ParseError, ParseLimits, ParsedDocument,
};
use serde_json::json;
use support::{C, D};

fn limits() -> ParseLimits {
    ParseLimits::default()
}

fn ok(name: &str, bytes: &[u8]) -> ParsedDocument {
    match parse(name, bytes, &limits()) {
        Ok(d) => d,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn err(name: &str, bytes: &[u8]) -> ParseError {
    match parse(name, bytes, &limits()) {
        Ok(d) => panic!("{name} parsed but should not have: {d:?}"),
        Err(e) => e,
    }
}

fn kinds(doc: &ParsedDocument) -> Vec<String> {
    doc.blocks
        .iter()
        .map(|b| match &b.kind {
            BlockKind::Table { rows } => format!("Table{}", rows.len()),
            k => format!("{k:?}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Fixtures (binary ones are generated here and committed under tests/fixtures)
// ---------------------------------------------------------------------------------------

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture_docx() -> Vec<u8> {
    support::docx(&[
        D::Title("Northwind Solar Limited Warranty"),
        D::P("This warranty applies to Northwind Solar panels, inverters and batteries purchased in the United States and installed by a certified Northwind installer."),
        D::H(1, "What is covered"),
        D::P("Northwind warrants that its panels are free from defects in materials and workmanship for twenty-five years from the date of installation."),
        D::P("The performance warranty guarantees at least 97.5 percent of rated power in the first year, declining by no more than 0.5 percent per year, so that output in year twenty-five is at least 84 percent of rated power."),
        D::H(2, "Coverage periods"),
        D::Table(vec![
            vec!["Component", "Product warranty", "Performance warranty"],
            vec!["Panels", "25 years", "25 years"],
            vec!["Microinverters", "25 years", "n/a"],
            vec!["String inverters", "12 years", "n/a"],
            vec!["HomeCell battery", "10 years", "70% capacity after 10 years"],
        ]),
        D::H(1, "What is not covered"),
        D::Li("Damage caused by fire, flood, lightning, hail larger than 25 mm or other acts of nature."),
        D::Li("Panels moved, modified or repaired by anyone other than a certified installer."),
        D::Li("Cosmetic changes that do not reduce power output, such as discoloration of the frame."),
        D::H(1, "How to make a claim"),
        D::P("Open a claim in the Northwind app or e-mail warranty@northwind-solar.example with your installation certificate, the serial numbers of the affected components and photos of any visible damage. Northwind will respond within five business days and, if the claim is approved, repair or replace the component at no charge, including labour."),
    ])
}

fn fixture_xlsx() -> Vec<u8> {
    support::xlsx(&[
        (
            "Products",
            vec![
                vec![C::S("SKU"), C::S("Product"), C::S("Power (W)"), C::S("Price (USD)"), C::S("In stock")],
                vec![C::S("NW-400M"), C::S("Northwind Mono 400"), C::N(400.0), C::N(289.0), C::N(1240.0)],
                vec![C::S("NW-430B"), C::S("Northwind Bifacial 430"), C::N(430.0), C::N(335.0), C::N(610.0)],
                vec![C::S("NW-370B"), C::S("Northwind Black 370"), C::N(370.0), C::N(279.0), C::N(95.0)],
                vec![C::S("NW-MI300"), C::S("Microinverter MI-300"), C::N(300.0), C::N(159.0), C::N(3100.0)],
                vec![C::S("NW-BAT10"), C::S("HomeCell Battery 10 kWh"), C::N(5000.0), C::N(6900.0), C::N(42.0)],
            ],
        ),
        (
            "FAQ",
            vec![
                vec![C::S("Question"), C::S("Answer")],
                vec![C::S("How long does installation take?"), C::S("Most residential installations take two days on site.")],
                vec![C::S("Can I add panels later?"), C::S("Yes, microinverter systems can be extended one panel at a time.")],
                vec![C::S("Does the battery work during an outage?"), C::S("Yes, the HomeCell battery powers essential circuits when the grid is down.")],
                vec![C::S("What efficiency do the panels reach?"), C::S("Between 20.4 and 22.0 percent depending on the model.")],
            ],
        ),
    ])
}

fn fixture_pptx() -> Vec<u8> {
    support::pptx(&[
        (
            "Northwind Solar in 2024",
            vec![
                "Annual review for customers and partners",
                "Presented by the Northwind leadership team",
            ],
        ),
        (
            "Installations",
            vec![
                "4,812 homes installed this year, up 31 percent",
                "Average system size grew to 7.9 kW",
                "Battery attach rate reached 38 percent",
            ],
        ),
        (
            "Customer satisfaction",
            vec![
                "Net promoter score of 71",
                "Median support response time: 2 hours",
                "96 percent of tickets resolved within a week",
            ],
        ),
        (
            "Plans for 2025",
            vec![
                "Launch the HomeCell 15 kWh battery",
                "Open service centres in Denver and Austin",
                "Offer a 30-year workmanship warranty",
            ],
        ),
    ])
}

fn fixture_pdf() -> Vec<u8> {
    support::pdf(&[
        vec![
            "Northwind Solar Installation Checklist",
            "",
            "Before the installation day, make sure the installers can reach the main",
            "electrical panel, the attic access hatch and the roof faces shown in the design.",
            "Move cars out of the driveway so the crew can park the racking trailer.",
            "",
            "On the first day the crew mounts the racking and the panels. Expect some noise",
            "from drilling and do not use the attic while the crew works on the roof.",
        ],
        vec![
            "Inspection and Permission to Operate",
            "",
            "After the installation a city inspector checks the wiring, the grounding and",
            "the labels on the disconnect switches. Someone over eighteen must be home.",
            "",
            "When the inspection passes, Northwind submits the final paperwork to the",
            "utility. Permission to operate usually arrives within two to four weeks; only",
            "then may the system be switched on.",
        ],
    ])
}

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

// ---------------------------------------------------------------------------------------
// Chunking
// ---------------------------------------------------------------------------------------

fn long_text() -> String {
    let sentences = [
        "Solar panels convert sunlight into direct current electricity.",
        "An inverter turns that direct current into alternating current for the home.",
        "Net metering credits the surplus energy that flows back to the grid.",
        "Batteries store midday production for use in the evening.",
        "Regular monitoring catches faults before they cost much energy.",
    ];
    let mut paras = Vec::new();
    for p in 0..40 {
        let mut para = String::new();
        for s in 0..(3 + p % 5) {
            para.push_str(sentences[(p + s) % sentences.len()]);
            para.push(' ');
        }
        paras.push(para.trim().to_string());
    }
    paras.join("\n\n")
}

#[test]
fn naive_respects_the_token_limit() {
    let text = long_text();
    let doc = ok("long.txt", text.as_bytes());
    for limit in [16, 64, 128, 512] {
        let chunks = chunk(
            &doc,
            "naive",
            &json!({"chunk_token_num": limit, "delimiter": "\\n"}),
            "long.txt",
        )
        .unwrap();
        assert!(!chunks.is_empty());
        for c in &chunks {
            assert!(
                c.token_count <= limit,
                "limit {limit}: {} tokens: {}",
                c.token_count,
                c.content
            );
            assert_eq!(c.token_count, count_tokens(&c.content));
            assert!(c.positions.is_empty());
        }
        // Nothing is lost: every word of the text appears, in order.
        let joined: String = chunks
            .iter()
            .map(|c| c.content.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&joined), words(&text), "limit {limit}");
        if limit == 512 {
            assert!(
                chunks.len() < 10,
                "small blocks are merged: {}",
                chunks.len()
            );
        }
    }
    // One huge paragraph without newlines is split at sentences.
    let one_line = long_text().replace("\n\n", " ");
    let doc = ok("line.txt", one_line.as_bytes());
    let chunks = chunk(&doc, "naive", &json!({"chunk_token_num": 40}), "line.txt").unwrap();
    assert!(chunks.iter().all(|c| c.token_count <= 40));
    assert!(
        chunks.iter().all(|c| c.content.ends_with('.')),
        "cut at sentence ends"
    );
    // A run without spaces is cut between characters.
    let blob = "x".repeat(20_000);
    let doc = ok("blob.txt", blob.as_bytes());
    let chunks = chunk(&doc, "naive", &json!({"chunk_token_num": 50}), "blob.txt").unwrap();
    assert!(chunks.iter().all(|c| c.token_count <= 50));
    assert_eq!(
        chunks.iter().map(|c| c.content.len()).sum::<usize>(),
        20_000
    );
}

#[test]
fn naive_custom_delimiters() {
    let doc = ok("a.txt", "alpha ## beta ## gamma".as_bytes());
    let chunks = chunk(
        &doc,
        "naive",
        &json!({"chunk_token_num": 2, "delimiter": "`##`"}),
        "a.txt",
    )
    .unwrap();
    let contents: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
    assert_eq!(contents, ["alpha ##", "beta ##", "gamma"]);
}

#[test]
fn tables_keep_their_header() {
    let mut csv = String::from("id,name,description\n");
    for i in 0..200 {
        csv.push_str(&format!(
            "{i},item {i},a modest description of item number {i}\n"
        ));
    }
    let doc = ok("items.csv", csv.as_bytes());
    let chunks = chunk(&doc, "naive", &json!({"chunk_token_num": 128}), "items.csv").unwrap();
    assert!(chunks.len() > 5);
    let mut rows_seen = 0;
    for c in &chunks {
        assert_eq!(c.doc_type, "table");
        assert!(c.token_count <= 128, "{}", c.token_count);
        assert!(
            c.content
                .starts_with("| id | name | description |\n| --- | --- | --- |\n"),
            "{}",
            c.content
        );
        rows_seen += c.content.lines().count() - 2;
    }
    assert_eq!(rows_seen, 200);
    // Sheets name themselves.
    let doc = ok("inv.xlsx", &fixture_xlsx());
    let chunks = chunk(&doc, "naive", &json!({}), "inv.xlsx").unwrap();
    assert_eq!(chunks.len(), 2);
    assert!(chunks[0].content.starts_with("Sheet: Products\n| SKU |"));
}

#[test]
fn qa_pairs() {
    // From a spreadsheet: header skipped, first column question, second answer.
    let doc = ok("inv.xlsx", &fixture_xlsx());
    let chunks = chunk(&doc, "qa", &json!({}), "inv.xlsx").unwrap();
    let faq: Vec<_> = chunks
        .iter()
        .filter(|c| c.questions == ["How long does installation take?"])
        .collect();
    assert_eq!(faq.len(), 1);
    assert_eq!(
        faq[0].content,
        "Question: How long does installation take?\tAnswer: Most residential installations take two days on site."
    );
    // From Q:/A: text.
    let doc = ok("qa.txt", b"Q: What is net metering?\nA: Billing for the net energy used.\nIt runs both ways.\n\nQ: Do panels need cleaning?\nA: Twice a year.\n");
    let chunks = chunk(&doc, "qa", &json!({}), "qa.txt").unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].questions, ["What is net metering?"]);
    assert_eq!(chunks[0].content, "Question: What is net metering?\tAnswer: Billing for the net energy used.\nIt runs both ways.");
    // From questions ending in '?'.
    let doc = ok("q.txt", b"How long do panels last?\nThirty years or more.\n\nDo they work in winter?\nYes, at lower output.\n");
    let chunks = chunk(&doc, "qa", &json!({}), "q.txt").unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[1].questions, ["Do they work in winter?"]);
    // From Markdown headings.
    let doc = ok("faq.md", b"# FAQ\n\n## Is solar noisy?\n\nNo, panels are silent.\n\n## Can I install it myself?\n\nNot in most cities.\n");
    let chunks = chunk(&doc, "qa", &json!({}), "faq.md").unwrap();
    assert!(chunks.iter().any(|c| c.questions == ["Is solar noisy?"]
        && c.content.ends_with("Answer: No, panels are silent.")));
    // Nothing to pair is a clear error.
    let doc = ok("n.txt", b"Just a statement.\n");
    let e = chunk(&doc, "qa", &json!({}), "n.txt").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("No question/answer pairs were found"),
        "{e}"
    );
}

#[test]
fn table_method_rows() {
    let doc = ok(
        "products.csv",
        b"SKU,Product,Price\nNW-1,Panel,289\nNW-2,,159\n",
    );
    let chunks = chunk(&doc, "table", &json!({}), "products.csv").unwrap();
    let contents: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
    assert_eq!(
        contents,
        [
            "SKU: NW-1; Product: Panel; Price: 289",
            "SKU: NW-2; Price: 159"
        ]
    );
    let doc = ok("t.txt", b"name\tcity\nAnn\tOslo\n");
    let chunks = chunk(&doc, "table", &json!({}), "t.txt").unwrap();
    assert_eq!(chunks[0].content, "name: Ann; city: Oslo");
    let doc = ok("p.txt", b"No table here.");
    assert!(chunk(&doc, "table", &json!({}), "p.txt").is_err());
}

#[test]
fn tag_method_keywords() {
    let doc = ok("tags.csv", "content,tags\nPanels need cleaning twice a year,\"maintenance, cleaning\"\nBatteries keep lights on,backup；battery\n".as_bytes());
    let chunks = chunk(&doc, "tag", &json!({}), "tags.csv").unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].content, "Panels need cleaning twice a year");
    assert_eq!(chunks[0].important_keywords, ["maintenance", "cleaning"]);
    assert_eq!(chunks[1].important_keywords, ["backup", "battery"]);
}

#[test]
fn one_and_presentation() {
    let doc = ok("deck.pptx", &fixture_pptx());
    let one = chunk(&doc, "one", &json!({}), "deck.pptx").unwrap();
    assert_eq!(one.len(), 1);
    assert!(one[0].content.contains("Plans for 2025"));
    assert_eq!(one[0].positions.len(), 4);
    let slides = chunk(&doc, "presentation", &json!({}), "deck.pptx").unwrap();
    assert_eq!(slides.len(), 4);
    for (i, c) in slides.iter().enumerate() {
        assert_eq!(c.positions, [[i as i64 + 1, 0, 0, 0, 0]]);
    }
    assert!(slides[3].content.starts_with("Plans for 2025\n"));
    // PDF pages.
    let doc = ok("a.pdf", &fixture_pdf());
    let pages = chunk(&doc, "presentation", &json!({}), "a.pdf").unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].positions, [[2, 0, 0, 0, 0]]);
    // naive over a PDF keeps page boxes too.
    let naive = chunk(&doc, "naive", &json!({"chunk_token_num": 40}), "a.pdf").unwrap();
    assert!(naive.iter().any(|c| c.positions.contains(&[2, 0, 0, 0, 0])));
}

#[test]
fn section_aware_methods() {
    let doc = ok("warranty.docx", &fixture_docx());
    let chunks = chunk(
        &doc,
        "manual",
        &json!({"chunk_token_num": 128}),
        "warranty.docx",
    )
    .unwrap();
    assert!(chunks.iter().all(|c| c.token_count <= 128));
    let covered = chunks
        .iter()
        .find(|c| c.content.contains("free from defects"))
        .unwrap();
    assert!(
        covered
            .content
            .starts_with("Northwind Solar Limited Warranty > What is covered\n"),
        "{}",
        covered.content
    );
    let table = chunks.iter().find(|c| c.doc_type == "table").unwrap();
    assert!(
        table.content.starts_with(
            "Northwind Solar Limited Warranty > What is covered > Coverage periods\n| Component |"
        ),
        "{}",
        table.content
    );
    let excl = chunks
        .iter()
        .find(|c| c.content.contains("acts of nature"))
        .unwrap();
    assert!(excl
        .content
        .starts_with("Northwind Solar Limited Warranty > What is not covered\n"));
    // Plain text with heading-like lines; laws keep articles whole.
    let law = "Chapter 1 General Provisions\nArticle 1 This act governs rooftop solar permits.\nArticle 2 A permit is valid for two years.\nIt may be renewed once.\nChapter 2 Inspections\nArticle 3 Every installation is inspected.\n";
    let doc = ok("act.txt", law.as_bytes());
    let chunks = chunk(&doc, "laws", &json!({"chunk_token_num": 24}), "act.txt").unwrap();
    let contents: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
    assert_eq!(
        contents,
        [
            "Chapter 1 General Provisions\nArticle 1 This act governs rooftop solar permits.",
            "Chapter 1 General Provisions\nArticle 2 A permit is valid for two years.\nIt may be renewed once.",
            "Chapter 2 Inspections\nArticle 3 Every installation is inspected."
        ]
    );
    let chinese = "第一章 总则\n第一条 本法适用于屋顶光伏。\n第二条 许可证有效期两年。\n";
    let doc = ok("法.txt", chinese.as_bytes());
    let chunks = chunk(&doc, "laws", &json!({"chunk_token_num": 512}), "法.txt").unwrap();
    assert_eq!(chunks.len(), 1);
    assert!(chunks[0].content.starts_with("第一章 总则\n第一条"));
}

#[test]
fn email_method() {
    let bytes = std::fs::read(fixture_dir().join("solar_quote.eml")).unwrap();
    let doc = ok("q.eml", &bytes);
    let chunks = chunk(&doc, "email", &json!({"chunk_token_num": 64}), "q.eml").unwrap();
    assert!(chunks[0].content.starts_with("Subject: Your solar quote"));
    assert!(chunks.len() > 2);
    assert!(chunks[1..].iter().all(|c| c.token_count <= 64));
}

#[test]
fn fallbacks_and_empty_documents() {
    let doc = ok("a.txt", long_text().as_bytes());
    let naive = chunk(&doc, "naive", &json!({}), "a.txt").unwrap();
    for m in ["knowledge_graph", "resume", "picture", "something_new", ""] {
        assert_eq!(chunk(&doc, m, &json!({}), "a.txt").unwrap(), naive, "{m}");
    }
    let empty = ParsedDocument::default();
    for m in ["naive", "qa", "table", "tag", "one", "laws"] {
        assert!(chunk(&empty, m, &json!({}), "x").unwrap().is_empty(), "{m}");
    }
}

#[test]
fn hostile_pdfs() {
    // A page whose content inflates far past the budget.
    let mut bomb = b"\x78\x9c".to_vec();
    bomb.extend(support::deflated_zeros(16));
    bomb.extend_from_slice(&[0, 0, 0, 0]);
    let pdf = support::pdf_raw_page(&bomb, Some("FlateDecode"), "");
    let tight = ParseLimits {
        max_uncompressed_bytes: 1024 * 1024,
        ..ParseLimits::default()
    };
    let e = parse("bomb.pdf", &pdf, &tight).unwrap_err();
    assert!(matches!(e, ParseError::LimitExceeded(_)), "{e}");
    // Deeply nested arrays in the content and in the page dictionary.
    let deep = format!(
        "BT /F1 12 Tf {}1{} Tj ET",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let pdf = support::pdf_raw_page(deep.as_bytes(), None, "");
    let _ = parse("deep.pdf", &pdf, &limits());
    let pdf = support::pdf_raw_page(
        b"BT ET",
        None,
        &format!("/X {}{}", "[".repeat(50_000), "]".repeat(50_000)),
    );
    let _ = parse("deep2.pdf", &pdf, &limits());
    let pdf = support::pdf_raw_page(
        b"BT ET",
        None,
        &format!("/X {}{}", "<< /A ".repeat(20_000), ">>".repeat(20_000)),
    );
    let _ = parse("deep3.pdf", &pdf, &limits());
    // Text shown without a Tf (no font selected) is skipped, not a crash.
    let pdf = support::pdf_raw_page(b"BT (orphan) Tj ET", None, "");
    let d = ok("orphan.pdf", &pdf);
    assert!(d.blocks.is_empty());
    // Lines placed with Td and Tm still come out as separate lines with spaces kept.
    let pdf = support::pdf_raw_page(
        b"BT /F1 12 Tf 72 700 Td (First) Tj 40 0 Td (line) Tj 0 -14 Td (Second line) Tj ET BT /F1 12 Tf 1 0 0 1 72 600 Tm (After a gap) Tj ET",
        None,
        "",
    );
    let d = ok("td.pdf", &pdf);
    assert_eq!(d.text(), "First line\nSecond line\nAfter a gap");
    assert_eq!(d.blocks.len(), 2, "the big gap starts a paragraph");
}

#[test]
fn hostile_emails() {
    // Deeply nested multiparts.
    let mut eml = String::from("From: a@b.c\nSubject: nest\nMIME-Version: 1.0\n");
    for i in 0..5_000 {
        eml.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
        ));
    }
    eml.push_str("Content-Type: text/plain\n\ndeep body\n");
    let _ = parse("nest.eml", eml.as_bytes(), &limits());
}

#[test]
fn legacy_xls() {
    // Written by xlwt (see fixtures/README.md): dates, floats and two sheets.
    let bytes = std::fs::read(fixture_dir().join("solar_service_log.xls")).unwrap();
    let d = ok("solar_service_log.xls", &bytes);
    assert_eq!(d.blocks.len(), 2);
    assert_eq!(d.blocks[0].sheet.as_deref(), Some("Service visits"));
    let BlockKind::Table { rows } = &d.blocks[0].kind else {
        panic!("table")
    };
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[1],
        [
            "V-301",
            "2024-04-02",
            "Rivera residence",
            "K. Osei",
            "1.5",
            "Replaced MC4 connector on panel 7"
        ]
    );
    assert_eq!(rows[2][4], "0.75");
    // An .xls named .xlsx is still read (the content decides).
    assert_eq!(ok("renamed.xlsx", &bytes).blocks.len(), 2);
}

#[test]
fn html_only_email() {
    let eml = "From: news@northwind-solar.example\r\nTo: sam@example.org\r\nSubject: =?UTF-8?B?U29sYXIgbmV3cyDimIA=?=\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><h1>Spring offer</h1><p>Save 10% on batteries.</p><script>x()</script></body></html>\r\n";
    let d = ok("news.eml", eml.as_bytes());
    assert!(
        d.blocks[0].text.contains("Subject: Solar news ☀"),
        "{}",
        d.blocks[0].text
    );
    assert_eq!(d.blocks[1].kind, BlockKind::Heading(1));
    assert_eq!(d.blocks[2].text, "Save 10% on batteries.");
}
