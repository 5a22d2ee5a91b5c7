//! The node records the snapshot build reads, held as columns.
//!
//! Why: the build reads every node record several times (names, dates, codes, sorted
//! indexes, detail records), and held as 13.75 M decoded `NodeRecord`s at 10M people they were
//! 6.3 GB — most of its peak (docs/performance.md, "Memory"). Each record is decoded once,
//! chunk by chunk, and what the build writes is kept: the strings it indexes in byte arenas,
//! the values it compares as numbers, and the rest of the detail record already encoded as the
//! file stores it (a `NodeDetail` without its blacklist entries, which postcard writes last, so
//! the file's detail record is these bytes followed by the entries'). About a third of the
//! size.
//!
//! A node stated by more than one record (a later load's row, or rows merged in one load) is
//! rebuilt from its columns, folded with the next record as the store's fold does
//! (`NodeRecord::absorb` within a load, `overlay` across loads) and written again: rare, and
//! the arenas keep the superseded bytes until the build ends.

use crate::EngineError;
use qinglian_model::{normalize, Attrs, NodeId, NodeKind, NodeRecord, Provenance};
use qinglian_store::{chunk_load, decode_chunk, GraphDb, Store};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A buffer an [`Arena`] appends to: text (its slices stay text, so reading one back checks
/// nothing) or bytes.
trait Buf: Default {
    type Item: ?Sized;
    fn with_capacity(n: usize) -> Self;
    fn room(&self) -> usize;
    fn size(v: &Self::Item) -> usize;
    fn add(&mut self, v: &Self::Item);
    fn end(&self) -> usize;
    fn part(&self, r: std::ops::Range<usize>) -> Option<&Self::Item>;
}

impl Buf for String {
    type Item = str;
    fn with_capacity(n: usize) -> Self {
        String::with_capacity(n)
    }
    fn room(&self) -> usize {
        self.capacity() - self.len()
    }
    fn size(v: &str) -> usize {
        v.len()
    }
    fn add(&mut self, v: &str) {
        self.push_str(v);
    }
    fn end(&self) -> usize {
        self.len()
    }
    fn part(&self, r: std::ops::Range<usize>) -> Option<&str> {
        self.get(r)
    }
}

impl Buf for Vec<u8> {
    type Item = [u8];
    fn with_capacity(n: usize) -> Self {
        Vec::with_capacity(n)
    }
    fn room(&self) -> usize {
        self.capacity() - self.len()
    }
    fn size(v: &[u8]) -> usize {
        v.len()
    }
    fn add(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
    fn end(&self) -> usize {
        self.len()
    }
    fn part(&self, r: std::ops::Range<usize>) -> Option<&[u8]> {
        self.get(r)
    }
}

/// Values by index, appended to buffers of [`BLOCK`] bytes (a buffer grown by doubling held
/// its old and new copies at each step, gigabytes at 10M people); an index can be written
/// again (its old bytes stay behind). A value's start is its block and offset, 32 bits each.
#[derive(Debug, Default)]
struct Arena<B> {
    bufs: Vec<B>,
    start: Vec<u64>,
    /// `u32::MAX`: no value.
    len: Vec<u32>,
}

/// See [`Arena`].
const BLOCK: usize = 16 << 20;

impl<B: Buf> Arena<B> {
    fn with_len(n: usize) -> Arena<B> {
        Arena {
            bufs: Vec::new(),
            start: vec![0; n],
            len: vec![u32::MAX; n],
        }
    }

    fn push(&mut self, v: Option<&B::Item>) {
        self.start.push(0);
        self.len.push(u32::MAX);
        self.set(self.len.len() - 1, v);
    }

    fn set(&mut self, i: usize, v: Option<&B::Item>) {
        let Some(v) = v else {
            self.len[i] = u32::MAX;
            return;
        };
        let size = B::size(v);
        if self.bufs.last().is_none_or(|b| b.room() < size) {
            // Chunk parts are small: their blocks grow from small.
            let cap = if self.start.len() < 4096 {
                size.max(4096)
            } else {
                size.max(BLOCK)
            };
            self.bufs.push(B::with_capacity(cap));
        }
        let block = self.bufs.len() - 1;
        if let Some(b) = self.bufs.last_mut() {
            self.start[i] = ((block as u64) << 32) | b.end() as u64;
            b.add(v);
        }
        self.len[i] = u32::try_from(size).unwrap_or(u32::MAX - 1);
    }

    fn get(&self, i: usize) -> Option<&B::Item> {
        let len = self.len[i];
        if len == u32::MAX {
            return None;
        }
        let (block, s) = (
            (self.start[i] >> 32) as usize,
            (self.start[i] & 0xffff_ffff) as usize,
        );
        self.bufs.get(block)?.part(s..s + len as usize)
    }

    fn resize(&mut self, n: usize) {
        self.start.resize(n, 0);
        self.len.resize(n, u32::MAX);
    }
}

/// What the file's detail record holds before the blacklist entries, borrowed for encoding.
#[derive(Serialize)]
struct DetailHeadRef<'a> {
    aliases: &'a [String],
    identifier: &'a Option<String>,
    attrs: &'a Attrs,
    props: &'a [(String, String)],
    sources: &'a [Provenance],
}

/// [`DetailHeadRef`], owned, for rebuilding a record.
#[derive(Deserialize)]
struct DetailHead {
    aliases: Vec<String>,
    identifier: Option<String>,
    attrs: Attrs,
    props: Vec<(String, String)>,
    sources: Vec<Provenance>,
}

/// Node records as columns, by index (store node id once gathered).
#[derive(Debug, Default)]
pub(super) struct NodeCols {
    /// `NodeKind::index`, or `u8::MAX` where no record is.
    kind: Vec<u8>,
    ext: Arena<String>,
    name: Arena<String>,
    ident: Arena<String>,
    /// The encoded detail record without its blacklist entries.
    detail: Arena<Vec<u8>>,
    date: Vec<i32>,
    death: Vec<i32>,
    amount: Vec<f64>,
    src_file: Vec<u32>,
    src_line: Vec<u32>,
    /// Companies' phone and address, normalised (what the code indexes compare).
    codes: FxHashMap<u32, (Option<String>, Option<String>)>,
    aliases: FxHashMap<u32, Vec<String>>,
    /// Per kind, the names of the extra columns some node of the kind has.
    pub columns: Vec<BTreeSet<String>>,
}

const NONE: u8 = u8::MAX;

impl NodeCols {
    fn with_len(n: usize) -> NodeCols {
        NodeCols {
            kind: vec![NONE; n],
            ext: Arena::with_len(n),
            name: Arena::with_len(n),
            ident: Arena::with_len(n),
            detail: Arena::with_len(n),
            date: vec![super::NO_DATE; n],
            death: vec![super::NO_DATE; n],
            amount: vec![f64::NAN; n],
            src_file: vec![0; n],
            src_line: vec![0; n],
            codes: FxHashMap::default(),
            aliases: FxHashMap::default(),
            columns: vec![BTreeSet::new(); NodeKind::COUNT],
        }
    }

    /// Number of slots (records or not).
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    /// The kind of the record at `i`, if one is there.
    pub fn kind(&self, i: usize) -> Option<NodeKind> {
        self.kind
            .get(i)
            .and_then(|&k| NodeKind::ALL.get(usize::from(k)))
            .copied()
    }

    pub fn ext(&self, i: usize) -> &str {
        self.ext.get(i).unwrap_or("")
    }

    pub fn name(&self, i: usize) -> &str {
        self.name.get(i).unwrap_or("")
    }

    pub fn identifier(&self, i: usize) -> Option<&str> {
        self.ident.get(i)
    }

    pub fn date(&self, i: usize) -> i32 {
        self.date[i]
    }

    pub fn death(&self, i: usize) -> i32 {
        self.death[i]
    }

    pub fn amount(&self, i: usize) -> f64 {
        self.amount[i]
    }

    pub fn source(&self, i: usize) -> (u32, u32) {
        (self.src_file[i], self.src_line[i])
    }

    /// The normalised phone and address of the company at `i`.
    pub fn codes(&self, i: usize) -> Option<&(Option<String>, Option<String>)> {
        self.codes.get(&(i as u32))
    }

    /// Every alias with the index of its node.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        self.aliases
            .iter()
            .flat_map(|(&i, v)| v.iter().map(move |a| (a.as_str(), i)))
    }

    /// The encoded detail record of `i` without its blacklist entries.
    pub fn detail(&self, i: usize) -> &[u8] {
        self.detail.get(i).unwrap_or(&[])
    }

    /// Appends `r` as a new slot (chunk parts).
    fn push(&mut self, r: &NodeRecord, extra: &normalize::Placeholders) -> Result<(), EngineError> {
        let i = self.kind.len();
        self.kind.push(NONE);
        self.ext.push(None);
        self.name.push(None);
        self.ident.push(None);
        self.detail.push(None);
        self.date.push(super::NO_DATE);
        self.death.push(super::NO_DATE);
        self.amount.push(f64::NAN);
        self.src_file.push(0);
        self.src_line.push(0);
        self.set(i, r, extra)
    }

    /// Writes `r` into slot `i`.
    fn set(
        &mut self,
        i: usize,
        r: &NodeRecord,
        extra: &normalize::Placeholders,
    ) -> Result<(), EngineError> {
        let nodate = |d: Option<qinglian_model::Date>| d.map_or(super::NO_DATE, |d| d.0);
        self.kind[i] = r.kind.index() as u8;
        self.ext.set(i, Some(&r.ext_id));
        self.name.set(i, Some(&r.name));
        self.ident.set(i, r.identifier.as_deref());
        let head = DetailHeadRef {
            aliases: &r.aliases,
            identifier: &r.identifier,
            attrs: &r.attrs,
            props: &r.props,
            sources: &r.sources,
        };
        let enc = postcard::to_allocvec(&head).map_err(|e| EngineError::Snapshot(e.to_string()))?;
        self.detail.set(i, Some(&enc));
        self.date[i] = nodate(r.attrs.main_date());
        self.death[i] = match &r.attrs {
            Attrs::Person { death_date, .. } => nodate(*death_date),
            _ => super::NO_DATE,
        };
        self.amount[i] = r.attrs.amount().unwrap_or(f64::NAN);
        let first = r.sources.first();
        self.src_file[i] = first.map_or(0, |p| p.file.0);
        self.src_line[i] = first.map_or(0, |p| p.line);
        if let Attrs::Company { address, phone, .. } = &r.attrs {
            let p = phone
                .as_deref()
                .and_then(|p| normalize::phone_with(p, extra));
            let a = address
                .as_deref()
                .and_then(|a| normalize::address_with(a, extra));
            self.codes.insert(i as u32, (p, a));
        } else {
            self.codes.remove(&(i as u32));
        }
        if r.aliases.is_empty() {
            self.aliases.remove(&(i as u32));
        } else {
            self.aliases.insert(i as u32, r.aliases.clone());
        }
        self.columns[r.kind.index()].extend(r.props.iter().map(|(c, _)| c.clone()));
        Ok(())
    }

    /// The record at `i`, rebuilt from its columns (as id `id`).
    fn record(&self, i: usize, id: u32) -> Result<Option<NodeRecord>, EngineError> {
        let Some(kind) = self.kind(i) else {
            return Ok(None);
        };
        let head: DetailHead = postcard::from_bytes(self.detail(i))
            .map_err(|e| EngineError::Snapshot(format!("node {id}: {e}")))?;
        Ok(Some(NodeRecord {
            id: NodeId(id),
            kind,
            ext_id: self.ext(i).to_owned(),
            aliases: head.aliases,
            name: self.name(i).to_owned(),
            identifier: head.identifier,
            attrs: head.attrs,
            props: head.props,
            sources: head.sources,
        }))
    }

    /// Copies slot `j` of `part` into slot `i`.
    fn copy_from(&mut self, i: usize, part: &NodeCols, j: usize) {
        self.kind[i] = part.kind[j];
        self.ext.set(i, part.ext.get(j));
        self.name.set(i, part.name.get(j));
        self.ident.set(i, part.ident.get(j));
        self.detail.set(i, part.detail.get(j));
        self.date[i] = part.date[j];
        self.death[i] = part.death[j];
        self.amount[i] = part.amount[j];
        self.src_file[i] = part.src_file[j];
        self.src_line[i] = part.src_line[j];
        let j = j as u32;
        if let Some(c) = part.codes.get(&j) {
            self.codes.insert(i as u32, c.clone());
        }
        if let Some(a) = part.aliases.get(&j) {
            self.aliases.insert(i as u32, a.clone());
        }
        for (k, c) in part.columns.iter().enumerate() {
            self.columns[k].extend(c.iter().cloned());
        }
    }
}

