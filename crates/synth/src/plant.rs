//! Planted stories (one per finding of the nine patterns, exact by construction against the
//! rules of gen.py's docstring), decoys that look alike but must not match, and the
//! officials' declarations.

use crate::data::*;
use crate::truth::{Finding, Kind, Pattern, RefId, Tok, Truth};
use crate::util::*;
use crate::world::*;
use std::collections::{HashMap, HashSet};

/// A position picked for a story: official, agency, start, end, and the part of the
/// tenure inside the data window.
#[derive(Clone, Copy)]
struct Pick {
    o: u32,
    a: u32,
    s: i32,
    e: i32,
    s2: i32,
    e2: i32,
}

const PUB_LAST: i32 = day(2024, 10, 31);

impl World {
    fn pick_position(&self, r: &mut Rng, min_days: i32, ended: bool) -> Option<Pick> {
        if self.pos.is_empty() {
            return None;
        }
        let (w0, ended_by) = (day(2012, 6, 1), day(2023, 6, 30));
        for _ in 0..10_000 {
            let p = &self.pos[r.below(self.pos.len())];
            let s2 = p.s.max(w0);
            let e2 = p.e.min(T_END - 30);
            if e2 - s2 < min_days {
                continue;
            }
            if ended && (p.e == OPEN || p.e > ended_by) {
                continue;
            }
            return Some(Pick {
                o: p.o,
                a: p.a,
                s: p.s,
                e: p.e,
                s2,
                e2,
            });
        }
        None
    }

    /// A company `owner` founded and wholly owned until 30-300 days before `d`, then sold
    /// whole to an entrepreneur (with another as legal representative): the ownership-ended
    /// decoy, which no rule may flag at `d`.
    fn company_sold_before(&mut self, r: &mut Rng, owner: u32, d: i32) -> u32 {
        let f = d - r.int(900, 3000);
        let kc = self.add_company(r, f, false, None, None);
        let endd = d - r.int(30, 300);
        self.own.push(Own {
            owner: Ent::P(owner),
            c: kc,
            share: 10_000,
            s: f,
            e: endd,
        });
        let buyer = self.pick_ent(r);
        self.own.push(Own {
            owner: Ent::P(buyer),
            c: kc,
            share: 10_000,
            s: endd + 1,
            e: OPEN,
        });
        let lr = self.pick_ent(r);
        self.roles.push(Role {
            p: lr,
            c: kc,
            role: RoleKind::LegalRep,
            s: f,
            e: OPEN,
        });
        kc
    }

    /// A relative exactly `hops` (1 or 2) family hops from `o`, with the path from `o`.
    fn pick_relative(&self, r: &mut Rng, o: u32, hops: u32) -> Option<(u32, Vec<u32>)> {
        let n1: Vec<u32> = self.fam(o).iter().copied().filter(|&x| x != o).collect();
        if n1.is_empty() {
            return None;
        }
        if hops == 1 {
            let x = r.pick(&n1);
            return Some((x, vec![o, x]));
        }
        let mut cands = Vec::new();
        for &m in &n1 {
            for &x in self.fam(m) {
                if x != o && !n1.contains(&x) {
                    cands.push((m, x));
                }
            }
        }
        if cands.is_empty() {
            return None;
        }
        let (m, x) = r.pick(&cands);
        Some((x, vec![o, m, x]))
    }

