//! The current facts: the edge records of every load folded by fact identity, in load order.
//!
//! The store keeps every load's records as they were asserted (an append-only log, which is
//! what makes the graph remember: transaction time is the load number). What holds *now*, or
//! after load `L`, is a fold over that log:
//!
//! * a record whose key ([`qinglian_model::FactKey`]) is new asserts a fact;
//! * a record with a known key and the same value repeats it: the fact gains a source row;
//! * a record with a known key and another value changes it: the new value holds, the rows
//!   that stated the old one no longer support it (the change was reported at load time);
//! * a load in `snapshot` mode retracts every fact its source asserted before and did not
//!   assert again; a fact stays while any source still asserts it.
//!
//! The snapshot build, `--known-at`, and ingestion's change reports all read this one fold.

use crate::graph::{
    chunk_load, chunk_records, decode_chunk, decode_chunk_where, record_head, GraphDb, Mode,
};
use crate::{Store, StoreError};
use qinglian_model::facts::Fields;
use qinglian_model::{EdgeKind, EdgeRecord, NodeId, NodeRecord, Provenance};
use rayon::prelude::*;

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
    by: By,
}

/// Sources asserting a fact: almost always one, so held inline (the fold makes one per fact,
/// millions of them, and a heap allocation each cost more than the rest of the walk).
type By = smallvec::SmallVec<[(u32, u32); 2]>;

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

/// The loads a fold reads: each load's source, and each source's snapshot loads.
struct Loads {
    /// Load number -> source index (`u32::MAX` for a load not read).
    src: Vec<u32>,
    /// Per source, its snapshot loads in order.
    snaps: Vec<Vec<u32>>,
    sources: Vec<String>,
}

impl Loads {
    fn read<S: Store>(db: &GraphDb<S>, upto: Option<u32>) -> Result<Loads, StoreError> {
        let mut l = Loads {
            src: Vec::new(),
            snaps: Vec::new(),
            sources: Vec::new(),
        };
        for (n, meta) in db.load_metas()? {
            if upto.is_some_and(|u| n > u) {
                continue;
            }
            let s = match l.sources.iter().position(|x| *x == meta.source) {
                Some(i) => i,
                None => {
                    l.sources.push(meta.source.clone());
                    l.snaps.push(Vec::new());
                    l.sources.len() - 1
                }
            };
            let at = n as usize;
            if l.src.len() <= at {
                l.src.resize(at + 1, u32::MAX);
            }
            l.src[at] = s as u32;
            if meta.mode == Mode::Snapshot {
                l.snaps[s].push(n);
            }
        }
        Ok(l)
    }

    fn source(&self, load: u32) -> u32 {
        self.src.get(load as usize).copied().unwrap_or(u32::MAX)
    }

    /// The first snapshot load of source `s` after load `last`.
    fn next_snapshot(&self, s: u32, last: u32) -> Option<u32> {
        let v = self.snaps.get(s as usize)?;
        v.get(v.partition_point(|&x| x <= last)).copied()
    }

    /// The load that retracted a fact asserted by `by` (source, last load), if one did before
    /// load `before` (or at all): every source asserting it had a snapshot load since.
    fn retracted(&self, by: &[(u32, u32)], before: Option<u32>) -> Option<u32> {
        let mut at = 0;
        for &(s, last) in by {
            let n = self.next_snapshot(s, last)?;
            if before.is_some_and(|b| n >= b) {
                return None;
            }
            at = at.max(n);
        }
        Some(at)
    }
}

/// What the walk says about one record (by index into its kind's records).
enum Outcome {
    /// It states a fact that holds.
    Current(usize, State),
    /// It stated a fact a later load retracted.
    Retracted(usize, State, u32),
    /// A later row changed its value.
    Superseded(usize, State, u32),
}

/// A fact during the walk: where it stood, besides its current record.
#[derive(Clone, Debug, Default)]
struct State {
    also: Vec<Provenance>,
    asserted: u32,
    changed: u32,
    by: By,
}

