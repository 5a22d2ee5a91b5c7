//! `qinglian generate`.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate a synthetic bundle with planted conflicts and `truth.jsonl`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of people.
    #[arg(long, default_value_t = 20_000)]
    pub people: usize,
    /// Random seed (the same seed gives the same files).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder (created).
    #[arg(long)]
    pub out: PathBuf,
    /// province (default) or zone (one development zone, as the demo bundle).
    #[arg(long, default_value = "province")]
    pub profile: String,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let profile = match a.profile.as_str() {
        "province" => qinglian_synth::Profile::Province,
        "zone" => qinglian_synth::Profile::Zone,
        other => anyhow::bail!("--profile {other}: expected province or zone"),
    };
    let rep = qinglian_synth::generate(
        &qinglian_synth::Options {
            people: a.people,
            seed: a.seed,
            profile,
        },
        &a.out,
    )?;
    for (f, n) in &rep.files {
        println!("{f:<22} {n:>10}");
    }
    for (p, k, n) in &rep.truth {
        println!("truth {p:<20} {k:<10} {n}");
    }
    println!("wrote {} in {:.1}s", a.out.display(), rep.seconds);
    Ok(ExitCode::SUCCESS)
}
