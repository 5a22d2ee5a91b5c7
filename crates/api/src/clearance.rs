//! Clearances: the signed statement that a pre-award check found nothing. One names the load
//! whose data it was made on (`known_at`), so that `qinglian clearances verify` can check it
//! again against exactly what the database knew then — after any number of later loads — and
//! against the current data ([`recheck`]: the same rule files, `engine::proposal`).

use crate::sign::Key;
use qinglian_engine::findings::Finding;
use qinglian_engine::hypothesis::PreAward;
use qinglian_engine::proposal::{ask, Proposal};
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::{Date, NodeKind};
use serde_json::{json, Value};

/// Why a clearance cannot be checked again.
#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    /// Its `checked` block lacks a field or has one of the wrong type.
    #[error("the clearance's checked.{0} is missing or malformed")]
    Malformed(&'static str),
    /// An id it names is not in the data (or is another kind of entity).
    #[error("{0} is not in the data checked against (or is not a {1})")]
    Unknown(String, &'static str),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] qinglian_engine::EngineError),
}

/// A signed clearance for what `checked` describes, made on the data after load `known_at`
/// (`data_version` as the server reports it).
pub fn issue(key: &Key, checked: &Value, known_at: u32, data_version: &Value) -> Value {
    let mut id = [0u8; 8];
    rand::fill(&mut id);
    let mut clearance = json!({
        "clearance_id": id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "issued_at": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "result": "no finding",
        "checked": checked,
        "known_at": known_at,
        "data_version": data_version,
    });
    let sig = key.sign(&clearance);
    clearance["signature"] = sig.into();
    clearance
}

/// Whether `clearance` carries `key`'s signature of the rest of it.
pub fn signed_by(key: &Key, clearance: &Value) -> bool {
    let Some(sig) = clearance.get("signature").and_then(Value::as_str) else {
        return false;
    };
    let mut c = clearance.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("signature");
    }
    key.verify(&c, sig)
}

/// The load a clearance was made on: `known_at`, or (clearances made before it was recorded)
/// the last load of its data version.
pub fn known_at(clearance: &Value) -> Option<u32> {
    clearance
        .get("known_at")
        .and_then(Value::as_u64)
        .or_else(|| {
            clearance["data_version"]["loads"]
                .as_array()?
                .iter()
                .filter_map(|l| l["number"].as_u64())
                .max()
        })
        .and_then(|n| u32::try_from(n).ok())
}

/// The findings the pre-award rules `asked` raise on `snap` for what a clearance's `checked`
/// block names (tender, agency, bidders, officials, day): empty when the clearance still holds
/// there. A tender in the data brings its own agency, bidders and handlers, as when the check
/// was made; findings are those about the bidders checked.
pub fn recheck(
    snap: &Snapshot,
    asked: &[PreAward],
    checked: &Value,
) -> Result<Vec<Finding>, RecheckError> {
    let one = |k: &'static str, kind: NodeKind, kind_name: &'static str| match &checked[k] {
        Value::Null => Ok(None),
        Value::String(id) => snap
            .lookup(id)
            .filter(|&n| snap.kind_of(n) == kind)
            .map(Some)
            .ok_or_else(|| RecheckError::Unknown(id.clone(), kind_name)),
        _ => Err(RecheckError::Malformed(k)),
    };
    let many = |k: &'static str, kind: NodeKind, kind_name: &'static str| {
        let list = checked[k].as_array().ok_or(RecheckError::Malformed(k))?;
        list.iter()
            .map(|v| {
                let id = v.as_str().ok_or(RecheckError::Malformed(k))?;
                snap.lookup(id)
                    .filter(|&n| snap.kind_of(n) == kind)
                    .ok_or_else(|| RecheckError::Unknown(id.to_owned(), kind_name))
            })
            .collect::<Result<Vec<u32>, _>>()
    };
    let tender = one("tender", NodeKind::Tender, "tender")?;
    let agency = one("agency", NodeKind::Agency, "agency")?;
    let bidders = many("bidders", NodeKind::Company, "company")?;
    let officials = many("officials", NodeKind::Person, "person")?;
    // A tender without a publication day was checked on the day asked; today stands in.
    let day = match &checked["as_of"] {
        Value::Null => Date::today().0,
        v => {
            v.as_str()
                .and_then(|d| Date::parse(d).ok())
                .ok_or(RecheckError::Malformed("as_of"))?
                .0
        }
    };
    let mut p = match tender {
        Some(t) => Proposal::of_tender(snap, t, day),
        None => Proposal {
            label: "(no tender in the data)".into(),
            ..Proposal::default()
        },
    };
    if let Some(a) = agency {
        p.agencies = vec![a];
    }
    p.bidders.extend(&bidders);
    p.handlers.extend(officials.iter().map(|&o| (o, None)));
    p.day = day;
    p.normalize();
    let out = ask(snap, asked, &p)?;
    let wanted: Vec<&str> = bidders.iter().map(|&b| snap.ext(b)).collect();
    Ok(out
        .findings
        .into_iter()
        .filter(|f| wanted.contains(&f.target.as_str()) || wanted.contains(&f.target2.as_str()))
        .collect())
}
