//! Subcommands.

mod db;
mod generate;
mod graph;
mod ingest;
mod rules;
mod server;
mod show;
mod stats;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Qinglian (清廉): finds officials linked to winning bidders and subsidy recipients, and
/// proves each flag with an evidence chain back to the source rows.
#[derive(Debug, Parser)]
#[command(name = "qinglian", version, about, long_about = None, propagate_version = true)]
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
    /// Run the detection rules and print findings with their evidence.
    Screen(rules::ScreenArgs),
    /// Roll findings up per official or per tender: highest colour and count per rule.
    Risk(rules::RiskArgs),
    /// Check, list or explain rule files.
    #[command(subcommand)]
    Rules(rules::RulesCmd),
    /// Generate a synthetic bundle with planted conflicts and their truth.
    Generate(generate::Args),
    /// Shortest evidence chains between two entities (bounded, bidirectional).
    Path(graph::PathArgs),
    /// Export the neighbourhood of an entity (JSON, GraphML, GEXF, CSV, DOT).
    Subgraph(graph::SubgraphArgs),
    /// List the recorded merges of rows into one entity.
    Merges(graph::MergesArgs),
    /// List the committed loads.
    Loads(graph::LoadsArgs),
    /// Serve the investigator HTTP API.
    Serve(server::ServeArgs),
    /// Create, revoke or list API tokens.
    #[command(subcommand)]
    Token(server::TokenCmd),
    /// Verify or show the audit trail.
    #[command(subcommand)]
    Audit(server::AuditCmd),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ingest(a) => ingest::run(&a),
        Command::Stats(a) => stats::run(&a),
        Command::Show(a) => show::run(&a),
        Command::Screen(a) => rules::screen(&a),
        Command::Risk(a) => rules::risk(&a),
        Command::Rules(c) => rules::rules(&c),
        Command::Generate(a) => generate::run(&a),
        Command::Path(a) => graph::path(&a),
        Command::Subgraph(a) => graph::subgraph(&a),
        Command::Merges(a) => graph::merges(&a),
        Command::Loads(a) => graph::loads(&a),
        Command::Serve(a) => server::serve(&a),
        Command::Token(c) => server::token(&c),
        Command::Audit(c) => server::audit(&c),
    }
}
