//! What each indicator does with one release: flag it now (R003, R018, R028, R030, R035, R036,
//! R044) or gather what the fences of R024, R025, R038, R048 and R058 need.

use crate::release::{
    arr, details_allowed, final_awards, get, has_status, ids, is_cancelled, method_allowed, number,
    objv, sole_supplier, submitted, text, valid_bids,
};
use crate::settings::Settings;
use crate::{time, Gathered, Group, Output};
use serde_json::Value;
use std::collections::BTreeSet;

/// Folds one release into the run, in Cardinal's order.
pub(crate) fn release(r: &Value, s: &Settings, g: &mut Gathered, out: &mut Output) {
    let Some(ocid) = text(Some(r), "ocid") else {
        return;
    };
    let none = BTreeSet::new();
    if is_cancelled(r) || !details_allowed(r, &none, &s.excluded_procurement_method_details) {
        return;
    }
    if s.r024.is_some() || s.r058.is_some() {
        bid_ratio(r, ocid, s, g);
    }
    if s.r003.is_some() {
        r003(r, ocid, s, out);
    }
    if s.r018.is_some() {
        r018(r, ocid, s, out);
    }
    if s.r025.is_some() {
        r025(r, g);
    }
    if s.r028 {
        r028(r, ocid, s, out);
    }
    if s.r030 {
        r030(r, ocid, out);
    }
    if s.r035.is_some() {
        r035(r, ocid, s, out);
    }
    if s.r036 {
        r036(r, ocid, s, g, out);
    }
    if s.r038.is_some() {
        r038(r, g);
    }
    if s.r044 {
        r044(r, ocid, out);
    }
    if s.r048.is_some() {
        r048(r, s, g);
    }
}

/// Whether prices of this release are compared (R024, R058, R028, R036).
fn prices_compared(r: &Value, s: &Settings) -> bool {
    details_allowed(
        r,
        &s.price_comparison_procurement_methods,
        &s.no_price_comparison_procurement_methods,
    )
}

/// The one currency compared: the configured one, or the first seen.
fn same_currency(c: &str, s: &Settings, g: &mut Gathered) -> bool {
    let chosen = g
        .currency
        .get_or_insert_with(|| s.currency.clone().unwrap_or_else(|| c.to_owned()));
    chosen == c
}

/// The ratio of the lowest losing bid to the winning bid, when the lowest bid won.
fn bid_ratio(r: &Value, ocid: &str, s: &Settings, g: &mut Gathered) {
    if !prices_compared(r, s) {
        return;
    }
    let Some((supplier, bids)) = sole_supplier(r) else {
        return;
    };
    let mut winner: Option<(&str, f64)> = None;
    let mut loser: Option<(&str, f64)> = None;
    for (t, amount, currency) in valid_bids(bids) {
        if !same_currency(currency, s, g) {
            continue;
        }
        let slot = if t == supplier {
            &mut winner
        } else {
            &mut loser
        };
        if slot.is_none_or(|(_, a)| amount < a) {
            *slot = Some((t, amount));
        }
    }
    if let (Some((w, wa)), Some((l, la))) = (winner, loser) {
        if la >= wa {
            let pair = [w.to_owned(), l.to_owned()];
            g.ratios.insert(ocid.to_owned(), ((la - wa) / wa, pair));
        }
    }
}

fn r003(r: &Value, ocid: &str, s: &Settings, out: &mut Output) {
    let (Some(cfg), Some(tender)) = (&s.r003, objv(Some(r), "tender")) else {
        return;
    };
    if !method_allowed(tender, &cfg.procurement_methods) {
        return;
    }
    let period = objv(Some(tender), "tenderPeriod");
    let start = text(period, "startDate").and_then(time::parse);
    let end = text(period, "endDate").and_then(time::parse);
    let (Some(start), Some(end)) = (start, end) else {
        return;
    };
    let threshold = text(Some(tender), "procurementMethodDetails")
        .and_then(|d| cfg.procurement_method_details.get(d).copied())
        .unwrap_or(cfg.threshold.unwrap_or(15));
    if time::days_between(start, end) < i128::from(threshold) {
        out.set(Group::Ocid, ocid, "R003", 1.0);
    }
}

fn r018(r: &Value, ocid: &str, s: &Settings, out: &mut Output) {
    let Some(tender) = objv(Some(r), "tender") else {
        return;
    };
    let default = crate::settings::pipe_set("open|selective");
    let methods = s.r018.as_ref().and_then(Option::as_ref).unwrap_or(&default);
    if !method_allowed(tender, methods) {
        return;
    }
    // Only the whole number 1: `1.0` is not a count of tenderers.
    let n = get(Some(tender), "numberOfTenderers");
    if n.is_some_and(|v| v.is_number() && v.as_u64().unwrap_or(0) == 1) {
        out.set(Group::Ocid, ocid, "R018", 1.0);
    }
}

