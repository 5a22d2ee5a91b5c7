//! The snapshot: the whole graph as flat arrays, built from the store and cached in the
//! database folder, so that opening a large database is a memory map and a checksum.
//!
//! * Nodes have dense snapshot ids, ordered by (kind, bundle id): each kind is a contiguous
//!   range, a bundle id is found by binary search, and ids compare like bundle ids within a
//!   kind. `rank` orders all nodes by bundle id across kinds, for deterministic witnesses.
//! * Edges are stored per kind, sorted by (tail, head, source file, source line), with CSR
//!   offsets in both directions over the node range their endpoints can take. Each edge's
//!   validity interval, label, value and source row sit beside it.
//! * Everything a finding cites (names, bundle ids, source rows, the full node record for
//!   `show`) is in the same file, untouched by screening, so it costs no resident memory until
//!   read.

mod buf;
mod build;
mod columns;
pub mod links;

pub use buf::{OpenError, Sec};
pub use build::{build, build_at, build_to_file};
pub use links::{LinkEdges, LinkPair};

use buf::Backing;
use qinglian_model::{
    Attrs, BlacklistRecord, EdgeKind, Generation, Interval, NodeKind, Provenance,
};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Bit set in an undirected entry's edge index when the node is the edge's head.
pub const BOTH_HEAD: u32 = 1 << 31;

/// "No date" in date columns.
pub const NO_DATE: i32 = i32::MIN;

/// Flags per node.
pub mod flag {
    /// On the blacklist (any entry, dated or not).
    pub const BLACKLISTED: u8 = 1;
    /// Holds or held a position.
    pub const OFFICIAL: u8 = 2;
}

/// A source file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileMeta {
    /// The load that read it.
    pub load: u32,
    /// Its name in the bundle.
    pub name: String,
}

/// Node sections.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct NodeSecs {
    ext_off: Sec,
    ext_bytes: Sec,
    name_off: Sec,
    name_bytes: Sec,
    rank: Sec,
    date: Sec,
    death: Sec,
    amount: Sec,
    phone: Sec,
    addr: Sec,
    listed: Sec,
    flags: Sec,
    src_file: Sec,
    src_line: Sec,
    ident_off: Sec,
    ident_bytes: Sec,
    ident_sorted: Sec,
    alias_off: Sec,
    alias_bytes: Sec,
    alias_node: Sec,
    detail_off: Sec,
    detail_bytes: Sec,
    /// Node ids ordered by name (then bundle id), for name search.
    name_sorted: Sec,
    /// Node ids in (kind, bundle id) order, for lookups by bundle id (people are laid out
    /// by family, not by id).
    ext_sorted: Sec,
    /// Per code (phone 0, address 1): offsets over codes, the nodes with the code, and the
    /// normalised text of each code.
    code_off: [Sec; 2],
    code_nodes: [Sec; 2],
    code_text_off: [Sec; 2],
    code_text: [Sec; 2],
}

/// Edge sections of one kind.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct EdgeSecs {
    m: u64,
    src_lo: u32,
    src_hi: u32,
    dst_lo: u32,
    dst_hi: u32,
    src: Sec,
    dst: Sec,
    start: Sec,
    end: Sec,
    label: Sec,
    value: Sec,
    date: Sec,
    flag: Sec,
    file: Sec,
    line: Sec,
    out_off: Sec,
    in_off: Sec,
    in_idx: Sec,
    out_ent: Sec,
    in_ent: Sec,
    both_off: Sec,
    both_ent: Sec,
    props_idx: Sec,
    props_off: Sec,
    props_bytes: Sec,
}

