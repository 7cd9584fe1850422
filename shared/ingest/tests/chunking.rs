//! Chunking methods end to end: parsed fixtures and generated texts through `chunk`.

mod support;

use lambdarag_ingest::{
    chunk, count_tokens, parse, BlockKind, ParseError, ParseLimits, ParsedDocument,
};
use serde_json::json;
use support::fixtures::*;

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
