//! # qinglian-api
//!
//! The investigator HTTP API: the same engine as the CLI, behind authentication, one
//! authorisation function, a hash-chained audit trail made durable before every response, and
//! limits on body size, page size, hops, rate, concurrency and time. Routes are described by
//! `/v1/openapi.json` and in `docs/api.md`.

pub mod audit;
pub mod auth;
pub mod casebook;
pub mod clearance;
pub mod config;
pub mod error;
mod guard;
mod handlers;
mod limits;
mod openapi;
mod pseudo;
mod reply;
pub mod session;
pub mod sign;
pub mod trail;
mod ui;

pub use config::Config;
pub use error::Error;

use auth::TokenStore;
use qinglian_engine::findings::Finding;
use qinglian_engine::snapshot::Snapshot;
use qinglian_store::{FileInfo, LoadRecord};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// What the server holds.
#[derive(Debug)]
pub struct AppState {
    /// The graph.
    pub snap: Arc<Snapshot>,
    /// The database folder.
    pub db: PathBuf,
    /// Store generation the snapshot reflects.
    pub generation: qinglian_model::Generation,
    /// Committed loads (data version).
    pub loads: Vec<LoadRecord>,
    /// Source files.
    pub files: Vec<FileInfo>,
    /// Screening results of every built-in rule, canonical order.
    pub findings: Arc<Vec<Finding>>,
    /// The same rules asked before an award (`engine::hypothesis`), screened once: what the
    /// pre-award check of a tender answers from.
    pub preaward: Arc<Vec<Finding>>,
    /// The ids of the rules behind `preaward`.
    pub preaward_rules: Vec<String>,
    /// Those rules, for pre-award checks the stored findings cannot answer (`engine::proposal`).
    pub preaward_asked: Vec<qinglian_engine::hypothesis::PreAward>,
    /// The rules they came from.
    pub rules: Vec<qinglian_rules::Rule>,
    /// Tokens.
    pub tokens: TokenStore,
    /// Audit trail.
    pub audit: audit::AuditLog,
    /// Signing key.
    pub key: sign::Key,
    /// The findings store as the server started (`engine::lifecycle`): what `/v1/alerts`
    /// reads. Empty until [`AppState::with_history`].
    pub lifecycle: Arc<qinglian_engine::lifecycle::Lifecycle>,
    /// Whether `rules` are the built-in rules the findings store was recorded with (no
    /// `serve --rules`): only then can `/v1/alerts` compare the two.
    pub builtin_rules: bool,
    /// The load the server answers as of (`serve --known-at`), when not the last.
    pub known_at: Option<u32>,
    /// Limits.
    pub config: Config,
    /// The workbench's sessions.
    pub sessions: session::Sessions,
    /// The workbench's decisions and cases, opened at first use (`<db>/workbench`), or when
    /// the last attempt failed.
    casebook: Mutex<(Option<Arc<casebook::Casebook>>, Option<std::time::Instant>)>,
    /// Each finding's position in `findings` and the digest of its evidence, built at first
    /// use.
    index: OnceLock<HashMap<String, (usize, String)>>,
    limits: limits::Limits,
    busy: Arc<tokio::sync::Semaphore>,
    /// Path-search marks handed from request to request (at most one per request in flight,
    /// which `busy` bounds): a fresh set costs 10 bytes per node of pages to fault in.
    scratch: Mutex<Vec<qinglian_engine::paths::Scratch>>,
}

impl AppState {
    /// Builds the state: the snapshot must be open; screens with `rules` (the built-in rules,
    /// or those overridden by `serve --rules`) once, through the same entry point as the CLI,
    /// so that `/v1/findings` answers from memory.
    pub fn new(
        snap: Snapshot,
        db: PathBuf,
        generation: qinglian_model::Generation,
        loads: Vec<LoadRecord>,
        files: Vec<FileInfo>,
        config: Config,
        rules: Vec<qinglian_rules::Rule>,
    ) -> Result<AppState, Error> {
        let findings = qinglian_engine::screen(&snap, &rules, &Default::default())?.findings;
        AppState::with_findings(
            snap,
            db,
            (generation, loads, files),
            config,
            rules,
            findings,
        )
    }