/// Counts the planner uses.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Nodes per kind.
    pub nodes: [u64; NodeKind::COUNT],
    /// Edges per kind.
    pub edges: [u64; EdgeKind::COUNT],
    /// Edges per kind and label code.
    pub labels: Vec<Vec<u64>>,
    /// Distinct tails per edge kind (nodes with at least one outgoing edge of the kind).
    pub tails: [u64; EdgeKind::COUNT],
    /// Distinct heads per edge kind.
    pub heads: [u64; EdgeKind::COUNT],
    /// Edges per kind by the kind of their tail node.
    pub by_tail_kind: [[u64; NodeKind::COUNT]; EdgeKind::COUNT],
    /// Edges per kind by the kind of their head node.
    pub by_head_kind: [[u64; NodeKind::COUNT]; EdgeKind::COUNT],
    /// Per code column (phone, address): Σ over codes of (nodes with the code)², the number
    /// of ordered pairs an equality join yields.
    pub code_pairs: [u64; 2],
    /// Per code column: nodes with a code.
    pub code_nodes: [u64; 2],
    /// Blacklist entries (the same listing loaded twice is one).
    pub blacklist: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Meta {
    version: u32,
    generation: Generation,
    n: u32,
    kind_start: [u32; NodeKind::COUNT + 1],
    files: Vec<FileMeta>,
    labels: Vec<Vec<String>>,
    inverse: Vec<Vec<u32>>,
    nodes: NodeSecs,
    edges: Vec<EdgeSecs>,
    stats: Stats,
    /// Per node kind, then per edge kind: the names of the extra columns some row has, so
    /// that a rule reading a column no row has costs nothing.
    node_columns: Vec<Vec<String>>,
    edge_columns: Vec<Vec<String>>,
}

const META_VERSION: u32 = 10;

/// An extra column's text, by node id or edge index.
pub type ColumnText = std::sync::Arc<rustc_hash::FxHashMap<u32, String>>;

/// What `show` and the API print about a node beyond the columns.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeDetail {
    /// Other bundle ids of the node.
    pub aliases: Vec<String>,
    /// Valid national identifier.
    pub identifier: Option<String>,
    /// Kind-specific attributes.
    pub attrs: Attrs,
    /// Extra columns.
    pub props: Vec<(String, String)>,
    /// Every source row.
    pub sources: Vec<Provenance>,
    /// Blacklist entries.
    pub blacklist: Vec<BlacklistRecord>,
}

/// The graph, ready to answer.
#[derive(Debug)]
pub struct Snapshot {
    buf: Backing,
    meta: Meta,
    /// Per edge kind and direction (0 out, 1 in): a bit per node that has such an edge.
    /// Built on first use: 170 KB for a million nodes stays in cache where the CSR offsets
    /// (4 MB per kind) do not, so a walk that would find nothing costs a cache hit.
    bits: [[std::sync::OnceLock<Vec<u64>>; 2]; EdgeKind::COUNT],
    /// Extra columns read so far, by (edge?, kind index, name): each is decoded from the rows
    /// once per snapshot, however many rules and branches read it.
    columns: std::sync::Mutex<rustc_hash::FxHashMap<(bool, usize, String), ColumnText>>,
    /// The candidate identity links, once a caller attached them (see [`links`]): until then
    /// `SAME_AS` has no edge.
    links: std::sync::OnceLock<LinkEdges>,
}

/// One edge kind's arrays.
#[derive(Clone, Copy, Debug)]
pub struct EdgeView<'a> {
    /// The kind.
    pub kind: EdgeKind,
    /// Tails.
    pub src: &'a [u32],
    /// Heads.
    pub dst: &'a [u32],
    start: &'a [i32],
    end: &'a [i32],
    label: &'a [u32],
    value: &'a [f64],
    date: &'a [i32],
    flag: &'a [u8],
    file: &'a [u32],
    line: &'a [u32],
    out_off: &'a [u32],
    in_off: &'a [u32],
    /// Edge indices ordered by head.
    pub in_idx: &'a [u32],
    /// Per edge, in tail order: (head, label). One cache line holds a node's out-edges.
    pub out_ent: &'a [[u32; 2]],
    /// Per edge, in head order: (tail, label, edge index).
    pub in_ent: &'a [[u32; 3]],
    /// Kinds walked both ways (RELATION, OWNS, ROLE): offsets over all nodes and entries
    /// (other end, label, edge index with bit 31 set when the node is the head).
    both_off: &'a [u32],
    both_ent: &'a [[u32; 3]],
    src_lo: u32,
    dst_lo: u32,
}

