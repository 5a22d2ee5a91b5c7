//! The workbench's server side, over HTTP (the browser itself: tests/ui.rs): decisions on
//! findings survive new loads while the evidence is the same and lapse when it changes;
//! sessions carry the case into the audit trail, need the CSRF token for changes and end with
//! their token; free text stays away from analysts.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

fn with_cookie(
    s: &Server,
    method: &str,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", s.base);
    let a = agent();
    let resp = if method == "GET" {
        a.get(&url).header("Cookie", cookie).call()
    } else {
        let mut r = a
            .post(&url)
            .header("Cookie", cookie)
            .header("Content-Type", "application/json");
        if let Some(c) = csrf {
            r = r.header("X-CSRF-Token", c);
        }
        r.send(body.unwrap_or(json!({})).to_string())
    };
    let mut resp = resp.expect("answers");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A server on `db`, kept in `keep`'s folder (the database outlives the server).
fn serve(db: &Path) -> Server {
    serve_on(tempfile::tempdir().expect("tmp"), db.to_path_buf(), "", &[])
}

fn ingest(bundle: &Path, db: &Path) {
    qinglian(&[
        "ingest",
        bundle.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
        "--source",
        "zone",
    ]);
}

/// Loads the bundle again, serves the database and answers `GET /v1/findings/{id}` there.
fn reload_and_get(bundle: &Path, db: &Path, token: &str, id: &str) -> (Server, Value) {
    ingest(bundle, db);
    let s = serve(db);
    let path = format!("/v1/findings/{id}");
    let v = call(&s, "GET", &path, Some(token), true, None).1;
    (s, v)
}

#[test]
fn a_dismissal_holds_until_the_evidence_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("zone");
    copy_dir(&root().join("data-samples/zone"), &bundle);
    let db = dir.path().join("db");
    ingest(&bundle, &db);
    let s = serve(&db);
    let t = s.token("investigator");
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/findings?rule=relative_wins&severity=red&limit=1",
        Some(&t),
        true,
        None,
    );
    assert_eq!(st, 200, "{v}");
    let f = v["findings"][0].clone();
    let id = f["id"].as_str().expect("id").to_owned();
    let target = f["target"].as_str().expect("target").to_owned();
    let path = format!("/v1/findings/{id}/state");
    let (st, v, _) = call(
        &s,
        "POST",
        &path,
        Some(&t),
        true,
        Some(json!({"status": "dismissed"}).to_string()),
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("bad_body")),
        "a dismissal needs a reason: {v}"
    );
    let body = json!({"status": "dismissed", "reason": "亲属关系已解除，经核实"}).to_string();
    let (st, v, _) = call(&s, "POST", &path, Some(&t), true, Some(body));
    assert_eq!((st, v["status"].as_str()), (200, Some("dismissed")), "{v}");
    let listed = |s: &Server, status: &str| -> Vec<String> {
        let (_, v, _) = call(
            s,
            "GET",
            &format!("/v1/findings?status={status}&limit=500"),
            Some(&t),
            true,
            None,
        );
        v["findings"]
            .as_array()
            .expect("list")
            .iter()
            .map(|f| f["id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(listed(&s, "dismissed"), std::slice::from_ref(&id));
    assert!(!listed(&s, "open").contains(&id));
    drop(s);

    // A new load with the same evidence (one unrelated person more): still dismissed.
    let people = bundle.join("people.csv");
    let mut text = std::fs::read_to_string(&people).expect("people");
    text.push_str("P0009999,新来的人,,1990-01-01,\n");
    std::fs::write(&people, &text).expect("write");
    let (s, v) = reload_and_get(&bundle, &db, &t, &id);
    assert_eq!(v["state"]["status"], "dismissed", "{v}");
    assert_eq!(v["state"]["stale"], false);
    drop(s); // the next server opens the workbench store this one holds

    // The company in the chain renamed: the evidence changed, the finding is open again.
    let companies = bundle.join("companies.csv");
    let text = std::fs::read_to_string(&companies).expect("companies");
    let renamed: Vec<String> = text
        .lines()
        .map(|l| match l.split_once(',') {
            Some((cid, rest)) if cid == target => {
                let (_, after) = rest.split_once(',').expect("name column");
                format!("{cid},改名后的公司有限公司,{after}")
            }
            _ => l.to_owned(),
        })
        .collect();
    std::fs::write(&companies, renamed.join("\n") + "\n").expect("write");
    let (s, v) = reload_and_get(&bundle, &db, &t, &id);
    assert!(
        v["finding"]["explanation"]
            .as_str()
            .unwrap_or("")
            .contains("改名后的公司"),
        "{v}"
    );
    assert_eq!(v["state"]["status"], "open", "{v}");
    assert_eq!(v["state"]["stale"], true);
    assert_eq!(v["state"]["decided_status"], "dismissed");
    assert!(listed(&s, "open").contains(&id));
}

#[test]
fn sessions_carry_the_case_need_csrf_and_end_with_their_token() {
    let s = start(&root().join("data-samples/zone"), "");
    let t = s.token("investigator");
    let resp = agent()
        .post(&format!("{}/ui/session", s.base))
        .header("Authorization", &format!("Bearer {t}"))
        .send_empty()
        .expect("answers");
    assert_eq!(resp.status().as_u16(), 200);
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().expect("pair").to_owned();

    let (st, me) = with_cookie(&s, "GET", "/ui/session", &cookie, None, None);
    assert_eq!(
        (st, me["role"].as_str()),
        (200, Some("investigator")),
        "{me}"
    );
    let csrf = me["csrf"].as_str().expect("csrf").to_owned();
    let (st, v) = with_cookie(&s, "GET", "/v1/findings?limit=1", &cookie, None, None);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("case_required")),
        "{v}"
    );
    let case = json!({"case": "C-2026-0099", "purpose": "线索核查"});
    for bad in [None, Some("forged"), Some("")] {
        let (st, v) = with_cookie(
            &s,
            "POST",
            "/ui/session/case",
            &cookie,
            bad,
            Some(case.clone()),
        );
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (403, Some("csrf")),
            "{bad:?}: {v}"
        );
    }
    let (st, v) = with_cookie(
        &s,
        "POST",
        "/ui/session/case",
        &cookie,
        Some(&csrf),
        Some(case),
    );
    assert_eq!((st, v["case"].as_str()), (200, Some("C-2026-0099")), "{v}");
    let (st, v) = with_cookie(&s, "GET", "/v1/findings?limit=1", &cookie, None, None);
    assert_eq!(st, 200, "{v}");

    // The trail names the case and the token for requests made in the session.
    let auditor = s.token("auditor");
    let (_, trail, _) = call(
        &s,
        "GET",
        "/v1/audit?case=C-2026-0099&limit=500",
        Some(&auditor),
        false,
        None,
    );
    let recs = trail["records"].as_array().expect("records");
    let id = t.split('_').nth(1).expect("token id");
    assert!(
        recs.iter().any(|r| r["entry"]["route"] == "findings"
            && r["entry"]["token_id"] == id
            && r["entry"]["purpose"] == "线索核查"),
        "{trail}"
    );
    assert!(
        recs.iter().all(|r| !r.to_string().contains(&t)),
        "the token never reaches the trail"
    );

    // Pages need no session; they carry the Content-Security-Policy.
    let page = agent()
        .get(&format!("{}/ui/finding/x", s.base))
        .call()
        .expect("page");
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    // Revoking the token ends the session at its next request.
    qinglian(&["token", "revoke", id, "--db", s.db.to_str().expect("path")]);
    let (st, v) = with_cookie(&s, "GET", "/v1/findings?limit=1", &cookie, None, None);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("token_revoked")),
        "{v}"
    );
}