    /// People exactly 1, 2 and 3 family hops from `o`.
    fn rings(&self, o: u32) -> [Vec<u32>; 3] {
        let mut seen: HashSet<u32> = HashSet::from([o]);
        let mut out: [Vec<u32>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let mut frontier = vec![o];
        for ring in &mut out {
            let mut next = Vec::new();
            for &x in &frontier {
                for &y in self.fam(x) {
                    if seen.insert(y) {
                        next.push(y);
                    }
                }
            }
            next.sort_unstable();
            ring.clone_from(&next);
            frontier = next;
        }
        out
    }

    /// Spouse and children of `o` (as the relation rows say).
    fn close_family(&self, o: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let sp = self.spouse[o as usize];
        if sp != NONE {
            out.push(sp);
            if let Some(ci) = self
                .couples
                .iter()
                .position(|&(h, w)| (h == o && w == sp) || (w == o && h == sp))
            {
                out.extend_from_slice(self.kids.of(ci as u32));
            }
        }
        out
    }

    pub(crate) fn alive_adult(&self, p: u32, d: i32) -> bool {
        let x = &self.people[p as usize];
        x.death > d && x.birth < d - 20 * 365
    }

    /// A random living adult (on `d`) who is neither `o` nor within two family hops of `o`.
    fn stranger(&self, r: &mut Rng, o: u32, d: i32) -> Option<u32> {
        let [r1, r2, _] = self.rings(o);
        for _ in 0..1000 {
            let x = r.pick(&self.adults);
            if x != o && self.alive_adult(x, d) && !r1.contains(&x) && !r2.contains(&x) {
                return Some(x);
            }
        }
        None
    }

    /// Creates `p -> H1 -> .. -> K` with `layers` holding companies, every link valid from
    /// before `d` and open. The first link is ownership, or a legal_rep / director role (a
    /// nominee then owns the first company). Returns the companies, `K` last.
    pub(crate) fn chain_to(
        &mut self,
        r: &mut Rng,
        p: u32,
        layers: usize,
        d: i32,
        first_role: bool,
    ) -> Vec<u32> {
        let f0 = day(2000, 1, 1).max(d - r.int(400, 3000));
        let mut comps = Vec::new();
        for i in 0..layers {
            let f = f0 - (layers - i) as i32 * r.int(30, 400);
            comps.push(self.add_company(r, f, true, None, None));
        }
        let k = self.add_company(r, f0, false, None, None);
        comps.push(k);
        let c0 = comps[0];
        let st0 = self.comps[c0 as usize].founded;
        if first_role {
            let role = if r.chance(0.5) {
                RoleKind::LegalRep
            } else {
                RoleKind::Director
            };
            self.roles.push(Role {
                p,
                c: c0,
                role,
                s: st0,
                e: OPEN,
            });
            let nominee = self.pick_ent(r);
            self.own.push(Own {
                owner: Ent::P(nominee),
                c: c0,
                share: 10_000,
                s: st0,
                e: OPEN,
            });
        } else {
            let share = r.int(3000, 10_000) as u32;
            self.own.push(Own {
                owner: Ent::P(p),
                c: c0,
                share,
                s: st0,
                e: OPEN,
            });
        }
        for w in comps.windows(2) {
            let share = r.int(5100, 10_000) as u32;
            let s = self.comps[w[1] as usize].founded;
            self.own.push(Own {
                owner: Ent::C(w[0]),
                c: w[1],
                share,
                s,
                e: OPEN,
            });
        }
        let fk = self.comps[k as usize].founded;
        if r.chance(0.4) {
            let x = self.pick_ent(r);
            let share = r.int(500, 4000) as u32;
            self.own.push(Own {
                owner: Ent::P(x),
                c: k,
                share,
                s: fk,
                e: OPEN,
            });
        }
        let m = self.pick_ent(r);
        self.roles.push(Role {
            p: m,
            c: k,
            role: RoleKind::Manager,
            s: fk,
            e: OPEN,
        });
        comps
    }

    /// A plain company founded on `f`, owned by a random entrepreneur, with a legal_rep.
    pub(crate) fn plain_company(&mut self, r: &mut Rng, f: i32) -> u32 {
        let k = self.add_company(r, f, false, None, None);
        let o = self.pick_ent(r);
        self.own.push(Own {
            owner: Ent::P(o),
            c: k,
            share: 10_000,
            s: f,
            e: OPEN,
        });
        let lr = self.pick_ent(r);
        self.roles.push(Role {
            p: lr,
            c: k,
            role: RoleKind::LegalRep,
            s: f,
            e: OPEN,
        });
        k
    }

    /// `n` distinct operating companies founded 90 days before `d`, not in `exclude`.
    fn others(&self, r: &mut Rng, n: usize, d: i32, exclude: &[u32]) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for _ in 0..2000 {
            if out.len() >= n {
                break;
            }
            let c = self.pick_op(r);
            if !out.contains(&c) && !exclude.contains(&c) && self.comps[c as usize].founded < d - 90
            {
                out.push(c);
            }
        }
        out
    }

    /// `k` wins a contract from `a` signed on `d` (after a tender with probability 0.7).
    fn win_contract(&mut self, r: &mut Rng, a: u32, k: u32, d: i32, approver: Option<u32>) -> u32 {
        if r.chance(0.7) {
            let published = d - r.int(45, 75);
            let n = r.int(2, 5) as usize;
            let mut bidders = self.others(r, n, published, &[k]);
            bidders.push(k);
            r.shuffle(&mut bidders);
            let (_, kk) = self.add_tender(r, a, published, &bidders, Some(k), &[]);
            let c = &mut self.contracts[kk as usize];
            c.signed = d;
            if let Some(o) = approver {
                c.approver = o;
            }
            return kk;
        }
        let approver = approver.unwrap_or_else(|| {
            let offs = self.in_office(a, d);
            if offs.is_empty() {
                NONE
            } else {
                r.pick(&offs)
            }
        });
        let amount = r.lognormal_cents(12.0, 1.0);
        self.contracts.push(Contract {
            a,
            c: k,
            t: NONE,
            amount,
            signed: d,
            approver,
        });
        (self.contracts.len() - 1) as u32
    }

    /// A tender-weighted agency where `o` never held a position.
    fn foreign_agency(&self, r: &mut Rng, o: u32) -> Option<u32> {
        let mine: Vec<u32> = self
            .pos_by_person
            .get(&o)
            .map(|v| v.iter().map(|&i| self.pos[i as usize].a).collect())
            .unwrap_or_default();
        for _ in 0..1000 {
            let a = self.ag_tw.sample(r) as u32;
            if !mine.contains(&a) {
                return Some(a);
            }
        }
        None
    }

    fn record(&mut self, kind: Kind, f: Finding) {
        self.truth.push(Truth { kind, f });
    }

    /// Plants every pattern and every decoy.
    pub(crate) fn plant(&mut self, r: &mut Rng) {
        let k = self.sizes.k;
        let budget = 2000 * k;
        self.plant_deceased(r, k);
        self.plant_relative_wins(r, k, budget);
        self.plant_self_dealing(r, k);
        self.plant_linked_subsidy(r, k, budget);
        self.plant_bid_rigging(r, k);
        self.plant_blacklisted(r, k);
        self.plant_revolving(r, k, budget);
        self.plant_undeclared(r, k, budget);
        self.plant_evaluator(r, k, budget);
        let nd = self.sizes.decoys;
        self.plant_rw_decoys(r, nd, 2000 * nd);
        self.plant_ec_decoys(r, nd, 2000 * nd);
    }