impl<'a> EdgeView<'a> {
    /// Number of edges.
    #[inline]
    pub fn len(&self) -> usize {
        self.src.len()
    }

    /// Whether the kind has no edge.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// The edges leaving `n`, as a range of edge indices.
    #[inline]
    pub fn out(&self, n: u32) -> Range<usize> {
        let i = n.wrapping_sub(self.src_lo) as usize;
        match (self.out_off.get(i), self.out_off.get(i + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }

    /// The edges entering `n`, as edge indices.
    #[inline]
    pub fn inc(&self, n: u32) -> &'a [u32] {
        let r = self.in_range(n);
        &self.in_idx[r]
    }

    /// Positions in `in_idx` / `in_ent` of the edges entering `n`.
    #[inline]
    pub fn in_range(&self, n: u32) -> Range<usize> {
        let i = n.wrapping_sub(self.dst_lo) as usize;
        match (self.in_off.get(i), self.in_off.get(i + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }

    /// The undirected adjacency of `n`, when the kind has one.
    #[inline]
    pub fn both(&self, n: u32) -> Option<&'a [[u32; 3]]> {
        if self.both_off.is_empty() {
            return None;
        }
        let i = n as usize;
        match (self.both_off.get(i), self.both_off.get(i + 1)) {
            (Some(&a), Some(&b)) => Some(&self.both_ent[a as usize..b as usize]),
            _ => Some(&[]),
        }
    }

    /// Days on which edge `e` holds.
    #[inline]
    pub fn interval(&self, e: usize) -> Interval {
        match (self.start.get(e), self.end.get(e)) {
            (Some(&s), Some(&t)) => Interval { start: s, end: t },
            _ => Interval::ALWAYS,
        }
    }

    /// Label code of edge `e` (0 = none).
    #[inline]
    pub fn label(&self, e: usize) -> u32 {
        self.label.get(e).copied().unwrap_or(0)
    }

    /// Value (share_pct, amount) of edge `e`.
    #[inline]
    pub fn value(&self, e: usize) -> Option<f64> {
        self.value.get(e).copied().filter(|v| !v.is_nan())
    }

    /// BID submission date.
    pub fn date(&self, e: usize) -> Option<i32> {
        self.date.get(e).copied().filter(|d| *d != NO_DATE)
    }

    /// BID won flag.
    pub fn flag(&self, e: usize) -> Option<bool> {
        match self.flag.get(e) {
            Some(1) => Some(false),
            Some(2) => Some(true),
            _ => None,
        }
    }

    /// The source row of edge `e`.
    #[inline]
    pub fn source(&self, e: usize) -> (u32, u32) {
        (
            self.file.get(e).copied().unwrap_or(0),
            self.line.get(e).copied().unwrap_or(0),
        )
    }
}

impl Snapshot {
    /// Opens a snapshot file and checks that it matches the store's `generation`.
    pub fn open(path: &Path, generation: Generation) -> Result<Snapshot, OpenError> {
        Snapshot::from_backing(buf::map_file(path)?, Some(generation))
    }

    fn from_backing(buf: Backing, generation: Option<Generation>) -> Result<Snapshot, OpenError> {
        let meta: Meta = buf
            .meta_bytes()
            .and_then(|b| postcard::from_bytes(b).ok())
            .ok_or_else(|| OpenError::Invalid("unreadable metadata".into()))?;
        if meta.version != META_VERSION {
            return Err(OpenError::Invalid(format!(
                "layout version {} (this build reads {META_VERSION})",
                meta.version
            )));
        }
        if let Some(g) = generation.filter(|g| *g != meta.generation) {
            return Err(OpenError::Invalid(format!(
                "built at generation {}, the store is at {g}",
                meta.generation
            )));
        }
        let s = Snapshot {
            buf,
            meta,
            bits: Default::default(),
            columns: Default::default(),
            links: Default::default(),
        };
        s.validate().map_err(OpenError::Invalid)?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), String> {
        let body_len = self.buf.bytes().len() as u64;
        let check = |s: Sec, elem: u64, name: &str| -> Result<(), String> {
            if s.off + s.len > body_len
                || !s.off.is_multiple_of(buf::ALIGN as u64)
                || !s.len.is_multiple_of(elem)
            {
                return Err(format!("section {name} out of bounds or misaligned"));
            }
            Ok(())
        };
        let n = &self.meta.nodes;
        for (s, e, name) in [
            (n.ext_off, 4, "ext_off"),
            (n.ext_bytes, 1, "ext"),
            (n.name_off, 4, "name_off"),
            (n.name_bytes, 1, "name"),
            (n.rank, 4, "rank"),
            (n.date, 4, "date"),
            (n.death, 4, "death"),
            (n.amount, 8, "amount"),
            (n.phone, 4, "phone"),
            (n.addr, 4, "addr"),
            (n.listed, 4, "listed"),
            (n.flags, 1, "flags"),
            (n.src_file, 4, "src_file"),
            (n.src_line, 4, "src_line"),
            (n.ident_off, 4, "ident_off"),
            (n.ident_bytes, 1, "ident"),
            (n.ident_sorted, 4, "ident_sorted"),
            (n.alias_off, 4, "alias_off"),
            (n.alias_bytes, 1, "alias"),
            (n.alias_node, 4, "alias_node"),
            (n.detail_off, 8, "detail_off"),
            (n.detail_bytes, 1, "detail"),
            (n.name_sorted, 4, "name_sorted"),
            (n.ext_sorted, 4, "ext_sorted"),
            (n.code_off[0], 4, "code_off"),
            (n.code_off[1], 4, "code_off"),
            (n.code_nodes[0], 4, "code_nodes"),
            (n.code_nodes[1], 4, "code_nodes"),
            (n.code_text_off[0], 4, "code_text_off"),
            (n.code_text_off[1], 4, "code_text_off"),
            (n.code_text[0], 1, "code_text"),
            (n.code_text[1], 1, "code_text"),
        ] {
            check(s, e, name)?;
        }
        let nn = u64::from(self.meta.n);
        if n.rank.len != 4 * nn
            || n.ext_sorted.len != 4 * nn
            || n.ext_off.len != 4 * (nn + 1)
            || n.detail_off.len != 8 * (nn + 1)
        {
            return Err("node sections do not match the node count".into());
        }
        for (k, e) in self.meta.edges.iter().enumerate() {
            for (s, w) in [
                (e.src, 4),
                (e.dst, 4),
                (e.start, 4),
                (e.end, 4),
                (e.label, 4),
                (e.value, 8),
                (e.date, 4),
                (e.flag, 1),
                (e.file, 4),
                (e.line, 4),
                (e.out_off, 4),
                (e.in_off, 4),
                (e.in_idx, 4),
                (e.props_idx, 4),
                (e.props_off, 8),
                (e.props_bytes, 1),
            ] {
                check(s, w, &format!("edge kind {k}"))?;
            }
            if e.src.len != 4 * e.m
                || e.dst.len != 4 * e.m
                || e.in_idx.len != 4 * e.m
                || e.out_ent.len != 8 * e.m
                || e.in_ent.len != 12 * e.m
            {
                return Err(format!("edge kind {k}: arrays do not match the edge count"));
            }
        }
        // CSR offsets must stay within the edge arrays.
        for k in EdgeKind::ALL {
            let v = self.edges(*k);
            let m = v.len() as u32;
            if v.out_off.iter().any(|&o| o > m)
                || v.in_off.iter().any(|&o| o > m)
                || v.in_idx.iter().any(|&i| i >= m)
                || v.dst.iter().chain(v.src).any(|&x| x >= self.meta.n)
            {
                return Err(format!("edge kind {k}: offsets out of range"));
            }
        }
        Ok(())
    }

    /// The store generation this snapshot reflects.
    pub fn generation(&self) -> Generation {
        self.meta.generation
    }

    /// Number of nodes.
    #[inline]
    pub fn node_count(&self) -> u32 {
        self.meta.n
    }

    /// The ids of a kind's nodes.
    #[inline]
    pub fn kind_range(&self, k: NodeKind) -> Range<u32> {
        self.meta.kind_start[k.index()]..self.meta.kind_start[k.index() + 1]
    }

    /// The kind of node `n`.
    #[inline]
    pub fn kind_of(&self, n: u32) -> NodeKind {
        let i = self.meta.kind_start[1..]
            .iter()
            .position(|&s| n < s)
            .unwrap_or(NodeKind::COUNT - 1);
        NodeKind::ALL[i]
    }

    fn str_at(&self, off: Sec, bytes: Sec, i: usize) -> &str {
        let offs: &[u32] = self.buf.slice(off);
        let b: &[u8] = self.buf.slice(bytes);
        match (offs.get(i), offs.get(i + 1)) {
            (Some(&a), Some(&z)) => {
                std::str::from_utf8(b.get(a as usize..z as usize).unwrap_or(&[])).unwrap_or("")
            }
            _ => "",
        }
    }

    /// The bundle id of node `n`.
    pub fn ext(&self, n: u32) -> &str {
        self.str_at(
            self.meta.nodes.ext_off,
            self.meta.nodes.ext_bytes,
            n as usize,
        )
    }

    /// The display name of node `n`.
    pub fn name(&self, n: u32) -> &str {
        self.str_at(
            self.meta.nodes.name_off,
            self.meta.nodes.name_bytes,
            n as usize,
        )
    }

    /// The valid identifier (resident ID, credit code) of node `n`, or "".
    pub fn identifier(&self, n: u32) -> &str {
        self.str_at(
            self.meta.nodes.ident_off,
            self.meta.nodes.ident_bytes,
            n as usize,
        )
    }

    /// Position of node `n` in the order of all bundle ids.
    #[inline]
    pub fn ranks(&self) -> &[u32] {
        self.buf.slice(self.meta.nodes.rank)
    }

    /// Main dates: birth, founding, publication, signing, payment.
    #[inline]
    pub fn dates(&self) -> &[i32] {
        self.buf.slice(self.meta.nodes.date)
    }

    /// Death dates (people).
    #[inline]
    pub fn deaths(&self) -> &[i32] {
        self.buf.slice(self.meta.nodes.death)
    }

    /// Amounts and budgets (NaN when unknown).
    #[inline]
    pub fn amounts(&self) -> &[f64] {
        self.buf.slice(self.meta.nodes.amount)
    }

    /// Normalised phone codes (0 = none).
    #[inline]
    pub fn phones(&self) -> &[u32] {
        self.buf.slice(self.meta.nodes.phone)
    }

    /// Normalised address codes (0 = none).
    #[inline]
    pub fn addresses(&self) -> &[u32] {
        self.buf.slice(self.meta.nodes.addr)
    }

    /// Earliest known blacklist date.
    #[inline]
    pub fn listed(&self) -> &[i32] {
        self.buf.slice(self.meta.nodes.listed)
    }

    /// Flags ([`flag`]).
    #[inline]
    pub fn flags(&self) -> &[u8] {
        self.buf.slice(self.meta.nodes.flags)
    }

    /// The first source row of node `n`.
    pub fn node_source(&self, n: u32) -> (u32, u32) {
        let f: &[u32] = self.buf.slice(self.meta.nodes.src_file);
        let l: &[u32] = self.buf.slice(self.meta.nodes.src_line);
        (
            f.get(n as usize).copied().unwrap_or(0),
            l.get(n as usize).copied().unwrap_or(0),
        )
    }

    /// Everything known about node `n`.
    pub fn detail(&self, n: u32) -> Option<NodeDetail> {
        let offs: &[u64] = self.buf.slice(self.meta.nodes.detail_off);
        let b: &[u8] = self.buf.slice(self.meta.nodes.detail_bytes);
        let (a, z) = (
            *offs.get(n as usize)? as usize,
            *offs.get(n as usize + 1)? as usize,
        );
        postcard::from_bytes(b.get(a..z)?).ok()
    }

    /// Finds a node by bundle id (an alias too).
    pub fn lookup(&self, ext: &str) -> Option<u32> {
        let by_ext: &[u32] = self.buf.slice(self.meta.nodes.ext_sorted);
        for k in NodeKind::ALL {
            let r = self.kind_range(*k);
            let run = by_ext.get(r.start as usize..r.end as usize).unwrap_or(&[]);
            let i = run.partition_point(|&x| self.ext(x) < ext);
            if let Some(&x) = run.get(i).filter(|&&x| self.ext(x) == ext) {
                return Some(x);
            }
        }
        let nodes: &[u32] = self.buf.slice(self.meta.nodes.alias_node);
        let (mut lo, mut hi) = (0usize, nodes.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self
                .str_at(self.meta.nodes.alias_off, self.meta.nodes.alias_bytes, mid)
                .cmp(ext)
            {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return nodes.get(mid).copied(),
            }
        }
        None
    }

    /// Finds a node by valid identifier (resident ID or credit code, any case).
    pub fn lookup_identifier(&self, ident: &str) -> Option<u32> {
        let want = ident.trim().to_ascii_uppercase();
        let sorted: &[u32] = self.buf.slice(self.meta.nodes.ident_sorted);
        let i = sorted.partition_point(|&n| self.identifier(n) < want.as_str());
        sorted
            .get(i)
            .copied()
            .filter(|&n| self.identifier(n) == want)
    }

    /// Lays the candidate identity links over the snapshot as `SAME_AS` edges. Once only:
    /// returns false (and changes nothing) when links were attached before.
    pub fn attach_links(&self, links: LinkEdges) -> bool {
        self.links.set(links).is_ok()
    }

    /// The attached identity links, if any.
    pub fn links(&self) -> Option<&LinkEdges> {
        self.links.get()
    }

    /// The arrays of one edge kind.
    pub fn edges(&self, k: EdgeKind) -> EdgeView<'_> {
        if let (EdgeKind::SameAs, Some(l)) = (k, self.links.get()) {
            return EdgeView {
                kind: k,
                src: &l.src,
                dst: &l.dst,
                start: &[],
                end: &[],
                label: &[],
                value: &l.value,
                date: &[],
                flag: &[],
                file: &l.file,
                line: &l.line,
                out_off: &l.out_off,
                in_off: &l.in_off,
                in_idx: &l.in_idx,
                out_ent: &l.out_ent,
                in_ent: &l.in_ent,
                both_off: &l.both_off,
                both_ent: &l.both_ent,
                src_lo: 0,
                dst_lo: 0,
            };
        }
        let e = &self.meta.edges[k.index()];
        EdgeView {
            kind: k,
            src: self.buf.slice(e.src),
            dst: self.buf.slice(e.dst),
            start: self.buf.slice(e.start),
            end: self.buf.slice(e.end),
            label: self.buf.slice(e.label),
            value: self.buf.slice(e.value),
            date: self.buf.slice(e.date),
            flag: self.buf.slice(e.flag),
            file: self.buf.slice(e.file),
            line: self.buf.slice(e.line),
            out_off: self.buf.slice(e.out_off),
            in_off: self.buf.slice(e.in_off),
            in_idx: self.buf.slice(e.in_idx),
            out_ent: self.buf.slice(e.out_ent),
            in_ent: self.buf.slice(e.in_ent),
            both_off: self.buf.slice(e.both_off),
            both_ent: self.buf.slice(e.both_ent),
            src_lo: e.src_lo,
            dst_lo: e.dst_lo,
        }
    }

    /// The "has an edge of this kind" bitmap for a direction (0 = out, 1 = in).
    pub fn has_edges(&self, k: EdgeKind, dir: usize) -> &[u64] {
        if k.is_derived() {
            // Not memoised with the stored kinds: the links may be attached after a first use.
            return self.links.get().map_or(&[], |l| &l.bits[dir & 1]);
        }
        self.bits[k.index()][dir & 1].get_or_init(|| {
            let e = &self.meta.edges[k.index()];
            let (off, lo): (&[u32], u32) = if dir == 0 {
                (self.buf.slice(e.out_off), e.src_lo)
            } else {
                (self.buf.slice(e.in_off), e.dst_lo)
            };
            let n = self.meta.n as usize;
            let mut bits = vec![0u64; n.div_ceil(64)];
            for (i, w) in off.windows(2).enumerate() {
                if w[1] > w[0] {
                    let node = lo as usize + i;
                    bits[node / 64] |= 1 << (node % 64);
                }
            }
            bits
        })
    }

    /// Nodes whose name starts with `prefix` (all of them when `exact` is false), in name
    /// order; at most `limit`.
    pub fn search_name(&self, prefix: &str, exact: bool, limit: usize) -> Vec<u32> {
        let sorted: &[u32] = self.buf.slice(self.meta.nodes.name_sorted);
        let start = sorted.partition_point(|&n| self.name(n) < prefix);
        sorted[start..]
            .iter()
            .take_while(|&&n| {
                if exact {
                    self.name(n) == prefix
                } else {
                    self.name(n).starts_with(prefix)
                }
            })
            .take(limit)
            .copied()
            .collect()
    }

    /// Nodes sharing code `c` of column `tag` (0 phone, 1 address).
    pub fn code_nodes(&self, tag: usize, c: u32) -> &[u32] {
        let off: &[u32] = self.buf.slice(self.meta.nodes.code_off[tag & 1]);
        let nodes: &[u32] = self.buf.slice(self.meta.nodes.code_nodes[tag & 1]);
        match (off.get(c as usize), off.get(c as usize + 1)) {
            (Some(&a), Some(&z)) => nodes.get(a as usize..z as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The normalised text of code `c` of column `tag`.
    pub fn code_text(&self, tag: usize, c: u32) -> &str {
        self.str_at(
            self.meta.nodes.code_text_off[tag & 1],
            self.meta.nodes.code_text[tag & 1],
            c as usize,
        )
    }

    /// Extra columns of an edge.
    pub fn edge_props(&self, k: EdgeKind, e: usize) -> Vec<(String, String)> {
        let s = &self.meta.edges[k.index()];
        let idx: &[u32] = self.buf.slice(s.props_idx);
        let offs: &[u64] = self.buf.slice(s.props_off);
        let bytes: &[u8] = self.buf.slice(s.props_bytes);
        let Ok(i) = idx.binary_search(&(e as u32)) else {
            return Vec::new();
        };
        match (offs.get(i), offs.get(i + 1)) {
            (Some(&a), Some(&z)) => bytes
                .get(a as usize..z as usize)
                .and_then(|b| postcard::from_bytes(b).ok())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Every edge of kind `k` that has extra columns, with them (in index order).
    pub fn edge_props_each(
        &self,
        k: EdgeKind,
    ) -> impl Iterator<Item = (u32, Vec<(String, String)>)> + '_ {
        let s = &self.meta.edges[k.index()];
        let idx: &[u32] = self.buf.slice(s.props_idx);
        let offs: &[u64] = self.buf.slice(s.props_off);
        let bytes: &[u8] = self.buf.slice(s.props_bytes);
        idx.iter().enumerate().filter_map(move |(i, &e)| {
            let (a, z) = (*offs.get(i)? as usize, *offs.get(i + 1)? as usize);
            let props = postcard::from_bytes(bytes.get(a..z)?).ok()?;
            Some((e, props))
        })
    }

    /// The text of extra column `name` on the nodes of kind `k` that have it, by node id: the
    /// rows' extra columns, or the kind attributes the rules' catalog has no property for (a
    /// company's registry status, an agency's region). Read once, then shared.
    pub fn node_column(&self, k: NodeKind, name: &str) -> ColumnText {
        let attr = matches!(
            (k, name),
            (NodeKind::Company, "status") | (NodeKind::Agency, "region")
        );
        let present = attr
            || self
                .meta
                .node_columns
                .get(k.index())
                .is_some_and(|c| c.iter().any(|x| x == name));
        self.column((false, k.index(), name.to_owned()), present, || {
            self.kind_range(k)
                .filter_map(|n| {
                    let d = self.detail(n)?;
                    let text = match (&d.attrs, name) {
                        (qinglian_model::Attrs::Company { status, .. }, "status") => status.clone(),
                        (qinglian_model::Attrs::Agency { region }, "region") => region.clone(),
                        _ => d.props.into_iter().find(|(c, _)| c == name).map(|(_, v)| v),
                    };
                    Some((n, text?))
                })
                .collect()
        })
    }

    /// The text of extra column `name` on the edges of kind `k` that have it, by edge index.
    pub fn edge_column(&self, k: EdgeKind, name: &str) -> ColumnText {
        let present = self
            .meta
            .edge_columns
            .get(k.index())
            .is_some_and(|c| c.iter().any(|x| x == name));
        self.column((true, k.index(), name.to_owned()), present, || {
            self.edge_props_each(k)
                .filter_map(|(i, props)| {
                    let v = props.into_iter().find(|(c, _)| c == name)?.1;
                    Some((i, v))
                })
                .collect()
        })
    }

    fn column(
        &self,
        key: (bool, usize, String),
        present: bool,
        read: impl FnOnce() -> rustc_hash::FxHashMap<u32, String>,
    ) -> ColumnText {
        if !present {
            return ColumnText::default();
        }
        let cached = self.columns.lock().ok().and_then(|c| c.get(&key).cloned());
        if let Some(c) = cached {
            return c;
        }
        let c = ColumnText::new(read());
        if let Ok(mut cache) = self.columns.lock() {
            cache.insert(key, c.clone());
        }
        c
    }

    /// The label text of a code.
    pub fn label_text(&self, k: EdgeKind, code: u32) -> &str {
        self.meta.labels[k.index()]
            .get(code as usize)
            .map_or("", String::as_str)
    }

    /// The code of a label text, if any edge of the kind has it.
    pub fn label_code(&self, k: EdgeKind, text: &str) -> Option<u32> {
        self.meta.labels[k.index()]
            .iter()
            .position(|l| l == text)
            .map(|i| i as u32)
    }

    /// Every label of a kind (index = code).
    pub fn labels(&self, k: EdgeKind) -> &[String] {
        &self.meta.labels[k.index()]
    }

    /// The code of the label seen from the other end (parent <-> child), per kind.
    pub fn inverse_labels(&self, k: EdgeKind) -> &[u32] {
        &self.meta.inverse[k.index()]
    }

    /// The source file table.
    pub fn file(&self, id: u32) -> Option<&FileMeta> {
        self.meta.files.get(id as usize)
    }

    /// Planner statistics.
    pub fn stats(&self) -> &Stats {
        &self.meta.stats
    }

    /// Bytes of the snapshot image.
    pub fn byte_len(&self) -> usize {
        self.buf.bytes().len()
    }
}
