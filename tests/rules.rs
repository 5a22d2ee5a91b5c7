//! The built-in rules against their fixtures: every rule in `queries/` has a page in
//! `docs/rules/` and a hand-written bundle in `tests/fixtures/rules/<id>/` whose
//! `expected.jsonl` lists exactly the findings the rule must produce (the positive cases; the
//! near misses must not appear). Findings must carry a sourced evidence chain, and screening
//! must be byte-for-byte deterministic whatever the number of threads.
//!
//! Nothing here names a rule: the rules, pages and fixtures are discovered from the folders, so
//! adding `queries/foo.toml`, `docs/rules/foo.md` and `tests/fixtures/rules/foo/` is the whole
//! change for a new rule (`a_new_rule_is_only_data` proves it in a temporary copy).

use qinglian_engine::exec::ExecOptions;
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

/// Where a checkout keeps its rules, their pages and their fixtures.
struct Layout {
    queries: PathBuf,
    pages: PathBuf,
    book: PathBuf,
    fixtures: PathBuf,
}

impl Layout {
    fn of(root: &Path) -> Layout {
        Layout {
            queries: root.join("queries"),
            pages: root.join("docs/rules"),
            book: root.join("docs/rules.md"),
            fixtures: root.join("tests/fixtures/rules"),
        }
    }

    fn fixture(&self, id: &str) -> PathBuf {
        self.fixtures.join(id)
    }

    /// The rules of `queries/`, checked.
    fn rules(&self) -> Vec<Rule> {
        qinglian_rules::load_dir(&self.queries).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Fixture folders' names.
    fn fixture_ids(&self) -> BTreeSet<String> {
        std::fs::read_dir(&self.fixtures)
            .expect("tests/fixtures/rules/")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_dir())
            .map(|p| {
                p.file_name()
                    .and_then(|s| s.to_str())
                    .expect("UTF-8")
                    .to_owned()
            })
            .collect()
    }
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
    let out = qinglian_engine::screen(snap, std::slice::from_ref(rule), &ExecOptions::default())
        .expect("the rule runs");
    assert!(!out.truncated(), "{}: the run was cut short", rule.id);
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

/// Runs `rule` on its fixture and checks the findings against `expected.jsonl`.
fn check_fixture(layout: &Layout, rule: &Rule) {
    let id = rule.id.as_str();
    let dir = layout.fixture(id);
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
    let findings = screen(&snap, rule);
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
            assert!(
                e.source.file.as_deref().is_some_and(|s| !s.is_empty()),
                "{what}: edge without a source file: {e:?}"
            );
            assert!(
                e.source.line > 0,
                "{what}: edge without a source line: {e:?}"
            );
        }
    }
}

/// Every rule of `layout` against its fixture; all failures are reported, not the first.
fn check_fixtures(layout: &Layout) -> usize {
    let rules = layout.rules();
    let mut failed = Vec::new();
    for rule in &rules {
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_fixture(layout, rule)));
        if r.is_err() {
            failed.push(rule.id.clone());
        }
    }
    assert!(
        failed.is_empty(),
        "fixtures failed: {failed:?} (messages above)"
    );
    rules.len()
}

#[test]
fn every_rule_passes_its_fixture() {
    assert!(check_fixtures(&Layout::of(&root())) > 0);
}

