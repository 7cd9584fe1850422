//! Domain records shared by every adapter. Adapters store them as they are (serde), so the
//! shape here is the one source of truth for what a record holds.

pub mod models;
mod tasks;

pub use tasks::{GraphragTask, MemoryTask, QueuedTask, RaptorTask};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::contract::time::rfc1123;

/// The kind of model a catalogue entry serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    Embedding,
    Chat,
    Rerank,
    /// Text to speech (`/tts`, `/chat/audio/speech`).
    Tts,
    /// Speech to text (`/sequence2txt`, `/chat/audio/transcription`).
    Speech2Text,
}

impl ModelType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "embedding" => Some(ModelType::Embedding),
            "chat" => Some(ModelType::Chat),
            "rerank" => Some(ModelType::Rerank),
            "tts" => Some(ModelType::Tts),
            "speech2text" => Some(ModelType::Speech2Text),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ModelType::Embedding => "embedding",
            ModelType::Chat => "chat",
            ModelType::Rerank => "rerank",
            ModelType::Tts => "tts",
            ModelType::Speech2Text => "speech2text",
        }
    }
}

/// A model a tenant can use through a configured provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderModel {
    pub name: String,
    pub model_type: ModelType,
}

/// A model provider configured for one tenant (upstream: tenant_llm rows of one factory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// Factory name as upstream spells it: `OpenAI`, `ZHIPU-AI`, `Bedrock`, `Ollama`, ...
    pub factory: String,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Models enabled through this provider (the factory's known models plus any added).
    #[serde(default)]
    pub models: Vec<ProviderModel>,
}

/// A tenant: the owner of datasets, chats and API keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Default embedding model, `model@factory`.
    pub embd_id: String,
    /// Default chat model, `model@factory`.
    pub llm_id: String,
    /// Default text-to-speech model, `model@factory`; empty: none set.
    #[serde(default)]
    pub tts_id: String,
    /// Default speech-to-text model, `model@factory`; empty: none set.
    #[serde(default)]
    pub asr_id: String,
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    pub create_time: i64,
}

/// A stored API key: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Short public handle used to list and revoke (first 16 hex digits of the hash).
    pub key_id: String,
    /// SHA-256 of the key, hex.
    pub hash: String,
    pub tenant_id: String,
    /// The first characters of the key, enough for a person to recognise it.
    pub hint: String,
    pub create_time: i64,
    /// Which client generation this key's caller speaks where the two disagree on one
    /// path (GET /chats). Records written before the setting existed read as pinned.
    #[serde(default)]
    pub generation: ClientGeneration,
}

/// The client generation an API key serves, for the one true shape conflict between
/// ragflow-sdk 0.23.1 (pinned contract) and 0.26.0 (RAGFlow v0.27): GET /chats answers a
/// bare list for `pinned` and `{"chats": [...], "total": n}` for `v027`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientGeneration {
    #[default]
    Pinned,
    V027,
}

impl ClientGeneration {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pinned" => Some(ClientGeneration::Pinned),
            "v027" => Some(ClientGeneration::V027),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientGeneration::Pinned => "pinned",
            ClientGeneration::V027 => "v027",
        }
    }
}

/// A dataset (upstream: a knowledgebase row), kept under the API's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub id: String,
    pub avatar: Option<String>,
    pub tenant_id: String,
    pub name: String,
    pub language: String,
    pub description: Option<String>,
    pub embedding_model: String,
    pub permission: String,
    pub created_by: String,
    pub document_count: i64,
    pub token_num: i64,
    pub chunk_count: i64,
    pub similarity_threshold: f64,
    pub vector_similarity_weight: f64,
    pub chunk_method: String,
    pub pipeline_id: Option<String>,
    pub parser_config: Value,
    pub pagerank: i64,
    pub graphrag_task_id: Option<String>,
    pub graphrag_task_finish_at: Option<String>,
    pub raptor_task_id: Option<String>,
    pub raptor_task_finish_at: Option<String>,
    pub mindmap_task_id: Option<String>,
    pub mindmap_task_finish_at: Option<String>,
    pub status: String,
    /// v0.27's auto-metadata configuration; absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_metadata_config: Option<Value>,
    pub create_time: i64,
    pub update_time: i64,
}

impl Dataset {
    /// The case-insensitive key a dataset name is unique under, per tenant.
    pub fn name_key(name: &str) -> String {
        name.to_lowercase()
    }

