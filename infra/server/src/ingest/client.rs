//! The few `/api/v1` calls `lambdarag ingest` makes, over HTTP, so the same command drives
//! the embedded server and the AWS deployment.

use std::time::Duration;

use serde_json::{json, Value};

use super::plan::RemoteDoc;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer (connection refused, timeout, a reply cut off): the request may or may not
    /// have taken effect.
    #[error("{0}")]
    Transport(String),
    /// The API answered with an error envelope.
    #[error("{message} (code {code})")]
    Api { code: i64, message: String },
    /// The answer is not the API's envelope.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

/// A dataset as the ingest needs it.
#[derive(Debug, Clone)]
pub struct RemoteDataset {
    pub id: String,
    pub name: String,
    pub chunk_method: String,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// Documents listed per request.
const PAGE_SIZE: usize = 100;

impl Client {
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Generous: an upload request carries a few MB, and a Lambda may cold-start.
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            key: api_key.to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let res = req
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| ClientError::Transport(transport_text(&e)))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(transport_text(&e)))?;
        let v: Value = serde_json::from_slice(&body).map_err(|_| {
            ClientError::Protocol(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ))
        })?;
        let code = v.get("code").and_then(Value::as_i64).ok_or_else(|| {
            ClientError::Protocol(format!("HTTP {status}: no `code` in the answer"))
        })?;
        if code != 0 {
            let message = v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("Error")
                .to_string();
            return Err(ClientError::Api { code, message });
        }
        Ok(v.get("data").cloned().unwrap_or(Value::Null))
    }

    /// The caller's dataset of that exact name, if any.
    pub async fn find_dataset(&self, name: &str) -> Result<Option<RemoteDataset>, ClientError> {
        let req = self
            .http
            .get(self.url("/datasets"))
            .query(&[("name", name), ("page_size", "1")]);
        match self.send(req).await {
            Ok(data) => Ok(data.as_array().and_then(|a| a.first()).and_then(dataset_of)),
            // The name filter answers "lacks permission" (108) when nothing matches.
            Err(ClientError::Api { code: 108, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn create_dataset(
        &self,
        name: &str,
        chunk_method: Option<&str>,
    ) -> Result<RemoteDataset, ClientError> {
        let mut body = json!({ "name": name });
        if let Some(m) = chunk_method {
            body["chunk_method"] = json!(m);
        }
        let data = self
            .send(self.http.post(self.url("/datasets")).json(&body))
            .await?;
        dataset_of(&data).ok_or_else(|| ClientError::Protocol("no dataset in the answer".into()))
    }

    /// Every document of the dataset, oldest first.
    pub async fn list_documents(&self, dataset_id: &str) -> Result<Vec<RemoteDoc>, ClientError> {
        let mut out = Vec::new();
        for page in 1.. {
            let req = self
                .http
                .get(self.url(&format!("/datasets/{dataset_id}/documents")))
                .query(&[
                    ("page", page.to_string()),
                    ("page_size", PAGE_SIZE.to_string()),
                    ("orderby", "create_time".into()),
                    ("desc", "false".into()),
                ]);
            let data = self.send(req).await?;
            let docs = data
                .get("docs")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = docs.len();
            out.extend(docs.iter().filter_map(remote_doc));
            let total = data.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
            if n < PAGE_SIZE || out.len() >= total {
                break;
            }
        }
        Ok(out)
    }

    /// Upload files in one request; the documents come back in the files' order.
    pub async fn upload(
        &self,
        dataset_id: &str,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<Vec<RemoteDoc>, ClientError> {
        let boundary = format!("lambdarag-{}", uuid::Uuid::new_v4().simple());
        let body = multipart_body(&boundary, &files);
        let req = self
            .http
            .post(self.url(&format!("/datasets/{dataset_id}/documents")))
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        let data = self.send(req).await?;
        Ok(data
            .as_array()
            .map(|a| a.iter().filter_map(remote_doc).collect())
            .unwrap_or_default())
    }

    /// Start parsing documents.
    pub async fn parse(&self, dataset_id: &str, ids: &[String]) -> Result<(), ClientError> {
        let req = self
            .http
            .post(self.url(&format!("/datasets/{dataset_id}/chunks")))
            .json(&json!({ "document_ids": ids }));
        self.send(req).await.map(|_| ())
    }
}

fn transport_text(e: &reqwest::Error) -> String {
    // reqwest's top-level text is terse ("error sending request"); the cause says why.
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text = format!("{text}: {s}");
        src = s.source();
    }
    text
}

fn dataset_of(v: &Value) -> Option<RemoteDataset> {
    Some(RemoteDataset {
        id: v.get("id")?.as_str()?.to_string(),
        name: v.get("name")?.as_str()?.to_string(),
        chunk_method: v
            .get("chunk_method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}

fn remote_doc(v: &Value) -> Option<RemoteDoc> {
    let num = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    Some(RemoteDoc {
        id: v.get("id")?.as_str()?.to_string(),
        name: v.get("name")?.as_str()?.to_string(),
        size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        run: v
            .get("run")
            .and_then(Value::as_str)
            .unwrap_or("UNSTART")
            .to_string(),
        progress: num("progress"),
        progress_msg: v
            .get("progress_msg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        chunk_count: num("chunk_count") as u64,
        token_count: num("token_count") as u64,
    })
}

/// A `multipart/form-data` body of `file` parts, as a browser sends it: the name raw UTF-8
/// in `filename="…"`, with `"`, CR and LF percent-encoded (the HTML spec's escaping).
/// Built by hand rather than through reqwest's `multipart` feature: enabling it would
/// rebuild reqwest for every crate of the workspace for ~20 lines.
pub fn multipart_body(boundary: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(files.iter().map(|f| f.1.len() + 200).sum());
    for (name, bytes) in files {
        let escaped = name
            .replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{escaped}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_are_well_formed() {
        let body = multipart_body(
            "B",
            &[
                ("a \"q\".txt".into(), b"hi".to_vec()),
                ("中.md".into(), vec![]),
            ],
        );
        let text = String::from_utf8(body).expect("utf8");
        assert_eq!(
            text,
            "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22q%22.txt\"\r\n\
             Content-Type: application/octet-stream\r\n\r\nhi\r\n\
             --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"中.md\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n"
        );
    }
}
