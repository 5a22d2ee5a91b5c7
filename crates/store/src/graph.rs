//! The graph's layout on a [`Store`].
//!
//! ```text
//! M/format              format version (u32)
//! M/state               DbState: generation, next ids, counts per kind
//! L/<load>              LoadRecord: bundle, hash, per-file summary
//! H/<bundle hash>       load number (makes re-loading the same bundle a no-op)
//! F/<file>              FileInfo: name and load of a source file
//! N|E|B|G|W/<load>/<chunk>   node, edge, blacklist, merge and warning records
//! ```
//! Records are packed into chunks of at most [`CHUNK_TARGET`] bytes (each value stays far
//! below [`crate::MAX_VALUE_LEN`]), so a million-row load is a few thousand values and one
//! batch. Numbers in keys are big-endian so that key order is load order.

use crate::{Batch, KeyValue, Store, StoreError, MAX_VALUE_LEN};
use qinglian_model::{
    BlacklistRecord, EdgeKind, EdgeRecord, FileId, Generation, MergeRecord, NodeId, NodeKind,
    NodeRecord, Provenance,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The on-disk format this build writes and reads. Bump on any incompatible change, and keep
/// an old database as a test fixture so that a silent break fails a test.
pub const FORMAT_VERSION: u32 = 1;
/// Uncompressed size at which a chunk is closed. Chunks are stored lz4-compressed (records
/// compress about 3:1); a chunk whose compressed form would not fit in a value is split.
pub const CHUNK_TARGET: usize = 128 * 1024;

/// Chunks per batch of [`GraphDb::for_each_edge_batch`]: enough to keep every core decoding
/// (256 chunks are about 10 MB compressed), few enough to be nothing beside the records.
pub const SCAN_BATCH: usize = 256;

const CODEC_RAW: u8 = 0;
const CODEC_LZ4: u8 = 1;

/// Compresses a chunk of framed records into one or more values, each under the store's
/// value limit.
fn seal(raw: Vec<u8>, out: &mut Vec<Vec<u8>>) {
    let packed = lz4_flex::compress_prepend_size(&raw);
    if packed.len() < MAX_VALUE_LEN {
        let mut v = Vec::with_capacity(packed.len() + 1);
        v.push(CODEC_LZ4);
        v.extend_from_slice(&packed);
        out.push(v);
        return;
    }
    // Split at a record boundary near the middle and try each half.
    let mut at = 0;
    let mut rest = &raw[..];
    while at < raw.len() / 2 && rest.len() >= 4 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize + 4;
        at += len;
        rest = &raw[at.min(raw.len())..];
    }
    if at == 0 || at >= raw.len() {
        // A single record: it is under the limit raw (checked when it was added).
        let mut v = Vec::with_capacity(raw.len() + 1);
        v.push(CODEC_RAW);
        v.extend_from_slice(&raw);
        out.push(v);
        return;
    }
    let tail = raw[at..].to_vec();
    let mut head = raw;
    head.truncate(at);
    seal(head, out);
    seal(tail, out);
}

const K_FORMAT: &[u8] = b"M/format";
const K_STATE: &[u8] = b"M/state";

/// Node and edge counts per kind (indexed by `NodeKind::index` / `EdgeKind::index`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountsByKind {
    /// Nodes per kind.
    pub nodes: [u64; NodeKind::COUNT],
    /// Edges per kind (derived kinds are never stored: always 0).
    #[serde(with = "stored_kinds")]
    pub edges: [u64; EdgeKind::COUNT],
    /// Blacklist entries.
    pub blacklist: u64,
    /// Recorded merges.
    pub merges: u64,
}

/// Per-kind edge counts as stored: the [`EdgeKind::STORED`] fact kinds only, so that a derived
/// kind added to the model leaves every database written before it readable.
mod stored_kinds {
    use qinglian_model::EdgeKind;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[u64; EdgeKind::COUNT], s: S) -> Result<S::Ok, S::Error> {
        let mut stored = [0u64; EdgeKind::STORED];
        stored.copy_from_slice(&v[..EdgeKind::STORED]);
        stored.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[u64; EdgeKind::COUNT], D::Error> {
        let stored = <[u64; EdgeKind::STORED]>::deserialize(d)?;
        let mut v = [0u64; EdgeKind::COUNT];
        v[..EdgeKind::STORED].copy_from_slice(&stored);
        Ok(v)
    }
}

impl CountsByKind {
    /// Adds another set of counts.
    pub fn add(&mut self, o: &CountsByKind) {
        self.nodes
            .iter_mut()
            .zip(o.nodes)
            .for_each(|(a, b)| *a += b);
        self.edges
            .iter_mut()
            .zip(o.edges)
            .for_each(|(a, b)| *a += b);
        self.blacklist += o.blacklist;
        self.merges += o.merges;
    }
}

