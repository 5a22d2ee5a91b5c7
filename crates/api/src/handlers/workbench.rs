//! What the workbench adds to the API: the dashboard's counts, one finding with its decision and
//! rule, decisions on findings (status, assignee, a dismissal's reason, comments), and cases.
//! Decisions and cases are kept in the [`Casebook`](crate::casebook::Casebook); every change is
//! also a request, so the audit trail holds it with its body.

use super::{blocking, page, Answer, St};
use crate::casebook::{CaseChange, CaseError, Casebook, Decision, DecisionChange, Event, Stamp};
use crate::error::ApiError;
use crate::guard::Ctx;
use crate::reply::{Out, Params};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use qinglian_engine::findings::Finding;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> ApiError {
        match e {
            CaseError::Invalid(m) => ApiError::bad("bad_body", m),
            CaseError::NoCase(_) | CaseError::NoFinding(_) => ApiError::not_found(e.to_string()),
            CaseError::Exists(_) => {
                ApiError::new(StatusCode::CONFLICT, "case_exists", e.to_string())
            }
            CaseError::Store(_) | CaseError::Corrupt(_) => {
                tracing::error!("workbench store: {e}");
                ApiError::internal("workbench_store")
            }
        }
    }
}

/// A change's body: a JSON object without nulls (a field is given or left out), then typed.
fn change_body<T: serde::de::DeserializeOwned>(body: &Bytes, fields: &str) -> Result<T, ApiError> {
    let v = super::body_object(body)?;
    if v.as_object().is_none_or(serde_json::Map::is_empty) {
        return Err(ApiError::bad(
            "bad_body",
            format!("send a JSON object with one or more of {fields}"),
        ));
    }
    if let Some((k, _)) = v
        .as_object()
        .and_then(|o| o.iter().find(|(_, x)| x.is_null()))
    {
        return Err(ApiError::bad(
            "bad_body",
            format!("{k}: leave a field out rather than null"),
        ));
    }
    serde_json::from_value(v)
        .map_err(|e| ApiError::bad("bad_body", format!("expected {{{fields}}}: {e}")))
}

fn casebook(st: &AppState) -> Result<Arc<Casebook>, ApiError> {
    st.casebook().map_err(|e| {
        tracing::error!("{e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "workbench_unavailable",
            "the workbench store cannot be opened (is another server using this database?)",
        )
    })
}

fn stamp(ctx: &Ctx) -> Stamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Stamp {
        at: crate::time_text(secs),
        by: ctx.token_id.clone(),
    }
}

/// A decision as shown: the status in force on the current evidence. A dismissal made on other
/// evidence no longer holds (the finding is open again and `stale`); a confirmation stays,
/// marked `stale`.
fn shown(d: &Decision, digest: &str) -> (String, bool) {
    let stale = d.status != "open" && d.digest.as_deref() != Some(digest);
    let status = if stale && d.status == "dismissed" {
        "open".to_owned()
    } else {
        d.status.clone()
    };
    (status, stale)
}

/// Free text (reasons, comments, notes) may name anybody: analysts do not see it.
fn hide_text(ctx: &Ctx, history: &mut [Event]) {
    if ctx.pseudonymise() {
        for e in history {
            if e.text.is_some() {
                e.text = Some("(withheld from analysts)".into());
            }
        }
    }
}

fn state_json(ctx: &Ctx, d: &Decision, mut history: Vec<Event>, digest: &str) -> Value {
    let (status, stale) = shown(d, digest);
    hide_text(ctx, &mut history);
    let reason = if ctx.pseudonymise() {
        None
    } else {
        d.reason.clone()
    };
    json!({"status": status, "assignee": d.assignee, "reason": reason, "stale": stale,
           "decided_status": d.status, "history": history})
}

/// A finding's decision as a list shows it.
#[derive(Clone, Debug)]
pub(super) struct Shown {
    /// open, confirmed or dismissed, as in force on the current evidence.
    pub status: String,
    /// The evidence changed since the decision.
    pub stale: bool,
    /// Who works on it.
    pub assignee: Option<String>,
}

/// Every finding's status as shown, by id (findings without a decision are open).
pub(super) fn statuses(st: &AppState) -> Result<HashMap<String, Shown>, ApiError> {
    let cb = casebook(st)?;
    let mut out = HashMap::new();
    for (id, d) in cb.decisions()? {
        if let Some(digest) = st.digest_of(&id) {
            let (status, stale) = shown(&d, &digest);
            let assignee = d.assignee;
            out.insert(
                id,
                Shown {
                    status,
                    stale,
                    assignee,
                },
            );
        }
    }
    Ok(out)
}

fn finding<'a>(st: &'a AppState, id: &str) -> Result<&'a Finding, ApiError> {
    st.finding(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no finding {id} in the current screening; see /v1/findings"
        ))
    })
}

