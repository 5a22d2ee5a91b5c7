//! API errors: JSON with a stable code, never a panic or a stack trace.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What the crate's public functions fail with (an HTTP answer is an [`ApiError`]). The
/// messages name the file and what to do; callers at the edge print them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The audit trail cannot be opened, verified, written or sealed.
    #[error("{0}")]
    Audit(String),
    /// The token file cannot be read or changed.
    #[error("{0}")]
    Tokens(String),
    /// The server configuration file.
    #[error("{0}")]
    Config(String),
    /// The signing key.
    #[error("{0}")]
    Key(String),
    /// A built-in rule does not check.
    #[error(transparent)]
    Rules(#[from] qinglian_rules::RuleError),
    /// Screening failed.
    #[error(transparent)]
    Engine(#[from] qinglian_engine::EngineError),
}

/// An error as a client sees it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What happened, in words.
    pub message: String,
    /// Seconds to wait before retrying (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 without internals.
    pub fn internal(code: &'static str) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            "the server could not complete the request; see the server log",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        r.extensions_mut().insert(crate::guard::ErrCode(self.code));
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
        }
        r
    }
}
