//! What Excel and WPS do to a bundle, and what Chinese users hit first: files saved in GBK or
//! UTF-16, `;`/tab separators, identifiers turned into numbers, invisible characters, and the
//! report that must show the root cause before its knock-on errors.

use qinglian_ingest::{ingest, Diagnostic, IngestError, IngestOptions, IngestReport, Severity};
use qinglian_store::{GraphDb, MemStore};
use std::path::{Path, PathBuf};

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

fn list(ds: &[Diagnostic]) -> String {
    ds.iter().map(|d| format!("  {d}\n")).collect()
}

fn at<'a>(ds: &'a [Diagnostic], file: &str, line: u64, column: u64) -> &'a Diagnostic {
    ds.iter()
        .find(|d| d.file == file && d.line == line && d.column == column)
        .unwrap_or_else(|| {
            panic!(
                "no diagnostic at {file}:{line}:{column}; got:\n{}",
                list(ds)
            )
        })
}

/// Loads `dir` into a database holding the base bundle; expects a rejection that leaves the
/// database as it was. Returns the kept errors and the error count.
fn rejected_dir(dir: &Path) -> (Vec<Diagnostic>, usize) {
    let seed = tempfile::tempdir().expect("tempdir");
    base(seed.path());
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    load(&mut db, seed.path()).expect("base bundle loads");
    let before = db.state().clone();
    match load(&mut db, dir) {
        Err(IngestError::Rejected(r)) => {
            assert_eq!(db.state(), &before, "a rejected load changes nothing");
            assert_eq!(db.loads().expect("loads").len(), 1);
            (r.errors, r.error_count)
        }
        Ok(rep) => panic!("expected a rejection, got {:?}", rep.files),
        Err(e) => panic!("expected a rejection, got {e}"),
    }
}

/// The base bundle with `files` written over it, rejected.
fn rejected(files: &[(&str, &[u8])]) -> Vec<Diagnostic> {
    let dir = tempfile::tempdir().expect("tempdir");
    base(dir.path());
    write(dir.path(), files);
    rejected_dir(dir.path()).0
}

/// Loads `files` alone into an empty database; expects success.
fn loads(files: &[(&str, &[u8])]) -> (GraphDb<MemStore>, IngestReport) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    match load(&mut db, dir.path()) {
        Ok(rep) => (db, rep),
        Err(IngestError::Rejected(r)) => panic!("rejected:\n{}", list(&r.errors)),
        Err(e) => panic!("{e}"),
    }
}

fn gb18030(s: &str) -> Vec<u8> {
    let (b, _, unmappable) = encoding_rs::GB18030.encode(s);
    assert!(!unmappable);
    b.into_owned()
}

