//! Identity resolution: which rows are one entity, and which node every reference names.
//!
//! * A bundle id names one entity across the whole bundle and every earlier load.
//! * Rows with the same valid resident ID number (people) or credit code (companies) are one
//!   entity, whatever their bundle ids. Names never merge anything: 张伟 is shared by hundreds
//!   of thousands of people.
//! * Every merge is recorded.
//!
//! Ids and identifiers are keyed by their 128-bit xxh3 hash, so that a probe touches one
//! table slot instead of chasing a string pointer (resolution is the hottest loop of a load).
//! A new key is checked against the strings it collides with, so a collision can never merge
//! two entities; a lookup of a reference is not re-checked: a false hit would need a 128-bit
//! collision between a dangling reference and a known id (probability below 10^-20 for ten
//! million ids).

use crate::diag::FileDiags;
use crate::rows::{BlacklistDraft, EdgeDraft, NodeDraft, Ref, Window};
use qinglian_model::{
    BlacklistRecord, EdgeRecordRef, FileId, MergeKey, MergeRecord, NodeId, NodeKind, NodeRecord,
    Provenance,
};
use qinglian_store::{ChunkEncoder, StoreError};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A hasher for keys that are already uniformly distributed hashes.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type HashKeyed<V> = std::collections::HashMap<u128, V, BuildHasherDefault<Prehashed>>;

/// The 128-bit key of an id or identifier.
pub(crate) fn key(s: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(s.as_bytes())
}

/// Where an id resolves to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub node: NodeId,
    pub kind: NodeKind,
    /// The row that first described it.
    pub first: Provenance,
    /// Index of that row's draft in `file`'s drafts (`u32::MAX` for an earlier load).
    draft: u32,
    /// The file of this load that described it.
    file: FileId,
}

const NO_DRAFT: u32 = u32::MAX;

/// What earlier loads hold, as far as resolution needs it: every known node's record, kept
/// encoded (`qinglian_store::facts::nodes_encoded`) and decoded when a row names the node —
/// held decoded, the records of 13.75 M nodes were 6.3 GB, the peak of a delta load at 10M
/// people (docs/performance.md, "Memory").
#[derive(Debug, Default)]
pub(crate) struct Existing {
    /// By store id (dense).
    records: Vec<Option<Box<[u8]>>>,
    /// How many are `Some`.
    count: usize,
}

impl Existing {
    /// The nodes as they stand after the last load.
    pub fn from_encoded(recs: Vec<Option<Box<[u8]>>>) -> Existing {
        let count = recs.iter().filter(|r| r.is_some()).count();
        Existing {
            records: recs,
            count,
        }
    }

    /// Whether an earlier load holds node `n`.
    pub fn has(&self, n: NodeId) -> bool {
        self.records.get(n.0 as usize).is_some_and(Option::is_some)
    }

    /// The record of node `n`, if an earlier load holds it (and it decodes: the store checks
    /// every record it reads; one that does not is reported there, not here).
    pub fn get(&self, n: NodeId) -> Option<NodeRecord> {
        let bytes = self.records.get(n.0 as usize)?.as_deref()?;
        postcard::from_bytes(bytes).ok()
    }

    /// A node's bundle id, or `#n` for a node this load creates.
    pub fn ext(&self, n: NodeId) -> String {
        self.get(n)
            .map_or_else(|| format!("#{}", n.0), |r| r.ext_id)
    }

