//! Every kind of bad input gets an error or warning at its exact file, line and column, and a
//! rejected load leaves the database exactly as it was.

use qinglian_ingest::{ingest, Diagnostic, IngestError, IngestOptions, IngestReport, Severity};
use qinglian_store::{DbState, GraphDb, MemStore};
use std::path::Path;

const PEOPLE: &str = "id,name,id_number,birth_date,death_date\n\
P1,张伟,11010519491231002X,1949-12-31,\n\
P2,李娜,,1980-05-01,\n";
const AGENCIES: &str = "id,name,parent_id,region\nA1,某区财政局,,浙江省\n";
const COMPANIES: &str = "id,name,credit_code,address,phone,founded,status\n\
C1,杭州某某科技有限公司,91350100M000100Y43,浙江省杭州市1号,0571-88888888,2010-01-01,存续\n";

fn write(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, body) in files {
        std::fs::write(dir.join(name), body).expect("write fixture");
    }
}

fn base(dir: &Path) {
    write(
        dir,
        &[
            ("people.csv", PEOPLE.as_bytes()),
            ("agencies.csv", AGENCIES.as_bytes()),
            ("companies.csv", COMPANIES.as_bytes()),
        ],
    );
}

fn load(db: &mut GraphDb<MemStore>, dir: &Path) -> Result<IngestReport, IngestError> {
    ingest(db, dir, &IngestOptions::default(), &|_| {})
}

/// A database holding the base bundle, and its state.
fn seeded() -> (GraphDb<MemStore>, DbState) {
    let dir = tempfile::tempdir().expect("tempdir");
    base(dir.path());
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    load(&mut db, dir.path()).expect("base bundle loads");
    let st = db.state().clone();
    (db, st)
}

/// Loads `files` (over the base bundle's files) into a seeded database, expects rejection, and
/// checks that nothing changed. Returns the errors.
fn rejected(files: &[(&str, &[u8])]) -> Vec<Diagnostic> {
    let (mut db, before) = seeded();
    let dir = tempfile::tempdir().expect("tempdir");
    base(dir.path());
    write(dir.path(), files);
    match load(&mut db, dir.path()) {
        Err(IngestError::Rejected(r)) => {
            assert_eq!(
                db.state(),
                &before,
                "a rejected load must not change the database"
            );
            assert_eq!(db.loads().expect("loads").len(), 1);
            r.errors
        }
        Ok(rep) => panic!("expected a rejection, got {:?}", rep.files),
        Err(e) => panic!("expected a rejection, got {e}"),
    }
}

fn at<'a>(errors: &'a [Diagnostic], file: &str, line: u64, column: u64) -> &'a Diagnostic {
    errors
        .iter()
        .find(|d| d.file == file && d.line == line && d.column == column)
        .unwrap_or_else(|| {
            panic!(
                "no diagnostic at {file}:{line}:{column}; got:\n{}",
                errors
                    .iter()
                    .map(|d| format!("  {d}\n"))
                    .collect::<String>()
            )
        })
}

#[test]
fn missing_required_column_rejects_the_load() {
    let errs = rejected(&[(
        "positions.csv",
        "person_id,agency_id,title,start\nP1,A1,科长,2010-01-01\n".as_bytes(),
    )]);
    let d = at(&errs, "positions.csv", 1, 0);
    assert!(d.message.contains("lacks required column `end`"), "{d}");
    assert_eq!(errs.len(), 1);
}

#[test]
fn malformed_date_is_located() {
    let errs = rejected(&[(
        "positions.csv",
        "person_id,agency_id,title,start,end\nP1,A1,科长,2010-01-01,\nP2,A1,科员,2020-13-01,\n"
            .as_bytes(),
    )]);
    let d = at(&errs, "positions.csv", 3, 4);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.column_name.as_deref(), Some("start"));
    assert!(d.message.contains("2020-13-01"), "{d}");
}

