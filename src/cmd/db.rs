//! The database folder: `store/` (sled), `snapshot.bin`, `tokens.json`, `audit.log`.

use anyhow::{Context, Result};
use qinglian_store::{GraphDb, SledStore};
use std::path::{Path, PathBuf};

/// Paths inside a database folder.
#[derive(Debug, Clone)]
pub struct DbPaths {
    pub root: PathBuf,
}

impl DbPaths {
    pub fn new(root: &Path) -> DbPaths {
        DbPaths { root: root.to_path_buf() }
    }
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }
    #[allow(dead_code)]
    pub fn snapshot(&self) -> PathBuf {
        self.root.join("snapshot.bin")
    }
}

/// Opens the graph, creating the folder when `create` is set.
pub fn open(root: &Path, create: bool) -> Result<GraphDb<SledStore>> {
    let p = DbPaths::new(root);
    if !create && !p.store().exists() {
        anyhow::bail!("{}: no database here; create one with `qinglian ingest BUNDLE_DIR --db {}`", root.display(), root.display());
    }
    std::fs::create_dir_all(&p.root).with_context(|| format!("creating {}", p.root.display()))?;
    let store = SledStore::open(&p.store()).with_context(|| format!("opening the store in {}", p.store().display()))?;
    GraphDb::open(store).with_context(|| format!("opening {}", root.display()))
}
