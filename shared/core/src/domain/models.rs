//! The model catalogue: which embedding, chat and rerank models a tenant may use.
//!
//! Three sources, as upstream has them: built-in models served in-process (factory
//! `Builtin`), a static list of models known per factory (upstream's llm_factories), and the
//! providers a tenant configured (factory + key + base URL + the models enabled through it).
//! A model known to the catalogue but not configured for the tenant is "unauthorized";
//! one nobody knows is "unsupported".

use crate::contract::envelope::ApiError;
use crate::domain::{ModelType, ProviderConfig, ProviderModel, Tenant};

pub const BUILTIN_FACTORY: &str = "Builtin";
/// The built-in sentence-embedding model (all-MiniLM-L6-v2, 384 dimensions).
pub const BUILTIN_EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";
/// The built-in offline answerer: extractive answers with citations from retrieved chunks.
pub const BUILTIN_CHAT_MODEL: &str = "extractive-answerer";

/// Models served in-process, with no provider to configure.
pub const BUILTIN_MODELS: &[(&str, ModelType)] = &[
    (BUILTIN_EMBEDDING_MODEL, ModelType::Embedding),
    (BUILTIN_CHAT_MODEL, ModelType::Chat),
];

pub fn default_embedding_id() -> String {
    format!("{BUILTIN_EMBEDDING_MODEL}@{BUILTIN_FACTORY}")
}

pub fn default_chat_id() -> String {
    format!("{BUILTIN_CHAT_MODEL}@{BUILTIN_FACTORY}")
}

/// How lambdarag talks to a factory's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `/v1/embeddings`, `/v1/chat/completions` (OpenAI and every compatible server), and
    /// for rerank models `/v1/rerank` in the Jina/Cohere shape (or HuggingFace TEI's).
    OpenAiCompatible,
    /// AWS Bedrock (Converse, InvokeModel) with the deployment's AWS credentials.
    Bedrock,
    /// Known to the catalogue (so names validate as upstream does) but not callable yet.
    Unsupported,
}

/// A factory lambdarag recognises, with the models it knows for it. Factories whose models
/// are whatever the user runs (Ollama, vLLM, ...) list none: models are added by name.
pub struct Factory {
    pub name: &'static str,
    pub protocol: Protocol,
    pub default_base_url: Option<&'static str>,
    pub models: &'static [(&'static str, ModelType)],
}

use ModelType::{Chat, Embedding, Rerank};

pub const FACTORIES: &[Factory] = &[
    Factory {
        name: "OpenAI",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://api.openai.com/v1"),
        models: &[
            ("text-embedding-ada-002", Embedding),
            ("text-embedding-3-small", Embedding),
            ("text-embedding-3-large", Embedding),
            ("gpt-4o", Chat),
            ("gpt-4o-mini", Chat),
            ("gpt-4.1", Chat),
            ("gpt-4.1-mini", Chat),
            ("gpt-4.1-nano", Chat),
            ("gpt-3.5-turbo", Chat),
            ("o3-mini", Chat),
        ],
    },
    Factory {
        name: "ZHIPU-AI",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://open.bigmodel.cn/api/paas/v4"),
        models: &[
            ("embedding-2", Embedding),
            ("embedding-3", Embedding),
            ("glm-4", Chat),
            ("glm-4-plus", Chat),
            ("glm-4-flash", Chat),
            ("glm-4-air", Chat),
        ],
    },
    Factory {
        name: "Bedrock",
        protocol: Protocol::Bedrock,
        default_base_url: None,
        models: &[
            ("amazon.titan-embed-text-v2:0", Embedding),
            ("amazon.titan-embed-text-v1", Embedding),
            ("cohere.embed-english-v3", Embedding),
            ("cohere.embed-multilingual-v3", Embedding),
            ("anthropic.claude-3-5-sonnet-20240620-v1:0", Chat),
            ("anthropic.claude-3-haiku-20240307-v1:0", Chat),
            ("amazon.nova-micro-v1:0", Chat),
            ("amazon.nova-lite-v1:0", Chat),
            ("amazon.nova-pro-v1:0", Chat),
            ("meta.llama3-8b-instruct-v1:0", Chat),
        ],
    },
    Factory {
        name: "Tongyi-Qianwen",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://dashscope.aliyuncs.com/compatible-mode/v1"),
        models: &[
            ("text-embedding-v2", Embedding),
            ("text-embedding-v3", Embedding),
            ("qwen-plus", Chat),
            ("qwen-turbo", Chat),
            ("qwen-max", Chat),
        ],
    },
    Factory {
        name: "DeepSeek",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://api.deepseek.com/v1"),
        models: &[("deepseek-chat", Chat), ("deepseek-reasoner", Chat)],
    },
    Factory {
        name: "Moonshot",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://api.moonshot.cn/v1"),
        models: &[("moonshot-v1-8k", Chat), ("moonshot-v1-32k", Chat)],
    },
    Factory {
        name: "SILICONFLOW",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://api.siliconflow.cn/v1"),
        models: &[
            ("BAAI/bge-m3", Embedding),
            ("BAAI/bge-large-zh-v1.5", Embedding),
            ("BAAI/bge-large-en-v1.5", Embedding),
            ("BAAI/bge-reranker-v2-m3", Rerank),
            ("netease-youdao/bce-reranker-base_v1", Rerank),
        ],
    },
    Factory {
        name: "BAAI",
        protocol: Protocol::Unsupported,
        default_base_url: None,
        models: &[
            ("BAAI/bge-large-zh-v1.5", Embedding),
            ("BAAI/bge-large-en-v1.5", Embedding),
            ("BAAI/bge-reranker-v2-m3", Rerank),
        ],
    },
    Factory {
        name: "Jina",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://api.jina.ai/v1"),
        models: &[
            ("jina-embeddings-v3", Embedding),
            ("jina-reranker-v2-base-multilingual", Rerank),
            ("jina-reranker-v1-base-en", Rerank),
            ("jina-reranker-v1-turbo-en", Rerank),
            ("jina-reranker-v1-tiny-en", Rerank),
        ],
    },
    // Only Cohere's rerank models: its `/v1/rerank` is the shape lambdarag speaks, while its
    // embed and chat APIs under this URL are not OpenAI-compatible.
    Factory {
        name: "Cohere",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("https://api.cohere.com/v1"),
        models: &[
            ("rerank-english-v3.0", Rerank),
            ("rerank-multilingual-v3.0", Rerank),
            ("rerank-v3.5", Rerank),
        ],
    },
    Factory {
        name: "Ollama",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: Some("http://127.0.0.1:11434/v1"),
        models: &[],
    },
    Factory {
        name: "OpenAI-API-Compatible",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: None,
        models: &[],
    },
    Factory {
        name: "VLLM",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: None,
        models: &[],
    },
    Factory {
        name: "LocalAI",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: None,
        models: &[],
    },
    Factory {
        name: "LM-Studio",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: None,
        models: &[],
    },
    Factory {
        name: "Xinference",
        protocol: Protocol::OpenAiCompatible,
        default_base_url: None,
        models: &[],
    },
];