#[test]
fn impossible_day_is_located() {
    let errs = rejected(&[(
        "positions.csv",
        "person_id,agency_id,title,start,end\nP1,A1,科长,2010-01-01,2023-02-30\n".as_bytes(),
    )]);
    assert!(at(&errs, "positions.csv", 2, 5)
        .message
        .contains("not a real calendar day"));
}

#[test]
fn malformed_number_is_located() {
    let errs = rejected(&[(
        "ownership.csv",
        b"owner_id,company_id,share_pct,start,end\nP1,C1,fifty,,\n",
    )]);
    let d = at(&errs, "ownership.csv", 2, 3);
    assert!(d.message.contains("expected a number"), "{d}");
}

#[test]
fn bad_utf8_is_located_and_names_the_likely_encoding() {
    // "张三" in GBK (D5 C5 C8 FD) on the third line, second column.
    let mut people =
        b"id,name,id_number,birth_date,death_date\nP1,\xe5\xbc\xa0\xe4\xbc\x9f,,,\nP9,".to_vec();
    people.extend_from_slice(b"\xd5\xc5\xc8\xfd,,,\n");
    let errs = rejected(&[("people.csv", &people)]);
    let d = at(&errs, "people.csv", 3, 2);
    assert!(
        d.message.contains("UTF-8") && d.message.contains("GBK"),
        "{d}"
    );
}

#[test]
fn duplicate_id_with_conflicting_values_names_both_rows() {
    let people = "id,name,id_number,birth_date,death_date\nP1,张伟,11010519491231002X,1949-12-31,\nP2,李娜,,,\nP2,李四,,,\n";
    // P2 is known from the seeded load: this bundle's two rows of it still may not
    // contradict each other (each alone would be a reported change).
    let errs = rejected(&[("people.csv", people.as_bytes())]);
    let d = at(&errs, "people.csv", 4, 2);
    assert!(
        d.message.contains("people.csv:3"),
        "must cite the first row: {d}"
    );
}

#[test]
fn duplicate_id_with_equal_values_is_a_recorded_merge() {
    let (mut db, _) = seeded();
    let dir = tempfile::tempdir().expect("tempdir");
    let people = format!("{PEOPLE}P2,李娜,,1980-05-01,\n");
    write(dir.path(), &[("people.csv", people.as_bytes())]);
    let rep = load(&mut db, dir.path()).expect("loads");
    let f = &rep.files[0];
    assert_eq!(
        (f.read, f.loaded, f.merged),
        (3, 0, 3),
        "all three rows name known people"
    );
}

#[test]
fn reference_to_an_unknown_id_is_located() {
    let errs = rejected(&[(
        "relations.csv",
        b"person_id,relative_id,relation\nP1,P2,spouse\nP1,P999,child\n",
    )]);
    let d = at(&errs, "relations.csv", 3, 2);
    assert!(
        d.message.contains("P999") && d.message.contains("names no entity"),
        "{d}"
    );
}

#[test]
fn reference_to_the_wrong_kind_is_located() {
    let errs = rejected(&[(
        "positions.csv",
        b"person_id,agency_id,title,start,end\nC1,A1,x,,\n",
    )]);
    let d = at(&errs, "positions.csv", 2, 1);
    assert!(d.message.contains("is a Company"), "{d}");
}

#[test]
fn oversized_field_is_located() {
    let big = "x".repeat(9000);
    let people = format!("id,name,id_number,birth_date,death_date\nP1,张伟,,,\nP7,{big},,,\n");
    let errs = rejected(&[("people.csv", people.as_bytes())]);
    let d = at(&errs, "people.csv", 3, 2);
    assert!(d.message.contains("9000 bytes"), "{d}");
}

#[test]
fn row_of_the_wrong_width_is_located() {
    let errs = rejected(&[("relations.csv", b"person_id,relative_id,relation\nP1,P2\n")]);
    assert!(at(&errs, "relations.csv", 2, 0)
        .message
        .contains("2 fields"));
}

#[test]
fn empty_required_field_is_located() {
    let errs = rejected(&[(
        "relations.csv",
        b"person_id,relative_id,relation\n,P2,spouse\n",
    )]);
    assert!(at(&errs, "relations.csv", 2, 1)
        .message
        .contains("`person_id` is empty"));
}

