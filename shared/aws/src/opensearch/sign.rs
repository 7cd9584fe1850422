//! SigV4 for Amazon OpenSearch Service (`es`) and OpenSearch Serverless (`aoss`), with the
//! SDK's own signer over reqwest: no extra HTTP stack, no aws-lc.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use reqwest::header::{HeaderName, HeaderValue};

use lambdarag::StoreError;

/// Credentials are reused until this close to their expiry.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Signs OpenSearch requests with the function's credentials.
#[derive(Debug)]
pub struct SigV4Signer {
    provider: SharedCredentialsProvider,
    region: String,
    service: String,
    cached: Mutex<Option<Credentials>>,
}

impl SigV4Signer {
    /// `service`: `es` for a managed domain, `aoss` for a serverless collection.
    pub fn new(
        provider: SharedCredentialsProvider,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        SigV4Signer {
            provider,
            region: region.into(),
            service: service.into(),
            cached: Mutex::new(None),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    async fn credentials(&self) -> Result<Credentials, StoreError> {
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|exp| exp > SystemTime::now() + REFRESH_BEFORE)
        };
        if let Ok(guard) = self.cached.lock() {
            if let Some(c) = guard.as_ref().filter(|c| fresh(c)) {
                return Ok(c.clone());
            }
        }
        let creds = self.provider.provide_credentials().await.map_err(|e| {
            StoreError::Backend(format!(
                "no AWS credentials to sign OpenSearch requests: {e}"
            ))
        })?;
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some(creds.clone());
        }
        Ok(creds)
    }

    /// Add the SigV4 headers (`authorization`, `x-amz-date`, `x-amz-content-sha256`, and
    /// `x-amz-security-token` for temporary credentials) to a finished request.
    pub async fn sign(&self, req: &mut reqwest::Request) -> Result<(), StoreError> {
        let identity: Identity = self.credentials().await?.into();
        let mut settings = SigningSettings::default();
        // Serverless requires the payload hash header; the managed service accepts it.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| StoreError::Backend(format!("SigV4 parameters: {e}")))?
            .into();
        let body: &[u8] = req.body().and_then(|b| b.as_bytes()).unwrap_or(&[]);
        let headers: Vec<(&str, &str)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            req.method().as_str(),
            req.url().as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| StoreError::Backend(format!("SigV4 request: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| StoreError::Backend(format!("SigV4 signing failed: {e}")))?
            .into_parts();
        let (headers, _) = instructions.into_parts();
        for h in headers {
            let name = HeaderName::from_bytes(h.name().as_bytes())
                .map_err(|e| StoreError::Backend(format!("SigV4 header {}: {e}", h.name())))?;
            let value = HeaderValue::from_str(h.value())
                .map_err(|e| StoreError::Backend(format!("SigV4 header {}: {e}", h.name())))?;
            req.headers_mut().insert(name, value);
        }
        Ok(())
    }
}
