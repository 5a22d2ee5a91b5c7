//! The one way in and out of the API. Every request passes [`outer`], which:
//!
//! 1. authenticates the bearer token (the scheme is case-insensitive, RFC 9110);
//! 2. rate-limits: per token, or per client address and for all anonymous callers together
//!    (refusals are counted and summarised, see `limits`);
//! 3. bounds the request: target length (414), header sizes and count (431), body size (413)
//!    and the time to send the body (408);
//! 4. runs the route, whose own layer ([`route`]) authorises the role, requires the case number
//!    and purpose of personal-data routes and takes a concurrency permit (503);
//! 5. on the way out, pseudonymises JSON for analysts (the one place it happens), turns any
//!    plain-text error (axum's 405, a bad path) into the JSON error format, and
//! 6. writes the audit record — capped strings only — and makes it durable before the response
//!    leaves; if it cannot, the client gets a 500 instead of the data.
//!
//! Handlers therefore hold no preamble: they take a [`Ctx`] and return a `Result<Out, ApiError>`.

use crate::audit::{cap_str, Entry};
use crate::auth::{Denied, Role, Route, TokenRecord};
use crate::error::ApiError;
use crate::reply::{Ids, PendingJson};
use crate::session::Session;
use crate::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who is calling, as the outer layer found: for the route layer and the audit record.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub token: Result<TokenRecord, Denied>,
    pub case: String,
    pub purpose: String,
    /// The workbench session the request came with (cookie), when it had no bearer token.
    pub session: Option<(String, Session)>,
}

/// A request that passed its route's gate: who asked, for which case, by when it must finish.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub role: Role,
    /// The token's id: who made a change, in the workbench's records.
    pub token_id: String,
    pub deadline: Instant,
}

impl Ctx {
    /// Analysts see people who hold no position pseudonymised.
    pub fn pseudonymise(&self) -> bool {
        self.role == Role::Analyst
    }
}

/// The route's name, set by the route layer for the audit record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouteName(pub &'static str);

/// Who a request turned out to be when its credentials were not a token or a session (a
/// one-time sign-in link): the audit record names them.
#[derive(Clone, Debug)]
pub(crate) struct SignedIn(pub TokenRecord);

/// The stable code of an error response, for the audit record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrCode(pub &'static str);

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn header_text(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .unwrap_or_default()
}

/// The bearer token of `Authorization`, with the scheme matched case-insensitively.
fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn client_of(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The audit record of a request as far as the outer layer knows it; capped field by field.
fn entry_for(st: &AppState, req: &Request, client: &str, caller: &Caller) -> Entry {
    let mut truncated = Vec::new();
    let mut cap = |name: &str, s: &str, max: usize| {
        if s.len() > max {
            truncated.push(format!("{name}:{}", s.len()));
        }
        cap_str(s, max)
    };
    let c = &st.config;
    let (token_id, role) = match &caller.token {
        Ok(t) => (t.id.clone(), t.role.as_str().to_owned()),
        Err(_) => (String::new(), String::new()),
    };
    let path = cap("path", req.uri().path(), 1024);
    let query = cap("query", req.uri().query().unwrap_or(""), c.max_uri_bytes);
    let case = cap("case", &caller.case, c.max_case_bytes);
    let purpose = cap("purpose", &caller.purpose, c.max_case_bytes);
    Entry {
        ts: now_ms(),
        client: client.to_owned(),
        token_id,
        role,
        method: cap_str(req.method().as_str(), 16),
        route: String::new(),
        path,
        query,
        case,
        purpose,
        truncated,
        ..Entry::default()
    }
}

/// Which bound a request breaks, if any: 414 for the target, 431 for headers.
fn oversized(st: &AppState, req: &Request) -> Option<ApiError> {
    let c = &st.config;
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > c.max_uri_bytes {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "the request target is {target} bytes; the server accepts {}",
                c.max_uri_bytes
            ),
        ));
    }
    let h = req.headers();
    let total: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    let longest = h.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let case_len = ["x-case-id", "x-purpose"]
        .iter()
        .filter_map(|k| h.get(*k))
        .map(HeaderValue::len)
        .max()
        .unwrap_or(0);
    let why = if h.len() > c.max_headers {
        format!("{} headers; the server accepts {}", h.len(), c.max_headers)
    } else if total > c.max_header_total_bytes {
        format!(
            "{total} bytes of headers; the server accepts {}",
            c.max_header_total_bytes
        )
    } else if longest > c.max_header_bytes {
        format!(
            "a header of {longest} bytes; the server accepts {}",
            c.max_header_bytes
        )
    } else if case_len > c.max_case_bytes {
        format!(
            "X-Case-Id or X-Purpose of {case_len} bytes; the server accepts {}",
            c.max_case_bytes
        )
    } else {
        return None;
    };
    Some(ApiError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
        why,
    ))
}

