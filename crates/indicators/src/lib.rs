//! Procedural red flags of procurement, computed from OCDS compiled releases exactly as Open
//! Contracting's Cardinal (`ocdscardinal indicators`) computes them, so that a Qinglian run and a
//! Cardinal run on the same file can be compared value for value.
//!
//! The indicators: R003 short submission period, R018 single bid, R024 price close to the
//! winning bid, R025 excessive unsuccessful bids, R028 identical bid prices, R030 late bid won,
//! R035 all but the winning bid disqualified, R036 lowest bid disqualified, R038 excessive
//! disqualified bids, R044 business similarities between tenderers (shared address or contact),
//! R048 heterogeneous supplier, R058 heavily discounted bid. Each runs only when its section is
//! in the settings ([`Settings`]). Releases are read in file order (Cardinal's own tests run
//! single-threaded; its parallel runs can differ when an ocid repeats or currencies mix).
//!
//! The output has Cardinal's shape: `{"OCID": {ocid: {code: value}}, "Buyer": …,
//! "ProcuringEntity": …, "Tenderer": …, "Meta": {code: {name: value}}}`, groups present only when
//! something is flagged in them, `Meta` the quartiles and fences of the statistical indicators
//! rounded to four decimals.

mod fences;
mod fold;
pub mod release;
pub mod settings;
pub mod stats;
pub mod time;

pub use settings::{Settings, SettingsError};

use serde_json::{json, Map, Value};
use stats::Fraction;
use std::collections::BTreeMap;
use std::io::BufRead;

/// A result group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Per contracting process.
    Ocid,
    /// Per buyer.
    Buyer,
    /// Per procuring entity.
    ProcuringEntity,
    /// Per tenderer or supplier.
    Tenderer,
}

impl Group {
    /// Cardinal's name of the group.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Ocid => "OCID",
            Group::Buyer => "Buyer",
            Group::ProcuringEntity => "ProcuringEntity",
            Group::Tenderer => "Tenderer",
        }
    }
}

/// What a run found.
#[derive(Clone, Debug, Default)]
pub struct Output {
    /// Group → identifier → indicator code → value.
    pub results: BTreeMap<Group, BTreeMap<String, BTreeMap<&'static str, f64>>>,
    /// Indicator code → statistic name → value (quartiles and fences).
    pub meta: BTreeMap<&'static str, Vec<(String, f64)>>,
    /// Lines that were not a JSON value, with why (Cardinal skips them with a warning).
    pub skipped: Vec<(u64, String)>,
}

impl Output {
    fn set(&mut self, g: Group, id: &str, code: &'static str, v: f64) {
        self.results
            .entry(g)
            .or_default()
            .entry(id.to_owned())
            .or_default()
            .insert(code, v);
    }

    fn meta(&mut self, code: &'static str, name: &str, v: f64) {
        let m = self.meta.entry(code).or_default();
        match m.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => m.push((name.to_owned(), v)),
        }
    }

    /// Cardinal's JSON: the groups, and `Meta` (each value rounded to four decimals, half away
    /// from zero) when `with_meta`.
    pub fn to_json(&self, with_meta: bool) -> Value {
        let mut out = Map::new();
        for (g, ids) in &self.results {
            out.insert(g.as_str().to_owned(), json!(ids));
        }
        if with_meta {
            let meta: Map<String, Value> = self
                .meta
                .iter()
                .map(|(code, stats)| {
                    let m: Map<String, Value> = stats
                        .iter()
                        .map(|(n, v)| (n.clone(), json!((v * 10_000.0).round() / 10_000.0)))
                        .collect();
                    ((*code).to_owned(), Value::Object(m))
                })
                .collect();
            out.insert("Meta".to_owned(), Value::Object(meta));
        }
        Value::Object(out)
    }
}

/// What statistical indicators gather while releases are read.
#[derive(Debug, Default)]
struct Gathered {
    /// The one currency compared (R024, R058, R036).
    currency: Option<String>,
    /// Per ocid: (lowest losing bid − winning bid) / winning bid, and the two tenderers.
    ratios: BTreeMap<String, (f64, [String; 2])>,
    /// R025: per tenderer, processes won over processes with a valid bid.
    wins: BTreeMap<String, Fraction>,
    /// R038: disqualified over submitted bids, per buyer, procuring entity, tenderer.
    disq_buyer: BTreeMap<String, Fraction>,
    disq_entity: BTreeMap<String, Fraction>,
    disq_tenderer: BTreeMap<String, Fraction>,
    /// R048: per supplier, processes and classification prefixes.
    classes: BTreeMap<String, (u64, std::collections::BTreeSet<String>)>,
}

