//! `qinglian findings import`: findings computed elsewhere — the rules compiled to SQL and run
//! on Spark or DuckDB over `export --format parquet` — brought back into the database they were
//! computed from, each confirmed by the engine (`engine::import`), and recorded in the
//! findings store as the current load's screening, which `serve` (the API and the workbench),
//! `screen --since` and `GET /v1/alerts` then read.

use anyhow::{Context, Result};
use qinglian_engine::import::{self, Claim};
use qinglian_store::lifecycle;
use std::path::PathBuf;
use std::process::ExitCode;

use super::DbArg;

/// How many refused lines are printed (all are counted).
const SHOW: usize = 20;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Confirm findings computed by `spark/qinglian_spark.py` (Spark or DuckDB) against the
    /// database and record them as the current load's screening (docs/scale-out.md).
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The findings, one JSON object per line (the driver's `--out`; `qinglian screen
    /// --format jsonl` reads too).
    pub file: PathBuf,
    /// A folder of rule files that add to or override the built-in rules (as given to
    /// `compile-rules`).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// The rules that ran (repeatable; as given to `compile-rules --rule`). Default: every
    /// rule. A rule that ran and has no line found nothing.
    #[arg(long = "rule")]
    pub only: Vec<String>,
    /// Confirm only; record nothing.
    #[arg(long)]
    pub check: bool,
}

pub fn run(c: &Cmd) -> Result<ExitCode> {
    match c {
        Cmd::Import(a) => import_file(a),
    }
}

fn import_file(a: &ImportArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let name = a.file.display().to_string();
    let (claims, mut refused) = parse(&bytes);
    let lines = claims.len() + refused.len();
    let rules: Vec<qinglian_rules::Rule> = super::rules::load_rules(a.rules.as_ref())?
        .into_iter()
        .filter(|r| a.only.is_empty() || a.only.contains(&r.id))
        .collect();
    if let Some(o) = a.only.iter().find(|o| !rules.iter().any(|r| &&r.id == o)) {
        anyhow::bail!("unknown rule `{o}`");
    }
    let (db, snap) = super::db::snapshot_at(&a.db.db, None)?;
    super::rules::attach_links(&snap, Some(&db), &rules, &[])?;
    let checked = import::check(&snap, &rules, &claims)?;
    refused.extend(checked.refused);
    refused.sort();
    for (line, why) in refused.iter().take(SHOW) {
        eprintln!("{name}:{line}: {why}");
    }
    if refused.len() > SHOW {
        eprintln!("… and {} more", refused.len() - SHOW);
    }
    for f in checked.unclaimed.iter().take(SHOW) {
        eprintln!(
            "{name}: lacks the {} finding {} (official {}, target {}, ref {}) the engine derives among the claimed keys' nodes",
            f.pattern, f.id, f.official, f.target, f.ref_id
        );
    }
    if !refused.is_empty() || !checked.unclaimed.is_empty() {
        eprintln!(
            "error: {} of {} line(s) refused, {} finding(s) missing from the file; nothing recorded",
            refused.len(),
            lines,
            checked.unclaimed.len()
        );
        return Ok(ExitCode::from(1));
    }
    let n = checked.confirmed.len();
    eprintln!("{name}: {n} finding(s) confirmed by the engine");
    if a.check {
        return Ok(ExitCode::SUCCESS);
    }
    record(&db, &rules, &checked.confirmed, &name, &bytes, claims.len())
}

/// The claims of every line, and the lines that are not findings.
fn parse(bytes: &[u8]) -> (Vec<Claim>, Vec<(usize, String)>) {
    let mut claims = Vec::new();
    let mut refused = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let Ok(text) = std::str::from_utf8(line) else {
            refused.push((i + 1, "not UTF-8".to_owned()));
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match import::parse(i + 1, text) {
            Ok(c) => claims.push(c),
            Err(e) => refused.push((i + 1, e)),
        }
    }
    (claims, refused)
}

/// Records the confirmed findings as the screening of the current load, when none is recorded.
fn record(
    db: &qinglian_store::GraphDb<qinglian_store::SledStore>,
    rules: &[qinglian_rules::Rule],
    found: &[qinglian_engine::findings::Finding],
    name: &str,
    bytes: &[u8],
    lines: usize,
) -> Result<ExitCode> {
    let load = db.state().loads;
    let done = lifecycle::screened(db.store())?;
    if done.contains_key(&load) {
        eprintln!(
            "load #{load} already has its screening recorded (ingest screens each load unless \
             --no-screen): nothing recorded"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let last = done.keys().next_back().copied().unwrap_or(0);
    if last + 1 < load {
        anyhow::bail!(
            "loads #{}..#{} have no screening recorded, and the findings store records loads in \
             order: import each load's findings before the next load (or let `qinglian serve` \
             screen them all with the engine)",
            last + 1,
            load - 1
        );
    }
    let from = lifecycle::Imported {
        file: name.to_owned(),
        digest: import::file_digest(bytes),
        lines: lines as u64,
    };
    let ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    let r = qinglian_engine::lifecycle::record_imported(db, load, &ids, found, &from)?;
    println!(
        "findings after load #{load}: {} new, {} resolved, {} changed (qinglian screen --since {}); imported from {name}",
        r.new,
        r.resolved,
        r.changed,
        load - 1
    );
    Ok(ExitCode::SUCCESS)
}
