//! `qinglian ingest`.

use super::out::{Align, Table};
use super::DbArg;
use anyhow::{Context, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use indicatif::{ProgressBar, ProgressStyle};
use qinglian_ingest::{Encoding, IngestError, IngestOptions, Progress};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Load a bundle folder (docs/format.md), or a FollowTheMoney, OCDS or BODS file
/// (docs/formats.md), into the database as one atomic load.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle folder, or an FtM, OCDS or BODS file (JSON or JSON lines).
    pub bundle: PathBuf,
    /// What the input is: `csv` (a bundle folder), `ftm`, `ocds` or `bods`. Detected when
    /// omitted: a folder is a bundle, a file's content says which standard it follows.
    #[arg(long, value_parser = ["csv", "ftm", "ocds", "bods"])]
    pub format: Option<String>,
    #[command(flatten)]
    pub db: DbArg,
    /// Write every warning to this file (the summary shows the first few).
    #[arg(long)]
    pub warnings_out: Option<PathBuf>,
    /// Largest field accepted, in bytes.
    #[arg(long, default_value_t = 8192)]
    pub max_field_bytes: usize,
    /// How many warnings and errors to print.
    #[arg(long, default_value_t = 20)]
    pub show: usize,
    /// Text encoding of the bundle's files, decoded to UTF-8 before parsing. `utf-8` (the
    /// format's) rejects a file in another encoding and names the one it seems to be in;
    /// `gb18030` (also `gbk`) is "CSV" from Excel or WPS in Chinese locales; `utf-16` is Excel's
    /// "Unicode Text"; `auto` decides per file and warns for each file it decoded. A file with
    /// a byte-order mark, or that is valid UTF-8 with non-ASCII text, is read as UTF-8 whatever
    /// is asked (docs/ingest.md, "Encodings").
    #[arg(long, default_value = "utf-8", value_parser = encoding_parser())]
    pub encoding: Encoding,
    /// The source this bundle comes from (default: the bundle folder's name). Loads of one
    /// source refresh each other; other sources' facts are untouched (docs/ingest.md).
    #[arg(long)]
    pub source: Option<String>,
    /// `snapshot`: the bundle is the source's complete current truth, and the facts the
    /// source stated before and no longer states are retracted. `delta`: the bundle adds and
    /// changes facts only.
    #[arg(long, default_value = "snapshot", value_parser = ["snapshot", "delta"])]
    pub mode: String,
    /// Do not screen the new data for the findings store: its screening is computed elsewhere
    /// (the rules compiled to SQL, on Spark or DuckDB) and brought back with `qinglian
    /// findings import` (docs/scale-out.md). Until then `serve` and the next `ingest` screen
    /// it with the engine.
    #[arg(long)]
    pub no_screen: bool,
}

fn encoding_parser() -> impl TypedValueParser<Value = Encoding> {
    PossibleValuesParser::new([
        PossibleValue::new("utf-8").alias("utf8"),
        PossibleValue::new("gb18030").alias("gbk"),
        PossibleValue::new("utf-16").alias("utf16"),
        PossibleValue::new("auto"),
    ])
    .try_map(|s| s.parse::<Encoding>())
}

/// Thousandths of the progress bar at which each phase of a load starts. Parsing advances
/// with the bytes read (entity files, then, after identities are resolved, relationship
/// files); the snapshot build, which takes about half of a large load (docs/performance.md),
/// has the second half. The bar ends at 100 % when the snapshot is written.
mod phase {
    pub const PARSE_END: u64 = 400;
    pub const ENCODE: u64 = 400;
    pub const COMMIT: u64 = 450;
    pub const SNAPSHOT: u64 = 500;
    pub const SCREEN: u64 = 950;
    pub const DONE: u64 = 1000;
}

/// The progress bar of a load: one bar across every phase, never moving backwards.
#[derive(Debug)]
struct LoadBar {
    bar: Option<ProgressBar>,
    at: std::sync::atomic::AtomicU64,
    /// Identities are resolved: what is parsed now are the relationship files.
    resolved: std::sync::atomic::AtomicBool,
}

impl LoadBar {
    /// A bar on standard error when it is a terminal; none otherwise (logs stay clean).
    fn for_stderr() -> LoadBar {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(phase::DONE);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:<28} [{bar:30}] {percent:>3}% {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        LoadBar::new(bar)
    }

