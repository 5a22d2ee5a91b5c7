//! The command line as a user drives it: loads, rejections, real data, crashes, formats.

mod common;

use common::copy_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qinglian"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the qinglian binary runs")
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "qinglian {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stats(db: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&[
        "stats",
        "--json",
        "--db",
        db.to_str().expect("utf-8 path"),
    ]))
    .expect("stats --json is JSON")
}

fn tiny() -> PathBuf {
    root().join("tests/fixtures/bundles/tiny")
}

/// `shared/` beside the checkout (real data), or `$QINGLIAN_SHARED`; tests that need it say
/// so when it is absent, and fail instead when `QINGLIAN_REQUIRE_SHARED` is set.
fn shared() -> Option<PathBuf> {
    let p =
        std::env::var_os("QINGLIAN_SHARED").map_or_else(|| root().join("../shared"), PathBuf::from);
    let found = p.join("data/real").exists();
    assert!(
        found || std::env::var_os("QINGLIAN_REQUIRE_SHARED").is_none(),
        "QINGLIAN_REQUIRE_SHARED is set but {} has no data/real",
        p.display()
    );
    found.then_some(p)
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    let mut child = bin()
        .args(["screen", "--format", "jsonl", "--bundle"])
        .arg(root().join("data-samples/zone"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("one line");
    // The reader is dropped here, as `| head -1` would.
    let out = child.wait_with_output().expect("wait");
    assert!(first.starts_with('{'), "{first}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn help_works_for_every_subcommand() {
    for sub in [
        "ingest",
        "stats",
        "show",
        "screen",
        "risk",
        "rules",
        "generate",
        "path",
        "subgraph",
        "merges",
        "loads",
        "search",
        "completions",
        "man",
    ] {
        let o = run(&[sub, "--help"]);
        assert!(o.status.success(), "{sub} --help");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{sub} --help prints usage"
        );
    }
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn a_rejected_load_leaves_stats_exactly_as_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&[
        "ingest",
        tiny().to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    let before = stats(&db);
    // A second bundle with a good row and a reference to nobody.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(
        bad.join("relations.csv"),
        "person_id,relative_id,relation\nP1,P4,sibling\nP1,P404,child\n",
    )
    .expect("write");
    let o = run(&[
        "ingest",
        bad.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("relations.csv:3:2: error [relative_id]: P404 names no entity"),
        "{err}"
    );
    assert_eq!(stats(&db), before);
}

#[test]
fn reloading_is_a_no_op() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&[
        "ingest",
        tiny().to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    let before = stats(&db);
    let out = ok(&[
        "ingest",
        tiny().to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert!(out.contains("already loaded as load #1"), "{out}");
    assert_eq!(stats(&db), before);
}

/// Data rows per file of a bundle, counted independently of Qinglian.
fn rows(dir: &Path) -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("bundle dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".csv") {
            let n = csv::Reader::from_path(e.path())
                .expect("csv")
                .records()
                .count() as u64;
            m.insert(name, n);
        }
    }
    m
}

/// Distinct facts of a relationship file: rows with distinct values in the key columns
/// (docs/ingest.md, "Refreshing data"), counted independently of Qinglian. `unordered` sorts
/// the first two key values (a relation's pair). A key column missing from the file is empty.
fn distinct(dir: &Path, file: &str, key: &[&str], unordered: bool) -> u64 {
    let Ok(mut r) = csv::Reader::from_path(dir.join(file)) else {
        return 0;
    };
    let headers = r.headers().expect("header").clone();
    let cols: Vec<Option<usize>> = key
        .iter()
        .map(|k| headers.iter().position(|h| h == *k))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for rec in r.records() {
        let rec = rec.expect("row");
        let mut k: Vec<String> = cols
            .iter()
            .map(|c| c.and_then(|c| rec.get(c)).unwrap_or("").trim().to_owned())
            .collect();
        if unordered && k[0] > k[1] {
            k.swap(0, 1);
        }
        seen.insert(k);
    }
    seen.len() as u64
}

#[test]
fn real_bundles_ingest_cleanly_and_stats_match_their_rows() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: shared/data/real is not beside this checkout");
        return;
    };
    for name in ["ocds-real", "ftm-zala"] {
        let bundle = shared.join("data/real/bundles").join(name);
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        let o = run(&[
            "ingest",
            bundle.to_str().expect("path"),
            "--db",
            db.to_str().expect("path"),
        ]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("error"), "{name} loads without errors: {err}");
        let r = rows(&bundle);
        let s = stats(&db);
        let get = |k: &str, f: &str| s[k][f].as_u64().unwrap_or(0);
        let n = |f: &str| r.get(f).copied().unwrap_or(0);
        assert_eq!(get("nodes", "Person"), n("people.csv"), "{name} people");
        assert_eq!(get("nodes", "Agency"), n("agencies.csv"), "{name} agencies");
        assert_eq!(
            get("nodes", "Company"),
            n("companies.csv"),
            "{name} companies"
        );
        assert_eq!(get("nodes", "Tender"), n("tenders.csv"), "{name} tenders");
        assert_eq!(
            get("nodes", "Contract"),
            n("contracts.csv"),
            "{name} contracts"
        );
        // One edge per fact: rows stating one fact (ftm-zala states three shares of one
        // owner in one company from one day) are one, the later row's value holding.
        let own = distinct(
            &bundle,
            "ownership.csv",
            &["owner_id", "company_id", "start"],
            false,
        );
        assert_eq!(get("edges", "OWNS"), own, "{name} ownership");
        let roles = distinct(
            &bundle,
            "roles.csv",
            &["person_id", "company_id", "role", "start"],
            false,
        );
        assert_eq!(get("edges", "ROLE"), roles, "{name} roles");
        let rel = distinct(
            &bundle,
            "relations.csv",
            &["person_id", "relative_id", "relation"],
            true,
        );
        assert_eq!(get("edges", "RELATION"), rel, "{name} relations");
        // A bid per lot (ocds-real has a `lot` column; none there has a `bid_id`).
        let bids = distinct(
            &bundle,
            "bids.csv",
            &["tender_id", "company_id", "lot"],
            false,
        );
        assert_eq!(get("edges", "BID"), bids, "{name} bids");
        if name == "ftm-zala" {
            assert!(
                own < n("ownership.csv"),
                "the test sees the restated shares"
            );
            assert!(
                err.contains("ownership.csv:12") && err.contains("line 11"),
                "{err}"
            );
        }
        assert_eq!(
            s["blacklist"].as_u64(),
            // Identical rows are one listing (ftm-zala repeats three).
            Some(distinct(
                &bundle,
                "blacklist.csv",
                &["entity_id", "reason", "listed", "source"],
                false
            )),
            "{name} blacklist"
        );
        // Foreign-key edges: one per tender, two or more per contract.
        assert_eq!(
            get("edges", "RAN"),
            n("tenders.csv"),
            "{name} tenders' agencies"
        );
        assert_eq!(
            get("edges", "AWARDED"),
            n("contracts.csv"),
            "{name} contracts' agencies"
        );
        // Extra columns are kept as properties: show one entity.
        if name == "ocds-real" {
            let show = ok(&[
                "show",
                "UA-EDR-40133709",
                "--db",
                db.to_str().expect("path"),
                "--json",
            ]);
            let v: serde_json::Value = serde_json::from_str(&show).expect("json");
            assert_eq!(v["properties"]["identifier_scheme"], "UA-EDR", "{show}");
        } else {
            let show = ok(&[
                "show",
                "NK-DQ98GPMgdVH8DSZd8g9Xtc",
                "--db",
                db.to_str().expect("path"),
                "--json",
            ]);
            let v: serde_json::Value = serde_json::from_str(&show).expect("json");
            assert_eq!(
                v["properties"]["id_number"], "TIN: 183111242572",
                "a foreign identifier is kept: {show}"
            );
            assert_eq!(v["properties"]["inn"], "183111242572");
        }
        ok(&[
            "screen",
            "--db",
            db.to_str().expect("path"),
            "--out",
            dir.path().join("f.jsonl").to_str().expect("path"),
        ]);
    }
}

#[test]
fn the_format_1_database_fixture_still_opens_and_answers() {
    // A database written by format 1, kept so that a format change without a migration fails.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    copy_dir(&root().join("tests/fixtures/db-format-1"), &db);
    let s = stats(&db);
    assert_eq!(s["nodes"]["Person"], 5);
    assert_eq!(s["edges"]["BID"], 3);
    let out = ok(&["screen", "--db", db.to_str().expect("path")]);
    assert_eq!(out.lines().count(), 6, "{out}");
    // Written before sources, modes and the findings store: its load reads as a delta of the
    // source named after its bundle, `--since` screens it again, and a refresh of the same
    // bundle is recorded — the store's first screenings backfilled — with nothing new.
    let since = ok(&["screen", "--db", db.to_str().expect("path"), "--since", "0"]);
    assert_eq!(since.lines().count(), 6, "{since}");
    let again = ok(&[
        "ingest",
        tiny().to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert!(again.contains("already loaded as load #1"), "{again}");
    assert!(again.contains("findings after load #1: 6 new"), "{again}");
    // The same rows under another bundle hash: a snapshot refresh of source "tiny".
    let refresh = dir.path().join("tiny");
    copy_dir(&tiny(), &refresh);
    let people = refresh.join("people.csv");
    let text = std::fs::read_to_string(&people).expect("read") + "\n";
    std::fs::write(&people, text).expect("write");
    let load = ok(&[
        "ingest",
        refresh.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert!(
        load.contains("findings after load #2: 0 new, 0 resolved, 0 changed"),
        "{load}"
    );
    assert_eq!(stats(&db)["edges"], s["edges"], "the same facts, once each");
    assert_eq!(
        ok(&["screen", "--db", db.to_str().expect("path"), "--since", "1"]),
        ""
    );
}

#[test]
fn a_newer_format_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    copy_dir(&root().join("tests/fixtures/db-format-1"), &db);
    {
        use qinglian_store::Store;
        let store = qinglian_store::SledStore::open(&db.join("store")).expect("open");
        let mut b = qinglian_store::Batch::new();
        b.put(b"M/format".to_vec(), 99u32.to_le_bytes().to_vec())
            .expect("put");
        store.commit(b).expect("commit");
    }
    let o = run(&["stats", "--db", db.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("format version 99, newer than the 1 this qinglian understands"),
        "{err}"
    );
}

#[test]
fn show_path_subgraph_merges_and_risk_work_on_the_tiny_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let dbs = db.to_str().expect("path");
    ok(&["ingest", tiny().to_str().expect("path"), "--db", dbs]);
    let show = ok(&["show", "P1", "--db", dbs]);
    assert!(
        show.contains("POSITION:局长 [2015-01-01..open] Agency A2")
            && show.contains("positions.csv:2"),
        "{show}"
    );
    // By resident ID number too.
    assert!(ok(&["show", "11010519491231002x", "--db", dbs]).starts_with("Person P1"));
    let path = ok(&["path", "P1", "C1", "--db", dbs]);
    // Through the contract he approved, the tender he approved, and his spouse's stake.
    assert!(path.contains("4 shortest chain(s) of 2 hop(s)"), "{path}");
    assert!(
        path.contains("-> OWNS [2016-01-01..open] (ownership.csv:2 (load 1))"),
        "{path}"
    );
    let family = ok(&["path", "P1", "C1", "--db", dbs, "--kinds", "RELATION,OWNS"]);
    assert!(
        family.contains("1 shortest chain(s) of 2 hop(s)") && family.contains("Person P2 李娜"),
        "{family}"
    );
    let none = ok(&[
        "path",
        "P1",
        "C1",
        "--db",
        dbs,
        "--as-of",
        "2015-06-01",
        "--kinds",
        "RELATION,OWNS",
    ]);
    assert!(
        none.contains("no chain between P1 and C1 within 6 hops as of 2015-06-01"),
        "{none}"
    );
    let gml = ok(&["subgraph", "P1", "--db", dbs, "--format", "graphml"]);
    assert!(
        gml.starts_with("<?xml") && gml.contains("<node id=\"C1\">"),
        "{gml}"
    );
    let risk = ok(&["risk", "--by", "official", "--db", dbs, "--json"]);
    let top: serde_json::Value =
        serde_json::from_str(risk.lines().next().expect("a row")).expect("json");
    assert_eq!(
        (top["id"].as_str(), top["severity"].as_str()),
        (Some("P1"), Some("red"))
    );
    let by_tender = ok(&["risk", "--by", "tender", "--db", dbs]);
    let first = by_tender.lines().nth(1).unwrap_or_default();
    assert!(
        by_tender.starts_with("severity  tender") && first.starts_with("red       T1"),
        "{by_tender}"
    );
    assert_eq!(ok(&["merges", "--db", dbs]), "");
    let explain = ok(&["rules", "explain", "relative_wins", "--db", dbs]);
    assert!(explain.contains("start: every"), "{explain}");
}

#[test]
fn screen_formats_and_fail_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let dbs = db.to_str().expect("path");
    ok(&["ingest", tiny().to_str().expect("path"), "--db", dbs]);
    let csv = ok(&[
        "screen",
        "--db",
        dbs,
        "--format",
        "csv",
        "--rule",
        "deceased_recipient",
    ]);
    assert!(
        csv.starts_with("id,pattern,severity") && csv.contains(",deceased_recipient,red,"),
        "{csv}"
    );
    let o = run(&[
        "screen",
        "--db",
        dbs,
        "--fail-on",
        "red",
        "--rule",
        "deceased_recipient",
    ]);
    assert_eq!(o.status.code(), Some(3), "red findings with --fail-on red");
    let o = run(&["screen", "--db", dbs, "--rule", "nonesuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown rule `nonesuch`"));
}

/// A bundle big enough that an ingest takes a while: people in a chain of relations.
fn write_big_bundle(dir: &Path, people: usize) {
    use std::io::Write;
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut p =
        std::io::BufWriter::new(std::fs::File::create(dir.join("people.csv")).expect("create"));
    writeln!(p, "id,name,id_number,birth_date,death_date").expect("write");
    for i in 0..people {
        writeln!(p, "Q{i:07},某人{i},,1980-01-01,").expect("write");
    }
    let mut r =
        std::io::BufWriter::new(std::fs::File::create(dir.join("relations.csv")).expect("create"));
    writeln!(r, "person_id,relative_id,relation").expect("write");
    for i in 1..people {
        writeln!(r, "Q{:07},Q{i:07},sibling", i - 1).expect("write");
    }
}

#[cfg(unix)]
#[test]
fn an_ingest_killed_midway_leaves_the_whole_previous_state_or_the_whole_new_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big");
    write_big_bundle(&big, 200_000);
    let base = dir.path().join("base");
    ok(&[
        "ingest",
        tiny().to_str().expect("path"),
        "--db",
        base.to_str().expect("path"),
    ]);
    let before = stats(&base);
    // The complete new state, from an ingest that is not interrupted.
    let full = dir.path().join("full");
    copy_dir(&base, &full);
    ok(&[
        "ingest",
        big.to_str().expect("path"),
        "--db",
        full.to_str().expect("path"),
    ]);
    let after = stats(&full);
    assert_ne!(before, after);
    let (mut saw_before, mut saw_after) = (false, false);
    for (i, delay_ms) in [5u64, 40, 120, 300, 600, 1000, 1500, 2500]
        .iter()
        .enumerate()
    {
        let db = dir.path().join(format!("k{i}"));
        copy_dir(&base, &db);
        let mut child = bin()
            .args([
                "ingest",
                big.to_str().expect("path"),
                "--db",
                db.to_str().expect("path"),
            ])
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(*delay_ms));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let s = stats(&db);
        let (b, a) = (s == before, s == after);
        assert!(
            b || a,
            "after a kill at {delay_ms} ms the database holds a mix:\n{s}"
        );
        saw_before |= b;
        saw_after |= a;
        // Whatever state survived answers queries, and the load can be completed.
        ok(&[
            "screen",
            "--db",
            db.to_str().expect("path"),
            "--rule",
            "relative_wins",
        ]);
        ok(&[
            "ingest",
            big.to_str().expect("path"),
            "--db",
            db.to_str().expect("path"),
        ]);
        assert_eq!(stats(&db), after);
    }
    eprintln!("kills that left the previous state: {saw_before}; the new load: {saw_after}");
    assert!(
        saw_before,
        "at least one kill should land before the commit"
    );
}

/// `people.csv` as Excel saves "CSV" in a Chinese locale: GB18030 (张伟, 李娜).
fn gbk_bundle(dir: &Path) {
    let mut people = b"id,name,id_number,birth_date,death_date\nP1,".to_vec();
    people.extend_from_slice(b"\xd5\xc5\xce\xb0,11010519491231002X,1949-12-31,\nP2,");
    people.extend_from_slice(b"\xc0\xee\xc4\xc8,,1980-05-01,\n");
    std::fs::write(dir.join("people.csv"), people).expect("write");
    std::fs::write(
        dir.join("relations.csv"),
        "person_id,relative_id,relation\nP1,P2,spouse\n",
    )
    .expect("write");
}

#[test]
fn ingest_names_a_gbk_file_and_loads_it_with_encoding_gb18030() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).expect("mkdir");
    gbk_bundle(&bundle);
    let db = dir.path().join("db");
    let (b, d) = (bundle.to_str().expect("path"), db.to_str().expect("path"));
    let o = run(&["ingest", b, "--db", d]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("people.csv:2:2: error [name]:")
            && first.contains("GB18030")
            && first.contains("--encoding gb18030"),
        "the root cause is the first line:\n{err}"
    );
    assert!(
        err.contains("2 references into people.csv not checked"),
        "both ends of the relation are summarised: {err}"
    );
    assert!(!err.contains("names no entity"), "{err}");
    assert_eq!(
        run(&["ingest", b, "--db", d, "--encoding", "latin1"])
            .status
            .code(),
        Some(2)
    );
    ok(&["ingest", b, "--db", d, "--encoding", "gb18030"]);
    let show = ok(&["show", "P1", "--db", d]);
    assert!(show.contains("张伟"), "{show}");
}

