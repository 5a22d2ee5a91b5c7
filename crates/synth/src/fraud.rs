//! Subsidy-fraud stories (虚报冒领): double dipping, shell recipients, split applications and
//! a former colleague's company, each planted exactly with decoys that must not match; and the
//! pass that gives payments their period and dead companies the date of their status.
//!
//! Runs after the nine patterns' planting, from its own random stream, so that adding these
//! stories leaves every earlier draw where it was.

use crate::data::*;
use crate::truth::{Finding, Kind, Pattern, RefId, Tok};
use crate::util::*;
use crate::world::*;

/// Registry statuses of a company that no longer exists, as the generator writes them.
pub(crate) const DEAD: &[&str] = &["注销", "吊销"];

/// An official's position, and its first and last day inside the data window.
struct Tenure {
    o: u32,
    a: u32,
    s: i32,
    s2: i32,
    e2: i32,
}

/// A payment to be made: who pays, to whom, when, for what.
#[derive(Clone, Copy)]
struct Pay {
    a: u32,
    to: Ent,
    paid: i32,
    program: &'static str,
    approver: u32,
}

impl World {
    /// Plants every subsidy-fraud pattern and its decoys.
    pub(crate) fn plant_subsidy_fraud(&mut self, r: &mut Rng) {
        let (k, nd) = (self.sizes.k, self.sizes.decoys);
        self.plant_double_dipping(r, k, nd);
        self.plant_shell(r, k, nd);
        self.plant_split(r, k, nd);
        self.plant_colleague(r, k, nd);
    }

    /// Gives a `share` of the people and of the companies a second record as a register without
    /// identifiers keeps it: a person's name, no resident ID, the birth date as is (nine in ten),
    /// a day off within the same year, or missing, the death date half the time; a company's
    /// as [`World::company_copy`]. Half as many companies get a namesake elsewhere, which is
    /// not the same company. The records are what candidate identity links are measured on;
    /// [`World::split_rows`] then moves some rows to them.
    pub(crate) fn gen_duplicates(&mut self, r: &mut Rng, share: f64) {
        if share <= 0.0 {
            return;
        }
        for p in 0..self.people.len() {
            if !r.chance(share) {
                continue;
            }
            let src = &self.people[p];
            let roll = r.unit();
            let birth = if roll < 0.9 {
                src.birth
            } else if roll < 0.97 {
                let d = src.birth + r.int(1, 25);
                if year_of(d) == year_of(src.birth) {
                    d
                } else {
                    src.birth - r.int(1, 25)
                }
            } else {
                OPEN
            };
            let death = if r.chance(0.5) { src.death } else { OPEN };
            let dup = Person {
                sur: src.sur,
                given: src.given,
                male: src.male,
                birth,
                death,
                idn: 0,
            };
            self.people.push(dup);
            let d = (self.people.len() - 1) as u32;
            self.dups.push((Ent::P(p as u32), Ent::P(d)));
        }
        for c in 0..self.comps.len() {
            if r.chance(share / 2.0) {
                let other = self.namesake(r, c);
                self.comps.push(other);
            }
            if !r.chance(share) {
                continue;
            }
            let dup = self.company_copy(r, c);
            self.comps.push(dup);
            let d = (self.comps.len() - 1) as u32;
            self.dups.push((Ent::C(c as u32), Ent::C(d)));
        }
    }

