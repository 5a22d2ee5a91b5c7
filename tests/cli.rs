//! The command line as a user drives it: loads, rejections, real data, crashes, formats.

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
        "ingest", "stats", "show", "screen", "risk", "rules", "generate", "path", "subgraph",
        "merges", "loads",
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
        assert_eq!(get("edges", "OWNS"), n("ownership.csv"), "{name} ownership");
        assert_eq!(get("edges", "ROLE"), n("roles.csv"), "{name} roles");
        assert_eq!(
            get("edges", "RELATION"),
            n("relations.csv"),
            "{name} relations"
        );
        assert_eq!(get("edges", "BID"), n("bids.csv"), "{name} bids");
        assert_eq!(
            s["blacklist"].as_u64(),
            Some(n("blacklist.csv")),
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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).expect("copy");
        }
    }
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
        (top["id"].as_str(), top["colour"].as_str()),
        (Some("P1"), Some("red"))
    );
    let by_tender = ok(&["risk", "--by", "tender", "--db", dbs]);
    assert!(by_tender.starts_with("red     T1"), "{by_tender}");
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
