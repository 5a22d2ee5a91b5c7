//! An exhaustive oracle of the nine rules (the four subsidy-fraud rules: `fraud_oracle`), written from gen.py's docstring and evaluated on
//! the generated rows only (hash joins and grouped indexes, no knowledge of what was
//! planted). Its answer is the complete truth: planted + incidental.

use crate::truth::{Finding, Key, Pattern, RefId, Tok};
use crate::util::*;
use crate::world::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A person controlling a company on a day, with the companies of the walk (first to last).
#[derive(Clone, Copy)]
pub(crate) struct Ctl {
    pub(crate) p: u32,
    chain: [u32; 3],
    len: u8,
}

impl Ctl {
    pub(crate) fn chain(&self) -> impl Iterator<Item = Tok> + '_ {
        self.chain[..self.len as usize].iter().map(|&c| Tok::C(c))
    }
}

pub(crate) struct Ix<'a> {
    pub(crate) w: &'a World,
    fam: Csr,
    pub(crate) pos_of: Csr,
    pub(crate) own_in: Csr,
    pub(crate) role_in: Csr,
    own_of: Csr,
    role_of: Csr,
    bids_of: Csr,
    to_of: Csr,
}

fn valid(s: i32, e: i32, d: i32) -> bool {
    s <= d && d <= e
}

impl<'a> Ix<'a> {
    fn new(w: &'a World) -> Ix<'a> {
        let np = w.people.len();
        let nc = w.comps.len();
        let nt = w.tenders.len();
        let enumerate = |it: &mut dyn Iterator<Item = u32>| -> Vec<(u32, u32)> {
            it.enumerate().map(|(i, k)| (k, i as u32)).collect()
        };
        let own_out: Vec<(u32, u32)> = w
            .own
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o.owner {
                Ent::P(p) => Some((p, i as u32)),
                Ent::C(_) => None,
            })
            .collect();
        Ix {
            w,
            fam: family_csr(np, &w.rel),
            pos_of: Csr::new(np, &enumerate(&mut w.pos.iter().map(|p| p.o))),
            own_in: Csr::new(nc, &enumerate(&mut w.own.iter().map(|o| o.c))),
            role_in: Csr::new(nc, &enumerate(&mut w.roles.iter().map(|x| x.c))),
            own_of: Csr::new(np, &own_out),
            role_of: Csr::new(np, &enumerate(&mut w.roles.iter().map(|x| x.p))),
            bids_of: Csr::new(nt, &enumerate(&mut w.bids.iter().map(|b| b.t))),
            to_of: Csr::new(nt, &enumerate(&mut w.tender_off.iter().map(|x| x.t))),
        }
    }

    /// Whether `o` holds a position at `a` on `d`.
    pub(crate) fn holds(&self, o: u32, a: u32, d: i32) -> bool {
        self.pos_of.of(o).iter().any(|&i| {
            let p = &self.w.pos[i as usize];
            p.a == a && valid(p.s, p.e, d)
        })
    }

    /// Whether `o` holds any position on `d`.
    pub(crate) fn in_office_anywhere(&self, o: u32, d: i32) -> bool {
        self.pos_of.of(o).iter().any(|&i| {
            let p = &self.w.pos[i as usize];
            valid(p.s, p.e, d)
        })
    }

    /// People with a control edge into `c` valid on `d`.
    fn direct(&self, c: u32, d: i32, mut f: impl FnMut(u32)) {
        for &i in self.own_in.of(c) {
            let o = &self.w.own[i as usize];
            if let Ent::P(p) = o.owner {
                if valid(o.s, o.e, d) {
                    f(p);
                }
            }
        }
        for &i in self.role_in.of(c) {
            let x = &self.w.roles[i as usize];
            if x.role != RoleKind::Employee && valid(x.s, x.e, d) {
                f(x.p);
            }
        }
    }

    /// Company owners of `c` valid on `d`.
    fn company_owners(&self, c: u32, d: i32, mut f: impl FnMut(u32)) {
        for &i in self.own_in.of(c) {
            let o = &self.w.own[i as usize];
            if let Ent::C(x) = o.owner {
                if valid(o.s, o.e, d) {
                    f(x);
                }
            }
        }
    }

