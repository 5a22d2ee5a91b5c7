//! # qinglian-api
//!
//! The investigator HTTP API: the same engine as the CLI, behind authentication, one
//! authorisation function, a hash-chained audit trail made durable before every response, and
//! limits on body size, page size, hops, rate, concurrency and time. Routes are described by
//! `/v1/openapi.json` and in `docs/api.md`.

pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
mod handlers;
mod openapi;
mod pseudo;
pub mod sign;

pub use config::Config;

use auth::{Role, Route, TokenStore};
use axum::http::{HeaderMap, Method, StatusCode};
use error::ApiError;
use qinglian_engine::findings::Finding;
use qinglian_engine::snapshot::Snapshot;
use qinglian_store::{FileInfo, LoadRecord};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the server holds.
#[derive(Debug)]
pub struct AppState {
    /// The graph.
    pub snap: Arc<Snapshot>,
    /// The database folder.
    pub db: PathBuf,
    /// Store generation the snapshot reflects.
    pub generation: u64,
    /// Committed loads (data version).
    pub loads: Vec<LoadRecord>,
    /// Source files.
    pub files: Vec<FileInfo>,
    /// Screening results of every built-in rule, canonical order.
    pub findings: Arc<Vec<Finding>>,
    /// The rules they came from.
    pub rules: Vec<qinglian_rules::Rule>,
    /// Tokens.
    pub tokens: TokenStore,
    /// Audit trail.
    pub audit: audit::AuditLog,
    /// Signing key.
    pub key: sign::Key,
    /// Limits.
    pub config: Config,
    rate: Mutex<HashMap<String, (f64, Instant)>>,
    busy: Arc<tokio::sync::Semaphore>,
    /// Path-search marks handed from request to request (at most one per request in flight,
    /// which `busy` bounds): a fresh set costs 10 bytes per node of pages to fault in.
    scratch: Mutex<Vec<qinglian_engine::paths::Scratch>>,
}

