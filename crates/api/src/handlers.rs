//! The routes.

use crate::auth::{Role, Route};
use crate::error::ApiError;
use crate::{finish, gate, pseudo, AppState, Ctx};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use qinglian_engine::describe::{edge_json, node_json};
use qinglian_engine::findings::Finding;
use qinglian_engine::paths::{neighbourhood, PathOptions, Searcher};
use qinglian_engine::snapshot::flag;
use qinglian_model::{Date, EdgeKind, NodeKind};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

type St = State<Arc<AppState>>;
type Q = Query<HashMap<String, String>>;

pub(crate) fn router(st: Arc<AppState>) -> Router {
    let limit = st.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/entities", get(search))
        .route("/v1/entities/{id}", get(entity))
        .route("/v1/paths", get(paths))
        .route("/v1/screen", post(screen))
        .route("/v1/findings", get(findings))
        .route("/v1/officials/{id}/risk", get(official_risk))
        .route("/v1/subgraph", get(subgraph))
        .route("/v1/evidence/{finding}", post(evidence))
        .route("/v1/clearances/verify", post(verify_clearance))
        .route("/v1/admin/tokens", get(list_tokens).post(create_token))
        .route("/v1/admin/tokens/{id}", delete(revoke_token))
        .route("/v1/admin/loads", get(loads))
        .route("/v1/audit", get(audit_list))
        .route("/v1/audit/verify", get(audit_verify))
        .fallback(|| async { ApiError::not_found("no such route; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(st)
}

fn reply(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
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
            StatusCode::SERVICE_UNAVAILABLE,
            "deadline_exceeded",
            "the request ran out of time",
        )),
    }
}

fn params(q: &HashMap<String, String>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in q {
        m.insert(k.clone(), Value::String(v.chars().take(200).collect()));
    }
    Value::Object(m)
}

fn node(st: &AppState, id: &str) -> Result<u32, ApiError> {
    st.snap
        .lookup(id)
        .or_else(|| st.snap.lookup_identifier(id))
        .ok_or_else(|| ApiError::not_found(format!("no entity with id or identifier {id:?}")))
}

fn page(st: &AppState, q: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    let get = |k: &str, d: usize| -> Result<usize, ApiError> {
        q.get(k).map_or(Ok(d), |v| {
            v.parse()
                .map_err(|_| ApiError::bad("bad_parameter", format!("{k} must be a number")))
        })
    };
    let limit = get("limit", st.config.default_page)?;
    if limit == 0 || limit > st.config.max_page {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("limit must be between 1 and {}", st.config.max_page),
        ));
    }
    Ok((get("offset", 0)?, limit))
}

fn date(q: &HashMap<String, String>, k: &str) -> Result<Option<i32>, ApiError> {
    q.get(k)
        .filter(|v| !v.is_empty())
        .map(|v| {
            Date::parse(v)
                .map(|d| d.0)
                .map_err(|e| ApiError::bad("bad_parameter", format!("{k}: {e}")))
        })
        .transpose()
}

fn maybe_pseudo(st: &AppState, ctx: &Ctx, mut v: Value) -> Value {
    if ctx.pseudonymise() {
        pseudo::apply(st, &mut v);
    }
    v
}

async fn healthz(State(st): St) -> Json<Value> {
    Json(json!({"status": "ok", "nodes": st.snap.node_count(), "generation": st.generation}))
}

async fn openapi(State(st): St, h: HeaderMap, m: Method, uri: Uri) -> Response {
    let ctx = match gate(&st, &h, &m, uri.path(), Route::OpenApi, &json!({})).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    reply(
        finish(
            &st,
            &ctx,
            json!({}),
            Ok((crate::openapi::document(), Vec::new())),
        )
        .await,
    )
}

async fn search(State(st): St, h: HeaderMap, m: Method, uri: Uri, Query(q): Q) -> Response {
    let p = params(&q);
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Search, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let query = q.get("q").cloned().unwrap_or_default();
    let r = match page(&st, &q) {
        Err(e) => Err(e),
        Ok(_) if query.trim().is_empty() => Err(ApiError::bad("bad_parameter", "q is required")),
        Ok((_, limit)) => Ok(search_results(&st, query.trim(), limit)),
    }
    .map(|(v, ids)| (maybe_pseudo(&st, &ctx, v), ids));
    reply(finish(&st, &ctx, p, r).await)
}

