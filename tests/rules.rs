//! The built-in rules against their fixtures: every rule in `queries/` has a page in
//! `docs/rules/` and a hand-written bundle in `tests/fixtures/rules/<id>/` whose
//! `expected.jsonl` lists exactly the findings the rule must produce (the positive cases; the
//! near misses must not appear). Findings must carry a sourced evidence chain, and screening
//! must be byte-for-byte deterministic whatever the number of threads.

use qinglian_engine::exec::{compile, run, ExecOptions};
use qinglian_engine::findings::Finding;
use qinglian_engine::snapshot::{self, Snapshot};
use qinglian_ingest::{ingest, IngestError, IngestOptions};
use qinglian_rules::Rule;
use qinglian_store::{GraphDb, MemStore};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_dir(id: &str) -> PathBuf {
    root().join("tests/fixtures/rules").join(id)
}

/// File stems with extension `ext` in `dir`.
fn stems(dir: &Path, ext: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .map(|p| stem(&p))
        .collect()
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .expect("a UTF-8 file name")
        .to_owned()
}

fn builtin(id: &str) -> Rule {
    qinglian_rules::builtins()
        .expect("the built-in rules check")
        .into_iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no built-in rule `{id}`"))
}

/// Ingests a fixture bundle into memory and builds its snapshot.
fn load(dir: &Path) -> Snapshot {
    let mut db = GraphDb::open(MemStore::new()).expect("an empty in-memory database");
    match ingest(&mut db, dir, &IngestOptions::default(), &|_| {}) {
        Ok(report) => assert!(
            report.warnings.is_empty(),
            "{}: the fixture loads with warnings: {:?}",
            dir.display(),
            report.warnings
        ),
        Err(IngestError::Rejected(r)) => {
            panic!("{}: the fixture is rejected: {:?}", dir.display(), r.errors)
        }
        Err(e) => panic!("{}: {e}", dir.display()),
    }
    snapshot::build(&db).expect("the snapshot builds")
}

fn screen(snap: &Snapshot, rule: &Rule) -> Vec<Finding> {
    let compiled = compile(rule, snap).expect("the rule compiles");
    let out = run(snap, &compiled, &ExecOptions::default()).expect("the rule runs");
    assert!(!out.truncated, "{}: the run was cut short", rule.id);
    out.findings
}

type Key = (String, String, String, String, String, String);

fn key_of(f: &Finding) -> Key {
    (
        f.pattern.clone(),
        f.severity.as_str().to_owned(),
        f.official.clone(),
        f.target.clone(),
        f.target2.clone(),
        f.ref_id.clone(),
    )
}

/// `expected.jsonl`: one finding per line, every key present.
fn expected(dir: &Path) -> Vec<Key> {
    let path = dir.join("expected.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
            let field = |k: &str| {
                v.get(k)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_else(|| panic!("{}:{}: no string `{k}`", path.display(), i + 1))
                    .to_owned()
            };
            (
                field("pattern"),
                field("severity"),
                field("official"),
                field("target"),
                field("target2"),
                field("ref"),
            )
        })
        .collect()
}

/// Runs rule `id` on its fixture and checks the findings against `expected.jsonl`.
fn check_fixture(id: &str) {
    let dir = fixture_dir(id);
    let want = expected(&dir);
    let canonical = |k: &Key| {
        (
            k.0.clone(),
            k.2.clone(),
            k.3.clone(),
            k.4.clone(),
            k.5.clone(),
        )
    };
    assert!(
        want.windows(2).all(|w| canonical(&w[0]) < canonical(&w[1])),
        "{id}: expected.jsonl is not in canonical order (pattern, official, target, target2, ref)"
    );
    assert!(
        want.iter().all(|k| k.0 == id),
        "{id}: expected.jsonl names another pattern"
    );
    assert!(!want.is_empty(), "{id}: the fixture has no positive case");

    let snap = load(&dir);
    let findings = screen(&snap, &builtin(id));
    let got: Vec<Key> = findings.iter().map(key_of).collect();
    assert_eq!(got, want, "{id}: findings differ from expected.jsonl");

    for f in &findings {
        let what = format!(
            "{id} {}/{}/{}/{}",
            f.official, f.target, f.target2, f.ref_id
        );
        assert!(!f.explanation.trim().is_empty(), "{what}: no explanation");
        assert!(!f.evidence.edges.is_empty(), "{what}: empty evidence chain");
        assert!(!f.evidence.nodes.is_empty(), "{what}: no evidence nodes");
        for e in &f.evidence.edges {
            let src = &e["source"];
            assert!(
                src["file"].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: edge without a source file: {e}"
            );
            assert!(
                src["line"].as_u64().is_some_and(|l| l > 0),
                "{what}: edge without a source line: {e}"
            );
        }
    }
}

