//! `IngestOptions::encoding` (what `qinglian ingest --encoding` sets) and the counts of the load
//! summary that are not per-row.

use qinglian_ingest::{ingest, Diagnostic, Encoding, IngestError, IngestOptions, IngestReport};
use qinglian_store::{GraphDb, MemStore};

const PEOPLE: &str = "id,name,id_number,birth_date,death_date\n\
P1,张伟,11010519491231002X,1949-12-31,\n\
P2,李娜,,1980-05-01,\n";
const COMPANIES: &str = "id,name,credit_code,address,phone,founded,status\n\
C1,杭州某某科技有限公司,91350100M000100Y43,浙江省杭州市1号,0571-88888888,2010-01-01,存续\n";

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

fn run(
    files: &[(&str, Vec<u8>)],
    encoding: Encoding,
) -> (GraphDb<MemStore>, Result<IngestReport, IngestError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).expect("write");
    }
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    let opts = IngestOptions {
        encoding,
        ..IngestOptions::default()
    };
    let r = ingest(&mut db, dir.path(), &opts, &|_| {});
    (db, r)
}

fn loaded(files: &[(&str, Vec<u8>)], encoding: Encoding) -> (GraphDb<MemStore>, IngestReport) {
    match run(files, encoding) {
        (db, Ok(rep)) => (db, rep),
        (_, Err(IngestError::Rejected(r))) => panic!("rejected:\n{}", list(&r.errors)),
        (_, Err(e)) => panic!("{e}"),
    }
}

fn rejected(files: &[(&str, Vec<u8>)], encoding: Encoding) -> Vec<Diagnostic> {
    match run(files, encoding) {
        (db, Err(IngestError::Rejected(r))) => {
            assert!(db.loads().expect("loads").is_empty(), "nothing written");
            r.errors
        }
        (_, Ok(rep)) => panic!("expected a rejection, got {:?}", rep.files),
        (_, Err(e)) => panic!("{e}"),
    }
}

fn gb18030(s: &str) -> Vec<u8> {
    let (b, _, unmappable) = encoding_rs::GB18030.encode(s);
    assert!(!unmappable);
    b.into_owned()
}

fn utf16(s: &str, little: bool, bom: bool) -> Vec<u8> {
    let units = bom.then_some(0xFEFF).into_iter().chain(s.encode_utf16());
    units
        .flat_map(|u| {
            if little {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            }
        })
        .collect()
}

/// (id, name, identifier) of every node, sorted.
fn people(db: &GraphDb<MemStore>) -> Vec<(String, String, Option<String>)> {
    let mut v: Vec<_> = db
        .node_records()
        .expect("records")
        .into_iter()
        .map(|n| (n.ext_id, n.name, n.identifier))
        .collect();
    v.sort();
    v
}

fn utf8_reference(files: &[(&str, &str)]) -> Vec<(String, String, Option<String>)> {
    let files: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| (*n, b.as_bytes().to_vec()))
        .collect();
    people(&loaded(&files, Encoding::Utf8).0)
}

#[test]
fn encoding_names_parse_as_the_cli_spells_them() {
    for (s, e) in [
        ("utf-8", Encoding::Utf8),
        ("UTF8", Encoding::Utf8),
        ("gb18030", Encoding::Gb18030),
        ("gbk", Encoding::Gb18030),
        ("utf-16", Encoding::Utf16),
        ("auto", Encoding::Auto),
    ] {
        assert_eq!(s.parse::<Encoding>(), Ok(e), "{s}");
    }
    assert!("latin1".parse::<Encoding>().is_err());
    assert_eq!(IngestOptions::default().encoding, Encoding::Utf8);
}

#[test]
fn gb18030_bundles_load_with_that_encoding_and_equal_the_utf8_load() {
    let (db, rep) = loaded(
        &[
            ("people.csv", gb18030(PEOPLE)),
            ("companies.csv", gb18030(COMPANIES)),
        ],
        Encoding::Gb18030,
    );
    assert!(rep.warnings.is_empty(), "{}", list(&rep.warnings));
    assert_eq!(
        people(&db),
        utf8_reference(&[("people.csv", PEOPLE), ("companies.csv", COMPANIES)])
    );
}

