//! `qinglian`: the command line.
//!
//! Every subcommand works on a database folder (`--db`, `QINGLIAN_DB`, default
//! `./qinglian.db`) holding the sled store, the snapshot cache, the token file and the audit
//! log. Exit status (docs/cli.md): 0 on success, 1 on failure (an error, a rejected load,
//! rule files that do not check, a broken audit trail), 2 on a usage error, 3 when `screen
//! --fail-on LEVEL` found a finding of that severity or higher.

mod cmd;

use clap::Parser;

/// See the comment on the dependency in Cargo.toml: memory freed by one phase of a large load
/// is reused by the next instead of staying resident.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns to the system, now, the pages freed since the last purge, in every thread's heap.
/// mimalloc purges freed pages after a delay (1 s); a large load's phase frees gigabytes at
/// its end and the next phase allocates as much at once, so without this both are resident
/// together (1.5 GB of the 10M ingest's peak; docs/performance.md, "Memory"). Called between
/// the phases of a load, never in a loop: a forced collection visits every arena.
pub(crate) fn release_freed_memory() {
    // SAFETY: `mi_collect` takes no pointer and may be called from any thread at any time.
    let collect = || unsafe { libmimalloc_sys::mi_collect(true) };
    // Blocks freed by one thread return to the heap of the thread that allocated them, and a
    // heap is collected by its own thread: each worker of the pool collects its own.
    rayon::broadcast(|_| collect());
    collect();
}

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (the version libmimalloc-sys builds
/// without its `v2` feature; the crate names no constant for it). A unit test checks that
/// this option holds the purge delay's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes mimalloc return freed pages to the system at once instead of after its purge delay
/// (1 s, ten times that for its arenas): within a phase of a large load, what one part frees
/// stayed resident while the next allocated. At 10M people the ingest's peak went from 6.2 to
/// 5.7 GB (docs/performance.md, "Memory"). Set first thing, before the phases allocate.
fn purge_freed_memory_at_once() {
    // SAFETY: `mi_option_set` takes no pointer; an option is a word mimalloc reads when it
    // purges.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}
use std::process::ExitCode;

fn main() -> ExitCode {
    purge_freed_memory_at_once();
    let cli = cmd::Cli::parse();
    log_to_stderr();
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

/// The log of every command on standard error: `tracing` events from the CLI (what it opens,
/// each phase of a load), the engine and the API (an unreadable token file, a failed audit
/// write). `RUST_LOG` filters it (`RUST_LOG=debug`, `RUST_LOG=qinglian=debug`); by default
/// warnings and errors only, so normal output is unchanged. Standard output stays the
/// command's answer alone.
fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // `try_init`: a subscriber already installed is kept.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
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

#[cfg(test)]
mod tests {
    /// The option set at start is mimalloc's purge delay: the only option whose default is
    /// 1000 (ms). An upgrade that renumbers the options fails here, not in production.
    #[test]
    fn the_option_set_at_start_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the environment set it: the default is not what the option holds
        }
        // SAFETY: `mi_option_get` takes no pointer and only reads the option's word.
        let v = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(v, 1000);
    }
}
