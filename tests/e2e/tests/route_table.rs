//! docs/routes.md (written by scripts/route-table.py) against the OpenAPI document, which
//! tests/openapi.rs holds to what the router serves: a row says "yes" (or that the route
//! answers "not implemented") exactly when the operation is documented, and every
//! documented operation has a row.

use std::collections::BTreeSet;

/// A path with its parameter names erased and the `/api/v1` prefix dropped.
fn normalise(path: &str) -> String {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    // `{memory_id}:{message_id}` is one path segment, routed as one parameter.
    out.replace("{}:{}", "{}")
}

#[test]
fn the_route_table_agrees_with_the_openapi_document() {
    let table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/routes.md"))
            .expect("docs/routes.md");
    let documented: BTreeSet<(String, String)> = lambdarag::contract::openapi::operations()
        .into_iter()
        .map(|(m, p)| (m.to_uppercase(), normalise(&p)))
        .collect();
    let mut listed = BTreeSet::new();
    for line in table
        .lines()
        // `/v1/...` rows: upstream's aliases outside /api/v1 (e.g. /v1/system/healthz).
        .filter(|l| l.starts_with("| ") && (l.contains("`/api/v1") || l.contains("`/v1/")))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 5, "a route row has five cells: {line}");
        let key = (cells[0].to_string(), normalise(cells[1].trim_matches('`')));
        let says_served = cells[4] == "yes" || cells[4].starts_with("answers ");
        assert_eq!(
            says_served,
            documented.contains(&key),
            "docs/routes.md is stale for {} {} (rerun scripts/route-table.py)",
            key.0,
            key.1
        );
        listed.insert(key);
    }
    let missing: Vec<_> = documented.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "documented but not in docs/routes.md: {missing:?}"
    );
}
