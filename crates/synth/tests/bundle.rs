//! Determinism, validity of every identifier and reference, realism checks, the Zone
//! profile, and ingestion of a generated bundle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qinglian_model::{CreditCode, Date, ResidentId};
use qinglian_synth::Profile;
use std::collections::{HashMap, HashSet};

#[test]
fn same_options_give_the_same_bytes() {
    for profile in [Profile::Province, Profile::Zone] {
        let (a, ra) = gen(3000, 7, profile);
        let (b, rb) = gen(3000, 7, profile);
        let (c, _) = gen(3000, 8, profile);
        assert_eq!(ra.files, rb.files);
        let mut differs = false;
        for f in FILES.iter().chain(&["truth.jsonl"]) {
            let x = std::fs::read(a.path().join(f)).unwrap();
            let y = std::fs::read(b.path().join(f)).unwrap();
            assert!(x == y, "{f} differs between two runs with the same seed");
            differs |= std::fs::read(c.path().join(f)).unwrap() != x;
        }
        assert!(differs, "another seed gives the same bundle");
    }
}

#[test]
fn files_follow_the_schema_and_every_reference_resolves() {
    let (dir, rep) = gen(5000, 11, Profile::Province);
    let d = dir.path();
    let headers: HashMap<&str, &str> = [
        ("people.csv", "id,name,id_number,birth_date,death_date"),
        ("agencies.csv", "id,name,parent_id,region"),
        (
            "companies.csv",
            "id,name,credit_code,address,phone,founded,status,status_date",
        ),
        ("positions.csv", "person_id,agency_id,title,start,end"),
        ("relations.csv", "person_id,relative_id,relation"),
        ("ownership.csv", "owner_id,company_id,share_pct,start,end"),
        ("roles.csv", "person_id,company_id,role,start,end"),
        ("tenders.csv", "id,agency_id,title,budget,published"),
        ("tender_officials.csv", "tender_id,person_id,role"),
        ("bids.csv", "tender_id,company_id,amount,submitted,won"),
        (
            "contracts.csv",
            "id,agency_id,company_id,tender_id,amount,signed,approver_id",
        ),
        (
            "subsidies.csv",
            "id,agency_id,recipient_id,amount,paid,approver_id,program,period",
        ),
        ("declarations.csv", "person_id,subject_id,relation"),
        ("blacklist.csv", "entity_id,reason,listed,source"),
    ]
    .into_iter()
    .collect();
    let mut t: HashMap<&str, Table> = HashMap::new();
    for f in FILES {
        let raw = std::fs::read_to_string(d.join(f)).unwrap();
        assert!(raw.ends_with('\n') && !raw.contains('\r'), "{f}: line ends");
        assert!(!raw.contains('"'), "{f}: no field needs quoting");
        let tab = read(d, f);
        assert_eq!(tab.header.join(","), headers[f], "{f}: header");
        let n = rep.files.iter().find(|x| x.0 == f).unwrap().1;
        assert_eq!(tab.rows.len() as u64, n, "{f}: row count reported");
        t.insert(f, tab);
    }
    // ids: unique across the bundle, one kind each
    let mut kind: HashMap<String, &str> = HashMap::new();
    for (f, k) in [
        ("people.csv", "person"),
        ("agencies.csv", "agency"),
        ("companies.csv", "company"),
        ("tenders.csv", "tender"),
        ("contracts.csv", "contract"),
        ("subsidies.csv", "subsidy"),
    ] {
        for r in &t[f].rows {
            assert!(
                kind.insert(r["id"].clone(), k).is_none(),
                "duplicate id {}",
                r["id"]
            );
        }
    }
    assert_eq!(t["people.csv"].rows.len(), 5000);
    // people: valid resident IDs consistent with the birth date, unique, ~2 % unknown
    let mut idns = HashSet::new();
    let mut empty = 0;
    for r in &t["people.csv"].rows {
        let birth = Date::parse(&r["birth_date"]).unwrap();
        if !r["death_date"].is_empty() {
            assert!(Date::parse(&r["death_date"]).unwrap() >= birth);
        }
        assert!(!r["name"].is_empty());
        if r["id_number"].is_empty() {
            empty += 1;
            continue;
        }
        let id = ResidentId::parse(&r["id_number"]).unwrap();
        assert_eq!(id.as_str(), r["id_number"]);
        assert_eq!(id.birth_date(), birth, "{}", r["id"]);
        assert!(idns.insert(r["id_number"].clone()), "duplicate id_number");
    }
    assert!(
        (40..=200).contains(&empty),
        "{empty} unknown id numbers of 5000"
    );
    let mut codes = HashSet::new();
    for r in &t["companies.csv"].rows {
        let c = CreditCode::parse(&r["credit_code"]).unwrap();
        assert_eq!(c.as_str(), r["credit_code"]);
        assert!(
            codes.insert(r["credit_code"].clone()),
            "duplicate credit code"
        );
        Date::parse(&r["founded"]).unwrap();
    }
    // every reference names an id of the right kind
    let is = |id: &str, kinds: &[&str]| kind.get(id).is_some_and(|k| kinds.contains(k));
    let check = |f: &str, col: &str, kinds: &[&str], optional: bool| {
        for r in &t[f].rows {
            let v = &r[col];
            if v.is_empty() && optional {
                continue;
            }
            assert!(is(v, kinds), "{f} {col}={v:?} is not a {kinds:?}");
        }
    };
    let (p, c, a) = (&["person"][..], &["company"][..], &["agency"][..]);
    let pc = &["person", "company"][..];
    check("agencies.csv", "parent_id", a, true);
    check("positions.csv", "person_id", p, false);
    check("positions.csv", "agency_id", a, false);
    check("relations.csv", "person_id", p, false);
    check("relations.csv", "relative_id", p, false);
    check("ownership.csv", "owner_id", pc, false);
    check("ownership.csv", "company_id", c, false);
    check("roles.csv", "person_id", p, false);
    check("roles.csv", "company_id", c, false);
    check("tenders.csv", "agency_id", a, false);
    check("tender_officials.csv", "tender_id", &["tender"], false);
    check("tender_officials.csv", "person_id", p, false);
    check("bids.csv", "tender_id", &["tender"], false);
    check("bids.csv", "company_id", c, false);
    check("contracts.csv", "agency_id", a, false);
    check("contracts.csv", "company_id", c, false);
    check("contracts.csv", "tender_id", &["tender"], true);
    check("contracts.csv", "approver_id", p, true);
    check("subsidies.csv", "agency_id", a, false);
    check("subsidies.csv", "recipient_id", pc, false);
    check("subsidies.csv", "approver_id", p, true);
    check("declarations.csv", "person_id", p, false);
    check("declarations.csv", "subject_id", pc, false);
    check("blacklist.csv", "entity_id", pc, false);
    // vocabularies, dates, intervals
    let vocab = |f: &str, col: &str, known: &[&str]| {
        for r in &t[f].rows {
            assert!(known.contains(&r[col].as_str()), "{f} {col}={}", r[col]);
        }
    };
    vocab("relations.csv", "relation", qinglian_model::RELATIONS);
    vocab("roles.csv", "role", qinglian_model::ROLES);
    vocab("tender_officials.csv", "role", qinglian_model::TENDER_ROLES);
    vocab("bids.csv", "won", &["true", "false"]);
    vocab(
        "declarations.csv",
        "relation",
        &["spouse", "child", "interest"],
    );
    for (f, s, e) in [
        ("positions.csv", "start", "end"),
        ("ownership.csv", "start", "end"),
        ("roles.csv", "start", "end"),
    ] {
        for r in &t[f].rows {
            let s = Date::parse(&r[s]).unwrap();
            if !r[e].is_empty() {
                assert!(
                    Date::parse(&r[e]).unwrap() >= s,
                    "{f}: ends before it starts"
                );
            }
        }
    }
    for r in &t["ownership.csv"].rows {
        let v: f64 = r["share_pct"].parse().unwrap();
        assert!((0.0..=100.0).contains(&v));
    }
    // tenders: one winner at most, contracts signed after publication
    let published: HashMap<&str, &str> = t["tenders.csv"]
        .rows
        .iter()
        .map(|r| (r["id"].as_str(), r["published"].as_str()))
        .collect();
    let mut winners: HashMap<&str, usize> = HashMap::new();
    let mut bidders: HashMap<&str, usize> = HashMap::new();
    for r in &t["bids.csv"].rows {
        *bidders.entry(&r["tender_id"]).or_default() += 1;
        if r["won"] == "true" {
            *winners.entry(&r["tender_id"]).or_default() += 1;
        }
    }
    assert!(winners.values().all(|&n| n == 1));
    assert!(bidders.values().all(|&n| n >= 2));
    let mut linked = 0;
    for r in &t["contracts.csv"].rows {
        Date::parse(&r["signed"]).unwrap();
        if !r["tender_id"].is_empty() {
            linked += 1;
            assert!(published[r["tender_id"].as_str()] < r["signed"].as_str());
        }
    }
    assert!(
        linked * 2 > t["contracts.csv"].rows.len(),
        "most contracts follow a tender"
    );
    // officials: about 5 % of the people, 1-3 positions each
    let mut per: HashMap<&str, usize> = HashMap::new();
    for r in &t["positions.csv"].rows {
        *per.entry(&r["person_id"]).or_default() += 1;
    }
    assert!((200..=300).contains(&per.len()), "{} officials", per.len());
    assert!(per.values().all(|&n| (1..=3).contains(&n)));
    // the agency hierarchy has three levels at least
    let parent: HashMap<&str, &str> = t["agencies.csv"]
        .rows
        .iter()
        .map(|r| (r["id"].as_str(), r["parent_id"].as_str()))
        .collect();
    let depth = |a0: &str| {
        let (mut a, mut n) = (a0.to_owned(), 0);
        while !parent[a.as_str()].is_empty() {
            a = parent[a.as_str()].to_owned();
            n += 1;
        }
        n
    };
    assert!(parent.keys().map(|a| depth(a)).max().unwrap() >= 2);
    // ownership chains: some company owns a company that owns a company
    let comp_owned_by_comp: HashSet<(&str, &str)> = t["ownership.csv"]
        .rows
        .iter()
        .filter(|r| r["owner_id"].starts_with('C'))
        .map(|r| (r["owner_id"].as_str(), r["company_id"].as_str()))
        .collect();
    let owned: HashSet<&str> = comp_owned_by_comp.iter().map(|x| x.1).collect();
    assert!(comp_owned_by_comp.iter().any(|(o, _)| owned.contains(o)));
}