    /// Calls `f` with the keys resolution indexes each known node by, in store-id order:
    /// (target, bundle id, aliases, identifier). Decoded in parallel, a slice at a time, as a
    /// view that borrows its strings from the encoding.
    fn index_keys(&self, mut f: impl FnMut(Target, u128, Vec<u128>, Option<u128>)) {
        for slice in self.records.chunks(1 << 16) {
            let keys: Vec<_> = slice
                .par_iter()
                .filter_map(|r| r.as_deref())
                .filter_map(|b| postcard::from_bytes::<KeyView<'_>>(b).ok())
                .map(|rec| {
                    let first = rec.sources.first().copied().unwrap_or(Provenance {
                        file: FileId(u32::MAX),
                        line: 0,
                    });
                    let t = Target {
                        node: rec.id,
                        kind: rec.kind,
                        first,
                        draft: NO_DRAFT,
                        file: FileId(u32::MAX),
                    };
                    let aliases: Vec<u128> = rec.aliases.iter().map(|s| key(s)).collect();
                    let ident = rec.identifier.filter(|_| ident_slot(rec.kind).is_some());
                    (t, key(rec.ext_id), aliases, ident.map(key))
                })
                .collect();
            for (t, ext, aliases, ident) in keys {
                f(t, ext, aliases, ident);
            }
        }
    }
}

/// A stored `NodeRecord` read for its keys: the same fields in the same order (postcard
/// writes them so), the strings borrowed from the encoding instead of allocated.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // every field is read to reach the next, not every one is used
struct KeyView<'a> {
    id: NodeId,
    kind: NodeKind,
    ext_id: &'a str,
    #[serde(borrow)]
    aliases: Vec<&'a str>,
    name: &'a str,
    #[serde(borrow)]
    identifier: Option<&'a str>,
    attrs: qinglian_model::Attrs,
    #[serde(borrow)]
    props: Vec<(&'a str, &'a str)>,
    sources: Vec<Provenance>,
}

/// Counters per file.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RowCounts {
    pub loaded: u64,
    pub merged: u64,
}

/// Resolution state for one load.
#[derive(Debug, Default)]
pub(crate) struct Resolver {
    ids: HashKeyed<Target>,
    /// Valid identifiers: resident IDs of people (0), credit codes of companies (1).
    idents: [HashKeyed<Target>; 2],
    pub merges: Vec<MergeRecord>,
    existing: Existing,
    /// Records that add to nodes (repeats and merges), encoded as they are decided.
    pub nodes: ChunkEncoder,
    /// Chunks of the new nodes' records.
    pub new_chunks: Vec<Vec<u8>>,
    /// New nodes per kind.
    pub new_nodes: [u64; NodeKind::COUNT],
    /// Kinds whose entity file is in the bundle but could not be read.
    unread: [bool; NodeKind::COUNT],
    /// References to unknown ids that may have been in an unread file, per that file's kind.
    unchecked: [AtomicU64; NodeKind::COUNT],
    /// Attribute values of known entities this load changed.
    pub changed: u64,
}

impl Resolver {
    /// A node's bundle id (`#n` for a node this load creates).
    pub fn ext(&self, n: NodeId) -> String {
        self.existing.ext(n)
    }

    /// What earlier loads hold, taken out (resolution is over: the records only remain to be
    /// freed).
    pub fn take_existing(&mut self) -> Existing {
        std::mem::take(&mut self.existing)
    }

    pub fn new(existing: Existing, incoming: usize) -> Resolver {
        let mut r = Resolver::default();
        let n = existing.count + incoming;
        r.ids.reserve(n);
        r.idents[0].reserve(n);
        existing.index_keys(|t, ext, aliases, ident| {
            r.ids.insert(ext, t);
            for k in aliases {
                r.ids.insert(k, t);
            }
            if let (Some(i), Some(slot)) = (ident, ident_slot(t.kind)) {
                r.idents[slot].insert(i, t);
            }
        });
        r.existing = existing;
        r
    }

    /// Every entity row is resolved: the identifier tables are not needed by the edges (which
    /// name their ends by bundle id) and are freed now (800 MB at 10M people) instead of at
    /// the end of the load.
    pub fn entities_done(&mut self) {
        self.idents = Default::default();
    }

    /// Marks the entity file of `kind` as unreadable: references that resolve to nothing and
    /// could have named one of its rows are counted, not reported one by one.
    pub fn unreadable(&mut self, kind: NodeKind) {
        self.unread[kind.index()] = true;
    }

