//! Pre-award screening, clearances, stored findings, an official's roll-up, evidence bundles.

use super::{blocking, node, page, person, Answer, St};
use crate::error::ApiError;
use crate::guard::Ctx;
use crate::reply::{Out, Params};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Extension;
use qinglian_engine::describe::node_json;
use qinglian_engine::findings::Finding;
use qinglian_model::{Date, NodeKind};
use serde_json::{json, Value};

/// The body as a JSON object ({} when empty).
pub(crate) fn body_object(b: &Bytes) -> Result<Value, ApiError> {
    if b.is_empty() {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(b)
        .map_err(|e| ApiError::bad("bad_json", format!("the body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad("bad_body", "the body must be a JSON object"));
    }
    Ok(v)
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

pub(super) async fn screen(State(st): St, Extension(ctx): Extension<Ctx>, body: Bytes) -> Answer {
    let req = screen_request(&st, &ctx, &body_object(&body)?)?;
    blocking(&st, &ctx, move |st| screen_outcome(st, &req)).await
}

fn optional_id(st: &AppState, ctx: &Ctx, b: &Value, k: &str) -> Result<Option<u32>, ApiError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => node(st, ctx, id).map(Some),
        Some(_) => Err(ApiError::bad("bad_body", format!("{k} must be an id"))),
    }
}

/// A pre-award request, resolved to snapshot ids.
struct Request {
    tender: Option<u32>,
    agency: Option<u32>,
    bidders: Vec<u32>,
    officials: Vec<u32>,
    as_of: Option<i32>,
}

fn screen_request(st: &AppState, ctx: &Ctx, b: &Value) -> Result<Request, ApiError> {
    let tender = optional_id(st, ctx, b, "tender")?;
    let agency = optional_id(st, ctx, b, "agency")?;
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
                match node(st, ctx, &id)
                    .ok()
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
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_ids",
            format!("not found (or of the wrong kind): {}", unknown.join(", ")),
        ));
    }
    let as_of = match b.get("as_of") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(
            Date::parse(d)
                .map_err(|e| ApiError::bad("bad_body", format!("as_of: {e}")))?
                .0,
        ),
        Some(_) => {
            return Err(ApiError::bad(
                "bad_body",
                "as_of must be a date, YYYY-MM-DD",
            ))
        }
    };
    Ok(Request {
        tender,
        agency,
        bidders,
        officials,
        as_of,
    })
}

fn screen_outcome(st: &AppState, req: &Request) -> Result<Out, ApiError> {
    match req.tender {
        // A tender in the data, checked on its publication day with the people the data says
        // handle it: the rule files asked before the award, screened once at start.
        Some(t) if req.officials.is_empty() && req.as_of.is_none() && req.agency.is_none() => {
            Ok(rules_outcome(st, t, &req.bidders))
        }
        _ => proposal_outcome(st, req),
    }
}

/// The pre-award check of a tender through the rule files (`engine::hypothesis`): the
/// findings the rules asked before the award raise on this tender, restricted to `bidders`
/// when given.
fn rules_outcome(st: &AppState, tender: u32, bidders: &[u32]) -> Out {
    use qinglian_model::EdgeKind;
    let snap = &st.snap;
    let t_ext = snap.ext(tender).to_owned();
    let ran = snap.edges(EdgeKind::Ran);
    let bid = snap.edges(EdgeKind::Bid);
    let agency = ran
        .inc(tender)
        .first()
        .map(|&e| snap.ext(ran.src[e as usize]).to_owned());
    let mut bidding: Vec<String> = bid
        .inc(tender)
        .iter()
        .map(|&e| snap.ext(bid.src[e as usize]).to_owned())
        .collect();
    bidding.sort();
    bidding.dedup();
    let wanted: Vec<String> = bidders.iter().map(|&b| snap.ext(b).to_owned()).collect();
    let findings: Vec<&Finding> = st
        .preaward
        .iter()
        .filter(|f| f.ref_id == t_ext && f.ref_type == "tender")
        .filter(|f| wanted.is_empty() || wanted.contains(&f.target) || wanted.contains(&f.target2))
        .collect();
    let ids: Vec<String> = findings.iter().map(|f| f.id.clone()).collect();
    let verdict = findings.iter().map(|f| f.severity).max();
    let published = snap.dates()[tender as usize];
    let checked = json!({
        "tender": t_ext,
        "agency": agency,
        "bidders": if wanted.is_empty() { bidding } else { wanted },
        "officials": [],
        "method": "the rule files, asked before the award: an award in a rule's pattern is read as this tender's bid that would become it, its date as the tender's publication",
        "rules": st.preaward_rules,
        "as_of": qinglian_engine::describe::date_json(published),
    });
    let mut v = json!({
        "verdict": verdict.map_or("clear", |s| s.as_str()),
        "findings": findings,
        "checked": checked,
        "data_version": st.data_version(),
    });
    if findings.is_empty() {
        v["clearance"] =
            crate::clearance::issue(&st.key, &v["checked"], st.load(), &st.data_version());
    }
    Out::Json(v, ids)
}

