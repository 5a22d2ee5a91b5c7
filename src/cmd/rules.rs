//! `qinglian screen`, `qinglian risk`, `qinglian rules`.

use super::out::{self, Align, Table};
use super::DbArg;
use anyhow::{bail, Context, Result};
use qinglian_engine::exec::{self, ExecOptions};
use qinglian_engine::findings::{self, Finding, RollupBy};
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::Date;
use qinglian_rules::Rule;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format of findings.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// CSV, evidence as JSON in the last column; formula-looking cells escaped.
    Csv,
    /// An aligned table.
    Table,
}

/// Run detection rules over the whole database (or over a bundle, in memory).
#[derive(Debug, clap::Args)]
pub struct ScreenArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Screen this bundle folder in memory instead of a database (nothing is written).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// A folder of rule files that add to or override the built-in rules.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Run only these rules (repeatable).
    #[arg(long = "rule")]
    pub only: Vec<String>,
    /// Only what was known on this day counts (YYYY-MM-DD).
    #[arg(long, value_parser = date_arg)]
    pub as_of: Option<String>,
    /// Screen what the database knew after this load (`qinglian loads` numbers them).
    #[arg(long, value_name = "LOAD")]
    pub known_at: Option<u32>,
    /// Print only what changed since this load: each finding with `"change"`: `new` (holds
    /// now, not then), `resolved` (held then, not now) or `changed` (same key, another colour,
    /// score or evidence). JSON lines.
    #[arg(long, value_name = "LOAD", conflicts_with = "bundle")]
    pub since: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write findings here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit with status 3 when any finding has this severity or higher.
    #[arg(long, value_enum)]
    pub fail_on: Option<Level>,
    /// Run the rules this many times and report each run's time (for profiling).
    #[arg(long, default_value_t = 1, hide = true)]
    pub repeat: usize,
    /// Pruning sets (for profiling; findings do not change).
    #[arg(long, value_enum, default_value_t = Pruning::Auto, hide = true)]
    pub pruning: Pruning,
}

/// A severity named on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Level {
    /// A controlling link.
    Red,
    /// A minority or indirect link.
    Yellow,
    /// Worth a look.
    Green,
}

impl Level {
    fn severity(self) -> qinglian_rules::Severity {
        match self {
            Level::Red => qinglian_rules::Severity::Red,
            Level::Yellow => qinglian_rules::Severity::Yellow,
            Level::Green => qinglian_rules::Severity::Green,
        }
    }
}

/// Pruning sets of the executor.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Pruning {
    /// Where the planner expects them to pay.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// What `risk` rolls findings up by.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum By {
    /// The official a finding names.
    Official,
    /// The tender: the finding's, or the one its contract came out of.
    Tender,
}

/// Roll findings up per official or per tender.
#[derive(Debug, clap::Args)]
pub struct RiskArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub known: super::KnownAt,
    /// What to roll up by.
    #[arg(long, value_enum, default_value_t = By::Official)]
    pub by: By,
    /// A folder of rule files that add to or override the built-in rules.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Only what was known on this day counts (YYYY-MM-DD).
    #[arg(long, value_parser = date_arg)]
    pub as_of: Option<String>,
    /// Print JSON lines (docs/cli.md).
    #[arg(long)]
    pub json: bool,
    /// Rows to print.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
}

