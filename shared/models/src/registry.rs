//! The [`EmbedderRegistry`]: from a tenant's `model@factory` id to a callable embedder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use lambdarag::domain::{ModelType, Tenant};
use lambdarag::models::{
    factory, split_model_id, tenant_provider, Protocol, BUILTIN_EMBEDDING_MODEL, BUILTIN_FACTORY,
};
use lambdarag::ports::{Embedder, EmbedderRegistry, ModelError};

#[cfg(feature = "bedrock")]
use crate::bedrock::{BedrockEmbedder, SharedBedrockClient};
#[cfg(feature = "builtin")]
use crate::builtin::BuiltinEmbedder;
use crate::openai::OpenAiEmbedder;

/// (base URL, API key, model name).
type OpenAiKey = (String, Option<String>, String);

/// Resolves model ids to embedders and keeps them: the built-in model is loaded once (on
/// first use) and shared; provider embedders are cached per endpoint, key and model, and
/// all share one HTTP client (one connection pool).
pub struct ModelRegistry {
    data_dir: Option<PathBuf>,
    #[cfg(feature = "builtin")]
    builtin: Arc<BuiltinEmbedder>,
    http: OnceLock<Result<reqwest::Client, String>>,
    openai: Mutex<HashMap<OpenAiKey, Arc<OpenAiEmbedder>>>,
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
        let unavailable = |why: String| ModelError::Unavailable(model_id.to_string(), why);
        let (name, factory_name) = split_model_id(model_id);
        let Some(factory_name) = factory_name else {
            return Err(unavailable(
                "a model id must name its factory: <model>@<factory>".to_string(),
            ));
        };
        if factory_name == BUILTIN_FACTORY {
            if name == BUILTIN_EMBEDDING_MODEL {
                return self.builtin_embedder(model_id);
            }
            return Err(unavailable(format!(
                "the only built-in embedding model is {BUILTIN_EMBEDDING_MODEL}@{BUILTIN_FACTORY}"
            )));
        }
        let Some(f) = factory(factory_name) else {
            return Err(unavailable(format!(
                "unknown model factory '{factory_name}'"
            )));
        };
        let Some(provider) =
            tenant_provider(tenant, name, Some(factory_name), ModelType::Embedding)
        else {
            return Err(unavailable(format!(
                "the tenant has not configured the {factory_name} provider with embedding \
                 model {name}; configure the provider (API key, base URL, models) first"
            )));
        };
        match f.protocol {
            Protocol::OpenAiCompatible => {
                let base_url = provider
                    .base_url
                    .as_deref()
                    .filter(|u| !u.trim().is_empty())
                    .or(f.default_base_url)
                    .ok_or_else(|| {
                        unavailable(format!(
                            "the {factory_name} provider has no base URL configured"
                        ))
                    })?;
                self.openai_embedder(model_id, name, base_url, provider.api_key.as_deref())
            }
            Protocol::Bedrock => self.bedrock_embedder(model_id, name),
            Protocol::Unsupported => Err(unavailable(format!(
                "lambdarag cannot call the {factory_name} factory yet"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdarag::models::{configure_provider, default_chat_id, default_embedding_id};

    fn tenant() -> Tenant {
        Tenant {
            id: "t".into(),
            name: "t".into(),
            embd_id: default_embedding_id(),
            llm_id: default_chat_id(),
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
}