/// Exact identifiers first, then bundle ids, then exact names, then name prefixes. People who
/// share a name are listed separately with what tells them apart.
fn search_results(st: &AppState, q: &str, limit: usize) -> (Value, Vec<String>) {
    let snap = &st.snap;
    let mut hits: Vec<(u32, &str)> = Vec::new();
    if let Some(n) = snap.lookup_identifier(q) {
        hits.push((n, "identifier"));
    }
    if let Some(n) = snap.lookup(q) {
        hits.push((n, "id"));
    }
    for n in snap.search_name(q, true, limit + 1) {
        hits.push((n, "name"));
    }
    for n in snap.search_name(q, false, limit + 1) {
        hits.push((n, "name_prefix"));
    }
    let mut seen = Vec::new();
    hits.retain(|(n, _)| {
        if seen.contains(n) {
            false
        } else {
            seen.push(*n);
            true
        }
    });
    let truncated = hits.len() > limit;
    hits.truncate(limit);
    let pos = snap.edges(EdgeKind::Position);
    let results: Vec<Value> = hits
        .iter()
        .map(|&(n, how)| {
            let mut v = node_json(snap, n);
            v["match"] = how.into();
            let kind = snap.kind_of(n);
            let d = snap.dates()[n as usize];
            if kind == NodeKind::Person {
                if d != qinglian_engine::snapshot::NO_DATE {
                    v["birth_year"] = Date(d).ymd().0.into();
                }
                let ident = snap.identifier(n);
                if ident.len() == 18 {
                    v["identifier_masked"] =
                        format!("{}********{}", &ident[..6], &ident[14..]).into();
                }
                v["official"] = (snap.flags()[n as usize] & flag::OFFICIAL != 0).into();
                // Agency, title and term: what tells two same-name officials apart.
                v["positions"] = pos
                    .out(n)
                    .map(|e| {
                        let iv = pos.interval(e);
                        json!({
                            "agency": snap.ext(pos.dst[e]),
                            "agency_name": snap.name(pos.dst[e]),
                            "title": snap.label_text(EdgeKind::Position, pos.label(e)),
                            "start": qinglian_engine::describe::date_json(iv.start),
                            "end": qinglian_engine::describe::date_json(iv.end),
                        })
                    })
                    .collect::<Vec<_>>()
                    .into();
            } else if kind == NodeKind::Company {
                v["credit_code"] = snap.identifier(n).into();
            }
            v
        })
        .collect();
    let ids = hits.iter().map(|(n, _)| snap.ext(*n).to_owned()).collect();
    (
        json!({"query": q, "results": results, "truncated": truncated}),
        ids,
    )
}

async fn entity(
    State(st): St,
    h: HeaderMap,
    m: Method,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let mut p = params(&q);
    p["id"] = id.clone().into();
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Entity, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = page(&st, &q).and_then(|(offset, limit)| {
        let n = node(&st, &id)?;
        let v = qinglian_engine::describe::entity(&st.snap, n, limit, offset);
        let mut ids = vec![st.snap.ext(n).to_owned()];
        for g in v["edges"].as_array().into_iter().flatten() {
            for e in g["edges"].as_array().into_iter().flatten() {
                for k in ["from", "to"] {
                    if let Some(x) = e[k].as_str().filter(|x| *x != id) {
                        ids.push(x.to_owned());
                    }
                }
            }
        }
        Ok((maybe_pseudo(&st, &ctx, v), ids))
    });
    reply(finish(&st, &ctx, p, r).await)
}

fn kinds(q: &HashMap<String, String>) -> Result<Vec<EdgeKind>, ApiError> {
    match q.get("kinds").filter(|k| !k.is_empty()) {
        None => Ok(Vec::new()),
        Some(k) => k
            .split(',')
            .map(|x| {
                EdgeKind::parse(&x.trim().to_ascii_uppercase())
                    .ok_or_else(|| ApiError::bad("bad_parameter", format!("unknown edge kind {x}")))
            })
            .collect(),
    }
}