pub fn factory(name: &str) -> Option<&'static Factory> {
    FACTORIES.iter().find(|f| f.name == name)
}

/// Split `model@factory` on the last `@`, as upstream does.
pub fn split_model_id(id: &str) -> (&str, Option<&str>) {
    match id.rsplit_once('@') {
        Some((name, factory)) => (name, Some(factory)),
        None => (id, None),
    }
}

fn is_builtin(name: &str, factory: Option<&str>, kind: ModelType) -> bool {
    factory == Some(BUILTIN_FACTORY) && BUILTIN_MODELS.contains(&(name, kind))
}

fn is_known(name: &str, factory: Option<&str>, kind: ModelType) -> bool {
    factory
        .and_then(self::factory)
        .is_some_and(|f| f.models.contains(&(name, kind)))
}

/// The API root to call a tenant's provider at: its configured base URL, else the
/// factory's default (none for self-hosted factories).
pub fn provider_base_url<'a>(provider: &'a ProviderConfig, factory: &Factory) -> Option<&'a str> {
    provider
        .base_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .or(factory.default_base_url)
}

/// The provider through which the tenant uses this model, if configured.
pub fn tenant_provider<'a>(
    tenant: &'a Tenant,
    name: &str,
    factory: Option<&str>,
    kind: ModelType,
) -> Option<&'a ProviderConfig> {
    let factory = factory?;
    tenant.providers.iter().find(|p| {
        p.factory == factory
            && p.models
                .iter()
                .any(|m| m.name == name && m.model_type == kind)
    })
}

/// Whether a tenant may use `model_id` as an embedding model, with upstream's messages
/// (`Unsupported model: <…>`, `Unauthorized model: <…>`, both code 101).
///
/// Divergence: upstream admits any `…@Builtin` name; lambdarag serves only its own built-in
/// models, so an unknown built-in name is unsupported rather than failing at parse time.
pub fn verify_embedding_model(tenant: &Tenant, model_id: &str) -> Result<(), ApiError> {
    verify_model(tenant, model_id, ModelType::Embedding)
}

