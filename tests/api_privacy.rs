//! An analyst walks every route they may use on the demo zone — every finding page, every
//! official's roll-up, every evidence node's entity page, paths, a pre-award check of every
//! tender, searches by names and identifiers, clearances — and no answer carries a real name,
//! an identifier or a birth date of a person who holds no position.

mod common;

use common::{call, root, start, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn rows(file: &str) -> Vec<Vec<String>> {
    let path = root().join("data-samples/zone").join(file);
    let mut r = csv::Reader::from_path(path).expect("csv");
    r.records()
        .map(|x| x.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

/// What must not reach an analyst.
struct Secrets {
    names: BTreeSet<String>,
    identifiers: BTreeSet<String>,
    /// Birth dates by person id: checked where the person is in the answer (a date alone
    /// also dates contracts and stakes).
    births: Vec<(String, String)>,
}

fn secrets() -> (Secrets, Vec<String>) {
    let officials: BTreeSet<String> = rows("positions.csv")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let people = rows("people.csv"); // id,name,id_number,birth_date,death_date
    let mut public: Vec<String> = people
        .iter()
        .filter(|p| officials.contains(&p[0]))
        .map(|p| p[1].clone())
        .collect();
    for f in ["companies.csv", "agencies.csv"] {
        public.extend(rows(f).into_iter().map(|r| r[1].clone()));
    }
    let public_ids: BTreeSet<&String> = people
        .iter()
        .filter(|p| officials.contains(&p[0]))
        .map(|p| &p[2])
        .collect();
    let private: Vec<&Vec<String>> = people
        .iter()
        .filter(|p| !officials.contains(&p[0]))
        .collect();
    let s = Secrets {
        // A name that is also part of a public name says nothing about the private person.
        names: private
            .iter()
            .map(|p| p[1].clone())
            .filter(|n| n.chars().count() > 1 && !public.iter().any(|x| x.contains(n.as_str())))
            .collect(),
        identifiers: private
            .iter()
            .map(|p| p[2].clone())
            .filter(|i| i.len() > 6 && !public_ids.contains(i))
            .collect(),
        births: private
            .iter()
            .filter(|p| !p[3].is_empty())
            .map(|p| (p[0].clone(), p[3].clone()))
            .collect(),
    };
    (s, officials.into_iter().collect())
}

/// Fails on any secret in an answer. `skip` names a field whose value is the caller's own
/// input (a search echoes its query).
fn check(what: &str, v: &Value, s: &Secrets, skip: Option<&str>) {
    let mut v = v.clone();
    if let Some(k) = skip {
        if let Some(o) = v.as_object_mut() {
            o.remove(k);
        }
    }
    let text = v.to_string();
    let around = |at: usize| -> String {
        let mut a = at.saturating_sub(300);
        while !text.is_char_boundary(a) {
            a -= 1;
        }
        let mut z = (at + 300).min(text.len());
        while !text.is_char_boundary(z) {
            z += 1;
        }
        text[a..z].to_owned()
    };
    for n in &s.names {
        if let Some(at) = text.find(n.as_str()) {
            panic!(
                "{what}: the name {n} of a private person in …{}…",
                around(at)
            );
        }
    }
    for i in &s.identifiers {
        if let Some(at) = text.find(i.as_str()) {
            panic!("{what}: the identifier {i} in …{}…", around(at));
        }
    }
    for (id, b) in &s.births {
        if !text.contains(&format!("\"{id}\"")) {
            continue;
        }
        for (at, _) in text.match_indices(b.as_str()) {
            let before = &text[..at];
            let standalone = before.ends_with('"') && text[at + b.len()..].starts_with('"');
            assert!(
                standalone && !before.ends_with("\"birth_date\":\""),
                "{what}: the birth date {b} in …{}…",
                around(at)
            );
        }
    }
}

fn get(s: &Server, t: &str, path: &str) -> Value {
    let (st, v, _) = call(s, "GET", path, Some(t), true, None);
    assert!(st == 200 || st == 404, "{path}: {st} {v}");
    v
}

#[test]
fn an_analyst_sees_no_name_identifier_or_birth_date_of_a_private_person() {
    let (sec, officials) = secrets();
    assert!(
        sec.names.len() > 100 && sec.identifiers.len() > 100,
        "the demo has private people"
    );
    let s = start(
        &root().join("data-samples/zone"),
        "rate_per_second = 1000000.0\nrate_burst = 1000000.0\n",
    );
    let a = s.token("analyst");
    let mut findings = Vec::new();
    let mut offset = 0;
    loop {
        let v = get(&s, &a, &format!("/v1/findings?limit=500&offset={offset}"));
        check("findings", &v, &sec, None);
        let page = v["findings"].as_array().cloned().unwrap_or_default();
        offset += page.len();
        findings.extend(page);
        if v["truncated"] != true {
            break;
        }
    }
    assert!(findings.len() > 50, "{} findings", findings.len());
    // The alert feed carries the same findings (since load 0: every one is new).
    let alerts = get(&s, &a, "/v1/alerts?since=0&limit=500");
    assert_eq!(
        alerts["total"].as_u64(),
        Some(findings.len() as u64),
        "{alerts}"
    );
    check("alerts", &alerts, &sec, None);
    let mut nodes = BTreeSet::new();
    for f in &findings {
        for n in f["evidence"]["nodes"].as_array().into_iter().flatten() {
            nodes.insert(n["id"].as_str().unwrap_or_default().to_owned());
        }
        if let (Some(o), Some(t)) = (f["official"].as_str(), f["target"].as_str()) {
            if !o.is_empty() && !t.is_empty() {
                let v = get(&s, &a, &format!("/v1/paths?from={o}&to={t}&max_hops=4"));
                check("paths", &v, &sec, None);
            }
        }
    }
    for n in &nodes {
        check(
            "entity",
            &get(&s, &a, &format!("/v1/entities/{n}")),
            &sec,
            None,
        );
    }
    for o in &officials {
        check(
            "risk",
            &get(&s, &a, &format!("/v1/officials/{o}/risk")),
            &sec,
            None,
        );
    }
    let mut clearance = None;
    for t in rows("tenders.csv") {
        let body = json!({"tender": t[0]}).to_string();
        let (st, v, _) = call(&s, "POST", "/v1/screen", Some(&a), true, Some(body));
        assert_eq!(st, 200, "{v}");
        check("screen", &v, &sec, None);
        if clearance.is_none() && v.get("clearance").is_some() {
            clearance = Some(v["clearance"].clone());
        }
    }
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/clearances/verify",
        Some(&a),
        true,
        clearance.map(|c| c.to_string()),
    );
    assert_eq!((st, &v["valid"]), (200, &json!(true)));
    // Searching by a private person's name or identifier finds nobody (no oracle).
    for q in sec
        .names
        .iter()
        .take(80)
        .chain(sec.identifiers.iter().take(80))
    {
        let path = format!("/v1/entities?q={}", urlencode(q));
        let v = get(&s, &a, &path);
        check("search", &v, &sec, Some("query"));
        assert_eq!(v["results"], json!([]), "{q} finds nobody: {v}");
        let (st, _, _) = call(
            &s,
            "GET",
            &format!("/v1/entities/{}", urlencode(q)),
            Some(&a),
            true,
            None,
        );
        assert_eq!(st, 404, "{q} does not resolve for an analyst");
    }
    // The investigator still finds them.
    let i = s.token("investigator");
    let q = sec.identifiers.iter().next().expect("an identifier");
    let v = get(&s, &i, &format!("/v1/entities?q={q}"));
    assert_eq!(v["results"].as_array().map(Vec::len), Some(1), "{v}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