fn r025(r: &Value, g: &mut Gathered) {
    let Some((supplier, bids)) = sole_supplier(r) else {
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for b in bids {
        let Some([t]) = arr(Some(b), "tenderers").map(Vec::as_slice) else {
            continue;
        };
        if let (Some(id), true) = (text(Some(t), "id"), has_status(b, "valid")) {
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
    }
    for id in seen {
        g.wins
            .entry(id.to_owned())
            .or_default()
            .add(u64::from(id == supplier), 1);
    }
}

fn r028(r: &Value, ocid: &str, s: &Settings, out: &mut Output) {
    if !prices_compared(r, s) {
        return;
    }
    // Price (as bits of a float where -0 = 0, and currency) → the tenderers who bid it last.
    let mut prices: Vec<((u64, &str), BTreeSet<&str>)> = Vec::new();
    for b in submitted(r) {
        let value = objv(Some(b), "value");
        let (Some(amount), Some(currency)) =
            (number(get(value, "amount")), text(value, "currency"))
        else {
            continue;
        };
        if arr(Some(b), "tenderers").is_none() {
            continue;
        }
        let who: BTreeSet<&str> = ids(b, "tenderers").collect();
        if who.is_empty() {
            continue;
        }
        let key = ((amount + 0.0).to_bits(), currency);
        match prices.iter_mut().find(|(k, _)| *k == key) {
            Some((_, other)) => {
                if *other != who {
                    out.set(Group::Ocid, ocid, "R028", 1.0);
                    for t in who.iter().chain(other.iter()) {
                        out.set(Group::Tenderer, t, "R028", 1.0);
                    }
                }
                *other = who;
            }
            None => prices.push((key, who)),
        }
    }
}

fn r030(r: &Value, ocid: &str, out: &mut Output) {
    let end = text(objv(objv(Some(r), "tender"), "tenderPeriod"), "endDate");
    let awards = arr(Some(r), "awards");
    let bids = arr(objv(Some(r), "bids"), "details");
    let (Some(end), Some(awards), Some(bids)) = (end, awards, bids) else {
        return;
    };
    let winners: BTreeSet<&str> = awards
        .iter()
        .filter(|a| has_status(a, "active"))
        .flat_map(|a| ids(a, "suppliers"))
        .collect();
    for b in bids {
        // Dates compared as text, as Cardinal compares them.
        let late = text(Some(b), "date").is_some_and(|d| d > end);
        if !(late && has_status(b, "valid")) {
            continue;
        }
        for t in ids(b, "tenderers").filter(|t| winners.contains(t)) {
            out.set(Group::Ocid, ocid, "R030", 1.0);
            out.set(Group::Tenderer, t, "R030", 1.0);
        }
    }
}

fn r035(r: &Value, ocid: &str, s: &Settings, out: &mut Output) {
    let Some((active, bids)) = final_awards(r) else {
        return;
    };
    let winners: BTreeSet<&str> = active.iter().flat_map(|a| ids(a, "suppliers")).collect();
    let mut valid: Vec<&str> = Vec::new();
    let mut disqualified: BTreeSet<&str> = BTreeSet::new();
    for b in bids {
        if arr(Some(b), "tenderers").is_none() {
            continue;
        }
        let valid_bid = has_status(b, "valid");
        if !valid_bid && !has_status(b, "disqualified") {
            continue;
        }
        for t in ids(b, "tenderers") {
            if !valid_bid {
                disqualified.insert(t);
            } else if !valid.contains(&t) {
                valid.push(t);
            }
        }
    }
    let [only] = valid.as_slice() else {
        return;
    };
    if winners.len() != 1 || !winners.contains(only) {
        return;
    }
    let others = disqualified.iter().filter(|t| *t != only).count() as u64;
    let threshold = s.r035.flatten().unwrap_or(1).max(1);
    if others >= threshold {
        out.set(Group::Ocid, ocid, "R035", others as f64);
        out.set(Group::Tenderer, only, "R035", 0.0);
    }
}

fn r036(r: &Value, ocid: &str, s: &Settings, g: &mut Gathered, out: &mut Output) {
    if !prices_compared(r, s) {
        return;
    }
    let awarded = arr(Some(r), "awards").is_some_and(|a| a.iter().any(|x| has_status(x, "active")));
    if !awarded {
        return;
    }
    let (mut lowest, mut lowest_disqualified, mut any_valid) = (None::<f64>, false, false);
    for b in submitted(r) {
        let value = objv(Some(b), "value");
        let (Some(status), Some(amount), Some(currency)) = (
            text(Some(b), "status"),
            number(get(value, "amount")),
            text(value, "currency"),
        ) else {
            continue;
        };
        if !same_currency(currency, s, g) {
            continue;
        }
        if lowest.is_none_or(|l| amount < l) {
            lowest = Some(amount);
            lowest_disqualified = status == "disqualified";
        }
        any_valid |= status == "valid";
    }
    if any_valid && lowest_disqualified {
        out.set(Group::Ocid, ocid, "R036", 1.0);
    }
}

fn r038(r: &Value, g: &mut Gathered) {
    let bids = submitted(r);
    if bids.is_empty() {
        return;
    }
    let mut disqualified = 0u64;
    for b in &bids {
        let d = u64::from(has_status(b, "disqualified"));
        disqualified += d;
        for t in ids(b, "tenderers") {
            g.disq_tenderer.entry(t.to_owned()).or_default().add(d, 1);
        }
    }
    let n = bids.len() as u64;
    if let Some(buyer) = text(objv(Some(r), "buyer"), "id") {
        g.disq_buyer
            .entry(buyer.to_owned())
            .or_default()
            .add(disqualified, n);
    }
    let entity = text(objv(objv(Some(r), "tender"), "procuringEntity"), "id");
    if let Some(pe) = entity {
        g.disq_entity
            .entry(pe.to_owned())
            .or_default()
            .add(disqualified, n);
    }
}

/// A tenderer's address for comparison (only when it has a street address): the lower-cased,
/// trimmed parts, each followed by a space.
fn address_key(party: &Value) -> Option<String> {
    let a = objv(Some(party), "address")?;
    a.get("streetAddress")?;
    let mut key = String::new();
    for f in [
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "countryName",
    ] {
        if let Some(v) = text(Some(a), f) {
            key.push_str(v.to_lowercase().trim());
            key.push(' ');
        }
    }
    Some(key)
}

/// Whether two contact points agree on the first of name, email, telephone, fax and URL that
/// both give.
fn same_contact(a: Option<&Value>, b: Option<&Value>) -> bool {
    let (Some(a), Some(b)) = (a.filter(|v| v.is_object()), b.filter(|v| v.is_object())) else {
        return false;
    };
    ["name", "email", "telephone", "faxNumber", "url"]
        .iter()
        .find_map(|f| Some((text(Some(a), f)?, text(Some(b), f)?)))
        .is_some_and(|(x, y)| x == y)
}

fn r044(r: &Value, ocid: &str, out: &mut Output) {
    let Some(parties) = arr(Some(r), "parties") else {
        return;
    };
    let mut tenderers: Vec<(&str, Option<String>, Option<&Value>)> = Vec::new();
    for p in parties {
        let is_tenderer = arr(Some(p), "roles")
            .is_some_and(|roles| roles.iter().any(|x| x.as_str() == Some("tenderer")));
        if let (true, Some(id)) = (is_tenderer, text(Some(p), "id")) {
            let entry = (id, address_key(p), get(Some(p), "contactPoint"));
            match tenderers.iter_mut().find(|t| t.0 == id) {
                Some(slot) => *slot = entry,
                None => tenderers.push(entry),
            }
        }
    }
    for (a, addr_a, contact_a) in &tenderers {
        for (b, addr_b, contact_b) in &tenderers {
            let same_address = addr_a.is_some() && addr_a == addr_b;
            if a != b && (same_address || same_contact(*contact_b, *contact_a)) {
                out.set(Group::Ocid, ocid, "R044", 1.0);
                out.set(Group::Tenderer, a, "R044", 1.0);
            }
        }
    }
}

fn r048(r: &Value, s: &Settings, g: &mut Gathered) {
    let digits = s.r048.as_ref().and_then(|c| c.digits).unwrap_or(2) as usize;
    let mut counted: BTreeSet<&str> = BTreeSet::new();
    for a in arr(Some(r), "awards").into_iter().flatten() {
        let Some([supplier]) = arr(Some(a), "suppliers").map(Vec::as_slice) else {
            continue;
        };
        let (Some(id), Some(items)) = (text(Some(supplier), "id"), arr(Some(a), "items")) else {
            continue;
        };
        if !has_status(a, "active") {
            continue;
        }
        for item in items {
            let Some(code) = text(objv(Some(item), "classification"), "id") else {
                continue;
            };
            let entry = g.classes.entry(id.to_owned()).or_default();
            if counted.insert(id) {
                entry.0 += 1;
            }
            entry.1.insert(code.chars().take(digits).collect());
        }
    }
}