/// The body as it goes into the audit record: its text, or its bytes in hex; capped.
fn audit_body(e: &mut Entry, bytes: &[u8], max: usize) {
    if bytes.is_empty() {
        return;
    }
    let (text, enc) = match std::str::from_utf8(bytes) {
        Ok(t) => (cap_str(t, max), "utf-8"),
        Err(_) => {
            let cut = &bytes[..bytes.len().min(max / 2)];
            (cut.iter().map(|b| format!("{b:02x}")).collect(), "hex")
        }
    };
    if bytes.len() > max || (enc == "hex" && bytes.len() > max / 2) {
        e.truncated.push(format!("body:{}", bytes.len()));
    }
    e.body = text;
    e.body_encoding = enc.into();
}

/// Reads the body within the size and time bounds.
async fn read_body(st: &AppState, body: Body) -> Result<axum::body::Bytes, ApiError> {
    let limit = st.config.max_body_bytes;
    let t = Duration::from_millis(st.config.body_timeout_ms);
    match tokio::time::timeout(t, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive in time",
        )),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e).is_some_and(
                <dyn std::error::Error + 'static>::is::<http_body_util::LengthLimitError>,
            );
            Err(if too_large {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the request body is larger than the server accepts ({limit} bytes)"),
                )
            } else {
                ApiError::bad("bad_body", "the request body could not be read")
            })
        }
        Ok(Ok(b)) => Ok(b),
    }
}

/// The outer layer: see the module documentation.
pub(crate) async fn outer(
    State(st): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let client_ip = client_of(&req);
    let client = client_ip.map(|a| a.to_string()).unwrap_or_default();
    let caller = credentials(&st, req.headers());
    let allowed = match &caller.token {
        Ok(t) => st.limits.token_allows(&t.id),
        Err(_) => client_ip.is_none_or(|a| st.limits.anonymous_allows(a)),
    };
    // Liveness and the workbench's static files: rate-limited, never audited (they hold no
    // data; the audit trail records queries, not style sheets).
    let health =
        req.uri().path() == "/healthz" || crate::ui::is_static(req.method(), req.uri().path());
    if !allowed {
        let token_id = caller.token.as_ref().map(|t| t.id.as_str()).unwrap_or("");
        if !health && st.limits.count_refusal(&client, token_id, now_ms()) {
            flush_refusals(&st).await;
        }
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; slow down",
        );
        e.retry_after = Some(1);
        return e.into_response();
    }
    if health {
        return next.run(req).await;
    }
    let mut entry = entry_for(&st, &req, &client, &caller);
    let response = match oversized(&st, &req).or_else(|| forged(&caller, &req)) {
        Some(e) => e.into_response(),
        None => {
            let (parts, body) = req.into_parts();
            match read_body(&st, body).await {
                Err(e) => e.into_response(),
                Ok(bytes) => {
                    audit_body(&mut entry, &bytes, st.config.audit_body_bytes);
                    req = Request::from_parts(parts, Body::from(bytes));
                    req.extensions_mut().insert(caller.clone());
                    next.run(req).await
                }
            }
        }
    };
    let response = shape(&st, &caller, response);
    audit(&st, entry, response).await
}

