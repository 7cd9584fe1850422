//! The agent runtime's outside world on a deployment: retrieval over the tenant's
//! datasets and the tenant's chat models, through the same services chats use.

use async_trait::async_trait;

use super::runtime::{AgentEnv, RetrievalCall, RetrievalOutput};
use crate::contract::envelope::ApiError;
use crate::ports::chat::{ChatMessage, DeltaStream, GenOptions};
use crate::services::completion::chunk_format;
use crate::services::retrieval::{load_datasets, retrieve, RetrievalRequest};
use crate::state::AppState;

pub struct StateEnv {
    pub state: AppState,
    pub tenant_id: String,
}

fn message(e: ApiError) -> String {
    e.message
}

#[async_trait]
impl AgentEnv for StateEnv {
    async fn retrieve(&self, call: &RetrievalCall) -> Result<RetrievalOutput, String> {
        if call.dataset_ids.is_empty() || call.question.trim().is_empty() {
            return Ok(RetrievalOutput::default());
        }
        let datasets = load_datasets(&self.state, &self.tenant_id, &call.dataset_ids)
            .await
            .map_err(message)?;
        let req = RetrievalRequest {
            dataset_ids: call.dataset_ids.clone(),
            question: call.question.clone(),
            page: 1,
            page_size: call.top_n.max(1),
            similarity_threshold: call.similarity_threshold,
            // The DSL weighs keywords; retrieval weighs vectors.
            vector_similarity_weight: (1.0 - call.keywords_similarity_weight).clamp(0.0, 1.0),
            top_k: call.top_k.max(1),
            rerank_id: call.rerank_id.clone().filter(|r| !r.is_empty()),
            use_kg: call.use_kg,
            ..RetrievalRequest::default()
        };
        let found = retrieve(&self.state, &self.tenant_id, &datasets, &req)
            .await
            .map_err(message)?;
        Ok(RetrievalOutput {
            chunks: found.hits.iter().map(chunk_format).collect(),
            doc_aggs: found
                .doc_aggs
                .iter()
                .map(|(id, name, count)| {
                    serde_json::json!({"doc_name": name, "doc_id": id, "count": count})
                })
                .collect(),
        })
    }

    async fn generate(
        &self,
        llm_id: &str,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<(String, DeltaStream), String> {
        let tenant = self
            .state
            .meta
            .get_tenant(&self.tenant_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "Tenant not found!".to_string())?;
        let id = if llm_id.trim().is_empty() {
            tenant.llm_id.clone()
        } else {
            llm_id.to_string()
        };
        let model = self
            .state
            .chat_models
            .chat_model(&tenant, &id)
            .map_err(|e| e.to_string())?;
        let stream = model
            .stream(messages, opts)
            .await
            .map_err(|e| e.to_string())?;
        Ok((model.model_id().to_string(), stream))
    }
}