impl AppState {
    /// Builds the state: the snapshot must be open; runs every built-in rule once so that
    /// `/v1/findings` answers from memory.
    pub fn new(
        snap: Snapshot,
        db: PathBuf,
        generation: u64,
        loads: Vec<LoadRecord>,
        files: Vec<FileInfo>,
        config: Config,
    ) -> Result<AppState, String> {
        let rules = qinglian_rules::builtins().map_err(|e| e.to_string())?;
        let mut findings = Vec::new();
        for r in &rules {
            let c = qinglian_engine::exec::compile(r, &snap).map_err(|e| e.to_string())?;
            findings.extend(
                qinglian_engine::exec::run(&snap, &c, &Default::default())
                    .map_err(|e| e.to_string())?
                    .findings,
            );
        }
        findings.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let audit = audit::AuditLog::open(&db)?;
        let key = sign::Key::load_or_create(&db)?;
        let busy = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1)));
        Ok(AppState {
            snap: Arc::new(snap),
            tokens: TokenStore::new(&db),
            db,
            generation,
            loads,
            files,
            findings: Arc::new(findings),
            rules,
            audit,
            key,
            config,
            rate: Mutex::new(HashMap::new()),
            busy,
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// Marks for one path search: a pooled set when one is free.
    pub fn take_scratch(&self) -> qinglian_engine::paths::Scratch {
        self.scratch
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default()
    }

    /// Returns marks to the pool.
    pub fn give_scratch(&self, s: qinglian_engine::paths::Scratch) {
        if let Ok(mut p) = self.scratch.lock() {
            if p.len() < self.config.max_concurrent.max(1) {
                p.push(s);
            }
        }
    }

    /// The data version a result depends on.
    pub fn data_version(&self) -> serde_json::Value {
        serde_json::json!({
            "generation": self.generation,
            "loads": self.loads.iter().map(|l| serde_json::json!({"number": l.number, "bundle_sha256": l.bundle_hash})).collect::<Vec<_>>(),
        })
    }
}

/// A request that passed the gate: who asked, for which case, by when it must finish.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub token_id: String,
    pub role: Role,
    pub route: Route,
    pub method: Method,
    pub path: String,
    pub case: String,
    pub purpose: String,
    pub deadline: Instant,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Ctx {
    /// Analysts see relatives' names pseudonymised.
    pub fn pseudonymise(&self) -> bool {
        self.role == Role::Analyst
    }
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The gate every authenticated route goes through. A refusal is audited too.
pub(crate) async fn gate(
    st: &AppState,
    h: &HeaderMap,
    method: &Method,
    path: &str,
    route: Route,
    params: &serde_json::Value,
) -> Result<Ctx, ApiError> {
    let case = header(h, "x-case-id");
    let purpose = header(h, "x-purpose");
    let bearer = header(h, "authorization");
    let token = bearer.strip_prefix("Bearer ").map(str::trim);
    let who = match token.map(|t| st.tokens.check(t)) {
        Some(Ok(rec)) => Ok(rec),
        Some(Err(auth::Denied::Expired)) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the token has expired",
        )),
        Some(Err(auth::Denied::Revoked)) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_revoked",
            "the token has been revoked",
        )),
        Some(Err(_)) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "the bearer token is not valid",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send `Authorization: Bearer <token>`",
        )),
    };
    let refuse = |e: ApiError, token_id: &str, role: &str| {
        let entry = audit::Entry {
            ts: now_ms(),
            token_id: token_id.to_owned(),
            role: role.to_owned(),
            method: method.to_string(),
            route: route.as_str().to_owned(),
            path: path.to_owned(),
            params: params.clone(),
            case: case.clone(),
            purpose: purpose.clone(),
            status: e.status.as_u16(),
            result: serde_json::json!({"error": e.code}),
        };
        (e, entry)
    };
    let rec = match who {
        Ok(r) => r,
        Err(e) => {
            let (e, entry) = refuse(e, "", "");
            st.audit
                .append(entry)
                .await
                .map_err(|_| ApiError::internal("audit_failed"))?;
            return Err(e);
        }
    };
    let check = || -> Result<(), ApiError> {
        if !auth::authorize(rec.role, route) {
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
        if route.personal() && (case.is_empty() || purpose.is_empty()) {
            return Err(ApiError::bad(
                "case_required",
                "this route returns personal data: send X-Case-Id and X-Purpose",
            ));
        }
        let mut rate = st
            .rate
            .lock()
            .map_err(|_| ApiError::internal("rate_limiter"))?;
        let (tokens, at) = rate
            .entry(rec.id.clone())
            .or_insert((st.config.rate_burst, Instant::now()));
        let now = Instant::now();
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * st.config.rate_per_second)
            .min(st.config.rate_burst);
        *at = now;
        if *tokens < 1.0 {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this token; slow down",
            );
            e.retry_after = Some(1);
            return Err(e);
        }
        *tokens -= 1.0;
        Ok(())
    };
    if let Err(e) = check() {
        let (e, entry) = refuse(e, &rec.id, rec.role.as_str());
        st.audit
            .append(entry)
            .await
            .map_err(|_| ApiError::internal("audit_failed"))?;
        return Err(e);
    }
    let permit = match st.busy.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the server is at its concurrency limit; retry shortly",
            );
            e.retry_after = Some(1);
            let (e, entry) = refuse(e, &rec.id, rec.role.as_str());
            st.audit
                .append(entry)
                .await
                .map_err(|_| ApiError::internal("audit_failed"))?;
            return Err(e);
        }
    };
    Ok(Ctx {
        token_id: rec.id,
        role: rec.role,
        route,
        method: method.clone(),
        path: path.to_owned(),
        case,
        purpose,
        deadline: Instant::now() + std::time::Duration::from_millis(st.config.request_timeout_ms),
        _permit: Some(permit),
    })
}

/// Writes the audit record of a finished request, then lets the response go. If the record
/// cannot be made durable, the client gets an error instead of the data.
pub(crate) async fn finish<T>(
    st: &AppState,
    ctx: &Ctx,
    params: serde_json::Value,
    result: Result<(T, Vec<String>), ApiError>,
) -> Result<T, ApiError> {
    let (status, summary) = match &result {
        Ok((_, ids)) => {
            let all = ids.join("\n");
            let digest = sign::sha256(&serde_json::Value::String(all));
            (
                200u16,
                serde_json::json!({"count": ids.len(), "ids": ids.iter().take(100).collect::<Vec<_>>(), "ids_sha256": digest}),
            )
        }
        Err(e) => (e.status.as_u16(), serde_json::json!({"error": e.code})),
    };
    let entry = audit::Entry {
        ts: now_ms(),
        token_id: ctx.token_id.clone(),
        role: ctx.role.as_str().to_owned(),
        method: ctx.method.to_string(),
        route: ctx.route.as_str().to_owned(),
        path: ctx.path.clone(),
        params,
        case: ctx.case.clone(),
        purpose: ctx.purpose.clone(),
        status,
        result: summary,
    };
    st.audit.append(entry).await.map_err(|e| {
        tracing::error!("audit write failed: {e}");
        ApiError::internal("audit_failed")
    })?;
    result.map(|(v, _)| v)
}

/// The router.
pub fn router(state: Arc<AppState>) -> axum::Router {
    handlers::router(state)
}

/// Serves until the process is stopped.
pub async fn serve(
    state: Arc<AppState>,
    addr: std::net::SocketAddr,
    ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    axum::serve(listener, router(state)).await
}
