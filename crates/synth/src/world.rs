//! The in-memory bundle and the generation of its background: people, families, agencies,
//! officials, companies, procurement, subsidies and the blacklist.

use crate::data::*;
use crate::util::*;
use crate::{Profile, SynthError};
use std::collections::{HashMap, HashSet};

/// A person or a company (owners, subsidy recipients, blacklist entries, declared subjects).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) enum Ent {
    P(u32),
    C(u32),
}

/// What `b` is to `a` in a relations row, in the order of [`qinglian_model::RELATIONS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Rel {
    Spouse,
    Parent,
    Child,
    Sibling,
    InLaw,
    Associate,
    Other,
}

impl Rel {
    /// The label in the files: the variant's entry in the model's vocabulary (same order).
    pub(crate) fn as_str(self) -> &'static str {
        qinglian_model::RELATIONS[self as usize]
    }
}

/// A company role, in the order of [`qinglian_model::ROLES`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RoleKind {
    LegalRep,
    Director,
    Supervisor,
    Manager,
    Employee,
}

impl RoleKind {
    /// The label in the files: the variant's entry in the model's vocabulary (same order).
    pub(crate) fn as_str(self) -> &'static str {
        qinglian_model::ROLES[self as usize]
    }
}

/// A tender role, in the order of [`qinglian_model::TENDER_ROLES`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TRole {
    Requester,
    Evaluator,
    Approver,
}

impl TRole {
    /// The label in the files: the variant's entry in the model's vocabulary (same order).
    pub(crate) fn as_str(self) -> &'static str {
        qinglian_model::TENDER_ROLES[self as usize]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AgKind {
    ProvinceGov,
    CityGov,
    DistrictGov,
    Bureau,
    Park,
    Town,
    Street,
}

pub(crate) struct Person {
    pub sur: u16,
    pub given: u32,
    pub male: bool,
    pub birth: i32,
    pub death: i32,
    /// 17-digit body of the resident ID; 0 when unknown.
    pub idn: u64,
}

pub(crate) struct Agency {
    pub name: String,
    pub parent: u32,
    pub region: String,
    pub kind: AgKind,
    pub tw: f64,
    pub sw: f64,
}

pub(crate) struct Position {
    pub o: u32,
    pub a: u32,
    pub title: &'static str,
    pub s: i32,
    pub e: i32,
}

pub(crate) struct Relation {
    pub a: u32,
    pub b: u32,
    pub t: Rel,
}

pub(crate) struct Company {
    pub name: String,
    pub code: String,
    pub addr: String,
    pub phone: String,
    pub founded: i32,
    pub status: &'static str,
    /// When a deregistered or revoked status took effect (`status_date`).
    pub status_date: Option<i32>,
}

pub(crate) struct Own {
    pub owner: Ent,
    pub c: u32,
    /// Share in hundredths of a percent.
    pub share: u32,
    pub s: i32,
    pub e: i32,
}

pub(crate) struct Role {
    pub p: u32,
    pub c: u32,
    pub role: RoleKind,
    pub s: i32,
    pub e: i32,
}

pub(crate) struct Tender {
    pub a: u32,
    pub project: u8,
    pub budget: i64,
    pub published: i32,
}

pub(crate) struct TenderOfficial {
    pub t: u32,
    pub p: u32,
    pub role: TRole,
}

pub(crate) struct Bid {
    pub t: u32,
    pub c: u32,
    pub amount: i64,
    pub submitted: i32,
    pub won: bool,
}

pub(crate) struct Contract {
    pub a: u32,
    pub c: u32,
    pub t: u32,
    pub amount: i64,
    pub signed: i32,
    pub approver: u32,
}

pub(crate) struct Subsidy {
    pub a: u32,
    pub r: Ent,
    pub amount: i64,
    pub paid: i32,
    pub approver: u32,
    pub program: &'static str,
    /// The year the payment is for (`period`); none for a tenth of the payments.
    pub period: Option<i32>,
}

pub(crate) struct Declaration {
    pub o: u32,
    pub subject: Ent,
    pub rel: &'static str,
}

pub(crate) struct Listing {
    pub ent: Ent,
    pub reason: &'static str,
    pub listed: i32,
    pub source: &'static str,
}

/// A place where companies register: division code, full region name, city, area code.
pub(crate) struct District {
    pub code: u32,
    pub region: String,
    pub city: &'static str,
    pub area: &'static str,
}

/// Rows grouped by a dense key: `of(k)` is the slice of values with key `k`.
pub(crate) struct Csr {
    ptr: Vec<u32>,
    val: Vec<u32>,
}

impl Csr {
    pub(crate) fn new(n: usize, pairs: &[(u32, u32)]) -> Csr {
        let mut ptr = vec![0u32; n + 1];
        for &(k, _) in pairs {
            ptr[k as usize + 1] += 1;
        }
        for i in 0..n {
            ptr[i + 1] += ptr[i];
        }
        let mut fill = ptr.clone();
        let mut val = vec![0u32; pairs.len()];
        for &(k, v) in pairs {
            let f = &mut fill[k as usize];
            val[*f as usize] = v;
            *f += 1;
        }
        Csr { ptr, val }
    }

    pub(crate) fn of(&self, k: u32) -> &[u32] {
        let k = k as usize;
        if k + 1 >= self.ptr.len() {
            return &[];
        }
        &self.val[self.ptr[k] as usize..self.ptr[k + 1] as usize]
    }
}

/// Given names, and how to draw them by sex and era.
pub(crate) struct NameBook {
    pub given: Vec<String>,
    /// Per sex (0 female, 1 male) and era: the common names (indices) and their weights.
    common: Vec<(Vec<u32>, Weighted)>,
    /// Per sex: the long tail.
    tail: Vec<(Vec<u32>, Weighted)>,
}

impl NameBook {
    fn new(r: &mut Rng) -> NameBook {
        let mut given = Vec::new();
        let mut common = Vec::new();
        let mut tail = Vec::new();
        for male in [false, true] {
            let chars: Vec<char> = if male { MALE_CHARS } else { FEMALE_CHARS }
                .chars()
                .collect();
            let mut pairs: Vec<String> = Vec::with_capacity(chars.len() * chars.len());
            for &a in &chars {
                for &b in &chars {
                    if a != b {
                        pairs.push([a, b].iter().collect());
                    }
                }
            }
            r.shuffle(&mut pairs);
            pairs.truncate(4000);
            pairs.extend(chars.iter().map(char::to_string));
            let start = given.len() as u32;
            let n = pairs.len();
            given.extend(pairs);
            tail.push(((start..start + n as u32).collect(), Weighted::zipf(n, 0.5)));
            for list in if male { COMMON_MALE } else { COMMON_FEMALE } {
                let start = given.len() as u32;
                let names: Vec<String> = list.split_whitespace().map(str::to_owned).collect();
                let n = names.len();
                given.extend(names);
                common.push(((start..start + n as u32).collect(), Weighted::zipf(n, 0.6)));
            }
        }
        NameBook {
            given,
            common,
            tail,
        }
    }

