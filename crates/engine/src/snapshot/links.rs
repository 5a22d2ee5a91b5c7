//! Candidate identity links laid over a snapshot as the derived `SAME_AS` edges.
//!
//! Why an overlay and not part of the snapshot file: the links depend on the investigators'
//! judgements, which change without a load (a confirmation must change the findings at once,
//! and the cached file is keyed by the store's generation), and computing them costs seconds
//! on a million people that a screening which never crosses a link should not pay. So the file
//! keeps an empty `SAME_AS` kind, and a caller that runs a rule crossing links attaches them
//! (`crate::linkage::attach`) to the open snapshot; [`super::Snapshot::edges`] then serves
//! these arrays, laid out exactly like a stored kind's, to the executor, the path search and
//! the evidence.

/// One link: the two records (node ids), the probability that they are one, and whether an
/// investigator confirmed it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkPair {
    /// One record.
    pub a: u32,
    /// The other.
    pub b: u32,
    /// Posterior probability (1 when confirmed).
    pub p: f64,
    /// Confirmed by a judgement.
    pub confirmed: bool,
}

/// The `SAME_AS` edges of one snapshot, in the stored kinds' layout.
#[derive(Debug, Default)]
pub struct LinkEdges {
    pub(super) src: Vec<u32>,
    pub(super) dst: Vec<u32>,
    pub(super) value: Vec<f64>,
    pub(super) confirmed: Vec<bool>,
    pub(super) file: Vec<u32>,
    pub(super) line: Vec<u32>,
    pub(super) out_off: Vec<u32>,
    pub(super) in_off: Vec<u32>,
    pub(super) in_idx: Vec<u32>,
    pub(super) out_ent: Vec<[u32; 2]>,
    pub(super) in_ent: Vec<[u32; 3]>,
    pub(super) both_off: Vec<u32>,
    pub(super) both_ent: Vec<[u32; 3]>,
    /// "Has an edge" bitmaps: [out, in].
    pub(super) bits: [Vec<u64>; 2],
}

impl LinkEdges {
    /// Lays out `pairs` over `n` nodes; each edge runs from the smaller node id to the larger
    /// and cites the source row of its tail record (`source`), the record the link was found
    /// from. Pairs naming a node twice or out of range are dropped.
    pub fn new(n: u32, pairs: &[LinkPair], source: impl Fn(u32) -> (u32, u32)) -> LinkEdges {
        let mut ps: Vec<LinkPair> = pairs
            .iter()
            .filter(|p| p.a != p.b && p.a < n && p.b < n)
            .map(|p| LinkPair {
                a: p.a.min(p.b),
                b: p.a.max(p.b),
                ..*p
            })
            .collect();
        ps.sort_by_key(|x| (x.a, x.b));
        ps.dedup_by(|x, y| (x.a, x.b) == (y.a, y.b));
        let nodes = n as usize;
        let mut l = LinkEdges {
            src: ps.iter().map(|p| p.a).collect(),
            dst: ps.iter().map(|p| p.b).collect(),
            value: ps.iter().map(|p| p.p).collect(),
            confirmed: ps.iter().map(|p| p.confirmed).collect(),
            ..LinkEdges::default()
        };
        (l.file, l.line) = l.src.iter().map(|&a| source(a)).unzip();
        l.out_off = offsets(&l.src, nodes);
        l.in_off = offsets(&l.dst, nodes);
        let mut in_idx: Vec<u32> = (0..l.dst.len() as u32).collect();
        in_idx.sort_by_key(|&e| (l.dst[e as usize], l.src[e as usize]));
        l.out_ent = l.dst.iter().map(|&d| [d, 0]).collect();
        l.in_ent = in_idx.iter().map(|&e| [l.src[e as usize], 0, e]).collect();
        l.in_idx = in_idx;
        (l.both_off, l.both_ent) = super::build::undirected(&l.src, &l.dst, |_| 0, nodes);
        l.bits = [bits(&l.src, nodes), bits(&l.dst, nodes)];
        l
    }

    /// Number of links.
    pub fn len(&self) -> usize {
        self.src.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// Whether link `e` was confirmed by an investigator.
    pub fn confirmed(&self, e: usize) -> bool {
        self.confirmed.get(e).copied().unwrap_or(false)
    }
}

/// CSR offsets of sorted-or-not `ends` over `n` nodes (edges are sorted by tail, so the
/// offsets of the tails index them directly; for heads they index `in_idx`).
fn offsets(ends: &[u32], n: usize) -> Vec<u32> {
    let mut off = vec![0u32; n + 1];
    for &x in ends {
        off[x as usize + 1] += 1;
    }
    for i in 0..n {
        off[i + 1] += off[i];
    }
    off
}

fn bits(ends: &[u32], n: usize) -> Vec<u64> {
    let mut b = vec![0u64; n.div_ceil(64)];
    for &x in ends {
        b[x as usize / 64] |= 1 << (x % 64);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_both_directions() {
        let pairs = [
            LinkPair {
                a: 5,
                b: 2,
                p: 0.9,
                confirmed: false,
            },
            LinkPair {
                a: 2,
                b: 7,
                p: 1.0,
                confirmed: true,
            },
            LinkPair {
                a: 3,
                b: 3,
                p: 0.5,
                confirmed: false,
            },
        ];
        let l = LinkEdges::new(8, &pairs, |n| (1, n + 1));
        assert_eq!(l.src, [2, 2]);
        assert_eq!(l.dst, [5, 7]);
        assert_eq!(l.value, [0.9, 1.0]);
        assert_eq!(l.line, [3, 3]);
        assert_eq!(&l.out_off[2..4], &[0, 2]);
        assert_eq!(l.in_ent, [[2, 0, 0], [2, 0, 1]]);
        let at2 = &l.both_ent[l.both_off[2] as usize..l.both_off[3] as usize];
        assert_eq!(at2, [[5, 0, 0], [7, 0, 1]]);
        let at7 = &l.both_ent[l.both_off[7] as usize..l.both_off[8] as usize];
        assert_eq!(at7, [[2, 0, 1 | super::super::BOTH_HEAD]]);
        assert!(l.confirmed(1) && !l.confirmed(0));
        assert_eq!(l.bits[0][0], 1 << 2);
        assert_eq!(l.bits[1][0], (1 << 5) | (1 << 7));
    }
}
