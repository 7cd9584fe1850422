//! The `{code, message, data}` envelope and the RetCode table.
//!
//! Upstream answers API errors with HTTP 200 and the code in the body; clients (the official
//! SDK included) read only the body, so we keep that. Several envelope "builders" exist
//! upstream and they differ in which keys are present; `Shape` names them.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// Upstream's `RetCode` values (common/constants.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetCode {
    Success = 0,
    ExceptionError = 100,
    ArgumentError = 101,
    DataError = 102,
    OperatingError = 103,
    PermissionError = 108,
    AuthenticationError = 109,
    BadRequest = 400,
    Unauthorized = 401,
    Forbidden = 403,
    NotFound = 404,
    Conflict = 409,
    ServerError = 500,
}

impl RetCode {
    pub fn as_i64(self) -> i64 {
        self as i64
    }
}

/// Which upstream builder an error reply imitates (the key set differs).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `get_result` / `get_error_data_result`: `{code, message}`, no `data` key.
    CodeMessage,
    /// `get_json_result`: `{code, message, data}` with the given data (often `null` or `false`).
    WithData(Value),
    /// `build_error_result` (Dify): `{code, message}` with HTTP status = code.
    HttpStatus,
}

/// An error reply. Every failure a handler can produce ends up as one of these, and
/// `IntoResponse` is the single place that turns it into HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: i64,
    pub message: String,
    pub shape: Shape,
    /// HTTP status; 200 unless the contract says otherwise.
    pub status: u16,
}

impl ApiError {
    pub fn new(code: RetCode, message: impl Into<String>) -> Self {
        ApiError {
            code: code.as_i64(),
            message: message.into(),
            shape: Shape::CodeMessage,
            status: 200,
        }
    }
    /// 101, the `get_error_argument_result` builder.
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(RetCode::ArgumentError, message)
    }
    /// 102, the `get_error_data_result` builder.
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(RetCode::DataError, message)
    }
    /// 108, the `get_error_permission_result` builder.
    pub fn permission(message: impl Into<String>) -> Self {
        Self::new(RetCode::PermissionError, message)
    }
    /// 100 with a Python-exception-like message, as upstream's catch-all handler renders it.
    pub fn exception(message: impl Into<String>) -> Self {
        Self::new(RetCode::ExceptionError, message).with_data(Value::Null)
    }
    pub fn with_data(mut self, data: Value) -> Self {
        self.shape = Shape::WithData(data);
        self
    }
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    /// Dify's builder: HTTP status equals the code, no data key.
    pub fn http(code: RetCode, message: impl Into<String>) -> Self {
        let code = code.as_i64();
        ApiError {
            code,
            message: message.into(),
            shape: Shape::HttpStatus,
            status: u16::try_from(code).unwrap_or(500),
        }
    }

    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code));
        m.insert("message".into(), json!(self.message));
        if let Shape::WithData(d) = &self.shape {
            m.insert("data".into(), d.clone());
        }
        Value::Object(m)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        json_response(status, &self.body())
    }
}

/// Serialise a JSON body with the content type upstream's `jsonify` uses.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    bytes_response(
        status,
        serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
    )
}

fn bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `get_result(data=...)`: `{"code":0,"data":X}`.
pub fn ok(data: Value) -> Response {
    json_response(StatusCode::OK, &json!({"code": 0, "data": data}))
}

/// `get_result(data=...)` for data written straight from a `Serialize` value (no tree).
pub fn ok_serialized<T: serde::Serialize>(data: &T) -> Response {
    #[derive(serde::Serialize)]
    struct Envelope<'a, T> {
        code: u8,
        data: &'a T,
    }
    match serde_json::to_vec(&Envelope { code: 0, data }) {
        Ok(bytes) => bytes_response(StatusCode::OK, bytes),
        Err(e) => ApiError::exception(e.to_string()).into_response(),
    }
}

/// `get_result()` with no data: `{"code":0}`.
pub fn ok_empty() -> Response {
    json_response(StatusCode::OK, &json!({"code": 0}))
}

/// `get_result(data=..., total=N)` as the dataset list renders it: a top-level `total_datasets`.
pub fn ok_with_total_datasets(data: Value, total: u64) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"code": 0, "data": data, "total_datasets": total}),
    )
}

/// `get_json_result(data=...)`: `{"code":0,"message":"success","data":X}`.
pub fn ok_json(data: Value) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"code": 0, "message": "success", "data": data}),
    )
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shapes_follow_the_builders() {
        assert_eq!(
            ApiError::data("x").body(),
            json!({"code": 102, "message": "x"})
        );
        assert_eq!(
            ApiError::exception("boom").body(),
            json!({"code": 100, "message": "boom", "data": null})
        );
        let e = ApiError::http(RetCode::Forbidden, "API-KEY is invalid!");
        assert_eq!(e.status, 403);
        assert_eq!(
            e.body(),
            json!({"code": 403, "message": "API-KEY is invalid!"})
        );
        let auth = ApiError::new(RetCode::Success, "`Authorization` can't be empty")
            .with_data(json!(false));
        assert_eq!(
            auth.body(),
            json!({"code": 0, "message": "`Authorization` can't be empty", "data": false})
        );
    }
}