    fn draw(&self, r: &mut Rng, male: bool, era: usize) -> u32 {
        let sex = usize::from(male);
        let (idx, w) = if r.chance(0.35) {
            &self.common[sex * 3 + era.min(2)]
        } else {
            &self.tail[sex]
        };
        idx[w.sample(r)]
    }
}

/// How much of everything a profile generates.
pub(crate) struct Sizes {
    pub officials: usize,
    pub companies: usize,
    pub tenders: usize,
    pub subsidies: usize,
    /// Planted findings per pattern.
    pub k: usize,
    /// Decoys per decoy type.
    pub decoys: usize,
}

impl Sizes {
    fn of(profile: Profile, n: usize) -> Sizes {
        match profile {
            Profile::Province => {
                let k = ((50.0 * n as f64 / 1e6).round() as usize).max(8);
                Sizes {
                    officials: (n as f64 * 0.05).round() as usize,
                    companies: (n / 10).max(300),
                    tenders: (n / 10).max(300),
                    subsidies: (n / 20).max(150),
                    k,
                    decoys: (k / 2).max(4),
                }
            }
            Profile::Zone => {
                let k = (n / 100).max(4);
                Sizes {
                    officials: ((n as f64 * 0.05).round() as usize).max(12),
                    companies: (n / 4).max(60),
                    tenders: (n / 8).max(40),
                    subsidies: (n / 10).max(30),
                    k,
                    decoys: (k / 2).max(2),
                }
            }
        }
    }
}

pub(crate) struct World {
    pub profile: Profile,
    pub n: usize,
    pub sizes: Sizes,
    pub names: NameBook,
    pub people: Vec<Person>,
    pub rel: Vec<Relation>,
    pub agencies: Vec<Agency>,
    pub districts: Vec<District>,
    pub pos: Vec<Position>,
    pub comps: Vec<Company>,
    pub own: Vec<Own>,
    pub roles: Vec<Role>,
    pub tenders: Vec<Tender>,
    pub tender_off: Vec<TenderOfficial>,
    pub bids: Vec<Bid>,
    pub contracts: Vec<Contract>,
    pub subsidies: Vec<Subsidy>,
    pub decl: Vec<Declaration>,
    pub blacklist: Vec<Listing>,
    /// Planted findings and decoys.
    pub truth: Vec<crate::truth::Truth>,
    /// (entity, its second record): people and companies as a register without identifiers
    /// holds them (`links.jsonl`).
    pub dups: Vec<(Ent, Ent)>,
    /// (official, company) pairs planted as undeclared interests.
    pub undeclared: HashSet<(u32, u32)>,
    // ---- generation helpers
    /// Spouse of each person (NONE when unmarried).
    pub spouse: Vec<u32>,
    /// The couple whose child each person is (NONE when unknown).
    pub pc: Vec<u32>,
    /// Couples (husband, wife).
    pub couples: Vec<(u32, u32)>,
    /// Children of each couple.
    pub kids: Csr,
    /// Undirected family adjacency (spouse, parent, child, sibling, in_law rows).
    pub fam: Csr,
    pub officials: Vec<u32>,
    pub pos_by_person: HashMap<u32, Vec<u32>>,
    pub pos_by_agency: Vec<Vec<u32>>,
    pub ag_tw: Weighted,
    pub ag_sw: Weighted,
    pub pool: Vec<u32>,
    pub pool_w: Weighted,
    pub adults: Vec<u32>,
    pub ops: Vec<u32>,
    pub ops_w: Weighted,
    pub orgs: HashSet<u32>,
    pub idns: HashSet<u64>,
}

impl World {
    /// Generates the background (everything but the planted stories).
    pub(crate) fn generate(profile: Profile, n: usize, seed: u64) -> Result<World, SynthError> {
        let mut names_rng = Rng::new(seed, 1);
        let mut w = World {
            profile,
            n,
            sizes: Sizes::of(profile, n),
            names: NameBook::new(&mut names_rng),
            people: Vec::with_capacity(n),
            rel: Vec::new(),
            agencies: Vec::new(),
            districts: Vec::new(),
            pos: Vec::new(),
            comps: Vec::new(),
            own: Vec::new(),
            roles: Vec::new(),
            tenders: Vec::new(),
            tender_off: Vec::new(),
            bids: Vec::new(),
            contracts: Vec::new(),
            subsidies: Vec::new(),
            decl: Vec::new(),
            blacklist: Vec::new(),
            truth: Vec::new(),
            dups: Vec::new(),
            undeclared: HashSet::new(),
            spouse: Vec::new(),
            pc: Vec::new(),
            couples: Vec::new(),
            kids: Csr::new(0, &[]),
            fam: Csr::new(0, &[]),
            officials: Vec::new(),
            pos_by_person: HashMap::new(),
            pos_by_agency: Vec::new(),
            ag_tw: Weighted::new([]),
            ag_sw: Weighted::new([]),
            pool: Vec::new(),
            pool_w: Weighted::new([]),
            adults: Vec::new(),
            ops: Vec::new(),
            ops_w: Weighted::new([]),
            orgs: HashSet::new(),
            idns: HashSet::with_capacity(n),
        };
        w.gen_agencies(&mut Rng::new(seed, 2));
        w.gen_people(&mut Rng::new(seed, 3), &mut names_rng);
        w.gen_families(&mut Rng::new(seed, 4));
        w.gen_positions(&mut Rng::new(seed, 5));
        if w.officials.is_empty() {
            return Err(SynthError::Options(format!(
                "{n} people are too few to have officials"
            )));
        }
        w.gen_companies(&mut Rng::new(seed, 6));
        w.gen_procurement(&mut Rng::new(seed, 7));
        w.gen_blacklist(&mut Rng::new(seed, 8));
        Ok(w)
    }

    // ------------------------------------------------------------ people