    fn rel_path(path: &[u32]) -> Vec<Tok> {
        path.iter().map(|&x| Tok::P(x)).collect()
    }

    fn plant_relative_wins(&mut self, r: &mut Rng, k: usize, budget: usize) {
        let mut n = 0;
        for _ in 0..budget {
            if n >= k {
                break;
            }
            let Some(p) = self.pick_position(r, 365, false) else {
                break;
            };
            let hops = if r.chance(0.5) { 1 } else { 2 };
            let Some((rel, rpath)) = self.pick_relative(r, p.o, hops) else {
                continue;
            };
            let d = r.int(p.s2 + 30, p.e2);
            if !self.alive_adult(rel, d) {
                continue;
            }
            let layers = choose_w(r, &[(0usize, 50.0), (1, 30.0), (2, 20.0)]);
            let first_role = r.chance(0.25);
            let comps = self.chain_to(r, rel, layers, d, first_role);
            let kc = comps[comps.len() - 1];
            let appr = if r.chance(0.3) { Some(p.o) } else { None };
            let kk = self.win_contract(r, p.a, kc, d, appr);
            let mut path = World::rel_path(&rpath);
            path.extend(comps.iter().map(|&c| Tok::C(c)));
            path.push(Tok::K(kk));
            let f = Finding::new(
                Pattern::RelativeWins,
                p.o,
                Ent::C(kc),
                RefId::Contract(kk),
                path,
            )
            .with("agency", &format!("A{}", p.a))
            .with("hops", &hops)
            .with("layers", &layers)
            .with("first_edge", &if first_role { "role" } else { "own" });
            self.record(Kind::Planted, f);
            n += 1;
        }
    }

    fn plant_self_dealing(&mut self, r: &mut Rng, k: usize) {
        for _ in 0..k {
            let Some(p) = self.pick_position(r, 365, false) else {
                break;
            };
            let d = r.int(p.s2 + 30, p.e2);
            let layers = usize::from(r.chance(0.4));
            let first_role = r.chance(0.2);
            let comps = self.chain_to(r, p.o, layers, d, first_role);
            let kc = comps[comps.len() - 1];
            let appr = if r.chance(0.5) { Some(p.o) } else { None };
            let kk = self.win_contract(r, p.a, kc, d, appr);
            let mut path = vec![Tok::P(p.o)];
            path.extend(comps.iter().map(|&c| Tok::C(c)));
            path.push(Tok::K(kk));
            let f = Finding::new(
                Pattern::SelfDealing,
                p.o,
                Ent::C(kc),
                RefId::Contract(kk),
                path,
            )
            .with("layers", &layers);
            self.record(Kind::Planted, f);
        }
    }

    fn plant_linked_subsidy(&mut self, r: &mut Rng, k: usize, budget: usize) {
        let mut n = 0;
        for _ in 0..budget {
            if n >= k {
                break;
            }
            let Some(p) = self.pick_position(r, 365, false) else {
                break;
            };
            let hops = if r.chance(0.6) { 1 } else { 2 };
            let Some((rel, rpath)) = self.pick_relative(r, p.o, hops) else {
                continue;
            };
            let d = r.int(p.s2 + 30, p.e2);
            if !self.alive_adult(rel, d) {
                continue;
            }
            let mut path = World::rel_path(&rpath);
            let (target, amount, program) = if r.chance(0.5) {
                (
                    Ent::P(rel),
                    r.cents(5000.0, 80_000.0),
                    r.pick(PROGRAMS_PERSON),
                )
            } else {
                let layers = usize::from(r.chance(0.3));
                let comps = self.chain_to(r, rel, layers, d, false);
                path.extend(comps.iter().map(|&c| Tok::C(c)));
                (
                    Ent::C(comps[comps.len() - 1]),
                    r.cents(50_000.0, 900_000.0),
                    r.pick(PROGRAMS_COMPANY),
                )
            };
            self.subsidies.push(Subsidy {
                a: p.a,
                r: target,
                amount,
                paid: d,
                approver: p.o,
                program,
                period: None,
            });
            let si = (self.subsidies.len() - 1) as u32;
            path.push(Tok::S(si));
            let f = Finding::new(
                Pattern::LinkedSubsidy,
                p.o,
                target,
                RefId::Subsidy(si),
                path,
            )
            .with("hops", &hops);
            self.record(Kind::Planted, f);
            n += 1;
        }
    }

