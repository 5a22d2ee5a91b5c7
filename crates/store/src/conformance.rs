//! The conformance suite every [`Store`] backend must pass.
//!
//! Use [`store_conformance!`](crate::store_conformance) in a backend's tests: it expands to
//! one `#[test]` per check, each given a fresh store from the constructor.

use crate::{Batch, Store, StoreError, MAX_VALUE_LEN};

/// Expands to one test per conformance check for a backend.
///
/// `$make` is an expression that yields a fresh, empty store each time it is called
/// (e.g. a closure over a temporary folder). `$reopen` (optional) yields a function that
/// builds a store, writes through it, drops it and opens it again at the same place.
#[macro_export]
macro_rules! store_conformance {
    ($modname:ident, $make:expr) => {
        mod $modname {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_conformance!(@tests $make; get_missing_is_none, put_then_get, later_write_wins,
                delete_removes, scan_is_ordered_and_bounded, scan_empty_prefix_sees_all, large_batch,
                values_at_the_limit, oversized_values_are_refused_before_commit, empty_batch);
        }
    };
    (@tests $make:expr; $($t:ident),*) => {
        $(#[test] fn $t() { let s = ($make)(); $crate::conformance::$t(&s).expect(stringify!($t)); })*
    };
}

fn check(cond: bool, what: &str) -> Result<(), StoreError> {
    if cond {
        Ok(())
    } else {
        Err(StoreError::Backend(format!("conformance: {what}")))
    }
}

fn put(s: &dyn Store, kv: &[(&[u8], &[u8])]) -> Result<(), StoreError> {
    let mut b = Batch::new();
    for (k, v) in kv {
        b.put(k.to_vec(), v.to_vec())?;
    }
    s.commit(b)
}

fn keys(s: &dyn Store, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    s.scan_prefix(prefix).map(|r| r.map(|(k, _)| k)).collect()
}

/// A key never written reads as `None`.
pub fn get_missing_is_none(s: &dyn Store) -> Result<(), StoreError> {
    check(s.get(b"nope")?.is_none(), "missing key must read as None")
}

/// A committed value reads back.
pub fn put_then_get(s: &dyn Store) -> Result<(), StoreError> {
    put(s, &[(b"a", b"1"), (b"b", b"")])?;
    check(s.get(b"a")?.as_deref() == Some(b"1"), "value reads back")?;
    check(
        s.get(b"b")?.as_deref() == Some(b""),
        "empty value is a value",
    )
}

/// Within a batch and across batches, the later write wins.
pub fn later_write_wins(s: &dyn Store) -> Result<(), StoreError> {
    put(s, &[(b"k", b"1"), (b"k", b"2")])?;
    check(
        s.get(b"k")?.as_deref() == Some(b"2"),
        "later write in a batch wins",
    )?;
    put(s, &[(b"k", b"3")])?;
    check(s.get(b"k")?.as_deref() == Some(b"3"), "later batch wins")
}

/// A delete removes the key from reads and scans.
pub fn delete_removes(s: &dyn Store) -> Result<(), StoreError> {
    put(s, &[(b"x1", b"1"), (b"x2", b"2")])?;
    let mut b = Batch::new();
    b.delete(b"x1".to_vec());
    b.delete(b"never".to_vec());
    s.commit(b)?;
    check(s.get(b"x1")?.is_none(), "deleted key is gone")?;
    check(
        keys(s, b"x")? == vec![b"x2".to_vec()],
        "scan skips deleted key",
    )
}

/// A prefix scan yields exactly the keys with the prefix, in byte order.
pub fn scan_is_ordered_and_bounded(s: &dyn Store) -> Result<(), StoreError> {
    put(
        s,
        &[
            (b"p\x02", b""),
            (b"p\x01\xff", b""),
            (b"p\x01", b""),
            (b"o\xff", b""),
            (b"q", b""),
            (b"p", b""),
        ],
    )?;
    let got = keys(s, b"p")?;
    let want: Vec<Vec<u8>> = vec![
        b"p".to_vec(),
        b"p\x01".to_vec(),
        b"p\x01\xff".to_vec(),
        b"p\x02".to_vec(),
    ];
    check(got == want, "prefix scan order and bounds")
}

/// The empty prefix scans everything.
pub fn scan_empty_prefix_sees_all(s: &dyn Store) -> Result<(), StoreError> {
    put(s, &[(b"b", b""), (b"a", b"")])?;
    check(
        keys(s, b"")? == vec![b"a".to_vec(), b"b".to_vec()],
        "empty prefix sees all keys",
    )
}

/// A batch of many writes commits whole.
pub fn large_batch(s: &dyn Store) -> Result<(), StoreError> {
    let mut b = Batch::new();
    for i in 0u32..20_000 {
        b.put(
            [b"L".as_slice(), &i.to_be_bytes()].concat(),
            i.to_le_bytes().to_vec(),
        )?;
    }
    s.commit(b)?;
    let n = s.scan_prefix(b"L").count();
    check(n == 20_000, "all writes of a large batch are visible")?;
    check(
        s.get(&[b"L".as_slice(), &19_999u32.to_be_bytes()].concat())?
            .as_deref()
            == Some(&19_999u32.to_le_bytes()[..]),
        "last write",
    )
}

/// Values up to the limit are stored intact.
pub fn values_at_the_limit(s: &dyn Store) -> Result<(), StoreError> {
    let v: Vec<u8> = (0..MAX_VALUE_LEN).map(|i| (i % 251) as u8).collect();
    put(s, &[(b"big", &v)])?;
    check(
        s.get(b"big")?.as_deref() == Some(&v[..]),
        "value at the limit reads back intact",
    )
}

/// An oversized value is refused when added to a batch, so nothing of the batch is committed.
pub fn oversized_values_are_refused_before_commit(s: &dyn Store) -> Result<(), StoreError> {
    let mut b = Batch::new();
    b.put(b"ok".to_vec(), b"1".to_vec())?;
    let refused = b.put(b"huge".to_vec(), vec![0; MAX_VALUE_LEN + 1]);
    check(
        matches!(refused, Err(StoreError::ValueTooLarge { .. })),
        "oversized value refused",
    )?;
    check(s.get(b"ok")?.is_none(), "nothing committed before commit")
}

/// An empty batch commits and changes nothing.
pub fn empty_batch(s: &dyn Store) -> Result<(), StoreError> {
    s.commit(Batch::new())?;
    check(keys(s, b"")?.is_empty(), "empty batch writes nothing")
}