/// The database's state after its last committed load.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbState {
    /// Incremented by every committed load; a snapshot built at one generation is stale at
    /// the next.
    pub generation: Generation,
    /// Next node id to hand out.
    pub next_node: u32,
    /// Next file id to hand out.
    pub next_file: u32,
    /// Number of committed loads.
    pub loads: u32,
    /// Totals over all loads.
    pub counts: CountsByKind,
}

/// What happened to the rows of one file of a load.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    /// File name within the bundle.
    pub name: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// Data rows read (header excluded).
    pub read: u64,
    /// Rows that became a new node, edge or blacklist entry.
    pub loaded: u64,
    /// Rows resolved into an existing entity (same id or identifier).
    pub merged: u64,
    /// Rows kept with at least one warning.
    pub warned: u64,
    /// Rows with an error (any error rejects the whole load).
    pub rejected: u64,
}

/// One committed load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadRecord {
    /// 1-based load number.
    pub number: u32,
    /// The bundle folder as given on the command line.
    pub bundle: String,
    /// SHA-256 over the bundle's file names and contents, hex.
    pub bundle_hash: String,
    /// Seconds since the Unix epoch when the load committed.
    pub unix_time: u64,
    /// Per-file summary.
    pub files: Vec<FileSummary>,
    /// What the load added.
    pub added: CountsByKind,
    /// Warnings recorded.
    pub warnings: u64,
}

/// What a load says about the facts its source asserted before (see `docs/ingest.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The bundle is the source's complete current truth: the facts the source asserted
    /// before and does not assert now are retracted.
    #[default]
    Snapshot,
    /// The bundle adds and changes facts; nothing else is retracted.
    Delta,
}

impl Mode {
    /// The name used on the command line and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Snapshot => "snapshot",
            Mode::Delta => "delta",
        }
    }
}

/// The source and mode of a load. Stored beside the load record (under its own key, so that
/// load records written before sources existed still decode); a load without one is read as
/// a delta of a source named after its bundle: what such a load meant when it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadMeta {
    /// The source the load belongs to.
    pub source: String,
    /// Its mode.
    pub mode: Mode,
}

/// The load number a record chunk's key belongs to (chunks are keyed tag, `/`, load, seq).
pub fn chunk_load(key: &[u8]) -> u32 {
    key.get(2..6)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

/// A value a load declared no value (`placeholders.csv`): never a tie between two entities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceholderRecord {
    /// The value as written.
    pub value: String,
    /// What it stands for: a phone, an address, or either.
    pub field: qinglian_model::normalize::PlaceholderField,
    /// Where it was declared.
    pub source: Provenance,
}

/// A source file in the file table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Its id (what provenance records cite).
    pub id: FileId,
    /// The load that read it.
    pub load: u32,
    /// File name within the bundle.
    pub name: String,
}

#[derive(Clone, Copy)]
enum Tag {
    Node = b'N' as isize,
    Edge = b'E' as isize,
    Blacklist = b'B' as isize,
    Merge = b'G' as isize,
    Warning = b'W' as isize,
    Placeholder = b'V' as isize,
}

fn chunk_prefix(tag: Tag) -> Vec<u8> {
    vec![tag as u8, b'/']
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(v).map_err(|e| StoreError::Corrupt {
        key: "(encoding)".into(),
        reason: e.to_string(),
    })
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| corrupt(key, &e))
}

/// Splits a chunk value into its records.
pub fn decode_chunk<T: DeserializeOwned>(key: &[u8], chunk: &[u8]) -> Result<Vec<T>, StoreError> {
    decode_chunk_with(key, chunk, |k, b| decode(k, b).map(Some))
}

/// Decodes the records of a chunk whose leading fields `H` (as in [`decode_chunk_heads`])
/// pass `keep`, and only those: the heads cost no allocation, so a reader that wants a few
/// records out of millions pays for the few.
pub fn decode_chunk_where<H: DeserializeOwned, T: DeserializeOwned>(
    key: &[u8],
    chunk: &[u8],
    keep: impl Fn(&H) -> bool,
) -> Result<Vec<T>, StoreError> {
    decode_chunk_with(key, chunk, |k, bytes| {
        let head: H = record_head(k, bytes)?;
        if keep(&head) {
            decode(k, bytes).map(Some)
        } else {
            Ok(None)
        }
    })
}

fn corrupt(key: &[u8], e: &postcard::Error) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    }
}

