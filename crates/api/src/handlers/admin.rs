//! Tokens, loads and the audit trail.

use super::screening::body_object;
use super::{blocking, page, Answer, St};
use crate::auth::Role;
use crate::error::ApiError;
use crate::guard::Ctx;
use crate::reply::{Out, Params};
use crate::time_text;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Extension;
use serde_json::{json, Value};

pub(super) async fn list_tokens(State(st): St) -> Answer {
    let ts = st.tokens.list().map_err(|_| ApiError::internal("tokens"))?;
    let v: Vec<Value> = ts
        .iter()
        .map(|t| {
            json!({"id": t.id, "role": t.role, "created": t.created, "created_at": time_text(t.created),
                   "expires": t.expires, "expires_at": time_text(t.expires), "revoked": t.revoked, "note": t.note})
        })
        .collect();
    Ok(Out::Json(
        json!({"tokens": v}),
        ts.iter().map(|t| t.id.clone()).collect(),
    ))
}

/// Longest lifetime of a token, days.
const MAX_DAYS: i64 = 3650;

pub(super) async fn create_token(State(st): St, body: Bytes) -> Answer {
    let b = body_object(&body)?;
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
    let days = match b.get("days") {
        None => 90,
        Some(d) => d
            .as_f64()
            .filter(|d| d.fract() == 0.0 && (1.0..=MAX_DAYS as f64).contains(d))
            .map(|d| d as i64)
            .ok_or_else(|| {
                ApiError::bad(
                    "bad_body",
                    format!("days must be a whole number from 1 to {MAX_DAYS}"),
                )
            })?,
    };
    let note = match b.get("note") {
        None => "",
        Some(Value::String(s)) if s.len() <= 256 => s.as_str(),
        Some(_) => {
            return Err(ApiError::bad(
                "bad_body",
                "note must be text of at most 256 bytes",
            ))
        }
    };
    let note = note.to_owned();
    // The token file is locked while it changes: wait for the lock off the async threads.
    let st2 = st.clone();
    let (rec, token) =
        tokio::task::spawn_blocking(move || st2.tokens.create(role, days.unsigned_abs(), &note))
            .await
            .map_err(|_| ApiError::internal("tokens"))?
            .map_err(|_| ApiError::internal("tokens"))?;
    Ok(Out::Json(
        json!({"id": rec.id, "role": rec.role, "expires": rec.expires, "expires_at": time_text(rec.expires), "token": token}),
        vec![rec.id],
    ))
}

pub(super) async fn revoke_token(State(st): St, Path(id): Path<String>) -> Answer {
    let (st2, id2) = (st.clone(), id.clone());
    let r = tokio::task::spawn_blocking(move || st2.tokens.revoke(&id2))
        .await
        .map_err(|_| ApiError::internal("tokens"))?;
    match r {
        Ok(true) => Ok(Out::Json(json!({"revoked": id}), vec![id])),
        Ok(false) => Err(ApiError::not_found(format!("no token {id}"))),
        Err(_) => Err(ApiError::internal("tokens")),
    }
}

pub(super) async fn loads(State(st): St) -> Answer {
    let v: Vec<Value> = st
        .loads
        .iter()
        .map(|l| json!({"number": l.number, "bundle_sha256": l.bundle_hash, "unix_time": l.unix_time, "time": time_text(l.unix_time), "warnings": l.warnings,
                        "files": l.files.iter().map(|f| json!({"name": f.name, "sha256": f.sha256, "read": f.read, "loaded": f.loaded, "merged": f.merged, "warned": f.warned})).collect::<Vec<_>>()}))
        .collect();
    Ok(Out::Json(
        json!({"loads": v, "generation": st.generation}),
        Vec::new(),
    ))
}

pub(super) async fn audit_list(State(st): St, Extension(ctx): Extension<Ctx>, q: Params) -> Answer {
    let (offset, limit) = page(&st, &q)?;
    let some = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let filter = crate::audit::Filter {
        case: some("case"),
        text: some("q"),
    };
    blocking(&st, &ctx, move |st| {
        let (recs, total) = st
            .audit
            .page(&st.db, &filter, offset, limit)
            .map_err(|_| ApiError::internal("audit_read"))?;
        Ok(Out::Json(
            json!({"total": total, "offset": offset, "limit": limit, "records": recs}),
            Vec::new(),
        ))
    })
    .await
}

pub(super) async fn audit_verify(State(st): St, Extension(ctx): Extension<Ctx>) -> Answer {
    blocking(&st, &ctx, |st| {
        Ok(Out::Json(
            match crate::audit::verify_full(&st.db) {
                Ok(rep) => json!({"valid": true, "records": rep.records, "head": rep.last_hash,
                                  "sealed_segments": rep.sealed.iter().map(|(f, d)| json!({"file": f, "note": d})).collect::<Vec<_>>()}),
                Err(b) => json!({"valid": false, "problem": b.problem, "verified_records": b.good_records}),
            },
            Vec::new(),
        ))
    })
    .await
}
