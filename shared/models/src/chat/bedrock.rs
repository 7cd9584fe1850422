//! Chat on AWS Bedrock with ConverseStream (feature `bedrock`), with the deployment's AWS
//! credentials. One API for every Bedrock chat model (Anthropic, Amazon Nova, Meta, ...):
//! system prompts go in `system`, the conversation in `messages`, and the answer streams as
//! `contentBlockDelta` events (text, or reasoning text for reasoning models), followed by a
//! `metadata` event with the token usage.
//!
//! The SDK retries throttling and transient errors itself (standard mode, 3 attempts)
//! before the stream starts.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_bedrockruntime::error::DisplayErrorContext;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput,
    InferenceConfiguration, Message, ReasoningContentBlockDelta, SystemContentBlock,
};
use aws_sdk_bedrockruntime::Client;
use aws_smithy_http_client::{tls, Builder};
use lambdarag::ports::chat::{
    channel_stream, ChatDelta, ChatMessage, ChatModel, DeltaStream, GenOptions, Usage,
};
use lambdarag::ports::ModelError;
use tokio::sync::{mpsc, OnceCell};

/// A Bedrock client built on first use (from the environment) or from a given config, and
/// shared by every Bedrock chat model of a registry.
#[derive(Clone, Default)]
pub struct BedrockChatClient {
    cell: Arc<OnceCell<Client>>,
}

impl BedrockChatClient {
    pub fn from_config(conf: &SdkConfig) -> Self {
        let cell = OnceCell::new();
        // A fresh cell cannot be full, so this cannot fail.
        let _ = cell.set(Client::new(conf));
        BedrockChatClient {
            cell: Arc::new(cell),
        }
    }

    async fn get(&self) -> &Client {
        self.cell
            .get_or_init(|| async {
                // rustls + ring: the SDK's default TLS stack pulls aws-lc-sys (a slow C build).
                let http = Builder::new()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let conf = aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http)
                    .load()
                    .await;
                Client::new(&conf)
            })
            .await
    }
}

/// A Bedrock chat model.
pub struct BedrockChat {
    model_id: String,
    bedrock_model: String,
    client: BedrockChatClient,
}

impl BedrockChat {
    pub fn new(client: BedrockChatClient, model_id: String, bedrock_model: &str) -> Self {
        BedrockChat {
            model_id,
            bedrock_model: bedrock_model.to_string(),
            client,
        }
    }
}

fn provider(model_id: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError::Provider(format!("{model_id}: {e}"))
}

#[async_trait]
impl ChatModel for BedrockChat {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn stream(
        &self,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        let mut system = Vec::new();
        let mut conversation = Vec::new();
        for m in messages {
            match m.role.as_str() {
                "system" => system.push(SystemContentBlock::Text(m.content.clone())),
                role => {
                    let role = if role == "assistant" {
                        ConversationRole::Assistant
                    } else {
                        ConversationRole::User
                    };
                    let msg = Message::builder()
                        .role(role)
                        .content(ContentBlock::Text(m.content.clone()))
                        .build()
                        .map_err(|e| provider(&self.model_id, e))?;
                    conversation.push(msg);
                }
            }
        }
        let mut inference = InferenceConfiguration::builder();
        if let Some(t) = opts.temperature {
            inference = inference.temperature(t as f32);
        }
        if let Some(p) = opts.top_p {
            inference = inference.top_p(p as f32);
        }
        if let Some(n) = opts.max_tokens {
            inference = inference.max_tokens(i32::try_from(n).unwrap_or(i32::MAX));
        }
        let client = self.client.get().await;
        let output = client
            .converse_stream()
            .model_id(&self.bedrock_model)
            .set_system((!system.is_empty()).then_some(system))
            .set_messages(Some(conversation))
            .inference_config(inference.build())
            .send()
            .await
            .map_err(|e| provider(&self.model_id, DisplayErrorContext(e)))?;
        let mut events = output.stream;
        let model_id = self.model_id.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let delta = match events.recv().await {
                    Ok(None) => return,
                    Err(e) => Err(provider(&model_id, DisplayErrorContext(e))),
                    Ok(Some(ConverseStreamOutput::ContentBlockDelta(ev))) => match ev.delta {
                        Some(ContentBlockDelta::Text(t)) => Ok(ChatDelta::text(t)),
                        Some(ContentBlockDelta::ReasoningContent(
                            ReasoningContentBlockDelta::Text(t),
                        )) => Ok(ChatDelta::reasoning(t)),
                        _ => continue,
                    },
                    Ok(Some(ConverseStreamOutput::Metadata(meta))) => match meta.usage {
                        Some(u) => Ok(ChatDelta {
                            usage: Some(Usage {
                                prompt_tokens: u.input_tokens.max(0) as u64,
                                completion_tokens: u.output_tokens.max(0) as u64,
                                total_tokens: u.total_tokens.max(0) as u64,
                            }),
                            ..Default::default()
                        }),
                        None => continue,
                    },
                    Ok(Some(_)) => continue,
                };
                let failed = delta.is_err();
                if tx.send(delta).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(channel_stream(rx))
    }
}
