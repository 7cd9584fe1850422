//! The [`EmbedderRegistry`] and [`RerankerRegistry`]: from a tenant's model id to a callable
//! embedder or reranker.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use lambdarag::domain::models::{
    factory, provider_base_url, split_model_id, tenant_provider, Protocol, BUILTIN_EMBEDDING_MODEL,
    BUILTIN_FACTORY,
};
use lambdarag::domain::{ModelType, ProviderConfig, Tenant};
use lambdarag::ports::{Embedder, EmbedderRegistry, ModelError, Reranker, RerankerRegistry};
use lambdarag::services::chats::BUILTIN_RERANK_NAMES;

#[cfg(feature = "bedrock")]
use crate::bedrock::{BedrockEmbedder, SharedBedrockClient};
#[cfg(feature = "builtin")]
use crate::builtin::BuiltinEmbedder;
use crate::openai::OpenAiEmbedder;
use crate::provider::Endpoint;
use crate::rerank::HttpReranker;

/// (base URL, API key, model name).
type OpenAiKey = (String, Option<String>, String);
/// (factory, base URL, API key, model name): the factory too, as it is part of the
/// reranker's `model_id`.
type RerankKey = (String, String, Option<String>, String);

/// Resolves model ids to embedders and rerankers and keeps them: the built-in model is
/// loaded once (on first use) and shared; provider embedders and rerankers are cached per
/// endpoint, key and model, and all share one HTTP client (one connection pool).
pub struct ModelRegistry {
    data_dir: Option<PathBuf>,
    #[cfg(feature = "builtin")]
    builtin: Arc<BuiltinEmbedder>,
    http: OnceLock<Result<reqwest::Client, String>>,
    openai: Mutex<HashMap<OpenAiKey, Arc<OpenAiEmbedder>>>,
    rerank: Mutex<HashMap<RerankKey, Arc<HttpReranker>>>,
    #[cfg(feature = "bedrock")]
    bedrock_client: SharedBedrockClient,
    #[cfg(feature = "bedrock")]
    bedrock: Mutex<HashMap<String, Arc<BedrockEmbedder>>>,
}

impl std::fmt::Debug for ModelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRegistry")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl ModelRegistry {
    /// `data_dir`: where the embedded deployment keeps its data; the built-in model is looked
    /// for in `$LAMBDARAG_MODEL_DIR/all-MiniLM-L6-v2`, then `<data_dir>/models/all-MiniLM-L6-v2`.
    pub fn new(data_dir: Option<PathBuf>) -> Self {
        Self {
            #[cfg(feature = "builtin")]
            builtin: Arc::new(BuiltinEmbedder::new(data_dir.clone())),
            data_dir,
            http: OnceLock::new(),
            openai: Mutex::new(HashMap::new()),
            rerank: Mutex::new(HashMap::new()),
            #[cfg(feature = "bedrock")]
            bedrock_client: SharedBedrockClient::default(),
            #[cfg(feature = "bedrock")]
            bedrock: Mutex::new(HashMap::new()),
        }
    }

    /// Use this AWS configuration for Bedrock (by default it is loaded from the environment
    /// on first use).
    #[cfg(feature = "bedrock")]
    pub fn with_aws_config(mut self, conf: &aws_config::SdkConfig) -> Self {
        self.bedrock_client = SharedBedrockClient::from_config(conf);
        self
    }

    /// The shared built-in embedder (e.g. to [`BuiltinEmbedder::preload`] it at start-up).
    #[cfg(feature = "builtin")]
    pub fn builtin(&self) -> Arc<BuiltinEmbedder> {
        Arc::clone(&self.builtin)
    }

    fn builtin_embedder(&self, model_id: &str) -> Result<Arc<dyn Embedder>, ModelError> {
        #[cfg(feature = "builtin")]
        {
            let _ = model_id;
            Ok(self.builtin.clone() as Arc<dyn Embedder>)
        }
        #[cfg(not(feature = "builtin"))]
        {
            Err(ModelError::Unavailable(
                model_id.to_string(),
                "this build of lambdarag has no built-in embedder (built without the \
                 `builtin` feature of lambdarag-models); configure an embedding provider"
                    .to_string(),
            ))
        }
    }

    fn http_client(&self, model_id: &str) -> Result<reqwest::Client, ModelError> {
        self.http
            .get_or_init(|| OpenAiEmbedder::default_client().map_err(|e| e.to_string()))
            .clone()
            .map_err(|e| ModelError::Unavailable(model_id.to_string(), e))
    }

    fn openai_embedder(
        &self,
        model_id: &str,
        name: &str,
        base_url: &str,
        api_key: Option<&str>,
    ) -> Result<Arc<dyn Embedder>, ModelError> {
        let key = (
            base_url.to_string(),
            api_key.map(str::to_string),
            name.to_string(),
        );
        let mut cache = self.openai.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = cache.get(&key) {
            return Ok(Arc::clone(e) as Arc<dyn Embedder>);
        }
        let embedder = Arc::new(OpenAiEmbedder::new(
            self.http_client(model_id)?,
            model_id,
            name,
            base_url,
            api_key.map(str::to_string),
        ));
        cache.insert(key, Arc::clone(&embedder));
        Ok(embedder)
    }

    fn http_reranker(
        &self,
        factory_name: &str,
        name: &str,
        base_url: &str,
        api_key: Option<&str>,
    ) -> Result<Arc<dyn Reranker>, ModelError> {
        let model_id = format!("{name}@{factory_name}");
        let key = (
            factory_name.to_string(),
            base_url.to_string(),
            api_key.map(str::to_string),
            name.to_string(),
        );
        let mut cache = self.rerank.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = cache.get(&key) {
            return Ok(Arc::clone(r) as Arc<dyn Reranker>);
        }
        let reranker = Arc::new(HttpReranker::new(
            self.http_client(&model_id)?,
            model_id.as_str(),
            name,
            base_url,
            api_key.map(str::to_string),
        ));
        cache.insert(key, Arc::clone(&reranker));
        Ok(reranker)
    }

    #[cfg(feature = "bedrock")]
    fn bedrock_embedder(
        &self,
        model_id: &str,
        name: &str,
    ) -> Result<Arc<dyn Embedder>, ModelError> {
        let mut cache = self.bedrock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = cache.get(name) {
            return Ok(Arc::clone(e) as Arc<dyn Embedder>);
        }
        let embedder = Arc::new(BedrockEmbedder::with_client(
            self.bedrock_client.clone(),
            model_id.to_string(),
            name,
        )?);
        cache.insert(name.to_string(), Arc::clone(&embedder));
        Ok(embedder)
    }

    #[cfg(not(feature = "bedrock"))]
    fn bedrock_embedder(
        &self,
        model_id: &str,
        _name: &str,
    ) -> Result<Arc<dyn Embedder>, ModelError> {
        Err(ModelError::Unavailable(
            model_id.to_string(),
            "this build of lambdarag cannot call AWS Bedrock (built without the `bedrock` \
             feature of lambdarag-models)"
                .to_string(),
        ))
    }
}