/// An agency and bidders without a tender in the data, or a tender checked with other people
/// or on another day: the same rule files, asked of the given agency, bidders and people
/// (`engine::proposal`). A tender in the data contributes its agency, bidders, evaluators and
/// approvers, and its publication day unless `as_of` is given.
fn proposal_outcome(st: &AppState, req: &Request) -> Result<Out, ApiError> {
    use qinglian_engine::proposal::{ask, Proposal};
    let snap = &st.snap;
    let today = Date::today().0;
    let mut p = match req.tender {
        // The tender's own agency, bidders, handlers and day, then what the request adds.
        Some(t) => Proposal::of_tender(snap, t, today),
        None => Proposal {
            day: today,
            label: "(no tender in the data)".into(),
            ..Proposal::default()
        },
    };
    if let Some(a) = req.agency {
        p.agencies = vec![a];
    }
    p.bidders.extend(&req.bidders);
    p.handlers.extend(req.officials.iter().map(|&o| (o, None)));
    if let Some(d) = req.as_of {
        p.day = d;
    }
    p.normalize();
    let out = ask(snap, &st.preaward_asked, &p).map_err(|e| {
        tracing::error!("pre-award check failed: {e}");
        ApiError::internal("screen_failed")
    })?;
    let ids: Vec<String> = out.findings.iter().map(|f| f.id.clone()).collect();
    let ext = |v: &[u32]| {
        v.iter()
            .map(|&n| snap.ext(n).to_owned())
            .collect::<Vec<_>>()
    };
    let mut people: Vec<u32> = p.handlers.iter().map(|(n, _)| *n).collect();
    people.dedup();
    let checked = json!({
        "tender": req.tender.map(|t| snap.ext(t).to_owned()),
        "agency": p.agencies.first().map(|&a| snap.ext(a).to_owned()),
        "bidders": ext(&p.bidders),
        "officials": ext(&people),
        "method": "the rule files, asked of the given agency, bidders and people: each rule's pre-award form with the tender taken out, the variables next to it bound to the agency (RAN), the bidders (BID) and the people handling it (HANDLED), its publication day the day asked",
        "rules": out.rules,
        "not_asked": out.skipped.iter().map(|(r, why)| json!({"rule": r, "why": why})).collect::<Vec<_>>(),
        "as_of": Date(p.day).to_string(),
    });
    let verdict = out.findings.iter().map(|f| f.severity).max();
    let mut v = json!({
        "verdict": verdict.map_or("clear", |s| s.as_str()),
        "findings": out.findings,
        "checked": checked,
        "data_version": st.data_version(),
    });
    if out.findings.is_empty() {
        v["clearance"] =
            crate::clearance::issue(&st.key, &v["checked"], st.load(), &st.data_version());
    }
    Ok(Out::Json(v, ids))
}

