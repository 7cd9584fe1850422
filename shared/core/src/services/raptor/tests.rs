use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;

use super::*;
use crate::ports::chat::{iter_stream, ChatDelta, DeltaStream};

/// Bag-of-words hashed into 32 dimensions.
struct Words;

#[async_trait]
impl Embedder for Words {
    fn model_id(&self) -> &str {
        "words@Test"
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 32];
                for w in t.split_whitespace() {
                    let w = w
                        .trim_matches(|c: char| !c.is_alphanumeric())
                        .to_lowercase();
                    let h = w
                        .bytes()
                        .fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
                    v[(h % 32) as usize] += 1.0;
                }
                cluster::normalised(&v)
            })
            .collect())
    }
}

/// Answers `SUMMARY(<n> lines)` and records what it was asked.
struct Counting {
    asked: Mutex<Vec<(Vec<ChatMessage>, GenOptions)>>,
    answer: Option<String>,
}

#[async_trait]
impl ChatModel for Counting {
    fn model_id(&self) -> &str {
        "counting@Test"
    }
    async fn stream(
        &self,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        if let Ok(mut a) = self.asked.lock() {
            a.push((messages.to_vec(), opts.clone()));
        }
        let text = self.answer.clone().unwrap_or_else(|| {
            let lines = messages.last().map_or(0, |m| m.content.lines().count());
            format!("<think>x</think>SUMMARY({lines} lines)")
        });
        Ok(iter_stream(vec![Ok(ChatDelta::text(text))]))
    }
}

async fn leaves(texts: &[(&str, usize)]) -> Vec<Node> {
    let owned: Vec<String> = texts.iter().map(|(t, _)| t.to_string()).collect();
    let vecs = Words.embed(&owned).await.expect("embed");
    texts
        .iter()
        .zip(vecs)
        .map(|((t, d), v)| Node {
            text: t.to_string(),
            vector: v,
            doc: *d,
        })
        .collect()
}

fn cfg() -> RaptorConfig {
    RaptorConfig::from_parser_config(&json!({}))
}

#[test]
fn config_defaults_and_overrides() {
    let d = cfg();
    assert_eq!(d.max_token, 256);
    assert_eq!(d.max_cluster, 64);
    assert_eq!(d.random_seed, 0);
    assert!((d.threshold - 0.1).abs() < 1e-9);
    assert!(d.prompt.contains("{cluster_content}"));
    let c = RaptorConfig::from_parser_config(&json!({"raptor": {
        "prompt": "P {cluster_content}", "max_token": 64, "max_cluster": 3, "random_seed": 9, "threshold": 0.3
    }}));
    assert_eq!(
        c,
        RaptorConfig {
            prompt: "P {cluster_content}".into(),
            max_token: 64,
            threshold: 0.3,
            max_cluster: 3,
            random_seed: 9
        }
    );
    // a blank prompt falls back to upstream's
    let blank = RaptorConfig::from_parser_config(&json!({"raptor": {"prompt": " "}}));
    assert_eq!(blank.prompt, d.prompt);
}

#[tokio::test]
async fn a_provider_model_summarises_each_cluster_with_the_configured_prompt() {
    let model = Arc::new(Counting {
        asked: Mutex::new(vec![]),
        answer: None,
    });
    let s = Summariser {
        model: Some(model.clone()),
        embedder: Arc::new(Words),
    };
    let nodes = leaves(&[
        ("solar panels make power", 0),
        ("bees dance to show flowers", 1),
    ])
    .await;
    let up = s.layer(&nodes, &cfg(), 1).await.expect("layer");
    assert_eq!(up.len(), 1, "two nodes make one cluster");
    assert_eq!(up[0].text, "SUMMARY(4 lines)", "reasoning stripped");
    assert_eq!(
        up[0].doc, 0,
        "a summary belongs to its first member's document"
    );
    assert_eq!(up[0].vector.len(), 32);
    let asked = model.asked.lock().expect("lock");
    let (messages, opts) = &asked[0];
    assert_eq!(opts.temperature, Some(0.3));
    assert_eq!(opts.max_tokens, Some(256));
    assert!(messages[1]
        .content
        .contains("solar panels make power\nbees dance to show flowers"));
    assert!(messages[1].content.starts_with("Please summarize"));
}

