//! `qinglian indicators`: Cardinal's procedural red flags over an OCDS JSON lines file.

use anyhow::{Context, Result};
use qinglian_indicators::Settings;
use std::path::PathBuf;
use std::process::ExitCode;

/// Procedural red flags of procurement (Cardinal's indicators) from OCDS releases.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// OCDS compiled releases, one JSON object per line.
    pub file: PathBuf,
    /// A settings file in Cardinal's INI layout: an indicator runs when its section is present.
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Run every indicator (with the settings file's values where it gives them).
    #[arg(long)]
    pub all: bool,
    /// Leave out the quartiles and fences (`Meta`).
    #[arg(long)]
    pub no_meta: bool,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let mut settings = match &a.settings {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Settings::parse(&text).with_context(|| p.display().to_string())?
        }
        None => Settings::default(),
    };
    if a.all {
        settings = settings.with_all();
    }
    let f =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let out = qinglian_indicators::run(std::io::BufReader::new(f), &settings)
        .with_context(|| format!("reading {}", a.file.display()))?;
    for (line, why) in &out.skipped {
        eprintln!("{}:{line}: skipped: {why}", a.file.display());
    }
    println!("{}", out.to_json(!a.no_meta));
    Ok(ExitCode::SUCCESS)
}
