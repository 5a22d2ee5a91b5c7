//! Ingest throughput and peak memory: `qinglian ingest` of a whole bundle into a new database
//! (parse, validate, resolve identities, durable sled commit, then the snapshot build), timed
//! as a user runs it, in a child process whose peak resident memory is read from the kernel.
//!
//! Run: `cargo bench --bench ingest -- [--bundle DIR | --people N --seed S] [--work DIR]`
//! (default: a 1,000,000-person bundle from `qinglian generate`, seed 1, under
//! `target/bench-ingest`). Prints one JSON line per measured command: rows, seconds, rows per
//! second, peak RSS, and the commit and snapshot phases as `ingest` reports them.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Peak RSS (MB) of the waited-for children of this process.
#[cfg(unix)]
fn children_peak_mb() -> f64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a valid, writable rusage; getrusage only writes into it.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, ru.as_mut_ptr()) };
    if rc != 0 {
        return f64::NAN;
    }
    // SAFETY: getrusage returned 0, so it filled the struct.
    let ru = unsafe { ru.assume_init() };
    ru.ru_maxrss as f64 / 1024.0 // kilobytes on Linux
}

#[cfg(not(unix))]
fn children_peak_mb() -> f64 {
    f64::NAN
}

/// Runs `cmd` in a fresh copy of this bench (so that the kernel's "largest child" is this
/// command alone) and returns (seconds, peak MB, combined output).
fn measure(cmd: &[String]) -> Result<(f64, f64, String)> {
    let me = std::env::current_exe()?;
    let out = Command::new(me)
        .arg("--measure-child")
        .args(cmd)
        .output()
        .context("re-running the bench to measure a child")?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{cmd:?} failed:\n{text}");
    }
    let last = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("measured "))
        .context("no measurement line")?;
    let mut it = last.split_whitespace().map(str::parse::<f64>);
    let (Some(Ok(secs)), Some(Ok(mb))) = (it.next(), it.next()) else {
        bail!("bad measurement line {last}");
    };
    Ok((secs, mb, text))
}

/// Child mode: run the command, then print its wall time and peak RSS.
fn child(cmd: &[String]) -> Result<()> {
    let t = Instant::now();
    let st = Command::new(&cmd[0]).args(&cmd[1..]).status()?;
    let secs = t.elapsed().as_secs_f64();
    if !st.success() {
        bail!("{cmd:?}: {st}");
    }
    println!("measured {secs:.3} {:.1}", children_peak_mb());
    Ok(())
}

/// Data rows of every CSV file in `dir` (header excluded).
fn rows(dir: &Path) -> Result<u64> {
    let mut n = 0u64;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "csv") {
            let bytes = std::fs::read(&p)?;
            n += bytecount_lines(&bytes).saturating_sub(1);
        }
    }
    Ok(n)
}

fn bytecount_lines(b: &[u8]) -> u64 {
    let nl = b.iter().filter(|&&c| c == b'\n').count() as u64;
    nl + u64::from(!b.is_empty() && b.last() != Some(&b'\n'))
}

/// A number printed after `key` in ingest's output, e.g. "committed ... in 4.21s".
fn seconds_after(text: &str, line_has: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.contains(line_has))?;
    let i = line.find(" in ")?;
    let rest = &line[i + 4..];
    let end = rest.find('s')?;
    rest[..end].trim().parse().ok()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure-child") {
        return child(&args[i + 1..]);
    }
    // `cargo bench` runs every bench with `--bench`; this one takes minutes at its default
    // size, so it runs only when asked for by name with arguments or `--run`.
    if arg("--bundle").is_none() && arg("--people").is_none() && !args.iter().any(|a| a == "--run")
    {
        eprintln!(
            "usage: cargo bench --bench ingest -- [--bundle DIR | --people N [--seed S]] [--work DIR] | --run"
        );
        return Ok(());
    }
    let exe = env!("CARGO_BIN_EXE_qinglian").to_owned();
    let work = PathBuf::from(arg("--work").unwrap_or_else(|| "target/bench-ingest".into()));
    std::fs::create_dir_all(&work)?;
    let bundle = match arg("--bundle") {
        Some(b) => PathBuf::from(b),
        None => {
            let people = arg("--people").unwrap_or_else(|| "1000000".into());
            let seed = arg("--seed").unwrap_or_else(|| "1".into());
            let dir = work.join(format!("bundle-{people}-{seed}"));
            if !dir.join("people.csv").exists() {
                let (s, mb, _) = measure(&[
                    exe.clone(),
                    "generate".into(),
                    "--people".into(),
                    people.clone(),
                    "--seed".into(),
                    seed,
                    "--out".into(),
                    dir.display().to_string(),
                ])?;
                println!(
                    "{}",
                    serde_json::json!({"bench": "generate", "people": people, "wall_s": s, "peak_rss_mb": mb})
                );
            }
            dir
        }
    };
    let n = rows(&bundle)?;
    let db = work.join("db");
    if db.exists() {
        std::fs::remove_dir_all(&db)?;
    }
    let cmd = |what: &str| {
        vec![
            exe.clone(),
            what.into(),
            bundle.display().to_string(),
            "--db".into(),
            db.display().to_string(),
        ]
    };
    let (secs, mb, text) = measure(&cmd("ingest"))?;
    println!(
        "{}",
        serde_json::json!({
            "bench": "ingest", "bundle": bundle.display().to_string(), "rows": n,
            "wall_s": secs, "rows_per_s": (n as f64 / secs).round(), "peak_rss_mb": mb,
            "commit_s": seconds_after(&text, "committed"),
            "snapshot_s": seconds_after(&text, "snapshot:"),
        })
    );
    // Loading the same bundle again must change nothing, and quickly.
    let (secs, mb, _) = measure(&cmd("ingest"))?;
    println!(
        "{}",
        serde_json::json!({"bench": "reingest_same_bundle", "rows": n, "wall_s": secs, "peak_rss_mb": mb})
    );
    Ok(())
}
