//! `qinglian`: the command line.
//!
//! Every subcommand works on a database folder (`--db`, `QINGLIAN_DB`, default
//! `./qinglian.db`) holding the sled store, the snapshot cache, the token file and the audit
//! log. Exit status: 0 on success, 1 on failure, 2 on a usage error, 3 when `screen` found
//! red findings and `--fail-on red` was given.

mod cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
