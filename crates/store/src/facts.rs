//! The current facts: the edge records of every load folded by fact identity, in load order.
//!
//! The store keeps every load's records as they were asserted (an append-only log, which is
//! what makes the graph remember: transaction time is the load number). What holds *now*, or
//! after load `L`, is a fold over that log:
//!
//! * a record whose key ([`FactKey`]) is new asserts a fact;
//! * a record with a known key and the same value repeats it: the fact gains a source row;
//! * a record with a known key and another value changes it: the new value holds, the rows
//!   that stated the old one no longer support it (the change was reported at load time);
//! * a load in `snapshot` mode retracts every fact its source asserted before and did not
//!   assert again; a fact stays while any source still asserts it.
//!
//! The snapshot build, `--known-at`, and ingestion's change reports all read this one fold.

use crate::graph::{chunk_load, decode_chunk, GraphDb, LoadMeta, Mode};
use crate::{Store, StoreError};
use qinglian_model::facts::Fields;
use qinglian_model::{EdgeRecord, FactKey, NodeRecord, Provenance};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// A fact that holds.
#[derive(Clone, Debug)]
pub struct Fact {
    /// Its current value, as the latest row stating it says (its `source` is that row).
    pub rec: EdgeRecord,
    /// Earlier rows stating the same value, oldest first.
    pub also: Vec<Provenance>,
    /// The load that first asserted the fact, and the load that last changed its value.
    pub asserted: u32,
    /// See `asserted`.
    pub changed: u32,
    /// Per source (index into [`Facts::sources`]) asserting it, the last load that did.
    by: Vec<(u32, u32)>,
}

/// A fact that no longer holds.
#[derive(Clone, Debug)]
pub struct Retracted {
    /// The fact as it last held.
    pub fact: Fact,
    /// The load that retracted it.
    pub at: u32,
}

/// The fold's result.
#[derive(Debug, Default)]
pub struct Facts {
    /// Facts that hold, in no particular order.
    pub current: Vec<Fact>,
    /// Facts retracted along the way, in retraction order.
    pub retracted: Vec<Retracted>,
    /// Values a later row changed, with the load that changed them, in order.
    pub superseded: Vec<Retracted>,
    /// Source names, by index.
    pub sources: Vec<String>,
}

/// A compact key: (kind, a, b, label code, start). Labels are interned per fold so that the
/// map holds no strings.
type Key = (u8, u32, u32, u32, i32);

#[derive(Default)]
struct Fold {
    index: FxHashMap<Key, usize>,
    facts: Vec<Option<Fact>>,
    /// Per edge kind, label codes.
    labels: [FxHashMap<String, u32>; qinglian_model::EdgeKind::COUNT],
    sources: Vec<String>,
    retracted: Vec<Retracted>,
    superseded: Vec<Retracted>,
}

impl Fold {
    fn key(&mut self, e: &EdgeRecord) -> Key {
        let (a, b, label, start) = Fields::of(e).key();
        let kind = e.kind.index();
        let codes = &mut self.labels[kind];
        let code = match codes.get(label) {
            Some(&c) => c,
            None => {
                let c = codes.len() as u32;
                codes.insert(label.to_owned(), c);
                c
            }
        };
        (kind as u8, a.0, b.0, code, start)
    }

    fn source(&mut self, name: &str) -> u32 {
        match self.sources.iter().position(|s| s == name) {
            Some(i) => i as u32,
            None => {
                self.sources.push(name.to_owned());
                (self.sources.len() - 1) as u32
            }
        }
    }

    fn assert(&mut self, rec: EdgeRecord, src: u32, load: u32) {
        let key = self.key(&rec);
        let slot = self.index.get(&key).copied();
        match slot.and_then(|i| self.facts[i].as_mut()) {
            Some(f) => {
                if same_value(&f.rec, &rec) {
                    let old = std::mem::replace(&mut f.rec, rec);
                    f.also.push(old.source);
                } else {
                    let old = Fact {
                        rec: std::mem::replace(&mut f.rec, rec),
                        also: std::mem::take(&mut f.also),
                        asserted: f.asserted,
                        changed: f.changed,
                        by: f.by.clone(),
                    };
                    f.changed = load;
                    self.superseded.push(Retracted {
                        fact: old,
                        at: load,
                    });
                }
                match f.by.iter_mut().find(|(s, _)| *s == src) {
                    Some(b) => b.1 = load,
                    None => f.by.push((src, load)),
                }
            }
            None => {
                self.index.insert(key, self.facts.len());
                self.facts.push(Some(Fact {
                    rec,
                    also: Vec::new(),
                    asserted: load,
                    changed: load,
                    by: vec![(src, load)],
                }));
            }
        }
    }