/// Runs the enabled indicators over JSON lines.
pub fn run<R: BufRead>(input: R, s: &Settings) -> std::io::Result<Output> {
    let mut out = Output::default();
    let mut g = Gathered::default();
    for (i, line) in input.split(b'\n').enumerate() {
        let line = line?;
        let n = i as u64 + 1;
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t.trim_end_matches('\r'),
            Err(e) => {
                out.skipped.push((n, format!("not UTF-8: {e}")));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(r) => fold::release(&r, s, &mut g, &mut out),
            Err(e) => out.skipped.push((n, format!("not JSON: {e}"))),
        }
    }
    fences::finish(s, &g, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(lines: &[serde_json::Value], ini: &str) -> Value {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let s = Settings::parse(ini).expect("settings");
        run(text.as_bytes(), &s).expect("run").to_json(false)
    }

    fn tenderer(id: &str, street: Option<&str>, country: &str, contact: &Value) -> Value {
        let mut address = json!({"countryName": country});
        if let Some(st) = street {
            address["streetAddress"] = json!(st);
        }
        json!({"id": id, "roles": ["tenderer"], "address": address, "contactPoint": contact.clone()})
    }

    #[test]
    fn r044_flags_a_shared_street_address_or_contact_and_nothing_weaker() {
        let shared_street = json!({"ocid": "a", "parties": [
            tenderer("T1", Some(" 文三路1号 "), "CN", &json!({})),
            tenderer("T2", Some("文三路1号"), "CN", &json!({})),
            tenderer("T3", Some("解放路2号"), "CN", &json!({})),
        ]});
        let country_only = json!({"ocid": "b", "parties": [
            tenderer("T4", None, "CN", &json!({})),
            tenderer("T5", None, "CN", &json!({})),
        ]});
        // The first field both give decides: different names, so the same email does not count.
        let first_field_decides = json!({"ocid": "c", "parties": [
            tenderer("T6", None, "CN", &json!({"name": "王", "email": "x@y.cn"})),
            tenderer("T7", None, "CN", &json!({"name": "李", "email": "x@y.cn"})),
        ]});
        let same_phone = json!({"ocid": "d", "parties": [
            tenderer("T8", None, "CN", &json!({"telephone": "0571-1"})),
            tenderer("T9", None, "CN", &json!({"telephone": "0571-1"})),
        ]});
        let out = run_on(
            &[shared_street, country_only, first_field_decides, same_phone],
            "[R044]\n",
        );
        assert_eq!(
            out,
            json!({"OCID": {"a": {"R044": 1.0}, "d": {"R044": 1.0}},
                   "Tenderer": {"T1": {"R044": 1.0}, "T2": {"R044": 1.0},
                                "T8": {"R044": 1.0}, "T9": {"R044": 1.0}}})
        );
    }

    #[test]
    fn only_configured_indicators_run_and_unknown_settings_are_refused() {
        let single =
            json!({"ocid": "x", "tender": {"procurementMethod": "open", "numberOfTenderers": 1}});
        assert_eq!(run_on(std::slice::from_ref(&single), ""), json!({}));
        assert_eq!(
            run_on(&[single], "[R018]\n"),
            json!({"OCID": {"x": {"R018": 1.0}}})
        );
        let e = Settings::parse("[R003]\ntreshold = 3\n").expect_err("a misspelt key");
        assert!(e.to_string().contains("treshold"), "{e}");
        let e = Settings::parse("[R999]\n").expect_err("an unknown indicator");
        assert!(e.to_string().contains("R999"), "{e}");
        let e = Settings::parse("[R003]\nthreshold = ten\n").expect_err("not a number");
        assert!(e.to_string().contains("an integer"), "{e}");
    }

    #[test]
    fn a_line_that_is_not_json_is_named_and_the_rest_is_read() {
        let s = Settings::parse("[R018]\n").expect("settings");
        let text = "{\"ocid\":\"x\",\"tender\":{\"procurementMethod\":\"open\",\"numberOfTenderers\":1}}\n{oops\n";
        let out = run(text.as_bytes(), &s).expect("run");
        assert_eq!(out.skipped.len(), 1);
        assert_eq!(out.skipped[0].0, 2);
        assert_eq!(out.to_json(false), json!({"OCID": {"x": {"R018": 1.0}}}));
    }
}
