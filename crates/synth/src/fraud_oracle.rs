//! The exhaustive oracle of the four subsidy-fraud rules, written from their rule files'
//! summaries and evaluated on the generated rows (grouped indexes, no knowledge of what was
//! planted): double dipping, shell recipients, split applications, a former colleague's
//! company.

use crate::fraud::DEAD;
use crate::oracle::Ix;
use crate::truth::{Finding, Pattern, RefId, Tok};
use crate::util::*;
use crate::world::*;
use std::collections::HashMap;

/// One period: the years both payments name, else payment days at most 365 apart.
fn same_period(a: &Subsidy, b: &Subsidy) -> bool {
    match (a.period, b.period) {
        (Some(x), Some(y)) => x == y,
        _ => (i64::from(a.paid) - i64::from(b.paid)).abs() <= 365,
    }
}

/// Payment `i` comes before `j`: earlier, or the same day and an earlier id.
fn before(w: &World, i: u32, j: u32) -> bool {
    let (a, b) = (&w.subsidies[i as usize], &w.subsidies[j as usize]);
    (a.paid, i) < (b.paid, j)
}

fn company(s: &Subsidy) -> Option<u32> {
    match s.r {
        Ent::C(c) => Some(c),
        Ent::P(_) => None,
    }
}

/// Every finding of the four rules.
pub(crate) fn run(ix: &Ix, add: &mut dyn FnMut(Finding)) {
    double_dipping(ix, add);
    shell_recipient(ix.w, add);
    split_application(ix, add);
    colleague_subsidy(ix, add);
}

/// Groups subsidy indexes by a key.
fn groups<K: std::hash::Hash + Eq>(items: impl Iterator<Item = (K, u32)>) -> Vec<Vec<u32>> {
    let mut m: HashMap<K, Vec<u32>> = HashMap::new();
    for (k, i) in items {
        m.entry(k).or_default().push(i);
    }
    m.into_values().collect()
}

/// The direct controllers of `c` on `d`: a stake of at least half, or its legal
/// representative.
fn controlling(ix: &Ix, c: u32, d: i32, out: &mut Vec<Ent>) {
    out.clear();
    for &i in ix.own_in.of(c) {
        let o = &ix.w.own[i as usize];
        if o.share >= 5000 && o.s <= d && d <= o.e {
            out.push(o.owner);
        }
    }
    for &i in ix.role_in.of(c) {
        let x = &ix.w.roles[i as usize];
        if x.role == RoleKind::LegalRep && x.s <= d && d <= x.e {
            out.push(Ent::P(x.p));
        }
    }
    out.sort_unstable();
    out.dedup();
}

fn double_dipping(ix: &Ix, add: &mut dyn FnMut(Finding)) {
    let w = ix.w;
    let subs = &w.subsidies;
    let hit = |i: u32, j: u32, add: &mut dyn FnMut(Finding)| {
        let (a, b) = (&subs[i as usize], &subs[j as usize]);
        if a.a != b.a && before(w, i, j) && same_period(a, b) {
            let path = vec![Tok::S(i), Tok::from(a.r), Tok::from(b.r), Tok::S(j)];
            add(Finding::new(
                Pattern::DoubleDipping,
                NONE,
                b.r,
                RefId::Subsidy(j),
                path,
            ));
        }
    };
    let direct =
        groups((0..subs.len() as u32).map(|i| ((subs[i as usize].r, subs[i as usize].program), i)));
    let mut zs = Vec::new();
    let mut keyed = Vec::new();
    for (i, s) in subs.iter().enumerate() {
        if let Some(c) = company(s) {
            controlling(ix, c, s.paid, &mut zs);
            keyed.extend(zs.iter().map(|&z| ((z, s.program), i as u32)));
        }
    }
    for g in direct {
        for &i in &g {
            for &j in &g {
                hit(i, j, add);
            }
        }
    }
    for g in groups(keyed.into_iter()) {
        for &i in &g {
            for &j in &g {
                if subs[i as usize].r != subs[j as usize].r {
                    hit(i, j, add);
                }
            }
        }
    }
}