    fn plant_bid_rigging(&mut self, r: &mut Rng, k: usize) {
        for _ in 0..k {
            let a = self.ag_tw.sample(r) as u32;
            let published = r.int(T_START + 200, PUB_LAST);
            let mech = r.pick(&[
                "shared_owner",
                "shared_director",
                "shared_phone",
                "shared_address",
                "shared_holding",
            ]);
            let ncol = if r.chance(0.2) { 3 } else { 2 };
            let f = published - r.int(300, 3000);
            let di = r.below(self.districts.len());
            let phone =
                (mech == "shared_phone").then(|| World::new_phone(r, self.districts[di].area));
            let addr =
                (mech == "shared_address").then(|| World::new_addr(r, &self.districts[di].region));
            let cols: Vec<u32> = (0..ncol)
                .map(|_| {
                    let fc = f - r.int(0, 200);
                    self.add_company(r, fc, false, addr.clone(), phone.clone())
                })
                .collect();
            let shared = self.pick_ent(r);
            let holding = if mech == "shared_holding" {
                let fh0 = f - r.int(200, 2000);
                let h = self.add_company(r, fh0, true, None, None);
                let fh = self.comps[h as usize].founded;
                let x = self.pick_ent(r);
                self.own.push(Own {
                    owner: Ent::P(x),
                    c: h,
                    share: 10_000,
                    s: fh,
                    e: OPEN,
                });
                h
            } else {
                NONE
            };
            for &c in &cols {
                let fc = self.comps[c as usize].founded;
                let lr = self.pick_ent(r);
                match mech {
                    "shared_owner" => {
                        let share = r.int(2000, 7000) as u32;
                        self.own.push(Own {
                            owner: Ent::P(shared),
                            c,
                            share,
                            s: fc,
                            e: OPEN,
                        });
                        let x = self.pick_ent(r);
                        let share2 = r.int(500, 3000) as u32;
                        self.own.push(Own {
                            owner: Ent::P(x),
                            c,
                            share: share2,
                            s: fc,
                            e: OPEN,
                        });
                    }
                    "shared_holding" => {
                        let share = r.int(5100, 10_000) as u32;
                        self.own.push(Own {
                            owner: Ent::C(holding),
                            c,
                            share,
                            s: fc,
                            e: OPEN,
                        });
                    }
                    _ => {
                        let x = self.pick_ent(r);
                        self.own.push(Own {
                            owner: Ent::P(x),
                            c,
                            share: 10_000,
                            s: fc,
                            e: OPEN,
                        });
                        if mech == "shared_director" {
                            self.roles.push(Role {
                                p: shared,
                                c,
                                role: RoleKind::Director,
                                s: fc,
                                e: OPEN,
                            });
                        }
                    }
                }
                self.roles.push(Role {
                    p: lr,
                    c,
                    role: RoleKind::LegalRep,
                    s: fc,
                    e: OPEN,
                });
            }
            let lo = 3usize.saturating_sub(ncol).max(1);
            let n_others = r.int(lo as i32, (8 - ncol) as i32) as usize;
            let mut bidders = self.others(r, n_others, published, &cols);
            bidders.extend_from_slice(&cols);
            r.shuffle(&mut bidders);
            let win = r.pick(&bidders);
            let (t, _) = self.add_tender(r, a, published, &bidders, Some(win), &[]);
            let tok = match mech {
                "shared_owner" | "shared_director" => Tok::P(shared),
                "shared_holding" => Tok::C(holding),
                "shared_phone" => Tok::Phone(cols[0]),
                _ => Tok::Addr(cols[0]),
            };
            for i in 0..cols.len() {
                for j in i + 1..cols.len() {
                    let (x, y) = (cols[i].min(cols[j]), cols[i].max(cols[j]));
                    let mut f = Finding::new(
                        Pattern::BidRigging,
                        NONE,
                        Ent::C(x),
                        RefId::Tender(t),
                        vec![Tok::C(x), tok, Tok::C(y)],
                    )
                    .with("mechanism", &mech);
                    f.target2 = Some(Ent::C(y));
                    self.record(Kind::Planted, f);
                }
            }
        }
    }

    fn plant_blacklisted(&mut self, r: &mut Rng, k: usize) {
        for _ in 0..k {
            let a = self.ag_tw.sample(r) as u32;
            let published = r.int(day(2015, 1, 1), PUB_LAST);
            let listed = published - r.int(60, 900);
            let mode = r.pick(&["company", "owner", "owner_company", "owner_chain"]);
            let fb0 = listed - r.int(300, 3000);
            let b = self.add_company(r, fb0, false, None, None);
            let fb = self.comps[b as usize].founded;
            let mut path = Vec::new();
            let listed_ent;
            match mode {
                "company" => {
                    let x = self.pick_ent(r);
                    self.own.push(Own {
                        owner: Ent::P(x),
                        c: b,
                        share: 10_000,
                        s: fb,
                        e: OPEN,
                    });
                    listed_ent = Ent::C(b);
                }
                "owner" => {
                    let x = self.pick_ent(r);
                    let share = r.int(5100, 10_000) as u32;
                    self.own.push(Own {
                        owner: Ent::P(x),
                        c: b,
                        share,
                        s: fb,
                        e: OPEN,
                    });
                    listed_ent = Ent::P(x);
                    path.push(Tok::P(x));
                }
                _ => {
                    let f10 = fb - r.int(30, 900);
                    let h1 = self.add_company(r, f10, true, None, None);
                    let f1 = self.comps[h1 as usize].founded;
                    let share = r.int(5100, 10_000) as u32;
                    self.own.push(Own {
                        owner: Ent::C(h1),
                        c: b,
                        share,
                        s: fb,
                        e: OPEN,
                    });
                    let top = if mode == "owner_chain" {
                        let f20 = f1 - r.int(30, 900);
                        let h2 = self.add_company(r, f20, true, None, None);
                        let share = r.int(5100, 10_000) as u32;
                        self.own.push(Own {
                            owner: Ent::C(h2),
                            c: h1,
                            share,
                            s: f1,
                            e: OPEN,
                        });
                        path.push(Tok::C(h2));
                        h2
                    } else {
                        h1
                    };
                    path.push(Tok::C(h1));
                    let ft = self.comps[top as usize].founded;
                    let x = self.pick_ent(r);
                    self.own.push(Own {
                        owner: Ent::P(x),
                        c: top,
                        share: 10_000,
                        s: ft,
                        e: OPEN,
                    });
                    listed_ent = Ent::C(top);
                }
            }
            let (reason, source) = match listed_ent {
                Ent::P(_) => ("行贿", "中国裁判文书网"),
                Ent::C(_) => (r.pick(BL_REASONS), r.pick(BL_SOURCES)),
            };
            self.blacklist.push(Listing {
                ent: listed_ent,
                reason,
                listed,
                source,
            });
            let lr = self.pick_ent(r);
            self.roles.push(Role {
                p: lr,
                c: b,
                role: RoleKind::LegalRep,
                s: fb,
                e: OPEN,
            });
            let n = r.int(2, 6) as usize;
            let mut bidders = self.others(r, n, published, &[b]);
            bidders.push(b);
            r.shuffle(&mut bidders);
            let win = if r.chance(0.5) { b } else { r.pick(&bidders) };
            let (t, _) = self.add_tender(r, a, published, &bidders, Some(win), &[]);
            path.push(Tok::C(b));
            path.push(Tok::T(t));
            let f = Finding::new(
                Pattern::BlacklistedBidder,
                NONE,
                Ent::C(b),
                RefId::Tender(t),
                path,
            )
            .with("mode", &mode);
            self.record(Kind::Planted, f);
        }
    }

