//! Building a snapshot from the store's records.

use super::buf::{owned, Writer};
use super::columns::{node_columns, NodeCols};
use super::{flag, EdgeSecs, FileMeta, Meta, NodeSecs, Snapshot, Stats, META_VERSION, NO_DATE};
use crate::EngineError;
use qinglian_model::{kinds, normalize, BlacklistRecord, EdgeKind, EdgeRecord, NodeKind};
use qinglian_store::{chunk_load, decode_chunk, decode_chunk_heads, GraphDb, Store};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::io::Write;
use std::path::Path;

#[allow(clippy::needless_pass_by_value)] // used as `map_err(io)`
fn io(e: std::io::Error) -> EngineError {
    EngineError::Snapshot(e.to_string())
}

/// Builds the snapshot of everything `db` holds, in memory (tests; read-only folders).
pub fn build<S: Store>(db: &GraphDb<S>) -> Result<Snapshot, EngineError> {
    build_at(db, None)
}

/// Builds, in memory, the snapshot of what `db` knew after load `known_at` (everything when
/// `None`): the records of later loads are not read, and the facts are folded as they stood
/// then (`qinglian_store::facts`).
pub fn build_at<S: Store>(db: &GraphDb<S>, known_at: Option<u32>) -> Result<Snapshot, EngineError> {
    let bytes = build_into(db, known_at, Writer::new(Vec::new()).map_err(io)?)?;
    Snapshot::from_backing(owned(&bytes), None).map_err(|e| EngineError::Snapshot(e.to_string()))
}

/// Builds the snapshot straight into `path`: a temporary file written front to back, fsynced,
/// then renamed over `path` (and the folder fsynced), so that a crash leaves either the old
/// file or the new one.
pub fn build_to_file<S: Store>(db: &GraphDb<S>, path: &Path) -> Result<(), EngineError> {
    let tmp = path.with_extension("tmp");
    let f = std::fs::File::create(&tmp).map_err(io)?;
    let out = build_into(
        db,
        None,
        Writer::new(std::io::BufWriter::with_capacity(8 << 20, f)).map_err(io)?,
    )?;
    let f = out.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

/// Writes the snapshot of everything `db` holds, front to back: the node columns and indexes,
/// each edge kind's arrays, then the node flags (official comes from the POSITION edges) and
/// the metadata (section offsets, label tables, statistics) in the trailer.
fn build_into<S: Store, W: Write>(
    db: &GraphDb<S>,
    upto: Option<u32>,
    mut w: Writer<W>,
) -> Result<W, EngineError> {
    let t = std::time::Instant::now();
    let lap = |what: &str| {
        if std::env::var_os("QINGLIAN_DEBUG_SNAPSHOT").is_some() {
            eprintln!("snapshot {what}: {:?}", t.elapsed());
        }
    };
    let state = db.state().clone();
    let files = file_table(db, state.next_file as usize)?;
    let extra = placeholders(db, upto)?;
    let NodeLayout {
        nodes,
        snap_of,
        rank,
        perm,
        kind_start,
    } = node_layout(db, state.next_node as usize, upto, &extra)?;
    lap("node layout");
    let n = nodes.len();
    let Blacklist {
        listed,
        mut flags,
        by_node: bl_of,
    } = blacklist_columns(db, &snap_of, n, upto)?;
    lap("blacklist");

    let mut ns = NodeSecs::default();
    write_names(&mut w, &mut ns, &nodes, rank, perm)?;
    lap("names");
    write_values(&mut w, &mut ns, &nodes)?;
    lap("values");
    let codes = write_code_indexes(&mut w, &mut ns, &nodes)?;
    lap("codes");
    ns.listed = w.put(&listed).map_err(io)?;
    drop(listed);
    write_lookups(&mut w, &mut ns, &nodes, &snap_of)?;
    lap("lookups");
    write_details(&mut w, &mut ns, &nodes, &bl_of)?;
    lap("details");
    let node_columns: Vec<Vec<String>> = nodes
        .cols
        .columns
        .iter()
        .map(|c| c.iter().cloned().collect())
        .collect();
    drop(nodes);

    let mut stats = Stats {
        code_pairs: codes.pairs,
        code_nodes: codes.nodes,
        blacklist: bl_of.values().map(|v| v.len() as u64).sum(),
        ..Stats::default()
    };
    for k in NodeKind::ALL {
        stats.nodes[k.index()] = u64::from(kind_start[k.index() + 1] - kind_start[k.index()]);
    }
    let mut edges = Vec::new();
    let mut labels = Vec::new();
    let mut inverse = Vec::new();
    let mut edge_columns = Vec::new();
    let also = |e: &mut EdgeRecord, rows: &[qinglian_model::Provenance]| {
        e.props
            .push(("also_stated_at".into(), rows_text(rows, &files)));
    };
    let built = qinglian_store::facts::current_kinds(db, upto, &also, |kind, es| {
        kind_arrays(kind, es, &snap_of, &kind_start)
    })?;
    lap("edge kinds");
    for (k, (a, lab)) in built.into_iter().enumerate() {
        let kind = EdgeKind::ALL[k];
        edge_columns.push(a.columns.iter().cloned().collect());
        if kind == EdgeKind::Position {
            for &s in &a.src {
                flags[s as usize] |= flag::OFFICIAL;
            }
        }
        edge_stats(&mut stats, k, &a, &kind_start);
        inverse.push(inverse_labels(&lab));
        labels.push(lab);
        edges.push(write_edge_kind(&mut w, kind, &a, n)?);
    }
    lap("edge writes");
    drop(snap_of);
    ns.flags = w.put(&flags).map_err(io)?;
    let meta = Meta {
        version: META_VERSION,
        generation: state.generation,
        n: n as u32,
        kind_start,
        files,
        labels,
        inverse,
        nodes: ns,
        edges,
        stats,
        node_columns,
        edge_columns,
    };
    let enc = postcard::to_allocvec(&meta).map_err(|e| EngineError::Snapshot(e.to_string()))?;
    w.finish(&enc).map_err(io)
}

/// The source file table, indexed by file id (sources cite files by id; a finding's evidence
/// names the file and the load that brought it).
fn file_table<S: Store>(db: &GraphDb<S>, next_file: usize) -> Result<Vec<FileMeta>, EngineError> {
    let mut files = vec![
        FileMeta {
            load: 0,
            name: String::new()
        };
        next_file
    ];
    for f in db.files()? {
        if let Some(slot) = files.get_mut(f.id.0 as usize) {
            *slot = FileMeta {
                load: f.load,
                name: f.name,
            };
        }
    }
    Ok(files)
}

/// The node records by snapshot node id: the columns (by store id) and, per snapshot id, the
/// store id it reads. Records are not moved into node-id order (at 10M people a second array
/// of records was 3.8 GB, then a permutation of them still held 6.3 GB of decoded records).
struct Nodes {
    cols: NodeCols,
    store_of: Vec<u32>,
}

impl Nodes {
    fn len(&self) -> usize {
        self.store_of.len()
    }

    /// The column index of snapshot node `i`.
    fn at(&self, i: usize) -> usize {
        self.store_of[i] as usize
    }

    /// The column indexes of the snapshot ids, in order.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.store_of.iter().map(|&s| s as usize)
    }

    fn kind(&self, i: usize) -> Option<NodeKind> {
        self.cols.kind(self.at(i))
    }

    fn ext(&self, i: usize) -> &str {
        self.cols.ext(self.at(i))
    }

    fn name(&self, i: usize) -> &str {
        self.cols.name(self.at(i))
    }

    fn identifier(&self, i: usize) -> Option<&str> {
        self.cols.identifier(self.at(i))
    }
}

