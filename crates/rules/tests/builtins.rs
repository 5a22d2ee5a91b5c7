//! Every built-in rule file parses and type-checks; broken files fail with exact positions.

use qinglian_rules::{builtins, Rule};

#[test]
fn every_builtin_rule_checks() {
    let rules = builtins().unwrap_or_else(|e| panic!("{e}"));
    // One built-in rule per file in queries/, whatever their number.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    let files = std::fs::read_dir(&dir)
        .expect("queries/")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert!(files > 0);
    assert_eq!(rules.len(), files);
    for r in &rules {
        assert!(
            !r.title.is_empty() && !r.summary.trim().is_empty(),
            "{}",
            r.id
        );
    }
}

fn err(text: &str) -> String {
    match Rule::from_toml(text, "t.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = "id = \"t\"\ntitle = \"t\"\nexplain = \"x\"\n";

#[test]
fn unbounded_variable_length_edges_are_refused_at_their_position() {
    let e = err(&format!(
        "{HEAD}query = '''\nMATCH (a:Person)-[:RELATION*]-(b:Person)\nRETURN target = b\n'''\n"
    ));
    assert_eq!(
        e,
        "t.toml:5:28: unbounded variable-length edge: write the bounds, e.g. `*1..3`"
    );
}

#[test]
fn unknown_edge_types_and_labels_are_named() {
    let e = err(&format!(
        "{HEAD}query = '''\nMATCH (a:Person)-[:OWNZ]->(b:Company)\nRETURN target = b\n'''\n"
    ));
    assert!(
        e.starts_with("t.toml:5:20: unknown edge type `OWNZ`"),
        "{e}"
    );
    let e = err(&format!("{HEAD}query = '''\nMATCH (a:Person)-[:RELATION{{spuse}}]-(b:Person)\nRETURN target = b\n'''\n"));
    assert!(
        e.starts_with("t.toml:5:17: unknown RELATION label `spuse`"),
        "{e}"
    );
}

#[test]
fn type_errors_say_what_was_expected() {
    let e = err(&format!("{HEAD}query = '''\nMATCH (a:Person)-[p:POSITION]->(b:Agency)\nWHERE a.signed > 3\nRETURN target = b\n'''\n"));
    assert!(
        e.starts_with("t.toml:6:9: no property `signed` on [Person]"),
        "{e}"
    );
    let e = err(&format!("{HEAD}query = '''\nMATCH (a:Person)-[p:POSITION]->(b:Agency)\nWHERE p.start DURING a\nRETURN target = b\n'''\n"));
    assert!(e.contains("DURING needs an edge"), "{e}");
    let e = err(&format!(
        "{HEAD}query = '''\nMATCH (a:Person)-[p:POSITION]->(b:Agency)\nRETURN target = b,\n'''\n"
    ));
    assert!(e.starts_with("t.toml:7:1: expected a return name"), "{e}");
}

#[test]
fn hop_bounds_are_limited() {
    let e = err(&format!(
        "{HEAD}query = '''\nMATCH (a:Person)-[:RELATION*1..9]-(b:Person)\nRETURN target = b\n'''\n"
    ));
    assert!(e.contains("at most 6 hops"), "{e}");
}

#[test]
fn grades_and_templates_are_checked() {
    let q = "query = '''\nMATCH (a:Person)-[p:POSITION]->(b:Agency)\nRETURN target = b\n'''\n";
    let e = err(&format!(
        "id = \"t\"\ntitle = \"t\"\nexplain = \"{{zz}}\"\n{q}"
    ));
    assert!(e.contains("unknown variable `zz`"), "{e}");
    let e = err(&format!(
        "{HEAD}{q}[[grade]]\nlevel = \"red\"\nwhen = \"p.start\"\n"
    ));
    assert!(e.starts_with("t.toml:10:9: expected a boolean"), "{e}");
}

#[test]
fn extra_columns_are_standard_or_declared_and_typed() {
    let q = |filter: &str| {
        format!("{HEAD}query = '''\nMATCH (c:Company)-[b:BID]->(t:Tender)\nWHERE {filter}\nRETURN target = c\n'''\n")
    };
    // Standard columns: the OCDS translator's fields, typed.
    ok(&q("t.deadline < t.published + 10 AND t.procurement_method = 'open' AND b.status = 'disqualified'"));
    ok(&q("c.status IN ['revoked', 'deregistered']"));
    // A date column is a date: it does not compare with text.
    let e = err(&q("t.deadline = 'soon'"));
    assert!(
        e.contains("t.toml:6:") && e.contains("cannot compare a date with text"),
        "{e}"
    );
    // A misspelt column is still an error.
    let e = err(&q("t.deadlne < t.published"));
    assert!(
        e.starts_with("t.toml:6:9: no property `deadlne` on [Tender]"),
        "{e}"
    );
    // A rule declares its own columns, typed.
    let declared = format!(
        "{}\n[columns]\n\"Tender.framework\" = \"bool\"\n\"BID.rank\" = \"number\"\n",
        q("t.framework AND b.rank > 1")
    );
    ok(&declared);
    // Declaring a catalog property, an unknown kind or type, or retyping a standard column fails.
    for (decl, want) in [
        ("\"Tender.title\" = \"text\"", "is a property already"),
        ("\"Tendr.x\" = \"text\"", "neither a node kind"),
        (
            "\"Tender.x\" = \"integer\"",
            "expected text, number, date or bool",
        ),
        (
            "\"Tender.deadline\" = \"text\"",
            "standard column read as a date",
        ),
    ] {
        let e = err(&format!("{}\n[columns]\n{decl}\n", q("true")));
        assert!(e.contains(want), "{decl}: {e}");
    }
}

fn ok(text: &str) {
    if let Err(e) = Rule::from_toml(text, "t.toml") {
        panic!("{e}\n{text}");
    }
}