#[test]
fn ingest_prints_how_many_fields_lost_zero_width_characters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).expect("mkdir");
    std::fs::write(
        bundle.join("people.csv"),
        "id,name,id_number,birth_date,death_date\nP1,张\u{200B}伟,,,\nP2,李娜,,,\n",
    )
    .expect("write");
    std::fs::write(
        bundle.join("relations.csv"),
        "person_id,relative_id,relation\nP1,P2\u{FEFF},spouse\n",
    )
    .expect("write");
    let db = dir.path().join("db");
    let out = ok(&[
        "ingest",
        bundle.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert!(
        out.contains("zero-width characters removed from 2 fields (people.csv 1, relations.csv 1)"),
        "{out}"
    );
}

/// The demo bundle loaded into a fresh database.
fn demo_db(dir: &Path) -> String {
    let db = dir.join("zone.db");
    let dbs = db.to_str().expect("path").to_owned();
    ok(&[
        "ingest",
        root().join("data-samples/zone").to_str().expect("path"),
        "--db",
        &dbs,
    ]);
    dbs
}

#[test]
fn every_command_logs_to_stderr_as_rust_log_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let dbs = db.to_str().expect("path");
    ok(&["ingest", tiny().to_str().expect("path"), "--db", dbs]);
    let o = bin()
        .args(["stats", "--db", dbs])
        .env("RUST_LOG", "debug")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.contains("opening the database"),
        "{err}"
    );
    // The log is on standard error only; the answer on standard output is unchanged.
    assert!(!String::from_utf8_lossy(&o.stdout).contains("opening the database"));
    let o = bin()
        .args(["stats", "--db", dbs])
        .env_remove("RUST_LOG")
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&o.stderr).is_empty(),
        "quiet by default (warn): {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_failed_first_load_leaves_no_database_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(
        bad.join("relations.csv"),
        "person_id,relative_id,relation\nP1,P404,child\n",
    )
    .expect("write");
    // A folder that did not exist: removed again.
    let db = dir.path().join("newdir");
    let o = run(&[
        "ingest",
        bad.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!db.exists(), "a rejected first load left {}", db.display());
    // A bundle folder that does not exist: the same.
    let o = run(&[
        "ingest",
        dir.path().join("nowhere").to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!db.exists(), "a failed first load left {}", db.display());
    // A folder that existed is kept, with whatever was in it, and is still no database.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).expect("mkdir");
    std::fs::write(mine.join("notes.txt"), "keep me").expect("write");
    let o = run(&[
        "ingest",
        bad.to_str().expect("path"),
        "--db",
        mine.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let left: Vec<String> = std::fs::read_dir(&mine)
        .expect("still there")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["notes.txt".to_owned()]);
    let o = run(&["stats", "--db", mine.to_str().expect("path")]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no database here"));
    // A database that existed keeps its loads after a failed one.
    let good = dir.path().join("good");
    let gs = good.to_str().expect("path");
    ok(&["ingest", tiny().to_str().expect("path"), "--db", gs]);
    let o = run(&["ingest", bad.to_str().expect("path"), "--db", gs]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stats(&good)["loads"], 1);
}

/// Whether `s` holds a run of ten digits (a Unix time in seconds) or more.
fn has_unix_time(s: &str) -> bool {
    let mut run = 0;
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 10 {
            return true;
        }
    }
    false
}

#[test]
fn loads_and_audit_records_print_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let dbs = db.to_str().expect("path");
    ok(&["ingest", tiny().to_str().expect("path"), "--db", dbs]);
    let loads = ok(&["loads", "--db", dbs]);
    let first = loads.lines().next().unwrap_or_default();
    // Everything but the bundle's hash.
    let head = first.split(" bundle sha256").next().unwrap_or_default();
    assert!(head.contains(" UTC") && !has_unix_time(head), "{loads}");
    // An audit record as the server writes it (show does not check the chain).
    std::fs::write(
        db.join("audit.log"),
        concat!(
            r#"{"seq":1,"prev":"","entry":{"ts":1700000000123,"client":"127.0.0.1","token_id":"t1","#,
            r#""role":"investigator","method":"GET","route":"entities","path":"/v1/entities","query":"q=x","#,
            r#""body":"","case":"C-1","purpose":"demo","status":200,"result":{"ids":[]}},"hash":"00"}"#,
            "\n"
        ),
    )
    .expect("write");
    let shown = ok(&["audit", "show", "--db", dbs]);
    let v: serde_json::Value = serde_json::from_str(shown.trim()).expect("a JSON line");
    assert_eq!(v["time"], "2023-11-14 22:13:20.123 UTC", "{shown}");
    assert_eq!(v["entry"]["ts"], 1_700_000_000_123u64, "the record is kept");
    assert!(shown.starts_with(r#"{"time":"#), "{shown}");
}

#[test]
fn search_finds_people_and_companies_and_tells_same_names_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dbs = demo_db(dir.path());
    // Two people called 张伟 (and 张伟功, whose name starts so), apart by birth year and ID.
    let text = ok(&["search", "张伟", "--db", &dbs]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("match"), "{text}");
    assert!(
        lines[1].contains("P0000151")
            && lines[1].contains("1953")
            && lines[1].contains("330127********2874"),
        "{text}"
    );
    assert!(
        lines[2].contains("P0000156") && lines[2].contains("1974"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("name_prefix") && lines[3].contains("张伟功"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "search", "张伟", "--db", &dbs, "--json", "--limit", "2",
    ]))
    .expect("json");
    let r = json["results"].as_array().expect("results");
    assert_eq!(r.len(), 2);
    assert_eq!(json["truncated"], true);
    assert_eq!(
        (r[0]["match"].as_str(), r[0]["birth_year"].as_i64()),
        (Some("name"), Some(1953))
    );
    // An official: positions tell who is who.
    let official: serde_json::Value =
        serde_json::from_str(&ok(&["search", "吴紫育", "--db", &dbs, "--json"])).expect("json");
    let p = &official["results"][0];
    assert_eq!(
        (p["id"].as_str(), p["official"].as_bool()),
        (Some("P0000060"), Some(true))
    );
    assert_eq!(p["positions"][0]["agency"], "A00010", "{official}");
    // By resident ID number, credit code and bundle id.
    let by_id = ok(&["search", "330122197301139121", "--db", &dbs]);
    assert!(
        by_id
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("identifier") && l.contains("P0000060")),
        "{by_id}"
    );
    let company = ok(&["search", "91330114336815908C", "--db", &dbs]);
    assert!(
        company.contains("C000000") && company.contains("杭州众德测绘有限公司"),
        "{company}"
    );
    let bundle_id = ok(&["search", "C000000", "--db", &dbs]);
    assert!(
        bundle_id
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("id ")),
        "{bundle_id}"
    );
    // Nothing found is an answer, not an error.
    let o = run(&["search", "无此人", "--db", &dbs]);
    assert!(o.status.success() && o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 results"));
}

#[test]
fn bad_option_values_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let dbs = db.to_str().expect("path");
    ok(&["ingest", tiny().to_str().expect("path"), "--db", dbs]);
    for args in [
        &["screen", "--db", dbs, "--fail-on", "purple"][..],
        &["screen", "--db", dbs, "--as-of", "2020-13-01"],
        &["risk", "--db", dbs, "--by", "agency"],
        &[
            "path",
            "P1",
            "C1",
            "--db",
            dbs,
            "--kinds",
            "RELATION,COUSIN",
        ],
        &["subgraph", "P1", "--db", dbs, "--format", "xml"],
        &["generate", "--out", dbs, "--profile", "city"],
        &["token", "create", "--role", "boss", "--db", dbs],
        &["search", "张伟", "--db", dbs, "--limit", "0"],
    ] {
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout.is_empty(), "{args:?} printed before refusing");
    }
    // Lower case edge kinds are fine.
    ok(&["path", "P1", "C1", "--db", dbs, "--kinds", "relation,owns"]);
}

