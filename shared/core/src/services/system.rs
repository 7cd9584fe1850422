//! System routes (v0.27 delta §1.11): the health check every store of the deployment takes
//! part in, and the version.
//!
//! Upstream's health body names its components: `db` (MySQL), `redis` (its task queue and
//! cache), `doc_engine` (Elasticsearch / Infinity), `storage` (MinIO / S3). lambdarag maps
//! them onto its ports: `db` = the metadata store, `doc_engine` = the chunk index,
//! `storage` = the blob store; it has no redis, so `redis` reports the task queue (the role
//! redis plays upstream) and `queue` says the same under its own name.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::error::StoreError;
use crate::contract::time::rfc1123;
use crate::state::AppState;

/// A probe that takes longer than this counts as down (the health check must answer fast).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// lambdarag's version (`GET /system/version`).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// One component's result: `Ok(())`, or its error text; and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub result: Result<(), String>,
    pub elapsed: Duration,
}

/// Run one probe. The route needs no key, so the reply names only the kind of failure;
/// the adapter's full error (bucket, table, URL) goes to the log.
async fn probe<F>(component: &str, f: F) -> Probe
where
    F: Future<Output = Result<(), StoreError>>,
{
    let start = Instant::now();
    let result = match tokio::time::timeout(PROBE_TIMEOUT, f).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(component, error = %e, "health probe failed");
            Err(format!(
                "{component} check failed ({}; details in the server log)",
                match e {
                    StoreError::Backend(_) => "backend error",
                    StoreError::Corrupt(_) => "corrupt record",
                    StoreError::NotFound(_) => "not found",
                    StoreError::Conflict(_) => "conflict",
                }
            ))
        }
        Err(_) => {
            tracing::warn!(component, "health probe timed out");
            Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs()))
        }
    };
    Probe {
        result,
        elapsed: start.elapsed(),
    }
}

/// The health body from the probes, and whether everything is up (HTTP 200, else 500).
/// Failed components are detailed under `_meta` (`elapsed` in ms, `error`), as upstream.
pub fn health_body(db: &Probe, queue: &Probe, index: &Probe, blobs: &Probe) -> (bool, Value) {
    let word = |p: &Probe| if p.result.is_ok() { "ok" } else { "nok" };
    let all_ok = [db, queue, index, blobs].iter().all(|p| p.result.is_ok());
    let mut body = Map::new();
    body.insert("db".into(), json!(word(db)));
    body.insert("redis".into(), json!(word(queue)));
    body.insert("doc_engine".into(), json!(word(index)));
    body.insert("storage".into(), json!(word(blobs)));
    body.insert("queue".into(), json!(word(queue)));
    body.insert("status".into(), json!(if all_ok { "ok" } else { "nok" }));
    let mut meta = Map::new();
    for (name, p) in [
        ("db", db),
        ("redis", queue),
        ("doc_engine", index),
        ("storage", blobs),
        ("queue", queue),
    ] {
        if let Err(e) = &p.result {
            meta.insert(
                name.into(),
                json!({
                    "elapsed": format!("{:.1}", p.elapsed.as_secs_f64() * 1000.0),
                    "error": e,
                }),
            );
        }
    }
    if !meta.is_empty() {
        body.insert("_meta".into(), Value::Object(meta));
    }
    (all_ok, Value::Object(body))
}

/// Probe every store of the deployment at once (each a real, cheap call).
pub async fn healthz(state: &AppState) -> (bool, Value) {
    let (db, queue, index, blobs) = tokio::join!(
        probe("metadata store", state.meta.health()),
        probe("task queue", state.queue.health()),
        probe("chunk index", state.index.health()),
        probe("blob store", state.blobs.health()),
    );
    health_body(&db, &queue, &index, &blobs)
}

/// `GET /system/config` (no key): what upstream's login page reads. lambdarag has no user
/// accounts: tenants and keys come from the CLI, so neither registration nor password
/// login exists.
pub fn config() -> Value {
    json!({"registerEnabled": 0, "disablePasswordLogin": true})
}

/// `GET /system/status`: each store's state, in upstream's per-component shape (`status`
/// green/red, `elapsed` ms, `error` when red). The task queue stands where upstream has
/// redis; lambdarag's workers have no heartbeat table.
pub async fn status(state: &AppState) -> Value {
    let (db, queue, index, blobs) = tokio::join!(
        probe("metadata store", state.meta.health()),
        probe("task queue", state.queue.health()),
        probe("chunk index", state.index.health()),
        probe("blob store", state.blobs.health()),
    );
    let component = |p: &Probe| {
        let mut v = json!({
            "status": if p.result.is_ok() { "green" } else { "red" },
            "elapsed": format!("{:.1}", p.elapsed.as_secs_f64() * 1000.0),
        });
        if let Err(e) = &p.result {
            v["error"] = json!(e);
        }
        v
    };
    json!({
        "doc_engine": component(&index),
        "storage": component(&blobs),
        "database": component(&db),
        "redis": component(&queue),
        "task_executor_heartbeats": {},
    })
}

/// One key as `GET /system/tokens` lists it. Keys are stored hashed, so `token` is the
/// key's hint (its first characters): the full key is shown once, when it is minted.
fn token_row(k: &crate::domain::ApiKeyRecord) -> Value {
    json!({
        "tenant_id": k.tenant_id,
        "token": k.hint,
        "key_id": k.key_id,
        "dialog_id": null,
        "source": null,
        "beta": null,
        "create_time": k.create_time,
        "create_date": rfc1123(k.create_time),
        "update_time": null,
        "update_date": null,
    })
}

