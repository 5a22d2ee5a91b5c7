//! The findings store: what the screening after each load raised, under each finding's stable
//! id, so that a finding keeps one identity across loads (first seen, last seen, open or
//! resolved) and "what changed since load N" is a read of the store rather than a second
//! screening of the database as it was after N.
//!
//! The store does not know what a finding is. The engine hands it, per finding, its id, its
//! rule, a digest of everything that makes two sightings the same finding in the same words
//! (evidence, colour, score), and a small opaque head (who, what, which tender) to describe a
//! finding after it stopped holding. Keys: `A/<id>` → [`Life`]; `R/<load, big-endian>` →
//! [`Screened`] (which rules screened that load), written in the same batch, so a load is
//! recorded whole or not at all; `I/<load>` → [`Imported`] when that screening was computed
//! elsewhere and imported.
//!
//! Only a rule that screened a load can resolve its findings there: a load screened with
//! fewer rules leaves the others' findings as they were ("not asked" is not "no longer true").

use crate::{Batch, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const LIFE: &[u8] = b"A/";
const SCREENED: &[u8] = b"R/";
const IMPORTED: &[u8] = b"I/";

/// One finding's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Life {
    /// The rule that raises it.
    pub rule: String,
    /// Its changes, in load order: `(load, Some(digest))` when a screening after that load
    /// raised it with that digest, `(load, None)` when one no longer did. Only changes are kept.
    pub history: Vec<(u32, Option<u128>)>,
    /// The last load after which it held.
    pub last_seen: u32,
    /// The engine's description of it when last seen (opaque here).
    pub head: Vec<u8>,
}

impl Life {
    /// The load it was first raised after.
    pub fn first_seen(&self) -> u32 {
        self.history.first().map_or(0, |h| h.0)
    }

    /// Its digest after load `load`, or `None` if it did not hold then (or was not yet seen).
    pub fn at(&self, load: u32) -> Option<u128> {
        self.history
            .iter()
            .take_while(|h| h.0 <= load)
            .last()
            .and_then(|h| h.1)
    }

    /// Whether it held after the last recorded load.
    pub fn open(&self) -> bool {
        self.history.last().is_some_and(|h| h.1.is_some())
    }

    /// The load after which it stopped holding, when it no longer does.
    pub fn resolved_at(&self) -> Option<u32> {
        match self.history.last() {
            Some((l, None)) => Some(*l),
            _ => None,
        }
    }
}

/// Which rules screened a load, and what they raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screened {
    /// The rule ids, sorted.
    pub rules: Vec<String>,
    /// Findings raised.
    pub findings: u64,
}

/// Where a load's screening came from when it was not the engine's own: a file of findings
/// computed from the exported graph (on Spark or DuckDB) and confirmed one by one by the
/// engine (`qinglian findings import`). A separate record (`I/<load>`), so that [`Screened`]
/// keeps the encoding older databases have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    /// The file's name as given.
    pub file: String,
    /// XXH3-128 of its bytes, in hex.
    pub digest: String,
    /// Its lines holding a finding.
    pub lines: u64,
}

/// The loads whose screening was imported.
pub fn imported<S: Store>(store: &S) -> Result<BTreeMap<u32, Imported>, StoreError> {
    by_load(store, IMPORTED)
}

/// One finding as a screening raised it.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// Stable id.
    pub id: String,
    /// Its rule.
    pub rule: String,
    /// What makes two sightings the same in the same words.
    pub digest: u128,
    /// The engine's description of it.
    pub head: Vec<u8>,
}

/// What recording a load changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Findings raised for the first time (or again after being resolved).
    pub new: usize,
    /// Findings that held before and no longer do.
    pub resolved: usize,
    /// Findings that still hold with other evidence, colour or score.
    pub changed: usize,
}

/// The loads recorded so far.
pub fn screened<S: Store>(store: &S) -> Result<BTreeMap<u32, Screened>, StoreError> {
    by_load(store, SCREENED)
}

/// Every finding ever recorded, by id.
pub fn lives<S: Store>(store: &S) -> Result<BTreeMap<String, Life>, StoreError> {
    let mut out = BTreeMap::new();
    for kv in store.scan_prefix(LIFE) {
        let (k, v) = kv?;
        let id = String::from_utf8_lossy(&k[LIFE.len()..]).into_owned();
        out.insert(id, decode(&k, &v)?);
    }
    Ok(out)
}

/// Records the screening of `load` by `rules`: every sighting is seen at `load`; every open
/// finding of one of `rules` not sighted is resolved at `load`. Loads are recorded in order:
/// a load at or before the last recorded one is refused, so history never has to be rewritten.
pub fn record<S: Store>(
    store: &S,
    load: u32,
    rules: &[String],
    sightings: Vec<Sighting>,
) -> Result<Recorded, StoreError> {
    record_with(store, load, rules, sightings, None)
}

/// Records the screening of `load` as [`record`] does, when it was computed elsewhere and
/// imported (`qinglian findings import`): `import` says from where, in the same batch.
pub fn record_imported<S: Store>(
    store: &S,
    load: u32,
    rules: &[String],
    sightings: Vec<Sighting>,
    import: &Imported,
) -> Result<Recorded, StoreError> {
    record_with(store, load, rules, sightings, Some(import))
}

