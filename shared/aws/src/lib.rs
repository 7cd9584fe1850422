//! AWS adapters of lambdarag's ports and the Lambda entry helper.

pub mod lambda;

pub use lambda_http::Error as LambdaError;
