//! The system Lambda: the group's router on the AWS adapters.

#[tokio::main]
async fn main() -> Result<(), lambdarag_aws::LambdaError> {
    lambdarag_aws::lambda::serve(fn_system::router).await
}