    fn plant_deceased(&mut self, r: &mut Rng, k: usize) {
        let hi = day(2023, 6, 30);
        let mut dead: Vec<u32> = (0..self.n as u32)
            .filter(|&i| {
                let d = self.people[i as usize].death;
                d > T_START && d < hi
            })
            .collect();
        r.shuffle(&mut dead);
        dead.truncate(k);
        if dead.len() < k {
            // too few deaths in a small population: some elderly people die in the window
            let old = day(1948, 1, 1);
            let mut elderly: Vec<u32> = (0..self.n as u32)
                .filter(|&i| {
                    let p = &self.people[i as usize];
                    p.death == OPEN && p.birth < old && !self.pos_by_person.contains_key(&i)
                })
                .collect();
            r.shuffle(&mut elderly);
            for x in elderly.into_iter().take(k - dead.len()) {
                self.people[x as usize].death = r.int(day(2013, 1, 1), day(2023, 1, 1));
                dead.push(x);
            }
        }
        dead.sort_unstable();
        for p in dead {
            let dd = self.people[p as usize].death;
            let paid = dd + r.int(30, 900.min(T_END - dd));
            let a = self.ag_sw.sample(r) as u32;
            let offs = self.in_office(a, paid);
            let approver = if offs.is_empty() { NONE } else { r.pick(&offs) };
            let amount = r.cents(1000.0, 30_000.0);
            self.subsidies.push(Subsidy {
                a,
                r: Ent::P(p),
                amount,
                paid,
                approver,
                program: r.pick(PROGRAMS_ELDERLY),
                period: None,
            });
            let si = (self.subsidies.len() - 1) as u32;
            let f = Finding::new(
                Pattern::DeceasedRecipient,
                approver,
                Ent::P(p),
                RefId::Subsidy(si),
                vec![Tok::P(p), Tok::S(si)],
            );
            self.record(Kind::Planted, f);
        }
    }

    fn plant_revolving(&mut self, r: &mut Rng, k: usize, budget: usize) {
        let mut n = 0;
        for _ in 0..budget {
            if n >= k {
                break;
            }
            let Some(p) = self.pick_position(r, 365, true) else {
                break;
            };
            let join = (p.e + r.int(30, 600)).min(T_END - 10);
            let mine = self.pos_by_person.get(&p.o).cloned().unwrap_or_default();
            let holds_later = mine.iter().any(|&i| {
                let q = &self.pos[i as usize];
                q.a == p.a && (q.s > p.e || (q.s <= join && join <= q.e))
            });
            if holds_later || join <= p.e {
                continue;
            }
            let d = r.int(p.s2, p.e2);
            let fk0 = d - r.int(300, 3000);
            let kc = self.plain_company(r, fk0);
            let kk = self.win_contract(r, p.a, kc, d, None);
            let role = r.pick(&[RoleKind::Director, RoleKind::Manager, RoleKind::LegalRep]);
            self.roles.push(Role {
                p: p.o,
                c: kc,
                role,
                s: join,
                e: OPEN,
            });
            let f = Finding::new(
                Pattern::RevolvingDoor,
                p.o,
                Ent::C(kc),
                RefId::Contract(kk),
                vec![Tok::P(p.o), Tok::A(p.a), Tok::K(kk), Tok::C(kc)],
            )
            .with("agency", &format!("A{}", p.a))
            .with("role", &role.as_str());
            self.record(Kind::Planted, f);
            n += 1;
        }
    }

