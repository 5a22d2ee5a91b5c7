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
        DbPaths {
            root: root.to_path_buf(),
        }
    }
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }
    pub fn snapshot(&self) -> PathBuf {
        self.root.join("snapshot.bin")
    }
}

/// Opens the graph, creating the folder when `create` is set.
pub fn open(root: &Path, create: bool) -> Result<GraphDb<SledStore>> {
    let p = DbPaths::new(root);
    tracing::debug!(db = %root.display(), create, "opening the database");
    if !create && !p.store().exists() {
        anyhow::bail!(
            "{}: no database here; create one with `qinglian ingest BUNDLE_DIR --db {}`",
            root.display(),
            root.display()
        );
    }
    std::fs::create_dir_all(&p.root).with_context(|| format!("creating {}", p.root.display()))?;
    let store = SledStore::open(&p.store())
        .with_context(|| format!("opening the store in {}", p.store().display()))?;
    GraphDb::open(store).with_context(|| format!("opening {}", root.display()))
}

/// Opens the database and its snapshot (rebuilding the snapshot if it is missing or stale).
pub fn open_snapshot(
    root: &Path,
) -> Result<(GraphDb<SledStore>, qinglian_engine::snapshot::Snapshot)> {
    let db = open(root, false)?;
    let t = std::time::Instant::now();
    let (snap, rebuilt) = qinglian_engine::open_snapshot(&db, &DbPaths::new(root).snapshot())?;
    tracing::debug!(
        rebuilt,
        nodes = snap.node_count(),
        ms = t.elapsed().as_millis(),
        "snapshot opened"
    );
    if rebuilt {
        eprintln!(
            "snapshot rebuilt from the store in {:.2}s",
            t.elapsed().as_secs_f64()
        );
    }
    Ok((db, snap))
}

/// The snapshot of what the database knew after load `known_at` (built in memory; the cached
/// snapshot holds the current facts), or the current one when `None`.
pub fn snapshot_at(
    root: &Path,
    known_at: Option<u32>,
) -> Result<(GraphDb<SledStore>, qinglian_engine::snapshot::Snapshot)> {
    let Some(l) = known_at else {
        return open_snapshot(root);
    };
    let db = open(root, false)?;
    let loads = db.state().loads;
    if l == 0 || l > loads {
        anyhow::bail!(
            "--known-at {l}: the database has loads 1 to {loads} (`qinglian loads` lists them)"
        );
    }
    let snap = qinglian_engine::snapshot::build_at(&db, Some(l))?;
    Ok((db, snap))
}

/// The store's log folded up to a load (`qinglian_store::facts`), with what turns its records
/// into the terms the user reads: each node's bundle id, each file's name and load. What
/// `show --history` and `export --history` read.
#[derive(Debug)]
pub struct Log {
    /// The fold: current, retracted and superseded facts.
    pub facts: qinglian_store::facts::Facts,
    nodes: Vec<Option<qinglian_model::NodeRecord>>,
    files: std::collections::BTreeMap<u32, (String, u32)>,
}

impl Log {
    /// Folds the log of `db` up to `known_at` (all of it when `None`).
    pub fn read(db: &GraphDb<SledStore>, known_at: Option<u32>) -> Result<Log> {
        use qinglian_store::facts;
        Ok(Log {
            nodes: facts::nodes(db, db.state().next_node as usize, known_at)?,
            files: db
                .files()?
                .into_iter()
                .map(|f| (f.id.0, (f.name, f.load)))
                .collect(),
            facts: facts::fold(db, known_at)?,
        })
    }

    /// A node's bundle id (`#N` for one the fold does not know).
    pub fn ext(&self, id: qinglian_model::NodeId) -> String {
        self.nodes
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .map_or_else(|| format!("#{}", id.0), |r| r.ext_id.clone())
    }

    /// A file's name and load (empty and 0 for one the database does not list).
    pub fn file(&self, id: u32) -> (String, u32) {
        self.files.get(&id).cloned().unwrap_or_default()
    }

    /// Every fact that no longer holds, with `retracted` or `changed`.
    pub fn past(&self) -> impl Iterator<Item = (&qinglian_store::facts::Retracted, &'static str)> {
        let gone = self.facts.retracted.iter().map(|r| (r, "retracted"));
        gone.chain(self.facts.superseded.iter().map(|r| (r, "changed")))
    }
}