/// Walks one kind's records (in load order, with their loads): groups them by key (a sort of
/// key hashes, then exact keys) and replays each group in load order.
fn walk(recs: &[(u32, EdgeRecord)], loads: &Loads, out: &mut dyn FnMut(Outcome)) {
    use std::hash::{Hash, Hasher};
    // (key hash, index, load with the retraction bit): a key stated once — most of them — is
    // decided from this alone, without reading its record again (a cache miss each, in hash
    // order).
    let mut keys: Vec<(u64, u32, u32)> = recs
        .par_iter()
        .enumerate()
        .map(|(i, (load, r))| {
            let mut h = rustc_hash::FxHasher::default();
            Fields::of(r).key().hash(&mut h);
            let flag = if qinglian_model::facts::retracts(&r.props) {
                RETRACTS
            } else {
                0
            };
            (h.finish(), i as u32, load | flag)
        })
        .collect();
    keys.par_sort_unstable();
    let mut group: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let j = i + keys[i..].partition_point(|k| k.0 == keys[i].0);
        if j == i + 1 {
            let (_, idx, load) = keys[i];
            if load & RETRACTS == 0 {
                assert_once(idx as usize, load, loads, out);
            }
            i = j;
            continue;
        }
        group.clear();
        group.extend(keys[i..j].iter().map(|k| k.1 as usize));
        // Equal hashes, almost always equal keys: split off each exact key in turn.
        while !group.is_empty() {
            let key = Fields::of(&recs[group[0]].1).key();
            let (same, rest): (Vec<usize>, Vec<usize>) = group
                .iter()
                .partition(|&&g| Fields::of(&recs[g].1).key() == key);
            replay(recs, &same, loads, out);
            group = rest;
        }
        i = j;
    }
}

/// The retraction bit of a load number in [`walk`]'s keys.
const RETRACTS: u32 = 1 << 31;

/// [`replay`] of a key stated by one record, which asserts it (a lone retraction retracts
/// nothing and says nothing).
fn assert_once(i: usize, load: u32, loads: &Loads, out: &mut dyn FnMut(Outcome)) {
    let st = State {
        also: Vec::new(),
        asserted: load,
        changed: load,
        by: smallvec::smallvec![(loads.source(load), load)],
    };
    match loads.retracted(&st.by, None) {
        Some(at) => out(Outcome::Retracted(i, st, at)),
        None => out(Outcome::Current(i, st)),
    }
}

/// Replays the records of one key, in load order.
fn replay(recs: &[(u32, EdgeRecord)], idx: &[usize], loads: &Loads, out: &mut dyn FnMut(Outcome)) {
    let mut cur: Option<(usize, State)> = None;
    for &i in idx {
        let (load, rec) = (recs[i].0, &recs[i].1);
        let src = loads.source(load);
        if let Some((c, st)) = cur.take() {
            match loads.retracted(&st.by, Some(load)) {
                Some(at) => out(Outcome::Retracted(c, st, at)),
                None => cur = Some((c, st)),
            }
        }
        if qinglian_model::facts::retracts(&rec.props) {
            // An explicit retraction: the row's source no longer states the fact.
            if let Some((c, mut st)) = cur.take() {
                st.by.retain(|(s, _)| *s != src);
                if st.by.is_empty() {
                    out(Outcome::Retracted(c, st, load));
                } else {
                    cur = Some((c, st));
                }
            }
            continue;
        }
        cur = Some(match cur.take() {
            Some((c, mut st)) => {
                if same_value(&recs[c].1, rec) {
                    st.also.push(recs[c].1.source);
                } else {
                    let old = State {
                        also: std::mem::take(&mut st.also),
                        ..st.clone()
                    };
                    out(Outcome::Superseded(c, old, load));
                    st.changed = load;
                }
                match st.by.iter_mut().find(|(s, _)| *s == src) {
                    Some(b) => b.1 = load,
                    None => st.by.push((src, load)),
                }
                (i, st)
            }
            None => (
                i,
                State {
                    also: Vec::new(),
                    asserted: load,
                    changed: load,
                    by: smallvec::smallvec![(src, load)],
                },
            ),
        });
    }
    if let Some((c, st)) = cur {
        match loads.retracted(&st.by, None) {
            Some(at) => out(Outcome::Retracted(c, st, at)),
            None => out(Outcome::Current(c, st)),
        }
    }
}