    /// Moves half of the second records' registry rows to them: for a person, the shares they
    /// hold and the roles they have (a shareholder list naming a person without a resident
    /// ID); for a company, the shares held in it and the roles in it (a register naming it
    /// without its credit code). Tenders, contracts and subsidies keep naming the first
    /// record. The truth was found before the move — it is about people and companies, not
    /// records — so a chain through a moved row is found only by crossing the link
    /// (`qinglian screen --links`), which is how the findings' precision and recall through
    /// links are measured (docs/linkage.md).
    pub(crate) fn split_rows(&mut self, r: &mut Rng) {
        let mut person = std::collections::HashMap::new();
        let mut company = std::collections::HashMap::new();
        for &(orig, dup) in &self.dups {
            if !r.chance(0.5) {
                continue;
            }
            match (orig, dup) {
                (Ent::P(a), Ent::P(b)) => {
                    person.insert(a, b);
                }
                (Ent::C(a), Ent::C(b)) => {
                    company.insert(a, b);
                }
                _ => {}
            }
        }
        for o in &mut self.own {
            if let Ent::P(p) = o.owner {
                if let Some(&d) = person.get(&p) {
                    o.owner = Ent::P(d);
                }
            }
            if let Some(&d) = company.get(&o.c) {
                o.c = d;
            }
        }
        for x in &mut self.roles {
            if let Some(&d) = person.get(&x.p) {
                x.p = d;
            }
            if let Some(&d) = company.get(&x.c) {
                x.c = d;
            }
        }
    }

    /// Another company of the same name elsewhere (`…贸易有限公司` in two cities), known without
    /// a credit code: the hard case a company link must not make. Not in `links.jsonl`.
    fn namesake(&self, r: &mut Rng, c: usize) -> Company {
        let di = r.below(self.districts.len());
        let d = &self.districts[di];
        Company {
            name: self.comps[c].name.clone(),
            code: String::new(),
            addr: World::new_addr(r, &d.region),
            phone: World::new_phone(r, d.area),
            founded: r.int(T_START - 3000, T_END - 400),
            status: "存续",
            status_date: None,
        }
    }

    /// A company as a subsidy roll or a court record keeps it: the name, no credit code, the
    /// address (mostly), the phone (often), the founding date (mostly).
    fn company_copy(&self, r: &mut Rng, c: usize) -> Company {
        let src = &self.comps[c];
        let keep = |r: &mut Rng, p: f64, s: &str| {
            if r.chance(p) {
                s.to_owned()
            } else {
                String::new()
            }
        };
        let addr = keep(r, 0.85, &src.addr);
        let phone = keep(r, 0.6, &src.phone);
        let founded = if r.chance(0.8) { src.founded } else { OPEN };
        Company {
            name: src.name.clone(),
            code: String::new(),
            addr,
            phone,
            founded,
            status: src.status,
            status_date: src.status_date,
        }
    }

    /// Gives nine payments in ten a period (the year paid; the rest leave the rules to fall
    /// back on 365 days), and every deregistered or revoked company without a date one after
    /// its last activity in the data, so that only the planted stories pay the dead.
    pub(crate) fn gen_periods_and_status_dates(&mut self, r: &mut Rng) {
        for s in &mut self.subsidies {
            if s.period.is_none() && r.chance(0.9) {
                s.period = Some(year_of(s.paid));
            }
        }
        let mut last: Vec<i32> = self.comps.iter().map(|c| c.founded).collect();
        let mut seen = |c: u32, d: i32| {
            let l = &mut last[c as usize];
            *l = (*l).max(d);
        };
        for b in &self.bids {
            seen(b.c, b.submitted);
        }
        for k in &self.contracts {
            seen(k.c, k.signed);
        }
        for s in &self.subsidies {
            if let Ent::C(c) = s.r {
                seen(c, s.paid);
            }
        }
        for (i, c) in self.comps.iter_mut().enumerate() {
            if c.status_date.is_none() && DEAD.contains(&c.status) {
                let lo = (last[i] + 1).max(c.founded + 365);
                c.status_date = Some(r.int(lo, lo.max(T_END) + 400));
            }
        }
    }

    fn pay(&mut self, r: &mut Rng, p: Pay, period: Option<i32>) -> u32 {
        let amount = match p.to {
            Ent::P(_) => r.cents(3000.0, 60_000.0),
            Ent::C(_) => r.cents(50_000.0, 900_000.0),
        };
        self.subsidies.push(Subsidy {
            a: p.a,
            r: p.to,
            amount,
            paid: p.paid,
            approver: p.approver,
            program: p.program,
            period,
        });
        (self.subsidies.len() - 1) as u32
    }

