//! Declaration spot-checks over HTTP: the sample (`GET /v1/declarations/sample`) and one
//! official's comparison sheet (`GET /v1/officials/{id}/declarations`, JSON, a printable HTML
//! page or CSV) — `engine::declarations`, the same as `qinglian declarations`.

use super::{blocking, date, person, Answer, St};
use crate::error::ApiError;
use crate::guard::Ctx;
use crate::reply::{Out, Params};
use axum::extract::Path;
use axum::Extension;
use qinglian_engine::declarations::{self, SampleOptions, Size};
use qinglian_model::NodeKind;
use serde_json::json;

fn list(q: &Params, k: &str) -> Vec<String> {
    q.get(k)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Most officials one sample may ask for, and the longest seed, agency or rank list.
const MAX_COUNT: usize = 100_000;
const MAX_TEXT: usize = 128;

/// `count` when given (it wins over `rate`), else `rate`, else a tenth of each stratum.
fn size(q: &Params) -> Result<Size, ApiError> {
    let bad = |m: String| ApiError::bad("bad_parameter", m);
    match (q.get("count"), q.get("rate")) {
        (Some(n), _) => match n.parse::<usize>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(Size::Count(n)),
            _ => Err(bad(format!(
                "count {n}: expected a whole number from 1 to {MAX_COUNT}"
            ))),
        },
        (None, Some(r)) => r
            .parse::<f64>()
            .map(Size::Rate)
            .map_err(|_| bad(format!("rate {r}: expected a number above 0 and at most 1"))),
        (None, None) => Ok(Size::Rate(0.1)),
    }
}

/// A text parameter within [`MAX_TEXT`] characters.
fn short<'a>(q: &'a Params, k: &str) -> Result<Option<&'a String>, ApiError> {
    match q.get(k) {
        Some(v) if v.chars().count() > MAX_TEXT => Err(ApiError::bad(
            "bad_parameter",
            format!("{k} is longer than {MAX_TEXT} characters"),
        )),
        v => Ok(v),
    }
}

/// `GET /v1/declarations/sample?seed=&rate=|count=&agency=&rank=&as_of=`.
pub(super) async fn sample(
    axum::extract::State(st): St,
    Extension(ctx): Extension<Ctx>,
    q: Params,
) -> Answer {
    short(&q, "agency")?;
    short(&q, "rank")?;
    let seed = short(&q, "seed")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad("bad_parameter", "seed is required"))?
        .clone();
    let opts = SampleOptions {
        seed,
        size: size(&q)?,
        agencies: list(&q, "agency"),
        ranks: list(&q, "rank"),
        as_of: date(&q, "as_of")?,
    };
    blocking(&st, &ctx, move |st| {
        // An agency the data does not hold is a missing resource, not a malformed request.
        if let Some(a) = opts.agencies.iter().find(|a| {
            st.snap
                .lookup(a)
                .is_none_or(|n| st.snap.kind_of(n) != NodeKind::Agency)
        }) {
            return Err(ApiError::not_found(format!("no agency with id {a}")));
        }
        let s =
            declarations::sample(&st.snap, &opts).map_err(|m| ApiError::bad("bad_parameter", m))?;
        let ids = s.officials.iter().map(|d| d.official.clone()).collect();
        Ok(Out::Json(
            json!({"sample": s, "data_version": st.data_version()}),
            ids,
        ))
    })
    .await
}

/// `GET /v1/officials/{id}/declarations?format=json|html|csv`.
pub(super) async fn sheet(
    axum::extract::State(st): St,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    q: Params,
) -> Answer {
    let n = person(&st, &ctx, &id)?;
    let format = q.get("format").map_or("json", String::as_str).to_owned();
    if !["json", "html", "csv"].contains(&format.as_str()) {
        return Err(ApiError::bad(
            "bad_parameter",
            format!("format {format}: expected json, html or csv"),
        ));
    }
    blocking(&st, &ctx, move |st| {
        let sh =
            declarations::sheet(&st.snap, &st.rules, "undeclared_interest", n).map_err(|e| {
                tracing::error!("declaration sheet: {e}");
                ApiError::internal("sheet_failed")
            })?;
        let mut ids = vec![sh.official.clone()];
        ids.extend(sh.discovered.iter().map(|i| i.subject.clone()));
        let file = |body: Vec<u8>, mime: &'static str, ext: &str| Out::File {
            body,
            mime,
            name: format!(
                "declarations-{}.{ext}",
                sh.official
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            ),
            truncated: false,
            ids: ids.clone(),
        };
        let failed = |e: qinglian_export::ExportError| {
            tracing::error!("declaration sheet: {e}");
            ApiError::internal("sheet_failed")
        };
        Ok(match format.as_str() {
            "html" => file(
                qinglian_export::sheet::html(None, std::slice::from_ref(&sh))
                    .map_err(failed)?
                    .into_bytes(),
                "text/html",
                "html",
            ),
            "csv" => file(
                qinglian_export::sheet::csv(std::slice::from_ref(&sh)).map_err(failed)?,
                "text/csv",
                "csv",
            ),
            _ => Out::Json(
                json!({"sheet": sh, "data_version": st.data_version()}),
                ids.clone(),
            ),
        })
    })
    .await
}