    /// References left unchecked, per kind of the unreadable file they may point into.
    pub fn unchecked(&self) -> Vec<(NodeKind, u64)> {
        self.unchecked
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then_some((NodeKind::from_index(i)?, n))
            })
            .collect()
    }

    /// The bundle id and name a target was first described with.
    fn described(&self, t: Target, drafts: Window<'_>) -> (String, String, Option<NodeRecord>) {
        if let Some(d) = (t.draft != NO_DRAFT)
            .then(|| drafts.get(t.draft as usize))
            .flatten()
        {
            return (d.ext_id.clone(), d.name.clone(), None);
        }
        match self.existing.get(t.node) {
            Some(r) => (r.ext_id.clone(), r.name.clone(), Some(r)),
            None => (String::new(), String::new(), None),
        }
    }

    /// Resolves a window of the entity rows of one file (every row of a kind is in one file;
    /// its windows come in row order). Merges and repeats are encoded as they are decided; the
    /// new nodes are encoded afterwards, in parallel. Returns the foreign-key edges of the new
    /// nodes.
    pub fn add_nodes(
        &mut self,
        w: Window<'_>,
        file: FileId,
        files: &FxHashMap<FileId, String>,
        d: &mut FileDiags,
        alloc: &mut dyn FnMut() -> NodeId,
        counts: &mut RowCounts,
    ) -> Result<Vec<EdgeDraft<'static>>, StoreError> {
        let mut refs = Vec::new();
        let drafts = w.drafts;
        let mut new_ids: Vec<Option<NodeId>> = vec![None; drafts.len()];
        for (j, nd) in drafts.iter().enumerate() {
            let i = w.base + j;
            let here = Provenance {
                file,
                line: nd.line as u32,
            };
            let k = nd.key;
            if let Some(mut t) = self.ids.get(&k).copied() {
                if t.file != file {
                    t.draft = NO_DRAFT;
                }
                let (first_ext, _, _) = self.described(t, w);
                if first_ext != nd.ext_id && t.draft != NO_DRAFT {
                    d.error(nd.line, 1, format!("id {} collides with the 128-bit hash of id {first_ext}; please report this", nd.ext_id));
                } else if t.kind != nd.kind {
                    d.error(nd.line, 1, format!("id {} is already a {} ({}); ids are unique across the bundle and the database", nd.ext_id, t.kind, cite(t.first, files)));
                } else if self.same_id_row(t, w, nd, here, files, d)? {
                    counts.merged += 1;
                    if t.draft == NO_DRAFT && self.existing.has(t.node) {
                        // An entity an earlier load described: its row states its links now
                        // (a contract's supplier), as a keyed fact each; and it is this
                        // bundle's first row of the id, which a second row may repeat but not
                        // contradict (as for a new entity).
                        refs.extend(nd.refs.iter().cloned());
                        self.ids.insert(
                            k,
                            Target {
                                first: here,
                                draft: i as u32,
                                file,
                                ..t
                            },
                        );
                    }
                    self.merges.push(MergeRecord {
                        node: t.node,
                        kept_ext: nd.ext_id.clone(),
                        merged_ext: nd.ext_id.clone(),
                        key: MergeKey::Id,
                        value: nd.ext_id.clone(),
                        kept: t.first,
                        merged: here,
                        note: "the same row again".into(),
                    });
                }
                continue;
            }
            let slot = ident_slot(nd.kind);
            let ik = nd.ident_key;
            if let Some(mut t) = ik
                .zip(slot)
                .and_then(|(ik, s)| self.idents[s].get(&ik).copied())
            {
                if t.file != file {
                    t.draft = NO_DRAFT;
                }
                self.ids.insert(
                    k,
                    Target {
                        draft: NO_DRAFT,
                        file: FileId(u32::MAX),
                        ..t
                    },
                );
                self.merge_by_identifier(t, w, nd, here, files, d)?;
                counts.merged += 1;
                continue;
            }
            let node = alloc();
            let t = Target {
                node,
                kind: nd.kind,
                first: here,
                draft: i as u32,
                file,
            };
            self.ids.insert(k, t);
            if let (Some(ik), Some(s)) = (ik, slot) {
                self.idents[s].insert(ik, t);
            }
            refs.extend(nd.refs.iter().cloned());
            new_ids[j] = Some(node);
            self.new_nodes[nd.kind.index()] += 1;
            counts.loaded += 1;
        }
        let parts: Vec<Result<Vec<Vec<u8>>, StoreError>> = drafts
            .pieces(16_384)
            .into_par_iter()
            .map(|(at, ds)| {
                let mut enc = ChunkEncoder::new();
                for (nd, id) in ds.iter().zip(&new_ids[at..]) {
                    if let Some(id) = id {
                        enc.push(&update_record(
                            *id,
                            nd,
                            Provenance {
                                file,
                                line: nd.line as u32,
                            },
                        ))?;
                    }
                }
                Ok(enc.finish())
            })
            .collect();
        for p in parts {
            self.new_chunks.extend(p?);
        }
        Ok(refs)
    }

    /// A row whose id is already known. Returns true when it is a harmless repeat (merged);
    /// reports an error when it contradicts the first description.
    fn same_id_row(
        &mut self,
        t: Target,
        drafts: Window<'_>,
        nd: &NodeDraft,
        here: Provenance,
        files: &FxHashMap<FileId, String>,
        d: &mut FileDiags,
    ) -> Result<bool, StoreError> {
        if let Some(first) = (t.draft != NO_DRAFT)
            .then(|| drafts.get(t.draft as usize))
            .flatten()
        {
            if let Some((col, what)) = first_difference(&first, nd, &d.headers) {
                d.error(nd.line, col, format!("id {} was already defined at {} and this row differs in {what}; correct one of the rows", nd.ext_id, cite(t.first, files)));
                return Ok(false);
            }
            self.nodes.push(&update_record(t.node, nd, here))?;
            return Ok(true);
        }
        // Known from an earlier load: the row states what holds now. A changed name or
        // attribute is taken and reported (column, both values); a changed identifier is
        // another entity under a reused id, and an error.
        let Some(prev) = self.existing.get(t.node) else {
            return Ok(true);
        };
        if let (Some(a), Some(b)) = (&prev.identifier, &nd.identifier) {
            if a != b {
                let what = ident_column(nd.kind);
                d.error(nd.line, col_of(&d.headers, what), format!("id {} already exists in the database ({}) with a different {what}; an identifier does not change: fix the row, or give the entity a new id", nd.ext_id, cite(t.first, files)));
                return Ok(false);
            }
        }
        let mut changed = Vec::new();
        if !prev.name.is_empty() && !nd.name.is_empty() && prev.name != nd.name {
            changed.push(("name", prev.name.clone(), nd.name.clone()));
        }
        let was = prev.attrs.fields();
        for (col, now) in nd.attrs.fields() {
            if let Some((_, old)) = was.iter().find(|(c, _)| *c == col) {
                if *old != now {
                    changed.push((col, old.clone(), now));
                }
            }
        }
        for (col, old, now) in &changed {
            d.warn(
                nd.line,
                col_of(&d.headers, col),
                format!(
                    "id {} changes {col}: {old} -> {now} (stated at {}); the new value holds",
                    nd.ext_id,
                    cite(t.first, files)
                ),
            );
        }
        self.changed += changed.len() as u64;
        let mut rec = update_record(t.node, nd, here);
        rec.ext_id.clone_from(&prev.ext_id);
        self.nodes.push(&rec)?;
        Ok(true)
    }

    fn merge_by_identifier(
        &mut self,
        t: Target,
        drafts: Window<'_>,
        nd: &NodeDraft,
        here: Provenance,
        files: &FxHashMap<FileId, String>,
        d: &mut FileDiags,
    ) -> Result<(), StoreError> {
        let (kept_ext, kept_name, prev) = self.described(t, drafts);
        let first = (t.draft != NO_DRAFT)
            .then(|| drafts.get(t.draft as usize))
            .flatten();
        let kept_attrs = match first {
            Some(first) => Some(first.attrs.clone()),
            None => prev.map(|p| p.attrs),
        };
        let key = if nd.kind == NodeKind::Person {
            MergeKey::IdNumber
        } else {
            MergeKey::CreditCode
        };
        let mut rec = update_record(t.node, nd, here);
        if let Some(mut a) = kept_attrs {
            let conflicts = a.fill_from(&nd.attrs);
            if !conflicts.is_empty() {
                d.warn(nd.line, col_of(&d.headers, conflicts[0]), format!("same {} as {kept_ext} ({}) but a different {}; the first row's values are kept", key.as_str(), cite(t.first, files), conflicts.join(", ")));
            }
            // The kept values, so that a later load's fold (which lets a later record's values
            // hold) keeps them too.
            rec.attrs = a;
        }
        let mut note = String::new();
        rec.ext_id.clone_from(&kept_ext);
        rec.aliases = vec![nd.ext_id.clone()];
        if !nd.name.is_empty() && nd.name != kept_name {
            note = format!("name differs: {kept_name:?} / {:?}", nd.name);
            rec.props.push(("also_named".into(), nd.name.clone()));
        }
        rec.name = kept_name;
        self.nodes.push(&rec)?;
        self.merges.push(MergeRecord {
            node: t.node,
            kept_ext,
            merged_ext: nd.ext_id.clone(),
            key,
            value: nd.identifier.clone().unwrap_or_default(),
            kept: t.first,
            merged: here,
            note,
        });
        Ok(())
    }

    /// Resolves both ends of an edge draft, checking their kinds; problems go to `d` as
    /// (line, column, message).
    pub fn edge<'e>(
        &self,
        e: &'e EdgeDraft<'_>,
        file: FileId,
        files: &FxHashMap<FileId, String>,
        d: &mut Vec<(u64, usize, String)>,
    ) -> Option<EdgeRecordRef<'e>> {
        let from = self.endpoint(
            &e.from,
            e.kind.from_kinds(),
            e.kind.as_str(),
            "tail",
            e.line,
            files,
            d,
        );
        let to = self.endpoint(
            &e.to,
            e.kind.to_kinds(),
            e.kind.as_str(),
            "head",
            e.line,
            files,
            d,
        );
        Some(EdgeRecordRef {
            kind: e.kind,
            from: from?,
            to: to?,
            label: &e.label,
            valid: e.valid,
            value: e.value,
            date: e.date,
            flag: e.flag,
            props: &e.props,
            source: Provenance {
                file,
                line: e.line as u32,
            },
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn endpoint(
        &self,
        r: &Ref<'_>,
        kinds: &[NodeKind],
        ekind: &str,
        end: &str,
        line: u64,
        files: &FxHashMap<FileId, String>,
        d: &mut Vec<(u64, usize, String)>,
    ) -> Option<NodeId> {
        match self.ids.get(&key(&r.ext)) {
            None => {
                if let Some(k) = kinds.iter().find(|k| self.unread[k.index()]) {
                    self.unchecked[k.index()].fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                d.push((
                    line,
                    r.col,
                    format!("{} names no entity in this bundle or the database", r.ext),
                ));
                None
            }
            Some(t) if !kinds.contains(&t.kind) => {
                let want: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                d.push((
                    line,
                    r.col,
                    format!(
                        "{} is a {} ({}), but the {end} of a {ekind} edge must be a {}",
                        r.ext,
                        t.kind,
                        cite(t.first, files),
                        want.join(" or ")
                    ),
                ));
                None
            }
            Some(t) => Some(t.node),
        }
    }

    /// Resolves blacklist rows: the entity must be a person or company.
    pub fn blacklist(
        &self,
        drafts: &[BlacklistDraft],
        file: FileId,
        files: &FxHashMap<FileId, String>,
        d: &mut FileDiags,
    ) -> Vec<BlacklistRecord> {
        let mut out = Vec::new();
        for b in drafts {
            let mut errs = Vec::new();
            let node = self.endpoint(
                &b.entity,
                &[NodeKind::Person, NodeKind::Company],
                "blacklist",
                "entity",
                b.line,
                files,
                &mut errs,
            );
            for (line, col, msg) in errs {
                d.error(line, col, msg);
            }
            if let Some(node) = node {
                out.push(BlacklistRecord {
                    node,
                    reason: b.reason.clone(),
                    listed: b.listed,
                    list_source: b.source.clone(),
                    props: b.props.clone(),
                    source: Provenance {
                        file,
                        line: b.line as u32,
                    },
                });
            }
        }
        out
    }
}

/// Which identifier map a kind uses.
fn ident_slot(kind: NodeKind) -> Option<usize> {
    match kind {
        NodeKind::Person => Some(0),
        NodeKind::Company => Some(1),
        _ => None,
    }
}

fn ident_column(kind: NodeKind) -> &'static str {
    if kind == NodeKind::Company {
        "credit_code"
    } else {
        "id_number"
    }
}

/// The record of a row: a new node's, or one that adds a source row (and what it knows) to
/// an existing node.
fn update_record(id: NodeId, nd: &NodeDraft, here: Provenance) -> NodeRecord {
    NodeRecord {
        id,
        kind: nd.kind,
        ext_id: nd.ext_id.clone(),
        aliases: Vec::new(),
        name: nd.name.clone(),
        identifier: nd.identifier.clone(),
        attrs: nd.attrs.clone(),
        props: nd.props.clone(),
        sources: vec![here],
    }
}

/// 1-based position of a header, 0 when absent.
fn col_of(headers: &[String], name: &str) -> usize {
    headers.iter().position(|h| h == name).map_or(0, |i| i + 1)
}

/// The first column in which a repeated row differs from the first row with its id.
fn first_difference(a: &NodeDraft, b: &NodeDraft, headers: &[String]) -> Option<(usize, String)> {
    if a.name != b.name {
        return Some((
            col_of(
                headers,
                if b.kind == NodeKind::Tender {
                    "title"
                } else {
                    "name"
                },
            ),
            format!("name ({:?} / {:?})", a.name, b.name),
        ));
    }
    if a.identifier != b.identifier {
        let c = ident_column(b.kind);
        return Some((col_of(headers, c), c.to_owned()));
    }
    if let Some(f) = a.attrs.diff(&b.attrs).first() {
        return Some((col_of(headers, f), (*f).to_owned()));
    }
    for (x, y) in a.refs.iter().zip(&b.refs) {
        if x.from.ext != y.from.ext || x.to.ext != y.to.ext || x.kind != y.kind {
            let col = if x.from.ext != y.from.ext {
                y.from.col
            } else {
                y.to.col
            };
            let name = headers
                .get(col.wrapping_sub(1))
                .cloned()
                .unwrap_or_default();
            return Some((col, name));
        }
    }
    if a.refs.len() != b.refs.len() {
        let col = b
            .refs
            .iter()
            .chain(&a.refs)
            .map(|r| r.to.col.max(r.from.col))
            .max()
            .unwrap_or(0);
        return Some((col, "references".into()));
    }
    for (k, v) in &b.props {
        if !a.props.iter().any(|(k2, v2)| k2 == k && v2 == v) {
            return Some((col_of(headers, k), k.clone()));
        }
    }
    if a.props.len() != b.props.len() {
        return Some((0, "extra columns".into()));
    }
    None
}

/// `file:line` of a provenance, for messages.
pub(crate) fn cite(p: Provenance, files: &FxHashMap<FileId, String>) -> String {
    match files.get(&p.file) {
        Some(f) => format!("{f}:{}", p.line),
        None => format!("line {}", p.line),
    }
}