/// `GET /v1/findings/{id}`: the finding, its decision and its rule.
pub(super) async fn finding_one(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Answer {
    blocking(&st, &ctx.clone(), move |st| {
        let f = finding(st, &id)?;
        let digest = st.digest_of(&id).unwrap_or_default();
        // Without the workbench store (another server holds it) the finding is still shown,
        // its state null.
        let state = match casebook(st) {
            Ok(cb) => {
                let (d, h) = cb.decision(&id)?;
                state_json(&ctx, &d, h, &digest)
            }
            Err(_) => Value::Null,
        };
        let rule = st.rules.iter().find(|r| r.id == f.pattern).map_or(Value::Null, |r| {
            json!({"id": r.id, "source": r.source, "text": r.text, "doc": format!("docs/rules/{}.md", r.id)})
        });
        // Other signs on the same procedure (engine::related): the workbench shows them and
        // attaches them with this one. Their ids are in the audit record with this one's.
        let related: Vec<Value> = qinglian_engine::related::related(&st.snap, &st.findings, f)
            .into_iter()
            .map(|g| {
                // The entities its sentence names, by id: what pseudonymisation needs to find
                // a private person named in it.
                let entities: Vec<&str> = g.evidence.nodes.iter().map(|n| n.id.as_str()).collect();
                json!({"id": g.id, "pattern": g.pattern, "severity": g.severity,
                       "score": g.score, "explanation": g.explanation, "entities": entities})
            })
            .collect();
        let mut ids = vec![id];
        ids.extend(related.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)));
        let v = json!({"finding": f, "state": state, "rule": rule, "related": related,
                       "data_version": st.data_version()});
        Ok(Out::Json(v, ids))
    })
    .await
}

/// `POST /v1/findings/{id}/state`: sets status, assignee, reason; adds a comment.
pub(super) async fn finding_state(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let change: DecisionChange = change_body(&body, "status, assignee, reason, comment")?;
    blocking(&st, &ctx.clone(), move |st| {
        finding(st, &id)?;
        let digest = st.digest_of(&id).unwrap_or_default();
        let cb = casebook(st)?;
        cb.decide(&id, &digest, &change, stamp(&ctx))?;
        let (d, h) = cb.decision(&id)?;
        // The decision itself (what the finding page shows), with the finding's id.
        let mut v = state_json(&ctx, &d, h, &digest);
        v["id"] = id.clone().into();
        Ok(Out::Json(v, vec![id]))
    })
    .await
}

#[derive(Default)]
struct Colours {
    red: usize,
    yellow: usize,
    green: usize,
}

impl Colours {
    fn add(&mut self, f: &Finding) {
        match f.severity.as_str() {
            "red" => self.red += 1,
            "yellow" => self.yellow += 1,
            _ => self.green += 1,
        }
    }

    fn rank(&self) -> (usize, usize, usize) {
        (self.red, self.yellow, self.green)
    }

    fn highest(&self) -> &'static str {
        if self.red > 0 {
            "red"
        } else if self.yellow > 0 {
            "yellow"
        } else {
            "green"
        }
    }
}

fn top(st: &AppState, counts: BTreeMap<&str, Colours>, n: usize) -> Vec<Value> {
    let mut v: Vec<(&str, Colours)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.rank().cmp(&a.1.rank()).then(a.0.cmp(b.0)));
    v.into_iter()
        .take(n)
        .map(|(id, c)| {
            let name = st.snap.lookup(id).map_or("", |x| st.snap.name(x));
            json!({"id": id, "name": name, "highest": c.highest(), "red": c.red, "yellow": c.yellow, "green": c.green})
        })
        .collect()
}

/// What changed since the load before the one served, when the findings store can say.
fn new_since_last(st: &AppState) -> Value {
    let now = st.load();
    let since = now.saturating_sub(1);
    let life = &st.lifecycle;
    if !st.builtin_rules || st.known_at.is_some() || !life.recorded(since) || !life.recorded(now) {
        return Value::Null;
    }
    let Ok(all) = super::screening::feed(st, since, None) else {
        return Value::Null;
    };
    let count = |c: &str| all.iter().filter(|v| v["change"] == c).count();
    json!({"since": since, "new": count("new"), "resolved": count("resolved"), "changed": count("changed")})
}

