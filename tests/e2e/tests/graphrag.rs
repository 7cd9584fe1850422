//! GraphRAG (D5–D8) on the embedded adapters with the queue drained by hand, so the
//! in-between states are observable: a second run while one is queued is refused with the
//! contract's message, and the dataset object names its current GraphRAG and RAPTOR tasks
//! (`*_task_id`, and `*_task_finish_at` once they succeeded).

use std::sync::Arc;

use async_trait::async_trait;
use http::Method;
use lambdarag::ports::chat::{
    iter_stream, ChatDelta, ChatMessage, ChatModel, ChatModelRegistry, DeltaStream, GenOptions,
};
use lambdarag::ports::ModelError;
use lambdarag_e2e::{FullApi, Tenant};
use lambdarag_ingest::pipeline::PipelineConfig;
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

/// Answers every extraction prompt with the names it finds among a few known ones, in the
/// JSON shape the prompt asks for.
struct Extractor;

#[async_trait]
impl ChatModel for Extractor {
    fn model_id(&self) -> &str {
        "extractor@Fake"
    }
    async fn stream(
        &self,
        messages: &[ChatMessage],
        _: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        let prompt = messages.last().map(|m| m.content.as_str()).unwrap_or("");
        let named: Vec<&str> = ["Marie Curie", "Pierre Curie", "Sorbonne", "Paris"]
            .into_iter()
            .filter(|n| prompt.contains(n))
            .collect();
        let entities: Vec<Value> = named
            .iter()
            .map(|n| json!({"name": n, "type": "person", "description": format!("{n} is named.")}))
            .collect();
        let relations: Vec<Value> = named
            .windows(2)
            .map(|w| json!({"source": w[0], "target": w[1], "description": "named together", "keywords": ["together"], "strength": 5}))
            .collect();
        Ok(iter_stream(vec![Ok(ChatDelta::text(
            json!({"entities": entities, "relations": relations}).to_string(),
        ))]))
    }
}

impl ChatModelRegistry for Extractor {
    fn chat_model(
        &self,
        _: &lambdarag::domain::Tenant,
        _: &str,
    ) -> Result<Arc<dyn ChatModel>, ModelError> {
        Ok(Arc::new(Extractor))
    }
}

/// A FullApi whose tenant "a" uses the `Extractor` chat model; the dataset with both
/// documents parsed.
async fn with_extractor() -> (FullApi, Tenant, String) {
    let mut full = FullApi::new();
    full.api.state = full.api.state.clone().with_chat_models(Arc::new(Extractor));
    full.api.app = lambdarag_server::app(full.api.state.clone());
    let a = full.api.tenant("a").await;
    let meta = &full.api.state.meta;
    let mut tenant = meta.get_tenant(&a.id).await.expect("get").expect("tenant");
    tenant.llm_id = "extractor@Fake".into();
    meta.update_tenant(&tenant).await.expect("update");
    let ds = full.create_dataset(&a.key, "kg").await;
    full.parsed_documents(&a.key, &ds, &DOCS).await;
    (full, a, ds)
}

fn node_names(graph: &Value) -> Vec<String> {
    let mut names: Vec<String> = graph["data"]["graph"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect();
    names.sort();
    names
}

/// Past its deadline, a run extracts one batch per invocation, saves where it stands and
/// queues itself again; the graph it ends with is the one an unhurried run builds.
#[tokio::test]
async fn a_run_past_its_deadline_continues_in_fresh_invocations() {
    let (full, a, ds) = with_extractor().await;
    let run = format!("/api/v1/datasets/{ds}/run_graphrag");
    let graph = format!("/api/v1/datasets/{ds}/knowledge_graph");

    assert_eq!(call(&full, &a, Method::POST, &run).await["code"], 0);
    assert_eq!(
        full.drain_with(&PipelineConfig::default()).await,
        1,
        "no deadline: one message"
    );
    let unhurried = node_names(&call(&full, &a, Method::GET, &graph).await);
    assert_eq!(
        unhurried,
        ["MARIE CURIE", "PARIS", "PIERRE CURIE", "SORBONNE"],
        "{unhurried:?}"
    );

    assert_eq!(call(&full, &a, Method::POST, &run).await["code"], 0);
    let hurried = PipelineConfig {
        deadline: Some(std::time::Instant::now()),
        ..PipelineConfig::default()
    };
    // Two documents are two batches: one per invocation, then one to merge and save.
    assert_eq!(full.drain_with(&hurried).await, 3);
    let trace = call(
        &full,
        &a,
        Method::GET,
        &format!("/api/v1/datasets/{ds}/trace_graphrag"),
    )
    .await;
    assert_eq!(trace["data"]["progress"], 1.0, "{trace}");
    let msg = trace["data"]["progress_msg"].as_str().expect("msg");
    assert!(
        msg.contains("Extracted from 1/2 batches; continuing in a new worker invocation."),
        "{msg}"
    );
    assert!(msg.contains("Resuming after 1/2 batches."), "{msg}");
    assert!(msg.contains("Resuming after 2/2 batches."), "{msg}");
    assert_eq!(
        node_names(&call(&full, &a, Method::GET, &graph).await),
        unhurried
    );
    // The checkpoint went with the saved graph.
    let left = full
        .api
        .state
        .blobs
        .delete_prefix(&a.id, &format!("{ds}/graph/partial/"))
        .await
        .expect("prefix");
    assert_eq!(left, 0, "no checkpoint left behind");
}
