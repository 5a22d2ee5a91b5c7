//! The routes, by group: `graph` (entities, paths, subgraphs), `screening` (pre-award screening,
//! findings, alerts, risk, evidence, clearances) and `admin` (tokens, loads, the audit trail). Every
//! route is declared here once, with the [`Route`] its gate and audit record use; the guard
//! (`crate::guard`) wraps them all.

mod admin;
mod declarations;
mod graph;
pub(crate) use graph::MAX_QUERY_CHARS;
mod screening;
pub(crate) use screening::body_object;
mod workbench;

use crate::auth::Route;
use crate::error::ApiError;
use crate::guard::Ctx;
use crate::reply::{Out, Params};
use crate::AppState;
use axum::middleware::{from_fn_with_state, Next};
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;
use qinglian_engine::snapshot::flag;
use qinglian_model::{Date, NodeKind};
use std::sync::Arc;

type St = axum::extract::State<Arc<AppState>>;
type Answer = Result<Out, ApiError>;

/// A route behind its gate.
fn gated(
    st: &Arc<AppState>,
    route: Route,
    m: MethodRouter<Arc<AppState>>,
) -> MethodRouter<Arc<AppState>> {
    m.layer(from_fn_with_state(
        (st.clone(), route),
        |s, req, next: Next| crate::guard::route(s, req, next),
    ))
}

pub(crate) fn router(st: Arc<AppState>) -> Router {
    let g = |route, m| gated(&st, route, m);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/openapi.json", g(Route::OpenApi, get(openapi)))
        .route("/v1/entities", g(Route::Search, get(graph::search)))
        .route("/v1/entities/{id}", g(Route::Entity, get(graph::entity)))
        .route("/v1/paths", g(Route::Paths, get(graph::paths)))
        .route("/v1/subgraph", g(Route::Subgraph, get(graph::subgraph)))
        .route("/v1/screen", g(Route::Screen, post(screening::screen)))
        .route("/v1/findings", g(Route::Findings, get(screening::findings)))
        .route(
            "/v1/findings/summary",
            g(Route::Summary, get(workbench::summary)),
        )
        .route(
            "/v1/findings/{id}",
            g(Route::Findings, get(workbench::finding_one)),
        )
        .route(
            "/v1/findings/{id}/state",
            g(Route::Triage, post(workbench::finding_state)),
        )
        .route(
            "/v1/cases",
            g(Route::Cases, get(workbench::cases))
                .merge(g(Route::CaseEdit, post(workbench::case_create))),
        )
        .route(
            "/v1/cases/{number}",
            g(Route::Cases, get(workbench::case_get))
                .merge(g(Route::CaseEdit, post(workbench::case_change))),
        )
        .route(
            "/v1/cases/{number}/audit",
            g(Route::CaseAudit, get(workbench::case_audit)),
        )
        .route(
            "/ui/session",
            g(
                Route::Session,
                get(crate::ui::session_get).post(crate::ui::sign_in),
            ),
        )
        .route(
            "/ui/session/case",
            g(Route::Session, post(crate::ui::set_case)),
        )
        .route(
            "/ui/session/end",
            g(Route::Session, post(crate::ui::sign_out)),
        )
        .route("/ui/login/{code}", get(crate::ui::login_link))
        .route("/ui/assets/{*file}", get(crate::ui::asset))
        .route("/ui", get(crate::ui::shell))
        .route("/ui/", get(crate::ui::shell))
        .route("/ui/{*view}", get(crate::ui::shell))
        .route("/v1/alerts", g(Route::Alerts, get(screening::alerts)))
        .route(
            "/v1/officials/{id}/risk",
            g(Route::OfficialRisk, get(screening::official_risk)),
        )
        .route(
            "/v1/declarations/sample",
            g(Route::Declarations, get(declarations::sample)),
        )
        .route(
            "/v1/officials/{id}/declarations",
            g(Route::Declarations, get(declarations::sheet)),
        )
        .route(
            "/v1/evidence/{finding}",
            g(Route::Evidence, post(screening::evidence)),
        )
        .route(
            "/v1/clearances/verify",
            g(Route::VerifyClearance, post(screening::verify_clearance)),
        )
        .route(
            "/v1/admin/tokens",
            g(
                Route::Tokens,
                get(admin::list_tokens).post(admin::create_token),
            ),
        )
        .route(
            "/v1/admin/tokens/{id}",
            g(Route::Tokens, delete(admin::revoke_token)),
        )
        .route("/v1/admin/loads", g(Route::Loads, get(admin::loads)))
        .route("/v1/audit", g(Route::Audit, get(admin::audit_list)))
        .route(
            "/v1/audit/verify",
            g(Route::Audit, get(admin::audit_verify)),
        )
        .fallback(|| async { ApiError::not_found("no such route; see /v1/openapi.json") })
        .layer(from_fn_with_state(st.clone(), crate::guard::outer))
        .with_state(st)
}

