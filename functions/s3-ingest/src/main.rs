//! The S3 ingestion Lambda: staged uploads (S3 → SQS, or direct S3 events) become
//! documents with their parse queued.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambdarag_aws::lambda::init_tracing();
    let aws = lambdarag_aws::config::aws_state_from_env().await?;
    let ingest = fn_s3_ingest::Ingest::from_state(aws)?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ingest = ingest.clone();
        async move {
            fn_s3_ingest::handle_event(&ingest, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