    fn gen_people(&mut self, r: &mut Rng, names_rng: &mut Rng) {
        let spans: [(i32, i32, f64); 9] = [
            (1930, 1939, 0.25),
            (1940, 1949, 0.5),
            (1950, 1961, 0.9),
            (1962, 1976, 1.45),
            (1977, 1984, 1.1),
            (1985, 1992, 1.35),
            (1993, 2007, 0.95),
            (2008, 2016, 1.0),
            (2017, 2024, 0.65),
        ];
        let years: Vec<(i32, f64)> = spans
            .iter()
            .flat_map(|&(a, b, v)| (a..=b).map(move |y| (y, v)))
            .collect();
        let year_w = Weighted::new(years.iter().map(|x| x.1));
        let sur_w = Weighted::new(SURNAMES.iter().map(|x| x.1));
        let local: Vec<u32> = CITIES
            .iter()
            .flat_map(|c| c.2.iter().map(|d| d.0))
            .collect();
        let hangzhou: Vec<u32> = CITIES[0].2.iter().map(|d| d.0).collect();
        let d2008 = day(2008, 1, 1);
        for _ in 0..self.n {
            let y = years[year_w.sample(r)].0;
            let y0 = day(y, 1, 1);
            let birth = y0 + r.below((day(y + 1, 1, 1) - y0) as usize) as i32;
            let male = r.chance(0.51);
            let age = f64::from(T_END - birth) / YEAR;
            let pd = if age > 85.0 {
                0.45
            } else if age > 75.0 {
                0.18
            } else if age > 65.0 {
                0.06
            } else if age > 50.0 {
                0.015
            } else {
                0.003
            };
            let lo = (birth + 365).max(d2008);
            let death = if r.chance(pd) && lo < T_END {
                lo + (r.unit() * f64::from((T_END - lo).max(1))) as i32
            } else {
                OPEN
            };
            let region = match self.profile {
                Profile::Province => {
                    if r.chance(0.85) {
                        r.pick(&local)
                    } else {
                        r.pick(OTHER_REGIONS)
                    }
                }
                Profile::Zone => {
                    let x = r.unit();
                    if x < 0.6 {
                        ZONE_DISTRICT.0
                    } else if x < 0.75 {
                        r.pick(&hangzhou)
                    } else {
                        r.pick(OTHER_REGIONS)
                    }
                }
            };
            let idn = self.new_idn(r, region, birth, male);
            let idn = if r.chance(0.02) { 0 } else { idn };
            let era = if birth < day(1965, 1, 1) {
                0
            } else if birth < day(1990, 1, 1) {
                1
            } else {
                2
            };
            let sur = sur_w.sample(r) as u16;
            let given = self.names.draw(names_rng, male, era);
            self.people.push(Person {
                sur,
                given,
                male,
                birth,
                death,
                idn,
            });
        }
    }

    /// A fresh 17-digit resident ID body: region, birth date, sequence (odd for men).
    fn new_idn(&mut self, r: &mut Rng, region: u32, birth: i32, male: bool) -> u64 {
        let (y, m, d) = civil(birth);
        let ymd = u64::from(y.max(0) as u32) * 10_000 + u64::from(m) * 100 + u64::from(d);
        for _ in 0..200 {
            let seq = (r.below(499) as u64 + 1) * 2 - u64::from(male);
            let body = u64::from(region) * 100_000_000_000 + ymd * 1000 + seq;
            if self.idns.insert(body) {
                return body;
            }
        }
        0
    }

    pub(crate) fn name_of(&self, p: u32) -> (u16, u32) {
        let x = &self.people[p as usize];
        (x.sur, x.given)
    }

    // ------------------------------------------------------------ families

    fn gen_families(&mut self, r: &mut Rng) {
        let n = self.n;
        let mut men = Vec::new();
        let mut women = Vec::new();
        for (i, p) in self.people.iter().enumerate() {
            let age = f64::from(T_END - p.birth) / YEAR;
            let pm = if age >= 30.0 {
                0.85
            } else if age >= 22.0 {
                0.4
            } else {
                0.0
            };
            if r.chance(pm) {
                if p.male {
                    men.push(i as u32);
                } else {
                    women.push(i as u32);
                }
            }
        }
        r.shuffle(&mut men);
        r.shuffle(&mut women);
        let m = men.len().min(women.len());
        men.truncate(m);
        women.truncate(m);
        let mut mk: Vec<(f64, u32)> = men
            .iter()
            .map(|&x| {
                (
                    f64::from(self.people[x as usize].birth) + 730.0 + 700.0 * r.normal(),
                    x,
                )
            })
            .collect();
        let mut wk: Vec<(f64, u32)> = women
            .iter()
            .map(|&x| {
                (
                    f64::from(self.people[x as usize].birth) + 700.0 * r.normal(),
                    x,
                )
            })
            .collect();
        mk.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        wk.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let couples: Vec<(u32, u32)> = mk.iter().zip(&wk).map(|(a, b)| (a.1, b.1)).collect();
        let mut spouse = vec![NONE; n];
        for &(h, w) in &couples {
            spouse[h as usize] = w;
            spouse[w as usize] = h;
        }
        // child slots: a number by the mother's era, each with a target birth year
        let (d1950, d1965, d1985) = (day(1950, 1, 1), day(1965, 1, 1), day(1985, 1, 1));
        let mut slots: Vec<(i32, u32)> = Vec::new();
        for (ci, &(_, w)) in couples.iter().enumerate() {
            let wb = self.people[w as usize].birth;
            let cap = if wb < d1950 {
                r.int(2, 5)
            } else if wb < d1965 {
                r.int(1, 3)
            } else if wb < d1985 {
                r.pick(&[1, 1, 1, 2])
            } else {
                r.pick(&[1, 1, 2, 2, 3])
            };
            for _ in 0..cap {
                let t = wb + (r.uniform(21.0, 36.0) * YEAR) as i32;
                slots.push((year_of(t), ci as u32));
            }
        }
        let mut kids: Vec<(i32, u32)> = (0..n as u32)
            .filter(|_| r.chance(0.85))
            .map(|i| (year_of(self.people[i as usize].birth), i))
            .collect();
        r.shuffle(&mut slots);
        r.shuffle(&mut kids);
        slots.sort_by_key(|x| x.0);
        kids.sort_by_key(|x| x.0);
        let mut pc = vec![NONE; n];
        let (mut i, mut j) = (0, 0);
        while i < slots.len() && j < kids.len() {
            let (ys, yk) = (slots[i].0, kids[j].0);
            if ys < yk {
                i += 1;
            } else if yk < ys {
                j += 1;
            } else {
                pc[kids[j].1 as usize] = slots[i].1;
                i += 1;
                j += 1;
            }
        }
        for x in 0..n {
            let c = pc[x];
            if c == NONE {
                continue;
            }
            let (h, w) = couples[c as usize];
            let b = self.people[x].birth;
            let bad = self.people[h as usize].birth > b - 18 * 365
                || self.people[w as usize].birth > b - 17 * 365
                || h as usize == x
                || w as usize == x
                || spouse[x] == h
                || spouse[x] == w;
            if bad {
                pc[x] = NONE;
            }
        }
        for &(h, w) in &couples {
            if pc[h as usize] != NONE && pc[h as usize] == pc[w as usize] {
                pc[w as usize] = NONE;
            }
        }
        let mut rel = Vec::new();
        for &(h, w) in &couples {
            let (a, b) = if r.chance(0.5) { (w, h) } else { (h, w) };
            rel.push(Relation {
                a,
                b,
                t: Rel::Spouse,
            });
        }
        let kid_pairs: Vec<(u32, u32)> = (0..n as u32)
            .filter(|&x| pc[x as usize] != NONE)
            .map(|x| (pc[x as usize], x))
            .collect();
        let kids_of = Csr::new(couples.len(), &kid_pairs);
        for (ci, &(h, w)) in couples.iter().enumerate() {
            let ks = kids_of.of(ci as u32);
            for &k in ks {
                for par in [h, w] {
                    if r.chance(0.5) {
                        rel.push(Relation {
                            a: k,
                            b: par,
                            t: Rel::Parent,
                        });
                    } else {
                        rel.push(Relation {
                            a: par,
                            b: k,
                            t: Rel::Child,
                        });
                    }
                }
            }
            for x in 0..ks.len() {
                for y in x + 1..ks.len() {
                    rel.push(Relation {
                        a: ks[x],
                        b: ks[y],
                        t: Rel::Sibling,
                    });
                }
            }
        }
        // in-laws: a spouse's parents (40 % of the spouses whose parents are known)
        for &(h, w) in &couples {
            for (x, y) in [(h, w), (w, h)] {
                let c = pc[y as usize];
                if c != NONE && r.chance(0.4) {
                    let (ph, pw) = couples[c as usize];
                    for par in [ph, pw] {
                        rel.push(Relation {
                            a: x,
                            b: par,
                            t: Rel::InLaw,
                        });
                    }
                }
            }
        }
        let adults: Vec<u32> = (0..n as u32)
            .filter(|&i| f64::from(T_END - self.people[i as usize].birth) / YEAR >= 22.0)
            .collect();
        if adults.len() >= 2 {
            for (t, frac) in [(Rel::Associate, 0.04), (Rel::Other, 0.01)] {
                for _ in 0..(frac * n as f64) as usize {
                    let a = r.pick(&adults);
                    let b = r.pick(&adults);
                    if a != b {
                        rel.push(Relation { a, b, t });
                    }
                }
            }
        }
        self.rel = rel;
        self.spouse = spouse;
        self.pc = pc;
        self.couples = couples;
        self.kids = kids_of;
        self.fam = family_csr(n, &self.rel);
    }

