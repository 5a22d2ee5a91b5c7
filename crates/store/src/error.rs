use std::path::PathBuf;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed (I/O, corruption detected by sled).
    #[error("store backend: {0}")]
    Backend(String),
    /// An fsync or file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A value over [`crate::MAX_VALUE_LEN`].
    #[error("value of {len} bytes exceeds the store's limit of {max}")]
    ValueTooLarge {
        /// Bytes offered.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A key over [`crate::MAX_KEY_LEN`].
    #[error("key of {len} bytes exceeds the store's limit of {max}")]
    KeyTooLarge {
        /// Bytes offered.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The database was written by a newer Qinglian.
    #[error(
        "this database has format version {found}, newer than the {supported} this qinglian understands; \
         use a newer qinglian (or re-ingest into a new database)"
    )]
    FormatTooNew {
        /// Version on disk.
        found: u32,
        /// Newest version this build reads.
        supported: u32,
    },
    /// The database was written by an older Qinglian whose format this one does not read.
    #[error("this database has format version {found}; this qinglian reads version {supported}: re-ingest the bundles into a new database")]
    FormatTooOld {
        /// Version on disk.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// Another process (or a store not yet fully closed) holds the database folder.
    #[error("database {path} is in use by another process (a running `qinglian serve` or ingest?); stop it or use another --db")]
    Locked {
        /// The database folder.
        path: PathBuf,
    },
    /// A stored record does not decode.
    #[error("corrupt record at key {key}: {reason}")]
    Corrupt {
        /// Printable key.
        key: String,
        /// Decoder message.
        reason: String,
    },
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}
