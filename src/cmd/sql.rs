//! `qinglian compile-rules`: the rules as SQL for DuckDB or Spark (crates/sql).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SQL dialect.
    #[arg(long, value_parser = ["duckdb", "spark"])]
    pub dialect: String,
    /// Only these rules (repeatable).
    #[arg(long = "rule")]
    pub only: Vec<String>,
    /// A folder of rule files that add to or override the built-in rules.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// A database whose statistics order the joins: each rule's tables are listed in the order
    /// the engine's plan walks that database (`rules explain`), which Spark follows. Without
    /// it the tables come in the order the rule is written. The findings are the same.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The folder to write `<rule>.sql` into (and `not-compiled.txt`: each rule left out, and why).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let dialect = qinglian_sql::Dialect::parse(&a.dialect).context("--dialect")?;
    let rules = super::rules::load_rules(a.rules.as_ref())?;
    for o in &a.only {
        if !rules.iter().any(|r| &r.id == o) {
            anyhow::bail!("unknown rule `{o}`");
        }
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let snap = match &a.db {
        Some(db) => Some(super::db::open_snapshot(db)?),
        None => None,
    };
    let mut skipped = String::new();
    let mut written = 0;
    for r in rules
        .iter()
        .filter(|r| a.only.is_empty() || a.only.contains(&r.id))
    {
        let order = match &snap {
            Some((_, snap)) if r.query().is_some() => {
                let c = qinglian_engine::exec::compile(r, snap)
                    .with_context(|| format!("planning rule {}", r.id))?;
                qinglian_engine::exec::join_order(&c)
            }
            _ => Vec::new(),
        };
        match qinglian_sql::compile_ordered(r, dialect, &order) {
            Ok(c) => {
                let p = a.out.join(format!("{}.sql", r.id));
                std::fs::write(&p, c.file_text())
                    .with_context(|| format!("writing {}", p.display()))?;
                written += 1;
            }
            Err(e) => {
                eprintln!("{}: {e}", r.id);
                skipped.push_str(&format!("{}: {e}\n", r.id));
            }
        }
    }
    let p = a.out.join("not-compiled.txt");
    std::fs::write(&p, &skipped).with_context(|| format!("writing {}", p.display()))?;
    eprintln!(
        "{written} rule(s) compiled to {} SQL in {}",
        a.dialect,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