    /// The dataset object as the API renders it (section 6.1 of the contract).
    pub fn to_api(&self) -> Value {
        let mut row = json!({
            "id": self.id,
            "avatar": self.avatar,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "language": self.language,
            "description": self.description,
            "embedding_model": self.embedding_model,
            "permission": self.permission,
            "created_by": self.created_by,
            "document_count": self.document_count,
            "token_num": self.token_num,
            "chunk_count": self.chunk_count,
            "similarity_threshold": self.similarity_threshold,
            "vector_similarity_weight": self.vector_similarity_weight,
            "chunk_method": self.chunk_method,
            "pipeline_id": self.pipeline_id,
            "parser_config": self.parser_config,
            "pagerank": self.pagerank,
            "graphrag_task_id": self.graphrag_task_id,
            "graphrag_task_finish_at": self.graphrag_task_finish_at,
            "raptor_task_id": self.raptor_task_id,
            "raptor_task_finish_at": self.raptor_task_finish_at,
            "mindmap_task_id": self.mindmap_task_id,
            "mindmap_task_finish_at": self.mindmap_task_finish_at,
            "status": self.status,
            "create_time": self.create_time,
            "create_date": rfc1123(self.create_time),
            "update_time": self.update_time,
            "update_date": rfc1123(self.update_time),
        });
        // Only datasets configured through v0.27's key carry it, so pinned replies keep
        // their exact key set.
        if let (Some(cfg), Value::Object(m)) = (&self.auto_metadata_config, &mut row) {
            m.insert("auto_metadata_config".into(), cfg.clone());
        }
        row
    }
}

/// Ordering column for dataset listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetOrder {
    CreateTime,
    UpdateTime,
}

/// A dataset listing request, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetListQuery {
    pub id: Option<String>,
    /// Matched case-insensitively, as upstream's collation does.
    pub name: Option<String>,
    pub page: u64,
    pub page_size: u64,
    pub orderby: DatasetOrder,
    pub desc: bool,
}

impl DatasetListQuery {
    /// Every dataset of a tenant, newest first.
    pub fn all() -> Self {
        DatasetListQuery {
            id: None,
            name: None,
            page: 1,
            page_size: u64::MAX,
            orderby: DatasetOrder::CreateTime,
            desc: true,
        }
    }

    /// Filter, order and page an in-memory set the way every adapter must; adapters that
    /// cannot sort natively (DynamoDB) call this, and the conformance suite pins it.
    pub fn apply(&self, mut all: Vec<Dataset>) -> (Vec<Dataset>, u64) {
        all.retain(|d| {
            self.id.as_ref().is_none_or(|id| &d.id == id)
                && self
                    .name
                    .as_ref()
                    .is_none_or(|n| Dataset::name_key(&d.name) == Dataset::name_key(n))
        });
        all.sort_by(|a, b| {
            let key = |d: &Dataset| match self.orderby {
                DatasetOrder::CreateTime => d.create_time,
                DatasetOrder::UpdateTime => d.update_time,
            };
            let ord = key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id));
            if self.desc {
                ord.reverse()
            } else {
                ord
            }
        });
        let total = all.len() as u64;
        let start = self.page.saturating_sub(1).saturating_mul(self.page_size);
        let page = all
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(self.page_size).unwrap_or(usize::MAX))
            .collect();
        (page, total)
    }
}

// ---------------------------------------------------------------------------------------
// Documents, chunks, parse tasks
// ---------------------------------------------------------------------------------------

/// Parse state of a document; stored as upstream's digit (`run` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    #[serde(rename = "0")]
    Unstart,
    #[serde(rename = "1")]
    Running,
    #[serde(rename = "2")]
    Cancel,
    #[serde(rename = "3")]
    Done,
    #[serde(rename = "4")]
    Fail,
}

impl RunStatus {
    pub fn digit(self) -> &'static str {
        match self {
            RunStatus::Unstart => "0",
            RunStatus::Running => "1",
            RunStatus::Cancel => "2",
            RunStatus::Done => "3",
            RunStatus::Fail => "4",
        }
    }
    /// The text form the API shows (`UNSTART`, `RUNNING`, ...).
    pub fn text(self) -> &'static str {
        match self {
            RunStatus::Unstart => "UNSTART",
            RunStatus::Running => "RUNNING",
            RunStatus::Cancel => "CANCEL",
            RunStatus::Done => "DONE",
            RunStatus::Fail => "FAIL",
        }
    }
    /// Accepts `UNSTART`..`FAIL` (any case) or `0`..`4`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "0" | "UNSTART" => Some(RunStatus::Unstart),
            "1" | "RUNNING" => Some(RunStatus::Running),
            "2" | "CANCEL" => Some(RunStatus::Cancel),
            "3" | "DONE" => Some(RunStatus::Done),
            "4" | "FAIL" => Some(RunStatus::Fail),
            _ => None,
        }
    }
}

