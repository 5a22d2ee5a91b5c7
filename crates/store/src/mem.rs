use crate::{Batch, Scan, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::RwLock;

/// An in-memory store: for tests, and for screening a bundle without writing a database.
/// A commit takes the write lock once, so readers see a batch whole or not at all.
#[derive(Debug, Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("memory store lock poisoned by a panic in another thread".into())
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.read().map_err(|_| poisoned())?.get(key).cloned())
    }

    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Scan<'a> {
        // Copy the matching range out so that no lock is held while the caller iterates.
        let items: Result<Vec<_>, _> = self.map.read().map_err(|_| poisoned()).map(|m| {
            m.range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        });
        match items {
            Ok(v) => Box::new(v.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut m = self.map.write().map_err(|_| poisoned())?;
        for (k, v) in batch.into_writes() {
            match v {
                Some(v) => m.insert(k, v),
                None => m.remove(&k),
            };
        }
        Ok(())
    }
}
