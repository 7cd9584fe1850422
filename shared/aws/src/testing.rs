//! Test support for the AWS adapters and the worker functions (feature `testing`): finding
//! moto, fresh resources on it, an in-memory chunk index and a deterministic embedder.
//! Nothing here is used by a deployed function.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;

use lambdarag::contract::ids::new_id;
use lambdarag::domain::{ChunkRecord, Tenant};
use lambdarag::ports::{
    ChunkIndex, ChunkListQuery, Embedder, EmbedderRegistry, ModelError, ScoredChunk, SearchRequest,
};
use lambdarag::StoreError;

use crate::config::{local_sdk_config, s3_client};
use crate::dynamo::DynamoStore;
use crate::opensearch::cosine;

/// The moto server's URL from `MOTO_URL`, or `None` (the test is skipped with a message).
/// With `LAMBDARAG_REQUIRE_MOTO` set (CI) a missing moto fails the test instead.
pub fn moto_url(test: &str) -> Option<String> {
    if let Some(url) = std::env::var("MOTO_URL").ok().filter(|u| !u.is_empty()) {
        return Some(url);
    }
    let required = std::env::var("LAMBDARAG_REQUIRE_MOTO")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    assert!(
        !required,
        "LAMBDARAG_REQUIRE_MOTO is set but MOTO_URL is not: start moto with \
         `eval \"$(tests/aws/moto.sh start)\"`"
    );
    eprintln!("SKIPPED {test}: MOTO_URL is not set (start moto with tests/aws/moto.sh)");
    None
}

/// Fresh, uniquely named resources on moto for one test (tests run in parallel against one
/// server).
pub struct Moto {
    pub url: String,
    pub conf: SdkConfig,
    /// A unique suffix for this test's resource names.
    pub run: String,
}

impl Moto {
    /// `None` when moto is not configured (see [`moto_url`]).
    pub async fn start(test: &str) -> Option<Moto> {
        let url = moto_url(test)?;
        let conf = local_sdk_config(&url).await;
        Some(Moto {
            url,
            conf,
            run: new_id()[..12].to_string(),
        })
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        s3_client(&self.conf)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.conf)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.conf)
    }

    /// A fresh metadata table.
    pub async fn table(&self, name: &str) -> DynamoStore {
        let table = format!("lambdarag-{name}-{}", self.run);
        let client = self.dynamodb();
        if let Err(e) = DynamoStore::create_table(&client, &table).await {
            panic!("creating table {table} on {} failed: {e}", self.url);
        }
        DynamoStore::new(client, table)
    }

    /// A fresh bucket; returns its name.
    pub async fn bucket(&self, name: &str) -> String {
        let bucket = format!("lambdarag-{name}-{}", self.run);
        if let Err(e) = self.s3().create_bucket().bucket(&bucket).send().await {
            panic!(
                "creating bucket {bucket} on {} failed: {}",
                self.url,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            );
        }
        bucket
    }

    /// A fresh standard queue with the given default visibility timeout (seconds) and,
    /// with `dead_letter`, a redrive policy to a fresh dead-letter queue after
    /// `max_receives`. Returns (queue URL, queue ARN).
    pub async fn queue(
        &self,
        name: &str,
        visibility_secs: u32,
        dead_letter: Option<u32>,
    ) -> (String, String) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let sqs = self.sqs();
        let mut attrs = HashMap::from([(A::VisibilityTimeout, visibility_secs.to_string())]);
        if let Some(max) = dead_letter {
            let (_, dlq_arn) = Box::pin(self.queue(&format!("{name}-dlq"), 30, None)).await;
            attrs.insert(
                A::RedrivePolicy,
                format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max}"}}"#),
            );
        }
        let queue = format!("lambdarag-{name}-{}", self.run);
        let url = match sqs
            .create_queue()
            .queue_name(&queue)
            .set_attributes(Some(attrs))
            .send()
            .await
        {
            Ok(out) => out.queue_url.unwrap_or_default(),
            Err(e) => panic!(
                "creating queue {queue} on {} failed: {}",
                self.url,
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            ),
        };
        let arn = match sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::QueueArn)
            .send()
            .await
        {
            Ok(out) => out
                .attributes
                .and_then(|a| a.get(&A::QueueArn).cloned())
                .unwrap_or_default(),
            Err(e) => panic!(
                "reading the ARN of {queue} failed: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            ),
        };
        (url, arn)
    }
}

