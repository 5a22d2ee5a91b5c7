//! `qinglian placeholders`: the values that never tie two entities, built in and loaded.

use super::out::{Align, Table};
use super::{DbArg, KnownAt};
use anyhow::Result;
use qinglian_model::normalize::PLACEHOLDERS;
use std::process::ExitCode;

/// The placeholders in force: the built-in list, then each value the loads declared in a
/// `placeholders.csv` (per source: a snapshot load's list replaces the source's earlier one).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub known_at: KnownAt,
    /// Print JSON: {"built_in": [...], "loaded": [{"value", "field", "file", "line", "load"}]}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let db = super::db::open(&a.db.db, false)?;
    let files: std::collections::HashMap<_, _> =
        db.files()?.into_iter().map(|f| (f.id, f)).collect();
    let loaded: Vec<serde_json::Value> = db
        .placeholders_at(a.known_at.known_at)?
        .into_iter()
        .map(|r| {
            let f = files.get(&r.source.file);
            serde_json::json!({
                "value": r.value, "field": r.field.as_str(),
                "file": f.map_or("?", |f| f.name.as_str()), "line": r.source.line,
                "load": f.map_or(0, |f| f.load),
            })
        })
        .collect();
    if a.json {
        let v = serde_json::json!({ "built_in": PLACEHOLDERS, "loaded": loaded });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("built in (any field; also a cell without a letter or digit, and a phone of fewer than five digits, one repeated digit or counting up):");
    println!("  {}", PLACEHOLDERS.join("  "));
    println!("loaded ({}):", loaded.len());
    let mut t = Table::new(&[Align::Left, Align::Left, Align::Left, Align::Right]).indent("  ");
    for v in &loaded {
        let field = v["field"].as_str().unwrap_or("");
        t.row([
            v["value"].as_str().unwrap_or("").to_owned(),
            if field.is_empty() {
                "any".into()
            } else {
                field.to_owned()
            },
            format!("{}:{}", v["file"].as_str().unwrap_or("?"), v["line"]),
            format!("load {}", v["load"]),
        ]);
    }
    print!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}