macro_rules! fixtures {
    ($($id:ident),* $(,)?) => {
        /// The rule ids that have a fixture test below.
        const TESTED: &[&str] = &[$(stringify!($id)),*];
        $(
            #[test]
            fn $id() {
                check_fixture(stringify!($id));
            }
        )*
    };
}

fixtures!(
    bid_rigging,
    blacklisted_bidder,
    deceased_recipient,
    evaluator_conflict,
    linked_subsidy,
    relative_wins,
    revolving_door,
    self_dealing,
    split_contracts,
    undeclared_interest,
);

#[test]
fn rules_pages_and_fixtures_correspond() {
    let queries_dir = root().join("queries");
    let mut queries = BTreeSet::new();
    for id in stems(&queries_dir, "toml") {
        let path = queries_dir.join(format!("{id}.toml"));
        let text = std::fs::read_to_string(&path).expect("a readable rule file");
        let rule =
            Rule::from_toml(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rule.id,
            id,
            "{}: the id differs from the file name",
            path.display()
        );
        queries.insert(id);
    }
    assert!(!queries.is_empty(), "no rule files in queries/");

    let pages = stems(&root().join("docs/rules"), "md");
    let fixtures: BTreeSet<String> = std::fs::read_dir(root().join("tests/fixtures/rules"))
        .expect("tests/fixtures/rules/")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .map(|p| {
            p.file_name()
                .and_then(|s| s.to_str())
                .expect("UTF-8")
                .to_owned()
        })
        .collect();
    let tested: BTreeSet<String> = TESTED.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(pages, queries, "docs/rules/*.md vs queries/*.toml");
    assert_eq!(
        fixtures, queries,
        "tests/fixtures/rules/*/ vs queries/*.toml"
    );
    assert_eq!(
        tested, queries,
        "fixture tests in tests/rules.rs vs queries/*.toml"
    );

    for (id, text) in qinglian_rules::BUILTIN {
        assert!(
            queries.contains(*id),
            "built-in rule `{id}` is not in queries/"
        );
        let file = std::fs::read_to_string(queries_dir.join(format!("{id}.toml")))
            .expect("a readable rule file");
        assert_eq!(
            *text, file,
            "built-in `{id}` differs from queries/{id}.toml"
        );
    }

    let book = std::fs::read_to_string(root().join("docs/rules.md")).expect("docs/rules.md");
    for id in &queries {
        let text = std::fs::read_to_string(queries_dir.join(format!("{id}.toml")))
            .expect("a readable rule file");
        assert!(
            book.contains(&format!("```toml\n{text}```")),
            "docs/rules.md does not embed queries/{id}.toml verbatim in a ```toml block"
        );
        assert!(
            book.contains(&format!("(rules/{id}.md)")),
            "docs/rules.md does not link to docs/rules/{id}.md"
        );
        let page = std::fs::read_to_string(root().join(format!("docs/rules/{id}.md")))
            .expect("a readable rule page");
        assert!(
            page.contains(&format!("../../queries/{id}.toml")),
            "docs/rules/{id}.md does not link to queries/{id}.toml"
        );
    }
}

/// Every fixture screened with every built-in rule, from ingest to findings.
fn screen_all() -> String {
    let rules = qinglian_rules::builtins().expect("the built-in rules check");
    let mut out = String::new();
    for id in TESTED {
        let snap = load(&fixture_dir(id));
        for rule in &rules {
            let findings = screen(&snap, rule);
            out.push_str(&serde_json::to_string(&findings).expect("findings serialise"));
            out.push('\n');
        }
    }
    out
}

#[test]
fn screening_is_deterministic() -> Result<(), Box<dyn std::error::Error>> {
    let mut runs = Vec::new();
    for threads in [1, 2, 1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        runs.push((threads, pool.install(screen_all)));
    }
    let (_, first) = &runs[0];
    assert!(first.contains("\"evidence\""), "no findings were produced");
    for (threads, r) in &runs[1..] {
        assert!(
            r == first,
            "screening with {threads} thread(s) differs from the first run"
        );
    }
    Ok(())
}