#[tokio::test]
async fn an_error_answer_is_a_permanent_failure() {
    let s = Summariser {
        model: Some(Arc::new(Counting {
            asked: Mutex::new(vec![]),
            answer: Some("**ERROR**: quota".into()),
        })),
        embedder: Arc::new(Words),
    };
    let nodes = leaves(&[("a b", 0), ("c d", 0)]).await;
    assert!(matches!(
        s.layer(&nodes, &cfg(), 1).await,
        Err(TreeError::Answer(_))
    ));
}

#[tokio::test]
async fn without_a_model_summaries_are_the_central_sentences() {
    let s = Summariser {
        model: None,
        embedder: Arc::new(Words),
    };
    let nodes = leaves(&[
        (
            "Solar panels convert sunlight. Panels need cleaning. Zebras are striped.",
            0,
        ),
        ("Solar panels on roofs convert sunlight into power.", 1),
    ])
    .await;
    let mut c = cfg();
    c.max_token = 10;
    let up = s.layer(&nodes, &c, 1).await.expect("layer");
    assert_eq!(up.len(), 1);
    assert!(up[0].text.contains("Solar panels"), "{}", up[0].text);
    assert!(!up[0].text.contains("Zebras"), "{}", up[0].text);
}

#[tokio::test]
async fn layers_shrink_until_one_node_remains() {
    let s = Summariser {
        model: None,
        embedder: Arc::new(Words),
    };
    let topics = ["solar panel power", "honey bee hive", "river water flow"];
    let texts: Vec<(String, usize)> = (0..30)
        .map(|i| (format!("Note {i} about {}.", topics[i % 3]), i % 3))
        .collect();
    let refs: Vec<(&str, usize)> = texts.iter().map(|(t, d)| (t.as_str(), *d)).collect();
    let mut layer = leaves(&refs).await;
    let mut sizes = vec![layer.len()];
    let mut level = 0;
    while layer.len() > 1 && level < MAX_LEVELS {
        level += 1;
        layer = s.layer(&layer, &cfg(), level).await.expect("layer");
        sizes.push(layer.len());
    }
    assert_eq!(*sizes.last().expect("sizes"), 1, "{sizes:?}");
    assert!(sizes.windows(2).all(|w| w[1] < w[0]), "{sizes:?}");
}

#[test]
fn chunk_ids_are_stable_per_task_level_and_cluster() {
    assert_eq!(raptor_chunk_id("t", 1, 0), raptor_chunk_id("t", 1, 0));
    assert_ne!(raptor_chunk_id("t", 1, 0), raptor_chunk_id("t", 1, 1));
    assert_ne!(raptor_chunk_id("t", 1, 0), raptor_chunk_id("u", 1, 0));
    assert_eq!(raptor_chunk_id("t", 2, 3).len(), 16);
}

#[test]
fn the_running_message_formats_progress_like_python() {
    assert_eq!(
        dataset_tasks::already_running(&KIND, "abc", 0.0).message,
        "Task abc in progress with status 0.0. A RAPTOR Task is already running."
    );
    assert_eq!(
        dataset_tasks::already_running(&KIND, "abc", 0.5).message,
        "Task abc in progress with status 0.5. A RAPTOR Task is already running."
    );
}

#[test]
fn task_rows_render_upstreams_shape() {
    let t = crate::ports::conformance_tasks::sample_task("t", "ds");
    let v = t.to_api();
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "begin_at",
            "chunk_ids",
            "create_date",
            "create_time",
            "digest",
            "doc_id",
            "from_page",
            "id",
            "priority",
            "process_duration",
            "progress",
            "progress_msg",
            "retry_count",
            "task_type",
            "to_page",
            "update_date",
            "update_time"
        ]
    );
    assert!(v["begin_at"].as_str().is_some_and(|s| s.ends_with(" GMT")));
}