#[test]
fn analysts_see_no_free_text_and_no_cases() {
    let s = start(&root().join("data-samples/zone"), "");
    let inv = s.token("investigator");
    let ana = s.token("analyst");
    let (_, v, _) = call(&s, "GET", "/v1/findings?limit=1", Some(&inv), true, None);
    let id = v["findings"][0]["id"].as_str().expect("id").to_owned();
    let note = json!({"comment": "与万雅琴核实过", "assignee": "王科长"}).to_string();
    let (st, v, _) = call(
        &s,
        "POST",
        &format!("/v1/findings/{id}/state"),
        Some(&inv),
        true,
        Some(note),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v, _) = call(
        &s,
        "GET",
        &format!("/v1/findings/{id}"),
        Some(&ana),
        true,
        None,
    );
    assert_eq!(st, 200, "{v}");
    assert!(!v.to_string().contains("万雅琴"), "{v}");
    assert_eq!(v["state"]["history"][0]["text"], "(withheld from analysts)");
    let (st, _, _) = call(
        &s,
        "POST",
        &format!("/v1/findings/{id}/state"),
        Some(&ana),
        true,
        Some(json!({"comment": "x"}).to_string()),
    );
    assert_eq!(st, 403, "analysts do not decide");
    let (st, _, _) = call(&s, "GET", "/v1/cases", Some(&ana), true, None);
    assert_eq!(st, 403, "nor read cases");
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/cases",
        Some(&inv),
        true,
        Some(json!({"number": "C-1", "title": "t"}).to_string()),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/cases",
        Some(&inv),
        true,
        Some(json!({"number": "C-1"}).to_string()),
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("case_exists"))
    );
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/cases/C-1",
        Some(&inv),
        true,
        Some(json!({"attach": ["nope"]}).to_string()),
    );
    assert_eq!(st, 404, "{v}");
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/cases/C-1",
        Some(&inv),
        true,
        Some(json!({"attach": [id], "note": "先查合同"}).to_string()),
    );
    assert_eq!(
        (st, v["findings"][0]["id"].as_str()),
        (200, Some(id.as_str())),
        "{v}"
    );
    assert_eq!(v["notes"][0]["text"], "先查合同");
}