    /// Two distinct paying agencies (subsidy-weighted), if the data has two.
    fn two_payers(&self, r: &mut Rng) -> Option<(u32, u32)> {
        let a1 = self.ag_sw.sample(r) as u32;
        for _ in 0..100 {
            let a2 = self.ag_sw.sample(r) as u32;
            if a2 != a1 {
                return Some((a1, a2));
            }
        }
        None
    }

    /// A random adult alive on `d`.
    fn living_adult(&self, r: &mut Rng, d: i32) -> Option<u32> {
        (0..1000)
            .map(|_| r.below(self.n) as u32)
            .find(|&p| self.alive_adult(p, d))
    }

    /// A company founded long before `d` (so that no payment to it is a new company's).
    fn old_company(&mut self, r: &mut Rng, d: i32) -> u32 {
        let f = d - r.int(800, 3000);
        self.plain_company(r, f)
    }

    fn record_fraud(&mut self, kind: Kind, p: Pattern, official: u32, t: Ent, si: u32) {
        let mut path = vec![Tok::from(t), Tok::S(si)];
        if official != NONE {
            path.insert(0, Tok::P(official));
        }
        let f = Finding::new(p, official, t, RefId::Subsidy(si), path);
        self.truth.push(crate::truth::Truth { kind, f });
    }

    /// The same recipient (or two companies under one controller) paid by two agencies for
    /// one programme in one year. Decoys: December and January (two periods), the same
    /// agency twice, a controller who had sold the first company before it was paid.
    fn plant_double_dipping(&mut self, r: &mut Rng, k: usize, nd: usize) {
        for i in 0..k + 3 * nd {
            let variant = if i < k { None } else { Some((i - k) % 3) };
            let Some((a1, a2)) = self.two_payers(r) else {
                return;
            };
            let y = r.int(2013, 2023);
            let (d1, d2) = if variant == Some(0) {
                (
                    r.int(day(y, 12, 1), day(y, 12, 31)),
                    r.int(day(y + 1, 1, 1), day(y + 1, 1, 31)),
                )
            } else {
                let d1 = r.int(day(y, 1, 1), day(y, 11, 30));
                (d1, r.int(d1 + 1, day(y, 12, 31)))
            };
            let group = variant == Some(2) || (variant.is_none() && r.chance(0.3));
            let (first, second, program) = if group {
                let z = self.pick_ent(r);
                let f = d1 - r.int(800, 3000);
                let sold = if variant == Some(2) {
                    d1 - r.int(30, 300)
                } else {
                    OPEN
                };
                let x = self.add_company(r, f, false, None, None);
                let y2 = self.add_company(r, f, false, None, None);
                for (c, e) in [(y2, sold), (x, OPEN)] {
                    let share = r.int(5000, 10_000) as u32;
                    self.own.push(Own {
                        owner: Ent::P(z),
                        c,
                        share,
                        s: f,
                        e,
                    });
                }
                if sold != OPEN {
                    let buyer = self.pick_ent(r);
                    self.own.push(Own {
                        owner: Ent::P(buyer),
                        c: y2,
                        share: 10_000,
                        s: sold + 1,
                        e: OPEN,
                    });
                }
                (Ent::C(y2), Ent::C(x), r.pick(PROGRAMS_COMPANY))
            } else if r.chance(0.5) {
                let Some(p) = self.living_adult(r, d2) else {
                    continue;
                };
                (Ent::P(p), Ent::P(p), r.pick(PROGRAMS_PERSON))
            } else {
                let c = Ent::C(self.old_company(r, d1));
                (c, c, r.pick(PROGRAMS_COMPANY))
            };
            let a2 = if variant == Some(1) { a1 } else { a2 };
            let (p1, p2) = (Some(year_of(d1)), Some(year_of(d2)));
            let one = Pay {
                a: a1,
                to: first,
                paid: d1,
                program,
                approver: NONE,
            };
            self.pay(r, one, p1);
            let two = Pay {
                a: a2,
                to: second,
                paid: d2,
                program,
                approver: NONE,
            };
            let s2 = self.pay(r, two, p2);
            let kind = if variant.is_none() {
                Kind::Planted
            } else {
                Kind::Decoy
            };
            self.record_fraud(kind, Pattern::DoubleDipping, NONE, second, s2);
        }
    }

