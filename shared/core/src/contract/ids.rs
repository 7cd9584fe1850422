//! Ids as upstream renders them: `uuid1().hex` (32 lowercase hex digits, no dashes).

use std::sync::OnceLock;

/// A fresh version-1 UUID as 32 lowercase hex digits.
pub fn new_id() -> String {
    static NODE: OnceLock<[u8; 6]> = OnceLock::new();
    let node = NODE.get_or_init(|| {
        // A random node id with the multicast bit set, as RFC 4122 allows when no MAC is used.
        let mut n: [u8; 6] = rand::random();
        n[0] |= 0x01;
        n
    });
    uuid::Uuid::now_v1(node).simple().to_string()
}

/// Parse an id the way upstream's `validate_uuid1_hex` does: Python's `UUID()` accepts
/// 32 hex digits, the dashed form, braces and a `urn:uuid:` prefix; the version must be 1.
/// Returns the normalised 32-hex form.
pub fn parse_uuid1(v: &str) -> Option<String> {
    let s = v.replace("urn:", "").replace("uuid:", "");
    let s = s.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if s.len() != 32 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let u = uuid::Uuid::parse_str(&s).ok()?;
    // Python's `UUID.version` is None unless the variant is RFC 4122.
    if u.get_variant() != uuid::Variant::RFC4122 || u.get_version_num() != 1 {
        return None;
    }
    Some(u.simple().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid1_hex() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(parse_uuid1(&id).as_deref(), Some(id.as_str()));
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn uuid1_parsing_matches_python() {
        let dashed = "d94a8dc0-2c97-11f0-930f-7fbc369eab6d";
        assert_eq!(
            parse_uuid1(dashed).as_deref(),
            Some("d94a8dc02c9711f0930f7fbc369eab6d")
        );
        assert_eq!(
            parse_uuid1("{D94A8DC0-2C97-11F0-930F-7FBC369EAB6D}").as_deref(),
            Some("d94a8dc02c9711f0930f7fbc369eab6d")
        );
        // version 4
        assert_eq!(parse_uuid1("9b2f1a3c4d5e4f60a1b2c3d4e5f60718"), None);
        assert_eq!(parse_uuid1(""), None);
        assert_eq!(parse_uuid1("not-an-id"), None);
        // version nibble 1 but not the RFC 4122 variant
        assert_eq!(parse_uuid1(&"1".repeat(32)), None);
    }
}