#[test]
fn many_people_share_a_name() {
    let (dir, _) = gen(20_000, 5, Profile::Province);
    let people = read(dir.path(), "people.csv");
    let mut by_name: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in &people.rows {
        if !r["id_number"].is_empty() {
            by_name
                .entry(&r["name"])
                .or_default()
                .insert(&r["id_number"]);
        }
    }
    let max = by_name.values().map(HashSet::len).max().unwrap();
    assert!(max >= 5, "the commonest name has only {max} holders");
    let zhang_wei = by_name.get("张伟").map_or(0, HashSet::len);
    assert!(zhang_wei >= 2, "张伟: {zhang_wei}");
    // surname frequencies: 王, 李 and 张 are the three commonest
    let mut sur: HashMap<char, usize> = HashMap::new();
    for r in &people.rows {
        *sur.entry(r["name"].chars().next().unwrap()).or_default() += 1;
    }
    let mut top: Vec<(usize, char)> = sur.iter().map(|(c, n)| (*n, *c)).collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    let top3: HashSet<char> = top[..3].iter().map(|x| x.1).collect();
    assert_eq!(top3, HashSet::from(['王', '李', '张']));
}

#[test]
fn the_zone_plants_every_pattern() {
    for seed in [1, 2, 3] {
        let (dir, rep) = gen(400, seed, Profile::Zone);
        let d = dir.path();
        assert_eq!(read(d, "people.csv").rows.len(), 400);
        let agencies = read(d, "agencies.csv");
        assert!(agencies.rows.len() <= 15);
        let parks: Vec<_> = agencies
            .rows
            .iter()
            .filter(|r| r["name"].ends_with("管理委员会"))
            .collect();
        assert_eq!(parks.len(), 1, "one development zone");
        let park = &parks[0]["id"];
        let under = agencies
            .rows
            .iter()
            .filter(|r| &r["parent_id"] == park)
            .count();
        assert!(under >= 4, "bureaus under the committee");
        let gov = agencies
            .rows
            .iter()
            .find(|r| r["id"] == parks[0]["parent_id"])
            .unwrap();
        assert!(gov["name"].ends_with("区人民政府"));
        let truth = truth(d);
        for p in [
            "relative_wins",
            "self_dealing",
            "linked_subsidy",
            "bid_rigging",
            "blacklisted_bidder",
            "deceased_recipient",
            "revolving_door",
            "undeclared_interest",
            "evaluator_conflict",
            "double_dipping",
            "shell_recipient",
            "split_application",
            "colleague_subsidy",
        ] {
            let n = truth
                .iter()
                .filter(|t| s(t, "pattern") == p && s(t, "kind") == "planted")
                .count();
            assert!(n >= 3, "seed {seed}: {n} planted {p}");
            assert!(rep
                .truth
                .iter()
                .any(|(pp, k, c)| pp == p && k == "planted" && *c == n as u64));
        }
        for p in [
            "relative_wins",
            "evaluator_conflict",
            "double_dipping",
            "shell_recipient",
            "split_application",
        ] {
            assert!(truth
                .iter()
                .any(|t| s(t, "pattern") == p && s(t, "kind") == "decoy"));
        }
    }
}