    fn new(bar: Option<ProgressBar>) -> LoadBar {
        LoadBar {
            bar,
            at: std::sync::atomic::AtomicU64::new(0),
            resolved: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Moves to `pos` (thousandths) unless the bar is already further on.
    fn to(&self, pos: u64, msg: &'static str) {
        let before = self.at.fetch_max(pos, std::sync::atomic::Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_position(before.max(pos));
            b.set_message(msg);
        }
    }

    /// What the loader reports. Parsing events come from several threads at once.
    fn on(&self, p: &Progress) {
        match p {
            Progress::Parsing { bytes, total } => {
                // An empty bundle has nothing to parse: that phase is done.
                let pos = (phase::PARSE_END * (*bytes).min(*total))
                    .checked_div(*total)
                    .unwrap_or(phase::PARSE_END);
                let resolved = self.resolved.load(std::sync::atomic::Ordering::Relaxed);
                self.to(
                    pos,
                    if resolved {
                        "parsing relationships"
                    } else {
                        "parsing entities"
                    },
                );
            }
            Progress::Resolving => {
                self.resolved
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                self.to(0, "resolving identities");
            }
            Progress::Writing => self.to(phase::ENCODE, "encoding"),
            Progress::Committing => self.to(phase::COMMIT, "committing (flush + fsync)"),
        }
        if !matches!(p, Progress::Parsing { .. }) {
            crate::release_freed_memory();
        }
        tracing::debug!(?p, "ingest progress");
        failpoint(match p {
            Progress::Parsing { .. } => "parse",
            Progress::Resolving => "resolve",
            Progress::Writing => "encode",
            Progress::Committing => "commit",
        });
    }

    fn snapshot(&self) {
        crate::release_freed_memory();
        self.to(phase::SNAPSHOT, "building the snapshot");
        tracing::debug!("building the snapshot");
        failpoint("snapshot");
    }

    fn screen(&self) {
        crate::release_freed_memory();
        self.to(phase::SCREEN, "screening (findings store)");
        tracing::debug!("screening for the findings store");
        failpoint("screen");
    }

    /// The load and its snapshot are done: the bar shows 100 % and stays.
    fn done(&self) {
        self.to(phase::DONE, "done");
        if let Some(b) = &self.bar {
            b.finish();
            // The finished bar leaves the cursor at its end; the report starts on a new line.
            if !b.is_hidden() {
                eprintln!();
            }
        }
    }

    /// The load was refused: the bar goes away.
    fn clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Dies on the spot, as `kill -9` would, when `QINGLIAN_FAILPOINT` names the phase being
/// entered: how `tests/cli.rs` proves that a load killed in any phase leaves the previous state
/// or the new one. (A test hook: the variable is read once.)
fn failpoint(phase: &str) {
    if failpoint_is(phase) {
        die();
    }
}

/// Dies on the spot (a failpoint's abort, where a plain function is wanted).
fn die() {
    std::process::abort();
}

/// Whether `QINGLIAN_FAILPOINT` names `phase`.
fn failpoint_is(phase: &str) -> bool {
    static AT: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| std::env::var_os("QINGLIAN_FAILPOINT"));
    at.as_deref().is_some_and(|v| v == phase)
}

/// The input translated into bundle files when it is a standard's file (`None` for a bundle
/// folder); what the translation left out is printed.
fn translate(a: &Args) -> Result<Option<qinglian_standards::Translation>> {
    use qinglian_standards::Format;
    let format = match a.format.as_deref() {
        Some("csv") => return Ok(None),
        None if a.bundle.is_dir() => return Ok(None),
        Some("ftm") => Some(Format::Ftm),
        Some("ocds") => Some(Format::Ocds),
        Some("bods") => Some(Format::Bods),
        _ => None,
    };
    let t = qinglian_standards::translate(&a.bundle, format)?;
    let left: Vec<String> = t.left_out.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "{}: {} records read as {}{}",
        a.bundle.display(),
        t.records,
        t.format.as_str(),
        if left.is_empty() {
            String::new()
        } else {
            format!("; left out (no place in the model): {}", left.join(", "))
        }
    );
    Ok(Some(t))
}

pub fn run(a: &Args) -> Result<ExitCode> {
    // What this command creates, so that a failed first load can take it away again: the
    // database folder itself, or the store inside a folder that was already there.
    let root = &a.db.db;
    let new_root = std::fs::symlink_metadata(root).is_err();
    let new_store = std::fs::symlink_metadata(super::db::DbPaths::new(root).store()).is_err();
    let mut committed = false;
    let result = load(a, &mut committed);
    if !committed && (new_root || new_store) {
        let (what, remove) = if new_root {
            (root.clone(), std::fs::remove_dir_all(root))
        } else {
            let store = super::db::DbPaths::new(root).store();
            let r = std::fs::remove_dir_all(&store);
            let _ = std::fs::remove_file(super::db::DbPaths::new(root).snapshot());
            (store, r)
        };
        match remove {
            Ok(()) => {
                tracing::debug!(path = %what.display(), "removed what the failed load created");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!(
                "warning: could not remove {}, created by this failed load: {e}",
                what.display()
            ),
        }
    }
    result
}

/// Opens (creating) the database, loads the bundle, builds the snapshot, prints the report.
/// `committed` is set once the database holds a committed load of this bundle.
fn load(a: &Args, committed: &mut bool) -> Result<ExitCode> {
    let mut db = super::db::open(&a.db.db, true)?;
    if failpoint_is("commit-piece") {
        // Every chunk its own piece, and the abort after the first (tests/living.rs).
        db.set_pieces(1, Some(die));
    }
    let bar = LoadBar::for_stderr();
    let opts = IngestOptions {
        max_field_bytes: a.max_field_bytes,
        encoding: a.encoding,
        source: a.source.clone(),
        mode: if a.mode == "delta" {
            qinglian_ingest::Mode::Delta
        } else {
            qinglian_ingest::Mode::Snapshot
        },
        ..IngestOptions::default()
    };
    let t0 = std::time::Instant::now();
    let result = match translate(a)? {
        None => qinglian_ingest::ingest(&mut db, &a.bundle, &opts, &|p| bar.on(&p)),
        Some(t) => qinglian_ingest::ingest_translated(&mut db, &a.bundle, t.files, &opts, &|p| {
            bar.on(&p);
        }),
    };
    match result {
        Ok(rep) => {
            *committed = true;
            if let Some(n) = rep.already_loaded {
                println!(
                    "{}: already loaded as load #{n}; nothing changed",
                    a.bundle.display()
                );
                // A load whose screening was cut short is recorded now.
                if !a.no_screen && !record_pending(&db)?.is_empty() {
                    let paths = super::db::DbPaths::new(&a.db.db);
                    let (snap, _) = qinglian_engine::open_snapshot(&db, &paths.snapshot())?;
                    print_recorded(&record_findings(&db, &snap)?);
                }
                bar.done();
                return Ok(ExitCode::SUCCESS);
            }
            let load_secs = t0.elapsed().as_secs_f64();
            // Build the snapshot now, so that the first query opens at once.
            bar.snapshot();
            let t = std::time::Instant::now();
            let paths = super::db::DbPaths::new(&a.db.db);
            let snap = qinglian_engine::open_snapshot(&db, &paths.snapshot());
            let snap_secs = t.elapsed().as_secs_f64();
            let recorded = match &snap {
                Ok((snap, _)) if !a.no_screen => {
                    bar.screen();
                    let r = record_findings(&db, snap);
                    bar.done();
                    Some(r)
                }
                _ => {
                    bar.clear();
                    None
                }
            };
            print_table(&rep.files);
            if !rep.ignored.is_empty() {
                println!("ignored (not bundle files): {}", rep.ignored.join(", "));
            }
            if rep.foreign_identifiers > 0 {
                println!(
                    "{} non-Chinese identifiers kept as properties (not used to merge)",
                    rep.foreign_identifiers
                );
            }
            if !rep.zero_width_fields.is_empty() {
                let total: u64 = rep.zero_width_fields.iter().map(|(_, n)| n).sum();
                println!(
                    "zero-width characters removed from {total} field{} ({})",
                    if total == 1 { "" } else { "s" },
                    rep.zero_width_fields
                        .iter()
                        .map(|(f, n)| format!("{f} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            println!(
                "source {} ({} load): {} change{} to known facts{}",
                rep.source,
                rep.mode.as_str(),
                rep.changed,
                if rep.changed == 1 { "" } else { "s" },
                if rep.changed > 0 {
                    " (each a warning below)"
                } else {
                    ""
                }
            );
            if rep.explicit_retractions > 0 {
                println!(
                    "{} row{} with op=retract",
                    rep.explicit_retractions,
                    if rep.explicit_retractions == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
            }
            if !rep.retracted.is_empty() {
                let total: u64 = rep.retracted.iter().map(|(_, n)| n).sum();
                println!(
                    "retracted {total} fact{} the source no longer states ({}):",
                    if total == 1 { "" } else { "s" },
                    rep.retracted
                        .iter()
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for e in rep.retracted_examples.iter().take(a.show) {
                    println!("  {e}");
                }
            }
            print_diags(
                "warning",
                &rep.warnings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                rep.warnings.len(),
                a.show,
            );
            if let Some(p) = &a.warnings_out {
                let text: String = rep.warnings.iter().map(|w| format!("{w}\n")).collect();
                std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
            }
            if let Some(load) = &rep.load {
                let nodes: u64 = load.added.nodes.iter().sum();
                let edges: u64 = load.added.edges.iter().sum();
                println!(
                    "load #{} committed: {nodes} nodes, {edges} edges, {} blacklist entries, {} merges, {} warnings in {load_secs:.2}s ({})",
                    load.number,
                    load.added.blacklist,
                    load.added.merges,
                    load.warnings,
                    rep.timings.iter().map(|(k, d)| format!("{k} {:.2}s", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
                );
            }
            let (snap, _) = snap.context(
                "the load is committed, but its snapshot could not be built (the next command \
                 tries again)",
            )?;
            println!(
                "snapshot: {} nodes, {:.0} MB, built in {snap_secs:.2}s",
                snap.node_count(),
                snap.byte_len() as f64 / 1e6,
            );
            if a.no_screen {
                println!(
                    "not screened (--no-screen): bring its findings back with `qinglian findings import`"
                );
            }
            if let Some(r) = recorded {
                print_recorded(&r.context(
                    "the load is committed, but its findings could not be recorded (the next \
                     ingest or serve tries again)",
                )?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(IngestError::Rejected(r)) => {
            bar.clear();
            print_table(&r.files);
            print_diags(
                "error",
                &r.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
                r.error_count,
                a.show.max(1),
            );
            print_diags(
                "warning",
                &r.warnings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                r.warnings.len(),
                a.show,
            );
            eprintln!(
                "error: load rejected: {} error(s); the database is unchanged",
                r.error_count
            );
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            bar.clear();
            Err(e.into())
        }
    }
}

/// The loads the findings store has not recorded yet.
fn record_pending(db: &qinglian_store::GraphDb<qinglian_store::SledStore>) -> Result<Vec<u32>> {
    let done = qinglian_store::lifecycle::screened(db.store())?;
    let from = done.keys().next_back().map_or(1, |l| l + 1);
    Ok((from..=db.state().loads).collect())
}

/// Screens the current data with the built-in rules and records it — and any earlier load
/// not recorded yet — in the findings store, what `screen --since` and `GET /v1/alerts` read.
pub fn record_findings(
    db: &qinglian_store::GraphDb<qinglian_store::SledStore>,
    snap: &qinglian_engine::snapshot::Snapshot,
) -> Result<Vec<(u32, qinglian_store::lifecycle::Recorded)>> {
    if record_pending(db)?.is_empty() {
        return Ok(Vec::new());
    }
    let rules = super::rules::load_rules(None)?;
    let found = qinglian_engine::screen(snap, &rules, &Default::default())?.findings;
    Ok(qinglian_engine::lifecycle::record_missing(
        db, &found, &rules,
    )?)
}

fn print_recorded(r: &[(u32, qinglian_store::lifecycle::Recorded)]) {
    for (load, r) in r {
        println!(
            "findings after load #{load}: {} new, {} resolved, {} changed (qinglian screen --since {})",
            r.new,
            r.resolved,
            r.changed,
            load - 1
        );
    }
}

fn print_table(files: &[qinglian_store::FileSummary]) {
    if files.is_empty() {
        return;
    }
    let mut t = Table::new(&[
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
    ]);
    t.row(["file", "read", "loaded", "merged", "warned", "rejected"]);
    for f in files {
        t.row([
            f.name.clone(),
            f.read.to_string(),
            f.loaded.to_string(),
            f.merged.to_string(),
            f.warned.to_string(),
            f.rejected.to_string(),
        ]);
    }
    t.print();
}

fn print_diags(what: &str, items: &[String], total: usize, show: usize) {
    for d in items.iter().take(show) {
        eprintln!("{d}");
    }
    if total > show {
        eprintln!(
            "... and {} more {what}s{}",
            total - show,
            if what == "warning" {
                " (--warnings-out FILE writes them all)"
            } else {
                ""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A load's events as the loader sends them, then the snapshot: the bar only moves
    /// forwards and ends full.
    #[test]
    fn the_bar_covers_every_phase_and_ends_at_100_percent() {
        let b = ProgressBar::with_draw_target(
            Some(phase::DONE),
            indicatif::ProgressDrawTarget::hidden(),
        );
        let bar = LoadBar::new(Some(b.clone()));
        let mut seen = vec![b.position()];
        let events = [
            Progress::Parsing {
                bytes: 0,
                total: 1000,
            },
            Progress::Parsing {
                bytes: 300,
                total: 1000,
            },
            Progress::Resolving,
            Progress::Parsing {
                bytes: 1000,
                total: 1000,
            },
            Progress::Writing,
            Progress::Committing,
        ];
        for e in &events {
            bar.on(e);
            seen.push(b.position());
        }
        assert_eq!(b.position(), phase::COMMIT);
        bar.snapshot();
        seen.push(b.position());
        assert_eq!(b.position(), phase::SNAPSHOT);
        bar.done();
        seen.push(b.position());
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(b.position(), b.length().unwrap_or(0));
        assert!(b.is_finished());
        // An empty bundle still moves on.
        let e = LoadBar::new(Some(ProgressBar::hidden()));
        e.on(&Progress::Parsing { bytes: 0, total: 0 });
        assert_eq!(
            e.at.load(std::sync::atomic::Ordering::Relaxed),
            phase::PARSE_END
        );
    }
}