/// Decodes only the leading fields of each record of a chunk: `T` is a tuple of the first
/// fields of the record type, in order (postcard writes fields in declaration order, so a
/// prefix of a record is a valid encoding of them). Reading `(EdgeKind, NodeId, NodeId)` off
/// the edge chunks costs no allocation, where a whole `EdgeRecord` allocates its label and
/// properties; the snapshot build uses it to lay out nodes before decoding edges for real.
pub fn decode_chunk_heads<T: DeserializeOwned>(
    key: &[u8],
    chunk: &[u8],
) -> Result<Vec<T>, StoreError> {
    decode_chunk_with(key, chunk, |key, bytes| {
        postcard::take_from_bytes(bytes)
            .map(|(t, _)| Some(t))
            .map_err(|e| corrupt(key, &e))
    })
}

/// The leading fields `H` of one record's encoding (as in [`decode_chunk_heads`]), a decoding
/// error naming the chunk's key `key`.
pub fn record_head<H: DeserializeOwned>(key: &[u8], rec: &[u8]) -> Result<H, StoreError> {
    postcard::take_from_bytes::<H>(rec)
        .map(|(h, _)| h)
        .map_err(|e| corrupt(key, &e))
}

/// Calls `f` with the encoded bytes of each record of a chunk, in order: for readers that
/// keep records encoded (the snapshot build groups 40 M edge records by kind as bytes, a
/// quarter of their decoded size, and decodes one kind at a time).
pub fn chunk_records(
    key: &[u8],
    chunk: &[u8],
    mut f: impl FnMut(&[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    decode_chunk_with(key, chunk, |_, rec| f(rec).map(|()| None::<()>)).map(|_| ())
}

fn decode_chunk_with<T>(
    key: &[u8],
    chunk: &[u8],
    mut decode: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let unpacked;
    let mut rest = match chunk.split_first() {
        Some((&CODEC_RAW, body)) => body,
        Some((&CODEC_LZ4, body)) => {
            unpacked =
                lz4_flex::decompress_size_prepended(body).map_err(|e| StoreError::Corrupt {
                    key: String::from_utf8_lossy(key).into_owned(),
                    reason: format!("lz4: {e}"),
                })?;
            &unpacked[..]
        }
        _ => {
            return Err(StoreError::Corrupt {
                key: String::from_utf8_lossy(key).into_owned(),
                reason: "unknown chunk codec".into(),
            })
        }
    };
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4).ok_or_else(|| truncated(key))?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (rec, tail) = tail.split_at_checked(len).ok_or_else(|| truncated(key))?;
        out.extend(decode(key, rec)?);
        rest = tail;
    }
    Ok(out)
}

fn truncated(key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "truncated chunk".into(),
    }
}

/// Bytes of node and edge chunks committed at a time ahead of a load's final batch. sled held
/// about three times a batch's bytes while applying it: the 2.4 GB load of 10M people took the
/// process from 2.6 to 7.95 GB, the peak of the whole ingest (docs/performance.md, "Memory").
/// The chunks carry the load's number; nothing reads them before the final batch records the
/// load (the loading process holds the database), and the load stays all or nothing:
/// [`GraphDb::open`], a failed commit and the next attempt remove the chunks of a load whose
/// final batch never came.
const PIECE_BYTES: usize = 128 << 20;

/// The graph on a store.
#[derive(Debug)]
pub struct GraphDb<S: Store> {
    store: S,
    state: DbState,
    /// See [`GraphDb::set_pieces`].
    piece_bytes: usize,
    after_piece: Option<fn()>,
}

