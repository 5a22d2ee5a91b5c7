//! Times the generator: `cargo run --release -p qinglian-synth --example gen -- PEOPLE SEED OUT [zone]`.

use qinglian_synth::{generate, Options, Profile};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let people = a.first().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let seed = a.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let out = PathBuf::from(a.get(2).map_or("/tmp/qinglian-synth", String::as_str));
    let profile = if a.get(3).is_some_and(|s| s == "zone") {
        Profile::Zone
    } else {
        Profile::Province
    };
    match generate(
        &Options {
            people,
            seed,
            profile,
            duplicates: 0.0,
        },
        &out,
    ) {
        Ok(rep) => {
            for (f, n) in &rep.files {
                println!("{f:<22} {n:>10}");
            }
            for (p, k, n) in &rep.truth {
                println!("truth {p:<20} {k:<10} {n}");
            }
            println!("wrote {} in {:.2}s", out.display(), rep.seconds);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