/// The credentials of a request: a bearer token, else the workbench's session cookie (its
/// token re-checked, so a revoked token ends the session); the case number and purpose from
/// the headers, else from the session.
fn credentials(st: &AppState, h: &HeaderMap) -> Caller {
    let session = match bearer(h) {
        Some(_) => None,
        None => h
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| crate::session::cookie(v, crate::session::COOKIE))
            .filter(|id| id.len() <= 128)
            .and_then(|id| st.sessions.get(id).map(|s| (id.to_owned(), s))),
    };
    let token = match (bearer(h), &session) {
        (Some(t), _) if t.len() > 256 => Err(Denied::Invalid),
        (Some(t), _) => st.tokens.check(&t),
        (None, Some((_, s))) => st.tokens.check_id(&s.token_id),
        (None, None) => Err(Denied::Missing),
    };
    let from_session = |f: fn(&Session) -> &String| {
        session
            .as_ref()
            .map(|(_, s)| f(s).clone())
            .unwrap_or_default()
    };
    let case = header_text(h, "x-case-id");
    let purpose = header_text(h, "x-purpose");
    Caller {
        token,
        case: if case.is_empty() {
            from_session(|s| &s.case)
        } else {
            case
        },
        purpose: if purpose.is_empty() {
            from_session(|s| &s.purpose)
        } else {
            purpose
        },
        session,
    }
}

/// A state-changing request made with the session cookie must echo the session's CSRF token
/// in `X-CSRF-Token`: a page on another site can make the browser send the cookie, never
/// read the token.
fn forged(caller: &Caller, req: &Request) -> Option<ApiError> {
    let (_, s) = caller.session.as_ref()?;
    let safe = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let sent = header_text(req.headers(), "x-csrf-token");
    (!safe && !crate::session::csrf_ok(s, &sent)).then(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "a change made with the session cookie needs the session's X-CSRF-Token",
        )
    })
}

/// The way out: pseudonymise and serialise pending JSON; JSON for every error.
fn shape(st: &AppState, caller: &Caller, mut r: Response) -> Response {
    if let Some(PendingJson(mut v)) = r.extensions_mut().remove::<PendingJson>() {
        if matches!(&caller.token, Ok(t) if t.role == Role::Analyst) {
            crate::pseudo::apply(st, &mut v);
        }
        let body = serde_json::to_vec(&v).unwrap_or_default();
        *r.body_mut() = Body::from(body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return r;
    }
    let status = r.status();
    let json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !json {
        // axum's own refusals (405, a path that is not UTF-8, …) in the JSON format.
        let code = match status {
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            s if s.is_server_error() => "internal",
            _ => "bad_request",
        };
        let message = status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase();
        let allow = r.headers().get(header::ALLOW).cloned();
        let ext = r.extensions().get::<RouteName>().copied();
        let mut fresh = ApiError::new(status, code, message).into_response();
        if let Some(a) = allow {
            fresh.headers_mut().insert(header::ALLOW, a);
        }
        if let Some(x) = ext {
            fresh.extensions_mut().insert(x);
        }
        return fresh;
    }
    r
}

/// Writes the record, then lets the response go; a 500 if the record cannot be made durable.
async fn audit(st: &AppState, mut entry: Entry, r: Response) -> Response {
    entry.status = r.status().as_u16();
    entry.route = r
        .extensions()
        .get::<RouteName>()
        .map_or("", |n| n.0)
        .to_owned();
    if let (true, Some(SignedIn(t))) = (entry.token_id.is_empty(), r.extensions().get()) {
        entry.token_id = t.id.clone();
        entry.role = t.role.as_str().to_owned();
    }
    entry.result = match (r.extensions().get::<Ids>(), r.extensions().get::<ErrCode>()) {
        (_, Some(ErrCode(code))) => serde_json::json!({"error": code}),
        (Some(Ids(ids)), None) => {
            let all = ids.join("\n");
            let digest = crate::sign::sha256(&serde_json::Value::String(all));
            serde_json::json!({"count": ids.len(), "ids": ids.iter().take(100).collect::<Vec<_>>(), "ids_sha256": digest})
        }
        (None, None) => serde_json::json!({}),
    };
    match st.audit.append(entry).await {
        Ok(_) => r,
        Err(e) => {
            tracing::error!("audit write failed: {e}");
            ApiError::internal("audit_failed").into_response()
        }
    }
}

/// Writes the summaries of refused requests.
pub(crate) async fn flush_refusals(st: &AppState) {
    for e in st.limits.drain_summaries() {
        if let Err(err) = st.audit.append(e).await {
            tracing::error!("audit write of a rate-limit summary failed: {err}");
        }
    }
}

/// The layer of one route: role, case number and purpose, concurrency.
pub(crate) async fn route(
    State((st, route)): State<(Arc<AppState>, Route)>,
    mut req: Request,
    next: Next,
) -> Response {
    let name = RouteName(route.as_str());
    let caller = req.extensions().get::<Caller>().cloned();
    let gate = caller
        .ok_or_else(|| ApiError::internal("no_caller"))
        .and_then(|c| admit(&st, route, &c));
    let mut r = match gate {
        Err(e) => e.into_response(),
        Ok(ctx) => match st.busy.clone().try_acquire_owned() {
            Err(_) => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "the server is at its concurrency limit; retry shortly",
                );
                e.retry_after = Some(1);
                e.into_response()
            }
            Ok(permit) => {
                req.extensions_mut().insert(ctx);
                let r = next.run(req).await;
                drop(permit);
                r
            }
        },
    };
    r.extensions_mut().insert(name);
    r
}