    fn plant_undeclared(&mut self, r: &mut Rng, k: usize, budget: usize) {
        let mut n = 0;
        for _ in 0..budget {
            if n >= k {
                break;
            }
            let Some(p) = self.pick_position(r, 365, false) else {
                break;
            };
            let close = self.close_family(p.o);
            let member = if r.chance(0.15) || close.is_empty() {
                if r.chance(0.5) {
                    p.o
                } else {
                    continue;
                }
            } else {
                r.pick(&close)
            };
            let d = r.int(p.s2, p.e2);
            if !self.alive_adult(member, d) {
                continue;
            }
            let first_role = member == p.o && r.chance(0.5);
            let comps = self.chain_to(r, member, 0, d, first_role);
            let kc = comps[0];
            self.undeclared.insert((p.o, kc));
            let mut path = vec![Tok::P(p.o)];
            if member != p.o {
                path.push(Tok::P(member));
            }
            path.push(Tok::C(kc));
            let f = Finding::new(
                Pattern::UndeclaredInterest,
                p.o,
                Ent::C(kc),
                RefId::None,
                path,
            );
            self.record(Kind::Planted, f);
            n += 1;
        }
    }

    fn plant_evaluator(&mut self, r: &mut Rng, k: usize, budget: usize) {
        let mut n = 0;
        for _ in 0..budget {
            if n >= k {
                break;
            }
            let Some(p) = self.pick_position(r, 365, false) else {
                break;
            };
            let x = r.unit();
            let (rel, rpath) = if x < 0.15 {
                (p.o, vec![p.o])
            } else {
                let hops = if x < 0.7 { 1 } else { 2 };
                match self.pick_relative(r, p.o, hops) {
                    Some(v) => v,
                    None => continue,
                }
            };
            let published = r.int(p.s2, p.e2.min(PUB_LAST));
            if !self.alive_adult(rel, published) {
                continue;
            }
            // an evaluator drawn from the expert pool sits on another agency's panel; an
            // approver signs off a tender of his own agency
            let role = if r.chance(0.75) {
                TRole::Evaluator
            } else {
                TRole::Approver
            };
            let a2 = if role == TRole::Approver {
                p.a
            } else {
                match self.foreign_agency(r, p.o) {
                    Some(a) => a,
                    None => continue,
                }
            };
            let layers = usize::from(r.chance(0.25));
            let comps = self.chain_to(r, rel, layers, published, false);
            let kc = comps[comps.len() - 1];
            let nb = r.int(2, 5) as usize;
            let mut bidders = self.others(r, nb, published, &[kc]);
            bidders.push(kc);
            r.shuffle(&mut bidders);
            let win = if r.chance(0.5) { kc } else { r.pick(&bidders) };
            let (t, _) = self.add_tender(r, a2, published, &bidders, Some(win), &[(p.o, role)]);
            let mut path = World::rel_path(&rpath);
            path.extend(comps.iter().map(|&c| Tok::C(c)));
            path.push(Tok::T(t));
            let f = Finding::new(
                Pattern::EvaluatorConflict,
                p.o,
                Ent::C(kc),
                RefId::Tender(t),
                path,
            )
            .with("role", &role.as_str())
            .with("hops", &(rpath.len() - 1))
            .with("agency", &format!("A{a2}"));
            self.record(Kind::Planted, f);
            n += 1;
        }
    }