/// Which records a partial fold reads: by kind, tail and head.
pub type Keep<'a> = &'a (dyn Fn(EdgeKind, NodeId, NodeId) -> bool + Sync);

/// The edge records of loads `1..=upto` (those `keep` passes, when given), per kind, in load
/// order, each with its load.
fn decode_edges<S: Store>(
    db: &GraphDb<S>,
    upto: Option<u32>,
    keep: Option<Keep<'_>>,
) -> Result<Vec<Vec<(u32, EdgeRecord)>>, StoreError> {
    let mut by_kind: Vec<Vec<(u32, EdgeRecord)>> = vec![Vec::new(); EdgeKind::COUNT];
    if keep.is_none() {
        // Every record is read: sized once from the stored counts, instead of grown by
        // doubling (a copy of 19 M RELATION records at 10M people, old and new both resident).
        for (v, &n) in by_kind.iter_mut().zip(&db.state().counts.edges) {
            v.reserve_exact(usize::try_from(n).unwrap_or(0));
        }
    }
    db.for_each_edge_batch(upto, |chunks| {
        let decoded: Vec<(u32, Vec<EdgeRecord>)> = chunks
            .par_iter()
            .map(|(k, v)| {
                let recs = match keep {
                    None => decode_chunk(k, v),
                    Some(keep) => decode_chunk_where(k, v, |h: &(EdgeKind, NodeId, NodeId)| {
                        keep(h.0, h.1, h.2)
                    }),
                };
                recs.map(|r| (chunk_load(k), r))
            })
            .collect::<Result<_, _>>()?;
        for (load, rs) in decoded {
            for r in rs {
                by_kind[r.kind.index()].push((load, r));
            }
        }
        Ok(())
    })?;
    Ok(by_kind)
}

/// Whether two records of one key state the same value (provenance and extra columns aside).
pub fn same_value(a: &EdgeRecord, b: &EdgeRecord) -> bool {
    Fields::of(a).relation() == Fields::of(b).relation()
        && a.valid == b.valid
        && a.value.map(f64::to_bits) == b.value.map(f64::to_bits)
        && a.date == b.date
        && a.flag == b.flag
}

/// Folds the edge records of loads `1..=upto` (every load when `None`), keeping what no longer
/// holds too (ingestion's reports, `show --history`). Kinds are folded in parallel, and each
/// record is moved into the fact it ends in: a superseded value is a record of its own, so no
/// record is needed twice.
pub fn fold<S: Store>(db: &GraphDb<S>, upto: Option<u32>) -> Result<Facts, StoreError> {
    fold_records(db, upto, None)
}

/// The fold of only the records `keep` passes: exact for every fact whose records it passes
/// all of, which holds for every fact touching a set of nodes when `keep` asks whether the
/// tail or the head is in it (a key is made of its record's ends). A delta load compares its
/// rows with what is known this way, reading its few facts instead of millions; its
/// `retracted` and `superseded` are those of the facts read, and `current` holds only them.
pub fn fold_where<S: Store>(
    db: &GraphDb<S>,
    upto: Option<u32>,
    keep: Keep<'_>,
) -> Result<Facts, StoreError> {
    fold_records(db, upto, Some(keep))
}

fn fold_records<S: Store>(
    db: &GraphDb<S>,
    upto: Option<u32>,
    keep: Option<Keep<'_>>,
) -> Result<Facts, StoreError> {
    let loads = Loads::read(db, upto)?;
    let per_kind: Vec<Facts> = decode_edges(db, upto, keep)?
        .into_par_iter()
        .map(|recs| fold_kind(recs, &loads))
        .collect();
    let mut facts = Facts::default();
    for f in per_kind {
        facts.current.extend(f.current);
        facts.retracted.extend(f.retracted);
        facts.superseded.extend(f.superseded);
    }
    facts.retracted.sort_by_key(|r| r.at);
    facts.superseded.sort_by_key(|r| r.at);
    facts.sources = loads.sources;
    Ok(facts)
}