pub(super) async fn verify_clearance(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Answer {
    let c = body_object(&body)?;
    if c.get("signature").and_then(Value::as_str).is_none() {
        return Err(ApiError::bad("bad_body", "no signature"));
    }
    let id = c["clearance_id"].as_str().map(str::to_owned);
    blocking(&st, &ctx, move |st| {
        let valid = crate::clearance::signed_by(&st.key, &c);
        let current = c.get("data_version") == Some(&st.data_version());
        // Checked again on the data this server holds: does the clearance still hold today?
        let still = if valid {
            match crate::clearance::recheck(&st.snap, &st.preaward_asked, &c["checked"]) {
                Ok(f) => json!({"load": st.load(), "clear": f.is_empty(), "findings": f.iter().map(|f| f.id.clone()).collect::<Vec<_>>()}),
                Err(e) => json!({"load": st.load(), "clear": null, "why": e.to_string()}),
            }
        } else {
            Value::Null
        };
        Ok(Out::Json(
            json!({"valid": valid, "data_unchanged_since": current,
                   "known_at": crate::clearance::known_at(&c), "recheck_now": still}),
            id.into_iter().collect(),
        ))
    })
    .await
}

/// What changed since load `since` (`engine::lifecycle`): new, resolved and changed findings
/// of the built-in rules, read from the findings store the loads were recorded in.
pub(super) async fn alerts(State(st): St, Extension(ctx): Extension<Ctx>, q: Params) -> Answer {
    let (offset, limit) = page(&st, &q)?;
    let since: u32 = match q.get("since") {
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad(
                "bad_parameter",
                "since must be a load number (0: from the start)",
            )
        })?,
        None => return Err(ApiError::bad("bad_parameter", "since is required")),
    };
    let now = st.load();
    if since > now {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("since {since}: the data is that of load {now}"),
        ));
    }
    let conflict =
        |msg: String| ApiError::new(axum::http::StatusCode::CONFLICT, "alerts_unavailable", msg);
    if !st.builtin_rules || st.known_at.is_some() {
        return Err(conflict("alerts compare the built-in rules' screenings of each load; this server screens with other rules (serve --rules) or shows a past load (serve --known-at)".into()));
    }
    let life = &st.lifecycle;
    if !life.recorded(since) || !life.recorded(now) {
        return Err(conflict(format!("the findings store has no screening of load {} (run `qinglian ingest` or restart the server to record it)", if life.recorded(since) { now } else { since })));
    }
    let rule = q.get("rule").cloned();
    blocking(&st, &ctx, move |st| {
        let all = feed(st, since, rule.as_deref())?;
        let page: Vec<&Value> = all.iter().skip(offset).take(limit).collect();
        let ids = page
            .iter()
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect();
        let v = json!({"since": since, "load": now, "total": all.len(), "offset": offset, "limit": limit,
                       "truncated": offset + page.len() < all.len(), "alerts": page, "data_version": st.data_version()});
        Ok(Out::Json(v, ids))
    })
    .await
}

/// The alert feed since load `since` (of one rule, or all): what `/v1/alerts` pages through
/// and the dashboard counts. The caller checks that the findings store can answer.
pub(super) fn feed(st: &AppState, since: u32, rule: Option<&str>) -> Result<Vec<Value>, ApiError> {
    let asked: std::collections::BTreeSet<&str> = st
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|r| rule.is_none_or(|x| x == *r))
        .collect();
    let now_found: Vec<Finding> = st
        .findings
        .iter()
        .filter(|f| asked.contains(f.pattern.as_str()))
        .cloned()
        .collect();
    let before = st.lifecycle.before(since, &asked);
    qinglian_engine::lifecycle::changes(&now_found, &before, Some(&st.lifecycle.lives)).map_err(
        |e| {
            tracing::error!("alerts failed: {e}");
            ApiError::internal("alerts_failed")
        },
    )
}

fn filter_findings<'a>(st: &'a AppState, q: &Params) -> Vec<&'a Finding> {
    st.findings
        .iter()
        .filter(|f| q.get("rule").is_none_or(|r| &f.pattern == r))
        .filter(|f| q.get("severity").is_none_or(|s| f.severity.as_str() == s))
        .filter(|f| q.get("official").is_none_or(|o| &f.official == o))
        .filter(|f| q.get("agency").is_none_or(|a| &f.agency == a))
        .collect()
}

