//! The parse worker Lambda: SQS batches of parse tasks through the pipeline.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambdarag_aws::lambda::init_tracing();
    let aws = lambdarag_aws::config::aws_state_from_env().await?;
    let worker = fn_parse_worker::Worker::from_env(aws.queue.clone());
    let state = aws.app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (state, mut worker) = (state.clone(), worker.clone());
        worker.pipeline.deadline = fn_parse_worker::deadline_of(event.context.deadline);
        async move {
            let (response, _) = fn_parse_worker::handle_with(&state, &worker, event.payload).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
