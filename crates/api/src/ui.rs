//! The workbench in the browser: its static files (embedded in the binary, nothing fetched at
//! run time — the offices' networks are closed), the sign-in that exchanges a token for a
//! session cookie, the case context kept in the session, and one-time sign-in links.
//!
//! The page itself is a small script (`ui/app.js`) that reads the same `/v1` routes as any
//! client: the guard authenticates the session cookie as it does a bearer token, so roles,
//! limits, pseudonymisation and the audit trail are the API's own, in one place. Every page is
//! served with a strict Content-Security-Policy (scripts and styles from this server only, no
//! inline code), so an injected name in the data cannot run as script.

use crate::auth::Route;
use crate::error::ApiError;
use crate::guard::{Caller, Ctx, RouteName, SignedIn};
use crate::session::COOKIE;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::json;
use std::sync::Arc;

type St = State<Arc<AppState>>;

/// The Content-Security-Policy of every workbench response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The embedded files: path under `/ui/assets/`, MIME type, bytes.
const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../ui/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../ui/app.css"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../ui/i18n.js"),
    ),
    (
        "vendor/cytoscape.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../ui/vendor/cytoscape.min.js"),
    ),
];

const SHELL: &[u8] = include_bytes!("../ui/index.html");

/// Whether a request is for the page shell or a static file: no data, so the guard neither
/// authenticates nor audits it (it is still rate-limited).
pub(crate) fn is_static(m: &Method, path: &str) -> bool {
    let ui = path == "/ui" || path.starts_with("/ui/");
    (m == Method::GET || m == Method::HEAD)
        && ui
        && !path.starts_with("/ui/session")
        && !path.starts_with("/ui/login/")
}

fn hardened(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn bytes(mime: &'static str, body: &'static [u8]) -> Response {
    let mut r = Response::new(axum::body::Body::from(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    hardened(r)
}

/// Every page of the workbench is the same shell; the script reads the address.
pub(crate) async fn shell() -> Response {
    bytes("text/html; charset=utf-8", SHELL)
}

/// A static file.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == file) {
        Some((_, mime, body)) => bytes(mime, body),
        None => hardened(ApiError::not_found("no such file").into_response()),
    }
}

fn cookie(st: &AppState, value: &str, max_age: Option<u64>) -> HeaderValue {
    let secure = if st.config.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let age = max_age.map_or(String::new(), |a| format!("; Max-Age={a}"));
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("ql_session=; Max-Age=0"))
}

fn view(
    st: &AppState,
    role: &str,
    token_id: &str,
    s: Option<&crate::session::Session>,
) -> Response {
    let v = json!({
        "role": role, "token_id": token_id,
        "case": s.map_or("", |s| s.case.as_str()), "purpose": s.map_or("", |s| s.purpose.as_str()),
        "csrf": s.map_or("", |s| s.csrf.as_str()),
        "idle_timeout_secs": st.sessions.idle().as_secs(),
    });
    let mut r = axum::Json(v).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /ui/session`: who the session is, its case and its CSRF token.
pub(crate) async fn session_get(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Extension(c): Extension<Caller>,
) -> Response {
    view(
        &st,
        ctx.role.as_str(),
        &ctx.token_id,
        c.session.as_ref().map(|(_, s)| s),
    )
}

/// `POST /ui/session` with `Authorization: Bearer …`: opens a session and sets its cookie.
/// The token travels in the header, never in the body, so the audit trail (which keeps
/// bodies) never holds it.
pub(crate) async fn sign_in(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Extension(c): Extension<Caller>,
) -> Response {
    if let Some((_, s)) = &c.session {
        return view(&st, ctx.role.as_str(), &ctx.token_id, Some(s));
    }
    let id = st.sessions.open(&ctx.token_id);
    let s = st.sessions.get(&id);
    let mut r = view(&st, ctx.role.as_str(), &ctx.token_id, s.as_ref());
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie(&st, &id, None));
    r
}

/// Case text: trimmed, printable, within the header bound the API puts on `X-Case-Id`.
fn case_text(st: &AppState, v: &serde_json::Value, k: &str) -> Result<String, ApiError> {
    let s = v[k].as_str().map(str::trim).unwrap_or("");
    if s.is_empty() || s.len() > st.config.max_case_bytes || s.chars().any(char::is_control) {
        return Err(ApiError::bad(
            "bad_parameter",
            format!(
                "{k}: 1 to {} bytes of printable text",
                st.config.max_case_bytes
            ),
        ));
    }
    Ok(s.to_owned())
}

/// `POST /ui/session/case` `{"case", "purpose"}`: the case every later request is audited
/// under, until switched.
pub(crate) async fn set_case(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (id, _) = c
        .session
        .as_ref()
        .ok_or_else(|| ApiError::bad("no_session", "sign in to the workbench first"))?;
    let v = crate::handlers::body_object(&body)?;
    let case = case_text(&st, &v, "case")?;
    let purpose = case_text(&st, &v, "purpose")?;
    st.sessions.set_case(id, &case, &purpose);
    let s = st.sessions.get(id);
    Ok(view(&st, ctx.role.as_str(), &ctx.token_id, s.as_ref()))
}

/// `POST /ui/session/end`: signs out.
pub(crate) async fn sign_out(State(st): St, Extension(c): Extension<Caller>) -> Response {
    if let Some((id, _)) = &c.session {
        st.sessions.close(id);
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie(&st, "", Some(0)));
    r
}

/// `GET /ui/login/{code}`: a one-time sign-in link (`serve --demo`): opens a session for the
/// code's token and sends the browser to the workbench. A used or unknown code leads to the
/// sign-in page.
pub(crate) async fn login_link(State(st): St, Path(code): Path<String>) -> Response {
    let rec = st
        .sessions
        .redeem(&code)
        .and_then(|t| st.tokens.check_id(&t).ok());
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    match &rec {
        Some(t) => {
            let id = st.sessions.open(&t.id);
            h.insert(header::SET_COOKIE, cookie(&st, &id, None));
            h.insert(header::LOCATION, HeaderValue::from_static("/ui/"));
        }
        None => {
            h.insert(header::LOCATION, HeaderValue::from_static("/ui/?link=used"));
        }
    }
    r.extensions_mut()
        .insert(RouteName(Route::Session.as_str()));
    if let Some(t) = rec {
        r.extensions_mut().insert(SignedIn(t));
    }
    r
}
