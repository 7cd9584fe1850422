//! Parsing shorthands and the documents behind the committed fixtures (binary ones are
//! generated here and committed under tests/fixtures).

use std::path::PathBuf;

use lambdarag_ingest::{parse, BlockKind, ParseError, ParseLimits, ParsedDocument};

use super::{C, D};

pub fn limits() -> ParseLimits {
    ParseLimits::default()
}

pub fn ok(name: &str, bytes: &[u8]) -> ParsedDocument {
    match parse(name, bytes, &limits()) {
        Ok(d) => d,
        Err(e) => panic!("{name}: {e}"),
    }
}

pub fn err(name: &str, bytes: &[u8]) -> ParseError {
    match parse(name, bytes, &limits()) {
        Ok(d) => panic!("{name} parsed but should not have: {d:?}"),
        Err(e) => e,
    }
}

pub fn kinds(doc: &ParsedDocument) -> Vec<String> {
    doc.blocks
        .iter()
        .map(|b| match &b.kind {
            BlockKind::Table { rows } => format!("Table{}", rows.len()),
            k => format!("{k:?}"),
        })
        .collect()
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture_docx() -> Vec<u8> {
    super::docx(&[
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

pub fn fixture_xlsx() -> Vec<u8> {
    super::xlsx(&[
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

pub fn fixture_pptx() -> Vec<u8> {
    super::pptx(&[
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

pub fn fixture_pdf() -> Vec<u8> {
    super::pdf(&[
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
