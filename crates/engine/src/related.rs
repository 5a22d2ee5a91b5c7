//! Findings about the same procedure. A relationship rule and a procedural one see one case
//! from two sides: `relative_wins` finds the official's relative behind the contract,
//! `single_bid` the tender that contract came from, which met no competitor. Each keeps its own
//! key; this module says that they belong together, so that the workbench shows one beside the
//! other and attaches them to a case together.
//!
//! A finding is about the tenders among its key and evidence nodes, and the tender of every
//! contract among them (its `UNDER` edge). Two findings are related when they share one.

use crate::findings::Finding;
use crate::snapshot::Snapshot;
use qinglian_model::{EdgeKind, NodeKind};
use std::collections::BTreeSet;

/// The procedures (tenders, by snapshot id) finding `f` is about.
pub fn procedures(snap: &Snapshot, f: &Finding) -> BTreeSet<u32> {
    let under = snap.edges(EdgeKind::Under);
    let key = [f.target.as_str(), f.target2.as_str(), f.ref_id.as_str()];
    let chain = f
        .evidence
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Tender | NodeKind::Contract))
        .map(|n| n.id.as_str());
    let mut out = BTreeSet::new();
    for id in key.into_iter().chain(chain).filter(|s| !s.is_empty()) {
        let Some(n) = snap.lookup(id) else {
            continue;
        };
        match snap.kind_of(n) {
            NodeKind::Tender => {
                out.insert(n);
            }
            NodeKind::Contract => {
                out.extend(under.out(n).filter_map(|e| under.dst.get(e).copied()));
            }
            _ => {}
        }
    }
    out
}

/// Every other finding of `all` about one of the procedures `f` is about, in `all`'s order.
pub fn related<'a>(snap: &Snapshot, all: &'a [Finding], f: &Finding) -> Vec<&'a Finding> {
    let mine = procedures(snap, f);
    if mine.is_empty() {
        return Vec::new();
    }
    all.iter()
        .filter(|g| g.id != f.id && !procedures(snap, g).is_disjoint(&mine))
        .collect()
}