/// Folds one kind's records (see [`fold`]).
fn fold_kind(recs: Vec<(u32, EdgeRecord)>, loads: &Loads) -> Facts {
    let mut outcomes = Vec::new();
    walk(&recs, loads, &mut |o| outcomes.push(o));
    let mut slots: Vec<Option<EdgeRecord>> = recs.into_iter().map(|(_, r)| Some(r)).collect();
    let mut fact = |i: usize, st: State| {
        slots[i].take().map(|rec| Fact {
            rec,
            also: st.also,
            asserted: st.asserted,
            changed: st.changed,
            by: st.by,
        })
    };
    let mut facts = Facts::default();
    for o in outcomes {
        match o {
            Outcome::Current(i, st) => facts.current.extend(fact(i, st)),
            Outcome::Retracted(i, st, at) => facts
                .retracted
                .extend(fact(i, st).map(|fact| Retracted { fact, at })),
            Outcome::Superseded(i, st, at) => facts
                .superseded
                .extend(fact(i, st).map(|fact| Retracted { fact, at })),
        }
    }
    facts
}

/// The current facts by key, for lookups of millions of rows without a map of owned keys:
/// `(key hash, index into the facts)` sorted, then the exact key compared on a hash match.
#[derive(Debug, Default)]
pub struct FactIndex {
    order: Vec<(u64, u32)>,
}

/// The hash [`FactIndex`] sorts by: the kind and the key (see `qinglian_model::facts`).
fn key_hash(f: &Fields<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    f.kind.index().hash(&mut h);
    f.key().hash(&mut h);
    h.finish()
}

impl FactIndex {
    /// Indexes `facts` (which must not change while the index is used).
    pub fn of(facts: &[Fact]) -> FactIndex {
        let mut order: Vec<(u64, u32)> = facts
            .par_iter()
            .enumerate()
            .map(|(i, f)| (key_hash(&Fields::of(&f.rec)), i as u32))
            .collect();
        order.par_sort_unstable();
        FactIndex { order }
    }