/// Every rule file has a page and a fixture, and the other way round; pages link their file;
/// the language reference links the rules and copies none.
fn check_layout(l: &Layout) {
    let mut queries = BTreeSet::new();
    for id in stems(&l.queries, "toml") {
        let path = l.queries.join(format!("{id}.toml"));
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
    assert_eq!(
        stems(&l.pages, "md"),
        queries,
        "docs/rules/*.md vs queries/*.toml"
    );
    assert_eq!(
        l.fixture_ids(),
        queries,
        "tests/fixtures/rules/*/ vs queries/*.toml"
    );
    let book = std::fs::read_to_string(&l.book).expect("docs/rules.md");
    for id in &queries {
        let text = std::fs::read_to_string(l.queries.join(format!("{id}.toml")))
            .expect("a readable rule file");
        assert!(
            !book.contains(text.trim()),
            "docs/rules.md copies queries/{id}.toml: link it instead"
        );
        let page = std::fs::read_to_string(l.pages.join(format!("{id}.md")))
            .expect("a readable rule page");
        assert!(
            page.contains(&format!("../../queries/{id}.toml")),
            "docs/rules/{id}.md does not link to queries/{id}.toml"
        );
    }
    // Every rule the book links exists.
    for (at, _) in book.match_indices("](../queries/") {
        let rest = &book[at + "](../queries/".len()..];
        let name = &rest[..rest.find(')').unwrap_or(0)];
        if !name.is_empty() {
            assert!(
                l.queries.join(name).exists(),
                "docs/rules.md links a missing queries/{name}"
            );
        }
    }
}

#[test]
fn rules_pages_and_fixtures_correspond() {
    let l = Layout::of(&root());
    check_layout(&l);
    // The built-in rules are exactly the files of queries/, byte for byte.
    let files = stems(&l.queries, "toml");
    let builtin: BTreeSet<String> = qinglian_rules::BUILTIN
        .iter()
        .map(|(id, _)| (*id).to_owned())
        .collect();
    assert_eq!(builtin, files, "built-in rules vs queries/*.toml");
    for (id, text) in qinglian_rules::BUILTIN {
        let file = std::fs::read_to_string(l.queries.join(format!("{id}.toml")))
            .expect("a readable rule file");
        assert_eq!(
            *text, file,
            "built-in `{id}` differs from queries/{id}.toml"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("readable") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("a name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// A new rule is three things in three folders: in a temporary copy of the repository's rule
/// layout, `foo` (self-dealing with one more holding-company hop) with its page and fixture
/// passes the same layout and fixture checks, and `qinglian screen --rules` runs it.
#[test]
fn a_new_rule_is_only_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (Layout::of(&root()), Layout::of(tmp.path()));
    copy_dir(&src.queries, &dst.queries);
    copy_dir(&src.pages, &dst.pages);
    copy_dir(&src.fixtures, &dst.fixtures);
    std::fs::copy(&src.book, &dst.book).expect("book");
    let base = std::fs::read_to_string(src.queries.join("self_dealing.toml")).expect("rule");
    let foo = base
        .replace("id = \"self_dealing\"", "id = \"foo\"")
        .replace("ROLE{!employee}*1..3", "ROLE{!employee}*1..4");
    assert_ne!(foo, base);
    std::fs::write(dst.queries.join("foo.toml"), foo).expect("write");
    std::fs::write(
        dst.pages.join("foo.md"),
        "# foo\n\nSelf-dealing through one more company: [`queries/foo.toml`](../../queries/foo.toml).\n",
    )
    .expect("write");
    copy_dir(&src.fixture("self_dealing"), &dst.fixture("foo"));
    // The fixture's near miss four edges away (C10, contract K7) is a finding of `foo`.
    let mut lines: Vec<String> = std::fs::read_to_string(dst.fixture("foo").join("expected.jsonl"))
        .expect("expected")
        .lines()
        .map(|l| l.replace("\"pattern\":\"self_dealing\"", "\"pattern\":\"foo\""))
        .collect();
    lines.insert(
        1,
        r#"{"pattern":"foo","severity":"yellow","official":"P1","target":"C10","target2":"","ref":"K7"}"#
            .into(),
    );
    std::fs::write(
        dst.fixture("foo").join("expected.jsonl"),
        lines.join("\n") + "\n",
    )
    .expect("write");
    check_layout(&dst);
    assert_eq!(check_fixtures(&dst), src.rules().len() + 1);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_qinglian"))
        .args(["screen", "--format", "jsonl", "--rules"])
        .arg(&dst.queries)
        .arg("--bundle")
        .arg(dst.fixture("foo"))
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"pattern\":\"foo\""));
}

/// Every fixture screened with every built-in rule, from ingest to findings.
fn screen_all() -> String {
    let rules = qinglian_rules::builtins().expect("the built-in rules check");
    let layout = Layout::of(&root());
    let mut out = String::new();
    for id in layout.fixture_ids() {
        let snap = load(&layout.fixture(&id));
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

/// A misspelt native parameter is an error of `rules check` naming it, not a silent default.
#[test]
fn rules_check_refuses_a_misspelt_native_parameter() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(root().join("queries/split_contracts.toml")).expect("rule");
    let bad = text.replace("window_days = ", "window_dayz = ");
    assert_ne!(bad, text);
    std::fs::write(tmp.path().join("split_contracts.toml"), bad).expect("write");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_qinglian"))
        .args(["rules", "check"])
        .arg(tmp.path())
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("window_dayz"), "{err}");
}