impl EmbedderRegistry for ModelRegistry {
    fn embedder(&self, tenant: &Tenant, model_id: &str) -> Result<Arc<dyn Embedder>, ModelError> {
        let (name, factory_name) = crate::provider::named_factory(model_id)?;
        if factory_name == BUILTIN_FACTORY {
            if name == BUILTIN_EMBEDDING_MODEL {
                return self.builtin_embedder(model_id);
            }
            return Err(crate::provider::unavailable(
                model_id,
                format!(
                    "the only built-in embedding model is {BUILTIN_EMBEDDING_MODEL}@{BUILTIN_FACTORY}"
                ),
            ));
        }
        match crate::provider::endpoint(tenant, model_id, ModelType::Embedding)? {
            Endpoint::OpenAi {
                name,
                base_url,
                api_key,
            } => self.openai_embedder(model_id, name, base_url, api_key),
            Endpoint::Bedrock { name } => self.bedrock_embedder(model_id, name),
        }
    }
}

impl RerankerRegistry for ModelRegistry {
    /// `name@factory` picks that provider of the tenant; a bare `name` any provider of the
    /// tenant that lists it as a rerank model (as upstream's rerank lookup does).
    fn reranker(&self, tenant: &Tenant, model_id: &str) -> Result<Arc<dyn Reranker>, ModelError> {
        let unavailable = |why: String| ModelError::Unavailable(model_id.to_string(), why);
        let (name, factory_name) = split_model_id(model_id);
        // An `@` not followed by a factory lambdarag knows is part of a bare name.
        let explicit = factory_name.filter(|f| *f == BUILTIN_FACTORY || factory(f).is_some());
        let (name, provider) = match explicit {
            Some(BUILTIN_FACTORY) => {
                return Err(unavailable(format!(
                    "lambdarag has no built-in rerank model; {}",
                    rerank_hint(name)
                )))
            }
            Some(f) => match tenant_provider(tenant, name, Some(f), ModelType::Rerank) {
                Some(p) => (name, p),
                None => {
                    return Err(unavailable(format!(
                        "the tenant has not configured the {f} provider with rerank model \
                         {name}; {}",
                        rerank_hint(name)
                    )))
                }
            },
            None => match rerank_provider_by_name(tenant, model_id) {
                Some(p) => (model_id, p),
                None => {
                    let why = match factory_name {
                        Some(f) => format!("unknown model factory '{f}'"),
                        None if BUILTIN_RERANK_NAMES.contains(&model_id) => format!(
                            "RAGFlow serves {model_id} built in, lambdarag does not; {}",
                            rerank_hint(model_id)
                        ),
                        None => format!(
                            "no provider of the tenant lists rerank model {model_id}; {}",
                            rerank_hint(model_id)
                        ),
                    };
                    return Err(unavailable(why));
                }
            },
        };
        let factory_name = provider.factory.as_str();
        let Some(f) = factory(factory_name) else {
            return Err(unavailable(format!(
                "unknown model factory '{factory_name}'"
            )));
        };
        match f.protocol {
            Protocol::OpenAiCompatible => {
                let base_url = provider_base_url(provider, f).ok_or_else(|| {
                    unavailable(format!(
                        "the {factory_name} provider has no base URL configured"
                    ))
                })?;
                self.http_reranker(factory_name, name, base_url, provider.api_key.as_deref())
            }
            Protocol::Bedrock => Err(unavailable(format!(
                "lambdarag cannot rerank through {factory_name} yet (only a /rerank HTTP \
                 endpoint is supported)"
            ))),
            Protocol::Unsupported => Err(unavailable(format!(
                "lambdarag cannot call the {factory_name} factory yet"
            ))),
        }
    }
}