async fn paths(State(st): St, h: HeaderMap, m: Method, uri: Uri, Query(q): Q) -> Response {
    let p = params(&q);
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Paths, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let deadline = ctx.deadline;
    let stc = st.clone();
    let prep = (|| -> Result<_, ApiError> {
        let from = node(&stc, q.get("from").map_or("", String::as_str))?;
        let to = node(&stc, q.get("to").map_or("", String::as_str))?;
        let max_hops: u32 = q.get("max_hops").map_or(Ok(stc.config.max_hops), |v| {
            v.parse()
                .map_err(|_| ApiError::bad("bad_parameter", "max_hops must be a number"))
        })?;
        if max_hops == 0 || max_hops > stc.config.max_hops {
            return Err(ApiError::bad(
                "bad_parameter",
                format!("max_hops must be between 1 and {}", stc.config.max_hops),
            ));
        }
        let limit = q
            .get("limit")
            .map_or(Ok(10usize), |v| {
                v.parse()
                    .map_err(|_| ApiError::bad("bad_parameter", "limit must be a number"))
            })?
            .clamp(1, 50);
        Ok(PathOptions {
            max_hops,
            as_of: date(&q, "as_of")?,
            kinds: kinds(&q)?,
            limit,
            max_visits: 2_000_000,
            deadline: Some(deadline),
        }
        .clone())
        .map(|o| (from, to, o))
    })();
    let r = match prep {
        Err(e) => Err(e),
        Ok((from, to, opts)) => {
            blocking(&st, &ctx, move |st| {
                let mut searcher = Searcher::with_scratch(&st.snap, st.take_scratch());
                let res = searcher.shortest(from, to, &opts);
                st.give_scratch(searcher.into_scratch());
                let mut ids = Vec::new();
                let paths: Vec<Value> = res
                    .paths
                    .iter()
                    .map(|path| {
                        let edges: Vec<Value> = path.iter().map(|e| edge_json(&st.snap, e.kind(), e.idx as usize)).collect();
                        for e in &edges {
                            for k in ["from", "to"] {
                                if let Some(x) = e[k].as_str() {
                                    ids.push(x.to_owned());
                                }
                            }
                        }
                        json!({"hops": path.len(), "edges": edges})
                    })
                    .collect();
                ids.sort();
                ids.dedup();
                let v = json!({
                    "from": node_json(&st.snap, from), "to": node_json(&st.snap, to), "max_hops": opts.max_hops,
                    "as_of": opts.as_of.map(|d| Date(d).to_string()), "hops": res.hops, "paths": paths, "more": res.more,
                    "truncated": res.truncated, "visited": res.visited,
                    "message": match (res.hops, res.truncated) {
                        (Some(h), _) => format!("{} shortest chain(s) of {h} hop(s)", res.paths.len()),
                        (None, true) => "the search reached its budget before finding an answer".to_owned(),
                        (None, false) => format!("no chain within {} hops", opts.max_hops),
                    },
                });
                Ok((v, ids))
            })
            .await
        }
    }
    .map(|(v, ids)| (maybe_pseudo(&st, &ctx, v), ids));
    reply(finish(&st, &ctx, p, r).await)
}

fn body_json(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let b = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than the server accepts",
            )
        } else {
            ApiError::bad("bad_body", e.body_text())
        }
    })?;
    if b.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&b)
        .map_err(|e| ApiError::bad("bad_json", format!("the body is not valid JSON: {e}")))
}

fn strings(v: &Value, k: &str) -> Result<Vec<String>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad("bad_body", format!("{k} must be a list of ids")))
            })
            .collect(),
        Some(_) => Err(ApiError::bad(
            "bad_body",
            format!("{k} must be a list of ids"),
        )),
    }
}

async fn screen(
    State(st): St,
    h: HeaderMap,
    m: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let b = body_json(body);
    let p = b.clone().unwrap_or(json!({}));
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Screen, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = match b {
        Err(e) => Err(e),
        Ok(b) => match screen_request(&st, &b) {
            Err(e) => Err(e),
            Ok(req) => blocking(&st, &ctx, move |st| Ok(screen_outcome(st, &req))).await,
        },
    }
    .map(|(v, ids)| (maybe_pseudo(&st, &ctx, v), ids));
    reply(finish(&st, &ctx, p, r).await)
}