    /// Builds the state with findings already screened: those of a screening imported into
    /// the findings store (`qinglian findings import`, re-derived by the engine from their
    /// keys), which the server then answers with instead of screening the whole graph.
    pub fn with_findings(
        snap: Snapshot,
        db: PathBuf,
        (generation, loads, files): (qinglian_model::Generation, Vec<LoadRecord>, Vec<FileInfo>),
        config: Config,
        rules: Vec<qinglian_rules::Rule>,
        findings: Vec<Finding>,
    ) -> Result<AppState, Error> {
        let preaward_asked = qinglian_engine::hypothesis::pre_award_rules(&rules);
        let asked: Vec<qinglian_rules::Rule> =
            preaward_asked.iter().map(|p| p.rule().clone()).collect();
        let preaward = qinglian_engine::screen(&snap, &asked, &Default::default())?.findings;
        let preaward_rules = asked.iter().map(|r| r.id.clone()).collect();
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
            preaward: Arc::new(preaward),
            preaward_rules,
            preaward_asked,
            rules,
            audit,
            key,
            lifecycle: Arc::default(),
            builtin_rules: false,
            known_at: None,
            limits: limits::Limits::new(&config),
            sessions: session::Sessions::new(std::time::Duration::from_secs(
                config.session_idle_minutes.max(1) * 60,
            )),
            casebook: Mutex::new((None, None)),
            index: OnceLock::new(),
            config,
            busy,
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// The findings store, whether the rules are the built-in ones, and the load answered as
    /// of when the server shows the past (`serve --known-at`).
    pub fn with_history(
        mut self,
        lifecycle: qinglian_engine::lifecycle::Lifecycle,
        builtin_rules: bool,
        known_at: Option<u32>,
    ) -> AppState {
        self.lifecycle = Arc::new(lifecycle);
        self.builtin_rules = builtin_rules;
        self.known_at = known_at;
        self
    }

    /// The load whose data the server answers with: the last one, or `serve --known-at`'s.
    pub fn load(&self) -> u32 {
        self.known_at
            .or_else(|| self.loads.iter().map(|l| l.number).max())
            .unwrap_or(0)
    }

    /// The workbench store, opened on first use; an error when it cannot be (another server
    /// holds it), tried again a minute later.
    pub fn casebook(&self) -> Result<Arc<casebook::Casebook>, Error> {
        let mut slot = self
            .casebook
            .lock()
            .map_err(|_| Error::Config("workbench store lock poisoned".into()))?;
        if let Some(c) = slot.0.as_ref() {
            return Ok(c.clone());
        }
        let dir = self.db.join("workbench");
        // Opening waits out a held lock (seconds): after a failure, requests do not wait again
        // for a minute.
        if slot
            .1
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(60))
        {
            return Err(Error::Config(format!(
                "{}: held by another process (tried less than a minute ago)",
                dir.display()
            )));
        }
        let store = qinglian_store::SledStore::open(&dir).map_err(|e| {
            slot.1 = Some(std::time::Instant::now());
            Error::Config(format!("{}: {e}", dir.display()))
        })?;
        let c = Arc::new(casebook::Casebook::new(Box::new(store)));
        *slot = (Some(c.clone()), None);
        Ok(c)
    }

    fn index(&self) -> &HashMap<String, (usize, String)> {
        self.index.get_or_init(|| {
            self.findings
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let d = qinglian_engine::lifecycle::digest(f)
                        .map(|d| format!("{d:032x}"))
                        .unwrap_or_default();
                    (f.id.clone(), (i, d))
                })
                .collect()
        })
    }

    /// A finding of the current screening by id.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.index().get(id).map(|(i, _)| &self.findings[*i])
    }

    /// The digest of a current finding's evidence (what a dismissal is tied to).
    pub fn digest_of(&self, id: &str) -> Option<String> {
        self.index().get(id).map(|(_, d)| d.clone())
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
        let mut v = serde_json::json!({
            "generation": self.generation,
            "loads": self.loads.iter().map(|l| serde_json::json!({"number": l.number, "bundle_sha256": l.bundle_hash})).collect::<Vec<_>>(),
        });
        if let Some(k) = self.known_at {
            v["known_at"] = k.into();
        }
        v
    }
}

/// The router.
pub fn router(state: Arc<AppState>) -> axum::Router {
    handlers::router(state)
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time_text(unix_secs: u64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix_secs.min(i64::MAX as u64) as i64)
    else {
        return unix_secs.to_string();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Serves until the process is stopped: HTTP/1.1 over hyper, with a bound on open connections,
/// on the time a client has to send its headers (slow clients are cut off), and a task that
/// writes the summaries of rate-limited requests to the audit trail.
pub async fn serve(
    state: Arc<AppState>,
    addr: std::net::SocketAddr,
    ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    let app = router(state.clone());
    let every = std::time::Duration::from_secs(state.config.flood_summary_secs.max(1));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            guard::flush_refusals(&st).await;
        }
    });
    let conns = Arc::new(tokio::sync::Semaphore::new(
        state.config.max_connections.max(1),
    ));
    let header_timeout = std::time::Duration::from_millis(state.config.header_timeout_ms.max(1));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = conns.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let app = app.clone();
        let svc =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!("connection from {peer}: {e}");
            }
            drop(permit);
        });
    }
}