    /// Family members one hop from `x`.
    pub(crate) fn fam(&self, x: u32) -> &[u32] {
        self.fam.of(x)
    }

    // ------------------------------------------------------------ agencies

    fn gen_agencies(&mut self, r: &mut Rng) {
        let mut rows: Vec<Agency> = Vec::new();
        let ag = |name: String, parent: u32, region: &str, kind: AgKind, tw: f64, sw: f64| Agency {
            name,
            parent,
            region: region.to_owned(),
            kind,
            tw,
            sw,
        };
        match self.profile {
            Profile::Zone => {
                let (code, dname) = ZONE_DISTRICT;
                let region = format!("浙江省杭州市{dname}");
                rows.push(ag(
                    format!("杭州市{dname}人民政府"),
                    NONE,
                    &region,
                    AgKind::DistrictGov,
                    0.5,
                    0.3,
                ));
                rows.push(ag(
                    format!("{ZONE_NAME}管理委员会"),
                    0,
                    &region,
                    AgKind::Park,
                    2.0,
                    1.0,
                ));
                for &(b, tw, sw, street) in ZONE_BUREAUS {
                    let name = if street {
                        format!("{dname}{b}")
                    } else {
                        format!("{ZONE_NAME}{b}")
                    };
                    let kind = if street {
                        AgKind::Street
                    } else {
                        AgKind::Bureau
                    };
                    rows.push(ag(name, 1, &region, kind, tw, sw));
                }
                self.districts.push(District {
                    code,
                    region,
                    city: "杭州市",
                    area: "0571",
                });
            }
            Profile::Province => {
                let target = (self.n / 500).max(30);
                let prov = "浙江省";
                rows.push(ag(
                    "浙江省人民政府".into(),
                    NONE,
                    prov,
                    AgKind::ProvinceGov,
                    0.5,
                    0.2,
                ));
                for &(stem, tw, sw, _) in DEPTS {
                    let suf = match stem {
                        "发展和改革" | "卫生健康" => "委员会",
                        "市场监督管理" | "综合行政执法" => "局",
                        _ => "厅",
                    };
                    rows.push(ag(
                        format!("{prov}{stem}{suf}"),
                        0,
                        prov,
                        AgKind::Bureau,
                        tw,
                        sw,
                    ));
                }
                let mut towns = HashSet::new();
                'cities: for &(city, area, dists) in CITIES {
                    if rows.len() >= target {
                        break;
                    }
                    let creg = format!("{prov}{city}");
                    let cg = rows.len() as u32;
                    rows.push(ag(
                        format!("{city}人民政府"),
                        0,
                        &creg,
                        AgKind::CityGov,
                        0.5,
                        0.2,
                    ));
                    for &(stem, tw, sw, _) in DEPTS {
                        let suf = if matches!(stem, "发展和改革" | "卫生健康") {
                            "委员会"
                        } else {
                            "局"
                        };
                        rows.push(ag(
                            format!("{city}{stem}{suf}"),
                            cg,
                            &creg,
                            AgKind::Bureau,
                            tw,
                            sw,
                        ));
                    }
                    // companies register in every division of the cities covered
                    for &(code, dname) in dists {
                        self.districts.push(District {
                            code,
                            region: format!("{creg}{dname}"),
                            city,
                            area,
                        });
                    }
                    for &(_, dname) in dists {
                        if rows.len() >= target {
                            break 'cities;
                        }
                        let reg = format!("{creg}{dname}");
                        let dg = rows.len() as u32;
                        let gov = if dname.ends_with('区') {
                            format!("{city}{dname}人民政府")
                        } else {
                            format!("{dname}人民政府")
                        };
                        rows.push(ag(gov, cg, &reg, AgKind::DistrictGov, 0.5, 0.3));
                        for &(stem, tw, sw, at_district) in DEPTS {
                            if at_district {
                                let suf = if stem == "卫生健康" {
                                    "委员会"
                                } else {
                                    "局"
                                };
                                rows.push(ag(
                                    format!("{dname}{stem}{suf}"),
                                    dg,
                                    &reg,
                                    AgKind::Bureau,
                                    tw,
                                    sw,
                                ));
                            }
                        }
                        if r.chance(0.5) {
                            let stem: String = {
                                let mut c: Vec<char> = dname.chars().collect();
                                c.pop();
                                c.into_iter().collect()
                            };
                            rows.push(ag(
                                format!("{stem}{}管理委员会", r.pick(PARK_KINDS)),
                                dg,
                                &reg,
                                AgKind::Park,
                                3.0,
                                1.0,
                            ));
                        }
                        let syl: Vec<char> = SYL.chars().collect();
                        for _ in 0..r.int(5, 10) {
                            let mut t = String::new();
                            for _ in 0..1000 {
                                t = [r.pick(&syl), r.pick(&syl)].iter().collect();
                                if towns.insert(t.clone()) {
                                    break;
                                }
                            }
                            if r.chance(0.6) {
                                rows.push(ag(
                                    format!("{dname}{t}镇人民政府"),
                                    dg,
                                    &reg,
                                    AgKind::Town,
                                    1.5,
                                    2.0,
                                ));
                            } else {
                                rows.push(ag(
                                    format!("{dname}{t}街道办事处"),
                                    dg,
                                    &reg,
                                    AgKind::Street,
                                    1.2,
                                    1.5,
                                ));
                            }
                        }
                    }
                }
                rows.truncate(target);
                if self.districts.is_empty() {
                    self.districts.push(District {
                        code: 330102,
                        region: "浙江省杭州市上城区".into(),
                        city: "杭州市",
                        area: "0571",
                    });
                }
            }
        }
        self.ag_tw = Weighted::new(rows.iter().map(|a| a.tw));
        self.ag_sw = Weighted::new(rows.iter().map(|a| a.sw));
        self.agencies = rows;
    }