/// Check, list or explain rules.
#[derive(Debug, clap::Subcommand)]
pub enum RulesCmd {
    /// Check every rule file in a folder; errors name file, line and column.
    Check {
        /// The folder.
        dir: PathBuf,
    },
    /// The built-in rules (and those of --rules).
    List {
        /// Extra rule folder.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Print how a rule runs on the current database: start, expansions, filters.
    Explain {
        /// Rule id.
        id: String,
        #[command(flatten)]
        db: DbArg,
        /// Extra rule folder.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

/// Built-in rules plus a folder's.
pub fn load_rules(extra: Option<&PathBuf>) -> Result<Vec<Rule>> {
    let base =
        qinglian_rules::builtins().context("a built-in rule does not check (this is a bug)")?;
    let extra = match extra {
        Some(d) => qinglian_rules::load_dir(d).map_err(|errs| {
            anyhow::anyhow!(
                "{}",
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?,
        None => Vec::new(),
    };
    Ok(qinglian_rules::with_overrides(base, extra))
}

/// A `YYYY-MM-DD` option, checked when the command line is parsed (a bad date is a usage
/// error, exit status 2).
pub fn date_arg(s: &str) -> Result<String, String> {
    Date::parse(s)
        .map(|_| s.to_owned())
        .map_err(|e| e.to_string())
}

pub fn parse_date(s: &Option<String>) -> Result<Option<i32>> {
    s.as_deref()
        .map(|d| {
            Date::parse(d)
                .map(|d| d.0)
                .with_context(|| format!("--as-of {d}"))
        })
        .transpose()
}

/// Runs `rules` (filtered by `only`) and returns all findings in canonical order.
pub fn screen_all(
    snap: &Snapshot,
    rules: &[Rule],
    only: &[String],
    opts: &ExecOptions,
    verbose: bool,
) -> Result<Vec<Finding>> {
    for o in only {
        if !rules.iter().any(|r| &r.id == o) {
            bail!(
                "unknown rule `{o}`; known: {}",
                rules
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let chosen: Vec<qinglian_rules::Rule> = rules
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.id))
        .cloned()
        .collect();
    let done = qinglian_engine::screen(snap, &chosen, opts)?;
    if verbose {
        for r in &done.per_rule {
            eprintln!(
                "{} {:>7} findings in {:>8.1} ms{}",
                out::left(&r.rule, 22),
                r.findings,
                r.elapsed.as_secs_f64() * 1e3,
                if r.truncated { " (truncated)" } else { "" }
            );
        }
    }
    Ok(done.findings)
}

/// Loads a bundle into memory and builds its snapshot (for `screen --bundle`).
fn snapshot_of_bundle(dir: &std::path::Path) -> Result<Snapshot> {
    let mut db = qinglian_store::GraphDb::open(qinglian_store::MemStore::new())?;
    match qinglian_ingest::ingest(
        &mut db,
        dir,
        &qinglian_ingest::IngestOptions::default(),
        &|_| {},
    ) {
        Ok(rep) => {
            for w in rep.warnings.iter().take(20) {
                eprintln!("{w}");
            }
        }
        Err(qinglian_ingest::IngestError::Rejected(r)) => {
            for e in &r.errors {
                eprintln!("{e}");
            }
            bail!(
                "{}: {} error(s); fix the bundle and try again",
                dir.display(),
                r.error_count
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(qinglian_engine::snapshot::build(&db)?)
}

pub fn screen(a: &ScreenArgs) -> Result<ExitCode> {
    let snap = match &a.bundle {
        Some(dir) => snapshot_of_bundle(dir)?,
        None => super::db::snapshot_at(&a.db.db, a.known_at)?.1,
    };
    let rules = load_rules(a.rules.as_ref())?;
    let opts = ExecOptions {
        as_of: parse_date(&a.as_of)?,
        deadline: None,
        pruning: match a.pruning {
            Pruning::Auto => exec::Pruning::Auto,
            Pruning::Always => exec::Pruning::Always,
            Pruning::Never => exec::Pruning::Never,
        },
    };
    for i in 1..a.repeat {
        let t = std::time::Instant::now();
        screen_all(&snap, &rules, &a.only, &opts, true)?;
        eprintln!("run {i}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    }
    let t = std::time::Instant::now();
    let found = screen_all(&snap, &rules, &a.only, &opts, true)?;
    eprintln!(
        "{} findings in {:.1} ms",
        found.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    if let Some(since) = a.since {
        let (_db, then_snap) = super::db::snapshot_at(&a.db.db, Some(since))?;
        let then = screen_all(&then_snap, &rules, &a.only, &opts, false)?;
        let text = changes_since(&then, &found)?;
        return match &a.out {
            Some(p) => std::fs::write(p, text)
                .with_context(|| format!("writing {}", p.display()))
                .map(|()| ExitCode::SUCCESS),
            None => {
                std::io::stdout().lock().write_all(text.as_bytes())?;
                Ok(ExitCode::SUCCESS)
            }
        };
    }
    let text = match a.format {
        Format::Jsonl => found
            .iter()
            .map(|f| serde_json::to_string(f).map(|s| s + "\n"))
            .collect::<Result<String, _>>()?,
        Format::Csv => findings::to_csv(&found),
        Format::Table => findings_table(&found),
    };
    match &a.out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    if let Some(level) = a.fail_on {
        if found.iter().any(|f| f.severity >= level.severity()) {
            return Ok(ExitCode::from(3));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A finding as `--since` compares it: everything but which load brought each source row (a
/// row sent again by a refresh is the same evidence).
fn comparable(f: &findings::Finding) -> Result<serde_json::Value> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("load");
                m.remove("also_stated_at");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(f)?;
    strip(&mut v);
    Ok(v)
}

/// The findings that appeared, disappeared or changed between two screenings, as JSON lines
/// with a `change` field, in canonical order (resolved ones where they stood).
fn changes_since(then: &[findings::Finding], now: &[findings::Finding]) -> Result<String> {
    use std::collections::BTreeMap;
    let before: BTreeMap<&str, &findings::Finding> =
        then.iter().map(|f| (f.id.as_str(), f)).collect();
    let after: BTreeMap<&str, &findings::Finding> =
        now.iter().map(|f| (f.id.as_str(), f)).collect();
    let mut out: Vec<(&findings::Finding, &str)> = Vec::new();
    for f in now {
        match before.get(f.id.as_str()) {
            None => out.push((f, "new")),
            Some(old) => {
                if comparable(old)? != comparable(f)? {
                    out.push((f, "changed"));
                }
            }
        }
    }
    for f in then {
        if !after.contains_key(f.id.as_str()) {
            out.push((f, "resolved"));
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::new();
    for (f, change) in out {
        let mut v = serde_json::to_value(f)?;
        v["change"] = change.into();
        text.push_str(&serde_json::to_string(&v)?);
        text.push('\n');
    }
    Ok(text)
}

pub fn risk(a: &RiskArgs) -> Result<ExitCode> {
    let by = match a.by {
        By::Official => RollupBy::Official,
        By::Tender => RollupBy::Tender,
    };
    let (_db, snap) = super::db::snapshot_at(&a.db.db, a.known.known_at)?;
    let rules = load_rules(a.rules.as_ref())?;
    let opts = ExecOptions {
        as_of: parse_date(&a.as_of)?,
        ..ExecOptions::default()
    };
    let found = screen_all(&snap, &rules, &[], &opts, false)?;
    let rows = findings::rollup(&snap, &found, by);
    if a.json {
        for r in rows.iter().take(a.top) {
            println!("{}", serde_json::to_string(&risk_json(r))?);
        }
    } else {
        let mut t = Table::new(&[
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Left,
        ]);
        t.row([
            "severity",
            match a.by {
                By::Official => "official",
                By::Tender => "tender",
            },
            "name",
            "findings",
            "max_score",
            "findings per rule",
        ]);
        for r in rows.iter().take(a.top) {
            let per: Vec<String> = r.by_rule.iter().map(|(k, v)| format!("{k}={v}")).collect();
            t.row([
                r.colour.as_str().to_owned(),
                r.id.clone(),
                r.name.clone(),
                r.findings.to_string(),
                r.max_score.to_string(),
                per.join(" "),
            ]);
        }
        t.print();
    }
    if rows.len() > a.top {
        eprintln!("... {} more (--top N)", rows.len() - a.top);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rules(cmd: &RulesCmd) -> Result<ExitCode> {
    match cmd {
        RulesCmd::Check { dir } => match qinglian_rules::load_dir(dir) {
            Ok(rs) => {
                for r in &rs {
                    if let qinglian_rules::Body::Native { name, params } = &r.body {
                        if let Err(e) = qinglian_engine::native::check_params(name, params) {
                            bail!("{}: {e}", r.source);
                        }
                    }
                    println!("ok  {} {}", out::left(&r.id, 22), r.source);
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(errs) => {
                for e in &errs {
                    eprintln!("{e}");
                }
                eprintln!("{} error(s)", errs.len());
                Ok(ExitCode::from(1))
            }
        },
        RulesCmd::List { rules } => {
            let mut t = Table::new(&[Align::Left, Align::Left, Align::Left]);
            for r in load_rules(rules.as_ref())? {
                t.row([r.id.as_str(), r.severity.as_str(), r.title.as_str()]);
            }
            t.print();
            Ok(ExitCode::SUCCESS)
        }
        RulesCmd::Explain { id, db, rules } => {
            let rs = load_rules(rules.as_ref())?;
            let r = rs
                .iter()
                .find(|r| &r.id == id)
                .with_context(|| format!("unknown rule `{id}`"))?;
            let (_db, snap) = super::db::open_snapshot(&db.db)?;
            let c = exec::compile(r, &snap)?;
            println!("rule {} — {}\nsource: {}", r.id, r.title, r.source);
            print!("{}", exec::explain(&c));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A roll-up row as the CLI prints it: the engine's row with `colour` named `severity`, the
/// word findings use (docs/cli.md).
fn risk_json(r: &findings::RiskRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "name": r.name,
        "severity": r.colour,
        "findings": r.findings,
        "max_score": r.max_score,
        "by_rule": r.by_rule,
    })
}

/// Findings as an aligned table: columns padded by display width, so that ids and names in
/// Chinese keep the columns straight; the explanation, last, is not padded.
pub fn findings_table(found: &[Finding]) -> String {
    let mut t = Table::new(&[
        Align::Left,
        Align::Left,
        Align::Right,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
    ]);
    t.row([
        "pattern",
        "severity",
        "score",
        "official",
        "official_name",
        "target",
        "target2",
        "ref",
        "explanation",
    ]);
    for f in found {
        t.row([
            f.pattern.clone(),
            f.severity.as_str().to_owned(),
            f.score.to_string(),
            f.official.clone(),
            f.official_name.clone(),
            f.target.clone(),
            f.target2.clone(),
            f.ref_id.clone(),
            f.explanation.clone(),
        ]);
    }
    t.render()
}