    /// relative_wins look-alikes.
    fn plant_rw_decoys(&mut self, r: &mut Rng, nd: usize, budget: usize) {
        let mut renamed: HashSet<u32> = HashSet::new();
        let mut protected: HashSet<u32> = HashSet::new();
        for dtype in [
            "same_name",
            "outside_tenure",
            "ownership_ended",
            "other_agency",
            "associate",
            "three_hops",
            "employee_role",
        ] {
            let mut n = 0;
            for _ in 0..budget {
                if n >= nd {
                    break;
                }
                let Some(p) = self.pick_position(r, 365, false) else {
                    break;
                };
                let hops = if r.chance(0.6) { 1 } else { 2 };
                let Some((rel, rpath)) = self.pick_relative(r, p.o, hops) else {
                    continue;
                };
                let mut path = World::rel_path(&rpath);
                let mut agency = p.a;
                let (kc, kk) = match dtype {
                    "same_name" => {
                        let d = r.int(p.s2 + 30, p.e2);
                        let [r1, r2, _] = self.rings(p.o);
                        let male = self.people[rel as usize].male;
                        let mut x = NONE;
                        for _ in 0..2000 {
                            let c = r.pick(&self.adults);
                            if c != p.o
                                && c != rel
                                && self.people[c as usize].male == male
                                && self.alive_adult(c, d)
                                && !r1.contains(&c)
                                && !r2.contains(&c)
                                && !renamed.contains(&c)
                                && !protected.contains(&c)
                            {
                                x = c;
                                break;
                            }
                        }
                        if x == NONE {
                            continue;
                        }
                        let (sur, given) = self.name_of(rel);
                        let px = &mut self.people[x as usize];
                        px.sur = sur;
                        px.given = given;
                        renamed.insert(x);
                        protected.insert(rel);
                        let comps = self.chain_to(r, x, 0, d, false);
                        let kc = comps[0];
                        let kk = self.win_contract(r, p.a, kc, d, None);
                        path.extend([Tok::P(x), Tok::C(kc)]);
                        (kc, kk)
                    }
                    "outside_tenure" => {
                        let spans: Vec<(i32, i32)> = self.pos_by_person[&p.o]
                            .iter()
                            .map(|&i| &self.pos[i as usize])
                            .filter(|q| q.a == p.a)
                            .map(|q| (q.s, q.e))
                            .collect();
                        let lo_all = spans.iter().map(|x| x.0).min().unwrap_or(p.s);
                        let hi_all = spans.iter().map(|x| x.1).max().unwrap_or(p.e);
                        let mut cands = Vec::new();
                        if lo_all - 60 > T_START + 30 {
                            cands.push(r.int(T_START.max(lo_all - 900), lo_all - 30));
                        }
                        if hi_all < T_END - 60 {
                            cands.push(r.int(hi_all + 30, T_END.min(hi_all + 900)));
                        }
                        if cands.is_empty() {
                            continue;
                        }
                        let d = r.pick(&cands);
                        if spans.iter().any(|&(s, e)| s <= d && d <= e) || !self.alive_adult(rel, d)
                        {
                            continue;
                        }
                        let layers = usize::from(r.chance(0.5));
                        let comps = self.chain_to(r, rel, layers, d, false);
                        let kc = comps[comps.len() - 1];
                        let kk = self.win_contract(r, p.a, kc, d, None);
                        path.extend(comps.iter().map(|&c| Tok::C(c)));
                        (kc, kk)
                    }
                    "ownership_ended" => {
                        if p.e2 - p.s2 <= 450 {
                            continue;
                        }
                        let d = r.int(p.s2 + 400, p.e2);
                        if !self.alive_adult(rel, d) {
                            continue;
                        }
                        let kc = self.company_sold_before(r, rel, d);
                        let kk = self.win_contract(r, p.a, kc, d, None);
                        path.push(Tok::C(kc));
                        (kc, kk)
                    }
                    "other_agency" => {
                        let Some(a2) = self.foreign_agency(r, p.o) else {
                            continue;
                        };
                        let d = r.int(p.s2 + 30, p.e2);
                        if !self.alive_adult(rel, d) {
                            continue;
                        }
                        let layers = usize::from(r.chance(0.5));
                        let comps = self.chain_to(r, rel, layers, d, false);
                        let kc = comps[comps.len() - 1];
                        let kk = self.win_contract(r, a2, kc, d, None);
                        path.extend(comps.iter().map(|&c| Tok::C(c)));
                        agency = a2;
                        (kc, kk)
                    }
                    "associate" => {
                        let d = r.int(p.s2 + 30, p.e2);
                        let Some(x) = self.stranger(r, p.o, d) else {
                            continue;
                        };
                        let (a, b) = if r.chance(0.5) { (p.o, x) } else { (x, p.o) };
                        self.rel.push(Relation {
                            a,
                            b,
                            t: Rel::Associate,
                        });
                        let comps = self.chain_to(r, x, 0, d, false);
                        let kc = comps[0];
                        let kk = self.win_contract(r, p.a, kc, d, None);
                        path = vec![Tok::P(p.o), Tok::P(x), Tok::C(kc)];
                        (kc, kk)
                    }
                    "three_hops" => {
                        let [_, _, r3] = self.rings(p.o);
                        if r3.is_empty() {
                            continue;
                        }
                        let x = r.pick(&r3);
                        let d = r.int(p.s2 + 30, p.e2);
                        if !self.alive_adult(x, d) {
                            continue;
                        }
                        let comps = self.chain_to(r, x, 0, d, false);
                        let kc = comps[0];
                        let kk = self.win_contract(r, p.a, kc, d, None);
                        path = vec![Tok::P(p.o), Tok::P(x), Tok::C(kc)];
                        (kc, kk)
                    }
                    _ => {
                        // employee_role: the relative is only an employee
                        let d = r.int(p.s2 + 30, p.e2);
                        if !self.alive_adult(rel, d) {
                            continue;
                        }
                        let fk0 = d - r.int(400, 3000);
                        let kc = self.plain_company(r, fk0);
                        let fk = self.comps[kc as usize].founded;
                        self.roles.push(Role {
                            p: rel,
                            c: kc,
                            role: RoleKind::Employee,
                            s: fk,
                            e: OPEN,
                        });
                        let kk = self.win_contract(r, p.a, kc, d, None);
                        path.push(Tok::C(kc));
                        (kc, kk)
                    }
                };
                path.push(Tok::K(kk));
                let f = Finding::new(
                    Pattern::RelativeWins,
                    p.o,
                    Ent::C(kc),
                    RefId::Contract(kk),
                    path,
                )
                .with("decoy_type", &dtype)
                .with("agency", &format!("A{agency}"));
                self.record(Kind::Decoy, f);
                n += 1;
            }
        }
    }