/// Authentication result, role and case requirement of a route, in that order.
fn admit(st: &AppState, route: Route, c: &Caller) -> Result<Ctx, ApiError> {
    let rec = c.token.as_ref().map_err(|d| match d {
        Denied::Expired => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the token has expired",
        ),
        Denied::Revoked => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_revoked",
            "the token has been revoked",
        ),
        Denied::Invalid => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "the bearer token is not valid",
        ),
        Denied::Missing => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send `Authorization: Bearer <token>`",
        ),
    })?;
    if !crate::auth::authorize(rec.role, route) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the {} role may not use {}",
                rec.role.as_str(),
                route.as_str()
            ),
        ));
    }
    if route.personal() && (c.case.is_empty() || c.purpose.is_empty()) {
        return Err(ApiError::bad(
            "case_required",
            "this route returns personal data: send X-Case-Id and X-Purpose",
        ));
    }
    Ok(Ctx {
        role: rec.role,
        token_id: rec.id.clone(),
        deadline: Instant::now() + Duration::from_millis(st.config.request_timeout_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        for v in ["Bearer abc", "bearer abc", "BEARER  abc ", "bEaReR abc"] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(v));
            assert_eq!(bearer(&h).as_deref(), Some("abc"), "{v}");
        }
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn bodies_are_kept_as_text_or_hex_and_cut_visibly() {
        let mut e = Entry::default();
        audit_body(&mut e, "{\"x\":1.5}".as_bytes(), 100);
        assert_eq!(
            (e.body.as_str(), e.body_encoding.as_str()),
            ("{\"x\":1.5}", "utf-8")
        );
        let mut e = Entry::default();
        audit_body(&mut e, &[0xff, 0x00, 0x41], 100);
        assert_eq!(
            (e.body.as_str(), e.body_encoding.as_str()),
            ("ff0041", "hex")
        );
        let mut e = Entry::default();
        audit_body(&mut e, "好".repeat(100).as_bytes(), 10);
        assert_eq!(e.body, "好好好");
        assert_eq!(e.truncated, vec!["body:300".to_owned()]);
    }
}
