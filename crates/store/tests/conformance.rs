//! The conformance suite against both backends, plus what only a persistent backend can show.

use qinglian_store::{
    store_conformance, Batch, GraphDb, MemStore, SledStore, Store, StoreError, FORMAT_VERSION,
};

store_conformance!(memory, MemStore::new);
store_conformance!(sled_backend, || {
    // The folder must outlive the store: leak it for the test's duration.
    let dir = tempfile::tempdir().expect("tempdir").keep();
    SledStore::open(&dir).expect("open sled")
});

#[test]
fn sled_keeps_committed_batches_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = SledStore::open(dir.path()).expect("open");
        let mut b = Batch::new();
        b.put(b"k".to_vec(), b"v".to_vec()).expect("put");
        s.commit(b).expect("commit");
    }
    let s = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(s.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_newer_format_is_refused_with_a_clear_message() {
    let s = MemStore::new();
    let mut b = Batch::new();
    b.put(
        b"M/format".to_vec(),
        (FORMAT_VERSION + 1).to_le_bytes().to_vec(),
    )
    .expect("put");
    s.commit(b).expect("commit");
    let err = GraphDb::open(s).expect_err("newer format must be refused");
    assert!(matches!(err, StoreError::FormatTooNew { .. }));
    assert!(err.to_string().contains("newer than"), "{err}");
}

#[test]
fn opening_an_empty_store_writes_the_format_version() {
    let db = GraphDb::open(MemStore::new()).expect("open");
    assert_eq!(
        db.store().get(b"M/format").expect("get").as_deref(),
        Some(&FORMAT_VERSION.to_le_bytes()[..])
    );
    assert_eq!(db.state().generation, qinglian_store::Generation(0));
}

#[test]
fn a_database_held_open_elsewhere_is_reported_as_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _held = SledStore::open(dir.path()).expect("open");
    let err = SledStore::open(dir.path()).expect_err("second open must wait, then fail");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("in use"), "{err}");
}
