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
    if !cli.is_server() {
        restore_sigpipe();
    }
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Rust starts programs with SIGPIPE ignored, so `qinglian screen | head` would panic on the
/// first write after `head` exits. A command-line filter should end quietly instead, as other
/// Unix tools do. The server keeps SIGPIPE ignored: a client that hangs up is an error it
/// handles, never a reason to die.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called in `main` before any other thread exists; setting a signal's
    // disposition to the default has no other precondition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