pub fn verify_model(tenant: &Tenant, model_id: &str, kind: ModelType) -> Result<(), ApiError> {
    let (name, factory) = split_model_id(model_id);
    let builtin = is_builtin(name, factory, kind);
    let configured = tenant_provider(tenant, name, factory, kind).is_some();
    if !(builtin || configured || is_known(name, factory, kind)) {
        return Err(ApiError::argument(format!(
            "Unsupported model: <{model_id}>"
        )));
    }
    if !(builtin || configured) {
        return Err(ApiError::argument(format!(
            "Unauthorized model: <{model_id}>"
        )));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProviderConfigError {
    #[error("unknown model factory '{0}'; known factories: {1}")]
    UnknownFactory(String, String),
    #[error("factory '{0}' needs a base URL (--base-url)")]
    MissingBaseUrl(String),
}

/// Configure (or replace) one provider on a tenant: the factory's known models are enabled,
/// plus any `extra_models` (needed for Ollama, vLLM and other self-hosted servers).
pub fn configure_provider(
    tenant: &mut Tenant,
    factory_name: &str,
    api_key: Option<String>,
    base_url: Option<String>,
    extra_models: Vec<ProviderModel>,
) -> Result<(), ProviderConfigError> {
    let f = factory(factory_name).ok_or_else(|| {
        ProviderConfigError::UnknownFactory(
            factory_name.to_string(),
            FACTORIES
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(", "),
        )
    })?;
    let base_url = base_url.or_else(|| f.default_base_url.map(str::to_string));
    if base_url.is_none() && f.protocol == Protocol::OpenAiCompatible {
        return Err(ProviderConfigError::MissingBaseUrl(
            factory_name.to_string(),
        ));
    }
    let mut models: Vec<ProviderModel> = f
        .models
        .iter()
        .map(|(name, kind)| ProviderModel {
            name: name.to_string(),
            model_type: *kind,
        })
        .collect();
    for m in extra_models {
        if !models.contains(&m) {
            models.push(m);
        }
    }
    let cfg = ProviderConfig {
        factory: factory_name.to_string(),
        api_key,
        base_url,
        models,
    };
    tenant.providers.retain(|p| p.factory != factory_name);
    tenant.providers.push(cfg);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn builtin_models_are_always_allowed() {
        assert!(verify_embedding_model(&tenant(), "all-MiniLM-L6-v2@Builtin").is_ok());
    }

    #[test]
    fn known_but_unconfigured_is_unauthorized() {
        let e = verify_embedding_model(&tenant(), "text-embedding-3-small@OpenAI").unwrap_err();
        assert_eq!(e.code, 101);
        assert_eq!(
            e.message,
            "Unauthorized model: <text-embedding-3-small@OpenAI>"
        );
    }

    #[test]
    fn unknown_is_unsupported() {
        for id in ["nope@OpenAI", "x@NoSuchFactory", "other@Builtin", "plain"] {
            let e = verify_embedding_model(&tenant(), id).unwrap_err();
            assert_eq!(e.message, format!("Unsupported model: <{id}>"));
        }
        // A chat model is not an embedding model.
        let e = verify_embedding_model(&tenant(), "gpt-4o@OpenAI").unwrap_err();
        assert_eq!(e.message, "Unsupported model: <gpt-4o@OpenAI>");
    }

    #[test]
    fn configured_providers_authorise_their_models() {
        let mut t = tenant();
        configure_provider(&mut t, "OpenAI", Some("sk".into()), None, vec![]).unwrap();
        assert!(verify_embedding_model(&t, "text-embedding-3-small@OpenAI").is_ok());
        configure_provider(
            &mut t,
            "Ollama",
            None,
            None,
            vec![ProviderModel {
                name: "nomic-embed-text".into(),
                model_type: ModelType::Embedding,
            }],
        )
        .unwrap();
        assert!(verify_embedding_model(&t, "nomic-embed-text@Ollama").is_ok());
        assert!(matches!(
            configure_provider(&mut t, "Nope", None, None, vec![]),
            Err(ProviderConfigError::UnknownFactory(..))
        ));
        assert_eq!(
            configure_provider(&mut t, "VLLM", None, None, vec![]),
            Err(ProviderConfigError::MissingBaseUrl("VLLM".into()))
        );
    }

    #[test]
    fn rerank_models_are_known_and_configurable() {
        let mut t = tenant();
        for id in [
            "rerank-english-v3.0@Cohere",
            "jina-reranker-v2-base-multilingual@Jina",
            "BAAI/bge-reranker-v2-m3@SILICONFLOW",
        ] {
            let e = verify_model(&t, id, ModelType::Rerank).unwrap_err();
            assert_eq!(e.message, format!("Unauthorized model: <{id}>"));
        }
        configure_provider(&mut t, "Cohere", Some("k".into()), None, vec![]).unwrap();
        assert!(verify_model(&t, "rerank-multilingual-v3.0@Cohere", ModelType::Rerank).is_ok());
        let p = tenant_provider(&t, "rerank-english-v3.0", Some("Cohere"), ModelType::Rerank);
        assert_eq!(
            p.and_then(|p| p.base_url.as_deref()),
            Some("https://api.cohere.com/v1")
        );
        // A self-hosted reranker is added by name.
        configure_provider(
            &mut t,
            "Xinference",
            None,
            Some("http://127.0.0.1:9997/v1".into()),
            vec![ProviderModel {
                name: "bge-reranker-base".into(),
                model_type: ModelType::Rerank,
            }],
        )
        .unwrap();
        assert!(verify_model(&t, "bge-reranker-base@Xinference", ModelType::Rerank).is_ok());
    }

    #[test]
    fn model_ids_split_on_the_last_at() {
        assert_eq!(split_model_id("a@b@OpenAI"), ("a@b", Some("OpenAI")));
        assert_eq!(split_model_id("plain"), ("plain", None));
    }
}