#[test]
fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let s = ok(&["completions", shell]);
        assert!(s.contains("qinglian") && s.contains("search"), "{shell}");
    }
    assert!(ok(&["completions", "bash"]).contains("--fail-on"));
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
    let page = ok(&["man"]);
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(
        page.contains(".TH qinglian 1")
            && page.contains("EXIT STATUS")
            && page.contains("QINGLIAN_DB"),
        "{page}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    ok(&["man", "--out", out.to_str().expect("path")]);
    for f in [
        "qinglian.1",
        "qinglian-ingest.1",
        "qinglian-search.1",
        "qinglian-token-create.1",
    ] {
        let text = std::fs::read_to_string(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.contains(".TH"), "{f}");
    }
}

/// The display width (terminal cells) of `s`: two for each CJK character.
fn cells(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = (0x1100..=0x115F).contains(&c)
                || (0x2E80..=0xA4CF).contains(&c)
                || (0xAC00..=0xD7A3).contains(&c)
                || (0xF900..=0xFAFF).contains(&c)
                || (0xFE30..=0xFE4F).contains(&c)
                || (0xFF00..=0xFF60).contains(&c)
                || (0xFFE0..=0xFFE6).contains(&c)
                || (0x20000..=0x3FFFD).contains(&c);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn tables_with_chinese_names_stay_aligned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dbs = demo_db(dir.path());
    // risk: names of two and three characters; the last column (findings per rule) starts at
    // the same cell on every line.
    let risk = ok(&["risk", "--db", &dbs, "--top", "40"]);
    let starts: Vec<usize> = risk
        .lines()
        .map(|l| cells(&l[..l.rfind("  ").map_or(0, |i| i + 2)]))
        .collect();
    assert!(
        starts.len() > 10 && starts.iter().all(|&s| s == starts[0]),
        "{starts:?}\n{risk}"
    );
    // screen --format table, with Chinese ids in padded columns: each explanation starts
    // where the header's does.
    let bundle = dir.path().join("cn");
    std::fs::create_dir(&bundle).expect("mkdir");
    std::fs::write(
        bundle.join("people.csv"),
        "id,name,id_number,birth_date,death_date\n王芳,王芳,,1930-01-01,2019-06-30\nP2,李娜,,1931-01-01,2018-01-01\n",
    )
    .expect("write");
    std::fs::write(
        bundle.join("agencies.csv"),
        "id,name,parent_id,region\n民政局,某区民政局,,\n",
    )
    .expect("write");
    std::fs::write(
        bundle.join("subsidies.csv"),
        "id,agency_id,recipient_id,amount,paid,approver_id\n补贴一号,民政局,王芳,1200,2020-01-15,\nS2,民政局,P2,800,2020-02-01,\n",
    )
    .expect("write");
    let b = bundle.to_str().expect("path");
    let table = ok(&["screen", "--bundle", b, "--format", "table"]);
    let jsonl = ok(&["screen", "--bundle", b]);
    let explanations: Vec<String> = jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["explanation"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(explanations.len(), 2, "{jsonl}");
    let lines: Vec<&str> = table.lines().collect();
    let header = lines[0];
    assert!(
        header.contains("severity") && !header.contains("colour"),
        "{header}"
    );
    let want = cells(&header[..header.find("explanation").expect("an explanation column")]);
    for (line, e) in lines[1..].iter().zip(&explanations) {
        let at = line
            .rfind(e.as_str())
            .expect("the explanation is on its line");
        assert_eq!(cells(&line[..at]), want, "\n{table}");
    }
}

#[test]
fn the_readme_examples_print_what_the_readme_says() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let dir = tempfile::tempdir().expect("tempdir");
    let dbs = demo_db(dir.path());
    // The `path` example: a multi-hop chain, shown verbatim.
    let cmd = "qinglian path P0000275 C000101 --kinds RELATION,OWNS,ROLE --db zone.db";
    assert!(readme.contains(cmd), "the README runs {cmd}");
    let shown = readme
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a text block with the chain");
    let out = ok(&[
        "path",
        "P0000275",
        "C000101",
        "--kinds",
        "RELATION,OWNS,ROLE",
        "--db",
        &dbs,
    ]);
    assert_eq!(out, shown);
    assert!(out.contains("of 4 hop(s)"), "{out}");
    // `merges` on the demo prints nothing, as the README says.
    assert!(readme.contains("The demo has none"));
    let o = run(&["merges", "--db", &dbs]);
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 merge(s)"));
    // No split_contracts case is planted, and the README does not claim one is.
    assert!(!readme.contains("every kind of conflict planted"));
    let o = run(&["screen", "--db", &dbs, "--rule", "split_contracts"]);
    assert!(o.status.success() && o.stdout.is_empty());
    let truth =
        std::fs::read_to_string(root().join("data-samples/zone/truth.jsonl")).expect("truth");
    assert!(!truth.contains("\"split_contracts\""));
    assert!(readme.contains("`split_contracts` has none"));
}