fn record_with<S: Store>(
    store: &S,
    load: u32,
    rules: &[String],
    sightings: Vec<Sighting>,
    import: Option<&Imported>,
) -> Result<Recorded, StoreError> {
    if let Some((&last, _)) = screened(store)?.last_key_value() {
        if load <= last {
            return Err(StoreError::Backend(format!(
                "findings store: load {load} comes after load {last} has been recorded"
            )));
        }
    }
    let asked: BTreeSet<&str> = rules.iter().map(String::as_str).collect();
    let mut known = lives(store)?;
    let mut seen = BTreeSet::new();
    let mut rep = Recorded::default();
    let mut batch = Batch::new();
    let count = sightings.len() as u64;
    for s in sightings {
        let life = known.entry(s.id.clone()).or_insert_with(|| Life {
            rule: s.rule.clone(),
            history: Vec::new(),
            last_seen: load,
            head: Vec::new(),
        });
        match life.history.last().and_then(|h| h.1) {
            None => {
                rep.new += 1;
                life.history.push((load, Some(s.digest)));
            }
            Some(d) if d != s.digest => {
                rep.changed += 1;
                life.history.push((load, Some(s.digest)));
            }
            Some(_) => {}
        }
        life.last_seen = load;
        life.head = s.head;
        seen.insert(s.id);
    }
    for (id, life) in &mut known {
        if !seen.contains(id) && life.open() && asked.contains(life.rule.as_str()) {
            rep.resolved += 1;
            life.history.push((load, None));
            seen.insert(id.clone());
        }
    }
    for (id, life) in known.iter().filter(|(id, _)| seen.contains(*id)) {
        batch.put([LIFE, id.as_bytes()].concat(), encode(life)?)?;
    }
    let mut sorted: Vec<String> = rules.to_vec();
    sorted.sort();
    sorted.dedup();
    let marker = Screened {
        rules: sorted,
        findings: count,
    };
    batch.put([SCREENED, &load.to_be_bytes()].concat(), encode(&marker)?)?;
    if let Some(i) = import {
        batch.put([IMPORTED, &load.to_be_bytes()].concat(), encode(i)?)?;
    }
    store.commit(batch)?;
    Ok(rep)
}

/// The records under `prefix` keyed by a big-endian load number.
fn by_load<S: Store, T: serde::de::DeserializeOwned>(
    store: &S,
    prefix: &[u8],
) -> Result<BTreeMap<u32, T>, StoreError> {
    let mut out = BTreeMap::new();
    for kv in store.scan_prefix(prefix) {
        let (k, v) = kv?;
        let load = k
            .get(prefix.len()..)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| corrupt(&k, "not a load number"))?;
        out.insert(load, decode(&k, &v)?);
    }
    Ok(out)
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(v).map_err(|e| StoreError::Corrupt {
        key: "(findings store)".into(),
        reason: e.to_string(),
    })
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| corrupt(key, &e.to_string()))
}

fn corrupt(key: &[u8], reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemStore;

    fn s(id: &str, rule: &str, digest: u128) -> Sighting {
        Sighting {
            id: id.into(),
            rule: rule.into(),
            digest,
            head: id.as_bytes().to_vec(),
        }
    }

    fn rules(r: &[&str]) -> Vec<String> {
        r.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_finding_is_new_then_changed_then_resolved_then_new_again() {
        let st = MemStore::new();
        let ab = rules(&["a", "b"]);
        let r = record(&st, 1, &ab, vec![s("x", "a", 1), s("y", "b", 7)]).expect("1");
        assert_eq!((r.new, r.changed, r.resolved), (2, 0, 0));
        let r = record(&st, 2, &ab, vec![s("x", "a", 2), s("y", "b", 7)]).expect("2");
        assert_eq!((r.new, r.changed, r.resolved), (0, 1, 0));
        let r = record(&st, 3, &ab, vec![s("y", "b", 7)]).expect("3");
        assert_eq!((r.new, r.changed, r.resolved), (0, 0, 1));
        let r = record(&st, 4, &ab, vec![s("x", "a", 2), s("y", "b", 7)]).expect("4");
        assert_eq!((r.new, r.changed, r.resolved), (1, 0, 0));
        let l = lives(&st).expect("lives");
        let x = &l["x"];
        assert_eq!(x.first_seen(), 1);
        assert_eq!(x.last_seen, 4);
        assert_eq!(
            (x.at(1), x.at(2), x.at(3), x.at(4)),
            (Some(1), Some(2), None, Some(2))
        );
        assert_eq!(x.at(0), None);
        assert!(x.open());
        assert_eq!(l["y"].history, vec![(1, Some(7))]);
        assert_eq!(screened(&st).expect("screened").len(), 4);
    }

    #[test]
    fn a_rule_that_did_not_screen_a_load_resolves_nothing_there() {
        let st = MemStore::new();
        record(
            &st,
            1,
            &rules(&["a", "b"]),
            vec![s("x", "a", 1), s("y", "b", 1)],
        )
        .expect("1");
        let r = record(&st, 2, &rules(&["a"]), vec![]).expect("2");
        assert_eq!(r.resolved, 1);
        let l = lives(&st).expect("lives");
        assert_eq!(l["x"].resolved_at(), Some(2));
        assert!(l["y"].open(), "rule b was not asked after load 2");
    }

    #[test]
    fn loads_are_recorded_in_order_only() {
        let st = MemStore::new();
        record(&st, 2, &rules(&["a"]), vec![s("x", "a", 1)]).expect("2");
        assert!(record(&st, 2, &rules(&["a"]), vec![]).is_err());
        assert!(record(&st, 1, &rules(&["a"]), vec![]).is_err());
        assert_eq!(lives(&st).expect("lives")["x"].history, vec![(2, Some(1))]);
    }
}