impl Moto {
    /// Receive up to 10 messages (long-polling up to `wait_secs`), with their system
    /// attributes (receive count), leaving them in flight for `visibility_secs`.
    pub async fn receive(
        &self,
        queue_url: &str,
        wait_secs: i32,
        visibility_secs: i32,
    ) -> Vec<aws_sdk_sqs::types::Message> {
        use aws_sdk_sqs::types::MessageSystemAttributeName;
        match self
            .sqs()
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_secs)
            .visibility_timeout(visibility_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
        {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => panic!(
                "receiving from {queue_url} failed: {}",
                aws_sdk_sqs::error::DisplayErrorContext(&e)
            ),
        }
    }
}

/// The Lambda SQS event (`{"Records": [...]}`, as the event source mapping sends it) for
/// messages received from the queue `queue_arn`.
pub fn lambda_sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
    queue_arn: &str,
) -> serde_json::Value {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, serde_json::Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), serde_json::json!(v)))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({
                "messageId": m.message_id().unwrap_or_default(),
                "receiptHandle": m.receipt_handle().unwrap_or_default(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// A chunk index in memory, with simple scoring: the term score counts query words found
/// in a chunk's text fields; the vector score is the cosine. Enough to run the pipeline
/// against the AWS adapters without OpenSearch.
#[derive(Default)]
pub struct MemoryIndex {
    chunks: Mutex<Chunks>,
}

/// Chunks by (tenant, chunk id).
type Chunks = HashMap<(String, String), ChunkRecord>;

impl MemoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Chunks>, StoreError> {
        self.chunks
            .lock()
            .map_err(|_| StoreError::Backend("memory index lock poisoned".into()))
    }

    /// Every chunk of a tenant's document, in position order (for assertions).
    pub fn document_chunks(&self, tenant_id: &str, doc_id: &str) -> Vec<ChunkRecord> {
        let mut v: Vec<ChunkRecord> = self
            .lock()
            .map(|m| {
                m.values()
                    .filter(|c| c.tenant_id == tenant_id && c.document_id == doc_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|c| (c.position, c.id.clone()));
        v
    }

    fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }
}

#[async_trait]
impl ChunkIndex for MemoryIndex {
    async fn upsert(&self, tenant_id: &str, chunks: &[ChunkRecord]) -> Result<(), StoreError> {
        let mut m = self.lock()?;
        for c in chunks {
            m.insert((tenant_id.to_string(), c.id.clone()), c.clone());
        }
        Ok(())
    }

    async fn get(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        chunk_id: &str,
    ) -> Result<Option<ChunkRecord>, StoreError> {
        Ok(self
            .lock()?
            .get(&(tenant_id.to_string(), chunk_id.to_string()))
            .filter(|c| c.dataset_id == dataset_id)
            .cloned())
    }

    async fn list_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        query: &ChunkListQuery,
    ) -> Result<(Vec<ChunkRecord>, u64), StoreError> {
        let words = query
            .keywords
            .as_deref()
            .map(Self::words)
            .unwrap_or_default();
        let mut all: Vec<ChunkRecord> = self
            .document_chunks(tenant_id, doc_id)
            .into_iter()
            .filter(|c| c.dataset_id == dataset_id)
            .filter(|c| {
                let have = Self::words(&c.content);
                words.is_empty() || words.iter().any(|w| have.contains(w))
            })
            .collect();
        let total = all.len() as u64;
        if query.page_size > 0 {
            let skip = query.page.saturating_sub(1).saturating_mul(query.page_size);
            all = all
                .into_iter()
                .skip(usize::try_from(skip).unwrap_or(usize::MAX))
                .take(usize::try_from(query.page_size).unwrap_or(usize::MAX))
                .collect();
        }
        Ok((all, total))
    }

    async fn delete_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        generation: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut m = self.lock()?;
        let before = m.len();
        m.retain(|(t, _), c| {
            !(t == tenant_id
                && c.dataset_id == dataset_id
                && c.document_id == doc_id
                && generation.is_none_or(|g| c.generation == g))
        });
        Ok((before - m.len()) as u64)
    }

    async fn delete_chunks(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        chunk_ids: &[String],
    ) -> Result<u64, StoreError> {
        let mut m = self.lock()?;
        let before = m.len();
        m.retain(|(t, id), c| {
            !(t == tenant_id
                && c.dataset_id == dataset_id
                && c.document_id == doc_id
                && chunk_ids.contains(id))
        });
        Ok((before - m.len()) as u64)
    }

    async fn delete_dataset(&self, tenant_id: &str, dataset_id: &str) -> Result<(), StoreError> {
        self.lock()?
            .retain(|(t, _), c| !(t == tenant_id && c.dataset_id == dataset_id));
        Ok(())
    }

    async fn search(
        &self,
        tenant_id: &str,
        req: &SearchRequest,
    ) -> Result<Vec<ScoredChunk>, StoreError> {
        let words = Self::words(&req.text);
        let m = self.lock()?;
        let mut hits: Vec<ScoredChunk> = m
            .iter()
            .filter(|((t, _), c)| {
                t == tenant_id
                    && req.dataset_ids.contains(&c.dataset_id)
                    && req
                        .document_ids
                        .as_ref()
                        .is_none_or(|d| d.contains(&c.document_id))
            })
            .map(|(_, c)| {
                let text = format!(
                    "{} {} {} {}",
                    c.content,
                    c.document_name,
                    c.important_keywords.join(" "),
                    c.questions.join(" ")
                );
                let have = Self::words(&text);
                let term = words.iter().filter(|w| have.contains(w)).count() as f32;
                let vector = req.vector.as_deref().map_or(0.0, |q| cosine(q, &c.vector));
                ScoredChunk {
                    chunk: c.clone(),
                    term_score: term,
                    vector_score: vector,
                }
            })
            .filter(|h| h.term_score > 0.0 || h.vector_score != 0.0)
            .collect();
        hits.sort_by(|a, b| {
            (b.term_score + b.vector_score).total_cmp(&(a.term_score + a.vector_score))
        });
        hits.truncate(req.top_k);
        Ok(hits)
    }
}

/// Dimensions of the fake embedder's vectors.
pub const FAKE_DIM: usize = 8;

/// A deterministic embedder: each text's vector comes from a hash of its words, so equal
/// texts embed equally and nothing is downloaded. `fail_transiently` makes every call fail
/// like an unreachable provider (a retryable error).
#[derive(Default)]
pub struct FakeEmbedder {
    pub fail_transiently: AtomicBool,
    pub calls: AtomicUsize,
}

impl FakeEmbedder {
    pub fn vector(text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; FAKE_DIM];
        for w in text.split_whitespace() {
            let h = w.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            v[(h % FAKE_DIM as u64) as usize] += 1.0;
        }
        v[0] += 0.01;
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }
}

#[async_trait]
impl Embedder for FakeEmbedder {
    fn model_id(&self) -> &str {
        "fake-embedder@Test"
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail_transiently.load(Ordering::SeqCst) {
            return Err(ModelError::Provider(
                "the embedding provider is unreachable (test)".into(),
            ));
        }
        Ok(texts.iter().map(|t| Self::vector(t)).collect())
    }
}

/// A registry answering every model id with one shared [`FakeEmbedder`].
#[derive(Default, Clone)]
pub struct FakeEmbedders {
    pub embedder: Arc<FakeEmbedder>,
}

impl EmbedderRegistry for FakeEmbedders {
    fn embedder(&self, _: &Tenant, _: &str) -> Result<Arc<dyn Embedder>, ModelError> {
        Ok(self.embedder.clone() as Arc<dyn Embedder>)
    }
}