    fn title_for(&self, r: &mut Rng, a: u32) -> &'static str {
        let t = match self.agencies[a as usize].kind {
            AgKind::ProvinceGov => TITLES_PROVINCE_GOV,
            AgKind::CityGov => TITLES_CITY_GOV,
            AgKind::DistrictGov => TITLES_GOV,
            AgKind::Bureau => TITLES_BUREAU,
            AgKind::Park => TITLES_PARK,
            AgKind::Town => TITLES_TOWN,
            AgKind::Street => TITLES_STREET,
        };
        choose_w(r, t)
    }

    // ------------------------------------------------------------ officials

    fn gen_positions(&mut self, r: &mut Rng) {
        let (lo_b, hi_b) = (day(1952, 1, 1), day(1996, 12, 31));
        let mut elig: Vec<u32> = (0..self.n as u32)
            .filter(|&i| {
                let p = &self.people[i as usize];
                p.death == OPEN && p.birth >= lo_b && p.birth <= hi_b
            })
            .collect();
        r.shuffle(&mut elig);
        elig.truncate(self.sizes.officials);
        elig.sort_unstable();
        let na = self.agencies.len();
        let first_day = match self.profile {
            Profile::Province => day(2003, 1, 1),
            Profile::Zone => day(2007, 1, 1),
        };
        let mut pos = Vec::new();
        for &o in &elig {
            let b = self.people[o as usize].birth;
            let retire = b + (60.0 * YEAR) as i32;
            let lo = (b + (24.0 * YEAR) as i32).max(first_day);
            let hi = (b + (56.0 * YEAR) as i32).min(day(2023, 6, 30));
            if hi <= lo {
                continue;
            }
            let mut s = r.int(lo, hi);
            let mut a = r.below(na) as u32;
            let n_pos = choose_w(r, &[(1, 45.0), (2, 35.0), (3, 20.0)]);
            for _ in 0..n_pos {
                let e = (s + r.int(730, 2900)).min(retire);
                let end = if e <= T_END { e } else { OPEN };
                let title = self.title_for(r, a);
                pos.push(Position {
                    o,
                    a,
                    title,
                    s,
                    e: end,
                });
                if end == OPEN {
                    break;
                }
                s = e + r.int(1, 90);
                if s > T_END - 200 || s >= retire {
                    break;
                }
                let x = r.unit();
                if x < 0.5 {
                    // promoted in place
                } else if x < 0.8 {
                    let par = self.agencies[a as usize].parent;
                    let lo = (a as usize).saturating_sub(25);
                    let hi = (a as usize + 25).min(na);
                    let sibs: Vec<u32> = (lo..hi)
                        .filter(|&i| self.agencies[i].parent == par)
                        .map(|i| i as u32)
                        .collect();
                    a = if sibs.is_empty() {
                        r.below(na) as u32
                    } else {
                        r.pick(&sibs)
                    };
                } else {
                    a = r.below(na) as u32;
                }
            }
        }
        self.pos = pos;
        self.rebuild_pos_index();
    }

    pub(crate) fn rebuild_pos_index(&mut self) {
        let mut by_p: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut by_a = vec![Vec::new(); self.agencies.len()];
        for (i, p) in self.pos.iter().enumerate() {
            by_p.entry(p.o).or_default().push(i as u32);
            by_a[p.a as usize].push(i as u32);
        }
        let mut offs: Vec<u32> = by_p.keys().copied().collect();
        offs.sort_unstable();
        self.officials = offs;
        self.pos_by_person = by_p;
        self.pos_by_agency = by_a;
    }

    /// Officials holding a position at `a` on day `d`, in position order.
    pub(crate) fn in_office(&self, a: u32, d: i32) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for &i in &self.pos_by_agency[a as usize] {
            let p = &self.pos[i as usize];
            if p.s <= d && d <= p.e && !out.contains(&p.o) {
                out.push(p.o);
            }
        }
        out
    }

    // ------------------------------------------------------------ companies

    fn company_name(&self, r: &mut Rng, city: &str, holding: bool) -> String {
        let zh: Vec<char> = ZIHAO.chars().collect();
        let z: String = [r.pick(&zh), r.pick(&zh)].iter().collect();
        let pre = if r.chance(0.85) {
            city.trim_end_matches('市').to_owned()
        } else {
            "浙江".to_owned()
        };
        if holding {
            format!("{pre}{z}{}", r.pick(HOLDING_SUFFIX))
        } else {
            format!("{pre}{z}{}{}", r.pick(INDUSTRIES), choose_w(r, LEGAL_FORMS))
        }
    }

    pub(crate) fn new_addr(r: &mut Rng, region: &str) -> String {
        let mut s = format!(
            "{region}{}{}{}号",
            r.pick(ROADS),
            r.pick(ROAD_KINDS),
            r.int(1, 999)
        );
        if r.chance(0.4) {
            s.push_str(&format!(
                "{}幢{}{:02}室",
                r.int(1, 20),
                r.int(1, 30),
                r.int(1, 20)
            ));
        }
        s
    }

    pub(crate) fn new_phone(r: &mut Rng, area: &str) -> String {
        if r.chance(0.6) {
            format!(
                "1{}{:09}",
                r.pick(&[3, 5, 7, 8, 9, 5, 3, 8, 6, 4]),
                r.int(0, 999_999_999)
            )
        } else {
            format!("{area}-{}{:07}", r.int(2, 8), r.int(0, 9_999_999))
        }
    }

    /// Adds a company registered in a random district; `addr` / `phone` override the drawn ones.
    pub(crate) fn add_company(
        &mut self,
        r: &mut Rng,
        founded: i32,
        holding: bool,
        addr: Option<String>,
        phone: Option<String>,
    ) -> u32 {
        let di = r.below(self.districts.len());
        let (code, city, area) = {
            let d = &self.districts[di];
            (d.code, d.city, d.area)
        };
        let mut org = 0;
        for _ in 0..10_000 {
            org = r.int(10_000_000, 99_999_999) as u32;
            if self.orgs.insert(org) {
                break;
            }
        }
        let name = self.company_name(r, city, holding);
        let addr = addr.unwrap_or_else(|| World::new_addr(r, &self.districts[di].region));
        let phone = phone.unwrap_or_else(|| World::new_phone(r, area));
        let status = if founded > T_END - 400 {
            "存续"
        } else {
            choose_w(r, STATUSES)
        };
        self.comps.push(Company {
            name,
            code: credit_code(code, org),
            addr,
            phone,
            founded,
            status,
            status_date: None,
        });
        (self.comps.len() - 1) as u32
    }

    /// An entrepreneur (Zipf-distributed activity).
    pub(crate) fn pick_ent(&self, r: &mut Rng) -> u32 {
        self.pool[self.pool_w.sample(r)]
    }

    /// An operating company (Zipf-distributed popularity).
    pub(crate) fn pick_op(&self, r: &mut Rng) -> u32 {
        self.ops[self.ops_w.sample(r)]
    }

    fn gen_companies(&mut self, r: &mut Rng) {
        let cn = self.sizes.companies;
        let hn = (0.08 * cn as f64) as usize;
        let n_cl = (cn / 1000).max(5);
        let clusters: Vec<String> = (0..n_cl)
            .map(|_| {
                let d = r.below(self.districts.len());
                format!(
                    "{}{}楼",
                    World::new_addr(r, &self.districts[d].region),
                    r.int(1, 9)
                )
            })
            .collect();
        let agent_phones: Vec<String> = (0..(cn / 1500).max(5))
            .map(|_| {
                let d = r.below(self.districts.len());
                World::new_phone(r, self.districts[d].area)
            })
            .collect();
        let mut is_hold = vec![false; cn];
        {
            let mut idx: Vec<usize> = (0..cn).collect();
            r.shuffle(&mut idx);
            for &i in &idx[..hn] {
                is_hold[i] = true;
            }
        }
        // holding levels: level 0 owned by people, level L > 0 partly by a level L-1 holding
        let mut level = vec![0u8; cn];
        let mut by_level: [Vec<u32>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for i in 0..cn {
            if is_hold[i] {
                let l = choose_w(r, &[(0u8, 60.0), (1, 30.0), (2, 10.0)]);
                level[i] = l;
                by_level[l as usize].push(i as u32);
            }
        }
        let all_holds: Vec<u32> = (0..cn as u32).filter(|&i| is_hold[i as usize]).collect();
        let hold_w = Weighted::zipf(all_holds.len(), 0.5);
        let (d1995, d1998, d2011, d2012, d2020, d2023) = (
            day(1995, 1, 1),
            day(1998, 1, 1),
            day(2011, 12, 31),
            day(2012, 1, 1),
            day(2020, 12, 31),
            day(2023, 6, 30),
        );
        for &h in &is_hold {
            let f = if h {
                r.int(d1998, d2020)
            } else if r.chance(0.7) {
                r.int(d1995, d2011)
            } else {
                r.int(d2012, d2023)
            };
            let addr = if r.chance(0.03) {
                Some(r.pick_str(&clusters))
            } else {
                None
            };
            let phone = if r.chance(0.03) {
                Some(r.pick_str(&agent_phones))
            } else if r.chance(0.08) {
                Some(String::new())
            } else {
                None
            };
            self.add_company(r, f, h, addr, phone);
        }
        // entrepreneurs: living adults, Zipf activity
        let (b_lo, b_hi) = (day(1940, 1, 1), day(1998, 1, 1));
        let mut cand: Vec<u32> = (0..self.n as u32)
            .filter(|&i| {
                let p = &self.people[i as usize];
                p.birth >= b_lo && p.birth <= b_hi && p.death == OPEN
            })
            .collect();
        r.shuffle(&mut cand);
        match self.profile {
            Profile::Province => cand.truncate(((0.15 * self.n as f64) as usize).max(20)),
            Profile::Zone => {
                // a few hundred people are nearly all within two family hops of some
                // official; the zone's entrepreneurs come from outside those circles, so
                // that the planted conflicts stand out in the demo
                let mut near: HashSet<u32> = HashSet::new();
                for &o in &self.officials {
                    near.insert(o);
                    for &m in self.fam(o) {
                        near.insert(m);
                        near.extend(self.fam(m).iter().copied());
                    }
                }
                let far: Vec<u32> = cand.iter().copied().filter(|x| !near.contains(x)).collect();
                if far.len() >= 30 {
                    cand = far;
                }
            }
        }
        let activity = match self.profile {
            Profile::Province => 0.3,
            Profile::Zone => 0.0,
        };
        self.pool_w = Weighted::zipf(cand.len(), activity);
        self.pool = cand;
        let a2000 = day(2000, 1, 1);
        self.adults = (0..self.n as u32)
            .filter(|&i| {
                let p = &self.people[i as usize];
                p.birth <= a2000 && p.death == OPEN
            })
            .collect();
        // a zone's few hundred people hold fewer seats each than a province's entrepreneurs
        let zone = self.profile == Profile::Zone;
        let hold_p = if zone { 0.05 } else { 0.15 };
        let n_owners: &[(usize, f64)] = if zone {
            &[(1, 75.0), (2, 20.0), (3, 5.0)]
        } else {
            &[(1, 50.0), (2, 33.0), (3, 17.0)]
        };
        let lr_owner = if zone { 0.9 } else { 0.7 };
        let directors = if zone {
            [70.0, 30.0, 0.0]
        } else {
            [40.0, 40.0, 20.0]
        };
        let role_owner = if zone { 0.6 } else { 0.3 };
        let mut own = Vec::new();
        let mut roles = Vec::new();
        for c in 0..cn {
            let f = self.comps[c].founded;
            let k = choose_w(r, n_owners);
            let mut owners: Vec<Ent> = Vec::new();
            for _ in 0..k {
                let o = if is_hold[c] {
                    let l = level[c] as usize;
                    if l > 0 && !by_level[l - 1].is_empty() && r.chance(0.5) {
                        Ent::C(r.pick(&by_level[l - 1]))
                    } else {
                        Ent::P(self.pick_ent(r))
                    }
                } else if !all_holds.is_empty() && r.chance(hold_p) {
                    Ent::C(all_holds[hold_w.sample(r)])
                } else {
                    Ent::P(self.pick_ent(r))
                };
                if !owners.contains(&o) {
                    owners.push(o);
                }
            }
            let shares = split_shares(r, owners.len());
            let persons: Vec<u32> = owners
                .iter()
                .filter_map(|o| match o {
                    Ent::P(p) => Some(*p),
                    Ent::C(_) => None,
                })
                .collect();
            for (&o, &sh) in owners.iter().zip(&shares) {
                let st = match o {
                    Ent::P(p) => f.max(self.people[p as usize].birth + 20 * 365),
                    Ent::C(_) => f,
                };
                let mut end = OPEN;
                if r.chance(0.12) {
                    end = r.int(st + 365, T_END + 800);
                    if end > T_END {
                        end = OPEN;
                    }
                }
                own.push(Own {
                    owner: o,
                    c: c as u32,
                    share: sh,
                    s: st,
                    e: end,
                });
                if end != OPEN {
                    own.push(Own {
                        owner: Ent::P(self.pick_ent(r)),
                        c: c as u32,
                        share: sh,
                        s: end + 1,
                        e: OPEN,
                    });
                }
            }
            let lr = if !persons.is_empty() && r.chance(lr_owner) {
                r.pick(&persons)
            } else {
                self.pick_ent(r)
            };
            let s = f.max(self.people[lr as usize].birth + 20 * 365);
            let mut lr_end = OPEN;
            if r.chance(0.1) {
                let e = r.int(s + 365, T_END + 1500);
                if e <= T_END {
                    lr_end = e;
                }
            }
            roles.push(Role {
                p: lr,
                c: c as u32,
                role: RoleKind::LegalRep,
                s,
                e: lr_end,
            });
            if lr_end != OPEN {
                let lr2 = self.pick_ent(r);
                roles.push(Role {
                    p: lr2,
                    c: c as u32,
                    role: RoleKind::LegalRep,
                    s: lr_end + 1,
                    e: OPEN,
                });
            }
            for (role, w) in [
                (RoleKind::Director, directors),
                (RoleKind::Supervisor, [55.0, 45.0, 0.0]),
                (RoleKind::Manager, [60.0, 40.0, 0.0]),
                (RoleKind::Employee, [40.0, 30.0, 30.0]),
            ] {
                let cnt = choose_w(r, &[(0, w[0]), (1, w[1]), (2, w[2])]);
                for _ in 0..cnt {
                    let p = if role == RoleKind::Employee {
                        r.pick(&self.adults)
                    } else if !persons.is_empty() && r.chance(role_owner) {
                        r.pick(&persons)
                    } else {
                        self.pick_ent(r)
                    };
                    let s = f.max(self.people[p as usize].birth + 18 * 365);
                    // The same person picked twice for one role would be one fact (same
                    // person, company, role and start) stated with two end dates: a register
                    // does not say that, and ingestion reports it (docs/ingest.md).
                    let again = roles
                        .iter()
                        .rev()
                        .take_while(|x| x.c == c as u32)
                        .any(|x| x.p == p && x.role == role && x.s == s);
                    let e = if r.chance(0.8) {
                        OPEN
                    } else {
                        let e = r.int(s + 200, s + 3000);
                        if e > T_END {
                            OPEN
                        } else {
                            e
                        }
                    };
                    if !again {
                        roles.push(Role {
                            p,
                            c: c as u32,
                            role,
                            s,
                            e,
                        });
                    }
                }
            }
        }
        self.own = own;
        self.roles = roles;
        let mut ops: Vec<u32> = (0..cn as u32).filter(|&i| !is_hold[i as usize]).collect();
        r.shuffle(&mut ops);
        self.ops_w = Weighted::zipf(ops.len(), 0.5);
        self.ops = ops;
    }

    // ------------------------------------------------------------ procurement

    /// Adds a tender run by `a`, published on `published`, with its bids, officials and
    /// (when there is a winner) its contract. Returns (tender, contract or NONE).
    pub(crate) fn add_tender(
        &mut self,
        r: &mut Rng,
        a: u32,
        published: i32,
        bidders: &[u32],
        winner: Option<u32>,
        extra: &[(u32, TRole)],
    ) -> (u32, u32) {
        let t = self.tenders.len() as u32;
        let budget = (((13.0 + 1.1 * r.normal()).exp() / 100.0).round() * 100.0).max(1000.0);
        self.tenders.push(Tender {
            a,
            project: r.below(PROJECTS.len()) as u8,
            budget: (budget * 100.0) as i64,
            published,
        });
        let mut offs = self.in_office(a, published);
        let mut roles: Vec<(u32, TRole)> = Vec::new();
        if !offs.is_empty() {
            r.shuffle(&mut offs);
            roles.push((offs[0], TRole::Requester));
            roles.push((offs[offs.len() - 1], TRole::Approver));
        }
        for _ in 0..r.int(1, 3) {
            roles.push((r.pick(&self.officials), TRole::Evaluator));
        }
        roles.extend_from_slice(extra);
        let mut seen: Vec<(u32, TRole)> = Vec::new();
        for (p, role) in roles {
            if !seen.contains(&(p, role)) {
                seen.push((p, role));
                self.tender_off.push(TenderOfficial { t, p, role });
            }
        }
        let sub = published + r.int(10, 30);
        let mut win_amt = 0;
        for &c in bidders {
            let amount = (budget * r.uniform(0.8, 1.0) * 100.0).round() as i64;
            let won = Some(c) == winner;
            if won {
                win_amt = amount;
            }
            self.bids.push(Bid {
                t,
                c,
                amount,
                submitted: sub,
                won,
            });
        }
        let mut k = NONE;
        if let Some(wc) = winner {
            let approver = seen
                .iter()
                .find(|x| x.1 == TRole::Approver)
                .map_or(NONE, |x| x.0);
            self.contracts.push(Contract {
                a,
                c: wc,
                t,
                amount: win_amt,
                signed: sub + r.int(7, 30),
                approver,
            });
            k = (self.contracts.len() - 1) as u32;
        }
        (t, k)
    }

    fn gen_procurement(&mut self, r: &mut Rng) {
        let tn = self.sizes.tenders;
        let pub_hi = day(2024, 10, 31);
        let mut tender_ags = Vec::with_capacity(tn);
        for _ in 0..tn {
            let a = self.ag_tw.sample(r) as u32;
            tender_ags.push(a);
            let published = r.int(T_START, pub_hi - 1);
            let k = choose_w(
                r,
                &[
                    (3, 25.0),
                    (4, 25.0),
                    (5, 18.0),
                    (6, 14.0),
                    (7, 10.0),
                    (8, 8.0),
                ],
            );
            let mut bs: Vec<u32> = Vec::new();
            for _ in 0..40 {
                if bs.len() >= k {
                    break;
                }
                let c = self.pick_op(r);
                if !bs.contains(&c) && self.comps[c as usize].founded < published - 90 {
                    bs.push(c);
                }
            }
            if bs.len() < 2 {
                continue;
            }
            let win = r.pick(&bs);
            self.add_tender(r, a, published, &bs, Some(win), &[]);
        }
        // direct contracts (no tender)
        for _ in 0..tn / 4 {
            let a = r.pick(&tender_ags);
            let d = r.int(T_START, T_END);
            let c = self.pick_op(r);
            if self.comps[c as usize].founded > d - 90 {
                continue;
            }
            let offs = self.in_office(a, d);
            let approver = if !offs.is_empty() && r.chance(0.6) {
                r.pick(&offs)
            } else {
                NONE
            };
            let amount = r.lognormal_cents(11.0, 1.0);
            self.contracts.push(Contract {
                a,
                c,
                t: NONE,
                amount,
                signed: d,
                approver,
            });
        }
        // subsidies
        for _ in 0..self.sizes.subsidies {
            let a = self.ag_sw.sample(r) as u32;
            let d = r.int(T_START, T_END);
            let offs = self.in_office(a, d);
            let approver = if !offs.is_empty() && r.chance(0.8) {
                r.pick(&offs)
            } else {
                NONE
            };
            if r.chance(0.6) {
                let mut p = NONE;
                for _ in 0..1000 {
                    let x = r.below(self.n) as u32;
                    let q = &self.people[x as usize];
                    if q.death > d.saturating_add(30) && q.birth < d - 18 * 365 {
                        p = x;
                        break;
                    }
                }
                if p == NONE {
                    continue;
                }
                let amount = r.lognormal_cents(8.5, 0.8);
                self.subsidies.push(Subsidy {
                    a,
                    r: Ent::P(p),
                    amount,
                    paid: d,
                    approver,
                    program: r.pick(PROGRAMS_PERSON),
                    period: None,
                });
            } else {
                // a company founded at least a month before the payment
                let mut c = self.pick_op(r);
                for _ in 0..20 {
                    if self.comps[c as usize].founded <= d - 30 {
                        break;
                    }
                    c = self.pick_op(r);
                }
                if self.comps[c as usize].founded > d - 30 {
                    continue;
                }
                let amount = r.lognormal_cents(12.0, 1.0);
                self.subsidies.push(Subsidy {
                    a,
                    r: Ent::C(c),
                    amount,
                    paid: d,
                    approver,
                    program: r.pick(PROGRAMS_COMPANY),
                    period: None,
                });
            }
        }
    }

    fn gen_blacklist(&mut self, r: &mut Rng) {
        let mut last: HashMap<u32, i32> = HashMap::new();
        for b in &self.bids {
            let e = last.entry(b.c).or_insert(i32::MIN);
            *e = (*e).max(b.submitted);
        }
        for k in &self.contracts {
            let e = last.entry(k.c).or_insert(i32::MIN);
            *e = (*e).max(k.signed);
        }
        let mut ops = self.ops.clone();
        r.shuffle(&mut ops);
        ops.truncate(((0.004 * self.ops.len() as f64) as usize).max(3));
        ops.sort_unstable();
        for c in ops {
            let lo = last
                .get(&c)
                .copied()
                .unwrap_or(self.comps[c as usize].founded)
                .max(self.comps[c as usize].founded)
                + 30;
            if lo < T_END {
                let listed = r.int(lo, T_END);
                self.blacklist.push(Listing {
                    ent: Ent::C(c),
                    reason: r.pick(BL_REASONS),
                    listed,
                    source: r.pick(BL_SOURCES),
                });
            }
        }
        let controllers: HashSet<u32> = self
            .own
            .iter()
            .filter_map(|o| match o.owner {
                Ent::P(p) => Some(p),
                Ent::C(_) => None,
            })
            .chain(self.roles.iter().map(|x| x.p))
            .collect();
        let want = (self.n / 2000).max(2);
        let mut got = 0;
        for _ in 0..want * 100 {
            if got >= want || self.adults.is_empty() {
                break;
            }
            let p = r.pick(&self.adults);
            if controllers.contains(&p) {
                continue;
            }
            self.blacklist.push(Listing {
                ent: Ent::P(p),
                reason: "行贿",
                listed: r.int(T_START, T_END),
                source: "中国裁判文书网",
            });
            got += 1;
        }
    }
}

