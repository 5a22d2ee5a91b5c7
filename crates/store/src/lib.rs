//! # qinglian-store
//!
//! Persistence for Qinglian, in two layers:
//!
//! * [`Store`] — a byte-level key-value trait of three methods (get, prefix scan, atomic
//!   durable commit), implemented by [`SledStore`] and [`MemStore`]. The same
//!   [`conformance`] suite runs against both, and a third backend (redb, say) only has to
//!   pass it too.
//! * [`GraphDb`] — the graph's layout on any store: a format version, a table of loads and
//!   source files, and each load's node, edge, blacklist and merge records in chunks. A load
//!   is one [`Batch`], so it commits whole or not at all.
//!
//! This is the only crate that names sled.

pub mod conformance;
mod error;
pub mod facts;
mod graph;
pub mod judgements;
pub mod lifecycle;
mod mem;
mod sled_store;

pub use error::StoreError;
pub use graph::{
    chunk_load, counts_by_name, decode_chunk, decode_chunk_heads, decode_chunk_where, ChunkEncoder,
    CountsByKind, DbState, FileInfo, FileSummary, GraphDb, LoadMeta, LoadRecord, LoadWriter, Mode,
    PlaceholderRecord, CHUNK_TARGET, FORMAT_VERSION,
};
pub use mem::MemStore;
/// The store's generation, defined in the model so that every crate names it the same way.
pub use qinglian_model::Generation;
pub use sled_store::{SledStore, LOCK_WAIT, SEGMENT_SIZE};

/// Largest value a batch accepts. sled 0.34.7 lost data with values over about 128 KB in our
/// power-cut tests; 64 KiB keeps a wide margin.
pub const MAX_VALUE_LEN: usize = 64 * 1024 - 1;
/// Largest key a batch accepts.
pub const MAX_KEY_LEN: usize = 1024;

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);
/// What a prefix scan yields.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<KeyValue, StoreError>> + 'a>;

/// A byte-level ordered key-value store.
///
/// Deliberately narrow: everything Qinglian persists is expressed through these three
/// methods, so a backend is small and the conformance suite covers all of it.
pub trait Store: Send + Sync {
    /// The value at `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every pair whose key starts with `prefix`, in ascending key order.
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Scan<'a>;

    /// Applies every write of `batch` atomically and durably: when this returns `Ok`, the
    /// whole batch survives a crash or power cut; if it fails, or the process dies before it
    /// returns, the store shows none of it.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;
}

/// Writes to commit together. Sizes are checked as writes are added, so a batch that reaches
/// [`Store::commit`] is always acceptable to every backend.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    bytes: usize,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StoreError> {
        if key.len() > MAX_KEY_LEN {
            return Err(StoreError::KeyTooLarge {
                len: key.len(),
                max: MAX_KEY_LEN,
            });
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(StoreError::ValueTooLarge {
                len: value.len(),
                max: MAX_VALUE_LEN,
            });
        }
        self.bytes += key.len() + value.len();
        self.writes.push((key, Some(value)));
        Ok(())
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.bytes += key.len();
        self.writes.push((key, None));
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether the batch holds no write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Total bytes of keys and values.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The writes, in the order they were added (a later write to a key wins).
    pub fn into_writes(self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.writes
    }
}