/// The nodes in node-id order and the maps between the store's ids and the snapshot's.
struct NodeLayout {
    /// Records by snapshot node id.
    nodes: Nodes,
    /// Store node id -> snapshot node id (`u32::MAX`: no such node).
    snap_of: Vec<u32>,
    /// Per snapshot node id, its position in bundle-id order across kinds.
    rank: Vec<u32>,
    /// Canonical (kind, bundle id) position -> snapshot node id.
    perm: Vec<u32>,
    /// Start of each kind's id range (and the end of the last).
    kind_start: [u32; NodeKind::COUNT + 1],
}

/// Decides every node's snapshot id: the canonical (kind, bundle id) order, with people laid
/// out by family (see [`locality_order`]), and ranks in bundle-id order across kinds.
fn node_layout<S: Store>(
    db: &GraphDb<S>,
    next_node: usize,
    upto: Option<u32>,
    extra: &normalize::Placeholders,
) -> Result<NodeLayout, EngineError> {
    let t = std::time::Instant::now();
    let lap = |what: &str| {
        if std::env::var_os("QINGLIAN_DEBUG_SNAPSHOT").is_some() {
            eprintln!("snapshot layout {what}: {:?}", t.elapsed());
        }
    };
    let cols = node_columns(db, next_node, upto, extra)?;
    lap("columns");
    let order = canonical_order(&cols);
    lap("order");
    let n = order.len();
    let kind_start = kind_starts(&cols, &order);
    let mut canon_of = vec![u32::MAX; cols.len()];
    for (c, &old) in order.iter().enumerate() {
        canon_of[old as usize] = c as u32;
    }
    let rank_canon = bundle_id_ranks(&cols, &order, &kind_start);
    lap("ranks");
    let rel = family_edges(db, upto)?;
    lap("family edges");
    let perm = locality_order(&rel, &canon_of, &kind_start, n);
    lap("bfs");
    drop(rel);
    let mut snap_of = vec![u32::MAX; cols.len()];
    for (old, &c) in canon_of.iter().enumerate() {
        if c != u32::MAX {
            snap_of[old] = perm[c as usize];
        }
    }
    drop(canon_of);
    let mut rank = vec![0u32; n];
    for (c, &r) in rank_canon.iter().enumerate() {
        rank[perm[c] as usize] = r;
    }
    drop(rank_canon);
    let mut store_of = vec![0u32; n];
    for (c, &old) in order.iter().enumerate() {
        store_of[perm[c] as usize] = old;
    }
    drop(order);
    Ok(NodeLayout {
        nodes: Nodes { cols, store_of },
        snap_of,
        rank,
        perm,
        kind_start,
    })
}

/// The store ids of the nodes in canonical order: by kind, then bundle id. Node ids follow it
/// except within the Person range, laid out for locality (see [`locality_order`]), so each
/// kind is a contiguous id range and bundle ids are found by binary search.
fn canonical_order(cols: &NodeCols) -> Vec<u32> {
    let mut order: Vec<u32> = (0..cols.len() as u32)
        .filter(|&i| cols.kind(i as usize).is_some())
        .collect();
    let key = |i: u32| cols.kind(i as usize).map(|k| (k, cols.ext(i as usize)));
    // Loads usually arrive in (kind, id) order already: check before sorting.
    if order.par_windows(2).any(|w| key(w[0]) > key(w[1])) {
        order.par_sort_unstable_by(|&a, &b| key(a).cmp(&key(b)));
    }
    order
}

/// Where each kind's range starts in the canonical order (and where the last ends).
fn kind_starts(cols: &NodeCols, order: &[u32]) -> [u32; NodeKind::COUNT + 1] {
    let mut kind_start = [0u32; NodeKind::COUNT + 1];
    for &i in order {
        if let Some(k) = cols.kind(i as usize) {
            kind_start[k.index() + 1] += 1;
        }
    }
    for i in 1..=NodeKind::COUNT {
        kind_start[i] += kind_start[i - 1];
    }
    kind_start
}

