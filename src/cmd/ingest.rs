//! `qinglian ingest`.

use super::DbArg;
use anyhow::Result;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use indicatif::{ProgressBar, ProgressStyle};
use qinglian_ingest::{Encoding, IngestError, IngestOptions, Progress};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Load a bundle folder (SCHEMA.md) into the database as one atomic load.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle folder.
    pub bundle: PathBuf,
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

pub fn run(a: &Args) -> Result<ExitCode> {
    let mut db = super::db::open(&a.db.db, true)?;
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let progress = |p: Progress| {
        if let Some(b) = &bar {
            match p {
                Progress::Parsing { bytes, total } => {
                    b.set_length(total);
                    b.set_position(bytes);
                    b.set_message("parsing");
                }
                Progress::Resolving => b.set_message("resolving identities"),
                Progress::Writing => b.set_message("encoding"),
                Progress::Committing => b.set_message("committing (flush + fsync)"),
            }
        }
    };
    let opts = IngestOptions {
        max_field_bytes: a.max_field_bytes,
        encoding: a.encoding,
        ..IngestOptions::default()
    };
    let t0 = std::time::Instant::now();
    let result = qinglian_ingest::ingest(&mut db, &a.bundle, &opts, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(rep) => {
            if let Some(n) = rep.already_loaded {
                println!(
                    "{}: already loaded as load #{n}; nothing changed",
                    a.bundle.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
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
                std::fs::write(p, text)?;
            }
            if let Some(load) = &rep.load {
                let nodes: u64 = load.added.nodes.iter().sum();
                let edges: u64 = load.added.edges.iter().sum();
                println!(
                    "load #{} committed: {nodes} nodes, {edges} edges, {} blacklist entries, {} merges, {} warnings in {:.2}s ({})",
                    load.number,
                    load.added.blacklist,
                    load.added.merges,
                    load.warnings,
                    t0.elapsed().as_secs_f64(),
                    rep.timings.iter().map(|(k, d)| format!("{k} {:.2}s", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
                );
            }
            // Build the snapshot now, so that the first query opens at once.
            let t = std::time::Instant::now();
            let paths = super::db::DbPaths::new(&a.db.db);
            let (snap, _) = qinglian_engine::open_snapshot(&db, &paths.snapshot())?;
            println!(
                "snapshot: {} nodes, {:.0} MB, built in {:.2}s",
                snap.node_count(),
                snap.byte_len() as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(IngestError::Rejected(r)) => {
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
        Err(e) => Err(e.into()),
    }
}

fn print_table(files: &[qinglian_store::FileSummary]) {
    if files.is_empty() {
        return;
    }
    println!(
        "{:<22} {:>10} {:>10} {:>8} {:>8} {:>9}",
        "file", "read", "loaded", "merged", "warned", "rejected"
    );
    for f in files {
        println!(
            "{:<22} {:>10} {:>10} {:>8} {:>8} {:>9}",
            f.name, f.read, f.loaded, f.merged, f.warned, f.rejected
        );
    }
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
