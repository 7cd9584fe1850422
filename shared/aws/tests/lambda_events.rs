//! The datasets Lambda, in-process: every `events/datasets-*.json` (API Gateway HTTP API v2
//! events) goes through the same `lambda_http` adapter and finished router the deployed
//! function runs, with the DynamoDB adapter on moto.
//!
//! The events carry placeholders: `LAMBDARAG_TEST_KEY` (the bearer key) and
//! `LAMBDARAG_DATASET_ID` (the dataset the path or body names); the test substitutes both.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use lambdarag::contract::http::App;
use lambdarag::services::auth::{create_tenant, issue_key};
use lambdarag::AppState;
use lambdarag_aws::lambda::{app, invoke};
use lambdarag_aws::DynamoStore;

/// Every event file, in the order the scenario needs them.
const EVENTS: [&str; 7] = [
    "create",
    "list",
    "update",
    "knowledge-graph",
    "trace-raptor",
    "delete",
    "unknown-route",
];

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

struct Harness {
    app: App,
    key: String,
}

impl Harness {
    /// Send one event file (placeholders substituted) and return the Lambda response and
    /// its JSON body.
    async fn send(&self, name: &str, dataset_id: &str) -> (Value, Value) {
        let path = events_dir().join(format!("datasets-{name}.json"));
        let raw = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let event = raw
            .replace("LAMBDARAG_TEST_KEY", &self.key)
            .replace("LAMBDARAG_DATASET_ID", dataset_id);
        self.send_raw(name, &event).await
    }

    async fn send_raw(&self, name: &str, event: &str) -> (Value, Value) {
        let response = invoke(&self.app, event)
            .await
            .unwrap_or_else(|e| panic!("event {name}: {e}"));
        let body = response["body"]
            .as_str()
            .unwrap_or_else(|| panic!("event {name}: response has no text body: {response}"));
        let body: Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("event {name}: body is not JSON ({e}): {body}"));
        (response, body)
    }
}

#[tokio::test]
async fn dataset_events_through_the_lambda_adapter() {
    let Some((client, table)) = common::moto_table("lambda-events").await else {
        return;
    };
    let store = Arc::new(DynamoStore::new(client.clone(), &table));
    let state = AppState::new(store.clone()).with_tasks(store.clone());
    let tenant = create_tenant(state.meta.as_ref(), "events")
        .await
        .expect("tenant");
    let (key, _) = issue_key(state.meta.as_ref(), &tenant.id)
        .await
        .expect("key");
    let h = Harness {
        app: app(state.clone(), fn_datasets::router),
        key,
    };

    // Every sample event is exercised here; a new file must be added to the scenario.
    let mut on_disk: Vec<String> = std::fs::read_dir(events_dir())
        .expect("events/ exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            n.strip_prefix("datasets-")?
                .strip_suffix(".json")
                .map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> = EVENTS.iter().map(|s| s.to_string()).collect();
    covered.sort();
    assert_eq!(on_disk, covered, "events/datasets-*.json and EVENTS differ");

    // Create.
    let (resp, body) = h.send("create", "").await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert!(
        resp["headers"]["content-type"]
            .as_str()
            .is_some_and(|c| c.starts_with("application/json")),
        "{resp}"
    );
    assert_eq!(resp["isBase64Encoded"], false);
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["data"]["name"], "lambda-events");
    assert_eq!(body["data"]["tenant_id"], tenant.id.as_str());
    let id = body["data"]["id"].as_str().expect("dataset id").to_string();
    let stored = state.meta.get_dataset(&tenant.id, &id).await.expect("get");
    assert_eq!(stored.map(|d| d.name).as_deref(), Some("lambda-events"));

    // A wrong key is refused through the same path.
    let raw = std::fs::read_to_string(events_dir().join("datasets-create.json")).expect("read");
    let bad = raw.replace("LAMBDARAG_TEST_KEY", "ragflow-not-a-key");
    let (resp, body) = h.send_raw("create (bad key)", &bad).await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(body["code"], 109, "{body}");

    // List, with query parameters.
    let (resp, body) = h.send("list", &id).await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["total_datasets"], 1, "{body}");
    assert_eq!(body["data"][0]["id"], id.as_str());
    assert_eq!(body["data"][0]["name"], "lambda-events");

    // Update (rename) through the `{proxy+}` route.
    let (resp, body) = h.send("update", &id).await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(body["code"], 0, "{body}");
    let stored = state.meta.get_dataset(&tenant.id, &id).await.expect("get");
    assert_eq!(
        stored.as_ref().map(|d| d.name.as_str()),
        Some("lambda-events-renamed")
    );
    assert_eq!(
        stored.and_then(|d| d.description).as_deref(),
        Some("updated")
    );
    let (_, body) = h.send("list", &id).await;
    assert_eq!(body["data"][0]["name"], "lambda-events-renamed", "{body}");

    // A knowledge-graph route reaches its handler (not the 404 / wrong-method replies).
    let (resp, body) = h.send("knowledge-graph", &id).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let code = body["code"].as_i64().expect("numeric code");
    assert!(![100, 404].contains(&code), "{body}");
    // ... and is access-checked: another id answers 109 "No authorization."
    let (_, body) = h
        .send("knowledge-graph", &lambdarag::contract::ids::new_id())
        .await;
    assert_eq!(body["code"], 109, "{body}");

    // RAPTOR's trace: never run, so `{}`.
    let (resp, body) = h.send("trace-raptor", &id).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(body, serde_json::json!({"code": 0, "data": {}}));

    // Delete, then the list is empty.
    let (resp, body) = h.send("delete", &id).await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(body["code"], 0, "{body}");
    assert!(state
        .meta
        .get_dataset(&tenant.id, &id)
        .await
        .expect("get")
        .is_none());
    let (_, body) = h.send("list", &id).await;
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["total_datasets"], 0, "{body}");

    // Unknown route under the group's prefix: HTTP 404 with the envelope.
    let (resp, body) = h.send("unknown-route", &id).await;
    assert_eq!(resp["statusCode"], 404, "{resp}");
    assert_eq!(body["code"], 404, "{body}");
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("/no_such_route")));

    common::drop_table(&client, &table).await;
}
