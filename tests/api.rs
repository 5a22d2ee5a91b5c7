//! The HTTP API, served by the real binary on a loopback port: every endpoint, every role,
//! 401/403/413/429/503, limits, the audit chain (and a tamper test), clearances, exports.

mod common;

use common::{agent, bin, call, qinglian, start, tiny};
use serde_json::{json, Value};

const DEFAULT: &str = "";

#[test]
fn every_endpoint_for_an_investigator() {
    let s = start(&tiny(), DEFAULT);
    let t = s.token("investigator");
    let t = Some(t.as_str());
    assert_eq!(call(&s, "GET", "/healthz", None, false, None).0, 200);
    let (st, doc, _) = call(&s, "GET", "/v1/openapi.json", t, false, None);
    assert_eq!(st, 200);
    for route in [
        "/healthz",
        "/v1/openapi.json",
        "/v1/entities",
        "/v1/entities/{id}",
        "/v1/paths",
        "/v1/screen",
        "/v1/findings",
        "/v1/alerts",
        "/v1/officials/{id}/risk",
        "/v1/subgraph",
        "/v1/evidence/{finding}",
        "/v1/clearances/verify",
        "/v1/admin/tokens",
        "/v1/admin/tokens/{id}",
        "/v1/admin/loads",
        "/v1/audit",
        "/v1/audit/verify",
        "/v1/findings/summary",
        "/v1/findings/{id}",
        "/v1/findings/{id}/state",
        "/v1/cases",
        "/v1/cases/{number}",
        "/v1/cases/{number}/audit",
        "/v1/declarations/sample",
        "/v1/officials/{id}/declarations",
    ] {
        assert!(
            doc["paths"].get(route).is_some(),
            "OpenAPI describes {route}"
        );
    }
    assert_eq!(
        doc["paths"].as_object().map(serde_json::Map::len),
        Some(25),
        "and nothing else"
    );

    // Search: the identifier first, then same-name people listed apart.
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/entities?q=%E5%BC%A0%E4%BC%9F",
        t,
        true,
        None,
    );
    assert_eq!(st, 200, "{v}");
    let res = v["results"].as_array().expect("results");
    assert_eq!(res.len(), 2, "two people called 张伟: {v}");
    assert_ne!(res[0]["identifier_masked"], res[1]["identifier_masked"]);
    assert_eq!(res.iter().filter(|r| r["official"] == true).count(), 1);
    let official = res
        .iter()
        .find(|r| r["official"] == true)
        .expect("the official");
    assert_eq!(
        official["positions"],
        json!([{"agency": "A2", "agency_name": official["positions"][0]["agency_name"],
                "title": "局长", "start": "2015-01-01", "end": null}]),
        "what tells the two apart: agency, title and term"
    );
    let (_, v, _) = call(
        &s,
        "GET",
        "/v1/entities?q=11010519491231002X",
        t,
        true,
        None,
    );
    assert_eq!(
        (
            v["results"][0]["id"].as_str(),
            v["results"][0]["match"].as_str()
        ),
        (Some("P1"), Some("identifier"))
    );

    // An entity with its edges and their sources, paginated.
    let (st, v, _) = call(&s, "GET", "/v1/entities/A2?limit=1", t, true, None);
    assert_eq!(st, 200);
    let pos = v["edges"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["kind"] == "POSITION")
        .expect("positions")
        .clone();
    assert_eq!(
        (
            pos["total"].as_u64(),
            pos["edges"].as_array().map(Vec::len),
            pos["truncated"].as_bool()
        ),
        (Some(2), Some(1), Some(true))
    );
    assert_eq!(pos["edges"][0]["source"]["file"], "positions.csv");

    // Paths.
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/paths?from=P1&to=C1&kinds=RELATION,OWNS",
        t,
        true,
        None,
    );
    assert_eq!((st, v["hops"].as_u64()), (200, Some(2)), "{v}");
    assert_eq!(v["paths"][0]["edges"][1]["source"]["file"], "ownership.csv");
    let (_, v, _) = call(
        &s,
        "GET",
        "/v1/paths?from=P1&to=C1&kinds=RELATION,OWNS&as_of=2015-06-01",
        t,
        true,
        None,
    );
    assert_eq!(v["hops"], Value::Null);
    assert!(v["message"]
        .as_str()
        .expect("message")
        .contains("no chain within 6 hops"));

    // Findings, filtered and paginated; an official's roll-up.
    let (_, v, _) = call(
        &s,
        "GET",
        "/v1/findings?severity=red&limit=2",
        t,
        true,
        None,
    );
    assert_eq!(
        (v["total"].as_u64(), v["findings"].as_array().map(Vec::len)),
        (Some(4), Some(2)),
        "{v}"
    );
    let (_, v, _) = call(
        &s,
        "GET",
        "/v1/findings?agency=A2&rule=relative_wins",
        t,
        true,
        None,
    );
    assert_eq!(v["total"], 1);
    let finding = v["findings"][0]["id"].as_str().expect("id").to_owned();
    let (_, v, _) = call(&s, "GET", "/v1/officials/P1/risk", t, true, None);
    assert_eq!(
        (v["colour"].as_str(), v["findings"].as_u64()),
        (Some("red"), Some(3)),
        "{v}"
    );

    // Pre-award screening of the tender: findings and a verdict.
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/screen",
        t,
        true,
        Some(json!({"tender": "T1"}).to_string()),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "red");
    let patterns: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["pattern"].as_str())
        .collect();
    // The rule files answer, asked before the award: the official's relative behind a bidder
    // is `relative_wins`, as in batch screening.
    assert!(
        patterns.contains(&"relative_wins")
            && patterns.contains(&"bid_rigging")
            && patterns.contains(&"blacklisted_bidder"),
        "{patterns:?}"
    );
    assert!(v["checked"]["method"]
        .as_str()
        .is_some_and(|m| m.starts_with("the rule files")));
    assert!(v.get("clearance").is_none());

    // A clean bidder list gets a signed clearance that verifies, and fails once altered.
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/screen",
        t,
        true,
        Some(json!({"agency": "A1", "bidders": ["C2"], "as_of": "2019-03-01"}).to_string()),
    );
    assert_eq!((st, v["verdict"].as_str()), (200, Some("clear")), "{v}");
    let clearance = v["clearance"].clone();
    assert!(clearance["checked"]["method"]
        .as_str()
        .is_some_and(|m| m.starts_with("the rule files")));
    assert!(clearance["checked"]["rules"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x == "relative_wins")));
    let (_, ok, _) = call(
        &s,
        "POST",
        "/v1/clearances/verify",
        t,
        false,
        Some(clearance.to_string()),
    );
    assert_eq!(
        (ok["valid"].as_bool(), ok["data_unchanged_since"].as_bool()),
        (Some(true), Some(true))
    );
    let mut forged = clearance.clone();
    forged["checked"]["bidders"] = json!(["C1"]);
    let (_, bad, _) = call(
        &s,
        "POST",
        "/v1/clearances/verify",
        t,
        false,
        Some(forged.to_string()),
    );
    assert_eq!(bad["valid"], false);

    // Exports parse as XML and hold the expected nodes and edges.
    let (st, gml, ct) = call(
        &s,
        "GET",
        "/v1/subgraph?center=P1&hops=1&format=graphml",
        t,
        true,
        None,
    );
    assert_eq!((st, ct.as_str()), (200, "application/graphml+xml"));
    let gml = gml.as_str().expect("text").to_owned();
    let (nodes, edges) = xml_counts(&gml, "node", "edge");
    let (jst, j, _) = call(
        &s,
        "GET",
        "/v1/subgraph?center=P1&hops=1&format=json",
        t,
        true,
        None,
    );
    assert_eq!(jst, 200);
    assert_eq!(
        (nodes, edges),
        (
            j["nodes"].as_array().map_or(0, Vec::len),
            j["edges"].as_array().map_or(0, Vec::len)
        )
    );
    assert_eq!(nodes, 6, "P1 and its 5 neighbours: A2, P2, K1, S1, T1");
    let (_, gexf, _) = call(
        &s,
        "GET",
        "/v1/subgraph?center=P1&hops=1&format=gexf",
        t,
        true,
        None,
    );
    assert_eq!(
        xml_counts(gexf.as_str().expect("text"), "node", "edge"),
        (nodes, edges)
    );

    // A finding's evidence exports as its chain: the same nodes as the finding names.
    let (st, fj, _) = call(
        &s,
        "GET",
        &format!("/v1/subgraph?finding={finding}&format=json"),
        t,
        true,
        None,
    );
    assert_eq!(st, 200, "{fj}");
    let (_, one, _) = call(&s, "GET", &format!("/v1/findings/{finding}"), t, true, None);
    let ids = |v: &Value| -> std::collections::BTreeSet<String> {
        v.as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["id"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(ids(&fj["nodes"]), ids(&one["finding"]["evidence"]["nodes"]));
    assert_eq!(
        fj["edges"].as_array().map(Vec::len),
        one["finding"]["evidence"]["edges"].as_array().map(Vec::len)
    );
    let (_, gexf, _) = call(
        &s,
        "GET",
        &format!("/v1/subgraph?finding={finding}&format=gexf"),
        t,
        true,
        None,
    );
    assert_eq!(
        xml_counts(gexf.as_str().expect("text"), "node", "edge").0,
        ids(&fj["nodes"]).len()
    );
    let (st, _, _) = call(&s, "GET", "/v1/subgraph?finding=nope", t, true, None);
    assert_eq!(st, 404, "an unknown finding");

    // Evidence bundle: hashed, signed, with source rows and the rule text.
    let (st, ev, _) = call(
        &s,
        "POST",
        &format!("/v1/evidence/{finding}"),
        t,
        true,
        None,
    );
    assert_eq!(st, 200, "{ev}");
    assert_eq!(ev["bundle"]["rule"]["id"], "relative_wins");
    assert!(ev["bundle"]["edges"][0]["source"]["file_sha256"]
        .as_str()
        .is_some_and(|h| h.len() == 64));
    assert_eq!(ev["sha256"].as_str().map(str::len), Some(64));

    // Unknown things are JSON 404s.
    assert_eq!(
        call(&s, "GET", "/v1/entities/NOPE", t, true, None).1["error"]["code"],
        "not_found"
    );
    assert_eq!(call(&s, "GET", "/v1/nonesuch", t, true, None).0, 404);
}

/// Counts elements named `a` and `b`, failing on malformed XML.
fn xml_counts(xml: &str, a: &str, b: &str) -> (usize, usize) {
    let mut r = quick_xml::Reader::from_str(xml);
    let (mut na, mut nb) = (0, 0);
    loop {
        match r.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                if e.name().as_ref() == a {
                    na += 1;
                } else if e.name().as_ref() == b {
                    nb += 1;
                }
            }
            quick_xml::events::Event::Eof => return (na, nb),
            _ => {}
        }
    }
}

