//! Findings over time: the screening after each load recorded in the findings store
//! (`qinglian_store::lifecycle`), and the feed of what changed since a load — the automatic
//! alarm a zone platform runs after every refresh (动态监测). `qinglian screen --since` and
//! `GET /v1/alerts` both print [`changes`]; only where the "before" side comes from differs
//! (the store, or a second screening of the database as it was after that load).
//!
//! Two sightings of one finding (same rule and key, hence same id) are "the same" when their
//! JSON is equal except for the rows cited for each fact (file, line, load): a row sent again by
//! a refresh, or moved to another line of a new extract, is the same evidence ([`comparable`]).
//! Anything else — an entity, an edge, its dates or label, a window, the colour, the score —
//! makes the finding `changed`. (A refresh that moved every line would otherwise mark every
//! finding changed: 641 of 701 on the 1M province in `benches/refresh.sh`.)

use crate::exec::ExecOptions;
use crate::findings::Finding;
use crate::snapshot;
use crate::EngineError;
use qinglian_rules::Rule;
use qinglian_store::lifecycle::{self as store, Life, Recorded, Sighting};
use qinglian_store::{GraphDb, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Longest text a [`Head`] keeps of a name or an explanation (the store's values are bounded).
const HEAD_TEXT: usize = 1000;

/// What describes a finding once it no longer holds: who, what and where, without evidence
/// (`--known-at` the load it was last seen gives that).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Stable id.
    pub id: String,
    /// The rule.
    pub pattern: String,
    /// red / yellow / green, when last seen.
    pub severity: String,
    /// Score when last seen.
    pub score: f64,
    /// The official's bundle id.
    pub official: String,
    /// The official's name.
    pub official_name: String,
    /// The flagged company or person.
    pub target: String,
    /// Its name.
    pub target_name: String,
    /// The second bidder.
    pub target2: String,
    /// The contract, tender or subsidy.
    #[serde(rename = "ref")]
    pub ref_id: String,
    /// contract, tender or subsidy.
    pub ref_type: String,
    /// The agency.
    pub agency: String,
    /// The sentence, when last seen.
    pub explanation: String,
}

impl Head {
    /// The head of a finding.
    pub fn of(f: &Finding) -> Head {
        let cut = |s: &str| s.chars().take(HEAD_TEXT).collect::<String>();
        Head {
            id: f.id.clone(),
            pattern: f.pattern.clone(),
            severity: f.severity.as_str().to_owned(),
            score: f.score,
            official: cut(&f.official),
            official_name: cut(&f.official_name),
            target: cut(&f.target),
            target_name: cut(&f.target_name),
            target2: cut(&f.target2),
            ref_id: cut(&f.ref_id),
            ref_type: f.ref_type.clone(),
            agency: cut(&f.agency),
            explanation: cut(&f.explanation),
        }
    }

    fn order_key(&self) -> (&str, &str, &str, &str, &str) {
        (
            &self.pattern,
            &self.official,
            &self.target,
            &self.target2,
            &self.ref_id,
        )
    }
}

/// A finding as two sightings are compared: its JSON without the rows cited for its entities
/// and edges (`source`, `sources`, `load`, `also_stated_at`), and without an object those leave
/// empty (an edge's `props` that only said where else the fact was stated).
pub fn comparable(f: &Finding) -> Result<Value, EngineError> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("load");
                m.remove("also_stated_at");
                // Row citations: which file and line stated a fact is not the fact.
                if m.get("source").is_some_and(Value::is_object) {
                    m.remove("source");
                }
                if m.get("sources").is_some_and(Value::is_array) {
                    m.remove("sources");
                }
                m.values_mut().for_each(strip);
                // `props` that held only those is as good as none.
                m.retain(|_, v| !v.as_object().is_some_and(serde_json::Map::is_empty));
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(f).map_err(json_error)?;
    strip(&mut v);
    Ok(v)
}

/// The digest of [`comparable`] (XXH3-128, a fixed specification, so stored digests stay
/// comparable across builds).
pub fn digest(f: &Finding) -> Result<u128, EngineError> {
    let v = comparable(f)?;
    let text = serde_json::to_vec(&v).map_err(json_error)?;
    Ok(xxhash_rust::xxh3::xxh3_128(&text))
}

#[allow(clippy::needless_pass_by_value)] // the shape `map_err` hands over
fn json_error(e: serde_json::Error) -> EngineError {
    EngineError::Snapshot(format!("finding as JSON: {e}"))
}

/// Records the findings `found` that `rules` raised after `load`.
pub fn record<S: Store>(
    db: &GraphDb<S>,
    load: u32,
    rules: &[Rule],
    found: &[Finding],
) -> Result<Recorded, EngineError> {
    let ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    Ok(store::record(db.store(), load, &ids, sightings(found)?)?)
}

/// Records findings computed elsewhere and confirmed by `import::check` as the screening of
/// `load` by the rules `rules` (ids), noting where they came from.
pub fn record_imported<S: Store>(
    db: &GraphDb<S>,
    load: u32,
    rules: &[String],
    found: &[Finding],
    from: &store::Imported,
) -> Result<Recorded, EngineError> {
    Ok(store::record_imported(
        db.store(),
        load,
        rules,
        sightings(found)?,
        from,
    )?)
}

