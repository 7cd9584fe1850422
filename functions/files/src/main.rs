//! The files Lambda: the file manager's router on the AWS adapters.

#[tokio::main]
async fn main() -> Result<(), lambdarag_aws::LambdaError> {
    lambdarag_aws::lambda::serve(fn_files::router).await
}
