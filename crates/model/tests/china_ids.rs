//! Every example in `shared/data/real/china-ids/check_examples.csv`, with its cited source,
//! must be judged as the file says.

use qinglian_model::{CreditCode, ResidentId};
use std::path::PathBuf;

fn examples() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/real/china-ids/check_examples.csv");
    p.exists().then_some(p)
}

#[test]
fn check_examples_from_public_sources() {
    let Some(path) = examples() else {
        eprintln!("shared/data/real is not beside this checkout; skipping");
        return;
    };
    let mut rdr = csv::Reader::from_path(&path).expect("readable examples");
    let mut n = 0;
    for row in rdr.records() {
        let row = row.expect("valid csv");
        let (kind, value, expected) = (&row[0], &row[1], &row[2]);
        let ok = match kind {
            "resident_id" => ResidentId::parse(value).is_ok(),
            "uscc" => CreditCode::parse(value).is_ok(),
            other => panic!("unknown kind {other}"),
        };
        match expected {
            "true" => assert!(ok, "{value} should be valid ({})", &row[3]),
            "false" => assert!(!ok, "{value} should be invalid ({})", &row[3]),
            "normalize" => {
                let id = ResidentId::parse(value).expect("valid after upper-casing");
                assert_eq!(id.as_str(), value.to_ascii_uppercase());
            }
            other => panic!("unknown expectation {other}"),
        }
        n += 1;
    }
    assert_eq!(n, 12, "every example row was checked");
}
