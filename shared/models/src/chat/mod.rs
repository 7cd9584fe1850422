//! Chat models: the [`ChatModelRegistry`] that turns a tenant's `model@factory` id into a
//! streaming chat model.
//!
//! - `extractive-answerer@Builtin` → [`ExtractiveAnswerer`] (offline, quotes with citations);
//! - factories speaking the OpenAI protocol (OpenAI, DeepSeek, Ollama, vLLM,
//!   OpenAI-API-Compatible, ...) → [`OpenAiChat`], once the tenant configured the provider
//!   with that chat model;
//! - `Bedrock` → `BedrockChat` (ConverseStream), with the `bedrock` feature.
//!
//! The built-in answerer is used only when the chat's model *is* the built-in one: a
//! configured provider that fails surfaces its error, never a silent fallback.

#[cfg(feature = "bedrock")]
mod bedrock;
mod builtin;
mod openai;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use lambdarag::domain::models::{BUILTIN_CHAT_MODEL, BUILTIN_FACTORY};
use lambdarag::domain::{ModelType, Tenant};
use lambdarag::ports::chat::{ChatModel, ChatModelRegistry};
use lambdarag::ports::ModelError;

use crate::provider::Endpoint;

#[cfg(feature = "bedrock")]
pub use bedrock::{BedrockChat, BedrockChatClient};
pub use builtin::{
    compose_answer, compose_suggestions, ExtractiveAnswerer, BUILTIN_ANSWER_HEADER,
    BUILTIN_SUGGESTIONS_HEADER,
};
pub use openai::{parse_event, OpenAiChat, SseLines, StreamEvent};

/// (base URL, API key, model name).
type OpenAiKey = (String, Option<String>, String);

/// Resolves chat-model ids and keeps the models: the built-in answerer is shared; provider
/// models are cached per endpoint, key and model and share one HTTP client.
pub struct ChatRegistry {
    builtin: Arc<ExtractiveAnswerer>,
    http: OnceLock<Result<reqwest::Client, String>>,
    openai: Mutex<HashMap<OpenAiKey, Arc<OpenAiChat>>>,
    #[cfg(feature = "bedrock")]
    bedrock_client: BedrockChatClient,
}

impl Default for ChatRegistry {
    fn default() -> Self {
        ChatRegistry {
            builtin: Arc::new(ExtractiveAnswerer::new()),
            http: OnceLock::new(),
            openai: Mutex::new(HashMap::new()),
            #[cfg(feature = "bedrock")]
            bedrock_client: BedrockChatClient::default(),
        }
    }
}

impl std::fmt::Debug for ChatRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatRegistry").finish_non_exhaustive()
    }
}

impl ChatRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Use this AWS configuration for Bedrock (by default it is loaded from the environment
    /// on first use).
    #[cfg(feature = "bedrock")]
    pub fn with_aws_config(mut self, conf: &aws_config::SdkConfig) -> Self {
        self.bedrock_client = BedrockChatClient::from_config(conf);
        self
    }

    fn http_client(&self, model_id: &str) -> Result<reqwest::Client, ModelError> {
        self.http
            .get_or_init(|| OpenAiChat::default_client().map_err(|e| e.to_string()))
            .clone()
            .map_err(|e| ModelError::Unavailable(model_id.to_string(), e))
    }

    fn openai_chat(
        &self,
        model_id: &str,
        name: &str,
        base_url: &str,
        api_key: Option<&str>,
    ) -> Result<Arc<dyn ChatModel>, ModelError> {
        let key = (
            base_url.to_string(),
            api_key.map(str::to_string),
            name.to_string(),
        );
        let mut cache = self.openai.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = cache.get(&key) {
            return Ok(Arc::clone(m) as Arc<dyn ChatModel>);
        }
        let model = Arc::new(OpenAiChat::new(
            self.http_client(model_id)?,
            model_id,
            name,
            base_url,
            api_key.map(str::to_string),
        ));
        cache.insert(key, Arc::clone(&model));
        Ok(model)
    }

    #[cfg(feature = "bedrock")]
    fn bedrock_chat(&self, model_id: &str, name: &str) -> Result<Arc<dyn ChatModel>, ModelError> {
        Ok(Arc::new(BedrockChat::new(
            self.bedrock_client.clone(),
            model_id.to_string(),
            name,
        )))
    }

    #[cfg(not(feature = "bedrock"))]
    fn bedrock_chat(&self, model_id: &str, _name: &str) -> Result<Arc<dyn ChatModel>, ModelError> {
        Err(ModelError::Unavailable(
            model_id.to_string(),
            "this build of lambdarag cannot call AWS Bedrock (built without the `bedrock` \
             feature of lambdarag-models)"
                .to_string(),
        ))
    }
}

