//! Living data (issue 10): the scenarios of a monthly refresh, run through the CLI on copies of
//! the demo bundle — a reload stores no duplicate, a changed supplier is taken and reported, a
//! dangling one is rejected with the database unchanged, a stake absent from a snapshot load is
//! retracted (and kept by a delta load), a position's new end date is in force — and the
//! database after two loads answers as fresh loads of each state do (`--known-at`, `--since`).

mod common;

use common::{bin, qinglian, root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A copy of the demo bundle under `dir/name`.
fn copy_demo(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for e in std::fs::read_dir(root().join("data-samples/zone")).expect("demo") {
        let e = e.expect("entry");
        if e.path().extension().is_some_and(|x| x == "csv") {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
    to
}

/// Replaces the first line of `file` that starts with `prefix` by `f(line)`.
fn edit_line(bundle: &Path, file: &str, prefix: &str, f: impl Fn(&str) -> String) {
    let p = bundle.join(file);
    let text = std::fs::read_to_string(&p).expect("read");
    let mut done = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                f(l)
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(done, "{file}: no line starts with {prefix}");
    std::fs::write(&p, out.join("\n") + "\n").expect("write");
}

fn ingest(db: &Path, bundle: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "ingest",
        bundle.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ];
    args.extend_from_slice(extra);
    let o = bin().args(&args).output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "qinglian {args:?}: {text}");
    text
}

fn stats(db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["stats", "--json", "--db", db.to_str().expect("path")];
    args.extend_from_slice(extra);
    serde_json::from_str(&qinglian(&args)).expect("json")
}

/// Findings as id -> (rule, severity, score).
fn findings(db: &Path, extra: &[&str]) -> BTreeMap<String, (String, String, String)> {
    let mut args = vec!["screen", "--db", db.to_str().expect("path")];
    args.extend_from_slice(extra);
    qinglian(&args)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json line");
            (
                v["id"].as_str().expect("id").to_owned(),
                (
                    v["pattern"].to_string(),
                    v["severity"].to_string(),
                    v["score"].to_string(),
                ),
            )
        })
        .collect()
}

