//! Cardinal's indicator fixtures, one test each, discovered from
//! `../shared/data/real/cardinal-fixtures/indicators` (NAME.jsonl + NAME.expected): the output of
//! `qinglian indicators` equals Cardinal's expected JSON, value for value (floats exactly).
//!
//! The settings come from the fixture's name as cardinal-rs's own build.rs makes them: `CODE`
//! alone runs the indicator with its defaults, `CODE-key-value` sets one key (`+` in a value is
//! `|`), `CODE-map-k1-v1-k2-v2` fills the section `[CODE.map]`; every fixture also gets
//! `no_price_comparison_procurement_methods = NPC` and `[exclusions] procurement_method_details =
//! EXC`. The folder is real data kept beside the checkout (not republished here); without it the
//! harness says SKIPPED. Every fifth fixture runs through the `qinglian` binary, the others
//! through the library, so that both paths are held to the same answers.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real/cardinal-fixtures/indicators")
}

/// The INI text cardinal-rs's build.rs would give fixture `name`.
fn settings_for(name: &str) -> String {
    let name = name.replace('+', "|");
    let parts: Vec<&str> = name.split('-').collect();
    let code = parts[0];
    let rest = &parts[1..];
    let mut ini = String::from(
        "no_price_comparison_procurement_methods = NPC\n[exclusions]\nprocurement_method_details = EXC\n",
    );
    match rest.len() {
        0 | 1 => ini.push_str(&format!("[{code}]\n")),
        2 => ini.push_str(&format!("[{code}]\n{} = {}\n", rest[0], rest[1])),
        _ => {
            ini.push_str(&format!("[{code}.{}]\n", rest[0]));
            for kv in rest[1..].chunks_exact(2) {
                ini.push_str(&format!("{} = {}\n", kv[0], kv[1]));
            }
        }
    }
    ini
}

fn ours(jsonl: &Path, ini: &str, through_binary: bool) -> Result<serde_json::Value, Failed> {
    if through_binary {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let settings = dir.path().join("settings.ini");
        std::fs::write(&settings, ini).map_err(|e| e.to_string())?;
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_qinglian"))
            .arg("indicators")
            .arg(jsonl)
            .arg("--settings")
            .arg(&settings)
            .arg("--no-meta")
            .output()
            .map_err(|e| e.to_string())?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).into_owned().into());
        }
        return serde_json::from_slice(&o.stdout).map_err(|e| e.to_string().into());
    }
    let settings = qinglian_indicators::Settings::parse(ini).map_err(|e| e.to_string())?;
    let f = std::fs::File::open(jsonl).map_err(|e| e.to_string())?;
    let out = qinglian_indicators::run(std::io::BufReader::new(f), &settings)
        .map_err(|e| e.to_string())?;
    Ok(out.to_json(false))
}

fn check(jsonl: &Path, through_binary: bool) -> Result<(), Failed> {
    let name = jsonl
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or("a fixture name")?;
    let ini = settings_for(name);
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(jsonl.with_extension("expected")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let got = ours(jsonl, &ini, through_binary)?;
    if got == expected {
        Ok(())
    } else {
        Err(format!("settings:\n{ini}\nexpected {expected}\n     got {got}").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(folder())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    fixtures.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    fixtures.sort();
    if fixtures.is_empty() {
        eprintln!("SKIPPED: no fixtures in {}", folder().display());
    }
    let trials = fixtures
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(format!("cardinal_{name}"), move || check(&p, i % 5 == 0))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