/// A document of a dataset (upstream: a document row), under the API's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub tenant_id: String,
    pub dataset_id: String,
    pub name: String,
    /// Blob-store key of the original bytes.
    pub location: String,
    pub size: i64,
    /// Lower-case extension without the dot (`pdf`, `txt`).
    pub suffix: String,
    /// `pdf`, `doc`, `visual`, `aural`, `virtual` or `other`.
    #[serde(rename = "type")]
    pub doc_type: String,
    pub chunk_method: String,
    pub pipeline_id: Option<String>,
    pub parser_config: Value,
    pub source_type: String,
    pub created_by: String,
    pub thumbnail: Option<String>,
    pub token_count: i64,
    pub chunk_count: i64,
    pub progress: f64,
    pub progress_msg: String,
    /// Epoch ms when the current parse started.
    pub process_begin_at: Option<i64>,
    /// Seconds.
    pub process_duration: f64,
    pub meta_fields: Value,
    pub run: RunStatus,
    /// `"1"` enabled, `"0"` disabled.
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
    /// Bumped by every parse and stop; a task or chunk from another generation is stale.
    /// This is what makes redelivered tasks and late workers harmless.
    #[serde(default)]
    pub generation: u64,
}

impl Document {
    /// The document object (contract 6.3).
    pub fn to_api(&self) -> Value {
        json!({
            "id": self.id,
            "thumbnail": self.thumbnail,
            "dataset_id": self.dataset_id,
            "chunk_method": self.chunk_method,
            "pipeline_id": self.pipeline_id,
            "parser_config": self.parser_config,
            "source_type": self.source_type,
            "type": self.doc_type,
            "created_by": self.created_by,
            "name": self.name,
            "location": self.location,
            "size": self.size,
            "token_count": self.token_count,
            "chunk_count": self.chunk_count,
            "progress": self.progress,
            "progress_msg": self.progress_msg,
            "process_begin_at": self.process_begin_at.map(rfc1123),
            "process_duration": self.process_duration,
            "meta_fields": self.meta_fields,
            "suffix": self.suffix,
            "run": self.run.text(),
            "status": self.status,
            "create_time": self.create_time,
            "create_date": rfc1123(self.create_time),
            "update_time": self.update_time,
            "update_date": rfc1123(self.update_time),
        })
    }

    /// The list route's object: the document plus `title`, the name of the ingestion
    /// pipeline it went through (none exist in lambdarag, so always null).
    pub fn to_list_api(&self) -> Value {
        let mut v = self.to_api();
        if let Some(m) = v.as_object_mut() {
            m.insert("title".into(), Value::Null);
        }
        v
    }

    /// The shorter object the upload route returns.
    pub fn to_upload_api(&self) -> Value {
        json!({
            "id": self.id,
            "dataset_id": self.dataset_id,
            "chunk_method": self.chunk_method,
            "pipeline_id": self.pipeline_id,
            "parser_config": self.parser_config,
            "created_by": self.created_by,
            "type": self.doc_type,
            "name": self.name,
            "source_type": self.source_type,
            "suffix": self.suffix,
            "location": self.location,
            "size": self.size,
            "thumbnail": self.thumbnail,
            "run": self.run.text(),
        })
    }
}

/// Ordering for document listings: any of these columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentOrder {
    CreateTime,
    UpdateTime,
    Name,
    Size,
}

/// A validated document listing (F4). Filters combine with AND.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocumentListQuery {
    pub id: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    /// Case-insensitive substring of the name.
    pub keywords: Option<String>,
    /// Any of these suffixes (lower-case, no dot); empty = all.
    pub suffixes: Vec<String>,
    /// Any of these states; empty = all.
    pub runs: Vec<RunStatus>,
    /// Only these ids (from a metadata filter); `Some(empty)` matches nothing.
    pub only_ids: Option<Vec<String>>,
    /// Epoch ms bounds on create_time, inclusive; applied by the store.
    pub create_time_from: Option<i64>,
    pub create_time_to: Option<i64>,
    pub page: u64,
    /// 0 = no limit.
    pub page_size: u64,
    pub orderby: Option<DocumentOrder>,
    pub desc: bool,
}

