//! What a handler can reach: the ports, chosen at start-up by the deployment.
//!
//! A function configures only the ports it uses; the rest answer "not configured" so a
//! miswired deployment fails with a clear log line instead of a panic.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::contract::error::StoreError;
use crate::domain::{ChunkRecord, Document, DocumentListQuery, ProgressUpdate, QueuedTask, Tenant};
use crate::ports::agent::{AgentCanvas, AgentSession, AgentStore};
use crate::ports::audio::{AudioModelRegistry, SpeechModel, TranscriptionModel};
use crate::ports::chat::{
    Chat, ChatListQuery, ChatModel, ChatModelRegistry, ChatStore, Session, SessionListQuery,
};
use crate::ports::memory::{Memory, MemoryListQuery, MemoryMessage, MemoryStore, MessagePatch};
use crate::ports::search::{SearchApp, SearchStore};
use crate::ports::tasks::{DatasetTask, DatasetTaskStore};
use crate::ports::{
    BlobStore, ChunkIndex, ChunkListQuery, DatasetStats, DocumentStore, Embedder, EmbedderRegistry,
    MetadataStore, ModelError, Reranker, RerankerRegistry, ScoredChunk, SearchRequest, TaskQueue,
};

#[derive(Clone)]
pub struct AppState {
    pub meta: Arc<dyn MetadataStore>,
    pub docs: Arc<dyn DocumentStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Arc<dyn TaskQueue>,
    pub index: Arc<dyn ChunkIndex>,
    pub embedders: Arc<dyn EmbedderRegistry>,
    pub chats: Arc<dyn ChatStore>,
    pub chat_models: Arc<dyn ChatModelRegistry>,
    pub rerankers: Arc<dyn RerankerRegistry>,
    pub memories: Arc<dyn MemoryStore>,
    /// The personal file manager (`/file/*`, `/files*`).
    pub files: Arc<dyn crate::ports::files::FileStore>,
    /// Search apps (`/searches`).
    pub searches: Arc<dyn SearchStore>,
    /// Agent canvases and their sessions (`/agents*`).
    pub agents: Arc<dyn AgentStore>,
    /// Dataset-wide tasks (RAPTOR, GraphRAG) and each dataset's current one.
    pub tasks: Arc<dyn DatasetTaskStore>,
    /// Text-to-speech and speech-to-text models (`/tts`, `/sequence2txt`, `/chat/audio/*`).
    pub audio: Arc<dyn AudioModelRegistry>,
}

impl AppState {
    /// A state with only the metadata store; add the other ports with the `with_*` calls.
    pub fn new(meta: Arc<dyn MetadataStore>) -> Self {
        let none = Arc::new(Unconfigured);
        AppState {
            meta,
            docs: none.clone(),
            blobs: none.clone(),
            queue: none.clone(),
            index: none.clone(),
            embedders: none.clone(),
            chats: none.clone(),
            chat_models: none.clone(),
            rerankers: none.clone(),
            memories: none.clone(),
            files: Arc::new(crate::ports::files::UnconfiguredFiles),
            searches: none.clone(),
            agents: none.clone(),
            audio: none.clone(),
            tasks: none,
        }
    }
    pub fn with_audio(mut self, audio: Arc<dyn AudioModelRegistry>) -> Self {
        self.audio = audio;
        self
    }
    pub fn with_docs(mut self, docs: Arc<dyn DocumentStore>) -> Self {
        self.docs = docs;
        self
    }
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = blobs;
        self
    }
    pub fn with_queue(mut self, queue: Arc<dyn TaskQueue>) -> Self {
        self.queue = queue;
        self
    }
    pub fn with_index(mut self, index: Arc<dyn ChunkIndex>) -> Self {
        self.index = index;
        self
    }
    pub fn with_embedders(mut self, embedders: Arc<dyn EmbedderRegistry>) -> Self {
        self.embedders = embedders;
        self
    }
    pub fn with_chats(mut self, chats: Arc<dyn ChatStore>) -> Self {
        self.chats = chats;
        self
    }
    pub fn with_chat_models(mut self, chat_models: Arc<dyn ChatModelRegistry>) -> Self {
        self.chat_models = chat_models;
        self
    }
    pub fn with_rerankers(mut self, rerankers: Arc<dyn RerankerRegistry>) -> Self {
        self.rerankers = rerankers;
        self
    }
    pub fn with_memories(mut self, memories: Arc<dyn MemoryStore>) -> Self {
        self.memories = memories;
        self
    }
    pub fn with_files(mut self, files: Arc<dyn crate::ports::files::FileStore>) -> Self {
        self.files = files;
        self
    }
    pub fn with_searches(mut self, searches: Arc<dyn SearchStore>) -> Self {
        self.searches = searches;
        self
    }
    pub fn with_agents(mut self, agents: Arc<dyn AgentStore>) -> Self {
        self.agents = agents;
        self
    }
    pub fn with_tasks(mut self, tasks: Arc<dyn DatasetTaskStore>) -> Self {
        self.tasks = tasks;
        self
    }
}

