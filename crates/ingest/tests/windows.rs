//! An entity file is parsed and resolved a window of parts at a time, the earlier windows'
//! drafts kept encoded: a row that repeats an id, or shares an identifier, with a row several
//! windows back must be resolved exactly as when the file is one part.

use qinglian_ingest::{ingest, Diagnostic, IngestError, IngestOptions};
use qinglian_store::{GraphDb, MemStore};
use std::fmt::Write as _;

const ROWS: usize = 3000;
/// A valid resident ID and credit code (check digits included), shared by two rows each.
const ID_NUMBER: &str = "11010519491231002X";
const CREDIT_CODE: &str = "91350100M000100Y43";

/// The bundle: people with a row repeated far below its first, a second row with the first
/// person's resident ID (another name and birth date: a merge with a warning), companies
/// sharing a credit code, contracts repeating a row; with `conflict`, a person's row repeated
/// with another name and a contract's with another supplier (errors).
fn bundle(conflict: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut people = String::from("id,name,id_number,birth_date,death_date\n");
    for i in 0..ROWS {
        let ident = if i == 5 { ID_NUMBER } else { "" };
        writeln!(people, "P{i},姓名{i},{ident},1970-01-01,").expect("write");
    }
    writeln!(people, "P10,姓名10,,1970-01-01,").expect("write");
    writeln!(people, "P{ROWS},别名,{ID_NUMBER},1949-12-31,").expect("write");
    if conflict {
        writeln!(people, "P20,另一个名字,,1970-01-01,").expect("write");
    }
    let mut companies = String::from("id,name,credit_code,address,phone,founded,status\n");
    for i in 0..ROWS {
        let code = if i == 1 { CREDIT_CODE } else { "" };
        writeln!(companies, "C{i},公司{i},{code},地址{i},,2010-01-01,存续").expect("write");
    }
    writeln!(
        companies,
        "C{ROWS},公司{ROWS},{CREDIT_CODE},地址,,2011-01-01,存续"
    )
    .expect("write");
    let agencies = "id,name,parent_id,region\nA1,某局,,浙江省\n";
    let mut contracts =
        String::from("id,agency_id,company_id,tender_id,amount,signed,approver_id\n");
    for i in 0..ROWS {
        writeln!(contracts, "K{i},A1,C{i},,1000.00,2020-01-01,P{i}").expect("write");
    }
    writeln!(contracts, "K7,A1,C7,,1000.00,2020-01-01,P7").expect("write");
    if conflict {
        writeln!(contracts, "K8,A1,C9,,1000.00,2020-01-01,P8").expect("write");
    }
    for (name, body) in [
        ("people.csv", people.as_str()),
        ("companies.csv", &companies),
        ("agencies.csv", agencies),
        ("contracts.csv", &contracts),
    ] {
        std::fs::write(dir.path().join(name), body).expect("write");
    }
    dir
}

/// What a load produced, as text: the report's files, warnings or errors, and every record.
fn outcome(dir: &std::path::Path, part_bytes: usize) -> String {
    let mut db = GraphDb::open(MemStore::new()).expect("open");
    let opts = IngestOptions {
        part_bytes,
        ..IngestOptions::default()
    };
    let lines = |ds: &[Diagnostic]| ds.iter().map(|d| format!("{d}\n")).collect::<String>();
    match ingest(&mut db, dir, &opts, &|_| {}) {
        Ok(r) => format!(
            "{:?}\n{}{:?}\n{:?}\n{:?}\n{:?}",
            r.files,
            lines(&r.warnings),
            db.node_records().expect("nodes"),
            db.edge_records().expect("edges"),
            db.merge_records().expect("merges"),
            db.warnings().expect("warnings"),
        ),
        Err(IngestError::Rejected(r)) => {
            assert!(db.loads().expect("loads").is_empty(), "nothing written");
            format!("{:?}\n{}{}", r.files, lines(&r.errors), lines(&r.warnings))
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn small_parts_resolve_as_one_part_does() {
    let dir = bundle(false);
    let whole = outcome(dir.path(), 64 << 20);
    let small = outcome(dir.path(), 512);
    assert_eq!(whole, small);
    // The repeats and merges happened (so the comparison covers them): two repeated rows and
    // two identifier merges, the person's with its warning.
    assert!(whole.contains("the same row again"), "{whole}");
    assert!(
        whole.contains("same id_number as P5") && whole.contains("birth_date"),
        "{whole}"
    );
    assert!(
        whole.contains(&format!("merged_ext: \"C{ROWS}\"")),
        "{whole}"
    );
}

#[test]
fn small_parts_reject_as_one_part_does() {
    let dir = bundle(true);
    let whole = outcome(dir.path(), 64 << 20);
    let small = outcome(dir.path(), 512);
    assert_eq!(whole, small);
    assert!(
        whole.contains("id P20 was already defined at people.csv:22"),
        "{whole}"
    );
    assert!(
        whole.contains("id K8 was already defined at contracts.csv:10"),
        "{whole}"
    );
}
