//! # qinglian-ingest
//!
//! A bundle (a folder of CSV files, `SCHEMA.md`) becomes one load of the graph:
//!
//! 1. every file is decoded to UTF-8 as [`Encoding`] says (a file that cannot be is named
//!    with the encoding it seems to be in), then read, and every field parsed once; each
//!    problem is a [`Diagnostic`] naming file, line and column, and root causes (a file that
//!    cannot be decoded or has an unusable header) are reported before everything else;
//! 2. identities are resolved (same bundle id, or same valid resident ID / credit code, is
//!    one entity; names never merge) and every merge is recorded;
//! 3. if any row has an error the load is rejected and nothing is written; otherwise every
//!    record goes into one batch that the store commits atomically and durably.
//!
//! Which problems reject the load and which keep the row with a warning is documented in
//! `docs/ingest.md`; the short version: anything that would make a finding wrong or a
//! reference dangle is an error, anything that only loses a detail is a warning.

mod decode;
mod diag;
mod placeholders;
mod resolve;
mod rows;
pub mod schema;
mod table;

pub use decode::{Encoding, UnknownEncoding};
pub use diag::{Diagnostic, Severity};

use diag::FileDiags;
use qinglian_model::BlacklistRecord;
use qinglian_model::EdgeRecord;
use qinglian_model::{EdgeKind, FileId, NodeKind};
pub use qinglian_store::Mode;
use qinglian_store::{FileSummary, GraphDb, LoadMeta, LoadRecord, LoadWriter, Store, StoreError};
use rayon::prelude::*;
use resolve::{Existing, Resolver};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Limits and switches of a load.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Largest field accepted, in bytes; a larger one is an error.
    pub max_field_bytes: usize,
    /// Errors kept in the report; later ones are counted but not kept.
    pub max_errors: usize,
    /// The text encoding of the bundle's files (see [`Encoding`]).
    pub encoding: Encoding,
    /// The source the load belongs to (default: the bundle folder's name).
    pub source: Option<String>,
    /// Snapshot (the bundle is the source's whole truth) or delta (adds and changes only).
    pub mode: Mode,
    /// Bytes of a file parsed as one parallel part (an entity file's parts are resolved a few
    /// at a time). The load is the same whatever the size; tests make it small to cross many
    /// part and window boundaries.
    pub part_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_field_bytes: 8 * 1024,
            max_errors: 200,
            encoding: Encoding::Utf8,
            source: None,
            mode: Mode::Snapshot,
            part_bytes: PART_BYTES,
        }
    }
}

/// Progress of a load, for a progress bar.
#[derive(Clone, Debug)]
pub enum Progress {
    /// Files are being read and parsed; `bytes` of `total` done.
    Parsing {
        /// Bytes parsed so far.
        bytes: u64,
        /// Bytes in the bundle.
        total: u64,
    },
    /// Identities and references are being resolved.
    Resolving,
    /// Records are being encoded into the batch.
    Writing,
    /// The batch is being committed and synced.
    Committing,
}

/// What a successful `ingest` did.
#[derive(Debug)]
pub struct IngestReport {
    /// The committed load, or `None` when the bundle was loaded before.
    pub load: Option<LoadRecord>,
    /// The earlier load of the same bundle, when this was a no-op.
    pub already_loaded: Option<u32>,
    /// Per-file counts.
    pub files: Vec<FileSummary>,
    /// Warnings (the rows were kept).
    pub warnings: Vec<Diagnostic>,
    /// Files and folders in the bundle folder that are not part of the format.
    pub ignored: Vec<String>,
    /// Rows whose national identifier is not Chinese-shaped and was kept as a property.
    pub foreign_identifiers: u64,
    /// Per file (only files with any), fields from which zero-width characters (U+200B,
    /// U+200C, U+200D, U+2060, U+FEFF) were removed: ids, names, identifiers, labels, dates
    /// and numbers.
    pub zero_width_fields: Vec<(String, u64)>,
    /// Time per phase.
    pub timings: Vec<(&'static str, Duration)>,
    /// The source and mode of the load.
    pub source: String,
    /// See `source`.
    pub mode: Mode,
    /// Facts (and entity attributes) this load changed; each is a warning naming the row.
    pub changed: u64,
    /// Facts this load retracted (snapshot mode: asserted by the source before, not now), per
    /// edge kind, with a few examples.
    pub retracted: Vec<(EdgeKind, u64)>,
    /// Up to 20 retracted facts, in words.
    pub retracted_examples: Vec<String>,
    /// Rows with `op` = `retract` (each retracts its fact for this load's source).
    pub explicit_retractions: u64,
}

/// Why a load did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The bundle has errors; the database is unchanged.
    #[error("{} error(s) in the bundle; nothing was loaded", .0.error_count)]
    Rejected(Box<Rejection>),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The folder holds no bundle file.
    #[error("{0}: no bundle files found (expected some of: {names})", names = schema::FILES.iter().map(|f| f.name).collect::<Vec<_>>().join(", "))]
    NotABundle(PathBuf),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file's bytes when parsed are not those hashed when the load began (someone wrote to
    /// the bundle meanwhile): nothing was loaded.
    #[error("{0}: changed while it was being loaded; nothing was loaded, load the bundle again")]
    Changed(PathBuf),
}

/// A rejected load: what was wrong, per file.
#[derive(Debug)]
pub struct Rejection {
    /// Per-file counts.
    pub files: Vec<FileSummary>,
    /// The errors (at most `max_errors` of them). Root causes come first: files that are not
    /// part of the format, cannot be decoded or have an unusable header; then one line per such
    /// entity file counting the references into it that could not be checked; then every other
    /// error, by file, line and column.
    pub errors: Vec<Diagnostic>,
    /// All errors, including those not kept.
    pub error_count: usize,
    /// Warnings found along the way.
    pub warnings: Vec<Diagnostic>,
}

struct Source {
    spec: &'static schema::FileSpec,
    /// The name diagnostics and provenance cite: the bundle file's, or the FtM/OCDS/BODS file
    /// a translated file came from.
    name: String,
    bytes: Vec<u8>,
    sha256: String,
    /// For a translated file, the source line of each CSV line (index = CSV line).
    lines: Option<std::sync::Arc<Vec<u32>>>,
    /// Where to read `bytes` again, for a relationship file whose text was let go once hashed:
    /// it is parsed only after identities are resolved, and holding it meanwhile was 1 GB at
    /// 10M people (docs/performance.md, "Memory").
    deferred: Option<PathBuf>,
    /// The file's size in bytes, whether they are held or deferred (progress).
    len: u64,
}

