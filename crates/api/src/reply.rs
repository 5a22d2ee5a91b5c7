//! What handlers return and take: a JSON value (or a file) with the ids it shows, left for the
//! guard to pseudonymise, serialise and audit on the way out; and query parameters decoded
//! strictly (invalid UTF-8 is a JSON 400, not axum's plain-text rejection).

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// A JSON answer not yet serialised: the guard pseudonymises it for analysts, then writes it.
#[derive(Clone, Debug)]
pub(crate) struct PendingJson(pub serde_json::Value);

/// The ids an answer shows, for the audit record.
#[derive(Clone, Debug)]
pub(crate) struct Ids(pub Vec<String>);

/// A handler's answer.
#[derive(Debug)]
pub(crate) enum Out {
    /// A JSON document and the ids it shows.
    Json(serde_json::Value, Vec<String>),
    /// A download: bytes, MIME type, file name, whether it was cut to the server's bound.
    File {
        body: Vec<u8>,
        mime: &'static str,
        name: String,
        truncated: bool,
        ids: Vec<String>,
    },
}

impl IntoResponse for Out {
    fn into_response(self) -> Response {
        match self {
            Out::Json(v, ids) => {
                let mut r = Response::new(axum::body::Body::empty());
                r.extensions_mut().insert(PendingJson(v));
                r.extensions_mut().insert(Ids(ids));
                r
            }
            Out::File {
                body,
                mime,
                name,
                truncated,
                ids,
            } => {
                let mut r = Response::new(axum::body::Body::from(body));
                let h = r.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
                if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
                h.insert(
                    "x-truncated",
                    HeaderValue::from_static(if truncated { "true" } else { "false" }),
                );
                r.extensions_mut().insert(Ids(ids));
                r
            }
        }
    }
}

/// Query parameters, percent-decoded; a value that is not UTF-8 is refused.
#[derive(Debug, Default)]
pub(crate) struct Params(pub HashMap<String, String>);

fn decode(s: &str) -> Result<String, ApiError> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| {
            ApiError::bad(
                "bad_query",
                "the query string is not valid UTF-8 after percent-decoding",
            )
        })
}

impl Params {
    /// Parses a raw query string.
    pub fn parse(q: &str) -> Result<Params, ApiError> {
        let mut m = HashMap::new();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            m.insert(decode(k)?, decode(v)?);
        }
        Ok(Params(m))
    }

    /// A parameter.
    pub fn get(&self, k: &str) -> Option<&String> {
        self.0.get(k)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Params::parse(parts.uri.query().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_strictly() {
        let p = Params::parse("q=%E5%90%B4+x&limit=5&flag").expect("parses");
        assert_eq!(p.get("q").map(String::as_str), Some("吴 x"));
        assert_eq!(p.get("flag").map(String::as_str), Some(""));
        let e = Params::parse("q=%FF").expect_err("invalid UTF-8");
        assert_eq!(e.code, "bad_query");
    }
}