impl ChatModelRegistry for ChatRegistry {
    fn chat_model(
        &self,
        tenant: &Tenant,
        model_id: &str,
    ) -> Result<Arc<dyn ChatModel>, ModelError> {
        let (name, factory_name) = crate::provider::named_factory(model_id)?;
        if factory_name == BUILTIN_FACTORY {
            if name == BUILTIN_CHAT_MODEL {
                return Ok(self.builtin.clone() as Arc<dyn ChatModel>);
            }
            return Err(crate::provider::unavailable(
                model_id,
                format!("the only built-in chat model is {BUILTIN_CHAT_MODEL}@{BUILTIN_FACTORY}"),
            ));
        }
        match crate::provider::endpoint(tenant, model_id, ModelType::Chat)? {
            Endpoint::OpenAi {
                name,
                base_url,
                api_key,
            } => self.openai_chat(model_id, name, base_url, api_key),
            Endpoint::Bedrock { name } => self.bedrock_chat(model_id, name),
        }
    }
}

impl ChatRegistry {
    /// The OpenAI-protocol audio endpoint of a tenant's `model@factory` of kind `kind`.
    fn audio(
        &self,
        tenant: &Tenant,
        model_id: &str,
        kind: ModelType,
    ) -> Result<Arc<crate::OpenAiAudio>, ModelError> {
        let (_, factory_name) = crate::provider::named_factory(model_id)?;
        if factory_name == BUILTIN_FACTORY {
            return Err(crate::provider::unavailable(
                model_id,
                format!("lambdarag has no built-in {} model", kind.as_str()),
            ));
        }
        match crate::provider::endpoint(tenant, model_id, kind)? {
            Endpoint::OpenAi {
                name,
                base_url,
                api_key,
            } => Ok(Arc::new(crate::OpenAiAudio::new(
                self.http_client(model_id)?,
                model_id,
                name,
                base_url,
                api_key.map(str::to_string),
            ))),
            Endpoint::Bedrock { .. } => Err(crate::provider::unavailable(
                model_id,
                format!(
                    "lambdarag calls audio models over the OpenAI protocol only, not {factory_name}'s"
                ),
            )),
        }
    }
}

impl lambdarag::ports::audio::AudioModelRegistry for ChatRegistry {
    fn speech_model(
        &self,
        tenant: &Tenant,
        model_id: &str,
    ) -> Result<Arc<dyn lambdarag::ports::audio::SpeechModel>, ModelError> {
        Ok(self.audio(tenant, model_id, ModelType::Tts)?)
    }

    fn transcription_model(
        &self,
        tenant: &Tenant,
        model_id: &str,
    ) -> Result<Arc<dyn lambdarag::ports::audio::TranscriptionModel>, ModelError> {
        Ok(self.audio(tenant, model_id, ModelType::Speech2Text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdarag::domain::models::{configure_provider, default_chat_id, default_embedding_id};

    fn tenant() -> Tenant {
        Tenant {
            id: "t".into(),
            name: "t".into(),
            embd_id: default_embedding_id(),
            llm_id: default_chat_id(),
            tts_id: String::new(),
            asr_id: String::new(),
            providers: vec![],
            create_time: 0,
        }
    }

    fn why(r: Result<Arc<dyn ChatModel>, ModelError>) -> String {
        match r {
            Err(ModelError::Unavailable(_, why)) => why,
            Err(e) => format!("other error: {e}"),
            Ok(m) => format!("resolved {}", m.model_id()),
        }
    }

    #[test]
    fn resolves_builtin_and_configured_models() {
        let r = ChatRegistry::new();
        let mut t = tenant();
        assert_eq!(
            r.chat_model(&t, "extractive-answerer@Builtin")
                .map(|m| m.model_id().to_string())
                .unwrap_or_default(),
            "extractive-answerer@Builtin"
        );
        assert!(why(r.chat_model(&t, "other@Builtin")).contains("only built-in"));
        assert!(why(r.chat_model(&t, "plain")).contains("<model>@<factory>"));
        assert!(why(r.chat_model(&t, "gpt-4o@OpenAI")).contains("not configured"));
        configure_provider(&mut t, "OpenAI", Some("sk".into()), None, vec![]).unwrap_or(());
        let a = r.chat_model(&t, "gpt-4o@OpenAI");
        let b = r.chat_model(&t, "gpt-4o@OpenAI");
        match (a, b) {
            (Ok(a), Ok(b)) => assert!(Arc::ptr_eq(&a, &b), "provider models are cached"),
            _ => panic!("a configured OpenAI chat model resolves"),
        }
        assert!(
            why(r.chat_model(&t, "text-embedding-3-small@OpenAI")).contains("not configured"),
            "an embedding model is not a chat model"
        );
    }
}