fn show(db: &Path, id: &str) -> Value {
    serde_json::from_str(&qinglian(&[
        "show",
        id,
        "--json",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json")
}

/// `show ID --json --history`.
fn history(db: &Path, id: &str) -> Value {
    serde_json::from_str(&qinglian(&[
        "show",
        id,
        "--json",
        "--history",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json")
}

/// The far ends of `id`'s edges of `kind`.
fn neighbours(db: &Path, id: &str, kind: &str) -> Vec<String> {
    let v = show(db, id);
    let mut out = Vec::new();
    for g in v["edges"].as_array().expect("edges") {
        if g["kind"] == kind {
            for e in g["edges"].as_array().expect("edges") {
                let far = if e["from"] == id {
                    &e["to"]
                } else {
                    &e["from"]
                };
                out.push(far.as_str().expect("id").to_owned());
            }
        }
    }
    out
}

#[test]
fn reloading_a_bundle_with_one_change_stores_no_duplicate_and_takes_the_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    edit_line(&b, "contracts.csv", "K000000,", |l| {
        l.replacen(",C000024,", ",C000025,", 1)
    });
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let before = stats(&db, &[]);
    assert_eq!(neighbours(&db, "K000000", "TO"), ["C000024"]);
    let out = ingest(&db, &b, &["--source", "zone"]);
    assert!(
        out.contains("contracts.csv:2:3") && out.contains("C000024 -> C000025"),
        "the change is reported with file, line, column and both values:\n{out}"
    );
    let after = stats(&db, &[]);
    assert_eq!(before["edges"], after["edges"], "no edge twice");
    assert_eq!(before["blacklist"], after["blacklist"], "no listing twice");
    assert_eq!(
        neighbours(&db, "K000000", "TO"),
        ["C000025"],
        "the new supplier holds"
    );
    // What load 1 knew, and the change as history.
    let then: Value = serde_json::from_str(&qinglian(&[
        "show",
        "K000000",
        "--json",
        "--known-at",
        "1",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json");
    assert!(then.to_string().contains("C000024") && !then.to_string().contains("C000025"));
    let h: Value = serde_json::from_str(&qinglian(&[
        "show",
        "K000000",
        "--json",
        "--history",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json");
    assert_eq!(
        h["history"],
        serde_json::json!([{"kind": "TO", "from": "K000000", "to": "C000024", "label": "",
            "what": "changed", "at": 2, "file": "contracts.csv", "line": 2, "load": 1}]),
        "{h}"
    );
    // What the database knew after the first load is still there.
    assert_eq!(stats(&db, &["--known-at", "1"])["edges"], before["edges"]);
}

#[test]
fn a_supplier_that_exists_nowhere_is_rejected_and_nothing_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    edit_line(&b, "contracts.csv", "K000000,", |l| {
        l.replacen(",C000024,", ",C999,", 1)
    });
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let before = stats(&db, &[]);
    let o = bin()
        .args(["ingest", b.to_str().expect("path"), "--db"])
        .arg(&db)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "a dangling supplier is an error");
    assert!(
        err.contains("C999") && err.contains("contracts.csv:2"),
        "{err}"
    );
    assert_eq!(stats(&db, &[]), before, "the database is unchanged");
    assert_eq!(neighbours(&db, "K000000", "TO"), ["C000024"]);
}

#[test]
fn a_stake_absent_from_a_snapshot_load_is_retracted_and_a_delta_keeps_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    let text = std::fs::read_to_string(b.join("ownership.csv")).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let gone = lines.remove(1).to_owned();
    std::fs::write(b.join("ownership.csv"), lines.join("\n") + "\n").expect("write");
    let owns = |db: &Path| stats(db, &[])["edges"]["OWNS"].as_u64().expect("count");
    // A delta adds and changes only.
    let db = tmp.path().join("delta");
    ingest(&db, &a, &[]);
    let n = owns(&db);
    ingest(&db, &b, &["--source", "zone", "--mode", "delta"]);
    assert_eq!(owns(&db), n, "a delta load retracts nothing");
    // A snapshot of the same source retracts the stake it no longer states.
    let db = tmp.path().join("snapshot");
    ingest(&db, &a, &[]);
    let out = ingest(&db, &b, &["--source", "zone"]);
    assert_eq!(owns(&db), n - 1, "the absent stake is retracted");
    assert!(out.contains("retracted 1 fact"), "{out}");
    let owner = gone.split(',').next().expect("owner");
    assert!(out.contains(owner), "the retracted stake is named: {out}");
    let company = gone.split(',').nth(1).expect("company");
    let h = history(&db, company);
    assert!(
        h["history"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["what"] == "retracted"
                && x["kind"] == "OWNS"
                && x["from"] == owner
                && x["at"] == 2)),
        "{h}"
    );
    // A snapshot of another source leaves this source's facts alone.
    let db = tmp.path().join("other");
    ingest(&db, &a, &[]);
    ingest(&db, &b, &["--source", "registry"]);
    assert_eq!(owns(&db), n, "another source retracts nothing of this one");
}

/// The first relative_wins finding of the demo, its official and agency, and the day the
/// contract was signed.
/// Every position of `official` at `agency` in `bundle` ends the day it starts: the office no
/// longer covers a later contract.
fn end_positions(bundle: &Path, official: &str, agency: &str) {
    let text = std::fs::read_to_string(bundle.join("positions.csv")).expect("read");
    let prefix = format!("{official},{agency},");
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !l.starts_with(&prefix) {
                return l.to_owned();
            }
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{},{}", f[0], f[1], f[2], f[3], f[3])
        })
        .collect();
    std::fs::write(bundle.join("positions.csv"), out.join("\n") + "\n").expect("write");
}

fn a_relative_wins_finding(db: &Path) -> (String, String, String) {
    let out = qinglian(&[
        "screen",
        "--db",
        db.to_str().expect("path"),
        "--rule",
        "relative_wins",
    ]);
    let v: Value = serde_json::from_str(out.lines().next().expect("a finding")).expect("json");
    (
        v["id"].as_str().expect("id").to_owned(),
        v["official"].as_str().expect("official").to_owned(),
        v["agency"].as_str().expect("agency").to_owned(),
    )
}

#[test]
fn a_new_end_date_is_in_force_and_since_lists_what_appeared_and_disappeared() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let (finding, official, agency) = a_relative_wins_finding(&db);
    end_positions(&b, &official, &agency);
    // Also a supplier change, for a finding to appear or change elsewhere.
    edit_line(&b, "contracts.csv", "K000000,", |l| {
        l.replacen(",C000024,", ",C000025,", 1)
    });
    let load = ingest(&db, &b, &["--source", "zone"]);
    assert!(
        load.contains("positions.csv:") && load.contains("end"),
        "{load}"
    );
    let now = findings(&db, &[]);
    assert!(
        !now.contains_key(&finding),
        "the ended position raises nothing"
    );

    // The same states loaded fresh, one each.
    let fresh = |bundle: &Path, name: &str| {
        let d = tmp.path().join(name);
        ingest(&d, bundle, &[]);
        findings(&d, &[])
    };
    let (first, second) = (fresh(&a, "fresh1"), fresh(&b, "fresh2"));
    assert_eq!(
        now, second,
        "two loads answer as one fresh load of the final data"
    );
    assert_eq!(
        findings(&db, &["--known-at", "1"]),
        first,
        "--known-at 1 answers as load 1 did"
    );

    // --since 1 lists exactly the difference.
    let mut want: BTreeSet<(String, String)> = BTreeSet::new();
    for (id, f) in &second {
        match first.get(id) {
            None => {
                want.insert((id.clone(), "new".into()));
            }
            Some(g) if g != f => {
                want.insert((id.clone(), "changed".into()));
            }
            Some(_) => {}
        }
    }
    for id in first.keys().filter(|id| !second.contains_key(*id)) {
        want.insert((id.clone(), "resolved".into()));
    }
    assert!(want.contains(&(finding.clone(), "resolved".into())));
    let since: BTreeSet<(String, String)> =
        qinglian(&["screen", "--db", db.to_str().expect("path"), "--since", "1"])
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("json");
                (
                    v["id"].as_str().expect("id").to_owned(),
                    v["change"].as_str().expect("change").to_owned(),
                )
            })
            .collect();
    let only_keys = |s: &BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        s.iter().filter(|(_, c)| c != "changed").cloned().collect()
    };
    assert_eq!(only_keys(&since), only_keys(&want));
    // A changed finding is one whose colour or score moved, or whose evidence did.
    for (id, c) in &want {
        if c == "changed" {
            assert!(since.contains(&(id.clone(), "changed".into())), "{id}");
        }
    }
    findings_store_feed(&db, &since, now.len());
}

/// The findings store (recorded by each ingest) answers `--since` as a second screening does,
/// gives each finding its first and last load and status, and `GET /v1/alerts` serves the
/// same feed, paged.
fn findings_store_feed(db: &Path, since: &BTreeSet<(String, String)>, current: usize) {
    let d = db.to_str().expect("path");
    let stored = qinglian(&["screen", "--db", d, "--since", "1"]);
    let again = qinglian(&["screen", "--db", d, "--since", "1", "--recompute"]);
    assert_eq!(stored, again, "the store and a second screening disagree");
    let mut feed = BTreeSet::new();
    for l in stored.lines() {
        let v: Value = serde_json::from_str(l).expect("json");
        let change = v["change"].as_str().expect("change");
        let want = match change {
            "resolved" => (1, 1, "resolved"),
            "new" => (2, 2, "open"),
            _ => (1, 2, "open"),
        };
        assert_eq!(
            (
                v["first_seen"].as_u64(),
                v["last_seen"].as_u64(),
                v["status"].as_str()
            ),
            (Some(want.0), Some(want.1), Some(want.2)),
            "{l}"
        );
        feed.insert((v["id"].as_str().expect("id").to_owned(), change.to_owned()));
    }
    assert_eq!(&feed, since);
    let from_start = qinglian(&["screen", "--db", d, "--since", "0"]);
    assert_eq!(from_start.lines().count(), current);
    assert!(from_start.lines().all(|l| l.contains(r#""change":"new""#)));

    let server = common::serve_on(
        tempfile::tempdir().expect("tempdir"),
        db.to_path_buf(),
        "",
        &[],
    );
    let t = server.token("investigator");
    let get = |path: &str| common::call(&server, "GET", path, Some(&t), true, None);
    let (st, v, _) = get("/v1/alerts?since=1&limit=500");
    assert_eq!(st, 200, "{v}");
    let api: BTreeSet<(String, String)> = v["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("id").to_owned(),
                a["change"].as_str().expect("change").to_owned(),
            )
        })
        .collect();
    assert_eq!(&api, since, "the API's feed is the CLI's");
    assert_eq!(v["total"].as_u64(), Some(since.len() as u64));
    let (st, v, _) = get("/v1/alerts?since=1&limit=1");
    assert_eq!(st, 200);
    assert_eq!(v["truncated"], since.len() > 1, "{v}");
    assert_eq!(get("/v1/alerts?since=3").0, 400, "a load after the last");
    assert_eq!(get("/v1/alerts").0, 400, "since is required");
    drop(server);

    // The past, served: `serve --known-at 1` answers with load 1's findings.
    let past = common::serve_on(
        tempfile::tempdir().expect("tempdir"),
        db.to_path_buf(),
        "",
        &["--known-at", "1"],
    );
    let t = past.token("investigator");
    let get = |path: &str| common::call(&past, "GET", path, Some(&t), true, None);
    let (st, v, _) = get("/v1/findings?limit=500");
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data_version"]["known_at"], 1);
    let then: BTreeSet<String> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect();
    let want: BTreeSet<String> = findings(db, &["--known-at", "1"]).into_keys().collect();
    assert_eq!(then, want, "serve --known-at 1 is screen --known-at 1");
    assert_eq!(get("/v1/alerts?since=0").0, 409, "no alerts in the past");
}

#[test]
fn a_clearance_is_checked_again_against_the_load_it_was_made_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    let probe = tmp.path().join("probe");
    ingest(&probe, &a, &[]);
    let (finding, official, agency) = a_relative_wins_finding(&probe);
    let f: Value = qinglian(&["screen", "--db", probe.to_str().expect("path")])
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|v| v["id"] == finding.as_str())
        .expect("the finding");
    let contracts = std::fs::read_to_string(a.join("contracts.csv")).expect("read");
    let signed = contracts
        .lines()
        .find(|l| l.starts_with(&format!("{},", f["ref"].as_str().expect("ref"))))
        .and_then(|l| l.split(',').nth(5))
        .expect("the contract's date")
        .to_owned();
    // Load 1: the official's office ended before the contract; load 2: it did not.
    end_positions(&b, &official, &agency);
    let db = tmp.path().join("db");
    ingest(&db, &b, &["--source", "zone"]);
    let server = common::serve_on(tempfile::tempdir().expect("tempdir"), db.clone(), "", &[]);
    let t = server.token("investigator");
    let ask = serde_json::json!({"agency": agency, "bidders": [f["target"]], "as_of": signed});
    let (st, v, _) = common::call(
        &server,
        "POST",
        "/v1/screen",
        Some(&t),
        true,
        Some(ask.to_string()),
    );
    assert_eq!((st, v["verdict"].as_str()), (200, Some("clear")), "{v}");
    assert_eq!(v["clearance"]["known_at"], 1);
    drop(server);
    ingest(&db, &a, &["--source", "zone"]);

    let file = tmp.path().join("clearance.json");
    std::fs::write(&file, v["clearance"].to_string()).expect("write");
    let verify = |p: &Path| {
        bin()
            .args([
                "clearances",
                "verify",
                p.to_str().expect("path"),
                "--db",
                db.to_str().expect("path"),
            ])
            .output()
            .expect("runs")
    };
    let o = verify(&file);
    let out: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(out["valid"], true);
    assert_eq!(out["recheck_at_load"]["clear"], true, "{out}");
    assert_eq!(out["recheck_at_load"]["load"], 1);
    assert_eq!(
        out["recheck_now"]["clear"], false,
        "load 2 restored the office: {out}"
    );
    assert!(
        out["recheck_now"]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["pattern"] == "relative_wins"),
        "{out}"
    );
    // A clearance edited after signing is refused.
    let mut forged = v["clearance"].clone();
    forged["checked"]["as_of"] = "2001-01-01".into();
    std::fs::write(&file, forged.to_string()).expect("write");
    let o = verify(&file);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_delta_retracts_what_its_op_column_says_and_nothing_else() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = copy_demo(tmp.path(), "zone");
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let owns = |db: &Path| stats(db, &[])["edges"]["OWNS"].as_u64().expect("count");
    let n = owns(&db);
    let text = std::fs::read_to_string(a.join("ownership.csv")).expect("read");
    let row = text.lines().nth(1).expect("a stake").to_owned();
    // A delta of the same source holding one row, with `op` = retract.
    let d = tmp.path().join("delta");
    std::fs::create_dir_all(&d).expect("mkdir");
    let header = "owner_id,company_id,share_pct,start,end,op";
    std::fs::write(
        d.join("ownership.csv"),
        format!("{header}\n{row},retract\n"),
    )
    .expect("write");
    let out = ingest(&db, &d, &["--source", "zone", "--mode", "delta"]);
    assert!(out.contains("1 row with op=retract"), "{out}");
    assert_eq!(owns(&db), n - 1, "the stake is retracted, nothing else");
    let company = row.split(',').nth(1).expect("company");
    let hist = history(&db, company);
    assert!(
        hist["history"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["what"] == "retracted" && x["at"] == 2)),
        "{hist}"
    );
    // An unknown op is an error naming the column; nothing changes.
    std::fs::write(d.join("ownership.csv"), format!("{header}\n{row},delete\n")).expect("write");
    let o = bin()
        .args([
            "ingest",
            d.to_str().expect("path"),
            "--mode",
            "delta",
            "--db",
        ])
        .arg(&db)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("ownership.csv:2:6"),
        "{err}"
    );
    assert_eq!(owns(&db), n - 1);
}

