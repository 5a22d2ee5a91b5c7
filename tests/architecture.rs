//! docs/ARCHITECTURE.md stays true: every source file of every crate is named in its crate's
//! section, the CLI's modules in the top-level section, and the dependency table equals the
//! workspace dependencies every `Cargo.toml` declares.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md")
}

/// `.rs` files under `dir`, as paths relative to it.
fn sources(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            sources(&p, base, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(base)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(rel);
        }
    }
}

/// The text of the section headed `## `crates/NAME``, up to the next `## `.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let at = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/ARCHITECTURE.md has no section {heading}"));
    let rest = &doc[at + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// Whether a section names a file: by its path under `src/`, or — for a `mod.rs` — by its
/// folder (`exec/`), or by its bare name when no other file of the crate has that name.
fn named(section: &str, rel: &str, all: &[String]) -> bool {
    if section.contains(rel) {
        return true;
    }
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if name == "mod.rs" {
        let folder = &rel[..rel.len() - "mod.rs".len()];
        return section.contains(&format!("`{folder}`"));
    }
    let unique = all
        .iter()
        .filter(|f| f.ends_with(&format!("/{name}")) || *f == name)
        .count()
        == 1;
    unique && section.contains(&format!("`{name}`"))
}

#[test]
fn every_source_file_is_described() {
    let doc = doc();
    let mut missing = Vec::new();
    let crates = root().join("crates");
    for e in std::fs::read_dir(&crates).expect("crates/") {
        let dir = e.expect("entry").path();
        let name = dir
            .file_name()
            .and_then(|s| s.to_str())
            .expect("UTF-8")
            .to_owned();
        let src = dir.join("src");
        let mut files = Vec::new();
        sources(&src, &src, &mut files);
        if dir.join("build.rs").exists() {
            files.push("build.rs".into());
        }
        let sec = section(&doc, &format!("## `crates/{name}`"));
        for f in &files {
            if !named(sec, f, &files) {
                missing.push(format!("crates/{name}/src/{f}"));
            }
        }
    }
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let top = section(&doc, "## Top level");
    for f in &files {
        let name = f.rsplit('/').next().unwrap_or(f);
        let is_cmd = f.starts_with("cmd/");
        // The CLI's command modules are named by the group they serve or their file.
        if !(top.contains(&format!("`{name}`"))
            || top.contains(f)
            || (is_cmd && top.contains("src/cmd/")))
        {
            missing.push(format!("src/{f}"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md does not mention: {missing:?}"
    );
}

/// `qinglian-*` dependencies of one manifest (normal dependencies only).
fn deps(manifest: &Path) -> (String, BTreeSet<String>) {
    let text = std::fs::read_to_string(manifest).expect("Cargo.toml");
    let v: toml::Table = toml::from_str(&text).expect("valid TOML");
    let name = v["package"]["name"].as_str().expect("a name").to_owned();
    let d = v
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| {
            t.keys()
                .filter(|k| k.starts_with("qinglian-"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    (name, d)
}

#[test]
fn the_dependency_table_is_the_workspace() {
    let mut actual = BTreeMap::new();
    let (n, d) = deps(&root().join("Cargo.toml"));
    actual.insert(n, d);
    for e in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let (n, d) = deps(&e.expect("entry").path().join("Cargo.toml"));
        actual.insert(n, d);
    }
    let doc = doc();
    let mut table = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| qinglian")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let deps: BTreeSet<String> = cells[2]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        table.insert(cells[1].to_owned(), deps);
    }
    assert_eq!(
        table, actual,
        "docs/ARCHITECTURE.md's dependency table vs the Cargo.toml files"
    );
}