#[test]
fn truth_lines_have_the_scorer_keys() {
    let (dir, _) = gen(2000, 4, Profile::Province);
    for t in truth(dir.path()) {
        for k in [
            "pattern", "kind", "official", "target", "ref", "ref_type", "path",
        ] {
            assert!(t.get(k).is_some(), "{k} missing in {t}");
        }
        let p = s(&t, "pattern");
        assert_eq!(
            t.get("target2").is_some(),
            p == "bid_rigging" || p == "split_application",
            "{t}"
        );
        let rt = s(&t, "ref_type");
        let r = s(&t, "ref");
        match rt {
            "contract" => assert!(r.starts_with('K')),
            "tender" => assert!(r.starts_with('T')),
            "subsidy" => assert!(r.starts_with('S')),
            "" => assert!(r.is_empty() && (p == "undeclared_interest" || p == "split_application")),
            _ => panic!("ref_type {rt}"),
        }
        assert!(!t["path"].as_array().unwrap().is_empty());
    }
}

#[test]
fn a_generated_bundle_ingests_without_errors() {
    use qinglian_ingest::{ingest, IngestOptions};
    use qinglian_store::{GraphDb, MemStore};
    for profile in [Profile::Province, Profile::Zone] {
        let (dir, _) = gen(3000, 2, profile);
        let mut db = GraphDb::open(MemStore::new()).unwrap();
        let rep = match ingest(&mut db, dir.path(), &IngestOptions::default(), &|_| {}) {
            Ok(r) => r,
            Err(e) => {
                if let qinglian_ingest::IngestError::Rejected(r) = &e {
                    for d in r.errors.iter().take(10) {
                        eprintln!("{d}");
                    }
                }
                panic!("{e}");
            }
        };
        assert!(rep.load.is_some());
        for w in rep.warnings.iter().take(10) {
            eprintln!("warning: {w}");
        }
        assert!(rep.warnings.is_empty(), "{} warnings", rep.warnings.len());
        assert!(
            rep.ignored
                .iter()
                .all(|f| f == "truth.jsonl" || f == "bench"),
            "{:?}",
            rep.ignored
        );
    }
}