#[test]
fn unknown_csv_file_is_an_error_not_a_silent_skip() {
    let errs = rejected(&[("poeple.csv", b"id,name\n")]);
    assert!(at(&errs, "poeple.csv", 0, 0)
        .message
        .contains("not a bundle file"));
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let errs = rejected(&[(
        "positions.csv",
        b"person_id,agency_id,title,start,end\nP1,A1,x,bad,\nP1,A9,x,,\nP2,A1,x,,worse\n",
    )]);
    at(&errs, "positions.csv", 2, 4);
    at(&errs, "positions.csv", 3, 2);
    at(&errs, "positions.csv", 4, 5);
}

#[test]
fn invalid_identifier_is_a_warning_and_the_row_is_kept_without_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people = "id,name,id_number,birth_date,death_date\nP1,张伟,110105194912310021,1949-12-31,\nP2,张伟,,,\n";
    write(dir.path(), &[("people.csv", people.as_bytes())]);
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    let rep = load(&mut db, dir.path()).expect("loads with a warning");
    let w = at(&rep.warnings, "people.csv", 2, 3);
    assert_eq!(w.severity, Severity::Warning);
    assert!(w.message.contains("check character"), "{w}");
    assert_eq!((rep.files[0].loaded, rep.files[0].warned), (2, 1));
    let nodes = db.node_records().expect("records");
    let p1 = nodes.iter().find(|n| n.ext_id == "P1").expect("P1 kept");
    assert_eq!(p1.identifier, None);
    assert!(p1.props.contains(&(
        "id_number_invalid".to_owned(),
        "110105194912310021".to_owned()
    )));
}

#[test]
fn same_name_different_identifiers_are_different_people() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two 张伟 with different valid resident IDs; a third with no ID.
    let people = "id,name,id_number,birth_date,death_date\n\
        P1,张伟,11010519491231002X,,\nP2,张伟,440524188001010014,,\nP3,张伟,,,\n";
    write(dir.path(), &[("people.csv", people.as_bytes())]);
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    let rep = load(&mut db, dir.path()).expect("loads");
    assert_eq!(rep.files[0].loaded, 3);
    assert!(db.merge_records().expect("merges").is_empty());
}

#[test]
fn same_identifier_is_one_person_and_the_merge_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The legacy 15-digit form of the same number, under another bundle id and name.
    let people = "id,name,id_number,birth_date,death_date\nP1,张伟,11010519491231002X,1949-12-31,\nP2,张 伟,110105491231002,,2020-01-01\n";
    let rel = "person_id,relative_id,relation\nP2,P1,other\n";
    write(
        dir.path(),
        &[
            ("people.csv", people.as_bytes()),
            ("relations.csv", rel.as_bytes()),
        ],
    );
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    let rep = load(&mut db, dir.path()).expect("loads");
    assert_eq!((rep.files[0].loaded, rep.files[0].merged), (1, 1));
    let merges = db.merge_records().expect("merges");
    assert_eq!(merges.len(), 1);
    assert_eq!(
        (merges[0].kept_ext.as_str(), merges[0].merged_ext.as_str()),
        ("P1", "P2")
    );
    assert_eq!(merges[0].value, "11010519491231002X");
    assert!(merges[0].note.contains("name differs"));
    // Both ids resolve to the one node: the relation is a self-loop on it.
    let edges = db.edge_records().expect("edges");
    assert_eq!(edges[0].from, edges[0].to);
    assert_eq!(db.state().counts.nodes[0], 1);
}

