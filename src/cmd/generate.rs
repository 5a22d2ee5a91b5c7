//! `qinglian generate`.

use super::out::{Align, Table};
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
    /// What kind of world.
    #[arg(long, value_enum, default_value_t = Profile::Province)]
    pub profile: Profile,
    /// Share of people and companies who also get a second record without an identifier
    /// (truth in links.jsonl; half as many companies get a namesake that is another company;
    /// half of the second records carry the first's shareholdings and roles), to measure
    /// candidate identity links (`qinglian links`) and the findings across them
    /// (`screen --links`).
    #[arg(long, default_value_t = 0.0)]
    pub duplicates: f64,
}

/// `generate --profile`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Profile {
    /// A province: many agencies, people and companies.
    Province,
    /// One development zone, as the demo bundle.
    Zone,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let profile = match a.profile {
        Profile::Province => qinglian_synth::Profile::Province,
        Profile::Zone => qinglian_synth::Profile::Zone,
    };
    let rep = qinglian_synth::generate(
        &qinglian_synth::Options {
            people: a.people,
            seed: a.seed,
            profile,
            duplicates: a.duplicates,
        },
        &a.out,
    )?;
    let mut t = Table::new(&[Align::Left, Align::Right]);
    for (f, n) in &rep.files {
        t.row([f.clone(), n.to_string()]);
    }
    t.print();
    let mut t = Table::new(&[Align::Left, Align::Left, Align::Left, Align::Right]);
    for (p, k, n) in &rep.truth {
        t.row(["truth".to_owned(), p.clone(), k.clone(), n.to_string()]);
    }
    t.print();
    println!("wrote {} in {:.1}s", a.out.display(), rep.seconds);
    Ok(ExitCode::SUCCESS)
}