/// A delta compares its rows with only the facts touching the nodes they name: a changed
/// value is still reported at its row with both values, and a retraction of a fact that does
/// not hold is reported and changes nothing — after a load of another source in between.
#[test]
fn a_delta_reports_the_values_it_changes_and_the_retractions_that_retract_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = copy_demo(tmp.path(), "zone");
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let header = "owner_id,company_id,share_pct,start,end";
    std::fs::write(
        other.join("ownership.csv"),
        format!("{header}\nP0000073,C000001,5.00,2020-01-01,\n"),
    )
    .expect("write");
    ingest(&db, &other, &["--source", "register"]);
    let d = tmp.path().join("delta");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(
        d.join("ownership.csv"),
        format!(
            "{header},op\nP0000025,C000002,40.00,2004-06-05,,\nP0000336,C000002,53.61,1999-01-01,,retract\n"
        ),
    )
    .expect("write");
    let out = ingest(&db, &d, &["--source", "zone", "--mode", "delta"]);
    assert!(
        out.contains("ownership.csv:2:3")
            && out
                .contains("changes the OWNS fact stated at ownership.csv:4: share_pct 46.39 -> 40"),
        "{out}"
    );
    assert!(
        out.contains("ownership.csv:3:1")
            && out.contains("retracts a OWNS fact that does not hold"),
        "{out}"
    );
    assert!(out.contains("2 changes to known facts"), "{out}");
    let stake = |db: &Path| -> Vec<String> {
        let v = history(db, "C000002");
        v["history"]
            .as_array()
            .map(|a| a.iter().map(|x| x["what"].to_string()).collect())
            .unwrap_or_default()
    };
    assert!(
        stake(&db).iter().any(|w| w.contains("changed")),
        "{:?}",
        stake(&db)
    );
}