fn utf16(s: &str, little: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = bom.then_some(0xFEFF).into_iter().chain(s.encode_utf16());
    for u in units {
        out.extend_from_slice(&if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

fn zone() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data-samples/zone")
}

fn copy_zone(to: &Path) {
    for e in std::fs::read_dir(zone())
        .expect("data-samples/zone")
        .flatten()
    {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

// ---- 1. root causes first -------------------------------------------------------------------

#[test]
fn a_gbk_people_file_in_a_full_bundle_is_the_first_error_and_its_references_are_summarised() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_zone(dir.path());
    let text = std::fs::read_to_string(zone().join("people.csv")).expect("people.csv");
    std::fs::write(dir.path().join("people.csv"), gb18030(&text)).expect("write");
    // Where the first non-ASCII byte is: the line and field of the first name with Chinese.
    let (line, field) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| {
            l.split(',')
                .position(|f| !f.is_ascii())
                .map(|c| (i as u64 + 1, c as u64 + 1))
        })
        .expect("people.csv has Chinese names");
    let (errs, count) = rejected_dir(dir.path());
    let first = &errs[0];
    assert_eq!(
        (first.file.as_str(), first.line, first.column),
        ("people.csv", line, field),
        "the root cause comes first:\n{}",
        list(&errs)
    );
    assert!(
        first.message.contains("GB18030") && first.message.contains("--encoding gb18030"),
        "{first}"
    );
    assert!(first.message.contains("CSV UTF-8"), "{first}");
    assert!(
        !errs.iter().any(|d| d.message.contains("names no entity")),
        "knock-on errors are summarised, not listed:\n{}",
        list(&errs)
    );
    let summary = errs
        .iter()
        .find(|d| d.message.contains("references into people.csv not checked"))
        .unwrap_or_else(|| panic!("no summary line:\n{}", list(&errs)));
    assert!(
        summary.message.contains("people.csv could not be read"),
        "{summary}"
    );
    let n: usize = summary
        .message
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0);
    assert!(
        n > 200,
        "hundreds of references were not checked: {summary}"
    );
    assert!(count < 10, "{count} errors:\n{}", list(&errs));
}

#[test]
fn a_bad_header_comes_before_every_other_error_and_its_references_are_summarised() {
    let errs = rejected(&[
        // Sorted by name, blacklist.csv's error would come first.
        (
            "blacklist.csv",
            "entity_id,reason,listed,source\nC1,行贿,2020-13-01,信用中国\n".as_bytes(),
        ),
        (
            "people.csv",
            "id,nam,id_number,birth_date,death_date\nP7,王芳,,,\nP8,赵六,,,\n".as_bytes(),
        ),
        (
            // P1 is known from the earlier load; P7 and P8 were in the unreadable file.
            "relations.csv",
            b"person_id,relative_id,relation\nP1,P7,spouse\nP8,P1,child\n",
        ),
    ]);
    let first = &errs[0];
    assert_eq!(
        (first.file.as_str(), first.line, first.column),
        ("people.csv", 1, 0),
        "{}",
        list(&errs)
    );
    assert!(first.message.contains("lacks required column `name`"));
    assert!(
        errs[1]
            .message
            .starts_with("2 references into people.csv not checked"),
        "the summary follows the root causes:\n{}",
        list(&errs)
    );
    at(&errs, "blacklist.csv", 2, 3);
    assert!(!errs.iter().any(|d| d.file == "relations.csv"));
}

// ---- 2. encodings ---------------------------------------------------------------------------

#[test]
fn a_gbk_file_is_named_as_gb18030_at_its_first_bad_byte() {
    let errs = rejected(&[("people.csv", &gb18030(PEOPLE))]);
    let d = at(&errs, "people.csv", 2, 2);
    assert_eq!(d.severity, Severity::Error);
    assert!(
        d.message.contains("GB18030")
            && d.message.contains("GBK")
            && d.message.contains("CSV UTF-8")
            && d.message.contains("--encoding gb18030"),
        "{d}"
    );
    assert!(d.message.contains("0xD5"), "names the byte: {d}");
    assert_eq!(errs.len(), 1, "one error for the file:\n{}", list(&errs));
}

#[test]
fn utf16_with_a_byte_order_mark_is_recognised() {
    let errs = rejected(&[("people.csv", &utf16(PEOPLE, true, true))]);
    let d = at(&errs, "people.csv", 1, 1);
    assert!(
        d.message.contains("UTF-16")
            && d.message.contains("little-endian")
            && d.message.contains("CSV UTF-8")
            && d.message.contains("--encoding utf-16"),
        "{d}"
    );
    assert_eq!(errs.len(), 1, "{}", list(&errs));
}

#[test]
fn utf16_without_a_byte_order_mark_is_recognised_by_its_nul_bytes() {
    for little in [true, false] {
        let errs = rejected(&[("people.csv", &utf16(PEOPLE, little, false))]);
        let d = at(&errs, "people.csv", 1, 1);
        let endian = if little {
            "little-endian"
        } else {
            "big-endian"
        };
        assert!(
            d.message.contains("UTF-16") && d.message.contains(endian),
            "{d}"
        );
        assert_eq!(errs.len(), 1, "{}", list(&errs));
    }
}

#[test]
fn an_excel_workbook_renamed_to_csv_is_named_as_such() {
    // The first bytes of an .xlsx (a ZIP archive) and of an .xls (an OLE2 compound file).
    for magic in [
        &b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"[..],
        &b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00\x00\x00"[..],
    ] {
        let errs = rejected(&[("people.csv", magic)]);
        let d = at(&errs, "people.csv", 1, 1);
        assert!(
            d.message.contains("Excel workbook") && d.message.contains("CSV UTF-8"),
            "{d}"
        );
        assert_eq!(errs.len(), 1, "{}", list(&errs));
    }
}

#[test]
fn a_stray_bad_byte_in_a_utf8_file_is_still_reported_at_its_field() {
    // One damaged byte among UTF-8 Chinese text: the file is UTF-8, the field is broken.
    let mut people = PEOPLE.as_bytes().to_vec();
    people.extend_from_slice("P3,王芳,,,\nP4,".as_bytes());
    people.extend_from_slice(b"x\xff,,,\n");
    let errs = rejected(&[("people.csv", &people)]);
    let d = at(&errs, "people.csv", 5, 2);
    assert!(d.message.contains("UTF-8"), "{d}");
    assert!(!d.message.contains("--encoding gb18030"), "{d}");
}

// ---- 3. separators --------------------------------------------------------------------------

#[test]
fn a_semicolon_separated_file_is_named_as_such() {
    let errs = rejected(&[(
        "people.csv",
        "id;name;id_number;birth_date;death_date\nP1;张伟;;;\n".as_bytes(),
    )]);
    let d = at(&errs, "people.csv", 1, 0);
    assert!(
        d.message.contains("`;`") && d.message.contains("comma-separated"),
        "{d}"
    );
    assert_eq!(
        errs.len(),
        1,
        "one error, not one per column:\n{}",
        list(&errs)
    );
}

#[test]
fn a_tab_separated_file_is_named_as_such() {
    let errs = rejected(&[(
        "relations.csv",
        b"person_id\trelative_id\trelation\nP1\tP2\tspouse\n",
    )]);
    let d = at(&errs, "relations.csv", 1, 0);
    assert!(
        d.message.contains("tab") && d.message.contains("comma-separated"),
        "{d}"
    );
    assert_eq!(errs.len(), 1, "{}", list(&errs));
}

// ---- 4. identifiers in scientific notation --------------------------------------------------

#[test]
fn an_identifier_excel_turned_into_a_number_is_a_warning_and_the_row_is_kept() {
    let people = "id,name,id_number,birth_date,death_date\n\
        P1,张伟,3.30122E+17,,\nP2,李娜,-3.30122e17,,\nP3,王芳,+3.30122E+017,,\n";
    let companies = "id,name,credit_code,address,phone,founded,status\n\
        C1,某公司,9.13501e+17,,,,\n";
    let (db, rep) = loads(&[
        ("people.csv", people.as_bytes()),
        ("companies.csv", companies.as_bytes()),
    ]);
    for (file, line, col) in [
        ("people.csv", 2, 3),
        ("people.csv", 3, 3),
        ("people.csv", 4, 3),
        ("companies.csv", 2, 3),
    ] {
        let w = at(&rep.warnings, file, line, col);
        assert_eq!(w.severity, Severity::Warning);
        assert!(
            w.message.contains("Excel") && w.message.contains("lost"),
            "{w}"
        );
    }
    assert_eq!(rep.foreign_identifiers, 0, "not counted as foreign");
    let nodes = db.node_records().expect("records");
    assert_eq!(nodes.len(), 4, "every row kept");
    let p1 = nodes.iter().find(|n| n.ext_id == "P1").expect("P1");
    assert_eq!(p1.identifier, None);
    assert!(p1
        .props
        .contains(&("id_number_invalid".to_owned(), "3.30122E+17".to_owned())));
    let c1 = nodes.iter().find(|n| n.ext_id == "C1").expect("C1");
    assert!(c1
        .props
        .contains(&("credit_code_invalid".to_owned(), "9.13501e+17".to_owned())));
}

// ---- 5. zero-width characters ---------------------------------------------------------------

#[test]
fn zero_width_characters_are_stripped_from_ids_names_and_identifiers() {
    let people = "id,name,id_number,birth_date,death_date\n\
        P\u{200B}1,张\u{200D}伟,\u{FEFF}11010519491231002X,1949-12-31,\n\
        P2,李\u{2060}娜,,,\n";
    let rel = "person_id,relative_id,relation\nP1,P\u{200C}2,spouse\n";
    let (db, rep) = loads(&[
        ("people.csv", people.as_bytes()),
        ("relations.csv", rel.as_bytes()),
    ]);
    assert!(rep.warnings.is_empty(), "{}", list(&rep.warnings));
    let nodes = db.node_records().expect("records");
    let p1 = nodes
        .iter()
        .find(|n| n.ext_id == "P1")
        .expect("P1 by its clean id");
    assert_eq!(p1.name, "张伟");
    assert_eq!(p1.identifier.as_deref(), Some("11010519491231002X"));
    let p2 = nodes.iter().find(|n| n.ext_id == "P2").expect("P2");
    assert_eq!(p2.name, "李娜");
    assert_eq!(db.edge_records().expect("edges").len(), 1);
}

// ---- 6. negative amounts --------------------------------------------------------------------

#[test]
fn negative_amounts_are_warnings_at_their_field_and_the_rows_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    base(dir.path());
    write(
        dir.path(),
        &[
            (
                "tenders.csv",
                "id,agency_id,title,budget,published\nT1,A1,道路工程,-1000,2020-01-01\n".as_bytes(),
            ),
            (
                "contracts.csv",
                b"id,agency_id,company_id,tender_id,amount,signed,approver_id\nK1,A1,C1,T1,-5000.00,2020-02-01,P1\n",
            ),
            (
                "bids.csv",
                b"tender_id,company_id,amount,submitted,won\nT1,C1,-1,2020-01-15,true\n",
            ),
            (
                "subsidies.csv",
                b"id,agency_id,recipient_id,amount,paid,approver_id\nS1,A1,P2,-300,2020-03-01,\n",
            ),
        ],
    );
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    let rep = match load(&mut db, dir.path()) {
        Ok(r) => r,
        Err(IngestError::Rejected(r)) => panic!("rejected:\n{}", list(&r.errors)),
        Err(e) => panic!("{e}"),
    };
    for (file, col, name) in [
        ("tenders.csv", 4, "budget"),
        ("contracts.csv", 5, "amount"),
        ("bids.csv", 3, "amount"),
        ("subsidies.csv", 4, "amount"),
    ] {
        let w = at(&rep.warnings, file, 2, col);
        assert_eq!(w.column_name.as_deref(), Some(name));
        assert!(w.message.contains("negative"), "{w}");
    }
    for f in &rep.files {
        assert_eq!(f.loaded, f.read, "{} keeps its rows", f.name);
    }
}
