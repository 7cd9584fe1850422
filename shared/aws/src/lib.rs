//! AWS adapters of lambdarag's ports and the Lambda entry helpers.
//!
//! - `dynamo`: the metadata and document ports on one DynamoDB table, plus the S3
//!   ingestion's owner lookup and markers.
//! - `s3`: the blob store on S3 and the staging area of presigned uploads.
//! - `sqs`: the parse-task queue on SQS.
//! - `opensearch`: the chunk index on OpenSearch (BM25 + k-NN) over its REST API.
//! - `config`: SDK configuration and the application state from the environment.
//! - `uploads`: presigned upload URLs for files too large for a Lambda request.
//! - `lambda`: `serve` for an HTTP function's `main.rs`, `invoke` to run events in tests.
//! - `testing` (feature `testing`): test doubles and moto helpers for the AWS tests.

pub mod config;
pub mod dynamo;
pub mod lambda;
pub mod opensearch;
pub mod s3;
pub mod sqs;
#[cfg(feature = "testing")]
pub mod testing;
pub mod uploads;

pub use dynamo::DynamoStore;
pub use lambda_http::Error as LambdaError;
pub use opensearch::OpenSearchIndex;
pub use s3::S3BlobStore;
pub use sqs::SqsTaskQueue;