#[test]
fn roles_see_what_they_may_and_nothing_else() {
    let s = start(&tiny(), "anon_rate_burst = 1000.0\n");
    let probes: Vec<(&str, &str, Option<String>)> = vec![
        ("GET", "/v1/openapi.json", None),
        ("GET", "/v1/entities?q=P1", None),
        ("GET", "/v1/entities/P1", None),
        ("GET", "/v1/paths?from=P1&to=C1", None),
        (
            "POST",
            "/v1/screen",
            Some(json!({"tender": "T1"}).to_string()),
        ),
        ("GET", "/v1/findings", None),
        ("GET", "/v1/officials/P1/risk", None),
        ("GET", "/v1/subgraph?center=P1", None),
        ("POST", "/v1/evidence/0000000000000000", None),
        (
            "POST",
            "/v1/clearances/verify",
            Some(json!({"signature": "x"}).to_string()),
        ),
        ("GET", "/v1/admin/tokens", None),
        ("GET", "/v1/admin/loads", None),
        ("GET", "/v1/audit", None),
        ("GET", "/v1/audit/verify", None),
        ("GET", "/v1/alerts?since=0", None),
    ];
    let allowed: &[(&str, &[usize])] = &[
        ("investigator", &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14]),
        ("analyst", &[0, 1, 2, 3, 4, 5, 6, 9, 14]),
        ("admin", &[0, 10, 11]),
        ("auditor", &[0, 9, 12, 13]),
    ];
    for (role, ok) in allowed {
        let t = s.token(role);
        for (i, (m, p, b)) in probes.iter().enumerate() {
            let (st, v, _) = call(&s, m, p, Some(&t), true, b.clone());
            if ok.contains(&i) {
                assert_ne!(st, 403, "{role} may use {m} {p}: {v}");
                assert_ne!(st, 401);
            } else {
                assert_eq!(
                    (st, v["error"]["code"].as_str()),
                    (403, Some("forbidden")),
                    "{role} may not use {m} {p}"
                );
            }
        }
    }
    // Without a token, or with a wrong one, everything but /healthz is 401.
    for (m, p, b) in &probes {
        assert_eq!(call(&s, m, p, None, true, b.clone()).0, 401, "{m} {p}");
        assert_eq!(
            call(&s, m, p, Some("qlt_0000_nope"), true, b.clone()).0,
            401,
            "{m} {p}"
        );
    }
}

