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
    /// score or evidence). JSON lines, each with its `first_seen` and `last_seen` load and
    /// `status` when the findings store has them. Read from the findings store (the screening
    /// recorded after each load) when it holds that load and the rules are the built-in ones;
    /// otherwise the database as it was after LOAD is screened again. 0: everything is new.
    #[arg(long, value_name = "LOAD", conflicts_with = "bundle")]
    pub since: Option<u32>,
    /// With --since: screen the database as it was after LOAD again instead of reading the
    /// findings store (the two answer the same; this checks it).
    #[arg(long, requires = "since")]
    pub recompute: bool,
    /// Let every rule cross candidate identity links at least this probable (0 to 1): a
    /// person or company reached by a second edge may be another record of it
    /// (`qinglian links list`; docs/linkage.md). Each crossing multiplies the finding's score
    /// by the link's probability, and the finding names its weakest link. Rules that write
    /// `SAME_AS` themselves cross links without this option.
    #[arg(long, value_name = "P", conflicts_with = "since", value_parser = probability_arg)]
    pub links: Option<f64>,
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

/// A probability on the command line (a usage error outside 0..=1).
fn probability_arg(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is no probability between 0 and 1")),
    }
}

/// Lays the identity links over `snap` when any of the chosen rules crosses them, with the
/// judgements in the database (none for a bundle screened in memory).
pub(super) fn attach_links(
    snap: &Snapshot,
    db: Option<&qinglian_store::GraphDb<qinglian_store::SledStore>>,
    rules: &[Rule],
    only: &[String],
) -> Result<()> {
    let chosen = rules
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.id));
    if !chosen.into_iter().any(Rule::crosses_links) {
        return Ok(());
    }
    let judged = match db {
        Some(db) => qinglian_store::judgements::current(db.store())?,
        None => Vec::new(),
    };
    let n = qinglian_engine::linkage::attach(snap, &judged);
    eprintln!(
        "{n} identity links (p ≥ {}) laid over the graph, {} judgement(s) applied",
        qinglian_engine::linkage::EDGE_FLOOR,
        judged.len()
    );
    Ok(())
}

pub fn screen(a: &ScreenArgs) -> Result<ExitCode> {
    let (db, snap) = match &a.bundle {
        Some(dir) => (None, snapshot_of_bundle(dir)?),
        None => {
            let (db, snap) = super::db::snapshot_at(&a.db.db, a.known_at)?;
            (Some(db), snap)
        }
    };
    let mut rules = load_rules(a.rules.as_ref())?;
    if let Some(min) = a.links {
        rules = rules
            .iter()
            .map(|r| r.crossing_links(min))
            .collect::<Result<_, _>>()?;
    }
    attach_links(&snap, db.as_ref(), &rules, &a.only)?;
    // `--since` opens the database again: the store admits one opener at a time.
    drop(db);
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
        let text = changes_since(a, &rules, &opts, since, &found)?;
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

/// The findings that appeared, disappeared or changed since load `since`, as JSON lines
/// (`engine::lifecycle::changes`): the "before" side read from the findings store when it can
/// answer for these rules, screened again otherwise.
fn changes_since(
    a: &ScreenArgs,
    rules: &[Rule],
    opts: &ExecOptions,
    since: u32,
    found: &[findings::Finding],
) -> Result<String> {
    use qinglian_engine::lifecycle::{changes, Before, Lifecycle};
    let db = super::db::open(&a.db.db, false)?;
    let loads = db.state().loads;
    let now = a.known_at.unwrap_or(loads);
    if since > now {
        bail!("--since {since}: the database has loads 1 to {loads}, and {now} is screened");
    }
    let life = Lifecycle::read(&db)?;
    // The store holds the built-in rules' screenings of the current data.
    let builtin = a.rules.is_none() && a.known_at.is_none() && opts.as_of.is_none();
    let asked: std::collections::BTreeSet<&str> = rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| a.only.is_empty() || a.only.iter().any(|o| o == id))
        .collect();
    let before = if since == 0 {
        Before::default()
    } else if builtin && !a.recompute && life.recorded(since) && life.recorded(loads) {
        life.before(since, &asked)
    } else {
        drop(db);
        let (_db, then_snap) = super::db::snapshot_at(&a.db.db, Some(since))?;
        Before::of(&screen_all(&then_snap, rules, &a.only, opts, false)?)?
    };
    let lives = (builtin && life.recorded(loads)).then_some(&life.lives);
    let mut text = String::new();
    for v in changes(found, &before, lives)? {
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
                    if let Some(why) = not_compiled(r) {
                        println!("    not compiled to SQL (compile-rules leaves it out): {why}");
                    }
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

/// Why `compile-rules` would leave a rule out (Spark or DuckDB), if it would: a rule the engine
/// runs but the SQL compiler refuses is still a valid rule, so `rules check` says so and passes.
fn not_compiled(r: &qinglian_rules::Rule) -> Option<String> {
    [qinglian_sql::Dialect::Spark, qinglian_sql::Dialect::DuckDb]
        .into_iter()
        .find_map(|d| qinglian_sql::compile(r, d).err())
        .map(|e| e.to_string())
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