impl<S: Store> GraphDb<S> {
    /// Opens the graph, writing the format version into an empty store and refusing a store
    /// written in another format.
    pub fn open(store: S) -> Result<GraphDb<S>, StoreError> {
        match store.get(K_FORMAT)? {
            None => {
                let mut b = Batch::new();
                b.put(K_FORMAT.to_vec(), FORMAT_VERSION.to_le_bytes().to_vec())?;
                b.put(K_STATE.to_vec(), encode(&DbState::default())?)?;
                store.commit(b)?;
            }
            Some(v) => {
                let found = v
                    .as_slice()
                    .try_into()
                    .map(u32::from_le_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        key: "M/format".into(),
                        reason: format!("{} bytes, expected 4", v.len()),
                    })?;
                if found > FORMAT_VERSION {
                    return Err(StoreError::FormatTooNew {
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                if found < FORMAT_VERSION {
                    return Err(StoreError::FormatTooOld {
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
            }
        }
        let state: DbState = match store.get(K_STATE)? {
            Some(v) => decode(K_STATE, &v)?,
            None => DbState::default(),
        };
        let db = GraphDb {
            store,
            state,
            piece_bytes: PIECE_BYTES,
            after_piece: None,
        };
        db.remove_unfinished(db.state.loads + 1)?;
        Ok(db)
    }

    /// Removes the chunks a load numbered `number` wrote ahead of its final batch (see
    /// [`PIECE_BYTES`]) when the process died before that batch: nothing reads them (readers
    /// scan every load's chunks), and the next attempt at that number must not find them.
    fn remove_unfinished(&self, number: u32) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for tag in [Tag::Node, Tag::Edge] {
            let mut prefix = chunk_prefix(tag);
            prefix.extend(number.to_be_bytes());
            for kv in self.store.scan_prefix(&prefix) {
                b.delete(kv?.0);
            }
        }
        if !b.is_empty() {
            self.store.commit(b)?;
        }
        Ok(())
    }

    /// Sets the size of the pieces a load's chunks are committed in ahead of its final batch
    /// ([`PIECE_BYTES`] by default) and a function called after each: for tests of a load
    /// that dies between pieces (`qinglian ingest` under `QINGLIAN_FAILPOINT=commit-piece`).
    pub fn set_pieces(&mut self, bytes: usize, after_piece: Option<fn()>) {
        self.piece_bytes = bytes.max(1);
        self.after_piece = after_piece;
    }

    /// Commits the node and edge chunks of load `number` ahead of its final batch, a piece of
    /// [`GraphDb::set_pieces`]'s size at a time, and returns the other writes for that batch.
    fn commit_ahead(&self, batch: Batch, number: u32) -> Result<Batch, StoreError> {
        let ahead: Vec<Vec<u8>> = [Tag::Node, Tag::Edge]
            .into_iter()
            .map(|tag| {
                let mut prefix = chunk_prefix(tag);
                prefix.extend(number.to_be_bytes());
                prefix
            })
            .collect();
        let (mut piece, mut rest) = (Batch::new(), Batch::new());
        for (k, v) in batch.into_writes() {
            match v {
                Some(v) if ahead.iter().any(|p| k.starts_with(p)) => {
                    piece.put(k, v)?;
                    if piece.bytes() >= self.piece_bytes {
                        self.store.commit(std::mem::take(&mut piece))?;
                        if let Some(f) = self.after_piece {
                            f();
                        }
                    }
                }
                Some(v) => rest.put(k, v)?,
                None => rest.delete(k),
            }
        }
        for (k, v) in piece.into_writes() {
            if let Some(v) = v {
                rest.put(k, v)?;
            }
        }
        Ok(rest)
    }

    /// The state after the last committed load.
    pub fn state(&self) -> &DbState {
        &self.state
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The load that committed a bundle with this hash, if any.
    pub fn load_with_hash(&self, hash: &str) -> Result<Option<u32>, StoreError> {
        let key = [b"H/".as_slice(), hash.as_bytes()].concat();
        Ok(self
            .store
            .get(&key)?
            .map(|v| v.as_slice().try_into().map(u32::from_le_bytes).unwrap_or(0)))
    }

    /// Every committed load, in order.
    pub fn loads(&self) -> Result<Vec<LoadRecord>, StoreError> {
        self.store
            .scan_prefix(b"L/")
            .map(|r| r.and_then(|(k, v)| decode(&k, &v)))
            .collect()
    }

    /// The source and mode of every load, by load number (see [`LoadMeta`]).
    pub fn load_metas(&self) -> Result<std::collections::BTreeMap<u32, LoadMeta>, StoreError> {
        let mut out = std::collections::BTreeMap::new();
        for r in self.loads()? {
            out.insert(
                r.number,
                LoadMeta {
                    source: r.bundle.clone(),
                    mode: Mode::Delta,
                },
            );
        }
        for r in self.store.scan_prefix(b"S/") {
            let (k, v) = r?;
            let meta: LoadMeta = decode(&k, &v)?;
            out.insert(chunk_load(&k), meta);
        }
        Ok(out)
    }

    /// The file table, by file id.
    pub fn files(&self) -> Result<Vec<FileInfo>, StoreError> {
        self.store
            .scan_prefix(b"F/")
            .map(|r| r.and_then(|(k, v)| decode(&k, &v)))
            .collect()
    }

    /// Raw node chunks (key, value), for decoding in parallel with [`decode_chunk`].
    pub fn node_chunks(&self) -> Result<Vec<KeyValue>, StoreError> {
        self.store.scan_prefix(&chunk_prefix(Tag::Node)).collect()
    }

    /// Raw blacklist chunks.
    pub fn blacklist_chunks(&self) -> Result<Vec<KeyValue>, StoreError> {
        self.store
            .scan_prefix(&chunk_prefix(Tag::Blacklist))
            .collect()
    }

    /// Raw edge chunks.
    pub fn edge_chunks(&self) -> Result<Vec<KeyValue>, StoreError> {
        self.store.scan_prefix(&chunk_prefix(Tag::Edge)).collect()
    }

    /// The edge chunks of loads `1..=upto` (every load when `None`), [`SCAN_BATCH`] at a time
    /// in key order, each batch handed to `f` (which decodes it in parallel): a reader of
    /// millions of records then holds the compressed bytes of one batch, not of the whole
    /// store (2 GB at 10M people) beside what it decodes.
    pub fn for_each_edge_batch(
        &self,
        upto: Option<u32>,
        f: impl FnMut(&[KeyValue]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.for_each_batch(Tag::Edge, upto, f)
    }

    /// [`GraphDb::for_each_edge_batch`] for the node chunks.
    pub fn for_each_node_batch(
        &self,
        upto: Option<u32>,
        f: impl FnMut(&[KeyValue]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.for_each_batch(Tag::Node, upto, f)
    }

    fn for_each_batch(
        &self,
        tag: Tag,
        upto: Option<u32>,
        mut f: impl FnMut(&[KeyValue]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut batch = Vec::with_capacity(SCAN_BATCH);
        for kv in self.store.scan_prefix(&chunk_prefix(tag)) {
            let kv = kv?;
            if upto.is_some_and(|u| chunk_load(&kv.0) > u) {
                continue;
            }
            batch.push(kv);
            if batch.len() == SCAN_BATCH {
                f(&batch)?;
                batch.clear();
            }
        }
        if batch.is_empty() {
            Ok(())
        } else {
            f(&batch)
        }
    }

    fn all<T: DeserializeOwned>(&self, tag: Tag) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for r in self.store.scan_prefix(&chunk_prefix(tag)) {
            let (k, v) = r?;
            out.extend(decode_chunk(&k, &v)?);
        }
        Ok(out)
    }

    /// Every node record, in load order. A node described by several loads has one record
    /// per load; later records add to earlier ones.
    pub fn node_records(&self) -> Result<Vec<NodeRecord>, StoreError> {
        self.all(Tag::Node)
    }

    /// Every edge record, in load order.
    pub fn edge_records(&self) -> Result<Vec<EdgeRecord>, StoreError> {
        self.all(Tag::Edge)
    }

    /// Every blacklist entry.
    pub fn blacklist_records(&self) -> Result<Vec<BlacklistRecord>, StoreError> {
        self.all(Tag::Blacklist)
    }

    /// Every recorded merge.
    pub fn merge_records(&self) -> Result<Vec<MergeRecord>, StoreError> {
        self.all(Tag::Merge)
    }

    /// Every warning of every load, as printed at load time.
    pub fn warnings(&self) -> Result<Vec<String>, StoreError> {
        self.all(Tag::Warning)
    }

    /// The placeholders in force after load `known_at` (the last load when `None`): per
    /// source, a snapshot load's list replaces what the source declared before (a snapshot
    /// without `placeholders.csv` declares none), a delta load's adds to it; the sources'
    /// lists are joined. Loads made before placeholders existed declared none.
    pub fn placeholders_at(
        &self,
        known_at: Option<u32>,
    ) -> Result<Vec<PlaceholderRecord>, StoreError> {
        let last = known_at.unwrap_or(self.state.loads);
        let mut per_load: BTreeMap<u32, Vec<PlaceholderRecord>> = BTreeMap::new();
        for r in self.store.scan_prefix(&chunk_prefix(Tag::Placeholder)) {
            let (k, v) = r?;
            let load = chunk_load(&k);
            if load <= last {
                per_load
                    .entry(load)
                    .or_default()
                    .extend(decode_chunk::<PlaceholderRecord>(&k, &v)?);
            }
        }
        let mut per_source: BTreeMap<String, Vec<PlaceholderRecord>> = BTreeMap::new();
        for (load, meta) in self.load_metas()?.into_iter().filter(|(l, _)| *l <= last) {
            let list = per_source.entry(meta.source).or_default();
            if meta.mode == Mode::Snapshot {
                list.clear();
            }
            list.extend(per_load.remove(&load).unwrap_or_default());
        }
        Ok(per_source.into_values().flatten().collect())
    }

    /// Starts a load; nothing is visible until [`GraphDb::commit_load`].
    pub fn begin_load(&self, bundle: &str, bundle_hash: &str) -> LoadWriter {
        let number = self.state.loads + 1;
        let mk = |tag| Chunker::new(tag, number);
        LoadWriter {
            number,
            bundle: bundle.to_owned(),
            bundle_hash: bundle_hash.to_owned(),
            next_node: self.state.next_node,
            next_file: self.state.next_file,
            files: Vec::new(),
            nodes: mk(Tag::Node),
            edges: mk(Tag::Edge),
            blacklist: mk(Tag::Blacklist),
            merges: mk(Tag::Merge),
            warnings: mk(Tag::Warning),
            placeholders: mk(Tag::Placeholder),
            added: CountsByKind::default(),
            warning_count: 0,
            meta: None,
            batch: Batch::new(),
        }
    }

    /// Commits a load as one atomic, durable batch and returns its record.
    pub fn commit_load(
        &mut self,
        mut w: LoadWriter,
        files: Vec<FileSummary>,
        unix_time: u64,
    ) -> Result<LoadRecord, StoreError> {
        for c in [
            &mut w.nodes,
            &mut w.edges,
            &mut w.blacklist,
            &mut w.merges,
            &mut w.warnings,
            &mut w.placeholders,
        ] {
            c.flush(&mut w.batch)?;
        }
        let record = LoadRecord {
            number: w.number,
            bundle: w.bundle,
            bundle_hash: w.bundle_hash.clone(),
            unix_time,
            files,
            added: w.added.clone(),
            warnings: w.warning_count,
        };
        let mut state = self.state.clone();
        state.generation = state.generation.next();
        state.loads = w.number;
        state.next_node = w.next_node;
        state.next_file = w.next_file;
        state.counts.add(&w.added);
        self.remove_unfinished(w.number)?;
        let number = w.number;
        let written = self.commit_ahead(w.batch, number).and_then(|mut b| {
            for f in &w.files {
                b.put(
                    [b"F/".as_slice(), &f.id.0.to_be_bytes()].concat(),
                    encode(f)?,
                )?;
            }
            b.put(
                [b"L/".as_slice(), &number.to_be_bytes()].concat(),
                encode(&record)?,
            )?;
            b.put(
                [b"H/".as_slice(), w.bundle_hash.as_bytes()].concat(),
                number.to_le_bytes().to_vec(),
            )?;
            if let Some(m) = &w.meta {
                b.put(
                    [b"S/".as_slice(), &number.to_be_bytes()].concat(),
                    encode(m)?,
                )?;
            }
            b.put(K_STATE.to_vec(), encode(&state)?)?;
            self.store.commit(b)
        });
        if let Err(e) = written {
            // The chunks committed ahead must not outlive a failed load in this process
            // either; the load's own error is the one to report.
            let _ = self.remove_unfinished(number);
            return Err(e);
        }
        self.state = state;
        Ok(record)
    }
}

/// Packs records into chunk values independently of a [`LoadWriter`], so that several
/// threads can encode their share of a load in parallel; the writer then appends the chunks
/// in a fixed order ([`LoadWriter::append_edge_chunks`]).
#[derive(Debug, Default)]
pub struct ChunkEncoder {
    chunks: Vec<Vec<u8>>,
    buf: Vec<u8>,
    records: u64,
}

impl ChunkEncoder {
    /// An empty encoder.
    pub fn new() -> ChunkEncoder {
        ChunkEncoder::default()
    }

    /// Encodes one record.
    pub fn push<T: Serialize>(&mut self, rec: &T) -> Result<(), StoreError> {
        let start = self.buf.len();
        self.buf.extend([0u8; 4]);
        let buf = std::mem::take(&mut self.buf);
        self.buf = postcard::to_extend(rec, buf).map_err(|e| StoreError::Corrupt {
            key: "(encoding)".into(),
            reason: e.to_string(),
        })?;
        let len = self.buf.len() - start - 4;
        if len + 4 > MAX_VALUE_LEN {
            self.buf.truncate(start);
            return Err(StoreError::ValueTooLarge {
                len: len + 4,
                max: MAX_VALUE_LEN,
            });
        }
        self.buf[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
        self.records += 1;
        if self.buf.len() > CHUNK_TARGET {
            // Move the record that overflowed into the next chunk.
            let tail = self.buf.split_off(start);
            if !self.buf.is_empty() {
                let full =
                    std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_TARGET + 1024));
                seal(full, &mut self.chunks);
            }
            self.buf = tail;
        }
        Ok(())
    }

    /// Records encoded.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The finished chunk values.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.buf.is_empty() {
            let last = std::mem::take(&mut self.buf);
            seal(last, &mut self.chunks);
        }
        self.chunks
    }
}

struct Chunker {
    prefix: Vec<u8>,
    next: u32,
    buf: Vec<u8>,
}

impl Chunker {
    fn new(tag: Tag, load: u32) -> Chunker {
        let mut prefix = chunk_prefix(tag);
        prefix.extend(load.to_be_bytes());
        Chunker {
            prefix,
            next: 0,
            buf: Vec::with_capacity(CHUNK_TARGET + 1024),
        }
    }

    fn push(&mut self, rec: &[u8], batch: &mut Batch) -> Result<(), StoreError> {
        if rec.len() + 4 > MAX_VALUE_LEN {
            return Err(StoreError::ValueTooLarge {
                len: rec.len() + 4,
                max: MAX_VALUE_LEN,
            });
        }
        if !self.buf.is_empty() && self.buf.len() + 4 + rec.len() > CHUNK_TARGET {
            self.flush(batch)?;
        }
        self.buf.extend((rec.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(rec);
        Ok(())
    }

    fn flush(&mut self, batch: &mut Batch) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut sealed = Vec::new();
        seal(std::mem::take(&mut self.buf), &mut sealed);
        for c in sealed {
            self.put_chunk(c, batch)?;
        }
        Ok(())
    }

    fn put_chunk(&mut self, chunk: Vec<u8>, batch: &mut Batch) -> Result<(), StoreError> {
        let mut key = self.prefix.clone();
        key.extend(self.next.to_be_bytes());
        self.next += 1;
        batch.put(key, chunk)
    }
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chunker({} chunks)", self.next)
    }
}

/// Collects one load's records into a single batch.
#[derive(Debug)]
pub struct LoadWriter {
    number: u32,
    bundle: String,
    bundle_hash: String,
    next_node: u32,
    next_file: u32,
    files: Vec<FileInfo>,
    nodes: Chunker,
    edges: Chunker,
    blacklist: Chunker,
    merges: Chunker,
    warnings: Chunker,
    placeholders: Chunker,
    added: CountsByKind,
    warning_count: u64,
    meta: Option<LoadMeta>,
    batch: Batch,
}

impl LoadWriter {
    /// Sets the load's source and mode (written with the commit).
    pub fn set_meta(&mut self, meta: LoadMeta) {
        self.meta = Some(meta);
    }

    /// This load's number.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Registers a source file of this load.
    pub fn add_file(&mut self, name: &str) -> FileId {
        let id = FileId(self.next_file);
        self.next_file += 1;
        self.files.push(FileInfo {
            id,
            load: self.number,
            name: name.to_owned(),
        });
        id
    }

    /// Hands out the next node id.
    pub fn alloc_node(&mut self) -> NodeId {
        let id = NodeId(self.next_node);
        self.next_node += 1;
        id
    }

    /// Adds a node record; `new` says whether it creates the node (counted) or adds to a node
    /// of an earlier load.
    pub fn put_node(&mut self, rec: &NodeRecord, new: bool) -> Result<(), StoreError> {
        if new {
            self.added.nodes[rec.kind.index()] += 1;
        }
        self.nodes.push(&encode(rec)?, &mut self.batch)
    }

    /// Adds an edge record.
    pub fn put_edge(&mut self, rec: &EdgeRecord) -> Result<(), StoreError> {
        self.added.edges[rec.kind.index()] += 1;
        self.edges.push(&encode(rec)?, &mut self.batch)
    }

    /// Appends edge chunks encoded by a [`ChunkEncoder`]; `counts` are the edges per kind
    /// they hold.
    pub fn append_edge_chunks(
        &mut self,
        chunks: Vec<Vec<u8>>,
        counts: &[u64; EdgeKind::COUNT],
    ) -> Result<(), StoreError> {
        self.edges.flush(&mut self.batch)?;
        for c in chunks {
            self.edges.put_chunk(c, &mut self.batch)?;
        }
        self.added
            .edges
            .iter_mut()
            .zip(counts)
            .for_each(|(a, b)| *a += b);
        Ok(())
    }

    /// Appends node chunks encoded by a [`ChunkEncoder`]; `new_counts` are the nodes per kind
    /// they create.
    pub fn append_node_chunks(
        &mut self,
        chunks: Vec<Vec<u8>>,
        new_counts: &[u64; NodeKind::COUNT],
    ) -> Result<(), StoreError> {
        self.nodes.flush(&mut self.batch)?;
        for c in chunks {
            self.nodes.put_chunk(c, &mut self.batch)?;
        }
        self.added
            .nodes
            .iter_mut()
            .zip(new_counts)
            .for_each(|(a, b)| *a += b);
        Ok(())
    }

    /// Adds a blacklist entry.
    pub fn put_blacklist(&mut self, rec: &BlacklistRecord) -> Result<(), StoreError> {
        self.added.blacklist += 1;
        self.blacklist.push(&encode(rec)?, &mut self.batch)
    }

    /// Records a merge.
    pub fn put_merge(&mut self, rec: &MergeRecord) -> Result<(), StoreError> {
        self.added.merges += 1;
        self.merges.push(&encode(rec)?, &mut self.batch)
    }

    /// Records a value this load declares a placeholder.
    pub fn put_placeholder(&mut self, rec: &PlaceholderRecord) -> Result<(), StoreError> {
        self.placeholders.push(&encode(rec)?, &mut self.batch)
    }

    /// Records a warning.
    pub fn put_warning(&mut self, text: &str) -> Result<(), StoreError> {
        self.warning_count += 1;
        self.warnings.push(&encode(&text)?, &mut self.batch)
    }

    /// Bytes buffered so far.
    pub fn bytes(&self) -> usize {
        self.batch.bytes()
    }
}

/// Counts per kind, by kind name.
pub type NamedCounts = Vec<(&'static str, u64)>;

/// Counts as named in `stats` output: (nodes, edges).
pub fn counts_by_name(c: &CountsByKind) -> (NamedCounts, NamedCounts) {
    (
        NodeKind::ALL
            .iter()
            .map(|k| (k.as_str(), c.nodes[k.index()]))
            .collect(),
        EdgeKind::ALL
            .iter()
            .filter(|k| !k.is_derived())
            .map(|k| (k.as_str(), c.edges[k.index()]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemStore;
    use qinglian_model::{Attrs, NodeKind, Provenance};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A memory store whose commits fail from the `n`-th on (a crash in the middle of a
    /// load's commit), or only the `n`-th (an error the process survives).
    struct Failing {
        inner: Arc<MemStore>,
        commits: AtomicUsize,
        fail_at: usize,
        only_once: bool,
    }

    impl Failing {
        fn new(inner: &Arc<MemStore>, fail_at: usize, only_once: bool) -> Failing {
            Failing {
                inner: Arc::clone(inner),
                commits: AtomicUsize::new(0),
                fail_at,
                only_once,
            }
        }
    }

    impl Store for Failing {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.inner.get(key)
        }

        fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> crate::Scan<'a> {
            self.inner.scan_prefix(prefix)
        }

        fn commit(&self, batch: Batch) -> Result<(), StoreError> {
            let n = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
            let fails = if self.only_once {
                n == self.fail_at
            } else {
                n >= self.fail_at
            };
            if fails {
                return Err(StoreError::Backend(format!("commit {n} fails")));
            }
            self.inner.commit(batch)
        }
    }

    /// Commits a load of `n` people whose names start with `tag`, in pieces of 4 KiB.
    fn load<S: Store>(db: &mut GraphDb<S>, tag: &str, n: usize) -> Result<LoadRecord, StoreError> {
        db.set_pieces(4 << 10, None);
        let mut w = db.begin_load(tag, tag);
        let file = w.add_file("people.csv");
        for i in 0..n {
            let id = w.alloc_node();
            let rec = NodeRecord {
                id,
                kind: NodeKind::Person,
                ext_id: format!("{tag}{i}"),
                aliases: Vec::new(),
                name: format!("{tag} {i} {}", i.wrapping_mul(2_654_435_761) % 1_000_003),
                identifier: None,
                attrs: Attrs::Person {
                    birth_date: None,
                    death_date: None,
                },
                props: Vec::new(),
                sources: vec![Provenance {
                    file,
                    line: i as u32 + 2,
                }],
            };
            w.put_node(&rec, true)?;
        }
        db.commit_load(w, Vec::new(), 0)
    }

    fn names<S: Store>(db: &GraphDb<S>) -> Vec<String> {
        let mut v: Vec<String> = db
            .node_records()
            .expect("records")
            .into_iter()
            .map(|r| r.ext_id)
            .collect();
        v.sort();
        v
    }

    /// A load commits its chunks ahead of its final batch in pieces; a crash between them
    /// leaves the database as it was once reopened, and the next load of that number finds
    /// none of them.
    #[test]
    fn a_load_that_dies_between_pieces_leaves_the_previous_state() {
        let mem = Arc::new(MemStore::new());
        let mut db = GraphDb::open(Failing::new(&mem, usize::MAX, false)).expect("open");
        load(&mut db, "a", 20_000).expect("first load");
        let pieces = db.store.commits.load(Ordering::SeqCst);
        assert!(
            pieces > 3,
            "the load went in several pieces ({pieces} commits)"
        );
        let before = names(&db);
        assert_eq!(before.len(), 20_000);
        drop(db);

        // Dies after two pieces of the second load: the remaining commits all fail.
        let mut db = GraphDb::open(Failing::new(&mem, 3, false)).expect("open");
        assert!(load(&mut db, "b", 50_000).is_err());
        assert!(
            mem.scan_prefix(&[chunk_prefix(Tag::Node), 2u32.to_be_bytes().to_vec()].concat())
                .next()
                .is_some(),
            "pieces of the dead load are on disk"
        );
        drop(db);
        let db = GraphDb::open(Failing::new(&mem, usize::MAX, false)).expect("reopen");
        assert_eq!(db.state().loads, 1);
        assert_eq!(
            names(&db),
            before,
            "reopened: the dead load's pieces are gone"
        );

        // A failed commit the process survives removes its pieces at once.
        drop(db);
        let mut db = GraphDb::open(Failing::new(&mem, 3, true)).expect("open");
        assert!(load(&mut db, "c", 50_000).is_err());
        assert_eq!(names(&db), before, "no piece of the failed load is read");

        // The next load of that number holds exactly its own records.
        load(&mut db, "d", 10).expect("a later load");
        assert_eq!(db.state().loads, 2);
        assert_eq!(names(&db).len(), 20_010);
    }
}
