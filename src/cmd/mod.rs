//! Subcommands.

mod clearances;
mod db;
mod declarations;
mod export;
mod findings;
mod generate;
mod graph;
mod indicators;
mod ingest;
mod links;
mod out;
mod placeholders;
mod rules;
mod search;
mod server;
mod show;
mod sql;
mod stats;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit statuses and environment, shown by `--help` and in the man page (docs/cli.md).
const AFTER_HELP: &str = "\
Exit status:
  0  success (also: screen found findings, search found nothing, path found no chain)
  1  failure: an error (printed as `error: ...`), a rejected load, rule files that do not
     check, a broken audit trail
  2  usage error: unknown command or option, a bad option value (a date, a rule severity)
  3  screen --fail-on LEVEL found a finding of that severity or higher; clearances verify:
     checked again on the data of its load, the clearance raises a finding
  4  clearances verify: the signature is not the database key's

Environment:
  QINGLIAN_DB  the database folder when --db is not given (default ./qinglian.db)
  RUST_LOG     log filter for standard error (default warn), e.g. RUST_LOG=debug

Documentation: README.md, docs/cli.md (output formats), docs/format.md (the input CSV bundle)";

/// Qinglian (清廉): finds officials linked to winning bidders and subsidy recipients, and
/// proves each flag with an evidence chain back to the source rows.
#[derive(Debug, Parser)]
#[command(
    name = "qinglian",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Whether this invocation runs the HTTP server (which must survive closed sockets).
    pub fn is_server(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }
}

/// `--known-at LOAD`: answer with what the database knew after that load (docs/ingest.md,
/// "Refreshing data").
#[derive(Debug, Clone, clap::Args)]
pub struct KnownAt {
    /// Answer with what the database knew after this load (`qinglian loads` numbers them).
    #[arg(long, value_name = "LOAD")]
    pub known_at: Option<u32>,
}

/// Where the database lives.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArg {
    /// Database folder (created by `ingest`).
    #[arg(
        long,
        env = "QINGLIAN_DB",
        default_value = "qinglian.db",
        global = true
    )]
    pub db: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load a bundle folder of CSV files into the database (all or nothing).
    Ingest(ingest::Args),
    /// Counts of nodes and edges per kind.
    Stats(stats::Args),
    /// An entity with its edges and their sources.
    Show(show::Args),
    /// Find people and companies by name, ID number, credit code or bundle id.
    Search(search::Args),
    /// Run the detection rules and print findings with their evidence.
    Screen(rules::ScreenArgs),
    /// Roll findings up per official or per tender: highest severity and count per rule.
    Risk(rules::RiskArgs),
    /// Check, list or explain rule files.
    #[command(subcommand)]
    Rules(rules::RulesCmd),
    /// Generate a synthetic bundle with planted conflicts and their truth.
    Generate(generate::Args),
    /// Shortest evidence chains between two entities (bounded, bidirectional).
    Path(graph::PathArgs),
    /// Export the neighbourhood of an entity (JSON, GraphML, GEXF, CSV, DOT, Parquet, Neo4j).
    Subgraph(graph::SubgraphArgs),
    /// Export the whole graph, a neighbourhood or a finding's evidence (JSON, GraphML, GEXF,
    /// Gephi CSV, DOT, Parquet, Neo4j import files).
    Export(export::Args),
    /// Procedural red flags (single bid, short submission period, identical prices…) from OCDS
    /// releases, as Open Contracting's Cardinal computes them.
    Indicators(indicators::Args),
    /// List the recorded merges of rows into one entity.
    Merges(graph::MergesArgs),
    /// List the committed loads.
    Loads(graph::LoadsArgs),
    /// Candidate identity links: records that probably denote one person or company, scored
    /// (never merged), and investigators' judgements on them.
    #[command(subcommand)]
    Links(links::LinksCmd),
    /// The values that mean "no value" and never tie two entities: built in, and those the
    /// loads declared in placeholders.csv.
    Placeholders(placeholders::Args),
    /// Compile the rules to SQL for DuckDB or Spark, to run over `export --format parquet`
    /// (docs/scale-out.md). A rule the compiler cannot translate yet is listed with the reason.
    CompileRules(sql::Args),
    /// Bring back findings computed on Spark or DuckDB from the compiled rules: each confirmed
    /// by the engine, then recorded as the current load's screening (docs/scale-out.md).
    #[command(subcommand)]
    Findings(findings::Cmd),
    /// Serve the investigator HTTP API.
    Serve(server::ServeArgs),
    /// Create, revoke or list API tokens.
    #[command(subcommand)]
    Token(server::TokenCmd),
    /// Verify or show the audit trail.
    #[command(subcommand)]
    Audit(server::AuditCmd),
    /// Declaration spot-checks: draw a reproducible sample of officials and compare what each
    /// declared with what the registers show.
    #[command(subcommand)]
    Declarations(declarations::Cmd),
    /// Check a signed clearance again, against the load it was made on and the current data.
    #[command(subcommand)]
    Clearances(clearances::ClearancesCmd),
    /// Print a shell completion script (e.g. `qinglian completions bash > /etc/bash_completion.d/qinglian`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one page per command into a folder.
    Man {
        /// Write qinglian.1 and a qinglian-COMMAND.1 for every command here (created).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ingest(a) => ingest::run(&a),
        Command::Stats(a) => stats::run(&a),
        Command::Placeholders(a) => placeholders::run(&a),
        Command::CompileRules(a) => sql::run(&a),
        Command::Findings(c) => findings::run(&c),
        Command::Links(c) => links::run(&c),
        Command::Show(a) => show::run(&a),
        Command::Search(a) => search::run(&a),
        Command::Screen(a) => rules::screen(&a),
        Command::Risk(a) => rules::risk(&a),
        Command::Rules(c) => rules::rules(&c),
        Command::Generate(a) => generate::run(&a),
        Command::Path(a) => graph::path(&a),
        Command::Subgraph(a) => graph::subgraph(&a),
        Command::Export(a) => export::run(&a),
        Command::Indicators(a) => indicators::run(&a),
        Command::Declarations(c) => declarations::run(&c),
        Command::Merges(a) => graph::merges(&a),
        Command::Loads(a) => graph::loads(&a),
        Command::Serve(a) => server::serve(&a),
        Command::Token(c) => server::token(&c),
        Command::Audit(c) => server::audit(&c),
        Command::Clearances(c) => clearances::run(&c),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut stdout = std::io::stdout().lock();
            clap_complete::generate(shell, &mut cmd, "qinglian", &mut stdout);
            stdout.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => man(out.as_deref()),
    }
}