/// Per canonical position, the node's rank in bundle-id order across all kinds: findings and
/// witnesses compare nodes by it, so that output never depends on node ids. Each kind's run of
/// the canonical order is sorted by bundle id already; the runs are merged.
fn bundle_id_ranks(
    cols: &NodeCols,
    order: &[u32],
    kind_start: &[u32; NodeKind::COUNT + 1],
) -> Vec<u32> {
    let n = order.len();
    let ext_of = |c: u32| cols.ext(order[c as usize] as usize);
    let mut rank_canon = vec![0u32; n];
    let mut heads: Vec<u32> = kind_start[..NodeKind::COUNT].to_vec();
    for r in 0..n as u32 {
        let mut best: Option<usize> = None;
        for k in 0..NodeKind::COUNT {
            if heads[k] < kind_start[k + 1] {
                let better = match best {
                    None => true,
                    Some(b) => ext_of(heads[k]) < ext_of(heads[b]),
                };
                if better {
                    best = Some(k);
                }
            }
        }
        let Some(k) = best else { break };
        rank_canon[heads[k] as usize] = r;
        heads[k] += 1;
    }
    rank_canon
}

/// The (tail, head) store ids of every family (RELATION) edge, decoding only the leading
/// fields of each edge record (no allocation): what [`locality_order`] lays people out by,
/// needed before anything is written in node order.
fn family_edges<S: Store>(
    db: &GraphDb<S>,
    upto: Option<u32>,
) -> Result<Vec<(u32, u32)>, EngineError> {
    let mut rel = Vec::new();
    db.for_each_edge_batch(upto, |chunks| {
        let heads = chunks
            .par_iter()
            .map(|(k, v)| {
                decode_chunk_heads::<(EdgeKind, qinglian_model::NodeId, qinglian_model::NodeId)>(
                    k, v,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        rel.extend(
            heads
                .into_iter()
                .flatten()
                .filter(|h| h.0 == EdgeKind::Relation)
                .map(|h| (h.1 .0, h.2 .0)),
        );
        Ok(())
    })?;
    Ok(rel)
}

/// What the blacklist adds to the nodes.
struct Blacklist {
    /// Per node, the earliest listing date (`NO_DATE`: not listed, or listed without a date).
    listed: Vec<i32>,
    /// Per node, `flag::BLACKLISTED` where listed (`flag::OFFICIAL` is added with the edges).
    flags: Vec<u8>,
    /// The entries of each listed node, for its detail record.
    by_node: FxHashMap<u32, Vec<BlacklistRecord>>,
}

/// Turns blacklist entries into node columns (rules test `blacklisted` and `listed` as node
/// properties) and per-node detail.
fn blacklist_columns<S: Store>(
    db: &GraphDb<S>,
    snap_of: &[u32],
    n: usize,
    upto: Option<u32>,
) -> Result<Blacklist, EngineError> {
    let mut listed = vec![i32::MAX; n];
    let mut flags = vec![0u8; n];
    let mut bl_of: FxHashMap<u32, Vec<BlacklistRecord>> = FxHashMap::default();
    let mut seen = rustc_hash::FxHashSet::default();
    for (k, v) in db.blacklist_chunks()? {
        if upto.is_some_and(|u| chunk_load(&k) > u) {
            continue;
        }
        for b in decode_chunk::<BlacklistRecord>(&k, &v)? {
            blacklist_entry(b, snap_of, &mut seen, &mut flags, &mut listed, &mut bl_of);
        }
    }
    for l in &mut listed {
        if *l == i32::MAX {
            *l = NO_DATE;
        }
    }
    Ok(Blacklist {
        listed,
        flags,
        by_node: bl_of,
    })
}

/// What makes two blacklist entries one: node, reason, date, list, extra columns.
type Listing = (u32, String, Option<i32>, String, Vec<(String, String)>);

/// Adds one blacklist entry; the same listing loaded again (same entity, reason, date, list
/// and extra columns) is one entry.
fn blacklist_entry(
    b: BlacklistRecord,
    snap_of: &[u32],
    seen: &mut rustc_hash::FxHashSet<Listing>,
    flags: &mut [u8],
    listed: &mut [i32],
    bl_of: &mut FxHashMap<u32, Vec<BlacklistRecord>>,
) {
    let Some(&s) = snap_of.get(b.node.0 as usize).filter(|&&s| s != u32::MAX) else {
        return;
    };
    if !seen.insert((
        s,
        b.reason.clone(),
        b.listed.map(|d| d.0),
        b.list_source.clone(),
        b.props.clone(),
    )) {
        return;
    }
    flags[s as usize] |= flag::BLACKLISTED;
    if let Some(d) = b.listed {
        listed[s as usize] = listed[s as usize].min(d.0);
    }
    bl_of.entry(s).or_default().push(b);
}

/// Writes the string columns (bundle ids, names, identifiers), the ranks, and the canonical
/// order that lookups by bundle id binary-search.
fn write_names<W: Write>(
    w: &mut Writer<W>,
    ns: &mut NodeSecs,
    nodes: &Nodes,
    rank: Vec<u32>,
    perm: Vec<u32>,
) -> Result<(), EngineError> {
    let c = &nodes.cols;
    let (off, bytes) = strings(nodes.iter().map(|i| c.ext(i)));
    (ns.ext_off, ns.ext_bytes) = (w.put(&off).map_err(io)?, w.put(&bytes).map_err(io)?);
    let (off, bytes) = strings(nodes.iter().map(|i| c.name(i)));
    (ns.name_off, ns.name_bytes) = (w.put(&off).map_err(io)?, w.put(&bytes).map_err(io)?);
    let (off, bytes) = strings(nodes.iter().map(|i| c.identifier(i).unwrap_or("")));
    (ns.ident_off, ns.ident_bytes) = (w.put(&off).map_err(io)?, w.put(&bytes).map_err(io)?);
    drop((off, bytes));
    ns.rank = w.put(&rank).map_err(io)?;
    drop(rank);
    // Canonical position -> node id, which is what lookups by bundle id binary-search.
    ns.ext_sorted = w.put(&perm).map_err(io)?;
    drop(perm);
    Ok(())
}

/// Writes the columns rules compare: each kind's main date, death dates, amounts.
fn write_values<W: Write>(
    w: &mut Writer<W>,
    ns: &mut NodeSecs,
    nodes: &Nodes,
) -> Result<(), EngineError> {
    let c = &nodes.cols;
    let date: Vec<i32> = nodes.iter().map(|i| c.date(i)).collect();
    ns.date = w.put(&date).map_err(io)?;
    let death: Vec<i32> = nodes.iter().map(|i| c.death(i)).collect();
    ns.death = w.put(&death).map_err(io)?;
    let amount: Vec<f64> = nodes.iter().map(|i| c.amount(i)).collect();
    ns.amount = w.put(&amount).map_err(io)?;
    Ok(())
}

/// Per code column (phone, address): the statistics the planner costs an equality join with.
struct CodeStats {
    /// Σ over codes of (nodes with the code)².
    pairs: [u64; 2],
    /// Nodes with a code.
    nodes: [u64; 2],
}

/// The values the loads up to `upto` declared placeholders (`placeholders.csv`), in their
/// compared forms.
fn placeholders<S: Store>(
    db: &GraphDb<S>,
    upto: Option<u32>,
) -> Result<normalize::Placeholders, EngineError> {
    let mut out = normalize::Placeholders::default();
    for r in db.placeholders_at(upto)? {
        out.add(&r.value, r.field);
    }
    Ok(out)
}

/// Writes companies' normalised phones and addresses as codes, and per column an index from
/// code to the nodes that have it and to its text: `x.phone = y.phone` runs as a join through
/// it instead of comparing every pair.
fn write_code_indexes<W: Write>(
    w: &mut Writer<W>,
    ns: &mut NodeSecs,
    nodes: &Nodes,
) -> Result<CodeStats, EngineError> {
    let n = nodes.len();
    let mut phone_codes: FxHashMap<String, u32> = FxHashMap::default();
    let mut addr_codes: FxHashMap<String, u32> = FxHashMap::default();
    let code = |m: &mut FxHashMap<String, u32>, v: &Option<String>| -> u32 {
        let Some(v) = v else { return 0 };
        let next = m.len() as u32 + 1;
        *m.entry(v.clone()).or_insert(next)
    };
    let (mut phone, mut addr) = (vec![0u32; n], vec![0u32; n]);
    for (i, c) in nodes.iter().enumerate() {
        if let Some((p, a)) = nodes.cols.codes(c) {
            phone[i] = code(&mut phone_codes, p);
            addr[i] = code(&mut addr_codes, a);
        }
    }
    ns.phone = w.put(&phone).map_err(io)?;
    ns.addr = w.put(&addr).map_err(io)?;
    let mut code_pairs = [0u64; 2];
    let mut code_count = [0u64; 2];
    for (tag, (col, codes)) in [(&phone, &phone_codes), (&addr, &addr_codes)]
        .into_iter()
        .enumerate()
    {
        // Code 0 is "none"; codes are 1..=len.
        let ncodes = codes.len() + 1;
        let mut off = vec![0u32; ncodes + 1];
        for &c in col.iter().filter(|&&c| c != 0) {
            off[c as usize + 1] += 1;
        }
        code_pairs[tag] = off.iter().map(|&k| u64::from(k) * u64::from(k)).sum();
        code_count[tag] = col.iter().filter(|&&c| c != 0).count() as u64;
        for i in 0..ncodes {
            off[i + 1] += off[i];
        }
        let mut fill = off.clone();
        let mut nodes_of = vec![0u32; off[ncodes] as usize];
        for (i, &c) in col.iter().enumerate().filter(|(_, &c)| c != 0) {
            nodes_of[fill[c as usize] as usize] = i as u32;
            fill[c as usize] += 1;
        }
        let mut texts = vec![""; ncodes];
        for (t, &c) in codes.iter() {
            texts[c as usize] = t.as_str();
        }
        let (toff, tbytes) = strings(texts.into_iter());
        ns.code_off[tag] = w.put(&off).map_err(io)?;
        ns.code_nodes[tag] = w.put(&nodes_of).map_err(io)?;
        ns.code_text_off[tag] = w.put(&toff).map_err(io)?;
        ns.code_text[tag] = w.put(&tbytes).map_err(io)?;
    }
    Ok(CodeStats {
        pairs: code_pairs,
        nodes: code_count,
    })
}

/// Writes each node's first source row, and the sorted indexes that search and lookups use:
/// nodes by identifier, by name, and by alias.
fn write_lookups<W: Write>(
    w: &mut Writer<W>,
    ns: &mut NodeSecs,
    nodes: &Nodes,
    snap_of: &[u32],
) -> Result<(), EngineError> {
    let n = nodes.len();
    let src_file: Vec<u32> = nodes.iter().map(|c| nodes.cols.source(c).0).collect();
    let src_line: Vec<u32> = nodes.iter().map(|c| nodes.cols.source(c).1).collect();
    ns.src_file = w.put(&src_file).map_err(io)?;
    ns.src_line = w.put(&src_line).map_err(io)?;
    let with_ident: Vec<u32> = (0..n as u32)
        .filter(|&i| nodes.identifier(i as usize).is_some())
        .collect();
    let ident = |i: u32| nodes.identifier(i as usize).unwrap_or("");
    let with_ident = sort_by_prefix(
        with_ident,
        |i| prefix16(ident(i)),
        |&a, &b| ident(a).cmp(ident(b)),
    );
    ns.ident_sorted = w.put(&with_ident).map_err(io)?;
    let named = |i: u32| {
        let i = i as usize;
        (
            nodes.name(i),
            nodes.kind(i).unwrap_or(NodeKind::Person),
            nodes.ext(i),
        )
    };
    let by_name = sort_by_prefix(
        (0..n as u32).collect(),
        |i| name_key(named(i)),
        |&a, &b| named(a).cmp(&named(b)),
    );
    ns.name_sorted = w.put(&by_name).map_err(io)?;
    drop(by_name);
    let mut aliases: Vec<(&str, u32)> = nodes
        .cols
        .aliases()
        .filter_map(|(a, c)| {
            snap_of
                .get(c as usize)
                .filter(|&&s| s != u32::MAX)
                .map(|&s| (a, s))
        })
        .collect();
    aliases.sort();
    let (off, bytes) = strings(aliases.iter().map(|(a, _)| *a));
    (ns.alias_off, ns.alias_bytes) = (w.put(&off).map_err(io)?, w.put(&bytes).map_err(io)?);
    ns.alias_node = w
        .put(&aliases.iter().map(|(_, i)| *i).collect::<Vec<u32>>())
        .map_err(io)?;
    Ok(())
}

/// The first 16 bytes of `s`, zero-padded, as a number that orders as `s` does wherever two
/// of them differ (a shorter string pads with zeros, which sort first).
fn prefix16(s: &str) -> u128 {
    let mut b = [0u8; 16];
    let n = s.len().min(16);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    u128::from_be_bytes(b)
}

/// The key of [`sort_by_prefix`] for the name order (name, kind, bundle id): the kind and
/// bundle id order two names only when the names are equal, which the prefix shows only for a
/// name that fits in it (and has the same length).
type NameKey = (u128, bool, Option<(usize, NodeKind, u128)>);

fn name_key((name, kind, ext): (&str, NodeKind, &str)) -> NameKey {
    let fits = name.len() <= 16;
    let rest = fits.then(|| (name.len(), kind, prefix16(ext)));
    (prefix16(name), !fits, rest)
}

/// Sorts `idx` by `full`, given `key`, which orders as `full` does wherever two keys differ:
/// by the keys first, held in the array being sorted, then each run of equal keys by `full`.
/// Comparing strings through a million node records is cache misses and `memcmp` calls (a
/// fifth of the snapshot build when it sorted names that way); the keys split almost all.
fn sort_by_prefix<K: Ord + Copy + Send + Sync>(
    idx: Vec<u32>,
    key: impl Fn(u32) -> K + Sync,
    full: impl Fn(&u32, &u32) -> std::cmp::Ordering + Sync,
) -> Vec<u32> {
    let mut keyed: Vec<(K, u32)> = idx.into_par_iter().map(|i| (key(i), i)).collect();
    keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<u32> = keyed.iter().map(|e| e.1).collect();
    let mut i = 0;
    while i < keyed.len() {
        let j = i + keyed[i..].partition_point(|e| e.0 == keyed[i].0);
        if j > i + 1 {
            out[i..j].sort_unstable_by(&full);
        }
        i = j;
    }
    out
}

/// Writes every node's detail record (aliases, identifier, attributes, properties, sources,
/// blacklist entries), read only when a node is shown: encoded in parallel batches and
/// streamed in order, with their offsets.
fn write_details<W: Write>(
    w: &mut Writer<W>,
    ns: &mut NodeSecs,
    nodes: &Nodes,
    bl_of: &FxHashMap<u32, Vec<BlacklistRecord>>,
) -> Result<(), EngineError> {
    let mut detail_off = Vec::with_capacity(nodes.len() + 1);
    detail_off.push(0u64);
    let start = w.begin().map_err(io)?;
    let mut total = 0u64;
    // Postcard writes a struct as its fields in order: the detail record is the stored head
    // (every field but the blacklist entries) followed by the entries.
    let none = postcard::to_allocvec(&Vec::<BlacklistRecord>::new())
        .map_err(|e| EngineError::Snapshot(e.to_string()))?;
    for (i, c) in nodes.iter().enumerate() {
        let head = nodes.cols.detail(c);
        w.append(head).map_err(io)?;
        let listed;
        let tail: &[u8] = match bl_of.get(&(i as u32)) {
            Some(b) => {
                listed =
                    postcard::to_allocvec(b).map_err(|e| EngineError::Snapshot(e.to_string()))?;
                &listed
            }
            None => &none,
        };
        w.append(tail).map_err(io)?;
        total += (head.len() + tail.len()) as u64;
        detail_off.push(total);
    }
    ns.detail_bytes = w.since(start);
    ns.detail_off = w.put(&detail_off).map_err(io)?;
    Ok(())
}

/// Source rows as `file:line (load n)`, `; `-separated: the other rows that state a fact.
fn rows_text(rows: &[qinglian_model::Provenance], files: &[FileMeta]) -> String {
    rows.iter()
        .map(|p| match files.get(p.file.0 as usize) {
            Some(f) => format!("{}:{} (load {})", f.name, p.line, f.load),
            None => format!("file {}:{}", p.file.0, p.line),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Adds edge kind `k`'s counts to the statistics the planner costs plans with: edges, edges
/// per label, distinct tails and heads, edges per tail kind and per head kind.
fn edge_stats(
    stats: &mut Stats,
    k: usize,
    a: &KindArrays,
    kind_start: &[u32; NodeKind::COUNT + 1],
) {
    stats.edges[k] = a.src.len() as u64;
    stats.labels.push(a.label_counts.clone());
    stats.tails[k] = a.tails;
    stats.heads[k] = a.heads;
    let kind_of = |x: u32| {
        kind_start[1..]
            .iter()
            .position(|&st| x < st)
            .unwrap_or(NodeKind::COUNT - 1)
    };
    for (&t, &h) in a.src.iter().zip(&a.dst) {
        stats.by_tail_kind[k][kind_of(t)] += 1;
        stats.by_head_kind[k][kind_of(h)] += 1;
    }
}

/// Per label code, the code of its inverse relation (0 when it has none): an undirected
/// pattern reads a RELATION or DECLARED label from the other end inverted ("child" as
/// "parent").
fn inverse_labels(lab: &[String]) -> Vec<u32> {
    lab.iter()
        .map(|l| {
            lab.iter()
                .position(|x| x == kinds::inverse_relation(l))
                .unwrap_or(0) as u32
        })
        .collect()
}

/// Writes one edge kind's sections: the edge columns the kind has, out- and in-adjacency
/// (offsets and interleaved entries), undirected adjacency for RELATION, OWNS and ROLE, and
/// the properties.
fn write_edge_kind<W: Write>(
    w: &mut Writer<W>,
    kind: EdgeKind,
    a: &KindArrays,
    n: usize,
) -> Result<EdgeSecs, EngineError> {
    let mut s = EdgeSecs {
        m: a.src.len() as u64,
        src_lo: a.src_lo,
        src_hi: a.src_hi,
        dst_lo: a.dst_lo,
        dst_hi: a.dst_hi,
        ..EdgeSecs::default()
    };
    s.src = w.put(&a.src).map_err(io)?;
    s.dst = w.put(&a.dst).map_err(io)?;
    if kind.has_interval() {
        s.start = w.put(&a.start).map_err(io)?;
        s.end = w.put(&a.end).map_err(io)?;
    }
    if has_label(kind) {
        s.label = w.put(&a.label).map_err(io)?;
    }
    if matches!(kind, EdgeKind::Owns | EdgeKind::Bid) {
        s.value = w.put(&a.value).map_err(io)?;
    }
    if kind == EdgeKind::Bid {
        s.date = w.put(&a.date).map_err(io)?;
        s.flag = w.put(&a.flag).map_err(io)?;
    }
    s.file = w.put(&a.file).map_err(io)?;
    s.line = w.put(&a.line).map_err(io)?;
    s.out_off = w.put(&a.out_off).map_err(io)?;
    s.in_off = w.put(&a.in_off).map_err(io)?;
    s.in_idx = w.put(&a.in_idx).map_err(io)?;
    let out_ent: Vec<[u32; 2]> = a.dst.iter().zip(&a.label).map(|(&d, &l)| [d, l]).collect();
    s.out_ent = w.put(&out_ent).map_err(io)?;
    drop(out_ent);
    let in_ent: Vec<[u32; 3]> = a
        .in_idx
        .iter()
        .map(|&e| [a.src[e as usize], a.label[e as usize], e])
        .collect();
    s.in_ent = w.put(&in_ent).map_err(io)?;
    drop(in_ent);
    if matches!(kind, EdgeKind::Relation | EdgeKind::Owns | EdgeKind::Role) {
        let (off, ent) = undirected(&a.src, &a.dst, |e| a.label[e], n);
        s.both_off = w.put(&off).map_err(io)?;
        s.both_ent = w.put(&ent).map_err(io)?;
    }
    s.props_idx = w.put(&a.props_idx).map_err(io)?;
    s.props_off = w.put(&a.props_off).map_err(io)?;
    s.props_bytes = w.put(&a.props_bytes).map_err(io)?;
    Ok(s)
}

/// Undirected adjacency: every edge twice, once at each end, in edge order; entries are (far
/// node, label, edge), the edge marked `BOTH_HEAD` when read from its head. An undirected
/// pattern then reads one list instead of two.
pub(super) fn undirected(
    src: &[u32],
    dst: &[u32],
    label: impl Fn(usize) -> u32,
    n: usize,
) -> (Vec<u32>, Vec<[u32; 3]>) {
    let mut off = vec![0u32; n + 1];
    for (&x, &y) in src.iter().zip(dst) {
        off[x as usize + 1] += 1;
        off[y as usize + 1] += 1;
    }
    for i in 0..n {
        off[i + 1] += off[i];
    }
    let mut fill = off.clone();
    let mut ent = vec![[0u32; 3]; 2 * src.len()];
    for (e, (&x, &y)) in src.iter().zip(dst).enumerate() {
        let l = label(e);
        ent[fill[x as usize] as usize] = [y, l, e as u32];
        fill[x as usize] += 1;
        ent[fill[y as usize] as usize] = [x, l, e as u32 | super::BOTH_HEAD];
        fill[y as usize] += 1;
    }
    (off, ent)
}

/// Node ids for the canonical order: identity except for people, who are laid out in
/// breadth-first order over family edges.
///
/// Why: rules walk one or two family hops from every official. Bundles list people in id
/// order, which says nothing about who is related to whom (in the
/// benchmark bundle, the median distance between two relatives' rows is 290,000): every hop
/// is then a cache and TLB miss into adjacency arrays of tens of megabytes. Laid out by
/// family, a walk's lists sit in a few neighbouring cache lines (relative_wins on the 1M
/// bundle: 160 ms before, 91 ms after). Output does not change: findings,
/// witnesses and comparisons use bundle ids and ranks, never node ids.
fn locality_order(
    rel: &[(u32, u32)],
    canon_of: &[u32],
    kind_start: &[u32; NodeKind::COUNT + 1],
    n: usize,
) -> Vec<u32> {
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let range = |k: NodeKind| (kind_start[k.index()], kind_start[k.index() + 1]);
    // People: families.
    bfs_layout(
        rel,
        canon_of,
        &[range(NodeKind::Person)],
        range(NodeKind::Person),
        &mut perm,
    );
    // Companies keep the canonical order: laying them out through their owners and
    // directors (tried on the 1M benchmark bundle) did not speed up any rule.
    perm
}

/// Renumbers the canonical range `target` in breadth-first order over `edges`, walking
/// through the nodes of `ranges` (the first of which is `target`), seeds in canonical order.
fn bfs_layout(
    edges: &[(u32, u32)],
    canon_of: &[u32],
    ranges: &[(u32, u32)],
    target: (u32, u32),
    perm: &mut [u32],
) {
    // Local ids: the ranges laid end to end.
    let mut base = Vec::with_capacity(ranges.len());
    let mut total = 0usize;
    for &(a, b) in ranges {
        base.push(total);
        total += (b - a) as usize;
    }
    let nt = (target.1 - target.0) as usize;
    if nt == 0 {
        return;
    }
    let local = |id: u32| {
        let c = *canon_of.get(id as usize)?;
        ranges
            .iter()
            .zip(&base)
            .find(|((a, b), _)| c >= *a && c < *b)
            .map(|((a, _), off)| off + (c - a) as usize)
    };
    let pairs: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|&(a, b)| Some((local(a)?, local(b)?)))
        .collect();
    let mut off = vec![0u32; total + 1];
    for &(a, b) in &pairs {
        off[a + 1] += 1;
        off[b + 1] += 1;
    }
    for i in 0..total {
        off[i + 1] += off[i];
    }
    let mut fill = off.clone();
    let mut adj = vec![0u32; off[total] as usize];
    for &(a, b) in &pairs {
        adj[fill[a] as usize] = b as u32;
        fill[a] += 1;
        adj[fill[b] as usize] = a as u32;
        fill[b] += 1;
    }
    drop((pairs, fill));
    let mut placed = vec![false; total];
    let mut queue = std::collections::VecDeque::new();
    let mut next = target.0;
    for seed in 0..nt {
        if placed[seed] {
            continue;
        }
        placed[seed] = true;
        queue.push_back(seed);
        while let Some(x) = queue.pop_front() {
            if x < nt {
                perm[target.0 as usize + x] = next;
                next += 1;
            }
            for &y in &adj[off[x] as usize..off[x + 1] as usize] {
                if !placed[y as usize] {
                    placed[y as usize] = true;
                    queue.push_back(y as usize);
                }
            }
        }
    }
}

fn has_label(k: EdgeKind) -> bool {
    matches!(
        k,
        EdgeKind::Position
            | EdgeKind::Relation
            | EdgeKind::Role
            | EdgeKind::Handled
            | EdgeKind::Declared
    )
}

/// Offsets and bytes of a string table.
fn strings<'a>(it: impl Iterator<Item = &'a str>) -> (Vec<u32>, Vec<u8>) {
    let mut off = vec![0u32];
    let mut bytes = Vec::new();
    for s in it {
        bytes.extend_from_slice(s.as_bytes());
        off.push(bytes.len() as u32);
    }
    (off, bytes)
}

#[derive(Default)]
struct KindArrays {
    /// Names of the extra columns some edge has.
    columns: std::collections::BTreeSet<String>,
    src: Vec<u32>,
    dst: Vec<u32>,
    start: Vec<i32>,
    end: Vec<i32>,
    label: Vec<u32>,
    value: Vec<f64>,
    date: Vec<i32>,
    flag: Vec<u8>,
    file: Vec<u32>,
    line: Vec<u32>,
    out_off: Vec<u32>,
    in_off: Vec<u32>,
    in_idx: Vec<u32>,
    props_idx: Vec<u32>,
    props_off: Vec<u64>,
    props_bytes: Vec<u8>,
    src_lo: u32,
    src_hi: u32,
    dst_lo: u32,
    dst_hi: u32,
    label_counts: Vec<u64>,
    tails: u64,
    heads: u64,
}

/// The node-id range spanned by some kinds (kinds are contiguous ranges).
fn span(kinds: &[NodeKind], kind_start: &[u32; NodeKind::COUNT + 1]) -> (u32, u32) {
    let lo = kinds
        .iter()
        .map(|k| kind_start[k.index()])
        .min()
        .unwrap_or(0);
    let hi = kinds
        .iter()
        .map(|k| kind_start[k.index() + 1])
        .max()
        .unwrap_or(0);
    (lo, hi.max(lo))
}

/// Fills a kind's per-edge columns in `keys` order, in parallel pieces written in place (the
/// largest kind, RELATION, is built while no other kind runs). A label outside `code` (the
/// vocabulary) is left as `u32::MAX` for the caller to number in order of appearance. Returns
/// the positions of the edges with extra columns, in order.
fn fill_columns(
    a: &mut KindArrays,
    kind: EdgeKind,
    es: &[(u32, EdgeRecord)],
    keys: &[(u32, u32, u32, u32, u32)],
    code: &FxHashMap<String, u32>,
) -> Vec<u32> {
    const PIECE: usize = 1 << 16;
    let m = keys.len();
    let labelled = has_label(kind);
    a.src = keys.par_iter().map(|k| k.0).collect();
    a.dst = keys.par_iter().map(|k| k.1).collect();
    a.file = keys.par_iter().map(|k| k.2).collect();
    a.line = keys.par_iter().map(|k| k.3).collect();
    a.start = vec![0; m];
    a.end = vec![0; m];
    a.label = vec![0; m];
    a.value = vec![0.0; m];
    a.date = vec![0; m];
    a.flag = vec![0; m];
    let pieces: Vec<Vec<u32>> = (
        keys.par_chunks(PIECE),
        a.start.par_chunks_mut(PIECE),
        a.end.par_chunks_mut(PIECE),
        a.label.par_chunks_mut(PIECE),
        a.value.par_chunks_mut(PIECE),
        a.date.par_chunks_mut(PIECE),
        a.flag.par_chunks_mut(PIECE),
    )
        .into_par_iter()
        .enumerate()
        .map(|(p, (ks, start, end, label, value, date, flag))| {
            let mut with_props = Vec::new();
            for (x, &(.., j)) in ks.iter().enumerate() {
                let e = &es[j as usize].1;
                start[x] = e.valid.start;
                end[x] = e.valid.end;
                if labelled {
                    label[x] = code.get(e.label.as_str()).copied().unwrap_or(u32::MAX);
                }
                value[x] = e.value.unwrap_or(f64::NAN);
                date[x] = e.date.map_or(NO_DATE, |d| d.0);
                flag[x] = match e.flag {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                };
                if !e.props.is_empty() {
                    with_props.push((p * PIECE + x) as u32);
                }
            }
            with_props
        })
        .collect();
    pieces.concat()
}

fn kind_arrays(
    kind: EdgeKind,
    es: &[(u32, EdgeRecord)],
    snap_of: &[u32],
    kind_start: &[u32; NodeKind::COUNT + 1],
) -> Result<(KindArrays, Vec<String>), EngineError> {
    // Labels: the vocabulary first (so that every relation has its inverse), then the rest in
    // order of appearance.
    let mut labels: Vec<String> = vec![String::new()];
    if let Some(v) = kind.known_labels() {
        labels.extend(v.iter().map(|s| (*s).to_owned()));
    }
    let mut code: FxHashMap<String, u32> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), i as u32))
        .collect();
    let map = |id: qinglian_model::NodeId| snap_of.get(id.0 as usize).copied().unwrap_or(u32::MAX);
    // Sort a compact key array, not the records themselves.
    let mut keys: Vec<(u32, u32, u32, u32, u32)> = es
        .par_iter()
        .enumerate()
        .map(|(i, (_, e))| {
            (
                map(e.from),
                map(e.to),
                e.source.file.0,
                e.source.line,
                i as u32,
            )
        })
        .collect();
    if keys.par_windows(2).any(|w| w[0] > w[1]) {
        keys.par_sort_unstable();
    }
    let m = es.len();
    let mut a = KindArrays::default();
    (a.src_lo, a.src_hi) = span(kind.from_kinds(), kind_start);
    (a.dst_lo, a.dst_hi) = span(kind.to_kinds(), kind_start);
    if let Some((_, e)) = es.par_iter().find_first(|(_, e)| {
        let (s, d) = (map(e.from), map(e.to));
        !(a.src_lo..a.src_hi).contains(&s) || !(a.dst_lo..a.dst_hi).contains(&d)
    }) {
        return Err(EngineError::Snapshot(format!("{kind} edge from row {:?} joins nodes of the wrong kind or unknown nodes; the store is damaged", e.source)));
    }
    let with_props = fill_columns(&mut a, kind, es, &keys, &code);
    // Labels outside the vocabulary get their codes in order of appearance; extra columns
    // are packed in edge order.
    if has_label(kind) {
        for (i, &(.., j)) in keys.iter().enumerate() {
            if a.label[i] == u32::MAX {
                let l = &es[j as usize].1.label;
                a.label[i] = *code.entry(l.clone()).or_insert_with(|| {
                    labels.push(l.clone());
                    labels.len() as u32 - 1
                });
            }
        }
    }
    for i in with_props {
        let e = &es[keys[i as usize].4 as usize].1;
        a.columns.extend(e.props.iter().map(|(c, _)| c.clone()));
        a.props_idx.push(i);
        a.props_off.push(a.props_bytes.len() as u64);
        a.props_bytes
            .extend(postcard::to_allocvec(&e.props).unwrap_or_default());
    }
    if !a.props_idx.is_empty() {
        a.props_off.push(a.props_bytes.len() as u64);
    }
    a.label_counts = vec![0; labels.len()];
    for &c in &a.label {
        a.label_counts[c as usize] += 1;
    }
    // Out offsets over the tail range.
    let width = (a.src_hi - a.src_lo) as usize;
    let mut off = vec![0u32; width + 1];
    for &s in &a.src {
        off[(s - a.src_lo) as usize + 1] += 1;
    }
    a.tails = off.iter().skip(1).filter(|&&c| c > 0).count() as u64;
    for i in 0..width {
        off[i + 1] += off[i];
    }
    a.out_off = off;
    // In offsets and edge indices ordered by head (stable, so edge order within a head).
    let width = (a.dst_hi - a.dst_lo) as usize;
    let mut off = vec![0u32; width + 1];
    for &d in &a.dst {
        off[(d - a.dst_lo) as usize + 1] += 1;
    }
    a.heads = off.iter().skip(1).filter(|&&c| c > 0).count() as u64;
    for i in 0..width {
        off[i + 1] += off[i];
    }
    let mut fill = off.clone();
    let mut idx = vec![0u32; m];
    for (e, &d) in a.dst.iter().enumerate() {
        let slot = &mut fill[(d - a.dst_lo) as usize];
        idx[*slot as usize] = e as u32;
        *slot += 1;
    }
    a.in_off = off;
    a.in_idx = idx;
    Ok((a, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefix sort gives the plain sort's order on names built to defeat prefixes: long
    /// names sharing 16 bytes, names that differ past them, NULs, ties broken by kind and id.
    #[test]
    fn sorting_by_prefix_orders_as_the_full_comparison() {
        let parts = ["张", "伟", "有限公司", "a", "\0", "", "建设工程", "x"];
        let kinds = [NodeKind::Person, NodeKind::Company, NodeKind::Agency];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |m: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m as u64) as usize
        };
        let rows: Vec<(String, NodeKind, String)> = (0..5000)
            .map(|_| {
                let name: String = (0..next(7)).map(|_| parts[next(parts.len())]).collect();
                let ext: String = (0..next(5)).map(|_| parts[next(parts.len())]).collect();
                (name, kinds[next(kinds.len())], ext)
            })
            .collect();
        let named = |i: u32| {
            let r = &rows[i as usize];
            (r.0.as_str(), r.1, r.2.as_str())
        };
        let idx: Vec<u32> = (0..rows.len() as u32).collect();
        let got: Vec<_> = sort_by_prefix(
            idx.clone(),
            |i| name_key(named(i)),
            |&a, &b| named(a).cmp(&named(b)),
        )
        .into_iter()
        .map(named)
        .collect();
        let mut want: Vec<_> = idx.into_iter().map(named).collect();
        want.sort();
        assert_eq!(got, want);
        assert!(want.iter().any(|w| w.0.len() > 16), "long names were drawn");
    }
}
