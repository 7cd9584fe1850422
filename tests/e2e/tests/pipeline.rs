//! The parse pipeline on the embedded adapters: idempotence, cancellation, re-parse.

use http::Method;
use lambdarag::domain::{ParseTask, RunStatus};
use lambdarag::ports::{PollingQueue, TaskQueue};
use lambdarag_e2e::FullApi;
use lambdarag_ingest::pipeline::{process, Outcome, PipelineConfig};
use serde_json::json;

async fn setup(full: &FullApi) -> (String, String, String) {
    let api = &full.api;
    let a = api.tenant("a").await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"name": "kb"})),
        )
        .await;
    let ds = r.json["data"]["id"].as_str().unwrap().to_string();
    let text: String = (0..200)
        .map(|i| format!("Paragraph {i} talks about solar panel number {i} and its inverter.\n"))
        .collect();
    let r = full.upload(&a.key, &ds, "long.txt", &text).await;
    let doc = r.json["data"][0]["id"].as_str().unwrap().to_string();
    (a.key, ds, doc)
}

#[tokio::test]
async fn redelivered_task_never_duplicates_chunks() {
    let full = FullApi::new();
    let (key, ds, doc) = setup(&full).await;
    let api = &full.api;
    api.call(
        Method::POST,
        &format!("/api/v1/datasets/{ds}/chunks"),
        Some(&key),
        Some(json!({"document_ids": [doc]})),
    )
    .await;
    let lease = full
        .queue
        .receive(std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a task");
    let cfg = PipelineConfig::default();
    let first = process(
        &api.state,
        lease.task.as_parse().expect("a parse task"),
        &cfg,
    )
    .await;
    let Outcome::Done { chunks } = first else {
        panic!("{first:?}")
    };
    assert!(chunks > 1);
    // The same task again (an at-least-once redelivery): stale now, nothing changes.
    let again = process(
        &api.state,
        lease.task.as_parse().expect("a parse task"),
        &cfg,
    )
    .await;
    assert_eq!(again, Outcome::Stale);
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/documents/{doc}/chunks?page_size=1000"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.json["data"]["total"], chunks);
    let ids: std::collections::HashSet<&str> = r.json["data"]["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), chunks);
    assert_eq!(r.json["data"]["doc"]["chunk_count"], chunks);
    assert_eq!(r.json["data"]["doc"]["run"], "DONE");
}

#[tokio::test]
async fn a_crash_before_done_is_retried_into_one_clean_result() {
    let full = FullApi::new();
    let (key, ds, doc) = setup(&full).await;
    let api = &full.api;
    api.call(
        Method::POST,
        &format!("/api/v1/datasets/{ds}/chunks"),
        Some(&key),
        Some(json!({"document_ids": [doc]})),
    )
    .await;
    let d = api
        .state
        .docs
        .get_document(
            &api.state.meta.list_tenants().await.unwrap()[0].id,
            &ds,
            &doc,
        )
        .await
        .unwrap()
        .unwrap();
    let task = ParseTask {
        task_id: "t".into(),
        tenant_id: d.tenant_id.clone(),
        dataset_id: ds.clone(),
        document_id: doc.clone(),
        generation: d.generation,
    };
    // Simulate a worker that wrote chunks and died before marking DONE: index them.
    let partial = lambdarag::domain::ChunkRecord {
        id: lambdarag_ingest::pipeline::parsed_chunk_id(&doc, d.generation, 0),
        tenant_id: d.tenant_id.clone(),
        dataset_id: ds.clone(),
        document_id: doc.clone(),
        document_name: "long.txt".into(),
        content: "half written".into(),
        important_keywords: vec![],
        questions: vec![],
        available: true,
        positions: vec![],
        image_id: String::new(),
        doc_type: String::new(),
        tag_kwd: vec![],
        tag_feas: Default::default(),
        raptor_kwd: String::new(),
        position: 99,
        token_count: 2,
        create_time: 0,
        generation: d.generation,
        vector: vec![],
    };
    api.state
        .index
        .upsert(&d.tenant_id, &[partial])
        .await
        .unwrap();
    // The redelivered task (same generation) completes and replaces the partial write.
    let out = process(&api.state, &task, &PipelineConfig::default()).await;
    let Outcome::Done { chunks } = out else {
        panic!("{out:?}")
    };
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/documents/{doc}/chunks?page_size=1000"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.json["data"]["total"], chunks);
    assert!(!r.json.to_string().contains("half written"));
}

#[tokio::test]
async fn stop_wins_over_a_running_worker() {
    let full = FullApi::new();
    let (key, ds, doc) = setup(&full).await;
    let api = &full.api;
    api.call(
        Method::POST,
        &format!("/api/v1/datasets/{ds}/chunks"),
        Some(&key),
        Some(json!({"document_ids": [doc]})),
    )
    .await;
    let lease = full
        .queue
        .receive(std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    // The user stops before the worker gets to run.
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/datasets/{ds}/chunks"),
            Some(&key),
            Some(json!({"document_ids": [doc]})),
        )
        .await;
    assert_eq!(r.json, json!({"code": 0}));
    let out = process(
        &api.state,
        lease.task.as_parse().expect("a parse task"),
        &PipelineConfig::default(),
    )
    .await;
    assert_eq!(out, Outcome::Stale);
    full.queue.ack(&lease.receipt).await.unwrap();
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/documents/{doc}/chunks"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.json["data"]["total"], 0);
    assert_eq!(r.json["data"]["doc"]["run"], "CANCEL");
    // Stopping a cancelled document is refused with upstream's message.
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/datasets/{ds}/chunks"),
            Some(&key),
            Some(json!({"document_ids": [doc]})),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"code": 102, "message": "Can't stop parsing document with progress at 0 or 1"})
    );
    // Re-parse works and ends DONE.
    api.call(
        Method::POST,
        &format!("/api/v1/datasets/{ds}/chunks"),
        Some(&key),
        Some(json!({"document_ids": [doc]})),
    )
    .await;
    full.drain().await;
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/documents?id={doc}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.json["data"]["docs"][0]["run"], RunStatus::Done.text());
    assert!(full.queue.pending().await.unwrap() == 0);
    let _ = full.queue.enqueue_task(&lease.task).await; // a late duplicate of the old task
    full.drain().await; // is recognised as stale and dropped
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/documents?id={doc}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(r.json["data"]["docs"][0]["run"], "DONE");
}
