use crate::{Batch, Scan, Store, StoreError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A store in a sled 0.34.7 database folder.
///
/// Durability, as measured on this kind of machine: sled's own `flush()` syncs with
/// `sync_file_range`, which lost acknowledged data in 39 of 40 simulated power cuts; adding an
/// fsync of the database's `db` file after the flush lost none in 40. So [`Store::commit`]
/// returns only after the batch, `flush()` and that fsync have all returned.
///
/// Blobs: sled writes any log message larger than `segment_size / 4` to its own file under
/// `blobs/`, and never fsyncs those files (`pagecache/blob_io.rs`). A leaf page only splits past
/// 16 items whatever their size, so with the default 512 KiB segments a page of a few 48 KiB
/// values already became a blob. [`SEGMENT_SIZE`] keeps the blob threshold (2 MiB) above the
/// largest possible page (17 values of at most 64 KiB), and a commit also fsyncs any blob file
/// that exists anyway, so that the `db` fsync is never the only thing standing between an
/// acknowledged load and a power cut.
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    dir: PathBuf,
    db_file: PathBuf,
}

/// How long [`SledStore::open`] waits for another holder of the database lock to let go.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// sled segment size; fixed when a database is created.
pub const SEGMENT_SIZE: usize = 8 * 1024 * 1024;

impl SledStore {
    /// Opens (or creates) the sled database in `dir`.
    ///
    /// sled releases its file lock only when its background flusher thread has exited, which
    /// can be a few milliseconds after the last handle is dropped; a reopen in the same process
    /// (ingest, then snapshot build; tests) would otherwise fail spuriously. So a lock conflict
    /// is retried for up to [`LOCK_WAIT`] before it is reported as [`StoreError::Locked`].
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(5);
        let db = loop {
            let attempt = sled::Config::new()
                .path(dir)
                .cache_capacity(256 * 1024 * 1024)
                .segment_size(SEGMENT_SIZE)
                .mode(sled::Mode::HighThroughput)
                .open();
            match attempt {
                Ok(db) => break db,
                // sled flattens the lock failure into an `Other` error with this text
                // (sled 0.34.7 `config.rs`), so the message is all there is to match on.
                Err(sled::Error::Io(e)) if e.to_string().starts_with("could not acquire lock") => {
                    if started.elapsed() >= LOCK_WAIT {
                        return Err(StoreError::Locked {
                            path: dir.to_path_buf(),
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                }
                Err(e) => return Err(e.into()),
            }
        };
        let store = SledStore {
            db,
            dir: dir.to_path_buf(),
            db_file: dir.join("db"),
        };
        // Make the folder entries of a new database durable too.
        sync_path(dir)?;
        Ok(store)
    }
}

fn sync_path(p: &Path) -> Result<(), StoreError> {
    File::open(p)
        .and_then(|f| f.sync_all())
        .map_err(|source| StoreError::Io {
            path: p.to_path_buf(),
            source,
        })
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Scan<'a> {
        Box::new(self.db.scan_prefix(prefix).map(|r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::from)
        }))
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let writes = batch.len();
        let mut b = sled::Batch::default();
        for (k, v) in batch.into_writes() {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        let t = std::time::Instant::now();
        self.db.apply_batch(b)?;
        let t1 = t.elapsed();
        self.db.flush()?;
        let t2 = t.elapsed();
        sync_path(&self.db_file)?;
        if std::env::var_os("QINGLIAN_DEBUG_BATCH").is_some() {
            eprintln!("sled: apply {t1:?} flush {t2:?} fsync {:?}", t.elapsed());
        }
        sync_blobs(&self.dir.join("blobs"))?;
        collect_garbage(writes);
        Ok(())
    }
}

/// Frees now what sled let go while applying a batch of `writes` writes. sled frees through
/// crossbeam-epoch's deferred garbage, collected a few bags at a time as threads pin it; after
/// a large load nobody pins for a while, and 6.5 GB of it stayed resident under the snapshot
/// build of a 10M-person load (docs/performance.md, "Memory"). Each flush moves this thread's
/// bag to the global queue, tries to advance the epoch and collects a few bags: a flush per
/// eight writes (64 garbage items a bag) outlasts the queue, and costs a microsecond or so
/// once it is empty.
fn collect_garbage(writes: usize) {
    for _ in 0..writes / 8 + 64 {
        crossbeam_epoch::pin().flush();
    }
}

impl SledStore {
    /// Number of blob files sled has written (0 when pages stay under the blob threshold).
    pub fn blob_count(&self) -> usize {
        std::fs::read_dir(self.dir.join("blobs")).map_or(0, Iterator::count)
    }
}

/// fsyncs every blob file and the blob folder (nothing to do in the normal case: no blobs).
fn sync_blobs(dir: &Path) -> Result<(), StoreError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut any = false;
    for e in entries.flatten() {
        sync_path(&e.path())?;
        any = true;
    }
    if any {
        sync_path(dir)?;
    }
    Ok(())
}