/// Undirected family adjacency over the relation rows.
pub(crate) fn family_csr(n: usize, rel: &[Relation]) -> Csr {
    let mut pairs = Vec::with_capacity(rel.len() * 2);
    for x in rel {
        if matches!(
            x.t,
            Rel::Spouse | Rel::Parent | Rel::Child | Rel::Sibling | Rel::InLaw
        ) && x.a != x.b
        {
            pairs.push((x.a, x.b));
            pairs.push((x.b, x.a));
        }
    }
    Csr::new(n, &pairs)
}

/// `k` shares (hundredths of a percent) drawn uniformly on the simplex, summing to 100 %.
fn split_shares(r: &mut Rng, k: usize) -> Vec<u32> {
    if k <= 1 {
        return vec![10_000; k];
    }
    let x: Vec<f64> = (0..k).map(|_| -(1.0 - r.unit()).ln()).collect();
    let t: f64 = x.iter().sum();
    let mut out: Vec<u32> = x
        .iter()
        .map(|v| ((v / t * 10_000.0).round() as u32).max(1))
        .collect();
    let s: u32 = out[..k - 1].iter().sum();
    out[k - 1] = 10_000u32.saturating_sub(s).max(1);
    out
}

impl Rng {
    pub(crate) fn pick_str(&mut self, s: &[String]) -> String {
        s[self.below(s.len())].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Parent` -> `parent`, `InLaw` -> `in_law`: the variant's name in snake case.
    fn snake(v: impl std::fmt::Debug) -> String {
        let mut out = String::new();
        for (i, c) in format!("{v:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn labels_are_the_models_in_variant_order() {
        use Rel::*;
        let rels = [Spouse, Parent, Child, Sibling, InLaw, Associate, Other];
        assert_eq!(rels.len(), qinglian_model::RELATIONS.len());
        for r in rels {
            assert_eq!(r.as_str(), snake(r));
        }
        use RoleKind::*;
        let roles = [LegalRep, Director, Supervisor, Manager, Employee];
        assert_eq!(roles.len(), qinglian_model::ROLES.len());
        for r in roles {
            assert_eq!(r.as_str(), snake(r));
        }
        use TRole::*;
        let troles = [Requester, Evaluator, Approver];
        assert_eq!(troles.len(), qinglian_model::TENDER_ROLES.len());
        for r in troles {
            assert_eq!(r.as_str(), snake(r));
        }
    }
}