#[test]
fn analysts_see_relatives_pseudonymised() {
    let s = start(&tiny(), DEFAULT);
    let a = s.token("analyst");
    let (_, v, _) = call(&s, "GET", "/v1/entities/P2", Some(&a), true, None);
    assert!(
        v["name"].as_str().is_some_and(|n| n.starts_with("某人-")),
        "P2 holds no position: {v}"
    );
    assert!(v.get("identifier").is_none());
    let (_, v, _) = call(&s, "GET", "/v1/entities/P1", Some(&a), true, None);
    assert_eq!(v["name"], "张伟", "officials keep their names");
    let (_, v, _) = call(
        &s,
        "GET",
        "/v1/findings?rule=relative_wins",
        Some(&a),
        true,
        None,
    );
    let f = &v["findings"][0];
    assert!(
        !f["explanation"].as_str().expect("text").contains("李娜"),
        "{f}"
    );
    assert!(
        !f.to_string().contains("李娜"),
        "no trace of the relative's name: {f}"
    );
    let i = s.token("investigator");
    let (_, v, _) = call(
        &s,
        "GET",
        "/v1/findings?rule=relative_wins",
        Some(&i),
        true,
        None,
    );
    assert!(v["findings"][0]["explanation"]
        .as_str()
        .expect("text")
        .contains("李娜"));
}