/// What a database answers: its counts and its findings.
fn state(db: &Path) -> (Value, BTreeMap<String, (String, String, String)>) {
    (stats(db, &[]), findings(db, &[]))
}

/// A refresh (snapshot mode: a changed supplier, a stake gone) and a delta (one stake
/// retracted by its op column), each killed on entering every phase of the load, and between
/// the first two pieces of its commit (`QINGLIAN_FAILPOINT`, an abort as sudden as `kill -9`;
/// `commit-piece` commits every chunk as its own piece): the database holds the previous
/// state before the commit and the new one after it, answers, and the load can be completed;
/// the findings store then records it as an uninterrupted load does.
#[cfg(unix)]
#[test]
fn a_refresh_or_delta_killed_in_any_phase_leaves_the_previous_state_or_the_new_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = copy_demo(tmp.path(), "zone");
    let b = copy_demo(tmp.path(), "zone2");
    edit_line(&b, "contracts.csv", "K000000,", |l| {
        l.replacen(",C000024,", ",C000025,", 1)
    });
    let owners = std::fs::read_to_string(b.join("ownership.csv")).expect("read");
    let mut lines: Vec<&str> = owners.lines().collect();
    let gone = lines.remove(1).to_owned();
    std::fs::write(b.join("ownership.csv"), lines.join("\n") + "\n").expect("write");
    let d = tmp.path().join("delta");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(
        d.join("ownership.csv"),
        format!("owner_id,company_id,share_pct,start,end,op\n{gone},retract\n"),
    )
    .expect("write");
    let base = tmp.path().join("base");
    ingest(&base, &a, &[]);
    let before = state(&base);
    let cases: [(&Path, &[&str]); 2] = [
        (&b, &["--source", "zone"]),
        (&d, &["--source", "zone", "--mode", "delta"]),
    ];
    for (i, (bundle, args)) in cases.iter().enumerate() {
        let full = tmp.path().join(format!("full{i}"));
        common::copy_dir(&base, &full);
        ingest(&full, bundle, args);
        let after = state(&full);
        assert_ne!(before, after, "case {i} changes something");
        let feed = qinglian(&[
            "screen",
            "--db",
            full.to_str().expect("path"),
            "--since",
            "1",
        ]);
        for phase in [
            "parse",
            "resolve",
            "encode",
            "commit",
            "commit-piece",
            "snapshot",
            "screen",
        ] {
            let db = tmp.path().join(format!("k{i}-{phase}"));
            common::copy_dir(&base, &db);
            let o = bin()
                .args(["ingest", bundle.to_str().expect("path"), "--db"])
                .arg(&db)
                .args(*args)
                .env("QINGLIAN_FAILPOINT", phase)
                .output()
                .expect("runs");
            assert!(!o.status.success(), "case {i}: the load died in {phase}");
            let s = state(&db);
            let committed = matches!(phase, "snapshot" | "screen");
            assert!(
                s == if committed {
                    after.clone()
                } else {
                    before.clone()
                },
                "case {i}, killed in {phase}: {:?}",
                s.0
            );
            ingest(&db, bundle, args);
            assert_eq!(state(&db), after, "case {i}, completed after {phase}");
            assert_eq!(
                qinglian(&["screen", "--db", db.to_str().expect("path"), "--since", "1"]),
                feed,
                "case {i}: the findings store after a kill in {phase}"
            );
        }
    }
}

/// A new extract with the same facts on other lines (every relationship file's rows reversed)
/// changes no finding: the rows a fact is cited from are not the fact.
#[test]
fn an_extract_whose_rows_moved_changes_no_finding() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    for f in [
        "positions.csv",
        "relations.csv",
        "ownership.csv",
        "roles.csv",
        "bids.csv",
    ] {
        let text = std::fs::read_to_string(b.join(f)).expect("read");
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1..].reverse();
        std::fs::write(b.join(f), lines.join("\n") + "\n").expect("write");
    }
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let out = ingest(&db, &b, &["--source", "zone"]);
    assert!(
        out.contains("findings after load #2: 0 new, 0 resolved, 0 changed"),
        "{out}"
    );
    let d = db.to_str().expect("path");
    assert_eq!(qinglian(&["screen", "--db", d, "--since", "1"]), "");
    assert_eq!(
        qinglian(&["screen", "--db", d, "--since", "1", "--recompute"]),
        ""
    );
}