    /// A company paid before it was founded, its first subsidy within 180 days of founding,
    /// or paid after it was deregistered or revoked. Decoys: a first subsidy on day 181 to
    /// 500, a dead company paid before its status took effect.
    fn plant_shell(&mut self, r: &mut Rng, k: usize, nd: usize) {
        for i in 0..k + 2 * nd {
            let variant = if i < k { i % 3 } else { 3 + (i - k) % 2 };
            let a = self.ag_sw.sample(r) as u32;
            let d = r.int(T_START + 400, T_END - 30);
            let founded = match variant {
                0 => d - r.int(0, 180),
                1 => d + r.int(1, 200),
                _ => d - r.int(181, 500),
            };
            let c = match variant {
                0 | 1 | 3 => self.plain_company(r, founded),
                _ => {
                    let c = self.old_company(r, d);
                    let when = if variant == 2 {
                        d - r.int(0, 400)
                    } else {
                        d + r.int(1, 300)
                    };
                    let x = &mut self.comps[c as usize];
                    x.status = r.pick(DEAD);
                    x.status_date = Some(when);
                    c
                }
            };
            let program = r.pick(PROGRAMS_COMPANY);
            let pay = Pay {
                a,
                to: Ent::C(c),
                paid: d,
                program,
                approver: NONE,
            };
            let si = self.pay(r, pay, Some(year_of(d)));
            let kind = if variant < 3 {
                Kind::Planted
            } else {
                Kind::Decoy
            };
            self.record_fraud(kind, Pattern::ShellRecipient, NONE, Ent::C(c), si);
        }
    }

    /// Two companies paid the same programme in one year that share a legal representative,
    /// a phone or an address. Decoys: a legal representative who had left the first company
    /// before it was paid, a shared phone under two programmes.
    fn plant_split(&mut self, r: &mut Rng, k: usize, nd: usize) {
        for i in 0..k + 2 * nd {
            let variant = if i < k { i % 3 } else { 3 + (i - k) % 2 };
            let y = r.int(2013, 2024);
            let d1 = r.int(day(y, 1, 1), day(y, 11, 30));
            let d2 = r.int(d1, day(y, 12, 31));
            let f = d1 - r.int(800, 3000);
            let di = r.below(self.districts.len());
            let phone = (variant == 1 || variant == 4)
                .then(|| World::new_phone(r, self.districts[di].area));
            let addr = (variant == 2).then(|| World::new_addr(r, &self.districts[di].region));
            let mut pair = [0u32; 2];
            for c in &mut pair {
                *c = self.add_company(r, f, false, addr.clone(), phone.clone());
                let owner = self.pick_ent(r);
                self.own.push(Own {
                    owner: Ent::P(owner),
                    c: *c,
                    share: 10_000,
                    s: f,
                    e: OPEN,
                });
            }
            let z = self.pick_ent(r);
            for (j, &c) in pair.iter().enumerate() {
                let left = if variant == 3 && j == 0 {
                    d1 - r.int(30, 300)
                } else {
                    OPEN
                };
                let lr = if variant == 0 || variant == 3 {
                    z
                } else {
                    self.pick_ent(r)
                };
                self.roles.push(Role {
                    p: lr,
                    c,
                    role: RoleKind::LegalRep,
                    s: f,
                    e: left,
                });
                if left != OPEN {
                    let next = self.pick_ent(r);
                    self.roles.push(Role {
                        p: next,
                        c,
                        role: RoleKind::LegalRep,
                        s: left + 1,
                        e: OPEN,
                    });
                }
            }
            let p1 = r.pick(PROGRAMS_COMPANY);
            let p2 = if variant == 4 {
                loop {
                    let p = r.pick(PROGRAMS_COMPANY);
                    if p != p1 {
                        break p;
                    }
                }
            } else {
                p1
            };
            for (c, d, program) in [(pair[0], d1, p1), (pair[1], d2, p2)] {
                let a = self.ag_sw.sample(r) as u32;
                let pay = Pay {
                    a,
                    to: Ent::C(c),
                    paid: d,
                    program,
                    approver: NONE,
                };
                self.pay(r, pay, Some(y));
            }
            let kind = if variant < 3 {
                Kind::Planted
            } else {
                Kind::Decoy
            };
            let mut f = Finding::new(
                Pattern::SplitApplication,
                NONE,
                Ent::C(pair[0]),
                RefId::None,
                vec![Tok::C(pair[0]), Tok::C(pair[1])],
            );
            f.target2 = Some(Ent::C(pair[1]));
            self.truth.push(crate::truth::Truth { kind, f });
        }
    }