#[test]
fn case_numbers_limits_and_errors() {
    let s = start(
        &tiny(),
        "rate_per_second = 1.0\nrate_burst = 40.0\nmax_body_bytes = 2048\n",
    );
    let t = s.token("investigator");
    let t = Some(t.as_str());
    let (st, v, _) = call(&s, "GET", "/v1/findings", t, false, None);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("case_required"))
    );
    let big = json!({"agency": "A1", "bidders": vec!["C2"; 1000]}).to_string();
    let (st, v, _) = call(&s, "POST", "/v1/screen", t, true, Some(big));
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
    let (st, v, _) = call(&s, "POST", "/v1/screen", t, true, Some("{not json".into()));
    assert_eq!((st, v["error"]["code"].as_str()), (400, Some("bad_json")));
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/paths?from=P1&to=C1&max_hops=40",
        t,
        true,
        None,
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("bad_parameter"))
    );
    let (st, _, _) = call(&s, "GET", "/v1/findings?limit=100000", t, true, None);
    assert_eq!(st, 400);
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/screen",
        t,
        true,
        Some(json!({"agency": "A1", "bidders": ["C404"]}).to_string()),
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (404, Some("unknown_ids"))
    );
    // The burst runs out: 429 with Retry-After, as JSON.
    let mut limited = 0;
    for _ in 0..60 {
        let (st, v, _) = call(&s, "GET", "/v1/openapi.json", t, false, None);
        if st == 429 {
            assert_eq!(v["error"]["code"], "rate_limited");
            limited += 1;
        }
    }
    assert!(limited > 0, "the per-token rate limit bites");
}