fn screen_request(
    st: &AppState,
    b: &Value,
) -> Result<qinglian_engine::preaward::Request, ApiError> {
    let opt = |k: &str| -> Result<Option<u32>, ApiError> {
        b.get(k)
            .and_then(Value::as_str)
            .map(|id| node(st, id))
            .transpose()
    };
    let tender = opt("tender")?;
    let agency = opt("agency")?;
    if tender.is_none() && agency.is_none() {
        return Err(ApiError::bad(
            "bad_body",
            "give a tender, or an agency and a list of bidders",
        ));
    }
    let bidders_raw = strings(b, "bidders")?;
    if bidders_raw.len() > st.config.max_bidders {
        return Err(ApiError::bad(
            "too_many",
            format!("at most {} bidders", st.config.max_bidders),
        ));
    }
    if tender.is_none() && bidders_raw.is_empty() {
        return Err(ApiError::bad(
            "bad_body",
            "bidders are required without a tender",
        ));
    }
    let mut unknown = Vec::new();
    let mut resolve = |ids: Vec<String>, kind: NodeKind| -> Vec<u32> {
        ids.into_iter()
            .filter_map(|id| {
                match st
                    .snap
                    .lookup(&id)
                    .or_else(|| st.snap.lookup_identifier(&id))
                    .filter(|&n| st.snap.kind_of(n) == kind)
                {
                    Some(n) => Some(n),
                    None => {
                        unknown.push(id);
                        None
                    }
                }
            })
            .collect()
    };
    let bidders = resolve(bidders_raw, NodeKind::Company);
    let officials = resolve(strings(b, "officials")?, NodeKind::Person);
    if !unknown.is_empty() {
        return Err(ApiError::bad(
            "unknown_ids",
            format!("not found (or of the wrong kind): {}", unknown.join(", ")),
        ));
    }
    let as_of = match b.get("as_of").and_then(Value::as_str) {
        Some(d) => Some(
            Date::parse(d)
                .map_err(|e| ApiError::bad("bad_body", format!("as_of: {e}")))?
                .0,
        ),
        None => None,
    };
    Ok(qinglian_engine::preaward::Request {
        tender,
        agency,
        bidders,
        officials,
        as_of,
    })
}

fn screen_outcome(st: &AppState, req: &qinglian_engine::preaward::Request) -> (Value, Vec<String>) {
    let snap = &st.snap;
    let out = qinglian_engine::preaward::screen(snap, req, Date::today().0);
    let ids: Vec<String> = out.findings.iter().map(|f| f.id.clone()).collect();
    let checked = json!({
        "tender": req.tender.map(|t| snap.ext(t).to_owned()),
        "agency": out.agency.map(|a| snap.ext(a).to_owned()),
        "bidders": out.bidders.iter().map(|&b| snap.ext(b).to_owned()).collect::<Vec<_>>(),
        "officials": out.officials.iter().map(|&o| snap.ext(o).to_owned()).collect::<Vec<_>>(),
        "checks": ["official_link: officials in office and the tender's evaluators and approvers, themselves or relatives within 2 family hops, controlling a bidder through up to 3 ownership/role edges holding on the day",
                   "bid_rigging: bidders sharing a direct owner, a legal representative or director, a phone or an address",
                   "blacklisted_bidder: a bidder, its owner, or a company owning it through one more company, listed on or before the day"],
        "max_family_hops": qinglian_engine::preaward::FAMILY_HOPS,
        "max_control_hops": qinglian_engine::preaward::CONTROL_HOPS,
        "as_of": Date(out.as_of).to_string(),
    });
    let mut v = json!({
        "verdict": out.verdict.map_or("clear", |s| s.as_str()),
        "findings": out.findings,
        "checked": checked,
        "data_version": st.data_version(),
    });
    if out.findings.is_empty() {
        let mut id = [0u8; 8];
        rand::fill(&mut id);
        let mut clearance = json!({
            "clearance_id": id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "issued_at": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            "result": "no finding",
            "checked": v["checked"].clone(),
            "data_version": st.data_version(),
        });
        let sig = st.key.sign(&clearance);
        clearance["signature"] = sig.into();
        v["clearance"] = clearance;
    }
    (v, ids)
}

