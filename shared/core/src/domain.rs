//! Domain records shared by every adapter. Adapters store them as they are (serde), so the
//! shape here is the one source of truth for what a record holds.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::time::rfc1123;

/// The kind of model a catalogue entry serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    Embedding,
    Chat,
    Rerank,
}

impl ModelType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "embedding" => Some(ModelType::Embedding),
            "chat" => Some(ModelType::Chat),
            "rerank" => Some(ModelType::Rerank),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ModelType::Embedding => "embedding",
            ModelType::Chat => "chat",
            ModelType::Rerank => "rerank",
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
        json!({
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
        })
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
