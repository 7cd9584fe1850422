//! RAPTOR (D9 / D10) on the embedded adapters: run → worker → trace → retrieval, with the
//! built-in answerer (extractive summaries) and with a provider chat model; redelivery,
//! re-runs and the contract's errors.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use http::Method;
use lambdarag::domain::{QueuedTask, RaptorTask};
use lambdarag::ports::chat::{
    iter_stream, ChatDelta, ChatMessage, ChatModel, ChatModelRegistry, DeltaStream, GenOptions,
};
use lambdarag::ports::ModelError;
use lambdarag_e2e::{FullApi, Tenant};
use lambdarag_ingest::pipeline::{process_task, Outcome, PipelineConfig};
use serde_json::{json, Value};

const DOCS: [(&str, &str); 2] = [
    (
        "solar.txt",
        "Solar panels convert sunlight into electricity with photovoltaic cells. \
         The Zephyrine coating reflects less than two percent of incoming light.",
    ),
    (
        "bees.txt",
        "Honey bees tell each other where flowers are with a waggle dance. \
         A healthy hive holds about forty thousand bees in summer.",
    ),
];

async fn dataset(full: &FullApi, t: &Tenant, name: &str) -> String {
    full.create_dataset(&t.key, name).await
}

/// Upload and parse the two documents; their ids.
async fn parsed_docs(full: &FullApi, t: &Tenant, ds: &str) -> Vec<String> {
    full.parsed_documents(&t.key, ds, &DOCS).await
}

async fn run(full: &FullApi, t: &Tenant, ds: &str) -> Value {
    full.api
        .call(
            Method::POST,
            &format!("/api/v1/datasets/{ds}/run_raptor"),
            Some(&t.key),
            None,
        )
        .await
        .json
}

async fn trace(full: &FullApi, t: &Tenant, ds: &str) -> Value {
    full.api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/trace_raptor"),
            Some(&t.key),
            None,
        )
        .await
        .json
}

/// Ids of every chunk of the documents.
async fn chunk_ids(full: &FullApi, t: &Tenant, ds: &str, docs: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    for d in docs {
        let r = full
            .api
            .call(
                Method::GET,
                &format!("/api/v1/datasets/{ds}/documents/{d}/chunks?page_size=1000"),
                Some(&t.key),
                None,
            )
            .await;
        for c in r.json["data"]["chunks"].as_array().expect("chunks") {
            out.insert(c["id"].as_str().expect("id").to_string());
        }
    }
    out
}