impl DocumentListQuery {
    pub fn all() -> Self {
        DocumentListQuery {
            page: 1,
            page_size: 0,
            desc: true,
            ..Default::default()
        }
    }

    pub fn matches(&self, d: &Document) -> bool {
        self.id.as_ref().is_none_or(|id| &d.id == id)
            && self.name.as_ref().is_none_or(|n| &d.name == n)
            && self
                .keywords
                .as_ref()
                .is_none_or(|k| d.name.to_lowercase().contains(&k.to_lowercase()))
            && (self.suffixes.is_empty() || self.suffixes.contains(&d.suffix))
            && (self.runs.is_empty() || self.runs.contains(&d.run))
            && self.only_ids.as_ref().is_none_or(|ids| ids.contains(&d.id))
            && self.create_time_from.is_none_or(|t| d.create_time >= t)
            && self.create_time_to.is_none_or(|t| d.create_time <= t)
    }

    /// Filter, order and page in memory: the reference semantics every adapter follows.
    pub fn apply(&self, mut all: Vec<Document>) -> (Vec<Document>, u64) {
        all.retain(|d| self.matches(d));
        let order = self.orderby.unwrap_or(DocumentOrder::CreateTime);
        all.sort_by(|a, b| {
            let ord = match order {
                DocumentOrder::CreateTime => a.create_time.cmp(&b.create_time),
                DocumentOrder::UpdateTime => a.update_time.cmp(&b.update_time),
                DocumentOrder::Name => a.name.cmp(&b.name),
                DocumentOrder::Size => a.size.cmp(&b.size),
            }
            .then_with(|| a.id.cmp(&b.id));
            if self.desc {
                ord.reverse()
            } else {
                ord
            }
        });
        let total = all.len() as u64;
        if self.page_size == 0 {
            return (all, total);
        }
        let start = self.page.saturating_sub(1).saturating_mul(self.page_size);
        let page = all
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(self.page_size).unwrap_or(usize::MAX))
            .collect();
        (page, total)
    }
}

/// Progress written by a parse worker; applied only while the document's generation is
/// still the task's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProgressUpdate {
    pub run: Option<RunStatus>,
    pub progress: Option<f64>,
    /// A line appended to `progress_msg`.
    pub append_msg: Option<String>,
    pub process_begin_at: Option<i64>,
    pub process_duration: Option<f64>,
    pub chunk_count: Option<i64>,
    pub token_count: Option<i64>,
}

/// One unit of parse work: a document at a generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseTask {
    pub task_id: String,
    pub tenant_id: String,
    pub dataset_id: String,
    pub document_id: String,
    pub generation: u64,
}

/// A chunk as the index stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub id: String,
    pub tenant_id: String,
    pub dataset_id: String,
    pub document_id: String,
    /// The document's name (`docnm_kwd`), searchable as the title.
    pub document_name: String,
    pub content: String,
    #[serde(default)]
    pub important_keywords: Vec<String>,
    #[serde(default)]
    pub questions: Vec<String>,
    pub available: bool,
    /// `[page, x0, x1, top, bottom]` boxes, as upstream's `positions`.
    #[serde(default)]
    pub positions: Vec<[i64; 5]>,
    #[serde(default)]
    pub image_id: String,
    /// `image`, `table` or empty.
    #[serde(default)]
    pub doc_type: String,
    /// Tags set by hand (v0.27 `tag_kwd`). Not written when empty, so the stored JSON of an
    /// untagged chunk is what it was before the field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag_kwd: Vec<String>,
    /// Tag scores set by hand (v0.27 `tag_feas`: tag → finite number). Not written when
    /// empty, like `tag_kwd`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tag_feas: std::collections::BTreeMap<String, f64>,
    /// `raptor` on the summary chunks a RAPTOR task wrote (upstream's `raptor_kwd`), empty
    /// on every other chunk. Not written when empty, like `tag_kwd`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raptor_kwd: String,
    /// Order within the document.
    pub position: i64,
    pub token_count: i64,
    pub create_time: i64,
    /// The parse generation that wrote it (manual chunks take the document's current one).
    pub generation: u64,
    /// Embedding; empty when the index keeps vectors elsewhere or none were made.
    #[serde(default)]
    pub vector: Vec<f32>,
}