async fn healthz(axum::extract::State(st): St) -> axum::Json<serde_json::Value> {
    axum::Json(
        serde_json::json!({"status": "ok", "nodes": st.snap.node_count(), "generation": st.generation}),
    )
}

async fn openapi(axum::extract::State(st): St) -> Answer {
    Ok(Out::Json(
        crate::openapi::document(&st.config, st.load()),
        Vec::new(),
    ))
}

/// Runs engine work on the blocking pool, bounded by the request's deadline (the engine checks
/// the deadline itself inside searches; this is the backstop).
async fn blocking<T: Send + 'static>(
    st: &Arc<AppState>,
    ctx: &Ctx,
    f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let st2 = st.clone();
    let left = ctx
        .deadline
        .saturating_duration_since(std::time::Instant::now())
        + std::time::Duration::from_secs(1);
    match tokio::time::timeout(left, tokio::task::spawn_blocking(move || f(&st2))).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(ApiError::internal("internal")),
        Err(_) => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "deadline_exceeded",
            "the request ran out of time",
        )),
    }
}

/// Whether node `n` is a person who holds no position: the people analysts see pseudonymised.
pub(crate) fn private_person(st: &AppState, n: u32) -> bool {
    st.snap.kind_of(n) == NodeKind::Person && st.snap.flags()[n as usize] & flag::OFFICIAL == 0
}

/// An entity named by bundle id or identifier. Analysts may not look up a private person by
/// resident ID number: the answer would tie the number to the pseudonym.
fn node(st: &AppState, ctx: &Ctx, id: &str) -> Result<u32, ApiError> {
    let by_ident = || {
        st.snap
            .lookup_identifier(id)
            .filter(|&n| !(ctx.pseudonymise() && private_person(st, n)))
    };
    st.snap
        .lookup(id)
        .or_else(by_ident)
        .ok_or_else(|| ApiError::not_found(format!("no entity with id or identifier {id:?}")))
}

/// A person named by bundle id or identifier ([`node`]); another kind is a 404 saying what it is.
fn person(st: &AppState, ctx: &Ctx, id: &str) -> Result<u32, ApiError> {
    let n = node(st, ctx, id)?;
    if st.snap.kind_of(n) == NodeKind::Person {
        Ok(n)
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_a_person",
            format!("{id} is a {}, not a person", st.snap.kind_of(n)),
        ))
    }
}

fn number<T: std::str::FromStr>(q: &Params, k: &str, default: T) -> Result<T, ApiError> {
    q.get(k).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| ApiError::bad("bad_parameter", format!("{k} must be a whole number")))
    })
}

fn page(st: &AppState, q: &Params) -> Result<(usize, usize), ApiError> {
    let limit = number(q, "limit", st.config.default_page)?;
    if limit == 0 || limit > st.config.max_page {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("limit must be between 1 and {}", st.config.max_page),
        ));
    }
    let offset: u32 = number(q, "offset", 0)?;
    Ok((offset as usize, limit))
}

fn date(q: &Params, k: &str) -> Result<Option<i32>, ApiError> {
    q.get(k)
        .filter(|v| !v.is_empty())
        .map(|v| {
            Date::parse(v)
                .map(|d| d.0)
                .map_err(|e| ApiError::bad("bad_parameter", format!("{k}: {e}")))
        })
        .transpose()
}