/// `GET /system/tokens`: the caller's tenant's keys, oldest first.
pub async fn list_tokens(state: &AppState, tenant_id: &str) -> Result<Value, ApiError> {
    let mut keys = state.meta.list_keys(tenant_id).await?;
    keys.sort_by_key(|k| k.create_time);
    Ok(Value::Array(keys.iter().map(token_row).collect()))
}

/// `POST /system/tokens`: a new key of the caller's tenant (the full key is in `token`,
/// this once).
pub async fn create_token(state: &AppState, tenant_id: &str) -> Result<Value, ApiError> {
    if state.meta.get_tenant(tenant_id).await?.is_none() {
        return Err(ApiError::data("Tenant not found!"));
    }
    let (key, rec) = crate::services::auth::issue_key(state.meta.as_ref(), tenant_id).await?;
    let mut row = token_row(&rec);
    row["token"] = json!(key);
    Ok(row)
}

/// `DELETE /system/tokens/{token}`: revoke a key of the caller's tenant, named by the key
/// itself or by its `key_id`. Like upstream, revoking a key that is not there succeeds.
pub async fn delete_token(
    state: &AppState,
    tenant_id: &str,
    token: &str,
) -> Result<Value, ApiError> {
    let key_id = if token.starts_with(crate::services::auth::KEY_PREFIX) {
        crate::services::auth::hash_key(token)[..16].to_string()
    } else {
        token.to_string()
    };
    state.meta.revoke_key(tenant_id, &key_id).await?;
    Ok(json!(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up() -> Probe {
        Probe {
            result: Ok(()),
            elapsed: Duration::from_millis(3),
        }
    }

    #[test]
    fn all_up_is_ok_without_meta() {
        let (ok, body) = health_body(&up(), &up(), &up(), &up());
        assert!(ok);
        assert_eq!(
            body,
            json!({"db": "ok", "redis": "ok", "doc_engine": "ok", "storage": "ok",
                   "queue": "ok", "status": "ok"})
        );
    }

    #[test]
    fn a_down_queue_is_redis_and_queue() {
        let down = Probe {
            result: Err("Lost connection!".into()),
            elapsed: Duration::from_micros(5200),
        };
        let (ok, body) = health_body(&up(), &down, &up(), &up());
        assert!(!ok);
        assert_eq!(body["redis"], "nok");
        assert_eq!(body["queue"], "nok");
        assert_eq!(body["status"], "nok");
        assert_eq!(body["db"], "ok");
        assert_eq!(
            body["_meta"]["redis"],
            json!({"elapsed": "5.2", "error": "Lost connection!"})
        );
        assert!(body["_meta"].get("db").is_none());
    }

    #[tokio::test]
    async fn an_unconfigured_deployment_is_not_healthy() {
        // A state with only a metadata store that fails: every probe reports nok.
        struct Down;
        #[async_trait::async_trait]
        impl crate::ports::TenantStore for Down {
            async fn create_tenant(&self, _: &crate::domain::Tenant) -> Result<(), StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn get_tenant(
                &self,
                _: &str,
            ) -> Result<Option<crate::domain::Tenant>, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn update_tenant(&self, _: &crate::domain::Tenant) -> Result<(), StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn list_tenants(&self) -> Result<Vec<crate::domain::Tenant>, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
        }
        #[async_trait::async_trait]
        impl crate::ports::ApiKeyStore for Down {
            async fn add_key(&self, _: &crate::domain::ApiKeyRecord) -> Result<(), StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn tenant_for_key_hash(&self, _: &str) -> Result<Option<String>, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn key_for_hash(
                &self,
                _: &str,
            ) -> Result<Option<crate::domain::ApiKeyRecord>, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn set_key_generation(
                &self,
                _: &str,
                _: &str,
                _: crate::domain::ClientGeneration,
            ) -> Result<bool, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn list_keys(
                &self,
                _: &str,
            ) -> Result<Vec<crate::domain::ApiKeyRecord>, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn revoke_key(&self, _: &str, _: &str) -> Result<bool, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
        }
        #[async_trait::async_trait]
        impl crate::ports::DatasetStore for Down {
            async fn insert_dataset(&self, _: &crate::domain::Dataset) -> Result<(), StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn get_dataset(
                &self,
                _: &str,
                _: &str,
            ) -> Result<Option<crate::domain::Dataset>, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn find_dataset_by_name(
                &self,
                _: &str,
                _: &str,
            ) -> Result<Option<crate::domain::Dataset>, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn list_datasets(
                &self,
                _: &str,
                _: &crate::domain::DatasetListQuery,
            ) -> Result<(Vec<crate::domain::Dataset>, u64), StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn update_dataset(&self, _: &crate::domain::Dataset) -> Result<(), StoreError> {
                Err(StoreError::Backend("down".into()))
            }
            async fn delete_dataset(&self, _: &str, _: &str) -> Result<bool, StoreError> {
                Err(StoreError::Backend("down".into()))
            }
        }
        let state = AppState::new(std::sync::Arc::new(Down));
        let (ok, body) = healthz(&state).await;
        assert!(!ok);
        for key in ["db", "redis", "doc_engine", "storage", "queue", "status"] {
            assert_eq!(body[key], "nok", "{key}: {body}");
        }
        assert_eq!(
            body["_meta"]["storage"]["error"],
            "blob store check failed (backend error; details in the server log)"
        );
    }
}