fn sightings(found: &[Finding]) -> Result<Vec<Sighting>, EngineError> {
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        out.push(Sighting {
            id: f.id.clone(),
            rule: f.pattern.clone(),
            digest: digest(f)?,
            head: serde_json::to_vec(&Head::of(f)).map_err(json_error)?,
        });
    }
    Ok(out)
}

/// Records every load not yet recorded, in order: the current one with `current_findings`
/// (the current snapshot already screened with `rules` by the caller), earlier ones by
/// building the database as it was after them and screening it. Returns what each load
/// changed.
pub fn record_missing<S: Store>(
    db: &GraphDb<S>,
    current_findings: &[Finding],
    rules: &[Rule],
) -> Result<Vec<(u32, Recorded)>, EngineError> {
    let loads = db.state().loads;
    let done = store::screened(db.store())?;
    let from = done.keys().next_back().map_or(1, |l| l + 1);
    let mut out = Vec::new();
    for l in from..=loads {
        let rec = if l == loads {
            record(db, l, rules, current_findings)?
        } else {
            let snap = snapshot::build_at(db, Some(l))?;
            let found = crate::screen(&snap, rules, &ExecOptions::default())?.findings;
            record(db, l, rules, &found)?
        };
        out.push((l, rec));
    }
    Ok(out)
}

/// What the findings store holds: every finding's life, and which loads were screened.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// Every finding ever recorded, by id.
    pub lives: BTreeMap<String, Life>,
    /// Which rules screened each recorded load.
    pub screened: BTreeMap<u32, store::Screened>,
}

impl Lifecycle {
    /// Reads it.
    pub fn read<S: Store>(db: &GraphDb<S>) -> Result<Lifecycle, EngineError> {
        Ok(Lifecycle {
            lives: store::lives(db.store())?,
            screened: store::screened(db.store())?,
        })
    }

    /// Whether load `l` was screened (load 0, the empty database, always was).
    pub fn recorded(&self, l: u32) -> bool {
        l == 0 || self.screened.contains_key(&l)
    }

    /// The descriptions of every finding that held after `load`.
    pub fn held(&self, load: u32) -> Vec<Head> {
        self.lives
            .values()
            .filter(|life| life.at(load).is_some())
            .filter_map(|life| serde_json::from_slice::<Head>(&life.head).ok())
            .collect()
    }

    /// The findings of `rules` that held after `load`, as [`changes`] compares them.
    pub fn before(&self, load: u32, rules: &BTreeSet<&str>) -> Before {
        let mut b = Before::default();
        for (id, life) in &self.lives {
            if !rules.contains(life.rule.as_str()) {
                continue;
            }
            if let Some(d) = life.at(load) {
                if let Ok(h) = serde_json::from_slice::<Head>(&life.head) {
                    b.held.insert(id.clone(), (d, h));
                }
            }
        }
        b
    }
}

/// The findings that held at the earlier point: digest and head by id.
#[derive(Debug, Clone, Default)]
pub struct Before {
    held: BTreeMap<String, (u128, Head)>,
}

impl Before {
    /// The "before" of a second screening.
    pub fn of(then: &[Finding]) -> Result<Before, EngineError> {
        let mut b = Before::default();
        for f in then {
            b.held.insert(f.id.clone(), (digest(f)?, Head::of(f)));
        }
        Ok(b)
    }
}

/// The findings that appeared (`new`), disappeared (`resolved`, described by their head) or
/// changed between `before` and `now`, each a JSON object with a `change` field, in canonical
/// order (resolved ones where they stood). With `lives`, each also says its `first_seen` and
/// `last_seen` load and its `status`.
pub fn changes(
    now: &[Finding],
    before: &Before,
    lives: Option<&BTreeMap<String, Life>>,
) -> Result<Vec<Value>, EngineError> {
    let now_ids: BTreeSet<&str> = now.iter().map(|f| f.id.as_str()).collect();
    // Sorted by the canonical order's fields, then the id.
    let mut out: Vec<(Vec<String>, Value)> = Vec::new();
    let key = |k: (&str, &str, &str, &str, &str), id: &str| {
        [k.0, k.1, k.2, k.3, k.4, id]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<String>>()
    };
    for f in now {
        let change = match before.held.get(&f.id) {
            None => "new",
            Some((d, _)) if *d != digest(f)? => "changed",
            Some(_) => continue,
        };
        let mut v = serde_json::to_value(f).map_err(json_error)?;
        v["change"] = change.into();
        out.push((key(f.order_key(), &f.id), v));
    }
    for (id, (_, h)) in &before.held {
        if now_ids.contains(id.as_str()) {
            continue;
        }
        let mut v = serde_json::to_value(h).map_err(json_error)?;
        v["change"] = "resolved".into();
        out.push((key(h.order_key(), id), v));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let mut values: Vec<Value> = out.into_iter().map(|(_, v)| v).collect();
    if let Some(lives) = lives {
        for v in &mut values {
            let Some(life) = v["id"].as_str().and_then(|id| lives.get(id)) else {
                continue;
            };
            let resolved = v["change"] == "resolved";
            v["first_seen"] = life.first_seen().into();
            v["last_seen"] = life.last_seen.into();
            v["status"] = if resolved { "resolved" } else { "open" }.into();
        }
    }
    Ok(values)
}