async fn verify_clearance(
    State(st): St,
    h: HeaderMap,
    m: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let b = body_json(body);
    let p = json!({"clearance_id": b.as_ref().ok().and_then(|v| v.get("clearance_id")).cloned()});
    let ctx = match gate(&st, &h, &m, uri.path(), Route::VerifyClearance, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = b.and_then(|mut c| {
        let sig = c
            .get("signature")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad("bad_body", "no signature"))?;
        if let Some(o) = c.as_object_mut() {
            o.remove("signature");
        }
        let valid = st.key.verify(&c, &sig);
        let current = c.get("data_version") == Some(&st.data_version());
        Ok((
            json!({"valid": valid, "data_unchanged_since": current}),
            Vec::new(),
        ))
    });
    reply(finish(&st, &ctx, p, r).await)
}

fn filter_findings<'a>(st: &'a AppState, q: &HashMap<String, String>) -> Vec<&'a Finding> {
    st.findings
        .iter()
        .filter(|f| q.get("rule").is_none_or(|r| &f.pattern == r))
        .filter(|f| q.get("severity").is_none_or(|s| f.severity.as_str() == s))
        .filter(|f| q.get("official").is_none_or(|o| &f.official == o))
        .filter(|f| q.get("agency").is_none_or(|a| &f.agency == a))
        .collect()
}

async fn findings(State(st): St, h: HeaderMap, m: Method, uri: Uri, Query(q): Q) -> Response {
    let p = params(&q);
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Findings, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = page(&st, &q).and_then(|(offset, limit)| {
        if let Some(s) = q.get("severity").filter(|s| qinglian_rules::Severity::parse(s).is_none()) {
            return Err(ApiError::bad("bad_parameter", format!("severity {s}: expected red, yellow or green")));
        }
        let all = filter_findings(&st, &q);
        let page: Vec<&Finding> = all.iter().skip(offset).take(limit).copied().collect();
        let ids = page.iter().map(|f| f.id.clone()).collect();
        let v = json!({"total": all.len(), "offset": offset, "limit": limit, "truncated": offset + page.len() < all.len(), "findings": page, "data_version": st.data_version()});
        Ok((maybe_pseudo(&st, &ctx, v), ids))
    });
    reply(finish(&st, &ctx, p, r).await)
}