/// The tenant's provider serving rerank model `name`; one lambdarag can call is preferred
/// when several list it (SILICONFLOW and BAAI both know `BAAI/bge-reranker-v2-m3`).
fn rerank_provider_by_name<'a>(tenant: &'a Tenant, name: &str) -> Option<&'a ProviderConfig> {
    let mut serving = tenant.providers.iter().filter(|p| {
        p.models
            .iter()
            .any(|m| m.name == name && m.model_type == ModelType::Rerank)
    });
    let first = serving.next()?;
    let callable = |p: &ProviderConfig| {
        factory(&p.factory).map(|f| f.protocol) == Some(Protocol::OpenAiCompatible)
    };
    if callable(first) {
        return Some(first);
    }
    serving.find(|p| callable(p)).or(Some(first))
}

/// How to make a rerank model available.
fn rerank_hint(name: &str) -> String {
    format!(
        "configure a provider serving it, e.g. `lambdarag provider set --factory Jina \
         --api-key ...` or `--factory VLLM --base-url http://host:8000/v1 --model {name}:rerank`"
    )
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

    fn unavailable_text(r: Result<Arc<dyn Embedder>, ModelError>) -> String {
        match r {
            Err(ModelError::Unavailable(_, why)) => why,
            Err(e) => panic!("expected Unavailable, got {e}"),
            Ok(e) => panic!("expected Unavailable, got {}", e.model_id()),
        }
    }

    #[test]
    fn builtin_is_shared() {
        let r = ModelRegistry::new(None);
        let t = tenant();
        let a = r.embedder(&t, "all-MiniLM-L6-v2@Builtin");
        #[cfg(feature = "builtin")]
        {
            let a = a.unwrap();
            let b = r.embedder(&t, "all-MiniLM-L6-v2@Builtin").unwrap();
            assert!(Arc::ptr_eq(&a, &b));
            assert_eq!(a.model_id(), "all-MiniLM-L6-v2@Builtin");
        }
        #[cfg(not(feature = "builtin"))]
        assert!(unavailable_text(a).contains("builtin"));
    }

    #[test]
    fn unknown_and_unconfigured_models_are_unavailable() {
        let r = ModelRegistry::new(None);
        let t = tenant();
        assert!(unavailable_text(r.embedder(&t, "other@Builtin")).contains("only built-in"));
        assert!(unavailable_text(r.embedder(&t, "plain")).contains("<model>@<factory>"));
        assert!(unavailable_text(r.embedder(&t, "x@Nope")).contains("unknown model factory"));
        assert!(
            unavailable_text(r.embedder(&t, "text-embedding-3-small@OpenAI"))
                .contains("not configured the OpenAI provider")
        );
    }

    #[test]
    fn configured_openai_models_resolve_and_are_cached() {
        let r = ModelRegistry::new(None);
        let mut t = tenant();
        configure_provider(&mut t, "OpenAI", Some("sk".into()), None, vec![]).unwrap();
        let a = r.embedder(&t, "text-embedding-3-small@OpenAI").unwrap();
        let b = r.embedder(&t, "text-embedding-3-small@OpenAI").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.model_id(), "text-embedding-3-small@OpenAI");
        let c = r.embedder(&t, "text-embedding-3-large@OpenAI").unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        // A new key is a new embedder.
        configure_provider(&mut t, "OpenAI", Some("sk2".into()), None, vec![]).unwrap();
        let d = r.embedder(&t, "text-embedding-3-small@OpenAI").unwrap();
        assert!(!Arc::ptr_eq(&a, &d));
    }

    #[test]
    fn bedrock_and_unsupported_factories() {
        let r = ModelRegistry::new(None);
        let mut t = tenant();
        configure_provider(&mut t, "Bedrock", None, None, vec![]).unwrap();
        let got = r.embedder(&t, "amazon.titan-embed-text-v2:0@Bedrock");
        #[cfg(feature = "bedrock")]
        assert_eq!(
            got.unwrap().model_id(),
            "amazon.titan-embed-text-v2:0@Bedrock"
        );
        #[cfg(not(feature = "bedrock"))]
        assert!(unavailable_text(got).contains("bedrock"));

        configure_provider(&mut t, "BAAI", None, None, vec![]).unwrap();
        assert!(
            unavailable_text(r.embedder(&t, "BAAI/bge-large-en-v1.5@BAAI"))
                .contains("cannot call the BAAI factory")
        );
    }

    fn rerank_why(r: Result<Arc<dyn Reranker>, ModelError>) -> String {
        match r {
            Err(ModelError::Unavailable(_, why)) => why,
            Err(e) => panic!("expected Unavailable, got {e}"),
            Ok(r) => panic!("expected Unavailable, got {}", r.model_id()),
        }
    }

    #[test]
    fn rerank_models_resolve_by_name_or_id() {
        let r = ModelRegistry::new(None);
        let mut t = tenant();
        configure_provider(&mut t, "Jina", Some("jk".into()), None, vec![]).unwrap();
        let a = r
            .reranker(&t, "jina-reranker-v2-base-multilingual@Jina")
            .unwrap();
        let b = r
            .reranker(&t, "jina-reranker-v2-base-multilingual")
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.model_id(), "jina-reranker-v2-base-multilingual@Jina");

        // BAAI (not callable) and SILICONFLOW both list bge-reranker-v2-m3: a bare name
        // picks the callable one, an explicit id is taken at its word.
        configure_provider(&mut t, "BAAI", None, None, vec![]).unwrap();
        configure_provider(&mut t, "SILICONFLOW", Some("sf".into()), None, vec![]).unwrap();
        let bge = r.reranker(&t, "BAAI/bge-reranker-v2-m3").unwrap();
        assert_eq!(bge.model_id(), "BAAI/bge-reranker-v2-m3@SILICONFLOW");
        assert!(rerank_why(r.reranker(&t, "BAAI/bge-reranker-v2-m3@BAAI"))
            .contains("cannot call the BAAI factory"));

        // A self-hosted model whose name holds an `@`.
        configure_provider(
            &mut t,
            "VLLM",
            None,
            Some("http://127.0.0.1:1/v1".into()),
            vec![lambdarag::domain::ProviderModel {
                name: "team@rr".into(),
                model_type: ModelType::Rerank,
            }],
        )
        .unwrap();
        assert_eq!(
            r.reranker(&t, "team@rr").unwrap().model_id(),
            "team@rr@VLLM"
        );
        assert_eq!(
            r.reranker(&t, "team@rr@VLLM").unwrap().model_id(),
            "team@rr@VLLM"
        );
    }

    #[test]
    fn unconfigured_rerank_models_are_unavailable() {
        let r = ModelRegistry::new(None);
        let mut t = tenant();
        assert!(rerank_why(r.reranker(&t, "rerank-english-v3.0@Cohere"))
            .contains("not configured the Cohere provider with rerank model rerank-english-v3.0"));
        assert!(rerank_why(r.reranker(&t, "BAAI/bge-reranker-v2-m3"))
            .contains("RAGFlow serves BAAI/bge-reranker-v2-m3 built in"));
        assert!(rerank_why(r.reranker(&t, "nope")).contains("no provider of the tenant lists"));
        assert!(rerank_why(r.reranker(&t, "x@Nope")).contains("unknown model factory 'Nope'"));
        assert!(rerank_why(r.reranker(&t, "x@Builtin")).contains("no built-in rerank model"));
        // An embedding model is not a rerank model.
        configure_provider(&mut t, "Jina", Some("jk".into()), None, vec![]).unwrap();
        assert!(rerank_why(r.reranker(&t, "jina-embeddings-v3@Jina"))
            .contains("not configured the Jina provider with rerank model"));
        configure_provider(
            &mut t,
            "Bedrock",
            None,
            None,
            vec![lambdarag::domain::ProviderModel {
                name: "cohere.rerank-v3-5:0".into(),
                model_type: ModelType::Rerank,
            }],
        )
        .unwrap();
        assert!(rerank_why(r.reranker(&t, "cohere.rerank-v3-5:0@Bedrock"))
            .contains("cannot rerank through Bedrock"));
        // Cohere's default base URL is used.
        configure_provider(&mut t, "Cohere", Some("ck".into()), None, vec![]).unwrap();
        assert_eq!(
            r.reranker(&t, "rerank-multilingual-v3.0")
                .unwrap()
                .model_id(),
            "rerank-multilingual-v3.0@Cohere"
        );
    }
}
