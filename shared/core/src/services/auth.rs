//! API keys and request authentication.
//!
//! Keys look like upstream's (`ragflow-` + 43 url-safe characters) so existing clients and
//! habits carry over; only a SHA-256 of each key is stored.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::domain::models::{default_chat_id, default_embedding_id};
use crate::domain::{ApiKeyRecord, Tenant};
use crate::ports::MetadataStore;
use crate::state::AppState;
use crate::StoreError;

pub const KEY_PREFIX: &str = "ragflow-";

/// A new random API key (32 random bytes, url-safe base64).
pub fn generate_key() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The record stored for a key: its hash, a short id, and a recognisable hint.
pub fn key_record(key: &str, tenant_id: &str) -> ApiKeyRecord {
    let hash = hash_key(key);
    ApiKeyRecord {
        key_id: hash[..16].to_string(),
        hint: format!("{}…", key.chars().take(12).collect::<String>()),
        hash,
        tenant_id: tenant_id.to_string(),
        create_time: now_ms(),
        generation: Default::default(),
    }
}

/// Create a tenant with the built-in default models.
pub async fn create_tenant(store: &dyn MetadataStore, name: &str) -> Result<Tenant, StoreError> {
    let tenant = Tenant {
        id: new_id(),
        name: name.to_string(),
        embd_id: default_embedding_id(),
        llm_id: default_chat_id(),
        tts_id: String::new(),
        asr_id: String::new(),
        providers: vec![],
        create_time: now_ms(),
    };
    store.create_tenant(&tenant).await?;
    Ok(tenant)
}

/// Mint and store a key for a tenant; returns the key (shown once) and its record.
pub async fn issue_key(
    store: &dyn MetadataStore,
    tenant_id: &str,
) -> Result<(String, ApiKeyRecord), StoreError> {
    let key = generate_key();
    let rec = key_record(&key, tenant_id);
    store.add_key(&rec).await?;
    Ok((key, rec))
}

/// How a route family authenticates (their failure replies differ upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `token_required`: most `/api/v1` routes.
    Token,
    /// `apikey_required`: the Dify retrieval route.
    Dify,
}

/// Resolve the tenant for a request, with upstream's exact failure replies.
pub async fn authenticate(
    store: &dyn MetadataStore,
    headers: &HeaderMap,
    style: AuthStyle,
) -> Result<String, ApiError> {
    authenticate_key(store, headers, style)
        .await
        .map(|k| k.tenant_id)
}

/// Resolve the key record for a request (its tenant and client generation).
pub async fn authenticate_key(
    store: &dyn MetadataStore,
    headers: &HeaderMap,
    style: AuthStyle,
) -> Result<ApiKeyRecord, ApiError> {
    let raw = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let parts: Vec<String> = raw
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    match style {
        AuthStyle::Token => {
            if raw.as_deref().is_none_or(str::is_empty) {
                return Err(
                    ApiError::new(RetCode::Success, "`Authorization` can't be empty")
                        .with_data(json!(false)),
                );
            }
            if parts.len() < 2 {
                return Err(ApiError::new(
                    RetCode::Success,
                    "Please check your authorization format.",
                )
                .with_data(json!(false)));
            }
        }
        AuthStyle::Dify => {
            // Upstream leaks Python exceptions here; we keep the code and give a clear text.
            if raw.is_none() {
                return Err(ApiError::exception(
                    "AttributeError(\"'NoneType' object has no attribute 'split'\")",
                ));
            }
            if parts.len() < 2 {
                return Err(ApiError::exception("IndexError('list index out of range')"));
            }
        }
    }
    let record = store.key_for_hash(&hash_key(&parts[1])).await?;
    match (record, style) {
        (Some(k), _) => Ok(k),
        (None, AuthStyle::Token) => Err(ApiError::new(
            RetCode::AuthenticationError,
            "Authentication error: API key is invalid!",
        )
        .with_data(json!(false))),
        (None, AuthStyle::Dify) => Err(ApiError::http(RetCode::Forbidden, "API-KEY is invalid!")),
    }
}

/// Extractor: the authenticated tenant id of a `token_required` route.
pub struct AuthTenant(pub String);

impl FromRequestParts<AppState> for AuthTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state.meta.as_ref(), &parts.headers, AuthStyle::Token)
            .await
            .map(AuthTenant)
    }
}

/// Extractor: the authenticated key of a `token_required` route, for the routes whose
/// reply depends on the key's client generation.
pub struct AuthKey(pub ApiKeyRecord);

impl FromRequestParts<AppState> for AuthKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate_key(state.meta.as_ref(), &parts.headers, AuthStyle::Token)
            .await
            .map(AuthKey)
    }
}

/// Extractor: the authenticated tenant id of the Dify route.
pub struct DifyTenant(pub String);

impl FromRequestParts<AppState> for DifyTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state.meta.as_ref(), &parts.headers, AuthStyle::Dify)
            .await
            .map(DifyTenant)
    }
}

// --- login_required (memories and messages) ----------------------------------------------

/// The reply of upstream's `login_required` to a missing or unknown credential: HTTP 401.
pub fn login_unauthorized() -> ApiError {
    ApiError::new(RetCode::Unauthorized, "<Unauthorized '401: Unauthorized'>")
        .with_data(serde_json::Value::Null)
        .with_status(401)
}

/// `login_required`: the key is the value after a `Bearer ` prefix (any case), or the whole
/// header value; a missing or unknown key is HTTP 401. (Upstream also takes web-session
/// tokens, which lambdarag does not issue.)
pub async fn authenticate_login(
    store: &dyn MetadataStore,
    headers: &HeaderMap,
) -> Result<ApiKeyRecord, ApiError> {
    let raw = headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
        .unwrap_or_default();
    let token = match raw.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => raw[7..].trim(),
        _ => raw.as_str(),
    };
    if token.is_empty() {
        return Err(login_unauthorized());
    }
    store
        .key_for_hash(&hash_key(token))
        .await?
        .ok_or_else(login_unauthorized)
}

/// Extractor: the authenticated key of a `login_required` route (memories, messages).
pub struct LoginKey(pub ApiKeyRecord);

impl FromRequestParts<AppState> for LoginKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate_login(state.meta.as_ref(), &parts.headers)
            .await
            .map(LoginKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_like_upstream_and_hash_stably() {
        let k = generate_key();
        assert!(k.starts_with("ragflow-"));
        assert_eq!(k.len(), 51);
        assert_ne!(k, generate_key());
        assert_eq!(hash_key("abc"), hash_key("abc"));
        assert_eq!(hash_key("abc").len(), 64);
        let rec = key_record(&k, "t");
        assert_eq!(rec.key_id, rec.hash[..16]);
        assert!(
            !rec.hint.contains(&k[12..]),
            "the hint never holds the whole key"
        );
    }
}