    /// evaluator_conflict look-alikes.
    fn plant_ec_decoys(&mut self, r: &mut Rng, nd: usize, budget: usize) {
        for dtype in [
            "requester_only",
            "ownership_ended",
            "three_hops",
            "associate",
        ] {
            let mut n = 0;
            for _ in 0..budget {
                if n >= nd {
                    break;
                }
                let Some(p) = self.pick_position(r, 365, false) else {
                    break;
                };
                let published = r.int(p.s2, p.e2.min(PUB_LAST));
                let rel = match dtype {
                    "three_hops" => {
                        let [_, _, r3] = self.rings(p.o);
                        if r3.is_empty() {
                            continue;
                        }
                        r.pick(&r3)
                    }
                    "associate" => match self.stranger(r, p.o, published) {
                        Some(x) => x,
                        None => continue,
                    },
                    _ => {
                        let hops = if r.chance(0.6) { 1 } else { 2 };
                        match self.pick_relative(r, p.o, hops) {
                            Some((x, _)) => x,
                            None => continue,
                        }
                    }
                };
                if !self.alive_adult(rel, published) {
                    continue;
                }
                let agency = if dtype == "requester_only" {
                    p.a
                } else {
                    match self.foreign_agency(r, p.o) {
                        Some(a) => a,
                        None => continue,
                    }
                };
                if dtype == "associate" {
                    let (a, b) = if r.chance(0.5) {
                        (p.o, rel)
                    } else {
                        (rel, p.o)
                    };
                    self.rel.push(Relation {
                        a,
                        b,
                        t: Rel::Associate,
                    });
                }
                let kc = if dtype == "ownership_ended" {
                    self.company_sold_before(r, rel, published)
                } else {
                    self.chain_to(r, rel, 0, published, false)[0]
                };
                let nb = r.int(2, 5) as usize;
                let mut bidders = self.others(r, nb, published, &[kc]);
                bidders.push(kc);
                r.shuffle(&mut bidders);
                let role = if dtype == "requester_only" {
                    TRole::Requester
                } else {
                    TRole::Evaluator
                };
                let win = if dtype == "requester_only" {
                    let losers: Vec<u32> = bidders.iter().copied().filter(|&b| b != kc).collect();
                    if losers.is_empty() {
                        None
                    } else {
                        Some(r.pick(&losers))
                    }
                } else {
                    Some(r.pick(&bidders))
                };
                let (t, _) = self.add_tender(r, agency, published, &bidders, win, &[(p.o, role)]);
                let seated = self
                    .tender_off
                    .iter()
                    .rev()
                    .take_while(|x| x.t == t)
                    .any(|x| x.p == p.o && x.role != TRole::Requester);
                if dtype == "requester_only" && seated {
                    continue; // also drew an evaluator / approver seat: a true finding
                }
                let f = Finding::new(
                    Pattern::EvaluatorConflict,
                    p.o,
                    Ent::C(kc),
                    RefId::Tender(t),
                    vec![Tok::P(p.o), Tok::P(rel), Tok::C(kc), Tok::T(t)],
                )
                .with("decoy_type", &dtype)
                .with("role", &role.as_str())
                .with("agency", &format!("A{agency}"));
                self.record(Kind::Decoy, f);
                n += 1;
            }
        }
    }

    /// Every official declares spouse and children, and every company in which he or she,
    /// a spouse or a child is an owner or legal_rep / director (any row, any time), except
    /// the planted undeclared interests. Computed from the rows, as the rule reads them.
    pub(crate) fn gen_declarations(&mut self) {
        let offs: HashSet<u32> = self.pos.iter().map(|p| p.o).collect();
        let mut spouses: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for x in &self.rel {
            match x.t {
                Rel::Spouse => {
                    if offs.contains(&x.a) {
                        spouses.entry(x.a).or_default().push(x.b);
                    }
                    if offs.contains(&x.b) {
                        spouses.entry(x.b).or_default().push(x.a);
                    }
                }
                Rel::Child if offs.contains(&x.a) => children.entry(x.a).or_default().push(x.b),
                Rel::Parent if offs.contains(&x.b) => children.entry(x.b).or_default().push(x.a),
                _ => {}
            }
        }
        let mut want: HashSet<u32> = offs.clone();
        want.extend(spouses.values().flatten());
        want.extend(children.values().flatten());
        let mut interests: HashMap<u32, Vec<u32>> = HashMap::new();
        for o in &self.own {
            if let Ent::P(p) = o.owner {
                if want.contains(&p) {
                    interests.entry(p).or_default().push(o.c);
                }
            }
        }
        for x in &self.roles {
            if matches!(x.role, RoleKind::LegalRep | RoleKind::Director) && want.contains(&x.p) {
                interests.entry(x.p).or_default().push(x.c);
            }
        }
        let mut offs: Vec<u32> = offs.into_iter().collect();
        offs.sort_unstable();
        let mut decl = Vec::new();
        for o in offs {
            let mut sp = spouses.remove(&o).unwrap_or_default();
            sp.sort_unstable();
            sp.dedup();
            let mut ch = children.remove(&o).unwrap_or_default();
            ch.sort_unstable();
            ch.dedup();
            let mut comps: Vec<u32> = Vec::new();
            for m in std::iter::once(o)
                .chain(sp.iter().copied())
                .chain(ch.iter().copied())
            {
                if let Some(v) = interests.get(&m) {
                    comps.extend_from_slice(v);
                }
            }
            comps.sort_unstable();
            comps.dedup();
            for &s in &sp {
                decl.push(Declaration {
                    o,
                    subject: Ent::P(s),
                    rel: Rel::Spouse.as_str(),
                });
            }
            for &c in &ch {
                decl.push(Declaration {
                    o,
                    subject: Ent::P(c),
                    rel: Rel::Child.as_str(),
                });
            }
            for c in comps {
                if !self.undeclared.contains(&(o, c)) {
                    decl.push(Declaration {
                        o,
                        subject: Ent::C(c),
                        rel: "interest",
                    });
                }
            }
        }
        self.decl = decl;
    }
}