/// `GET /v1/findings/summary`: red/yellow/green per rule, per agency and per official (the
/// twenty highest), and what is new since the last load.
pub(super) async fn summary(State(st): St, Extension(ctx): Extension<Ctx>) -> Answer {
    blocking(&st, &ctx, |st| {
        let mut rules: BTreeMap<&str, Colours> = st
            .rules
            .iter()
            .map(|r| (r.id.as_str(), Colours::default()))
            .collect();
        let mut agencies: BTreeMap<&str, Colours> = BTreeMap::new();
        let mut officials: BTreeMap<&str, Colours> = BTreeMap::new();
        for f in st.findings.iter() {
            rules.entry(&f.pattern).or_default().add(f);
            if !f.agency.is_empty() {
                agencies.entry(&f.agency).or_default().add(f);
            }
            if !f.official.is_empty() {
                officials.entry(&f.official).or_default().add(f);
            }
        }
        let rules: Vec<Value> = rules
            .iter()
            .map(|(r, c)| json!({"rule": r, "red": c.red, "yellow": c.yellow, "green": c.green}))
            .collect();
        let v = json!({"total": st.findings.len(), "load": st.load(), "rules": rules,
            "agencies": top(st, agencies, 20), "officials": top(st, officials, 20),
            "alerts": new_since_last(st), "data_version": st.data_version()});
        Ok(Out::Json(v, Vec::new()))
    })
    .await
}

fn case_json(
    st: &AppState,
    ctx: &Ctx,
    c: &crate::casebook::Case,
    mut history: Vec<Event>,
) -> Value {
    hide_text(ctx, &mut history);
    let findings: Vec<Value> = c
        .findings
        .iter()
        .map(|id| match st.finding(id) {
            Some(f) => json!({"id": id, "pattern": f.pattern, "severity": f.severity, "explanation": f.explanation}),
            None => json!({"id": id, "pattern": null, "severity": null, "explanation": "(not raised by the current data)"}),
        })
        .collect();
    let notes: Vec<Value> = history
        .iter()
        .filter(|e| e.text.is_some())
        .map(|e| json!({"at": e.stamp.at, "by": e.stamp.by, "text": e.text}))
        .collect();
    json!({"number": c.number, "title": c.title, "status": c.status, "assignee": c.assignee,
           "created": c.created, "findings": findings, "notes": notes, "history": history})
}

/// `GET /v1/cases`.
pub(super) async fn cases(State(st): St, Extension(ctx): Extension<Ctx>) -> Answer {
    blocking(&st, &ctx, |st| {
        let list: Vec<Value> = casebook(st)?
            .cases()?
            .iter()
            .map(|c| json!({"number": c.number, "title": c.title, "status": c.status, "assignee": c.assignee, "findings": c.findings.len(), "created": c.created}))
            .collect();
        Ok(Out::Json(json!({"cases": list}), Vec::new()))
    })
    .await
}

/// A new case.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCase {
    number: String,
    title: Option<String>,
}

/// `POST /v1/cases` `{"number", "title"}`.
pub(super) async fn case_create(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Answer {
    let new: NewCase = change_body(&body, "number, title")?;
    let (number, title) = (new.number, new.title.unwrap_or_default());
    blocking(&st, &ctx.clone(), move |st| {
        let cb = casebook(st)?;
        let c = cb.create(&number, &title, stamp(&ctx))?;
        let (c2, h) = cb.case(&c.number)?;
        Ok(Out::Json(case_json(st, &ctx, &c2, h), Vec::new()))
    })
    .await
}

/// `GET /v1/cases/{number}`.
pub(super) async fn case_get(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(number): Path<String>,
) -> Answer {
    blocking(&st, &ctx.clone(), move |st| {
        let (c, h) = casebook(st)?.case(&number)?;
        let ids = c.findings.clone();
        Ok(Out::Json(case_json(st, &ctx, &c, h), ids))
    })
    .await
}

/// `POST /v1/cases/{number}`: status, assignee, a note, findings attached or detached.
pub(super) async fn case_change(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(number): Path<String>,
    body: Bytes,
) -> Answer {
    let change: CaseChange = change_body(&body, "status, assignee, note, attach, detach")?;
    blocking(&st, &ctx.clone(), move |st| {
        let cb = casebook(st)?;
        cb.change(&number, &change, |f| st.finding(f).is_some(), stamp(&ctx))?;
        let (c, h) = cb.case(&number)?;
        Ok(Out::Json(case_json(st, &ctx, &c, h), Vec::new()))
    })
    .await
}

/// `GET /v1/cases/{number}/audit`: the audit records made under this case number.
pub(super) async fn case_audit(
    State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(number): Path<String>,
    q: Params,
) -> Answer {
    let (offset, limit) = page(&st, &q)?;
    crate::casebook::case_number(&number)?;
    blocking(&st, &ctx, move |st| {
        let filter = crate::audit::Filter { case: Some(number.clone()), text: None };
        let (recs, total) = st.audit.page(&st.db, &filter, offset, limit)
            .map_err(|_| ApiError::internal("audit_read"))?;
        Ok(Out::Json(
            json!({"case": number, "total": total, "offset": offset, "limit": limit, "records": recs}),
            Vec::new(),
        ))
    })
    .await
}