#[test]
fn excel_csv_with_bom_and_crlf_loads_like_plain_csv() {
    let plain = tempfile::tempdir().expect("tempdir");
    base(plain.path());
    let excel = tempfile::tempdir().expect("tempdir");
    for (name, body) in [
        ("people.csv", PEOPLE),
        ("agencies.csv", AGENCIES),
        ("companies.csv", COMPANIES),
    ] {
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice(body.replace('\n', "\r\n").as_bytes());
        write(excel.path(), &[(name, &b)]);
    }
    let (mut a, mut b) = (
        GraphDb::open(MemStore::new()).expect("open"),
        GraphDb::open(MemStore::new()).expect("open"),
    );
    load(&mut a, plain.path()).expect("plain loads");
    let rep = load(&mut b, excel.path()).expect("excel loads");
    assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
    let strip = |v: Vec<qinglian_model::NodeRecord>| {
        v.into_iter()
            .map(|n| (n.ext_id, n.name, n.identifier, n.attrs))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(a.node_records().expect("a")),
        strip(b.node_records().expect("b"))
    );
}

#[test]
fn reloading_the_same_bundle_is_a_no_op_and_a_second_bundle_adds() {
    let (mut db, before) = seeded();
    let dir = tempfile::tempdir().expect("tempdir");
    base(dir.path());
    let rep = load(&mut db, dir.path()).expect("reload");
    assert_eq!(rep.already_loaded, Some(1));
    assert_eq!(db.state(), &before);
    // A second bundle: a new person, a relation to a person of the first load, a death date
    // that was unknown, and a row repeating a company verbatim.
    let second = tempfile::tempdir().expect("tempdir");
    write(
        second.path(),
        &[
            ("people.csv", "id,name,id_number,birth_date,death_date\nP3,王芳,,,\nP2,李娜,,1980-05-01,2021-03-04\n".as_bytes()),
            ("relations.csv", b"person_id,relative_id,relation\nP3,P1,child\n"),
            ("companies.csv", COMPANIES.as_bytes()),
        ],
    );
    let rep = load(&mut db, second.path()).expect("second bundle adds");
    assert_eq!(rep.load.as_ref().map(|l| l.number), Some(2));
    assert_eq!(db.state().counts.nodes[0], 3);
    assert_eq!(db.state().counts.edges[1], 1);
    let p2: Vec<_> = db
        .node_records()
        .expect("records")
        .into_iter()
        .filter(|n| n.ext_id == "P2")
        .collect();
    assert_eq!(p2.len(), 2, "the first record and the update");
    assert!(matches!(
        p2[1].attrs,
        qinglian_model::Attrs::Person {
            death_date: Some(_),
            ..
        }
    ));
}

#[test]
fn a_later_load_changes_what_an_earlier_one_said_and_reports_it() {
    let (mut db, _) = seeded();
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[(
            "people.csv",
            "id,name,id_number,birth_date,death_date\nP2,李娜,,1981-05-01,\n".as_bytes(),
        )],
    );
    let rep = load(&mut db, dir.path()).expect("a refresh loads");
    let d = rep
        .warnings
        .iter()
        .find(|d| d.file == "people.csv" && d.line == 2 && d.column == 4)
        .expect("a warning at people.csv:2:4");
    assert!(
        d.message.contains("birth_date: 1980-05-01 -> 1981-05-01"),
        "both values: {d}"
    );
    assert_eq!(rep.changed, 1);
}

#[test]
fn extra_columns_are_kept_as_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[(
            "agencies.csv",
            "id,name,parent_id,region,website\nA1,某局,,浙江,https://example.cn\n".as_bytes(),
        )],
    );
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    load(&mut db, dir.path()).expect("loads");
    let n = &db.node_records().expect("records")[0];
    assert_eq!(
        n.props,
        vec![("website".to_owned(), "https://example.cn".to_owned())]
    );
}

#[test]
fn quoted_newlines_keep_line_numbers_right() {
    let people = "id,name,id_number,birth_date,death_date\nP1,\"张\n伟\",,,\nP2,李娜,,bad,\n";
    let errs = rejected(&[("people.csv", people.as_bytes())]);
    at(&errs, "people.csv", 4, 4);
}

#[test]
fn crlf_files_report_physical_line_numbers() {
    let errs = rejected(&[(
        "relations.csv",
        b"person_id,relative_id,relation\r\nP1,P2,spouse\r\nP1,P404,child\r\n",
    )]);
    at(&errs, "relations.csv", 3, 2);
}