/// `qinglian man`: the top-level page on standard output, or every page into `out`.
fn man(out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&main_page(&cmd)?)?;
            stdout.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let write = |name: &str, bytes: &[u8]| {
                let p = dir.join(name);
                std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))
            };
            write("qinglian.1", &main_page(&cmd)?)?;
            let mut n = 1;
            let mut todo: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
            while let Some(c) = todo.pop() {
                if c.is_hide_set() {
                    continue;
                }
                todo.extend(c.get_subcommands().cloned());
                let page = clap_mangen::Man::new(c);
                let mut bytes = Vec::new();
                page.render(&mut bytes)?;
                write(&page.get_filename(), &bytes)?;
                n += 1;
            }
            eprintln!("{n} man pages written to {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The top-level page: clap's sections, with EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO as
/// man pages have them (instead of the help text's free-form epilogue).
fn main_page(cmd: &clap::Command) -> anyhow::Result<Vec<u8>> {
    use clap_mangen::roff::{bold, roman, Roff};
    let man = clap_mangen::Man::new(cmd.clone().after_help(None::<&str>));
    let mut w = Vec::new();
    man.render_title(&mut w)?;
    man.render_name_section(&mut w)?;
    man.render_synopsis_section(&mut w)?;
    man.render_description_section(&mut w)?;
    man.render_options_section(&mut w)?;
    man.render_subcommands_section(&mut w)?;
    let mut r = Roff::new();
    let item = |r: &mut Roff, tag: &str, text: &str| {
        r.control("TP", []);
        r.text([bold(tag)]);
        r.text([roman(text)]);
    };
    r.control("SH", ["EXIT STATUS"]);
    item(&mut r, "0", "Success. screen found findings without --fail-on, search found nothing, or path found no chain: all still 0.");
    item(&mut r, "1", "Failure: an error (printed on standard error as error: ...), a rejected load (the database is unchanged), rule files that do not check, or a broken audit trail.");
    item(&mut r, "2", "Usage error: an unknown command or option, a missing argument, or a bad option value (a date that is not YYYY-MM-DD, an unknown severity or edge kind).");
    item(
        &mut r,
        "3",
        "screen --fail-on LEVEL found a finding of that severity or higher.",
    );
    r.control("SH", ["ENVIRONMENT"]);
    item(
        &mut r,
        "QINGLIAN_DB",
        "The database folder when --db is not given (default ./qinglian.db).",
    );
    item(&mut r, "RUST_LOG", "Filter of the log written to standard error (default warn), e.g. RUST_LOG=debug or RUST_LOG=qinglian=debug.");
    r.control("SH", ["FILES"]);
    item(
        &mut r,
        "DB/store/",
        "The sled store: every committed load, with its source rows.",
    );
    item(
        &mut r,
        "DB/snapshot.bin",
        "The graph the engine reads, memory-mapped; rebuilt when missing or stale.",
    );
    item(&mut r, "DB/tokens.json", "API tokens, as digests.");
    item(
        &mut r,
        "DB/audit.log",
        "The hash-chained audit trail of the HTTP API.",
    );
    r.control("SH", ["SEE ALSO"]);
    r.text([roman("qinglian-ingest(1), qinglian-screen(1), qinglian-search(1); in the source: README.md, docs/format.md (the input bundle), docs/cli.md (output formats and exit statuses), docs/rules.md, docs/api.md.")]);
    r.to_writer(&mut w)?;
    man.render_version_section(&mut w)?;
    Ok(w)
}