async fn official_risk(
    State(st): St,
    h: HeaderMap,
    m: Method,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let p = json!({"id": id});
    let ctx = match gate(&st, &h, &m, uri.path(), Route::OfficialRisk, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = node(&st, &id).and_then(|n| {
        if st.snap.kind_of(n) != NodeKind::Person {
            return Err(ApiError::bad("not_a_person", format!("{id} is a {}", st.snap.kind_of(n))));
        }
        let ext = st.snap.ext(n).to_owned();
        let mine: Vec<&Finding> = st.findings.iter().filter(|f| f.official == ext).collect();
        let mut by_rule = std::collections::BTreeMap::new();
        for f in &mine {
            *by_rule.entry(f.pattern.clone()).or_insert(0usize) += 1;
        }
        let colour = mine.iter().map(|f| f.severity).max();
        let v = json!({
            "official": node_json(&st.snap, n), "colour": colour.map_or("none", |c| c.as_str()), "findings": mine.len(),
            "by_rule": by_rule, "max_score": mine.iter().map(|f| f.score).fold(0.0, f64::max),
            "finding_ids": mine.iter().map(|f| f.id.clone()).collect::<Vec<_>>(), "data_version": st.data_version(),
        });
        Ok((maybe_pseudo(&st, &ctx, v), mine.iter().map(|f| f.id.clone()).collect()))
    });
    reply(finish(&st, &ctx, p, r).await)
}

async fn subgraph(State(st): St, h: HeaderMap, m: Method, uri: Uri, Query(q): Q) -> Response {
    let p = params(&q);
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Subgraph, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let prep = (|| -> Result<_, ApiError> {
        let center = node(&st, q.get("center").map_or("", String::as_str))?;
        let hops: u32 = q.get("hops").map_or(Ok(2), |v| {
            v.parse()
                .map_err(|_| ApiError::bad("bad_parameter", "hops must be a number"))
        })?;
        if hops == 0 || hops > st.config.max_export_hops {
            return Err(ApiError::bad(
                "bad_parameter",
                format!("hops must be between 1 and {}", st.config.max_export_hops),
            ));
        }
        let fmt = q.get("format").map_or("json", String::as_str);
        let format = qinglian_engine::export::Format::parse(fmt).ok_or_else(|| {
            ApiError::bad(
                "bad_parameter",
                format!("format {fmt}: expected json, graphml, gexf, csv or dot"),
            )
        })?;
        Ok((center, hops, format, date(&q, "as_of")?))
    })();
    let r = match prep {
        Err(e) => Err(e),
        Ok((center, hops, format, as_of)) => {
            blocking(&st, &ctx, move |st| {
                let (nodes, edges, truncated) =
                    neighbourhood(&st.snap, center, hops, as_of, st.config.max_export_nodes);
                let body = qinglian_engine::export::render(&st.snap, &nodes, &edges, format);
                let ids = nodes.iter().map(|&n| st.snap.ext(n).to_owned()).collect();
                Ok(((body, format, truncated), ids))
            })
            .await
        }
    };
    match finish(&st, &ctx, p, r).await {
        Err(e) => e.into_response(),
        Ok((body, format, truncated)) => {
            // The file name is generated, never taken from the request.
            let mut tag = [0u8; 6];
            rand::fill(&mut tag);
            let name = format!(
                "qinglian-subgraph-{}.{}",
                tag.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                format.ext()
            );
            (
                [
                    (header::CONTENT_TYPE, format.mime().to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (
                        header::HeaderName::from_static("x-truncated"),
                        truncated.to_string(),
                    ),
                ],
                body,
            )
                .into_response()
        }
    }
}

async fn evidence(
    State(st): St,
    h: HeaderMap,
    m: Method,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let p = json!({"finding": id});
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Evidence, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = match st.findings.iter().find(|f| f.id == id).cloned() {
        None => Err(ApiError::not_found(format!(
            "no finding {id} in the current screening; see /v1/findings"
        ))),
        Some(f) => blocking(&st, &ctx, move |st| Ok(evidence_bundle(st, &f))).await,
    };
    reply(finish(&st, &ctx, p, r).await)
}

/// The finding, its chain, the rows behind every edge and node (with the SHA-256 of the file
/// they came from), the rule's text and the data version; hashed and signed.
fn evidence_bundle(st: &AppState, f: &Finding) -> (Value, Vec<String>) {
    let snap = &st.snap;
    let file_sha = |file: &str, load: u64| -> Option<String> {
        st.loads
            .iter()
            .find(|l| u64::from(l.number) == load)
            .and_then(|l| l.files.iter().find(|x| x.name == file))
            .map(|x| x.sha256.clone())
    };
    let mut rows = Vec::new();
    for e in &f.evidence.edges {
        let mut row = e.clone();
        if let (Some(file), Some(load)) =
            (e["source"]["file"].as_str(), e["source"]["load"].as_u64())
        {
            row["source"]["file_sha256"] = file_sha(file, load).into();
        }
        rows.push(row);
    }
    let mut nodes = Vec::new();
    for n in &f.evidence.nodes {
        if let Some(x) = n["id"].as_str().and_then(|id| snap.lookup(id)) {
            let mut d = qinglian_engine::describe::entity(snap, x, 0, 0);
            if let Some(o) = d.as_object_mut() {
                o.remove("edges");
            }
            if let Some(srcs) = d["sources"].as_array_mut() {
                for s in srcs {
                    if let (Some(file), Some(load)) =
                        (s["file"].as_str().map(str::to_owned), s["load"].as_u64())
                    {
                        s["file_sha256"] = file_sha(&file, load).into();
                    }
                }
            }
            nodes.push(d);
        }
    }
    let rule = st.rules.iter().find(|r| r.id == f.pattern);
    let rule_json = rule.map_or(Value::Null, |r| {
        json!({"id": r.id, "source": r.source, "text": r.text, "sha256": crate::sign::sha256(&Value::String(r.text.clone()))})
    });
    let bundle = json!({
        "finding": f, "edges": rows, "nodes": nodes, "rule": rule_json, "data_version": st.data_version(),
        "engine": {"name": "qinglian", "version": env!("CARGO_PKG_VERSION")},
    });
    let sha = crate::sign::sha256(&bundle);
    let signature = st.key.sign(&json!({"sha256": sha}));
    (
        json!({"bundle": bundle, "sha256": sha, "signature": signature}),
        vec![f.id.clone()],
    )
}

async fn list_tokens(State(st): St, h: HeaderMap, m: Method, uri: Uri) -> Response {
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Tokens, &json!({})).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = st.tokens.list().map_err(|_| ApiError::internal("tokens")).map(|ts| {
        let v: Vec<Value> = ts.iter().map(|t| json!({"id": t.id, "role": t.role, "created": t.created, "expires": t.expires, "revoked": t.revoked, "note": t.note})).collect();
        (json!({"tokens": v}), ts.iter().map(|t| t.id.clone()).collect())
    });
    reply(finish(&st, &ctx, json!({}), r).await)
}

async fn create_token(
    State(st): St,
    h: HeaderMap,
    m: Method,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let b = body_json(body);
    let p = json!({"role": b.as_ref().ok().and_then(|v| v.get("role")).cloned(), "days": b.as_ref().ok().and_then(|v| v.get("days")).cloned()});
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Tokens, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = b.and_then(|b| {
        let role = b
            .get("role")
            .and_then(Value::as_str)
            .and_then(Role::parse)
            .ok_or_else(|| {
                ApiError::bad(
                    "bad_body",
                    "role must be investigator, analyst, admin or auditor",
                )
            })?;
        let days = b
            .get("days")
            .and_then(Value::as_u64)
            .unwrap_or(90)
            .min(3650);
        let note = b.get("note").and_then(Value::as_str).unwrap_or("");
        let (rec, token) = st
            .tokens
            .create(role, days, note)
            .map_err(|_| ApiError::internal("tokens"))?;
        Ok((
            json!({"id": rec.id, "role": rec.role, "expires": rec.expires, "token": token}),
            vec![rec.id],
        ))
    });
    reply(finish(&st, &ctx, p, r).await)
}

async fn revoke_token(
    State(st): St,
    h: HeaderMap,
    m: Method,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let p = json!({"id": id});
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Tokens, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = match st.tokens.revoke(&id) {
        Ok(true) => Ok((json!({"revoked": id}), vec![id.clone()])),
        Ok(false) => Err(ApiError::not_found(format!("no token {id}"))),
        Err(_) => Err(ApiError::internal("tokens")),
    };
    reply(finish(&st, &ctx, p, r).await)
}

async fn loads(State(st): St, h: HeaderMap, m: Method, uri: Uri) -> Response {
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Loads, &json!({})).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let v: Vec<Value> = st
        .loads
        .iter()
        .map(|l| json!({"number": l.number, "bundle_sha256": l.bundle_hash, "unix_time": l.unix_time, "warnings": l.warnings,
                        "files": l.files.iter().map(|f| json!({"name": f.name, "sha256": f.sha256, "read": f.read, "loaded": f.loaded, "merged": f.merged, "warned": f.warned})).collect::<Vec<_>>()}))
        .collect();
    reply(
        finish(
            &st,
            &ctx,
            json!({}),
            Ok((json!({"loads": v, "generation": st.generation}), Vec::new())),
        )
        .await,
    )
}