#[test]
fn load_beyond_the_concurrency_limit_is_shed_with_503() {
    let s = start(
        &tiny(),
        "max_concurrent = 1\nrate_burst = 100000.0\nrate_per_second = 100000.0\n",
    );
    let t = s.token("investigator");
    let codes: Vec<u16> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..16)
            .map(|_| {
                sc.spawn(|| {
                    (0..10)
                        .map(|_| {
                            let (st, v, _) = call(
                                &s,
                                "POST",
                                "/v1/screen",
                                Some(&t),
                                true,
                                Some(json!({"tender": "T1"}).to_string()),
                            );
                            if st == 503 {
                                assert_eq!(v["error"]["code"], "overloaded");
                            }
                            st
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(codes.iter().all(|c| *c == 200 || *c == 503), "{codes:?}");
    assert!(codes.contains(&503), "some requests were shed");
    assert!(codes.contains(&200), "and some served");
}

#[test]
fn a_deadline_stops_a_path_search_from_inside() {
    // A hub related to 300,000 people: a search from it must stop at the deadline.
    let dir = tempfile::tempdir().expect("tempdir");
    let b = dir.path().join("hub");
    std::fs::create_dir(&b).expect("mkdir");
    let mut people =
        String::from("id,name,id_number,birth_date,death_date\nHUB,中心,,,\nLONE,孤,,,\n");
    let mut rel = String::from("person_id,relative_id,relation\n");
    for i in 0..300_000 {
        people.push_str(&format!("Q{i},某{i},,,\n"));
        rel.push_str(&format!("HUB,Q{i},associate\n"));
        if i > 0 {
            rel.push_str(&format!("Q{},Q{i},associate\n", i - 1));
        }
    }
    std::fs::write(b.join("people.csv"), people).expect("write");
    std::fs::write(b.join("relations.csv"), rel).expect("write");
    let s = start(&b, "request_timeout_ms = 1\n");
    let t = s.token("investigator");
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/paths?from=HUB&to=LONE&max_hops=6",
        Some(&t),
        true,
        None,
    );
    assert!(
        (st == 200 && v["truncated"] == true)
            || (st == 503 && v["error"]["code"] == "deadline_exceeded"),
        "a capped answer says so: {st} {v}"
    );
}

#[test]
fn every_request_is_audited_and_tampering_is_detected() {
    let s = start(&tiny(), DEFAULT);
    let t = s.token("investigator");
    let aud = s.token("auditor");
    call(&s, "GET", "/v1/findings", Some(&t), true, None);
    // The record is on disk by the time the response arrives.
    let log = std::fs::read_to_string(s.db.join("audit.log")).expect("audit.log");
    let last: Value = serde_json::from_str(log.lines().last().expect("a record")).expect("json");
    assert_eq!(last["entry"]["route"], "findings");
    assert_eq!(last["entry"]["case"], "C-2026-0042");
    assert_eq!(last["entry"]["purpose"], "integration test");
    assert_eq!(last["entry"]["status"], 200);
    assert_eq!(last["entry"]["result"]["count"], 6);
    // Refusals are recorded too.
    call(&s, "GET", "/v1/findings", None, true, None);
    call(&s, "GET", "/v1/findings", Some(&t), false, None);
    let (_, v, _) = call(&s, "GET", "/v1/audit?limit=500", Some(&aud), false, None);
    let statuses: Vec<u64> = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["entry"]["status"].as_u64())
        .collect();
    assert!(
        statuses.contains(&401) && statuses.contains(&400),
        "{statuses:?}"
    );
    let (_, v, _) = call(&s, "GET", "/v1/audit/verify", Some(&aud), false, None);
    assert_eq!(v["valid"], true);
    let db = s.db.to_str().expect("path");
    qinglian(&["audit", "verify", "--db", db]);
    // Revocation takes effect on the running server.
    let id = qinglian(&["token", "list", "--db", db])
        .lines()
        .next()
        .expect("a token")
        .split(' ')
        .next()
        .expect("id")
        .to_owned();
    qinglian(&["token", "revoke", &id, "--db", db]);
    let (st, v, _) = call(&s, "GET", "/v1/findings", Some(&t), true, None);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("token_revoked"))
    );
    // Tampering: edit one record.
    let path = s.db.join("audit.log");
    let text = std::fs::read_to_string(&path).expect("log");
    std::fs::write(&path, text.replacen("C-2026-0042", "C-2026-9999", 1)).expect("write");
    let o = bin()
        .args(["audit", "verify", "--db", db])
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(1),
        "an edited record fails verification"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("was altered"));
    // And cutting records off the end.
    let cut: Vec<&str> = text.lines().collect();
    std::fs::write(&path, cut[..cut.len() - 1].join("\n") + "\n").expect("write");
    let o = bin()
        .args(["audit", "verify", "--db", db])
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(1),
        "a cut-off record fails verification"
    );
}