#[test]
fn positions_stay_right_after_decoding() {
    // A quoted name spanning two lines, then a bad date on physical line 4, column 4.
    let body = "id,name,id_number,birth_date,death_date\nP1,\"张\n伟\",,,\nP2,李娜,,1980-13-01,\n";
    let errs = rejected(&[("people.csv", gb18030(body))], Encoding::Gb18030);
    let d = at(&errs, "people.csv", 4, 4);
    assert_eq!(d.column_name.as_deref(), Some("birth_date"));
    let errs = rejected(&[("people.csv", utf16(body, true, true))], Encoding::Utf16);
    at(&errs, "people.csv", 4, 4);
}

#[test]
fn bytes_that_are_not_gb18030_either_are_located() {
    let mut body = gb18030("id,name,id_number,birth_date,death_date\nP1,张伟,,,\nP2,李");
    // 0x81 starts a two- or four-byte sequence; a comma cannot follow it.
    body.extend_from_slice(b"\x81,,,\n");
    let errs = rejected(&[("people.csv", body)], Encoding::Gb18030);
    let d = at(&errs, "people.csv", 3, 2);
    assert!(
        d.message.contains("GB18030") && d.message.contains("0x81"),
        "{d}"
    );
}

#[test]
fn utf16_bundles_load_in_either_byte_order() {
    let (db, rep) = loaded(
        &[
            ("people.csv", utf16(PEOPLE, true, true)),
            ("companies.csv", utf16(COMPANIES, false, false)),
        ],
        Encoding::Utf16,
    );
    assert!(rep.warnings.is_empty(), "{}", list(&rep.warnings));
    assert_eq!(
        people(&db),
        utf8_reference(&[("people.csv", PEOPLE), ("companies.csv", COMPANIES)])
    );
}

#[test]
fn a_utf8_file_in_a_gb18030_bundle_is_read_as_utf8_with_a_warning() {
    // GB18030 would turn its Chinese into other Chinese characters without an error.
    let (db, rep) = loaded(
        &[
            ("people.csv", gb18030(PEOPLE)),
            ("companies.csv", COMPANIES.as_bytes().to_vec()),
        ],
        Encoding::Gb18030,
    );
    let w = at(&rep.warnings, "companies.csv", 0, 0);
    assert!(w.message.contains("UTF-8"), "{w}");
    assert_eq!(
        people(&db),
        utf8_reference(&[("people.csv", PEOPLE), ("companies.csv", COMPANIES)])
    );
}

#[test]
fn auto_detects_each_file_and_says_what_it_used() {
    let (db, rep) = loaded(
        &[
            ("people.csv", gb18030(PEOPLE)),
            ("companies.csv", utf16(COMPANIES, true, false)),
            (
                "relations.csv",
                b"person_id,relative_id,relation\nP1,P2,spouse\n".to_vec(),
            ),
        ],
        Encoding::Auto,
    );
    assert!(at(&rep.warnings, "people.csv", 0, 0)
        .message
        .contains("GB18030"));
    assert!(at(&rep.warnings, "companies.csv", 0, 0)
        .message
        .contains("UTF-16"));
    assert_eq!(rep.warnings.len(), 2, "{}", list(&rep.warnings));
    assert_eq!(
        people(&db),
        utf8_reference(&[("people.csv", PEOPLE), ("companies.csv", COMPANIES)])
    );
}

#[test]
fn auto_does_not_guess_for_a_file_that_mixes_utf8_and_other_bytes() {
    let mut body = PEOPLE.as_bytes().to_vec();
    body.extend_from_slice(&gb18030("P3,王芳,,,\n"));
    let errs = rejected(&[("people.csv", body)], Encoding::Auto);
    at(&errs, "people.csv", 4, 2);
}

#[test]
fn the_summary_counts_fields_cleaned_of_zero_width_characters() {
    let people = "id,name,id_number,birth_date,death_date\n\
        P\u{200B}1,张\u{200D}伟,\u{FEFF}11010519491231002X,1949-12-31,\n\
        P2,李\u{2060}娜,,,\n";
    let rel = "person_id,relative_id,relation\nP1,P\u{200C}2,spouse\n";
    let (_, rep) = loaded(
        &[
            ("people.csv", people.as_bytes().to_vec()),
            ("relations.csv", rel.as_bytes().to_vec()),
        ],
        Encoding::Utf8,
    );
    assert_eq!(
        rep.zero_width_fields,
        vec![
            ("people.csv".to_owned(), 4),
            ("relations.csv".to_owned(), 1)
        ]
    );
}