/// Stands in for a port a deployment did not configure.
struct Unconfigured;

fn unconfigured(port: &str) -> StoreError {
    StoreError::Backend(format!(
        "the {port} port is not configured in this function"
    ))
}

#[async_trait]
impl DocumentStore for Unconfigured {
    async fn insert_document(&self, _: &Document) -> Result<(), StoreError> {
        Err(unconfigured("document store"))
    }
    async fn get_document(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<Document>, StoreError> {
        Err(unconfigured("document store"))
    }
    async fn find_document_by_name(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<Document>, StoreError> {
        Err(unconfigured("document store"))
    }
    async fn list_documents(
        &self,
        _: &str,
        _: &str,
        _: &DocumentListQuery,
    ) -> Result<(Vec<Document>, u64), StoreError> {
        Err(unconfigured("document store"))
    }
    async fn update_document(&self, _: &Document) -> Result<(), StoreError> {
        Err(unconfigured("document store"))
    }
    async fn apply_progress(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: u64,
        _: &ProgressUpdate,
    ) -> Result<bool, StoreError> {
        Err(unconfigured("document store"))
    }
    async fn delete_document(&self, _: &str, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured("document store"))
    }
    async fn dataset_stats(&self, _: &str, _: &str) -> Result<DatasetStats, StoreError> {
        // Functions without documents still render datasets: report zeros.
        Ok(DatasetStats::default())
    }
}

#[async_trait]
impl BlobStore for Unconfigured {
    async fn put(&self, _: &str, _: &str, _: Bytes) -> Result<(), StoreError> {
        Err(unconfigured("blob store"))
    }
    async fn get(&self, _: &str, _: &str) -> Result<Option<Bytes>, StoreError> {
        Err(unconfigured("blob store"))
    }
    async fn delete(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(unconfigured("blob store"))
    }
    async fn delete_prefix(&self, _: &str, _: &str) -> Result<u64, StoreError> {
        Err(unconfigured("blob store"))
    }
}

#[async_trait]
impl TaskQueue for Unconfigured {
    async fn enqueue_task(&self, _: &QueuedTask) -> Result<(), StoreError> {
        Err(unconfigured("task queue"))
    }
    async fn health(&self) -> Result<(), StoreError> {
        Err(unconfigured("task queue"))
    }
}

#[async_trait]
impl ChunkIndex for Unconfigured {
    async fn upsert(&self, _: &str, _: &[ChunkRecord]) -> Result<(), StoreError> {
        Err(unconfigured("chunk index"))
    }
    async fn get(&self, _: &str, _: &str, _: &str) -> Result<Option<ChunkRecord>, StoreError> {
        Err(unconfigured("chunk index"))
    }
    async fn list_document(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &ChunkListQuery,
    ) -> Result<(Vec<ChunkRecord>, u64), StoreError> {
        Err(unconfigured("chunk index"))
    }
    async fn delete_document(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Option<u64>,
    ) -> Result<u64, StoreError> {
        Err(unconfigured("chunk index"))
    }
    async fn delete_chunks(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &[String],
    ) -> Result<u64, StoreError> {
        Err(unconfigured("chunk index"))
    }
    async fn delete_dataset(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(unconfigured("chunk index"))
    }
    async fn search(&self, _: &str, _: &SearchRequest) -> Result<Vec<ScoredChunk>, StoreError> {
        Err(unconfigured("chunk index"))
    }
}

impl EmbedderRegistry for Unconfigured {
    fn embedder(&self, _: &Tenant, model_id: &str) -> Result<Arc<dyn Embedder>, ModelError> {
        Err(ModelError::Unavailable(
            model_id.to_string(),
            "no embedding models are configured in this function".into(),
        ))
    }
}

impl RerankerRegistry for Unconfigured {
    fn reranker(&self, _: &Tenant, model_id: &str) -> Result<Arc<dyn Reranker>, ModelError> {
        Err(ModelError::Unavailable(
            model_id.to_string(),
            "no rerank models are configured in this function".into(),
        ))
    }
}

#[async_trait]
impl ChatStore for Unconfigured {
    async fn insert_chat(&self, _: &Chat) -> Result<(), StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn get_chat(&self, _: &str, _: &str) -> Result<Option<Chat>, StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn find_chat_by_name(&self, _: &str, _: &str) -> Result<Option<Chat>, StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn list_chats(&self, _: &str, _: &ChatListQuery) -> Result<Vec<Chat>, StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn update_chat(&self, _: &Chat) -> Result<(), StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn delete_chat(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn insert_session(&self, _: &Session) -> Result<(), StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn get_session(&self, _: &str, _: &str, _: &str) -> Result<Option<Session>, StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn list_sessions(
        &self,
        _: &str,
        _: &str,
        _: &SessionListQuery,
    ) -> Result<Vec<Session>, StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn update_session(&self, _: &Session) -> Result<(), StoreError> {
        Err(unconfigured("chat store"))
    }
    async fn delete_session(&self, _: &str, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured("chat store"))
    }
}

impl AudioModelRegistry for Unconfigured {
    fn speech_model(&self, _: &Tenant, model_id: &str) -> Result<Arc<dyn SpeechModel>, ModelError> {
        Err(ModelError::Unavailable(
            model_id.to_string(),
            "no audio models are configured in this function".into(),
        ))
    }
    fn transcription_model(
        &self,
        _: &Tenant,
        model_id: &str,
    ) -> Result<Arc<dyn TranscriptionModel>, ModelError> {
        Err(ModelError::Unavailable(
            model_id.to_string(),
            "no audio models are configured in this function".into(),
        ))
    }
}

impl ChatModelRegistry for Unconfigured {
    fn chat_model(&self, _: &Tenant, model_id: &str) -> Result<Arc<dyn ChatModel>, ModelError> {
        Err(ModelError::Unavailable(
            model_id.to_string(),
            "no chat models are configured in this function".into(),
        ))
    }
}

#[async_trait]
impl MemoryStore for Unconfigured {
    async fn insert_memory(&self, _: &Memory) -> Result<(), StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn get_memory(&self, _: &str, _: &str) -> Result<Option<Memory>, StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn find_memory_by_name(&self, _: &str, _: &str) -> Result<Option<Memory>, StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn list_memories(
        &self,
        _: &str,
        _: &MemoryListQuery,
    ) -> Result<(Vec<Memory>, u64), StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn update_memory(&self, _: &Memory) -> Result<(), StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn delete_memory(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn reserve_message_ids(&self, _: &str, _: &str, _: u64) -> Result<i64, StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn put_messages(&self, _: &str, _: &str, _: &[MemoryMessage]) -> Result<(), StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn get_message(
        &self,
        _: &str,
        _: &str,
        _: i64,
    ) -> Result<Option<MemoryMessage>, StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn list_messages(&self, _: &str, _: &str) -> Result<Vec<MemoryMessage>, StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn patch_message(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: &MessagePatch,
    ) -> Result<bool, StoreError> {
        Err(unconfigured("memory store"))
    }
    async fn delete_messages(&self, _: &str, _: &str, _: &[i64]) -> Result<u64, StoreError> {
        Err(unconfigured("memory store"))
    }
}

#[async_trait]
impl SearchStore for Unconfigured {
    async fn insert_search(&self, _: &SearchApp) -> Result<(), StoreError> {
        Err(unconfigured("search store"))
    }
    async fn get_search(&self, _: &str, _: &str) -> Result<Option<SearchApp>, StoreError> {
        Err(unconfigured("search store"))
    }
    async fn list_searches(&self, _: &str) -> Result<Vec<SearchApp>, StoreError> {
        Err(unconfigured("search store"))
    }
    async fn update_search(&self, _: &SearchApp) -> Result<(), StoreError> {
        Err(unconfigured("search store"))
    }
    async fn delete_search(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured("search store"))
    }
}

#[async_trait]
impl AgentStore for Unconfigured {
    async fn insert_agent(&self, _: &AgentCanvas) -> Result<(), StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn get_agent(&self, _: &str, _: &str) -> Result<Option<AgentCanvas>, StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn list_agents(&self, _: &str) -> Result<Vec<AgentCanvas>, StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn update_agent(&self, _: &AgentCanvas) -> Result<(), StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn delete_agent(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn insert_agent_session(&self, _: &AgentSession) -> Result<(), StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn get_agent_session(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<AgentSession>, StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn list_agent_sessions(&self, _: &str, _: &str) -> Result<Vec<AgentSession>, StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn update_agent_session(&self, _: &AgentSession) -> Result<(), StoreError> {
        Err(unconfigured("agent store"))
    }
    async fn delete_agent_sessions(
        &self,
        _: &str,
        _: &str,
        _: &[String],
    ) -> Result<usize, StoreError> {
        Err(unconfigured("agent store"))
    }
}

#[async_trait]
impl DatasetTaskStore for Unconfigured {
    async fn insert_task(&self, _: &DatasetTask) -> Result<(), StoreError> {
        Err(unconfigured("dataset task store"))
    }
    async fn get_task(&self, _: &str, _: &str) -> Result<Option<DatasetTask>, StoreError> {
        Err(unconfigured("dataset task store"))
    }
    async fn update_task(&self, _: &DatasetTask) -> Result<(), StoreError> {
        Err(unconfigured("dataset task store"))
    }
    async fn delete_task(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unconfigured("dataset task store"))
    }
    async fn current_task(&self, _: &str, _: &str, _: &str) -> Result<Option<String>, StoreError> {
        Err(unconfigured("dataset task store"))
    }
    async fn swap_current_task(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: &str,
    ) -> Result<bool, StoreError> {
        Err(unconfigured("dataset task store"))
    }
}