    /// Every person that controls `k` by 1-3 control edges valid on `d` (one walk each,
    /// the shortest), sorted by person.
    pub(crate) fn controllers(&self, k: u32, d: i32, out: &mut Vec<Ctl>) {
        out.clear();
        self.direct(k, d, |p| {
            out.push(Ctl {
                p,
                chain: [k, 0, 0],
                len: 1,
            });
        });
        let mut l1 = Vec::new();
        self.company_owners(k, d, |c| l1.push(c));
        for c1 in l1 {
            self.direct(c1, d, |p| {
                out.push(Ctl {
                    p,
                    chain: [c1, k, 0],
                    len: 2,
                });
            });
            let mut l2 = Vec::new();
            self.company_owners(c1, d, |c| l2.push(c));
            for c0 in l2 {
                self.direct(c0, d, |p| {
                    out.push(Ctl {
                        p,
                        chain: [c0, c1, k],
                        len: 3,
                    });
                });
            }
        }
        out.sort_by_key(|c| (c.p, c.len));
        out.dedup_by_key(|c| c.p);
    }

    /// People within 1-2 family hops of `p`, other than `p`: (person, middle or NONE),
    /// one hop preferred, sorted by person.
    fn within2(&self, p: u32, out: &mut Vec<(u32, u32)>) {
        out.clear();
        for &m in self.fam.of(p) {
            if m != p {
                out.push((m, NONE));
            }
            for &x in self.fam.of(m) {
                if x != p {
                    out.push((x, m));
                }
            }
        }
        out.sort_unstable_by_key(|&(x, m)| (x, m != NONE, m));
        out.dedup_by_key(|e| e.0);
    }
}

fn find(w2: &[(u32, u32)], x: u32) -> Option<u32> {
    w2.binary_search_by_key(&x, |e| e.0).ok().map(|i| w2[i].1)
}

/// `o`, the middle person if any, and `p`.
fn rel_path(o: u32, mid: u32, p: u32) -> Vec<Tok> {
    let mut v = vec![Tok::P(o)];
    if mid != NONE {
        v.push(Tok::P(mid));
    }
    v.push(Tok::P(p));
    v
}

