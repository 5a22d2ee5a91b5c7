//! The truth is complete and exact: a second, naive implementation of relative_wins,
//! bid_rigging and evaluator_conflict (written from gen.py's docstring, reading the CSV
//! files, searching forward from the official where the generator's oracle searches
//! backward from the contract) must give exactly planted + incidental, and no decoy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qinglian_model::FAMILY;
use qinglian_synth::Profile;
use std::collections::{BTreeSet, HashMap, HashSet};

struct Bundle {
    fam: HashMap<String, Vec<String>>,
    /// Control edges out of a person or company: (to, start, end).
    ctl: HashMap<String, Vec<(String, String, String)>>,
    positions: Vec<HashMap<String, String>>,
    contracts: Vec<HashMap<String, String>>,
    tenders: HashMap<String, HashMap<String, String>>,
    bids: HashMap<String, Vec<String>>,
    tender_off: Vec<HashMap<String, String>>,
    owners: HashMap<String, BTreeSet<String>>,
    directors: HashMap<String, BTreeSet<String>>,
    companies: HashMap<String, HashMap<String, String>>,
}

fn load(d: &std::path::Path) -> Bundle {
    let mut fam: HashMap<String, Vec<String>> = HashMap::new();
    for r in read(d, "relations.csv").rows {
        if FAMILY.contains(&r["relation"].as_str()) {
            fam.entry(r["person_id"].clone())
                .or_default()
                .push(r["relative_id"].clone());
            fam.entry(r["relative_id"].clone())
                .or_default()
                .push(r["person_id"].clone());
        }
    }
    let mut ctl: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    let mut owners: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut directors: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in read(d, "ownership.csv").rows {
        ctl.entry(r["owner_id"].clone()).or_default().push((
            r["company_id"].clone(),
            r["start"].clone(),
            r["end"].clone(),
        ));
        owners
            .entry(r["company_id"].clone())
            .or_default()
            .insert(r["owner_id"].clone());
    }
    for r in read(d, "roles.csv").rows {
        if r["role"] != "employee" {
            ctl.entry(r["person_id"].clone()).or_default().push((
                r["company_id"].clone(),
                r["start"].clone(),
                r["end"].clone(),
            ));
        }
        if r["role"] == "legal_rep" || r["role"] == "director" {
            directors
                .entry(r["company_id"].clone())
                .or_default()
                .insert(r["person_id"].clone());
        }
    }
    let mut bids: HashMap<String, Vec<String>> = HashMap::new();
    for r in read(d, "bids.csv").rows {
        bids.entry(r["tender_id"].clone())
            .or_default()
            .push(r["company_id"].clone());
    }
    Bundle {
        fam,
        ctl,
        positions: read(d, "positions.csv").rows,
        contracts: read(d, "contracts.csv").rows,
        tenders: read(d, "tenders.csv")
            .rows
            .into_iter()
            .map(|r| (r["id"].clone(), r))
            .collect(),
        bids,
        tender_off: read(d, "tender_officials.csv").rows,
        owners,
        directors,
        companies: read(d, "companies.csv")
            .rows
            .into_iter()
            .map(|r| (r["id"].clone(), r))
            .collect(),
    }
}

impl Bundle {
    /// People 1 or 2 family hops from `o`, without `o`.
    fn relatives(&self, o: &str) -> HashSet<String> {
        let mut out = HashSet::new();
        let none = Vec::new();
        for m in self.fam.get(o).unwrap_or(&none) {
            out.insert(m.clone());
            for x in self.fam.get(m).unwrap_or(&none) {
                out.insert(x.clone());
            }
        }
        out.remove(o);
        out
    }

    /// Whether person `p` reaches company `k` by a walk of 1-3 control edges valid on `d`
    /// (the first out of `p`, the others company -> company ownership).
    fn controls(&self, p: &str, k: &str, d: &str) -> bool {
        let none = Vec::new();
        let mut frontier: Vec<String> = vec![p.to_owned()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for x in &frontier {
                for (c, s, e) in self.ctl.get(x).unwrap_or(&none) {
                    if during(s, e, d) {
                        if c == k {
                            return true;
                        }
                        next.push(c.clone());
                    }
                }
            }
            // only company -> company ownership after the first edge: companies own, and
            // `ctl` of a company holds only its ownership rows
            frontier = next;
        }
        false
    }