    /// Where in `facts` the fact with the key of `f` is, if one holds.
    pub fn position(&self, facts: &[Fact], f: &Fields<'_>) -> Option<usize> {
        let h = key_hash(f);
        let from = self.order.partition_point(|e| e.0 < h);
        let key = f.key();
        self.order[from..]
            .iter()
            .take_while(|e| e.0 == h)
            .map(|e| e.1 as usize)
            .find(|&i| facts[i].rec.kind == f.kind && Fields::of(&facts[i].rec).key() == key)
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// The facts that hold after load `upto`, kind by kind, each kind's records handed to `f`,
/// whose results come back in [`EdgeKind::ALL`] order: for the snapshot build, which reads
/// millions of them. The records are read once, kept encoded and grouped by kind
/// ([`EncodedKind`]); a kind is decoded only when its turn comes and dropped when `f` returns.
/// The kind with the most records goes first and alone, then the others two at a time: every
/// edge record decoded at once was most of the 10M snapshot build's peak (docs/performance.md,
/// "Memory"), and the largest kind (RELATION, 19 M records at 10M people) beside another is
/// what the peak is made of now. `also` gets each fact's record and the earlier rows that
/// stated the same value.
pub fn current_kinds<S: Store, T: Send, E: From<StoreError> + Send>(
    db: &GraphDb<S>,
    upto: Option<u32>,
    also: &(dyn Fn(&mut EdgeRecord, &[Provenance]) + Sync),
    f: impl Fn(EdgeKind, &[(u32, EdgeRecord)]) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E> {
    let loads = Loads::read(db, upto)?;
    let run = |k: usize, enc: EncodedKind| -> Result<T, E> {
        let mut recs = enc.decode()?;
        keep_current(&mut recs, &loads, also);
        f(EdgeKind::ALL[k], &recs)
    };
    let mut enc: Vec<Option<EncodedKind>> =
        encoded_edges(db, upto)?.into_iter().map(Some).collect();
    let big = (0..enc.len())
        .max_by_key(|&k| enc[k].as_ref().map_or(0, |e| e.count))
        .unwrap_or(0);
    let first = enc[big].take().map(|e| run(big, e)).transpose()?;
    let rest: Vec<Option<T>> = enc
        .into_par_iter()
        .enumerate()
        .map(|(k, e)| e.map(|e| run(k, e)).transpose())
        .collect::<Result<_, E>>()?;
    let mut first = first;
    rest.into_iter()
        .enumerate()
        .map(|(k, t)| {
            t.or_else(|| if k == big { first.take() } else { None })
                .ok_or_else(|| {
                    E::from(StoreError::Corrupt {
                        key: "(edge kinds)".into(),
                        reason: format!("kind {k} was not built"),
                    })
                })
        })
        .collect()
}

/// Keeps, in place, the records of one kind's facts that hold (see [`current_kinds`]): in
/// place, because collecting them into a second vector held 19 M RELATION records twice at
/// 10M people.
fn keep_current(
    recs: &mut Vec<(u32, EdgeRecord)>,
    loads: &Loads,
    also: &(dyn Fn(&mut EdgeRecord, &[Provenance]) + Sync),
) {
    let mut keep = vec![false; recs.len()];
    let mut extra: Vec<(usize, Vec<Provenance>)> = Vec::new();
    walk(recs, loads, &mut |o| {
        if let Outcome::Current(i, st) = o {
            keep[i] = true;
            if !st.also.is_empty() {
                extra.push((i, st.also));
            }
        }
    });
    for (i, rows) in extra {
        also(&mut recs[i].1, &rows);
    }
    let mut i = 0;
    recs.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// One edge kind's records as the store encodes them, each after its load number and length
/// (both `u32`, little-endian), in store order, in blocks of at most [`BLOCK`] bytes (freed as
/// they are decoded; one buffer grown by doubling also held a copy at each step).
#[derive(Clone, Debug, Default)]
struct EncodedKind {
    blocks: Vec<Vec<u8>>,
    count: usize,
}

/// See [`EncodedKind`].
const BLOCK: usize = 32 << 20;

impl EncodedKind {
    fn push(&mut self, load: u32, rec: &[u8]) {
        let need = rec.len() + 8;
        match self.blocks.last_mut() {
            Some(b) if b.len() + need <= b.capacity() => {}
            _ => self.blocks.push(Vec::with_capacity(need.max(64 << 10))),
        }
        if let Some(b) = self.blocks.last_mut() {
            b.extend_from_slice(&load.to_le_bytes());
            b.extend_from_slice(&u32::try_from(rec.len()).unwrap_or(u32::MAX).to_le_bytes());
            b.extend_from_slice(rec);
        }
        self.count += 1;
    }

    /// Adds `other`'s records (a chunk's) after these.
    fn append(&mut self, other: EncodedKind) {
        for b in other.blocks {
            match self.blocks.last_mut() {
                Some(last) if last.len() + b.len() <= BLOCK => last.extend_from_slice(&b),
                _ => {
                    let mut fresh = Vec::with_capacity(BLOCK.max(b.len()));
                    fresh.extend_from_slice(&b);
                    self.blocks.push(fresh);
                }
            }
        }
        self.count += other.count;
    }

    /// The records, decoded, with their loads; each block is freed once decoded.
    fn decode(self) -> Result<Vec<(u32, EdgeRecord)>, StoreError> {
        let bad = |reason: String| StoreError::Corrupt {
            key: "(edge records grouped by kind)".into(),
            reason,
        };
        let mut out = Vec::with_capacity(self.count);
        for block in self.blocks {
            let mut rest = &block[..];
            while let Some((head, tail)) = rest.split_at_checked(8) {
                let load = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
                let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
                let (rec, tail) = tail
                    .split_at_checked(len)
                    .ok_or_else(|| bad("truncated".into()))?;
                out.push((
                    load,
                    postcard::from_bytes(rec).map_err(|e| bad(e.to_string()))?,
                ));
                rest = tail;
            }
        }
        Ok(out)
    }
}

/// Every edge record of loads `1..=upto`, encoded, grouped by kind in store order (which is
/// the order [`decode_edges`] gives).
fn encoded_edges<S: Store>(
    db: &GraphDb<S>,
    upto: Option<u32>,
) -> Result<Vec<EncodedKind>, StoreError> {
    let mut by_kind = vec![EncodedKind::default(); EdgeKind::COUNT];
    db.for_each_edge_batch(upto, |chunks| {
        let parts: Vec<Vec<EncodedKind>> = chunks
            .par_iter()
            .map(|(k, v)| {
                let load = chunk_load(k);
                let mut per = vec![EncodedKind::default(); EdgeKind::COUNT];
                chunk_records(k, v, |rec| {
                    let kind: EdgeKind = record_head(k, rec)?;
                    per[kind.index()].push(load, rec);
                    Ok(())
                })?;
                Ok(per)
            })
            .collect::<Result<_, StoreError>>()?;
        for per in parts {
            for (k, e) in per.into_iter().enumerate() {
                by_kind[k].append(e);
            }
        }
        Ok(())
    })?;
    Ok(by_kind)
}

/// Whether source number `s` (an index into [`Facts::sources`]) asserts the fact now.
pub fn asserted_by_source(f: &Fact, s: usize) -> bool {
    f.by.iter().any(|(x, _)| *x as usize == s)
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
    let mut recs: Vec<Option<NodeRecord>> = vec![None; next_node];
    let mut last = vec![0u32; next_node];
    db.for_each_node_batch(upto, |batch| {
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
        Ok(())
    })?;
    Ok(recs)
}

/// [`nodes`], each record kept as the store encodes it: what identity resolution holds for
/// every known node, where 13.75 M decoded records were 6.3 GB at 10M people and their
/// encodings about a fifth of that. A node stated by one record is copied, never decoded; one
/// stated again is decoded, folded as [`nodes`] folds it, and encoded again.
pub fn nodes_encoded<S: Store>(
    db: &GraphDb<S>,
    next_node: usize,
    upto: Option<u32>,
) -> Result<Vec<Option<Box<[u8]>>>, StoreError> {
    let mut recs: Vec<Option<Box<[u8]>>> = vec![None; next_node];
    let mut last = vec![0u32; next_node];
    db.for_each_node_batch(upto, |batch| {
        let split: Vec<(u32, Vec<Encoded>)> = batch
            .par_iter()
            .map(|(k, v)| {
                let mut out = Vec::new();
                chunk_records(k, v, |rec| {
                    let id: NodeId = record_head(k, rec)?;
                    out.push((id.0, Box::from(rec)));
                    Ok(())
                })?;
                Ok((chunk_load(k), out))
            })
            .collect::<Result<_, StoreError>>()?;
        for (load, rs) in split {
            for (id, bytes) in rs {
                let i = id as usize;
                if i >= recs.len() {
                    recs.resize(i + 1, None);
                    last.resize(i + 1, 0);
                }
                recs[i] = Some(match recs[i].take() {
                    None => bytes,
                    Some(prev) => fold_encoded(&prev, &bytes, last[i] == load)?,
                });
                last[i] = load;
            }
        }
        Ok(())
    })?;
    Ok(recs)
}

/// A record's node id and encoding.
type Encoded = (u32, Box<[u8]>);

/// A node's record folded with a later one (absorbed within a load, overlaid across loads).
fn fold_encoded(prev: &[u8], later: &[u8], same_load: bool) -> Result<Box<[u8]>, StoreError> {
    let bad = |e: postcard::Error| StoreError::Corrupt {
        key: "(node record)".into(),
        reason: e.to_string(),
    };
    let mut a: NodeRecord = postcard::from_bytes(prev).map_err(bad)?;
    let b: NodeRecord = postcard::from_bytes(later).map_err(bad)?;
    if same_load {
        a.absorb(&b);
    } else {
        a.overlay(&b);
    }
    Ok(postcard::to_allocvec(&a).map_err(bad)?.into_boxed_slice())
}