async fn audit_list(State(st): St, h: HeaderMap, m: Method, uri: Uri, Query(q): Q) -> Response {
    let p = params(&q);
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Audit, &p).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = match page(&st, &q) {
        Err(e) => Err(e),
        Ok((offset, limit)) => {
            blocking(&st, &ctx, move |st| {
                let (recs, total) = crate::audit::read(&st.db, offset, limit)
                    .map_err(|_| ApiError::internal("audit_read"))?;
                Ok((
                    json!({"total": total, "offset": offset, "limit": limit, "records": recs}),
                    Vec::new(),
                ))
            })
            .await
        }
    };
    reply(finish(&st, &ctx, p, r).await)
}

async fn audit_verify(State(st): St, h: HeaderMap, m: Method, uri: Uri) -> Response {
    let ctx = match gate(&st, &h, &m, uri.path(), Route::Audit, &json!({})).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let r = blocking(&st, &ctx, |st| {
        Ok(match crate::audit::verify(&st.db) {
            Ok(rep) => (
                json!({"valid": true, "records": rep.records, "head": rep.last_hash}),
                Vec::new(),
            ),
            Err(e) => (json!({"valid": false, "problem": e}), Vec::new()),
        })
    })
    .await;
    reply(finish(&st, &ctx, json!({}), r).await)
}
