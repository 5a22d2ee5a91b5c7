//! Entities, paths and neighbourhoods.

use super::{blocking, date, node, number, page, private_person, Answer, St};
use crate::error::ApiError;
use crate::guard::Ctx;
use crate::reply::{Out, Params};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Extension;
use qinglian_engine::describe::{edge_json, node_json};
use qinglian_engine::paths::{neighbourhood, PathOptions, Searcher};
use qinglian_model::{Date, EdgeKind};
use serde_json::{json, Value};

/// Longest search text (as declared in the OpenAPI document).
pub(crate) use qinglian_engine::search::MAX_QUERY_CHARS;

pub(super) async fn search(State(st): St, Extension(ctx): Extension<Ctx>, q: Params) -> Answer {
    let query = q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default();
    let (_, limit) = page(&st, &q)?;
    if query.is_empty() {
        return Err(ApiError::bad("bad_parameter", "q is required"));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("q is longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    let (v, ids) = search_results(&st, &ctx, &query, limit);
    Ok(Out::Json(v, ids))
}

/// The engine's search (`engine::search`, shared with `qinglian search`). Analysts find
/// private people only by bundle id: a match on a name or an identifier would re-identify them.
fn search_results(st: &AppState, ctx: &Ctx, q: &str, limit: usize) -> (Value, Vec<String>) {
    let snap = &st.snap;
    let hide = ctx.pseudonymise();
    let (hits, truncated) = qinglian_engine::search::search(snap, q, limit, |n, how| {
        !(hide && how != "id" && private_person(st, n))
    });
    let results: Vec<Value> = hits
        .iter()
        .map(|&(n, how)| qinglian_engine::search::hit_json(snap, n, how))
        .collect();
    let ids = hits.iter().map(|(n, _)| snap.ext(*n).to_owned()).collect();
    (
        json!({"query": q, "results": results, "truncated": truncated}),
        ids,
    )
}

pub(super) async fn entity(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    q: Params,
) -> Answer {
    let (offset, limit) = page(&st, &q)?;
    let n = node(&st, &ctx, &id)?;
    let v = qinglian_engine::describe::entity(&st.snap, n, limit, offset);
    let me = st.snap.ext(n).to_owned();
    let mut ids = vec![me.clone()];
    for g in v["edges"].as_array().into_iter().flatten() {
        for e in g["edges"].as_array().into_iter().flatten() {
            for k in ["from", "to"] {
                if let Some(x) = e[k].as_str().filter(|x| *x != me) {
                    ids.push(x.to_owned());
                }
            }
        }
    }
    Ok(Out::Json(v, ids))
}

fn kinds(q: &Params) -> Result<Vec<EdgeKind>, ApiError> {
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

fn path_request(st: &AppState, ctx: &Ctx, q: &Params) -> Result<(u32, u32, PathOptions), ApiError> {
    let from = node(st, ctx, q.get("from").map_or("", String::as_str))?;
    let to = node(st, ctx, q.get("to").map_or("", String::as_str))?;
    let max_hops: u32 = number(q, "max_hops", st.config.max_hops)?;
    if max_hops == 0 || max_hops > st.config.max_hops {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("max_hops must be between 1 and {}", st.config.max_hops),
        ));
    }
    let limit: usize = number(q, "limit", 10)?;
    if !(1..=50).contains(&limit) {
        return Err(ApiError::bad(
            "bad_parameter",
            "limit must be between 1 and 50",
        ));
    }
    let opts = PathOptions {
        max_hops,
        as_of: date(q, "as_of")?,
        kinds: kinds(q)?,
        limit,
        max_visits: 2_000_000,
        deadline: Some(ctx.deadline),
    };
    Ok((from, to, opts))
}

pub(super) async fn paths(State(st): St, Extension(ctx): Extension<Ctx>, q: Params) -> Answer {
    let (from, to, opts) = path_request(&st, &ctx, &q)?;
    blocking(&st, &ctx, move |st| Ok(path_answer(st, from, to, &opts))).await
}

fn path_answer(st: &AppState, from: u32, to: u32, opts: &PathOptions) -> Out {
    let mut searcher = Searcher::with_scratch(&st.snap, st.take_scratch());
    let res = searcher.shortest(from, to, opts);
    st.give_scratch(searcher.into_scratch());
    let mut ids = Vec::new();
    let paths: Vec<Value> = res
        .paths
        .iter()
        .map(|path| {
            let edges: Vec<Value> = path
                .iter()
                .map(|e| edge_json(&st.snap, e.kind(), e.idx as usize))
                .collect();
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
    let message = match (res.hops, res.truncated) {
        (Some(h), _) => format!("{} shortest chain(s) of {h} hop(s)", res.paths.len()),
        (None, true) => "the search reached its budget before finding an answer".to_owned(),
        (None, false) => format!("no chain within {} hops", opts.max_hops),
    };
    let v = json!({
        "from": node_json(&st.snap, from), "to": node_json(&st.snap, to), "max_hops": opts.max_hops,
        "as_of": opts.as_of.map(|d| Date(d).to_string()), "hops": res.hops, "paths": paths, "more": res.more,
        "truncated": res.truncated, "visited": res.visited, "message": message,
    });
    Out::Json(v, ids)
}

pub(super) async fn subgraph(State(st): St, Extension(ctx): Extension<Ctx>, q: Params) -> Answer {
    // What to export: a finding's evidence (`finding=`), or an entity's neighbourhood.
    let of_finding = match q.get("finding") {
        Some(id) => Some(
            st.finding(id)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no finding {id} in the current screening; see /v1/findings"
                    ))
                })?
                .id
                .clone(),
        ),
        None => None,
    };
    let center = match &of_finding {
        Some(_) => 0,
        None => node(&st, &ctx, q.get("center").map_or("", String::as_str))?,
    };
    let hops: u32 = number(&q, "hops", 2)?;
    if hops == 0 || hops > st.config.max_export_hops {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("hops must be between 1 and {}", st.config.max_export_hops),
        ));
    }
    let fmt = q.get("format").map_or("json", String::as_str);
    let format = qinglian_export::Format::parse(fmt)
        .filter(|f| !f.is_folder())
        .ok_or_else(|| {
            ApiError::bad(
                "bad_parameter",
                format!("format {fmt}: expected json, graphml, gexf, csv, dot or ftm"),
            )
        })?;
    let table = match q.get("table").map_or("edges", String::as_str) {
        "edges" => qinglian_export::Table::Edges,
        "nodes" => qinglian_export::Table::Nodes,
        t => {
            return Err(ApiError::bad(
                "bad_parameter",
                format!("table {t}: expected nodes or edges"),
            ))
        }
    };
    let as_of = date(&q, "as_of")?;
    blocking(&st, &ctx, move |st| {
        let (sel, truncated) = match of_finding.as_deref().and_then(|id| st.finding(id)) {
            Some(f) => (
                qinglian_export::Selection::of_evidence(&st.snap, &f.evidence),
                false,
            ),
            None => {
                let (nodes, edges, truncated) =
                    neighbourhood(&st.snap, center, hops, as_of, st.config.max_export_nodes);
                let why = truncated.then(|| {
                    format!(
                        "cut at the server's max_export_nodes ({})",
                        st.config.max_export_nodes
                    )
                });
                (
                    qinglian_export::Selection::new(&st.snap, nodes, &edges, why),
                    truncated,
                )
            }
        };
        let body = qinglian_export::render(&st.snap, &sel, format, table).map_err(|e| {
            tracing::error!("subgraph export: {e}");
            ApiError::internal("export_failed")
        })?;
        let nodes = sel.nodes;
        // The file name is generated, never taken from the request.
        let mut tag = [0u8; 6];
        rand::fill(&mut tag);
        let name = format!(
            "qinglian-subgraph-{}.{}",
            tag.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            format.ext()
        );
        Ok(Out::File {
            body,
            mime: format.mime(),
            name,
            truncated,
            ids: nodes.iter().map(|&n| st.snap.ext(n).to_owned()).collect(),
        })
    })
    .await
}
