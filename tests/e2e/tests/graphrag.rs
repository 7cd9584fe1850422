//! GraphRAG (D5–D8) on the embedded adapters with the queue drained by hand, so the
//! in-between states are observable: a second run while one is queued is refused with the
//! contract's message, and the dataset object names its current GraphRAG and RAPTOR tasks
//! (`*_task_id`, and `*_task_finish_at` once they succeeded).

use http::Method;
use lambdarag_e2e::{FullApi, Tenant};
use serde_json::{json, Value};

const DOCS: [(&str, &str); 2] = [
    (
        "curie.txt",
        "Marie Curie worked with Pierre Curie in Paris on radioactivity. \
         The Nobel Prize in Physics went to Marie Curie and Pierre Curie in 1903.",
    ),
    (
        "sorbonne.txt",
        "Pierre Curie taught physics at the Sorbonne. \
         The Sorbonne is a university in Paris.",
    ),
];

async fn call(full: &FullApi, t: &Tenant, method: Method, path: &str) -> Value {
    full.api.call(method, path, Some(&t.key), None).await.json
}

async fn dataset_object(full: &FullApi, t: &Tenant, ds: &str) -> Value {
    let r = call(full, t, Method::GET, &format!("/api/v1/datasets?id={ds}")).await;
    r["data"][0].clone()
}

#[tokio::test]
async fn a_queued_run_refuses_another_and_the_dataset_names_its_tasks() {
    let full = FullApi::new();
    let a = full.api.tenant("a").await;
    let ds = full.create_dataset(&a.key, "kg").await;
    let fresh = dataset_object(&full, &a, &ds).await;
    for key in [
        "graphrag_task_id",
        "graphrag_task_finish_at",
        "raptor_task_id",
        "raptor_task_finish_at",
    ] {
        assert_eq!(fresh[key], Value::Null, "{key} before any run");
    }
    full.parsed_documents(&a.key, &ds, &DOCS).await;

    let r = call(
        &full,
        &a,
        Method::POST,
        &format!("/api/v1/datasets/{ds}/run_graphrag"),
    )
    .await;
    assert_eq!(r["code"], 0, "{r}");
    let task_id = r["data"]["graphrag_task_id"]
        .as_str()
        .expect("task id")
        .to_string();
    let busy = call(
        &full,
        &a,
        Method::POST,
        &format!("/api/v1/datasets/{ds}/run_graphrag"),
    )
    .await;
    assert_eq!(
        busy,
        json!({"code": 102, "message": format!(
            "Task {task_id} in progress with status 0.0. A Graph Task is already running."
        )})
    );
    let queued = dataset_object(&full, &a, &ds).await;
    assert_eq!(queued["graphrag_task_id"], task_id.as_str());
    assert_eq!(
        queued["graphrag_task_finish_at"],
        Value::Null,
        "still queued"
    );

    full.drain().await;
    let trace = call(
        &full,
        &a,
        Method::GET,
        &format!("/api/v1/datasets/{ds}/trace_graphrag"),
    )
    .await;
    assert_eq!(trace["data"]["progress"], 1.0, "{trace}");
    let done = dataset_object(&full, &a, &ds).await;
    assert_eq!(done["graphrag_task_id"], task_id.as_str());
    let finished = done["graphrag_task_finish_at"].as_str().expect("finish_at");
    assert!(finished.ends_with(" GMT"), "{finished}");
    assert_eq!(done["raptor_task_id"], Value::Null, "RAPTOR never ran");

    let r = call(
        &full,
        &a,
        Method::POST,
        &format!("/api/v1/datasets/{ds}/run_raptor"),
    )
    .await;
    let raptor_id = r["data"]["raptor_task_id"].as_str().expect("raptor id");
    full.drain().await;
    let both = dataset_object(&full, &a, &ds).await;
    assert_eq!(both["raptor_task_id"], raptor_id);
    assert!(both["raptor_task_finish_at"].is_string(), "{both}");
    assert_eq!(both["graphrag_task_id"], task_id.as_str());

    // Another tenant sees neither the dataset nor its tasks.
    let b = full.api.tenant("b").await;
    let theirs = call(
        &full,
        &b,
        Method::POST,
        &format!("/api/v1/datasets/{ds}/run_graphrag"),
    )
    .await;
    assert_eq!(theirs, json!({"code": 109, "message": "No authorization."}));
}