pub(super) async fn findings(State(st): St, Extension(ctx): Extension<Ctx>, q: Params) -> Answer {
    let (offset, limit) = page(&st, &q)?;
    if let Some(s) = q
        .get("severity")
        .filter(|s| qinglian_rules::Severity::parse(s).is_none())
    {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("severity {s}: expected red, yellow or green"),
        ));
    }
    let bad = |k: &str, allowed: &[&str]| {
        q.get(k)
            .filter(|v| !allowed.contains(&v.as_str()))
            .map(|v| {
                ApiError::bad(
                    "bad_parameter",
                    format!("{k} {v}: expected one of {}", allowed.join(", ")),
                )
            })
    };
    if let Some(e) = bad("status", &["open", "confirmed", "dismissed"])
        .or_else(|| bad("sort", &["score", "-score", "rule", "severity"]))
    {
        return Err(e);
    }
    blocking(&st, &ctx, move |st| {
        // The list answers without decisions when the workbench store is held by another
        // server on this folder (say `serve --known-at` beside the live one), and says so;
        // filtering by decision needs them.
        let (status, unavailable) = match super::workbench::statuses(st) {
            Ok(m) => (m, false),
            Err(e) if q.get("status").is_some() => return Err(e),
            Err(_) => (Default::default(), true),
        };
        let of = |f: &Finding| status.get(&f.id).map_or("open", |s| s.status.as_str());
        let mut all = filter_findings(st, &q);
        if let Some(want) = q.get("status") {
            all.retain(|f| of(f) == want);
        }
        sort_findings(&mut all, q.get("sort").map(String::as_str));
        let page: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|f| {
                let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
                v["state"] = match status.get(&f.id) {
                    _ if unavailable => Value::Null,
                    None => json!({"status": "open", "stale": false, "assignee": null}),
                    Some(s) => json!({"status": s.status, "stale": s.stale, "assignee": s.assignee}),
                };
                v
            })
            .collect();
        let ids = page.iter().filter_map(|v| v["id"].as_str().map(str::to_owned)).collect();
        let mut v = json!({"total": all.len(), "offset": offset, "limit": limit, "truncated": offset + page.len() < all.len(), "findings": page, "data_version": st.data_version()});
        if unavailable {
            v["decisions_unavailable"] = true.into();
        }
        Ok(Out::Json(v, ids))
    })
    .await
}

/// The list's order: canonical (the engine's), by score either way, by rule, or red first.
fn sort_findings(all: &mut [&Finding], sort: Option<&str>) {
    match sort {
        Some("score") => all.sort_by(|a, b| a.score.total_cmp(&b.score)),
        Some("-score") => all.sort_by(|a, b| b.score.total_cmp(&a.score)),
        Some("rule") => all.sort_by(|a, b| a.pattern.cmp(&b.pattern)),
        Some("severity") => all.sort_by_key(|f| std::cmp::Reverse(f.severity)),
        _ => {}
    }
}

pub(super) async fn official_risk(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Answer {
    let n = person(&st, &ctx, &id)?;
    let ext = st.snap.ext(n).to_owned();
    let mine: Vec<&Finding> = st.findings.iter().filter(|f| f.official == ext).collect();
    let mut by_rule = std::collections::BTreeMap::new();
    for f in &mine {
        *by_rule.entry(f.pattern.clone()).or_insert(0usize) += 1;
    }
    let colour = mine.iter().map(|f| f.severity).max();
    let ids: Vec<String> = mine.iter().map(|f| f.id.clone()).collect();
    let v = json!({
        "official": node_json(&st.snap, n), "colour": colour.map_or("none", |c| c.as_str()), "findings": mine.len(),
        "by_rule": by_rule, "max_score": mine.iter().map(|f| f.score).fold(0.0, f64::max),
        "finding_ids": ids, "data_version": st.data_version(),
    });
    Ok(Out::Json(v, ids))
}

pub(super) async fn evidence(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Answer {
    let f = st
        .findings
        .iter()
        .find(|f| f.id == id)
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no finding {id} in the current screening; see /v1/findings"
            ))
        })?;
    blocking(&st, &ctx, move |st| evidence_bundle(st, &f)).await
}

/// The finding, its chain, the rows behind every edge and node (with the SHA-256 of the file
/// they came from), the rule's text and the data version; hashed and signed.
fn evidence_bundle(st: &AppState, f: &Finding) -> Result<Out, ApiError> {
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
        // The edge as it appears in the finding, plus the hash of its source file.
        let mut row = serde_json::to_value(e).map_err(|_| ApiError::internal("evidence"))?;
        if let (Some(file), Some(load)) = (&e.source.file, e.source.load) {
            row["source"]["file_sha256"] = file_sha(file, u64::from(load)).into();
        }
        rows.push(row);
    }
    let mut nodes = Vec::new();
    for n in &f.evidence.nodes {
        if let Some(x) = snap.lookup(&n.id) {
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
    Ok(Out::Json(
        json!({"bundle": bundle, "sha256": sha, "signature": signature}),
        vec![f.id.clone()],
    ))
}