    /// A snapshot load of `src` ends: what `src` asserted before and not in `load` is no
    /// longer asserted by it.
    fn close_snapshot(&mut self, src: u32, load: u32) {
        for slot in &mut self.facts {
            let Some(f) = slot else { continue };
            let before = f.by.len();
            f.by.retain(|&(s, last)| s != src || last == load);
            if f.by.len() < before && f.by.is_empty() {
                if let Some(fact) = slot.take() {
                    self.retracted.push(Retracted { fact, at: load });
                }
            }
        }
    }
}

/// Whether two records of one key state the same value (provenance and extra columns aside).
pub fn same_value(a: &EdgeRecord, b: &EdgeRecord) -> bool {
    Fields::of(a).relation() == Fields::of(b).relation()
        && a.valid == b.valid
        && a.value.map(f64::to_bits) == b.value.map(f64::to_bits)
        && a.date == b.date
        && a.flag == b.flag
}

/// Folds the edge records of loads `1..=upto` (every load when `None`).
pub fn fold<S: Store>(db: &GraphDb<S>, upto: Option<u32>) -> Result<Facts, StoreError> {
    let metas = db.load_metas()?;
    let chunks = db.edge_chunks()?;
    let mut by_load: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, (k, _)) in chunks.iter().enumerate() {
        let l = chunk_load(k);
        if upto.is_none_or(|u| l <= u) {
            by_load.entry(l).or_default().push(i);
        }
    }
    // Loads that wrote no edge may still retract (a snapshot of a source that now says none).
    let mut loads: Vec<u32> = metas
        .keys()
        .copied()
        .filter(|&l| upto.is_none_or(|u| l <= u))
        .collect();
    loads.extend(by_load.keys().copied());
    loads.sort_unstable();
    loads.dedup();
    let mut f = Fold::default();
    for l in loads {
        let meta = metas.get(&l).cloned().unwrap_or(LoadMeta {
            source: String::new(),
            mode: Mode::Delta,
        });
        let src = f.source(&meta.source);
        let idx = by_load.remove(&l).unwrap_or_default();
        let decoded: Vec<Vec<EdgeRecord>> = idx
            .par_iter()
            .map(|&i| decode_chunk(&chunks[i].0, &chunks[i].1))
            .collect::<Result<_, _>>()?;
        for rec in decoded.into_iter().flatten() {
            f.assert(rec, src, l);
        }
        if meta.mode == Mode::Snapshot {
            f.close_snapshot(src, l);
        }
    }
    Ok(Facts {
        current: f.facts.into_iter().flatten().collect(),
        retracted: f.retracted,
        superseded: f.superseded,
        sources: f.sources,
    })
}

/// The facts of `facts` by key, for ingestion's change reports.
pub fn by_key(facts: &Facts) -> FxHashMap<FactKey, &Fact> {
    facts
        .current
        .iter()
        .map(|f| (FactKey::of(&f.rec), f))
        .collect()
}

/// Which facts a source asserts now, by key.
pub fn asserted_by<'f>(facts: &'f Facts, source: &str) -> Vec<&'f Fact> {
    let Some(s) = facts.sources.iter().position(|x| x == source) else {
        return Vec::new();
    };
    facts
        .current
        .iter()
        .filter(|f| f.by.iter().any(|(x, _)| *x as usize == s))
        .collect()
}

/// Whether the fact is asserted by any source other than `source`.
pub fn asserted_elsewhere(facts: &Facts, f: &Fact, source: &str) -> bool {
    f.by.iter()
        .any(|(x, _)| facts.sources.get(*x as usize).is_some_and(|n| n != source))
}

/// Every node record by store id, as it stood after load `upto` (every load when `None`),
/// decoded chunk by chunk in parallel. Records of one load add to each other (earlier rows
/// win, as the load reported); a later load's record changes what it states (reported as a
/// change when it was loaded): [`NodeRecord::absorb`] and [`NodeRecord::overlay`].
pub fn nodes<S: Store>(
    db: &GraphDb<S>,
    next_node: usize,
    upto: Option<u32>,
) -> Result<Vec<Option<NodeRecord>>, StoreError> {
    let mut chunks = db.node_chunks()?;
    chunks.retain(|(k, _)| upto.is_none_or(|u| chunk_load(k) <= u));
    let mut recs: Vec<Option<NodeRecord>> = vec![None; next_node];
    let mut last = vec![0u32; next_node];
    for batch in chunks.chunks(256) {
        let decoded: Vec<(u32, Vec<NodeRecord>)> = batch
            .par_iter()
            .map(|(k, v)| decode_chunk(k, v).map(|r| (chunk_load(k), r)))
            .collect::<Result<_, _>>()?;
        for (load, rs) in decoded {
            for r in rs {
                let i = r.id.0 as usize;
                if i >= recs.len() {
                    recs.resize(i + 1, None);
                    last.resize(i + 1, 0);
                }
                match &mut recs[i] {
                    Some(prev) if last[i] == load => prev.absorb(&r),
                    Some(prev) => prev.overlay(&r),
                    slot @ None => *slot = Some(r),
                }
                last[i] = load;
            }
        }
    }
    Ok(recs)
}