/// Lists and reads the bundle's files. Unknown `.csv` files are errors (a misspelt
/// `poeple.csv` must not be skipped silently); other files are ignored and reported.
/// A bundle's files, the names it ignored, and file-level errors.
type BundleFiles = (Vec<Source>, Vec<String>, Vec<Diagnostic>);

fn read_bundle(dir: &Path) -> Result<BundleFiles, IngestError> {
    let io = |source| IngestError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    names.sort();
    let (mut sources, mut ignored, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for (name, path) in names {
        match schema::spec(&name) {
            Some(spec) => {
                let bytes = std::fs::read(&path).map_err(|source| IngestError::Io {
                    path: path.clone(),
                    source,
                })?;
                let sha256 = hex(&Sha256::digest(&bytes));
                let len = bytes.len() as u64;
                let defer =
                    !is_entity_file(spec.kind) && spec.kind != schema::FileKind::Placeholders;
                sources.push(Source {
                    spec,
                    name: spec.name.to_owned(),
                    bytes: if defer { Vec::new() } else { bytes },
                    sha256,
                    lines: None,
                    deferred: defer.then_some(path),
                    len,
                });
            }
            None if name.to_ascii_lowercase().ends_with(".csv") => errors.push(Diagnostic {
                severity: Severity::Error,
                file: name.clone(),
                line: 0,
                column: 0,
                column_name: None,
                message: format!(
                    "not a bundle file (expected one of: {}); rename or move it",
                    schema::FILES
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
            None => ignored.push(name),
        }
    }
    if sources.is_empty() && errors.is_empty() {
        return Err(IngestError::NotABundle(dir.to_path_buf()));
    }
    // Resolution order: entities before the rows that refer to them.
    sources.sort_by_key(|s| schema::FILES.iter().position(|f| f.name == s.spec.name));
    Ok((sources, ignored, errors))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn bundle_hash(sources: &[Source]) -> String {
    let mut h = Sha256::new();
    let mut sorted: Vec<&Source> = sources.iter().collect();
    sorted.sort_by_key(|s| s.spec.name);
    for s in sorted {
        h.update(s.spec.name.as_bytes());
        h.update([0]);
        h.update(s.sha256.as_bytes());
    }
    hex(&h.finalize())
}

/// Per-file working state.
struct Work {
    spec: &'static schema::FileSpec,
    /// The name the file is cited by (see [`Source`]).
    name: String,
    sha256: String,
    bytes: Vec<u8>,
    header: Option<table::Header>,
    parts: Vec<table::Part>,
    diags: FileDiags,
    drafts: rows::Drafts,
    /// See [`Source::deferred`]: read, checked and split by [`load_deferred`].
    deferred: Option<PathBuf>,
    read: u64,
    loaded: u64,
    merged: u64,
}

fn is_entity_file(k: schema::FileKind) -> bool {
    use schema::FileKind::*;
    matches!(
        k,
        People | Agencies | Companies | Tenders | Contracts | Subsidies | Blacklist
    )
}

/// Files larger than this are parsed in several parts at once (the default of
/// [`IngestOptions::part_bytes`]).
const PART_BYTES: usize = 4 << 20;

/// Edges encoded by one parallel unit, with the problems it found.
struct Encoded {
    chunks: Vec<Vec<u8>>,
    counts: [u64; EdgeKind::COUNT],
    edges: u64,
    errors: Vec<(u64, usize, String)>,
    /// Rows with `op` = `retract`.
    retractions: u64,
    /// Per relationship row: hashes of its fact's key and value, and its line (to report two
    /// rows of one bundle that state one fact with different values).
    stated: Vec<(u64, u64, u64)>,
    read: u64,
    diags: Option<FileDiags>,
}

/// Loads the bundle in `dir` into `db`: all or nothing.
pub fn ingest<S: Store>(
    db: &mut GraphDb<S>,
    dir: &Path,
    opts: &IngestOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<IngestReport, IngestError> {
    let (sources, ignored, file_errors) = read_bundle(dir)?;
    ingest_sources(db, dir, (sources, ignored, file_errors), opts, progress)
}

/// A bundle file made from another format: the rows of one bundle file (its CSV text, in the
/// layout of `docs/format.md`), the file they came from, and for every CSV line the line of
/// that file to cite.
#[derive(Clone, Debug)]
pub struct TranslatedFile {
    /// The bundle file it stands for (`people.csv`, `ownership.csv` …).
    pub bundle_file: &'static str,
    /// The source file, as provenance and diagnostics name it.
    pub name: String,
    /// CSV text with a header.
    pub csv: Vec<u8>,
    /// `lines[l]` = the source line of CSV line `l` (index 0 unused, 1 the header).
    pub lines: Vec<u32>,
}

/// Loads files translated from FtM, OCDS or BODS (`origin` is the path given): the same load
/// as a bundle's — validated, identity-resolved, all or nothing — with every row citing its
/// source file and line.
pub fn ingest_translated<S: Store>(
    db: &mut GraphDb<S>,
    origin: &Path,
    files: Vec<TranslatedFile>,
    opts: &IngestOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<IngestReport, IngestError> {
    let mut sources = Vec::new();
    for f in files {
        let Some(spec) = schema::spec(f.bundle_file) else {
            return Err(IngestError::NotABundle(origin.to_path_buf()));
        };
        let sha256 = hex(&Sha256::digest(&f.csv));
        sources.push(Source {
            spec,
            name: f.name,
            len: f.csv.len() as u64,
            bytes: f.csv,
            sha256,
            lines: Some(std::sync::Arc::new(f.lines)),
            deferred: None,
        });
    }
    if sources.is_empty() {
        return Err(IngestError::NotABundle(origin.to_path_buf()));
    }
    sources.sort_by_key(|s| schema::FILES.iter().position(|f| f.name == s.spec.name));
    ingest_sources(
        db,
        origin,
        (sources, Vec::new(), Vec::new()),
        opts,
        progress,
    )
}

fn ingest_sources<S: Store>(
    db: &mut GraphDb<S>,
    dir: &Path,
    (sources, ignored, file_errors): BundleFiles,
    opts: &IngestOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<IngestReport, IngestError> {
    let t0 = Instant::now();
    let mut timings = Vec::new();
    let hash = bundle_hash(&sources);
    if file_errors.is_empty() {
        // The same bundle again is a no-op only when nothing was loaded since: after another
        // load of its source, loading it again re-asserts what that load retracted.
        if let Some(n) = db.load_with_hash(&hash)?.filter(|&n| n == db.state().loads) {
            return Ok(IngestReport {
                load: None,
                already_loaded: Some(n),
                files: Vec::new(),
                warnings: Vec::new(),
                ignored,
                foreign_identifiers: 0,
                zero_width_fields: Vec::new(),
                timings,
                source: source_name(dir, opts),
                mode: opts.mode,
                changed: 0,
                retracted: Vec::new(),
                retracted_examples: Vec::new(),
                explicit_retractions: 0,
            });
        }
    }
    let (listed, sources): (Vec<Source>, Vec<Source>) = sources
        .into_iter()
        .partition(|s| s.spec.kind == schema::FileKind::Placeholders);
    let listed: Vec<placeholders::Read> = listed
        .into_iter()
        .map(|s| placeholders::read(s.spec, &s.name, s.bytes, s.sha256, opts.encoding))
        .collect();
    let parsing = Parsing::start(&sources, progress);
    let mut work = decode_files(sources, opts);
    let mut spent = EntityTimes {
        parse: t0.elapsed(),
        resolve: Duration::ZERO,
    };
    let (mut writer, mut ids) = entities(db, &mut work, (dir, &hash), opts, &parsing, &mut spent)?;
    progress(Progress::Resolving);
    let source = source_name(dir, opts);
    writer.set_meta(LoadMeta {
        source: source.clone(),
        mode: opts.mode,
    });
    timings.push(("parse entities", spent.parse));
    timings.push(("resolve identities", spent.resolve));

    let t2 = Instant::now();
    load_deferred(&mut work, opts)?;
    let (blacklist, edge_chunks, restated, explicit_retractions) =
        parse_edges(&mut work, &ids, opts, &parsing);
    free_bytes(&mut work);
    timings.push(("parse and resolve edges", t2.elapsed()));
    let t2 = Instant::now();
    let (restated_known, edge_changes) =
        compare_with_known(db, &mut work, &mut ids, &edge_chunks, opts.mode)?;
    let (retracted, retracted_examples) = if opts.mode == Mode::Snapshot {
        retractions(&source, &restated_known, &ids)
    } else {
        (Vec::new(), Vec::new())
    };
    let changed = restated + edge_changes + ids.resolver.changed;
    timings.push(("compare with known facts", t2.elapsed()));

    let mut summaries = summaries(&work);
    summaries.extend(listed.iter().map(|l| l.summary.clone()));
    let foreign_identifiers = work.iter().map(|w| w.drafts.foreign_ids).sum();
    let zero_width_fields = work
        .iter()
        .filter(|w| w.diags.zero_width > 0)
        .map(|w| (w.name.clone(), w.diags.zero_width))
        .collect();
    let Sorted {
        mut warnings,
        mut roots,
        mut errors,
    } = sort_diagnostics(work, file_errors);
    for l in &listed {
        for d in &l.diags {
            match d.severity {
                Severity::Warning => warnings.push(d.clone()),
                Severity::Error if l.unreadable => roots.push(d.clone()),
                Severity::Error => errors.push(d.clone()),
            }
        }
    }
    let unchecked = ids.resolver.unchecked();
    if !roots.is_empty() || !errors.is_empty() || !unchecked.is_empty() {
        return Err(IngestError::Rejected(Box::new(rejection(
            roots,
            errors,
            unchecked,
            summaries,
            warnings,
            opts.max_errors,
        ))));
    }

    put_placeholders(&mut writer, &listed)?;
    let t3 = Instant::now();
    progress(Progress::Writing);
    drop_in_background(std::mem::take(&mut ids.known));
    drop_in_background(ids.resolver.take_existing());
    write_load(
        &mut writer,
        ids.resolver,
        edge_chunks,
        &blacklist,
        &warnings,
    )?;
    timings.push(("encode", t3.elapsed()));
    let t4 = Instant::now();
    progress(Progress::Committing);
    if std::env::var_os("QINGLIAN_DEBUG_BATCH").is_some() {
        eprintln!("batch: {} bytes", writer.bytes());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let load = db.commit_load(writer, summaries.clone(), now)?;
    timings.push(("commit", t4.elapsed()));
    Ok(IngestReport {
        load: Some(load),
        already_loaded: None,
        files: summaries,
        warnings,
        ignored,
        foreign_identifiers,
        zero_width_fields,
        timings,
        source,
        mode: opts.mode,
        changed,
        retracted,
        retracted_examples,
        explicit_retractions,
    })
}

/// Frees the text of the relationship files once their rows are parsed (each entity file's
/// is freed as soon as it is resolved): the encoded chunks own what they keep, and at 10M
/// people the relationship files' text is 1.05 GB that would otherwise stay resident under
/// the next phases (docs/performance.md, "Memory").
fn free_bytes(work: &mut [Work]) {
    for w in work.iter_mut() {
        w.bytes = Vec::new();
    }
}

/// Frees `v` on another thread: the records of every node and fact an earlier load holds are
/// millions of small allocations, whose freeing took 6 s of a 10M-person delta's critical path
/// (docs/performance.md); the load goes on to encode and commit meanwhile.
fn drop_in_background<T: Send + 'static>(v: T) {
    // Should no thread be spawned, the closure, and `v` with it, is dropped here instead.
    let _ = std::thread::Builder::new()
        .name("qinglian-free".into())
        .spawn(move || drop(v));
}

/// Keeps the values `placeholders.csv` lists with the load, each citing its line.
fn put_placeholders(w: &mut LoadWriter, listed: &[placeholders::Read]) -> Result<(), IngestError> {
    for l in listed {
        let file = w.add_file(&l.summary.name);
        for r in &l.rows {
            w.put_placeholder(&qinglian_store::PlaceholderRecord {
                value: r.value.clone(),
                field: r.field,
                source: qinglian_model::Provenance { file, line: r.line },
            })?;
        }
    }
    Ok(())
}

/// The load's source: as given, or the bundle folder's name.
fn source_name(dir: &Path, opts: &IngestOptions) -> String {
    opts.source.clone().unwrap_or_else(|| {
        dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    })
}

/// What a snapshot load of `source` retracts: the facts it asserted before, asserted by no
/// other source, that this load does not restate (`restated`, by position in the facts).
fn retractions(
    source: &str,
    restated: &[bool],
    ids: &Identities,
) -> (Vec<(EdgeKind, u64)>, Vec<String>) {
    let mut per = [0u64; EdgeKind::COUNT];
    let mut examples = Vec::new();
    let facts = &ids.known;
    let Some(s) = facts.sources.iter().position(|x| x == source) else {
        return (Vec::new(), Vec::new());
    };
    for (i, f) in facts.current.iter().enumerate() {
        if restated.get(i).copied().unwrap_or(false)
            || !qinglian_store::facts::asserted_by_source(f, s)
            || qinglian_store::facts::asserted_elsewhere(facts, f, source)
        {
            continue;
        }
        per[f.rec.kind.index()] += 1;
        if examples.len() < 20 {
            examples.push(format!(
                "{} {} -> {} (stated at {}:{})",
                f.rec.kind,
                ids.resolver.ext(f.rec.from),
                ids.resolver.ext(f.rec.to),
                ids.file_names
                    .get(&f.rec.source.file)
                    .map_or("?", String::as_str),
                f.rec.source.line
            ));
        }
    }
    let out = EdgeKind::ALL
        .iter()
        .filter(|k| per[k.index()] > 0)
        .map(|k| (*k, per[k.index()]))
        .collect();
    (out, examples)
}

/// Compares this load's edge records with the facts known before it ([`known_before`]):
/// warns, at each row, of a value it changes and of a retraction that retracts nothing, and
/// returns which known facts this load restates (by position: a snapshot load retracts the
/// others) with the number of warnings.
fn compare_with_known<S: Store>(
    db: &GraphDb<S>,
    work: &mut [Work],
    ids: &mut Identities,
    edge_chunks: &EdgeChunks,
    mode: Mode,
) -> Result<(Vec<bool>, u64), IngestError> {
    if db.state().loads == 0 {
        return Ok((Vec::new(), 0));
    }
    let chunks: Vec<&Vec<u8>> = edge_chunks.iter().flat_map(|(c, _)| c).collect();
    let recs: Vec<EdgeRecord> = chunks
        .par_iter()
        .map(|c| qinglian_store::decode_chunk::<EdgeRecord>(b"(this load)", c))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    ids.known = known_before(db, &recs, mode)?;
    ids.index = qinglian_store::facts::FactIndex::of(&ids.known.current);
    let file_of: FxHashMap<FileId, usize> = ids
        .file_ids
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i))
        .collect();
    let ids = &*ids;
    let headers: Vec<&[String]> = work.iter().map(|w| &w.diags.headers[..]).collect();
    // Per record: the known fact it restates, and its warning (file, line, column, message).
    type Compared = (Option<usize>, Option<(usize, u64, usize, String)>);
    let compared: Vec<Compared> = recs
        .par_iter()
        .map(|rec| {
            let Some(&i) = file_of.get(&rec.source.file) else {
                return (None, None);
            };
            let line = u64::from(rec.source.line);
            let fields = qinglian_model::facts::Fields::of(rec);
            let at = ids.index.position(&ids.known.current, &fields);
            if qinglian_model::facts::retracts(&rec.props) {
                let problem = at.is_none().then(|| (i, line, 1, retraction_problem(rec)));
                return (None, problem);
            }
            let warning = at
                .and_then(|k| change_warning(ids, &ids.known.current[k].rec, rec, headers[i]))
                .map(|(col, msg)| (i, line, col, msg));
            (at, warning)
        })
        .collect();
    let mut restated = vec![false; ids.known.current.len()];
    let mut warned = Vec::new();
    for (at, warning) in compared {
        if let Some(k) = at {
            restated[k] = true;
        }
        warned.extend(warning);
    }
    warned.sort_by_key(|w| (w.0, w.1));
    let n = warned.len() as u64;
    for (i, line, col, msg) in warned {
        work[i].diags.warn(line, col, msg);
    }
    Ok((restated, n))
}

/// The facts known before this load that its records `recs` need: a snapshot load reads every
/// one (it retracts what it does not restate); a delta load only those whose key starts with
/// the node and kind of one of its records' keys (`facts::fold_where`, `facts::key_node`).
fn known_before<S: Store>(
    db: &GraphDb<S>,
    recs: &[EdgeRecord],
    mode: Mode,
) -> Result<qinglian_store::facts::Facts, IngestError> {
    if mode == Mode::Snapshot {
        return Ok(qinglian_store::facts::fold(db, None)?);
    }
    // Keyed by (kind, first node of the key): a fact shares a key with a row only if both are
    // the same. Reading every fact of every node the rows touch instead kept all the edges of
    // each agency and company they name (6.4 -> 12.0 GB in the 10M delta; docs/performance.md).
    let key_node = qinglian_model::facts::key_node;
    let wanted: rustc_hash::FxHashSet<(EdgeKind, qinglian_model::NodeId)> = recs
        .iter()
        .map(|r| (r.kind, key_node(r.kind, r.from, r.to)))
        .collect();
    Ok(qinglian_store::facts::fold_where(db, None, &|k, a, b| {
        wanted.contains(&(k, key_node(k, a, b)))
    })?)
}

/// The change a resolved edge makes to `old`, the fact of its key, as a warning (column,
/// message), or `None` for the same fact again.
fn change_warning(
    ids: &Identities,
    old: &EdgeRecord,
    rec: &EdgeRecord,
    headers: &[String],
) -> Option<(usize, String)> {
    if qinglian_store::facts::same_value(old, rec) {
        return None;
    }
    let changes = qinglian_model::facts::changes(old, rec);
    let first = changes.first()?;
    let show = |v: &str| match v.strip_prefix('#').and_then(|n| n.parse::<u32>().ok()) {
        Some(n) => ids.resolver.ext(qinglian_model::NodeId(n)),
        None if v.is_empty() => "(empty)".to_owned(),
        None => v.to_owned(),
    };
    let what: Vec<String> = changes
        .iter()
        .map(|c| format!("{} {} -> {}", c.column, show(&c.was), show(&c.now)))
        .collect();
    let col = column_of(headers, first.column);
    Some((
        col,
        format!(
            "changes the {} fact stated at {}:{}: {}; the new value holds",
            rec.kind,
            ids.file_names
                .get(&old.source.file)
                .map_or("?", String::as_str),
            old.source.line,
            what.join(", ")
        ),
    ))
}

/// Why a retraction row whose key no current fact has retracts nothing.
fn retraction_problem(rec: &EdgeRecord) -> String {
    format!(
        "retracts a {} fact that does not hold (no current fact has this row's key); nothing changes",
        rec.kind
    )
}

/// The 1-based column of `name` in `headers` (a subsidy's recipient is `recipient_id`).
fn column_of(headers: &[String], name: &str) -> usize {
    let find = |n: &str| headers.iter().position(|h| h == n).map(|i| i + 1);
    find(name)
        .or_else(|| {
            (name == "company_id")
                .then(|| find("recipient_id"))
                .flatten()
        })
        .unwrap_or(1)
}

/// Bytes parsed so far, reported to the progress bar as parallel parts finish.
struct Parsing<'p> {
    done: std::sync::atomic::AtomicU64,
    total: u64,
    progress: &'p (dyn Fn(Progress) + Sync),
}

impl<'p> Parsing<'p> {
    /// Reports that parsing starts: 0 of the bundle's bytes.
    fn start(sources: &[Source], progress: &'p (dyn Fn(Progress) + Sync)) -> Parsing<'p> {
        let total: u64 = sources.iter().map(|s| s.len).sum();
        progress(Progress::Parsing { bytes: 0, total });
        Parsing {
            done: std::sync::atomic::AtomicU64::new(0),
            total,
            progress,
        }
    }

    /// Reports `n` more bytes parsed.
    fn advance(&self, n: usize) {
        let b = self
            .done
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed)
            + n as u64;
        (self.progress)(Progress::Parsing {
            bytes: b,
            total: self.total,
        });
    }
}

/// Decodes every file to UTF-8 and reads its header, in parallel, and splits a large file into
/// parts that parse at once. A file that cannot be decoded, or whose header is unusable, gets
/// no header and no parts: its diagnostics are the root causes the report puts first.
fn decode_files(sources: Vec<Source>, opts: &IngestOptions) -> Vec<Work> {
    sources
        .into_par_iter()
        .map(|s| {
            let mut diags = FileDiags::new(&s.name);
            let (bytes, header, parts) = if s.deferred.is_some() {
                (Vec::new(), None, Vec::new())
            } else {
                decode_text(s.spec, s.bytes, s.lines, opts, &mut diags)
            };
            Work {
                spec: s.spec,
                name: s.name,
                sha256: s.sha256,
                bytes,
                header,
                parts,
                diags,
                drafts: rows::Drafts::default(),
                deferred: s.deferred,
                read: 0,
                loaded: 0,
                merged: 0,
            }
        })
        .collect()
}

/// One file's text as UTF-8, its header and its parts (see [`decode_files`]).
fn decode_text(
    spec: &'static schema::FileSpec,
    raw: Vec<u8>,
    lines: Option<std::sync::Arc<Vec<u32>>>,
    opts: &IngestOptions,
    diags: &mut FileDiags,
) -> (Vec<u8>, Option<table::Header>, Vec<table::Part>) {
    let threads = rayon::current_num_threads().max(1);
    let bytes = decode::decode(raw, opts.encoding, diags).unwrap_or_default();
    let mut header = if diags.has_errors() {
        None
    } else {
        table::read_header(spec, &bytes, diags)
    };
    if let Some(h) = header.as_mut() {
        h.lines = lines;
    }
    let parts = header.as_ref().map_or_else(Vec::new, |h| {
        // An entity file's parts are resolved a window at a time as they are parsed, so they
        // stay small whatever the file's size (see `entities`).
        let most = if is_entity_file(spec.kind) {
            usize::MAX
        } else {
            4 * threads
        };
        let n = (bytes.len() / opts.part_bytes.max(1)).clamp(1, most);
        table::split(&bytes, h, n)
    });
    (bytes, header, parts)
}

/// Reads the deferred files again (see [`Source::deferred`]), refusing one whose bytes are no
/// longer those hashed when the load began, then decodes and splits them as [`decode_files`]
/// does.
fn load_deferred(work: &mut [Work], opts: &IngestOptions) -> Result<(), IngestError> {
    work.par_iter_mut()
        .filter(|w| w.deferred.is_some())
        .try_for_each(|w| {
            let Some(path) = w.deferred.take() else {
                return Ok(());
            };
            let raw = std::fs::read(&path).map_err(|source| IngestError::Io {
                path: path.clone(),
                source,
            })?;
            if hex(&Sha256::digest(&raw)) != w.sha256 {
                return Err(IngestError::Changed(path));
            }
            (w.bytes, w.header, w.parts) = decode_text(w.spec, raw, None, opts, &mut w.diags);
            Ok(())
        })
}

/// Time spent parsing and resolving the entity rows (the two alternate, a window at a time).
struct EntityTimes {
    parse: Duration,
    resolve: Duration,
}

/// Parts of an entity file parsed at once, then resolved before the next are parsed: enough to
/// keep every core busy, few enough that a window's decoded drafts stay small (at 10M people,
/// holding every draft of every entity file at once peaked at 9 GB: docs/performance.md).
fn window_parts() -> usize {
    2 * rayon::current_num_threads().max(1)
}

/// Parses `parts` of one entity (or blacklist) file into drafts, in parallel, in part order.
fn parse_window(
    w: &Work,
    parts: &[table::Part],
    opts: &IngestOptions,
    parsing: &Parsing<'_>,
) -> Vec<(rows::Drafts, FileDiags, u64)> {
    parts
        .par_iter()
        .map(|&part| {
            let mut diags = w.diags.sibling();
            let mut drafts = rows::Drafts::default();
            let kind = w.spec.kind;
            let read = w.header.as_ref().map_or(0, |h| {
                table::read_rows(
                    h,
                    &w.bytes,
                    part,
                    opts.max_field_bytes,
                    &mut diags,
                    |h, row, d| {
                        let mut cx = rows::Cx::new(h, row, d);
                        rows::read_entity_row(kind, &mut cx, &mut drafts);
                        cx.finish();
                    },
                )
            });
            parsing.advance(part.end - part.start);
            (drafts, diags, read)
        })
        .collect()
}

/// Rows in the entity files, counted by their newlines (a quoted field with a newline counts
/// one too many): enough to size the resolver's tables once.
fn entity_rows(work: &[Work]) -> usize {
    work.iter()
        .filter(|w| is_entity_file(w.spec.kind))
        .map(|w| {
            w.bytes
                .par_chunks(1 << 20)
                .map(|c| c.iter().filter(|&&b| b == b'\n').count())
                .sum::<usize>()
        })
        .sum()
}

/// What identity resolution decided, which the edges are resolved against.
struct Identities {
    resolver: Resolver,
    /// The load's id of each file, by position in `work`.
    file_ids: Vec<FileId>,
    /// Names of every file of every load, for messages that cite another load's row.
    file_names: FxHashMap<FileId, String>,
    /// Per file, the edges its entity rows imply (an agency's parent, a contract's parties).
    fk: Vec<Vec<rows::EdgeDraft<'static>>>,
    /// The facts before this load (empty for a first load), and the current ones by key.
    known: qinglian_store::facts::Facts,
    index: qinglian_store::facts::FactIndex,
}

/// Starts the load (its writer allocates file and node ids), then parses the entity and
/// blacklist rows and resolves identities, file by file in resolution order and a window of
/// parts at a time (entities must be known before any edge: edges refer to them). A row with
/// the same bundle id, or the same valid resident ID or credit code, as an earlier one (in this
/// load or a committed one) is the same entity and its merge is recorded; anything else is a
/// new node. Each file's text is freed once its rows are resolved.
fn entities<S: Store>(
    db: &GraphDb<S>,
    work: &mut [Work],
    (dir, hash): (&Path, &str),
    opts: &IngestOptions,
    parsing: &Parsing<'_>,
    spent: &mut EntityTimes,
) -> Result<(LoadWriter, Identities), IngestError> {
    let t = Instant::now();
    let existing = if db.state().loads > 0 {
        Existing::from_encoded(qinglian_store::facts::nodes_encoded(
            db,
            db.state().next_node as usize,
            None,
        )?)
    } else {
        Existing::default()
    };
    let mut writer = db.begin_load(&dir.display().to_string(), hash);
    let file_ids: Vec<FileId> = work.iter().map(|w| writer.add_file(&w.name)).collect();
    let mut file_names: FxHashMap<FileId, String> =
        db.files()?.into_iter().map(|f| (f.id, f.name)).collect();
    for (w, id) in work.iter().zip(&file_ids) {
        file_names.insert(*id, w.name.clone());
    }
    let mut resolver = Resolver::new(existing, entity_rows(work));
    for w in work.iter().filter(|w| w.header.is_none()) {
        if let Some(k) = schema::node_kind(w.spec.kind) {
            resolver.unreadable(k);
        }
    }
    spent.resolve += t.elapsed();
    let mut fk: Vec<Vec<rows::EdgeDraft<'static>>> = vec![Vec::new(); work.len()];
    for (i, w) in work.iter_mut().enumerate() {
        if !is_entity_file(w.spec.kind) {
            continue;
        }
        let mut step = FileStep {
            resolver: &mut resolver,
            writer: &mut writer,
            file: file_ids[i],
            file_names: &file_names,
            fk: &mut fk[i],
        };
        step.run(w, opts, parsing, spent)?;
        w.bytes = Vec::new();
    }
    resolver.entities_done();
    Ok((
        writer,
        Identities {
            resolver,
            file_ids,
            file_names,
            fk,
            known: Default::default(),
            index: Default::default(),
        },
    ))
}

/// Parsing and resolving one entity file, a window of parts at a time.
struct FileStep<'a> {
    resolver: &'a mut Resolver,
    writer: &'a mut LoadWriter,
    file: FileId,
    file_names: &'a FxHashMap<FileId, String>,
    /// The foreign-key edges of the file's new nodes.
    fk: &'a mut Vec<rows::EdgeDraft<'static>>,
}

impl FileStep<'_> {
    /// Parses and resolves every part of `w`. Resolution's diagnostics follow the parser's, as
    /// when a file was parsed whole before it was resolved; the earlier windows' drafts are
    /// kept encoded for later rows to compare against (a repeated id, a shared identifier).
    fn run(
        &mut self,
        w: &mut Work,
        opts: &IngestOptions,
        parsing: &Parsing<'_>,
        spent: &mut EntityTimes,
    ) -> Result<(), IngestError> {
        let mut kept = rows::KeptDrafts::default();
        let mut late = w.diags.sibling();
        let mut base = 0;
        let parts = std::mem::take(&mut w.parts);
        let windows: Vec<&[table::Part]> = parts.chunks(window_parts()).collect();
        for (n, window) in windows.iter().enumerate() {
            let t = Instant::now();
            let mut nodes = rows::NodeDrafts::default();
            for (drafts, diags, read) in parse_window(w, window, opts, parsing) {
                w.diags.absorb(diags);
                w.read += read;
                nodes.push_part(drafts.nodes);
                w.drafts.blacklist.extend(drafts.blacklist);
                w.drafts.foreign_ids += drafts.foreign_ids;
            }
            spent.parse += t.elapsed();
            let t = Instant::now();
            if !nodes.is_empty() {
                let mut c = resolve::RowCounts::default();
                let drafts = rows::Window {
                    drafts: &nodes,
                    base,
                    kept: &kept,
                };
                let writer = &mut *self.writer;
                let refs = self.resolver.add_nodes(
                    drafts,
                    self.file,
                    self.file_names,
                    &mut late,
                    &mut || writer.alloc_node(),
                    &mut c,
                )?;
                self.fk.extend(refs);
                w.loaded += c.loaded;
                w.merged += c.merged;
                if n + 1 < windows.len() {
                    keep(&mut kept, &nodes, base)?;
                }
                base += nodes.len();
            }
            spent.resolve += t.elapsed();
        }
        w.parts = parts;
        w.diags.absorb(late);
        Ok(())
    }
}

/// Adds a resolved window's drafts to `kept`, encoded in parallel.
fn keep(
    kept: &mut rows::KeptDrafts,
    nodes: &rows::NodeDrafts,
    base: usize,
) -> Result<(), IngestError> {
    let parts: Vec<Result<rows::KeptPart, postcard::Error>> = nodes
        .pieces(usize::MAX)
        .into_par_iter()
        .map(|(at, ds)| rows::KeptPart::encode(base + at, ds))
        .collect();
    for p in parts {
        kept.push(p.map_err(|e| StoreError::Corrupt {
            key: "(encoding a draft)".into(),
            reason: e.to_string(),
        })?);
    }
    Ok(())
}

/// Encoded edge chunks with their counts per edge kind, in the order they are appended.
type EdgeChunks = Vec<(Vec<Vec<u8>>, [u64; EdgeKind::COUNT])>;

/// Resolves every edge, streamed from its row to its encoded chunk (the foreign keys of each
/// entity file, and each part of each relationship file, in parallel), and the blacklist
/// entries; then adds each unit's counts and diagnostics to its file.
fn parse_edges(
    work: &mut [Work],
    ids: &Identities,
    opts: &IngestOptions,
    parsing: &Parsing<'_>,
) -> (Vec<BlacklistRecord>, EdgeChunks, u64, u64) {
    // Units: the foreign keys of each entity file, and each part of each relationship file.
    let units: Vec<(usize, Option<usize>)> = (0..work.len())
        .flat_map(|i| {
            let w = &work[i];
            let parts: Vec<(usize, Option<usize>)> = if is_entity_file(w.spec.kind) {
                vec![(i, None)]
            } else {
                (0..w.parts.len()).map(|p| (i, Some(p))).collect()
            };
            parts
        })
        .collect();
    let encoded: Vec<Encoded> = units
        .par_iter()
        .map(|&(i, part)| match part {
            None => encode_foreign_keys(ids, i),
            Some(p) => encode_edge_rows(&work[i], p, ids, i, opts, parsing),
        })
        .collect();
    let mut blacklist = Vec::new();
    for (i, w) in work.iter_mut().enumerate() {
        if !w.drafts.blacklist.is_empty() {
            let b = ids.resolver.blacklist(
                &w.drafts.blacklist,
                ids.file_ids[i],
                &ids.file_names,
                &mut w.diags,
            );
            w.loaded += b.len() as u64;
            blacklist.extend(b);
        }
    }
    let mut edge_chunks = Vec::new();
    let mut changed = 0;
    let mut explicit = 0;
    let mut stated: Vec<Vec<(u64, u64, u64)>> = vec![Vec::new(); work.len()];
    for (&(i, _), mut e) in units.iter().zip(encoded) {
        stated[i].append(&mut e.stated);
        let w = &mut work[i];
        explicit += e.retractions;
        if let Some(d) = e.diags {
            w.diags.absorb(d);
            w.read += e.read;
            w.loaded += e.edges;
        }
        for (line, col, msg) in e.errors {
            w.diags.error(line, col, msg);
        }
        edge_chunks.push((e.chunks, e.counts));
    }
    for (w, mut st) in work.iter_mut().zip(stated) {
        changed += restated(&mut st, w);
    }
    (blacklist, edge_chunks, changed, explicit)
}

/// Hashes of a fact's key and value (`qinglian_model::facts`), with the row's line: computed
/// for every relationship row, so without allocating.
fn fact_hashes(rec: &qinglian_model::EdgeRecordRef<'_>, line: u64) -> (u64, u64, u64) {
    use xxhash_rust::xxh3::Xxh3;
    let f = rec.fields();
    let (a, b, label, start) = f.key();
    let mut k = Xxh3::new();
    k.update(&[f.kind.index() as u8]);
    k.update(&a.0.to_le_bytes());
    k.update(&b.0.to_le_bytes());
    k.update(&start.to_le_bytes());
    k.update(label.as_bytes());
    // The value as `store::facts::same_value` compares it (a relation read from its lower id).
    let (from, to, label) = f.relation();
    let mut v = Xxh3::new();
    v.update(&from.0.to_le_bytes());
    v.update(&to.0.to_le_bytes());
    v.update(&rec.valid.start.to_le_bytes());
    v.update(&rec.valid.end.to_le_bytes());
    v.update(&rec.value.map_or(u64::MAX, f64::to_bits).to_le_bytes());
    v.update(&rec.date.map_or(i32::MIN, |d| d.0).to_le_bytes());
    v.update(&[rec.flag.map_or(2, u8::from)]);
    v.update(label.as_bytes());
    (k.digest(), v.digest(), line)
}

/// Warns for every row of one file that states a fact an earlier row of the bundle stated
/// with another value (the later row's value holds, as in a refresh); returns how many.
fn restated(st: &mut [(u64, u64, u64)], w: &mut Work) -> u64 {
    st.sort_unstable_by_key(|&(k, _, line)| (k, line));
    let mut n = 0;
    for pair in st.windows(2) {
        let ((k1, v1, l1), (k2, v2, l2)) = (pair[0], pair[1]);
        if k1 == k2 && v1 != v2 {
            n += 1;
            w.diags.warn(
                l2,
                1,
                format!("states the fact of line {l1} (same key: docs/ingest.md, \"Refreshing data\") with another value; the value of this later row holds"),
            );
        }
    }
    n
}

impl Encoded {
    fn new() -> Encoded {
        Encoded {
            chunks: Vec::new(),
            counts: [0; EdgeKind::COUNT],
            edges: 0,
            errors: Vec::new(),
            retractions: 0,
            stated: Vec::new(),
            read: 0,
            diags: None,
        }
    }
}

/// Resolves and encodes the edges that file `i`'s entity rows imply (their rows were read
/// already; these edges are not counted as loaded rows).
fn encode_foreign_keys(ids: &Identities, i: usize) -> Encoded {
    let mut enc = qinglian_store::ChunkEncoder::new();
    let mut out = Encoded::new();
    for e in &ids.fk[i] {
        let kind = e.kind;
        if let Some(rec) = ids
            .resolver
            .edge(e, ids.file_ids[i], &ids.file_names, &mut out.errors)
        {
            out.counts[kind.index()] += 1;
            if let Err(err) = enc.push(&rec) {
                out.errors
                    .push((rec.source.line.into(), 0, err.to_string()));
            }
        }
    }
    out.chunks = enc.finish();
    out
}

/// Reads part `p` of relationship file `w` (number `i`), resolving each row's edge and
/// encoding it as it goes.
fn encode_edge_rows(
    w: &Work,
    p: usize,
    ids: &Identities,
    i: usize,
    opts: &IngestOptions,
    parsing: &Parsing<'_>,
) -> Encoded {
    let mut enc = qinglian_store::ChunkEncoder::new();
    let mut out = Encoded::new();
    let mut diags = w.diags.sibling();
    let (kind, part) = (w.spec.kind, w.parts[p]);
    if let Some(h) = &w.header {
        out.read = table::read_rows(
            h,
            &w.bytes,
            part,
            opts.max_field_bytes,
            &mut diags,
            |h, row, d| {
                let mut cx = rows::Cx::new(h, row, d);
                let edge = rows::read_edge_row(kind, &mut cx);
                cx.finish();
                if let Some(e) = edge {
                    let mut errs = Vec::new();
                    match ids
                        .resolver
                        .edge(&e, ids.file_ids[i], &ids.file_names, &mut errs)
                    {
                        Some(rec) if qinglian_model::facts::retracts(rec.props) => {
                            // Kept in the log, where the fold reads it as a retraction.
                            out.retractions += 1;
                            if let Err(err) = enc.push(&rec) {
                                d.error(row.line, 0, err.to_string());
                            }
                        }
                        Some(rec) => {
                            if let Some(op) = rec.props.iter().find(|(k, _)| k == "op") {
                                if op.1 != "assert" {
                                    let col = column_of(&w.diags.headers, "op");
                                    out.errors.push((
                                        row.line,
                                        col,
                                        format!(
                                            "op must be empty, `assert` or `retract`, not {:?}",
                                            op.1
                                        ),
                                    ));
                                }
                            }
                            out.counts[e.kind.index()] += 1;
                            out.edges += 1;
                            out.stated.push(fact_hashes(&rec, row.line));
                            if let Err(err) = enc.push(&rec) {
                                d.error(row.line, 0, err.to_string());
                            }
                        }
                        None => {
                            for (line, col, msg) in errs {
                                d.error(line, col, msg);
                            }
                        }
                    }
                }
            },
        );
    }
    out.diags = Some(diags);
    parsing.advance(part.end - part.start);
    out.chunks = enc.finish();
    out
}

/// Per-file counts, as the report and the load record show them.
fn summaries(work: &[Work]) -> Vec<FileSummary> {
    work.iter()
        .map(|w| FileSummary {
            name: if w.name == w.spec.name {
                w.name.clone()
            } else {
                format!("{} ({})", w.name, w.spec.name)
            },
            sha256: w.sha256.clone(),
            read: w.read,
            loaded: w.loaded,
            merged: w.merged,
            warned: w.diags.warned_rows,
            rejected: w.diags.rejected_rows,
        })
        .collect()
}

/// Every diagnostic, sorted into what the report shows separately.
struct Sorted {
    warnings: Vec<Diagnostic>,
    /// Errors of the files that could not be read (and file-level errors such as a misspelt
    /// file name): the root causes.
    roots: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
}

/// Splits the files' diagnostics into warnings, root causes and other errors. Root causes (a
/// file that is not part of the format, cannot be decoded, or has an unusable header) must
/// come first, then what they left unchecked, then everything else: otherwise hundreds of
/// knock-on errors fill the report before the one that explains them.
fn sort_diagnostics(work: Vec<Work>, file_errors: Vec<Diagnostic>) -> Sorted {
    let mut warnings = Vec::new();
    let mut roots = file_errors;
    let mut errors = Vec::new();
    for w in work {
        let unreadable = w.header.is_none();
        for d in w.diags.items {
            match d.severity {
                Severity::Warning => warnings.push(d),
                Severity::Error if unreadable => roots.push(d),
                Severity::Error => errors.push(d),
            }
        }
    }
    Sorted {
        warnings,
        roots,
        errors,
    }
}

/// The rejection of a load with errors: root causes by place, then one line per unreadable
/// entity file counting the references into it that could not be checked, then every other
/// error by place; at most `max_errors` kept.
fn rejection(
    mut roots: Vec<Diagnostic>,
    mut errors: Vec<Diagnostic>,
    unchecked: Vec<(NodeKind, u64)>,
    files: Vec<FileSummary>,
    warnings: Vec<Diagnostic>,
    max_errors: usize,
) -> Rejection {
    let by_place = |a: &Diagnostic, b: &Diagnostic| {
        (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column))
    };
    roots.sort_by(by_place);
    errors.sort_by(by_place);
    let unchecked = unchecked.into_iter().map(|(kind, n)| {
        let file = schema::entity_file(kind);
        Diagnostic {
            severity: Severity::Error,
            file: file.to_owned(),
            line: 0,
            column: 0,
            column_name: None,
            message: format!(
                "{n} reference{s} into {file} not checked: {file} could not be read (see \
                 above); {they} will be checked once it loads",
                s = if n == 1 { "" } else { "s" },
                they = if n == 1 { "it" } else { "they" },
            ),
        }
    });
    let mut errors: Vec<Diagnostic> = roots.into_iter().chain(unchecked).chain(errors).collect();
    let error_count = errors.len();
    errors.truncate(max_errors);
    Rejection {
        files,
        errors,
        error_count,
        warnings,
    }
}

/// Appends everything to the load's batch in a fixed order: new nodes, records that add to
/// existing nodes, edges, blacklist entries, merges, warnings.
fn write_load(
    writer: &mut LoadWriter,
    resolver: Resolver,
    edge_chunks: EdgeChunks,
    blacklist: &[BlacklistRecord],
    warnings: &[Diagnostic],
) -> Result<(), IngestError> {
    writer.append_node_chunks(resolver.new_chunks, &resolver.new_nodes)?;
    writer.append_node_chunks(resolver.nodes.finish(), &[0; NodeKind::COUNT])?;
    let merges = resolver.merges;
    for (chunks, counts) in edge_chunks {
        writer.append_edge_chunks(chunks, &counts)?;
    }
    for b in blacklist {
        writer.put_blacklist(b)?;
    }
    for m in &merges {
        writer.put_merge(m)?;
    }
    for w in warnings {
        writer.put_warning(&w.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deferred(path: &Path, sha256: String) -> Work {
        let spec = schema::spec("relations.csv").expect("a bundle file");
        let mut work = decode_files(
            vec![Source {
                spec,
                name: spec.name.to_owned(),
                bytes: Vec::new(),
                sha256,
                lines: None,
                deferred: Some(path.to_path_buf()),
                len: 0,
            }],
            &IngestOptions::default(),
        );
        work.remove(0)
    }

    /// A relationship file is read again after identities are resolved: with the bytes hashed
    /// when the load began it is decoded and split as any other; with other bytes (written to
    /// meanwhile) the load stops, naming the file, instead of loading what was not hashed.
    #[test]
    fn a_deferred_file_is_parsed_only_if_unchanged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relations.csv");
        let text = b"person_id,relative_id,relation\nP1,P2,spouse\n";
        std::fs::write(&path, text).expect("written");
        let mut same = [deferred(&path, hex(&Sha256::digest(text)))];
        assert!(same[0].header.is_none() && same[0].bytes.is_empty());
        load_deferred(&mut same, &IngestOptions::default()).expect("unchanged");
        assert!(same[0].header.is_some());
        assert_eq!(same[0].bytes, text);
        assert!(!same[0].parts.is_empty());
        let mut changed = [deferred(&path, hex(&Sha256::digest(b"other bytes")))];
        match load_deferred(&mut changed, &IngestOptions::default()) {
            Err(e @ IngestError::Changed(_)) => {
                assert!(
                    e.to_string().contains("relations.csv: changed while"),
                    "{e}"
                );
            }
            other => panic!("expected a changed file, got {other:?}"),
        }
    }
}