    fn relative_wins(&self) -> BTreeSet<(String, String, String)> {
        let mut out = BTreeSet::new();
        for k in &self.contracts {
            let (a, c, d) = (&k["agency_id"], &k["company_id"], &k["signed"]);
            for p in &self.positions {
                if &p["agency_id"] != a || !during(&p["start"], &p["end"], d) {
                    continue;
                }
                let o = &p["person_id"];
                if self.relatives(o).iter().any(|r| self.controls(r, c, d)) {
                    out.insert((o.clone(), c.clone(), k["id"].clone()));
                }
            }
        }
        out
    }

    fn bid_rigging(&self) -> BTreeSet<(String, String, String)> {
        let mut out = BTreeSet::new();
        let empty = BTreeSet::new();
        for (t, bs) in &self.bids {
            let bs: BTreeSet<&String> = bs.iter().collect();
            for x in &bs {
                for y in &bs {
                    if x >= y {
                        continue;
                    }
                    let shared = |m: &HashMap<String, BTreeSet<String>>| {
                        !m.get(*x)
                            .unwrap_or(&empty)
                            .is_disjoint(m.get(*y).unwrap_or(&empty))
                    };
                    let same = |col: &str| {
                        let (u, v) = (&self.companies[*x][col], &self.companies[*y][col]);
                        !u.is_empty() && u == v
                    };
                    if shared(&self.owners)
                        || shared(&self.directors)
                        || same("phone")
                        || same("address")
                    {
                        out.insert((t.clone(), (*x).clone(), (*y).clone()));
                    }
                }
            }
        }
        out
    }

    fn evaluator_conflict(&self) -> BTreeSet<(String, String, String)> {
        let mut out = BTreeSet::new();
        for r in &self.tender_off {
            if r["role"] != "evaluator" && r["role"] != "approver" {
                continue;
            }
            let (t, q) = (&r["tender_id"], &r["person_id"]);
            let d = &self.tenders[t]["published"];
            let mut who = self.relatives(q);
            who.insert(q.clone());
            for b in self.bids.get(t).into_iter().flatten() {
                if who.iter().any(|x| self.controls(x, b, d)) {
                    out.insert((q.clone(), b.clone(), t.clone()));
                }
            }
        }
        out
    }
}

fn keys(
    truth: &[serde_json::Value],
    pattern: &str,
    kinds: &[&str],
) -> BTreeSet<(String, String, String)> {
    truth
        .iter()
        .filter(|t| s(t, "pattern") == pattern && kinds.contains(&s(t, "kind")))
        .map(|t| {
            if pattern == "bid_rigging" {
                let (a, b) = (s(t, "target"), s(t, "target2"));
                let (a, b) = if a < b { (a, b) } else { (b, a) };
                (s(t, "ref").to_owned(), a.to_owned(), b.to_owned())
            } else {
                (
                    s(t, "official").to_owned(),
                    s(t, "target").to_owned(),
                    s(t, "ref").to_owned(),
                )
            }
        })
        .collect()
}

fn check(people: usize, seed: u64, profile: Profile) {
    let (dir, _) = gen(people, seed, profile);
    let b = load(dir.path());
    let truth = truth(dir.path());
    for (pattern, naive) in [
        ("relative_wins", b.relative_wins()),
        ("bid_rigging", b.bid_rigging()),
        ("evaluator_conflict", b.evaluator_conflict()),
    ] {
        let planted = keys(&truth, pattern, &["planted"]);
        let all = keys(&truth, pattern, &["planted", "incidental"]);
        let decoys = keys(&truth, pattern, &["decoy"]);
        assert!(!planted.is_empty(), "{pattern}: nothing planted");
        let missed: Vec<_> = planted.difference(&naive).collect();
        assert!(
            missed.is_empty(),
            "{pattern}: planted but not found: {missed:?}"
        );
        assert_eq!(
            all, naive,
            "{pattern}: truth is not the rule's complete answer"
        );
        let flagged: Vec<_> = decoys.intersection(&naive).collect();
        assert!(
            flagged.is_empty(),
            "{pattern}: decoys match the rule: {flagged:?}"
        );
        if pattern != "bid_rigging" {
            assert!(!decoys.is_empty(), "{pattern}: no decoys");
        }
    }
}

#[test]
fn truth_is_exact_for_a_province() {
    check(4000, 21, Profile::Province);
}

#[test]
fn truth_is_exact_for_the_zone() {
    check(400, 1, Profile::Zone);
    check(600, 9, Profile::Zone);
}