/// Every node record by store id as it stood after load `upto`, as columns: the fold of
/// `qinglian_store::facts::nodes` (records of one load absorbed into each other, a later
/// load's overlaid), each record decoded once, in parallel by chunk.
pub(super) fn node_columns<S: Store>(
    db: &GraphDb<S>,
    next_node: usize,
    upto: Option<u32>,
    extra: &normalize::Placeholders,
) -> Result<NodeCols, EngineError> {
    let mut cols = NodeCols::with_len(next_node);
    let mut last = vec![0u32; next_node];
    let mut failed = None;
    db.for_each_node_batch(upto, |batch| {
        if failed.is_some() {
            return Ok(());
        }
        let parts = batch
            .par_iter()
            .map(|(k, v)| {
                let recs: Vec<NodeRecord> = decode_chunk(k, v)?;
                let mut part = NodeCols::with_len(0);
                for r in &recs {
                    part.push(r, extra)?;
                }
                Ok((chunk_load(k), recs, part))
            })
            .collect::<Result<Vec<(u32, Vec<NodeRecord>, NodeCols)>, EngineError>>()
            .and_then(|parts| {
                parts.iter().try_for_each(|(load, recs, part)| {
                    place(&mut cols, &mut last, *load, recs, part, extra)
                })
            });
        if let Err(e) = parts {
            failed = Some(e);
        }
        Ok(())
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(cols),
    }
}

/// Moves a chunk's records (`recs`, held as columns in `part`) into their slots, folding a
/// slot's second record into its first.
fn place(
    cols: &mut NodeCols,
    last: &mut Vec<u32>,
    load: u32,
    recs: &[NodeRecord],
    part: &NodeCols,
    extra: &normalize::Placeholders,
) -> Result<(), EngineError> {
    for (j, r) in recs.iter().enumerate() {
        let id = r.id.0;
        let i = id as usize;
        if i >= cols.len() {
            grow(cols, i + 1);
            last.resize(i + 1, 0);
        }
        match cols.record(i, id)? {
            None => cols.copy_from(i, part, j),
            Some(mut prev) => {
                if last[i] == load {
                    prev.absorb(r);
                } else {
                    prev.overlay(r);
                }
                cols.set(i, &prev, extra)?;
            }
        }
        last[i] = load;
    }
    Ok(())
}

fn grow(cols: &mut NodeCols, n: usize) {
    cols.kind.resize(n, NONE);
    for a in [&mut cols.ext, &mut cols.name, &mut cols.ident] {
        a.resize(n);
    }
    cols.detail.resize(n);
    cols.date.resize(n, super::NO_DATE);
    cols.death.resize(n, super::NO_DATE);
    cols.amount.resize(n, f64::NAN);
    cols.src_file.resize(n, 0);
    cols.src_line.resize(n, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use qinglian_model::{BlacklistRecord, Date, FileId};

    fn record() -> NodeRecord {
        NodeRecord {
            id: NodeId(7),
            kind: NodeKind::Company,
            ext_id: "C1".into(),
            aliases: vec!["C9".into()],
            name: "华信建设有限公司".into(),
            identifier: Some("91350100M000100Y43".into()),
            attrs: Attrs::Company {
                address: Some("福州市 鼓楼区 1号".into()),
                phone: Some("0591-1234567".into()),
                founded: Some(Date(12_000)),
                status: None,
            },
            props: vec![("sector".into(), "roads".into())],
            sources: vec![Provenance {
                file: FileId(3),
                line: 2,
            }],
        }
    }

    /// The detail record the file holds is the stored head followed by the blacklist entries:
    /// byte for byte what encoding the whole `NodeDetail` gives, with entries and without.
    #[test]
    fn a_detail_record_is_its_head_then_its_blacklist_entries() {
        let r = record();
        let mut cols = NodeCols::with_len(0);
        cols.push(&r, &normalize::Placeholders::default())
            .expect("encodes");
        let entry = BlacklistRecord {
            node: NodeId(7),
            reason: "fraud".into(),
            listed: Some(Date(15_000)),
            list_source: "court".into(),
            props: vec![],
            source: Provenance {
                file: FileId(4),
                line: 9,
            },
        };
        for entries in [vec![], vec![entry]] {
            let whole = postcard::to_allocvec(&crate::snapshot::NodeDetail {
                aliases: r.aliases.clone(),
                identifier: r.identifier.clone(),
                attrs: r.attrs.clone(),
                props: r.props.clone(),
                sources: r.sources.clone(),
                blacklist: entries.clone(),
            })
            .expect("encodes");
            let mut parts = cols.detail(0).to_vec();
            parts.extend(postcard::to_allocvec(&entries).expect("encodes"));
            assert_eq!(parts, whole);
        }
    }

    /// A record rebuilt from its columns is the record, and a second record folds into the
    /// first as the store's fold does: absorbed within a load, overlaid across loads.
    #[test]
    fn records_fold_as_the_store_folds_them() {
        let extra = normalize::Placeholders::default();
        let r = record();
        let mut part = NodeCols::with_len(0);
        part.push(&r, &extra).expect("encodes");
        assert_eq!(part.record(0, 7).expect("decodes"), Some(r.clone()));
        let mut later = r.clone();
        later.ext_id = "C2".into();
        later.name = "华信建设集团".into();
        later.sources[0].line = 40;
        for (loads, fold) in [
            (
                [1, 1],
                NodeRecord::absorb as fn(&mut NodeRecord, &NodeRecord),
            ),
            ([1, 2], NodeRecord::overlay),
        ] {
            let mut cols = NodeCols::with_len(8);
            let mut last = vec![0; 8];
            let mut first = NodeCols::with_len(0);
            first.push(&r, &extra).expect("encodes");
            let one = std::slice::from_ref(&r);
            place(&mut cols, &mut last, loads[0], one, &first, &extra).expect("places");
            let mut second = NodeCols::with_len(0);
            second.push(&later, &extra).expect("encodes");
            let two = std::slice::from_ref(&later);
            place(&mut cols, &mut last, loads[1], two, &second, &extra).expect("places");
            let mut want = r.clone();
            fold(&mut want, &later);
            assert_eq!(cols.record(7, 7).expect("decodes"), Some(want.clone()));
            assert_eq!(cols.name(7), want.name);
            assert!(cols.codes(7).is_some());
        }
    }
}
