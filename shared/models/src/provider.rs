//! From a tenant's `model@factory` id to the endpoint that serves it: the checks every
//! registry (embedders, chat and audio models) makes in the same order, with the same words.

use lambdarag::domain::models::{
    factory, provider_base_url, split_model_id, tenant_provider, Protocol,
};
use lambdarag::domain::{ModelType, Tenant};
use lambdarag::ports::ModelError;

/// Where a provider model is called.
pub(crate) enum Endpoint<'a> {
    OpenAi {
        name: &'a str,
        base_url: &'a str,
        api_key: Option<&'a str>,
    },
    Bedrock {
        name: &'a str,
    },
}

pub(crate) fn unavailable(model_id: &str, why: String) -> ModelError {
    ModelError::Unavailable(model_id.to_string(), why)
}

/// `(name, factory)` of a model id that names its factory.
pub(crate) fn named_factory(model_id: &str) -> Result<(&str, &str), ModelError> {
    match split_model_id(model_id) {
        (name, Some(factory_name)) => Ok((name, factory_name)),
        _ => Err(unavailable(
            model_id,
            "a model id must name its factory: <model>@<factory>".to_string(),
        )),
    }
}

/// The endpoint of a provider (not built-in) model the tenant configured with `kind`.
pub(crate) fn endpoint<'a>(
    tenant: &'a Tenant,
    model_id: &'a str,
    kind: ModelType,
) -> Result<Endpoint<'a>, ModelError> {
    let (name, factory_name) = named_factory(model_id)?;
    let Some(f) = factory(factory_name) else {
        return Err(unavailable(
            model_id,
            format!("unknown model factory '{factory_name}'"),
        ));
    };
    let Some(provider) = tenant_provider(tenant, name, Some(factory_name), kind) else {
        return Err(unavailable(
            model_id,
            format!(
                "the tenant has not configured the {factory_name} provider with {} model \
                 {name}; configure the provider (API key, base URL, models) first",
                kind.as_str()
            ),
        ));
    };
    match f.protocol {
        Protocol::OpenAiCompatible => {
            let base_url = provider_base_url(provider, f).ok_or_else(|| {
                unavailable(
                    model_id,
                    format!("the {factory_name} provider has no base URL configured"),
                )
            })?;
            Ok(Endpoint::OpenAi {
                name,
                base_url,
                api_key: provider.api_key.as_deref(),
            })
        }
        Protocol::Bedrock => Ok(Endpoint::Bedrock { name }),
        Protocol::Unsupported => Err(unavailable(
            model_id,
            format!("lambdarag cannot call the {factory_name} factory yet"),
        )),
    }
}