    /// An official approves a subsidy to a company run by someone who served beside them and
    /// has left public office. Decoys: the colleague still in office, a colleague whose post
    /// ended before the official's began.
    fn plant_colleague(&mut self, r: &mut Rng, k: usize, nd: usize) {
        let (mut n, want) = (0, k + 2 * nd);
        for _ in 0..2000 * want {
            if n >= want {
                break;
            }
            let variant = if n < k { 0 } else { 1 + (n - k) % 2 };
            let Some(p) = self.pick_position_for_colleague(r) else {
                break;
            };
            let d = r.int(p.s2 + 400, p.e2);
            let Some(c) = self.living_adult(r, d) else {
                continue;
            };
            if self.pos_by_person.contains_key(&c) || c == p.o {
                continue;
            }
            let (qs, qe) = match variant {
                0 => {
                    let qe = d - r.int(30, 300);
                    (qe - r.int(200, 2000), qe)
                }
                1 => (d - r.int(200, 2000), OPEN),
                _ => {
                    let qe = p.s - r.int(1, 300);
                    (qe - r.int(200, 2000), qe)
                }
            };
            if (qe < p.s && variant != 2) || qs > qe {
                continue;
            }
            self.pos.push(Position {
                o: c,
                a: p.a,
                title: "科员",
                s: qs,
                e: qe,
            });
            self.rebuild_pos_index();
            let layers = choose_w(r, &[(0usize, 50.0), (1, 30.0), (2, 20.0)]);
            let first_role = r.chance(0.25);
            let comps = self.chain_to(r, c, layers, d, first_role);
            let kc = comps[comps.len() - 1];
            let program = r.pick(PROGRAMS_COMPANY);
            let pay = Pay {
                a: p.a,
                to: Ent::C(kc),
                paid: d,
                program,
                approver: p.o,
            };
            let si = self.pay(r, pay, Some(year_of(d)));
            let kind = if variant == 0 {
                Kind::Planted
            } else {
                Kind::Decoy
            };
            self.record_fraud(kind, Pattern::ColleagueSubsidy, p.o, Ent::C(kc), si);
            n += 1;
        }
    }

    /// A position of at least two years inside the data window: (position, first day, last
    /// day of it inside the window).
    fn pick_position_for_colleague(&self, r: &mut Rng) -> Option<Tenure> {
        for _ in 0..10_000 {
            let p = self.pos.get(r.below(self.pos.len()))?;
            let (s2, e2) = (p.s.max(T_START + 200), p.e.min(T_END - 30));
            if e2 - s2 >= 730 {
                return Some(Tenure {
                    o: p.o,
                    a: p.a,
                    s: p.s,
                    s2,
                    e2,
                });
            }
        }
        None
    }
}
