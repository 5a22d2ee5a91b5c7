//! Reading an OCDS compiled release the way Cardinal reads it: every field is checked for its
//! JSON type, and anything of the wrong type is as if absent (never an error).

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// `v[key]` when `v` is an object.
pub fn get<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    v?.as_object()?.get(key)
}

/// `v[key]` when it is an object.
pub fn obj<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Map<String, Value>> {
    get(v, key)?.as_object()
}

/// `v[key]` as a JSON object value (for chaining).
pub fn objv<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    get(v, key).filter(|x| x.is_object())
}

/// `v[key]` when it is an array.
pub fn arr<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Vec<Value>> {
    get(v, key)?.as_array()
}

/// `v[key]` when it is a string.
pub fn text<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    get(v, key)?.as_str()
}

/// A JSON number as a finite float.
pub fn number(v: Option<&Value>) -> Option<f64> {
    v?.as_f64().filter(|x| x.is_finite())
}

/// Whether `v.status` is the string `status`.
pub fn has_status(v: &Value, status: &str) -> bool {
    text(Some(v), "status") == Some(status)
}

/// The string ids of `v[key][]`.
pub fn ids<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    arr(Some(v), key)
        .into_iter()
        .flatten()
        .filter_map(|x| text(Some(x), "id"))
}

/// Whether the tender was cancelled (such releases are skipped).
pub fn is_cancelled(r: &Value) -> bool {
    text(objv(Some(r), "tender"), "status") == Some("cancelled")
}

/// Whether `tender.procurementMethod` is in `allowed` (an empty set allows every method, and a
/// missing method only then).
pub fn method_allowed(tender: &Value, allowed: &BTreeSet<String>) -> bool {
    allowed.is_empty()
        || text(Some(tender), "procurementMethod").is_some_and(|m| allowed.contains(m))
}

/// `tender.procurementMethodDetails` against an allow list (when not empty) or a deny list.
pub fn details_allowed(r: &Value, include: &BTreeSet<String>, exclude: &BTreeSet<String>) -> bool {
    match text(objv(Some(r), "tender"), "procurementMethodDetails") {
        Some(d) if include.is_empty() => !exclude.contains(d),
        Some(d) => include.contains(d),
        None => include.is_empty(),
    }
}

/// The bids that were submitted: a string status other than invited or withdrawn.
pub fn submitted(r: &Value) -> Vec<&Value> {
    arr(objv(Some(r), "bids"), "details")
        .into_iter()
        .flatten()
        .filter(|b| text(Some(b), "status").is_some_and(|s| s != "invited" && s != "withdrawn"))
        .collect()
}

/// The active awards and the bids, when every award with a status is final (active, cancelled
/// or unsuccessful); `None` when a pending one leaves the outcome open, or when there are no
/// award or bid arrays.
pub fn final_awards(r: &Value) -> Option<(Vec<&Value>, &Vec<Value>)> {
    let awards = arr(Some(r), "awards")?;
    let bids = arr(objv(Some(r), "bids"), "details")?;
    let mut active = Vec::new();
    for a in awards {
        match text(Some(a), "status") {
            None | Some("cancelled" | "unsuccessful") => {}
            Some("active") => active.push(a),
            Some(_) => return None,
        }
    }
    Some((active, bids))
}

/// The single supplier of the single active award when every award is final, and the bids.
pub fn sole_supplier(r: &Value) -> Option<(&str, &Vec<Value>)> {
    let (active, bids) = final_awards(r)?;
    let [award] = active.as_slice() else {
        return None;
    };
    let [supplier] = arr(Some(award), "suppliers")?.as_slice() else {
        return None;
    };
    Some((text(Some(supplier), "id")?, bids))
}

/// `(tenderer, amount, currency)` of the valid bids by one tenderer with an amount.
pub fn valid_bids(bids: &[Value]) -> Vec<(&str, f64, &str)> {
    bids.iter()
        .filter_map(|b| {
            let status = text(Some(b), "status")?;
            let value = objv(Some(b), "value");
            let amount = number(get(value, "amount"))?;
            let currency = text(value, "currency")?;
            let [t] = arr(Some(b), "tenderers")?.as_slice() else {
                return None;
            };
            let id = text(Some(t), "id")?;
            (status == "valid").then_some((id, amount, currency))
        })
        .collect()
}