fn shell_recipient(w: &World, add: &mut dyn FnMut(Finding)) {
    let mut by_c: Vec<Vec<u32>> = vec![Vec::new(); w.comps.len()];
    for (i, s) in w.subsidies.iter().enumerate() {
        if let Some(c) = company(s) {
            by_c[c as usize].push(i as u32);
        }
    }
    for (c, list) in by_c.iter().enumerate() {
        let x = &w.comps[c];
        let first = list
            .iter()
            .copied()
            .min_by_key(|&i| (w.subsidies[i as usize].paid, i));
        for &i in list {
            let paid = w.subsidies[i as usize].paid;
            let new = first == Some(i) && x.founded <= paid && paid <= x.founded + 180;
            let dead = DEAD.contains(&x.status) && x.status_date.is_some_and(|d| d <= paid);
            if paid < x.founded || new || dead {
                let t = Ent::C(c as u32);
                let path = vec![Tok::C(c as u32), Tok::S(i)];
                add(Finding::new(
                    Pattern::ShellRecipient,
                    NONE,
                    t,
                    RefId::Subsidy(i),
                    path,
                ));
            }
        }
    }
}

/// What two recipients may share: a legal representative, a phone, an address.
#[derive(Hash, PartialEq, Eq)]
enum Tie<'a> {
    Rep(u32),
    Phone(&'a str),
    Addr(&'a str),
}

fn split_application(ix: &Ix, add: &mut dyn FnMut(Finding)) {
    let w = ix.w;
    let mut keyed = Vec::new();
    for (i, s) in w.subsidies.iter().enumerate() {
        let Some(c) = company(s) else { continue };
        let x = &w.comps[c as usize];
        let i = i as u32;
        for &ri in ix.role_in.of(c) {
            let role = &w.roles[ri as usize];
            if role.role == RoleKind::LegalRep && role.s <= s.paid && s.paid <= role.e {
                keyed.push(((s.program, Tie::Rep(role.p)), i));
            }
        }
        if !x.phone.is_empty() {
            keyed.push(((s.program, Tie::Phone(&x.phone)), i));
        }
        if !x.addr.is_empty() {
            keyed.push(((s.program, Tie::Addr(&x.addr)), i));
        }
    }
    for g in groups(keyed.into_iter()) {
        for &i in &g {
            for &j in &g {
                let (a, b) = (&w.subsidies[i as usize], &w.subsidies[j as usize]);
                let (Some(x), Some(y)) = (company(a), company(b)) else {
                    continue;
                };
                if x < y && same_period(a, b) {
                    let path = vec![Tok::C(x), Tok::S(i), Tok::S(j), Tok::C(y)];
                    let mut f = Finding::new(
                        Pattern::SplitApplication,
                        NONE,
                        Ent::C(x),
                        RefId::None,
                        path,
                    );
                    f.target2 = Some(Ent::C(y));
                    add(f);
                }
            }
        }
    }
}

fn colleague_subsidy(ix: &Ix, add: &mut dyn FnMut(Finding)) {
    let w = ix.w;
    let mut ctl = Vec::new();
    for (si, s) in w.subsidies.iter().enumerate() {
        let (o, Some(x)) = (s.approver, company(s)) else {
            continue;
        };
        if o == NONE || !ix.holds(o, s.a, s.paid) {
            continue;
        }
        ix.controllers(x, s.paid, &mut ctl);
        for c in &ctl {
            if c.p == o || ix.in_office_anywhere(c.p, s.paid) || !served_with(ix, o, c.p, s.paid) {
                continue;
            }
            let mut path = vec![Tok::P(o), Tok::P(c.p)];
            path.extend(c.chain());
            path.push(Tok::S(si as u32));
            add(Finding::new(
                Pattern::ColleagueSubsidy,
                o,
                Ent::C(x),
                RefId::Subsidy(si as u32),
                path,
            ));
            break;
        }
    }
}

/// `o` and `r` held positions at one agency at overlapping times, and `r`'s ended before `d`.
fn served_with(ix: &Ix, o: u32, r: u32, d: i32) -> bool {
    let pos = &ix.w.pos;
    ix.pos_of.of(r).iter().any(|&j| {
        let q2 = &pos[j as usize];
        q2.e != OPEN
            && q2.e < d
            && ix.pos_of.of(o).iter().any(|&i| {
                let q1 = &pos[i as usize];
                q1.a == q2.a && q1.s <= q2.e && q2.s <= q1.e
            })
    })
}