#[test]
fn a_second_server_on_the_folder_lists_findings_without_decisions() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("db");
    ingest(&root().join("data-samples/zone"), &db);
    let first = serve(&db);
    let t = first.token("investigator");
    let (st, v, _) = call(&first, "GET", "/v1/cases", Some(&t), true, None);
    assert_eq!(st, 200, "the first server holds the workbench store: {v}");
    let second = serve(&db);
    let (st, v, _) = call(&second, "GET", "/v1/findings?limit=2", Some(&t), true, None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["decisions_unavailable"], true);
    assert!(v["findings"][0]["state"].is_null(), "{v}");
    let id = v["findings"][0]["id"].as_str().expect("id").to_owned();
    let (st, v, _) = call(
        &second,
        "GET",
        &format!("/v1/findings/{id}"),
        Some(&t),
        true,
        None,
    );
    assert_eq!((st, v["state"].is_null()), (200, true), "{v}");
    let (st, v, _) = call(
        &second,
        "GET",
        "/v1/findings?status=open",
        Some(&t),
        true,
        None,
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (503, Some("workbench_unavailable")),
        "{v}"
    );
}

/// The ids of `rule`'s findings whose `field` is `value`.
fn ids_where(s: &Server, t: &str, rule: &str, field: &str, value: &str) -> Vec<String> {
    let (st, v, _) = call(
        s,
        "GET",
        &format!("/v1/findings?rule={rule}&limit=500"),
        Some(t),
        true,
        None,
    );
    assert_eq!(st, 200, "{v}");
    v["findings"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|f| f[field] == value)
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect()
}

fn related_of(s: &Server, t: &str, id: &str) -> Vec<(String, String)> {
    let (st, v, _) = call(s, "GET", &format!("/v1/findings/{id}"), Some(t), true, None);
    assert_eq!(st, 200, "{v}");
    v["related"]
        .as_array()
        .expect("related")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            (s("pattern"), s("id"))
        })
        .collect()
}

#[test]
fn a_single_bid_won_by_an_officials_relative_is_one_case_with_both_signs() {
    // In the demo zone, contract K000061 of tender T000051 went to C000102, controlled by a
    // relative of the official P0000031 (relative_wins, red). Keep only the winner's bid on
    // T000051: the same procedure is now also a single bid (single_bid).
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("zone");
    copy_dir(&root().join("data-samples/zone"), &bundle);
    let bids = std::fs::read_to_string(bundle.join("bids.csv")).expect("bids");
    let kept: String = bids
        .lines()
        .filter(|l| !l.starts_with("T000051,") || l.contains(",C000102,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        bids.lines().count() - kept.lines().count(),
        3,
        "three rival bids"
    );
    std::fs::write(bundle.join("bids.csv"), kept).expect("write");
    let db = dir.path().join("db");
    ingest(&bundle, &db);
    let s = serve(&db);
    let t = s.token("investigator");
    let single = ids_where(&s, &t, "single_bid", "target", "T000051");
    let relative = ids_where(&s, &t, "relative_wins", "ref", "K000061");
    assert_eq!(
        (single.len(), relative.len()),
        (1, 1),
        "{single:?} {relative:?}"
    );
    let (single, relative) = (&single[0], &relative[0]);
    // Each finding names the other as a sign on the same procedure; unrelated ones do not.
    let of_relative = related_of(&s, &t, relative);
    assert!(
        of_relative.contains(&("single_bid".to_owned(), single.clone())),
        "{of_relative:?}"
    );
    assert!(
        related_of(&s, &t, single).contains(&("relative_wins".to_owned(), relative.clone())),
        "the relation holds both ways"
    );
    let other = ids_where(&s, &t, "relative_wins", "ref", "K000060");
    assert_eq!(other.len(), 1);
    assert!(
        !related_of(&s, &t, &other[0])
            .iter()
            .any(|(_, id)| id == single),
        "another procedure's finding is not related"
    );
    // One case holds both, as the workbench's attach form sends them.
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/cases",
        Some(&t),
        true,
        Some(json!({"number": "Z-51", "title": "T000051"}).to_string()),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v, _) = call(
        &s,
        "POST",
        "/v1/cases/Z-51",
        Some(&t),
        true,
        Some(json!({"attach": [relative, single]}).to_string()),
    );
    assert_eq!(st, 200, "{v}");
    let attached: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["pattern"].as_str())
        .collect();
    assert!(
        attached.contains(&"relative_wins") && attached.contains(&"single_bid"),
        "{v}"
    );
}