fn ids_of(trace: &Value) -> HashSet<String> {
    trace["data"]["chunk_ids"]
        .as_str()
        .expect("chunk_ids")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn raptor_with_the_builtin_answerer_end_to_end() {
    let full = FullApi::new();
    let a = full.api.tenant("a").await;
    let ds = dataset(&full, &a, "kb").await;

    assert_eq!(
        trace(&full, &a, &ds).await,
        json!({"code": 0, "data": {}}),
        "never run: {{}}"
    );
    let r = run(&full, &a, &ds).await;
    assert_eq!(r["code"], 102);
    assert_eq!(r["message"], format!("No documents in Dataset {ds}"));

    let docs = parsed_docs(&full, &a, &ds).await;
    let before = chunk_ids(&full, &a, &ds, &docs).await;
    let r = run(&full, &a, &ds).await;
    assert_eq!(r["code"], 0, "{r}");
    let task_id = r["data"]["raptor_task_id"]
        .as_str()
        .expect("task id")
        .to_string();
    let queued = trace(&full, &a, &ds).await;
    assert_eq!(queued["data"]["id"], task_id);
    assert_eq!(queued["data"]["task_type"], "raptor");
    assert_eq!(queued["data"]["progress"], 0.0);
    let busy = run(&full, &a, &ds).await;
    assert_eq!(busy["code"], 102);
    assert_eq!(
        busy["message"],
        format!("Task {task_id} in progress with status 0.0. A RAPTOR Task is already running.")
    );

    full.drain().await;
    let done = trace(&full, &a, &ds).await;
    assert_eq!(done["data"]["progress"], 1.0, "{done}");
    let msg = done["data"]["progress_msg"].as_str().expect("msg");
    assert!(msg.contains("extractive"), "{msg}");
    assert!(msg.contains("Task done"), "{msg}");
    let first = ids_of(&done);
    assert_eq!(first.len(), 1, "two chunks make one summary");
    let after = chunk_ids(&full, &a, &ds, &docs).await;
    assert_eq!(after.len(), before.len() + 1);
    assert!(first.is_subset(&after));

    // Retrieval finds the summary for a question spanning both documents.
    let r = full
        .api
        .call(
            Method::POST,
            "/api/v1/retrieval",
            Some(&a.key),
            Some(json!({"dataset_ids": [ds], "question": "solar panels and honey bees", "similarity_threshold": 0.0})),
        )
        .await;
    let found: Vec<&str> = r.json["data"]["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(found.iter().any(|id| first.contains(*id)), "{}", r.json);

    // A redelivery of the finished task changes nothing.
    let again = QueuedTask::Raptor(RaptorTask {
        task_id: task_id.clone(),
        tenant_id: a.id.clone(),
        dataset_id: ds.clone(),
    });
    assert_eq!(
        process_task(&full.api.state, &again, &PipelineConfig::default()).await,
        Outcome::Stale
    );
    assert_eq!(chunk_ids(&full, &a, &ds, &docs).await, after);

    // A second run replaces the first run's summaries.
    let r = run(&full, &a, &ds).await;
    let second_id = r["data"]["raptor_task_id"]
        .as_str()
        .expect("task id")
        .to_string();
    assert_ne!(second_id, task_id);
    full.drain().await;
    let done2 = trace(&full, &a, &ds).await;
    assert_eq!(done2["data"]["progress"], 1.0, "{done2}");
    let second = ids_of(&done2);
    let now = chunk_ids(&full, &a, &ds, &docs).await;
    assert_eq!(now.len(), after.len(), "summaries are replaced, not added");
    assert!(second.is_subset(&now));
    assert!(
        first.is_disjoint(&now),
        "the first run's summaries are gone"
    );

    // Another tenant cannot reach the dataset.
    let b = full.api.tenant("b").await;
    for r in [run(&full, &b, &ds).await, trace(&full, &b, &ds).await] {
        assert_eq!(r["code"], 109);
        assert_eq!(r["message"], "No authorization.");
    }

    // The recorded task row gone: the trace says so.
    assert!(full
        .api
        .state
        .tasks
        .delete_task(&a.id, &second_id)
        .await
        .expect("delete"));
    let r = trace(&full, &a, &ds).await;
    assert_eq!(r["code"], 102);
    assert_eq!(r["message"], "RAPTOR Task Not Found or Error Occurred");
    // ... and a run may start again.
    assert_eq!(run(&full, &a, &ds).await["code"], 0);
}

/// Always answers the same summary.
struct Fixed;

#[async_trait]
impl ChatModel for Fixed {
    fn model_id(&self) -> &str {
        "fixed@Fake"
    }
    async fn stream(
        &self,
        messages: &[ChatMessage],
        _: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        assert!(messages.iter().any(|m| m.content.contains("waggle dance")));
        Ok(iter_stream(vec![Ok(ChatDelta::text(
            "Solar panels make electricity and honey bees dance to share flowers.",
        ))]))
    }
}

impl ChatModelRegistry for Fixed {
    fn chat_model(
        &self,
        _: &lambdarag::domain::Tenant,
        _: &str,
    ) -> Result<Arc<dyn ChatModel>, ModelError> {
        Ok(Arc::new(Fixed))
    }
}

#[tokio::test]
async fn raptor_with_a_provider_model_writes_its_summaries() {
    let mut full = FullApi::new();
    full.api.state = full.api.state.clone().with_chat_models(Arc::new(Fixed));
    full.api.app = lambdarag_server::app(full.api.state.clone());
    let a = full.api.tenant("a").await;
    let mut tenant = full
        .api
        .state
        .meta
        .get_tenant(&a.id)
        .await
        .expect("get")
        .expect("tenant");
    tenant.llm_id = "fixed@Fake".into();
    full.api
        .state
        .meta
        .update_tenant(&tenant)
        .await
        .expect("update");
    let ds = dataset(&full, &a, "kb").await;
    let docs = parsed_docs(&full, &a, &ds).await;
    assert_eq!(run(&full, &a, &ds).await["code"], 0);
    full.drain().await;
    let done = trace(&full, &a, &ds).await;
    assert_eq!(done["data"]["progress"], 1.0, "{done}");
    assert!(done["data"]["progress_msg"]
        .as_str()
        .expect("msg")
        .contains("Summarising with fixed@Fake"));
    let ids = ids_of(&done);
    assert_eq!(ids.len(), 1);
    let id = ids.iter().next().expect("id");
    let chunk = full
        .api
        .state
        .index
        .get(&a.id, &ds, id)
        .await
        .expect("get")
        .expect("the summary chunk");
    assert_eq!(
        chunk.content,
        "Solar panels make electricity and honey bees dance to share flowers."
    );
    assert_eq!(chunk.raptor_kwd, "raptor");
    assert_eq!(chunk.document_id, docs[0], "the first member's document");
    assert!(!chunk.vector.is_empty());
}

#[tokio::test]
async fn an_interrupted_task_finishes_on_redelivery_and_a_given_up_one_fails_with_its_reason() {
    use lambdarag::ports::PollingQueue;
    let full = FullApi::new();
    let a = full.api.tenant("a").await;
    let ds = dataset(&full, &a, "kb").await;
    parsed_docs(&full, &a, &ds).await;

    // A worker crashed half way: the row says 0.4, the message comes back.
    let r = run(&full, &a, &ds).await;
    let id = r["data"]["raptor_task_id"]
        .as_str()
        .expect("task id")
        .to_string();
    let mut row = full
        .api
        .state
        .tasks
        .get_task(&a.id, &id)
        .await
        .expect("get")
        .expect("row");
    row.progress = 0.4;
    full.api
        .state
        .tasks
        .update_task(&row)
        .await
        .expect("update");
    let busy = run(&full, &a, &ds).await;
    assert_eq!(
        busy["message"],
        format!("Task {id} in progress with status 0.4. A RAPTOR Task is already running.")
    );
    full.drain().await;
    let done = trace(&full, &a, &ds).await;
    assert_eq!(done["data"]["progress"], 1.0, "{done}");
    assert_eq!(ids_of(&done).len(), 1);

    // The last attempt failed: the row ends at -1 with the reason, and a new run may start.
    let r = run(&full, &a, &ds).await;
    let id2 = r["data"]["raptor_task_id"]
        .as_str()
        .expect("task id")
        .to_string();
    let lease = full
        .queue
        .receive(std::time::Duration::from_secs(30))
        .await
        .expect("receive")
        .expect("the queued task");
    lambdarag_ingest::pipeline::give_up_task(&full.api.state, &lease.task, "provider down").await;
    full.queue.ack(&lease.receipt).await.expect("ack");
    let failed = trace(&full, &a, &ds).await;
    assert_eq!(failed["data"]["id"], id2);
    assert_eq!(failed["data"]["progress"], -1.0);
    assert!(failed["data"]["progress_msg"]
        .as_str()
        .expect("msg")
        .contains("[ERROR] Giving up after 3 attempts: provider down"));
    // A late redelivery of the failed task does nothing.
    assert_eq!(
        process_task(&full.api.state, &lease.task, &PipelineConfig::default()).await,
        Outcome::Stale
    );
    assert_eq!(run(&full, &a, &ds).await["code"], 0);
}

/// Past its deadline, a run builds one layer per invocation, saves the tree and queues
/// itself again; the next invocation writes what was built.
#[tokio::test]
async fn a_run_past_its_deadline_continues_in_a_fresh_invocation() {
    let full = FullApi::new();
    let a = full.api.tenant("a").await;
    let ds = dataset(&full, &a, "kb").await;
    parsed_docs(&full, &a, &ds).await;
    assert_eq!(run(&full, &a, &ds).await["code"], 0);
    let hurried = PipelineConfig {
        deadline: Some(std::time::Instant::now()),
        ..PipelineConfig::default()
    };
    // One layer (two chunks, one summary), then a fresh invocation to write it.
    assert_eq!(full.drain_with(&hurried).await, 2);
    let done = trace(&full, &a, &ds).await;
    assert_eq!(done["data"]["progress"], 1.0, "{done}");
    let msg = done["data"]["progress_msg"].as_str().expect("msg");
    assert!(
        msg.contains("Built 1 layers; continuing in a new worker invocation."),
        "{msg}"
    );
    assert!(msg.contains("Resuming after 1 layers."), "{msg}");
    assert_eq!(ids_of(&done).len(), 1, "the summary was written once");
    let left = full
        .api
        .state
        .blobs
        .delete_prefix(&a.id, &format!("{ds}/raptor/partial/"))
        .await
        .expect("prefix");
    assert_eq!(left, 0, "no checkpoint left behind");
}