/// Every finding of every rule, keyed like the scorer.
pub(crate) fn run(w: &World) -> BTreeMap<Key, Finding> {
    let ix = Ix::new(w);
    let mut out: BTreeMap<Key, Finding> = BTreeMap::new();
    let mut add = |f: Finding| {
        out.entry(f.key()).or_insert(f);
    };
    let mut ctl = Vec::new();
    let mut w2 = Vec::new();

    // relative_wins and self_dealing: per contract, the controllers of its company on the
    // signing day; their relatives (or themselves) holding office at the agency that day
    for (ki, k) in w.contracts.iter().enumerate() {
        let ki = ki as u32;
        ix.controllers(k.c, k.signed, &mut ctl);
        for c in &ctl {
            if ix.holds(c.p, k.a, k.signed) {
                let mut path = vec![Tok::P(c.p)];
                path.extend(c.chain());
                path.push(Tok::K(ki));
                add(Finding::new(
                    Pattern::SelfDealing,
                    c.p,
                    Ent::C(k.c),
                    RefId::Contract(ki),
                    path,
                ));
            }
            ix.within2(c.p, &mut w2);
            for &(o, mid) in &w2 {
                if ix.holds(o, k.a, k.signed) {
                    let mut path = rel_path(o, mid, c.p);
                    path.extend(c.chain());
                    path.push(Tok::K(ki));
                    add(Finding::new(
                        Pattern::RelativeWins,
                        o,
                        Ent::C(k.c),
                        RefId::Contract(ki),
                        path,
                    ));
                }
            }
        }
    }

    // linked_subsidy and deceased_recipient
    for (si, s) in w.subsidies.iter().enumerate() {
        let si = si as u32;
        if let Ent::P(x) = s.r {
            if w.people[x as usize].death < s.paid {
                add(Finding::new(
                    Pattern::DeceasedRecipient,
                    s.approver,
                    Ent::P(x),
                    RefId::Subsidy(si),
                    vec![Tok::P(x), Tok::S(si)],
                ));
            }
        }
        let o = s.approver;
        if o == NONE || !ix.holds(o, s.a, s.paid) {
            continue;
        }
        ix.within2(o, &mut w2);
        match s.r {
            Ent::P(x) => {
                if let Some(mid) = find(&w2, x) {
                    let mut path = rel_path(o, mid, x);
                    path.push(Tok::S(si));
                    add(Finding::new(
                        Pattern::LinkedSubsidy,
                        o,
                        s.r,
                        RefId::Subsidy(si),
                        path,
                    ));
                }
            }
            Ent::C(c) => {
                ix.controllers(c, s.paid, &mut ctl);
                for x in &ctl {
                    if let Some(mid) = find(&w2, x.p) {
                        let mut path = rel_path(o, mid, x.p);
                        path.extend(x.chain());
                        path.push(Tok::S(si));
                        add(Finding::new(
                            Pattern::LinkedSubsidy,
                            o,
                            s.r,
                            RefId::Subsidy(si),
                            path,
                        ));
                        break;
                    }
                }
            }
        }
    }

    // bid_rigging: per company its direct owners and legal_rep / director people (any row,
    // any time), phone and address
    let nc = w.comps.len();
    let mut owners: Vec<Vec<Ent>> = vec![Vec::new(); nc];
    for o in &w.own {
        owners[o.c as usize].push(o.owner);
    }
    let mut directors: Vec<Vec<u32>> = vec![Vec::new(); nc];
    for x in &w.roles {
        if matches!(x.role, RoleKind::LegalRep | RoleKind::Director) {
            directors[x.c as usize].push(x.p);
        }
    }
    for v in &mut owners {
        v.sort_unstable();
        v.dedup();
    }
    for v in &mut directors {
        v.sort_unstable();
        v.dedup();
    }
    let intern = |get: &dyn Fn(&Company) -> &str| -> Vec<u32> {
        let mut m: HashMap<&str, u32> = HashMap::new();
        w.comps
            .iter()
            .map(|c| {
                let s = get(c);
                if s.is_empty() {
                    NONE
                } else {
                    let n = m.len() as u32;
                    *m.entry(s).or_insert(n)
                }
            })
            .collect()
    };
    let phone = intern(&|c: &Company| c.phone.as_str());
    let addr = intern(&|c: &Company| c.addr.as_str());
    fn common<T: Ord + Copy>(a: &[T], b: &[T]) -> Option<T> {
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return Some(a[i]),
            }
        }
        None
    }
    let mut bidders: Vec<u32> = Vec::new();
    for t in 0..w.tenders.len() as u32 {
        bidders.clear();
        bidders.extend(ix.bids_of.of(t).iter().map(|&b| w.bids[b as usize].c));
        bidders.sort_unstable();
        bidders.dedup();
        for i in 0..bidders.len() {
            for j in i + 1..bidders.len() {
                let (x, y) = (bidders[i], bidders[j]);
                let (xu, yu) = (x as usize, y as usize);
                let tok = if let Some(e) = common(&owners[xu], &owners[yu]) {
                    Some(Tok::from(e))
                } else if let Some(p) = common(&directors[xu], &directors[yu]) {
                    Some(Tok::P(p))
                } else if phone[xu] != NONE && phone[xu] == phone[yu] {
                    Some(Tok::Phone(x))
                } else if addr[xu] != NONE && addr[xu] == addr[yu] {
                    Some(Tok::Addr(x))
                } else {
                    None
                };
                if let Some(tok) = tok {
                    let mut f = Finding::new(
                        Pattern::BidRigging,
                        NONE,
                        Ent::C(x),
                        RefId::Tender(t),
                        vec![Tok::C(x), tok, Tok::C(y)],
                    );
                    f.target2 = Some(Ent::C(y));
                    add(f);
                }
            }
        }
    }

    // blacklisted_bidder: the earliest listing of every entity
    let mut listed: HashMap<Ent, i32> = HashMap::new();
    for b in &w.blacklist {
        let e = listed.entry(b.ent).or_insert(b.listed);
        *e = (*e).min(b.listed);
    }
    let is_listed = |e: Ent, d: i32| listed.get(&e).is_some_and(|&l| l <= d);
    for b in &w.bids {
        let d = w.tenders[b.t as usize].published;
        let hit = |path: Vec<Tok>| {
            let mut path = path;
            path.push(Tok::C(b.c));
            path.push(Tok::T(b.t));
            Finding::new(
                Pattern::BlacklistedBidder,
                NONE,
                Ent::C(b.c),
                RefId::Tender(b.t),
                path,
            )
        };
        if is_listed(Ent::C(b.c), d) {
            add(hit(Vec::new()));
            continue;
        }
        let mut found = None;
        for &i in ix.own_in.of(b.c) {
            let o = &w.own[i as usize];
            if !valid(o.s, o.e, d) {
                continue;
            }
            if is_listed(o.owner, d) {
                found = Some(vec![Tok::from(o.owner)]);
                break;
            }
            if let Ent::C(c1) = o.owner {
                for &j in ix.own_in.of(c1) {
                    let o2 = &w.own[j as usize];
                    if matches!(o2.owner, Ent::C(_))
                        && valid(o2.s, o2.e, d)
                        && is_listed(o2.owner, d)
                    {
                        found = Some(vec![Tok::from(o2.owner), Tok::C(c1)]);
                        break;
                    }
                }
                if found.is_some() {
                    break;
                }
            }
        }
        if let Some(path) = found {
            add(hit(path));
        }
    }

    // revolving_door
    let mut by_ac: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for (i, k) in w.contracts.iter().enumerate() {
        by_ac.entry((k.a, k.c)).or_default().push(i as u32);
    }
    for p in &w.pos {
        if p.e == OPEN {
            continue;
        }
        for &ri in ix.role_of.of(p.o) {
            let x = &w.roles[ri as usize];
            if !matches!(
                x.role,
                RoleKind::LegalRep | RoleKind::Director | RoleKind::Manager
            ) {
                continue;
            }
            if !(p.e < x.s && i64::from(x.s) <= i64::from(p.e) + 3 * 365) {
                continue;
            }
            if ix.holds(p.o, p.a, x.s) {
                continue;
            }
            for &ki in by_ac.get(&(p.a, x.c)).map_or(&[][..], Vec::as_slice) {
                let k = &w.contracts[ki as usize];
                if valid(p.s, p.e, k.signed) {
                    add(Finding::new(
                        Pattern::RevolvingDoor,
                        p.o,
                        Ent::C(x.c),
                        RefId::Contract(ki),
                        vec![Tok::P(p.o), Tok::A(p.a), Tok::K(ki), Tok::C(x.c)],
                    ));
                }
            }
        }
    }

    // undeclared_interest
    let mut officials: Vec<u32> = w.pos.iter().map(|p| p.o).collect();
    officials.sort_unstable();
    officials.dedup();
    let offs: HashSet<u32> = officials.iter().copied().collect();
    let mut close: HashMap<u32, Vec<u32>> = HashMap::new();
    for x in &w.rel {
        match x.t {
            Rel::Spouse => {
                if offs.contains(&x.a) {
                    close.entry(x.a).or_default().push(x.b);
                }
                if offs.contains(&x.b) {
                    close.entry(x.b).or_default().push(x.a);
                }
            }
            Rel::Child if offs.contains(&x.a) => close.entry(x.a).or_default().push(x.b),
            Rel::Parent if offs.contains(&x.b) => close.entry(x.b).or_default().push(x.a),
            _ => {}
        }
    }
    let mut declared: HashSet<(u32, Ent)> = HashSet::new();
    for d in &w.decl {
        declared.insert((d.o, d.subject));
    }
    for &o in &officials {
        let mut members = vec![o];
        if let Some(v) = close.get(&o) {
            members.extend(v.iter().copied().filter(|&m| m != o));
        }
        for &m in &members {
            let owned = ix.own_of.of(m).iter().map(|&i| w.own[i as usize].c);
            let led = ix
                .role_of
                .of(m)
                .iter()
                .map(|&i| &w.roles[i as usize])
                .filter(|x| matches!(x.role, RoleKind::LegalRep | RoleKind::Director))
                .map(|x| x.c);
            for c in owned.chain(led) {
                if declared.contains(&(o, Ent::C(c))) {
                    continue;
                }
                let mut path = vec![Tok::P(o)];
                if m != o {
                    path.push(Tok::P(m));
                }
                path.push(Tok::C(c));
                add(Finding::new(
                    Pattern::UndeclaredInterest,
                    o,
                    Ent::C(c),
                    RefId::None,
                    path,
                ));
            }
        }
    }

    // evaluator_conflict: per tender, the controllers of every bidder on the publication
    // day, against each evaluator / approver and their relatives
    let mut per_bid: Vec<(u32, Vec<Ctl>)> = Vec::new();
    for t in 0..w.tenders.len() as u32 {
        let seats: Vec<u32> = ix
            .to_of
            .of(t)
            .iter()
            .map(|&i| &w.tender_off[i as usize])
            .filter(|x| matches!(x.role, TRole::Evaluator | TRole::Approver))
            .map(|x| x.p)
            .collect();
        if seats.is_empty() {
            continue;
        }
        let d = w.tenders[t as usize].published;
        per_bid.clear();
        for &b in ix.bids_of.of(t) {
            let c = w.bids[b as usize].c;
            ix.controllers(c, d, &mut ctl);
            if !ctl.is_empty() {
                per_bid.push((c, ctl.clone()));
            }
        }
        if per_bid.is_empty() {
            continue;
        }
        for &q in &seats {
            ix.within2(q, &mut w2);
            for (c, cs) in &per_bid {
                for x in cs {
                    let path = if x.p == q {
                        vec![Tok::P(q)]
                    } else if let Some(mid) = find(&w2, x.p) {
                        rel_path(q, mid, x.p)
                    } else {
                        continue;
                    };
                    let mut path = path;
                    path.extend(x.chain());
                    path.push(Tok::T(t));
                    add(Finding::new(
                        Pattern::EvaluatorConflict,
                        q,
                        Ent::C(*c),
                        RefId::Tender(t),
                        path,
                    ));
                    break;
                }
            }
        }
    }
    crate::fraud_oracle::run(&ix, &mut add);
    out
}