#[test]
fn exports_escape_spreadsheet_formulas_and_generate_file_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = dir.path().join("b");
    std::fs::create_dir(&b).expect("mkdir");
    std::fs::write(
        b.join("people.csv"),
        "id,name,id_number,birth_date,death_date\nP1,\"=HYPERLINK(\"\"http://x\"\")\",,,\n",
    )
    .expect("write");
    std::fs::write(
        b.join("companies.csv"),
        "id,name,credit_code,address,phone,founded,status\nC1,@SUM(A1),,,,,\n",
    )
    .expect("write");
    std::fs::write(
        b.join("roles.csv"),
        "person_id,company_id,role,start,end\nP1,C1,director,,\n",
    )
    .expect("write");
    let s = start(&b, DEFAULT);
    let t = s.token("investigator");
    // The names are in the node table (Gephi's edge table names ends by id).
    let url = format!("{}/v1/subgraph?center=P1&format=csv&table=nodes", s.base);
    let mut r = agent()
        .get(&url)
        .header("Authorization", &format!("Bearer {t}"))
        .header("X-Case-Id", "C-1")
        .header("X-Purpose", "p")
        .call()
        .expect("answer");
    let disposition = r
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"qinglian-subgraph-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let csv = r.body_mut().read_to_string().expect("body");
    assert!(
        csv.contains("'=HYPERLINK") && csv.contains("'@SUM(A1)"),
        "formulas are neutralised: {csv}"
    );
    assert!(!csv.contains(",=") && !csv.contains(",@"), "{csv}");
}

/// One rule semantics: an edited rule file reaches batch screening (`screen --rules`) and the
/// API's findings (`serve --rules`) together, and they agree.
#[test]
fn a_rule_edit_reaches_the_cli_and_the_api_together() {
    let demo = common::root().join("data-samples/zone");
    let rules = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(common::root().join("queries/relative_wins.toml")).expect("rule");
    let edited = text.replace("{spouse|parent|child|sibling|in_law}*1..2", "{spouse}*1..1");
    assert_ne!(edited, text);
    std::fs::write(rules.path().join("relative_wins.toml"), edited).expect("write");
    let dir = rules.path().to_str().expect("path");
    let ids_of = |jsonl: &str| -> Vec<String> {
        let mut v: Vec<String> = jsonl
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|f| f["id"].as_str().map(str::to_owned))
            .collect();
        v.sort();
        v
    };
    let demo_s = demo.to_str().expect("path");
    let batch = |extra: &[&str]| {
        let mut args = vec!["screen", "--bundle", demo_s, "--rule", "relative_wins"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--format", "jsonl"]);
        ids_of(&qinglian(&args))
    };
    let (before, after) = (batch(&[]), batch(&["--rules", dir]));
    assert_ne!(before, after, "the edit changes what the rule finds");
    let api = |s: &common::Server| -> Vec<String> {
        let t = s.token("investigator");
        let (st, v, _) = call(
            s,
            "GET",
            "/v1/findings?rule=relative_wins&limit=500",
            Some(&t),
            true,
            None,
        );
        assert_eq!(st, 200, "{v}");
        let mut ids: Vec<String> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        api(&start(&demo, "")),
        before,
        "built-in rules: CLI and API agree"
    );
    let edited = common::start_with(&demo, "", &["--rules", dir]);
    assert_eq!(api(&edited), after, "edited rule: CLI and API agree");
}
